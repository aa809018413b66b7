//! Shared proptest strategies for vrsim-wire: every `Repr` with in-range
//! fields, and whole header stacks the dissector follows end to end.
//!
//! Reprs come in two flavours:
//! - `x_repr()`: every field random but valid, so that `emit` then `parse`
//!   gives the same value back (`payload_len` 0; the `*_with_payload`
//!   strategies set it to the length of a random payload);
//! - inside [`frame`]: the fields the builder fills in (EtherTypes, IP
//!   protocols, lengths) are random and must be overwritten, except on the last
//!   header, where they are chosen so that the dissector stops there.
//!
//! [`fill`] is an independent model of what `Frame::build` fills in, used as
//! the oracle for built and dissected headers.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use vrsim_wire::arp::{ArpOperation, ArpRepr};
use vrsim_wire::ethernet::{EthernetRepr, VlanRepr};
use vrsim_wire::gre::GreRepr;
use vrsim_wire::icmpv4::{Icmpv4Message, Icmpv4Repr};
use vrsim_wire::icmpv6::Icmpv6Repr;
use vrsim_wire::ipv4::Ipv4Repr;
use vrsim_wire::ipv6::{ExtHeader, Ipv6Repr, MAX_EXTENSION_HEADERS};
use vrsim_wire::mpls::{MAX_STACK_DEPTH, MplsEntry, MplsRepr};
use vrsim_wire::tcp::TcpRepr;
use vrsim_wire::udp::UdpRepr;
use vrsim_wire::vxlan::VxlanRepr;
use vrsim_wire::{
    EtherType, Header, IpPair, IpProtocol, MacAddr, MplsLabel, Options, UDP_PORT_MPLS,
    UDP_PORT_MPLS_LEGACY, UDP_PORT_VXLAN, Vni,
};

/// The most payload bytes generated after the last header.
pub const MAX_PAYLOAD: usize = 48;

/// How many tunnels a generated frame nests at most (each one a new inner
/// IP packet or Ethernet frame).
pub const MAX_TUNNEL_DEPTH: u32 = 2;

// ---------------------------------------------------------------- values

/// Any MAC address.
pub fn mac() -> impl Strategy<Value = MacAddr> + Clone {
    any::<[u8; 6]>().prop_map(|b| MacAddr::new(b[0], b[1], b[2], b[3], b[4], b[5]))
}

