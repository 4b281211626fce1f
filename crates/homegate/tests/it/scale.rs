//! Issue 19: the control plane at a provider's scale.
//!
//! A region far larger than one WebSocket message can carry (200,000
//! devices: about 50 MB as one message) reaches its gateway through the real
//! stream and the gateway's own link code (stream version 2: bounded chunks,
//! applied at the end).

use std::time::Duration;

use api_types::gateway::{FromGateway, STREAM_VERSION, ToGateway};
use api_types::infra::{CreateGateway, CreateRegion};
use api_types::tenancy::CreateTenant;
use base64::Engine as _;
use gateway::link::LinkEvent;
use tokio::sync::mpsc;

use crate::both_backends;
use crate::support::{TestServer, public_key};

both_backends!(
    a_region_of_200000_devices_reaches_its_gateway,
    logins_and_the_status_page_leave_gateways_alone,
);

/// Item 3: every gateway stream rebuilds its configuration when the
/// configuration version moves. A login (thousands at 8:00 on Monday) or a
/// status-page change must not move it; a change to what gateways serve
/// must.
async fn logins_and_the_status_page_leave_gateways_alone(server: &TestServer) {
    server.tenant("lemgo", "10.31.0.0/16").await;
    server
        .login_as(Some("lemgo"), "anna", api_types::Role::Employee)
        .await;
    let version = || *server.store.watch_config_version().borrow();
    let before = version();
    for _ in 0..3 {
        server.login("anna", crate::support::USER_PASSWORD).await;
    }
    let _: serde_json::Value = server
        .admin
        .post(
            &["status", "components"],
            &api_types::status::CreateComponent {
                name: "mail".into(),
                title: "Mail".into(),
                description: None,
                group: None,
                tenants: Vec::new(),
                position: None,
                translations: Default::default(),
            },
        )
        .await
        .unwrap();
    assert_eq!(version(), before, "logins and the status page moved it");
    server
        .admin
        .create_group(
            "lemgo",
            &api_types::tenancy::CreateGroup {
                name: "office".into(),
                description: None,
            },
        )
        .await
        .unwrap();
    assert!(version() > before, "a new group did not move it");
}

/// Devices in the region; `HOMEGATE_SCALE_DEVICES` changes it.
fn device_count() -> usize {
    std::env::var("HOMEGATE_SCALE_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

/// Writes `count` active devices of `tenant_id` straight into the database,
/// in batches of one multi-row INSERT each, in one transaction: the API's
/// enrollment is not what this test is about, and would take hours.
async fn insert_devices(server: &TestServer, tenant_id: &str, count: usize) {
    const ROWS: usize = 500;
    let now = store::now_ms();
    let mut tx = server.store.pool().begin().await.unwrap();
    let mut next = 0usize;
    while next < count {
        let rows = ROWS.min(count - next);
        let mut sql = String::from(
            "INSERT INTO devices (id, tenant_id, name, kind, public_key, address_index, \
             tunnel_address, state, created_at, updated_at) VALUES ",
        );
        for row in 0..rows {
            let p = row * 7;
            if row > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, 'laptop', ${}, ${}, ${}, 'active', ${}, ${})",
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5,
                p + 6,
                p + 7,
                p + 7
            ));
        }
        let mut query = sqlx::query(&sql);
        for n in next..next + rows {
            // Addresses from 10.64.0.2 on in the tenant's 10.64.0.0/12.
            let index = n + 2;
            let address = std::net::Ipv4Addr::from(0x0a40_0000_u32 + u32::try_from(index).unwrap());
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&u64::try_from(n).unwrap().to_be_bytes());
            key[8..24].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            query = query
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(tenant_id.to_owned())
                .bind(format!("laptop-{n}"))
                .bind(base64::engine::general_purpose::STANDARD.encode(key))
                .bind(i64::try_from(index).unwrap())
                .bind(address.to_string())
                .bind(now);
        }
        query.execute(&mut *tx).await.unwrap();
        next += rows;
    }
    tx.commit().await.unwrap();
}

