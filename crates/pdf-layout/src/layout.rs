//! Blocks to positioned items on A4 pages. Pure: no PDF involved, so page
//! breaks and wrapping are unit-testable.
//!
//! Coordinates are points from the top-left corner; text `y` is the baseline.

use qrcode::{EcLevel, QrCode};

use crate::fonts::width;
use crate::{Block, Document, Error, Span, Style};

pub(crate) const PAGE_WIDTH: f32 = 595.28;
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
const MARGIN_X: f32 = 62.0;
const MARGIN_TOP: f32 = 60.0;
const MARGIN_BOTTOM: f32 = 72.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;
const BOTTOM: f32 = PAGE_HEIGHT - MARGIN_BOTTOM;

const BODY: f32 = 10.5;
const LEADING: f32 = 1.45;
const LIST_INDENT: f32 = 18.0;
const QR_QUIET_MODULES: usize = 2;

/// Grey levels (0 = black, 255 = white).
const INK: u8 = 0x1f;
const MUTED: u8 = 0x5a;
const SHADE: u8 = 0xee;

#[derive(Debug, Clone, PartialEq)]
pub enum LinkTarget {
    Uri(String),
    /// A place in this document: page index and y.
    Place(usize, f32),
}

#[derive(Debug, Clone, PartialEq)]
pub enum PageItem {
    Text {
        x: f32,
        y: f32,
        size: f32,
        style: Style,
        gray: u8,
        text: String,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        gray: u8,
    },
    Link {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        target: LinkTarget,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub items: Vec<PageItem>,
}

impl Page {
    /// All text on the page in drawing order, for tests.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for item in &self.items {
            if let PageItem::Text { text, .. } = item {
                out.push_str(text);
                out.push(' ');
            }
        }
        out
    }
}

/// A heading and where it landed, for the contents and the PDF outline.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadingMark {
    pub level: u8,
    pub text: String,
    pub page: usize,
    pub y: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LaidOut {
    pub pages: Vec<Page>,
    pub headings: Vec<HeadingMark>,
}

/// Lays out the document. The contents list has one line per heading
/// whatever the page numbers, so a first pass finds the numbers and a second
/// pass with them yields identical positions.
pub fn layout(document: &Document) -> Result<LaidOut, Error> {
    let first = Layouter::run(document, &[])?;
    if !document.blocks.contains(&Block::TableOfContents) {
        return Ok(first);
    }
    Layouter::run(document, &first.headings)
}

struct Layouter<'a> {
    document: &'a Document,
    pages: Vec<Page>,
    headings: Vec<HeadingMark>,
    y: f32,
}

impl<'a> Layouter<'a> {
    fn run(document: &'a Document, known_headings: &[HeadingMark]) -> Result<LaidOut, Error> {
        let mut this = Self {
            document,
            pages: vec![Page::default()],
            headings: Vec::new(),
            y: MARGIN_TOP,
        };
        for block in &document.blocks {
            this.block(block, known_headings)?;
        }
        this.footers();
        Ok(LaidOut {
            pages: this.pages,
            headings: this.headings,
        })
    }

    fn page(&mut self) -> &mut Page {
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = MARGIN_TOP;
    }

    /// Starts a new page unless `height` more fits on this one.
    fn ensure(&mut self, height: f32) {
        if self.y + height > BOTTOM && self.y > MARGIN_TOP {
            self.new_page();
        }
    }

    fn block(&mut self, block: &Block, known_headings: &[HeadingMark]) -> Result<(), Error> {
        match block {
            Block::Title(text) => {
                self.lines(&[Span::bold(text.as_str())], 0.0, 22.0, INK);
                self.y += 4.0;
            }
            Block::Subtitle(text) => {
                self.lines(&[Span::plain(text.as_str())], 0.0, 12.5, MUTED);
                self.y += 10.0;
            }
            Block::Heading(text) => self.heading(1, text, 15.5),
            Block::Subheading(text) => self.heading(2, text, 12.0),
            Block::Paragraph(spans) => {
                self.lines(spans, 0.0, BODY, INK);
                self.y += BODY * 0.6;
            }
            Block::Bullets(items) => self.list(items, |_| "•".to_owned()),
            Block::Steps(items) => self.list(items, |n| format!("{n}.")),
            Block::Code(text) => self.code(text),
            Block::Qr {
                payload,
                size,
                caption,
            } => self.qr(payload, *size, caption)?,
            Block::Fields(pairs) => self.fields(pairs),
            Block::Spacer(height) => self.y += height,
            Block::PageBreak => self.new_page(),
            Block::TableOfContents => self.contents(known_headings),
        }
        Ok(())
    }

