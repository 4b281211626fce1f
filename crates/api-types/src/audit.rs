//! The audit log.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Username of the actor, or `system` / `gateway:NAME`.
    pub actor: String,
    /// Dotted action name, e.g. `tenant.create`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub target_name: String,
    /// Slug of the tenant concerned, if any.
    pub tenant: Option<String>,
    /// Network address the change came from.
    pub source: Option<String>,
    /// Changed fields (never secrets).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// Filters of the audit log. Times are RFC 3339.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Tenant slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Actor username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Action, or a prefix ending in `.` such as `tenant.`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// At most this many events (1–1000; default 100, export: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    #[schema(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Return events older than this event id (pagination).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
}
