//! The agent's role on each compute node: allocate vif, nexthop and label ids,
//! and compute the state the node's vRouter must hold ([`NodeState`]) from the
//! configuration and the control node's selected routes.
//!
//! Ids depend only on the configuration (pinned ids first, then the lowest
//! free ids in configuration order), never on the order BGP events arrived,
//! so an incrementally programmed node equals one built from scratch. The
//! exception is a Composite ECMP nexthop: its id follows the node's own ids
//! in the order composites are first needed, and its members sit in the
//! ECMP slots the control node keeps, which depend on history (a member
//! that went leaves its slot empty). The
//! price: adding or removing a VM port can renumber the unpinned objects
//! that follow it on the same node (the real agent keeps ids stable instead).

use std::collections::{BTreeMap, BTreeSet};

use vrsim_dataplane::{NhId, VifId, VrfId};
use vrsim_wire::{MacAddr, MplsLabel};

use crate::config::{ComputeConfig, Config, NetworkConfig, PortConfig};
use crate::error::ControlError;

mod plan;
mod state;

pub(crate) use state::learned_route;
pub use state::{Inputs, NodeState, Resolved};

/// The fabric vif (vif0/0).
pub const FABRIC_VIF: VifId = match VifId::new(0) {
    Some(v) => v,
    None => VifId::MAX,
};
/// vhost0 (vif0/1).
pub const VHOST_VIF: VifId = match VifId::new(1) {
    Some(v) => v,
    None => VifId::MAX,
};
/// The agent's packet interface `pkt0` (vif0/2).
pub const AGENT_VIF: VifId = match VifId::new(2) {
    Some(v) => v,
    None => VifId::MAX,
};
/// The first label the agent allocates (0–15 are reserved, RFC 3032).
pub const FIRST_LABEL: u32 = 16;

/// The ids of one network's objects on one compute node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkIds {
    /// The VRF.
    pub vrf: VrfId,
    /// The Receive nexthop of the gateway and DNS addresses.
    pub receive_nh: NhId,
    /// The L2 Receive nexthop of the vRouter MAC.
    pub l2_receive_nh: NhId,
    /// The VXLAN Vrf_Translate nexthop.
    pub vxlan_nh: NhId,
}

/// The ids of one local VM port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortIds {
    /// The tap.
    pub vif: VifId,
    /// The L3 Encap nexthop.
    pub nh: NhId,
    /// The L2 Encap nexthop.
    pub l2_nh: NhId,
    /// The MPLS label leading to `nh`.
    pub label: MplsLabel,
    /// The MPLS label leading to `l2_nh` (bridged traffic from other
    /// nodes over MPLS; the agent gives every interface nexthop of a VM
    /// port a label, `InterfaceNH::NeedMplsLabel`).
    pub l2_label: MplsLabel,
    /// The bridge index shown with the stitched MAC.
    pub bridge_index: u32,
}

/// Every id the agent of one compute node allocated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIds {
    /// vhost0's Receive nexthop.
    pub vhost_receive_nh: NhId,
    /// Per network present on the node (one with a local port).
    pub networks: BTreeMap<String, NetworkIds>,
    /// Per local port.
    pub ports: BTreeMap<String, PortIds>,
    /// The tunnel nexthop towards each remote endpoint (gateways, other computes).
    pub tunnels: BTreeMap<String, NhId>,
    /// The tunnel nexthop of bridged traffic towards each other compute
    /// node, when the encapsulation priority gives bridged traffic another
    /// encapsulation than layer 3 (VXLAN, say, where layer 3 takes
    /// MPLSoGRE); empty when bridged traffic shares the layer-3 tunnels.
    pub l2_tunnels: BTreeMap<String, NhId>,
    /// The tunnel nexthop towards each compute node, by its position in the
    /// configuration (`tunnels` without a lookup by name: a route event
    /// reads one on every node).
    by_position: Vec<Option<NhId>>,
}

impl NodeIds {
    /// Every nexthop id allocated (composites, made per route, follow them).
    pub fn nh_ids(&self) -> impl Iterator<Item = NhId> + '_ {
        let networks = self
            .networks
            .values()
            .flat_map(|n| [n.receive_nh, n.l2_receive_nh, n.vxlan_nh]);
        let ports = self.ports.values().flat_map(|p| [p.nh, p.l2_nh]);
        std::iter::once(self.vhost_receive_nh)
            .chain(networks)
            .chain(ports)
            .chain(self.tunnels.values().copied())
            .chain(self.l2_tunnels.values().copied())
    }

    /// The tunnel nexthop towards the compute node at `position` in the
    /// configuration the ids were made from.
    pub fn tunnel_at(&self, position: usize) -> Option<NhId> {
        *self.by_position.get(position)?
    }
}

