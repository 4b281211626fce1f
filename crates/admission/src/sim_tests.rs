//! Simulation of the admission protocol: one control plane with its ledger,
//! several gateways with their session tables, FIFO links with delays that
//! may drop everything in flight (disconnects, restarts), devices racing for
//! seats, quota changes, admin ends and device moves. Every random
//! interleaving must keep the invariants.

use std::collections::{BTreeSet, VecDeque};

use proptest::prelude::*;

use crate::ledger::{Grant, Ledger};
use crate::sessions::{InitAction, SessionTable};
use crate::{Millis, Quota};

const TENANT: &str = "t";
const LEASE: Millis = 20_000;
const IDLE: Millis = 15_000;
const DEVICES: usize = 12;
const GATEWAYS: usize = 3;
const PRIORITY_DEVICES: usize = 2;

#[derive(Debug, Clone)]
enum ToCp {
    Admit { request_id: u64, device: String },
    Report { sessions: Vec<String> },
    Ended { device: String },
}

#[derive(Debug, Clone)]
enum ToGw {
    AdmitResult {
        request_id: u64,
        device: String,
        admitted: bool,
    },
    Renewed {
        requested: Vec<String>,
        renewed: Vec<String>,
    },
    End {
        device: String,
    },
}

#[derive(Debug)]
struct Link<M> {
    queue: VecDeque<(Millis, M)>,
}

impl<M> Default for Link<M> {
    fn default() -> Self {
        Link {
            queue: VecDeque::new(),
        }
    }
}

impl<M> Link<M> {
    fn send(&mut self, now: Millis, delay: Millis, message: M) {
        // FIFO: never overtake what is already on the wire.
        let at = self
            .queue
            .back()
            .map_or(now + delay, |(last, _)| (*last).max(now + delay));
        self.queue.push_back((at, message));
    }

    fn due(&mut self, now: Millis) -> Option<M> {
        if self.queue.front().is_some_and(|(at, _)| *at <= now) {
            self.queue.pop_front().map(|(_, m)| m)
        } else {
            None
        }
    }
}

#[derive(Debug, Default)]
struct Gateway {
    table: SessionTable<String>,
    connected: bool,
    up: Link<ToCp>,
    down: Link<ToGw>,
}

struct World {
    now: Millis,
    ledger: Ledger,
    gateways: Vec<Gateway>,
    delay: Millis,
    quota_only_grows: bool,
    max: u32,
    /// Largest quota ever set, for the bound when quotas only grow.
    admissions_checked: usize,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Handshake { device: usize, gateway: usize },
    Advance { millis: Millis },
    Deliver,
    Report { gateway: usize },
    Activity { device: usize },
    Disconnect { gateway: usize },
    Reconnect { gateway: usize },
    CrashGateway { gateway: usize },
    RestartControlPlane,
    SetQuota { max: u32 },
    AdminEnd { device: usize },
}

fn device_name(index: usize) -> String {
    format!("d{index}")
}

impl World {
    fn new(max: u32, quota_only_grows: bool, delay: Millis) -> World {
        let mut ledger = Ledger::default();
        ledger.set_quota(
            TENANT,
            Quota {
                max_sessions: Some(max),
                priority_seats: 1,
            },
        );
        let gateways = (0..GATEWAYS)
            .map(|_| Gateway {
                connected: true,
                ..Gateway::default()
            })
            .collect();
        World {
            now: 0,
            ledger,
            gateways,
            delay,
            quota_only_grows,
            max,
            admissions_checked: 0,
        }
    }

