//! The gateway's control loop: applies configuration to the WireGuard
//! device, the filter and the routes; runs admission through the session
//! table; reports to the control plane. One task, driven by a few channels
//! and one timer; the decisions live in `admission::sessions`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use admission::sessions::{EndReason, InitAction, SessionTable};
use api_types::gateway::{FromGateway, GatewayConfig, PeerConfig, PeerStats, ToGateway};
use gotatun::device::{Device, DeviceTransports, Peer};
use ipnet::IpNet;
use ipnetwork::IpNetwork;
use tokio::sync::mpsc;
use x25519_dalek::PublicKey;

use crate::filter_io::SharedFilter;
use crate::gate::{Gate, Key, Knock};
use crate::key::{decode_public, encode_key};
use crate::link::LinkEvent;
use crate::metrics::{Metrics, TenantLabel};
use crate::netconf;

/// How often the gateway renews its seats and reports counters.
pub const REPORT_EVERY: Duration = Duration::from_secs(5);
/// How often it reads the device's counters for session activity.
const STATS_EVERY: Duration = Duration::from_secs(1);

pub struct EngineSettings {
    pub interface: String,
    pub listen_port: u16,
    pub endpoint: Option<String>,
    pub public_key: String,
    /// Set routes for tenant pools (off in tests that route themselves).
    pub manage_routes: bool,
}

pub struct Engine<T: DeviceTransports> {
    device: Device<T>,
    gate: Arc<Gate>,
    filter: SharedFilter,
    metrics: Arc<Metrics>,
    settings: EngineSettings,
    config: Option<GatewayConfig>,
    peers: BTreeMap<Key, PeerConfig>,
    /// Peers in the WireGuard device: only devices in session. A gotatun
    /// peer takes ~19 KB (eight session slots inline), so memory follows
    /// the seats in use, not the enrolled devices, and a large configuration
    /// applies without touching the device.
    in_device: BTreeSet<Key>,
    idle_timeouts: HashMap<String, Duration>,
    sessions: SessionTable<Key>,
    /// Session lists of reports not yet answered, oldest first.
    renewals: VecDeque<Vec<Key>>,
    outbox: Option<mpsc::UnboundedSender<FromGateway>>,
    routes: BTreeSet<IpNet>,
    last_rx: HashMap<Key, usize>,
    /// gotatun's "time since last handshake" and when we last saw it drop
    /// (a new handshake). gotatun's value is only relative to its timer
    /// ticks, so we timestamp handshakes ourselves.
    handshakes: HashMap<Key, (Duration, u64)>,
    last_stats: Vec<PeerStats>,
    started: Instant,
}

fn key_of(peer: &PeerConfig) -> Option<Key> {
    decode_public(&peer.public_key).map(|key| *key.as_bytes())
}

fn wg_peer(key: Key, peer: &PeerConfig) -> Option<Peer> {
    let address: IpAddr = peer.tunnel_address.parse().ok()?;
    let prefix = if address.is_ipv4() { 32 } else { 128 };
    let network = IpNetwork::new(address, prefix).ok()?;
    Some(Peer::new(PublicKey::from(key)).with_allowed_ip(network))
}

