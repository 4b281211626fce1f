//! Invitations to the first login, and onboarding progress.

use std::net::SocketAddr;

use api_types::auth::LoginResponse;
use api_types::invitations::{
    AcceptInvitation, Invitation, InvitationsCreated, Invite, Onboarding, OnboardingCounts,
};
use api_types::problem::Problem;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use store::mfa::TokenKind;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::created;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ProviderStaff, TenantManage};
use crate::invitation_delivery::link_base;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invite))
        .routes(routes!(user_invitations, revoke_invitations))
        .routes(routes!(accept))
        .routes(routes!(onboarding))
        .routes(routes!(onboarding_overview))
}

/// Invite users to their first login: named users, a group's members,
/// or everyone who has not logged in yet. Each gets a one-time link —
/// by e-mail in their language (queued; see the user's invitations for
/// delivery) or, with `delivery: letter`, returned here once for printing.
/// An open invitation of the same user is replaced (resend). All or none
/// are created. Audited as `user.invitation.create` (or `.remind`).
#[utoipa::path(post, path = "/tenants/{tenant}/invitations", tag = "users",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    request_body = Invite,
    responses((status = 201, body = InvitationsCreated), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn invite(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath(_tenant): ApiPath<String>,
    ApiJson(request): ApiJson<Invite>,
) -> ApiResult<(StatusCode, Json<InvitationsCreated>)> {
    let invited = state
        .store
        .invite(
            &access,
            request,
            state.mailer.is_some(),
            &link_base(&state.settings.public_url),
        )
        .await?;
    Ok(created(invited))
}

/// A user's invitations, newest first, with their delivery state.
#[utoipa::path(get, path = "/tenants/{tenant}/users/{user}/invitations", tag = "users",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("user" = String, Path, description = "Username or id")),
    responses((status = 200, body = Vec<Invitation>), (status = 404, body = Problem)))]
async fn user_invitations(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, user)): ApiPath<(String, String)>,
) -> ApiResult<Json<Vec<Invitation>>> {
    Ok(Json(state.store.user_invitations(&access, &user).await?))
}

/// Withdraw a user's open invitations: their links stop working.
/// Audited as `user.invitation.revoke`.
#[utoipa::path(delete, path = "/tenants/{tenant}/users/{user}/invitations", tag = "users",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("user" = String, Path, description = "Username or id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn revoke_invitations(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, user)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.store.revoke_invitations(&access, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Use an invitation link: choose a password (at least 12 characters).
/// The link is burnt and a login token returned. A link that is unknown,
/// used, withdrawn or expired is 404. Limited per source address.
#[utoipa::path(post, path = "/invitations/accept", tag = "auth", security(),
    request_body = AcceptInvitation,
    responses((status = 200, body = LoginResponse),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
async fn accept(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<AcceptInvitation>,
) -> ApiResult<Json<LoginResponse>> {
    let user_id = accept_link(&state, peer, &request).await?;
    Ok(Json(
        state
            .store
            .issue_login(
                &user_id,
                Some("invitation"),
                TokenKind::Api,
                false,
                Some(peer.ip().to_string()),
            )
            .await?,
    ))
}

/// Accepts an invitation within the per-address limit (API and console).
pub(crate) async fn accept_link(
    state: &AppState,
    peer: SocketAddr,
    request: &AcceptInvitation,
) -> ApiResult<String> {
    state.invitation_limiter.check(peer.ip())?;
    Ok(state
        .store
        .accept_invitation(&request.token, &request.password)
        .await?)
}

/// A municipality's onboarding: how many employees reached each step
/// (invited, logged in, second factor, device, working from home) and who
/// is not working from home yet, with their newest invitation.
#[utoipa::path(get, path = "/tenants/{tenant}/onboarding", tag = "users",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    responses((status = 200, body = Onboarding), (status = 404, body = Problem)))]
async fn onboarding(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath(_tenant): ApiPath<String>,
) -> ApiResult<Json<Onboarding>> {
    Ok(Json(state.store.onboarding(&access).await?))
}

/// Every municipality's onboarding counts side by side (provider staff).
#[utoipa::path(get, path = "/onboarding", tag = "users",
    responses((status = 200, body = Vec<OnboardingCounts>), (status = 403, body = Problem)))]
async fn onboarding_overview(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
) -> ApiResult<Json<Vec<OnboardingCounts>>> {
    Ok(Json(state.store.onboarding_overview(&access).await?))
}
