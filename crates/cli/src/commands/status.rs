//! The status page: components, incidents, maintenance and webhooks.

use api_types::Language;
use api_types::status::{
    Component, ComponentStatus, ComponentTexts, ComponentTranslations, CreateComponent,
    CreateIncident, CreateMaintenance, CreateWebhook, Impact, Incident, IncidentKind,
    IncidentState, Localized, PostIncidentUpdate, SetComponentStatus, UpdateComponent, Webhook,
    WebhookCreated,
};
use clap::{Args, Subcommand};
use time::OffsetDateTime;

use super::Context;
use crate::output::outln;
use crate::output::{self, Tabular};

/// Texts in up to three languages; at least one is needed.
#[derive(Debug, Args)]
pub(crate) struct MessageArgs {
    /// The message in German.
    #[arg(long)]
    message_de: Option<String>,
    /// The message in Dutch.
    #[arg(long)]
    message_nl: Option<String>,
    /// The message in English.
    #[arg(long)]
    message_en: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct TitleArgs {
    /// The title in German.
    #[arg(long)]
    title_de: Option<String>,
    /// The title in Dutch.
    #[arg(long)]
    title_nl: Option<String>,
    /// The title in English.
    #[arg(long)]
    title_en: Option<String>,
}

impl From<MessageArgs> for Localized {
    fn from(args: MessageArgs) -> Localized {
        Localized {
            de: args.message_de,
            nl: args.message_nl,
            en: args.message_en,
        }
    }
}

impl From<TitleArgs> for Localized {
    fn from(args: TitleArgs) -> Localized {
        Localized {
            de: args.title_de,
            nl: args.title_nl,
            en: args.title_en,
        }
    }
}

fn component_status(value: &str) -> Result<ComponentStatus, String> {
    let status = match value {
        "degraded" => Some(ComponentStatus::DegradedPerformance),
        "partial" => Some(ComponentStatus::PartialOutage),
        "major" | "outage" => Some(ComponentStatus::MajorOutage),
        "maintenance" => Some(ComponentStatus::UnderMaintenance),
        other => ComponentStatus::parse(other),
    };
    status.ok_or_else(|| "expected operational, degraded, partial, major or maintenance".to_owned())
}

fn incident_state(value: &str) -> Result<IncidentState, String> {
    IncidentState::parse(value).ok_or_else(|| {
        "expected investigating, identified, monitoring or resolved \
         (maintenance: scheduled, in_progress, completed)"
            .to_owned()
    })
}

fn impact(value: &str) -> Result<Impact, String> {
    Impact::parse(value).ok_or_else(|| "expected none, minor, major or critical".to_owned())
}

fn timestamp(value: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("'{value}' is not an RFC 3339 time such as 2026-12-01T22:00:00Z"))
}

#[derive(Debug, Subcommand)]
pub(crate) enum ComponentsCommand {
    /// Components with their status now.
    List,
    /// Add a component (a region's VPN comes with its region).
    Add {
        /// Short unique name, e.g. conferencing.
        name: String,
        /// What the page shows.
        #[arg(long)]
        title: String,
        /// A short description people read.
        #[arg(long)]
        description: Option<String>,
        /// The group the page shows it in, e.g. "Collaboration".
        #[arg(long)]
        group: Option<String>,
        /// Municipality it concerns (repeat); none concerns everyone.
        #[arg(long = "tenant")]
        tenants: Vec<String>,
        /// Order on the status page (lower first).
        #[arg(long)]
        position: Option<i64>,
    },
    /// Change a component. With `--language`, the title, description and
    /// group given are those readers of that language see ("" removes one).
    Update {
        component: String,
        /// The title people read.
        #[arg(long)]
        title: Option<String>,
        /// A short description people read.
        #[arg(long)]
        description: Option<String>,
        /// Group name or id.
        #[arg(long)]
        group: Option<String>,
        /// de, nl or en: the texts given are this language's.
        #[arg(long, value_parser = super::tenants::parse_language)]
        language: Option<Language>,
        /// Municipality it concerns (repeat); replaces the list.
        #[arg(long = "tenant", conflicts_with = "all_tenants")]
        tenants: Vec<String>,
        /// It concerns every municipality.
        #[arg(long)]
        all_tenants: bool,
        /// Order on the status page (lower first).
        #[arg(long)]
        position: Option<i64>,
    },
    /// Set a component's status; for a region's VPN, an override of the
    /// automatic status until `clear`.
    Set {
        component: String,
        /// operational, degraded, partial, major or maintenance.
        #[arg(value_parser = component_status)]
        status: ComponentStatus,
        /// Shown next to the status.
        #[arg(long)]
        note: Option<String>,
        /// The note for German readers.
        #[arg(long)]
        note_de: Option<String>,
        /// The note for Dutch readers.
        #[arg(long)]
        note_nl: Option<String>,
        /// The note for English readers.
        #[arg(long)]
        note_en: Option<String>,
    },
    /// Back to automatic (a region's VPN) or operational (others).
    Clear {
        component: String,
    },
    Delete {
        component: String,
    },
}

