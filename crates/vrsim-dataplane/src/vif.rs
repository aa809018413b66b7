//! vif: the vRouter's interfaces (reference: `include/vr_interface.h`, `utils/vif.c`).

use core::fmt;
use std::net::Ipv4Addr;

use vrsim_wire::MacAddr;

use crate::drop::DropCounters;
use crate::ids::{NhId, VifId, VrfId};

/// The type of a vif (`VIF_TYPE_*`), printed as `vif` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VifType {
    /// 0: the vhost interface (`vhost0`).
    Host,
    /// 1: the agent's packet interface (`pkt0`).
    Agent,
    /// 2: the fabric NIC.
    Physical,
    /// 3: a VM's tap.
    Virtual,
    /// 5: a gateway interface.
    Gateway,
    /// 6: a VLAN sub-interface of a tap.
    VirtualVlan,
    /// 9: a monitoring interface.
    Monitoring,
}

impl VifType {
    /// The name `vif --get` prints.
    pub const fn name(self) -> &'static str {
        match self {
            VifType::Host => "Host",
            VifType::Agent => "Agent",
            VifType::Physical => "Physical",
            VifType::Virtual => "Virtual",
            VifType::Gateway => "Gateway",
            VifType::VirtualVlan => "Virtual(Vlan)",
            VifType::Monitoring => "Monitoring",
        }
    }

    /// `vif_is_virtual`: a VM-facing interface.
    pub const fn is_virtual(self) -> bool {
        matches!(self, VifType::Virtual | VifType::VirtualVlan)
    }

    /// `vif_is_fabric`.
    pub const fn is_fabric(self) -> bool {
        matches!(self, VifType::Physical)
    }
}

impl fmt::Display for VifType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// vif flags (`VIF_FLAG_*`), a bit set printed as letters (`PL3L2DUuf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VifFlags(u32);

impl VifFlags {
    /// P: policy (flow processing, and so RPF).
    pub const POLICY: VifFlags = VifFlags(0x1);
    /// X: cross connect.
    pub const XCONNECT: VifFlags = VifFlags(0x2);
    /// S: service chain.
    pub const SERVICE_IF: VifFlags = VifFlags(0x4);
    /// L3: layer-3 forwarding.
    pub const L3: VifFlags = VifFlags(0x40);
    /// L2: layer-2 forwarding.
    pub const L2: VifFlags = VifFlags(0x80);
    /// D: DHCP.
    pub const DHCP: VifFlags = VifFlags(0x100);
    /// Vp: vhost physical.
    pub const VHOST_PHYS: VifFlags = VifFlags(0x200);
    /// Pr: promiscuous.
    pub const PROMISCUOUS: VifFlags = VifFlags(0x400);
    /// Mnp: no MAC proxy.
    pub const NO_ARP_PROXY: VifFlags = VifFlags(0x1000);
    /// Uuf: unknown unicast flood.
    pub const UNKNOWN_UC_FLOOD: VifFlags = VifFlags(0x10000);
    /// Df: drop new flows.
    pub const DROP_NEW_FLOWS: VifFlags = VifFlags(0x40000);
    /// Proxy: MAC requests proxied always.
    pub const MAC_PROXY: VifFlags = VifFlags(0x100000);
    /// L: MAC learning.
    pub const MAC_LEARN: VifFlags = VifFlags(0x80000);

