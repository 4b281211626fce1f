//! Jobs: long work (bulk imports) that runs outside the request that
//! started it, with progress, an error code, and a result whose secret part
//! is handed out once.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Header carrying a job's result key on `GET /tenants/{tenant}/jobs/{job}`.
pub const RESULT_KEY_HEADER: &str = "homegate-result-key";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    /// Finished; everything it did is committed.
    Done,
    /// Nothing it would have done was written.
    Failed,
}

/// What a running job is doing: `hashing` counts `done` of `total`, then
/// `writing` (one transaction), then `finished`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobPhase {
    Hashing,
    Writing,
    Finished,
}

/// Where the secret part of a finished job's result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResultState {
    /// The job has no secret result (yet, or at all).
    None,
    /// Stored encrypted; the holder of the result key can fetch it once.
    Available,
    /// Fetched once and deleted.
    Fetched,
    /// Not fetched within a day, deleted.
    Expired,
}

/// Why a job failed: a code (words come from the caller's language) and a
/// detail for logs and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobError {
    /// `interrupted` (the control plane stopped while it ran), `conflict`
    /// (e.g. a username taken meanwhile), `internal`.
    pub code: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OneTimePassword {
    pub username: String,
    pub password: String,
}

/// The secret part of a result, handed out once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobResult {
    pub passwords: Vec<OneTimePassword>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Job {
    pub id: String,
    /// `user-import`.
    pub kind: String,
    /// Slug of the tenant the job works on.
    pub tenant: Option<String>,
    pub state: JobState,
    pub phase: JobPhase,
    /// Items done in the current phase.
    pub done: u64,
    pub total: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
    pub result_state: ResultState,
    /// The secret result: present once, in the answer that fetched it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<JobResult>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

/// A job was started. `result_key` decrypts its result; the server does not
/// keep it, so it is shown only here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobStarted {
    pub job: Job,
    pub result_key: String,
}

/// Employees as CSV: a header line naming the columns (`username` required;
/// `display_name`, `email`, `role` (employee or tenant_admin), `groups`
/// separated by `;`, `language`), then one user per line. All lines are
/// checked before anything is written; one bad line and nothing is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportUsers {
    pub csv: String,
    /// Invite every imported employee who has an e-mail address, in the
    /// same transaction (the mails go out right after): they choose their
    /// own password on the invitation page and get no one-time password.
    /// Needs the control plane's SMTP server.
    #[serde(default)]
    pub invite: bool,
}
