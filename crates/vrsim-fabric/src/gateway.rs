//! The gateway (vMX role): `inet.0` with its directly connected subnets (the
//! test PC's), and one VRF per virtual network holding the routes the
//! control node advertises (prefix, AS path, label, GRE dynamic tunnel to
//! the compute node). It pushes MPLSoGRE with a route's label and pops the
//! per-VRF label (16 in scenario A) back into the VRF.
//!
//! How traffic crosses between `inet.0` and the VRFs is vrsim's model of a
//! common public-VRF setup: the VRFs' routes are leaked into `inet.0`
//! (a RIB group), and each VRF ends in `0.0.0.0/0 next-table inet.0`.
//! IPv6 has the same shape in its own tables (`inet6.0`, `VRF.inet6.0`,
//! `::/0 next-table inet6.0`); its packets cross the same IPv4 GRE tunnels
//! (the underlay stays IPv4, as with 6PE/6VPE).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use vrsim_control::{GatewayPath, GatewayRoute, GatewayRouteUpdate, RouteSource};
use vrsim_dataplane::flow::vr_hash;
use vrsim_dataplane::nexthop::TunnelEncap;
use vrsim_wire::ethernet::{EthernetRepr, HEADER_LEN as ETH_LEN};
use vrsim_wire::icmpv4::{Icmpv4Message, Icmpv4Repr};
use vrsim_wire::{EtherType, Frame, Header, Layer, MacAddr, UDP_PORT_MPLS, dissect, dissect_from};

use crate::device::{Action, ArpAnswer, Device, Resolve};
use crate::packet;
use crate::tables::DualTable;
use crate::trace::{DropCause, HopStep};

/// A gateway port outside the fabric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GwPort {
    /// Its name (`ge-0/0/1`).
    pub name: String,
    /// Its address and subnet.
    pub addr: Ipv4Net,
    /// Its IPv6 address and subnet, if any.
    pub addr6: Option<Ipv6Net>,
    /// Its MAC.
    pub mac: MacAddr,
}

impl GwPort {
    /// Whether `ip` is one of the port's addresses.
    pub fn owns(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.addr.addr() == a,
            IpAddr::V6(a) => self.addr6.is_some_and(|n| n.addr() == a),
        }
    }
}

/// A Junos table's name: `inet.0`, `inet6.0`, `VRF.inet.0`, `VRF.inet6.0`.
fn table_name(vrf: Option<&str>, family: IpAddr) -> String {
    let t = match family {
        IpAddr::V4(_) => "inet.0",
        IpAddr::V6(_) => "inet6.0",
    };
    match vrf {
        Some(v) => format!("{v}.{t}"),
        None => t.to_owned(),
    }
}

