//! Issue 26, item 11: standard clients spread over a region's gateways, a
//! failed-over device is one row, and a refused device's retries are one
//! row per hour.

use api_types::infra::{CreateGateway, CreateRegion};
use api_types::tenancy::{CreateDevice, CreateTenant, DeviceKind, SetQuota};
use store::gateway_stream::GatewayIdentity;

use crate::both_backends;
use crate::support::{TestServer, public_key};

/// A region with connected gateways, as the store knows them.
pub(crate) async fn region_with_gateways(
    server: &TestServer,
    region: &str,
    names: &[&str],
) -> Vec<GatewayIdentity> {
    server
        .admin
        .create_region(&CreateRegion {
            name: region.into(),
            description: None,
        })
        .await
        .unwrap();
    let mut gateways = Vec::new();
    for name in names {
        let created = server
            .admin
            .create_gateway(&CreateGateway {
                name: (*name).into(),
                region: region.into(),
                endpoint: Some(format!("{name}.example:51820")),
            })
            .await
            .unwrap();
        let identity: GatewayIdentity = server
            .store
            .authenticate_gateway(&created.token)
            .await
            .unwrap();
        server
            .store
            .gateway_connected(&identity, &public_key(), None)
            .await
            .unwrap();
        gateways.push(identity);
    }
    gateways
}

/// Laptops registered in `tenant`; their public keys.
async fn laptops(server: &TestServer, tenant: &str, count: usize) -> Vec<String> {
    let mut keys = Vec::new();
    for n in 0..count {
        let key = public_key();
        server
            .admin
            .create_device(
                tenant,
                &CreateDevice {
                    name: format!("laptop-{n}"),
                    owner: None,
                    kind: DeviceKind::Laptop,
                    public_key: key.clone(),
                },
            )
            .await
            .unwrap();
        keys.push(key);
    }
    keys
}

