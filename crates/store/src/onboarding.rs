//! Onboarding progress: how far each employee of a municipality has come
//! on the way home, counted per step, and the counts per day.
//!
//! Progress is derived, not recorded twice: invited (an invitation),
//! activated (`users.activated_at`, set by the first login or an accepted
//! invitation), second factor, device, working (`devices.first_session_at`,
//! set when a gateway first admits a device). Only the daily counts are
//! kept (`onboarding_days`), because the facts behind yesterday's counts
//! change (a revoked device, a withdrawn invitation).

use std::collections::{BTreeMap, BTreeSet};

use api_types::invitations::{
    Onboarding, OnboardingCounts, OnboardingDay, OnboardingStep, StepCounts, StuckEmployee,
};
use sqlx::Row;
use time::OffsetDateTime;

use crate::authz::{ProviderAccess, TenantAccess};
use crate::{Result, Store, now_ms};

/// Days of history an onboarding view shows.
pub const HISTORY_DAYS: i64 = 30;

/// One employee's onboarding facts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub invited: bool,
    pub activated: bool,
    pub second_factor: bool,
    pub device: bool,
    pub working: bool,
}

impl Progress {
    /// The last step reached in order; a later fact without the earlier
    /// ones (a device of a user who never logged in: made by an
    /// administrator) does not skip a step that is still missing, except
    /// that a second factor a municipality does not ask for is never
    /// missing.
    pub fn step(self, second_factor_required: bool) -> OnboardingStep {
        let steps = [
            (self.invited || self.activated, OnboardingStep::Invited),
            (self.activated, OnboardingStep::Activated),
            (
                self.second_factor || !second_factor_required,
                OnboardingStep::SecondFactor,
            ),
            (self.device, OnboardingStep::Device),
            (self.working, OnboardingStep::Working),
        ];
        let mut reached = OnboardingStep::NotInvited;
        for (done, step) in steps {
            if !done {
                break;
            }
            reached = step;
        }
        reached
    }
}

/// Adds one employee's step to the counts.
fn count(counts: &mut StepCounts, step: OnboardingStep) {
    counts.employees += 1;
    for (threshold, counter) in [
        (OnboardingStep::Invited, &mut counts.invited),
        (OnboardingStep::Activated, &mut counts.activated),
        (OnboardingStep::SecondFactor, &mut counts.second_factor),
        (OnboardingStep::Device, &mut counts.device),
        (OnboardingStep::Working, &mut counts.working),
    ] {
        if step >= threshold {
            *counter += 1;
        }
    }
}

/// Per user: facts of the onboarding steps, each table grouped once
/// (correlated subqueries per user cost seconds at 100,000 employees).
const PROGRESS_SELECT: &str = "SELECT u.id, u.tenant_id, u.username, u.display_name, u.email, \
     u.activated_at, u.totp_enabled + COALESCE(w.n, 0) AS factors, \
     COALESCE(d.devices, 0) AS devices, COALESCE(d.working, 0) AS working, \
     COALESCE(i.n, 0) AS invitations \
     FROM users u \
     LEFT JOIN (SELECT user_id, COUNT(*) AS n FROM webauthn_credentials GROUP BY user_id) w \
       ON w.user_id = u.id \
     LEFT JOIN (SELECT user_id, \
       SUM(CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END) AS devices, \
       SUM(CASE WHEN first_session_at IS NOT NULL THEN 1 ELSE 0 END) AS working \
       FROM devices GROUP BY user_id) d ON d.user_id = u.id \
     LEFT JOIN (SELECT user_id, COUNT(*) AS n FROM invitations WHERE revoked_at IS NULL \
       GROUP BY user_id) i ON i.user_id = u.id \
     WHERE u.disabled = 0 AND u.tenant_id IS NOT NULL";

struct ProgressRow {
    user_id: String,
    tenant_id: String,
    username: String,
    display_name: String,
    email: String,
    progress: Progress,
}

fn progress_row(row: &sqlx::any::AnyRow) -> Result<ProgressRow> {
    let positive = |column: &str| -> Result<bool> { Ok(row.try_get::<i64, _>(column)? > 0) };
    Ok(ProgressRow {
        user_id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        progress: Progress {
            invited: positive("invitations")?,
            activated: row.try_get::<Option<i64>, _>("activated_at")?.is_some(),
            second_factor: positive("factors")?,
            device: positive("devices")?,
            working: positive("working")?,
        },
    })
}

