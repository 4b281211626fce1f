//! The identity-aware proxy's data: which applications are published on the
//! web, access grants from a portal login, and the keys that sign the
//! identity assertions sent to upstreams.
//!
//! A grant is checked again on every revalidation with one query that asks
//! the same questions as the first time: the portal login is still valid,
//! the employee is not disabled, one of their groups has a rule for the
//! application, and the application is still published. So logging out,
//! disabling an employee or removing them from the group ends the grant.

use serde_json::json;
use sqlx::{FromRow, Row};

use crate::audit::{self, Change};
use crate::authz::{Actor, AuditSource};
use crate::{Result, Store, StoreError, credentials, new_id, now_ms};

/// How long the one-time code from the portal to the application's host lives.
pub const CODE_LIFETIME_MS: i64 = 60_000;
/// How long a proxy session lives at most (the portal login may end it sooner).
pub const SESSION_LIFETIME_MS: i64 = 12 * 3_600_000;

/// An application reachable through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedApp {
    pub application_id: String,
    pub application: String,
    pub tenant_id: String,
    pub tenant: String,
    pub upstream: String,
}

/// Who a proxy session belongs to, as forwarded to the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyIdentity {
    pub session_id: String,
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub tenant_id: String,
    pub tenant: String,
    pub application_id: String,
    pub application: String,
    /// Names of the employee's groups, sorted.
    pub groups: Vec<String>,
}

/// A signing key of the proxy (Ed25519, PKCS#8 and raw public key, base64url).
#[derive(Debug, Clone)]
pub struct SigningKey {
    pub kid: String,
    pub private_pkcs8: String,
    pub public_key: String,
}

#[derive(FromRow)]
struct IdentityRow {
    id: String,
    user_id: String,
    username: String,
    display_name: String,
    email: String,
    tenant_id: String,
    slug: String,
    application_id: String,
    application: String,
}

/// The conditions under which a proxy session is valid, for `ps`, `k`
/// (its portal login), `u`, `a` and `t`; `$1` is now.
const VALID_SESSION: &str = "FROM proxy_sessions ps \
     JOIN api_tokens k ON k.id = ps.login_token_id \
     JOIN users u ON u.id = ps.user_id \
     JOIN applications a ON a.id = ps.application_id AND a.tenant_id = ps.tenant_id \
     JOIN tenants t ON t.id = ps.tenant_id \
     WHERE ps.ended_at IS NULL AND ps.expires_at > $1 \
     AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $1) \
     AND u.disabled = 0 AND u.tenant_id = ps.tenant_id AND a.web_upstream <> '' \
     AND EXISTS (SELECT 1 FROM access_rules r JOIN group_members m ON m.group_id = r.group_id \
                 WHERE r.application_id = a.id AND m.user_id = u.id)";

