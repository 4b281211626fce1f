//! The identity-aware proxy: browser access to a tenant's web applications
//! at `https://APP.TENANT.proxy-domain/` (or `https://proxy-domain/TENANT/APP/`).
//!
//! It runs inside `homegate serve`, in front of the console's router (see
//! [`dispatch`]): requests whose host belongs to the proxy domain never reach
//! the console, its body limit or its timeout. A browser without a session
//! for the application is sent to the portal (`/portal/open/...`), which
//! requires the normal login with the tenant's MFA, checks the access rule
//! and hands a one-time code back to the application's host; the host
//! exchanges it for its own cookie. Each request then carries identity
//! headers and a signed assertion to the upstream; bodies and WebSockets
//! stream through, and end when the grant is revoked (see [`grants`]).

pub mod assertion;
mod directory;
pub mod grants;
mod guard;
mod portal;
pub mod route;
mod upstream;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use store::proxy::{ProxyIdentity, PublishedApp};

pub use directory::Directory;
pub use portal::open;

use self::assertion::Signer;
use self::grants::{Grant, Grants};
use self::route::{ProxyDomain, Target};
use crate::AppState;

/// The proxy's session cookie on an application's host.
pub const COOKIE: &str = "hg_proxy";
/// Where the proxy publishes its assertion keys on the control plane.
pub const JWKS_PATH: &str = "/.well-known/homegate/jwks.json";

/// How the proxy is set up (`serve --proxy-domain ...`).
#[derive(Debug, Clone)]
pub struct ProxySettings {
    pub domain: String,
    /// `https://proxy-domain/TENANT/APP/` instead of a host name per
    /// application, where wildcard DNS is not available.
    pub path_scheme: bool,
    /// Largest request body forwarded to an upstream.
    pub max_body_bytes: u64,
    /// How long an upstream may take to start its answer.
    pub upstream_timeout: Duration,
}

impl ProxySettings {
    pub const DEFAULT_MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;
    pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

    pub fn new(domain: &str) -> ProxySettings {
        ProxySettings {
            domain: domain.to_owned(),
            path_scheme: false,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            upstream_timeout: Self::DEFAULT_UPSTREAM_TIMEOUT,
        }
    }
}

type UpstreamClient =
    hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<guard::GuardedConnector>, Body>;

pub struct Proxy {
    pub domain: ProxyDomain,
    pub directory: Directory,
    pub grants: Grants,
    signer: tokio::sync::OnceCell<Signer>,
    /// For WebSocket upgrades, which take their connection for good.
    client: UpstreamClient,
    /// For everything else: connections driven in the request's own task.
    upstreams: Arc<upstream::Upstreams>,
    max_body_bytes: u64,
    upstream_timeout: Duration,
    issuer: String,
}

impl Proxy {
    pub fn new(
        settings: &ProxySettings,
        public_url: &str,
        policy: Arc<store::outbound::OutboundPolicy>,
    ) -> Result<Proxy, String> {
        let http = guard::GuardedConnector::new(policy);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let upstreams = Arc::new(upstream::Upstreams::new(connector.clone()));
        // Plain hyper rather than reqwest: the incoming body and the
        // upstream's answer pass through as they are, without URL parsing
        // or stream adapters per request.
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(60))
                .build(connector);
        Ok(Proxy {
            domain: ProxyDomain::new(&settings.domain, settings.path_scheme, public_url)?,
            directory: Directory::default(),
            grants: Grants::default(),
            signer: tokio::sync::OnceCell::new(),
            client,
            upstreams,
            max_body_bytes: settings.max_body_bytes,
            upstream_timeout: settings.upstream_timeout,
            issuer: public_url.trim_end_matches('/').to_owned(),
        })
    }

    pub async fn signer(&self, store: &store::Store) -> store::Result<&Signer> {
        self.signer
            .get_or_try_init(|| async {
                let keys = store.proxy_signing_keys(assertion::generate).await?;
                Signer::new(&keys).map_err(|error| store::StoreError::Config(error.to_string()))
            })
            .await
    }

    /// The address of a published application, if this server has a proxy.
    pub fn web_url(&self, tenant: &str, app: &str) -> String {
        self.domain.app_url(tenant, app)
    }

    fn cookie_path(target: &Target) -> String {
        format!("{}/", target.prefix)
    }
}

