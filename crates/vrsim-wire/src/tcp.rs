//! A minimal TCP header (RFC 9293): ports, sequence numbers, flags, window,
//! options kept raw, the data offset checked against the buffer, and the
//! pseudo-header checksum.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! |                        Sequence Number                        |
//! |                    Acknowledgment Number                      |
//! |  Data |     |N|C|E|U|A|P|R|S|F|                               |
//! | Offset| Rsv |S|W|C|R|C|S|S|Y|I|            Window             |
//! |           Checksum            |         Urgent Pointer        |
//! |                    Options (data offset > 5)                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::error::{Error, ErrorKind, Layer, Result, need};
use crate::types::{IpPair, IpProtocol, Options, be16, be32};

/// Length of a header without options.
pub const MIN_HEADER_LEN: usize = 20;

/// TCP flag bits as they sit in the low 9 bits of the offset/flags word.
pub mod flags {
    /// FIN.
    pub const FIN: u16 = 0x001;
    /// SYN.
    pub const SYN: u16 = 0x002;
    /// RST.
    pub const RST: u16 = 0x004;
    /// PSH.
    pub const PSH: u16 = 0x008;
    /// ACK.
    pub const ACK: u16 = 0x010;
    /// URG.
    pub const URG: u16 = 0x020;
    /// ECE.
    pub const ECE: u16 = 0x040;
    /// CWR.
    pub const CWR: u16 = 0x080;
    /// NS (RFC 3540, historic).
    pub const NS: u16 = 0x100;
}

/// A checked view of a TCP segment: the data offset is at least 5 words and
/// the header it states fits the buffer. The view covers all of `bytes`.
#[derive(Debug)]
pub struct TcpView<'a> {
    bytes: &'a [u8],
    header_len: usize,
}

impl<'a> TcpView<'a> {
    /// Check `bytes` (exactly the IP payload) as described on the type.
    #[inline]
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        need(Layer::Tcp, bytes, MIN_HEADER_LEN)?;
        let header_len = usize::from(bytes[12] >> 4) * 4;
        if header_len < MIN_HEADER_LEN {
            return Err(Error::new(
                Layer::Tcp,
                ErrorKind::HeaderTooShort {
                    stated: header_len,
                    minimum: MIN_HEADER_LEN,
                },
            ));
        }
        if header_len > bytes.len() {
            return Err(Error::new(
                Layer::Tcp,
                ErrorKind::HeaderLength {
                    stated: header_len,
                    available: bytes.len(),
                },
            ));
        }
        Ok(TcpView { bytes, header_len })
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        be16(self.bytes, 0)
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        be16(self.bytes, 2)
    }

    /// Sequence number.
    #[inline]
    pub fn seq(&self) -> u32 {
        be32(self.bytes, 4)
    }

    /// Acknowledgment number.
    #[inline]
    pub fn ack(&self) -> u32 {
        be32(self.bytes, 8)
    }

    /// The flag bits (see [`flags`]).
    #[inline]
    pub fn flags(&self) -> u16 {
        be16(self.bytes, 12) & 0x01ff
    }

    /// Header length in bytes.
    #[inline]
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.bytes, 16)
    }

    /// The checksum the segment should carry under the pseudo-header of `ip`.
    #[inline]
    pub fn compute_checksum(&self, ip: &IpPair) -> u16 {
        ip.transport_checksum(self.bytes, 8, IpProtocol::Tcp)
    }

    /// The data after the header.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[self.header_len..]
    }
}

/// A TCP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flag bits (see [`flags`]).
    pub flags: u16,
    /// Window.
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Options, a multiple of 4 bytes.
    pub options: Options,
    /// Length of the data after the header.
    pub payload_len: usize,
}

impl TcpRepr {
    /// Read the header from a checked view, verifying the checksum under the
    /// pseudo-header of `ip`.
    #[inline]
    pub fn parse(view: &TcpView<'_>, ip: &IpPair) -> Result<Self> {
        let (found, expected) = (view.checksum(), view.compute_checksum(ip));
        if found != expected {
            return Err(Error::new(
                Layer::Tcp,
                ErrorKind::Checksum { found, expected },
            ));
        }
        let b = view.bytes;
        let options = Options::from_bytes(&b[MIN_HEADER_LEN..view.header_len])
            .unwrap_or_else(|| unreachable!("the checked data offset is 20 + 4n, n <= 10"));
        Ok(TcpRepr {
            src_port: view.src_port(),
            dst_port: view.dst_port(),
            seq: be32(b, 4),
            ack: be32(b, 8),
            flags: view.flags(),
            window: be16(b, 14),
            urgent: be16(b, 18),
            options,
            payload_len: view.payload().len(),
        })
    }

