//! A tenant's pages: overview with quota, policy and sessions; users (with
//! CSV import), groups, applications and access rules, devices, identity
//! provider. Provider staff and the tenant's own admins use them.

use api_types::tenancy::{
    AccessRule, Application, CreateAccessRule, CreateApplication, CreateGroup, CreateUser, Device,
    Group, Protocol, Refusal, SessionList, SetPolicy, SetQuota, Tenant, UpdateTenant, UpdateUser,
    User,
};
use api_types::{Language, Role};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use store::{TenantAccess, TenantNeed};

use super::admin::one_time;
use super::confirm::{self, Confirmable, Question};
use super::context::Page;
use super::error::{ConsoleError, ConsoleResult, back_with_error, back_with_notice};
use super::form_errors::{Field, FieldKind, FormErrors};
use super::list::{ListNav, ListParams};
use super::{Ctx, render};
use crate::AppState;

pub(crate) fn short_time(at: &time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

pub(super) async fn access(
    state: &AppState,
    ctx: &Ctx,
    tenant: &str,
    need: TenantNeed,
) -> ConsoleResult<TenantAccess> {
    let actor = ctx.actor()?;
    Ok(state.store.tenant_access(actor, tenant, need).await?)
}

#[derive(Debug, Deserialize)]
pub(super) struct CsrfOnly {
    pub(super) csrf: String,
}

#[derive(Template)]
#[template(path = "tenant.html")]
struct Overview {
    page: Page,
    tenant: Tenant,
    region: String,
    sessions: SessionList,
    list: ListNav,
    refusals: Vec<Refusal>,
    groups: Vec<String>,
    max_text: String,
    max_input: String,
    max_devices_text: String,
    max_devices_input: String,
    mfa_input: String,
    reminder_input: String,
    languages: Vec<(&'static str, &'static str, bool)>,
    manage: bool,
    quota: bool,
    operate: bool,
}

pub(super) async fn overview(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    Query(params): Query<ListParams>,
) -> ConsoleResult<Response> {
    let view = access(&state, &ctx, &tenant, TenantNeed::View).await?;
    let actor = ctx.actor()?;
    let can = |need| {
        let state = state.clone();
        let actor = actor.clone();
        let tenant = tenant.clone();
        async move {
            state
                .store
                .tenant_access(&actor, &tenant, need)
                .await
                .is_ok()
        }
    };
    let (manage, quota, operate) = (
        can(TenantNeed::Manage).await,
        can(TenantNeed::Quota).await,
        can(TenantNeed::Operate).await,
    );
    if !(manage || quota || operate) {
        return Err(ConsoleError::Forbidden(ctx.tr.t("tenant-no-access")));
    }
    let record = state.store.get_tenant(&view).await?;
    let groups = if manage {
        state
            .store
            .list_groups(&view)
            .await?
            .into_iter()
            .map(|g| g.name)
            .collect()
    } else {
        Vec::new()
    };
    let unlimited = ctx.tr.t("unlimited");
    let (request, mut error) = params.request(&ctx.tr);
    let (sessions, next) = match state.store.page_sessions(&view, &request).await {
        Err(store::StoreError::Page(refused)) => {
            let (first, message) = params.restart(&ctx.tr, refused);
            error = message;
            state.store.page_sessions(&view, &first).await?
        }
        other => other?,
    };
    let base = format!("/console/t/{}", view.tenant_slug());
    let page = Overview {
        page: ctx.page_titled(record.name.clone()),
        region: record.region.clone().unwrap_or_else(|| "-".into()),
        sessions,
        list: params.nav(&base, next.as_deref(), error),
        refusals: state.store.list_refusals(&view, 20).await?,
        groups,
        max_text: record
            .quota
            .max_sessions
            .map_or_else(|| unlimited.clone(), |m| m.to_string()),
        max_input: record
            .quota
            .max_sessions
            .map(|m| m.to_string())
            .unwrap_or_default(),
        max_devices_text: record
            .quota
            .max_devices
            .map_or_else(|| unlimited.clone(), |m| m.to_string()),
        max_devices_input: record
            .quota
            .max_devices
            .map(|m| m.to_string())
            .unwrap_or_default(),
        mfa_input: record
            .policy
            .mfa_before_vpn_hours
            .map(|h| h.to_string())
            .unwrap_or_default(),
        reminder_input: record
            .policy
            .invitation_reminder_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
        languages: [
            (Language::De, "Deutsch"),
            (Language::Nl, "Nederlands"),
            (Language::En, "English"),
        ]
        .iter()
        .map(|(l, n)| (l.code(), *n, *l == record.default_language))
        .collect(),
        tenant: record,
        manage,
        quota,
        operate,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct QuotaForm {
    csrf: String,
    max_sessions: String,
    max_devices: String,
    end_newest: Option<String>,
}

pub(super) async fn set_quota(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    axum::Form(form): axum::Form<QuotaForm>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Quota).await?;
    let back = format!("/console/t/{tenant}");
    let parse = super::provider::optional_number;
    let (max_sessions, max_devices) = match (parse(&form.max_sessions), parse(&form.max_devices)) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(message), _) | (_, Err(message)) => return Ok(back_with_error(&back, &message)),
    };
    let request = SetQuota {
        max_sessions: Some(max_sessions),
        max_devices: Some(max_devices),
        end_newest_sessions: form.end_newest.is_some(),
    };
    if let Err(error) = state.store.set_quota(&access, request).await {
        return Ok(back_with_error(&back, &error.to_string()));
    }
    if form.end_newest.is_some() {
        for device in state.store.sessions_over_quota(&access).await? {
            crate::api::sessions::end_device_session(
                &state,
                &access,
                &device,
                "the quota was lowered",
            )
            .await?;
        }
    }
    Ok(back_with_notice(&back, "saved"))
}

