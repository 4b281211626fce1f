//! Issue 7 end to end: a stick made from a batch enrolls from its disk
//! image inside the lab, reaches its application through a gateway, and
//! is cut off within a second when reported lost. And a batch that runs
//! out of disk space leaves nothing behind.

use std::process::Command;
use std::time::Duration;

use api_types::Role;
use api_types::sticks::{Bundle, CreateStickBatch, Recipient};
use api_types::tenancy::{DeviceState, Protocol};

use super::{Fixture, blocking, device_cli, ok, tenant_with_apps};
use crate::lab::{APP, CONTROL_PLANE, CONTROL_PLANE_PORT, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs root: network namespaces and TUN (cargo xtask test runs it)"]
async fn stick_enrolls_from_its_image_reaches_its_application_and_is_revoked() {
    let mut fixture = Fixture::start(1, 1).await;
    fixture
        .server
        .set_public_url(&format!("http://{CONTROL_PLANE}:{CONTROL_PLANE_PORT}"))
        .await;
    let (lab, server) = (&fixture.lab, &fixture.server);
    blocking(|| lab.start_apps(&[7000]));
    tenant_with_apps(
        server,
        "blomberg",
        "10.60.0.0/16",
        "office",
        &[],
        &[("files", Protocol::Tcp, 7000)],
    )
    .await;

    // One stick for Jan, one spare that reaches the office's applications
    // through the batch's group.
    server
        .login_as(Some("blomberg"), "jan", Role::Employee)
        .await;
    let issued = server
        .admin
        .create_stick_batch(
            "blomberg",
            &CreateStickBatch {
                count: Some(2),
                recipients: vec![Recipient {
                    name: "Jan de Vries".into(),
                    username: Some("jan".into()),
                    ..Recipient::default()
                }],
                language: None,
                valid_days: None,
                group: Some("office".into()),
            },
        )
        .await
        .unwrap();
    let out = lab.dir.path().join("batch");
    let report = blocking(|| sticks::generate(&issued, &out, &|_, _| {})).unwrap();
    assert_eq!(report.sticks, 2);
    server
        .admin
        .stick_batch_action("blomberg", &issued.batch.id, "complete")
        .await
        .unwrap();
    server
        .admin
        .stick_batch_action("blomberg", &issued.batch.id, "ship")
        .await
        .unwrap();

    // The stick as plugged in: its FAT32 partition's files in a folder.
    let spare = &issued.sticks[1];
    let mounted = lab.dir.path().join("stick");
    std::fs::create_dir_all(&mounted).unwrap();
    let image = out.join(format!("images/{}.img", spare.stick_id));
    let copied = Command::new("mcopy")
        .arg("-i")
        .arg(format!("{}@@1M", image.display()))
        .arg(format!("::{}", Bundle::FILE_NAME))
        .arg(&mounted)
        .status()
        .unwrap();
    assert!(copied.success());
    let device = lab.dir.path().join("stick-device");
    let enrolled = blocking(|| {
        device_cli(
            lab,
            "c1",
            &device,
            &[
                "enroll",
                "--insecure-http",
                "--bundle",
                &mounted.display().to_string(),
            ],
        )
    });
    assert!(ok(&enrolled).contains("Enrolled"));
    let stick = server
        .admin
        .get_stick("blomberg", &spare.stick_id)
        .await
        .unwrap();
    assert_eq!(stick.state, DeviceState::Enrolled);

    ok(&blocking(|| device_cli(lab, "c1", &device, &["up"])));
    let reached = blocking(|| wait_until(Duration::from_secs(15), || lab.tcp("c1", APP, 7000)));
    assert!(
        reached.is_some(),
        "the stick cannot reach its application:\n{}",
        lab.gateway_log(1)
    );

    // Lost: revoked, off the gateway within a second, traffic stops.
    server
        .admin
        .update_stick("blomberg", &spare.stick_id, DeviceState::Revoked)
        .await
        .unwrap();
    let applied = fixture.wait_applied();
    assert!(
        applied < Duration::from_secs(1),
        "revocation took {applied:?}"
    );
    assert!(
        !blocking(|| lab.tcp("c1", APP, 7000)),
        "a revoked stick still reaches the application"
    );
    let _ = blocking(|| device_cli(lab, "c1", &device, &["down"]));
    fixture.stop().await;
}

/// A tmpfs that is unmounted again when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "cannot mount a tmpfs");
        SmallDisk { dir }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root: mounts a small tmpfs (cargo xtask test runs it)"]
async fn a_full_disk_rolls_the_batch_back() {
    let server = crate::support::TestServer::start(crate::support::Backend::Sqlite).await;
    server.tenant("horn", "10.61.0.0/16").await;
    let disk = SmallDisk::mount(3);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    tokio::task::block_in_place(|| {
        let login = crate::cli::run(
            crate::cli::homegate(dir).args([
                "login",
                &server.url,
                "--username",
                "admin",
                "--password-stdin",
            ]),
            Some(&format!("{}\n", crate::support::ADMIN_PASSWORD)),
        );
        assert!(login.status.success());
        let out = disk.dir.path().join("batch");
        let output = crate::cli::run(
            crate::cli::homegate(dir).args([
                "sticks",
                "batch",
                "create",
                "--tenant",
                "horn",
                "--count",
                "200",
                "--out",
                &out.display().to_string(),
            ]),
            None,
        );
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        let error = stderr.trim_end().lines().last().unwrap_or_default();
        assert!(error.starts_with("error: "), "{stderr}");
        assert!(
            error.contains("disk is full") && error.contains("rolled back"),
            "{error}"
        );
        let left: Vec<_> = std::fs::read_dir(disk.dir.path()).unwrap().collect();
        assert!(left.is_empty(), "files left on the full disk: {left:?}");
        let batches = crate::cli::json(dir, &["sticks", "batch", "list", "--tenant", "horn"]);
        assert!(batches.as_array().unwrap().is_empty());
        assert!(
            crate::cli::json(dir, &["devices", "list", "--tenant", "horn"])
                .as_array()
                .unwrap()
                .is_empty()
        );
    });
    server.stop().await;
}