/// The tenant's applications with the browser addresses of the published ones.
pub async fn applications_with_web_urls(
    state: &AppState,
    access: &store::TenantAccess,
) -> store::Result<Vec<api_types::tenancy::Application>> {
    Ok(state
        .store
        .list_applications(access)
        .await?
        .into_iter()
        .map(|app| with_web_url(state, app))
        .collect())
}

/// Fills in the browser address of a published application.
pub fn with_web_url(
    state: &AppState,
    mut app: api_types::tenancy::Application,
) -> api_types::tenancy::Application {
    if let (Some(proxy), Some(_)) = (&state.proxy, &app.web_upstream) {
        app.web_url = Some(proxy.web_url(&app.tenant, &app.name));
    }
    app
}

/// Middleware in front of everything: requests for the proxy domain go to
/// the proxy, the rest to the control plane's routes.
/// Installed only when the proxy is configured; its state is one `Arc`, so
/// a request costs one reference count, not a copy of the whole `AppState`.
pub async fn dispatch(
    State(context): State<Arc<(AppState, Arc<Proxy>)>>,
    request: Request,
    next: Next,
) -> Response {
    let (state, proxy) = &*context;
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .map(str::to_owned);
    match host.filter(|host| proxy.domain.serves(host)) {
        Some(host) => handle(state, proxy, &host, request).await,
        None => next.run(request).await,
    }
}

fn message_page(status: StatusCode, title: &str, detail: &str) -> Response {
    use crate::console::escape;
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title} · homegate</title></head><body><main><h1>{title}</h1>\
         <p role=\"alert\">{detail}</p></main></body></html>",
        title = escape(title),
        detail = escape(detail),
    );
    let mut response = (status, Html(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn internal(error: &dyn std::fmt::Display) -> Response {
    let error_id = uuid::Uuid::new_v4();
    tracing::error!(%error_id, %error, "proxy error");
    message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        &format!(
            "Please try again shortly. The operator can find error id {error_id} in the server log."
        ),
    )
}

async fn handle(state: &AppState, proxy: &Arc<Proxy>, host: &str, request: Request) -> Response {
    let Some(target) = proxy.domain.locate(host, request.uri().path()) else {
        return message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "This address does not name an application.",
        );
    };
    let app = match proxy
        .directory
        .find(&state.store, &target.tenant, &target.app)
        .await
    {
        Ok(Some(app)) => app,
        Ok(None) => {
            return message_page(
                StatusCode::NOT_FOUND,
                "Not found",
                &format!(
                    "No application '{}' of '{}' is published here.",
                    target.app, target.tenant
                ),
            );
        }
        Err(error) => return internal(&error),
    };
    if target.rest.is_empty() {
        return Redirect::permanent(&format!("{}/", target.prefix)).into_response();
    }
    match target.rest.as_str() {
        "/.homegate/callback" => {
            let query = request.uri().query().map(str::to_owned);
            let source = crate::extract::client_addr_in(request.extensions());
            return callback(state, proxy, &app, &target, query.as_deref(), source).await;
        }
        "/.homegate/logout" => {
            let post = request.method() == Method::POST;
            let secret = session_cookie(request.headers());
            return logout(state, proxy, post, secret).await;
        }
        "/.homegate/jwks.json" => return jwks_of(state, proxy).await,
        _ => {}
    }
    let secret = session_cookie(request.headers());
    let granted = match secret {
        Some(secret) => match proxy.grants.check(&state.store, &secret).await {
            Ok(granted) => granted,
            Err(error) => return internal(&error),
        },
        None => None,
    };
    match granted {
        Some((grant, identity)) if identity.application_id == app.application_id => {
            forward(state, proxy, &app, &target, grant, &identity, request).await
        }
        _ => to_login(state, &target, &request),
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| route::cookie_value(value, COOKIE))
        .map(str::to_owned)
}

