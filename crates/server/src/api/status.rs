//! The status page: components, incidents, maintenance and webhooks
//! (provider staff), and e-mail subscriptions (anyone).

use api_types::problem::Problem;
use api_types::status::{
    Component, CreateComponent, CreateIncident, CreateMaintenance, CreateWebhook, Incident,
    PostIncidentUpdate, SetComponentStatus, Subscribe, UpdateComponent, Webhook, WebhookCreated,
};
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use serde::Deserialize;
use store::now_ms;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::created;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ProviderStaff};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_components, create_component))
        .routes(routes!(get_component, update_component, delete_component))
        .routes(routes!(set_component_status, clear_component_status))
        .routes(routes!(list_incidents, create_incident))
        .routes(routes!(get_incident))
        .routes(routes!(post_incident_update))
        .routes(routes!(create_maintenance))
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(subscribe))
}

/// What the public page shows changed: render it anew.
fn changed<T>(state: &AppState, value: T) -> T {
    state.page_cache.clear();
    value
}

/// Components with their status now.
#[utoipa::path(get, path = "/status/components", tag = "status",
    responses((status = 200, body = Vec<Component>), (status = 403, body = Problem)))]
async fn list_components(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
) -> ApiResult<Json<Vec<Component>>> {
    Ok(Json(state.store.list_components(&access).await?))
}

/// Add a component (a region's VPN exists with its region).
#[utoipa::path(post, path = "/status/components", tag = "status", request_body = CreateComponent,
    responses((status = 201, body = Component), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_component(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiJson(request): ApiJson<CreateComponent>,
) -> ApiResult<(StatusCode, Json<Component>)> {
    let component = state.store.create_component(&access, request).await?;
    Ok(changed(&state, created(component)))
}

/// One component.
#[utoipa::path(get, path = "/status/components/{component}", tag = "status",
    params(("component" = String, Path, description = "Component name or id")),
    responses((status = 200, body = Component), (status = 404, body = Problem)))]
async fn get_component(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiPath(component): ApiPath<String>,
) -> ApiResult<Json<Component>> {
    Ok(Json(state.store.get_component(&access, &component).await?))
}

/// Change a component's title, description, group, tenants or position.
#[utoipa::path(patch, path = "/status/components/{component}", tag = "status",
    params(("component" = String, Path, description = "Component name or id")),
    request_body = UpdateComponent,
    responses((status = 200, body = Component), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_component(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiPath(component): ApiPath<String>,
    ApiJson(request): ApiJson<UpdateComponent>,
) -> ApiResult<Json<Component>> {
    let component = state
        .store
        .update_component(&access, &component, request)
        .await?;
    Ok(changed(&state, Json(component)))
}

/// Delete a component an operator created.
#[utoipa::path(delete, path = "/status/components/{component}", tag = "status",
    params(("component" = String, Path, description = "Component name or id")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_component(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiPath(component): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.store.delete_component(&access, &component).await?;
    Ok(changed(&state, StatusCode::NO_CONTENT))
}

/// Set a component's status; for a region's VPN this overrides the
/// automatic status until cleared.
#[utoipa::path(put, path = "/status/components/{component}/status", tag = "status",
    params(("component" = String, Path, description = "Component name or id")),
    request_body = SetComponentStatus,
    responses((status = 200, body = Component), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_component_status(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiPath(component): ApiPath<String>,
    ApiJson(request): ApiJson<SetComponentStatus>,
) -> ApiResult<Json<Component>> {
    let component = state
        .store
        .set_component_status(&access, &component, request)
        .await?;
    Ok(changed(&state, Json(component)))
}

/// Clear the operator's status: a region's VPN follows its gateways again,
/// another component is operational.
#[utoipa::path(delete, path = "/status/components/{component}/status", tag = "status",
    params(("component" = String, Path, description = "Component name or id")),
    responses((status = 200, body = Component), (status = 404, body = Problem)))]
async fn clear_component_status(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiPath(component): ApiPath<String>,
) -> ApiResult<Json<Component>> {
    let component = state
        .store
        .clear_component_status(&access, &component)
        .await?;
    Ok(changed(&state, Json(component)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct IncidentsQuery {
    /// Include resolved incidents and completed maintenance.
    #[serde(default)]
    all: bool,
}

/// Incidents and maintenance, newest first (open ones unless `all`).
#[utoipa::path(get, path = "/status/incidents", tag = "status", params(IncidentsQuery),
    responses((status = 200, body = Vec<Incident>), (status = 403, body = Problem)))]
async fn list_incidents(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiQuery(query): ApiQuery<IncidentsQuery>,
) -> ApiResult<Json<Vec<Incident>>> {
    Ok(Json(
        state
            .store
            .list_incidents(
                &access,
                query.all,
                state.settings.incident_stale_after_ms,
                now_ms(),
            )
            .await?,
    ))
}

/// Open an incident with its first update; subscribers and webhooks are
/// notified.
#[utoipa::path(post, path = "/status/incidents", tag = "status", request_body = CreateIncident,
    responses((status = 201, body = Incident), (status = 422, body = Problem)))]
