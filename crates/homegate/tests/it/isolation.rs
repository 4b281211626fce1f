//! Tenant isolation: a tenant admin can neither read nor change another
//! tenant's data, for every endpoint family; roles are enforced.

use api_types::Role;
use api_types::audit::AuditQuery;
use api_types::auth::CreateToken;
use api_types::infra::CreateRegion;
use api_types::tenancy::{
    CreateAccessRule, CreateApplication, CreateDevice, CreateGroup, CreateUser, DeviceKind,
    Protocol, SetPolicy, SetQuota, UpdateApplication, UpdateTenant, UpdateUser,
};
use client::Client;

use crate::both_backends;
use crate::support::{TestServer, problem_of, public_key};

both_backends!(tenant_admin_cannot_touch_another_tenant, roles_are_enforced);

/// Everything tenant `b` has, as the provider admin sees it.
async fn snapshot(admin: &Client, tenant: &str) -> String {
    let mut events = admin
        .audit(&AuditQuery {
            tenant: Some(tenant.into()),
            limit: Some(1000),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    events.retain(|e| e.action != "user.login");
    serde_json::json!({
        "tenant": admin.get_tenant(tenant).await.unwrap(),
        "users": admin.list_users(tenant).await.unwrap(),
        "groups": admin.list_groups(tenant).await.unwrap(),
        "applications": admin.list_applications(tenant).await.unwrap(),
        "rules": admin.list_access_rules(tenant).await.unwrap(),
        "devices": admin.list_devices(tenant).await.unwrap(),
        "audit": events,
    })
    .to_string()
}

async fn populate(server: &TestServer, tenant: &str) -> (String, String) {
    let admin = &server.admin;
    admin
        .create_user(
            tenant,
            &CreateUser {
                username: format!("worker@{tenant}"),
                display_name: None,
                email: None,
                role: Role::Employee,
                password: None,
                language: None,
            },
        )
        .await
        .unwrap();
    admin
        .create_group(
            tenant,
            &CreateGroup {
                name: "staff".into(),
                description: None,
            },
        )
        .await
        .unwrap();
    admin
        .create_application(
            tenant,
            &CreateApplication {
                name: "erp".into(),
                description: None,
                cidr: "198.18.20.0/24".into(),
                protocol: Protocol::Tcp,
                ports: vec!["443".into()],
                web_upstream: None,
            },
        )
        .await
        .unwrap();
    let rule = admin
        .create_access_rule(
            tenant,
            &CreateAccessRule {
                group: "staff".into(),
                application: "erp".into(),
            },
        )
        .await
        .unwrap();
    let device = admin
        .create_device(
            tenant,
            &CreateDevice {
                name: "laptop".into(),
                owner: Some(format!("worker@{tenant}")),
                kind: DeviceKind::Laptop,
                public_key: public_key(),
            },
        )
        .await
        .unwrap();
    (rule.id, device.id)
}

/// Asserts that a call was refused as not found (the tenant is invisible).
fn hidden<T: std::fmt::Debug>(what: &str, result: client::Result<T>) {
    let (status, _) = problem_of(result);
    assert_eq!(status, 404, "{what} should look like it does not exist");
}

async fn tenant_admin_cannot_touch_another_tenant(server: &TestServer) {
    server.tenant("aa", "10.40.0.0/16").await;
    server.tenant("bb", "10.41.0.0/16").await;
    let (rule_b, device_b) = populate(server, "bb").await;
    populate(server, "aa").await;
    let a = server
        .login_as(Some("aa"), "admin@aa", Role::TenantAdmin)
        .await;
    let before = snapshot(&server.admin, "bb").await;

    // tenants
    hidden("get tenant", a.get_tenant("bb").await);
    hidden(
        "update tenant",
        a.update_tenant(
            "bb",
            &UpdateTenant {
                name: Some("pwned".into()),
                ..UpdateTenant::default()
            },
        )
        .await,
    );
    hidden(
        "set policy",
        a.set_policy(
            "bb",
            &SetPolicy {
                session_idle_timeout_secs: Some(60),
                ..SetPolicy::default()
            },
        )
        .await,
    );
    hidden(
        "set quota",
        a.set_quota(
            "bb",
            &SetQuota {
                max_sessions: Some(None),
                max_devices: None,
                end_newest_sessions: false,
            },
        )
        .await,
    );
    assert_eq!(problem_of(a.delete_tenant("bb").await).0, 403);
    let listed = a.list_tenants().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].slug, "aa");

    // users
    hidden("list users", a.list_users("bb").await);
    hidden("get user", a.get_user("bb", "worker@bb").await);
    hidden(
        "create user",
        a.create_user(
            "bb",
            &CreateUser {
                username: "intruder".into(),
                display_name: None,
                email: None,
                role: Role::TenantAdmin,
                password: None,
                language: None,
            },
        )
        .await,
    );
    hidden(
        "update user",
        a.update_user(
            "bb",
            "worker@bb",
            &UpdateUser {
                disabled: Some(true),
                ..UpdateUser::default()
            },
        )
        .await,
    );
    hidden("delete user", a.delete_user("bb", "worker@bb").await);
    // Naming a user of b under a's own tenant does not find them either.
    hidden("cross-tenant user", a.get_user("aa", "worker@bb").await);
    hidden(
        "cross-tenant member",
        a.add_group_member("aa", "staff", "worker@bb").await,
    );

    // groups
    hidden("list groups", a.list_groups("bb").await);
    hidden("get group", a.get_group("bb", "staff").await);
    hidden(
        "create group",
        a.create_group(
            "bb",
            &CreateGroup {
                name: "x".into(),
                description: None,
            },
        )
        .await,
    );
    hidden("delete group", a.delete_group("bb", "staff").await);
    hidden(
        "add member",
        a.add_group_member("bb", "staff", "worker@bb").await,
    );
    hidden(
        "remove member",
        a.remove_group_member("bb", "staff", "worker@bb").await,
    );

    // applications and access rules
    hidden("list applications", a.list_applications("bb").await);
    hidden("get application", a.get_application("bb", "erp").await);
    hidden(
        "create application",
        a.create_application(
            "bb",
            &CreateApplication {
                name: "x".into(),
                description: None,
                cidr: "198.18.0.0/16".into(),
                protocol: Protocol::Any,
                ports: vec![],
                web_upstream: None,
            },
        )
        .await,
    );
    hidden(
        "update application",
        a.update_application(
            "bb",
            "erp",
            &UpdateApplication {
                cidr: Some("0.0.0.0/0".into()),
                ..UpdateApplication::default()
            },
        )
        .await,
    );
    hidden(
        "delete application",
        a.delete_application("bb", "erp").await,
    );
    hidden("list rules", a.list_access_rules("bb").await);
    hidden(
        "create rule",
        a.create_access_rule(
            "bb",
            &CreateAccessRule {
                group: "staff".into(),
                application: "erp".into(),
            },
        )
        .await,
    );
    hidden("delete rule", a.delete_access_rule("bb", &rule_b).await);
    hidden(
        "cross-tenant rule",
        a.delete_access_rule("aa", &rule_b).await,
    );

    // devices
    hidden("list devices", a.list_devices("bb").await);
    hidden("get device", a.get_device("bb", &device_b).await);
    hidden("revoke device", a.revoke_device("bb", &device_b).await);
    hidden(
        "cross-tenant device",
        a.revoke_device("aa", &device_b).await,
    );
    hidden(
        "create device",
        a.create_device(
            "bb",
            &CreateDevice {
                name: "x".into(),
                owner: None,
                kind: DeviceKind::Laptop,
                public_key: public_key(),
            },
        )
        .await,
    );

    // audit: another tenant is not found, as a tenant that does not exist
    // is (so its existence does not leak either)
    let foreign = a
        .audit(&AuditQuery {
            tenant: Some("bb".into()),
            ..AuditQuery::default()
        })
        .await;
    assert_eq!(problem_of(foreign).0, 404);
    let export = a
        .audit_export(
            &AuditQuery {
                tenant: Some("bb".into()),
                ..AuditQuery::default()
            },
            "json",
        )
        .await;
    assert_eq!(problem_of(export).0, 404);

    // tokens: cannot scope a token to another tenant, nor revoke other tokens
    hidden(
        "scoped token",
        a.create_token(&CreateToken {
            name: "x".into(),
            tenant: Some("bb".into()),
            expires_in_days: None,
        })
        .await,
    );
    let admin_tokens = server.admin.list_tokens().await.unwrap();
    let b_token = admin_tokens
        .iter()
        .find(|t| t.user == "admin")
        .unwrap()
        .id
        .clone();
    hidden("revoke token", a.revoke_token(&b_token).await);
    assert!(
        a.list_tokens()
            .await
            .unwrap()
            .iter()
            .all(|t| t.user == "admin@aa")
    );

    // sticks and the manual
    hidden(
        "create stick batch",
        a.create_stick_batch(
            "bb",
            &api_types::sticks::CreateStickBatch {
                count: Some(1),
                recipients: vec![],
                language: None,
                valid_days: None,
                group: None,
            },
        )
        .await,
    );
    hidden("list stick batches", a.list_stick_batches("bb").await);
    hidden("list sticks", a.list_sticks("bb", None).await);
    hidden(
        "manual",
        a.manual("bb", &api_types::manual::ManualQuery::default())
            .await,
    );
    hidden("manual settings", a.manual_settings("bb").await);
    hidden(
        "set manual settings",
        a.set_manual_settings("bb", &api_types::manual::ManualSettings::default())
            .await,
    );

    // provider-level families are closed to tenant admins
    assert_eq!(problem_of(a.list_regions().await).0, 403);
    assert_eq!(problem_of(a.list_gateways().await).0, 403);
    assert_eq!(problem_of(a.list_provider_users().await).0, 403);

    assert_eq!(
        snapshot(&server.admin, "bb").await,
        before,
        "tenant bb changed"
    );
}

