//! The dissector: any frame in, the list of headers it holds out.
//!
//! [`dissect`] never fails and never panics: it follows the encapsulations
//! vrsim knows (Ethernet, VLAN, ARP, IPv4, IPv6 and its extension headers,
//! ICMP, UDP, TCP, GRE, MPLS, VXLAN and MPLS over UDP) as far as the bytes
//! allow, and records where and why it stopped when a header is malformed.
//!
//! ```
//! use vrsim_wire::{dissect, Frame};
//! use vrsim_wire::MacAddr;
//! let (gw, compute) = (MacAddr::new(2, 0, 0, 0, 0, 1), MacAddr::new(2, 0, 0, 0, 0, 21));
//! let frame = Frame::new()
//!     .ethernet(gw, compute)
//!     .ipv4([10, 0, 0, 1], [10, 0, 0, 21])
//!     .gre()
//!     .mpls(35)
//!     .ipv4([203, 0, 113, 10], [192, 168, 100, 1])
//!     .icmp_echo_request(1, 1, b"ping")
//!     .build()
//!     .unwrap();
//! let d = dissect(&frame);
//! assert!(d.error.is_none());
//! assert_eq!(d.chain(), "eth:ipv4:gre:mpls:ipv4:icmp");
//! println!("{d}");
//! ```

use core::fmt;
use std::net::Ipv6Addr;

use smallvec::SmallVec;

use crate::arp::{ArpRepr, ArpView};
use crate::error::{Error, ErrorKind, Layer, Result};
use crate::ethernet::{EthernetRepr, EthernetView, MAX_VLAN_TAGS, VlanRepr, VlanView};
use crate::gre::{GreRepr, GreView};
use crate::header::Header;
use crate::icmpv4::{Icmpv4Repr, Icmpv4View};
use crate::icmpv6::{Icmpv6Repr, Icmpv6View};
use crate::ipv4::{Ipv4Repr, Ipv4View};
use crate::ipv6::{ExtHeader, Ipv6Repr, Ipv6View, MAX_EXTENSION_HEADERS};
use crate::mpls::{MplsRepr, MplsView};
use crate::tcp::{TcpRepr, TcpView};
use crate::types::{
    EtherType, IpPair, IpProtocol, UDP_PORT_MPLS, UDP_PORT_MPLS_LEGACY, UDP_PORT_VXLAN,
};
use crate::udp::{UdpRepr, UdpView};
use crate::vxlan::{VxlanRepr, VxlanView};

/// The most headers one frame is dissected into (nested tunnels included).
pub const MAX_HEADERS: usize = 16;

/// The headers of one frame, in order, with the offset of each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dissection<'a> {
    /// Each header with the byte offset of its first byte.
    pub headers: SmallVec<[(usize, Header); 8]>,
    /// What follows the last header: application data, an unknown protocol,
    /// a non-first fragment, or the bytes of the header that failed to parse.
    pub payload: &'a [u8],
    /// The byte offset of the payload.
    pub payload_offset: usize,
    /// Why dissection stopped early, if it did.
    pub error: Option<Error>,
}

/// What to parse next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Ethernet,
    Vlan,
    Arp,
    Ipv4,
    Ipv6,
    Ipv6Ext(IpProtocol, IpPair),
    Icmpv4,
    /// ICMPv6, with the addresses of its pseudo-header.
    Icmpv6(Ipv6Addr, Ipv6Addr),
    Udp(IpPair),
    Tcp(IpPair),
    Gre,
    Mpls,
    Vxlan,
    Done,
}

/// Dissect an Ethernet frame.
pub fn dissect(frame: &[u8]) -> Dissection<'_> {
    dissect_from(frame, Layer::Ethernet)
}

