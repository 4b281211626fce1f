//! Pure rules of the status page. The store gathers facts (heartbeats,
//! seats, operator settings, recorded history) and these functions decide
//! what the page says; `now` is always an argument, so every rule is tested
//! without clocks or databases.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod uptime;

use api_types::status::{ComponentStatus, IncidentState, StatusSource};

pub const MINUTE_MS: i64 = 60_000;
pub const DAY_MS: i64 = 86_400_000;

/// What the control plane knows about one region's VPN right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegionHealth {
    /// Gateways that reported within the health window.
    pub gateways_online: i64,
    /// Gateways that have reported at least once.
    pub gateways_total: i64,
    /// Gateways added whose process has never connected: not yet online,
    /// which is no outage.
    pub gateways_not_yet_online: i64,
    /// Municipalities with a session quota whose seats are all taken. Only
    /// a municipality's own page counts its quota (see [`automatic_status`]).
    pub tenants_saturated: i64,
    pub tenants_with_quota: i64,
}

/// A region's VPN from its gateways: all online is operational, losing some
/// is degraded while at least half remain, a partial outage below that, a
/// major outage with none. On a municipality's own page (the only place
/// where `tenants_with_quota` is counted) a healthy VPN is degraded for
/// that municipality while all its seats are taken: on the page for
/// everyone, one municipality's full quota is not the region's fault.
/// `None` for a region whose gateways have never reported: it serves nobody
/// yet.
pub fn automatic_status(health: RegionHealth) -> Option<ComponentStatus> {
    let RegionHealth {
        gateways_online: online,
        gateways_total: total,
        tenants_saturated: saturated,
        tenants_with_quota: with_quota,
        ..
    } = health;
    if total <= 0 {
        return None;
    }
    Some(if online >= total {
        if with_quota > 0 && saturated * 2 >= with_quota {
            ComponentStatus::DegradedPerformance
        } else {
            ComponentStatus::Operational
        }
    } else if online <= 0 {
        ComponentStatus::MajorOutage
    } else if online * 2 >= total {
        ComponentStatus::DegradedPerformance
    } else {
        ComponentStatus::PartialOutage
    })
}

/// Where a component's status comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// A region's VPN: automatic, unless an operator overrides it.
    Region {
        automatic: Option<ComponentStatus>,
        operator_override: Option<ComponentStatus>,
    },
    /// Any other component: what the operator set last.
    Manual(ComponentStatus),
}

/// A component's status now. An operator's override of a region beats
/// everything (they know something the heartbeats do not); a maintenance in
/// progress beats the automatic status and an operational manual one, but
/// not a manual outage. `None` when the page has nothing to say (a region
/// without gateways and no override).
pub fn effective_status(
    basis: Basis,
    in_maintenance: bool,
) -> Option<(ComponentStatus, StatusSource)> {
    match basis {
        Basis::Region {
            operator_override: Some(status),
            ..
        } => Some((status, StatusSource::Operator)),
        Basis::Region { automatic, .. } => {
            let automatic = automatic?;
            Some(if in_maintenance {
                (ComponentStatus::UnderMaintenance, StatusSource::Maintenance)
            } else {
                (automatic, StatusSource::Automatic)
            })
        }
        Basis::Manual(status) => Some(
            if in_maintenance && status == ComponentStatus::Operational {
                (ComponentStatus::UnderMaintenance, StatusSource::Maintenance)
            } else {
                (status, StatusSource::Operator)
            },
        ),
    }
}

/// A scheduled maintenance's phase: it moves in and out of progress by its
/// window alone, and ends early when an operator completes it.
pub fn maintenance_state(
    starts_at: i64,
    ends_at: i64,
    completed_at: Option<i64>,
    now: i64,
) -> IncidentState {
    if completed_at.is_some_and(|at| at <= now) || now >= ends_at {
        IncidentState::Completed
    } else if now >= starts_at {
        IncidentState::InProgress
    } else {
        IncidentState::Scheduled
    }
}

/// An open incident nobody has updated for longer than `stale_after_ms`:
/// readers wonder whether anyone is still working on it.
pub fn is_stale(state: IncidentState, last_update_at: i64, stale_after_ms: i64, now: i64) -> bool {
    !state.is_closed()
        && !matches!(state, IncidentState::Scheduled)
        && now - last_update_at > stale_after_ms
}

