//! A compute node: its vRouter (owned by the control plane, which programs
//! it) seen as a fabric device. A frame arriving on `vif0/N` goes through
//! the vRouter's pipeline; the vRouter's steps become the hop's steps, each
//! matched route annotated with the control plane's choice behind it, and
//! its disposition becomes the hop's [`Action`] (a packet handed to the
//! host or the agent is delivered for the address the vRouter last looked up). ARP and
//! neighbour solicitations from a neighbour on a tap are answered the way
//! the vRouter answers them (proxy ARP, proxy neighbour advertisements).

use std::net::{IpAddr, Ipv4Addr};
use vrsim_control::Controller;
use vrsim_dataplane::drop::DropReason;
use vrsim_dataplane::trace::{Step, Trace};
use vrsim_dataplane::{DataplaneError, Disposition, PacketBuf, VifId};
use vrsim_wire::MacAddr;

use crate::device::{Action, ArpAnswer, Device};
use crate::packet;
use crate::trace::{DropCause, HopStep};

/// The port name of vif `v` (`vif0/37`).
pub(crate) fn vif_port(v: VifId) -> String {
    format!("vif0/{v}")
}

/// The vif of a port name (`vif0/37`), if it is one.
pub(crate) fn port_vif(port: &str) -> Option<VifId> {
    port.strip_prefix("vif0/")?
        .parse::<u16>()
        .ok()
        .and_then(VifId::new)
}

/// Compute node `name`, whose vRouter `control` holds, for one frame.
#[derive(Debug)]
pub(crate) struct ComputeNode<'c> {
    name: &'c str,
    control: &'c mut Controller,
}

impl<'c> ComputeNode<'c> {
    /// The compute node `name` of `control`.
    pub(crate) fn new(name: &'c str, control: &'c mut Controller) -> Self {
        ComputeNode { name, control }
    }

    /// The vRouter's steps as the hop's, with the control plane's selection
    /// behind each matched route. Returns what the fabric needs from them:
    /// the last lookup (the cause of a drop) and the last inet lookup's
    /// address (what a packet handed to the host or agent was for).
    fn record(&self, steps: &mut Vec<HopStep>, trace: Trace) -> (Option<Step>, Option<IpAddr>) {
        let (mut lookup, mut inet_key) = (None, None);
        let (mut last_nh, mut bridged) = (None, false);
        for s in trace.steps {
            match s {
                Step::Nexthop { nh, .. } => last_nh = Some(nh),
                Step::BridgeLookup { .. } => bridged = true,
                Step::InetLookup { .. } => bridged = false,
                _ => {}
            }
            // Which rule chose the tunnel's encapsulation, before its push.
            if let (Step::Push { .. }, Some(nh)) = (&s, last_nh)
                && let Some(choice) = self.control.tunnel_encap(self.name, nh, bridged)
            {
                steps.push(HopStep::Encap {
                    why: choice.to_string(),
                });
            }
            if let Step::InetLookup { key, .. } = s {
                inet_key = Some(key);
            }
            let matched = match s {
                Step::InetLookup {
                    vrf,
                    matched: Some(p),
                    ..
                } => Some((vrf, p)),
                _ => None,
            };
            if matches!(
                s,
                Step::InetLookup { .. }
                    | Step::FlowRpf { pass: false, .. }
                    | Step::Flow { .. }
                    | Step::Label { .. }
                    | Step::Vnid { .. }
                    | Step::BridgeLookup { .. }
            ) {
                lookup = Some(s);
            }
            steps.push(HopStep::VRouter(s));
            if let Some((vrf, p)) = matched
                && let Some(net) = self.control.network_of_vrf(self.name, vrf)
                && let Some(sel) = self.control.selection(&net.name, p)
            {
                let mut why = format!("BGPaaS in {}: {sel}", net.name);
                if let Some(slots) = self.control.ecmp(&net.name, p).filter(|s| s.is_ecmp()) {
                    why.push_str(&format!("; ECMP over {}", ecmp_slots_text(slots)));
                }
                steps.push(HopStep::RouteOrigin { prefix: p, why });
            }
        }
        (lookup, inet_key)
    }
}