impl Store {
    /// A municipality's onboarding: counts per step and who is not working
    /// from home yet, furthest behind first.
    pub async fn onboarding(&self, access: &TenantAccess) -> Result<Onboarding> {
        let tenant = self.get_tenant(access).await?;
        let required = tenant.policy.mfa_before_vpn_hours.is_some();
        let rows = sqlx::query(&format!(
            "{PROGRESS_SELECT} AND u.tenant_id = $1 ORDER BY u.username"
        ))
        .bind(access.tenant_id())
        .fetch_all(self.pool())
        .await?;
        let latest = self.latest_invitations(access.tenant_id()).await?;
        let mut counts = empty_counts(tenant.slug, tenant.name, required);
        let mut stuck = Vec::new();
        for row in &rows {
            let row = progress_row(row)?;
            let step = row.progress.step(required);
            count(&mut counts.steps, step);
            if step < OnboardingStep::Working {
                stuck.push(StuckEmployee {
                    invitation: latest.get(&row.user_id).cloned(),
                    user_id: row.user_id,
                    username: row.username,
                    display_name: row.display_name,
                    email: row.email,
                    step,
                });
            }
        }
        // Stable: by step, then by username as loaded.
        stuck.sort_by_key(|employee| employee.step);
        let history = self
            .onboarding_history(access.tenant_id(), now_ms(), &counts)
            .await?;
        Ok(Onboarding {
            counts,
            stuck,
            history,
        })
    }

    /// Every municipality's counts side by side (provider staff), by name.
    pub async fn onboarding_overview(
        &self,
        _access: &ProviderAccess,
    ) -> Result<Vec<OnboardingCounts>> {
        let mut overview: Vec<OnboardingCounts> = self.all_counts().await?.into_values().collect();
        overview.sort_by(|a, b| a.tenant_name.cmp(&b.tenant_name));
        Ok(overview)
    }

    /// Every municipality's counts by tenant id.
    async fn all_counts(&self) -> Result<BTreeMap<String, OnboardingCounts>> {
        let tenants =
            sqlx::query("SELECT id, slug, name, mfa_before_vpn_hours FROM tenants ORDER BY name")
                .fetch_all(self.pool())
                .await?;
        let mut by_tenant: BTreeMap<String, OnboardingCounts> = BTreeMap::new();
        let mut required: BTreeSet<String> = BTreeSet::new();
        for row in &tenants {
            let id: String = row.try_get("id")?;
            let mfa: Option<i64> = row.try_get("mfa_before_vpn_hours")?;
            if mfa.is_some() {
                required.insert(id.clone());
            }
            by_tenant.insert(
                id,
                empty_counts(row.try_get("slug")?, row.try_get("name")?, mfa.is_some()),
            );
        }
        let rows = sqlx::query(PROGRESS_SELECT).fetch_all(self.pool()).await?;
        for row in &rows {
            let row = progress_row(row)?;
            if let Some(counts) = by_tenant.get_mut(&row.tenant_id) {
                count(
                    &mut counts.steps,
                    row.progress.step(required.contains(&row.tenant_id)),
                );
            }
        }
        Ok(by_tenant)
    }

    /// Writes today's counts of every municipality (UTC day of `now`),
    /// replacing what an earlier round wrote today. Returns how many
    /// municipalities were recorded.
    pub async fn record_onboarding_day(&self, now: i64) -> Result<usize> {
        let counts = self.all_counts().await?;
        let day = utc_day(now);
        let mut tx = self.write().await?;
        for (tenant_id, counts) in &counts {
            sqlx::query(
                "INSERT INTO onboarding_days (tenant_id, day, employees, invited, activated, \
                 second_factor, device, working, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (tenant_id, day) DO UPDATE SET employees = excluded.employees, \
                 invited = excluded.invited, activated = excluded.activated, \
                 second_factor = excluded.second_factor, device = excluded.device, \
                 working = excluded.working, recorded_at = excluded.recorded_at",
            )
            .bind(tenant_id)
            .bind(&day)
            .bind(signed(counts.steps.employees))
            .bind(signed(counts.steps.invited))
            .bind(signed(counts.steps.activated))
            .bind(signed(counts.steps.second_factor))
            .bind(signed(counts.steps.device))
            .bind(signed(counts.steps.working))
            .bind(now)
            .execute(tx.conn())
            .await?;
        }
        tx.commit().await?;
        Ok(counts.len())
    }