/// What a gateway route leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GwNext {
    /// A directly connected subnet on a port.
    Direct(String),
    /// A learned route: the key (VRF, prefix) of [`Gateway::learned`].
    Learned(String, IpNet),
    /// Continue in `inet.0` (`inet6.0` for IPv6).
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
    /// The routes learned from the control node, by VRF and prefix.
    pub learned: BTreeMap<(String, IpNet), GatewayRoute>,
    /// Compute node name → its GRE tunnel unit (`gr-0/0/10.32769`) and fabric MAC.
    pub tunnels: BTreeMap<String, (String, MacAddr)>,
    /// The encapsulation its dynamic tunnels push (MPLSoGRE unless the
    /// encapsulation priority chose MPLSoUDP, which it supports).
    pub encap: TunnelEncap,
    /// The encapsulations it accepts from the fabric.
    pub encaps: Vec<TunnelEncap>,
    /// Why `encap` (the encapsulation priority's verdict), shown in traces.
    pub encap_why: Option<String>,
    /// `inet.0` and `inet6.0`.
    inet0: DualTable<GwNext>,
    /// Each VRF's pair of tables.
    vrfs: BTreeMap<String, DualTable<GwNext>>,
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
            learned: BTreeMap::new(),
            tunnels,
            encap: TunnelEncap::MplsOverGre,
            encaps: vec![TunnelEncap::MplsOverGre],
            encap_why: None,
            inet0: DualTable::default(),
            vrfs: BTreeMap::new(),
        };
        g.sync(Vec::new());
        g
    }

    /// Replace the learned routes and rebuild the tables.
    pub fn sync(&mut self, learned: Vec<GatewayRoute>) {
        self.learned = learned
            .into_iter()
            .map(|r| ((r.vrf.clone(), r.prefix), r))
            .collect();
        self.inet0 = DualTable::default();
        for p in &self.ports {
            let direct = GwNext::Direct(p.name.clone());
            self.inet0.insert(p.addr.trunc().into(), direct.clone());
            if let Some(a6) = p.addr6 {
                self.inet0.insert(a6.trunc().into(), direct);
            }
        }
        self.vrfs.clear();
        for v in self.vrf_labels.keys() {
            let mut t = DualTable::default();
            t.insert(Ipv4Net::default().into(), GwNext::NextTable);
            t.insert(Ipv6Net::default().into(), GwNext::NextTable);
            self.vrfs.insert(v.clone(), t);
        }
        for (vrf, prefix) in self.learned.keys() {
            let next = GwNext::Learned(vrf.clone(), *prefix);
            if let Some(t) = self.vrfs.get_mut(vrf) {
                t.insert(*prefix, next.clone());
            }
            if self.inet0.get(prefix).is_none() {
                self.inet0.insert(*prefix, next);
            }
        }
    }

    /// Change the learned routes of some (VRF, prefix) keys (`None`: no
    /// route there any more) and the table entries they make, leaving the
    /// gateway as [`Gateway::sync`] with the whole new list would.
    pub fn update(&mut self, changes: Vec<GatewayRouteUpdate>) {
        for ((vrf, prefix), route) in changes {
            let key = (vrf.clone(), prefix);
            let next = GwNext::Learned(vrf.clone(), prefix);
            match route {
                Some(r) => {
                    self.learned.insert(key, r);
                    if let Some(t) = self.vrfs.get_mut(&vrf) {
                        t.insert(prefix, next);
                    }
                }
                None => {
                    if self.learned.remove(&key).is_none() {
                        continue;
                    }
                    if let Some(t) = self.vrfs.get_mut(&vrf) {
                        // A VRF's default routes lead to the next table
                        // when no learned route replaces them.
                        if prefix.prefix_len() == 0 {
                            t.insert(prefix, GwNext::NextTable);
                        } else {
                            t.remove(&prefix);
                        }
                    }
                }
            }
            // `inet.0` holds a directly connected route, or else the learned
            // route of the first VRF (by name) that has one, as `sync` puts it.
            if matches!(self.inet0.get(&prefix), Some(GwNext::Direct(_))) {
                continue;
            }
            let first = self.first_vrf_with(prefix).map(|v| (v, prefix));
            match first {
                Some((v, p)) => {
                    self.inet0.insert(prefix, GwNext::Learned(v, p));
                }
                None => {
                    self.inet0.remove(&prefix);
                }
            }
        }
    }

    /// The first VRF, by name, with a learned route for exactly `prefix`:
    /// one probe per VRF that has learned routes.
    fn first_vrf_with(&self, prefix: IpNet) -> Option<String> {
        let lowest = IpNet::V4(Ipv4Net::default());
        let mut vrf = self.learned.keys().next().map(|(v, _)| v.clone());
        while let Some(v) = vrf {
            if self.learned.contains_key(&(v.clone(), prefix)) {
                return Some(v);
            }
            // The least name above `v` is `v` followed by a NUL.
            let above = (format!("{v}\0"), lowest);
            vrf = self.learned.range(above..).next().map(|(k, _)| k.0.clone());
        }
        None
    }

    /// Look up `dst` in `inet.0` or a VRF (their `inet6.0` tables for an
    /// IPv6 address); `inet.0` is consulted after a VRF's `next-table`
    /// default. Returns the table name, the matched prefix and where it leads.
    pub fn lookup(
        &self,
        vrf: Option<&str>,
        dst: IpAddr,
    ) -> Vec<(String, Option<IpNet>, Option<GwNext>)> {
        let mut out = Vec::new();
        if let Some(v) = vrf {
            let hit = self.vrfs.get(v).and_then(|t| t.longest_match(dst));
            let next = hit.map(|(_, n)| n.clone());
            out.push((table_name(Some(v), dst), hit.map(|(p, _)| p), next.clone()));
            if next != Some(GwNext::NextTable) {
                return out;
            }
        }
        let hit = self.inet0.longest_match(dst);
        out.push((
            table_name(None, dst),
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
    pub fn show_route(&self, prefix: IpNet) -> Option<String> {
        let mut out = String::new();
        let prefix = prefix.trunc();
        for (vrf, table) in &self.vrfs {
            let Some(GwNext::Learned(v, p)) = table.get(&prefix) else {
                continue;
            };
            let Some(r) = self.learned.get(&(v.clone(), *p)) else {
                continue;
            };
            let count = table.len_of(prefix.addr()) - 1;
            let name = table_name(Some(vrf), prefix.addr());
            out.push_str(&format!(
                "\n{name}: {count} destinations, {count} routes ({count} active, 0 holddown, 0 hidden)\n\
                 + = Active Route, - = Last Active, * = Both\n\n\
                 {:<19}*[BGP/170] 00:00:00, localpref {}, from {}\n\
                 {:22}AS path: {}, validation-state: unverified\n",
                prefix.to_string(),
                r.attrs.local_pref,
                r.from,
                "",
                r.attrs.as_path_text(),
            ));
            // Junos marks the next hop in use with `>`; with several (a
            // multipath route) the others follow unmarked.
            for (i, path) in r.paths.iter().enumerate() {
                let mark = if i == 0 { ">" } else { " " };
                out.push_str(&format!(
                    "{:20}{mark} via {}, Push {}\n",
                    "",
                    self.unit(&path.compute),
                    path.label
                ));
            }
        }
        (!out.is_empty()).then(|| out.trim_start().to_owned())
    }

    /// `show dynamic-tunnels database`: one entry per compute node a learned route uses.
    pub fn show_dynamic_tunnels(&self) -> String {
        let mut out = String::from("Table: inet.3\n");
        for (compute, (unit, _)) in &self.tunnels {
            let paths: Vec<&GatewayPath> = self
                .learned
                .values()
                .flat_map(|r| &r.paths)
                .filter(|p| &p.compute == compute)
                .collect();
            let Some(first) = paths.first() else {
                continue;
            };
            out.push_str(&format!(
                "\nTunnel to: {}/32\n  Reference count: {}\n  Next-hop type: {}\n    Source address: {}\n    Next hop: {unit}\n    State: Up\n",
                first.compute_ip,
                paths.len(),
                match self.encap {
                    TunnelEncap::MplsOverUdp => "udp",
                    _ => "gre",
                },
                self.fabric_ip
            ));
        }
        out
    }
}

impl Device for Gateway {
    /// The gateway's forwarding: from the fabric, pop MPLSoGRE into the
    /// label's VRF; from a port, deliver what is for the gateway and route
    /// the rest from `inet.0`; then look up, decrement the TTL and send.
    fn receive(&mut self, port: Option<&str>, frame: &[u8], steps: &mut Vec<HopStep>) -> Action {
        let port = port.unwrap_or("");
        let entry = if port == self.fabric_port {
            self.enter_from_fabric(frame, steps)
        } else {
            self.enter_from_port(port, frame)
        };
        let (vrf, mut ip, dst) = match entry {
            Ok(e) => e,
            Err(action) => return action,
        };
        let Some((from, to)) = packet::decrement_ttl(&mut ip) else {
            return Action::Drop(DropCause::TtlExceeded);
        };
        steps.push(HopStep::Ttl { from, to });
        self.route_out(vrf.as_deref(), dst, &ip, to, steps)
    }

    /// The gateway answers for its own port addresses (ARP and neighbour
    /// solicitations).
    fn answer_arp(
        &mut self,
        port: &str,
        _asker: (MacAddr, IpAddr),
        target: IpAddr,
    ) -> Option<ArpAnswer> {
        let p = self.port(port)?;
        p.owns(target)
            .then(|| (p.mac, format!("{}:{port}, its address", self.name)))
    }

    fn has_port(&self, port: &str) -> bool {
        self.fabric_port == port || self.port(port).is_some()
    }
}

/// Where a packet entered the gateway's routing: the VRF (`None`: `inet.0`),
/// the IP packet, its destination. `Err` carries what became of a packet
/// that goes no further.
type Entry = Result<(Option<String>, Vec<u8>, IpAddr), Action>;

impl Gateway {
    /// A frame from the fabric: MPLSoGRE to this gateway with IPv4 or IPv6
    /// inside, whose label names a VRF.
    fn enter_from_fabric(&self, frame: &[u8], steps: &mut Vec<HopStep>) -> Entry {
        let d = dissect(frame);
        let mut hs = d.headers.iter();
        let Some((_, Header::Ethernet(eth))) = hs.next() else {
            return Err(Action::Drop(DropCause::Malformed { error: d.error }));
        };
        if eth.dst != self.fabric_mac {
            return Err(Action::Drop(DropCause::NotFabricMac));
        }
        let (
            Some((_, Header::Ipv4(outer))),
            carrier,
            Some((_, Header::Mpls(stack))),
            Some((at, inner)),
        ) = (hs.next(), hs.next(), hs.next(), hs.next())
        else {
            return Err(Action::Drop(DropCause::NotMplsOverGre));
        };
        let encap = match carrier {
            Some((_, Header::Gre(_))) if self.encaps.contains(&TunnelEncap::MplsOverGre) => {
                TunnelEncap::MplsOverGre
            }
            Some((_, Header::Udp(u)))
                if u.dst_port == UDP_PORT_MPLS
                    && self.encaps.contains(&TunnelEncap::MplsOverUdp) =>
            {
                TunnelEncap::MplsOverUdp
            }
            _ => return Err(Action::Drop(DropCause::NotMplsOverGre)),
        };
        let inner_dst = match inner {
            Header::Ipv4(ip) => IpAddr::V4(ip.dst),
            Header::Ipv6(ip) => IpAddr::V6(ip.dst),
            _ => return Err(Action::Drop(DropCause::NotMplsOverGre)),
        };
        if outer.dst != self.fabric_ip {
            return Err(Action::Drop(DropCause::TunnelNotOurs { dst: outer.dst }));
        }
        let label = stack.top().label.value();
        let Some(vrf) = self.vrf_of_label(label) else {
            steps.push(HopStep::Pop {
                encap,
                label,
                table: "no VRF".into(),
            });
            return Err(Action::Drop(DropCause::UnknownLabel { label }));
        };
        steps.push(HopStep::Pop {
            encap,
            label,
            table: table_name(Some(vrf), inner_dst),
        });
        Ok((Some(vrf.to_owned()), frame[*at..].to_vec(), inner_dst))
    }

    /// A frame on one of the gateway's own ports: delivered when it is for
    /// the gateway, routed from `inet.0` otherwise.
    fn enter_from_port(&self, port: &str, frame: &[u8]) -> Entry {
        let d = dissect(frame);
        let mut hs = d.headers.iter();
        let Some((_, Header::Ethernet(eth))) = hs.next() else {
            return Err(Action::Drop(DropCause::Malformed { error: d.error }));
        };
        let Some(p) = self.port(port) else {
            return Err(Action::Drop(DropCause::NoPort {
                port: port.to_owned(),
            }));
        };
        if eth.dst != p.mac {
            return Err(Action::Drop(DropCause::NotOurMac {
                port: port.to_owned(),
            }));
        }
        let (at, dst) = match hs.next() {
            Some((at, Header::Ipv4(ip))) => (at, IpAddr::V4(ip.dst)),
            Some((at, Header::Ipv6(ip))) => (at, IpAddr::V6(ip.dst)),
            _ => return Err(Action::Drop(DropCause::NotIpv4)),
        };
        if self.ports.iter().any(|q| q.owns(dst)) || dst == IpAddr::V4(self.fabric_ip) {
            return Err(Action::Deliver(dst));
        }
        Ok((None, frame[*at..].to_vec(), dst))
    }

    /// Look `dst` up (in `vrf`, then `inet.0` where the VRF says so),
    /// record each lookup, and send `ip` (whose TTL is now `ttl`) out of a
    /// direct port or into the route's MPLSoGRE tunnel.
    fn route_out(
        &self,
        vrf: Option<&str>,
        dst: IpAddr,
        ip: &[u8],
        ttl: u8,
        steps: &mut Vec<HopStep>,
    ) -> Action {
        let mut last = None;
        for (table, matched, next) in self.lookup(vrf, dst) {
            steps.push(HopStep::Lookup {
                table: table.clone(),
                key: dst,
                matched,
                route: self.describe(next.as_ref(), dst),
            });
            last = Some((table, next));
        }
        match last {
            Some((_, Some(GwNext::Direct(p)))) => self.direct_out(p, dst, ip),
            Some((_, Some(GwNext::Learned(v, p)))) => self.tunnel_out(&(v, p), ip, ttl, steps),
            Some((table, _)) => Action::Drop(DropCause::NoRoute {
                lookup: Some((table, dst)),
            }),
            None => Action::Drop(DropCause::NoRoute { lookup: None }),
        }
    }

    /// A route as `show route` sums it up in a trace.
    fn describe(&self, next: Option<&GwNext>, family: IpAddr) -> String {
        match next {
            Some(GwNext::Direct(p)) => format!("Direct via {p}"),
            Some(GwNext::Learned(v, p)) => {
                let Some(r) = self.learned.get(&(v.clone(), *p)) else {
                    return String::new();
                };
                let paths: Vec<String> = r
                    .paths
                    .iter()
                    .map(|p| format!("via {}, Push {}", self.unit(&p.compute), p.label))
                    .collect();
                let many = match paths.len() {
                    1 => String::new(),
                    n => format!("{n} paths: "),
                };
                format!(
                    "BGP from {}, AS path {}, {many}{}",
                    r.from,
                    r.attrs.as_path_text(),
                    paths.join("; ")
                )
            }
            Some(GwNext::NextTable) => format!("next-table {}", table_name(None, family)),
            None => String::new(),
        }
    }

    /// Out of a directly connected port, to `dst` once ARP (or neighbour
    /// discovery) resolves it.
    fn direct_out(&self, port: String, dst: IpAddr, ip: &[u8]) -> Action {
        let p = self.port(&port);
        let mac = p.map_or(MacAddr::zero(), |q| q.mac);
        let (src_ip, ethertype) = match dst {
            IpAddr::V4(_) => (
                IpAddr::V4(p.map_or(Ipv4Addr::UNSPECIFIED, |q| q.addr.addr())),
                EtherType::Ipv4,
            ),
            IpAddr::V6(_) => (
                IpAddr::V6(
                    p.and_then(|q| q.addr6)
                        .map_or(Ipv6Addr::UNSPECIFIED, |a| a.addr()),
                ),
                EtherType::Ipv6,
            ),
        };
        let eth = EthernetRepr {
            dst: MacAddr::zero(),
            src: MacAddr::zero(),
            ethertype,
        };
        let mut out = vec![0u8; ETH_LEN];
        if let Err(error) = eth.emit(&mut out) {
            return Action::Drop(DropCause::Encapsulation { error });
        }
        out.extend_from_slice(ip);
        Action::Out {
            port,
            frame: out,
            resolve: Some(Resolve {
                target: dst,
                src_mac: mac,
                src_ip,
            }),
        }
    }

    /// Into the dynamic GRE tunnel to the compute node of the learned route
    /// at `key`, with its label.
    fn tunnel_out(
        &self,
        key: &(String, IpNet),
        ip: &[u8],
        ttl: u8,
        steps: &mut Vec<HopStep>,
    ) -> Action {
        let Some(r) = self.learned.get(key) else {
            return Action::Drop(DropCause::NoRoute { lookup: None });
        };
        if let RouteSource::Bgpaas(selection) = &r.source {
            let mut why = selection.to_string();
            if r.paths.len() > 1 {
                let nodes: Vec<&str> = r.paths.iter().map(|p| p.compute.as_str()).collect();
                why.push_str(&format!("; multipath over {}", nodes.join(", ")));
            }
            steps.push(HopStep::RouteOrigin {
                prefix: r.prefix,
                why,
            });
        }
        let Some(path) = self.choose_path(&r.paths, ip, steps) else {
            return Action::Drop(DropCause::NoRoute { lookup: None });
        };
        let Some((unit, mac)) = self.tunnels.get(&path.compute) else {
            return Action::Drop(DropCause::NoTunnel {
                compute: path.compute.clone(),
            });
        };
        if let Some(why) = &self.encap_why {
            steps.push(HopStep::Encap { why: why.clone() });
        }
        steps.push(HopStep::Push {
            encap: self.encap,
            label: path.label,
            sip: self.fabric_ip,
            dip: path.compute_ip,
            via: unit.clone(),
        });
        let outer = Frame::new()
            .ethernet(self.fabric_mac, *mac)
            .ipv4(self.fabric_ip, path.compute_ip);
        let carried = match self.encap {
            // The source port from the inner flow's hash, in the dynamic
            // range, so that the fabric can spread the flows (RFC 7510 §3).
            TunnelEncap::MplsOverUdp => {
                let sport = 49152 + u16::try_from(five_tuple_hash(ip) % 16384).unwrap_or(0);
                outer.udp(sport, UDP_PORT_MPLS)
            }
            _ => outer.gre(),
        };
        let built = carried.mpls(path.label).ttl(ttl).payload(ip).build();
        match built {
            Ok(frame) => Action::Out {
                port: self.fabric_port.clone(),
                frame,
                resolve: None,
            },
            Err(error) => Action::Drop(DropCause::Encapsulation { error }),
        }
    }
}

impl Gateway {
    /// The tunnel unit to a compute node (`-` when there is none).
    fn unit(&self, compute: &str) -> &str {
        self.tunnels.get(compute).map_or("-", |(u, _)| u.as_str())
    }

    /// The path of a route a packet takes: its only one, or with several
    /// (ECMP), the one its flow hashes to, recorded as a `Multipath` step.
    /// Junos hashes with its forwarding engine's own function; vrsim's
    /// gateway hashes the packet's 5-tuple (ICMP echo: the identifier for
    /// ports, as the vRouter keys its flows) with the vRouter's `vr_hash`,
    /// so each flow keeps one path and different flows spread.
    fn choose_path<'r>(
        &self,
        paths: &'r [GatewayPath],
        ip: &[u8],
        steps: &mut Vec<HopStep>,
    ) -> Option<&'r GatewayPath> {
        if paths.len() < 2 {
            return paths.first();
        }
        let hash = five_tuple_hash(ip);
        let n = u32::try_from(paths.len()).ok()?;
        let chosen = usize::try_from(hash % n).ok()?;
        let path = paths.get(chosen)?;
        steps.push(HopStep::Multipath {
            hash,
            chosen,
            paths: paths.len(),
            compute: path.compute.clone(),
        });
        Some(path)
    }
}

