//! Issue 9, item 4: two `homegate serve` processes on one PostgreSQL, no
//! load balancer: gateways and the device client are given both URLs and
//! fail over. A change made on one replica reaches a gateway connected to
//! the other (LISTEN/NOTIFY); killing a replica (SIGKILL) loses no committed
//! change, leaves no gateway without a control plane for long, and does not
//! interrupt traffic. Times and the traffic gap are printed. Replicas and
//! gateways start as the Debian package starts them (issue 25, item 5): the
//! units' command lines with the packaged configuration filled in.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use api_types::auth::LoginRequest;
use api_types::tenancy::CreateGroup;
use client::Client;

use super::failover::{current_gateway, laptop_up, wait_for_gateway};
use super::{ECHO, blocking, lemgo_in_south_with_anna, wait_healthy};
use crate::cli::ServeProcess;
use crate::lab::{APP, Lab, relay, wait_until};
use crate::support::{ADMIN_PASSWORD, Backend, TestServer};

const REPLICAS: [&str; 2] = ["198.18.0.250", "198.18.0.251"];

async fn admin_of(url: &str) -> Client {
    let anonymous = Client::new(url, None).unwrap();
    let login = anonymous
        .login(&LoginRequest {
            username: "admin".into(),
            password: ADMIN_PASSWORD.into(),
            token_name: None,
        })
        .await
        .unwrap();
    anonymous.with_token(login.token.unwrap())
}

async fn version(server: &TestServer) -> f64 {
    let version: i64 = sqlx::query_scalar("SELECT version FROM config_version WHERE id = 1")
        .fetch_one(server.store.pool())
        .await
        .unwrap();
    version as f64
}

fn applied(lab: &Lab, g: usize) -> f64 {
    lab.gateway_metric(g, "homegate_gateway_config_version")
}

fn connected(lab: &Lab, g: usize) -> bool {
    lab.gateway_metric(g, "homegate_gateway_control_plane_connected") >= 1.0
}

/// Whether gateway `g` has connected to the replica at `ip` (its log says).
fn connected_to(lab: &Lab, g: usize, ip: &str) -> bool {
    lab.gateway_log(g)
        .lines()
        .any(|line| line.contains("connected to the control plane") && line.contains(ip))
}

async fn new_group(admin: &Client, name: &str) {
    admin
        .create_group(
            "lemgo",
            &CreateGroup {
                name: name.into(),
                description: None,
            },
        )
        .await
        .unwrap();
}

fn deploy_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/debian")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The packaged `/etc/homegate/homegate.toml` with what the HA recipe in
/// docs/operations.md sets: a data folder of the replica's own, the shared
/// PostgreSQL database, its public URL and every replica's URL.
fn packaged_config(
    dir: &std::path::Path,
    database: &str,
    public_url: &str,
    urls: &[String],
) -> String {
    let packaged = deploy_file("homegate.toml");
    let data_dir = format!("data_dir = {:?}", dir.display().to_string());
    let mut config = packaged.replace("data_dir = \"/var/lib/homegate\"", &data_dir);
    assert!(
        config.contains(&data_dir),
        "the packaged config sets data_dir"
    );
    // Two replicas on one host: each its own metrics port.
    let metrics = "metrics_listen = \"127.0.0.1:9590\"";
    assert!(
        config.contains(metrics),
        "the packaged config opens metrics"
    );
    config = config.replace(metrics, "metrics_listen = \"127.0.0.1:0\"");
    for key in ["listen", "public_url", "database", "control_plane_urls"] {
        assert!(
            packaged.contains(&format!("#{key} = ")),
            "the packaged config documents {key}"
        );
    }
    config.push_str(&format!(
        "\nlisten = \"127.0.0.1:0\"\npublic_url = {public_url:?}\ndatabase = {database:?}\n\
         control_plane_urls = {urls:?}\n"
    ));
    let path = dir.join("homegate.toml");
    std::fs::write(&path, config).unwrap();
    path.display().to_string()
}

