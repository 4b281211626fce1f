use api_types::problem::Problem;
use api_types::tenancy::{CreateTenant, SetPolicy, SetQuota, Tenant, UpdateTenant};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::created;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{
    ApiJson, ApiPath, Authenticated, ProviderAdmin, TenantManage, TenantQuota, TenantView,
};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tenants, create_tenant))
        .routes(routes!(get_tenant, update_tenant, delete_tenant))
        .routes(routes!(set_quota))
        .routes(routes!(set_policy))
}

/// Tenants the caller can see.
#[utoipa::path(get, path = "/tenants", tag = "tenants",
    responses((status = 200, body = Vec<Tenant>)))]
async fn list_tenants(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> ApiResult<Json<Vec<Tenant>>> {
    Ok(Json(state.store.list_tenants(&actor).await?))
}

/// Create a tenant (provider admins).
#[utoipa::path(post, path = "/tenants", tag = "tenants",
    request_body = CreateTenant,
    responses(
        (status = 201, body = Tenant),
        (status = 409, body = Problem, description = "Slug taken or address pool overlaps"),
        (status = 422, body = Problem),
    ))]
async fn create_tenant(
    State(state): State<AppState>,
    ProviderAdmin(_actor, access): ProviderAdmin,
    ApiJson(request): ApiJson<CreateTenant>,
) -> ApiResult<(StatusCode, Json<Tenant>)> {
    Ok(created(state.store.create_tenant(&access, request).await?))
}

/// One tenant, by id or slug.
#[utoipa::path(get, path = "/tenants/{tenant}", tag = "tenants",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    responses((status = 200, body = Tenant), (status = 404, body = Problem)))]
async fn get_tenant(
    State(state): State<AppState>,
    TenantView(_actor, access): TenantView,
) -> ApiResult<Json<Tenant>> {
    Ok(Json(state.store.get_tenant(&access).await?))
}

/// Rename or change the default language (provider admins, the tenant's
/// admins), or move to a region (provider staff). Each field is checked
/// against its own right.
#[utoipa::path(patch, path = "/tenants/{tenant}", tag = "tenants",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    request_body = UpdateTenant,
    responses((status = 200, body = Tenant), (status = 403, body = Problem)))]
async fn update_tenant(
    State(state): State<AppState>,
    TenantView(actor, access): TenantView,
    ApiJson(request): ApiJson<UpdateTenant>,
) -> ApiResult<Json<Tenant>> {
    Ok(Json(
        state.store.update_tenant(&actor, &access, request).await?,
    ))
}

/// Delete a tenant and everything it owns (provider admins).
#[utoipa::path(delete, path = "/tenants/{tenant}", tag = "tenants",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_tenant(
    State(state): State<AppState>,
    ProviderAdmin(_actor, access): ProviderAdmin,
    ApiPath(tenant): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.store.delete_tenant(&access, &tenant).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set `max_sessions` / `max_devices` (provider staff). `null` = unlimited.
#[utoipa::path(patch, path = "/tenants/{tenant}/quota", tag = "tenants",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    request_body = SetQuota,
    responses((status = 200, body = Tenant), (status = 403, body = Problem)))]
async fn set_quota(
    State(state): State<AppState>,
    TenantQuota(_actor, access): TenantQuota,
    ApiJson(request): ApiJson<SetQuota>,
) -> ApiResult<Json<Tenant>> {
    let end_newest = request.end_newest_sessions;
    let tenant = state.store.set_quota(&access, request).await?;
    if end_newest {
        for device in state.store.sessions_over_quota(&access).await? {
            super::sessions::end_device_session(
                &state,
                &access,
                &device,
                "the quota was lowered and this was one of the newest sessions",
            )
            .await?;
        }
    }
    Ok(Json(tenant))
}

/// Set priority seats, session idle timeout and MFA-before-VPN (tenant admins).
#[utoipa::path(patch, path = "/tenants/{tenant}/policy", tag = "tenants",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    request_body = SetPolicy,
    responses((status = 200, body = Tenant), (status = 422, body = Problem)))]
async fn set_policy(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiJson(request): ApiJson<SetPolicy>,
) -> ApiResult<Json<Tenant>> {
    Ok(Json(state.store.set_policy(&access, request).await?))
}
