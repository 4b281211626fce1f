//! `ApiError`: every way a request can fail, rendered as RFC 9457 problem JSON.
//!
//! User errors (4xx) are returned without logging. Internal errors become a
//! generic 500 whose body carries only an error id; the cause is logged once
//! with that id, so nothing internal leaks to clients.

use api_types::problem::{CONTENT_TYPE, FieldError, Problem};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Well-formed JSON that does not fit the expected shape.
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    NotFound(String),
    /// Refused for now; may be tried again after `retry_after`.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after: std::time::Duration,
    },
    /// The request body is larger than the server takes.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A feature this server is not configured for.
    #[error("{0}")]
    Unavailable(String),
    /// A failure on the server's side; logged, not shown.
    #[error("{0}")]
    Internal(String),
}

/// An import problem in the reader's language (Fluent message of its code).
pub fn import_problem_text(tr: &i18n::Tr, problem: &store::import::ImportProblem) -> String {
    match &problem.arg {
        Some((name, value)) => tr.t1(problem.code, name, value),
        None => tr.t(problem.code),
    }
}

fn field_error(violation: &store::Violation) -> FieldError {
    FieldError {
        field: violation.field.clone(),
        message: violation.message.clone(),
        code: violation.code.map(str::to_owned),
    }
}

impl ApiError {
    pub fn problem(&self) -> (StatusCode, Problem) {
        let make = |status: StatusCode, kind: &str, title: &str, detail: Option<String>| Problem {
            kind: format!("/docs/problems#{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            errors: Vec::new(),
        };
        match self {
            ApiError::Store(StoreError::NotFound { .. }) => {
                let status = StatusCode::NOT_FOUND;
                (
                    status,
                    make(status, "not-found", "Not found", Some(self.to_string())),
                )
            }
            ApiError::Store(StoreError::Conflict(message)) => {
                let status = StatusCode::CONFLICT;
                (
                    status,
                    make(status, "conflict", "Conflict", Some(message.clone())),
                )
            }
            ApiError::Store(StoreError::Taken(violation)) => {
                let status = StatusCode::CONFLICT;
                let mut problem = make(
                    status,
                    "conflict",
                    "Conflict",
                    Some(violation.message.clone()),
                );
                problem.errors = vec![field_error(violation)];
                (status, problem)
            }
            ApiError::Store(StoreError::Unworkable(why)) => {
                let status = StatusCode::CONFLICT;
                let detail =
                    i18n::Tr::new(api_types::Language::En).t(&format!("unworkable-{}", why.code()));
                (
                    status,
                    make(status, why.code(), "Would not work", Some(detail)),
                )
            }
            ApiError::Store(StoreError::Invalid(violations)) => {
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                let count = violations.len();
                let mut problem = make(
                    status,
                    "validation",
                    "Validation failed",
                    Some(format!(
                        "the request has {count} invalid field{}",
                        if count == 1 { "" } else { "s" }
                    )),
                );
                problem.errors = violations.iter().map(field_error).collect();
                (status, problem)
            }
            ApiError::Store(StoreError::Import(problems)) => {
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                let count = problems.lines.len();
                let tr = i18n::Tr::new(api_types::Language::En);
                let mut problem = make(
                    status,
                    "import",
                    "Nothing imported",
                    Some(format!(
                        "{count} line{} cannot be imported; nothing was written",
                        if count == 1 { "" } else { "s" }
                    )),
                );
                problem.errors = problems
                    .lines
                    .iter()
                    .map(|(line, p)| FieldError {
                        field: if *line == 0 {
                            "csv".to_owned()
                        } else {
                            format!("line {line}")
                        },
                        message: import_problem_text(&tr, p),
                        code: None,
                    })
                    .collect();
                (status, problem)
            }
            ApiError::Store(StoreError::Forbidden(message)) => {
                let status = StatusCode::FORBIDDEN;
                (
                    status,
                    make(status, "forbidden", "Forbidden", Some(message.clone())),
                )
            }
            ApiError::Store(StoreError::Unauthenticated(message)) => {
                let status = StatusCode::UNAUTHORIZED;
                (
                    status,
                    make(
                        status,
                        "unauthenticated",
                        "Not logged in",
                        Some(message.clone()),
                    ),
                )
            }
            ApiError::Store(error @ StoreError::AmbiguousLogin) => {
                let status = StatusCode::UNAUTHORIZED;
                (
                    status,
                    make(
                        status,
                        "login-ambiguous",
                        "Name the municipality",
                        Some(error.to_string()),
                    ),
                )
            }
            // A cursor is opaque: one that is well-formed but not this
            // list's is a value the server refuses, not a malformed request.
            ApiError::Store(StoreError::Page(error @ store::paging::PageError::Cursor)) => {
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                (
                    status,
                    make(
                        status,
                        "invalid-cursor",
                        "Page link not valid",
                        Some(error.to_string()),
                    ),
                )
            }
            ApiError::Store(StoreError::Page(error)) => {
                let status = StatusCode::BAD_REQUEST;
                (
                    status,
                    make(
                        status,
                        "bad-request",
                        "Malformed request",
                        Some(error.to_string()),
                    ),
                )
            }
            ApiError::BadRequest(message) => {
                let status = StatusCode::BAD_REQUEST;
                (
                    status,
                    make(
                        status,
                        "bad-request",
                        "Malformed request",
                        Some(message.clone()),
                    ),
                )
            }
            ApiError::UnsupportedMediaType(message) => {
                let status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
                (
                    status,
                    make(
                        status,
                        "unsupported-media-type",
                        "Unsupported media type",
                        Some(message.clone()),
                    ),
                )
            }
            ApiError::Unprocessable(message) => {
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                (
                    status,
                    make(
                        status,
                        "validation",
                        "Validation failed",
                        Some(message.clone()),
                    ),
                )
            }
            ApiError::NotFound(message) => {
                let status = StatusCode::NOT_FOUND;
                (
                    status,
                    make(status, "not-found", "Not found", Some(message.clone())),
                )
            }
            ApiError::Unavailable(message) => {
                let status = StatusCode::SERVICE_UNAVAILABLE;
                (
                    status,
                    make(
                        status,
                        "unavailable",
                        "Not available on this server",
                        Some(message.clone()),
                    ),
                )
            }
            ApiError::PayloadTooLarge(message) => {
                let status = StatusCode::PAYLOAD_TOO_LARGE;
                (
                    status,
                    make(
                        status,
                        "payload-too-large",
                        "Request body too large",
                        Some(message.clone()),
                    ),
                )
            }
            ApiError::TooManyRequests { message, .. } => {
                let status = StatusCode::TOO_MANY_REQUESTS;
                (
                    status,
                    make(
                        status,
                        "rate-limited",
                        "Too many requests",
                        Some(message.clone()),
                    ),
                )
            }
            ApiError::Internal(_)
            | ApiError::Store(
                StoreError::Config(_)
                | StoreError::Database(_)
                | StoreError::Migrate(_)
                | StoreError::SchemaTooNew { .. }
                | StoreError::SecretsKeyMismatch { .. }
                | StoreError::SchemaBehind { .. }
                | StoreError::PasswordHash,
            ) => {
                let status = StatusCode::INTERNAL_SERVER_ERROR;
                let error_id = uuid::Uuid::new_v4();
                tracing::error!(%error_id, error = ?self, "internal error");
                (
                    status,
                    make(
                        status,
                        "internal",
                        "Internal error",
                        Some(format!(
                            "something went wrong on the server; the operator can find error id \
                             {error_id} in its log"
                        )),
                    ),
                )
            }
        }
    }
}

pub fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"homegate\""),
        );
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, problem) = self.problem();
        let mut response = problem_response(status, &problem);
        if let ApiError::TooManyRequests { retry_after, .. } = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after_value(*retry_after));
        }
        response
    }
}

