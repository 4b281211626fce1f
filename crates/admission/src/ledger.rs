//! The control plane's seat ledger. `store` keeps the same ledger in the
//! database (table `seat_holders`) with the same rules; this in-memory version
//! is the reference the simulation tests check the protocol against.
//!
//! A seat belongs to a device and is held by one or more gateways, each with
//! its own lease. The device counts once as long as any holding is unexpired.
//! When a device moves to another gateway, the old holding is *superseded*:
//! it is no longer renewed and ends when the old gateway confirms or its
//! lease runs out, so the seat is never free while any gateway may still
//! serve the device.

use std::collections::BTreeMap;

use crate::{Millis, Quota, Refusal, Usage, decide};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub expires_at: Millis,
    /// Another gateway took the device over; not renewed any more.
    pub superseded: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    pub priority: bool,
    pub holders: BTreeMap<String, Holding>,
}

impl Seat {
    fn active(&self, now: Millis) -> bool {
        self.holders.values().any(|h| h.expires_at > now)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// The device holds a seat on this gateway until `now + lease`. The
    /// gateways in `supersedes` should end their sessions of the device.
    Admitted {
        supersedes: Vec<String>,
    },
    Refused(Refusal),
}

/// Seats by `(tenant, device)`.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    seats: BTreeMap<(String, String), Seat>,
    quotas: BTreeMap<String, Quota>,
}

fn key(tenant: &str, device: &str) -> (String, String) {
    (tenant.to_owned(), device.to_owned())
}

impl Ledger {
    pub fn set_quota(&mut self, tenant: &str, quota: Quota) {
        self.quotas.insert(tenant.to_owned(), quota);
    }

    fn quota(&self, tenant: &str) -> Quota {
        self.quotas.get(tenant).copied().unwrap_or(Quota {
            max_sessions: None,
            priority_seats: 0,
        })
    }

    pub fn usage(&self, tenant: &str, now: Millis) -> Usage {
        let mut usage = Usage::default();
        for ((seat_tenant, _), seat) in &self.seats {
            if seat_tenant == tenant && seat.active(now) {
                usage.total += 1;
                usage.priority += u32::from(seat.priority);
            }
        }
        usage
    }

    /// The unexpired holding of `device` by `gateway`, if any.
    pub fn holding(
        &self,
        tenant: &str,
        device: &str,
        gateway: &str,
        now: Millis,
    ) -> Option<&Holding> {
        self.seats
            .get(&key(tenant, device))?
            .holders
            .get(gateway)
            .filter(|h| h.expires_at > now)
    }

    /// Seats in use by devices other than `device`.
    fn usage_without(&self, tenant: &str, device: &str, now: Millis) -> Usage {
        let mut usage = Usage::default();
        for ((seat_tenant, seat_device), seat) in &self.seats {
            if seat_tenant == tenant && seat_device != device && seat.active(now) {
                usage.total += 1;
                usage.priority += u32::from(seat.priority);
            }
        }
        usage
    }

    /// A gateway asks for a seat for `device`.
    ///
    /// A device whose seat is current (some holding neither expired nor
    /// superseded) keeps it and moves it here. Otherwise it needs a free seat;
    /// a superseded holding still waiting for its gateway's confirmation does
    /// not count against the device itself.
    pub fn admit(
        &mut self,
        tenant: &str,
        device: &str,
        gateway: &str,
        is_priority: bool,
        lease: Millis,
        now: Millis,
    ) -> Grant {
        let current = Holding {
            expires_at: now + lease,
            superseded: false,
        };
        if let Some(seat) = self.seats.get_mut(&key(tenant, device))
            && seat
                .holders
                .values()
                .any(|h| h.expires_at > now && !h.superseded)
        {
            let mut supersedes = Vec::new();
            for (holder, holding) in &mut seat.holders {
                if holder != gateway && holding.expires_at > now && !holding.superseded {
                    holding.superseded = true;
                    supersedes.push(holder.clone());
                }
            }
            seat.holders.insert(gateway.to_owned(), current);
            return Grant::Admitted { supersedes };
        }
        let usage = self.usage_without(tenant, device, now);
        match decide(self.quota(tenant), usage, is_priority) {
            Ok(()) => {
                let seat = self.seats.entry(key(tenant, device)).or_insert(Seat {
                    priority: is_priority,
                    holders: BTreeMap::new(),
                });
                seat.priority = is_priority;
                seat.holders.insert(gateway.to_owned(), current);
                Grant::Admitted {
                    supersedes: Vec::new(),
                }
            }
            Err(refusal) => Grant::Refused(refusal),
        }
    }

    /// Extends the current holdings of `gateway` among `devices`; returns those.
    pub fn renew(
        &mut self,
        gateway: &str,
        devices: &[(String, String)],
        lease: Millis,
        now: Millis,
    ) -> Vec<(String, String)> {
        let mut renewed = Vec::new();
        for device in devices {
            if let Some(holding) = self
                .seats
                .get_mut(device)
                .and_then(|seat| seat.holders.get_mut(gateway))
                && holding.expires_at > now
                && !holding.superseded
            {
                holding.expires_at = now + lease;
                renewed.push(device.clone());
            }
        }
        renewed
    }

    /// The gateway ended its session of the device.
    pub fn release(&mut self, gateway: &str, tenant: &str, device: &str) {
        let seat_key = key(tenant, device);
        if let Some(seat) = self.seats.get_mut(&seat_key) {
            seat.holders.remove(gateway);
            if seat.holders.is_empty() {
                self.seats.remove(&seat_key);
            }
        }
    }

    /// An admin ends a session: no holding is renewed any more. The seat is
    /// free once every gateway confirmed or its lease ran out. Returns the
    /// gateways to tell.
    pub fn end(&mut self, tenant: &str, device: &str, now: Millis) -> Vec<String> {
        let Some(seat) = self.seats.get_mut(&key(tenant, device)) else {
            return Vec::new();
        };
        let mut told = Vec::new();
        for (holder, holding) in &mut seat.holders {
            if holding.expires_at > now {
                holding.superseded = true;
                told.push(holder.clone());
            }
        }
        told
    }

    /// Forgets expired holdings and seats.
    pub fn prune(&mut self, now: Millis) {
        for seat in self.seats.values_mut() {
            seat.holders.retain(|_, h| h.expires_at > now);
        }
        self.seats.retain(|_, seat| !seat.holders.is_empty());
    }
}