impl ComputeNode<'_> {
    /// The agent answers the flow miss of Hold flow `flow` (the decision is
    /// the hop's next step) and the vRouter sends the held packet on; its
    /// steps from the flow lookup on are the hop's too. Returns the held
    /// packet's disposition and frame, and its last lookup and inet key;
    /// the drop reason when the agent could not install the pair.
    #[allow(clippy::type_complexity)]
    fn answer_flow_miss(
        &mut self,
        flow: u32,
        steps: &mut Vec<HopStep>,
    ) -> Result<(Disposition, Vec<u8>, Option<Step>, Option<IpAddr>), DropReason> {
        let decision = self
            .control
            .answer_flow_miss(self.name, flow)
            .map_err(|e| match e {
                vrsim_control::ControlError::Dataplane {
                    source: DataplaneError::FlowTableFull { .. },
                    ..
                } => DropReason::FlowTableFull,
                _ => DropReason::FlowUnusable,
            })?;
        steps.push(HopStep::Agent { decision });
        let router = self
            .control
            .vrouter_mut(self.name)
            .ok_or(DropReason::FlowUnusable)?;
        let mut trace = Trace::default();
        let released = router.release(flow, &mut trace);
        let from_flow = trace
            .steps
            .iter()
            .position(|s| matches!(s, Step::Flow { .. }))
            .unwrap_or(0);
        trace.steps.drain(..from_flow);
        let (lookup, inet_key) = self.record(steps, trace);
        let (d, out) = released
            .into_iter()
            .next()
            .ok_or(DropReason::FlowUnusable)?;
        Ok((d, out, lookup, inet_key))
    }
}

impl Device for ComputeNode<'_> {
    fn receive(&mut self, port: Option<&str>, frame: &[u8], steps: &mut Vec<HopStep>) -> Action {
        let port = port.unwrap_or("");
        let Some(vif) = port_vif(port) else {
            return Action::Drop(DropCause::NoPort {
                port: port.to_owned(),
            });
        };
        let Some(router) = self.control.vrouter_mut(self.name) else {
            return Action::Drop(DropCause::NoDevice {
                name: self.name.to_owned(),
            });
        };
        let mut trace = Trace::default();
        let mut buf = PacketBuf::with_capacity(frame.len() + 128);
        let disposition = router.process(vif, frame, &mut buf, &mut trace);
        let (mut lookup, mut inet_key) = self.record(steps, trace);
        let (disposition, out) = match disposition {
            Disposition::Held { flow } => match self.answer_flow_miss(flow, steps) {
                Ok((d, out, l, k)) => {
                    (lookup, inet_key) = (l.or(lookup), k.or(inet_key));
                    (d, out)
                }
                Err(reason) => (Disposition::Drop(reason), Vec::new()),
            },
            d => (d, buf.frame().to_vec()),
        };
        match disposition {
            Disposition::Transmit { vif } => Action::Out {
                port: vif_port(vif),
                frame: out,
                resolve: None,
            },
            // Handed to the host for the address the vRouter last looked
            // up, else the packet's own destination (a neighbour
            // solicitation, a cross-connected frame).
            Disposition::ToHost { .. } => Action::Deliver(
                inet_key
                    .or_else(|| packet::ip_addrs(frame).map(|(_, dst)| dst))
                    .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            ),
            // The agent decides every flow it is asked about, so nothing stays held.
            Disposition::Held { .. } => Action::Drop(DropCause::VRouter {
                reason: DropReason::FlowUnusable,
                lookup,
            }),
            Disposition::Drop(reason) => Action::Drop(DropCause::VRouter { reason, lookup }),
        }
    }

    /// The vRouter's own answer: an ARP request (or, for an IPv6 address, a
    /// neighbour solicitation to the target's solicited-node group) sent
    /// into the vif, answered when the vRouter replies by proxy (its
    /// `ArpProxy` or `NeighborProxy` step names the MAC) out of the same vif.
    fn answer_arp(
        &mut self,
        port: &str,
        asker: (MacAddr, IpAddr),
        target: IpAddr,
    ) -> Option<ArpAnswer> {
        let vif = port_vif(port)?;
        let router = self.control.vrouter_mut(self.name)?;
        let mut buf = PacketBuf::with_capacity(128);
        let mut trace = Trace::default();
        let (request, how) = match (asker.1, target) {
            (IpAddr::V4(ip), IpAddr::V4(t)) => (packet::arp_request(asker.0, ip, t), "ARP"),
            (IpAddr::V6(ip), IpAddr::V6(t)) => (
                packet::neighbor_solicit(asker.0, ip, t),
                "neighbour advertisement",
            ),
            _ => return None,
        };
        let Disposition::Transmit { vif: out } =
            router.process(vif, &request, &mut buf, &mut trace)
        else {
            return None;
        };
        let mac = trace.steps.iter().find_map(|s| match s {
            Step::ArpProxy { mac, .. } | Step::NeighborProxy { mac, .. } => Some(*mac),
            _ => None,
        })?;
        (out == vif).then(|| (mac, format!("{}:{port}, vRouter proxy {how}", self.name)))
    }

    fn has_port(&self, port: &str) -> bool {
        let router = self.control.vrouter(self.name);
        router.is_some_and(|r| port_vif(port).is_some_and(|v| r.vif(v).is_some()))
    }
}

