//! The gateway stream (`GET /api/v1/gateway/stream`): one WebSocket per
//! gateway carrying its configuration, admission requests and reports.
//!
//! WebSocket rather than gRPC: it shares the API's port, TLS and reverse
//! proxies, needs no code generation, and its JSON messages are the same
//! `api-types` the rest of the API uses.

mod admissions;
mod hub;

pub use admissions::Admissions;
pub use hub::Hub;

use std::sync::Arc;
use std::time::Duration;

use api_types::gateway::{
    FromGateway, GatewayConfig, PEERS_PER_MESSAGE, STREAM_VERSION, ToGateway,
};
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use store::gateway_stream::GatewayIdentity;
use tokio::sync::mpsc;

use crate::AppState;
use crate::error::ApiError;
use admissions::Decision;

/// A gateway that says nothing (not even a pong) for this long is gone.
const SILENCE_LIMIT: Duration = Duration::from_secs(6);
/// Each ping also records the gateway as seen while it answers, which is what
/// device assignment and failover go by (`GATEWAY_HEALTHY_MS`).
const PING_EVERY: Duration = Duration::from_millis(store::enrollment::GATEWAY_SEEN_EVERY_MS);
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest message a gateway may send. Its reports list every session
/// and its counters (about 200 bytes each): 64 MiB holds 300,000 sessions,
/// more than one gateway serves.
const MAX_FROM_GATEWAY: usize = 64 * 1024 * 1024;
/// What a gateway of stream version 1 accepts in one message (tungstenite's
/// default): a larger configuration can only reach it in version 2.
const VERSION_1_LIMIT: usize = 16 * 1024 * 1024;

pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            store::StoreError::Unauthenticated("send the gateway token as a bearer token".into())
        })?;
    let gateway = state.store.authenticate_gateway(token.trim()).await?;
    let token_hash = store::credentials::hash_secret(token.trim());
    Ok(upgrade
        .max_message_size(MAX_FROM_GATEWAY)
        .on_upgrade(move |socket| async move {
            let name = gateway.name.clone();
            if let Err(error) = serve(state, gateway, &token_hash, socket).await {
                tracing::info!(gateway = %name, %error, "gateway stream ended");
            }
        }))
}

#[derive(Debug, thiserror::Error)]
enum StreamError {
    #[error("connection closed")]
    Closed,
    #[error("no hello within {0:?}")]
    NoHello(Duration),
    #[error("silent for {0:?}")]
    Silent(Duration),
    #[error("its token was reissued or the gateway deleted")]
    TokenRevoked,
    #[error("bad message: {0}")]
    BadMessage(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("websocket: {0}")]
    Socket(#[from] axum::Error),
}

async fn send(socket: &mut WebSocket, message: &ToGateway) -> Result<(), StreamError> {
    let text =
        serde_json::to_string(message).map_err(|e| StreamError::BadMessage(e.to_string()))?;
    socket.send(Message::Text(text.into())).await?;
    Ok(())
}

/// Sends a whole configuration the way the gateway's stream version reads it.
async fn send_config(
    socket: &mut WebSocket,
    config: &GatewayConfig,
    stream: u32,
    gateway: &str,
) -> Result<(), StreamError> {
    if stream >= 2 {
        for message in config.to_messages(PEERS_PER_MESSAGE) {
            send(socket, &message).await?;
        }
        return Ok(());
    }
    let message = ToGateway::Config(config.clone());
    let text =
        serde_json::to_string(&message).map_err(|e| StreamError::BadMessage(e.to_string()))?;
    if text.len() > VERSION_1_LIMIT {
        tracing::warn!(
            gateway,
            bytes = text.len(),
            peers = config.peers.len(),
            "configuration too large for this gateway's stream version 1; update the gateway"
        );
    }
    socket.send(Message::Text(text.into())).await?;
    Ok(())
}

/// Sends a delta the way the gateway's stream version reads it.
async fn send_delta(
    socket: &mut WebSocket,
    delta: api_types::gateway::ConfigDelta,
    stream: u32,
) -> Result<(), StreamError> {
    if stream >= 2 {
        for message in delta.into_messages(PEERS_PER_MESSAGE) {
            send(socket, &message).await?;
        }
        Ok(())
    } else {
        send(socket, &ToGateway::Delta(delta)).await
    }
}

async fn receive(socket: &mut WebSocket) -> Result<Option<FromGateway>, StreamError> {
    match socket.recv().await {
        None => Err(StreamError::Closed),
        Some(Err(error)) => Err(error.into()),
        Some(Ok(Message::Text(text))) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StreamError::BadMessage(e.to_string())),
        Some(Ok(Message::Close(_))) => Err(StreamError::Closed),
        Some(Ok(_)) => Ok(None),
    }
}

