//! Issue 7 through the `homegate` binary: a technician makes a batch of 20
//! sticks from an employee list, checks the images with the usual tools,
//! a stick enrolls from its image once, and interrupted runs leave no half
//! batch behind.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use api_types::Role;
use api_types::sticks::Bundle;

use crate::cli::{fails, homegate, json, ok, run};
use crate::support::{ADMIN_PASSWORD, Backend, TestServer};

/// Logs the CLI in `dir` in as the provider admin.
pub(crate) fn login(dir: &Path, server: &TestServer) {
    let output = run(
        homegate(dir).args([
            "login",
            &server.url,
            "--username",
            "admin",
            "--password-stdin",
        ]),
        Some(&format!("{ADMIN_PASSWORD}\n")),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn tool(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn image_arg(image: &Path) -> String {
    format!("{}@@1M", image.display())
}

/// Checks a stick image the way a technician would: fsck.fat on the
/// partition, then the bundle read back with mtools.
fn check_image(image: &Path, scratch: &Path) -> Bundle {
    let partition = scratch.join("partition.img");
    tool(
        "dd",
        &[
            &format!("if={}", image.display()),
            &format!("of={}", partition.display()),
            "bs=1M",
            "skip=1",
            "status=none",
        ],
    );
    tool("fsck.fat", &["-n", &partition.display().to_string()]);
    assert!(tool("minfo", &["-i", &image_arg(image), "::"]).contains("FAT32"));
    let text = tool(
        "mtype",
        &["-i", &image_arg(image), &format!("::{}", Bundle::FILE_NAME)],
    );
    serde_json::from_str(text.trim_end()).unwrap()
}

fn employees_csv(dir: &Path, count: usize) -> PathBuf {
    let mut text = String::from("name;street;postcode;city;email;username\n");
    text.push_str("Erika Mustermann;Mittelstraße 17;32657;Lemgo;erika@lemgo.example;erika\n");
    for n in 1..count {
        text.push_str(&format!(
            "Medewerker {n};Straat {n};1234 AB;Lemgo;m{n}@lemgo.example;\n"
        ));
    }
    let path = dir.join("employees.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn technician_makes_twenty_sticks_and_one_enrolls_once() {
    let server = TestServer::start(Backend::Sqlite).await;
    server.tenant("lemgo", "10.40.0.0/16").await;
    server
        .login_as(Some("lemgo"), "erika", Role::Employee)
        .await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let out = dir.join("batch-1");
    let csv = employees_csv(dir, 20);
    tokio::task::block_in_place(|| {
        login(dir, &server);
        let output = run(
            homegate(dir).args([
                "-o",
                "json",
                "sticks",
                "batch",
                "create",
                "--tenant",
                "lemgo",
                "--employees",
                &csv.display().to_string(),
                "--language",
                "nl",
                "--out",
                &out.display().to_string(),
            ]),
            None,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(stderr.contains("Wrote 20 sticks"), "{stderr}");
        assert!(stderr.contains("written"), "progress is shown: {stderr}");
        let batch: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(batch["state"], "ready");
        assert_eq!(batch["count"], 20);
        let batch_id = batch["id"].as_str().unwrap().to_owned();

        // The manifest lists every stick with the image's real checksum.
        let manifest = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
        let mut reader = csv::Reader::from_reader(manifest.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 20);
        assert_eq!(&rows[0][2], "Erika Mustermann");
        assert_eq!(&rows[0][3], "Mittelstraße 17, 32657 Lemgo");
        for row in &rows {
            let image = out.join(&row[7]);
            let sum = tool("sha256sum", &[&image.display().to_string()]);
            assert!(sum.starts_with(&row[8]), "checksum of {}", &row[0]);
            let bundle = check_image(&image, dir);
            assert_eq!(bundle.stick_id, &row[0]);
            assert_eq!(bundle.tenant, "lemgo");
            assert_eq!(bundle.control_plane, server.state.settings.public_url);
            assert!(bundle.token.starts_with("hgs_"));
            let on_disk: Bundle =
                serde_json::from_str(&std::fs::read_to_string(out.join(&row[10])).unwrap())
                    .unwrap();
            assert_eq!(on_disk, bundle);
        }
        // Dutch letters: one page per stick, one per person.
        let letters = tool(
            "pdftotext",
            &[&out.join("letters.pdf").display().to_string(), "-"],
        );
        assert_eq!(
            letters.matches("Uw thuiswerkstick").count(),
            20,
            "{letters}"
        );
        assert!(letters.contains("Beste Erika Mustermann") && letters.contains("Medewerker 19"));
        assert!(!letters.contains("Ihr Homeoffice-Stick"));
        let first = tool(
            "pdftotext",
            &[
                &out.join(format!("letters/{}.pdf", &rows[0][0]))
                    .display()
                    .to_string(),
                "-",
            ],
        );
        for text in [
            "Uw thuiswerkstick",
            &rows[0][0],
            "Gemeinde lemgo",
            "Mittelstraße 17",
            "/portal",
            "Stick kwijt?",
        ] {
            assert!(first.contains(text), "{text:?} missing: {first}");
        }

        // The stick enrolls from its image, once.
        let mounted = dir.join("stick");
        std::fs::create_dir_all(&mounted).unwrap();
        let image = out.join(&rows[0][7]);
        tool(
            "mcopy",
            &[
                "-i",
                &image_arg(&image),
                &format!("::{}", Bundle::FILE_NAME),
                &mounted.display().to_string(),
            ],
        );
        let device_dir = dir.join("device-1");
        let enrolled = ok(
            dir,
            &[
                "enroll",
                "--bundle",
                &mounted.display().to_string(),
                "--device-dir",
                &device_dir.display().to_string(),
            ],
        );
        assert!(enrolled.contains("Enrolled"), "{enrolled}");
        let again = fails(
            dir,
            &[
                "enroll",
                "--bundle",
                &mounted.display().to_string(),
                "--device-dir",
                &dir.join("device-2").display().to_string(),
            ],
        );
        assert!(again.contains("already enrolled"), "{again}");

        // States: one enrolled, ship the rest, revoke the enrolled one.
        let sticks = json(
            dir,
            &["sticks", "list", "--tenant", "lemgo", "--batch", &batch_id],
        );
        let states: Vec<&str> = sticks
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["state"].as_str().unwrap())
            .collect();
        assert_eq!(states.iter().filter(|s| **s == "enrolled").count(), 1);
        assert_eq!(states.iter().filter(|s| **s == "prepared").count(), 19);
        let shipped = json(dir, &["sticks", "ship", "--tenant", "lemgo", &batch_id]);
        assert_eq!(shipped["sticks"]["shipped"], 19);
        let revoked = json(dir, &["sticks", "revoke", "--tenant", "lemgo", &rows[0][0]]);
        assert_eq!(revoked["state"], "revoked");
        let table = ok(dir, &["sticks", "batch", "list", "--tenant", "lemgo"]);
        assert!(
            table.contains(&batch_id) && table.contains("ready"),
            "{table}"
        );

        // Mistakes are caught before anything is created.
        let occupied = fails(
            dir,
            &[
                "sticks",
                "batch",
                "create",
                "--tenant",
                "lemgo",
                "--count",
                "2",
                "--out",
                &out.display().to_string(),
            ],
        );
        assert!(occupied.contains("not empty"), "{occupied}");
        std::fs::write(dir.join("bad.csv"), "name,email\nA,a@x\n,b@x\nC,nope\n").unwrap();
        let bad = fails(
            dir,
            &[
                "sticks",
                "batch",
                "create",
                "--tenant",
                "lemgo",
                "--employees",
                &dir.join("bad.csv").display().to_string(),
                "--out",
                &dir.join("never").display().to_string(),
            ],
        );
        assert!(bad.contains("line 3") && bad.contains("line 4"), "{bad}");
        assert_eq!(
            json(dir, &["sticks", "batch", "list", "--tenant", "lemgo"])
                .as_array()
                .unwrap()
                .len(),
            1
        );
    });
    server.stop().await;
}

/// Starts `sticks batch create` and returns it once it reported progress.
fn start_batch(dir: &Path, out: &Path, count: u32) -> std::process::Child {
    let mut child = homegate(dir)
        .args([
            "sticks",
            "batch",
            "create",
            "--tenant",
            "horn",
            "--count",
            &count.to_string(),
            "--out",
            &out.display().to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match lines_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains("written") => {
                // Keep draining in the background.
                std::thread::spawn(move || while lines_rx.recv().is_ok() {});
                return child;
            }
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("`sticks batch create` reported no progress");
            }
        }
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_batches_roll_back_or_resume() {
    let server = TestServer::start(Backend::Sqlite).await;
    server.tenant("horn", "10.41.0.0/16").await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let batches = tempfile::tempdir().unwrap();
    tokio::task::block_in_place(|| {
        login(dir, &server);

        // Ctrl-C: the files are removed and the batch is cancelled.
        let out = batches.path().join("interrupted");
        let child = start_batch(dir, &out, 60);
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
            nix::sys::signal::Signal::SIGINT,
        )
        .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(!output.status.success());
        assert!(
            entries(batches.path()).is_empty(),
            "left behind: {:?}",
            entries(batches.path())
        );
        assert!(
            json(dir, &["sticks", "batch", "list", "--tenant", "horn"])
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert!(
            json(dir, &["devices", "list", "--tenant", "horn"])
                .as_array()
                .unwrap()
                .is_empty()
        );

        // Killed outright: the batch stays incomplete (its sticks cannot
        // enroll) until it is resumed with new tokens.
        let out = batches.path().join("killed");
        let mut child = start_batch(dir, &out, 60);
        child.kill().unwrap();
        child.wait().unwrap();
        let listed = json(dir, &["sticks", "batch", "list", "--tenant", "horn"]);
        assert_eq!(listed[0]["state"], "generating");
        let batch_id = listed[0]["id"].as_str().unwrap().to_owned();
        assert!(
            !out.exists(),
            "the output folder appears only when complete"
        );
        let resumed = json(
            dir,
            &[
                "sticks",
                "batch",
                "resume",
                "--tenant",
                "horn",
                &batch_id,
                "--out",
                &out.display().to_string(),
            ],
        );
        assert_eq!(resumed["state"], "ready");
        assert_eq!(std::fs::read_dir(out.join("images")).unwrap().count(), 60);
        assert_eq!(
            entries(batches.path()),
            ["killed"],
            "no partial files remain"
        );
        let cancel = fails(
            dir,
            &["sticks", "batch", "cancel", "--tenant", "horn", &batch_id],
        );
        assert!(cancel.contains("revoke"), "{cancel}");

        // Killed again, then given up: cancel removes the batch and the
        // partial files.
        let out = batches.path().join("abandoned");
        let mut child = start_batch(dir, &out, 60);
        child.kill().unwrap();
        child.wait().unwrap();
        let listed = json(dir, &["sticks", "batch", "list", "--tenant", "horn"]);
        let abandoned = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["state"] == "generating")
            .unwrap();
        let abandoned_id = abandoned["id"].as_str().unwrap();
        ok(
            dir,
            &[
                "sticks",
                "batch",
                "cancel",
                "--tenant",
                "horn",
                abandoned_id,
                "--out",
                &out.display().to_string(),
            ],
        );
        let left: Vec<String> = entries(batches.path())
            .into_iter()
            .filter(|n| n.contains("abandoned"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        assert_eq!(
            json(dir, &["sticks", "list", "--tenant", "horn"])
                .as_array()
                .unwrap()
                .len(),
            60
        );
    });
    server.stop().await;
}
