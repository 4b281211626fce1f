//! `homegate sticks`: batches of home-office sticks.
//!
//! Creating a batch is two-phase: the control plane creates the prepared
//! devices and tokens (one transaction), then this process writes the files.
//! Only when the files are complete is the batch completed; if writing
//! fails or is interrupted with Ctrl-C, the batch is cancelled again. If
//! this process is killed outright, the batch stays `generating` and
//! `sticks batch resume` finishes it (or `sticks batch cancel` drops it).

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use api_types::Language;
use api_types::sticks::{BatchState, CreateStickBatch, Stick, StickBatch, StickBatchIssued};
use api_types::tenancy::DeviceState;
use clap::Subcommand;
use client::Client;

use super::Context;
use crate::UsageError;
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub(crate) enum SticksCommand {
    /// Create, list, resume or cancel batches.
    #[command(subcommand)]
    Batch(BatchCommand),
    /// Sticks of a tenant.
    List {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        /// Only this batch.
        #[arg(long)]
        batch: Option<String>,
    },
    /// One stick by its id (ST-…).
    Show {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        stick: String,
    },
    /// Mark a batch (its prepared sticks) or one stick (ST-…) as shipped.
    Ship {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        /// Batch id, or a stick id (ST-…).
        target: String,
    },
    /// Revoke a lost stick (ST-…), or every stick of a batch: they leave
    /// all gateways at once and their tokens can never be used.
    Revoke {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        /// Batch id, or a stick id (ST-…).
        target: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum BatchCommand {
    /// Prepare N sticks: disk images, letters and a shipping manifest in --out.
    Create {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        /// Number of sticks (default: one per employee in --employees).
        #[arg(long)]
        count: Option<u32>,
        /// CSV with a header: name, street, postcode, city, address, email, username.
        #[arg(long)]
        employees: Option<PathBuf>,
        /// Language of letters and the stick's read-me: de, nl or en
        /// (default: the tenant's).
        #[arg(long, value_parser = parse_language)]
        language: Option<Language>,
        /// Days the sticks' tokens stay valid (default 60).
        #[arg(long)]
        valid_days: Option<u32>,
        /// Group whose applications the sticks reach (needed for sticks
        /// without an employee; employees' own groups apply too).
        #[arg(long)]
        group: Option<String>,
        /// Folder for the batch; must not exist yet or be empty.
        #[arg(long)]
        out: PathBuf,
        /// Field separator of manifest.csv: comma, or semicolon for Excel
        /// with a German or Dutch locale.
        #[arg(long, value_enum, default_value_t = ManifestSeparator::Comma)]
        manifest_separator: ManifestSeparator,
    },
    /// Batches of a tenant, newest first.
    List {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        /// All columns (group, stick states, language, token expiry).
        #[arg(long)]
        wide: bool,
    },
    /// One batch with all its columns.
    Show {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        batch: String,
    },
    /// Write the files of a batch that was interrupted, with new tokens.
    Resume {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        batch: String,
        /// File to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Drop a batch whose files were never completed (devices and tokens).
    Cancel {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        batch: String,
        /// Also remove what an interrupted run left next to this folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ManifestSeparator {
    Comma,
    Semicolon,
}

impl ManifestSeparator {
    fn of(self) -> sticks::manifest::Separator {
        match self {
            ManifestSeparator::Comma => sticks::manifest::Separator::Comma,
            ManifestSeparator::Semicolon => sticks::manifest::Separator::Semicolon,
        }
    }
}

fn parse_language(text: &str) -> Result<Language, String> {
    Language::parse(text).ok_or_else(|| format!("'{text}' is not one of de, nl, en"))
}

/// A batch with every column (`sticks batch list --wide`, `show`).
#[derive(serde::Serialize)]
#[serde(transparent)]
struct WideBatch(StickBatch);

/// The columns a terminal has room for: the id whole (it is copied into
/// other commands), then what a technician looks at.
impl Tabular for StickBatch {
    fn headers() -> &'static [&'static str] {
        &["id", "state", "sticks", "enrolled", "created"]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.state.as_str().to_owned(),
            self.count.to_string(),
            self.sticks.enrolled.to_string(),
            output::time(&self.created_at)
                .split('T')
                .next()
                .unwrap_or_default()
                .to_owned(),
        ]
    }
}

impl Tabular for WideBatch {
    fn headers() -> &'static [&'static str] {
        &[
            "id",
            "state",
            "sticks",
            "group",
            "prepared",
            "shipped",
            "enrolled",
            "revoked",
            "language",
            "created",
            "tokens valid until",
        ]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.0.id.clone(),
            self.0.state.as_str().to_owned(),
            self.0.count.to_string(),
            output::opt(self.0.group.as_deref()),
            self.0.sticks.prepared.to_string(),
            self.0.sticks.shipped.to_string(),
            self.0.sticks.enrolled.to_string(),
            self.0.sticks.revoked.to_string(),
            self.0.language.code().to_owned(),
            output::time(&self.0.created_at),
            output::time(&self.0.token_expires_at),
        ]
    }
}

