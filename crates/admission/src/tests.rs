use super::*;

fn quota(max: Option<u32>, priority: u32) -> Quota {
    Quota {
        max_sessions: max,
        priority_seats: priority,
    }
}

fn usage(total: u32, priority: u32) -> Usage {
    Usage { total, priority }
}

#[test]
fn unlimited_admits_everyone() {
    assert_eq!(decide(quota(None, 5), usage(10_000, 0), false), Ok(()));
}

#[test]
fn full_quota_refuses() {
    assert_eq!(decide(quota(Some(5), 0), usage(4, 0), false), Ok(()));
    assert_eq!(
        decide(quota(Some(5), 0), usage(5, 0), false),
        Err(Refusal::QuotaFull { max: 5 })
    );
    // After lowering the quota below use: still refused, nobody is cut.
    assert_eq!(
        decide(quota(Some(3), 0), usage(5, 0), true),
        Err(Refusal::QuotaFull { max: 3 })
    );
}

#[test]
fn priority_seats_are_kept_free_for_the_group() {
    let q = quota(Some(10), 2);
    // 7 ordinary sessions: 1 ordinary seat left, 2 reserved
    assert_eq!(decide(q, usage(7, 0), false), Ok(()));
    assert!(matches!(
        decide(q, usage(8, 0), false),
        Err(Refusal::ReservedForPriority { .. })
    ));
    assert_eq!(decide(q, usage(8, 0), true), Ok(()));
    // once the group uses its seats, the rest is shared again
    assert_eq!(decide(q, usage(8, 2), false), Ok(()));
    assert!(decide(q, usage(10, 2), true).is_err());
}

#[test]
fn refusal_messages_name_the_seats() {
    assert!(
        Refusal::QuotaFull { max: 50 }
            .message()
            .contains("all 50 VPN seats")
    );
}
