//! Issue 26: what reaches employees must work — no phone configuration
//! without a gateway or without applications.

use api_types::Role;
use api_types::enrollment::CreatePhone;
use api_types::infra::{CreateGateway, CreateRegion};
use api_types::tenancy::{CreateAccessRule, CreateApplication, CreateGroup, Protocol};

use crate::both_backends;
use crate::cli::{fails, ok};
use crate::cli_sticks::login;
use crate::support::{TestServer, problem_of, public_key};

both_backends!(phone_configurations_that_cannot_work_are_refused);

/// A gateway of `region` that has connected and is heard from now.
async fn online_gateway(
    server: &TestServer,
    name: &str,
    region: &str,
) -> store::gateway_stream::GatewayIdentity {
    let created = server
        .admin
        .create_gateway(&CreateGateway {
            name: name.into(),
            region: region.into(),
            endpoint: Some(format!("{name}.example.org:51820")),
        })
        .await
        .unwrap();
    let identity = server
        .store
        .authenticate_gateway(&created.token)
        .await
        .unwrap();
    server
        .store
        .gateway_connected(&identity, &public_key(), None)
        .await
        .unwrap();
    identity
}

async fn phone_configurations_that_cannot_work_are_refused(server: &TestServer) {
    let admin = &server.admin;
    server.tenant("lemgo", "10.20.0.0/16").await;
    let anna = server.login_as(Some("lemgo"), "anna", Role::Employee).await;
    let it = server
        .login_as(Some("lemgo"), "it", Role::TenantAdmin)
        .await;
    let phone = CreatePhone {
        name: "Anna's phone".into(),
        kind: None,
    };

    // No gateway at all: refused with a reason, and no device (no key) made.
    let (status, problem) = problem_of(anna.create_my_phone(&phone).await);
    assert_eq!(status, 409);
    assert_eq!(problem.kind, "/docs/problems#no-gateway-online");
    assert!(
        problem
            .detail
            .as_deref()
            .unwrap()
            .contains("No gateway is online in your region"),
        "{problem:?}"
    );
    let (status, problem) = problem_of(it.create_phone_for_user("lemgo", "anna", &phone).await);
    assert_eq!(
        (status, problem.kind.as_str()),
        (409, "/docs/problems#no-gateway-online")
    );
    // The CLI: one line, non-zero exit.
    let dir = tempfile::tempdir().unwrap();
    login(dir.path(), server);
    let error = fails(
        dir.path(),
        &[
            "phones",
            "create",
            "Anna's phone",
            "--tenant",
            "lemgo",
            "--user",
            "anna",
        ],
    );
    assert!(
        error.contains("No gateway is online in your region"),
        "{error}"
    );
    assert!(admin.list_devices("lemgo").await.unwrap().is_empty());

    // A gateway online, but Anna reaches no application: her AllowedIPs
    // would be empty.
    admin
        .create_region(&CreateRegion {
            name: "south".into(),
            description: None,
        })
        .await
        .unwrap();
    let gateway = online_gateway(server, "gw-1", "south").await;
    let (status, problem) = problem_of(anna.create_my_phone(&phone).await);
    assert_eq!(status, 409);
    assert_eq!(problem.kind, "/docs/problems#no-applications");
    assert!(
        problem
            .detail
            .as_deref()
            .unwrap()
            .contains("You have no applications yet — ask your IT coordinator"),
        "{problem:?}"
    );
    let error = fails(
        dir.path(),
        &[
            "phones",
            "create",
            "Anna's phone",
            "--tenant",
            "lemgo",
            "--user",
            "anna",
        ],
    );
    assert!(error.contains("no applications yet"), "{error}");
    assert!(admin.list_devices("lemgo").await.unwrap().is_empty());

    // With an application through her group, the configuration works.
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
    admin
        .create_application(
            "lemgo",
            &CreateApplication {
                name: "fileserver".into(),
                description: None,
                cidr: "198.18.10.0/24".into(),
                protocol: Protocol::Tcp,
                ports: vec!["445".into()],
                web_upstream: None,
            },
        )
        .await
        .unwrap();
    admin
        .create_access_rule(
            "lemgo",
            &CreateAccessRule {
                group: "office".into(),
                application: "fileserver".into(),
            },
        )
        .await
        .unwrap();
    let made = anna.create_my_phone(&phone).await.unwrap();
    assert!(
        made.wg_quick.contains("AllowedIPs = 198.18.10.0/24\n")
            && made.wg_quick.contains("Endpoint = gw-1.example.org:51820"),
        "{}",
        made.wg_quick
    );
    let out = ok(
        dir.path(),
        &[
            "phones",
            "create",
            "Second phone",
            "--tenant",
            "lemgo",
            "--user",
            "anna",
        ],
    );
    assert!(out.contains("[Peer]"), "{out}");
    assert_eq!(admin.list_devices("lemgo").await.unwrap().len(), 2);

    // Issue 24 item 6: a laptop with the WireGuard app gets a tunnel file
    // whose name the app accepts as a tunnel name; a stick is refused. (A
    // gateway counts as online for 8 s after it was last heard from.)
    server.store.gateway_seen(&gateway).await.unwrap();
    let laptop = anna
        .create_my_phone(&CreatePhone {
            name: "Anna's laptop (home)".into(),
            kind: Some(api_types::tenancy::DeviceKind::Laptop),
        })
        .await
        .unwrap();
    assert_eq!(laptop.device.kind, api_types::tenancy::DeviceKind::Laptop);
    assert_eq!(laptop.file_name, "lemgo-Anna-s-laptop--home-.conf");
    let (status, problem) = problem_of(
        anna.create_my_phone(&CreatePhone {
            name: "stick".into(),
            kind: Some(api_types::tenancy::DeviceKind::Stick),
        })
        .await,
    );
    assert_eq!(status, 422, "{problem:?}");
    // In the portal, with no terminal: a download, and the steps in the
    // employee's language.
    let browser = console_login(server, "anna", crate::support::USER_PASSWORD).await;
    let portal = get_text(&browser, &format!("{}/portal", server.url)).await;
    assert!(
        portal.contains("https://www.wireguard.com/install/"),
        "{portal}"
    );
    server.store.gateway_seen(&gateway).await.unwrap();
    let page = post_text(
        &browser,
        &format!("{}/portal/phone", server.url),
        &[
            ("csrf", &csrf_of(&portal)),
            ("name", "Home PC"),
            ("kind", "laptop"),
        ],
    )
    .await;
    assert!(page.contains("download=\"lemgo-Home-PC.conf\""), "{page}");
    assert!(page.contains("Import tunnel(s) from file"), "{page}");
    let start = page.find("base64,").unwrap() + "base64,".len();
    let data: String = page[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2f;", "/");
    let file = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data).unwrap();
    let file = String::from_utf8(file).unwrap();
    assert!(
        file.contains("PrivateKey = ") && file.contains("AllowedIPs = 198.18.10.0/24"),
        "{file}"
    );
    let kinds: Vec<_> = admin
        .list_devices("lemgo")
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.name == "Home PC")
        .map(|d| d.kind)
        .collect();
    assert_eq!(kinds, vec![api_types::tenancy::DeviceKind::Laptop]);
}

