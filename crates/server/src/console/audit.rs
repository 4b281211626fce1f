//! The audit log with filters, and its export.

use api_types::audit::{AuditEvent, AuditQuery};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::context::Page;
use super::error::ConsoleResult;
use super::{Ctx, render};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub(super) struct Filter {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    format: String,
}

impl Filter {
    fn query(&self) -> AuditQuery {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        AuditQuery {
            tenant: some(&self.tenant),
            actor: some(&self.actor),
            action: some(&self.action),
            since: some(&self.since),
            until: None,
            limit: Some(200),
            before: None,
        }
    }

    fn encoded(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("tenant", &self.tenant)
            .append_pair("actor", &self.actor)
            .append_pair("action", &self.action)
            .append_pair("since", &self.since)
            .finish()
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: Page,
    filter: Filter,
    query: String,
    events: Vec<AuditEvent>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(filter): Query<Filter>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    let (events, error) = match state
        .store
        .audit_events(actor, &filter.query(), Some(200))
        .await
    {
        Ok(events) => (events, None),
        Err(store::StoreError::Invalid(violations)) => (
            Vec::new(),
            Some(
                violations
                    .iter()
                    .map(|v| v.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ),
        Err(other) => return Err(other.into()),
    };
    let mut page = ctx.page("audit-title");
    if error.is_some() {
        page.error = error;
    }
    let query = filter.encoded();
    Ok(render(&AuditPage {
        page,
        filter,
        query,
        events,
    })?
    .into_response())
}

pub(super) async fn export(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(filter): Query<Filter>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    let events = state
        .store
        .audit_events(actor, &filter.query(), None)
        .await?;
    if filter.format == "json" {
        Ok((
            [
                (header::CONTENT_TYPE, "application/json"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"homegate-audit.json\"",
                ),
            ],
            serde_json::to_string_pretty(&events).unwrap_or_default(),
        )
            .into_response())
    } else {
        Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"homegate-audit.csv\"",
                ),
            ],
            store::audit::to_csv(&events),
        )
            .into_response())
    }
}
