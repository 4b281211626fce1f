use api_types::Language;
use api_types::tenancy::{CreateTenant, SetPolicy, SetQuota, Tenant, UpdateTenant};
use clap::{ArgGroup, Args, Subcommand};

use super::Context;
use crate::UsageError;
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub(crate) enum TenantsCommand {
    /// List tenants.
    List,
    /// Show one tenant.
    Show { tenant: String },
    /// Create a tenant.
    Create(CreateArgs),
    /// Change a tenant's name, language or region.
    Update(UpdateArgs),
    /// Move a municipality to another region: its devices with the homegate
    /// client switch to that region's gateways, keeping their seats.
    Move {
        tenant: String,
        /// Region name or id.
        #[arg(long)]
        region: String,
    },
    /// Delete a tenant with all its users, groups, applications and devices.
    Delete {
        tenant: String,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Short name for URLs, e.g. lemgo
    #[arg(long)]
    slug: String,
    /// Full name, e.g. "Alte Hansestadt Lemgo"
    #[arg(long)]
    name: String,
    /// Tunnel address pool of its devices, e.g. 10.20.0.0/16
    #[arg(long)]
    pool: String,
    /// Default language: de, nl or en.
    #[arg(long, value_parser = parse_language)]
    language: Option<Language>,
    /// Region name or id.
    #[arg(long)]
    region: Option<String>,
    /// Devices connected at the same time (default: unlimited).
    #[arg(long)]
    max_sessions: Option<u32>,
    /// Devices in total (default: unlimited).
    #[arg(long)]
    max_devices: Option<u32>,
}

#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    tenant: String,
    /// The display name, e.g. "Alte Hansestadt Lemgo".
    #[arg(long)]
    name: Option<String>,
    /// de, nl or en.
    #[arg(long, value_parser = parse_language)]
    language: Option<Language>,
    /// Region name or id.
    #[arg(long, conflicts_with = "no_region")]
    region: Option<String>,
    /// Unassign the region.
    #[arg(long)]
    no_region: bool,
}

pub(crate) fn parse_language(text: &str) -> Result<Language, String> {
    Language::parse(text).ok_or_else(|| format!("'{text}' is not one of de, nl, en"))
}

impl Tabular for Tenant {
    fn headers() -> &'static [&'static str] {
        &[
            "slug",
            "name",
            "language",
            "address pool",
            "region",
            "max sessions",
            "max devices",
            "priority seats",
            "idle timeout (s)",
            "id",
        ]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.slug.clone(),
            self.name.clone(),
            self.default_language.code().to_owned(),
            self.address_pool.clone(),
            output::opt(self.region.as_deref()),
            output::limit(self.quota.max_sessions),
            output::limit(self.quota.max_devices),
            match &self.policy.priority_group {
                Some(group) => format!("{} ({group})", self.policy.priority_seats),
                None => self.policy.priority_seats.to_string(),
            },
            self.policy.session_idle_timeout_secs.to_string(),
            self.id.clone(),
        ]
    }
}

