//! Users: provider staff and the tenants' admins and employees; login.

use api_types::tenancy::{CreateUser, PasswordReset, ResetPassword, UpdateUser, User, UserCreated};
use api_types::{Language, Role};
use serde_json::json;
use sqlx::{AnyConnection, FromRow};

use crate::audit::{self, Change};
use crate::authz::{Actor, AuditSource, ProviderAccess, TenantAccess};
use crate::convert::timestamp;
use crate::credentials;
use crate::paging::{self, Page, PageRequest};
use crate::validate;
use crate::{Result, Store, StoreError, Violation, WriteTx, new_id, now_ms};

const USER_SELECT: &str = "SELECT u.id, t.slug AS tenant_slug, u.username, u.display_name, \
     u.email, u.role, u.disabled, u.language, u.created_at \
     FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id";

/// Lifetime of a token made by a password login.
pub const LOGIN_TOKEN_HOURS: i64 = 12;

#[derive(FromRow)]
pub(crate) struct UserRow {
    id: String,
    tenant_slug: Option<String>,
    username: String,
    display_name: String,
    email: String,
    role: String,
    disabled: i64,
    language: Option<String>,
    created_at: i64,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> User {
        User {
            id: row.id,
            tenant: row.tenant_slug,
            username: row.username,
            display_name: row.display_name,
            email: row.email,
            role: Role::parse(&row.role).unwrap_or(Role::Employee),
            disabled: row.disabled != 0,
            language: row.language.as_deref().and_then(Language::parse),
            created_at: timestamp(row.created_at),
        }
    }
}

/// A validated new user.
struct NewUser {
    username: String,
    display_name: String,
    email: String,
    role: Role,
    password: Option<String>,
    language: Option<Language>,
}

fn validate_new_user(request: CreateUser) -> Result<NewUser> {
    let password_check = match &request.password {
        Some(password) => validate::password("password", password),
        None => Ok(()),
    };
    let display_name_check = match request.display_name.as_deref() {
        Some(name) if !name.trim().is_empty() => {
            validate::name("display_name", name, 200).map(Some)
        }
        _ => Ok(None),
    };
    let (username, email, (), display_name) = validate::all((
        validate::username("username", &request.username),
        validate::email("email", request.email.as_deref()),
        password_check,
        display_name_check,
    ))?;
    let display_name = display_name.unwrap_or_else(|| username.clone());
    Ok(NewUser {
        username,
        display_name,
        email,
        role: request.role,
        password: request.password,
        language: request.language,
    })
}

/// A new user with the hash of their password, made before the write
/// transaction begins.
struct HashedUser {
    user: NewUser,
    hash: String,
    /// The password generated for a user created without one.
    generated: Option<String>,
}

impl NewUser {
    async fn hash(mut self) -> Result<HashedUser> {
        let (password, generated) = match self.password.take() {
            Some(password) => (password, None),
            None => {
                let password = credentials::new_password();
                (password.clone(), Some(password))
            }
        };
        let hash = credentials::hash_password_blocking(password).await?;
        Ok(HashedUser {
            user: self,
            hash,
            generated,
        })
    }
}

/// Whether the tenant (or, for `None`, the provider staff) already has a
/// user of this name. Names are unique only there: other municipalities'
/// names are none of a tenant admin's business.
pub(crate) async fn username_taken(
    tx: &mut WriteTx<'_>,
    tenant_id: Option<&str>,
    username: &str,
) -> Result<bool> {
    let taken = sqlx::query(
        "SELECT id FROM users WHERE COALESCE(tenant_id, '') = COALESCE($1, '') AND username = $2",
    )
    .bind(tenant_id)
    .bind(username)
    .fetch_optional(tx.conn())
    .await?;
    Ok(taken.is_some())
}

async fn insert_user(
    tx: &mut WriteTx<'_>,
    who: &AuditSource,
    tenant: Option<(&str, &str)>,
    hashed: HashedUser,
) -> Result<(String, Option<String>)> {
    let HashedUser {
        user,
        hash,
        generated,
    } = hashed;
    if username_taken(tx, tenant.map(|(id, _)| id), &user.username).await? {
        return Err(StoreError::taken(
            "username",
            &user.username,
            format!("the username '{}' is taken", user.username),
        ));
    }
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO users (id, tenant_id, username, display_name, email, role, password_hash, \
         must_change_password, disabled, language, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $10)",
    )
    .bind(&id)
    .bind(tenant.map(|(id, _)| id))
    .bind(&user.username)
    .bind(&user.display_name)
    .bind(&user.email)
    .bind(user.role.as_str())
    .bind(&hash)
    .bind(i64::from(generated.is_some()))
    .bind(user.language.map(Language::code))
    .bind(now)
    .execute(tx.conn())
    .await?;
    audit::record(
        tx,
        who,
        Change {
            action: "user.create",
            target_type: "user",
            target_id: &id,
            target_name: &user.username,
            tenant,
            details: json!({
                "role": user.role.as_str(),
                "display_name": user.display_name,
                "email": user.email,
            }),
        },
    )
    .await?;
    Ok((id, generated))
}

