//! Drop reasons and their counters, named and ordered as the vRouter's
//! `dropstats` prints them (`include/vr_pkt_droplog.h`, `utils/vr_util.c`).

use core::fmt;

/// Why the vRouter dropped a packet. The variants are in `dropstats` print
/// order; [`DropReason::label`] is the text it prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DropReason {
    /// `Invalid IF`: no interface for the nexthop (`nh_encap_l3` without `nh_dev`).
    InvalidIf,
    /// `Invalid ARP`.
    InvalidArp,
    /// `Trap No IF`: nowhere to trap to.
    TrapNoIf,
    /// `IF TX Discard`.
    InterfaceTxDiscard,
    /// `IF Drop`: the frame failed to parse on the ingress vif.
    InterfaceDrop,
    /// `IF RX Discard`.
    InterfaceRxDiscard,
    /// `Flow Unusable`.
    FlowUnusable,
    /// `Flow No Memory`.
    FlowNoMemory,
    /// `Flow Table Full`.
    FlowTableFull,
    /// `Flow NAT no rflow`.
    FlowNatNoRflow,
    /// `Flow Action Drop`: the flow says drop (for example no source route, `NoSrcRt`).
    FlowActionDrop,
    /// `Flow Action Invalid`.
    FlowActionInvalid,
    /// `Flow Invalid Protocol`.
    FlowInvalidProtocol,
    /// `Flow Queue Limit Exceeded`.
    FlowQueueLimitExceeded,
    /// `New Flow Drops`.
    NewFlows,
    /// `Flow Unusable (Eviction)`.
    FlowEvict,
    /// `Original Packet Trapped`.
    TrapOriginal,
    /// `Discards`: a discard nexthop.
    Discard,
    /// `TTL Exceeded`.
    TtlExceeded,
    /// `Mcast Clone Fail`.
    McastCloneFail,
    /// `Invalid NH`: the nexthop is missing or not valid.
    InvalidNh,
    /// `Invalid Label`: no ILM entry, or a label beyond the table.
    InvalidLabel,
    /// `Invalid Protocol`.
    InvalidProtocol,
    /// `Etree Leaf to Leaf`.
    LeafToLeaf,
    /// `Bmac/ISID Mismatch`.
    BmacIsidMismatch,
    /// `Rewrite Fail`.
    RewriteFail,
    /// `Invalid Mcast Source`.
    InvalidMcastSource,
    /// `Packet Loop`.
    PacketLoop,
    /// `Push Fails`.
    Push,
    /// `Pull Fails`: a header could not be pulled (the frame is too short).
    Pull,
    /// `Duplicate`.
    Duplicated,
    /// `Head Alloc Fails` (never counted by the real vRouter).
    HeadAllocFail,
    /// `PCOW fails`.
    PcowFail,
    /// `Invalid Packets`.
    InvalidPacket,
    /// `Misc`.
    Misc,
    /// `Nowhere to go`.
    NowhereToGo,
    /// `Checksum errors`.
    ChecksumError,
    /// `No Fmd`.
    NoFmd,
    /// `Invalid VNID`: no VXLAN entry, or the I flag clear.
    InvalidVnid,
    /// `Fragment errors`.
    Fragments,
    /// `Invalid Source`: the RPF check failed.
    InvalidSource,
    /// `Jumbo Mcast Pkt with DF Bit`.
    McastDfBit,
    /// `No L2 Route`: a bridge miss without flooding.
    L2NoRoute,
    /// `Memory Failures`.
    NoMemory,
    /// `Fragment Queueing Failures`.
    FragmentQueueFail,
    /// `No Encrypt Path Failures`.
    NoCryptPath,
    /// `Invalid HBS received packet`.
    InvalidHbsPacket,
    /// `No Fragment Entries`.
    NoFragEntry,
    /// `ICMP errors`.
    IcmpError,
    /// `Clone Failures`.
    CloneFail,
    /// `Invalid underlay ECMP`.
    InvalidUnderlayEcmp,
}

impl DropReason {
    /// Every reason, in `dropstats` print order.
    pub const ALL: [DropReason; 51] = [
        DropReason::InvalidIf,
        DropReason::InvalidArp,
        DropReason::TrapNoIf,
        DropReason::InterfaceTxDiscard,
        DropReason::InterfaceDrop,
        DropReason::InterfaceRxDiscard,
        DropReason::FlowUnusable,
        DropReason::FlowNoMemory,
        DropReason::FlowTableFull,
        DropReason::FlowNatNoRflow,
        DropReason::FlowActionDrop,
        DropReason::FlowActionInvalid,
        DropReason::FlowInvalidProtocol,
        DropReason::FlowQueueLimitExceeded,
        DropReason::NewFlows,
        DropReason::FlowEvict,
        DropReason::TrapOriginal,
        DropReason::Discard,
        DropReason::TtlExceeded,
        DropReason::McastCloneFail,
        DropReason::InvalidNh,
        DropReason::InvalidLabel,
        DropReason::InvalidProtocol,
        DropReason::LeafToLeaf,
        DropReason::BmacIsidMismatch,
        DropReason::RewriteFail,
        DropReason::InvalidMcastSource,
        DropReason::PacketLoop,
        DropReason::Push,
        DropReason::Pull,
        DropReason::Duplicated,
        DropReason::HeadAllocFail,
        DropReason::PcowFail,
        DropReason::InvalidPacket,
        DropReason::Misc,
        DropReason::NowhereToGo,
        DropReason::ChecksumError,
        DropReason::NoFmd,
        DropReason::InvalidVnid,
        DropReason::Fragments,
        DropReason::InvalidSource,
        DropReason::McastDfBit,
        DropReason::L2NoRoute,
        DropReason::NoMemory,
        DropReason::FragmentQueueFail,
        DropReason::NoCryptPath,
        DropReason::InvalidHbsPacket,
        DropReason::NoFragEntry,
        DropReason::IcmpError,
        DropReason::CloneFail,
        DropReason::InvalidUnderlayEcmp,
    ];

