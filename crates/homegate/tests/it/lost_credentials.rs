//! Issue 26, item 7: a lost gateway token can be reissued, and an
//! enrollment code handed out by mistake can be withdrawn — from the CLI,
//! like everything an operator does in a hurry.

use std::time::Duration;

use api_types::Role;
use api_types::enrollment::EnrollRequest;
use api_types::gateway::{FromGateway, STREAM_VERSION, ToGateway};
use api_types::infra::CreateRegion;
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::cli::{fails, ok};
use crate::cli_sticks::login;
use crate::support::{Backend, TestServer, problem_of, public_key};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A gateway stream opened with `token`, or the HTTP status it was refused with.
async fn open_stream(server: &TestServer, token: &str) -> Result<Socket, u16> {
    let url = format!(
        "{}/api/v1/gateway/stream",
        server.url.replacen("http", "ws", 1)
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((mut socket, _)) => {
            let hello = FromGateway::Hello {
                public_key: public_key(),
                listen_port: 51820,
                endpoint: None,
                version: 0,
                sessions: vec![],
                stream: STREAM_VERSION,
            };
            let text = serde_json::to_string(&hello).unwrap();
            socket.send(Message::Text(text.into())).await.unwrap();
            Ok(socket)
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("{other}"),
    }
}

/// Reads until the configuration has arrived.
async fn configured(socket: &mut Socket) {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("no configuration")
            .expect("stream ended")
            .unwrap();
        if let Message::Text(text) = message
            && let Ok(ToGateway::ConfigEnd { .. }) = serde_json::from_str(&text)
        {
            return;
        }
    }
}

/// The line of the CLI's output that holds the token.
fn token_in(output: &str) -> String {
    output
        .lines()
        .find_map(|line| line.strip_prefix("HOMEGATE_GATEWAY_TOKEN="))
        .unwrap_or_else(|| panic!("no token line in {output}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_gateway_token_is_reissued() {
    let server = TestServer::start(Backend::Sqlite).await;
    server
        .admin
        .create_region(&CreateRegion {
            name: "lost".into(),
            description: None,
        })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    login(dir, &server);
    let added = ok(dir, &["gateways", "add", "gw-lost-1", "--region", "lost"]);
    // The hint puts the token into the unit's environment file, never on a
    // command line.
    assert!(!added.contains("--token "), "{added}");
    let old_token = token_in(&added);
    let mut old_stream = open_stream(&server, &old_token).await.unwrap();
    configured(&mut old_stream).await;

    let reissued = ok(dir, &["gateways", "reissue-token", "gw-lost-1"]);
    let new_token = token_in(&reissued);
    assert_ne!(new_token, old_token);

    // The stream opened with the old token is closed within seconds.
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(message)) = old_stream.next().await {
            if let Message::Close(_) = message {
                break;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the old token's stream stayed open");
    assert_eq!(open_stream(&server, &old_token).await.err(), Some(401));
    let mut new_stream = open_stream(&server, &new_token).await.unwrap();
    configured(&mut new_stream).await;

    let audit = ok(dir, &["audit", "list"]);
    assert!(audit.contains("gateway.token.reissue"), "{audit}");
    assert!(fails(dir, &["gateways", "reissue-token", "nosuch"]).contains("not found"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrollment_code_is_withdrawn() {
    let server = TestServer::start(Backend::Sqlite).await;
    server.tenant("lemgo", "10.20.0.0/16").await;
    server.login_as(Some("lemgo"), "anna", Role::Employee).await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    login(dir, &server);
    let code_of = |out: &str| {
        out.lines()
            .find_map(|line| {
                line.split_once("): ")
                    .map(|(_, code)| code.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("no code in {out}"))
    };
    let first = code_of(&ok(
        dir,
        &[
            "enrollment-codes",
            "create",
            "--tenant",
            "lemgo",
            "--user",
            "anna",
        ],
    ));
    let second = code_of(&ok(
        dir,
        &[
            "enrollment-codes",
            "create",
            "--tenant",
            "lemgo",
            "--user",
            "anna",
        ],
    ));
    let codes = server.admin.list_enrollment_codes("lemgo").await.unwrap();
    assert_eq!(codes.len(), 2);
    let listed = ok(dir, &["enrollment-codes", "list", "--tenant", "lemgo"]);
    assert_eq!(listed.matches("open").count(), 2, "{listed}");

    // The newest code (listed first) is withdrawn; it no longer enrolls.
    let withdrawn = ok(
        dir,
        &[
            "enrollment-codes",
            "revoke",
            &codes[0].id,
            "--tenant",
            "lemgo",
        ],
    );
    assert!(withdrawn.contains("withdrawn"), "{withdrawn}");
    let enroll = |code: &str| EnrollRequest {
        code: code.to_owned(),
        public_key: public_key(),
        name: None,
        kind: None,
    };
    let (status, problem) = problem_of(server.anonymous().enroll(&enroll(&second)).await);
    assert_eq!(status, 403);
    assert!(
        problem.detail.unwrap_or_default().contains("withdrawn"),
        "the refusal says why"
    );

    // The other one still works; once used, it cannot be withdrawn.
    server.anonymous().enroll(&enroll(&first)).await.unwrap();
    let used = fails(
        dir,
        &[
            "enrollment-codes",
            "revoke",
            &codes[1].id,
            "--tenant",
            "lemgo",
        ],
    );
    assert!(used.contains("already used"), "{used}");

    // Another tenant's admin cannot see or withdraw lemgo's codes: to them
    // lemgo does not exist, and the code is not in their own tenant.
    server.tenant("detmold", "10.21.0.0/16").await;
    let other = server
        .login_as(Some("detmold"), "it-detmold", Role::TenantAdmin)
        .await;
    let (status, _) = problem_of(other.revoke_enrollment_code("lemgo", &codes[1].id).await);
    assert_eq!(status, 404);
    let (status, _) = problem_of(other.revoke_enrollment_code("detmold", &codes[1].id).await);
    assert_eq!(status, 404);

    let audit = ok(dir, &["audit", "list", "--tenant", "lemgo"]);
    assert!(audit.contains("enrollment_code.revoke"), "{audit}");
    server.stop().await;
}
