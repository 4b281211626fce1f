//! Capacity history: sessions per tenant and per gateway, sampled.

use std::collections::BTreeMap;

use crate::{Result, Store, now_ms};

/// Samples are aligned to this period (several replicas write the same rows).
pub const SAMPLE_EVERY_MS: i64 = 5 * 60_000;
/// History is kept this long.
pub const KEEP_MS: i64 = 31 * 86_400_000;

/// One point of a series: `(time ms, sessions, quota)`.
pub type Point = (i64, i64, Option<i64>);

impl Store {
    /// Records the current use (idempotent per period).
    pub async fn record_usage_sample(&self) -> Result<()> {
        let now = now_ms();
        let at = now - now.rem_euclid(SAMPLE_EVERY_MS);
        let tenants = self.session_counts().await?;
        let gateways: Vec<(String, i64)> = sqlx::query_as(
            "SELECT g.name, (SELECT COUNT(*) FROM seat_holders h WHERE h.gateway_id = g.id \
             AND h.expires_at > $1 AND h.superseded = 0) FROM gateways g",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        let mut tx = self.write().await?;
        for (slug, sessions, quota) in tenants {
            sqlx::query(
                "INSERT INTO usage_samples (kind, name, at, sessions, quota) \
                 VALUES ('tenant', $1, $2, $3, $4) ON CONFLICT (kind, name, at) DO NOTHING",
            )
            .bind(&slug)
            .bind(at)
            .bind(sessions)
            .bind(quota)
            .execute(tx.conn())
            .await?;
        }
        for (name, sessions) in gateways {
            sqlx::query(
                "INSERT INTO usage_samples (kind, name, at, sessions, quota) \
                 VALUES ('gateway', $1, $2, $3, NULL) ON CONFLICT (kind, name, at) DO NOTHING",
            )
            .bind(&name)
            .bind(at)
            .bind(sessions)
            .execute(tx.conn())
            .await?;
        }
        sqlx::query("DELETE FROM usage_samples WHERE at < $1")
            .bind(now - KEEP_MS)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    /// Series of `kind` (`tenant` or `gateway`) since `since_ms`, the
    /// highest value per `bucket_ms`.
    pub async fn usage_series(
        &self,
        kind: &str,
        since_ms: i64,
        bucket_ms: i64,
    ) -> Result<BTreeMap<String, Vec<Point>>> {
        let rows: Vec<(String, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT name, at, sessions, quota FROM usage_samples WHERE kind = $1 AND at >= $2 \
             ORDER BY name, at",
        )
        .bind(kind)
        .bind(since_ms)
        .fetch_all(self.pool())
        .await?;
        let mut series: BTreeMap<String, Vec<Point>> = BTreeMap::new();
        for (name, at, sessions, quota) in rows {
            let bucket = at - at.rem_euclid(bucket_ms.max(1));
            let points = series.entry(name).or_default();
            match points.last_mut() {
                Some(last) if last.0 == bucket => {
                    last.1 = last.1.max(sessions);
                    last.2 = quota.or(last.2);
                }
                _ => points.push((bucket, sessions, quota)),
            }
        }
        Ok(series)
    }
}
