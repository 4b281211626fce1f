//! A tenant's identity provider (tenant admins).

use api_types::auth::{IdentityProvider, SetIdentityProvider};
use api_types::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, TenantManage};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_idp, set_idp, delete_idp))
}

/// The tenant's OpenID Connect provider (never its client secret).
#[utoipa::path(get, path = "/tenants/{tenant}/identity-provider", tag = "tenants",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    responses((status = 200, body = Option<IdentityProvider>)))]
async fn get_idp(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
) -> ApiResult<Json<Option<IdentityProvider>>> {
    Ok(Json(
        state
            .store
            .get_identity_provider(&access, &crate::oidc::redirect_uri(&state))
            .await?,
    ))
}

/// Set the tenant's OpenID Connect provider; employees then log in at
/// `/auth/oidc/{tenant}/start`. Register `redirect_uri` at the provider.
#[utoipa::path(put, path = "/tenants/{tenant}/identity-provider", tag = "tenants",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    request_body = SetIdentityProvider,
    responses((status = 200, body = IdentityProvider), (status = 422, body = Problem)))]
async fn set_idp(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiJson(request): ApiJson<SetIdentityProvider>,
) -> ApiResult<Json<IdentityProvider>> {
    Ok(Json(
        state
            .store
            .set_identity_provider(&access, request, &crate::oidc::redirect_uri(&state))
            .await?,
    ))
}

/// Remove the tenant's identity provider.
#[utoipa::path(delete, path = "/tenants/{tenant}/identity-provider", tag = "tenants",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    responses((status = 204)))]
async fn delete_idp(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
) -> ApiResult<StatusCode> {
    state.store.delete_identity_provider(&access).await?;
    Ok(StatusCode::NO_CONTENT)
}
