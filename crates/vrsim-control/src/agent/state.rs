//! The state a node's vRouter must hold ([`NodeState`]), computed from the
//! configuration, every node's ids and the control node's selected routes:
//! the host's own objects, then per network its nexthops and entries, its VM
//! ports (local ones as Encap nexthops, remote ones through a tunnel), the
//! gateway's default route and the routes learned over BGPaaS.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use hashbrown::HashMap;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use smallvec::SmallVec;
use vrsim_dataplane::nexthop::{
    EcmpMember, NexthopConfig, NhFamily, NhFlags, NhKind, TunnelEncap, ipv4_rewrite,
};
use vrsim_dataplane::route::{BridgeEntry, Route, RouteFlags};
use vrsim_dataplane::vif::{VifConfig, VifFlags, VifType};
use vrsim_dataplane::{NhId, VifId, VrfId};
use vrsim_wire::{MacAddr, MplsLabel};

use super::plan::{NetworkPlan, Plan, PlannedPort, Target};
use super::{AGENT_VIF, FABRIC_VIF, NetworkIds, NodeIds, PortIds, VHOST_VIF};
use crate::bgp::Selection;
use crate::config::{
    ComputeConfig, Config, ForwardingMode, GatewayConfig, NetworkConfig, PortConfig, VROUTER_MAC,
};
use crate::ecmp::{EcmpSlots, Slots};
use crate::error::ControlError;
use crate::index::ConfigIndex;

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
    /// Routes, IPv4 then IPv6 in each VRF's key order.
    pub routes: BTreeMap<(VrfId, IpNet), Route>,
    /// Bridge entries, keyed by the MAC's octets.
    pub bridge: BTreeMap<(VrfId, [u8; 6]), BridgeEntry>,
    /// RPF per VRF.
    pub rpf: BTreeMap<VrfId, bool>,
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
    pub selections: &'a BTreeMap<(String, IpNet), Selection>,
    /// The ECMP slots of the selected routes (a prefix with two members or
    /// more gets a composite nexthop; one missing here takes its best path).
    pub ecmp: &'a EcmpSlots,
    /// Lookups into `config` (built from it).
    pub index: &'a ConfigIndex,
}

