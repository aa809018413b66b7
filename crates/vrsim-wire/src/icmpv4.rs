//! ICMP for IPv4 (RFC 792): echo request and reply, destination unreachable and
//! time exceeded, with the checksum over the whole message.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! |   echo: Identifier            |   echo: Sequence Number       |
//! |   unreachable: unused         |   Next-Hop MTU (RFC 1191)     |
//! |   data (echo payload, or the invoking packet's header + 8)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use pnet_packet::icmp::IcmpPacket;

use crate::error::{Error, ErrorKind, Layer, Result, need};
use crate::types::{be16, be32, internet_checksum};

/// Length of the ICMP header (type, code, checksum and the 4-byte rest).
pub const HEADER_LEN: usize = 8;

/// A checked view of an ICMPv4 message: at least the 8-byte header.
#[derive(Debug)]
pub struct Icmpv4View<'a> {
    bytes: &'a [u8],
    packet: IcmpPacket<'a>,
}

impl<'a> Icmpv4View<'a> {
    /// Check that `bytes` holds the header. The view covers all of `bytes`:
    /// pass exactly the IP payload.
    #[inline]
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        need(Layer::Icmpv4, bytes, HEADER_LEN)?;
        let packet = IcmpPacket::new(bytes).ok_or(Error::truncated(
            Layer::Icmpv4,
            HEADER_LEN,
            bytes.len(),
        ))?;
        Ok(Icmpv4View { bytes, packet })
    }

    /// The type.
    #[inline]
    pub fn kind(&self) -> u8 {
        self.packet.get_icmp_type().0
    }

    /// The code.
    #[inline]
    pub fn code(&self) -> u8 {
        self.packet.get_icmp_code().0
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.packet.get_checksum()
    }

    /// The checksum the message should carry.
    #[inline]
    pub fn compute_checksum(&self) -> u16 {
        internet_checksum(self.bytes, 1)
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

/// The ICMPv4 messages vrsim knows, by type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv4Message {
    /// Type 8.
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
    },
    /// Type 0.
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
    },
    /// Type 3. Code 4 (fragmentation needed) carries the next-hop MTU.
    DestinationUnreachable {
        /// The code (0 net, 1 host, 3 port, 4 fragmentation needed, …).
        code: u8,
        /// Next-hop MTU (RFC 1191); 0 unless the code is 4.
        next_hop_mtu: u16,
    },
    /// Type 11.
    TimeExceeded {
        /// 0: TTL exceeded in transit; 1: fragment reassembly time exceeded.
        code: u8,
    },
    /// Any other type, kept as it is.
    Other {
        /// The type.
        kind: u8,
        /// The code.
        code: u8,
        /// The 4 bytes after the checksum.
        rest: u32,
    },
}

/// An ICMPv4 message header; its data follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Icmpv4Repr {
    /// The message.
    pub message: Icmpv4Message,
    /// Length of the data after the 8-byte header.
    pub payload_len: usize,
}

impl Icmpv4Repr {
    /// Read the message from a checked view, verifying the checksum.
    #[inline]
    pub fn parse(view: &Icmpv4View<'_>) -> Result<Self> {
        if view.checksum() != view.compute_checksum() {
            return Err(Error::new(
                Layer::Icmpv4,
                ErrorKind::Checksum {
                    found: view.checksum(),
                    expected: view.compute_checksum(),
                },
            ));
        }
        let (ident, seq_no) = (be16(view.bytes, 4), be16(view.bytes, 6));
        let message = match (view.kind(), view.code()) {
            (8, 0) => Icmpv4Message::EchoRequest { ident, seq_no },
            (0, 0) => Icmpv4Message::EchoReply { ident, seq_no },
            (3, code) => Icmpv4Message::DestinationUnreachable {
                code,
                next_hop_mtu: if code == 4 { seq_no } else { 0 },
            },
            (11, code) => Icmpv4Message::TimeExceeded { code },
            (kind, code) => Icmpv4Message::Other {
                kind,
                code,
                rest: view.rest_of_header(),
            },
        };
        Ok(Icmpv4Repr {
            message,
            payload_len: view.payload().len(),
        })
    }