#[derive(Debug, Deserialize)]
pub(super) struct PolicyForm {
    csrf: String,
    priority_seats: String,
    priority_group: String,
    idle_timeout: String,
    mfa_hours: String,
    #[serde(default)]
    reminder_days: String,
    language: String,
}

pub(super) async fn set_policy(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    axum::Form(form): axum::Form<PolicyForm>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let back = format!("/console/t/{tenant}");
    let parse = super::provider::optional_number;
    let numbers = (
        parse(&form.priority_seats),
        parse(&form.idle_timeout),
        parse(&form.mfa_hours),
        parse(&form.reminder_days),
    );
    let (seats, idle, mfa, reminder) = match numbers {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
        (Err(m), _, _, _) | (_, Err(m), _, _) | (_, _, Err(m), _) | (_, _, _, Err(m)) => {
            return Ok(back_with_error(&back, &m));
        }
    };
    let request = SetPolicy {
        priority_seats: Some(seats.unwrap_or(0)),
        priority_group: Some(Some(form.priority_group).filter(|g| !g.is_empty())),
        session_idle_timeout_secs: idle,
        mfa_before_vpn_hours: Some(mfa),
        invitation_reminder_days: Some(reminder),
    };
    if let Err(error) = state.store.set_policy(&access, request).await {
        return Ok(back_with_error(&back, &error.to_string()));
    }
    let actor = ctx.actor()?;
    let update = UpdateTenant {
        default_language: Language::parse(&form.language),
        ..UpdateTenant::default()
    };
    if let Err(error) = state.store.update_tenant(actor, &access, update).await {
        return Ok(back_with_error(&back, &error.to_string()));
    }
    Ok(back_with_notice(&back, "saved"))
}

pub(super) async fn end_session(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, device)): Path<(String, String)>,
    axum::Form(form): axum::Form<Confirmable>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Operate).await?;
    let back = format!("/console/t/{tenant}");
    if !form.confirmed() {
        let name = state.store.get_device(&access, &device).await?.name;
        return confirm::ask(
            &ctx,
            Question {
                title: ctx.tr.t1("confirm-end-session", "name", &name),
                consequence: ctx.tr.t("confirm-end-session-what"),
                action: format!("/console/t/{tenant}/sessions/{device}/end"),
                back,
                fields: Vec::new(),
                option: None,
            },
        );
    }
    match crate::api::sessions::end_device_session(
        &state,
        &access,
        &device,
        "ended by an administrator",
    )
    .await
    {
        Ok(()) => Ok(back_with_notice(&back, "session-ended")),
        Err(error) => Ok(back_with_error(&back, &error.to_string())),
    }
}

/// One row of a CSV import, checked, as the preview shows it.
pub(super) struct ImportRow {
    pub line: usize,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub groups: String,
    pub problem: Option<String>,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    page: Page,
    slug: String,
    users: Vec<User>,
    list: ListNav,
    csv: String,
    preview: Vec<ImportRow>,
    /// The import's "invite" box was ticked.
    invite: bool,
    /// The "add a person" form as typed after a refusal.
    new_user_fields: Vec<Field>,
    new_user_invite: bool,
    errors: FormErrors,
}

