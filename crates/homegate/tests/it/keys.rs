//! Issue 19, item 7: public keys that are points of small order (all zeros
//! and the other six) are refused wherever keys enter: devices added through
//! the API, stick enrollment, and a gateway's hello.

use api_types::enrollment::EnrollRequest;
use api_types::gateway::{FromGateway, STREAM_VERSION};
use api_types::infra::{CreateGateway, CreateRegion};
use api_types::sticks::CreateStickBatch;
use api_types::tenancy::{CreateDevice, CreateTenant, DeviceKind};
use gateway::link::LinkEvent;
use tokio::sync::mpsc;

use crate::both_backends;
use crate::support::{TestServer, problem_of, public_key};

both_backends!(low_order_keys_are_refused);

/// All zeros, an order-8 point, and p + 1 with the top bit set.
const LOW_ORDER: [&str; 3] = [
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc=",
    "7v////////////////////////////////////////8=",
];

fn assert_refused<T: std::fmt::Debug>(result: client::Result<T>) {
    let (status, problem) = problem_of(result);
    assert_eq!(status, 422);
    assert_eq!(problem.errors[0].field, "public_key");
    assert!(
        problem.errors[0].message.contains("low-order"),
        "{problem:?}"
    );
}

async fn low_order_keys_are_refused(server: &TestServer) {
    server
        .admin
        .create_region(&CreateRegion {
            name: "keys".into(),
            description: None,
        })
        .await
        .unwrap();
    server
        .admin
        .create_tenant(&CreateTenant {
            slug: "keys".into(),
            name: "Gemeinde keys".into(),
            default_language: None,
            address_pool: "10.41.0.0/16".into(),
            region: Some("keys".into()),
            max_sessions: None,
            max_devices: None,
        })
        .await
        .unwrap();

    // A device added through the API.
    for key in LOW_ORDER {
        assert_refused(
            server
                .admin
                .create_device(
                    "keys",
                    &CreateDevice {
                        name: "zero".into(),
                        owner: None,
                        kind: DeviceKind::Laptop,
                        public_key: key.into(),
                    },
                )
                .await,
        );
    }

    // A stick enrolling with its one-time token: refused, and the token
    // still works with a proper key.
    let issued = server
        .admin
        .create_stick_batch(
            "keys",
            &CreateStickBatch {
                count: Some(1),
                recipients: vec![],
                language: None,
                valid_days: None,
                group: None,
            },
        )
        .await
        .unwrap();
    server
        .admin
        .stick_batch_action("keys", &issued.batch.id, "complete")
        .await
        .unwrap();
    let anonymous = server.anonymous();
    let enroll = |key: &str| EnrollRequest {
        code: issued.sticks[0].token.clone(),
        public_key: key.to_owned(),
        name: None,
        kind: None,
    };
    for key in LOW_ORDER {
        assert_refused(anonymous.enroll(&enroll(key)).await);
    }
    anonymous.enroll(&enroll(&public_key())).await.unwrap();

    // A gateway saying hello with an all-zero key is not taken on.
    let created = server
        .admin
        .create_gateway(&CreateGateway {
            name: "keys-1".into(),
            region: "keys".into(),
            endpoint: Some("198.18.0.1:51820".into()),
        })
        .await
        .unwrap();
    let (tx, mut events) = mpsc::channel(16);
    let url = url::Url::parse(&format!("{}/", server.url)).unwrap();
    let link = tokio::spawn(gateway::link::run(vec![url], created.token, tx));
    let outbox = match events.recv().await.unwrap() {
        LinkEvent::Connected { outbox, .. } => outbox,
        other => panic!("{other:?}"),
    };
    outbox
        .send(FromGateway::Hello {
            public_key: LOW_ORDER[0].into(),
            listen_port: 51820,
            endpoint: None,
            version: 0,
            sessions: vec![],
            stream: STREAM_VERSION,
        })
        .unwrap();
    match events.recv().await.unwrap() {
        LinkEvent::Disconnected { .. } => {}
        other => panic!("a gateway with a low-order key was served: {other:?}"),
    }
    link.abort();
    let gateways = server.admin.list_gateways().await.unwrap();
    let gateway = gateways.iter().find(|g| g.name == "keys-1").unwrap();
    assert_eq!(gateway.public_key, None);
}
