//! Issue 25, item 2: upgrades. The current binary runs on the previous
//! release's populated database (migrations run forward on start) and
//! refuses a database a newer release migrated.

use std::path::{Path, PathBuf};

use api_types::auth::LoginRequest;
use sqlx::Connection;

use crate::cli::{ServeProcess, homegate, run};
use crate::ops::get;
use crate::support::{Backend, TestDb};

/// Adds a migration this binary does not know, as a newer homegate would.
async fn migrate_to_the_future(url: &str) -> i64 {
    let store = store::Store::open(url).await.unwrap();
    let future = store::schema_version_known() + 4;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         SELECT $1, 'from a newer release', success, checksum, execution_time \
         FROM _sqlx_migrations WHERE version = 1",
    )
    .bind(future)
    .execute(store.pool())
    .await
    .unwrap();
    store.close().await;
    future
}

/// `homegate serve` on a database a newer homegate migrated: one clear line,
/// non-zero exit, nothing changed.
async fn refuses_a_newer_database(backend: Backend) {
    let (db, url) = TestDb::create(backend).await;
    let future = migrate_to_the_future(&url).await;
    let known = store::schema_version_known();

    let dir = tempfile::tempdir().unwrap();
    let output = run(
        homegate(dir.path()).current_dir(dir.path()).args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &url,
        ]),
        None,
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{stderr}");
    assert!(
        last.contains(&format!(
            "the database has schema version {future}, newer than this homegate knows ({known})"
        )),
        "{stderr}"
    );
    assert!(last.contains("run that release"), "{stderr}");

    // The library refuses as well, and applied nothing.
    match store::Store::open(&url).await {
        Err(store::StoreError::SchemaTooNew { found, known: k }) => {
            assert_eq!((found, k), (future, known));
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("opened a newer database"),
    }
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_a_newer_database_on_sqlite() {
    refuses_a_newer_database(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_a_newer_database_on_postgres() {
    refuses_a_newer_database(Backend::Postgres).await;
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Loads the populated schema-0010 database of the previous release (made by
/// `tests/fixtures/schema-0010/make.sh`) into a fresh database.
async fn load_previous_release(backend: Backend, url: &str) {
    let file = match backend {
        Backend::Sqlite => "schema-0010/sqlite.sql",
        Backend::Postgres => "schema-0010/postgres.sql",
    };
    let dump = std::fs::read_to_string(fixture(file)).unwrap();
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::raw_sql(&dump).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::raw_sql(&dump).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
    }
}

/// The current `homegate serve` on the previous release's populated
/// database: migrations run forward on start and every record is there.
async fn upgrades_from_the_previous_release(backend: Backend) {
    let (db, url) = TestDb::create(backend).await;
    load_previous_release(backend, &url).await;

    let dir = tempfile::tempdir().unwrap();
    let server = tokio::task::block_in_place(|| {
        ServeProcess::start(
            dir.path(),
            &["--listen", "127.0.0.1:0", "--database", &url],
            false,
        )
    });
    assert!(server.password.is_empty(), "a new admin on an old database");
    assert_eq!(get(&format!("{}/readyz", server.url)).await.0, 200);

    let anonymous = client::Client::new(&server.url, None).unwrap();
    let login = anonymous
        .login(&LoginRequest {
            username: "admin".into(),
            password: "fixture admin password 1".into(),
            token_name: None,
        })
        .await
        .unwrap();
    let admin = anonymous.with_token(login.token.unwrap());

    let mut tenants: Vec<(String, String)> = admin
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.slug, t.name))
        .collect();
    tenants.sort();
    assert_eq!(
        tenants,
        [
            ("detmold".to_owned(), "Stadt Detmold".to_owned()),
            ("lemgo".to_owned(), "Alte Hansestadt Lemgo".to_owned())
        ]
    );
    let lemgo = admin.get_tenant("lemgo").await.unwrap();
    assert_eq!(lemgo.address_pool, "10.20.0.0/16");
    assert_eq!(lemgo.region.as_deref(), Some("south"));
    assert_eq!(lemgo.quota.max_sessions, Some(50));

    let mut users: Vec<(String, String)> = admin
        .list_users("lemgo")
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.username, u.display_name))
        .collect();
    users.sort();
    assert_eq!(users[0], ("anna".to_owned(), "Anna Schmidt".to_owned()));
    assert_eq!(users[1].0, "it@lemgo.de");

    let devices = admin.list_devices("lemgo").await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].name, "Anna's laptop");
    assert_eq!(devices[0].owner.as_deref(), Some("anna"));
    assert_eq!(
        devices[0].public_key.as_deref(),
        Some("mD0Zbx0ZmWj7mdDkGv5cOhYxIzwR4Xo3gBPMFHJDpnc=")
    );
    assert!(
        devices[0]
            .tunnel_address
            .as_deref()
            .is_some_and(|a| a.starts_with("10.20."))
    );

    let applications = admin.list_applications("lemgo").await.unwrap();
    assert_eq!(applications.len(), 1);
    assert_eq!(applications[0].name, "fileserver");
    let rules = admin.list_access_rules("lemgo").await.unwrap();
    assert_eq!(
        (rules[0].group.as_str(), rules[0].application.as_str()),
        ("office", "fileserver")
    );
    let gateways = admin.list_gateways().await.unwrap();
    assert_eq!(gateways.len(), 1);
    assert_eq!(gateways[0].name, "gw-south-1");
    assert_eq!(
        gateways[0].endpoint.as_deref(),
        Some("vpn-south.example.org:51820")
    );
    let audit = admin
        .audit(&api_types::audit::AuditQuery {
            tenant: Some("lemgo".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(audit.len() >= 7, "{audit:?}");

    // And it keeps working: a change on the upgraded database.
    admin
        .add_group_member("lemgo", "office", "it@lemgo.de")
        .await
        .unwrap();
    drop(server);
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_from_the_previous_release_on_sqlite() {
    upgrades_from_the_previous_release(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_from_the_previous_release_on_postgres() {
    upgrades_from_the_previous_release(Backend::Postgres).await;
}