impl<'a> Inputs<'a> {
    /// The port whose address a BGP next hop names, in the network: its
    /// IPv4 address, its IPv6 address, or its IPv4 address mapped into IPv6
    /// (`::ffff:172.16.10.3`, the form RFC 4798 gives an IPv4 speaker's
    /// address as an IPv6 next hop).
    pub fn resolve(&self, network: &str, next_hop: IpAddr) -> Option<&'a PortConfig> {
        let (v4, v6) = match next_hop {
            IpAddr::V4(_) => (Some(next_hop), None),
            IpAddr::V6(a) => (a.to_ipv4_mapped().map(IpAddr::V4), Some(next_hop)),
        };
        self.index.port_by_addr(self.config, network, v4, v6)
    }

    pub(crate) fn port_label(&self, port: &PortConfig) -> Option<MplsLabel> {
        // The index holds the labels once the controller gave it the ids;
        // an index built from the configuration alone does not.
        self.index
            .port_label(&port.name)
            .or_else(|| Some(self.ids.get(&port.compute)?.ports.get(&port.name)?.label))
    }

    /// The state `node`'s vRouter must hold.
    pub fn node_state(&self, node: &str) -> Result<NodeState, ControlError> {
        // The plan of the node's own networks only.
        let mut plan = Plan::default();
        for name in self
            .ids
            .get(node)
            .into_iter()
            .flat_map(|i| i.networks.keys())
        {
            if let Some(net) = self.config.network(name) {
                plan.add(&net.name, || self.network_plan(&net.name));
            }
        }
        self.node_state_in(&plan, node)
    }

    /// [`Inputs::node_state`] with the networks' [`Plan`] made beforehand
    /// (once for every node the controller programs).
    pub(crate) fn node_state_in(
        &self,
        plan: &Plan<'a>,
        node: &str,
    ) -> Result<NodeState, ControlError> {
        let unknown = || ControlError::Unknown {
            kind: "compute node",
            name: node.to_owned(),
            by: "the agent".into(),
        };
        let ids = self.ids.get(node).ok_or_else(unknown)?;
        let compute = self.index.compute(self.config, node).ok_or_else(unknown)?;
        let mut b = Builder {
            inputs: self,
            ids,
            compute,
            position: self.index.compute_index(node),
            s: NodeState::default(),
            routes: Vec::new(),
            sorted: 0,
            bridge: Vec::new(),
            error: None,
            composites: HashMap::new(),
            to_computes: crate::encap::layer3(self.config, node)
                .map_or(TunnelEncap::MplsOverGre, |c| c.encap),
            l2_encap: crate::encap::layer2(self.config)
                .map_or(TunnelEncap::MplsOverGre, |c| c.encap),
            next_composite: ids.nh_ids().max().map_or(1, |id| id.value() + 1),
        };
        b.host();
        for (name, n) in &ids.networks {
            let Some(net) = self.config.network(name) else {
                continue;
            };
            b.network(net, n);
            let Some(plan) = plan.network(name) else {
                continue;
            };
            for p in &plan.ports {
                // A port is local exactly when its node is this one (the
                // node's ids hold its ports).
                match b.local(p).then(|| ids.ports.get(&p.port.name)).flatten() {
                    Some(pi) => b.local_port(p.port, pi, n.vrf),
                    None => b.remote_port(p, n.vrf, net),
                }
            }
            b.gateway_default(name, n.vrf);
            b.bgpaas_routes(&plan.learned, n.vrf);
        }
        // Built an insert at a time in key order, the maps' B-tree nodes
        // are half full; collected again from their sorted entries they are
        // bulk-built full, which halves the memory of a node's state (116
        // to 60 bytes a route). Routes are gathered in a list and sorted
        // (before the learned ones of each network, then once more at the
        // end): collecting keeps the last of equal keys, as inserting does.
        // Bridge entries likewise, sorted by an integer key (a MAC's
        // byte-wise compare was a tenth of a large fabric's load).
        b.sort_routes();
        let Builder {
            mut s,
            routes,
            mut bridge,
            error,
            ..
        } = b;
        if let Some(e) = error {
            return Err(e);
        }
        s.routes = routes.into_iter().collect();
        s.nhs = std::mem::take(&mut s.nhs).into_iter().collect();
        bridge.sort_by_key(|((vrf, mac), _)| {
            (
                vrf.index(),
                u64::from_be_bytes([0, 0, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]]),
            )
        });
        s.bridge = bridge.into_iter().collect();
        Ok(s)
    }
}

/// The route a node with `ids` holds for a learned route whose next hop is
/// `port` (with `label`, its label on its own node, and `position`, its
/// compute node's place in the configuration): the port's Encap nexthop
/// when it is `local` (the node's own), else the tunnel to its node.
pub(crate) fn learned_route(
    ids: &NodeIds,
    port: &PortConfig,
    label: MplsLabel,
    position: Option<usize>,
    local: bool,
) -> Option<Route> {
    if local {
        return ids.ports.get(&port.name).map(|pi| plain(pi.nh));
    }
    let t = match position {
        Some(i) => ids.tunnel_at(i)?,
        None => *ids.tunnels.get(&port.compute)?,
    };
    Some(tunnelled(t, label, RouteFlags::empty()))
}

/// A node's state while it is computed.
struct Builder<'a> {
    inputs: &'a Inputs<'a>,
    ids: &'a NodeIds,
    compute: &'a ComputeConfig,
    /// The node's position in the configuration.
    position: Option<usize>,
    /// Everything but the routes.
    s: NodeState,
    /// The routes in the order they are made (a later one of the same key
    /// replaces an earlier one), sorted up to `sorted`.
    routes: Vec<((VrfId, IpNet), Route)>,
    sorted: usize,
    /// The bridge entries in the order they are made (a later one of the
    /// same key replaces an earlier one).
    bridge: Vec<((VrfId, [u8; 6]), BridgeEntry)>,
    /// The Composite ECMP nexthops made, by VRF and members: prefixes
    /// spreading over the same slots share one, as Contrail keys a
    /// composite by its members.
    composites: HashMap<(VrfId, Members), NhId>,
    /// The id the next composite takes: they follow the node's own ids, in
    /// the order first needed (network by name, then prefix).
    next_composite: u32,
    /// The encapsulation of the layer-3 tunnels to other compute nodes.
    to_computes: TunnelEncap,
    /// What refused the state, if something did (a composite's id out of
    /// range).
    error: Option<ControlError>,
    /// The encapsulation of bridged traffic to other compute nodes.
    l2_encap: TunnelEncap,
}

