//! `homegate invitations …` and `homegate onboarding`.

use api_types::invitations::{
    Invitation, InvitationDelivery, Invite, OnboardingCounts, OnboardingDay, StepCounts,
    StuckEmployee,
};
use clap::Subcommand;

use super::Context;
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub(crate) enum InvitationsCommand {
    /// Invite users to their first login with a one-time link: by e-mail in
    /// their language (when the control plane has SMTP), or with --letter
    /// printed here once. Users who logged in already are skipped; an open
    /// invitation is replaced (resend).
    Send {
        /// Tenant slug or id (tenant admins: their own by default).
        #[arg(long)]
        tenant: Option<String>,
        /// Usernames or ids.
        users: Vec<String>,
        /// Every member of this group.
        #[arg(long)]
        group: Option<String>,
        /// Everyone who has not logged in yet.
        #[arg(long)]
        outstanding: bool,
        /// Days the link works (1–30, default 7).
        #[arg(long)]
        days: Option<u32>,
        /// Print the links for letters instead of sending mails.
        #[arg(long)]
        letter: bool,
        /// Word the mails as a reminder.
        #[arg(long)]
        reminder: bool,
    },
    /// A user's invitations with their delivery state, newest first.
    List {
        /// Tenant slug or id (tenant admins: their own by default).
        #[arg(long)]
        tenant: Option<String>,
        user: String,
    },
    /// Withdraw a user's open invitations: their links stop working.
    Revoke {
        /// Tenant slug or id (tenant admins: their own by default).
        #[arg(long)]
        tenant: Option<String>,
        user: String,
    },
}

impl Tabular for Invitation {
    fn headers() -> &'static [&'static str] {
        &[
            "username", "name", "delivery", "state", "created", "expires", "error",
        ]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.username.clone(),
            self.display_name.clone(),
            match self.delivery {
                InvitationDelivery::Email => "email",
                InvitationDelivery::Letter => "letter",
            }
            .to_owned(),
            self.state.as_str().to_owned(),
            output::time(&self.created_at),
            output::time(&self.expires_at),
            output::opt(self.error.as_deref()),
        ]
    }
}

/// The column names after the first of a table of [`StepCounts`].
const STEP_HEADERS: [&str; 7] = [
    "employees",
    "invited",
    "logged in",
    "second factor",
    "device",
    "working",
    "working %",
];

/// The cells of one row of counts, in [`STEP_HEADERS`] order.
fn step_cells(first: String, steps: &StepCounts) -> Vec<String> {
    let mut cells = vec![first];
    cells.extend(
        [
            steps.employees,
            steps.invited,
            steps.activated,
            steps.second_factor,
            steps.device,
            steps.working,
        ]
        .map(|count| count.to_string()),
    );
    cells.push(share(steps.working, steps.employees));
    cells
}

impl Tabular for OnboardingCounts {
    fn headers() -> &'static [&'static str] {
        const HEADERS: [&str; 8] = concat_headers("tenant");
        &HEADERS
    }

    fn row(&self) -> Vec<String> {
        step_cells(self.tenant.clone(), &self.steps)
    }
}

impl Tabular for OnboardingDay {
    fn headers() -> &'static [&'static str] {
        const HEADERS: [&str; 8] = concat_headers("day");
        &HEADERS
    }

    fn row(&self) -> Vec<String> {
        step_cells(self.day.clone(), &self.steps)
    }
}

/// `first` followed by [`STEP_HEADERS`].
const fn concat_headers(first: &'static str) -> [&'static str; 8] {
    let mut headers = [first; 8];
    let mut index = 0;
    while index < STEP_HEADERS.len() {
        headers[index + 1] = STEP_HEADERS[index];
        index += 1;
    }
    headers
}

impl Tabular for StuckEmployee {
    fn headers() -> &'static [&'static str] {
        &["username", "name", "email", "step", "invitation"]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.username.clone(),
            self.display_name.clone(),
            self.email.clone(),
            self.step.as_str().to_owned(),
            output::opt(self.invitation.as_ref().map(|i| i.state.as_str())),
        ]
    }
}