async fn seats_spread_and_count_once(server: &TestServer) {
    let admin = &server.admin;
    let gateways = region_with_gateways(server, "west", &["gw-a", "gw-b"]).await;
    let tenant = admin
        .create_tenant(&CreateTenant {
            slug: "kleve".into(),
            name: "Stadt Kleve".into(),
            default_language: None,
            address_pool: "10.70.0.0/16".into(),
            region: Some("west".into()),
            max_sessions: None,
            max_devices: None,
        })
        .await
        .unwrap();

    // Forty phones made at onboarding, before anyone is in session: each
    // gateway gets a fair share, and asking again gives the same answer.
    let mut devices = Vec::new();
    let mut on_a = 0;
    for n in 0..40 {
        let key = public_key();
        let device = admin
            .create_device(
                "kleve",
                &CreateDevice {
                    name: format!("phone-{n}"),
                    owner: None,
                    kind: DeviceKind::Phone,
                    public_key: key.clone(),
                },
            )
            .await
            .unwrap();
        let assigned = server
            .store
            .assign_gateway(&tenant.id, &device.id)
            .await
            .unwrap()
            .unwrap();
        let again = server
            .store
            .assign_gateway(&tenant.id, &device.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(assigned.name, again.name);
        if assigned.name == "gw-a" {
            on_a += 1;
        }
        devices.push((device, key));
    }
    assert!((8..=32).contains(&on_a), "{on_a} of 40 on gw-a: not spread");

    // A device that fails over from gw-a to gw-b holds one seat: one row.
    let (device, key) = &devices[0];
    for gateway in &gateways {
        let outcome = server
            .store
            .admit_session(gateway, key, 60_000)
            .await
            .unwrap();
        assert!(outcome.admitted, "{outcome:?}");
    }
    let sessions = admin.list_sessions("kleve").await.unwrap();
    assert_eq!(sessions.in_use, 1);
    assert_eq!(sessions.sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions.sessions[0].device_id, device.id);
    assert_eq!(sessions.sessions[0].gateway, "gw-b");
    assert_eq!(sessions.sessions[0].state, "active");

    // A full quota refuses the second device's handshakes, which it retries
    // a dozen times: counted in one row (two if the hour turns meanwhile).
    admin
        .set_quota(
            "kleve",
            &SetQuota {
                max_sessions: Some(Some(1)),
                ..SetQuota::default()
            },
        )
        .await
        .unwrap();
    let (_, refused_key) = &devices[1];
    for _ in 0..12 {
        let outcome = server
            .store
            .admit_session(&gateways[0], refused_key, 60_000)
            .await
            .unwrap();
        assert!(!outcome.admitted);
    }
    let refusals = admin.list_refusals("kleve", 100).await.unwrap();
    assert!(matches!(refusals.len(), 1 | 2), "{refusals:?}");
    assert_eq!(refusals.iter().map(|r| r.count).sum::<u32>(), 12);
    assert!(refusals.iter().all(|r| r.first_at <= r.at));
    let metrics = admin.metrics().await.unwrap();
    assert!(
        metrics.contains("homegate_refusals_total{tenant=\"kleve\"} 12"),
        "{metrics}"
    );

    // Refusals are kept for 30 days.
    let later = store::now_ms() + store::seats::REFUSAL_RETENTION_MS + 1;
    assert!(server.store.prune_refusals(later).await.unwrap() >= 1);
    assert!(admin.list_refusals("kleve", 100).await.unwrap().is_empty());
}

/// Issue 19 item 5: admissions decided as one batch keep the quota exact,
/// in request order, across gateways and tenants; a device asking again in
/// the same batch keeps its seat and moves, an unknown key is refused.
async fn a_batch_of_admissions_keeps_the_quota_exact(server: &TestServer) {
    let gateways = region_with_gateways(server, "west", &["gw-a", "gw-b"]).await;
    for (slug, pool, quota) in [
        ("kleve", "10.70.0.0/16", Some(10)),
        ("goch", "10.71.0.0/16", None),
    ] {
        server
            .admin
            .create_tenant(&CreateTenant {
                slug: slug.into(),
                name: format!("Stadt {slug}"),
                default_language: None,
                address_pool: pool.into(),
                region: Some("west".into()),
                max_sessions: quota,
                max_devices: None,
            })
            .await
            .unwrap();
    }
    let kleve = laptops(server, "kleve", 25).await;
    let goch = laptops(server, "goch", 5).await;
    let request = |gateway: usize, key: &str| store::seats::AdmitRequest {
        gateway: gateways[gateway].clone(),
        public_key: key.to_owned(),
        lease_ms: 60_000,
    };
    let mut requests: Vec<_> = kleve
        .iter()
        .zip(goch.iter().chain(std::iter::repeat(&String::new())))
        .enumerate()
        .flat_map(|(n, (k, g))| {
            let mut both = vec![request(n % 2, k)];
            if !g.is_empty() {
                both.push(request(n % 2, g));
            }
            both
        })
        .collect();
    requests.push(request(1, &kleve[0]));
    requests.push(request(0, &public_key()));
    let outcomes = server.store.admit_sessions(&requests).await.unwrap();
    assert_eq!(outcomes.len(), requests.len());

    let admitted = |keys: &[String]| {
        keys.iter()
            .filter(|key| {
                requests
                    .iter()
                    .zip(&outcomes)
                    .any(|(r, o)| r.public_key == **key && o.admitted)
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        admitted(&kleve),
        kleve[..10].to_vec(),
        "the first ten, in order"
    );
    assert_eq!(admitted(&goch).len(), 5, "no quota in goch");
    let again = &outcomes[outcomes.len() - 2];
    assert!(again.admitted, "{again:?}");
    assert_eq!(again.supersedes, vec![gateways[0].id.clone()]);
    let unknown = &outcomes[outcomes.len() - 1];
    assert_eq!(
        unknown.refusal.as_ref().map(|(code, _)| code.as_str()),
        Some("unknown_device")
    );
    let sessions = server.admin.list_sessions("kleve").await.unwrap();
    assert_eq!(sessions.in_use, 10, "{sessions:?}");
    let refusals = server.admin.list_refusals("kleve", 100).await.unwrap();
    assert_eq!(refusals.iter().map(|r| r.count).sum::<u32>(), 15);

    // The next batch sees the seats the first one took.
    let outcomes = server
        .store
        .admit_sessions(&[request(0, &kleve[20]), request(0, &kleve[5])])
        .await
        .unwrap();
    assert!(!outcomes[0].admitted);
    assert!(outcomes[1].admitted, "a device in session keeps its seat");
}

both_backends!(
    seats_spread_and_count_once,
    a_batch_of_admissions_keeps_the_quota_exact
);
