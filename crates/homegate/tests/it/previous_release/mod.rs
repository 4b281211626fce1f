//! Issue 25, item 2: gateways and device clients of the previous release
//! keep working with this control plane. They are played by the previous
//! release's own wire types (fixtures copied from it, see the two modules
//! below), read strictly: a message they could not read, or a field they
//! need and no longer get, fails the test.

mod device_api;
mod gateway_protocol;

use std::time::Duration;

use api_types::Role;
use api_types::enrollment::CreateEnrollmentCode;
use api_types::infra::{CreateGateway, CreateRegion};
use api_types::tenancy::{
    CreateAccessRule, CreateApplication, CreateGroup, CreateTenant, Protocol,
};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::both_backends;
use crate::support::{TestServer, public_key};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

both_backends!(a_gateway_and_a_client_of_the_previous_release_keep_working);

/// The previous release's gateway connected the way its link did: a
/// WebSocket with the token as bearer, a hello without a stream version.
async fn connect_old_gateway(server: &TestServer, token: &str, key: &str) -> Socket {
    let url = format!(
        "{}/api/v1/gateway/stream",
        server.url.replacen("http", "ws", 1)
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    send(
        &mut socket,
        &gateway_protocol::FromGateway::Hello {
            public_key: key.to_owned(),
            listen_port: 51820,
            endpoint: None,
            version: 0,
            sessions: vec![],
        },
    )
    .await;
    socket
}

async fn send(socket: &mut Socket, message: &gateway_protocol::FromGateway) {
    let text = serde_json::to_string(message).unwrap();
    socket.send(Message::Text(text.into())).await.unwrap();
}

/// The next message, read as the previous release reads it.
async fn next(socket: &mut Socket) -> gateway_protocol::ToGateway {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("nothing from the control plane within 10 s")
            .expect("stream ended")
            .unwrap();
        match message {
            Message::Text(text) => {
                return serde_json::from_str(&text).unwrap_or_else(|error| {
                    panic!("the previous release cannot read {text}: {error}")
                });
            }
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
}

async fn published_application(server: &TestServer) {
    let admin = &server.admin;
    admin
        .create_region(&CreateRegion {
            name: "old".into(),
            description: None,
        })
        .await
        .unwrap();
    admin
        .create_tenant(&CreateTenant {
            slug: "oldtown".into(),
            name: "Gemeinde Oldtown".into(),
            default_language: None,
            address_pool: "10.52.0.0/16".into(),
            region: Some("old".into()),
            max_sessions: None,
            max_devices: None,
        })
        .await
        .unwrap();
    server
        .login_as(Some("oldtown"), "anna", Role::Employee)
        .await;
    admin
        .create_group(
            "oldtown",
            &CreateGroup {
                name: "office".into(),
                description: None,
            },
        )
        .await
        .unwrap();
    admin
        .add_group_member("oldtown", "office", "anna")
        .await
        .unwrap();
    admin
        .create_application(
            "oldtown",
            &CreateApplication {
                name: "fileserver".into(),
                description: None,
                cidr: "198.18.10.0/24".into(),
                protocol: Protocol::Tcp,
                ports: vec!["445".into()],
                web_upstream: None,
            },
        )
        .await
        .unwrap();
    admin
        .create_access_rule(
            "oldtown",
            &CreateAccessRule {
                group: "office".into(),
                application: "fileserver".into(),
            },
        )
        .await
        .unwrap();
}

async fn a_gateway_and_a_client_of_the_previous_release_keep_working(server: &TestServer) {
    published_application(server).await;
    let created = server
        .admin
        .create_gateway(&CreateGateway {
            name: "old-gw-1".into(),
            region: "old".into(),
            endpoint: Some("198.18.0.1:51820".into()),
        })
        .await
        .unwrap();

    // The gateway gets its seats renewed and its whole configuration in
    // one message, as stream version 1 has it.
    let gateway_key = public_key();
    let mut gateway = connect_old_gateway(server, &created.token, &gateway_key).await;
    let config = loop {
        match next(&mut gateway).await {
            gateway_protocol::ToGateway::Config(config) => break config,
            gateway_protocol::ToGateway::Renewed { .. } => {}
            other => panic!("before the configuration: {other:?}"),
        }
    };
    assert_eq!(config.gateway_name, "old-gw-1");
    assert_eq!(config.region, "old");
    let tenant = config
        .tenants
        .iter()
        .find(|tenant| tenant.slug == "oldtown")
        .expect("the region's tenant");
    assert_eq!(tenant.rules.len(), 1);
    assert_eq!(tenant.rules[0].cidr, "198.18.10.0/24");
    send(
        &mut gateway,
        &gateway_protocol::FromGateway::Applied {
            version: config.version,
        },
    )
    .await;

    // The device client enrolls with the previous release's request and
    // reads the answer with its types.
    let code = server
        .admin
        .create_enrollment_code(
            "oldtown",
            "anna",
            &CreateEnrollmentCode {
                expires_in_hours: None,
            },
        )
        .await
        .unwrap();
    let device_key = public_key();
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/api/v1/enroll", server.url))
        .json(&device_api::EnrollRequest {
            code: code.secret,
            public_key: device_key.clone(),
            name: Some("Anna's old laptop".into()),
            kind: Some(device_api::DeviceKind::Laptop),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let enrolled: device_api::EnrollResponse = response.json().await.unwrap();
    assert_eq!(enrolled.device.state, device_api::DeviceState::Active);
    assert_eq!(enrolled.config.routes, vec!["198.18.10.0/24".to_owned()]);
    let assigned = enrolled.config.gateway.expect("a gateway is online");
    assert_eq!(assigned.name, "old-gw-1");
    assert_eq!(assigned.public_key, gateway_key);
    assert_eq!(assigned.endpoint, "198.18.0.1:51820");

    // The gateway learns of the device through a delta it can read.
    let peer = loop {
        if let gateway_protocol::ToGateway::Delta(delta) = next(&mut gateway).await
            && let Some(peer) = delta
                .upsert_peers
                .iter()
                .find(|peer| peer.public_key == device_key)
        {
            break peer.clone();
        }
    };
    assert_eq!(peer.tunnel_address, enrolled.config.tunnel_address);

    // Admission and seat renewal.
    send(
        &mut gateway,
        &gateway_protocol::FromGateway::Admit {
            request_id: 7,
            public_key: device_key.clone(),
        },
    )
    .await;
    loop {
        if let gateway_protocol::ToGateway::AdmitResult {
            request_id: 7,
            admitted,
            reason,
            ..
        } = next(&mut gateway).await
        {
            assert!(admitted, "refused: {reason:?}");
            break;
        }
    }
    send(
        &mut gateway,
        &gateway_protocol::FromGateway::Report {
            sessions: vec![device_key.clone()],
            stats: vec![gateway_protocol::PeerStats {
                public_key: device_key.clone(),
                last_handshake_secs: Some(1),
                rx_bytes: 1000,
                tx_bytes: 2000,
                endpoint: Some("198.18.0.9:40000".into()),
            }],
        },
    )
    .await;
    loop {
        if let gateway_protocol::ToGateway::Renewed { sessions, .. } = next(&mut gateway).await
            && sessions.contains(&device_key)
        {
            break;
        }
    }

    // The client's status and configuration calls, with its types.
    let device_get = |path: &str| {
        http.get(format!("{}/api/v1/device/{path}", server.url))
            .bearer_auth(&enrolled.device_token)
    };
    let status: device_api::DeviceStatus = device_get("status")
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = status.session.expect("in session");
    assert_eq!(session.gateway, "old-gw-1");
    let response = device_get("config").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let tag = response.headers().get("etag").cloned().expect("an ETag");
    let config: device_api::DeviceConfig = response.json().await.unwrap();
    assert_eq!(config.gateway.map(|g| g.name).as_deref(), Some("old-gw-1"));
    // Its long poll: unchanged after the wait.
    let unchanged = device_get("config")
        .header("prefer", "wait=1")
        .header("if-none-match", tag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 304);

    // Ending the session from the control plane reaches the old gateway in
    // a message it knows.
    server
        .admin
        .revoke_device("oldtown", &enrolled.device.id)
        .await
        .unwrap();
    loop {
        match next(&mut gateway).await {
            gateway_protocol::ToGateway::Delta(delta)
                if delta.remove_peers.contains(&device_key) =>
            {
                break;
            }
            _ => {}
        }
    }
}