async fn serve(
    state: AppState,
    gateway: GatewayIdentity,
    token_hash: &str,
    mut socket: WebSocket,
) -> Result<(), StreamError> {
    let hello = tokio::time::timeout(HELLO_TIMEOUT, async {
        loop {
            if let Some(message) = receive(&mut socket).await? {
                return Ok::<_, StreamError>(message);
            }
        }
    })
    .await
    .map_err(|_| StreamError::NoHello(HELLO_TIMEOUT))??;
    let FromGateway::Hello {
        public_key,
        endpoint,
        sessions,
        version: gateway_version,
        stream,
        ..
    } = hello
    else {
        return Err(StreamError::BadMessage("expected hello first".into()));
    };
    state
        .store
        .gateway_connected(&gateway, &public_key, endpoint.as_deref())
        .await?;
    let lease_ms = state.settings.lease_ms();
    let renewed = state
        .store
        .renew_sessions(&gateway, &sessions, &[], lease_ms)
        .await?;
    send(
        &mut socket,
        &ToGateway::Renewed {
            sessions: renewed,
            lease_secs: state.settings.seat_lease_secs,
        },
    )
    .await?;

    let (to_gateway, mut outbox) = mpsc::unbounded_channel::<ToGateway>();
    let connection = state.hub.register(&gateway.id, to_gateway.clone());
    let mut versions = state.store.watch_config_version();
    // Seen before the snapshot is read: a change committed while it is read
    // wakes the loop below (a delta, empty at worst) instead of being lost.
    versions.borrow_and_update();
    // Answer in the newest version both ends speak.
    let stream = stream.min(STREAM_VERSION);
    let mut current: GatewayConfig = state.store.gateway_config(&gateway).await?;
    send_config(&mut socket, &current, stream, &gateway.name).await?;
    tracing::info!(
        gateway = %gateway.name,
        version = current.version,
        gateway_version,
        stream,
        peers = current.peers.len(),
        "gateway connected"
    );

    let mut ping = tokio::time::interval(PING_EVERY);
    let mut last_heard = tokio::time::Instant::now();
    // At most one configuration is built at a time for this stream.
    let (built_tx, mut built_rx) = mpsc::channel::<store::Result<GatewayConfig>>(1);
    let mut building = false;
    let mut shutting_down = state.shutting_down.subscribe();
    let result = loop {
        if *shutting_down.borrow() {
            break Err(StreamError::Closed);
        }
        tokio::select! {
            _ = shutting_down.changed() => {
                if *shutting_down.borrow_and_update() {
                    let _ = socket.send(Message::Close(None)).await;
                    break Err(StreamError::Closed);
                }
            }
            message = socket.recv() => {
                last_heard = tokio::time::Instant::now();
                let message = match message {
                    None => break Err(StreamError::Closed),
                    Some(Err(error)) => break Err(error.into()),
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<FromGateway>(&text) {
                        Ok(message) => message,
                        Err(error) => break Err(StreamError::BadMessage(error.to_string())),
                    },
                    Some(Ok(Message::Close(_))) => break Err(StreamError::Closed),
                    Some(Ok(_)) => continue,
                };
                if let Err(error) = handle(&state, &gateway, message, &to_gateway).await {
                    break Err(error);
                }
            }
            Some(message) = outbox.recv() => {
                if let Err(error) = send(&mut socket, &message).await {
                    break Err(error);
                }
            }
            changed = versions.changed(), if !building => {
                if changed.is_err() {
                    break Err(StreamError::Closed);
                }
                // Built off the loop: a region of 100,000 devices takes
                // seconds, and meanwhile the loop keeps reading the socket,
                // answering admissions and pinging, so the stream is not
                // taken for silent. A change during the build is seen by
                // `changed()` once this build is in.
                building = true;
                let (store, gateway, built) = (state.store.clone(), gateway.clone(), built_tx.clone());
                tokio::spawn(async move {
                    let _ = built.send(store.gateway_config(&gateway).await).await;
                });
            }
            Some(next) = built_rx.recv() => {
                building = false;
                match next {
                    Ok(next) => {
                        let delta = current.diff(&next);
                        current = next;
                        // A version-only delta is sent too: the gateway reports
                        // the version it applied, and a gateway that stays
                        // behind looks stale to operators and tests alike.
                        if (!delta.is_empty() || delta.version != delta.from_version)
                            && let Err(error) = send_delta(&mut socket, delta, stream).await
                        {
                            break Err(error);
                        }
                    }
                    Err(error) => break Err(error.into()),
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > SILENCE_LIMIT {
                    break Err(StreamError::Silent(SILENCE_LIMIT));
                }
                match state.store.gateway_token_current(&gateway.id, token_hash).await {
                    Ok(true) => {}
                    Ok(false) => {
                        let _ = socket.send(Message::Close(None)).await;
                        break Err(StreamError::TokenRevoked);
                    }
                    Err(error) => {
                        tracing::warn!(gateway = %gateway.name, %error, "cannot check the gateway's token");
                    }
                }
                if let Err(error) = socket.send(Message::Ping(Vec::new().into())).await {
                    break Err(error.into());
                }
                if last_heard.elapsed() < PING_EVERY * 2
                    && let Err(error) = state.store.gateway_seen(&gateway).await
                {
                    tracing::warn!(gateway = %gateway.name, %error, "cannot record the gateway as seen");
                }
            }
        }
    };
    state.hub.unregister(&gateway.id, connection);
    result
}

/// Sends `message` to a gateway: directly when its stream is on this
/// replica, otherwise through the database to the replica that holds it.
pub async fn tell(state: &AppState, gateway_id: &str, message: ToGateway) {
    let text = match serde_json::to_string(&message) {
        Ok(text) => text,
        Err(error) => {
            tracing::warn!(%error, "cannot encode a gateway message");
            return;
        }
    };
    if !state.hub.send(gateway_id, message)
        && let Err(error) = state.store.post_to_gateway(gateway_id, &text).await
    {
        tracing::warn!(%error, gateway = gateway_id, "cannot reach a gateway through the other replicas");
    }
}

/// Delivers messages other replicas post for gateways connected here.
pub fn post_from_replicas(hub: Arc<Hub>) -> store::replicas::GatewayPost {
    Arc::new(move |gateway_id: &str, message: &str| {
        match serde_json::from_str::<ToGateway>(message) {
            Ok(message) => {
                hub.send(gateway_id, message);
            }
            Err(error) => tracing::warn!(%error, "unreadable gateway message from a replica"),
        }
    })
}

/// How often the gateways devices may be assigned to are looked at.
const HEALTH_WATCH_EVERY: Duration = Duration::from_secs(1);

/// Watches which gateways devices may be assigned to (healthy, undrained)
/// and updates `AppState::assignable_gateways` when that changes, so devices
/// waiting for news learn of a dead gateway at once. Several watchers on one
/// state are harmless: they publish the same list.
pub fn spawn_health_watch(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HEALTH_WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match state.store.assignable_gateways().await {
                Ok(ids) => {
                    state.assignable_gateways.send_if_modified(|current| {
                        let changed = *current != ids;
                        if changed {
                            *current = ids;
                        }
                        changed
                    });
                }
                Err(error) => tracing::warn!(%error, "cannot read gateway health"),
            }
        }
    })
}

