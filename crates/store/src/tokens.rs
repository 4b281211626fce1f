//! API tokens: authentication of bearer secrets, and their management.

use api_types::Role;
use api_types::auth::{ApiToken, CreateToken, TokenCreated, TokenScope};
use serde_json::json;
use sqlx::FromRow;

use crate::audit::{self, Change};
use crate::authz::{Actor, ProviderNeed, TenantNeed};
use crate::convert::{opt_timestamp, timestamp};
use crate::credentials;
use crate::validate;
use crate::{Result, Store, StoreError, new_id, now_ms};

/// `last_used_at` is refreshed at most this often, so that reads stay reads.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

#[derive(FromRow)]
struct AuthRow {
    token_id: String,
    last_used_at: Option<i64>,
    tenant_scope_id: Option<String>,
    user_id: String,
    username: String,
    role: String,
    tenant_id: Option<String>,
    must_change_password: i64,
}

#[derive(FromRow)]
struct TokenRow {
    id: String,
    name: String,
    username: String,
    scope_slug: Option<String>,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    last_used_at: Option<i64>,
    login: i64,
}

impl From<TokenRow> for ApiToken {
    fn from(row: TokenRow) -> ApiToken {
        ApiToken {
            id: row.id,
            name: row.name,
            user: row.username,
            scope: match row.scope_slug {
                Some(tenant) => TokenScope::Tenant { tenant },
                None => TokenScope::Full,
            },
            created_at: timestamp(row.created_at),
            expires_at: opt_timestamp(row.expires_at),
            revoked_at: opt_timestamp(row.revoked_at),
            last_used_at: opt_timestamp(row.last_used_at),
            login: row.login != 0,
        }
    }
}

const TOKEN_SELECT: &str = "SELECT k.id, k.name, u.username, t.slug AS scope_slug, k.created_at, \
     k.expires_at, k.revoked_at, k.last_used_at, k.login \
     FROM api_tokens k JOIN users u ON u.id = k.user_id \
     LEFT JOIN tenants t ON t.id = k.tenant_scope_id";

impl Store {
    /// Resolves a bearer secret to the actor behind it.
    pub async fn authenticate(&self, secret: &str, source: Option<String>) -> Result<Actor> {
        let now = now_ms();
        let row = sqlx::query_as::<_, AuthRow>(
            "SELECT k.id AS token_id, k.last_used_at, k.tenant_scope_id, u.id AS user_id, \
             u.username, u.role, u.tenant_id, u.must_change_password \
             FROM api_tokens k JOIN users u ON u.id = k.user_id \
             WHERE k.token_hash = $1 AND k.revoked_at IS NULL \
             AND (k.expires_at IS NULL OR k.expires_at > $2) AND u.disabled = 0",
        )
        .bind(credentials::hash_secret(secret))
        .bind(now)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| {
            StoreError::Unauthenticated(
                "the token is unknown, expired or revoked; log in again".to_owned(),
            )
        })?;
        if row
            .last_used_at
            .is_none_or(|last| now - last > LAST_USED_RESOLUTION_MS)
        {
            // Bookkeeping only: a busy database must not fail the request.
            if let Err(error) = sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&row.token_id)
                .execute(self.pool())
                .await
            {
                tracing::warn!(%error, "cannot record when a token was last used");
            }
        }
        Ok(Actor {
            token_id: Some(row.token_id),
            user_id: row.user_id,
            username: row.username,
            role: Role::parse(&row.role).unwrap_or(Role::Employee),
            home_tenant_id: row.tenant_id,
            token_tenant_id: row.tenant_scope_id,
            source,
            password_change_required: row.must_change_password != 0,
        })
    }

    /// Tokens of the actor; provider admins see everyone's.
    pub async fn list_tokens(&self, actor: &Actor) -> Result<Vec<ApiToken>> {
        let rows = if actor.provider(ProviderNeed::Admin).is_ok() {
            sqlx::query_as::<_, TokenRow>(&format!("{TOKEN_SELECT} ORDER BY k.created_at DESC"))
                .fetch_all(self.pool())
                .await?
        } else {
            sqlx::query_as::<_, TokenRow>(&format!(
                "{TOKEN_SELECT} WHERE k.user_id = $1 ORDER BY k.created_at DESC"
            ))
            .bind(&actor.user_id)
            .fetch_all(self.pool())
            .await?
        };
        Ok(rows.into_iter().map(ApiToken::from).collect())
    }

    /// Creates a token for the actor, optionally restricted to one tenant.
    /// A token never has more rights than the actor, nor a wider scope than
    /// the token the request came with.
    pub async fn create_token(&self, actor: &Actor, request: CreateToken) -> Result<TokenCreated> {
        let name = validate::name("name", &request.name, 100)?;
        if let Some(days) = request.expires_in_days
            && !(1..=3650).contains(&days)
        {
            return Err(StoreError::invalid(
                "expires_in_days",
                "must be between 1 and 3650",
            ));
        }
        let scope_tenant = match &request.tenant {
            Some(tenant) => Some(self.tenant_access(actor, tenant, TenantNeed::View).await?),
            None => None,
        };
        let scope_tenant_id = scope_tenant
            .as_ref()
            .map(|access| access.tenant_id().to_owned())
            .or_else(|| actor.token_tenant_id.clone());

        let secret = credentials::new_secret("hgt");
        let id = new_id();
        let now = now_ms();
        let expires = request
            .expires_in_days
            .map(|days| now + i64::from(days) * 86_400_000);
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, tenant_scope_id, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&actor.user_id)
        .bind(&name)
        .bind(credentials::hash_secret(&secret))
        .bind(scope_tenant_id.as_deref())
        .bind(now)
        .bind(expires)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            &actor.audit_source(),
            Change {
                action: "token.create",
                target_type: "token",
                target_id: &id,
                target_name: &name,
                tenant: scope_tenant
                    .as_ref()
                    .map(|access| (access.tenant_id(), access.tenant_slug())),
                details: json!({ "expires_in_days": request.expires_in_days }),
            },
        )
        .await?;
        tx.commit().await?;
        let token = sqlx::query_as::<_, TokenRow>(&format!("{TOKEN_SELECT} WHERE k.id = $1"))
            .bind(&id)
            .fetch_one(self.pool())
            .await?;
        Ok(TokenCreated {
            token: token.into(),
            secret,
        })
    }

    /// Revokes a token of the actor (provider admins: anyone's).
    pub async fn revoke_token(&self, actor: &Actor, token_id: &str) -> Result<()> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT user_id, name FROM api_tokens WHERE id = $1")
                .bind(token_id)
                .fetch_optional(self.pool())
                .await?;
        let Some((owner, name)) = row else {
            return Err(StoreError::not_found("token", token_id));
        };
        if owner != actor.user_id && actor.provider(ProviderNeed::Admin).is_err() {
            return Err(StoreError::not_found("token", token_id));
        }
        let mut tx = self.write().await?;
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(token_id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            &actor.audit_source(),
            Change {
                action: "token.revoke",
                target_type: "token",
                target_id: token_id,
                target_name: &name,
                tenant: None,
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await
    }

    /// Revokes the token the request came with (logout).
    pub async fn revoke_secret(&self, actor: &Actor, secret: &str) -> Result<()> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM api_tokens WHERE token_hash = $1")
                .bind(credentials::hash_secret(secret))
                .fetch_optional(self.pool())
                .await?;
        match id {
            Some(id) => self.revoke_token(actor, &id).await,
            None => Ok(()),
        }
    }
}