/// What the users page's forms hold: the import while its lines are
/// checked, the "add a person" form after a refusal.
#[derive(Default)]
struct UsersDraft {
    csv: String,
    preview: Vec<ImportRow>,
    invite: bool,
    /// The "add a person" form as typed.
    new_user: NewUserDraft,
}

#[derive(Default)]
struct NewUserDraft {
    username: String,
    display_name: String,
    email: String,
    role: String,
    invite: bool,
}

impl UsersPage {
    fn role_key(&self, user: &User) -> String {
        format!("role-{}", user.role.as_str())
    }

    fn import_label(&self) -> String {
        self.page.tr.n(
            "import-confirm",
            "count",
            i64::try_from(self.preview.len()).unwrap_or(0),
        )
    }

    /// Lines with a problem; the import button shows only without any.
    fn problem_count(&self) -> usize {
        self.preview.iter().filter(|r| r.problem.is_some()).count()
    }

    fn problems_text(&self) -> String {
        self.page.tr.n(
            "import-has-problems",
            "count",
            i64::try_from(self.problem_count()).unwrap_or(0),
        )
    }
}

async fn users_page(
    state: &AppState,
    ctx: &Ctx,
    tenant: &str,
    draft: UsersDraft,
) -> ConsoleResult<Response> {
    users_list_page(
        state,
        ctx,
        tenant,
        draft,
        FormErrors::default(),
        &ListParams::default(),
    )
    .await
}

/// The users page at one page of the list (search, cursor); `errors` are
/// the "add a person" form's problems.
async fn users_list_page(
    state: &AppState,
    ctx: &Ctx,
    tenant: &str,
    draft: UsersDraft,
    errors: FormErrors,
    params: &ListParams,
) -> ConsoleResult<Response> {
    let access = access(state, ctx, tenant, TenantNeed::Manage).await?;
    let (request, mut error) = params.request(&ctx.tr);
    let users = match state.store.page_tenant_users(&access, &request).await {
        Err(store::StoreError::Page(refused)) => {
            let (first, message) = params.restart(&ctx.tr, refused);
            error = message;
            state.store.page_tenant_users(&access, &first).await?
        }
        other => other?,
    };
    let base = format!("/console/t/{}/users", access.tenant_slug());
    let page = UsersPage {
        page: ctx
            .page("users-title")
            .warn_public_url(&state.settings.public_url),
        slug: access.tenant_slug().to_owned(),
        users: users.items,
        list: params.nav(&base, users.next.as_deref(), error),
        csv: draft.csv,
        preview: draft.preview,
        invite: draft.invite,
        new_user_fields: new_user_fields(&ctx.tr, &errors, &draft.new_user),
        new_user_invite: draft.new_user.invite,
        errors,
    };
    form_page(&page, &page.errors)
}

pub(super) async fn users(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    Query(params): Query<ListParams>,
) -> ConsoleResult<Response> {
    users_list_page(
        &state,
        &ctx,
        &tenant,
        UsersDraft::default(),
        FormErrors::default(),
        &params,
    )
    .await
}

fn new_user_fields(tr: &i18n::Tr, errors: &FormErrors, typed: &NewUserDraft) -> Vec<Field> {
    let field = |name, kind, value: &str| errors.field(tr, &NEW_USER_LABELS, name, kind, value);
    vec![
        field("username", FieldKind::Input("text"), &typed.username).required(),
        field(
            "display_name",
            FieldKind::Input("text"),
            &typed.display_name,
        ),
        field("email", FieldKind::Input("email"), &typed.email),
        field("role", super::user_edit::role_choices(tr), &typed.role),
    ]
}

#[derive(Debug, Deserialize)]
pub(super) struct UserForm {
    csrf: String,
    username: String,
    display_name: String,
    email: String,
    role: String,
    /// "1": invite them instead of showing a one-time password.
    #[serde(default)]
    invite: Option<String>,
}

