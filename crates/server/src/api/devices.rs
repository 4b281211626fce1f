use api_types::problem::Problem;
use api_types::tenancy::{CreateDevice, Device};
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::created;
use super::paging::{self, ListQuery};
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, TenantManage, TenantOperate};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_devices, create_device))
        .routes(routes!(get_device))
        .routes(routes!(revoke_device))
}

/// Devices of a tenant in the order they were registered, a page at a time:
/// follow the `Link` header's `rel="next"` URL for the next page. `q`
/// searches name, owner and tunnel address.
#[utoipa::path(get, path = "/tenants/{tenant}/devices", tag = "devices",
    params(("tenant" = String, Path, description = "Tenant slug or id"), ListQuery),
    responses(
        (status = 200, body = Vec<Device>, headers(("Link" = String, description = "`<url>; rel=\"next\"`: the next page (absent on the last)"))),
        (status = 400, body = Problem)))]
async fn list_devices(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    OriginalUri(uri): OriginalUri,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<(HeaderMap, Json<Vec<Device>>)> {
    let request = query.request()?;
    let page = state.store.page_devices(&access, &request).await?;
    let (headers, devices) = paging::respond(uri.path(), &request, page);
    Ok((headers, Json(devices)))
}

/// Register a device by its public key; it gets the next free tunnel address.
#[utoipa::path(post, path = "/tenants/{tenant}/devices", tag = "devices",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    request_body = CreateDevice,
    responses(
        (status = 201, body = Device),
        (status = 409, body = Problem, description = "max_devices reached, pool full or key taken"),
        (status = 422, body = Problem),
    ))]
async fn create_device(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiJson(request): ApiJson<CreateDevice>,
) -> ApiResult<(StatusCode, Json<Device>)> {
    Ok(created(state.store.create_device(&access, request).await?))
}

/// One device.
#[utoipa::path(get, path = "/tenants/{tenant}/devices/{device}", tag = "devices",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("device" = String, Path, description = "Device id")),
    responses((status = 200, body = Device), (status = 404, body = Problem)))]
async fn get_device(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    ApiPath((_tenant, device)): ApiPath<(String, String)>,
) -> ApiResult<Json<Device>> {
    Ok(Json(state.store.get_device(&access, &device).await?))
}

/// Revoke a device for good.
#[utoipa::path(post, path = "/tenants/{tenant}/devices/{device}/revoke", tag = "devices",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("device" = String, Path, description = "Device id")),
    responses((status = 200, body = Device), (status = 404, body = Problem)))]
async fn revoke_device(
    State(state): State<AppState>,
    TenantOperate(_actor, access): TenantOperate,
    ApiPath((_tenant, device)): ApiPath<(String, String)>,
) -> ApiResult<Json<Device>> {
    Ok(Json(state.store.revoke_device(&access, &device).await?))
}
