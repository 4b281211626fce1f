//! Onboarding in the console: a municipality's progress with who is stuck
//! (inviting, reminding, withdrawing from there), printable invitation
//! letters, and all municipalities side by side for the provider.

use api_types::invitations::{
    Invitation, InvitationDelivery, InvitationLetter, Invite, OnboardingCounts, OnboardingDay,
    OnboardingStep, StuckEmployee,
};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use store::{ProviderNeed, TenantAccess, TenantNeed};

use super::confirm::{self, Confirmable, Question};
use super::context::Page;
use super::error::{ConsoleResult, back_with_error, back_with_notice};
use super::{Ctx, render};
use crate::AppState;
use crate::invitation_delivery::link_base;

#[derive(Template)]
#[template(path = "onboarding.html")]
struct OnboardingPage {
    page: Page,
    slug: String,
    /// `(step label, count, share)` from invited to working.
    steps: Vec<(String, u64, String)>,
    headline: String,
    stuck: Vec<StuckEmployee>,
    mail: bool,
    /// Newest day first.
    history: Vec<HistoryRow>,
}

/// One day of the "over time" table.
struct HistoryRow {
    day: String,
    invited: u64,
    activated: u64,
    device: u64,
    working: u64,
    working_share: String,
}

fn history(ctx: &Ctx, days: &[OnboardingDay]) -> Vec<HistoryRow> {
    let last = days.len().saturating_sub(1);
    days.iter()
        .enumerate()
        .rev()
        .map(|(index, day)| HistoryRow {
            day: if index == last {
                ctx.tr.t("onboarding-today")
            } else {
                day_label(ctx, &day.day)
            },
            invited: day.steps.invited,
            activated: day.steps.activated,
            device: day.steps.device,
            working: day.steps.working,
            working_share: share(ctx, day.steps.working, day.steps.employees),
        })
        .collect()
}

/// `YYYY-MM-DD` as the reader writes dates.
fn day_label(ctx: &Ctx, day: &str) -> String {
    let mut parts = day.splitn(3, '-').map(str::parse::<i32>);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(year)), Some(Ok(month)), Some(Ok(date))) => ctx.tr.date(
            year,
            u8::try_from(month).unwrap_or(0),
            u8::try_from(date).unwrap_or(0),
        ),
        _ => day.to_owned(),
    }
}

impl OnboardingPage {
    fn step_label(&self, step: &OnboardingStep) -> String {
        self.page.t(format!("onboarding-step-{}", step.as_str()))
    }

    fn invitation_label(&self, invitation: &Invitation) -> String {
        self.page
            .t(format!("invitation-state-{}", invitation.state.as_str()))
    }

    /// Whether the employee's newest invitation can still be withdrawn.
    fn open(&self, employee: &StuckEmployee) -> bool {
        employee.invitation.as_ref().is_some_and(|invitation| {
            !matches!(
                invitation.state,
                api_types::invitations::InvitationState::Used
                    | api_types::invitations::InvitationState::Expired
                    | api_types::invitations::InvitationState::Revoked
            )
        })
    }
}

/// `part` of `whole` as a percentage in the reader's notation.
fn share(ctx: &Ctx, part: u64, whole: u64) -> String {
    if whole == 0 {
        return "–".to_owned();
    }
    #[allow(clippy::cast_precision_loss)]
    let percent = part as f64 * 100.0 / whole as f64;
    format!("{} %", ctx.tr.decimal(percent, 0))
}

fn steps(ctx: &Ctx, counts: &OnboardingCounts) -> Vec<(String, u64, String)> {
    [
        (OnboardingStep::Invited, counts.steps.invited),
        (OnboardingStep::Activated, counts.steps.activated),
        (OnboardingStep::SecondFactor, counts.steps.second_factor),
        (OnboardingStep::Device, counts.steps.device),
        (OnboardingStep::Working, counts.steps.working),
    ]
    .into_iter()
    .map(|(step, count)| {
        (
            ctx.tr.t(&format!("onboarding-step-{}", step.as_str())),
            count,
            share(ctx, count, counts.steps.employees),
        )
    })
    .collect()
}

