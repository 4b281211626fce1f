//! Issue 4: twenty wireguard-go devices of one municipality race for five
//! seats on two gateways. Never more than five get in, counted from the
//! gateways' own WireGuard state; lifting the quota lets all in on their
//! next retry; another municipality is unaffected.

use std::time::{Duration, Instant};

use api_types::auth::CreateToken;
use api_types::tenancy::{Protocol, SetQuota};

use super::{Fixture, blocking, device, tenant_with_apps};
use crate::lab::wg::{KeyPair, WgConfig, WgPeer};
use crate::lab::{APP, wait_until};

const DEVICES: usize = 20;
const QUOTA: u32 = 5;

fn sessions(fixture: &Fixture) -> (f64, f64) {
    let lab = &fixture.lab;
    let table: f64 = (1..=2)
        .map(|g| lab.gateway_metric(g, "homegate_gateway_sessions"))
        .sum();
    let wireguard: f64 = (1..=2)
        .map(|g| lab.gateway_metric(g, "homegate_gateway_peers_with_session"))
        .sum();
    (table, wireguard)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs root: network namespaces and TUN (cargo xtask test runs it)"]
async fn twenty_devices_race_for_five_seats_on_two_gateways() {
    let fixture = Fixture::start(2, 2).await;
    let (lab, server) = (&fixture.lab, &fixture.server);
    blocking(|| lab.start_apps(&[7000]));
    tenant_with_apps(server, "lemgo", "10.20.0.0/16", "office", &["anna"], &[]).await;
    tenant_with_apps(
        server,
        "detmold",
        "10.30.0.0/16",
        "staff",
        &["bob"],
        &[("erp", Protocol::Tcp, 7000)],
    )
    .await;
    server
        .admin
        .set_quota(
            "lemgo",
            &SetQuota {
                max_sessions: Some(Some(QUOTA)),
                max_devices: None,
                end_newest_sessions: false,
            },
        )
        .await
        .unwrap();

    let mut peers = Vec::new();
    let mut targets = Vec::new();
    for i in 0..DEVICES {
        let keys = KeyPair::generate();
        let created = device(
            server,
            "lemgo",
            "anna",
            &format!("laptop-{i}"),
            &keys.public,
        )
        .await;
        let gateway = i % 2;
        let target = format!("198.18.200.{}", i + 1);
        let peer = blocking(|| {
            WgPeer::start(
                lab,
                "c1",
                WgConfig {
                    name: &format!("q{i}"),
                    keys,
                    address: created.tunnel_address.as_deref().unwrap(),
                    gateway_public_key: &fixture.gateway_keys[gateway],
                    endpoint: &format!("198.18.0.{}:51820", gateway + 1),
                    allowed: &[&format!("{target}/32")],
                },
            )
        });
        peers.push(peer);
        targets.push(target);
    }
    let bob_keys = KeyPair::generate();
    let bob = device(server, "detmold", "bob", "bob-laptop", &bob_keys.public).await;
    fixture.wait_applied();
    let bob_peer = blocking(|| {
        WgPeer::start(
            lab,
            "c2",
            WgConfig {
                name: "bob",
                keys: bob_keys,
                address: bob.tunnel_address.as_deref().unwrap(),
                gateway_public_key: &fixture.gateway_keys[0],
                endpoint: "198.18.0.1:51820",
                allowed: &["198.18.100.0/24"],
            },
        )
    });

    // All twenty knock at once (each packet starts a handshake; wireguard-go
    // retries every 5 s while it has traffic queued).
    let knock = |targets: &[String]| {
        std::thread::scope(|scope| {
            for target in targets {
                scope.spawn(|| {
                    lab.try_exec("c1", &["ping", "-c", "1", "-W", "1", target]);
                });
            }
        });
    };
    let race_started = Instant::now();
    let mut most = (0.0f64, 0.0f64);
    blocking(|| {
        std::thread::scope(|scope| {
            scope.spawn(|| knock(&targets));
            while race_started.elapsed() < Duration::from_secs(8) {
                let (table, wireguard) = sessions(&fixture);
                most = (most.0.max(table), most.1.max(wireguard));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
    });
    let (table, wireguard) = blocking(|| sessions(&fixture));
    println!(
        "after the race: {table} sessions, {wireguard} WireGuard sessions; most seen {most:?}"
    );
    assert_eq!(table, f64::from(QUOTA), "exactly the quota is admitted");
    assert!(
        most.0 <= f64::from(QUOTA) && most.1 <= f64::from(QUOTA),
        "quota exceeded: {most:?}"
    );
    let handshaked = peers
        .iter()
        .filter(|p| p.handshake_age(lab).is_some())
        .count();
    assert_eq!(
        handshaked, QUOTA as usize,
        "devices that completed a handshake"
    );

    // The refusals are recorded and explained.
    let refusals = server.admin.list_refusals("lemgo", 100).await.unwrap();
    assert!(!refusals.is_empty());
    assert!(refusals.iter().all(|r| r.reason == "quota_full"));
    assert!(refusals[0].message.contains("all 5 VPN seats"));
    let list = server.admin.list_sessions("lemgo").await.unwrap();
    assert_eq!(list.in_use, QUOTA);
    assert_eq!(list.max_sessions, Some(QUOTA));

    // Another municipality is not affected.
    assert!(
        blocking(|| wait_until(Duration::from_secs(10), || lab.tcp("c2", APP, 7000))).is_some(),
        "detmold's device must connect while lemgo is full"
    );
    assert!(bob_peer.handshake_age(lab).is_some());

    // The provider lifts the quota with the CLI; refused devices get in on
    // their next retry.
    let token = server
        .admin
        .create_token(&CreateToken {
            name: "ops".into(),
            tenant: None,
            expires_in_days: Some(1),
        })
        .await
        .unwrap()
        .secret;
    let url = server.url.clone();
    let output = blocking(|| {
        std::process::Command::new(env!("CARGO_BIN_EXE_homegate"))
            .args([
                "--server",
                &url,
                "--token",
                &token,
                "quota",
                "set",
                "lemgo",
                "--unlimited",
            ])
            .output()
            .unwrap()
    });
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lifted = Instant::now();
    let all_in = blocking(|| {
        wait_until(Duration::from_secs(20), || {
            knock(&targets);
            sessions(&fixture).0 >= DEVICES as f64
        })
    });
    assert!(
        all_in.is_some(),
        "not all devices got in after lifting the quota: {:?}",
        blocking(|| sessions(&fixture))
    );
    println!(
        "all {DEVICES} in session {:?} after lifting the quota",
        lifted.elapsed()
    );
    let list = server.admin.list_sessions("lemgo").await.unwrap();
    assert_eq!(list.in_use, DEVICES as u32);
    fixture.stop().await;
}
