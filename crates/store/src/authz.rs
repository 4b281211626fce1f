//! Who may do what: the one place where roles are checked.
//!
//! Handlers never compare roles themselves. They ask for a capability
//! ([`ProviderAccess`] or [`TenantAccess`]) and pass it to the store's
//! functions, which scope every query by it. The capabilities have private
//! fields, so they can only come from here.

use api_types::Role;
use sqlx::Row;

use crate::{Result, Store, StoreError};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: String,
    pub username: String,
    pub role: Role,
    /// The tenant the user belongs to (tenant admins and employees).
    pub home_tenant_id: Option<String>,
    /// The tenant the caller's API token is restricted to, if any.
    pub token_tenant_id: Option<String>,
    /// The token or browser session of this request (kept when the caller
    /// changes their password, which ends their other logins).
    pub token_id: Option<String>,
    /// Network address of the request.
    pub source: Option<String>,
    /// The user logged in with a one-time password and must replace it
    /// before doing anything else.
    pub password_change_required: bool,
}

/// Who made a change and from where, as written to the audit log.
#[derive(Debug, Clone)]
pub struct AuditSource {
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub source: Option<String>,
}

impl AuditSource {
    /// Changes homegate makes by itself (bootstrap, expiry, gateways).
    pub fn system(name: &str) -> AuditSource {
        AuditSource {
            actor_id: None,
            actor_name: name.to_owned(),
            source: None,
        }
    }
}

impl Actor {
    pub fn audit_source(&self) -> AuditSource {
        AuditSource {
            actor_id: Some(self.user_id.clone()),
            actor_name: self.username.clone(),
            source: self.source.clone(),
        }
    }

    /// Capability for provider-wide operations.
    pub fn provider(&self, need: ProviderNeed) -> Result<ProviderAccess> {
        if self.token_tenant_id.is_some() {
            return Err(StoreError::Forbidden(
                "this API token is restricted to one tenant".to_owned(),
            ));
        }
        let allowed = match (need, self.role) {
            (ProviderNeed::Admin, Role::ProviderAdmin) => true,
            (ProviderNeed::Staff, Role::ProviderAdmin | Role::ProviderOperator) => true,
            (ProviderNeed::Admin | ProviderNeed::Staff, _) => false,
        };
        if !allowed {
            return Err(StoreError::Forbidden(format!(
                "this needs the {} role",
                match need {
                    ProviderNeed::Admin => "provider admin",
                    ProviderNeed::Staff => "provider admin or provider operator",
                }
            )));
        }
        Ok(ProviderAccess {
            audit: self.audit_source(),
            role: self.role,
        })
    }

