//! The public status page (`/status`, `/status/{tenant}`), its Atom feed,
//! its Statuspage-compatible JSON summary, and the e-mail subscription
//! pages. Anonymous and the same for everyone who asks in one language, so
//! shared caches may keep it briefly, and this process keeps each rendering
//! for a few seconds ([`PageCache`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use api_types::Language;
use api_types::status::{
    Component, ComponentStatus, Impact, Incident, IncidentKind, IncidentState, Localized,
    StatusSource, Subscribe,
};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use i18n::Tr;
use serde::Deserialize;
use store::now_ms;
use store::status::{PageComponent, PublicHistory, PublicStatus};

use super::error::{ConsoleError, ConsoleResult};
use super::render;
use crate::AppState;
use crate::status_delivery::fallback_note;

const PUBLIC_CACHE_CONTROL: &str = "public, max-age=15";

/// Renderings of the public pages, by path and language.
pub struct PageCache {
    keep_for: Duration,
    entries: Mutex<HashMap<String, (Instant, &'static str, Bytes)>>,
}

impl PageCache {
    pub fn new(keep_for: Duration) -> PageCache {
        PageCache {
            keep_for,
            entries: Mutex::default(),
        }
    }

    fn get(&self, key: &str) -> Option<(&'static str, Bytes)> {
        let entries = self.entries.lock().ok()?;
        let (at, content_type, body) = entries.get(key)?;
        (at.elapsed() < self.keep_for).then(|| (*content_type, body.clone()))
    }

    fn put(&self, key: String, content_type: &'static str, body: Bytes) {
        if self.keep_for.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            // Bounded by tenants × languages × formats; drop old ones.
            if entries.len() > 10_000 {
                entries.retain(|_, (at, ..)| at.elapsed() < self.keep_for);
            }
            entries.insert(key, (Instant::now(), content_type, body));
        }
    }

    /// Forgets every rendering: something on the page changed.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

fn status_key(status: ComponentStatus) -> &'static str {
    match status {
        ComponentStatus::Operational => "status-operational",
        ComponentStatus::UnderMaintenance => "status-under-maintenance",
        ComponentStatus::DegradedPerformance => "status-degraded",
        ComponentStatus::PartialOutage => "status-partial-outage",
        ComponentStatus::MajorOutage => "status-major-outage",
    }
}

fn status_class(status: ComponentStatus) -> &'static str {
    match status {
        ComponentStatus::Operational => "ok",
        ComponentStatus::UnderMaintenance => "maint",
        ComponentStatus::DegradedPerformance | ComponentStatus::PartialOutage => "warn",
        ComponentStatus::MajorOutage => "bad",
    }
}

/// Statuspage's page indicator for the worst component.
fn indicator(worst: Option<ComponentStatus>) -> &'static str {
    match worst {
        None | Some(ComponentStatus::Operational) => "none",
        Some(ComponentStatus::UnderMaintenance) => "maintenance",
        Some(ComponentStatus::DegradedPerformance) => "minor",
        Some(ComponentStatus::PartialOutage) => "major",
        Some(ComponentStatus::MajorOutage) => "critical",
    }
}

/// The headline of a page whose worst component is `worst`.
fn headline(tr: Tr, worst: Option<ComponentStatus>) -> (String, &'static str) {
    match worst {
        None => (tr.t("status-no-components"), "warn"),
        Some(ComponentStatus::Operational) => (tr.t("status-all-operational"), "ok"),
        Some(ComponentStatus::UnderMaintenance) => (tr.t("status-maintenance-running"), "maint"),
        Some(other) => (tr.t("status-some-disrupted"), status_class(other)),
    }
}

/// Each shown component's display name by its name, for incidents that
/// name the components they affect.
fn display_names<'a>(
    tr: Tr,
    components: impl IntoIterator<Item = &'a Component>,
) -> HashMap<&'a str, String> {
    components
        .into_iter()
        .map(|component| (component.name.as_str(), component_name(tr, component)))
        .collect()
}

/// A component's title in the reader's language where the operator gave
/// one; a region's VPN without a title is named by the page.
fn component_name(tr: Tr, component: &Component) -> String {
    if let Some(title) = component.translations.text(tr.language, |t| &t.title) {
        return title.to_owned();
    }
    match (&component.region, component.title.is_empty()) {
        (Some(region), true) => tr.t1("status-vpn-region", "region", region),
        _ => component.title.clone(),
    }
}

/// The group a component is shown in, named in the reader's language.
fn group_name(tr: Tr, component: &Component) -> String {
    match component.translations.text(tr.language, |t| &t.group) {
        Some(name) => name.to_owned(),
        None if component.group.is_empty() => tr.t("status-group-other"),
        None => component.group.clone(),
    }
}

