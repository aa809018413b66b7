//! [`Controller`]: the Contrail control node and every compute node's agent
//! as one deterministic state machine. Configuration and BGP events go in;
//! vRouter programming calls and gateway routes come out.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use vrsim_dataplane::{VRouter, VrfId};

use crate::agent::{self, Inputs, NodeIds, NodeState};
use crate::bgp::{BgpPath, PathAttrs, PathSource, Selection};
use crate::config::{Config, NetworkConfig, PortConfig};
use crate::ecmp::{EcmpSlots, Slots};
use crate::error::ControlError;
use crate::index::ConfigIndex;
use crate::policy::{Endpoint, PolicyConfig, PolicyRule};
use crate::program::{self, Change};

mod routes;

/// Something that happens to the control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A BGPaaS session with one of the vRouter's addresses reached Established.
    SessionUp {
        /// The BGPaaS object.
        bgpaas: String,
        /// The vRouter address it peers with.
        peer: Ipv4Addr,
    },
    /// The session went down: every path it sent is withdrawn.
    SessionDown {
        /// The BGPaaS object.
        bgpaas: String,
        /// The vRouter address it peers with.
        peer: Ipv4Addr,
    },
    /// An UPDATE advertising a prefix (replacing the session's earlier path for it).
    Advertise {
        /// The BGPaaS object.
        bgpaas: String,
        /// The vRouter address it peers with.
        peer: Ipv4Addr,
        /// The prefix (IPv4, or IPv6 carried by MP-BGP on the same session).
        prefix: IpNet,
        /// Its attributes.
        attrs: PathAttrs,
    },
    /// An UPDATE withdrawing a prefix.
    Withdraw {
        /// The BGPaaS object.
        bgpaas: String,
        /// The vRouter address it peers with.
        peer: Ipv4Addr,
        /// The prefix.
        prefix: IpNet,
    },
    /// A network's RPF setting changed.
    SetRpf {
        /// The network.
        network: String,
        /// On or off.
        on: bool,
    },
    /// A VM port was created.
    AddPort(PortConfig),
    /// A VM port was deleted (its BGPaaS objects with it).
    RemovePort {
        /// The port's name.
        name: String,
    },
}

/// One BGPaaS session's state: whether it is up and what it advertised.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Session {
    /// Established.
    pub up: bool,
    /// The Adj-RIB-In: the paths the peer advertised, by prefix.
    pub routes: BTreeMap<IpNet, PathAttrs>,
}

/// A gateway VRF's route at a prefix after an event: (VRF, prefix) and
/// the route, or `None` for none.
pub type GatewayRouteUpdate = ((String, IpNet), Option<GatewayRoute>);

/// A route the control node advertises to a gateway VRF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRoute {
    /// The gateway VRF.
    pub vrf: String,
    /// The prefix (an IPv6 one travels over the same IPv4 tunnel).
    pub prefix: IpNet,
    /// Its paths, one per compute node it leads to, in the control node's
    /// slot order: two or more are ECMP, and the gateway load-balances
    /// flows over them.
    pub paths: Vec<GatewayPath>,
    /// AS path and origin (empty for VM routes).
    pub attrs: PathAttrs,
    /// The control node it was learned from.
    pub from: Ipv4Addr,
    /// Where the route comes from.
    pub source: RouteSource,
}

/// One path of a [`GatewayRoute`]: the dynamic tunnel to a compute node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayPath {
    /// The label the gateway pushes.
    pub label: u32,
    /// The compute node the tunnel goes to.
    pub compute: String,
    /// Its vhost address (the BGP protocol next hop).
    pub compute_ip: Ipv4Addr,
}

/// Where a route the gateway learns comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteSource {
    /// A VM port's own address (the port's name).
    VmPort(String),
    /// A prefix BGPaaS peers advertise, and the decision that chose its path.
    Bgpaas(Selection),
}

impl core::fmt::Display for RouteSource {
    /// `VM port dockerhost`, or the selection (`best of 2 paths: …`).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RouteSource::VmPort(name) => write!(f, "VM port {name}"),
            RouteSource::Bgpaas(selection) => selection.fmt(f),
        }
    }
}

