//! UDP (RFC 768) with the pseudo-header checksum over IPv4 and IPv6 (RFC 8200 §8.1).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! |            Length             |           Checksum            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use pnet_packet::udp::UdpPacket;

use crate::error::{Error, ErrorKind, Layer, Result, need};
use crate::types::{IpPair, IpProtocol};

/// Length of the UDP header.
pub const HEADER_LEN: usize = 8;

/// A checked view of a UDP datagram: the length field covers the header and
/// fits the buffer. Bytes beyond the length field are not payload.
#[derive(Debug)]
pub struct UdpView<'a> {
    bytes: &'a [u8],
    packet: UdpPacket<'a>,
    len: usize,
}

impl<'a> UdpView<'a> {
    /// Check `bytes` as described on the type.
    #[inline]
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        need(Layer::Udp, bytes, HEADER_LEN)?;
        let packet =
            UdpPacket::new(bytes).ok_or(Error::truncated(Layer::Udp, HEADER_LEN, bytes.len()))?;
        let len = usize::from(packet.get_length());
        if len < HEADER_LEN {
            return Err(Error::new(
                Layer::Udp,
                ErrorKind::LengthBelowHeader {
                    stated: len,
                    header: HEADER_LEN,
                },
            ));
        }
        if len > bytes.len() {
            return Err(Error::new(
                Layer::Udp,
                ErrorKind::LengthExceedsBuffer {
                    stated: len,
                    available: bytes.len(),
                },
            ));
        }
        Ok(UdpView { bytes, packet, len })
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        self.packet.get_source()
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        self.packet.get_destination()
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.packet.get_checksum()
    }

    /// The checksum the datagram should carry under the pseudo-header of `ip`
    /// (0 is sent as 0xffff).
    #[inline]
    pub fn compute_checksum(&self, ip: &IpPair) -> u16 {
        match ip.transport_checksum(&self.bytes[..self.len], 3, IpProtocol::Udp) {
            0 => 0xffff,
            sum => sum,
        }
    }

    /// The payload, as long as the length field says.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[HEADER_LEN..self.len]
    }
}

/// A UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Length of the payload.
    pub payload_len: usize,
    /// The checksum is 0, "not computed". Allowed over IPv4 only; tunnel
    /// encapsulations often send it (RFC 7348 §5).
    pub zero_checksum: bool,
}

impl UdpRepr {
    /// A header whose checksum is computed on emit.
    #[inline]
    pub const fn new(src_port: u16, dst_port: u16, payload_len: usize) -> Self {
        UdpRepr {
            src_port,
            dst_port,
            payload_len,
            zero_checksum: false,
        }
    }

    /// Read the header from a checked view, verifying the checksum under the
    /// pseudo-header of `ip`. A zero checksum is accepted over IPv4 only.
    #[inline]
    pub fn parse(view: &UdpView<'_>, ip: &IpPair) -> Result<Self> {
        let found = view.checksum();
        let zero_checksum = found == 0 && matches!(ip, IpPair::V4 { .. });
        if !zero_checksum {
            let expected = view.compute_checksum(ip);
            if found != expected {
                return Err(Error::new(
                    Layer::Udp,
                    ErrorKind::Checksum { found, expected },
                ));
            }
        }
        Ok(UdpRepr {
            src_port: view.src_port(),
            dst_port: view.dst_port(),
            payload_len: view.payload().len(),
            zero_checksum,
        })
    }

