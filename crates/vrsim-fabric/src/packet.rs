//! Packets the fabric's devices create and rewrite: probes and their
//! replies, TTL decrements, MAC rewrites.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrsim_wire::ethernet::EthernetViewMut;
use vrsim_wire::icmpv4::Icmpv4Message;
use vrsim_wire::ipv4::{Ipv4View, Ipv4ViewMut};
use vrsim_wire::ipv6::Ipv6View;
use vrsim_wire::tcp::flags;
use vrsim_wire::{Frame, Header, MacAddr, dissect};

/// The ICMP echo identifier of every probe (as the seed frames use).
pub const ECHO_IDENT: u16 = 0x5eed;
/// The source port of UDP and TCP probes.
pub const PROBE_SRC_PORT: u16 = 40000;

/// What a probe carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Probe {
    /// An ICMP echo request with 56 bytes of data, as `ping` sends.
    Icmp,
    /// A UDP datagram to this port.
    Udp(u16),
    /// A TCP SYN to this port.
    Tcp(u16),
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::Icmp => f.write_str("ICMP echo request"),
            Probe::Udp(p) => write!(f, "UDP to port {p}"),
            Probe::Tcp(p) => write!(f, "TCP SYN to port {p}"),
        }
    }
}

/// 56 bytes of echo data.
pub fn echo_data() -> Vec<u8> {
    (0u8..56).collect()
}

/// An Ethernet frame from `src_mac` (destination not yet resolved: zero)
/// carrying the probe from `src` to `dst` with TTL (hop limit) 64; over
/// IPv6 the ICMP probe is an ICMPv6 echo request. `None` when the two
/// addresses are not of one family.
pub fn probe_frame(src_mac: MacAddr, src: IpAddr, dst: IpAddr, probe: Probe) -> Option<Vec<u8>> {
    let f = Frame::new().ethernet(src_mac, MacAddr::zero());
    let f = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => f.ipv4(s, d),
        (IpAddr::V6(s), IpAddr::V6(d)) => f.ipv6(s, d),
        _ => return None,
    };
    let f = match (probe, dst) {
        (Probe::Icmp, IpAddr::V4(_)) => f.icmp_echo_request(ECHO_IDENT, 1, &echo_data()),
        (Probe::Icmp, IpAddr::V6(_)) => f.icmpv6_echo_request(ECHO_IDENT, 1, &echo_data()),
        (Probe::Udp(port), _) => f.udp(PROBE_SRC_PORT, port).payload(b"vrsim probe"),
        (Probe::Tcp(port), _) => f.tcp(PROBE_SRC_PORT, port, flags::SYN),
    };
    // Fixed, well-formed headers: building cannot fail.
    Some(
        f.build()
            .unwrap_or_else(|e| unreachable!("a probe failed to build: {e}")),
    )
}

/// The reply a host sends to a probe it received (`frame` from Ethernet on),
/// from `src_mac`: an echo reply (ICMP or ICMPv6), a UDP datagram back, or
/// a SYN-ACK. `None` when the packet is not a probe.
pub fn reply_frame(frame: &[u8], src_mac: MacAddr) -> Option<Vec<u8>> {
    let d = dissect(frame);
    let mut hs = d.headers.iter().map(|(_, h)| h);
    let (Some(Header::Ethernet(_)), Some(ip), Some(l4)) = (hs.next(), hs.next(), hs.next()) else {
        return None;
    };
    let f = Frame::new().ethernet(src_mac, MacAddr::zero());
    let f = match ip {
        Header::Ipv4(ip) => f.ipv4(ip.dst, ip.src),
        Header::Ipv6(ip) => f.ipv6(ip.dst, ip.src),
        _ => return None,
    };
    let f = match l4 {
        Header::Icmpv4(icmp) => match icmp.message {
            Icmpv4Message::EchoRequest { ident, seq_no } => {
                f.icmp_echo_reply(ident, seq_no, d.payload)
            }
            _ => return None,
        },
        Header::Icmpv6(icmp) if icmp.kind == vrsim_wire::icmpv6::TYPE_ECHO_REQUEST => {
            let [a, b, c, e] = icmp.rest.to_be_bytes();
            f.icmpv6_echo_reply(
                u16::from_be_bytes([a, b]),
                u16::from_be_bytes([c, e]),
                d.payload,
            )
        }
        Header::Udp(u) => f.udp(u.dst_port, u.src_port).payload(d.payload),
        Header::Tcp(t) if t.flags & flags::SYN != 0 && t.flags & flags::ACK == 0 => {
            f.header(Header::Tcp(vrsim_wire::tcp::TcpRepr {
                src_port: t.dst_port,
                dst_port: t.src_port,
                seq: 0,
                ack: t.seq.wrapping_add(1),
                flags: flags::SYN | flags::ACK,
                window: 65535,
                ..*t
            }))
        }
        _ => return None,
    };
    f.build().ok()
}

