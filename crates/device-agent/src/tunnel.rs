//! `homegate up`: the userspace WireGuard tunnel of an enrolled device.
//!
//! gotatun on a TUN interface with one peer, the assigned gateway. The
//! process keeps a question open at the control plane for changes of its
//! configuration (long poll) and moves to another gateway when told (drain,
//! failover, region move) without re-enrolling; it writes its state for
//! `homegate status`, and frees its seat when stopped.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use api_types::enrollment::{DeviceConfig, GatewayEndpoint};
use base64::Engine;
use client::ClientError;
use gotatun::device::{DefaultDeviceTransports, Device, DeviceBuilder, Peer};
use ipnetwork::IpNetwork;
use x25519_dalek::{PublicKey, StaticSecret};

use crate::control_planes::ControlPlanes;
use crate::files::{DeviceFile, DeviceFiles, TunnelStatus};

pub const DEFAULT_INTERFACE: &str = "homegate-vpn";
/// How long one question for configuration changes stays open.
const LONG_POLL: Duration = Duration::from_secs(20);
/// Pause after a failed question, or between questions to a control plane
/// that cannot wait for changes.
const ASK_AGAIN_AFTER: Duration = Duration::from_secs(5);
const STATUS_EVERY: Duration = Duration::from_secs(1);

fn decode_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .context("a key is not base64")?;
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| anyhow::anyhow!("a key is not 32 bytes"))?;
    if api_types::keys::is_low_order(&key) {
        anyhow::bail!("a key is a low-order point (such as all zeros), not a WireGuard key");
    }
    Ok(key)
}

async fn resolve(endpoint: &str) -> anyhow::Result<SocketAddr> {
    tokio::net::lookup_host(endpoint)
        .await
        .with_context(|| format!("cannot resolve gateway {endpoint}"))?
        .next()
        .with_context(|| format!("gateway {endpoint} has no address"))
}

async fn gateway_peer(gateway: &GatewayEndpoint, config: &DeviceConfig) -> anyhow::Result<Peer> {
    let mut peer = Peer::new(PublicKey::from(decode_key(&gateway.public_key)?))
        .with_endpoint(resolve(&gateway.endpoint).await?);
    peer.keepalive = Some(config.keepalive_secs);
    for route in &config.routes {
        let network: IpNetwork = route
            .parse()
            .with_context(|| format!("route {route} is not a network"))?;
        peer = peer.with_allowed_ip(network);
    }
    Ok(peer)
}

