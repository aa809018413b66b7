//! [`Frame`]: compose a whole frame in one expression, every length, protocol
//! field and checksum filled in.
//!
//! ```
//! use vrsim_wire::{Frame, dissect};
//! use vrsim_wire::MacAddr;
//! let (gw, compute) = (MacAddr::new(2, 0, 0, 0, 0, 1), MacAddr::new(2, 0, 0, 0, 0, 21));
//! // Ethernet / IPv4 10.0.0.1→10.0.0.21 / GRE / MPLS 35 / IPv4 203.0.113.10→192.168.100.1 / ICMP echo
//! let bytes = Frame::new()
//!     .ethernet(gw, compute)
//!     .ipv4([10, 0, 0, 1], [10, 0, 0, 21])
//!     .gre()
//!     .mpls(35)
//!     .ipv4([203, 0, 113, 10], [192, 168, 100, 1])
//!     .icmp_echo_request(0x1234, 1, b"ping")
//!     .build()?;
//! assert_eq!(bytes.len(), 14 + 20 + 4 + 4 + 20 + 8 + 4);
//! assert_eq!(dissect(&bytes).chain(), "eth:ipv4:gre:mpls:ipv4:icmp");
//! # Ok::<(), vrsim_wire::Error>(())
//! ```
//!
//! Fields that depend on what follows (EtherTypes, IP protocols, GRE protocol,
//! lengths, checksums) are computed by [`Frame::build`]; everything else keeps
//! the value the header was given, so a header from [`crate::dissect()`] builds
//! back to the same bytes. UDP ports are never guessed: say
//! `.udp(51000, UDP_PORT_MPLS)` or `.udp(52000, UDP_PORT_VXLAN)`.

use std::net::{Ipv4Addr, Ipv6Addr};

use pnet_base::MacAddr;

use crate::arp::{ArpOperation, ArpRepr};
use crate::error::{Error, ErrorKind, Layer, Result};
use crate::ethernet::{EthernetRepr, VlanRepr};
use crate::gre::GreRepr;
use crate::header::Header;
use crate::icmpv4::{Icmpv4Message, Icmpv4Repr};
use crate::icmpv6::Icmpv6Repr;
use crate::ipv4::Ipv4Repr;
use crate::ipv6::Ipv6Repr;
use crate::mpls::{MAX_STACK_DEPTH, MplsEntry, MplsRepr};
use crate::tcp::TcpRepr;
use crate::types::{EtherType, IpPair, IpProtocol, MplsLabel, Options, Vni};
use crate::udp::UdpRepr;
use crate::vxlan::VxlanRepr;

/// A frame under construction: headers outermost first, then the payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    headers: Vec<Header>,
    payload: Vec<u8>,
    /// The first invalid argument given, reported by [`Frame::build`].
    deferred: Option<Error>,
}

/// The default TTL (IPv4), hop limit (IPv6) and MPLS TTL of built headers.
pub const DEFAULT_TTL: u8 = 64;

impl Frame {
    /// An empty frame.
    pub fn new() -> Self {
        Frame::default()
    }

    /// A frame of the given headers and payload, as they are.
    pub fn from_parts(headers: impl IntoIterator<Item = Header>, payload: &[u8]) -> Self {
        Frame {
            headers: headers.into_iter().collect(),
            payload: payload.to_vec(),
            deferred: None,
        }
    }

    /// The headers so far.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// Append any header. Its dependent fields are filled in by [`build`](Self::build).
    #[must_use]
    pub fn header(mut self, header: Header) -> Self {
        self.headers.push(header);
        self
    }

    /// Append an Ethernet II header from `src` to `dst`.
    #[must_use]
    pub fn ethernet(self, src: MacAddr, dst: MacAddr) -> Self {
        self.header(Header::Ethernet(EthernetRepr {
            dst,
            src,
            ethertype: EtherType::Unknown(0),
        }))
    }

