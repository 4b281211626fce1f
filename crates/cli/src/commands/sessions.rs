//! Sessions and refusals.

use api_types::tenancy::{Refusal, Session, SessionList};
use clap::Subcommand;
use serde::Serialize;

use super::{Context, ListArgs};
use crate::output::outln;
use crate::output::{self, OutputFormat, Tabular};

#[derive(Debug, Subcommand)]
pub(crate) enum SessionsCommand {
    /// Devices connected now, against the tenant's quota.
    List {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        list: ListArgs,
    },
    /// End a device's session now (it may reconnect if a seat is free).
    End {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        device: String,
    },
    /// Handshakes refused for the quota, newest first.
    Refusals {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

impl Tabular for Session {
    fn headers() -> &'static [&'static str] {
        &[
            "device",
            "owner",
            "gateway",
            "state",
            "since",
            "last handshake",
            "rx bytes",
            "tx bytes",
            "device id",
        ]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.device_name.clone(),
            output::opt(self.owner.as_deref()),
            self.gateway.clone(),
            self.state.clone(),
            output::time(&self.started_at),
            output::opt_time(self.last_handshake_at.as_ref()),
            self.rx_bytes.to_string(),
            self.tx_bytes.to_string(),
            self.device_id.clone(),
        ]
    }
}

impl Tabular for Refusal {
    fn headers() -> &'static [&'static str] {
        &[
            "time", "times", "device", "owner", "gateway", "reason", "message",
        ]
    }

    fn row(&self) -> Vec<String> {
        vec![
            output::time(&self.at),
            self.count.to_string(),
            self.device_name.clone(),
            output::opt(self.owner.as_deref()),
            output::opt(self.gateway.as_deref()),
            self.reason.clone(),
            self.message.clone(),
        ]
    }
}

#[derive(Serialize)]
struct Summary<'a> {
    in_use: u32,
    max_sessions: Option<u32>,
    priority_seats: u32,
    sessions: &'a [Session],
}

fn print_list(format: OutputFormat, list: &SessionList) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => {
            outln!(
                "{}",
                serde_json::to_string_pretty(&Summary {
                    in_use: list.in_use,
                    max_sessions: list.max_sessions,
                    priority_seats: list.priority_seats,
                    sessions: &list.sessions,
                })?
            );
            Ok(())
        }
        OutputFormat::Table => {
            outln!(
                "{} of {} seats in use",
                list.in_use,
                output::limit(list.max_sessions)
            );
            output::list(format, &list.sessions)
        }
    }
}

pub(crate) async fn run(context: &Context, command: SessionsCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        SessionsCommand::List { tenant, list } => print_list(
            context.output,
            &client.find_sessions(&tenant, list.pages()).await?,
        ),
        SessionsCommand::End { tenant, device } => {
            client.end_session(&tenant, &device).await?;
            output::done(
                context.output,
                &format!("Session of device {device} ended."),
            );
            Ok(())
        }
        SessionsCommand::Refusals { tenant, limit } => {
            output::list(context.output, &client.list_refusals(&tenant, limit).await?)
        }
    }
}
