//! What a gateway needs from the store: authentication, its configuration
//! snapshot, and the seat ledger of `crates/admission` in SQL.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::sync::OnceCell;

use api_types::gateway::{GatewayConfig, PeerConfig, RuleConfig, TenantConfig};
use serde_json::json;
use sqlx::{FromRow, Row};

use crate::audit::{self, Change};
use crate::authz::AuditSource;
use crate::convert::u32_or_zero;
use crate::credentials;
use crate::validate;
use crate::{Result, Store, StoreError, now_ms};

/// A gateway that authenticated with its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayIdentity {
    pub id: String,
    pub name: String,
    pub region_id: String,
    pub region: String,
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

/// The newest configuration built per region (by region id), with its
/// version.
#[derive(Default)]
pub(crate) struct RegionConfigs {
    built: std::sync::Mutex<HashMap<String, (u64, SharedConfig)>>,
}

/// One configuration, built by whichever gateway asks first.
type SharedConfig = Arc<OnceCell<GatewayConfig>>;

impl RegionConfigs {
    /// Where the region's configuration at `version` is (being) built.
    fn cell(&self, region_id: &str, version: u64) -> SharedConfig {
        let mut built = self
            .built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match built.get(region_id) {
            Some((built_version, cell)) if *built_version == version => cell.clone(),
            _ => {
                let cell = Arc::new(OnceCell::new());
                built.insert(region_id.to_owned(), (version, cell.clone()));
                cell
            }
        }
    }
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
    /// Built once per region and version, whichever of the region's
    /// gateways asks first: a region of 100,000 devices takes seconds.
    pub async fn gateway_config(&self, gateway: &GatewayIdentity) -> Result<GatewayConfig> {
        let version = *self.watch_config_version().borrow();
        let cell = self.region_configs.cell(&gateway.region_id, version);
        let shared = cell
            .get_or_try_init(|| self.build_gateway_config(gateway, version))
            .await?;
        let mut config = shared.clone();
        config.gateway_name.clone_from(&gateway.name);
        Ok(config)
    }

    async fn build_gateway_config(
        &self,
        gateway: &GatewayIdentity,
        version: u64,
    ) -> Result<GatewayConfig> {
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
