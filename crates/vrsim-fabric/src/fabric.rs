//! [`Fabric`]: the devices of a scenario joined by links, and the walk that
//! carries a packet from device to device until it is delivered, dropped,
//! loops or leaves the model.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use vrsim_control::program::Change;
use vrsim_control::{ControlError, Controller, Event};
use vrsim_dataplane::trace::{Step, Trace};
use vrsim_dataplane::{Disposition, PacketBuf, VifId};
use vrsim_wire::{Header, MacAddr, dissect};

use crate::gateway::{Gateway, GwNext};
use crate::host::{Decision, Host, HostKind};
use crate::packet::{self, Probe};
use crate::trace::{FabricTrace, Hop, HopStep, Outcome};

/// The underlay switch's device name.
pub const UNDERLAY: &str = "fabric";
/// The most hops one trace may make before it is reported as a loop.
pub const MAX_HOPS: usize = 32;

/// One end of a link: a device and one of its ports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRef {
    /// The device.
    pub device: String,
    /// The port (`eth0`, `ge-0/0/1`, `vif0/37`).
    pub port: String,
}

impl PortRef {
    /// A port reference.
    pub fn new(device: &str, port: &str) -> Self {
        PortRef {
            device: device.to_owned(),
            port: port.to_owned(),
        }
    }
}

impl core::fmt::Display for PortRef {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}", self.device, self.port)
    }
}

/// Errors of the fabric: building it and asking it for traces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FabricError {
    /// The control plane refused.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// No host of this name to send from.
    #[error("no host {0} to send from (hosts: {1})")]
    UnknownHost(String, String),
    /// A host without an address cannot send.
    #[error("host {0} has no address to send from")]
    NoAddress(String),
    /// A port joined by two links.
    #[error("port {port} is joined twice, to {first} and to {second}")]
    PortLinkedTwice {
        /// The port, as `device:port`.
        port: String,
        /// Its first peer.
        first: String,
        /// Its second peer.
        second: String,
    },
    /// A link naming an unknown device or port.
    #[error("link {0} names a device or port that does not exist")]
    BadLink(PortRef),
    /// A what-if that matches nothing.
    #[error("{0}")]
    WhatIf(String),
}

/// What a device decided for a packet.
enum Action {
    Deliver(Ipv4Addr),
    Out {
        port: String,
        frame: Vec<u8>,
        /// Resolve this neighbour and write the MACs (from this source MAC and address).
        arp: Option<(Ipv4Addr, MacAddr, Ipv4Addr)>,
    },
    Drop {
        reason: String,
        vrouter: Option<vrsim_dataplane::drop::DropReason>,
        cause: Option<String>,
    },
}

fn drop(reason: impl Into<String>, cause: Option<String>) -> Action {
    Action::Drop {
        reason: reason.into(),
        vrouter: None,
        cause,
    }
}

/// A probe's trace and, when it was delivered to a host that answers, the reply's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundTrip {
    /// The probe.
    pub forward: FabricTrace,
    /// The reply, if the probe was delivered and answered.
    pub reply: Option<FabricTrace>,
}

/// A whole scenario: the control plane with its vRouters, gateways, hosts, links.
#[derive(Debug, Clone)]
pub struct Fabric {
    name: String,
    control: Controller,
    hosts: BTreeMap<String, Host>,
    gateways: BTreeMap<String, Gateway>,
    underlay: BTreeMap<[u8; 6], String>,
    links: BTreeMap<PortRef, PortRef>,
}

fn vif_port(v: VifId) -> String {
    format!("vif0/{v}")
}

impl Fabric {
    /// Join the devices. Compute nodes and gateways are attached to the
    /// underlay by their fabric interfaces; `links` join the rest.
    pub fn new(
        name: &str,
        control: Controller,
        hosts: Vec<Host>,
        gateways: Vec<Gateway>,
        links: Vec<(PortRef, PortRef)>,
    ) -> Result<Self, FabricError> {
        let mut f = Fabric {
            name: name.to_owned(),
            control,
            hosts: hosts.into_iter().map(|h| (h.name.clone(), h)).collect(),
            gateways: gateways.into_iter().map(|g| (g.name.clone(), g)).collect(),
            underlay: BTreeMap::new(),
            links: BTreeMap::new(),
        };
        let mut all = links;
        for c in &f.control.config().computes {
            f.underlay.insert(c.mac.octets(), c.name.clone());
            all.push((
                PortRef::new(&c.name, "vif0/0"),
                PortRef::new(UNDERLAY, &c.name),
            ));
        }
        for g in f.gateways.values() {
            f.underlay.insert(g.fabric_mac.octets(), g.name.clone());
            all.push((
                PortRef::new(&g.name, &g.fabric_port),
                PortRef::new(UNDERLAY, &g.name),
            ));
        }
        for (a, b) in all {
            for p in [&a, &b] {
                if !f.has_port(p) {
                    return Err(FabricError::BadLink(p.clone()));
                }
            }
            for (x, y) in [(&a, &b), (&b, &a)] {
                if let Some(first) = f.links.insert(x.clone(), y.clone()) {
                    return Err(FabricError::PortLinkedTwice {
                        port: x.to_string(),
                        first: first.to_string(),
                        second: y.to_string(),
                    });
                }
            }
        }
        f.sync_gateways();
        Ok(f)
    }

