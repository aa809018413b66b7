//! ICMP for IPv6 (RFC 4443) and the neighbour discovery messages the vRouter
//! reads and writes (RFC 4861 §4.3, §4.4): solicitation and advertisement
//! with a link-layer address option. The checksum covers the IPv6
//! pseudo-header.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! |   NS: reserved; NA: R S O flags, reserved                     |
//! |                  Target Address (16 bytes)                    |
//! |  Option Type  |  Length (8s)  |   Link-layer address (6)  ... |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::net::Ipv6Addr;

use pnet_base::MacAddr;

use crate::error::{Error, ErrorKind, Layer, Result, need};
use crate::types::be32;

/// Length of the ICMPv6 header (type, code, checksum and the 4-byte rest).
pub const HEADER_LEN: usize = 8;
/// Echo request.
pub const TYPE_ECHO_REQUEST: u8 = 128;
/// Echo reply.
pub const TYPE_ECHO_REPLY: u8 = 129;
/// Router solicitation, the first neighbour discovery type.
pub const TYPE_ROUTER_SOLICIT: u8 = 133;
/// Router advertisement.
pub const TYPE_ROUTER_ADVERT: u8 = 134;
/// Neighbour solicitation.
pub const TYPE_NEIGHBOR_SOLICIT: u8 = 135;
/// Neighbour advertisement.
pub const TYPE_NEIGHBOR_ADVERT: u8 = 136;
/// Redirect, the last neighbour discovery type.
pub const TYPE_REDIRECT: u8 = 137;
/// The source link-layer address option.
pub const OPTION_SOURCE_LL: u8 = 1;
/// The target link-layer address option.
pub const OPTION_TARGET_LL: u8 = 2;
/// The advertisement's Router flag.
pub const FLAG_ROUTER: u32 = 0x8000_0000;
/// The advertisement's Solicited flag.
pub const FLAG_SOLICITED: u32 = 0x4000_0000;
/// The advertisement's Override flag.
pub const FLAG_OVERRIDE: u32 = 0x2000_0000;

/// Whether an ICMPv6 type is one of neighbour discovery's (133 to 137), as
/// the vRouter's `vr_is_ipv6_nd_packet` counts them.
pub const fn is_neighbor_discovery(kind: u8) -> bool {
    kind >= TYPE_ROUTER_SOLICIT && kind <= TYPE_REDIRECT
}

/// The ICMPv6 checksum of `message` (checksum field included, as it is)
/// between `src` and `dst`.
pub fn checksum(message: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> u16 {
    // Word 1 is the checksum field, left out of the sum.
    pnet_packet::util::ipv6_checksum(
        message,
        1,
        &[],
        &src,
        &dst,
        pnet_packet::ip::IpNextHeaderProtocols::Icmpv6,
    )
}

/// A checked view of an ICMPv6 message: at least the 8-byte header.
#[derive(Debug)]
pub struct Icmpv6View<'a> {
    bytes: &'a [u8],
}

impl<'a> Icmpv6View<'a> {
    /// Check that `bytes` holds the header. The view covers all of `bytes`:
    /// pass exactly the IPv6 payload.
    #[inline]
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        need(Layer::Icmpv6, bytes, HEADER_LEN)?;
        Ok(Icmpv6View { bytes })
    }

    /// The type.
    #[inline]
    pub fn kind(&self) -> u8 {
        self.bytes[0]
    }

    /// The code.
    #[inline]
    pub fn code(&self) -> u8 {
        self.bytes[1]
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.bytes[2], self.bytes[3]])
    }

    /// The checksum the message should carry between `src` and `dst`.
    #[inline]
    pub fn compute_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> u16 {
        checksum(self.bytes, src, dst)
    }

    /// The 4 bytes after the checksum.
    #[inline]
    pub fn rest_of_header(&self) -> u32 {
        be32(self.bytes, 4)
    }

    /// The data after the 8-byte header.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[HEADER_LEN..]
    }
}

