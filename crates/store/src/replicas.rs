//! Changes committed by other control-plane replicas. On PostgreSQL every
//! change that bumps the configuration version also sends
//! `NOTIFY homegate_config, '<version>'` in its transaction; each replica
//! listens and moves its own version watch, which wakes its gateway streams
//! and the proxy's directory and revocation sweep. Messages for a gateway
//! connected to another replica (ending a session) travel on
//! `homegate_gateway` as `'<gateway id> <message>'`. SQLite has one process.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::{Backend, Store};

pub(crate) const CONFIG_CHANNEL: &str = "homegate_config";
const GATEWAY_CHANNEL: &str = "homegate_gateway";
/// Re-read the version this often anyway: a notification sent while the
/// listening connection was being replaced is lost.
const RESYNC_EVERY: Duration = Duration::from_secs(5);
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Delivers a message for a gateway to it, if it is connected here.
pub type GatewayPost = Arc<dyn Fn(&str, &str) + Send + Sync>;

impl Store {
    /// Follows the commits of other replicas, and hands messages they post
    /// for gateways to `post`, until aborted; `None` on SQLite, where there
    /// are no other replicas.
    pub fn spawn_replica_follower(&self, post: GatewayPost) -> Option<tokio::task::JoinHandle<()>> {
        if self.backend != Backend::Postgres {
            return None;
        }
        let store = self.clone();
        Some(tokio::spawn(async move {
            loop {
                if let Err(error) = store.follow_replicas(&post).await {
                    tracing::warn!(%error, "lost the notifications of other replicas; reconnecting");
                }
                tokio::time::sleep(RECONNECT_AFTER).await;
            }
        }))
    }

    /// Posts a message for a gateway connected to another replica (all of
    /// them hear it; the one holding the gateway's stream delivers it).
    /// Nothing to do on SQLite: every gateway is connected to this process.
    pub async fn post_to_gateway(&self, gateway_id: &str, message: &str) -> crate::Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(GATEWAY_CHANNEL)
                .bind(format!("{gateway_id} {message}"))
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    async fn follow_replicas(&self, post: &GatewayPost) -> crate::Result<()> {
        let mut listener = PgListener::connect(&self.url).await?;
        listener
            .listen_all([CONFIG_CHANNEL, GATEWAY_CHANNEL])
            .await?;
        // Whatever was committed before we listened.
        self.refresh_config_version().await?;
        let mut resync = tokio::time::interval(RESYNC_EVERY);
        loop {
            tokio::select! {
                notification = listener.try_recv() => match notification? {
                    Some(notification) if notification.channel() == GATEWAY_CHANNEL => {
                        if let Some((gateway, message)) = notification.payload().split_once(' ') {
                            post(gateway, message);
                        }
                    }
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
