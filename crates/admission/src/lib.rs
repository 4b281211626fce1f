//! Who may start a VPN session, as pure state machines over `now`.
//!
//! The control plane is the only authority: a gateway admits a device only
//! after the control plane granted it a **seat** ([`decide`], applied to the
//! ledger in one serialized transaction per tenant). A seat is a lease: it
//! lasts `lease` from the moment the control plane grants or renews it. The
//! gateway ([`sessions::SessionTable`]) counts the lease from the moment it
//! *sent* the request, which is earlier, and stops a margin before that, so a
//! gateway never serves a session the ledger no longer counts, whatever the
//! message delays, reconnects or restarts. Seats belong to devices, not to
//! gateways: a device that moves to another gateway takes its seat along
//! instead of needing a second one.
//!
//! See ARCHITECTURE.md, "Sessions and quotas", for the argument.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod ledger;
pub mod sessions;

/// Milliseconds on some monotonic clock. Each side uses its own clock; only
/// durations cross between them.
pub type Millis = u64;

/// A tenant's limits, as the control plane knows them at decision time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Concurrent sessions over all gateways; `None` = unlimited.
    pub max_sessions: Option<u32>,
    /// Seats of `max_sessions` only members of the priority group may use.
    pub priority_seats: u32,
}

/// The seats of a tenant that are active now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub total: u32,
    /// How many of `total` are held by priority-group devices.
    pub priority: u32,
}

/// Why a device was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// All seats are in use.
    QuotaFull { max: u32 },
    /// The free seats are reserved for the priority group.
    ReservedForPriority { max: u32, reserved: u32 },
}

impl Refusal {
    /// A message for the employee and the admins.
    pub fn message(&self) -> String {
        match self {
            Refusal::QuotaFull { max } => {
                format!("all {max} VPN seats of your organisation are in use; try again later")
            }
            Refusal::ReservedForPriority { max, reserved } => format!(
                "the free VPN seats of your organisation are reserved for priority staff \
                 ({reserved} of {max} seats); try again later"
            ),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Refusal::QuotaFull { .. } => "quota_full",
            Refusal::ReservedForPriority { .. } => "reserved_for_priority",
        }
    }
}

/// Whether a device without a seat may take one now.
///
/// A priority device may take any free seat. Any other device may not take
/// the seats still reserved for the priority group: `priority_seats` minus
/// those the group already uses.
pub fn decide(quota: Quota, usage: Usage, is_priority: bool) -> Result<(), Refusal> {
    let Some(max) = quota.max_sessions else {
        return Ok(());
    };
    if usage.total >= max {
        return Err(Refusal::QuotaFull { max });
    }
    if is_priority {
        return Ok(());
    }
    let reserved = quota.priority_seats.saturating_sub(usage.priority);
    if usage.total.saturating_add(reserved) >= max {
        return Err(Refusal::ReservedForPriority {
            max,
            reserved: quota.priority_seats.min(max),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod sim_tests;
