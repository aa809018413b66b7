//! Configuration errors: each names the object and what it refers to.

use ipnet::IpNet;
use vrsim_wire::{MplsLabel, Vni};

use crate::ids::{NhId, VifId, VrfId};

/// A configuration change the vRouter refuses. Nothing is applied when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A vif with this index exists already.
    #[error("vif {0} already exists")]
    VifExists(VifId),
    /// No vif with this index.
    #[error("vif {0} does not exist")]
    NoSuchVif(VifId),
    /// A vif cannot be deleted while nexthops send out of it.
    #[error("vif {vif} is still the outgoing interface of nh {nh}")]
    VifInUse {
        /// The vif.
        vif: VifId,
        /// A nexthop that uses it.
        nh: NhId,
    },
    /// A nexthop names an outgoing vif that does not exist.
    #[error("nh {nh} names vif {vif}, which does not exist")]
    NhOifMissing {
        /// The nexthop.
        nh: NhId,
        /// The missing vif.
        vif: VifId,
    },
    /// A composite nexthop names a member that does not exist (or itself).
    #[error("nh {nh} names member nh {member}, which does not exist")]
    NhMemberMissing {
        /// The composite.
        nh: NhId,
        /// The missing member.
        member: NhId,
    },
    /// A composite whose members lead back to itself.
    #[error("nh {nh} would reach itself through member nh {via}")]
    NhLoop {
        /// The composite.
        nh: NhId,
        /// The member through which it loops.
        via: NhId,
    },
    /// A composite without members.
    #[error("composite nh {0} has no members")]
    EmptyComposite(NhId),
    /// No nexthop with this id.
    #[error("nh {0} does not exist")]
    NoSuchNh(NhId),
    /// Nexthop 0 is the discard nexthop; it cannot be replaced or deleted.
    #[error("nh 0 is the discard nexthop and cannot be changed")]
    DiscardNhFixed,
    /// A nexthop cannot be deleted while routes, labels or other nexthops refer to it.
    #[error("nh {nh} is still referenced {refs} times")]
    NhInUse {
        /// The nexthop.
        nh: NhId,
        /// How many objects refer to it.
        refs: u32,
    },
    /// A route names a nexthop that does not exist.
    #[error("route {prefix} in vrf {vrf} names nh {nh}, which does not exist")]
    RouteNhMissing {
        /// The VRF.
        vrf: VrfId,
        /// The prefix.
        prefix: IpNet,
        /// The missing nexthop.
        nh: NhId,
    },
    /// A route to a tunnel nexthop needs a label (flag L), as `__mtrie_add` requires.
    #[error("route {prefix} in vrf {vrf} points at tunnel nh {nh} without a label")]
    TunnelRouteWithoutLabel {
        /// The VRF.
        vrf: VrfId,
        /// The prefix.
        prefix: IpNet,
        /// The tunnel nexthop.
        nh: NhId,
    },
    /// No such route.
    #[error("no route {prefix} in vrf {vrf}")]
    NoSuchRoute {
        /// The VRF.
        vrf: VrfId,
        /// The prefix.
        prefix: IpNet,
    },
    /// No such bridge entry.
    #[error("no bridge entry {mac} in vrf {vrf}")]
    NoSuchBridgeEntry {
        /// The VRF.
        vrf: VrfId,
        /// The MAC, as text.
        mac: String,
    },
    /// A bridge entry names a nexthop that does not exist.
    #[error("bridge entry {mac} in vrf {vrf} names nh {nh}, which does not exist")]
    BridgeNhMissing {
        /// The VRF.
        vrf: VrfId,
        /// The MAC, as text.
        mac: String,
        /// The missing nexthop.
        nh: NhId,
    },
    /// A label at or beyond the size of the label table.
    #[error("label {label} is beyond the label table ({size} labels)")]
    LabelOutOfRange {
        /// The label.
        label: MplsLabel,
        /// The table size.
        size: u32,
    },
    /// A label mapped already.
    #[error("label {label} is already mapped to nh {nh}")]
    LabelExists {
        /// The label.
        label: MplsLabel,
        /// Its nexthop.
        nh: NhId,
    },
    /// A label names a nexthop that does not exist.
    #[error("label {label} names nh {nh}, which does not exist")]
    LabelNhMissing {
        /// The label.
        label: MplsLabel,
        /// The missing nexthop.
        nh: NhId,
    },
    /// No such label.
    #[error("label {0} is not mapped")]
    NoSuchLabel(MplsLabel),
    /// A VNID mapped already.
    #[error("vnid {vni} is already mapped to nh {nh}")]
    VnidExists {
        /// The VNID.
        vni: Vni,
        /// Its nexthop.
        nh: NhId,
    },
    /// A VNID names a nexthop that does not exist.
    #[error("vnid {vni} names nh {nh}, which does not exist")]
    VnidNhMissing {
        /// The VNID.
        vni: Vni,
        /// The missing nexthop.
        nh: NhId,
    },
    /// No such VNID.
    #[error("vnid {0} is not mapped")]
    NoSuchVnid(Vni),
}
