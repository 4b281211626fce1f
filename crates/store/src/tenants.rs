//! Tenants (municipalities), their quota and their policy.

use api_types::Language;
use api_types::tenancy::{
    CreateTenant, Quota, SetPolicy, SetQuota, Tenant, TenantPolicy, UpdateTenant,
};
use ipnet::IpNet;
use serde_json::json;
use sqlx::FromRow;

use crate::addressing;
use crate::audit::{self, Change};
use crate::authz::{Actor, ProviderAccess, ProviderNeed, TenantAccess, TenantNeed};
use crate::convert::{opt_u32, timestamp, u32_or_zero};
use crate::validate;
use crate::{Result, Store, StoreError, Violation, WriteTx, new_id, now_ms};

pub const DEFAULT_SESSION_IDLE_TIMEOUT_SECS: u32 = 300;

const TENANT_SELECT: &str = "SELECT t.id, t.slug, t.name, t.default_language, t.address_pool, \
     r.name AS region_name, t.max_sessions, t.max_devices, t.priority_seats, \
     g.name AS priority_group_name, t.session_idle_timeout_secs, t.mfa_before_vpn_hours, \
     t.invitation_reminder_days, t.created_at \
     FROM tenants t LEFT JOIN regions r ON r.id = t.region_id \
     LEFT JOIN user_groups g ON g.id = t.priority_group_id";

#[derive(FromRow)]
struct TenantRow {
    id: String,
    slug: String,
    name: String,
    default_language: String,
    address_pool: String,
    region_name: Option<String>,
    max_sessions: Option<i64>,
    max_devices: Option<i64>,
    priority_seats: i64,
    priority_group_name: Option<String>,
    session_idle_timeout_secs: i64,
    mfa_before_vpn_hours: Option<i64>,
    invitation_reminder_days: Option<i64>,
    created_at: i64,
}

impl From<TenantRow> for Tenant {
    fn from(row: TenantRow) -> Tenant {
        Tenant {
            id: row.id,
            slug: row.slug,
            name: row.name,
            default_language: Language::parse(&row.default_language).unwrap_or(Language::En),
            address_pool: row.address_pool,
            region: row.region_name,
            quota: Quota {
                max_sessions: opt_u32(row.max_sessions),
                max_devices: opt_u32(row.max_devices),
            },
            policy: TenantPolicy {
                priority_seats: u32_or_zero(row.priority_seats),
                priority_group: row.priority_group_name,
                session_idle_timeout_secs: u32_or_zero(row.session_idle_timeout_secs),
                mfa_before_vpn_hours: opt_u32(row.mfa_before_vpn_hours),
                invitation_reminder_days: opt_u32(row.invitation_reminder_days),
            },
            created_at: timestamp(row.created_at),
        }
    }
}

fn opt_i64(value: Option<u32>) -> Option<i64> {
    value.map(i64::from)
}

impl Store {
    /// Tenants the actor can see: all for provider staff, the own one otherwise.
    pub async fn list_tenants(&self, actor: &Actor) -> Result<Vec<Tenant>> {
        let rows = if actor.provider(ProviderNeed::Staff).is_ok() {
            sqlx::query_as::<_, TenantRow>(&format!("{TENANT_SELECT} ORDER BY t.slug"))
                .fetch_all(self.pool())
                .await?
        } else {
            let visible = actor
                .token_tenant_id
                .as_deref()
                .or(actor.home_tenant_id.as_deref())
                .unwrap_or("");
            sqlx::query_as::<_, TenantRow>(&format!("{TENANT_SELECT} WHERE t.id = $1"))
                .bind(visible)
                .fetch_all(self.pool())
                .await?
        };
        Ok(rows.into_iter().map(Tenant::from).collect())
    }

    pub async fn get_tenant(&self, access: &TenantAccess) -> Result<Tenant> {
        sqlx::query_as::<_, TenantRow>(&format!("{TENANT_SELECT} WHERE t.id = $1"))
            .bind(access.tenant_id())
            .fetch_optional(self.pool())
            .await?
            .map(Tenant::from)
            .ok_or_else(|| StoreError::not_found("tenant", access.tenant_slug()))
    }

