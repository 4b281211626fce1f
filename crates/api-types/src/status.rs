//! The status page: components, incidents, scheduled maintenance, webhooks.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::Language;

/// Status of a component, best first: `Ord` puts the worst last. The
/// values are Atlassian Statuspage's, which status aggregators understand.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl ComponentStatus {
    pub const ALL: [ComponentStatus; 5] = [
        ComponentStatus::Operational,
        ComponentStatus::UnderMaintenance,
        ComponentStatus::DegradedPerformance,
        ComponentStatus::PartialOutage,
        ComponentStatus::MajorOutage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::UnderMaintenance => "under_maintenance",
            ComponentStatus::DegradedPerformance => "degraded_performance",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
        }
    }

    pub fn parse(value: &str) -> Option<ComponentStatus> {
        ComponentStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }

    /// Whether people can work: maintenance is announced, not an outage.
    pub fn is_up(self) -> bool {
        !matches!(
            self,
            ComponentStatus::PartialOutage | ComponentStatus::MajorOutage
        )
    }
}

/// Who set a component's current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusSource {
    /// Derived from the gateways' own health.
    Automatic,
    /// Set by an operator (for a region's VPN: an override).
    Operator,
    /// A scheduled maintenance is in progress.
    Maintenance,
}

impl StatusSource {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusSource::Automatic => "automatic",
            StatusSource::Operator => "operator",
            StatusSource::Maintenance => "maintenance",
        }
    }

    pub fn parse(value: &str) -> Option<StatusSource> {
        [
            StatusSource::Automatic,
            StatusSource::Operator,
            StatusSource::Maintenance,
        ]
        .into_iter()
        .find(|source| source.as_str() == value)
    }
}

/// A text in up to three languages; at least one is present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub de: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

impl Localized {
    pub fn get(&self, language: Language) -> Option<&str> {
        match language {
            Language::De => self.de.as_deref(),
            Language::Nl => self.nl.as_deref(),
            Language::En => self.en.as_deref(),
        }
        .filter(|text| !text.trim().is_empty())
    }

    /// The text in `language`, or else in English, German, Dutch (in that
    /// order), with the language actually used so a page can say so.
    pub fn pick(&self, language: Language) -> Option<(&str, Language)> {
        std::iter::once(language)
            .chain([Language::En, Language::De, Language::Nl])
            .find_map(|candidate| self.get(candidate).map(|text| (text, candidate)))
    }

    pub fn is_empty(&self) -> bool {
        Language::ALL
            .iter()
            .all(|language| self.get(*language).is_none())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Component {
    pub id: String,
    /// Short unique name used by the CLI (`vpn-south`, `conferencing`).
    pub name: String,
    /// What the page shows; empty for a region's VPN, which the page names
    /// in the reader's language.
    pub title: String,
    pub description: String,
    /// The group the page shows it in (e.g. "VPN"); empty for none.
    pub group: String,
    /// Set for a region's VPN, whose status follows its gateways.
    pub region: Option<String>,
    /// Municipalities (slugs) it concerns; empty concerns everyone.
    pub tenants: Vec<String>,
    pub status: ComponentStatus,
    pub status_source: StatusSource,
    /// The operator's status: for a region's VPN an override of the
    /// automatic one, absent when the gateways decide.
    pub operator_status: Option<ComponentStatus>,
    pub operator_note: String,
    /// The operator's note in other languages, where it was given.
    #[serde(default, skip_serializing_if = "Localized::is_empty")]
    pub operator_note_translations: Localized,
    /// Title, description and group in other languages; where a language
    /// has none, the page shows the texts above.
    #[serde(default, skip_serializing_if = "ComponentTranslations::is_empty")]
    pub translations: ComponentTranslations,
    pub position: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A component's texts per language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentTranslations {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::object_or_null"
    )]
    pub de: Option<ComponentTexts>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::object_or_null"
    )]
    pub nl: Option<ComponentTexts>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::object_or_null"
    )]
    pub en: Option<ComponentTexts>,
}

