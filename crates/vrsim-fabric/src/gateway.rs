//! The gateway (vMX role): `inet.0` with its directly connected subnets (the
//! test PC's), and one VRF per virtual network holding the routes the
//! control node advertises (prefix, AS path, label, GRE dynamic tunnel to
//! the compute node). It pushes MPLSoGRE with a route's label and pops the
//! per-VRF label (16 in scenario A) back into the VRF.
//!
//! How traffic crosses between `inet.0` and the VRFs is vrsim's model of a
//! common public-VRF setup: the VRFs' routes are leaked into `inet.0`
//! (a RIB group), and each VRF ends in `0.0.0.0/0 next-table inet.0`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use vrsim_control::GatewayRoute;
use vrsim_lpm::Ipv4Table;
use vrsim_wire::MacAddr;

/// A gateway port outside the fabric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GwPort {
    /// Its name (`ge-0/0/1`).
    pub name: String,
    /// Its address and subnet.
    pub addr: Ipv4Net,
    /// Its MAC.
    pub mac: MacAddr,
}

/// What a gateway route leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GwNext {
    /// A directly connected subnet on a port.
    Direct(String),
    /// A learned route (index into [`Gateway::learned`]).
    Learned(usize),
    /// Continue in `inet.0`.
    NextTable,
}

/// The gateway.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// Its name.
    pub name: String,
    /// Its fabric port's name.
    pub fabric_port: String,
    /// Its fabric address.
    pub fabric_ip: Ipv4Addr,
    /// Its fabric MAC.
    pub fabric_mac: MacAddr,
    /// Ports outside the fabric.
    pub ports: Vec<GwPort>,
    /// VRF name → label that leads into it.
    pub vrf_labels: BTreeMap<String, u32>,
    /// The routes learned from the control node.
    pub learned: Vec<GatewayRoute>,
    /// Compute node name → its GRE tunnel unit (`gr-0/0/10.32769`) and fabric MAC.
    pub tunnels: BTreeMap<String, (String, MacAddr)>,
    inet0: Ipv4Table<GwNext>,
    vrfs: BTreeMap<String, Ipv4Table<GwNext>>,
}

impl Gateway {
    /// A gateway with its ports, VRF labels and tunnels, and no learned routes.
    pub fn new(
        name: &str,
        fabric: (String, Ipv4Addr, MacAddr),
        ports: Vec<GwPort>,
        vrf_labels: BTreeMap<String, u32>,
        tunnels: BTreeMap<String, (String, MacAddr)>,
    ) -> Self {
        let mut g = Gateway {
            name: name.to_owned(),
            fabric_port: fabric.0,
            fabric_ip: fabric.1,
            fabric_mac: fabric.2,
            ports,
            vrf_labels,
            learned: Vec::new(),
            tunnels,
            inet0: Ipv4Table::new(),
            vrfs: BTreeMap::new(),
        };
        g.sync(Vec::new());
        g
    }

    /// Replace the learned routes and rebuild the tables.
    pub fn sync(&mut self, learned: Vec<GatewayRoute>) {
        self.learned = learned;
        self.inet0.clear();
        for p in &self.ports {
            self.inet0
                .insert(p.addr.trunc(), GwNext::Direct(p.name.clone()));
        }
        self.vrfs.clear();
        for v in self.vrf_labels.keys() {
            let mut t = Ipv4Table::new();
            t.insert(Ipv4Net::default(), GwNext::NextTable);
            self.vrfs.insert(v.clone(), t);
        }
        for (i, r) in self.learned.iter().enumerate() {
            if let Some(t) = self.vrfs.get_mut(&r.vrf) {
                t.insert(r.prefix, GwNext::Learned(i));
            }
            if self.inet0.get(&r.prefix).is_none() {
                self.inet0.insert(r.prefix, GwNext::Learned(i));
            }
        }
    }

    /// Look up `dst` in `inet.0` or a VRF; `inet.0` is consulted after a
    /// VRF's `next-table` default. Returns the table name, the matched prefix
    /// and where it leads.
    pub fn lookup(
        &self,
        vrf: Option<&str>,
        dst: Ipv4Addr,
    ) -> Vec<(String, Option<Ipv4Net>, Option<GwNext>)> {
        let mut out = Vec::new();
        if let Some(v) = vrf {
            let hit = self.vrfs.get(v).and_then(|t| t.longest_match(dst));
            let next = hit.map(|(_, n)| n.clone());
            out.push((format!("{v}.inet.0"), hit.map(|(p, _)| p), next.clone()));
            if next != Some(GwNext::NextTable) {
                return out;
            }
        }
        let hit = self.inet0.longest_match(dst);
        out.push((
            "inet.0".into(),
            hit.map(|(p, _)| p),
            hit.map(|(_, n)| n.clone()),
        ));
        out
    }

    /// The VRF a label leads into.
    pub fn vrf_of_label(&self, label: u32) -> Option<&str> {
        self.vrf_labels
            .iter()
            .find(|(_, l)| **l == label)
            .map(|(v, _)| v.as_str())
    }

    /// The port with this name.
    pub fn port(&self, name: &str) -> Option<&GwPort> {
        self.ports.iter().find(|p| p.name == name)
    }

    /// `show route PREFIX` in the Junos layout of the seed document, over
    /// every VRF holding the prefix exactly. `None` when none does.
    pub fn show_route(&self, prefix: Ipv4Net) -> Option<String> {
        let mut out = String::new();
        for (vrf, table) in &self.vrfs {
            let Some(GwNext::Learned(i)) = table.get(&prefix) else {
                continue;
            };
            let r = &self.learned[*i];
            let count = table.len() - 1;
            let unit = self
                .tunnels
                .get(&r.compute)
                .map_or("-", |(u, _)| u.as_str());
            out.push_str(&format!(
                "\n{vrf}.inet.0: {count} destinations, {count} routes ({count} active, 0 holddown, 0 hidden)\n\
                 + = Active Route, - = Last Active, * = Both\n\n\
                 {:<19}*[BGP/170] 00:00:00, localpref {}, from {}\n\
                 {:22}AS path: {}, validation-state: unverified\n\
                 {:20}> via {unit}, Push {}\n",
                prefix.to_string(),
                r.attrs.local_pref,
                r.from,
                "",
                r.attrs.as_path_text(),
                "",
                r.label
            ));
        }
        (!out.is_empty()).then(|| out.trim_start().to_owned())
    }

    /// `show dynamic-tunnels database`: one entry per compute node a learned route uses.
    pub fn show_dynamic_tunnels(&self) -> String {
        let mut out = String::from("Table: inet.3\n");
        for (compute, (unit, _)) in &self.tunnels {
            let routes: Vec<_> = self
                .learned
                .iter()
                .filter(|r| &r.compute == compute)
                .collect();
            let Some(first) = routes.first() else {
                continue;
            };
            out.push_str(&format!(
                "\nTunnel to: {}/32\n  Reference count: {}\n  Next-hop type: gre\n    Source address: {}\n    Next hop: {unit}\n    State: Up\n",
                first.compute_ip,
                routes.len(),
                self.fabric_ip
            ));
        }
        out
    }
}
