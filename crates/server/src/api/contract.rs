//! The rules the store enforces on request fields, written into the
//! OpenAPI document's schemas (patterns from `store::validate::patterns`),
//! so a client generated from the document — and schemathesis — knows
//! which values the server accepts. One table; a field whose rule changes
//! in the store changes here.

use store::validate::patterns;
use utoipa::openapi::OpenApi;

/// What a field of a request schema must satisfy.
enum Rule {
    /// The string matches the pattern.
    Pattern(String),
    /// Each string of the array matches the pattern.
    Items(String),
    /// The string has this many characters (not trimmed).
    Length(usize, usize),
    /// The number lies in this range.
    Range(u64, u64),
}

fn rules() -> Vec<(&'static str, &'static str, Rule)> {
    use Rule::{Items, Length, Pattern, Range};
    vec![
        ("CreateTenant", "slug", Pattern(patterns::tenant_slug())),
        ("CreateTenant", "name", Pattern(patterns::name(200))),
        (
            "CreateTenant",
            "address_pool",
            Pattern(patterns::address_pool()),
        ),
        ("UpdateTenant", "name", Pattern(patterns::name(200))),
        ("CreateUser", "username", Pattern(patterns::username())),
        (
            "CreateUser",
            "display_name",
            Pattern(patterns::optional_name(200)),
        ),
        ("CreateUser", "email", Pattern(patterns::email())),
        ("CreateUser", "password", Length(12, 1024)),
        ("UpdateUser", "display_name", Pattern(patterns::name(200))),
        ("UpdateUser", "email", Pattern(patterns::email())),
        ("ChangePassword", "new_password", Length(12, 1024)),
        ("LoginRequest", "token_name", Pattern(patterns::name(100))),
        ("CreateToken", "name", Pattern(patterns::name(100))),
        ("CreateGroup", "name", Pattern(patterns::name(100))),
        (
            "CreateGroup",
            "description",
            Pattern(patterns::optional_text(500)),
        ),
        ("CreateApplication", "name", Pattern(patterns::name(100))),
        (
            "CreateApplication",
            "description",
            Pattern(patterns::optional_text(500)),
        ),
        ("CreateApplication", "cidr", Pattern(patterns::cidr())),
        ("CreateApplication", "ports", Items(patterns::port_ranges())),
        (
            "UpdateApplication",
            "description",
            Pattern(patterns::optional_text(500)),
        ),
        ("UpdateApplication", "cidr", Pattern(patterns::cidr())),
        ("UpdateApplication", "ports", Items(patterns::port_ranges())),
        ("CreateDevice", "name", Pattern(patterns::name(100))),
        (
            "CreateDevice",
            "public_key",
            Pattern(patterns::public_key()),
        ),
        (
            "EnrollRequest",
            "public_key",
            Pattern(patterns::public_key()),
        ),
        ("CreateRegion", "name", Pattern(patterns::slug())),
        (
            "CreateRegion",
            "description",
            Pattern(patterns::optional_text(500)),
        ),
        ("CreateGateway", "name", Pattern(patterns::slug())),
        ("CreateGateway", "endpoint", Pattern(patterns::endpoint())),
        (
            "SetIdentityProvider",
            "client_id",
            Pattern(patterns::name(200)),
        ),
        (
            "SetIdentityProvider",
            "client_secret",
            Pattern(patterns::name(500)),
        ),
        (
            "SetIdentityProvider",
            "issuer",
            Pattern(patterns::oidc_issuer()),
        ),
        (
            "SetIdentityProvider",
            "username_claim",
            Pattern(patterns::one_of(&store::idp::USERNAME_CLAIMS)),
        ),
        ("CreateComponent", "name", Pattern(patterns::slug())),
        ("CreateComponent", "title", Pattern(patterns::name(120))),
        (
            "CreateComponent",
            "description",
            Pattern(patterns::optional_text(500)),
        ),
        (
            "CreateComponent",
            "group",
            Pattern(patterns::optional_text(60)),
        ),
        ("UpdateComponent", "title", Pattern(patterns::name(120))),
        (
            "UpdateComponent",
            "description",
            Pattern(patterns::optional_text(500)),
        ),
        (
            "UpdateComponent",
            "group",
            Pattern(patterns::optional_text(60)),
        ),
        (
            "SetComponentStatus",
            "note",
            Pattern(patterns::optional_text(500)),
        ),
        ("Subscribe", "email", Pattern(patterns::required_email())),
        ("CreateWebhook", "url", Pattern(patterns::webhook_url())),
        ("SetPolicy", "session_idle_timeout_secs", Range(30, 86_400)),
        ("SetPolicy", "mfa_before_vpn_hours", Range(1, 720)),
        ("SetPolicy", "invitation_reminder_days", Range(1, 30)),
        ("CreateToken", "expires_in_days", Range(1, 3650)),
        (
            "CreateEnrollmentCode",
            "expires_in_hours",
            Range(1, store::enrollment::MAX_CODE_HOURS.into()),
        ),
        (
            "CreateStickBatch",
            "count",
            Range(1, api_types::sticks::MAX_BATCH_SIZE.into()),
        ),
        (
            "CreateStickBatch",
            "valid_days",
            Range(1, api_types::sticks::MAX_TOKEN_DAYS.into()),
        ),
    ]
}