    pub async fn create_tenant(
        &self,
        access: &ProviderAccess,
        request: CreateTenant,
    ) -> Result<Tenant> {
        let (slug, name, pool) = validate::all((
            validate::tenant_slug("slug", &request.slug),
            validate::name("name", &request.name, 200),
            validate::address_pool("address_pool", &request.address_pool),
        ))?;
        let language = request.default_language.unwrap_or(Language::En);

        let mut tx = self.write().await?;
        tx.lock_global("tenant-address-pools").await?;
        if sqlx::query("SELECT id FROM tenants WHERE slug = $1")
            .bind(&slug)
            .fetch_optional(tx.conn())
            .await?
            .is_some()
        {
            return Err(StoreError::taken(
                "slug",
                &slug,
                format!("a tenant with slug '{slug}' already exists"),
            ));
        }
        check_pool_is_free(&mut tx, &pool).await?;
        let region_id = match &request.region {
            Some(region) => Some(self.find_region(region).await?.id),
            None => None,
        };

        let id = new_id();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO tenants (id, slug, name, default_language, address_pool, region_id, \
             max_sessions, max_devices, priority_seats, session_idle_timeout_secs, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $10)",
        )
        .bind(&id)
        .bind(&slug)
        .bind(&name)
        .bind(language.code())
        .bind(pool.to_string())
        .bind(region_id.as_deref())
        .bind(opt_i64(request.max_sessions))
        .bind(opt_i64(request.max_devices))
        .bind(i64::from(DEFAULT_SESSION_IDLE_TIMEOUT_SECS))
        .bind(now)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "tenant.create",
                target_type: "tenant",
                target_id: &id,
                target_name: &slug,
                tenant: Some((&id, &slug)),
                details: json!({
                    "name": name,
                    "address_pool": pool.to_string(),
                    "default_language": language.code(),
                    "region": request.region,
                    "max_sessions": request.max_sessions,
                    "max_devices": request.max_devices,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        self.tenant_by_id(&id).await
    }

    pub(crate) async fn tenant_by_id(&self, id: &str) -> Result<Tenant> {
        sqlx::query_as::<_, TenantRow>(&format!("{TENANT_SELECT} WHERE t.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(Tenant::from)
            .ok_or_else(|| StoreError::not_found("tenant", id))
    }

    /// `access` is any view of the tenant; each field asks for its own
    /// right: name and default language [`TenantNeed::Manage`] (provider
    /// admins, the tenant's admins), the region [`TenantNeed::Quota`]
    /// (provider staff: capacity is theirs).
    pub async fn update_tenant(
        &self,
        actor: &Actor,
        access: &TenantAccess,
        request: UpdateTenant,
    ) -> Result<Tenant> {
        if request.name.is_some() || request.default_language.is_some() {
            self.tenant_access(actor, access.tenant_id(), TenantNeed::Manage)
                .await?;
        }
        let name = match &request.name {
            Some(name) => Some(validate::name("name", name, 200)?),
            None => None,
        };
        let region_id = match &request.region {
            Some(region) => {
                self.tenant_access(actor, access.tenant_id(), TenantNeed::Quota)
                    .await?;
                match region {
                    Some(region) => Some(Some(self.find_region(region).await?.id)),
                    None => Some(None),
                }
            }
            None => None,
        };

        let mut tx = self.write().await?;
        let now = now_ms();
        if let Some(name) = &name {
            sqlx::query("UPDATE tenants SET name = $1, updated_at = $2 WHERE id = $3")
                .bind(name)
                .bind(now)
                .bind(access.tenant_id())
                .execute(tx.conn())
                .await?;
        }
        if let Some(language) = request.default_language {
            sqlx::query("UPDATE tenants SET default_language = $1, updated_at = $2 WHERE id = $3")
                .bind(language.code())
                .bind(now)
                .bind(access.tenant_id())
                .execute(tx.conn())
                .await?;
        }
        if let Some(region_id) = &region_id {
            sqlx::query("UPDATE tenants SET region_id = $1, updated_at = $2 WHERE id = $3")
                .bind(region_id.as_deref())
                .bind(now)
                .bind(access.tenant_id())
                .execute(tx.conn())
                .await?;
        }
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "tenant.update",
                target_type: "tenant",
                target_id: access.tenant_id(),
                target_name: access.tenant_slug(),
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: serde_json::to_value(&request).unwrap_or_default(),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_tenant(access).await
    }

    pub async fn delete_tenant(&self, access: &ProviderAccess, tenant: &str) -> Result<()> {
        if access.role() != api_types::Role::ProviderAdmin {
            return Err(StoreError::Forbidden(
                "only provider admins may delete tenants".to_owned(),
            ));
        }
        let mut tx = self.write().await?;
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT id, slug FROM tenants WHERE id = $1 OR slug = $1")
                .bind(tenant)
                .fetch_optional(tx.conn())
                .await?;
        let Some((id, slug)) = row else {
            return Err(StoreError::not_found("tenant", tenant));
        };
        // Cascades to users, groups, applications, rules, devices and tokens.
        sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(&id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "tenant.delete",
                target_type: "tenant",
                target_id: &id,
                target_name: &slug,
                tenant: Some((&id, &slug)),
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await
    }

    /// Sets `max_sessions` / `max_devices`. Needs [`crate::TenantNeed::Quota`].
    pub async fn set_quota(&self, access: &TenantAccess, request: SetQuota) -> Result<Tenant> {
        let mut tx = self.write().await?;
        tx.lock_tenant(access.tenant_id()).await?;
        let now = now_ms();
        if let Some(max_sessions) = request.max_sessions {
            sqlx::query("UPDATE tenants SET max_sessions = $1, updated_at = $2 WHERE id = $3")
                .bind(opt_i64(max_sessions))
                .bind(now)
                .bind(access.tenant_id())
                .execute(tx.conn())
                .await?;
        }
        if let Some(max_devices) = request.max_devices {
            sqlx::query("UPDATE tenants SET max_devices = $1, updated_at = $2 WHERE id = $3")
                .bind(opt_i64(max_devices))
                .bind(now)
                .bind(access.tenant_id())
                .execute(tx.conn())
                .await?;
        }
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "tenant.quota.set",
                target_type: "tenant",
                target_id: access.tenant_id(),
                target_name: access.tenant_slug(),
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: serde_json::to_value(&request).unwrap_or_default(),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_tenant(access).await
    }

    /// Sets priority seats, idle timeout and MFA-before-VPN. Needs
    /// [`crate::TenantNeed::Manage`].
    pub async fn set_policy(&self, access: &TenantAccess, request: SetPolicy) -> Result<Tenant> {
        let mut violations = Vec::new();
        if let Some(timeout) = request.session_idle_timeout_secs
            && !(30..=86_400).contains(&timeout)
        {
            violations.push(Violation::new(
                "session_idle_timeout_secs",
                "must be between 30 seconds and 1 day",
            ));
        }
        if let Some(Some(hours)) = request.mfa_before_vpn_hours
            && !(1..=720).contains(&hours)
        {
            violations.push(Violation::new(
                "mfa_before_vpn_hours",
                "must be between 1 and 720 hours",
            ));
        }
        if let Some(Some(days)) = request.invitation_reminder_days
            && !(1..=30).contains(&days)
        {
            violations.push(Violation::new(
                "invitation_reminder_days",
                "must be between 1 and 30 days",
            ));
        }
        if !violations.is_empty() {
            return Err(StoreError::Invalid(violations));
        }

        let mut tx = self.write().await?;
        tx.lock_tenant(access.tenant_id()).await?;
        let now = now_ms();
        if let Some(group) = &request.priority_group {
            let group_id = match group {
                Some(group) => Some(crate::groups::find_group_id(tx.conn(), access, group).await?),
                None => None,
            };
            sqlx::query("UPDATE tenants SET priority_group_id = $1, updated_at = $2 WHERE id = $3")
                .bind(group_id)
                .bind(now)
                .bind(access.tenant_id())
                .execute(tx.conn())
                .await?;
        }
        if let Some(seats) = request.priority_seats {
            sqlx::query("UPDATE tenants SET priority_seats = $1, updated_at = $2 WHERE id = $3")
                .bind(i64::from(seats))
                .bind(now)
                .bind(access.tenant_id())
                .execute(tx.conn())
                .await?;
        }
        if let Some(timeout) = request.session_idle_timeout_secs {
            sqlx::query(
                "UPDATE tenants SET session_idle_timeout_secs = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(i64::from(timeout))
            .bind(now)
            .bind(access.tenant_id())
            .execute(tx.conn())
            .await?;
        }
        if let Some(hours) = request.mfa_before_vpn_hours {
            sqlx::query(
                "UPDATE tenants SET mfa_before_vpn_hours = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(opt_i64(hours))
            .bind(now)
            .bind(access.tenant_id())
            .execute(tx.conn())
            .await?;
        }
        if let Some(days) = request.invitation_reminder_days {
            sqlx::query(
                "UPDATE tenants SET invitation_reminder_days = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(opt_i64(days))
            .bind(now)
            .bind(access.tenant_id())
            .execute(tx.conn())
            .await?;
        }
        let (seats, group): (i64, Option<String>) =
            sqlx::query_as("SELECT priority_seats, priority_group_id FROM tenants WHERE id = $1")
                .bind(access.tenant_id())
                .fetch_one(tx.conn())
                .await?;
        if seats > 0 && group.is_none() {
            return Err(StoreError::invalid(
                "priority_group",
                "priority seats need a priority group that may use them",
            ));
        }
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "tenant.policy.set",
                target_type: "tenant",
                target_id: access.tenant_id(),
                target_name: access.tenant_slug(),
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: serde_json::to_value(&request).unwrap_or_default(),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_tenant(access).await
    }
}

async fn check_pool_is_free(tx: &mut WriteTx<'_>, pool: &IpNet) -> Result<()> {
    let pools: Vec<(String, String)> = sqlx::query_as("SELECT slug, address_pool FROM tenants")
        .fetch_all(tx.conn())
        .await?;
    for (slug, other) in pools {
        let Ok(other) = other.parse::<IpNet>() else {
            continue;
        };
        if addressing::overlaps(pool, &other) {
            return Err(StoreError::Conflict(format!(
                "address pool {pool} overlaps the pool {other} of tenant '{slug}'"
            )));
        }
    }
    Ok(())
}
