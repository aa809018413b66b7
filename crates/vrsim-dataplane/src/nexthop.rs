//! Nexthops (reference: `include/vr_nexthop.h`, `dp-core/vr_nexthop.c`, `utils/nh.c`).

use core::fmt;
use std::net::Ipv4Addr;

use smallvec::SmallVec;
use vrsim_wire::ethernet::EthernetRepr;
use vrsim_wire::{EtherType, MacAddr, MplsLabel};

use crate::ids::{NhId, VifId, VrfId};

/// The address family of a nexthop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NhFamily {
    /// AF_INET (2): layer-3 IPv4 (and the vRouter's default).
    Inet,
    /// AF_INET6 (10).
    Inet6,
    /// AF_BRIDGE (7): layer 2.
    Bridge,
}

impl NhFamily {
    /// The name `nh` prints.
    pub const fn name(self) -> &'static str {
        match self {
            NhFamily::Inet => "AF_INET",
            NhFamily::Inet6 => "AF_INET6",
            NhFamily::Bridge => "AF_BRIDGE",
        }
    }
}

/// Nexthop flags (`NH_FLAG_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NhFlags(u32);

impl NhFlags {
    /// Valid: a nexthop without it drops as `Invalid NH`.
    pub const VALID: NhFlags = NhFlags(0x1);
    /// Policy: packets through it go through the flow table (and RPF).
    pub const POLICY: NhFlags = NhFlags(0x2);
    /// MPLSoGRE tunnel (set by [`NhKind::Tunnel`]).
    pub const TUNNEL_GRE: NhFlags = NhFlags(0x8);
    /// Plain UDP tunnel (set by [`NhKind::UdpTunnel`]).
    pub const TUNNEL_UDP: NhFlags = NhFlags(0x10);
    /// MPLSoUDP tunnel (set by [`NhKind::Tunnel`]).
    pub const TUNNEL_UDP_MPLS: NhFlags = NhFlags(0x40);
    /// VXLAN tunnel, and the VRF-translate "vxlan" marker.
    pub const TUNNEL_VXLAN: NhFlags = NhFlags(0x80);
    /// Relaxed policy.
    pub const RELAXED_POLICY: NhFlags = NhFlags(0x100);
    /// ECMP composite (set by [`NhKind::Composite`]).
    pub const COMPOSITE_ECMP: NhFlags = NhFlags(0x400);
    /// Unknown unicast flood.
    pub const UNKNOWN_UC_FLOOD: NhFlags = NhFlags(0x10000);
    /// Flow lookup.
    pub const FLOW_LOOKUP: NhFlags = NhFlags(0x40000);

    /// No flags.
    pub const fn empty() -> Self {
        NhFlags(0)
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Flags from raw bits.
    pub const fn from_bits(bits: u32) -> Self {
        NhFlags(bits)
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: NhFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for NhFlags {
    type Output = NhFlags;
    fn bitor(self, rhs: NhFlags) -> NhFlags {
        NhFlags(self.0 | rhs.0)
    }
}

/// The label `nh` prints for each flag bit, scanned from the lowest bit up.
const NH_FLAG_LABELS: [(u32, &str); 26] = [
    (0x1, "Valid"),
    (0x2, "Policy"),
    (0x8, "MPLSoGRE"),
    (0x10, "Udp"),
    (0x20, "Multicast"),
    (0x40, "MPLSoUDP"),
    (0x80, "Vxlan"),
    (0x100, "Policy(R)"),
    (0x200, "Fabric"),
    (0x400, "Ecmp"),
    (0x1000, "Evpn"),
    (0x2000, "Encap"),
    (0x4000, "Tor"),
    (0x8000, "RouteLookup"),
    (0x10000, "Unicast Flood"),
    (0x20000, "Copy SIP"),
    (0x40000, "Flow Lookup"),
    (0x80000, "Pbb"),
    (0x100000, "Mac Learn"),
    (0x200000, "Etree Root"),
    (0x400000, "Indirect"),
    (0x800000, "Evpn Control Word"),
    (0x1000000, "Encrypt Traffic"),
    (0x2000000, "l3_vxlan"),
    (0x10000000, "Underlay Ecmp"),
    (0x8000000, ""),
];

impl NhFlags {
    /// The flag `nh` prints as `label` (`Valid`, `Policy`, `Etree Root`, …).
    pub fn from_label(label: &str) -> Option<NhFlags> {
        NH_FLAG_LABELS
            .iter()
            .find(|(_, l)| !l.is_empty() && *l == label)
            .map(|(bit, _)| NhFlags(*bit))
    }
}

impl fmt::Display for NhFlags {
    /// Each label followed by `", "`, as `nh` prints them; `None` for no flags.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("None");
        }
        for (bit, label) in NH_FLAG_LABELS {
            if self.0 & bit != 0 && !label.is_empty() {
                write!(f, "{label}, ")?;
            }
        }
        Ok(())
    }
}

/// The encapsulation of a tunnel nexthop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelEncap {
    /// MPLS over GRE (RFC 4023).
    MplsOverGre,
    /// MPLS over UDP (RFC 7510), destination port 6635.
    MplsOverUdp,
    /// VXLAN (RFC 7348), destination port 4789.
    Vxlan,
}