/// A composite's members by slot.
type Members = SmallVec<[EcmpMember; 4]>;

/// A route key as integers, in the order of `(VrfId, IpNet)` (VRF, IPv4
/// before IPv6, address, length) without the byte-wise compare of an
/// address: sorting a node's 20,000 routes by it is several times faster.
fn route_order(&(vrf, prefix): &(VrfId, IpNet)) -> (usize, bool, u128, u8) {
    let addr = match prefix {
        IpNet::V4(p) => u128::from(u32::from(p.addr())),
        IpNet::V6(p) => u128::from(p.addr()),
    };
    (
        vrf.index(),
        prefix.addr().is_ipv6(),
        addr,
        prefix.prefix_len(),
    )
}

/// The flags of every vif the agent makes for the host and of every tap.
const L3L2: VifFlags = VifFlags::L3.union(VifFlags::L2);

fn vif(
    id: VifId,
    kind: VifType,
    name: &str,
    mac: MacAddr,
    ip: Option<Ipv4Addr>,
    vrf: VrfId,
) -> VifConfig {
    VifConfig {
        id,
        kind,
        name: name.into(),
        mac,
        ip,
        vrf,
        mtu: 1514,
        mcast_vrf: None,
        qos_map: -1,
        ip6: None,
        flags: L3L2,
        nh: None,
    }
}

fn nh(id: NhId, kind: NhKind, family: NhFamily, flags: NhFlags, vrf: VrfId) -> NexthopConfig {
    NexthopConfig {
        id,
        kind,
        family,
        flags: NhFlags::VALID | flags,
        vrf,
    }
}

fn plain(nh: NhId) -> Route {
    Route {
        nh,
        label: None,
        flags: RouteFlags::empty(),
        stitched_mac: None,
    }
}

/// A route through a tunnel nexthop with the label the far end expects.
fn tunnelled(t: NhId, label: MplsLabel, flags: RouteFlags) -> Route {
    Route {
        label: Some(label),
        flags: flags | RouteFlags::LABEL_VALID,
        ..plain(t)
    }
}

