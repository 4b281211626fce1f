//! The shipping manifest: one CSV row per stick.

use api_types::sticks::StickBatchIssued;
use time::format_description::well_known::Rfc3339;

pub(crate) const HEADER: [&str; 11] = [
    "stick_id",
    "tenant",
    "recipient",
    "address",
    "email",
    "username",
    "token_expires_at",
    "image",
    "image_sha256",
    "letter",
    "bundle",
];

/// What separates the manifest's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Separator {
    #[default]
    Comma,
    /// What Excel expects where the decimal mark is a comma (German,
    /// Dutch).
    Semicolon,
}

/// `checksums[i]` is the SHA-256 of stick `i`'s image. UTF-8 with a byte
/// order mark, so spreadsheet programs show umlauts right.
pub(crate) fn render(
    issued: &StickBatchIssued,
    checksums: &[String],
    separator: Separator,
) -> std::io::Result<Vec<u8>> {
    let delimiter = match separator {
        Separator::Comma => b',',
        Separator::Semicolon => b';',
    };
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer("\u{feff}".as_bytes().to_vec());
    writer.write_record(HEADER)?;
    let expires = issued
        .batch
        .token_expires_at
        .format(&Rfc3339)
        .unwrap_or_default();
    for (stick, checksum) in issued.sticks.iter().zip(checksums) {
        let recipient = stick.recipient.clone().unwrap_or_default();
        writer.write_record([
            stick.stick_id.as_str(),
            issued.batch.tenant.as_str(),
            recipient.name.as_str(),
            recipient.address.join(", ").as_str(),
            recipient.email.as_str(),
            recipient.username.as_deref().unwrap_or(""),
            expires.as_str(),
            &format!("images/{}.img", stick.stick_id),
            checksum.as_str(),
            &format!("letters/{}.pdf", stick.stick_id),
            &format!("bundles/{}.json", stick.stick_id),
        ])?;
    }
    writer
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}
