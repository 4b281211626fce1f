//! Issue 10: browser access to a web application through the identity-aware
//! proxy — login hand-off, identity headers and signed assertion, header
//! stripping, open-redirect protection, limits, WebSockets and streams, and
//! revocation by group removal, logout and disabling.

use std::time::{Duration, Instant};

use api_types::Role;
use api_types::audit::AuditQuery;
use api_types::auth::LoginRequest;
use api_types::tenancy::{CreateAccessRule, CreateApplication, CreateGroup, Protocol, UpdateUser};
use futures::{SinkExt, StreamExt};
use reqwest::header;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::cli::{fails, json, ok};
use crate::support::{Backend, TestServer, USER_PASSWORD, problem_of};
use crate::upstream;

pub const DOMAIN: &str = "apps.test";
const MAX_BODY: u64 = 2 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_access_on_sqlite() {
    web_access(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_access_on_postgres() {
    web_access(Backend::Postgres).await;
}

/// Proxy settings of the tests: `*.apps.test`; with `allow_loopback`, the
/// provider allows upstreams on 127.0.0.0/8 (the tests' applications run on
/// loopback, which the proxy refuses by default).
pub fn proxy_settings(settings: &mut server::Settings, allow_loopback: bool) {
    let mut proxy = server::proxy::ProxySettings::new(DOMAIN);
    proxy.max_body_bytes = MAX_BODY;
    settings.proxy = Some(proxy);
    if allow_loopback {
        settings.outbound_policy.allow =
            store::outbound::OutboundPolicy::parse_allow(&["127.0.0.0/8".to_owned()]).unwrap();
    }
}

/// A server with the proxy on `*.apps.test` (upstreams on loopback
/// allowed), a tenant with a web application served by `upstream`, and its
/// group `office` with anna.
pub async fn proxied_server(backend: Backend, upstream: &str) -> TestServer {
    let mut server = TestServer::start(backend).await;
    server
        .configure(|settings| proxy_settings(settings, true))
        .await;
    let admin = &server.admin;
    server.tenant("lemgo", "10.20.0.0/16").await;
    for user in ["anna", "bob"] {
        server.login_as(Some("lemgo"), user, Role::Employee).await;
    }
    admin
        .create_group(
            "lemgo",
            &CreateGroup {
                name: "office".into(),
                description: None,
            },
        )
        .await
        .unwrap();
    admin
        .add_group_member("lemgo", "office", "anna")
        .await
        .unwrap();
    let app = admin
        .create_application(
            "lemgo",
            &CreateApplication {
                name: "akten".into(),
                description: None,
                cidr: "198.18.10.5/32".into(),
                protocol: Protocol::Tcp,
                ports: vec!["443".into()],
                web_upstream: Some(format!("{upstream}/")),
            },
        )
        .await
        .unwrap();
    assert_eq!(app.web_upstream.as_deref(), Some(upstream));
    assert!(
        app.web_url
            .as_deref()
            .unwrap()
            .starts_with("http://akten.lemgo.apps.test:")
    );
    admin
        .create_access_rule(
            "lemgo",
            &CreateAccessRule {
                group: "office".into(),
                application: "akten".into(),
            },
        )
        .await
        .unwrap();
    server
}

/// An HTTP client that reaches the proxy's host names on loopback and
/// follows no redirects, so each step can be checked.
struct Web {
    http: reqwest::Client,
    port: u16,
}

impl Web {
    fn new(server: &TestServer) -> Web {
        let port = url::Url::parse(&server.url).unwrap().port().unwrap();
        let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .resolve("akten.lemgo.apps.test", loopback)
            .resolve("localhost", loopback)
            .resolve("nothing.lemgo.apps.test", loopback)
            .no_proxy()
            .build()
            .unwrap();
        Web { http, port }
    }

    fn app(&self, path: &str) -> String {
        format!("http://akten.lemgo.apps.test:{}{path}", self.port)
    }

    async fn get(&self, url: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(url);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    /// Logs `user` in (password), opens the application and returns the
    /// proxy cookie and the portal login token.
    async fn sign_in(&self, server: &TestServer, user: &str) -> (String, String) {
        let login = portal_login(server, user).await;
        let first = self.get(&self.app("/echo?x=1"), None).await;
        assert_eq!(
            first.status(),
            303,
            "a browser without a session goes to the portal"
        );
        let portal = location(&first);
        assert!(
            portal.starts_with(&format!(
                "{}/portal/open/lemgo/akten?return=",
                server.url.replace("127.0.0.1", "localhost")
            )),
            "{portal}"
        );
        let granted = self.get(&portal, Some(&portal_cookie(&login))).await;
        assert_eq!(granted.status(), 303, "{:?}", granted.text().await);
        let callback = location(&granted);
        assert!(
            callback.starts_with(&self.app("/.homegate/callback?code=")),
            "{callback}"
        );
        let opened = self.get(&callback, None).await;
        assert_eq!(opened.status(), 303);
        assert_eq!(
            location(&opened),
            "/echo?x=1",
            "back where the browser started"
        );
        let set_cookie = opened.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
            "{set_cookie}"
        );
        assert!(
            !set_cookie.contains("Domain="),
            "host-only cookie: {set_cookie}"
        );
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        // The one-time code cannot be used again.
        assert_eq!(self.get(&callback, None).await.status(), 400);
        (cookie, login)
    }

    /// Opens `/portal/open/lemgo/akten` with a portal login.
    async fn open_in_portal(
        &self,
        server: &TestServer,
        login: &str,
        back: &str,
    ) -> reqwest::Response {
        let portal = format!("{}/portal/open/lemgo/akten?return={back}", server.url);
        self.get(&portal, Some(&portal_cookie(login))).await
    }

    /// An open WebSocket and a streaming download with the proxy cookie.
    async fn open_connections(
        &self,
        cookie: &str,
    ) -> (
        tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
        reqwest::Response,
    ) {
        let socket = self.websocket(cookie).await;
        let stream = self.get(&self.app("/stream"), Some(cookie)).await;
        assert_eq!(stream.status(), 200);
        (socket, stream)
    }

    async fn websocket(
        &self,
        cookie: &str,
    ) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
        let mut request = format!("ws://akten.lemgo.apps.test:{}/ws", self.port)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert(header::COOKIE, cookie.parse().unwrap());
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        let (mut socket, _) = tokio_tungstenite::client_async(request, tcp).await.unwrap();
        socket.send(Message::text("hello")).await.unwrap();
        let reply = socket.next().await.unwrap().unwrap();
        assert_eq!(reply.to_text().unwrap(), "echo hello");
        socket
    }
}

/// Sends `head` and returns the start of the answer.
async fn raw_request(port: u16, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 512];
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&answer[..read]).into_owned()
}