impl TunnelEncap {
    /// The name the vRouter's tools print: `MPLSoGRE`, `MPLSoUDP`, `VXLAN`.
    pub const fn name(self) -> &'static str {
        match self {
            TunnelEncap::MplsOverGre => "MPLSoGRE",
            TunnelEncap::MplsOverUdp => "MPLSoUDP",
            TunnelEncap::Vxlan => "VXLAN",
        }
    }
}

/// One member of an ECMP composite nexthop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EcmpMember {
    /// The member nexthop; `None` for an empty slot (`-1` in `nh` dumps), as
    /// the agent leaves where a member went, so that the others keep their
    /// positions and their flows (`nh_composite_add` keeps such slots).
    pub nh: Option<NhId>,
    /// The label pushed when the member is a tunnel.
    pub label: Option<MplsLabel>,
}

/// What a nexthop does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NhKind {
    /// `Drop`: discard, counted as `Discards`.
    Discard,
    /// `Receive`: to the host (vhost), or tunnel decapsulation.
    Receive {
        /// The vhost vif.
        oif: VifId,
    },
    /// `Encap`: rewrite the Ethernet header and send out of a local vif.
    Encap {
        /// The outgoing vif.
        oif: VifId,
        /// The 14-byte rewrite: destination MAC, source MAC, EtherType.
        rewrite: [u8; 14],
        /// The encapsulation family the agent gives (`EncapFmly`, 0x0806 for
        /// the L3 interface nexthops of VMs).
        encap_family: u16,
    },
    /// `Tunnel`: push a tunnel towards another compute node.
    Tunnel {
        /// MPLSoGRE, MPLSoUDP or VXLAN.
        encap: TunnelEncap,
        /// The fabric vif.
        oif: VifId,
        /// The outer Ethernet rewrite.
        rewrite: [u8; 14],
        /// Outer source address (this node's vhost address).
        sip: Ipv4Addr,
        /// Outer destination address (the remote node).
        dip: Ipv4Addr,
    },
    /// `Tunnel` with `Udp` (`NH_FLAG_TUNNEL_UDP`, `nh_udp_tunnel`): IPv4 and
    /// UDP pushed in front of the packet, which is then routed again on its
    /// new destination (`vr_forward`); the nexthop has no vif of its own.
    UdpTunnel {
        /// Outer source address.
        sip: Ipv4Addr,
        /// Outer destination address.
        dip: Ipv4Addr,
        /// The UDP source port when the packet has no flow key to hash.
        sport: u16,
        /// The UDP destination port.
        dport: u16,
    },
    /// `Vrf_Translate`: continue the lookup in another VRF.
    VrfTranslate {
        /// The VRF to look up in.
        vrf: VrfId,
    },
    /// `Composite` ECMP: one member chosen by a flow hash.
    Composite {
        /// The members.
        members: SmallVec<[EcmpMember; 4]>,
    },
    /// `L2 Receive`: the frame is for the vRouter itself; continue at layer 3.
    L2Receive,
}

impl NhKind {
    /// The type name `nh` prints.
    pub const fn type_name(&self) -> &'static str {
        match self {
            NhKind::Discard => "Drop",
            NhKind::Receive { .. } => "Receive",
            NhKind::Encap { .. } => "Encap",
            NhKind::Tunnel { .. } | NhKind::UdpTunnel { .. } => "Tunnel",
            NhKind::VrfTranslate { .. } => "Vrf_Translate",
            NhKind::Composite { .. } => "Composite",
            NhKind::L2Receive => "L2 Receive",
        }
    }

    /// The vif the nexthop sends out of, if any.
    pub fn oif(&self) -> Option<VifId> {
        match self {
            NhKind::Receive { oif } | NhKind::Encap { oif, .. } | NhKind::Tunnel { oif, .. } => {
                Some(*oif)
            }
            _ => None,
        }
    }
}

