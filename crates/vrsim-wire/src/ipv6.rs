//! IPv6 (RFC 8200): the fixed header, and extension headers walked to the
//! upper-layer protocol.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Traffic Class |           Flow Label                  |
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! |                  Source Address (16 bytes)                    |
//! |               Destination Address (16 bytes)                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! Extension header (hop-by-hop, routing, destination options):
//! |  Next Header  |  Hdr Ext Len  |  (Hdr Ext Len + 1) * 8 bytes  |
//! ```

use std::net::Ipv6Addr;

use pnet_packet::ip::IpNextHeaderProtocol;
use pnet_packet::ipv6::{Ipv6Packet, MutableIpv6Packet};

use crate::error::{Error, ErrorKind, Layer, Result, need};
use crate::types::IpProtocol;

/// Length of the fixed header.
pub const HEADER_LEN: usize = 40;
/// The most extension headers [`ExtHeader::parse`] callers follow in one packet.
pub const MAX_EXTENSION_HEADERS: usize = 8;

/// A checked view of an IPv6 fixed header and its payload: the version is 6
/// and the payload length fits the buffer.
#[derive(Debug)]
pub struct Ipv6View<'a> {
    bytes: &'a [u8],
    packet: Ipv6Packet<'a>,
    payload_len: usize,
}

impl<'a> Ipv6View<'a> {
    /// Check `bytes` as described on the type.
    #[inline]
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        need(Layer::Ipv6, bytes, HEADER_LEN)?;
        let packet =
            Ipv6Packet::new(bytes).ok_or(Error::truncated(Layer::Ipv6, HEADER_LEN, bytes.len()))?;
        let version = packet.get_version();
        if version != 6 {
            return Err(Error::new(
                Layer::Ipv6,
                ErrorKind::Version {
                    found: version,
                    expected: 6,
                },
            ));
        }
        let payload_len = usize::from(packet.get_payload_length());
        if HEADER_LEN + payload_len > bytes.len() {
            return Err(Error::new(
                Layer::Ipv6,
                ErrorKind::LengthExceedsBuffer {
                    stated: payload_len,
                    available: bytes.len() - HEADER_LEN,
                },
            ));
        }
        Ok(Ipv6View {
            bytes,
            packet,
            payload_len,
        })
    }

    /// Check `bytes` as the packet an ICMPv6 error quotes (RFC 4443: as
    /// much of it as fits): as [`Ipv6View::new_checked`], except that the
    /// packet may be cut short of its payload length, and the payload then
    /// covers the bytes that are there.
    pub fn new_quoted(bytes: &'a [u8]) -> Result<Self> {
        match Ipv6View::new_checked(bytes) {
            Err(Error {
                kind: ErrorKind::LengthExceedsBuffer { available, .. },
                ..
            }) => {
                // The fixed header is whole and of version 6: only the length fell short.
                let packet = Ipv6Packet::new(bytes).ok_or(Error::truncated(
                    Layer::Ipv6,
                    HEADER_LEN,
                    bytes.len(),
                ))?;
                Ok(Ipv6View {
                    bytes,
                    packet,
                    payload_len: available,
                })
            }
            other => other,
        }
    }

    /// Source address. (Read as one 16-byte array: pnet's accessor reads
    /// eight 16-bit words, 5 times the instructions on the fast path.)
    #[inline]
    pub fn src(&self) -> Ipv6Addr {
        address(self.bytes, 8)
    }

    /// Destination address.
    #[inline]
    pub fn dst(&self) -> Ipv6Addr {
        address(self.bytes, 24)
    }

    /// The next-header field of the fixed header.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.packet.get_next_header().0)
    }

    /// Hop limit.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.packet.get_hop_limit()
    }

    /// The payload (extension headers included), as long as the payload-length field says.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[HEADER_LEN..HEADER_LEN + self.payload_len]
    }
}

/// The address at `at` of a checked fixed header (`at + 16 <= 40`).
#[inline(always)]
fn address(header: &[u8], at: usize) -> Ipv6Addr {
    let mut a = [0u8; 16];
    if let Some(b) = header.get(at..at + 16) {
        a.copy_from_slice(b);
    }
    Ipv6Addr::from(a)
}

