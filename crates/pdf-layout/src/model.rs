//! What a document says, without any positions.

/// Typeface of a run of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    Regular,
    Bold,
    Mono,
}

/// A run of text in one style, optionally a link.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub text: String,
    pub style: Style,
    pub link: Option<String>,
}

impl Span {
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            style: Style::Regular,
            link: None,
        }
    }

    pub fn bold(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            style: Style::Bold,
            link: None,
        }
    }

    pub fn mono(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            style: Style::Mono,
            link: None,
        }
    }

    pub fn link(text: impl Into<String>, target: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            style: Style::Regular,
            link: Some(target.into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Large bold title at the top of a document or letter.
    Title(String),
    /// Smaller grey line under a title.
    Subtitle(String),
    /// Chapter heading: listed in the table of contents and the PDF outline.
    Heading(String),
    /// Section heading: indented under its chapter in contents and outline.
    Subheading(String),
    Paragraph(Vec<Span>),
    Bullets(Vec<Vec<Span>>),
    /// Numbered steps.
    Steps(Vec<Vec<Span>>),
    /// Monospaced text in a shaded box, line breaks kept.
    Code(String),
    /// A QR code `size` points wide, with an optional caption beside it.
    Qr {
        payload: String,
        size: f32,
        caption: Vec<Span>,
    },
    /// Label/value pairs in two columns.
    Fields(Vec<(String, String)>),
    Spacer(f32),
    PageBreak,
    /// Where the table of contents goes; filled in from the headings.
    TableOfContents,
}

/// Text at the bottom of every page. `page_label` may contain `{page}` and
/// `{pages}`, e.g. "Seite {page} von {pages}".
#[derive(Debug, Clone, PartialEq)]
pub struct Footer {
    pub left: String,
    pub page_label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: String,
    /// BCP 47 language tag written into the PDF metadata (screen readers).
    pub language: String,
    pub toc_title: String,
    pub footer: Option<Footer>,
    pub blocks: Vec<Block>,
}

impl Document {
    pub fn new(title: impl Into<String>, language: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            language: language.into(),
            toc_title: String::new(),
            footer: None,
            blocks: Vec::new(),
        }
    }

    pub fn push(&mut self, block: Block) -> &mut Self {
        self.blocks.push(block);
        self
    }
}
