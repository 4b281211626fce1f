//! Invitations (a one-time link to an employee's first login, by mail or
//! on a printed letter) and onboarding progress (how far a municipality's
//! move home has come).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// How an invitation reaches its employee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationDelivery {
    /// By e-mail over the control plane's SMTP server, in the employee's
    /// language.
    Email,
    /// The link is returned once, for a printed letter.
    Letter,
}

/// Whom to invite: any of named users, a group's members, and everyone who
/// has not logged in yet. Users who already logged in and disabled users
/// are skipped (and listed as such); an open invitation of the same user is
/// replaced, so "invite again" is "resend".
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    /// Usernames or ids.
    #[serde(default)]
    pub users: Vec<String>,
    /// A group's name or id: all its members.
    #[serde(default)]
    pub group: Option<String>,
    /// Everyone in the municipality who has not logged in yet.
    #[serde(default)]
    pub outstanding: bool,
    /// How long the link works, 1–30 days (default 7).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 30)]
    pub valid_days: Option<u32>,
    /// Default: `email` when the control plane has an SMTP server, else
    /// `letter`.
    #[serde(default)]
    pub delivery: Option<InvitationDelivery>,
    /// Mark the mails as a reminder (their wording says so).
    #[serde(default)]
    pub reminder: bool,
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    /// The mail waits to be sent (or to be tried again).
    Queued,
    /// The mail was accepted by the SMTP server.
    Sent,
    /// The mail could not be delivered; see `error`.
    Failed,
    /// Handed out for a printed letter.
    Letter,
    /// The employee followed the link and set a password.
    Used,
    /// Not used in time.
    Expired,
    /// Replaced by a newer invitation or withdrawn.
    Revoked,
}

impl InvitationState {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationState::Queued => "queued",
            InvitationState::Sent => "sent",
            InvitationState::Failed => "failed",
            InvitationState::Letter => "letter",
            InvitationState::Used => "used",
            InvitationState::Expired => "expired",
            InvitationState::Revoked => "revoked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub delivery: InvitationDelivery,
    pub state: InvitationState,
    pub reminder: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Why the last delivery attempt failed (the SMTP server's answer).
    pub error: Option<String>,
}

/// A link for a printed letter, handed out once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvitationLetter {
    pub username: String,
    pub display_name: String,
    pub link: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Why a user got no invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Logged in already: nothing to invite to.
    Activated,
    Disabled,
    /// Mail delivery asked for, but the user has no e-mail address.
    NoEmail,
    /// An invitation mail went to this user less than a minute ago.
    TooSoon,
}

impl SkipReason {
    /// The wire name (`no_email`), also the key suffix of its message.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Activated => "activated",
            SkipReason::Disabled => "disabled",
            SkipReason::NoEmail => "no_email",
            SkipReason::TooSoon => "too_soon",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SkippedUser {
    pub username: String,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvitationsCreated {
    pub invitations: Vec<Invitation>,
    /// For `letter` delivery: each link, shown this once.
    pub letters: Vec<InvitationLetter>,
    pub skipped: Vec<SkippedUser>,
}

/// Accepting an invitation: the link's token and the password the
/// employee chose.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub token: String,
    pub password: String,
}

/// The steps of an employee's way home, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnboardingStep {
    /// Neither invited nor logged in.
    NotInvited,
    /// Invited, not logged in yet.
    Invited,
    /// Logged in (password set, or through the identity provider).
    Activated,
    /// Has a second factor (or the municipality requires none).
    SecondFactor,
    /// Has a device.
    Device,
    /// A device has been connected at least once: working from home.
    Working,
}

impl OnboardingStep {
    pub fn as_str(self) -> &'static str {
        match self {
            OnboardingStep::NotInvited => "not_invited",
            OnboardingStep::Invited => "invited",
            OnboardingStep::Activated => "activated",
            OnboardingStep::SecondFactor => "second_factor",
            OnboardingStep::Device => "device",
            OnboardingStep::Working => "working",
        }
    }
}

/// How many employees reached each step (a user who reached a step
/// counts for every step before it too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StepCounts {
    /// Employees (not disabled).
    pub employees: u64,
    pub invited: u64,
    pub activated: u64,
    pub second_factor: u64,
    pub device: u64,
    pub working: u64,
}

/// A municipality's counts now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OnboardingCounts {
    pub tenant: String,
    pub tenant_name: String,
    #[serde(flatten)]
    pub steps: StepCounts,
    /// Whether the municipality asks for a second factor before the VPN.
    pub second_factor_required: bool,
}

/// An employee who has not reached `working` yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StuckEmployee {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub email: String,
    /// The last step reached.
    pub step: OnboardingStep,
    /// The newest invitation, if any.
    pub invitation: Option<Invitation>,
}

/// A municipality's counts at the end of one day (UTC; today: now).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OnboardingDay {
    /// `YYYY-MM-DD`.
    pub day: String,
    #[serde(flatten)]
    pub steps: StepCounts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Onboarding {
    pub counts: OnboardingCounts,
    /// Everyone not `working` yet, furthest behind first.
    pub stuck: Vec<StuckEmployee>,
    /// The last 30 days with counts recorded, oldest first, ending with
    /// today's live counts.
    pub history: Vec<OnboardingDay>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_wire_names() {
        for reason in [
            SkipReason::Activated,
            SkipReason::Disabled,
            SkipReason::NoEmail,
            SkipReason::TooSoon,
        ] {
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                serde_json::json!(reason.as_str())
            );
        }
        let step = OnboardingStep::SecondFactor;
        assert_eq!(
            serde_json::to_value(step).unwrap(),
            serde_json::json!(step.as_str())
        );
    }
}