    fn heading(&mut self, level: u8, text: &str, size: f32) {
        // Keep a heading together with at least two lines of what follows.
        self.ensure(size * 2.2 + 2.0 * BODY * LEADING);
        if self.y > MARGIN_TOP {
            self.y += size * 0.8;
        }
        let page = self.pages.len() - 1;
        self.headings.push(HeadingMark {
            level,
            text: text.to_owned(),
            page,
            y: self.y,
        });
        self.lines(&[Span::bold(text)], 0.0, size, INK);
        self.y += size * 0.3;
    }

    fn list(&mut self, items: &[Vec<Span>], marker: impl Fn(usize) -> String) {
        for (index, spans) in items.iter().enumerate() {
            self.ensure(BODY * LEADING);
            let marker = marker(index + 1);
            let y = self.y + BODY;
            self.page().items.push(PageItem::Text {
                x: MARGIN_X + 4.0,
                y,
                size: BODY,
                style: Style::Regular,
                gray: INK,
                text: marker,
            });
            self.lines(spans, LIST_INDENT, BODY, INK);
            self.y += BODY * 0.25;
        }
        self.y += BODY * 0.4;
    }

    /// Wraps spans into lines `indent` points in from the margin and draws them.
    fn lines(&mut self, spans: &[Span], indent: f32, size: f32, gray: u8) {
        let line_height = size * LEADING;
        for line in wrap(spans, size, CONTENT_WIDTH - indent) {
            self.ensure(line_height);
            let baseline = self.y + size;
            for piece in line {
                let x = MARGIN_X + indent + piece.x;
                let w = width(piece.style, size, &piece.text);
                let page = self.page();
                page.items.push(PageItem::Text {
                    x,
                    y: baseline,
                    size,
                    style: piece.style,
                    gray: if piece.link.is_some() { 0x1a } else { gray },
                    text: piece.text,
                });
                if let Some(uri) = piece.link {
                    page.items.push(PageItem::Rect {
                        x,
                        y: baseline + 1.5,
                        w,
                        h: 0.6,
                        gray: 0x1a,
                    });
                    page.items.push(PageItem::Link {
                        x,
                        y: baseline - size,
                        w,
                        h: size * 1.25,
                        target: LinkTarget::Uri(uri),
                    });
                }
            }
            self.y += line_height;
        }
    }

    fn code(&mut self, text: &str) {
        let size = 9.0;
        let line_height = size * 1.35;
        let pad = 6.0;
        let max = CONTENT_WIDTH - 2.0 * pad;
        let lines: Vec<String> = text
            .lines()
            .flat_map(|l| break_word(l, Style::Mono, size, max))
            .collect();
        // Boxes split across pages in chunks that fit.
        let mut rest = lines.as_slice();
        while !rest.is_empty() {
            self.ensure(line_height + 2.0 * pad);
            let room = ((BOTTOM - self.y - 2.0 * pad) / line_height)
                .floor()
                .max(1.0) as usize;
            let (now, later) = rest.split_at(room.min(rest.len()));
            let h = now.len() as f32 * line_height + 2.0 * pad;
            let top = self.y;
            self.page().items.push(PageItem::Rect {
                x: MARGIN_X,
                y: top,
                w: CONTENT_WIDTH,
                h,
                gray: SHADE,
            });
            self.y += pad;
            for line in now {
                self.y += line_height;
                let baseline = self.y - (line_height - size) / 2.0 - 1.0;
                let y = baseline;
                self.page().items.push(PageItem::Text {
                    x: MARGIN_X + pad,
                    y,
                    size,
                    style: Style::Mono,
                    gray: INK,
                    text: line.clone(),
                });
            }
            self.y = top + h + BODY * 0.6;
            rest = later;
        }
    }

