//! Console errors: a page in the user's language, or a redirect to the login.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use store::StoreError;

#[derive(Debug)]
pub enum ConsoleError {
    /// Not logged in: go to the login page, then come back to `next`.
    NotLoggedIn {
        next: String,
    },
    /// Logged in with a one-time password: replace it first.
    PasswordChange,
    Csrf,
    Forbidden(String),
    NotFound(String),
    /// A change was refused; go back to `back` and say why.
    Refused {
        back: String,
        message: String,
    },
    Internal(String),
}

pub type ConsoleResult<T> = Result<T, ConsoleError>;

/// Text as one query-string value.
pub(crate) fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Text back from [`encode`], which leaves no bare `&` or `=`: the whole
/// text parses as one key.
pub(super) fn decode(text: &str) -> String {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(key, _)| key.into_owned())
        .collect()
}

/// The cookie that carries a refusal's message to the page shown next.
pub(super) const FLASH_COOKIE: &str = "hg_flash";

/// The flash cookie with `value`; an empty value with no lifetime forgets it.
fn flash_cookie(
    value: String,
    max_age_seconds: i64,
) -> axum_extra::extract::cookie::Cookie<'static> {
    use axum_extra::extract::cookie::{Cookie, SameSite};
    Cookie::build((FLASH_COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::seconds(max_age_seconds))
        .build()
}

/// Where to go back to with an error message. The message travels in a
/// short-lived cookie, never in the URL: a link from anyone could put any
/// text there, which the page would show as our own alert.
pub(super) fn back_with_error(back: &str, message: &str) -> Response {
    // Bounded: a cookie holds about 4 KB.
    let message: String = message.chars().take(600).collect();
    let cookie = flash_cookie(encode(&message), 120);
    let mut response = Redirect::to(back).into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&cookie.to_string()) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, value);
    }
    response
}

/// Forgets a refusal's message once a page has been shown with it.
pub(crate) async fn forget_flash(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let had_flash = axum_extra::extract::CookieJar::from_headers(request.headers())
        .get(FLASH_COOKIE)
        .is_some();
    let mut response = next.run(request).await;
    let forget = flash_cookie(String::new(), 0).to_string();
    if had_flash
        && !response.status().is_redirection()
        && let Ok(value) = axum::http::HeaderValue::from_str(&forget)
    {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, value);
    }
    response
}

/// Where to go back to with a notice (a message key).
pub(super) fn back_with_notice(back: &str, notice_key: &str) -> Response {
    let separator = if back.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{back}{separator}notice={notice_key}")).into_response()
}

impl ConsoleError {
    /// A store error while changing something from the page `back`.
    pub fn refused(back: &str, error: StoreError) -> ConsoleError {
        match error {
            StoreError::Database(_)
            | StoreError::Migrate(_)
            | StoreError::SchemaTooNew { .. }
            | StoreError::SecretsKeyMismatch { .. }
            | StoreError::SchemaBehind { .. }
            | StoreError::PasswordHash
            | StoreError::Config(_) => ConsoleError::Internal(format!("{error:?}")),
            other => ConsoleError::Refused {
                back: back.to_owned(),
                message: other.to_string(),
            },
        }
    }
}

impl From<StoreError> for ConsoleError {
    fn from(error: StoreError) -> ConsoleError {
        match error {
            StoreError::NotFound { .. } => ConsoleError::NotFound(error.to_string()),
            StoreError::Forbidden(message) => ConsoleError::Forbidden(message),
            StoreError::Unauthenticated(_) | StoreError::AmbiguousLogin => {
                ConsoleError::NotLoggedIn { next: "/".into() }
            }
            StoreError::Conflict(_)
            | StoreError::Taken(_)
            | StoreError::Invalid(_)
            | StoreError::Unworkable(_)
            | StoreError::Page(_)
            | StoreError::Import(_) => ConsoleError::Refused {
                back: "/".into(),
                message: error.to_string(),
            },
            StoreError::Database(_)
            | StoreError::Migrate(_)
            | StoreError::SchemaTooNew { .. }
            | StoreError::SecretsKeyMismatch { .. }
            | StoreError::SchemaBehind { .. }
            | StoreError::PasswordHash
            | StoreError::Config(_) => ConsoleError::Internal(format!("{error:?}")),
        }
    }
}

impl From<crate::error::ApiError> for ConsoleError {
    fn from(error: crate::error::ApiError) -> ConsoleError {
        match error {
            crate::error::ApiError::Store(store) => store.into(),
            other => ConsoleError::Refused {
                back: "/".into(),
                message: other.to_string(),
            },
        }
    }
}

