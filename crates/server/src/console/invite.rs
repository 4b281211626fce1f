//! The invitation link's page: the employee chooses a password, is logged
//! in and goes on in the portal (second factor, device). A link that no
//! longer works says why, in the employee's language.

use std::net::SocketAddr;

use api_types::invitations::{AcceptInvitation, InvitationState};
use askama::Template;
use axum::extract::{ConnectInfo, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use i18n::Tr;
use serde::Deserialize;
use store::invitations::InvitationView;
use store::mfa::TokenKind;

use super::context::{LANGUAGE_COOKIE, Page};
use super::error::{ConsoleError, ConsoleResult};
use super::{Ctx, csrf, render};
use crate::AppState;
use crate::api::invitations::accept_link;
use crate::error::ApiError;
use crate::session;

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    page: Page,
    intro: String,
    username: String,
    /// Why the link does not work (then there is no form).
    closed: Option<String>,
    /// Messages at the fields.
    password_error: Option<String>,
    repeat_error: Option<String>,
    /// The municipality logs in through its identity provider too.
    organisation: Option<String>,
}

/// The page in the invitee's language unless the visitor chose one.
fn speak_to(ctx: &mut Ctx, view: Option<&InvitationView>) {
    if ctx.jar.get(LANGUAGE_COOKIE).is_none()
        && let Some(view) = view
    {
        ctx.tr = Tr::new(view.language);
    }
}

async fn page_for(
    state: &AppState,
    ctx: &Ctx,
    view: Option<&InvitationView>,
) -> ConsoleResult<InvitePage> {
    let Some(view) = view else {
        return Ok(InvitePage {
            page: ctx.page("invite-expired-title"),
            intro: String::new(),
            username: String::new(),
            closed: Some(ctx.tr.t("invite-unknown")),
            password_error: None,
            repeat_error: None,
            organisation: None,
        });
    };
    let closed = match view.state {
        InvitationState::Used => Some(ctx.tr.t("invite-used")),
        InvitationState::Revoked => Some(ctx.tr.t("invite-revoked")),
        InvitationState::Expired => {
            let until = time::OffsetDateTime::from_unix_timestamp(view.expires_at / 1000)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            Some(
                ctx.tr
                    .t1("invite-expired", "until", &super::short_time(&until)),
            )
        }
        InvitationState::Queued
        | InvitationState::Sent
        | InvitationState::Failed
        | InvitationState::Letter => None,
    };
    let organisation = state
        .store
        .identity_provider_for(&view.tenant_slug)
        .await?
        .map(|_| view.tenant_slug.clone());
    Ok(InvitePage {
        page: if closed.is_some() {
            ctx.page("invite-expired-title")
        } else {
            ctx.page_titled(ctx.tr.t1("invite-title", "tenant", &view.tenant_name))
        },
        intro: ctx.tr.t1("invite-intro", "name", &view.display_name),
        username: ctx.tr.t1("invite-username", "username", &view.username),
        closed,
        password_error: None,
        repeat_error: None,
        organisation,
    })
}

/// `GET /invite/{token}`.
pub(super) async fn page(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Path(token): Path<String>,
) -> ConsoleResult<Response> {
    let view = state.store.invitation_by_token(&token).await?;
    speak_to(&mut ctx, view.as_ref());
    let mut jar = ctx.jar.clone();
    if ctx.csrf.is_empty() {
        ctx.csrf = csrf::random();
        jar = jar.add(super::login::private_cookie(
            csrf::LOGIN_COOKIE,
            ctx.csrf.clone(),
            &state,
        ));
    }
    let page = page_for(&state, &ctx, view.as_ref()).await?;
    Ok((jar, render(&page)?).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct InviteForm {
    csrf: String,
    password: String,
    repeat: String,
}

/// `POST /invite/{token}`: set the password, log in, on to the portal.
pub(super) async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut ctx: Ctx,
    Path(token): Path<String>,
    axum::Form(form): axum::Form<InviteForm>,
) -> ConsoleResult<Response> {
    if !csrf::matches(&ctx.csrf, &form.csrf) {
        return Err(ConsoleError::Csrf);
    }
    let view = state.store.invitation_by_token(&token).await?;
    speak_to(&mut ctx, view.as_ref());
    let mut page = page_for(&state, &ctx, view.as_ref()).await?;
    if page.closed.is_some() {
        return Ok(render(&page)?.into_response());
    }
    if form.password.chars().count() < store::validate::MIN_PASSWORD_LEN {
        page.password_error = Some(ctx.tr.t("invite-password-short"));
        return Ok(render(&page)?.into_response());
    }
    if form.password != form.repeat {
        page.repeat_error = Some(ctx.tr.t("invite-mismatch"));
        return Ok(render(&page)?.into_response());
    }
    let request = AcceptInvitation {
        token,
        password: form.password,
    };
    let user_id = match accept_link(&state, peer, &request).await {
        Ok(user_id) => user_id,
        Err(ApiError::TooManyRequests { .. }) => {
            page.password_error = Some(ctx.tr.t("login-error-throttled"));
            return Ok(render(&page)?.into_response());
        }
        Err(ApiError::Store(store::StoreError::NotFound { .. })) => {
            // Used or withdrawn meanwhile (another tab, a newer invitation).
            let view = state.store.invitation_by_token(&request.token).await?;
            return Ok(render(&page_for(&state, &ctx, view.as_ref()).await?)?.into_response());
        }
        Err(ApiError::Store(store::StoreError::Invalid(_))) => {
            page.password_error = Some(ctx.tr.t("invite-password-short"));
            return Ok(render(&page)?.into_response());
        }
        Err(error) => return Err(ConsoleError::Internal(error.to_string())),
    };
    let login = state
        .store
        .issue_login(
            &user_id,
            Some("console"),
            TokenKind::Console,
            false,
            Some(peer.ip().to_string()),
        )
        .await?;
    let Some(token) = login.token else {
        return Err(ConsoleError::Internal("no session was issued".into()));
    };
    Ok((
        session::set(ctx.jar, &state, &token),
        Redirect::to("/portal?notice=welcome"),
    )
        .into_response())
}
