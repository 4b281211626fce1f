//! Provider infrastructure: regions and gateways.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Region {
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRegion {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Gateway {
    pub id: String,
    pub name: String,
    pub region: String,
    /// WireGuard public key the gateway registered; absent until it first connects.
    pub public_key: Option<String>,
    /// `host:port` where devices reach the gateway.
    pub endpoint: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_seen_at: Option<OffsetDateTime>,
    /// Heard from within the health window: devices may be assigned to it.
    #[serde(default)]
    pub healthy: bool,
    /// Drained: no devices are assigned to it; those on it move away.
    #[serde(default)]
    pub drained: bool,
    /// Devices in session on this gateway now.
    #[serde(default)]
    pub sessions: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGateway {
    pub name: String,
    /// Region name or id.
    pub region: String,
    /// `host:port` devices use to reach this gateway; can also be set by the gateway itself.
    #[serde(default)]
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GatewayCreated {
    pub gateway: Gateway,
    /// The gateway's enrollment token, shown this one time only.
    pub token: String,
}