pub(super) async fn create_user(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    axum::Form(form): axum::Form<UserForm>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let back = format!("/console/t/{tenant}/users");
    let request = CreateUser {
        username: form.username.clone(),
        display_name: Some(form.display_name.clone()).filter(|n| !n.trim().is_empty()),
        email: Some(form.email.clone()).filter(|e| !e.trim().is_empty()),
        role: Role::parse(&form.role).unwrap_or(Role::Employee),
        password: None,
        language: None,
    };
    match state.store.create_tenant_user(&access, request).await {
        Ok(created) if form.invite.as_deref() == Some("1") => {
            let has_email = !created.user.email.is_empty();
            let request = api_types::invitations::Invite {
                users: vec![created.user.id],
                delivery: Some(if state.mailer.is_some() && has_email {
                    api_types::invitations::InvitationDelivery::Email
                } else {
                    api_types::invitations::InvitationDelivery::Letter
                }),
                ..Default::default()
            };
            super::onboarding::invite_and_answer(&state, &ctx, &access, request).await
        }
        Ok(created) => super::admin::user_created(&ctx, created, &back),
        Err(error) => match FormErrors::from_store(&ctx.tr, &error, &NEW_USER_LABELS) {
            // The list again, the form as typed, every problem at its field.
            Some(errors) => {
                let draft = UsersDraft {
                    new_user: NewUserDraft {
                        username: form.username,
                        display_name: form.display_name,
                        email: form.email,
                        role: form.role,
                        invite: form.invite.as_deref() == Some("1"),
                    },
                    ..UsersDraft::default()
                };
                users_list_page(&state, &ctx, &tenant, draft, errors, &ListParams::default()).await
            }
            None => Ok(back_with_error(&back, &error.to_string())),
        },
    }
}

/// Fields of the "add a person" form and the label each is shown with.
const NEW_USER_LABELS: [(&str, &str); 4] = [
    ("username", "user-username"),
    ("display_name", "user-display-name"),
    ("email", "user-email"),
    ("role", "user-role"),
];

#[derive(Debug, Deserialize)]
pub(super) struct ImportForm {
    csrf: String,
    csv: String,
    step: String,
    /// "1": invite those with an e-mail address (SMTP configured).
    #[serde(default)]
    invite: Option<String>,
}