async fn roles_are_enforced(server: &TestServer) {
    server.tenant("aa", "10.40.0.0/16").await;
    let employee = server.login_as(Some("aa"), "emp", Role::Employee).await;
    employee.get_tenant("aa").await.unwrap();
    assert_eq!(problem_of(employee.list_users("aa").await).0, 403);
    assert_eq!(problem_of(employee.list_devices("aa").await).0, 403);
    assert_eq!(
        problem_of(
            employee
                .create_group(
                    "aa",
                    &CreateGroup {
                        name: "x".into(),
                        description: None
                    }
                )
                .await
        )
        .0,
        403
    );

    let operator = server.login_as(None, "ops", Role::ProviderOperator).await;
    operator
        .create_region(&CreateRegion {
            name: "north".into(),
            description: None,
        })
        .await
        .unwrap();
    operator.list_devices("aa").await.unwrap();
    assert_eq!(problem_of(operator.list_provider_users().await).0, 403);
    assert_eq!(
        problem_of(
            operator
                .create_provider_user(&CreateUser {
                    username: "boss".into(),
                    display_name: None,
                    email: None,
                    role: Role::ProviderAdmin,
                    password: None,
                    language: None,
                })
                .await
        )
        .0,
        403
    );
    assert_eq!(problem_of(operator.delete_tenant("aa").await).0, 403);

    let tenant_admin = server.login_as(Some("aa"), "ta", Role::TenantAdmin).await;
    assert_eq!(
        problem_of(
            tenant_admin
                .update_tenant(
                    "aa",
                    &UpdateTenant {
                        region: Some(Some("north".into())),
                        ..UpdateTenant::default()
                    }
                )
                .await
        )
        .0,
        403,
        "only provider staff move tenants between regions"
    );
    let renamed = tenant_admin
        .update_tenant(
            "aa",
            &UpdateTenant {
                name: Some("Gemeinde Aa".into()),
                ..UpdateTenant::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Gemeinde Aa");
}
