//! Stick batches the console writes on the server's disk, in the
//! background, with progress for the page that polls it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use api_types::sticks::StickBatchIssued;
use store::{Store, TenantAccess};

/// How far a batch's files are.
#[derive(Debug, Clone, PartialEq)]
pub enum JobStatus {
    Running {
        done: usize,
        total: usize,
    },
    Done {
        seconds: f64,
    },
    /// Rolled back: the batch was cancelled and no files remain.
    Failed {
        message: String,
    },
}

#[derive(Default)]
pub struct StickJobs {
    jobs: Mutex<HashMap<String, JobStatus>>,
}

impl StickJobs {
    pub fn status(&self, batch: &str) -> Option<JobStatus> {
        self.lock().get(batch).cloned()
    }

    fn set(&self, batch: &str, status: JobStatus) {
        self.lock().insert(batch.to_owned(), status);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, JobStatus>> {
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Failed jobs of batches that no longer exist, newest last.
    pub fn failures(&self) -> Vec<(String, String)> {
        self.lock()
            .iter()
            .filter_map(|(batch, status)| match status {
                JobStatus::Failed { message } => Some((batch.clone(), message.clone())),
                _ => None,
            })
            .collect()
    }

    /// Writes `issued` to `out` in the background, then completes the batch,
    /// or cancels it if writing fails.
    pub fn spawn(
        self: &Arc<Self>,
        store: Store,
        access: TenantAccess,
        issued: StickBatchIssued,
        out: PathBuf,
    ) {
        let jobs = Arc::clone(self);
        let batch = issued.batch.id.clone();
        jobs.set(
            &batch,
            JobStatus::Running {
                done: 0,
                total: issued.sticks.len() + 1,
            },
        );
        tokio::spawn(async move {
            let started = Instant::now();
            let progress_jobs = Arc::clone(&jobs);
            let progress_batch = batch.clone();
            let written = tokio::task::spawn_blocking(move || {
                sticks::generate_until(
                    &issued,
                    &out,
                    &|done, total| {
                        progress_jobs.set(&progress_batch, JobStatus::Running { done, total })
                    },
                    &AtomicBool::new(false),
                )
            })
            .await;
            let outcome = match written {
                Ok(Ok(_report)) => store
                    .complete_stick_batch(&access, &batch)
                    .await
                    .map_err(|e| e.to_string()),
                Ok(Err(error)) => Err(error.to_string()),
                Err(panic) => Err(format!("the writer failed: {panic}")),
            };
            match outcome {
                Ok(_) => jobs.set(
                    &batch,
                    JobStatus::Done {
                        seconds: started.elapsed().as_secs_f64(),
                    },
                ),
                Err(message) => {
                    if let Err(error) = store.cancel_stick_batch(&access, &batch).await {
                        tracing::error!(%error, batch, "cannot cancel a failed stick batch");
                    }
                    tracing::warn!(batch, message, "stick batch rolled back");
                    jobs.set(&batch, JobStatus::Failed { message });
                }
            }
        });
    }
}
