//! The data layer of the control plane.
//!
//! One [`Store`] serves SQLite and PostgreSQL with the same SQL: queries go
//! through sqlx's `Any` driver with `$1` placeholders (which SQLite accepts
//! too), and use only types both engines share (TEXT, 64-bit integers).
//! Schema migrations exist once per engine with the same versions.
//!
//! Every read or change of tenant data takes a [`authz::TenantAccess`], a
//! capability that only [`Store::tenant_access`] mints after checking the
//! actor's role: tenant isolation is enforced here, not in HTTP handlers.
//! Every change writes its audit event in the same transaction.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod addressing;
pub mod applications;
pub mod audit;
pub mod authz;
pub mod backup;
mod convert;
pub mod credentials;
pub mod devices;
pub mod enrollment;
pub mod gateway_stream;
pub mod gateways;
pub mod groups;
pub mod idp;
pub mod import;
pub mod invitations;
pub mod jobs;
pub mod manual;
pub mod mfa;
pub mod onboarding;
pub mod outbound;
pub mod paging;
pub mod proxy;
pub mod regions;
pub mod replicas;
pub mod rules;
pub mod sealing;
pub mod seats;
pub mod sessions;
pub mod status;
pub mod sticks;
pub mod tenants;
pub mod tokens;
pub mod usage;
pub mod users;
pub mod validate;

use std::str::FromStr;
use std::sync::Arc;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, AnyPool};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

pub use authz::{
    Actor, AuditSource, ProviderAccess, ProviderNeed, SelfAccess, TenantAccess, TenantNeed,
};

/// Which engine a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL (expected sqlite:// or postgres://): {}",
                redact_url(url)
            )))
        }
    }
}

/// A domain rule that an input breaks, tied to the field it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    /// The rule as a code the edge words in the reader's language
    /// (Fluent `violation-{code}` with `args`); `None` for rules not
    /// coded yet, whose `message` is the only text.
    pub code: Option<&'static str>,
    pub args: Vec<(&'static str, String)>,
    /// English, for API clients and logs.
    pub message: String,
}

impl Violation {
    pub fn new(field: &str, message: impl Into<String>) -> Violation {
        Violation {
            field: field.to_owned(),
            code: None,
            args: Vec::new(),
            message: message.into(),
        }
    }

    /// A violation of a coded rule; `message` is its English wording.
    pub fn coded(
        field: &str,
        code: &'static str,
        args: &[(&'static str, &str)],
        message: impl Into<String>,
    ) -> Violation {
        Violation {
            field: field.to_owned(),
            code: Some(code),
            args: args
                .iter()
                .map(|(name, value)| (*name, (*value).to_owned()))
                .collect(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} '{key}' not found")]
    NotFound { what: &'static str, key: String },
    #[error("{0}")]
    Conflict(String),
    /// A name that must be unique is in use: a conflict about one field.
    #[error("{}", .0.message)]
    Taken(Violation),
    #[error("invalid input: {}", .0.iter().map(|v| format!("{}: {}", v.field, v.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Violation>),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthenticated(String),
    /// A login name that several accounts answer to with the same
    /// password: the user has to name the municipality.
    #[error(
        "several accounts have this username: log in as username@municipality, e.g. anna@lemgo"
    )]
    AmbiguousLogin,
    #[error("{0}")]
    Config(String),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database's secrets were sealed with another key than this
    /// control plane's.
    #[error(
        "the database's secrets were sealed with the secrets key {recorded}, this control plane \
         has {found}: give every replica the same key file (copy secrets.key of the data folder \
         where the database was first used, or set --secrets-key-file)"
    )]
    SecretsKeyMismatch { recorded: String, found: String },
    /// The database was migrated by a newer homegate than this one.
    #[error(
        "the database has schema version {found}, newer than this homegate knows ({known}): \
         it was upgraded by a newer release; run that release, or restore a backup made \
         before the upgrade"
    )]
    SchemaTooNew { found: i64, known: i64 },
    /// The database is reachable but not migrated to this binary's schema.
    #[error("the database schema is at version {found}, this homegate needs {known}")]
    SchemaBehind { found: i64, known: i64 },
    #[error("password hashing failed")]
    PasswordHash,
    /// What was asked for would not work for the employee who receives it.
    #[error("{}", .0.code())]
    Unworkable(Unworkable),
    /// A list's page query (limit, cursor, search) is malformed.
    #[error(transparent)]
    Page(#[from] paging::PageError),
    /// Lines of an import that cannot be imported; nothing was written.
    #[error("{} line(s) cannot be imported: {}", .0.lines.len(), .0.lines.iter().map(|(line, p)| format!("line {line}: {}", p.english())).collect::<Vec<_>>().join("; "))]
    Import(import::ImportProblems),
}

