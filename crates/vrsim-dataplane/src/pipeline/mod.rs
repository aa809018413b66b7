//! The packet pipeline: [`VRouter::process`] receives a frame on a vif and
//! returns what became of it, counting it exactly once: transmitted on a vif,
//! handed to the host, or dropped under one [`DropReason`].
//!
//! The files follow a packet as it moves (the vRouter's functions in brackets):
//! - this file: receive on a vif and account for the outcome (`vr_pkt_type`,
//!   the vif's receive handlers);
//! - [`fabric`]: from the fabric, the outer lookup and decapsulation
//!   (`vr_fabric_input`, `vr_ip_rcv`, `vr_mpls_input`, `vr_vxlan_input`);
//! - [`tap`]: from a VM, the bridge lookup and proxy ARP
//!   (`vr_virtual_input`, `vr_bridge_input`, `vr_arp_input`);
//! - [`forward`]: the common core, routing, flow processing with RPF and
//!   the nexthop walk (`vr_forward`, `vr_flow_forward`, `nh_output`);
//! - [`encap`]: tunnel nexthops pushing MPLSoGRE, MPLSoUDP or VXLAN
//!   (`nh_gre_tunnel`, `nh_mpls_udp_tunnel`, `nh_vxlan_tunnel`);
//! - [`lookup`]: what the stages share (the inet route lookup and its trace
//!   step, the flow hash, the TTL decrement).
//!
//! The stages only read the vRouter's tables (`&VRouter`); the one counter a
//! packet moves, the outer IPv4 ID of UDP tunnels, travels in [`Ctx`] beside
//! the tracer and is written back after the packet's trip.
//!
//! The receive paths:
//! - **fabric** (`Physical`): IPv4 to an address whose route is a Receive
//!   nexthop (vhost0's) is decapsulated: GRE 0x8847 or UDP 6635/51234 carry
//!   MPLS, UDP 4789 carries VXLAN; anything else goes to the host;
//! - **tap** (`Virtual`): ARP is answered by proxy where the route says so;
//!   other frames are looked up in the bridge table, where the vRouter's MAC
//!   leads to layer 3;
//! - **vhost** (`Host`): cross-connected to the fabric vif. (With an agent
//!   vif present the real vRouter routes vhost's packets in the fabric VRF;
//!   vrsim does not model that yet.)

mod encap;
mod fabric;
mod flow;
mod forward;
mod lookup;
mod nat;
mod nd;
mod tap;

use std::net::Ipv4Addr;

use vrsim_wire::MplsLabel;
use vrsim_wire::ethernet::EthernetView;

use crate::drop::DropReason;
use crate::flow::FlowTable;
use crate::ids::{NhId, VifId, VrfId};
use crate::packet::PacketBuf;
use crate::trace::{Step, Tracer, TrapReason};
use crate::vif::VifType;
use crate::vrouter::VRouter;

/// What became of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// Sent out of `vif`; the frame is in the [`PacketBuf`].
    Transmit {
        /// The outgoing vif.
        vif: VifId,
    },
    /// Handed to the host stack (through vhost) or the agent.
    ToHost {
        /// The vif it went through.
        vif: VifId,
    },
    /// Queued on a Hold flow until the agent decides it (the first packet
    /// of a flow is also trapped to the agent as a flow miss);
    /// [`VRouter::release`] sends it on.
    Held {
        /// The flow's index.
        flow: u32,
    },
    /// Dropped and counted.
    Drop(DropReason),
}

/// The per-packet metadata the pipeline carries (the vRouter's `fmd`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fmd {
    /// The vif the frame entered on.
    pub(crate) ingress: VifId,
    /// The type of the vif it entered on.
    pub(crate) ingress_kind: VifType,

    /// The outer source address of a decapsulated packet (for RPF).
    pub(crate) outer_src: Option<Ipv4Addr>,
    /// The label (or VNID) to push, from the route or the ECMP member.
    pub(crate) label: Option<u32>,
    /// The label or VNID nexthop a fabric packet came through (the flow key nexthop).
    pub(crate) key_nh: Option<NhId>,
    /// The VRF lookups happen in.
    pub(crate) vrf: VrfId,
    /// Whether flow processing (and RPF) has run.
    pub(crate) flow_done: bool,
    /// The flow the packet matched (`fmd_flow_index`).
    pub(crate) flow_index: Option<u32>,
    /// The packet's TTL as the vRouter tracks it (`vp_ttl`): the IPv4 TTL
    /// after `vr_forward`'s decrement, the IPv6 hop limit as it came, or the
    /// MPLS TTL less one.
    pub(crate) ttl: Option<u8>,
    /// Nexthops followed so far, bounded against loops.
    pub(crate) hops: u8,
    /// The destination a NAT flow with VRF translation rewrote the packet
    /// to, to be looked up in the destination VRF.
    pub(crate) nat_dst: Option<std::net::IpAddr>,
}

