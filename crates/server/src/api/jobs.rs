//! Jobs: bulk imports run outside the request, with progress and a result
//! handed out once.

use api_types::jobs::{ImportUsers, Job, JobStarted, RESULT_KEY_HEADER};
use api_types::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, TenantManage};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_users))
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
}

/// Starts an import as a job and answers at once.
pub(crate) fn spawn_import(state: &AppState, prepared: store::jobs::PreparedImport) {
    let store = state.store.clone();
    tokio::spawn(async move { store.run_user_import(prepared).await });
}

/// Import employees from CSV as one job: every line is checked first (422
/// lists every line with a problem, and nothing is written), then passwords
/// are made and hashed and all users are written in one transaction. Poll
/// the job; its one-time passwords are handed out once, to the holder of
/// `result_key`.
#[utoipa::path(post, path = "/tenants/{tenant}/users/import", tag = "users",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    request_body = ImportUsers,
    responses((status = 202, body = JobStarted), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn import_users(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiJson(request): ApiJson<ImportUsers>,
) -> ApiResult<(StatusCode, Json<JobStarted>)> {
    let (started, prepared) = state
        .store
        .start_user_import(
            &access,
            &request.csv,
            request.invite,
            state.mailer.is_some(),
        )
        .await?;
    spawn_import(&state, prepared);
    Ok((StatusCode::ACCEPTED, Json(started)))
}

/// The tenant's recent jobs (newest first, at most 50).
#[utoipa::path(get, path = "/tenants/{tenant}/jobs", tag = "users",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    responses((status = 200, body = Vec<Job>), (status = 404, body = Problem)))]
async fn list_jobs(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
) -> ApiResult<Json<Vec<Job>>> {
    Ok(Json(state.store.list_jobs(&access).await?))
}

/// A job's state and progress. With the `Homegate-Result-Key` header and a
/// finished job whose result has not been fetched, the answer carries the
/// result (one-time passwords) — once: it is deleted as it is handed out
/// (`result_state` becomes `fetched`).
#[utoipa::path(get, path = "/tenants/{tenant}/jobs/{job}", tag = "users",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("job" = String, Path, description = "Job id"),
           ("Homegate-Result-Key" = Option<String>, Header,
            description = "The result_key the job was started with")),
    responses((status = 200, body = Job), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn get_job(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, job)): ApiPath<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<Job>> {
    let key = headers
        .get(RESULT_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty());
    Ok(Json(match key {
        Some(key) => state.store.take_job_result(&access, &job, key).await?,
        None => state.store.get_job(&access, &job).await?,
    }))
}