/// Which states an update may set: an incident moves among investigating,
/// identified, monitoring and resolved (skipping is fine; a later update
/// reopens a resolved one); maintenance uses its own three, and an update
/// to `completed` ends it early.
pub fn allowed_update(maintenance: bool, to: IncidentState) -> bool {
    if maintenance {
        matches!(
            to,
            IncidentState::Scheduled | IncidentState::InProgress | IncidentState::Completed
        )
    } else {
        matches!(
            to,
            IncidentState::Investigating
                | IncidentState::Identified
                | IncidentState::Monitoring
                | IncidentState::Resolved
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;

    fn region(online: i64, total: i64) -> RegionHealth {
        RegionHealth {
            gateways_online: online,
            gateways_total: total,
            ..RegionHealth::default()
        }
    }

    #[test]
    fn gateways_decide_a_regions_status() {
        let of = |online, total| automatic_status(region(online, total));
        assert_eq!(of(0, 0), None);
        assert_eq!(of(1, 1), Some(Operational));
        assert_eq!(of(3, 3), Some(Operational));
        assert_eq!(of(2, 3), Some(DegradedPerformance));
        assert_eq!(of(1, 2), Some(DegradedPerformance));
        assert_eq!(of(1, 3), Some(PartialOutage));
        assert_eq!(of(0, 3), Some(MajorOutage));
        assert_eq!(of(0, 1), Some(MajorOutage));
    }

    #[test]
    fn gateways_never_seen_are_no_outage() {
        let health = RegionHealth {
            gateways_online: 0,
            gateways_total: 0,
            gateways_not_yet_online: 2,
            ..RegionHealth::default()
        };
        assert_eq!(automatic_status(health), None);
        let health = RegionHealth {
            gateways_online: 1,
            gateways_total: 1,
            gateways_not_yet_online: 1,
            ..RegionHealth::default()
        };
        assert_eq!(automatic_status(health), Some(Operational));
    }

    #[test]
    fn full_quotas_degrade_a_healthy_region() {
        let health = |saturated, with_quota| RegionHealth {
            gateways_online: 2,
            gateways_total: 2,
            tenants_saturated: saturated,
            tenants_with_quota: with_quota,
            ..RegionHealth::default()
        };
        assert_eq!(automatic_status(health(0, 4)), Some(Operational));
        assert_eq!(automatic_status(health(1, 4)), Some(Operational));
        assert_eq!(automatic_status(health(2, 4)), Some(DegradedPerformance));
        assert_eq!(automatic_status(health(1, 1)), Some(DegradedPerformance));
        assert_eq!(automatic_status(health(0, 0)), Some(Operational));
    }

    #[test]
    fn overrides_beat_maintenance_which_beats_automatic() {
        let region = |automatic, operator_override| Basis::Region {
            automatic,
            operator_override,
        };
        assert_eq!(
            effective_status(region(Some(MajorOutage), None), false),
            Some((MajorOutage, StatusSource::Automatic))
        );
        assert_eq!(
            effective_status(region(Some(MajorOutage), None), true),
            Some((UnderMaintenance, StatusSource::Maintenance))
        );
        assert_eq!(
            effective_status(region(Some(Operational), Some(PartialOutage)), true),
            Some((PartialOutage, StatusSource::Operator))
        );
        assert_eq!(effective_status(region(None, None), true), None);
        assert_eq!(
            effective_status(region(None, Some(MajorOutage)), false),
            Some((MajorOutage, StatusSource::Operator))
        );
        assert_eq!(
            effective_status(Basis::Manual(Operational), true),
            Some((UnderMaintenance, StatusSource::Maintenance))
        );
        assert_eq!(
            effective_status(Basis::Manual(MajorOutage), true),
            Some((MajorOutage, StatusSource::Operator))
        );
    }

    #[test]
    fn maintenance_follows_its_window() {
        let state = |now, completed| maintenance_state(100, 200, completed, now);
        assert_eq!(state(50, None), IncidentState::Scheduled);
        assert_eq!(state(100, None), IncidentState::InProgress);
        assert_eq!(state(199, None), IncidentState::InProgress);
        assert_eq!(state(200, None), IncidentState::Completed);
        assert_eq!(state(150, Some(140)), IncidentState::Completed);
        assert_eq!(state(130, Some(140)), IncidentState::InProgress);
    }

    #[test]
    fn only_open_incidents_go_stale() {
        let hour = 60 * MINUTE_MS;
        assert!(is_stale(IncidentState::Identified, 0, hour, hour + 1));
        assert!(!is_stale(IncidentState::Identified, 0, hour, hour));
        assert!(!is_stale(IncidentState::Resolved, 0, hour, 10 * hour));
        assert!(!is_stale(IncidentState::Scheduled, 0, hour, 10 * hour));
        assert!(!is_stale(IncidentState::Completed, 0, hour, 10 * hour));
    }

    #[test]
    fn incidents_and_maintenance_have_their_own_states() {
        assert!(allowed_update(false, IncidentState::Monitoring));
        assert!(!allowed_update(false, IncidentState::Completed));
        assert!(allowed_update(true, IncidentState::Completed));
        assert!(!allowed_update(true, IncidentState::Resolved));
    }
}
