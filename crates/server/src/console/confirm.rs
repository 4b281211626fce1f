//! "Are you sure?" before what cannot be undone (GOV.UK's pattern): a
//! destructive form first answers with a page that says what will happen;
//! its button sends the same form again with `confirmed=yes`, so a stray
//! click, a reload or a link never does the harm itself.

use askama::Template;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::context::Page;
use super::{ConsoleResult, Ctx, render};

/// A destructive form: its CSRF token and whether the user confirmed.
#[derive(Debug, Deserialize)]
pub(super) struct Confirmable {
    pub(super) csrf: String,
    #[serde(default)]
    confirmed: Option<String>,
}

impl Confirmable {
    pub(super) fn confirmed(&self) -> bool {
        answered_yes(self.confirmed.as_ref())
    }
}

/// Whether a form's `confirmed` field says the user confirmed (for forms
/// that only sometimes ask, and so carry the field themselves).
pub(super) fn answered_yes(confirmed: Option<&String>) -> bool {
    confirmed.is_some_and(|value| value == "yes")
}

/// What the confirmation page asks.
pub(super) struct Question {
    /// The page's title, naming the object: "Revoke the device …?".
    pub(super) title: String,
    /// What will happen.
    pub(super) consequence: String,
    /// Where the form goes (the address it came to).
    pub(super) action: String,
    /// Where "Cancel" leads.
    pub(super) back: String,
    /// Further fields of the form, sent again as they were.
    pub(super) fields: Vec<(&'static str, String)>,
    /// A checkbox the user may tick on the way: `(name, label)`.
    pub(super) option: Option<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    page: Page,
    consequence: String,
    action: String,
    back: String,
    fields: Vec<(&'static str, String)>,
    option: Option<(&'static str, String)>,
}

/// The page that asks before doing it.
pub(super) fn ask(ctx: &Ctx, question: Question) -> ConsoleResult<Response> {
    let page = ConfirmPage {
        page: ctx.page_titled(question.title),
        consequence: question.consequence,
        action: question.action,
        back: question.back,
        fields: question.fields,
        option: question.option,
    };
    Ok(render(&page)?.into_response())
}