impl Store {
    pub async fn user_by_id(&self, id: &str) -> Result<User> {
        sqlx::query_as::<_, UserRow>(&format!("{USER_SELECT} WHERE u.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(User::from)
            .ok_or_else(|| StoreError::not_found("user", id))
    }

    /// Resolves a user of the tenant by id or username.
    pub async fn get_tenant_user(&self, access: &TenantAccess, user: &str) -> Result<User> {
        sqlx::query_as::<_, UserRow>(&format!(
            "{USER_SELECT} WHERE u.tenant_id = $1 AND (u.id = $2 OR u.username = $3)"
        ))
        .bind(access.tenant_id())
        .bind(user)
        .bind(user.trim().to_lowercase())
        .fetch_optional(self.pool())
        .await?
        .map(User::from)
        .ok_or_else(|| StoreError::not_found("user", user))
    }

    pub async fn list_tenant_users(&self, access: &TenantAccess) -> Result<Vec<User>> {
        let rows = sqlx::query_as::<_, UserRow>(&format!(
            "{USER_SELECT} WHERE u.tenant_id = $1 ORDER BY u.username"
        ))
        .bind(access.tenant_id())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    /// One page of the tenant's users by username, optionally only those
    /// whose username, display name or email contains the search text.
    pub async fn page_tenant_users(
        &self,
        access: &TenantAccess,
        request: &PageRequest,
    ) -> Result<Page<User>> {
        let scope = format!("users/{}", access.tenant_id());
        let after = request.after(&scope, 1)?;
        let mut sql = format!("{USER_SELECT} WHERE u.tenant_id = $1");
        let mut binds: Vec<String> = vec![access.tenant_id().to_owned()];
        if let Some(key) = after.as_ref().and_then(|key| key.first()) {
            binds.push(key.clone());
            sql.push_str(&format!(" AND u.username > ${}", binds.len()));
        }
        if let Some(pattern) = request.like_pattern() {
            binds.push(pattern);
            let n = binds.len();
            sql.push_str(&format!(
                " AND (u.username LIKE ${n} ESCAPE '\\' OR LOWER(u.display_name) LIKE ${n} \
                 ESCAPE '\\' OR LOWER(u.email) LIKE ${n} ESCAPE '\\')"
            ));
        }
        sql.push_str(&format!(
            " ORDER BY u.username LIMIT {}",
            u64::from(request.limit) + 1
        ));
        let mut query = sqlx::query_as::<_, UserRow>(&sql);
        for bind in binds {
            query = query.bind(bind);
        }
        let rows = query.fetch_all(self.pool()).await?;
        let users: Vec<User> = rows.into_iter().map(User::from).collect();
        Ok(Page::from_rows(users, request.limit, |user| {
            paging::cursor(&scope, &[user.username.as_str()])
        }))
    }

    pub async fn create_tenant_user(
        &self,
        access: &TenantAccess,
        request: CreateUser,
    ) -> Result<UserCreated> {
        if !access.may_grant(request.role) {
            return Err(match request.role {
                Role::ProviderAdmin | Role::ProviderOperator => StoreError::invalid(
                    "role",
                    "provider roles belong to provider staff; create them without a tenant",
                ),
                Role::TenantAdmin | Role::Employee => StoreError::Forbidden(format!(
                    "your role may not create users with role {}",
                    request.role.as_str()
                )),
            });
        }
        let user = validate_new_user(request)?.hash().await?;
        let mut tx = self.write().await?;
        let (id, initial_password) = insert_user(
            &mut tx,
            access.audit(),
            Some((access.tenant_id(), access.tenant_slug())),
            user,
        )
        .await?;
        tx.commit().await?;
        Ok(UserCreated {
            user: self.user_by_id(&id).await?,
            initial_password,
        })
    }

    pub async fn list_provider_users(&self, _access: &ProviderAccess) -> Result<Vec<User>> {
        let rows = sqlx::query_as::<_, UserRow>(&format!(
            "{USER_SELECT} WHERE u.tenant_id IS NULL ORDER BY u.username"
        ))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    /// Creates provider staff. Needs a provider admin's [`ProviderAccess`].
    pub async fn create_provider_user(
        &self,
        access: &ProviderAccess,
        request: CreateUser,
    ) -> Result<UserCreated> {
        if access.role() != Role::ProviderAdmin {
            return Err(StoreError::Forbidden(
                "only provider admins may create provider staff".to_owned(),
            ));
        }
        if !request.role.is_provider_role() {
            return Err(StoreError::invalid(
                "role",
                "tenant roles need a tenant: create the user under /tenants/{tenant}/users",
            ));
        }
        let user = validate_new_user(request)?.hash().await?;
        let mut tx = self.write().await?;
        let (id, initial_password) = insert_user(&mut tx, access.audit(), None, user).await?;
        tx.commit().await?;
        Ok(UserCreated {
            user: self.user_by_id(&id).await?,
            initial_password,
        })
    }

    pub async fn update_tenant_user(
        &self,
        access: &TenantAccess,
        user: &str,
        request: UpdateUser,
    ) -> Result<User> {
        let existing = self.get_tenant_user(access, user).await?;
        if let Some(role) = request.role
            && !access.may_grant(role)
        {
            return Err(Violation::coded(
                "role",
                "role-not-grantable",
                &[("role", role.as_str())],
                format!("role {} cannot be given to a tenant user", role.as_str()),
            )
            .into());
        }
        // Every problem at once, so a form can show them all.
        let (display_name, email) = validate::all((
            request
                .display_name
                .as_deref()
                .map(|name| validate::name("display_name", name, 200))
                .transpose(),
            request
                .email
                .as_deref()
                .map(|email| validate::email("email", Some(email)))
                .transpose(),
        ))?;
        let mut tx = self.write().await?;
        let now = now_ms();
        let id = &existing.id;
        if let Some(display_name) = &display_name {
            sqlx::query("UPDATE users SET display_name = $1, updated_at = $2 WHERE id = $3")
                .bind(display_name)
                .bind(now)
                .bind(id)
                .execute(tx.conn())
                .await?;
        }
        if let Some(email) = &email {
            sqlx::query("UPDATE users SET email = $1, updated_at = $2 WHERE id = $3")
                .bind(email)
                .bind(now)
                .bind(id)
                .execute(tx.conn())
                .await?;
        }
        if let Some(role) = request.role {
            sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
                .bind(role.as_str())
                .bind(now)
                .bind(id)
                .execute(tx.conn())
                .await?;
        }
        if let Some(disabled) = request.disabled {
            sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
                .bind(i64::from(disabled))
                .bind(now)
                .bind(id)
                .execute(tx.conn())
                .await?;
            if disabled {
                revoke_user_tokens(tx.conn(), id, now).await?;
            }
        }
        if let Some(language) = request.language {
            sqlx::query("UPDATE users SET language = $1, updated_at = $2 WHERE id = $3")
                .bind(language.map(Language::code))
                .bind(now)
                .bind(id)
                .execute(tx.conn())
                .await?;
        }
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "user.update",
                target_type: "user",
                target_id: id,
                target_name: &existing.username,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: serde_json::to_value(&request).unwrap_or_default(),
            },
        )
        .await?;
        tx.commit().await?;
        self.user_by_id(id).await
    }

    /// An administrator resets a user's password (the user forgot it): a
    /// new one-time password, returned once, to be replaced at the next
    /// login. With `second_factor`, the user's authenticator app, security
    /// keys and recovery codes go too (a lost phone). The user's logins
    /// end; API tokens made on purpose stay.
    pub async fn reset_user_password(
        &self,
        access: &TenantAccess,
        user: &str,
        request: ResetPassword,
    ) -> Result<PasswordReset> {
        let existing = self.get_tenant_user(access, user).await?;
        let password = credentials::new_password();
        let hash = credentials::hash_password_blocking(password.clone()).await?;
        let now = now_ms();
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE users SET password_hash = $1, must_change_password = 1, updated_at = $2 \
             WHERE id = $3 AND tenant_id = $4",
        )
        .bind(&hash)
        .bind(now)
        .bind(&existing.id)
        .bind(access.tenant_id())
        .execute(tx.conn())
        .await?;
        let logins_ended = end_logins(tx.conn(), &existing.id, None, now).await?;
        if request.second_factor {
            sqlx::query(
                "UPDATE users SET totp_secret = NULL, totp_enabled = 0, totp_last_step = NULL \
                 WHERE id = $1",
            )
            .bind(&existing.id)
            .execute(tx.conn())
            .await?;
            for table in ["webauthn_credentials", "recovery_codes"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                    .bind(&existing.id)
                    .execute(tx.conn())
                    .await?;
            }
        }
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "user.password.reset",
                target_type: "user",
                target_id: &existing.id,
                target_name: &existing.username,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({
                    "second_factor": request.second_factor,
                    "logins_ended": logins_ended,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(PasswordReset {
            user: self.user_by_id(&existing.id).await?,
            one_time_password: password,
            logins_ended,
        })
    }

    pub async fn delete_tenant_user(&self, access: &TenantAccess, user: &str) -> Result<()> {
        let existing = self.get_tenant_user(access, user).await?;
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM users WHERE id = $1 AND tenant_id = $2")
            .bind(&existing.id)
            .bind(access.tenant_id())
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "user.delete",
                target_type: "user",
                target_id: &existing.id,
                target_name: &existing.username,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await
    }

    /// The actor's own choice of language (`None`: the tenant's default).
    pub async fn set_my_language(&self, actor: &Actor, language: Option<Language>) -> Result<()> {
        sqlx::query("UPDATE users SET language = $1, updated_at = $2 WHERE id = $3")
            .bind(language.map(Language::code))
            .bind(now_ms())
            .bind(&actor.user_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn me(&self, actor: &Actor) -> Result<User> {
        self.user_by_id(&actor.user_id).await
    }

    /// Creates the first provider admin if there are no users at all.
    /// Returns the username and the generated password, which the caller
    /// shows once; only its hash is stored.
    pub async fn bootstrap_admin(&self) -> Result<Option<(String, String)>> {
        let count = "SELECT COUNT(*) FROM users";
        // Checked again in the transaction; this spares the hash on every
        // start but the first.
        let users: i64 = sqlx::query_scalar(count).fetch_one(self.pool()).await?;
        if users > 0 {
            return Ok(None);
        }
        let user = NewUser {
            username: "admin".to_owned(),
            display_name: "Administrator".to_owned(),
            email: String::new(),
            role: Role::ProviderAdmin,
            password: None,
            language: None,
        }
        .hash()
        .await?;
        let mut tx = self.write().await?;
        tx.lock_global("bootstrap").await?;
        let users: i64 = sqlx::query_scalar(count).fetch_one(tx.conn()).await?;
        if users > 0 {
            return Ok(None);
        }
        let (_, password) =
            insert_user(&mut tx, &AuditSource::system("bootstrap"), None, user).await?;
        tx.commit().await?;
        Ok(password.map(|password| ("admin".to_owned(), password)))
    }

    pub async fn change_password(&self, actor: &Actor, current: &str, new: &str) -> Result<()> {
        let hash: Option<String> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(&actor.user_id)
                .fetch_optional(self.pool())
                .await?
                .flatten();
        if !credentials::verify_password_blocking(current.to_owned(), hash.unwrap_or_default())
            .await
        {
            return Err(StoreError::invalid(
                "current_password",
                "the current password is wrong",
            ));
        }
        validate::password("new_password", new)?;
        if current == new {
            return Err(
                Violation::new("new_password", "must differ from the current password").into(),
            );
        }
        let hash = credentials::hash_password_blocking(new.to_owned()).await?;
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE users SET password_hash = $1, must_change_password = 0, updated_at = $2 \
             WHERE id = $3",
        )
        .bind(&hash)
        .bind(now_ms())
        .bind(&actor.user_id)
        .execute(tx.conn())
        .await?;
        // Whoever else is logged in with the old password is logged out;
        // this login stays.
        let ended = end_logins(
            tx.conn(),
            &actor.user_id,
            actor.token_id.as_deref(),
            now_ms(),
        )
        .await?;
        audit::record(
            &mut tx,
            &actor.audit_source(),
            Change {
                action: "user.password.change",
                target_type: "user",
                target_id: &actor.user_id,
                target_name: &actor.username,
                tenant: None,
                details: json!({ "other_logins_ended": ended }),
            },
        )
        .await?;
        tx.commit().await
    }
}

/// Ends a user's logins (browser sessions and login tokens, and with them
/// proxy sessions) but `keep`; API tokens made on purpose stay. Returns
/// how many ended.
async fn end_logins(
    conn: &mut AnyConnection,
    user_id: &str,
    keep: Option<&str>,
    now: i64,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND login = 1 \
         AND revoked_at IS NULL AND id <> $3",
    )
    .bind(now)
    .bind(user_id)
    .bind(keep.unwrap_or(""))
    .execute(conn)
    .await?
    .rows_affected())
}

async fn revoke_user_tokens(conn: &mut AnyConnection, user_id: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}
