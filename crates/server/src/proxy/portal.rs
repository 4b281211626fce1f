//! The control plane's side of a proxy login: `/portal/open/TENANT/APP`
//! requires the portal login (with the tenant's MFA), checks the access rule
//! and sends the browser to the application's host with a one-time code.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::route::safe_return_path;
use crate::AppState;
use crate::console::{ConsoleError, ConsoleResult, Ctx, encode};

#[derive(Debug, Deserialize)]
pub struct OpenQuery {
    #[serde(rename = "return")]
    return_to: Option<String>,
}

pub async fn open(
    State(state): State<AppState>,
    ctx: Ctx,
    OriginalUri(uri): OriginalUri,
    Path((tenant, app)): Path<(String, String)>,
    Query(query): Query<OpenQuery>,
) -> ConsoleResult<Response> {
    let Some(proxy) = &state.proxy else {
        return Err(ConsoleError::NotFound(
            "web access to applications is not set up on this server".to_owned(),
        ));
    };
    let Some(session) = &ctx.session else {
        // Back here after the login, with the same return path.
        return Err(ConsoleError::NotLoggedIn {
            next: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
        });
    };
    if session.actor.password_change_required {
        return Err(ConsoleError::PasswordChange);
    }
    let published = proxy
        .directory
        .find(&state.store, &tenant, &app)
        .await?
        .ok_or_else(|| {
            ConsoleError::NotFound(format!("no application '{app}' of '{tenant}' is published"))
        })?;
    let code = state
        .store
        .grant_proxy_access(&session.actor, &session.token, &published)
        .await?;
    let target = format!(
        "{}.homegate/callback?code={}&return={}",
        proxy.web_url(&published.tenant, &published.application),
        encode(&code),
        encode(&safe_return_path(query.return_to.as_deref()))
    );
    Ok(Redirect::to(&target).into_response())
}