/// Sends a browser without a session to the portal, which brings it back.
fn to_login(state: &AppState, target: &Target, request: &Request) -> Response {
    let is_page =
        matches!(*request.method(), Method::GET | Method::HEAD) && !is_websocket(request.headers());
    if !is_page {
        return message_page(
            StatusCode::UNAUTHORIZED,
            "Not signed in",
            "Open the application in your browser to sign in.",
        );
    }
    let mut back = target.rest.clone();
    if let Some(query) = request.uri().query() {
        back.push('?');
        back.push_str(query);
    }
    use crate::console::encode;
    Redirect::to(&format!(
        "{}/portal/open/{}/{}?return={}",
        state.settings.public_url,
        encode(&target.tenant),
        encode(&target.app),
        encode(&back)
    ))
    .into_response()
}

struct CallbackQuery {
    code: Option<String>,
    return_to: Option<String>,
}

async fn callback(
    state: &AppState,
    proxy: &Proxy,
    app: &PublishedApp,
    target: &Target,
    query: Option<&str>,
    source: Option<String>,
) -> Response {
    let query = callback_query(query.unwrap_or(""));
    let Some(code) = query.code else {
        return message_page(
            StatusCode::BAD_REQUEST,
            "Sign-in link incomplete",
            "Open the application again from the portal.",
        );
    };
    match state
        .store
        .open_proxy_session(&code, &app.application_id, source)
        .await
    {
        Ok((secret, identity)) => {
            tracing::info!(user = %identity.username, tenant = %identity.tenant, app = %identity.application, "web access granted");
            let cookie = axum_extra::extract::cookie::Cookie::build((COOKIE, secret))
                .path(Proxy::cookie_path(target))
                .http_only(true)
                .secure(proxy.domain.secure())
                .same_site(axum_extra::extract::cookie::SameSite::Lax)
                .build();
            let back = format!(
                "{}{}",
                target.prefix,
                route::safe_return_path(query.return_to.as_deref())
            );
            let mut response = Redirect::to(&back).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(store::StoreError::Unauthenticated(message)) => {
            message_page(StatusCode::BAD_REQUEST, "Sign-in link expired", &message)
        }
        Err(error) => internal(&error),
    }
}

fn callback_query(query: &str) -> CallbackQuery {
    let mut result = CallbackQuery {
        code: None,
        return_to: None,
    };
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "code" => result.code = Some(value.into_owned()),
            "return" => result.return_to = Some(value.into_owned()),
            _ => {}
        }
    }
    result
}

/// `POST /.homegate/logout` on an application's host: ends this session.
async fn logout(state: &AppState, proxy: &Proxy, post: bool, secret: Option<String>) -> Response {
    if !post {
        return message_page(
            StatusCode::METHOD_NOT_ALLOWED,
            "Use the sign-out button",
            "Signing out needs a POST request.",
        );
    }
    if let Some(secret) = secret {
        if let Err(error) = state.store.end_proxy_session(&secret).await {
            return internal(&error);
        }
        proxy.grants.revoke(&secret);
    }
    Redirect::to(&format!("{}/portal", state.settings.public_url)).into_response()
}

