//! The provider's pages: tenants with their quota use, gateways and regions.

use std::collections::BTreeMap;

use api_types::Language;
use api_types::infra::{CreateGateway, CreateRegion};
use api_types::tenancy::CreateTenant;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use store::ProviderNeed;

use super::context::Page;
use super::error::{ConsoleResult, back_with_error, back_with_notice};
use super::{Ctx, render};
use crate::AppState;

pub(super) struct TenantRow {
    pub slug: String,
    pub name: String,
    pub region: String,
    pub in_use: i64,
    pub max: String,
    pub full: bool,
    pub refusals: i64,
    pub pool: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    page: Page,
    tenants: Vec<TenantRow>,
    regions: Vec<String>,
    admin: bool,
}

/// Midnight UTC today, in ms.
pub(super) fn start_of_day_ms() -> i64 {
    let now = store::now_ms();
    now - now.rem_euclid(86_400_000)
}

pub(super) async fn dashboard(State(state): State<AppState>, ctx: Ctx) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    let access = actor.provider(ProviderNeed::Staff)?;
    let counts: BTreeMap<String, (i64, Option<i64>)> = state
        .store
        .session_counts()
        .await?
        .into_iter()
        .map(|(slug, in_use, max)| (slug, (in_use, max)))
        .collect();
    let refusals: BTreeMap<String, i64> = state
        .store
        .refusal_counts(start_of_day_ms())
        .await?
        .into_iter()
        .collect();
    let tenants = state
        .store
        .list_tenants(actor)
        .await?
        .into_iter()
        .map(|tenant| {
            let (in_use, max) = counts.get(&tenant.slug).copied().unwrap_or((0, None));
            TenantRow {
                region: tenant.region.clone().unwrap_or_else(|| "-".into()),
                max: max.map_or_else(|| ctx.tr.t("unlimited"), |m| m.to_string()),
                full: max.is_some_and(|m| in_use >= m),
                refusals: refusals.get(&tenant.slug).copied().unwrap_or(0),
                in_use,
                pool: tenant.address_pool,
                name: tenant.name,
                slug: tenant.slug,
            }
        })
        .collect();
    let regions = state
        .store
        .list_regions(&access)
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let page = Dashboard {
        page: ctx.page("dashboard-title"),
        tenants,
        regions,
        admin: access.role() == api_types::Role::ProviderAdmin,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct TenantForm {
    csrf: String,
    slug: String,
    name: String,
    pool: String,
    language: String,
    region: String,
    max_sessions: String,
}

/// An optional number field: empty means none.
pub(super) fn optional_number(text: &str) -> Result<Option<u32>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| format!("'{text}' is not a whole number"))
}

pub(super) async fn create_tenant(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::Form(form): axum::Form<TenantForm>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    ctx.check_csrf(&form.csrf)?;
    let access = actor.provider(ProviderNeed::Admin)?;
    let max_sessions = match optional_number(&form.max_sessions) {
        Ok(max) => max,
        Err(message) => return Ok(back_with_error("/console", &message)),
    };
    let request = CreateTenant {
        slug: form.slug,
        name: form.name,
        default_language: Language::parse(&form.language),
        address_pool: form.pool,
        region: Some(form.region).filter(|r| !r.is_empty()),
        max_sessions,
        max_devices: None,
    };
    match state.store.create_tenant(&access, request).await {
        Ok(tenant) => Ok(back_with_notice(
            &format!("/console/t/{}", tenant.slug),
            "tenant-created",
        )),
        Err(error) => Ok(back_with_error("/console", &error.to_string())),
    }
}

pub(super) struct GatewayRow {
    pub name: String,
    pub region: String,
    pub endpoint: String,
    pub healthy: bool,
    pub drained: bool,
    pub sessions: i64,
    pub last_seen: String,
}

#[derive(Template)]
#[template(path = "gateways.html")]
struct GatewaysPage {
    page: Page,
    gateways: Vec<GatewayRow>,
    regions: Vec<(String, usize, usize)>,
}

