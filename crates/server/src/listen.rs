//! The accept loop behind every listener `homegate serve` opens (plain and
//! TLS): a limit on open connections, a time limit for a request's head and
//! for idle connections, the client's address (from a trusted proxy's
//! `X-Forwarded-For`), and `Strict-Transport-Security` over TLS.
//!
//! Each connection has a [`Watch`]: its IO wrapper notes when bytes move,
//! its service wrapper when requests start and end. The connection's task
//! closes it when
//! - a request head is awaited (since the accept, or since the first byte
//!   after the last request) for longer than the header timeout: closed at
//!   once (slowloris);
//! - no request is in progress and no byte moved for the idle timeout:
//!   closed gracefully (a response still streaming is finished first).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, Request, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use ipnet::IpNet;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt as _;

/// How long connections may take and how many may be open, per listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request's head (request line and headers) must be complete this
    /// long after the connection was accepted, or after its first byte
    /// arrived on a kept-alive connection. Also bounds the TLS handshake.
    pub header_timeout: Duration,
    /// A connection without a request in progress and without a byte in
    /// either direction for this long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once; one more is closed as soon as it is
    /// accepted.
    pub max_connections: usize,
}

pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Below the Debian unit's 65,536 open files, with room for one upstream
/// connection of the access proxy per client connection.
pub const DEFAULT_MAX_CONNECTIONS: usize = 25_000;

impl ConnectionLimits {
    pub fn defaults() -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Peers whose `X-Forwarded-For` names the client (`--trusted-proxy`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted
    /// proxy; then the last address in `X-Forwarded-For` that is not itself
    /// a trusted proxy (hops appended by clients before it are not
    /// believed). Port 0 when the address came from the header.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> SocketAddr {
        let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
        if !self.trusts(peer.ip()) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                break;
            };
            client = SocketAddr::new(ip, 0);
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        .map(|ip| ip.to_canonical())
}

/// `max-age` of one year; subdomains are left alone (they may be the access
/// proxy's applications or other services of the provider).
const HSTS: &str = "max-age=31536000";

/// What [`serve`] needs besides the listener.
#[derive(Clone)]
pub struct Listening {
    pub app: Router,
    pub tls: Option<crate::tls::Tls>,
    pub limits: ConnectionLimits,
    pub trusted_proxies: Arc<TrustedProxies>,
}

