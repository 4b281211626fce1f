//! Positioned pages to PDF bytes with krilla.

use std::sync::LazyLock;

use krilla::Document as PdfDocument;
use krilla::action::LinkAction;
use krilla::annotation::{Annotation, LinkAnnotation, Target};
use krilla::color::rgb;
use krilla::destination::XyzDestination;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};

use crate::layout::{LaidOut, LinkTarget, PAGE_HEIGHT, PAGE_WIDTH, PageItem};
use crate::{Document, Error, Style, fonts};

static FONTS: LazyLock<Option<[Font; 3]>> = LazyLock::new(|| {
    let load = |style| Font::new(fonts::bytes(style).into(), 0);
    Some([
        load(Style::Regular)?,
        load(Style::Bold)?,
        load(Style::Mono)?,
    ])
});

fn font(style: Style) -> Result<Font, Error> {
    FONTS
        .as_ref()
        .map(|fonts| fonts[style as usize].clone())
        .ok_or_else(|| Error::Pdf("the bundled fonts cannot be read".into()))
}

fn fill(gray: u8) -> Fill {
    Fill {
        paint: rgb::Color::new(gray, gray, gray).into(),
        ..Fill::default()
    }
}

/// Writes laid-out pages as a PDF with metadata, links and an outline.
pub fn render(document: &Document, laid: &LaidOut) -> Result<Vec<u8>, Error> {
    let mut pdf = PdfDocument::new();
    for page_content in &laid.pages {
        let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
            .ok_or_else(|| Error::Pdf("invalid page size".into()))?;
        let mut page = pdf.start_page_with(settings);
        let mut links = Vec::new();
        {
            let mut surface = page.surface();
            for item in &page_content.items {
                match item {
                    PageItem::Text {
                        x,
                        y,
                        size,
                        style,
                        gray,
                        text,
                    } => {
                        surface.set_fill(Some(fill(*gray)));
                        surface.draw_text(
                            Point::from_xy(*x, *y),
                            font(*style)?,
                            *size,
                            text,
                            false,
                            TextDirection::Auto,
                        );
                    }
                    PageItem::Rect { x, y, w, h, gray } => {
                        let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else {
                            continue;
                        };
                        let mut builder = PathBuilder::new();
                        builder.push_rect(rect);
                        if let Some(path) = builder.finish() {
                            surface.set_fill(Some(fill(*gray)));
                            surface.draw_path(&path);
                        }
                    }
                    PageItem::Link { x, y, w, h, target } => {
                        if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                            links.push((rect, target.clone()));
                        }
                    }
                }
            }
            surface.finish();
        }
        for (rect, target) in links {
            let target = match target {
                LinkTarget::Uri(uri) => Target::Action(LinkAction::new(uri).into()),
                LinkTarget::Place(page, y) => {
                    Target::Destination(XyzDestination::new(page, Point::from_xy(0.0, y)).into())
                }
            };
            page.add_annotation(Annotation::new_link(
                LinkAnnotation::new(rect, target),
                None,
            ));
        }
        page.finish();
    }
    pdf.set_outline(outline(laid));
    pdf.set_metadata(
        Metadata::new()
            .title(document.title.clone())
            .language(document.language.clone())
            .creator("homegate".into()),
    );
    pdf.finish().map_err(|e| Error::Pdf(format!("{e:?}")))
}

fn outline(laid: &LaidOut) -> Outline {
    let mut outline = Outline::new();
    let mut chapter: Option<OutlineNode> = None;
    for mark in &laid.headings {
        let node = OutlineNode::new(
            mark.text.clone(),
            XyzDestination::new(mark.page, Point::from_xy(0.0, mark.y)),
        );
        if mark.level == 1 {
            if let Some(done) = chapter.take() {
                outline.push_child(done);
            }
            chapter = Some(node);
        } else if let Some(parent) = chapter.as_mut() {
            parent.push_child(node);
        } else {
            outline.push_child(node);
        }
    }
    if let Some(done) = chapter {
        outline.push_child(done);
    }
    outline
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Block, Footer, Span, layout};

    fn sample() -> Document {
        let mut document = Document::new("Handbuch", "de");
        document.toc_title = "Inhalt".into();
        document.footer = Some(Footer {
            left: "Gemeinde Musterstadt".into(),
            page_label: "Seite {page} von {pages}".into(),
        });
        document
            .push(Block::Title("Arbeiten von zu Hause".into()))
            .push(Block::Subtitle("Gemeinde Musterstadt".into()))
            .push(Block::TableOfContents)
            .push(Block::Heading("Laptop einrichten".into()))
            .push(Block::Paragraph(vec![
                Span::plain("Öffnen Sie "),
                Span::link("das Portal", "https://portal.example"),
                Span::plain("."),
            ]))
            .push(Block::Steps(vec![
                vec![Span::plain("Programm installieren")],
                vec![Span::mono("homegate enroll")],
            ]))
            .push(Block::Subheading("Telefon".into()))
            .push(Block::Code("[Interface]\nPrivateKey = …".into()))
            .push(Block::Qr {
                payload: "https://portal.example".into(),
                size: 90.0,
                caption: vec![Span::bold("Portal")],
            })
            .push(Block::Fields(vec![("Stick".into(), "S-0001".into())]));
        document
    }

    #[test]
    fn renders_a_pdf_with_embedded_fonts() {
        let document = sample();
        let bytes = render(&document, &layout(&document).unwrap()).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("/FontFile2"), "fonts are embedded");
        assert!(text.contains("/Outlines"));
        if let Ok(dir) = std::env::var("PDF_LAYOUT_SAMPLE_DIR") {
            std::fs::write(std::path::Path::new(&dir).join("sample.pdf"), &bytes).unwrap();
        }
    }
}
