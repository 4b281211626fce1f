//! A gateway's view of its sessions: which devices it may serve, until when.

use std::collections::{BTreeMap, VecDeque};

use crate::Millis;

/// How long before the control plane's lease ends the gateway stops a
/// session. Covers clock-rate differences between the two machines.
pub const LEASE_MARGIN: Millis = 2_000;

/// Give up on an admission request after this long (the device retries its
/// handshake every 5 s anyway).
pub const REQUEST_TIMEOUT: Millis = 3_000;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Session {
    last_activity: Millis,
    idle_timeout: Millis,
    /// The session must end at this time unless the seat is renewed.
    lease_deadline: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    request_id: u64,
    sent_at: Millis,
}

/// What to do with a handshake initiation from a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitAction {
    /// The device is in session: let the handshake through.
    Pass,
    /// Hold the packet and ask the control plane (request id given).
    Ask { request_id: u64 },
    /// A request for this device is already out: hold the packet.
    Hold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// No handshake or traffic for the tenant's idle timeout.
    Idle,
    /// The seat was not renewed in time (control plane unreachable).
    LeaseLapsed,
    /// The control plane said so (admin, disconnect, device moved).
    Ended,
    /// A renewal came back without this session: the seat is gone.
    SeatLost,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Idle => "idle",
            EndReason::LeaseLapsed => "lease_lapsed",
            EndReason::Ended => "ended",
            EndReason::SeatLost => "seat_lost",
        }
    }
}

/// Sessions keyed by device (`K`: a public key in production).
#[derive(Debug, Clone)]
pub struct SessionTable<K: Ord + Clone> {
    sessions: BTreeMap<K, Session>,
    pending: BTreeMap<K, Pending>,
    /// Send times of renewal reports not yet answered, oldest first.
    renewals: VecDeque<Millis>,
    next_request: u64,
}

impl<K: Ord + Clone> Default for SessionTable<K> {
    fn default() -> Self {
        SessionTable {
            sessions: BTreeMap::new(),
            pending: BTreeMap::new(),
            renewals: VecDeque::new(),
            next_request: 1,
        }
    }
}

impl<K: Ord + Clone> SessionTable<K> {
    pub fn is_admitted(&self, key: &K) -> bool {
        self.sessions.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.sessions.keys()
    }

    /// A handshake initiation from `key` arrived.
    pub fn on_handshake_init(&mut self, key: &K, now: Millis) -> InitAction {
        if let Some(session) = self.sessions.get_mut(key) {
            session.last_activity = now;
            return InitAction::Pass;
        }
        if let Some(pending) = self.pending.get(key)
            && now < pending.sent_at + REQUEST_TIMEOUT
        {
            return InitAction::Hold;
        }
        let request_id = self.next_request;
        self.next_request += 1;
        self.pending.insert(
            key.clone(),
            Pending {
                request_id,
                sent_at: now,
            },
        );
        InitAction::Ask { request_id }
    }

    /// The control plane answered an admission request. Returns whether the
    /// device is now in session (release its held handshakes).
    pub fn on_admit_result(
        &mut self,
        key: &K,
        request_id: u64,
        admitted: bool,
        lease: Millis,
        idle_timeout: Millis,
        now: Millis,
    ) -> bool {
        let Some(pending) = self.pending.get(key).copied() else {
            return false;
        };
        if pending.request_id != request_id {
            return false;
        }
        self.pending.remove(key);
        if !admitted {
            return false;
        }
        // The lease started when the control plane decided, which is after we sent.
        let lease_deadline = (pending.sent_at + lease).saturating_sub(LEASE_MARGIN);
        if lease_deadline <= now {
            return false;
        }
        self.sessions.insert(
            key.clone(),
            Session {
                last_activity: now,
                idle_timeout,
                lease_deadline,
            },
        );
        true
    }

    /// The sessions to renew in a report sent now.
    pub fn renewal_request(&mut self, now: Millis) -> Vec<K> {
        self.renewals.push_back(now);
        self.sessions.keys().cloned().collect()
    }

    /// The control plane renewed `renewed` of the oldest outstanding report
    /// (which listed `requested`). Returns sessions that lost their seat.
    pub fn on_renewed(&mut self, requested: &[K], renewed: &[K], lease: Millis) -> Vec<K> {
        let Some(sent_at) = self.renewals.pop_front() else {
            return Vec::new();
        };
        let deadline = (sent_at + lease).saturating_sub(LEASE_MARGIN);
        let mut lost = Vec::new();
        for key in requested {
            if renewed.contains(key) {
                if let Some(session) = self.sessions.get_mut(key) {
                    session.lease_deadline = session.lease_deadline.max(deadline);
                }
            } else if self.sessions.remove(key).is_some() {
                lost.push(key.clone());
            }
        }
        lost
    }

    /// The connection to the control plane dropped: outstanding requests and
    /// reports will not be answered.
    pub fn on_disconnect(&mut self) {
        self.pending.clear();
        self.renewals.clear();
    }

    /// Handshake or traffic seen from `key`.
    pub fn on_activity(&mut self, key: &K, now: Millis) {
        if let Some(session) = self.sessions.get_mut(key) {
            session.last_activity = session.last_activity.max(now);
        }
    }

    /// Ends a session (control plane's order or device gone). Returns whether it existed.
    pub fn end(&mut self, key: &K) -> bool {
        self.pending.remove(key);
        self.sessions.remove(key).is_some()
    }

    /// Ends sessions that went idle or whose lease lapsed.
    pub fn handle_timeout(&mut self, now: Millis) -> Vec<(K, EndReason)> {
        let mut ended = Vec::new();
        self.sessions.retain(|key, session| {
            let reason = if now >= session.lease_deadline {
                Some(EndReason::LeaseLapsed)
            } else if now >= session.last_activity + session.idle_timeout {
                Some(EndReason::Idle)
            } else {
                None
            };
            match reason {
                Some(reason) => {
                    ended.push((key.clone(), reason));
                    false
                }
                None => true,
            }
        });
        ended
    }

    /// Admission requests that got no answer in time; their held handshakes
    /// can be dropped (the device retries).
    pub fn take_lapsed_requests(&mut self, now: Millis) -> Vec<K> {
        let lapsed: Vec<K> = self
            .pending
            .iter()
            .filter(|(_, pending)| now >= pending.sent_at + REQUEST_TIMEOUT)
            .map(|(key, _)| key.clone())
            .collect();
        for key in &lapsed {
            self.pending.remove(key);
        }
        lapsed
    }

    /// When [`Self::handle_timeout`] next has something to do.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let sessions = self
            .sessions
            .values()
            .map(|s| s.lease_deadline.min(s.last_activity + s.idle_timeout));
        let pending = self.pending.values().map(|p| p.sent_at + REQUEST_TIMEOUT);
        sessions.chain(pending).min()
    }
}

#[cfg(test)]
mod tests;