    fn qr(&mut self, payload: &str, size: f32, caption: &[Span]) -> Result<(), Error> {
        let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
            .map_err(|_| Error::QrTooLong(payload.chars().take(40).collect()))?;
        let modules = code.width();
        let colors = code.to_colors();
        self.ensure(size + 8.0);
        let module = size / (modules + 2 * QR_QUIET_MODULES) as f32;
        let (left, top) = (MARGIN_X, self.y);
        let page = self.page();
        for (row, chunk) in colors.chunks(modules).enumerate() {
            // Runs of dark modules in a row become one rectangle.
            let mut col = 0;
            while col < modules {
                if chunk[col] == qrcode::Color::Dark {
                    let start = col;
                    while col < modules && chunk[col] == qrcode::Color::Dark {
                        col += 1;
                    }
                    page.items.push(PageItem::Rect {
                        x: left + (start + QR_QUIET_MODULES) as f32 * module,
                        y: top + (row + QR_QUIET_MODULES) as f32 * module,
                        w: (col - start) as f32 * module,
                        h: module,
                        gray: 0,
                    });
                } else {
                    col += 1;
                }
            }
        }
        if !caption.is_empty() {
            let bottom = top + size;
            self.y = top + size * 0.3;
            let indent = size + 14.0;
            self.lines(caption, indent, BODY, INK);
            self.y = self.y.max(bottom);
        } else {
            self.y = top + size;
        }
        self.y += BODY * 0.6;
        Ok(())
    }

    fn fields(&mut self, pairs: &[(String, String)]) {
        let label_width = pairs
            .iter()
            .map(|(label, _)| width(Style::Bold, BODY, label))
            .fold(0.0f32, f32::max)
            .min(CONTENT_WIDTH * 0.4)
            + 12.0;
        for (label, value) in pairs {
            let top = self.y;
            self.ensure(BODY * LEADING);
            let top = if self.y < top { self.y } else { top };
            self.lines(&[Span::bold(label.as_str())], 0.0, BODY, MUTED);
            let after_label = self.y;
            self.y = top;
            self.lines(&[Span::plain(value.as_str())], label_width, BODY, INK);
            self.y = self.y.max(after_label);
        }
        self.y += BODY * 0.6;
    }

    fn contents(&mut self, known: &[HeadingMark]) {
        self.lines(
            &[Span::bold(self.document.toc_title.as_str())],
            0.0,
            15.5,
            INK,
        );
        self.y += 6.0;
        let headings = count_headings(self.document);
        for index in 0..headings {
            let mark = known.get(index);
            let (level, text, page) = match mark {
                Some(mark) => (mark.level, mark.text.as_str(), mark.page + 1),
                None => (1, "", 0),
            };
            self.ensure(BODY * LEADING);
            let indent = if level == 1 { 0.0 } else { LIST_INDENT };
            let style = if level == 1 {
                Style::Bold
            } else {
                Style::Regular
            };
            let number = page.to_string();
            let number_width = width(Style::Regular, BODY, &number);
            let room = CONTENT_WIDTH - indent - 40.0;
            let title = truncate(text, style, BODY, room);
            let baseline = self.y + BODY;
            let x = MARGIN_X + indent;
            let number_x = MARGIN_X + CONTENT_WIDTH - number_width;
            let title_end = x + width(style, BODY, &title) + 4.0;
            let dot = width(Style::Regular, BODY, ". ");
            let dots = ((number_x - 4.0 - title_end) / dot).max(0.0) as usize;
            let page_item = self.page();
            page_item.items.push(PageItem::Text {
                x,
                y: baseline,
                size: BODY,
                style,
                gray: INK,
                text: title,
            });
            page_item.items.push(PageItem::Text {
                x: title_end,
                y: baseline,
                size: BODY,
                style: Style::Regular,
                gray: 0xaa,
                text: ". ".repeat(dots),
            });
            page_item.items.push(PageItem::Text {
                x: number_x,
                y: baseline,
                size: BODY,
                style: Style::Regular,
                gray: INK,
                text: number,
            });
            if let Some(mark) = mark {
                page_item.items.push(PageItem::Link {
                    x,
                    y: baseline - BODY,
                    w: CONTENT_WIDTH - indent,
                    h: BODY * LEADING,
                    target: LinkTarget::Place(mark.page, mark.y),
                });
            }
            self.y += BODY * LEADING;
        }
        self.new_page();
    }

