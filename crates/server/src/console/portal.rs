//! The employee portal: my devices, adding a laptop or phone, why I can't
//! connect, my second factors.

use api_types::enrollment::CreatePhone;
use api_types::tenancy::{Device, DeviceKind, Refusal};
use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;

use super::admin::{OneTimePage, one_time};
use super::context::Page;
use super::error::{ConsoleResult, back_with_error, back_with_notice};
use super::{Ctx, render};
use crate::AppState;

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    page: Page,
    devices: Vec<Device>,
    refusals: Vec<Refusal>,
    gateway_status: String,
    mfa_status: Option<String>,
    totp_enabled: bool,
    webauthn_available: bool,
    keys: Vec<String>,
    manual_url: String,
    status_url: String,
    /// Published applications the employee may open: (name, address).
    web_apps: Vec<(String, String)>,
}

impl PortalPage {
    fn kind_key(&self, device: &Device) -> String {
        format!("kind-{}", device.kind.as_str())
    }

    fn state_key(&self, device: &Device) -> String {
        format!("state-{}", device.state.as_str())
    }
}

pub(super) async fn home(State(state): State<AppState>, ctx: Ctx) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    let me = state.store.self_access(actor).await?;
    let tenant = state.store.get_tenant(me.tenant()).await?;
    let (online, total) = state
        .store
        .region_gateway_health(me.tenant().tenant_id())
        .await?;
    let gateway_status = if total == 0 {
        ctx.tr.t("portal-gateways-none")
    } else if online == 0 {
        ctx.tr.t("portal-gateways-down")
    } else {
        ctx.tr.args(
            "portal-gateways-up",
            &[
                ("online", &online.to_string()),
                ("total", &total.to_string()),
            ],
        )
    };
    let mfa = state.store.mfa_status(actor).await?;
    let mfa_status = tenant.policy.mfa_before_vpn_hours.map(|hours| {
        let recent = mfa.last_mfa_at.is_some_and(|at| {
            (time::OffsetDateTime::now_utc() - at).whole_hours() < i64::from(hours)
        });
        let has_factor = mfa.totp_enabled || !mfa.webauthn.is_empty();
        if recent {
            ctx.tr.t1("portal-mfa-ok", "hours", &hours.to_string())
        } else if !has_factor {
            // Logging in again would not help: there is nothing to log in with.
            ctx.tr.t1("portal-mfa-setup", "hours", &hours.to_string())
        } else {
            ctx.tr.t1("portal-mfa-needed", "hours", &hours.to_string())
        }
    });
    let page = PortalPage {
        page: ctx.page_titled(ctx.tr.t1("portal-title", "tenant", &tenant.name)),
        devices: state.store.list_my_devices(&me).await?,
        refusals: state.store.my_refusals(&actor.user_id, 5).await?,
        gateway_status,
        mfa_status,
        totp_enabled: mfa.totp_enabled,
        webauthn_available: state.webauthn.is_some(),
        keys: mfa.webauthn.into_iter().map(|k| k.name).collect(),
        manual_url: format!("/manual/{}?language={}", tenant.slug, ctx.tr.code()),
        status_url: format!("/status/{}?language={}", tenant.slug, ctx.tr.code()),
        web_apps: match &state.proxy {
            Some(proxy) => state
                .store
                .web_applications_of(&actor.user_id)
                .await?
                .into_iter()
                .map(|app| {
                    let url = proxy.web_url(&app.tenant, &app.application);
                    (app.application, url)
                })
                .collect(),
            None => Vec::new(),
        },
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct CsrfOnly {
    csrf: String,
}

pub(super) async fn create_code(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::Form(form): axum::Form<CsrfOnly>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    ctx.check_csrf(&form.csrf)?;
    let me = state.store.self_access(actor).await?;
    match state.store.create_my_enrollment_code(&me, None).await {
        Ok(code) => one_time(
            &ctx,
            "code-created-title",
            ctx.tr.t("portal-code-intro"),
            vec![(ctx.tr.t("code-label"), code.secret.clone())],
            Some(format!(
                "homegate enroll {} --code {}",
                state.settings.public_url, code.secret
            )),
            "/portal",
        ),
        Err(error) => Ok(back_with_error("/portal", &error.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct PhoneForm {
    csrf: String,
    name: String,
    /// `laptop`: a tunnel file to download instead of a QR code.
    #[serde(default)]
    kind: Option<String>,
}

pub(super) async fn create_phone(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::Form(form): axum::Form<PhoneForm>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    ctx.check_csrf(&form.csrf)?;
    let me = state.store.self_access(actor).await?;
    let laptop = form.kind.as_deref() == Some("laptop");
    let request = CreatePhone {
        name: form.name,
        kind: Some(if laptop {
            DeviceKind::Laptop
        } else {
            DeviceKind::Phone
        }),
    };
    let phone =
        match crate::api::enrollment::phone_config(&state, me.tenant(), me.username(), &request)
            .await
        {
            Ok(phone) => phone,
            Err(crate::error::ApiError::Store(store::StoreError::Unworkable(why))) => {
                let message = ctx.tr.t(&format!("unworkable-{}", why.code()));
                return Ok(back_with_error("/portal", &message));
            }
            Err(error) => return Ok(back_with_error("/portal", &error.to_string())),
        };
    let page = if laptop {
        let data = base64::engine::general_purpose::STANDARD.encode(&phone.wg_quick);
        OneTimePage {
            page: ctx.page("tunnel-created-title"),
            intro: ctx.tr.t("tunnel-created-intro"),
            secrets: Vec::new(),
            hint: Some(ctx.tr.t("tunnel-created-hint")),
            qr_png: None,
            config: Some(phone.wg_quick),
            download: Some((phone.file_name, data)),
            back: "/portal".into(),
        }
    } else {
        OneTimePage {
            page: ctx.page("phone-created-title"),
            intro: ctx.tr.t("phone-created-intro"),
            secrets: Vec::new(),
            hint: Some(ctx.tr.t("phone-created-hint")),
            qr_png: Some(phone.qr_png_base64),
            config: Some(phone.wg_quick),
            download: None,
            back: "/portal".into(),
        }
    };
    Ok(render(&page)?.into_response())
}

pub(super) async fn revoke_device(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(device): Path<String>,
    axum::Form(form): axum::Form<super::confirm::Confirmable>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    ctx.check_csrf(&form.csrf)?;
    let me = state.store.self_access(actor).await?;
    if !form.confirmed() {
        let name = state
            .store
            .list_my_devices(&me)
            .await?
            .into_iter()
            .find(|d| d.id == device)
            .map(|d| d.name)
            .ok_or_else(|| super::ConsoleError::NotFound(device.clone()))?;
        return super::confirm::ask(
            &ctx,
            super::confirm::Question {
                title: ctx.tr.t1("confirm-revoke-device", "name", &name),
                consequence: ctx.tr.t("confirm-revoke-device-what"),
                action: format!("/portal/devices/{device}/revoke"),
                back: "/portal".into(),
                fields: Vec::new(),
                option: None,
            },
        );
    }
    match state.store.revoke_my_device(&me, &device).await {
        Ok(_) => Ok(back_with_notice("/portal", "device-revoked")),
        Err(error) => Ok(back_with_error("/portal", &error.to_string())),
    }
}

#[derive(Template)]
#[template(path = "totp_setup.html")]
struct TotpSetupPage {
    page: Page,
    qr_svg: String,
    /// The secret in groups of four, for typing it into an app.
    secret: String,
    /// Why the code was not taken, in the user's language.
    code_error: Option<String>,
}

impl TotpSetupPage {
    fn new(ctx: &Ctx, secret: &str, url: &str, code_error: Option<String>) -> TotpSetupPage {
        TotpSetupPage {
            page: ctx.page("totp-setup-title"),
            qr_svg: crate::qr::svg(url).unwrap_or_default(),
            secret: in_groups_of_four(secret),
            code_error,
        }
    }
}

fn in_groups_of_four(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) async fn totp_start(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::Form(form): axum::Form<CsrfOnly>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    ctx.check_csrf(&form.csrf)?;
    let (secret, url) = state.store.start_totp(actor, None).await?;
    Ok(render(&TotpSetupPage::new(&ctx, &secret, &url, None))?.into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct CodeForm {
    csrf: String,
    code: String,
}

pub(super) async fn totp_confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::Form(form): axum::Form<CodeForm>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    ctx.check_csrf(&form.csrf)?;
    match state.store.confirm_totp(actor, &form.code).await {
        Ok(codes) => one_time(
            &ctx,
            "recovery-title",
            ctx.tr.t("recovery-intro"),
            codes
                .into_iter()
                .enumerate()
                .map(|(i, code)| ((i + 1).to_string(), code))
                .collect(),
            None,
            "/portal",
        ),
        // A mistyped code: the same page, the same secret (the one the app
        // has saved), the message at the field.
        Err(store::StoreError::Invalid(_)) => match state.store.pending_totp(actor).await? {
            Some((secret, url)) => {
                let error = Some(ctx.tr.t("login-error-code"));
                Ok(render(&TotpSetupPage::new(&ctx, &secret, &url, error))?.into_response())
            }
            None => Ok(back_with_error("/portal", &ctx.tr.t("login-error-code"))),
        },
        Err(error) => Ok(back_with_error("/portal", &error.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct JsonCsrf {
    csrf: String,
}

pub(super) async fn webauthn_start(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(request): Json<JsonCsrf>,
) -> Result<Json<api_types::auth::WebauthnChallenge>, crate::error::ApiError> {
    let actor = ctx
        .actor()
        .map_err(|_| store::StoreError::Unauthenticated("not logged in".into()))?;
    if !super::csrf::matches(&ctx.csrf, &request.csrf) {
        return Err(crate::error::ApiError::BadRequest(
            "the form expired; reload the page".into(),
        ));
    }
    Ok(Json(
        crate::api::auth::webauthn_register_begin(&state, actor).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct JsonFinish {
    csrf: String,
    ticket: String,
    credential: serde_json::Value,
    name: Option<String>,
}

pub(super) async fn webauthn_finish(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(request): Json<JsonFinish>,
) -> Result<axum::http::StatusCode, crate::error::ApiError> {
    let actor = ctx
        .actor()
        .map_err(|_| store::StoreError::Unauthenticated("not logged in".into()))?;
    if !super::csrf::matches(&ctx.csrf, &request.csrf) {
        return Err(crate::error::ApiError::BadRequest(
            "the form expired; reload the page".into(),
        ));
    }
    crate::api::auth::webauthn_register_complete(
        &state,
        actor,
        api_types::auth::WebauthnFinish {
            ticket: request.ticket,
            credential: request.credential,
            name: request.name,
        },
    )
    .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
