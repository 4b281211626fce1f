//! `homegate serve`: configuration layering and start-up of the control plane.
//!
//! Every setting comes from, in this order: a command-line flag, its
//! `HOMEGATE_*` environment variable, the TOML file given by `--config`, the
//! built-in default. With no options at all homegate runs on SQLite in
//! `./homegate-data` and listens on 127.0.0.1:8080.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use serde::Deserialize;

use crate::UsageError;

pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub(crate) const DEFAULT_DATA_DIR: &str = "homegate-data";

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// TOML file with any setting below (snake_case: listen, data_dir,
    /// public_url, trusted_proxies = ["10.0.0.2"], …).
    #[arg(long, env = "HOMEGATE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "HOMEGATE_LISTEN")]
    listen: Option<SocketAddr>,
    /// Address that serves /metrics to Prometheus without a credential,
    /// e.g. 127.0.0.1:9590 (keep it off public networks) [default: none;
    /// /metrics on --listen answers provider staff only].
    #[arg(long, env = "HOMEGATE_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Folder for the SQLite database and other state [default: ./homegate-data].
    #[arg(long, env = "HOMEGATE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: SQLite in the data folder].
    #[arg(long, env = "HOMEGATE_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// URL users and devices reach this control plane at [default: http://LISTEN].
    #[arg(long, env = "HOMEGATE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Seconds a session's seat lasts without renewal by its gateway: how
    /// long sessions outlive an unreachable control plane [default: 120].
    #[arg(long, env = "HOMEGATE_SEAT_LEASE_SECS")]
    seat_lease_secs: Option<u32>,
    /// PEM certificate chain to serve HTTPS with (with --tls-key).
    #[arg(long, env = "HOMEGATE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "HOMEGATE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate kept in the data folder;
    /// sticks and clients pin it.
    #[arg(long, env = "HOMEGATE_TLS_SELF_SIGNED", conflicts_with = "tls_cert")]
    tls_self_signed: bool,
    /// SHA-256 (hex) of the certificate clients see when TLS ends at a
    /// reverse proxy in front of homegate; written into stick bundles.
    #[arg(long, env = "HOMEGATE_TLS_PIN")]
    tls_pin: Option<String>,
    /// Log one JSON object per line.
    #[arg(long, env = "HOMEGATE_LOG_JSON")]
    log_json: bool,
    /// SMTP server for status-page mails: smtp://HOST:PORT (plain, local
    /// relay), smtp://HOST?tls=required (STARTTLS) or smtps://USER:PASS@HOST.
    /// Without it, e-mail subscriptions are off.
    #[arg(
        long,
        env = "HOMEGATE_SMTP_URL",
        hide_env_values = true,
        requires = "mail_from"
    )]
    smtp_url: Option<String>,
    /// Sender of status-page mails, e.g. "Status <status@provider.example>".
    #[arg(long, env = "HOMEGATE_MAIL_FROM")]
    mail_from: Option<String>,
    /// Minutes without an update after which an open incident is flagged
    /// on the status page [default: 60].
    #[arg(long, env = "HOMEGATE_INCIDENT_STALE_MINUTES")]
    incident_stale_minutes: Option<i64>,
    /// Seconds a rendered public status page is reused (0: render every
    /// request). Changes through the API show at once [default: 5].
    #[arg(long, env = "HOMEGATE_STATUS_CACHE_SECS")]
    status_cache_secs: Option<u64>,
    /// Publish web applications in browsers at APP.TENANT.<domain> (needs
    /// wildcard DNS pointing at this server); off without it.
    #[arg(long, env = "HOMEGATE_PROXY_DOMAIN")]
    proxy_domain: Option<String>,
    /// Address web applications as <domain>/TENANT/APP/ instead, where
    /// wildcard DNS is not available.
    #[arg(long, env = "HOMEGATE_PROXY_PATH_SCHEME", requires = "proxy_domain")]
    proxy_path_scheme: bool,
    /// Largest upload through the proxy, in MiB [default: 64].
    #[arg(long, env = "HOMEGATE_PROXY_MAX_BODY_MIB")]
    proxy_max_body_mib: Option<u64>,
    /// Seconds an application may take to start answering [default: 60].
    #[arg(long, env = "HOMEGATE_PROXY_UPSTREAM_TIMEOUT_SECS")]
    proxy_upstream_timeout_secs: Option<u64>,
    /// URL of every control-plane replica sharing this PostgreSQL database
    /// (repeat, or comma-separated in the environment); devices fail over
    /// between them [default: the public URL].
    #[arg(
        long = "control-plane-url",
        env = "HOMEGATE_CONTROL_PLANE_URLS",
        value_delimiter = ','
    )]
    control_plane_urls: Vec<String>,
    /// Network a web application's upstream may lie in although it is
    /// loopback, link-local or otherwise refused (repeat, or comma-separated
    /// in the environment), e.g. 127.0.0.0/8 for applications on this host.
    #[arg(
        long = "upstream-allow",
        env = "HOMEGATE_UPSTREAM_ALLOW",
        value_delimiter = ','
    )]
    upstream_allow: Vec<String>,
    /// Allow tenants' OpenID Connect issuers over plain http:// (development
    /// and tests only).
    #[arg(long, env = "HOMEGATE_OIDC_DEVELOPMENT")]
    oidc_development: bool,
    /// File with the key secrets are sealed with in the database (TOTP,
    /// OIDC client and webhook secrets); every replica needs the same one
    /// [default: secrets.key in the data folder, made on first start].
    #[arg(long, env = "HOMEGATE_SECRETS_KEY_FILE")]
    secrets_key_file: Option<PathBuf>,
    /// Largest request body of the API and the console (JSON, forms,
    /// uploads), in MiB; larger ones are answered 413 [default: 16].
    #[arg(long, env = "HOMEGATE_MAX_BODY_MIB")]
    max_body_mib: Option<u64>,
    /// Seconds a client may take to send a request's headers (and its TLS
    /// handshake); slower connections are closed [default: 10].
    #[arg(long, env = "HOMEGATE_HEADER_TIMEOUT_SECS")]
    header_timeout_secs: Option<u64>,
    /// Seconds a connection may stay open without a request in progress
    /// and without traffic [default: 60].
    #[arg(long, env = "HOMEGATE_IDLE_TIMEOUT_SECS")]
    idle_timeout_secs: Option<u64>,
    /// Connections open at once per listener; more are closed at once
    /// [default: 25000].
    #[arg(long, env = "HOMEGATE_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Address or network of a reverse proxy in front of homegate (repeat,
    /// or comma-separated in the environment): its X-Forwarded-For gives
    /// the client's address for login throttling and the audit log. Never
    /// believed from other peers.
    #[arg(
        long = "trusted-proxy",
        env = "HOMEGATE_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<String>,
}

