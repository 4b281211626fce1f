//! The onboarding manual's tenant-specific parts.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::Language;

pub const MAX_SECTIONS: usize = 20;
pub const MAX_MARKDOWN_CHARS: usize = 20_000;

/// A section a tenant admin adds to the manual, in Markdown. Raw HTML is
/// not rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualSection {
    pub title: String,
    pub markdown: String,
}

/// Support contacts and own sections of a tenant's manual.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualSettings {
    #[serde(default)]
    pub support_name: String,
    #[serde(default)]
    pub support_email: String,
    #[serde(default)]
    pub support_phone: String,
    /// E.g. "Mon–Fri 8–16".
    #[serde(default)]
    pub support_hours: String,
    #[serde(default)]
    pub sections: Vec<ManualSection>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ManualFormat {
    Html,
    Pdf,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ManualQuery {
    /// de, nl or en [default: the tenant's language].
    #[serde(default)]
    pub language: Option<Language>,
    /// html or pdf [default: pdf].
    #[serde(default)]
    pub format: Option<ManualFormat>,
}
