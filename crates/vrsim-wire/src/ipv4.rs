//! IPv4 (RFC 791): options kept, header checksum verified and filled in,
//! fragments flagged.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |    DSCP   |ECN|          Total Length         |
//! |         Identification        |R|D|M|     Fragment Offset     |
//! |  Time to Live |    Protocol   |         Header Checksum       |
//! |                       Source Address                          |
//! |                    Destination Address                        |
//! |                    Options (IHL > 5)                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::net::Ipv4Addr;

use pnet_packet::ipv4::Ipv4Packet;

use crate::error::{Error, ErrorKind, Layer, Result, need};
use crate::types::{IpProtocol, Options, internet_checksum};

/// Length of a header without options.
pub const MIN_HEADER_LEN: usize = 20;
/// Length of a header with the most options.
pub const MAX_HEADER_LEN: usize = 60;

const FLAG_DF: u8 = 0b010;
const FLAG_MF: u8 = 0b001;

/// A checked view of an IPv4 header and its payload: the version is 4, the
/// header length is between 20 and the bytes that remain, and the total length
/// covers the header and fits the buffer. Bytes after the total length
/// (Ethernet padding) are not part of the payload.
#[derive(Debug)]
pub struct Ipv4View<'a> {
    bytes: &'a [u8],
    /// The fixed header, checked to be whole: the accessors read it without further checks.
    fixed: &'a [u8; MIN_HEADER_LEN],
    packet: Ipv4Packet<'a>,
    header_len: usize,
    total_len: usize,
}

impl<'a> Ipv4View<'a> {
    /// Check `bytes` as described on the type.
    #[inline]
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        let mut v = Ipv4View::header_checked(bytes)?;
        let total_len = usize::from(v.packet.get_total_length());
        if total_len < v.header_len {
            return Err(Error::new(
                Layer::Ipv4,
                ErrorKind::LengthBelowHeader {
                    stated: total_len,
                    header: v.header_len,
                },
            ));
        }
        if total_len > bytes.len() {
            return Err(Error::new(
                Layer::Ipv4,
                ErrorKind::LengthExceedsBuffer {
                    stated: total_len,
                    available: bytes.len(),
                },
            ));
        }
        v.total_len = total_len;
        Ok(v)
    }

    /// Check `bytes` as the datagram an ICMP error quotes (RFC 792: its
    /// header and at least 8 bytes of data): as [`Ipv4View::new_checked`],
    /// except that the datagram may be cut short of its total length, and the
    /// view then covers the bytes that are there.
    pub fn new_quoted(bytes: &'a [u8]) -> Result<Self> {
        let stated = bytes
            .get(2..4)
            .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
        if stated > bytes.len() {
            Ipv4View::header_checked(bytes)
        } else {
            Ipv4View::new_checked(bytes)
        }
    }

    /// The header's checks (whole, version 4, a length within `bytes`); the
    /// view covers all of `bytes`.
    #[inline]
    fn header_checked(bytes: &'a [u8]) -> Result<Self> {
        let err = |kind| Error::new(Layer::Ipv4, kind);
        need(Layer::Ipv4, bytes, MIN_HEADER_LEN)?;
        let packet = Ipv4Packet::new(bytes).ok_or(Error::truncated(
            Layer::Ipv4,
            MIN_HEADER_LEN,
            bytes.len(),
        ))?;
        let version = packet.get_version();
        if version != 4 {
            return Err(err(ErrorKind::Version {
                found: version,
                expected: 4,
            }));
        }
        let header_len = usize::from(packet.get_header_length()) * 4;
        if header_len < MIN_HEADER_LEN {
            return Err(err(ErrorKind::HeaderTooShort {
                stated: header_len,
                minimum: MIN_HEADER_LEN,
            }));
        }
        if header_len > bytes.len() {
            return Err(err(ErrorKind::HeaderLength {
                stated: header_len,
                available: bytes.len(),
            }));
        }
        let fixed = bytes
            .first_chunk::<MIN_HEADER_LEN>()
            .ok_or(Error::truncated(Layer::Ipv4, MIN_HEADER_LEN, bytes.len()))?;
        Ok(Ipv4View {
            bytes,
            fixed,
            packet,
            header_len,
            total_len: bytes.len(),
        })
    }

    /// Header length in bytes (20–60).
    #[inline]
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// Total length in bytes (header and payload).
    #[inline]
    pub fn total_len(&self) -> usize {
        self.total_len
    }

    /// Source address.
    #[inline]
    pub fn src(&self) -> Ipv4Addr {
        let f = self.fixed;
        Ipv4Addr::new(f[12], f[13], f[14], f[15])
    }

    /// Destination address.
    #[inline]
    pub fn dst(&self) -> Ipv4Addr {
        let f = self.fixed;
        Ipv4Addr::new(f[16], f[17], f[18], f[19])
    }

    /// Protocol of the payload.
    #[inline]
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.fixed[9])
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.fixed[8]
    }

    /// The header checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.fixed[10], self.fixed[11]])
    }

    /// The checksum the header should carry.
    #[inline]
    pub fn compute_checksum(&self) -> u16 {
        internet_checksum(self.header(), 5)
    }

    /// Whether the header checksum verifies.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        self.checksum() == self.compute_checksum()
    }

    /// The identification field.
    #[inline]
    pub fn ident(&self) -> u16 {
        u16::from_be_bytes([self.fixed[4], self.fixed[5]])
    }

    /// Whether the don't-fragment flag is set.
    #[inline]
    pub fn dont_fragment(&self) -> bool {
        self.fixed[6] & (FLAG_DF << 5) != 0
    }

    /// Whether this is a fragment (more-fragments set or a non-zero offset).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.packet.get_flags() & FLAG_MF != 0 || self.packet.get_fragment_offset() != 0
    }

    /// The fragment offset, in 8-byte units (0 for a whole packet or the
    /// first fragment).
    #[inline]
    pub fn fragment_offset(&self) -> u16 {
        self.packet.get_fragment_offset()
    }

    /// The header bytes, options included.
    #[inline]
    pub fn header(&self) -> &'a [u8] {
        &self.bytes[..self.header_len]
    }

    /// The payload: the bytes from the end of the header to the total length.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[self.header_len..self.total_len]
    }
}