impl Tabular for Stick {
    fn headers() -> &'static [&'static str] {
        &[
            "stick",
            "state",
            "recipient",
            "tunnel address",
            "batch",
            "shipped",
            "enrolled",
            "revoked",
        ]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.stick_id.clone(),
            self.state.as_str().to_owned(),
            output::opt(self.recipient.as_ref().map(|r| r.name.clone())),
            output::opt(self.tunnel_address.as_deref()),
            self.batch_id.clone(),
            output::opt_time(self.shipped_at.as_ref()),
            output::opt_time(self.enrolled_at.as_ref()),
            output::opt_time(self.revoked_at.as_ref()),
        ]
    }
}

fn is_stick_id(target: &str) -> bool {
    target.trim().to_ascii_uppercase().starts_with("ST-")
}

pub(crate) async fn run(context: &Context, command: SticksCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        SticksCommand::Batch(command) => run_batch(context, &client, command).await,
        SticksCommand::List { tenant, batch } => output::list(
            context.output,
            &client.list_sticks(&tenant, batch.as_deref()).await?,
        ),
        SticksCommand::Show { tenant, stick } => {
            output::one(context.output, &client.get_stick(&tenant, &stick).await?)
        }
        SticksCommand::Ship { tenant, target } => {
            if is_stick_id(&target) {
                let stick = client
                    .update_stick(&tenant, &target, DeviceState::Shipped)
                    .await?;
                output::one(context.output, &stick)
            } else {
                let batch = client.stick_batch_action(&tenant, &target, "ship").await?;
                output::one(context.output, &batch)
            }
        }
        SticksCommand::Revoke { tenant, target } => {
            if is_stick_id(&target) {
                let stick = client
                    .update_stick(&tenant, &target, DeviceState::Revoked)
                    .await?;
                output::one(context.output, &stick)
            } else {
                let batch = client
                    .stick_batch_action(&tenant, &target, "revoke")
                    .await?;
                output::one(context.output, &batch)
            }
        }
    }
}

async fn run_batch(
    context: &Context,
    client: &Client,
    command: BatchCommand,
) -> anyhow::Result<()> {
    match command {
        BatchCommand::Create {
            tenant,
            count,
            employees,
            language,
            valid_days,
            group,
            out,
            manifest_separator,
        } => {
            sticks::preflight(&out).map_err(|e| UsageError(e.to_string()))?;
            let (recipients, lines) = match &employees {
                Some(path) => {
                    let parsed = read_employees(client, &tenant, path).await?;
                    (parsed.recipients, parsed.lines)
                }
                None => (Vec::new(), Vec::new()),
            };
            if count.is_none() && recipients.is_empty() {
                return Err(UsageError("give --count or --employees".to_owned()).into());
            }
            let request = CreateStickBatch {
                count,
                recipients,
                language,
                valid_days,
                group,
            };
            let separator = manifest_separator.of();
            let sticks = count.map_or(request.recipients.len(), |c| c as usize);
            say(&tr().count(
                "cli-sticks-preparing",
                self::count(sticks),
                &[("tenant", &tenant)],
            ));
            let issued = match client.create_stick_batch(&tenant, &request).await {
                Ok(issued) => issued,
                Err(error) => {
                    let file = employees.as_ref().map(|p| p.display().to_string());
                    return Err(match (file, problems_by_line(&error, &lines)) {
                        (Some(file), Some(problems)) => csv_problems(&file, problems),
                        _ => error.into(),
                    });
                }
            };
            write_batch(context, client, &tenant, issued, &out, separator).await
        }
        BatchCommand::Resume { tenant, batch, out } => {
            sticks::preflight(&out).map_err(|e| UsageError(e.to_string()))?;
            let existing = client.get_stick_batch(&tenant, &batch).await?;
            if existing.state == BatchState::Ready {
                return Err(UsageError(format!(
                    "batch {batch} is already complete; nothing to resume"
                ))
                .into());
            }
            let _ = sticks::discard_staging(&out, &existing.id);
            let separator = sticks::manifest::Separator::Comma;
            say("Issuing new tokens for the interrupted batch (the old ones stop working)…");
            let issued = client.reissue_stick_batch(&tenant, &batch).await?;
            write_batch(context, client, &tenant, issued, &out, separator).await
        }
        BatchCommand::Cancel { tenant, batch, out } => {
            let cancelled = client.cancel_stick_batch(&tenant, &batch).await?;
            if let Some(out) = out {
                sticks::discard_staging(&out, &cancelled.id).with_context(|| {
                    format!("cannot remove the partial files next to {}", out.display())
                })?;
            }
            output::done(
                context.output,
                &tr().count(
                    "cli-sticks-cancelled",
                    i64::from(cancelled.count),
                    &[("batch", &cancelled.id)],
                ),
            );
            Ok(())
        }
        BatchCommand::List { tenant, wide } => {
            let batches = client.list_stick_batches(&tenant).await?;
            if wide {
                let wide: Vec<WideBatch> = batches.into_iter().map(WideBatch).collect();
                output::list(context.output, &wide)
            } else {
                output::list(context.output, &batches)
            }
        }
        BatchCommand::Show { tenant, batch } => output::one(
            context.output,
            &WideBatch(client.get_stick_batch(&tenant, &batch).await?),
        ),
    }
}