/// An ICMPv6 message header (type, code and the 4 bytes after the
/// checksum); its data follows it. Echo keeps its identifier and sequence
/// number in `rest` (`ident << 16 | seq_no`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Icmpv6Repr {
    /// The type.
    pub kind: u8,
    /// The code.
    pub code: u8,
    /// The 4 bytes after the checksum.
    pub rest: u32,
    /// Length of the data after the 8-byte header.
    pub payload_len: usize,
}

impl Icmpv6Repr {
    /// An echo request (type 128).
    pub const fn echo_request(ident: u16, seq_no: u16) -> Self {
        Icmpv6Repr {
            kind: TYPE_ECHO_REQUEST,
            code: 0,
            rest: (ident as u32) << 16 | seq_no as u32,
            payload_len: 0,
        }
    }

    /// An echo reply (type 129).
    pub const fn echo_reply(ident: u16, seq_no: u16) -> Self {
        Icmpv6Repr {
            kind: TYPE_ECHO_REPLY,
            ..Icmpv6Repr::echo_request(ident, seq_no)
        }
    }

    /// Read the header from a checked view of the whole message, verifying
    /// the checksum between `src` and `dst`.
    pub fn parse(view: &Icmpv6View<'_>, src: Ipv6Addr, dst: Ipv6Addr) -> Result<Self> {
        let expected = view.compute_checksum(src, dst);
        if view.checksum() != expected {
            return Err(Error::new(
                Layer::Icmpv6,
                ErrorKind::Checksum {
                    found: view.checksum(),
                    expected,
                },
            ));
        }
        Ok(Icmpv6Repr {
            kind: view.kind(),
            code: view.code(),
            rest: view.rest_of_header(),
            payload_len: view.payload().len(),
        })
    }

    /// Length of the header.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the header into `buf`, whose bytes after the header already
    /// hold the data, and fill in the checksum over header and data between
    /// `src` and `dst`. Only `buffer_len() + payload_len` bytes are summed.
    pub fn emit(&self, buf: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<()> {
        let total = HEADER_LEN + self.payload_len;
        need(Layer::Icmpv6, buf, total)?;
        let msg = &mut buf[..total];
        msg[0] = self.kind;
        msg[1] = self.code;
        msg[2..4].fill(0);
        msg[4..8].copy_from_slice(&self.rest.to_be_bytes());
        let sum = checksum(msg, src, dst);
        msg[2..4].copy_from_slice(&sum.to_be_bytes());
        Ok(())
    }
}

/// A neighbour solicitation or advertisement with at most one link-layer
/// address option (the source's in a solicitation, the target's in an
/// advertisement), as the vRouter builds and reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NeighborRepr {
    /// [`TYPE_NEIGHBOR_SOLICIT`] or [`TYPE_NEIGHBOR_ADVERT`].
    pub kind: u8,
    /// The advertisement's R, S and O flags (0 in a solicitation).
    pub flags: u32,
    /// The address asked about or advertised.
    pub target: Ipv6Addr,
    /// The first link-layer address option's address, if any.
    pub link_addr: Option<MacAddr>,
}

impl NeighborRepr {
    /// Read a solicitation or advertisement; other types are an error.
    pub fn parse(view: &Icmpv6View<'_>) -> Result<Self> {
        let kind = view.kind();
        if kind != TYPE_NEIGHBOR_SOLICIT && kind != TYPE_NEIGHBOR_ADVERT {
            return Err(Error::new(
                Layer::Icmpv6,
                ErrorKind::NotNeighborDiscovery { found: kind },
            ));
        }
        let body = view.payload();
        need(Layer::Icmpv6, body, 16).map_err(|e| e.at(HEADER_LEN))?;
        let mut target = [0u8; 16];
        target.copy_from_slice(&body[..16]);
        let link_addr = match body.get(16..24) {
            Some([t, 1, a @ ..]) if *t == OPTION_SOURCE_LL || *t == OPTION_TARGET_LL => {
                Some(MacAddr::new(a[0], a[1], a[2], a[3], a[4], a[5]))
            }
            _ => None,
        };
        Ok(NeighborRepr {
            kind,
            flags: if kind == TYPE_NEIGHBOR_ADVERT {
                view.rest_of_header() & (FLAG_ROUTER | FLAG_SOLICITED | FLAG_OVERRIDE)
            } else {
                0
            },
            target: Ipv6Addr::from(target),
            link_addr,
        })
    }

