//! Ethernet II (IEEE 802.3 with an EtherType) and IEEE 802.1Q / 802.1ad VLAN tags.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 destination MAC (6 bytes) ...                 |
//! |        ... destination    |     source MAC (6 bytes) ...      |
//! |                     ... source                                |
//! |          EtherType        |   payload, or a VLAN tag:         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! VLAN tag (after an EtherType of 0x8100 or 0x88a8):
//! | PCP |D|        VLAN id        |       inner EtherType         |
//! ```

use pnet_base::MacAddr;
use pnet_packet::ethernet::MutableEthernetPacket;
use pnet_packet::vlan::{MutableVlanPacket, VlanPacket};

use crate::error::{Error, Layer, Result, need};
use crate::types::EtherType;

/// Length of the Ethernet II header.
pub const HEADER_LEN: usize = 14;
/// Length of one VLAN tag.
pub const VLAN_TAG_LEN: usize = 4;
/// The most VLAN tags the dissector follows before it reports an error.
pub const MAX_VLAN_TAGS: usize = 2;

/// A checked view of an Ethernet II header and its payload.
#[derive(Debug)]
pub struct EthernetView<'a> {
    bytes: &'a [u8],
    /// The header, checked to be whole: the accessors read it without further checks.
    header: &'a [u8; HEADER_LEN],
}

impl<'a> EthernetView<'a> {
    /// Check that `bytes` holds a whole header.
    #[inline]
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        need(Layer::Ethernet, bytes, HEADER_LEN)?;
        let header = bytes.first_chunk::<HEADER_LEN>().ok_or(Error::truncated(
            Layer::Ethernet,
            HEADER_LEN,
            bytes.len(),
        ))?;
        Ok(EthernetView { bytes, header })
    }

    /// Destination MAC address.
    #[inline]
    pub fn dst(&self) -> MacAddr {
        let h = self.header;
        MacAddr::new(h[0], h[1], h[2], h[3], h[4], h[5])
    }

    /// Source MAC address.
    #[inline]
    pub fn src(&self) -> MacAddr {
        let h = self.header;
        MacAddr::new(h[6], h[7], h[8], h[9], h[10], h[11])
    }

    /// The EtherType.
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(u16::from_be_bytes([self.header[12], self.header[13]]))
    }

    /// The bytes after the header.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[HEADER_LEN..]
    }
}

/// A checked, writable view of an Ethernet II header, for rewriting a frame
/// in place (as the vRouter's nexthops do): the header is checked to be whole
/// once, then no setter panics.
#[derive(Debug)]
pub struct EthernetViewMut<'a> {
    header: &'a mut [u8; HEADER_LEN],
}

impl<'a> EthernetViewMut<'a> {
    /// Check that `bytes` holds a whole header.
    #[inline(always)]
    pub fn new_checked(bytes: &'a mut [u8]) -> Result<Self> {
        let available = bytes.len();
        let header = bytes
            .first_chunk_mut::<HEADER_LEN>()
            .ok_or(Error::truncated(Layer::Ethernet, HEADER_LEN, available))?;
        Ok(EthernetViewMut { header })
    }

    /// Write the destination MAC address.
    #[inline(always)]
    pub fn set_dst(&mut self, mac: MacAddr) {
        self.header[0..6].copy_from_slice(&mac.octets());
    }

    /// Write the source MAC address.
    #[inline(always)]
    pub fn set_src(&mut self, mac: MacAddr) {
        self.header[6..12].copy_from_slice(&mac.octets());
    }

    /// Write the EtherType.
    #[inline(always)]
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        self.header[12..14].copy_from_slice(&ethertype.value().to_be_bytes());
    }

    /// Overwrite the whole header with `header` (a nexthop's stored rewrite).
    #[inline(always)]
    pub fn set_header(&mut self, header: &[u8; HEADER_LEN]) {
        *self.header = *header;
    }
}

/// An Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetRepr {
    /// Destination MAC address.
    pub dst: MacAddr,
    /// Source MAC address.
    pub src: MacAddr,
    /// The EtherType of what follows.
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Read the header from a checked view.
    #[inline]
    pub fn parse(view: &EthernetView<'_>) -> Result<Self> {
        Ok(EthernetRepr {
            dst: view.dst(),
            src: view.src(),
            ethertype: view.ethertype(),
        })
    }

    /// Length of the header.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// The header's bytes, as a nexthop stores its rewrite.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        if let Ok(mut v) = EthernetViewMut::new_checked(&mut out) {
            v.set_dst(self.dst);
            v.set_src(self.src);
            v.set_ethertype(self.ethertype);
        }
        out
    }

    /// Write the header into the first [`buffer_len`](Self::buffer_len) bytes of `buf`.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let available = buf.len();
        let mut p = buf
            .get_mut(..HEADER_LEN)
            .and_then(MutableEthernetPacket::new)
            .ok_or(Error::buffer_too_small(
                Layer::Ethernet,
                HEADER_LEN,
                available,
            ))?;
        p.set_destination(self.dst);
        p.set_source(self.src);
        p.set_ethertype(pnet_packet::ethernet::EtherType(self.ethertype.value()));
        Ok(())
    }
}

/// A checked view of a VLAN tag (the 4 bytes after an EtherType of 0x8100 or 0x88a8).
#[derive(Debug)]
pub struct VlanView<'a> {
    bytes: &'a [u8],
    packet: VlanPacket<'a>,
}

