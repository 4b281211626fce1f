//! The web console, the employee portal and the login pages: server-rendered
//! HTML (askama templates in `templates/`, texts through `i18n`), rendered
//! from the same `store` functions as the JSON API.
//!
//! Every form carries a CSRF token bound to the browser session; every page
//! is sent with a strict Content-Security-Policy (no inline scripts).

mod admin;
mod audit;
mod capacity;
mod chart;
mod confirm;
mod context;
mod csrf;
mod error;
mod form_errors;
mod invite;
mod jobs;
mod list;
mod login;
mod manual;
mod onboarding;
mod portal;
mod provider;
mod status;
mod sticks;
mod tenant;
mod user_edit;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

pub use context::Ctx;
pub use error::{ConsoleError, ConsoleResult, request_language, too_large_page};
pub(crate) use error::{encode, escape, forget_flash, localized_errors};
pub use status::PageCache;
pub(crate) use tenant::short_time;

use crate::AppState;

/// Content-Security-Policy of every console page.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
     script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
     form-action 'self'";

/// The console's routes. `proxy_origins` is the access proxy's origin
/// pattern (`https://*.apps.example.org`): after a login, the browser is
/// redirected there, which `form-action` must allow.
pub fn router(proxy_origins: Option<&str>) -> Router<AppState> {
    let csp = match proxy_origins {
        Some(origins) => CSP.replace(
            "form-action 'self'",
            &format!("form-action 'self' {origins}"),
        ),
        None => CSP.to_owned(),
    };
    Router::new()
        .route("/", get(login::home))
        .route("/login", get(login::login_page).post(login::login_submit))
        .route("/login/organisation", get(login::organisation_login))
        .route("/login/mfa", get(login::mfa_page).post(login::mfa_submit))
        .route("/login/webauthn/start", post(login::webauthn_start))
        .route("/login/webauthn/finish", post(login::webauthn_finish))
        .route("/logout", post(login::logout))
        .route(
            "/password",
            get(login::password_page).post(login::password_submit),
        )
        .route("/language", post(login::set_language))
        .route("/console", get(provider::dashboard))
        .route("/console/tenants", post(provider::create_tenant))
        .route(
            "/console/gateways",
            get(provider::gateways).post(provider::create_gateway),
        )
        .route(
            "/console/gateways/{gateway}/drain",
            post(provider::drain_gateway),
        )
        .route("/console/regions", post(provider::create_region))
        .route("/console/capacity", get(capacity::page))
        .route("/console/onboarding", get(onboarding::overview))
        .route("/console/t/{tenant}/onboarding", get(onboarding::page))
        .route("/console/t/{tenant}/invitations", post(onboarding::invite))
        .route(
            "/console/t/{tenant}/users/{user}/invitations/revoke",
            post(onboarding::revoke),
        )
        .route("/invite/{token}", get(invite::page).post(invite::submit))
        .route("/console/audit", get(audit::page))
        .route("/console/audit/export", get(audit::export))
        .route(
            "/console/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route("/console/tokens/{id}/revoke", post(admin::revoke_token))
        .route("/console/staff", post(admin::create_staff))
        .route("/console/t/{tenant}", get(tenant::overview))
        .route("/console/t/{tenant}/quota", post(tenant::set_quota))
        .route("/console/t/{tenant}/policy", post(tenant::set_policy))
        .route(
            "/console/t/{tenant}/users",
            get(tenant::users).post(tenant::create_user),
        )
        .route(
            "/console/t/{tenant}/users/import",
            post(tenant::import_users),
        )
        .route("/console/t/{tenant}/jobs/{job}", get(jobs::page))
        .route(
            "/console/t/{tenant}/users/{user}/edit",
            get(user_edit::page).post(user_edit::save),
        )
        .route(
            "/console/t/{tenant}/users/{user}/disabled",
            post(tenant::set_disabled),
        )
        .route(
            "/console/t/{tenant}/users/{user}/reset-password",
            post(tenant::reset_password),
        )
        .route(
            "/console/t/{tenant}/users/{user}/code",
            post(tenant::create_code),
        )
        .route(
            "/console/t/{tenant}/groups",
            get(tenant::groups).post(tenant::create_group),
        )
        .route(
            "/console/t/{tenant}/groups/{group}/members",
            post(tenant::add_member),
        )
        .route(
            "/console/t/{tenant}/groups/{group}/members/{user}/remove",
            post(tenant::remove_member),
        )
        .route(
            "/console/t/{tenant}/applications",
            get(tenant::applications).post(tenant::create_application),
        )
        .route(
            "/console/t/{tenant}/applications/{application}/delete",
            post(tenant::delete_application),
        )
        .route("/console/t/{tenant}/rules", post(tenant::create_rule))
        .route(
            "/console/t/{tenant}/rules/{rule}/delete",
            post(tenant::delete_rule),
        )
        .route("/console/t/{tenant}/devices", get(tenant::devices))
        .route(
            "/console/t/{tenant}/devices/{device}/revoke",
            post(tenant::revoke_device),
        )
        .route(
            "/console/t/{tenant}/sessions/{device}/end",
            post(tenant::end_session),
        )
        .route(
            "/console/t/{tenant}/identity",
            get(tenant::identity).post(tenant::set_identity),
        )
        .route(
            "/console/t/{tenant}/sticks",
            get(sticks::page).post(sticks::create),
        )
        .route(
            "/console/t/{tenant}/sticks/{batch}",
            get(sticks::batch_page),
        )
        .route(
            "/console/t/{tenant}/sticks/{batch}/files/{*path}",
            get(sticks::download),
        )
        .route(
            "/console/t/{tenant}/sticks/{batch}/sticks/{stick}/{action}",
            post(sticks::stick_action),
        )
        .route(
            "/console/t/{tenant}/sticks/{batch}/{action}",
            post(sticks::batch_action),
        )
        .route(
            "/console/t/{tenant}/manual",
            get(manual::settings_page).post(manual::save_settings),
        )
        .route("/manual/{tenant}", get(manual::html))
        .route("/manual/{tenant}/pdf", get(manual::pdf))
        .route("/status", get(status::all))
        .route("/status/feed.atom", get(status::feed_all))
        .route("/status/history", get(status::history_all))
        .route("/status/api/v2/summary.json", get(status::summary_all))
        .route("/status/subscribe", post(status::subscribe))
        .route(
            "/status/subscriptions/confirm",
            get(status::confirm_page).post(status::confirm),
        )
        .route(
            "/status/subscriptions/unsubscribe",
            get(status::unsubscribe_page).post(status::unsubscribe),
        )
        .route("/status/{tenant}", get(status::tenant))
        .route("/status/{tenant}/feed.atom", get(status::feed_tenant))
        .route("/status/{tenant}/history", get(status::history_tenant))
        .route("/api/v2/summary.json", get(status::summary_all))
        .route(
            "/status/{tenant}/api/v2/summary.json",
            get(status::summary_tenant),
        )
        .route("/portal", get(portal::home))
        .route("/portal/open/{tenant}/{app}", get(crate::proxy::open))
        .route("/portal/code", post(portal::create_code))
        .route("/portal/phone", post(portal::create_phone))
        .route(
            "/portal/devices/{device}/revoke",
            post(portal::revoke_device),
        )
        .route("/portal/totp", post(portal::totp_start))
        .route("/portal/totp/confirm", post(portal::totp_confirm))
        .route("/portal/webauthn/start", post(portal::webauthn_start))
        .route("/portal/webauthn/finish", post(portal::webauthn_finish))
        .route("/assets/console.css", get(css))
        .route("/assets/webauthn.js", get(js))
        .route("/assets/local-time.js", get(local_time_js))
        // A page with a policy of its own (the manual) keeps it.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static(CSP)),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/console.css"),
    )
}

async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/webauthn.js"),
    )
}

async fn local_time_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/local-time.js"),
    )
}

/// Renders a template as an HTML response.
pub fn render<T: askama::Template>(template: &T) -> ConsoleResult<axum::response::Html<String>> {
    template
        .render()
        .map(axum::response::Html)
        .map_err(|error| ConsoleError::Internal(error.to_string()))
}