/// Dissect bytes that start with the header of `first` (for example an IPv4
/// packet as the host stack sees it). `first` may be Ethernet, IPv4, IPv6 or
/// MPLS; other layers need context (ports, checksums) and dissect nothing.
pub fn dissect_from(bytes: &[u8], first: Layer) -> Dissection<'_> {
    let mut next = match first {
        Layer::Ethernet => Next::Ethernet,
        Layer::Ipv4 => Next::Ipv4,
        Layer::Ipv6 => Next::Ipv6,
        Layer::Mpls => Next::Mpls,
        _ => Next::Done,
    };
    let mut d = Dissection {
        headers: SmallVec::new(),
        payload: bytes,
        payload_offset: 0,
        error: None,
    };
    let mut vlan_tags = 0;
    let mut ext_headers = 0;
    while next != Next::Done {
        if d.headers.len() == MAX_HEADERS {
            d.error = Some(
                Error::new(
                    layer_of(next),
                    ErrorKind::TooManyHeaders { bound: MAX_HEADERS },
                )
                .at(d.payload_offset),
            );
            break;
        }
        // The bounds are per frame and per packet: an inner Ethernet frame
        // (after VXLAN or GRE) or IPv6 packet (after a tunnel) starts its own count.
        match next {
            Next::Ethernet => vlan_tags = 0,
            Next::Ipv6 => ext_headers = 0,
            _ => {}
        }
        if next == Next::Vlan {
            vlan_tags += 1;
            if vlan_tags > MAX_VLAN_TAGS {
                d.error = Some(
                    Error::new(
                        Layer::Vlan,
                        ErrorKind::TooManyVlanTags {
                            bound: MAX_VLAN_TAGS,
                        },
                    )
                    .at(d.payload_offset),
                );
                break;
            }
        }
        if let Next::Ipv6Ext(..) = next {
            ext_headers += 1;
            if ext_headers > MAX_EXTENSION_HEADERS {
                d.error = Some(
                    Error::new(
                        Layer::Ipv6Ext,
                        ErrorKind::TooManyExtensionHeaders {
                            bound: MAX_EXTENSION_HEADERS,
                        },
                    )
                    .at(d.payload_offset),
                );
                break;
            }
        }
        match step(next, d.payload) {
            Ok((header, header_len, payload, after)) => {
                d.headers.push((d.payload_offset, header));
                d.payload_offset += header_len;
                d.payload = payload;
                next = after;
            }
            Err(e) => {
                d.error = Some(e.at(d.payload_offset));
                break;
            }
        }
    }
    d
}

fn layer_of(next: Next) -> Layer {
    match next {
        Next::Ethernet | Next::Done => Layer::Ethernet,
        Next::Vlan => Layer::Vlan,
        Next::Arp => Layer::Arp,
        Next::Ipv4 => Layer::Ipv4,
        Next::Ipv6 => Layer::Ipv6,
        Next::Ipv6Ext(..) => Layer::Ipv6Ext,
        Next::Icmpv4 => Layer::Icmpv4,
        Next::Icmpv6(..) => Layer::Icmpv6,
        Next::Udp(_) => Layer::Udp,
        Next::Tcp(_) => Layer::Tcp,
        Next::Gre => Layer::Gre,
        Next::Mpls => Layer::Mpls,
        Next::Vxlan => Layer::Vxlan,
    }
}

fn after_ethertype(t: EtherType) -> Next {
    match t {
        EtherType::Ipv4 => Next::Ipv4,
        EtherType::Ipv6 => Next::Ipv6,
        EtherType::Arp => Next::Arp,
        EtherType::Vlan | EtherType::QinQ => Next::Vlan,
        EtherType::Mpls => Next::Mpls,
        EtherType::TransparentEthernet | EtherType::Unknown(_) => Next::Done,
    }
}

fn after_ip(proto: IpProtocol, ip: IpPair) -> Next {
    match proto {
        IpProtocol::Icmp if matches!(ip, IpPair::V4 { .. }) => Next::Icmpv4,
        IpProtocol::Icmpv6 if let IpPair::V6 { src, dst } = ip => Next::Icmpv6(src, dst),
        IpProtocol::Udp => Next::Udp(ip),
        IpProtocol::Tcp => Next::Tcp(ip),
        IpProtocol::Gre => Next::Gre,
        p if matches!(ip, IpPair::V6 { .. }) && ExtHeader::is_extension(p) => Next::Ipv6Ext(p, ip),
        _ => Next::Done,
    }
}