impl Fmd {
    /// Whether the packet entered on the fabric.
    #[inline(always)]
    pub(crate) fn on_fabric(&self) -> bool {
        self.ingress_kind.is_fabric()
    }

    /// Where the packet came from, as a flow records it (`Sinfo`,
    /// `vr_flow_lookup`): the outer source address of a packet from the
    /// fabric (0 when it had none), the vif index of a VM's; `None` for other
    /// vifs, whose packets leave it as it was.
    #[inline(always)]
    pub(crate) fn source_info(&self) -> Option<u32> {
        match self.ingress_kind {
            VifType::Physical => Some(
                self.outer_src
                    .map_or(0, |outer| u32::from_le_bytes(outer.octets())),
            ),
            VifType::Virtual | VifType::VirtualVlan => Some(u32::from(self.ingress.value())),
            _ => None,
        }
    }
}

/// What a packet's trip lends the stages besides its buffer: the tracer, and
/// the router's outer IPv4 ID counter (the one piece of router state a
/// packet changes), copied out of the [`VRouter`] before the trip and back
/// after it so that the stages read the tables through `&VRouter`.
pub(crate) struct Ctx<'t, T> {
    /// Where steps are recorded.
    pub(crate) trace: &'t mut T,
    /// The last outer IPv4 ID handed out.
    pub(crate) ip_id: u16,
    /// The flow table, lent out of the router for the trip.
    pub(crate) flows: &'t mut FlowTable,
    /// The frame as it arrived (what a Hold flow queues).
    pub(crate) frame: &'t [u8],
    /// Whether this is a held packet sent on after the agent's decision
    /// (its flow counted it when it was held).
    pub(crate) reinjected: bool,
    /// Whether a copy of the packet was trapped to the agent (`vr_pclone`,
    /// then `vr_trap`) beside what became of the packet itself.
    pub(crate) agent_copy: bool,
}

/// How many nexthops one packet may follow before it is dropped as a loop.
pub(crate) const MAX_NH_CHAIN: u8 = 8;

impl VRouter {
    /// Receive `frame` on vif `ingress`, forward it, and count the outcome.
    ///
    /// The frame that leaves (if any) is in `buf` afterwards. With
    /// [`crate::trace::NoTrace`] nothing is recorded and nothing is
    /// allocated once `buf` has grown to the frame size.
    pub fn process<T: Tracer>(
        &mut self,
        ingress: VifId,
        frame: &[u8],
        buf: &mut PacketBuf,
        trace: &mut T,
    ) -> Disposition {
        self.run(ingress, frame, buf, trace, false)
    }

    /// Receive (or, `reinjected`, send on a held) `frame`, and count the outcome.
    fn run<T: Tracer>(
        &mut self,
        ingress: VifId,
        frame: &[u8],
        buf: &mut PacketBuf,
        trace: &mut T,
        reinjected: bool,
    ) -> Disposition {
        buf.load(frame);
        trace.step(Step::Rx {
            vif: ingress,
            bytes: frame.len(),
        });
        let outcome = match self.vif_mut(ingress) {
            Some(vif) => {
                if !reinjected {
                    vif.stats.rx_packets += 1;
                    vif.stats.rx_bytes += frame.len() as u64;
                }
                let (kind, vrf) = (vif.config.kind, vif.config.vrf);
                // Lent out of its slot for the trip (a pointer moved, nothing copied).
                let mut flows = self.flows.take().unwrap_or_default();
                let mut cx = Ctx {
                    trace,
                    ip_id: self.ip_id,
                    flows: &mut flows,
                    frame,
                    reinjected,
                    agent_copy: false,
                };
                let outcome = self.receive(ingress, kind, vrf, buf, &mut cx);
                self.ip_id = cx.ip_id;
                if cx.agent_copy {
                    self.account_agent_copy(frame.len());
                }
                // Packets an eviction took off Hold queues, as `delete_flow`
                // counts them.
                for _ in 0..flows.take_unusable() {
                    self.drops.count(DropReason::FlowUnusable);
                }
                self.flows = Some(flows);
                outcome
            }
            None => Disposition::Drop(DropReason::InvalidIf),
        };
        self.account(ingress, buf, outcome, trace);
        outcome
    }