/// A compute node: its vRouter and what the agent programmed on it.
#[derive(Debug, Clone)]
struct Node {
    router: VRouter,
    /// The state the agent programmed, but for its routes and bridge
    /// entries: the vRouter's tables are their only record (a node of a
    /// 1,000-node fabric holds 20,000 routes and 10,000 bridge entries,
    /// and a second copy here was 60 and 30 bytes each).
    state: NodeState,
}

impl Node {
    /// The state the agent programmed, routes and bridge entries read back
    /// from the vRouter.
    fn held(&self) -> NodeState {
        let mut held = self.state.clone();
        held.routes = self
            .router
            .routes()
            .map(|(vrf, prefix, r)| ((vrf, prefix), *r))
            .collect();
        held.bridge = self
            .router
            .bridge_entries()
            .map(|(vrf, mac, e)| ((vrf, mac.octets()), *e))
            .collect();
        held
    }
}

/// The control plane of a whole fabric.
#[derive(Debug, Clone)]
pub struct Controller {
    config: Config,
    /// Lookups into `config`, built with `ids`.
    index: ConfigIndex,
    ids: BTreeMap<String, NodeIds>,
    sessions: BTreeMap<(String, Ipv4Addr), Session>,
    /// Per (network, prefix), the paths the decision process chooses from,
    /// by source: what `selections` ranks, kept so that one route event
    /// re-ranks only its prefix.
    paths: BTreeMap<(String, IpNet), Paths>,
    selections: BTreeMap<(String, IpNet), Selection>,
    /// Per selected (network, prefix), the ports its ECMP paths lead to, by
    /// slot: kept from event to event as Contrail keeps a composite's
    /// members, so that a member that stays keeps its place.
    ecmp: EcmpSlots,
    nodes: BTreeMap<String, Node>,
    /// The (network, prefix) keys whose selection the last event changed,
    /// when it was a route event applied in place; `None` after any other.
    changed: Option<Vec<(String, IpNet)>>,
}

/// The candidate paths of one prefix, by source (BGPaaS object, peer):
/// the order the decision process is given them in.
type Paths = BTreeMap<(String, Ipv4Addr), BgpPath>;

impl Controller {
    /// Validate `config`, allocate every node's ids and program every vRouter.
    /// BGPaaS sessions start down.
    pub fn new(config: Config) -> Result<Self, ControlError> {
        Self::with_events(config, [])
    }

