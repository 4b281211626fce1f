//! A component's texts in other languages: checked, and merged into what
//! is stored (an absent text stays, an empty one is removed).

use api_types::Language;
use api_types::status::{ComponentTexts, ComponentTranslations, Localized};

use crate::{Result, StoreError, Violation, validate};

pub(super) const MAX_TITLE: usize = 120;
pub(super) const MAX_DESCRIPTION: usize = 500;
pub(super) const MAX_GROUP: usize = 60;

/// `current` with `change` applied, or every problem of `change`.
pub(super) fn merged(
    mut current: ComponentTranslations,
    change: &ComponentTranslations,
) -> Result<ComponentTranslations> {
    let mut problems: Vec<Violation> = Vec::new();
    for language in Language::ALL {
        let Some(changed) = change.get(language) else {
            continue;
        };
        let slot = current.get_mut(language);
        let mut texts = slot.take().unwrap_or_default();
        let ComponentTexts {
            title,
            description,
            group,
        } = &mut texts;
        for (name, max, new, old) in [
            ("title", MAX_TITLE, &changed.title, title),
            (
                "description",
                MAX_DESCRIPTION,
                &changed.description,
                description,
            ),
            ("group", MAX_GROUP, &changed.group, group),
        ] {
            let Some(new) = new else { continue };
            let field = format!("translations.{}.{name}", language.code());
            match validate::optional_text(&field, Some(new), max) {
                Ok(clean) => *old = Some(clean).filter(|text| !text.is_empty()),
                Err(violation) => problems.push(violation),
            }
        }
        *slot = Some(texts).filter(|texts| !texts.is_empty());
    }
    if problems.is_empty() {
        Ok(current)
    } else {
        Err(StoreError::Invalid(problems))
    }
}

/// The operator's note in other languages, trimmed, blank ones left out.
pub(super) fn notes(notes: &Localized) -> Result<Localized> {
    let mut problems: Vec<Violation> = Vec::new();
    let mut clean = Localized::default();
    for language in Language::ALL {
        let Some(note) = notes.get(language) else {
            continue;
        };
        let field = format!("note_translations.{}", language.code());
        match validate::optional_text(&field, Some(note), MAX_DESCRIPTION) {
            Ok(text) => match language {
                Language::De => clean.de = Some(text),
                Language::Nl => clean.nl = Some(text),
                Language::En => clean.en = Some(text),
            },
            Err(violation) => problems.push(violation),
        }
    }
    if problems.is_empty() {
        Ok(clean)
    } else {
        Err(StoreError::Invalid(problems))
    }
}

pub(super) fn encode<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(title: Option<&str>, group: Option<&str>) -> Option<ComponentTexts> {
        Some(ComponentTexts {
            title: title.map(str::to_owned),
            description: None,
            group: group.map(str::to_owned),
        })
    }

    #[test]
    fn a_change_keeps_what_it_does_not_name_and_removes_what_it_empties() {
        let current = ComponentTranslations {
            de: texts(Some("Videokonferenz"), Some("Zusammenarbeit")),
            nl: texts(Some("Videovergaderen"), None),
            en: None,
        };
        let change = ComponentTranslations {
            de: texts(None, Some("  Kommunikation ")),
            nl: texts(Some(""), None),
            en: texts(Some("Conferencing"), None),
        };
        let merged = merged(current, &change).unwrap();
        assert_eq!(
            merged.de,
            texts(Some("Videokonferenz"), Some("Kommunikation"))
        );
        assert_eq!(merged.nl, None, "a language left with no text goes");
        assert_eq!(merged.en, texts(Some("Conferencing"), None));
    }

    #[test]
    fn every_problem_is_named_at_its_field() {
        let long = "x".repeat(MAX_TITLE + 1);
        let change = ComponentTranslations {
            de: texts(Some(&long), Some(&long)),
            nl: None,
            en: texts(Some(&long), None),
        };
        let Err(StoreError::Invalid(problems)) = merged(ComponentTranslations::default(), &change)
        else {
            panic!("too long texts are refused");
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "translations.de.title",
                "translations.de.group",
                "translations.en.title"
            ]
        );
        assert!(problems.iter().all(|p| p.code == Some("too-long")));
    }

    #[test]
    fn notes_are_trimmed_and_blank_ones_left_out() {
        let notes = notes(&Localized {
            de: Some(" Wartung bis 14 Uhr ".into()),
            nl: Some("  ".into()),
            en: None,
        })
        .unwrap();
        assert_eq!(notes.de.as_deref(), Some("Wartung bis 14 Uhr"));
        assert_eq!(notes.nl, None);
    }
}
