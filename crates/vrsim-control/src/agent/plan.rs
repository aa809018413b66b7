//! What a network gives every node that holds it, worked out once for all
//! the nodes a controller programs: each VM port's label and compute node,
//! and the port each selected BGPaaS route leads to. These are the same on
//! every node, and looking them up by name for every port on every node was
//! most of the cost of computing node states on a large fabric (a 1,000-node
//! fabric has 10,000 ports and 10,000 learned routes, on each of its nodes).
//! [`crate::agent::Inputs`] makes the plan.

use hashbrown::HashMap;
use ipnet::IpNet;
use vrsim_wire::MplsLabel;

use crate::config::PortConfig;

/// A VM port as a node's agent sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlannedPort<'a> {
    pub(crate) port: &'a PortConfig,
    /// Its label on its own node, if its node's ids gave it one.
    pub(crate) label: Option<MplsLabel>,
    /// Its layer-2 label there.
    pub(crate) l2_label: Option<MplsLabel>,
    /// Its compute node's position in the configuration.
    pub(crate) compute: Option<usize>,
}

impl PlannedPort<'_> {
    /// Whether the port is on the compute node at `position` (only that
    /// node holds it in its ids).
    pub(crate) fn is_on(&self, position: Option<usize>) -> bool {
        self.compute.is_some() && self.compute == position
    }
}

/// Where a selected route leads, the same for every node of its network.
#[derive(Debug, Clone)]
pub(crate) enum Target<'a> {
    /// One port (its best path's next hop), with its label.
    Port(PlannedPort<'a>, MplsLabel),
    /// Two ports or more (ECMP), by slot, each with its label; `None` is
    /// an empty slot.
    Ecmp(Vec<Option<(PlannedPort<'a>, MplsLabel)>>),
}

/// One network's share of a [`Plan`].
#[derive(Debug, Default)]
pub(crate) struct NetworkPlan<'a> {
    /// Its ports, in configuration order.
    pub(crate) ports: Vec<PlannedPort<'a>>,
    /// Its selected routes in prefix order, each with where it leads: the
    /// ports of its ECMP slots when it has two members or more, else the
    /// port its best path's next hop names, when there is one with a label.
    pub(crate) learned: Vec<(IpNet, Option<Target<'a>>)>,
}

/// Per network name, its [`NetworkPlan`] (the first network of a name, as
/// [`crate::config::Config::network`] finds it).
#[derive(Debug, Default)]
pub(crate) struct Plan<'a> {
    networks: HashMap<&'a str, NetworkPlan<'a>>,
}

impl<'a> Plan<'a> {
    pub(crate) fn network(&self, name: &str) -> Option<&NetworkPlan<'a>> {
        self.networks.get(name)
    }

    /// Add a network's plan, unless one of its name is there already.
    pub(crate) fn add(&mut self, name: &'a str, plan: impl FnOnce() -> NetworkPlan<'a>) {
        self.networks.entry(name).or_insert_with(plan);
    }
}
