//! Access rules as a per-packet filter.
//!
//! [`Filter::compile`] turns a gateway's configuration into lookup tables;
//! [`Filter::outbound`] and [`Filter::inbound`] decide for one raw IP packet.
//! Default deny: a packet passes only if a rule of the device's groups allows
//! it. Devices never reach any tenant's tunnel addresses (their own tenant's
//! included), so one municipality's devices never see another's.
//!
//! The filter is stateless. Return traffic is matched by mirroring the rule:
//! a packet from an application to a device passes if the device may reach
//! the packet's source address, protocol and source port.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod packet;

use std::net::IpAddr;
use std::sync::Arc;

use api_types::gateway::{GatewayConfig, RuleConfig};
use ipnet::IpNet;
use rustc_hash::FxHashMap;

pub use packet::{Flow, parse};

/// IP protocol numbers the rules speak about.
pub const TCP: u8 = 6;
pub const UDP: u8 = 17;
pub const ICMP: u8 = 1;
pub const ICMPV6: u8 = 58;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Any,
    Tcp,
    Udp,
    Icmp,
}

impl Protocol {
    pub fn parse(text: &str) -> Option<Protocol> {
        match text {
            "any" => Some(Protocol::Any),
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "icmp" => Some(Protocol::Icmp),
            _ => None,
        }
    }

    fn matches(self, protocol: u8) -> bool {
        match self {
            Protocol::Any => true,
            Protocol::Tcp => protocol == TCP,
            Protocol::Udp => protocol == UDP,
            Protocol::Icmp => protocol == ICMP || protocol == ICMPV6,
        }
    }
}

/// One compiled rule: a destination network, protocol and ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub network: IpNet,
    pub protocol: Protocol,
    /// Inclusive ranges, sorted; empty = all ports.
    pub ports: Vec<(u16, u16)>,
}

impl Rule {
    fn from_config(config: &RuleConfig) -> Option<Rule> {
        Some(Rule {
            network: config.cidr.parse().ok()?,
            protocol: Protocol::parse(&config.protocol)?,
            ports: config.ports.clone(),
        })
    }

    /// Whether this rule allows talking to `remote` with `protocol` on `port`.
    fn allows(&self, remote: IpAddr, protocol: u8, port: Option<u16>) -> bool {
        if !self.network.contains(&remote) || !self.protocol.matches(protocol) {
            return false;
        }
        if self.ports.is_empty() {
            return true;
        }
        match port {
            Some(port) => self
                .ports
                .iter()
                .any(|(first, last)| (*first..=*last).contains(&port)),
            // Non-first fragments carry no ports; only port-less rules pass them.
            None => false,
        }
    }
}

/// Why a packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deny {
    /// Not an IPv4/IPv6 packet we can read.
    Malformed,
    /// The device address is not a known device.
    UnknownDevice,
    /// The remote address is a device address (of any tenant).
    DeviceToDevice,
    /// No rule of the device's groups allows it.
    NoRule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny(Deny),
}

/// The compiled access rules of all devices a gateway serves.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Rules by device tunnel address. Devices with the same groups share one list.
    devices: FxHashMap<IpAddr, Arc<[Rule]>>,
    /// Every tenant's address pool: never a legitimate remote end.
    pools: Vec<IpNet>,
}

impl Filter {
    pub fn compile(config: &GatewayConfig) -> Filter {
        let mut rules_by_group: FxHashMap<(&str, &str), Vec<Rule>> = FxHashMap::default();
        let mut pools = Vec::new();
        for tenant in &config.tenants {
            if let Ok(pool) = tenant.address_pool.parse::<IpNet>() {
                pools.push(pool);
            }
            for rule in &tenant.rules {
                if let Some(compiled) = Rule::from_config(rule) {
                    rules_by_group
                        .entry((tenant.tenant_id.as_str(), rule.group_id.as_str()))
                        .or_default()
                        .push(compiled);
                }
            }
        }

        let mut shared: FxHashMap<Vec<&str>, Arc<[Rule]>> = FxHashMap::default();
        let mut devices = FxHashMap::default();
        for peer in &config.peers {
            let Ok(address) = peer.tunnel_address.parse::<IpAddr>() else {
                continue;
            };
            let mut groups: Vec<&str> = peer.groups.iter().map(String::as_str).collect();
            groups.sort_unstable();
            groups.dedup();
            groups.insert(0, peer.tenant_id.as_str());
            let rules = shared
                .entry(groups.clone())
                .or_insert_with(|| {
                    let tenant = groups[0];
                    let mut rules: Vec<Rule> = groups[1..]
                        .iter()
                        .filter_map(|group| rules_by_group.get(&(tenant, *group)))
                        .flatten()
                        .cloned()
                        .collect();
                    rules.dedup();
                    rules.into()
                })
                .clone();
            devices.insert(address, rules);
        }
        Filter { devices, pools }
    }

    pub fn device_count(&self) -> usize {
        self.devices.len()
    }

    fn in_any_pool(&self, address: IpAddr) -> bool {
        self.pools.iter().any(|pool| pool.contains(&address))
    }

    /// A packet a device sent into the tunnel, on its way to an application.
    pub fn outbound(&self, packet: &[u8]) -> Verdict {
        let Some(flow) = parse(packet) else {
            return Verdict::Deny(Deny::Malformed);
        };
        let Some(rules) = self.devices.get(&flow.source) else {
            return Verdict::Deny(Deny::UnknownDevice);
        };
        if self.in_any_pool(flow.destination) {
            return Verdict::Deny(Deny::DeviceToDevice);
        }
        if rules
            .iter()
            .any(|rule| rule.allows(flow.destination, flow.protocol, flow.destination_port))
        {
            Verdict::Allow
        } else {
            Verdict::Deny(Deny::NoRule)
        }
    }

    /// A packet from the network on its way into the tunnel to a device.
    pub fn inbound(&self, packet: &[u8]) -> Verdict {
        let Some(flow) = parse(packet) else {
            return Verdict::Deny(Deny::Malformed);
        };
        let Some(rules) = self.devices.get(&flow.destination) else {
            return Verdict::Deny(Deny::UnknownDevice);
        };
        if self.in_any_pool(flow.source) {
            return Verdict::Deny(Deny::DeviceToDevice);
        }
        if rules
            .iter()
            .any(|rule| rule.allows(flow.source, flow.protocol, flow.source_port))
        {
            Verdict::Allow
        } else {
            Verdict::Deny(Deny::NoRule)
        }
    }
}

#[cfg(test)]
mod tests;
