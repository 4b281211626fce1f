//! Issue 4's benchmark, and a check of the same paths: how long a gateway
//! waits for the control plane's admission decision (the time a device's
//! first handshake is held), and how long a quota change takes to act on
//! gateways. Two gateways connect over the real stream with the gateway's
//! own link code; devices are registered through the API.
//!
//! The timings are printed, never asserted (BENCHMARKS.md has the method
//! and numbers). `HOMEGATE_BENCH_DEVICES` sets how many devices (default 60,
//! enough to check the behaviour quickly in CI).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use api_types::gateway::{FromGateway, ToGateway};
use api_types::infra::{CreateGateway, CreateRegion};
use api_types::tenancy::{CreateDevice, CreateTenant, DeviceKind, SetQuota};
use gateway::link::LinkEvent;
use tokio::sync::mpsc;

use crate::support::{Backend, TestServer, public_key};

const TENANT: &str = "bench";

/// One connected gateway, driven by hand.
struct Gateway {
    outbox: mpsc::UnboundedSender<FromGateway>,
    events: mpsc::Receiver<LinkEvent>,
    task: tokio::task::JoinHandle<()>,
    next_request: u64,
}

impl Gateway {
    async fn connect(server: &TestServer, name: &str) -> Gateway {
        let created = server
            .admin
            .create_gateway(&CreateGateway {
                name: name.into(),
                region: "bench".into(),
                endpoint: Some("198.18.0.1:51820".into()),
            })
            .await
            .unwrap();
        let (tx, mut events) = mpsc::channel(1024);
        let url = url::Url::parse(&format!("{}/", server.url)).unwrap();
        let task = tokio::spawn(gateway::link::run(vec![url], created.token, tx));
        let outbox = loop {
            match events.recv().await.unwrap() {
                LinkEvent::Connected { outbox, .. } => break outbox,
                LinkEvent::Disconnected { reason } => panic!("{reason}"),
                LinkEvent::Message(_) => {}
            }
        };
        outbox
            .send(FromGateway::Hello {
                public_key: public_key(),
                listen_port: 51820,
                endpoint: None,
                version: 0,
                sessions: vec![],
                stream: api_types::gateway::STREAM_VERSION,
            })
            .unwrap();
        let mut gateway = Gateway {
            outbox,
            events,
            task,
            next_request: 0,
        };
        gateway
            .wait_for(|m| matches!(m, ToGateway::Config(_)).then_some(()))
            .await;
        gateway
    }

    async fn wait_for<T>(&mut self, mut wanted: impl FnMut(&ToGateway) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .expect("no answer from the control plane in 30 s")
                .expect("link stopped");
            match event {
                LinkEvent::Message(message) => {
                    if let Some(found) = wanted(&message) {
                        return found;
                    }
                }
                LinkEvent::Disconnected { reason } => panic!("disconnected: {reason}"),
                LinkEvent::Connected { .. } => panic!("reconnected"),
            }
        }
    }

    fn ask(&mut self, key: &str) -> u64 {
        self.next_request += 1;
        self.outbox
            .send(FromGateway::Admit {
                request_id: self.next_request,
                public_key: key.to_owned(),
            })
            .unwrap();
        self.next_request
    }

    /// Asks to admit `key`; returns the decision and how long it took.
    async fn admit(&mut self, key: &str) -> (bool, Duration) {
        let started = Instant::now();
        let id = self.ask(key);
        let admitted = self
            .wait_for(|m| match m {
                ToGateway::AdmitResult {
                    request_id,
                    admitted,
                    ..
                } if *request_id == id => Some(*admitted),
                _ => None,
            })
            .await;
        (admitted, started.elapsed())
    }

    /// Waits for the answers to `asked`, which come in any order; all must
    /// admit. Returns the time from `started` to each answer.
    async fn answers(&mut self, mut asked: HashSet<u64>, started: Instant) -> Vec<Duration> {
        let mut times = Vec::new();
        while !asked.is_empty() {
            let (id, admitted) = self
                .wait_for(|m| match m {
                    ToGateway::AdmitResult {
                        request_id,
                        admitted,
                        ..
                    } if asked.contains(request_id) => Some((*request_id, *admitted)),
                    _ => None,
                })
                .await;
            assert!(admitted, "request {id} refused");
            asked.remove(&id);
            times.push(started.elapsed());
        }
        times
    }

    /// Waits for the answers to `asked` (request id -> device index):
    /// `(device, admitted, undecided)` each.
    async fn decisions(
        &mut self,
        mut asked: std::collections::HashMap<u64, usize>,
    ) -> Vec<(usize, bool, bool)> {
        let mut answers = Vec::new();
        while !asked.is_empty() {
            let answer = self
                .wait_for(|m| match m {
                    ToGateway::AdmitResult {
                        request_id,
                        admitted,
                        undecided,
                        ..
                    } if asked.contains_key(request_id) => {
                        Some((*request_id, *admitted, *undecided))
                    }
                    _ => None,
                })
                .await;
            let (id, admitted, undecided) = answer;
            if let Some(device) = asked.remove(&id) {
                answers.push((device, admitted, undecided));
            }
        }
        answers
    }

    fn end(&self, key: &str) {
        self.outbox
            .send(FromGateway::SessionEnded {
                public_key: key.to_owned(),
                reason: "benchmark".into(),
            })
            .unwrap();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        samples.len(),
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 99.0)),
        ms(percentile(&samples, 100.0)),
    );
}

