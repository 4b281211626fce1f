use api_types::auth::{ApiToken, ChangePassword, CreateToken, LoginRequest, MfaCode, TokenScope};
use clap::{Args, Subcommand};
use client::Client;

use super::{Context, read_secret};
use crate::UsageError;
use crate::credentials::{self, StoredLogin};
use crate::output::outln;
use crate::output::{self, Tabular};

#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// The control plane, e.g. http://127.0.0.1:8080
    url: String,
    /// The login name: the username, or `username@municipality` (e.g.
    /// anna@lemgo) when several municipalities have that username.
    #[arg(long, short = 'u')]
    username: String,
    /// Read the password from the first line of stdin (and a second-factor
    /// code from the second line, if one is needed).
    #[arg(long)]
    password_stdin: bool,
    /// Use a recovery code instead of the authenticator app.
    #[arg(long)]
    recovery: bool,
}

pub(crate) async fn login(context: &Context, args: LoginArgs) -> anyhow::Result<()> {
    let password = read_secret(args.password_stdin, "HOMEGATE_PASSWORD", "Password: ")?;
    let client = Client::new(&args.url, None)?;
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
    let mut response = client
        .login(&LoginRequest {
            username: args.username.clone(),
            password,
            token_name: Some(format!("cli@{host}")),
        })
        .await?;
    if let Some(challenge) = response.mfa.take() {
        let (method, prompt) = if args.recovery {
            ("recovery", "Recovery code: ")
        } else if challenge.methods.iter().any(|m| m == "totp") {
            ("totp", "Code from your authenticator app: ")
        } else {
            return Err(UsageError(
                "this account uses a security key; log in through the web console, or use                  --recovery with a recovery code"
                    .to_owned(),
            )
            .into());
        };
        let code = read_secret(args.password_stdin, "HOMEGATE_MFA_CODE", prompt)?;
        let step = MfaCode {
            ticket: challenge.ticket,
            code,
        };
        response = match method {
            "totp" => client.login_totp(&step).await?,
            _ => client.login_recovery(&step).await?,
        };
    }
    let token = response
        .token
        .ok_or_else(|| anyhow::anyhow!("the control plane issued no token"))?;
    let path = credentials::save(&StoredLogin {
        server: args.url.clone(),
        username: response.user.username.clone(),
        token,
    })?;
    output::done(
        context.output,
        &format!(
            "Logged in to {} as {} ({}). Token stored in {}.",
            args.url,
            response.user.username,
            output::role(response.user.role),
            path.display()
        ),
    );
    if response.password_change_required {
        outln!("Your password is a one-time password. Set your own now with: homegate password");
    }
    Ok(())
}

pub(crate) async fn logout(context: &Context) -> anyhow::Result<()> {
    if let Ok(client) = context.client() {
        // The token may already be expired; forgetting it locally is what matters.
        let _ = client.logout().await;
    }
    credentials::remove()?;
    output::done(context.output, "Logged out.");
    Ok(())
}

pub(crate) async fn whoami(context: &Context) -> anyhow::Result<()> {
    let me = context.client()?.me().await?;
    output::one(context.output, &me.user)?;
    if let TokenScope::Tenant { tenant } = me.token_scope {
        outln!("(this token is restricted to tenant {tenant})");
    }
    Ok(())
}

#[derive(Debug, Args)]
pub(crate) struct PasswordArgs {
    /// Read the current and the new password from the first two lines of stdin.
    #[arg(long)]
    stdin: bool,
}

pub(crate) async fn password(context: &Context, args: PasswordArgs) -> anyhow::Result<()> {
    let current = read_secret(args.stdin, "HOMEGATE_PASSWORD", "Current password: ")?;
    let new = read_secret(
        args.stdin,
        "HOMEGATE_NEW_PASSWORD",
        "New password (12+ characters): ",
    )?;
    let typed = !args.stdin
        && std::env::var("HOMEGATE_NEW_PASSWORD").map_or(true, |value| value.is_empty());
    if typed && read_secret(false, "", "New password again: ")? != new {
        return Err(
            UsageError("the two new passwords differ; nothing was changed".to_owned()).into(),
        );
    }
    context
        .client()?
        .change_password(&ChangePassword {
            current_password: current,
            new_password: new,
        })
        .await?;
    output::done(context.output, "Password changed.");
    Ok(())
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokensCommand {
    /// List your API tokens (provider admins: all).
    List,
    /// Create an API token for scripts; the secret is shown once.
    Create {
        name: String,
        /// Restrict the token to one tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Days until the token expires.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Revoke a token.
    Revoke { id: String },
}

impl Tabular for ApiToken {
    fn headers() -> &'static [&'static str] {
        &[
            "id",
            "name",
            "user",
            "scope",
            "created",
            "expires",
            "revoked",
            "last used",
        ]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.name.clone(),
            self.user.clone(),
            match &self.scope {
                TokenScope::Full => "full".to_owned(),
                TokenScope::Tenant { tenant } => format!("tenant {tenant}"),
            },
            output::time(&self.created_at),
            output::opt_time(self.expires_at.as_ref()),
            output::opt_time(self.revoked_at.as_ref()),
            output::opt_time(self.last_used_at.as_ref()),
        ]
    }
}

pub(crate) async fn run_tokens(context: &Context, command: TokensCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        TokensCommand::List => output::list(context.output, &client.list_tokens().await?),
        TokensCommand::Create {
            name,
            tenant,
            expires_in_days,
        } => {
            let created = client
                .create_token(&CreateToken {
                    name,
                    tenant,
                    expires_in_days,
                })
                .await?;
            output::with_secret(
                context.output,
                &created,
                &created.token,
                &format!("Secret (shown only now): {}", created.secret),
            )
        }
        TokensCommand::Revoke { id } => {
            client.revoke_token(&id).await?;
            output::done(context.output, &format!("Token {id} revoked."));
            Ok(())
        }
    }
}
