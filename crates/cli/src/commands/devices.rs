use api_types::tenancy::{CreateDevice, Device, DeviceKind};
use clap::Subcommand;

use super::{Context, ListArgs};
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub(crate) enum DevicesCommand {
    /// List a tenant's devices in the order they were registered.
    List {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        list: ListArgs,
    },
    Show {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        device: String,
    },
    /// Register a device by the public key it generated.
    Create {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        name: String,
        /// The device's WireGuard public key (base64).
        #[arg(long)]
        public_key: String,
        /// Username of the employee it belongs to.
        #[arg(long)]
        owner: Option<String>,
        /// laptop, phone, stick or other.
        #[arg(long, value_parser = parse_kind, default_value = "laptop")]
        kind: DeviceKind,
    },
    /// Revoke a device for good (lost, stolen, replaced).
    Revoke {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        device: String,
    },
}

fn parse_kind(text: &str) -> Result<DeviceKind, String> {
    DeviceKind::parse(text)
        .ok_or_else(|| format!("'{text}' is not one of laptop, phone, stick, other"))
}

impl Tabular for Device {
    fn headers() -> &'static [&'static str] {
        &[
            "id",
            "name",
            "owner",
            "kind",
            "state",
            "tunnel address",
            "public key",
            "created",
        ]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.name.clone(),
            output::opt(self.owner.as_deref()),
            self.kind.as_str().to_owned(),
            self.state.as_str().to_owned(),
            output::opt(self.tunnel_address.as_deref()),
            output::opt(self.public_key.as_deref()),
            output::time(&self.created_at),
        ]
    }
}

pub(crate) async fn run(context: &Context, command: DevicesCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        DevicesCommand::List { tenant, list } => {
            let devices: Vec<Device> = client
                .get_all_pages(&["tenants", tenant.as_str(), "devices"], list.pages())
                .await?;
            output::list(context.output, &devices)
        }
        DevicesCommand::Show { tenant, device } => {
            output::one(context.output, &client.get_device(&tenant, &device).await?)
        }
        DevicesCommand::Create {
            tenant,
            name,
            public_key,
            owner,
            kind,
        } => {
            let device = client
                .create_device(
                    &tenant,
                    &CreateDevice {
                        name,
                        owner,
                        kind,
                        public_key,
                    },
                )
                .await?;
            output::one(context.output, &device)
        }
        DevicesCommand::Revoke { tenant, device } => output::one(
            context.output,
            &client.revoke_device(&tenant, &device).await?,
        ),
    }
}