/// The employee list of `path`. Every problem is reported at once, by its
/// line: the file's own, and usernames the tenant does not have (checked
/// here when the caller may list the tenant's users). Columns homegate does
/// not use are ignored and named.
async fn read_employees(
    client: &Client,
    tenant: &str,
    path: &Path,
) -> anyhow::Result<sticks::recipients::ParsedCsv> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
    let file = path.display().to_string();
    let (parsed, mut problems) = sticks::recipients::parse_csv_all(&text);
    if !parsed.ignored.is_empty() {
        say(&tr().count(
            "cli-csv-ignored",
            count(parsed.ignored.len()),
            &[("file", &file), ("columns", &parsed.ignored.join(", "))],
        ));
    }
    let named = parsed.recipients.iter().any(|r| r.username.is_some());
    if named && let Ok(users) = client.list_users(tenant).await {
        for (recipient, line) in parsed.recipients.iter().zip(&parsed.lines) {
            if let Some(username) = recipient.username.as_deref()
                && !users
                    .iter()
                    .any(|u| u.username == username || u.id == username)
            {
                problems.push(sticks::recipients::CsvProblem {
                    line: *line,
                    message: format!("no employee '{username}' in {tenant}"),
                });
            }
        }
    }
    if problems.is_empty() {
        return Ok(parsed);
    }
    Err(csv_problems(&file, problems))
}

/// All problems of a file in one usage error, in the order of its lines.
fn csv_problems(file: &str, mut problems: Vec<sticks::recipients::CsvProblem>) -> anyhow::Error {
    problems.sort_by_key(|p| p.line);
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    UsageError(tr().count(
        "cli-csv-problems",
        count(problems.len()),
        &[("file", file), ("problems", &shown.join("; "))],
    ))
    .into()
}

/// Problems the control plane found in the list (`recipients[N].…`, N from
/// 1), by the line of the file they came from.
fn problems_by_line(
    error: &client::ClientError,
    lines: &[u64],
) -> Option<Vec<sticks::recipients::CsvProblem>> {
    let client::ClientError::Api { problem, .. } = error else {
        return None;
    };
    let problems: Vec<sticks::recipients::CsvProblem> = problem
        .errors
        .iter()
        .filter_map(|error| {
            let rest = error.field.strip_prefix("recipients[")?;
            let (index, _) = rest.split_once(']')?;
            let index: usize = index.parse().ok()?;
            Some(sticks::recipients::CsvProblem {
                line: *lines.get(index.checked_sub(1)?)?,
                message: error.message.clone(),
            })
        })
        .collect();
    (!problems.is_empty() && problems.len() == problem.errors.len()).then_some(problems)
}

