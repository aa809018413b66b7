//! [`Header`]: any one parsed header, as the dissector lists them and the frame
//! builder takes them, with a one-line tcpdump-like rendering.

use core::fmt;

use crate::arp::{ArpOperation, ArpRepr};
use crate::error::Layer;
use crate::ethernet::{EthernetRepr, VlanRepr};
use crate::gre::GreRepr;
use crate::icmpv4::{Icmpv4Message, Icmpv4Repr};
use crate::icmpv6::{Icmpv6Repr, TYPE_ECHO_REPLY, TYPE_ECHO_REQUEST};
use crate::ipv4::Ipv4Repr;
use crate::ipv6::{ExtHeader, Ipv6Repr};
use crate::mpls::MplsRepr;
use crate::tcp::{TcpRepr, flags};
use crate::udp::UdpRepr;
use crate::vxlan::VxlanRepr;

/// One header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Header {
    /// Ethernet II.
    Ethernet(EthernetRepr),
    /// An 802.1Q / 802.1ad tag.
    Vlan(VlanRepr),
    /// ARP.
    Arp(ArpRepr),
    /// IPv4.
    Ipv4(Ipv4Repr),
    /// The IPv6 fixed header.
    Ipv6(Ipv6Repr),
    /// An IPv6 extension header (walked over; its options are not kept).
    Ipv6Ext(ExtHeader),
    /// ICMPv4.
    Icmpv4(Icmpv4Repr),
    /// ICMPv6 (its data, neighbour discovery's included, is the payload).
    Icmpv6(Icmpv6Repr),
    /// UDP.
    Udp(UdpRepr),
    /// TCP.
    Tcp(TcpRepr),
    /// GRE.
    Gre(GreRepr),
    /// An MPLS label stack.
    Mpls(MplsRepr),
    /// VXLAN.
    Vxlan(VxlanRepr),
}

impl Header {
    /// The layer this header belongs to.
    pub fn layer(&self) -> Layer {
        match self {
            Header::Ethernet(_) => Layer::Ethernet,
            Header::Vlan(_) => Layer::Vlan,
            Header::Arp(_) => Layer::Arp,
            Header::Ipv4(_) => Layer::Ipv4,
            Header::Ipv6(_) => Layer::Ipv6,
            Header::Ipv6Ext(_) => Layer::Ipv6Ext,
            Header::Icmpv4(_) => Layer::Icmpv4,
            Header::Icmpv6(_) => Layer::Icmpv6,
            Header::Udp(_) => Layer::Udp,
            Header::Tcp(_) => Layer::Tcp,
            Header::Gre(_) => Layer::Gre,
            Header::Mpls(_) => Layer::Mpls,
            Header::Vxlan(_) => Layer::Vxlan,
        }
    }