/// A checked, writable view of an IPv4 header, for the fields a router
/// rewrites in place: the TTL, with the header checksum updated
/// incrementally (RFC 1624). The fixed header is checked to be whole and of
/// version 4 once, then no setter panics.
#[derive(Debug)]
pub struct Ipv4ViewMut<'a> {
    fixed: &'a mut [u8; MIN_HEADER_LEN],
}

impl<'a> Ipv4ViewMut<'a> {
    /// Check that `bytes` starts with a whole fixed IPv4 header.
    #[inline(always)]
    pub fn new_checked(bytes: &'a mut [u8]) -> Result<Self> {
        let available = bytes.len();
        let fixed = bytes
            .first_chunk_mut::<MIN_HEADER_LEN>()
            .ok_or(Error::truncated(Layer::Ipv4, MIN_HEADER_LEN, available))?;
        let version = fixed[0] >> 4;
        if version != 4 {
            return Err(Error::new(
                Layer::Ipv4,
                ErrorKind::Version {
                    found: version,
                    expected: 4,
                },
            ));
        }
        Ok(Ipv4ViewMut { fixed })
    }

    /// Time to live.
    #[inline(always)]
    pub fn ttl(&self) -> u8 {
        self.fixed[8]
    }

    /// The identification field.
    #[inline(always)]
    pub fn ident(&self) -> u16 {
        u16::from_be_bytes([self.fixed[4], self.fixed[5]])
    }

    /// Whether the don't-fragment flag is set.
    #[inline(always)]
    pub fn dont_fragment(&self) -> bool {
        self.fixed[6] & (FLAG_DF << 5) != 0
    }

    /// Decrement the TTL by one, patching the checksum for it (RFC 1624 eqn.
    /// 3 with the TTL/protocol word lowered by 0x0100); `None` and nothing
    /// written when the TTL is already 0.
    #[inline(always)]
    pub fn decrement_ttl(&mut self) -> Option<u8> {
        let f = &mut *self.fixed;
        let ttl = f[8].checked_sub(1)?;
        f[8] = ttl;
        // ~m + m' is 0xfeff for m' = m - 0x0100.
        let old_sum = u16::from_be_bytes([f[10], f[11]]);
        let sum = u32::from(!old_sum) + 0xfeff;
        let folded = (sum & 0xffff) + (sum >> 16);
        let new_sum = !((folded & 0xffff) + (folded >> 16)) as u16;
        f[10..12].copy_from_slice(&new_sum.to_be_bytes());
        Some(ttl)
    }

