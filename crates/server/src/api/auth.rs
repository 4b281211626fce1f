//! Login (password, then TOTP, WebAuthn or a recovery code), and the
//! caller's own password and second factors.

use std::net::SocketAddr;

use api_types::auth::{
    ChangePassword, FreshSecondFactor, LoginRequest, LoginResponse, Me, MfaChallenge, MfaCode,
    MfaStatus, MfaTicket, RecoveryCodes, TokenScope, TotpCode, TotpSetup, WebauthnChallenge,
    WebauthnFinish,
};
use api_types::problem::Problem;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use serde_json::json;
use store::StoreError;
use store::mfa::TokenKind;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Uuid, Webauthn,
};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    AccountOwner, AccountOwnerWithOneTimePassword, ApiJson, ApiPath,
    AuthenticatedWithOneTimePassword as Authenticated, BearerSecret,
};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(login_totp))
        .routes(routes!(login_recovery))
        .routes(routes!(login_webauthn_start))
        .routes(routes!(login_webauthn_finish))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(mfa_status))
        .routes(routes!(totp_start))
        .routes(routes!(totp_confirm))
        .routes(routes!(totp_disable))
        .routes(routes!(recovery_codes))
        .routes(routes!(webauthn_register_start))
        .routes(routes!(webauthn_register_finish))
        .routes(routes!(webauthn_delete))
}

const MFA: &str = "mfa";
const WEBAUTHN_LOGIN: &str = "webauthn_login";
const WEBAUTHN_REGISTER: &str = "webauthn_register";

/// Password step of a login. Users with a second factor get a ticket for
/// the second step instead of a token.
pub(crate) async fn password_step(
    state: &AppState,
    username: &str,
    password: &str,
    token_name: Option<&str>,
    kind: TokenKind,
    peer: SocketAddr,
) -> ApiResult<LoginResponse> {
    state.login_limiter.check(username, peer.ip())?;
    let checked = match state.store.check_password(username, password).await {
        Ok(checked) => checked,
        Err(error) => {
            state.login_limiter.failed(username, peer.ip());
            return Err(error.into());
        }
    };
    let methods = checked.methods();
    if methods.is_empty() {
        state.login_limiter.succeeded(username, peer.ip());
        return Ok(state
            .store
            .issue_login(
                &checked.user_id,
                token_name,
                kind,
                false,
                Some(peer.ip().to_string()),
            )
            .await?);
    }
    let ticket = state
        .store
        .create_challenge(
            MFA,
            Some(&checked.user_id),
            None,
            &json!({ "token_name": token_name, "console": kind == TokenKind::Console }),
        )
        .await?;
    Ok(LoginResponse {
        token: None,
        expires_at: None,
        user: state.store.user_by_id(&checked.user_id).await?,
        password_change_required: false,
        mfa: Some(MfaChallenge { ticket, methods }),
    })
}

/// Finishes a login after a verified second factor.
async fn complete_mfa(
    state: &AppState,
    ticket: &str,
    peer: SocketAddr,
) -> ApiResult<LoginResponse> {
    let (user_id, _, challenge) = state.store.take_challenge(ticket, MFA).await?;
    let user_id = user_id.ok_or_else(|| ApiError::BadRequest("broken login ticket".into()))?;
    let user = state.store.user_by_id(&user_id).await?;
    state.login_limiter.succeeded(&user.username, peer.ip());
    let kind = if challenge["console"].as_bool() == Some(true) {
        TokenKind::Console
    } else {
        TokenKind::Api
    };
    Ok(state
        .store
        .issue_login(
            &user_id,
            challenge["token_name"].as_str(),
            kind,
            true,
            Some(peer.ip().to_string()),
        )
        .await?)
}

/// The user a login ticket belongs to, counting a failed code against them.
pub(crate) async fn second_factor(
    state: &AppState,
    ticket: &str,
    code: &str,
    method: &str,
    peer: SocketAddr,
) -> ApiResult<LoginResponse> {
    let (user_id, _, _) = state.store.peek_challenge(ticket, MFA).await?;
    let user_id = user_id.ok_or_else(|| ApiError::BadRequest("broken login ticket".into()))?;
    let user = state.store.user_by_id(&user_id).await?;
    state.login_limiter.check(&user.username, peer.ip())?;
    let valid = match method {
        "totp" => state.store.verify_totp(&user_id, code, true).await?,
        _ => state.store.use_recovery_code(&user_id, code).await?,
    };
    if !valid {
        state.login_limiter.failed(&user.username, peer.ip());
        return Err(StoreError::Unauthenticated(match method {
            "totp" => "wrong or already used code from the authenticator app".to_owned(),
            _ => "unknown or already used recovery code".to_owned(),
        })
        .into());
    }
    complete_mfa(state, ticket, peer).await
}