    /// Length of the header.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the header into `buf`, whose bytes after the header must already
    /// hold the data, and fill in the checksum over header and data. `buf` is
    /// at least `buffer_len() + payload_len` bytes; only that much is summed.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let total = HEADER_LEN + self.payload_len;
        let available = buf.len();
        let msg =
            buf.get_mut(..total)
                .ok_or(Error::buffer_too_small(Layer::Icmpv4, total, available))?;
        let (kind, code, rest): (u8, u8, u32) = match self.message {
            Icmpv4Message::EchoRequest { ident, seq_no } => {
                (8, 0, u32::from(ident) << 16 | u32::from(seq_no))
            }
            Icmpv4Message::EchoReply { ident, seq_no } => {
                (0, 0, u32::from(ident) << 16 | u32::from(seq_no))
            }
            Icmpv4Message::DestinationUnreachable { code, next_hop_mtu } => (
                3,
                code,
                if code == 4 {
                    u32::from(next_hop_mtu)
                } else {
                    0
                },
            ),
            Icmpv4Message::TimeExceeded { code } => (11, code, 0),
            Icmpv4Message::Other { kind, code, rest } => (kind, code, rest),
        };
        msg[0] = kind;
        msg[1] = code;
        msg[2..4].fill(0);
        msg[4..8].copy_from_slice(&rest.to_be_bytes());
        let sum = internet_checksum(msg, 1);
        msg[2..4].copy_from_slice(&sum.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Echo request id 0x1234 seq 1 with 4 bytes of data.
    const ECHO: [u8; 12] = [
        8, 0, 0xfb, 0xea, 0x12, 0x34, 0x00, 0x01, b'v', b'r', b's', b'm',
    ];

    fn echo() -> Icmpv4Repr {
        Icmpv4Repr {
            message: Icmpv4Message::EchoRequest {
                ident: 0x1234,
                seq_no: 1,
            },
            payload_len: 4,
        }
    }

    #[test]
    fn both_ways() {
        let view = Icmpv4View::new_checked(&ECHO).unwrap();
        assert_eq!(view.compute_checksum(), 0xfbea, "test vector checksum");
        assert_eq!(Icmpv4Repr::parse(&view).unwrap(), echo());
        let mut buf = ECHO;
        buf[..8].fill(0);
        echo().emit(&mut buf).unwrap();
        assert_eq!(buf, ECHO);
    }

    #[test]
    fn every_truncation() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                Icmpv4View::new_checked(&ECHO[..len]).unwrap_err().kind,
                ErrorKind::Truncated {
                    needed: 8,
                    available: len
                }
            );
        }
    }

    #[test]
    fn bad_checksum() {
        let mut b = ECHO;
        b[11] = b'x';
        let view = Icmpv4View::new_checked(&b).unwrap();
        assert!(matches!(
            Icmpv4Repr::parse(&view).unwrap_err().kind,
            ErrorKind::Checksum { found: 0xfbea, .. }
        ));
    }

    #[test]
    fn error_messages_round_trip() {
        for message in [
            Icmpv4Message::TimeExceeded { code: 0 },
            Icmpv4Message::DestinationUnreachable {
                code: 4,
                next_hop_mtu: 1400,
            },
            Icmpv4Message::DestinationUnreachable {
                code: 3,
                next_hop_mtu: 0,
            },
            Icmpv4Message::EchoReply {
                ident: 7,
                seq_no: 9,
            },
            Icmpv4Message::Other {
                kind: 13,
                code: 0,
                rest: 0xdead_beef,
            },
        ] {
            let repr = Icmpv4Repr {
                message,
                payload_len: 28,
            };
            let mut buf = [0x45u8; 36];
            repr.emit(&mut buf).unwrap();
            assert_eq!(
                Icmpv4Repr::parse(&Icmpv4View::new_checked(&buf).unwrap()).unwrap(),
                repr
            );
        }
    }
}
