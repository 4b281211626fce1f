use std::collections::BTreeSet;
use std::path::Path;

use super::*;

/// Message ids of every `.ftl` file of one language.
fn keys(language: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("locales")
        .join(language);
    let mut keys = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let starts_message = line
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '-');
            if starts_message && let Some((id, _)) = line.split_once('=') {
                keys.insert(format!(
                    "{}:{}",
                    path.file_name().unwrap().to_string_lossy(),
                    id.trim()
                ));
            }
        }
    }
    keys
}

#[test]
fn every_language_has_every_key() {
    let english = keys("en");
    assert!(english.len() > 50, "only {} keys", english.len());
    for language in ["de", "nl"] {
        let other = keys(language);
        let missing: Vec<_> = english.difference(&other).collect();
        let extra: Vec<_> = other.difference(&english).collect();
        assert!(missing.is_empty(), "{language} lacks {missing:?}");
        assert!(
            extra.is_empty(),
            "{language} has keys English lacks: {extra:?}"
        );
    }
}

#[test]
fn lookups_and_arguments() {
    let de = Tr::new(Language::De);
    assert_eq!(Tr::new(Language::En).t("nav-logout"), "Log out");
    assert_eq!(de.t("nav-logout"), "Abmelden");
    assert_eq!(Tr::new(Language::Nl).t("nav-logout"), "Afmelden");
    assert!(de.n("seats-in-use", "count", 3).contains('3'));
    assert_eq!(de.t("no-such-key"), "no-such-key");
}

#[test]
fn accept_language() {
    assert_eq!(negotiate("nl-NL,nl;q=0.9,en;q=0.8"), Language::Nl);
    assert_eq!(negotiate("fr-FR, de;q=0.5, en;q=0.7"), Language::En);
    assert_eq!(negotiate("de-DE"), Language::De);
    assert_eq!(negotiate(""), Language::En);
}

#[test]
fn dates_as_each_language_writes_them() {
    assert_eq!(Tr::new(Language::De).date(2026, 12, 3), "03.12.2026");
    assert_eq!(Tr::new(Language::Nl).date(2026, 12, 3), "03-12-2026");
    assert_eq!(Tr::new(Language::En).date(2026, 12, 3), "2026-12-03");
}