/// `GET /console/t/{tenant}/onboarding`.
pub(super) async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
) -> ConsoleResult<Response> {
    let access = super::tenant::access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let onboarding = state.store.onboarding(&access).await?;
    let counts = &onboarding.counts;
    let page = OnboardingPage {
        page: ctx.page_titled(format!(
            "{} · {}",
            ctx.tr.t("onboarding-title"),
            counts.tenant_name
        )),
        slug: access.tenant_slug().to_owned(),
        steps: steps(&ctx, counts),
        headline: ctx.tr.t1(
            "onboarding-working-share",
            "percent",
            &share(&ctx, counts.steps.working, counts.steps.employees),
        ),
        stuck: onboarding.stuck,
        mail: state.mailer.is_some(),
        history: history(&ctx, &onboarding.history),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct InviteForm {
    csrf: String,
    /// One user (username or id); absent: everyone outstanding.
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    delivery: Option<String>,
    #[serde(default)]
    reminder: Option<String>,
}

#[derive(Template)]
#[template(path = "invitation_letters.html")]
struct LettersPage {
    page: Page,
    letters: Vec<InvitationLetter>,
    back: String,
}

impl LettersPage {
    fn until(&self, letter: &InvitationLetter) -> String {
        self.page.tr.t1(
            "invitation-letter-until",
            "until",
            &super::short_time(&letter.expires_at),
        )
    }
}

/// `POST /console/t/{tenant}/invitations`: invite (or remind) one user or
/// everyone outstanding, by mail or as letters.
pub(super) async fn invite(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    axum::Form(form): axum::Form<InviteForm>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = super::tenant::access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let request = Invite {
        outstanding: form.user.is_none(),
        users: form.user.into_iter().collect(),
        delivery: Some(if form.delivery.as_deref() == Some("letter") {
            InvitationDelivery::Letter
        } else {
            InvitationDelivery::Email
        }),
        reminder: form.reminder.as_deref() == Some("1"),
        ..Invite::default()
    };
    invite_and_answer(&state, &ctx, &access, request).await
}

/// Invites and answers: the printable letters, or back to the onboarding
/// page saying what went out and who was skipped, why.
pub(super) async fn invite_and_answer(
    state: &AppState,
    ctx: &Ctx,
    access: &TenantAccess,
    request: Invite,
) -> ConsoleResult<Response> {
    let back = format!("/console/t/{}/onboarding", access.tenant_slug());
    let created = match state
        .store
        .invite(
            access,
            request,
            state.mailer.is_some(),
            &link_base(&state.settings.public_url),
        )
        .await
    {
        Ok(created) => created,
        Err(error) => return Ok(back_with_error(&back, &error.to_string())),
    };
    if !created.letters.is_empty() {
        let page = LettersPage {
            page: ctx.page("invitation-letters-title"),
            letters: created.letters,
            back,
        };
        return Ok(render(&page)?.into_response());
    }
    let skipped: Vec<String> = created
        .skipped
        .iter()
        .map(|skipped| {
            format!(
                "{} ({})",
                skipped.username,
                ctx.tr
                    .t(&format!("skip-reason-{}", skipped.reason.as_str()))
            )
        })
        .collect();
    let skipped = (!skipped.is_empty()).then(|| {
        ctx.tr
            .t1("invitations-skipped", "names", &skipped.join(", "))
    });
    Ok(match (created.invitations.is_empty(), skipped) {
        (false, None) => back_with_notice(&back, "invitations-queued"),
        (false, Some(skipped)) => {
            back_with_error(&format!("{back}?notice=invitations-queued"), &skipped)
        }
        (true, Some(skipped)) => back_with_error(&back, &skipped),
        (true, None) => back_with_error(&back, &ctx.tr.t("invitations-none")),
    })
}

/// `POST /console/t/{tenant}/users/{user}/invitations/revoke` (after asking).
pub(super) async fn revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((tenant, user)): Path<(String, String)>,
    axum::Form(form): axum::Form<Confirmable>,
) -> ConsoleResult<Response> {
    ctx.check_csrf(&form.csrf)?;
    let access = super::tenant::access(&state, &ctx, &tenant, TenantNeed::Manage).await?;
    let back = format!("/console/t/{}/onboarding", access.tenant_slug());
    let existing = state.store.get_tenant_user(&access, &user).await?;
    if !form.confirmed() {
        let name = existing.display_name;
        return confirm::ask(
            &ctx,
            Question {
                title: ctx.tr.t1("confirm-invitation-revoke", "name", &name),
                consequence: ctx.tr.t1("confirm-invitation-revoke-what", "name", &name),
                action: format!("/console/t/{tenant}/users/{user}/invitations/revoke"),
                back,
                fields: Vec::new(),
                option: None,
            },
        );
    }
    match state.store.revoke_invitations(&access, &existing.id).await {
        Ok(_) => Ok(back_with_notice(&back, "invitation-revoked")),
        Err(error) => Ok(back_with_error(&back, &error.to_string())),
    }
}

/// A municipality's row: slug, name, employees, and each step's count
/// and share.
type OverviewRow = (String, String, u64, Vec<(u64, String)>);

#[derive(Template)]
#[template(path = "onboarding_overview.html")]
struct OverviewPage {
    page: Page,
    tenants: Vec<OverviewRow>,
    headers: Vec<String>,
}

/// `GET /console/onboarding`: every municipality side by side.
pub(super) async fn overview(State(state): State<AppState>, ctx: Ctx) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    let access = actor.provider(ProviderNeed::Staff)?;
    let overview = state.store.onboarding_overview(&access).await?;
    let tenants = overview
        .iter()
        .map(|counts| {
            (
                counts.tenant.clone(),
                counts.tenant_name.clone(),
                counts.steps.employees,
                steps(&ctx, counts)
                    .into_iter()
                    .map(|(_, count, share)| (count, share))
                    .collect(),
            )
        })
        .collect();
    let headers = [
        OnboardingStep::Invited,
        OnboardingStep::Activated,
        OnboardingStep::SecondFactor,
        OnboardingStep::Device,
        OnboardingStep::Working,
    ]
    .iter()
    .map(|step| ctx.tr.t(&format!("onboarding-step-{}", step.as_str())))
    .collect();
    let page = OverviewPage {
        page: ctx.page("onboarding-overview"),
        tenants,
        headers,
    };
    Ok(render(&page)?.into_response())
}