/// Parse one header at the start of `bytes`: the header, its length, the
/// bytes it carries and what to parse in them.
fn step(next: Next, bytes: &[u8]) -> Result<Step<'_>> {
    Ok(match next {
        Next::Ethernet => {
            let v = EthernetView::new_checked(bytes)?;
            let r = EthernetRepr::parse(&v)?;
            (
                Header::Ethernet(r),
                r.buffer_len(),
                v.payload(),
                after_ethertype(r.ethertype),
            )
        }
        Next::Vlan => {
            let v = VlanView::new_checked(bytes)?;
            let r = VlanRepr::parse(&v)?;
            (
                Header::Vlan(r),
                r.buffer_len(),
                v.payload(),
                after_ethertype(r.ethertype),
            )
        }
        Next::Arp => {
            let v = ArpView::new_checked(bytes)?;
            let r = ArpRepr::parse(&v)?;
            (
                Header::Arp(r),
                r.buffer_len(),
                &bytes[r.buffer_len()..],
                Next::Done,
            )
        }
        Next::Ipv4 => ipv4(bytes)?,
        Next::Ipv6 => ipv6(bytes)?,
        Next::Ipv6Ext(kind, ip) => ipv6_ext(kind, ip, bytes)?,
        Next::Icmpv4 => {
            let v = Icmpv4View::new_checked(bytes)?;
            let r = Icmpv4Repr::parse(&v)?;
            (Header::Icmpv4(r), r.buffer_len(), v.payload(), Next::Done)
        }
        Next::Icmpv6(src, dst) => {
            let v = Icmpv6View::new_checked(bytes)?;
            let r = Icmpv6Repr::parse(&v, src, dst)?;
            (Header::Icmpv6(r), r.buffer_len(), v.payload(), Next::Done)
        }
        Next::Udp(ip) => udp(ip, bytes)?,
        Next::Tcp(ip) => {
            let v = TcpView::new_checked(bytes)?;
            let r = TcpRepr::parse(&v, &ip)?;
            (Header::Tcp(r), r.buffer_len(), v.payload(), Next::Done)
        }
        Next::Gre => gre(bytes)?,
        Next::Mpls => mpls(bytes)?,
        Next::Vxlan => {
            let v = VxlanView::new_checked(bytes)?;
            let r = VxlanRepr::parse(&v)?;
            (
                Header::Vxlan(r),
                r.buffer_len(),
                v.payload(),
                Next::Ethernet,
            )
        }
        Next::Done => unreachable!("the loop stops at Done"),
    })
}

/// One parsed header: the header, its length, the bytes it carries, what
/// to parse in them.
type Step<'b> = (Header, usize, &'b [u8], Next);

fn ipv4(bytes: &[u8]) -> Result<Step<'_>> {
    let v = Ipv4View::new_checked(bytes)?;
    let r = Ipv4Repr::parse(&v)?;
    // A fragment's payload is only part of the upper-layer message.
    let after = if r.is_fragment() {
        Next::Done
    } else {
        let ip = IpPair::V4 {
            src: r.src,
            dst: r.dst,
        };
        after_ip(r.protocol, ip)
    };
    Ok((Header::Ipv4(r), r.buffer_len(), v.payload(), after))
}

fn ipv6(bytes: &[u8]) -> Result<Step<'_>> {
    let v = Ipv6View::new_checked(bytes)?;
    let r = Ipv6Repr::parse(&v)?;
    let ip = IpPair::V6 {
        src: r.src,
        dst: r.dst,
    };
    let after = after_ip(r.next_header, ip);
    Ok((Header::Ipv6(r), r.buffer_len(), v.payload(), after))
}

fn ipv6_ext(kind: IpProtocol, ip: IpPair, bytes: &[u8]) -> Result<Step<'_>> {
    let r = ExtHeader::parse(kind, bytes)?;
    let after = match r.fragment {
        // A fragment's payload is only part of the upper-layer message.
        Some((offset, more)) if offset != 0 || more => Next::Done,
        _ => after_ip(r.next_header, ip),
    };
    Ok((Header::Ipv6Ext(r), r.len, &bytes[r.len..], after))
}

