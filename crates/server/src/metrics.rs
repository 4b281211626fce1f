//! `/metrics` of the control plane in Prometheus text format: sessions and
//! quota per tenant, refusals, connected gateways and their config lag.
//!
//! They name every municipality, so the public listener answers them only
//! to provider staff ([`for_staff`]); Prometheus without a token scrapes the
//! metrics listener (`--metrics-listen`), which serves nothing else.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ProviderStaff;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabel {
    tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GatewayLabel {
    gateway: String,
}

/// `/metrics` on the public listener: provider admins and operators only.
pub(crate) async fn for_staff(
    _staff: ProviderStaff,
    state: State<AppState>,
) -> Result<Response, ApiError> {
    render(state).await
}

pub(crate) async fn render(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut registry = Registry::with_prefix("homegate");

    let sessions = Family::<TenantLabel, Gauge>::default();
    let quota = Family::<TenantLabel, Gauge>::default();
    let utilisation = Family::<TenantLabel, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    for (tenant, in_use, max) in state.store.session_counts().await? {
        let label = TenantLabel { tenant };
        sessions.get_or_create(&label).set(in_use);
        if let Some(max) = max {
            quota.get_or_create(&label).set(max);
            // A quota of 0 closes the VPN on purpose: no ratio, rather than
            // a full one that would page someone.
            if max > 0 {
                utilisation
                    .get_or_create(&label)
                    .set(in_use as f64 / max as f64);
            }
        }
    }
    let refusals = Family::<TenantLabel, Counter>::default();
    for (tenant, count) in state.store.refusal_counts(0).await? {
        refusals
            .get_or_create(&TenantLabel { tenant })
            .inc_by(u64::try_from(count).unwrap_or(0));
    }
    let version = *state.store.watch_config_version().borrow();
    let config_version = Gauge::<i64>::default();
    config_version.set(i64::try_from(version).unwrap_or(i64::MAX));
    let connected = Gauge::<i64>::default();
    let lag = Family::<GatewayLabel, Gauge>::default();
    let gateways = state.hub.connected();
    connected.set(i64::try_from(gateways.len()).unwrap_or(0));
    for (gateway, applied) in gateways {
        lag.get_or_create(&GatewayLabel { gateway })
            .set(i64::try_from(version.saturating_sub(applied)).unwrap_or(0));
    }

    registry.register("sessions", "Devices in session (seats in use)", sessions);
    registry.register("quota_max_sessions", "The tenant's session quota", quota);
    registry.register(
        "quota_utilisation_ratio",
        "Seats in use divided by the quota",
        utilisation,
    );
    registry.register("refusals", "Handshakes refused for the quota", refusals);
    registry.register(
        "config_version",
        "Latest configuration version",
        config_version,
    );
    registry.register(
        "gateways_connected",
        "Gateways connected to this process",
        connected,
    );
    registry.register(
        "gateway_config_version_lag",
        "Versions the gateway has not applied yet",
        lag,
    );

    let mut body = String::new();
    encode(&mut body, &registry)
        .map_err(|_| ApiError::BadRequest("metrics encoding failed".into()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
