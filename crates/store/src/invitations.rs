//! Invitations.
//!
//! An invitation is a one-time link to an employee's first login: the
//! employee chooses a password there and goes on in the portal (second
//! factor, device). Its token is stored as a SHA-256 hash for lookup; for
//! mail delivery a sealed copy (`sealing`) waits in the row until the mail
//! has gone out (or finally failed) and is then erased, so a database dump
//! yields no usable link. A link is single use, expires, and is revoked
//! when a newer invitation of the same user replaces it.
//!
//! How far employees have come is in [`crate::onboarding`].

use std::collections::{BTreeSet, HashMap};

use api_types::Language;
use api_types::invitations::{
    Invitation, InvitationDelivery, InvitationLetter, InvitationState, InvitationsCreated, Invite,
    SkipReason, SkippedUser,
};
use serde_json::json;
use sqlx::{FromRow, Row};

use crate::audit::{self, Change};
use crate::authz::{AuditSource, TenantAccess};
use crate::convert::timestamp;
use crate::validate;
use crate::{Result, Store, StoreError, Violation, WriteTx, credentials, new_id, now_ms};

pub const DEFAULT_VALID_DAYS: u32 = 7;
pub const MAX_VALID_DAYS: u32 = 30;
/// A user gets at most one invitation mail in this time (resending in a
/// loop would flood their mailbox).
pub const RESEND_AFTER_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// A claimed mail is not claimed again for this long (its sender may be
/// slow, or gone).
const CLAIM_MS: i64 = 120_000;
/// Prefix of invitation tokens (so a leaked one is recognisable).
const TOKEN_PREFIX: &str = "hgi";

#[derive(FromRow)]
struct InvitationRow {
    id: String,
    user_id: String,
    username: String,
    display_name: String,
    delivery: String,
    reminder: i64,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
    delivered_at: Option<i64>,
    failed_at: Option<i64>,
    last_error: Option<String>,
}

const INVITATION_SELECT: &str = "SELECT i.id, i.user_id, u.username, u.display_name, i.delivery, \
     i.reminder, i.created_at, i.expires_at, i.used_at, i.revoked_at, i.delivered_at, \
     i.failed_at, i.last_error FROM invitations i JOIN users u ON u.id = i.user_id";

impl InvitationRow {
    fn into_api(self, now: i64) -> Invitation {
        let delivery = if self.delivery == "letter" {
            InvitationDelivery::Letter
        } else {
            InvitationDelivery::Email
        };
        let state = if self.used_at.is_some() {
            InvitationState::Used
        } else if self.revoked_at.is_some() {
            InvitationState::Revoked
        } else if self.expires_at <= now {
            InvitationState::Expired
        } else if delivery == InvitationDelivery::Letter {
            InvitationState::Letter
        } else if self.failed_at.is_some() {
            InvitationState::Failed
        } else if self.delivered_at.is_some() {
            InvitationState::Sent
        } else {
            InvitationState::Queued
        };
        Invitation {
            id: self.id,
            user_id: self.user_id,
            username: self.username,
            display_name: self.display_name,
            delivery,
            state,
            reminder: self.reminder != 0,
            created_at: timestamp(self.created_at),
            expires_at: timestamp(self.expires_at),
            error: self.last_error,
        }
    }
}

/// An invitation mail to send, with its link's token in clear.
#[derive(Debug, Clone)]
pub struct InvitationMail {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub username: String,
    pub language: Language,
    pub tenant_name: String,
    pub token: String,
    pub expires_at: i64,
    pub reminder: bool,
    /// 1 for the first attempt.
    pub attempt: i64,
}

/// What an invitation link leads to.
#[derive(Debug, Clone)]
pub struct InvitationView {
    pub username: String,
    pub display_name: String,
    pub tenant_slug: String,
    pub tenant_name: String,
    pub language: Language,
    pub expires_at: i64,
    /// `Queued`/`Sent`/`Letter`/`Failed` mean the link still works.
    pub state: InvitationState,
}

impl InvitationView {
    pub fn usable(&self) -> bool {
        matches!(
            self.state,
            InvitationState::Queued
                | InvitationState::Sent
                | InvitationState::Letter
                | InvitationState::Failed
        )
    }
}