    /// Length of the header.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the header into `buf`, whose bytes after the header must already
    /// hold the payload, and fill in the checksum under the pseudo-header of `ip`.
    #[inline]
    pub fn emit(&self, buf: &mut [u8], ip: &IpPair) -> Result<()> {
        let total = HEADER_LEN + self.payload_len;
        let len = u16::try_from(total).map_err(|_| {
            Error::new(
                Layer::Udp,
                ErrorKind::FieldOverflow {
                    what: "length",
                    value: total,
                    max: 65535,
                },
            )
        })?;
        let available = buf.len();
        let d =
            buf.get_mut(..total)
                .ok_or(Error::buffer_too_small(Layer::Udp, total, available))?;
        d[0..2].copy_from_slice(&self.src_port.to_be_bytes());
        d[2..4].copy_from_slice(&self.dst_port.to_be_bytes());
        d[4..6].copy_from_slice(&len.to_be_bytes());
        d[6..8].fill(0);
        if !self.zero_checksum {
            let sum = match ip.transport_checksum(d, 3, IpProtocol::Udp) {
                0 => 0xffff,
                sum => sum,
            };
            d[6..8].copy_from_slice(&sum.to_be_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip() -> IpPair {
        IpPair::V4 {
            src: Ipv4Addr::new(10, 0, 0, 21),
            dst: Ipv4Addr::new(10, 0, 0, 1),
        }
    }

    /// MPLSoUDP: 51000 -> 6635, a 4-byte payload (one label stack entry).
    const DGRAM: [u8; 12] = [
        0xc7, 0x38, 0x19, 0xeb, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x40,
    ];

    fn with_checksum() -> [u8; 12] {
        let mut b = DGRAM;
        let sum = UdpView::new_checked(&b).unwrap().compute_checksum(&ip());
        b[6..8].copy_from_slice(&sum.to_be_bytes());
        b
    }

    #[test]
    fn both_ways() {
        let b = with_checksum();
        let repr = UdpRepr::new(51000, 6635, 4);
        assert_eq!(
            UdpRepr::parse(&UdpView::new_checked(&b).unwrap(), &ip()).unwrap(),
            repr
        );
        let mut buf = DGRAM;
        repr.emit(&mut buf, &ip()).unwrap();
        assert_eq!(buf, b);
        let zero = UdpRepr {
            zero_checksum: true,
            ..repr
        };
        assert_eq!(
            UdpRepr::parse(&UdpView::new_checked(&DGRAM).unwrap(), &ip()).unwrap(),
            zero
        );
    }

    #[test]
    fn checksum_is_known_value() {
        // Pseudo-header 10.0.0.21 + 10.0.0.1 + 17 + 12, then the datagram.
        let words: u32 = [
            0x0a00, 0x0015, 0x0a00, 0x0001, 17, 12, 0xc738, 0x19eb, 12, 0x0001, 0x0140,
        ]
        .iter()
        .sum();
        let folded = (words & 0xffff) + (words >> 16);
        assert_eq!(with_checksum()[6..8], (!(folded as u16)).to_be_bytes());
    }

    #[test]
    fn zero_checksum_over_ipv6_is_rejected() {
        let v6 = IpPair::V6 {
            src: "2001:db8::1".parse().unwrap(),
            dst: "2001:db8::2".parse().unwrap(),
        };
        assert!(matches!(
            UdpRepr::parse(&UdpView::new_checked(&DGRAM).unwrap(), &v6)
                .unwrap_err()
                .kind,
            ErrorKind::Checksum { found: 0, .. }
        ));
        let repr = UdpRepr::new(1, 2, 4);
        let mut buf = [0u8; 12];
        repr.emit(&mut buf, &v6).unwrap();
        assert_eq!(
            UdpRepr::parse(&UdpView::new_checked(&buf).unwrap(), &v6).unwrap(),
            repr
        );
    }

    #[test]
    fn every_truncation_and_bad_length() {
        let b = with_checksum();
        for len in 0..HEADER_LEN {
            assert_eq!(
                UdpView::new_checked(&b[..len]).unwrap_err().kind,
                ErrorKind::Truncated {
                    needed: 8,
                    available: len
                }
            );
        }
        for len in HEADER_LEN..12 {
            assert_eq!(
                UdpView::new_checked(&b[..len]).unwrap_err().kind,
                ErrorKind::LengthExceedsBuffer {
                    stated: 12,
                    available: len
                }
            );
        }
        let mut short = b;
        short[5] = 7;
        assert_eq!(
            UdpView::new_checked(&short).unwrap_err().kind,
            ErrorKind::LengthBelowHeader {
                stated: 7,
                header: 8
            }
        );
    }
}
