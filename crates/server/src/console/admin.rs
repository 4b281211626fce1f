//! API tokens, provider staff, and the page that shows a secret once.

use api_types::Role;
use api_types::auth::{ApiToken, CreateToken, TokenScope};
use api_types::tenancy::CreateUser;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use store::ProviderNeed;

use super::context::Page;
use super::error::{ConsoleResult, back_with_error, back_with_notice};
use super::{Ctx, render};
use crate::AppState;

#[derive(Template)]
#[template(path = "one_time.html")]
pub(super) struct OneTimePage {
    pub page: Page,
    pub intro: String,
    pub secrets: Vec<(String, String)>,
    pub hint: Option<String>,
    pub qr_png: Option<String>,
    pub config: Option<String>,
    /// A file to download: its name and content (base64).
    pub download: Option<(String, String)>,
    pub back: String,
}

/// A page showing secrets once (passwords, tokens, codes).
/// Shows a new user's name and one-time password, once.
pub(super) fn user_created(
    ctx: &Ctx,
    created: api_types::tenancy::UserCreated,
    back: &str,
) -> ConsoleResult<Response> {
    one_time(
        ctx,
        "user-created-title",
        ctx.tr.t("user-created-intro"),
        vec![(
            created.user.username,
            created.initial_password.unwrap_or_default(),
        )],
        None,
        back,
    )
}

pub(super) fn one_time(
    ctx: &Ctx,
    title_key: &str,
    intro: String,
    secrets: Vec<(String, String)>,
    hint: Option<String>,
    back: &str,
) -> ConsoleResult<Response> {
    let page = OneTimePage {
        page: ctx.page(title_key),
        intro,
        secrets,
        hint,
        qr_png: None,
        config: None,
        download: None,
        back: back.to_owned(),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    page: Page,
    tokens: Vec<ApiToken>,
    /// Active logins (browser sessions, login tokens).
    sessions: Vec<ApiToken>,
    /// The login of this request.
    current: Option<String>,
    tenants: Vec<(String, String)>,
}

impl TokensPage {
    fn is_current(&self, token: &ApiToken) -> bool {
        self.current.as_deref() == Some(token.id.as_str())
    }

    fn scope(&self, token: &ApiToken) -> String {
        match &token.scope {
            TokenScope::Full => self.page.t("token-scope-full"),
            TokenScope::Tenant { tenant } => tenant.clone(),
        }
    }
}

pub(super) async fn tokens(State(state): State<AppState>, ctx: Ctx) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    let now = time::OffsetDateTime::now_utc();
    // Logins (one per browser sign-in) are listed apart, and only while
    // they can still be used: they would bury the tokens made on purpose.
    let (sessions, tokens): (Vec<ApiToken>, Vec<ApiToken>) = state
        .store
        .list_tokens(actor)
        .await?
        .into_iter()
        .filter(|token| {
            !token.login
                || (token.revoked_at.is_none() && token.expires_at.is_none_or(|at| at > now))
        })
        .partition(|token| token.login);
    let tenants = state
        .store
        .list_tenants(actor)
        .await?
        .into_iter()
        .map(|t| (t.slug, t.name))
        .collect();
    let page = TokensPage {
        page: ctx.page("tokens-title"),
        tokens,
        sessions,
        current: actor.token_id.clone(),
        tenants,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct TokenForm {
    csrf: String,
    name: String,
    tenant: String,
    days: String,
}

pub(super) async fn create_token(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::Form(form): axum::Form<TokenForm>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    ctx.check_csrf(&form.csrf)?;
    let days = match super::provider::optional_number(&form.days) {
        Ok(days) => days,
        Err(message) => return Ok(back_with_error("/console/tokens", &message)),
    };
    let request = CreateToken {
        name: form.name,
        tenant: Some(form.tenant).filter(|t| !t.is_empty()),
        expires_in_days: days,
    };
    match state.store.create_token(actor, request).await {
        Ok(created) => one_time(
            &ctx,
            "token-created-title",
            ctx.tr.t("token-created-intro"),
            vec![(created.token.name, created.secret)],
            None,
            "/console/tokens",
        ),
        Err(error) => Ok(back_with_error("/console/tokens", &error.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct CsrfOnly {
    csrf: String,
}

pub(super) async fn revoke_token(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<CsrfOnly>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    ctx.check_csrf(&form.csrf)?;
    match state.store.revoke_token(actor, &id).await {
        Ok(()) => Ok(back_with_notice("/console/tokens", "token-revoked")),
        Err(error) => Ok(back_with_error("/console/tokens", &error.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct StaffForm {
    csrf: String,
    username: String,
    display_name: String,
    role: String,
}

pub(super) async fn create_staff(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::Form(form): axum::Form<StaffForm>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    ctx.check_csrf(&form.csrf)?;
    let access = actor.provider(ProviderNeed::Admin)?;
    let request = CreateUser {
        username: form.username,
        display_name: Some(form.display_name).filter(|n| !n.trim().is_empty()),
        email: None,
        role: Role::parse(&form.role).unwrap_or(Role::ProviderOperator),
        password: None,
        language: None,
    };
    match state.store.create_provider_user(&access, request).await {
        Ok(created) => user_created(&ctx, created, "/console"),
        Err(error) => Ok(back_with_error("/console", &error.to_string())),
    }
}