    fn footers(&mut self) {
        let Some(footer) = &self.document.footer else {
            return;
        };
        let total = self.pages.len();
        let baseline = PAGE_HEIGHT - MARGIN_BOTTOM / 2.0;
        for (index, page) in self.pages.iter_mut().enumerate() {
            let label = footer
                .page_label
                .replace("{page}", &(index + 1).to_string())
                .replace("{pages}", &total.to_string());
            let label_width = width(Style::Regular, 8.5, &label);
            page.items.push(PageItem::Rect {
                x: MARGIN_X,
                y: baseline - 14.0,
                w: CONTENT_WIDTH,
                h: 0.5,
                gray: 0xbb,
            });
            let left = truncate(
                &footer.left,
                Style::Regular,
                8.5,
                CONTENT_WIDTH - label_width - 20.0,
            );
            page.items.push(PageItem::Text {
                x: MARGIN_X,
                y: baseline,
                size: 8.5,
                style: Style::Regular,
                gray: MUTED,
                text: left,
            });
            page.items.push(PageItem::Text {
                x: MARGIN_X + CONTENT_WIDTH - label_width,
                y: baseline,
                size: 8.5,
                style: Style::Regular,
                gray: MUTED,
                text: label,
            });
        }
    }
}

fn count_headings(document: &Document) -> usize {
    document
        .blocks
        .iter()
        .filter(|b| matches!(b, Block::Heading(_) | Block::Subheading(_)))
        .count()
}

/// One piece of a wrapped line: text in one style at `x` from the line start.
#[derive(Debug, Clone, PartialEq)]
struct Piece {
    x: f32,
    style: Style,
    link: Option<String>,
    text: String,
}

/// A word with its style, and whether a space separates it from the previous.
struct Word<'s> {
    text: String,
    span: &'s Span,
    spaced: bool,
}

fn words(spans: &[Span], size: f32, max: f32) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut previous_ended_with_space = true;
    for span in spans {
        let starts_with_space = span.text.starts_with(char::is_whitespace);
        for (index, word) in span.text.split_whitespace().enumerate() {
            let spaced = index > 0 || starts_with_space || previous_ended_with_space;
            for (part, chunk) in break_word(word, span.style, size, max)
                .into_iter()
                .enumerate()
            {
                out.push(Word {
                    text: chunk,
                    span,
                    spaced: spaced && part == 0,
                });
            }
        }
        if span.text.trim().is_empty() {
            // A span of only spaces separates its neighbours.
            previous_ended_with_space |= !span.text.is_empty();
        } else {
            previous_ended_with_space = span.text.ends_with(char::is_whitespace);
        }
    }
    if let Some(first) = out.first_mut() {
        first.spaced = false;
    }
    out
}

