//! Tenants' own OpenID Connect identity providers (one per tenant).

use api_types::Role;
use api_types::auth::{IdentityProvider, SetIdentityProvider};
use serde_json::json;
use sqlx::Row;

use crate::audit::{self, Change};
use crate::authz::{AuditSource, TenantAccess};
use crate::validate;
use crate::{Result, Store, StoreError, Violation, new_id, now_ms};

pub const USERNAME_CLAIMS: [&str; 3] = ["email", "preferred_username", "sub"];

/// What the control plane needs to talk to a tenant's identity provider.
#[derive(Clone)]
pub struct IdpConfig {
    pub tenant_id: String,
    pub tenant_slug: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub username_claim: String,
    pub counts_as_mfa: bool,
    pub auto_provision: bool,
}

impl std::fmt::Debug for IdpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpConfig")
            .field("tenant", &self.tenant_slug)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Sets the tenant's identity provider. The client secret is never shown again.
    pub async fn set_identity_provider(
        &self,
        access: &TenantAccess,
        request: SetIdentityProvider,
        redirect_uri: &str,
    ) -> Result<IdentityProvider> {
        let issuer = request.issuer.trim().trim_end_matches('/').to_owned();
        let claim = request
            .username_claim
            .unwrap_or_else(|| "email".to_owned())
            .trim()
            .to_owned();
        let mut violations = Vec::new();
        if let Err(violation) = self.outbound_policy().check_issuer("issuer", &issuer) {
            violations.push(violation);
        }
        if !USERNAME_CLAIMS.contains(&claim.as_str()) {
            violations.push(Violation::new(
                "username_claim",
                "must be email, preferred_username or sub",
            ));
        }
        let client_id = validate::name("client_id", &request.client_id, 200);
        let client_secret = validate::name("client_secret", &request.client_secret, 500);
        if let Err(v) = &client_id {
            violations.push(v.clone());
        }
        if let Err(v) = &client_secret {
            violations.push(v.clone());
        }
        if !violations.is_empty() {
            return Err(StoreError::Invalid(violations));
        }
        let (Ok(client_id), Ok(client_secret)) = (client_id, client_secret) else {
            return Err(StoreError::invalid("client_id", "invalid"));
        };
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM tenant_idps WHERE tenant_id = $1")
            .bind(access.tenant_id())
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO tenant_idps (tenant_id, issuer, client_id, client_secret, username_claim, \
             counts_as_mfa, auto_provision, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(access.tenant_id())
        .bind(&issuer)
        .bind(&client_id)
        .bind(self.seal(&client_secret)?)
        .bind(&claim)
        .bind(i64::from(request.counts_as_mfa))
        .bind(i64::from(request.auto_provision))
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "tenant.idp.set",
                target_type: "tenant",
                target_id: access.tenant_id(),
                target_name: access.tenant_slug(),
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({
                    "issuer": issuer,
                    "client_id": client_id,
                    "username_claim": claim,
                    "counts_as_mfa": request.counts_as_mfa,
                    "auto_provision": request.auto_provision,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_identity_provider(access, redirect_uri)
            .await?
            .ok_or_else(|| StoreError::not_found("identity provider", access.tenant_slug()))
    }

    pub async fn get_identity_provider(
        &self,
        access: &TenantAccess,
        redirect_uri: &str,
    ) -> Result<Option<IdentityProvider>> {
        Ok(self
            .idp_config(access.tenant_id())
            .await?
            .map(|config| IdentityProvider {
                issuer: config.issuer,
                client_id: config.client_id,
                username_claim: config.username_claim,
                counts_as_mfa: config.counts_as_mfa,
                auto_provision: config.auto_provision,
                redirect_uri: redirect_uri.to_owned(),
            }))
    }

    pub async fn delete_identity_provider(&self, access: &TenantAccess) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM tenant_idps WHERE tenant_id = $1")
            .bind(access.tenant_id())
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "tenant.idp.delete",
                target_type: "tenant",
                target_id: access.tenant_id(),
                target_name: access.tenant_slug(),
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await
    }

    /// Whether any tenant's employees log in through their own identity
    /// provider (the login page then asks for the municipality).
    pub async fn any_identity_provider(&self) -> Result<bool> {
        let found: Option<String> = sqlx::query_scalar("SELECT tenant_id FROM tenant_idps LIMIT 1")
            .fetch_optional(self.pool())
            .await?;
        Ok(found.is_some())
    }

    /// The slug of the tenant named `organisation` (its slug or its name,
    /// in any case) if it has an identity provider.
    pub async fn identity_provider_for(&self, organisation: &str) -> Result<Option<String>> {
        let organisation = organisation.trim();
        if organisation.is_empty() {
            return Ok(None);
        }
        let slug: Option<String> = sqlx::query_scalar(
            "SELECT t.slug FROM tenant_idps i JOIN tenants t ON t.id = i.tenant_id \
             WHERE LOWER(t.slug) = LOWER($1) OR LOWER(t.name) = LOWER($1) \
             ORDER BY t.slug LIMIT 1",
        )
        .bind(organisation)
        .fetch_optional(self.pool())
        .await?;
        Ok(slug)
    }

    /// The identity provider of a tenant, by id or slug (for logins).
    pub async fn idp_config(&self, tenant: &str) -> Result<Option<IdpConfig>> {
        let row = sqlx::query(
            "SELECT i.tenant_id, t.slug, i.issuer, i.client_id, i.client_secret, i.username_claim, \
             i.counts_as_mfa, i.auto_provision FROM tenant_idps i JOIN tenants t ON t.id = i.tenant_id \
             WHERE t.id = $1 OR t.slug = $1",
        )
        .bind(tenant)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let counts_as_mfa: i64 = row.try_get("counts_as_mfa")?;
        let auto_provision: i64 = row.try_get("auto_provision")?;
        Ok(Some(IdpConfig {
            tenant_id: row.try_get("tenant_id")?,
            tenant_slug: row.try_get("slug")?,
            issuer: row.try_get("issuer")?,
            client_id: row.try_get("client_id")?,
            client_secret: self.unseal(&row.try_get::<String, _>("client_secret")?)?,
            username_claim: row.try_get("username_claim")?,
            counts_as_mfa: counts_as_mfa != 0,
            auto_provision: auto_provision != 0,
        }))
    }

    /// The user an identity provider vouched for: an existing user of the
    /// tenant, or a new employee if the tenant allows it.
    pub async fn oidc_user(&self, config: &IdpConfig, username: &str) -> Result<String> {
        let username = validate::username("username", username)?;
        // The identity provider speaks for its own tenant only: a namesake
        // in another municipality is another person.
        let row =
            sqlx::query("SELECT id, disabled FROM users WHERE tenant_id = $1 AND username = $2")
                .bind(&config.tenant_id)
                .bind(&username)
                .fetch_optional(self.pool())
                .await?;
        if let Some(row) = row {
            let disabled: i64 = row.try_get("disabled")?;
            if disabled != 0 {
                return Err(StoreError::Unauthenticated(
                    "this account is disabled; ask your administrator".to_owned(),
                ));
            }
            return row.try_get("id").map_err(StoreError::from);
        }
        if !config.auto_provision {
            return Err(StoreError::Forbidden(format!(
                "{username} has no homegate account in {}; ask your IT coordinator",
                config.tenant_slug
            )));
        }
        let id = new_id();
        let now = now_ms();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO users (id, tenant_id, username, display_name, email, role, password_hash, \
             must_change_password, disabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $3, $4, $5, NULL, 0, 0, $6, $6)",
        )
        .bind(&id)
        .bind(&config.tenant_id)
        .bind(&username)
        .bind(if username.contains('@') {
            username.as_str()
        } else {
            ""
        })
        .bind(Role::Employee.as_str())
        .bind(now)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            &AuditSource::system(&format!("oidc:{}", config.tenant_slug)),
            Change {
                action: "user.create",
                target_type: "user",
                target_id: &id,
                target_name: &username,
                tenant: Some((&config.tenant_id, &config.tenant_slug)),
                details: json!({ "role": "employee", "provisioned_by": "oidc" }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }
}
