use std::path::PathBuf;

use anyhow::Context as _;
use api_types::audit::{AuditEvent, AuditQuery};
use clap::{Args, Subcommand, ValueEnum};

use super::Context;
use crate::output::outln;
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Show audit events, newest first.
    List {
        #[command(flatten)]
        filters: Filters,
        /// At most this many events.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Export all matching events as CSV or JSON.
    Export {
        #[command(flatten)]
        filters: Filters,
        /// Output file format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ExportFormat {
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct Filters {
    /// Tenant slug or id.
    #[arg(long)]
    tenant: Option<String>,
    /// Only changes by this username.
    #[arg(long)]
    actor: Option<String>,
    /// An action, or a prefix ending in '.', e.g. tenant.
    #[arg(long)]
    action: Option<String>,
    /// RFC 3339 time, e.g. 2026-11-23T00:00:00Z
    #[arg(long)]
    since: Option<String>,
    /// RFC 3339 time (exclusive), e.g. 2026-11-24T00:00:00Z
    #[arg(long)]
    until: Option<String>,
}

impl Filters {
    fn query(self, limit: Option<u32>) -> AuditQuery {
        AuditQuery {
            tenant: self.tenant,
            actor: self.actor,
            action: self.action,
            since: self.since,
            until: self.until,
            limit,
            before: None,
        }
    }
}

impl Tabular for AuditEvent {
    fn headers() -> &'static [&'static str] {
        &["time", "actor", "action", "target", "tenant", "source"]
    }

    fn row(&self) -> Vec<String> {
        vec![
            output::time(&self.at),
            self.actor.clone(),
            self.action.clone(),
            format!("{} {}", self.target_type, self.target_name),
            output::opt(self.tenant.as_deref()),
            output::opt(self.source.as_deref()),
        ]
    }
}

pub(crate) async fn run(context: &Context, command: AuditCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        AuditCommand::List { filters, limit } => {
            let events = client.audit(&filters.query(Some(limit))).await?;
            output::list(context.output, &events)
        }
        AuditCommand::Export {
            filters,
            format,
            out,
        } => {
            let format = match format {
                ExportFormat::Csv => "csv",
                ExportFormat::Json => "json",
            };
            let body = client.audit_export(&filters.query(None), format).await?;
            match out {
                Some(path) => {
                    std::fs::write(&path, body)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    output::done(
                        context.output,
                        &format!("Audit log written to {}.", path.display()),
                    );
                }
                None => outln!("{}", body.trim_end_matches('\n')),
            }
            Ok(())
        }
    }
}