pub(super) async fn gateways(State(state): State<AppState>, ctx: Ctx) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    let access = actor.provider(ProviderNeed::Staff)?;
    let gateways: Vec<GatewayRow> = state
        .store
        .list_gateways(&access)
        .await?
        .into_iter()
        .map(|gateway| GatewayRow {
            healthy: gateway.healthy,
            drained: gateway.drained,
            sessions: gateway.sessions,
            last_seen: gateway
                .last_seen_at
                .map_or_else(|| "-".into(), |t| super::tenant::short_time(&t)),
            endpoint: gateway.endpoint.unwrap_or_else(|| "-".into()),
            region: gateway.region,
            name: gateway.name,
        })
        .collect();
    let mut regions: Vec<(String, usize, usize)> = state
        .store
        .list_regions(&access)
        .await?
        .into_iter()
        .map(|region| {
            let in_region = gateways.iter().filter(|g| g.region == region.name);
            let total = in_region.clone().count();
            let online = in_region.filter(|g| g.healthy).count();
            (region.name, online, total)
        })
        .collect();
    regions.sort();
    let page = GatewaysPage {
        page: ctx.page("gateways-title"),
        gateways,
        regions,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct DrainForm {
    csrf: String,
    /// "drain" or "resume".
    action: String,
    #[serde(default)]
    confirmed: Option<String>,
}

/// Drains a gateway or takes it back into service.
pub(super) async fn drain_gateway(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::extract::Path(gateway): axum::extract::Path<String>,
    axum::Form(form): axum::Form<DrainForm>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    ctx.check_csrf(&form.csrf)?;
    let access = actor.provider(ProviderNeed::Staff)?;
    let drained = form.action == "drain";
    // Taking a gateway back needs no second thought; draining moves devices.
    if drained && !super::confirm::answered_yes(form.confirmed.as_ref()) {
        return super::confirm::ask(
            &ctx,
            super::confirm::Question {
                title: ctx.tr.t1("confirm-drain-gateway", "name", &gateway),
                consequence: ctx.tr.t("confirm-drain-gateway-what"),
                action: format!("/console/gateways/{gateway}/drain"),
                back: "/console/gateways".into(),
                fields: vec![("action", "drain".to_owned())],
                option: None,
            },
        );
    }
    match state
        .store
        .set_gateway_drained(&access, &gateway, drained)
        .await
    {
        Ok(_) if drained => Ok(back_with_notice("/console/gateways", "gateway-drained")),
        Ok(_) => Ok(back_with_notice("/console/gateways", "gateway-resumed")),
        Err(error) => Ok(back_with_error("/console/gateways", &error.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RegionForm {
    csrf: String,
    name: String,
}

pub(super) async fn create_region(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::Form(form): axum::Form<RegionForm>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    ctx.check_csrf(&form.csrf)?;
    let access = actor.provider(ProviderNeed::Staff)?;
    match state
        .store
        .create_region(
            &access,
            CreateRegion {
                name: form.name,
                description: None,
            },
        )
        .await
    {
        Ok(_) => Ok(back_with_notice("/console/gateways", "region-created")),
        Err(error) => Ok(back_with_error("/console/gateways", &error.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct GatewayForm {
    csrf: String,
    name: String,
    region: String,
    endpoint: String,
}

pub(super) async fn create_gateway(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::Form(form): axum::Form<GatewayForm>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    ctx.check_csrf(&form.csrf)?;
    let access = actor.provider(ProviderNeed::Staff)?;
    let request = CreateGateway {
        name: form.name,
        region: form.region,
        endpoint: Some(form.endpoint).filter(|e| !e.trim().is_empty()),
    };
    match state.store.create_gateway(&access, request).await {
        Ok(created) => {
            let command = format!(
                "homegate gateway --control-plane {} --token {}",
                state.settings.public_url, created.token
            );
            super::admin::one_time(
                &ctx,
                "gateway-created-title",
                ctx.tr.t("gateway-created-intro"),
                vec![(ctx.tr.t("gateway-token"), created.token)],
                Some(command),
                "/console/gateways",
            )
        }
        Err(error) => Ok(back_with_error("/console/gateways", &error.to_string())),
    }
}
