//! Sessions and refusals as tenant admins and operators see them.

use api_types::tenancy::{Refusal, Session, SessionList};
use serde_json::json;
use sqlx::FromRow;

use crate::audit::{self, Change};
use crate::authz::TenantAccess;
use crate::convert::{opt_timestamp, opt_u32, timestamp, to_ms, u32_or_zero};
use crate::paging::{self, Page, PageError, PageRequest};
use crate::{Result, Store, StoreError, now_ms};

#[derive(FromRow)]
struct SessionRow {
    device_id: String,
    device_name: String,
    owner: Option<String>,
    gateway: String,
    superseded: i64,
    started_at: i64,
    last_handshake_at: Option<i64>,
    rx_bytes: i64,
    tx_bytes: i64,
    endpoint: Option<String>,
}

#[derive(FromRow)]
struct RefusalRow {
    id: String,
    at: i64,
    first_at: Option<i64>,
    count: i64,
    device_id: String,
    device_name: String,
    owner: Option<String>,
    gateway: Option<String>,
    reason: String,
    message: String,
}

impl From<RefusalRow> for Refusal {
    fn from(row: RefusalRow) -> Refusal {
        Refusal {
            id: row.id,
            at: timestamp(row.at),
            first_at: timestamp(row.first_at.unwrap_or(row.at)),
            count: u32_or_zero(row.count),
            device_id: row.device_id,
            device_name: row.device_name,
            owner: row.owner,
            gateway: row.gateway,
            reason: row.reason,
            message: row.message,
        }
    }
}

const REFUSAL_SELECT: &str = "SELECT r.id, r.at, r.first_at, r.count, r.device_id, d.name AS device_name, \
     u.username AS owner, g.name AS gateway, r.reason, r.message FROM refusals r \
     JOIN devices d ON d.id = r.device_id LEFT JOIN users u ON u.id = r.user_id \
     LEFT JOIN gateways g ON g.id = r.gateway_id";

impl Store {
    /// The tenant's sessions now, against its quota.
    pub async fn list_sessions(&self, access: &TenantAccess) -> Result<SessionList> {
        let now = now_ms();
        let rows = sqlx::query_as::<_, SessionRow>(
            "SELECT h.device_id, d.name AS device_name, u.username AS owner, g.name AS gateway, \
             h.superseded, h.started_at, h.last_handshake_at, h.rx_bytes, h.tx_bytes, h.endpoint \
             FROM seat_holders h JOIN devices d ON d.id = h.device_id \
             JOIN gateways g ON g.id = h.gateway_id LEFT JOIN users u ON u.id = d.user_id \
             WHERE h.tenant_id = $1 AND h.expires_at > $2 ORDER BY h.started_at, h.device_id",
        )
        .bind(access.tenant_id())
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        // A device that failed over holds its seat through the new gateway
        // while the old one confirms the end: one seat, one row (the
        // active one, since the seat's first start).
        let mut seats: Vec<SessionRow> = Vec::with_capacity(rows.len());
        let mut seat_of: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        for row in rows {
            match seat_of
                .get(&row.device_id)
                .and_then(|&at| seats.get_mut(at))
            {
                Some(seat) => {
                    let started_at = seat.started_at.min(row.started_at);
                    if seat.superseded != 0 && row.superseded == 0 {
                        *seat = row;
                    }
                    seat.started_at = started_at;
                }
                None => {
                    seat_of.insert(row.device_id.clone(), seats.len());
                    seats.push(row);
                }
            }
        }
        let mut devices = std::collections::BTreeSet::new();
        let sessions: Vec<Session> = seats
            .into_iter()
            .map(|row| {
                devices.insert(row.device_id.clone());
                Session {
                    device_id: row.device_id,
                    device_name: row.device_name,
                    owner: row.owner,
                    gateway: row.gateway,
                    state: if row.superseded == 0 {
                        "active"
                    } else {
                        "ending"
                    }
                    .to_owned(),
                    started_at: timestamp(row.started_at),
                    last_handshake_at: opt_timestamp(row.last_handshake_at),
                    rx_bytes: u64::try_from(row.rx_bytes).unwrap_or(0),
                    tx_bytes: u64::try_from(row.tx_bytes).unwrap_or(0),
                    endpoint: row.endpoint,
                }
            })
            .collect();
        let (max_sessions, priority_seats): (Option<i64>, i64) =
            sqlx::query_as("SELECT max_sessions, priority_seats FROM tenants WHERE id = $1")
                .bind(access.tenant_id())
                .fetch_one(self.pool())
                .await?;
        Ok(SessionList {
            in_use: u32::try_from(devices.len()).unwrap_or(u32::MAX),
            max_sessions: opt_u32(max_sessions),
            priority_seats: u32_or_zero(priority_seats),
            sessions,
        })
    }

