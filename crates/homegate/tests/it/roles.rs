//! The role table of docs/api.md, walked row by row: every cell is checked
//! against what the server answers, so the table and the code cannot drift
//! apart (issue 20, item 9).
//!
//! A cell is `✓`/`all` (allowed in every tenant), `own`/`own tenant`/`its
//! tenant` (allowed in the caller's tenant, 404 in another) or empty (403 in
//! the caller's own tenant; 403 or 404 elsewhere). Rows that concern no
//! tenant know only `✓` (allowed) and empty (403).

use std::sync::atomic::{AtomicU32, Ordering};

use api_types::Language;
use api_types::Role;
use api_types::audit::AuditQuery;
use api_types::auth::CreateToken;
use api_types::infra::CreateRegion;
use api_types::tenancy::{
    CreateDevice, CreateGroup, CreateTenant, DeviceKind, SetPolicy, SetQuota, UpdateTenant,
};
use client::{Client, ClientError};

use crate::both_backends;
use crate::support::{TestServer, public_key};

both_backends!(every_cell_of_the_role_table_holds);

const API_DOC: &str = include_str!("../../../../docs/api.md");

/// The caller's own tenant and another one.
const OWN: &str = "aa";
const OTHER: &str = "bb";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Everywhere,
    Own,
    Nothing,
}

fn cell(text: &str) -> Cell {
    match text {
        "✓" | "all" => Cell::Everywhere,
        "own" | "own tenant" | "its tenant" => Cell::Own,
        "" => Cell::Nothing,
        other => panic!("docs/api.md: unknown cell '{other}' in the role table"),
    }
}

struct Row {
    label: String,
    cells: Vec<Cell>,
}

/// The role table: its column headings and rows.
fn role_table() -> (Vec<String>, Vec<Row>) {
    let section = API_DOC
        .split("## Roles")
        .nth(1)
        .expect("docs/api.md has a Roles section");
    let mut lines = section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'));
    let split = |line: &str| -> Vec<String> {
        let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
        inner.split('|').map(|c| c.trim().to_owned()).collect()
    };
    let header = split(lines.next().expect("the role table has a header"));
    let _separator = lines.next();
    let rows = lines
        .map(|line| {
            let cells = split(line);
            assert_eq!(
                cells.len(),
                header.len(),
                "row '{line}' has the wrong width"
            );
            Row {
                label: cells[0].clone(),
                cells: cells[1..].iter().map(|c| cell(c)).collect(),
            }
        })
        .collect();
    (header[1..].to_vec(), rows)
}

/// Outcome of one call: `Ok` or the problem's status.
fn outcome<T: std::fmt::Debug>(result: client::Result<T>) -> Result<(), u16> {
    match result {
        Ok(_) => Ok(()),
        Err(ClientError::Api { status, .. }) => Err(status),
        Err(other) => panic!("expected an answer, got {other:?}"),
    }
}

/// Several calls that make up one row must all answer alike.
fn alike(label: &str, outcomes: &[Result<(), u16>]) -> Result<(), u16> {
    let first = outcomes[0];
    assert!(
        outcomes.iter().all(|o| *o == first),
        "the calls of row '{label}' answer differently: {outcomes:?}"
    );
    first
}

struct World<'a> {
    server: &'a TestServer,
    counter: AtomicU32,
}