/// How the control plane serves TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TlsMode {
    Off,
    Files { cert: PathBuf, key: PathBuf },
    SelfSigned,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    metrics_listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database: Option<String>,
    public_url: Option<String>,
    seat_lease_secs: Option<u32>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_self_signed: Option<bool>,
    tls_pin: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    incident_stale_minutes: Option<i64>,
    status_cache_secs: Option<u64>,
    proxy_domain: Option<String>,
    proxy_path_scheme: Option<bool>,
    proxy_max_body_mib: Option<u64>,
    proxy_upstream_timeout_secs: Option<u64>,
    control_plane_urls: Option<Vec<String>>,
    upstream_allow: Option<Vec<String>>,
    oidc_development: Option<bool>,
    secrets_key_file: Option<PathBuf>,
    max_body_mib: Option<u64>,
    header_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    trusted_proxies: Option<Vec<String>>,
}

/// The effective configuration.
#[derive(Clone)]
pub(crate) struct ServeConfig {
    pub listen: SocketAddr,
    pub metrics_listen: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub database: String,
    /// `None`: `http://` and the address actually bound.
    pub public_url: Option<String>,
    pub seat_lease_secs: u32,
    pub tls: TlsMode,
    pub tls_pin: Option<String>,
    pub smtp: Option<server::mail::SmtpSettings>,
    pub incident_stale_minutes: i64,
    pub status_cache_secs: u64,
    pub proxy: Option<server::proxy::ProxySettings>,
    pub control_plane_urls: Vec<String>,
    /// `own` is filled in once the listener is bound.
    pub outbound: store::outbound::OutboundPolicy,
    /// `None`: `secrets.key` in the data folder, made if missing.
    pub secrets_key_file: Option<PathBuf>,
    pub max_body_bytes: usize,
    pub connection_limits: server::listen::ConnectionLimits,
    pub trusted_proxies: server::listen::TrustedProxies,
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("listen", &self.listen)
            .field("metrics_listen", &self.metrics_listen)
            .field("data_dir", &self.data_dir)
            .field("database", &store::redact_url(&self.database))
            .field("public_url", &self.public_url)
            .field("seat_lease_secs", &self.seat_lease_secs)
            .field("tls", &self.tls)
            .field("smtp", &self.smtp)
            .field("outbound", &self.outbound)
            .field("secrets_key_file", &self.secrets_key_file)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("connection_limits", &self.connection_limits)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish()
    }
}