/// Any IPv4 address.
pub fn ipv4_addr() -> impl Strategy<Value = Ipv4Addr> + Clone {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

/// Any IPv6 address.
pub fn ipv6_addr() -> impl Strategy<Value = Ipv6Addr> + Clone {
    any::<[u8; 16]>().prop_map(Ipv6Addr::from)
}

/// IPv4 or IPv6 source and destination.
pub fn ip_pair() -> impl Strategy<Value = IpPair> + Clone {
    prop_oneof![
        (ipv4_addr(), ipv4_addr()).prop_map(|(src, dst)| IpPair::V4 { src, dst }),
        (ipv6_addr(), ipv6_addr()).prop_map(|(src, dst)| IpPair::V6 { src, dst }),
    ]
}

/// An EtherType: the named ones often, any 16-bit value otherwise. Always
/// made with `From<u16>`, so a known value is never `Unknown`.
pub fn ethertype() -> impl Strategy<Value = EtherType> + Clone {
    prop_oneof![
        prop::sample::select(vec![
            0x0800u16, 0x0806, 0x8100, 0x88a8, 0x86dd, 0x8847, 0x6558
        ]),
        any::<u16>(),
    ]
    .prop_map(EtherType::from)
}

/// An IP protocol number: the named ones often, any value otherwise.
pub fn ip_protocol() -> impl Strategy<Value = IpProtocol> + Clone {
    prop_oneof![
        prop::sample::select(vec![0u8, 1, 6, 17, 43, 44, 47, 50, 51, 58, 59, 60, 137]),
        any::<u8>(),
    ]
    .prop_map(IpProtocol::from)
}

/// 0 to 40 option bytes, a multiple of 4.
pub fn options() -> impl Strategy<Value = Options> + Clone {
    (0..=Options::MAX_LEN / 4)
        .prop_flat_map(|words| vec(any::<u8>(), words * 4))
        .prop_map(|raw| Options::from_bytes(&raw).expect("a multiple of 4, at most 40"))
}

/// Payload bytes, up to [`MAX_PAYLOAD`].
pub fn payload() -> impl Strategy<Value = Vec<u8>> + Clone {
    vec(any::<u8>(), 0..=MAX_PAYLOAD)
}

// ---------------------------------------------------------------- reprs

/// Any Ethernet header.
pub fn ethernet_repr() -> impl Strategy<Value = EthernetRepr> + Clone {
    (mac(), mac(), ethertype()).prop_map(|(dst, src, ethertype)| EthernetRepr {
        dst,
        src,
        ethertype,
    })
}

/// Any VLAN tag with PCP and VID in range.
pub fn vlan_repr() -> impl Strategy<Value = VlanRepr> + Clone {
    (0u8..8, any::<bool>(), 0u16..=0x0fff, ethertype()).prop_map(|(pcp, dei, vid, ethertype)| {
        VlanRepr {
            pcp,
            dei,
            vid,
            ethertype,
        }
    })
}

/// Any ARP message (IPv4 over Ethernet).
pub fn arp_repr() -> impl Strategy<Value = ArpRepr> + Clone {
    (any::<u16>(), mac(), ipv4_addr(), mac(), ipv4_addr()).prop_map(
        |(op, sender_mac, sender_ip, target_mac, target_ip)| ArpRepr {
            operation: ArpOperation::from(op),
            sender_mac,
            sender_ip,
            target_mac,
            target_ip,
        },
    )
}

/// Any IPv4 header: options, DSCP/ECN and fragment fields in range.
pub fn ipv4_repr() -> impl Strategy<Value = Ipv4Repr> + Clone {
    (
        (ipv4_addr(), ipv4_addr(), ip_protocol(), any::<u8>()),
        (0u8..64, 0u8..4, any::<u16>()),
        (any::<bool>(), any::<bool>(), 0u16..=0x1fff, options()),
    )
        .prop_map(
            |(
                (src, dst, protocol, ttl),
                (dscp, ecn, ident),
                (dont_frag, more_frags, frag_offset, options),
            )| Ipv4Repr {
                src,
                dst,
                protocol,
                ttl,
                dscp,
                ecn,
                ident,
                dont_frag,
                more_frags,
                frag_offset,
                options,
                payload_len: 0,
            },
        )
}

/// An IPv4 header that is not a fragment.
pub fn ipv4_unfragmented() -> impl Strategy<Value = Ipv4Repr> + Clone {
    ipv4_repr().prop_map(|r| Ipv4Repr {
        more_frags: false,
        frag_offset: 0,
        ..r
    })
}

/// Any IPv6 fixed header, flow label in range.
pub fn ipv6_repr() -> impl Strategy<Value = Ipv6Repr> + Clone {
    (
        ipv6_addr(),
        ipv6_addr(),
        ip_protocol(),
        any::<u8>(),
        any::<u8>(),
        0u32..=0xf_ffff,
    )
        .prop_map(
            |(src, dst, next_header, hop_limit, traffic_class, flow_label)| Ipv6Repr {
                src,
                dst,
                next_header,
                hop_limit,
                traffic_class,
                flow_label,
                payload_len: 0,
            },
        )
}

/// A length field value: small ones often, up to 255.
fn length_field() -> impl Strategy<Value = usize> + Clone {
    prop_oneof![3 => 0usize..4, 1 => 0usize..=255]
}

/// An extension header that is not a fragment header.
fn options_ext() -> impl Strategy<Value = ExtHeader> + Clone {
    prop_oneof![
        (
            prop::sample::select(vec![
                IpProtocol::HopByHop,
                IpProtocol::Ipv6Route,
                IpProtocol::Ipv6Opts
            ]),
            length_field(),
        )
            .prop_map(|(kind, f)| (kind, (f + 1) * 8)),
        // RFC 4302: AH counts 4-byte units, minus 2.
        length_field().prop_map(|f| (IpProtocol::Ah, (f + 2) * 4)),
    ]
    .prop_flat_map(|(kind, len)| {
        ip_protocol().prop_map(move |next_header| ExtHeader {
            kind,
            next_header,
            len,
            fragment: None,
        })
    })
}

/// A fragment header with the given offset and M flag.
fn fragment_ext(offset: u16, more: bool, next_header: IpProtocol) -> ExtHeader {
    ExtHeader {
        kind: IpProtocol::Ipv6Frag,
        next_header,
        len: 8,
        fragment: Some((offset, more)),
    }
}

/// Any extension header with a length its kind can express; a fragment
/// header always carries its offset and M flag.
pub fn ext_header() -> impl Strategy<Value = ExtHeader> + Clone {
    prop_oneof![
        3 => options_ext(),
        1 => (0u16..=0x1fff, any::<bool>(), ip_protocol())
            .prop_map(|(o, m, n)| fragment_ext(o, m, n)),
    ]
}

/// An extension header after which the dissector goes on to `next_header`:
/// not a fragment header of a real fragment.
fn continuing_ext() -> impl Strategy<Value = ExtHeader> + Clone {
    prop_oneof![
        3 => options_ext(),
        1 => ip_protocol().prop_map(|n| fragment_ext(0, false, n)),
    ]
}

/// Any ICMP message; `DestinationUnreachable` keeps the MTU only for code 4
/// and `Other` avoids the types the parser names.
pub fn icmpv4_message() -> impl Strategy<Value = Icmpv4Message> + Clone {
    prop_oneof![
        (any::<u16>(), any::<u16>())
            .prop_map(|(ident, seq_no)| Icmpv4Message::EchoRequest { ident, seq_no }),
        (any::<u16>(), any::<u16>())
            .prop_map(|(ident, seq_no)| Icmpv4Message::EchoReply { ident, seq_no }),
        (prop_oneof![Just(4u8), any::<u8>()], any::<u16>()).prop_map(|(code, mtu)| {
            Icmpv4Message::DestinationUnreachable {
                code,
                next_hop_mtu: if code == 4 { mtu } else { 0 },
            }
        }),
        any::<u8>().prop_map(|code| Icmpv4Message::TimeExceeded { code }),
        (any::<u8>(), any::<u8>(), any::<u32>())
            .prop_filter("a type the parser names", |&(kind, code, _)| {
                !(kind == 3 || kind == 11 || (kind == 0 || kind == 8) && code == 0)
            })
            .prop_map(|(kind, code, rest)| Icmpv4Message::Other { kind, code, rest }),
    ]
}

/// Random ICMPv6 headers: any type, code and rest (the builder and the
/// dissector keep them as they are).
pub fn icmpv6_repr() -> impl Strategy<Value = Icmpv6Repr> + Clone {
    (any::<u8>(), any::<u8>(), any::<u32>()).prop_map(|(kind, code, rest)| Icmpv6Repr {
        kind,
        code,
        rest,
        payload_len: 0,
    })
}

/// Any ICMP header.
pub fn icmpv4_repr() -> impl Strategy<Value = Icmpv4Repr> + Clone {
    icmpv4_message().prop_map(|message| Icmpv4Repr {
        message,
        payload_len: 0,
    })
}

/// Any UDP header with a computed checksum.
pub fn udp_repr() -> impl Strategy<Value = UdpRepr> + Clone {
    (any::<u16>(), any::<u16>()).prop_map(|(s, d)| UdpRepr::new(s, d, 0))
}

/// Any TCP header: flags in their 9 bits, options of 0 to 40 bytes.
pub fn tcp_repr() -> impl Strategy<Value = TcpRepr> + Clone {
    (
        (any::<u16>(), any::<u16>(), any::<u32>(), any::<u32>()),
        (0u16..=0x01ff, any::<u16>(), any::<u16>(), options()),
    )
        .prop_map(
            |((src_port, dst_port, seq, ack), (flags, window, urgent, options))| TcpRepr {
                src_port,
                dst_port,
                seq,
                ack,
                flags,
                window,
                urgent,
                options,
                payload_len: 0,
            },
        )
}

/// Any GRE header: every combination of checksum, key and sequence number.
pub fn gre_repr() -> impl Strategy<Value = GreRepr> + Clone {
    (
        ethertype(),
        any::<bool>(),
        option::of(any::<u32>()),
        option::of(any::<u32>()),
    )
        .prop_map(|(protocol, checksum, key, sequence)| GreRepr {
            protocol,
            checksum,
            key,
            sequence,
            payload_len: 0,
        })
}

/// Any label stack entry.
pub fn mpls_entry() -> impl Strategy<Value = MplsEntry> + Clone {
    (0..=MplsLabel::MAX.value(), 0u8..8, any::<u8>()).prop_map(|(label, tc, ttl)| MplsEntry {
        label: MplsLabel::new(label).expect("in range"),
        tc,
        ttl,
    })
}

/// A label stack of 1 to `MAX_STACK_DEPTH` entries.
pub fn mpls_repr() -> impl Strategy<Value = MplsRepr> + Clone {
    vec(mpls_entry(), 1..=MAX_STACK_DEPTH)
        .prop_map(|e| MplsRepr::from_entries(&e).expect("1 to MAX_STACK_DEPTH entries"))
}

/// Any VXLAN header.
pub fn vxlan_repr() -> impl Strategy<Value = VxlanRepr> + Clone {
    (0..=Vni::MAX.value()).prop_map(|v| VxlanRepr {
        vni: Vni::new(v).expect("in range"),
    })
}

// ---------------------------------------------------------------- frames

/// Headers outermost first, then the payload: the parts of a `Frame`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// The headers, dependent fields not yet filled in.
    pub headers: Vec<Header>,
    /// The bytes after the last header.
    pub payload: Vec<u8>,
}

