//! Issue 25, item 4: health and readiness of the control plane, the
//! Prometheus alert rules and the Grafana dashboard.

use crate::both_backends;
use crate::support::TestServer;

pub(crate) async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// `/healthz` says the process is up; `/readyz` that the database answers
/// and carries this binary's schema.
async fn health_and_readiness(server: &TestServer) {
    assert_eq!(
        get(&format!("{}/healthz", server.url)).await,
        (200, "ok".into())
    );
    assert_eq!(
        get(&format!("{}/readyz", server.url)).await,
        (200, "ready".into())
    );

    // A schema that lacks this binary's newest migration is not ready.
    let newest = store::schema_version_known();
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1")
        .bind(newest)
        .execute(server.store.pool())
        .await
        .unwrap();
    // Migration numbers have gaps; the schema is at the highest one left.
    let remaining: i64 = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(server.store.pool())
        .await
        .unwrap();
    assert!(remaining < newest);
    let (status, body) = get(&format!("{}/readyz", server.url)).await;
    assert_eq!(status, 503, "{body}");
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("version {remaining}")), "{detail}");

    // An unreachable database is not ready; the process is still up.
    server.store.close().await;
    let (status, body) = get(&format!("{}/readyz", server.url)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(get(&format!("{}/healthz", server.url)).await.0, 200);
}

both_backends!(health_and_readiness);

/// Issue 20, item 6: the metrics name every municipality, so the public
/// listener shows them to provider staff only; the metrics listener serves
/// them to Prometheus without a credential, and nothing else.
async fn metrics_are_not_public(server: &TestServer) {
    server.tenant("lemgo", "10.77.0.0/16").await;
    let (status, body) = get(&format!("{}/metrics", server.url)).await;
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("lemgo"), "{body}");
    let coordinator = server
        .login_as(
            Some("lemgo"),
            "metrics-coordinator",
            api_types::Role::TenantAdmin,
        )
        .await;
    let refused = coordinator.metrics().await.unwrap_err();
    assert_eq!(
        refused.problem().map(|p| p.status),
        Some(403),
        "{refused:?}"
    );
    let operator = server
        .login_as(None, "metrics-operator", api_types::Role::ProviderOperator)
        .await;
    let metrics = operator.metrics().await.unwrap();
    assert!(metrics.contains("tenant=\"lemgo\""), "{metrics}");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = server::metrics_app(server.state.clone());
    let scrape = tokio::spawn(async move { axum::serve(listener, app).await });
    let (status, metrics) = get(&format!("http://{addr}/metrics")).await;
    let (console_status, _) = get(&format!("http://{addr}/login")).await;
    scrape.abort();
    assert_eq!(status, 200);
    assert!(metrics.contains("tenant=\"lemgo\""), "{metrics}");
    assert_eq!(console_status, 404);
}

both_backends!(metrics_are_not_public);

fn deploy_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// The alert rules are valid and fire as their unit tests expect.
#[test]
fn prometheus_rules_pass_promtool() {
    let dir = deploy_dir().join("prometheus");
    for args in [
        ["check", "rules", "homegate-alerts.yml"],
        ["test", "rules", "homegate-alerts.test.yml"],
    ] {
        let output = std::process::Command::new("promtool")
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| panic!("promtool is needed (Debian package prometheus): {e}"));
        assert!(
            output.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The metric names registered in a `metrics.rs` (`registry.register("name",
/// …)` under `prefix`), each also with the `_total` a counter is exposed as.
fn registered_names(source: &str, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (start, _) in source.match_indices("registry.register(") {
        let rest = &source[start..];
        let name = rest.split('"').nth(1).unwrap();
        names.push(format!("{prefix}_{name}"));
        names.push(format!("{prefix}_{name}_total"));
    }
    names
}

/// Every `homegate_*` metric the alert rules and the dashboard query is one
/// the control plane or the gateway exports.
#[test]
fn rules_and_dashboard_use_exported_metrics() {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |path: &str| std::fs::read_to_string(crates.join(path)).unwrap();
    let mut known = registered_names(&read("server/src/metrics.rs"), "homegate");
    known.extend(registered_names(
        &read("gateway/src/metrics.rs"),
        "homegate_gateway",
    ));
    assert!(known.len() > 30, "{known:?}");

    let dir = deploy_dir();
    for file in [
        "prometheus/homegate-alerts.yml",
        "prometheus/homegate-alerts.test.yml",
        "grafana/homegate.json",
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        if file.ends_with(".json") {
            let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(dashboard["panels"].as_array().is_some_and(|p| p.len() > 5));
        }
        let mut used = 0;
        for (start, _) in text.match_indices("homegate_") {
            let name: String = text[start..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            assert!(
                known.contains(&name),
                "{file} uses {name}, which homegate does not export"
            );
            used += 1;
        }
        assert!(used > 0, "{file} uses no homegate metric");
    }
}
