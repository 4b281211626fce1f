//! Printable A4 documents — stick letters and onboarding manuals — written as
//! PDF in-process.
//!
//! A [`Document`] is a flat list of [`Block`]s. [`layout`] turns it into pages
//! of positioned items (pure, testable without PDF), [`render`] writes those
//! pages with `krilla`, embedding subsets of the bundled DejaVu fonts so the
//! output looks the same everywhere and needs nothing installed.

mod fonts;
mod layout;
mod model;
mod render;

pub use layout::{LaidOut, Page, PageItem, layout};
pub use model::{Block, Document, Footer, Span, Style};
pub use render::render;

/// Why a document could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot encode a QR code for {0:?}: the text is too long")]
    QrTooLong(String),
    #[error("the PDF writer failed: {0}")]
    Pdf(String),
}

/// Lays out and renders in one step.
pub fn to_pdf(document: &Document) -> Result<Vec<u8>, Error> {
    render(document, &layout(document)?)
}