fn is_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The identity headers and the assertion for one request, made once per
/// assertion lifetime and then reused.
fn identity_headers(
    proxy: &Proxy,
    signer: &Signer,
    app: &PublishedApp,
    grant: &Grant,
    identity: &ProxyIdentity,
    headers: &mut HeaderMap,
) -> store::Result<()> {
    let now = Instant::now();
    let prepared = match grant.identity_headers(now) {
        Some(prepared) => prepared,
        None => {
            let assertion = signer
                .sign(
                    &proxy.issuer,
                    &proxy.web_url(&app.tenant, &app.application),
                    identity,
                    time::OffsetDateTime::now_utc().unix_timestamp(),
                )
                .map_err(|error| store::StoreError::Config(error.to_string()))?;
            let groups = identity.groups.join(",");
            let values = [
                ("x-homegate-user", identity.username.as_str()),
                ("x-homegate-user-id", identity.user_id.as_str()),
                ("x-homegate-email", identity.email.as_str()),
                ("x-homegate-tenant", identity.tenant.as_str()),
                ("x-homegate-groups", groups.as_str()),
                ("x-homegate-assertion", assertion.as_str()),
            ];
            let prepared: grants::IdentityHeaders = values
                .iter()
                .filter_map(|(name, value)| {
                    // Values that are not plain visible ASCII are percent-encoded.
                    let encoded: String = if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                        (*value).to_owned()
                    } else {
                        crate::console::encode(value)
                    };
                    Some((
                        HeaderName::from_static(name),
                        HeaderValue::from_str(&encoded).ok()?,
                    ))
                })
                .collect();
            let renew =
                Duration::from_secs(u64::try_from(assertion::LIFETIME_SECS / 2).unwrap_or(30));
            grant.keep_identity_headers(Arc::clone(&prepared), now + renew);
            prepared
        }
    };
    for (name, value) in prepared.iter() {
        headers.insert(name.clone(), value.clone());
    }
    Ok(())
}

