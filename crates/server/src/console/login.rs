//! Login, second factor, logout, password change, language choice.

use std::net::SocketAddr;

use api_types::Language;
use askama::Template;
use axum::Json;
use axum::extract::{ConnectInfo, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;
use store::mfa::TokenKind;

use super::context::{LANGUAGE_COOKIE, Page};
use super::error::{ConsoleError, ConsoleResult, back_with_error};
use super::{Ctx, csrf, render};
use crate::AppState;
use crate::api::auth;
use crate::oidc::safe_redirect;
use crate::session;

const MFA_COOKIE: &str = "hg_mfa";

/// Where a user lands after logging in.
fn landing(ctx: &Ctx) -> String {
    match &ctx.session {
        Some(session) => match session.actor.role {
            api_types::Role::ProviderAdmin | api_types::Role::ProviderOperator => "/console".into(),
            api_types::Role::TenantAdmin => match &session.tenant {
                Some(tenant) => format!("/console/t/{tenant}"),
                None => "/portal".into(),
            },
            api_types::Role::Employee => "/portal".into(),
        },
        None => "/login".into(),
    }
}

pub(super) async fn home(ctx: Ctx) -> Response {
    Redirect::to(&landing(&ctx)).into_response()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    next: String,
    /// Whether any municipality logs in through its own identity provider
    /// (which ones is not shown: anonymous visitors would learn the list).
    organisation_login: bool,
    /// What was typed into the organisation field, kept when it matched none.
    organisation: String,
    /// Why the organisation field was not accepted (a message in the page's language).
    organisation_error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

pub(super) fn private_cookie(
    name: &'static str,
    value: String,
    state: &AppState,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(state.settings.public_url.starts_with("https://"))
        .same_site(SameSite::Strict)
        .build()
}

/// What the login pages can say went wrong: `?error=` names one of these
/// (message `login-error-KEY`). Anything else shows nothing, since anyone
/// can send a link to `/login?error=…`.
const LOGIN_ERRORS: &[&str] = &[
    "failed",
    "ambiguous",
    "throttled",
    "code",
    "expired",
    "unavailable",
];

/// A login page, with its error message only if it is one of ours.
fn login_page_for(ctx: &Ctx, title_key: &str) -> Page {
    let mut page = ctx.page(title_key);
    page.error = ctx
        .error
        .as_deref()
        .filter(|key| LOGIN_ERRORS.contains(key))
        .map(|key| ctx.tr.t(&format!("login-error-{key}")));
    page
}

/// The message key of a failed login step; internal errors are logged.
fn login_error_key(error: &crate::error::ApiError, wrong: &'static str) -> &'static str {
    use crate::error::ApiError;
    match error {
        ApiError::TooManyRequests { .. } => "throttled",
        ApiError::Store(store::StoreError::AmbiguousLogin) => "ambiguous",
        ApiError::Store(
            store::StoreError::Unauthenticated(_) | store::StoreError::Forbidden(_),
        ) => wrong,
        ApiError::Store(store::StoreError::NotFound { .. }) => "expired",
        other => {
            if other.problem().0.is_server_error() {
                "unavailable"
            } else {
                wrong
            }
        }
    }
}

pub(super) async fn login_page(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Query(query): Query<NextQuery>,
) -> ConsoleResult<Response> {
    let mut jar = ctx.jar.clone();
    if ctx.csrf.is_empty() {
        ctx.csrf = csrf::random();
        jar = jar.add(private_cookie(csrf::LOGIN_COOKIE, ctx.csrf.clone(), &state));
    }
    let page = LoginPage {
        page: login_page_for(&ctx, "login-title"),
        next: safe_redirect(query.next.as_deref()),
        organisation_login: state.store.any_identity_provider().await?,
        organisation: String::new(),
        organisation_error: None,
    };
    Ok((jar, render(&page)?).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct OrganisationQuery {
    #[serde(default)]
    organisation: String,
    next: Option<String>,
}

/// `GET /login/organisation`: the employee names their municipality; its
/// identity provider's login follows. An unknown name and a municipality
/// without one get the same answer, so the form tells nobody which exist.
pub(super) async fn organisation_login(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<OrganisationQuery>,
) -> ConsoleResult<Response> {
    let next = safe_redirect(query.next.as_deref());
    let organisation = query.organisation.trim();
    if let Some(slug) = state.store.identity_provider_for(organisation).await? {
        return Ok(Redirect::to(&format!(
            "/auth/oidc/{slug}/start?redirect_to={}",
            super::encode(&next)
        ))
        .into_response());
    }
    let page = LoginPage {
        organisation_error: Some(ctx.tr.t("login-organisation-unknown")),
        page: ctx.page("login-title"),
        next,
        organisation_login: true,
        organisation: organisation.to_owned(),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    csrf: String,
    username: String,
    password: String,
    next: Option<String>,
}

fn anonymous_csrf(ctx: &Ctx, given: &str) -> ConsoleResult<()> {
    if csrf::matches(&ctx.csrf, given) {
        Ok(())
    } else {
        Err(ConsoleError::Csrf)
    }
}

pub(super) async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ctx: Ctx,
    axum::Form(form): axum::Form<LoginForm>,
) -> ConsoleResult<Response> {
    anonymous_csrf(&ctx, &form.csrf)?;
    let next = safe_redirect(form.next.as_deref());
    let back = format!("/login?next={}", super::encode(&next));
    let result = auth::password_step(
        &state,
        &form.username,
        &form.password,
        Some("console"),
        TokenKind::Console,
        peer,
    )
    .await;
    match result {
        Ok(response) => match (response.token, response.mfa) {
            (Some(token), _) => {
                Ok((session::set(ctx.jar, &state, &token), Redirect::to(&next)).into_response())
            }
            (None, Some(challenge)) => {
                let jar = ctx
                    .jar
                    .add(private_cookie(MFA_COOKIE, challenge.ticket, &state));
                Ok((
                    jar,
                    Redirect::to(&format!("/login/mfa?next={}", super::encode(&next))),
                )
                    .into_response())
            }
            (None, None) => Ok(back_with_error(&back, "unavailable")),
        },
        Err(error) => Ok(back_with_error(&back, login_error_key(&error, "failed"))),
    }
}

#[derive(Template)]
#[template(path = "login_mfa.html")]
struct MfaPage {
    page: Page,
    ticket: String,
    next: String,
    totp: bool,
    webauthn: bool,
}

pub(super) async fn mfa_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<NextQuery>,
) -> ConsoleResult<Response> {
    let ticket = ctx
        .jar
        .get(MFA_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or_else(|| ConsoleError::NotLoggedIn { next: "/".into() })?;
    let Ok((user_id, _, _)) = state.store.peek_challenge(&ticket, "mfa").await else {
        return Ok(back_with_error("/login", "expired"));
    };
    let (totp, webauthn) = state
        .store
        .second_factors(user_id.as_deref().unwrap_or_default())
        .await?;
    let page = MfaPage {
        page: login_page_for(&ctx, "mfa-title"),
        ticket,
        next: safe_redirect(query.next.as_deref()),
        totp,
        webauthn: webauthn && state.webauthn.is_some(),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct MfaForm {
    csrf: String,
    ticket: String,
    method: String,
    code: String,
    next: Option<String>,
}

pub(super) async fn mfa_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ctx: Ctx,
    axum::Form(form): axum::Form<MfaForm>,
) -> ConsoleResult<Response> {
    anonymous_csrf(&ctx, &form.csrf)?;
    let next = safe_redirect(form.next.as_deref());
    let method = if form.method == "totp" {
        "totp"
    } else {
        "recovery"
    };
    match auth::second_factor(&state, &form.ticket, &form.code, method, peer).await {
        Ok(response) => {
            let token = response.token.unwrap_or_default();
            let jar = session::set(ctx.jar, &state, &token)
                .remove(Cookie::build(MFA_COOKIE).path("/").build());
            Ok((jar, Redirect::to(&next)).into_response())
        }
        Err(error) => Ok(back_with_error(
            &format!("/login/mfa?next={}", super::encode(&next)),
            login_error_key(&error, "code"),
        )),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct WebauthnStart {
    ticket: String,
    csrf: String,
}

pub(super) async fn webauthn_start(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(request): Json<WebauthnStart>,
) -> Result<Json<api_types::auth::WebauthnChallenge>, crate::error::ApiError> {
    if !csrf::matches(&ctx.csrf, &request.csrf) {
        return Err(crate::error::ApiError::BadRequest(
            "the form expired; reload the page".into(),
        ));
    }
    Ok(Json(
        auth::webauthn_login_start(&state, &request.ticket).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct WebauthnDone {
    ticket: String,
    credential: serde_json::Value,
    csrf: String,
}

pub(super) async fn webauthn_finish(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ctx: Ctx,
    Json(request): Json<WebauthnDone>,
) -> Result<Response, crate::error::ApiError> {
    if !csrf::matches(&ctx.csrf, &request.csrf) {
        return Err(crate::error::ApiError::BadRequest(
            "the form expired; reload the page".into(),
        ));
    }
    let response =
        auth::webauthn_login_finish(&state, &request.ticket, request.credential, peer).await?;
    let token = response.token.unwrap_or_default();
    let jar =
        session::set(ctx.jar, &state, &token).remove(Cookie::build(MFA_COOKIE).path("/").build());
    Ok((jar, Json(serde_json::json!({ "next": "/" }))).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

pub(super) async fn logout(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::Form(form): axum::Form<CsrfForm>,
) -> ConsoleResult<Response> {
    if let Some(session) = &ctx.session {
        ctx.check_csrf(&form.csrf)?;
        state
            .store
            .revoke_secret(&session.actor, &session.token)
            .await?;
        // Web access granted from this login ends with it.
        if let Some(proxy) = &state.proxy {
            proxy.grants.wake.notify_one();
        }
    }
    Ok((session::clear(ctx.jar), Redirect::to("/login")).into_response())
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    page: Page,
}

pub(super) async fn password_page(ctx: Ctx) -> ConsoleResult<Response> {
    if ctx.session.is_none() {
        return Err(ConsoleError::NotLoggedIn {
            next: "/password".into(),
        });
    }
    Ok(render(&PasswordPage {
        page: ctx.page("password-title"),
    })?
    .into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
}

pub(super) async fn password_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::Form(form): axum::Form<PasswordForm>,
) -> ConsoleResult<Response> {
    let session = ctx
        .session
        .as_ref()
        .ok_or_else(|| ConsoleError::NotLoggedIn {
            next: "/password".into(),
        })?;
    ctx.check_csrf(&form.csrf)?;
    match state
        .store
        .change_password(&session.actor, &form.current, &form.new)
        .await
    {
        Ok(()) => Ok(Redirect::to("/?notice=password-changed").into_response()),
        Err(error) => Ok(back_with_error("/password", &error.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct LanguageForm {
    csrf: String,
    language: String,
    back: Option<String>,
}

pub(super) async fn set_language(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::Form(form): axum::Form<LanguageForm>,
) -> ConsoleResult<Response> {
    let language = Language::parse(&form.language).unwrap_or(Language::En);
    if let Some(session) = &ctx.session {
        ctx.check_csrf(&form.csrf)?;
        state
            .store
            .set_my_language(&session.actor, Some(language))
            .await?;
    }
    let jar = ctx.jar.add(
        Cookie::build((LANGUAGE_COOKIE, language.code()))
            .path("/")
            .same_site(SameSite::Lax)
            .build(),
    );
    let back = safe_redirect(form.back.as_deref());
    Ok((jar, Redirect::to(&back)).into_response())
}