/// A component's texts in one language. In a change, an absent text stays
/// as it is and an empty one is removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentTexts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl ComponentTranslations {
    pub fn get(&self, language: Language) -> Option<&ComponentTexts> {
        match language {
            Language::De => self.de.as_ref(),
            Language::Nl => self.nl.as_ref(),
            Language::En => self.en.as_ref(),
        }
    }

    pub fn get_mut(&mut self, language: Language) -> &mut Option<ComponentTexts> {
        match language {
            Language::De => &mut self.de,
            Language::Nl => &mut self.nl,
            Language::En => &mut self.en,
        }
    }

    /// One text in `language`, if it was given and is not blank.
    pub fn text(
        &self,
        language: Language,
        field: fn(&ComponentTexts) -> &Option<String>,
    ) -> Option<&str> {
        self.get(language)
            .and_then(|texts| field(texts).as_deref())
            .filter(|text| !text.trim().is_empty())
    }

    pub fn is_empty(&self) -> bool {
        Language::ALL
            .iter()
            .all(|language| self.get(*language).is_none_or(ComponentTexts::is_empty))
    }
}

impl ComponentTexts {
    pub fn is_empty(&self) -> bool {
        [&self.title, &self.description, &self.group]
            .iter()
            .all(|text| text.as_deref().is_none_or(|text| text.trim().is_empty()))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateComponent {
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    /// Tenant slugs or ids; empty concerns everyone.
    #[serde(default)]
    pub tenants: Vec<String>,
    #[serde(default)]
    pub position: Option<i64>,
    /// Title, description and group in other languages.
    #[serde(default, deserialize_with = "crate::object")]
    pub translations: ComponentTranslations,
}

/// Changes to a component; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateComponent {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub tenants: Option<Vec<String>>,
    #[serde(default)]
    pub position: Option<i64>,
    /// Texts per language, each as a change: an absent text stays, an
    /// empty one is removed.
    #[serde(default, deserialize_with = "crate::object_or_null")]
    pub translations: Option<ComponentTranslations>,
}

/// An operator's status for a component.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetComponentStatus {
    pub status: ComponentStatus,
    #[serde(default)]
    pub note: Option<String>,
    /// The note in other languages; replaces those of the last status.
    #[serde(default, deserialize_with = "crate::object")]
    pub note_translations: Localized,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    Incident,
    Maintenance,
}

/// Where an incident stands. Scheduled maintenance uses `scheduled`,
/// `in_progress` and `completed`, which follow its window by themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Scheduled,
    InProgress,
    Completed,
}