async fn create_incident(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiJson(request): ApiJson<CreateIncident>,
) -> ApiResult<(StatusCode, Json<Incident>)> {
    let incident = state
        .store
        .create_incident(
            &access,
            request,
            state.settings.incident_stale_after_ms,
            now_ms(),
        )
        .await?;
    Ok(changed(&state, created(incident)))
}

/// One incident or maintenance with all its updates.
#[utoipa::path(get, path = "/status/incidents/{incident}", tag = "status",
    params(("incident" = String, Path, description = "Incident id")),
    responses((status = 200, body = Incident), (status = 404, body = Problem)))]
async fn get_incident(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiPath(incident): ApiPath<String>,
) -> ApiResult<Json<Incident>> {
    Ok(Json(
        state
            .store
            .get_incident(
                &access,
                &incident,
                state.settings.incident_stale_after_ms,
                now_ms(),
            )
            .await?,
    ))
}

/// Post an update: `resolved` resolves an incident, `completed` ends a
/// maintenance early.
#[utoipa::path(post, path = "/status/incidents/{incident}/updates", tag = "status",
    params(("incident" = String, Path, description = "Incident id")),
    request_body = PostIncidentUpdate,
    responses((status = 201, body = Incident), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn post_incident_update(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiPath(incident): ApiPath<String>,
    ApiJson(request): ApiJson<PostIncidentUpdate>,
) -> ApiResult<(StatusCode, Json<Incident>)> {
    let incident = state
        .store
        .post_incident_update(
            &access,
            &incident,
            request,
            state.settings.incident_stale_after_ms,
            now_ms(),
        )
        .await?;
    Ok(changed(&state, created(incident)))
}

/// Schedule maintenance: its components show "under maintenance" during the
/// window, by themselves.
#[utoipa::path(post, path = "/status/maintenance", tag = "status", request_body = CreateMaintenance,
    responses((status = 201, body = Incident), (status = 422, body = Problem)))]
async fn create_maintenance(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiJson(request): ApiJson<CreateMaintenance>,
) -> ApiResult<(StatusCode, Json<Incident>)> {
    let incident = state
        .store
        .create_maintenance(
            &access,
            request,
            state.settings.incident_stale_after_ms,
            now_ms(),
        )
        .await?;
    Ok(changed(&state, created(incident)))
}

/// Webhooks with their delivery backlog.
#[utoipa::path(get, path = "/status/webhooks", tag = "status",
    responses((status = 200, body = Vec<Webhook>), (status = 403, body = Problem)))]
async fn list_webhooks(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
) -> ApiResult<Json<Vec<Webhook>>> {
    Ok(Json(state.store.list_webhooks(&access).await?))
}

/// Add a webhook; returns its signing secret once.
#[utoipa::path(post, path = "/status/webhooks", tag = "status", request_body = CreateWebhook,
    responses((status = 201, body = WebhookCreated), (status = 422, body = Problem)))]
async fn create_webhook(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiJson(request): ApiJson<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<WebhookCreated>)> {
    Ok(created(
        state
            .store
            .create_webhook(&access, request, now_ms())
            .await?,
    ))
}

/// Delete a webhook and its pending deliveries.
#[utoipa::path(delete, path = "/status/webhooks/{webhook}", tag = "status",
    params(("webhook" = String, Path, description = "Webhook id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_webhook(
    State(state): State<AppState>,
    ProviderStaff(_actor, access): ProviderStaff,
    ApiPath(webhook): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.store.delete_webhook(&access, &webhook).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Subscribe an e-mail address (anyone; double opt-in: the address gets a
/// link to confirm).
#[utoipa::path(post, path = "/status/subscriptions", tag = "status", request_body = Subscribe,
    security(),
    responses((status = 202), (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn subscribe(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    ApiJson(request): ApiJson<Subscribe>,
) -> ApiResult<StatusCode> {
    if state.mailer.is_none() {
        return Err(ApiError::Unavailable(
            "e-mail notifications are not configured on this server (serve --smtp-url)".into(),
        ));
    }
    state.enroll_limiter.check(peer.ip())?;
    state.store.subscribe(request, now_ms()).await?;
    Ok(StatusCode::ACCEPTED)
}
