//! Second factors (TOTP, WebAuthn credentials, recovery codes), the
//! short-lived challenges between login steps, and issuing login tokens.

use api_types::auth::{LoginResponse, MfaStatus, WebauthnCredential};
use rand::Rng;
use serde_json::json;
use sqlx::Row;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::audit::{self, Change};
use crate::authz::{Actor, AuditSource};
use crate::convert::{opt_timestamp, timestamp};
use crate::credentials;
use crate::{Result, Store, StoreError, new_id, now_ms};

pub const CHALLENGE_TTL_MS: i64 = 5 * 60_000;
pub const RECOVERY_CODES: usize = 10;
/// Browser sessions last a working day.
pub const CONSOLE_SESSION_HOURS: i64 = 10;

/// What kind of credential a login produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A bearer token (CLI, scripts).
    Api,
    /// A browser session in a cookie (console, portal).
    Console,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Console => "console",
        }
    }
}

/// A user whose password was right.
#[derive(Debug, Clone)]
pub struct PasswordOk {
    pub user_id: String,
    pub username: String,
    pub totp: bool,
    pub webauthn: bool,
}

impl PasswordOk {
    pub fn methods(&self) -> Vec<String> {
        let mut methods = Vec::new();
        if self.totp {
            methods.push("totp".to_owned());
        }
        if self.webauthn {
            methods.push("webauthn".to_owned());
        }
        if !methods.is_empty() {
            methods.push("recovery".to_owned());
        }
        methods
    }
}

/// The standard authenticator-app profile: SHA-1, 6 digits, 30 s, one step of skew.
fn totp(secret: &str, account: &str) -> Result<Totp> {
    let secret = Secret::try_from_base32(secret)
        .map_err(|_| StoreError::Conflict("the stored TOTP secret is damaged".to_owned()))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_issuer(Some("homegate"))
        .with_account_name(account.replace(':', "_"))
        .build()
        .map_err(|e| StoreError::Conflict(format!("cannot use the TOTP secret: {e}")))
}

/// How many accounts sharing one login name a password is tried against;
/// beyond that the login needs `name@municipality`. Each try costs an
/// argon2 hash, so this bounds what one anonymous request can cost.
const MAX_NAMESAKES: i64 = 4;

fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let mut part = || -> String {
        (0..5)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect()
    };
    format!("{}-{}", part(), part())
}

fn normalize_recovery(code: &str) -> String {
    code.trim().to_lowercase().replace(' ', "")
}

impl Store {
    /// Checks a password (first login step). A login name is a username
    /// or `username@municipality` (the tenant's slug): usernames are unique
    /// only within a municipality. When several accounts answer to the name,
    /// the password picks the one; if it fits more than one, the login is
    /// refused as ambiguous. Disabled users and wrong passwords get the same
    /// kind of error.
    pub async fn check_password(&self, login: &str, password: &str) -> Result<PasswordOk> {
        let login = login.trim().to_lowercase();
        let (name, slug) = login.rsplit_once('@').unwrap_or(("", ""));
        let rows = sqlx::query(
            "SELECT u.id, u.username, u.password_hash, u.disabled, u.totp_enabled, \
             (SELECT COUNT(*) FROM webauthn_credentials w WHERE w.user_id = u.id) AS keys \
             FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id \
             WHERE u.username = $1 OR (u.username = $2 AND t.slug = $3) \
             ORDER BY u.id LIMIT $4",
        )
        .bind(&login)
        .bind(name)
        .bind(slug)
        .bind(MAX_NAMESAKES + 1)
        .fetch_all(self.pool())
        .await?;
        let refused = || StoreError::Unauthenticated("wrong username or password".to_owned());
        if rows.is_empty() {
            credentials::verify_password_blocking(
                password.to_owned(),
                credentials::dummy_hash().to_owned(),
            )
            .await;
            return Err(refused());
        }
        if rows.len() > MAX_NAMESAKES as usize {
            return Err(StoreError::AmbiguousLogin);
        }
        let mut fitting = Vec::new();
        for row in rows {
            let hash: Option<String> = row.try_get("password_hash")?;
            let hash = hash.unwrap_or_else(|| credentials::dummy_hash().to_owned());
            if credentials::verify_password_blocking(password.to_owned(), hash).await {
                fitting.push(row);
            }
        }
        let row = match fitting.len() {
            0 => return Err(refused()),
            1 => fitting.remove(0),
            _ => return Err(StoreError::AmbiguousLogin),
        };
        let disabled: i64 = row.try_get("disabled")?;
        if disabled != 0 {
            return Err(StoreError::Unauthenticated(
                "this account is disabled; ask your administrator".to_owned(),
            ));
        }
        let totp_enabled: i64 = row.try_get("totp_enabled")?;
        let keys: i64 = row.try_get("keys")?;
        Ok(PasswordOk {
            user_id: row.try_get("id")?,
            username: row.try_get("username")?,
            totp: totp_enabled != 0,
            webauthn: keys > 0,
        })
    }

