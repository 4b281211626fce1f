use api_types::Role;

use super::{Actor, ProviderNeed, TenantNeed};

fn actor(role: Role, home: Option<&str>, token: Option<&str>) -> Actor {
    Actor {
        user_id: "u".to_owned(),
        username: "someone".to_owned(),
        role,
        home_tenant_id: home.map(str::to_owned),
        token_tenant_id: token.map(str::to_owned),
        token_id: None,
        source: None,
        password_change_required: false,
    }
}

#[test]
fn tenant_roles_see_only_their_tenant() {
    let admin = actor(Role::TenantAdmin, Some("t1"), None);
    assert!(admin.sees_tenant("t1"));
    assert!(!admin.sees_tenant("t2"));
    let employee = actor(Role::Employee, Some("t1"), None);
    assert!(!employee.sees_tenant("t2"));
}

#[test]
fn token_scope_narrows_provider_staff() {
    let scoped = actor(Role::ProviderAdmin, None, Some("t1"));
    assert!(scoped.sees_tenant("t1"));
    assert!(!scoped.sees_tenant("t2"));
    assert!(scoped.provider(ProviderNeed::Staff).is_err());
    let full = actor(Role::ProviderAdmin, None, None);
    assert!(full.provider(ProviderNeed::Admin).is_ok());
}

#[test]
fn needs_by_role() {
    let operator = actor(Role::ProviderOperator, None, None);
    assert!(operator.may(TenantNeed::Quota));
    assert!(!operator.may(TenantNeed::Manage));
    assert!(operator.provider(ProviderNeed::Staff).is_ok());
    assert!(operator.provider(ProviderNeed::Admin).is_err());

    let tenant_admin = actor(Role::TenantAdmin, Some("t1"), None);
    assert!(tenant_admin.may(TenantNeed::Manage));
    assert!(!tenant_admin.may(TenantNeed::Quota));
    assert!(tenant_admin.provider(ProviderNeed::Staff).is_err());

    let employee = actor(Role::Employee, Some("t1"), None);
    assert!(employee.may(TenantNeed::View));
    assert!(!employee.may(TenantNeed::Operate));
}