/// A login token, used as the portal's session cookie.
async fn portal_login(server: &TestServer, user: &str) -> String {
    server
        .anonymous()
        .login(&LoginRequest {
            username: user.into(),
            password: USER_PASSWORD.into(),
            token_name: None,
        })
        .await
        .unwrap()
        .token
        .unwrap()
}

/// The `hg_session` cookie of a portal login.
fn portal_cookie(login: &str) -> String {
    format!("hg_session={login}")
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// How long until a WebSocket and a streaming response are cut.
/// Asserts that `what` (done at `since`) cut the WebSocket and the stream
/// within 10 s, and prints how long each took.
async fn assert_cut_off(
    (mut socket, mut stream): (
        tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
        reqwest::Response,
    ),
    since: Instant,
    what: &str,
) {
    let socket_closed = async {
        loop {
            match tokio::time::timeout(Duration::from_secs(15), socket.next()).await {
                Err(_) => panic!("the WebSocket stayed open 15 s after revocation"),
                Ok(Some(Ok(Message::Close(_))) | None | Some(Err(_))) => return since.elapsed(),
                Ok(Some(Ok(_))) => {}
            }
        }
    };
    let stream_cut = async {
        loop {
            match tokio::time::timeout(Duration::from_secs(15), stream.chunk()).await {
                Err(_) => panic!("the stream stayed open 15 s after revocation"),
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None) | Err(_)) => return since.elapsed(),
            }
        }
    };
    let (socket_gone, stream_gone) = tokio::join!(socket_closed, stream_cut);
    println!("{what}: WebSocket closed after {socket_gone:?}, stream after {stream_gone:?}");
    assert!(socket_gone < Duration::from_secs(10) && stream_gone < Duration::from_secs(10));
}

