//! VXLAN (RFC 7348): an 8-byte header after UDP port 4789, then an Ethernet frame.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |R|R|R|R|I|R|R|R|            Reserved                           |
//! |                VXLAN Network Identifier (VNI) |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use pnet_packet::vxlan::{MutableVxlanPacket, VxlanPacket};

use crate::error::{Error, ErrorKind, Layer, Result, need};
use crate::types::Vni;

/// Length of the VXLAN header.
pub const HEADER_LEN: usize = 8;
/// The I flag: the VNI is valid.
pub const FLAG_I: u8 = 0x08;
/// Contrail's router-alert bit: 0x01000000 of the first word, the lowest bit of
/// the flags byte. The vRouter traps such packets to its agent.
pub const FLAG_ROUTER_ALERT: u8 = 0x01;

/// A checked view of a VXLAN header (8 bytes present) and the frame after it.
/// The I flag is not checked here: [`VxlanRepr::parse`] requires it.
#[derive(Debug)]
pub struct VxlanView<'a> {
    bytes: &'a [u8],
    packet: VxlanPacket<'a>,
}

impl<'a> VxlanView<'a> {
    /// Check that `bytes` holds the header.
    #[inline]
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        need(Layer::Vxlan, bytes, HEADER_LEN)?;
        let packet = VxlanPacket::new(bytes).ok_or(Error::truncated(
            Layer::Vxlan,
            HEADER_LEN,
            bytes.len(),
        ))?;
        Ok(VxlanView { bytes, packet })
    }

    /// The flags byte.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.packet.get_flags()
    }

    /// The 24-bit VNI field, whether or not the I flag says it is valid.
    #[inline]
    pub fn vni(&self) -> Vni {
        Vni::from_bits_truncate(self.packet.get_vni())
    }

    /// The inner Ethernet frame.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[HEADER_LEN..]
    }
}

/// A VXLAN header with a valid VNI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VxlanRepr {
    /// The VXLAN network identifier.
    pub vni: Vni,
}

impl VxlanRepr {
    /// Read the header from a checked view; the I flag must be set.
    /// Reserved bits are ignored, as RFC 7348 asks of receivers.
    #[inline]
    pub fn parse(view: &VxlanView<'_>) -> Result<Self> {
        let flags = view.flags();
        if flags & FLAG_I == 0 {
            return Err(Error::new(Layer::Vxlan, ErrorKind::VxlanNoVni { flags }));
        }
        Ok(VxlanRepr { vni: view.vni() })
    }

    /// Length of the header.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the header (I flag set, reserved bits zero) into the first 8 bytes of `buf`.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let available = buf.len();
        let mut p = buf
            .get_mut(..HEADER_LEN)
            .and_then(MutableVxlanPacket::new)
            .ok_or(Error::buffer_too_small(Layer::Vxlan, HEADER_LEN, available))?;
        p.set_flags(FLAG_I);
        p.set_reserved1(0);
        p.set_vni(self.vni.value());
        p.set_reserved2(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// VNID 4, the `public` network of scenario A.
    const VNI_4: [u8; 8] = [0x08, 0, 0, 0, 0x00, 0x00, 0x04, 0x00];

    #[test]
    fn both_ways() {
        let repr = VxlanRepr {
            vni: Vni::try_from(4).unwrap(),
        };
        assert_eq!(
            VxlanRepr::parse(&VxlanView::new_checked(&VNI_4).unwrap()).unwrap(),
            repr
        );
        let mut buf = [0xffu8; 8];
        repr.emit(&mut buf).unwrap();
        assert_eq!(buf, VNI_4);
    }

    #[test]
    fn every_truncation() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                VxlanView::new_checked(&VNI_4[..len]).unwrap_err().kind,
                ErrorKind::Truncated {
                    needed: 8,
                    available: len
                }
            );
        }
    }

    #[test]
    fn i_flag_required() {
        let mut b = VNI_4;
        b[0] = 0x01;
        let view = VxlanView::new_checked(&b).unwrap();
        assert_eq!(view.vni().value(), 4);
        assert_eq!(
            VxlanRepr::parse(&view).unwrap_err().kind,
            ErrorKind::VxlanNoVni { flags: 0x01 }
        );
    }
}
