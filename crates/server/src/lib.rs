//! The control plane's HTTP server as a library: [`app`] builds the router,
//! [`Server`] binds and runs it. The `homegate serve` command and the tests
//! both use this, so tests exercise the real server.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod api;
pub mod console;
pub mod error;
pub mod extract;
pub mod gateway;
pub mod invitation_delivery;
pub mod listen;
pub mod mail;
mod metrics;
pub mod oidc;
pub mod proxy;
pub mod qr;
pub mod ratelimit;
pub mod session;
pub mod status_delivery;
pub mod stick_jobs;
pub mod tls;
pub mod webauthn;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use store::Store;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::ratelimit::LoginLimiter;

/// Settings of a running control plane that handlers need.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The URL users and devices reach the control plane at.
    pub public_url: String,
    /// How long a granted or renewed seat lasts without renewal.
    pub seat_lease_secs: u32,
    /// SHA-256 of the TLS certificate clients see, when this process serves
    /// TLS or the operator states it (TLS ends at a proxy).
    pub certificate_pin: Option<String>,
    /// Where batches made in the console are written.
    pub data_dir: Option<std::path::PathBuf>,
    /// An open incident without an update for longer than this is flagged
    /// on the status page.
    pub incident_stale_after_ms: i64,
    /// Where status-page mails go out; without it, e-mail subscriptions
    /// are off.
    pub smtp: Option<mail::SmtpSettings>,
    /// How long a rendered public status page is reused. API changes clear
    /// it at once; gateway health shows after at most this long.
    pub status_page_cache: Duration,
    /// How long an admission may wait for the database before it is
    /// answered "busy" without a decision (see [`ADMISSION_DEADLINE`]).
    pub admission_deadline: Duration,
    /// The identity-aware proxy for web applications, if configured.
    pub proxy: Option<proxy::ProxySettings>,
    /// Every replica's URL, for devices to fail over between; empty means
    /// `public_url` alone.
    pub control_plane_urls: Vec<String>,
    /// Which addresses web applications' upstreams may have (SSRF guard,
    /// `--upstream-allow`), checked when saved and when the proxy connects.
    pub outbound_policy: store::outbound::OutboundPolicy,
    /// Largest request body of the API and the console, JSON and forms
    /// alike (`--max-body-mib`); larger ones are answered 413.
    pub max_body_bytes: usize,
    /// Header-read and idle timeouts and the connection limit of every
    /// listener.
    pub connection_limits: listen::ConnectionLimits,
    /// Peers whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    pub trusted_proxies: listen::TrustedProxies,
}

impl Settings {
    /// Where the console writes stick batches.
    pub fn sticks_dir(&self) -> std::path::PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("homegate"))
            .join("sticks")
    }

    /// Settings for a control plane reachable at `public_url`.
    pub fn new(public_url: &str) -> Settings {
        Settings {
            public_url: public_url.trim_end_matches('/').to_owned(),
            seat_lease_secs: DEFAULT_SEAT_LEASE_SECS,
            certificate_pin: None,
            data_dir: None,
            incident_stale_after_ms: DEFAULT_INCIDENT_STALE_MINUTES * 60_000,
            smtp: None,
            status_page_cache: Duration::from_secs(5),
            admission_deadline: ADMISSION_DEADLINE,
            proxy: None,
            control_plane_urls: Vec::new(),
            outbound_policy: store::outbound::OutboundPolicy::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            connection_limits: listen::ConnectionLimits::defaults(),
            trusted_proxies: listen::TrustedProxies::default(),
        }
    }

    /// The control planes a device may ask, in order.
    pub fn control_planes(&self) -> Vec<String> {
        if self.control_plane_urls.is_empty() {
            vec![self.public_url.clone()]
        } else {
            self.control_plane_urls.clone()
        }
    }

    pub fn lease_ms(&self) -> i64 {
        i64::from(self.seat_lease_secs) * 1000
    }
}

/// A gateway gives up on an admission answer after `REQUEST_TIMEOUT` (and
/// asks again at the device's next handshake), so a decision made later
/// would only hold a seat nobody uses. Under a burst of thousands of
/// devices such late decisions queued behind each other until none arrived
/// in time; answering "busy" instead keeps the decisions that count.
pub const ADMISSION_DEADLINE: Duration =
    Duration::from_millis(admission::sessions::REQUEST_TIMEOUT - 500);