async fn web_access(backend: Backend) {
    let upstream = upstream::start().await;
    let server = proxied_server(backend, &upstream.url).await;
    let web = Web::new(&server);
    let admin = &server.admin;

    // Anna signs in and reaches the application with her identity; what a
    // client claims about itself is stripped, and the proxy's cookie never
    // reaches the application.
    let (cookie, _login) = web.sign_in(&server, "anna").await;
    let echo: serde_json::Value = web
        .http
        .get(web.app("/echo?x=1"))
        .header(header::COOKIE, format!("theme=dark; {cookie}"))
        .header("X-Homegate-User", "admin")
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let headers = &echo["headers"];
    assert_eq!(echo["query"], "x=1");
    // One after the other, requests share the upstream connection.
    let before = upstream
        .connections
        .load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..20 {
        let answer = web.get(&web.app("/echo"), Some(&cookie)).await;
        assert_eq!(answer.status(), 200);
        answer.bytes().await.unwrap();
    }
    let opened = upstream
        .connections
        .load(std::sync::atomic::Ordering::Relaxed)
        - before;
    assert!(
        opened <= 1,
        "20 requests opened {opened} upstream connections"
    );
    assert_eq!(headers["x-homegate-user"], "anna");
    assert_eq!(headers["x-homegate-tenant"], "lemgo");
    assert_eq!(headers["x-homegate-groups"], "office");
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["cookie"], "theme=dark");
    assert!(
        headers["x-forwarded-host"]
            .as_str()
            .unwrap()
            .starts_with("akten.lemgo.apps.test")
    );

    // The assertion verifies with the published keys.
    let jwks: jsonwebtoken::jwk::JwkSet = web
        .get(
            &format!("{}/.well-known/homegate/jwks.json", server.url),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let assertion = headers["x-homegate-assertion"].as_str().unwrap();
    let kid = jsonwebtoken::decode_header(assertion).unwrap().kid.unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&[web.app("/")]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(assertion, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["preferred_username"], "anna");
    assert_eq!(claims["tenant"], "lemgo");
    let same_keys: serde_json::Value = web
        .get(&web.app("/.homegate/jwks.json"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(same_keys, serde_json::to_value(&jwks).unwrap());

    // The application's redirects to itself stay on the proxy.
    let redirect = web.get(&web.app("/redirect"), Some(&cookie)).await;
    assert_eq!(location(&redirect), web.app("/echo?from=redirect"));

    // Uploads stream through up to the limit.
    let body = vec![7u8; 1_500_000];
    let counted: serde_json::Value = web
        .http
        .post(web.app("/upload"))
        .header(header::COOKIE, &cookie)
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counted["bytes"], 1_500_000);
    // Over the limit: refused from the declared length, before any of the
    // body is read (a raw request, so the answer is seen before the body).
    let too_large = raw_request(
        web.port,
        &format!(
            "POST /upload HTTP/1.1\r\nHost: akten.lemgo.apps.test\r\nCookie: {cookie}\r\n\
             Content-Length: {}\r\n\r\n",
            MAX_BODY + 1
        ),
    )
    .await;
    assert!(too_large.starts_with("HTTP/1.1 413"), "{too_large}");

    // The login hand-off only sends the browser back to paths of the application.
    let login = portal_login(&server, "anna").await;
    let granted = web.open_in_portal(&server, &login, "//evil.example/").await;
    let opened = web.get(&location(&granted), None).await;
    assert_eq!(location(&opened), "/", "no redirect to another site");

    // Bob is not in the group: refused, and the refusal is audited.
    let bob_login = portal_login(&server, "bob").await;
    let refused = web.open_in_portal(&server, &bob_login, "/").await;
    assert_eq!(refused.status(), 403);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("no access to") && page.contains("akten"),
        "{page}"
    );
    let events = admin
        .audit(&AuditQuery {
            action: Some("proxy.".into()),
            limit: Some(100),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.action == "proxy.denied" && e.actor == "bob"),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.action == "proxy.access" && e.actor == "anna" && e.target_name == "akten")
    );
    // Nothing but a forged cookie: sent to the login, not to the application.
    let forged = web
        .get(&web.app("/echo"), Some("hg_proxy=hgp_forged"))
        .await;
    assert_eq!(forged.status(), 303);

    // Revocation 1: taking anna out of the group ends her WebSocket and
    // her streaming download.
    let open = web.open_connections(&cookie).await;
    let since = Instant::now();
    admin
        .remove_group_member("lemgo", "office", "anna")
        .await
        .unwrap();
    assert_cut_off(open, since, "group removal").await;
    assert_eq!(
        web.get(&web.app("/echo"), Some(&cookie)).await.status(),
        303
    );

    // Revocation 2: logging out of the portal.
    admin
        .add_group_member("lemgo", "office", "anna")
        .await
        .unwrap();
    let (cookie, login) = web.sign_in(&server, "anna").await;
    let open = web.open_connections(&cookie).await;
    let since = Instant::now();
    server.anonymous().with_token(login).logout().await.unwrap();
    assert_cut_off(open, since, "logout").await;

    // Revocation 3: disabling the employee.
    let (cookie, _) = web.sign_in(&server, "anna").await;
    let open = web.open_connections(&cookie).await;
    let since = Instant::now();
    admin
        .update_user(
            "lemgo",
            "anna",
            &UpdateUser {
                disabled: Some(true),
                ..UpdateUser::default()
            },
        )
        .await
        .unwrap();
    assert_cut_off(open, since, "disabling").await;

    // An employee of another municipality gets nothing of lemgo's.
    server.tenant("detmold", "10.30.0.0/16").await;
    server
        .login_as(Some("detmold"), "carla", Role::Employee)
        .await;
    let carla_login = portal_login(&server, "carla").await;
    let refused = web.open_in_portal(&server, &carla_login, "/").await;
    assert_eq!(refused.status(), 403);

    // Unknown applications and hosts outside any application.
    let unknown = web
        .get(
            &format!("http://nothing.lemgo.apps.test:{}/", web.port),
            None,
        )
        .await;
    assert_eq!(unknown.status(), 404);
}

