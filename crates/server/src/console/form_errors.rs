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
    pub(super) fn from_store(tr: &Tr, error: &StoreError, labels: &Labels) -> Option<FormErrors> {
        let violations = error.violations()?;
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

/// One input of a form as `form_field.html` shows it: labelled, with what
/// was typed and its problem, if any.
pub(super) struct Field {
    /// The input's `name` and `id`.
    pub(super) name: &'static str,
    pub(super) label: String,
    pub(super) kind: FieldKind,
    pub(super) value: String,
    pub(super) required: bool,
    pub(super) placeholder: &'static str,
    /// Shown under the input, read with it by screen readers.
    pub(super) hint: Option<String>,
    pub(super) error: Option<String>,
}

#[derive(Clone)]
pub(super) enum FieldKind {
    /// An `<input>` of this `type`.
    Input(&'static str),
    /// A `<select>` of `(value, label)` choices.
    Choice(Vec<(&'static str, String)>),
}

impl Field {
    pub(super) fn is_choice(&self) -> bool {
        matches!(self.kind, FieldKind::Choice(_))
    }

    /// The input's `type`; empty for a choice.
    pub(super) fn input_type(&self) -> &'static str {
        match self.kind {
            FieldKind::Input(kind) => kind,
            FieldKind::Choice(_) => "",
        }
    }

    pub(super) fn choices(&self) -> &[(&'static str, String)] {
        match &self.kind {
            FieldKind::Input(_) => &[],
            FieldKind::Choice(choices) => choices,
        }
    }

    pub(super) fn required(mut self) -> Field {
        self.required = true;
        self
    }

    pub(super) fn placeholder(mut self, example: &'static str) -> Field {
        self.placeholder = example;
        self
    }

    pub(super) fn hint(mut self, text: String) -> Field {
        self.hint = Some(text);
        self
    }

    /// The ids of the error and hint the input is described by.
    pub(super) fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if self.error.is_some() {
            ids.push(format!("{}-error", self.name));
        }
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.name));
        }
        ids.join(" ")
    }
}

/// A form's fields and the message key each is labelled with, in order.
pub(super) type Labels = [(&'static str, &'static str)];

impl FormErrors {
    /// The field `name`, labelled as `labels` say, holding `value`, with
    /// its problem.
    pub(super) fn field(
        &self,
        tr: &Tr,
        labels: &Labels,
        name: &'static str,
        kind: FieldKind,
        value: &str,
    ) -> Field {
        Field {
            name,
            label: labels
                .iter()
                .find(|(field, _)| *field == name)
                .map_or_else(|| name.to_owned(), |(_, key)| tr.t(key)),
            kind,
            value: value.to_owned(),
            required: false,
            placeholder: "",
            hint: None,
            error: self.at(name).map(str::to_owned),
        }
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