/// A composite's slots as traces name them: `vnf-a, vnf-b`, an empty slot
/// as `-`.
fn ecmp_slots_text(slots: &vrsim_control::ecmp::Slots<String>) -> String {
    let names: Vec<&str> = slots
        .slots()
        .iter()
        .map(|m| m.as_deref().unwrap_or("-"))
        .collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology;
    use vrsim_wire::Frame;

    const TINY: &str = r#"
version = 1
name = "tiny"
[contrail]
asn = 64512
control_nodes = [{ name = "control", ip = "10.0.0.10" }]
[[compute]]
name = "compute01"
ip = "10.0.0.21"
mac = "00:00:5e:00:53:15"
[[network]]
name = "blue"
subnet = "172.16.30.0/24"
vxlan_id = 7
[[vm]]
name = "vm1"
network = "blue"
compute = "compute01"
ip = "172.16.30.3"
mac = "02:00:00:00:00:03"
"#;

    fn controller() -> (Controller, String) {
        let fabric = topology::load("tiny.toml", TINY).expect("the tiny scenario loads");
        let port = fabric
            .control()
            .node_ids("compute01")
            .and_then(|ids| ids.ports.get("vm1"))
            .map(|p| vif_port(p.vif))
            .expect("vm1 has a tap");
        (fabric.control().clone(), port)
    }

    #[test]
    fn a_packet_for_the_network_gateway_is_handed_to_the_host_for_that_address() {
        let (mut control, tap) = controller();
        let mut node = ComputeNode::new("compute01", &mut control);
        let frame = Frame::new()
            .ethernet(
                MacAddr::new(2, 0, 0, 0, 0, 3),
                vrsim_control::config::VROUTER_MAC,
            )
            .ipv4([172, 16, 30, 3], [172, 16, 30, 1])
            .tcp(40000, 179, vrsim_wire::tcp::flags::SYN)
            .build()
            .expect("a fixed frame builds");
        let mut steps = Vec::new();
        let action = node.receive(Some(&tap), &frame, &mut steps);
        assert_eq!(action, Action::Deliver(IpAddr::from([172, 16, 30, 1])));
        assert!(steps.iter().any(|s| matches!(
            s,
            HopStep::VRouter(Step::Nexthop {
                kind: "Receive",
                ..
            })
        )));
    }

    #[test]
    fn the_vrouter_answers_arp_for_the_gateway_by_proxy() {
        let (mut control, tap) = controller();
        let mut node = ComputeNode::new("compute01", &mut control);
        let asker = (
            MacAddr::new(2, 0, 0, 0, 0, 3),
            IpAddr::from([172, 16, 30, 3]),
        );
        let answer = node.answer_arp(&tap, asker, IpAddr::from([172, 16, 30, 1]));
        assert_eq!(
            answer,
            Some((
                vrsim_control::config::VROUTER_MAC,
                format!("compute01:{tap}, vRouter proxy ARP")
            ))
        );
        assert!(node.has_port(&tap) && node.has_port("vif0/0") && !node.has_port("vif0/99"));
        assert!(!node.has_port("eth0"));
    }

    #[test]
    fn a_port_that_is_not_a_vif_is_refused() {
        let (mut control, _) = controller();
        let mut node = ComputeNode::new("compute01", &mut control);
        let mut steps = Vec::new();
        let action = node.receive(Some("eth0"), &[0u8; 60], &mut steps);
        assert_eq!(
            action,
            Action::Drop(DropCause::NoPort {
                port: "eth0".into()
            })
        );
        assert_eq!(port_vif("vif0/37").map(VifId::value), Some(37));
    }
}