impl<T: DeviceTransports> Engine<T> {
    pub fn new(
        device: Device<T>,
        gate: Arc<Gate>,
        filter: SharedFilter,
        metrics: Arc<Metrics>,
        settings: EngineSettings,
    ) -> Engine<T> {
        Engine {
            device,
            gate,
            filter,
            metrics,
            settings,
            config: None,
            peers: BTreeMap::new(),
            in_device: BTreeSet::new(),
            idle_timeouts: HashMap::new(),
            sessions: SessionTable::default(),
            renewals: VecDeque::new(),
            outbox: None,
            routes: BTreeSet::new(),
            last_rx: HashMap::new(),
            handshakes: HashMap::new(),
            last_stats: Vec::new(),
            started: Instant::now(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn send(&mut self, message: FromGateway) {
        if let Some(outbox) = &self.outbox
            && outbox.send(message).is_err()
        {
            self.outbox = None;
        }
    }

    /// Runs until `shutdown` resolves.
    pub async fn run(
        mut self,
        mut link: mpsc::Receiver<LinkEvent>,
        mut knocks: mpsc::UnboundedReceiver<Knock>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let mut stats_tick = tokio::time::interval(STATS_EVERY);
        let mut report_tick = tokio::time::interval(REPORT_EVERY);
        report_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            let next_timeout = self
                .sessions
                .poll_timeout()
                .map(|at| self.started + Duration::from_millis(at))
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                () = &mut shutdown => break,
                Some(event) = link.recv() => self.on_link(event).await,
                Some(knock) = knocks.recv() => self.on_knock(knock).await,
                _ = stats_tick.tick() => self.poll_stats().await,
                _ = report_tick.tick() => self.report(),
                () = tokio::time::sleep_until(next_timeout.into()) => self.on_timeout().await,
            }
        }
        // Let the control plane free our seats at once.
        for key in self.sessions.keys().copied().collect::<Vec<_>>() {
            self.send(FromGateway::SessionEnded {
                public_key: encode_key(&PublicKey::from(key)),
                reason: "gateway stopping".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.device.stop().await;
    }

    async fn on_link(&mut self, event: LinkEvent) {
        match event {
            LinkEvent::Connected { outbox, url } => {
                tracing::debug!(%url, "control stream up");
                self.outbox = Some(outbox);
                self.sessions.on_disconnect();
                self.renewals.clear();
                self.metrics.connected.set(1);
                let now = self.now();
                let listed = self.sessions.renewal_request(now);
                self.renewals.push_back(listed.clone());
                let hello = FromGateway::Hello {
                    public_key: self.settings.public_key.clone(),
                    listen_port: self.settings.listen_port,
                    endpoint: self.settings.endpoint.clone(),
                    version: self.config.as_ref().map_or(0, |c| c.version),
                    sessions: listed
                        .iter()
                        .map(|k| encode_key(&PublicKey::from(*k)))
                        .collect(),
                    stream: api_types::gateway::STREAM_VERSION,
                };
                self.send(hello);
            }
            LinkEvent::Disconnected { reason } => {
                tracing::warn!(%reason, "control stream down; serving the last configuration");
                self.outbox = None;
                self.sessions.on_disconnect();
                self.renewals.clear();
                self.metrics.connected.set(0);
            }
            LinkEvent::Message(message) => self.on_message(message).await,
        }
    }

    async fn on_message(&mut self, message: ToGateway) {
        match message {
            ToGateway::Config(config) => self.reconcile(config).await,
            ToGateway::Delta(delta)
                if delta.is_empty()
                    && self
                        .config
                        .as_ref()
                        .is_some_and(|config| config.version == delta.from_version) =>
            {
                // Only the version moved (a change elsewhere): nothing to
                // reconcile, but the applied version is reported.
                if let Some(config) = &mut self.config {
                    config.version = delta.version;
                }
                self.metrics
                    .config_version
                    .set(i64::try_from(delta.version).unwrap_or(i64::MAX));
                tracing::debug!(version = delta.version, "configuration version moved");
                self.send(FromGateway::Applied {
                    version: delta.version,
                });
            }
            ToGateway::Delta(delta) => {
                let mut next = self.config.clone().unwrap_or(GatewayConfig {
                    version: 0,
                    gateway_name: String::new(),
                    region: String::new(),
                    tenants: Vec::new(),
                    peers: Vec::new(),
                });
                if next.version != delta.from_version {
                    tracing::warn!(
                        have = next.version,
                        from = delta.from_version,
                        "delta does not follow our version"
                    );
                }
                next.apply(&delta);
                self.reconcile(next).await;
            }
            ToGateway::AdmitResult {
                request_id,
                public_key,
                admitted,
                lease_secs,
                reason,
                undecided,
            } => {
                let Some(key) = decode_public(&public_key).map(|k| *k.as_bytes()) else {
                    return;
                };
                let tenant = self
                    .peers
                    .get(&key)
                    .map(|p| p.tenant_id.clone())
                    .unwrap_or_default();
                let idle = self
                    .idle_timeouts
                    .get(&tenant)
                    .copied()
                    .unwrap_or(Duration::from_secs(300));
                let now = self.now();
                let in_session = self.sessions.on_admit_result(
                    &key,
                    request_id,
                    admitted,
                    u64::from(lease_secs) * 1000,
                    u64::try_from(idle.as_millis()).unwrap_or(u64::MAX),
                    now,
                );
                let label = self.tenant_label(&tenant);
                if in_session {
                    self.metrics.admitted.get_or_create(&label).inc();
                    // The held initiation is answered by the device: the
                    // peer must be there first.
                    self.add_to_device(key).await;
                    self.gate.admit(key);
                    tracing::info!(device = %public_key, "session admitted");
                } else {
                    if undecided {
                        tracing::debug!(device = %public_key, reason = ?reason, "admission not decided; the device will retry");
                    } else if !admitted {
                        self.metrics.refused.get_or_create(&label).inc();
                        tracing::info!(device = %public_key, reason = ?reason, "handshake refused");
                    }
                    self.gate.refuse(key);
                }
            }
            ToGateway::Renewed {
                sessions,
                lease_secs,
            } => {
                let requested = self.renewals.pop_front().unwrap_or_default();
                let renewed: Vec<Key> = sessions
                    .iter()
                    .filter_map(|k| decode_public(k).map(|k| *k.as_bytes()))
                    .collect();
                // The table keeps its own queue of send times in the same order.
                let lost =
                    self.sessions
                        .on_renewed(&requested, &renewed, u64::from(lease_secs) * 1000);
                for key in lost {
                    self.finish(key, EndReason::SeatLost).await;
                }
            }
            ToGateway::EndSession { public_key, reason } => {
                if let Some(key) = decode_public(&public_key).map(|k| *k.as_bytes())
                    && self.sessions.end(&key)
                {
                    tracing::info!(device = %public_key, %reason, "session ended by the control plane");
                    self.remove_from_device(key).await;
                    self.gate.revoke(key);
                    self.send(FromGateway::SessionEnded {
                        public_key,
                        reason: EndReason::Ended.as_str().into(),
                    });
                }
            }
            // The link hands configurations and deltas on whole
            // (`Reassembly`); parts never reach the engine.
            ToGateway::ConfigBegin { .. }
            | ToGateway::ConfigPeers { .. }
            | ToGateway::ConfigEnd { .. }
            | ToGateway::DeltaPart(_) => {
                tracing::warn!("configuration part outside the link's reassembly; ignored");
            }
        }
    }

    fn tenant_label(&self, tenant_id: &str) -> TenantLabel {
        let slug = self
            .config
            .as_ref()
            .and_then(|c| c.tenants.iter().find(|t| t.tenant_id == tenant_id))
            .map_or_else(|| tenant_id.to_owned(), |t| t.slug.clone());
        TenantLabel { tenant: slug }
    }

    async fn on_knock(&mut self, knock: Knock) {
        if !self.peers.contains_key(&knock.key) {
            return;
        }
        let now = self.now();
        match self.sessions.on_handshake_init(&knock.key, now) {
            InitAction::Pass => {
                self.add_to_device(knock.key).await;
                self.gate.admit(knock.key);
            }
            InitAction::Hold => {}
            InitAction::Ask { request_id } => {
                if self.outbox.is_some() {
                    self.send(FromGateway::Admit {
                        request_id,
                        public_key: encode_key(&PublicKey::from(knock.key)),
                    });
                } else {
                    // Nobody to ask: admissions need the control plane.
                    self.gate.refuse(knock.key);
                }
            }
        }
    }

    async fn on_timeout(&mut self) {
        let now = self.now();
        for (key, reason) in self.sessions.handle_timeout(now) {
            self.finish(key, reason).await;
        }
        for key in self.sessions.take_lapsed_requests(now) {
            self.gate.refuse(key);
        }
    }

    /// A session ended here: drop its keys so it must handshake (and be
    /// admitted) again, and tell the control plane.
    async fn finish(&mut self, key: Key, reason: EndReason) {
        tracing::info!(device = %encode_key(&PublicKey::from(key)), reason = reason.as_str(), "session ended");
        self.sessions.end(&key);
        self.remove_from_device(key).await;
        self.gate.revoke(key);
        self.send(FromGateway::SessionEnded {
            public_key: encode_key(&PublicKey::from(key)),
            reason: reason.as_str().into(),
        });
    }

    /// Puts a device admitted to a session into the WireGuard device (if it
    /// is not there yet).
    async fn add_to_device(&mut self, key: Key) {
        if self.in_device.contains(&key) {
            return;
        }
        let Some(peer) = self.peers.get(&key).and_then(|p| wg_peer(key, p)) else {
            return;
        };
        let result = self
            .device
            .write(async |device| device.add_or_update_peers(vec![peer]).await)
            .await;
        match result {
            Ok(()) => {
                self.in_device.insert(key);
            }
            Err(error) => tracing::error!(%error, "cannot add a peer"),
        }
    }

    /// Takes a device out of the WireGuard device: its session keys and
    /// endpoint are gone, every other peer is untouched.
    async fn remove_from_device(&mut self, key: Key) {
        if !self.in_device.remove(&key) {
            return;
        }
        let public = PublicKey::from(key);
        let result = self
            .device
            .write(async |device| device.remove_peer(&public).await)
            .await;
        if let Err(error) = result {
            tracing::error!(%error, "cannot remove a peer");
        }
        self.last_rx.remove(&key);
        self.handshakes.remove(&key);
    }

    async fn poll_stats(&mut self) {
        let peers = self.device.peers().await;
        let now = self.now();
        let mut stats = Vec::new();
        let mut with_session = 0i64;
        let mut rx_by_tenant: BTreeMap<String, i64> = BTreeMap::new();
        let mut tx_by_tenant: BTreeMap<String, i64> = BTreeMap::new();
        for peer_stats in peers {
            let key = *peer_stats.peer.public_key.as_bytes();
            let rx = peer_stats.stats.rx_bytes;
            let previous = self.last_rx.insert(key, rx).unwrap_or(0);
            let mut new_handshake = false;
            if peer_stats.stats.last_handshake.is_some() {
                with_session += 1;
            }
            if let Some(ago) = peer_stats.stats.last_handshake {
                match self.handshakes.get(&key) {
                    Some((seen, _)) if ago >= *seen => {
                        self.handshakes.insert(key, (ago, self.handshakes[&key].1));
                    }
                    _ => {
                        new_handshake = true;
                        self.handshakes.insert(key, (ago, now));
                    }
                }
            }
            if rx > previous || new_handshake {
                self.sessions.on_activity(&key, now);
            }
            if let Some(tenant) = self.peers.get(&key).map(|p| p.tenant_id.clone()) {
                *rx_by_tenant.entry(tenant.clone()).or_default() += i64::try_from(rx).unwrap_or(0);
                *tx_by_tenant.entry(tenant).or_default() +=
                    i64::try_from(peer_stats.stats.tx_bytes).unwrap_or(0);
            }
            if self.sessions.is_admitted(&key) {
                stats.push(PeerStats {
                    public_key: encode_key(&peer_stats.peer.public_key),
                    last_handshake_secs: self
                        .handshakes
                        .get(&key)
                        .map(|(_, at)| now.saturating_sub(*at) / 1000),
                    rx_bytes: u64::try_from(rx).unwrap_or(0),
                    tx_bytes: u64::try_from(peer_stats.stats.tx_bytes).unwrap_or(0),
                    endpoint: peer_stats.peer.endpoint.map(|e| e.to_string()),
                });
            }
        }
        self.last_stats = stats;
        self.metrics.peers_with_session.set(with_session);
        let mut by_tenant: BTreeMap<String, i64> = BTreeMap::new();
        for key in self.sessions.keys() {
            if let Some(peer) = self.peers.get(key) {
                *by_tenant.entry(peer.tenant_id.clone()).or_default() += 1;
            }
        }
        if let Some(config) = &self.config {
            for tenant in &config.tenants {
                let label = TenantLabel {
                    tenant: tenant.slug.clone(),
                };
                self.metrics
                    .sessions
                    .get_or_create(&label)
                    .set(by_tenant.get(&tenant.tenant_id).copied().unwrap_or(0));
                self.metrics
                    .rx_bytes
                    .get_or_create(&label)
                    .set(rx_by_tenant.get(&tenant.tenant_id).copied().unwrap_or(0));
                self.metrics
                    .tx_bytes
                    .get_or_create(&label)
                    .set(tx_by_tenant.get(&tenant.tenant_id).copied().unwrap_or(0));
            }
        }
        self.metrics.update_filter(&self.filter.counters);
    }

    fn report(&mut self) {
        if self.outbox.is_none() {
            return;
        }
        let now = self.now();
        let listed = self.sessions.renewal_request(now);
        self.renewals.push_back(listed.clone());
        let report = FromGateway::Report {
            sessions: listed
                .iter()
                .map(|k| encode_key(&PublicKey::from(*k)))
                .collect(),
            stats: self.last_stats.clone(),
        };
        self.send(report);
    }

    /// Makes the device, filter, gate and routes match `config`, touching
    /// only peers that changed.
    async fn reconcile(&mut self, config: GatewayConfig) {
        let started = Instant::now();
        let mut wanted: BTreeMap<Key, PeerConfig> = BTreeMap::new();
        for peer in &config.peers {
            if let Some(key) = key_of(peer) {
                wanted.insert(key, peer.clone());
            }
        }
        // Removed devices, and devices whose tunnel address changed, lose
        // their session; new devices enter the WireGuard device only when
        // admitted.
        let mut remove = Vec::new();
        for (key, old) in &self.peers {
            match wanted.get(key) {
                None => remove.push(*key),
                Some(new) if new.tunnel_address != old.tunnel_address => remove.push(*key),
                Some(_) => {}
            }
        }
        let added = wanted
            .keys()
            .filter(|key| !self.peers.contains_key(*key))
            .count();
        for key in &remove {
            if self.sessions.end(key) {
                self.gate.revoke(*key);
                self.send(FromGateway::SessionEnded {
                    public_key: encode_key(&PublicKey::from(*key)),
                    reason: "device removed".into(),
                });
            }
            self.remove_from_device(*key).await;
        }

        self.filter.replace(policy::Filter::compile(&config));
        self.gate.set_known(wanted.keys().copied());
        self.idle_timeouts = config
            .tenants
            .iter()
            .map(|t| {
                (
                    t.tenant_id.clone(),
                    Duration::from_secs(u64::from(t.session_idle_timeout_secs.max(1))),
                )
            })
            .collect();
        if self.settings.manage_routes {
            self.sync_routes(&config);
        }
        self.peers = wanted;
        self.metrics
            .peers
            .set(i64::try_from(self.peers.len()).unwrap_or(i64::MAX));
        self.metrics
            .config_version
            .set(i64::try_from(config.version).unwrap_or(i64::MAX));
        self.metrics
            .applied
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let version = config.version;
        tracing::info!(
            version,
            peers = self.peers.len(),
            added,
            removed = remove.len(),
            took_ms = started.elapsed().as_millis() as u64,
            "configuration applied"
        );
        self.config = Some(config);
        self.send(FromGateway::Applied { version });
    }

    fn sync_routes(&mut self, config: &GatewayConfig) {
        let wanted: BTreeSet<IpNet> = config
            .tenants
            .iter()
            .filter_map(|t| t.address_pool.parse().ok())
            .collect();
        for pool in wanted.difference(&self.routes) {
            if let Err(error) = netconf::add_route(&self.settings.interface, pool) {
                tracing::error!(%pool, error = %format!("{error:#}"), "cannot route a tenant pool");
            }
        }
        for pool in self.routes.difference(&wanted) {
            if let Err(error) = netconf::remove_route(&self.settings.interface, pool) {
                tracing::warn!(%pool, error = %format!("{error:#}"), "cannot remove a route");
            }
        }
        self.routes = wanted;
    }
}