/// Why a configuration would not work if it were handed out now. A code:
/// the words people read are Fluent messages `unworkable-<code>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unworkable {
    /// No healthy, undrained gateway serves the tenant's region.
    NoGatewayOnline,
    /// The employee reaches no application (no rule for any of their groups).
    NoApplications,
}

impl Unworkable {
    pub fn code(self) -> &'static str {
        match self {
            Unworkable::NoGatewayOnline => "no-gateway-online",
            Unworkable::NoApplications => "no-applications",
        }
    }
}

impl StoreError {
    pub fn invalid(field: &str, message: impl Into<String>) -> StoreError {
        StoreError::Invalid(vec![Violation::new(field, message)])
    }

    /// `value` of `field` is in use (code `taken`).
    pub fn taken(field: &str, value: &str, message: String) -> StoreError {
        StoreError::Taken(Violation::coded(
            field,
            "taken",
            &[("value", value)],
            message,
        ))
    }

    /// The problems with the input, one field each, for a form to show.
    pub fn violations(&self) -> Option<&[Violation]> {
        match self {
            StoreError::Invalid(violations) => Some(violations),
            StoreError::Taken(violation) => Some(std::slice::from_ref(violation)),
            _ => None,
        }
    }

    pub fn not_found(what: &'static str, key: &str) -> StoreError {
        StoreError::NotFound {
            what,
            key: key.to_owned(),
        }
    }
}

