//! The REST API under `/api/v1`. Each module is one endpoint family; the
//! OpenAPI document is generated from the handlers' annotations.

mod about;
mod audit;
pub(crate) mod auth;
mod contract;
mod devices;
pub(crate) mod enrollment;
mod groups;
mod idp;
mod infra;
pub(crate) mod invitations;
pub(crate) mod jobs;
mod long_poll;
pub(crate) mod manual;
pub(crate) mod paging;
mod problems;
pub(crate) mod sessions;
mod status;
pub(crate) mod sticks;
mod tenants;
mod tokens;
mod users;

use api_types::manual::ManualFormat;
use api_types::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "homegate API",
        description = "Control plane of homegate: tenants, users, groups, applications, \
                       access rules, devices, regions, gateways, tokens and the audit log. \
                       Errors are RFC 9457 problem documents (application/problem+json).",
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, ManualFormat)),
    security(("bearer" = [])),
    tags(
        (name = "auth", description = "Login and API tokens"),
        (name = "tenants", description = "Municipalities, their quota and policy"),
        (name = "users", description = "Provider staff, tenant admins and employees"),
        (name = "groups", description = "Groups of a tenant's users"),
        (name = "applications", description = "What employees reach, and who may"),
        (name = "devices", description = "WireGuard identities of a tenant"),
        (name = "sessions", description = "Devices connected now, against the quota"),
        (name = "enrollment", description = "Enrollment codes, enrolling devices, phone configs"),
        (name = "device", description = "What an enrolled device asks for (device token)"),
        (name = "infrastructure", description = "Regions and gateways"),
        (name = "sticks", description = "Home-office stick batches: prepare, ship, revoke"),
        (name = "manual", description = "The employee manual (HTML, PDF) and its own sections"),
        (name = "status", description = "Status page: components, incidents, maintenance, webhooks, subscriptions"),
        (name = "audit", description = "Who changed what, when, from where"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // What `homegate enroll` received: the `/device/*` endpoints take
        // this instead of a user's token.
        components.add_security_scheme(
            "device",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The API router (to be nested at `/api/v1`) and its OpenAPI document.
pub fn router() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(about::router())
        .merge(auth::router())
        .merge(tokens::router())
        .merge(tenants::router())
        .merge(idp::router())
        .merge(users::router())
        .merge(jobs::router())
        .merge(invitations::router())
        .merge(groups::router())
        .merge(devices::router())
        .merge(enrollment::router())
        .merge(infra::router())
        .merge(manual::router())
        .merge(sessions::router())
        .merge(sticks::router())
        .merge(status::router())
        .merge(audit::router())
        .split_for_parts();
    openapi.servers = Some(vec![utoipa::openapi::Server::new("/api/v1")]);
    problems::document(&mut openapi);
    if let Err(error) = contract::constrain(&mut openapi) {
        tracing::error!(%error, "a rule of api::contract names nothing in the OpenAPI document");
    }
    let router = router
        .route("/openapi.json", axum::routing::get(openapi_json))
        .route(
            "/gateway/stream",
            axum::routing::get(crate::gateway::stream),
        )
        .fallback(not_found);
    (router, openapi)
}

async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        state.openapi.as_ref().clone(),
    )
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such API endpoint; see /api/v1/openapi.json".to_owned())
}

/// A `limit` query parameter: `default` when absent, refused outside
/// `1..=max`, the range the OpenAPI document states (never silently
/// clamped, so a client learns that it asked for more than it gets).
pub(crate) fn limit(value: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    value.map_or(Ok(default), |value| checked_limit(value, max))
}

/// A `limit` someone gave: 1 to `max`.
pub(crate) fn checked_limit(value: u32, max: u32) -> Result<u32, ApiError> {
    if (1..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::BadRequest(format!(
            "limit {value} is out of range: give 1 to {max}"
        )))
    }
}

/// `201 Created` with a JSON body.
pub(crate) fn created<T: serde::Serialize>(value: T) -> (StatusCode, Json<T>) {
    (StatusCode::CREATED, Json(value))
}