/// A short description of the packet: `ICMP echo request 203.0.113.10 > 192.168.100.1`.
pub fn describe(frame: &[u8]) -> String {
    let d = dissect(frame);
    let mut ip = None;
    let mut what = String::from("packet");
    for (_, h) in &d.headers {
        match h {
            Header::Ipv4(r) => ip = Some((IpAddr::V4(r.src), IpAddr::V4(r.dst))),
            Header::Ipv6(r) => ip = Some((IpAddr::V6(r.src), IpAddr::V6(r.dst))),
            Header::Icmpv6(i) => {
                what = match i.kind {
                    vrsim_wire::icmpv6::TYPE_ECHO_REQUEST => "ICMPv6 echo request".into(),
                    vrsim_wire::icmpv6::TYPE_ECHO_REPLY => "ICMPv6 echo reply".into(),
                    _ => "ICMPv6".into(),
                }
            }
            Header::Icmpv4(i) => {
                what = match i.message {
                    Icmpv4Message::EchoRequest { .. } => "ICMP echo request".into(),
                    Icmpv4Message::EchoReply { .. } => "ICMP echo reply".into(),
                    _ => "ICMP".into(),
                }
            }
            Header::Udp(u) => what = format!("UDP {} > {}", u.src_port, u.dst_port),
            Header::Tcp(t) => {
                what = format!("TCP {} > {} flags {:#05x}", t.src_port, t.dst_port, t.flags)
            }
            _ => {}
        }
    }
    match ip {
        Some((s, d)) => format!("{what} {s} > {d}"),
        None => what,
    }
}

/// Decrement the TTL of the IPv4 header `ip` starts with, patching its
/// checksum (RFC 1624), or the hop limit of its IPv6 header (which has no
/// checksum, RFC 8200 §3), as a router forwarding it does. Returns the
/// value before and after, or `None` if it was 0 or 1 (the packet must be
/// dropped) or there is no IP header.
pub fn decrement_ttl(ip: &mut [u8]) -> Option<(u8, u8)> {
    if ip.first().map(|b| b >> 4) == Some(6) {
        let hop_limit = Ipv6View::new_checked(ip).ok()?.hop_limit();
        if hop_limit <= 1 {
            return None;
        }
        // Byte 7 of the IPv6 header is the hop limit.
        ip[7] = hop_limit - 1;
        return Some((hop_limit, hop_limit - 1));
    }
    let mut v = Ipv4ViewMut::new_checked(ip).ok()?;
    let ttl = v.ttl();
    if ttl <= 1 {
        return None;
    }
    let to = v.decrement_ttl()?;
    Some((ttl, to))
}

/// The source and destination of the IP packet (IPv4 or IPv6) an Ethernet
/// frame carries, if it carries one.
pub fn ip_addrs(frame: &[u8]) -> Option<(IpAddr, IpAddr)> {
    let eth = vrsim_wire::ethernet::EthernetView::new_checked(frame).ok()?;
    match eth.ethertype() {
        vrsim_wire::EtherType::Ipv4 => {
            let ip = Ipv4View::new_checked(eth.payload()).ok()?;
            Some((ip.src().into(), ip.dst().into()))
        }
        vrsim_wire::EtherType::Ipv6 => {
            let ip = Ipv6View::new_checked(eth.payload()).ok()?;
            Some((ip.src().into(), ip.dst().into()))
        }
        _ => None,
    }
}

/// Write the Ethernet destination and source of a frame (nothing if it is
/// shorter than an Ethernet header).
pub fn set_macs(frame: &mut [u8], dst: MacAddr, src: MacAddr) {
    if let Ok(mut eth) = EthernetViewMut::new_checked(frame) {
        eth.set_dst(dst);
        eth.set_src(src);
    }
}

/// An ARP request frame from `mac`/`ip` for `target`.
pub fn arp_request(mac: MacAddr, ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    Frame::new()
        .ethernet(mac, MacAddr::broadcast())
        .arp_request(mac, ip, target)
        .build()
        .unwrap_or_else(|e| unreachable!("an ARP request failed to build: {e}"))
}

/// A neighbour solicitation frame from `mac`/`ip` for `target`, to its
/// solicited-node group.
pub fn neighbor_solicit(mac: MacAddr, ip: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    vrsim_wire::icmpv6::solicitation_frame(mac, ip, target)
}