/// Open incidents are flagged after an hour without an update.
pub const DEFAULT_INCIDENT_STALE_MINUTES: i64 = 60;

/// Gateways renew every few seconds; the lease bounds how long sessions
/// outlive a control plane they cannot reach.
pub const DEFAULT_SEAT_LEASE_SECS: u32 = 120;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub login_limiter: Arc<LoginLimiter>,
    /// Enrollment attempts per source address.
    pub enroll_limiter: Arc<ratelimit::AddressLimiter>,
    /// Attempts to use an invitation link, per source address.
    pub invitation_limiter: Arc<ratelimit::AddressLimiter>,
    pub hub: Arc<gateway::Hub>,
    /// Admission requests of this process's gateway streams, decided in
    /// batches.
    pub admissions: Arc<gateway::Admissions>,
    /// Stick batches being written by the console.
    pub stick_jobs: Arc<stick_jobs::StickJobs>,
    /// The WebAuthn relying party; `None` when the public URL is an IP address.
    pub webauthn: Option<Arc<webauthn_rs::prelude::Webauthn>>,
    /// The OpenAPI document, rendered once at start-up.
    pub openapi: Arc<String>,
    /// Flips to `true` when the process shuts down: long-lived streams end
    /// so their peers fail over at once.
    pub shutting_down: tokio::sync::watch::Sender<bool>,
    /// Sends status-page mails; `None` without SMTP settings.
    pub mailer: Option<Arc<mail::Mailer>>,
    /// Outgoing HTTP (webhooks).
    pub http: reqwest::Client,
    /// Public status pages rendered in the last seconds.
    pub page_cache: Arc<console::PageCache>,
    /// The identity-aware proxy (when `Settings::proxy` is set).
    pub proxy: Option<Arc<proxy::Proxy>>,
    /// Ids of the gateways devices may be assigned to; it changes when one
    /// dies, comes back, or is drained, and wakes the devices' configuration
    /// long polls (`gateway::spawn_health_watch`).
    pub assignable_gateways: Arc<tokio::sync::watch::Sender<Vec<String>>>,
    /// Identity providers' discovery documents, fetched once per TTL.
    pub oidc_discovery: Arc<oidc::DiscoveryCache>,
}

impl AppState {
    pub fn new(store: Store, settings: Settings) -> AppState {
        let (_, openapi) = api::router();
        let outbound_policy = Arc::new(settings.outbound_policy.clone());
        AppState {
            store: store.with_outbound_policy(settings.outbound_policy.clone()),
            login_limiter: Arc::new(LoginLimiter::default()),
            enroll_limiter: Arc::new(ratelimit::AddressLimiter::new(
                20,
                Duration::from_secs(60),
                "enrollment attempts",
            )),
            invitation_limiter: Arc::new(ratelimit::AddressLimiter::new(
                20,
                Duration::from_secs(60),
                "invitation attempts",
            )),
            hub: Arc::new(gateway::Hub::default()),
            admissions: Arc::new(gateway::Admissions::default()),
            stick_jobs: Arc::default(),
            webauthn: webauthn::relying_party(&settings.public_url),
            openapi: Arc::new(openapi.to_pretty_json().unwrap_or_default()),
            shutting_down: tokio::sync::watch::Sender::new(false),
            mailer: settings.smtp.as_ref().and_then(|smtp| {
                mail::Mailer::new(smtp)
                    .inspect_err(|error| tracing::error!(%error, "e-mail is off"))
                    .ok()
                    .map(Arc::new)
            }),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            page_cache: Arc::new(console::PageCache::new(settings.status_page_cache)),
            assignable_gateways: Arc::new(tokio::sync::watch::Sender::new(Vec::new())),
            oidc_discovery: Arc::default(),
            proxy: settings.proxy.as_ref().and_then(|proxy| {
                proxy::Proxy::new(proxy, &settings.public_url, outbound_policy)
                    .inspect_err(|error| tracing::error!(%error, "the web access proxy is off"))
                    .ok()
                    .map(Arc::new)
            }),
            settings: Arc::new(settings),
        }
    }

