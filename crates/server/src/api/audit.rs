use api_types::audit::{AuditEvent, AuditQuery};
use api_types::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Authenticated};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_events))
        .routes(routes!(export_events))
}

/// Audit events, newest first. Provider staff see all; tenant admins their tenant's.
#[utoipa::path(get, path = "/audit", tag = "audit",
    params(AuditQuery),
    responses((status = 200, body = Vec<AuditEvent>), (status = 403, body = Problem)))]
async fn list_events(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEvent>>> {
    let limit = super::limit(
        query.limit,
        store::audit::DEFAULT_LIMIT,
        store::audit::MAX_LIMIT,
    )?;
    Ok(Json(
        state
            .store
            .audit_events(&actor, &query, Some(limit))
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportFormat {
    /// `csv` or `json` (default).
    #[param(inline)]
    format: Option<ExportKind>,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum ExportKind {
    Csv,
    Json,
}

/// All matching audit events as a CSV or JSON download.
#[utoipa::path(get, path = "/audit/export", tag = "audit",
    params(AuditQuery, ExportFormat),
    responses(
        (status = 200, description = "All matching events, as an attachment", content(
            (Vec<AuditEvent> = "application/json"), (String = "text/csv"))),
        (status = 400, body = Problem),
    ))]
async fn export_events(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiQuery(query): ApiQuery<AuditQuery>,
    ApiQuery(format): ApiQuery<ExportFormat>,
) -> ApiResult<Response> {
    // All matching events unless a limit is given; one is checked as the
    // list's is.
    let limit = query
        .limit
        .map(|limit| super::checked_limit(limit, store::audit::MAX_LIMIT))
        .transpose()?;
    let events = state.store.audit_events(&actor, &query, limit).await?;
    match format.format.unwrap_or(ExportKind::Json) {
        ExportKind::Csv => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"homegate-audit.csv\"",
                ),
            ],
            store::audit::to_csv(&events),
        )
            .into_response()),
        ExportKind::Json => Ok((
            [(
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"homegate-audit.json\"",
            )],
            Json(events),
        )
            .into_response()),
    }
}