    /// Append an 802.1Q tag with VLAN id `vid` (masked to 12 bits).
    #[must_use]
    pub fn vlan(self, vid: u16) -> Self {
        self.header(Header::Vlan(VlanRepr {
            pcp: 0,
            dei: false,
            vid: vid & 0x0fff,
            ethertype: EtherType::Unknown(0),
        }))
    }

    /// Append an ARP request from `sender` asking for `target_ip`.
    #[must_use]
    pub fn arp_request(
        self,
        sender_mac: MacAddr,
        sender_ip: impl Into<Ipv4Addr>,
        target_ip: impl Into<Ipv4Addr>,
    ) -> Self {
        self.header(Header::Arp(ArpRepr {
            operation: ArpOperation::Request,
            sender_mac,
            sender_ip: sender_ip.into(),
            target_mac: MacAddr::zero(),
            target_ip: target_ip.into(),
        }))
    }

    /// Append an IPv4 header (TTL 64, no options, DF clear).
    #[must_use]
    pub fn ipv4(self, src: impl Into<Ipv4Addr>, dst: impl Into<Ipv4Addr>) -> Self {
        self.header(Header::Ipv4(Ipv4Repr::new(
            src.into(),
            dst.into(),
            IpProtocol::Unknown(255),
            0,
        )))
    }

    /// Append an IPv6 fixed header (hop limit 64).
    #[must_use]
    pub fn ipv6(self, src: impl Into<Ipv6Addr>, dst: impl Into<Ipv6Addr>) -> Self {
        self.header(Header::Ipv6(Ipv6Repr::new(
            src.into(),
            dst.into(),
            IpProtocol::Ipv6NoNext,
            0,
        )))
    }

    /// Append a UDP header.
    #[must_use]
    pub fn udp(self, src_port: u16, dst_port: u16) -> Self {
        self.header(Header::Udp(UdpRepr::new(src_port, dst_port, 0)))
    }

    /// Append a TCP header with the given flags (see [`crate::tcp::flags`]),
    /// sequence and acknowledgment numbers 0, window 65535.
    #[must_use]
    pub fn tcp(self, src_port: u16, dst_port: u16, flags: u16) -> Self {
        self.header(Header::Tcp(TcpRepr {
            src_port,
            dst_port,
            seq: 0,
            ack: 0,
            flags,
            window: 65535,
            urgent: 0,
            options: Options::none(),
            payload_len: 0,
        }))
    }

    /// Append a plain 4-byte GRE header.
    #[must_use]
    pub fn gre(self) -> Self {
        self.header(Header::Gre(GreRepr::new(EtherType::Unknown(0), 0)))
    }

    /// Push an MPLS label (TTL 64). Consecutive calls build one stack, the
    /// first call's label on top.
    #[must_use]
    pub fn mpls(mut self, label: u32) -> Self {
        let Some(label) = MplsLabel::new(label) else {
            return self.defer(
                Layer::Mpls,
                "mpls label",
                label as usize,
                MplsLabel::MAX.value() as usize,
            );
        };
        let entry = MplsEntry::new(label, DEFAULT_TTL);
        if let Some(Header::Mpls(stack)) = self.headers.last_mut() {
            let mut entries = stack.entries().to_vec();
            entries.push(entry);
            match MplsRepr::from_entries(&entries) {
                Some(deeper) => *stack = deeper,
                None => {
                    return self.defer(
                        Layer::Mpls,
                        "mpls stack depth",
                        entries.len(),
                        MAX_STACK_DEPTH,
                    );
                }
            }
            return self;
        }
        self.header(Header::Mpls(MplsRepr::single(entry)))
    }

    /// Append a VXLAN header with network identifier `vni`.
    #[must_use]
    pub fn vxlan(self, vni: u32) -> Self {
        match Vni::new(vni) {
            Some(vni) => self.header(Header::Vxlan(VxlanRepr { vni })),
            None => self.defer(Layer::Vxlan, "vni", vni as usize, Vni::MAX.value() as usize),
        }
    }

