//! The control plane's seat ledger. `store` keeps its state in the database
//! (table `seat_holders`): to decide admissions it loads a tenant's
//! holdings into this ledger, decides here and writes the outcome back, so
//! the rules the simulation tests check are the ones production runs.
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
    /// One tenant's usage at one instant, kept while only `admit` changes
    /// the ledger: a burst of admissions decided at one `now` (the store's
    /// batches) costs a lookup each instead of a scan of every seat.
    counted: Option<Counted>,
}

#[derive(Debug, Clone)]
struct Counted {
    tenant: String,
    now: Millis,
    usage: Usage,
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
        let tenant_seats = self
            .seats
            .range(key(tenant, "")..)
            .take_while(|((seat_tenant, _), _)| seat_tenant == tenant);
        for (_, seat) in tenant_seats {
            if seat.active(now) {
                usage.total += 1;
                usage.priority += u32::from(seat.priority);
            }
        }
        usage
    }

    /// [`Ledger::usage`], from `counted` when it holds this tenant and
    /// instant.
    fn counted_usage(&mut self, tenant: &str, now: Millis) -> Usage {
        if let Some(counted) = &self.counted
            && counted.tenant == tenant
            && counted.now == now
        {
            return counted.usage;
        }
        let usage = self.usage(tenant, now);
        self.counted = Some(Counted {
            tenant: tenant.to_owned(),
            now,
            usage,
        });
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

    /// Puts a holding read from storage back: the store loads a tenant's
    /// holdings, decides with this ledger and writes the outcome back, so
    /// production and the simulation tests share one set of rules.
    pub fn restore(
        &mut self,
        tenant: &str,
        device: &str,
        gateway: &str,
        priority: bool,
        holding: Holding,
    ) {
        self.counted = None;
        let seat = self.seats.entry(key(tenant, device)).or_insert(Seat {
            priority,
            holders: BTreeMap::new(),
        });
        seat.priority |= priority;
        seat.holders.insert(gateway.to_owned(), holding);
    }

    /// The seat of `device`, current or not.
    pub fn seat(&self, tenant: &str, device: &str) -> Option<&Seat> {
        self.seats.get(&key(tenant, device))
    }

    /// Whether `device` holds a current seat: some holding neither expired
    /// nor superseded. Such a device keeps its seat when it asks again.
    pub fn is_current(&self, tenant: &str, device: &str, now: Millis) -> bool {
        self.seat(tenant, device).is_some_and(|seat| {
            seat.holders
                .values()
                .any(|h| h.expires_at > now && !h.superseded)
        })
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
        if self.is_current(tenant, device, now)
            && let Some(seat) = self.seats.get_mut(&key(tenant, device))
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
        // Seats in use by devices other than this one (its superseded
        // holdings may still count).
        let mut usage = self.counted_usage(tenant, now);
        if let Some(own) = self
            .seats
            .get(&key(tenant, device))
            .filter(|seat| seat.active(now))
        {
            usage.total = usage.total.saturating_sub(1);
            usage.priority = usage.priority.saturating_sub(u32::from(own.priority));
        }
        match decide(self.quota(tenant), usage, is_priority) {
            Ok(()) => {
                let seat = self.seats.entry(key(tenant, device)).or_insert(Seat {
                    priority: is_priority,
                    holders: BTreeMap::new(),
                });
                seat.priority = is_priority;
                seat.holders.insert(gateway.to_owned(), current);
                if let Some(counted) = &mut self.counted {
                    counted.usage = Usage {
                        total: usage.total + 1,
                        priority: usage.priority + u32::from(is_priority),
                    };
                }
                #[cfg(test)]
                assert_eq!(
                    self.counted.as_ref().map(|c| c.usage),
                    Some(self.usage(tenant, now))
                );
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
        self.counted = None;
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
        self.counted = None;
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
        self.counted = None;
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
        self.counted = None;
        for seat in self.seats.values_mut() {
            seat.holders.retain(|_, h| h.expires_at > now);
        }
        self.seats.retain(|_, seat| !seat.holders.is_empty());
    }
}