pub(super) async fn import_users(
    State(state): State<AppState>,
    ctx: Ctx,
    jar: axum_extra::extract::CookieJar,
    Path(tenant): Path<String>,
    axum::Form(form): axum::Form<ImportForm>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let back = format!("/console/t/{tenant}/users");
    let text = |problem: &store::import::ImportProblem| {
        crate::error::import_problem_text(&ctx.tr, problem)
    };
    let rows = match state.store.check_user_import(&access, &form.csv).await? {
        Ok(rows) => rows,
        Err(problem) => return Ok(back_with_error(&back, &text(&problem))),
    };
    let preview: Vec<ImportRow> = rows
        .iter()
        .map(|row| ImportRow {
            line: row.line,
            username: row.username.clone(),
            display_name: row.display_name.clone(),
            role: row.role.clone(),
            groups: row.groups.join("; "),
            problem: row.problem.as_ref().map(text),
        })
        .collect();
    let invite = form.invite.as_deref() == Some("1");
    if form.step != "import" || preview.iter().any(|r| r.problem.is_some()) {
        let draft = UsersDraft {
            csv: form.csv,
            preview,
            invite,
            new_user: NewUserDraft::default(),
        };
        return users_page(&state, &ctx, &tenant, draft).await;
    }
    match state
        .store
        .start_user_import(&access, &form.csv, invite, state.mailer.is_some())
        .await
    {
        Ok((started, prepared)) => {
            crate::api::jobs::spawn_import(&state, prepared);
            let jar = super::jobs::remember_key(jar, &state, &tenant, &started);
            let to = format!("/console/t/{tenant}/jobs/{}", started.job.id);
            Ok((jar, axum::response::Redirect::to(&to)).into_response())
        }
        // Changed between the check and the start: show the lines again.
        Err(store::StoreError::Import(_)) => {
            let draft = UsersDraft {
                csv: form.csv,
                preview,
                invite,
                new_user: NewUserDraft::default(),
            };
            users_page(&state, &ctx, &tenant, draft).await
        }
        Err(error) => Ok(back_with_error(&back, &error.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct DisabledForm {
    csrf: String,
    disabled: String,
    #[serde(default)]
    confirmed: Option<String>,
}

pub(super) async fn set_disabled(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, user)): Path<(String, String)>,
    axum::Form(form): axum::Form<DisabledForm>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let back = format!("/console/t/{tenant}/users");
    // Enabling needs no second thought; disabling ends the user's sessions.
    if form.disabled == "1" && !confirm::answered_yes(form.confirmed.as_ref()) {
        let name = state
            .store
            .get_tenant_user(&access, &user)
            .await?
            .display_name;
        return confirm::ask(
            &ctx,
            Question {
                title: ctx.tr.t1("confirm-disable-user", "name", &name),
                consequence: ctx.tr.t1("confirm-disable-user-what", "name", &name),
                action: format!("/console/t/{tenant}/users/{user}/disabled"),
                back,
                fields: vec![("disabled", "1".to_owned())],
                option: None,
            },
        );
    }
    let request = UpdateUser {
        disabled: Some(form.disabled == "1"),
        ..UpdateUser::default()
    };
    match state
        .store
        .update_tenant_user(&access, &user, request)
        .await
    {
        Ok(_) => Ok(back_with_notice(&back, "saved")),
        Err(error) => Ok(back_with_error(&back, &error.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ResetForm {
    csrf: String,
    #[serde(default)]
    confirmed: Option<String>,
    #[serde(default)]
    second_factor: Option<String>,
}

/// Resets a user's password (after asking): the one-time password is
/// shown once.
pub(super) async fn reset_password(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, user)): Path<(String, String)>,
    axum::Form(form): axum::Form<ResetForm>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let back = format!("/console/t/{tenant}/users");
    let existing = state.store.get_tenant_user(&access, &user).await?;
    let name = existing.display_name;
    if !confirm::answered_yes(form.confirmed.as_ref()) {
        return confirm::ask(
            &ctx,
            Question {
                title: ctx.tr.t1("confirm-reset-password", "name", &name),
                consequence: ctx.tr.t1("confirm-reset-password-what", "name", &name),
                action: format!("/console/t/{tenant}/users/{user}/reset-password"),
                back,
                fields: Vec::new(),
                option: Some(("second_factor", ctx.tr.t("confirm-reset-second-factor"))),
            },
        );
    }
    let request = api_types::tenancy::ResetPassword {
        second_factor: form.second_factor.as_deref() == Some("1"),
    };
    match state
        .store
        .reset_user_password(&access, &user, request)
        .await
    {
        Ok(reset) => one_time(
            &ctx,
            "password-reset-title",
            ctx.tr.t1("password-reset-intro", "name", &name),
            vec![(reset.user.username, reset.one_time_password)],
            None,
            &back,
        ),
        Err(error) => Ok(back_with_error(&back, &error.to_string())),
    }
}

pub(super) async fn create_code(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, user)): Path<(String, String)>,
    axum::Form(form): axum::Form<CsrfOnly>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let back = format!("/console/t/{tenant}/users");
    match state
        .store
        .create_enrollment_code(&access, &user, None)
        .await
    {
        Ok(code) => one_time(
            &ctx,
            "code-created-title",
            ctx.tr.t1(
                "code-created-intro",
                "user",
                code.code.user.as_deref().unwrap_or(""),
            ),
            vec![(ctx.tr.t("code-label"), code.secret.clone())],
            Some(format!(
                "homegate enroll {} --code {}",
                state.settings.public_url, code.secret
            )),
            &back,
        ),
        Err(error) => Ok(back_with_error(&back, &error.to_string())),
    }
}

#[derive(Template)]
#[template(path = "groups.html")]
struct GroupsPage {
    page: Page,
    slug: String,
    groups: Vec<Group>,
    users: Vec<String>,
    /// The "new group" form, as typed after a refusal.
    new_group_fields: Vec<Field>,
    errors: FormErrors,
}

/// Fields of the "new group" form and the label each is shown with.
const NEW_GROUP_LABELS: [(&str, &str); 2] =
    [("name", "group-name"), ("description", "description")];

#[derive(Debug, Default, Deserialize)]
pub(super) struct GroupForm {
    csrf: String,
    name: String,
    description: String,
}

/// The groups page; `typed` and `errors` are the "new group" form's.
async fn groups_page(
    state: &AppState,
    ctx: &Ctx,
    tenant: &str,
    typed: &GroupForm,
    errors: FormErrors,
) -> ConsoleResult<Response> {
    let access = access(state, ctx, tenant, TenantNeed::Manage).await?;
    let field = |name, value: &str| {
        errors.field(
            &ctx.tr,
            &NEW_GROUP_LABELS,
            name,
            FieldKind::Input("text"),
            value,
        )
    };
    let page = GroupsPage {
        page: ctx.page("groups-title"),
        slug: access.tenant_slug().to_owned(),
        groups: state.store.list_groups(&access).await?,
        users: state
            .store
            .list_tenant_users(&access)
            .await?
            .into_iter()
            .map(|u| u.username)
            .collect(),
        new_group_fields: vec![
            field("name", &typed.name).required(),
            field("description", &typed.description),
        ],
        errors,
    };
    form_page(&page, &page.errors)
}

/// A page with a form: 422 when it comes back with problems.
fn form_page<T: askama::Template>(page: &T, errors: &FormErrors) -> ConsoleResult<Response> {
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, render(page)?).into_response())
}

