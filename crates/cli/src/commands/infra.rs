//! Regions and gateways.

use std::time::Duration;

use api_types::infra::{CreateGateway, CreateRegion, Gateway, Region};
use clap::Subcommand;

use super::Context;
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub(crate) enum RegionsCommand {
    List,
    Create {
        /// A name for the region (lowercase letters, digits, dashes).
        name: String,
        /// A short description people read.
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete an empty region.
    Delete {
        /// Region name or id.
        region: String,
    },
}

impl Tabular for Region {
    fn headers() -> &'static [&'static str] {
        &["name", "description", "created", "id"]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.description.clone(),
            output::time(&self.created_at),
            self.id.clone(),
        ]
    }
}

pub(crate) async fn run_regions(context: &Context, command: RegionsCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        RegionsCommand::List => output::list(context.output, &client.list_regions().await?),
        RegionsCommand::Create { name, description } => {
            let region = client
                .create_region(&CreateRegion { name, description })
                .await?;
            output::one(context.output, &region)
        }
        RegionsCommand::Delete { region } => {
            client.delete_region(&region).await?;
            output::done(context.output, &format!("Region {region} deleted."));
            Ok(())
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum GatewaysCommand {
    List,
    /// Add a gateway; prints the token to start it with.
    Add {
        /// A name for the gateway (lowercase letters, digits, dashes).
        name: String,
        /// Region name or id.
        #[arg(long)]
        region: String,
        /// host:port where devices reach it (the gateway can also report it).
        #[arg(long)]
        endpoint: Option<String>,
    },
    /// Take a gateway out of service: devices with the homegate client on it
    /// move to the other gateways of its region, keeping their seats.
    Drain {
        /// Gateway name or id.
        gateway: String,
        /// Wait until no device is in session on it any more (then it can
        /// be stopped), printing how many are left.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this many seconds (exit code 1).
        #[arg(long, default_value_t = 120, requires = "wait")]
        timeout_secs: u64,
    },
    /// Take a drained gateway back into service.
    Resume {
        /// Gateway name or id.
        gateway: String,
    },
    /// Give a gateway a new token (the old one was lost or leaked); the old
    /// token stops working at once.
    ReissueToken {
        /// Gateway name or id.
        gateway: String,
    },
    /// Delete a gateway; its token stops working.
    Delete {
        /// Gateway name or id.
        gateway: String,
    },
}

impl Tabular for Gateway {
    fn headers() -> &'static [&'static str] {
        &[
            "name",
            "region",
            "endpoint",
            "state",
            "sessions",
            "public key",
            "last seen",
            "id",
        ]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.region.clone(),
            output::opt(self.endpoint.as_deref()),
            match (self.healthy, self.drained) {
                (true, false) => "online",
                (true, true) => "online, drained",
                (false, false) => "offline",
                (false, true) => "offline, drained",
            }
            .to_owned(),
            self.sessions.to_string(),
            output::opt(self.public_key.as_deref()),
            output::opt_time(self.last_seen_at.as_ref()),
            self.id.clone(),
        ]
    }
}

pub(crate) async fn run_gateways(
    context: &Context,
    command: GatewaysCommand,
) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        GatewaysCommand::List => output::list(context.output, &client.list_gateways().await?),
        GatewaysCommand::Add {
            name,
            region,
            endpoint,
        } => {
            let created = client
                .create_gateway(&CreateGateway {
                    name,
                    region,
                    endpoint,
                })
                .await?;
            let line = token_hint(&created.token, client.base_url().as_str());
            output::with_secret(context.output, &created, &created.gateway, &line)
        }
        GatewaysCommand::ReissueToken { gateway } => {
            let created = client.reissue_gateway_token(&gateway).await?;
            let line = token_hint(&created.token, client.base_url().as_str());
            output::with_secret(context.output, &created, &created.gateway, &line)
        }
        GatewaysCommand::Drain {
            gateway,
            wait,
            timeout_secs,
        } => {
            let drained = client.drain_gateway(&gateway).await?;
            if !wait {
                return output::one(context.output, &drained);
            }
            let name = drained.name.clone();
            let deadline = std::time::Instant::now() + Duration::from_secs(timeout_secs);
            let mut last = None;
            loop {
                let now = client.get_gateway(&name).await?;
                if last != Some(now.sessions) {
                    eprintln!("{name}: {} device(s) still in session", now.sessions);
                    last = Some(now.sessions);
                }
                if now.sessions == 0 {
                    output::done(
                        context.output,
                        &format!("Gateway {name} is drained; it can be stopped now."),
                    );
                    return Ok(());
                }
                if std::time::Instant::now() >= deadline {
                    anyhow::bail!(
                        "{} device(s) still on {name} after {timeout_secs} s (standard WireGuard \
                         apps stay until they disconnect; stopping the gateway ends them)",
                        now.sessions
                    );
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        GatewaysCommand::Resume { gateway } => {
            output::one(context.output, &client.resume_gateway(&gateway).await?)
        }
        GatewaysCommand::Delete { gateway } => {
            client.delete_gateway(&gateway).await?;
            output::done(context.output, &format!("Gateway {gateway} deleted."));
            Ok(())
        }
    }
}

/// How to start a gateway with a fresh token: in the environment file of the
/// packaged unit, never as an argument (visible in `ps`).
fn token_hint(token: &str, control_plane: &str) -> String {
    format!(
        "Gateway token (shown only now): {token}\nOn the gateway host, put these lines into \
         /etc/homegate/gateway.env (mode 0600) and run `systemctl restart homegate-gateway`:\n\
         HOMEGATE_CONTROL_PLANE={}\nHOMEGATE_GATEWAY_TOKEN={token}",
        control_plane.trim_end_matches('/')
    )
}
