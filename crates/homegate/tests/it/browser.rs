//! The console in a real browser: headless Chromium driven over WebDriver
//! (Debian's chromium and chromium-driver), through the key flows of a new
//! installation, in more than one language.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use totp_rs::{Algorithm, Builder, Secret};

use crate::support::{Backend, TestServer};

struct Driver {
    child: Child,
    _profile: tempfile::TempDir,
    client: Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // chromedriver's Chromium outlives it when a test fails before
        // closing the session: find it by its profile folder.
        let marker = format!("--user-data-dir={}", self._profile.path().display());
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&marker) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

async fn start_browser() -> Driver {
    start_browser_saving_to(None).await
}

/// A browser that saves downloads into `downloads` without asking.
async fn start_browser_saving_to(downloads: Option<&std::path::Path>) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the browser tests need chromedriver (Debian: chromium-driver)");
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                // The access proxy's host names (web_proxy.rs) on loopback.
                "--host-resolver-rules=MAP *.apps.test 127.0.0.1",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.path().display()),
            ],
            "prefs": {
                "download.default_directory": downloads.map(|d| d.display().to_string()),
                "download.prompt_for_download": false,
            }
        }),
    );
    let mut client = None;
    for _ in 0..100 {
        // chromedriver speaks plain HTTP on loopback: no TLS stack needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        if let Ok(connected) = ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            client = Some(connected);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver {
        child,
        _profile: profile,
        client: client.expect("could not start headless Chromium"),
    }
}

async fn fill(browser: &Client, field: &str, value: &str) {
    let element = browser.find(Locator::Id(field)).await.unwrap();
    element.clear().await.unwrap();
    element.send_keys(value).await.unwrap();
}

/// Picks `value` in the `<select>` with id `select`.
async fn choose(browser: &Client, select: &str, value: &str) {
    browser
        .find(Locator::Css(&format!("#{select} option[value={value}]")))
        .await
        .unwrap_or_else(|_| panic!("no {value} in #{select}"))
        .click()
        .await
        .unwrap();
}