/// A browser-like client logged in to the console as `username`.
pub(crate) async fn console_login(
    server: &TestServer,
    username: &str,
    password: &str,
) -> reqwest::Client {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let page = browser
        .get(format!("{}/login", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = browser
        .post(format!("{}/login", server.url))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let url = response.url().clone();
    assert!(status.is_success(), "{status} at {url}");
    browser
}

/// The CSRF token of the first form on `page`.
pub(crate) fn csrf_of(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").expect("no csrf field") + 19;
    page[start..].split('"').next().unwrap().to_owned()
}

pub(crate) async fn get_text(browser: &reqwest::Client, url: &str) -> String {
    browser.get(url).send().await.unwrap().text().await.unwrap()
}

/// Sends a console form; the page that comes back.
/// Switches the logged-in browser's console to `language`.
pub(crate) async fn choose_language(
    browser: &reqwest::Client,
    server: &TestServer,
    language: &str,
) {
    let page = get_text(browser, &format!("{}/portal", server.url)).await;
    let page = if page.contains("name=\"csrf\"") {
        page
    } else {
        get_text(browser, &format!("{}/console", server.url)).await
    };
    post_text(
        browser,
        &format!("{}/language", server.url),
        &[("csrf", &csrf_of(&page)), ("language", language)],
    )
    .await;
}

pub(crate) async fn post_text(
    browser: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> String {
    browser
        .post(url)
        .form(form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

both_backends!(
    sign_ins_are_listed_apart_from_api_tokens,
    the_portal_refuses_a_phone_that_cannot_work,
    revoking_a_device_asks_first,
    error_pages_speak_the_readers_language,
    a_refused_edit_keeps_the_input_and_names_every_problem,
    refused_groups_and_applications_keep_the_input
);

/// Issue 24 items 2 and 3: the "new group" and "new application" forms
/// come back with what was typed and every problem at its field, in the
/// reader's language; a name in use is a problem at the name.
async fn refused_groups_and_applications_keep_the_input(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    server
        .login_as(Some("lemgo"), "it-lemgo", Role::TenantAdmin)
        .await;
    let browser = console_login(server, "it-lemgo", crate::support::USER_PASSWORD).await;
    choose_language(&browser, server, "nl").await;
    let groups = format!("{}/console/t/lemgo/groups", server.url);
    let csrf = csrf_of(&get_text(&browser, &groups).await);
    let post = |path: &str, form: Vec<(&str, &str)>| {
        let request = browser.post(format!("{}{path}", server.url)).form(&form);
        async move { request.send().await.unwrap() }
    };
    let created = post(
        "/console/t/lemgo/groups",
        vec![("csrf", &csrf), ("name", "kantoor"), ("description", "")],
    )
    .await;
    assert!(created.status().is_success());
    let taken = post(
        "/console/t/lemgo/groups",
        vec![
            ("csrf", &csrf),
            ("name", "kantoor"),
            ("description", "Tweede"),
        ],
    )
    .await;
    assert_eq!(taken.status(), 422);
    let page = taken.text().await.unwrap();
    assert!(page.contains("href=\"#name\""), "{page}");
    assert!(page.contains("‘kantoor’ is al in gebruik."), "{page}");
    assert!(page.contains("value=\"Tweede\""), "input kept: {page}");

    let refused = post(
        "/console/t/lemgo/applications",
        vec![
            ("csrf", &csrf),
            ("name", "bestanden"),
            ("cidr", "198.18.10.5/24"),
            ("protocol", "icmp"),
            ("ports", "445"),
            ("description", "Bestandsserver"),
            ("web_upstream", "ftp://198.18.10.5/"),
        ],
    )
    .await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    for expected in [
        "In ‘198.18.10.5/24’ zijn hostbits gezet; bedoelt u 198.18.10.0/24?",
        "‘ftp://198.18.10.5/’ moet beginnen met http:// of https://.",
        "href=\"#cidr\"",
        "href=\"#web_upstream\"",
        "value=\"Bestandsserver\"",
        "value=\"icmp\" selected",
        "aria-describedby=\"cidr-error\"",
    ] {
        assert!(page.contains(expected), "{expected} in {page}");
    }
    let applications = server
        .admin
        .get::<Vec<api_types::tenancy::Application>>(&["tenants", "lemgo", "applications"])
        .await
        .unwrap();
    assert!(applications.is_empty(), "nothing saved: {applications:?}");

    // The API names the field and the code of a name in use, still as 409.
    let (status, problem) = crate::support::problem_of(
        server
            .admin
            .post::<_, serde_json::Value>(
                &["tenants", "lemgo", "groups"],
                &serde_json::json!({ "name": "kantoor" }),
            )
            .await,
    );
    assert_eq!(status, 409);
    assert_eq!(problem.errors[0].field, "name");
    assert_eq!(problem.errors[0].code.as_deref(), Some("taken"));
}

/// Issue 24 items 3 and 7: the coordinator edits an employee; a refused
/// change comes back as the form with what was typed and every problem at
/// its field, in the reader's language; a saved one goes back to the list.
async fn a_refused_edit_keeps_the_input_and_names_every_problem(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    server
        .login_as(Some("lemgo"), "it-lemgo", Role::TenantAdmin)
        .await;
    let anna = server.login_as(Some("lemgo"), "anna", Role::Employee).await;
    let anna_id = anna.me().await.unwrap().user.id;
    let browser = console_login(server, "it-lemgo", crate::support::USER_PASSWORD).await;
    choose_language(&browser, server, "de").await;
    let users = get_text(&browser, &format!("{}/console/t/lemgo/users", server.url)).await;
    let edit = format!("/console/t/lemgo/users/{anna_id}/edit");
    assert!(users.contains(&edit), "an edit link per user: {users}");
    let form = get_text(&browser, &format!("{}{edit}", server.url)).await;
    let csrf = csrf_of(&form);

    let refused = browser
        .post(format!("{}{edit}", server.url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("display_name", "   "),
            ("email", "anna-at-lemgo"),
            ("role", "tenant_admin"),
            ("language", "nl"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(page.contains("Es gibt ein Problem"), "a summary: {page}");
    assert!(page.contains("href=\"#display_name\""), "{page}");
    assert!(page.contains("href=\"#email\""), "every problem: {page}");
    assert!(page.contains("Bitte ausfüllen."), "{page}");
    assert!(
        page.contains("„anna-at-lemgo“ ist keine E-Mail-Adresse"),
        "{page}"
    );
    assert!(
        page.contains("value=\"anna-at-lemgo\""),
        "input kept: {page}"
    );
    assert!(page.contains("value=\"tenant_admin\" selected"), "{page}");
    assert!(page.contains("value=\"nl\" selected"), "{page}");
    assert!(page.contains("aria-invalid=\"true\""), "{page}");
    let user = || async {
        server
            .admin
            .get::<api_types::tenancy::User>(&["tenants", "lemgo", "users", &anna_id])
            .await
            .unwrap()
    };
    let unchanged = user().await;
    assert_eq!(unchanged.role, Role::Employee, "nothing saved");

    let saved = browser
        .post(format!("{}{edit}", server.url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("display_name", "Anna Schmidt"),
            ("email", "anna@lemgo.example"),
            ("role", "tenant_admin"),
            ("language", "nl"),
        ])
        .send()
        .await
        .unwrap();
    assert!(saved.status().is_success());
    assert!(
        saved.url().path().ends_with("/console/t/lemgo/users"),
        "{}",
        saved.url()
    );
    let anna = user().await;
    assert_eq!(
        (
            anna.display_name.as_str(),
            anna.email.as_str(),
            anna.role,
            anna.language
        ),
        (
            "Anna Schmidt",
            "anna@lemgo.example",
            Role::TenantAdmin,
            Some(api_types::Language::Nl)
        )
    );
    // Adding a person: the same, on the list page.
    let refused = browser
        .post(format!("{}/console/t/lemgo/users", server.url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "bad name"),
            ("display_name", "Ben Becker"),
            ("email", "ben-at-lemgo"),
            ("role", "tenant_admin"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(page.contains("href=\"#username\""), "{page}");
    assert!(
        page.contains("„bad name“ ist kein gültiger Benutzername"),
        "{page}"
    );
    assert!(
        page.contains("„ben-at-lemgo“ ist keine E-Mail-Adresse"),
        "{page}"
    );
    assert!(page.contains("value=\"Ben Becker\""), "input kept: {page}");
    assert!(page.contains("value=\"tenant_admin\" selected"), "{page}");

    // The API says the same with codes a client can word itself.
    let (status, problem) = crate::support::problem_of(
        server
            .admin
            .patch::<_, api_types::tenancy::User>(
                &["tenants", "lemgo", "users", &anna_id],
                &serde_json::json!({ "display_name": "", "email": "x" }),
            )
            .await,
    );
    assert_eq!(status, 422);
    let codes: Vec<Option<&str>> = problem.errors.iter().map(|e| e.code.as_deref()).collect();
    assert_eq!(codes, [Some("empty"), Some("email")], "{problem:?}");
}

/// Issue 24 item 1: an error page has the console's header and the
/// reader's language, like every other page.
async fn error_pages_speak_the_readers_language(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    server
        .login_as(Some("lemgo"), "it-lemgo", Role::TenantAdmin)
        .await;
    let browser = console_login(server, "it-lemgo", crate::support::USER_PASSWORD).await;
    choose_language(&browser, server, "de").await;
    let missing = browser
        .get(format!("{}/console/t/lemgo/jobs/no-such-job", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let page = missing.text().await.unwrap();
    assert!(page.contains("<html lang=\"de\">"), "{page}");
    assert!(page.contains("<h1>Nicht gefunden</h1>"), "{page}");
    assert!(page.contains("action=\"/logout\""), "the header: {page}");
    assert!(page.contains("name=\"viewport\""), "{page}");
    // A forged form: refused in German too.
    let forged = browser
        .post(format!(
            "{}/console/t/lemgo/devices/some-device/revoke",
            server.url
        ))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.text().await.unwrap().contains("Formular abgelaufen"));
}

/// Issue 24 item 4: revoking a device in the portal first says what will
/// happen; only the confirmed form revokes.
async fn revoking_a_device_asks_first(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    server.login_as(Some("lemgo"), "anna", Role::Employee).await;
    let device = server
        .admin
        .create_device(
            "lemgo",
            &api_types::tenancy::CreateDevice {
                name: "Annas Laptop".into(),
                owner: Some("anna".into()),
                kind: api_types::tenancy::DeviceKind::Laptop,
                public_key: public_key(),
            },
        )
        .await
        .unwrap();
    let browser = console_login(server, "anna", crate::support::USER_PASSWORD).await;
    let portal = get_text(&browser, &format!("{}/portal", server.url)).await;
    let csrf = csrf_of(&portal);
    let revoke = format!("{}/portal/devices/{}/revoke", server.url, device.id);
    let state = || async {
        server
            .admin
            .list_devices("lemgo")
            .await
            .unwrap()
            .remove(0)
            .state
    };
    let before = state().await;
    let asked = post_text(&browser, &revoke, &[("csrf", &csrf)]).await;
    assert!(
        asked.contains("<h1>Revoke the device &#34;Annas Laptop&#34;?</h1>"),
        "{asked}"
    );
    assert!(
        asked.contains("name=\"confirmed\" value=\"yes\""),
        "{asked}"
    );
    assert_eq!(state().await, before, "nothing revoked yet");
    post_text(&browser, &revoke, &[("csrf", &csrf), ("confirmed", "yes")]).await;
    assert_eq!(state().await, api_types::tenancy::DeviceState::Revoked);
}

async fn the_portal_refuses_a_phone_that_cannot_work(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    server.login_as(Some("lemgo"), "anna", Role::Employee).await;
    let browser = console_login(server, "anna", crate::support::USER_PASSWORD).await;
    let portal = get_text(&browser, &format!("{}/portal", server.url)).await;
    let response = browser
        .post(format!("{}/portal/phone", server.url))
        .form(&[
            ("csrf", csrf_of(&portal).as_str()),
            ("name", "Annas Telefon"),
        ])
        .send()
        .await
        .unwrap();
    let page = response.text().await.unwrap();
    assert!(
        page.contains("No gateway is online in your region"),
        "{page}"
    );
    assert!(!page.contains("PrivateKey"), "{page}");
    assert!(server.admin.list_devices("lemgo").await.unwrap().is_empty());
}

/// A tenant with a group, for sticks without employees.
async fn tenant_with_group(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    server
        .admin
        .create_group(
            "lemgo",
            &CreateGroup {
                name: "office".into(),
                description: None,
            },
        )
        .await
        .unwrap();
}

/// Runs the CLI; returns (stdout, stderr) of a successful run.
fn cli_ok(dir: &std::path::Path, args: &[&str]) -> (String, String) {
    let output = crate::cli::run(crate::cli::homegate(dir).args(args), None);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "homegate {args:?}: {stderr}");
    (String::from_utf8(output.stdout).unwrap(), stderr)
}

/// What employees would receive carries a loopback public URL: the CLI and
/// the console say so loudly; with an https public URL they are quiet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_or_plain_http_public_url_is_warned_about() {
    let mut server = TestServer::start(crate::support::Backend::Sqlite).await;
    tenant_with_group(&server).await;
    server.login_as(Some("lemgo"), "anna", Role::Employee).await;
    server
        .login_as(Some("lemgo"), "it", Role::TenantAdmin)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    login(dir, &server);
    let public_url = server.admin.server_info().await.unwrap().public_url;
    assert!(public_url.starts_with("http://localhost:"), "{public_url}");

    let out = dir.join("batch");
    let out_arg = out.display().to_string();
    let sticks_args = [
        "sticks", "batch", "create", "--tenant", "lemgo", "--count", "1", "--group", "office",
        "--out", &out_arg,
    ];
    let (_, stderr) = cli_ok(dir, &sticks_args);
    assert!(
        stderr.contains(
            "WARNING: every stick's bundle and letter of this batch carries the \
             control plane's public URL http://localhost:"
        ) && stderr.contains("loopback address")
            && stderr.contains("--public-url"),
        "{stderr}"
    );
    let manual = dir.join("manual.pdf").display().to_string();
    let manual_args = ["manual", "--tenant", "lemgo", "--out", &manual];
    let (_, stderr) = cli_ok(dir, &manual_args);
    assert!(stderr.contains("WARNING: the manual carries"), "{stderr}");
    let code_args = [
        "enrollment-codes",
        "create",
        "--tenant",
        "lemgo",
        "--user",
        "anna",
    ];
    let (stdout, stderr) = cli_ok(dir, &code_args);
    assert!(stderr.contains("WARNING: the enrollment hint"), "{stderr}");
    assert!(
        stdout.contains(&format!("homegate enroll {public_url} --code")),
        "{stdout}"
    );

    // The console warns on the pages that make such things.
    let browser = console_login(&server, "it", crate::support::USER_PASSWORD).await;
    for page in ["sticks", "manual", "users"] {
        let html = get_text(
            &browser,
            &format!("{}/console/t/lemgo/{page}?language=en", server.url),
        )
        .await;
        assert!(
            html.contains("id=\"public-url-warning\"")
                && html.contains("a loopback address that no employee"),
            "{page}: {html}"
        );
    }

    // Plain http elsewhere: a different warning.
    server.set_public_url("http://cp.example.org").await;
    std::fs::remove_dir_all(&out).unwrap();
    let (_, stderr) = cli_ok(dir, &sticks_args);
    assert!(stderr.contains("is plain http"), "{stderr}");

    // https: nothing to warn about.
    server.set_public_url("https://cp.example.org").await;
    std::fs::remove_dir_all(&out).unwrap();
    for args in [&sticks_args[..], &manual_args[..], &code_args[..]] {
        let (_, stderr) = cli_ok(dir, args);
        assert!(!stderr.contains("WARNING"), "{args:?}: {stderr}");
    }
    let browser = console_login(&server, "it", crate::support::USER_PASSWORD).await;
    let html = get_text(&browser, &format!("{}/console/t/lemgo/sticks", server.url)).await;
    assert!(!html.contains("public-url-warning"), "{html}");
    server.stop().await;
}

/// The device client refuses plain http to another machine before it
/// sends anything, unless told to.
#[test]
fn the_device_client_refuses_plain_http_to_another_machine() {
    let dir = tempfile::tempdir().unwrap();
    let device_dir = dir.path().join("device").display().to_string();
    // 198.18.0.0/15 is for benchmarks: nothing answers there, and the
    // refusal comes before any connection is tried.
    let error = fails(
        dir.path(),
        &[
            "enroll",
            "http://198.18.0.1:9",
            "--code",
            "AAAA-BBBB-CCCC",
            "--device-dir",
            &device_dir,
        ],
    );
    assert!(
        error.contains("refusing plain http to http://198.18.0.1:9"),
        "{error}"
    );
    assert!(error.contains("--insecure-http"), "{error}");
    // On this machine plain http is fine: it tries (and finds nothing).
    let output = crate::cli::run(
        crate::cli::homegate(dir.path()).args([
            "enroll",
            "http://127.0.0.1:9",
            "--code",
            "AAAA-BBBB-CCCC",
            "--device-dir",
            &device_dir,
        ]),
        None,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(!stderr.contains("refusing plain http"), "{stderr}");
}

/// Every folder and file of a batch (bundles and images hold live
/// enrollment tokens) is the technician's alone, as `sticks batch create`
/// writes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stick_batches_are_private_files() {
    use std::os::unix::fs::PermissionsExt as _;
    let server = TestServer::start(crate::support::Backend::Sqlite).await;
    tenant_with_group(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    login(dir, &server);
    let out = dir.join("batch");
    cli_ok(
        dir,
        &[
            "sticks",
            "batch",
            "create",
            "--tenant",
            "lemgo",
            "--count",
            "2",
            "--group",
            "office",
            "--out",
            &out.display().to_string(),
        ],
    );
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&out), 0o700);
    let mut files = 0;
    let mut pending = vec![out.clone()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                assert_eq!(mode(&path), 0o700, "{}", path.display());
                pending.push(path);
            } else {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
                files += 1;
            }
        }
    }
    // 2 bundles, 2 images, 2 letters, letters.pdf, manifest.csv.
    assert!(files >= 8, "{files} files");
    server.stop().await;
}

/// Issue 24 item 7: browser sign-ins are not API tokens: the tokens page
/// lists them apart (only those still valid), marks this browser, and can
/// sign out another one.
async fn sign_ins_are_listed_apart_from_api_tokens(server: &TestServer) {
    server
        .admin
        .create_token(&api_types::auth::CreateToken {
            name: "deploy".into(),
            tenant: None,
            expires_in_days: Some(30),
        })
        .await
        .unwrap();
    let elsewhere = console_login(server, "admin", crate::support::ADMIN_PASSWORD).await;
    let here = console_login(server, "admin", crate::support::ADMIN_PASSWORD).await;
    let url = format!("{}/console/tokens", server.url);
    let page = get_text(&here, &url).await;
    let (tokens, sign_ins) = page.split_once("id=\"signins\"").unwrap();
    assert!(tokens.contains(">deploy<"), "{tokens}");
    assert!(
        !tokens.contains(">console<"),
        "no sign-ins among the tokens: {tokens}"
    );
    assert_eq!(sign_ins.matches("(this browser)").count(), 1, "{sign_ins}");
    let other = sign_ins
        .split("<tr>")
        .find(|row| {
            row.contains(">console") && !row.contains("this browser") && row.contains("/revoke")
        })
        .expect("the other browser");
    let action = other
        .split("action=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let before = sign_ins.matches("<tr>").count();
    post_text(
        &here,
        &format!("{}{action}", server.url),
        &[("csrf", &csrf_of(&page))],
    )
    .await;
    let page = get_text(&here, &url).await;
    let (_, sign_ins) = page.split_once("id=\"signins\"").unwrap();
    assert_eq!(sign_ins.matches("<tr>").count(), before - 1, "{sign_ins}");
    // The other browser is signed out; this one is not.
    let response = elsewhere
        .get(format!("{}/console", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.url().path(), "/login", "{}", response.url());
    assert!(get_text(&here, &url).await.contains("id=\"signins\""));
}
