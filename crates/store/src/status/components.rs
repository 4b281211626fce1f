//! Components: created by operators, or one per region for its VPN.

use api_types::status::{
    Component, ComponentStatus, CreateComponent, Localized, SetComponentStatus, UpdateComponent,
};
use serde_json::json;

use super::Scope;
use super::translations::{self, MAX_DESCRIPTION, MAX_GROUP, MAX_TITLE};
use crate::audit::{self, Change};
use crate::authz::ProviderAccess;
use crate::{Result, Store, StoreError, Violation, WriteTx, new_id, now_ms, validate};

fn group(input: Option<&str>) -> Result<String, Violation> {
    validate::optional_text("group", input, MAX_GROUP)
}

impl Store {
    /// Every component with its status now, including regions without
    /// gateways, which the public page leaves out.
    pub async fn list_components(&self, _access: &ProviderAccess) -> Result<Vec<Component>> {
        let shown = self.effective_components(&Scope::All, now_ms()).await?;
        let mut all: Vec<Component> = self
            .component_facts()
            .await?
            .into_iter()
            .map(|facts| facts.component)
            .collect();
        for component in &mut all {
            if let Some((current, _)) = shown.iter().find(|(c, _)| c.id == component.id) {
                component.status = current.status;
                component.status_source = current.status_source;
            }
        }
        Ok(all)
    }

    pub async fn get_component(&self, access: &ProviderAccess, key: &str) -> Result<Component> {
        let (id, ..) = self.find_component(key).await?;
        self.list_components(access)
            .await?
            .into_iter()
            .find(|component| component.id == id)
            .ok_or_else(|| StoreError::not_found("component", key))
    }

