//! The seat ledger in SQL: admissions, renewals and releases of the seats
//! gateways hold for devices (table `seat_holders`), and refusals.
//!
//! Admissions are decided in batches: one write transaction takes every
//! pending request, loads each tenant's holdings into `admission::Ledger`,
//! decides there (the rules the simulation tests check) and writes the
//! outcome back. With each tenant locked for the transaction the quota stays
//! exact across gateways and replicas, and 10,000 devices asking at 8:00 cost
//! a few transactions instead of 10,000 serialized ones.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use admission::Quota;
use admission::ledger::{Grant, Holding, Ledger};
use api_types::gateway::PeerStats;
use sqlx::Row;

use crate::convert::u32_or_zero;
use crate::gateway_stream::GatewayIdentity;
use crate::{Result, Store, StoreError, WriteTx, new_id, now_ms};

/// The control plane's answer to an admission request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmitOutcome {
    pub admitted: bool,
    /// `(code, message)` of a refusal.
    pub refusal: Option<(String, String)>,
    /// Gateways whose sessions of this device end now (the device moved).
    pub supersedes: Vec<String>,
}

impl AdmitOutcome {
    fn admitted(supersedes: Vec<String>) -> AdmitOutcome {
        AdmitOutcome {
            admitted: true,
            refusal: None,
            supersedes,
        }
    }

    fn refused(code: &str, message: String) -> AdmitOutcome {
        AdmitOutcome {
            admitted: false,
            refusal: Some((code.to_owned(), message)),
            supersedes: Vec::new(),
        }
    }
}

/// A gateway asking whether a device may start a session through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmitRequest {
    pub gateway: GatewayIdentity,
    pub public_key: String,
    /// How long an admitted seat is held without renewal.
    pub lease_ms: i64,
}

/// An enrolled device, as admission needs it.
struct Applicant {
    id: String,
    tenant_id: String,
    user_id: Option<String>,
}

/// Device keys looked up per query (bind parameters stay well below every
/// engine's limit).
const KEYS_PER_QUERY: usize = 500;

fn millis(ms: i64) -> admission::Millis {
    u64::try_from(ms).unwrap_or(0)
}