    fn gateway_name(index: usize) -> String {
        format!("g{index}")
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Handshake { device, gateway } => {
                let name = device_name(device);
                let now = self.now;
                let delay = self.delay;
                let g = &mut self.gateways[gateway];
                if let InitAction::Ask { request_id } = g.table.on_handshake_init(&name, now)
                    && g.connected
                {
                    g.up.send(
                        now,
                        delay,
                        ToCp::Admit {
                            request_id,
                            device: name,
                        },
                    );
                }
            }
            Op::Advance { millis } => self.now += millis,
            Op::Deliver => self.deliver(),
            Op::Report { gateway } => {
                let now = self.now;
                let delay = self.delay;
                let g = &mut self.gateways[gateway];
                if g.connected {
                    let sessions = g.table.renewal_request(now);
                    g.up.send(now, delay, ToCp::Report { sessions });
                }
            }
            Op::Activity { device } => {
                let now = self.now;
                for g in &mut self.gateways {
                    g.table.on_activity(&device_name(device), now);
                }
            }
            Op::Disconnect { gateway } => self.disconnect(gateway),
            Op::Reconnect { gateway } => {
                let now = self.now;
                let delay = self.delay;
                let g = &mut self.gateways[gateway];
                if !g.connected {
                    g.connected = true;
                    // Hello lists the sessions, which renews their seats.
                    let sessions = g.table.renewal_request(now);
                    g.up.send(now, delay, ToCp::Report { sessions });
                }
            }
            Op::CrashGateway { gateway } => {
                self.disconnect(gateway);
                self.gateways[gateway].table = SessionTable::default();
            }
            Op::RestartControlPlane => {
                for gateway in 0..GATEWAYS {
                    self.disconnect(gateway);
                }
            }
            Op::SetQuota { max } => {
                let max = if self.quota_only_grows {
                    max.max(self.max)
                } else {
                    max
                };
                self.max = max;
                self.ledger.set_quota(
                    TENANT,
                    Quota {
                        max_sessions: Some(max),
                        priority_seats: 1,
                    },
                );
            }
            Op::AdminEnd { device } => {
                let told = self.ledger.end(TENANT, &device_name(device), self.now);
                for gateway in told {
                    let index: usize = gateway[1..].parse().unwrap();
                    let (now, delay) = (self.now, self.delay);
                    let g = &mut self.gateways[index];
                    if g.connected {
                        g.down.send(
                            now,
                            delay,
                            ToGw::End {
                                device: device_name(device),
                            },
                        );
                    }
                }
            }
        }
        self.timeouts();
    }

    fn disconnect(&mut self, gateway: usize) {
        let g = &mut self.gateways[gateway];
        g.connected = false;
        g.up.queue.clear();
        g.down.queue.clear();
        g.table.on_disconnect();
    }

    fn timeouts(&mut self) {
        let now = self.now;
        let delay = self.delay;
        for g in &mut self.gateways {
            for (device, _reason) in g.table.handle_timeout(now) {
                if g.connected {
                    g.up.send(now, delay, ToCp::Ended { device });
                }
            }
            g.table.take_lapsed_requests(now);
        }
    }

    fn deliver(&mut self) {
        let now = self.now;
        let delay = self.delay;
        for index in 0..GATEWAYS {
            let gateway = Self::gateway_name(index);
            while let Some(message) = self.gateways[index].up.due(now) {
                match message {
                    ToCp::Admit { request_id, device } => {
                        let priority = device_name_index(&device) < PRIORITY_DEVICES;
                        let before = self.ledger.usage(TENANT, now);
                        let had_seat = (0..GATEWAYS).any(|g| {
                            self.ledger
                                .holding(TENANT, &device, &Self::gateway_name(g), now)
                                .is_some()
                        });
                        let grant = self
                            .ledger
                            .admit(TENANT, &device, &gateway, priority, LEASE, now);
                        let admitted = matches!(grant, Grant::Admitted { .. });
                        if admitted && !had_seat {
                            // A new seat is only ever taken below the quota.
                            assert!(before.total < self.max, "admitted above quota: {before:?}");
                            self.admissions_checked += 1;
                        }
                        if let Grant::Admitted { supersedes } = &grant {
                            for old in supersedes {
                                let old_index: usize = old[1..].parse().unwrap();
                                if self.gateways[old_index].connected {
                                    self.gateways[old_index].down.send(
                                        now,
                                        delay,
                                        ToGw::End {
                                            device: device.clone(),
                                        },
                                    );
                                }
                            }
                        }
                        self.gateways[index].down.send(
                            now,
                            delay,
                            ToGw::AdmitResult {
                                request_id,
                                device,
                                admitted,
                            },
                        );
                    }
                    ToCp::Report { sessions } => {
                        let keys: Vec<(String, String)> = sessions
                            .iter()
                            .map(|d| (TENANT.to_owned(), d.clone()))
                            .collect();
                        let renewed = self
                            .ledger
                            .renew(&gateway, &keys, LEASE, now)
                            .into_iter()
                            .map(|(_, d)| d)
                            .collect();
                        self.gateways[index].down.send(
                            now,
                            delay,
                            ToGw::Renewed {
                                requested: sessions,
                                renewed,
                            },
                        );
                    }
                    ToCp::Ended { device } => self.ledger.release(&gateway, TENANT, &device),
                }
            }
        }
        for index in 0..GATEWAYS {
            while let Some(message) = self.gateways[index].down.due(now) {
                let g = &mut self.gateways[index];
                match message {
                    ToGw::AdmitResult {
                        request_id,
                        device,
                        admitted,
                    } => {
                        g.table
                            .on_admit_result(&device, request_id, admitted, LEASE, IDLE, now);
                    }
                    ToGw::Renewed { requested, renewed } => {
                        for device in g.table.on_renewed(&requested, &renewed, LEASE) {
                            g.up.send(now, delay, ToCp::Ended { device });
                        }
                    }
                    ToGw::End { device } => {
                        if g.table.end(&device) {
                            g.up.send(now, delay, ToCp::Ended { device });
                        }
                    }
                }
            }
        }
    }

    fn check(&self) {
        // Containment: a gateway only serves a device while the ledger holds
        // a seat for it on that gateway, lasting at least as long.
        let mut serving = BTreeSet::new();
        for (index, g) in self.gateways.iter().enumerate() {
            for device in g.table.keys() {
                let holding =
                    self.ledger
                        .holding(TENANT, device, &Self::gateway_name(index), self.now);
                assert!(
                    holding.is_some(),
                    "g{index} serves {device} at {} without a seat",
                    self.now
                );
                serving.insert(device.clone());
            }
        }
        // The ledger counts every device in session somewhere.
        let usage = self.ledger.usage(TENANT, self.now);
        assert!(serving.len() as u32 <= usage.total);
        if self.quota_only_grows {
            assert!(
                usage.total <= self.max,
                "{} seats in use with quota {}",
                usage.total,
                self.max
            );
        }
    }
}

