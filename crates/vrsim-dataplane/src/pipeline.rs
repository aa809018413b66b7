//! The packet pipeline: [`VRouter::process`] receives a frame on a vif and
//! returns what became of it, counting it exactly once: transmitted on a vif,
//! handed to the host, or dropped under one [`DropReason`].
//!
//! The receive paths follow the vRouter's (reference §1, §3, §4):
//! - **fabric** (`Physical`): IPv4 to an address whose route is a Receive
//!   nexthop (vhost0's) is decapsulated: GRE 0x8847 or UDP 6635/51234 carry
//!   MPLS, UDP 4789 carries VXLAN; anything else goes to the host;
//! - **tap** (`Virtual`): ARP is answered by proxy where the route says so;
//!   other frames are looked up in the bridge table, where the vRouter's MAC
//!   leads to layer 3;
//! - **vhost** (`Host`): cross-connected to the fabric vif. (With an agent
//!   vif present the real vRouter routes vhost's packets in the fabric VRF;
//!   vrsim does not model that yet.)

use std::net::Ipv4Addr;

use vrsim_wire::ethernet::{EthernetView, HEADER_LEN as ETH_LEN};
use vrsim_wire::{EtherType, MplsLabel};

use crate::drop::DropReason;
use crate::ids::{VifId, VrfId};
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
    /// Dropped and counted.
    Drop(DropReason),
}

/// The per-packet metadata the pipeline carries (the vRouter's `fmd`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fmd {
    /// The vif the frame entered on.
    pub(crate) ingress: VifId,
    /// Whether it entered on the fabric.
    pub(crate) from_fabric: bool,
    /// The outer source address of a decapsulated packet (for RPF).
    pub(crate) outer_src: Option<Ipv4Addr>,
    /// The label (or VNID) to push, from the route or the ECMP member.
    pub(crate) label: Option<u32>,
    /// The label or VNID nexthop a fabric packet came through (the flow key nexthop).
    pub(crate) key_nh: Option<crate::ids::NhId>,
    /// The VRF lookups happen in.
    pub(crate) vrf: VrfId,
    /// Whether flow processing (and RPF) has run.
    pub(crate) flow_done: bool,
    /// The packet's TTL as the vRouter tracks it (`vp_ttl`): the IPv4 TTL
    /// after `vr_forward`'s decrement, or the MPLS TTL less one.
    pub(crate) ttl: Option<u8>,
    /// Nexthops followed so far, bounded against loops.
    pub(crate) hops: u8,
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
        buf.load(frame);
        trace.step(Step::Rx {
            vif: ingress,
            bytes: frame.len(),
        });
        let outcome = match self.vif_mut(ingress) {
            Some(vif) => {
                vif.stats.rx_packets += 1;
                vif.stats.rx_bytes += frame.len() as u64;
                self.receive(ingress, buf, trace)
            }
            None => Disposition::Drop(DropReason::InvalidIf),
        };
        self.account(ingress, buf, outcome, trace);
        outcome
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

    fn receive<T: Tracer>(
        &self,
        ingress: VifId,
        buf: &mut PacketBuf,
        trace: &mut T,
    ) -> Disposition {
        let Some(vif) = self.vif(ingress) else {
            return Disposition::Drop(DropReason::InvalidIf);
        };
        // `vr_pkt_type`: a frame without a whole Ethernet header is an IF Drop.
        let Ok(eth) = EthernetView::new_checked(buf.frame()) else {
            return Disposition::Drop(DropReason::InterfaceDrop);
        };
        let ethertype = eth.ethertype();
        let fmd = Fmd {
            ingress,
            from_fabric: vif.config.kind.is_fabric(),
            outer_src: None,
            label: None,
            key_nh: None,
            vrf: vif.config.vrf,
            flow_done: false,
            ttl: None,
            hops: 0,
        };
        match vif.config.kind {
            VifType::Physical => self.fabric_input(fmd, ethertype, buf, trace),
            VifType::Virtual | VifType::VirtualVlan => self.virtual_input(fmd, buf, trace),
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

    /// `vr_fabric_input`: IPv4 to the outer lookup, everything else to the host.
    fn fabric_input<T: Tracer>(
        &self,
        fmd: Fmd,
        ethertype: EtherType,
        buf: &mut PacketBuf,
        trace: &mut T,
    ) -> Disposition {
        match ethertype {
            EtherType::Ipv4 => {
                buf.pull(ETH_LEN);
                self.fabric_l3(fmd, buf, trace)
            }
            _ => self.to_host(),
        }
    }

    /// The vhost vif, where packets for the host go; `Trap No IF` without one.
    pub(crate) fn to_host(&self) -> Disposition {
        match self.vifs().find(|v| v.config.kind == VifType::Host) {
            Some(v) => Disposition::ToHost { vif: v.id() },
            None => Disposition::Drop(DropReason::TrapNoIf),
        }
    }

    /// Trap to the agent (`vr_trap`): through the agent vif, `Trap No IF` without one.
    pub(crate) fn trap_to_agent<T: Tracer>(
        &self,
        reason: TrapReason,
        trace: &mut T,
    ) -> Disposition {
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
    pub(crate) fn label_in_table(&self, label: u32) -> Option<MplsLabel> {
        let l = MplsLabel::new(label)?;
        (usize::try_from(label).ok()? < self.ilm.len()).then_some(l)
    }
}