fn resolve(args: ServeArgs) -> anyhow::Result<ServeConfig> {
    let file = match &args.config {
        Some(path) => read_config(path)?,
        None => FileConfig::default(),
    };
    let listen = match args.listen.or(file.listen) {
        Some(listen) => listen,
        None => DEFAULT_LISTEN
            .parse()
            .map_err(|_| UsageError("bad default listen address".to_owned()))?,
    };
    let data_dir = args
        .data_dir
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let database = match args.database.or(file.database) {
        Some(url) => url,
        None => sqlite_url(&data_dir.join("homegate.db")),
    };
    store::Backend::from_url(&database).map_err(|e| UsageError(e.to_string()))?;
    let public_url = args
        .public_url
        .or(file.public_url)
        .map(|url| url.trim_end_matches('/').to_owned());
    if let Some(url) = &public_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(UsageError(format!(
            "public URL '{url}' must start with http:// or https://"
        ))
        .into());
    }
    let seat_lease_secs = args
        .seat_lease_secs
        .or(file.seat_lease_secs)
        .unwrap_or(server::DEFAULT_SEAT_LEASE_SECS);
    if !(10..=86_400).contains(&seat_lease_secs) {
        return Err(UsageError(format!(
            "seat lease of {seat_lease_secs} s is out of range (10 to 86400)"
        ))
        .into());
    }
    let tls = match (
        args.tls_cert.or(file.tls_cert),
        args.tls_key.or(file.tls_key),
        args.tls_self_signed || file.tls_self_signed.unwrap_or(false),
    ) {
        (Some(_), Some(_), true) => {
            return Err(UsageError(
                "give either a certificate (tls_cert, tls_key) or tls_self_signed, not both"
                    .to_owned(),
            )
            .into());
        }
        (Some(cert), Some(key), false) => TlsMode::Files { cert, key },
        (None, None, true) => TlsMode::SelfSigned,
        (None, None, false) => TlsMode::Off,
        _ => {
            return Err(UsageError("tls_cert and tls_key go together".to_owned()).into());
        }
    };
    let tls_pin = args
        .tls_pin
        .or(file.tls_pin)
        .map(|pin| pin.trim().to_ascii_lowercase());
    if let Some(pin) = &tls_pin
        && (pin.len() != 64 || !pin.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(UsageError(format!(
            "TLS pin '{pin}' must be the 64 hex digits of a SHA-256"
        ))
        .into());
    }
    let incident_stale_minutes = args
        .incident_stale_minutes
        .or(file.incident_stale_minutes)
        .unwrap_or(server::DEFAULT_INCIDENT_STALE_MINUTES);
    if !(1..=10_080).contains(&incident_stale_minutes) {
        return Err(UsageError(format!(
            "incident stale time of {incident_stale_minutes} minutes is out of range (1 to 10080)"
        ))
        .into());
    }
    let smtp = match (
        args.smtp_url.or(file.smtp_url),
        args.mail_from.or(file.mail_from),
    ) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(UsageError("smtp_url needs mail_from (the sender)".to_owned()).into());
        }
        (Some(url), Some(from)) => {
            let smtp = server::mail::SmtpSettings { url, from };
            server::mail::Mailer::new(&smtp).map_err(UsageError)?;
            Some(smtp)
        }
    };
    let status_cache_secs = args
        .status_cache_secs
        .or(file.status_cache_secs)
        .unwrap_or(5);
    if status_cache_secs > 300 {
        return Err(UsageError(format!(
            "status page cache of {status_cache_secs} s is out of range (0 to 300)"
        ))
        .into());
    }
    let proxy = match args.proxy_domain.or(file.proxy_domain) {
        None => None,
        Some(domain) => {
            let mut proxy = server::proxy::ProxySettings::new(&domain);
            proxy.path_scheme = args.proxy_path_scheme || file.proxy_path_scheme.unwrap_or(false);
            let mib = args
                .proxy_max_body_mib
                .or(file.proxy_max_body_mib)
                .unwrap_or(proxy.max_body_bytes / (1024 * 1024));
            if !(1..=65_536).contains(&mib) {
                return Err(UsageError(format!(
                    "proxy upload limit of {mib} MiB is out of range (1 to 65536)"
                ))
                .into());
            }
            proxy.max_body_bytes = mib * 1024 * 1024;
            let secs = args
                .proxy_upstream_timeout_secs
                .or(file.proxy_upstream_timeout_secs)
                .unwrap_or(proxy.upstream_timeout.as_secs());
            if !(1..=3_600).contains(&secs) {
                return Err(UsageError(format!(
                    "proxy upstream timeout of {secs} s is out of range (1 to 3600)"
                ))
                .into());
            }
            proxy.upstream_timeout = std::time::Duration::from_secs(secs);
            server::proxy::route::ProxyDomain::new(
                &proxy.domain,
                proxy.path_scheme,
                public_url.as_deref().unwrap_or("http://localhost"),
            )
            .map_err(UsageError)?;
            Some(proxy)
        }
    };
    let control_plane_urls = if args.control_plane_urls.is_empty() {
        file.control_plane_urls.unwrap_or_default()
    } else {
        args.control_plane_urls
    };
    let control_plane_urls = control_plane_urls
        .iter()
        .map(|url| {
            let url = url.trim().trim_end_matches('/');
            match url::Url::parse(url) {
                Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(url.to_owned()),
                _ => Err(UsageError(format!(
                    "control plane URL '{url}' must be an http:// or https:// URL"
                ))),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let upstream_allow = if args.upstream_allow.is_empty() {
        file.upstream_allow.unwrap_or_default()
    } else {
        args.upstream_allow
    };
    let outbound = store::outbound::OutboundPolicy {
        allow: store::outbound::OutboundPolicy::parse_allow(&upstream_allow)
            .map_err(|e| UsageError(format!("--upstream-allow: {e}")))?,
        own: Vec::new(),
        oidc_http: args.oidc_development || file.oidc_development.unwrap_or(false),
    };
    let max_body_mib = args
        .max_body_mib
        .or(file.max_body_mib)
        .unwrap_or((server::DEFAULT_MAX_BODY_BYTES / (1024 * 1024)) as u64);
    if !(1..=1_024).contains(&max_body_mib) {
        return Err(UsageError(format!(
            "body limit of {max_body_mib} MiB is out of range (1 to 1024)"
        ))
        .into());
    }
    let seconds = |value: Option<u64>, default: std::time::Duration, what: &str| {
        let secs = value.unwrap_or(default.as_secs());
        if (1..=3_600).contains(&secs) {
            Ok(std::time::Duration::from_secs(secs))
        } else {
            Err(UsageError(format!(
                "{what} of {secs} s is out of range (1 to 3600)"
            )))
        }
    };
    let max_connections = args
        .max_connections
        .or(file.max_connections)
        .unwrap_or(server::listen::DEFAULT_MAX_CONNECTIONS);
    if !(1..=1_000_000).contains(&max_connections) {
        return Err(UsageError(format!(
            "connection limit of {max_connections} is out of range (1 to 1000000)"
        ))
        .into());
    }
    let connection_limits = server::listen::ConnectionLimits {
        header_timeout: seconds(
            args.header_timeout_secs.or(file.header_timeout_secs),
            server::listen::DEFAULT_HEADER_TIMEOUT,
            "header timeout",
        )?,
        idle_timeout: seconds(
            args.idle_timeout_secs.or(file.idle_timeout_secs),
            server::listen::DEFAULT_IDLE_TIMEOUT,
            "idle timeout",
        )?,
        max_connections,
    };
    let trusted_proxies = if args.trusted_proxies.is_empty() {
        file.trusted_proxies.unwrap_or_default()
    } else {
        args.trusted_proxies
    };
    let trusted_proxies = server::listen::TrustedProxies(
        store::outbound::OutboundPolicy::parse_allow(&trusted_proxies)
            .map_err(|e| UsageError(format!("--trusted-proxy: {e}")))?,
    );
    Ok(ServeConfig {
        secrets_key_file: args.secrets_key_file.or(file.secrets_key_file),
        max_body_bytes: usize::try_from(max_body_mib.saturating_mul(1024 * 1024))
            .unwrap_or(usize::MAX),
        connection_limits,
        trusted_proxies,
        outbound,
        listen,
        metrics_listen: args.metrics_listen.or(file.metrics_listen),
        data_dir,
        database,
        public_url,
        control_plane_urls,
        seat_lease_secs,
        tls,
        tls_pin,
        smtp,
        incident_stale_minutes,
        status_cache_secs,
        proxy,
    })
}

/// The data folder and database URL `serve` would use, for the commands
/// that work on its database (`backup`, `restore`).
pub(crate) fn database_location(
    config: Option<&Path>,
    data_dir: Option<PathBuf>,
    database: Option<String>,
) -> anyhow::Result<(PathBuf, String)> {
    let file = match config {
        Some(path) => read_config(path)?,
        None => FileConfig::default(),
    };
    let data_dir = data_dir
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let database = database
        .or(file.database)
        .unwrap_or_else(|| sqlite_url(&data_dir.join("homegate.db")));
    store::Backend::from_url(&database).map_err(|e| UsageError(e.to_string()))?;
    Ok((data_dir, database))
}

fn read_config(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("cannot read config file {}: {e}", path.display())))?;
    Ok(toml::from_str::<FileConfig>(&text).map_err(|e| {
        UsageError(format!(
            "config file {} is invalid: {}",
            path.display(),
            e.message()
        ))
    })?)
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

fn create_data_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create data folder {}", dir.display()))
}

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    logging::init(args.log_json);
    let config = resolve(args)?;
    create_data_dir(&config.data_dir)?;
    tracing::info!(?config, "starting control plane");
    // Held while serving: `homegate restore` waits for no server to run.
    let _serving = match store::backup::sqlite_path(&config.database) {
        Some(path) => {
            if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                create_data_dir(folder)?;
            }
            let lock = crate::backup::lock_file(&path)?;
            if lock.try_lock_shared().is_err() {
                anyhow::bail!(
                    "{} is being restored; start again when that is done",
                    path.display()
                );
            }
            Some(lock)
        }
        None => None,
    };

    let store = store::Store::open(&config.database)
        .await
        .with_context(|| {
            format!(
                "cannot open database {}",
                store::redact_url(&config.database)
            )
        })?;
    let secrets_key = match &config.secrets_key_file {
        // A key the operator gives must exist: making one would split the
        // replicas' keys silently.
        Some(path) => store::sealing::SecretsKey::read(path)?,
        None => store::sealing::SecretsKey::read_or_create(
            &config.data_dir.join(store::sealing::KEY_FILE),
        )?,
    };
    let store = store.use_secrets_key(secrets_key).await?;
    let bootstrap = store
        .bootstrap_admin()
        .await
        .context("cannot create the first admin")?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let tls = match &config.tls {
        TlsMode::Off => None,
        TlsMode::Files { cert, key } => Some(server::tls::Tls::from_pem_files(cert, key)?),
        TlsMode::SelfSigned => {
            let mut names = vec!["localhost".to_owned(), addr.ip().to_string()];
            if let Some(host) = config
                .public_url
                .as_deref()
                .and_then(|url| url::Url::parse(url).ok())
                .and_then(|url| url.host_str().map(str::to_owned))
            {
                names.push(host);
            }
            Some(server::tls::Tls::self_signed(&config.data_dir, &names)?)
        }
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{addr}"));
    let state = server::AppState::new(
        store.clone(),
        server::Settings {
            public_url: public_url.clone(),
            seat_lease_secs: config.seat_lease_secs,
            certificate_pin: config
                .tls_pin
                .clone()
                .or_else(|| tls.as_ref().map(|tls| tls.pin.clone())),
            data_dir: Some(config.data_dir.clone()),
            incident_stale_after_ms: config.incident_stale_minutes * 60_000,
            smtp: config.smtp.clone(),
            status_page_cache: std::time::Duration::from_secs(config.status_cache_secs),
            // Follows from the gateway protocol, not a knob.
            admission_deadline: server::ADMISSION_DEADLINE,
            proxy: config.proxy.clone(),
            control_plane_urls: config.control_plane_urls.clone(),
            outbound_policy: store::outbound::OutboundPolicy {
                own: own_addresses(addr),
                ..config.outbound.clone()
            },
            max_body_bytes: config.max_body_bytes,
            connection_limits: config.connection_limits,
            trusted_proxies: config.trusted_proxies.clone(),
        },
    );
    let background = server::spawn_background(state.clone());
    let mut server = server::Server::from_listener(listener, state);
    let mut metrics_addr = None;
    if let Some(metrics_listen) = config.metrics_listen {
        let metrics_listener = tokio::net::TcpListener::bind(metrics_listen)
            .await
            .with_context(|| format!("cannot listen for metrics on {metrics_listen}"))?;
        metrics_addr = Some(metrics_listener.local_addr()?);
        server = server.with_metrics_listener(metrics_listener);
    }
    if let Some(tls) = tls {
        println_banner_pin(&tls.pin);
        server = server.with_tls(tls);
    }
    print_banner(&public_url, &config, addr, metrics_addr, bootstrap.as_ref());
    server
        .run(shutdown_signal())
        .await
        .context("server failed")?;
    background.abort();
    store.close().await;
    tracing::info!("control plane stopped");
    Ok(())
}

