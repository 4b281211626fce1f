//! Issue 8: e-mail subscriptions with double opt-in, sent over SMTP to a
//! local sink (Python's aiosmtpd), per-language mails with an unsubscribe
//! link; webhooks signed with HMAC-SHA256 and retried after a failure; the
//! incident CLI.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api_types::status::WebhookCreated;
use hmac::Mac as _;

use crate::cli::{fails, json, ok};
use crate::cli_sticks::login;
use crate::support::{Backend, TestServer};

/// One webhook request as received.
#[derive(Clone, Debug)]
struct Received {
    timestamp: String,
    signature: String,
    event: String,
    body: Vec<u8>,
    answered: u16,
}

/// A webhook receiver that fails its first request with 500.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let log = Arc::clone(&log);
                async move {
                    let mut log = log.lock().unwrap();
                    let answered = if log.is_empty() { 500 } else { 204 };
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    log.push(Received {
                        timestamp: header("x-homegate-timestamp"),
                        signature: header("x-homegate-signature"),
                        event: header("x-homegate-event"),
                        body: body.to_vec(),
                        answered,
                    });
                    axum::http::StatusCode::from_u16(answered).unwrap()
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

/// Runs the delivery worker until `done` holds.
async fn deliver_until(server: &TestServer, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        server::status_delivery::deliver_due(&server.state).await;
        if done() {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn link(body: &str, path: &str) -> String {
    body.split_whitespace()
        .find(|word| word.contains(path))
        .unwrap_or_else(|| panic!("no {path} link in {body}"))
        .to_owned()
}

/// Follows a mail's link like a person: the GET shows a button, which POSTs.
async fn press_button(browser: &reqwest::Client, link: &str, form_path: &str) -> String {
    let page = browser
        .get(link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("action=\"{form_path}\"")), "{page}");
    let query = link.split("token=").nth(1).unwrap();
    let (token, language) = query.split_once("&language=").unwrap();
    let origin = link.split("/status/").next().unwrap();
    browser
        .post(format!("{origin}{form_path}"))
        .form(&[("token", token), ("language", language)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn subscriptions_and_webhooks(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let sink = server.mail_sink("Status <status@provider.example>").await;
    let dir = tempfile::tempdir().unwrap();
    login(dir.path(), &server);
    let cli = dir.path();
    ok(
        cli,
        &[
            "components",
            "add",
            "conferencing",
            "--title",
            "Videokonferenz",
        ],
    );

    let (hook_url, received) = webhook_receiver().await;
    let created: WebhookCreated =
        serde_json::from_value(json(cli, &["webhooks", "add", &hook_url])).unwrap();
    assert!(created.secret.starts_with("hgw_"));

    // Subscribing from the page's form, in Dutch.
    let browser = reqwest::Client::new();
    let page = browser
        .get(format!("{}/status?language=nl", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("action=\"/status/subscribe\""), "{page}");
    let thanks = browser
        .post(format!("{}/status/subscribe", server.url))
        .form(&[
            ("email", "anna@example.org"),
            ("language", "nl"),
            ("tenant", ""),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(thanks.contains("bevestig uw abonnement"), "{thanks}");
    let refused = browser
        .post(format!("{}/status/subscribe", server.url))
        .form(&[
            ("email", "not-an-address"),
            ("language", "nl"),
            ("tenant", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("is not an e-mail address"), "{refused}");

    deliver_until(&server, "the confirmation mail", || {
        !sink.mails().is_empty()
    })
    .await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let (to, subject, body) = &mails[0];
    assert_eq!(to, "anna@example.org");
    assert_eq!(subject, "Bevestig uw abonnement op de statuspagina");
    let confirm = link(body, "/status/subscriptions/confirm?token=");

    // Not confirmed yet: an incident mails nobody, but the webhook fires.
    let first = json(
        cli,
        &[
            "incidents",
            "create",
            "--impact",
            "major",
            "--component",
            "conferencing",
            "--title-de",
            "Videokonferenz gestört",
            "--title-nl",
            "Videovergaderen verstoord",
            "--message-de",
            "Wir untersuchen die Störung.",
        ],
    );
    let first_id = first["id"].as_str().unwrap().to_owned();
    // The webhook fails once and is retried after two seconds.
    deliver_until(&server, "the webhook's retry", || {
        received.lock().unwrap().iter().any(|r| r.answered == 204)
    })
    .await;
    assert_eq!(
        sink.mails().len(),
        1,
        "an unconfirmed address gets no incident mail"
    );
    let calls = received.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].answered, 500);
    for call in &calls {
        assert_eq!(call.event, "incident.created");
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(created.secret.as_bytes()).unwrap();
        mac.update(call.timestamp.as_bytes());
        mac.update(b".");
        mac.update(&call.body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(call.signature, expected);
        let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
        assert_eq!(body["incident"]["id"], first_id.as_str());
        assert_eq!(body["incident"]["title"]["nl"], "Videovergaderen verstoord");
    }
    let hooks = json(cli, &["webhooks", "list"]);
    assert_eq!(hooks[0]["pending"], 0, "{hooks}");
    assert!(
        hooks[0]["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("500"),
        "{hooks}"
    );

    // Confirming through the mail's link, then an update reaches Anna in
    // Dutch (the message exists in German only, which the mail says).
    let confirmed = press_button(&browser, &confirm, "/status/subscriptions/confirm").await;
    assert!(
        confirmed.contains("Uw abonnement is bevestigd"),
        "{confirmed}"
    );
    ok(
        cli,
        &[
            "incidents",
            "update",
            &first_id,
            "--state",
            "identified",
            "--message-de",
            "Ein Zertifikat ist abgelaufen.",
        ],
    );
    deliver_until(&server, "the incident mail", || sink.mails().len() == 2).await;
    let mails = sink.mails();
    let (to, subject, body) = &mails[1];
    assert_eq!(to, "anna@example.org");
    assert_eq!(
        subject,
        "[Status] Videovergaderen verstoord – Oorzaak gevonden"
    );
    assert!(
        body.contains("Ein Zertifikat ist abgelaufen. (alleen beschikbaar in het Duits)"),
        "{body}"
    );
    let unsubscribe = link(body, "/status/subscriptions/unsubscribe?token=");

    // After unsubscribing, resolving mails nobody; the webhook still hears it.
    let gone = press_button(&browser, &unsubscribe, "/status/subscriptions/unsubscribe").await;
    assert!(gone.contains("U ontvangt geen e-mails meer"), "{gone}");
    let resolved = json(
        cli,
        &["incidents", "resolve", &first_id, "--message-en", "Fixed."],
    );
    assert_eq!(resolved["state"], "resolved");
    deliver_until(&server, "the resolved webhook", || {
        received
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.event == "incident.resolved")
    })
    .await;
    assert_eq!(sink.mails().len(), 2);

    // Bad input on the command line: one line, non-zero exit.
    let error = fails(
        cli,
        &[
            "incidents",
            "create",
            "--impact",
            "minor",
            "--message-en",
            "x",
        ],
    );
    assert!(error.contains("title"), "{error}");
    let error = fails(
        cli,
        &[
            "maintenance",
            "schedule",
            "--title-en",
            "x",
            "--message-en",
            "x",
            "--starts",
            "tomorrow",
            "--ends",
            "2026-01-01T00:00:00Z",
        ],
    );
    assert!(error.contains("RFC 3339"), "{error}");
    let rfc3339 = |at: time::OffsetDateTime| {
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let starts = rfc3339(time::OffsetDateTime::now_utc() + time::Duration::days(30));
    let ends = rfc3339(
        time::OffsetDateTime::now_utc() + time::Duration::days(30) + time::Duration::hours(4),
    );
    let scheduled = json(
        cli,
        &[
            "maintenance",
            "schedule",
            "--title-en",
            "Gateway upgrade",
            "--message-en",
            "New gateways",
            "--component",
            "conferencing",
            "--starts",
            &starts,
            "--ends",
            &ends,
        ],
    );
    assert_eq!(scheduled["state"], "scheduled", "{scheduled}");
    let listed = json(cli, &["incidents", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_and_webhooks_sqlite() {
    subscriptions_and_webhooks(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_and_webhooks_postgres() {
    subscriptions_and_webhooks(Backend::Postgres).await;
}
