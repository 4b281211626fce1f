//! Gateways: data-plane nodes in a region, authenticated by their own token.

use api_types::infra::{CreateGateway, Gateway, GatewayCreated};
use serde_json::json;
use sqlx::FromRow;

use crate::audit::{self, Change};
use crate::authz::ProviderAccess;
use crate::convert::{opt_timestamp, timestamp};
use crate::credentials;
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
        }
    }
}

const GATEWAY_SELECT: &str = "SELECT g.id, g.name, r.name AS region_name, g.public_key, \
     g.endpoint, g.created_at, g.last_seen_at FROM gateways g JOIN regions r ON r.id = g.region_id";

impl Store {
    pub async fn list_gateways(&self, _access: &ProviderAccess) -> Result<Vec<Gateway>> {
        let rows = sqlx::query_as::<_, GatewayRow>(&format!("{GATEWAY_SELECT} ORDER BY g.name"))
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(Gateway::from).collect())
    }

    pub async fn get_gateway(&self, _access: &ProviderAccess, gateway: &str) -> Result<Gateway> {
        self.find_gateway(gateway).await
    }

    pub(crate) async fn find_gateway(&self, gateway: &str) -> Result<Gateway> {
        sqlx::query_as::<_, GatewayRow>(&format!("{GATEWAY_SELECT} WHERE g.id = $1 OR g.name = $1"))
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
            return Err(StoreError::Conflict(format!(
                "a gateway named '{name}' already exists"
            )));
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
}