    /// Ends gateway streams and other long-lived connections.
    pub fn begin_shutdown(&self) {
        self.shutting_down.send_replace(true);
    }
}

/// Largest request body the API and the console accept by default: six
/// times the largest documented one (a batch of 10,000 sticks with three
/// address lines per recipient, about 2.6 MB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Responses larger than this are compressed when the client accepts gzip or br.
pub const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (api, _) = api::router();
    let router = Router::new()
        .nest("/api/v1", api)
        .merge(
            console::router(
                state
                    .proxy
                    .as_ref()
                    .map(|proxy| proxy.domain.origins())
                    .as_deref(),
            )
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                console::localized_errors,
            ))
            .layer(axum::middleware::from_fn(console::forget_flash)),
        )
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(ready))
        .route("/metrics", axum::routing::get(metrics::for_staff))
        .route("/auth/oidc/{tenant}/start", axum::routing::get(oidc::start))
        .route("/auth/oidc/callback", axum::routing::get(oidc::callback))
        .route("/auth/session", axum::routing::get(session::whoami))
        .route(proxy::JWKS_PATH, axum::routing::get(proxy::jwks))
        // gzip or br when the client accepts it and the body is large (lists,
        // pages, the OpenAPI document); not for event streams and images.
        .layer(
            CompressionLayer::new().compress_when(
                SizeAbove::new(COMPRESS_ABOVE_BYTES)
                    .and(NotForContentType::GRPC)
                    .and(NotForContentType::IMAGES)
                    .and(NotForContentType::SSE),
            ),
        )
        // One limit for every body: tower-http's refuses a declared length
        // above it, axum's (which every extractor applies, 2 MiB unless
        // set) bodies that grow past it; both answer 413, explained below.
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(RequestBodyLimitLayer::new(state.settings.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.settings.max_body_bytes,
            error::explain_too_large,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let path = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                tracing::info_span!("http", method = %request.method(), path)
            }),
        )
        .with_state(state.clone());
    match state.proxy.clone() {
        // Outermost: the proxy's hosts bypass the limits above, which are
        // made for the API and would cut streams and WebSockets.
        Some(proxy) => router.layer(axum::middleware::from_fn_with_state(
            Arc::new((state, proxy)),
            proxy::dispatch,
        )),
        None => router,
    }
}

/// `/healthz`: the process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// `/readyz`: 200 when the database answers and carries this binary's
/// schema, 503 otherwise and while the process shuts down (load balancers
/// stop sending requests; `/healthz` only says the process is up).
async fn ready(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<&'static str, error::ApiError> {
    if *state.shutting_down.borrow() {
        return Err(error::ApiError::Unavailable(
            "not ready: shutting down".to_owned(),
        ));
    }
    if let Err(error) = state.store.check_ready().await {
        let cause = std::error::Error::source(&error)
            .map(|source| format!("{error}: {source}"))
            .unwrap_or_else(|| error.to_string());
        tracing::warn!(error = %cause, "not ready");
        return Err(error::ApiError::Unavailable(format!("not ready: {cause}")));
    }
    Ok("ready")
}

/// How often component statuses are compared with the recorded history.
pub const STATUS_SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// How often today's onboarding counts are written (a past day keeps the
/// last ones).
pub const ONBOARDING_DAY_EVERY: Duration = Duration::from_secs(900);