/// UDP, followed into MPLS (RFC 7510) or VXLAN (RFC 7348) by destination port.
fn udp(ip: IpPair, bytes: &[u8]) -> Result<Step<'_>> {
    let v = UdpView::new_checked(bytes)?;
    let r = UdpRepr::parse(&v, &ip)?;
    let after = match r.dst_port {
        UDP_PORT_MPLS | UDP_PORT_MPLS_LEGACY => Next::Mpls,
        UDP_PORT_VXLAN => Next::Vxlan,
        _ => Next::Done,
    };
    Ok((Header::Udp(r), r.buffer_len(), v.payload(), after))
}

/// GRE, followed by its protocol type.
fn gre(bytes: &[u8]) -> Result<Step<'_>> {
    let v = GreView::new_checked(bytes)?;
    let r = GreRepr::parse(&v)?;
    let after = match r.protocol {
        EtherType::Mpls => Next::Mpls,
        EtherType::Ipv4 => Next::Ipv4,
        EtherType::Ipv6 => Next::Ipv6,
        EtherType::TransparentEthernet => Next::Ethernet,
        _ => Next::Done,
    };
    Ok((Header::Gre(r), r.buffer_len(), v.payload(), after))
}

/// An MPLS label stack. MPLS does not name its payload; look at the first
/// nibble as dissectors do (RFC 4385 §2): 4 is IPv4, 6 is IPv6.
fn mpls(bytes: &[u8]) -> Result<Step<'_>> {
    let v = MplsView::new_checked(bytes)?;
    let r = MplsRepr::parse(&v)?;
    // What follows the bottom label has no type field: IP by its version
    // nibble; else an Ethernet frame, as the vRouter's bridged traffic over
    // MPLS carries it (an Ethernet pseudowire without a control word,
    // RFC 4448 §4.4), when there is a header's worth of bytes. A frame whose
    // destination MAC starts with the nibble 4 or 6 reads as IP: the bytes
    // do not say which it is (RFC 4385 gives the control word for this),
    // and a truncated IP packet must still read as IP. The agent's MACs
    // (`02:…`, `00:…`) never start so.
    let after = match v.payload().first().map(|b| b >> 4) {
        Some(4) => Next::Ipv4,
        Some(6) => Next::Ipv6,
        Some(_) if v.payload().len() >= crate::ethernet::HEADER_LEN => Next::Ethernet,
        _ => Next::Done,
    };
    Ok((Header::Mpls(r), r.buffer_len(), v.payload(), after))
}

impl Dissection<'_> {
    /// The protocol chain, as `eth:ipv4:gre:mpls:ipv4:icmp`.
    pub fn chain(&self) -> String {
        let mut s = String::new();
        for (i, (_, h)) in self.headers.iter().enumerate() {
            if i > 0 {
                s.push(':');
            }
            s.push_str(match h {
                Header::Ethernet(_) => "eth",
                Header::Vlan(_) => "vlan",
                Header::Arp(_) => "arp",
                Header::Ipv4(_) => "ipv4",
                Header::Ipv6(_) => "ipv6",
                Header::Ipv6Ext(_) => "ipv6ext",
                Header::Icmpv4(_) => "icmp",
                Header::Icmpv6(_) => "icmpv6",
                Header::Udp(_) => "udp",
                Header::Tcp(_) => "tcp",
                Header::Gre(_) => "gre",
                Header::Mpls(_) => "mpls",
                Header::Vxlan(_) => "vxlan",
            });
        }
        s
    }

    /// The headers alone, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.headers.iter().map(|(_, h)| h)
    }

    /// A frame builder holding these headers and the payload: building it
    /// gives back the frame (less any padding after an IP packet).
    pub fn to_builder(&self) -> crate::builder::Frame {
        crate::builder::Frame::from_parts(self.iter().copied(), self.payload)
    }
}