impl Stack {
    fn raw(payload: Vec<u8>) -> Self {
        Stack {
            headers: Vec::new(),
            payload,
        }
    }

    fn under(mut self, outer: impl IntoIterator<Item = Header>) -> Self {
        let mut headers: Vec<Header> = outer.into_iter().collect();
        headers.append(&mut self.headers);
        Stack {
            headers,
            payload: self.payload,
        }
    }

    /// Whether no header follows (the payload is raw).
    fn is_raw(&self) -> bool {
        self.headers.is_empty()
    }
}

/// An EtherType after which the dissector stops.
fn terminal_ethertype() -> impl Strategy<Value = EtherType> + Clone {
    ethertype().prop_filter("the dissector follows it", |t| {
        matches!(t, EtherType::TransparentEthernet | EtherType::Unknown(_))
    })
}

/// An IP protocol after which the dissector stops (`v6`: in IPv6).
fn terminal_protocol(v6: bool) -> impl Strategy<Value = IpProtocol> + Clone {
    ip_protocol().prop_filter("the dissector follows it", move |&p| match p {
        IpProtocol::Udp | IpProtocol::Tcp | IpProtocol::Gre => false,
        IpProtocol::Icmp => v6,
        IpProtocol::Icmpv6 => !v6,
        p => !(v6 && ExtHeader::is_extension(p)),
    })
}