    /// One page of [`Store::list_sessions`], by start and device, optionally
    /// only sessions whose device name, owner or gateway contains the search
    /// text. `in_use` still counts every seat. Seats are bounded by the
    /// tenant's quota, so the page is cut from the whole list, which keeps a
    /// seat held through two gateways one row.
    pub async fn page_sessions(
        &self,
        access: &TenantAccess,
        request: &PageRequest,
    ) -> Result<(SessionList, Option<String>)> {
        let scope = format!("sessions/{}", access.tenant_id());
        let after = match request.after(&scope, 2)?.as_deref() {
            Some([started, id]) => {
                let started: i64 = started.parse().map_err(|_| PageError::Cursor)?;
                Some((started, id.clone()))
            }
            Some(_) => return Err(PageError::Cursor.into()),
            None => None,
        };
        let mut list = self.list_sessions(access).await?;
        let search = request.search();
        let mut sessions: Vec<(i64, Session)> = std::mem::take(&mut list.sessions)
            .into_iter()
            .map(|session| (to_ms(session.started_at), session))
            .filter(|(started, session)| {
                after
                    .as_ref()
                    .is_none_or(|(a, id)| (*started, &session.device_id) > (*a, id))
            })
            .filter(|(_, session)| {
                search.is_none_or(|text| {
                    session.device_name.to_lowercase().contains(text)
                        || session.gateway.to_lowercase().contains(text)
                        || session
                            .owner
                            .as_deref()
                            .is_some_and(|o| o.to_lowercase().contains(text))
                })
            })
            .collect();
        sessions.sort_by(|(a, x), (b, y)| (a, &x.device_id).cmp(&(b, &y.device_id)));
        let page = Page::from_rows(sessions, request.limit, |(started, session)| {
            paging::cursor(
                &scope,
                &[started.to_string().as_str(), session.device_id.as_str()],
            )
        });
        list.sessions = page.items.into_iter().map(|(_, session)| session).collect();
        Ok((list, page.next))
    }

    /// Ends a device's session: no gateway renews its seat any more. Returns
    /// the ids of the gateways to tell.
    pub async fn end_session(&self, access: &TenantAccess, device_id: &str) -> Result<Vec<String>> {
        let device = self.get_device(access, device_id).await?;
        let mut tx = self.write().await?;
        let gateways: Vec<String> = sqlx::query_scalar(
            "UPDATE seat_holders SET superseded = 1 WHERE device_id = $1 AND tenant_id = $2 \
             AND expires_at > $3 RETURNING gateway_id",
        )
        .bind(&device.id)
        .bind(access.tenant_id())
        .bind(now_ms())
        .fetch_all(tx.conn())
        .await?;
        if gateways.is_empty() {
            return Err(StoreError::not_found("session", &device.name));
        }
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "session.end",
                target_type: "device",
                target_id: &device.id,
                target_name: &device.name,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(gateways)
    }

    /// Device ids of the newest sessions beyond the quota (for "end the
    /// newest sessions" after lowering it).
    pub async fn sessions_over_quota(&self, access: &TenantAccess) -> Result<Vec<String>> {
        let list = self.list_sessions(access).await?;
        let Some(max) = list.max_sessions else {
            return Ok(Vec::new());
        };
        // `list_sessions` already gives one row per seat.
        let mut by_start: Vec<&Session> = list
            .sessions
            .iter()
            .filter(|s| s.state == "active")
            .collect();
        by_start.sort_by_key(|s| s.started_at);
        let keep = usize::try_from(max).unwrap_or(usize::MAX);
        Ok(by_start
            .iter()
            .skip(keep)
            .map(|s| s.device_id.clone())
            .collect())
    }

    pub async fn list_refusals(&self, access: &TenantAccess, limit: u32) -> Result<Vec<Refusal>> {
        let rows = sqlx::query_as::<_, RefusalRow>(&format!(
            "{REFUSAL_SELECT} WHERE r.tenant_id = $1 ORDER BY r.at DESC, r.id DESC LIMIT {}",
            limit.clamp(1, 1000)
        ))
        .bind(access.tenant_id())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(Refusal::from).collect())
    }

    /// Refusals of the actor's own devices.
    pub async fn my_refusals(&self, user_id: &str, limit: u32) -> Result<Vec<Refusal>> {
        let rows = sqlx::query_as::<_, RefusalRow>(&format!(
            "{REFUSAL_SELECT} WHERE r.user_id = $1 ORDER BY r.at DESC, r.id DESC LIMIT {}",
            limit.clamp(1, 1000)
        ))
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(Refusal::from).collect())
    }

    /// Forgets refusals older than [`crate::seats::REFUSAL_RETENTION_MS`].
    pub async fn prune_refusals(&self, now: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM refusals WHERE at < $1")
            .bind(now - crate::seats::REFUSAL_RETENTION_MS)
            .execute(self.pool())
            .await?
            .rows_affected())
    }

    /// Refused handshakes per tenant whose row was last counted at or after
    /// `since_ms` (for metrics and the console).
    pub async fn refusal_counts(&self, since_ms: i64) -> Result<Vec<(String, i64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT t.slug, CAST(SUM(r.count) AS BIGINT) FROM refusals r \
             JOIN tenants t ON t.id = r.tenant_id \
             WHERE r.at >= $1 GROUP BY t.slug ORDER BY t.slug",
        )
        .bind(since_ms)
        .fetch_all(self.pool())
        .await?;
        Ok(rows)
    }

    /// Current (not superseded) seats held per gateway id.
    pub async fn gateway_loads(&self) -> Result<std::collections::BTreeMap<String, i64>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT gateway_id, COUNT(*) FROM seat_holders WHERE expires_at > $1 \
             AND superseded = 0 GROUP BY gateway_id",
        )
        .bind(now_ms())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// Seats in use per tenant now (for metrics).
    pub async fn session_counts(&self) -> Result<Vec<(String, i64, Option<i64>)>> {
        let rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT t.slug, COUNT(DISTINCT h.device_id), t.max_sessions FROM tenants t \
             LEFT JOIN seat_holders h ON h.tenant_id = t.id AND h.expires_at > $1 \
             GROUP BY t.slug, t.max_sessions ORDER BY t.slug",
        )
        .bind(now_ms())
        .fetch_all(self.pool())
        .await?;
        Ok(rows)
    }
}
