//! Enrollment codes, enrolling devices, the device API, and phone configs.

use std::net::SocketAddr;

use api_types::enrollment::{
    CreateEnrollmentCode, CreatePhone, DeviceConfig, DeviceStatus, EnrollRequest, EnrollResponse,
    EnrollmentCode, EnrollmentCodeCreated, PhoneConfig, wg_quick,
};
use api_types::problem::Problem;
use api_types::tenancy::{Device, DeviceKind};
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, long_poll};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, DeviceAuth, Me, TenantManage};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_code_for_user))
        .routes(routes!(list_codes))
        .routes(routes!(revoke_code))
        .routes(routes!(create_my_code))
        .routes(routes!(enroll))
        .routes(routes!(device_config))
        .routes(routes!(device_status))
        .routes(routes!(device_disconnect))
        .routes(routes!(my_devices))
        .routes(routes!(revoke_my_device))
        .routes(routes!(create_my_phone))
        .routes(routes!(create_phone_for_user))
}

/// Make a one-time enrollment code for an employee (default: valid 24 h).
#[utoipa::path(post, path = "/tenants/{tenant}/users/{user}/enrollment-codes", tag = "enrollment",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("user" = String, Path, description = "Username or id")),
    request_body = CreateEnrollmentCode,
    responses((status = 201, body = EnrollmentCodeCreated), (status = 404, body = Problem)))]
async fn create_code_for_user(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, user)): ApiPath<(String, String)>,
    ApiJson(request): ApiJson<CreateEnrollmentCode>,
) -> ApiResult<(StatusCode, Json<EnrollmentCodeCreated>)> {
    Ok(created(
        state
            .store
            .create_enrollment_code(&access, &user, request.expires_in_hours)
            .await?,
    ))
}

/// Enrollment codes of a tenant (never the codes themselves).
#[utoipa::path(get, path = "/tenants/{tenant}/enrollment-codes", tag = "enrollment",
    params(("tenant" = String, Path, description = "Tenant slug or id")),
    responses((status = 200, body = Vec<EnrollmentCode>)))]
async fn list_codes(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
) -> ApiResult<Json<Vec<EnrollmentCode>>> {
    Ok(Json(state.store.list_enrollment_codes(&access).await?))
}

/// Withdraw an unused enrollment code (given to the wrong person, a letter
/// lost); it can no longer be used. A used code cannot be withdrawn: revoke
/// its device instead.
#[utoipa::path(post, path = "/tenants/{tenant}/enrollment-codes/{code}/revoke", tag = "enrollment",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("code" = String, Path, description = "Id of the code (from the list)")),
    responses((status = 200, body = EnrollmentCode), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The code was already used")))]
async fn revoke_code(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, code)): ApiPath<(String, String)>,
) -> ApiResult<Json<EnrollmentCode>> {
    Ok(Json(
        state.store.revoke_enrollment_code(&access, &code).await?,
    ))
}

/// Make a one-time enrollment code for one of my own devices.
#[utoipa::path(post, path = "/me/enrollment-codes", tag = "enrollment",
    request_body = CreateEnrollmentCode,
    responses((status = 201, body = EnrollmentCodeCreated), (status = 403, body = Problem)))]
async fn create_my_code(
    State(state): State<AppState>,
    Me(_actor, me): Me,
    ApiJson(request): ApiJson<CreateEnrollmentCode>,
) -> ApiResult<(StatusCode, Json<EnrollmentCodeCreated>)> {
    Ok(created(
        state
            .store
            .create_my_enrollment_code(&me, request.expires_in_hours)
            .await?,
    ))
}

/// Enroll a device with a one-time code and the public key it generated.
/// No login needed: the code is the credential. Rate-limited per address.
#[utoipa::path(post, path = "/enroll", tag = "enrollment", security(),
    request_body = EnrollRequest,
    responses(
        (status = 201, body = EnrollResponse),
        (status = 401, body = Problem, description = "Unknown code"),
        (status = 409, body = Problem, description = "Code used or expired, key taken, quota"),
        (status = 429, body = Problem),
    ))]
async fn enroll(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<EnrollRequest>,
) -> ApiResult<(StatusCode, Json<EnrollResponse>)> {
    state.enroll_limiter.check(peer.ip())?;
    let (device, device_token) = state
        .store
        .enroll(
            &request.code,
            &request.public_key,
            request.name.as_deref(),
            request.kind,
            Some(peer.ip().to_string()),
        )
        .await?;
    let identity = state.store.authenticate_device(&device_token).await?;
    let config = config_of(&state, &identity).await?;
    Ok(created(EnrollResponse {
        device,
        device_token,
        config,
    }))
}