impl Store {
    /// Decides whether the device with `public_key` may start a session
    /// through `gateway`, and records the seat or the refusal.
    pub async fn admit_session(
        &self,
        gateway: &GatewayIdentity,
        public_key: &str,
        lease_ms: i64,
    ) -> Result<AdmitOutcome> {
        let request = AdmitRequest {
            gateway: gateway.clone(),
            public_key: public_key.to_owned(),
            lease_ms,
        };
        let outcomes = self.admit_sessions(&[request]).await?;
        outcomes
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound {
                what: "device",
                key: public_key.to_owned(),
            })
    }

    /// Decides a batch of admissions in one transaction, in request order
    /// within each tenant; the outcomes are in request order. A device
    /// asking twice in one batch is decided twice, like two batches would.
    pub async fn admit_sessions(&self, requests: &[AdmitRequest]) -> Result<Vec<AdmitOutcome>> {
        let applicants = self.applicants(requests).await?;
        let mut outcomes: Vec<Option<AdmitOutcome>> = vec![None; requests.len()];
        let mut by_tenant: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (index, request) in requests.iter().enumerate() {
            match applicants.get(&request.public_key) {
                Some(applicant) => by_tenant
                    .entry(applicant.tenant_id.as_str())
                    .or_default()
                    .push(index),
                None => {
                    outcomes[index] = Some(AdmitOutcome::refused(
                        "unknown_device",
                        "this device is not enrolled".into(),
                    ));
                }
            }
        }
        if !by_tenant.is_empty() {
            let mut tx = self.write().await?;
            // In one order everywhere, so that two batches never wait for
            // each other's tenants.
            for tenant_id in by_tenant.keys() {
                tx.lock_tenant(tenant_id).await?;
            }
            let now = now_ms();
            for (tenant_id, indices) in &by_tenant {
                let mut tenant = TenantSeats::load(&mut tx, tenant_id, now).await?;
                for &index in indices {
                    let request = &requests[index];
                    let applicant = &applicants[&request.public_key];
                    let outcome = tenant.admit(&mut tx, applicant, request, now).await?;
                    outcomes[index] = Some(outcome);
                }
                sqlx::query("DELETE FROM seat_holders WHERE tenant_id = $1 AND expires_at <= $2")
                    .bind(tenant_id)
                    .bind(now)
                    .execute(tx.conn())
                    .await?;
            }
            tx.commit().await?;
        }
        // Every request was decided above.
        Ok(outcomes.into_iter().flatten().collect())
    }

    /// The enrolled devices (of enabled users) among the requests' keys.
    async fn applicants(&self, requests: &[AdmitRequest]) -> Result<BTreeMap<String, Applicant>> {
        let keys: BTreeSet<&str> = requests.iter().map(|r| r.public_key.as_str()).collect();
        let keys: Vec<&str> = keys.into_iter().collect();
        let mut found = BTreeMap::new();
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT d.id, d.public_key, d.tenant_id, d.user_id FROM devices d \
                 LEFT JOIN users u ON u.id = d.user_id \
                 WHERE d.public_key IN ({}) AND d.state IN ('active', 'enrolled') \
                 AND (u.id IS NULL OR u.disabled = 0)",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for key in chunk {
                query = query.bind(*key);
            }
            for row in query.fetch_all(self.pool()).await? {
                found.insert(
                    row.try_get("public_key")?,
                    Applicant {
                        id: row.try_get("id")?,
                        tenant_id: row.try_get("tenant_id")?,
                        user_id: row.try_get("user_id")?,
                    },
                );
            }
        }
        Ok(found)
    }

    /// Renews the seats `gateway` holds for `sessions` and records the
    /// counters; returns the public keys whose seats were renewed.
    pub async fn renew_sessions(
        &self,
        gateway: &GatewayIdentity,
        sessions: &[String],
        stats: &[PeerStats],
        lease_ms: i64,
    ) -> Result<Vec<String>> {
        let stats_by_key: BTreeMap<&str, &PeerStats> =
            stats.iter().map(|s| (s.public_key.as_str(), s)).collect();
        let mut tx = self.write().await?;
        let now = now_ms();
        let mut renewed = Vec::new();
        for key in sessions {
            let stat = stats_by_key.get(key.as_str());
            let result = sqlx::query(
                "UPDATE seat_holders SET expires_at = $1, \
                 rx_bytes = COALESCE($2, rx_bytes), tx_bytes = COALESCE($3, tx_bytes), \
                 last_handshake_at = COALESCE($4, last_handshake_at), \
                 endpoint = COALESCE($5, endpoint) \
                 WHERE gateway_id = $6 AND superseded = 0 AND expires_at > $7 \
                 AND device_id = (SELECT id FROM devices WHERE public_key = $8)",
            )
            .bind(now + lease_ms)
            .bind(stat.map(|s| i64::try_from(s.rx_bytes).unwrap_or(i64::MAX)))
            .bind(stat.map(|s| i64::try_from(s.tx_bytes).unwrap_or(i64::MAX)))
            .bind(stat.and_then(|s| {
                s.last_handshake_secs
                    .map(|secs| now - i64::try_from(secs).unwrap_or(0) * 1000)
            }))
            .bind(stat.and_then(|s| s.endpoint.clone()))
            .bind(&gateway.id)
            .bind(now)
            .bind(key)
            .execute(tx.conn())
            .await?;
            if result.rows_affected() > 0 {
                renewed.push(key.clone());
            }
        }
        sqlx::query("UPDATE gateways SET last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&gateway.id)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(renewed)
    }

    /// The gateway ended its session of the device: its holding is freed.
    pub async fn release_session(&self, gateway: &GatewayIdentity, public_key: &str) -> Result<()> {
        sqlx::query(
            "DELETE FROM seat_holders WHERE gateway_id = $1 \
             AND device_id = (SELECT id FROM devices WHERE public_key = $2)",
        )
        .bind(&gateway.id)
        .bind(public_key)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

/// One tenant's seats inside an admission transaction: its quota and
/// rules, and its holdings loaded into the pure ledger.
struct TenantSeats {
    id: String,
    ledger: Ledger,
    mfa_hours: Option<i64>,
    priority_members: HashSet<String>,
}

impl TenantSeats {
    async fn load(tx: &mut WriteTx<'_>, tenant_id: &str, now: i64) -> Result<TenantSeats> {
        let (max_sessions, priority_seats, priority_group, mfa_hours): (
            Option<i64>,
            i64,
            Option<String>,
            Option<i64>,
        ) = sqlx::query_as(
            "SELECT max_sessions, priority_seats, priority_group_id, mfa_before_vpn_hours \
             FROM tenants WHERE id = $1",
        )
        .bind(tenant_id)
        .fetch_one(tx.conn())
        .await?;
        let mut ledger = Ledger::default();
        ledger.set_quota(
            tenant_id,
            Quota {
                max_sessions: max_sessions.and_then(|m| u32::try_from(m).ok()),
                priority_seats: u32_or_zero(priority_seats),
            },
        );
        let holdings = sqlx::query(
            "SELECT device_id, gateway_id, priority, expires_at, superseded FROM seat_holders \
             WHERE tenant_id = $1 AND expires_at > $2",
        )
        .bind(tenant_id)
        .bind(now)
        .fetch_all(tx.conn())
        .await?;
        for row in holdings {
            let device: String = row.try_get("device_id")?;
            let gateway: String = row.try_get("gateway_id")?;
            let priority: i64 = row.try_get("priority")?;
            let expires_at: i64 = row.try_get("expires_at")?;
            let superseded: i64 = row.try_get("superseded")?;
            ledger.restore(
                tenant_id,
                &device,
                &gateway,
                priority != 0,
                Holding {
                    expires_at: millis(expires_at),
                    superseded: superseded != 0,
                },
            );
        }
        let priority_members = match priority_group {
            Some(group) => {
                sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = $1")
                    .bind(group)
                    .fetch_all(tx.conn())
                    .await?
                    .into_iter()
                    .collect()
            }
            None => HashSet::new(),
        };
        Ok(TenantSeats {
            id: tenant_id.to_owned(),
            ledger,
            mfa_hours,
            priority_members,
        })
    }

    /// Decides one admission with the ledger and writes what it decided.
    async fn admit(
        &mut self,
        tx: &mut WriteTx<'_>,
        applicant: &Applicant,
        request: &AdmitRequest,
        now: i64,
    ) -> Result<AdmitOutcome> {
        let (gateway, lease_ms) = (&request.gateway, request.lease_ms);
        let current = self.ledger.is_current(&self.id, &applicant.id, millis(now));
        // A device in session keeps its seat; a new session needs a recent
        // second factor where the tenant demands one.
        if !current && let Some(hours) = self.mfa_hours {
            let last_mfa: Option<i64> = match &applicant.user_id {
                Some(user) => {
                    sqlx::query_scalar("SELECT last_mfa_at FROM users WHERE id = $1")
                        .bind(user)
                        .fetch_one(tx.conn())
                        .await?
                }
                None => None,
            };
            if last_mfa.is_none_or(|at| at < now - hours * 3_600_000) {
                let message = format!(
                    "your organisation requires a login with a second factor (MFA) in the \
                     last {hours} hours before using the VPN: log in to the portal, then try again"
                );
                self.refuse(tx, applicant, gateway, "mfa_required", &message, now)
                    .await?;
                return Ok(AdmitOutcome::refused("mfa_required", message));
            }
        }
        let is_priority = applicant
            .user_id
            .as_ref()
            .is_some_and(|user| self.priority_members.contains(user));
        let grant = self.ledger.admit(
            &self.id,
            &applicant.id,
            &gateway.id,
            is_priority,
            millis(lease_ms),
            millis(now),
        );
        match grant {
            Grant::Admitted { supersedes } => {
                if !supersedes.is_empty() {
                    sqlx::query(
                        "UPDATE seat_holders SET superseded = 1 WHERE device_id = $1 \
                         AND gateway_id <> $2 AND expires_at > $3 AND superseded = 0",
                    )
                    .bind(&applicant.id)
                    .bind(&gateway.id)
                    .bind(now)
                    .execute(tx.conn())
                    .await?;
                }
                let priority = self
                    .ledger
                    .seat(&self.id, &applicant.id)
                    .is_some_and(|seat| seat.priority);
                upsert_holding(
                    tx,
                    &applicant.id,
                    gateway,
                    &self.id,
                    i64::from(priority),
                    now,
                    now + lease_ms,
                )
                .await?;
                Ok(AdmitOutcome::admitted(supersedes))
            }
            Grant::Refused(refusal) => {
                let message = refusal.message();
                self.refuse(tx, applicant, gateway, refusal.code(), &message, now)
                    .await?;
                Ok(AdmitOutcome::refused(refusal.code(), message))
            }
        }
    }

    async fn refuse(
        &self,
        tx: &mut WriteTx<'_>,
        applicant: &Applicant,
        gateway: &GatewayIdentity,
        reason: &str,
        message: &str,
        now: i64,
    ) -> Result<()> {
        record_refusal(
            tx,
            RefusalFacts {
                tenant_id: &self.id,
                device_id: &applicant.id,
                user_id: applicant.user_id.as_deref(),
                gateway_id: &gateway.id,
                reason,
                message,
            },
            now,
        )
        .await
    }
}

async fn upsert_holding(
    tx: &mut WriteTx<'_>,
    device_id: &str,
    gateway: &GatewayIdentity,
    tenant_id: &str,
    priority: i64,
    now: i64,
    expires: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO seat_holders (device_id, gateway_id, tenant_id, priority, started_at, \
         expires_at, superseded) VALUES ($1, $2, $3, $4, $5, $6, 0) \
         ON CONFLICT (device_id, gateway_id) DO UPDATE SET expires_at = $6, superseded = 0",
    )
    .bind(device_id)
    .bind(&gateway.id)
    .bind(tenant_id)
    .bind(priority)
    .bind(now)
    .bind(expires)
    .execute(tx.conn())
    .await?;
    // The onboarding step "working" (an index lookup once the device has it).
    sqlx::query(
        "UPDATE devices SET first_session_at = $1 WHERE id = $2 AND first_session_at IS NULL",
    )
    .bind(now)
    .bind(device_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Refusals are kept this long.
pub const REFUSAL_RETENTION_MS: i64 = 30 * 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// One refused handshake, as recorded.
struct RefusalFacts<'a> {
    tenant_id: &'a str,
    device_id: &'a str,
    user_id: Option<&'a str>,
    gateway_id: &'a str,
    reason: &'a str,
    message: &'a str,
}

/// Records a refusal as one row per device, reason and hour: a refused
/// device retries its handshake about 12 times a minute, and a row per
/// retry would grow the table without telling anyone more.
async fn record_refusal(tx: &mut WriteTx<'_>, facts: RefusalFacts<'_>, now: i64) -> Result<()> {
    let hour_start = now - now.rem_euclid(HOUR_MS);
    let counted = sqlx::query(
        "UPDATE refusals SET count = count + 1, at = $1, message = $2, gateway_id = $3, \
         user_id = $4 WHERE device_id = $5 AND reason = $6 AND first_at >= $7",
    )
    .bind(now)
    .bind(facts.message)
    .bind(facts.gateway_id)
    .bind(facts.user_id)
    .bind(facts.device_id)
    .bind(facts.reason)
    .bind(hour_start)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if counted == 0 {
        sqlx::query(
            "INSERT INTO refusals (id, tenant_id, device_id, user_id, gateway_id, reason, \
             message, at, first_at, count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1)",
        )
        .bind(new_id())
        .bind(facts.tenant_id)
        .bind(facts.device_id)
        .bind(facts.user_id)
        .bind(facts.gateway_id)
        .bind(facts.reason)
        .bind(facts.message)
        .bind(now)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}