/// Text for HTML written by hand (error pages outside the templates).
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · homegate</title>\
         <link rel=\"stylesheet\" href=\"/assets/console.css\"></head><body><main id=\"main\">\
         <h1>{title}</h1><p class=\"error\" role=\"alert\">{}</p><p><a href=\"/\">homegate</a></p>\
         </main></body></html>",
        escape(detail),
        title = escape(title)
    );
    (status, Html(body)).into_response()
}

/// The language of a page made without a session: the language cookie, or
/// the browser's preference.
pub fn request_language(headers: &axum::http::HeaderMap) -> api_types::Language {
    axum_extra::extract::cookie::CookieJar::from_headers(headers)
        .get(super::context::LANGUAGE_COOKIE)
        .and_then(|cookie| api_types::Language::parse(cookie.value()))
        .unwrap_or_else(|| {
            i18n::negotiate(
                headers
                    .get(axum::http::header::ACCEPT_LANGUAGE)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or(""),
            )
        })
}

/// The page for a form or upload larger than the server takes.
pub fn too_large_page(language: api_types::Language, mib: usize) -> Response {
    let tr = i18n::Tr::new(language);
    let mut response = page(
        StatusCode::PAYLOAD_TOO_LARGE,
        &tr.t("too-large-title"),
        &tr.t1("too-large-detail", "mib", &mib.to_string()),
    );
    if let Ok(lang) = axum::http::HeaderValue::from_str(tr.code()) {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_LANGUAGE, lang);
    }
    response
}

/// An error page to be made in the reader's language, with the console's
/// header, by [`localized_errors`]; the response carries it as an
/// extension (its body is the English page, for a reader without a
/// session).
#[derive(Debug, Clone)]
pub(crate) struct ErrorPage {
    /// Message key of the title (`error-KEY-title`).
    key: &'static str,
    /// The detail: the key's own text (`error-KEY-detail`, with `id`), or a
    /// text of its own.
    detail: Option<String>,
    error_id: Option<String>,
}

impl ErrorPage {
    fn words(&self, tr: &i18n::Tr) -> (String, String) {
        let title = tr.t(&format!("error-{}-title", self.key));
        let detail = match &self.detail {
            Some(detail) => detail.clone(),
            None => tr.t1(
                &format!("error-{}-detail", self.key),
                "id",
                self.error_id.as_deref().unwrap_or(""),
            ),
        };
        (title, detail)
    }

    fn response(self, status: StatusCode) -> Response {
        let (title, detail) = self.words(&i18n::Tr::new(api_types::Language::En));
        let mut response = page(status, &title, &detail);
        response.extensions_mut().insert(self);
        response
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let error_page = |key, detail| ErrorPage {
            key,
            detail,
            error_id: None,
        };
        match self {
            ConsoleError::NotLoggedIn { next } => {
                Redirect::to(&format!("/login?next={}", encode(&next))).into_response()
            }
            ConsoleError::PasswordChange => Redirect::to("/password").into_response(),
            ConsoleError::Csrf => error_page("csrf", None).response(StatusCode::FORBIDDEN),
            ConsoleError::Forbidden(message) => {
                error_page("forbidden", Some(message)).response(StatusCode::FORBIDDEN)
            }
            ConsoleError::NotFound(message) => {
                error_page("not-found", Some(message)).response(StatusCode::NOT_FOUND)
            }
            ConsoleError::Refused { back, message } => back_with_error(&back, &message),
            ConsoleError::Internal(detail) => {
                let error_id = uuid::Uuid::new_v4();
                tracing::error!(%error_id, %detail, "console error");
                ErrorPage {
                    key: "internal",
                    detail: None,
                    error_id: Some(error_id.to_string()),
                }
                .response(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    page: super::context::Page,
    detail: String,
}

/// Makes the console's error pages again in the reader's language, with
/// the header and navigation of every page (the error itself is decided
/// where the request's context is no longer at hand).
pub(crate) async fn localized_errors(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (headers, uri) = (request.headers().clone(), request.uri().clone());
    let response = next.run(request).await;
    let Some(error_page) = response.extensions().get::<ErrorPage>().cloned() else {
        return response;
    };
    let status = response.status();
    let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    parts.uri = uri;
    let Ok(ctx) =
        <super::Ctx as axum::extract::FromRequestParts<crate::AppState>>::from_request_parts(
            &mut parts, &state,
        )
        .await
    else {
        return response;
    };
    let (title, detail) = error_page.words(&ctx.tr);
    let page = ErrorTemplate {
        page: ctx.page_titled(title),
        detail,
    };
    match askama::Template::render(&page) {
        Ok(body) => (status, Html(body)).into_response(),
        Err(_) => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_text_decodes_to_itself() {
        for text in ["", "plain", "a=b & c; d", "Größe: 100 % „ja“", "x+y%20z"] {
            assert_eq!(decode(&encode(text)), text);
        }
    }
}