/// Log in with username and password; returns a bearer token (12 h), or a
/// ticket for the second factor.
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
    Ok(Json(
        password_step(
            &state,
            &request.username,
            &request.password,
            request.token_name.as_deref(),
            TokenKind::Api,
            peer,
        )
        .await?,
    ))
}

/// Second step: the current code of the authenticator app.
#[utoipa::path(post, path = "/auth/login/totp", tag = "auth", security(),
    request_body = MfaCode,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem)))]
async fn login_totp(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<MfaCode>,
) -> ApiResult<Json<LoginResponse>> {
    Ok(Json(
        second_factor(&state, &request.ticket, &request.code, "totp", peer).await?,
    ))
}

/// Second step: one of the recovery codes (each works once).
#[utoipa::path(post, path = "/auth/login/recovery", tag = "auth", security(),
    request_body = MfaCode,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem)))]
async fn login_recovery(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<MfaCode>,
) -> ApiResult<Json<LoginResponse>> {
    Ok(Json(
        second_factor(&state, &request.ticket, &request.code, "recovery", peer).await?,
    ))
}

fn relying_party(state: &AppState) -> ApiResult<&Webauthn> {
    state.webauthn.as_deref().ok_or_else(|| {
        StoreError::Conflict(
            "security keys need the control plane to be reached by a DNS name; set --public-url"
                .to_owned(),
        )
        .into()
    })
}

fn passkeys(stored: &[(String, String)]) -> Vec<(String, Passkey)> {
    stored
        .iter()
        .filter_map(|(id, json)| Some((id.clone(), serde_json::from_str(json).ok()?)))
        .collect()
}

/// Starts a WebAuthn login ceremony for a login ticket.
pub(crate) async fn webauthn_login_start(
    state: &AppState,
    ticket: &str,
) -> ApiResult<WebauthnChallenge> {
    let webauthn = relying_party(state)?;
    let (user_id, _, _) = state.store.peek_challenge(ticket, MFA).await?;
    let user_id = user_id.ok_or_else(|| ApiError::BadRequest("broken login ticket".into()))?;
    let keys: Vec<Passkey> = passkeys(&state.store.webauthn_passkeys(&user_id).await?)
        .into_iter()
        .map(|(_, key)| key)
        .collect();
    if keys.is_empty() {
        return Err(StoreError::Conflict("this account has no security key".into()).into());
    }
    let (options, ceremony) = webauthn
        .start_passkey_authentication(&keys)
        .map_err(|e| ApiError::BadRequest(format!("cannot start WebAuthn: {e}")))?;
    let ceremony_ticket = state
        .store
        .create_challenge(
            WEBAUTHN_LOGIN,
            Some(&user_id),
            None,
            &json!({ "mfa_ticket": ticket, "ceremony": ceremony }),
        )
        .await?;
    Ok(WebauthnChallenge {
        ticket: ceremony_ticket,
        options: serde_json::to_value(options).unwrap_or_default(),
    })
}

/// Finishes a WebAuthn login ceremony and the login it belongs to.
pub(crate) async fn webauthn_login_finish(
    state: &AppState,
    ticket: &str,
    credential: serde_json::Value,
    peer: SocketAddr,
) -> ApiResult<LoginResponse> {
    let webauthn = relying_party(state)?;
    let (user_id, _, stored) = state.store.take_challenge(ticket, WEBAUTHN_LOGIN).await?;
    let user_id = user_id.ok_or_else(|| ApiError::BadRequest("broken login ticket".into()))?;
    let ceremony: PasskeyAuthentication = serde_json::from_value(stored["ceremony"].clone())
        .map_err(|_| ApiError::BadRequest("broken WebAuthn state".into()))?;
    let credential: PublicKeyCredential = serde_json::from_value(credential)
        .map_err(|e| ApiError::Unprocessable(format!("not a WebAuthn credential: {e}")))?;
    let user = state.store.user_by_id(&user_id).await?;
    let result = match webauthn.finish_passkey_authentication(&credential, &ceremony) {
        Ok(result) => result,
        Err(error) => {
            state.login_limiter.failed(&user.username, peer.ip());
            return Err(StoreError::Unauthenticated(format!(
                "the security key was not accepted: {error}"
            ))
            .into());
        }
    };
    for (id, mut key) in passkeys(&state.store.webauthn_passkeys(&user_id).await?) {
        if key.update_credential(&result).is_some() {
            let json = serde_json::to_string(&key).unwrap_or_default();
            state.store.update_webauthn(&id, &json).await?;
        }
    }
    let mfa_ticket = stored["mfa_ticket"].as_str().unwrap_or_default().to_owned();
    complete_mfa(state, &mfa_ticket, peer).await
}