async fn handle(
    state: &AppState,
    gateway: &GatewayIdentity,
    message: FromGateway,
    replies: &mpsc::UnboundedSender<ToGateway>,
) -> Result<(), StreamError> {
    let lease_ms = state.settings.lease_ms();
    match message {
        FromGateway::Hello { .. } => Err(StreamError::BadMessage("hello twice".into())),
        FromGateway::Admit {
            request_id,
            public_key,
        } => {
            // Decided concurrently so that a slow database does not hold up
            // the stream; answers carry the request id.
            let state = state.clone();
            let gateway = gateway.clone();
            let replies = replies.clone();
            let deadline = tokio::time::Instant::now() + state.settings.admission_deadline;
            tokio::spawn(async move {
                let request = store::seats::AdmitRequest {
                    gateway: gateway.clone(),
                    public_key: public_key.clone(),
                    lease_ms,
                };
                let decision = state
                    .admissions
                    .decide(&state.store, request, deadline)
                    .await;
                let (admitted, reason, undecided) = match decision {
                    Decision::Late => {
                        tracing::debug!(gateway = %gateway.name, "admission shed: too late to decide");
                        (
                            false,
                            Some("the control plane is busy; the device will retry".into()),
                            true,
                        )
                    }
                    Decision::Decided(outcome) => {
                        for old in &outcome.supersedes {
                            let end = ToGateway::EndSession {
                                public_key: public_key.clone(),
                                reason: "the device moved to another gateway".into(),
                            };
                            tell(&state, old, end).await;
                        }
                        (
                            outcome.admitted,
                            outcome.refusal.map(|(_, message)| message),
                            false,
                        )
                    }
                    Decision::Failed => (
                        false,
                        Some("the control plane could not decide; try again".into()),
                        true,
                    ),
                };
                let _ = replies.send(ToGateway::AdmitResult {
                    request_id,
                    public_key,
                    admitted,
                    lease_secs: state.settings.seat_lease_secs,
                    reason,
                    undecided,
                });
            });
            Ok(())
        }
        FromGateway::Report { sessions, stats } => {
            let renewed = state
                .store
                .renew_sessions(gateway, &sessions, &stats, lease_ms)
                .await?;
            let _ = replies.send(ToGateway::Renewed {
                sessions: renewed,
                lease_secs: state.settings.seat_lease_secs,
            });
            Ok(())
        }
        FromGateway::SessionEnded { public_key, reason } => {
            tracing::debug!(gateway = %gateway.name, %reason, "session ended");
            state.store.release_session(gateway, &public_key).await?;
            Ok(())
        }
        FromGateway::Applied { version } => {
            state.hub.applied(&gateway.id, version);
            Ok(())
        }
    }
}