impl From<Violation> for StoreError {
    fn from(violation: Violation) -> StoreError {
        StoreError::Invalid(vec![violation])
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        // Our own checks run first inside the same transaction; a constraint
        // that still fires means a concurrent writer won the race.
        if let sqlx::Error::Database(db_error) = &error
            && db_error.is_unique_violation()
        {
            return StoreError::Conflict(
                "a concurrent change created the same record; retry".to_owned(),
            );
        }
        StoreError::Database(error)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Handle to the database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time; serializing our write transactions
    /// in-process avoids `SQLITE_BUSY` on lock upgrades. Unused on PostgreSQL,
    /// where row locks and constraints serialize writers across replicas.
    sqlite_writer: Arc<Mutex<()>>,
    /// The latest committed configuration version: bumped by every audited
    /// change, watched by the gateway streams.
    config_version: Arc<watch::Sender<u64>>,
    /// For the notification listener of other replicas' changes.
    url: Arc<str>,
    /// Which addresses web applications' upstreams may have.
    outbound_policy: Arc<outbound::OutboundPolicy>,
    /// Seals the secrets read back in clear ([`sealing`]); set by
    /// [`Store::use_secrets_key`].
    secrets: Option<Arc<sealing::SecretsKey>>,
    /// Gateway configurations, shared by the gateways of a region.
    region_configs: Arc<gateway_stream::RegionConfigs>,
}

/// `synchronous = FULL`: the WAL is synced at every commit, so a change
/// homegate acknowledged survives a power failure (NORMAL may lose the last
/// commits). It costs ~0.15 ms per commit here, far below an API request's
/// own cost (BENCHMARKS.md, "SQLite durability").
const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA busy_timeout = 5000",
    "PRAGMA foreign_keys = ON",
];

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// This store, checking web applications' upstreams against `policy`
    /// when they are saved (the default refuses loopback, link-local and
    /// the like; see [`outbound`]).
    pub fn with_outbound_policy(mut self, policy: outbound::OutboundPolicy) -> Store {
        self.outbound_policy = Arc::new(policy);
        self
    }

    pub fn outbound_policy(&self) -> &outbound::OutboundPolicy {
        &self.outbound_policy
    }

    /// Connects and applies pending migrations (forward only).
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let options = AnyConnectOptions::from_str(url).map_err(StoreError::Database)?;
        let pool_options = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            for pragma in SQLITE_PRAGMAS {
                                sqlx::Executor::execute(&mut *conn, *pragma).await?;
                            }
                            Ok(())
                        })
                    })
            }
            Backend::Postgres => AnyPoolOptions::new().max_connections(16),
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(StoreError::Database)?;
        let store = Store {
            pool,
            backend,
            sqlite_writer: Arc::new(Mutex::new(())),
            config_version: Arc::new(watch::Sender::new(0)),
            url: Arc::from(url),
            outbound_policy: Arc::default(),
            secrets: None,
            region_configs: Arc::default(),
        };
        store.migrate().await?;
        let version = store.load_config_version().await?;
        store.config_version.send_replace(version);
        Ok(store)
    }

    /// Seals secrets with `key` from now on: checks it is the key the
    /// database was sealed with (recording it on first use), and seals
    /// secrets stored before sealing existed.
    pub async fn use_secrets_key(mut self, key: sealing::SecretsKey) -> Result<Store> {
        let recorded: Option<String> = sqlx::query_scalar("SELECT key_id FROM secrets_key")
            .fetch_optional(&self.pool)
            .await?;
        match recorded {
            Some(recorded) if recorded != key.id() => {
                return Err(StoreError::SecretsKeyMismatch {
                    recorded,
                    found: key.id().to_owned(),
                });
            }
            Some(_) => {}
            None => {
                let mut tx = self.write().await?;
                sqlx::query("INSERT INTO secrets_key (key_id, created_at) VALUES ($1, $2)")
                    .bind(key.id())
                    .bind(now_ms())
                    .execute(tx.conn())
                    .await?;
                tx.commit().await?;
            }
        }
        self.secrets = Some(Arc::new(key));
        self.seal_plain_secrets().await?;
        Ok(self)
    }

    /// The sealed form of a secret to store.
    pub(crate) fn seal(&self, plain: &str) -> Result<String> {
        match &self.secrets {
            Some(key) => Ok(key.seal(plain)),
            None => Err(StoreError::Config(
                "no secrets key: the control plane stores secrets only sealed".to_owned(),
            )),
        }
    }

    /// The clear text of a stored secret.
    pub(crate) fn unseal(&self, stored: &str) -> Result<String> {
        let opened = match &self.secrets {
            Some(key) => key.open(stored),
            None => (!sealing::is_sealed(stored)).then(|| stored.to_owned()),
        };
        opened.ok_or_else(|| {
            StoreError::Config(
                "a stored secret cannot be opened with this control plane's secrets key".to_owned(),
            )
        })
    }

    /// Seals the secrets written before sealing existed, in one transaction.
    async fn seal_plain_secrets(&self) -> Result<()> {
        const SECRET_COLUMNS: [(&str, &str, &str); 4] = [
            ("users", "id", "totp_secret"),
            ("tenant_idps", "tenant_id", "client_secret"),
            ("status_webhooks", "id", "secret"),
            ("proxy_signing_keys", "kid", "private_pkcs8"),
        ];
        let mut tx = self.write().await?;
        for (table, id, column) in SECRET_COLUMNS {
            let plain: Vec<(String, String)> = sqlx::query_as(&format!(
                "SELECT {id}, {column} FROM {table} \
                 WHERE {column} IS NOT NULL AND {column} NOT LIKE 'hgs1:%'"
            ))
            .fetch_all(tx.conn())
            .await?;
            for (key, value) in plain {
                sqlx::query(&format!("UPDATE {table} SET {column} = $1 WHERE {id} = $2"))
                    .bind(self.seal(&value)?)
                    .bind(&key)
                    .execute(tx.conn())
                    .await?;
            }
        }
        tx.commit().await
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        }
    }

    /// Applies pending migrations; refuses a database a newer homegate has
    /// migrated (its schema may not fit this binary's queries).
    async fn migrate(&self) -> Result<()> {
        let known = schema_version_known();
        if let Some(found) = self.schema_version().await?
            && found > known
        {
            return Err(StoreError::SchemaTooNew { found, known });
        }
        match self.backend {
            Backend::Postgres => self.migrator().run(&self.pool).await?,
            Backend::Sqlite => self.migrate_sqlite().await?,
        }
        Ok(())
    }

    /// SQLite migrations run with foreign keys off, as SQLite's own recipe
    /// for rebuilding a table demands (its `DROP TABLE` would otherwise
    /// cascade into the tables that reference it; the pragma cannot change
    /// inside the migration's transaction). The keys are checked after.
    async fn migrate_sqlite(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(StoreError::Database)?;
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await?;
        let migrated = self.migrator().run(&mut *conn).await;
        let restored = sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut *conn)
            .await;
        if let Err(error) = restored {
            // Never back into the pool without its foreign keys.
            drop(conn.detach());
            return Err(error.into());
        }
        migrated?;
        let broken = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut *conn)
            .await?;
        if !broken.is_empty() {
            return Err(StoreError::Config(format!(
                "{} rows have broken references after migrating",
                broken.len()
            )));
        }
        Ok(())
    }

    /// The newest migration applied to the database; `None` before the
    /// first start (no migration table yet).
    pub async fn schema_version(&self) -> Result<Option<i64>> {
        let table_exists: i64 = match self.backend {
            Backend::Sqlite => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sqlite_master \
                     WHERE type = 'table' AND name = '_sqlx_migrations'",
                )
                .fetch_one(&self.pool)
                .await?
            }
            Backend::Postgres => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
                )
                .fetch_one(&self.pool)
                .await?
            }
        };
        if table_exists == 0 {
            return Ok(None);
        }
        let version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await?;
        Ok(version)
    }

    /// Readiness: the database answers and carries this binary's schema.
    pub async fn check_ready(&self) -> Result<()> {
        let known = schema_version_known();
        match self.schema_version().await? {
            Some(found) if found == known => Ok(()),
            Some(found) if found > known => Err(StoreError::SchemaTooNew { found, known }),
            found => Err(StoreError::SchemaBehind {
                found: found.unwrap_or(0),
                known,
            }),
        }
    }

    async fn load_config_version(&self) -> Result<u64> {
        let version: i64 = sqlx::query_scalar("SELECT version FROM config_version WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(version).unwrap_or(0))
    }

    /// Watches the configuration version; it changes after every commit that
    /// may change what gateways serve.
    pub fn watch_config_version(&self) -> watch::Receiver<u64> {
        self.config_version.subscribe()
    }

    /// Re-reads the version from the database, for changes committed by
    /// another control-plane replica.
    pub async fn refresh_config_version(&self) -> Result<u64> {
        let version = self.load_config_version().await?;
        self.note_config_version(version);
        Ok(version)
    }

    /// Moves the version watch forward to `version` (never back).
    pub(crate) fn note_config_version(&self, version: u64) {
        advance(&self.config_version, version);
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction.
    ///
    /// Cancel-safe: the future may be dropped at any await point (a request
    /// timing out, a client going away) and so may the returned
    /// [`WriteTx`]; the connection then rolls back before it goes back to the
    /// pool, or is closed, and never returns inside a transaction.
    pub(crate) async fn write(&self) -> Result<WriteTx<'_>> {
        let guard = match self.backend {
            Backend::Sqlite => Some(Arc::clone(&self.sqlite_writer).lock_owned().await),
            Backend::Postgres => None,
        };
        let conn = self.pool.acquire().await?;
        let mut tx = WriteTx {
            conn: Some(conn),
            // From here until COMMIT or ROLLBACK has answered, the
            // connection may be inside a transaction.
            open: true,
            backend: self.backend,
            changed: false,
            notify: Arc::clone(&self.config_version),
            guard,
            _store: std::marker::PhantomData,
        };
        let begin = match self.backend {
            // Take SQLite's write lock up front: a deferred transaction that
            // read first fails with SQLITE_BUSY_SNAPSHOT when a write outside
            // the writer lock (heartbeats, renewals) committed in between.
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        statement(tx.conn(), begin).await?;
        Ok(tx)
    }
}

/// A write transaction. Dropping it without [`WriteTx::commit`] rolls back,
/// so an error anywhere leaves no half-written record.
///
/// The transaction is ours, not sqlx's (`BEGIN`, `COMMIT` and `ROLLBACK` are
/// sent here): sqlx 0.8 returns a connection to the pool inside a
/// transaction when `begin` is cancelled between its statement and its
/// bookkeeping (SQLite: while it checks the transaction state; PostgreSQL:
/// before the server answered), and the next writer then fails with "database
/// is locked" or `InvalidSavePointStatement` until restart (issue 19).
pub(crate) struct WriteTx<'a> {
    /// `None` only after commit or drop.
    conn: Option<PoolConnection<sqlx::Any>>,
    /// A `BEGIN` may have been sent and no `COMMIT`/`ROLLBACK` answered.
    open: bool,
    backend: Backend,
    changed: bool,
    notify: Arc<watch::Sender<u64>>,
    /// SQLite's writer lock, held until the transaction has ended.
    guard: Option<OwnedMutexGuard<()>>,
    _store: std::marker::PhantomData<&'a Store>,
}