/// The VRF id of every network: pinned, else the lowest free from 1 in order.
pub fn vrf_ids(config: &Config) -> Result<BTreeMap<String, VrfId>, ControlError> {
    let mut used: BTreeSet<u32> = config
        .networks
        .iter()
        .filter_map(|n| n.pins.vrf.map(u32::from))
        .collect();
    let mut next = Allocator::new(1);
    let mut out = BTreeMap::new();
    for n in &config.networks {
        let id = match n.pins.vrf {
            Some(v) => v,
            None => {
                let v = next.take(&mut used);
                u16::try_from(v).map_err(|_| ControlError::Exhausted {
                    what: "vrf",
                    node: "the control node".into(),
                })?
            }
        };
        out.insert(n.name.clone(), VrfId::from(id));
    }
    Ok(out)
}

/// Hands out the lowest ids not in use.
struct Allocator(u32);

impl Allocator {
    fn new(first: u32) -> Self {
        Allocator(first)
    }

    fn take(&mut self, used: &mut BTreeSet<u32>) -> u32 {
        while used.contains(&self.0) {
            self.0 += 1;
        }
        used.insert(self.0);
        self.0
    }
}

/// Pinned ids of one kind on one node, checked for duplicates.
struct Pins<'a> {
    node: &'a str,
    kind: &'static str,
    owners: BTreeMap<u32, String>,
}

impl<'a> Pins<'a> {
    fn new(node: &'a str, kind: &'static str) -> Self {
        Pins {
            node,
            kind,
            owners: BTreeMap::new(),
        }
    }

    fn pin(&mut self, id: Option<u32>, owner: impl Fn() -> String) -> Result<(), ControlError> {
        let Some(id) = id else { return Ok(()) };
        if let Some(first) = self.owners.insert(id, owner()) {
            return Err(ControlError::DuplicatePin {
                what: format!("{} {id} on {}", self.kind, self.node),
                first,
                second: owner(),
            });
        }
        Ok(())
    }

    fn used(&self) -> BTreeSet<u32> {
        self.owners.keys().copied().collect()
    }
}

fn nh_id(v: u32, node: &str) -> Result<NhId, ControlError> {
    NhId::try_from(u64::from(v)).map_err(|e| ControlError::OutOfRange {
        what: format!("{e} on {node}"),
    })
}

/// The ids in use on a node, per kind.
struct Used {
    nhs: BTreeSet<u32>,
    vifs: BTreeSet<u32>,
    labels: BTreeSet<u32>,
}

/// What lives on one compute node, in configuration order: its ports, the
/// networks they are on, and the remote endpoints (gateways, then the other
/// compute nodes) it may tunnel to.
struct Local<'c> {
    node: &'c str,
    compute: &'c ComputeConfig,
    ports: Vec<&'c PortConfig>,
    networks: Vec<&'c NetworkConfig>,
    remotes: Vec<&'c str>,
}

impl<'c> Local<'c> {
    fn new(config: &'c Config, node: &'c str) -> Result<Self, ControlError> {
        let compute = config.compute(node).ok_or_else(|| ControlError::Unknown {
            kind: "compute node",
            name: node.to_owned(),
            by: "the agent".into(),
        })?;
        let ports: Vec<&PortConfig> = config.ports.iter().filter(|p| p.compute == node).collect();
        let networks = config
            .networks
            .iter()
            .filter(|n| ports.iter().any(|p| p.network == n.name))
            .collect();
        let others = config.computes.iter().filter(|c| c.name != node);
        let remotes = config
            .gateways
            .iter()
            .map(|g| g.name.as_str())
            .chain(others.map(|c| c.name.as_str()))
            .collect();
        Ok(Local {
            node,
            compute,
            ports,
            networks,
            remotes,
        })
    }

    /// Every pinned id, checked for clashes: the ids in use before any is
    /// allocated (nexthops, vifs, labels).
    fn pinned(&self) -> Result<Used, ControlError> {
        let node = self.node;
        let mut nh_pins = Pins::new(node, "nh");
        let mut vif_pins = Pins::new(node, "vif");
        let mut label_pins = Pins::new(node, "label");
        for v in [FABRIC_VIF, VHOST_VIF, AGENT_VIF] {
            vif_pins.pin(Some(u32::from(v.value())), || "the agent".into())?;
        }
        nh_pins.pin(self.compute.vhost_receive_nh, || {
            format!("compute node {node}")
        })?;
        for n in &self.networks {
            let who = || format!("network {}", n.name);
            nh_pins.pin(n.pins.receive_nh, who)?;
            nh_pins.pin(n.pins.l2_receive_nh, who)?;
            nh_pins.pin(n.pins.vxlan_nh, who)?;
        }
        for p in &self.ports {
            let who = || format!("VM port {}", p.name);
            vif_pins.pin(p.pins.vif.map(u32::from), who)?;
            nh_pins.pin(p.pins.nh, who)?;
            nh_pins.pin(p.pins.l2_nh, who)?;
            label_pins.pin(p.pins.label, who)?;
        }
        for r in &self.remotes {
            nh_pins.pin(self.compute.tunnel_nh.get(*r).copied(), || {
                format!("compute node {node}'s tunnel to {r}")
            })?;
        }
        let mut nh_used = nh_pins.used();
        nh_used.insert(0);
        Ok(Used {
            nhs: nh_used,
            vifs: vif_pins.used(),
            labels: label_pins.used(),
        })
    }
}