async fn forward(
    state: &AppState,
    proxy: &Proxy,
    app: &PublishedApp,
    target: &Target,
    grant: Arc<Grant>,
    identity: &ProxyIdentity,
    request: Request,
) -> Response {
    let started = Instant::now();
    let (mut parts, body) = request.into_parts();
    let websocket = is_websocket(&parts.headers);
    let client_upgrade = websocket
        .then(|| parts.extensions.remove::<hyper::upgrade::OnUpgrade>())
        .flatten();
    let declared_length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > proxy.max_body_bytes) {
        return message_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large",
            &format!(
                "Uploads through the web access are limited to {} MiB.",
                proxy.max_body_bytes / (1024 * 1024)
            ),
        );
    }
    let has_body = declared_length.is_some_and(|l| l > 0)
        || parts.headers.contains_key(header::TRANSFER_ENCODING);

    let mut url = format!("{}{}", app.upstream, target.rest);
    if let Some(query) = parts.uri.query() {
        url.push('?');
        url.push_str(query);
    }
    let mut headers = upstream_headers(&parts.headers);
    if websocket {
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    }
    let forwarded = [
        (
            "x-forwarded-for",
            crate::extract::client_addr(&parts).unwrap_or_default(),
        ),
        (
            "x-forwarded-proto",
            if proxy.domain.secure() {
                "https"
            } else {
                "http"
            }
            .to_owned(),
        ),
        (
            "x-forwarded-host",
            parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
        ),
        ("x-forwarded-prefix", target.prefix.clone()),
    ];
    for (name, value) in forwarded {
        if let (false, Ok(value)) = (value.is_empty(), HeaderValue::from_str(&value)) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let signer = match proxy.signer(&state.store).await {
        Ok(signer) => signer,
        Err(error) => return internal(&error),
    };
    if let Err(error) = identity_headers(proxy, signer, app, &grant, identity, &mut headers) {
        return internal(&error);
    }

    let body = if has_body {
        Body::new(http_body_util::Limited::new(
            body,
            usize::try_from(proxy.max_body_bytes).unwrap_or(usize::MAX),
        ))
    } else {
        Body::empty()
    };
    let Ok(uri) = url.parse::<axum::http::Uri>() else {
        return message_page(
            StatusCode::BAD_REQUEST,
            "Bad address",
            "This address cannot be forwarded.",
        );
    };
    let mut upstream_request = axum::http::Request::new(body);
    *upstream_request.method_mut() = parts.method.clone();
    *upstream_request.uri_mut() = uri;
    *upstream_request.headers_mut() = headers;
    let sending = async {
        if websocket {
            proxy
                .client
                .request(upstream_request)
                .await
                .map(|response| (response, None))
                .map_err(|error| (upstream::body_too_large(&error), error_chain(&error)))
        } else {
            proxy
                .upstreams
                .send(upstream_request)
                .await
                .map(|(response, in_use)| (response, Some(in_use)))
                .map_err(|error| (upstream::body_too_large(&error), error_chain(&error)))
        }
    };
    let (upstream, connection) = match tokio::time::timeout(proxy.upstream_timeout, sending).await {
        Ok(Ok(sent)) => sent,
        Ok(Err((true, _))) => {
            return message_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                "The upload is larger than the web access allows.",
            );
        }
        Ok(Err((false, error))) => {
            // A refused address (SSRF guard) is logged with its code.
            tracing::warn!(app = %app.application, tenant = %app.tenant, %error, "upstream failed");
            return message_page(
                StatusCode::BAD_GATEWAY,
                "Application unreachable",
                &format!(
                    "'{}' did not answer. Please try again later; if it persists, tell your IT coordinator.",
                    app.application
                ),
            );
        }
        Err(_) => {
            return message_page(
                StatusCode::GATEWAY_TIMEOUT,
                "Application too slow",
                &format!("'{}' did not answer in time.", app.application),
            );
        }
    };
    let status = upstream.status();
    // One line per request at DEBUG: the audit log has each grant.
    tracing::debug!(
        user = %identity.username,
        tenant = %identity.tenant,
        app = %app.application,
        method = %parts.method,
        path = %target.rest,
        status = status.as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "proxied"
    );
    let mut response_headers = downstream_headers(upstream.headers(), websocket);
    rewrite_location(&mut response_headers, app, proxy, target);

    if websocket && status == StatusCode::SWITCHING_PROTOCOLS {
        let Some(client_upgrade) = client_upgrade else {
            return message_page(
                StatusCode::BAD_REQUEST,
                "Not upgradable",
                "This connection cannot be upgraded.",
            );
        };
        let mut open = grant.open();
        let user = identity.username.clone();
        tokio::spawn(async move {
            let (client, upstream) = match tokio::try_join!(
                async { client_upgrade.await.map_err(|e| e.to_string()) },
                async {
                    hyper::upgrade::on(upstream)
                        .await
                        .map_err(|e| e.to_string())
                },
            ) {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "WebSocket upgrade failed");
                    return;
                }
            };
            let mut client = hyper_util::rt::TokioIo::new(client);
            let mut upstream = hyper_util::rt::TokioIo::new(upstream);
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                () = open.revoked() => {
                    tracing::info!(%user, "closing a WebSocket: access ended");
                }
            }
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = status;
        *response.headers_mut() = response_headers;
        return response;
    }

    let open = grant.open();
    let body = Revocable {
        inner: upstream.into_body(),
        connection,
        revoked: Box::pin(async move {
            let mut open = open;
            open.revoked().await;
        }),
        done: false,
    };
    let mut response = Response::new(Body::new(body));
    *response.status_mut() = status;
    *response.headers_mut() = response_headers;
    response
}

/// A response body that fails (so the connection is cut, not ended as if
/// complete) when the grant is revoked.
struct Revocable {
    inner: hyper::body::Incoming,
    /// The connection the body arrives on, driven here (not for WebSockets).
    connection: Option<upstream::InUse>,
    revoked: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    done: bool,
}