impl WriteTx<'_> {
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        match self.conn.as_mut() {
            Some(conn) => conn,
            // `conn` is taken only by `commit` and `drop`, which consume self.
            None => unreachable!("write transaction used after it ended"),
        }
    }

    /// Serializes writers of one tenant across control-plane replicas
    /// (PostgreSQL); SQLite writers are already serialized.
    pub(crate) async fn lock_tenant(&mut self, tenant_id: &str) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
                .bind(tenant_id)
                .fetch_optional(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Serializes provider-wide checks such as address-pool overlap.
    pub(crate) async fn lock_global(&mut self, name: &str) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1)::bigint)")
                .bind(name)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    /// This transaction changes what gateways may serve.
    pub(crate) fn mark_changed(&mut self) {
        self.changed = true;
    }

    pub(crate) async fn commit(mut self) -> Result<()> {
        let version = if self.changed {
            let version: i64 = sqlx::query_scalar(
                "UPDATE config_version SET version = version + 1 WHERE id = 1 RETURNING version",
            )
            .fetch_one(self.conn())
            .await?;
            if self.backend == Backend::Postgres {
                // Other replicas learn of the change when this commits.
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(replicas::CONFIG_CHANNEL)
                    .bind(version.to_string())
                    .execute(self.conn())
                    .await?;
            }
            Some(u64::try_from(version).unwrap_or(0))
        } else {
            None
        };
        statement(self.conn(), "COMMIT").await?;
        self.open = false;
        if let Some(version) = version {
            advance(&self.notify, version);
        }
        Ok(())
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if !self.open {
            return;
        }
        // The connection may be inside a transaction: roll it back in a task
        // of its own (drop cannot wait), keeping SQLite's writer lock until
        // it has, so the next writer does not run into the open transaction.
        let mut cleanup = Rollback {
            conn: Some(conn),
            clean: false,
            guard: self.guard.take(),
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    cleanup.run().await;
                });
            }
            // No runtime to roll back on: `Rollback`'s drop closes it.
            Err(_) => drop(cleanup),
        }
    }
}

