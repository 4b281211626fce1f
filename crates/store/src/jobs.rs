//! Jobs: long work that runs outside the request that started it (bulk
//! imports; invitations will be one more kind), recorded in `jobs` so its
//! state, progress and error survive a closed browser or a restart.
//!
//! **All or nothing.** A job prepares everything it can outside the
//! database (checks every input line, hashes passwords in parallel on the
//! blocking pool), then writes in one transaction that also marks the job
//! done. A job is done exactly when its work is committed; a failed or
//! interrupted one wrote nothing.
//!
//! **Secrets in results.** One-time passwords are stored only encrypted
//! (ChaCha20-Poly1305, the job id as associated data) with a random key the
//! server does not keep: it goes to whoever started the job (API answer,
//! console cookie). Fetching with the key decrypts and deletes the
//! ciphertext in one conditional update, so it is handed out once;
//! ciphertexts not fetched within [`RESULT_RETENTION_MS`] are deleted. A
//! database dump (or another tenant admin) never yields the passwords.
//!
//! **Interrupted jobs.** The runner updates the record at least every
//! [`HEARTBEAT_MS`] while it hashes; a running job not updated for
//! [`STALE_MS`] belongs to a process that stopped (restart, crash) and is
//! reported — and recorded — as failed with code `interrupted`. Its
//! transaction never committed, so nothing of it exists.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use api_types::Role;
use api_types::jobs::{
    Job, JobError, JobPhase, JobResult, JobStarted, JobState, OneTimePassword, ResultState,
};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::Rng;
use serde_json::json;
use sqlx::FromRow;

use crate::audit::{self, Change};
use crate::authz::TenantAccess;
use crate::convert::timestamp;
use crate::credentials;
use crate::import::{self, ImportProblem, ImportProblems, ImportRow};
use crate::{Result, Store, StoreError, new_id, now_ms};

/// How often a hashing job writes its progress (also its heartbeat).
pub const HEARTBEAT_MS: i64 = 500;
/// A running job not updated for this long was interrupted.
pub const STALE_MS: i64 = 120_000;
/// An unfetched secret result is deleted after this long.
pub const RESULT_RETENTION_MS: i64 = 24 * 3600 * 1000;

pub const KIND_USER_IMPORT: &str = "user-import";

#[derive(FromRow)]
struct JobRow {
    id: String,
    tenant_slug: Option<String>,
    kind: String,
    state: String,
    phase: String,
    done: i64,
    total: i64,
    error_code: Option<String>,
    error_detail: Option<String>,
    result_state: String,
    created_at: i64,
    updated_at: i64,
    finished_at: Option<i64>,
}

const JOB_SELECT: &str = "SELECT j.id, t.slug AS tenant_slug, j.kind, j.state, j.phase, j.done, \
     j.total, j.error_code, j.error_detail, j.result_state, j.created_at, j.updated_at, \
     j.finished_at FROM jobs j LEFT JOIN tenants t ON t.id = j.tenant_id";

impl JobRow {
    fn into_job(self, now: i64) -> Job {
        let stale = self.state == "running" && now - self.updated_at > STALE_MS;
        let expired = self.result_state == "available"
            && self
                .finished_at
                .is_some_and(|at| now - at > RESULT_RETENTION_MS);
        let state = match (self.state.as_str(), stale) {
            (_, true) | ("failed", _) => JobState::Failed,
            ("done", _) => JobState::Done,
            _ => JobState::Running,
        };
        let error = if stale {
            Some(interrupted())
        } else {
            self.error_code.map(|code| JobError {
                code,
                detail: self.error_detail.unwrap_or_default(),
            })
        };
        Job {
            id: self.id,
            kind: self.kind,
            tenant: self.tenant_slug,
            state,
            phase: match self.phase.as_str() {
                "hashing" => JobPhase::Hashing,
                "writing" => JobPhase::Writing,
                _ => JobPhase::Finished,
            },
            done: u64::try_from(self.done).unwrap_or(0),
            total: u64::try_from(self.total).unwrap_or(0),
            error,
            result_state: match (self.result_state.as_str(), expired) {
                (_, true) | ("expired", _) => ResultState::Expired,
                ("available", _) => ResultState::Available,
                ("fetched", _) => ResultState::Fetched,
                _ => ResultState::None,
            },
            result: None,
            created_at: timestamp(self.created_at),
            finished_at: self.finished_at.map(timestamp),
        }
    }
}