/// The addresses this process answers on: the bound one, or with an
/// unspecified address (0.0.0.0, ::) every interface's.
fn own_addresses(bound: SocketAddr) -> Vec<SocketAddr> {
    if !bound.ip().is_unspecified() {
        return vec![bound];
    }
    let mut own = vec![bound];
    match nix::ifaddrs::getifaddrs() {
        Ok(interfaces) => {
            for interface in interfaces {
                let Some(address) = interface.address else {
                    continue;
                };
                let ip = match (address.as_sockaddr_in(), address.as_sockaddr_in6()) {
                    (Some(v4), _) => std::net::IpAddr::V4(v4.ip()),
                    (None, Some(v6)) => std::net::IpAddr::V6(v6.ip()),
                    (None, None) => continue,
                };
                own.push(SocketAddr::new(ip, bound.port()));
            }
        }
        Err(error) => tracing::warn!(%error, "cannot list this host's addresses"),
    }
    own
}

fn println_banner_pin(pin: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "TLS certificate SHA-256 (pin): {pin}");
    let _ = stdout.flush();
}

fn print_banner(
    public_url: &str,
    config: &ServeConfig,
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    bootstrap: Option<&(String, String)>,
) {
    use std::io::Write;
    let mut banner = format!(
        "homegate control plane listening on {addr}\n  Console: {url}/\n  Status:  {url}/status\n  \
         API:     {url}/api/v1 (OpenAPI: /api/v1/openapi.json)\n  Data:    {data}\n",
        url = public_url,
        data = store::redact_url(&config.database),
    );
    if let Some(metrics_addr) = metrics_addr {
        banner.push_str(&format!(
            "  Metrics: http://{metrics_addr}/metrics (no credential: keep this address private)\n"
        ));
    }
    banner.push_str(&public_url_banner(public_url, config.public_url.is_some()));
    if let Some((username, password)) = bootstrap {
        banner.push_str(&format!(
            "\nFirst start: created the provider admin. This password is shown only once:\n  \
             username: {username}\n  password: {password}\nLog in with: homegate login {url} \
             --username {username}\nYou will be asked to replace the password after the first \
             login.\n",
            url = public_url
        ));
    }
    // A closed stdout (detached, piped into something that quit) must not
    // stop the server.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(banner.as_bytes());
    let _ = stdout.flush();
}

