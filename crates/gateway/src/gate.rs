//! The admission gate in the UDP receive path.
//!
//! Every WireGuard handshake initiation is looked at before gotatun sees it.
//! The initiator's identity is inside the encrypted part, so the gate does
//! the first Diffie-Hellman of the handshake (`parse_handshake_anon`) to
//! learn the device's public key. Devices in session pass; any other known
//! device's initiation is held back and the engine asks the control plane.
//! If the answer is yes, the held packet is re-injected and gotatun answers
//! it as if it had just arrived; if no, it is dropped, so a refused
//! handshake is never answered.
//!
//! Every initiation is identified, also from an address where a device in
//! session already is: devices behind one address (a shared NAT, or a load
//! test) would otherwise pass as that device and never be admitted. The
//! cost is one Diffie-Hellman per handshake, ~50 µs; a device rekeys every
//! two minutes.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gotatun::noise::handshake::parse_handshake_anon;
use gotatun::packet::{Packet, PacketBufPool, WgHandshakeInit};
use gotatun::udp::socket::{UdpSocket, UdpSocketFactory};
use gotatun::udp::{UdpRecv, UdpTransportFactory, UdpTransportFactoryParams};
use tokio::sync::mpsc;
use x25519_dalek::{PublicKey, StaticSecret};
use zerocopy::FromBytes;

/// At most this many initiations per device are held while the control
/// plane decides.
const MAX_HELD_PER_DEVICE: usize = 4;
/// Handshake Diffie-Hellmans per second the gate spends on devices not in
/// session; above it, initiations are dropped (flood protection).
const MAX_PARSES_PER_SECOND: u32 = 20_000;

pub type Key = [u8; 32];

/// An initiation from a device that is not in session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Knock {
    pub key: Key,
    pub source: SocketAddr,
}

#[derive(Default)]
struct GateState {
    known: HashSet<Key>,
    admitted: HashSet<Key>,
    held: HashMap<Key, Vec<(Packet, SocketAddr)>>,
    budget_second: Option<Instant>,
    budget_used: u32,
}

/// Shared between the UDP receive task and the engine.
pub struct Gate {
    private: StaticSecret,
    public: PublicKey,
    state: Mutex<GateState>,
    knocks: mpsc::UnboundedSender<Knock>,
    released: mpsc::UnboundedSender<(Packet, SocketAddr)>,
    released_rx: Mutex<Option<mpsc::UnboundedReceiver<(Packet, SocketAddr)>>>,
    enabled: bool,
}

impl Gate {
    /// `enabled: false` lets every handshake through (benchmarks only).
    pub fn new(
        private: StaticSecret,
        enabled: bool,
    ) -> (Arc<Gate>, mpsc::UnboundedReceiver<Knock>) {
        let (knocks, knock_rx) = mpsc::unbounded_channel();
        let (released, released_rx) = mpsc::unbounded_channel();
        let public = PublicKey::from(&private);
        let gate = Gate {
            private,
            public,
            state: Mutex::new(GateState::default()),
            knocks,
            released,
            released_rx: Mutex::new(Some(released_rx)),
            enabled,
        };
        (Arc::new(gate), knock_rx)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The devices of the current configuration.
    pub fn set_known(&self, keys: impl IntoIterator<Item = Key>) {
        let mut state = self.state();
        state.known = keys.into_iter().collect();
        let GateState {
            known,
            admitted,
            held,
            ..
        } = &mut *state;
        admitted.retain(|key| known.contains(key));
        held.retain(|key, _| known.contains(key));
    }

    /// The device is in session: let its held initiations through.
    pub fn admit(&self, key: Key) {
        let held = {
            let mut state = self.state();
            state.admitted.insert(key);
            state.held.remove(&key).unwrap_or_default()
        };
        for packet in held {
            let _ = self.released.send(packet);
        }
    }

    /// The device was refused (or its request lapsed): drop what is held.
    pub fn refuse(&self, key: Key) {
        self.state().held.remove(&key);
    }

    /// The device's session ended: it must be admitted again.
    pub fn revoke(&self, key: Key) {
        let mut state = self.state();
        state.admitted.remove(&key);
        state.held.remove(&key);
    }

    pub fn admitted_count(&self) -> usize {
        self.state().admitted.len()
    }

    /// Decides for one datagram: `true` lets it through to gotatun now.
    fn pass(&self, packet: &mut Option<Packet>, source: SocketAddr) -> bool {
        let Some(bytes) = packet.as_deref() else {
            return false;
        };
        // Handshake initiation: type 1, 148 bytes.
        if !self.enabled || bytes.len() != 148 || bytes.first() != Some(&1) {
            return true;
        }
        if !self.spend_budget() {
            tracing::trace!("handshake flood: dropping an initiation");
            return false;
        }
        let Ok(init) = WgHandshakeInit::ref_from_bytes(bytes) else {
            return false;
        };
        let Ok(half) = parse_handshake_anon(&self.private, &self.public, init) else {
            return false;
        };
        let key: Key = half.peer_static_public;
        let mut state = self.state();
        if !state.known.contains(&key) {
            return false;
        }
        if state.admitted.contains(&key) {
            return true;
        }
        let held = state.held.entry(key).or_default();
        if held.len() < MAX_HELD_PER_DEVICE
            && let Some(packet) = packet.take()
        {
            held.push((packet, source));
        }
        drop(state);
        let _ = self.knocks.send(Knock { key, source });
        false
    }

    fn spend_budget(&self) -> bool {
        let now = Instant::now();
        let mut state = self.state();
        let fresh = state
            .budget_second
            .is_none_or(|start| now.duration_since(start).as_secs() >= 1);
        if fresh {
            state.budget_second = Some(now);
            state.budget_used = 0;
        }
        state.budget_used += 1;
        state.budget_used <= MAX_PARSES_PER_SECOND
    }
}

/// gotatun's UDP socket factory with the gate in front of the receive side.
pub struct GatedUdpFactory {
    pub inner: UdpSocketFactory,
    pub gate: Arc<Gate>,
}

impl UdpTransportFactory for GatedUdpFactory {
    type Send = UdpSocket;
    type Recv = GatedRecv;

