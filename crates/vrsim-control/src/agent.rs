//! The agent's role on each compute node: allocate vif, nexthop and label ids,
//! and compute the state the node's vRouter must hold ([`NodeState`]) from the
//! configuration and the control node's selected routes.
//!
//! Ids depend only on the configuration (pinned ids first, then the lowest
//! free ids in configuration order), never on the order BGP events arrived,
//! so an incrementally programmed node equals one built from scratch. The
//! price: adding or removing a VM port can renumber the unpinned objects
//! that follow it on the same node (the real agent keeps ids stable instead).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use vrsim_dataplane::nexthop::{NexthopConfig, NhFamily, NhFlags, NhKind, TunnelEncap};
use vrsim_dataplane::route::{BridgeEntry, Route, RouteFlags};
use vrsim_dataplane::vif::{VifConfig, VifFlags, VifType};
use vrsim_dataplane::{NhId, VifId, VrfId};
use vrsim_wire::{MacAddr, MplsLabel};

use crate::bgp::Selection;
use crate::config::{Config, PortConfig, VROUTER_MAC};
use crate::error::ControlError;

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
}

/// The state a vRouter must hold, as ordered maps (so two states compare and
/// diff deterministically).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeState {
    /// vifs.
    pub vifs: BTreeMap<VifId, VifConfig>,
    /// Nexthops.
    pub nhs: BTreeMap<NhId, NexthopConfig>,
    /// The MPLS ILM.
    pub labels: BTreeMap<MplsLabel, NhId>,
    /// The VXLAN table.
    pub vnids: BTreeMap<u32, NhId>,
    /// IPv4 routes.
    pub routes: BTreeMap<(VrfId, Ipv4Net), Route>,
    /// Bridge entries, keyed by the MAC's octets.
    pub bridge: BTreeMap<(VrfId, [u8; 6]), BridgeEntry>,
    /// RPF per VRF.
    pub rpf: BTreeMap<VrfId, bool>,
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

/// The ids of every object the agent of `node` programs.
pub fn node_ids(config: &Config, node: &str) -> Result<NodeIds, ControlError> {
    let compute = config.compute(node).ok_or_else(|| ControlError::Unknown {
        kind: "compute node",
        name: node.to_owned(),
        by: "the agent".into(),
    })?;
    let ports: Vec<&PortConfig> = config.ports.iter().filter(|p| p.compute == node).collect();
    let networks: Vec<_> = config
        .networks
        .iter()
        .filter(|n| ports.iter().any(|p| p.network == n.name))
        .collect();
    let remotes: Vec<&str> = config
        .gateways
        .iter()
        .map(|g| g.name.as_str())
        .chain(
            config
                .computes
                .iter()
                .filter(|c| c.name != node)
                .map(|c| c.name.as_str()),
        )
        .collect();

    let mut nh_pins = Pins::new(node, "nh");
    let mut vif_pins = Pins::new(node, "vif");
    let mut label_pins = Pins::new(node, "label");
    for v in [FABRIC_VIF, VHOST_VIF, AGENT_VIF] {
        vif_pins.pin(Some(u32::from(v.value())), || "the agent".into())?;
    }
    nh_pins.pin(compute.vhost_receive_nh, || format!("compute node {node}"))?;
    for n in &networks {
        let who = || format!("network {}", n.name);
        nh_pins.pin(n.pins.receive_nh, who)?;
        nh_pins.pin(n.pins.l2_receive_nh, who)?;
        nh_pins.pin(n.pins.vxlan_nh, who)?;
    }
    for p in &ports {
        let who = || format!("VM port {}", p.name);
        vif_pins.pin(p.pins.vif.map(u32::from), who)?;
        nh_pins.pin(p.pins.nh, who)?;
        nh_pins.pin(p.pins.l2_nh, who)?;
        label_pins.pin(p.pins.label, who)?;
    }
    for r in &remotes {
        nh_pins.pin(compute.tunnel_nh.get(*r).copied(), || {
            format!("compute node {node}'s tunnel to {r}")
        })?;
    }

    let (mut nh_used, mut vif_used, mut label_used) =
        (nh_pins.used(), vif_pins.used(), label_pins.used());
    nh_used.insert(0);
    let mut nhs = Allocator::new(1);
    let mut nh = |pin: Option<u32>| nh_id(pin.unwrap_or_else(|| nhs.take(&mut nh_used)), node);

    let vhost_receive_nh = nh(compute.vhost_receive_nh)?;
    let vrfs = vrf_ids(config)?;
    let mut net_ids = BTreeMap::new();
    for n in &networks {
        let ids = NetworkIds {
            vrf: vrfs[&n.name],
            receive_nh: nh(n.pins.receive_nh)?,
            l2_receive_nh: nh(n.pins.l2_receive_nh)?,
            vxlan_nh: nh(n.pins.vxlan_nh)?,
        };
        net_ids.insert(n.name.clone(), ids);
    }
    let mut vifs = Allocator::new(3);
    let mut labels = Allocator::new(FIRST_LABEL);
    let mut port_ids = BTreeMap::new();
    for p in &ports {
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
            bridge_index: p
                .pins
                .bridge_index
                .unwrap_or_else(|| bridge_index(vrfs[&p.network], p.mac)),
        };
        port_ids.insert(p.name.clone(), ids);
    }
    let mut tunnels = BTreeMap::new();
    for r in remotes {
        tunnels.insert(r.to_owned(), nh(compute.tunnel_nh.get(r).copied())?);
    }
    Ok(NodeIds {
        vhost_receive_nh,
        networks: net_ids,
        ports: port_ids,
        tunnels,
    })
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

