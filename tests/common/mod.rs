//! Helpers shared by the integration tests.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses some; a failed unwrap is a failed test

pub(crate) mod strategies;

use vrsim::dataplane::{NhId, VRouter, VifId, VrfId};
use vrsim::wire::{MplsLabel, Vni};

pub(crate) fn vif(n: u16) -> VifId {
    VifId::new(n).unwrap()
}
pub(crate) fn nh(n: u32) -> NhId {
    NhId::new(n).unwrap()
}
pub(crate) fn label(n: u32) -> MplsLabel {
    MplsLabel::new(n).unwrap()
}
pub(crate) fn vni(n: u32) -> Vni {
    Vni::new(n).unwrap()
}
pub(crate) fn public() -> VrfId {
    vrsim::seed::VRF_PUBLIC
}
/// Scenario A's compute01 with the BGPaaS /26 installed.
pub(crate) fn compute01() -> VRouter {
    vrsim::seed::compute01(true).unwrap()
}
