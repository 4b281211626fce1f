//! Home-office sticks in the console: make a batch (written on the server's
//! disk with a progress bar), download its letters, manifest and images,
//! ship and revoke.

use std::path::PathBuf;

use api_types::Language;
use api_types::sticks::{BatchState, CreateStickBatch, Stick, StickBatch};
use api_types::tenancy::DeviceState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use store::{TenantAccess, TenantNeed};

use super::context::Page;
use super::error::{ConsoleError, ConsoleResult, back_with_error, back_with_notice};
use super::{Ctx, render};
use crate::AppState;
use crate::stick_jobs::JobStatus;

async fn access(state: &AppState, ctx: &Ctx, tenant: &str) -> ConsoleResult<TenantAccess> {
    let actor = ctx.actor()?;
    Ok(state
        .store
        .tenant_access(actor, tenant, TenantNeed::Operate)
        .await?)
}

fn batch_dir(state: &AppState, access: &TenantAccess, batch: &str) -> PathBuf {
    state
        .settings
        .sticks_dir()
        .join(access.tenant_id())
        .join(batch)
}

#[derive(Template)]
#[template(path = "sticks.html")]
struct SticksPage {
    page: Page,
    slug: String,
    batches: Vec<StickBatch>,
    failures: Vec<(String, String)>,
    groups: Vec<String>,
    languages: Vec<(&'static str, &'static str, bool)>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
) -> ConsoleResult<Response> {
    let access = access(&state, &ctx, &tenant).await?;
    let batches = state.store.list_stick_batches(&access).await?;
    let failures = state
        .stick_jobs
        .failures()
        .into_iter()
        .filter(|(batch, _)| !batches.iter().any(|b| &b.id == batch))
        .collect();
    let tenant_language = state.store.get_tenant(&access).await?.default_language;
    let page = SticksPage {
        page: ctx
            .page("sticks-title")
            .warn_public_url(&state.settings.public_url),
        slug: access.tenant_slug().to_owned(),
        batches,
        failures,
        groups: state
            .store
            .list_groups(&access)
            .await?
            .into_iter()
            .map(|g| g.name)
            .collect(),
        languages: [
            (Language::De, "Deutsch"),
            (Language::Nl, "Nederlands"),
            (Language::En, "English"),
        ]
        .iter()
        .map(|(language, name)| (language.code(), *name, *language == tenant_language))
        .collect(),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct CreateForm {
    csrf: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    employees: String,
    language: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    valid_days: String,
}

pub(super) async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    axum::Form(form): axum::Form<CreateForm>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant).await?;
    let back = format!("/console/t/{tenant}/sticks");
    let number = |text: &str, what: &str| -> Result<Option<u32>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse()
            .map(Some)
            .map_err(|_| format!("{what}: '{text}' {}", ctx.tr.t("not-a-number")))
    };
    let count = match number(&form.count, &ctx.tr.t("sticks-count")) {
        Ok(count) => count,
        Err(message) => return Ok(back_with_error(&back, &message)),
    };
    let valid_days = match number(&form.valid_days, &ctx.tr.t("sticks-valid-days")) {
        Ok(days) => days,
        Err(message) => return Ok(back_with_error(&back, &message)),
    };
    let recipients = if form.employees.trim().is_empty() {
        Vec::new()
    } else {
        match sticks::recipients::parse_csv(&form.employees) {
            Ok(parsed) => parsed.recipients,
            Err(problems) => {
                // Every problem at once, by line.
                let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
                return Ok(back_with_error(&back, &text.join("; ")));
            }
        }
    };
    let request = CreateStickBatch {
        count,
        recipients,
        language: Language::parse(&form.language),
        valid_days,
        group: Some(form.group.trim().to_owned()).filter(|g| !g.is_empty()),
    };
    let issued = match state.store.create_stick_batch(&access, request).await {
        Ok(issued) => crate::api::sticks::issued(&state.settings, issued),
        Err(error) => return Ok(back_with_error(&back, &error.to_string())),
    };
    let out = batch_dir(&state, &access, &issued.batch.id);
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| {
            ConsoleError::Internal(format!("cannot create {}: {e}", parent.display()))
        })?;
    }
    let batch = issued.batch.id.clone();
    state
        .stick_jobs
        .spawn(state.store.clone(), access, issued, out);
    Ok(Redirect::to(&format!("/console/t/{tenant}/sticks/{batch}")).into_response())
}

