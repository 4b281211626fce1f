//! What the public status page may know: the health of each region's
//! gateways, without any tenant's data. Read without an actor on purpose:
//! the page is public.

use crate::enrollment::GATEWAY_HEALTHY_MS;
use crate::{Result, Store, now_ms};

/// Gateways of one region: how many reported within the health window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionHealth {
    pub region: String,
    pub description: String,
    pub online: i64,
    pub total: i64,
}

/// The regions a status page shows: all of them, or one tenant's.
#[derive(Debug, Clone)]
pub struct PublicStatus {
    /// The tenant's display name, for `/status/{tenant}`.
    pub tenant_name: Option<String>,
    pub regions: Vec<RegionHealth>,
}

impl Store {
    /// Health of the regions' gateways; with `tenant_slug`, only the region
    /// serving that tenant (every region when it has none). `None` when no
    /// tenant has that slug.
    pub async fn public_status(&self, tenant_slug: Option<&str>) -> Result<Option<PublicStatus>> {
        let (tenant_name, region_id) = match tenant_slug {
            None => (None, None),
            Some(slug) => {
                let row: Option<(String, Option<String>)> =
                    sqlx::query_as("SELECT name, region_id FROM tenants WHERE slug = $1")
                        .bind(slug)
                        .fetch_optional(self.pool())
                        .await?;
                let Some((name, region_id)) = row else {
                    return Ok(None);
                };
                (Some(name), region_id)
            }
        };
        let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT r.id, r.name, r.description, \
             COALESCE(SUM(CASE WHEN g.last_seen_at > $1 THEN 1 ELSE 0 END), 0), COUNT(g.id) \
             FROM regions r LEFT JOIN gateways g ON g.region_id = r.id \
             GROUP BY r.id, r.name, r.description ORDER BY r.name",
        )
        .bind(now_ms() - GATEWAY_HEALTHY_MS)
        .fetch_all(self.pool())
        .await?;
        let regions = rows
            .into_iter()
            .filter(|(id, ..)| region_id.as_ref().is_none_or(|wanted| wanted == id))
            .map(|(_, region, description, online, total)| RegionHealth {
                region,
                description,
                online,
                total,
            })
            .collect();
        Ok(Some(PublicStatus {
            tenant_name,
            regions,
        }))
    }
}
