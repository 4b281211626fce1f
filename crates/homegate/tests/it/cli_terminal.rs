//! Issue 26 item 7: the CLI in a normal terminal.

use std::process::Stdio;

use api_types::Role;

use crate::cli::{fails, homegate, ok, run};
use crate::cli_sticks::login;
use crate::support::{Backend, TestServer, USER_PASSWORD};

/// Usage errors show clap's whole message: what is missing, the allowed
/// values, "did you mean", the usage line; exit 64.
#[test]
fn usage_errors_say_everything_clap_knows() {
    let dir = tempfile::tempdir().unwrap();
    let usage = |args: &[&str]| {
        let output = run(homegate(dir.path()).args(args), None);
        assert_eq!(output.status.code(), Some(64), "{args:?}");
        String::from_utf8(output.stderr).unwrap()
    };
    let missing = usage(&["users", "create", "--tenant", "lemgo"]);
    assert!(
        missing.contains("--username") && missing.contains("--role") && missing.contains("Usage:"),
        "{missing}"
    );
    let values = usage(&[
        "manual", "--tenant", "lemgo", "--out", "x", "--format", "doc",
    ]);
    assert!(values.contains("possible values: html, pdf"), "{values}");
    let typo = usage(&["tenant", "list"]);
    assert!(typo.contains("tenants"), "{typo}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_in_a_terminal() {
    let server = TestServer::start(Backend::Sqlite).await;
    server.tenant("lemgo", "10.20.0.0/16").await;
    server
        .login_as(Some("lemgo"), "it", Role::TenantAdmin)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    login(dir, &server);

    // A reader that quits early (`| head -1`) ends the CLI quietly.
    let mut child = homegate(dir)
        .args(["audit", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // Roles as they are typed.
    let users = ok(dir, &["users", "list", "--tenant", "lemgo"]);
    assert!(users.contains("tenant-admin"), "{users}");
    assert!(!users.contains("tenant_admin"), "{users}");

    // A tenant that does not exist is not found, not an empty log.
    assert!(fails(dir, &["audit", "list", "--tenant", "nosuch"]).contains("'nosuch' not found"));

    // Stick batches fit a terminal; --wide has every column.
    ok(dir, &["groups", "create", "--tenant", "lemgo", "office"]);
    let out = dir.join("batch").display().to_string();
    ok(
        dir,
        &[
            "sticks", "batch", "create", "--tenant", "lemgo", "--count", "1", "--group", "office",
            "--out", &out,
        ],
    );
    let narrow = ok(dir, &["sticks", "batch", "list", "--tenant", "lemgo"]);
    let widest = narrow.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 100, "{widest} columns:\n{narrow}");
    let wide = ok(
        dir,
        &["sticks", "batch", "list", "--tenant", "lemgo", "--wide"],
    );
    assert!(wide.contains("tokens valid until"), "{wide}");

    // A tenant admin without --tenant works in their own tenant.
    let admin_dir = tempfile::tempdir().unwrap();
    let admin_dir = admin_dir.path();
    let output = run(
        homegate(admin_dir).args(["login", &server.url, "-u", "it", "--password-stdin"]),
        Some(&format!("{USER_PASSWORD}\n")),
    );
    assert!(output.status.success());
    let own = ok(admin_dir, &["users", "list"]);
    assert!(own.contains("it") && own.contains("tenant-admin"), "{own}");
    server.stop().await;
}
