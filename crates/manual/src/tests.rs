#![allow(clippy::unwrap_used)]

use api_types::Language;
use api_types::manual::{ManualSection, ManualSettings};
use api_types::tenancy::{Application, Protocol, Quota, Tenant, TenantPolicy};
use scraper::{Html, Selector};

use super::*;

fn tenant() -> Tenant {
    Tenant {
        id: "t1".into(),
        slug: "lemgo".into(),
        name: "Alte Hansestadt Lemgo".into(),
        default_language: Language::De,
        address_pool: "10.20.0.0/16".into(),
        region: Some("south".into()),
        quota: Quota {
            max_sessions: Some(50),
            max_devices: None,
        },
        policy: TenantPolicy {
            priority_seats: 0,
            priority_group: None,
            session_idle_timeout_secs: 300,
            mfa_before_vpn_hours: None,
            invitation_reminder_days: None,
        },
        created_at: OffsetDateTime::UNIX_EPOCH,
    }
}

fn apps() -> Vec<Application> {
    vec![
        Application {
            id: "a1".into(),
            tenant: "lemgo".into(),
            name: "Fileserver Rathaus".into(),
            description: "Shared drives".into(),
            cidr: "198.18.10.0/24".into(),
            protocol: Protocol::Tcp,
            ports: vec!["445".into()],
            web_upstream: Some("http://198.18.10.5".into()),
            web_url: Some("https://fileserver.lemgo.apps.example/".into()),
            created_at: OffsetDateTime::UNIX_EPOCH,
        },
        Application {
            id: "a2".into(),
            tenant: "lemgo".into(),
            name: "Einwohnermeldewesen".into(),
            description: String::new(),
            cidr: "198.18.11.5/32".into(),
            protocol: Protocol::Tcp,
            ports: vec!["443".into(), "8000-8100".into()],
            web_upstream: None,
            web_url: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        },
    ]
}

fn settings() -> ManualSettings {
    ManualSettings {
        support_name: "IT-Service Lemgo".into(),
        support_email: "it@lemgo.example".into(),
        support_phone: "+49 5261 213-0".into(),
        support_hours: "Mo–Fr 8–16".into(),
        sections: vec![ManualSection {
            title: "Hausregeln".into(),
            markdown: "Bitte **immer** abmelden.\n\n<script>alert('x')</script>\n\n[click](javascript:alert(1)) <b onclick=\"x\">bold</b>".into(),
        }],
    }
}

fn with_input<T>(language: Language, f: impl FnOnce(&ManualInput<'_>) -> T) -> T {
    let (tenant, apps, settings) = (tenant(), apps(), settings());
    f(&ManualInput {
        tenant: &tenant,
        applications: &apps,
        settings: &settings,
        public_url: "https://homegate.provider.example",
        language,
        today: OffsetDateTime::UNIX_EPOCH,
    })
}

fn pdftotext(bytes: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("manual-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.pdf", bytes.len()));
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    let _ = std::fs::remove_file(&path);
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn pdf_in_each_language_names_the_applications_and_the_portal() {
    for (language, title, contents) in [
        (Language::De, "Arbeiten von zu Hause", "Inhalt"),
        (Language::Nl, "Thuiswerken", "Inhoud"),
        (Language::En, "Working from home", "Contents"),
    ] {
        let bytes = with_input(language, pdf).unwrap();
        let text = pdftotext(&bytes);
        for expected in [
            title,
            contents,
            "Fileserver Rathaus",
            "Einwohnermeldewesen",
            "Shared drives",
            "https://homegate.provider.example/portal",
            "https://homegate.provider.example/status/lemgo",
            "it@lemgo.example",
            "Hausregeln",
            "Windows",
            "macOS",
            "Linux",
        ] {
            assert!(
                text.contains(expected),
                "{language:?}: {expected:?} missing"
            );
        }
        assert!(
            !text.contains("manual-"),
            "{language:?}: an untranslated key: {text}"
        );
        assert!(text.contains("50"), "the quota is stated");
        // Applications by name and purpose, not networks.
        for network in ["198.18.10.0/24", "198.18.11.5/32", "8000-8100"] {
            assert!(!text.contains(network), "{language:?}: {network} shown");
        }
        // The own section comes after "Help", as docs/manual.md says.
        let help = ["Hilfe", "Hulp", "Help"][language as usize];
        let last_help = text.rfind(help).unwrap();
        assert!(
            text.rfind("Hausregeln").unwrap() > last_help,
            "{language:?}: own section before {help}"
        );
        // A real multi-page document with page numbers.
        assert!(text.matches('\u{c}').count() >= 3, "{language:?}: pages");
    }
}

#[test]
fn html_is_well_formed_has_working_contents_and_no_script() {
    let page = with_input(Language::En, |input| html(input, Some("/manual/lemgo.pdf")));
    let document = Html::parse_document(&page);
    assert!(document.errors.is_empty(), "{:?}", document.errors);
    let select = |css: &str| Selector::parse(css).unwrap();
    assert_eq!(document.select(&select("html[lang=en]")).count(), 1);
    assert_eq!(document.select(&select("h1")).count(), 1);
    assert_eq!(document.select(&select("title")).count(), 1);
    assert_eq!(document.select(&select("script")).count(), 0);
    assert!(
        page.contains("https://fileserver.lemgo.apps.example/") && page.contains("In the browser"),
        "a web-published application shows its browser address"
    );
    assert!(
        !page.contains("javascript:") && !page.contains("onclick"),
        "{page}"
    );
    assert!(
        page.contains("&lt;script&gt;") || !page.contains("alert"),
        "raw HTML is dropped or escaped"
    );
    // Every contents link points at a heading that exists.
    let links: Vec<String> = document
        .select(&select("nav a"))
        .map(|a| {
            a.value()
                .attr("href")
                .unwrap()
                .trim_start_matches('#')
                .to_owned()
        })
        .collect();
    assert!(links.len() >= 10);
    for id in &links {
        assert_eq!(
            document.select(&select(&format!("#{id}"))).count(),
            1,
            "{id}"
        );
    }
    assert_eq!(
        document.select(&select("svg")).count(),
        2,
        "portal and status QR codes"
    );
    assert!(
        document
            .select(&select("a[href='/manual/lemgo.pdf']"))
            .next()
            .is_some()
    );
    let strong: Vec<String> = document
        .select(&select("strong"))
        .map(|s| s.text().collect())
        .collect();
    assert!(strong.iter().any(|s| s == "immer"));
}

#[test]
fn without_contacts_or_apps_the_manual_says_whom_to_ask() {
    let (tenant, settings) = (tenant(), ManualSettings::default());
    let input = ManualInput {
        tenant: &tenant,
        applications: &[],
        settings: &settings,
        public_url: "http://cp",
        language: Language::En,
        today: OffsetDateTime::UNIX_EPOCH,
    };
    let page = html(&input, None);
    assert!(page.contains("has not published any applications"));
    assert!(page.contains("Ask your IT department"));
}