/// What [`Store::issue_invitation`] writes.
pub(crate) struct NewInvitation<'a> {
    /// Id and slug.
    pub(crate) tenant: (&'a str, &'a str),
    pub(crate) user_id: &'a str,
    pub(crate) username: &'a str,
    pub(crate) delivery: InvitationDelivery,
    pub(crate) reminder: bool,
    pub(crate) valid_ms: i64,
}

/// Who is asked for: resolved users, in the order asked, each once.
struct Candidate {
    id: String,
    username: String,
    email: String,
    disabled: bool,
    activated: bool,
    last_invited_at: Option<i64>,
}

impl Store {
    /// Invites users of a municipality (see [`Invite`]). Everything is
    /// written in one transaction: all invitations or none. With `Email`
    /// delivery the mails are queued (sent by the control plane's
    /// background loop); with `Letter` each link is returned once.
    /// `link_base` is what a token is appended to (`https://…/invite/`).
    pub async fn invite(
        &self,
        access: &TenantAccess,
        request: Invite,
        mail_available: bool,
        link_base: &str,
    ) -> Result<InvitationsCreated> {
        let valid_days = request.valid_days.unwrap_or(DEFAULT_VALID_DAYS);
        if !(1..=MAX_VALID_DAYS).contains(&valid_days) {
            return Err(Violation::new(
                "valid_days",
                format!("must be between 1 and {MAX_VALID_DAYS}"),
            )
            .into());
        }
        let delivery = request.delivery.unwrap_or(if mail_available {
            InvitationDelivery::Email
        } else {
            InvitationDelivery::Letter
        });
        if delivery == InvitationDelivery::Email && !mail_available {
            return Err(Violation::new(
                "delivery",
                "this control plane has no SMTP server (serve --smtp-url): invite by letter",
            )
            .into());
        }
        if request.users.is_empty() && request.group.is_none() && !request.outstanding {
            return Err(Violation::new(
                "users",
                "name users, a group, or ask for everyone outstanding",
            )
            .into());
        }
        let now = now_ms();
        let expires = now + i64::from(valid_days) * DAY_MS;
        let mut tx = self.write().await?;
        let candidates = candidates(tx.conn(), access, &request).await?;
        let mut created_ids = Vec::new();
        let mut letters = Vec::new();
        let mut skipped = Vec::new();
        for candidate in candidates {
            let reason = if candidate.disabled {
                Some(SkipReason::Disabled)
            } else if candidate.activated {
                Some(SkipReason::Activated)
            } else if delivery == InvitationDelivery::Email && candidate.email.is_empty() {
                Some(SkipReason::NoEmail)
            } else if delivery == InvitationDelivery::Email
                && candidate
                    .last_invited_at
                    .is_some_and(|at| now - at < RESEND_AFTER_MS)
            {
                Some(SkipReason::TooSoon)
            } else {
                None
            };
            if let Some(reason) = reason {
                skipped.push(SkippedUser {
                    username: candidate.username,
                    reason,
                });
                continue;
            }
            let (id, token) = self
                .issue_invitation(
                    &mut tx,
                    access.audit(),
                    NewInvitation {
                        tenant: (access.tenant_id(), access.tenant_slug()),
                        user_id: &candidate.id,
                        username: &candidate.username,
                        delivery,
                        reminder: request.reminder,
                        valid_ms: expires - now,
                    },
                    now,
                )
                .await?;
            if delivery == InvitationDelivery::Letter {
                letters.push((id.clone(), format!("{link_base}{token}")));
            }
            created_ids.push(id);
        }
        tx.commit().await?;
        let invitations = self.invitations_by_id(&created_ids, now).await?;
        let letters = letters
            .into_iter()
            .filter_map(|(id, link)| {
                invitations
                    .iter()
                    .find(|invitation| invitation.id == id)
                    .map(|invitation| InvitationLetter {
                        username: invitation.username.clone(),
                        display_name: invitation.display_name.clone(),
                        link,
                        expires_at: invitation.expires_at,
                    })
            })
            .collect();
        Ok(InvitationsCreated {
            invitations,
            letters,
            skipped,
        })
    }