/// A GRE protocol after which the dissector stops.
fn terminal_gre_protocol() -> impl Strategy<Value = EtherType> + Clone {
    ethertype().prop_filter("the dissector follows it", |t| {
        !matches!(
            t,
            EtherType::Mpls | EtherType::Ipv4 | EtherType::Ipv6 | EtherType::TransparentEthernet
        )
    })
}

/// Random valid header stacks: Ethernet, up to two VLAN tags, then ARP, raw
/// data, IPv4, IPv6 or MPLS, with up to [`MAX_TUNNEL_DEPTH`] nested tunnels
/// (UDP/MPLS, UDP/VXLAN/Ethernet, GRE/{MPLS, IPv4, IPv6, Ethernet}).
/// Stacks may exceed the dissector's `MAX_HEADERS`.
pub fn frame() -> BoxedStrategy<Stack> {
    ethernet_stack(MAX_TUNNEL_DEPTH)
}

/// Ethernet, 0–2 VLAN tags and what they carry.
pub fn ethernet_stack(depth: u32) -> BoxedStrategy<Stack> {
    let after = prop_oneof![
        2 => payload().prop_map(Stack::raw),
        1 => (arp_repr(), payload()).prop_map(|(a, p)| Stack::raw(p).under([Header::Arp(a)])),
        4 => ipv4_stack(depth),
        4 => ipv6_stack(depth),
        1 => mpls_stack(depth),
    ];
    (
        ethernet_repr(),
        vec(vlan_repr(), 0..=2),
        terminal_ethertype(),
        after,
    )
        .prop_map(|(eth, vlans, terminal, rest)| {
            let mut outer = vec![Header::Ethernet(eth)];
            outer.extend(vlans.into_iter().map(Header::Vlan));
            if rest.is_raw() {
                match outer.last_mut() {
                    Some(Header::Ethernet(r)) => r.ethertype = terminal,
                    Some(Header::Vlan(r)) => r.ethertype = terminal,
                    _ => unreachable!("ethernet or vlan"),
                }
            }
            rest.under(outer)
        })
        .boxed()
}