/// The 14-byte Ethernet rewrite of a nexthop that sends IPv4 from `src` to
/// `dst` (an Encap nexthop towards a VM, a Tunnel's outer header), as the
/// agent programs it.
pub fn ipv4_rewrite(dst: MacAddr, src: MacAddr) -> [u8; 14] {
    EthernetRepr {
        dst,
        src,
        ethertype: EtherType::Ipv4,
    }
    .to_bytes()
}

/// A nexthop as configured (`nh --create`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NexthopConfig {
    /// The id.
    pub id: NhId,
    /// What it does.
    pub kind: NhKind,
    /// Its family.
    pub family: NhFamily,
    /// Flags (the tunnel and ECMP flags follow from the kind and need not be given).
    pub flags: NhFlags,
    /// The VRF the nexthop belongs to (`Vrf:` in the dump).
    pub vrf: VrfId,
}

impl NexthopConfig {
    /// The flags the vRouter holds: the given ones plus those the kind implies.
    pub fn effective_flags(&self) -> NhFlags {
        let implied = match &self.kind {
            NhKind::Tunnel {
                encap: TunnelEncap::MplsOverGre,
                ..
            } => NhFlags::TUNNEL_GRE,
            NhKind::Tunnel {
                encap: TunnelEncap::MplsOverUdp,
                ..
            } => NhFlags::TUNNEL_UDP_MPLS,
            NhKind::Tunnel {
                encap: TunnelEncap::Vxlan,
                ..
            } => NhFlags::TUNNEL_VXLAN,
            NhKind::Composite { .. } => NhFlags::COMPOSITE_ECMP,
            NhKind::UdpTunnel { .. } => NhFlags::TUNNEL_UDP,
            _ => NhFlags::empty(),
        };
        self.flags | implied
    }

    /// The nexthops this one refers to (composite members).
    pub fn referenced_nhs(&self) -> impl Iterator<Item = NhId> + '_ {
        let members: &[EcmpMember] = match &self.kind {
            NhKind::Composite { members } => members,
            _ => &[],
        };
        members.iter().filter_map(|m| m.nh)
    }
}

impl EcmpMember {
    /// The member's nexthop id as the vRouter reports it: `-1` for an empty
    /// slot (what `vr_nexthop_make_req` reports for it).
    pub fn id(&self) -> i64 {
        self.nh.map_or(-1, |n| i64::from(n.value()))
    }
}

/// Why a packet took the slot of an ECMP composite it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EcmpWhy {
    /// Its flow is pinned to the slot (the flow's `E:n`).
    Pinned,
    /// The flow hash modulo the number of slots picked it.
    Hash {
        /// The flow hash.
        hash: u32,
        /// The number of slots.
        slots: usize,
    },
    /// The hash fell on an empty slot (a member that went), so it was
    /// taken modulo the members present instead.
    EmptySlot {
        /// The flow hash.
        hash: u32,
        /// The empty slot it fell on.
        empty: usize,
        /// The members present.
        present: usize,
    },
    /// The hash fell on a tunnel member or an empty slot, and the packet
    /// came from the fabric, which is never sent back into it: the hash
    /// modulo the local members present (the agent's
    /// `CompositeNH::PickMember` without `ingress`).
    FromFabric {
        /// The flow hash.
        hash: u32,
        /// The slot it fell on.
        slot: usize,
        /// Whether that slot is empty (else it holds a tunnel).
        empty: bool,
        /// The local members present.
        local: usize,
    },
}

impl core::fmt::Display for EcmpWhy {
    /// `pinned by the flow`, `hash 0x9e3779b9 % 2 slots`, or
    /// `hash 0x9e3779b9 % 3 slots is empty slot 1, % 2 members present`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            EcmpWhy::Pinned => write!(f, "pinned by the flow"),
            EcmpWhy::Hash { hash, slots } => write!(f, "hash {hash:#010x} % {slots} slots"),
            EcmpWhy::EmptySlot {
                hash,
                empty,
                present,
            } => write!(
                f,
                "hash {hash:#010x} is empty slot {empty}, % {present} members present"
            ),
            EcmpWhy::FromFabric {
                hash,
                slot,
                empty,
                local,
            } => write!(
                f,
                "hash {hash:#010x} is {} slot {slot} but the packet came from the fabric, % {local} local members",
                if empty { "empty" } else { "tunnel" }
            ),
        }
    }
}