/// Starts a WebAuthn registration for the actor.
pub(crate) async fn webauthn_register_begin(
    state: &AppState,
    actor: &store::Actor,
) -> ApiResult<WebauthnChallenge> {
    let webauthn = relying_party(state)?;
    let user = state.store.me(actor).await?;
    let user_uuid = Uuid::parse_str(&user.id).unwrap_or_else(|_| Uuid::new_v4());
    let existing: Vec<_> = passkeys(&state.store.webauthn_passkeys(&user.id).await?)
        .into_iter()
        .map(|(_, key)| key.cred_id().clone())
        .collect();
    let (options, ceremony) = webauthn
        .start_passkey_registration(
            user_uuid,
            &user.username,
            &user.display_name,
            Some(existing),
        )
        .map_err(|e| ApiError::BadRequest(format!("cannot start WebAuthn: {e}")))?;
    let ticket = state
        .store
        .create_challenge(
            WEBAUTHN_REGISTER,
            Some(&user.id),
            None,
            &json!({ "ceremony": ceremony }),
        )
        .await?;
    Ok(WebauthnChallenge {
        ticket,
        options: serde_json::to_value(options).unwrap_or_default(),
    })
}

/// Finishes a WebAuthn registration for the actor.
pub(crate) async fn webauthn_register_complete(
    state: &AppState,
    actor: &store::Actor,
    request: WebauthnFinish,
) -> ApiResult<()> {
    let webauthn = relying_party(state)?;
    let (user_id, _, stored) = state
        .store
        .take_challenge(&request.ticket, WEBAUTHN_REGISTER)
        .await?;
    if user_id.as_deref() != Some(actor.user_id.as_str()) {
        return Err(
            StoreError::Forbidden("this registration belongs to someone else".into()).into(),
        );
    }
    let ceremony: PasskeyRegistration = serde_json::from_value(stored["ceremony"].clone())
        .map_err(|_| ApiError::BadRequest("broken WebAuthn state".into()))?;
    let credential: RegisterPublicKeyCredential = serde_json::from_value(request.credential)
        .map_err(|e| ApiError::Unprocessable(format!("not a WebAuthn credential: {e}")))?;
    let key = webauthn
        .finish_passkey_registration(&credential, &ceremony)
        .map_err(|e| {
            StoreError::invalid(
                "credential",
                format!("the security key was not accepted: {e}"),
            )
        })?;
    let name = request.name.unwrap_or_else(|| "Security key".to_owned());
    state
        .store
        .add_webauthn(
            actor,
            &name,
            &serde_json::to_string(&key).unwrap_or_default(),
        )
        .await?;
    Ok(())
}

/// Second step with a security key or passkey: get the browser's options.
#[utoipa::path(post, path = "/auth/login/webauthn/start", tag = "auth", security(),
    request_body = MfaTicket,
    responses((status = 200, body = WebauthnChallenge), (status = 401, body = Problem)))]
async fn login_webauthn_start(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<MfaTicket>,
) -> ApiResult<Json<WebauthnChallenge>> {
    Ok(Json(webauthn_login_start(&state, &request.ticket).await?))
}

/// Second step with a security key or passkey: the browser's answer.
#[utoipa::path(post, path = "/auth/login/webauthn/finish", tag = "auth", security(),
    request_body = WebauthnFinish,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem)))]