/// The CLI's texts: English, with Fluent's plural rules.
fn tr() -> i18n::Tr {
    i18n::Tr::new(Language::En)
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn say(message: &str) {
    eprintln!("{message}");
}

/// Writes the files with a progress bar, then completes the batch; on
/// failure or Ctrl-C removes the files and cancels the batch.
async fn write_batch(
    context: &Context,
    client: &Client,
    tenant: &str,
    issued: StickBatchIssued,
    out: &Path,
    separator: sticks::manifest::Separator,
) -> anyhow::Result<()> {
    super::warn_public_url(
        &issued.control_plane,
        "every stick's bundle and letter of this batch",
    );
    let batch_id = issued.batch.id.clone();
    let total = issued.sticks.len() as u64;
    let bar = progress_bar(total);
    let cancel = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let job = {
        let bar = bar.clone();
        let cancel = Arc::clone(&cancel);
        let out = out.to_owned();
        tokio::task::spawn_blocking(move || {
            let report = sticks::generate_with(
                &issued,
                &out,
                separator,
                &|done, _| bar.report(done),
                &cancel,
            );
            (issued, report)
        })
    };
    tokio::pin!(job);
    let mut interrupted = false;
    let (issued, result) = loop {
        tokio::select! {
            finished = &mut job => break finished.context("the writer thread failed")?,
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                cancel.store(true, Ordering::SeqCst);
                bar.message("interrupted; removing what was written…");
            }
        }
    };
    bar.finish();
    match result {
        Ok(report) => {
            let batch = client.stick_batch_action(tenant, &batch_id, "complete").await.with_context(|| {
                format!(
                    "the files are in {} but the control plane did not record the batch as \
                     complete; run `homegate sticks batch resume --tenant {tenant} {batch_id} --out NEW_FOLDER`",
                    out.display()
                )
            })?;
            let seconds = started.elapsed().as_secs_f64();
            say(&tr().count(
                "cli-sticks-wrote",
                count(issued.sticks.len()),
                &[
                    ("out", &out.display().to_string()),
                    ("seconds", &format!("{seconds:.1}")),
                    (
                        "per_stick",
                        &format!(
                            "{:.1}",
                            seconds * 1000.0 / issued.sticks.len().max(1) as f64
                        ),
                    ),
                ],
            ));
            say(&format!(
                "Print letters.pdf, write the images to the sticks, then: homegate sticks ship --tenant {tenant} {batch_id}"
            ));
            let per_stick = |total: std::time::Duration| {
                total.as_secs_f64() * 1000.0 / report.sticks.max(1) as f64
            };
            say(&format!(
                "Time per stick, summed over {} threads: image {:.1} ms, letter {:.1} ms, bundle \
                 {:.1} ms; all letters in one PDF {:.1} s; manifest {:.0} ms",
                report.threads,
                per_stick(report.images),
                per_stick(report.letters),
                per_stick(report.bundles),
                report.merged_letters.as_secs_f64(),
                report.manifest.as_secs_f64() * 1000.0,
            ));
            output::one(context.output, &batch)
        }
        Err(error) => {
            let rollback = client.cancel_stick_batch(tenant, &batch_id).await;
            let outcome = match rollback {
                Ok(_) => {
                    "rolled back: no sticks were created and no files were left behind".to_owned()
                }
                Err(e) => format!(
                    "the files were removed, but cancelling batch {batch_id} failed ({e}); run \
                     `homegate sticks batch cancel --tenant {tenant} {batch_id}`"
                ),
            };
            if matches!(error, sticks::Error::Cancelled) {
                anyhow::bail!("interrupted; {outcome}");
            }
            anyhow::bail!("{error}; {outcome}");
        }
    }
}

/// An indicatif bar on a terminal; plain lines every 10 % otherwise.
#[derive(Clone)]
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    last_tenth: Arc<AtomicUsize>,
}

fn progress_bar(total: u64) -> Progress {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40.cyan/blue} {pos}/{len} sticks · {elapsed} · about {eta} left {msg}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    Progress {
        bar,
        total,
        last_tenth: Arc::new(AtomicUsize::new(0)),
    }
}

impl Progress {
    fn report(&self, done: usize) {
        match &self.bar {
            Some(bar) => bar.set_position(done as u64),
            None => {
                let tenth = (done as u64 * 10 / self.total.max(1)) as usize;
                if self.last_tenth.fetch_max(tenth, Ordering::SeqCst) < tenth {
                    eprintln!("  {done}/{} written", self.total);
                }
            }
        }
    }

    fn message(&self, message: &'static str) {
        match &self.bar {
            Some(bar) => bar.set_message(message),
            None => eprintln!("{message}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
