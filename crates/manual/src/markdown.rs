//! A tenant admin's Markdown as document blocks. Only structure survives:
//! headings, paragraphs, emphasis as bold, code, lists, and links with
//! http(s) or mailto targets. Raw HTML is dropped, so nothing a tenant
//! admin writes can run in an employee's browser.

use pdf_layout::{Block, Span, Style};
use pulldown_cmark::{Event, Parser, Tag, TagEnd};

fn safe_link(target: &str) -> bool {
    let lower = target.trim().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:")
}

#[derive(Default)]
struct Builder {
    blocks: Vec<Block>,
    spans: Vec<Span>,
    bold: usize,
    link: Option<String>,
    /// Items of the list being read; `true` when ordered.
    list: Option<(bool, Vec<Vec<Span>>)>,
    code: Option<String>,
    heading: bool,
}

impl Builder {
    fn text(&mut self, text: &str, mono: bool) {
        if let Some(code) = &mut self.code {
            code.push_str(text);
            return;
        }
        let style = if mono {
            Style::Mono
        } else if self.bold > 0 || self.heading {
            Style::Bold
        } else {
            Style::Regular
        };
        self.spans.push(Span {
            text: text.to_owned(),
            style,
            link: self.link.clone(),
        });
    }

    fn flush_paragraph(&mut self) {
        if self.spans.is_empty() {
            return;
        }
        let spans = std::mem::take(&mut self.spans);
        match &mut self.list {
            Some((_, items)) => items.push(spans),
            None => self.blocks.push(Block::Paragraph(spans)),
        }
    }
}

pub(crate) fn blocks(markdown: &str) -> Vec<Block> {
    let mut b = Builder::default();
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { .. }) => {
                b.flush_paragraph();
                b.heading = true;
            }
            Event::End(TagEnd::Heading(_)) => {
                let text: String = std::mem::take(&mut b.spans)
                    .into_iter()
                    .map(|s| s.text)
                    .collect();
                b.heading = false;
                if !text.trim().is_empty() {
                    b.blocks.push(Block::Subheading(text));
                }
            }
            Event::Start(Tag::Paragraph) => {}
            Event::End(TagEnd::Paragraph) if b.list.is_none() => b.flush_paragraph(),
            Event::Start(Tag::Strong | Tag::Emphasis) => b.bold += 1,
            Event::End(TagEnd::Strong | TagEnd::Emphasis) => b.bold = b.bold.saturating_sub(1),
            Event::Start(Tag::Link { dest_url, .. }) => {
                b.link = safe_link(&dest_url).then(|| dest_url.to_string());
            }
            Event::End(TagEnd::Link) => b.link = None,
            Event::Start(Tag::List(first)) => {
                b.flush_paragraph();
                // Nested lists join their parent's items.
                if b.list.is_none() {
                    b.list = Some((first.is_some(), Vec::new()));
                }
            }
            Event::End(TagEnd::List(_)) => {
                b.flush_paragraph();
                if let Some((ordered, items)) = b.list.take()
                    && !items.is_empty()
                {
                    b.blocks.push(if ordered {
                        Block::Steps(items)
                    } else {
                        Block::Bullets(items)
                    });
                }
            }
            Event::Start(Tag::Item) => b.flush_paragraph(),
            Event::End(TagEnd::Item) => b.flush_paragraph(),
            Event::Start(Tag::CodeBlock(_)) => {
                b.flush_paragraph();
                b.code = Some(String::new());
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(code) = b.code.take() {
                    b.blocks.push(Block::Code(code.trim_end().to_owned()));
                }
            }
            Event::Text(text) => b.text(&text, false),
            Event::Code(text) => b.text(&text, true),
            Event::SoftBreak | Event::HardBreak => b.text(" ", false),
            // Raw HTML, images, footnotes and the like are left out.
            _ => {}
        }
    }
    b.flush_paragraph();
    b.blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_survives() {
        let blocks = blocks(
            "## VPN hours\n\nUse **only** `files` in the [intranet](https://intranet.example).\n\n1. one\n2. two\n\n- a\n- b\n\n```\ncode here\n```\n",
        );
        assert!(matches!(&blocks[0], Block::Subheading(t) if t == "VPN hours"));
        let Block::Paragraph(spans) = &blocks[1] else {
            panic!("{blocks:?}")
        };
        assert!(
            spans
                .iter()
                .any(|s| s.text == "only" && s.style == Style::Bold)
        );
        assert!(
            spans
                .iter()
                .any(|s| s.text == "files" && s.style == Style::Mono)
        );
        assert!(
            spans
                .iter()
                .any(|s| s.link.as_deref() == Some("https://intranet.example"))
        );
        assert!(matches!(&blocks[2], Block::Steps(items) if items.len() == 2));
        assert!(matches!(&blocks[3], Block::Bullets(items) if items.len() == 2));
        assert!(matches!(&blocks[4], Block::Code(c) if c == "code here"));
    }

    #[test]
    fn html_and_script_links_are_dropped() {
        let blocks = blocks(
            "<script>alert(1)</script>\n\nHi <img src=x onerror=alert(1)> [x](javascript:alert(1))\n",
        );
        let text = format!("{blocks:?}");
        assert!(
            !text.contains("script") && !text.contains("onerror"),
            "{text}"
        );
        assert!(!text.contains("javascript"), "{text}");
        assert!(text.contains("Hi"));
    }
}
