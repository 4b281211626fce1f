//! Gateways: data-plane nodes in a region, authenticated by their own token.

use api_types::infra::{CreateGateway, Gateway, GatewayCreated};
use serde_json::json;
use sqlx::FromRow;

use crate::audit::{self, Change};
use crate::authz::ProviderAccess;
use crate::convert::{opt_timestamp, timestamp};
use crate::credentials;
use crate::enrollment::GATEWAY_HEALTHY_MS;
use crate::validate;
use crate::{Result, Store, StoreError, new_id, now_ms};

#[derive(FromRow)]
struct GatewayRow {
    id: String,
    name: String,
    region_name: String,
    public_key: Option<String>,
    endpoint: Option<String>,
    created_at: i64,
    last_seen_at: Option<i64>,
    drained_at: Option<i64>,
    sessions: i64,
}

impl From<GatewayRow> for Gateway {
    fn from(row: GatewayRow) -> Gateway {
        Gateway {
            id: row.id,
            name: row.name,
            region: row.region_name,
            public_key: row.public_key,
            endpoint: row.endpoint,
            created_at: timestamp(row.created_at),
            last_seen_at: opt_timestamp(row.last_seen_at),
            healthy: row
                .last_seen_at
                .is_some_and(|seen| seen > now_ms() - GATEWAY_HEALTHY_MS),
            drained: row.drained_at.is_some(),
            sessions: row.sessions,
        }
    }
}

/// Gateways with their region and the devices in session on each now.
fn gateway_select() -> String {
    format!(
        "SELECT g.id, g.name, r.name AS region_name, g.public_key, g.endpoint, g.created_at, \
         g.last_seen_at, g.drained_at, \
         (SELECT COUNT(*) FROM seat_holders h WHERE h.gateway_id = g.id AND h.superseded = 0 \
          AND h.expires_at > {now}) AS sessions \
         FROM gateways g JOIN regions r ON r.id = g.region_id",
        now = now_ms()
    )
}