pub(crate) async fn run(context: &Context, command: TenantsCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        TenantsCommand::List => output::list(context.output, &client.list_tenants().await?),
        TenantsCommand::Show { tenant } => {
            output::one(context.output, &client.get_tenant(&tenant).await?)
        }
        TenantsCommand::Create(args) => {
            let tenant = client
                .create_tenant(&CreateTenant {
                    slug: args.slug,
                    name: args.name,
                    default_language: args.language,
                    address_pool: args.pool,
                    region: args.region,
                    max_sessions: args.max_sessions,
                    max_devices: args.max_devices,
                })
                .await?;
            output::one(context.output, &tenant)
        }
        TenantsCommand::Update(args) => {
            let region = if args.no_region {
                Some(None)
            } else {
                args.region.map(Some)
            };
            let tenant = client
                .update_tenant(
                    &args.tenant,
                    &UpdateTenant {
                        name: args.name,
                        default_language: args.language,
                        region,
                    },
                )
                .await?;
            output::one(context.output, &tenant)
        }
        TenantsCommand::Move { tenant, region } => {
            let moved = client
                .update_tenant(
                    &tenant,
                    &UpdateTenant {
                        name: None,
                        default_language: None,
                        region: Some(Some(region)),
                    },
                )
                .await?;
            output::one(context.output, &moved)
        }
        TenantsCommand::Delete { tenant, yes } => {
            if !yes {
                return Err(UsageError(format!(
                    "deleting tenant '{tenant}' removes all its users, groups, applications and \
                     devices; add --yes to confirm"
                ))
                .into());
            }
            client.delete_tenant(&tenant).await?;
            output::done(context.output, &format!("Tenant {tenant} deleted."));
            Ok(())
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum QuotaCommand {
    /// Show a tenant's quota.
    Show { tenant: String },
    /// Change a tenant's quota; takes effect on every gateway at once.
    #[command(group(ArgGroup::new("sessions").args(["max_sessions", "unlimited"])))]
    #[command(group(ArgGroup::new("devices").args(["max_devices", "unlimited_devices"])))]
    Set {
        tenant: String,
        /// Concurrent VPN sessions over all gateways.
        #[arg(long)]
        max_sessions: Option<u32>,
        /// Lift the session limit.
        #[arg(long)]
        unlimited: bool,
        /// Devices the tenant may have.
        #[arg(long)]
        max_devices: Option<u32>,
        /// Lift the device limit.
        #[arg(long)]
        unlimited_devices: bool,
        /// After lowering the session limit below use, end the newest sessions
        /// over it (default: nobody is cut off; no one new gets in).
        #[arg(long)]
        end_newest: bool,
    },
}

pub(crate) async fn run_quota(context: &Context, command: QuotaCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        QuotaCommand::Show { tenant } => {
            output::one(context.output, &client.get_tenant(&tenant).await?)
        }
        QuotaCommand::Set {
            tenant,
            max_sessions,
            unlimited,
            max_devices,
            unlimited_devices,
            end_newest,
        } => {
            let request = SetQuota {
                end_newest_sessions: end_newest,
                max_sessions: if unlimited {
                    Some(None)
                } else {
                    max_sessions.map(Some)
                },
                max_devices: if unlimited_devices {
                    Some(None)
                } else {
                    max_devices.map(Some)
                },
            };
            if request.max_sessions.is_none() && request.max_devices.is_none() {
                return Err(UsageError(
                    "nothing to change: give --max-sessions N, --unlimited, --max-devices N or \
                     --unlimited-devices"
                        .to_owned(),
                )
                .into());
            }
            output::one(context.output, &client.set_quota(&tenant, &request).await?)
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Change a tenant's policy.
    Set {
        tenant: String,
        /// Seats of the quota reserved for the priority group.
        #[arg(long)]
        priority_seats: Option<u32>,
        /// The group that may use the priority seats.
        #[arg(long, conflicts_with = "no_priority_group")]
        priority_group: Option<String>,
        /// Remove the priority group.
        #[arg(long)]
        no_priority_group: bool,
        /// End a session after this many seconds without traffic.
        #[arg(long)]
        idle_timeout: Option<u32>,
        /// Require an MFA login within this many hours before a VPN session.
        #[arg(long, conflicts_with = "no_mfa_before_vpn")]
        mfa_before_vpn_hours: Option<u32>,
        /// No second factor needed before the VPN.
        #[arg(long)]
        no_mfa_before_vpn: bool,
        /// Remind employees who have not used their invitation mail after
        /// this many days (1–30), once, with a new link.
        #[arg(long, conflicts_with = "no_invitation_reminders")]
        invitation_reminder_days: Option<u32>,
        /// No automatic invitation reminders.
        #[arg(long)]
        no_invitation_reminders: bool,
    },
}

pub(crate) async fn run_policy(context: &Context, command: PolicyCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        PolicyCommand::Set {
            tenant,
            priority_seats,
            priority_group,
            no_priority_group,
            idle_timeout,
            mfa_before_vpn_hours,
            no_mfa_before_vpn,
            invitation_reminder_days,
            no_invitation_reminders,
        } => {
            let request = SetPolicy {
                priority_seats,
                priority_group: if no_priority_group {
                    Some(None)
                } else {
                    priority_group.map(Some)
                },
                session_idle_timeout_secs: idle_timeout,
                mfa_before_vpn_hours: if no_mfa_before_vpn {
                    Some(None)
                } else {
                    mfa_before_vpn_hours.map(Some)
                },
                invitation_reminder_days: if no_invitation_reminders {
                    Some(None)
                } else {
                    invitation_reminder_days.map(Some)
                },
            };
            output::one(context.output, &client.set_policy(&tenant, &request).await?)
        }
    }
}