/// The region "bench" and the tenant with `max_sessions` seats.
async fn bench_tenant(server: &TestServer, max_sessions: u32) {
    server
        .admin
        .create_region(&CreateRegion {
            name: "bench".into(),
            description: None,
        })
        .await
        .unwrap();
    server
        .admin
        .create_tenant(&CreateTenant {
            slug: TENANT.into(),
            name: "Gemeinde Benchstadt".into(),
            default_language: None,
            address_pool: "10.60.0.0/16".into(),
            region: Some("bench".into()),
            max_sessions: Some(max_sessions),
            max_devices: None,
        })
        .await
        .unwrap();
}

async fn quota(server: &TestServer, max: u32, end_newest: bool) {
    server
        .admin
        .set_quota(
            TENANT,
            &SetQuota {
                max_sessions: Some(Some(max)),
                max_devices: None,
                end_newest_sessions: end_newest,
            },
        )
        .await
        .unwrap();
}

async fn admission_and_quota_changes(backend: Backend) {
    let devices: usize = std::env::var("HOMEGATE_BENCH_DEVICES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(60);
    let server = TestServer::start(backend).await;
    let admin = &server.admin;
    bench_tenant(&server, u32::try_from(devices).unwrap()).await;
    let mut keys = Vec::new();
    for i in 0..devices {
        let key = public_key();
        admin
            .create_device(
                TENANT,
                &CreateDevice {
                    name: format!("laptop-{i}"),
                    owner: None,
                    kind: DeviceKind::Laptop,
                    public_key: key.clone(),
                },
            )
            .await
            .unwrap();
        keys.push(key);
    }
    let mut gateways = [
        Gateway::connect(&server, "gw-a").await,
        Gateway::connect(&server, "gw-b").await,
    ];

    // 1. One handshake at a time, alternating gateways: the added latency.
    let mut one_by_one = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let (admitted, took) = gateways[i % 2].admit(key).await;
        assert!(admitted, "device {i} within the quota was refused");
        one_by_one.push(took);
    }
    let (again, _) = gateways[0].admit(&keys[0]).await;
    assert!(
        again,
        "a device in session keeps its seat when it asks again"
    );

    // 2. Everyone at once (say, 8:00 on Monday): all released, then every
    // device asks in one burst, spread over both gateways.
    for (i, key) in keys.iter().enumerate() {
        gateways[i % 2].end(key);
    }
    quota(&server, u32::try_from(devices).unwrap(), false).await;
    let started = Instant::now();
    let mut asked = [HashSet::new(), HashSet::new()];
    for (i, key) in keys.iter().enumerate() {
        asked[i % 2].insert(gateways[i % 2].ask(key));
    }
    let [a, b] = &mut gateways;
    let [asked_a, asked_b] = asked;
    let (mut burst, on_b) = tokio::join!(a.answers(asked_a, started), b.answers(asked_b, started));
    burst.extend(on_b);

    // 3. Quota raised: the refused device gets in on its next try, on the
    // other gateway. Measured from the API call to the admission.
    let extra = public_key();
    admin
        .create_device(
            TENANT,
            &CreateDevice {
                name: "late".into(),
                owner: None,
                kind: DeviceKind::Laptop,
                public_key: extra.clone(),
            },
        )
        .await
        .unwrap();
    let (admitted, _) = gateways[0].admit(&extra).await;
    assert!(!admitted, "the tenant is full");
    let started = Instant::now();
    quota(&server, u32::try_from(devices + 1).unwrap(), false).await;
    let (admitted, _) = gateways[1].admit(&extra).await;
    assert!(admitted, "raising the quota let the refused device in");
    let raise = started.elapsed();

    // 4. Quota lowered with "end the newest sessions": from the API call to
    // the gateway being told to end a session.
    let mut lower = Vec::new();
    let rounds = devices.min(20);
    for round in 1..=rounds {
        let started = Instant::now();
        quota(&server, u32::try_from(devices + 1 - round).unwrap(), true).await;
        // The newest session may sit on either gateway.
        let [a, b] = &mut gateways;
        let told = |m: &ToGateway| matches!(m, ToGateway::EndSession { .. }).then_some(());
        tokio::select! {
            () = a.wait_for(told) => {}
            () = b.wait_for(told) => {}
        }
        lower.push(started.elapsed());
    }

    println!("\nadmission benchmark on {backend:?}, {devices} devices, 2 gateways");
    summary("  admit, one at a time (handshake held)", one_by_one);
    summary("  admit, all at once (time to each answer)", burst);
    println!(
        "  quota raised -> refused device admitted on the other gateway: {:.2} ms",
        raise.as_secs_f64() * 1000.0
    );
    summary("  quota lowered (end newest) -> gateway told", lower);

    for gateway in gateways {
        gateway.task.abort();
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_benchmark_sqlite() {
    admission_and_quota_changes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_benchmark_postgres() {
    admission_and_quota_changes(Backend::Postgres).await;
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Issue 19 item 5, 8:00 on Monday: every device of `tenants` tenants asks
/// at once, spread over two gateways; each tenant's quota is three quarters
/// of its devices. Undecided answers ("busy") are asked again at once, as
/// gateways do on the device's next handshake. Measures the time until
/// every device has its decision and checks that each tenant got exactly
/// its quota. `HOMEGATE_BENCH_TENANTS` and `HOMEGATE_BENCH_TENANT_DEVICES`
/// set the shape (defaults 2 × 40, quick enough for CI).
async fn monday_morning(backend: Backend) {
    let tenants = env_or("HOMEGATE_BENCH_TENANTS", 2);
    let per_tenant = env_or("HOMEGATE_BENCH_TENANT_DEVICES", 40);
    let quota_each = per_tenant * 3 / 4;
    let server = TestServer::start(backend).await;
    let admin = &server.admin;
    admin
        .create_region(&CreateRegion {
            name: "bench".into(),
            description: None,
        })
        .await
        .unwrap();
    let registering = Instant::now();
    // (tenant, key) of every device.
    let mut devices: Vec<(String, String)> = Vec::new();
    for t in 0..tenants {
        let slug = format!("monday{t}");
        admin
            .create_tenant(&CreateTenant {
                slug: slug.clone(),
                name: format!("Gemeinde {t}"),
                default_language: None,
                address_pool: format!("10.{}.0.0/16", 100 + t),
                region: Some("bench".into()),
                max_sessions: Some(u32::try_from(quota_each).unwrap()),
                max_devices: None,
            })
            .await
            .unwrap();
        let keys: Vec<String> = (0..per_tenant).map(|_| public_key()).collect();
        use futures::StreamExt;
        futures::stream::iter(keys.iter().enumerate())
            .map(|(i, key)| {
                let slug = &slug;
                async move {
                    admin
                        .create_device(
                            slug,
                            &CreateDevice {
                                name: format!("laptop-{i}"),
                                owner: None,
                                kind: DeviceKind::Laptop,
                                public_key: key.clone(),
                            },
                        )
                        .await
                }
            })
            .buffer_unordered(8)
            .for_each(|created| async move {
                created.unwrap();
            })
            .await;
        devices.extend(keys.into_iter().map(|key| (slug.clone(), key)));
    }
    let registered = registering.elapsed();
    let mut gateways = [
        Gateway::connect(&server, "gw-a").await,
        Gateway::connect(&server, "gw-b").await,
    ];

    // Interleave the tenants, as their employees arrive together.
    let mut order: Vec<usize> = (0..devices.len()).collect();
    order.sort_by_key(|&i| (i % per_tenant, i / per_tenant));
    let started = Instant::now();
    let mut admitted = vec![false; devices.len()];
    let mut pending = order;
    let mut rounds = 0;
    let mut last_answer = Duration::ZERO;
    while !pending.is_empty() {
        rounds += 1;
        let mut asked = [
            std::collections::HashMap::new(),
            std::collections::HashMap::new(),
        ];
        for (n, &device) in pending.iter().enumerate() {
            let id = gateways[n % 2].ask(&devices[device].1);
            asked[n % 2].insert(id, device);
        }
        let [a, b] = &mut gateways;
        let [asked_a, asked_b] = asked;
        let (mut answers, on_b) = tokio::join!(a.decisions(asked_a), b.decisions(asked_b));
        answers.extend(on_b);
        last_answer = started.elapsed();
        pending = Vec::new();
        for (device, yes, undecided) in answers {
            if undecided {
                pending.push(device);
            } else {
                admitted[device] = yes;
            }
        }
        assert!(rounds < 100, "{} devices never decided", pending.len());
    }

    // Exact: every tenant got its quota, no seat more or less.
    for t in 0..tenants {
        let slug = format!("monday{t}");
        let in_tenant = devices
            .iter()
            .zip(&admitted)
            .filter(|((tenant, _), yes)| *tenant == slug && **yes)
            .count();
        assert_eq!(in_tenant, quota_each, "{slug}: admitted");
        let sessions = admin.list_sessions(&slug).await.unwrap();
        assert_eq!(
            sessions.in_use,
            u32::try_from(quota_each).unwrap(),
            "{slug}: seats held"
        );
    }
    println!(
        "\nmonday morning on {backend:?}: {tenants} tenants x {per_tenant} devices \
         (quota {quota_each} each), 2 gateways: registered in {:.1} s; all {} decided in \
         {:.2} s over {rounds} round(s); admitted exactly {} per tenant",
        registered.as_secs_f64(),
        devices.len(),
        last_answer.as_secs_f64(),
        quota_each,
    );
    for gateway in gateways {
        gateway.task.abort();
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monday_morning_sqlite() {
    monday_morning(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monday_morning_postgres() {
    monday_morning(Backend::Postgres).await;
}

/// An admission that cannot be decided before the gateway gives up is
/// answered "busy" and takes no seat (here every decision is too late).
async fn late_admissions_are_shed(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    server
        .configure(|settings| settings.admission_deadline = Duration::ZERO)
        .await;
    let admin = &server.admin;
    bench_tenant(&server, 5).await;
    let key = public_key();
    admin
        .create_device(
            TENANT,
            &CreateDevice {
                name: "laptop".into(),
                owner: None,
                kind: DeviceKind::Laptop,
                public_key: key.clone(),
            },
        )
        .await
        .unwrap();
    let mut gateway = Gateway::connect(&server, "gw-a").await;
    let id = gateway.ask(&key);
    let (admitted, reason, undecided) = gateway
        .wait_for(|m| match m {
            ToGateway::AdmitResult {
                request_id,
                admitted,
                reason,
                undecided,
                ..
            } if *request_id == id => Some((*admitted, reason.clone(), *undecided)),
            _ => None,
        })
        .await;
    assert!(!admitted, "a decision made too late must not admit");
    assert!(undecided, "busy is not a refusal for the quota");
    assert!(
        reason.as_deref().is_some_and(|r| r.contains("busy")),
        "{reason:?}"
    );
    let sessions = admin.list_sessions(TENANT).await.unwrap();
    assert_eq!(sessions.in_use, 0, "no seat taken: {:?}", sessions.sessions);
    gateway.task.abort();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_admissions_are_shed_sqlite() {
    late_admissions_are_shed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_admissions_are_shed_postgres() {
    late_admissions_are_shed(Backend::Postgres).await;
}
