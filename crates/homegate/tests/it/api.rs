//! The REST API end to end: happy paths, problem documents, audit, tokens.

use api_types::Role;
use api_types::audit::AuditQuery;
use api_types::auth::{CreateToken, LoginRequest};
use api_types::infra::{CreateGateway, CreateRegion};
use api_types::tenancy::{
    CreateAccessRule, CreateApplication, CreateDevice, CreateGroup, CreateTenant, CreateUser,
    DeviceKind, DeviceState, Protocol, SetPolicy, SetQuota, UpdateUser,
};

use crate::both_backends;
use crate::support::{TestServer, problem_of, public_key};

both_backends!(
    openapi_document_describes_the_api,
    full_setup_is_audited,
    bad_input_gets_problems_and_changes_nothing,
    devices_get_stable_addresses_and_respect_max_devices,
    tokens_are_scoped_and_revocable,
    audit_export_and_filters,
    one_time_passwords_must_be_replaced,
    repeated_failed_logins_lock_the_account,
    quota_and_policy,
    draining_gateways,
);

async fn openapi_document_describes_the_api(server: &TestServer) {
    let document: serde_json::Value = server.anonymous().get(&["openapi.json"]).await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/tenants",
        "/tenants/{tenant}",
        "/tenants/{tenant}/quota",
        "/tenants/{tenant}/users",
        "/tenants/{tenant}/groups/{group}/members/{user}",
        "/tenants/{tenant}/applications",
        "/tenants/{tenant}/access-rules",
        "/tenants/{tenant}/devices",
        "/regions",
        "/gateways",
        "/tokens",
        "/audit",
        "/audit/export",
        "/auth/login",
    ] {
        assert!(paths.contains_key(path), "OpenAPI lacks {path}");
    }
    assert!(document["components"]["schemas"]["Problem"].is_object());

    // Every reference resolves (a `$ref` to `ManualFormat` dangled).
    let mut references = Vec::new();
    collect_refs(&document, &mut references);
    assert!(!references.is_empty());
    for reference in references {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {reference}"));
        assert!(
            document["components"]["schemas"][name].is_object(),
            "dangling reference {reference}"
        );
    }
    // `all` is a query parameter, not part of the path.
    let all = document["paths"]["/status/incidents"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "all")
        .unwrap();
    assert_eq!(all["in"], "query");
    // Errors are documented as sent: application/problem+json, and every
    // operation names its 4xx answers.
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            for status in ["400", "404", "422"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} does not document {status}"
                );
            }
            for (status, response) in responses {
                if status.starts_with('4') {
                    let content = response["content"].as_object().unwrap();
                    assert!(
                        content.contains_key("application/problem+json")
                            && !content.contains_key("application/json"),
                        "{method} {path} {status}: {content:?}"
                    );
                }
            }
        }
    }
    // The audit log's limit has the range the server enforces.
    let limit = document["paths"]["/audit"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["maximum"], 1000);
    let (status, _) = problem_of(
        server
            .admin
            .audit(&AuditQuery {
                limit: Some(1001),
                ..AuditQuery::default()
            })
            .await,
    );
    assert_eq!(status, 400);
    let token = server
        .admin
        .create_token(&CreateToken {
            name: "raw".into(),
            tenant: None,
            expires_in_days: None,
        })
        .await
        .unwrap();
    let raw = reqwest::Client::new()
        .get(format!("{}/api/v1/audit?limit=2147483648", server.url))
        .bearer_auth(token.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    assert_eq!(
        raw.headers()["content-type"],
        api_types::problem::CONTENT_TYPE
    );
}

fn collect_refs(value: &serde_json::Value, into: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", serde_json::Value::String(reference)) => {
                        into.push(reference.clone());
                    }
                    _ => collect_refs(value, into),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                collect_refs(item, into);
            }
        }
        _ => {}
    }
}

