//! Login with a tenant's own OpenID Connect identity provider (browser
//! flow): `/auth/oidc/{tenant}/start` redirects to the provider with PKCE,
//! state and nonce; `/auth/oidc/callback` exchanges the code, verifies the ID
//! token and opens a console session (cookie).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;
use serde_json::json;
use store::StoreError;
use store::idp::IdpConfig;
use store::mfa::TokenKind;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::session;

const OIDC: &str = "oidc";

/// Where the provider sends the browser back to.
pub fn redirect_uri(state: &AppState) -> String {
    format!("{}/auth/oidc/callback", state.settings.public_url)
}

fn http_client() -> ApiResult<reqwest::Client> {
    // The OIDC library requires that the HTTP client does not follow redirects.
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| ApiError::BadRequest(format!("cannot make an HTTP client: {e}")))
}

fn provider_error(what: &str, error: impl std::fmt::Display) -> ApiError {
    tracing::warn!(%error, "{what}");
    StoreError::Conflict(format!("{what}: {error}")).into()
}

/// How long a fetched discovery document is used.
pub const DISCOVERY_TTL: std::time::Duration = std::time::Duration::from_secs(300);
/// How long a failed discovery is remembered (so anonymous calls to the
/// start page cannot make the server fetch again and again).
pub const DISCOVERY_RETRY: std::time::Duration = std::time::Duration::from_secs(30);

struct Discovered {
    at: std::time::Instant,
    result: Result<CoreProviderMetadata, String>,
}

/// Identity providers' discovery documents (with their keys), fetched once
/// per issuer and [`DISCOVERY_TTL`]: concurrent logins wait for the one
/// fetch in flight instead of starting their own.
#[derive(Default)]
pub struct DiscoveryCache {
    issuers: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Discovered>>>>>,
}

impl DiscoveryCache {
    async fn get(
        &self,
        issuer: &str,
        http: &reqwest::Client,
    ) -> Result<CoreProviderMetadata, String> {
        let slot = {
            let mut issuers = self.issuers.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(issuers.entry(issuer.to_owned()).or_default())
        };
        let mut slot = slot.lock().await;
        if let Some(discovered) = slot.as_ref() {
            let ttl = match discovered.result {
                Ok(_) => DISCOVERY_TTL,
                Err(_) => DISCOVERY_RETRY,
            };
            if discovered.at.elapsed() < ttl {
                return discovered.result.clone();
            }
        }
        let result = match IssuerUrl::new(issuer.to_owned()) {
            Ok(url) => CoreProviderMetadata::discover_async(url, http)
                .await
                .map_err(|e| format!("cannot reach the identity provider: {e}")),
            Err(e) => Err(format!("the identity provider's issuer is not a URL: {e}")),
        };
        *slot = Some(Discovered {
            at: std::time::Instant::now(),
            result: result.clone(),
        });
        result
    }
}

async fn client(
    state: &AppState,
    config: &IdpConfig,
) -> ApiResult<(
    openidconnect::core::CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    reqwest::Client,
)> {
    // Saved before the provider turned development mode off: still refused.
    state
        .store
        .outbound_policy()
        .check_issuer("issuer", &config.issuer)
        .map_err(|violation| provider_error("the identity provider", violation.message))?;
    let http = http_client()?;
    let metadata = state
        .oidc_discovery
        .get(&config.issuer, &http)
        .await
        .map_err(|e| provider_error("the identity provider is not usable", e))?;
    let redirect = RedirectUrl::new(redirect_uri(state))
        .map_err(|e| provider_error("the public URL is not a URL", e))?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id.clone()),
        Some(ClientSecret::new(config.client_secret.clone())),
    )
    .set_redirect_uri(redirect);
    Ok((client, http))
}

/// Only local paths: no open redirects through the login.
pub fn safe_redirect(target: Option<&str>) -> String {
    match target {
        Some(path) if crate::proxy::route::is_local_path(path) => path.to_owned(),
        // The home page sends each role where it belongs (provider staff
        // to the console, employees to the portal).
        _ => "/".to_owned(),
    }
}

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    redirect_to: Option<String>,
}

