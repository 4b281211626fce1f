//! The gateway stream: JSON messages over one WebSocket between a gateway and
//! the control plane (`GET /api/v1/gateway/stream`, bearer = gateway token).
//!
//! On connect the control plane sends the configuration (everything the
//! gateway serves), then [`ToGateway::Delta`]s with increasing versions. The
//! gateway asks before admitting a device to a session ([`FromGateway::Admit`])
//! and renews the seats of its sessions with every [`FromGateway::Report`].
//!
//! **Stream versions.** The gateway names the version it speaks in its hello
//! ([`FromGateway::Hello::stream`]); the control plane answers in that
//! version, so an older gateway never sees messages it would misread.
//! - 1 (a hello without `stream`): the configuration is one
//!   [`ToGateway::Config`] message, each delta one [`ToGateway::Delta`].
//! - 2 ([`STREAM_VERSION`]): the configuration comes as
//!   [`ToGateway::ConfigBegin`], [`ToGateway::ConfigPeers`] chunks of at most
//!   [`PEERS_PER_MESSAGE`] peers, and [`ToGateway::ConfigEnd`]; a large delta
//!   as [`ToGateway::DeltaPart`]s before its final [`ToGateway::Delta`]. The
//!   gateway applies either at its end, all at once ([`Reassembly`]). Every
//!   message stays far below the WebSocket limits of both ends, whatever the
//!   size of the region (one message for 100,000 peers was 25 MB).

use serde::{Deserialize, Serialize};

/// The newest gateway stream version (see the module documentation).
pub const STREAM_VERSION: u32 = 2;

/// Peers (or removed keys) per message in stream version 2: about 300 KB of
/// JSON.
pub const PEERS_PER_MESSAGE: usize = 1_000;

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
        /// The stream version the gateway speaks; absent (1) for gateways
        /// older than stream versions.
        #[serde(default = "stream_version_1")]
        stream: u32,
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

fn stream_version_1() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToGateway {
    /// The whole configuration in one message (stream version 1).
    Config(GatewayConfig),
    /// A change of the configuration; with stream version 2, the last part
    /// of it after its [`ToGateway::DeltaPart`]s.
    Delta(ConfigDelta),
    /// Stream version 2: a configuration starts; its peers follow in
    /// [`ToGateway::ConfigPeers`] messages.
    ConfigBegin {
        version: u64,
        gateway_name: String,
        region: String,
        tenants: Vec<TenantConfig>,
        /// How many peers the chunks carry in all.
        peers: u64,
    },
    /// Stream version 2: the next peers of the configuration begun last.
    ConfigPeers { peers: Vec<PeerConfig> },
    /// Stream version 2: the configuration is complete; apply it.
    ConfigEnd { version: u64 },
    /// Stream version 2: a part of a large delta; the gateway applies it with
    /// the following parts and the final [`ToGateway::Delta`] of the same
    /// versions.
    DeltaPart(ConfigDelta),
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
    EndSession { public_key: String, reason: String },
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

impl GatewayConfig {
    /// The messages carrying this configuration in stream version 2, each
    /// with at most `per_message` peers.
    pub fn to_messages(&self, per_message: usize) -> impl Iterator<Item = ToGateway> + '_ {
        let per_message = per_message.max(1);
        let begin = ToGateway::ConfigBegin {
            version: self.version,
            gateway_name: self.gateway_name.clone(),
            region: self.region.clone(),
            tenants: self.tenants.clone(),
            peers: u64::try_from(self.peers.len()).unwrap_or(u64::MAX),
        };
        let chunks = self
            .peers
            .chunks(per_message)
            .map(|chunk| ToGateway::ConfigPeers {
                peers: chunk.to_vec(),
            });
        std::iter::once(begin)
            .chain(chunks)
            .chain(std::iter::once(ToGateway::ConfigEnd {
                version: self.version,
            }))
    }
}

impl ConfigDelta {
    /// The messages carrying this delta in stream version 2: parts of at most
    /// `per_message` peers and removed keys each, the last one a
    /// [`ToGateway::Delta`] (a small delta is just that one message).
    pub fn into_messages(self, per_message: usize) -> Vec<ToGateway> {
        let per_message = per_message.max(1);
        let ConfigDelta {
            from_version,
            version,
            upsert_tenants,
            remove_tenants,
            upsert_peers,
            remove_peers,
        } = self;
        let empty = |upsert_tenants, remove_tenants| ConfigDelta {
            from_version,
            version,
            upsert_tenants,
            remove_tenants,
            upsert_peers: Vec::new(),
            remove_peers: Vec::new(),
        };
        let mut parts = vec![empty(upsert_tenants, remove_tenants)];
        let mut room = per_message;
        let mut upsert = upsert_peers.into_iter().map(Some);
        let mut remove = remove_peers.into_iter().map(Some);
        loop {
            let (next_upsert, next_remove) = match upsert.next() {
                Some(peer) => (peer, None),
                None => match remove.next() {
                    Some(key) => (None, key),
                    None => break,
                },
            };
            if room == 0 {
                parts.push(empty(Vec::new(), Vec::new()));
                room = per_message;
            }
            room -= 1;
            if let Some(part) = parts.last_mut() {
                part.upsert_peers.extend(next_upsert);
                part.remove_peers.extend(next_remove);
            }
        }
        let last = parts.len() - 1;
        parts
            .into_iter()
            .enumerate()
            .map(|(n, part)| {
                if n == last {
                    ToGateway::Delta(part)
                } else {
                    ToGateway::DeltaPart(part)
                }
            })
            .collect()
    }

