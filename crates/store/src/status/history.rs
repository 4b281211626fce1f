//! Recorded status history, from which the uptime bars are computed.

use std::collections::HashMap;

use api_types::status::ComponentStatus;

use super::Scope;
use crate::{Result, Store};

impl Store {
    /// Records each component whose status differs from its last recorded
    /// one; returns how many changed. Several control-plane replicas may
    /// run this: a duplicate row with the same status is harmless.
    pub async fn record_status_history(&self, now: i64) -> Result<usize> {
        let current = self.effective_components(&Scope::All, now).await?;
        let last: Vec<(String, String)> = sqlx::query_as(
            "SELECT h.component_id, h.status FROM status_history h \
             WHERE h.at = (SELECT MAX(at) FROM status_history l \
                           WHERE l.component_id = h.component_id)",
        )
        .fetch_all(self.pool())
        .await?;
        let last: HashMap<String, String> = last.into_iter().collect();
        let mut changed = 0;
        for (component, _) in current {
            if last.get(&component.id).map(String::as_str) == Some(component.status.as_str()) {
                continue;
            }
            sqlx::query(
                "INSERT INTO status_history (component_id, status, source, at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&component.id)
            .bind(component.status.as_str())
            .bind(component.status_source.as_str())
            .bind(now)
            .execute(self.pool())
            .await?;
            tracing::info!(
                component = %component.name,
                status = component.status.as_str(),
                source = component.status_source.as_str(),
                "component status changed"
            );
            changed += 1;
        }
        Ok(changed)
    }

    /// Each component's changes since `since`, preceded by the one in force
    /// at `since`, sorted by time.
    pub(crate) async fn history_since(
        &self,
        since: i64,
    ) -> Result<HashMap<String, Vec<(i64, ComponentStatus)>>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT component_id, status, at FROM status_history h WHERE at >= $1 \
             OR at = (SELECT MAX(at) FROM status_history l \
                      WHERE l.component_id = h.component_id AND l.at < $1) \
             ORDER BY at",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        let mut history: HashMap<String, Vec<(i64, ComponentStatus)>> = HashMap::new();
        for (component, status, at) in rows {
            if let Some(status) = ComponentStatus::parse(&status) {
                history.entry(component).or_default().push((at, status));
            }
        }
        Ok(history)
    }

    /// Backfills history, for tests and imports of an older page.
    pub async fn insert_status_history(
        &self,
        component: &str,
        status: ComponentStatus,
        at: i64,
    ) -> Result<()> {
        let (id, _, _) = self.find_component(component).await?;
        sqlx::query(
            "INSERT INTO status_history (component_id, status, source, at) \
             VALUES ($1, $2, 'operator', $3)",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(at)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