    /// The recorded days before today within [`HISTORY_DAYS`], oldest
    /// first, then today's live `counts`.
    async fn onboarding_history(
        &self,
        tenant_id: &str,
        now: i64,
        counts: &OnboardingCounts,
    ) -> Result<Vec<OnboardingDay>> {
        let today = utc_day(now);
        let first = utc_day(now - (HISTORY_DAYS - 1) * DAY_MS);
        let rows = sqlx::query(
            "SELECT day, employees, invited, activated, second_factor, device, working \
             FROM onboarding_days WHERE tenant_id = $1 AND day >= $2 AND day < $3 ORDER BY day",
        )
        .bind(tenant_id)
        .bind(&first)
        .bind(&today)
        .fetch_all(self.pool())
        .await?;
        let number = |row: &sqlx::any::AnyRow, column: &str| -> Result<u64> {
            Ok(u64::try_from(row.try_get::<i64, _>(column)?).unwrap_or(0))
        };
        let mut history = Vec::with_capacity(rows.len() + 1);
        for row in &rows {
            history.push(OnboardingDay {
                day: row.try_get("day")?,
                steps: StepCounts {
                    employees: number(row, "employees")?,
                    invited: number(row, "invited")?,
                    activated: number(row, "activated")?,
                    second_factor: number(row, "second_factor")?,
                    device: number(row, "device")?,
                    working: number(row, "working")?,
                },
            });
        }
        history.push(OnboardingDay {
            day: today,
            steps: counts.steps,
        });
        Ok(history)
    }
}

fn empty_counts(tenant: String, tenant_name: String, required: bool) -> OnboardingCounts {
    OnboardingCounts {
        tenant,
        tenant_name,
        steps: StepCounts::default(),
        second_factor_required: required,
    }
}

const DAY_MS: i64 = 86_400_000;

/// `YYYY-MM-DD` of a UTC instant in milliseconds.
pub fn utc_day(at_ms: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp(at_ms.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let date = at.date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn signed(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_in_order() {
        let nothing = Progress::default();
        assert_eq!(nothing.step(false), OnboardingStep::NotInvited);
        let invited = Progress {
            invited: true,
            ..nothing
        };
        assert_eq!(invited.step(true), OnboardingStep::Invited);
        let activated = Progress {
            activated: true,
            ..invited
        };
        assert_eq!(activated.step(true), OnboardingStep::Activated);
        // Without a required second factor, logging in is that step too.
        assert_eq!(activated.step(false), OnboardingStep::SecondFactor);
        let with_device = Progress {
            device: true,
            working: true,
            ..activated
        };
        // A required second factor missing holds the employee back even
        // with a working device.
        assert_eq!(with_device.step(true), OnboardingStep::Activated);
        assert_eq!(with_device.step(false), OnboardingStep::Working);
        // An administrator's device for someone who never logged in.
        let device_only = Progress {
            device: true,
            ..nothing
        };
        assert_eq!(device_only.step(false), OnboardingStep::NotInvited);
    }

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(utc_day(0), "1970-01-01");
        // 2026-12-03 23:59:59.999 UTC and the next millisecond.
        assert_eq!(utc_day(1_796_342_399_999), "2026-12-03");
        assert_eq!(utc_day(1_796_342_400_000), "2026-12-04");
    }

    #[test]
    fn counts_are_cumulative() {
        let mut counts = StepCounts::default();
        count(&mut counts, OnboardingStep::Working);
        count(&mut counts, OnboardingStep::Activated);
        count(&mut counts, OnboardingStep::NotInvited);
        assert_eq!(counts.employees, 3);
        assert_eq!(counts.invited, 2);
        assert_eq!(counts.activated, 2);
        assert_eq!(counts.second_factor, 1);
        assert_eq!(counts.device, 1);
        assert_eq!(counts.working, 1);
    }
}
