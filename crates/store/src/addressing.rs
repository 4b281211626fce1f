//! Tunnel address allocation from a tenant's pool. Pure functions.
//!
//! A device's address is stored as its index into the pool, so that the next
//! free address is a gap search over sorted integers. Index 0 (the network
//! address) and 1 (kept for the gateway side, e.g. a DNS forwarder) are never
//! handed out, and neither is the IPv4 broadcast address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

pub const FIRST_DEVICE_INDEX: u64 = 2;

/// Whether two pools share any address.
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The largest index usable for a device in `pool`.
pub fn last_index(pool: &IpNet) -> u64 {
    match pool {
        IpNet::V4(v4) => {
            let host_bits = 32 - u32::from(v4.prefix_len());
            // exclude the broadcast address
            (1u64 << host_bits).saturating_sub(2)
        }
        IpNet::V6(v6) => {
            let host_bits = 128 - u32::from(v6.prefix_len());
            if host_bits >= 63 {
                i64::MAX as u64
            } else {
                (1u64 << host_bits) - 1
            }
        }
    }
}

/// How many devices fit into `pool`.
pub fn capacity(pool: &IpNet) -> u64 {
    (last_index(pool) + 1).saturating_sub(FIRST_DEVICE_INDEX)
}

/// The address with offset `index` in `pool`, if the index is usable.
pub fn address_at(pool: &IpNet, index: u64) -> Option<IpAddr> {
    if !(FIRST_DEVICE_INDEX..=last_index(pool)).contains(&index) {
        return None;
    }
    match pool {
        IpNet::V4(v4) => {
            let base = u32::from(v4.network());
            let offset = u32::try_from(index).ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(base.checked_add(offset)?)))
        }
        IpNet::V6(v6) => {
            let base = u128::from(v6.network());
            Some(IpAddr::V6(Ipv6Addr::from(
                base.checked_add(u128::from(index))?,
            )))
        }
    }
}

/// Up to `count` free indices in `pool`, lowest first, given the used
/// indices in ascending order.
pub fn free_indices(pool: &IpNet, used_ascending: &[u64], count: usize) -> Vec<u64> {
    let last = last_index(pool);
    let mut free = Vec::with_capacity(count);
    let mut candidate = FIRST_DEVICE_INDEX;
    let mut used = used_ascending.iter().copied().peekable();
    while free.len() < count && candidate <= last {
        while used.peek().is_some_and(|u| *u < candidate) {
            used.next();
        }
        if used.peek() == Some(&candidate) {
            used.next();
        } else {
            free.push(candidate);
        }
        candidate += 1;
    }
    free
}

/// Up to `count` free indices when the used ones are exactly
/// `FIRST_DEVICE_INDEX..=max_used` (no gaps): the ones after `max_used`.
/// The same answer as [`free_indices`] without reading every used index.
pub fn indices_after(pool: &IpNet, max_used: Option<u64>, count: usize) -> Vec<u64> {
    let start = max_used.map_or(FIRST_DEVICE_INDEX, |max| max + 1);
    (start..=last_index(pool)).take(count).collect()
}

#[cfg(test)]
mod tests;