    /// Appends a later part of the same delta.
    fn extend(&mut self, part: ConfigDelta) {
        self.upsert_tenants.extend(part.upsert_tenants);
        self.remove_tenants.extend(part.remove_tenants);
        self.upsert_peers.extend(part.upsert_peers);
        self.remove_peers.extend(part.remove_peers);
    }
}

/// A message sequence of stream version 2 that does not add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReassemblyError(pub String);

impl std::fmt::Display for ReassemblyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReassemblyError {}

/// The gateway's side of stream version 2: collects a configuration's chunks
/// and a delta's parts, and hands each on whole ([`ToGateway::Config`],
/// [`ToGateway::Delta`]) once complete, so it is applied all at once. Other
/// messages pass through.
#[derive(Debug, Default)]
pub struct Reassembly {
    config: Option<(GatewayConfig, u64)>,
    delta: Option<ConfigDelta>,
}

impl Reassembly {
    pub fn push(&mut self, message: ToGateway) -> Result<Option<ToGateway>, ReassemblyError> {
        let fail = |what: &str| Err(ReassemblyError(what.to_owned()));
        match message {
            ToGateway::ConfigBegin {
                version,
                gateway_name,
                region,
                tenants,
                peers,
            } => {
                if self.config.is_some() {
                    return fail("a configuration began before the last one ended");
                }
                let capacity = usize::try_from(peers).unwrap_or(0).min(1 << 20);
                self.config = Some((
                    GatewayConfig {
                        version,
                        gateway_name,
                        region,
                        tenants,
                        peers: Vec::with_capacity(capacity),
                    },
                    peers,
                ));
                Ok(None)
            }
            ToGateway::ConfigPeers { peers } => {
                let Some((config, expected)) = self.config.as_mut() else {
                    return fail("configuration peers without a beginning");
                };
                config.peers.extend(peers);
                if u64::try_from(config.peers.len()).unwrap_or(u64::MAX) > *expected {
                    return fail("more configuration peers than announced");
                }
                Ok(None)
            }
            ToGateway::ConfigEnd { version } => {
                let Some((config, expected)) = self.config.take() else {
                    return fail("a configuration ended without a beginning");
                };
                if config.version != version {
                    return fail("a configuration ended with another version than it began");
                }
                if u64::try_from(config.peers.len()).unwrap_or(u64::MAX) != expected {
                    return fail("fewer configuration peers than announced");
                }
                Ok(Some(ToGateway::Config(config)))
            }
            ToGateway::DeltaPart(part) => {
                match self.delta.as_mut() {
                    Some(delta) => {
                        if (delta.from_version, delta.version) != (part.from_version, part.version)
                        {
                            return fail("delta parts of different versions");
                        }
                        delta.extend(part);
                    }
                    None => self.delta = Some(part),
                }
                Ok(None)
            }
            ToGateway::Delta(last) => match self.delta.take() {
                Some(mut delta) => {
                    if (delta.from_version, delta.version) != (last.from_version, last.version) {
                        return fail("a delta ended with other versions than its parts");
                    }
                    delta.extend(last);
                    Ok(Some(ToGateway::Delta(delta)))
                }
                None => Ok(Some(ToGateway::Delta(last))),
            },
            other => Ok(Some(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(key: &str, groups: &[&str]) -> PeerConfig {
        PeerConfig {
            device_id: format!("dev-{key}"),
            tenant_id: "t".into(),
            public_key: key.into(),
            tunnel_address: "10.0.0.2".into(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    fn tenant(id: &str, timeout: u32) -> TenantConfig {
        TenantConfig {
            tenant_id: id.into(),
            slug: id.into(),
            address_pool: "10.0.0.0/16".into(),
            session_idle_timeout_secs: timeout,
            rules: vec![],
        }
    }

    #[test]
    fn diff_then_apply_reproduces_the_new_config() {
        let old = GatewayConfig {
            version: 1,
            gateway_name: "gw".into(),
            region: "r".into(),
            tenants: vec![tenant("a", 300), tenant("b", 300)],
            peers: vec![peer("k1", &["g"]), peer("k2", &[]), peer("k3", &[])],
        };
        let mut new = GatewayConfig {
            version: 2,
            gateway_name: "gw".into(),
            region: "r".into(),
            tenants: vec![tenant("c", 60), tenant("a", 600)],
            peers: vec![peer("k4", &[]), peer("k2", &["g"]), peer("k3", &[])],
        };
        let delta = old.diff(&new);
        assert_eq!(delta.from_version, 1);
        assert_eq!(delta.remove_peers, vec!["k1"]);
        assert_eq!(delta.upsert_peers.len(), 2);
        assert_eq!(delta.remove_tenants, vec!["b"]);
        let mut applied = old;
        applied.apply(&delta);
        new.normalize();
        assert_eq!(applied, new);
        assert!(new.diff(&new).is_empty());
    }

    fn reassemble(messages: impl IntoIterator<Item = ToGateway>) -> Vec<ToGateway> {
        let mut reassembly = Reassembly::default();
        messages
            .into_iter()
            .filter_map(|m| reassembly.push(m).unwrap())
            .collect()
    }

    #[test]
    fn a_chunked_config_reassembles_to_the_same_config() {
        let config = GatewayConfig {
            version: 7,
            gateway_name: "gw".into(),
            region: "r".into(),
            tenants: vec![tenant("a", 300)],
            peers: (0..2_500)
                .map(|n| peer(&format!("k{n:05}"), &["g"]))
                .collect(),
        };
        let messages: Vec<ToGateway> = config.to_messages(1_000).collect();
        // begin, three chunks, end; none with more than 1,000 peers
        assert_eq!(messages.len(), 5);
        assert!(messages.iter().all(|m| match m {
            ToGateway::ConfigPeers { peers } => peers.len() <= 1_000,
            _ => true,
        }));
        assert_eq!(
            reassemble(messages),
            vec![ToGateway::Config(config.clone())]
        );

        let empty = GatewayConfig {
            peers: vec![],
            ..config
        };
        assert_eq!(
            reassemble(empty.to_messages(1_000)),
            vec![ToGateway::Config(empty)]
        );
    }

    #[test]
    fn a_large_delta_travels_in_parts_and_reassembles() {
        let delta = ConfigDelta {
            from_version: 1,
            version: 2,
            upsert_tenants: vec![tenant("a", 60)],
            remove_tenants: vec!["b".into()],
            upsert_peers: (0..1_500).map(|n| peer(&format!("k{n}"), &[])).collect(),
            remove_peers: (0..700).map(|n| format!("r{n}")).collect(),
        };
        let messages = delta.clone().into_messages(1_000);
        assert_eq!(messages.len(), 3);
        assert!(matches!(messages[0], ToGateway::DeltaPart(_)));
        assert!(matches!(messages[2], ToGateway::Delta(_)));
        for message in &messages {
            if let ToGateway::Delta(part) | ToGateway::DeltaPart(part) = message {
                assert!(part.upsert_peers.len() + part.remove_peers.len() <= 1_000);
            }
        }
        assert_eq!(reassemble(messages), vec![ToGateway::Delta(delta)]);

        let small = ConfigDelta {
            from_version: 2,
            version: 3,
            upsert_tenants: vec![],
            remove_tenants: vec![],
            upsert_peers: vec![peer("k", &[])],
            remove_peers: vec![],
        };
        assert_eq!(
            small.clone().into_messages(1_000),
            vec![ToGateway::Delta(small)]
        );
    }

    #[test]
    fn sequences_that_do_not_add_up_are_refused() {
        let mut reassembly = Reassembly::default();
        assert!(
            reassembly
                .push(ToGateway::ConfigPeers { peers: vec![] })
                .is_err()
        );
        let config = GatewayConfig {
            version: 3,
            gateway_name: "gw".into(),
            region: "r".into(),
            tenants: vec![],
            peers: vec![peer("a", &[]), peer("b", &[])],
        };
        let mut messages: Vec<ToGateway> = config.to_messages(1).collect();
        // a chunk lost on the way
        messages.remove(1);
        let mut reassembly = Reassembly::default();
        let results: Vec<_> = messages.into_iter().map(|m| reassembly.push(m)).collect();
        assert!(results.last().unwrap().is_err());
    }

    #[test]
    fn hello_without_stream_version_is_version_1() {
        let hello: FromGateway = serde_json::from_str(
            r#"{"type":"hello","public_key":"k","listen_port":1,"endpoint":null,"version":0,"sessions":[]}"#,
        )
        .unwrap();
        assert!(matches!(hello, FromGateway::Hello { stream: 1, .. }));
    }
}