/// A text as shown: in the reader's language, or marked as another one.
struct TextView {
    text: String,
    lang: &'static str,
    fallback: Option<String>,
}

fn text_view(tr: Tr, text: &Localized) -> TextView {
    match text.pick(tr.language) {
        None => TextView {
            text: String::new(),
            lang: tr.code(),
            fallback: None,
        },
        Some((text, used)) => TextView {
            text: text.to_owned(),
            lang: used.code(),
            fallback: (used != tr.language).then(|| fallback_note(&tr, used)),
        },
    }
}

struct BarView {
    class: &'static str,
    label: String,
}

struct ComponentView {
    name: String,
    description: String,
    status: String,
    class: &'static str,
    source: String,
    detail: String,
    uptime: String,
    bars: Vec<BarView>,
}

struct GroupView {
    name: String,
    components: Vec<ComponentView>,
}

struct UpdateView {
    at: String,
    /// RFC 3339, for the reader's local time where scripts run.
    datetime: String,
    state: String,
    message: TextView,
}

struct IncidentView {
    /// The anchor feeds and the Statuspage JSON link to.
    anchor: String,
    title: TextView,
    state: String,
    state_class: &'static str,
    impact: String,
    stale: Option<String>,
    window: Option<String>,
    affects: String,
    updates: Vec<UpdateView>,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    tr: Tr,
    title: String,
    overall: String,
    overall_class: &'static str,
    groups: Vec<GroupView>,
    open: Vec<IncidentView>,
    maintenance: Vec<IncidentView>,
    past: Vec<IncidentView>,
    checked_at: String,
    /// The visitor asked for the page to update itself (`?refresh=1`).
    refreshing: bool,
    /// The page's own address (`/status`, `/status/{tenant}`).
    path: String,
    /// Where the language links lead: this page.
    here: String,
    tenant_slug: String,
    subscribe: bool,
    languages: Vec<(&'static str, &'static str)>,
}

#[derive(Debug, Deserialize)]
pub(super) struct StatusQuery {
    language: Option<Language>,
    /// Any value: the visitor asks the page to update itself every minute
    /// (a `Refresh` header only then: a page that reloads by itself is a
    /// barrier to screen-reader and keyboard users).
    refresh: Option<String>,
}

/// How often a page the visitor asked to update itself reloads.
const REFRESH_SECS: &str = "60";

/// The reader's language when they name one of ours (`?language=`, then
/// `Accept-Language`); otherwise `serve` falls back to the municipality's.
fn language(query: &StatusQuery, headers: &HeaderMap) -> Option<Language> {
    query.language.or_else(|| {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok())
            .and_then(i18n::negotiate_known)
    })
}

fn time_text(at: &time::OffsetDateTime) -> String {
    super::short_time(at)
}

fn ms_text(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    time_text(&at)
}

fn day_text(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}",
        at.year(),
        u8::from(at.month()),
        at.day()
    )
}

/// A share as people of the language write it: 99.78 in English, 99,78 in
/// German and Dutch.
fn percent(share: f64, tr: Tr) -> String {
    tr.decimal(share * 100.0, 2)
}

/// The tooltips of the uptime bars. A page has 90 per component, so each
/// message is formatted once with markers and filled in per bar.
struct BarLabels {
    tr: Tr,
    known: String,
    unknown: String,
    statuses: [String; 5],
}

impl BarLabels {
    const DAY: &'static str = "\u{1}day\u{1}";
    const STATUS: &'static str = "\u{1}status\u{1}";
    const PERCENT: &'static str = "\u{1}percent\u{1}";

    fn new(tr: Tr) -> BarLabels {
        BarLabels {
            tr,
            known: tr.args(
                "status-bar",
                &[
                    ("day", Self::DAY),
                    ("status", Self::STATUS),
                    ("percent", Self::PERCENT),
                ],
            ),
            unknown: tr.t1("status-bar-none", "day", Self::DAY),
            statuses: ComponentStatus::ALL.map(|status| tr.t(status_key(status))),
        }
    }

    fn known(&self, day: i64, worst: ComponentStatus, up: f64) -> String {
        let status = ComponentStatus::ALL
            .iter()
            .position(|candidate| *candidate == worst)
            .map_or("", |index| self.statuses[index].as_str());
        self.known
            .replace(Self::DAY, &day_text(day))
            .replace(Self::STATUS, status)
            .replace(Self::PERCENT, &percent(up, self.tr))
    }

    fn unknown(&self, day: i64) -> String {
        self.unknown.replace(Self::DAY, &day_text(day))
    }
}