async fn a_region_of_200000_devices_reaches_its_gateway(server: &TestServer) {
    let count = device_count();
    server
        .admin
        .create_region(&CreateRegion {
            name: "big".into(),
            description: None,
        })
        .await
        .unwrap();
    let tenant = server
        .admin
        .create_tenant(&CreateTenant {
            slug: "big".into(),
            name: "Gemeinde big".into(),
            default_language: None,
            address_pool: "10.64.0.0/12".into(),
            region: Some("big".into()),
            max_sessions: None,
            max_devices: None,
        })
        .await
        .unwrap();
    let created = server
        .admin
        .create_gateway(&CreateGateway {
            name: "big-1".into(),
            region: "big".into(),
            endpoint: Some("198.18.0.1:51820".into()),
        })
        .await
        .unwrap();
    let started = std::time::Instant::now();
    insert_devices(server, &tenant.id, count).await;
    println!("{count} devices inserted in {:?}", started.elapsed());

    let (tx, mut events) = mpsc::channel(16);
    let url = url::Url::parse(&format!("{}/", server.url)).unwrap();
    let link = tokio::spawn(gateway::link::run(vec![url], created.token, tx));
    let started = std::time::Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    let mut connects = 0;
    // The link ends when its outbox is dropped: kept like the engine does.
    let mut outboxes = Vec::new();
    let config = loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("no configuration from the control plane")
            .expect("link stopped");
        match event {
            LinkEvent::Connected { outbox, .. } => {
                connects += 1;
                outbox
                    .send(FromGateway::Hello {
                        public_key: public_key(),
                        listen_port: 51820,
                        endpoint: None,
                        version: 0,
                        sessions: vec![],
                        stream: STREAM_VERSION,
                    })
                    .unwrap();
                outboxes.push(outbox);
            }
            // The defect: the gateway refused the one large message and
            // reconnected, forever.
            LinkEvent::Disconnected { reason } => {
                panic!("the stream broke before the configuration arrived: {reason}")
            }
            LinkEvent::Message(ToGateway::Config(config)) => break config,
            LinkEvent::Message(_) => {}
        }
    };
    println!(
        "configuration of {} peers applied by the link after {:?}",
        config.peers.len(),
        started.elapsed()
    );
    link.abort();
    assert_eq!(connects, 1);
    assert_eq!(config.peers.len(), count);
    assert!(config.peers.iter().all(|peer| peer.tenant_id == tenant.id));
    assert_eq!(config.region, "big");
}

both_backends!(users_created_at_once_all_log_in);

/// Item 4: passwords are hashed before the write transaction, on blocking
/// threads; users created by many clients at once all get their password.
async fn users_created_at_once_all_log_in(server: &TestServer) {
    server.tenant("many", "10.65.0.0/16").await;
    let mut creations = tokio::task::JoinSet::new();
    for n in 0..16 {
        let admin = server.admin.clone();
        creations.spawn(async move {
            admin
                .create_user(
                    "many",
                    &api_types::tenancy::CreateUser {
                        username: format!("many-{n}"),
                        display_name: None,
                        email: None,
                        role: api_types::Role::Employee,
                        password: (n % 2 == 0).then(|| crate::support::USER_PASSWORD.to_owned()),
                        language: None,
                    },
                )
                .await
                .unwrap()
        });
    }
    let created = creations.join_all().await;
    assert_eq!(created.len(), 16);
    for user in created {
        let password = user
            .initial_password
            .unwrap_or_else(|| crate::support::USER_PASSWORD.to_owned());
        let login = server
            .anonymous()
            .login(&api_types::auth::LoginRequest {
                username: user.user.username.clone(),
                password,
                token_name: None,
            })
            .await
            .unwrap();
        assert!(login.token.is_some());
        assert_eq!(login.user.username, user.user.username);
    }
}
