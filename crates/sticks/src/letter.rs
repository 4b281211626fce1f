//! The printed letter that goes with each stick, in the batch's language.

use api_types::Language;
use api_types::sticks::StickCredential;
use i18n::Tr;
use pdf_layout::{Block, Document, Span};
use time::OffsetDateTime;

/// What all letters of a batch share.
pub struct LetterContext<'a> {
    pub tr: Tr,
    pub tenant_name: &'a str,
    pub portal_url: &'a str,
    pub token_expires_at: OffsetDateTime,
    pub today: OffsetDateTime,
}

pub fn format_date(language: Language, at: OffsetDateTime) -> String {
    let (y, m, d) = (at.year(), u8::from(at.month()), at.day());
    match language {
        Language::De => format!("{d:02}.{m:02}.{y}"),
        Language::Nl => format!("{d:02}-{m:02}-{y}"),
        Language::En => format!("{y}-{m:02}-{d:02}"),
    }
}

/// The blocks of one letter (one A4 page).
pub fn letter_blocks(context: &LetterContext<'_>, stick: &StickCredential) -> Vec<Block> {
    let tr = &context.tr;
    let tenant = context.tenant_name;
    let mut blocks = vec![
        Block::Subtitle(tr.t1("stick-letter-from", "tenant", tenant)),
        Block::Spacer(8.0),
    ];
    if let Some(recipient) = &stick.recipient {
        blocks.push(Block::Paragraph(vec![Span::bold(recipient.name.as_str())]));
        for line in &recipient.address {
            blocks.push(Block::Paragraph(vec![Span::plain(line.as_str())]));
        }
    }
    blocks.push(Block::Spacer(10.0));
    blocks.push(Block::Paragraph(vec![Span::plain(format_date(
        tr.language,
        context.today,
    ))]));
    blocks.push(Block::Spacer(6.0));
    blocks.push(Block::Title(tr.t("stick-letter-title")));
    let greeting = match &stick.recipient {
        Some(recipient) => tr.t1("stick-letter-greeting", "name", &recipient.name),
        None => tr.t("stick-letter-greeting-anonymous"),
    };
    blocks.push(Block::Paragraph(vec![Span::plain(greeting)]));
    blocks.push(Block::Paragraph(vec![Span::plain(tr.t1(
        "stick-letter-intro",
        "tenant",
        tenant,
    ))]));
    blocks.push(Block::Subheading(tr.t("stick-letter-steps-title")));
    blocks.push(Block::Steps(
        [
            "stick-letter-step-1",
            "stick-letter-step-2",
            "stick-letter-step-3",
            "stick-letter-step-4",
        ]
        .iter()
        .map(|key| vec![Span::plain(tr.t(key))])
        .collect(),
    ));
    blocks.push(Block::Subheading(tr.t("stick-letter-details")));
    blocks.push(Block::Fields(vec![
        (tr.t("stick-letter-stick-id"), stick.stick_id.clone()),
        (tr.t("stick-letter-municipality"), tenant.to_owned()),
        (
            tr.t("stick-letter-valid-until"),
            format_date(tr.language, context.token_expires_at),
        ),
        (tr.t("stick-letter-portal"), context.portal_url.to_owned()),
    ]));
    blocks.push(Block::Qr {
        payload: context.portal_url.to_owned(),
        size: 92.0,
        caption: vec![
            Span::plain(tr.t("stick-letter-qr-caption")),
            Span::plain(" "),
            Span::link(context.portal_url, context.portal_url),
        ],
    });
    blocks.push(Block::Paragraph(vec![Span::bold(
        tr.t("stick-letter-lost"),
    )]));
    blocks.push(Block::Paragraph(vec![Span::plain(
        tr.t("stick-letter-closing"),
    )]));
    blocks
}

pub fn letter_document(context: &LetterContext<'_>, sticks: &[&StickCredential]) -> Document {
    let mut document = Document::new(
        format!(
            "{} – {}",
            context.tr.t("stick-letter-title"),
            context.tenant_name
        ),
        context.tr.code(),
    );
    for (index, stick) in sticks.iter().enumerate() {
        if index > 0 {
            document.push(Block::PageBreak);
        }
        document.blocks.extend(letter_blocks(context, stick));
    }
    document
}