    /// The message's length: 24 bytes, 32 with the option.
    pub const fn buffer_len(&self) -> usize {
        if self.link_addr.is_some() { 32 } else { 24 }
    }

    /// Write the message with its checksum between `src` and `dst`.
    pub fn emit(&self, buf: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<()> {
        let len = self.buffer_len();
        need(Layer::Icmpv6, buf, len)?;
        let buf = &mut buf[..len];
        buf[0] = self.kind;
        buf[1] = 0;
        buf[2..4].fill(0);
        buf[4..8].copy_from_slice(&self.flags.to_be_bytes());
        buf[8..24].copy_from_slice(&self.target.octets());
        if let Some(mac) = self.link_addr {
            buf[24] = if self.kind == TYPE_NEIGHBOR_ADVERT {
                OPTION_TARGET_LL
            } else {
                OPTION_SOURCE_LL
            };
            buf[25] = 1;
            buf[26..32].copy_from_slice(&mac.octets());
        }
        let sum = checksum(buf, src, dst);
        buf[2..4].copy_from_slice(&sum.to_be_bytes());
        Ok(())
    }
}

/// The solicited-node multicast group of `target` (RFC 4291 §2.7.1):
/// `ff02::1:ff` and the address's low 24 bits.
pub fn solicited_node(target: Ipv6Addr) -> Ipv6Addr {
    let t = target.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(t[13]),
        u16::from_be_bytes([t[14], t[15]]),
    )
}

/// The Ethernet address of an IPv6 multicast group (RFC 2464 §7):
/// `33:33` and the group's low 32 bits.
pub fn multicast_mac(group: Ipv6Addr) -> MacAddr {
    let g = group.octets();
    MacAddr::new(0x33, 0x33, g[12], g[13], g[14], g[15])
}