impl World<'_> {
    fn next(&self) -> u32 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// Whether the row concerns no tenant (provider-wide or the own account).
    fn provider_wide(label: &str) -> bool {
        matches!(
            label,
            "tenants: create, delete" | "regions, gateways" | "provider staff accounts"
        ) || label.starts_with("own account")
    }

    /// Does what the row says, as `client`, in `tenant`.
    async fn attempt(&self, label: &str, client: &Client, tenant: &str) -> Result<(), u16> {
        let n = self.next();
        let admin = &self.server.admin;
        match label {
            "tenants: create, delete" => {
                let slug = format!("made{n}");
                let made = outcome(
                    client
                        .create_tenant(&CreateTenant {
                            slug: slug.clone(),
                            name: format!("Made {n}"),
                            default_language: None,
                            address_pool: format!("10.{}.0.0/16", 100 + n % 150),
                            region: None,
                            max_sessions: None,
                            max_devices: None,
                        })
                        .await,
                );
                made?;
                outcome(client.delete_tenant(&slug).await)
            }
            "tenant: view" => outcome(client.get_tenant(tenant).await),
            "tenant: rename, language" => {
                let request = UpdateTenant {
                    name: Some(format!("Gemeinde {tenant} {n}")),
                    default_language: Some(Language::De),
                    region: None,
                };
                outcome(client.update_tenant(tenant, &request).await)
            }
            "tenant: region" => {
                let region = if n.is_multiple_of(2) {
                    "north"
                } else {
                    "south"
                };
                let request = UpdateTenant {
                    region: Some(Some(region.to_owned())),
                    ..UpdateTenant::default()
                };
                outcome(client.update_tenant(tenant, &request).await)
            }
            "quota (`max_sessions`, `max_devices`)" => {
                let request = SetQuota {
                    max_devices: Some(Some(1000 + n)),
                    ..SetQuota::default()
                };
                outcome(client.set_quota(tenant, &request).await)
            }
            "policy (priority seats, idle timeout, MFA)" => {
                let request = SetPolicy {
                    session_idle_timeout_secs: Some(300 + n),
                    ..SetPolicy::default()
                };
                outcome(client.set_policy(tenant, &request).await)
            }
            "users, groups, applications, access rules" => {
                let group = CreateGroup {
                    name: format!("group{n}"),
                    description: None,
                };
                alike(
                    label,
                    &[
                        outcome(client.list_users(tenant).await),
                        outcome(client.create_group(tenant, &group).await),
                        outcome(client.list_applications(tenant).await),
                        outcome(client.list_access_rules(tenant).await),
                    ],
                )
            }
            "devices: list, revoke" => {
                let device = admin
                    .create_device(tenant, &device_request(n))
                    .await
                    .unwrap();
                alike(
                    label,
                    &[
                        outcome(client.list_devices(tenant).await),
                        outcome(client.revoke_device(tenant, &device.id).await),
                    ],
                )
            }
            "devices: register" => outcome(client.create_device(tenant, &device_request(n)).await),
            "regions, gateways" => {
                let name = format!("region{n}");
                let request = CreateRegion {
                    name: name.clone(),
                    description: None,
                };
                let made = outcome(client.create_region(&request).await);
                let listed = outcome(client.list_gateways().await);
                let deleted = match made {
                    Ok(()) => outcome(client.delete_region(&name).await),
                    Err(status) => Err(status),
                };
                alike(label, &[made, listed, deleted])
            }
            "provider staff accounts" => outcome(client.list_provider_users().await),
            "audit log" => {
                let query = AuditQuery {
                    tenant: Some(tenant.to_owned()),
                    ..AuditQuery::default()
                };
                outcome(client.audit(&query).await)
            }
            label if label.starts_with("own account") => {
                let request = CreateToken {
                    name: format!("script{n}"),
                    tenant: None,
                    expires_in_days: Some(1),
                };
                alike(
                    label,
                    &[
                        outcome(client.list_tokens().await),
                        outcome(client.create_token(&request).await),
                    ],
                )
            }
            other => panic!(
                "docs/api.md's role table has a row this test does not know: '{other}'; \
                 teach `attempt` how to do it"
            ),
        }
    }
}

fn device_request(n: u32) -> CreateDevice {
    CreateDevice {
        name: format!("laptop{n}"),
        owner: None,
        kind: DeviceKind::Laptop,
        public_key: public_key(),
    }
}

async fn every_cell_of_the_role_table_holds(server: &TestServer) {
    let (columns, rows) = role_table();
    assert_eq!(
        columns,
        [
            "provider admin",
            "provider operator",
            "tenant admin",
            "employee",
            "token restricted to a tenant"
        ],
        "the columns of docs/api.md's role table"
    );
    assert_eq!(
        rows.len(),
        13,
        "docs/api.md's role table lost or gained a row"
    );
    for region in ["north", "south"] {
        server
            .admin
            .create_region(&CreateRegion {
                name: region.to_owned(),
                description: None,
            })
            .await
            .unwrap();
    }
    server.tenant(OWN, "10.40.0.0/16").await;
    server.tenant(OTHER, "10.41.0.0/16").await;
    let operator = server
        .login_as(None, "operator", Role::ProviderOperator)
        .await;
    let tenant_admin = server.login_as(Some(OWN), "ta", Role::TenantAdmin).await;
    let employee = server.login_as(Some(OWN), "emp", Role::Employee).await;
    let restricted = server
        .admin
        .create_token(&CreateToken {
            name: "aa-automation".to_owned(),
            tenant: Some(OWN.to_owned()),
            expires_in_days: None,
        })
        .await
        .unwrap();
    let restricted = server.anonymous().with_token(restricted.secret);
    let callers = [
        &server.admin,
        &operator,
        &tenant_admin,
        &employee,
        &restricted,
    ];

    let world = World {
        server,
        counter: AtomicU32::new(0),
    };
    let mut wrong = Vec::new();
    for row in &rows {
        for ((column, expected), caller) in columns.iter().zip(&row.cells).zip(callers) {
            let label = &row.label;
            if World::provider_wide(label) {
                let got = world.attempt(label, caller, OWN).await;
                let holds = match expected {
                    Cell::Everywhere => got.is_ok(),
                    Cell::Nothing => got == Err(403),
                    Cell::Own => panic!("row '{label}' concerns no tenant: no 'own' cell"),
                };
                if !holds {
                    wrong.push(format!(
                        "{label} / {column}: expected {expected:?}, got {got:?}"
                    ));
                }
                continue;
            }
            let own = world.attempt(label, caller, OWN).await;
            let other = world.attempt(label, caller, OTHER).await;
            let holds = match expected {
                Cell::Everywhere => own.is_ok() && other.is_ok(),
                Cell::Own => own.is_ok() && other == Err(404),
                Cell::Nothing => own == Err(403) && matches!(other, Err(403 | 404)),
            };
            if !holds {
                wrong.push(format!(
                    "{label} / {column}: expected {expected:?}, got {own:?} in its tenant and \
                     {other:?} in another"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "docs/api.md's role table and the server disagree:\n{}",
        wrong.join("\n")
    );
}
