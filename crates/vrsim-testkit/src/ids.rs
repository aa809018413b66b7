//! Bounded ids from literals; a value out of range fails the test.

use vrsim::dataplane::{NhId, VifId, VrfId};
use vrsim::wire::{MplsLabel, Vni};

/// A vif id.
pub fn vif(n: u16) -> VifId {
    VifId::new(n).unwrap_or_else(|| panic!("vif {n} is out of range"))
}

/// A nexthop id.
pub fn nh(n: u32) -> NhId {
    NhId::new(n).unwrap_or_else(|| panic!("nh {n} is out of range"))
}

/// An MPLS label.
pub fn label(n: u32) -> MplsLabel {
    MplsLabel::new(n).unwrap_or_else(|| panic!("label {n} is out of range"))
}

/// A VXLAN network id.
pub fn vni(n: u32) -> Vni {
    Vni::new(n).unwrap_or_else(|| panic!("vni {n} is out of range"))
}

/// Scenario A's `public` network VRF on compute01.
pub fn public() -> VrfId {
    crate::seed::VRF_PUBLIC
}