    /// Check for managing the caller's own account (password, second
    /// factors, API tokens): only a full-scope credential may. A token
    /// restricted to one tenant reaches that tenant's endpoints and nothing
    /// else, so a leaked automation token cannot take over its owner.
    pub fn full_scope(&self) -> Result<()> {
        if self.token_tenant_id.is_some() {
            return Err(StoreError::Forbidden(
                "this API token is restricted to one tenant; managing the account (password, \
                 second factors, API tokens) needs a login or an unrestricted token"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// Whether the actor can see that tenant exists at all.
    fn sees_tenant(&self, tenant_id: &str) -> bool {
        if let Some(scope) = &self.token_tenant_id
            && scope != tenant_id
        {
            return false;
        }
        match self.role {
            Role::ProviderAdmin | Role::ProviderOperator => true,
            Role::TenantAdmin | Role::Employee => self.home_tenant_id.as_deref() == Some(tenant_id),
        }
    }

    fn may(&self, need: TenantNeed) -> bool {
        match self.role {
            Role::ProviderAdmin => true,
            Role::ProviderOperator => matches!(
                need,
                TenantNeed::View | TenantNeed::Quota | TenantNeed::Operate
            ),
            Role::TenantAdmin => matches!(
                need,
                TenantNeed::View | TenantNeed::Manage | TenantNeed::Operate
            ),
            Role::Employee => matches!(need, TenantNeed::View),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderNeed {
    /// Provider admins only: users of the provider, tenants, tokens of others.
    Admin,
    /// Provider admins and operators: regions, gateways, capacity, status.
    Staff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantNeed {
    /// Read the tenant's own record (name, quota, policy).
    View,
    /// Manage the tenant's users, groups, applications, rules, devices, policy.
    Manage,
    /// Change the tenant's capacity: quota and region (provider staff).
    Quota,
    /// List and revoke devices and sticks (provider operators do this too).
    Operate,
}

/// Proof that the holder may act provider-wide.
#[derive(Debug, Clone)]
pub struct ProviderAccess {
    audit: AuditSource,
    role: Role,
}

impl ProviderAccess {
    pub fn audit(&self) -> &AuditSource {
        &self.audit
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// For work homegate does by itself (bootstrap, gateway streams).
    pub fn system(name: &str) -> ProviderAccess {
        ProviderAccess {
            audit: AuditSource::system(name),
            role: Role::ProviderAdmin,
        }
    }
}

/// Proof that the holder may act on one tenant with the given need.
#[derive(Debug, Clone)]
pub struct TenantAccess {
    tenant_id: String,
    tenant_slug: String,
    audit: AuditSource,
    actor_role: Role,
}

impl TenantAccess {
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    pub fn tenant_slug(&self) -> &str {
        &self.tenant_slug
    }

    pub fn audit(&self) -> &AuditSource {
        &self.audit
    }

    pub fn actor_role(&self) -> Role {
        self.actor_role
    }

    /// Whether the holder may grant `role` to a user of this tenant.
    pub(crate) fn may_grant(&self, role: Role) -> bool {
        match role {
            Role::ProviderAdmin | Role::ProviderOperator => false,
            Role::TenantAdmin | Role::Employee => {
                matches!(self.actor_role, Role::ProviderAdmin | Role::TenantAdmin)
            }
        }
    }
}

/// Proof that the holder acts for themselves: an employee or tenant admin on
/// their own devices and codes.
#[derive(Debug, Clone)]
pub struct SelfAccess {
    tenant: TenantAccess,
    user_id: String,
    username: String,
}

impl SelfAccess {
    pub fn tenant(&self) -> &TenantAccess {
        &self.tenant
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn username(&self) -> &str {
        &self.username
    }
}

impl Store {
    /// Capability for self-service: the actor's own devices and codes.
    pub async fn self_access(&self, actor: &Actor) -> Result<SelfAccess> {
        let home = actor.home_tenant_id.clone().ok_or_else(|| {
            StoreError::Forbidden(
                "provider staff have no devices of their own; use a tenant account".to_owned(),
            )
        })?;
        let tenant = self.tenant_access(actor, &home, TenantNeed::View).await?;
        Ok(SelfAccess {
            tenant,
            user_id: actor.user_id.clone(),
            username: actor.username.clone(),
        })
    }

    /// Resolves `tenant` (id or slug) and checks that `actor` may act on it.
    ///
    /// A tenant the actor may not see is reported as not found, so that
    /// tenant admins cannot even probe which other tenants exist.
    pub async fn tenant_access(
        &self,
        actor: &Actor,
        tenant: &str,
        need: TenantNeed,
    ) -> Result<TenantAccess> {
        let row = sqlx::query("SELECT id, slug FROM tenants WHERE id = $1 OR slug = $1")
            .bind(tenant)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else {
            return Err(StoreError::not_found("tenant", tenant));
        };
        let tenant_id: String = row.try_get("id")?;
        let tenant_slug: String = row.try_get("slug")?;
        if !actor.sees_tenant(&tenant_id) {
            return Err(StoreError::not_found("tenant", tenant));
        }
        if !actor.may(need) {
            return Err(StoreError::Forbidden(format!(
                "your role ({}) may not {} in tenant '{tenant_slug}'",
                actor.role.as_str(),
                match need {
                    TenantNeed::View => "view this tenant",
                    TenantNeed::Manage => "manage users, groups, applications or devices",
                    TenantNeed::Quota => "change the quota or region",
                    TenantNeed::Operate => "manage devices",
                }
            )));
        }
        Ok(TenantAccess {
            tenant_id,
            tenant_slug,
            audit: actor.audit_source(),
            actor_role: actor.role,
        })
    }

    /// Tenant capability for work homegate does by itself.
    pub async fn system_tenant_access(&self, tenant: &str, name: &str) -> Result<TenantAccess> {
        let row = sqlx::query("SELECT id, slug FROM tenants WHERE id = $1 OR slug = $1")
            .bind(tenant)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::not_found("tenant", tenant))?;
        Ok(TenantAccess {
            tenant_id: row.try_get("id")?,
            tenant_slug: row.try_get("slug")?,
            audit: AuditSource::system(name),
            actor_role: Role::ProviderAdmin,
        })
    }
}

#[cfg(test)]
mod tests;