impl Builder<'_> {
    /// The host's own objects: the fabric vif, vhost0, the agent's pkt0, and
    /// vhost0's address as a Receive route in the fabric VRF.
    fn host(&mut self) {
        let (c, fabric) = (self.compute, VrfId::FABRIC);
        let phys = VifConfig {
            flags: L3L2 | VifFlags::VHOST_PHYS,
            ..vif(
                FABRIC_VIF,
                VifType::Physical,
                &c.fabric_if,
                c.mac,
                None,
                fabric,
            )
        };
        let vhost = vif(
            VHOST_VIF,
            VifType::Host,
            "vhost0",
            c.mac,
            Some(c.ip),
            fabric,
        );
        let agent = VifConfig {
            flags: VifFlags::L3,
            ..vif(
                AGENT_VIF,
                VifType::Agent,
                "pkt0",
                MacAddr::zero(),
                None,
                VrfId::INVALID,
            )
        };
        for v in [phys, vhost, agent] {
            self.s.vifs.insert(v.id, v);
        }
        let id = self.ids.vhost_receive_nh;
        let receive = NhKind::Receive { oif: VHOST_VIF };
        self.s.nhs.insert(
            id,
            nh(id, receive, NhFamily::Inet, NhFlags::empty(), fabric),
        );
        self.routes
            .push(((fabric, IpNet::from(IpAddr::V4(c.ip))), plain(id)));
    }

    /// The tunnel nexthop to `remote` (a gateway or another compute node),
    /// programmed only once a route uses it.
    fn tunnel(&mut self, remote: &str) -> Option<NhId> {
        let (config, index) = (self.inputs.config, self.inputs.index);
        let (id, encap) = match index.compute_index(remote) {
            Some(i) => (self.ids.tunnel_at(i)?, self.to_computes),
            None => {
                let encap = crate::encap::layer3(config, remote)
                    .map_or(TunnelEncap::MplsOverGre, |c| c.encap);
                (*self.ids.tunnels.get(remote)?, encap)
            }
        };
        self.tunnel_nh(id, remote, encap).then_some(id)
    }

    /// Make tunnel nexthop `id` to `remote` (a gateway or another compute
    /// node) with `encap`, unless the state holds it already; `false` when
    /// `remote` is neither.
    fn tunnel_nh(&mut self, id: NhId, remote: &str, encap: TunnelEncap) -> bool {
        if self.s.nhs.contains_key(&id) {
            return true;
        }
        let (config, index) = (self.inputs.config, self.inputs.index);
        let Some((mac, ip)) = config
            .gateways
            .iter()
            .find(|g| g.name == remote)
            .map(|g| (g.mac, g.ip))
            .or_else(|| index.compute(config, remote).map(|c| (c.mac, c.ip)))
        else {
            return false;
        };
        let kind = NhKind::Tunnel {
            encap,
            oif: FABRIC_VIF,
            rewrite: ipv4_rewrite(mac, self.compute.mac),
            sip: self.compute.ip,
            dip: ip,
        };
        let config = nh(id, kind, NhFamily::Inet, NhFlags::empty(), VrfId::FABRIC);
        self.s.nhs.insert(id, config);
        true
    }

    /// A network's own objects: RPF, the Receive, L2 Receive and VXLAN
    /// nexthops, the VNID, the gateway and DNS routes, the vRouter MAC's and
    /// the broadcast bridge entries.
    fn network(&mut self, net: &NetworkConfig, n: &NetworkIds) {
        let vrf = n.vrf;
        let s = &mut self.s;
        s.rpf.insert(vrf, net.rpf);
        let receive = NhKind::Receive { oif: VHOST_VIF };
        s.nhs.insert(
            n.receive_nh,
            nh(
                n.receive_nh,
                receive,
                NhFamily::Inet,
                NhFlags::RELAXED_POLICY,
                vrf,
            ),
        );
        s.nhs.insert(
            n.l2_receive_nh,
            nh(
                n.l2_receive_nh,
                NhKind::L2Receive,
                NhFamily::Bridge,
                NhFlags::empty(),
                vrf,
            ),
        );
        let vxlan_flags = NhFlags::TUNNEL_VXLAN | NhFlags::UNKNOWN_UC_FLOOD;
        s.nhs.insert(
            n.vxlan_nh,
            nh(
                n.vxlan_nh,
                NhKind::VrfTranslate { vrf },
                NhFamily::Inet,
                vxlan_flags,
                vrf,
            ),
        );
        s.vnids.insert(net.vxlan_id, n.vxlan_nh);
        for gw in net.vrouter_addrs() {
            let r = Route {
                flags: RouteFlags::ARP_PROXY,
                ..plain(n.receive_nh)
            };
            self.routes.push(((vrf, IpNet::from(gw)), r));
        }
        let entry = |nh| BridgeEntry { nh, label: None };
        self.bridge
            .push(((vrf, VROUTER_MAC.octets()), entry(n.l2_receive_nh)));
        // Flooding (a multicast composite nexthop) is not modelled: the
        // broadcast entry leads to the discard nexthop.
        self.bridge
            .push(((vrf, MacAddr::broadcast().octets()), entry(NhId::DISCARD)));
    }

    /// A VM port on this node: its tap, L3 and L2 Encap nexthops, label,
    /// bridge entry and host route (with the stitched MAC).
    fn local_port(&mut self, p: &PortConfig, pi: &PortIds, vrf: VrfId) {
        let s = &mut self.s;
        let tap_flags = VifFlags::POLICY | L3L2 | VifFlags::DHCP | VifFlags::UNKNOWN_UC_FLOOD;
        let tap = VifConfig {
            mtu: p.mtu,
            mcast_vrf: None,
            qos_map: -1,
            ip6: p.ip6,
            flags: tap_flags,
            // The interface's flow-key nexthop (`vif_nh_id`): its L3 Encap nexthop.
            nh: Some(pi.nh),
            ..vif(pi.vif, VifType::Virtual, &p.tap, VROUTER_MAC, None, vrf)
        };
        s.vifs.insert(pi.vif, tap);
        let encap = |encap_family| NhKind::Encap {
            oif: pi.vif,
            rewrite: ipv4_rewrite(p.mac, VROUTER_MAC),
            encap_family,
        };
        s.nhs.insert(
            pi.nh,
            nh(pi.nh, encap(0x0806), NhFamily::Inet, NhFlags::POLICY, vrf),
        );
        s.nhs.insert(
            pi.l2_nh,
            nh(
                pi.l2_nh,
                encap(0x0800),
                NhFamily::Bridge,
                NhFlags::POLICY,
                vrf,
            ),
        );
        s.labels.insert(pi.label, pi.nh);
        s.labels.insert(pi.l2_label, pi.l2_nh);
        self.bridge.push((
            (vrf, p.mac.octets()),
            BridgeEntry {
                nh: pi.l2_nh,
                label: None,
            },
        ));
        let r = Route {
            flags: RouteFlags::ARP_PROXY,
            stitched_mac: Some((p.mac, pi.bridge_index)),
            ..plain(pi.nh)
        };
        for ip in p.addrs() {
            self.routes.push(((vrf, IpNet::from(ip)), r));
        }
    }

    /// Whether a port is on this node.
    fn local(&self, p: &PlannedPort<'_>) -> bool {
        p.is_on(self.position)
    }

    /// The tunnel nexthop to a port's compute node (by its position, made
    /// the first time).
    fn tunnel_to(&mut self, p: &PlannedPort<'_>) -> Option<NhId> {
        let made = p
            .compute
            .and_then(|i| self.ids.tunnel_at(i))
            .filter(|id| self.s.nhs.contains_key(id));
        made.or_else(|| self.tunnel(&p.port.compute))
    }

    /// A VM port on another node: its MAC in the bridge table, through the
    /// bridged-traffic tunnel there with its layer-2 label (or, over VXLAN,
    /// the network's VNID), and its host route through the tunnel there,
    /// stitched to that MAC: the vRouter then answers ARP for the port with
    /// its own MAC (`vr_get_proxy_mac`), and the VMs' traffic to each other
    /// is bridged, as Contrail's EVPN routes make it.
    /// In a network that routes only (`l3`), the port's host route alone.
    fn remote_port(&mut self, p: &PlannedPort<'_>, vrf: VrfId, net: &NetworkConfig) {
        let stitched = match net.forwarding_mode {
            ForwardingMode::L2L3 => self.remote_mac(p, vrf, net.vxlan_id),
            ForwardingMode::L3 => None,
        };
        if let (Some(t), Some(label)) = (self.tunnel_to(p), p.label) {
            let r = Route {
                stitched_mac: stitched,
                ..tunnelled(t, label, RouteFlags::ARP_PROXY)
            };
            for ip in p.port.addrs() {
                self.routes.push(((vrf, IpNet::from(ip)), r));
            }
        }
    }

    /// A remote port's bridge entry; its MAC and bridge index when made.
    fn remote_mac(&mut self, p: &PlannedPort<'_>, vrf: VrfId, vnid: u32) -> Option<(MacAddr, u32)> {
        let (t, encap) = self.l2_tunnel_to(p)?;
        let label = match encap {
            TunnelEncap::Vxlan => vnid,
            _ => p.l2_label?.value(),
        };
        let mac = p.port.mac;
        self.bridge.push((
            (vrf, mac.octets()),
            BridgeEntry {
                nh: t,
                label: Some(label),
            },
        ));
        Some((mac, super::bridge_index(vrf, mac)))
    }

    /// The tunnel nexthop of bridged traffic to a port's compute node, with
    /// its encapsulation: the layer-3 one when they share it.
    fn l2_tunnel_to(&mut self, p: &PlannedPort<'_>) -> Option<(NhId, TunnelEncap)> {
        match self.ids.l2_tunnels.get(&p.port.compute) {
            None => Some((self.tunnel_to(p)?, self.to_computes)),
            Some(&id) => {
                let encap = self.l2_encap;
                self.tunnel_nh(id, &p.port.compute, encap)
                    .then_some((id, encap))
            }
        }
    }

    /// The default route from the network's gateway, if one advertises it
    /// (`::/0` too when the network is dual-stack or holds IPv6 routes
    /// learned over BGPaaS, so that their traffic has a way back).
    fn gateway_default(&mut self, network: &str, vrf: VrfId) {
        if let Some((g, label)) = self.inputs.gateway_default(network)
            && let Some(t) = self.tunnel(&g.name)
        {
            let r = tunnelled(t, label, RouteFlags::empty());
            self.routes.push(((vrf, Ipv4Net::default().into()), r));
            let dual = self
                .inputs
                .config
                .network(network)
                .is_some_and(|n| n.subnet6.is_some());
            if dual || self.inputs.learned6(network) {
                self.routes.push(((vrf, Ipv6Net::default().into()), r));
            }
        }
    }

    /// Sort the routes made so far (stable: equal keys stay in the order
    /// they were made).
    fn sort_routes(&mut self) {
        self.routes.sort_by_key(|(k, _)| route_order(k));
        self.sorted = self.routes.len();
    }

    /// Whether a route of `prefix` in `vrf` was made before the last sort.
    fn holds(&self, vrf: VrfId, prefix: IpNet) -> bool {
        let key = route_order(&(vrf, prefix));
        self.routes[..self.sorted]
            .binary_search_by_key(&key, |(k, _)| route_order(k))
            .is_ok()
    }

    /// Routes learned over BGPaaS, through the next hop's port: its Encap
    /// nexthop when it is local, else the tunnel to its node. A route the
    /// node holds of its own at the prefix wins.
    fn bgpaas_routes(&mut self, learned: &[(IpNet, Option<Target<'_>>)], vrf: VrfId) {
        if learned.iter().all(|(_, target)| target.is_none()) {
            return;
        }
        self.sort_routes();
        for (prefix, target) in learned {
            let Some(target) = target else {
                continue;
            };
            if self.holds(vrf, *prefix) {
                continue;
            }
            let route = match target {
                Target::Port(port, label) => self.learned_route(port, *label),
                Target::Ecmp(slots) => self.composite(vrf, slots).map(plain),
            };
            if let Some(route) = route {
                self.routes.push(((vrf, *prefix), route));
            }
        }
    }

    /// The route to one port: the rule a route event follows, and the
    /// tunnel nexthop made when the route needs it.
    fn learned_route(&mut self, port: &PlannedPort<'_>, label: MplsLabel) -> Option<Route> {
        let local = self.local(port);
        let route = learned_route(self.ids, port.port, label, port.compute, local)?;
        if !local && self.tunnel_to(port).is_none() {
            return None;
        }
        Some(route)
    }

    /// The Composite ECMP nexthop over `slots` in `vrf`, made the first
    /// time: each member a local port's Encap nexthop or the tunnel to its
    /// node, with the port's label (the agent's `ComponentNH`: interface
    /// nexthop or tunnel, and label), an empty slot kept empty. `None` when
    /// no member is left.
    fn composite(
        &mut self,
        vrf: VrfId,
        slots: &[Option<(PlannedPort<'_>, MplsLabel)>],
    ) -> Option<NhId> {
        let mut members = Members::new();
        for slot in slots {
            let nh = slot.as_ref().and_then(|(port, _)| {
                if self.local(port) {
                    self.ids.ports.get(&port.port.name).map(|pi| pi.nh)
                } else {
                    self.tunnel_to(port)
                }
            });
            let label = nh.and(slot.as_ref().map(|(_, label)| *label));
            members.push(EcmpMember { nh, label });
        }
        if members.iter().all(|m| m.nh.is_none()) {
            return None;
        }
        if let Some(id) = self.composites.get(&(vrf, members.clone())) {
            return Some(*id);
        }
        let id = match NhId::try_from(u64::from(self.next_composite)) {
            Ok(id) => id,
            Err(e) => {
                self.error.get_or_insert(ControlError::OutOfRange {
                    what: format!("{e} (a Composite ECMP nexthop after the node's own ids)"),
                });
                return None;
            }
        };
        self.next_composite += 1;
        let kind = NhKind::Composite {
            members: members.clone(),
        };
        let config = nh(id, kind, NhFamily::Inet, NhFlags::empty(), vrf);
        self.s.nhs.insert(id, config);
        self.composites.insert((vrf, members), id);
        Some(id)
    }
}

impl<'a> Inputs<'a> {
    /// Whether a node holding `network` has a route at `prefix` that is not
    /// learned over BGPaaS: a VM port's or the vRouter's own host route, or
    /// the gateway's default route. Those win over a learned one
    /// ([`NodeState`] is built in that order).
    pub(crate) fn has_own_route(&self, network: &NetworkConfig, prefix: IpNet) -> bool {
        if prefix.prefix_len() == prefix.max_prefix_len() {
            let a = prefix.addr();
            return network.vrouter_addrs().any(|g| g == a)
                || self.index.port_at(self.config, &network.name, a).is_some();
        }
        if prefix.prefix_len() != 0 {
            return false;
        }
        self.gateway_default(&network.name).is_some()
            && (prefix.addr().is_ipv4()
                || network.subnet6.is_some()
                || self.learned6(&network.name))
    }

    /// The gateway whose default route a network's nodes take, with the
    /// label of its VRF: the first gateway VRF of the network that
    /// advertises one, if its label is one.
    pub(crate) fn gateway_default(&self, network: &str) -> Option<(&'a GatewayConfig, MplsLabel)> {
        let (g, v) = self.config.gateways.iter().find_map(|g| {
            g.vrfs
                .iter()
                .find(|v| v.network == network && v.default_route)
                .map(|v| (g, v))
        })?;
        Some((g, MplsLabel::new(v.label)?))
    }

    /// The routes selected in `network`, in prefix order.
    pub(crate) fn selections_in(
        &self,
        network: &'a str,
    ) -> impl Iterator<Item = (&'a IpNet, &'a Selection)> + 'a {
        let first = (network.to_owned(), IpNet::V4(Ipv4Net::default()));
        self.selections
            .range(first..)
            .take_while(move |((n, _), _)| n == network)
            .map(|((_, p), s)| (p, s))
    }

    /// Whether `network` holds IPv6 routes learned over BGPaaS.
    pub(crate) fn learned6(&self, network: &str) -> bool {
        self.selections
            .range((network.to_owned(), IpNet::V6(Ipv6Net::default()))..)
            .next()
            .is_some_and(|((n, _), _)| n == network)
    }
}

impl<'a> Inputs<'a> {
    /// The [`Plan`] of every network.
    pub(crate) fn plan(&self) -> Plan<'a> {
        let mut plan = Plan::default();
        for net in &self.config.networks {
            let name = net.name.as_str();
            plan.add(name, || self.network_plan(name));
        }
        plan
    }

    fn network_plan(&self, name: &'a str) -> NetworkPlan<'a> {
        let ports = self
            .index
            .network_ports(self.config, name)
            .map(|p| self.planned(p))
            .collect();
        // Both maps are in prefix order: walked side by side.
        let mut slots = self.ecmp_in(name).peekable();
        let learned = self
            .selections_in(name)
            .map(|(prefix, sel)| {
                while slots.next_if(|(p, _)| *p < prefix).is_some() {}
                let ecmp = slots.next_if(|(p, _)| *p == prefix).map(|(_, s)| s);
                (*prefix, self.target(name, sel, ecmp))
            })
            .collect();
        NetworkPlan { ports, learned }
    }

    /// Where a route selected in `network` leads: over its ECMP `slots`
    /// when they hold two members or more, else to its best path's port.
    fn target(
        &self,
        network: &str,
        sel: &Selection,
        slots: Option<&Slots<String>>,
    ) -> Option<Target<'a>> {
        let Some(slots) = slots.filter(|s| s.is_ecmp()) else {
            let (port, label) = self.learned_target(network, sel)?;
            return Some(Target::Port(port, label));
        };
        let members = slots
            .slots()
            .iter()
            .map(|m| {
                let port = self.planned(self.index.port(self.config, m.as_ref()?)?);
                Some((port, port.label?))
            })
            .collect();
        Some(Target::Ecmp(members))
    }

    /// The ECMP slots of the routes selected in `network`, in prefix order.
    fn ecmp_in(
        &self,
        network: &'a str,
    ) -> impl Iterator<Item = (&'a IpNet, &'a Slots<String>)> + 'a {
        let first = (network.to_owned(), IpNet::V4(Ipv4Net::default()));
        self.ecmp
            .range(first..)
            .take_while(move |((n, _), _)| n == network)
            .map(|((_, p), s)| (p, s))
    }

    /// The port a route selected in `network` leads to (its best path's
    /// next hop), with its label, when it has one.
    pub(crate) fn learned_target(
        &self,
        network: &str,
        sel: &Selection,
    ) -> Option<(PlannedPort<'a>, MplsLabel)> {
        let port = self.planned(self.resolve(network, sel.best().attrs.next_hop)?);
        Some((port, port.label?))
    }

    fn planned(&self, port: &'a PortConfig) -> PlannedPort<'a> {
        let l2_label = self
            .index
            .port_l2_label(&port.name)
            .or_else(|| Some(self.ids.get(&port.compute)?.ports.get(&port.name)?.l2_label));
        PlannedPort {
            port,
            label: self.port_label(port),
            l2_label,
            compute: self.index.compute_index(&port.compute),
        }
    }
}
