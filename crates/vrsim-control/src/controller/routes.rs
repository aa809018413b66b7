//! One route event at the cost of what it changes: a BGPaaS advertise,
//! withdraw or session change re-ranks only its prefixes, and programs only
//! the routes of those prefixes on the nodes holding their network. The
//! result is the state a rebuild would give (`tests/control_props.rs` holds
//! the two equal after random event sequences); where a change reaches
//! further than routes, the event takes the rebuild.

use std::net::Ipv4Addr;

use ipnet::IpNet;
use vrsim_dataplane::VrfId;
use vrsim_wire::MplsLabel;

use super::{Controller, Event};
use crate::agent::{Inputs, NodeState, learned_route};
use crate::bgp::Selection;
use crate::config::PortConfig;
use crate::error::ControlError;
use crate::program::{self, Change};

/// What one node's routes become: (VRF, prefix) → the route, or `None`
/// for none, before and after.
type RouteDiff = (NodeState, NodeState);

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
        for prefix in prefixes {
            if self.rerank(&network, bgpaas, peer, prefix) {
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
        let diffs = (self.inputs().learned6(&network) == learned6)
            .then(|| self.route_diffs(&network, &changed))
            .flatten();
        match diffs {
            Some(diffs) => self.program_routes(diffs).map(Some),
            None => self.program(true).map(Some),
        }
    }

    pub(super) fn inputs(&self) -> Inputs<'_> {
        Inputs {
            config: &self.config,
            ids: &self.ids,
            selections: &self.selections,
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
            Some(s) => self.selections.insert(key, s),
            None => self.selections.remove(&key),
        };
        true
    }

    /// Per node holding `network`, in configuration order, its routes of
    /// `prefixes` before and after; `None` when a new route needs a tunnel
    /// nexthop the node does not hold (the rebuild then makes it).
    fn route_diffs(&self, network: &str, prefixes: &[IpNet]) -> Option<Vec<(String, RouteDiff)>> {
        let inputs = self.inputs();
        let net = self.config.network(network)?;
        // What does not depend on the node, once per prefix: whether nodes
        // have a route of their own there (which wins), and the port the
        // selected next hop names, with its label.
        let targets: Vec<(IpNet, Option<(&PortConfig, MplsLabel)>)> = prefixes
            .iter()
            .filter(|p| !inputs.has_own_route(net, **p))
            .map(|p| {
                let sel = self.selections.get(&(network.to_owned(), *p));
                let port = sel.and_then(|s| inputs.resolve(network, s.best().attrs.next_hop));
                (
                    *p,
                    port.and_then(|port| Some((port, inputs.port_label(port)?))),
                )
            })
            .collect();
        let mut out = Vec::new();
        for c in &self.config.computes {
            let (Some(ids), Some(node)) = (self.ids.get(&c.name), self.nodes.get(&c.name)) else {
                continue;
            };
            let Some(vrf) = ids.networks.get(network).map(|n| n.vrf) else {
                continue;
            };
            let (mut from, mut to) = (NodeState::default(), NodeState::default());
            for (prefix, target) in &targets {
                let key: (VrfId, IpNet) = (vrf, *prefix);
                let new = target.and_then(|(port, label)| learned_route(ids, port, label));
                if new.is_some_and(|r| !node.state.nhs.contains_key(&r.nh)) {
                    return None;
                }
                let old = node.router.route(vrf, *prefix).copied();
                if old == new {
                    continue;
                }
                if let Some(r) = old {
                    from.routes.insert(key, r);
                }
                if let Some(r) = new {
                    to.routes.insert(key, r);
                }
            }
            if from != to {
                out.push((c.name.clone(), (from, to)));
            }
        }
        Some(out)
    }

    /// Program the route differences (the vRouter's tables are the record
    /// of a node's routes).
    fn program_routes(
        &mut self,
        diffs: Vec<(String, RouteDiff)>,
    ) -> Result<Vec<Change>, ControlError> {
        let mut changes = Vec::new();
        for (name, (from, to)) in diffs {
            let Some(node) = self.nodes.get_mut(&name) else {
                continue;
            };
            let done = program::apply(&name, &mut node.router, &from, &to).map_err(|source| {
                ControlError::Dataplane {
                    node: name.clone(),
                    source,
                }
            })?;
            // As a rebuild does: the agent re-evaluates the node's flows.
            if !done.is_empty() {
                node.router.flush_flows();
            }
            changes.extend(done);
        }
        Ok(changes)
    }
}
