//! Just enough IPv4/IPv6 parsing to filter: addresses, protocol, ports.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The fields of a packet the filter looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub source: IpAddr,
    pub destination: IpAddr,
    /// The transport protocol (after IPv6 extension headers).
    pub protocol: u8,
    /// TCP/UDP ports; `None` for other protocols and non-first fragments.
    pub source_port: Option<u16>,
    pub destination_port: Option<u16>,
}

fn ports(protocol: u8, transport: &[u8]) -> (Option<u16>, Option<u16>) {
    if (protocol == crate::TCP || protocol == crate::UDP) && transport.len() >= 4 {
        (
            Some(u16::from_be_bytes([transport[0], transport[1]])),
            Some(u16::from_be_bytes([transport[2], transport[3]])),
        )
    } else {
        (None, None)
    }
}

/// Reads a packet's flow, or `None` if it is not a well-formed IP packet.
pub fn parse(packet: &[u8]) -> Option<Flow> {
    match packet.first()? >> 4 {
        4 => parse_v4(packet),
        6 => parse_v6(packet),
        _ => None,
    }
}

fn parse_v4(packet: &[u8]) -> Option<Flow> {
    if packet.len() < 20 {
        return None;
    }
    let header_len = usize::from(packet[0] & 0x0f) * 4;
    if header_len < 20 || packet.len() < header_len {
        return None;
    }
    let protocol = packet[9];
    let source = IpAddr::V4(Ipv4Addr::new(
        packet[12], packet[13], packet[14], packet[15],
    ));
    let destination = IpAddr::V4(Ipv4Addr::new(
        packet[16], packet[17], packet[18], packet[19],
    ));
    let fragment_offset = u16::from_be_bytes([packet[6] & 0x1f, packet[7]]);
    let (source_port, destination_port) = if fragment_offset == 0 {
        ports(protocol, &packet[header_len..])
    } else {
        (None, None)
    };
    Some(Flow {
        source,
        destination,
        protocol,
        source_port,
        destination_port,
    })
}

fn parse_v6(packet: &[u8]) -> Option<Flow> {
    if packet.len() < 40 {
        return None;
    }
    let address = |offset: usize| -> Option<IpAddr> {
        let bytes: [u8; 16] = packet.get(offset..offset + 16)?.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(bytes)))
    };
    let source = address(8)?;
    let destination = address(24)?;
    let mut next = packet[6];
    let mut offset = 40;
    let mut first_fragment = true;
    // Walk extension headers: hop-by-hop, routing, fragment, destination options.
    loop {
        match next {
            0 | 43 | 60 => {
                let header = packet.get(offset..offset + 2)?;
                next = header[0];
                offset += (usize::from(header[1]) + 1) * 8;
            }
            44 => {
                let header = packet.get(offset..offset + 8)?;
                next = header[0];
                let fragment_offset = u16::from_be_bytes([header[2], header[3]]) >> 3;
                first_fragment = fragment_offset == 0;
                offset += 8;
            }
            _ => break,
        }
    }
    let transport = packet.get(offset..)?;
    let (source_port, destination_port) = if first_fragment {
        ports(next, transport)
    } else {
        (None, None)
    };
    Some(Flow {
        source,
        destination,
        protocol: next,
        source_port,
        destination_port,
    })
}
