//! Groups of a tenant's users; access rules grant groups applications.

use api_types::tenancy::{CreateGroup, Group};
use serde_json::json;
use sqlx::{AnyConnection, FromRow};

use crate::audit::{self, Change};
use crate::authz::TenantAccess;
use crate::convert::timestamp;
use crate::validate;
use crate::{Result, Store, StoreError, new_id, now_ms};

#[derive(FromRow)]
struct GroupRow {
    id: String,
    name: String,
    description: String,
    created_at: i64,
}

/// Resolves a group of the tenant by id or name.
pub(crate) async fn find_group_id(
    conn: &mut AnyConnection,
    access: &TenantAccess,
    group: &str,
) -> Result<String> {
    sqlx::query_scalar("SELECT id FROM user_groups WHERE tenant_id = $1 AND (id = $2 OR name = $2)")
        .bind(access.tenant_id())
        .bind(group.trim())
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::not_found("group", group))
}

impl Store {
    async fn group_with_members(&self, access: &TenantAccess, row: GroupRow) -> Result<Group> {
        let members: Vec<String> = sqlx::query_scalar(
            "SELECT u.username FROM group_members m JOIN users u ON u.id = m.user_id \
             WHERE m.group_id = $1 ORDER BY u.username",
        )
        .bind(&row.id)
        .fetch_all(self.pool())
        .await?;
        Ok(Group {
            id: row.id,
            tenant: access.tenant_slug().to_owned(),
            name: row.name,
            description: row.description,
            members,
            created_at: timestamp(row.created_at),
        })
    }

    pub async fn list_groups(&self, access: &TenantAccess) -> Result<Vec<Group>> {
        let rows = sqlx::query_as::<_, GroupRow>(
            "SELECT id, name, description, created_at FROM user_groups WHERE tenant_id = $1 \
             ORDER BY name",
        )
        .bind(access.tenant_id())
        .fetch_all(self.pool())
        .await?;
        let mut groups = Vec::with_capacity(rows.len());
        for row in rows {
            groups.push(self.group_with_members(access, row).await?);
        }
        Ok(groups)
    }

    pub async fn get_group(&self, access: &TenantAccess, group: &str) -> Result<Group> {
        let row = sqlx::query_as::<_, GroupRow>(
            "SELECT id, name, description, created_at FROM user_groups \
             WHERE tenant_id = $1 AND (id = $2 OR name = $2)",
        )
        .bind(access.tenant_id())
        .bind(group.trim())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::not_found("group", group))?;
        self.group_with_members(access, row).await
    }

    pub async fn create_group(&self, access: &TenantAccess, request: CreateGroup) -> Result<Group> {
        let (name, description) = validate::all((
            validate::name("name", &request.name, 100),
            validate::optional_text("description", request.description.as_deref(), 500),
        ))?;
        let mut tx = self.write().await?;
        let exists = sqlx::query("SELECT id FROM user_groups WHERE tenant_id = $1 AND name = $2")
            .bind(access.tenant_id())
            .bind(&name)
            .fetch_optional(tx.conn())
            .await?;
        if exists.is_some() {
            return Err(StoreError::taken(
                "name",
                &name,
                format!("a group named '{name}' already exists"),
            ));
        }
        let id = new_id();
        sqlx::query(
            "INSERT INTO user_groups (id, tenant_id, name, description, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(access.tenant_id())
        .bind(&name)
        .bind(&description)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "group.create",
                target_type: "group",
                target_id: &id,
                target_name: &name,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({ "description": description }),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_group(access, &id).await
    }

    pub async fn delete_group(&self, access: &TenantAccess, group: &str) -> Result<()> {
        let existing = self.get_group(access, group).await?;
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE tenants SET priority_group_id = NULL, priority_seats = 0 \
             WHERE id = $1 AND priority_group_id = $2",
        )
        .bind(access.tenant_id())
        .bind(&existing.id)
        .execute(tx.conn())
        .await?;
        sqlx::query("DELETE FROM user_groups WHERE id = $1 AND tenant_id = $2")
            .bind(&existing.id)
            .bind(access.tenant_id())
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "group.delete",
                target_type: "group",
                target_id: &existing.id,
                target_name: &existing.name,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await
    }

    /// Adds (`member = true`) or removes a user from a group. Idempotent.
    pub async fn set_group_member(
        &self,
        access: &TenantAccess,
        group: &str,
        user: &str,
        member: bool,
    ) -> Result<Group> {
        let user = self.get_tenant_user(access, user).await?;
        let mut tx = self.write().await?;
        let group_id = find_group_id(tx.conn(), access, group).await?;
        if member {
            let already = sqlx::query(
                "SELECT group_id FROM group_members WHERE group_id = $1 AND user_id = $2",
            )
            .bind(&group_id)
            .bind(&user.id)
            .fetch_optional(tx.conn())
            .await?;
            if already.is_none() {
                sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
                    .bind(&group_id)
                    .bind(&user.id)
                    .execute(tx.conn())
                    .await?;
            }
        } else {
            sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
                .bind(&group_id)
                .bind(&user.id)
                .execute(tx.conn())
                .await?;
        }
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: if member {
                    "group.member.add"
                } else {
                    "group.member.remove"
                },
                target_type: "group",
                target_id: &group_id,
                target_name: group,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({ "user": user.username }),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_group(access, &group_id).await
    }
}
