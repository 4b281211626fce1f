//! Login through a tenant's own identity provider: a real OpenID Connect
//! provider (panva/oidc-provider on Node.js) started by the test, driven
//! through its login and consent pages like a browser would.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use api_types::Role;
use api_types::auth::SetIdentityProvider;
use api_types::tenancy::SetPolicy;

use crate::support::{Backend, TestServer, problem_of};

// The test's identity provider speaks plain http on loopback: a
// development setup (`serve --oidc-development`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_login_on_sqlite() {
    let mut server = TestServer::start(Backend::Sqlite).await;
    server
        .configure(|settings| settings.outbound_policy.oidc_http = true)
        .await;
    oidc_login_opens_a_console_session(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_login_on_postgres() {
    let mut server = TestServer::start(Backend::Postgres).await;
    server
        .configure(|settings| settings.outbound_policy.oidc_http = true)
        .await;
    oidc_login_opens_a_console_session(&server).await;
    server.stop().await;
}

const CLIENT_ID: &str = "homegate-lemgo";
const CLIENT_SECRET: &str = "a-client-secret-for-tests";

struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_provider(redirect_uri: &str) -> Provider {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/oidc");
    assert!(
        dir.join("node_modules/oidc-provider").exists(),
        "run `npm ci` in {} (cargo xtask test does)",
        dir.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("node")
        .current_dir(&dir)
        .args([
            "provider.mjs",
            &port.to_string(),
            CLIENT_ID,
            CLIENT_SECRET,
            redirect_uri,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node is needed for the OIDC test");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.starts_with("ready"), "provider did not start: {line}");
    // Keep draining, so the provider never writes into a closed pipe.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
    });
    Provider {
        child,
        issuer: format!("http://127.0.0.1:{port}"),
    }
}

/// The `action` of the first form in a page.
fn form_action(page: &str) -> String {
    let start = page
        .find("action=\"")
        .unwrap_or_else(|| panic!("no form on the page: {}", &page[..page.len().min(800)]))
        + 8;
    let end = page[start..].find('"').unwrap() + start;
    page[start..end].replace("&amp;", "&")
}

/// Logs in at the provider as `email`; returns the final response.
async fn browser_login(browser: &reqwest::Client, start: &str, email: &str) -> reqwest::Response {
    let login_page = browser.get(start).send().await.unwrap();
    let base = login_page.url().clone();
    let page = login_page.text().await.unwrap();
    let action = base.join(&form_action(&page)).unwrap();
    let consent = browser
        .post(action)
        .form(&[
            ("prompt", "login"),
            ("login", email),
            ("password", "whatever"),
        ])
        .send()
        .await
        .unwrap();
    let base = consent.url().clone();
    let page = consent.text().await.unwrap();
    let action = base.join(&form_action(&page)).unwrap();
    browser
        .post(action)
        .form(&[("prompt", "consent")])
        .send()
        .await
        .unwrap()
}

fn new_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

async fn oidc_login_opens_a_console_session(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    let it = server
        .login_as(Some("lemgo"), "it@lemgo.de", Role::TenantAdmin)
        .await;
    let redirect_uri = format!(
        "{}/auth/oidc/callback",
        server.url.replace("127.0.0.1", "localhost")
    );
    let provider = start_provider(&redirect_uri);
    let configured = it
        .set_identity_provider(
            "lemgo",
            &SetIdentityProvider {
                issuer: provider.issuer.clone(),
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
                username_claim: Some("email".into()),
                counts_as_mfa: true,
                auto_provision: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(configured.redirect_uri, redirect_uri);
    let shown = serde_json::to_string(&it.get_identity_provider("lemgo").await.unwrap()).unwrap();
    assert!(
        !shown.contains(CLIENT_SECRET),
        "the client secret is never shown"
    );
    let events =
        serde_json::to_string(&server.admin.audit(&Default::default()).await.unwrap()).unwrap();
    assert!(!events.contains(CLIENT_SECRET), "nor audited");

    server
        .login_as(Some("lemgo"), "anna@lemgo.de", Role::Employee)
        .await;
    let base = server.url.replace("127.0.0.1", "localhost");
    let start = format!("{base}/auth/oidc/lemgo/start?redirect_to=/portal/devices");

    let browser = new_browser();
    let landed = browser_login(&browser, &start, "anna@lemgo.de").await;
    let path = landed.url().path().to_owned();
    assert_eq!(
        path,
        "/portal/devices",
        "redirected back where the user wanted: {}",
        landed.text().await.unwrap()
    );
    let me: api_types::tenancy::User = browser
        .get(format!("{base}/auth/session"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me.username, "anna@lemgo.de");

    // The provider enforces MFA for this tenant: the login counts as MFA.
    it.set_policy(
        "lemgo",
        &SetPolicy {
            mfa_before_vpn_hours: Some(Some(1)),
            ..SetPolicy::default()
        },
    )
    .await
    .unwrap();
    let events = server.admin.audit(&Default::default()).await.unwrap();
    let login = events
        .iter()
        .find(|e| e.action == "user.login" && e.target_name == "anna@lemgo.de")
        .unwrap();
    assert_eq!(login.details["mfa"], true);
    assert_eq!(login.details["kind"], "console");

    // Someone the tenant does not know gets no session.
    let stranger = browser_login(&new_browser(), &start, "mallory@evil.example").await;
    assert!(stranger.status().is_client_error(), "{}", stranger.status());

    // Open redirects are refused: the target falls back to the portal.
    let tricky = format!("{base}/auth/oidc/lemgo/start?redirect_to=https://evil.example/");
    let landed = browser_login(&new_browser(), &tricky, "anna@lemgo.de").await;
    assert_eq!(landed.url().path(), "/portal");

    // Provider staff cannot use a tenant's provider to become someone else.
    let (status, _) = problem_of(server.anonymous().get::<serde_json::Value>(&["me"]).await);
    assert_eq!(status, 401);
}