/// UDP, TCP and ICMP (ICMPv6 under IPv6) leaves, and the tunnels when `depth > 0`.
fn transport(depth: u32, v4: bool) -> BoxedStrategy<Stack> {
    let zero_checksum = if v4 {
        any::<bool>().boxed()
    } else {
        Just(false).boxed()
    };
    let udp =
        (udp_repr(), zero_checksum).prop_map(|(u, zero_checksum)| UdpRepr { zero_checksum, ..u });
    let plain_udp = (
        udp.clone().prop_filter("a tunnel port", |u| {
            ![UDP_PORT_MPLS, UDP_PORT_MPLS_LEGACY, UDP_PORT_VXLAN].contains(&u.dst_port)
        }),
        payload(),
    )
        .prop_map(|(u, p)| Stack::raw(p).under([Header::Udp(u)]));
    let tcp = (tcp_repr(), payload()).prop_map(|(t, p)| Stack::raw(p).under([Header::Tcp(t)]));
    let icmp = if v4 {
        (icmpv4_repr(), payload())
            .prop_map(|(i, p)| Stack::raw(p).under([Header::Icmpv4(i)]))
            .boxed()
    } else {
        (icmpv6_repr(), payload())
            .prop_map(|(i, p)| Stack::raw(p).under([Header::Icmpv6(i)]))
            .boxed()
    };
    if depth == 0 {
        return prop_oneof![plain_udp, tcp, icmp].boxed();
    }
    let inner = depth - 1;
    let mpls_udp = (
        udp.clone(),
        prop::sample::select(vec![UDP_PORT_MPLS, UDP_PORT_MPLS_LEGACY]),
        mpls_stack(inner),
    )
        .prop_map(|(u, port, rest)| {
            rest.under([Header::Udp(UdpRepr {
                dst_port: port,
                ..u
            })])
        });
    let vxlan = (udp, vxlan_repr(), ethernet_stack(inner)).prop_map(|(u, v, rest)| {
        rest.under([
            Header::Udp(UdpRepr {
                dst_port: UDP_PORT_VXLAN,
                ..u
            }),
            Header::Vxlan(v),
        ])
    });
    let gre = (
        gre_repr(),
        terminal_gre_protocol(),
        prop_oneof![
            payload().prop_map(Stack::raw),
            mpls_stack(inner),
            ipv4_stack(inner),
            ipv6_stack(inner),
            ethernet_stack(inner),
        ],
    )
        .prop_map(|(mut g, terminal, rest)| {
            if rest.is_raw() {
                g.protocol = terminal;
            }
            rest.under([Header::Gre(g)])
        });
    if v4 {
        prop_oneof![plain_udp, tcp, icmp, mpls_udp, vxlan, gre].boxed()
    } else {
        prop_oneof![plain_udp, tcp, mpls_udp, vxlan, gre].boxed()
    }
}