/// Where a route learned over BGPaaS (or a VM's own) leads on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved<'a> {
    /// A port on this node: its Encap nexthop.
    Local(&'a PortConfig),
    /// A port on another node: a tunnel there, with the port's label.
    Remote(&'a PortConfig),
}

/// What the agent needs to compute a node's state.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The configuration.
    pub config: &'a Config,
    /// Every node's ids (for remote ports' labels).
    pub ids: &'a BTreeMap<String, NodeIds>,
    /// The selected BGPaaS routes, per network and prefix.
    pub selections: &'a BTreeMap<(String, Ipv4Net), Selection>,
}

fn rewrite(dst: MacAddr, src: MacAddr, ethertype: u16) -> [u8; 14] {
    let mut r = [0u8; 14];
    r[..6].copy_from_slice(&dst.octets());
    r[6..12].copy_from_slice(&src.octets());
    r[12..].copy_from_slice(&ethertype.to_be_bytes());
    r
}

impl Inputs<'_> {
    /// The port whose address a BGP next hop names, in the network.
    pub fn resolve(&self, network: &str, next_hop: Ipv4Addr) -> Option<&PortConfig> {
        self.config
            .ports
            .iter()
            .find(|p| p.network == network && p.ip == next_hop)
    }

    fn port_label(&self, port: &PortConfig) -> Option<MplsLabel> {
        Some(self.ids.get(&port.compute)?.ports.get(&port.name)?.label)
    }

    /// The state `node`'s vRouter must hold.
    pub fn node_state(&self, node: &str) -> Result<NodeState, ControlError> {
        let config = self.config;
        let ids = self.ids.get(node).ok_or_else(|| ControlError::Unknown {
            kind: "compute node",
            name: node.to_owned(),
            by: "the agent".into(),
        })?;
        let compute = config.compute(node).ok_or_else(|| ControlError::Unknown {
            kind: "compute node",
            name: node.to_owned(),
            by: "the agent".into(),
        })?;
        let mut s = NodeState::default();
        let l3l2 = VifFlags::L3 | VifFlags::L2;
        let vif = |id, kind, name: &str, mac, ip, vrf, mtu, flags| VifConfig {
            id,
            kind,
            name: name.into(),
            mac,
            ip,
            vrf,
            mtu,
            flags,
            nh: None,
        };
        let fabric = VrfId::FABRIC;
        for v in [
            vif(
                FABRIC_VIF,
                VifType::Physical,
                &compute.fabric_if,
                compute.mac,
                None,
                fabric,
                1514,
                l3l2 | VifFlags::VHOST_PHYS,
            ),
            vif(
                VHOST_VIF,
                VifType::Host,
                "vhost0",
                compute.mac,
                Some(compute.ip),
                fabric,
                1514,
                l3l2,
            ),
            vif(
                AGENT_VIF,
                VifType::Agent,
                "pkt0",
                MacAddr::zero(),
                None,
                VrfId::INVALID,
                1514,
                VifFlags::L3,
            ),
        ] {
            s.vifs.insert(v.id, v);
        }
        let nh = |id, kind, family, flags, vrf| NexthopConfig {
            id,
            kind,
            family,
            flags,
            vrf,
        };
        let valid = NhFlags::VALID;
        s.nhs.insert(
            ids.vhost_receive_nh,
            nh(
                ids.vhost_receive_nh,
                NhKind::Receive { oif: VHOST_VIF },
                NhFamily::Inet,
                valid,
                fabric,
            ),
        );
        let plain = |nh| Route {
            nh,
            label: None,
            flags: RouteFlags::empty(),
            stitched_mac: None,
        };
        s.routes.insert(
            (fabric, Ipv4Net::from(compute.ip)),
            plain(ids.vhost_receive_nh),
        );

        // Tunnel nexthops are programmed only while a route uses one.
        let tunnel = |s: &mut NodeState, remote: &str| -> Option<NhId> {
            let id = *ids.tunnels.get(remote)?;
            let (mac, ip) = config
                .gateways
                .iter()
                .find(|g| g.name == remote)
                .map(|g| (g.mac, g.ip))
                .or_else(|| config.compute(remote).map(|c| (c.mac, c.ip)))?;
            let kind = NhKind::Tunnel {
                encap: TunnelEncap::MplsOverGre,
                oif: FABRIC_VIF,
                rewrite: rewrite(mac, compute.mac, 0x0800),
                sip: compute.ip,
                dip: ip,
            };
            s.nhs
                .insert(id, nh(id, kind, NhFamily::Inet, valid, fabric));
            Some(id)
        };

        for (name, n) in &ids.networks {
            let Some(net) = config.network(name) else {
                continue;
            };
            let vrf = n.vrf;
            s.rpf.insert(vrf, net.rpf);
            s.nhs.insert(
                n.receive_nh,
                nh(
                    n.receive_nh,
                    NhKind::Receive { oif: VHOST_VIF },
                    NhFamily::Inet,
                    valid | NhFlags::RELAXED_POLICY,
                    vrf,
                ),
            );
            s.nhs.insert(
                n.l2_receive_nh,
                nh(
                    n.l2_receive_nh,
                    NhKind::L2Receive,
                    NhFamily::Bridge,
                    valid,
                    vrf,
                ),
            );
            s.nhs.insert(
                n.vxlan_nh,
                nh(
                    n.vxlan_nh,
                    NhKind::VrfTranslate { vrf },
                    NhFamily::Inet,
                    valid | NhFlags::TUNNEL_VXLAN | NhFlags::UNKNOWN_UC_FLOOD,
                    vrf,
                ),
            );
            s.vnids.insert(net.vxlan_id, n.vxlan_nh);
            for gw in [net.gateway_ip, net.dns_ip] {
                let r = Route {
                    flags: RouteFlags::ARP_PROXY,
                    ..plain(n.receive_nh)
                };
                s.routes.insert((vrf, Ipv4Net::from(gw)), r);
            }
            s.bridge.insert(
                (vrf, VROUTER_MAC.octets()),
                BridgeEntry {
                    nh: n.l2_receive_nh,
                    label: None,
                },
            );
            // Flooding (a multicast composite nexthop) is not modelled: the
            // broadcast entry leads to the discard nexthop.
            s.bridge.insert(
                (vrf, MacAddr::broadcast().octets()),
                BridgeEntry {
                    nh: NhId::DISCARD,
                    label: None,
                },
            );

            // The network's VM ports, local and remote.
            for p in config.ports.iter().filter(|p| p.network == *name) {
                let key = (vrf, Ipv4Net::from(p.ip));
                if let Some(pi) = ids.ports.get(&p.name) {
                    let to_vm = rewrite(p.mac, VROUTER_MAC, 0x0800);
                    let encap = |encap_family| NhKind::Encap {
                        oif: pi.vif,
                        rewrite: to_vm,
                        encap_family,
                    };
                    let policy = valid | NhFlags::POLICY;
                    s.vifs.insert(
                        pi.vif,
                        vif(
                            pi.vif,
                            VifType::Virtual,
                            &p.tap,
                            VROUTER_MAC,
                            None,
                            vrf,
                            p.mtu,
                            VifFlags::POLICY | l3l2 | VifFlags::DHCP | VifFlags::UNKNOWN_UC_FLOOD,
                        ),
                    );
                    s.nhs
                        .insert(pi.nh, nh(pi.nh, encap(0x0806), NhFamily::Inet, policy, vrf));
                    s.nhs.insert(
                        pi.l2_nh,
                        nh(pi.l2_nh, encap(0x0800), NhFamily::Bridge, policy, vrf),
                    );
                    s.labels.insert(pi.label, pi.nh);
                    s.bridge.insert(
                        (vrf, p.mac.octets()),
                        BridgeEntry {
                            nh: pi.l2_nh,
                            label: None,
                        },
                    );
                    let r = Route {
                        flags: RouteFlags::ARP_PROXY,
                        stitched_mac: Some((p.mac, pi.bridge_index)),
                        ..plain(pi.nh)
                    };
                    s.routes.insert(key, r);
                } else if let (Some(t), Some(label)) =
                    (tunnel(&mut s, &p.compute), self.port_label(p))
                {
                    let r = Route {
                        label: Some(label),
                        flags: RouteFlags::ARP_PROXY | RouteFlags::LABEL_VALID,
                        ..plain(t)
                    };
                    s.routes.insert(key, r);
                }
            }

            // The default route from the network's gateway, if one advertises it.
            let gw = config.gateways.iter().find_map(|g| {
                g.vrfs
                    .iter()
                    .find(|v| v.network == *name && v.default_route)
                    .map(|v| (g, v))
            });
            if let Some((g, v)) = gw
                && let (Some(t), Some(label)) = (tunnel(&mut s, &g.name), MplsLabel::new(v.label))
            {
                let r = Route {
                    label: Some(label),
                    flags: RouteFlags::LABEL_VALID,
                    ..plain(t)
                };
                s.routes.insert((vrf, Ipv4Net::default()), r);
            }

            // Routes learned over BGPaaS, resolved through the next hop's port.
            for ((net_name, prefix), sel) in self.selections {
                if net_name != name || s.routes.contains_key(&(vrf, *prefix)) {
                    continue;
                }
                let Some(port) = self.resolve(name, sel.best().attrs.next_hop) else {
                    continue;
                };
                let route = match ids.ports.get(&port.name) {
                    Some(pi) => plain(pi.nh),
                    None => match (tunnel(&mut s, &port.compute), self.port_label(port)) {
                        (Some(t), Some(label)) => Route {
                            label: Some(label),
                            flags: RouteFlags::LABEL_VALID,
                            ..plain(t)
                        },
                        _ => continue,
                    },
                };
                s.routes.insert((vrf, *prefix), route);
            }
        }
        Ok(s)
    }
}
