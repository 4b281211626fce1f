//! Issue 11: the employee manual of a municipality, generated from its real
//! data, through the API (both backends) and the `homegate` binary.

use std::process::Command;

use api_types::manual::{ManualFormat, ManualQuery, ManualSection, ManualSettings};
use api_types::tenancy::{CreateApplication, Protocol};
use api_types::{Language, Role};

use crate::both_backends;
use crate::cli::{fails, ok};
use crate::cli_sticks::login;
use crate::support::{Backend, TestServer, problem_of};

const INJECTION: &str = "Print at home with **Drucker-Direkt**.\n\n\
    <script>alert(1)</script>\n\n\
    [Click me](javascript:alert(2)) and <img src=x onerror=alert(3)>\n";

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manual.pdf");
    std::fs::write(&path, pdf).unwrap();
    let output = Command::new("pdftotext")
        .args(["-layout", &path.display().to_string(), "-"])
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(output.status.success(), "pdftotext rejected the PDF");
    String::from_utf8(output.stdout).unwrap()
}

fn settings() -> ManualSettings {
    ManualSettings {
        support_name: "IT-Service Lemgo".into(),
        support_email: "it@lemgo.example".into(),
        support_phone: "+49 5261 2130".into(),
        support_hours: "Mo–Fr 8–16".into(),
        sections: vec![ManualSection {
            title: "Drucken zu Hause".into(),
            markdown: INJECTION.into(),
        }],
    }
}

