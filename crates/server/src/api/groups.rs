//! Groups, applications and the access rules between them.

use api_types::problem::Problem;
use api_types::tenancy::{
    AccessRule, Application, CreateAccessRule, CreateApplication, CreateGroup, Group,
    UpdateApplication,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::created;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, TenantManage};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, delete_group))
        .routes(routes!(add_member, remove_member))
        .routes(routes!(list_applications, create_application))
        .routes(routes!(
            get_application,
            update_application,
            delete_application
        ))
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(delete_rule))
}

/// Groups of a tenant.
#[utoipa::path(get, path = "/tenants/{tenant}/groups", tag = "groups",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    responses((status = 200, body = Vec<Group>)))]
async fn list_groups(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
) -> ApiResult<Json<Vec<Group>>> {
    Ok(Json(state.store.list_groups(&access).await?))
}

/// Create a group.
#[utoipa::path(post, path = "/tenants/{tenant}/groups", tag = "groups",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    request_body = CreateGroup,
    responses((status = 201, body = Group), (status = 409, body = Problem)))]
async fn create_group(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiJson(request): ApiJson<CreateGroup>,
) -> ApiResult<(StatusCode, Json<Group>)> {
    Ok(created(state.store.create_group(&access, request).await?))
}

/// One group with its members.
#[utoipa::path(get, path = "/tenants/{tenant}/groups/{group}", tag = "groups",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("group" = String, Path, description = "Group name or id")),
    responses((status = 200, body = Group), (status = 404, body = Problem)))]
async fn get_group(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, group)): ApiPath<(String, String)>,
) -> ApiResult<Json<Group>> {
    Ok(Json(state.store.get_group(&access, &group).await?))
}

/// Delete a group (and its access rules).
#[utoipa::path(delete, path = "/tenants/{tenant}/groups/{group}", tag = "groups",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("group" = String, Path, description = "Group name or id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_group(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, group)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.store.delete_group(&access, &group).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a user to a group (idempotent).
#[utoipa::path(put, path = "/tenants/{tenant}/groups/{group}/members/{user}", tag = "groups",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("group" = String, Path, description = "Group name or id"),
           ("user" = String, Path, description = "Username or id")),
    responses((status = 200, body = Group), (status = 404, body = Problem)))]
async fn add_member(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, group, user)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<Group>> {
    Ok(Json(
        state
            .store
            .set_group_member(&access, &group, &user, true)
            .await?,
    ))
}

/// Remove a user from a group (idempotent).
#[utoipa::path(delete, path = "/tenants/{tenant}/groups/{group}/members/{user}", tag = "groups",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("group" = String, Path, description = "Group name or id"),
           ("user" = String, Path, description = "Username or id")),
    responses((status = 200, body = Group), (status = 404, body = Problem)))]
async fn remove_member(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, group, user)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<Group>> {
    Ok(Json(
        state
            .store
            .set_group_member(&access, &group, &user, false)
            .await?,
    ))
}

/// Applications of a tenant.
#[utoipa::path(get, path = "/tenants/{tenant}/applications", tag = "applications",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    responses((status = 200, body = Vec<Application>)))]
async fn list_applications(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
) -> ApiResult<Json<Vec<Application>>> {
    Ok(Json(
        crate::proxy::applications_with_web_urls(&state, &access).await?,
    ))
}

/// Create an application (a network, protocol and ports behind the gateways;
/// with `web_upstream`, also published in browsers through the access proxy).
#[utoipa::path(post, path = "/tenants/{tenant}/applications", tag = "applications",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    request_body = CreateApplication,
    responses((status = 201, body = Application), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_application(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiJson(request): ApiJson<CreateApplication>,
) -> ApiResult<(StatusCode, Json<Application>)> {
    Ok(created(crate::proxy::with_web_url(
        &state,
        state.store.create_application(&access, request).await?,
    )))
}

/// One application.
#[utoipa::path(get, path = "/tenants/{tenant}/applications/{application}", tag = "applications",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("application" = String, Path, description = "Application name or id")),
    responses((status = 200, body = Application), (status = 404, body = Problem)))]
async fn get_application(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, application)): ApiPath<(String, String)>,
) -> ApiResult<Json<Application>> {
    Ok(Json(crate::proxy::with_web_url(
        &state,
        state.store.get_application(&access, &application).await?,
    )))
}

/// Change an application.
#[utoipa::path(patch, path = "/tenants/{tenant}/applications/{application}", tag = "applications",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("application" = String, Path, description = "Application name or id")),
    request_body = UpdateApplication,
    responses((status = 200, body = Application), (status = 422, body = Problem)))]
async fn update_application(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, application)): ApiPath<(String, String)>,
    ApiJson(request): ApiJson<UpdateApplication>,
) -> ApiResult<Json<Application>> {
    Ok(Json(crate::proxy::with_web_url(
        &state,
        state
            .store
            .update_application(&access, &application, request)
            .await?,
    )))
}

/// Delete an application (and its access rules).
#[utoipa::path(delete, path = "/tenants/{tenant}/applications/{application}", tag = "applications",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("application" = String, Path, description = "Application name or id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_application(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, application)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .store
        .delete_application(&access, &application)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Access rules of a tenant: which group may reach which application.
#[utoipa::path(get, path = "/tenants/{tenant}/access-rules", tag = "applications",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    responses((status = 200, body = Vec<AccessRule>)))]
async fn list_rules(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
) -> ApiResult<Json<Vec<AccessRule>>> {
    Ok(Json(state.store.list_access_rules(&access).await?))
}

/// Allow a group to reach an application.
#[utoipa::path(post, path = "/tenants/{tenant}/access-rules", tag = "applications",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    request_body = CreateAccessRule,
    responses((status = 201, body = AccessRule), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn create_rule(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiJson(request): ApiJson<CreateAccessRule>,
) -> ApiResult<(StatusCode, Json<AccessRule>)> {
    Ok(created(
        state.store.create_access_rule(&access, request).await?,
    ))
}

/// Delete an access rule.
#[utoipa::path(delete, path = "/tenants/{tenant}/access-rules/{id}", tag = "applications",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("id" = String, Path, description = "Rule id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_rule(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.store.delete_access_rule(&access, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