async fn login_webauthn_finish(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<WebauthnFinish>,
) -> ApiResult<Json<LoginResponse>> {
    Ok(Json(
        webauthn_login_finish(&state, &request.ticket, request.credential, peer).await?,
    ))
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
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn change_password(
    State(state): State<AppState>,
    AccountOwnerWithOneTimePassword(actor): AccountOwnerWithOneTimePassword,
    ApiJson(request): ApiJson<ChangePassword>,
) -> ApiResult<StatusCode> {
    state
        .store
        .change_password(&actor, &request.current_password, &request.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// My second factors.
#[utoipa::path(get, path = "/me/mfa", tag = "auth",
    responses((status = 200, body = MfaStatus), (status = 403, body = Problem)))]
async fn mfa_status(
    State(state): State<AppState>,
    AccountOwner(actor): AccountOwner,
) -> ApiResult<Json<MfaStatus>> {
    Ok(Json(state.store.mfa_status(&actor).await?))
}

/// Start setting up an authenticator app: a secret to scan or type. With
/// an app already on, its current code is required.
#[utoipa::path(post, path = "/me/totp", tag = "auth",
    request_body = FreshSecondFactor,
    responses((status = 200, body = TotpSetup), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn totp_start(
    State(state): State<AppState>,
    AccountOwner(actor): AccountOwner,
    ApiJson(request): ApiJson<FreshSecondFactor>,
) -> ApiResult<Json<TotpSetup>> {
    let (secret, otpauth_url) = state
        .store
        .start_totp(&actor, request.code.as_deref())
        .await?;
    let qr_svg = crate::qr::svg(&otpauth_url).map_err(ApiError::BadRequest)?;
    Ok(Json(TotpSetup {
        secret,
        otpauth_url,
        qr_svg,
    }))
}

/// Confirm the authenticator app with its current code; returns recovery codes (shown once).
#[utoipa::path(post, path = "/me/totp/confirm", tag = "auth",
    request_body = TotpCode,
    responses((status = 200, body = RecoveryCodes), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn totp_confirm(
    State(state): State<AppState>,
    AccountOwner(actor): AccountOwner,
    ApiJson(request): ApiJson<TotpCode>,
) -> ApiResult<Json<RecoveryCodes>> {
    let codes = state.store.confirm_totp(&actor, &request.code).await?;
    Ok(Json(RecoveryCodes { codes }))
}

/// Turn the authenticator app off (needs its current code).
#[utoipa::path(post, path = "/me/totp/disable", tag = "auth",
    request_body = TotpCode,
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn totp_disable(
    State(state): State<AppState>,
    AccountOwner(actor): AccountOwner,
    ApiJson(request): ApiJson<TotpCode>,
) -> ApiResult<StatusCode> {
    state.store.disable_totp(&actor, &request.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New recovery codes; the old ones stop working. With an authenticator
/// app on, its current code is required.
#[utoipa::path(post, path = "/me/recovery-codes", tag = "auth",
    request_body = FreshSecondFactor,
    responses((status = 200, body = RecoveryCodes), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn recovery_codes(
    State(state): State<AppState>,
    AccountOwner(actor): AccountOwner,
    ApiJson(request): ApiJson<FreshSecondFactor>,
) -> ApiResult<Json<RecoveryCodes>> {
    let codes = state
        .store
        .regenerate_recovery_codes(&actor, request.code.as_deref())
        .await?;
    Ok(Json(RecoveryCodes { codes }))
}

/// Register a security key or passkey: get the browser's options.
#[utoipa::path(post, path = "/me/webauthn/register/start", tag = "auth",
    responses((status = 200, body = WebauthnChallenge), (status = 403, body = Problem),
        (status = 409, body = Problem)))]
async fn webauthn_register_start(
    State(state): State<AppState>,
    AccountOwner(actor): AccountOwner,
) -> ApiResult<Json<WebauthnChallenge>> {
    Ok(Json(webauthn_register_begin(&state, &actor).await?))
}

/// Register a security key or passkey: the browser's answer.
#[utoipa::path(post, path = "/me/webauthn/register/finish", tag = "auth",
    request_body = WebauthnFinish,
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn webauthn_register_finish(
    State(state): State<AppState>,
    AccountOwner(actor): AccountOwner,
    ApiJson(request): ApiJson<WebauthnFinish>,
) -> ApiResult<StatusCode> {
    webauthn_register_complete(&state, &actor, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a security key or passkey.
#[utoipa::path(delete, path = "/me/webauthn/{id}", tag = "auth",
    params(("id" = String, Path, description = "Credential id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn webauthn_delete(
    State(state): State<AppState>,
    AccountOwner(actor): AccountOwner,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.store.delete_webauthn(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