/// Issue 20 item 2: an upstream the control plane would reach itself
/// (loopback, link-local, unspecified, multicast) is refused when saved —
/// through the API and the CLI, on both databases — and again when the
/// proxy connects, after DNS resolution, once the provider's allowance is
/// gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_ssrf_on_sqlite() {
    upstream_ssrf(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_ssrf_on_postgres() {
    upstream_ssrf(Backend::Postgres).await;
}

async fn upstream_ssrf(backend: Backend) {
    let upstream = upstream::start().await;
    let port = url::Url::parse(&upstream.url).unwrap().port().unwrap();
    let mut server = proxied_server(backend, &upstream.url).await;
    let web = Web::new(&server);
    let (cookie, _login) = web.sign_in(&server, "anna").await;
    assert_eq!(
        web.get(&web.app("/echo"), Some(&cookie)).await.status(),
        200
    );

    // Without the provider's allowance: nothing is saved, and the proxy
    // refuses the application saved before.
    server
        .configure(|settings| proxy_settings(settings, false))
        .await;
    let before = upstream
        .connections
        .load(std::sync::atomic::Ordering::SeqCst);
    let response = web.get(&web.app("/echo"), Some(&cookie)).await;
    assert_eq!(response.status(), 502, "literal 127.0.0.1 at connect time");
    assert_eq!(
        upstream
            .connections
            .load(std::sync::atomic::Ordering::SeqCst),
        before
    );
    let admin = &server.admin;
    for (target, code) in [
        (format!("http://127.0.0.1:{port}/"), "upstream_loopback"),
        ("http://169.254.169.254/".to_owned(), "upstream_link_local"),
        ("http://[::1]:22/".to_owned(), "upstream_loopback"),
        ("http://[fe80::1]/".to_owned(), "upstream_link_local"),
        ("http://0.0.0.0:8080/".to_owned(), "upstream_unspecified"),
        ("http://224.0.0.1/".to_owned(), "upstream_multicast"),
        (format!("http://localhost:{port}/"), "upstream_loopback"),
    ] {
        let (status, problem) = problem_of(
            admin
                .create_application(
                    "lemgo",
                    &CreateApplication {
                        name: "intern".into(),
                        description: None,
                        cidr: "198.18.10.9/32".into(),
                        protocol: Protocol::Tcp,
                        ports: vec![],
                        web_upstream: Some(target.clone()),
                    },
                )
                .await,
        );
        assert_eq!(status, 422, "{target}");
        assert_eq!(problem.errors[0].field, "web_upstream");
        assert!(problem.errors[0].message.starts_with(code), "{problem:?}");
        let (status, _) = problem_of(
            admin
                .update_application(
                    "lemgo",
                    "akten",
                    &api_types::tenancy::UpdateApplication {
                        web_upstream: Some(target.clone()),
                        ..Default::default()
                    },
                )
                .await,
        );
        assert_eq!(status, 422, "{target}");
    }
    assert_eq!(admin.list_applications("lemgo").await.unwrap().len(), 1);
    let dir = tempfile::tempdir().unwrap();
    crate::cli_sticks::login(dir.path(), &server);
    let error = fails(
        dir.path(),
        &[
            "applications",
            "update",
            "--tenant",
            "lemgo",
            "akten",
            "--web-upstream",
            "http://169.254.169.254/latest/meta-data",
        ],
    );
    assert!(error.contains("upstream_link_local"), "{error}");

    // A name is checked after resolution: saved while allowed, refused when
    // the proxy connects without the allowance.
    server
        .configure(|settings| proxy_settings(settings, true))
        .await;
    server
        .admin
        .update_application(
            "lemgo",
            "akten",
            &api_types::tenancy::UpdateApplication {
                web_upstream: Some(format!("http://localhost:{port}/")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        web.get(&web.app("/echo"), Some(&cookie)).await.status(),
        200
    );
    server
        .configure(|settings| proxy_settings(settings, false))
        .await;
    let connected = upstream
        .connections
        .load(std::sync::atomic::Ordering::SeqCst);
    let response = web.get(&web.app("/echo"), Some(&cookie)).await;
    assert_eq!(response.status(), 502, "localhost resolves to loopback");
    assert_eq!(
        upstream
            .connections
            .load(std::sync::atomic::Ordering::SeqCst),
        connected,
        "the refused upstream never saw a connection"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_through_the_api_and_the_cli() {
    let upstream = upstream::start().await;
    let server = proxied_server(Backend::Sqlite, &upstream.url).await;
    let admin = &server.admin;
    // Bad input: a clear problem, nothing written.
    let refused = |upstream: &'static str| async move {
        let (status, problem) = problem_of(
            admin
                .create_application(
                    "lemgo",
                    &CreateApplication {
                        name: "Akten Archiv".into(),
                        description: None,
                        cidr: "198.18.10.6/32".into(),
                        protocol: Protocol::Tcp,
                        ports: vec![],
                        web_upstream: Some(upstream.into()),
                    },
                )
                .await,
        );
        assert_eq!(status, 422);
        format!("{problem:?}")
    };
    let detail = refused("ftp://198.18.10.6/").await;
    assert!(
        detail.contains("must start with http:// or https://"),
        "{detail}"
    );
    let detail = refused("http://198.18.10.6/").await;
    assert!(
        detail.contains("cannot be part of a web address"),
        "{detail}"
    );
    assert_eq!(admin.list_applications("lemgo").await.unwrap().len(), 1);

    // The CLI publishes, shows the address, and stops publishing.
    let dir = tempfile::tempdir().unwrap();
    crate::cli_sticks::login(dir.path(), &server);
    let cli = dir.path();
    ok(
        cli,
        &[
            "applications",
            "create",
            "--tenant",
            "lemgo",
            "archiv",
            "--cidr",
            "198.18.10.7/32",
            "--web-upstream",
            "http://198.18.10.7:8080",
        ],
    );
    let shown = json(
        cli,
        &["applications", "show", "--tenant", "lemgo", "archiv"],
    );
    assert_eq!(shown["web_upstream"], "http://198.18.10.7:8080");
    assert!(
        shown["web_url"]
            .as_str()
            .unwrap()
            .starts_with("http://archiv.lemgo.apps.test:")
    );
    let table = ok(cli, &["applications", "list", "--tenant", "lemgo"]);
    assert!(table.contains("http://archiv.lemgo.apps.test:"), "{table}");
    ok(
        cli,
        &[
            "applications",
            "update",
            "--tenant",
            "lemgo",
            "archiv",
            "--web-upstream",
            "",
        ],
    );
    let shown = json(
        cli,
        &["applications", "show", "--tenant", "lemgo", "archiv"],
    );
    assert!(shown.get("web_upstream").is_none(), "{shown}");
    let error = fails(
        cli,
        &[
            "applications",
            "update",
            "--tenant",
            "lemgo",
            "archiv",
            "--web-upstream",
            "http://user:secret@198.18.10.7/",
        ],
    );
    assert!(
        error.contains("must not contain a user name or password"),
        "{error}"
    );
    server.stop().await;
}
