//! Second factors of the logged-in user, and tenants' identity providers.

use api_types::auth::{FreshSecondFactor, SetIdentityProvider, TotpCode};
use clap::Subcommand;

use super::{Context, read_secret};
use crate::output;
use crate::output::outln;

#[derive(Debug, Subcommand)]
pub(crate) enum MfaCommand {
    /// Show your second factors.
    Status,
    /// Set up an authenticator app (TOTP); prints recovery codes once. With
    /// an app already on, asks for its current code first.
    Totp {
        /// Read the app's code from the first line of stdin (with an app
        /// already on: its current code first, the new app's code second).
        #[arg(long)]
        code_stdin: bool,
    },
    /// Turn the authenticator app off.
    DisableTotp {
        /// Read the code from stdin instead of asking.
        #[arg(long)]
        code_stdin: bool,
    },
    /// New recovery codes; the old ones stop working. With an
    /// authenticator app on, asks for its current code.
    RecoveryCodes {
        /// Read the authenticator app's current code from stdin instead of
        /// asking.
        #[arg(long)]
        code_stdin: bool,
    },
}

pub(crate) async fn run(context: &Context, command: MfaCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        MfaCommand::Status => {
            let status = client.mfa_status().await?;
            outln!("{}", serde_json::to_string_pretty(&status)?);
            Ok(())
        }
        MfaCommand::Totp { code_stdin } => {
            let proof = fresh_second_factor(&client, code_stdin).await?;
            let setup = client.totp_start(&proof).await?;
            if !code_stdin {
                outln!("Add this account to your authenticator app:");
                outln!("  {}", setup.otpauth_url);
                outln!("  (or type the secret {})", setup.secret);
            }
            let code = read_secret(code_stdin, "HOMEGATE_MFA_CODE", "Code shown by the app: ")?;
            let recovery = client.totp_confirm(&TotpCode { code }).await?;
            print_recovery(&recovery.codes);
            Ok(())
        }
        MfaCommand::DisableTotp { code_stdin } => {
            let code = read_secret(code_stdin, "HOMEGATE_MFA_CODE", "Current code of the app: ")?;
            client.totp_disable(&TotpCode { code }).await?;
            output::done(context.output, "Authenticator app turned off.");
            Ok(())
        }
        MfaCommand::RecoveryCodes { code_stdin } => {
            let proof = fresh_second_factor(&client, code_stdin).await?;
            print_recovery(&client.new_recovery_codes(&proof).await?.codes);
            Ok(())
        }
    }
}

/// The current code of the authenticator app if one is on (the server
/// asks for it before the second factors change).
async fn fresh_second_factor(
    client: &client::Client,
    code_stdin: bool,
) -> anyhow::Result<FreshSecondFactor> {
    if !client.mfa_status().await?.totp_enabled {
        return Ok(FreshSecondFactor::default());
    }
    let code = read_secret(
        code_stdin,
        "HOMEGATE_MFA_CURRENT_CODE",
        "Current code of your authenticator app: ",
    )?;
    Ok(FreshSecondFactor { code: Some(code) })
}

fn print_recovery(codes: &[String]) {
    outln!("Recovery codes (each works once; keep them somewhere safe, shown only now):");
    for code in codes {
        outln!("  {code}");
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum IdpCommand {
    /// Show a tenant's OpenID Connect provider.
    Show {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
    },
    /// Set a tenant's OpenID Connect provider (client secret from stdin or HOMEGATE_CLIENT_SECRET).
    Set {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        /// The identity provider's issuer URL.
        #[arg(long)]
        issuer: String,
        /// The client id registered at the identity provider.
        #[arg(long)]
        client_id: String,
        /// Read the client secret from stdin instead of asking.
        #[arg(long)]
        client_secret_stdin: bool,
        /// email, preferred_username or sub.
        #[arg(long, default_value = "email")]
        username_claim: String,
        /// The provider enforces MFA: its logins count as MFA.
        #[arg(long)]
        counts_as_mfa: bool,
        /// Create unknown users as employees on first login.
        #[arg(long)]
        auto_provision: bool,
    },
    /// Remove a tenant's identity provider.
    Delete {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
    },
}

pub(crate) async fn run_idp(context: &Context, command: IdpCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        IdpCommand::Show { tenant } => {
            match client.get_identity_provider(&tenant).await? {
                Some(idp) => outln!("{}", serde_json::to_string_pretty(&idp)?),
                None => outln!("No identity provider: employees log in with a password."),
            }
            Ok(())
        }
        IdpCommand::Set {
            tenant,
            issuer,
            client_id,
            client_secret_stdin,
            username_claim,
            counts_as_mfa,
            auto_provision,
        } => {
            let client_secret = read_secret(
                client_secret_stdin,
                "HOMEGATE_CLIENT_SECRET",
                "Client secret: ",
            )?;
            let idp = client
                .set_identity_provider(
                    &tenant,
                    &SetIdentityProvider {
                        issuer,
                        client_id,
                        client_secret,
                        username_claim: Some(username_claim),
                        counts_as_mfa,
                        auto_provision,
                    },
                )
                .await?;
            outln!("{}", serde_json::to_string_pretty(&idp)?);
            outln!(
                "Register this redirect URI at the provider: {}",
                idp.redirect_uri
            );
            Ok(())
        }
        IdpCommand::Delete { tenant } => {
            client.delete_identity_provider(&tenant).await?;
            output::done(context.output, "Identity provider removed.");
            Ok(())
        }
    }
}
