//! What a gateway needs from the store: authentication, its configuration
//! snapshot, and the seat ledger of `crates/admission` in SQL.

use std::collections::BTreeMap;

use admission::{Quota, Usage, decide};
use api_types::gateway::{GatewayConfig, PeerConfig, PeerStats, RuleConfig, TenantConfig};
use serde_json::json;
use sqlx::{FromRow, Row};

use crate::audit::{self, Change};
use crate::authz::AuditSource;
use crate::convert::u32_or_zero;
use crate::credentials;
use crate::validate;
use crate::{Result, Store, StoreError, new_id, now_ms};

/// A gateway that authenticated with its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayIdentity {
    pub id: String,
    pub name: String,
    pub region_id: String,
    pub region: String,
}

/// The control plane's answer to an admission request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmitOutcome {
    pub admitted: bool,
    /// `(code, message)` of a refusal.
    pub refusal: Option<(String, String)>,
    /// Gateways whose sessions of this device end now (the device moved).
    pub supersedes: Vec<String>,
}

#[derive(FromRow)]
struct PeerRow {
    id: String,
    tenant_id: String,
    public_key: String,
    tunnel_address: String,
    user_id: Option<String>,
    batch_group: Option<String>,
}

/// Parses the stored port list (`"445,8000-8100"`).
fn parse_ports(text: &str) -> Vec<(u16, u16)> {
    text.split(',')
        .filter_map(|part| {
            let part = part.trim();
            match part.split_once('-') {
                Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                None => {
                    let port = part.parse().ok()?;
                    Some((port, port))
                }
            }
        })
        .collect()
}

