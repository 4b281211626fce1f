use super::*;

const LEASE: Millis = 60_000;
const IDLE: Millis = 300_000;

#[test]
fn admission_round_trip() {
    let mut table = SessionTable::<&str>::default();
    let InitAction::Ask { request_id } = table.on_handshake_init(&"d1", 1_000) else {
        panic!("should ask");
    };
    assert_eq!(table.on_handshake_init(&"d1", 1_100), InitAction::Hold);
    assert!(table.on_admit_result(&"d1", request_id, true, LEASE, IDLE, 1_005));
    assert_eq!(table.on_handshake_init(&"d1", 2_000), InitAction::Pass);
}

#[test]
fn refused_devices_ask_again_on_their_next_handshake() {
    let mut table = SessionTable::<&str>::default();
    let InitAction::Ask { request_id } = table.on_handshake_init(&"d1", 0) else {
        panic!()
    };
    assert!(!table.on_admit_result(&"d1", request_id, false, LEASE, IDLE, 3));
    assert!(matches!(
        table.on_handshake_init(&"d1", 5_000),
        InitAction::Ask { .. }
    ));
}

#[test]
fn stale_answers_are_ignored() {
    let mut table = SessionTable::<&str>::default();
    let InitAction::Ask { request_id } = table.on_handshake_init(&"d1", 0) else {
        panic!()
    };
    assert!(!table.on_admit_result(&"d1", request_id + 7, true, LEASE, IDLE, 3));
    table.on_disconnect();
    assert!(!table.on_admit_result(&"d1", request_id, true, LEASE, IDLE, 3));
    assert!(!table.is_admitted(&"d1"));
}

#[test]
fn lease_counts_from_the_request_and_ends_early() {
    let mut table = SessionTable::<&str>::default();
    let InitAction::Ask { request_id } = table.on_handshake_init(&"d1", 10_000) else {
        panic!()
    };
    // The answer took 1 s; the deadline still counts from the request.
    assert!(table.on_admit_result(&"d1", request_id, true, LEASE, IDLE, 11_000));
    assert_eq!(table.poll_timeout(), Some(10_000 + LEASE - LEASE_MARGIN));
    table.on_activity(&"d1", 60_000);
    assert!(table.handle_timeout(67_999).is_empty());
    assert_eq!(
        table.handle_timeout(68_000),
        vec![("d1", EndReason::LeaseLapsed)]
    );
}

#[test]
fn renewals_extend_and_lost_seats_end() {
    let mut table = SessionTable::<&str>::default();
    for (key, at) in [("a", 0), ("b", 0)] {
        let InitAction::Ask { request_id } = table.on_handshake_init(&key, at) else {
            panic!()
        };
        assert!(table.on_admit_result(&key, request_id, true, LEASE, IDLE, at));
    }
    let listed = table.renewal_request(30_000);
    assert_eq!(listed, vec!["a", "b"]);
    let lost = table.on_renewed(&listed, &["a"], LEASE);
    assert_eq!(lost, vec!["b"]);
    assert!(table.is_admitted(&"a"));
    assert!(!table.is_admitted(&"b"));
    table.on_activity(&"a", 80_000);
    assert!(
        table.handle_timeout(85_000).is_empty(),
        "renewed until 88 s"
    );
}

#[test]
fn idle_sessions_end() {
    let mut table = SessionTable::<&str>::default();
    let InitAction::Ask { request_id } = table.on_handshake_init(&"d", 0) else {
        panic!()
    };
    assert!(table.on_admit_result(&"d", request_id, true, 10 * IDLE, 1_000, 0));
    table.on_activity(&"d", 500);
    assert!(table.handle_timeout(1_499).is_empty());
    assert_eq!(table.handle_timeout(1_500), vec![("d", EndReason::Idle)]);
}
