//! The device client commands: enroll, up, down, status, export-config.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use api_types::tenancy::DeviceKind;
use clap::Args;
use device_agent::files::DeviceFiles;
use serde::Serialize;

use crate::UsageError;
use crate::output::OutputFormat;
use crate::output::outln;

#[derive(Debug, Args)]
pub(crate) struct DeviceDir {
    /// Folder of this device's configuration and state.
    #[arg(long, global = true, env = "HOMEGATE_DEVICE_DIR")]
    device_dir: Option<PathBuf>,
}

impl DeviceDir {
    fn files(&self) -> anyhow::Result<DeviceFiles> {
        match &self.device_dir {
            Some(dir) => Ok(DeviceFiles::new(dir.clone())),
            None => DeviceFiles::default_location(),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct EnrollArgs {
    /// The control plane, e.g. https://homegate.provider.example
    url: Option<String>,
    /// The one-time code from the portal or your IT coordinator.
    #[arg(long, conflicts_with = "bundle")]
    code: Option<String>,
    /// A home-office stick's enrollment bundle (bundle.json).
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// A name for this device, e.g. "Anna's laptop".
    #[arg(long)]
    name: Option<String>,
    /// Allow plain http to a control plane on another machine (the code
    /// and the device token cross the network unencrypted).
    #[arg(long)]
    insecure_http: bool,
    #[command(flatten)]
    dir: DeviceDir,
}

pub(crate) async fn enroll(output: OutputFormat, args: EnrollArgs) -> anyhow::Result<()> {
    let files = args.dir.files()?;
    let plain_http = if args.insecure_http {
        device_agent::PlainHttp::Allow
    } else {
        device_agent::PlainHttp::Refuse
    };
    let file = match (&args.bundle, &args.url, &args.code) {
        (Some(bundle), _, _) => {
            let bundle = device_agent::bundle::read(bundle)?;
            device_agent::enroll_bundle(&files, &bundle, args.name, plain_http).await?
        }
        (None, Some(url), Some(code)) => {
            device_agent::enroll(
                &files,
                url,
                code,
                args.name,
                Some(DeviceKind::Laptop),
                plain_http,
            )
            .await?
        }
        _ => {
            return Err(UsageError(
                "give the control plane and a code (`homegate enroll URL --code CODE`) or a \
                 stick bundle (`homegate enroll --bundle PATH`)"
                    .to_owned(),
            )
            .into());
        }
    };
    match output {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&file.config)?),
        OutputFormat::Table => {
            outln!("Enrolled: {}", device_agent::describe(&file.config));
            outln!("Bring the tunnel up with: sudo homegate up");
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// Stay in the foreground (for systemd and containers).
    #[arg(long)]
    foreground: bool,
    /// Name of the tunnel interface.
    #[arg(long, default_value = device_agent::tunnel::DEFAULT_INTERFACE)]
    interface: String,
    #[command(flatten)]
    dir: DeviceDir,
}

pub(crate) async fn up(args: UpArgs) -> anyhow::Result<()> {
    let files = args.dir.files()?;
    let file = files.require()?;
    if let Some(pid) = files.running_pid() {
        bail!("the tunnel is already up (process {pid}); `homegate down` first");
    }
    if args.foreground {
        logging::init(false);
        return device_agent::tunnel::run(&files, &args.interface, crate::serve::shutdown_signal())
            .await;
    }
    // Start ourselves in the background and wait for the tunnel to come up.
    let _ = std::fs::remove_file(files.status_path());
    let log = std::fs::create_dir_all(files.dir())
        .and_then(|()| std::fs::File::create(files.log_path()))
        .context("cannot create the tunnel log")?;
    let exe = std::env::current_exe().context("cannot find the homegate binary")?;
    let mut command = std::process::Command::new(exe);
    command
        .args(["up", "--foreground", "--interface", &args.interface])
        .arg("--device-dir")
        .arg(files.dir())
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().context("cannot start the tunnel process")?;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(exit) = child.try_wait()? {
            let log = std::fs::read_to_string(files.log_path()).unwrap_or_default();
            let reason = log
                .lines()
                .rev()
                .find(|line| line.starts_with("error:"))
                .unwrap_or("see the tunnel log")
                .to_owned();
            bail!(
                "the tunnel did not start ({exit}): {}",
                reason.trim_start_matches("error: ")
            );
        }
        if files.read_status().is_some_and(|s| s.state != "stopped") {
            outln!(
                "Tunnel {} up via {} (process {}). `homegate status` shows the connection.",
                args.interface,
                file.config
                    .gateway
                    .as_ref()
                    .map_or("-", |g| g.name.as_str()),
                child.id()
            );
            return Ok(());
        }
    }
    bail!(
        "the tunnel is still starting; see {} and `homegate status`",
        files.log_path().display()
    )
}

#[derive(Debug, Args)]
pub(crate) struct DownArgs {
    #[command(flatten)]
    dir: DeviceDir,
}

pub(crate) async fn down(args: DownArgs) -> anyhow::Result<()> {
    let files = args.dir.files()?;
    let Some(pid) = files.running_pid() else {
        outln!("The tunnel is not up.");
        return Ok(());
    };
    let pid_t = nix::unistd::Pid::from_raw(i32::try_from(pid).context("bad pid")?);
    nix::sys::signal::kill(pid_t, nix::sys::signal::Signal::SIGTERM)
        .with_context(|| format!("cannot stop the tunnel process {pid}"))?;
    for _ in 0..100 {
        if files.running_pid().is_none() {
            outln!("Tunnel down.");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the tunnel process {pid} did not stop")
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    dir: DeviceDir,
}

#[derive(Serialize)]
struct StatusReport {
    device: api_types::enrollment::DeviceConfig,
    tunnel: Option<device_agent::files::TunnelStatus>,
    control_plane: Option<api_types::enrollment::DeviceStatus>,
    control_plane_error: Option<String>,
}

pub(crate) async fn status(output: OutputFormat, args: StatusArgs) -> anyhow::Result<()> {
    let files = args.dir.files()?;
    let file = files.require()?;
    let tunnel = files
        .running_pid()
        .and_then(|_| files.read_status())
        .filter(|s| s.state != "stopped");
    let client = file.client()?;
    let (control_plane, control_plane_error) = match client.device_status().await {
        Ok(status) => (Some(status), None),
        Err(error) => (None, Some(error.to_string())),
    };
    let report = StatusReport {
        device: file.config,
        tunnel,
        control_plane,
        control_plane_error,
    };
    match output {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Table => print_status(&report),
    }
    Ok(())
}

fn print_status(report: &StatusReport) {
    outln!("Device:   {}", device_agent::describe(&report.device));
    match &report.tunnel {
        Some(tunnel) => outln!(
            "Tunnel:   {} on {} via {} ({}), last handshake {}, {} bytes received, {} sent",
            tunnel.state,
            tunnel.interface,
            tunnel.gateway.as_deref().unwrap_or("-"),
            tunnel.endpoint.as_deref().unwrap_or("-"),
            tunnel
                .last_handshake_secs
                .map_or_else(|| "never".to_owned(), |s| format!("{s} s ago")),
            tunnel.rx_bytes,
            tunnel.tx_bytes
        ),
        None => outln!("Tunnel:   down (`sudo homegate up` brings it up)"),
    }
    match (&report.control_plane, &report.control_plane_error) {
        (Some(status), _) => {
            match &status.session {
                Some(session) => outln!(
                    "Session:  active on gateway {} since {}",
                    session.gateway,
                    crate::output::time(&session.started_at)
                ),
                None => outln!("Session:  none"),
            }
            if let Some(refusal) = &status.last_refusal {
                outln!(
                    "Refused:  {} ({})",
                    refusal.message,
                    crate::output::time(&refusal.at)
                );
            }
        }
        (None, Some(error)) => outln!("Control plane: unreachable ({error})"),
        (None, None) => {}
    }
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Where to write the wg-quick file (mode 0600).
    #[arg(long, default_value = "homegate.conf")]
    out: PathBuf,
    #[command(flatten)]
    dir: DeviceDir,
}

pub(crate) async fn export_config(args: ExportArgs) -> anyhow::Result<()> {
    let files = args.dir.files()?;
    let _ = device_agent::refresh(&files).await;
    device_agent::export_config(&files, &args.out)?;
    outln!(
        "Wrote {}; use it with `wg-quick up {}` or import it into a WireGuard app.",
        args.out.display(),
        args.out.display()
    );
    Ok(())
}