/// A whole neighbour solicitation frame, as a host resolving `target`
/// sends it: from `mac`/`src` to `target`'s solicited-node group, hop
/// limit 255 (RFC 4861 §7.2.2), with the source link-layer option.
pub fn solicitation_frame(mac: MacAddr, src: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    use crate::ethernet::{EthernetRepr, HEADER_LEN as ETH_LEN};
    use crate::ipv6::{HEADER_LEN as IP6_LEN, Ipv6Repr};
    use crate::{EtherType, IpProtocol};
    let group = solicited_node(target);
    let ns = NeighborRepr {
        kind: TYPE_NEIGHBOR_SOLICIT,
        flags: 0,
        target,
        link_addr: Some(mac),
    };
    let mut f = vec![0u8; ETH_LEN + IP6_LEN + ns.buffer_len()];
    let eth = EthernetRepr {
        dst: multicast_mac(group),
        src: mac,
        ethertype: EtherType::Ipv6,
    };
    let mut ip = Ipv6Repr::new(src, group, IpProtocol::Icmpv6, ns.buffer_len());
    ip.hop_limit = 255;
    // The buffer is sized from the three headers' own lengths, so no emit
    // can run short.
    let fits = eth
        .emit(&mut f)
        .and_then(|()| ip.emit(&mut f[ETH_LEN..]))
        .and_then(|()| ns.emit(&mut f[ETH_LEN + IP6_LEN..], src, group));
    debug_assert!(fits.is_ok(), "{fits:?}");
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv6Addr = Ipv6Addr::new(
        0x2001, 0x44b8, 0x41e1, 0xcc00, 0x843e, 0x7b93, 0xdaa0, 0x6e09,
    );
    const DST: Ipv6Addr = Ipv6Addr::new(
        0x2001, 0x44b8, 0x41e1, 0xcc00, 0xacb0, 0x7653, 0xeabc, 0xc180,
    );

    #[test]
    fn an_advertisement_round_trips_with_a_valid_checksum() {
        let na = NeighborRepr {
            kind: TYPE_NEIGHBOR_ADVERT,
            flags: FLAG_SOLICITED,
            target: SRC,
            link_addr: Some(MacAddr::new(0x90, 0xe2, 0xba, 0x84, 0x48, 0x88)),
        };
        let mut buf = [0u8; 32];
        na.emit(&mut buf, SRC, DST).expect("fits");
        let view = Icmpv6View::new_checked(&buf).expect("header");
        assert_eq!(view.checksum(), view.compute_checksum(SRC, DST));
        assert_eq!(NeighborRepr::parse(&view).expect("NA"), na);
        assert_eq!(buf[24..26], [OPTION_TARGET_LL, 1]);
    }

    #[test]
    fn the_checksum_matches_scapys_for_a_solicitation() {
        // IPv6(src=DST, dst=ff02::1:ffa0:6e09)/ICMPv6ND_NS(tgt=SRC)/
        // ICMPv6NDOptSrcLLAddr(lladdr=00:1b:21:bb:f9:46), as scapy builds it.
        let mcast = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xffa0, 0x6e09);
        let ns = NeighborRepr {
            kind: TYPE_NEIGHBOR_SOLICIT,
            flags: 0,
            target: SRC,
            link_addr: Some(MacAddr::new(0x00, 0x1b, 0x21, 0xbb, 0xf9, 0x46)),
        };
        let mut buf = [0u8; 32];
        ns.emit(&mut buf, DST, mcast).expect("fits");
        assert_eq!(u16::from_be_bytes([buf[2], buf[3]]), 0xf2e3);
    }

    #[test]
    fn an_echo_request_matches_scapys_checksum_and_round_trips() {
        // IPv6(src=SRC, dst=DST)/ICMPv6EchoRequest(id=0x1234, seq=1, data=b"vrsm")
        let mut buf = [0u8; 12];
        buf[8..].copy_from_slice(b"vrsm");
        let echo = Icmpv6Repr {
            payload_len: 4,
            ..Icmpv6Repr::echo_request(0x1234, 1)
        };
        echo.emit(&mut buf, SRC, DST).expect("fits");
        let view = Icmpv6View::new_checked(&buf).expect("header");
        assert_eq!(Icmpv6Repr::parse(&view, SRC, DST).expect("valid"), echo);
        assert_eq!(view.checksum(), 0x86af, "scapy's checksum");
        assert!(
            Icmpv6Repr::parse(&view, SRC, Ipv6Addr::LOCALHOST).is_err(),
            "another pseudo-header"
        );
        assert_eq!(Icmpv6Repr::echo_reply(1, 2).kind, TYPE_ECHO_REPLY);
    }

    #[test]
    fn short_and_foreign_messages_are_errors() {
        assert!(Icmpv6View::new_checked(&[135, 0, 0]).is_err());
        let echo = [TYPE_ECHO_REQUEST, 0, 0, 0, 0, 1, 0, 1];
        let view = Icmpv6View::new_checked(&echo).expect("header");
        assert!(NeighborRepr::parse(&view).is_err());
        let short_ns = [TYPE_NEIGHBOR_SOLICIT, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0x80];
        let view = Icmpv6View::new_checked(&short_ns).expect("header");
        assert!(NeighborRepr::parse(&view).is_err());
        assert!(is_neighbor_discovery(TYPE_REDIRECT));
        assert!(!is_neighbor_discovery(TYPE_ECHO_REPLY));
    }
}