#[derive(Template)]
#[template(path = "stick_batch.html")]
struct BatchPage {
    page: Page,
    slug: String,
    batch: StickBatch,
    sticks: Vec<Stick>,
    /// `(done, total)` while the files are being written here.
    progress: Option<(usize, usize)>,
    /// The files exist on the server.
    files: bool,
    /// Generating, but no job runs: the server restarted mid-way.
    interrupted: bool,
}

impl BatchPage {
    fn percent(&self) -> usize {
        self.progress
            .map_or(0, |(done, total)| done * 100 / total.max(1))
    }

    fn batch_state_key(&self) -> String {
        format!("sticks-state-{}", self.batch.state.as_str())
    }

    fn state_key(&self, stick: &Stick) -> String {
        format!("state-{}", stick.state.as_str())
    }

    fn can_ship(&self, stick: &Stick) -> bool {
        stick.state == DeviceState::Prepared && self.batch.state == BatchState::Ready
    }

    fn can_revoke(&self, stick: &Stick) -> bool {
        stick.state != DeviceState::Revoked
    }

    fn recipient(&self, stick: &Stick) -> String {
        stick
            .recipient
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_default()
    }
}

pub(super) async fn batch_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, batch)): Path<(String, String)>,
) -> ConsoleResult<Response> {
    let access = access(&state, &ctx, &tenant).await?;
    let back = format!("/console/t/{tenant}/sticks");
    let batch = match state.store.get_stick_batch(&access, &batch).await {
        Ok(batch) => batch,
        Err(error) => {
            // A failed job rolled the batch back: say why on the list.
            if let Some(JobStatus::Failed { message }) = state.stick_jobs.status(&batch) {
                return Ok(back_with_error(
                    &back,
                    &format!("{}: {message}", ctx.tr.t("sticks-rolled-back")),
                ));
            }
            return Err(error.into());
        }
    };
    let status = state.stick_jobs.status(&batch.id);
    let progress = match (&status, batch.state) {
        (Some(JobStatus::Running { done, total }), BatchState::Generating) => Some((*done, *total)),
        _ => None,
    };
    let page = BatchPage {
        page: ctx.page("sticks-batch"),
        slug: access.tenant_slug().to_owned(),
        sticks: state.store.list_sticks(&access, Some(&batch.id)).await?,
        files: batch.state == BatchState::Ready && batch_dir(&state, &access, &batch.id).is_dir(),
        interrupted: batch.state == BatchState::Generating && progress.is_none(),
        progress,
        batch,
    };
    let mut response = render(&page)?.into_response();
    if page.progress.is_some() {
        // Progress without JavaScript: the page reloads itself each second.
        if let Ok(value) = header::HeaderValue::from_str("1") {
            response.headers_mut().insert(header::REFRESH, value);
        }
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub(super) struct BatchAction {
    csrf: String,
    #[serde(default)]
    confirmed: Option<String>,
}

/// The question asked before a batch or stick action that cannot be
/// undone (`confirm-KEY` and `confirm-KEY-what`); `None` for the others.
fn irreversible(action: &str) -> Option<&'static str> {
    match action {
        "revoke" => Some("revoke-batch"),
        "cancel" => Some("cancel-batch"),
        "delete-files" => Some("delete-files"),
        _ => None,
    }
}

/// `ship`, `revoke`, `cancel`, `resume` or `delete-files` for a batch.
pub(super) async fn batch_action(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, batch, action)): Path<(String, String, String)>,
    axum::Form(form): axum::Form<BatchAction>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant).await?;
    let here = format!("/console/t/{tenant}/sticks/{batch}");
    let list = format!("/console/t/{tenant}/sticks");
    if let Some(key) = irreversible(&action)
        && !super::confirm::answered_yes(form.confirmed.as_ref())
    {
        return super::confirm::ask(
            &ctx,
            super::confirm::Question {
                title: ctx.tr.t(&format!("confirm-{key}")),
                consequence: ctx.tr.t(&format!("confirm-{key}-what")),
                action: format!("/console/t/{tenant}/sticks/{batch}/{action}"),
                back: here,
                fields: Vec::new(),
                option: None,
            },
        );
    }
    let dir = batch_dir(&state, &access, &batch);
    let result = match action.as_str() {
        "ship" => state
            .store
            .ship_stick_batch(&access, &batch)
            .await
            .map(|_| (here, "sticks-shipped")),
        "revoke" => state
            .store
            .revoke_stick_batch(&access, &batch)
            .await
            .map(|_| (here, "sticks-revoked")),
        "cancel" => {
            let cancelled = state.store.cancel_stick_batch(&access, &batch).await;
            if cancelled.is_ok() {
                let _ = sticks::discard_staging(&dir, &batch);
                let _ = std::fs::remove_dir_all(&dir);
            }
            cancelled.map(|_| (list, "sticks-cancelled"))
        }
        "resume" => match state.store.reissue_stick_batch(&access, &batch).await {
            Ok(issued) => {
                let _ = sticks::discard_staging(&dir, &batch);
                let issued = crate::api::sticks::issued(&state.settings, issued);
                state
                    .stick_jobs
                    .spawn(state.store.clone(), access.clone(), issued, dir);
                Ok((here, "sticks-resumed"))
            }
            Err(error) => Err(error),
        },
        "delete-files" => {
            std::fs::remove_dir_all(&dir).map_err(|e| {
                ConsoleError::Internal(format!("cannot delete {}: {e}", dir.display()))
            })?;
            Ok((here, "sticks-files-deleted"))
        }
        _ => return Err(ConsoleError::NotFound(action)),
    };
    match result {
        Ok((to, notice)) => Ok(back_with_notice(&to, notice)),
        Err(error) => Ok(back_with_error(
            &format!("/console/t/{tenant}/sticks/{batch}"),
            &error.to_string(),
        )),
    }
}

