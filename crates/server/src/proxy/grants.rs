//! The proxy's memory of who may pass: each browser's grant, checked
//! against the database at most every [`REVALIDATE_AFTER`] on the request
//! path, and by the sweeper every [`SWEEP_EVERY`] (and on every
//! configuration change or logout) while it has open connections. A grant
//! that is no longer valid is revoked: its open connections, WebSockets and
//! streaming bodies included, are closed at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use store::Store;
use store::proxy::ProxyIdentity;
use tokio::sync::{Notify, watch};

/// A request older than this re-checks its grant in the database.
pub const REVALIDATE_AFTER: Duration = Duration::from_secs(5);
/// How often the sweeper re-checks grants in use. With the sweep's own
/// duration this bounds how long a revoked employee keeps a connection.
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);
/// Grants unused this long (and without connections) are forgotten; the
/// next request checks the database again.
const FORGET_AFTER: Duration = Duration::from_secs(600);
/// Grants used this recently are swept even without open connections, so a
/// revocation also applies to the next plain request without delay.
const RECENTLY_USED: Duration = Duration::from_secs(60);

pub struct Grant {
    secret: String,
    state: Mutex<GrantState>,
    revoked: watch::Sender<bool>,
    open: AtomicUsize,
}

struct GrantState {
    identity: Option<Arc<ProxyIdentity>>,
    checked_at: Option<Instant>,
    used_at: Instant,
    /// The signed assertion and when to make a new one.
    assertion: Option<(Arc<str>, Instant)>,
}

impl Grant {
    /// A guard for one open connection; `revoked()` resolves when the
    /// grant ends.
    pub fn open(self: &Arc<Self>) -> OpenConnection {
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenConnection {
            grant: Arc::clone(self),
            revoked: self.revoked.subscribe(),
        }
    }

    /// The cached assertion if it is still fresh.
    pub fn assertion(&self, now: Instant) -> Option<Arc<str>> {
        let state = lock(&self.state);
        state
            .assertion
            .as_ref()
            .filter(|(_, renew_at)| *renew_at > now)
            .map(|(token, _)| Arc::clone(token))
    }

    pub fn keep_assertion(&self, token: Arc<str>, renew_at: Instant) {
        lock(&self.state).assertion = Some((token, renew_at));
    }
}

pub struct OpenConnection {
    grant: Arc<Grant>,
    revoked: watch::Receiver<bool>,
}

impl OpenConnection {
    /// Resolves when the grant is revoked (never, while it is valid).
    pub async fn revoked(&mut self) {
        let _ = self.revoked.wait_for(|revoked| *revoked).await;
        if !*self.revoked.borrow() {
            // The grant was dropped without revocation: stay open.
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.grant.open.fetch_sub(1, Ordering::Relaxed);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Default)]
pub struct Grants {
    by_secret: Mutex<HashMap<[u8; 32], Arc<Grant>>>,
    /// Wakes the sweeper (logout, configuration change).
    pub wake: Notify,
}

impl Grants {
    /// The grant for a session cookie and the identity it carries, or
    /// `None` if the session is unknown, ended or no longer allowed.
    pub async fn check(
        &self,
        store: &Store,
        secret: &str,
    ) -> store::Result<Option<(Arc<Grant>, Arc<ProxyIdentity>)>> {
        let key: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let now = Instant::now();
        let grant = Arc::clone(lock(&self.by_secret).entry(key).or_insert_with(|| {
            Arc::new(Grant {
                secret: secret.to_owned(),
                state: Mutex::new(GrantState {
                    identity: None,
                    checked_at: None,
                    used_at: now,
                    assertion: None,
                }),
                revoked: watch::Sender::new(false),
                open: AtomicUsize::new(0),
            })
        }));
        {
            let mut state = lock(&grant.state);
            state.used_at = now;
            if state
                .checked_at
                .is_some_and(|at| now.duration_since(at) < REVALIDATE_AFTER)
            {
                return Ok(state.identity.clone().map(|id| (Arc::clone(&grant), id)));
            }
        }
        let identity = self.revalidate(store, &key, &grant).await?;
        Ok(identity.map(|id| (grant, id)))
    }

    async fn revalidate(
        &self,
        store: &Store,
        key: &[u8; 32],
        grant: &Arc<Grant>,
    ) -> store::Result<Option<Arc<ProxyIdentity>>> {
        let identity = store.proxy_identity(&grant.secret).await?.map(Arc::new);
        let mut state = lock(&grant.state);
        state.checked_at = Some(Instant::now());
        if identity.as_ref().map(|i| &**i) != state.identity.as_deref() {
            state.assertion = None;
        }
        state.identity.clone_from(&identity);
        drop(state);
        if identity.is_none() {
            grant.revoked.send_replace(true);
            lock(&self.by_secret).remove(key);
        }
        Ok(identity)
    }

    /// Ends a grant at once (its logout link).
    pub fn revoke(&self, secret: &str) {
        let key: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if let Some(grant) = lock(&self.by_secret).remove(&key) {
            grant.revoked.send_replace(true);
        }
    }

    /// Re-checks every grant in use; forgets idle ones.
    pub async fn sweep(&self, store: &Store) {
        let now = Instant::now();
        let grants: Vec<([u8; 32], Arc<Grant>)> = {
            let mut map = lock(&self.by_secret);
            map.retain(|_, grant| {
                grant.open.load(Ordering::Relaxed) > 0
                    || now.duration_since(lock(&grant.state).used_at) < FORGET_AFTER
            });
            map.iter()
                .filter(|(_, grant)| {
                    grant.open.load(Ordering::Relaxed) > 0
                        || now.duration_since(lock(&grant.state).used_at) < RECENTLY_USED
                })
                .map(|(key, grant)| (*key, Arc::clone(grant)))
                .collect()
        };
        for (key, grant) in grants {
            if let Err(error) = self.revalidate(store, &key, &grant).await {
                // Keep serving what was valid: the next sweep tries again.
                tracing::warn!(%error, "cannot re-check a proxy grant");
            }
        }
    }

    /// How many grants have open connections (for metrics and tests).
    pub fn open_connections(&self) -> usize {
        lock(&self.by_secret)
            .values()
            .map(|grant| grant.open.load(Ordering::Relaxed))
            .sum()
    }
}
