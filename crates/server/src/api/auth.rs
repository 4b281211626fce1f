use api_types::auth::{ChangePassword, LoginRequest, LoginResponse, Me, TokenScope};
use api_types::problem::Problem;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use std::net::SocketAddr;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, AuthenticatedWithOneTimePassword as Authenticated, BearerSecret};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
}

/// Log in with username and password; returns a bearer token (12 h).
#[utoipa::path(post, path = "/auth/login", tag = "auth", security(),
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    state.login_limiter.check(&request.username, peer.ip())?;
    let result = state
        .store
        .login(
            &request.username,
            &request.password,
            request.token_name.as_deref(),
            Some(peer.ip().to_string()),
        )
        .await;
    match result {
        Ok(response) => {
            state.login_limiter.succeeded(&request.username, peer.ip());
            Ok(Json(response))
        }
        Err(error) => {
            state.login_limiter.failed(&request.username, peer.ip());
            Err(error.into())
        }
    }
}

/// Revoke the token of this request.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    BearerSecret(secret): BearerSecret,
) -> ApiResult<StatusCode> {
    state.store.revoke_secret(&actor, &secret).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who am I?
#[utoipa::path(get, path = "/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
async fn me(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> ApiResult<Json<Me>> {
    let user = state.store.me(&actor).await?;
    let token_scope = match &actor.token_tenant_id {
        Some(tenant_id) => {
            let access = state
                .store
                .tenant_access(&actor, tenant_id, store::TenantNeed::View)
                .await?;
            TokenScope::Tenant {
                tenant: access.tenant_slug().to_owned(),
            }
        }
        None => TokenScope::Full,
    };
    Ok(Json(Me { user, token_scope }))
}

/// Change the own password.
#[utoipa::path(post, path = "/me/password", tag = "auth",
    request_body = ChangePassword,
    responses((status = 204), (status = 422, body = Problem)))]
async fn change_password(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiJson(request): ApiJson<ChangePassword>,
) -> ApiResult<StatusCode> {
    state
        .store
        .change_password(&actor, &request.current_password, &request.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