    async fn bind(
        &mut self,
        params: &UdpTransportFactoryParams,
    ) -> io::Result<(UdpSocket, GatedRecv)> {
        let (send, recv) = self.inner.bind(params).await?;
        let released = self
            .gate
            .released_rx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        // A rebind (port change) gets a fresh channel for re-injection.
        let released = match released {
            Some(released) => released,
            None => {
                let (tx, rx) = mpsc::unbounded_channel();
                drop(tx);
                rx
            }
        };
        Ok((
            send,
            GatedRecv {
                inner: recv,
                gate: Arc::clone(&self.gate),
                released,
            },
        ))
    }
}

pub struct GatedRecv {
    inner: UdpSocket,
    gate: Arc<Gate>,
    released: mpsc::UnboundedReceiver<(Packet, SocketAddr)>,
}

enum Woken {
    Socket(io::Result<()>),
    Released(Option<(Packet, SocketAddr)>),
}

impl UdpRecv for GatedRecv {
    type RecvManyBuf = <UdpSocket as UdpRecv>::RecvManyBuf;

    async fn recv_from(&mut self, pool: &mut PacketBufPool) -> io::Result<(Packet, SocketAddr)> {
        loop {
            let mut batch = Vec::with_capacity(1);
            let mut buf = Self::RecvManyBuf::default();
            self.recv_many_from(&mut buf, pool, &mut batch).await?;
            if let Some(first) = batch.into_iter().next() {
                return Ok(first);
            }
        }
    }

    async fn recv_many_from(
        &mut self,
        recv_buf: &mut Self::RecvManyBuf,
        pool: &mut PacketBufPool,
        packets: &mut Vec<(Packet, SocketAddr)>,
    ) -> io::Result<()> {
        loop {
            let start = packets.len();
            let woken = tokio::select! {
                biased;
                released = self.released.recv(), if !self.released.is_closed() => Woken::Released(released),
                result = self.inner.recv_many_from(recv_buf, pool, packets) => Woken::Socket(result),
            };
            match woken {
                Woken::Released(Some(packet)) => {
                    packets.push(packet);
                    return Ok(());
                }
                Woken::Released(None) => continue,
                Woken::Socket(result) => {
                    result?;
                    let received: Vec<(Packet, SocketAddr)> = packets.drain(start..).collect();
                    for (packet, source) in received {
                        let mut slot = Some(packet);
                        if self.gate.pass(&mut slot, source)
                            && let Some(packet) = slot
                        {
                            packets.push((packet, source));
                        }
                    }
                    if packets.len() > start {
                        return Ok(());
                    }
                }
            }
        }
    }

    fn enable_udp_gro(&self) -> io::Result<()> {
        self.inner.enable_udp_gro()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use gotatun::noise::Tunn;
    use gotatun::noise::index_table::IndexTable;
    use gotatun::noise::rate_limiter::RateLimiter;

    use super::*;

    fn device() -> (StaticSecret, Key) {
        let secret = StaticSecret::random();
        let key = *PublicKey::from(&secret).as_bytes();
        (secret, key)
    }

    fn initiation(device: &StaticSecret, gateway: &PublicKey) -> Packet {
        let limiter = Arc::new(RateLimiter::new(gateway, 100));
        let mut tunnel = Tunn::new(
            device.clone(),
            *gateway,
            None,
            None,
            IndexTable::from_os_rng(),
            limiter,
        );
        tunnel
            .format_handshake_initiation(true)
            .unwrap()
            .into_bytes()
    }

    #[test]
    fn a_device_behind_the_address_of_one_in_session_is_still_asked_about() {
        let gateway = StaticSecret::random();
        let gateway_public = PublicKey::from(&gateway);
        let (gate, mut knocks) = Gate::new(gateway, true);
        let (anna, anna_key) = device();
        let (bob, bob_key) = device();
        gate.set_known([anna_key, bob_key]);
        let shared: SocketAddr = "198.18.0.11:40000".parse().unwrap();

        // anna is not in session: her initiation is held and asked about.
        let mut packet = Some(initiation(&anna, &gateway_public));
        assert!(!gate.pass(&mut packet, shared));
        assert_eq!(knocks.try_recv().unwrap().key, anna_key);
        gate.admit(anna_key);
        let mut packet = Some(initiation(&anna, &gateway_public));
        assert!(gate.pass(&mut packet, shared), "in session: passes");

        // bob shares her address but is not in session.
        let mut packet = Some(initiation(&bob, &gateway_public));
        assert!(!gate.pass(&mut packet, shared), "bob must not pass as anna");
        assert_eq!(knocks.try_recv().unwrap().key, bob_key);

        // An unknown device is dropped without asking.
        let (stranger, _) = device();
        let mut packet = Some(initiation(&stranger, &gateway_public));
        assert!(!gate.pass(&mut packet, shared));
        assert!(knocks.try_recv().is_err());
    }
}