/// An IPv6 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Repr {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// The next-header field (an extension header or the upper layer).
    pub next_header: IpProtocol,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    /// Length of the payload in bytes, extension headers included.
    pub payload_len: usize,
}

impl Ipv6Repr {
    /// A header with hop limit 64, traffic class 0 and flow label 0.
    #[inline]
    pub fn new(src: Ipv6Addr, dst: Ipv6Addr, next_header: IpProtocol, payload_len: usize) -> Self {
        Ipv6Repr {
            src,
            dst,
            next_header,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
            payload_len,
        }
    }

    /// Read the header from a checked view.
    #[inline]
    pub fn parse(view: &Ipv6View<'_>) -> Result<Self> {
        let p = &view.packet;
        Ok(Ipv6Repr {
            src: p.get_source(),
            dst: p.get_destination(),
            next_header: view.next_header(),
            hop_limit: p.get_hop_limit(),
            traffic_class: p.get_traffic_class(),
            flow_label: p.get_flow_label(),
            payload_len: view.payload_len,
        })
    }

    /// Length of the fixed header.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the fixed header into the first 40 bytes of `buf`. The payload is not written.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let len = u16::try_from(self.payload_len).map_err(|_| {
            Error::new(
                Layer::Ipv6,
                ErrorKind::FieldOverflow {
                    what: "payload length",
                    value: self.payload_len,
                    max: 65535,
                },
            )
        })?;
        let available = buf.len();
        let mut p = buf
            .get_mut(..HEADER_LEN)
            .and_then(MutableIpv6Packet::new)
            .ok_or(Error::buffer_too_small(Layer::Ipv6, HEADER_LEN, available))?;
        p.set_version(6);
        p.set_traffic_class(self.traffic_class);
        p.set_flow_label(self.flow_label & 0xf_ffff);
        p.set_payload_length(len);
        p.set_next_header(IpNextHeaderProtocol(self.next_header.value()));
        p.set_hop_limit(self.hop_limit);
        p.set_source(self.src);
        p.set_destination(self.dst);
        Ok(())
    }
}

/// One IPv6 extension header, as the dissector reports and skips it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtHeader {
    /// Which extension header this is.
    pub kind: IpProtocol,
    /// The protocol after it.
    pub next_header: IpProtocol,
    /// Its length in bytes.
    pub len: usize,
    /// For a fragment header: the offset in 8-byte units and the M flag.
    pub fragment: Option<(u16, bool)>,
}

impl ExtHeader {
    /// Whether `proto` names an extension header this parser walks over:
    /// hop-by-hop, routing, fragment, destination options and AH. ESP is not
    /// walked (its contents are encrypted).
    #[inline]
    pub fn is_extension(proto: IpProtocol) -> bool {
        matches!(
            proto,
            IpProtocol::HopByHop
                | IpProtocol::Ipv6Route
                | IpProtocol::Ipv6Frag
                | IpProtocol::Ipv6Opts
                | IpProtocol::Ah
        )
    }

    /// Parse the extension header of kind `kind` at the start of `bytes`.
    #[inline]
    pub fn parse(kind: IpProtocol, bytes: &[u8]) -> Result<Self> {
        need(Layer::Ipv6Ext, bytes, 8)?;
        let next_header = IpProtocol::from(bytes[0]);
        let len = match kind {
            IpProtocol::Ipv6Frag => 8,
            // RFC 4302: the length is in 4-byte units, minus 2.
            IpProtocol::Ah => (usize::from(bytes[1]) + 2) * 4,
            _ => (usize::from(bytes[1]) + 1) * 8,
        };
        if len > bytes.len() {
            return Err(Error::new(
                Layer::Ipv6Ext,
                ErrorKind::HeaderLength {
                    stated: len,
                    available: bytes.len(),
                },
            ));
        }
        let fragment = (kind == IpProtocol::Ipv6Frag).then(|| {
            let word = u16::from_be_bytes([bytes[2], bytes[3]]);
            (word >> 3, word & 1 != 0)
        });
        Ok(ExtHeader {
            kind,
            next_header,
            len,
            fragment,
        })
    }