    /// Append an ICMP echo request carrying `data`.
    #[must_use]
    pub fn icmp_echo_request(self, ident: u16, seq_no: u16, data: &[u8]) -> Self {
        self.icmp(Icmpv4Message::EchoRequest { ident, seq_no })
            .payload(data)
    }

    /// Append an ICMP echo reply carrying `data`.
    #[must_use]
    pub fn icmp_echo_reply(self, ident: u16, seq_no: u16, data: &[u8]) -> Self {
        self.icmp(Icmpv4Message::EchoReply { ident, seq_no })
            .payload(data)
    }

    /// Append an ICMPv6 echo request carrying `data` (after an IPv6 header).
    #[must_use]
    pub fn icmpv6_echo_request(self, ident: u16, seq_no: u16, data: &[u8]) -> Self {
        self.icmpv6(Icmpv6Repr::echo_request(ident, seq_no))
            .payload(data)
    }

    /// Append an ICMPv6 echo reply carrying `data`.
    #[must_use]
    pub fn icmpv6_echo_reply(self, ident: u16, seq_no: u16, data: &[u8]) -> Self {
        self.icmpv6(Icmpv6Repr::echo_reply(ident, seq_no))
            .payload(data)
    }

    /// Append an ICMPv6 message header; its data is the frame's payload.
    #[must_use]
    pub fn icmpv6(self, header: Icmpv6Repr) -> Self {
        self.header(Header::Icmpv6(Icmpv6Repr {
            payload_len: 0,
            ..header
        }))
    }

    /// Append an ICMP message header; its data is the frame's payload.
    #[must_use]
    pub fn icmp(self, message: Icmpv4Message) -> Self {
        self.header(Header::Icmpv4(Icmpv4Repr {
            message,
            payload_len: 0,
        }))
    }

    /// Append `inner`'s headers and payload after this frame's headers (an
    /// encapsulation around a frame built separately). This frame's own
    /// payload, if any, is replaced.
    #[must_use]
    pub fn append(mut self, inner: Frame) -> Self {
        self.headers.extend(inner.headers);
        self.payload = inner.payload;
        self.deferred = self.deferred.or(inner.deferred);
        self
    }

    /// Set the bytes after the last header.
    #[must_use]
    pub fn payload(mut self, data: &[u8]) -> Self {
        self.payload = data.to_vec();
        self
    }

    /// Set the TTL of the last IPv4 header, hop limit of the last IPv6 header
    /// or TTL of the last pushed MPLS entry, whichever is the latest header.
    #[must_use]
    pub fn ttl(mut self, ttl: u8) -> Self {
        for h in self.headers.iter_mut().rev() {
            match h {
                Header::Ipv4(r) => r.ttl = ttl,
                Header::Ipv6(r) => r.hop_limit = ttl,
                Header::Mpls(stack) => {
                    let mut entries = stack.entries().to_vec();
                    if let Some(last) = entries.last_mut() {
                        last.ttl = ttl;
                    }
                    *stack = MplsRepr::from_entries(&entries).unwrap_or(*stack);
                }
                _ => continue,
            }
            break;
        }
        self
    }

    fn defer(mut self, layer: Layer, what: &'static str, value: usize, max: usize) -> Self {
        self.deferred.get_or_insert(Error::new(
            layer,
            ErrorKind::FieldOverflow { what, value, max },
        ));
        self
    }

    /// Fill in the dependent fields and write the frame.
    pub fn build(&self) -> Result<Vec<u8>> {
        if let Some(e) = self.deferred {
            return Err(e);
        }
        let (headers, total) = self.filled()?;
        let mut buf = vec![0u8; total];
        let mut at: usize = headers.iter().map(Header::buffer_len).sum();
        buf[at..at + self.payload.len()].copy_from_slice(&self.payload);
        for (i, h) in headers.iter().enumerate().rev() {
            at -= h.buffer_len();
            emit(h, &mut buf[at..], enclosing_ip(&headers[..i])).map_err(|e| e.at(at))?;
        }
        Ok(buf)
    }

