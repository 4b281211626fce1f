//! The gateway's Prometheus metrics, served on `--metrics-listen`, and its
//! health endpoints (`/healthz`, `/readyz`), served there and on
//! `--health-listen`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::filter_io::FilterCounters;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabel {
    pub tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabel {
    pub direction: String,
    pub verdict: String,
}

#[derive(Default)]
pub struct Metrics {
    pub sessions: Family<TenantLabel, Gauge>,
    pub admitted: Family<TenantLabel, Counter>,
    pub refused: Family<TenantLabel, Counter>,
    pub rx_bytes: Family<TenantLabel, Gauge>,
    pub tx_bytes: Family<TenantLabel, Gauge>,
    pub peers: Gauge,
    pub peers_with_session: Gauge,
    pub config_version: Gauge,
    pub connected: Gauge,
    pub filtered: Family<DirectionLabel, Gauge>,
    /// A configuration from the control plane has been applied: the
    /// gateway is ready to serve devices (`/readyz`).
    pub applied: AtomicBool,
}

impl Metrics {
    pub fn registry(self: &Arc<Self>) -> Registry {
        let mut registry = Registry::with_prefix("homegate_gateway");
        registry.register(
            "sessions",
            "Devices in session on this gateway",
            self.sessions.clone(),
        );
        registry.register(
            "admissions",
            "Sessions admitted by the control plane",
            self.admitted.clone(),
        );
        registry.register(
            "refusals",
            "Handshakes refused for the quota",
            self.refused.clone(),
        );
        registry.register(
            "rx_bytes",
            "Bytes received from devices",
            self.rx_bytes.clone(),
        );
        registry.register("tx_bytes", "Bytes sent to devices", self.tx_bytes.clone());
        registry.register(
            "peers",
            "Devices configured on this gateway",
            self.peers.clone(),
        );
        registry.register(
            "peers_with_session",
            "Devices with a WireGuard session on this gateway",
            self.peers_with_session.clone(),
        );
        registry.register(
            "config_version",
            "Configuration version applied",
            self.config_version.clone(),
        );
        registry.register(
            "control_plane_connected",
            "1 while the control stream is up",
            self.connected.clone(),
        );
        registry.register(
            "filter_packets",
            "Packets seen by the access-rule filter",
            self.filtered.clone(),
        );
        registry
    }

    pub fn update_filter(&self, counters: &FilterCounters) {
        use std::sync::atomic::Ordering::Relaxed;
        let set = |direction: &str, verdict: &str, value: &AtomicU64| {
            self.filtered
                .get_or_create(&DirectionLabel {
                    direction: direction.into(),
                    verdict: verdict.into(),
                })
                .set(i64::try_from(value.load(Relaxed)).unwrap_or(i64::MAX));
        };
        set("out", "allow", &counters.allowed_out);
        set("out", "deny", &counters.denied_out);
        set("in", "allow", &counters.allowed_in);
        set("in", "deny", &counters.denied_in);
    }
}

/// The metrics in the Prometheus text format.
pub fn encode_text(registry: &Registry) -> String {
    let mut body = String::new();
    let _ = encode(&mut body, registry);
    body
}

async fn render(State(registry): State<Arc<Registry>>) -> impl IntoResponse {
    let body = encode_text(&registry);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
}

/// `/healthz`: the process is up.
async fn healthy() -> &'static str {
    "ok"
}

/// `/readyz`: 200 once a configuration from the control plane is applied
/// (the gateway knows its devices), 503 before.
async fn ready(State(metrics): State<Arc<Metrics>>) -> (axum::http::StatusCode, &'static str) {
    if metrics.applied.load(Ordering::Relaxed) {
        (axum::http::StatusCode::OK, "ready")
    } else {
        (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no configuration from the control plane applied yet",
        )
    }
}

fn health_routes(metrics: Arc<Metrics>) -> axum::Router {
    axum::Router::new()
        .route("/healthz", axum::routing::get(healthy))
        .route("/readyz", axum::routing::get(ready))
        .with_state(metrics)
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listen`.
pub async fn serve(listen: SocketAddr, metrics: Arc<Metrics>) -> anyhow::Result<()> {
    let registry = metrics.registry();
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(render))
        .with_state(Arc::new(registry))
        .merge(health_routes(metrics));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(%listen, "metrics listening");
    axum::serve(listener, app).await?;
    Ok(())
}

/// Serves only `/healthz` and `/readyz` on `listen` (for probes that must
/// not see the metrics).
pub async fn serve_health(listen: SocketAddr, metrics: Arc<Metrics>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(%listen, "health checks listening");
    axum::serve(listener, health_routes(metrics)).await?;
    Ok(())
}
