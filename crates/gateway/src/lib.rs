//! `homegate gateway`: a data-plane node.
//!
//! A userspace WireGuard device (gotatun) on a TUN interface, with two
//! homegate pieces in its IO paths: the admission [`gate`] in front of the UDP
//! socket, and the access-rule filter ([`filter_io`]) around the TUN device.
//! The [`engine`] keeps the device in step with the control plane's
//! configuration, received over the control stream ([`link`]).
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod engine;
pub mod filter_io;
pub mod gate;
pub mod key;
pub mod link;
pub mod metrics;
pub mod netconf;
pub mod offload_tun;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use gotatun::device::DeviceBuilder;
use gotatun::tun::{IpRecv, IpSend};
use gotatun::udp::socket::UdpSocketFactory;
use tokio::sync::mpsc;
use url::Url;

use crate::engine::{Engine, EngineSettings};
use crate::filter_io::{FilteredRecv, FilteredSend, SharedFilter};
use crate::gate::{Gate, GatedUdpFactory};

/// Everything `homegate gateway` needs to run.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Control-plane URLs; the gateway fails over between them.
    pub control_planes: Vec<Url>,
    pub token: String,
    pub listen_port: u16,
    pub interface: String,
    pub state_dir: PathBuf,
    /// `host:port` devices use to reach this gateway.
    pub endpoint: Option<String>,
    pub metrics_listen: Option<SocketAddr>,
    /// Serve only `/healthz` and `/readyz` here (they are on the metrics
    /// listener too).
    pub health_listen: Option<SocketAddr>,
    /// Set routes for tenant pools through the interface.
    pub manage_routes: bool,
    /// Benchmarks only: skip the access-rule filter.
    pub filter_enabled: bool,
    /// Use the kernel's segmentation offload on the TUN device (default);
    /// `false` reads one packet per system call (for comparison).
    pub tun_offload: bool,
}

/// Runs the gateway until `shutdown` resolves.
pub async fn run(
    options: GatewayOptions,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    if options.control_planes.is_empty() {
        bail!("give at least one --control-plane URL");
    }
    if options.listen_port == 0 {
        bail!("--listen-port must not be 0: devices need a fixed port");
    }
    let private_key = key::load_or_create(&options.state_dir)?;
    let public_key = key::encode_public(&private_key);
    tracing::info!(%public_key, interface = %options.interface, port = options.listen_port, "starting gateway");

    if options.manage_routes {
        netconf::enable_forwarding()?;
    }
    let filter = SharedFilter::new(options.filter_enabled);
    let (gate, knocks) = Gate::new(private_key.clone(), true);
    let parts = Parts {
        options: &options,
        private_key,
        public_key,
        gate,
        knocks,
        filter,
    };
    if options.tun_offload {
        let (send, recv) = offload_tun::create(&options.interface, netconf::DEFAULT_MTU)?;
        drive(send, recv, parts, shutdown).await
    } else {
        let tun = netconf::create_tun(&options.interface, netconf::DEFAULT_MTU)?;
        drive(tun.clone(), tun, parts, shutdown).await
    }
}

/// What `run` made before the TUN device, for `drive`.
struct Parts<'a> {
    options: &'a GatewayOptions,
    private_key: x25519_dalek::StaticSecret,
    public_key: String,
    gate: Arc<Gate>,
    knocks: mpsc::UnboundedReceiver<gate::Knock>,
    filter: SharedFilter,
}

/// Builds the WireGuard device on a TUN device (with the gate and the
/// filter in its paths) and runs the control link and the engine around it.
async fn drive(
    send: impl IpSend,
    recv: impl IpRecv,
    parts: Parts<'_>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let Parts {
        options,
        private_key,
        public_key,
        gate,
        knocks,
        filter,
    } = parts;
    let device = DeviceBuilder::new()
        .with_udp(GatedUdpFactory {
            inner: UdpSocketFactory::default(),
            gate: Arc::clone(&gate),
        })
        .with_ip_pair(
            FilteredSend {
                inner: send,
                filter: filter.clone(),
            },
            FilteredRecv {
                inner: recv,
                filter: filter.clone(),
            },
        )
        .with_private_key(private_key)
        .build()
        .await
        .context("cannot start the WireGuard device")?;
    // gotatun brings its sockets up on the first (re)configuration.
    device
        .set_listen_port(options.listen_port)
        .await
        .with_context(|| format!("cannot listen on UDP port {}", options.listen_port))?;

    let metrics = Arc::new(metrics::Metrics::default());
    if let Some(listen) = options.metrics_listen {
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            if let Err(error) = metrics::serve(listen, metrics).await {
                tracing::error!(error = %format!("{error:#}"), "metrics server failed");
            }
        });
    }
    if let Some(listen) = options.health_listen {
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            if let Err(error) = metrics::serve_health(listen, metrics).await {
                tracing::error!(error = %format!("{error:#}"), "health check server failed");
            }
        });
    }

    let (link_tx, link_rx) = mpsc::channel(1024);
    let link = tokio::spawn(link::run(
        options.control_planes.clone(),
        options.token.clone(),
        link_tx,
    ));
    let engine = Engine::new(
        device,
        gate,
        filter,
        metrics,
        EngineSettings {
            interface: options.interface.clone(),
            listen_port: options.listen_port,
            endpoint: options.endpoint.clone(),
            public_key,
            manage_routes: options.manage_routes,
        },
    );
    engine.run(link_rx, knocks, shutdown).await;
    link.abort();
    Ok(())
}
