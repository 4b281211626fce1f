//! Issue 26, item 11: standard clients spread over a region's gateways, a
//! failed-over device is one row, and a refused device's retries are one
//! row per hour.

use api_types::infra::{CreateGateway, CreateRegion};
use api_types::tenancy::{CreateDevice, CreateTenant, DeviceKind, SetQuota};
use store::gateway_stream::GatewayIdentity;

use crate::both_backends;
use crate::support::{TestServer, public_key};

async fn seats_spread_and_count_once(server: &TestServer) {
    let admin = &server.admin;
    admin
        .create_region(&CreateRegion {
            name: "west".into(),
            description: None,
        })
        .await
        .unwrap();
    let mut gateways = Vec::new();
    for name in ["gw-a", "gw-b"] {
        let created = admin
            .create_gateway(&CreateGateway {
                name: name.into(),
                region: "west".into(),
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
    let later = store::now_ms() + store::gateway_stream::REFUSAL_RETENTION_MS + 1;
    assert!(server.store.prune_refusals(later).await.unwrap() >= 1);
    assert!(admin.list_refusals("kleve", 100).await.unwrap().is_empty());
}

both_backends!(seats_spread_and_count_once);