    /// The headers with EtherTypes, protocols and payload lengths filled in,
    /// and the length of the whole frame.
    ///
    /// A payload length is the length of what follows the header, unless the
    /// header was given a larger one: that is kept and the gap zero-filled
    /// after the inner content, as a dissected frame whose IP or UDP length
    /// covers trailing bytes needs for [`Dissection::to_builder`] to rebuild
    /// equal headers.
    ///
    /// [`Dissection::to_builder`]: crate::Dissection::to_builder
    fn filled(&self) -> Result<(Vec<Header>, usize)> {
        let mut headers = self.headers.clone();
        let mut carried = self.payload.len();
        for i in (0..headers.len()).rev() {
            let next = headers.get(i + 1).copied();
            let this = headers[i].layer();
            let after = if i == 0 {
                "the start of the frame"
            } else {
                headers[i - 1].layer().name()
            };
            // What `next` is, for the error when it cannot follow this header.
            let misplaced = || {
                let header = next.map_or(this, |n| n.layer());
                Error::new(
                    header,
                    ErrorKind::BadLayering {
                        header,
                        after: this.name(),
                    },
                )
            };
            if !fill_next(&mut headers[i], next) {
                return Err(misplaced());
            }
            let needs_ip = matches!(this, Layer::Udp | Layer::Tcp | Layer::Icmpv4);
            let enclosing = enclosing_ip(&headers[..i]);
            let misses_v6 = this == Layer::Icmpv6 && !matches!(enclosing, Some(IpPair::V6 { .. }));
            if (needs_ip && enclosing.is_none()) || misses_v6 {
                return Err(Error::new(
                    this,
                    ErrorKind::BadLayering {
                        header: this,
                        after,
                    },
                ));
            }
            if let Some(payload_len) = payload_len_mut(&mut headers[i]) {
                *payload_len = (*payload_len).max(carried);
                carried = *payload_len;
            }
            carried += headers[i].buffer_len();
        }
        Ok((headers, carried))
    }
}

/// Fill in the field of `h` that names what follows it (`next`, or nothing
/// at the end of the frame): an EtherType, an IP protocol, a GRE protocol
/// type. `false` when `next` cannot follow `h`.
fn fill_next(h: &mut Header, next: Option<Header>) -> bool {
    let next_layer = next.map(|n| n.layer());
    match h {
        Header::Ethernet(EthernetRepr { ethertype, .. })
        | Header::Vlan(VlanRepr { ethertype, .. }) => {
            let t = ethertype_for(*ethertype, next_layer);
            set(ethertype, t)
        }
        Header::Ipv4(r) => {
            let p = ip_protocol_for(r.protocol, next, false);
            set(&mut r.protocol, p)
        }
        Header::Ipv6(r) => {
            let p = ip_protocol_for(r.next_header, next, true);
            set(&mut r.next_header, p)
        }
        Header::Ipv6Ext(r) => {
            let p = ip_protocol_for(r.next_header, next, true);
            set(&mut r.next_header, p)
        }
        Header::Gre(r) => {
            let p = match next_layer {
                None => Some(r.protocol),
                Some(Layer::Mpls) => Some(EtherType::Mpls),
                Some(Layer::Ipv4) => Some(EtherType::Ipv4),
                Some(Layer::Ipv6) => Some(EtherType::Ipv6),
                Some(Layer::Ethernet) => Some(EtherType::TransparentEthernet),
                Some(_) => None,
            };
            set(&mut r.protocol, p)
        }
        Header::Udp(_) => matches!(next_layer, None | Some(Layer::Mpls | Layer::Vxlan)),
        Header::Mpls(_) => matches!(
            next_layer,
            None | Some(Layer::Ipv4 | Layer::Ipv6 | Layer::Ethernet)
        ),
        Header::Vxlan(_) => matches!(next_layer, None | Some(Layer::Ethernet)),
        Header::Icmpv4(_) | Header::Icmpv6(_) | Header::Tcp(_) | Header::Arp(_) => next.is_none(),
    }
}

/// Write `value` into `field` if there is one; whether there was.
fn set<T>(field: &mut T, value: Option<T>) -> bool {
    value.map(|v| *field = v).is_some()
}

