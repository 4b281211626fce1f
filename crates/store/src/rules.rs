//! Access rules: members of a group may reach an application.

use api_types::tenancy::{AccessRule, CreateAccessRule};
use serde_json::json;
use sqlx::FromRow;

use crate::audit::{self, Change};
use crate::authz::TenantAccess;
use crate::convert::timestamp;
use crate::groups::find_group_id;
use crate::{Result, Store, StoreError, new_id, now_ms};

#[derive(FromRow)]
struct RuleRow {
    id: String,
    group_name: String,
    application_name: String,
    created_at: i64,
}

const RULE_SELECT: &str = "SELECT r.id, g.name AS group_name, a.name AS application_name, \
     r.created_at FROM access_rules r JOIN user_groups g ON g.id = r.group_id \
     JOIN applications a ON a.id = r.application_id";

impl Store {
    pub async fn list_access_rules(&self, access: &TenantAccess) -> Result<Vec<AccessRule>> {
        let rows = sqlx::query_as::<_, RuleRow>(&format!(
            "{RULE_SELECT} WHERE r.tenant_id = $1 ORDER BY g.name, a.name"
        ))
        .bind(access.tenant_id())
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| AccessRule {
                id: row.id,
                tenant: access.tenant_slug().to_owned(),
                group: row.group_name,
                application: row.application_name,
                created_at: timestamp(row.created_at),
            })
            .collect())
    }

    pub async fn create_access_rule(
        &self,
        access: &TenantAccess,
        request: CreateAccessRule,
    ) -> Result<AccessRule> {
        let application = self.get_application(access, &request.application).await?;
        let mut tx = self.write().await?;
        let group_id = find_group_id(tx.conn(), access, &request.group).await?;
        let exists =
            sqlx::query("SELECT id FROM access_rules WHERE group_id = $1 AND application_id = $2")
                .bind(&group_id)
                .bind(&application.id)
                .fetch_optional(tx.conn())
                .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!(
                "group '{}' may already reach '{}'",
                request.group, application.name
            )));
        }
        let id = new_id();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO access_rules (id, tenant_id, group_id, application_id, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(access.tenant_id())
        .bind(&group_id)
        .bind(&application.id)
        .bind(now)
        .execute(tx.conn())
        .await?;
        let group_name: String = sqlx::query_scalar("SELECT name FROM user_groups WHERE id = $1")
            .bind(&group_id)
            .fetch_one(tx.conn())
            .await?;
        let label = format!("{group_name} -> {}", application.name);
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "access_rule.create",
                target_type: "access_rule",
                target_id: &id,
                target_name: &label,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({ "group": group_name, "application": application.name }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(AccessRule {
            id,
            tenant: access.tenant_slug().to_owned(),
            group: group_name,
            application: application.name,
            created_at: timestamp(now),
        })
    }

    pub async fn delete_access_rule(&self, access: &TenantAccess, rule_id: &str) -> Result<()> {
        let rule = self
            .list_access_rules(access)
            .await?
            .into_iter()
            .find(|rule| rule.id == rule_id)
            .ok_or_else(|| StoreError::not_found("access rule", rule_id))?;
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM access_rules WHERE id = $1 AND tenant_id = $2")
            .bind(&rule.id)
            .bind(access.tenant_id())
            .execute(tx.conn())
            .await?;
        let label = format!("{} -> {}", rule.group, rule.application);
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "access_rule.delete",
                target_type: "access_rule",
                target_id: &rule.id,
                target_name: &label,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await
    }
}
