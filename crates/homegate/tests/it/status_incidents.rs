//! Issue 8: components in groups and per tenant, operator overrides,
//! incidents with their lifecycle in three languages, scheduled
//! maintenance, stale incidents, uptime bars from the recorded history, and
//! the Atom feed (read by Python's feedparser).

use api_types::infra::{CreateGateway, CreateRegion};
use api_types::status::ComponentStatus;
use api_types::status::{
    Component, ComponentTexts, ComponentTranslations, CreateComponent, CreateIncident,
    CreateMaintenance, Impact, Incident, IncidentState, Localized, PostIncidentUpdate,
    SetComponentStatus, UpdateComponent,
};
use api_types::tenancy::CreateTenant;
use store::ProviderAccess;
use store::gateway_stream::GatewayIdentity;

use crate::both_backends;
use crate::support::{TestServer, problem_of};

pub(crate) async fn page(server: &TestServer, path: &str) -> String {
    let response = reqwest::get(format!("{}{path}", server.url)).await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

fn en(text: &str) -> Localized {
    Localized {
        en: Some(text.into()),
        ..Localized::default()
    }
}

pub(crate) async fn tenant(server: &TestServer, slug: &str, pool: &str, region: Option<&str>) {
    server
        .admin
        .create_tenant(&CreateTenant {
            slug: slug.into(),
            name: format!("Gemeinde {slug}"),
            default_language: None,
            address_pool: pool.into(),
            region: region.map(str::to_owned),
            max_sessions: None,
            max_devices: None,
        })
        .await
        .unwrap();
}

/// Python's feedparser reads the feed without complaint; returns its
/// entries' titles.
fn parse_feed(xml: &str) -> Vec<String> {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), xml).unwrap();
    let output = std::process::Command::new("/usr/bin/python3")
        .args([
            "-c",
            r#"
import sys, feedparser
d = feedparser.parse(open(sys.argv[1], 'rb').read())
assert not d.bozo, d.get('bozo_exception')
assert d.version == 'atom10', d.version
assert d.feed.title and d.feed.id
for e in d.entries:
    assert e.id and e.updated and e.link
    print(e.title)
"#,
        ])
        .arg(file.path())
        .output()
        .expect("python3 with feedparser (Debian python3-feedparser)");
    assert!(
        output.status.success(),
        "feedparser rejected the feed: {}\n{xml}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn incidents_components_and_maintenance(server: &TestServer) {
    let admin = &server.admin;
    tenant(server, "lemgo", "10.61.0.0/16", None).await;
    tenant(server, "detmold", "10.62.0.0/16", None).await;

    let create = |name: &str, title: &str, group: &str, tenants: Vec<String>| CreateComponent {
        name: name.into(),
        title: title.into(),
        description: None,
        group: Some(group.into()),
        tenants,
        position: None,
        translations: Default::default(),
    };
    let _: Component = admin
        .post(
            &["status", "components"],
            &create("conferencing", "Videokonferenz", "Zusammenarbeit", vec![]),
        )
        .await
        .unwrap();
    let _: Component = admin
        .post(
            &["status", "components"],
            &create(
                "meldewesen",
                "Meldewesen",
                "Fachverfahren",
                vec!["detmold".into()],
            ),
        )
        .await
        .unwrap();
    let duplicate = admin
        .post::<_, Component>(
            &["status", "components"],
            &create("conferencing", "Again", "x", vec![]),
        )
        .await;
    assert_eq!(problem_of(duplicate).0, 409);
    let unknown_tenant = admin
        .post::<_, Component>(
            &["status", "components"],
            &create("other", "Other", "x", vec!["nowhere".into()]),
        )
        .await;
    let (status, problem) = problem_of(unknown_tenant);
    assert_eq!(status, 422);
    assert!(problem.errors[0].message.contains("nowhere"), "{problem:?}");

    // Groups, and components for one municipality only.
    let lemgo = page(server, "/status/lemgo?language=de").await;
    assert!(
        lemgo.contains("Zusammenarbeit") && lemgo.contains("Videokonferenz"),
        "{lemgo}"
    );
    assert!(!lemgo.contains("Meldewesen"), "{lemgo}");
    let detmold = page(server, "/status/detmold?language=de").await;
    assert!(detmold.contains("Fachverfahren") && detmold.contains("Meldewesen"));

    // Title, description and group in other languages: each reader sees
    // their own, or the operator's texts where none was given. A group's
    // name given on one member names the whole group.
    let texts = |title: &str, description: &str, group: &str| {
        Some(ComponentTexts {
            title: Some(title.into()),
            description: Some(description.into()),
            group: Some(group.into()),
        })
    };
    let translated: Component = admin
        .patch(
            &["status", "components", "conferencing"],
            &UpdateComponent {
                translations: Some(ComponentTranslations {
                    nl: texts("Videovergaderen", "Voor overleg op afstand", "Samenwerking"),
                    en: texts("Video conferencing", "", "Collaboration"),
                    de: None,
                }),
                ..UpdateComponent::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        translated.title, "Videokonferenz",
        "the operator's text stays"
    );
    assert_eq!(
        translated.translations.en,
        Some(ComponentTexts {
            title: Some("Video conferencing".into()),
            description: None,
            group: Some("Collaboration".into()),
        }),
        "an empty text is no text"
    );
    let dutch = page(server, "/status/lemgo?language=nl").await;
    assert!(
        dutch.contains("Videovergaderen")
            && dutch.contains("Voor overleg op afstand")
            && dutch.contains("Samenwerking"),
        "{dutch}"
    );
    assert!(!dutch.contains("Videokonferenz") && !dutch.contains("Zusammenarbeit"));
    let german = page(server, "/status/lemgo?language=de").await;
    assert!(german.contains("Videokonferenz") && !german.contains("Videovergaderen"));
    let too_long = admin
        .patch::<_, Component>(
            &["status", "components", "conferencing"],
            &UpdateComponent {
                translations: Some(ComponentTranslations {
                    de: texts(&"x".repeat(121), "", &"y".repeat(61)),
                    ..ComponentTranslations::default()
                }),
                ..UpdateComponent::default()
            },
        )
        .await;
    let (status, problem) = problem_of(too_long);
    assert_eq!(status, 422);
    let fields: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["translations.de.title", "translations.de.group"]);

    // An operator's status, with its note (in other languages too) and who
    // set it.
    let set: Component = admin
        .put_json(
            &["status", "components", "conferencing", "status"],
            &SetComponentStatus {
                status: ComponentStatus::MajorOutage,
                note: Some("Anbieter gestört".into()),
                note_translations: Localized {
                    nl: Some("Storing bij de leverancier".into()),
                    ..Localized::default()
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(set.status, ComponentStatus::MajorOutage);
    let all = page(server, "/status?language=en").await;
    assert!(
        all.contains("Major outage") && all.contains("set by the operator"),
        "{all}"
    );
    assert!(all.contains("Anbieter gestört") && all.contains("Video conferencing"));
    let dutch = page(server, "/status?language=nl").await;
    assert!(
        dutch.contains("Storing bij de leverancier") && !dutch.contains("Anbieter gestört"),
        "{dutch}"
    );

    // An incident on Meldewesen: only Detmold's page shows it. Its message
    // exists in English only, which the Dutch page says.
    let incident: Incident = admin
        .post(
            &["status", "incidents"],
            &CreateIncident {
                title: Localized {
                    de: Some("Meldewesen nicht erreichbar".into()),
                    nl: None,
                    en: Some("Registry unreachable".into()),
                },
                impact: Impact::Major,
                components: vec!["meldewesen".into()],
                state: None,
                message: en("The hosting provider is investigating."),
            },
        )
        .await
        .unwrap();
    assert_eq!(incident.state, IncidentState::Investigating);
    assert!(!incident.stale);
    assert!(
        !page(server, "/status/lemgo?language=en")
            .await
            .contains("Registry unreachable")
    );
    let dutch = page(server, "/status/detmold?language=nl").await;
    assert!(dutch.contains("Registry unreachable"), "{dutch}");
    assert!(
        dutch.contains("(alleen beschikbaar in het Engels)"),
        "{dutch}"
    );
    assert!(dutch.contains("lang=\"en\""), "{dutch}");
    assert!(dutch.contains("Wordt onderzocht"), "{dutch}");
    let german = page(server, "/status/detmold?language=de").await;
    assert!(german.contains("Meldewesen nicht erreichbar"), "{german}");

    // Bad input is refused with field-level problems.
    let empty = admin
        .post::<_, Incident>(
            &["status", "incidents"],
            &CreateIncident {
                title: Localized::default(),
                impact: Impact::Minor,
                components: vec!["nothing-here".into()],
                state: None,
                message: en("x"),
            },
        )
        .await;
    let (status, problem) = problem_of(empty);
    assert_eq!(status, 422);
    assert!(
        problem.errors.iter().any(|e| e.field == "title"),
        "{problem:?}"
    );
    let wrong_state = admin
        .post::<_, Incident>(
            &["status", "incidents", &incident.id, "updates"],
            &PostIncidentUpdate {
                state: IncidentState::Completed,
                message: en("x"),
                impact: None,
            },
        )
        .await;
    assert_eq!(problem_of(wrong_state).0, 422);

    // The lifecycle: identified, then resolved; it moves to past incidents.
    for (state, text) in [
        (IncidentState::Identified, "A certificate expired."),
        (IncidentState::Resolved, "Renewed; everything works again."),
    ] {
        let _: Incident = admin
            .post(
                &["status", "incidents", &incident.id, "updates"],
                &PostIncidentUpdate {
                    state,
                    message: en(text),
                    impact: None,
                },
            )
            .await
            .unwrap();
    }
    let shown: Incident = admin
        .get(&["status", "incidents", &incident.id])
        .await
        .unwrap();
    assert_eq!(shown.state, IncidentState::Resolved);
    assert_eq!(shown.updates.len(), 3);
    assert!(shown.resolved_at.is_some());
    let detmold = page(server, "/status/detmold?language=en").await;
    let past = detmold.split("Past incidents").nth(1).unwrap();
    assert!(
        past.contains("Registry unreachable") && past.contains("Renewed"),
        "{detmold}"
    );
    let open: Vec<Incident> = admin.get(&["status", "incidents"]).await.unwrap();
    assert!(open.is_empty());

    // The history keeps 90 days: this incident moved back 40 days leaves
    // the page's past incidents (7 days) but stays in the history, under
    // its month; one moved back 120 days is gone from both.
    let back_then = |days: i64| store::now_ms() - days * 86_400_000;
    let move_back = |id: String, days: i64| {
        let pool = server.store.pool().clone();
        async move {
            sqlx::query("UPDATE incidents SET created_at = $1, resolved_at = $1 WHERE id = $2")
                .bind(back_then(days))
                .bind(id)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    move_back(incident.id.clone(), 40).await;
    let detmold = page(server, "/status/detmold?language=en").await;
    assert!(!detmold.contains("Registry unreachable"), "{detmold}");
    assert!(detmold.contains("/status/detmold/history"), "{detmold}");
    let history = page(server, "/status/detmold/history?language=en").await;
    let month = time::OffsetDateTime::now_utc() - time::Duration::days(40);
    let month_name = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ][usize::from(u8::from(month.month())) - 1];
    let heading = format!("{month_name} {}", month.year());
    let under_month = history.split(&heading).nth(1).unwrap_or_default();
    assert!(
        under_month.contains("Registry unreachable") && under_month.contains("Renewed"),
        "{heading} in {history}"
    );
    assert!(history.contains("No incidents reported."), "{history}");
    let german = page(server, "/status/history?language=de").await;
    assert!(german.contains("Störungsverlauf"), "{german}");
    move_back(incident.id.clone(), 120).await;
    let history = page(server, "/status/detmold/history?language=en").await;
    assert!(!history.contains("Registry unreachable"), "{history}");
    // Back to today for the feed below.
    move_back(incident.id.clone(), 0).await;
    let unknown = reqwest::get(format!("{}/status/nowhere/history", server.url))
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    // An incident nobody updated for two hours is flagged.
    let system = ProviderAccess::system("test");
    let now = store::now_ms();
    let hour = 3_600_000;
    let old = server
        .store
        .create_incident(
            &system,
            CreateIncident {
                title: en("Phones cannot connect"),
                impact: Impact::Minor,
                components: vec![],
                state: Some(IncidentState::Monitoring),
                message: en("We are watching."),
            },
            hour,
            now - 2 * hour,
        )
        .await
        .unwrap();
    let open: Vec<Incident> = admin.get(&["status", "incidents"]).await.unwrap();
    assert!(open.iter().any(|i| i.id == old.id && i.stale), "{open:?}");
    let all = page(server, "/status?language=en").await;
    assert!(all.contains("No update for more than 60 minutes"), "{all}");

    // Maintenance in progress moves Meldewesen into maintenance by itself,
    // and completing it early moves it out.
    let maintenance = server
        .store
        .create_maintenance(
            &system,
            CreateMaintenance {
                title: Localized {
                    de: Some("Wartung Meldewesen".into()),
                    nl: Some("Onderhoud".into()),
                    en: Some("Registry maintenance".into()),
                },
                components: vec!["meldewesen".into()],
                starts_at: time::OffsetDateTime::now_utc() - time::Duration::minutes(1),
                ends_at: time::OffsetDateTime::now_utc() + time::Duration::hours(2),
                message: en("Upgrading the database."),
            },
            hour,
            now,
        )
        .await
        .unwrap();
    assert_eq!(maintenance.state, IncidentState::InProgress);
    let components: Vec<Component> = admin.get(&["status", "components"]).await.unwrap();
    let meldewesen = components.iter().find(|c| c.name == "meldewesen").unwrap();
    assert_eq!(meldewesen.status, ComponentStatus::UnderMaintenance);
    let summary: serde_json::Value =
        reqwest::get(format!("{}/status/detmold/api/v2/summary.json", server.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        summary["scheduled_maintenances"][0]["status"], "in_progress",
        "{summary}"
    );
    assert!(summary["scheduled_maintenances"][0]["scheduled_until"].is_string());
    // Statuspage's shape: display names in incidents, groups as group
    // components, the dates Statuspage has.
    let window = &summary["scheduled_maintenances"][0];
    assert_eq!(
        window["components"][0],
        serde_json::json!({ "id": "meldewesen", "name": "Meldewesen" }),
        "{summary}"
    );
    assert!(window["started_at"].is_string(), "{summary}");
    let components = summary["components"].as_array().unwrap();
    let group = components
        .iter()
        .find(|c| c["name"] == "Fachverfahren")
        .unwrap_or_else(|| panic!("no group component in {summary}"));
    assert_eq!(group["group"], true, "{summary}");
    assert_eq!(group["components"], serde_json::json!(["meldewesen"]));
    assert_eq!(group["status"], "under_maintenance", "{summary}");
    let member = components.iter().find(|c| c["id"] == "meldewesen").unwrap();
    assert_eq!(member["group_id"], group["id"], "{summary}");
    assert_eq!(
        member["start_date"].as_str().unwrap().len(),
        10,
        "{summary}"
    );
    let bad_window = admin
        .post::<_, Incident>(
            &["status", "maintenance"],
            &CreateMaintenance {
                title: en("Backwards"),
                components: vec![],
                starts_at: time::OffsetDateTime::now_utc() + time::Duration::hours(2),
                ends_at: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
                message: en("x"),
            },
        )
        .await;
    assert_eq!(problem_of(bad_window).1.errors[0].field, "ends_at");
    let completed: Incident = admin
        .post(
            &["status", "incidents", &maintenance.id, "updates"],
            &PostIncidentUpdate {
                state: IncidentState::Completed,
                message: en("Done early."),
                impact: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(completed.state, IncidentState::Completed);
    let component: Component = admin
        .get(&["status", "components", "meldewesen"])
        .await
        .unwrap();
    assert_eq!(component.status, ComponentStatus::Operational);

    // Uptime bars come from the recorded history: an outage two days ago
    // shows as a red bar and lowers the 90-day figure.
    let day = 86_400_000;
    let midnight = now - now.rem_euclid(day);
    for (status, at) in [
        (ComponentStatus::Operational, midnight - 3 * day),
        (ComponentStatus::MajorOutage, midnight - 2 * day),
        (ComponentStatus::Operational, midnight - 2 * day + day / 2),
    ] {
        server
            .store
            .insert_status_history("meldewesen", status, at)
            .await
            .unwrap();
    }
    let detmold = page(server, "/status/detmold?language=en").await;
    let row = detmold.split("Meldewesen").nth(1).unwrap();
    let row = row.split("</tr>").next().unwrap();
    assert!(row.contains("bar bad"), "{row}");
    // Three days up, one day up half the time: 87.5 % over the known days.
    assert!(row.contains("87.50 % available over 90 days"), "{row}");
    // As a German reader writes it.
    let german = page(server, "/status/detmold?language=de").await;
    assert!(german.contains("87,50 % verfügbar in 90 Tagen"), "{german}");

    // A region's VPN follows its gateway until an operator overrides it.
    admin
        .create_region(&CreateRegion {
            name: "west".into(),
            description: None,
        })
        .await
        .unwrap();
    admin
        .create_gateway(&CreateGateway {
            name: "gw-west".into(),
            region: "west".into(),
            endpoint: None,
        })
        .await
        .unwrap();
    let gateway = admin.list_gateways().await.unwrap().pop().unwrap();
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
    let vpn: Component = admin
        .get(&["status", "components", "vpn-west"])
        .await
        .unwrap();
    assert_eq!(
        (vpn.status, vpn.status_source),
        (
            ComponentStatus::Operational,
            api_types::status::StatusSource::Automatic
        )
    );
    let vpn: Component = admin
        .put_json(
            &["status", "components", "vpn-west", "status"],
            &SetComponentStatus {
                status: ComponentStatus::PartialOutage,
                note: None,
                note_translations: Localized::default(),
            },
        )
        .await
        .unwrap();
    assert_eq!(vpn.status, ComponentStatus::PartialOutage);
    let vpn: Component = admin
        .delete_json(&["status", "components", "vpn-west", "status"])
        .await
        .unwrap();
    assert_eq!(vpn.status, ComponentStatus::Operational);
    assert_eq!(
        vpn.status_source,
        api_types::status::StatusSource::Automatic
    );
    let deleting_a_region = admin.delete(&["status", "components", "vpn-west"]).await;
    assert_eq!(problem_of(deleting_a_region).0, 409);

    // The feed: per municipality, in the reader's language.
    let titles = parse_feed(&page(server, "/status/detmold/feed.atom?language=de").await);
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("Meldewesen nicht erreichbar")),
        "{titles:?}"
    );
    assert!(
        titles.iter().any(|t| t.starts_with("Wartung Meldewesen")),
        "{titles:?}"
    );
    let lemgo_feed = page(server, "/status/lemgo/feed.atom?language=en").await;
    assert!(
        lemgo_feed.contains(&format!("#incident-{}", old.id)),
        "each entry links to its incident: {lemgo_feed}"
    );
    let lemgo_page = page(server, "/status/lemgo?language=en").await;
    assert!(lemgo_page.contains(&format!("id=\"incident-{}\"", old.id)));
    let lemgo = parse_feed(&lemgo_feed);
    assert!(!lemgo.iter().any(|t| t.contains("Registry")), "{lemgo:?}");
    assert!(
        lemgo.iter().any(|t| t.contains("Phones cannot connect")),
        "{lemgo:?}"
    );
    // Statuspage's summary lists open incidents only.
    let summary: serde_json::Value = reqwest::get(format!("{}/api/v2/summary.json", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = summary["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Phones cannot connect"], "{summary}");
    let incident = &summary["incidents"][0];
    assert!(incident["monitoring_at"].is_string(), "{summary}");
    assert!(incident["started_at"].is_string(), "{summary}");
    assert!(
        incident["shortlink"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/status#incident-{}", old.id)),
        "{summary}"
    );
}

both_backends!(incidents_components_and_maintenance);