/// One line per header, tcpdump-like, then the payload or the error.
impl fmt::Display for Dissection<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (offset, h)) in self.headers.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{offset:>4}  {h}")?;
        }
        let sep = if self.headers.is_empty() { "" } else { "\n" };
        match &self.error {
            Some(e) => write!(f, "{sep}{:>4}  error: {e}", e.offset),
            None if self.payload.is_empty() => Ok(()),
            None => write!(
                f,
                "{sep}{:>4}  payload {} bytes",
                self.payload_offset,
                self.payload.len()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Frame, MacAddr};

    const A: MacAddr = MacAddr(2, 0, 0, 0, 0, 1);
    const B: MacAddr = MacAddr(2, 0, 0, 0, 0, 2);

    #[test]
    fn vlan_then_bad_ipv4_header_length_names_offset_18() {
        let mut bytes = Frame::new()
            .ethernet(A, B)
            .vlan(7)
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2])
            .payload(&[0; 20])
            .build()
            .unwrap();
        bytes[18] = 0x4f; // IHL 15: 60 bytes
        bytes.truncate(18 + 40);
        let d = dissect(&bytes);
        assert_eq!(d.chain(), "eth:vlan");
        assert_eq!(
            d.error.unwrap().to_string(),
            "ipv4 at offset 18: header length 60 exceeds 40 remaining bytes"
        );
        assert_eq!(d.payload_offset, 18);
        assert_eq!(
            d.to_string().lines().last(),
            Some("  18  error: ipv4 at offset 18: header length 60 exceeds 40 remaining bytes")
        );
    }

    #[test]
    fn arp_and_vlan_bound() {
        let arp = Frame::new().ethernet(A, MacAddr::broadcast()).arp_request(
            A,
            [172, 16, 10, 3],
            [172, 16, 10, 1],
        );
        let d_bytes = arp.build().unwrap();
        let d = dissect(&d_bytes);
        assert_eq!(d.chain(), "eth:arp");
        assert!(
            d.to_string()
                .contains("arp who-has 172.16.10.1 tell 172.16.10.3")
        );
        let tags = Frame::new()
            .ethernet(A, B)
            .vlan(1)
            .vlan(2)
            .vlan(3)
            .ipv4([1, 1, 1, 1], [2, 2, 2, 2]);
        let bytes = tags.build().unwrap();
        let d = dissect(&bytes);
        assert_eq!(d.chain(), "eth:vlan:vlan");
        assert_eq!(
            d.error.unwrap().kind,
            ErrorKind::TooManyVlanTags {
                bound: MAX_VLAN_TAGS
            }
        );
    }

    #[test]
    fn ipv6_extension_headers_are_walked() {
        let ext = |kind| {
            Header::Ipv6Ext(ExtHeader {
                kind,
                next_header: IpProtocol::Ipv6NoNext,
                len: 8,
                fragment: None,
            })
        };
        let bytes = Frame::new()
            .ethernet(A, B)
            .ipv6(
                "2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap(),
                "2001:db8::2".parse::<std::net::Ipv6Addr>().unwrap(),
            )
            .header(ext(IpProtocol::HopByHop))
            .header(ext(IpProtocol::Ipv6Opts))
            .udp(1000, 2000)
            .payload(b"hello")
            .build()
            .unwrap();
        let d = dissect(&bytes);
        assert_eq!(d.error, None, "{d}");
        assert_eq!(d.chain(), "eth:ipv6:ipv6ext:ipv6ext:udp");
        assert_eq!(d.payload, b"hello");
        assert!(
            d.to_string()
                .contains("ipv6 hop-by-hop header, len 8, next destination-options")
        );
    }

    #[test]
    fn fragments_stop_dissection() {
        let mut ip = Ipv4Repr::new([1, 1, 1, 1].into(), [2, 2, 2, 2].into(), IpProtocol::Udp, 0);
        ip.more_frags = true;
        let bytes = Frame::new()
            .ethernet(A, B)
            .header(Header::Ipv4(ip))
            .payload(&[0xab; 16])
            .build()
            .unwrap();
        let d = dissect(&bytes);
        assert_eq!(
            (d.chain().as_str(), d.payload.len(), d.error),
            ("eth:ipv4", 16, None)
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let mut f = Frame::new().ethernet(A, B);
        for _ in 0..6 {
            f = f.ipv4([1, 1, 1, 1], [2, 2, 2, 2]).gre().ethernet(A, B);
        }
        let bytes = f.build().unwrap();
        let d = dissect(&bytes);
        assert_eq!(d.headers.len(), MAX_HEADERS);
        assert_eq!(
            d.error.unwrap().kind,
            ErrorKind::TooManyHeaders { bound: MAX_HEADERS }
        );
    }

    #[test]
    fn empty_and_garbage_do_not_panic() {
        assert_eq!(
            dissect(&[]).error.unwrap().kind,
            ErrorKind::Truncated {
                needed: 14,
                available: 0
            }
        );
        let d = dissect_from(&[0x45; 3], Layer::Udp);
        assert!(d.headers.is_empty() && d.error.is_none());
    }
}

