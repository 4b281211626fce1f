//! Enrolling devices: one-time codes, the enrollment call, and what an
//! enrolled device asks the control plane for afterwards.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::tenancy::{Device, DeviceKind, Refusal, Session};

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEnrollmentCode {
    /// Hours until the code expires (default 24, at most 720).
    #[serde(default)]
    pub expires_in_hours: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EnrollmentCode {
    pub id: String,
    pub tenant: String,
    /// Username of the employee the device will belong to.
    pub user: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub used_at: Option<OffsetDateTime>,
    /// When a tenant admin withdrew it (it can no longer be used).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    pub device_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnrollmentCodeCreated {
    pub code: EnrollmentCode,
    /// The code to type into `homegate enroll`, shown this one time only.
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GatewayEndpoint {
    pub name: String,
    /// `host:port`.
    pub endpoint: String,
    /// The gateway's WireGuard public key.
    pub public_key: String,
}

/// Everything an enrolled device needs to bring its tunnel up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnrollResponse {
    pub device: Device,
    /// The device's credential for `/api/v1/device/*`, stored on the device.
    pub device_token: String,
    pub config: DeviceConfig,
}

/// What the control plane knows about a device's connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceStatus {
    pub device: Device,
    pub session: Option<Session>,
    /// The latest refusal, if it is newer than the session.
    pub last_refusal: Option<Refusal>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePhone {
    pub name: String,
    /// What the WireGuard app runs on: `phone` (default; the answer is
    /// shown as a QR code) or `laptop` (Windows, macOS or Linux; the answer
    /// is downloaded as a tunnel file).
    #[serde(default)]
    pub kind: Option<crate::tenancy::DeviceKind>,
}

/// A phone's configuration for the official WireGuard app. Its key pair was
/// made on the server for this answer and is not kept: show it once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PhoneConfig {
    pub device: Device,
    /// A wg-quick configuration file.
    pub wg_quick: String,
    /// The same as a QR code: PNG, base64.
    pub qr_png_base64: String,
    /// The same as a QR code: SVG.
    pub qr_svg: String,
    /// A name for the configuration as a tunnel file: the WireGuard app
    /// names the tunnel after it (`{tenant}-{device}.conf`, at most 32
    /// letters, digits and `_=+.-` before `.conf`).
    pub file_name: String,
}

/// A tunnel's file name for the WireGuard apps, whose tunnel names allow
/// 1–32 of `a-zA-Z0-9_=+.-` (Windows is the strictest).
pub fn tunnel_file_name(tenant: &str, device: &str) -> String {
    let mut name: String = format!("{tenant}-{device}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_=+.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(32)
        .collect();
    if name.is_empty() {
        name.push_str("homegate");
    }
    format!("{name}.conf")
}

/// A wg-quick configuration for a device whose private key is given.
pub fn wg_quick(private_key: &str, config: &DeviceConfig) -> String {
    let prefix = if config.tunnel_address.contains(':') {
        128
    } else {
        32
    };
    let mut out = format!(
        "# homegate: {} ({})\n[Interface]\nPrivateKey = {private_key}\nAddress = {}/{prefix}\n",
        config.device_name, config.tenant, config.tunnel_address
    );
    if !config.dns.is_empty() {
        out.push_str(&format!("DNS = {}\n", config.dns.join(", ")));
    }
    if let Some(gateway) = &config.gateway {
        out.push_str(&format!(
            "\n[Peer]\n# gateway {}\nPublicKey = {}\nEndpoint = {}\nAllowedIPs = {}\nPersistentKeepalive = {}\n",
            gateway.name,
            gateway.public_key,
            gateway.endpoint,
            config.routes.join(", "),
            config.keepalive_secs
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wg_quick_file() {
        let config = DeviceConfig {
            device_id: "d".into(),
            device_name: "Anna's phone".into(),
            tenant: "lemgo".into(),
            tunnel_address: "10.20.0.7".into(),
            gateway: Some(GatewayEndpoint {
                name: "gw1".into(),
                endpoint: "vpn.example.org:51820".into(),
                public_key: "GW=".into(),
            }),
            routes: vec!["198.18.10.0/24".into(), "198.18.11.5/32".into()],
            dns: vec![],
            keepalive_secs: 25,
            control_planes: Vec::new(),
        };
        assert_eq!(
            wg_quick("PRIV=", &config),
            "# homegate: Anna's phone (lemgo)\n[Interface]\nPrivateKey = PRIV=\nAddress = 10.20.0.7/32\n\n\
             [Peer]\n# gateway gw1\nPublicKey = GW=\nEndpoint = vpn.example.org:51820\n\
             AllowedIPs = 198.18.10.0/24, 198.18.11.5/32\nPersistentKeepalive = 25\n"
        );
    }
}
