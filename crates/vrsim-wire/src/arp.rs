//! ARP for IPv4 over Ethernet (RFC 826): hardware type 1, protocol 0x0800,
//! address lengths 6 and 4, 28 bytes in all.

use core::fmt;
use std::net::Ipv4Addr;

use pnet_base::MacAddr;
use pnet_packet::arp::{ArpHardwareType, ArpOperation as PnetOp, ArpPacket, MutableArpPacket};

use crate::error::{Error, ErrorKind, Layer, Result, need};

/// Length of an ARP message for IPv4 over Ethernet.
pub const HEADER_LEN: usize = 28;

/// The ARP operation. Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpOperation {
    /// 1: who has the target address?
    Request,
    /// 2: the sender has it.
    Reply,
    /// Any other value.
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    fn from(v: u16) -> Self {
        match v {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            other => ArpOperation::Unknown(other),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(op: ArpOperation) -> u16 {
        match op {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Unknown(v) => v,
        }
    }
}

impl fmt::Display for ArpOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArpOperation::Request => f.write_str("request"),
            ArpOperation::Reply => f.write_str("reply"),
            ArpOperation::Unknown(v) => write!(f, "op {v}"),
        }
    }
}

/// A checked view of an ARP message for IPv4 over Ethernet.
#[derive(Debug)]
pub struct ArpView<'a> {
    packet: ArpPacket<'a>,
}

impl<'a> ArpView<'a> {
    /// Check the length and that the message is IPv4 over Ethernet.
    #[inline]
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        need(Layer::Arp, bytes, HEADER_LEN)?;
        let packet =
            ArpPacket::new(bytes).ok_or(Error::truncated(Layer::Arp, HEADER_LEN, bytes.len()))?;
        let (hardware, protocol) = (packet.get_hardware_type().0, packet.get_protocol_type().0);
        let (hardware_len, protocol_len) = (packet.get_hw_addr_len(), packet.get_proto_addr_len());
        if (hardware, protocol, hardware_len, protocol_len) != (1, 0x0800, 6, 4) {
            return Err(Error::new(
                Layer::Arp,
                ErrorKind::ArpFormat {
                    hardware,
                    protocol,
                    hardware_len,
                    protocol_len,
                },
            ));
        }
        Ok(ArpView { packet })
    }

    /// The operation.
    #[inline]
    pub fn operation(&self) -> ArpOperation {
        ArpOperation::from(self.packet.get_operation().0)
    }

    /// Sender hardware address.
    #[inline]
    pub fn sender_mac(&self) -> MacAddr {
        self.packet.get_sender_hw_addr()
    }

    /// Sender protocol address.
    #[inline]
    pub fn sender_ip(&self) -> Ipv4Addr {
        self.packet.get_sender_proto_addr()
    }

    /// Target hardware address.
    #[inline]
    pub fn target_mac(&self) -> MacAddr {
        self.packet.get_target_hw_addr()
    }

    /// Target protocol address.
    #[inline]
    pub fn target_ip(&self) -> Ipv4Addr {
        self.packet.get_target_proto_addr()
    }
}

/// An ARP message for IPv4 over Ethernet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// Request, reply or another operation.
    pub operation: ArpOperation,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address (zero in a request).
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    /// Read the message from a checked view.
    #[inline]
    pub fn parse(view: &ArpView<'_>) -> Result<Self> {
        Ok(ArpRepr {
            operation: view.operation(),
            sender_mac: view.sender_mac(),
            sender_ip: view.sender_ip(),
            target_mac: view.target_mac(),
            target_ip: view.target_ip(),
        })
    }

    /// Length of the message.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the message into the first [`buffer_len`](Self::buffer_len) bytes of `buf`.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let available = buf.len();
        let mut p = buf
            .get_mut(..HEADER_LEN)
            .and_then(MutableArpPacket::new)
            .ok_or(Error::buffer_too_small(Layer::Arp, HEADER_LEN, available))?;
        p.set_hardware_type(ArpHardwareType(1));
        p.set_protocol_type(pnet_packet::ethernet::EtherType(0x0800));
        p.set_hw_addr_len(6);
        p.set_proto_addr_len(4);
        p.set_operation(PnetOp(u16::from(self.operation)));
        p.set_sender_hw_addr(self.sender_mac);
        p.set_sender_proto_addr(self.sender_ip);
        p.set_target_hw_addr(self.target_mac);
        p.set_target_proto_addr(self.target_ip);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Docker VM asks for its gateway 172.16.10.1.
    const REQUEST: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // htype, ptype, lens, op
        0x02, 0xc7, 0x80, 0x7e, 0x22, 0xf2, 172, 16, 10, 3, // sender
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 172, 16, 10, 1, // target
    ];

    fn repr() -> ArpRepr {
        ArpRepr {
            operation: ArpOperation::Request,
            sender_mac: MacAddr::new(0x02, 0xc7, 0x80, 0x7e, 0x22, 0xf2),
            sender_ip: Ipv4Addr::new(172, 16, 10, 3),
            target_mac: MacAddr::zero(),
            target_ip: Ipv4Addr::new(172, 16, 10, 1),
        }
    }

    #[test]
    fn both_ways() {
        assert_eq!(
            ArpRepr::parse(&ArpView::new_checked(&REQUEST).unwrap()).unwrap(),
            repr()
        );
        let mut buf = [0xffu8; 28];
        repr().emit(&mut buf).unwrap();
        assert_eq!(buf, REQUEST);
    }

    #[test]
    fn every_truncation() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                ArpView::new_checked(&REQUEST[..len]).unwrap_err(),
                Error::new(
                    Layer::Arp,
                    ErrorKind::Truncated {
                        needed: 28,
                        available: len
                    }
                )
            );
        }
    }

    #[test]
    fn not_ipv4_over_ethernet() {
        let mut bytes = REQUEST;
        bytes[2] = 0x86;
        bytes[3] = 0xdd;
        assert_eq!(
            ArpView::new_checked(&bytes).unwrap_err().kind,
            ErrorKind::ArpFormat {
                hardware: 1,
                protocol: 0x86dd,
                hardware_len: 6,
                protocol_len: 4
            }
        );
    }
}
