use std::net::{IpAddr, Ipv4Addr};

use api_types::gateway::{GatewayConfig, PeerConfig, RuleConfig, TenantConfig};
use proptest::prelude::*;

use super::*;

/// An IPv4 packet with a TCP/UDP-style header (ports) or none.
fn v4(src: [u8; 4], dst: [u8; 4], protocol: u8, sport: u16, dport: u16) -> Vec<u8> {
    let mut packet = vec![0u8; 40];
    packet[0] = 0x45;
    packet[9] = protocol;
    packet[12..16].copy_from_slice(&src);
    packet[16..20].copy_from_slice(&dst);
    packet[20..22].copy_from_slice(&sport.to_be_bytes());
    packet[22..24].copy_from_slice(&dport.to_be_bytes());
    packet
}

fn v6(src: std::net::Ipv6Addr, dst: std::net::Ipv6Addr, protocol: u8, dport: u16) -> Vec<u8> {
    let mut packet = vec![0u8; 60];
    packet[0] = 0x60;
    packet[6] = protocol;
    packet[8..24].copy_from_slice(&src.octets());
    packet[24..40].copy_from_slice(&dst.octets());
    packet[40..42].copy_from_slice(&1234u16.to_be_bytes());
    packet[42..44].copy_from_slice(&dport.to_be_bytes());
    packet
}

fn rule(group: &str, cidr: &str, protocol: &str, ports: &[(u16, u16)]) -> RuleConfig {
    RuleConfig {
        group_id: group.into(),
        cidr: cidr.into(),
        protocol: protocol.into(),
        ports: ports.to_vec(),
    }
}

