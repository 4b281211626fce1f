//! Wire types of the homegate REST API (`/api/v1`).
//!
//! Everything that crosses the HTTP boundary between the control plane and its
//! clients (CLI, gateway, device client, tests) is defined here, so that both
//! sides agree by construction. Domain logic lives elsewhere: these are plain
//! data with serde and OpenAPI derives.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod audit;
pub mod auth;
pub mod enrollment;
pub mod gateway;
pub mod infra;
pub mod invitations;
pub mod jobs;
pub mod keys;
pub mod manual;
pub mod problem;
pub mod public_url;
pub mod status;
pub mod sticks;
pub mod tenancy;

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// Languages homegate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    De,
    Nl,
    En,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::De, Language::Nl, Language::En];

    pub fn code(self) -> &'static str {
        match self {
            Language::De => "de",
            Language::Nl => "nl",
            Language::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Language> {
        match code.trim().to_ascii_lowercase().as_str() {
            "de" => Some(Language::De),
            "nl" => Some(Language::Nl),
            "en" => Some(Language::En),
            _ => None,
        }
    }
}

/// Roles of §1 of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    ProviderAdmin,
    ProviderOperator,
    TenantAdmin,
    Employee,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ProviderAdmin => "provider_admin",
            Role::ProviderOperator => "provider_operator",
            Role::TenantAdmin => "tenant_admin",
            Role::Employee => "employee",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "provider_admin" => Some(Role::ProviderAdmin),
            "provider_operator" => Some(Role::ProviderOperator),
            "tenant_admin" => Some(Role::TenantAdmin),
            "employee" => Some(Role::Employee),
            _ => None,
        }
    }

    pub fn is_provider_role(self) -> bool {
        matches!(self, Role::ProviderAdmin | Role::ProviderOperator)
    }
}

/// A paginated list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Cursor to pass as `after` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A struct given as a JSON object only: serde would also take a list of
/// its fields in order (`[null, null]`), which no client means.
pub fn object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    if !value.is_object() {
        return Err(serde::de::Error::custom("expected an object"));
    }
    T::deserialize(value).map_err(serde::de::Error::custom)
}

/// [`object`], or `null` for none.
pub fn object_or_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Null => Ok(None),
        value if value.is_object() => T::deserialize(value)
            .map(Some)
            .map_err(serde::de::Error::custom),
        _ => Err(serde::de::Error::custom("expected an object or null")),
    }
}

/// For PATCH bodies: distinguishes an absent field (`None`, leave unchanged)
/// from an explicit `null` (`Some(None)`, clear the value).
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
