//! Writing a batch of home-office sticks to a folder, all or nothing.
//!
//! [`generate`] writes everything into a hidden staging folder next to the
//! output and renames it into place only when complete, so a failure (disk
//! full, a bug) or an interruption never leaves a half batch where the
//! operator expects a whole one. The caller pairs this with the control
//! plane: it completes the batch on success and cancels it on failure.
//!
//! Layout of the output folder:
//!
//! ```text
//! manifest.csv             one row per stick: recipient, expiry, image, SHA-256
//! letters.pdf              every letter, for printing in one go
//! letters/ST-….pdf         one letter per stick
//! images/ST-….img          raw disk image per stick (MBR + FAT32)
//! bundles/ST-….json        the enrollment bundle on its own
//! ```

pub mod image;
pub mod letter;
pub mod manifest;
pub mod recipients;

use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use api_types::sticks::{Bundle, StickBatchIssued, StickCredential};
use i18n::Tr;

use crate::image::{ImageTemplate, StickFiles};
use crate::letter::LetterContext;
use crate::manifest::Separator;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} already exists and is not empty; choose a new folder for the batch")]
    OutputExists(PathBuf),
    #[error("the disk is full (writing {0}); free space and start again")]
    DiskFull(PathBuf),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make the letter for {stick}: {source}")]
    Letter {
        stick: String,
        source: pdf_layout::Error,
    },
    #[error("interrupted")]
    Cancelled,
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    if source.kind() == std::io::ErrorKind::StorageFull {
        Error::DiskFull(path.to_owned())
    } else {
        Error::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Where time went, summed over all threads.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub sticks: usize,
    pub threads: usize,
    pub wall: Duration,
    pub template: Duration,
    pub bundles: Duration,
    pub images: Duration,
    pub letters: Duration,
    pub merged_letters: Duration,
    pub manifest: Duration,
    /// Bytes the images occupy on disk (they are sparse).
    pub allocated_bytes: u64,
}

/// The hidden folder a batch is written to before it is moved to `out`.
pub fn staging_dir(out: &Path, batch_id: &str) -> PathBuf {
    let name = out
        .file_name()
        .map_or_else(|| "batch".into(), |n| n.to_string_lossy().into_owned());
    out.with_file_name(format!(".{name}.partial-{batch_id}"))
}

/// Removes what an interrupted run left in the staging folder.
pub fn discard_staging(out: &Path, batch_id: &str) -> std::io::Result<bool> {
    let staging = staging_dir(out, batch_id);
    match std::fs::remove_dir_all(&staging) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

fn check_output(out: &Path) -> Result<(), Error> {
    match std::fs::read_dir(out) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::OutputExists(out.to_owned()));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            Err(Error::OutputExists(out.to_owned()))
        }
        Err(e) => Err(io_error(out, e)),
    }
}

/// Fails early, before the control plane creates anything, when `out`
/// cannot take a batch.
pub fn preflight(out: &Path) -> Result<(), Error> {
    check_output(out)?;
    let parent = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(Error::Io {
            path: parent,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "folder does not exist"),
        });
    }
    Ok(())
}