/// What a device running the homegate client is told: its configuration and
/// the control planes it may ask.
async fn config_of(
    state: &AppState,
    device: &store::enrollment::DeviceIdentity,
) -> ApiResult<DeviceConfig> {
    let mut config = state.store.device_config(device).await?;
    config.control_planes = state.settings.control_planes();
    Ok(config)
}

/// The device's current configuration: address, gateway, routes, and the
/// control planes to ask. With `If-None-Match` (the `ETag` of the one it has)
/// and `Prefer: wait=N` the answer waits up to N s (at most 20) for a change:
/// 304 when there was none. This is how a drain, a failover or a region move
/// reaches connected clients at once.
#[utoipa::path(get, path = "/device/config", tag = "device", security(("device" = [])),
    params(
        ("If-None-Match" = Option<String>, Header, description = "ETag of the configuration the device has"),
        ("Prefer" = Option<String>, Header, description = "`wait=N`: wait up to N seconds (at most 20) for a change"),
    ),
    responses((status = 200, body = DeviceConfig, headers(("ETag" = String))),
        (status = 304, description = "Unchanged within the wait"),
        (status = 401, body = Problem)))]
async fn device_config(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let header = |name| headers.get(name).and_then(|value| value.to_str().ok());
    let known = header(header::IF_NONE_MATCH);
    let wait = long_poll::requested_wait(header(HeaderName::from_static("prefer")));
    let deadline = tokio::time::Instant::now() + wait;
    let mut versions = state.store.watch_config_version();
    let mut gateways = state.assignable_gateways.subscribe();
    let mut shutting_down = state.shutting_down.subscribe();
    loop {
        // Marked seen before reading, so a change during the read wakes us.
        versions.borrow_and_update();
        gateways.borrow_and_update();
        let config = config_of(&state, &device).await?;
        let tag = long_poll::config_tag(&config);
        let tag_header = [(header::ETAG, tag.clone())];
        if !long_poll::matches(known, &tag) {
            return Ok((tag_header, Json(config)).into_response());
        }
        if wait.is_zero() || *shutting_down.borrow() {
            return Ok((StatusCode::NOT_MODIFIED, tag_header).into_response());
        }
        tokio::select! {
            _ = versions.changed() => {}
            _ = gateways.changed() => {}
            _ = shutting_down.changed() => {}
            () = tokio::time::sleep_until(deadline) => {
                return Ok((StatusCode::NOT_MODIFIED, tag_header).into_response());
            }
        }
        // Thousands of devices wait at once; one change should not make
        // them all query the database in the same millisecond.
        let spread = std::time::Duration::from_millis(rand::random_range(0..200));
        tokio::time::sleep(spread).await;
    }
}

/// Whether the device is in session, and why not if it was refused.
#[utoipa::path(get, path = "/device/status", tag = "device", security(("device" = [])),
    responses((status = 200, body = DeviceStatus), (status = 401, body = Problem)))]
async fn device_status(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
) -> ApiResult<Json<DeviceStatus>> {
    let access = state
        .store
        .system_tenant_access(&device.tenant_id, "device")
        .await?;
    let record = state.store.get_device(&access, &device.device_id).await?;
    let session = state
        .store
        .list_sessions(&access)
        .await?
        .sessions
        .into_iter()
        .find(|s| s.device_id == device.device_id && s.state == "active");
    let last_refusal = state
        .store
        .last_refusal(&device.device_id)
        .await?
        .filter(|refusal| session.as_ref().is_none_or(|s| refusal.at > s.started_at));
    Ok(Json(DeviceStatus {
        device: record,
        session,
        last_refusal,
    }))
}

/// The device disconnects (`homegate down`): its seat is freed at once.
#[utoipa::path(post, path = "/device/disconnect", tag = "device", security(("device" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn device_disconnect(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
) -> ApiResult<StatusCode> {
    let access = state
        .store
        .system_tenant_access(&device.tenant_id, &format!("device:{}", device.name))
        .await?;
    match super::sessions::end_device_session(&state, &access, &device.device_id, "disconnected")
        .await
    {
        Ok(()) | Err(ApiError::Store(store::StoreError::NotFound { .. })) => {
            Ok(StatusCode::NO_CONTENT)
        }
        Err(error) => Err(error),
    }
}

/// My devices.
#[utoipa::path(get, path = "/me/devices", tag = "enrollment",
    responses((status = 200, body = Vec<Device>)))]
