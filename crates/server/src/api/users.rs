use api_types::problem::Problem;
use api_types::tenancy::{CreateUser, PasswordReset, ResetPassword, UpdateUser, User, UserCreated};
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::created;
use super::paging::{self, ListQuery};
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, ProviderAdmin, TenantManage};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_provider_users, create_provider_user))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(reset_password))
}

/// Reset a user's password (they forgot it): a new one-time password,
/// returned once, to be replaced at the next login; with `second_factor`
/// also their authenticator app, security keys and recovery codes. Their
/// logins end; API tokens stay. Audited as `user.password.reset`.
#[utoipa::path(post, path = "/tenants/{tenant}/users/{user}/reset-password", tag = "users",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("user" = String, Path, description = "Username or id")),
    request_body = ResetPassword,
    responses((status = 200, body = PasswordReset), (status = 404, body = Problem)))]
async fn reset_password(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, user)): ApiPath<(String, String)>,
    ApiJson(request): ApiJson<ResetPassword>,
) -> ApiResult<Json<PasswordReset>> {
    Ok(Json(
        state
            .store
            .reset_user_password(&access, &user, request)
            .await?,
    ))
}

/// Provider staff accounts (provider admins).
#[utoipa::path(get, path = "/users", tag = "users",
    responses((status = 200, body = Vec<User>), (status = 403, body = Problem)))]
async fn list_provider_users(
    State(state): State<AppState>,
    ProviderAdmin(_actor, access): ProviderAdmin,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(state.store.list_provider_users(&access).await?))
}

/// Create a provider admin or operator (provider admins).
#[utoipa::path(post, path = "/users", tag = "users",
    request_body = CreateUser,
    responses((status = 201, body = UserCreated), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_provider_user(
    State(state): State<AppState>,
    ProviderAdmin(_actor, access): ProviderAdmin,
    ApiJson(request): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<UserCreated>)> {
    Ok(created(
        state.store.create_provider_user(&access, request).await?,
    ))
}

/// Users of a tenant by username, a page at a time: follow the `Link`
/// header's `rel="next"` URL for the next page.
#[utoipa::path(get, path = "/tenants/{tenant}/users", tag = "users",
    params(("tenant" = String, Path, description = "Tenant slug or id"), ListQuery),
    responses(
        (status = 200, body = Vec<User>, headers(("Link" = String, description = "`<url>; rel=\"next\"`: the next page (absent on the last)"))),
        (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn list_users(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    OriginalUri(uri): OriginalUri,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<(HeaderMap, Json<Vec<User>>)> {
    let request = query.request()?;
    let page = state.store.page_tenant_users(&access, &request).await?;
    let (headers, users) = paging::respond(uri.path(), &request, page);
    Ok((headers, Json(users)))
}

/// Create a tenant admin or employee. Without `password`, a random initial
/// password is generated and returned once.
#[utoipa::path(post, path = "/tenants/{tenant}/users", tag = "users",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    request_body = CreateUser,
    responses((status = 201, body = UserCreated), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_user(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiJson(request): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<UserCreated>)> {
    Ok(created(
        state.store.create_tenant_user(&access, request).await?,
    ))
}

/// One user of a tenant, by id or username.
#[utoipa::path(get, path = "/tenants/{tenant}/users/{user}", tag = "users",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("user" = String, Path, description = "Username or id")),
    responses((status = 200, body = User), (status = 404, body = Problem)))]
async fn get_user(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, user)): ApiPath<(String, String)>,
) -> ApiResult<Json<User>> {
    Ok(Json(state.store.get_tenant_user(&access, &user).await?))
}

/// Change a user; `disabled: true` also revokes their tokens.
#[utoipa::path(patch, path = "/tenants/{tenant}/users/{user}", tag = "users",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("user" = String, Path, description = "Username or id")),
    request_body = UpdateUser,
    responses((status = 200, body = User), (status = 422, body = Problem)))]
async fn update_user(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, user)): ApiPath<(String, String)>,
    ApiJson(request): ApiJson<UpdateUser>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        state
            .store
            .update_tenant_user(&access, &user, request)
            .await?,
    ))
}

/// Delete a user.
#[utoipa::path(delete, path = "/tenants/{tenant}/users/{user}", tag = "users",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("user" = String, Path, description = "Username or id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_user(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, user)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.store.delete_tenant_user(&access, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}