fn ip(args: &[&str]) -> anyhow::Result<()> {
    let output = std::process::Command::new("ip")
        .args(args)
        .output()
        .context("cannot run `ip` (install iproute2)")?;
    if !output.status.success() {
        bail!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

fn configure_interface(interface: &str, config: &DeviceConfig) -> anyhow::Result<()> {
    let prefix = if config.tunnel_address.contains(':') {
        128
    } else {
        32
    };
    ip(&[
        "addr",
        "replace",
        &format!("{}/{prefix}", config.tunnel_address),
        "dev",
        interface,
    ])?;
    ip(&["link", "set", interface, "up"])?;
    for route in &config.routes {
        ip(&["route", "replace", route, "dev", interface])?;
    }
    Ok(())
}

struct Tunnel {
    device: Device<DefaultDeviceTransports>,
    interface: String,
    gateway: GatewayEndpoint,
    config: DeviceConfig,
    started: Instant,
}

impl Tunnel {
    async fn switch(&mut self, config: DeviceConfig) -> anyhow::Result<()> {
        let Some(gateway) = config.gateway.clone() else {
            // No healthy gateway right now: keep the current one.
            return Ok(());
        };
        if gateway != self.gateway || config.routes != self.config.routes {
            tracing::info!(from = %self.gateway.name, to = %gateway.name, "gateway or routes changed");
            let peer = gateway_peer(&gateway, &config).await?;
            let old = PublicKey::from(decode_key(&self.gateway.public_key)?);
            self.device
                .write(async |device| {
                    device.remove_peer(&old).await;
                    device.add_peer(peer);
                })
                .await?;
            configure_interface(&self.interface, &config)?;
            self.gateway = gateway;
        }
        self.config = config;
        Ok(())
    }

    async fn status(&self) -> TunnelStatus {
        let peers = self.device.peers().await;
        let peer = peers.first();
        let last_handshake = peer.and_then(|p| p.stats.last_handshake);
        let connected = last_handshake.is_some_and(|d| d < Duration::from_secs(180));
        TunnelStatus {
            pid: std::process::id(),
            interface: self.interface.clone(),
            state: if connected { "connected" } else { "connecting" }.to_owned(),
            gateway: Some(self.gateway.name.clone()),
            endpoint: Some(self.gateway.endpoint.clone()),
            last_handshake_secs: last_handshake.map(|d| d.as_secs()),
            rx_bytes: peer.map_or(0, |p| u64::try_from(p.stats.rx_bytes).unwrap_or(0)),
            tx_bytes: peer.map_or(0, |p| u64::try_from(p.stats.tx_bytes).unwrap_or(0)),
            error: None,
        }
    }
}

/// Runs the tunnel in this process until `shutdown` resolves.
pub async fn run(
    files: &DeviceFiles,
    interface: &str,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut file: DeviceFile = files.require()?;
    let mut control_planes = ControlPlanes::of(&file)?;
    // Its tag starts the long poll below, so the same configuration is not
    // fetched twice.
    let mut known = None;
    match control_planes
        .ask(|client| async move { client.device_config_change(None, Duration::ZERO).await })
        .await
    {
        Ok(Some((config, tag))) => {
            file.config = config;
            known = tag;
            files.save(&file)?;
            control_planes.follow(&file.config)?;
        }
        // Only an answer to `If-None-Match` is "unchanged"; none was sent.
        Ok(None) => {}
        Err(error @ ClientError::Api { status: 401, .. }) => return Err(error.into()),
        Err(error) => {
            tracing::warn!(%error, "control plane unreachable; using the stored configuration");
        }
    }
    let Some(gateway) = file.config.gateway.clone() else {
        bail!("no gateway is available for this device right now; try again in a minute");
    };
    files.write_pid(std::process::id())?;
    let secret = StaticSecret::from(decode_key(&file.private_key)?);
    let tun = gateway::netconf::create_tun(interface, gateway::netconf::DEFAULT_MTU)?;
    let peer = gateway_peer(&gateway, &file.config).await?;
    let gateway_key = peer.public_key;
    let device: Device<DefaultDeviceTransports> = DeviceBuilder::new()
        .with_default_udp()
        .with_ip(tun)
        .with_private_key(secret)
        .with_peer(peer)
        .build()
        .await
        .context("cannot start WireGuard")?;
    configure_interface(interface, &file.config)?;
    let mut tunnel = Tunnel {
        device,
        interface: interface.to_owned(),
        gateway,
        config: file.config.clone(),
        started: Instant::now(),
    };
    tracing::info!(interface, gateway = %tunnel.gateway.name, "tunnel up");

    let mut status_tick = tokio::time::interval(STATUS_EVERY);
    let (changes_tx, mut changes) = tokio::sync::mpsc::channel(4);
    let watcher = tokio::spawn(watch_config(control_planes.clone(), known, changes_tx));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = status_tick.tick() => {
                let status = tunnel.status().await;
                if status.state != "connected" {
                    // Start (or retry) the handshake without waiting for traffic.
                    let device = &tunnel.device;
                    let _ = tokio::time::timeout(
                        Duration::from_millis(200),
                        device.force_handshake(&gateway_key_of(&tunnel).unwrap_or(gateway_key)),
                    )
                    .await;
                }
                if let Err(error) = files.write_status(&status) {
                    tracing::warn!(error = %format!("{error:#}"), "cannot write status");
                }
            }
            change = changes.recv() => match change {
                Some(ConfigChange::Config(config)) => {
                    if let Err(error) = tunnel.switch(config.clone()).await {
                        tracing::warn!(error = %format!("{error:#}"), "cannot apply new configuration");
                    } else {
                        if let Err(error) = control_planes.follow(&config) {
                            tracing::warn!(error = %format!("{error:#}"), "cannot use the named control planes");
                        }
                        file.config = config;
                        let _ = files.save(&file);
                    }
                }
                Some(ConfigChange::Revoked(problem)) => {
                    tracing::error!(%problem, "this device was revoked");
                    break;
                }
                None => break,
            }
        }
    }
    watcher.abort();
    tracing::info!(
        uptime_secs = tunnel.started.elapsed().as_secs(),
        "tunnel going down"
    );
    if let Err(error) = control_planes
        .ask(|client| async move { client.device_disconnect().await })
        .await
    {
        tracing::debug!(%error, "could not tell the control plane");
    }
    tunnel.device.stop().await;
    let mut status = TunnelStatus {
        pid: std::process::id(),
        interface: interface.to_owned(),
        state: "stopped".to_owned(),
        ..TunnelStatus::default()
    };
    status.gateway = Some(tunnel.gateway.name);
    let _ = files.write_status(&status);
    files.clear_runtime();
    Ok(())
}

enum ConfigChange {
    Config(DeviceConfig),
    Revoked(api_types::problem::Problem),
}

/// Asks the control planes for changes of the configuration tagged `known`,
/// one long poll after the other, and hands each new configuration to the
/// tunnel.
async fn watch_config(
    mut control_planes: ControlPlanes,
    mut known: Option<String>,
    changes: tokio::sync::mpsc::Sender<ConfigChange>,
) {
    loop {
        let asked = control_planes
            .ask(|client| {
                let known = known.clone();
                async move {
                    client
                        .device_config_change(known.as_deref(), LONG_POLL)
                        .await
                }
            })
            .await;
        match asked {
            Ok(Some((config, tag))) => {
                if let Err(error) = control_planes.follow(&config) {
                    tracing::warn!(error = %format!("{error:#}"), "cannot use the named control planes");
                }
                let can_wait = tag.is_some();
                known = tag;
                if changes.send(ConfigChange::Config(config)).await.is_err() {
                    return;
                }
                if !can_wait {
                    tokio::time::sleep(ASK_AGAIN_AFTER).await;
                }
            }
            Ok(None) => {}
            Err(ClientError::Api {
                status: 401,
                problem,
            }) => {
                let _ = changes.send(ConfigChange::Revoked(problem)).await;
                return;
            }
            Err(error) => {
                tracing::debug!(%error, "control plane unreachable");
                tokio::time::sleep(ASK_AGAIN_AFTER).await;
            }
        }
    }
}

fn gateway_key_of(tunnel: &Tunnel) -> Option<PublicKey> {
    decode_key(&tunnel.gateway.public_key)
        .ok()
        .map(PublicKey::from)
}