/// Writes the batch's files into `out` (which must not exist or be empty).
/// `progress(done, total)` is called from worker threads as work finishes.
/// On error nothing is left behind.
pub fn generate(
    issued: &StickBatchIssued,
    out: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Report, Error> {
    generate_until(issued, out, progress, &AtomicBool::new(false))
}

/// [`generate`] that gives up with [`Error::Cancelled`] (leaving nothing
/// behind) once `cancel` becomes true.
pub fn generate_until(
    issued: &StickBatchIssued,
    out: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
) -> Result<Report, Error> {
    generate_with(issued, out, Separator::Comma, progress, cancel)
}

/// [`generate_until`] with the manifest's field separator.
pub fn generate_with(
    issued: &StickBatchIssued,
    out: &Path,
    separator: Separator,
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
) -> Result<Report, Error> {
    check_output(out)?;
    let staging = staging_dir(out, &issued.batch.id);
    let _ = std::fs::remove_dir_all(&staging);
    let result = write_all(issued, &staging, separator, progress, cancel).and_then(|report| {
        // An empty folder the operator made is replaced by the complete one.
        if out.is_dir() {
            std::fs::remove_dir(out).map_err(|e| io_error(out, e))?;
        }
        std::fs::rename(&staging, out).map_err(|e| io_error(out, e))?;
        Ok(report)
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn write_all(
    issued: &StickBatchIssued,
    staging: &Path,
    separator: Separator,
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
) -> Result<Report, Error> {
    let started = Instant::now();
    // Bundles and images hold live enrollment tokens: the folders are the
    // technician's alone (0700), like every file in them (0600).
    for dir in ["", "letters", "images", "bundles"] {
        let path = staging.join(dir);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&path)
            .map_err(|e| io_error(&path, e))?;
    }
    let tr = Tr::new(issued.batch.language);
    let template_started = Instant::now();
    let readme = tr.args(
        "stick-readme",
        &[
            ("tenant", &issued.tenant_name),
            ("portal", &portal_url(issued)),
        ],
    );
    let readme_name = tr.t("stick-readme-file");
    let template = ImageTemplate::build(&StickFiles {
        readme_name: &readme_name,
        readme: &readme,
        volume_id: volume_id(&issued.batch.id),
        created_at: issued.batch.created_at,
    })
    .map_err(|e| io_error(staging, e))?;
    let template_time = template_started.elapsed();

    let portal = portal_url(issued);
    let context = LetterContext {
        tr,
        tenant_name: &issued.tenant_name,
        portal_url: &portal,
        token_expires_at: issued.batch.token_expires_at,
        today: time::OffsetDateTime::now_utc(),
    };
    // Progress counts sticks (20/20 for 20); the merged letters PDF is
    // written beside them and is done when the last one is.
    let total = issued.sticks.len();
    let done = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let checksums: Mutex<Vec<Option<String>>> = Mutex::new(vec![None; issued.sticks.len()]);
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 16);
    let totals: Mutex<Report> = Mutex::new(Report::default());

    let record_error = |error: Error| {
        failed.store(true, Ordering::SeqCst);
        let mut slot = first_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slot.get_or_insert(error);
    };
    std::thread::scope(|scope| {
        // The merged PDF is one long job: start it first, beside the workers.
        scope.spawn(|| {
            let began = Instant::now();
            let all: Vec<&StickCredential> = issued.sticks.iter().collect();
            let path = staging.join("letters.pdf");
            let result = pdf_layout::to_pdf(&letter::letter_document(&context, &all))
                .map_err(|source| Error::Letter {
                    stick: "all".into(),
                    source,
                })
                .and_then(|bytes| write_file(&path, &bytes));
            if let Err(error) = result {
                record_error(error);
            }
            lock(&totals).merged_letters += began.elapsed();
        });
        for _ in 0..threads {
            scope.spawn(|| {
                let mut mine = Report::default();
                loop {
                    if failed.load(Ordering::SeqCst) {
                        break;
                    }
                    if cancel.load(Ordering::SeqCst) {
                        record_error(Error::Cancelled);
                        break;
                    }
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(stick) = issued.sticks.get(index) else {
                        break;
                    };
                    match write_stick(issued, &template, &context, staging, stick, &mut mine) {
                        Ok(checksum) => {
                            lock(&checksums)[index] = Some(checksum);
                            progress(done.fetch_add(1, Ordering::SeqCst) + 1, total);
                        }
                        Err(error) => {
                            record_error(error);
                            break;
                        }
                    }
                }
                let mut totals = lock(&totals);
                totals.bundles += mine.bundles;
                totals.images += mine.images;
                totals.letters += mine.letters;
                totals.allocated_bytes += mine.allocated_bytes;
            });
        }
    });
    if let Some(error) = first_error
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        return Err(error);
    }
    let manifest_started = Instant::now();
    let checksums: Vec<String> = checksums
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let path = staging.join("manifest.csv");
    let manifest =
        manifest::render(issued, &checksums, separator).map_err(|e| io_error(&path, e))?;
    write_file(&path, &manifest)?;
    let mut report = totals
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    report.manifest = manifest_started.elapsed();
    report.template = template_time;
    report.sticks = issued.sticks.len();
    report.threads = threads;
    report.wall = started.elapsed();
    Ok(report)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn portal_url(issued: &StickBatchIssued) -> String {
    issued.portal_url.clone()
}

fn volume_id(batch_id: &str) -> u32 {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(batch_id.as_bytes());
    u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
}

pub fn bundle_for(issued: &StickBatchIssued, stick: &StickCredential) -> Bundle {
    Bundle {
        version: Bundle::VERSION,
        control_plane: issued.control_plane.clone(),
        certificate_pin: issued.certificate_pin.clone(),
        token: stick.token.clone(),
        stick_id: stick.stick_id.clone(),
        tenant: issued.batch.tenant.clone(),
    }
}

/// A new file only its owner may read (mode 0600).
pub(crate) fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write as _;
    let mut file = create_private(path).map_err(|e| io_error(path, e))?;
    file.write_all(bytes).map_err(|e| io_error(path, e))?;
    file.sync_all().map_err(|e| io_error(path, e))
}

fn write_stick(
    issued: &StickBatchIssued,
    template: &ImageTemplate,
    context: &LetterContext<'_>,
    staging: &Path,
    stick: &StickCredential,
    report: &mut Report,
) -> Result<String, Error> {
    let began = Instant::now();
    let bundle = serde_json::to_vec_pretty(&bundle_for(issued, stick))
        .map_err(|e| io_error(staging, std::io::Error::other(e)))?;
    let bundle_path = staging
        .join("bundles")
        .join(format!("{}.json", stick.stick_id));
    write_file(&bundle_path, &bundle)?;
    report.bundles += began.elapsed();

    let began = Instant::now();
    let image_path = staging
        .join("images")
        .join(format!("{}.img", stick.stick_id));
    let checksum = template
        .write(&bundle, &image_path)
        .map_err(|e| io_error(&image_path, e))?;
    report.allocated_bytes += std::fs::metadata(&image_path)
        .map(|m| std::os::unix::fs::MetadataExt::blocks(&m) * 512)
        .unwrap_or(0);
    report.images += began.elapsed();

    let began = Instant::now();
    let letter_path = staging
        .join("letters")
        .join(format!("{}.pdf", stick.stick_id));
    let pdf =
        pdf_layout::to_pdf(&letter::letter_document(context, &[stick])).map_err(|source| {
            Error::Letter {
                stick: stick.stick_id.clone(),
                source,
            }
        })?;
    write_file(&letter_path, &pdf)?;
    report.letters += began.elapsed();
    Ok(checksum)
}
