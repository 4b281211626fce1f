//! Third-party WireGuard peers: Debian's `wireguard-go`, configured with `wg`.

use std::time::Duration;

use base64::Engine;

use super::{Lab, wait_until};

const SOCKET_DIR: &str = "/var/run/wireguard";

/// A WireGuard key pair made here, as a device would.
pub struct KeyPair {
    pub private: String,
    pub public: String,
}

impl KeyPair {
    pub fn generate() -> KeyPair {
        let secret = x25519_dalek::StaticSecret::random();
        let public = x25519_dalek::PublicKey::from(&secret);
        let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        KeyPair {
            private: encode(&secret.to_bytes()),
            public: encode(public.as_bytes()),
        }
    }
}

/// How to set up one wireguard-go interface.
pub struct WgConfig<'a> {
    /// Interface name suffix, unique in the lab.
    pub name: &'a str,
    pub keys: KeyPair,
    /// The device's tunnel address.
    pub address: &'a str,
    pub gateway_public_key: &'a str,
    /// The gateway's `ip:port`.
    pub endpoint: &'a str,
    /// Networks routed into the tunnel.
    pub allowed: &'a [&'a str],
}

/// One wireguard-go interface in a client namespace.
pub struct WgPeer {
    pub role: String,
    pub interface: String,
}

impl WgPeer {
    /// Starts wireguard-go in `role`.
    pub fn start(lab: &Lab, role: &str, config: WgConfig<'_>) -> WgPeer {
        let WgConfig {
            name,
            keys,
            address,
            gateway_public_key,
            endpoint,
            allowed,
        } = config;
        // Interface names are at most 15 bytes and the UAPI socket path is
        // global: include the lab id.
        let interface = format!("{}{name}", lab.id);
        assert!(interface.len() <= 15, "interface name {interface} too long");
        lab.spawn(
            role,
            &format!("wireguard-go-{interface}"),
            &[
                "env",
                "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1",
                "wireguard-go",
                "-f",
                &interface,
            ],
            None,
        );
        let socket = format!("{SOCKET_DIR}/{interface}.sock");
        wait_until(Duration::from_secs(10), || {
            std::path::Path::new(&socket).exists()
        })
        .expect("wireguard-go did not start");
        let key_file = lab.dir.path().join(format!("{interface}.key"));
        std::fs::write(&key_file, &keys.private).unwrap();
        let peer = WgPeer {
            role: role.to_owned(),
            interface,
        };
        lab.exec(
            role,
            &[
                "wg",
                "set",
                &peer.interface,
                "private-key",
                &key_file.display().to_string(),
                "peer",
                gateway_public_key,
                "endpoint",
                endpoint,
                "allowed-ips",
                &allowed.join(","),
            ],
        );
        lab.address(role, &peer.interface, &format!("{address}/32"));
        lab.exec(
            role,
            &["ip", "link", "set", &peer.interface, "mtu", "1420", "up"],
        );
        for network in allowed {
            lab.exec(
                role,
                &["ip", "route", "replace", network, "dev", &peer.interface],
            );
        }
        peer
    }

    /// Seconds since the last handshake, as wireguard-go reports it.
    pub fn handshake_age(&self, lab: &Lab) -> Option<u64> {
        let output = lab.exec(
            &self.role,
            &["wg", "show", &self.interface, "latest-handshakes"],
        );
        let epoch: u64 = output.split_whitespace().nth(1)?.parse().ok()?;
        if epoch == 0 {
            return None;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs();
        Some(now.saturating_sub(epoch))
    }
}

/// Removes UAPI sockets wireguard-go left behind for a lab.
pub fn remove_sockets(lab_id: &str) {
    if let Ok(entries) = std::fs::read_dir(SOCKET_DIR) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(lab_id) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}