/// The payload-length field of the headers that have one.
fn payload_len_mut(h: &mut Header) -> Option<&mut usize> {
    match h {
        Header::Ipv4(Ipv4Repr { payload_len, .. })
        | Header::Ipv6(Ipv6Repr { payload_len, .. })
        | Header::Icmpv4(Icmpv4Repr { payload_len, .. })
        | Header::Icmpv6(Icmpv6Repr { payload_len, .. })
        | Header::Udp(UdpRepr { payload_len, .. })
        | Header::Tcp(TcpRepr { payload_len, .. })
        | Header::Gre(GreRepr { payload_len, .. }) => Some(payload_len),
        _ => None,
    }
}

/// The EtherType announcing `next`, keeping `current` when it already does
/// (802.1Q and 802.1ad both announce a tag). `None`: `next` cannot follow.
fn ethertype_for(current: EtherType, next: Option<Layer>) -> Option<EtherType> {
    Some(match next {
        None => current,
        Some(Layer::Vlan) if matches!(current, EtherType::Vlan | EtherType::QinQ) => current,
        Some(Layer::Vlan) => EtherType::Vlan,
        Some(Layer::Ipv4) => EtherType::Ipv4,
        Some(Layer::Ipv6) => EtherType::Ipv6,
        Some(Layer::Arp) => EtherType::Arp,
        Some(Layer::Mpls) => EtherType::Mpls,
        Some(_) => return None,
    })
}

/// The IP protocol announcing `next` (`v6`: in an IPv6 header or extension
/// header). `None`: `next` cannot follow.
fn ip_protocol_for(current: IpProtocol, next: Option<Header>, v6: bool) -> Option<IpProtocol> {
    Some(match next {
        None => current,
        Some(Header::Icmpv4(_)) if !v6 => IpProtocol::Icmp,
        Some(Header::Icmpv6(_)) if v6 => IpProtocol::Icmpv6,
        Some(Header::Udp(_)) => IpProtocol::Udp,
        Some(Header::Tcp(_)) => IpProtocol::Tcp,
        Some(Header::Gre(_)) => IpProtocol::Gre,
        Some(Header::Ipv6Ext(e)) if v6 => e.kind,
        Some(_) => return None,
    })
}

/// The addresses of the IP header that encloses the header after `before`.
fn enclosing_ip(before: &[Header]) -> Option<IpPair> {
    for h in before.iter().rev() {
        match h {
            Header::Ipv4(r) => {
                return Some(IpPair::V4 {
                    src: r.src,
                    dst: r.dst,
                });
            }
            Header::Ipv6(r) => {
                return Some(IpPair::V6 {
                    src: r.src,
                    dst: r.dst,
                });
            }
            Header::Ipv6Ext(_) => continue,
            _ => return None,
        }
    }
    None
}

