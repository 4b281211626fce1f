//! The status page's data: components and their status, recorded history,
//! incidents and maintenance, subscribers, webhooks and the delivery
//! outbox. Changes need a [`ProviderAccess`](crate::ProviderAccess); the
//! public page reads without an actor on purpose, and never sees tenant
//! data beyond a municipality's name.
//!
//! What a status *is* (automatic rules, precedence, maintenance phases,
//! uptime) is decided by the pure `statuspage` crate from the facts
//! gathered here.

mod components;
mod history;
mod incidents;
mod notify;
mod translations;

use std::collections::{HashMap, HashSet};

use api_types::Language;
use api_types::status::{Component, ComponentStatus, Incident, StatusSource};
use statuspage::RegionHealth;
use statuspage::uptime::{self, Day};

pub(crate) use components::create_region_component;
pub use notify::{
    Delivery, DeliveryEvent, Subscriber, WebhookTarget, redact_webhook_url, retry_delay,
};

use crate::convert::timestamp;
use crate::enrollment::GATEWAY_HEALTHY_MS;
use crate::{Result, Store, StoreError};

/// Days the uptime bars cover.
pub const UPTIME_DAYS: i64 = 90;
/// Resolved incidents stay on the page this long.
pub const RECENT_INCIDENT_MS: i64 = 7 * statuspage::DAY_MS;
/// Days the incident history page covers.
pub const INCIDENT_HISTORY_DAYS: i64 = 90;

/// Which part of the page: everything, or what concerns one municipality.
#[derive(Debug, Clone)]
pub(crate) enum Scope {
    All,
    Tenant {
        id: String,
        region_id: Option<String>,
    },
}

impl Scope {
    fn tenant_id(&self) -> Option<&str> {
        match self {
            Scope::All => None,
            Scope::Tenant { id, .. } => Some(id),
        }
    }
}

/// One component as the public page shows it.
#[derive(Debug, Clone)]
pub struct PageComponent {
    pub component: Component,
    /// The facts behind a region's automatic status.
    pub health: Option<RegionHealth>,
    /// When the current status was first recorded.
    pub since: Option<i64>,
    pub days: Vec<Day>,
    pub uptime: Option<f64>,
}

/// What a status page shows.
#[derive(Debug, Clone)]
pub struct PublicStatus {
    /// The tenant's display name, for `/status/{tenant}`.
    pub tenant_name: Option<String>,
    pub components: Vec<PageComponent>,
    /// Open incidents, maintenance not yet completed, and incidents
    /// resolved within [`RECENT_INCIDENT_MS`]; newest first.
    pub incidents: Vec<Incident>,
}

impl PublicStatus {
    pub fn worst(&self) -> Option<ComponentStatus> {
        self.components
            .iter()
            .map(|shown| shown.component.status)
            .max()
    }
}

/// The incident history page: what was closed within
/// [`INCIDENT_HISTORY_DAYS`].
#[derive(Debug, Clone)]
pub struct PublicHistory {
    pub tenant_name: Option<String>,
    /// The components the page concerns, for the names incidents use.
    pub components: Vec<Component>,
    /// Newest first.
    pub incidents: Vec<Incident>,
}

/// Incidents that concern one of the `components` shown, or all of them
/// (an incident naming no component).
fn concerning(
    components: &[(Component, Option<RegionHealth>)],
    incidents: Vec<Incident>,
) -> Vec<Incident> {
    let names: HashSet<&str> = components
        .iter()
        .map(|(component, _)| component.name.as_str())
        .collect();
    incidents
        .into_iter()
        .filter(|incident| {
            incident.components.is_empty()
                || incident
                    .components
                    .iter()
                    .any(|name| names.contains(name.as_str()))
        })
        .collect()
}

/// A component row with what its status is computed from.
struct Facts {
    component: Component,
    region_id: Option<String>,
    tenant_ids: Vec<String>,
}

impl Store {
    /// The page for everyone, or with `tenant_slug` what concerns that
    /// municipality: components for everyone or for it, its region's VPN
    /// (every region's when it has none), incidents touching those.
    /// `None` when no tenant has that slug.
    pub async fn public_status(
        &self,
        tenant_slug: Option<&str>,
        stale_after_ms: i64,
        now: i64,
    ) -> Result<Option<PublicStatus>> {
        let Some((tenant_name, scope)) = self.public_scope(tenant_slug).await? else {
            return Ok(None);
        };
        let components = self.effective_components(&scope, now).await?;
        let incidents = concerning(&components, self.page_incidents(stale_after_ms, now).await?);
        let history = self
            .history_since(now - UPTIME_DAYS * statuspage::DAY_MS)
            .await?;
        let components = components
            .into_iter()
            .map(|(component, health)| {
                let changes = history.get(&component.id).map_or(&[][..], Vec::as_slice);
                let days = uptime::daily(changes, UPTIME_DAYS, now);
                PageComponent {
                    since: changes
                        .iter()
                        .rev()
                        .take_while(|(_, status)| *status == component.status)
                        .last()
                        .map(|(at, _)| *at),
                    uptime: uptime::overall(&days),
                    days,
                    health,
                    component,
                }
            })
            .collect();
        Ok(Some(PublicStatus {
            tenant_name,
            components,
            incidents,
        }))
    }