fn component_view(tr: Tr, shown: &PageComponent) -> ComponentView {
    let component = &shown.component;
    let source = match component.status_source {
        StatusSource::Automatic => "status-source-automatic",
        StatusSource::Operator => "status-source-operator",
        StatusSource::Maintenance => "status-source-maintenance",
    };
    let mut source = tr.t(source);
    if let Some(since) = shown.since {
        source = format!(
            "{source} · {}",
            tr.t1("status-since", "time", &ms_text(since))
        );
    }
    let mut detail = Vec::new();
    if let Some(health) = &shown.health {
        if health.gateways_total > 0 {
            detail.push(tr.args(
                "status-gateways-online",
                &[
                    ("online", &health.gateways_online.to_string()),
                    ("total", &health.gateways_total.to_string()),
                ],
            ));
        }
        if health.gateways_not_yet_online > 0 {
            detail.push(tr.n(
                "status-gateways-not-yet-online",
                "count",
                health.gateways_not_yet_online,
            ));
        }
        if health.tenants_saturated > 0 {
            detail.push(tr.t("status-quota-full"));
        }
    }
    let note = component
        .operator_note_translations
        .get(tr.language)
        .unwrap_or(&component.operator_note);
    if !note.is_empty() && component.status_source == StatusSource::Operator {
        detail.push(note.to_owned());
    }
    let labels = BarLabels::new(tr);
    let bars = shown
        .days
        .iter()
        .map(|day| match (day.worst, day.up) {
            (Some(worst), Some(up)) => BarView {
                class: status_class(worst),
                label: labels.known(day.start, worst, up),
            },
            _ => BarView {
                class: "none",
                label: labels.unknown(day.start),
            },
        })
        .collect();
    ComponentView {
        name: component_name(tr, &shown.component),
        description: component
            .translations
            .text(tr.language, |t| &t.description)
            .unwrap_or(&component.description)
            .to_owned(),
        status: tr.t(status_key(component.status)),
        class: status_class(component.status),
        source,
        detail: detail.join(" · "),
        uptime: match shown.uptime {
            Some(share) => tr.t1("status-uptime", "percent", &percent(share, tr)),
            None => tr.t("status-uptime-unknown"),
        },
        bars,
    }
}

fn incident_view(
    tr: Tr,
    incident: &Incident,
    names: &HashMap<&str, String>,
    stale_minutes: i64,
) -> IncidentView {
    let state_class = match incident.state {
        IncidentState::Resolved | IncidentState::Completed => "ok",
        IncidentState::Scheduled | IncidentState::InProgress => "maint",
        _ => match incident.impact {
            Impact::Critical => "bad",
            _ => "warn",
        },
    };
    let affects: Vec<String> = incident
        .components
        .iter()
        .map(|name| {
            names
                .get(name.as_str())
                .cloned()
                .unwrap_or_else(|| name.clone())
        })
        .collect();
    IncidentView {
        anchor: incident_anchor(incident),
        title: text_view(tr, &incident.title),
        state: tr.t(&format!("incident-state-{}", incident.state.as_str())),
        state_class,
        impact: tr.t1(
            "status-impact",
            "impact",
            &tr.t(&format!("impact-{}", incident.impact.as_str())),
        ),
        stale: incident
            .stale
            .then(|| tr.n("status-stale", "minutes", stale_minutes)),
        window: match (incident.starts_at, incident.ends_at) {
            (Some(starts), Some(ends)) => Some(tr.args(
                "status-window",
                &[("start", &time_text(&starts)), ("end", &time_text(&ends))],
            )),
            _ => None,
        },
        affects: if affects.is_empty() {
            String::new()
        } else {
            tr.t1("status-affects", "components", &affects.join(", "))
        },
        updates: incident
            .updates
            .iter()
            .map(|update| UpdateView {
                at: time_text(&update.created_at),
                datetime: rfc3339(&update.created_at),
                state: tr.t(&format!("incident-state-{}", update.state.as_str())),
                message: text_view(tr, &update.message),
            })
            .collect(),
    }
}