pub(super) async fn groups(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
) -> ConsoleResult<Response> {
    groups_page(
        &state,
        &ctx,
        &tenant,
        &GroupForm::default(),
        FormErrors::default(),
    )
    .await
}

pub(super) async fn create_group(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    axum::Form(form): axum::Form<GroupForm>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let back = format!("/console/t/{tenant}/groups");
    let request = CreateGroup {
        name: form.name.clone(),
        description: Some(form.description.clone()).filter(|d| !d.is_empty()),
    };
    match state.store.create_group(&access, request).await {
        Ok(_) => Ok(back_with_notice(&back, "saved")),
        Err(error) => match FormErrors::from_store(&ctx.tr, &error, &NEW_GROUP_LABELS) {
            Some(errors) => groups_page(&state, &ctx, &tenant, &form, errors).await,
            None => Err(ConsoleError::refused(&back, error)),
        },
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct MemberForm {
    csrf: String,
    user: String,
}

pub(super) async fn add_member(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, group)): Path<(String, String)>,
    axum::Form(form): axum::Form<MemberForm>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let back = format!("/console/t/{tenant}/groups");
    match state
        .store
        .set_group_member(&access, &group, &form.user, true)
        .await
    {
        Ok(_) => Ok(back_with_notice(&back, "saved")),
        Err(error) => Ok(back_with_error(&back, &error.to_string())),
    }
}

pub(super) async fn remove_member(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, group, user)): Path<(String, String, String)>,
    axum::Form(form): axum::Form<CsrfOnly>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let back = format!("/console/t/{tenant}/groups");
    match state
        .store
        .set_group_member(&access, &group, &user, false)
        .await
    {
        Ok(_) => Ok(back_with_notice(&back, "saved")),
        Err(error) => Ok(back_with_error(&back, &error.to_string())),
    }
}

#[derive(Template)]
#[template(path = "applications.html")]
struct ApplicationsPage {
    page: Page,
    slug: String,
    applications: Vec<Application>,
    rules: Vec<AccessRule>,
    groups: Vec<String>,
    /// The "new application" form, as typed after a refusal.
    new_application_fields: Vec<Field>,
    errors: FormErrors,
}

/// Fields of the "new application" form and the label each is shown with.
const NEW_APPLICATION_LABELS: [(&str, &str); 6] = [
    ("name", "application-name"),
    ("cidr", "application-network"),
    ("protocol", "application-protocol"),
    ("ports", "application-ports"),
    ("description", "description"),
    ("web_upstream", "application-web-upstream"),
];

#[derive(Debug, Deserialize)]
pub(super) struct ApplicationForm {
    csrf: String,
    name: String,
    cidr: String,
    protocol: String,
    ports: String,
    description: String,
    #[serde(default)]
    web_upstream: String,
}

impl Default for ApplicationForm {
    fn default() -> ApplicationForm {
        ApplicationForm {
            csrf: String::new(),
            name: String::new(),
            cidr: String::new(),
            protocol: "tcp".to_owned(),
            ports: String::new(),
            description: String::new(),
            web_upstream: String::new(),
        }
    }
}

/// The applications page; `typed` and `errors` are the "new application"
/// form's.
async fn applications_page(
    state: &AppState,
    ctx: &Ctx,
    tenant: &str,
    typed: &ApplicationForm,
    errors: FormErrors,
) -> ConsoleResult<Response> {
    let access = access(state, ctx, tenant, TenantNeed::Manage).await?;
    let tr = &ctx.tr;
    let field =
        |name, kind, value: &str| errors.field(tr, &NEW_APPLICATION_LABELS, name, kind, value);
    let text = FieldKind::Input("text");
    let new_application_fields = vec![
        field("name", text.clone(), &typed.name).required(),
        field("cidr", text.clone(), &typed.cidr)
            .required()
            .placeholder("198.18.10.0/24"),
        field(
            "protocol",
            FieldKind::Choice(vec![
                ("tcp", "TCP".to_owned()),
                ("udp", "UDP".to_owned()),
                ("icmp", "ICMP".to_owned()),
                ("any", tr.t("protocol-any")),
            ]),
            &typed.protocol,
        ),
        field("ports", text.clone(), &typed.ports)
            .placeholder("443, 8000-8100")
            .hint(tr.t("application-ports-hint")),
        field("description", text, &typed.description),
        field("web_upstream", FieldKind::Input("url"), &typed.web_upstream)
            .hint(tr.t("application-web-upstream-hint")),
    ];
    let page = ApplicationsPage {
        page: ctx.page("applications-title"),
        slug: access.tenant_slug().to_owned(),
        applications: crate::proxy::applications_with_web_urls(state, &access).await?,
        rules: state.store.list_access_rules(&access).await?,
        groups: state
            .store
            .list_groups(&access)
            .await?
            .into_iter()
            .map(|g| g.name)
            .collect(),
        new_application_fields,
        errors,
    };
    form_page(&page, &page.errors)
}