fn interrupted() -> JobError {
    JobError {
        code: "interrupted".into(),
        detail: "the control plane stopped while the job ran; nothing of it was written".into(),
    }
}

/// A checked import, ready to run as a job.
pub struct PreparedImport {
    access: TenantAccess,
    job: String,
    key: [u8; 32],
    rows: Vec<ImportRow>,
    /// Invite those with an e-mail address instead of giving them a
    /// one-time password.
    invite: bool,
}

fn encrypt(key: &[u8; 32], job: &str, plain: &[u8]) -> Result<String> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let mut nonce = [0u8; 12];
    rand::rng().fill(&mut nonce);
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: job.as_bytes(),
            },
        )
        .map_err(|_| StoreError::Config("cannot encrypt a job result".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

fn decrypt(key: &str, job: &str, stored: &str) -> Option<Vec<u8>> {
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key.trim())
        .ok()?;
    if key.len() != 32 {
        return None;
    }
    let data = base64::engine::general_purpose::STANDARD
        .decode(stored)
        .ok()?;
    if data.len() < 12 {
        return None;
    }
    let (nonce, sealed) = data.split_at(12);
    ChaCha20Poly1305::new(Key::from_slice(&key))
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: job.as_bytes(),
            },
        )
        .ok()
}

impl Store {
    /// Checks an employee CSV for the tenant: every line with its problem
    /// (or none). The file as a whole can be unreadable.
    pub async fn check_user_import(
        &self,
        access: &TenantAccess,
        csv: &str,
    ) -> Result<std::result::Result<Vec<ImportRow>, ImportProblem>> {
        let groups: BTreeSet<String> = self
            .list_groups(access)
            .await?
            .into_iter()
            .map(|g| g.name)
            .collect();
        let mut rows = match import::check(csv, &BTreeSet::new(), &groups) {
            Ok(rows) => rows,
            Err(problem) => return Ok(Err(problem)),
        };
        // Usernames are unique within the tenant: look up the file's names.
        let names: Vec<&str> = rows.iter().map(|r| r.username.as_str()).collect();
        let mut existing = BTreeSet::new();
        for chunk in names.chunks(500) {
            let placeholders: Vec<String> =
                (2..=chunk.len() + 1).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT username FROM users WHERE tenant_id = $1 AND username IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query_scalar::<_, String>(&sql).bind(access.tenant_id());
            for name in chunk {
                query = query.bind(*name);
            }
            existing.extend(query.fetch_all(self.pool()).await?);
        }
        import::mark_existing(&mut rows, &existing);
        Ok(Ok(rows))
    }

    /// Checks every line of an import and records its job; nothing is
    /// written when a line has a problem (`StoreError::Import` lists them
    /// all). Run the returned import with [`Store::run_user_import`].
    pub async fn start_user_import(
        &self,
        access: &TenantAccess,
        csv: &str,
        invite: bool,
        mail_available: bool,
    ) -> Result<(JobStarted, PreparedImport)> {
        if invite && !mail_available {
            return Err(StoreError::invalid(
                "invite",
                "this control plane has no SMTP server (serve --smtp-url): import, then \
                 invite by letter",
            ));
        }
        if !access.may_grant(Role::TenantAdmin) {
            return Err(StoreError::Forbidden(
                "your role may not create users".into(),
            ));
        }
        let rows = match self.check_user_import(access, csv).await? {
            Ok(rows) => rows,
            Err(problem) => {
                return Err(StoreError::Import(ImportProblems {
                    lines: vec![(0, problem)],
                }));
            }
        };
        if let Some(problems) = import::problems(&rows) {
            return Err(StoreError::Import(problems));
        }
        if rows.iter().any(|r| !access.may_grant(r.role())) {
            return Err(StoreError::Forbidden(
                "your role may not create tenant admins".into(),
            ));
        }
        let now = now_ms();
        // Results nobody fetched in time are deleted.
        sqlx::query(
            "UPDATE jobs SET secret_result = NULL, result_state = 'expired' \
             WHERE secret_result IS NOT NULL AND finished_at < $1",
        )
        .bind(now - RESULT_RETENTION_MS)
        .execute(self.pool())
        .await?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO jobs (id, tenant_id, kind, state, phase, done, total, created_by, \
             created_at, updated_at) VALUES ($1, $2, $3, 'running', 'hashing', 0, $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(access.tenant_id())
        .bind(KIND_USER_IMPORT)
        .bind(i64::try_from(rows.len()).unwrap_or(i64::MAX))
        .bind(&access.audit().actor_name)
        .bind(now)
        .execute(self.pool())
        .await?;
        let mut key = [0u8; 32];
        rand::rng().fill(&mut key);
        let job = self.get_job(access, &id).await?;
        Ok((
            JobStarted {
                job,
                result_key: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key),
            },
            PreparedImport {
                access: access.clone(),
                job: id,
                key,
                rows,
                invite,
            },
        ))
    }