fn peer(tenant: &str, address: &str, groups: &[&str]) -> PeerConfig {
    PeerConfig {
        device_id: address.into(),
        tenant_id: tenant.into(),
        public_key: address.into(),
        tunnel_address: address.into(),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

fn config() -> GatewayConfig {
    GatewayConfig {
        version: 1,
        gateway_name: "gw".into(),
        region: "south".into(),
        tenants: vec![
            TenantConfig {
                tenant_id: "a".into(),
                slug: "a".into(),
                address_pool: "10.1.0.0/16".into(),
                session_idle_timeout_secs: 300,
                rules: vec![
                    rule(
                        "office",
                        "198.18.10.0/24",
                        "tcp",
                        &[(445, 445), (8000, 8100)],
                    ),
                    rule("office", "198.18.11.5/32", "icmp", &[]),
                    rule("admins", "198.18.0.0/16", "any", &[]),
                    // a rule that overlaps another tenant's pool must still not reach it
                    rule("admins", "10.0.0.0/8", "any", &[]),
                ],
            },
            TenantConfig {
                tenant_id: "b".into(),
                slug: "b".into(),
                address_pool: "10.2.0.0/16".into(),
                session_idle_timeout_secs: 300,
                rules: vec![rule("office", "198.18.10.0/24", "udp", &[(53, 53)])],
            },
        ],
        peers: vec![
            peer("a", "10.1.0.2", &["office"]),
            peer("a", "10.1.0.3", &["admins"]),
            peer("a", "10.1.0.4", &[]),
            peer("b", "10.2.0.2", &["office"]),
            peer("a", "fd00:a::2", &["admins"]),
        ],
    }
}

#[test]
fn rules_allow_exactly_their_ports() {
    let filter = Filter::compile(&config());
    let office = [10, 1, 0, 2];
    assert_eq!(
        filter.outbound(&v4(office, [198, 18, 10, 7], TCP, 40000, 445)),
        Verdict::Allow
    );
    assert_eq!(
        filter.outbound(&v4(office, [198, 18, 10, 7], TCP, 40000, 8050)),
        Verdict::Allow
    );
    assert_eq!(
        filter.outbound(&v4(office, [198, 18, 10, 7], TCP, 40000, 22)),
        Verdict::Deny(Deny::NoRule)
    );
    assert_eq!(
        filter.outbound(&v4(office, [198, 18, 10, 7], UDP, 40000, 445)),
        Verdict::Deny(Deny::NoRule)
    );
    assert_eq!(
        filter.outbound(&v4(office, [198, 18, 11, 5], ICMP, 0, 0)),
        Verdict::Allow
    );
    assert_eq!(
        filter.outbound(&v4(office, [198, 18, 11, 6], ICMP, 0, 0)),
        Verdict::Deny(Deny::NoRule)
    );
}

#[test]
fn default_deny_for_devices_without_groups_and_unknown_sources() {
    let filter = Filter::compile(&config());
    assert_eq!(
        filter.outbound(&v4([10, 1, 0, 4], [198, 18, 10, 7], TCP, 1, 445)),
        Verdict::Deny(Deny::NoRule)
    );
    assert_eq!(
        filter.outbound(&v4([10, 1, 0, 99], [198, 18, 10, 7], TCP, 1, 445)),
        Verdict::Deny(Deny::UnknownDevice)
    );
    assert_eq!(
        filter.outbound(&[0x45, 0, 0]),
        Verdict::Deny(Deny::Malformed)
    );
}

#[test]
fn devices_never_reach_device_addresses_of_any_tenant() {
    let filter = Filter::compile(&config());
    // The admins' rule covers 10.0.0.0/8, which includes both pools.
    assert_eq!(
        filter.outbound(&v4([10, 1, 0, 3], [10, 2, 0, 2], UDP, 1, 53)),
        Verdict::Deny(Deny::DeviceToDevice)
    );
    assert_eq!(
        filter.outbound(&v4([10, 1, 0, 3], [10, 1, 0, 2], TCP, 1, 445)),
        Verdict::Deny(Deny::DeviceToDevice)
    );
    assert_eq!(
        filter.inbound(&v4([10, 2, 0, 2], [10, 1, 0, 3], UDP, 53, 1)),
        Verdict::Deny(Deny::DeviceToDevice)
    );
    // But 10.3.0.0/16 (no pool) is fine for them.
    assert_eq!(
        filter.outbound(&v4([10, 1, 0, 3], [10, 3, 0, 1], UDP, 1, 53)),
        Verdict::Allow
    );
}

#[test]
fn tenants_rules_do_not_leak_between_tenants() {
    let filter = Filter::compile(&config());
    // Tenant b's office group may only use UDP 53, even though a's office has TCP 445.
    assert_eq!(
        filter.outbound(&v4([10, 2, 0, 2], [198, 18, 10, 7], TCP, 1, 445)),
        Verdict::Deny(Deny::NoRule)
    );
    assert_eq!(
        filter.outbound(&v4([10, 2, 0, 2], [198, 18, 10, 7], UDP, 1, 53)),
        Verdict::Allow
    );
}

#[test]
fn return_traffic_mirrors_the_rule() {
    let filter = Filter::compile(&config());
    assert_eq!(
        filter.inbound(&v4([198, 18, 10, 7], [10, 1, 0, 2], TCP, 445, 40000)),
        Verdict::Allow
    );
    // The application cannot open connections to other ports of the device.
    assert_eq!(
        filter.inbound(&v4([198, 18, 10, 7], [10, 1, 0, 2], TCP, 9999, 22)),
        Verdict::Deny(Deny::NoRule)
    );
    assert_eq!(
        filter.inbound(&v4([198, 18, 10, 7], [10, 1, 0, 77], TCP, 445, 1)),
        Verdict::Deny(Deny::UnknownDevice)
    );
}

#[test]
fn ipv6_with_extension_headers() {
    let filter = Filter::compile(&config());
    let device: std::net::Ipv6Addr = "fd00:a::2".parse().unwrap();
    let app: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
    // admins may reach 198.18.0.0/16 and 10.0.0.0/8 only: IPv6 app not allowed
    assert_eq!(
        filter.outbound(&v6(device, app, TCP, 443)),
        Verdict::Deny(Deny::NoRule)
    );
    // hop-by-hop header before TCP is walked
    let mut packet = v6(device, app, 0, 0);
    packet[40] = TCP;
    packet[41] = 0;
    let flow = parse(&packet).unwrap();
    assert_eq!(flow.protocol, TCP);
    assert_eq!(flow.source, IpAddr::V6(device));
}

#[test]
fn non_first_fragments_pass_only_portless_rules() {
    let filter = Filter::compile(&config());
    let mut fragment = v4([10, 1, 0, 2], [198, 18, 10, 7], TCP, 40000, 445);
    fragment[7] = 10; // fragment offset 80 bytes
    assert_eq!(filter.outbound(&fragment), Verdict::Deny(Deny::NoRule));
    let mut admin_fragment = v4([10, 1, 0, 3], [198, 18, 10, 7], TCP, 0, 0);
    admin_fragment[7] = 10;
    assert_eq!(filter.outbound(&admin_fragment), Verdict::Allow);
}

/// A slow reference: does any rule of any of the device's groups allow it?
fn reference(
    config: &GatewayConfig,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    port: u16,
) -> bool {
    let Some(peer) = config
        .peers
        .iter()
        .find(|p| p.tunnel_address == src.to_string())
    else {
        return false;
    };
    let in_pool = config.tenants.iter().any(|t| {
        t.address_pool
            .parse::<ipnet::IpNet>()
            .unwrap()
            .contains(&IpAddr::V4(dst))
    });
    if in_pool {
        return false;
    }
    let tenant = config
        .tenants
        .iter()
        .find(|t| t.tenant_id == peer.tenant_id)
        .unwrap();
    tenant.rules.iter().any(|rule| {
        peer.groups.contains(&rule.group_id)
            && rule
                .cidr
                .parse::<ipnet::IpNet>()
                .unwrap()
                .contains(&IpAddr::V4(dst))
            && match rule.protocol.as_str() {
                "any" => true,
                "tcp" => protocol == TCP,
                "udp" => protocol == UDP,
                "icmp" => protocol == ICMP,
                _ => false,
            }
            && (rule.ports.is_empty()
                || ((protocol == TCP || protocol == UDP)
                    && rule.ports.iter().any(|(a, b)| (*a..=*b).contains(&port))))
    })
}

fn arb_address() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        (0u8..6).prop_map(|last| Ipv4Addr::new(10, 1, 0, last)),
        (0u8..4).prop_map(|last| Ipv4Addr::new(10, 2, 0, last)),
        (0u8..12).prop_map(|last| Ipv4Addr::new(198, 18, 10 + last % 3, last)),
        any::<u32>().prop_map(Ipv4Addr::from),
    ]
}

