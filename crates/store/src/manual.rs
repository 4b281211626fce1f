//! The tenant-specific parts of the employee manual: support contacts and
//! sections written by the tenant's admins.

use api_types::manual::{MAX_MARKDOWN_CHARS, MAX_SECTIONS, ManualSection, ManualSettings};
use serde_json::json;
use sqlx::Row;

use crate::audit::{self, Change};
use crate::authz::TenantAccess;
use crate::{Result, Store, StoreError, now_ms};

fn check(settings: &ManualSettings) -> Result<()> {
    let short = [
        ("support_name", &settings.support_name),
        ("support_email", &settings.support_email),
        ("support_phone", &settings.support_phone),
        ("support_hours", &settings.support_hours),
    ];
    for (field, value) in short {
        if value.chars().count() > 200 {
            return Err(StoreError::invalid(field, "at most 200 characters"));
        }
    }
    let email = settings.support_email.trim();
    if !email.is_empty()
        && !email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
    {
        return Err(StoreError::invalid(
            "support_email",
            "an e-mail address like it@example.org",
        ));
    }
    if settings.sections.len() > MAX_SECTIONS {
        return Err(StoreError::invalid(
            "sections",
            format!("at most {MAX_SECTIONS} sections"),
        ));
    }
    for (index, section) in settings.sections.iter().enumerate() {
        let field = format!("sections[{index}]");
        if section.title.trim().is_empty() || section.title.chars().count() > 120 {
            return Err(StoreError::invalid(
                &format!("{field}.title"),
                "1 to 120 characters",
            ));
        }
        if section.markdown.chars().count() > MAX_MARKDOWN_CHARS {
            return Err(StoreError::invalid(
                &format!("{field}.markdown"),
                format!("at most {MAX_MARKDOWN_CHARS} characters"),
            ));
        }
    }
    Ok(())
}

impl Store {
    pub async fn manual_settings(&self, access: &TenantAccess) -> Result<ManualSettings> {
        let row = sqlx::query(
            "SELECT support_name, support_email, support_phone, support_hours, sections \
             FROM tenant_manuals WHERE tenant_id = $1",
        )
        .bind(access.tenant_id())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(ManualSettings::default());
        };
        let sections: String = row.try_get("sections")?;
        Ok(ManualSettings {
            support_name: row.try_get("support_name")?,
            support_email: row.try_get("support_email")?,
            support_phone: row.try_get("support_phone")?,
            support_hours: row.try_get("support_hours")?,
            sections: serde_json::from_str::<Vec<ManualSection>>(&sections).unwrap_or_default(),
        })
    }

    pub async fn set_manual_settings(
        &self,
        access: &TenantAccess,
        settings: ManualSettings,
    ) -> Result<ManualSettings> {
        let settings = ManualSettings {
            support_name: settings.support_name.trim().to_owned(),
            support_email: settings.support_email.trim().to_owned(),
            support_phone: settings.support_phone.trim().to_owned(),
            support_hours: settings.support_hours.trim().to_owned(),
            sections: settings
                .sections
                .into_iter()
                .map(|s| ManualSection {
                    title: s.title.trim().to_owned(),
                    markdown: s.markdown,
                })
                .collect(),
        };
        check(&settings)?;
        let sections = serde_json::to_string(&settings.sections)
            .map_err(|e| StoreError::Conflict(format!("cannot store the sections: {e}")))?;
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM tenant_manuals WHERE tenant_id = $1")
            .bind(access.tenant_id())
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO tenant_manuals (tenant_id, support_name, support_email, support_phone, \
             support_hours, sections, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(access.tenant_id())
        .bind(&settings.support_name)
        .bind(&settings.support_email)
        .bind(&settings.support_phone)
        .bind(&settings.support_hours)
        .bind(&sections)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "manual.update",
                target_type: "tenant",
                target_id: access.tenant_id(),
                target_name: access.tenant_slug(),
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({
                    "sections": settings.sections.iter().map(|s| s.title.clone()).collect::<Vec<_>>(),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(settings)
    }
}
