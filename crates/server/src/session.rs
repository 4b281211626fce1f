//! Browser sessions: a login token in the `hg_session` cookie (HttpOnly,
//! SameSite=Lax, Secure when the control plane is served over https).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use store::{Actor, StoreError};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::client_addr;

pub const COOKIE: &str = "hg_session";

/// Adds the session cookie for `token`.
pub fn set(jar: CookieJar, state: &AppState, token: &str) -> CookieJar {
    let secure = state.settings.public_url.starts_with("https://");
    let cookie = Cookie::build((COOKIE, token.to_owned()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .build();
    jar.add(cookie)
}

pub fn clear(jar: CookieJar) -> CookieJar {
    jar.remove(Cookie::build(COOKIE).path("/").build())
}

/// A logged-in browser.
pub struct SessionUser(pub Actor, pub String);

impl FromRequestParts<AppState> for SessionUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar
            .get(COOKIE)
            .map(|c| c.value().to_owned())
            .ok_or_else(|| StoreError::Unauthenticated("not logged in".to_owned()))?;
        let actor = state.store.authenticate(&token, client_addr(parts)).await?;
        Ok(SessionUser(actor, token))
    }
}

/// `GET /auth/session`: who the browser is logged in as.
pub async fn whoami(
    axum::extract::State(state): axum::extract::State<AppState>,
    SessionUser(actor, _): SessionUser,
) -> Result<axum::Json<api_types::tenancy::User>, ApiError> {
    Ok(axum::Json(state.store.me(&actor).await?))
}
