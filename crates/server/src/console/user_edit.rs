//! Editing an employee's name, e-mail address, role and language. A
//! refused change comes back as the form with what was typed and every
//! problem at its field; a saved one goes back to the list (post, redirect,
//! get).

use api_types::Language;
use api_types::Role;
use api_types::tenancy::{UpdateUser, User};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use store::TenantNeed;

use super::context::Page;
use super::error::{ConsoleError, ConsoleResult, back_with_notice};
use super::form_errors::{Field, FieldKind, FormErrors};
use super::{Ctx, render};
use crate::AppState;

/// Fields of the form and the label each is shown with.
const LABELS: [(&str, &str); 4] = [
    ("display_name", "user-display-name"),
    ("email", "user-email"),
    ("role", "user-role"),
    ("language", "language"),
];

#[derive(Debug, Default, Deserialize)]
pub(super) struct EditForm {
    csrf: String,
    display_name: String,
    email: String,
    role: String,
    /// `de`, `nl`, `en`, or empty: the municipality's language.
    language: String,
}

#[derive(Template)]
#[template(path = "user_edit.html")]
struct EditPage {
    page: Page,
    slug: String,
    user: User,
    errors: FormErrors,
    fields: Vec<Field>,
}

fn edit_page(ctx: &Ctx, slug: &str, user: User, form: &EditForm, errors: FormErrors) -> EditPage {
    let tr = &ctx.tr;
    let field = |name, kind, value: &str| errors.field(tr, &LABELS, name, kind, value);
    let fields = vec![
        field("display_name", FieldKind::Input("text"), &form.display_name),
        field("email", FieldKind::Input("email"), &form.email),
        field("role", role_choices(tr), &form.role),
        field(
            "language",
            FieldKind::Choice(vec![
                ("", tr.t("user-language-tenant")),
                ("de", "Deutsch".to_owned()),
                ("nl", "Nederlands".to_owned()),
                ("en", "English".to_owned()),
            ]),
            &form.language,
        ),
    ];
    EditPage {
        page: ctx.page_titled(tr.t1("user-edit-title", "name", &user.display_name)),
        slug: slug.to_owned(),
        user,
        errors,
        fields,
    }
}

/// The roles a municipality's administrator gives its people.
pub(super) fn role_choices(tr: &i18n::Tr) -> FieldKind {
    FieldKind::Choice(vec![
        ("employee", tr.t("role-employee")),
        ("tenant_admin", tr.t("role-tenant_admin")),
    ])
}

/// `GET /console/t/{tenant}/users/{user}/edit`.
pub(super) async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, user)): Path<(String, String)>,
) -> ConsoleResult<Response> {
    let access = super::tenant::access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let user = state.store.get_tenant_user(&access, &user).await?;
    let form = EditForm {
        csrf: String::new(),
        display_name: user.display_name.clone(),
        email: user.email.clone(),
        role: user.role.as_str().to_owned(),
        language: user.language.map(Language::code).unwrap_or("").to_owned(),
    };
    let page = edit_page(
        &ctx,
        access.tenant_slug(),
        user,
        &form,
        FormErrors::default(),
    );
    Ok(render(&page)?.into_response())
}

/// `POST /console/t/{tenant}/users/{user}/edit`.
pub(super) async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, user)): Path<(String, String)>,
    axum::Form(form): axum::Form<EditForm>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = super::tenant::access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let request = UpdateUser {
        display_name: Some(form.display_name.clone()),
        email: Some(form.email.clone()),
        // An unknown role is the store's to refuse, at the field.
        role: Some(Role::parse(&form.role).unwrap_or(Role::ProviderAdmin)),
        disabled: None,
        language: Some(Language::parse(&form.language)),
    };
    match state
        .store
        .update_tenant_user(&access, &user, request)
        .await
    {
        Ok(_) => Ok(back_with_notice(
            &format!("/console/t/{tenant}/users"),
            "saved",
        )),
        Err(error) => {
            let Some(errors) = FormErrors::from_store(&ctx.tr, &error, &LABELS) else {
                return Err(ConsoleError::refused(
                    &format!("/console/t/{tenant}/users/{user}/edit"),
                    error,
                ));
            };
            let user = state.store.get_tenant_user(&access, &user).await?;
            let page = edit_page(&ctx, access.tenant_slug(), user, &form, errors);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}
