//! [`Fabric`]: the devices of a scenario joined by links, and the walk that
//! carries a packet from device to device until it is delivered, dropped,
//! loops or leaves the model. The devices forward in their own files,
//! behind [`Device`]; the fabric keeps the links, the walk and the what-ifs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use vrsim_control::policy::PolicyRule;
use vrsim_control::program::Change;
use vrsim_control::{Controller, Event};
use vrsim_wire::MacAddr;

use crate::compute::ComputeNode;
use crate::device::{Action, Device, PortRef, Resolve};
use crate::error::FabricError;
use crate::gateway::Gateway;
use crate::host::{Decision, Host};
use crate::packet::{self, Probe};
use crate::trace::{DropCause, FabricTrace, Hop, HopStep, Outcome};
use crate::underlay::Underlay;

/// The underlay switch's device name.
pub const UNDERLAY: &str = "fabric";
/// The most hops one trace may make before it is reported as a loop.
pub const MAX_HOPS: usize = 32;

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
    description: String,
    control: Controller,
    hosts: BTreeMap<String, Host>,
    gateways: BTreeMap<String, Gateway>,
    underlay: Underlay,
    links: BTreeMap<PortRef, PortRef>,
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
            description: String::new(),
            control,
            hosts: hosts.into_iter().map(|h| (h.name.clone(), h)).collect(),
            gateways: gateways.into_iter().map(|g| (g.name.clone(), g)).collect(),
            underlay: Underlay::default(),
            links: BTreeMap::new(),
        };
        let mut all = links;
        for c in &f.control.config().computes {
            f.underlay.attach(c.mac, &c.name);
            all.push((
                PortRef::new(&c.name, "vif0/0"),
                PortRef::new(UNDERLAY, &c.name),
            ));
        }
        for g in f.gateways.values() {
            f.underlay.attach(g.fabric_mac, &g.name);
            all.push((
                PortRef::new(&g.name, &g.fabric_port),
                PortRef::new(UNDERLAY, &g.name),
            ));
        }
        for (a, b) in all {
            for p in [&a, &b] {
                if !f.with_device(&p.device, |d| d.has_port(&p.port)) {
                    return Err(FabricError::BadLink { port: p.clone() });
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

    /// What the scenario is, in a line (its file's `description`; empty when none).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Set the scenario's description (the topology loader does).
    pub(crate) fn set_description(&mut self, description: &str) {
        description.clone_into(&mut self.description);
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

    /// Every gateway, by name.
    pub fn gateways(&self) -> impl Iterator<Item = &Gateway> {
        self.gateways.values()
    }

    /// The port linked to `port`.
    pub fn peer(&self, port: &PortRef) -> Option<&PortRef> {
        self.links.get(port)
    }

    /// Every link once, as its two ends (the lower end first), in order.
    pub fn links(&self) -> impl Iterator<Item = (&PortRef, &PortRef)> {
        self.links.iter().filter(|(a, b)| a < b)
    }

    // ---- changes ----

    /// Apply a control-plane event and bring the gateways' routes up to date.
    /// VM ports cannot be added or removed here: the hosts and links of a
    /// fabric are built from its topology (and the agent may renumber a
    /// node's taps); load a changed topology instead.
    pub fn apply(&mut self, event: Event) -> Result<Vec<Change>, FabricError> {
        if matches!(event, Event::AddPort(_) | Event::RemovePort { .. }) {
            return Err(FabricError::PortsFixed);
        }
        let changes = self.control.apply(event)?;
        // A route event changes what gateways learn at its prefixes only.
        for (name, g) in &mut self.gateways {
            match self.control.gateway_route_updates(name) {
                Some(updates) => g.update(updates),
                None => g.sync(self.control.gateway_routes(name)),
            }
        }
        Ok(changes)
    }

    fn bgpaas_of(&self, vm: &str) -> Result<Vec<(String, Ipv4Addr)>, FabricError> {
        let config = self.control.config();
        if config.port(vm).is_none() {
            return Err(FabricError::NoVmPort { vm: vm.to_owned() });
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
            return Err(FabricError::NoSessionUp { vm: vm.to_owned() });
        }
        let mut changes = Vec::new();
        for (bgpaas, peer) in sessions {
            changes.extend(self.apply(Event::SessionDown { bgpaas, peer })?);
        }
        Ok(changes)
    }

    /// What-if: the VM withdraws `prefix` (IPv4 or IPv6) on every session that carries it.
    pub fn withdraw(&mut self, vm: &str, prefix: IpNet) -> Result<Vec<Change>, FabricError> {
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
            return Err(FabricError::NotAdvertised {
                vm: vm.to_owned(),
                prefix,
            });
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

    /// What-if: a network-policy rule put first among `network`'s rules
    /// (`deny tcp any <> 10.1.0.0/16:80`, see [`PolicyRule`]'s syntax). Every
    /// vRouter's flows are evicted, so that each flow is decided anew.
    pub fn add_policy_rule(&mut self, network: &str, rule: PolicyRule) -> Result<(), FabricError> {
        self.control.add_policy_rule(network, rule)?;
        Ok(())
    }

    // ---- packets into one vRouter ----

    /// Compute node `node`'s vRouter, to send packets into by hand
    /// ([`vrsim_dataplane::VRouter::process`], [`vrsim_dataplane::VRouter::release`]): the flows and counters
    /// they leave stay in the fabric. Its tables belong to the control plane;
    /// change them through the fabric's events, not here.
    pub fn vrouter_mut(&mut self, node: &str) -> Option<&mut vrsim_dataplane::VRouter> {
        self.control.vrouter_mut(node)
    }

    /// The agent of compute node `node` answers the flow miss of flow
    /// `index` (the flow pair, decided by the node's policies); the held
    /// packets are then the vRouter's to release.
    pub fn answer_flow_miss(
        &mut self,
        node: &str,
        index: u32,
    ) -> Result<vrsim_control::flows::FlowDecision, FabricError> {
        Ok(self.control.answer_flow_miss(node, index)?)
    }

    // ---- traces ----

    /// Send a probe from host `from` to `to` (IPv4 or IPv6), trace it, and
    /// trace the reply of the host it reaches.
    pub fn probe(
        &mut self,
        from: &str,
        to: IpAddr,
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

    /// Whether no vRouter of the fabric holds a flow (as after loading).
    pub fn has_no_flows(&self) -> bool {
        self.control
            .config()
            .computes
            .iter()
            .filter_map(|c| self.control.vrouter(&c.name))
            .all(|r| r.flows().is_empty())
    }

    /// Delete every flow of the vRouters the packets of `trip` crossed
    /// (`flow -F` on each), so that a fabric that held no flows before the
    /// probe holds none after it.
    pub fn forget_flows(&mut self, trip: &RoundTrip) {
        let reply = trip.reply.iter().flat_map(|r| r.hops.iter());
        let devices: BTreeSet<&str> = trip
            .forward
            .hops
            .iter()
            .chain(reply)
            .map(|h| h.device.as_str())
            .collect();
        for d in devices {
            if let Some(r) = self.control.vrouter_mut(d) {
                r.flush_flows();
            }
        }
    }

    /// Send a probe from host `from` to `to` and trace it. Its source is the
    /// host's address of `to`'s family (the one on the interface the route
    /// leaves by).
    pub fn send(
        &mut self,
        from: &str,
        to: IpAddr,
        probe: Probe,
    ) -> Result<FabricTrace, FabricError> {
        let host = self
            .hosts
            .get(from)
            .ok_or_else(|| FabricError::UnknownHost {
                host: from.to_owned(),
                hosts: self.hosts.keys().cloned().collect::<Vec<_>>().join(", "),
            })?;
        let no_address = || FabricError::NoAddress {
            host: from.to_owned(),
            family: if to.is_ipv4() { "IPv4" } else { "IPv6" },
        };
        let src = host.source_for(to).ok_or_else(no_address)?;
        let mac = match host.route(to).0 {
            Decision::Out { iface, .. } => host.iface(&iface).map_or(MacAddr::zero(), |i| i.mac),
            _ => host.ifaces.first().map_or(MacAddr::zero(), |i| i.mac),
        };
        let frame = packet::probe_frame(mac, src, to, probe).ok_or_else(no_address)?;
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
            let action = self.with_device(&dev, |d| d.receive(port.as_deref(), &frame, &mut steps));
            let mut hop = Hop {
                device: dev.clone(),
                ingress: port.clone(),
                frame: frame.clone(),
                steps,
                egress: None,
            };
            let next = match action {
                Action::Deliver(ip) => Err(Outcome::Delivered {
                    device: dev.clone(),
                    ip,
                }),
                Action::Drop(cause) => Err(Outcome::Dropped {
                    device: dev.clone(),
                    cause,
                }),
                Action::Out {
                    port: out,
                    frame: next,
                    resolve,
                } => self.cross(&mut hop, out, next, resolve),
            };
            hops.push(hop);
            match next {
                Ok((peer, next)) => {
                    dev = peer.device;
                    port = Some(peer.port);
                    frame = next;
                }
                Err(outcome) => break outcome,
            }
        };
        FabricTrace { hops, outcome }
    }

    /// Send `frame` out of `hop`'s device by port `out`: across its link,
    /// after resolving the neighbour when the device asks. The port at the
    /// far end and the frame as it arrives there, or how the trace ends.
    fn cross(
        &mut self,
        hop: &mut Hop,
        out: String,
        mut frame: Vec<u8>,
        resolve: Option<Resolve>,
    ) -> Result<(PortRef, Vec<u8>), Outcome> {
        let here = PortRef::new(&hop.device, &out);
        hop.egress = Some(out.clone());
        let Some(peer) = self.links.get(&here).cloned() else {
            return Err(Outcome::LeftModel {
                device: hop.device.clone(),
                port: out,
            });
        };
        if let Some(r) = resolve {
            let answer = self.with_device(&peer.device, |d| {
                d.answer_arp(&peer.port, (r.src_mac, r.src_ip), r.target)
            });
            hop.steps.push(HopStep::Arp {
                ip: r.target,
                mac: answer.as_ref().map(|(m, _)| *m),
                by: answer
                    .as_ref()
                    .map_or_else(|| peer.to_string(), |(_, by)| by.clone()),
            });
            let Some((mac, _)) = answer else {
                hop.egress = None;
                return Err(Outcome::Dropped {
                    device: hop.device.clone(),
                    cause: DropCause::NoArpAnswer {
                        target: r.target,
                        port: out,
                    },
                });
            };
            packet::set_macs(&mut frame, mac, r.src_mac);
        }
        Ok((peer, frame))
    }

    /// Run `f` on device `name`: the underlay, a host, a gateway, or else a
    /// compute node (which reports a missing vRouter itself).
    fn with_device<R>(&mut self, name: &str, f: impl FnOnce(&mut dyn Device) -> R) -> R {
        if name == UNDERLAY {
            return f(&mut self.underlay);
        }
        if let Some(h) = self.hosts.get_mut(name) {
            return f(h);
        }
        if let Some(g) = self.gateways.get_mut(name) {
            return f(g);
        }
        f(&mut ComputeNode::new(name, &mut self.control))
    }
}
