//! The public status page (`/status`, `/status/{tenant}`): the VPN of each
//! region, its status set automatically from its gateways' heartbeats.
//! Anonymous, the same for everyone who asks in one language, so shared
//! caches may keep it briefly.

use api_types::Language;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use i18n::Tr;
use serde::Deserialize;
use store::status::{PublicStatus, RegionHealth};

use super::error::{ConsoleError, ConsoleResult};
use super::render;
use crate::AppState;

/// Status of a component, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ComponentStatus {
    Operational,
    Degraded,
    PartialOutage,
    MajorOutage,
}

impl ComponentStatus {
    /// A region's VPN from its gateways: all online is operational, losing
    /// some is degraded while at least half remain, a partial outage below
    /// that, and a major outage with none. `None` for a region without
    /// gateways, which serves nobody yet.
    pub(crate) fn of_gateways(online: i64, total: i64) -> Option<ComponentStatus> {
        if total <= 0 {
            return None;
        }
        Some(if online >= total {
            ComponentStatus::Operational
        } else if online == 0 {
            ComponentStatus::MajorOutage
        } else if online * 2 >= total {
            ComponentStatus::Degraded
        } else {
            ComponentStatus::PartialOutage
        })
    }

    fn key(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "status-operational",
            ComponentStatus::Degraded => "status-degraded",
            ComponentStatus::PartialOutage => "status-partial-outage",
            ComponentStatus::MajorOutage => "status-major-outage",
        }
    }

    /// The value Atlassian Statuspage uses, which aggregators understand.
    fn statuspage(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::Degraded => "degraded_performance",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
        }
    }

    /// Statuspage's page indicator for a worst component status.
    fn indicator(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "none",
            ComponentStatus::Degraded => "minor",
            ComponentStatus::PartialOutage => "major",
            ComponentStatus::MajorOutage => "critical",
        }
    }

    fn class(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "ok",
            ComponentStatus::Degraded | ComponentStatus::PartialOutage => "warn",
            ComponentStatus::MajorOutage => "bad",
        }
    }
}

struct ComponentRow {
    name: String,
    description: String,
    status: String,
    class: &'static str,
    detail: String,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    tr: Tr,
    title: String,
    overall: String,
    overall_class: &'static str,
    components: Vec<ComponentRow>,
    checked_at: String,
    path: String,
    languages: Vec<(&'static str, &'static str)>,
}

#[derive(Debug, Deserialize)]
pub(super) struct StatusQuery {
    language: Option<Language>,
}

fn language(query: &StatusQuery, headers: &HeaderMap) -> Language {
    query.language.unwrap_or_else(|| {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok())
            .map_or(Language::De, i18n::negotiate)
    })
}

fn row(tr: Tr, region: &RegionHealth) -> Option<(ComponentStatus, ComponentRow)> {
    let status = ComponentStatus::of_gateways(region.online, region.total)?;
    let row = ComponentRow {
        name: tr.t1("status-vpn-region", "region", &region.region),
        description: region.description.clone(),
        status: tr.t(status.key()),
        class: status.class(),
        detail: tr.args(
            "status-gateways-online",
            &[
                ("online", &region.online.to_string()),
                ("total", &region.total.to_string()),
            ],
        ),
    };
    Some((status, row))
}

fn page(status: &PublicStatus, tr: Tr, path: String) -> ConsoleResult<Response> {
    let rows: Vec<(ComponentStatus, ComponentRow)> =
        status.regions.iter().filter_map(|r| row(tr, r)).collect();
    let worst = rows.iter().map(|(s, _)| *s).max();
    let (overall, overall_class) = match worst {
        None => (tr.t("status-no-components"), "warn"),
        Some(ComponentStatus::Operational) => (tr.t("status-all-operational"), "ok"),
        Some(other) => (tr.t("status-some-disrupted"), other.class()),
    };
    let title = match &status.tenant_name {
        Some(name) => tr.t1("status-title-tenant", "tenant", name),
        None => tr.t("status-title"),
    };
    let now = time::OffsetDateTime::now_utc();
    let page = StatusPage {
        tr,
        title,
        overall,
        overall_class,
        components: rows.into_iter().map(|(_, row)| row).collect(),
        checked_at: super::tenant::short_time(&now),
        path,
        languages: vec![("de", "Deutsch"), ("nl", "Nederlands"), ("en", "English")],
    };
    Ok((
        [
            (header::CACHE_CONTROL, "public, max-age=15"),
            (header::VARY, "Accept-Language"),
        ],
        render(&page)?,
    )
        .into_response())
}