    /// Runs a prepared import to its end: hashes on all cores, then writes
    /// every user, membership and audit event and marks the job done in
    /// one transaction; on failure records the error and writes nothing.
    pub async fn run_user_import(&self, import: PreparedImport) {
        let job = import.job.clone();
        if let Err(error) = self.run_import(import).await {
            let (code, detail) = match &error {
                StoreError::Conflict(message) => ("conflict", message.clone()),
                StoreError::NotFound { .. } | StoreError::Taken(_) => {
                    ("conflict", error.to_string())
                }
                _ => ("internal", error.to_string()),
            };
            tracing::warn!(job, code, %error, "import failed; nothing was written");
            let failed = sqlx::query(
                "UPDATE jobs SET state = 'failed', phase = 'finished', error_code = $1, \
                 error_detail = $2, updated_at = $3, finished_at = $3 WHERE id = $4",
            )
            .bind(code)
            .bind(detail)
            .bind(now_ms())
            .bind(&job)
            .execute(self.pool())
            .await;
            if let Err(error) = failed {
                tracing::error!(job, %error, "cannot record a failed job");
            }
        }
    }

    async fn run_import(&self, import: PreparedImport) -> Result<()> {
        let PreparedImport {
            access,
            job,
            key,
            rows,
            invite,
        } = import;
        // Invited employees choose their own password: nothing to hash.
        let invited = |row: &ImportRow| invite && !row.email.trim().is_empty();
        let passwords: Arc<Vec<String>> = Arc::new(
            rows.iter()
                .filter(|row| !invited(row))
                .map(|_| credentials::new_password())
                .collect(),
        );
        let mut hashes = self
            .hash_all(&job, Arc::clone(&passwords))
            .await?
            .into_iter()
            .zip(passwords.iter().cloned());
        self.job_progress(&job, "writing", 0).await?;
        let mut invitations = 0;

        let mut tx = self.write().await?;
        let tenant = Some((access.tenant_id(), access.tenant_slug()));
        let mut group_ids: BTreeMap<String, String> = BTreeMap::new();
        let mut secrets = Vec::with_capacity(rows.len());
        for row in &rows {
            let credential = if invited(row) { None } else { hashes.next() };
            if crate::users::username_taken(&mut tx, Some(access.tenant_id()), &row.username)
                .await?
            {
                return Err(StoreError::Conflict(format!(
                    "line {}: the username '{}' was taken meanwhile",
                    row.line, row.username
                )));
            }
            let id = new_id();
            let now = now_ms();
            let display_name = if row.display_name.trim().is_empty() {
                row.username.clone()
            } else {
                row.display_name.trim().to_owned()
            };
            sqlx::query(
                "INSERT INTO users (id, tenant_id, username, display_name, email, role, \
                 password_hash, must_change_password, disabled, language, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $10, 0, $8, $9, $9)",
            )
            .bind(&id)
            .bind(access.tenant_id())
            .bind(&row.username)
            .bind(&display_name)
            .bind(row.email.trim())
            .bind(row.role().as_str())
            .bind(credential.as_ref().map(|(hash, _)| hash))
            .bind(row.language().map(api_types::Language::code))
            .bind(now)
            .bind(i64::from(credential.is_some()))
            .execute(tx.conn())
            .await?;
            audit::record(
                &mut tx,
                access.audit(),
                Change {
                    action: "user.create",
                    target_type: "user",
                    target_id: &id,
                    target_name: &row.username,
                    tenant,
                    details: json!({
                        "role": row.role().as_str(),
                        "display_name": display_name,
                        "email": row.email.trim(),
                        "groups": row.groups,
                        "job": job,
                    }),
                },
            )
            .await?;
            for group in &row.groups {
                let group_id = match group_ids.get(group) {
                    Some(id) => id.clone(),
                    None => {
                        let found = crate::groups::find_group_id(tx.conn(), &access, group).await?;
                        group_ids.insert(group.clone(), found.clone());
                        found
                    }
                };
                sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
                    .bind(&group_id)
                    .bind(&id)
                    .execute(tx.conn())
                    .await?;
            }
            match credential {
                Some((_, password)) => secrets.push(OneTimePassword {
                    username: row.username.clone(),
                    password,
                }),
                None => {
                    self.issue_invitation(
                        &mut tx,
                        access.audit(),
                        crate::invitations::NewInvitation {
                            tenant: (access.tenant_id(), access.tenant_slug()),
                            user_id: &id,
                            username: &row.username,
                            delivery: api_types::invitations::InvitationDelivery::Email,
                            reminder: false,
                            valid_ms: i64::from(crate::invitations::DEFAULT_VALID_DAYS)
                                * 86_400_000,
                        },
                        now,
                    )
                    .await?;
                    invitations += 1;
                }
            }
        }
        let count = secrets.len() + invitations;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "user.import",
                target_type: "job",
                target_id: &job,
                target_name: KIND_USER_IMPORT,
                tenant,
                details: json!({ "users": count, "invited": invitations }),
            },
        )
        .await?;
        let plain = serde_json::to_vec(&JobResult { passwords: secrets })
            .map_err(|e| StoreError::Config(e.to_string()))?;
        let sealed = encrypt(&key, &job, &plain)?;
        let now = now_ms();
        sqlx::query(
            "UPDATE jobs SET state = 'done', phase = 'finished', done = $1, secret_result = $2, \
             result_state = 'available', summary = $3, updated_at = $4, finished_at = $4 \
             WHERE id = $5",
        )
        .bind(i64::try_from(count).unwrap_or(i64::MAX))
        .bind(sealed)
        .bind(json!({ "users": count, "invited": invitations }).to_string())
        .bind(now)
        .bind(&job)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Hashes every password with argon2id on the blocking pool, one worker
    /// per core, writing progress every [`HEARTBEAT_MS`].
    async fn hash_all(&self, job: &str, passwords: Arc<Vec<String>>) -> Result<Vec<String>> {
        let workers = std::thread::available_parallelism()
            .map_or(2, std::num::NonZeroUsize::get)
            .min(passwords.len().max(1));
        let next = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..workers {
            let (passwords, next, done) =
                (Arc::clone(&passwords), Arc::clone(&next), Arc::clone(&done));
            tasks.spawn_blocking(move || -> Result<Vec<(usize, String)>> {
                let mut out = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(password) = passwords.get(index) else {
                        return Ok(out);
                    };
                    out.push((index, credentials::hash_password(password)?));
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let mut hashes: Vec<Option<String>> = vec![None; passwords.len()];
        let mut tick = tokio::time::interval(Duration::from_millis(
            u64::try_from(HEARTBEAT_MS).unwrap_or(500),
        ));
        loop {
            tokio::select! {
                finished = tasks.join_next() => match finished {
                    None => break,
                    Some(Ok(Ok(part))) => {
                        for (index, hash) in part {
                            hashes[index] = Some(hash);
                        }
                    }
                    Some(Ok(Err(error))) => return Err(error),
                    Some(Err(_)) => return Err(StoreError::PasswordHash),
                },
                _ = tick.tick() => {
                    self.job_progress(job, "hashing", done.load(Ordering::Relaxed)).await?;
                }
            }
        }
        hashes
            .into_iter()
            .map(|h| h.ok_or(StoreError::PasswordHash))
            .collect()
    }

    async fn job_progress(&self, job: &str, phase: &str, done: usize) -> Result<()> {
        sqlx::query("UPDATE jobs SET phase = $1, done = $2, updated_at = $3 WHERE id = $4")
            .bind(phase)
            .bind(i64::try_from(done).unwrap_or(i64::MAX))
            .bind(now_ms())
            .bind(job)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A job of the tenant, as it stands (a stale running job is recorded
    /// as interrupted).
    pub async fn get_job(&self, access: &TenantAccess, job: &str) -> Result<Job> {
        let row = sqlx::query_as::<_, JobRow>(&format!(
            "{JOB_SELECT} WHERE j.id = $1 AND j.tenant_id = $2"
        ))
        .bind(job)
        .bind(access.tenant_id())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::not_found("job", job))?;
        let now = now_ms();
        let stale = row.state == "running" && now - row.updated_at > STALE_MS;
        if stale {
            let error = interrupted();
            sqlx::query(
                "UPDATE jobs SET state = 'failed', phase = 'finished', error_code = $1, \
                 error_detail = $2, finished_at = $3 \
                 WHERE id = $4 AND state = 'running' AND updated_at = $5",
            )
            .bind(&error.code)
            .bind(&error.detail)
            .bind(now)
            .bind(&row.id)
            .bind(row.updated_at)
            .execute(self.pool())
            .await?;
        }
        Ok(row.into_job(now))
    }

    /// The job with its secret result, once: decrypted with `key` and
    /// deleted in the same step. A wrong key deletes nothing.
    pub async fn take_job_result(
        &self,
        access: &TenantAccess,
        job: &str,
        key: &str,
    ) -> Result<Job> {
        let mut current = self.get_job(access, job).await?;
        if current.result_state != ResultState::Available {
            return Ok(current);
        }
        let stored: Option<String> =
            sqlx::query_scalar("SELECT secret_result FROM jobs WHERE id = $1 AND tenant_id = $2")
                .bind(job)
                .bind(access.tenant_id())
                .fetch_optional(self.pool())
                .await?
                .flatten();
        let Some(stored) = stored else {
            return self.get_job(access, job).await;
        };
        let plain = decrypt(key, job, &stored)
            .ok_or_else(|| StoreError::invalid("result_key", "does not open this job's result"))?;
        let result: JobResult =
            serde_json::from_slice(&plain).map_err(|e| StoreError::Config(e.to_string()))?;
        let taken = sqlx::query(
            "UPDATE jobs SET secret_result = NULL, result_state = 'fetched' \
             WHERE id = $1 AND tenant_id = $2 AND secret_result IS NOT NULL",
        )
        .bind(job)
        .bind(access.tenant_id())
        .execute(self.pool())
        .await?;
        if taken.rows_affected() != 1 {
            // Someone else fetched it in between.
            return self.get_job(access, job).await;
        }
        current.result_state = ResultState::Fetched;
        current.result = Some(result);
        Ok(current)
    }

    /// Jobs of the tenant, newest first (at most 50).
    pub async fn list_jobs(&self, access: &TenantAccess) -> Result<Vec<Job>> {
        let rows = sqlx::query_as::<_, JobRow>(&format!(
            "{JOB_SELECT} WHERE j.tenant_id = $1 ORDER BY j.created_at DESC LIMIT 50"
        ))
        .bind(access.tenant_id())
        .fetch_all(self.pool())
        .await?;
        let now = now_ms();
        Ok(rows.into_iter().map(|r| r.into_job(now)).collect())
    }
}

impl PreparedImport {
    pub fn job_id(&self) -> &str {
        &self.job
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_opens_only_with_its_key_and_job() {
        let key = [7u8; 32];
        let sealed = encrypt(&key, "job-1", b"secret").unwrap();
        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key);
        assert_eq!(decrypt(&text, "job-1", &sealed).unwrap(), b"secret");
        assert!(decrypt(&text, "job-2", &sealed).is_none());
        let other = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([8u8; 32]);
        assert!(decrypt(&other, "job-1", &sealed).is_none());
        assert!(decrypt("not base64!", "job-1", &sealed).is_none());
    }
}
