//! Regions and gateways (provider staff).

use api_types::infra::{CreateGateway, CreateRegion, Gateway, GatewayCreated, Region};
use api_types::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::created;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ProviderStaff};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_regions, create_region))
        .routes(routes!(get_region, delete_region))
        .routes(routes!(list_gateways, create_gateway))
        .routes(routes!(get_gateway, delete_gateway))
        .routes(routes!(drain_gateway))
        .routes(routes!(resume_gateway))
        .routes(routes!(reissue_gateway_token))
}

/// Regions.
#[utoipa::path(get, path = "/regions", tag = "infrastructure",
    responses((status = 200, body = Vec<Region>), (status = 403, body = Problem)))]
async fn list_regions(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
) -> ApiResult<Json<Vec<Region>>> {
    Ok(Json(state.store.list_regions(&access).await?))
}

/// Create a region.
#[utoipa::path(post, path = "/regions", tag = "infrastructure",
    request_body = CreateRegion,
    responses((status = 201, body = Region), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_region(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiJson(request): ApiJson<CreateRegion>,
) -> ApiResult<(StatusCode, Json<Region>)> {
    Ok(created(state.store.create_region(&access, request).await?))
}

/// One region.
#[utoipa::path(get, path = "/regions/{region}", tag = "infrastructure",
    params(("region" = String, Path, description = "Region name or id")),
    responses((status = 200, body = Region), (status = 404, body = Problem)))]
async fn get_region(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiPath(region): ApiPath<String>,
) -> ApiResult<Json<Region>> {
    Ok(Json(state.store.get_region(&access, &region).await?))
}

/// Delete an empty region.
#[utoipa::path(delete, path = "/regions/{region}", tag = "infrastructure",
    params(("region" = String, Path, description = "Region name or id")),
    responses((status = 204), (status = 409, body = Problem)))]
async fn delete_region(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiPath(region): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.store.delete_region(&access, &region).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gateways.
#[utoipa::path(get, path = "/gateways", tag = "infrastructure",
    responses((status = 200, body = Vec<Gateway>), (status = 403, body = Problem)))]
async fn list_gateways(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
) -> ApiResult<Json<Vec<Gateway>>> {
    Ok(Json(state.store.list_gateways(&access).await?))
}

/// Add a gateway; returns its token once.
#[utoipa::path(post, path = "/gateways", tag = "infrastructure",
    request_body = CreateGateway,
    responses((status = 201, body = GatewayCreated), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_gateway(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiJson(request): ApiJson<CreateGateway>,
) -> ApiResult<(StatusCode, Json<GatewayCreated>)> {
    Ok(created(state.store.create_gateway(&access, request).await?))
}

/// One gateway.
#[utoipa::path(get, path = "/gateways/{gateway}", tag = "infrastructure",
    params(("gateway" = String, Path, description = "Gateway name or id")),
    responses((status = 200, body = Gateway), (status = 404, body = Problem)))]
async fn get_gateway(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiPath(gateway): ApiPath<String>,
) -> ApiResult<Json<Gateway>> {
    Ok(Json(state.store.get_gateway(&access, &gateway).await?))
}

/// Delete a gateway; its token stops working.
#[utoipa::path(delete, path = "/gateways/{gateway}", tag = "infrastructure",
    params(("gateway" = String, Path, description = "Gateway name or id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_gateway(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiPath(gateway): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.store.delete_gateway(&access, &gateway).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Drain a gateway: no devices are assigned to it any more, and devices with
/// the homegate client on it move to the other gateways of its region
/// (within about 10 s), keeping their seats. Watch `sessions` fall to 0,
/// then stop it.
#[utoipa::path(post, path = "/gateways/{gateway}/drain", tag = "infrastructure",
    params(("gateway" = String, Path, description = "Gateway name or id")),
    responses((status = 200, body = Gateway), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "No other healthy gateway in its region")))]
async fn drain_gateway(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiPath(gateway): ApiPath<String>,
) -> ApiResult<Json<Gateway>> {
    Ok(Json(
        state
            .store
            .set_gateway_drained(&access, &gateway, true)
            .await?,
    ))
}

/// Take a drained gateway back into service.
#[utoipa::path(post, path = "/gateways/{gateway}/resume", tag = "infrastructure",
    params(("gateway" = String, Path, description = "Gateway name or id")),
    responses((status = 200, body = Gateway), (status = 404, body = Problem)))]
async fn resume_gateway(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiPath(gateway): ApiPath<String>,
) -> ApiResult<Json<Gateway>> {
    Ok(Json(
        state
            .store
            .set_gateway_drained(&access, &gateway, false)
            .await?,
    ))
}

/// Give a gateway a new token, for example when the old one was lost or
/// leaked; returns it once. The old token stops working at once, and a
/// gateway still connected with it is disconnected within seconds.
#[utoipa::path(post, path = "/gateways/{gateway}/token", tag = "infrastructure",
    params(("gateway" = String, Path, description = "Gateway name or id")),
    responses((status = 200, body = GatewayCreated), (status = 404, body = Problem)))]
async fn reissue_gateway_token(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiPath(gateway): ApiPath<String>,
) -> ApiResult<Json<GatewayCreated>> {
    Ok(Json(
        state.store.reissue_gateway_token(&access, &gateway).await?,
    ))
}
