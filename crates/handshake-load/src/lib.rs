//! A WireGuard handshake load generator for benchmarking gateways.
//!
//! Each simulated device sends handshake initiations to the gateway, one at
//! a time (it waits for the answer or a timeout before the next), from one of
//! many source addresses, as devices behind many home connections do.
//! Initiations are computed before the clock starts (each with a newer
//! timestamp than the last, as the responder requires), so the generator
//! spends almost no CPU while measuring and the gateway is what is measured.
//! Answers are counted, not processed.
//!
//! Two phases: `admit` sends every device's first initiation at once (a
//! gateway in front of a control plane must ask for a seat first) and
//! reports how long each device waited; `sustain` keeps all devices
//! handshaking for a fixed time and reports answers per second.
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use gotatun::noise::Tunn;
use gotatun::noise::index_table::IndexTable;
use gotatun::noise::rate_limiter::RateLimiter;
use x25519_dalek::{PublicKey, StaticSecret};
use zerocopy::IntoBytes;

/// How long a device waits for an answer before it sends its next
/// initiation, unless set otherwise ([`Load::retry_after`]).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a sending thread sleeps in `recv` when nothing arrives: short
/// enough for the 50 ms pacing, long enough not to busy the core the
/// control plane shares with the generator.
const POLL: Duration = Duration::from_millis(10);
const RATE_LIMIT: u64 = 100;

/// What a gateway sent back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// A handshake response: the handshake was answered.
    Response { receiver: u32 },
    /// A cookie reply: the gateway is under load and wants proof of the
    /// source address first.
    Cookie { receiver: u32 },
}

/// Classifies a datagram from the gateway; `None` for anything else.
pub fn parse_answer(datagram: &[u8]) -> Option<Answer> {
    let index = |at: usize| {
        datagram
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
    };
    match (datagram.first(), datagram.len()) {
        (Some(2), 92) => Some(Answer::Response {
            receiver: index(8)?,
        }),
        (Some(3), 64) => Some(Answer::Cookie {
            receiver: index(4)?,
        }),
        _ => None,
    }
}

/// A key pair as base64 text, made here as a device would.
pub fn key_pair() -> (String, String) {
    let secret = StaticSecret::random();
    let public = PublicKey::from(&secret);
    let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    (encode(&secret.to_bytes()), encode(public.as_bytes()))
}

pub fn decode_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .with_context(|| format!("'{text}' is not base64"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| anyhow::anyhow!("'{text}' is not a 32-byte key"))
}

/// One device's initiations, computed ahead.
struct Device {
    initiations: Vec<Vec<u8>>,
    senders: Vec<u32>,
    next: usize,
    /// The sender index and send time of the initiation awaiting an answer.
    waiting: Option<(u32, Instant)>,
    last_sent: Option<Instant>,
}

impl Device {
    fn prepare(private: &[u8; 32], gateway: &PublicKey, count: usize) -> Device {
        let secret = StaticSecret::from(*private);
        let limiter = Arc::new(RateLimiter::new(gateway, RATE_LIMIT));
        let mut tunnel = Tunn::new(
            secret,
            *gateway,
            None,
            None,
            IndexTable::from_os_rng(),
            limiter,
        );
        let mut initiations = Vec::with_capacity(count);
        let mut senders = Vec::with_capacity(count);
        for _ in 0..count {
            if let Some(packet) = tunnel.format_handshake_initiation(true) {
                senders.push(packet.sender_idx.get());
                initiations.push(packet.as_bytes().to_vec());
            }
        }
        Device {
            initiations,
            senders,
            next: 0,
            waiting: None,
            last_sent: None,
        }
    }
}

/// Devices sharing one source address (one UDP socket).
struct Source {
    socket: UdpSocket,
    devices: Vec<Device>,
    by_sender: HashMap<u32, usize>,
}

#[derive(Debug, Default, Clone)]
pub struct PhaseReport {
    pub answered: u64,
    pub cookies: u64,
    pub lost: u64,
    /// Devices that used up their prepared initiations.
    pub exhausted: u64,
    /// Time from sending an initiation to its answer.
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
}