    /// Incidents and maintenance closed within [`INCIDENT_HISTORY_DAYS`],
    /// newest first, for everyone or what concerns one municipality (as
    /// [`Store::public_status`]). `None` when no tenant has that slug.
    pub async fn public_incident_history(
        &self,
        tenant_slug: Option<&str>,
        stale_after_ms: i64,
        now: i64,
    ) -> Result<Option<PublicHistory>> {
        let Some((tenant_name, scope)) = self.public_scope(tenant_slug).await? else {
            return Ok(None);
        };
        let components = self.effective_components(&scope, now).await?;
        let since = now - INCIDENT_HISTORY_DAYS * statuspage::DAY_MS;
        let incidents = self
            .incidents_since(since, stale_after_ms, now)
            .await?
            .into_iter()
            .filter(|incident| incident.state.is_closed())
            .collect();
        let incidents = concerning(&components, incidents);
        Ok(Some(PublicHistory {
            tenant_name,
            components: components
                .into_iter()
                .map(|(component, _)| component)
                .collect(),
            incidents,
        }))
    }

    /// The tenant's name and page scope for a public page: everything
    /// without a slug. `None` when no tenant has that slug.
    async fn public_scope(
        &self,
        tenant_slug: Option<&str>,
    ) -> Result<Option<(Option<String>, Scope)>> {
        let Some(slug) = tenant_slug else {
            return Ok(Some((None, Scope::All)));
        };
        let row: Option<(String, String, Option<String>)> =
            sqlx::query_as("SELECT id, name, region_id FROM tenants WHERE slug = $1")
                .bind(slug)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(id, name, region_id)| (Some(name), Scope::Tenant { id, region_id })))
    }

    /// The default language of the municipality with `slug`, for its public
    /// page when the reader names none. `None` when no tenant has that slug.
    pub async fn public_tenant_language(&self, slug: &str) -> Result<Option<Language>> {
        let language: Option<String> =
            sqlx::query_scalar("SELECT default_language FROM tenants WHERE slug = $1")
                .bind(slug)
                .fetch_optional(self.pool())
                .await?;
        Ok(language.as_deref().and_then(Language::parse))
    }

    /// Components in `scope` with their status now. Regions without
    /// gateways and without an override are left out: they serve nobody.
    pub(crate) async fn effective_components(
        &self,
        scope: &Scope,
        now: i64,
    ) -> Result<Vec<(Component, Option<RegionHealth>)>> {
        let facts = self.component_facts().await?;
        let health = self.region_health(scope, now).await?;
        let in_maintenance = self.components_in_maintenance(now).await?;
        let mut shown = Vec::new();
        for Facts {
            mut component,
            region_id,
            tenant_ids,
        } in facts
        {
            let concerns = match scope {
                Scope::All => true,
                Scope::Tenant {
                    id,
                    region_id: tenant_region,
                } => match (&region_id, tenant_region) {
                    (Some(region), Some(wanted)) => region == wanted,
                    (Some(_), None) => true,
                    (None, _) => tenant_ids.is_empty() || tenant_ids.contains(id),
                },
            };
            if !concerns {
                continue;
            }
            let region_health = region_id
                .as_ref()
                .map(|region| health.get(region).copied().unwrap_or_default());
            let basis = match region_health {
                Some(facts) => statuspage::Basis::Region {
                    automatic: statuspage::automatic_status(facts),
                    operator_override: component.operator_status,
                },
                None => statuspage::Basis::Manual(
                    component
                        .operator_status
                        .unwrap_or(ComponentStatus::Operational),
                ),
            };
            let Some((status, source)) =
                statuspage::effective_status(basis, in_maintenance.contains(&component.id))
            else {
                continue;
            };
            component.status = status;
            component.status_source = source;
            shown.push((component, region_health));
        }
        Ok(shown)
    }

    async fn component_facts(&self) -> Result<Vec<Facts>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            String,
            String,
            i64,
            i64,
        )> = sqlx::query_as(
            "SELECT c.id, c.name, c.title, c.description, c.group_name, c.region_id, r.name, \
             c.operator_status, c.operator_note, c.operator_note_translations, c.translations, \
             c.position, c.created_at \
             FROM status_components c LEFT JOIN regions r ON r.id = c.region_id \
             ORDER BY CASE WHEN c.region_id IS NULL THEN 1 ELSE 0 END, c.group_name, \
             c.position, c.name",
        )
        .fetch_all(self.pool())
        .await?;
        let concerned: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT ct.component_id, t.id, t.slug FROM status_component_tenants ct \
             JOIN tenants t ON t.id = ct.tenant_id ORDER BY t.slug",
        )
        .fetch_all(self.pool())
        .await?;
        let mut tenants: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for (component, id, slug) in concerned {
            tenants.entry(component).or_default().push((id, slug));
        }
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    name,
                    title,
                    description,
                    group,
                    region_id,
                    region,
                    operator_status,
                    operator_note,
                    operator_note_translations,
                    translations,
                    position,
                    created_at,
                )| {
                    let concerned = tenants.remove(&id).unwrap_or_default();
                    Facts {
                        component: Component {
                            id,
                            name,
                            title,
                            description,
                            group,
                            region,
                            tenants: concerned.iter().map(|(_, slug)| slug.clone()).collect(),
                            status: ComponentStatus::Operational,
                            status_source: if region_id.is_some() {
                                StatusSource::Automatic
                            } else {
                                StatusSource::Operator
                            },
                            operator_status: operator_status
                                .as_deref()
                                .and_then(ComponentStatus::parse),
                            operator_note,
                            // Written only by this store, from these types.
                            operator_note_translations: serde_json::from_str(
                                &operator_note_translations,
                            )
                            .unwrap_or_default(),
                            translations: serde_json::from_str(&translations).unwrap_or_default(),
                            position,
                            created_at: timestamp(created_at),
                        },
                        region_id,
                        tenant_ids: concerned.into_iter().map(|(id, _)| id).collect(),
                    }
                },
            )
            .collect())
    }

    /// Per region: gateways that reported recently, that ever reported, and
    /// that never did. On a municipality's own page also whether its seats
    /// are all taken; the page for everyone leaves quotas out, since one
    /// municipality's full quota says nothing about the region's health.
    async fn region_health(
        &self,
        scope: &Scope,
        now: i64,
    ) -> Result<HashMap<String, RegionHealth>> {
        let gateways: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT region_id, \
             COALESCE(SUM(CASE WHEN last_seen_at > $1 THEN 1 ELSE 0 END), 0), \
             COUNT(last_seen_at), COUNT(id) - COUNT(last_seen_at) \
             FROM gateways GROUP BY region_id",
        )
        .bind(now - GATEWAY_HEALTHY_MS)
        .fetch_all(self.pool())
        .await?;
        let mut health: HashMap<String, RegionHealth> = gateways
            .into_iter()
            .map(|(region, online, seen, never_seen)| {
                (
                    region,
                    RegionHealth {
                        gateways_online: online,
                        gateways_total: seen,
                        gateways_not_yet_online: never_seen,
                        ..RegionHealth::default()
                    },
                )
            })
            .collect();
        let Some(tenant) = scope.tenant_id() else {
            return Ok(health);
        };
        // A quota of 0 closes the VPN for the municipality on purpose; its
        // seats are not "all taken".
        let quota: Option<(Option<String>, i64, i64)> = sqlx::query_as(
            "SELECT t.region_id, t.max_sessions, \
             (SELECT COUNT(DISTINCT s.device_id) FROM seat_holders s \
              WHERE s.tenant_id = t.id AND s.expires_at > $1) \
             FROM tenants t WHERE t.id = $2 AND t.max_sessions > 0",
        )
        .bind(now)
        .bind(tenant)
        .fetch_optional(self.pool())
        .await?;
        if let Some((region, max_sessions, in_use)) = quota {
            // A tenant without a region is served by every region.
            let regions: Vec<String> = match region {
                Some(region) => vec![region],
                None => health.keys().cloned().collect(),
            };
            for region in regions {
                let entry = health.entry(region).or_default();
                entry.tenants_with_quota += 1;
                if in_use >= max_sessions {
                    entry.tenants_saturated += 1;
                }
            }
        }
        Ok(health)
    }

    /// The component ids of a region's VPN or other component by name or id.
    pub(crate) async fn find_component(&self, key: &str) -> Result<(String, String, bool)> {
        let row: Option<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, name, region_id FROM status_components WHERE id = $1 OR name = $1",
        )
        .bind(key)
        .fetch_optional(self.pool())
        .await?;
        row.map(|(id, name, region)| (id, name, region.is_some()))
            .ok_or_else(|| StoreError::not_found("component", key))
    }
}