fn page(
    state: &AppState,
    status: &PublicStatus,
    tr: Tr,
    slug: Option<&str>,
    refreshing: bool,
) -> ConsoleResult<String> {
    let (overall, overall_class) = headline(tr, status.worst());
    let title = match &status.tenant_name {
        Some(name) => tr.t1("status-title-tenant", "tenant", name),
        None => tr.t("status-title"),
    };
    // Grouped by the group as operators name it, shown as any of its
    // members names it in the reader's language: a group's translation
    // need not be repeated on each member.
    let mut groups: Vec<(&str, GroupView)> = Vec::new();
    for shown in &status.components {
        let component = &shown.component;
        let view = component_view(tr, shown);
        match groups
            .iter_mut()
            .find(|(group, _)| *group == component.group)
        {
            Some((_, group)) => {
                if let Some(name) = component.translations.text(tr.language, |t| &t.group) {
                    name.clone_into(&mut group.name);
                }
                group.components.push(view);
            }
            None => groups.push((
                &component.group,
                GroupView {
                    name: group_name(tr, component),
                    components: vec![view],
                },
            )),
        }
    }
    let groups: Vec<GroupView> = groups.into_iter().map(|(_, group)| group).collect();
    let names = display_names(tr, status.components.iter().map(|shown| &shown.component));
    let stale_minutes = state.settings.incident_stale_after_ms / 60_000;
    let view = |incident: &Incident| incident_view(tr, incident, &names, stale_minutes);
    let open = status
        .incidents
        .iter()
        .filter(|i| i.kind == IncidentKind::Incident && !i.state.is_closed())
        .map(view)
        .collect();
    let maintenance = status
        .incidents
        .iter()
        .filter(|i| i.kind == IncidentKind::Maintenance && !i.state.is_closed())
        .map(view)
        .collect();
    let past = status
        .incidents
        .iter()
        .filter(|i| i.state.is_closed())
        .map(view)
        .collect();
    let page = StatusPage {
        tr,
        title,
        overall,
        overall_class,
        groups,
        open,
        maintenance,
        past,
        checked_at: time_text(&time::OffsetDateTime::now_utc()),
        refreshing,
        path: page_path(slug),
        here: page_path(slug),
        tenant_slug: slug.unwrap_or_default().to_owned(),
        subscribe: state.mailer.is_some(),
        languages: vec![("de", "Deutsch"), ("nl", "Nederlands"), ("en", "English")],
    };
    render(&page).map(|html| html.0)
}

fn page_path(slug: Option<&str>) -> String {
    slug.map_or_else(|| "/status".to_owned(), |slug| format!("/status/{slug}"))
}

struct MonthView {
    /// The heading's id.
    id: String,
    name: String,
    incidents: Vec<IncidentView>,
}

#[derive(Template)]
#[template(path = "status_history.html")]
struct HistoryPage {
    tr: Tr,
    title: String,
    path: String,
    here: String,
    languages: Vec<(&'static str, &'static str)>,
    /// Newest first.
    months: Vec<MonthView>,
}

/// The incident history: every month of the last
/// [`INCIDENT_HISTORY_DAYS`](store::status::INCIDENT_HISTORY_DAYS), newest
/// first, with what was closed in it (by when it began).
fn history_page(
    state: &AppState,
    history: &PublicHistory,
    tr: Tr,
    slug: Option<&str>,
    now: time::OffsetDateTime,
) -> ConsoleResult<String> {
    let names = display_names(tr, &history.components);
    let stale_minutes = state.settings.incident_stale_after_ms / 60_000;
    let month_of = |at: time::OffsetDateTime| (at.year(), u8::from(at.month()));
    let first = month_of(now - time::Duration::days(store::status::INCIDENT_HISTORY_DAYS));
    let mut months = Vec::new();
    let mut month = month_of(now);
    while month >= first {
        let incidents = history
            .incidents
            .iter()
            .filter(|incident| month_of(incident.starts_at.unwrap_or(incident.created_at)) == month)
            .map(|incident| incident_view(tr, incident, &names, stale_minutes))
            .collect();
        months.push(MonthView {
            id: format!("month-{}-{:02}", month.0, month.1),
            name: format!(
                "{} {}",
                tr.n("status-month", "month", i64::from(month.1)),
                month.0
            ),
            incidents,
        });
        month = if month.1 == 1 {
            (month.0 - 1, 12)
        } else {
            (month.0, month.1 - 1)
        };
    }
    let title = match &history.tenant_name {
        Some(name) => tr.t1("status-history-title-tenant", "tenant", name),
        None => tr.t("status-history-title"),
    };
    let path = page_path(slug);
    let page = HistoryPage {
        tr,
        title,
        here: format!("{path}/history"),
        path,
        languages: vec![("de", "Deutsch"), ("nl", "Nederlands"), ("en", "English")],
        months,
    };
    render(&page).map(|html| html.0)
}

/// The fragment of the page where an incident is shown.
fn incident_anchor(incident: &Incident) -> String {
    format!("incident-{}", incident.id)
}