proptest! {
    #[test]
    fn filter_agrees_with_the_reference(
        src in arb_address(),
        dst in arb_address(),
        protocol in prop_oneof![Just(TCP), Just(UDP), Just(ICMP), Just(47u8)],
        port in prop_oneof![Just(445u16), Just(53u16), 8000u16..8200, any::<u16>()],
    ) {
        let config = config();
        let filter = Filter::compile(&config);
        let packet = v4(src.octets(), dst.octets(), protocol, 40000, port);
        let allowed = filter.outbound(&packet) == Verdict::Allow;
        prop_assert_eq!(allowed, reference(&config, src, dst, protocol, port));
        // The mirrored answer of an allowed flow passes inbound, and only then.
        let (sport, dport) = if protocol == TCP || protocol == UDP { (port, 40000) } else { (0, 0) };
        let reply = v4(dst.octets(), src.octets(), protocol, sport, dport);
        let packet_for_port = v4(src.octets(), dst.octets(), protocol, 40000, if protocol == TCP || protocol == UDP { port } else { 0 });
        prop_assert_eq!(
            filter.inbound(&reply) == Verdict::Allow,
            filter.outbound(&packet_for_port) == Verdict::Allow
        );
    }

    #[test]
    fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let filter = Filter::compile(&config());
        let _ = filter.outbound(&bytes);
        let _ = filter.inbound(&bytes);
    }
}