/// An IPv4 packet: raw data (a protocol the dissector does not follow, or a
/// fragment of any protocol), or a transport / tunnel.
pub fn ipv4_stack(depth: u32) -> BoxedStrategy<Stack> {
    prop_oneof![
        1 => (ipv4_unfragmented(), terminal_protocol(false), payload()).prop_map(
            |(ip, protocol, p)| Stack::raw(p).under([Header::Ipv4(Ipv4Repr { protocol, ..ip })])
        ),
        1 => (ipv4_repr(), payload())
            .prop_filter("not a fragment", |(ip, _)| ip.is_fragment())
            .prop_map(|(ip, p)| Stack::raw(p).under([Header::Ipv4(ip)])),
        4 => (ipv4_unfragmented(), transport(depth, true))
            .prop_map(|(ip, rest)| rest.under([Header::Ipv4(ip)])),
    ]
    .boxed()
}

/// An IPv6 packet with 0–8 extension headers, then raw data (a protocol the
/// dissector does not follow, or a fragment), or a transport / tunnel.
pub fn ipv6_stack(depth: u32) -> BoxedStrategy<Stack> {
    let after = prop_oneof![
        1 => payload().prop_map(Stack::raw),
        1 => (0u16..=0x1fff, any::<bool>(), ip_protocol(), payload())
            .prop_filter("not a fragment", |&(o, m, _, _)| o != 0 || m)
            .prop_map(|(o, m, n, p)| Stack::raw(p).under([Header::Ipv6Ext(fragment_ext(o, m, n))])),
        4 => transport(depth, false),
    ];
    (
        ipv6_repr(),
        // Mostly a few, sometimes up to the dissector's bound for one packet
        // (a terminal fragment header may add one more).
        prop_oneof![
            4 => vec(continuing_ext(), 0..=2),
            1 => vec(continuing_ext(), 3..MAX_EXTENSION_HEADERS),
        ],
        terminal_protocol(true),
        after,
    )
        .prop_map(|(ip, exts, terminal, rest)| {
            let mut outer = vec![Header::Ipv6(ip)];
            outer.extend(exts.into_iter().map(Header::Ipv6Ext));
            if rest.is_raw() {
                match outer.last_mut() {
                    Some(Header::Ipv6(r)) => r.next_header = terminal,
                    Some(Header::Ipv6Ext(r)) => r.next_header = terminal,
                    _ => unreachable!("ipv6 or an extension header"),
                }
            }
            rest.under(outer)
        })
        .boxed()
}

/// A label stack, then IPv4, IPv6 or data whose first nibble is not 4 or 6.
pub fn mpls_stack(depth: u32) -> BoxedStrategy<Stack> {
    // Raw bytes after the bottom label: neither IP by the version nibble
    // nor as long as an Ethernet header (which the dissector would read
    // as the Ethernet frame of bridged traffic).
    let raw = payload()
        .prop_filter("looks like ip", |p| {
            !matches!(p.first().map(|b| b >> 4), Some(4 | 6))
        })
        .prop_map(|mut p| {
            p.truncate(vrsim_wire::ethernet::HEADER_LEN - 1);
            Stack::raw(p)
        });
    (
        mpls_repr(),
        prop_oneof![1 => raw, 2 => ipv4_stack(depth), 2 => ipv6_stack(depth)],
    )
        .prop_map(|(m, rest)| rest.under([Header::Mpls(m)]))
        .boxed()
}

// ---------------------------------------------------------------- oracle

