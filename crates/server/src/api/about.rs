//! What the control plane says about itself.

use api_types::public_url::ServerInfo;
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(server_info))
}

/// The public URL employees are given (in stick bundles, letters, manuals)
/// and the certificate pin bundles carry. Clients warn when it is a
/// loopback address or plain http.
#[utoipa::path(get, path = "/server", tag = "auth", security(),
    responses((status = 200, body = ServerInfo)))]
async fn server_info(State(state): State<AppState>) -> Json<ServerInfo> {
    Json(ServerInfo {
        public_url: state.settings.public_url.clone(),
        certificate_pin: state.settings.certificate_pin.clone(),
    })
}
