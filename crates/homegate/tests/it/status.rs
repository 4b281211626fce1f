//! Issue 8, first part: the public status page follows the gateways'
//! heartbeats by itself, per region, and per municipality.

use api_types::Language;
use api_types::infra::{CreateGateway, CreateRegion};
use api_types::tenancy::{CreateDevice, CreateTenant, DeviceKind};
use store::gateway_stream::GatewayIdentity;

use crate::both_backends;
use crate::support::{TestServer, public_key};

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
    let mut tokens = std::collections::HashMap::new();
    for (name, region) in [
        ("gw-nord-1", "nord"),
        ("gw-nord-2", "nord"),
        ("gw-sued-1", "sued"),
    ] {
        let created = admin
            .create_gateway(&CreateGateway {
                name: name.into(),
                region: region.into(),
                endpoint: None,
            })
            .await
            .unwrap();
        tokens.insert(name, created.token);
    }
    admin
        .create_tenant(&CreateTenant {
            slug: "lemgo".into(),
            name: "Alte Hansestadt Lemgo".into(),
            default_language: None,
            address_pool: "10.50.0.0/16".into(),
            region: Some("sued".into()),
            max_sessions: Some(1),
            max_devices: None,
        })
        .await
        .unwrap();
    // A quota of 0 closes the VPN for Venlo on purpose.
    admin
        .create_tenant(&CreateTenant {
            slug: "venlo".into(),
            name: "Gemeente Venlo".into(),
            default_language: Some(Language::Nl),
            address_pool: "10.51.0.0/16".into(),
            region: Some("sued".into()),
            max_sessions: Some(0),
            max_devices: None,
        })
        .await
        .unwrap();

    // No gateway has reported yet: not yet online, which is no outage, and
    // nothing is recorded for the uptime bars.
    let (status, dutch) = page(server, "/status", "nl-BE,nl;q=0.9").await;
    assert_eq!(status, 200);
    assert!(dutch.contains("<html lang=\"nl\">"));
    assert!(!dutch.contains("Ernstige storing"), "{dutch}");
    assert!(!dutch.contains("verstoord"), "{dutch}");
    assert_eq!(
        server
            .store
            .record_status_history(store::now_ms())
            .await
            .unwrap(),
        0
    );

    let pair = |id: &str, status: &str| (id.to_owned(), status.to_owned());
    assert_eq!(
        summary(server, "/api/v2/summary.json").await,
        ("none".to_owned(), vec![])
    );

    heartbeat(server, "gw-nord-1").await;
    let (_, english) = page(server, "/status?language=en", "nl").await;
    assert!(english.contains("<html lang=\"en\">"));
    assert!(english.contains("1 of 1 gateways online"), "{english}");
    assert!(english.contains("1 gateway not yet online"), "{english}");
    assert!(!english.contains("Major outage"), "{english}");
    assert!(!english.contains("VPN sued"), "{english}");

    // A gateway that has reported and then fell silent is an outage.
    heartbeat(server, "gw-nord-2").await;
    heartbeat(server, "gw-sued-1").await;
    sqlx::query("UPDATE gateways SET last_seen_at = 1 WHERE name = 'gw-nord-2'")
        .execute(server.store.pool())
        .await
        .unwrap();
    let (_, english) = page(server, "/status?language=en", "en").await;
    assert!(english.contains("Degraded performance"), "{english}");
    assert!(english.contains("1 of 2 gateways online"), "{english}");
    heartbeat(server, "gw-nord-2").await;

    // Venlo's closed VPN and Lemgo's full quota are their own business: the
    // page for everyone stays green, and no utilisation of 1.0 is reported
    // for a quota of 0.
    let identity = server
        .store
        .authenticate_gateway(&tokens["gw-sued-1"])
        .await
        .unwrap();
    let key = public_key();
    admin
        .create_device(
            "lemgo",
            &CreateDevice {
                name: "shared-laptop".into(),
                owner: None,
                kind: DeviceKind::Laptop,
                public_key: key.clone(),
            },
        )
        .await
        .unwrap();
    let admitted = server
        .store
        .admit_session(&identity, &key, 60_000)
        .await
        .unwrap();
    assert!(admitted.admitted, "{admitted:?}");
    let (_, german) = page(server, "/status", "de").await;
    assert!(german.contains("Alle Systeme funktionieren"), "{german}");
    assert!(!german.contains("Ausfall"), "{german}");
    assert!(!german.contains("belegt"), "{german}");
    let metrics = server.admin.metrics().await.unwrap();
    assert!(
        metrics.contains("homegate_quota_utilisation_ratio{tenant=\"lemgo\"} 1.0"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("homegate_quota_utilisation_ratio{tenant=\"venlo\"}"),
        "{metrics}"
    );
    let (_, lemgo) = page(server, "/status/lemgo", "en").await;
    assert!(lemgo.contains("Degraded performance"), "{lemgo}");
    assert!(
        lemgo.contains("all VPN seats of your municipality are in use"),
        "{lemgo}"
    );
    let (_, venlo) = page(server, "/status/venlo", "en").await;
    assert!(venlo.contains("All systems operational"), "{venlo}");

    // Without a language asked for, a municipality's page and feed speak
    // its own.
    for path in ["/status/venlo", "/status/venlo/feed.atom"] {
        let body = reqwest::get(format!("{}{path}", server.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            body.contains("lang=\"nl\"") || body.contains("xml:lang=\"nl\""),
            "{path}: {body}"
        );
    }

    assert_eq!(
        summary(server, "/api/v2/summary.json").await,
        (
            "none".to_owned(),
            vec![
                pair("group:VPN", "operational"),
                pair("vpn-nord", "operational"),
                pair("vpn-sued", "operational")
            ]
        )
    );
    assert_eq!(
        summary(server, "/status/venlo/api/v2/summary.json").await,
        (
            "none".to_owned(),
            vec![
                pair("group:VPN", "operational"),
                pair("vpn-sued", "operational")
            ]
        )
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
    assert!(lemgo.contains("alle VPN-Plätze Ihrer Kommune sind belegt"));
    // No inline script: only the local-time enhancement, as a file the
    // policy allows (the page works without it).
    assert_eq!(
        lemgo.matches("<script").count(),
        lemgo
            .matches("<script src=\"/assets/local-time.js\" defer></script>")
            .count(),
        "{lemgo}"
    );

    // It reloads itself only when the visitor asks (issue 24 item 10).
    assert!(!lemgo.contains("http-equiv=\"refresh\""), "{lemgo}");
    assert!(lemgo.contains("refresh=1"), "{lemgo}");
    let url = format!("{}/status/lemgo", server.url);
    let plain = reqwest::get(&url).await.unwrap();
    assert!(plain.headers().get("refresh").is_none());
    let asked = reqwest::get(format!("{url}?language=en&refresh=1"))
        .await
        .unwrap();
    assert_eq!(asked.headers()["refresh"], "60");
    assert!(
        asked
            .text()
            .await
            .unwrap()
            .contains("Stop updating this page")
    );

    let (status, missing) = page(server, "/status/nowhere", "en").await;
    assert_eq!(status, 404);
    assert!(missing.contains("nowhere"), "{missing}");
}

both_backends!(status_follows_the_gateways);