    /// No flags.
    pub const fn empty() -> Self {
        VifFlags(0)
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Flags from raw bits (bits without a name are kept).
    pub const fn from_bits(bits: u32) -> Self {
        VifFlags(bits)
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: VifFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set.
    pub const fn intersects(self, other: VifFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Both sets.
    #[must_use]
    pub const fn union(self, other: VifFlags) -> Self {
        VifFlags(self.0 | other.0)
    }
}

impl core::ops::BitOr for VifFlags {
    type Output = VifFlags;
    fn bitor(self, rhs: VifFlags) -> VifFlags {
        self.union(rhs)
    }
}

/// Each flag's bit, letter and legend text, in the order `vif` prints them
/// (`utils/vif.c flag_metadata[]`).
pub const VIF_FLAG_LEGEND: [(u32, &str, &str); 27] = [
    (0x1, "P", "Policy"),
    (0x2, "X", "Cross Connect"),
    (0x4, "S", "Service Chain"),
    (0x8, "Mr", "Receive Mirror"),
    (0x10, "Mt", "Transmit Mirror"),
    (0x20, "Tc", "Transmit Checksum Offload"),
    (0x40, "L3", "Layer 3"),
    (0x80, "L2", "Layer 2"),
    (0x100, "D", "DHCP"),
    (0x200, "Vp", "Vhost Physical"),
    (0x400, "Pr", "Promiscuous"),
    (0x800, "Vnt", "Native Vlan Tagged"),
    (0x1000, "Mnp", "No MAC Proxy"),
    (0x2000, "Dpdk", "DPDK PMD Interface"),
    (0x4000, "Rfl", "Receive Filtering Offload"),
    (0x8000, "Mon", "Interface is Monitored"),
    (0x10000, "Uuf", "Unknown Unicast Flood"),
    (0x20000, "Vof", "VLAN insert/strip offload"),
    (0x40000, "Df", "Drop New Flows"),
    (0x80000, "L", "MAC Learning Enabled"),
    (0x100000, "Proxy", "MAC Requests Proxied Always"),
    (0x200000, "Er", "Etree Root"),
    (0x1000000, "Mn", "Mirror without Vlan Tag"),
    (0x8000000, "HbsL", "HBS Left Intf"),
    (0x10000000, "HbsR", "HBS Right Intf"),
    (0x2000000, "Ig", "Igmp Trap Enabled"),
    (0x40000000, "Ml", "MAC-IP Learning Enabled"),
];

impl fmt::Display for VifFlags {
    /// The letters of the set flags in `vif`'s order, or `NULL` for none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut any = false;
        for (bit, letter, _) in VIF_FLAG_LEGEND {
            if self.0 & bit != 0 {
                f.write_str(letter)?;
                any = true;
            }
        }
        if !any {
            f.write_str("NULL")?;
        }
        Ok(())
    }
}

/// Per-vif packet counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VifStats {
    /// Packets received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Packets transmitted.
    pub tx_packets: u64,
    /// Bytes transmitted.
    pub tx_bytes: u64,
    /// Transmit errors.
    pub tx_errors: u64,
}

/// A vif's configuration: what `vif --add` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VifConfig {
    /// Index.
    pub id: VifId,
    /// Type.
    pub kind: VifType,
    /// OS interface name (`tapc7807e22-f2`, `vhost0`, `eth1`).
    pub name: String,
    /// The MAC the vif shows (the vRouter MAC 00:00:5e:00:01:00 on taps).
    pub mac: MacAddr,
    /// The vif's IPv4 address, if any (vhost0's fabric address).
    pub ip: Option<Ipv4Addr>,
    /// The IPv6 address (`IP6addr:`).
    pub ip6: Option<std::net::Ipv6Addr>,
    /// The VRF packets entering the vif are looked up in.
    pub vrf: VrfId,
    /// The multicast VRF (`Mcast Vrf:`, where broadcast and multicast frames
    /// are bridged); `None` is the vif's VRF, as the agent gives taps.
    pub mcast_vrf: Option<VrfId>,
    /// The QoS map index `vif` prints as `QOS:`: -1 (none) is what the agent
    /// programs; a bare `vif --add` request, as tf-vrouter's own tests send,
    /// leaves it 0 (`vifr_qos_map_index` in `vr_interface_req`).
    pub qos_map: i16,
    /// MTU.
    pub mtu: u16,
    /// Flags. Neither L3 nor L2 set means both, as the vRouter does.
    pub flags: VifFlags,
    /// The interface's flow-key nexthop (` NH: n` in the dump), if any.
    pub nh: Option<NhId>,
}

/// A vif: its configuration and counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vif {
    /// Configuration.
    pub config: VifConfig,
    /// Packet counters.
    pub stats: VifStats,
    /// Drops counted on this vif, by reason.
    pub drops: DropCounters,
}

impl Vif {
    /// A vif with zero counters. Neither L3 nor L2 means both (`vr_interface.c`).
    pub fn new(mut config: VifConfig) -> Self {
        if !config.flags.contains(VifFlags::L3) && !config.flags.contains(VifFlags::L2) {
            config.flags = config.flags | VifFlags::L3 | VifFlags::L2;
        }
        Vif {
            config,
            stats: VifStats::default(),
            drops: DropCounters::default(),
        }
    }

    /// The index.
    pub fn id(&self) -> VifId {
        self.config.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_letters_in_vif_order() {
        let tap = VifFlags::POLICY
            | VifFlags::L3
            | VifFlags::L2
            | VifFlags::DHCP
            | VifFlags::UNKNOWN_UC_FLOOD;
        assert_eq!(tap.to_string(), "PL3L2DUuf");
        assert_eq!(VifFlags::empty().to_string(), "NULL");
    }

    #[test]
    fn neither_l3_nor_l2_means_both() {
        let v = Vif::new(VifConfig {
            id: VifId::new(1).unwrap(),
            kind: VifType::Host,
            name: "vhost0".into(),
            mac: MacAddr::zero(),
            ip: None,
            vrf: VrfId::FABRIC,
            mtu: 1514,
            mcast_vrf: None,
            qos_map: -1,
            ip6: None,
            flags: VifFlags::empty(),
            nh: None,
        });
        assert_eq!(v.config.flags.to_string(), "L3L2");
    }
}