async fn my_devices(
    State(state): State<AppState>,
    Me(_actor, me): Me,
) -> ApiResult<Json<Vec<Device>>> {
    Ok(Json(state.store.list_my_devices(&me).await?))
}

/// Revoke one of my devices (lost, stolen, replaced).
#[utoipa::path(post, path = "/me/devices/{device}/revoke", tag = "enrollment",
    params(("device" = String, Path, description = "Device id")),
    responses((status = 200, body = Device), (status = 404, body = Problem)))]
async fn revoke_my_device(
    State(state): State<AppState>,
    Me(_actor, me): Me,
    ApiPath(device): ApiPath<String>,
) -> ApiResult<Json<Device>> {
    Ok(Json(state.store.revoke_my_device(&me, &device).await?))
}

pub(crate) async fn phone_config(
    state: &AppState,
    access: &store::TenantAccess,
    owner: &str,
    request: &CreatePhone,
) -> ApiResult<PhoneConfig> {
    let kind = request.kind.unwrap_or(DeviceKind::Phone);
    if kind == DeviceKind::Stick {
        return Err(store::StoreError::invalid(
            "kind",
            "sticks are made as batches (POST /tenants/{tenant}/sticks)",
        )
        .into());
    }
    let (device, private_key) = state
        .store
        .create_phone_device(access, owner, &request.name, kind)
        .await?;
    let user = state.store.get_tenant_user(access, owner).await?;
    let config = state
        .store
        .device_config(&store::enrollment::DeviceIdentity {
            device_id: device.id.clone(),
            tenant_id: access.tenant_id().to_owned(),
            tenant_slug: access.tenant_slug().to_owned(),
            user_id: Some(user.id),
            name: device.name.clone(),
        })
        .await?;
    // Checked before the key was made; a gateway that went away since, or
    // a rule removed meanwhile, still must not leave a configuration that
    // cannot work.
    let unworkable = if config.gateway.is_none() {
        Some(store::Unworkable::NoGatewayOnline)
    } else if config.routes.is_empty() {
        Some(store::Unworkable::NoApplications)
    } else {
        None
    };
    if let Some(why) = unworkable {
        state.store.revoke_device(access, &device.id).await?;
        return Err(store::StoreError::Unworkable(why).into());
    }
    let text = wg_quick(&private_key, &config);
    let png = crate::qr::png(&text).map_err(ApiError::BadRequest)?;
    let svg = crate::qr::svg(&text).map_err(ApiError::BadRequest)?;
    Ok(PhoneConfig {
        file_name: api_types::enrollment::tunnel_file_name(access.tenant_slug(), &device.name),
        device,
        wg_quick: text,
        qr_png_base64: base64::engine::general_purpose::STANDARD.encode(png),
        qr_svg: svg,
    })
}

/// A configuration and QR code for the official WireGuard app on my phone.
/// The key pair is made for this answer only and never stored: scan it now.
#[utoipa::path(post, path = "/me/devices/phone", tag = "enrollment",
    request_body = CreatePhone,
    responses((status = 201, body = PhoneConfig),
        (status = 409, body = Problem, description = "No gateway of the region is online \
         (`no-gateway-online`) or the employee reaches no application (`no-applications`); \
         no key was made")))]
async fn create_my_phone(
    State(state): State<AppState>,
    Me(_actor, me): Me,
    ApiJson(request): ApiJson<CreatePhone>,
) -> ApiResult<(StatusCode, Json<PhoneConfig>)> {
    let config = phone_config(&state, me.tenant(), me.username(), &request).await?;
    Ok(created(config))
}

/// A phone configuration and QR code for an employee (tenant admins).
#[utoipa::path(post, path = "/tenants/{tenant}/users/{user}/phone", tag = "enrollment",
    params(("tenant" = String, Path, description = "Tenant slug or id"),
           ("user" = String, Path, description = "Username or id")),
    request_body = CreatePhone,
    responses((status = 201, body = PhoneConfig),
        (status = 409, body = Problem, description = "No gateway of the region is online \
         (`no-gateway-online`) or the employee reaches no application (`no-applications`); \
         no key was made")))]
async fn create_phone_for_user(
    State(state): State<AppState>,
    TenantManage(_actor, access): TenantManage,
    ApiPath((_tenant, user)): ApiPath<(String, String)>,
    ApiJson(request): ApiJson<CreatePhone>,
) -> ApiResult<(StatusCode, Json<PhoneConfig>)> {
    let config = phone_config(&state, &access, &user, &request).await?;
    Ok(created(config))
}
