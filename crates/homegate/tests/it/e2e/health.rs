//! Issue 25, item 4: a gateway's `/healthz` answers as soon as the process
//! runs; its `/readyz` only once it applied a configuration from the
//! control plane.

use std::time::Duration;

use api_types::infra::{CreateGateway, CreateRegion};

use super::blocking;
use crate::lab::{CONTROL_PLANE, CONTROL_PLANE_PORT, Lab, wait_until};
use crate::support::{Backend, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs root: network namespaces and TUN (cargo xtask test runs it)"]
async fn gateway_is_ready_once_configured() {
    let lab = blocking(|| Lab::standard(1, 0));
    let mut server = TestServer::start(Backend::Sqlite).await;
    server
        .admin
        .create_region(&CreateRegion {
            name: "south".into(),
            description: None,
        })
        .await
        .unwrap();
    let created = server
        .admin
        .create_gateway(&CreateGateway {
            name: "g1".into(),
            region: "south".into(),
            endpoint: Some("198.18.0.1:51820".into()),
        })
        .await
        .unwrap();
    // The control plane does not listen in the lab yet: the gateway runs
    // but has no configuration.
    blocking(|| lab.start_gateway(1, &created.token));
    let up = blocking(|| {
        wait_until(Duration::from_secs(20), || {
            lab.gateway_http_status(1, "/healthz") == Some(200)
        })
    });
    assert!(up.is_some(), "no /healthz:\n{}", lab.gateway_log(1));
    assert_eq!(
        blocking(|| lab.gateway_http_status(1, "/readyz")),
        Some(503),
        "ready without a configuration"
    );

    server.listen_in_netns(
        &lab.ns("net"),
        format!("{CONTROL_PLANE}:{CONTROL_PLANE_PORT}")
            .parse()
            .unwrap(),
    );
    let ready = blocking(|| {
        wait_until(Duration::from_secs(30), || {
            lab.gateway_http_status(1, "/readyz") == Some(200)
        })
    });
    assert!(ready.is_some(), "never ready:\n{}", lab.gateway_log(1));
    assert_eq!(
        blocking(|| lab.gateway_http_status(1, "/healthz")),
        Some(200)
    );
    drop(lab);
    server.stop().await;
}