fn device_name_index(name: &str) -> usize {
    name[1..].parse().unwrap()
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..DEVICES, 0..GATEWAYS).prop_map(|(device, gateway)| Op::Handshake { device, gateway }),
        4 => (1u64..4_000).prop_map(|millis| Op::Advance { millis }),
        6 => Just(Op::Deliver),
        3 => (0..GATEWAYS).prop_map(|gateway| Op::Report { gateway }),
        3 => (0..DEVICES).prop_map(|device| Op::Activity { device }),
        1 => (0..GATEWAYS).prop_map(|gateway| Op::Disconnect { gateway }),
        2 => (0..GATEWAYS).prop_map(|gateway| Op::Reconnect { gateway }),
        1 => (0..GATEWAYS).prop_map(|gateway| Op::CrashGateway { gateway }),
        1 => Just(Op::RestartControlPlane),
        1 => (0u32..8).prop_map(|max| Op::SetQuota { max }),
        1 => (0..DEVICES).prop_map(|device| Op::AdminEnd { device }),
    ]
}

fn run(ops: Vec<Op>, quota_only_grows: bool, delay: Millis) -> usize {
    let mut world = World::new(3, quota_only_grows, delay);
    for op in ops {
        world.apply(op);
        world.check();
    }
    world.admissions_checked
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn never_more_sessions_than_seats_when_quotas_grow(
        ops in proptest::collection::vec(op(), 1..300),
        delay in 0u64..3_000,
    ) {
        run(ops, true, delay);
    }

    #[test]
    fn gateways_never_serve_without_a_seat_under_any_quota_changes(
        ops in proptest::collection::vec(op(), 1..300),
        delay in 0u64..3_000,
    ) {
        run(ops, false, delay);
    }
}

/// The simulation does exercise admissions and refusals (guards against a
/// test that passes because nothing happens).
#[test]
fn simulation_admits_and_refuses() {
    let mut world = World::new(2, true, 10);
    for device in 0..5 {
        world.apply(Op::Handshake {
            device: device + PRIORITY_DEVICES,
            gateway: device % GATEWAYS,
        });
    }
    world.apply(Op::Advance { millis: 20 });
    world.apply(Op::Deliver);
    world.apply(Op::Advance { millis: 20 });
    world.apply(Op::Deliver);
    world.check();
    let in_session: usize = world.gateways.iter().map(|g| g.table.len()).sum();
    // 2 seats, one reserved for priority devices: one ordinary device gets in.
    assert_eq!(in_session, 1);
    assert_eq!(world.admissions_checked, 1);
    world.apply(Op::SetQuota { max: 10 });
    for device in 0..5 {
        world.apply(Op::Handshake {
            device: device + PRIORITY_DEVICES,
            gateway: device % GATEWAYS,
        });
    }
    world.apply(Op::Advance { millis: 20 });
    world.apply(Op::Deliver);
    world.apply(Op::Advance { millis: 20 });
    world.apply(Op::Deliver);
    let in_session: usize = world.gateways.iter().map(|g| g.table.len()).sum();
    assert_eq!(
        in_session, 5,
        "lifting the quota lets the refused devices in on retry"
    );
}
