use api_types::auth::{ApiToken, CreateToken, TokenCreated};
use api_types::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::created;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{AccountOwner, ApiJson, ApiPath};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// API tokens of the caller (provider admins: all tokens).
#[utoipa::path(get, path = "/tokens", tag = "auth",
    responses((status = 200, body = Vec<ApiToken>),
        (status = 403, body = Problem)))]
async fn list_tokens(
    State(state): State<AppState>,
    AccountOwner(actor): AccountOwner,
) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(state.store.list_tokens(&actor).await?))
}

/// Create an API token for the caller, optionally restricted to one tenant.
#[utoipa::path(post, path = "/tokens", tag = "auth",
    request_body = CreateToken,
    responses((status = 201, body = TokenCreated), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn create_token(
    State(state): State<AppState>,
    AccountOwner(actor): AccountOwner,
    ApiJson(request): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<TokenCreated>)> {
    Ok(created(state.store.create_token(&actor, request).await?))
}

/// Revoke a token.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "auth",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_token(
    State(state): State<AppState>,
    AccountOwner(actor): AccountOwner,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.store.revoke_token(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
