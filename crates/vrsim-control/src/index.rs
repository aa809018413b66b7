//! Lookups into a [`Config`] by name and by address, built once per
//! configuration change. [`Config`]'s own lookups scan its lists, which is
//! what a handful of objects wants; with thousands of ports the agent's and
//! the control node's per-route lookups made loading a fabric cubic in its
//! size.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hashbrown::HashMap;
use vrsim_wire::MplsLabel;

use crate::agent::NodeIds;
use crate::config::{BgpaasConfig, ComputeConfig, Config, PortConfig};

/// See the module documentation. Every answer is the one the matching
/// [`Config`] lookup gives (the first object in configuration order), as
/// long as the index was built from that configuration.
#[derive(Debug, Clone, Default)]
pub struct ConfigIndex {
    computes: HashMap<String, usize>,
    ports: HashMap<String, usize>,
    bgpaas: HashMap<String, usize>,
    /// Per network, its ports in configuration order.
    network_ports: HashMap<String, Vec<usize>>,
    /// Per network, the port holding each IPv4 and IPv6 address.
    addrs: HashMap<String, HashMap<IpAddr, usize>>,
    /// Per port, the labels its node's agent gave it, layer 3 and layer 2
    /// (set with the ids).
    labels: Vec<Option<(MplsLabel, MplsLabel)>>,
}

impl ConfigIndex {
    /// Index `config`.
    pub fn new(config: &Config) -> Self {
        fn first<'a>(names: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
            let mut map = HashMap::new();
            for (i, name) in names.enumerate() {
                map.entry(name.to_owned()).or_insert(i);
            }
            map
        }
        let mut network_ports: HashMap<String, Vec<usize>> = HashMap::new();
        let mut addrs: HashMap<String, HashMap<IpAddr, usize>> = HashMap::new();
        for (i, p) in config.ports.iter().enumerate() {
            network_ports.entry(p.network.clone()).or_default().push(i);
            let by_addr = addrs.entry(p.network.clone()).or_default();
            for a in p.addrs() {
                by_addr.entry(a).or_insert(i);
            }
        }
        ConfigIndex {
            computes: first(config.computes.iter().map(|c| c.name.as_str())),
            ports: first(config.ports.iter().map(|p| p.name.as_str())),
            bgpaas: first(config.bgpaas.iter().map(|b| b.name.as_str())),
            network_ports,
            addrs,
            labels: Vec::new(),
        }
    }

    /// Take each port's label from the ids the agents allocated.
    pub(crate) fn set_labels(&mut self, config: &Config, ids: &BTreeMap<String, NodeIds>) {
        self.labels = config
            .ports
            .iter()
            .map(|p| {
                let ids = ids.get(&p.compute)?.ports.get(&p.name)?;
                Some((ids.label, ids.l2_label))
            })
            .collect();
    }

    /// The label of the port with this name, on its own node.
    pub fn port_label(&self, name: &str) -> Option<MplsLabel> {
        self.labels.get(*self.ports.get(name)?)?.map(|(l3, _)| l3)
    }

    /// The layer-2 label of the port with this name, on its own node.
    pub fn port_l2_label(&self, name: &str) -> Option<MplsLabel> {
        self.labels.get(*self.ports.get(name)?)?.map(|(_, l2)| l2)
    }

    /// The position of the compute node with this name in the configuration.
    pub fn compute_index(&self, name: &str) -> Option<usize> {
        self.computes.get(name).copied()
    }

    /// The compute node with this name ([`Config::compute`]).
    pub fn compute<'c>(&self, config: &'c Config, name: &str) -> Option<&'c ComputeConfig> {
        config.computes.get(*self.computes.get(name)?)
    }

    /// The port with this name ([`Config::port`]).
    pub fn port<'c>(&self, config: &'c Config, name: &str) -> Option<&'c PortConfig> {
        config.ports.get(*self.ports.get(name)?)
    }

    /// The BGPaaS object with this name ([`Config::bgpaas`]).
    pub fn bgpaas<'c>(&self, config: &'c Config, name: &str) -> Option<&'c BgpaasConfig> {
        config.bgpaas.get(*self.bgpaas.get(name)?)
    }

    /// A network's ports, in configuration order.
    pub fn network_ports<'c>(
        &'c self,
        config: &'c Config,
        network: &str,
    ) -> impl Iterator<Item = &'c PortConfig> + 'c {
        self.network_ports
            .get(network)
            .into_iter()
            .flatten()
            .filter_map(|i| config.ports.get(*i))
    }

    /// The first port of `network`, in configuration order, holding
    /// exactly `addr` (its IPv4 or its IPv6 address).
    pub fn port_at<'c>(
        &self,
        config: &'c Config,
        network: &str,
        addr: IpAddr,
    ) -> Option<&'c PortConfig> {
        config.ports.get(*self.addrs.get(network)?.get(&addr)?)
    }

    /// The first port of `network`, in configuration order, whose IPv4
    /// address is `v4` or whose IPv6 address is `v6`.
    pub fn port_by_addr<'c>(
        &self,
        config: &'c Config,
        network: &str,
        v4: Option<IpAddr>,
        v6: Option<IpAddr>,
    ) -> Option<&'c PortConfig> {
        let by_addr = self.addrs.get(network)?;
        // IPv4 keys come from ports' IPv4 addresses only, IPv6 keys from
        // their IPv6 ones. The two candidates may be two ports; then the
        // earlier one wins.
        let at = |a: Option<IpAddr>| a.and_then(|a| by_addr.get(&a).copied());
        let v4 = at(v4.filter(IpAddr::is_ipv4));
        let v6 = at(v6.filter(IpAddr::is_ipv6));
        config.ports.get(v4.into_iter().chain(v6).min()?)
    }
}
