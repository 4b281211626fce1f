//! Issue 5: an employee goes from a one-time code to `homegate up` to her
//! application; a phone configuration works in a third-party WireGuard
//! client; reused and expired codes are refused; revocation cuts traffic.

use std::process::Output;
use std::time::Duration;

use api_types::Role;
use api_types::enrollment::{CreateEnrollmentCode, CreatePhone};
use api_types::tenancy::Protocol;

use super::{Fixture, blocking, device_cli, ok, tenant_with_apps};
use crate::lab::{APP, CONTROL_PLANE, CONTROL_PLANE_PORT, wait_until};

fn failure(output: &Output) -> String {
    assert!(!output.status.success(), "should have failed");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs root: network namespaces and TUN (cargo xtask test runs it)"]
async fn code_to_tunnel_to_application_phone_and_revocation() {
    let fixture = Fixture::start(1, 2).await;
    let (lab, server) = (&fixture.lab, &fixture.server);
    blocking(|| lab.start_apps(&[7000]));
    tenant_with_apps(
        server,
        "lemgo",
        "10.20.0.0/16",
        "office",
        &[],
        &[("files", Protocol::Tcp, 7000)],
    )
    .await;
    let anna = server.login_as(Some("lemgo"), "anna", Role::Employee).await;
    server
        .admin
        .add_group_member("lemgo", "office", "anna")
        .await
        .unwrap();
    let url = format!("http://{CONTROL_PLANE}:{CONTROL_PLANE_PORT}");

    // Anna makes a code for her laptop and enrolls it.
    let code = anna
        .create_my_enrollment_code(&CreateEnrollmentCode::default())
        .await
        .unwrap();
    assert_eq!(code.code.user.as_deref(), Some("anna"));
    let laptop = lab.dir.path().join("laptop");
    let output = blocking(|| {
        device_cli(
            lab,
            "c1",
            &laptop,
            &[
                "enroll",
                &url,
                "--insecure-http",
                "--code",
                &code.secret,
                "--name",
                "Anna's laptop",
            ],
        )
    });
    let text = ok(&output);
    assert!(text.contains("Enrolled"), "{text}");
    let stored = std::fs::read_to_string(laptop.join("device.toml")).unwrap();
    let mode = std::fs::metadata(laptop.join("device.toml")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    let devices = anna.my_devices().await.unwrap();
    assert_eq!(devices.len(), 1);
    let laptop_device = devices[0].clone();
    // The server has the public key; the private key exists only on the device.
    let public_key = laptop_device.public_key.clone().unwrap();
    assert!(stored.contains("private_key"));
    assert!(
        !server
            .admin
            .audit(&Default::default())
            .await
            .unwrap()
            .iter()
            .any(|e| e.details.to_string().contains("private"))
    );

    // The same code again, and an expired one, are refused clearly.
    let again = blocking(|| {
        device_cli(
            lab,
            "c2",
            &lab.dir.path().join("again"),
            &["enroll", &url, "--insecure-http", "--code", &code.secret],
        )
    });
    assert!(failure(&again).contains("already used"));
    let stale = anna
        .create_my_enrollment_code(&CreateEnrollmentCode::default())
        .await
        .unwrap();
    sqlx::query("UPDATE enrollment_codes SET expires_at = 1 WHERE id = $1")
        .bind(&stale.code.id)
        .execute(server.store.pool())
        .await
        .unwrap();
    let expired = blocking(|| {
        device_cli(
            lab,
            "c2",
            &lab.dir.path().join("stale"),
            &["enroll", &url, "--insecure-http", "--code", &stale.secret],
        )
    });
    assert!(failure(&expired).contains("expired"));
    let unknown = blocking(|| {
        device_cli(
            lab,
            "c2",
            &lab.dir.path().join("nope"),
            &[
                "enroll",
                &url,
                "--insecure-http",
                "--code",
                "AAAA-BBBB-CCCC",
            ],
        )
    });
    assert!(failure(&unknown).contains("unknown enrollment code"));

    // Up, through the gateway, to the application.
    ok(&blocking(|| device_cli(lab, "c1", &laptop, &["up"])));
    let reached = blocking(|| wait_until(Duration::from_secs(15), || lab.tcp("c1", APP, 7000)));
    assert!(
        reached.is_some(),
        "the laptop cannot reach its application:\n{}",
        lab.gateway_log(1)
    );
    let status: serde_json::Value = blocking(|| {
        wait_until(Duration::from_secs(5), || {
            let status: serde_json::Value = serde_json::from_str(&ok(&device_cli(
                lab,
                "c1",
                &laptop,
                &["-o", "json", "status"],
            )))
            .unwrap();
            status["tunnel"]["state"] == "connected"
                && status["control_plane"]["session"].is_object()
        })
        .expect("status never showed the session");
        serde_json::from_str(&ok(&device_cli(
            lab,
            "c1",
            &laptop,
            &["-o", "json", "status"],
        )))
        .unwrap()
    });
    assert_eq!(status["tunnel"]["gateway"], "g1");
    assert_eq!(status["control_plane"]["session"]["gateway"], "g1");
    let human = ok(&blocking(|| device_cli(lab, "c1", &laptop, &["status"])));
    assert!(
        human.contains("connected") && human.contains("Session:  active on gateway g1"),
        "{human}"
    );

    // export-config writes a wg-quick file with the device's own key.
    let exported = lab.dir.path().join("exported.conf");
    ok(&blocking(|| {
        device_cli(
            lab,
            "c1",
            &laptop,
            &["export-config", "--out", &exported.display().to_string()],
        )
    }));
    let wg_quick = std::fs::read_to_string(&exported).unwrap();
    assert!(wg_quick.contains("PrivateKey = ") && wg_quick.contains("Endpoint = 198.18.0.1:51820"));
    assert!(wg_quick.contains(&format!(
        "Address = {}/32",
        laptop_device.tunnel_address.as_deref().unwrap()
    )));

    // down frees the seat at once.
    ok(&blocking(|| device_cli(lab, "c1", &laptop, &["down"])));
    let freed = wait_for_sessions(server, 0).await;
    assert!(freed, "the seat was not freed after `homegate down`");
    assert!(!blocking(|| lab.tcp("c1", APP, 7000)));

    // A phone: configuration and QR for the official app; here wg-quick
    // with wireguard-go plays the phone.
    let phone = anna
        .create_my_phone(&CreatePhone {
            name: "Anna's phone".into(),
            kind: None,
        })
        .await
        .unwrap();
    assert!(phone.qr_svg.contains("<svg"));
    assert!(!phone.qr_png_base64.is_empty());
    assert!(phone.device.public_key.is_some());
    let conf = lab.dir.path().join(format!("{}p.conf", lab.id));
    std::fs::write(&conf, &phone.wg_quick).unwrap();
    let conf_arg = conf.display().to_string();
    blocking(|| {
        let output = lab
            .command("c2", "wg-quick")
            .args(["up", &conf_arg])
            .env("WG_QUICK_USERSPACE_IMPLEMENTATION", "wireguard-go")
            .env("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD", "1")
            .output()
            .unwrap();
        ok(&output);
    });
    let phone_reached =
        blocking(|| wait_until(Duration::from_secs(15), || lab.tcp("c2", APP, 7000)));
    assert!(
        phone_reached.is_some(),
        "the phone configuration does not work"
    );

    // Revocation cuts the laptop's traffic within a second.
    ok(&blocking(|| device_cli(lab, "c1", &laptop, &["up"])));
    assert!(
        blocking(|| wait_until(Duration::from_secs(15), || lab.tcp("c1", APP, 7000))).is_some()
    );
    server
        .admin
        .revoke_device("lemgo", &laptop_device.id)
        .await
        .unwrap();
    let applied = fixture.wait_applied();
    assert!(
        applied < Duration::from_secs(1),
        "revocation took {applied:?}"
    );
    assert!(
        !blocking(|| lab.tcp("c1", APP, 7000)),
        "a revoked laptop still reaches the application"
    );
    assert!(
        blocking(|| lab.tcp("c2", APP, 7000)),
        "the phone is unaffected"
    );
    let _ = public_key;
    fixture.stop().await;
}

async fn wait_for_sessions(server: &crate::support::TestServer, count: u32) -> bool {
    for _ in 0..100 {
        if server.admin.list_sessions("lemgo").await.unwrap().in_use == count {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