impl<'a> VlanView<'a> {
    /// Check that `bytes` holds a whole tag.
    #[inline]
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        need(Layer::Vlan, bytes, VLAN_TAG_LEN)?;
        let packet = VlanPacket::new(bytes).ok_or(Error::truncated(
            Layer::Vlan,
            VLAN_TAG_LEN,
            bytes.len(),
        ))?;
        Ok(VlanView { bytes, packet })
    }

    /// Priority code point (3 bits).
    #[inline]
    pub fn pcp(&self) -> u8 {
        self.packet.get_priority_code_point().0
    }

    /// Drop-eligible indicator.
    #[inline]
    pub fn dei(&self) -> bool {
        self.packet.get_drop_eligible_indicator() != 0
    }

    /// VLAN identifier (12 bits).
    #[inline]
    pub fn vid(&self) -> u16 {
        self.packet.get_vlan_identifier()
    }

    /// The EtherType of what follows the tag.
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(self.packet.get_ethertype().0)
    }

    /// The bytes after the tag.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[VLAN_TAG_LEN..]
    }
}

/// An IEEE 802.1Q tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanRepr {
    /// Priority code point, 0–7.
    pub pcp: u8,
    /// Drop-eligible indicator.
    pub dei: bool,
    /// VLAN identifier, 0–4095.
    pub vid: u16,
    /// The EtherType of what follows.
    pub ethertype: EtherType,
}

impl VlanRepr {
    /// Read the tag from a checked view.
    #[inline]
    pub fn parse(view: &VlanView<'_>) -> Result<Self> {
        Ok(VlanRepr {
            pcp: view.pcp(),
            dei: view.dei(),
            vid: view.vid(),
            ethertype: view.ethertype(),
        })
    }

    /// Length of the tag.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        VLAN_TAG_LEN
    }

    /// Write the tag into the first [`buffer_len`](Self::buffer_len) bytes of
    /// `buf`. Out-of-range PCP and VID values are masked to their field width.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let available = buf.len();
        let mut p = buf
            .get_mut(..VLAN_TAG_LEN)
            .and_then(MutableVlanPacket::new)
            .ok_or(Error::buffer_too_small(
                Layer::Vlan,
                VLAN_TAG_LEN,
                available,
            ))?;
        p.set_priority_code_point(pnet_packet::vlan::ClassOfService(self.pcp & 0x7));
        p.set_drop_eligible_indicator(u8::from(self.dei));
        p.set_vlan_identifier(self.vid & 0x0fff);
        p.set_ethertype(pnet_packet::ethernet::EtherType(self.ethertype.value()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    const FRAME: [u8; 14] = [
        0x02, 0xc7, 0x80, 0x7e, 0x22, 0xf2, // dst
        0x00, 0x00, 0x5e, 0x00, 0x01, 0x00, // src
        0x08, 0x00, // ipv4
    ];

    fn repr() -> EthernetRepr {
        EthernetRepr {
            dst: MacAddr::new(0x02, 0xc7, 0x80, 0x7e, 0x22, 0xf2),
            src: MacAddr::new(0x00, 0x00, 0x5e, 0x00, 0x01, 0x00),
            ethertype: EtherType::Ipv4,
        }
    }

    #[test]
    fn parse_and_emit() {
        let view = EthernetView::new_checked(&FRAME).unwrap();
        assert_eq!(EthernetRepr::parse(&view).unwrap(), repr());
        assert!(view.payload().is_empty());
        let mut buf = [0u8; 14];
        repr().emit(&mut buf).unwrap();
        assert_eq!(buf, FRAME);
    }

    #[test]
    fn every_truncation() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                EthernetView::new_checked(&FRAME[..len]).unwrap_err(),
                Error::new(
                    Layer::Ethernet,
                    ErrorKind::Truncated {
                        needed: 14,
                        available: len
                    }
                )
            );
        }
    }

    #[test]
    fn emit_into_short_buffer_is_an_error() {
        let mut buf = [0u8; 13];
        assert_eq!(
            repr().emit(&mut buf).unwrap_err().kind,
            ErrorKind::BufferTooSmall {
                needed: 14,
                available: 13
            }
        );
    }

    const TAG: [u8; 4] = [0xa0, 0x64, 0x08, 0x06];

    #[test]
    fn vlan_tag_both_ways() {
        let want = VlanRepr {
            pcp: 5,
            dei: false,
            vid: 100,
            ethertype: EtherType::Arp,
        };
        let view = VlanView::new_checked(&TAG).unwrap();
        assert_eq!(VlanRepr::parse(&view).unwrap(), want);
        let mut buf = [0u8; 4];
        want.emit(&mut buf).unwrap();
        assert_eq!(buf, TAG);
        for len in 0..VLAN_TAG_LEN {
            assert_eq!(
                VlanView::new_checked(&TAG[..len]).unwrap_err().kind,
                ErrorKind::Truncated {
                    needed: 4,
                    available: len
                }
            );
        }
    }

    #[test]
    fn the_writable_view_sets_each_field_and_checks_the_length() {
        let mut frame = [0u8; 20];
        let mut v = EthernetViewMut::new_checked(&mut frame).expect("long enough");
        v.set_header(&[0xff; HEADER_LEN]);
        v.set_dst(MacAddr::new(2, 0, 0, 0, 0, 1));
        v.set_src(MacAddr::new(2, 0, 0, 0, 0, 2));
        v.set_ethertype(EtherType::Mpls);
        let view = EthernetView::new_checked(&frame).expect("whole");
        assert_eq!(view.dst(), MacAddr::new(2, 0, 0, 0, 0, 1));
        assert_eq!(view.src(), MacAddr::new(2, 0, 0, 0, 0, 2));
        assert_eq!(view.ethertype(), EtherType::Mpls);
        assert_eq!(frame[14..], [0; 6], "the payload is untouched");
        let mut short = [0u8; 13];
        let err = EthernetViewMut::new_checked(&mut short).expect_err("a byte short");
        assert_eq!(
            err.to_string(),
            Error::truncated(Layer::Ethernet, 14, 13).to_string()
        );
    }
}
