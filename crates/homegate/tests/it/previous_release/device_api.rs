//! The device API's wire types of the previous release (homegate at
//! a0c77c1), copied from `crates/api-types/src/{enrollment,tenancy}.rs` of
//! that release: the types its `homegate enroll | up | status` client
//! sends and reads, with only the OpenAPI derives removed.
//! Do not edit: this is what device clients in the field still speak.
#![allow(dead_code, clippy::all, clippy::pedantic)]

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The one-time enrollment code.
    pub code: String,
    /// The device's WireGuard public key; its private key stays on the device.
    pub public_key: String,
    /// A name people recognise, e.g. "Anna's laptop".
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: Option<DeviceKind>,
}

/// The gateway a device should talk to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayEndpoint {
    pub name: String,
    /// `host:port`.
    pub endpoint: String,
    /// The gateway's WireGuard public key.
    pub public_key: String,
}

/// Everything an enrolled device needs to bring its tunnel up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceConfig {
    pub device_id: String,
    pub device_name: String,
    pub tenant: String,
    pub tunnel_address: String,
    /// The gateway assigned to this device; absent while none is healthy.
    pub gateway: Option<GatewayEndpoint>,
    /// Networks to send through the tunnel (the applications it may reach).
    pub routes: Vec<String>,
    pub dns: Vec<String>,
    pub keepalive_secs: u16,
    /// Every control plane the device may ask, in order of preference (the
    /// replicas of a highly available installation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub control_planes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device: Device,
    /// The device's credential for `/api/v1/device/*`, stored on the device.
    pub device_token: String,
    pub config: DeviceConfig,
}

/// What the control plane knows about a device's connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStatus {
    pub device: Device,
    pub session: Option<Session>,
    /// The latest refusal, if it is newer than the session.
    pub last_refusal: Option<Refusal>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePhone {
    pub name: String,
}

/// A phone's configuration for the official WireGuard app. Its key pair was
/// made on the server for this answer and is not kept: show it once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhoneConfig {
    pub device: Device,
    /// A wg-quick configuration file.
    pub wg_quick: String,
    /// The same as a QR code: PNG, base64.
    pub qr_png_base64: String,
    /// The same as a QR code: SVG.
    pub qr_svg: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Laptop,
    Phone,
    Stick,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceState {
    /// Usable: its peer is on the gateways.
    Active,
    /// A stick whose bundle was produced but not yet shipped.
    Prepared,
    /// A stick on its way to the employee.
    Shipped,
    /// A stick that enrolled; usable like `active`.
    Enrolled,
    /// Revoked for good; its peer is gone from every gateway.
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    pub tenant: String,
    /// Username of the employee the device belongs to.
    pub owner: Option<String>,
    pub name: String,
    pub kind: DeviceKind,
    /// WireGuard public key (base64); absent until a stick enrolls.
    pub public_key: Option<String>,
    /// Stable tunnel address from the tenant's pool.
    pub tunnel_address: Option<String>,
    pub state: DeviceState,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub device_id: String,
    pub device_name: String,
    pub owner: Option<String>,
    /// Name of the gateway serving it.
    pub gateway: String,
    /// `active`, or `ending` while the gateway confirms an end.
    pub state: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_handshake_at: Option<OffsetDateTime>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    /// Where the device's packets come from.
    pub endpoint: Option<String>,
}

/// A handshake that was not answered because of the quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub device_id: String,
    pub device_name: String,
    pub owner: Option<String>,
    pub gateway: Option<String>,
    /// `quota_full`, `reserved_for_priority`, `mfa_required`.
    pub reason: String,
    /// What the employee is told.
    pub message: String,
}