pub async fn start(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(query): Query<StartQuery>,
) -> ApiResult<Response> {
    let config = state
        .store
        .idp_config(&tenant)
        .await?
        .ok_or_else(|| StoreError::not_found("identity provider of tenant", &tenant))?;
    let (client, _) = client(&state, &config).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = Nonce::new_random();
    let ticket = state
        .store
        .create_challenge(
            OIDC,
            None,
            Some(&config.tenant_id),
            &json!({
                "pkce": verifier.secret(),
                "nonce": nonce.secret(),
                "redirect_to": safe_redirect(query.redirect_to.as_deref()),
            }),
        )
        .await?;
    let nonce_for_url = nonce.clone();
    let (url, _, _) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(ticket),
            move || nonce_for_url,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Redirect::to(url.as_str()).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Query(query): Query<CallbackQuery>,
) -> ApiResult<Response> {
    if let Some(error) = query.error {
        return Err(StoreError::Unauthenticated(format!(
            "the identity provider refused the login: {}",
            query.error_description.unwrap_or(error)
        ))
        .into());
    }
    let (Some(code), Some(ticket)) = (query.code, query.state) else {
        return Err(ApiError::BadRequest(
            "the callback lacks code or state".into(),
        ));
    };
    let (_, tenant_id, saved) = state.store.take_challenge(&ticket, OIDC).await?;
    let tenant_id = tenant_id.ok_or_else(|| ApiError::BadRequest("broken login state".into()))?;
    let config = state
        .store
        .idp_config(&tenant_id)
        .await?
        .ok_or_else(|| StoreError::not_found("identity provider of tenant", &tenant_id))?;
    let (client, http) = client(&state, &config).await?;
    let pkce = PkceCodeVerifier::new(saved["pkce"].as_str().unwrap_or_default().to_owned());
    let nonce = Nonce::new(saved["nonce"].as_str().unwrap_or_default().to_owned());
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| provider_error("the identity provider has no token endpoint", e))?
        .set_pkce_verifier(pkce)
        .request_async(&http)
        .await
        .map_err(|e| provider_error("the identity provider did not issue a token", e))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| provider_error("the identity provider sent no ID token", "missing"))?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .map_err(|e| provider_error("the ID token is not valid", e))?;
    let from_id_token = match config.username_claim.as_str() {
        "email" => claims.email().map(|e| e.as_str().to_owned()),
        "preferred_username" => claims.preferred_username().map(|u| u.as_str().to_owned()),
        _ => Some(claims.subject().as_str().to_owned()),
    };
    // Providers may keep profile claims out of the ID token; ask UserInfo then.
    let username = match from_id_token {
        Some(name) => Some(name),
        None => {
            let info: openidconnect::core::CoreUserInfoClaims = client
                .user_info(
                    tokens.access_token().clone(),
                    Some(claims.subject().clone()),
                )
                .map_err(|e| provider_error("the identity provider has no UserInfo endpoint", e))?
                .request_async(&http)
                .await
                .map_err(|e| provider_error("the identity provider's UserInfo failed", e))?;
            match config.username_claim.as_str() {
                "email" => info.email().map(|e| e.as_str().to_owned()),
                "preferred_username" => info.preferred_username().map(|u| u.as_str().to_owned()),
                _ => Some(info.subject().as_str().to_owned()),
            }
        }
    }
    .ok_or_else(|| {
        StoreError::Unauthenticated(format!(
            "the identity provider did not say who you are (claim {})",
            config.username_claim
        ))
    })?;
    let user_id = state.store.oidc_user(&config, &username).await?;
    let login = state
        .store
        .issue_login(
            &user_id,
            Some("oidc"),
            TokenKind::Console,
            config.counts_as_mfa,
            Some(peer.ip().to_string()),
        )
        .await?;
    let token = login.token.unwrap_or_default();
    let target = safe_redirect(saved["redirect_to"].as_str());
    Ok((session::set(jar, &state, &token), Redirect::to(&target)).into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_redirect;

    #[test]
    fn redirects_stay_on_this_site() {
        assert_eq!(safe_redirect(Some("/portal/devices")), "/portal/devices");
        assert_eq!(safe_redirect(Some("https://evil.example/")), "/");
        assert_eq!(safe_redirect(Some("//evil.example/")), "/");
        assert_eq!(safe_redirect(Some("/\\evil.example")), "/");
        assert_eq!(safe_redirect(None), "/");
    }
}