    /// Length of the header, options included.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        MIN_HEADER_LEN + self.options.len()
    }

    /// Write the header into `buf`, whose bytes after the header must already
    /// hold the data, and fill in the checksum under the pseudo-header of `ip`.
    #[inline]
    pub fn emit(&self, buf: &mut [u8], ip: &IpPair) -> Result<()> {
        let header_len = self.buffer_len();
        let total = header_len + self.payload_len;
        let available = buf.len();
        let s =
            buf.get_mut(..total)
                .ok_or(Error::buffer_too_small(Layer::Tcp, total, available))?;
        s[0..2].copy_from_slice(&self.src_port.to_be_bytes());
        s[2..4].copy_from_slice(&self.dst_port.to_be_bytes());
        s[4..8].copy_from_slice(&self.seq.to_be_bytes());
        s[8..12].copy_from_slice(&self.ack.to_be_bytes());
        // header_len is at most 60, so the offset fits its 4 bits.
        let word = ((header_len / 4) as u16) << 12 | (self.flags & 0x01ff);
        s[12..14].copy_from_slice(&word.to_be_bytes());
        s[14..16].copy_from_slice(&self.window.to_be_bytes());
        s[16..18].fill(0);
        s[18..20].copy_from_slice(&self.urgent.to_be_bytes());
        s[MIN_HEADER_LEN..header_len].copy_from_slice(self.options.as_bytes());
        let sum = ip.transport_checksum(s, 8, IpProtocol::Tcp);
        s[16..18].copy_from_slice(&sum.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip() -> IpPair {
        IpPair::V4 {
            src: Ipv4Addr::new(203, 0, 113, 10),
            dst: Ipv4Addr::new(192, 168, 100, 1),
        }
    }

    /// A SYN to port 22 with an MSS option.
    fn syn() -> TcpRepr {
        TcpRepr {
            src_port: 40000,
            dst_port: 22,
            seq: 0x0102_0304,
            ack: 0,
            flags: flags::SYN,
            window: 64240,
            urgent: 0,
            options: Options::from_bytes(&[2, 4, 0x05, 0xb4]).unwrap(),
            payload_len: 0,
        }
    }

    const SYN: [u8; 24] = [
        0x9c, 0x40, 0x00, 0x16, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0, 0x60, 0x02, 0xfa, 0xf0, 0, 0,
        0, 0, 2, 4, 0x05, 0xb4,
    ];

    #[test]
    fn both_ways() {
        let mut buf = [0u8; 24];
        syn().emit(&mut buf, &ip()).unwrap();
        let mut want = SYN;
        want[16..18].copy_from_slice(&buf[16..18]);
        assert_eq!(buf, want);
        let view = TcpView::new_checked(&buf).unwrap();
        assert_eq!(view.compute_checksum(&ip()), be16(&buf, 16));
        assert_eq!(TcpRepr::parse(&view, &ip()).unwrap(), syn());
    }

    #[test]
    fn every_truncation_and_data_offset() {
        for len in 0..MIN_HEADER_LEN {
            assert_eq!(
                TcpView::new_checked(&SYN[..len]).unwrap_err().kind,
                ErrorKind::Truncated {
                    needed: 20,
                    available: len
                }
            );
        }
        for len in MIN_HEADER_LEN..24 {
            assert_eq!(
                TcpView::new_checked(&SYN[..len]).unwrap_err().kind,
                ErrorKind::HeaderLength {
                    stated: 24,
                    available: len
                }
            );
        }
        let mut b = SYN;
        b[12] = 0x40;
        assert_eq!(
            TcpView::new_checked(&b).unwrap_err().kind,
            ErrorKind::HeaderTooShort {
                stated: 16,
                minimum: 20
            }
        );
    }

    #[test]
    fn bad_checksum() {
        let view = TcpView::new_checked(&SYN).unwrap();
        assert!(matches!(
            TcpRepr::parse(&view, &ip()).unwrap_err().kind,
            ErrorKind::Checksum { found: 0, .. }
        ));
    }
}
