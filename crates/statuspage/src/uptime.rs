//! Daily uptime bars from recorded status changes.

use api_types::status::ComponentStatus;

use crate::DAY_MS;

/// One day of one component.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Day {
    /// Start of the day (UTC midnight, milliseconds).
    pub start: i64,
    /// The worst status the day saw; `None` before anything was recorded.
    pub worst: Option<ComponentStatus>,
    /// Share of the recorded time the component was up (maintenance counts
    /// as up: it was announced); `None` without any recorded time.
    pub up: Option<f64>,
}

/// The last `days` UTC days up to `now` from status changes `(at, status)`
/// sorted by time. Each status lasts until the next change (the last until
/// `now`); time before the first change is unknown, not counted as up.
pub fn daily(changes: &[(i64, ComponentStatus)], days: i64, now: i64) -> Vec<Day> {
    let today = now - now.rem_euclid(DAY_MS);
    let first_day = today - (days - 1) * DAY_MS;
    (0..days)
        .map(|index| {
            let start = first_day + index * DAY_MS;
            let end = (start + DAY_MS).min(now);
            let mut known = 0;
            let mut up = 0;
            let mut worst = None;
            for (position, &(at, status)) in changes.iter().enumerate() {
                let until = changes.get(position + 1).map_or(now, |next| next.0);
                let overlap = until.min(end) - at.max(start);
                // A change at the very start of the day still colours it.
                if overlap > 0 || (at >= start && at < end) {
                    worst = worst.max(Some(status));
                }
                if overlap > 0 {
                    known += overlap;
                    if status.is_up() {
                        up += overlap;
                    }
                }
            }
            Day {
                start,
                worst,
                up: (known > 0).then(|| ratio(up, known)),
            }
        })
        .collect()
}

/// Uptime over the whole period, from the same changes: recorded time up
/// divided by recorded time.
pub fn overall(days: &[Day]) -> Option<f64> {
    let known: Vec<f64> = days.iter().filter_map(|day| day.up).collect();
    if known.is_empty() {
        return None;
    }
    // Days weigh the same; the first partial day is rare and short.
    Some(known.iter().sum::<f64>() / known.len() as f64)
}

#[allow(clippy::cast_precision_loss)]
fn ratio(part: i64, whole: i64) -> f64 {
    part as f64 / whole as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;
    use proptest::prelude::*;

    const NOW: i64 = 100 * DAY_MS + DAY_MS / 2;

    #[test]
    fn nothing_recorded_is_unknown() {
        let days = daily(&[], 90, NOW);
        assert_eq!(days.len(), 90);
        assert!(
            days.iter()
                .all(|day| day.worst.is_none() && day.up.is_none())
        );
        assert_eq!(overall(&days), None);
        assert_eq!(days[89].start, 100 * DAY_MS);
    }

    #[test]
    fn an_outage_shows_on_its_day_only() {
        let changes = [
            (0, Operational),
            (99 * DAY_MS + DAY_MS / 4, MajorOutage),
            (99 * DAY_MS + DAY_MS / 2, Operational),
        ];
        let days = daily(&changes, 3, NOW);
        assert_eq!(days[0].worst, Some(Operational));
        assert_eq!(days[0].up, Some(1.0));
        assert_eq!(days[1].worst, Some(MajorOutage));
        assert_eq!(days[1].up, Some(0.75));
        assert_eq!(days[2].worst, Some(Operational));
        assert_eq!(days[2].up, Some(1.0));
        let total = overall(&days).unwrap();
        assert!((total - 2.75 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn maintenance_and_degradation_count_as_up() {
        let changes = [
            (0, UnderMaintenance),
            (NOW - DAY_MS / 4, DegradedPerformance),
        ];
        let days = daily(&changes, 1, NOW);
        assert_eq!(days[0].up, Some(1.0));
        assert_eq!(days[0].worst, Some(DegradedPerformance));
    }

    #[test]
    fn time_before_the_first_record_is_not_counted() {
        let changes = [(NOW - DAY_MS / 4, PartialOutage)];
        let days = daily(&changes, 2, NOW);
        assert_eq!(days[0].up, None);
        assert_eq!(days[1].up, Some(0.0));
    }

    proptest! {
        #[test]
        fn shares_stay_between_zero_and_one(
            mut steps in proptest::collection::vec((0..NOW, 0usize..5), 0..40)
        ) {
            steps.sort_by_key(|step| step.0);
            let changes: Vec<(i64, ComponentStatus)> = steps
                .into_iter()
                .map(|(at, index)| (at, ComponentStatus::ALL[index]))
                .collect();
            let days = daily(&changes, 90, NOW);
            prop_assert_eq!(days.len(), 90);
            for day in &days {
                if let Some(up) = day.up {
                    prop_assert!((0.0..=1.0).contains(&up));
                    prop_assert!(day.worst.is_some());
                }
            }
            if changes.iter().all(|(_, status)| status.is_up()) {
                prop_assert!(days.iter().all(|day| day.up.is_none_or(|up| up == 1.0)));
            }
        }
    }
}