impl Tabular for Component {
    fn headers() -> &'static [&'static str] {
        &[
            "name", "title", "group", "status", "set by", "tenants", "note",
        ]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            match &self.region {
                Some(region) if self.title.is_empty() => format!("VPN {region}"),
                _ => self.title.clone(),
            },
            self.group.clone(),
            self.status.as_str().to_owned(),
            self.status_source.as_str().to_owned(),
            if self.tenants.is_empty() {
                "all".to_owned()
            } else {
                self.tenants.join(", ")
            },
            self.operator_note.clone(),
        ]
    }
}

pub(crate) async fn run_components(
    context: &Context,
    command: ComponentsCommand,
) -> anyhow::Result<()> {
    let client = context.client()?;
    let format = context.output;
    match command {
        ComponentsCommand::List => {
            let components: Vec<Component> = client.get(&["status", "components"]).await?;
            output::list(format, &components)
        }
        ComponentsCommand::Add {
            name,
            title,
            description,
            group,
            tenants,
            position,
        } => {
            let request = CreateComponent {
                name,
                title,
                description,
                group,
                tenants,
                position,
                translations: ComponentTranslations::default(),
            };
            let component: Component = client.post(&["status", "components"], &request).await?;
            output::one(format, &component)
        }
        ComponentsCommand::Update {
            component,
            title,
            description,
            group,
            language,
            tenants,
            all_tenants,
            position,
        } => {
            let texts = ComponentTexts {
                title,
                description,
                group,
            };
            let (texts, translations) = match language {
                None => (texts, None),
                Some(language) => {
                    let mut translations = ComponentTranslations::default();
                    *translations.get_mut(language) = Some(texts);
                    (ComponentTexts::default(), Some(translations))
                }
            };
            let request = UpdateComponent {
                title: texts.title,
                description: texts.description,
                group: texts.group,
                translations,
                tenants: if all_tenants {
                    Some(Vec::new())
                } else {
                    Some(tenants).filter(|tenants| !tenants.is_empty())
                },
                position,
            };
            let component: Component = client
                .patch(&["status", "components", &component], &request)
                .await?;
            output::one(format, &component)
        }
        ComponentsCommand::Set {
            component,
            status,
            note,
            note_de,
            note_nl,
            note_en,
        } => {
            let request = SetComponentStatus {
                status,
                note,
                note_translations: Localized {
                    de: note_de,
                    nl: note_nl,
                    en: note_en,
                },
            };
            let component: Component = client
                .put_json(&["status", "components", &component, "status"], &request)
                .await?;
            output::one(format, &component)
        }
        ComponentsCommand::Clear { component } => {
            let component: Component = client
                .delete_json(&["status", "components", &component, "status"])
                .await?;
            output::one(format, &component)
        }
        ComponentsCommand::Delete { component } => {
            client.delete(&["status", "components", &component]).await?;
            output::done(format, &format!("Component {component} deleted."));
            Ok(())
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum IncidentsCommand {
    /// Open incidents and maintenance (all with --all).
    List {
        /// Show all, not only the open ones.
        #[arg(long)]
        all: bool,
    },
    /// One incident with its updates.
    Show { incident: String },
    /// Open an incident; subscribers and webhooks are notified.
    Create {
        #[command(flatten)]
        title: TitleArgs,
        #[command(flatten)]
        message: MessageArgs,
        /// none, minor, major or critical.
        #[arg(long, value_parser = impact)]
        impact: Impact,
        /// Affected component (repeat).
        #[arg(long = "component")]
        components: Vec<String>,
        /// investigating (default), identified, monitoring or resolved.
        #[arg(long, value_parser = incident_state)]
        state: Option<IncidentState>,
    },
    /// Post an update.
    Update {
        incident: String,
        /// investigating, identified, monitoring or resolved.
        #[arg(long, value_parser = incident_state)]
        state: IncidentState,
        #[command(flatten)]
        message: MessageArgs,
        /// none, minor, major or critical.
        #[arg(long, value_parser = impact)]
        impact: Option<Impact>,
    },
    /// Resolve an incident with a last update.
    Resolve {
        incident: String,
        #[command(flatten)]
        message: MessageArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MaintenanceCommand {
    /// Announce maintenance; its components show "under maintenance" during
    /// the window by themselves.
    Schedule {
        #[command(flatten)]
        title: TitleArgs,
        #[command(flatten)]
        message: MessageArgs,
        /// Affected component (repeat).
        #[arg(long = "component")]
        components: Vec<String>,
        /// Start, RFC 3339 (2026-12-01T22:00:00Z).
        #[arg(long, value_parser = timestamp)]
        starts: OffsetDateTime,
        /// End, RFC 3339.
        #[arg(long, value_parser = timestamp)]
        ends: OffsetDateTime,
    },
    /// End maintenance early.
    Complete {
        maintenance: String,
        #[command(flatten)]
        message: MessageArgs,
    },
}

impl Tabular for Incident {
    fn headers() -> &'static [&'static str] {
        &[
            "id",
            "kind",
            "title",
            "state",
            "impact",
            "components",
            "updated",
            "stale",
        ]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            match self.kind {
                IncidentKind::Incident => "incident",
                IncidentKind::Maintenance => "maintenance",
            }
            .to_owned(),
            self.title
                .pick(api_types::Language::En)
                .map_or(String::new(), |(text, _)| text.to_owned()),
            self.state.as_str().to_owned(),
            self.impact.as_str().to_owned(),
            self.components.join(", "),
            output::time(&self.updated_at),
            if self.stale { "yes" } else { "" }.to_owned(),
        ]
    }
}

pub(crate) async fn run_incidents(
    context: &Context,
    command: IncidentsCommand,
) -> anyhow::Result<()> {
    let client = context.client()?;
    let format = context.output;
    let incident = match command {
        IncidentsCommand::List { all } => {
            let incidents: Vec<Incident> = client
                .get_query(&["status", "incidents"], &[("all", all)])
                .await?;
            return output::list(format, &incidents);
        }
        IncidentsCommand::Show { incident } => {
            client.get(&["status", "incidents", &incident]).await?
        }
        IncidentsCommand::Create {
            title,
            message,
            impact,
            components,
            state,
        } => {
            let request = CreateIncident {
                title: title.into(),
                impact,
                components,
                state,
                message: message.into(),
            };
            client.post(&["status", "incidents"], &request).await?
        }
        IncidentsCommand::Update {
            incident,
            state,
            message,
            impact,
        } => {
            let request = PostIncidentUpdate {
                state,
                message: message.into(),
                impact,
            };
            client
                .post(&["status", "incidents", &incident, "updates"], &request)
                .await?
        }
        IncidentsCommand::Resolve { incident, message } => {
            let request = PostIncidentUpdate {
                state: IncidentState::Resolved,
                message: message.into(),
                impact: None,
            };
            client
                .post(&["status", "incidents", &incident, "updates"], &request)
                .await?
        }
    };
    show_incident(format, &incident)
}

fn show_incident(format: output::OutputFormat, incident: &Incident) -> anyhow::Result<()> {
    match format {
        output::OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(incident)?),
        output::OutputFormat::Table => {
            output::one(format, incident)?;
            for update in &incident.updates {
                let text = update
                    .message
                    .pick(api_types::Language::En)
                    .map_or("", |(text, _)| text);
                outln!(
                    "{}  {}: {}",
                    output::time(&update.created_at),
                    update.state.as_str(),
                    text
                );
            }
        }
    }
    Ok(())
}

pub(crate) async fn run_maintenance(
    context: &Context,
    command: MaintenanceCommand,
) -> anyhow::Result<()> {
    let client = context.client()?;
    let incident: Incident = match command {
        MaintenanceCommand::Schedule {
            title,
            message,
            components,
            starts,
            ends,
        } => {
            let request = CreateMaintenance {
                title: title.into(),
                components,
                starts_at: starts,
                ends_at: ends,
                message: message.into(),
            };
            client.post(&["status", "maintenance"], &request).await?
        }
        MaintenanceCommand::Complete {
            maintenance,
            message,
        } => {
            let request = PostIncidentUpdate {
                state: IncidentState::Completed,
                message: message.into(),
                impact: None,
            };
            client
                .post(&["status", "incidents", &maintenance, "updates"], &request)
                .await?
        }
    };
    show_incident(context.output, &incident)
}

#[derive(Debug, Subcommand)]
pub(crate) enum WebhooksCommand {
    /// Webhooks with their delivery backlog.
    List,
    /// Add a webhook; prints the secret deliveries are signed with.
    Add {
        url: String,
    },
    Delete {
        webhook: String,
    },
}

impl Tabular for Webhook {
    fn headers() -> &'static [&'static str] {
        &["id", "url", "pending", "failed", "last error", "created"]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.url.clone(),
            self.pending.to_string(),
            self.failed.to_string(),
            self.last_error.clone().unwrap_or_default(),
            output::time(&self.created_at),
        ]
    }
}

pub(crate) async fn run_webhooks(
    context: &Context,
    command: WebhooksCommand,
) -> anyhow::Result<()> {
    let client = context.client()?;
    let format = context.output;
    match command {
        WebhooksCommand::List => {
            let webhooks: Vec<Webhook> = client.get(&["status", "webhooks"]).await?;
            output::list(format, &webhooks)
        }
        WebhooksCommand::Add { url } => {
            let created: WebhookCreated = client
                .post(&["status", "webhooks"], &CreateWebhook { url })
                .await?;
            let line = format!(
                "Signing secret (shown only now): {}\nEach delivery carries \
                 x-homegate-signature: sha256=HMAC-SHA256(secret, TIMESTAMP + \".\" + BODY) \
                 with TIMESTAMP from x-homegate-timestamp.",
                created.secret
            );
            output::with_secret(format, &created, &created.webhook, &line)
        }
        WebhooksCommand::Delete { webhook } => {
            client.delete(&["status", "webhooks", &webhook]).await?;
            output::done(format, &format!("Webhook {webhook} deleted."));
            Ok(())
        }
    }
}