/// Clicks and waits until the next page replaced this one.
async fn click_and_wait(browser: &Client, selector: &str) {
    let old_page = browser.find(Locator::Css("html")).await.unwrap();
    browser
        .find(Locator::Css(selector))
        .await
        .unwrap_or_else(|_| panic!("no {selector} on the page"))
        .click()
        .await
        .unwrap();
    for _ in 0..200 {
        // A stale element: the document it belonged to is gone.
        if old_page.tag_name().await.is_err() {
            let _ = browser.find(Locator::Css("h1")).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("clicking {selector} did not load a page");
}

/// Sends the (POST) form with `form_action`; a list's search form may share
/// its address.
async fn submit(browser: &Client, form_action: &str) {
    click_and_wait(
        browser,
        &format!("form[method=post][action='{form_action}'] button[type=submit]"),
    )
    .await;
}

async fn heading(browser: &Client) -> String {
    browser
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn secrets(browser: &Client) -> Vec<String> {
    let mut found = Vec::new();
    for element in browser.find_all(Locator::Css(".secret")).await.unwrap() {
        found.push(element.text().await.unwrap());
    }
    found
}

async fn login(browser: &Client, base: &str, username: &str, password: &str) {
    browser.goto(&format!("{base}/login")).await.unwrap();
    submit_login(browser, username, password).await;
}

/// Fills in and sends the login form the browser is on.
async fn submit_login(browser: &Client, username: &str, password: &str) {
    fill(browser, "username", username).await;
    fill(browser, "password", password).await;
    submit(browser, "/login").await;
}

/// The login's second step with the authenticator app of `secret` (the
/// code of the next period: the current one was used to confirm it).
async fn second_factor(browser: &Client, secret: &str) {
    assert!(on_page(browser, "/login/mfa").await);
    fill(browser, "code", &totp_code(secret, 30)).await;
    submit(browser, "/login/mfa").await;
}

/// Whether the browser's path starts with `prefix`.
async fn on_page(browser: &Client, prefix: &str) -> bool {
    browser
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with(prefix)
}

async fn change_password(browser: &Client, current: &str, new: &str) {
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/password")
    );
    fill(browser, "current", current).await;
    fill(browser, "new", new).await;
    submit(browser, "/password").await;
}

async fn logout(browser: &Client) {
    submit(browser, "/logout").await;
}

fn totp_code(secret: &str, offset: u64) -> String {
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(secret).unwrap())
        .with_account_name("x")
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now + offset).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_first_steps_in_a_browser() {
    // A fresh installation: only the bootstrap admin, with its one-time password.
    let server = TestServer::start_fresh(Backend::Sqlite).await;
    let base = server.url.replace("127.0.0.1", "localhost");
    let driver = start_browser().await;
    let browser = &driver.client;

    // First login with the bootstrap credential; a new password is required.
    login(browser, &base, "admin", &server.bootstrap_password).await;
    change_password(
        browser,
        &server.bootstrap_password,
        "the admin's own password",
    )
    .await;
    // A region with two gateways; one is drained and taken back.
    browser
        .goto(&format!("{base}/console/gateways"))
        .await
        .unwrap();
    fill(browser, "region-name", "south").await;
    submit(browser, "/console/regions").await;
    for name in ["gw-1", "gw-2"] {
        fill(browser, "gw-name", name).await;
        submit(browser, "/console/gateways").await;
        browser
            .goto(&format!("{base}/console/gateways"))
            .await
            .unwrap();
    }
    // As if both had just answered their control plane's ping.
    sqlx::query("UPDATE gateways SET last_seen_at = $1")
        .bind(store::now_ms())
        .execute(server.store.pool())
        .await
        .unwrap();
    browser
        .goto(&format!("{base}/console/gateways"))
        .await
        .unwrap();
    click_and_wait(
        browser,
        "form[action='/console/gateways/gw-1/drain'] button[value=drain]",
    )
    .await;
    // Draining moves devices: asked first.
    assert_eq!(heading(browser).await, "Drain the gateway gw-1?");
    submit(browser, "/console/gateways/gw-1/drain").await;
    let page = browser.source().await.unwrap();
    assert!(
        page.contains("The gateway is being drained")
            && page.contains("Drained: devices move away"),
        "{page}"
    );
    click_and_wait(
        browser,
        "form[action='/console/gateways/gw-1/drain'] button[value=resume]",
    )
    .await;
    let page = browser.source().await.unwrap();
    assert!(page.contains("The gateway takes devices again"), "{page}");
    assert!(!page.contains("Drained: devices move away"), "{page}");

    browser.goto(&format!("{base}/console")).await.unwrap();
    assert_eq!(heading(browser).await, "Tenants and capacity");

    // Create a tenant and its IT coordinator.
    fill(browser, "slug", "lemgo").await;
    fill(browser, "name", "Alte Hansestadt Lemgo").await;
    fill(browser, "pool", "10.20.0.0/16").await;
    fill(browser, "max_sessions", "50").await;
    submit(browser, "/console/tenants").await;
    assert_eq!(heading(browser).await, "Alte Hansestadt Lemgo");
    browser
        .goto(&format!("{base}/console/t/lemgo/users"))
        .await
        .unwrap();
    fill(browser, "username", "it@lemgo.de").await;
    fill(browser, "display_name", "Ina Thiel").await;
    choose(browser, "role", "tenant_admin").await;
    submit(browser, "/console/t/lemgo/users").await;
    let admin_password = secrets(browser).await.remove(0);
    logout(browser).await;

    // The IT coordinator adds an employee (through the CSV import) and an application.
    login(browser, &base, "it@lemgo.de", &admin_password).await;
    change_password(browser, &admin_password, "ina's own password!").await;
    browser
        .goto(&format!("{base}/console/t/lemgo/groups"))
        .await
        .unwrap();
    fill(browser, "name", "office").await;
    submit(browser, "/console/t/lemgo/groups").await;
    browser
        .goto(&format!("{base}/console/t/lemgo/users"))
        .await
        .unwrap();
    fill(
        browser,
        "csv",
        "username,display_name,groups\nanna,Anna Schmidt,office\nbad name,Broken,\n",
    )
    .await;
    click_and_wait(browser, "button[value=preview]").await;
    // The tenant's default language (German, the first choice) is the
    // coordinator's language until she picks another. A bad line is named
    // and nothing can be imported until it is fixed; the input is kept.
    let preview = browser.source().await.unwrap();
    assert!(preview.contains("<html lang=\"de\">"));
    assert!(
        preview.contains("1 Zeile hat ein Problem"),
        "preview: {preview}"
    );
    assert!(preview.contains("bad name"), "preview: {preview}");
    assert!(
        browser
            .find_all(Locator::Css("button[value=import]"))
            .await
            .unwrap()
            .is_empty()
    );
    fill(
        browser,
        "csv",
        "username,display_name,groups\nanna,Anna Schmidt,office\n",
    )
    .await;
    click_and_wait(browser, "button[value=preview]").await;
    let preview = browser.source().await.unwrap();
    assert!(
        preview.contains("1 Person importieren"),
        "preview: {preview}"
    );
    click_and_wait(browser, "button[value=import]").await;
    // The import runs as a job; its page refreshes itself until the
    // passwords are there.
    let mut imported = secrets(browser).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while imported.is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(300)).await;
        imported = secrets(browser).await;
    }
    assert_eq!(imported.len(), 1, "{}", browser.source().await.unwrap());
    let anna_password = imported[0].clone();
    browser
        .goto(&format!("{base}/console/t/lemgo/applications"))
        .await
        .unwrap();
    fill(browser, "name", "fileserver").await;
    fill(browser, "cidr", "198.18.10.0/24").await;
    fill(browser, "ports", "445").await;
    submit(browser, "/console/t/lemgo/applications").await;
    submit(browser, "/console/t/lemgo/rules").await;
    let page = browser.source().await.unwrap();
    assert!(
        page.contains("fileserver") && page.contains("445"),
        "{page}"
    );
    logout(browser).await;

    // The employee sets up an authenticator app, logs in with it and makes
    // an enrollment code for her laptop.
    login(browser, &base, "anna", &anna_password).await;
    change_password(browser, &anna_password, "anna's own password").await;
    browser.goto(&format!("{base}/portal")).await.unwrap();
    submit(browser, "/portal/totp").await;
    let shown = secrets(browser).await.remove(0);
    assert!(shown.contains(' '), "the secret in groups of four: {shown}");
    let secret = shown.replace(' ', "");
    // A typo keeps the page and the secret the app has already saved.
    fill(browser, "code", &totp_code(&secret, 300)).await;
    submit(browser, "/portal/totp/confirm").await;
    assert!(
        browser.find(Locator::Css("#code-error")).await.is_ok(),
        "the message at the field"
    );
    assert_eq!(secrets(browser).await, vec![shown]);
    fill(browser, "code", &totp_code(&secret, 0)).await;
    submit(browser, "/portal/totp/confirm").await;
    assert_eq!(secrets(browser).await.len(), 10, "recovery codes");
    browser.goto(&format!("{base}/portal")).await.unwrap();
    logout(browser).await;
    login(browser, &base, "anna", "anna's own password").await;
    second_factor(browser, &secret).await;
    browser.goto(&format!("{base}/portal")).await.unwrap();
    assert!(heading(browser).await.contains("Alte Hansestadt Lemgo"));
    submit(browser, "/portal/code").await;
    let code = secrets(browser).await.remove(0);
    assert_eq!(code.len(), 14, "a code like ABCD-EFGH-JKLM: {code}");
    let admin = server.login("admin", "the admin's own password").await;
    let codes = admin.list_enrollment_codes("lemgo").await.unwrap();
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[0].user.as_deref(), Some("anna"));

    // Switch to Dutch: the page and the choice stay in Dutch.
    browser.goto(&format!("{base}/portal")).await.unwrap();
    choose(browser, "language-switch", "nl").await;
    submit(browser, "/language").await;
    let dutch = browser.source().await.unwrap();
    assert!(dutch.contains("<html lang=\"nl\">"));
    assert!(dutch.contains("Mijn apparaten"), "{dutch}");
    browser.goto(&format!("{base}/portal")).await.unwrap();
    assert!(
        browser
            .source()
            .await
            .unwrap()
            .contains("Apparaat toevoegen")
    );

    // The manual, from the portal's link, in the employee's language.
    click_and_wait(browser, "a[href^='/manual/lemgo']").await;
    assert_eq!(heading(browser).await, "Thuiswerken");
    let manual = browser.source().await.unwrap();
    assert!(manual.contains("Alte Hansestadt Lemgo"), "{manual}");
    // Styled: the console's policy does not block the manual's style sheet.
    let width = browser
        .execute(
            "return getComputedStyle(document.body).maxWidth",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(width.as_str(), Some("736px"), "the manual is unstyled");
    assert!(
        browser
            .find(Locator::Css("a[href^='/manual/lemgo/pdf?language=nl']"))
            .await
            .is_ok(),
        "no PDF link"
    );

    // And the status page of the municipality, anonymous and in Dutch too;
    // an incident's times in the reader's time zone, UTC on hover.
    // (The admin's API token ended with the password change above.)
    server
        .store
        .create_incident(
            &store::ProviderAccess::system("test"),
            api_types::status::CreateIncident {
                title: api_types::status::Localized {
                    nl: Some("Telefoons maken geen verbinding".into()),
                    ..api_types::status::Localized::default()
                },
                impact: api_types::status::Impact::Minor,
                components: vec![],
                state: None,
                message: api_types::status::Localized {
                    nl: Some("We onderzoeken het.".into()),
                    ..api_types::status::Localized::default()
                },
            },
            3_600_000,
            store::now_ms(),
        )
        .await
        .unwrap();
    browser.goto(&format!("{base}/portal")).await.unwrap();
    click_and_wait(browser, "a[href^='/status/lemgo']").await;
    assert_eq!(
        heading(browser).await,
        "Status van de dienst voor Alte Hansestadt Lemgo"
    );
    shows_local_times(browser).await;

    // On a phone no page is wider than the screen: the employee's pages,
    // then the administrators'.
    browser.set_window_size(390, 844).await.unwrap();
    let mut too_wide = wider_than_the_screen(
        browser,
        &base,
        &[
            "/portal",
            "/manual/lemgo",
            "/status/lemgo",
            "/status/lemgo/history",
        ],
    )
    .await;
    browser.goto(&format!("{base}/portal")).await.unwrap();
    logout(browser).await;
    login(browser, &base, "admin", "the admin's own password").await;
    too_wide.extend(
        wider_than_the_screen(
            browser,
            &base,
            &[
                "/console",
                "/console/gateways",
                "/console/capacity",
                "/console/audit",
                "/console/tokens",
                "/console/t/lemgo",
                "/console/t/lemgo/users",
                "/console/t/lemgo/users/anna/edit",
                "/console/t/lemgo/onboarding",
                "/console/onboarding",
                "/console/t/lemgo/groups",
                "/console/t/lemgo/applications",
                "/console/t/lemgo/devices",
                "/console/t/lemgo/sticks",
                "/console/t/lemgo/identity",
                "/console/t/lemgo/manual",
            ],
        )
        .await,
    );
    assert!(too_wide.is_empty(), "wider than a phone: {too_wide:?}");

    // Issue 24 item 9: the console's times too are the reader's, UTC on
    // hover.
    browser
        .goto(&format!("{base}/console/audit"))
        .await
        .unwrap();
    shows_local_times(browser).await;

    // Issue 24 items 3 and 7, on the phone: a refused edit comes back with
    // what was typed and every problem named; the corrected one is saved.
    browser
        .goto(&format!("{base}/console/t/lemgo/users/anna/edit"))
        .await
        .unwrap();
    let save = "form[action$='/edit'] button[type=submit]";
    fill(browser, "display_name", "").await;
    fill(browser, "email", "anna-at-lemgo").await;
    click_and_wait(browser, save).await;
    let summary = browser
        .find(Locator::Css(".error-summary"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        summary.contains("Full name") && summary.contains("anna-at-lemgo"),
        "{summary}"
    );
    let kept = browser
        .find(Locator::Id("email"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("anna-at-lemgo"));
    fill(browser, "display_name", "Anna Schmidt-Meier").await;
    fill(browser, "email", "anna@lemgo.example").await;
    click_and_wait(browser, save).await;
    let users = browser.source().await.unwrap();
    assert!(users.contains("Anna Schmidt-Meier"), "{users}");

    driver.client.clone().close().await.unwrap();
    server.stop().await;
}

/// The pages (of `paths`) whose content is wider than the window, with
/// their width.
async fn wider_than_the_screen(browser: &Client, base: &str, paths: &[&str]) -> Vec<String> {
    let mut too_wide = Vec::new();
    for path in paths {
        browser.goto(&format!("{base}{path}")).await.unwrap();
        let widths = browser
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth]",
                Vec::new(),
            )
            .await
            .unwrap();
        let widths: Vec<u64> = serde_json::from_value(widths).unwrap();
        if widths[0] > widths[1] {
            too_wide.push(format!("{path}: {} > {}", widths[0], widths[1]));
        }
    }
    too_wide
}

