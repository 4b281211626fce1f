//! `homegate backup` and `homegate restore`: copies of the control plane's
//! SQLite database, made while it runs, and bringing one back while it does
//! not. On PostgreSQL both point to `pg_dump` / `pg_restore`.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;

use crate::serve;

/// Where the database is: the same flags, variables and file as `serve`.
#[derive(Debug, Args)]
pub(crate) struct DatabaseArgs {
    /// TOML file of `homegate serve` (its data_dir and database are used).
    #[arg(long, env = "HOMEGATE_CONFIG")]
    config: Option<PathBuf>,
    /// Data folder of `homegate serve` [default: ./homegate-data].
    #[arg(long, env = "HOMEGATE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL of `homegate serve` [default: SQLite in the data folder].
    #[arg(long, env = "HOMEGATE_DATABASE", hide_env_values = true)]
    database: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// New file to write the copy to (mode 0600; it must not exist).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// A file made by `homegate backup`.
    file: PathBuf,
}

/// The SQLite file of the configured database, or the advice for PostgreSQL.
fn sqlite_file(args: DatabaseArgs, postgres_advice: &str) -> anyhow::Result<PathBuf> {
    let (_, url) = serve::database_location(args.config.as_deref(), args.data_dir, args.database)?;
    match store::backup::sqlite_path(&url) {
        Some(path) => Ok(path),
        None => bail!(
            "{} is PostgreSQL: {postgres_advice} (see docs/operations.md)",
            store::redact_url(&url)
        ),
    }
}

/// The lock `serve` holds shared while it runs on a SQLite database and
/// `restore` holds exclusively (a file next to the database).
pub(crate) fn lock_file(database: &Path) -> anyhow::Result<File> {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open lock file {}", path.display()))
}

pub(crate) async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let database = sqlite_file(
        args.database,
        "back it up with pg_dump --format=custom --file FILE DATABASE-URL",
    )?;
    let copied = store::backup::backup_sqlite(&database, &args.out)
        .await
        .with_context(|| format!("cannot back up {}", database.display()))?;
    println!(
        "Backup of {} written to {} ({} bytes, schema version {}).",
        database.display(),
        args.out.display(),
        copied.bytes,
        copied.schema_version
    );
    Ok(())
}

pub(crate) async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let database = sqlite_file(
        args.database,
        "restore with pg_restore --clean --if-exists --dbname DATABASE-URL FILE",
    )?;
    let found = store::backup::inspect_sqlite(&args.file)
        .await
        .context("will not restore")?;
    if let Some(folder) = database.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    let lock = lock_file(&database)?;
    if lock.try_lock().is_err() {
        bail!(
            "homegate serve is running on {}; stop it first (systemctl stop homegate)",
            database.display()
        );
    }
    let kept = if database.exists() {
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let kept = suffixed(&database, &format!(".before-restore-{stamp}"));
        for extra in ["", "-wal", "-shm"] {
            let from = suffixed(&database, extra);
            if from.exists() {
                let to = suffixed(&kept, extra);
                std::fs::rename(&from, &to).with_context(|| {
                    format!("cannot move {} to {}", from.display(), to.display())
                })?;
            }
        }
        Some(kept)
    } else {
        None
    };
    let partial = suffixed(&database, ".restoring");
    copy_private(&args.file, &partial)?;
    std::fs::rename(&partial, &database)
        .with_context(|| format!("cannot move {} into place", partial.display()))?;
    drop(lock);
    println!(
        "Restored {} to {} (schema version {}; homegate serve migrates it forward on start).",
        args.file.display(),
        database.display(),
        found.schema_version
    );
    if let Some(kept) = kept {
        println!("The database it replaced is kept as {}.", kept.display());
    }
    Ok(())
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Copies `from` to the new file `to` with mode 0600, synced to disk.
fn copy_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(to);
    let mut source = File::open(from).with_context(|| format!("cannot read {}", from.display()))?;
    let mut target = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .with_context(|| format!("cannot create {}", to.display()))?;
    std::io::copy(&mut source, &mut target)
        .with_context(|| format!("cannot write {}", to.display()))?;
    target
        .sync_all()
        .with_context(|| format!("cannot write {}", to.display()))?;
    Ok(())
}