/// Runs one statement without parameters (`BEGIN`, `COMMIT`, `ROLLBACK`).
async fn statement(conn: &mut AnyConnection, sql: &'static str) -> Result<(), sqlx::Error> {
    sqlx::query(sql).execute(conn).await.map(|_| ())
}

/// Ends a transaction its owner dropped. Unless `ROLLBACK` succeeded, the
/// connection is closed instead of returned to the pool (closing rolls back
/// on both engines), also if this task itself is dropped half-way.
struct Rollback {
    conn: Option<PoolConnection<sqlx::Any>>,
    clean: bool,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Rollback {
    async fn run(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            match statement(conn, "ROLLBACK").await {
                Ok(()) => self.clean = true,
                Err(error) => {
                    // Also when it had ended already (cancelled during
                    // COMMIT, or before BEGIN ran): closing is safe either way.
                    tracing::debug!(%error, "a dropped write transaction did not roll back; closing its connection");
                }
            }
        }
    }
}

impl Drop for Rollback {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            if !self.clean {
                conn.close_on_drop();
            }
            drop(conn);
        }
        drop(self.guard.take());
    }
}

/// Moves a version watch forward, waking its watchers, unless it is already
/// at `version` or later (commits and notifications may arrive in any order).
fn advance(watch: &watch::Sender<u64>, version: u64) {
    watch.send_if_modified(|current| {
        let newer = version > *current;
        if newer {
            *current = version;
        }
        newer
    });
}

/// The newest schema version (migration number) this binary knows; both
/// engines have the same migrations.
pub fn schema_version_known() -> i64 {
    SQLITE_MIGRATOR
        .iter()
        .map(|migration| migration.version)
        .max()
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch, the time format of every column.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Hides the password in a database URL so it can be logged.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests;
