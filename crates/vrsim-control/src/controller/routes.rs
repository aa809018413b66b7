//! One route event at the cost of what it changes: a BGPaaS advertise,
//! withdraw or session change re-ranks only its prefixes, and programs only
//! the routes of those prefixes on the nodes holding their network. The
//! result is the state a rebuild would give (`tests/control_props.rs` holds
//! the two equal after random event sequences); where a change reaches
//! further than routes, the event takes the rebuild.

use std::net::Ipv4Addr;

use ipnet::IpNet;
use vrsim_dataplane::route::Route;
use vrsim_dataplane::{DataplaneError, VRouter, VrfId};

use super::{Controller, Event, Node};
use crate::agent::{Inputs, NodeIds, learned_route};
use crate::bgp::Selection;
use crate::ecmp::Slots;
use crate::error::ControlError;
use crate::program::{Change, Object, Op};

/// A route a node must hold at a changed prefix (`None`: no route), the
/// node given by its place in the controller's map of nodes.
type RouteUpdate = (usize, VrfId, IpNet, Option<Route>);

impl Controller {
    /// Apply a route event in place, or `Ok(None)` when the event is not
    /// one (it then takes [`Controller::apply_all`]). A refused event
    /// changes nothing.
    pub(super) fn apply_route_event(
        &mut self,
        event: &Event,
    ) -> Result<Option<Vec<Change>>, ControlError> {
        let (bgpaas, peer, prefixes) = match event {
            Event::SessionUp { bgpaas, peer } => (bgpaas, *peer, Vec::new()),
            Event::SessionDown { bgpaas, peer } => {
                let held = self.sessions.get(&(bgpaas.clone(), *peer));
                let prefixes = held.map(|s| s.routes.keys().copied().collect());
                (bgpaas, *peer, prefixes.unwrap_or_default())
            }
            Event::Advertise {
                bgpaas,
                peer,
                prefix,
                ..
            }
            | Event::Withdraw {
                bgpaas,
                peer,
                prefix,
            } => (bgpaas, *peer, vec![prefix.trunc()]),
            _ => return Ok(None),
        };
        // The checks and the one change to the sessions, refused as a
        // batch would refuse it.
        self.absorb(event.clone())?;
        let Some(network) = self
            .index
            .bgpaas(&self.config, bgpaas)
            .and_then(|b| self.index.port(&self.config, &b.port))
            .map(|p| p.network.clone())
        else {
            self.changed = Some(Vec::new());
            return Ok(Some(Vec::new()));
        };
        let learned6 = self.inputs().learned6(&network);
        let mut changed = Vec::new();
        // Composites are numbered per node over all of them, so an event
        // that makes, changes or ends one takes the rebuild.
        let mut composites = false;
        for prefix in prefixes {
            let was = self.is_ecmp(&network, prefix);
            if self.rerank(&network, bgpaas, peer, prefix) {
                composites |= was || self.is_ecmp(&network, prefix);
                changed.push(prefix);
            }
        }
        // What the gateways learn depends on the selections and the
        // ports only, so these keys are all a gateway must look at again,
        // whichever way the vRouters are brought up to date below.
        self.changed = Some(changed.iter().map(|p| (network.clone(), *p)).collect());
        if changed.is_empty() {
            return Ok(Some(Vec::new()));
        }
        // The first IPv6 route learned in a network without an IPv6 subnet
        // brings `::/0` to its nodes (and the last takes it away): more
        // than routes of these prefixes, so rebuild.
        // So does a route needing a tunnel nexthop a node lacks.
        let updates = (self.inputs().learned6(&network) == learned6 && !composites)
            .then(|| self.route_updates(&network, &changed))
            .flatten();
        match updates {
            Some(updates) => self.program_routes(updates).map(Some),
            None => self.program(true).map(Some),
        }
    }

