//! Admission requests from every gateway stream of this process, decided in
//! batches: one decider task takes what is queued (waiting a moment for
//! more) and hands it to the store as one transaction. At 8:00 on Monday
//! thousands of devices ask at once; one transaction per device would
//! serialize them behind the tenant's lock.

use std::sync::OnceLock;
use std::time::Duration;

use store::Store;
use store::seats::{AdmitOutcome, AdmitRequest};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// How long the decider waits for more requests once one came. Under load
/// the queue fills while the previous batch is decided anyway; this only
/// gathers a burst's first arrivals.
const GATHER: Duration = Duration::from_millis(2);
/// The most requests decided in one transaction, so one batch never holds
/// the database long.
const MAX_BATCH: usize = 2_000;

/// What became of an admission request.
#[derive(Debug)]
pub enum Decision {
    Decided(AdmitOutcome),
    /// Not decided before its deadline; nothing was written for it.
    Late,
    /// The database failed (logged); nothing was written for it.
    Failed,
}

struct Pending {
    request: AdmitRequest,
    deadline: Instant,
    reply: oneshot::Sender<Decision>,
}

/// The queue to this process's decider, started with the first request.
#[derive(Default)]
pub struct Admissions {
    queue: OnceLock<mpsc::UnboundedSender<Pending>>,
}

impl Admissions {
    /// Decides `request`, together with whatever else is pending, unless
    /// that cannot happen before `deadline`.
    pub async fn decide(
        &self,
        store: &Store,
        request: AdmitRequest,
        deadline: Instant,
    ) -> Decision {
        let queue = self.queue.get_or_init(|| {
            let (queue, pending) = mpsc::unbounded_channel();
            tokio::spawn(run(store.clone(), pending));
            queue
        });
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            request,
            deadline,
            reply,
        };
        if queue.send(pending).is_err() {
            return Decision::Failed;
        }
        answer.await.unwrap_or(Decision::Failed)
    }
}

async fn run(store: Store, mut queue: mpsc::UnboundedReceiver<Pending>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        let gathered_by = Instant::now() + GATHER;
        while batch.len() < MAX_BATCH {
            match tokio::time::timeout_at(gathered_by, queue.recv()).await {
                Ok(Some(pending)) => batch.push(pending),
                Ok(None) | Err(_) => break,
            }
        }
        decide_batch(&store, batch).await;
    }
}

async fn decide_batch(store: &Store, batch: Vec<Pending>) {
    let now = Instant::now();
    // Too late already (a backlog): answered without deciding.
    let (live, late): (Vec<Pending>, Vec<Pending>) =
        batch.into_iter().partition(|p| p.deadline > now);
    for pending in late {
        let _ = pending.reply.send(Decision::Late);
    }
    let Some(deadline) = live.iter().map(|p| p.deadline).min() else {
        return;
    };
    let requests: Vec<AdmitRequest> = live.iter().map(|p| p.request.clone()).collect();
    tracing::debug!(requests = requests.len(), "deciding admissions");
    // Cancelled at the deadline, the transaction rolls back: nothing of
    // the batch is written, and every request in it is answered "busy".
    match tokio::time::timeout_at(deadline, store.admit_sessions(&requests)).await {
        Err(_) => {
            for pending in live {
                let _ = pending.reply.send(Decision::Late);
            }
        }
        Ok(Ok(outcomes)) => {
            for (pending, outcome) in live.into_iter().zip(outcomes) {
                let _ = pending.reply.send(Decision::Decided(outcome));
            }
        }
        Ok(Err(error)) => {
            tracing::warn!(error = ?error, "admission batch failed");
            for pending in live {
                let _ = pending.reply.send(Decision::Failed);
            }
        }
    }
}
