//! Incidents and scheduled maintenance with their timestamped updates.

use std::collections::{HashMap, HashSet};

use api_types::status::{
    CreateIncident, CreateMaintenance, Impact, Incident, IncidentKind, IncidentState,
    IncidentUpdate, Localized, PostIncidentUpdate,
};
use serde_json::json;

use super::RECENT_INCIDENT_MS;
use super::notify::{self, DeliveryEvent};
use crate::audit::{self, Change};
use crate::authz::ProviderAccess;
use crate::convert::{opt_timestamp, timestamp, to_ms};
use crate::{Result, Store, StoreError, Violation, WriteTx, new_id};

const MAX_TITLE: usize = 200;
const MAX_MESSAGE: usize = 5_000;
/// Maintenance is announced at most this far ahead, and lasts at most a week.
const MAX_MAINTENANCE_AHEAD_MS: i64 = 366 * statuspage::DAY_MS;
const MAX_MAINTENANCE_MS: i64 = 7 * statuspage::DAY_MS;

/// A validated new incident or maintenance.
struct NewIncident<'a> {
    maintenance: bool,
    title: Localized,
    impact: Impact,
    state: IncidentState,
    window: Option<(i64, i64)>,
    /// Component names or ids, resolved in the transaction.
    components: &'a [String],
    message: Localized,
}

type IncidentRow = (
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
);

const INCIDENT_COLUMNS: &str = "SELECT id, kind, title, impact, state, starts_at, ends_at, \
     created_at, updated_at, resolved_at FROM incidents";

fn localized(field: &str, text: &Localized, max: usize) -> Result<Localized, Violation> {
    if text.is_empty() {
        return Err(Violation::new(
            field,
            "needs a text in at least one of de, nl, en",
        ));
    }
    let clean = |value: &Option<String>| -> Result<Option<String>, Violation> {
        match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(value) if value.chars().count() > max => Err(Violation::new(
                field,
                format!("must be at most {max} characters per language"),
            )),
            Some(value) => Ok(Some(value.to_owned())),
        }
    };
    Ok(Localized {
        de: clean(&text.de)?,
        nl: clean(&text.nl)?,
        en: clean(&text.en)?,
    })
}

fn allowed_state(maintenance: bool, state: IncidentState) -> Result<(), Violation> {
    if statuspage::allowed_update(maintenance, state) {
        Ok(())
    } else if maintenance {
        Err(Violation::new(
            "state",
            "maintenance is scheduled, in_progress or completed",
        ))
    } else {
        Err(Violation::new(
            "state",
            "an incident is investigating, identified, monitoring or resolved",
        ))
    }
}

/// `$1, $2, …, $count` for an `IN` list.
fn placeholders(count: usize) -> String {
    (1..=count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn decode_text(raw: &str) -> Localized {
    serde_json::from_str(raw).unwrap_or_default()
}

fn encode_text(text: &Localized) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "{}".into())
}

impl Store {
    /// What the public page lists: open incidents, maintenance not yet
    /// completed, and what was resolved or completed within a week.
    pub(crate) async fn page_incidents(
        &self,
        stale_after_ms: i64,
        now: i64,
    ) -> Result<Vec<Incident>> {
        let rows: Vec<IncidentRow> = sqlx::query_as(&format!(
            "{INCIDENT_COLUMNS} WHERE (resolved_at IS NULL AND (ends_at IS NULL OR ends_at > $1)) \
             OR resolved_at > $1 ORDER BY created_at DESC"
        ))
        .bind(now - RECENT_INCIDENT_MS)
        .fetch_all(self.pool())
        .await?;
        self.complete_incidents(rows, stale_after_ms, now).await
    }

    /// Incidents and maintenance created, resolved or ending after
    /// `since`, newest first.
    pub(crate) async fn incidents_since(
        &self,
        since: i64,
        stale_after_ms: i64,
        now: i64,
    ) -> Result<Vec<Incident>> {
        let rows: Vec<IncidentRow> = sqlx::query_as(&format!(
            "{INCIDENT_COLUMNS} WHERE created_at > $1 OR resolved_at > $1 OR ends_at > $1 \
             ORDER BY created_at DESC"
        ))
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        self.complete_incidents(rows, stale_after_ms, now).await
    }