pub(super) async fn applications(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
) -> ConsoleResult<Response> {
    applications_page(
        &state,
        &ctx,
        &tenant,
        &ApplicationForm::default(),
        FormErrors::default(),
    )
    .await
}

pub(super) async fn create_application(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    axum::Form(form): axum::Form<ApplicationForm>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let back = format!("/console/t/{tenant}/applications");
    let request = CreateApplication {
        name: form.name.clone(),
        description: Some(form.description.clone()).filter(|d| !d.is_empty()),
        cidr: form.cidr.clone(),
        // An unknown protocol is the store's to refuse, at the field.
        protocol: Protocol::parse(&form.protocol).unwrap_or(Protocol::Any),
        ports: vec![form.ports.clone()],
        web_upstream: Some(form.web_upstream.clone()).filter(|u| !u.trim().is_empty()),
    };
    match state.store.create_application(&access, request).await {
        Ok(_) => Ok(back_with_notice(&back, "saved")),
        Err(error) => match FormErrors::from_store(&ctx.tr, &error, &NEW_APPLICATION_LABELS) {
            Some(errors) => applications_page(&state, &ctx, &tenant, &form, errors).await,
            None => Err(ConsoleError::refused(&back, error)),
        },
    }
}

pub(super) async fn delete_application(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, application)): Path<(String, String)>,
    axum::Form(form): axum::Form<Confirmable>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let back = format!("/console/t/{tenant}/applications");
    if !form.confirmed() {
        let name = state
            .store
            .get_application(&access, &application)
            .await?
            .name;
        return confirm::ask(
            &ctx,
            Question {
                title: ctx.tr.t1("confirm-delete-application", "name", &name),
                consequence: ctx.tr.t("confirm-delete-application-what"),
                action: format!("/console/t/{tenant}/applications/{application}/delete"),
                back,
                fields: Vec::new(),
                option: None,
            },
        );
    }
    match state.store.delete_application(&access, &application).await {
        Ok(()) => Ok(back_with_notice(&back, "saved")),
        Err(error) => Ok(back_with_error(&back, &error.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RuleForm {
    csrf: String,
    group: String,
    application: String,
}

pub(super) async fn create_rule(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    axum::Form(form): axum::Form<RuleForm>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let back = format!("/console/t/{tenant}/applications");
    let request = CreateAccessRule {
        group: form.group,
        application: form.application,
    };
    match state.store.create_access_rule(&access, request).await {
        Ok(_) => Ok(back_with_notice(&back, "saved")),
        Err(error) => Ok(back_with_error(&back, &error.to_string())),
    }
}

pub(super) async fn delete_rule(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, rule)): Path<(String, String)>,
    axum::Form(form): axum::Form<Confirmable>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let back = format!("/console/t/{tenant}/applications");
    if !form.confirmed() {
        let found = state
            .store
            .list_access_rules(&access)
            .await?
            .into_iter()
            .find(|r| r.id == rule)
            .ok_or_else(|| ConsoleError::NotFound(rule.clone()))?;
        let names = [
            ("group", found.group.as_str()),
            ("application", found.application.as_str()),
        ];
        return confirm::ask(
            &ctx,
            Question {
                title: ctx.tr.args("confirm-delete-rule", &names),
                consequence: ctx.tr.args("confirm-delete-rule-what", &names),
                action: format!("/console/t/{tenant}/rules/{rule}/delete"),
                back,
                fields: Vec::new(),
                option: None,
            },
        );
    }
    match state.store.delete_access_rule(&access, &rule).await {
        Ok(()) => Ok(back_with_notice(&back, "saved")),
        Err(error) => Ok(back_with_error(&back, &error.to_string())),
    }
}

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    page: Page,
    slug: String,
    devices: Vec<Device>,
    list: ListNav,
    manage: bool,
    /// Devices in session now: gateway and last handshake, as shown.
    connections: std::collections::HashMap<String, String>,
}

