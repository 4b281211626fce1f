//! The page of a running job (CSV imports): progress while it runs (the page
//! reloads itself every second, no script), then its result once.
//!
//! The result key travels in a cookie scoped to the job's page
//! (`hg_job_<id>`, HttpOnly, SameSite=Strict), so only the browser that
//! started the import can open the one-time passwords; they are shown once
//! and the cookie is removed.

use std::time::Duration;

use api_types::jobs::{Job, JobPhase, JobStarted, JobState, ResultState};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine;
use store::TenantNeed;

use super::context::Page;
use super::error::ConsoleResult;
use super::{Ctx, render};
use crate::AppState;

fn cookie_name(job: &str) -> String {
    format!("hg_job_{job}")
}

fn cookie_path(tenant: &str, job: &str) -> String {
    format!("/console/t/{tenant}/jobs/{job}")
}

/// Keeps a job's result key in the browser that started it.
pub(super) fn remember_key(
    jar: CookieJar,
    state: &AppState,
    tenant: &str,
    started: &JobStarted,
) -> CookieJar {
    let secure = state.settings.public_url.starts_with("https://");
    let cookie = Cookie::build((cookie_name(&started.job.id), started.result_key.clone()))
        .path(cookie_path(tenant, &started.job.id))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::days(1))
        .build();
    jar.add(cookie)
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    page: Page,
    slug: String,
    job: Job,
    running: bool,
    progress: String,
    /// `(username, one-time password)`, shown this once.
    passwords: Vec<(String, String)>,
    /// The passwords as a CSV `data:` URL for download.
    download: String,
    /// Why there are no passwords to show, or why the job failed.
    message: Option<String>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    jar: CookieJar,
    Path((tenant, job)): Path<(String, String)>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    let access = state
        .store
        .tenant_access(actor, &tenant, TenantNeed::Manage)
        .await?;
    // A small import is done within a moment: show its result right away.
    let mut current = state.store.get_job(&access, &job).await?;
    for _ in 0..10 {
        if current.state != JobState::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        current = state.store.get_job(&access, &job).await?;
    }
    let tr = &ctx.tr;
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut jar = jar;
    let mut passwords = Vec::new();
    let mut message = None;
    let title;
    match current.state {
        JobState::Running => title = "job-title",
        JobState::Failed => {
            title = "job-failed-title";
            let code = current
                .error
                .as_ref()
                .map_or("internal", |e| e.code.as_str());
            let key = match code {
                "interrupted" | "conflict" => format!("job-error-{code}"),
                _ => "job-error-internal".to_owned(),
            };
            message = Some(format!("{} {}", tr.t("job-failed-intro"), tr.t(&key)));
        }
        JobState::Done => {
            title = "import-done-title";
            let key = jar.get(&cookie_name(&job)).map(|c| c.value().to_owned());
            if let (ResultState::Available, Some(key)) = (current.result_state, key) {
                // A key that does not open it (a stale cookie) changes nothing.
                if let Ok(taken) = state.store.take_job_result(&access, &job, &key).await {
                    current = taken;
                }
                jar = jar.remove(
                    Cookie::build(cookie_name(&job))
                        .path(cookie_path(&tenant, &job))
                        .build(),
                );
            }
            match &current.result {
                Some(result) => {
                    passwords = result
                        .passwords
                        .iter()
                        .map(|p| (p.username.clone(), p.password.clone()))
                        .collect();
                }
                None => {
                    message = Some(tr.t(match current.result_state {
                        ResultState::Fetched => "job-result-fetched",
                        ResultState::Expired => "job-result-expired",
                        _ => "job-result-elsewhere",
                    }));
                }
            }
        }
    }
    let progress = match current.phase {
        JobPhase::Hashing => tr.count(
            "job-hashing",
            count(current.done),
            &[
                ("done", &current.done.to_string()),
                ("total", &current.total.to_string()),
            ],
        ),
        JobPhase::Writing => tr.n("job-writing", "total", count(current.total)),
        JobPhase::Finished => tr.n("import-done-intro", "count", count(current.done)),
    };
    let mut csv = String::from("username,password\n");
    for (username, password) in &passwords {
        csv.push_str(&format!("{username},{password}\n"));
    }
    let page = JobPage {
        page: ctx.page(title),
        slug: access.tenant_slug().to_owned(),
        running: current.state == JobState::Running,
        progress,
        download: format!(
            "data:text/csv;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(csv)
        ),
        passwords,
        message,
        job: current,
    };
    let html = render(&page)?;
    Ok((jar, [(header::CACHE_CONTROL, "no-store")], html).into_response())
}