impl PhaseReport {
    fn merge(&mut self, other: PhaseReport) {
        self.answered += other.answered;
        self.cookies += other.cookies;
        self.lost += other.lost;
        self.exhausted += other.exhausted;
        self.latencies.extend(other.latencies);
    }

    pub fn per_second(&self) -> f64 {
        self.answered as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The `q` quantile (0..=1) of the latencies.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let last = sorted.len().checked_sub(1)?;
        let at = ((last as f64) * q).round() as usize;
        sorted.get(at.min(last)).copied()
    }
}

pub struct Load {
    sources: Vec<Source>,
    /// A device waits at least this long between its initiations.
    /// wireguard-go ignores initiations from a peer that come faster than
    /// 50 per second; a real device retries only after seconds.
    pub min_interval: Duration,
    /// An initiation not answered within this time counts as lost and the
    /// device sends its next one (WireGuard itself retries after 5 s).
    pub retry_after: Duration,
}

impl Load {
    /// Prepares `per_device` initiations for each device key (on all cores),
    /// with devices spread over one socket per source address.
    pub fn prepare(
        gateway: SocketAddr,
        gateway_key: &[u8; 32],
        device_keys: &[[u8; 32]],
        source_addresses: &[IpAddr],
        per_device: usize,
    ) -> anyhow::Result<Load> {
        if source_addresses.is_empty() {
            bail!("give at least one source address");
        }
        let gateway_key = PublicKey::from(*gateway_key);
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let chunk = device_keys.len().div_ceil(threads).max(1);
        let prepared: Vec<Device> = std::thread::scope(|scope| {
            let handles: Vec<_> = device_keys
                .chunks(chunk)
                .map(|keys| {
                    scope.spawn(move || {
                        keys.iter()
                            .map(|key| Device::prepare(key, &gateway_key, per_device))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        let mut sources: Vec<Source> = Vec::new();
        for address in source_addresses {
            let socket = UdpSocket::bind((*address, 0))
                .with_context(|| format!("cannot bind a UDP socket to {address}"))?;
            socket.connect(gateway)?;
            socket.set_read_timeout(Some(POLL))?;
            sources.push(Source {
                socket,
                devices: Vec::new(),
                by_sender: HashMap::new(),
            });
        }
        let count = sources.len();
        for (n, device) in prepared.into_iter().enumerate() {
            let source = &mut sources[n % count];
            let local = source.devices.len();
            for sender in &device.senders {
                source.by_sender.insert(*sender, local);
            }
            source.devices.push(device);
        }
        Ok(Load {
            sources,
            min_interval: Duration::from_millis(50),
            retry_after: ANSWER_TIMEOUT,
        })
    }

    /// Every device sends one initiation at the same moment and waits for
    /// its answer (re-sending the next one after a timeout), until all are
    /// answered or `limit` has passed. Latency counts from the first send.
    pub fn admit(&mut self, limit: Duration) -> PhaseReport {
        self.phase(limit, true)
    }

    /// All devices handshake back to back for `duration`.
    pub fn sustain(&mut self, duration: Duration) -> PhaseReport {
        self.phase(duration, false)
    }

    fn phase(&mut self, duration: Duration, once: bool) -> PhaseReport {
        let started = Instant::now();
        let deadline = started + duration;
        let pacing = Pacing {
            min_interval: self.min_interval,
            retry_after: self.retry_after,
        };
        let mut report = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .sources
                .iter_mut()
                .map(|source| scope.spawn(move || drive(source, deadline, once, pacing)))
                .collect();
            let mut report = PhaseReport::default();
            for handle in handles {
                if let Ok(part) = handle.join() {
                    report.merge(part);
                }
            }
            report
        });
        report.elapsed = if once { started.elapsed() } else { duration };
        report
    }
}

#[derive(Clone, Copy)]
struct Pacing {
    min_interval: Duration,
    retry_after: Duration,
}

/// One source's loop: send when a device is free, count answers.
fn drive(source: &mut Source, deadline: Instant, once: bool, pacing: Pacing) -> PhaseReport {
    let mut report = PhaseReport::default();
    let mut first_sent: Vec<Option<Instant>> = vec![None; source.devices.len()];
    let mut done = vec![false; source.devices.len()];
    let mut buffer = [0u8; 256];
    loop {
        let now = Instant::now();
        if now >= deadline || (once && done.iter().all(|d| *d)) {
            break;
        }
        for (n, device) in source.devices.iter_mut().enumerate() {
            if done[n] {
                continue;
            }
            if let Some((_, sent)) = device.waiting
                && now.duration_since(sent) > pacing.retry_after
            {
                device.waiting = None;
                report.lost += 1;
            }
            if device.waiting.is_some()
                || device
                    .last_sent
                    .is_some_and(|at| now.duration_since(at) < pacing.min_interval)
            {
                continue;
            }
            let Some(packet) = device.initiations.get(device.next) else {
                report.exhausted += 1;
                done[n] = true;
                continue;
            };
            if source.socket.send(packet).is_ok() {
                device.waiting = Some((device.senders[device.next], now));
                device.last_sent = Some(now);
                first_sent[n].get_or_insert(now);
            }
            device.next += 1;
        }
        while let Ok(length) = source.socket.recv(&mut buffer) {
            let Some(answer) = parse_answer(&buffer[..length]) else {
                continue;
            };
            let (Answer::Response { receiver } | Answer::Cookie { receiver }) = answer;
            let Some(&n) = source.by_sender.get(&receiver) else {
                continue;
            };
            let device = &mut source.devices[n];
            let Some((sender, sent)) = device.waiting else {
                continue;
            };
            if sender != receiver {
                continue;
            }
            device.waiting = None;
            let now = Instant::now();
            match answer {
                Answer::Response { .. } => {
                    report.answered += 1;
                    let since = if once {
                        first_sent[n].unwrap_or(sent)
                    } else {
                        sent
                    };
                    report.latencies.push(now.duration_since(since));
                    if once {
                        done[n] = true;
                    }
                }
                Answer::Cookie { .. } => report.cookies += 1,
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_told_apart_by_type_and_length() {
        let mut response = [0u8; 92];
        response[0] = 2;
        response[8..12].copy_from_slice(&7u32.to_le_bytes());
        assert_eq!(
            parse_answer(&response),
            Some(Answer::Response { receiver: 7 })
        );
        let mut cookie = [0u8; 64];
        cookie[0] = 3;
        cookie[4..8].copy_from_slice(&9u32.to_le_bytes());
        assert_eq!(parse_answer(&cookie), Some(Answer::Cookie { receiver: 9 }));
        assert_eq!(parse_answer(&response[..40]), None);
        assert_eq!(parse_answer(&[4u8; 32]), None);
        assert_eq!(parse_answer(&[]), None);
    }

    #[test]
    fn prepared_initiations_are_distinct_and_well_formed() {
        let (private, _) = key_pair();
        let (_, gateway_public) = key_pair();
        let gateway = PublicKey::from(decode_key(&gateway_public).unwrap());
        let device = Device::prepare(&decode_key(&private).unwrap(), &gateway, 3);
        assert_eq!(device.initiations.len(), 3);
        assert!(
            device
                .initiations
                .iter()
                .all(|p| p.len() == 148 && p[0] == 1)
        );
        let senders: std::collections::HashSet<u32> = device.senders.iter().copied().collect();
        assert_eq!(senders.len(), 3, "each initiation has its own index");
    }

    #[test]
    fn quantiles_of_latencies() {
        let report = PhaseReport {
            latencies: (1..=100).map(Duration::from_millis).collect(),
            ..PhaseReport::default()
        };
        assert_eq!(report.quantile(0.5), Some(Duration::from_millis(51)));
        assert_eq!(report.quantile(0.99), Some(Duration::from_millis(99)));
        assert_eq!(PhaseReport::default().quantile(0.5), None);
    }
}