    /// The position in print order (and in [`DropCounters`]).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The text `dropstats` prints.
    pub const fn label(self) -> &'static str {
        match self {
            DropReason::InvalidIf => "Invalid IF",
            DropReason::InvalidArp => "Invalid ARP",
            DropReason::TrapNoIf => "Trap No IF",
            DropReason::InterfaceTxDiscard => "IF TX Discard",
            DropReason::InterfaceDrop => "IF Drop",
            DropReason::InterfaceRxDiscard => "IF RX Discard",
            DropReason::FlowUnusable => "Flow Unusable",
            DropReason::FlowNoMemory => "Flow No Memory",
            DropReason::FlowTableFull => "Flow Table Full",
            DropReason::FlowNatNoRflow => "Flow NAT no rflow",
            DropReason::FlowActionDrop => "Flow Action Drop",
            DropReason::FlowActionInvalid => "Flow Action Invalid",
            DropReason::FlowInvalidProtocol => "Flow Invalid Protocol",
            DropReason::FlowQueueLimitExceeded => "Flow Queue Limit Exceeded",
            DropReason::NewFlows => "New Flow Drops",
            DropReason::FlowEvict => "Flow Unusable (Eviction)",
            DropReason::TrapOriginal => "Original Packet Trapped",
            DropReason::Discard => "Discards",
            DropReason::TtlExceeded => "TTL Exceeded",
            DropReason::McastCloneFail => "Mcast Clone Fail",
            DropReason::InvalidNh => "Invalid NH",
            DropReason::InvalidLabel => "Invalid Label",
            DropReason::InvalidProtocol => "Invalid Protocol",
            DropReason::LeafToLeaf => "Etree Leaf to Leaf",
            DropReason::BmacIsidMismatch => "Bmac/ISID Mismatch",
            DropReason::RewriteFail => "Rewrite Fail",
            DropReason::InvalidMcastSource => "Invalid Mcast Source",
            DropReason::PacketLoop => "Packet Loop",
            DropReason::Push => "Push Fails",
            DropReason::Pull => "Pull Fails",
            DropReason::Duplicated => "Duplicate",
            DropReason::HeadAllocFail => "Head Alloc Fails",
            DropReason::PcowFail => "PCOW fails",
            DropReason::InvalidPacket => "Invalid Packets",
            DropReason::Misc => "Misc",
            DropReason::NowhereToGo => "Nowhere to go",
            DropReason::ChecksumError => "Checksum errors",
            DropReason::NoFmd => "No Fmd",
            DropReason::InvalidVnid => "Invalid VNID",
            DropReason::Fragments => "Fragment errors",
            DropReason::InvalidSource => "Invalid Source",
            DropReason::McastDfBit => "Jumbo Mcast Pkt with DF Bit",
            DropReason::L2NoRoute => "No L2 Route",
            DropReason::NoMemory => "Memory Failures",
            DropReason::FragmentQueueFail => "Fragment Queueing Failures",
            DropReason::NoCryptPath => "No Encrypt Path Failures",
            DropReason::InvalidHbsPacket => "Invalid HBS received packet",
            DropReason::NoFragEntry => "No Fragment Entries",
            DropReason::IcmpError => "ICMP errors",
            DropReason::CloneFail => "Clone Failures",
            DropReason::InvalidUnderlayEcmp => "Invalid underlay ECMP",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A counter per drop reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropCounters([u64; DropReason::ALL.len()]);

impl Default for DropCounters {
    fn default() -> Self {
        DropCounters([0; DropReason::ALL.len()])
    }
}

impl DropCounters {
    /// Count one drop.
    pub fn count(&mut self, reason: DropReason) {
        self.0[reason.index()] += 1;
    }

    /// The counter of `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0[reason.index()]
    }

    /// All drops.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Each reason with a non-zero count, in print order.
    pub fn non_zero(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|&r| (r, self.get(r)))
            .filter(|&(_, n)| n != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_declaration_order() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i, "{r}");
        }
        let labels: std::collections::HashSet<_> =
            DropReason::ALL.iter().map(|r| r.label()).collect();
        assert_eq!(labels.len(), DropReason::ALL.len());
    }

    #[test]
    fn counters() {
        let mut c = DropCounters::default();
        c.count(DropReason::InvalidSource);
        c.count(DropReason::InvalidSource);
        c.count(DropReason::Discard);
        assert_eq!(c.total(), 3);
        let v: Vec<_> = c.non_zero().collect();
        assert_eq!(
            v,
            [(DropReason::Discard, 1), (DropReason::InvalidSource, 2)]
        );
    }
}