/// The `vr_hash` of an IP packet's 5-tuple (source, destination, protocol,
/// source and destination ports; an ICMP echo's identifier in both port
/// places' stead, as the vRouter's flow key has it). A packet whose
/// headers do not parse hashes what is there.
fn five_tuple_hash(ip: &[u8]) -> u32 {
    let first = match ip.first().map(|b| b >> 4) {
        Some(6) => Layer::Ipv6,
        _ => Layer::Ipv4,
    };
    let mut key: Vec<u8> = Vec::with_capacity(40);
    for (_, h) in &dissect_from(ip, first).headers {
        match h {
            Header::Ipv4(v4) => {
                key.extend(v4.src.octets());
                key.extend(v4.dst.octets());
                key.push(v4.protocol.into());
            }
            Header::Ipv6(v6) => {
                key.extend(v6.src.octets());
                key.extend(v6.dst.octets());
                key.push(v6.next_header.into());
            }
            Header::Udp(u) => key.extend([u.src_port, u.dst_port].map(u16::to_be_bytes).concat()),
            Header::Tcp(t) => key.extend([t.src_port, t.dst_port].map(u16::to_be_bytes).concat()),
            Header::Icmpv4(Icmpv4Repr {
                message:
                    Icmpv4Message::EchoRequest { ident, .. } | Icmpv4Message::EchoReply { ident, .. },
                ..
            }) => key.extend(ident.to_be_bytes()),
            // Echo request and reply (128, 129): the identifier is the
            // first half of the word after the checksum.
            Header::Icmpv6(i) if matches!(i.kind, 128 | 129) => {
                key.extend((i.rest >> 16).to_be_bytes()[2..].iter());
            }
            _ => {}
        }
    }
    vr_hash(&key, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrsim_wire::Frame;

    const FABRIC_MAC: MacAddr = MacAddr(0, 0, 0x5e, 0, 0x53, 0x01);
    const PORT_MAC: MacAddr = MacAddr(0, 0, 0x5e, 0, 0x53, 0x02);

    fn gateway() -> Gateway {
        let port = GwPort {
            name: "ge-0/0/1".into(),
            addr: "203.0.113.1/24".parse().expect("a prefix"),
            addr6: "2001:db8:113::1/64".parse().ok(),
            mac: PORT_MAC,
        };
        let labels = BTreeMap::from([("contrail-public".to_owned(), 16)]);
        let fabric = (
            "ge-0/0/0".to_owned(),
            Ipv4Addr::new(10, 0, 0, 1),
            FABRIC_MAC,
        );
        Gateway::new("gw-01", fabric, vec![port], labels, BTreeMap::new())
    }

    #[test]
    fn a_packet_for_the_gateway_is_delivered_and_one_to_a_direct_subnet_routed() {
        let mut g = gateway();
        let mut steps = Vec::new();
        let to = |dst: [u8; 4]| {
            Frame::new()
                .ethernet(MacAddr::new(2, 0, 0, 0, 0, 9), PORT_MAC)
                .ipv4([203, 0, 113, 10], dst)
                .icmp_echo_request(1, 1, b"ping")
                .build()
                .expect("a fixed frame builds")
        };
        assert_eq!(
            g.receive(Some("ge-0/0/1"), &to([203, 0, 113, 1]), &mut steps),
            Action::Deliver(IpAddr::from([203, 0, 113, 1]))
        );
        let Action::Out { port, resolve, .. } =
            g.receive(Some("ge-0/0/1"), &to([203, 0, 113, 20]), &mut steps)
        else {
            panic!("not routed: {steps:?}")
        };
        assert_eq!(
            (port.as_str(), resolve.map(|r| r.target)),
            ("ge-0/0/1", Some(IpAddr::from([203, 0, 113, 20])))
        );
        let Action::Drop(cause) = g.receive(Some("ge-0/0/1"), &to([198, 51, 100, 1]), &mut steps)
        else {
            panic!("routed without a route")
        };
        assert_eq!(
            cause,
            DropCause::NoRoute {
                lookup: Some(("inet.0".into(), IpAddr::from([198, 51, 100, 1])))
            }
        );
    }

    #[test]
    fn mplsogre_with_an_unknown_label_is_dropped_after_the_pop() {
        let mut g = gateway();
        let mut steps = Vec::new();
        let frame = Frame::new()
            .ethernet(MacAddr::new(0, 0, 0x5e, 0, 0x53, 0x15), FABRIC_MAC)
            .ipv4([10, 0, 0, 21], [10, 0, 0, 1])
            .gre()
            .mpls(99)
            .ipv4([192, 168, 100, 1], [203, 0, 113, 10])
            .icmp_echo_reply(1, 1, b"ping")
            .build()
            .expect("a fixed frame builds");
        let action = g.receive(Some("ge-0/0/0"), &frame, &mut steps);
        assert_eq!(action, Action::Drop(DropCause::UnknownLabel { label: 99 }));
        assert_eq!(
            steps,
            [HopStep::Pop {
                encap: TunnelEncap::MplsOverGre,
                label: 99,
                table: "no VRF".into()
            }]
        );
    }

    #[test]
    fn the_gateway_answers_arp_for_its_port_addresses_only() {
        let mut g = gateway();
        let asker = (
            MacAddr::new(2, 0, 0, 0, 0, 9),
            IpAddr::from([203, 0, 113, 10]),
        );
        let answer = g.answer_arp("ge-0/0/1", asker, IpAddr::from([203, 0, 113, 1]));
        assert_eq!(
            answer,
            Some((PORT_MAC, "gw-01:ge-0/0/1, its address".into()))
        );
        assert_eq!(
            g.answer_arp("ge-0/0/1", asker, IpAddr::from([203, 0, 113, 2])),
            None
        );
        let v6 = |last: u16| IpAddr::from(Ipv6Addr::new(0x2001, 0xdb8, 0x113, 0, 0, 0, 0, last));
        let answer = g.answer_arp("ge-0/0/1", (asker.0, v6(0x10)), v6(1));
        assert_eq!(answer.map(|(mac, _)| mac), Some(PORT_MAC));
        assert_eq!(g.answer_arp("ge-0/0/1", (asker.0, v6(0x10)), v6(2)), None);
        assert!(g.has_port("ge-0/0/0") && g.has_port("ge-0/0/1") && !g.has_port("ge-0/0/2"));
    }
}