async fn full_setup_is_audited(server: &TestServer) {
    let admin = &server.admin;
    admin
        .create_region(&CreateRegion {
            name: "south".into(),
            description: Some("Region Süd".into()),
        })
        .await
        .unwrap();
    let tenant = admin
        .create_tenant(&CreateTenant {
            slug: "lemgo".into(),
            name: "Alte Hansestadt Lemgo".into(),
            default_language: Some(api_types::Language::De),
            address_pool: "10.20.0.0/16".into(),
            region: Some("south".into()),
            max_sessions: Some(50),
            max_devices: Some(200),
        })
        .await
        .unwrap();
    assert_eq!(tenant.region.as_deref(), Some("south"));
    assert_eq!(tenant.quota.max_sessions, Some(50));

    let it = server
        .login_as(Some("lemgo"), "it@lemgo.de", Role::TenantAdmin)
        .await;
    let created = it
        .create_user(
            "lemgo",
            &CreateUser {
                username: "anna".into(),
                display_name: Some("Anna Schmidt".into()),
                email: Some("anna@lemgo.de".into()),
                role: Role::Employee,
                password: None,
                language: None,
            },
        )
        .await
        .unwrap();
    assert!(created.initial_password.is_some());
    it.create_group(
        "lemgo",
        &CreateGroup {
            name: "office".into(),
            description: None,
        },
    )
    .await
    .unwrap();
    let group = it
        .add_group_member("lemgo", "office", "anna")
        .await
        .unwrap();
    assert_eq!(group.members, vec!["anna"]);
    let application = it
        .create_application(
            "lemgo",
            &CreateApplication {
                name: "fileserver".into(),
                description: None,
                cidr: "198.18.10.0/24".into(),
                protocol: Protocol::Tcp,
                ports: vec!["445".into(), "8000-8100".into()],
                web_upstream: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(application.ports, vec!["445", "8000-8100"]);
    it.create_access_rule(
        "lemgo",
        &CreateAccessRule {
            group: "office".into(),
            application: "fileserver".into(),
        },
    )
    .await
    .unwrap();
    let device = it
        .create_device(
            "lemgo",
            &CreateDevice {
                name: "Annas Laptop".into(),
                owner: Some("anna".into()),
                kind: DeviceKind::Laptop,
                public_key: public_key(),
            },
        )
        .await
        .unwrap();
    assert_eq!(device.tunnel_address.as_deref(), Some("10.20.0.2"));
    admin
        .create_gateway(&CreateGateway {
            name: "gw-south-1".into(),
            region: "south".into(),
            endpoint: Some("vpn-south.example.org:51820".into()),
        })
        .await
        .unwrap();

    let events = admin.audit(&AuditQuery::default()).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "region.create",
        "tenant.create",
        "user.create",
        "group.create",
        "group.member.add",
        "application.create",
        "access_rule.create",
        "device.create",
        "gateway.create",
    ] {
        assert!(
            actions.contains(&action),
            "audit lacks {action}: {actions:?}"
        );
    }
    let anna = events
        .iter()
        .find(|e| e.action == "user.create" && e.target_name == "anna")
        .unwrap();
    assert_eq!(anna.actor, "it@lemgo.de");
    assert_eq!(anna.tenant.as_deref(), Some("lemgo"));
    assert_eq!(anna.source.as_deref(), Some("127.0.0.1"));
    // The tenant admin sees their tenant's events only.
    let tenant_events = it.audit(&AuditQuery::default()).await.unwrap();
    assert!(
        tenant_events
            .iter()
            .all(|e| e.tenant.as_deref() == Some("lemgo"))
    );
    assert!(tenant_events.iter().any(|e| e.action == "device.create"));
}

async fn count_events(server: &TestServer) -> usize {
    server
        .admin
        .audit(&AuditQuery {
            limit: Some(1000),
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .len()
}

async fn bad_input_gets_problems_and_changes_nothing(server: &TestServer) {
    let admin = &server.admin;
    server.tenant("lemgo", "10.20.0.0/16").await;
    let before_events = count_events(server).await;
    let before_tenants = admin.list_tenants().await.unwrap();

    let (status, problem) = problem_of(admin.get_tenant("nowhere").await);
    assert_eq!(status, 404);
    assert!(problem.detail.unwrap().contains("nowhere"));

    let (status, problem) = problem_of(
        admin
            .create_tenant(&CreateTenant {
                slug: "lemgo".into(),
                name: "Again".into(),
                default_language: None,
                address_pool: "10.99.0.0/16".into(),
                region: None,
                max_sessions: None,
                max_devices: None,
            })
            .await,
    );
    assert_eq!(status, 409);
    assert!(problem.detail.unwrap().contains("lemgo"));

    let (status, problem) = problem_of(
        admin
            .create_tenant(&CreateTenant {
                slug: "detmold".into(),
                name: "Detmold".into(),
                default_language: None,
                address_pool: "10.20.128.0/17".into(),
                region: None,
                max_sessions: None,
                max_devices: None,
            })
            .await,
    );
    assert_eq!(status, 409);
    assert!(problem.detail.unwrap().contains("overlaps"));

    let (status, problem) = problem_of(
        admin
            .create_application(
                "lemgo",
                &CreateApplication {
                    name: "x".into(),
                    description: None,
                    cidr: "198.18.300.0/24".into(),
                    protocol: Protocol::Tcp,
                    ports: vec!["70000".into()],
                    web_upstream: None,
                },
            )
            .await,
    );
    assert_eq!(status, 422);
    assert_eq!(problem.kind, "/docs/problems#validation");
    let fields: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["cidr", "ports"]);

    let (status, _) = problem_of(
        admin
            .create_tenant(&CreateTenant {
                slug: "region-less".into(),
                name: "X".into(),
                default_language: None,
                address_pool: "10.77.0.0/16".into(),
                region: Some("atlantis".into()),
                max_sessions: None,
                max_devices: None,
            })
            .await,
    );
    assert_eq!(status, 404);

    // Wrong role: an employee may not create users.
    let employee = server.login_as(Some("lemgo"), "bert", Role::Employee).await;
    let after_employee = count_events(server).await;
    let (status, problem) = problem_of(
        employee
            .create_user(
                "lemgo",
                &CreateUser {
                    username: "mallory".into(),
                    display_name: None,
                    email: None,
                    role: Role::TenantAdmin,
                    password: None,
                    language: None,
                },
            )
            .await,
    );
    assert_eq!(status, 403);
    assert!(problem.detail.unwrap().contains("employee"));
    // A tenant admin cannot mint provider roles.
    let it = server
        .login_as(Some("lemgo"), "it@lemgo.de", Role::TenantAdmin)
        .await;
    let after_admin = count_events(server).await;
    let (status, _) = problem_of(
        it.create_user(
            "lemgo",
            &CreateUser {
                username: "sneaky".into(),
                display_name: None,
                email: None,
                role: Role::ProviderAdmin,
                password: None,
                language: None,
            },
        )
        .await,
    );
    assert_eq!(status, 422);

    // Raw HTTP: malformed JSON and a missing content type.
    let post = reqwest::Method::POST;
    let status = raw_status(
        server,
        post.clone(),
        "/api/v1/tenants",
        Some("{not json"),
        true,
    )
    .await;
    assert_eq!(status, 400);
    let status = raw_status(server, post.clone(), "/api/v1/tenants", Some("{}"), false).await;
    assert_eq!(status, 415);
    // serde would fill a struct from an array of its fields; the API takes
    // objects only.
    let status = raw_status(
        server,
        reqwest::Method::PATCH,
        "/api/v1/tenants/lemgo/policy",
        Some("[null, null]"),
        true,
    )
    .await;
    assert_eq!(status, 422);
    let status = raw_status(
        server,
        post,
        "/api/v1/tenants",
        Some(r#"{"slug":"x"}"#),
        true,
    )
    .await;
    assert_eq!(status, 422, "missing fields");
    let status = raw_status(server, reqwest::Method::GET, "/api/v1/nothing", None, true).await;
    assert_eq!(status, 404);

    assert_eq!(admin.list_tenants().await.unwrap(), before_tenants);
    // Only the user creation and its login happened; the raw requests made
    // tokens (audited) but changed nothing else.
    assert_eq!(after_employee, before_events + 2);
    let events = server
        .admin
        .audit(&AuditQuery {
            limit: Some(1000),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let since_admin: Vec<&str> = events[..events.len() - after_admin]
        .iter()
        .map(|e| e.action.as_str())
        .collect();
    assert!(
        since_admin.iter().all(|a| *a == "token.create"),
        "{since_admin:?}"
    );
}

/// Status code of a raw request, checking that errors are problem JSON.
async fn raw_status(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<&str>,
    json: bool,
) -> u16 {
    let token = server
        .admin
        .create_token(&CreateToken {
            name: "raw".into(),
            tenant: None,
            expires_in_days: Some(1),
        })
        .await
        .unwrap()
        .secret;
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", server.url))
        .bearer_auth(token);
    if json {
        request = request.header("content-type", "application/json");
    }
    if let Some(body) = body {
        request = request.body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if status >= 400 {
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(content_type, "application/problem+json", "{path}");
        let problem: api_types::problem::Problem = response.json().await.unwrap();
        assert_eq!(problem.status, status);
        assert!(problem.detail.is_some());
    }
    status
}

async fn devices_get_stable_addresses_and_respect_max_devices(server: &TestServer) {
    let admin = &server.admin;
    server.tenant("small", "10.30.0.0/29").await;
    admin
        .set_quota(
            "small",
            &SetQuota {
                max_sessions: None,
                max_devices: Some(Some(3)),
                end_newest_sessions: false,
            },
        )
        .await
        .unwrap();
    let mut devices = Vec::new();
    for n in 0..3 {
        devices.push(
            admin
                .create_device(
                    "small",
                    &CreateDevice {
                        name: format!("device {n}"),
                        owner: None,
                        kind: DeviceKind::Phone,
                        public_key: public_key(),
                    },
                )
                .await
                .unwrap(),
        );
    }
    let addresses: Vec<_> = devices
        .iter()
        .map(|d| d.tunnel_address.clone().unwrap())
        .collect();
    assert_eq!(addresses, vec!["10.30.0.2", "10.30.0.3", "10.30.0.4"]);
    let (status, problem) = problem_of(
        admin
            .create_device(
                "small",
                &CreateDevice {
                    name: "one too many".into(),
                    owner: None,
                    kind: DeviceKind::Phone,
                    public_key: public_key(),
                },
            )
            .await,
    );
    assert_eq!(status, 409);
    assert!(problem.detail.unwrap().contains("at most 3 devices"));

    let revoked = admin.revoke_device("small", &devices[1].id).await.unwrap();
    assert_eq!(revoked.state, DeviceState::Revoked);
    let reused_key = devices[1].public_key.clone().unwrap();
    let (status, _) = problem_of(
        admin
            .create_device(
                "small",
                &CreateDevice {
                    name: "same key".into(),
                    owner: None,
                    kind: DeviceKind::Phone,
                    public_key: reused_key,
                },
            )
            .await,
    );
    assert_eq!(status, 409, "a revoked key stays unusable");
    let replacement = admin
        .create_device(
            "small",
            &CreateDevice {
                name: "replacement".into(),
                owner: None,
                kind: DeviceKind::Phone,
                public_key: public_key(),
            },
        )
        .await
        .unwrap();
    assert_eq!(replacement.tunnel_address.as_deref(), Some("10.30.0.3"));
    let (status, problem) = problem_of(
        admin
            .create_device(
                "small",
                &CreateDevice {
                    name: "bad key".into(),
                    owner: None,
                    kind: DeviceKind::Phone,
                    public_key: "not-a-key".into(),
                },
            )
            .await,
    );
    assert_eq!(status, 422);
    assert_eq!(problem.errors[0].field, "public_key");
}

async fn tokens_are_scoped_and_revocable(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    server.tenant("detmold", "10.21.0.0/16").await;
    let created = server
        .admin
        .create_token(&CreateToken {
            name: "lemgo automation".into(),
            tenant: Some("lemgo".into()),
            expires_in_days: Some(30),
        })
        .await
        .unwrap();
    assert!(created.secret.starts_with("hgt_"));
    let scoped = server.anonymous().with_token(created.secret.clone());
    scoped.get_tenant("lemgo").await.unwrap();
    let visible = scoped.list_tenants().await.unwrap();
    assert_eq!(visible.len(), 1);
    assert_eq!(problem_of(scoped.get_tenant("detmold").await).0, 404);
    assert_eq!(problem_of(scoped.list_regions().await).0, 403);
    // A scoped token cannot mint tokens at all (account management needs a
    // full-scope credential).
    let (status, _) = problem_of(
        scoped
            .create_token(&CreateToken {
                name: "child".into(),
                tenant: None,
                expires_in_days: None,
            })
            .await,
    );
    assert_eq!(status, 403);

    server.admin.revoke_token(&created.token.id).await.unwrap();
    let (status, _) = problem_of(scoped.list_tenants().await);
    assert_eq!(status, 401);
    let tokens = server.admin.list_tokens().await.unwrap();
    let revoked = tokens.iter().find(|t| t.id == created.token.id).unwrap();
    assert!(revoked.revoked_at.is_some());

    // Logging out revokes the login token; garbage tokens are refused.
    let employee = server.login_as(Some("lemgo"), "emma", Role::Employee).await;
    employee.me().await.unwrap();
    employee.logout().await.unwrap();
    assert_eq!(problem_of(employee.me().await).0, 401);
    let garbage = server.anonymous().with_token("hgt_nonsense");
    assert_eq!(problem_of(garbage.me().await).0, 401);
    assert_eq!(problem_of(server.anonymous().list_tenants().await).0, 401);
}

async fn audit_export_and_filters(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    server.tenant("detmold", "10.21.0.0/16").await;
    let query = AuditQuery {
        tenant: Some("detmold".into()),
        ..AuditQuery::default()
    };
    let events = server.admin.audit(&query).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "tenant.create");

    let prefix = AuditQuery {
        action: Some("tenant.".into()),
        ..AuditQuery::default()
    };
    assert_eq!(server.admin.audit(&prefix).await.unwrap().len(), 2);

    let csv = server.admin.audit_export(&prefix, "csv").await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,at,actor,action,target_type,target_id,target_name,tenant,source,details"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|row| row.contains(",tenant.create,")));

    let json = server.admin.audit_export(&prefix, "json").await.unwrap();
    let parsed: Vec<api_types::audit::AuditEvent> = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.len(), 2);

    let future = AuditQuery {
        since: Some("2999-01-01T00:00:00Z".into()),
        ..AuditQuery::default()
    };
    assert!(server.admin.audit(&future).await.unwrap().is_empty());
    let bad_time = AuditQuery {
        since: Some("yesterday".into()),
        ..AuditQuery::default()
    };
    assert_eq!(problem_of(server.admin.audit(&bad_time).await).0, 422);
    let (status, _) = problem_of(server.admin.audit_export(&prefix, "xml").await);
    assert_eq!(status, 400);

    let employee = server.login_as(Some("lemgo"), "erik", Role::Employee).await;
    assert_eq!(
        problem_of(employee.audit(&AuditQuery::default()).await).0,
        403
    );
}

async fn one_time_passwords_must_be_replaced(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    let created = server
        .admin
        .create_user(
            "lemgo",
            &CreateUser {
                username: "neu".into(),
                display_name: None,
                email: None,
                role: Role::TenantAdmin,
                password: None,
                language: None,
            },
        )
        .await
        .unwrap();
    let one_time = created.initial_password.unwrap();
    let anonymous = server.anonymous();
    let login = anonymous
        .login(&LoginRequest {
            username: "neu".into(),
            password: one_time.clone(),
            token_name: None,
        })
        .await
        .unwrap();
    assert!(login.password_change_required);
    let client = anonymous.with_token(login.token.unwrap());
    client.me().await.unwrap();
    let (status, problem) = problem_of(client.list_users("lemgo").await);
    assert_eq!(status, 403);
    assert!(problem.detail.unwrap().contains("one-time password"));
    let (status, _) = problem_of(
        client
            .change_password(&api_types::auth::ChangePassword {
                current_password: one_time.clone(),
                new_password: "short".into(),
            })
            .await,
    );
    assert_eq!(status, 422);
    client
        .change_password(&api_types::auth::ChangePassword {
            current_password: one_time,
            new_password: "a long enough password".into(),
        })
        .await
        .unwrap();
    client.list_users("lemgo").await.unwrap();
}

async fn repeated_failed_logins_lock_the_account(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    server
        .login_as(Some("lemgo"), "target", Role::Employee)
        .await;
    let anonymous = server.anonymous();
    let attempt = |password: &'static str| {
        let anonymous = anonymous.clone();
        async move {
            anonymous
                .login(&LoginRequest {
                    username: "target".into(),
                    password: password.into(),
                    token_name: None,
                })
                .await
        }
    };
    for _ in 0..5 {
        assert_eq!(problem_of(attempt("wrong password!").await).0, 401);
    }
    let (status, problem) = problem_of(attempt("wrong password!").await);
    assert_eq!(status, 429);
    assert!(problem.detail.unwrap().contains("try again"));
    // Even the right password is refused while locked.
    let (status, _) = problem_of(attempt(crate::support::USER_PASSWORD).await);
    assert_eq!(status, 429);
}

async fn quota_and_policy(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    let operator = server.login_as(None, "ops", Role::ProviderOperator).await;
    let tenant = operator
        .set_quota(
            "lemgo",
            &SetQuota {
                max_sessions: Some(Some(5)),
                max_devices: None,
                end_newest_sessions: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(tenant.quota.max_sessions, Some(5));
    let lifted = operator
        .set_quota(
            "lemgo",
            &SetQuota {
                max_sessions: Some(None),
                max_devices: None,
                end_newest_sessions: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(lifted.quota.max_sessions, None);
    // Operators may not manage a tenant's users.
    assert_eq!(problem_of(operator.list_users("lemgo").await).0, 403);

    let it = server
        .login_as(Some("lemgo"), "it@lemgo.de", Role::TenantAdmin)
        .await;
    assert_eq!(
        problem_of(
            it.set_quota(
                "lemgo",
                &SetQuota {
                    max_sessions: Some(Some(1000)),
                    max_devices: None,
                    end_newest_sessions: false,
                },
            )
            .await
        )
        .0,
        403
    );
    it.create_group(
        "lemgo",
        &CreateGroup {
            name: "crisis".into(),
            description: None,
        },
    )
    .await
    .unwrap();
    let (status, _) = problem_of(
        it.set_policy(
            "lemgo",
            &SetPolicy {
                priority_seats: Some(3),
                ..SetPolicy::default()
            },
        )
        .await,
    );
    assert_eq!(status, 422, "seats need a group");
    let tenant = it
        .set_policy(
            "lemgo",
            &SetPolicy {
                priority_seats: Some(3),
                priority_group: Some(Some("crisis".into())),
                session_idle_timeout_secs: Some(600),
                mfa_before_vpn_hours: Some(Some(8)),
                invitation_reminder_days: Some(Some(3)),
            },
        )
        .await
        .unwrap();
    assert_eq!(tenant.policy.priority_seats, 3);
    assert_eq!(tenant.policy.priority_group.as_deref(), Some("crisis"));
    assert_eq!(tenant.policy.session_idle_timeout_secs, 600);
    assert_eq!(tenant.policy.mfa_before_vpn_hours, Some(8));
    assert_eq!(tenant.policy.invitation_reminder_days, Some(3));
    let (status, _) = problem_of(
        it.set_policy(
            "lemgo",
            &SetPolicy {
                session_idle_timeout_secs: Some(5),
                ..SetPolicy::default()
            },
        )
        .await,
    );
    assert_eq!(status, 422);

    // Disabling a user revokes their access at once.
    let employee = server.login_as(Some("lemgo"), "gone", Role::Employee).await;
    employee.me().await.unwrap();
    it.update_user(
        "lemgo",
        "gone",
        &UpdateUser {
            disabled: Some(true),
            ..UpdateUser::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(problem_of(employee.me().await).0, 401);
    let (status, _) = problem_of(
        server
            .anonymous()
            .login(&LoginRequest {
                username: "gone".into(),
                password: crate::support::USER_PASSWORD.into(),
                token_name: None,
            })
            .await,
    );
    assert_eq!(status, 401);
}

/// Marks a gateway as heard from, as its stream does.
async fn seen(server: &TestServer, name: &str) {
    let gateway = server.admin.get_gateway(name).await.unwrap();
    server
        .store
        .gateway_seen(&store::gateway_stream::GatewayIdentity {
            id: gateway.id,
            name: gateway.name,
            region_id: String::new(),
            region: gateway.region,
        })
        .await
        .unwrap();
}

async fn draining_gateways(server: &TestServer) {
    let admin = &server.admin;
    admin
        .create_region(&CreateRegion {
            name: "south".into(),
            description: None,
        })
        .await
        .unwrap();
    for name in ["gw-1", "gw-2"] {
        admin
            .create_gateway(&CreateGateway {
                name: name.into(),
                region: "south".into(),
                endpoint: Some(format!("{name}.example.org:51820")),
            })
            .await
            .unwrap();
    }
    seen(server, "gw-1").await;
    let listed = admin.get_gateway("gw-1").await.unwrap();
    assert!(listed.healthy && !listed.drained && listed.sessions == 0);
    assert!(!admin.get_gateway("gw-2").await.unwrap().healthy);

    // The only healthy gateway of the region cannot be drained.
    let (status, refused) = problem_of(admin.drain_gateway("gw-1").await);
    assert_eq!(status, 409);
    assert!(
        refused
            .detail
            .as_deref()
            .unwrap()
            .contains("last healthy gateway"),
        "{refused:?}"
    );
    assert!(!admin.get_gateway("gw-1").await.unwrap().drained);

    seen(server, "gw-2").await;
    let drained = admin.drain_gateway("gw-1").await.unwrap();
    assert!(drained.drained);
    // Again is fine, and changes nothing.
    assert!(admin.drain_gateway("gw-1").await.unwrap().drained);
    // gw-2 is now the last one that takes devices.
    assert_eq!(problem_of(admin.drain_gateway("gw-2").await).0, 409);
    assert_eq!(problem_of(admin.drain_gateway("gw-9").await).0, 404);
    let resumed = admin.resume_gateway("gw-1").await.unwrap();
    assert!(!resumed.drained);

    let events = admin.audit(&AuditQuery::default()).await.unwrap();
    let drains = events
        .iter()
        .filter(|e| e.action == "gateway.drain")
        .count();
    let resumes = events
        .iter()
        .filter(|e| e.action == "gateway.resume")
        .count();
    assert_eq!((drains, resumes), (1, 1));

    // Only provider staff may.
    server.tenant("lemgo", "10.20.0.0/16").await;
    let it = server
        .login_as(Some("lemgo"), "it", Role::TenantAdmin)
        .await;
    assert_eq!(problem_of(it.drain_gateway("gw-1").await).0, 403);
}