    pub(super) fn inputs(&self) -> Inputs<'_> {
        Inputs {
            config: &self.config,
            ids: &self.ids,
            selections: &self.selections,
            ecmp: &self.ecmp,
            index: &self.index,
        }
    }

    /// Take the path of `prefix` from `peer` of `bgpaas` (its route now, or
    /// none) into the candidates and rank them again; `true` when the
    /// selection changed.
    fn rerank(&mut self, network: &str, bgpaas: &str, peer: Ipv4Addr, prefix: IpNet) -> bool {
        let key = (network.to_owned(), prefix);
        let source = (bgpaas.to_owned(), peer);
        let path = self
            .sessions
            .get(&source)
            .filter(|s| s.up)
            .and_then(|s| s.routes.get(&prefix))
            .and_then(|attrs| self.candidate(bgpaas, peer, &prefix, attrs))
            .map(|(_, path)| path);
        let paths = self.paths.entry(key.clone()).or_default();
        match path {
            Some(p) => {
                paths.insert(source, p);
            }
            None => {
                paths.remove(&source);
            }
        }
        let selection = Selection::rank(paths.values().cloned().collect());
        if paths.is_empty() {
            self.paths.remove(&key);
        }
        if self.selections.get(&key) == selection.as_ref() {
            return false;
        }
        match selection {
            Some(s) => {
                let members = self.ecmp_members(network, &s);
                self.ecmp.entry(key.clone()).or_default().update(&members);
                self.selections.insert(key, s);
            }
            None => {
                self.ecmp.remove(&key);
                self.selections.remove(&key);
            }
        };
        true
    }

    /// Whether the prefix spreads over two members or more (a composite
    /// nexthop on every node).
    fn is_ecmp(&self, network: &str, prefix: IpNet) -> bool {
        self.ecmp
            .get(&(network.to_owned(), prefix))
            .is_some_and(Slots::is_ecmp)
    }

    /// Per node holding `network`, the routes it must hold at `prefixes`;
    /// `None` when a route needs a tunnel nexthop the node does not hold
    /// (the rebuild then makes it).
    fn route_updates(&self, network: &str, prefixes: &[IpNet]) -> Option<Vec<RouteUpdate>> {
        let inputs = self.inputs();
        let net = self.config.network(network)?;
        // What does not depend on the node, once per prefix: whether nodes
        // have a route of their own there (which wins), and the port the
        // selected next hop names, with its label and its node's position.
        let targets: Vec<_> = prefixes
            .iter()
            .filter(|p| !inputs.has_own_route(net, **p))
            .map(|p| {
                let sel = self.selections.get(&(network.to_owned(), *p));
                (*p, sel.and_then(|s| inputs.learned_target(network, s)))
            })
            .collect();
        let mut out = Vec::new();
        // Nodes and their ids are both kept by name: walked side by side
        // rather than looked up per node.
        for (at, (name, node, ids)) in self.nodes_with_ids() {
            let Some(vrf) = ids.networks.get(network).map(|n| n.vrf) else {
                continue;
            };
            let position = self.index.compute_index(name);
            for (prefix, target) in &targets {
                let new = target.and_then(|(port, label)| {
                    learned_route(ids, port.port, label, port.compute, port.is_on(position))
                });
                // (The vRouter holds the nexthops the agent programmed.)
                if new.is_some_and(|r| node.router.nh(r.nh).is_none()) {
                    return None;
                }
                out.push((at, vrf, *prefix, new));
            }
        }
        Some(out)
    }

    /// Every node with its ids and its place in the map of nodes, in name
    /// order.
    fn nodes_with_ids(&self) -> impl Iterator<Item = (usize, (&String, &Node, &NodeIds))> {
        let mut ids = self.ids.iter().peekable();
        self.nodes
            .iter()
            .enumerate()
            .filter_map(move |(at, (name, node))| {
                while ids.next_if(|(n, _)| *n < name).is_some() {}
                let (_, i) = ids.next_if(|(n, _)| *n == name)?;
                Some((at, (name, node, i)))
            })
    }

    /// Give each node its routes at the changed prefixes, straight into its
    /// vRouter's tables (the record of a node's routes): a replaced route
    /// is a change, a missing one an addition, an unchanged one no call.
    /// The calls are returned in the configuration's node order.
    fn program_routes(&mut self, updates: Vec<RouteUpdate>) -> Result<Vec<Change>, ControlError> {
        // Each node with its updates (both in the map's order).
        let mut groups = updates.chunk_by(|a, b| a.0 == b.0).peekable();
        let mut done = Vec::new();
        for (at, (name, node)) in self.nodes.iter_mut().enumerate() {
            if let Some(g) = groups.next_if(|g| g.first().is_some_and(|u| u.0 == at)) {
                let calls = program_node(name, node, g)?;
                done.push((self.index.compute_index(name), calls));
            }
        }
        done.sort_by_key(|(position, _)| *position);
        Ok(done.into_iter().flat_map(|(_, calls)| calls).collect())
    }
}

/// Set one node's routes, returning the calls that changed something.
fn program_node(
    name: &str,
    node: &mut Node,
    updates: &[RouteUpdate],
) -> Result<Vec<Change>, ControlError> {
    let mut calls = Vec::new();
    for &(_, vrf, prefix, route) in updates {
        let set = set_route(&mut node.router, vrf, prefix, route);
        let op = set.map_err(|source| ControlError::Dataplane {
            node: name.to_owned(),
            source,
        })?;
        if let Some(op) = op {
            let object = Object::Route(vrf, prefix);
            calls.push(Change {
                node: name.to_owned(),
                op,
                object,
            });
        }
    }
    // Reported as a rebuild reports them: additions, changes, deletions,
    // each in prefix order (stable).
    calls.sort_by_key(|c| match c.op {
        Op::Add => 0,
        Op::Change => 1,
        Op::Delete => 2,
    });
    // As a rebuild does: the agent re-evaluates the node's flows.
    if !calls.is_empty() {
        node.router.flush_flows();
    }
    Ok(calls)
}

/// Set the route of `prefix` in `vrf` of `router` (`None`: delete it),
/// returning the call made, if it changed something.
fn set_route(
    router: &mut VRouter,
    vrf: VrfId,
    prefix: IpNet,
    route: Option<Route>,
) -> Result<Option<Op>, DataplaneError> {
    Ok(Some(match route {
        Some(r) => {
            let old = match prefix {
                IpNet::V4(p) => router.add_route4(vrf, p, r)?,
                IpNet::V6(p) => router.add_route6(vrf, p, r)?,
            };
            match old {
                None => Op::Add,
                Some(o) if o != r => Op::Change,
                Some(_) => return Ok(None),
            }
        }
        None => {
            let gone = match prefix {
                IpNet::V4(p) => router.delete_route4(vrf, p),
                IpNet::V6(p) => router.delete_route6(vrf, p),
            };
            match gone {
                Ok(_) => Op::Delete,
                Err(DataplaneError::NoSuchRoute { .. }) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }))
}
