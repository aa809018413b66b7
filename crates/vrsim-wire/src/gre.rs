//! GRE (RFC 2784, with the key and sequence number extensions of RFC 2890),
//! the outer encapsulation of MPLSoGRE (RFC 4023, protocol 0x8847).
//!
//! Written by hand rather than on pnet's GRE parser, which panics when the
//! routing-present bit is set. Here that bit, a version other than 0 and the
//! reserved bits are errors; the vRouter leaves such packets unhandled
//! (`vr_gre_input`).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |C|R|K|S| Reserved0       | Ver |         Protocol Type         |
//! |      Checksum (optional)      |       Reserved1 (optional)    |
//! |                         Key (optional)                        |
//! |                 Sequence Number (optional)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::error::{Error, ErrorKind, Layer, Result, need};
use crate::types::{EtherType, be16, be32, internet_checksum};

/// Length of the base header (flags, version, protocol).
pub const BASE_LEN: usize = 4;

mod field {
    pub(super) const C: u16 = 0x8000;
    pub(super) const R: u16 = 0x4000;
    pub(super) const K: u16 = 0x2000;
    pub(super) const S: u16 = 0x1000;
    /// Strict source route, recursion control and the other reserved bits.
    pub(super) const RESERVED: u16 = 0x0ff8;
    pub(super) const VERSION: u16 = 0x0007;
}

/// A checked view of a GRE header and its payload: version 0, no routing,
/// no reserved bits, and the optional fields the flags announce are present.
/// The view covers all of `bytes` (exactly the IP payload).
#[derive(Debug)]
pub struct GreView<'a> {
    bytes: &'a [u8],
    flags: u16,
    header_len: usize,
}

impl<'a> GreView<'a> {
    /// Check `bytes` as described on the type.
    #[inline]
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        need(Layer::Gre, bytes, BASE_LEN)?;
        let flags = be16(bytes, 0);
        if flags & field::R != 0 {
            return Err(Error::new(Layer::Gre, ErrorKind::GreRouting { flags }));
        }
        let version = (flags & field::VERSION) as u8;
        if version != 0 {
            return Err(Error::new(
                Layer::Gre,
                ErrorKind::Version {
                    found: version,
                    expected: 0,
                },
            ));
        }
        if flags & field::RESERVED != 0 {
            return Err(Error::new(Layer::Gre, ErrorKind::GreReserved { flags }));
        }
        let header_len = BASE_LEN
            + [field::C, field::K, field::S]
                .iter()
                .filter(|&&bit| flags & bit != 0)
                .count()
                * 4;
        need(Layer::Gre, bytes, header_len)?;
        Ok(GreView {
            bytes,
            flags,
            header_len,
        })
    }

    /// The protocol type of the payload.
    #[inline]
    pub fn protocol(&self) -> EtherType {
        EtherType::from(be16(self.bytes, 2))
    }

    /// Header length in bytes (4 to 16).
    #[inline]
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// Whether a checksum is present (C bit).
    #[inline]
    pub fn has_checksum(&self) -> bool {
        self.flags & field::C != 0
    }

    /// The checksum field, if present.
    #[inline]
    pub fn checksum(&self) -> Option<u16> {
        self.has_checksum().then(|| be16(self.bytes, 4))
    }

    /// The checksum the packet should carry, over header and payload.
    #[inline]
    pub fn compute_checksum(&self) -> u16 {
        internet_checksum(self.bytes, 2)
    }

    fn optional_at(&self, bit: u16) -> Option<usize> {
        if self.flags & bit == 0 {
            return None;
        }
        let before = [field::C, field::K, field::S]
            .iter()
            .take_while(|&&b| b != bit)
            .filter(|&&b| self.flags & b != 0)
            .count();
        Some(BASE_LEN + before * 4)
    }

    /// The key (K bit), if present.
    #[inline]
    pub fn key(&self) -> Option<u32> {
        self.optional_at(field::K).map(|at| be32(self.bytes, at))
    }

    /// The sequence number (S bit), if present.
    #[inline]
    pub fn sequence(&self) -> Option<u32> {
        self.optional_at(field::S).map(|at| be32(self.bytes, at))
    }

    /// The bytes after the header.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[self.header_len..]
    }
}

/// A GRE header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GreRepr {
    /// The protocol type of the payload (0x8847 for MPLS).
    pub protocol: EtherType,
    /// Whether the header carries a checksum (C bit).
    pub checksum: bool,
    /// The key (K bit, RFC 2890).
    pub key: Option<u32>,
    /// The sequence number (S bit, RFC 2890).
    pub sequence: Option<u32>,
    /// Length of the payload.
    pub payload_len: usize,
}

impl GreRepr {
    /// A plain 4-byte header for `protocol`.
    #[inline]
    pub const fn new(protocol: EtherType, payload_len: usize) -> Self {
        GreRepr {
            protocol,
            checksum: false,
            key: None,
            sequence: None,
            payload_len,
        }
    }