    /// The length of the header itself (not its payload).
    pub fn buffer_len(&self) -> usize {
        match self {
            Header::Ethernet(h) => h.buffer_len(),
            Header::Vlan(h) => h.buffer_len(),
            Header::Arp(h) => h.buffer_len(),
            Header::Ipv4(h) => h.buffer_len(),
            Header::Ipv6(h) => h.buffer_len(),
            Header::Ipv6Ext(h) => h.len,
            Header::Icmpv4(h) => h.buffer_len(),
            Header::Icmpv6(h) => h.buffer_len(),
            Header::Udp(h) => h.buffer_len(),
            Header::Tcp(h) => h.buffer_len(),
            Header::Gre(h) => h.buffer_len(),
            Header::Mpls(h) => h.buffer_len(),
            Header::Vxlan(h) => h.buffer_len(),
        }
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Header::Ethernet(h) => write!(f, "ether {} > {}, type {}", h.src, h.dst, h.ethertype),
            Header::Vlan(h) => write!(f, "vlan {} p {}, type {}", h.vid, h.pcp, h.ethertype),
            Header::Arp(h) => match h.operation {
                ArpOperation::Request => {
                    write!(
                        f,
                        "arp who-has {} tell {} ({})",
                        h.target_ip, h.sender_ip, h.sender_mac
                    )
                }
                ArpOperation::Reply => {
                    write!(f, "arp reply {} is-at {}", h.sender_ip, h.sender_mac)
                }
                op => write!(
                    f,
                    "arp {op} {} ({}) > {}",
                    h.sender_ip, h.sender_mac, h.target_ip
                ),
            },
            Header::Ipv4(h) => {
                write!(
                    f,
                    "ipv4 {} > {}: {}, ttl {}, id {}, len {}",
                    h.src,
                    h.dst,
                    h.protocol,
                    h.ttl,
                    h.ident,
                    h.total_len()
                )?;
                if h.dscp != 0 || h.ecn != 0 {
                    write!(f, ", tos 0x{:02x}", h.dscp << 2 | h.ecn)?;
                }
                if !h.options.is_empty() {
                    write!(f, ", options {} bytes", h.options.len())?;
                }
                if h.is_fragment() {
                    write!(f, ", frag offset {}", u32::from(h.frag_offset) * 8)?;
                }
                match (h.dont_frag, h.more_frags) {
                    (true, true) => f.write_str(" [DF+MF]"),
                    (true, false) => f.write_str(" [DF]"),
                    (false, true) => f.write_str(" [MF]"),
                    (false, false) => Ok(()),
                }
            }
            Header::Ipv6(h) => write!(
                f,
                "ipv6 {} > {}: {}, hlim {}, payload {}",
                h.src, h.dst, h.next_header, h.hop_limit, h.payload_len
            ),
            Header::Ipv6Ext(h) => {
                write!(
                    f,
                    "ipv6 {} header, len {}, next {}",
                    h.kind, h.len, h.next_header
                )?;
                match h.fragment {
                    Some((offset, more)) => {
                        write!(
                            f,
                            ", frag offset {}{}",
                            u32::from(offset) * 8,
                            if more { " [MF]" } else { "" }
                        )
                    }
                    None => Ok(()),
                }
            }
            Header::Icmpv4(h) => {
                f.write_str("icmp ")?;
                match h.message {
                    Icmpv4Message::EchoRequest { ident, seq_no } => {
                        write!(f, "echo request, id {ident}, seq {seq_no}")?
                    }
                    Icmpv4Message::EchoReply { ident, seq_no } => {
                        write!(f, "echo reply, id {ident}, seq {seq_no}")?
                    }
                    Icmpv4Message::DestinationUnreachable {
                        code,
                        next_hop_mtu: 0,
                    } => write!(f, "destination unreachable, code {code}")?,
                    Icmpv4Message::DestinationUnreachable { code, next_hop_mtu } => write!(
                        f,
                        "destination unreachable, code {code}, mtu {next_hop_mtu}"
                    )?,
                    Icmpv4Message::TimeExceeded { code } => {
                        write!(f, "time exceeded, code {code}")?
                    }
                    Icmpv4Message::Other { kind, code, .. } => {
                        write!(f, "type {kind}, code {code}")?
                    }
                }
                write!(f, ", length {}", h.payload_len)
            }
            Header::Icmpv6(h) => {
                let (ident, seq) = (h.rest >> 16, h.rest & 0xffff);
                match h.kind {
                    TYPE_ECHO_REQUEST => write!(f, "icmp6 echo request, id {ident}, seq {seq}")?,
                    TYPE_ECHO_REPLY => write!(f, "icmp6 echo reply, id {ident}, seq {seq}")?,
                    kind => write!(f, "icmp6 type {kind}, code {}", h.code)?,
                }
                write!(f, ", length {}", h.payload_len)
            }
            Header::Udp(h) => write!(
                f,
                "udp {} > {}, length {}",
                h.src_port, h.dst_port, h.payload_len
            ),
            Header::Tcp(h) => {
                const NAMES: [(u16, char); 6] = [
                    (flags::SYN, 'S'),
                    (flags::FIN, 'F'),
                    (flags::RST, 'R'),
                    (flags::PSH, 'P'),
                    (flags::URG, 'U'),
                    (flags::ACK, '.'),
                ];
                write!(f, "tcp {} > {} [", h.src_port, h.dst_port)?;
                for (bit, c) in NAMES {
                    if h.flags & bit != 0 {
                        write!(f, "{c}")?;
                    }
                }
                write!(
                    f,
                    "], seq {}, ack {}, win {}, length {}",
                    h.seq, h.ack, h.window, h.payload_len
                )
            }
            Header::Gre(h) => {
                write!(f, "gre proto {}", h.protocol)?;
                if h.checksum {
                    f.write_str(", csum")?;
                }
                if let Some(key) = h.key {
                    write!(f, ", key 0x{key:x}")?;
                }
                if let Some(seq) = h.sequence {
                    write!(f, ", seq {seq}")?;
                }
                Ok(())
            }
            Header::Mpls(h) => {
                f.write_str("mpls")?;
                let last = h.entries().len() - 1;
                for (i, e) in h.entries().iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}label {} tc {} ttl {}", e.label, e.tc, e.ttl)?;
                    if i == last {
                        f.write_str(" [S]")?;
                    }
                }
                Ok(())
            }
            Header::Vxlan(h) => write!(f, "vxlan vni {}", h.vni),
        }
    }
}