/// Issue 7 in the console: a batch of sticks with a progress bar, its
/// files, shipping and revoking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stick_batch_in_the_console() {
    let server = TestServer::start(Backend::Sqlite).await;
    server.tenant("lemgo", "10.20.0.0/16").await;
    server
        .admin
        .create_group(
            "lemgo",
            &api_types::tenancy::CreateGroup {
                name: "office".into(),
                description: None,
            },
        )
        .await
        .unwrap();
    let base = server.url.replace("127.0.0.1", "localhost");
    let driver = start_browser().await;
    let browser = &driver.client;
    login(browser, &base, "admin", crate::support::ADMIN_PASSWORD).await;
    browser
        .goto(&format!("{base}/console/t/lemgo/sticks"))
        .await
        .unwrap();
    assert_eq!(heading(browser).await, "Home-office sticks");
    fill(browser, "sticks-count", "40").await;
    fill(
        browser,
        "sticks-employees",
        "name,street,postcode,city\nErika Mustermann,Mittelstraße 17,32657,Lemgo\n",
    )
    .await;
    choose(browser, "sticks-group", "office").await;
    submit(browser, "/console/t/lemgo/sticks").await;
    let path = browser.current_url().await.unwrap().path().to_owned();
    assert!(path.starts_with("/console/t/lemgo/sticks/"), "{path}");
    let batch_id = path.rsplit('/').next().unwrap().to_owned();

    // The page follows the progress by itself until the batch is ready.
    let mut saw_progress = false;
    let mut ready = false;
    for _ in 0..600 {
        let page = browser.source().await.unwrap();
        saw_progress |= page.contains("<progress");
        if page.contains("All letters (PDF") {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        ready,
        "the batch never became ready: {}",
        browser.source().await.unwrap()
    );
    assert!(saw_progress, "no progress bar was shown");
    let batch = server
        .admin
        .get_stick_batch("lemgo", &batch_id)
        .await
        .unwrap();
    assert_eq!(batch.state, api_types::sticks::BatchState::Ready);
    assert_eq!((batch.count, batch.group.as_deref()), (40, Some("office")));
    let files = server.state.settings.sticks_dir();
    let letters = std::fs::read_dir(&files)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join(&batch_id)
        .join("letters.pdf");
    assert!(letters.is_file(), "{}", letters.display());

    // Ship all, then revoke one that got lost.
    submit(browser, &format!("/console/t/lemgo/sticks/{batch_id}/ship")).await;
    assert!(
        browser
            .source()
            .await
            .unwrap()
            .contains("marked as shipped")
    );
    let sticks = server
        .admin
        .list_sticks("lemgo", Some(&batch_id))
        .await
        .unwrap();
    assert!(
        sticks
            .iter()
            .all(|s| s.state == api_types::tenancy::DeviceState::Shipped)
    );
    let lost = &sticks[0].stick_id;
    let revoke = format!("/console/t/lemgo/sticks/{batch_id}/sticks/{lost}/revoke");
    submit(browser, &revoke).await;
    // Asked first; nothing happened yet.
    assert_eq!(heading(browser).await, "Revoke this stick?");
    let stick = server.admin.get_stick("lemgo", lost).await.unwrap();
    assert_eq!(stick.state, api_types::tenancy::DeviceState::Shipped);
    submit(browser, &revoke).await;
    let stick = server.admin.get_stick("lemgo", lost).await.unwrap();
    assert_eq!(stick.state, api_types::tenancy::DeviceState::Revoked);

    // The files, with their tokens, can be removed from the server.
    let delete = format!("/console/t/lemgo/sticks/{batch_id}/delete-files");
    submit(browser, &delete).await;
    assert_eq!(heading(browser).await, "Delete the files of this batch?");
    assert!(letters.exists());
    submit(browser, &delete).await;
    assert!(!letters.exists());
    driver.client.clone().close().await.unwrap();
    server.stop().await;
}