impl IncidentState {
    pub const ALL: [IncidentState; 7] = [
        IncidentState::Investigating,
        IncidentState::Identified,
        IncidentState::Monitoring,
        IncidentState::Resolved,
        IncidentState::Scheduled,
        IncidentState::InProgress,
        IncidentState::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Investigating => "investigating",
            IncidentState::Identified => "identified",
            IncidentState::Monitoring => "monitoring",
            IncidentState::Resolved => "resolved",
            IncidentState::Scheduled => "scheduled",
            IncidentState::InProgress => "in_progress",
            IncidentState::Completed => "completed",
        }
    }

    pub fn parse(value: &str) -> Option<IncidentState> {
        IncidentState::ALL
            .into_iter()
            .find(|state| state.as_str() == value)
    }

    pub fn is_closed(self) -> bool {
        matches!(self, IncidentState::Resolved | IncidentState::Completed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    None,
    Minor,
    Major,
    Critical,
}

impl Impact {
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Minor => "minor",
            Impact::Major => "major",
            Impact::Critical => "critical",
        }
    }

    pub fn parse(value: &str) -> Option<Impact> {
        [Impact::None, Impact::Minor, Impact::Major, Impact::Critical]
            .into_iter()
            .find(|impact| impact.as_str() == value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncidentUpdate {
    pub id: String,
    pub state: IncidentState,
    pub message: Localized,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Incident {
    pub id: String,
    pub kind: IncidentKind,
    pub title: Localized,
    pub impact: Impact,
    /// For maintenance, derived from its window unless ended early.
    pub state: IncidentState,
    /// Names of the affected components.
    pub components: Vec<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub starts_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    /// Open, and without an update for longer than the server allows.
    pub stale: bool,
    /// Newest first.
    pub updates: Vec<IncidentUpdate>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIncident {
    pub title: Localized,
    pub impact: Impact,
    /// Component names or ids.
    #[serde(default)]
    pub components: Vec<String>,
    /// Defaults to `investigating`.
    #[serde(default)]
    pub state: Option<IncidentState>,
    pub message: Localized,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMaintenance {
    pub title: Localized,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub message: Localized,
}

/// A new update; `state: resolved` resolves an incident, `completed` ends a
/// maintenance early.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostIncidentUpdate {
    pub state: IncidentState,
    pub message: Localized,
    #[serde(default)]
    pub impact: Option<Impact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Deliveries still being retried.
    pub pending: i64,
    /// Deliveries given up after all retries.
    pub failed: i64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookCreated {
    pub webhook: Webhook,
    /// The HMAC-SHA256 key deliveries are signed with, shown this one time.
    pub secret: String,
}

/// An e-mail subscription to the status page (double opt-in).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    pub email: String,
    #[serde(default)]
    pub language: Option<Language>,
    /// Only what concerns this municipality (slug).
    #[serde(default)]
    pub tenant: Option<String>,
}

#[cfg(test)]
mod tests {

    #[test]
    fn component_texts_are_objects_not_lists() {
        let parse = |body: &str| serde_json::from_str::<UpdateComponent>(body);
        assert!(parse(r#"{"translations": {"nl": [null, null]}}"#).is_err());
        assert!(parse(r#"{"translations": [null]}"#).is_err());
        assert!(
            parse(r#"{"translations": null}"#)
                .unwrap()
                .translations
                .is_none()
        );
        let update =
            parse(r#"{"translations": {"nl": {"title": "Videovergaderen"}, "de": null}}"#).unwrap();
        let translations = update.translations.unwrap();
        assert_eq!(
            translations.text(Language::Nl, |t| &t.title),
            Some("Videovergaderen")
        );
        assert!(translations.de.is_none());
        let set = r#"{"status": "operational", "note_translations": [null, null]}"#;
        assert!(serde_json::from_str::<SetComponentStatus>(set).is_err());
    }
    use super::*;

    #[test]
    fn missing_language_falls_back_visibly() {
        let text = Localized {
            de: Some("Störung".into()),
            nl: None,
            en: Some("Outage".into()),
        };
        assert_eq!(text.pick(Language::De), Some(("Störung", Language::De)));
        assert_eq!(text.pick(Language::Nl), Some(("Outage", Language::En)));
        let german_only = Localized {
            de: Some("Nur deutsch".into()),
            ..Localized::default()
        };
        assert_eq!(
            german_only.pick(Language::Nl),
            Some(("Nur deutsch", Language::De))
        );
        let blank = Localized {
            en: Some("  ".into()),
            ..Localized::default()
        };
        assert!(blank.is_empty());
        assert_eq!(blank.pick(Language::En), None);
    }

    #[test]
    fn worst_status_sorts_last() {
        let mut all = ComponentStatus::ALL;
        all.reverse();
        all.sort();
        assert_eq!(all, ComponentStatus::ALL);
        for status in ComponentStatus::ALL {
            assert_eq!(ComponentStatus::parse(status.as_str()), Some(status));
        }
        for state in IncidentState::ALL {
            assert_eq!(IncidentState::parse(state.as_str()), Some(state));
        }
    }
}