/// Accepts connections until `shutdown` completes, then closes them
/// gracefully and returns when the last one is closed.
pub async fn serve(
    listener: TcpListener,
    listening: &Listening,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = listening.limits.max_connections.max(1);
    let slots = Arc::new(Semaphore::new(max));
    let (closing, closing_rx) = tokio::sync::watch::channel(false);
    // Each connection's task holds a sender; all dropped = all closed.
    let (alive, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut last_refusal_logged: Option<Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            let now = Instant::now();
            if last_refusal_logged.is_none_or(|at| now - at > Duration::from_secs(10)) {
                last_refusal_logged = Some(now);
                tracing::warn!(
                    max_connections = max,
                    "connection limit reached; closing new connections"
                );
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let listening = listening.clone();
        let closing = closing_rx.clone();
        let alive = alive.clone();
        tokio::spawn(async move {
            connection(stream, peer, slot, &listening, closing).await;
            drop(alive);
        });
    }
    drop(listener);
    closing.send_replace(true);
    // Connections upgraded to WebSockets are no longer HTTP's to close: they
    // hold their slot, but shutting down does not wait for them.
    drop(alive);
    let _ = all_closed.recv().await;
    Ok(())
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    slot: OwnedSemaphorePermit,
    listening: &Listening,
    closing: tokio::sync::watch::Receiver<bool>,
) {
    let limits = listening.limits;
    match &listening.tls {
        None => serve_connection(stream, peer, slot, listening, closing).await,
        Some(tls) => match tokio::time::timeout(limits.header_timeout, tls.accept(stream)).await {
            Ok(Ok(stream)) => serve_connection(stream, peer, slot, listening, closing).await,
            Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
        },
    }
}

async fn serve_connection<Io>(
    io: Io,
    peer: SocketAddr,
    slot: OwnedSemaphorePermit,
    listening: &Listening,
    mut closing: tokio::sync::watch::Receiver<bool>,
) where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = listening.limits;
    let watch = Arc::new(Watch::new());
    let io = TokioIo::new(Watched {
        io,
        watch: watch.clone(),
        _slot: slot,
    });
    let tls = listening.tls.is_some();
    let app = listening.app.clone();
    let trusted = listening.trusted_proxies.clone();
    let service_watch = watch.clone();
    let service = tower::service_fn(move |mut request: Request<Incoming>| {
        let client = trusted.client(peer, request.headers());
        request.extensions_mut().insert(ConnectInfo(client));
        let started = RequestGuard::new(service_watch.clone());
        let answer = app.clone().oneshot(request.map(Body::new));
        async move {
            let Ok(mut response) = answer.await;
            drop(started);
            if tls {
                response
                    .headers_mut()
                    .entry(header::STRICT_TRANSPORT_SECURITY)
                    .or_insert(HeaderValue::from_static(HSTS));
            }
            Ok::<_, Infallible>(response)
        }
    });
    let builder = Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection_with_upgrades(io, TowerToHyperService::new(service));
    let mut connection = std::pin::pin!(connection);
    let mut closing_gracefully = false;
    loop {
        let now = Instant::now();
        let wake_at = match watch.check(now, &limits) {
            Check::Close => {
                tracing::debug!(%peer, "request head not complete in time; closing");
                return;
            }
            Check::Idle => {
                if !closing_gracefully {
                    tracing::debug!(%peer, "idle; closing");
                    closing_gracefully = true;
                    connection.as_mut().graceful_shutdown();
                }
                now + limits.idle_timeout
            }
            Check::Until(at) => at,
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep_until(wake_at) => {}
            () = watch.changed.notified() => {}
            changed = closing.changed(), if !closing_gracefully => {
                if changed.is_err() || *closing.borrow() {
                    closing_gracefully = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// A connection's activity, shared by its IO, its service and its task.
/// Times are milliseconds since `epoch`; `head_since` is that plus one, 0
/// meaning "no head awaited".
struct Watch {
    epoch: Instant,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    head_since: AtomicU64,
    last_io: AtomicU64,
    read_any: AtomicBool,
    http2: AtomicBool,
    /// Wakes the connection's task when a head starts to arrive.
    changed: Notify,
}

enum Check {
    /// A request head took too long.
    Close,
    /// Nothing happened for the idle timeout.
    Idle,
    /// Look again at this time (or when woken).
    Until(Instant),
}

impl Watch {
    fn new() -> Watch {
        Watch {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            // The first head is awaited from the accept on.
            head_since: AtomicU64::new(1),
            last_io: AtomicU64::new(0),
            read_any: AtomicBool::new(false),
            http2: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn at(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms)
    }

    fn read(&self, bytes: &[u8]) {
        let now = self.now_ms();
        self.last_io.store(now, Ordering::Relaxed);
        if !self.read_any.swap(true, Ordering::Relaxed) && bytes.starts_with(b"PRI ") {
            // HTTP/2's connection preface: between requests a client sends
            // frames of its own (pings, window updates), which begin no head.
            self.http2.store(true, Ordering::Relaxed);
        }
        let between_requests = self.in_flight.load(Ordering::Relaxed) == 0
            && !(self.http2.load(Ordering::Relaxed) && self.requests.load(Ordering::Relaxed) > 0);
        if between_requests
            && self
                .head_since
                .compare_exchange(0, now + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.changed.notify_one();
        }
    }

    fn wrote(&self) {
        self.last_io.store(self.now_ms(), Ordering::Relaxed);
    }

    fn check(&self, now: Instant, limits: &ConnectionLimits) -> Check {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return Check::Until(now + limits.idle_timeout);
        }
        let mut wake_at = self.at(self.last_io.load(Ordering::Relaxed)) + limits.idle_timeout;
        let head_since = self.head_since.load(Ordering::Relaxed);
        if head_since > 0 {
            let deadline = self.at(head_since - 1) + limits.header_timeout;
            if now >= deadline {
                return Check::Close;
            }
            wake_at = wake_at.min(deadline);
        }
        if now >= wake_at {
            return Check::Idle;
        }
        Check::Until(wake_at)
    }
}

/// A request from its head until its response's head.
struct RequestGuard(Arc<Watch>);

impl RequestGuard {
    fn new(watch: Arc<Watch>) -> RequestGuard {
        watch.in_flight.fetch_add(1, Ordering::Relaxed);
        watch.requests.fetch_add(1, Ordering::Relaxed);
        watch.head_since.store(0, Ordering::Relaxed);
        RequestGuard(watch)
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.wrote();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection's byte stream, reporting to its [`Watch`]. It holds the
/// connection's slot, also after an upgrade to a WebSocket.
struct Watched<Io> {
    io: Io,
    watch: Arc<Watch>,
    _slot: OwnedSemaphorePermit,
}

impl<Io: AsyncRead + Unpin> AsyncRead for Watched<Io> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Some(read) = buf.filled().get(before..)
            && !read.is_empty()
        {
            this.watch.read(read);
        }
        result
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Watched<Io> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(written)) if written > 0) {
            this.watch.wrote();
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(written)) if written > 0) {
            this.watch.wrote();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
