//! Problems with a submitted form, worded for the reader: the form comes
//! back with what was typed, a summary at the top linking to each field,
//! and the message at the field (GOV.UK's error summary pattern).

use i18n::Tr;
use store::{StoreError, Violation};

/// One field's problem.
pub(super) struct FieldProblem {
    /// The input's `id`, for the summary's link.
    pub(super) field: String,
    pub(super) label: String,
    pub(super) message: String,
}

#[derive(Default)]
pub(super) struct FormErrors {
    pub(super) problems: Vec<FieldProblem>,
}

impl FormErrors {
    /// The violations of `error`, with the label of each field from
    /// `labels` (`(field, message key)`); `None` when the error is not about
    /// the input.
    pub(super) fn from_store(
        tr: &Tr,
        error: &StoreError,
        labels: &[(&str, &str)],
    ) -> Option<FormErrors> {
        let StoreError::Invalid(violations) = error else {
            return None;
        };
        let problems = violations
            .iter()
            .map(|violation| FieldProblem {
                field: violation.field.clone(),
                label: labels
                    .iter()
                    .find(|(field, _)| *field == violation.field)
                    .map_or_else(|| violation.field.clone(), |(_, key)| tr.t(key)),
                message: violation_text(tr, violation),
            })
            .collect();
        Some(FormErrors { problems })
    }

    pub(super) fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// The message at `field`, if it has one.
    pub(super) fn at(&self, field: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|problem| problem.field == field)
            .map(|problem| problem.message.as_str())
    }
}

/// A violation in the reader's language; the English message for rules
/// that have no code yet.
pub(crate) fn violation_text(tr: &Tr, violation: &Violation) -> String {
    let Some(code) = violation.code else {
        return violation.message.clone();
    };
    let key = format!("violation-{code}");
    let args: Vec<(&str, &str)> = violation
        .args
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let text = tr.args(&key, &args);
    if text == key {
        violation.message.clone()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_types::Language;

    #[test]
    fn coded_violations_speak_the_readers_language() {
        let error = StoreError::Invalid(vec![
            Violation::coded("display_name", "empty", &[], "must not be empty"),
            Violation::coded("email", "email", &[("value", "anna@")], "not an e-mail"),
            Violation::new("other", "an English rule without a code"),
        ]);
        let de = Tr::new(Language::De);
        let errors =
            FormErrors::from_store(&de, &error, &[("display_name", "user-display-name")]).unwrap();
        assert_eq!(errors.problems.len(), 3);
        assert_eq!(errors.problems[0].label, de.t("user-display-name"));
        assert_eq!(errors.at("display_name"), Some("Bitte ausfüllen."));
        assert!(
            errors
                .at("email")
                .unwrap()
                .contains("„anna@“ ist keine E-Mail-Adresse")
        );
        assert_eq!(errors.at("other"), Some("an English rule without a code"));
        assert!(FormErrors::from_store(&de, &StoreError::Conflict("x".into()), &[]).is_none());
    }
}