impl DevicesPage {
    fn connection(&self, device: &Device) -> String {
        self.connections
            .get(&device.id)
            .cloned()
            .unwrap_or_else(|| self.page.t("device-offline"))
    }

    fn kind_key(&self, device: &Device) -> String {
        format!("kind-{}", device.kind.as_str())
    }

    fn state_key(&self, device: &Device) -> String {
        format!("state-{}", device.state.as_str())
    }
}

pub(super) async fn devices(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    Query(params): Query<ListParams>,
) -> ConsoleResult<Response> {
    let access = access(&state, &ctx, &tenant, TenantNeed::Operate).await?;
    let actor = ctx.actor()?;
    let manage = state
        .store
        .tenant_access(actor, &tenant, TenantNeed::Manage)
        .await
        .is_ok();
    let (request, mut error) = params.request(&ctx.tr);
    let devices = match state.store.page_devices(&access, &request).await {
        Err(store::StoreError::Page(refused)) => {
            let (first, message) = params.restart(&ctx.tr, refused);
            error = message;
            state.store.page_devices(&access, &first).await?
        }
        other => other?,
    };
    let base = format!("/console/t/{}/devices", access.tenant_slug());
    let page = ctx.page("devices-title");
    let connections = state
        .store
        .list_sessions(&access)
        .await?
        .sessions
        .into_iter()
        .map(|session| {
            let handshake = session
                .last_handshake_at
                .map_or_else(|| "–".to_owned(), |at| short_time(&at));
            let text = ctx.tr.args(
                "device-online",
                &[("gateway", &session.gateway), ("handshake", &handshake)],
            );
            (session.device_id, text)
        })
        .collect();
    let page = DevicesPage {
        page,
        slug: access.tenant_slug().to_owned(),
        devices: devices.items,
        list: params.nav(&base, devices.next.as_deref(), error),
        manage,
        connections,
    };
    Ok(render(&page)?.into_response())
}

pub(super) async fn revoke_device(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, device)): Path<(String, String)>,
    axum::Form(form): axum::Form<Confirmable>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Operate).await?;
    let back = format!("/console/t/{tenant}/devices");
    if !form.confirmed() {
        let name = state.store.get_device(&access, &device).await?.name;
        return confirm::ask(
            &ctx,
            Question {
                title: ctx.tr.t1("confirm-revoke-device", "name", &name),
                consequence: ctx.tr.t("confirm-revoke-device-what"),
                action: format!("/console/t/{tenant}/devices/{device}/revoke"),
                back,
                fields: Vec::new(),
                option: None,
            },
        );
    }
    match state.store.revoke_device(&access, &device).await {
        Ok(_) => Ok(back_with_notice(&back, "device-revoked")),
        Err(error) => Ok(back_with_error(&back, &error.to_string())),
    }
}

#[derive(Template)]
#[template(path = "identity.html")]
struct IdentityPage {
    page: Page,
    slug: String,
    idp: Option<api_types::auth::IdentityProvider>,
    redirect_uri: String,
    login_url: String,
}

pub(super) async fn identity(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
) -> ConsoleResult<Response> {
    let access = access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let redirect_uri = crate::oidc::redirect_uri(&state);
    let page = IdentityPage {
        page: ctx.page("identity-title"),
        slug: access.tenant_slug().to_owned(),
        idp: state
            .store
            .get_identity_provider(&access, &redirect_uri)
            .await?,
        login_url: format!(
            "{}/auth/oidc/{}/start",
            state.settings.public_url,
            access.tenant_slug()
        ),
        redirect_uri,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct IdentityForm {
    csrf: String,
    issuer: String,
    client_id: String,
    client_secret: String,
    username_claim: String,
    counts_as_mfa: Option<String>,
    auto_provision: Option<String>,
}

pub(super) async fn set_identity(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    axum::Form(form): axum::Form<IdentityForm>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let back = format!("/console/t/{tenant}/identity");
    let request = api_types::auth::SetIdentityProvider {
        issuer: form.issuer,
        client_id: form.client_id,
        client_secret: form.client_secret,
        username_claim: Some(form.username_claim),
        counts_as_mfa: form.counts_as_mfa.is_some(),
        auto_provision: form.auto_provision.is_some(),
    };
    match state
        .store
        .set_identity_provider(&access, request, &crate::oidc::redirect_uri(&state))
        .await
    {
        Ok(_) => Ok(back_with_notice(&back, "saved")),
        Err(error) => Ok(back_with_error(&back, &error.to_string())),
    }
}