/// What the banner says about the public URL: what it is, where it goes,
/// how to set it, and a warning when employees could not use it.
fn public_url_banner(public_url: &str, configured: bool) -> String {
    use api_types::public_url::{UrlConcern, concern};
    let origin = if configured {
        "configured"
    } else {
        "not configured, derived from the listen address"
    };
    let mut text = format!(
        "  Public URL: {public_url} ({origin}); stick bundles, letters, manuals and enrollment \
         hints carry it. Set it with --public-url, HOMEGATE_PUBLIC_URL or public_url in the \
         configuration file.\n"
    );
    match concern(public_url) {
        Some(UrlConcern::Loopback) => text.push_str(
            "  WARNING: the public URL is a loopback address: no employee's device can reach \
             it. Fine for a trial on this machine only.\n",
        ),
        Some(UrlConcern::PlainHttp) => text.push_str(
            "  WARNING: the public URL is plain http: tokens and passwords cross the network \
             unencrypted, and devices refuse it unless enrolled with --insecure-http. Use \
             https (--tls-cert/--tls-key, or a TLS proxy in front).\n",
        ),
        None => {}
    }
    text
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ServeArgs {
        ServeArgs {
            config: None,
            listen: None,
            metrics_listen: None,
            data_dir: None,
            database: None,
            public_url: None,
            seat_lease_secs: None,
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            tls_pin: None,
            log_json: false,
            smtp_url: None,
            mail_from: None,
            incident_stale_minutes: None,
            status_cache_secs: None,
            proxy_domain: None,
            proxy_path_scheme: false,
            proxy_max_body_mib: None,
            proxy_upstream_timeout_secs: None,
            control_plane_urls: Vec::new(),
            upstream_allow: Vec::new(),
            secrets_key_file: None,
            oidc_development: false,
            max_body_mib: None,
            header_timeout_secs: None,
            idle_timeout_secs: None,
            max_connections: None,
            trusted_proxies: Vec::new(),
        }
    }

    #[test]
    fn limits_and_trusted_proxies_come_from_flags_and_file() {
        let config = resolve(args()).unwrap();
        assert_eq!(config.max_body_bytes, 16 * 1024 * 1024);
        assert_eq!(
            config.connection_limits,
            server::listen::ConnectionLimits::defaults()
        );
        assert!(config.trusted_proxies.0.is_empty());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("homegate.toml");
        std::fs::write(
            &path,
            "max_body_mib = 32\nheader_timeout_secs = 5\nidle_timeout_secs = 30\n\
             max_connections = 100\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n",
        )
        .unwrap();
        let mut from_file = args();
        from_file.config = Some(path.clone());
        let config = resolve(from_file).unwrap();
        assert_eq!(config.max_body_bytes, 32 * 1024 * 1024);
        assert_eq!(
            config.connection_limits,
            server::listen::ConnectionLimits {
                header_timeout: std::time::Duration::from_secs(5),
                idle_timeout: std::time::Duration::from_secs(30),
                max_connections: 100,
            }
        );
        assert_eq!(config.trusted_proxies.0.len(), 2);

        let mut flags = args();
        flags.config = Some(path);
        flags.trusted_proxies = vec!["192.0.2.10".into()];
        flags.max_body_mib = Some(4);
        let config = resolve(flags).unwrap();
        assert_eq!(config.trusted_proxies.0.len(), 1);
        assert_eq!(config.trusted_proxies.0[0].to_string(), "192.0.2.10/32");
        assert_eq!(config.max_body_bytes, 4 * 1024 * 1024);

        for bad in [
            ServeArgs {
                trusted_proxies: vec!["proxy.example".into()],
                ..args()
            },
            ServeArgs {
                max_body_mib: Some(0),
                ..args()
            },
            ServeArgs {
                header_timeout_secs: Some(0),
                ..args()
            },
            ServeArgs {
                max_connections: Some(0),
                ..args()
            },
        ] {
            let error = resolve(bad).unwrap_err();
            assert!(error.downcast_ref::<UsageError>().is_some(), "{error}");
        }
    }

    #[test]
    fn outbound_rules_are_checked_at_start() {
        let config = resolve(args()).unwrap();
        assert!(config.outbound.allow.is_empty());
        assert!(!config.outbound.oidc_http);
        let mut allowed = args();
        allowed.upstream_allow = vec!["127.0.0.0/8".into(), "::1".into()];
        allowed.oidc_development = true;
        let config = resolve(allowed).unwrap();
        assert_eq!(config.outbound.allow.len(), 2);
        assert!(config.outbound.oidc_http);
        let mut bad = args();
        bad.upstream_allow = vec!["localhost".into()];
        let error = resolve(bad).unwrap_err();
        assert!(error.downcast_ref::<UsageError>().is_some());
    }

    #[test]
    fn control_plane_urls_are_checked_at_start() {
        assert!(resolve(args()).unwrap().control_plane_urls.is_empty());
        let mut both = args();
        both.control_plane_urls = vec!["https://cp1.example/".into(), "https://cp2.example".into()];
        assert_eq!(
            resolve(both).unwrap().control_plane_urls,
            ["https://cp1.example", "https://cp2.example"]
        );
        let mut bad = args();
        bad.control_plane_urls = vec!["cp1.example:8080".into()];
        let error = resolve(bad).unwrap_err().to_string();
        assert!(error.contains("cp1.example:8080"), "{error}");
    }

    #[test]
    fn proxy_settings_are_checked_at_start() {
        assert!(resolve(args()).unwrap().proxy.is_none());
        let mut with_proxy = args();
        with_proxy.proxy_domain = Some("apps.example.org".into());
        with_proxy.proxy_max_body_mib = Some(10);
        let proxy = resolve(with_proxy).unwrap().proxy.unwrap();
        assert_eq!(proxy.max_body_bytes, 10 * 1024 * 1024);
        assert!(!proxy.path_scheme);
        let mut bad_domain = args();
        bad_domain.proxy_domain = Some("apps example".into());
        assert!(resolve(bad_domain).is_err());
        let mut bad_limit = args();
        bad_limit.proxy_domain = Some("apps.example.org".into());
        bad_limit.proxy_max_body_mib = Some(0);
        assert!(resolve(bad_limit).is_err());
    }

    #[test]
    fn mail_settings_are_checked_at_start() {
        let config = resolve(args()).unwrap();
        assert!(config.smtp.is_none());
        assert_eq!(config.incident_stale_minutes, 60);
        let mut with_mail = args();
        with_mail.smtp_url = Some("smtp://127.0.0.1:2525".into());
        with_mail.mail_from = Some("Status <status@provider.example>".into());
        assert!(resolve(with_mail).unwrap().smtp.is_some());
        let mut bad_sender = args();
        bad_sender.smtp_url = Some("smtp://127.0.0.1:2525".into());
        bad_sender.mail_from = Some("not a mailbox".into());
        let error = resolve(bad_sender).unwrap_err().to_string();
        assert!(error.contains("sender"), "{error}");
        let mut bad_url = args();
        bad_url.smtp_url = Some("gopher://x".into());
        bad_url.mail_from = Some("status@provider.example".into());
        assert!(resolve(bad_url).is_err());
        let mut stale = args();
        stale.incident_stale_minutes = Some(0);
        assert!(resolve(stale).is_err());
    }

    #[test]
    fn defaults_run_on_sqlite_in_the_data_folder() {
        let config = resolve(args()).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(
            config.database,
            "sqlite://homegate-data/homegate.db?mode=rwc"
        );
        assert_eq!(config.public_url, None);
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("homegate.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\npublic_url = \"https://cp.example/\"\n",
        )
        .unwrap();
        let mut from_file = args();
        from_file.config = Some(path.clone());
        let config = resolve(from_file).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(config.public_url.as_deref(), Some("https://cp.example"));

        let mut with_flag = args();
        with_flag.config = Some(path);
        with_flag.listen = Some("127.0.0.1:9100".parse().unwrap());
        assert_eq!(
            resolve(with_flag).unwrap().listen.to_string(),
            "127.0.0.1:9100"
        );
    }

    #[test]
    fn bad_files_and_urls_are_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "lisen = 1\n").unwrap();
        let mut bad = args();
        bad.config = Some(path);
        let error = resolve(bad).unwrap_err();
        assert!(error.downcast_ref::<UsageError>().is_some());

        let mut mysql = args();
        mysql.database = Some("mysql://x".to_owned());
        assert!(
            resolve(mysql)
                .unwrap_err()
                .to_string()
                .contains("unsupported")
        );
    }
}