    /// Send on the packets held by flow `index` once the agent has decided
    /// it (`vr_flush_entry`): each goes through the pipeline again, as the
    /// vRouter reinjects it, and meets the flow's action. Returns each
    /// packet's disposition and the frame it left as; nothing while the flow
    /// is still in Hold.
    pub fn release<T: Tracer>(&mut self, index: u32, trace: &mut T) -> Vec<(Disposition, Vec<u8>)> {
        let held = match self.flows_mut().get_mut(index) {
            Some(e) if e.action != crate::flow::FlowAction::Hold => std::mem::take(&mut e.held),
            _ => return Vec::new(),
        };
        let mut buf = PacketBuf::with_capacity(2048);
        held.into_iter()
            .map(|p| {
                let d = self.run(p.ingress, &p.frame, &mut buf, trace, true);
                (d, buf.frame().to_vec())
            })
            .collect()
    }

    fn account<T: Tracer>(
        &mut self,
        ingress: VifId,
        buf: &PacketBuf,
        outcome: Disposition,
        trace: &mut T,
    ) {
        match outcome {
            Disposition::Transmit { vif } => {
                if let Some(v) = self.vif_mut(vif) {
                    v.stats.tx_packets += 1;
                    v.stats.tx_bytes += buf.len() as u64;
                }
                trace.step(Step::Tx {
                    vif,
                    bytes: buf.len(),
                });
            }
            Disposition::ToHost { vif } => {
                if let Some(v) = self.vif_mut(vif) {
                    v.stats.tx_packets += 1;
                    v.stats.tx_bytes += buf.len() as u64;
                }
                trace.step(Step::ToHost { vif });
            }
            Disposition::Held { flow } => trace.step(Step::Held { flow }),
            Disposition::Drop(reason) => {
                self.drops.count(reason);
                if let Some(v) = self.vif_mut(ingress) {
                    v.drops.count(reason);
                    if reason == DropReason::InterfaceDrop {
                        v.stats.rx_errors += 1;
                    }
                }
                trace.step(Step::Drop { reason });
            }
        }
    }

    /// A copy trapped to the agent: sent through the agent vif, or
    /// `Trap No IF` without one (`vr_trap`).
    fn account_agent_copy(&mut self, bytes: usize) {
        let agent = self
            .vifs()
            .find(|v| v.config.kind == VifType::Agent)
            .map(|v| v.id());
        match agent.and_then(|a| self.vif_mut(a)) {
            Some(v) => {
                v.stats.tx_packets += 1;
                v.stats.tx_bytes += bytes as u64;
            }
            None => self.drops.count(DropReason::TrapNoIf),
        }
    }

    /// The receive handler of vif `ingress`, of type `kind` in `vrf`.
    fn receive<T: Tracer>(
        &self,
        ingress: VifId,
        kind: VifType,
        vrf: VrfId,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        // `vr_pkt_type`: a frame without a whole Ethernet header is an IF Drop.
        let Ok(eth) = EthernetView::new_checked(buf.frame()) else {
            return Disposition::Drop(DropReason::InterfaceDrop);
        };
        let ethertype = eth.ethertype();
        let fmd = Fmd {
            ingress,
            ingress_kind: kind,
            outer_src: None,
            label: None,
            key_nh: None,
            vrf,
            flow_done: false,
            flow_index: None,
            ttl: None,
            hops: 0,
            nat_dst: None,
        };
        match kind {
            VifType::Physical => self.fabric_input(fmd, ethertype, buf, cx),
            VifType::Virtual | VifType::VirtualVlan => self.virtual_input(fmd, buf, cx),
            // Cross-connected to the fabric. (With an agent the vRouter routes
            // vhost's packets in the fabric VRF instead; vrsim does not model that.)
            VifType::Host => match self.fabric_vif() {
                Some(phys) => Disposition::Transmit { vif: phys },
                None => Disposition::Drop(DropReason::InterfaceDrop),
            },
            // Frames from the agent carry its own header, which vrsim does
            // not model; gateway and monitoring vifs are not modelled either.
            VifType::Agent | VifType::Gateway | VifType::Monitoring => {
                Disposition::Drop(DropReason::InvalidPacket)
            }
        }
    }

    /// The vhost vif, where packets for the host go; `Trap No IF` without one.
    fn to_host(&self) -> Disposition {
        match self.vifs().find(|v| v.config.kind == VifType::Host) {
            Some(v) => Disposition::ToHost { vif: v.id() },
            None => Disposition::Drop(DropReason::TrapNoIf),
        }
    }

