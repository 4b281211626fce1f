//! Home-office stick batches and sticks.

use api_types::problem::Problem;
use api_types::sticks::{CreateStickBatch, Stick, StickBatch, StickBatchIssued, UpdateStick};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use store::sticks::IssuedBatch;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::created;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, TenantOperate};
use crate::{AppState, Settings};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_batches, create_batch))
        .routes(routes!(get_batch, cancel_batch))
        .routes(routes!(complete_batch))
        .routes(routes!(reissue_batch))
        .routes(routes!(ship_batch))
        .routes(routes!(revoke_batch))
        .routes(routes!(list_sticks))
        .routes(routes!(get_stick, update_stick))
}

/// The wire form of a batch with its secrets.
pub(crate) fn issued(settings: &Settings, batch: IssuedBatch) -> StickBatchIssued {
    StickBatchIssued {
        batch: batch.batch,
        tenant_name: batch.tenant_name,
        control_plane: settings.public_url.clone(),
        certificate_pin: settings.certificate_pin.clone(),
        portal_url: format!("{}/portal", settings.public_url),
        sticks: batch.sticks,
    }
}

/// Stick batches of a tenant, newest first.
#[utoipa::path(get, path = "/tenants/{tenant}/stick-batches", tag = "sticks",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    responses((status = 200, body = Vec<StickBatch>)))]
async fn list_batches(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
) -> ApiResult<Json<Vec<StickBatch>>> {
    Ok(Json(state.store.list_stick_batches(&access).await?))
}

/// Create a batch: prepared devices with one-time tokens, all or nothing.
/// The tokens are in this response only. The batch stays `generating` (its
/// sticks cannot enroll) until its files are written and it is completed.
#[utoipa::path(post, path = "/tenants/{tenant}/stick-batches", tag = "sticks",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    request_body = CreateStickBatch,
    responses(
        (status = 201, body = StickBatchIssued),
        (status = 409, body = Problem, description = "max_devices reached or address pool full"),
        (status = 422, body = Problem),
    ))]
async fn create_batch(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    ApiJson(request): ApiJson<CreateStickBatch>,
) -> ApiResult<(StatusCode, Json<StickBatchIssued>)> {
    let batch = state.store.create_stick_batch(&access, request).await?;
    Ok(created(issued(&state.settings, batch)))
}

/// One batch with counts of its sticks per state.
#[utoipa::path(get, path = "/tenants/{tenant}/stick-batches/{batch}", tag = "sticks",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("batch" = String, Path, description = "Batch id")),
    responses((status = 200, body = StickBatch), (status = 404, body = Problem)))]
async fn get_batch(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    ApiPath((_tenant, batch)): ApiPath<(String, String)>,
) -> ApiResult<Json<StickBatch>> {
    Ok(Json(state.store.get_stick_batch(&access, &batch).await?))
}

/// Cancel a batch whose files were never completed: deletes its devices
/// and tokens. Complete batches are revoked instead.
#[utoipa::path(delete, path = "/tenants/{tenant}/stick-batches/{batch}", tag = "sticks",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("batch" = String, Path, description = "Batch id")),
    responses((status = 200, body = StickBatch), (status = 409, body = Problem)))]
async fn cancel_batch(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    ApiPath((_tenant, batch)): ApiPath<(String, String)>,
) -> ApiResult<Json<StickBatch>> {
    Ok(Json(state.store.cancel_stick_batch(&access, &batch).await?))
}

/// Mark a batch's files as written; its sticks may enroll from now on.
#[utoipa::path(post, path = "/tenants/{tenant}/stick-batches/{batch}/complete", tag = "sticks",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("batch" = String, Path, description = "Batch id")),
    responses((status = 200, body = StickBatch), (status = 404, body = Problem)))]
async fn complete_batch(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    ApiPath((_tenant, batch)): ApiPath<(String, String)>,
) -> ApiResult<Json<StickBatch>> {
    Ok(Json(
        state.store.complete_stick_batch(&access, &batch).await?,
    ))
}

/// New tokens for an incomplete batch, to write its files again after an
/// interruption. The old tokens stop working.
#[utoipa::path(post, path = "/tenants/{tenant}/stick-batches/{batch}/reissue", tag = "sticks",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("batch" = String, Path, description = "Batch id")),
    responses((status = 200, body = StickBatchIssued), (status = 409, body = Problem)))]
async fn reissue_batch(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    ApiPath((_tenant, batch)): ApiPath<(String, String)>,
) -> ApiResult<Json<StickBatchIssued>> {
    let batch = state.store.reissue_stick_batch(&access, &batch).await?;
    Ok(Json(issued(&state.settings, batch)))
}

/// Mark every prepared stick of a batch as shipped.
#[utoipa::path(post, path = "/tenants/{tenant}/stick-batches/{batch}/ship", tag = "sticks",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("batch" = String, Path, description = "Batch id")),
    responses((status = 200, body = StickBatch), (status = 409, body = Problem)))]
async fn ship_batch(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    ApiPath((_tenant, batch)): ApiPath<(String, String)>,
) -> ApiResult<Json<StickBatch>> {
    Ok(Json(state.store.ship_stick_batch(&access, &batch).await?))
}

/// Revoke every stick of a batch: enrolled ones leave all gateways, unused
/// tokens can never be used.
#[utoipa::path(post, path = "/tenants/{tenant}/stick-batches/{batch}/revoke", tag = "sticks",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("batch" = String, Path, description = "Batch id")),
    responses((status = 200, body = StickBatch), (status = 404, body = Problem)))]
async fn revoke_batch(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    ApiPath((_tenant, batch)): ApiPath<(String, String)>,
) -> ApiResult<Json<StickBatch>> {
    Ok(Json(state.store.revoke_stick_batch(&access, &batch).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StickFilter {
    /// Only the sticks of this batch.
    batch: Option<String>,
}

/// Sticks of a tenant, optionally of one batch.
#[utoipa::path(get, path = "/tenants/{tenant}/sticks", tag = "sticks",
    params(("tenant" = String, Path, description = "Tenant slug or id"), StickFilter),
    responses((status = 200, body = Vec<Stick>)))]
async fn list_sticks(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    Query(filter): Query<StickFilter>,
) -> ApiResult<Json<Vec<Stick>>> {
    Ok(Json(
        state
            .store
            .list_sticks(&access, filter.batch.as_deref())
            .await?,
    ))
}

/// One stick, by stick id (`ST-…`) or device id.
#[utoipa::path(get, path = "/tenants/{tenant}/sticks/{stick}", tag = "sticks",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("stick" = String, Path, description = "Stick id or device id")),
    responses((status = 200, body = Stick), (status = 404, body = Problem)))]
async fn get_stick(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    ApiPath((_tenant, stick)): ApiPath<(String, String)>,
) -> ApiResult<Json<Stick>> {
    Ok(Json(state.store.get_stick(&access, &stick).await?))
}

/// Ship or revoke one stick. Revoking a lost stick removes it from every
/// gateway within a second and burns its token.
#[utoipa::path(patch, path = "/tenants/{tenant}/sticks/{stick}", tag = "sticks",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("stick" = String, Path, description = "Stick id or device id")),
    request_body = UpdateStick,
    responses((status = 200, body = Stick), (status = 409, body = Problem)))]
async fn update_stick(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    ApiPath((_tenant, stick)): ApiPath<(String, String)>,
    ApiJson(request): ApiJson<UpdateStick>,
) -> ApiResult<Json<Stick>> {
    Ok(Json(
        state
            .store
            .update_stick(&access, &stick, request.state)
            .await?,
    ))
}
