//! Issue 25, item 1: the Debian package, built with cargo-deb from the
//! binary the test run already built, unpacked and checked: contents,
//! maintainer scripts (lintian), the systemd units (`systemd-analyze verify`
//! and `security`), and the packaged binary started with the packaged
//! configuration.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run_ok(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn mode(path: &Path) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions()) & 0o777
}

/// The exposure score `systemd-analyze security` gives a unit (0 best, 10 worst).
fn exposure(unit: &Path) -> f64 {
    let text = run_ok(
        Command::new("systemd-analyze")
            .args(["security", "--offline=yes"])
            .arg(unit),
    );
    let line = text
        .lines()
        .find(|line| line.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no score in\n{text}"));
    line.split(':')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|score| score.parse().ok())
        .unwrap_or_else(|| panic!("no score in {line}"))
}

#[test]
#[ignore = "needs cargo-deb, dpkg-deb, lintian and systemd-analyze (cargo xtask test installs and runs it)"]
fn debian_package_installs_a_hardened_service() {
    let dir = tempfile::tempdir().unwrap();
    let deb = dir.path().join("homegate.deb");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // The debug binary `cargo xtask test` built; cargo-deb strips it.
    run_ok(
        Command::new(cargo)
            .current_dir(workspace())
            .args([
                "deb",
                "-p",
                "homegate",
                "--no-build",
                "--profile",
                "dev",
                "--output",
            ])
            .arg(&deb),
    );

    let root = dir.path().join("root");
    let control = dir.path().join("control");
    run_ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    run_ok(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control));
    let binary = root.join("usr/bin/homegate");
    assert_eq!(mode(&binary), 0o755);
    assert_eq!(mode(&root.join("etc/homegate/homegate.toml")), 0o640);
    assert_eq!(mode(&root.join("etc/homegate/gateway.env")), 0o600);
    for doc in [
        "README.md",
        "operations.md",
        "gateway.md",
        "examples/homegate-alerts.yml",
    ] {
        assert!(
            root.join("usr/share/doc/homegate").join(doc).is_file(),
            "{doc}"
        );
    }
    let conffiles = std::fs::read_to_string(control.join("conffiles")).unwrap();
    assert!(
        conffiles.contains("/etc/homegate/homegate.toml"),
        "{conffiles}"
    );
    assert!(
        conffiles.contains("/etc/homegate/gateway.env"),
        "{conffiles}"
    );
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    assert!(postinst.contains("adduser --system"), "{postinst}");
    assert!(postinst.contains("/var/lib/homegate"), "{postinst}");
    let fields = std::fs::read_to_string(control.join("control")).unwrap();
    assert!(
        fields.contains("Depends:") && fields.contains("adduser"),
        "{fields}"
    );

    // The units: valid, token from the environment file, and hardened.
    let units = root.join("lib/systemd/system");
    let control_plane = std::fs::read_to_string(units.join("homegate.service")).unwrap();
    let gateway = std::fs::read_to_string(units.join("homegate-gateway.service")).unwrap();
    assert!(control_plane.contains("\nCapabilityBoundingSet=\n"));
    assert!(gateway.contains("\nCapabilityBoundingSet=CAP_NET_ADMIN\n"));
    assert!(gateway.contains("\nEnvironmentFile=/etc/homegate/gateway.env\n"));
    assert!(!gateway.contains("--token"));
    for unit in [&control_plane, &gateway] {
        for setting in [
            "ProtectSystem=strict",
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
            "RestrictAddressFamilies=",
            "User=homegate",
        ] {
            assert!(unit.contains(setting), "{setting} missing");
        }
    }
    // `verify` checks that ExecStart= exists: point it at the unpacked binary.
    let checked = dir.path().join("units");
    std::fs::create_dir(&checked).unwrap();
    for (name, text) in [
        ("homegate.service", &control_plane),
        ("homegate-gateway.service", &gateway),
    ] {
        let copy = checked.join(name);
        std::fs::write(
            &copy,
            text.replace("/usr/bin/homegate", &binary.display().to_string()),
        )
        .unwrap();
        run_ok(Command::new("systemd-analyze").arg("verify").arg(&copy));
    }
    let score = exposure(&units.join("homegate.service"));
    assert!(score <= 2.0, "control plane exposure {score}");
    let score = exposure(&units.join("homegate-gateway.service"));
    assert!(score <= 2.5, "gateway exposure {score}");

    run_ok(
        Command::new("lintian")
            .args(["--fail-on", "error"])
            .arg(&deb),
    );

    // The packaged binary starts with the packaged configuration (its
    // folder and port moved into the test's, as flags win over the file).
    let data = dir.path().join("data");
    let mut child = Command::new(&binary)
        .args(["serve", "--config"])
        .arg(root.join("etc/homegate/homegate.toml"))
        .arg("--data-dir")
        .arg(&data)
        .args(["--listen", "127.0.0.1:0"])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .env_remove("HOMEGATE_DATABASE")
        .env_remove("HOMEGATE_LISTEN")
        .env_remove("HOMEGATE_DATA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut url = None;
    let mut metrics_url = None;
    while metrics_url.is_none() && Instant::now() < deadline {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(addr) = line.strip_prefix("homegate control plane listening on ") {
                    url = Some(format!("http://{}", addr.trim()));
                }
                if let Some(rest) = line.trim().strip_prefix("Metrics: ") {
                    metrics_url = rest.split_whitespace().next().map(str::to_owned);
                }
            }
            _ => break,
        }
    }
    let url = url.expect("the packaged binary printed no banner");
    let metrics_url = metrics_url.expect("the packaged configuration opens no metrics listener");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, _) = runtime.block_on(crate::ops::get(&format!("{url}/readyz")));
    let (public_metrics, _) = runtime.block_on(crate::ops::get(&format!("{url}/metrics")));
    let (scraped, metrics) = runtime.block_on(crate::ops::get(&metrics_url));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200);
    // The municipalities' numbers are not public; Prometheus reads them on
    // the packaged metrics listener.
    assert_eq!(public_metrics, 401);
    assert_eq!(scraped, 200);
    assert!(metrics.contains("homegate_config_version"), "{metrics}");
    assert!(data.join("homegate.db").is_file());

    // The gateway reads the packaged environment file (here stopped by
    // port 0 right after reading its settings, without root).
    let env_file = std::fs::read_to_string(root.join("etc/homegate/gateway.env")).unwrap();
    let mut gateway = Command::new(&binary);
    gateway
        .args(["gateway", "--listen-port", "0", "--state-dir"])
        .arg(dir.path());
    for line in env_file.lines().filter(|l| !l.starts_with('#')) {
        if let Some((key, value)) = line.split_once('=') {
            gateway.env(key, value);
        }
    }
    gateway.env("HOMEGATE_GATEWAY_TOKEN", "hgg_packaged");
    let output = gateway.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--listen-port must not be 0"), "{stderr}");
}