    /// Trap a copy of the packet to the agent (`vr_pclone`, `vr_trap`); the
    /// packet itself goes on. Counted once the packet's trip ends.
    fn copy_to_agent<T: Tracer>(&self, reason: TrapReason, cx: &mut Ctx<'_, T>) {
        cx.trace.step(Step::CopyToAgent { reason });
        cx.agent_copy = true;
    }

    /// Trap to the agent (`vr_trap`): through the agent vif, `Trap No IF` without one.
    fn trap_to_agent<T: Tracer>(&self, reason: TrapReason, trace: &mut T) -> Disposition {
        trace.step(Step::Trap { reason });
        match self.vifs().find(|v| v.config.kind == VifType::Agent) {
            Some(v) => Disposition::ToHost { vif: v.id() },
            None => Disposition::Drop(DropReason::TrapNoIf),
        }
    }

    fn fabric_vif(&self) -> Option<VifId> {
        self.vifs()
            .find(|v| v.config.kind == VifType::Physical)
            .map(|v| v.id())
    }

    /// The label table size.
    fn label_in_table(&self, label: u32) -> Option<MplsLabel> {
        let l = MplsLabel::new(label)?;
        (usize::try_from(label).ok()? < self.ilm.len()).then_some(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use crate::trace::NoTrace;

    #[test]
    fn a_frame_on_a_missing_vif_is_an_invalid_if_drop() {
        let mut r = node();
        let vif = VifId::new(40).expect("in range");
        let (d, _, steps) = run_with_agent(&mut r, vif, &[0u8; 60]);
        assert_eq!(d, Disposition::Drop(DropReason::InvalidIf));
        assert_eq!(r.drops().get(DropReason::InvalidIf), 1);
        assert!(matches!(
            steps.last(),
            Some(Step::Drop {
                reason: DropReason::InvalidIf
            })
        ));
    }

    #[test]
    fn a_runt_frame_is_an_interface_drop_counted_on_its_vif() {
        let mut r = node();
        let (d, _, _) = run_with_agent(&mut r, TAP, &[0u8; 10]);
        assert_eq!(d, Disposition::Drop(DropReason::InterfaceDrop));
        let tap = r.vif(TAP).expect("the tap");
        assert_eq!((tap.stats.rx_packets, tap.stats.rx_errors), (1, 1));
        assert_eq!(tap.drops.get(DropReason::InterfaceDrop), 1);
    }

    #[test]
    fn vhost_is_cross_connected_to_the_fabric_and_counted_both_ways() {
        let mut r = node();
        let frame = from_vm(echo(NODE_IP, GW_IP, 64));
        let (d, out, _) = run_with_agent(&mut r, VHOST, &frame);
        assert_eq!(d, Disposition::Transmit { vif: FABRIC });
        assert_eq!(out, frame);
        let fabric = r.vif(FABRIC).expect("the fabric vif");
        assert_eq!(
            (fabric.stats.tx_packets, fabric.stats.tx_bytes),
            (1, frame.len() as u64)
        );
    }

    #[test]
    fn frames_from_the_agent_vif_are_not_modelled_and_counted() {
        let mut r = node();
        let (d, _, _) = run_with_agent(&mut r, AGENT, &from_vm(echo(VM_IP, GW_IP, 64)));
        assert_eq!(d, Disposition::Drop(DropReason::InvalidPacket));
    }

    #[test]
    fn tracing_does_not_change_the_outcome() {
        let frame = from_gateway(LABEL_IN, 64, echo(REMOTE_IP, VM_IP, 63));
        let (mut a, mut b) = (node(), node());
        // A miss is held the same way, traced or not; then, with the flow in
        // place, the next packet leaves the same way.
        let (traced, _, _) = run(&mut a, FABRIC, &frame);
        let mut buf = PacketBuf::with_capacity(1514);
        let untraced = b.process(FABRIC, &frame, &mut buf, &mut NoTrace);
        assert_eq!(traced, untraced);
        let (Disposition::Held { flow: fa }, Disposition::Held { flow: fb }) = (traced, untraced)
        else {
            panic!("a first packet is held");
        };
        assert_eq!(fa, fb);
        for r in [&mut a, &mut b] {
            let mut req = crate::flow::FlowRequest::forward(
                r.flows().get(fa).expect("held").key,
                VRF,
                NhId::DISCARD,
            );
            req.index = Some(fa);
            r.set_flow(&req).expect("flow");
            r.release(fa, &mut NoTrace);
        }
        let (traced, out, _) = run(&mut a, FABRIC, &frame);
        let untraced = b.process(FABRIC, &frame, &mut buf, &mut NoTrace);
        assert_eq!(traced, untraced);
        assert_eq!(out, buf.frame());
    }
}