    /// Issues a login token (bearer or console session) for a user who
    /// passed every step. `mfa` records that a second factor was used.
    pub async fn issue_login(
        &self,
        user_id: &str,
        token_name: Option<&str>,
        kind: TokenKind,
        mfa: bool,
        source: Option<String>,
    ) -> Result<LoginResponse> {
        let row = sqlx::query(
            "SELECT u.username, u.must_change_password, u.tenant_id, t.slug FROM users u \
             LEFT JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1",
        )
        .bind(user_id)
        .fetch_one(self.pool())
        .await?;
        let username: String = row.try_get("username")?;
        let must_change: i64 = row.try_get("must_change_password")?;
        let tenant_id: Option<String> = row.try_get("tenant_id")?;
        let tenant_slug: Option<String> = row.try_get("slug")?;
        let secret = credentials::new_secret(match kind {
            TokenKind::Api => "hgt",
            TokenKind::Console => "hgs",
        });
        let now = now_ms();
        let hours = match kind {
            TokenKind::Api => crate::users::LOGIN_TOKEN_HOURS,
            TokenKind::Console => CONSOLE_SESSION_HOURS,
        };
        let expires = now + hours * 3_600_000;
        let name = crate::validate::name("token_name", token_name.unwrap_or("login"), 100)?;
        let who = AuditSource {
            actor_id: Some(user_id.to_owned()),
            actor_name: username.clone(),
            source,
        };
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, tenant_scope_id, created_at, \
             expires_at, kind, mfa_at, login) VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8, 1)",
        )
        .bind(new_id())
        .bind(user_id)
        .bind(&name)
        .bind(credentials::hash_secret(&secret))
        .bind(now)
        .bind(expires)
        .bind(kind.as_str())
        .bind(mfa.then_some(now))
        .execute(tx.conn())
        .await?;
        // The first login is the onboarding step "activated".
        sqlx::query("UPDATE users SET activated_at = $1 WHERE id = $2 AND activated_at IS NULL")
            .bind(now)
            .bind(user_id)
            .execute(tx.conn())
            .await?;
        if mfa {
            sqlx::query("UPDATE users SET last_mfa_at = $1 WHERE id = $2")
                .bind(now)
                .bind(user_id)
                .execute(tx.conn())
                .await?;
        }
        audit::record(
            &mut tx,
            &who,
            Change {
                action: "user.login",
                target_type: "user",
                target_id: user_id,
                target_name: &username,
                tenant: tenant_id.as_deref().zip(tenant_slug.as_deref()),
                details: json!({ "token_name": name, "kind": kind.as_str(), "mfa": mfa }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(LoginResponse {
            token: Some(secret),
            expires_at: Some(timestamp(expires)),
            user: self.user_by_id(user_id).await?,
            password_change_required: must_change != 0,
            mfa: None,
        })
    }

    /// Stores the state of a multi-step login; returns its ticket.
    pub async fn create_challenge(
        &self,
        kind: &str,
        user_id: Option<&str>,
        tenant_id: Option<&str>,
        state: &serde_json::Value,
    ) -> Result<String> {
        let ticket = credentials::new_secret("hgc");
        let now = now_ms();
        sqlx::query("DELETE FROM login_challenges WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        sqlx::query(
            "INSERT INTO login_challenges (id, kind, user_id, tenant_id, state, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(credentials::hash_secret(&ticket))
        .bind(kind)
        .bind(user_id)
        .bind(tenant_id)
        .bind(state.to_string())
        .bind(now + CHALLENGE_TTL_MS)
        .execute(self.pool())
        .await?;
        Ok(ticket)
    }

    /// Reads a challenge without using it up (a mistyped code may be retried).
    pub async fn peek_challenge(
        &self,
        ticket: &str,
        kind: &str,
    ) -> Result<(Option<String>, Option<String>, serde_json::Value)> {
        let row = sqlx::query(
            "SELECT user_id, tenant_id, state FROM login_challenges WHERE id = $1 AND kind = $2              AND expires_at > $3",
        )
        .bind(credentials::hash_secret(ticket))
        .bind(kind)
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| {
            StoreError::Unauthenticated(
                "this login step expired or was already used; start again".to_owned(),
            )
        })?;
        let state: String = row.try_get("state")?;
        Ok((
            row.try_get("user_id")?,
            row.try_get("tenant_id")?,
            serde_json::from_str(&state).unwrap_or_default(),
        ))
    }

    /// Takes (and deletes) a challenge: `(user id, tenant id, state)`.
    pub async fn take_challenge(
        &self,
        ticket: &str,
        kind: &str,
    ) -> Result<(Option<String>, Option<String>, serde_json::Value)> {
        let row = sqlx::query(
            "DELETE FROM login_challenges WHERE id = $1 AND kind = $2 AND expires_at > $3 \
             RETURNING user_id, tenant_id, state",
        )
        .bind(credentials::hash_secret(ticket))
        .bind(kind)
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| {
            StoreError::Unauthenticated(
                "this login step expired or was already used; start again".to_owned(),
            )
        })?;
        let state: String = row.try_get("state")?;
        Ok((
            row.try_get("user_id")?,
            row.try_get("tenant_id")?,
            serde_json::from_str(&state).unwrap_or_default(),
        ))
    }

    /// Starts TOTP setup: a new secret, not yet in force. An account with
    /// TOTP on must prove it with a current `code` (a fresh second factor),
    /// so a stolen session cannot replace the authenticator app; the start
    /// is audited either way.
    pub async fn start_totp(&self, actor: &Actor, code: Option<&str>) -> Result<(String, String)> {
        let replaces = self.require_fresh_totp(actor, code).await?;
        let secret = Secret::generate().to_base32();
        let url = totp(&secret, &actor.username)?
            .to_url()
            .map_err(|e| StoreError::Conflict(format!("cannot make the TOTP URL: {e}")))?;
        let sealed = self.seal(&secret)?;
        let mut tx = self.write().await?;
        sqlx::query("UPDATE users SET totp_secret = $1, totp_enabled = 0 WHERE id = $2")
            .bind(&sealed)
            .bind(&actor.user_id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            &actor.audit_source(),
            Change {
                action: "user.mfa.totp.start",
                target_type: "user",
                target_id: &actor.user_id,
                target_name: &actor.username,
                tenant: None,
                details: json!({ "replaces_enabled": replaces }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok((secret, url))
    }

    /// With TOTP on, `code` must be its current code (used up by this
    /// check). Returns whether TOTP was on.
    async fn require_fresh_totp(&self, actor: &Actor, code: Option<&str>) -> Result<bool> {
        let (enabled, _) = self.second_factors(&actor.user_id).await?;
        if !enabled {
            return Ok(false);
        }
        let code = code.map(str::trim).filter(|code| !code.is_empty());
        let Some(code) = code else {
            return Err(StoreError::invalid(
                "code",
                "your authenticator app is on: give its current code to change your second factors",
            ));
        };
        if !self.verify_totp(&actor.user_id, code, true).await? {
            return Err(StoreError::invalid(
                "code",
                "this is not the current code of your authenticator app",
            ));
        }
        Ok(true)
    }

    /// Whether `code` is the user's current TOTP code. Each code works once.
    pub async fn verify_totp(
        &self,
        user_id: &str,
        code: &str,
        require_enabled: bool,
    ) -> Result<bool> {
        let row = sqlx::query(
            "SELECT username, totp_secret, totp_enabled, totp_last_step FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_one(self.pool())
        .await?;
        let last_step: Option<i64> = row.try_get("totp_last_step")?;
        let secret: Option<String> = row.try_get("totp_secret")?;
        let enabled: i64 = row.try_get("totp_enabled")?;
        let username: String = row.try_get("username")?;
        let Some(secret) = secret else {
            return Ok(false);
        };
        let secret = self.unseal(&secret)?;
        if require_enabled && enabled == 0 {
            return Ok(false);
        }
        let code: String = code.chars().filter(char::is_ascii_digit).collect();
        let Some(step) = totp(&secret, &username)?.check_current(&code) else {
            return Ok(false);
        };
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        if last_step.is_some_and(|last| step <= last) {
            return Ok(false);
        }
        let claimed = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2              AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(user_id)
        .execute(self.pool())
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// The authenticator-app setup the user started and has not confirmed
    /// yet: `(secret, otpauth URL)`, so that a mistyped code keeps the
    /// secret already saved in the app.
    pub async fn pending_totp(&self, actor: &Actor) -> Result<Option<(String, String)>> {
        let row = sqlx::query("SELECT totp_secret, totp_enabled FROM users WHERE id = $1")
            .bind(&actor.user_id)
            .fetch_one(self.pool())
            .await?;
        let enabled: i64 = row.try_get("totp_enabled")?;
        let sealed: Option<String> = row.try_get("totp_secret")?;
        let Some(sealed) = sealed.filter(|_| enabled == 0) else {
            return Ok(None);
        };
        let secret = self.unseal(&sealed)?;
        let url = totp(&secret, &actor.username)?
            .to_url()
            .map_err(|e| StoreError::Conflict(format!("cannot make the TOTP URL: {e}")))?;
        Ok(Some((secret, url)))
    }

    /// Confirms TOTP setup with a code from the app; returns fresh recovery codes.
    pub async fn confirm_totp(&self, actor: &Actor, code: &str) -> Result<Vec<String>> {
        if !self.verify_totp(&actor.user_id, code, false).await? {
            return Err(StoreError::invalid(
                "code",
                "this is not the current code of your authenticator app",
            ));
        }
        let mut tx = self.write().await?;
        sqlx::query("UPDATE users SET totp_enabled = 1 WHERE id = $1")
            .bind(&actor.user_id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            &actor.audit_source(),
            Change {
                action: "user.mfa.totp.enable",
                target_type: "user",
                target_id: &actor.user_id,
                target_name: &actor.username,
                tenant: None,
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        self.replace_recovery_codes(actor).await
    }

    pub async fn disable_totp(&self, actor: &Actor, code: &str) -> Result<()> {
        if !self.verify_totp(&actor.user_id, code, true).await? {
            return Err(StoreError::invalid(
                "code",
                "give a current code from your authenticator app to turn it off",
            ));
        }
        let mut tx = self.write().await?;
        sqlx::query("UPDATE users SET totp_enabled = 0, totp_secret = NULL WHERE id = $1")
            .bind(&actor.user_id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            &actor.audit_source(),
            Change {
                action: "user.mfa.totp.disable",
                target_type: "user",
                target_id: &actor.user_id,
                target_name: &actor.username,
                tenant: None,
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await
    }

    /// New recovery codes; with TOTP on only with its current `code`.
    pub async fn regenerate_recovery_codes(
        &self,
        actor: &Actor,
        code: Option<&str>,
    ) -> Result<Vec<String>> {
        self.require_fresh_totp(actor, code).await?;
        self.replace_recovery_codes(actor).await
    }

    async fn replace_recovery_codes(&self, actor: &Actor) -> Result<Vec<String>> {
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(&actor.user_id)
            .execute(tx.conn())
            .await?;
        for code in &codes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(&actor.user_id)
                .bind(credentials::hash_secret(&normalize_recovery(code)))
                .execute(tx.conn())
                .await?;
        }
        audit::record(
            &mut tx,
            &actor.audit_source(),
            Change {
                action: "user.mfa.recovery_codes",
                target_type: "user",
                target_id: &actor.user_id,
                target_name: &actor.username,
                tenant: None,
                details: json!({ "count": RECOVERY_CODES }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Uses up a recovery code; returns whether it was valid.
    pub async fn use_recovery_code(&self, user_id: &str, code: &str) -> Result<bool> {
        let result = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 \
             AND used_at IS NULL",
        )
        .bind(now_ms())
        .bind(user_id)
        .bind(credentials::hash_secret(&normalize_recovery(code)))
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// `(TOTP enabled, has WebAuthn credentials)` of a user.
    pub async fn second_factors(&self, user_id: &str) -> Result<(bool, bool)> {
        let row = sqlx::query(
            "SELECT totp_enabled, (SELECT COUNT(*) FROM webauthn_credentials w \
             WHERE w.user_id = users.id) AS keys FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok((false, false));
        };
        let totp: i64 = row.try_get("totp_enabled")?;
        let keys: i64 = row.try_get("keys")?;
        Ok((totp != 0, keys > 0))
    }

    pub async fn mfa_status(&self, actor: &Actor) -> Result<MfaStatus> {
        let row = sqlx::query(
            "SELECT totp_enabled, last_mfa_at, \
             (SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = users.id AND r.used_at IS NULL) AS codes \
             FROM users WHERE id = $1",
        )
        .bind(&actor.user_id)
        .fetch_one(self.pool())
        .await?;
        let totp_enabled: i64 = row.try_get("totp_enabled")?;
        let codes: i64 = row.try_get("codes")?;
        let last_mfa_at: Option<i64> = row.try_get("last_mfa_at")?;
        Ok(MfaStatus {
            totp_enabled: totp_enabled != 0,
            webauthn: self.list_webauthn(&actor.user_id).await?,
            recovery_codes_left: u32::try_from(codes).unwrap_or(0),
            last_mfa_at: opt_timestamp(last_mfa_at),
        })
    }

    pub async fn list_webauthn(&self, user_id: &str) -> Result<Vec<WebauthnCredential>> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, last_used_at FROM webauthn_credentials WHERE user_id = $1 \
             ORDER BY created_at",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(WebauthnCredential {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    created_at: timestamp(row.try_get("created_at")?),
                    last_used_at: opt_timestamp(row.try_get("last_used_at")?),
                })
            })
            .collect()
    }

    /// The stored passkeys of a user as `(id, JSON)`.
    pub async fn webauthn_passkeys(&self, user_id: &str) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, credential FROM webauthn_credentials WHERE user_id = $1 ORDER BY created_at",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows)
    }

    pub async fn add_webauthn(&self, actor: &Actor, name: &str, credential: &str) -> Result<()> {
        let name = crate::validate::name("name", name, 100)?;
        let id = new_id();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO webauthn_credentials (id, user_id, name, credential, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(&actor.user_id)
        .bind(&name)
        .bind(credential)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            &actor.audit_source(),
            Change {
                action: "user.mfa.webauthn.add",
                target_type: "user",
                target_id: &actor.user_id,
                target_name: &actor.username,
                tenant: None,
                details: json!({ "name": name }),
            },
        )
        .await?;
        tx.commit().await
    }

    /// Stores a passkey's updated counter after a login.
    pub async fn update_webauthn(&self, id: &str, credential: &str) -> Result<()> {
        sqlx::query(
            "UPDATE webauthn_credentials SET credential = $1, last_used_at = $2 WHERE id = $3",
        )
        .bind(credential)
        .bind(now_ms())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn delete_webauthn(&self, actor: &Actor, id: &str) -> Result<()> {
        let mut tx = self.write().await?;
        let deleted =
            sqlx::query("DELETE FROM webauthn_credentials WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(&actor.user_id)
                .execute(tx.conn())
                .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::not_found("security key", id));
        }
        audit::record(
            &mut tx,
            &actor.audit_source(),
            Change {
                action: "user.mfa.webauthn.remove",
                target_type: "user",
                target_id: &actor.user_id,
                target_name: &actor.username,
                tenant: None,
                details: json!({ "id": id }),
            },
        )
        .await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn recovery_codes_are_typeable() {
        let code = super::new_recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(
            super::normalize_recovery(&format!(" {} ", code.to_uppercase())),
            code
        );
    }
}