    /// Writes one invitation, replacing the user's open ones; returns its
    /// id and token.
    pub(crate) async fn issue_invitation(
        &self,
        tx: &mut WriteTx<'_>,
        source: &AuditSource,
        new: NewInvitation<'_>,
        now: i64,
    ) -> Result<(String, String)> {
        sqlx::query(
            "UPDATE invitations SET revoked_at = $1, token_sealed = NULL \
             WHERE user_id = $2 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(new.user_id)
        .execute(tx.conn())
        .await?;
        let token = credentials::new_secret(TOKEN_PREFIX);
        let id = new_id();
        let (sealed, next_attempt, delivery) = match new.delivery {
            InvitationDelivery::Email => (Some(self.seal(&token)?), Some(now), "email"),
            InvitationDelivery::Letter => (None, None, "letter"),
        };
        sqlx::query(
            "INSERT INTO invitations (id, tenant_id, user_id, token_hash, token_sealed, \
             delivery, reminder, created_at, expires_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(new.tenant.0)
        .bind(new.user_id)
        .bind(credentials::hash_secret(&token))
        .bind(sealed)
        .bind(delivery)
        .bind(i64::from(new.reminder))
        .bind(now)
        .bind(now + new.valid_ms)
        .bind(next_attempt)
        .execute(tx.conn())
        .await?;
        audit::record(
            tx,
            source,
            Change {
                action: if new.reminder {
                    "user.invitation.remind"
                } else {
                    "user.invitation.create"
                },
                target_type: "user",
                target_id: new.user_id,
                target_name: new.username,
                tenant: Some(new.tenant),
                details: json!({
                    "delivery": delivery,
                    "valid_days": new.valid_ms / DAY_MS,
                }),
            },
        )
        .await?;
        Ok((id, token))
    }

    /// Automatic reminders, in municipalities that ask for them: an
    /// employee who has not logged in and whose newest invitation is a mail
    /// (not itself a reminder) older than the municipality's days, neither
    /// used nor withdrawn, gets one reminder with a new link. Returns how
    /// many were queued. Safe to run on several replicas at once.
    pub async fn queue_invitation_reminders(&self, now: i64) -> Result<u64> {
        let due = sqlx::query(
            "SELECT i.id, i.user_id, i.tenant_id, i.expires_at - i.created_at AS valid_ms, \
             u.username, t.slug FROM invitations i JOIN users u ON u.id = i.user_id \
             JOIN tenants t ON t.id = i.tenant_id \
             WHERE t.invitation_reminder_days IS NOT NULL AND i.delivery = 'email' \
             AND i.reminder = 0 AND i.used_at IS NULL AND i.revoked_at IS NULL \
             AND u.activated_at IS NULL AND u.disabled = 0 AND u.email <> '' \
             AND i.created_at <= $1 - t.invitation_reminder_days * 86400000 \
             AND NOT EXISTS (SELECT 1 FROM invitations j WHERE j.user_id = i.user_id \
             AND j.created_at > i.created_at) LIMIT 500",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        let source = AuditSource::system("invitation reminders");
        let mut queued = 0;
        for row in due {
            let id: String = row.try_get("id")?;
            let user_id: String = row.try_get("user_id")?;
            let tenant_id: String = row.try_get("tenant_id")?;
            let slug: String = row.try_get("slug")?;
            let username: String = row.try_get("username")?;
            let mut tx = self.write().await?;
            // Another replica may have reminded meanwhile.
            let still_open = sqlx::query(
                "UPDATE invitations SET revoked_at = $1, token_sealed = NULL \
                 WHERE id = $2 AND revoked_at IS NULL AND used_at IS NULL",
            )
            .bind(now)
            .bind(&id)
            .execute(tx.conn())
            .await?
            .rows_affected()
                == 1;
            if !still_open {
                continue;
            }
            self.issue_invitation(
                &mut tx,
                &source,
                NewInvitation {
                    tenant: (&tenant_id, &slug),
                    user_id: &user_id,
                    username: &username,
                    delivery: InvitationDelivery::Email,
                    reminder: true,
                    valid_ms: row.try_get("valid_ms")?,
                },
                now,
            )
            .await?;
            tx.commit().await?;
            queued += 1;
        }
        Ok(queued)
    }

    async fn invitations_by_id(&self, ids: &[String], now: i64) -> Result<Vec<Invitation>> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "{INVITATION_SELECT} WHERE i.id IN ({}) ORDER BY u.username",
                placeholders.join(", ")
            );
            let mut query = sqlx::query_as::<_, InvitationRow>(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            found.extend(
                query
                    .fetch_all(self.pool())
                    .await?
                    .into_iter()
                    .map(|row| row.into_api(now)),
            );
        }
        Ok(found)
    }

    /// Withdraws a user's open invitations (a letter went to the wrong
    /// address); returns how many.
    pub async fn revoke_invitations(&self, access: &TenantAccess, user: &str) -> Result<u64> {
        let existing = self.get_tenant_user(access, user).await?;
        let mut tx = self.write().await?;
        let revoked = sqlx::query(
            "UPDATE invitations SET revoked_at = $1, token_sealed = NULL \
             WHERE user_id = $2 AND tenant_id = $3 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(&existing.id)
        .bind(access.tenant_id())
        .execute(tx.conn())
        .await?
        .rows_affected();
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "user.invitation.revoke",
                target_type: "user",
                target_id: &existing.id,
                target_name: &existing.username,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({ "revoked": revoked }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// A user's invitations, newest first.
    pub async fn user_invitations(
        &self,
        access: &TenantAccess,
        user: &str,
    ) -> Result<Vec<Invitation>> {
        let existing = self.get_tenant_user(access, user).await?;
        let rows = sqlx::query_as::<_, InvitationRow>(&format!(
            "{INVITATION_SELECT} WHERE i.user_id = $1 AND i.tenant_id = $2 \
             ORDER BY i.created_at DESC"
        ))
        .bind(&existing.id)
        .bind(access.tenant_id())
        .fetch_all(self.pool())
        .await?;
        let now = now_ms();
        Ok(rows.into_iter().map(|row| row.into_api(now)).collect())
    }

    /// Claims invitation mails that are due (several control planes may
    /// send; each mail goes to one).
    pub async fn claim_invitation_mails(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<InvitationMail>> {
        let due = sqlx::query(
            "SELECT i.id, i.attempts, i.next_attempt_at, i.token_sealed, i.reminder, \
             i.expires_at, u.email, u.display_name, u.username, \
             COALESCE(u.language, t.default_language) AS language, t.name AS tenant_name \
             FROM invitations i JOIN users u ON u.id = i.user_id \
             JOIN tenants t ON t.id = i.tenant_id \
             WHERE i.next_attempt_at <= $1 AND i.delivered_at IS NULL AND i.failed_at IS NULL \
             AND i.revoked_at IS NULL AND i.used_at IS NULL AND i.token_sealed IS NOT NULL \
             ORDER BY i.next_attempt_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut claimed = Vec::with_capacity(due.len());
        for row in due {
            let id: String = row.try_get("id")?;
            let next_attempt_at: i64 = row.try_get("next_attempt_at")?;
            let won = sqlx::query(
                "UPDATE invitations SET attempts = attempts + 1, next_attempt_at = $3 \
                 WHERE id = $1 AND next_attempt_at = $2 AND delivered_at IS NULL",
            )
            .bind(&id)
            .bind(next_attempt_at)
            .bind(now + CLAIM_MS)
            .execute(self.pool())
            .await?
            .rows_affected()
                == 1;
            if !won {
                continue;
            }
            let sealed: String = row.try_get("token_sealed")?;
            let language: String = row.try_get("language")?;
            claimed.push(InvitationMail {
                id,
                email: row.try_get("email")?,
                display_name: row.try_get("display_name")?,
                username: row.try_get("username")?,
                language: Language::parse(&language).unwrap_or(Language::De),
                tenant_name: row.try_get("tenant_name")?,
                token: self.unseal(&sealed)?,
                expires_at: row.try_get("expires_at")?,
                reminder: row.try_get::<i64, _>("reminder")? != 0,
                attempt: row.try_get::<i64, _>("attempts")? + 1,
            });
        }
        Ok(claimed)
    }

    /// The SMTP server took the mail: the sealed token goes.
    pub async fn invitation_mail_sent(&self, id: &str, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE invitations SET delivered_at = $2, token_sealed = NULL, \
             next_attempt_at = NULL, last_error = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The attempt failed: try again later, or give up (the coordinator
    /// sees the error and can resend or print a letter).
    pub async fn invitation_mail_failed(
        &self,
        mail: &InvitationMail,
        error: &str,
        now: i64,
    ) -> Result<()> {
        let error: String = error.chars().take(500).collect();
        match crate::status::retry_delay(mail.attempt) {
            Some(delay) => {
                sqlx::query(
                    "UPDATE invitations SET next_attempt_at = $2, last_error = $3 WHERE id = $1",
                )
                .bind(&mail.id)
                .bind(now + delay)
                .bind(&error)
                .execute(self.pool())
                .await?;
            }
            None => {
                sqlx::query(
                    "UPDATE invitations SET failed_at = $2, last_error = $3, \
                     token_sealed = NULL, next_attempt_at = NULL WHERE id = $1",
                )
                .bind(&mail.id)
                .bind(now)
                .bind(&error)
                .execute(self.pool())
                .await?;
            }
        }
        Ok(())
    }

    /// What a link leads to, whether it still works or not; `None` for a
    /// token that was never issued.
    pub async fn invitation_by_token(&self, token: &str) -> Result<Option<InvitationView>> {
        let row = sqlx::query(
            "SELECT i.id, i.user_id, u.username, u.display_name, i.delivery, i.reminder, \
             i.created_at, i.expires_at, i.used_at, i.revoked_at, i.delivered_at, i.failed_at, \
             i.last_error, u.disabled, t.slug, t.name AS tenant_name, \
             COALESCE(u.language, t.default_language) AS language \
             FROM invitations i JOIN users u ON u.id = i.user_id \
             JOIN tenants t ON t.id = i.tenant_id WHERE i.token_hash = $1",
        )
        .bind(credentials::hash_secret(token.trim()))
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let disabled = row.try_get::<i64, _>("disabled")? != 0;
        let language: String = row.try_get("language")?;
        let invitation = InvitationRow::from_row(&row)?;
        let expires_at = invitation.expires_at;
        let mut state = invitation.into_api(now_ms()).state;
        if disabled && state != InvitationState::Used {
            state = InvitationState::Revoked;
        }
        Ok(Some(InvitationView {
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            tenant_slug: row.try_get("slug")?,
            tenant_name: row.try_get("tenant_name")?,
            language: Language::parse(&language).unwrap_or(Language::De),
            expires_at,
            state,
        }))
    }

    /// The employee followed the link and chose a password: the link is
    /// burnt, the account is active. Returns the user's id (the caller
    /// logs them in). An unusable link is `NotFound` (the caller shows why
    /// with [`Store::invitation_by_token`]).
    pub async fn accept_invitation(&self, token: &str, password: &str) -> Result<String> {
        validate::password("password", password)?;
        let token_hash = credentials::hash_secret(token.trim());
        let usable = "i.used_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2";
        // Looked up before hashing: a wrong link costs no password hash.
        let found = sqlx::query(&format!(
            "SELECT i.id, i.user_id, i.tenant_id, u.username, t.slug FROM invitations i \
             JOIN users u ON u.id = i.user_id JOIN tenants t ON t.id = i.tenant_id \
             WHERE i.token_hash = $1 AND {usable} AND u.disabled = 0"
        ))
        .bind(&token_hash)
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::not_found("invitation", "link"))?;
        let id: String = found.try_get("id")?;
        let user_id: String = found.try_get("user_id")?;
        let tenant_id: String = found.try_get("tenant_id")?;
        let username: String = found.try_get("username")?;
        let slug: String = found.try_get("slug")?;
        let hash = credentials::hash_password_blocking(password.to_owned()).await?;
        let now = now_ms();
        let mut tx = self.write().await?;
        // Burnt here, once: a second request with the same link finds it used.
        let burnt = sqlx::query(&format!(
            "UPDATE invitations SET used_at = $2, token_sealed = NULL \
             WHERE token_hash = $1 AND {}",
            usable.replace("i.", "")
        ))
        .bind(&token_hash)
        .bind(now)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if burnt != 1 {
            return Err(StoreError::not_found("invitation", "link"));
        }
        sqlx::query(
            "UPDATE invitations SET revoked_at = $1, token_sealed = NULL \
             WHERE user_id = $2 AND id <> $3 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(&user_id)
        .bind(&id)
        .execute(tx.conn())
        .await?;
        sqlx::query(
            "UPDATE users SET password_hash = $1, must_change_password = 0, updated_at = $2, \
             activated_at = COALESCE(activated_at, $2) WHERE id = $3",
        )
        .bind(&hash)
        .bind(now)
        .bind(&user_id)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            &AuditSource {
                actor_id: Some(user_id.clone()),
                actor_name: username.clone(),
                source: Some("invitation".to_owned()),
            },
            Change {
                action: "user.invitation.accept",
                target_type: "user",
                target_id: &user_id,
                target_name: &username,
                tenant: Some((&tenant_id, &slug)),
                details: json!({ "invitation": id }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(user_id)
    }

    /// Each user's newest invitation in a municipality.
    pub(crate) async fn latest_invitations(
        &self,
        tenant_id: &str,
    ) -> Result<HashMap<String, Invitation>> {
        let rows = sqlx::query_as::<_, InvitationRow>(&format!(
            "{INVITATION_SELECT} WHERE i.tenant_id = $1 ORDER BY i.created_at"
        ))
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        let now = now_ms();
        Ok(rows
            .into_iter()
            .map(|row| (row.user_id.clone(), row.into_api(now)))
            .collect())
    }
}

/// The users an [`Invite`] names, each once, in the order asked.
async fn candidates(
    conn: &mut sqlx::AnyConnection,
    access: &TenantAccess,
    request: &Invite,
) -> Result<Vec<Candidate>> {
    const SELECT: &str = "SELECT u.id, u.username, u.email, u.disabled, u.activated_at, \
         (SELECT MAX(i.created_at) FROM invitations i WHERE i.user_id = u.id \
          AND i.delivery = 'email') AS last_invited_at FROM users u";
    let mut rows = Vec::new();
    for user in &request.users {
        let row = sqlx::query(&format!(
            "{SELECT} WHERE u.tenant_id = $1 AND (u.id = $2 OR u.username = $3)"
        ))
        .bind(access.tenant_id())
        .bind(user)
        .bind(user.trim().to_lowercase())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::not_found("user", user))?;
        rows.push(row);
    }
    if let Some(group) = &request.group {
        let group_id = crate::groups::find_group_id(&mut *conn, access, group).await?;
        rows.extend(
            sqlx::query(&format!(
                "{SELECT} JOIN group_members m ON m.user_id = u.id \
                 WHERE m.group_id = $1 ORDER BY u.username"
            ))
            .bind(group_id)
            .fetch_all(&mut *conn)
            .await?,
        );
    }
    if request.outstanding {
        rows.extend(
            sqlx::query(&format!(
                "{SELECT} WHERE u.tenant_id = $1 AND u.activated_at IS NULL \
                 AND u.disabled = 0 ORDER BY u.username"
            ))
            .bind(access.tenant_id())
            .fetch_all(&mut *conn)
            .await?,
        );
    }
    let mut seen = BTreeSet::new();
    let mut candidates = Vec::new();
    for row in rows {
        let id: String = row.try_get("id")?;
        if !seen.insert(id.clone()) {
            continue;
        }
        candidates.push(Candidate {
            id,
            username: row.try_get("username")?,
            email: row.try_get("email")?,
            disabled: row.try_get::<i64, _>("disabled")? != 0,
            activated: row.try_get::<Option<i64>, _>("activated_at")?.is_some(),
            last_invited_at: row.try_get("last_invited_at")?,
        });
    }
    Ok(candidates)
}