    fn has_port(&self, p: &PortRef) -> bool {
        if p.device == UNDERLAY {
            return true;
        }
        if let Some(h) = self.hosts.get(&p.device) {
            return h.iface(&p.port).is_some();
        }
        if let Some(g) = self.gateways.get(&p.device) {
            return g.fabric_port == p.port || g.port(&p.port).is_some();
        }
        self.control.vrouter(&p.device).is_some_and(|r| {
            p.port
                .strip_prefix("vif0/")
                .and_then(|n| n.parse::<u16>().ok())
                .and_then(VifId::new)
                .is_some_and(|v| r.vif(v).is_some())
        })
    }

    fn sync_gateways(&mut self) {
        for (name, g) in &mut self.gateways {
            g.sync(self.control.gateway_routes(name));
        }
    }

    // ---- what it holds ----

    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The control plane (and through it every vRouter).
    pub fn control(&self) -> &Controller {
        &self.control
    }

    /// A host.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.get(name)
    }

    /// Every host, by name.
    pub fn hosts(&self) -> impl Iterator<Item = &Host> {
        self.hosts.values()
    }

    /// A gateway.
    pub fn gateway(&self, name: &str) -> Option<&Gateway> {
        self.gateways.get(name)
    }

    /// The port linked to `port`.
    pub fn peer(&self, port: &PortRef) -> Option<&PortRef> {
        self.links.get(port)
    }

    // ---- changes ----

    /// Apply a control-plane event and bring the gateways' routes up to date.
    /// VM ports cannot be added or removed here: the hosts and links of a
    /// fabric are built from its topology (and the agent may renumber a
    /// node's taps); load a changed topology instead.
    pub fn apply(&mut self, event: Event) -> Result<Vec<Change>, FabricError> {
        if matches!(event, Event::AddPort(_) | Event::RemovePort { .. }) {
            return Err(FabricError::WhatIf(
                "VM ports cannot be added to or removed from a built fabric: change the topology and load it again".into(),
            ));
        }
        let changes = self.control.apply(event)?;
        self.sync_gateways();
        Ok(changes)
    }

    fn bgpaas_of(&self, vm: &str) -> Result<Vec<(String, Ipv4Addr)>, FabricError> {
        let config = self.control.config();
        if config.port(vm).is_none() {
            return Err(FabricError::WhatIf(format!("there is no VM port {vm}")));
        }
        Ok(self
            .control
            .sessions()
            .filter(|((b, _), s)| s.up && config.bgpaas(b).is_some_and(|b| b.port == vm))
            .map(|(k, _)| k.clone())
            .collect())
    }

    /// What-if: every BGPaaS session of the VM goes down.
    pub fn bgpaas_down(&mut self, vm: &str) -> Result<Vec<Change>, FabricError> {
        let sessions = self.bgpaas_of(vm)?;
        if sessions.is_empty() {
            return Err(FabricError::WhatIf(format!(
                "VM {vm} has no BGPaaS session up"
            )));
        }
        let mut changes = Vec::new();
        for (bgpaas, peer) in sessions {
            changes.extend(self.apply(Event::SessionDown { bgpaas, peer })?);
        }
        Ok(changes)
    }

    /// What-if: the VM withdraws `prefix` on every session that carries it.
    pub fn withdraw(&mut self, vm: &str, prefix: Ipv4Net) -> Result<Vec<Change>, FabricError> {
        let prefix = prefix.trunc();
        let sessions: Vec<_> = self
            .bgpaas_of(vm)?
            .into_iter()
            .filter(|k| {
                self.control
                    .sessions()
                    .any(|(s, st)| s == k && st.routes.contains_key(&prefix))
            })
            .collect();
        if sessions.is_empty() {
            return Err(FabricError::WhatIf(format!(
                "VM {vm} does not advertise {prefix}"
            )));
        }
        let mut changes = Vec::new();
        for (bgpaas, peer) in sessions {
            changes.extend(self.apply(Event::Withdraw {
                bgpaas,
                peer,
                prefix,
            })?);
        }
        Ok(changes)
    }

    /// What-if: RPF on or off in a network.
    pub fn set_rpf(&mut self, network: &str, on: bool) -> Result<Vec<Change>, FabricError> {
        self.apply(Event::SetRpf {
            network: network.to_owned(),
            on,
        })
    }

    // ---- traces ----

    /// Send a probe from host `from` to `to`, trace it, and trace the reply
    /// of the host it reaches.
    pub fn probe(
        &mut self,
        from: &str,
        to: Ipv4Addr,
        probe: Probe,
    ) -> Result<RoundTrip, FabricError> {
        let forward = self.send(from, to, probe)?;
        let reply = match (&forward.outcome, forward.hops.last()) {
            (Outcome::Delivered { device, .. }, Some(last)) if self.hosts.contains_key(device) => {
                let device = device.clone();
                let mac = self.hosts[&device]
                    .iface(last.ingress.as_deref().unwrap_or(""))
                    .map_or(MacAddr::zero(), |i| i.mac);
                packet::reply_frame(&last.frame, mac).map(|frame| self.walk(&device, None, frame))
            }
            _ => None,
        };
        Ok(RoundTrip { forward, reply })
    }

    /// Send a probe from host `from` to `to` and trace it.
    pub fn send(
        &mut self,
        from: &str,
        to: Ipv4Addr,
        probe: Probe,
    ) -> Result<FabricTrace, FabricError> {
        let host = self.hosts.get(from).ok_or_else(|| {
            FabricError::UnknownHost(
                from.to_owned(),
                self.hosts.keys().cloned().collect::<Vec<_>>().join(", "),
            )
        })?;
        let src = host
            .primary_ip()
            .ok_or_else(|| FabricError::NoAddress(from.to_owned()))?;
        let mac = match host.route(to).0 {
            Decision::Out { iface, .. } => host.iface(&iface).map_or(MacAddr::zero(), |i| i.mac),
            _ => host.ifaces.first().map_or(MacAddr::zero(), |i| i.mac),
        };
        let frame = packet::probe_frame(mac, src, to, probe);
        Ok(self.walk(from, None, frame))
    }

    /// Carry `frame` from `device` (arriving on `ingress`, or created there)
    /// until it ends.
    pub fn walk(&mut self, device: &str, ingress: Option<String>, frame: Vec<u8>) -> FabricTrace {
        let mut hops = Vec::new();
        let mut seen = BTreeSet::new();
        let (mut dev, mut port, mut frame) = (device.to_owned(), ingress, frame);
        let outcome = loop {
            if hops.len() >= MAX_HOPS || !seen.insert((dev.clone(), port.clone(), frame.clone())) {
                break Outcome::Looped {
                    device: dev,
                    hops: hops.len(),
                };
            }
            let mut steps = Vec::new();
            if port.is_none() {
                steps.push(HopStep::Send {
                    what: packet::describe(&frame),
                });
            }
            let action = self.handle(&dev, port.as_deref(), &frame, &mut steps);
            let mut hop = Hop {
                device: dev.clone(),
                ingress: port.clone(),
                frame: frame.clone(),
                steps,
                egress: None,
            };
            match action {
                Action::Deliver(ip) => {
                    hops.push(hop);
                    break Outcome::Delivered { device: dev, ip };
                }
                Action::Drop {
                    reason,
                    vrouter,
                    cause,
                } => {
                    hops.push(hop);
                    break Outcome::Dropped {
                        device: dev,
                        reason,
                        vrouter,
                        cause,
                    };
                }
                Action::Out {
                    port: out,
                    frame: mut next,
                    arp,
                } => {
                    let here = PortRef::new(&dev, &out);
                    let Some(peer) = self.links.get(&here).cloned() else {
                        hop.egress = Some(out.clone());
                        hops.push(hop);
                        break Outcome::LeftModel {
                            device: dev,
                            port: out,
                        };
                    };
                    if let Some((target, src_mac, src_ip)) = arp {
                        let answer = self.arp(&peer, src_mac, src_ip, target);
                        hop.steps.push(HopStep::Arp {
                            ip: target,
                            mac: answer.as_ref().map(|(m, _)| *m),
                            by: answer
                                .as_ref()
                                .map_or_else(|| peer.to_string(), |(_, by)| by.clone()),
                        });
                        match answer {
                            Some((mac, _)) => packet::set_macs(&mut next, mac, src_mac),
                            None => {
                                hops.push(hop);
                                break Outcome::Dropped {
                                    device: dev,
                                    reason: "neighbour unreachable (no ARP answer)".into(),
                                    vrouter: None,
                                    cause: Some(format!("arp {target} on {out}")),
                                };
                            }
                        }
                    }
                    hop.egress = Some(out);
                    hops.push(hop);
                    dev = peer.device;
                    port = Some(peer.port);
                    frame = next;
                }
            }
        };
        FabricTrace { hops, outcome }
    }

    fn handle(
        &mut self,
        dev: &str,
        port: Option<&str>,
        frame: &[u8],
        steps: &mut Vec<HopStep>,
    ) -> Action {
        if dev == UNDERLAY {
            let dst = frame.get(..6).map(|m| [m[0], m[1], m[2], m[3], m[4], m[5]]);
            return match dst.and_then(|m| self.underlay.get(&m)) {
                Some(to) => {
                    let mac =
                        MacAddr::new(frame[0], frame[1], frame[2], frame[3], frame[4], frame[5]);
                    steps.push(HopStep::Switch {
                        mac,
                        to: to.clone(),
                    });
                    Action::Out {
                        port: to.clone(),
                        frame: frame.to_vec(),
                        arp: None,
                    }
                }
                None => drop("no fabric port has the destination MAC", None),
            };
        }
        if self.hosts.contains_key(dev) {
            return self.host_forward(dev, port, frame, steps);
        }
        if self.gateways.contains_key(dev) {
            return self.gateway_forward(dev, port.unwrap_or(""), frame, steps);
        }
        self.vrouter_forward(dev, port.unwrap_or(""), frame, steps)
    }

    fn host_forward(
        &mut self,
        name: &str,
        port: Option<&str>,
        frame: &[u8],
        steps: &mut Vec<HopStep>,
    ) -> Action {
        let host = &self.hosts[name];
        let Some(ip) = packet::ipv4(frame) else {
            return drop("not an IPv4 packet", None);
        };
        let dst = ip.dst();
        if let Some(p) = port {
            let ours = host.iface(p).map(|i| i.mac);
            if ours.is_none_or(|m| frame.get(..6) != Some(&m.octets()[..])) {
                return drop(format!("not addressed to {p}'s MAC"), None);
            }
            if host.owns(dst) {
                return Action::Deliver(dst);
            }
            if host.kind == HostKind::End {
                return drop("not for this host (it does not forward)", None);
            }
        }
        let (decision, matched) = host.route(dst);
        let route_text = match &decision {
            Decision::Out { route, .. } | Decision::Blackhole(route) => route.text.clone(),
            _ => String::new(),
        };
        if decision != Decision::Local {
            steps.push(HopStep::Lookup {
                table: "main".into(),
                key: dst,
                matched,
                route: route_text.clone(),
            });
        }
        match decision {
            Decision::Local => Action::Deliver(dst),
            Decision::NoRoute => drop(
                "no route (Network is unreachable)",
                Some(format!("route lookup main {dst}")),
            ),
            Decision::Blackhole(r) => drop("blackhole route", Some(r.text)),
            Decision::Out {
                iface, next_hop, ..
            } => {
                let mut out = frame.to_vec();
                if port.is_some() {
                    match packet::decrement_ttl(&mut out, 14) {
                        Some((from, to)) => steps.push(HopStep::Ttl { from, to }),
                        None => return drop("ttl exceeded", None),
                    }
                }
                let Some(i) = host.iface(&iface) else {
                    return drop(
                        format!("route names interface {iface}, which does not exist"),
                        Some(route_text),
                    );
                };
                let src_ip = i
                    .addr
                    .map(|a| a.addr())
                    .or(host.primary_ip())
                    .unwrap_or(Ipv4Addr::UNSPECIFIED);
                Action::Out {
                    port: iface.clone(),
                    frame: out,
                    arp: Some((next_hop, i.mac, src_ip)),
                }
            }
        }
    }

    fn gateway_forward(
        &mut self,
        name: &str,
        port: &str,
        frame: &[u8],
        steps: &mut Vec<HopStep>,
    ) -> Action {
        let g = &self.gateways[name];
        let d = dissect(frame);
        let mut hs = d.headers.iter();
        let Some((_, Header::Ethernet(eth))) = hs.next() else {
            return drop("malformed frame", d.error.map(|e| e.to_string()));
        };
        let (vrf, inner_at) = if port == g.fabric_port {
            if eth.dst != g.fabric_mac {
                return drop("not addressed to the fabric port's MAC", None);
            }
            let (
                Some((_, Header::Ipv4(outer))),
                Some((_, Header::Gre(_))),
                Some((_, Header::Mpls(stack))),
                Some((at, Header::Ipv4(_))),
            ) = (hs.next(), hs.next(), hs.next(), hs.next())
            else {
                return drop("not MPLSoGRE carrying IPv4", None);
            };
            if outer.dst != g.fabric_ip {
                return drop(format!("tunnel to {}, not this gateway", outer.dst), None);
            }
            let label = stack.entries().first().map_or(0, |e| e.label.value());
            let Some(vrf) = g.vrf_of_label(label) else {
                steps.push(HopStep::Pop {
                    label,
                    table: "no VRF".into(),
                });
                return drop("unknown MPLS label", Some(format!("label {label}")));
            };
            steps.push(HopStep::Pop {
                label,
                table: format!("{vrf}.inet.0"),
            });
            (Some(vrf.to_owned()), *at)
        } else {
            let Some(p) = g.port(port) else {
                return drop(format!("no port {port}"), None);
            };
            if eth.dst != p.mac {
                return drop(format!("not addressed to {port}'s MAC"), None);
            }
            let Some((at, Header::Ipv4(ip))) = hs.next() else {
                return drop("not an IPv4 packet", None);
            };
            if g.ports.iter().any(|q| q.addr.addr() == ip.dst) || ip.dst == g.fabric_ip {
                return Action::Deliver(ip.dst);
            }
            (None, *at)
        };
        let mut ip = frame[inner_at..].to_vec();
        let Some((from, to)) = packet::decrement_ttl(&mut ip, 0) else {
            return drop("ttl exceeded", None);
        };
        steps.push(HopStep::Ttl { from, to });
        let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
        let mut last = None;
        for (table, matched, next) in g.lookup(vrf.as_deref(), dst) {
            let route = match &next {
                Some(GwNext::Direct(p)) => format!("Direct via {p}"),
                Some(GwNext::Learned(i)) => {
                    let r = &g.learned[*i];
                    let unit = g.tunnels.get(&r.compute).map_or("-", |(u, _)| u.as_str());
                    format!(
                        "BGP from {}, AS path {}, via {unit}, Push {}",
                        r.from,
                        r.attrs.as_path_text(),
                        r.label
                    )
                }
                Some(GwNext::NextTable) => "next-table inet.0".into(),
                None => String::new(),
            };
            steps.push(HopStep::Lookup {
                table: table.clone(),
                key: dst,
                matched,
                route,
            });
            last = Some((table, next));
        }
        match last {
            Some((_, Some(GwNext::Direct(p)))) => {
                let mac = g.port(&p).map_or(MacAddr::zero(), |q| q.mac);
                let src_ip = g.port(&p).map_or(Ipv4Addr::UNSPECIFIED, |q| q.addr.addr());
                let mut out = vec![0u8; 14];
                out[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
                out.extend_from_slice(&ip);
                Action::Out {
                    port: p,
                    frame: out,
                    arp: Some((dst, mac, src_ip)),
                }
            }
            Some((_, Some(GwNext::Learned(i)))) => {
                let r = &g.learned[i];
                let Some((unit, mac)) = g.tunnels.get(&r.compute) else {
                    return drop(
                        "no tunnel to the route's compute node",
                        Some(r.compute.clone()),
                    );
                };
                if r.source.starts_with("best of") {
                    steps.push(HopStep::RouteOrigin {
                        prefix: r.prefix,
                        why: r.source.clone(),
                    });
                }
                steps.push(HopStep::Push {
                    label: r.label,
                    sip: g.fabric_ip,
                    dip: r.compute_ip,
                    via: unit.clone(),
                });
                let built = vrsim_wire::Frame::new()
                    .ethernet(g.fabric_mac, *mac)
                    .ipv4(g.fabric_ip, r.compute_ip)
                    .gre()
                    .mpls(r.label)
                    .ttl(to)
                    .payload(&ip)
                    .build();
                match built {
                    Ok(frame) => Action::Out {
                        port: g.fabric_port.clone(),
                        frame,
                        arp: None,
                    },
                    Err(e) => drop("cannot encapsulate", Some(e.to_string())),
                }
            }
            Some((table, _)) => drop("no route", Some(format!("route lookup {table} {dst}"))),
            None => drop("no route", None),
        }
    }

    fn vrouter_forward(
        &mut self,
        node: &str,
        port: &str,
        frame: &[u8],
        steps: &mut Vec<HopStep>,
    ) -> Action {
        let Some(vif) = port
            .strip_prefix("vif0/")
            .and_then(|n| n.parse::<u16>().ok())
            .and_then(VifId::new)
        else {
            return drop(format!("no port {port}"), None);
        };
        let mut trace = Trace::default();
        let mut buf = PacketBuf::with_capacity(frame.len() + 128);
        let Some(router) = self.control.vrouter_mut(node) else {
            return drop(format!("no device {node}"), None);
        };
        let disposition = router.process(vif, frame, &mut buf, &mut trace);
        let mut cause = None;
        for s in trace.steps {
            let matched = match s {
                Step::InetLookup {
                    vrf,
                    matched: Some(p),
                    ..
                }
                | Step::Rpf {
                    vrf,
                    matched: Some(p),
                    ..
                } => Some((vrf, p)),
                _ => None,
            };
            if matches!(
                s,
                Step::InetLookup { .. }
                    | Step::Rpf { .. }
                    | Step::Label { .. }
                    | Step::Vnid { .. }
                    | Step::BridgeLookup { .. }
            ) {
                cause = Some(s.to_string());
            }
            steps.push(HopStep::VRouter(s));
            if let Some((vrf, ipnet::IpNet::V4(p))) = matched
                && let Some(net) = self.control.network_of_vrf(node, vrf)
                && let Some(sel) = self.control.selection(&net.name, p)
            {
                steps.push(HopStep::RouteOrigin {
                    prefix: p,
                    why: format!("BGPaaS in {}: {sel}", net.name),
                });
            }
        }
        match disposition {
            Disposition::Transmit { vif } => Action::Out {
                port: vif_port(vif),
                frame: buf.frame().to_vec(),
                arp: None,
            },
            Disposition::ToHost { .. } => {
                let dst = inner_dst(frame).unwrap_or(Ipv4Addr::UNSPECIFIED);
                Action::Deliver(dst)
            }
            Disposition::Drop(reason) => Action::Drop {
                reason: reason.to_string(),
                vrouter: Some(reason),
                cause,
            },
        }
    }

    /// Ask the device behind `peer` who has `target`.
    fn arp(
        &mut self,
        peer: &PortRef,
        mac: MacAddr,
        ip: Ipv4Addr,
        target: Ipv4Addr,
    ) -> Option<(MacAddr, String)> {
        if let Some(h) = self.hosts.get(&peer.device) {
            let m = h.arp_answer(&peer.port, target)?;
            let how = if h.iface(&peer.port).is_some_and(|i| i.proxy_arp) {
                "proxy ARP"
            } else {
                "its address"
            };
            return Some((m, format!("{peer}, {how}")));
        }
        if let Some(g) = self.gateways.get(&peer.device) {
            let p = g.port(&peer.port)?;
            return (p.addr.addr() == target).then(|| (p.mac, format!("{peer}, its address")));
        }
        let vif = peer
            .port
            .strip_prefix("vif0/")?
            .parse::<u16>()
            .ok()
            .and_then(VifId::new)?;
        let router = self.control.vrouter_mut(&peer.device)?;
        let mut buf = PacketBuf::with_capacity(128);
        let request = packet::arp_request(mac, ip, target);
        match router.process(
            vif,
            &request,
            &mut buf,
            &mut vrsim_dataplane::trace::NoTrace,
        ) {
            Disposition::Transmit { vif: out } if out == vif => packet::arp_reply_mac(buf.frame())
                .map(|m| (m, format!("{peer}, vRouter proxy ARP"))),
            _ => None,
        }
    }
}

/// The destination of the innermost IPv4 header.
fn inner_dst(frame: &[u8]) -> Option<Ipv4Addr> {
    dissect(frame)
        .headers
        .iter()
        .rev()
        .find_map(|(_, h)| match h {
            Header::Ipv4(r) => Some(r.dst),
            _ => None,
        })
}
