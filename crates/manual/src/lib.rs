//! The onboarding manual for a tenant's employees, in their language, from
//! the tenant's real data: its applications, portal, status page, quota,
//! support contacts and the sections its admins wrote.
//!
//! One content model (`pdf_layout::Document`) renders to both formats: PDF
//! through `pdf_layout`, HTML through [`html`]. Pure: no IO.

mod html;
mod markdown;

use api_types::Language;
use api_types::manual::ManualSettings;
use api_types::tenancy::{Application, Tenant};
use i18n::Tr;
use pdf_layout::{Block, Document, Footer, Span};
use time::OffsetDateTime;

/// Everything the manual says about one tenant.
pub struct ManualInput<'a> {
    pub tenant: &'a Tenant,
    pub applications: &'a [Application],
    pub settings: &'a ManualSettings,
    /// The control plane's public URL (portal and status page live there).
    pub public_url: &'a str,
    pub language: Language,
    pub today: OffsetDateTime,
}

impl ManualInput<'_> {
    pub fn portal_url(&self) -> String {
        format!("{}/portal", self.public_url.trim_end_matches('/'))
    }

    pub fn status_url(&self) -> String {
        format!(
            "{}/status/{}",
            self.public_url.trim_end_matches('/'),
            self.tenant.slug
        )
    }
}

fn date(language: Language, at: OffsetDateTime) -> String {
    let (y, m, d) = (at.year(), u8::from(at.month()), at.day());
    match language {
        Language::De => format!("{d:02}.{m:02}.{y}"),
        Language::Nl => format!("{d:02}-{m:02}-{y}"),
        Language::En => format!("{y}-{m:02}-{d:02}"),
    }
}

fn para(text: String) -> Block {
    Block::Paragraph(vec![Span::plain(text)])
}

fn steps(tr: &Tr, keys: &[&str]) -> Block {
    Block::Steps(
        keys.iter()
            .map(|key| vec![Span::plain(tr.t(key))])
            .collect(),
    )
}

