//! A document as one standalone, printable HTML page. Every text is
//! escaped; links are only those the document model carries (which are
//! http(s)/mailto by construction); there is no script.

use std::fmt::Write as _;

use pdf_layout::{Block, Document, Span, Style};

pub(crate) const STYLE: &str = "body{font-family:'DejaVu Sans',system-ui,sans-serif;max-width:46rem;margin:2rem auto;\
padding:0 1rem;line-height:1.5;color:#1f1f1f;overflow-wrap:break-word}h1{font-size:2rem;margin-bottom:.2rem}\
.subtitle{color:#5a5a5a;margin-top:0}h2{margin-top:2.2rem;border-bottom:1px solid #ddd}\
pre{background:#eee;padding:.6rem;overflow-x:auto}dl{display:grid;grid-template-columns:max-content 1fr;\
gap:.2rem 1rem}dt{font-weight:bold;color:#5a5a5a}dd{margin:0}.qr{display:flex;gap:1rem;align-items:center}\
.qr svg{width:8rem;height:8rem;flex:none}nav ol{padding-left:1.2rem}a{color:#0b57d0}\
@media print{.download{display:none}h2{break-after:avoid}}\
@media(max-width:40rem){dl{grid-template-columns:1fr}dd{margin-bottom:.4rem}.qr{flex-wrap:wrap}}";

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn spans(out: &mut String, spans: &[Span]) {
    for span in spans {
        let text = escape(&span.text);
        let text = match span.style {
            Style::Regular => text,
            Style::Bold => format!("<strong>{text}</strong>"),
            Style::Mono => format!("<code>{text}</code>"),
        };
        match &span.link {
            Some(href) => {
                let _ = write!(out, "<a href=\"{}\">{text}</a>", escape(href));
            }
            None => out.push_str(&text),
        }
    }
}

fn qr_svg(payload: &str) -> String {
    qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M)
        .map(|code| {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .quiet_zone(true)
                .build();
            // An XML declaration is not allowed inside an HTML document.
            match svg.find("<svg") {
                Some(start) => svg[start..].to_owned(),
                None => svg,
            }
        })
        .unwrap_or_default()
}

/// Renders `document`; `download` is an optional `(href, label)` link to
/// the PDF.
pub(crate) fn render(document: &Document, download: Option<(&str, &str)>) -> String {
    let headings: Vec<(u8, &str)> = document
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Heading(text) => Some((1, text.as_str())),
            Block::Subheading(text) => Some((2, text.as_str())),
            _ => None,
        })
        .collect();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        escape(&document.language),
        escape(&document.title)
    );
    let mut heading_index = 0;
    for block in &document.blocks {
        match block {
            Block::Title(text) => {
                let _ = writeln!(out, "<h1>{}</h1>", escape(text));
            }
            Block::Subtitle(text) => {
                let _ = writeln!(out, "<p class=\"subtitle\">{}</p>", escape(text));
                if let Some((href, label)) = download {
                    let _ = writeln!(
                        out,
                        "<p class=\"download\"><a href=\"{}\">{}</a></p>",
                        escape(href),
                        escape(label)
                    );
                }
            }
            Block::Heading(text) | Block::Subheading(text) => {
                heading_index += 1;
                let level = if matches!(block, Block::Heading(_)) {
                    2
                } else {
                    3
                };
                let _ = writeln!(
                    out,
                    "<h{level} id=\"s{heading_index}\">{}</h{level}>",
                    escape(text)
                );
            }
            Block::Paragraph(content) => {
                out.push_str("<p>");
                spans(&mut out, content);
                out.push_str("</p>\n");
            }
            Block::Bullets(items) | Block::Steps(items) => {
                let tag = if matches!(block, Block::Steps(_)) {
                    "ol"
                } else {
                    "ul"
                };
                let _ = write!(out, "<{tag}>");
                for item in items {
                    out.push_str("<li>");
                    spans(&mut out, item);
                    out.push_str("</li>");
                }
                let _ = writeln!(out, "</{tag}>");
            }
            Block::Code(text) => {
                let _ = writeln!(out, "<pre><code>{}</code></pre>", escape(text));
            }
            Block::Qr {
                payload, caption, ..
            } => {
                let _ = write!(out, "<div class=\"qr\">{}<p>", qr_svg(payload));
                spans(&mut out, caption);
                out.push_str("</p></div>\n");
            }
            Block::Fields(pairs) => {
                out.push_str("<dl>");
                for (label, value) in pairs {
                    let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", escape(label), escape(value));
                }
                out.push_str("</dl>\n");
            }
            Block::TableOfContents => {
                let _ = write!(
                    out,
                    "<nav aria-labelledby=\"contents\"><h2 id=\"contents\">{}</h2><ol>",
                    escape(&document.toc_title)
                );
                let mut open_sub = false;
                for (index, (level, text)) in headings.iter().enumerate() {
                    let link = format!("<a href=\"#s{}\">{}</a>", index + 1, escape(text));
                    match (level, open_sub) {
                        (1, true) => {
                            let _ = write!(out, "</ol></li><li>{link}");
                            open_sub = false;
                        }
                        (1, false) => {
                            if index > 0 {
                                out.push_str("</li>");
                            }
                            let _ = write!(out, "<li>{link}");
                        }
                        (_, false) => {
                            let _ = write!(out, "<ol><li>{link}</li>");
                            open_sub = true;
                        }
                        (_, true) => {
                            let _ = write!(out, "<li>{link}</li>");
                        }
                    }
                }
                if open_sub {
                    out.push_str("</ol>");
                }
                if !headings.is_empty() {
                    out.push_str("</li>");
                }
                out.push_str("</ol></nav>\n");
            }
            Block::Spacer(_) | Block::PageBreak => {}
        }
    }
    if let Some(footer) = &document.footer {
        let _ = writeln!(
            out,
            "</main>\n<footer><p class=\"subtitle\">{}</p></footer>",
            escape(&footer.left)
        );
    } else {
        out.push_str("</main>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}