async fn manual_from_the_tenants_data(server: &TestServer) {
    let tenant = server.tenant("lemgo", "10.40.0.0/16").await;
    let it = server
        .login_as(Some("lemgo"), "it-lemgo", Role::TenantAdmin)
        .await;
    let employee = server
        .login_as(Some("lemgo"), "erika", Role::Employee)
        .await;
    for (name, cidr) in [
        ("fileserver", "198.18.10.0/24"),
        ("ratsinfo", "198.18.11.0/24"),
    ] {
        it.create_application(
            "lemgo",
            &CreateApplication {
                name: name.into(),
                description: None,
                cidr: cidr.into(),
                protocol: Protocol::Tcp,
                ports: vec!["443".into()],
                web_upstream: None,
            },
        )
        .await
        .unwrap();
    }

    // Bad settings are refused whole, with the field named.
    let mut bad = settings();
    bad.sections.push(ManualSection {
        title: String::new(),
        markdown: "x".into(),
    });
    let (status, problem) = problem_of(it.set_manual_settings("lemgo", &bad).await);
    assert_eq!(status, 422);
    assert_eq!(problem.errors[0].field, "sections[1].title", "{problem:?}");
    bad = settings();
    bad.support_email = "it-at-lemgo".into();
    let (status, problem) = problem_of(it.set_manual_settings("lemgo", &bad).await);
    assert_eq!(
        (status, problem.errors[0].field.as_str()),
        (422, "support_email")
    );
    assert_eq!(
        it.manual_settings("lemgo").await.unwrap(),
        ManualSettings::default()
    );
    // Employees read the manual but do not edit it.
    assert_eq!(
        problem_of(employee.set_manual_settings("lemgo", &settings()).await).0,
        403
    );
    assert_eq!(
        it.set_manual_settings("lemgo", &settings()).await.unwrap(),
        settings()
    );

    let portal = format!("{}/portal", server.url.replace("127.0.0.1", "localhost"));
    let titles = [
        (Language::De, "Arbeiten von zu Hause"),
        (Language::Nl, "Thuiswerken"),
        (Language::En, "Working from home"),
    ];
    for (language, title) in titles {
        let pdf = employee
            .manual(
                "lemgo",
                &ManualQuery {
                    language: Some(language),
                    format: Some(ManualFormat::Pdf),
                },
            )
            .await
            .unwrap();
        assert!(pdf.starts_with(b"%PDF-"), "{language:?}");
        let text = pdftotext(&pdf);
        for expected in [
            title,
            "Gemeinde lemgo",
            "fileserver",
            "ratsinfo",
            &portal,
            "it@lemgo.example",
            "Drucken zu Hause",
            "Drucker-Direkt",
        ] {
            assert!(
                text.contains(expected),
                "{language:?}: no {expected:?} in\n{text}"
            );
        }
        assert!(!text.contains("alert"), "{language:?}: raw HTML rendered");
        assert!(
            !text.contains("198.18.10.0/24"),
            "{language:?}: a network shown"
        );
    }

    // The tenant's default language when none is asked for.
    let default = pdftotext(
        &employee
            .manual("lemgo", &ManualQuery::default())
            .await
            .unwrap(),
    );
    let (_, title) = titles
        .iter()
        .find(|(language, _)| *language == tenant.default_language)
        .unwrap();
    assert!(default.contains(title), "{default}");

    let html = String::from_utf8(
        employee
            .manual(
                "lemgo",
                &ManualQuery {
                    language: Some(Language::Nl),
                    format: Some(ManualFormat::Html),
                },
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("lang=\"nl\""));
    assert!(html.contains("<strong>Drucker-Direkt</strong>"));
    let lowered = html.to_lowercase();
    for forbidden in ["<script", "javascript:", "onerror", "<img"] {
        assert!(!lowered.contains(forbidden), "{forbidden} in {html}");
    }

    // The change is in the audit log.
    let audit = server
        .admin
        .audit(&api_types::audit::AuditQuery {
            tenant: Some("lemgo".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        audit.iter().any(|entry| entry.action.contains("manual")),
        "{audit:?}"
    );
}

both_backends!(manual_from_the_tenants_data);

/// A coordinator writes a section, sets the contacts and prints the manual
/// in Dutch and as HTML, with the command from the README.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_through_the_cli() {
    let server = TestServer::start(Backend::Sqlite).await;
    server.tenant("ede", "10.41.0.0/16").await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    login(dir, &server);
    let section = dir.join("printing.md");
    std::fs::write(
        &section,
        "- Use the **home printer**\n- Never print personal data\n",
    )
    .unwrap();
    let pdf = dir.join("ede-nl.pdf");
    let html = dir.join("ede.html");
    tokio::task::spawn_blocking({
        let dir = dir.to_owned();
        move || {
            ok(
                &dir,
                &[
                    "manual",
                    "set",
                    "--tenant",
                    "ede",
                    "--support-email",
                    "servicedesk@ede.example",
                    "--section",
                    &format!("Printen={}", section.display()),
                ],
            );
            let shown = ok(&dir, &["manual", "show", "--tenant", "ede"]);
            assert!(shown.contains("servicedesk@ede.example"), "{shown}");
            assert!(shown.contains("Printen"), "{shown}");
            ok(
                &dir,
                &[
                    "manual",
                    "--tenant",
                    "ede",
                    "--language",
                    "nl",
                    "--out",
                    &pdf.display().to_string(),
                ],
            );
            let text = pdftotext(&std::fs::read(&pdf).unwrap());
            for expected in [
                "Thuiswerken",
                "servicedesk@ede.example",
                "Printen",
                "home printer",
            ] {
                assert!(text.contains(expected), "no {expected:?} in\n{text}");
            }
            ok(
                &dir,
                &[
                    "manual",
                    "--tenant",
                    "ede",
                    "--language",
                    "en",
                    "--format",
                    "html",
                    "--out",
                    &html.display().to_string(),
                ],
            );
            let page = std::fs::read_to_string(&html).unwrap();
            assert!(page.contains("Working from home") && page.contains("Printen"));

            // Clear causes, in one line.
            let error = fails(&dir, &["manual", "--tenant", "nowhere", "--out", "x.pdf"]);
            assert!(
                error.contains("nowhere") || error.contains("not found"),
                "{error}"
            );
            let error = fails(
                &dir,
                &[
                    "manual",
                    "set",
                    "--tenant",
                    "ede",
                    "--section",
                    "no-file-given",
                ],
            );
            assert!(error.contains("TITLE=FILE"), "{error}");
            ok(
                &dir,
                &[
                    "manual",
                    "set",
                    "--tenant",
                    "ede",
                    "--remove-section",
                    "Printen",
                ],
            );
            assert!(!ok(&dir, &["manual", "show", "--tenant", "ede"]).contains("Printen"));
        }
    })
    .await
    .unwrap();
    server.stop().await;
}
