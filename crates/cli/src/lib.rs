//! The `homegate` command line. `serve` runs the control plane in-process;
//! every admin subcommand is a thin layer over the API client, so the CLI can
//! do nothing the API does not allow.

#![cfg_attr(test, allow(clippy::unwrap_used))]
// Printing results is this crate's job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod backup;
mod commands;
mod credentials;
mod device;
mod gateway;
mod output;
mod serve;

use std::process::ExitCode;

use clap::{FromArgMatches as _, Parser, Subcommand};

use crate::output::OutputFormat;

/// Exit code for bad command-line usage or configuration (BSD `EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;

#[derive(Debug, Parser)]
#[command(
    name = "homegate",
    version,
    about = "Work from home for many municipalities: control plane, gateways, devices.",
    propagate_version = true
)]
pub struct Cli {
    /// Control-plane URL for admin commands (default: the one from `homegate login`).
    #[arg(long, global = true, env = "HOMEGATE_SERVER")]
    server: Option<String>,
    /// API token for admin commands (default: the one from `homegate login`).
    #[arg(long, global = true, env = "HOMEGATE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// How to print results.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the control plane (API, console, portal, status page).
    Serve(Box<serve::ServeArgs>),
    /// Copy the control plane's SQLite database while it runs (PostgreSQL: pg_dump).
    Backup(backup::BackupArgs),
    /// Bring back a copy made by `backup` (stop `serve` first).
    Restore(backup::RestoreArgs),
    /// Run a gateway (data-plane node): userspace WireGuard on a TUN interface.
    Gateway(gateway::GatewayArgs),
    /// Enroll this device (laptop or stick): makes its key pair here.
    Enroll(device::EnrollArgs),
    /// Bring this device's VPN tunnel up.
    Up(device::UpArgs),
    /// Take this device's VPN tunnel down.
    Down(device::DownArgs),
    /// Show this device's connection, gateway and any quota refusal.
    Status(device::StatusArgs),
    /// Write this device's configuration as a wg-quick file.
    ExportConfig(device::ExportArgs),
    /// One-time enrollment codes for devices.
    #[command(subcommand)]
    EnrollmentCodes(commands::enrollment::CodesCommand),
    /// Configurations and QR codes for the official WireGuard app on phones.
    #[command(subcommand)]
    Phones(commands::enrollment::PhonesCommand),
    /// Log in to a control plane and remember the token for later commands.
    Login(commands::auth::LoginArgs),
    /// Forget the stored token and revoke it.
    Logout,
    /// Show who you are logged in as.
    Whoami,
    /// Change your password (required after logging in with a one-time password).
    Password(commands::auth::PasswordArgs),
    /// Your second factors (authenticator app, recovery codes).
    #[command(subcommand)]
    Mfa(commands::mfa::MfaCommand),
    /// A tenant's own OpenID Connect identity provider.
    #[command(subcommand)]
    Idp(commands::mfa::IdpCommand),
    /// Municipalities and other customer organisations.
    #[command(subcommand)]
    Tenants(commands::tenants::TenantsCommand),
    /// Session and device limits of a tenant.
    #[command(subcommand)]
    Quota(commands::tenants::QuotaCommand),
    /// Priority seats, session idle timeout and MFA-before-VPN of a tenant.
    #[command(subcommand)]
    Policy(commands::tenants::PolicyCommand),
    /// Provider staff, tenant admins and employees.
    #[command(subcommand)]
    Users(commands::users::UsersCommand),
    /// Invitations to the first login: by e-mail or letter, resend, withdraw.
    #[command(subcommand)]
    Invitations(commands::invitations::InvitationsCommand),
    /// How far each municipality's move home has come: counts per step and
    /// who is stuck (with --tenant), or all municipalities side by side.
    Onboarding {
        /// Tenant slug or id (tenant admins: their own by default).
        #[arg(long)]
        tenant: Option<String>,
        /// The counts per day over the last 30 days instead (UTC days,
        /// today: now).
        #[arg(long)]
        history: bool,
    },
    /// Groups of a tenant's users.
    #[command(subcommand)]
    Groups(commands::groups::GroupsCommand),
    /// What employees reach behind the gateways.
    #[command(subcommand, visible_alias = "apps")]
    Applications(commands::groups::ApplicationsCommand),
    /// Which groups may reach which applications.
    #[command(subcommand, visible_alias = "rules")]
    AccessRules(commands::groups::RulesCommand),
    /// WireGuard devices of a tenant.
    #[command(subcommand)]
    Devices(commands::devices::DevicesCommand),
    /// The employee manual of a tenant (PDF or HTML), and its own sections.
    Manual(commands::manual::ManualArgs),
    /// Home-office sticks: batches with disk images, letters and manifest.
    #[command(subcommand)]
    Sticks(commands::sticks::SticksCommand),
    /// Devices connected now, ending sessions, and quota refusals.
    #[command(subcommand)]
    Sessions(commands::sessions::SessionsCommand),
    /// Regions that group gateways.
    #[command(subcommand)]
    Regions(commands::infra::RegionsCommand),
    /// Gateways (data-plane nodes).
    #[command(subcommand)]
    Gateways(commands::infra::GatewaysCommand),
    /// Status page components (a region's VPN follows its gateways).
    #[command(subcommand)]
    Components(commands::status::ComponentsCommand),
    /// Status page incidents and their updates.
    #[command(subcommand)]
    Incidents(commands::status::IncidentsCommand),
    /// Scheduled maintenance on the status page.
    #[command(subcommand)]
    Maintenance(commands::status::MaintenanceCommand),
    /// Webhooks notified of incidents (HMAC-signed).
    #[command(subcommand)]
    Webhooks(commands::status::WebhooksCommand),
    /// API tokens.
    #[command(subcommand)]
    Tokens(commands::auth::TokensCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
}

/// Entry point of the `homegate` binary.
pub fn main() -> ExitCode {
    let parsed = command()
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches).map(|cli| (cli, matches)));
    let cli = match parsed {
        Ok((mut cli, matches)) => {
            if let Command::Gateway(args) = &mut cli.command {
                args.token_on_command_line = matches
                    .subcommand_matches("gateway")
                    .and_then(|gateway| gateway.value_source("token"))
                    == Some(clap::parser::ValueSource::CommandLine);
            }
            cli
        }
        Err(error) if error.use_stderr() => {
            // clap's whole message: what is missing or wrong, the allowed
            // values, "did you mean", and the usage line.
            let _ = error.print();
            return ExitCode::from(EXIT_USAGE);
        }
        Err(help_or_version) => {
            let _ = help_or_version.print();
            return ExitCode::SUCCESS;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            match error.downcast_ref::<UsageError>() {
                Some(_) => ExitCode::from(EXIT_USAGE),
                None => ExitCode::FAILURE,
            }
        }
    }
}