/// The slot of an ECMP composite's `members` that a packet with flow hash
/// `hash` takes, as `nh_composite_ecmp_select_nh` picks it: the hash modulo
/// the number of slots; when that slot is empty, the hash modulo the number
/// of members present, among those in order. `None` when no member is
/// present (the packet is then dropped as Invalid NH).
pub fn ecmp_slot(members: &[EcmpMember], hash: u32) -> Option<usize> {
    ecmp_choice(members, hash).map(|(slot, _)| slot)
}

/// [`ecmp_slot`], with why.
pub fn ecmp_choice(members: &[EcmpMember], hash: u32) -> Option<(usize, EcmpWhy)> {
    let (slot, fallback) = ecmp_pick(members, hash, |m| m.nh.is_some())?;
    let why = match fallback {
        None => EcmpWhy::Hash {
            hash,
            slots: members.len(),
        },
        Some((empty, present)) => EcmpWhy::EmptySlot {
            hash,
            empty,
            present,
        },
    };
    Some((slot, why))
}

/// The rule both the vRouter (`nh_composite_ecmp_select_nh`) and the
/// agent (`CompositeNH::PickMember`) pick a slot by, over the members that
/// `qualify`: the hash modulo the slots; when that slot does not qualify,
/// the hash modulo the qualifying members, among those in order. Returns
/// the slot and, when the fallback chose it, the slot the hash fell on and
/// how many qualified; `None` when none does.
pub fn ecmp_pick(
    members: &[EcmpMember],
    hash: u32,
    qualifies: impl Fn(&EcmpMember) -> bool,
) -> Option<(usize, Option<(usize, usize)>)> {
    let at = usize::try_from(hash.checked_rem(u32::try_from(members.len()).ok()?)?).ok()?;
    if qualifies(members.get(at)?) {
        return Some((at, None));
    }
    let candidates = || members.iter().enumerate().filter(|(_, m)| qualifies(m));
    let n = candidates().count();
    let k = usize::try_from(hash.checked_rem(u32::try_from(n).ok()?)?).ok()?;
    let (slot, _) = candidates().nth(k)?;
    Some((slot, Some((at, n))))
}

/// The discard nexthop every vRouter has as nh 0 (`nh_allocate_discard`).
pub fn discard_nh() -> NexthopConfig {
    NexthopConfig {
        id: NhId::DISCARD,
        kind: NhKind::Discard,
        family: NhFamily::Inet,
        flags: NhFlags::VALID,
        vrf: VrfId::FABRIC,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `nh_composite_ecmp_select_nh`: the hash modulo the slots, and when
    /// that slot is empty the hash modulo the members present.
    #[test]
    fn an_empty_slot_sends_its_share_over_the_members_present() {
        let m = |id: Option<u32>| EcmpMember {
            nh: id.and_then(NhId::new),
            label: None,
        };
        let members = [m(Some(20)), m(None), m(Some(22)), m(Some(23))];
        // 5 % 4 = 1, empty: 5 % 3 = 2, the third present (slot 3).
        assert_eq!(ecmp_slot(&members, 5), Some(3));
        // 6 % 4 = 2, present.
        assert_eq!(ecmp_slot(&members, 6), Some(2));
        // 1 % 4 = 1, empty: 1 % 3 = 1, the second present (slot 2).
        assert_eq!(ecmp_slot(&members, 1), Some(2));
        assert_eq!(ecmp_slot(&[m(None), m(None)], 7), None);
        assert_eq!(ecmp_slot(&[], 7), None);
        assert_eq!(members[1].id(), -1);
        assert_eq!(members[3].id(), 23);
    }

    #[test]
    fn flag_labels() {
        assert_eq!(
            (NhFlags::VALID | NhFlags::POLICY).to_string(),
            "Valid, Policy, "
        );
        assert_eq!(
            (NhFlags::VALID | NhFlags::TUNNEL_VXLAN | NhFlags::UNKNOWN_UC_FLOOD).to_string(),
            "Valid, Vxlan, Unicast Flood, "
        );
        assert_eq!(NhFlags::empty().to_string(), "None");
    }
}
