//! The gateway stream's wire types of the previous release (homegate at
//! a0c77c1, stream version 1), copied verbatim from
//! `crates/api-types/src/gateway.rs` of that release without its tests.
//! Do not edit: this is what gateways in the field still speak.
#![allow(dead_code, clippy::all, clippy::pedantic)]

//! The gateway stream: JSON messages over one WebSocket between a gateway and
//! the control plane (`GET /api/v1/gateway/stream`, bearer = gateway token).
//!
//! On connect the control plane sends [`ToGateway::Config`] (everything the
//! gateway serves), then [`ToGateway::Delta`]s with increasing versions. The
//! gateway asks before admitting a device to a session ([`FromGateway::Admit`])
//! and renews the seats of its sessions with every [`FromGateway::Report`].

use serde::{Deserialize, Serialize};

/// A device the gateway should accept as a WireGuard peer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeerConfig {
    pub device_id: String,
    pub tenant_id: String,
    /// WireGuard public key, base64.
    pub public_key: String,
    /// The device's tunnel address (its only allowed IP).
    pub tunnel_address: String,
    /// Ids of the groups of the device's owner (for access rules).
    pub groups: Vec<String>,
}

/// One access rule after expansion: members of `group_id` may reach `cidr`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RuleConfig {
    pub group_id: String,
    pub cidr: String,
    /// `any`, `tcp`, `udp` or `icmp`.
    pub protocol: String,
    /// Inclusive port ranges; empty = all ports.
    pub ports: Vec<(u16, u16)>,
}

/// What the gateway needs to know about a tenant besides its peers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantConfig {
    pub tenant_id: String,
    pub slug: String,
    pub address_pool: String,
    pub session_idle_timeout_secs: u32,
    pub rules: Vec<RuleConfig>,
}

/// The complete configuration of one gateway at `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayConfig {
    pub version: u64,
    pub gateway_name: String,
    pub region: String,
    pub tenants: Vec<TenantConfig>,
    pub peers: Vec<PeerConfig>,
}

/// The change from `from_version` to `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigDelta {
    pub from_version: u64,
    pub version: u64,
    /// Tenants added or changed (complete, without peers).
    pub upsert_tenants: Vec<TenantConfig>,
    pub remove_tenants: Vec<String>,
    /// Peers added or changed (complete).
    pub upsert_peers: Vec<PeerConfig>,
    /// Public keys of peers to remove.
    pub remove_peers: Vec<String>,
}

impl ConfigDelta {
    pub fn is_empty(&self) -> bool {
        self.upsert_tenants.is_empty()
            && self.remove_tenants.is_empty()
            && self.upsert_peers.is_empty()
            && self.remove_peers.is_empty()
    }
}

/// Per-peer counters, as the gateway's WireGuard device sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStats {
    pub public_key: String,
    /// Seconds since the last completed handshake, if any.
    pub last_handshake_secs: Option<u64>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    /// Where the peer's packets come from (`ip:port`).
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromGateway {
    /// First message after connecting.
    Hello {
        public_key: String,
        listen_port: u16,
        /// `host:port` devices should use, if the gateway knows it.
        endpoint: Option<String>,
        /// The config version the gateway currently serves (0 = none).
        version: u64,
        /// Devices in session right now (after a reconnect): their seats are
        /// renewed if the control plane still holds them.
        sessions: Vec<String>,
    },
    /// A device that is not in session wants to start one.
    Admit { request_id: u64, public_key: String },
    /// Periodic: counters of all peers, and the sessions whose seats to renew.
    Report {
        sessions: Vec<String>,
        stats: Vec<PeerStats>,
    },
    /// A session ended (idle timeout, explicit end).
    SessionEnded { public_key: String, reason: String },
    /// The gateway applied this config version.
    Applied { version: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToGateway {
    Config(GatewayConfig),
    Delta(ConfigDelta),
    /// The answer to [`FromGateway::Admit`]. An admitted device holds a seat
    /// for `lease_secs` from when the gateway sent its request, unless renewed.
    AdmitResult {
        request_id: u64,
        public_key: String,
        admitted: bool,
        lease_secs: u32,
        /// Why a device was refused, for people.
        reason: Option<String>,
        /// The control plane did not decide (busy, or the database failed):
        /// not a refusal for the quota; the device retries.
        #[serde(default)]
        undecided: bool,
    },
    /// Seats renewed for `lease_secs` from when the report was sent. Sessions
    /// the gateway listed but that are missing here have lost their seat.
    Renewed {
        sessions: Vec<String>,
        lease_secs: u32,
    },
    /// End this session now (admin action, device moved, disconnect).
    EndSession {
        public_key: String,
        reason: String,
    },
}

impl GatewayConfig {
    /// What turns `self` into `new`.
    pub fn diff(&self, new: &GatewayConfig) -> ConfigDelta {
        use std::collections::BTreeMap;
        let old_tenants: BTreeMap<&str, &TenantConfig> = self
            .tenants
            .iter()
            .map(|t| (t.tenant_id.as_str(), t))
            .collect();
        let new_tenants: BTreeMap<&str, &TenantConfig> = new
            .tenants
            .iter()
            .map(|t| (t.tenant_id.as_str(), t))
            .collect();
        let old_peers: BTreeMap<&str, &PeerConfig> = self
            .peers
            .iter()
            .map(|p| (p.public_key.as_str(), p))
            .collect();
        let new_peers: BTreeMap<&str, &PeerConfig> = new
            .peers
            .iter()
            .map(|p| (p.public_key.as_str(), p))
            .collect();
        ConfigDelta {
            from_version: self.version,
            version: new.version,
            upsert_tenants: new_tenants
                .iter()
                .filter(|(id, tenant)| old_tenants.get(*id) != Some(*tenant))
                .map(|(_, tenant)| (*tenant).clone())
                .collect(),
            remove_tenants: old_tenants
                .keys()
                .filter(|id| !new_tenants.contains_key(*id))
                .map(|id| (*id).to_owned())
                .collect(),
            upsert_peers: new_peers
                .iter()
                .filter(|(key, peer)| old_peers.get(*key) != Some(*peer))
                .map(|(_, peer)| (*peer).clone())
                .collect(),
            remove_peers: old_peers
                .keys()
                .filter(|key| !new_peers.contains_key(*key))
                .map(|key| (*key).to_owned())
                .collect(),
        }
    }

    /// Applies a delta; tenants and peers stay sorted by id and key.
    pub fn apply(&mut self, delta: &ConfigDelta) {
        use std::collections::BTreeMap;
        let mut tenants: BTreeMap<String, TenantConfig> = self
            .tenants
            .drain(..)
            .map(|t| (t.tenant_id.clone(), t))
            .collect();
        for id in &delta.remove_tenants {
            tenants.remove(id);
        }
        for tenant in &delta.upsert_tenants {
            tenants.insert(tenant.tenant_id.clone(), tenant.clone());
        }
        let mut peers: BTreeMap<String, PeerConfig> = self
            .peers
            .drain(..)
            .map(|p| (p.public_key.clone(), p))
            .collect();
        for key in &delta.remove_peers {
            peers.remove(key);
        }
        for peer in &delta.upsert_peers {
            peers.insert(peer.public_key.clone(), peer.clone());
        }
        self.tenants = tenants.into_values().collect();
        self.peers = peers.into_values().collect();
        self.version = delta.version;
    }

    /// Sorts tenants and peers the way [`Self::apply`] leaves them.
    pub fn normalize(&mut self) {
        self.tenants.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
        self.peers.sort_by(|a, b| a.public_key.cmp(&b.public_key));
    }
}
