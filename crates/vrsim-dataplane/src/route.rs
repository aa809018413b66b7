//! Routes and VRFs: an IPv4 and an IPv6 table on `vrsim-lpm`, and a bridge
//! table, per VRF (docs/vrouter-reference.md §4).

use core::fmt;

use hashbrown::HashMap;
use vrsim_lpm::{Fib4, Fib6};
use vrsim_wire::{MacAddr, MplsLabel};

use crate::ids::NhId;

/// Route flags (`include/vr_defs.h`), printed as letters `L P T F`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RouteFlags(u8);

impl RouteFlags {
    /// L: the label is valid (required for a route to a tunnel nexthop).
    pub const LABEL_VALID: RouteFlags = RouteFlags(0x1);
    /// P: answer ARP for this address with the vRouter MAC (proxy ARP).
    pub const ARP_PROXY: RouteFlags = RouteFlags(0x2);
    /// T: trap ARP to the agent.
    pub const ARP_TRAP: RouteFlags = RouteFlags(0x4);
    /// F: flood ARP.
    pub const ARP_FLOOD: RouteFlags = RouteFlags(0x8);

    /// No flags.
    pub const fn empty() -> Self {
        RouteFlags(0)
    }

    /// Flags from raw bits (unnamed bits are kept).
    pub const fn from_bits_retain(bits: u8) -> Self {
        RouteFlags(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: RouteFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for RouteFlags {
    type Output = RouteFlags;
    fn bitor(self, rhs: RouteFlags) -> RouteFlags {
        RouteFlags(self.0 | rhs.0)
    }
}

impl fmt::Display for RouteFlags {
    /// The letters of the set flags (`LP`), empty for none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, letter) in [(0x1, "L"), (0x2, "P"), (0x4, "T"), (0x8, "F")] {
            if self.0 & bit != 0 {
                f.write_str(letter)?;
            }
        }
        Ok(())
    }
}

/// What an inet route holds (an mtrie leaf's data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// The nexthop.
    pub nh: NhId,
    /// The label pushed towards a tunnel nexthop (flag L).
    pub label: Option<MplsLabel>,
    /// The flags; L is set exactly when `label` is.
    pub flags: RouteFlags,
    /// The stitched MAC (the MAC ARP replies give for this address), with its bridge index.
    pub stitched_mac: Option<(MacAddr, u32)>,
}

/// A bridge-table entry: a MAC in a VRF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BridgeEntry {
    /// The nexthop.
    pub nh: NhId,
    /// The label (or VNID) pushed towards a tunnel nexthop.
    pub label: Option<u32>,
}

/// One VRF's tables.
#[derive(Debug, Clone)]
pub struct Vrf {
    /// Whether RPF applies to packets looked up in this VRF: the setting of
    /// the virtual network it belongs to, on by default (docs/vrouter-reference.md §5).
    pub rpf: bool,
    /// IPv4 routes: the table and, kept in step with it, the leaf-pushed
    /// FIB the fast path looks up (the vRouter's inet `mtrie`), compiled at
    /// the VRF's first lookup: a large fabric's VRFs that no packet visits
    /// keep only their table. Its direct table is 16 bits wide whatever the
    /// table's size (the mtrie's root bucket is 8): a VRF's host routes are
    /// then two node levels deep, not three, on every packet.
    pub inet4: Fib4<Route>,
    /// IPv6 routes, as `inet4` (the inet6 `mtrie`).
    pub inet6: Fib6<Route>,
    /// Bridge (MAC) entries: a hash table, as the vRouter's is. Its iteration
    /// order is arbitrary: sort before printing.
    pub bridge: HashMap<MacAddr, BridgeEntry>,
}

impl Default for Vrf {
    fn default() -> Self {
        Vrf {
            rpf: true,
            inet4: Fib4::wide(),
            inet6: Fib6::wide(),
            bridge: HashMap::new(),
        }
    }
}

impl Vrf {
    /// Whether the VRF holds no route and no bridge entry.
    pub fn is_empty(&self) -> bool {
        self.inet4.is_empty() && self.inet6.is_empty() && self.bridge.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters() {
        assert_eq!(
            (RouteFlags::LABEL_VALID | RouteFlags::ARP_PROXY).to_string(),
            "LP"
        );
        assert_eq!(RouteFlags::empty().to_string(), "");
    }
}