/// The VLAN-tag and extension-header bounds count per frame and per packet,
/// not across the tunnels of one frame.
#[cfg(test)]
mod inner_bounds {
    use super::*;
    use crate::{Frame, MacAddr};
    use std::net::Ipv6Addr;

    /// Bridged traffic over MPLS: the bottom label's payload is an Ethernet
    /// frame when it is not IP; too short for one, it stays payload.
    #[test]
    fn an_ethernet_frame_after_the_bottom_label() {
        let (a, b) = (
            MacAddr::new(2, 0, 0, 0, 0, 1),
            MacAddr::new(2, 0, 0, 0, 0, 2),
        );
        let inner = Frame::new()
            .ethernet(b, a)
            .ipv4([172, 16, 20, 21], [172, 16, 20, 22])
            .icmp_echo_request(1, 1, b"ping")
            .build()
            .expect("a fixed frame builds");
        let carrying = |payload: &[u8]| {
            Frame::new()
                .ethernet(a, b)
                .ipv4([10, 0, 0, 22], [10, 0, 0, 23])
                .gre()
                .mpls(17)
                .payload(payload)
                .build()
                .expect("a fixed frame builds")
        };
        let bytes = carrying(&inner);
        let d = dissect(&bytes);
        assert_eq!(d.error, None);
        assert_eq!(d.chain(), "eth:ipv4:gre:mpls:eth:ipv4:icmp");
        let short = carrying(&inner[..13]);
        assert_eq!(dissect(&short).chain(), "eth:ipv4:gre:mpls");
    }

    #[test]
    fn inner_ethernet_has_its_own_vlan_tags() {
        let (a, b) = (
            MacAddr::new(2, 0, 0, 0, 0, 1),
            MacAddr::new(2, 0, 0, 0, 0, 2),
        );
        let bytes = Frame::new()
            .ethernet(a, b)
            .vlan(10)
            .vlan(20)
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2])
            .udp(50000, UDP_PORT_VXLAN)
            .vxlan(4)
            .ethernet(b, a)
            .vlan(30)
            .vlan(40)
            .ipv4([192, 168, 0, 1], [192, 168, 0, 2])
            .payload(b"data")
            .build()
            .unwrap();
        let d = dissect(&bytes);
        assert_eq!(d.error, None, "{d}");
        assert_eq!(d.chain(), "eth:vlan:vlan:ipv4:udp:vxlan:eth:vlan:vlan:ipv4");
    }

    #[test]
    fn inner_ipv6_has_its_own_extension_headers() {
        let ext = Header::Ipv6Ext(ExtHeader {
            kind: IpProtocol::Ipv6Opts,
            next_header: IpProtocol::Ipv6NoNext,
            len: 8,
            fragment: None,
        });
        let (s, d) = (Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED);
        let mut f = Frame::new().ipv6(s, d);
        for _ in 0..5 {
            f = f.header(ext);
        }
        f = f.gre().ipv6(d, s);
        for _ in 0..5 {
            f = f.header(ext);
        }
        let bytes = f.payload(b"data").build().unwrap();
        let d = dissect_from(&bytes, Layer::Ipv6);
        assert_eq!(d.error, None, "{d}");
        assert_eq!(d.headers.len(), 13);
    }
}