/// What `Frame::build` should make of `headers` followed by `payload_len`
/// bytes: each header announcing the next one, lengths counting what
/// follows, or keeping a larger length a header already states (the builder
/// pads with zeros: a dissected tunnel whose inner packet is shorter than
/// the tunnel's payload keeps its length). An independent model of the
/// builder, for generated stacks and dissected ones; panics on layering the
/// builder rejects.
pub fn fill(headers: &[Header], payload_len: usize) -> Vec<Header> {
    let mut out = headers.to_vec();
    let mut carried = payload_len;
    for i in (0..out.len()).rev() {
        let next = headers.get(i + 1);
        let ip_next = |current: IpProtocol| match next {
            None => current,
            Some(Header::Icmpv4(_)) => IpProtocol::Icmp,
            Some(Header::Icmpv6(_)) => IpProtocol::Icmpv6,
            Some(Header::Udp(_)) => IpProtocol::Udp,
            Some(Header::Tcp(_)) => IpProtocol::Tcp,
            Some(Header::Gre(_)) => IpProtocol::Gre,
            Some(Header::Ipv6Ext(e)) => e.kind,
            Some(h) => panic!("{h} after an ip header"),
        };
        match &mut out[i] {
            Header::Ethernet(EthernetRepr { ethertype, .. })
            | Header::Vlan(VlanRepr { ethertype, .. }) => {
                *ethertype = match next {
                    None => *ethertype,
                    Some(Header::Vlan(_))
                        if matches!(ethertype, EtherType::Vlan | EtherType::QinQ) =>
                    {
                        *ethertype
                    }
                    Some(Header::Vlan(_)) => EtherType::Vlan,
                    Some(Header::Ipv4(_)) => EtherType::Ipv4,
                    Some(Header::Ipv6(_)) => EtherType::Ipv6,
                    Some(Header::Arp(_)) => EtherType::Arp,
                    Some(Header::Mpls(_)) => EtherType::Mpls,
                    Some(h) => panic!("{h} after ethernet"),
                }
            }
            Header::Ipv4(r) => r.protocol = ip_next(r.protocol),
            Header::Ipv6(r) => r.next_header = ip_next(r.next_header),
            Header::Ipv6Ext(r) => r.next_header = ip_next(r.next_header),
            Header::Gre(r) => {
                r.protocol = match next {
                    None => r.protocol,
                    Some(Header::Mpls(_)) => EtherType::Mpls,
                    Some(Header::Ipv4(_)) => EtherType::Ipv4,
                    Some(Header::Ipv6(_)) => EtherType::Ipv6,
                    Some(Header::Ethernet(_)) => EtherType::TransparentEthernet,
                    Some(h) => panic!("{h} after gre"),
                };
            }
            _ => {}
        }
        if let Some(stated) = stated_len(&mut out[i]) {
            *stated = (*stated).max(carried);
            carried = *stated;
        }
        carried += out[i].buffer_len();
    }
    out
}

/// The payload length a header states, if it has the field.
fn stated_len(h: &mut Header) -> Option<&mut usize> {
    match h {
        Header::Ipv4(Ipv4Repr { payload_len, .. })
        | Header::Ipv6(Ipv6Repr { payload_len, .. })
        | Header::Udp(UdpRepr { payload_len, .. })
        | Header::Tcp(TcpRepr { payload_len, .. })
        | Header::Icmpv4(Icmpv4Repr { payload_len, .. })
        | Header::Icmpv6(Icmpv6Repr { payload_len, .. })
        | Header::Gre(GreRepr { payload_len, .. }) => Some(payload_len),
        _ => None,
    }
}

/// `h` with its payload length set to 0, for comparing headers whose stated
/// lengths may legitimately differ (padding inside a tunnel is not rebuilt).
pub fn without_length(h: &Header) -> Header {
    let mut h = *h;
    match &mut h {
        Header::Ipv4(Ipv4Repr { payload_len, .. })
        | Header::Ipv6(Ipv6Repr { payload_len, .. })
        | Header::Udp(UdpRepr { payload_len, .. })
        | Header::Tcp(TcpRepr { payload_len, .. })
        | Header::Icmpv4(Icmpv4Repr { payload_len, .. })
        | Header::Icmpv6(Icmpv6Repr { payload_len, .. })
        | Header::Gre(GreRepr { payload_len, .. }) => *payload_len = 0,
        _ => {}
    }
    h
}

/// How many bytes from its first byte a filled header claims: its own length
/// plus the payload length it states, if it states one.
pub fn extent(h: &Header) -> usize {
    h.buffer_len()
        + match h {
            Header::Ipv4(r) => r.payload_len,
            Header::Ipv6(r) => r.payload_len,
            Header::Udp(r) => r.payload_len,
            Header::Tcp(r) => r.payload_len,
            Header::Icmpv4(r) => r.payload_len,
            Header::Icmpv6(r) => r.payload_len,
            Header::Gre(r) => r.payload_len,
            _ => 0,
        }
}
