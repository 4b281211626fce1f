//! Sessions (seats in use) and refused admissions.

use api_types::gateway::ToGateway;
use api_types::problem::Problem;
use api_types::tenancy::{Refusal, SessionList};
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::paging::{self, ListQuery};
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiPath, ApiQuery, Authenticated, TenantOperate};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(end_session))
        .routes(routes!(list_refusals))
        .routes(routes!(my_refusals))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Limit {
    /// At most this many (default 100; 20 for one's own).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Devices in session now, with gateway, start, last handshake and bytes,
/// by start, a page at a time: follow the `Link` header's `rel="next"` URL
/// for the next page. `in_use` counts all seats; `q` searches device name,
/// owner and gateway.
#[utoipa::path(get, path = "/tenants/{tenant}/sessions", tag = "sessions",
    params(("tenant" = String, Path, description = "Tenant slug or id"), ListQuery),
    responses(
        (status = 200, body = SessionList, headers(("Link" = String, description = "`<url>; rel=\"next\"`: the next page (absent on the last)"))),
        (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn list_sessions(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    OriginalUri(uri): OriginalUri,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<(HeaderMap, Json<SessionList>)> {
    let request = query.request()?;
    let (list, next) = state.store.page_sessions(&access, &request).await?;
    Ok((
        paging::link(uri.path(), &request, next.as_deref()),
        Json(list),
    ))
}

/// End a device's session on every gateway now; it may reconnect if a seat is free.
#[utoipa::path(delete, path = "/tenants/{tenant}/sessions/{device}", tag = "sessions",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("device" = String, Path, description = "Device id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn end_session(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    ApiPath((_tenant, device)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    end_device_session(&state, &access, &device, "ended by an administrator").await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends a session and tells the gateways that hold it.
pub(crate) async fn end_device_session(
    state: &AppState,
    access: &store::TenantAccess,
    device: &str,
    reason: &str,
) -> ApiResult<()> {
    let device = state.store.get_device(access, device).await?;
    let gateways = state.store.end_session(access, &device.id).await?;
    if let Some(public_key) = &device.public_key {
        for gateway in gateways {
            let end = ToGateway::EndSession {
                public_key: public_key.clone(),
                reason: reason.to_owned(),
            };
            crate::gateway::tell(state, &gateway, end).await;
        }
    }
    Ok(())
}

/// Handshakes refused because of the quota, newest first.
#[utoipa::path(get, path = "/tenants/{tenant}/refusals", tag = "sessions",
    params(("tenant" = String, Path, description = "Tenant slug or id"), Limit),
    responses((status = 200, body = Vec<Refusal>)))]
async fn list_refusals(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    ApiQuery(limit): ApiQuery<Limit>,
) -> ApiResult<Json<Vec<Refusal>>> {
    Ok(Json(
        state
            .store
            .list_refusals(&access, super::limit(limit.limit, 100, 1000)?)
            .await?,
    ))
}

/// Refusals of the caller's own devices: why can't I connect?
#[utoipa::path(get, path = "/me/refusals", tag = "sessions",
    params(Limit),
    responses((status = 200, body = Vec<Refusal>)))]
async fn my_refusals(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiQuery(limit): ApiQuery<Limit>,
) -> ApiResult<Json<Vec<Refusal>>> {
    Ok(Json(
        state
            .store
            .my_refusals(&actor.user_id, super::limit(limit.limit, 20, 1000)?)
            .await?,
    ))
}
