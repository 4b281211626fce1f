//! Issue 20, hardening: what a penetration test found, each with a test.

use api_types::Role;
use api_types::audit::AuditQuery;
use api_types::auth::{CreateToken, FreshSecondFactor, TotpCode};
use totp_rs::{Algorithm, Builder, Secret};

use crate::both_backends;
use crate::support::{Backend, TestServer, problem_of};

both_backends!(
    restricted_token_cannot_manage_the_account,
    changing_totp_needs_a_fresh_code,
    password_change_ends_other_logins,
    webhook_credentials_stay_hidden,
    secrets_are_sealed_at_rest,
    usernames_are_unique_per_tenant
);

/// Every account endpoint: `(method, path, body)`.
const ACCOUNT_ENDPOINTS: &[(&str, &str, &str)] = &[
    ("GET", "/api/v1/tokens", ""),
    ("POST", "/api/v1/tokens", r#"{"name":"wider"}"#),
    ("DELETE", "/api/v1/tokens/TOKEN_ID", ""),
    (
        "POST",
        "/api/v1/me/password",
        r#"{"current_password":"x","new_password":"a-new-password-12345"}"#,
    ),
    ("GET", "/api/v1/me/mfa", ""),
    ("POST", "/api/v1/me/totp", "{}"),
    ("POST", "/api/v1/me/totp/confirm", r#"{"code":"123456"}"#),
    ("POST", "/api/v1/me/totp/disable", r#"{"code":"123456"}"#),
    ("POST", "/api/v1/me/recovery-codes", "{}"),
    ("POST", "/api/v1/me/webauthn/register/start", "{}"),
    (
        "POST",
        "/api/v1/me/webauthn/register/finish",
        r#"{"ticket":"x","credential":{}}"#,
    ),
    ("DELETE", "/api/v1/me/webauthn/some-id", ""),
];

/// Issue 20 item 1: a provider admin's token restricted to one tenant
/// reaches that tenant, but none of the account's management: every
/// account endpoint answers 403 problem JSON and changes nothing.
async fn restricted_token_cannot_manage_the_account(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    let created = server
        .admin
        .create_token(&CreateToken {
            name: "lemgo automation".into(),
            tenant: Some("lemgo".into()),
            expires_in_days: None,
        })
        .await
        .unwrap();
    let restricted = server.anonymous().with_token(created.secret.clone());
    // What it is for still works.
    restricted.get_tenant("lemgo").await.unwrap();
    restricted.list_users("lemgo").await.unwrap();
    assert!(restricted.me().await.is_ok(), "who am I stays readable");
    let before = server.admin.list_tokens().await.unwrap().len();

    let http = reqwest::Client::new();
    for (method, path, body) in ACCOUNT_ENDPOINTS {
        let path = path.replace("TOKEN_ID", &created.token.id);
        let mut request = http
            .request(method.parse().unwrap(), format!("{}{path}", server.url))
            .bearer_auth(&created.secret);
        if !body.is_empty() {
            request = request
                .header("content-type", "application/json")
                .body(*body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{method} {path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{method} {path}"
        );
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            problem["type"], "/docs/problems#forbidden",
            "{method} {path}"
        );
        assert_eq!(problem["status"], 403);
    }

    // Nothing changed: no new token, the restricted one itself still works,
    // and the owner's login token is untouched.
    assert_eq!(server.admin.list_tokens().await.unwrap().len(), before);
    restricted.get_tenant("lemgo").await.unwrap();
    assert!(!server.admin.mfa_status().await.unwrap().totp_enabled);
    // The same endpoints work with the full-scope login.
    server.admin.list_tokens().await.unwrap();
    server.admin.revoke_token(&created.token.id).await.unwrap();
    assert_eq!(problem_of(restricted.get_tenant("lemgo").await).0, 401);
}

fn code_at(secret: &str, offset_secs: i64) -> String {
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
    totp.generate(now.checked_add_signed(offset_secs).unwrap())
        .to_string()
}

/// Anna, an employee of lemgo (made here), with TOTP on (confirmed with the
/// previous step's code, so the current one is still unused).
async fn employee_with_totp(server: &TestServer) -> (client::Client, api_types::auth::TotpSetup) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    let anna = server.login_as(Some("lemgo"), "anna", Role::Employee).await;
    let setup = anna
        .totp_start(&FreshSecondFactor::default())
        .await
        .unwrap();
    anna.totp_confirm(&TotpCode {
        code: code_at(&setup.secret, -30),
    })
    .await
    .unwrap();
    (anna, setup)
}

/// Issue 20 item 1: with TOTP on, setting up a new authenticator app or
/// new recovery codes needs a current code, and both are audited.
async fn changing_totp_needs_a_fresh_code(server: &TestServer) {
    let (anna, setup) = employee_with_totp(server).await;

    // Without a code, or with a wrong one: refused, TOTP stays on.
    for code in [None, Some("000000".to_owned())] {
        let proof = FreshSecondFactor { code };
        let (status, problem) = problem_of(anna.totp_start(&proof).await);
        assert_eq!(status, 422, "{problem:?}");
        assert_eq!(problem.errors[0].field, "code");
        let (status, problem) = problem_of(anna.new_recovery_codes(&proof).await);
        assert_eq!(status, 422, "{problem:?}");
        assert_eq!(problem.errors[0].field, "code");
    }
    let status = anna.mfa_status().await.unwrap();
    assert!(status.totp_enabled);
    assert_eq!(status.recovery_codes_left, 10);

    // With the current code: new recovery codes, then a new app (codes of
    // the previous, current and next 30 s step are valid, each once).
    let codes = anna
        .new_recovery_codes(&FreshSecondFactor {
            code: Some(code_at(&setup.secret, 0)),
        })
        .await
        .unwrap();
    assert_eq!(codes.codes.len(), 10);
    let (status, _) = problem_of(
        anna.totp_start(&FreshSecondFactor {
            code: Some(code_at(&setup.secret, 0)),
        })
        .await,
    );
    assert_eq!(status, 422, "a used code does not work twice");
    let renewed = anna
        .totp_start(&FreshSecondFactor {
            code: Some(code_at(&setup.secret, 30)),
        })
        .await
        .unwrap();
    assert_ne!(renewed.secret, setup.secret);

    let events = server
        .admin
        .audit(&AuditQuery {
            action: Some("user.mfa.".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let starts: Vec<_> = events
        .iter()
        .filter(|e| e.action == "user.mfa.totp.start")
        .map(|e| e.details["replaces_enabled"].clone())
        .collect();
    assert_eq!(starts, [serde_json::json!(true), serde_json::json!(false)]);
    let regenerated = events
        .iter()
        .filter(|e| e.action == "user.mfa.recovery_codes")
        .count();
    assert_eq!(regenerated, 2, "at confirmation and on request");
}

/// A minimal OpenID Connect discovery endpoint that counts its fetches.
async fn counting_issuer() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let fetches = std::sync::Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let document = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let counter = std::sync::Arc::clone(&fetches);
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let document = document.clone();
                async move { axum::Json(document) }
            }),
        )
        .route(
            "/jwks",
            axum::routing::get(|| async { axum::Json(serde_json::json!({ "keys": [] })) }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (issuer, fetches)
}

/// Issue 20 item 2: an OIDC issuer must be https unless the provider runs
/// in development mode; anonymous calls of the login start fetch the
/// issuer's discovery document once, not on every call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_issuer_on_sqlite() {
    oidc_issuer(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_issuer_on_postgres() {
    oidc_issuer(Backend::Postgres).await;
}

async fn oidc_issuer(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    server.tenant("lemgo", "10.20.0.0/16").await;
    let (issuer, fetches) = counting_issuer().await;
    let request = api_types::auth::SetIdentityProvider {
        issuer: issuer.clone(),
        client_id: "homegate".into(),
        client_secret: "a-client-secret".into(),
        username_claim: None,
        counts_as_mfa: false,
        auto_provision: false,
    };
    let (status, problem) = problem_of(server.admin.set_identity_provider("lemgo", &request).await);
    assert_eq!(status, 422);
    assert_eq!(problem.errors[0].field, "issuer");
    assert!(
        problem.errors[0]
            .message
            .starts_with("oidc_issuer_not_https"),
        "{problem:?}"
    );

    server
        .configure(|settings| settings.outbound_policy.oidc_http = true)
        .await;
    server
        .admin
        .set_identity_provider("lemgo", &request)
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = format!("{}/auth/oidc/lemgo/start", server.url);
    let calls = (0..20).map(|_| async {
        let response = http.get(&start).send().await.unwrap();
        assert_eq!(response.status(), 303);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            location.starts_with(&format!("{issuer}/auth?")),
            "{location}"
        );
    });
    futures::future::join_all(calls).await;
    assert_eq!(
        fetches.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one discovery for twenty concurrent anonymous starts"
    );

    // Item 6: the anonymous login page does not list the municipalities
    // with an identity provider; it asks for the municipality, and answers
    // an unknown one and one without a provider alike.
    server.tenant("detmold", "10.21.0.0/16").await;
    let login = http
        .get(format!("{}/login", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("name=\"organisation\""), "{login}");
    assert!(!login.contains("lemgo"), "{login}");
    let organisation = |name: &str| {
        http.get(format!("{}/login/organisation", server.url))
            .query(&[("organisation", name), ("next", "/portal/devices")])
            .send()
    };
    let response = organisation("Gemeinde LEMGO").await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/auth/oidc/lemgo/start?redirect_to=%2Fportal%2Fdevices"
    );
    let mut answers = Vec::new();
    for name in ["detmold", "nosuch"] {
        let response = organisation(name).await.unwrap();
        assert_eq!(response.status(), 200);
        let page = response.text().await.unwrap();
        assert!(
            page.contains(&format!("value=\"{name}\"")),
            "input kept: {page}"
        );
        assert!(page.contains("organisation-error"), "{page}");
        answers.push(
            page.replace(name, "NAME")
                .replace(|c: char| !c.is_ascii(), ""),
        );
    }
    let without_csrf = |page: &str| {
        page.lines()
            .filter(|line| !line.contains("csrf"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_csrf(&answers[0]), without_csrf(&answers[1]));

    // Development mode off again: the saved http issuer is not used.
    server.configure(|_| {}).await;
    let response = http.get(&start).send().await.unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);
    server.stop().await;
}

/// The CSRF token of a console form.
fn csrf_of(page: &str) -> &str {
    let needle = "name=\"csrf\" value=\"";
    let start = page.find(needle).unwrap() + needle.len();
    &page[start..start + page[start..].find('"').unwrap()]
}

/// Logs `username` in through the console's login form; returns the
/// browser (its cookie jar holds the session).
async fn console_login(server: &TestServer, username: &str, password: &str) -> reqwest::Client {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
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
    let csrf = csrf_of(&page);
    let response = browser
        .post(format!("{}/login", server.url))
        .form(&[
            ("csrf", csrf),
            ("username", username),
            ("password", password),
            ("next", "/portal"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/portal");
    browser
}

/// Issue 20 item 8: a password change ends the user's other logins
/// (browser sessions and login tokens, e.g. of the one-time password) and
/// keeps the one it was made with, and API tokens made on purpose.
async fn password_change_ends_other_logins(server: &TestServer) {
    use api_types::auth::{ChangePassword, CreateToken};
    server.tenant("lemgo", "10.20.0.0/16").await;
    let current = server.login_as(Some("lemgo"), "anna", Role::Employee).await;
    let other = server.login("anna", crate::support::USER_PASSWORD).await;
    let browser = console_login(server, "anna", crate::support::USER_PASSWORD).await;
    let portal = format!("{}/portal", server.url);
    assert_eq!(browser.get(&portal).send().await.unwrap().status(), 200);
    let script = current
        .create_token(&CreateToken {
            name: "script".into(),
            tenant: None,
            expires_in_days: Some(30),
        })
        .await
        .unwrap();
    let script = server.anonymous().with_token(script.secret);

    current
        .change_password(&ChangePassword {
            current_password: crate::support::USER_PASSWORD.into(),
            new_password: "a-brand-new-password-7".into(),
        })
        .await
        .unwrap();
    current.me().await.unwrap();
    script.me().await.unwrap();
    assert_eq!(problem_of(other.me().await).0, 401, "other login token");
    let after = browser.get(&portal).send().await.unwrap();
    assert_eq!(after.status(), 303, "the browser session ended");
    assert!(
        after.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"),
        "{after:?}"
    );

    // The console's own password form keeps its session and ends the API
    // login.
    let browser = console_login(server, "anna", "a-brand-new-password-7").await;
    let page = browser
        .get(format!("{}/password", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let csrf = csrf_of(&page);
    let changed = browser
        .post(format!("{}/password", server.url))
        .form(&[
            ("csrf", csrf),
            ("current", "a-brand-new-password-7"),
            ("new", "yet-another-password-8"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 303);
    assert_eq!(browser.get(&portal).send().await.unwrap().status(), 200);
    assert_eq!(problem_of(current.me().await).0, 401);
    script.me().await.unwrap();

    let events = server
        .admin
        .audit(&AuditQuery {
            action: Some("user.password.change".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(events[0].details["other_logins_ended"], 1);
    assert_eq!(events[1].details["other_logins_ended"], 2);
}

/// Item 7: a webhook URL carries its service's credential (path, query,
/// user:password); listings and the audit log show it without.
async fn webhook_credentials_stay_hidden(server: &TestServer) {
    use api_types::status::{CreateWebhook, Webhook, WebhookCreated};
    // Nothing listens on port 9 of loopback: the delivery fails at once.
    let url = "http://ops:hunter2@127.0.0.1:9/services/T0123ABCD/B0123ABCD/abcdefghijklmnopqrstuvwx?token=s3cret";
    let created: WebhookCreated = server
        .admin
        .post(&["status", "webhooks"], &CreateWebhook { url: url.into() })
        .await
        .unwrap();
    let listed: Vec<Webhook> = server.admin.get(&["status", "webhooks"]).await.unwrap();
    let events = server
        .admin
        .audit(&AuditQuery {
            action: Some("status.webhook.".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let shown = format!("{created:?} {listed:?} {events:?}");
    for secret in ["hunter2", "abcdefghijklmnopqrstuvwx", "s3cret"] {
        assert!(!shown.contains(secret), "{secret} shown: {shown}");
    }
    assert_eq!(
        listed[0].url,
        "http://***@127.0.0.1:9/services/T0123ABCD/B0123ABCD/***?token=***"
    );
}

/// Item 7: secrets read back in clear are sealed in the database with a key
/// outside it; they still work; a store with another key refuses; secrets
/// stored before sealing existed are sealed at the next start.
async fn secrets_are_sealed_at_rest(server: &TestServer) {
    use api_types::status::{CreateWebhook, WebhookCreated};
    use sqlx::Row as _;
    let (_anna, setup) = employee_with_totp(server).await;
    let client_secret = "the-oidc-client-secret";
    server
        .admin
        .set_identity_provider(
            "lemgo",
            &api_types::auth::SetIdentityProvider {
                issuer: "https://login.lemgo.example/realms/staff".into(),
                client_id: "homegate".into(),
                client_secret: client_secret.into(),
                username_claim: None,
                counts_as_mfa: false,
                auto_provision: false,
            },
        )
        .await
        .unwrap();
    let webhook: WebhookCreated = server
        .admin
        .post(
            &["status", "webhooks"],
            &CreateWebhook {
                url: "https://hooks.example/status".into(),
            },
        )
        .await
        .unwrap();
    let signing = server
        .store
        .proxy_signing_keys(|| store::proxy::SigningKey {
            kid: "k1".into(),
            private_pkcs8: "the-private-signing-key".into(),
            public_key: "the-public-key".into(),
        })
        .await
        .unwrap();
    assert_eq!(signing[0].private_pkcs8, "the-private-signing-key");

    let stored = |sql: &'static str| async move {
        let row = sqlx::query(sql)
            .fetch_one(server.store.pool())
            .await
            .unwrap();
        row.try_get::<String, _>(0).unwrap()
    };
    let at_rest = [
        (
            stored("SELECT totp_secret FROM users WHERE username = 'anna'").await,
            setup.secret.clone(),
        ),
        (
            stored("SELECT client_secret FROM tenant_idps").await,
            client_secret.to_owned(),
        ),
        (
            stored("SELECT secret FROM status_webhooks").await,
            webhook.secret.clone(),
        ),
        (
            stored("SELECT private_pkcs8 FROM proxy_signing_keys").await,
            "the-private-signing-key".to_owned(),
        ),
    ];
    for (stored, plain) in &at_rest {
        assert!(stored.starts_with("hgs1:"), "{stored}");
        assert!(!stored.contains(plain.as_str()), "{plain} in clear");
    }
    // Still in use: the TOTP code logs in, the webhook signs with its secret.
    let target = server
        .store
        .webhook_target(&webhook.webhook.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(target.secret, webhook.secret);
    assert_eq!(
        server
            .store
            .idp_config("lemgo")
            .await
            .unwrap()
            .unwrap()
            .client_secret,
        client_secret
    );

    // A store opened with another key refuses, naming both keys' ids.
    let other = store::sealing::SecretsKey::generate();
    let refused = store::Store::open(&server.database_url)
        .await
        .unwrap()
        .use_secrets_key(other.clone())
        .await;
    let message = refused.err().expect("another key is refused").to_string();
    assert!(message.contains(other.id()), "{message}");
    assert!(message.contains("same key file"), "{message}");

    // A secret written in clear by an older release is sealed at the next start.
    sqlx::query("UPDATE status_webhooks SET secret = 'hgw_written_in_clear'")
        .execute(server.store.pool())
        .await
        .unwrap();
    let key =
        store::sealing::SecretsKey::read(&server.data_dir.path().join(store::sealing::KEY_FILE))
            .unwrap();
    let restarted = store::Store::open(&server.database_url)
        .await
        .unwrap()
        .use_secrets_key(key)
        .await
        .unwrap();
    let sealed = stored("SELECT secret FROM status_webhooks").await;
    assert!(sealed.starts_with("hgs1:"), "{sealed}");
    let target = restarted
        .webhook_target(&webhook.webhook.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(target.secret, "hgw_written_in_clear");
    restarted.close().await;
}

/// A user of `tenant` (or provider staff) with a password of our choosing.
async fn user_with_password(
    server: &TestServer,
    tenant: Option<&str>,
    username: &str,
    password: &str,
) -> api_types::tenancy::User {
    let request = api_types::tenancy::CreateUser {
        username: username.to_owned(),
        display_name: None,
        email: None,
        role: Role::Employee,
        password: Some(password.to_owned()),
        language: None,
    };
    match tenant {
        Some(tenant) => server.admin.create_user(tenant, &request).await,
        None => server.admin.create_provider_user(&request).await,
    }
    .unwrap()
    .user
}

/// Which user a login name and password log in as, or the problem type.
async fn who_logs_in(server: &TestServer, login: &str, password: &str) -> Result<String, String> {
    match server
        .anonymous()
        .login(&api_types::auth::LoginRequest {
            username: login.to_owned(),
            password: password.to_owned(),
            token_name: None,
        })
        .await
    {
        Ok(response) => Ok(response.user.id),
        Err(client::ClientError::Api { problem, .. }) => Err(problem
            .kind
            .rsplit(['#', '/'])
            .next()
            .unwrap_or_default()
            .to_owned()),
        Err(other) => panic!("{other:?}"),
    }
}

/// Issue 20 item 6: a tenant admin cannot learn which usernames exist in
/// other municipalities, because names are unique only within one (and
/// among provider staff). A shared name logs in by its password, and
/// `name@municipality` names the account when the password fits several.
async fn usernames_are_unique_per_tenant(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    server.tenant("detmold", "10.21.0.0/16").await;
    let lemgo_admin = server
        .login_as(Some("lemgo"), "lemgo-admin", Role::TenantAdmin)
        .await;
    let detmold_admin = server
        .login_as(Some("detmold"), "detmold-admin", Role::TenantAdmin)
        .await;
    let anna = |password: &str| api_types::tenancy::CreateUser {
        username: "Anna".into(),
        display_name: None,
        email: None,
        role: Role::Employee,
        password: Some(password.to_owned()),
        language: None,
    };
    let lemgo_anna = lemgo_admin
        .create_user("lemgo", &anna("anna-in-lemgo-12345"))
        .await
        .unwrap()
        .user;
    // Before, this was 409 "taken": it told Detmold that Lemgo has an Anna.
    let detmold_anna = detmold_admin
        .create_user("detmold", &anna("anna-in-detmold-12345"))
        .await
        .unwrap()
        .user;
    assert_eq!(detmold_anna.username, "anna");
    // Within a tenant a name is still taken.
    let (status, _) = problem_of(
        lemgo_admin
            .create_user("lemgo", &anna("another-anna-12345"))
            .await,
    );
    assert_eq!(status, 409);
    // A tenant may have a user named like a provider admin; the provider
    // staff keep their own namespace.
    let detmold_admin_namesake =
        user_with_password(server, Some("detmold"), "admin", "not-the-admins-12345").await;
    let (status, _) = problem_of(
        server
            .admin
            .create_provider_user(&api_types::tenancy::CreateUser {
                username: "admin".into(),
                display_name: None,
                email: None,
                role: Role::ProviderAdmin,
                password: None,
                language: None,
            })
            .await,
    );
    assert_eq!(status, 409);

    // The password picks the account; `name@municipality` names it.
    assert_eq!(
        who_logs_in(server, "anna", "anna-in-lemgo-12345").await,
        Ok(lemgo_anna.id.clone())
    );
    assert_eq!(
        who_logs_in(server, "anna", "anna-in-detmold-12345").await,
        Ok(detmold_anna.id.clone())
    );
    assert_eq!(
        who_logs_in(server, "Anna@Detmold", "anna-in-detmold-12345").await,
        Ok(detmold_anna.id.clone())
    );
    assert_eq!(
        who_logs_in(server, "anna@lemgo", "anna-in-detmold-12345").await,
        Err("unauthenticated".to_owned())
    );
    assert_eq!(
        who_logs_in(server, "admin", "not-the-admins-12345").await,
        Ok(detmold_admin_namesake.id.clone())
    );
    assert!(
        who_logs_in(server, "admin", crate::support::ADMIN_PASSWORD)
            .await
            .is_ok()
    );

    // One password for two namesakes: the login names the municipality.
    let same = "the-same-password-12345";
    let lemgo_ben = user_with_password(server, Some("lemgo"), "ben", same).await;
    let detmold_ben = user_with_password(server, Some("detmold"), "ben", same).await;
    assert_eq!(
        who_logs_in(server, "ben", same).await,
        Err("login-ambiguous".to_owned())
    );
    assert_eq!(
        who_logs_in(server, "ben@lemgo", same).await,
        Ok(lemgo_ben.id)
    );
    assert_eq!(
        who_logs_in(server, "ben@detmold", same).await,
        Ok(detmold_ben.id)
    );
    // The console says so in the user's language.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let page = browser
        .get(format!("{}/login", server.url))
        .header("accept-language", "de")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let page = browser
        .post(format!("{}/login", server.url))
        .header("accept-language", "de")
        .form(&[
            ("csrf", csrf_of(&page)),
            ("username", "ben"),
            ("password", same),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Mehrere Konten haben diesen Benutzernamen"),
        "{page}"
    );

    // An import into Detmold may bring names Lemgo has.
    let started = detmold_admin
        .import_users(
            "detmold",
            &api_types::jobs::ImportUsers {
                csv: "username,display_name\nlemgo-admin,Namesake\n".into(),
                invite: false,
            },
        )
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let job = loop {
        let job = detmold_admin
            .get_job("detmold", &started.job.id, None)
            .await
            .unwrap();
        if job.state != api_types::jobs::JobState::Running {
            break job;
        }
        assert!(std::time::Instant::now() < deadline, "{job:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(job.state, api_types::jobs::JobState::Done, "{job:?}");
    let names: Vec<String> = server
        .admin
        .list_users("detmold")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert!(names.contains(&"lemgo-admin".to_owned()), "{names:?}");
}
