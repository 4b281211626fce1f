//! Changes committed by other control-plane replicas. On PostgreSQL every
//! change that bumps the configuration version also sends
//! `NOTIFY homegate_config, '<version>'` in its transaction; each replica
//! listens and moves its own version watch, which wakes its gateway streams
//! and the proxy's directory and revocation sweep. SQLite has one process.

use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::{Backend, Store};

pub(crate) const CONFIG_CHANNEL: &str = "homegate_config";
/// Re-read the version this often anyway: a notification sent while the
/// listening connection was being replaced is lost.
const RESYNC_EVERY: Duration = Duration::from_secs(5);
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

impl Store {
    /// Follows the commits of other replicas until aborted; `None` on
    /// SQLite, where there are none.
    pub fn spawn_replica_follower(&self) -> Option<tokio::task::JoinHandle<()>> {
        if self.backend != Backend::Postgres {
            return None;
        }
        let store = self.clone();
        Some(tokio::spawn(async move {
            loop {
                if let Err(error) = store.follow_replicas().await {
                    tracing::warn!(%error, "lost the notifications of other replicas; reconnecting");
                }
                tokio::time::sleep(RECONNECT_AFTER).await;
            }
        }))
    }

    async fn follow_replicas(&self) -> crate::Result<()> {
        let mut listener = PgListener::connect(&self.url).await?;
        listener.listen(CONFIG_CHANNEL).await?;
        // Whatever was committed before we listened.
        self.refresh_config_version().await?;
        let mut resync = tokio::time::interval(RESYNC_EVERY);
        loop {
            tokio::select! {
                notification = listener.try_recv() => match notification? {
                    Some(notification) => match notification.payload().parse::<u64>() {
                        Ok(version) => self.note_config_version(version),
                        Err(_) => {
                            self.refresh_config_version().await?;
                        }
                    },
                    // The connection was replaced: catch up on the gap.
                    None => {
                        self.refresh_config_version().await?;
                    }
                },
                _ = resync.tick() => {
                    self.refresh_config_version().await?;
                }
            }
        }
    }
}