    pub async fn create_component(
        &self,
        access: &ProviderAccess,
        request: CreateComponent,
    ) -> Result<Component> {
        let (name, title, description, group) = validate::all((
            validate::slug("name", &request.name),
            validate::name("title", &request.title, MAX_TITLE),
            validate::optional_text(
                "description",
                request.description.as_deref(),
                MAX_DESCRIPTION,
            ),
            group(request.group.as_deref()),
        ))?;
        let texts = translations::merged(Default::default(), &request.translations)?;
        let mut tx = self.write().await?;
        let taken = sqlx::query("SELECT id FROM status_components WHERE name = $1")
            .bind(&name)
            .fetch_optional(tx.conn())
            .await?;
        if taken.is_some() {
            return Err(StoreError::taken(
                "name",
                &name,
                format!("a component named '{name}' already exists"),
            ));
        }
        let tenant_ids = resolve_tenants(&mut tx, &request.tenants).await?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO status_components (id, name, title, description, group_name, \
             translations, operator_status, position, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(&name)
        .bind(&title)
        .bind(&description)
        .bind(&group)
        .bind(translations::encode(&texts))
        .bind(ComponentStatus::Operational.as_str())
        .bind(request.position.unwrap_or(0))
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
        set_tenants(&mut tx, &id, &tenant_ids).await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "status.component.create",
                target_type: "component",
                target_id: &id,
                target_name: &name,
                tenant: None,
                details: json!({ "title": title, "group": group, "tenants": request.tenants }),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_component(access, &id).await
    }

    pub async fn update_component(
        &self,
        access: &ProviderAccess,
        key: &str,
        request: UpdateComponent,
    ) -> Result<Component> {
        let (id, name, _) = self.find_component(key).await?;
        let (title, description, group) = validate::all((
            request
                .title
                .as_deref()
                .map(|title| validate::name("title", title, MAX_TITLE))
                .transpose(),
            request
                .description
                .as_deref()
                .map(|text| validate::optional_text("description", Some(text), MAX_DESCRIPTION))
                .transpose(),
            request.group.as_deref().map(|g| group(Some(g))).transpose(),
        ))?;
        let mut tx = self.write().await?;
        let texts = match &request.translations {
            Some(change) => {
                let stored: String =
                    sqlx::query_scalar("SELECT translations FROM status_components WHERE id = $1")
                        .bind(&id)
                        .fetch_one(tx.conn())
                        .await?;
                let current = serde_json::from_str(&stored).unwrap_or_default();
                Some(translations::encode(&translations::merged(
                    current, change,
                )?))
            }
            None => None,
        };
        sqlx::query(
            "UPDATE status_components SET title = COALESCE($2, title), \
             description = COALESCE($3, description), group_name = COALESCE($4, group_name), \
             position = COALESCE($5, position), translations = COALESCE($6, translations) \
             WHERE id = $1",
        )
        .bind(&id)
        .bind(&title)
        .bind(&description)
        .bind(&group)
        .bind(request.position)
        .bind(&texts)
        .execute(tx.conn())
        .await?;
        if let Some(tenants) = &request.tenants {
            let tenant_ids = resolve_tenants(&mut tx, tenants).await?;
            sqlx::query("DELETE FROM status_component_tenants WHERE component_id = $1")
                .bind(&id)
                .execute(tx.conn())
                .await?;
            set_tenants(&mut tx, &id, &tenant_ids).await?;
        }
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "status.component.update",
                target_type: "component",
                target_id: &id,
                target_name: &name,
                tenant: None,
                details: json!({
                    "title": title, "description": description, "group": group,
                    "tenants": request.tenants, "position": request.position,
                    "translations": request.translations,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_component(access, &id).await
    }

    /// Sets an operator's status: a manual component's status, or an
    /// override of a region's automatic one.
    pub async fn set_component_status(
        &self,
        access: &ProviderAccess,
        key: &str,
        request: SetComponentStatus,
    ) -> Result<Component> {
        let note = validate::optional_text("note", request.note.as_deref(), MAX_DESCRIPTION)?;
        let notes = translations::notes(&request.note_translations)?;
        self.write_operator_status(access, key, Some(request.status), &note, &notes)
            .await
    }

    /// Gives a region's VPN back to its gateways, or sets a manual
    /// component back to operational.
    pub async fn clear_component_status(
        &self,
        access: &ProviderAccess,
        key: &str,
    ) -> Result<Component> {
        let (_, _, is_region) = self.find_component(key).await?;
        let status = (!is_region).then_some(ComponentStatus::Operational);
        self.write_operator_status(access, key, status, "", &Default::default())
            .await
    }

    async fn write_operator_status(
        &self,
        access: &ProviderAccess,
        key: &str,
        status: Option<ComponentStatus>,
        note: &str,
        notes: &Localized,
    ) -> Result<Component> {
        let (id, name, _) = self.find_component(key).await?;
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE status_components SET operator_status = $2, operator_note = $3, \
             operator_note_translations = $4 WHERE id = $1",
        )
        .bind(&id)
        .bind(status.map(ComponentStatus::as_str))
        .bind(note)
        .bind(translations::encode(notes))
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "status.component.status",
                target_type: "component",
                target_id: &id,
                target_name: &name,
                tenant: None,
                details: json!({
                    "status": status.map(ComponentStatus::as_str), "note": note,
                    "note_translations": notes,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        // The history shows the change at once, not at the next sample.
        self.record_status_history(now_ms()).await?;
        self.get_component(access, &id).await
    }

    /// Deletes a component an operator created; a region's VPN goes with
    /// its region.
    pub async fn delete_component(&self, access: &ProviderAccess, key: &str) -> Result<()> {
        let (id, name, is_region) = self.find_component(key).await?;
        if is_region {
            return Err(StoreError::Conflict(format!(
                "'{name}' is a region's VPN; it goes away with its region"
            )));
        }
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM status_components WHERE id = $1")
            .bind(&id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "status.component.delete",
                target_type: "component",
                target_id: &id,
                target_name: &name,
                tenant: None,
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await
    }
}

/// The VPN component of a new region, in the region's transaction.
pub(crate) async fn create_region_component(
    tx: &mut WriteTx<'_>,
    region_id: &str,
    region_name: &str,
    description: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO status_components (id, name, description, group_name, region_id, created_at) \
         VALUES ($1, $2, $3, 'VPN', $4, $5)",
    )
    .bind(format!("vpn-{region_id}"))
    .bind(format!("vpn-{region_name}"))
    .bind(description)
    .bind(region_id)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

async fn resolve_tenants(tx: &mut WriteTx<'_>, keys: &[String]) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for key in keys {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM tenants WHERE id = $1 OR slug = $1")
                .bind(key)
                .fetch_optional(tx.conn())
                .await?;
        match id {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => unknown.push(key.clone()),
        }
    }
    if !unknown.is_empty() {
        return Err(StoreError::Invalid(vec![Violation::new(
            "tenants",
            format!("no such municipality: {}", unknown.join(", ")),
        )]));
    }
    Ok(ids)
}

async fn set_tenants(tx: &mut WriteTx<'_>, component: &str, tenant_ids: &[String]) -> Result<()> {
    for tenant in tenant_ids {
        sqlx::query(
            "INSERT INTO status_component_tenants (component_id, tenant_id) VALUES ($1, $2)",
        )
        .bind(component)
        .bind(tenant)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}