/// Work the control plane does by itself while it runs: capacity samples,
/// status history, onboarding counts per day, pruning old refusals,
/// invitation reminders, and sending mails and the status page's
/// notifications. Several
/// replicas may run it; samples are idempotent per period and deliveries
/// are claimed.
pub fn spawn_background(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut samples = tokio::time::interval(Duration::from_millis(
            u64::try_from(store::usage::SAMPLE_EVERY_MS).unwrap_or(300_000),
        ));
        let mut status = tokio::time::interval(STATUS_SAMPLE_EVERY);
        let mut deliveries = tokio::time::interval(Duration::from_secs(1));
        let mut pruning = tokio::time::interval(Duration::from_secs(3600));
        let mut reminders = tokio::time::interval(Duration::from_secs(60));
        let mut onboarding_days = tokio::time::interval(ONBOARDING_DAY_EVERY);
        let mut shutting_down = state.shutting_down.subscribe();
        loop {
            tokio::select! {
                _ = samples.tick() => {
                    if let Err(error) = state.store.record_usage_sample().await {
                        tracing::warn!(%error, "cannot record capacity sample");
                    }
                }
                _ = status.tick() => {
                    if let Err(error) = state.store.record_status_history(store::now_ms()).await {
                        tracing::warn!(%error, "cannot record status history");
                    }
                }
                _ = pruning.tick() => {
                    if let Err(error) = state.store.prune_refusals(store::now_ms()).await {
                        tracing::warn!(%error, "cannot prune old refusals");
                    }
                }
                _ = reminders.tick() => {
                    match state.store.queue_invitation_reminders(store::now_ms()).await {
                        Ok(0) => {}
                        Ok(queued) => tracing::info!(queued, "invitation reminders queued"),
                        Err(error) => tracing::warn!(%error, "cannot queue invitation reminders"),
                    }
                }
                _ = onboarding_days.tick() => {
                    if let Err(error) = state.store.record_onboarding_day(store::now_ms()).await {
                        tracing::warn!(%error, "cannot record onboarding counts");
                    }
                }
                _ = deliveries.tick() => {
                    status_delivery::deliver_due(&state).await;
                    invitation_delivery::deliver_due(&state).await;
                }
                _ = shutting_down.changed() => break,
            }
        }
    })
}

/// A bound, not yet running control-plane server.
struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

/// What the metrics listener serves: `/metrics` without a credential, for
/// a Prometheus on a trusted network, and `/healthz`.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(metrics::render))
        .route("/healthz", axum::routing::get(healthz))
        .with_state(state)
}

pub struct Server {
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: Option<tls::Tls>,
    metrics_listener: Option<tokio::net::TcpListener>,
}

impl Server {
    pub async fn bind(listen: SocketAddr, state: AppState) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        Ok(Server::from_listener(listener, state))
    }

    pub fn from_listener(listener: tokio::net::TcpListener, state: AppState) -> Server {
        Server {
            listener,
            state,
            tls: None,
            metrics_listener: None,
        }
    }

    /// Also serves [`metrics_app`] (plain HTTP) on `listener`.
    pub fn with_metrics_listener(mut self, listener: tokio::net::TcpListener) -> Server {
        self.metrics_listener = Some(listener);
        self
    }

    /// Serves HTTPS with `tls` instead of plain HTTP.
    pub fn with_tls(mut self, tls: tls::Tls) -> Server {
        self.tls = Some(tls);
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Revocation of proxied connections belongs to whatever serves them.
        let sweeper = proxy::spawn_sweeper(self.state.clone());
        let _stop_sweeper = AbortOnDrop(sweeper);
        // Other replicas' changes reach this one's gateway streams and proxy.
        let _stop_follower = AbortOnDrop(
            self.state
                .store
                .spawn_replica_follower(gateway::post_from_replicas(self.state.hub.clone())),
        );
        let _stop_health_watch = AbortOnDrop(Some(gateway::spawn_health_watch(self.state.clone())));
        let trusted_proxies = Arc::new(self.state.settings.trusted_proxies.clone());
        let limits = self.state.settings.connection_limits;
        // Scrapes need no graceful end: the metrics listener stops with the
        // main one.
        let _stop_metrics = AbortOnDrop(self.metrics_listener.map(|listener| {
            let listening = listen::Listening {
                limits,
                trusted_proxies: trusted_proxies.clone(),
                app: metrics_app(self.state.clone()),
                tls: None,
            };
            tokio::spawn(async move {
                if let Err(error) =
                    listen::serve(listener, &listening, std::future::pending()).await
                {
                    tracing::error!(%error, "metrics listener failed");
                }
            })
        }));
        let listening = listen::Listening {
            limits,
            trusted_proxies,
            app: app(self.state),
            tls: self.tls,
        };
        listen::serve(self.listener, &listening, shutdown).await
    }
}