impl Store {
    pub async fn authenticate_gateway(&self, secret: &str) -> Result<GatewayIdentity> {
        let row = sqlx::query(
            "SELECT g.id, g.name, g.region_id, r.name AS region FROM gateways g \
             JOIN regions r ON r.id = g.region_id WHERE g.token_hash = $1",
        )
        .bind(credentials::hash_secret(secret))
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| {
            StoreError::Unauthenticated("unknown gateway token; see `homegate gateways add`".into())
        })?;
        Ok(GatewayIdentity {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            region_id: row.try_get("region_id")?,
            region: row.try_get("region")?,
        })
    }

    /// Records a gateway's key and endpoint when it connects.
    pub async fn gateway_connected(
        &self,
        gateway: &GatewayIdentity,
        public_key: &str,
        endpoint: Option<&str>,
    ) -> Result<()> {
        let public_key = validate::public_key("public_key", public_key)?;
        let endpoint = match endpoint {
            Some(endpoint) => Some(validate::endpoint("endpoint", endpoint)?),
            None => None,
        };
        let (old_key, old_endpoint): (Option<String>, Option<String>) =
            sqlx::query_as("SELECT public_key, endpoint FROM gateways WHERE id = $1")
                .bind(&gateway.id)
                .fetch_one(self.pool())
                .await?;
        let new_endpoint = endpoint.or(old_endpoint.clone());
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE gateways SET public_key = $1, endpoint = $2, last_seen_at = $3 WHERE id = $4",
        )
        .bind(&public_key)
        .bind(new_endpoint.as_deref())
        .bind(now_ms())
        .bind(&gateway.id)
        .execute(tx.conn())
        .await?;
        if old_key.as_deref() != Some(public_key.as_str()) || old_endpoint != new_endpoint {
            // Devices need the gateway's key and endpoint: that is a change.
            audit::record(
                &mut tx,
                &AuditSource::system(&format!("gateway:{}", gateway.name)),
                Change {
                    action: "gateway.register",
                    target_type: "gateway",
                    target_id: &gateway.id,
                    target_name: &gateway.name,
                    tenant: None,
                    details: json!({ "public_key": public_key, "endpoint": new_endpoint }),
                },
            )
            .await?;
        }
        tx.commit().await
    }

    pub async fn gateway_seen(&self, gateway: &GatewayIdentity) -> Result<()> {
        sqlx::query("UPDATE gateways SET last_seen_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(&gateway.id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Everything `gateway` serves: the tenants of its region (and those
    /// without a region), their rules, and the devices that may connect.
    pub async fn gateway_config(&self, gateway: &GatewayIdentity) -> Result<GatewayConfig> {
        let version = *self.watch_config_version().borrow();
        let tenant_rows = sqlx::query(
            "SELECT id, slug, address_pool, session_idle_timeout_secs FROM tenants \
             WHERE region_id = $1 OR region_id IS NULL ORDER BY id",
        )
        .bind(&gateway.region_id)
        .fetch_all(self.pool())
        .await?;
        let mut tenants: BTreeMap<String, TenantConfig> = BTreeMap::new();
        for row in tenant_rows {
            let tenant_id: String = row.try_get("id")?;
            tenants.insert(
                tenant_id.clone(),
                TenantConfig {
                    tenant_id,
                    slug: row.try_get("slug")?,
                    address_pool: row.try_get("address_pool")?,
                    session_idle_timeout_secs: u32_or_zero(
                        row.try_get("session_idle_timeout_secs")?,
                    ),
                    rules: Vec::new(),
                },
            );
        }

        let rule_rows = sqlx::query(
            "SELECT r.tenant_id, r.group_id, a.cidr, a.protocol, a.ports FROM access_rules r \
             JOIN applications a ON a.id = r.application_id \
             JOIN tenants t ON t.id = r.tenant_id \
             WHERE t.region_id = $1 OR t.region_id IS NULL ORDER BY r.id",
        )
        .bind(&gateway.region_id)
        .fetch_all(self.pool())
        .await?;
        for row in rule_rows {
            let tenant_id: String = row.try_get("tenant_id")?;
            if let Some(tenant) = tenants.get_mut(&tenant_id) {
                let ports: String = row.try_get("ports")?;
                tenant.rules.push(RuleConfig {
                    group_id: row.try_get("group_id")?,
                    cidr: row.try_get("cidr")?,
                    protocol: row.try_get("protocol")?,
                    ports: parse_ports(&ports),
                });
            }
        }

        let member_rows = sqlx::query(
            "SELECT m.user_id, m.group_id FROM group_members m JOIN users u ON u.id = m.user_id \
             JOIN tenants t ON t.id = u.tenant_id \
             WHERE t.region_id = $1 OR t.region_id IS NULL",
        )
        .bind(&gateway.region_id)
        .fetch_all(self.pool())
        .await?;
        let mut groups_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in member_rows {
            groups_of
                .entry(row.try_get("user_id")?)
                .or_default()
                .push(row.try_get("group_id")?);
        }

        let peer_rows = sqlx::query_as::<_, PeerRow>(
            "SELECT d.id, d.tenant_id, d.public_key, d.tunnel_address, d.user_id, \
             b.group_id AS batch_group FROM devices d \
             JOIN tenants t ON t.id = d.tenant_id LEFT JOIN users u ON u.id = d.user_id \
             LEFT JOIN stick_batches b ON b.id = d.batch_id \
             WHERE d.state IN ('active', 'enrolled') AND d.public_key IS NOT NULL \
             AND d.tunnel_address IS NOT NULL AND (u.id IS NULL OR u.disabled = 0) \
             AND (t.region_id = $1 OR t.region_id IS NULL) ORDER BY d.public_key",
        )
        .bind(&gateway.region_id)
        .fetch_all(self.pool())
        .await?;
        let peers = peer_rows
            .into_iter()
            .map(|row| {
                let mut groups = row
                    .user_id
                    .as_ref()
                    .and_then(|user| groups_of.get(user))
                    .cloned()
                    .unwrap_or_default();
                if let Some(group) = row.batch_group {
                    groups.push(group);
                }
                groups.sort();
                groups.dedup();
                PeerConfig {
                    device_id: row.id,
                    tenant_id: row.tenant_id,
                    public_key: row.public_key,
                    tunnel_address: row.tunnel_address,
                    groups,
                }
            })
            .collect();

        let mut config = GatewayConfig {
            version,
            gateway_name: gateway.name.clone(),
            region: gateway.region.clone(),
            tenants: tenants.into_values().collect(),
            peers,
        };
        // Database collations differ; order the way the gateway does.
        config.normalize();
        Ok(config)
    }

    /// Decides whether the device with `public_key` may start a session
    /// through `gateway`, and records the seat or the refusal.
    pub async fn admit_session(
        &self,
        gateway: &GatewayIdentity,
        public_key: &str,
        lease_ms: i64,
    ) -> Result<AdmitOutcome> {
        let device = sqlx::query(
            "SELECT d.id, d.tenant_id, d.user_id FROM devices d LEFT JOIN users u ON u.id = d.user_id \
             WHERE d.public_key = $1 AND d.state IN ('active', 'enrolled') \
             AND (u.id IS NULL OR u.disabled = 0)",
        )
        .bind(public_key)
        .fetch_optional(self.pool())
        .await?;
        let Some(device) = device else {
            return Ok(AdmitOutcome {
                admitted: false,
                refusal: Some((
                    "unknown_device".into(),
                    "this device is not enrolled".into(),
                )),
                supersedes: Vec::new(),
            });
        };
        let device_id: String = device.try_get("id")?;
        let tenant_id: String = device.try_get("tenant_id")?;
        let user_id: Option<String> = device.try_get("user_id")?;

        let mut tx = self.write().await?;
        tx.lock_tenant(&tenant_id).await?;
        let now = now_ms();
        let expires = now + lease_ms;

        let held: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM seat_holders WHERE device_id = $1 AND expires_at > $2 \
             AND superseded = 0",
        )
        .bind(&device_id)
        .bind(now)
        .fetch_one(tx.conn())
        .await?;
        if held > 0 {
            // The device keeps its seat; other gateways' holdings are superseded.
            let supersedes: Vec<String> = sqlx::query_scalar(
                "UPDATE seat_holders SET superseded = 1 WHERE device_id = $1 AND gateway_id <> $2 \
                 AND expires_at > $3 AND superseded = 0 RETURNING gateway_id",
            )
            .bind(&device_id)
            .bind(&gateway.id)
            .bind(now)
            .fetch_all(tx.conn())
            .await?;
            let priority: i64 =
                sqlx::query_scalar("SELECT MAX(priority) FROM seat_holders WHERE device_id = $1")
                    .bind(&device_id)
                    .fetch_one(tx.conn())
                    .await?;
            upsert_holding(
                &mut tx, &device_id, gateway, &tenant_id, priority, now, expires,
            )
            .await?;
            tx.commit().await?;
            return Ok(AdmitOutcome {
                admitted: true,
                refusal: None,
                supersedes,
            });
        }

        let (max_sessions, priority_seats, priority_group, mfa_hours): (
            Option<i64>,
            i64,
            Option<String>,
            Option<i64>,
        ) = sqlx::query_as(
            "SELECT max_sessions, priority_seats, priority_group_id, mfa_before_vpn_hours \
             FROM tenants WHERE id = $1",
        )
        .bind(&tenant_id)
        .fetch_one(tx.conn())
        .await?;
        if let Some(hours) = mfa_hours {
            let last_mfa: Option<i64> = match &user_id {
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
                record_refusal(
                    &mut tx,
                    RefusalFacts {
                        tenant_id: &tenant_id,
                        device_id: &device_id,
                        user_id: user_id.as_deref(),
                        gateway_id: &gateway.id,
                        reason: "mfa_required",
                        message: &message,
                    },
                    now,
                )
                .await?;
                tx.commit().await?;
                return Ok(AdmitOutcome {
                    admitted: false,
                    refusal: Some(("mfa_required".to_owned(), message)),
                    supersedes: Vec::new(),
                });
            }
        }
        let is_priority = match (&priority_group, &user_id) {
            (Some(group), Some(user)) => sqlx::query(
                "SELECT user_id FROM group_members WHERE group_id = $1 AND user_id = $2",
            )
            .bind(group)
            .bind(user)
            .fetch_optional(tx.conn())
            .await?
            .is_some(),
            _ => false,
        };
        let (total, priority_in_use): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(DISTINCT device_id), \
             COUNT(DISTINCT CASE WHEN priority = 1 THEN device_id END) \
             FROM seat_holders WHERE tenant_id = $1 AND expires_at > $2 AND device_id <> $3",
        )
        .bind(&tenant_id)
        .bind(now)
        .bind(&device_id)
        .fetch_one(tx.conn())
        .await?;
        let quota = Quota {
            max_sessions: max_sessions.and_then(|m| u32::try_from(m).ok()),
            priority_seats: u32_or_zero(priority_seats),
        };
        let usage = Usage {
            total: u32_or_zero(total),
            priority: u32_or_zero(priority_in_use),
        };
        let outcome = match decide(quota, usage, is_priority) {
            Ok(()) => {
                upsert_holding(
                    &mut tx,
                    &device_id,
                    gateway,
                    &tenant_id,
                    i64::from(is_priority),
                    now,
                    expires,
                )
                .await?;
                AdmitOutcome {
                    admitted: true,
                    refusal: None,
                    supersedes: Vec::new(),
                }
            }
            Err(refusal) => {
                record_refusal(
                    &mut tx,
                    RefusalFacts {
                        tenant_id: &tenant_id,
                        device_id: &device_id,
                        user_id: user_id.as_deref(),
                        gateway_id: &gateway.id,
                        reason: refusal.code(),
                        message: &refusal.message(),
                    },
                    now,
                )
                .await?;
                AdmitOutcome {
                    admitted: false,
                    refusal: Some((refusal.code().to_owned(), refusal.message())),
                    supersedes: Vec::new(),
                }
            }
        };
        sqlx::query("DELETE FROM seat_holders WHERE tenant_id = $1 AND expires_at <= $2")
            .bind(&tenant_id)
            .bind(now)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(outcome)
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

async fn upsert_holding(
    tx: &mut crate::WriteTx<'_>,
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
async fn record_refusal(
    tx: &mut crate::WriteTx<'_>,
    facts: RefusalFacts<'_>,
    now: i64,
) -> Result<()> {
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

#[cfg(test)]
mod tests {
    #[test]
    fn ports_round_trip() {
        assert_eq!(
            super::parse_ports("445,8000-8100"),
            vec![(445, 445), (8000, 8100)]
        );
        assert!(super::parse_ports("").is_empty());
    }
}