/// `ship` or `revoke` for one stick.
pub(super) async fn stick_action(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, batch, stick, action)): Path<(String, String, String, String)>,
    axum::Form(form): axum::Form<BatchAction>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant).await?;
    let here = format!("/console/t/{tenant}/sticks/{batch}");
    if action == "revoke" && !super::confirm::answered_yes(form.confirmed.as_ref()) {
        return super::confirm::ask(
            &ctx,
            super::confirm::Question {
                title: ctx.tr.t("confirm-revoke-stick"),
                consequence: ctx.tr.t("confirm-revoke-stick-what"),
                action: format!("/console/t/{tenant}/sticks/{batch}/sticks/{stick}/{action}"),
                back: here,
                fields: Vec::new(),
                option: None,
            },
        );
    }
    let (target, notice) = match action.as_str() {
        "ship" => (DeviceState::Shipped, "sticks-stick-shipped"),
        "revoke" => (DeviceState::Revoked, "sticks-stick-revoked"),
        _ => return Err(ConsoleError::NotFound(action)),
    };
    match state.store.update_stick(&access, &stick, target).await {
        Ok(_) => Ok(back_with_notice(&here, notice)),
        Err(error) => Ok(back_with_error(&here, &error.to_string())),
    }
}

/// Whether `path` names one of a batch's files (nothing else is served).
fn batch_file(path: &str) -> Option<(&'static str, &str)> {
    match path {
        "letters.pdf" => return Some(("application/pdf", path)),
        "manifest.csv" => return Some(("text/csv; charset=utf-8", path)),
        _ => {}
    }
    let (folder, name) = path.split_once('/')?;
    let (stem, extension) = name.rsplit_once('.')?;
    let kind = match (folder, extension) {
        ("images", "img") => "application/octet-stream",
        ("letters", "pdf") => "application/pdf",
        ("bundles", "json") => "application/json",
        _ => return None,
    };
    let safe =
        stem.starts_with("ST-") && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    safe.then_some((kind, path))
}

pub(super) async fn download(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, batch, path)): Path<(String, String, String)>,
) -> ConsoleResult<Response> {
    let access = access(&state, &ctx, &tenant).await?;
    let batch = state.store.get_stick_batch(&access, &batch).await?;
    let Some((content_type, relative)) = batch_file(&path) else {
        return Err(ConsoleError::NotFound(path.clone()));
    };
    let file_path = batch_dir(&state, &access, &batch.id).join(relative);
    let file = tokio::fs::File::open(&file_path)
        .await
        .map_err(|_| ConsoleError::NotFound(relative.to_owned()))?;
    let length = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let name = relative.rsplit('/').next().unwrap_or(relative).to_owned();
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_LENGTH, length.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::batch_file;

    #[test]
    fn only_the_batch_files_are_served() {
        assert!(batch_file("letters.pdf").is_some());
        assert!(batch_file("images/ST-AB12-CD34.img").is_some());
        assert!(batch_file("bundles/ST-AB12-CD34.json").is_some());
        for bad in [
            "../homegate.db",
            "images/../../x.img",
            "images/x.img",
            "letters/ST-A/B.pdf",
            "tls-key.pem",
            "images/ST-A.pdf",
        ] {
            assert!(batch_file(bad).is_none(), "{bad}");
        }
    }
}
