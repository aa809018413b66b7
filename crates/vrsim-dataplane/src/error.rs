//! The dataplane's one error type: a configuration change the vRouter
//! refuses, or a lookup of an object it does not have. Each names the object
//! and what it refers to.

use ipnet::IpNet;
use vrsim_wire::{MplsLabel, Vni};

use core::fmt;

use crate::ids::{NhId, VifId, VrfId};

/// What the vRouter refuses: a configuration change (nothing is applied when
/// one is returned), or a lookup (`vif --get`, `nh --get`, …) of an object it
/// does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DataplaneError {
    /// A vif with this index exists already.
    #[error("vif {vif} already exists")]
    VifExists {
        /// The vif.
        vif: VifId,
    },
    /// No vif with this index.
    #[error("vif {vif} does not exist")]
    NoSuchVif {
        /// The vif.
        vif: VifId,
    },
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
    #[error("composite nh {nh} has no members")]
    EmptyComposite {
        /// The composite.
        nh: NhId,
    },
    /// No flow at this index.
    #[error("flow {index} does not exist")]
    NoSuchFlow {
        /// The index.
        index: u32,
    },
    /// A flow with this key exists already.
    #[error("a flow with this key exists already, at index {index}")]
    FlowExists {
        /// Its index.
        index: u32,
    },
    /// A change names a flow index whose flow has another key.
    #[error("flow {index} has another key")]
    FlowKeyMismatch {
        /// The index.
        index: u32,
    },
    /// No free entry in the key's bucket nor in the overflow table.
    #[error(
        "the flow table is full (no free entry in the bucket of index {bucket}, nor in the overflow table)"
    )]
    FlowTableFull {
        /// The key's bucket.
        bucket: u32,
    },
    /// No nexthop with this id.
    #[error("nh {nh} does not exist")]
    NoSuchNh {
        /// The nexthop.
        nh: NhId,
    },
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
    #[error("label {label} is not mapped")]
    NoSuchLabel {
        /// The label.
        label: MplsLabel,
    },
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
    #[error("vnid {vni} is not mapped")]
    NoSuchVnid {
        /// The VNID.
        vni: Vni,
    },
    /// An identifier out of its range.
    #[error("{what} {value} out of range (maximum {max})")]
    IdOutOfRange {
        /// The kind of identifier.
        what: &'static str,
        /// The value given.
        value: u64,
        /// The largest valid value.
        max: u64,
    },
    /// A lookup of an object the vRouter does not have (a dump's `--get`).
    #[error("{object}: no such {}", object.noun())]
    NotFound {
        /// What was asked for.
        object: ObjectKey,
    },
}

impl DataplaneError {
    /// The line the vRouter's CLI prints for a failed lookup: the kernel's
    /// errno, as `vr_response_common_process` shows it (`-ENODEV` for a
    /// missing vif, `-ENOENT` for the rest).
    pub fn vrouter_response(&self) -> &'static str {
        match self {
            DataplaneError::NotFound {
                object: ObjectKey::Vif(_),
            } => "vRouter(Response): No such device (19)",
            _ => "vRouter(Response): No such file or directory (2)",
        }
    }
}

/// An object of the vRouter, by its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectKey {
    /// A vif.
    Vif(VifId),
    /// A nexthop.
    Nh(NhId),
    /// An entry of the MPLS label table.
    Label(MplsLabel),
    /// An entry of the VXLAN table.
    Vnid(Vni),
    /// A VRF.
    Vrf(VrfId),
}

impl ObjectKey {
    /// What the vRouter's CLI calls such an object when it is missing.
    fn noun(&self) -> &'static str {
        match self {
            ObjectKey::Vif(_) => "interface",
            ObjectKey::Nh(_) => "nexthop",
            ObjectKey::Label(_) => "label",
            ObjectKey::Vnid(_) => "vnid",
            ObjectKey::Vrf(_) => "vrf",
        }
    }
}

impl fmt::Display for ObjectKey {
    /// `vif 3`, `nh 90`, `mpls label 35`, `vxlan vnid 4`, `vrf 1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectKey::Vif(v) => write!(f, "vif {v}"),
            ObjectKey::Nh(n) => write!(f, "nh {n}"),
            ObjectKey::Label(l) => write!(f, "mpls label {l}"),
            ObjectKey::Vnid(v) => write!(f, "vxlan vnid {v}"),
            ObjectKey::Vrf(v) => write!(f, "vrf {v}"),
        }
    }
}

/// `TryFrom<u64>` for the bounded ids, failing with
/// [`DataplaneError::IdOutOfRange`].
macro_rules! try_from_u64 {
    ($($id:ty),*) => {$(
        impl TryFrom<u64> for $id {
            type Error = DataplaneError;

            fn try_from(value: u64) -> Result<Self, DataplaneError> {
                <$id>::from_u64(value).ok_or(DataplaneError::IdOutOfRange {
                    what: <$id>::KIND,
                    value,
                    max: u64::from(<$id>::MAX.value()),
                })
            }
        }
    )*};
}

try_from_u64!(VifId, NhId, VrfId);
