//! The proxy's memory of who may pass: each browser's grant. Whether a
//! grant is still valid is re-checked by the sweeper for all grants in use
//! in one query, every [`SWEEP_EVERY`] and after every configuration change
//! or logout; a grant that is no longer valid is revoked and its open
//! connections, WebSockets and streaming bodies included, are closed at
//! once. The identity forwarded (name, groups) is re-read on the request
//! path at most every [`REFRESH_IDENTITY_AFTER`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use store::Store;
use store::credentials::hash_secret;
use store::proxy::ProxyIdentity;
use tokio::sync::{Notify, watch};

/// The headers a grant adds to each request, made once per assertion.
pub type IdentityHeaders = Arc<[(axum::http::HeaderName, axum::http::HeaderValue)]>;

/// How long a grant's identity (name, e-mail, groups) is reused before a
/// request reads it again; validity is the sweeper's job.
pub const REFRESH_IDENTITY_AFTER: Duration = Duration::from_secs(30);
/// How often the sweeper re-checks grants in use. With the sweep's own
/// duration this bounds how long a revoked employee keeps a connection.
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);
/// Sweeps woken by changes are at least this far apart, so a burst of
/// changes costs one sweep.
pub const SWEEP_AT_MOST_EVERY: Duration = Duration::from_millis(250);
/// Grants unused this long (and without connections) are forgotten; the
/// next request checks the database again.
const FORGET_AFTER: Duration = Duration::from_secs(600);
/// Grants used this recently are swept even without open connections, so a
/// revocation also applies to the next plain request without delay.
const RECENTLY_USED: Duration = Duration::from_secs(60);

pub struct Grant {
    state: Mutex<GrantState>,
    revoked: watch::Sender<bool>,
    open: AtomicUsize,
}

struct GrantState {
    identity: Option<Arc<ProxyIdentity>>,
    checked_at: Option<Instant>,
    used_at: Instant,
    /// The identity headers with the signed assertion, and when to make
    /// new ones.
    headers: Option<(IdentityHeaders, Instant)>,
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

    /// The identity headers made earlier, if their assertion is still fresh.
    pub fn identity_headers(&self, now: Instant) -> Option<IdentityHeaders> {
        let state = lock(&self.state);
        state
            .headers
            .as_ref()
            .filter(|(_, renew_at)| *renew_at > now)
            .map(|(headers, _)| Arc::clone(headers))
    }

    pub fn keep_identity_headers(&self, headers: IdentityHeaders, renew_at: Instant) {
        lock(&self.state).headers = Some((headers, renew_at));
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
    by_secret: Mutex<HashMap<String, Arc<Grant>>>,
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
        let key = hash_secret(secret);
        let now = Instant::now();
        let grant = Arc::clone(lock(&self.by_secret).entry(key.clone()).or_insert_with(|| {
            Arc::new(Grant {
                state: Mutex::new(GrantState {
                    identity: None,
                    checked_at: None,
                    used_at: now,
                    headers: None,
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
                .is_some_and(|at| now.duration_since(at) < REFRESH_IDENTITY_AFTER)
            {
                return Ok(state.identity.clone().map(|id| (Arc::clone(&grant), id)));
            }
        }
        let identity = store.proxy_identity(&key).await?.map(Arc::new);
        let mut state = lock(&grant.state);
        state.checked_at = Some(Instant::now());
        if identity.as_deref() != state.identity.as_deref() {
            state.headers = None;
        }
        state.identity.clone_from(&identity);
        drop(state);
        if identity.is_none() {
            self.revoke_hash(&key);
        }
        Ok(identity.map(|id| (grant, id)))
    }

    fn revoke_hash(&self, key: &str) {
        if let Some(grant) = lock(&self.by_secret).remove(key) {
            grant.revoked.send_replace(true);
        }
    }

    /// Ends a grant at once (its logout link).
    pub fn revoke(&self, secret: &str) {
        self.revoke_hash(&hash_secret(secret));
    }

    /// Re-checks every grant in use (one query per 500); forgets idle ones.
    pub async fn sweep(&self, store: &Store) {
        let now = Instant::now();
        let in_use: Vec<String> = {
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
                .map(|(key, _)| key.clone())
                .collect()
        };
        if in_use.is_empty() {
            return;
        }
        match store.valid_proxy_sessions(&in_use).await {
            Ok(valid) => {
                for key in in_use.iter().filter(|key| !valid.contains(*key)) {
                    self.revoke_hash(key);
                }
            }
            // Keep serving what was valid: the next sweep tries again.
            Err(error) => tracing::warn!(%error, "cannot re-check proxy grants"),
        }
    }
}