    /// Incidents and maintenance, newest first; closed ones only with `all`.
    pub async fn list_incidents(
        &self,
        _access: &ProviderAccess,
        all: bool,
        stale_after_ms: i64,
        now: i64,
    ) -> Result<Vec<Incident>> {
        let filter = if all {
            ""
        } else {
            " WHERE resolved_at IS NULL AND (ends_at IS NULL OR ends_at > $1)"
        };
        let query = format!("{INCIDENT_COLUMNS}{filter} ORDER BY created_at DESC");
        let mut query = sqlx::query_as::<_, IncidentRow>(&query);
        if !all {
            query = query.bind(now);
        }
        let rows = query.fetch_all(self.pool()).await?;
        self.complete_incidents(rows, stale_after_ms, now).await
    }

    pub async fn get_incident(
        &self,
        _access: &ProviderAccess,
        id: &str,
        stale_after_ms: i64,
        now: i64,
    ) -> Result<Incident> {
        self.incident_by_id(id, stale_after_ms, now).await
    }

    /// One incident as the page and notifications show it; no actor,
    /// since the page is public.
    pub async fn public_incident(
        &self,
        id: &str,
        stale_after_ms: i64,
        now: i64,
    ) -> Result<Incident> {
        self.incident_by_id(id, stale_after_ms, now).await
    }

