//! Writing whole batches to disk, checked with the tools people will use on
//! them: `fsck.fat`, `mtools` and `pdftotext`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use api_types::Language;
use api_types::sticks::{
    BatchState, Bundle, Recipient, StickBatch, StickBatchIssued, StickCounts, StickCredential,
};

fn issued(count: usize, language: Language) -> StickBatchIssued {
    let now = time::OffsetDateTime::now_utc();
    StickBatchIssued {
        batch: StickBatch {
            id: "0190f3b2-batch".into(),
            tenant: "musterstadt".into(),
            state: BatchState::Generating,
            language,
            count: count as u32,
            group: None,
            sticks: StickCounts::default(),
            created_at: now,
            token_expires_at: now + time::Duration::days(60),
        },
        tenant_name: "Gemeinde Musterstadt".into(),
        control_plane: "https://cp.example".into(),
        certificate_pin: Some("ab".repeat(32)),
        portal_url: "https://cp.example/portal".into(),
        sticks: (0..count)
            .map(|i| StickCredential {
                stick_id: format!("ST-AAAA-{i:04}"),
                device_id: format!("device-{i}"),
                token: format!("hgs_token{i}"),
                recipient: (i % 2 == 0).then(|| Recipient {
                    name: format!("Erika Mustermann {i}"),
                    address: vec!["Hauptstraße 1".into(), "12345 Musterstadt".into()],
                    email: format!("erika{i}@example.org"),
                    username: None,
                }),
            })
            .collect(),
    }
}

fn tool(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn pdftotext(path: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_batch_of_twenty_passes_fsck_and_reads_back_with_mtools() {
    assert!(
        tool("fsck.fat") && tool("mcopy") && tool("pdftotext"),
        "install dosfstools, mtools and poppler-utils"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("batch");
    let batch = issued(20, Language::De);
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let report = sticks::generate(&batch, &out, &|done, total| {
        // Sticks are counted: 20/20 for 20, never 21/21.
        assert!(done <= total && total == 20, "{done}/{total}");
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    })
    .unwrap();
    assert_eq!(report.sticks, 20);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 20);
    assert!(!sticks::staging_dir(&out, &batch.batch.id).exists());

    let manifest = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    // A byte order mark, so spreadsheet programs read UTF-8.
    assert!(manifest.starts_with('\u{feff}'));
    let mut rows = csv::Reader::from_reader(manifest.as_bytes());
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 20);
    for (stick, row) in batch.sticks.iter().zip(&rows) {
        assert_eq!(&row[0], stick.stick_id);
        let image = out.join(&row[7]);
        // The manifest's checksum is the image's.
        let sum = Command::new("sha256sum").arg(&image).output().unwrap();
        assert!(String::from_utf8_lossy(&sum.stdout).starts_with(&row[8]));
        // The FAT32 partition starts at 1 MiB.
        let partition = dir.path().join("partition");
        let status = Command::new("dd")
            .args([
                format!("if={}", image.display()),
                format!("of={}", partition.display()),
            ])
            .args(["bs=1M", "skip=1", "status=none"])
            .status()
            .unwrap();
        assert!(status.success());
        let fsck = Command::new("fsck.fat")
            .arg("-n")
            .arg(&partition)
            .output()
            .unwrap();
        assert!(
            fsck.status.success(),
            "fsck.fat: {}",
            String::from_utf8_lossy(&fsck.stdout)
        );
        let info = Command::new("minfo")
            .arg("-i")
            .arg(format!("{}@@1M", image.display()))
            .arg("::")
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&info.stdout).contains("FAT32"),
            "{}",
            String::from_utf8_lossy(&info.stdout)
        );
        let read = Command::new("mtype")
            .arg("-i")
            .arg(format!("{}@@1M", image.display()))
            .arg(format!("::{}", Bundle::FILE_NAME))
            .output()
            .unwrap();
        assert!(
            read.status.success(),
            "{}",
            String::from_utf8_lossy(&read.stderr)
        );
        let bundle: Bundle = serde_json::from_slice(read.stdout.trim_ascii_end()).unwrap();
        assert_eq!(bundle.token, stick.token);
        assert_eq!(bundle.stick_id, stick.stick_id);
        assert_eq!(bundle.control_plane, "https://cp.example");
        let listing = Command::new("mdir")
            .arg("-i")
            .arg(format!("{}@@1M", image.display()))
            .arg("::")
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&listing.stdout).contains("LIES-MICH"));
    }

    let letters = pdftotext(&out.join("letters.pdf"));
    assert_eq!(letters.matches("Ihr Homeoffice-Stick").count(), 20);
    let one = pdftotext(&out.join(format!("letters/{}.pdf", batch.sticks[0].stick_id)));
    for text in [
        "Ihr Homeoffice-Stick",
        "Erika Mustermann 0",
        "Hauptstraße 1",
        "ST-AAAA-0000",
        "Gemeinde Musterstadt",
        "https://cp.example/portal",
        "Stick verloren?",
    ] {
        assert!(one.contains(text), "{text:?} missing from {one}");
    }
    let anonymous = pdftotext(&out.join(format!("letters/{}.pdf", batch.sticks[1].stick_id)));
    assert!(anonymous.contains("Liebe Kollegin, lieber Kollege"));
}

#[test]
fn letters_follow_the_batch_language() {
    let dir = tempfile::tempdir().unwrap();
    for (language, expected) in [
        (Language::Nl, "Uw thuiswerkstick"),
        (Language::En, "Your home-office stick"),
    ] {
        let out = dir.path().join(language.code());
        sticks::generate(&issued(2, language), &out, &|_, _| {}).unwrap();
        let text = pdftotext(&out.join("letters.pdf"));
        assert!(text.contains(expected), "{text}");
        assert!(!text.contains("Ihr Homeoffice-Stick"));
    }
}

#[test]
fn a_non_empty_output_folder_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    let error = sticks::generate(&issued(2, Language::En), dir.path(), &|_, _| {}).unwrap_err();
    assert!(matches!(error, sticks::Error::OutputExists(_)), "{error}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// The benchmark in BENCHMARKS.md:
/// `STICKS_BENCH=1000 cargo test --release -p sticks --test generate bench -- --nocapture`.
/// Without `STICKS_BENCH` it makes a small batch and checks the report.
#[test]
fn bench() {
    let count: usize = std::env::var("STICKS_BENCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let dir =
        tempfile::tempdir_in(std::env::var("STICKS_BENCH_DIR").unwrap_or_else(|_| "/tmp".into()))
            .unwrap();
    let out = dir.path().join("b");
    let report = sticks::generate(&issued(count, Language::De), &out, &|_, _| {}).unwrap();
    println!("{report:#?}");
    assert_eq!(report.sticks, count);
    assert!(report.wall >= report.merged_letters);
    // Sparse images: far less on disk than their 34 MiB each.
    let images = std::fs::read_dir(out.join("images")).unwrap().count();
    assert_eq!(images, count);
    assert!(
        report.allocated_bytes < (count as u64) * 4 * 1024 * 1024,
        "{report:?}"
    );
}