    /// Write the TTL and patch the header checksum for the change (RFC 1624
    /// eqn. 3, `HC' = ~(~HC + ~m + m')`, over the TTL/protocol word), so a
    /// header whose checksum was right stays right without summing it again.
    #[inline(always)]
    pub fn set_ttl(&mut self, ttl: u8) {
        let f = &mut *self.fixed;
        let old_word = u16::from_be_bytes([f[8], f[9]]);
        let new_word = u16::from_be_bytes([ttl, f[9]]);
        f[8] = ttl;
        let old_sum = u16::from_be_bytes([f[10], f[11]]);
        let sum = u32::from(!old_sum) + u32::from(!old_word) + u32::from(new_word);
        let folded = (sum & 0xffff) + (sum >> 16);
        let new_sum = !((folded & 0xffff) + (folded >> 16)) as u16;
        f[10..12].copy_from_slice(&new_sum.to_be_bytes());
    }
}

/// An IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: IpProtocol,
    /// Time to live.
    pub ttl: u8,
    /// Differentiated services code point (6 bits).
    pub dscp: u8,
    /// Explicit congestion notification (2 bits).
    pub ecn: u8,
    /// Identification.
    pub ident: u16,
    /// Don't fragment.
    pub dont_frag: bool,
    /// More fragments.
    pub more_frags: bool,
    /// Fragment offset in units of 8 bytes (13 bits).
    pub frag_offset: u16,
    /// Options, a multiple of 4 bytes.
    pub options: Options,
    /// Length of the payload in bytes.
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// A header with TTL 64, no options, not fragmented, DF clear.
    #[inline]
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, payload_len: usize) -> Self {
        Ipv4Repr {
            src,
            dst,
            protocol,
            ttl: 64,
            dscp: 0,
            ecn: 0,
            ident: 0,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
            options: Options::none(),
            payload_len,
        }
    }

    /// Read the header from a checked view, verifying the header checksum.
    #[inline]
    pub fn parse(view: &Ipv4View<'_>) -> Result<Self> {
        if !view.verify_checksum() {
            return Err(Error::new(
                Layer::Ipv4,
                ErrorKind::Checksum {
                    found: view.checksum(),
                    expected: view.compute_checksum(),
                },
            ));
        }
        let p = &view.packet;
        let flags = p.get_flags();
        let options = Options::from_bytes(&view.header()[MIN_HEADER_LEN..])
            .unwrap_or_else(|| unreachable!("the checked header length is 20 + 4n, n <= 10"));
        Ok(Ipv4Repr {
            src: p.get_source(),
            dst: p.get_destination(),
            protocol: view.protocol(),
            ttl: p.get_ttl(),
            dscp: p.get_dscp(),
            ecn: p.get_ecn(),
            ident: p.get_identification(),
            dont_frag: flags & FLAG_DF != 0,
            more_frags: flags & FLAG_MF != 0,
            frag_offset: p.get_fragment_offset(),
            options,
            payload_len: view.payload().len(),
        })
    }

    /// Whether this header describes a fragment.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.more_frags || self.frag_offset != 0
    }

    /// Length of the header, options included.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        MIN_HEADER_LEN + self.options.len()
    }

    /// Header and payload length, the value of the total-length field.
    #[inline]
    pub fn total_len(&self) -> usize {
        self.buffer_len() + self.payload_len
    }

    /// Write the header, with its checksum, into the first
    /// [`buffer_len`](Self::buffer_len) bytes of `buf`. The payload is not written.
    #[inline(always)]
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let header_len = self.buffer_len();
        let total = u16::try_from(self.total_len()).map_err(|_| {
            Error::new(
                Layer::Ipv4,
                ErrorKind::FieldOverflow {
                    what: "total length",
                    value: self.total_len(),
                    max: 65535,
                },
            )
        })?;
        let available = buf.len();
        let header = buf.get_mut(..header_len).ok_or(Error::buffer_too_small(
            Layer::Ipv4,
            header_len,
            available,
        ))?;
        // Written byte by byte (RFC 791 §3.1): the vRouter emits one of these
        // per tunnelled packet, and pnet's bit-field setters cost several
        // times more.
        let flags =
            if self.dont_frag { FLAG_DF } else { 0 } | if self.more_frags { FLAG_MF } else { 0 };
        let flags_frag = (u16::from(flags) << 13) | (self.frag_offset & 0x1fff);
        // At most 60 bytes, so IHL fits its 4 bits.
        header[0] = 0x40 | (header_len / 4) as u8;
        header[1] = ((self.dscp & 0x3f) << 2) | (self.ecn & 0x3);
        header[2..4].copy_from_slice(&total.to_be_bytes());
        header[4..6].copy_from_slice(&self.ident.to_be_bytes());
        header[6..8].copy_from_slice(&flags_frag.to_be_bytes());
        header[8] = self.ttl;
        header[9] = self.protocol.value();
        header[10..12].copy_from_slice(&[0, 0]);
        header[12..16].copy_from_slice(&self.src.octets());
        header[16..20].copy_from_slice(&self.dst.octets());
        let header = &mut buf[..header_len];
        header[MIN_HEADER_LEN..].copy_from_slice(self.options.as_bytes());
        let sum = internet_checksum(header, 5);
        header[10..12].copy_from_slice(&sum.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gateway's outer header towards compute01: 10.0.0.1 -> 10.0.0.21, GRE,
    /// 92 bytes in all, TTL 64, DF.
    const OUTER: [u8; 20] = [
        0x45, 0x00, 0x00, 0x5c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x2f, 0x26, 0x5e, 10, 0, 0, 1, 10, 0,
        0, 21,
    ];

    fn outer() -> Ipv4Repr {
        Ipv4Repr {
            dont_frag: true,
            ..Ipv4Repr::new(
                Ipv4Addr::new(10, 0, 0, 1),
                Ipv4Addr::new(10, 0, 0, 21),
                IpProtocol::Gre,
                72,
            )
        }
    }

    fn with_payload(header: &[u8], payload_len: usize) -> Vec<u8> {
        let mut v = header.to_vec();
        v.resize(header.len() + payload_len, 0);
        v
    }

    #[test]
    fn both_ways() {
        let bytes = with_payload(&OUTER, 72);
        let view = Ipv4View::new_checked(&bytes).unwrap();
        assert_eq!(Ipv4Repr::parse(&view).unwrap(), outer());
        let mut buf = [0u8; 20];
        outer().emit(&mut buf).unwrap();
        assert_eq!(buf, OUTER);
    }

    #[test]
    fn every_truncation() {
        for len in 0..MIN_HEADER_LEN {
            assert_eq!(
                Ipv4View::new_checked(&OUTER[..len]).unwrap_err(),
                Error::new(
                    Layer::Ipv4,
                    ErrorKind::Truncated {
                        needed: 20,
                        available: len
                    }
                )
            );
        }
        // The header is whole but the total length (92) is not there.
        for len in MIN_HEADER_LEN..92 {
            let bytes = with_payload(&OUTER, 72);
            assert_eq!(
                Ipv4View::new_checked(&bytes[..len]).unwrap_err().kind,
                ErrorKind::LengthExceedsBuffer {
                    stated: 92,
                    available: len
                }
            );
        }
    }

    #[test]
    fn header_length_beyond_buffer_names_offset() {
        let mut bytes = OUTER;
        bytes[0] = 0x4f; // IHL 15 = 60 bytes
        let err = Ipv4View::new_checked(&bytes).unwrap_err().at(18);
        assert_eq!(
            err.to_string(),
            "ipv4 at offset 18: header length 60 exceeds 20 remaining bytes"
        );
    }

    #[test]
    fn bad_fields() {
        let bytes = with_payload(&OUTER, 72);
        let mut b = bytes.clone();
        b[0] = 0x65;
        assert_eq!(
            Ipv4View::new_checked(&b).unwrap_err().kind,
            ErrorKind::Version {
                found: 6,
                expected: 4
            }
        );
        let mut b = bytes.clone();
        b[0] = 0x44;
        assert_eq!(
            Ipv4View::new_checked(&b).unwrap_err().kind,
            ErrorKind::HeaderTooShort {
                stated: 16,
                minimum: 20
            }
        );
        let mut b = bytes.clone();
        b[3] = 19;
        b[2] = 0;
        assert_eq!(
            Ipv4View::new_checked(&b).unwrap_err().kind,
            ErrorKind::LengthBelowHeader {
                stated: 19,
                header: 20
            }
        );
        let mut b = bytes.clone();
        b[11] ^= 1;
        let view = Ipv4View::new_checked(&b).unwrap();
        assert_eq!(
            Ipv4Repr::parse(&view).unwrap_err().kind,
            ErrorKind::Checksum {
                found: 0x265f,
                expected: 0x265e
            }
        );
    }

    #[test]
    fn options_and_fragments_round_trip() {
        let repr = Ipv4Repr {
            more_frags: true,
            frag_offset: 185,
            ident: 0xbeef,
            options: Options::from_bytes(&[0x94, 0x04, 0x00, 0x00]).unwrap(), // router alert
            ..outer()
        };
        assert!(repr.is_fragment());
        let mut bytes = vec![0u8; repr.total_len()];
        repr.emit(&mut bytes).unwrap();
        let view = Ipv4View::new_checked(&bytes).unwrap();
        assert!(view.is_fragment());
        assert_eq!(view.header_len(), 24);
        assert_eq!(Ipv4Repr::parse(&view).unwrap(), repr);
    }

    #[test]
    fn padding_is_not_payload() {
        let mut bytes = with_payload(&OUTER, 72);
        bytes.extend_from_slice(&[0xee; 6]);
        assert_eq!(Ipv4View::new_checked(&bytes).unwrap().payload().len(), 72);
    }

    #[test]
    fn oversize_payload_is_an_error() {
        let repr = Ipv4Repr {
            payload_len: 65536,
            ..outer()
        };
        assert!(matches!(
            repr.emit(&mut [0u8; 20]).unwrap_err().kind,
            ErrorKind::FieldOverflow {
                what: "total length",
                ..
            }
        ));
    }

    fn header(ttl: u8) -> Vec<u8> {
        let repr = Ipv4Repr {
            ttl,
            ident: 0x1234,
            dont_frag: true,
            ..Ipv4Repr::new(
                Ipv4Addr::new(10, 0, 0, 1),
                Ipv4Addr::new(10, 0, 0, 21),
                IpProtocol::Udp,
                0,
            )
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut buf).expect("fits");
        buf
    }

    #[test]
    fn ttl_setters_patch_the_checksum_as_a_full_sum_would() {
        for ttl in [1u8, 2, 64, 128, 255] {
            let mut buf = header(ttl);
            let mut v = Ipv4ViewMut::new_checked(&mut buf).expect("ipv4");
            assert_eq!((v.ident(), v.dont_fragment()), (0x1234, true));
            assert_eq!(v.decrement_ttl(), Some(ttl - 1));
            let view = Ipv4View::new_checked(&buf).expect("still ipv4");
            assert_eq!(view.ttl(), ttl - 1);
            assert!(view.verify_checksum(), "ttl {ttl}");
            let mut buf = header(ttl);
            Ipv4ViewMut::new_checked(&mut buf).expect("ipv4").set_ttl(7);
            assert!(Ipv4View::new_checked(&buf).expect("ipv4").verify_checksum());
        }
        let mut zero = header(0);
        let before = zero.clone();
        assert_eq!(
            Ipv4ViewMut::new_checked(&mut zero)
                .expect("ipv4")
                .decrement_ttl(),
            None
        );
        assert_eq!(zero, before);
    }

    #[test]
    fn the_writable_view_checks_length_and_version() {
        let mut short = [0x45u8; 19];
        assert!(Ipv4ViewMut::new_checked(&mut short).is_err());
        let mut v6 = header(64);
        v6[0] = 0x65;
        let err = Ipv4ViewMut::new_checked(&mut v6).expect_err("version 6");
        assert!(matches!(
            err.kind,
            ErrorKind::Version {
                found: 6,
                expected: 4
            }
        ));
    }
}
