//! A compute node: its vRouter (owned by the control plane, which programs
//! it) seen as a fabric device. A frame arriving on `vif0/N` goes through
//! the vRouter's pipeline; the vRouter's steps become the hop's steps, each
//! matched route annotated with the control plane's choice behind it, and
//! its disposition becomes the hop's [`Action`] (a packet handed to the
//! host or the agent is delivered for the address the vRouter last looked up). ARP from a neighbour on a
//! tap is answered the way the vRouter answers it (proxy ARP).

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use vrsim_control::Controller;
use vrsim_dataplane::trace::{NoTrace, Step, Trace};
use vrsim_dataplane::{Disposition, PacketBuf, VifId};
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
    fn record(&self, steps: &mut Vec<HopStep>, trace: Trace) -> (Option<Step>, Option<Ipv4Addr>) {
        let (mut lookup, mut inet_key) = (None, None);
        for s in trace.steps {
            if let Step::InetLookup {
                key: IpAddr::V4(key),
                ..
            } = s
            {
                inet_key = Some(key);
            }
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
                lookup = Some(s);
            }
            steps.push(HopStep::VRouter(s));
            if let Some((vrf, IpNet::V4(p))) = matched
                && let Some(net) = self.control.network_of_vrf(self.name, vrf)
                && let Some(sel) = self.control.selection(&net.name, p)
            {
                steps.push(HopStep::RouteOrigin {
                    prefix: p,
                    why: format!("BGPaaS in {}: {sel}", net.name),
                });
            }
        }
        (lookup, inet_key)
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
        let (lookup, inet_key) = self.record(steps, trace);
        match disposition {
            Disposition::Transmit { vif } => Action::Out {
                port: vif_port(vif),
                frame: buf.frame().to_vec(),
                resolve: None,
            },
            Disposition::ToHost { .. } => {
                Action::Deliver(inet_key.unwrap_or(Ipv4Addr::UNSPECIFIED))
            }
            Disposition::Drop(reason) => Action::Drop(DropCause::VRouter { reason, lookup }),
        }
    }

    /// The vRouter's own answer: an ARP request sent into the vif, answered
    /// if the vRouter sends a reply back out of it.
    fn answer_arp(
        &mut self,
        port: &str,
        asker: (MacAddr, Ipv4Addr),
        target: Ipv4Addr,
    ) -> Option<ArpAnswer> {
        let vif = port_vif(port)?;
        let router = self.control.vrouter_mut(self.name)?;
        let mut buf = PacketBuf::with_capacity(128);
        let request = packet::arp_request(asker.0, asker.1, target);
        match router.process(vif, &request, &mut buf, &mut NoTrace) {
            Disposition::Transmit { vif: out } if out == vif => packet::arp_reply_mac(buf.frame())
                .map(|m| (m, format!("{}:{port}, vRouter proxy ARP", self.name))),
            _ => None,
        }
    }
}
