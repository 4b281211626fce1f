//! Capacity history: sessions per tenant and per gateway, sampled.

use std::collections::BTreeMap;

use crate::{Result, Store, now_ms};

/// Samples are aligned to this period (several replicas write the same rows).
pub const SAMPLE_EVERY_MS: i64 = 5 * 60_000;
/// History is kept this long.
pub const KEEP_MS: i64 = 31 * 86_400_000;
/// The roll-up period of `usage_hourly`.
pub const HOUR_MS: i64 = 3_600_000;
/// The most points one chart draws (30 days: one per 2 hours).
pub const MAX_POINTS: i64 = 360;

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
        // The hour's roll-up: its highest sessions, its latest quota.
        sqlx::query(
            "INSERT INTO usage_hourly (kind, name, at, sessions, quota) \
             SELECT kind, name, $1, sessions, quota FROM usage_samples WHERE at = $2 \
             ON CONFLICT (kind, at, name) DO UPDATE SET \
             sessions = CASE WHEN excluded.sessions > usage_hourly.sessions \
             THEN excluded.sessions ELSE usage_hourly.sessions END, quota = excluded.quota",
        )
        .bind(at - at.rem_euclid(HOUR_MS))
        .bind(at)
        .execute(tx.conn())
        .await?;
        for table in ["usage_samples", "usage_hourly"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE at < $1"))
                .bind(now - KEEP_MS)
                .execute(tx.conn())
                .await?;
        }
        tx.commit().await
    }

    /// Series of `kind` (`tenant` or `gateway`) since `since_ms`, the
    /// highest value per `bucket_ms`, aggregated by the database: buckets of
    /// whole hours read the hourly roll-up, shorter ones the samples, both
    /// through an index that starts with kind and time.
    pub async fn usage_series(
        &self,
        kind: &str,
        since_ms: i64,
        bucket_ms: i64,
    ) -> Result<BTreeMap<String, Vec<Point>>> {
        let bucket_ms = bucket_ms.max(1);
        let table = if bucket_ms % HOUR_MS == 0 {
            "usage_hourly"
        } else {
            "usage_samples"
        };
        let rows: Vec<(String, i64, i64, Option<i64>)> = sqlx::query_as(&format!(
            "SELECT name, at - (at % $3) AS bucket, MAX(sessions), MAX(quota) FROM {table} \
             WHERE kind = $1 AND at >= $2 GROUP BY name, 2 ORDER BY name, 2"
        ))
        .bind(kind)
        .bind(since_ms)
        .bind(bucket_ms)
        .fetch_all(self.pool())
        .await?;
        let mut series: BTreeMap<String, Vec<Point>> = BTreeMap::new();
        for (name, at, sessions, quota) in rows {
            series.entry(name).or_default().push((at, sessions, quota));
        }
        Ok(series)
    }
}

/// The bucket that draws `span_ms` in at most [`MAX_POINTS`] points: whole
/// sample periods below an hour, whole hours above.
pub fn bucket_for(span_ms: i64) -> i64 {
    let at_least = ((span_ms + MAX_POINTS - 1) / MAX_POINTS).max(SAMPLE_EVERY_MS);
    let unit = if at_least > HOUR_MS {
        HOUR_MS
    } else {
        SAMPLE_EVERY_MS
    };
    (at_least + unit - 1) / unit * unit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cap_the_points() {
        assert_eq!(bucket_for(86_400_000), SAMPLE_EVERY_MS);
        assert_eq!(bucket_for(30 * 86_400_000), 2 * HOUR_MS);
        for span in [3_600_000, 86_400_000, 7 * 86_400_000, 30 * 86_400_000] {
            assert!(span / bucket_for(span) <= MAX_POINTS);
        }
    }
}