/// The manual as a document.
pub fn document(input: &ManualInput<'_>) -> Document {
    let tr = Tr::new(input.language);
    let tenant = input.tenant.name.as_str();
    let mut doc = Document::new(
        format!("{} – {tenant}", tr.t("manual-title")),
        input.language.code(),
    );
    doc.toc_title = tr.t("manual-contents");
    doc.footer = Some(Footer {
        left: format!("{} · {tenant}", tr.t("manual-title")),
        page_label: tr.args("manual-page", &[("page", "{page}"), ("pages", "{pages}")]),
    });
    let portal = input.portal_url();
    let status = input.status_url();
    let b = &mut doc.blocks;
    b.push(Block::Title(tr.t("manual-title")));
    b.push(Block::Subtitle(tr.args(
        "manual-subtitle",
        &[
            ("tenant", tenant),
            ("date", &date(input.language, input.today)),
        ],
    )));
    b.push(Block::TableOfContents);

    b.push(Block::Heading(tr.t("manual-intro-heading")));
    b.push(para(tr.t1("manual-intro", "tenant", tenant)));
    b.push(Block::Subheading(tr.t("manual-portal-heading")));
    b.push(para(tr.t("manual-portal")));
    b.push(qr_with_link(&portal, 96.0, tr.t("manual-qr-portal")));

    b.push(Block::Heading(tr.t("manual-apps-heading")));
    if input.applications.is_empty() {
        b.push(para(tr.t("manual-apps-none")));
    } else {
        b.push(para(tr.t1("manual-apps-intro", "tenant", tenant)));
        // Employees know applications by name and purpose; networks and
        // ports are the IT department's business.
        for app in input.applications {
            b.push(Block::Subheading(app.name.clone()));
            b.push(para(if app.description.trim().is_empty() {
                tr.t("manual-app-no-description")
            } else {
                app.description.trim().to_owned()
            }));
            if let Some(url) = &app.web_url {
                b.push(Block::Fields(vec![(
                    tr.t("manual-app-browser"),
                    url.clone(),
                )]));
            }
            b.push(para(tr.t("manual-app-vpn")));
            if app.web_url.is_some() {
                b.push(para(tr.t("manual-app-browser-hint")));
            }
        }
    }

    b.push(Block::Heading(tr.t("manual-laptop-heading")));
    b.push(Block::Subheading(tr.t("manual-windows-heading")));
    b.push(steps(
        &tr,
        &[
            "manual-windows-1",
            "manual-app-2",
            "manual-app-3",
            "manual-app-4",
        ],
    ));
    b.push(Block::Subheading(tr.t("manual-macos-heading")));
    b.push(steps(
        &tr,
        &[
            "manual-macos-1",
            "manual-app-2",
            "manual-app-3",
            "manual-app-4",
        ],
    ));
    b.push(Block::Subheading(tr.t("manual-linux-heading")));
    b.push(steps(
        &tr,
        &["manual-linux-1", "manual-linux-2", "manual-linux-3"],
    ));
    b.push(Block::Code(format!(
        "homegate enroll {} --code ABCD-EFGH-JKLM\nsudo homegate up",
        input.public_url.trim_end_matches('/')
    )));
    b.push(para(tr.t("manual-linux-4")));

    b.push(Block::Heading(tr.t("manual-phone-heading")));
    b.push(steps(
        &tr,
        &[
            "manual-phone-1",
            "manual-phone-2",
            "manual-phone-3",
            "manual-phone-4",
        ],
    ));

    b.push(Block::Heading(tr.t("manual-stick-heading")));
    b.push(para(tr.t("manual-stick")));
    b.push(Block::Code(
        "homegate enroll --bundle /media/HOMEGATE\nsudo homegate up".to_owned(),
    ));
    b.push(para(tr.t("manual-stick-once")));

    b.push(Block::Heading(tr.t("manual-quota-heading")));
    b.push(para(match input.tenant.quota.max_sessions {
        Some(max) => tr.args(
            "manual-quota-limited",
            &[("tenant", tenant), ("max", &max.to_string())],
        ),
        None => tr.t("manual-quota-unlimited"),
    }));
    b.push(para(tr.t("manual-quota-check")));

    b.push(Block::Heading(tr.t("manual-lost-heading")));
    b.push(para(tr.t("manual-lost")));

    b.push(Block::Heading(tr.t("manual-status-heading")));
    b.push(para(tr.t("manual-status")));
    b.push(qr_with_link(&status, 80.0, tr.t("manual-qr-status")));

    b.push(Block::Heading(tr.t("manual-support-heading")));
    let s = input.settings;
    let contacts: Vec<(String, String)> = [
        ("manual-support-name", &s.support_name),
        ("manual-support-email", &s.support_email),
        ("manual-support-phone", &s.support_phone),
        ("manual-support-hours", &s.support_hours),
    ]
    .iter()
    .filter(|(_, value)| !value.trim().is_empty())
    .map(|(key, value)| (tr.t(key), value.trim().to_owned()))
    .collect();
    if contacts.is_empty() {
        b.push(para(tr.t("manual-support-none")));
    } else {
        b.push(para(tr.t("manual-support")));
        b.push(Block::Fields(contacts));
    }

    // The municipality's own sections come last, after "Help"
    // (docs/manual.md).
    for section in &input.settings.sections {
        b.push(Block::Heading(section.title.clone()));
        b.extend(markdown::blocks(&section.markdown));
    }
    doc
}

/// The manual as a PDF.
pub fn pdf(input: &ManualInput<'_>) -> Result<Vec<u8>, pdf_layout::Error> {
    pdf_layout::to_pdf(&document(input))
}

/// The one inline style sheet of [`html`]'s page, for a Content-Security-
/// Policy that allows exactly it (by its hash).
pub fn html_style() -> &'static str {
    html::STYLE
}

/// The manual as a standalone HTML page (no scripts, inline styles only).
pub fn html(input: &ManualInput<'_>, pdf_link: Option<&str>) -> String {
    let label = Tr::new(input.language).t("manual-download-pdf");
    html::render(
        &document(input),
        pdf_link.map(|href| (href, label.as_str())),
    )
}

/// A QR code of `url`, captioned with `label` and the address as a link.
fn qr_with_link(url: &str, size: f32, label: String) -> Block {
    Block::Qr {
        payload: url.to_owned(),
        size,
        caption: vec![Span::bold(label), Span::plain(" "), Span::link(url, url)],
    }
}

#[cfg(test)]
mod tests;