/// The ids of every object the agent of `node` programs: pinned ids first,
/// then the lowest free ones in configuration order.
pub fn node_ids(config: &Config, node: &str) -> Result<NodeIds, ControlError> {
    let local = Local::new(config, node)?;
    let Used {
        nhs: mut nh_used,
        vifs: mut vif_used,
        labels: mut label_used,
    } = local.pinned()?;
    let mut nhs = Allocator::new(1);
    let mut nh = |pin: Option<u32>| nh_id(pin.unwrap_or_else(|| nhs.take(&mut nh_used)), node);

    let vhost_receive_nh = nh(local.compute.vhost_receive_nh)?;
    let vrfs = vrf_ids(config)?;
    let mut networks = BTreeMap::new();
    for n in &local.networks {
        let ids = NetworkIds {
            vrf: vrfs[&n.name],
            receive_nh: nh(n.pins.receive_nh)?,
            l2_receive_nh: nh(n.pins.l2_receive_nh)?,
            vxlan_nh: nh(n.pins.vxlan_nh)?,
        };
        networks.insert(n.name.clone(), ids);
    }
    let mut vifs = Allocator::new(3);
    let mut labels = Allocator::new(FIRST_LABEL);
    let mut ports = BTreeMap::new();
    let mut l2_labels = Vec::new();
    for p in &local.ports {
        let vif = p
            .pins
            .vif
            .map_or_else(|| vifs.take(&mut vif_used), u32::from);
        let label = p.pins.label.unwrap_or_else(|| labels.take(&mut label_used));
        let ids = PortIds {
            vif: VifId::try_from(u64::from(vif)).map_err(|e| ControlError::OutOfRange {
                what: format!("{e} (VM port {})", p.name),
            })?,
            nh: nh(p.pins.nh)?,
            l2_nh: nh(p.pins.l2_nh)?,
            label: MplsLabel::new(label).ok_or_else(|| ControlError::OutOfRange {
                what: format!("label {label} (VM port {})", p.name),
            })?,
            // Given below, after every port's layer-3 label.
            l2_label: MplsLabel::new(FIRST_LABEL).unwrap_or(MplsLabel::MAX),
            bridge_index: p
                .pins
                .bridge_index
                .unwrap_or_else(|| bridge_index(vrfs[&p.network], p.mac)),
        };
        ports.insert(p.name.clone(), ids);
        l2_labels.push(p.name.as_str());
    }
    // The layer-2 labels follow the layer-3 ones, so that adding them kept
    // every earlier label.
    for name in l2_labels {
        let label = labels.take(&mut label_used);
        let l2 = MplsLabel::new(label).ok_or_else(|| ControlError::OutOfRange {
            what: format!("label {label} (VM port {name}, layer 2)"),
        })?;
        if let Some(p) = ports.get_mut(name) {
            p.l2_label = l2;
        }
    }
    let mut tunnels = BTreeMap::new();
    for r in &local.remotes {
        tunnels.insert(
            (*r).to_owned(),
            nh(local.compute.tunnel_nh.get(*r).copied())?,
        );
    }
    let l2_tunnels = l2_tunnels(config, node, &mut nh)?;
    let by_position = config
        .computes
        .iter()
        .map(|c| tunnels.get(&c.name).copied())
        .collect();
    Ok(NodeIds {
        vhost_receive_nh,
        networks,
        ports,
        tunnels,
        l2_tunnels,
        by_position,
    })
}

/// The tunnels of bridged traffic to the other compute nodes, ids from
/// `nh` (after every other id): none when bridged traffic takes the
/// layer-3 encapsulation, whose tunnels it then shares.
fn l2_tunnels(
    config: &Config,
    node: &str,
    nh: &mut impl FnMut(Option<u32>) -> Result<NhId, ControlError>,
) -> Result<BTreeMap<String, NhId>, ControlError> {
    let (l3, l2) = (
        crate::encap::layer3(config, node).map(|c| c.encap),
        crate::encap::layer2(config).map(|c| c.encap),
    );
    let mut out = BTreeMap::new();
    if l2 != l3 {
        for c in config.computes.iter().filter(|c| c.name != node) {
            out.insert(c.name.clone(), nh(None)?);
        }
    }
    Ok(out)
}

/// A bridge-table index for a MAC in a VRF: a hash into the vRouter's
/// default 256K-entry table (the real index depends on its hash and
/// collisions; this one is vrsim's own and stable).
pub fn bridge_index(vrf: VrfId, mac: MacAddr) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in vrf.value().to_be_bytes().into_iter().chain(mac.octets()) {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h % (256 * 1024)
}