/// The command tree as `--help` shows it: environment variables are named
/// without their values (`[env: HOMEGATE_SERVER]`, not `…=]` or a secret).
pub fn command() -> clap::Command {
    fn tidy(command: clap::Command) -> clap::Command {
        let command = command.mut_args(|arg| arg.hide_env_values(true));
        let names: Vec<String> = command
            .get_subcommands()
            .map(|sub| sub.get_name().to_owned())
            .collect();
        names
            .iter()
            .fold(command, |command, name| command.mut_subcommand(name, tidy))
    }
    tidy(<Cli as clap::CommandFactory>::command())
}

/// An error in how homegate was invoked or configured.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The error and its causes on one line, most general first.
fn one_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let context = commands::Context {
        server: cli.server,
        token: cli.token,
        output: cli.output,
    };
    match cli.command {
        Command::Serve(args) => serve::run(*args).await,
        Command::Backup(args) => backup::backup(args).await,
        Command::Restore(args) => backup::restore(args).await,
        Command::Gateway(args) => gateway::run(args).await,
        Command::Enroll(args) => device::enroll(context.output, args).await,
        Command::Up(args) => device::up(args).await,
        Command::Down(args) => device::down(args).await,
        Command::Status(args) => device::status(context.output, args).await,
        Command::ExportConfig(args) => device::export_config(args).await,
        Command::EnrollmentCodes(command) => {
            commands::enrollment::run_codes(&context, command).await
        }
        Command::Phones(command) => commands::enrollment::run_phones(&context, command).await,
        Command::Login(args) => commands::auth::login(&context, args).await,
        Command::Logout => commands::auth::logout(&context).await,
        Command::Whoami => commands::auth::whoami(&context).await,
        Command::Password(args) => commands::auth::password(&context, args).await,
        Command::Mfa(command) => commands::mfa::run(&context, command).await,
        Command::Idp(command) => commands::mfa::run_idp(&context, command).await,
        Command::Tenants(command) => commands::tenants::run(&context, command).await,
        Command::Quota(command) => commands::tenants::run_quota(&context, command).await,
        Command::Policy(command) => commands::tenants::run_policy(&context, command).await,
        Command::Users(command) => commands::users::run(&context, command).await,
        Command::Invitations(command) => commands::invitations::run(&context, command).await,
        Command::Onboarding { tenant, history } => {
            commands::invitations::onboarding(&context, tenant, history).await
        }
        Command::Groups(command) => commands::groups::run(&context, command).await,
        Command::Applications(command) => {
            commands::groups::run_applications(&context, command).await
        }
        Command::AccessRules(command) => commands::groups::run_rules(&context, command).await,
        Command::Devices(command) => commands::devices::run(&context, command).await,
        Command::Sticks(command) => commands::sticks::run(&context, command).await,
        Command::Manual(args) => commands::manual::run(&context, args).await,
        Command::Sessions(command) => commands::sessions::run(&context, command).await,
        Command::Regions(command) => commands::infra::run_regions(&context, command).await,
        Command::Gateways(command) => commands::infra::run_gateways(&context, command).await,
        Command::Components(command) => commands::status::run_components(&context, command).await,
        Command::Incidents(command) => commands::status::run_incidents(&context, command).await,
        Command::Maintenance(command) => commands::status::run_maintenance(&context, command).await,
        Command::Webhooks(command) => commands::status::run_webhooks(&context, command).await,
        Command::Tokens(command) => commands::auth::run_tokens(&context, command).await,
        Command::Audit(command) => commands::audit::run(&context, command).await,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }

    /// Every flag of every subcommand says what it is for.
    #[test]
    fn every_flag_has_a_help_line() {
        fn missing(command: &clap::Command, path: &str, out: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" || arg.is_hide_set() || arg.get_long().is_none()
                {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    out.push(format!("{path} --{id}"));
                }
            }
            for sub in command.get_subcommands() {
                missing(sub, &format!("{path} {}", sub.get_name()), out);
            }
        }
        let mut out = Vec::new();
        missing(&super::command(), "homegate", &mut out);
        assert!(out.is_empty(), "without help: {out:#?}");
    }

    #[test]
    fn help_names_environment_variables_without_values() {
        let mut command = super::command();
        let help = command
            .find_subcommand_mut("serve")
            .unwrap()
            .render_help()
            .to_string();
        assert!(help.contains("[env: HOMEGATE_PUBLIC_URL]"), "{help}");
        assert!(!help.contains("=]"), "{help}");
    }
}
