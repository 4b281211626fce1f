//! Issue 9, item 5: a standard WireGuard client (Debian's wireguard-go, set
//! up from the phone configuration homegate hands out) follows the recipe
//! of docs/regions.md: the region's gateways share one key and one DNS name.
//! When its gateway dies, pointing the name at the other gateway and letting
//! the client resolve it again (what `reresolve-dns.sh` does) brings it back,
//! with its seat moved.

use std::time::{Duration, Instant};

use api_types::enrollment::CreatePhone;
use api_types::infra::{CreateGateway, CreateRegion};

use super::{ECHO, blocking, lemgo_in_south_with_anna, wait_healthy};
use crate::lab::wg::{KeyPair, WgConfig, WgPeer};
use crate::lab::{APP, CONTROL_PLANE, CONTROL_PLANE_PORT, Lab, wait_until};
use crate::support::{Backend, TestServer};

const NAME: &str = "vpn-south.lab.test";

/// `key = value` of a wg-quick file.
fn setting<'a>(wg_quick: &'a str, key: &str) -> &'a str {
    wg_quick
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once('=')?;
            (name.trim() == key).then(|| value.trim())
        })
        .unwrap_or_else(|| panic!("no {key} in\n{wg_quick}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs root: network namespaces and TUN (cargo xtask test runs it)"]
async fn one_name_and_key_per_region_for_standard_clients() {
    let lab = blocking(|| Lab::standard(2, 1));
    let mut server = TestServer::start(Backend::Sqlite).await;
    server.listen_in_netns(
        &lab.ns("net"),
        format!("{CONTROL_PLANE}:{CONTROL_PLANE_PORT}")
            .parse()
            .unwrap(),
    );
    let admin = &server.admin;
    admin
        .create_region(&CreateRegion {
            name: "south".into(),
            description: None,
        })
        .await
        .unwrap();
    let endpoint = format!("{NAME}:51820");
    let url = format!("http://{CONTROL_PLANE}:{CONTROL_PLANE_PORT}");
    let mut pids = Vec::new();
    for g in 1..=2 {
        let created = admin
            .create_gateway(&CreateGateway {
                name: format!("g{g}"),
                region: "south".into(),
                endpoint: Some(endpoint.clone()),
            })
            .await
            .unwrap();
        if g == 2 {
            // The recipe: the second gateway starts with the first one's key.
            let key = lab.gateway_state(1).join("private.key");
            blocking(|| wait_until(Duration::from_secs(10), || key.exists()))
                .expect("g1 made no key");
            std::fs::create_dir_all(lab.gateway_state(2)).unwrap();
            std::fs::copy(&key, lab.gateway_state(2).join("private.key")).unwrap();
        }
        pids.push(blocking(|| {
            lab.start_gateway_at(g, &created.token, std::slice::from_ref(&url), &endpoint)
        }));
    }
    let mut keys = Vec::new();
    for g in ["g1", "g2"] {
        let key = wait_healthy(admin, g).await;
        keys.push(key.unwrap_or_else(|| panic!("{g} did not come up:\n{}", lab.gateway_log(1))));
    }
    assert_eq!(keys[0], keys[1], "the region's gateways share one key");

    blocking(|| lab.start_apps(&[ECHO]));
    let anna = lemgo_in_south_with_anna(&server).await;
    let phone = anna
        .create_my_phone(&CreatePhone {
            name: "Anna's phone".into(),
            kind: None,
        })
        .await
        .unwrap();
    let config = &phone.wg_quick;
    assert_eq!(
        setting(config, "Endpoint"),
        endpoint,
        "the QR code carries the name"
    );
    assert_eq!(setting(config, "PublicKey"), keys[0]);

    // The phone (wireguard-go) resolves the region's name to g1.
    lab.set_hosts("c1", &format!("198.18.0.1 {NAME}"));
    let private = setting(config, "PrivateKey").to_owned();
    let address = setting(config, "Address")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let peer = blocking(|| {
        WgPeer::start(
            &lab,
            "c1",
            WgConfig {
                name: "ph",
                keys: KeyPair {
                    public: String::new(),
                    private,
                },
                address: &address,
                gateway_public_key: &keys[0],
                endpoint: &endpoint,
                allowed: &[&format!("{APP}/32")],
            },
        )
    });
    let reached = blocking(|| wait_until(Duration::from_secs(20), || lab.udp("c1", APP, ECHO)));
    assert!(reached.is_some(), "the phone never reached its application");

    // g1 dies; the operator points the name at g2; the client resolves it
    // again and carries on with g2, which holds the same key.
    let stream = lab.stream("c1", APP, ECHO, 30.0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let killed = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pids[0]).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    lab.set_hosts("c1", &format!("198.18.0.2 {NAME}"));
    blocking(|| {
        lab.exec(
            "c1",
            &[
                "wg",
                "set",
                &peer.interface,
                "peer",
                &keys[0],
                "endpoint",
                &endpoint,
            ],
        )
    });
    let back = blocking(|| {
        // WireGuard retries a handshake after 15 s without an answer.
        wait_until(Duration::from_secs(40), || {
            lab.udp("c1", APP, ECHO)
                && lab
                    .exec("c1", &["wg", "show", &peer.interface, "endpoints"])
                    .contains("198.18.0.2:51820")
        })
    })
    .map(|_| killed.elapsed())
    .expect("the phone did not reach its application through g2");
    let gap = blocking(|| stream.finish());
    eprintln!(
        "standard client, gateway killed and name re-resolved: through g2 after {back:?}, \
         longest gap {:.0} ms",
        gap.max_gap_ms
    );
    let sessions = admin.list_sessions("lemgo").await.unwrap();
    assert_eq!(sessions.in_use, 1, "the seat moved, it was not doubled");
    assert_eq!(admin.get_gateway("g2").await.unwrap().sessions, 1);

    drop(lab);
    server.stop().await;
}