/// `/api/v2/summary.json` in the shape of Atlassian Statuspage's, so
/// existing status aggregators can read homegate's page. Texts in English.
fn summary(status: &PublicStatus, page_url: &str) -> Response {
    let tr = Tr::new(Language::En);
    let now = time::OffsetDateTime::now_utc();
    let updated_at = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut worst = None;
    let components: Vec<serde_json::Value> = status
        .regions
        .iter()
        .enumerate()
        .filter_map(|(position, region)| {
            let state = ComponentStatus::of_gateways(region.online, region.total)?;
            worst = worst.max(Some(state));
            Some(serde_json::json!({
                "id": format!("vpn-{}", region.region),
                "name": tr.t1("status-vpn-region", "region", &region.region),
                "status": state.statuspage(),
                "description": region.description,
                "position": position + 1,
                "group": false,
                "group_id": null,
                "only_show_if_degraded": false,
                "showcase": true,
                "created_at": null,
                "updated_at": updated_at,
                "page_id": "homegate",
            }))
        })
        .collect();
    let (indicator, description) = match worst {
        None => ("none", tr.t("status-no-components")),
        Some(ComponentStatus::Operational) => ("none", tr.t("status-all-operational")),
        Some(other) => (other.indicator(), tr.t("status-some-disrupted")),
    };
    let body = serde_json::json!({
        "page": {
            "id": "homegate",
            "name": status.tenant_name.clone().unwrap_or_else(|| tr.t("status-title")),
            "url": page_url,
            "time_zone": "Etc/UTC",
            "updated_at": updated_at,
        },
        "components": components,
        "incidents": [],
        "scheduled_maintenances": [],
        "status": { "indicator": indicator, "description": description },
    });
    (
        [(header::CACHE_CONTROL, "public, max-age=15")],
        axum::Json(body),
    )
        .into_response()
}

pub(super) async fn summary_all(State(state): State<AppState>) -> ConsoleResult<Response> {
    let status = state
        .store
        .public_status(None)
        .await?
        .ok_or_else(|| ConsoleError::NotFound("status".into()))?;
    Ok(summary(
        &status,
        &format!("{}/status", state.settings.public_url),
    ))
}

pub(super) async fn summary_tenant(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> ConsoleResult<Response> {
    let status = state
        .store
        .public_status(Some(&slug))
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("there is no municipality {slug:?}")))?;
    Ok(summary(
        &status,
        &format!("{}/status/{slug}", state.settings.public_url),
    ))
}

pub(super) async fn all(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<StatusQuery>,
) -> ConsoleResult<Response> {
    let tr = Tr::new(language(&query, &headers));
    let status = state
        .store
        .public_status(None)
        .await?
        .ok_or_else(|| ConsoleError::NotFound("status".into()))?;
    page(&status, tr, "/status".into())
}

pub(super) async fn tenant(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(query): Query<StatusQuery>,
) -> ConsoleResult<Response> {
    let tr = Tr::new(language(&query, &headers));
    let status = state
        .store
        .public_status(Some(&slug))
        .await?
        .ok_or_else(|| ConsoleError::NotFound(tr.t1("status-no-tenant", "tenant", &slug)))?;
    page(&status, tr, format!("/status/{slug}"))
}

#[cfg(test)]
mod tests {
    use super::ComponentStatus::{self, *};

    #[test]
    fn gateways_decide_a_regions_status() {
        let of = ComponentStatus::of_gateways;
        assert_eq!(of(0, 0), None);
        assert_eq!(of(1, 1), Some(Operational));
        assert_eq!(of(3, 3), Some(Operational));
        assert_eq!(of(2, 3), Some(Degraded));
        assert_eq!(of(1, 2), Some(Degraded));
        assert_eq!(of(1, 3), Some(PartialOutage));
        assert_eq!(of(0, 3), Some(MajorOutage));
        assert_eq!(of(0, 1), Some(MajorOutage));
    }

    #[test]
    fn statuspage_values() {
        assert_eq!(Degraded.statuspage(), "degraded_performance");
        assert_eq!(MajorOutage.indicator(), "critical");
        assert_eq!(Operational.indicator(), "none");
    }

    #[test]
    fn the_worst_component_decides_the_page() {
        let mut all = [Operational, MajorOutage, Degraded, PartialOutage];
        all.sort();
        assert_eq!(all.last(), Some(&MajorOutage));
        assert!(Degraded < PartialOutage);
    }
}