/// Splits a word too wide for a line (long links, tokens) into pieces that fit.
fn break_word(word: &str, style: Style, size: f32, max: f32) -> Vec<String> {
    if width(style, size, word) <= max {
        return vec![word.to_owned()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    for c in word.chars() {
        current.push(c);
        if width(style, size, &current) > max && current.chars().count() > 1 {
            current.pop();
            out.push(std::mem::take(&mut current));
            current.push(c);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Greedy line filling; consecutive words of one style merge into one piece.
fn wrap(spans: &[Span], size: f32, max: f32) -> Vec<Vec<Piece>> {
    let space = width(Style::Regular, size, " ");
    let mut lines: Vec<Vec<Piece>> = Vec::new();
    let mut line: Vec<Piece> = Vec::new();
    let mut x = 0.0f32;
    for word in words(spans, size, max) {
        let w = width(word.span.style, size, &word.text);
        let gap = if word.spaced && !line.is_empty() {
            space
        } else {
            0.0
        };
        if !line.is_empty() && x + gap + w > max {
            lines.push(std::mem::take(&mut line));
            x = 0.0;
        }
        let gap = if line.is_empty() { 0.0 } else { gap };
        match line.last_mut() {
            Some(last) if last.style == word.span.style && last.link == word.span.link => {
                if gap > 0.0 {
                    last.text.push(' ');
                }
                last.text.push_str(&word.text);
            }
            _ => line.push(Piece {
                x: x + gap,
                style: word.span.style,
                link: word.span.link.clone(),
                text: word.text.clone(),
            }),
        }
        x += gap + w;
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn truncate(text: &str, style: Style, size: f32, max: f32) -> String {
    if width(style, size, text) <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if width(style, size, &out) + width(style, size, "…") > max {
            out.pop();
            break;
        }
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paragraph(text: &str) -> Block {
        Block::Paragraph(vec![Span::plain(text)])
    }

    #[test]
    fn long_paragraphs_wrap_within_the_margins() {
        let text = "Bitte stecken Sie den Stick ein und folgen Sie den Anweisungen. ".repeat(20);
        let lines = wrap(&[Span::plain(text)], BODY, CONTENT_WIDTH);
        assert!(lines.len() > 5);
        for line in &lines {
            let last = line.last().unwrap();
            assert!(last.x + width(last.style, BODY, &last.text) <= CONTENT_WIDTH + 0.01);
        }
    }

    #[test]
    fn a_space_span_separates_a_label_from_a_link() {
        let spans = [
            Span::plain("Scan or open:"),
            Span::plain(" "),
            Span::link("https://x.example/portal", "https://x.example/portal"),
        ];
        let lines = wrap(&spans, BODY, CONTENT_WIDTH);
        let texts: Vec<&str> = lines[0].iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, ["Scan or open:", "https://x.example/portal"]);
        let label_end = width(Style::Regular, BODY, "Scan or open:");
        assert!(lines[0][1].x >= label_end + width(Style::Regular, BODY, " ") - 0.01);
    }

    #[test]
    fn punctuation_after_a_link_sticks_to_it() {
        let spans = [
            Span::plain("Open "),
            Span::link("the portal", "https://x"),
            Span::plain("."),
        ];
        let lines = wrap(&spans, BODY, CONTENT_WIDTH);
        assert_eq!(lines.len(), 1);
        let texts: Vec<&str> = lines[0].iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, ["Open", "the portal", "."]);
        let link_end = lines[0][1].x + width(Style::Regular, BODY, "the portal");
        assert!(
            (lines[0][2].x - link_end).abs() < 0.01,
            "no space before the full stop"
        );
    }

    #[test]
    fn words_wider_than_a_line_are_broken() {
        let token = "x".repeat(400);
        let lines = wrap(&[Span::mono(token.clone())], BODY, CONTENT_WIDTH);
        assert!(lines.len() > 1);
        let joined: String = lines.iter().flatten().map(|p| p.text.as_str()).collect();
        assert_eq!(joined, token);
    }

    #[test]
    fn content_flows_onto_new_pages_and_footers_count_them() {
        let mut document = Document::new("Manual", "en");
        document.footer = Some(crate::Footer {
            left: "Gemeinde".into(),
            page_label: "Page {page} of {pages}".into(),
        });
        for n in 0..200 {
            document.push(paragraph(&format!("Paragraph number {n} of the manual.")));
        }
        let laid = layout(&document).unwrap();
        assert!(laid.pages.len() >= 3);
        let total = laid.pages.len();
        assert!(laid.pages[0].text().contains(&format!("Page 1 of {total}")));
        assert!(
            laid.pages[total - 1]
                .text()
                .contains(&format!("Page {total} of {total}"))
        );
        for page in &laid.pages {
            for item in &page.items {
                if let PageItem::Text { y, .. } = item {
                    assert!(*y <= PAGE_HEIGHT - MARGIN_BOTTOM / 2.0 + 0.01);
                }
            }
        }
    }

    #[test]
    fn contents_list_the_pages_headings_landed_on() {
        let mut document = Document::new("Manual", "en");
        document.toc_title = "Contents".into();
        document
            .push(Block::Title("Manual".into()))
            .push(Block::TableOfContents);
        for chapter in 0..6 {
            document.push(Block::Heading(format!("Chapter {chapter}")));
            for n in 0..30 {
                document.push(paragraph(&format!("Text {n} of chapter {chapter}.")));
            }
        }
        let laid = layout(&document).unwrap();
        let contents = laid.pages[0].text();
        for mark in &laid.headings {
            assert!(laid.pages[mark.page].text().contains(&mark.text));
            assert!(
                contents.contains(&format!("{} . ", mark.text)) || contents.contains(&mark.text),
                "{contents}"
            );
            assert!(contents.contains(&(mark.page + 1).to_string()));
        }
        assert!(laid.headings.last().unwrap().page > 1);
    }

    #[test]
    fn qr_codes_draw_dark_modules_and_reject_oversized_payloads() {
        let mut document = Document::new("Letter", "de");
        document.push(Block::Qr {
            payload: "https://portal.example/t/musterstadt".into(),
            size: 100.0,
            caption: vec![Span::plain("Scan me")],
        });
        let laid = layout(&document).unwrap();
        let rects = laid.pages[0]
            .items
            .iter()
            .filter(|i| matches!(i, PageItem::Rect { .. }))
            .count();
        assert!(rects > 20);
        let mut too_long = Document::new("Letter", "de");
        too_long.push(Block::Qr {
            payload: "x".repeat(5000),
            size: 100.0,
            caption: vec![],
        });
        assert!(matches!(layout(&too_long), Err(Error::QrTooLong(_))));
    }
}