impl http_body::Body for Revocable {
    type Data = bytes::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if this.done {
            return std::task::Poll::Ready(None);
        }
        if this.revoked.as_mut().poll(cx).is_ready() {
            this.done = true;
            return std::task::Poll::Ready(Some(Err("access ended".into())));
        }
        if let Some(connection) = &mut this.connection {
            connection.drive(cx);
        }
        let frame = std::pin::Pin::new(&mut this.inner).poll_frame(cx);
        // The server stops polling once the body says it has ended, so the
        // connection goes back to the pool as soon as the last byte is in.
        let ended = match &frame {
            std::task::Poll::Ready(None) => true,
            std::task::Poll::Ready(Some(Ok(_))) => this.inner.is_end_stream(),
            _ => false,
        };
        if ended && let Some(connection) = this.connection.take() {
            connection.release();
        }
        frame.map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Request headers for the upstream: without hop-by-hop headers, headers
/// only the proxy may set, and the proxy's own cookie.
fn upstream_headers(incoming: &HeaderMap) -> HeaderMap {
    let named_by_connection = connection_tokens(incoming);
    let mut headers = HeaderMap::with_capacity(incoming.len() + 8);
    for (name, value) in incoming {
        let key = name.as_str();
        if route::is_hop_by_hop(key)
            || route::is_reserved(key)
            || named_by_connection.iter().any(|n| n == key)
        {
            continue;
        }
        if name == header::COOKIE {
            if let Some(rest) = value
                .to_str()
                .ok()
                .and_then(|v| route::without_cookie(v, COOKIE))
                && let Ok(value) = HeaderValue::from_str(&rest)
            {
                headers.append(header::COOKIE, value);
            }
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    headers
}

/// Response headers for the browser; a WebSocket's handshake keeps its
/// `Upgrade` and `Connection`.
fn downstream_headers(incoming: &HeaderMap, websocket: bool) -> HeaderMap {
    let named_by_connection = connection_tokens(incoming);
    let mut headers = HeaderMap::with_capacity(incoming.len());
    for (name, value) in incoming {
        let key = name.as_str();
        let handshake = websocket && matches!(key, "upgrade" | "connection");
        if !handshake && (route::is_hop_by_hop(key) || named_by_connection.iter().any(|n| n == key))
        {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    headers
}

fn connection_tokens(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|token| token.trim().to_ascii_lowercase())
        .filter(|token| token != "upgrade" && !token.is_empty())
        .collect()
}

/// An upstream's redirect to its own address points at the proxy instead.
fn rewrite_location(headers: &mut HeaderMap, app: &PublishedApp, proxy: &Proxy, target: &Target) {
    let Some(location) = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let rewritten = if let Some(rest) = location.strip_prefix(&app.upstream) {
        let base = proxy.web_url(&app.tenant, &app.application);
        Some(format!("{}{}", base.trim_end_matches('/'), rest))
    } else if location.starts_with('/') && !location.starts_with("//") && !target.prefix.is_empty()
    {
        Some(format!("{}{location}", target.prefix))
    } else {
        None
    };
    if let Some(value) = rewritten.and_then(|r| HeaderValue::from_str(&r).ok()) {
        headers.insert(header::LOCATION, value);
    }
}

/// The JWKS on the control plane, for upstreams that fetch it from there.
pub async fn jwks(State(state): State<AppState>) -> Response {
    match &state.proxy {
        Some(proxy) => jwks_of(&state, proxy).await,
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn jwks_of(state: &AppState, proxy: &Proxy) -> Response {
    match proxy.signer(&state.store).await {
        Ok(signer) => axum::Json(signer.jwks().clone()).into_response(),
        Err(error) => internal(&error),
    }
}

/// Sweeps grants every [`grants::SWEEP_EVERY`], on configuration changes
/// and when woken (logouts); runs until shutdown.
pub fn spawn_sweeper(state: AppState) -> Option<tokio::task::JoinHandle<()>> {
    let proxy = state.proxy.clone()?;
    Some(tokio::spawn(async move {
        let mut every = tokio::time::interval(grants::SWEEP_EVERY);
        let mut versions = state.store.watch_config_version();
        let mut shutting_down = state.shutting_down.subscribe();
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = versions.changed() => {}
                () = proxy.grants.wake.notified() => {}
                _ = shutting_down.changed() => break,
            }
            proxy.grants.sweep(&state.store).await;
            tokio::time::sleep(grants::SWEEP_AT_MOST_EVERY).await;
        }
    }))
}

/// An error with its causes, for the log (hyper's client hides the cause,
/// e.g. a refusal by the upstream policy, behind "client error (Connect)").
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