/// Text of the element with id `id`.
async fn text_of(browser: &Client, id: &str) -> String {
    match browser.find(Locator::Id(id)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Issue 10: an employee with an authenticator app opens a web application
/// through the access proxy; its WebSocket ends when she logs out of the
/// portal in another tab. A colleague outside the group is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_application_through_the_proxy() {
    let upstream = crate::upstream::start().await;
    let server = crate::web_proxy::proxied_server(Backend::Sqlite, &upstream.url).await;
    let anna = server.login("anna", crate::support::USER_PASSWORD).await;
    let setup = anna.totp_start(&Default::default()).await.unwrap();
    anna.totp_confirm(&api_types::auth::TotpCode {
        code: totp_code(&setup.secret, 0),
    })
    .await
    .unwrap();
    let app = server
        .admin
        .get_application("lemgo", "akten")
        .await
        .unwrap()
        .web_url
        .unwrap();

    let driver = start_browser().await;
    let browser = &driver.client;
    // Opening the application leads through the portal's login with the
    // second factor, and back to the application.
    browser.goto(&app).await.unwrap();
    assert!(on_page(browser, "/login").await);
    submit_login(browser, "anna", crate::support::USER_PASSWORD).await;
    second_factor(browser, &setup.secret).await;
    assert_eq!(browser.current_url().await.unwrap().as_str(), app);
    assert_eq!(heading(browser).await, "Hello anna");
    let mut socket_state = String::new();
    for _ in 0..100 {
        socket_state = text_of(browser, "ws").await;
        if socket_state == "open: echo ping" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        socket_state, "open: echo ping",
        "the WebSocket passed through"
    );
    let app_window = browser.window().await.unwrap();

    // The portal lists the application; logging out there closes the
    // application's WebSocket.
    let portal = browser.new_window(true).await.unwrap();
    browser.switch_to_window(portal.handle).await.unwrap();
    let base = server.url.replace("127.0.0.1", "localhost");
    browser.goto(&format!("{base}/portal")).await.unwrap();
    assert!(
        browser
            .find(Locator::Css(&format!("a[href='{app}']")))
            .await
            .is_ok(),
        "the portal links the application"
    );
    logout(browser).await;
    let logged_out = std::time::Instant::now();
    browser.switch_to_window(app_window).await.unwrap();
    let mut closed_after = None;
    while logged_out.elapsed() < Duration::from_secs(15) {
        if text_of(browser, "ws").await == "closed" {
            closed_after = Some(logged_out.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let closed_after = closed_after.expect("the WebSocket stayed open after logout");
    println!("WebSocket closed {closed_after:?} after logging out");
    assert!(closed_after < Duration::from_secs(10));
    // Reloading now asks for a login again.
    browser.goto(&app).await.unwrap();
    assert!(on_page(browser, "/login").await);

    // Bob logs in but is not in the application's group.
    submit_login(browser, "bob", crate::support::USER_PASSWORD).await;
    assert_eq!(heading(browser).await, "Not allowed");
    assert!(browser.source().await.unwrap().contains("no access to"));

    driver.client.clone().close().await.unwrap();
    server.stop().await;
}

/// Issue 28: an employee follows the invitation mail's link in a real
/// browser, chooses a password, lands in the portal and downloads the
/// tunnel file for the WireGuard app on a laptop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_leads_to_a_tunnel_file() {
    let mut server = TestServer::start(Backend::Sqlite).await;
    let sink = server.mail_sink("IT <it@lemgo.example>").await;
    let gateways = crate::seats::region_with_gateways(&server, "west", &["gw-a"]).await;
    let admin = &server.admin;
    admin
        .create_tenant(&api_types::tenancy::CreateTenant {
            slug: "lemgo".into(),
            name: "Alte Hansestadt Lemgo".into(),
            default_language: Some(api_types::Language::De),
            address_pool: "10.20.0.0/16".into(),
            region: Some("west".into()),
            max_sessions: None,
            max_devices: None,
        })
        .await
        .unwrap();
    admin
        .create_user(
            "lemgo",
            &api_types::tenancy::CreateUser {
                username: "anna".into(),
                display_name: Some("Anna Schmidt".into()),
                email: Some("anna@lemgo.example".into()),
                role: api_types::Role::Employee,
                password: None,
                language: None,
            },
        )
        .await
        .unwrap();
    admin
        .create_group(
            "lemgo",
            &api_types::tenancy::CreateGroup {
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
    admin
        .create_application(
            "lemgo",
            &api_types::tenancy::CreateApplication {
                name: "fileserver".into(),
                description: None,
                cidr: "198.18.10.0/24".into(),
                protocol: api_types::tenancy::Protocol::Tcp,
                ports: vec!["445".into()],
                web_upstream: None,
            },
        )
        .await
        .unwrap();
    admin
        .create_access_rule(
            "lemgo",
            &api_types::tenancy::CreateAccessRule {
                group: "office".into(),
                application: "fileserver".into(),
            },
        )
        .await
        .unwrap();
    let _: api_types::invitations::InvitationsCreated = admin
        .post(
            &["tenants", "lemgo", "invitations"],
            &api_types::invitations::Invite {
                users: vec!["anna".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    server::invitation_delivery::deliver_due(&server.state).await;
    let (_, _, text) = sink.mails().remove(0);
    let start = text.find("http").unwrap();
    let link = text[start..].split_whitespace().next().unwrap().to_owned();

    let downloads = tempfile::tempdir().unwrap();
    let driver = start_browser_saving_to(Some(downloads.path())).await;
    let browser = &driver.client;
    browser.goto(&link).await.unwrap();
    assert_eq!(
        heading(browser).await,
        "Willkommen bei Alte Hansestadt Lemgo"
    );
    fill(browser, "password", "Annas eigenes Passwort").await;
    fill(browser, "repeat", "Annas eigenes Passwort!").await;
    click_and_wait(browser, "#invite-form button[type=submit]").await;
    let page = browser.source().await.unwrap();
    assert!(
        page.contains("Die beiden Passwörter sind verschieden"),
        "{page}"
    );
    fill(browser, "password", "Annas eigenes Passwort").await;
    fill(browser, "repeat", "Annas eigenes Passwort").await;
    click_and_wait(browser, "#invite-form button[type=submit]").await;
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/portal")
    );
    let page = browser.source().await.unwrap();
    assert!(page.contains("Ihr Passwort ist gespeichert"), "{page}");

    // A gateway counts as online for 8 s after it was last heard from; a
    // slow browser start must not make the portal refuse the file.
    server.store.gateway_seen(&gateways[0]).await.unwrap();
    fill(browser, "computer-name", "Heim-PC").await;
    submit(browser, "/portal/phone").await;
    assert_eq!(heading(browser).await, "Ihre Tunnel-Datei");
    browser
        .find(Locator::Css("a[download]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let file = downloads.path().join("lemgo-Heim-PC.conf");
    for _ in 0..100 {
        if file.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let config = std::fs::read_to_string(&file).expect("the tunnel file was downloaded");
    assert!(config.contains("PrivateKey = "), "{config}");
    assert!(config.contains("AllowedIPs = 198.18.10.0/24"), "{config}");
    let devices = server.admin.list_devices("lemgo").await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].kind, api_types::tenancy::DeviceKind::Laptop);
    drop(driver);
    server.stop().await;
}

/// The page's first time reads in the browser's time zone, with the UTC
/// written in the page on hover.
async fn shows_local_times(browser: &Client) {
    let time = browser
        .find(Locator::Css("time[data-local]"))
        .await
        .unwrap();
    let utc = time.attr("title").await.unwrap().unwrap_or_default();
    let local = time.text().await.unwrap();
    assert!(
        utc.ends_with("UTC") && !local.contains("UTC") && !local.is_empty(),
        "{utc} / {local}"
    );
}
