//! The employee manual in the browser (`/manual/{tenant}`, HTML and PDF)
//! and the page where tenant admins set its contacts and own sections.

use std::collections::HashMap;

use api_types::Language;
use api_types::manual::{ManualFormat, ManualQuery, ManualSection, ManualSettings};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use store::TenantNeed;

use super::context::Page;
use super::error::{ConsoleError, ConsoleResult, back_with_error, back_with_notice};
use super::{Ctx, render};
use crate::AppState;

async fn view(
    state: &AppState,
    ctx: &Ctx,
    tenant: &str,
    query: ManualQuery,
    format: ManualFormat,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    let access = state
        .store
        .tenant_access(actor, tenant, TenantNeed::View)
        .await?;
    let language = query.language.unwrap_or(ctx.tr.language);
    let pdf_link = format!(
        "/manual/{}/pdf?language={}",
        access.tenant_slug(),
        language.code()
    );
    let query = ManualQuery {
        language: Some(language),
        format: Some(format),
    };
    crate::api::manual::render(state, &access, &query, Some(&pdf_link))
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))
}

pub(super) async fn html(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    Query(query): Query<ManualQuery>,
) -> ConsoleResult<Response> {
    view(&state, &ctx, &tenant, query, ManualFormat::Html).await
}

pub(super) async fn pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    Query(query): Query<ManualQuery>,
) -> ConsoleResult<Response> {
    view(&state, &ctx, &tenant, query, ManualFormat::Pdf).await
}

#[derive(Template)]
#[template(path = "manual_settings.html")]
struct SettingsPage {
    page: Page,
    slug: String,
    settings: ManualSettings,
    languages: Vec<(&'static str, &'static str)>,
}

pub(super) async fn settings_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    let access = state
        .store
        .tenant_access(actor, &tenant, TenantNeed::Manage)
        .await?;
    let mut settings = state.store.manual_settings(&access).await?;
    // One empty section to add a new one.
    settings.sections.push(ManualSection {
        title: String::new(),
        markdown: String::new(),
    });
    let page = SettingsPage {
        page: ctx
            .page("manual-settings-title")
            .warn_public_url(&state.settings.public_url),
        slug: access.tenant_slug().to_owned(),
        settings,
        languages: vec![
            (Language::De.code(), "Deutsch"),
            (Language::Nl.code(), "Nederlands"),
            (Language::En.code(), "English"),
        ],
    };
    Ok(render(&page)?.into_response())
}

pub(super) async fn save_settings(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let actor = ctx.actor()?;
    let access = state
        .store
        .tenant_access(actor, &tenant, TenantNeed::Manage)
        .await?;
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let mut sections = Vec::new();
    for index in 0..=api_types::manual::MAX_SECTIONS {
        let (title, markdown) = (
            field(&format!("title_{index}")),
            field(&format!("markdown_{index}")),
        );
        if title.trim().is_empty() && markdown.trim().is_empty() {
            continue;
        }
        sections.push(ManualSection { title, markdown });
    }
    let settings = ManualSettings {
        support_name: field("support_name"),
        support_email: field("support_email"),
        support_phone: field("support_phone"),
        support_hours: field("support_hours"),
        sections,
    };
    let back = format!("/console/t/{tenant}/manual");
    match state.store.set_manual_settings(&access, settings).await {
        Ok(_) => Ok(back_with_notice(&back, "manual-saved")),
        Err(error) => Ok(back_with_error(&back, &error.to_string())),
    }
}
