//! Regions group gateways; tenants are served from one region.

use api_types::infra::{CreateRegion, Region};
use serde_json::json;
use sqlx::FromRow;

use crate::audit::{self, Change};
use crate::authz::ProviderAccess;
use crate::convert::timestamp;
use crate::validate;
use crate::{Result, Store, StoreError, new_id, now_ms};

#[derive(FromRow)]
struct RegionRow {
    id: String,
    name: String,
    description: String,
    created_at: i64,
}

impl From<RegionRow> for Region {
    fn from(row: RegionRow) -> Region {
        Region {
            id: row.id,
            name: row.name,
            description: row.description,
            created_at: timestamp(row.created_at),
        }
    }
}

impl Store {
    pub async fn list_regions(&self, _access: &ProviderAccess) -> Result<Vec<Region>> {
        let rows = sqlx::query_as::<_, RegionRow>(
            "SELECT id, name, description, created_at FROM regions ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(Region::from).collect())
    }

    pub async fn get_region(&self, _access: &ProviderAccess, region: &str) -> Result<Region> {
        self.find_region(region).await
    }

    pub(crate) async fn find_region(&self, region: &str) -> Result<Region> {
        sqlx::query_as::<_, RegionRow>(
            "SELECT id, name, description, created_at FROM regions WHERE id = $1 OR name = $1",
        )
        .bind(region)
        .fetch_optional(self.pool())
        .await?
        .map(Region::from)
        .ok_or_else(|| StoreError::not_found("region", region))
    }

    pub async fn create_region(
        &self,
        access: &ProviderAccess,
        request: CreateRegion,
    ) -> Result<Region> {
        let (name, description) = validate::all((
            validate::slug("name", &request.name),
            validate::optional_text("description", request.description.as_deref(), 500),
        ))?;

        let mut tx = self.write().await?;
        let exists = sqlx::query("SELECT id FROM regions WHERE name = $1")
            .bind(&name)
            .fetch_optional(tx.conn())
            .await?;
        if exists.is_some() {
            return Err(StoreError::taken(
                "name",
                &name,
                format!("a region named '{name}' already exists"),
            ));
        }
        let id = new_id();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO regions (id, name, description, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(&name)
        .bind(&description)
        .bind(now)
        .execute(tx.conn())
        .await?;
        crate::status::create_region_component(&mut tx, &id, &name, &description, now).await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "region.create",
                target_type: "region",
                target_id: &id,
                target_name: &name,
                tenant: None,
                details: json!({ "description": description }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Region {
            id,
            name,
            description,
            created_at: timestamp(now),
        })
    }

    pub async fn delete_region(&self, access: &ProviderAccess, region: &str) -> Result<()> {
        let found = self.find_region(region).await?;
        let mut tx = self.write().await?;
        let used: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM gateways WHERE region_id = $1) \
             + (SELECT COUNT(*) FROM tenants WHERE region_id = $1)",
        )
        .bind(&found.id)
        .fetch_one(tx.conn())
        .await?;
        if used > 0 {
            return Err(StoreError::Conflict(format!(
                "region '{}' still has gateways or tenants; move or delete them first",
                found.name
            )));
        }
        sqlx::query("DELETE FROM regions WHERE id = $1")
            .bind(&found.id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "region.delete",
                target_type: "region",
                target_id: &found.id,
                target_name: &found.name,
                tenant: None,
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await
    }
}