/// `part` of `whole` in percent, one decimal.
fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_owned();
    }
    #[expect(clippy::cast_precision_loss, reason = "employee counts are small")]
    let percent = part as f64 * 100.0 / whole as f64;
    format!("{percent:.1} %")
}

pub(crate) async fn run(context: &Context, command: InvitationsCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    let tenant_of = |tenant: Option<String>| {
        let client = &client;
        async move {
            super::tenant_or_own(client, tenant).await?.ok_or_else(|| {
                anyhow::anyhow!("--tenant is required: which municipality's employees?")
            })
        }
    };
    match command {
        InvitationsCommand::Send {
            tenant,
            users,
            group,
            outstanding,
            days,
            letter,
            reminder,
        } => {
            let tenant = tenant_of(tenant).await?;
            let request = Invite {
                users,
                group,
                outstanding,
                valid_days: days,
                delivery: letter.then_some(InvitationDelivery::Letter),
                reminder,
            };
            send(context, &client, &tenant, &request).await
        }
        InvitationsCommand::List { tenant, user } => {
            let tenant = tenant_of(tenant).await?;
            let invitations: Vec<Invitation> = client
                .get(&["tenants", &tenant, "users", &user, "invitations"])
                .await?;
            output::list(context.output, &invitations)
        }
        InvitationsCommand::Revoke { tenant, user } => {
            let tenant = tenant_of(tenant).await?;
            client
                .delete(&["tenants", &tenant, "users", &user, "invitations"])
                .await?;
            output::done(
                context.output,
                &format!("The open invitations of {user} were withdrawn."),
            );
            Ok(())
        }
    }
}

/// Sends invitations and prints them: the invitations, each letter's link
/// (`username<TAB>link<TAB>valid until`) and who was skipped, why.
pub(crate) async fn send(
    context: &Context,
    client: &client::Client,
    tenant: &str,
    request: &Invite,
) -> anyhow::Result<()> {
    let created = client
        .post::<_, api_types::invitations::InvitationsCreated>(
            &["tenants", tenant, "invitations"],
            request,
        )
        .await?;
    if context.output == output::OutputFormat::Json {
        output::write_line(format_args!("{}", serde_json::to_string_pretty(&created)?));
        return Ok(());
    }
    output::list(context.output, &created.invitations)?;
    for letter in &created.letters {
        output::write_line(format_args!(
            "{}\t{}\t{}",
            letter.username,
            letter.link,
            output::time(&letter.expires_at)
        ));
    }
    for skipped in &created.skipped {
        eprintln!("skipped {}: {}", skipped.username, skipped.reason.as_str());
    }
    Ok(())
}

/// `homegate onboarding`: one municipality's progress and who is stuck, or
/// all municipalities side by side.
pub(crate) async fn onboarding(
    context: &Context,
    tenant: Option<String>,
    history: bool,
) -> anyhow::Result<()> {
    let client = context.client()?;
    match super::tenant_or_own(&client, tenant).await? {
        Some(tenant) => {
            let onboarding: api_types::invitations::Onboarding =
                client.get(&["tenants", &tenant, "onboarding"]).await?;
            if context.output == output::OutputFormat::Json {
                output::write_line(format_args!(
                    "{}",
                    serde_json::to_string_pretty(&onboarding)?
                ));
                return Ok(());
            }
            if history {
                return output::list(context.output, &onboarding.history);
            }
            output::one(context.output, &onboarding.counts)?;
            output::list(context.output, &onboarding.stuck)
        }
        None if history => anyhow::bail!("--history needs --tenant: it is one municipality's"),
        None => {
            let overview: Vec<OnboardingCounts> = client.get(&["onboarding"]).await?;
            output::list(context.output, &overview)
        }
    }
}
