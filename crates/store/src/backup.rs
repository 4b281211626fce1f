//! Online backups of a SQLite database and the checks before a restore.
//!
//! A backup is `VACUUM INTO` on a separate connection: one read transaction,
//! so the copy is the database as of one commit even while the control plane
//! keeps writing (WAL mode lets readers and the writer run side by side).
//! PostgreSQL has its own tools (`pg_dump`, `pg_restore`); docs/operations.md.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};

use crate::{Result, StoreError, schema_version_known};

/// Tables every homegate database has since its first migration.
const HOMEGATE_TABLES: &[&str] = &["_sqlx_migrations", "tenants", "users", "audit_log"];

/// The file of a `sqlite:` database URL; `None` for other engines.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// What a backup or restore found in a database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatabaseFile {
    /// The newest migration applied.
    pub schema_version: i64,
    pub bytes: u64,
}

async fn connect(path: &Path, read_only: bool) -> Result<SqliteConnection> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .map_err(StoreError::Database)?
        .read_only(read_only)
        .busy_timeout(std::time::Duration::from_secs(10));
    options.connect().await.map_err(StoreError::Database)
}

/// Copies the SQLite database at `database` into the new file `out`
/// (mode 0600: it holds password hashes), consistently while others write.
pub async fn backup_sqlite(database: &Path, out: &Path) -> Result<DatabaseFile> {
    if !database.is_file() {
        return Err(StoreError::Config(format!(
            "no database at {}",
            database.display()
        )));
    }
    {
        use std::os::unix::fs::OpenOptionsExt;
        // VACUUM INTO writes into a new or empty file; make it private first.
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(out)
            .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", out.display())))?;
    }
    let copied = async {
        let mut conn = connect(database, true).await?;
        sqlx::query("VACUUM INTO $1")
            .bind(out.display().to_string())
            .execute(&mut conn)
            .await?;
        conn.close().await.map_err(StoreError::Database)?;
        inspect_sqlite(out).await
    }
    .await;
    if copied.is_err() {
        let _ = std::fs::remove_file(out);
    }
    copied
}

/// Checks that `file` is a homegate SQLite database this binary can run on:
/// intact, with homegate's tables, and not migrated by a newer release.
pub async fn inspect_sqlite(file: &Path) -> Result<DatabaseFile> {
    let not_homegate = |why: &str| {
        StoreError::Config(format!(
            "{} is not a homegate database ({why})",
            file.display()
        ))
    };
    let bytes = std::fs::metadata(file)
        .map_err(|e| StoreError::Config(format!("cannot read {}: {e}", file.display())))?
        .len();
    let mut conn = connect(file, true)
        .await
        .map_err(|_| not_homegate("not SQLite"))?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|_| not_homegate("not SQLite"))?;
    if integrity != "ok" {
        return Err(not_homegate(&format!("damaged: {integrity}")));
    }
    for table in HOMEGATE_TABLES {
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
        )
        .bind(table)
        .fetch_one(&mut conn)
        .await?;
        if found == 0 {
            return Err(not_homegate(&format!("no table {table}")));
        }
    }
    let schema_version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut conn)
            .await?;
    conn.close().await.map_err(StoreError::Database)?;
    let schema_version = schema_version.ok_or_else(|| not_homegate("no migration applied"))?;
    let known = schema_version_known();
    if schema_version > known {
        return Err(StoreError::SchemaTooNew {
            found: schema_version,
            known,
        });
    }
    Ok(DatabaseFile {
        schema_version,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_come_from_urls() {
        assert_eq!(
            sqlite_path("sqlite://homegate-data/homegate.db?mode=rwc"),
            Some(PathBuf::from("homegate-data/homegate.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:///var/lib/homegate/homegate.db"),
            Some(PathBuf::from("/var/lib/homegate/homegate.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://db/homegate"), None);
    }
}
