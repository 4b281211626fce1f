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
    /// TOML file with any of: listen, data_dir, database, public_url.
    #[arg(long, env = "HOMEGATE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "HOMEGATE_LISTEN")]
    listen: Option<SocketAddr>,
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
    /// Log one JSON object per line.
    #[arg(long, env = "HOMEGATE_LOG_JSON")]
    log_json: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database: Option<String>,
    public_url: Option<String>,
    seat_lease_secs: Option<u32>,
}

/// The effective configuration.
#[derive(Clone)]
pub(crate) struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database: String,
    /// `None`: `http://` and the address actually bound.
    pub public_url: Option<String>,
    pub seat_lease_secs: u32,
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database", &store::redact_url(&self.database))
            .field("public_url", &self.public_url)
            .field("seat_lease_secs", &self.seat_lease_secs)
            .finish()
    }
}

fn resolve(args: ServeArgs) -> anyhow::Result<ServeConfig> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                UsageError(format!("cannot read config file {}: {e}", path.display()))
            })?;
            toml::from_str::<FileConfig>(&text).map_err(|e| {
                UsageError(format!(
                    "config file {} is invalid: {}",
                    path.display(),
                    e.message()
                ))
            })?
        }
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
    Ok(ServeConfig {
        listen,
        data_dir,
        database,
        public_url,
        seat_lease_secs,
    })
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

    let store = store::Store::open(&config.database)
        .await
        .with_context(|| {
            format!(
                "cannot open database {}",
                store::redact_url(&config.database)
            )
        })?;
    let bootstrap = store
        .bootstrap_admin()
        .await
        .context("cannot create the first admin")?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let state = server::AppState::new(
        store.clone(),
        server::Settings {
            public_url: public_url.clone(),
            seat_lease_secs: config.seat_lease_secs,
        },
    );
    let background = server::spawn_background(state.clone());
    let server = server::Server::from_listener(listener, state);
    print_banner(&public_url, &config, addr, bootstrap.as_ref());
    server
        .run(shutdown_signal())
        .await
        .context("server failed")?;
    background.abort();
    store.close().await;
    tracing::info!("control plane stopped");
    Ok(())
}

fn print_banner(
    public_url: &str,
    config: &ServeConfig,
    addr: SocketAddr,
    bootstrap: Option<&(String, String)>,
) {
    use std::io::Write;
    let mut banner = format!(
        "homegate control plane listening on {addr}\n  Console: {url}/\n  API:     {url}/api/v1 \
         (OpenAPI: /api/v1/openapi.json)\n  Data:    {data}\n",
        url = public_url,
        data = store::redact_url(&config.database),
    );
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
            data_dir: None,
            database: None,
            public_url: None,
            seat_lease_secs: None,
            log_json: false,
        }
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
