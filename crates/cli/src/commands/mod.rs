//! Admin subcommands: parse arguments, call the API, print the result.

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod devices;
pub(crate) mod enrollment;
pub(crate) mod groups;
pub(crate) mod infra;
pub(crate) mod invitations;
pub(crate) mod manual;
pub(crate) mod mfa;
pub(crate) mod sessions;
pub(crate) mod status;
pub(crate) mod sticks;
pub(crate) mod tenants;
pub(crate) mod users;

use std::io::{BufRead, IsTerminal};

use anyhow::Context as _;
use client::Client;

use crate::UsageError;
use crate::credentials;
use crate::output::OutputFormat;

/// Global options every subcommand sees.
#[derive(Debug)]
pub(crate) struct Context {
    pub server: Option<String>,
    pub token: Option<String>,
    pub output: OutputFormat,
}

impl Context {
    /// An API client for the configured server and token.
    pub(crate) fn client(&self) -> anyhow::Result<Client> {
        let stored = credentials::load()?;
        let server = self
            .server
            .clone()
            .or_else(|| stored.as_ref().map(|s| s.server.clone()))
            .ok_or_else(|| {
                UsageError(
                    "no control plane configured: run `homegate login URL` first, or pass \
                     --server and --token"
                        .to_owned(),
                )
            })?;
        let token = self
            .token
            .clone()
            .or_else(|| stored.map(|s| s.token))
            .ok_or_else(|| {
                UsageError("not logged in: run `homegate login URL` first".to_owned())
            })?;
        Ok(Client::new(&server, Some(token))?)
    }
}

/// The tenant a command works on: `given`, or else the caller's own tenant
/// when they belong to one (a tenant admin has exactly one). `None` for
/// provider staff, whose commands without --tenant mean the provider.
pub(crate) async fn tenant_or_own(
    client: &Client,
    given: Option<String>,
) -> anyhow::Result<Option<String>> {
    if given.is_some() {
        return Ok(given);
    }
    Ok(client.me().await?.user.tenant)
}

/// Reads one secret: a line from stdin when asked to, else the environment
/// variable, else a prompt on the terminal.
pub(crate) fn read_secret(from_stdin: bool, env_var: &str, prompt: &str) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read from stdin")?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
    }
    if let Ok(value) = std::env::var(env_var)
        && !value.is_empty()
    {
        return Ok(value);
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt).context("cannot read the password");
    }
    Err(UsageError(format!(
        "no password given: use --password-stdin, set {env_var}, or run in a terminal"
    ))
    .into())
}

/// Warns loudly on stderr when `public_url`, which is about to reach
/// employees (`what`), is a loopback address or plain http. Warns rather
/// than refuses, so a trial on one machine still works; the words say what
/// goes wrong and how to set the URL.
pub(crate) fn warn_public_url(public_url: &str, what: &str) {
    use api_types::public_url::{UrlConcern, concern};
    let problem = match concern(public_url) {
        None => return,
        Some(UrlConcern::Loopback) => "is a loopback address: no employee's device can reach it",
        Some(UrlConcern::PlainHttp) => {
            "is plain http: enrollment tokens and passwords would cross the network \
             unencrypted, and devices refuse it unless enrolled with --insecure-http"
        }
    };
    eprintln!(
        "WARNING: {what} carries the control plane's public URL {public_url}, which {problem}.\n\
         WARNING: start the control plane with the address employees reach, e.g. `homegate serve \
         --public-url https://homegate.example.org` (or HOMEGATE_PUBLIC_URL, or public_url in \
         its configuration file), then make it again."
    );
}

/// How much of a long list to show: every page by default.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ListArgs {
    /// Show at most this many (the first by the list's order).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) limit: Option<u32>,
    /// Only those containing this text (case-insensitive; name, owner,
    /// email, address or gateway, as the list has them).
    #[arg(long)]
    pub(crate) search: Option<String>,
    /// Items per request to the server (the CLI follows the pages).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) page_size: u32,
}

impl ListArgs {
    pub(crate) fn limit(&self) -> Option<usize> {
        self.limit.and_then(|l| usize::try_from(l).ok())
    }

    /// Page size, limit and search as the client takes them.
    pub(crate) fn pages(&self) -> client::Pages<'_> {
        client::Pages {
            page_size: usize::try_from(self.page_size).unwrap_or(1000),
            limit: self.limit(),
            search: self.search.as_deref(),
        }
    }
}