/// Writes the table's rules into the document's component schemas. A rule
/// naming a schema or field the document lacks is an error (the unit test
/// below finds it).
pub(super) fn constrain(openapi: &mut OpenApi) -> Result<(), String> {
    let Some(components) = openapi.components.as_mut() else {
        return Err("the document has no components".to_owned());
    };
    for (schema, field, rule) in rules() {
        let Some(object) = components.schemas.get_mut(schema) else {
            return Err(format!("no schema {schema}"));
        };
        let mut value = serde_json::to_value(&*object).map_err(|e| e.to_string())?;
        let property = value
            .get_mut("properties")
            .and_then(|properties| properties.get_mut(field))
            .ok_or_else(|| format!("no field {schema}.{field}"))?;
        let target = match rule {
            Rule::Items(_) => property
                .get_mut("items")
                .ok_or_else(|| format!("{schema}.{field} is not an array"))?,
            Rule::Pattern(_) | Rule::Length(..) | Rule::Range(..) => property,
        };
        let Some(target) = target.as_object_mut() else {
            return Err(format!("{schema}.{field} is not a schema object"));
        };
        match rule {
            Rule::Pattern(pattern) | Rule::Items(pattern) => {
                target.insert("pattern".to_owned(), pattern.into());
            }
            Rule::Length(min, max) => {
                target.insert("minLength".to_owned(), min.into());
                target.insert("maxLength".to_owned(), max.into());
            }
            Rule::Range(min, max) => {
                target.insert("minimum".to_owned(), min.into());
                target.insert("maximum".to_owned(), max.into());
            }
        }
        *object = serde_json::from_value(value).map_err(|e| e.to_string())?;
    }
    for object in components.schemas.values_mut() {
        let mut value = serde_json::to_value(&*object).map_err(|e| e.to_string())?;
        if widen_unsigned(&mut value) {
            *object = serde_json::from_value(value).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// utoipa writes a `u32` as `format: int32, minimum: 0`, which clients read
/// as at most 2^31 - 1 while the server takes up to 2^32 - 1: the schema
/// says what the server takes. True when something changed.
fn widen_unsigned(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    let mut changed = false;
    match value {
        Value::Object(map) => {
            if map.get("format").and_then(Value::as_str) == Some("int32")
                && map.get("minimum").and_then(Value::as_u64) == Some(0)
                && !map.contains_key("maximum")
            {
                map.insert("format".to_owned(), "int64".into());
                map.insert("maximum".to_owned(), u32::MAX.into());
                changed = true;
            }
            for child in map.values_mut() {
                changed |= widen_unsigned(child);
            }
        }
        Value::Array(items) => {
            for child in items {
                changed |= widen_unsigned(child);
            }
        }
        _ => {}
    }
    changed
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_rule_names_a_field_of_the_document() {
        let (_, mut openapi) = super::super::router();
        assert_eq!(super::constrain(&mut openapi), Ok(()));
        let document = serde_json::to_value(&openapi).unwrap();
        let pattern =
            &document["components"]["schemas"]["CreateTenant"]["properties"]["slug"]["pattern"];
        assert!(pattern.is_string(), "{pattern}");
    }
}
