//! `homegate gateway`: argument parsing for the data-plane node.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use url::Url;

use crate::UsageError;

#[derive(Debug, Args)]
pub(crate) struct GatewayArgs {
    /// Control-plane URL; repeat (or comma-separate) for a highly available control plane.
    #[arg(
        long = "control-plane",
        env = "HOMEGATE_CONTROL_PLANE",
        value_delimiter = ',',
        required = true
    )]
    control_planes: Vec<String>,
    /// The gateway token from `homegate gateways add`. Give it in the
    /// environment or with --token-file: a command line is visible to every
    /// user of the host (`ps`).
    #[arg(
        long,
        env = "HOMEGATE_GATEWAY_TOKEN",
        hide_env_values = true,
        required_unless_present = "token_file",
        conflicts_with = "token_file"
    )]
    token: Option<String>,
    /// File whose first line is the gateway token (e.g. a systemd credential).
    #[arg(long, env = "HOMEGATE_GATEWAY_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// Set after parsing: `--token` came from the command line.
    #[arg(skip)]
    pub(crate) token_on_command_line: bool,
    /// UDP port WireGuard listens on.
    #[arg(long, env = "HOMEGATE_LISTEN_PORT", default_value_t = 51820)]
    listen_port: u16,
    /// Name of the TUN interface to create.
    #[arg(long, env = "HOMEGATE_INTERFACE", default_value = "homegate0")]
    interface: String,
    /// Folder for the gateway's private key.
    #[arg(
        long,
        env = "HOMEGATE_STATE_DIR",
        default_value = "/var/lib/homegate-gateway"
    )]
    state_dir: PathBuf,
    /// host:port devices reach this gateway at (else the one given to `gateways add`).
    #[arg(long, env = "HOMEGATE_ENDPOINT")]
    endpoint: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics (and /healthz, /readyz).
    #[arg(long, env = "HOMEGATE_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Serve only the health checks at http://ADDR/healthz (process up) and
    /// /readyz (a configuration from the control plane is applied).
    #[arg(long, env = "HOMEGATE_HEALTH_LISTEN")]
    health_listen: Option<SocketAddr>,
    /// Do not add routes for tenant address pools or enable IP forwarding
    /// (when the host's network is managed elsewhere).
    #[arg(long)]
    no_routes: bool,
    /// Benchmarks only: forward without checking access rules.
    #[arg(long, hide = true)]
    unfiltered: bool,
    /// Read the TUN device one packet at a time, without the kernel's
    /// segmentation offload (for comparison; slower).
    #[arg(long)]
    no_tun_offload: bool,
    /// Log one JSON object per line.
    #[arg(long, env = "HOMEGATE_LOG_JSON")]
    log_json: bool,
}

pub(crate) async fn run(args: GatewayArgs) -> anyhow::Result<()> {
    logging::init(args.log_json);
    if args.token_on_command_line {
        tracing::warn!(
            "the gateway token on the command line is visible to every user of this host (ps); \
             give it in HOMEGATE_GATEWAY_TOKEN or with --token-file instead"
        );
    }
    let token = match (args.token, &args.token_file) {
        (Some(token), _) => token,
        (None, Some(path)) => read_token_file(path)?,
        (None, None) => {
            return Err(UsageError(
                "give the gateway token in HOMEGATE_GATEWAY_TOKEN or with --token-file".to_owned(),
            )
            .into());
        }
    };
    let mut control_planes = Vec::new();
    for text in &args.control_planes {
        let mut url = Url::parse(text.trim())
            .map_err(|_| UsageError(format!("'{text}' is not a control-plane URL")))?;
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        control_planes.push(url);
    }
    if let Some(endpoint) = &args.endpoint
        && store::validate::endpoint("endpoint", endpoint).is_err()
    {
        return Err(UsageError(format!("--endpoint '{endpoint}' is not host:port")).into());
    }
    let options = gateway::GatewayOptions {
        control_planes,
        token,
        listen_port: args.listen_port,
        interface: args.interface,
        state_dir: args.state_dir,
        endpoint: args.endpoint,
        metrics_listen: args.metrics_listen,
        health_listen: args.health_listen,
        manage_routes: !args.no_routes,
        filter_enabled: !args.unfiltered,
        tun_offload: !args.no_tun_offload,
    };
    gateway::run(options, crate::serve::shutdown_signal()).await
}

/// The first line of `path`, without surrounding white space.
fn read_token_file(path: &std::path::Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("cannot read token file {}: {e}", path.display())))?;
    let token = text.lines().next().unwrap_or_default().trim();
    if token.is_empty() {
        return Err(UsageError(format!("token file {} is empty", path.display())).into());
    }
    Ok(token.to_owned())
}
