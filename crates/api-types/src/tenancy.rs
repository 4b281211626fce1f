//! Tenants and what belongs to them: users, groups, applications, access rules, devices.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::{Language, Role};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Tenant {
    pub id: String,
    /// Short unique name used in URLs and the CLI, e.g. `lemgo`.
    pub slug: String,
    pub name: String,
    pub default_language: Language,
    /// The tunnel address pool of the tenant's devices, e.g. `10.20.0.0/16`.
    pub address_pool: String,
    /// Name of the region the tenant is served from.
    pub region: Option<String>,
    pub quota: Quota,
    pub policy: TenantPolicy,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Capacity limits set by the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quota {
    /// Concurrent VPN sessions over all gateways together; `null` = unlimited.
    pub max_sessions: Option<u32>,
    /// Devices (not revoked) the tenant may have; `null` = unlimited.
    pub max_devices: Option<u32>,
}

/// Settings the tenant's own admins control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TenantPolicy {
    /// Seats of `max_sessions` reserved for members of `priority_group`.
    pub priority_seats: u32,
    /// Name of the group that may use the priority seats.
    pub priority_group: Option<String>,
    /// A session ends after this many seconds without handshake or traffic.
    pub session_idle_timeout_secs: u32,
    /// If set, a device is admitted only if its employee completed an MFA
    /// login within this many hours.
    pub mfa_before_vpn_hours: Option<u32>,
    /// If set, an employee who has not used their invitation mail after
    /// this many days gets one reminder with a new link.
    #[serde(default)]
    pub invitation_reminder_days: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub default_language: Option<Language>,
    /// CIDR, must not overlap any other tenant's pool.
    pub address_pool: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub max_sessions: Option<u32>,
    #[serde(default)]
    pub max_devices: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_language: Option<Language>,
    /// Region name; `null` unassigns.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::double_option"
    )]
    pub region: Option<Option<String>>,
}

/// Change of a tenant's quota. Absent fields stay unchanged; `null` means unlimited.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetQuota {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::double_option"
    )]
    pub max_sessions: Option<Option<u32>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::double_option"
    )]
    pub max_devices: Option<Option<u32>>,
    /// After lowering `max_sessions` below use, end the newest sessions over
    /// the quota. Without it, nobody is cut off and no one new gets in until
    /// use drops below the quota.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub end_newest_sessions: bool,
}

/// Change of a tenant's policy. Absent fields stay unchanged.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_seats: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::double_option"
    )]
    pub priority_group: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_idle_timeout_secs: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::double_option"
    )]
    pub mfa_before_vpn_hours: Option<Option<u32>>,
    /// 1–30 days; `null` = no automatic reminders.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::double_option"
    )]
    pub invitation_reminder_days: Option<Option<u32>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: String,
    /// Slug of the user's tenant; absent for provider staff.
    pub tenant: Option<String>,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub language: Option<Language>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    pub role: Role,
    /// Initial password. If absent, a random one is generated and returned once.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub language: Option<Language>,
}

/// An administrator resets a user's password (and second factor).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// Also remove the user's authenticator app, security keys and recovery
    /// codes (a lost phone); they set up a new one after logging in.
    #[serde(default)]
    pub second_factor: bool,
}