    /// Read the header from a checked view, verifying the checksum if present.
    #[inline]
    pub fn parse(view: &GreView<'_>) -> Result<Self> {
        if let Some(found) = view.checksum() {
            let expected = view.compute_checksum();
            if found != expected {
                return Err(Error::new(
                    Layer::Gre,
                    ErrorKind::Checksum { found, expected },
                ));
            }
        }
        Ok(GreRepr {
            protocol: view.protocol(),
            checksum: view.has_checksum(),
            key: view.key(),
            sequence: view.sequence(),
            payload_len: view.payload().len(),
        })
    }

    /// Length of the header.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        BASE_LEN
            + 4 * (usize::from(self.checksum)
                + usize::from(self.key.is_some())
                + usize::from(self.sequence.is_some()))
    }

    /// Write the header into `buf`, whose bytes after the header must already
    /// hold the payload when a checksum is asked for.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let header_len = self.buffer_len();
        let total = header_len + self.payload_len;
        let needed = if self.checksum { total } else { header_len };
        let available = buf.len();
        let h =
            buf.get_mut(..needed)
                .ok_or(Error::buffer_too_small(Layer::Gre, needed, available))?;
        let mut flags = 0;
        let mut at = BASE_LEN;
        if self.checksum {
            flags |= field::C;
            h[at..at + 4].fill(0);
            at += 4;
        }
        if let Some(key) = self.key {
            flags |= field::K;
            h[at..at + 4].copy_from_slice(&key.to_be_bytes());
            at += 4;
        }
        if let Some(seq) = self.sequence {
            flags |= field::S;
            h[at..at + 4].copy_from_slice(&seq.to_be_bytes());
        }
        h[0..2].copy_from_slice(&flags.to_be_bytes());
        h[2..4].copy_from_slice(&self.protocol.value().to_be_bytes());
        if self.checksum {
            let sum = internet_checksum(h, 2);
            h[4..6].copy_from_slice(&sum.to_be_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MPLSoGRE as the gateway sends it: no options, protocol 0x8847, then label 35.
    const PLAIN: [u8; 8] = [0x00, 0x00, 0x88, 0x47, 0x00, 0x02, 0x31, 0x40];

    #[test]
    fn plain_both_ways() {
        let view = GreView::new_checked(&PLAIN).unwrap();
        let repr = GreRepr::new(EtherType::Mpls, 4);
        assert_eq!(GreRepr::parse(&view).unwrap(), repr);
        assert_eq!(view.payload(), &PLAIN[4..]);
        let mut buf = [0u8; 4];
        repr.emit(&mut buf).unwrap();
        assert_eq!(buf, PLAIN[..4]);
    }

    #[test]
    fn key_sequence_checksum_both_ways() {
        let repr = GreRepr {
            protocol: EtherType::Mpls,
            checksum: true,
            key: Some(0x0102_0304),
            sequence: Some(7),
            payload_len: 4,
        };
        let mut buf = [0u8; 20];
        buf[16..].copy_from_slice(&PLAIN[4..]);
        repr.emit(&mut buf).unwrap();
        assert_eq!(&buf[..4], &[0xb0, 0x00, 0x88, 0x47]);
        assert_eq!(&buf[8..16], &[1, 2, 3, 4, 0, 0, 0, 7]);
        let view = GreView::new_checked(&buf).unwrap();
        assert_eq!(view.header_len(), 16);
        assert_eq!(GreRepr::parse(&view).unwrap(), repr);
        buf[19] ^= 0xff;
        assert!(matches!(
            GreRepr::parse(&GreView::new_checked(&buf).unwrap())
                .unwrap_err()
                .kind,
            ErrorKind::Checksum { .. }
        ));
    }

    #[test]
    fn key_only_is_at_offset_4() {
        let bytes = [0x20, 0x00, 0x88, 0x47, 0, 0, 0, 9];
        let view = GreView::new_checked(&bytes).unwrap();
        assert_eq!(
            (view.key(), view.sequence(), view.checksum()),
            (Some(9), None, None)
        );
    }

    #[test]
    fn every_truncation() {
        for len in 0..BASE_LEN {
            assert_eq!(
                GreView::new_checked(&PLAIN[..len]).unwrap_err().kind,
                ErrorKind::Truncated {
                    needed: 4,
                    available: len
                }
            );
        }
        let csum_key_seq = [0xb0, 0x00, 0x88, 0x47, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2];
        for len in BASE_LEN..16 {
            assert_eq!(
                GreView::new_checked(&csum_key_seq[..len]).unwrap_err().kind,
                ErrorKind::Truncated {
                    needed: 16,
                    available: len
                }
            );
        }
    }

    #[test]
    fn routing_version_and_reserved_bits_are_errors() {
        let mut b = PLAIN;
        b[0] = 0x40;
        assert_eq!(
            GreView::new_checked(&b).unwrap_err().kind,
            ErrorKind::GreRouting { flags: 0x4000 }
        );
        let mut b = PLAIN;
        b[1] = 0x01;
        assert_eq!(
            GreView::new_checked(&b).unwrap_err().kind,
            ErrorKind::Version {
                found: 1,
                expected: 0
            }
        );
        let mut b = PLAIN;
        b[0] = 0x08;
        assert_eq!(
            GreView::new_checked(&b).unwrap_err().kind,
            ErrorKind::GreReserved { flags: 0x0800 }
        );
    }
}