fn emit(h: &Header, buf: &mut [u8], ip: Option<IpPair>) -> Result<()> {
    let missing_ip = |layer| {
        Error::new(
            layer,
            ErrorKind::BadLayering {
                header: layer,
                after: "a non-ip header",
            },
        )
    };
    match h {
        Header::Ethernet(r) => r.emit(buf),
        Header::Vlan(r) => r.emit(buf),
        Header::Arp(r) => r.emit(buf),
        Header::Ipv4(r) => r.emit(buf),
        Header::Ipv6(r) => r.emit(buf),
        Header::Ipv6Ext(r) => r.emit(buf),
        Header::Icmpv4(r) => r.emit(buf),
        Header::Icmpv6(r) => match ip {
            Some(IpPair::V6 { src, dst }) => r.emit(buf, src, dst),
            _ => Err(missing_ip(Layer::Icmpv6)),
        },
        Header::Udp(r) => r.emit(buf, &ip.ok_or_else(|| missing_ip(Layer::Udp))?),
        Header::Tcp(r) => r.emit(buf, &ip.ok_or_else(|| missing_ip(Layer::Tcp))?),
        Header::Gre(r) => r.emit(buf),
        Header::Mpls(r) => r.emit(buf),
        Header::Vxlan(r) => r.emit(buf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect;
    use crate::types::UDP_PORT_VXLAN;

    const A: MacAddr = MacAddr(2, 0, 0, 0, 0, 1);
    const B: MacAddr = MacAddr(2, 0, 0, 0, 0, 2);

    #[test]
    fn fills_types_lengths_and_stacks() {
        let bytes = Frame::new()
            .ethernet(A, B)
            .vlan(100)
            .ipv4([10, 0, 0, 1], [10, 0, 0, 21])
            .udp(52000, UDP_PORT_VXLAN)
            .vxlan(4)
            .ethernet(B, A)
            .ipv4([1, 1, 1, 1], [2, 2, 2, 2])
            .gre()
            .mpls(16)
            .mpls(35)
            .ttl(9)
            .ipv6(
                "2001:db8::1".parse::<Ipv6Addr>().unwrap(),
                "2001:db8::2".parse::<Ipv6Addr>().unwrap(),
            )
            .tcp(1, 2, crate::tcp::flags::SYN)
            .payload(b"x")
            .build()
            .unwrap();
        let d = dissect(&bytes);
        assert_eq!(d.error, None, "{d}");
        assert_eq!(
            d.chain(),
            "eth:vlan:ipv4:udp:vxlan:eth:ipv4:gre:mpls:ipv6:tcp"
        );
        let Some(Header::Mpls(stack)) = d.iter().nth(8) else {
            panic!("{d}")
        };
        let labels: Vec<_> = stack
            .entries()
            .iter()
            .map(|e| (e.label.value(), e.ttl))
            .collect();
        assert_eq!(labels, [(16, 64), (35, 9)]);
        assert_eq!(d.payload, b"x");
    }

    #[test]
    fn bad_arguments_and_layering_are_errors() {
        let e = Frame::new()
            .ethernet(A, B)
            .mpls(1 << 20)
            .build()
            .unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::FieldOverflow {
                what: "mpls label",
                value: 1 << 20,
                max: (1 << 20) - 1
            }
        );
        let e = Frame::new()
            .ethernet(A, B)
            .vxlan(1 << 24)
            .build()
            .unwrap_err();
        assert_eq!(e.layer, Layer::Vxlan);
        let e = Frame::new().ethernet(A, B).udp(1, 2).build().unwrap_err();
        assert_eq!(e.to_string(), "udp at offset 0: udp cannot follow ethernet");
        let e = Frame::new().udp(1, 2).build().unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::BadLayering {
                header: Layer::Udp,
                after: "the start of the frame"
            }
        );
        let e = Frame::new()
            .ipv4([1, 1, 1, 1], [2, 2, 2, 2])
            .ethernet(A, B)
            .build()
            .unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::BadLayering {
                header: Layer::Ethernet,
                after: "ipv4"
            }
        );
        let deep = (0..9).fold(Frame::new().ethernet(A, B), |f, l| f.mpls(100 + l));
        assert!(matches!(
            deep.build().unwrap_err().kind,
            ErrorKind::FieldOverflow {
                what: "mpls stack depth",
                ..
            }
        ));
    }

    #[test]
    fn larger_payload_len_is_kept_as_trailing_zeros() {
        let mut ip = Ipv4Repr::new(
            [1, 1, 1, 1].into(),
            [2, 2, 2, 2].into(),
            IpProtocol::Udp,
            20,
        );
        ip.ttl = 3;
        let bytes = Frame::new()
            .header(Header::Ipv4(ip))
            .udp(7, 9)
            .payload(b"ab")
            .build()
            .unwrap();
        assert_eq!(bytes.len(), 40);
        assert_eq!(&bytes[30..], &[0; 10]);
        let d = crate::dissect_from(&bytes, Layer::Ipv4);
        assert_eq!(d.error, None);
        assert_eq!(d.payload, b"ab");
        assert_eq!(d.to_builder().build().unwrap(), bytes);
    }
}