impl Store {
    /// Every published application of every tenant (for the proxy's routing table).
    pub async fn published_applications(&self) -> Result<Vec<PublishedApp>> {
        let rows = sqlx::query(
            "SELECT a.id, a.name, a.tenant_id, t.slug, a.web_upstream FROM applications a \
             JOIN tenants t ON t.id = a.tenant_id WHERE a.web_upstream <> ''",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(published_app).collect()
    }

    /// Published applications a user may open (for the portal).
    pub async fn web_applications_of(&self, user_id: &str) -> Result<Vec<PublishedApp>> {
        let rows = sqlx::query(
            "SELECT DISTINCT a.id, a.name, a.tenant_id, t.slug, a.web_upstream FROM applications a \
             JOIN tenants t ON t.id = a.tenant_id \
             JOIN access_rules r ON r.application_id = a.id \
             JOIN group_members m ON m.group_id = r.group_id \
             JOIN users u ON u.id = m.user_id AND u.tenant_id = a.tenant_id \
             WHERE a.web_upstream <> '' AND m.user_id = $1 ORDER BY a.name",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(published_app).collect()
    }

    /// Grants the holder of portal login `login_secret` access to a
    /// published application if one of their groups has a rule for it;
    /// returns a one-time code for the application's host. Refusals are
    /// audited.
    pub async fn grant_proxy_access(
        &self,
        actor: &Actor,
        login_secret: &str,
        app: &PublishedApp,
    ) -> Result<String> {
        let now = now_ms();
        let allowed = sqlx::query(
            "SELECT 1 FROM access_rules r JOIN group_members m ON m.group_id = r.group_id \
             JOIN users u ON u.id = m.user_id \
             WHERE r.application_id = $1 AND m.user_id = $2 AND u.tenant_id = $3 \
             AND u.disabled = 0",
        )
        .bind(&app.application_id)
        .bind(&actor.user_id)
        .bind(&app.tenant_id)
        .fetch_optional(self.pool())
        .await?
        .is_some();
        let login = sqlx::query("SELECT id FROM api_tokens WHERE token_hash = $1")
            .bind(credentials::hash_secret(login_secret))
            .fetch_optional(self.pool())
            .await?;
        let who = actor.audit_source();
        let mut tx = self.write().await?;
        let Some(login) = login.filter(|_| allowed) else {
            audit::record(
                &mut tx,
                &who,
                Change {
                    action: "proxy.denied",
                    target_type: "application",
                    target_id: &app.application_id,
                    target_name: &app.application,
                    tenant: Some((&app.tenant_id, &app.tenant)),
                    details: json!({ "reason": "no group of the user may use this application" }),
                },
            )
            .await?;
            tx.commit().await?;
            return Err(StoreError::Forbidden(format!(
                "you have no access to '{}': ask your IT coordinator to add you to a group \
                 that may use it",
                app.application
            )));
        };
        let login_token_id: String = login.try_get("id")?;
        let code = credentials::new_secret("hgpc");
        sqlx::query(
            "INSERT INTO proxy_sessions (id, login_token_id, user_id, tenant_id, application_id, \
             code_hash, code_expires_at, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9)",
        )
        .bind(new_id())
        .bind(&login_token_id)
        .bind(&actor.user_id)
        .bind(&app.tenant_id)
        .bind(&app.application_id)
        .bind(credentials::hash_secret(&code))
        .bind(now + CODE_LIFETIME_MS)
        .bind(now)
        .bind(now + SESSION_LIFETIME_MS)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(code)
    }

    /// Exchanges a one-time code (once, before it expires) for the session
    /// secret of the browser on the application's host; audited as an access.
    pub async fn open_proxy_session(
        &self,
        code: &str,
        application_id: &str,
        source: Option<String>,
    ) -> Result<(String, ProxyIdentity)> {
        let now = now_ms();
        let secret = credentials::new_secret("hgp");
        let mut tx = self.write().await?;
        let session: Option<String> = sqlx::query(
            "UPDATE proxy_sessions SET code_hash = NULL, token_hash = $1 \
             WHERE code_hash = $2 AND code_expires_at > $3 AND application_id = $4 \
             RETURNING id",
        )
        .bind(credentials::hash_secret(&secret))
        .bind(credentials::hash_secret(code))
        .bind(now)
        .bind(application_id)
        .fetch_optional(tx.conn())
        .await?
        .map(|row| row.try_get("id"))
        .transpose()?;
        let unknown = || {
            StoreError::Unauthenticated(
                "this sign-in link was already used or has expired; open the application again"
                    .to_owned(),
            )
        };
        let session = session.ok_or_else(unknown)?;
        let identity = identity_where(tx.conn(), "ps.id = $2", &session, now)
            .await?
            .ok_or_else(unknown)?;
        audit::record(
            &mut tx,
            &AuditSource {
                actor_id: Some(identity.user_id.clone()),
                actor_name: identity.username.clone(),
                source,
            },
            Change {
                action: "proxy.access",
                target_type: "application",
                target_id: &identity.application_id,
                target_name: &identity.application,
                tenant: Some((&identity.tenant_id, &identity.tenant)),
                details: json!({ "session": identity.session_id }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok((secret, identity))
    }

    /// The identity behind a proxy session (by the SHA-256 of its secret,
    /// [`credentials::hash_secret`]), if the session is still valid (see the
    /// module's description).
    pub async fn proxy_identity(&self, secret_hash: &str) -> Result<Option<ProxyIdentity>> {
        let mut conn = self.pool().acquire().await?;
        identity_where(&mut conn, "ps.token_hash = $2", secret_hash, now_ms()).await
    }

    /// Which of these proxy sessions (by secret hash) are still valid: one
    /// query per 500, for re-checking every session in use at once.
    pub async fn valid_proxy_sessions(
        &self,
        secret_hashes: &[String],
    ) -> Result<std::collections::HashSet<String>> {
        let now = now_ms();
        let mut valid = std::collections::HashSet::new();
        for chunk in secret_hashes.chunks(500) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT ps.token_hash {VALID_SESSION} AND ps.token_hash IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(now);
            for hash in chunk {
                query = query.bind(hash);
            }
            for row in query.fetch_all(self.pool()).await? {
                valid.insert(row.try_get::<String, _>("token_hash")?);
            }
        }
        Ok(valid)
    }

    /// Ends a proxy session (its logout link).
    pub async fn end_proxy_session(&self, secret: &str) -> Result<()> {
        sqlx::query(
            "UPDATE proxy_sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL",
        )
        .bind(now_ms())
        .bind(credentials::hash_secret(secret))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The proxy's signing keys, newest first; makes one if there is none.
    pub async fn proxy_signing_keys(
        &self,
        generate: impl FnOnce() -> SigningKey,
    ) -> Result<Vec<SigningKey>> {
        let read = || async {
            let rows = sqlx::query(
                "SELECT kid, private_pkcs8, public_key FROM proxy_signing_keys \
                 ORDER BY created_at DESC, kid",
            )
            .fetch_all(self.pool())
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(SigningKey {
                        kid: row.try_get("kid")?,
                        private_pkcs8: self.unseal(&row.try_get::<String, _>("private_pkcs8")?)?,
                        public_key: row.try_get("public_key")?,
                    })
                })
                .collect::<Result<Vec<_>>>()
        };
        let keys = read().await?;
        if !keys.is_empty() {
            return Ok(keys);
        }
        let key = generate();
        // Replicas starting together may each insert one: all are published,
        // and each signs with the newest it read.
        sqlx::query(
            "INSERT INTO proxy_signing_keys (kid, private_pkcs8, public_key, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&key.kid)
        .bind(self.seal(&key.private_pkcs8)?)
        .bind(&key.public_key)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        read().await
    }
}

fn published_app(row: &sqlx::any::AnyRow) -> Result<PublishedApp> {
    Ok(PublishedApp {
        application_id: row.try_get("id")?,
        application: row.try_get("name")?,
        tenant_id: row.try_get("tenant_id")?,
        tenant: row.try_get("slug")?,
        upstream: row.try_get("web_upstream")?,
    })
}

async fn identity_where(
    conn: &mut sqlx::AnyConnection,
    condition: &str,
    key: &str,
    now: i64,
) -> Result<Option<ProxyIdentity>> {
    let Some(row) = sqlx::query_as::<_, IdentityRow>(&format!(
        "SELECT ps.id, ps.user_id, u.username, u.display_name, u.email, ps.tenant_id, \
         t.slug, ps.application_id, a.name AS application {VALID_SESSION} AND {condition}"
    ))
    .bind(now)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let groups = sqlx::query(
        "SELECT g.name FROM user_groups g JOIN group_members m ON m.group_id = g.id \
         WHERE m.user_id = $1 ORDER BY g.name",
    )
    .bind(&row.user_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get("name"))
    .collect::<std::result::Result<Vec<String>, _>>()?;
    Ok(Some(ProxyIdentity {
        session_id: row.id,
        user_id: row.user_id,
        username: row.username,
        display_name: row.display_name,
        email: row.email,
        tenant_id: row.tenant_id,
        tenant: row.slug,
        application_id: row.application_id,
        application: row.application,
        groups,
    }))
}