    pub(crate) async fn incident_by_id(
        &self,
        id: &str,
        stale_after_ms: i64,
        now: i64,
    ) -> Result<Incident> {
        let rows: Vec<IncidentRow> = sqlx::query_as(&format!("{INCIDENT_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        self.complete_incidents(rows, stale_after_ms, now)
            .await?
            .pop()
            .ok_or_else(|| StoreError::not_found("incident", id))
    }

    async fn complete_incidents(
        &self,
        rows: Vec<IncidentRow>,
        stale_after_ms: i64,
        now: i64,
    ) -> Result<Vec<Incident>> {
        let ids: Vec<&str> = rows.iter().map(|row| row.0.as_str()).collect();
        let mut components: HashMap<String, Vec<String>> = HashMap::new();
        let mut updates: HashMap<String, Vec<IncidentUpdate>> = HashMap::new();
        // Two queries for all incidents rather than two per incident: the
        // public page renders them on every cache miss.
        for chunk in ids.chunks(500) {
            let placeholders = placeholders(chunk.len());
            let sql = format!(
                "SELECT ic.incident_id, c.name FROM incident_components ic \
                 JOIN status_components c ON c.id = ic.component_id \
                 WHERE ic.incident_id IN ({placeholders}) ORDER BY c.name"
            );
            let mut query = sqlx::query_as::<_, (String, String)>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for (incident, name) in query.fetch_all(self.pool()).await? {
                components.entry(incident).or_default().push(name);
            }
            let sql = format!(
                "SELECT incident_id, id, state, message, created_at FROM incident_updates \
                 WHERE incident_id IN ({placeholders}) ORDER BY created_at DESC, id DESC"
            );
            let mut query = sqlx::query_as::<_, (String, String, String, String, i64)>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for (incident, id, state, message, created_at) in query.fetch_all(self.pool()).await? {
                updates.entry(incident).or_default().push(IncidentUpdate {
                    id,
                    state: IncidentState::parse(&state).unwrap_or(IncidentState::Investigating),
                    message: decode_text(&message),
                    created_at: timestamp(created_at),
                });
            }
        }
        let mut incidents = Vec::with_capacity(rows.len());
        for (
            id,
            kind,
            title,
            impact,
            state,
            starts_at,
            ends_at,
            created_at,
            updated_at,
            resolved_at,
        ) in rows
        {
            let kind = if kind == "maintenance" {
                IncidentKind::Maintenance
            } else {
                IncidentKind::Incident
            };
            let state = match (kind, starts_at, ends_at) {
                (IncidentKind::Maintenance, Some(starts), Some(ends)) => {
                    statuspage::maintenance_state(starts, ends, resolved_at, now)
                }
                _ => IncidentState::parse(&state).unwrap_or(IncidentState::Investigating),
            };
            let affected = components.remove(&id).unwrap_or_default();
            let history = updates.remove(&id).unwrap_or_default();
            incidents.push(Incident {
                stale: statuspage::is_stale(state, updated_at, stale_after_ms, now),
                id,
                kind,
                title: decode_text(&title),
                impact: Impact::parse(&impact).unwrap_or(Impact::None),
                state,
                components: affected,
                starts_at: opt_timestamp(starts_at),
                ends_at: opt_timestamp(ends_at),
                created_at: timestamp(created_at),
                updated_at: timestamp(updated_at),
                resolved_at: opt_timestamp(resolved_at),
                updates: history,
            });
        }
        Ok(incidents)
    }

    /// Components of maintenance in progress at `now`.
    pub(crate) async fn components_in_maintenance(&self, now: i64) -> Result<HashSet<String>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT ic.component_id FROM incident_components ic \
             JOIN incidents i ON i.id = ic.incident_id \
             WHERE i.kind = 'maintenance' AND i.starts_at <= $1 AND i.ends_at > $1 \
             AND (i.resolved_at IS NULL OR i.resolved_at > $1)",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        Ok(ids.into_iter().collect())
    }

    pub async fn create_incident(
        &self,
        access: &ProviderAccess,
        request: CreateIncident,
        stale_after_ms: i64,
        now: i64,
    ) -> Result<Incident> {
        let state = request.state.unwrap_or(IncidentState::Investigating);
        let (title, message, ()) = crate::validate::all((
            localized("title", &request.title, MAX_TITLE),
            localized("message", &request.message, MAX_MESSAGE),
            allowed_state(false, state),
        ))?;
        self.insert_incident(
            access,
            NewIncident {
                maintenance: false,
                title,
                impact: request.impact,
                state,
                window: None,
                components: &request.components,
                message,
            },
            stale_after_ms,
            now,
        )
        .await
    }

    pub async fn create_maintenance(
        &self,
        access: &ProviderAccess,
        request: CreateMaintenance,
        stale_after_ms: i64,
        now: i64,
    ) -> Result<Incident> {
        let starts = to_ms(request.starts_at);
        let ends = to_ms(request.ends_at);
        let window = if ends <= starts {
            Err(Violation::new("ends_at", "must be after starts_at"))
        } else if ends - starts > MAX_MAINTENANCE_MS {
            Err(Violation::new(
                "ends_at",
                "a maintenance window lasts at most 7 days",
            ))
        } else if ends <= now || starts > now + MAX_MAINTENANCE_AHEAD_MS {
            Err(Violation::new(
                "starts_at",
                "the window must end in the future and start within a year",
            ))
        } else {
            Ok(())
        };
        let (title, message, ()) = crate::validate::all((
            localized("title", &request.title, MAX_TITLE),
            localized("message", &request.message, MAX_MESSAGE),
            window,
        ))?;
        self.insert_incident(
            access,
            NewIncident {
                maintenance: true,
                title,
                impact: Impact::None,
                state: statuspage::maintenance_state(starts, ends, None, now),
                window: Some((starts, ends)),
                components: &request.components,
                message,
            },
            stale_after_ms,
            now,
        )
        .await
    }

    /// Writes a new incident or maintenance with its first update, its
    /// audit event and its notifications in one transaction.
    async fn insert_incident(
        &self,
        access: &ProviderAccess,
        new: NewIncident<'_>,
        stale_after_ms: i64,
        now: i64,
    ) -> Result<Incident> {
        let mut tx = self.write().await?;
        let components = resolve_components(&mut tx, new.components).await?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO incidents (id, kind, title, impact, state, starts_at, ends_at, \
             created_at, updated_at, resolved_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
        )
        .bind(&id)
        .bind(if new.maintenance {
            "maintenance"
        } else {
            "incident"
        })
        .bind(encode_text(&new.title))
        .bind(new.impact.as_str())
        .bind(new.state.as_str())
        .bind(new.window.map(|(starts, _)| starts))
        .bind(new.window.map(|(_, ends)| ends))
        .bind(now)
        .bind((!new.maintenance && new.state.is_closed()).then_some(now))
        .execute(tx.conn())
        .await?;
        self.finish_new_incident(&mut tx, access, &id, &new, &components, now)
            .await?;
        tx.commit().await?;
        self.incident_by_id(&id, stale_after_ms, now).await
    }

    async fn finish_new_incident(
        &self,
        tx: &mut WriteTx<'_>,
        access: &ProviderAccess,
        id: &str,
        new: &NewIncident<'_>,
        components: &[(String, String)],
        now: i64,
    ) -> Result<()> {
        let (title, state, message) = (&new.title, new.state, &new.message);
        for (component, _) in components {
            sqlx::query(
                "INSERT INTO incident_components (incident_id, component_id) VALUES ($1, $2)",
            )
            .bind(id)
            .bind(component)
            .execute(tx.conn())
            .await?;
        }
        let update_id = insert_update(tx, id, state, message, now).await?;
        let name = title
            .pick(api_types::Language::En)
            .map_or("", |(text, _)| text);
        audit::record(
            tx,
            access.audit(),
            Change {
                action: "status.incident.create",
                target_type: "incident",
                target_id: id,
                target_name: name,
                tenant: None,
                details: json!({
                    "state": state.as_str(),
                    "components": components.iter().map(|(_, name)| name).collect::<Vec<_>>(),
                }),
            },
        )
        .await?;
        let component_ids: Vec<String> = components.iter().map(|(id, _)| id.clone()).collect();
        notify::enqueue_incident(
            tx,
            DeliveryEvent::IncidentCreated,
            id,
            &update_id,
            &component_ids,
            now,
        )
        .await
    }

    /// Posts an update; `resolved` resolves an incident, `completed` ends a
    /// maintenance early, and a later update reopens a resolved incident.
    pub async fn post_incident_update(
        &self,
        access: &ProviderAccess,
        id: &str,
        request: PostIncidentUpdate,
        stale_after_ms: i64,
        now: i64,
    ) -> Result<Incident> {
        let incident = self.incident_by_id(id, stale_after_ms, now).await?;
        let maintenance = incident.kind == IncidentKind::Maintenance;
        let (message, ()) = crate::validate::all((
            localized("message", &request.message, MAX_MESSAGE),
            allowed_state(maintenance, request.state),
        ))?;
        if maintenance && incident.state == IncidentState::Completed {
            return Err(StoreError::Conflict(
                "this maintenance is completed; schedule a new one".into(),
            ));
        }
        let mut tx = self.write().await?;
        let resolved_at = request.state.is_closed().then_some(now);
        sqlx::query(
            "UPDATE incidents SET state = $2, impact = COALESCE($3, impact), updated_at = $4, \
             resolved_at = $5 WHERE id = $1",
        )
        .bind(&incident.id)
        .bind(request.state.as_str())
        .bind(request.impact.map(Impact::as_str))
        .bind(now)
        .bind(resolved_at)
        .execute(tx.conn())
        .await?;
        let update_id = insert_update(&mut tx, &incident.id, request.state, &message, now).await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "status.incident.update",
                target_type: "incident",
                target_id: &incident.id,
                target_name: incident
                    .title
                    .pick(api_types::Language::En)
                    .map_or("", |(text, _)| text),
                tenant: None,
                details: json!({ "state": request.state.as_str() }),
            },
        )
        .await?;
        let component_ids: Vec<String> = sqlx::query_scalar(
            "SELECT component_id FROM incident_components WHERE incident_id = $1",
        )
        .bind(&incident.id)
        .fetch_all(tx.conn())
        .await?;
        let event = if request.state.is_closed() {
            DeliveryEvent::IncidentResolved
        } else {
            DeliveryEvent::IncidentUpdated
        };
        notify::enqueue_incident(
            &mut tx,
            event,
            &incident.id,
            &update_id,
            &component_ids,
            now,
        )
        .await?;
        tx.commit().await?;
        if maintenance {
            self.record_status_history(now).await?;
        }
        self.incident_by_id(&incident.id, stale_after_ms, now).await
    }
}

async fn insert_update(
    tx: &mut WriteTx<'_>,
    incident: &str,
    state: IncidentState,
    message: &Localized,
    now: i64,
) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO incident_updates (id, incident_id, state, message, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(incident)
    .bind(state.as_str())
    .bind(encode_text(message))
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// `(id, name)` of each component named, or an error listing unknown ones.
async fn resolve_components(
    tx: &mut WriteTx<'_>,
    keys: &[String],
) -> Result<Vec<(String, String)>> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut unknown = Vec::new();
    for key in keys {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT id, name FROM status_components WHERE id = $1 OR name = $1")
                .bind(key)
                .fetch_optional(tx.conn())
                .await?;
        match row {
            Some(row) if !found.contains(&row) => found.push(row),
            Some(_) => {}
            None => unknown.push(key.clone()),
        }
    }
    if !unknown.is_empty() {
        return Err(StoreError::Invalid(vec![Violation::new(
            "components",
            format!("no such component: {}", unknown.join(", ")),
        )]));
    }
    Ok(found)
}
