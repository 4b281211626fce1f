//! Issue 25, item 3: `homegate backup` copies a running control plane's
//! SQLite database consistently while it writes; `homegate restore` brings
//! the copy back only while no server runs, and only a homegate database.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use api_types::auth::{ChangePassword, LoginRequest};
use api_types::tenancy::{CreateGroup, CreateTenant};

use crate::cli::{ServeProcess, homegate, run};
use crate::support::{Backend, TestDb};

const PASSWORD: &str = "backup test admin password";

/// `homegate ARGS` in `dir`; (success, stdout, stderr).
fn homegate_in(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = run(homegate(dir).current_dir(dir).args(args), None);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn serve(dir: &Path, first_start: bool) -> ServeProcess {
    tokio::task::block_in_place(|| {
        ServeProcess::start(
            dir,
            &["--listen", "127.0.0.1:0", "--data-dir", "data"],
            first_start,
        )
    })
}

async fn admin(server: &ServeProcess, password: &str) -> client::Client {
    let anonymous = client::Client::new(&server.url, None).unwrap();
    let login = anonymous
        .login(&LoginRequest {
            username: "admin".into(),
            password: password.into(),
            token_name: None,
        })
        .await
        .unwrap();
    anonymous.with_token(login.token.unwrap())
}

async fn group_names(admin: &client::Client) -> Vec<String> {
    let mut names: Vec<String> = admin
        .list_groups("lemgo")
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_while_writing_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let server = serve(dir, true);
    let first = admin(&server, &server.password).await;
    first
        .change_password(&ChangePassword {
            current_password: server.password.clone(),
            new_password: PASSWORD.into(),
        })
        .await
        .unwrap();
    let admin_client = admin(&server, PASSWORD).await;
    admin_client
        .create_tenant(&CreateTenant {
            slug: "lemgo".into(),
            name: "Lemgo".into(),
            default_language: None,
            address_pool: "10.20.0.0/16".into(),
            region: None,
            max_sessions: None,
            max_devices: None,
        })
        .await
        .unwrap();

    // Writes run through the API all the while: one group after another.
    let written = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn({
        let (admin, written, stop) = (admin_client.clone(), written.clone(), stop.clone());
        async move {
            while !stop.load(Ordering::Relaxed) {
                let n = written.load(Ordering::Relaxed);
                admin
                    .create_group(
                        "lemgo",
                        &CreateGroup {
                            name: format!("g{n:05}"),
                            description: None,
                        },
                    )
                    .await
                    .unwrap();
                written.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    while written.load(Ordering::Relaxed) < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before = written.load(Ordering::Relaxed);
    let backup = dir.join("backup.db");
    let backup_arg = backup.display().to_string();
    let (ok, stdout, stderr) = tokio::task::block_in_place(|| {
        homegate_in(dir, &["backup", "--data-dir", "data", "--out", &backup_arg])
    });
    assert!(ok, "{stderr}");
    assert!(stdout.contains("Backup of"), "{stdout}");
    let after = written.load(Ordering::Relaxed);
    while written.load(Ordering::Relaxed) < after + 10 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    let total = group_names(&admin_client).await.len();
    assert!(total >= after + 10);

    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&backup).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    // A second backup does not overwrite the first.
    let (ok, _, stderr) = tokio::task::block_in_place(|| {
        homegate_in(dir, &["backup", "--data-dir", "data", "--out", &backup_arg])
    });
    assert!(!ok);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot create"), "{stderr}");

    // No restore under a running server.
    let (ok, _, stderr) = tokio::task::block_in_place(|| {
        homegate_in(dir, &["restore", "--data-dir", "data", &backup_arg])
    });
    assert!(!ok);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("stop it first"), "{stderr}");
    // Nor of a file that is not a homegate database.
    let other = dir.join("other.db");
    std::fs::write(&other, "not a database").unwrap();
    let (ok, _, stderr) = tokio::task::block_in_place(|| {
        homegate_in(
            dir,
            &[
                "restore",
                "--data-dir",
                "data",
                &other.display().to_string(),
            ],
        )
    });
    assert!(!ok);
    assert!(stderr.contains("not a homegate database"), "{stderr}");

    drop(server);
    let (ok, stdout, stderr) = tokio::task::block_in_place(|| {
        homegate_in(dir, &["restore", "--data-dir", "data", &backup_arg])
    });
    assert!(ok, "{stderr}");
    assert!(stdout.contains("kept as"), "{stdout}");

    // The restored database is the one of a single moment: the groups made
    // before that moment, each with its audit event, and nothing after.
    let server = serve(dir, false);
    let admin_client = admin(&server, PASSWORD).await;
    let groups = group_names(&admin_client).await;
    assert!(
        (before..=after).contains(&groups.len()),
        "{} groups, written {before} before and {after} after the backup",
        groups.len()
    );
    let expected: Vec<String> = (0..groups.len()).map(|n| format!("g{n:05}")).collect();
    assert_eq!(groups, expected);
    let audited = admin_client
        .audit(&api_types::audit::AuditQuery {
            tenant: Some("lemgo".into()),
            action: Some("group.create".into()),
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audited.len(), groups.len());
    // And it takes changes again.
    admin_client
        .create_group(
            "lemgo",
            &CreateGroup {
                name: "after-restore".into(),
                description: None,
            },
        )
        .await
        .unwrap();
}

/// On PostgreSQL both commands point to its own tools, in one line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_points_to_pg_dump() {
    let (db, url) = TestDb::create(Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    for (args, tool) in [
        (
            vec!["backup", "--database", &url, "--out", "x.dump"],
            "pg_dump",
        ),
        (vec!["restore", "--database", &url, "x.dump"], "pg_restore"),
    ] {
        let (ok, _, stderr) = tokio::task::block_in_place(|| homegate_in(dir, &args));
        assert!(!ok);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(tool), "{stderr}");
        assert!(stderr.contains("docs/operations.md"), "{stderr}");
    }
    drop(db);
}
