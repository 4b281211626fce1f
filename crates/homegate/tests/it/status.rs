//! Issue 8, first part: the public status page follows the gateways'
//! heartbeats by itself, per region, and per municipality.

use api_types::infra::{CreateGateway, CreateRegion};
use api_types::tenancy::CreateTenant;
use store::gateway_stream::GatewayIdentity;

use crate::both_backends;
use crate::support::TestServer;

async fn page(server: &TestServer, path: &str, accept_language: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", server.url))
        .header("accept-language", accept_language)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    if status == 200 {
        let headers = response.headers();
        assert_eq!(headers["cache-control"], "public, max-age=15");
        assert!(
            headers.get("set-cookie").is_none(),
            "a public page sets no cookie"
        );
    }
    (status, response.text().await.unwrap())
}

/// The Statuspage-shaped summary: (indicator, [(component id, status)]).
async fn summary(server: &TestServer, path: &str) -> (String, Vec<(String, String)>) {
    let response = reqwest::get(format!("{}{path}", server.url)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=15");
    let body: serde_json::Value = response.json().await.unwrap();
    for field in [
        "page",
        "components",
        "incidents",
        "scheduled_maintenances",
        "status",
    ] {
        assert!(body.get(field).is_some(), "no {field} in {body}");
    }
    let components = body["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (
        body["status"]["indicator"].as_str().unwrap().to_owned(),
        components,
    )
}

async fn heartbeat(server: &TestServer, name: &str) {
    let gateways = server.admin.list_gateways().await.unwrap();
    let gateway = gateways.iter().find(|g| g.name == name).unwrap();
    server
        .store
        .gateway_seen(&GatewayIdentity {
            id: gateway.id.clone(),
            name: gateway.name.clone(),
            region_id: String::new(),
            region: gateway.region.clone(),
        })
        .await
        .unwrap();
}

async fn status_follows_the_gateways(server: &TestServer) {
    let admin = &server.admin;
    let (_, empty) = page(server, "/status", "en").await;
    assert!(
        empty.contains("No services are being monitored yet."),
        "{empty}"
    );

    for (region, description) in [("nord", "Region Nord"), ("sued", "Region Süd")] {
        admin
            .create_region(&CreateRegion {
                name: region.into(),
                description: Some(description.into()),
            })
            .await
            .unwrap();
    }
    for (name, region) in [
        ("gw-nord-1", "nord"),
        ("gw-nord-2", "nord"),
        ("gw-sued-1", "sued"),
    ] {
        admin
            .create_gateway(&CreateGateway {
                name: name.into(),
                region: region.into(),
                endpoint: None,
            })
            .await
            .unwrap();
    }
    admin
        .create_tenant(&CreateTenant {
            slug: "lemgo".into(),
            name: "Alte Hansestadt Lemgo".into(),
            default_language: None,
            address_pool: "10.50.0.0/16".into(),
            region: Some("sued".into()),
            max_sessions: None,
            max_devices: None,
        })
        .await
        .unwrap();

    // No gateway has reported yet: both regions are down.
    let (status, dutch) = page(server, "/status", "nl-BE,nl;q=0.9").await;
    assert_eq!(status, 200);
    assert!(dutch.contains("<html lang=\"nl\">"));
    assert!(dutch.contains("Sommige diensten zijn verstoord"), "{dutch}");
    assert_eq!(dutch.matches("Ernstige storing").count(), 2, "{dutch}");

    let pair = |id: &str, status: &str| (id.to_owned(), status.to_owned());
    assert_eq!(
        summary(server, "/api/v2/summary.json").await,
        (
            "critical".to_owned(),
            vec![
                pair("vpn-nord", "major_outage"),
                pair("vpn-sued", "major_outage")
            ]
        )
    );

    heartbeat(server, "gw-nord-1").await;
    let (_, english) = page(server, "/status?language=en", "nl").await;
    assert!(english.contains("<html lang=\"en\">"));
    assert!(english.contains("Degraded performance"), "{english}");
    assert!(english.contains("1 of 2 gateways online"), "{english}");
    assert!(english.contains("Major outage"), "{english}");

    heartbeat(server, "gw-nord-2").await;
    heartbeat(server, "gw-sued-1").await;
    let (_, german) = page(server, "/status", "de").await;
    assert!(german.contains("Alle Systeme funktionieren"), "{german}");
    assert!(!german.contains("Ausfall"), "{german}");

    assert_eq!(
        summary(server, "/api/v2/summary.json").await,
        (
            "none".to_owned(),
            vec![
                pair("vpn-nord", "operational"),
                pair("vpn-sued", "operational")
            ]
        )
    );
    assert_eq!(
        summary(server, "/status/lemgo/api/v2/summary.json").await,
        ("none".to_owned(), vec![pair("vpn-sued", "operational")])
    );

    // A municipality sees only the region that serves it.
    let (_, lemgo) = page(server, "/status/lemgo", "de").await;
    assert!(
        lemgo.contains("Status des Dienstes für Alte Hansestadt Lemgo"),
        "{lemgo}"
    );
    assert!(
        lemgo.contains("VPN sued") && !lemgo.contains("VPN nord"),
        "{lemgo}"
    );
    assert!(!lemgo.contains("<script"));

    let (status, missing) = page(server, "/status/nowhere", "en").await;
    assert_eq!(status, 404);
    assert!(missing.contains("nowhere"), "{missing}");
}

both_backends!(status_follows_the_gateways);