fn rfc3339(at: &time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A group's component id in the Statuspage JSON: stable for the same
/// group name, and never equal to a component's name (those have no `:`).
fn group_id(group: &str) -> String {
    format!("group:{group}")
}

fn statuspage_incident(
    incident: &Incident,
    page_url: &str,
    names: &HashMap<&str, String>,
) -> serde_json::Value {
    let text = |text: &Localized| {
        text.pick(Language::En)
            .map_or("", |(text, _)| text)
            .to_owned()
    };
    // Updates are newest first; Statuspage's `monitoring_at` is when the
    // incident first went into monitoring.
    let monitoring_at = incident
        .updates
        .iter()
        .rev()
        .find(|update| update.state == IncidentState::Monitoring)
        .map(|update| rfc3339(&update.created_at));
    let started_at = incident.starts_at.unwrap_or(incident.created_at);
    let mut value = serde_json::json!({
        "id": incident.id,
        "name": text(&incident.title),
        "status": incident.state.as_str(),
        "impact": incident.impact.as_str(),
        "created_at": rfc3339(&incident.created_at),
        "updated_at": rfc3339(&incident.updated_at),
        "started_at": rfc3339(&started_at),
        "monitoring_at": monitoring_at,
        "resolved_at": incident.resolved_at.as_ref().map(rfc3339),
        "shortlink": format!("{page_url}#{}", incident_anchor(incident)),
        "page_id": "homegate",
        "components": incident.components.iter().map(|name| serde_json::json!({
            "id": name,
            "name": names.get(name.as_str()).cloned().unwrap_or_else(|| name.clone()),
        })).collect::<Vec<_>>(),
        "incident_updates": incident.updates.iter().map(|update| serde_json::json!({
            "id": update.id,
            "status": update.state.as_str(),
            "body": text(&update.message),
            "created_at": rfc3339(&update.created_at),
            "updated_at": rfc3339(&update.created_at),
            "display_at": rfc3339(&update.created_at),
            "incident_id": incident.id,
        })).collect::<Vec<_>>(),
    });
    if let (Some(starts), Some(ends)) = (&incident.starts_at, &incident.ends_at) {
        value["scheduled_for"] = rfc3339(starts).into();
        value["scheduled_until"] = rfc3339(ends).into();
    }
    value
}

/// `/api/v2/summary.json` in the shape of Atlassian Statuspage's, so
/// existing status aggregators can read homegate's page. Texts in English.
/// Each group of components is a group component (`group: true`, its
/// members' ids in `components`) whose members name it in `group_id`.
fn summary(status: &PublicStatus, page_url: &str) -> Vec<u8> {
    let tr = Tr::new(Language::En);
    let updated_at = rfc3339(&time::OffsetDateTime::now_utc());
    let names = display_names(tr, status.components.iter().map(|shown| &shown.component));
    let start_date = |at: &time::OffsetDateTime| {
        format!(
            "{:04}-{:02}-{:02}",
            at.year(),
            u8::from(at.month()),
            at.day()
        )
    };
    let mut components: Vec<serde_json::Value> = Vec::new();
    let mut groups: Vec<(String, Vec<&PageComponent>)> = Vec::new();
    for shown in &status.components {
        let group = &shown.component.group;
        if group.is_empty() {
            continue;
        }
        match groups.iter_mut().find(|(name, _)| name == group) {
            Some((_, members)) => members.push(shown),
            None => groups.push((group.clone(), vec![shown])),
        }
    }
    for (group, members) in &groups {
        let worst = members
            .iter()
            .map(|shown| shown.component.status)
            .max()
            .unwrap_or(ComponentStatus::Operational);
        let created = members
            .iter()
            .map(|shown| shown.component.created_at)
            .min()
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        components.push(serde_json::json!({
            "id": group_id(group),
            "name": members
                .iter()
                .find_map(|shown| shown.component.translations.text(Language::En, |t| &t.group))
                .unwrap_or(group),
            "status": worst.as_str(),
            "description": null,
            "position": components.len() + 1,
            "group": true,
            "group_id": null,
            "components": members.iter().map(|shown| shown.component.name.clone()).collect::<Vec<_>>(),
            "only_show_if_degraded": false,
            "showcase": false,
            "start_date": start_date(&created),
            "created_at": rfc3339(&created),
            "updated_at": updated_at,
            "page_id": "homegate",
        }));
    }
    for shown in &status.components {
        let component = &shown.component;
        let group = (!component.group.is_empty()).then(|| group_id(&component.group));
        components.push(serde_json::json!({
            "id": component.name,
            "name": component_name(tr, &shown.component),
            "status": component.status.as_str(),
            "description": component
                .translations
                .text(Language::En, |t| &t.description)
                .unwrap_or(&component.description),
            "position": components.len() + 1,
            "group": false,
            "group_id": group,
            "only_show_if_degraded": false,
            "showcase": true,
            "start_date": start_date(&component.created_at),
            "created_at": rfc3339(&component.created_at),
            "updated_at": updated_at,
            "page_id": "homegate",
        }));
    }
    let (description, _) = headline(tr, status.worst());
    let open = |kind: IncidentKind| -> Vec<serde_json::Value> {
        status
            .incidents
            .iter()
            .filter(|i| i.kind == kind && !i.state.is_closed())
            .map(|i| statuspage_incident(i, page_url, &names))
            .collect()
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
        "incidents": open(IncidentKind::Incident),
        "scheduled_maintenances": open(IncidentKind::Maintenance),
        "status": { "indicator": indicator(status.worst()), "description": description },
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The page's incidents as an Atom feed: one entry per incident, its
/// updates as the content, newest first.
fn feed(status: &PublicStatus, tr: Tr, page_url: &str) -> Vec<u8> {
    use atom_syndication::{Content, Entry, Feed, FixedDateTime, Link, Person, Text};
    let to_fixed = |at: &time::OffsetDateTime| {
        FixedDateTime::parse_from_rfc3339(
            &at.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        )
        .unwrap_or_default()
    };
    let title = match &status.tenant_name {
        Some(name) => tr.t1("status-title-tenant", "tenant", name),
        None => tr.t("status-title"),
    };
    let entries: Vec<Entry> = status
        .incidents
        .iter()
        .map(|incident| {
            let mut lines = Vec::new();
            if let (Some(starts), Some(ends)) = (incident.starts_at, incident.ends_at) {
                lines.push(tr.args(
                    "status-window",
                    &[("start", &time_text(&starts)), ("end", &time_text(&ends))],
                ));
            }
            for update in &incident.updates {
                lines.push(format!(
                    "{} – {}: {}",
                    time_text(&update.created_at),
                    tr.t(&format!("incident-state-{}", update.state.as_str())),
                    crate::status_delivery::text_in(&tr, &update.message)
                ));
            }
            Entry {
                id: format!("urn:uuid:{}", incident.id),
                title: Text::plain(format!(
                    "{} ({})",
                    crate::status_delivery::text_in(&tr, &incident.title),
                    tr.t(&format!("incident-state-{}", incident.state.as_str()))
                )),
                updated: to_fixed(&incident.updated_at),
                published: Some(to_fixed(&incident.created_at)),
                links: vec![Link {
                    href: format!(
                        "{page_url}?language={}#{}",
                        tr.code(),
                        incident_anchor(incident)
                    ),
                    rel: "alternate".into(),
                    mime_type: Some("text/html".into()),
                    ..Link::default()
                }],
                content: Some(Content {
                    value: Some(lines.join("\n")),
                    content_type: Some("text".into()),
                    ..Content::default()
                }),
                ..Entry::default()
            }
        })
        .collect();
    let updated = status
        .incidents
        .iter()
        .map(|incident| incident.updated_at)
        .max()
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let feed = Feed {
        id: page_url.to_owned(),
        title: Text::plain(title),
        updated: to_fixed(&updated),
        lang: Some(tr.code().to_owned()),
        authors: vec![Person {
            name: "homegate".into(),
            ..Person::default()
        }],
        links: vec![
            Link {
                href: page_url.to_owned(),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Link::default()
            },
            Link {
                href: format!("{page_url}/feed.atom?language={}", tr.code()),
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Link::default()
            },
        ],
        entries,
        ..Feed::default()
    };
    feed.to_string().into_bytes()
}

#[derive(Clone, Copy)]
enum Format {
    /// The page; `true` when the visitor asked it to update itself.
    Html(bool),
    Atom,
    Json,
    /// The incident history page.
    History,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Html(_) | Format::History => "text/html; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

/// Renders (or reuses) one public page.
async fn serve(
    state: &AppState,
    slug: Option<String>,
    language: Option<Language>,
    format: Format,
) -> ConsoleResult<Response> {
    let language = match (language, &slug) {
        (Some(language), _) => language,
        (None, Some(slug)) => state
            .store
            .public_tenant_language(slug)
            .await?
            .unwrap_or(Language::De),
        (None, None) => Language::De,
    };
    let key = format!(
        "{}:{}:{}:{}:{}",
        slug.as_deref().unwrap_or(""),
        language.code(),
        format.content_type(),
        matches!(format, Format::Html(true)),
        matches!(format, Format::History),
    );
    let (content_type, body) = match state.page_cache.get(&key) {
        Some(hit) => hit,
        None => {
            let tr = Tr::new(language);
            let not_found = || {
                ConsoleError::NotFound(tr.t1(
                    "status-no-tenant",
                    "tenant",
                    slug.as_deref().unwrap_or(""),
                ))
            };
            let stale_after_ms = state.settings.incident_stale_after_ms;
            let body = Bytes::from(if let Format::History = format {
                let history = state
                    .store
                    .public_incident_history(slug.as_deref(), stale_after_ms, now_ms())
                    .await?
                    .ok_or_else(not_found)?;
                let now = time::OffsetDateTime::now_utc();
                history_page(state, &history, tr, slug.as_deref(), now)?.into_bytes()
            } else {
                let status = state
                    .store
                    .public_status(slug.as_deref(), stale_after_ms, now_ms())
                    .await?
                    .ok_or_else(not_found)?;
                let page_url = format!(
                    "{}{}",
                    state.settings.public_url,
                    page_path(slug.as_deref())
                );
                match format {
                    Format::Html(refreshing) => {
                        page(state, &status, tr, slug.as_deref(), refreshing)?.into_bytes()
                    }
                    Format::Atom => feed(&status, tr, &page_url),
                    Format::Json | Format::History => summary(&status, &page_url),
                }
            });
            state
                .page_cache
                .put(key, format.content_type(), body.clone());
            (format.content_type(), body)
        }
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, PUBLIC_CACHE_CONTROL),
            (header::VARY, "Accept-Language"),
        ],
        body,
    )
        .into_response();
    if matches!(format, Format::Html(true)) {
        response.headers_mut().insert(
            header::REFRESH,
            axum::http::HeaderValue::from_static(REFRESH_SECS),
        );
    }
    Ok(response)
}

pub(super) async fn all(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<StatusQuery>,
) -> ConsoleResult<Response> {
    serve(
        &state,
        None,
        language(&query, &headers),
        Format::Html(query.refresh.is_some()),
    )
    .await
}

pub(super) async fn tenant(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(query): Query<StatusQuery>,
) -> ConsoleResult<Response> {
    serve(
        &state,
        Some(slug),
        language(&query, &headers),
        Format::Html(query.refresh.is_some()),
    )
    .await
}

pub(super) async fn history_all(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<StatusQuery>,
) -> ConsoleResult<Response> {
    serve(&state, None, language(&query, &headers), Format::History).await
}

pub(super) async fn history_tenant(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(query): Query<StatusQuery>,
) -> ConsoleResult<Response> {
    serve(
        &state,
        Some(slug),
        language(&query, &headers),
        Format::History,
    )
    .await
}

pub(super) async fn feed_all(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<StatusQuery>,
) -> ConsoleResult<Response> {
    serve(&state, None, language(&query, &headers), Format::Atom).await
}

pub(super) async fn feed_tenant(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(query): Query<StatusQuery>,
) -> ConsoleResult<Response> {
    serve(&state, Some(slug), language(&query, &headers), Format::Atom).await
}

pub(super) async fn summary_all(State(state): State<AppState>) -> ConsoleResult<Response> {
    serve(&state, None, Some(Language::En), Format::Json).await
}

pub(super) async fn summary_tenant(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> ConsoleResult<Response> {
    serve(&state, Some(slug), Some(Language::En), Format::Json).await
}

#[derive(Template)]
#[template(path = "status_message.html")]
struct MessagePage {
    tr: Tr,
    title: String,
    message: String,
    /// A form to confirm an action (mail links must not act on GET: mail
    /// scanners follow links).
    action: Option<(String, String, String)>,
    back: String,
}

fn message_page(
    tr: Tr,
    title_key: &str,
    message: String,
    action: Option<(String, String, String)>,
    back: String,
) -> ConsoleResult<Response> {
    let page = MessagePage {
        tr,
        title: tr.t(title_key),
        message,
        action,
        back,
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], render(&page)?).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct SubscribeForm {
    email: String,
    language: Option<Language>,
    #[serde(default)]
    tenant: String,
}

pub(super) async fn subscribe(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    axum::Form(form): axum::Form<SubscribeForm>,
) -> ConsoleResult<Response> {
    let tr = Tr::new(form.language.unwrap_or(Language::De));
    if state.mailer.is_none() {
        return Err(ConsoleError::NotFound(tr.t("status-subscribe-off")));
    }
    state.enroll_limiter.check(peer.ip())?;
    let back = if form.tenant.is_empty() {
        "/status".to_owned()
    } else {
        format!("/status/{}", form.tenant)
    };
    let outcome = state
        .store
        .subscribe(
            Subscribe {
                email: form.email,
                language: form.language,
                tenant: Some(form.tenant).filter(|slug| !slug.is_empty()),
            },
            now_ms(),
        )
        .await;
    match outcome {
        Ok(()) => message_page(
            tr,
            "status-subscribe-title",
            tr.t("status-subscribe-sent"),
            None,
            back,
        ),
        // Say what is wrong on a page that leads back to the form.
        Err(store::StoreError::Invalid(violations)) => {
            let message = violations
                .iter()
                .map(|violation| violation.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            let page = message_page(tr, "status-subscribe-title", message, None, back)?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct TokenQuery {
    token: String,
    language: Option<Language>,
}

#[derive(Debug, Deserialize)]
pub(super) struct TokenForm {
    token: String,
    language: Option<Language>,
}

/// What a link in a status mail does. Its GET only asks; the button POSTs,
/// so mail scanners that follow links change nothing.
#[derive(Clone, Copy)]
enum MailLink {
    Confirm,
    Unsubscribe,
}

impl MailLink {
    /// (title, question, button, done) message keys, and the form's path.
    fn keys(
        self,
    ) -> (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ) {
        match self {
            MailLink::Confirm => (
                "status-subscribe-title",
                "status-confirm-question",
                "status-confirm-button",
                "status-confirmed",
                "/status/subscriptions/confirm",
            ),
            MailLink::Unsubscribe => (
                "status-unsubscribe-title",
                "status-unsubscribe-question",
                "status-unsubscribe-button",
                "status-unsubscribed",
                "/status/subscriptions/unsubscribe",
            ),
        }
    }

    fn ask(self, headers: &HeaderMap, query: TokenQuery) -> ConsoleResult<Response> {
        let tr = Tr::new(
            language(
                &StatusQuery {
                    language: query.language,
                    refresh: None,
                },
                headers,
            )
            .unwrap_or(Language::De),
        );
        let (title, question, button, _, path) = self.keys();
        let action = Some((path.to_owned(), query.token, tr.t(button)));
        message_page(tr, title, tr.t(question), action, "/status".into())
    }

    fn answer(self, headers: &HeaderMap, form: &TokenForm, done: bool) -> ConsoleResult<Response> {
        let tr = Tr::new(
            language(
                &StatusQuery {
                    language: form.language,
                    refresh: None,
                },
                headers,
            )
            .unwrap_or(Language::De),
        );
        let (title, _, _, done_key, _) = self.keys();
        let message = tr.t(if done {
            done_key
        } else {
            "status-link-invalid"
        });
        message_page(tr, title, message, None, "/status".into())
    }
}

pub(super) async fn confirm_page(
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> ConsoleResult<Response> {
    MailLink::Confirm.ask(&headers, query)
}

pub(super) async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<TokenForm>,
) -> ConsoleResult<Response> {
    let done = state
        .store
        .confirm_subscription(&form.token, now_ms())
        .await?;
    MailLink::Confirm.answer(&headers, &form, done)
}

pub(super) async fn unsubscribe_page(
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> ConsoleResult<Response> {
    MailLink::Unsubscribe.ask(&headers, query)
}

pub(super) async fn unsubscribe(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<TokenForm>,
) -> ConsoleResult<Response> {
    let done = state.store.unsubscribe(&form.token).await?;
    MailLink::Unsubscribe.answer(&headers, &form, done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuspage_indicators() {
        assert_eq!(indicator(None), "none");
        assert_eq!(
            indicator(Some(ComponentStatus::DegradedPerformance)),
            "minor"
        );
        assert_eq!(indicator(Some(ComponentStatus::MajorOutage)), "critical");
        assert_eq!(
            indicator(Some(ComponentStatus::UnderMaintenance)),
            "maintenance"
        );
    }

    #[test]
    fn bar_labels_match_the_messages() {
        for language in Language::ALL {
            let tr = Tr::new(language);
            let labels = BarLabels::new(tr);
            let day = 1_700_000_000_000;
            assert_eq!(
                labels.known(day, ComponentStatus::MajorOutage, 0.5),
                tr.args(
                    "status-bar",
                    &[
                        ("day", &day_text(day)),
                        ("status", &tr.t("status-major-outage")),
                        ("percent", &percent(0.5, tr)),
                    ],
                )
            );
            assert_eq!(
                labels.unknown(day),
                tr.t1("status-bar-none", "day", &day_text(day))
            );
        }
    }

    #[test]
    fn cache_expires_and_clears() {
        let cache = PageCache::new(Duration::from_secs(5));
        cache.put("k".into(), "text/html", Bytes::from_static(b"x"));
        assert!(cache.get("k").is_some());
        cache.clear();
        assert!(cache.get("k").is_none());
    }

    #[test]
    fn missing_texts_are_marked() {
        let tr = Tr::new(Language::Nl);
        let view = text_view(
            tr,
            &Localized {
                en: Some("Outage".into()),
                ..Localized::default()
            },
        );
        assert_eq!(view.text, "Outage");
        assert_eq!(view.lang, "en");
        assert!(view.fallback.is_some());
    }
}