/// `homegate.service`'s command line after `serve`, with the config moved.
fn packaged_serve_args(config: &str) -> Vec<String> {
    let unit = deploy_file("homegate.service");
    let exec_start = unit
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .expect("the control plane unit has an ExecStart");
    let words: Vec<&str> = exec_start.split_whitespace().collect();
    assert_eq!(words[..2], ["/usr/bin/homegate", "serve"], "{exec_start}");
    words[2..]
        .iter()
        .map(|word| match *word {
            "/etc/homegate/homegate.toml" => config.to_owned(),
            other => (*other).to_owned(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs root: network namespaces and TUN (cargo xtask test runs it)"]
async fn replica_kill_on_postgres() {
    let lab = blocking(|| Lab::standard(2, 1));
    // The test's own view of the database (setup and checks); the lab sees
    // only the two replica processes.
    let server = TestServer::start(Backend::Postgres).await;
    let work = tempfile::tempdir().unwrap();
    let urls: Vec<String> = REPLICAS
        .iter()
        .map(|ip| format!("http://{ip}:8080"))
        .collect();
    let mut replicas = Vec::new();
    let mut relays = Vec::new();
    for (i, ip) in REPLICAS.iter().enumerate() {
        lab.address("net", "br0", &format!("{ip}/24"));
        let dir = work.path().join(format!("replica{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        // Every replica seals secrets with the same key (docs/ha.md).
        let key = store::sealing::KEY_FILE;
        std::fs::copy(server.data_dir.path().join(key), dir.join(key)).unwrap();
        let config = packaged_config(&dir, &server.database_url, &urls[i], &urls);
        let args = packaged_serve_args(&config);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let replica = blocking(|| ServeProcess::start(&dir, &args, false));
        let local: SocketAddr = replica.url.trim_start_matches("http://").parse().unwrap();
        relays.push(relay(
            &lab.ns("net"),
            format!("{ip}:8080").parse().unwrap(),
            local,
        ));
        replicas.push(replica);
    }
    let replica_admins = [
        admin_of(&replicas[0].url).await,
        admin_of(&replicas[1].url).await,
    ];

    // Setup through replica A; gateway g1 prefers A, g2 prefers B.
    let a = &replica_admins[0];
    a.create_region(&api_types::infra::CreateRegion {
        name: "south".into(),
        description: None,
    })
    .await
    .unwrap();
    for g in 1..=2 {
        let created = a
            .create_gateway(&api_types::infra::CreateGateway {
                name: format!("g{g}"),
                region: "south".into(),
                endpoint: Some(format!("198.18.0.{g}:51820")),
            })
            .await
            .unwrap();
        let order: Vec<String> = if g == 1 {
            urls.clone()
        } else {
            urls.iter().rev().cloned().collect()
        };
        blocking(|| lab.start_packaged_gateway(g, &created.token, &order));
    }
    blocking(|| lab.start_apps(&[ECHO]));
    let anna = lemgo_in_south_with_anna(&server).await;
    for g in ["g1", "g2"] {
        assert!(
            wait_healthy(&server.admin, g).await.is_some(),
            "gateway {g} did not come up:\n{}",
            lab.gateway_log(1)
        );
    }
    assert!(connected_to(&lab, 1, REPLICAS[0]) && connected_to(&lab, 2, REPLICAS[1]));
    // Enrolled through replica A; the configuration names both.
    let laptop = laptop_up(&lab, &anna, "c1", &urls[0]).await;
    let stored = std::fs::read_to_string(laptop.join("device.toml")).unwrap();
    assert!(stored.contains(REPLICAS[1]), "{stored}");

    // 1. A change on replica A reaches g2, which is connected to B.
    new_group(a, "made-on-a").await;
    let wanted = version(&server).await;
    let reached = blocking(|| wait_until(Duration::from_secs(10), || applied(&lab, 2) >= wanted))
        .expect("a change on A never reached the gateway on B");
    eprintln!("change on replica A applied by the gateway on replica B after {reached:?}");
    assert!(reached < Duration::from_secs(1), "took {reached:?}");

    // 1b. The laptop moves between gateways held by different replicas: the
    // new gateway's replica tells the old gateway (through PostgreSQL) to end
    // the superseded session at once rather than at the end of its lease.
    let on = blocking(|| current_gateway(&laptop));
    let other = if on == "g1" { "g2" } else { "g1" };
    let old_index: usize = on[1..].parse().unwrap();
    a.drain_gateway(&on).await.unwrap();
    blocking(|| wait_for_gateway(&laptop, other, Duration::from_secs(30)))
        .expect("the laptop did not leave the drained gateway");
    let ended = blocking(|| {
        // Without the message the gateway would notice at its next renewal
        // (every 5 s) that the seat is no longer its.
        wait_until(Duration::from_secs(1), || {
            lab.gateway_metric(old_index, "homegate_gateway_sessions") == 0.0
        })
    });
    eprintln!("superseded session on the other replica's gateway ended after {ended:?}");
    assert!(
        ended.is_some(),
        "{on} still serves the laptop:\n{}",
        lab.gateway_log(old_index)
    );
    a.resume_gateway(&on).await.unwrap();

    // 2. Kill replica A right after a committed change, with traffic running.
    let stream = lab.stream("c1", APP, ECHO, 15.0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    new_group(a, "committed-before-kill").await;
    let killed = Instant::now();
    replicas[0].child.kill().unwrap();
    let _ = replicas[0].child.wait();
    let b = &replica_admins[1];
    let groups = b.list_groups("lemgo").await.unwrap();
    assert!(groups.iter().any(|g| g.name == "committed-before-kill"));
    let back = blocking(|| {
        wait_until(Duration::from_secs(20), || {
            connected(&lab, 1) && connected_to(&lab, 1, REPLICAS[1])
        })
    })
    .map(|_| killed.elapsed())
    .expect("g1 never reconnected to replica B");
    eprintln!("gateway of the killed replica connected to the other after {back:?}");
    assert!(
        back <= Duration::from_secs(10),
        "without a control plane for {back:?}"
    );
    // It gets configuration from B: a change there is applied.
    new_group(b, "made-on-b").await;
    let wanted = version(&server).await;
    let followed = blocking(|| wait_until(Duration::from_secs(10), || applied(&lab, 1) >= wanted));
    assert!(
        followed.is_some(),
        "g1 does not follow changes made on B (applied {}, wanted {wanted}):\n{}",
        applied(&lab, 1),
        lab.gateway_log(1)
    );
    let kill_gap = blocking(|| stream.finish());
    eprintln!(
        "replica kill: longest traffic gap {:.0} ms ({} of {} echoes answered)",
        kill_gap.max_gap_ms, kill_gap.received, kill_gap.sent
    );
    assert!(kill_gap.received > 0);

    // 3. The device client fails over too: draining its gateway through B
    // moves it, which it can only learn from B.
    let on = blocking(|| current_gateway(&laptop));
    let other = if on == "g1" { "g2" } else { "g1" };
    b.drain_gateway(&on).await.unwrap();
    let moved = blocking(|| wait_for_gateway(&laptop, other, Duration::from_secs(30)));
    eprintln!("device moved through replica B after {moved:?}");
    assert!(moved.is_some(), "the device did not follow replica B");

    for relay in relays {
        relay.abort();
    }
    drop(replicas);
    drop(lab);
    server.stop().await;
}