/// The new one-time password, shown this one time only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasswordReset {
    pub user: User,
    /// To hand to the user; it must be replaced at the next login.
    pub one_time_password: String,
    /// The user's logins (browser sessions, login tokens) that were ended.
    pub logins_ended: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserCreated {
    pub user: User,
    /// The generated initial password, shown this one time only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_password: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::double_option"
    )]
    pub language: Option<Option<Language>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Group {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub description: String,
    /// Usernames of the members.
    pub members: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Any,
    Tcp,
    Udp,
    Icmp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Any => "any",
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
        }
    }

    pub fn parse(text: &str) -> Option<Protocol> {
        match text.trim().to_ascii_lowercase().as_str() {
            "any" => Some(Protocol::Any),
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "icmp" => Some(Protocol::Icmp),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Application {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub description: String,
    /// Destination network, e.g. `198.18.10.0/24` or `198.18.10.5/32`.
    pub cidr: String,
    pub protocol: Protocol,
    /// Port ranges like `443` or `8000-8100`; empty means all ports.
    pub ports: Vec<String>,
    /// Where the access proxy forwards browser requests, if the application
    /// is published on the web.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_upstream: Option<String>,
    /// The address employees open in a browser (when published and the
    /// control plane has a proxy domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApplication {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub cidr: String,
    #[serde(default = "default_protocol")]
    pub protocol: Protocol,
    /// Port ranges like `443` or `8000-8100`; empty or absent means all ports.
    #[serde(default)]
    pub ports: Vec<String>,
    /// Publish on the web through the access proxy: the upstream's base URL,
    /// e.g. `http://198.18.10.5:8080`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_upstream: Option<String>,
}

fn default_protocol() -> Protocol {
    Protocol::Any
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateApplication {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<String>>,
    /// The upstream's base URL; empty to stop publishing on the web.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_upstream: Option<String>,
}

/// Members of `group` may reach `application`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccessRule {
    pub id: String,
    pub tenant: String,
    pub group: String,
    pub application: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccessRule {
    /// Group name or id.
    pub group: String,
    /// Application name or id.
    pub application: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Laptop,
    Phone,
    Stick,
    Other,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Laptop => "laptop",
            DeviceKind::Phone => "phone",
            DeviceKind::Stick => "stick",
            DeviceKind::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<DeviceKind> {
        match text.trim().to_ascii_lowercase().as_str() {
            "laptop" => Some(DeviceKind::Laptop),
            "phone" => Some(DeviceKind::Phone),
            "stick" => Some(DeviceKind::Stick),
            "other" => Some(DeviceKind::Other),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
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

impl DeviceState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Active => "active",
            DeviceState::Prepared => "prepared",
            DeviceState::Shipped => "shipped",
            DeviceState::Enrolled => "enrolled",
            DeviceState::Revoked => "revoked",
        }
    }

    pub fn parse(text: &str) -> Option<DeviceState> {
        match text.trim().to_ascii_lowercase().as_str() {
            "active" => Some(DeviceState::Active),
            "prepared" => Some(DeviceState::Prepared),
            "shipped" => Some(DeviceState::Shipped),
            "enrolled" => Some(DeviceState::Enrolled),
            "revoked" => Some(DeviceState::Revoked),
            _ => None,
        }
    }

    /// Whether a device in this state has a peer on the gateways.
    pub fn is_connectable(self) -> bool {
        matches!(self, DeviceState::Active | DeviceState::Enrolled)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDevice {
    pub name: String,
    /// Username of the owning employee.
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default = "default_kind")]
    pub kind: DeviceKind,
    /// WireGuard public key (base64, 32 bytes). The private key never leaves the device.
    pub public_key: String,
}

fn default_kind() -> DeviceKind {
    DeviceKind::Laptop
}

/// A device in session now (it holds one of the tenant's seats).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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

/// Sessions of a tenant against its quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SessionList {
    /// Seats in use (each device counts once).
    pub in_use: u32,
    pub max_sessions: Option<u32>,
    pub priority_seats: u32,
    pub sessions: Vec<Session>,
}

/// Handshakes of one device that were not answered, for one reason within
/// one hour (a refused device retries about 12 times a minute).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Refusal {
    pub id: String,
    /// The latest refused handshake.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The first refused handshake of this row.
    #[serde(with = "time::serde::rfc3339")]
    pub first_at: OffsetDateTime,
    /// Refused handshakes between `first_at` and `at`.
    pub count: u32,
    pub device_id: String,
    pub device_name: String,
    pub owner: Option<String>,
    pub gateway: Option<String>,
    /// `quota_full`, `reserved_for_priority`, `mfa_required`.
    pub reason: String,
    /// What the employee is told.
    pub message: String,
}