    /// [`Controller::new`], then `events` in order (sessions coming up with
    /// their routes, as a scenario file brings them), with every vRouter
    /// programmed once, for the result: what `new` and
    /// [`Controller::apply_all`] give, without programming every node twice.
    pub fn with_events(
        config: Config,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<Self, ControlError> {
        Self::with_events_and_slots(config, events, EcmpSlots::new())
    }

    /// [`Controller::with_events`], starting from the ECMP slots another
    /// controller kept ([`Controller::ecmp_slots`]). They are the one part
    /// of the control node's state that depends on the order events came
    /// in, not only on the routes held: a member that went leaves an empty
    /// slot, which a controller that never saw it would not have. Given
    /// another's configuration, session routes and slots, the new
    /// controller programs its vRouters exactly alike.
    pub fn with_events_and_slots(
        config: Config,
        events: impl IntoIterator<Item = Event>,
        slots: EcmpSlots,
    ) -> Result<Self, ControlError> {
        let mut c = Self::unprogrammed(config, ConfigIndex::default(), BTreeMap::new());
        c.ecmp = slots;
        c.rebuild_config()?;
        c.absorb_all(events)?;
        // Nobody asked for the calls that program a new controller.
        c.program(false)?;
        Ok(c)
    }

    /// A controller with a configuration and its ids, no sessions, no
    /// decisions and no vRouters yet.
    fn unprogrammed(config: Config, index: ConfigIndex, ids: BTreeMap<String, NodeIds>) -> Self {
        Controller {
            config,
            index,
            ids,
            sessions: BTreeMap::new(),
            paths: BTreeMap::new(),
            selections: BTreeMap::new(),
            ecmp: BTreeMap::new(),
            nodes: BTreeMap::new(),
            changed: None,
        }
    }

    /// Apply one event and return the programming calls it caused, in order.
    /// On a refused event nothing changes.
    pub fn apply(&mut self, event: Event) -> Result<Vec<Change>, ControlError> {
        self.changed = None;
        match self.apply_route_event(&event)? {
            Some(changes) => Ok(changes),
            None => self.apply_all([event]),
        }
    }

    /// Apply events in order, then bring every vRouter to the resulting
    /// state once (a scenario's sessions load this way), returning the
    /// programming calls. If any event is refused nothing changes.
    ///
    /// The configuration, ids and sessions change on a copy, and every
    /// node's new state is computed from it before any vRouter is touched,
    /// so a refusal leaves the controller as it was without copying the
    /// vRouters (most of its memory). Only a vRouter refusing what the agent
    /// programs, a bug in the agent model, would stop part way.
    pub fn apply_all(
        &mut self,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<Vec<Change>, ControlError> {
        let mut next =
            Self::unprogrammed(self.config.clone(), self.index.clone(), self.ids.clone());
        next.sessions = self.sessions.clone();
        next.ecmp = self.ecmp.clone();
        next.absorb_all(events)?;
        // What can refuse a node's state, checked before any vRouter moves.
        next.check_programmable()?;
        next.nodes = std::mem::take(&mut self.nodes);
        let changes = next.program(true);
        *self = next;
        changes
    }

    /// Take `events` in order, compute the ids again if the configuration
    /// changed, and run the decision process: everything but programming.
    fn absorb_all(&mut self, events: impl IntoIterator<Item = Event>) -> Result<(), ControlError> {
        let mut config_changed = false;
        for event in events {
            config_changed |= self.absorb(event)?;
        }
        if config_changed {
            self.rebuild_config()?;
        }
        self.select();
        Ok(())
    }

    /// Take the event into the configuration or the sessions; `true` when
    /// the configuration changed (so the ids must be computed again).
    fn absorb(&mut self, event: Event) -> Result<bool, ControlError> {
        match event {
            Event::SessionUp { bgpaas, peer } => {
                self.check_session(&bgpaas, peer)?;
                self.sessions.entry((bgpaas, peer)).or_default().up = true;
                Ok(false)
            }
            Event::SessionDown { bgpaas, peer } => {
                self.check_session(&bgpaas, peer)?;
                self.sessions.insert((bgpaas, peer), Session::default());
                Ok(false)
            }
            Event::Advertise {
                bgpaas,
                peer,
                prefix,
                attrs,
            } => {
                let s = self.established(&bgpaas, peer)?;
                s.routes.insert(prefix.trunc(), attrs);
                Ok(false)
            }
            Event::Withdraw {
                bgpaas,
                peer,
                prefix,
            } => {
                let s = self.established(&bgpaas, peer)?;
                s.routes
                    .remove(&prefix.trunc())
                    .map(|_| false)
                    .ok_or(ControlError::NotAdvertised {
                        bgpaas,
                        peer,
                        prefix,
                    })
            }
            Event::SetRpf { network, on } => self.set_rpf(&network, on).map(|()| true),
            Event::AddPort(port) => self.add_port(port).map(|()| true),
            Event::RemovePort { name } => self.remove_port(name).map(|()| true),
        }
    }

    fn set_rpf(&mut self, network: &str, on: bool) -> Result<(), ControlError> {
        let n = self
            .config
            .networks
            .iter_mut()
            .find(|n| n.name == network)
            .ok_or_else(|| ControlError::Unknown {
                kind: "network",
                name: network.to_owned(),
                by: "the RPF setting".into(),
            })?;
        n.rpf = on;
        Ok(())
    }

    /// Put `rule` first among the rules of `network` (in a policy named
    /// `what-if`, attached to it, made if needed), and evict every node's
    /// flows: the agent decides each anew on its next packet, as Contrail's
    /// agent re-evaluates flows when a policy changes.
    pub fn add_policy_rule(&mut self, network: &str, rule: PolicyRule) -> Result<(), ControlError> {
        let by = format!("the policy rule for {network}");
        for name in [Some(network)]
            .into_iter()
            .chain([&rule.src, &rule.dst].map(|e| match e {
                Endpoint::Network(n) => Some(n.as_str()),
                _ => None,
            }))
            .flatten()
        {
            if self.config.network(name).is_none() {
                return Err(ControlError::Unknown {
                    kind: "network",
                    name: name.to_owned(),
                    by: by.clone(),
                });
            }
        }
        let policies = &mut self.config.policies;
        match policies.iter_mut().find(|p| p.name == "what-if") {
            Some(p) => {
                p.rules.insert(0, rule);
                if !p.networks.iter().any(|n| n == network) {
                    p.networks.push(network.to_owned());
                }
            }
            None => policies.insert(
                0,
                PolicyConfig {
                    name: "what-if".into(),
                    networks: vec![network.to_owned()],
                    rules: vec![rule],
                },
            ),
        }
        for node in self.nodes.values_mut() {
            node.router.flush_flows();
        }
        Ok(())
    }

    fn add_port(&mut self, port: PortConfig) -> Result<(), ControlError> {
        if self.config.port(&port.name).is_some() {
            return Err(ControlError::Duplicate {
                kind: "VM port",
                name: port.name,
            });
        }
        self.config.ports.push(port);
        Ok(())
    }

    /// Remove a VM port, and with it its BGPaaS objects and their sessions.
    fn remove_port(&mut self, name: String) -> Result<(), ControlError> {
        let before = self.config.ports.len();
        self.config.ports.retain(|p| p.name != name);
        if self.config.ports.len() == before {
            return Err(ControlError::Unknown {
                kind: "VM port",
                name,
                by: "the port removal".into(),
            });
        }
        let gone: Vec<String> = self
            .config
            .bgpaas
            .iter()
            .filter(|b| b.port == name)
            .map(|b| b.name.clone())
            .collect();
        self.config.bgpaas.retain(|b| b.port != name);
        self.sessions.retain(|(b, _), _| !gone.contains(b));
        Ok(())
    }

    fn check_session(&self, bgpaas: &str, peer: Ipv4Addr) -> Result<(), ControlError> {
        let b = self
            .config
            .bgpaas(bgpaas)
            .ok_or_else(|| ControlError::Unknown {
                kind: "BGPaaS object",
                name: bgpaas.to_owned(),
                by: "a BGP session".into(),
            })?;
        if !b.peers.contains(&peer) {
            return Err(ControlError::BadPeer {
                bgpaas: bgpaas.to_owned(),
                peer,
            });
        }
        Ok(())
    }

    fn established(&mut self, bgpaas: &str, peer: Ipv4Addr) -> Result<&mut Session, ControlError> {
        self.check_session(bgpaas, peer)?;
        match self.sessions.get_mut(&(bgpaas.to_owned(), peer)) {
            Some(s) if s.up => Ok(s),
            _ => Err(ControlError::SessionDown {
                bgpaas: bgpaas.to_owned(),
                peer,
            }),
        }
    }

    fn rebuild_config(&mut self) -> Result<(), ControlError> {
        self.config.validate()?;
        let mut ids = BTreeMap::new();
        for c in &self.config.computes {
            ids.insert(c.name.clone(), agent::node_ids(&self.config, &c.name)?);
        }
        self.ids = ids;
        self.index = ConfigIndex::new(&self.config);
        self.index.set_labels(&self.config, &self.ids);
        Ok(())
    }

    /// Refuse what computing a node's state would refuse (a compute node
    /// without ids), without computing it.
    fn check_programmable(&self) -> Result<(), ControlError> {
        for c in &self.config.computes {
            if !self.ids.contains_key(&c.name) || self.index.compute_index(&c.name).is_none() {
                return Err(ControlError::Unknown {
                    kind: "compute node",
                    name: c.name.clone(),
                    by: "the agent".into(),
                });
            }
        }
        Ok(())
    }

    /// Bring every compute node's vRouter to the state the agent computes
    /// for it, in configuration order, and drop the nodes no longer
    /// configured. The calls made are returned if `keep`, else each node's
    /// are dropped once it is done.
    ///
    /// Nodes are computed and programmed one at a time, so that only one
    /// node's new state is held beside the vRouters. Computing a node's
    /// state fails only as [`Controller::check_programmable`] does, so after
    /// that check the vRouters are either all programmed or, on an error in
    /// the agent model, programmed up to the node named.
    fn program(&mut self, keep: bool) -> Result<Vec<Change>, ControlError> {
        let inputs = Inputs {
            config: &self.config,
            ids: &self.ids,
            selections: &self.selections,
            ecmp: &self.ecmp,
            index: &self.index,
        };
        let plan = inputs.plan();
        let mut changes = Vec::new();
        for c in &self.config.computes {
            let mut state = inputs.node_state_in(&plan, &c.name)?;
            let node = self.nodes.entry(c.name.clone()).or_insert_with(|| Node {
                router: VRouter::new(),
                state: NodeState::default(),
            });
            let held = node.held();
            if held == state {
                continue;
            }
            let made = if keep {
                program::apply(&c.name, &mut node.router, &held, &state).map(|done| {
                    let made = done.len();
                    changes.extend(done);
                    made
                })
            } else {
                program::apply_unrecorded(&mut node.router, &held, &state)
            }
            .map_err(|source| ControlError::Dataplane {
                node: c.name.clone(),
                source,
            })?;
            state.routes.clear();
            state.bridge.clear();
            node.state = state;
            // The agent re-evaluates a node's flows when what it programmed
            // changes (routes, RPF, ports); vrsim evicts them instead, and
            // the next packet of each is a miss the agent answers anew.
            if made > 0 {
                node.router.flush_flows();
            }
        }
        self.nodes
            .retain(|name, _| self.config.computes.iter().any(|c| &c.name == name));
        Ok(changes)
    }

    /// Gather the resolvable paths of established sessions per (network,
    /// prefix) and run the decision process on each.
    fn select(&mut self) {
        let mut paths: BTreeMap<(String, IpNet), Paths> = BTreeMap::new();
        for ((bgpaas, peer), session) in &self.sessions {
            if !session.up {
                continue;
            }
            for (prefix, attrs) in &session.routes {
                if let Some((network, path)) = self.candidate(bgpaas, *peer, prefix, attrs) {
                    paths
                        .entry((network.to_owned(), *prefix))
                        .or_default()
                        .insert((bgpaas.clone(), *peer), path);
                }
            }
        }
        self.selections = paths
            .iter()
            .filter_map(|(k, v)| {
                Selection::rank(v.values().cloned().collect()).map(|s| (k.clone(), s))
            })
            .collect();
        self.paths = paths;
        // Each selection's slots, from those it had.
        let mut ecmp = std::mem::take(&mut self.ecmp);
        ecmp.retain(|k, _| self.selections.contains_key(k));
        for (key, sel) in &self.selections {
            let members = self.ecmp_members(&key.0, sel);
            ecmp.entry(key.clone()).or_default().update(&members);
        }
        self.ecmp = ecmp;
    }

    /// The VM ports a selection's ECMP paths lead to, by name, in path
    /// order: the ports their next hops name, when those have labels. A
    /// port named twice (two route reflectors giving the same next hop) is
    /// one member, as [`Slots::update`] takes it.
    fn ecmp_members(&self, network: &str, sel: &Selection) -> Vec<String> {
        let inputs = self.inputs();
        sel.ecmp()
            .filter_map(|path| inputs.resolve(network, path.attrs.next_hop))
            .filter(|port| inputs.port_label(port).is_some())
            .map(|port| port.name.clone())
            .collect()
    }

    /// The path a route from `peer` of `bgpaas` gives the decision process,
    /// with the network it is in; `None` when it is left out.
    fn candidate(
        &self,
        bgpaas: &str,
        peer: Ipv4Addr,
        prefix: &IpNet,
        attrs: &PathAttrs,
    ) -> Option<(&str, BgpPath)> {
        let b = self.index.bgpaas(&self.config, bgpaas)?;
        let port = self.index.port(&self.config, &b.port)?;
        let inputs = self.inputs();
        let ebgp = b.asn != self.config.asn;
        // Unresolvable next hops and AS loops (Contrail's own AS in the
        // path) leave a path out of the decision (RFC 4271 §9.1.2), and so
        // does a next hop of the other family than the prefix's (an IPv4
        // route with an IPv6 next hop needs RFC 8950, which is not
        // negotiated; an IPv6 route names an IPv4 speaker by its mapped
        // address).
        if inputs.resolve(&port.network, attrs.next_hop).is_none()
            || attrs.as_path.contains(&self.config.asn)
            || attrs.next_hop.is_ipv4() != matches!(prefix, IpNet::V4(_))
        {
            return None;
        }
        let mut attrs = attrs.clone();
        if ebgp {
            // LOCAL_PREF from an external peer is ignored (RFC 4271 §5.1.5).
            attrs.local_pref = 100;
        }
        let path = BgpPath {
            source: PathSource {
                bgpaas: bgpaas.to_owned(),
                peer,
                router_id: port.ip,
                ebgp,
            },
            attrs,
        };
        Some((port.network.as_str(), path))
    }

    // ---- what it holds ----

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A compute node's vRouter.
    pub fn vrouter(&self, node: &str) -> Option<&VRouter> {
        self.nodes.get(node).map(|n| &n.router)
    }

    /// A compute node's vRouter, to send packets through. Changing its
    /// configuration through this reference desynchronises the agent; its
    /// routes, though, are the agent's record of what it programmed, so a
    /// route added or deleted here is taken as the agent's own, and the next
    /// rebuild of the node brings it back to what the agent computes.
    pub fn vrouter_mut(&mut self, node: &str) -> Option<&mut VRouter> {
        self.nodes.get_mut(node).map(|n| &mut n.router)
    }

    /// The configuration and a node's vRouter at once (the agent reads
    /// the policies while it programs flows).
    pub(crate) fn config_and_vrouter_mut(&mut self, node: &str) -> (&Config, Option<&mut VRouter>) {
        (
            &self.config,
            self.nodes.get_mut(node).map(|n| &mut n.router),
        )
    }

    /// The state the agent last programmed on a node, its routes as the
    /// vRouter holds them.
    pub fn node_state(&self, node: &str) -> Option<NodeState> {
        self.nodes.get(node).map(Node::held)
    }

    /// The ids the agent of a node allocated.
    pub fn node_ids(&self, node: &str) -> Option<&NodeIds> {
        self.ids.get(node)
    }

    /// Every BGPaaS session that has been up, with what it holds.
    pub fn sessions(&self) -> impl Iterator<Item = (&(String, Ipv4Addr), &Session)> {
        self.sessions.iter()
    }

    /// The selected route for a prefix learned over BGPaaS in a network.
    pub fn selection(&self, network: &str, prefix: IpNet) -> Option<&Selection> {
        self.selections.get(&(network.to_owned(), prefix))
    }

    /// The VM ports a prefix learned over BGPaaS spreads over, by slot
    /// (ECMP: two or more members make a composite nexthop on every node).
    pub fn ecmp(&self, network: &str, prefix: IpNet) -> Option<&Slots<String>> {
        self.ecmp.get(&(network.to_owned(), prefix))
    }

    /// The encapsulation a node's tunnel nexthop `nh` pushes for a routed
    /// packet (or, `bridged`, a bridged one), and the rule that chose it
    /// (`None` when `nh` is not a tunnel the agent made).
    pub fn tunnel_encap(
        &self,
        node: &str,
        nh: vrsim_dataplane::NhId,
        bridged: bool,
    ) -> Option<crate::encap::EncapChoice> {
        let ids = self.ids.get(node)?;
        let is = |(_, id): &(&String, &vrsim_dataplane::NhId)| **id == nh;
        if bridged && let Some((remote, _)) = ids.tunnels.iter().chain(&ids.l2_tunnels).find(is) {
            // Bridged traffic goes to compute nodes only.
            return self
                .config
                .compute(remote)
                .and_then(|_| crate::encap::layer2(&self.config));
        }
        let (remote, _) = ids.tunnels.iter().find(is)?;
        crate::encap::layer3(&self.config, remote)
    }

    /// Every selected prefix's ECMP slots.
    pub fn ecmp_slots(&self) -> &EcmpSlots {
        &self.ecmp
    }

    /// The network whose VRF `vrf` is on `node`.
    pub fn network_of_vrf(&self, node: &str, vrf: VrfId) -> Option<&NetworkConfig> {
        let ids = self.ids.get(node)?;
        let (name, _) = ids.networks.iter().find(|(_, n)| n.vrf == vrf)?;
        self.config.network(name)
    }

    /// The routes the control node advertises to a BGPaaS session, the way
    /// Contrail's ribout does (docs/vrouter-reference.md §9): the session's network's routes,
    /// that is every VM port's /32 (and /128) and every BGPaaS route selected in it whose
    /// best path came from another session, each with NEXT_HOP rewritten to
    /// the vRouter address the VM peers with (`peer`); an IPv6 route's next
    /// hop is the vRouter's IPv6 address of the same role (the IPv6 gateway
    /// for a session with the gateway, the IPv6 DNS address for one with
    /// DNS), or `peer` mapped into IPv6 (`::ffff:172.16.10.1`) when the
    /// network has no IPv6 subnet. Toward an iBGP session
    /// (the BGPaaS object's AS is Contrail's) routes learned over iBGP are
    /// left out (RFC 4271 §9.2: vrsim does not act as a route reflector,
    /// which would need ORIGINATOR_ID and CLUSTER_LIST, RFC 4456). The AS
    /// path is the stored one; prepending Contrail's AS toward an eBGP peer is
    /// the wire's business. Empty for an unknown session. In prefix order.
    pub fn bgpaas_routes_out(&self, bgpaas: &str, peer: Ipv4Addr) -> Vec<(IpNet, PathAttrs)> {
        if self.check_session(bgpaas, peer).is_err() {
            return Vec::new();
        }
        let Some(b) = self.config.bgpaas(bgpaas) else {
            return Vec::new();
        };
        let ibgp = b.asn == self.config.asn;
        let Some(net) = self
            .config
            .port(&b.port)
            .and_then(|p| self.config.network(&p.network))
        else {
            return Vec::new();
        };
        let next_hop = |prefix: &IpNet| -> IpAddr {
            match (prefix, net.subnet6) {
                (IpNet::V4(_), _) => peer.into(),
                (IpNet::V6(_), Some(s6)) if peer == net.dns_ip => s6.dns_ip.into(),
                (IpNet::V6(_), Some(s6)) => s6.gateway_ip.into(),
                (IpNet::V6(_), None) => peer.to_ipv6_mapped().into(),
            }
        };
        let mut out = BTreeMap::new();
        for p in self.config.ports.iter().filter(|p| p.network == net.name) {
            for ip in p.addrs() {
                let prefix = IpNet::from(ip);
                out.insert(prefix, PathAttrs::new(next_hop(&prefix), Vec::new()));
            }
        }
        for ((n, prefix), sel) in &self.selections {
            let best = sel.best();
            let own = best.source.bgpaas == bgpaas && best.source.peer == peer;
            if *n != net.name || own || (ibgp && !best.source.ebgp) {
                continue;
            }
            let mut attrs = best.attrs.clone();
            attrs.next_hop = next_hop(prefix);
            out.insert(*prefix, attrs);
        }
        out.into_iter().collect()
    }

    /// The routes the control node advertises to a gateway, per VRF and
    /// prefix: every VM port's /32 (and /128) in the VRF's network and, when the network
    /// allows transit, the BGPaaS routes selected in it.
    pub fn gateway_routes(&self, gateway: &str) -> Vec<GatewayRoute> {
        let Some(g) = self.config.gateways.iter().find(|g| g.name == gateway) else {
            return Vec::new();
        };
        let inputs = self.inputs();
        let mut out = Vec::new();
        for v in &g.vrfs {
            let Some(net) = self.config.network(&v.network) else {
                continue;
            };
            for p in self.index.network_ports(&self.config, &net.name) {
                for ip in p.addrs() {
                    out.extend(self.port_gateway_route(v, p, ip));
                }
            }
            if net.allow_transit {
                for (prefix, sel) in inputs.selections_in(&net.name) {
                    out.extend(self.learned_gateway_route(v, *prefix, sel));
                }
            }
        }
        out.sort_by(|a, b| (&a.vrf, a.prefix).cmp(&(&b.vrf, b.prefix)));
        out.dedup_by(|a, b| a.vrf == b.vrf && a.prefix == b.prefix);
        out
    }

    /// The gateway's routes at the (network, prefix) keys the last event
    /// changed, per VRF of the network, as [`Controller::gateway_routes`]
    /// gives them (`None`: no route there); `None` when the last event was
    /// not a route event applied in place (then take the whole list).
    pub fn gateway_route_updates(&self, gateway: &str) -> Option<Vec<GatewayRouteUpdate>> {
        let keys = self.changed.as_ref()?;
        let g = self.config.gateways.iter().find(|g| g.name == gateway)?;
        let mut out = Vec::new();
        for (network, prefix) in keys {
            let Some(net) = self.config.network(network) else {
                continue;
            };
            for v in g.vrfs.iter().filter(|v| v.network == *network) {
                // A VM port's own route wins over a learned one.
                let own = (prefix.prefix_len() == prefix.max_prefix_len())
                    .then(|| self.index.port_at(&self.config, network, prefix.addr()))
                    .flatten();
                let route = match own {
                    Some(p) => self.port_gateway_route(v, p, prefix.addr()),
                    None if net.allow_transit => self
                        .selections
                        .get(&(network.clone(), *prefix))
                        .and_then(|sel| self.learned_gateway_route(v, *prefix, sel)),
                    None => None,
                };
                out.push(((v.name.clone(), *prefix), route));
            }
        }
        Some(out)
    }

    /// A route selected from BGPaaS paths, as a gateway VRF learns it.
    fn learned_gateway_route(
        &self,
        v: &crate::config::GatewayVrf,
        prefix: IpNet,
        sel: &Selection,
    ) -> Option<GatewayRoute> {
        let best = sel.best();
        let source = RouteSource::Bgpaas(sel.clone());
        let members = self
            .ecmp
            .get(&(v.network.clone(), prefix))
            .filter(|s| s.is_ecmp());
        let ports: Vec<&PortConfig> = match members {
            // ECMP: the members in slot order.
            Some(slots) => slots
                .members()
                .filter_map(|name| self.index.port(&self.config, name))
                .collect(),
            None => vec![self.inputs().resolve(&v.network, best.attrs.next_hop)?],
        };
        self.gateway_route(v, prefix, &ports, best.attrs.clone(), source)
    }

    /// A VM port's host route for address `ip`, as a gateway VRF learns it.
    fn port_gateway_route(
        &self,
        v: &crate::config::GatewayVrf,
        p: &PortConfig,
        ip: IpAddr,
    ) -> Option<GatewayRoute> {
        let attrs = PathAttrs::new(ip, Vec::new());
        let source = RouteSource::VmPort(p.name.clone());
        self.gateway_route(v, IpNet::from(ip), &[p], attrs, source)
    }

    /// A route of gateway VRF `v` to the compute nodes of `ports`: one path
    /// per compute node (the control node advertises each node's path, as
    /// each node's agent exports its own), with the label of its first
    /// port there. `None` when no port has a label and a node.
    fn gateway_route(
        &self,
        v: &crate::config::GatewayVrf,
        prefix: IpNet,
        ports: &[&PortConfig],
        attrs: PathAttrs,
        source: RouteSource,
    ) -> Option<GatewayRoute> {
        let mut paths: Vec<GatewayPath> = Vec::with_capacity(ports.len());
        for port in ports {
            let Some(label) = self.inputs().port_label(port) else {
                continue;
            };
            let Some(compute) = self.index.compute(&self.config, &port.compute) else {
                continue;
            };
            if paths.iter().all(|p| p.compute != compute.name) {
                paths.push(GatewayPath {
                    label: label.value(),
                    compute: compute.name.clone(),
                    compute_ip: compute.ip,
                });
            }
        }
        if paths.is_empty() {
            return None;
        }
        let from = self
            .config
            .control_nodes
            .first()
            .map_or(Ipv4Addr::UNSPECIFIED, |c| c.ip);
        Some(GatewayRoute {
            vrf: v.name.clone(),
            prefix,
            paths,
            attrs,
            from,
            source,
        })
    }
}