impl Store {
    pub async fn list_gateways(&self, _access: &ProviderAccess) -> Result<Vec<Gateway>> {
        let rows =
            sqlx::query_as::<_, GatewayRow>(&format!("{} ORDER BY g.name", gateway_select()))
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(Gateway::from).collect())
    }

    pub async fn get_gateway(&self, _access: &ProviderAccess, gateway: &str) -> Result<Gateway> {
        self.find_gateway(gateway).await
    }

    pub(crate) async fn find_gateway(&self, gateway: &str) -> Result<Gateway> {
        sqlx::query_as::<_, GatewayRow>(&format!(
            "{} WHERE g.id = $1 OR g.name = $1",
            gateway_select()
        ))
        .bind(gateway.trim())
        .fetch_optional(self.pool())
        .await?
        .map(Gateway::from)
        .ok_or_else(|| StoreError::not_found("gateway", gateway))
    }

    /// Adds a gateway and returns its token (shown once, stored hashed).
    pub async fn create_gateway(
        &self,
        access: &ProviderAccess,
        request: CreateGateway,
    ) -> Result<GatewayCreated> {
        let endpoint_check = match &request.endpoint {
            Some(endpoint) => validate::endpoint("endpoint", endpoint).map(Some),
            None => Ok(None),
        };
        let (name, endpoint) =
            validate::all((validate::slug("name", &request.name), endpoint_check))?;
        let region = self.find_region(&request.region).await?;

        let mut tx = self.write().await?;
        let exists = sqlx::query("SELECT id FROM gateways WHERE name = $1")
            .bind(&name)
            .fetch_optional(tx.conn())
            .await?;
        if exists.is_some() {
            return Err(StoreError::taken(
                "name",
                &name,
                format!("a gateway named '{name}' already exists"),
            ));
        }
        let id = new_id();
        let token = credentials::new_secret("hgg");
        sqlx::query(
            "INSERT INTO gateways (id, name, region_id, token_hash, endpoint, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(&name)
        .bind(&region.id)
        .bind(credentials::hash_secret(&token))
        .bind(endpoint.as_deref())
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "gateway.create",
                target_type: "gateway",
                target_id: &id,
                target_name: &name,
                tenant: None,
                details: json!({ "region": region.name, "endpoint": endpoint }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(GatewayCreated {
            gateway: self.find_gateway(&id).await?,
            token,
        })
    }

    /// Gives a gateway a new token (the old one was lost or leaked) and
    /// returns it once. The old token stops working at once: a stream
    /// opened with it is closed at its next liveness check
    /// ([`Store::gateway_token_current`]), on whichever replica it runs.
    pub async fn reissue_gateway_token(
        &self,
        access: &ProviderAccess,
        gateway: &str,
    ) -> Result<GatewayCreated> {
        let existing = self.find_gateway(gateway).await?;
        let token = credentials::new_secret("hgg");
        let mut tx = self.write().await?;
        sqlx::query("UPDATE gateways SET token_hash = $1 WHERE id = $2")
            .bind(credentials::hash_secret(&token))
            .bind(&existing.id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "gateway.token.reissue",
                target_type: "gateway",
                target_id: &existing.id,
                target_name: &existing.name,
                tenant: None,
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(GatewayCreated {
            gateway: existing,
            token,
        })
    }

    /// Whether the token a gateway's stream was opened with still belongs
    /// to it (not reissued, gateway not deleted).
    pub async fn gateway_token_current(&self, gateway_id: &str, token_hash: &str) -> Result<bool> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT id FROM gateways WHERE id = $1 AND token_hash = $2")
                .bind(gateway_id)
                .bind(token_hash)
                .fetch_optional(self.pool())
                .await?;
        Ok(found.is_some())
    }

    pub async fn delete_gateway(&self, access: &ProviderAccess, gateway: &str) -> Result<()> {
        let existing = self.find_gateway(gateway).await?;
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM gateways WHERE id = $1")
            .bind(&existing.id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "gateway.delete",
                target_type: "gateway",
                target_id: &existing.id,
                target_name: &existing.name,
                tenant: None,
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await
    }

    /// Drains a gateway (`drained`) or takes it back into service. Devices
    /// running the homegate client leave a drained gateway at their next
    /// configuration check; their seats move with them.
    pub async fn set_gateway_drained(
        &self,
        access: &ProviderAccess,
        gateway: &str,
        drained: bool,
    ) -> Result<Gateway> {
        let existing = self.find_gateway(gateway).await?;
        if existing.drained == drained {
            return Ok(existing);
        }
        let mut tx = self.write().await?;
        if drained {
            // Draining the last gateway that can take devices would strand
            // them all: say so instead.
            let others: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM gateways o JOIN gateways g ON g.id = $1 \
                 WHERE o.region_id = g.region_id AND o.id <> g.id AND o.drained_at IS NULL \
                 AND o.last_seen_at > $2",
            )
            .bind(&existing.id)
            .bind(now_ms() - GATEWAY_HEALTHY_MS)
            .fetch_one(tx.conn())
            .await?;
            if others == 0 {
                return Err(StoreError::Conflict(format!(
                    "'{}' is the last healthy gateway of region '{}' that takes devices; \
                     start or resume another gateway there first",
                    existing.name, existing.region
                )));
            }
        }
        sqlx::query("UPDATE gateways SET drained_at = $1 WHERE id = $2")
            .bind(drained.then(now_ms))
            .bind(&existing.id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: if drained {
                    "gateway.drain"
                } else {
                    "gateway.resume"
                },
                target_type: "gateway",
                target_id: &existing.id,
                target_name: &existing.name,
                tenant: None,
                details: json!({ "region": existing.region, "sessions": existing.sessions }),
            },
        )
        .await?;
        tx.commit().await?;
        self.find_gateway(&existing.id).await
    }
}
