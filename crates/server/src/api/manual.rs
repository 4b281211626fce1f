//! The employee manual of a tenant (HTML or PDF) and its settings.

use api_types::manual::{ManualFormat, ManualQuery, ManualSettings};
use api_types::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use store::TenantAccess;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, TenantManage, TenantView};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_manual))
        .routes(routes!(get_settings, set_settings))
}

/// A manual rendered from the tenant's current data.
pub(crate) async fn render(
    state: &AppState,
    access: &TenantAccess,
    query: &ManualQuery,
    pdf_link: Option<&str>,
) -> Result<Response, ApiError> {
    let tenant = state.store.get_tenant(access).await?;
    let applications = crate::proxy::applications_with_web_urls(state, access).await?;
    let settings = state.store.manual_settings(access).await?;
    let input = manual::ManualInput {
        tenant: &tenant,
        applications: &applications,
        settings: &settings,
        public_url: &state.settings.public_url,
        language: query.language.unwrap_or(tenant.default_language),
        today: time::OffsetDateTime::now_utc(),
    };
    let name = format!("homegate-{}-{}", tenant.slug, input.language.code());
    Ok(match query.format.unwrap_or(ManualFormat::Pdf) {
        ManualFormat::Pdf => {
            let bytes = tokio::task::block_in_place(|| manual::pdf(&input))
                .map_err(|e| ApiError::Internal(format!("cannot write the manual: {e}")))?;
            (
                [
                    (header::CONTENT_TYPE, "application/pdf".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("inline; filename=\"{name}.pdf\""),
                    ),
                ],
                bytes,
            )
                .into_response()
        }
        ManualFormat::Html => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
                // The page has no scripts; its one style sheet is inline,
                // so that it also works saved to a file.
                (header::CONTENT_SECURITY_POLICY, manual_csp().to_owned()),
            ],
            manual::html(&input, pdf_link),
        )
            .into_response(),
    })
}

/// The employee manual: how to enroll laptops, phones and sticks, the
/// tenant's applications, portal, status page and support contacts.
#[utoipa::path(get, path = "/tenants/{tenant}/manual", tag = "manual",
    params(("tenant" = String, Path, description = "Tenant slug or id"), ManualQuery),
    responses(
        (status = 200, description = "The manual", content(
            (Vec<u8> = "application/pdf"), (String = "text/html"))),
        (status = 404, body = Problem),
    ))]
async fn get_manual(
    State(state): State<AppState>,
    TenantView(_actor, access): TenantView,
    ApiQuery(query): ApiQuery<ManualQuery>,
) -> ApiResult<Response> {
    render(&state, &access, &query, None).await
}

/// Support contacts and own sections of the manual.
#[utoipa::path(get, path = "/tenants/{tenant}/manual/settings", tag = "manual",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    responses((status = 200, body = ManualSettings)))]
async fn get_settings(
    State(state): State<AppState>,
    TenantView(_actor, access): TenantView,
) -> ApiResult<Json<ManualSettings>> {
    Ok(Json(state.store.manual_settings(&access).await?))
}

/// Replace the support contacts and own sections (Markdown; raw HTML is
/// not rendered).
#[utoipa::path(put, path = "/tenants/{tenant}/manual/settings", tag = "manual",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    request_body = ManualSettings,
    responses((status = 200, body = ManualSettings), (status = 422, body = Problem)))]
async fn set_settings(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiJson(settings): ApiJson<ManualSettings>,
) -> ApiResult<Json<ManualSettings>> {
    Ok(Json(
        state.store.set_manual_settings(&access, settings).await?,
    ))
}

/// The manual page's Content-Security-Policy: nothing but its own inline
/// style sheet, allowed by hash.
fn manual_csp() -> &'static str {
    static CSP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        use base64::Engine as _;
        use sha2::Digest as _;
        let hash = sha2::Sha256::digest(manual::html_style().as_bytes());
        format!(
            "default-src 'none'; style-src 'sha256-{}'; img-src data:; \
             frame-ancestors 'none'; form-action 'none'",
            base64::engine::general_purpose::STANDARD.encode(hash)
        )
    });
    &CSP
}