    /// Length of the header.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        self.len
    }

    /// Write the header into the first [`buffer_len`](Self::buffer_len) bytes
    /// of `buf`: the next header, the length, zero option bytes (Pad1 options)
    /// and, for a fragment header, the offset and M flag. Fails when `len`
    /// cannot be expressed for this kind.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let len_field = match self.kind {
            IpProtocol::Ipv6Frag if self.len == 8 => Some(0),
            IpProtocol::Ah if self.len.is_multiple_of(4) => (self.len / 4).checked_sub(2),
            IpProtocol::Ipv6Frag | IpProtocol::Ah => None,
            _ if self.len.is_multiple_of(8) => (self.len / 8).checked_sub(1),
            _ => None,
        };
        let len_field = len_field
            .and_then(|v| u8::try_from(v).ok())
            .ok_or(Error::new(
                Layer::Ipv6Ext,
                ErrorKind::FieldOverflow {
                    what: "extension header length",
                    value: self.len,
                    max: 2048,
                },
            ))?;
        let available = buf.len();
        let h = buf.get_mut(..self.len).ok_or(Error::buffer_too_small(
            Layer::Ipv6Ext,
            self.len,
            available,
        ))?;
        h.fill(0);
        h[0] = self.next_header.value();
        h[1] = len_field;
        if let Some((offset, more)) = self.fragment {
            let word = (offset & 0x1fff) << 3 | u16::from(more);
            h[2..4].copy_from_slice(&word.to_be_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> [u8; 40] {
        let mut h = [0u8; 40];
        h[..8].copy_from_slice(&[0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 17, 64]);
        h[8..24].copy_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        h[24..40].copy_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        h
    }

    fn repr() -> Ipv6Repr {
        Ipv6Repr::new(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
            IpProtocol::Udp,
            8,
        )
    }

    #[test]
    fn both_ways() {
        let mut bytes = header().to_vec();
        bytes.extend_from_slice(&[0; 8]);
        assert_eq!(
            Ipv6Repr::parse(&Ipv6View::new_checked(&bytes).unwrap()).unwrap(),
            repr()
        );
        let mut buf = [0u8; 40];
        repr().emit(&mut buf).unwrap();
        assert_eq!(buf, header());
    }

    #[test]
    fn every_truncation() {
        let h = header();
        for len in 0..HEADER_LEN {
            assert_eq!(
                Ipv6View::new_checked(&h[..len]).unwrap_err().kind,
                ErrorKind::Truncated {
                    needed: 40,
                    available: len
                }
            );
        }
        assert_eq!(
            Ipv6View::new_checked(&h).unwrap_err().kind,
            ErrorKind::LengthExceedsBuffer {
                stated: 8,
                available: 0
            }
        );
    }

    #[test]
    fn extension_headers() {
        let hbh = [17, 0, 1, 4, 0, 0, 0, 0];
        let e = ExtHeader::parse(IpProtocol::HopByHop, &hbh).unwrap();
        assert_eq!(
            (e.next_header, e.len, e.fragment),
            (IpProtocol::Udp, 8, None)
        );
        let frag = [6, 0, 0x05, 0x01, 0, 0, 0, 1];
        let e = ExtHeader::parse(IpProtocol::Ipv6Frag, &frag).unwrap();
        assert_eq!(e.fragment, Some((160, true)));
        let long = [17, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            ExtHeader::parse(IpProtocol::Ipv6Opts, &long)
                .unwrap_err()
                .kind,
            ErrorKind::HeaderLength {
                stated: 16,
                available: 8
            }
        );
        let mut buf = [0xffu8; 8];
        e.emit(&mut buf).unwrap();
        assert_eq!(ExtHeader::parse(IpProtocol::Ipv6Frag, &buf).unwrap(), e);
        let odd = ExtHeader {
            kind: IpProtocol::Ipv6Opts,
            next_header: IpProtocol::Udp,
            len: 12,
            fragment: None,
        };
        assert!(matches!(
            odd.emit(&mut [0u8; 16]).unwrap_err().kind,
            ErrorKind::FieldOverflow { .. }
        ));
        for len in 0..8 {
            assert_eq!(
                ExtHeader::parse(IpProtocol::HopByHop, &hbh[..len])
                    .unwrap_err()
                    .kind,
                ErrorKind::Truncated {
                    needed: 8,
                    available: len
                }
            );
        }
    }
}