/// `Retry-After` in whole seconds, at least 1.
pub fn retry_after_value(after: std::time::Duration) -> HeaderValue {
    let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
    HeaderValue::from(seconds.max(1))
}

/// Every 413, whoever made it (tower-http's limit on a declared length,
/// axum's on a body that grows past the limit, in any extractor), becomes
/// problem JSON for the API and JSON requests, and a page in the user's
/// language for the console.
pub async fn explain_too_large(
    axum::extract::State(limit): axum::extract::State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let json = request.uri().path().starts_with("/api/")
        || request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.contains("json"));
    let language = crate::console::request_language(request.headers());
    let response = next.run(request).await;
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let mib = limit / (1024 * 1024);
    if json {
        ApiError::PayloadTooLarge(format!(
            "the request body is larger than this server's limit of {mib} MiB \
             ({limit} bytes; the operator sets it with --max-body-mib)"
        ))
        .into_response()
    } else {
        crate::console::too_large_page(language, mib)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".to_owned(),
            ),
            JsonRejection::JsonDataError(error) => ApiError::Unprocessable(error.body_text()),
            // Turned into the full explanation by `explain_too_large`.
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge(other.body_text())
            }
            other => ApiError::BadRequest(other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::BadRequest(rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::BadRequest(rejection.body_text())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
