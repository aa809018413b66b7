//! Trace steps: typed records of every table lookup and rewrite the pipeline
//! makes, rendered in one place. [`NoTrace`] records nothing and costs nothing.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use vrsim_wire::{MacAddr, MplsLabel, Vni};

use crate::drop::DropReason;
use crate::flow::{FlowAction, FlowKey};
use crate::ids::{NhId, VifId, VrfId};
use crate::nexthop::{EcmpWhy, TunnelEncap};

/// Where a source address's route must lead for RPF to pass (docs/vrouter-reference.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RpfExpect {
    /// Encap nexthop: the packet must have entered on this vif.
    Vif(VifId),
    /// Tunnel nexthop: the outer source must be this tunnel endpoint.
    TunnelEndpoint(Ipv4Addr),
    /// ECMP: any member's rule.
    AnyEcmpMember,
    /// Discard, Receive and other nexthops: no check.
    NoCheck,
}

/// Why a packet was trapped to the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrapReason {
    /// The TTL reached 0 (`AGENT_TRAP_ZERO_TTL`): the agent answers with ICMP.
    ZeroTtl,
    /// Too big for the tunnel with DF set (`AGENT_TRAP_HANDLE_DF`).
    HandleDf,
    /// A VXLAN packet with the router-alert bit (`AGENT_TRAP_ROUTER_ALERT`,
    /// docs/vrouter-reference.md §3).
    RouterAlert,
    /// The first packet of a new flow (`AGENT_TRAP_FLOW_MISS`).
    FlowMiss,
    /// The first packet queued on a flow the agent set back to Hold
    /// (`AGENT_TRAP_FLOW_ACTION_HOLD`).
    FlowActionHold,
    /// ARP or neighbour discovery the agent learns from (`AGENT_TRAP_ARP`).
    Arp,
}

impl TrapReason {
    /// What the trace line says after `trap to agent: `.
    pub const fn describe(self) -> &'static str {
        match self {
            TrapReason::ZeroTtl => "ttl reached 0",
            TrapReason::HandleDf => "too big with DF set",
            TrapReason::RouterAlert => "router alert",
            TrapReason::FlowMiss => "flow miss",
            TrapReason::FlowActionHold => "flow in hold",
            TrapReason::Arp => "arp / neighbour discovery",
        }
    }
}

/// What a flow lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowOutcome {
    /// A flow with this action.
    Hit(FlowAction),
    /// No flow: a Hold entry was created for it.
    Miss,
    /// No flow, and none made: the nexthop has RelaxedPolicy or FlowLookup.
    Bypass,
}

/// One step of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// A frame arrived on a vif.
    Rx {
        /// The vif.
        vif: VifId,
        /// Its length.
        bytes: usize,
    },
    /// An inet route lookup (`vr_inet_route_lookup`).
    InetLookup {
        /// The VRF.
        vrf: VrfId,
        /// The address looked up.
        key: IpAddr,
        /// The matched prefix (`None`: no route, the default discard nh).
        matched: Option<IpNet>,
        /// The nexthop.
        nh: NhId,
        /// The route's label, when L is set.
        label: Option<MplsLabel>,
    },
    /// A bridge lookup (`vr_bridge_input`).
    BridgeLookup {
        /// The VRF.
        vrf: VrfId,
        /// The destination MAC.
        mac: MacAddr,
        /// The nexthop (`None`: a miss).
        nh: Option<NhId>,
    },
    /// A tunnel header was removed on arrival.
    Decap {
        /// The encapsulation.
        encap: TunnelEncap,
        /// The outer source address (kept for RPF).
        outer_src: Ipv4Addr,
        /// The outer destination address.
        outer_dst: Ipv4Addr,
    },
    /// An MPLS label was looked up in the ILM.
    Label {
        /// The label.
        label: MplsLabel,
        /// Its nexthop (`None`: no entry).
        nh: Option<NhId>,
    },
    /// A VNID was looked up in the VXLAN table.
    Vnid {
        /// The VNID.
        vni: Vni,
        /// Its nexthop (`None`: no entry).
        nh: Option<NhId>,
    },
    /// A VRF-translate nexthop moved the lookup to another VRF.
    VrfTranslate {
        /// The nexthop.
        nh: NhId,
        /// The VRF.
        vrf: VrfId,
    },
    /// The IPv4 TTL was decremented.
    Ttl {
        /// Before.
        from: u8,
        /// After.
        to: u8,
    },
    /// An ECMP member was chosen by the flow hash.
    Ecmp {
        /// The composite nexthop.
        nh: NhId,
        /// The member's position.
        index: usize,
        /// The member nexthop.
        member: NhId,
        /// Why that member.
        why: EcmpWhy,
    },
    /// A nexthop's output function ran.
    Nexthop {
        /// The nexthop.
        nh: NhId,
        /// Its type name (`Encap`, `Tunnel`, …).
        kind: &'static str,
    },
    /// An Ethernet rewrite was applied (Encap nexthop).
    Rewrite {
        /// Destination MAC.
        dst: MacAddr,
        /// Source MAC.
        src: MacAddr,
    },
    /// Tunnel headers were pushed.
    Push {
        /// The encapsulation.
        encap: TunnelEncap,
        /// The label (or VNID) pushed.
        label: u32,
        /// Outer source.
        sip: Ipv4Addr,
        /// Outer destination.
        dip: Ipv4Addr,
    },
    /// A plain UDP tunnel pushed its headers (`nh_udp_tunnel`).
    PushUdp {
        /// Outer source.
        sip: Ipv4Addr,
        /// Outer destination, routed next.
        dip: Ipv4Addr,
        /// UDP source port.
        sport: u16,
        /// UDP destination port.
        dport: u16,
    },
    /// An ARP request was answered by proxy.
    ArpProxy {
        /// The address asked for.
        target: Ipv4Addr,
        /// The MAC answered.
        mac: MacAddr,
    },
    /// A neighbour solicitation was answered by proxy (`vr_neighbor_proxy`).
    NeighborProxy {
        /// The address asked for.
        target: Ipv6Addr,
        /// The MAC answered.
        mac: MacAddr,
    },
    /// The frame left on a vif.
    Tx {
        /// The vif.
        vif: VifId,
        /// Its length.
        bytes: usize,
    },
    /// The packet was trapped to the agent.
    Trap {
        /// Why.
        reason: TrapReason,
    },
    /// A copy of the packet (`vr_pclone`) was trapped to the agent while
    /// the packet itself went on; the copy counts on the agent vif.
    CopyToAgent {
        /// Why.
        reason: TrapReason,
    },
    /// A flow lookup (`vr_flow_lookup`).
    Flow {
        /// The flow's index (`None` when none was made).
        index: Option<u32>,
        /// The key looked up.
        key: FlowKey,
        /// What it found.
        outcome: FlowOutcome,
    },
    /// A packet was queued on a Hold flow.
    FlowHeld {
        /// The flow.
        index: u32,
        /// Packets queued now, this one included.
        queued: u8,
    },
    /// The reverse-path check against a flow's S(nh) (`nh_validate_src`).
    FlowRpf {
        /// The flow.
        index: u32,
        /// The packet's source address.
        src: IpAddr,
        /// The flow's reverse-path nexthop.
        nh: NhId,
        /// What that nexthop requires.
        expect: RpfExpect,
        /// Whether the check passed.
        pass: bool,
    },
    /// A NAT flow rewrote the packet (`vr_inet_flow_nat`): what it now carries.
    FlowNat {
        /// The flow.
        index: u32,
        /// The source address after the rewrite.
        src: IpAddr,
        /// The source port after the rewrite.
        sport: u16,
        /// The destination address after the rewrite.
        dst: IpAddr,
        /// The destination port after the rewrite.
        dport: u16,
    },
    /// The packet stays queued on its flow.
    Held {
        /// The flow.
        flow: u32,
    },
    /// The packet was handed to the host stack or the agent.
    ToHost {
        /// The vif it went through.
        vif: VifId,
    },
    /// The packet was dropped.
    Drop {
        /// Why.
        reason: DropReason,
    },
}

/// Receives the pipeline's steps.
pub trait Tracer {
    /// Whether steps are recorded; work done only for the trace (such as the
    /// flow's informational forward lookup) is skipped when it is not.
    const ENABLED: bool = true;

    /// Record one step.
    fn step(&mut self, step: Step);
}

/// Records nothing; the untraced fast path.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTrace;

impl Tracer for NoTrace {
    const ENABLED: bool = false;

    #[inline(always)]
    fn step(&mut self, _: Step) {}
}

/// Records every step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// The steps, in order.
    pub steps: Vec<Step>,
}

impl Tracer for Trace {
    fn step(&mut self, step: Step) {
        self.steps.push(step);
    }
}

fn opt_prefix(p: &Option<IpNet>) -> String {
    p.map_or_else(|| "no route".to_owned(), |p| p.to_string())
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Rx { vif, bytes } => write!(f, "rx vif0/{vif} ({bytes} bytes)"),
            Step::InetLookup {
                vrf,
                key,
                matched,
                nh,
                label,
            } => {
                write!(
                    f,
                    "inet lookup vrf {vrf} {key} -> {} nh {nh}",
                    opt_prefix(matched)
                )?;
                match label {
                    Some(l) => write!(f, " label {l}"),
                    None => Ok(()),
                }
            }
            Step::BridgeLookup {
                vrf,
                mac,
                nh: Some(nh),
            } => write!(f, "bridge lookup vrf {vrf} {mac} -> nh {nh}"),
            Step::BridgeLookup { vrf, mac, nh: None } => {
                write!(f, "bridge lookup vrf {vrf} {mac} -> miss")
            }
            Step::Decap {
                encap,
                outer_src,
                outer_dst,
            } => {
                write!(f, "decap {} {outer_src} > {outer_dst}", encap.name())
            }
            Step::Label {
                label,
                nh: Some(nh),
            } => write!(f, "mpls label {label} -> nh {nh}"),
            Step::Label { label, nh: None } => write!(f, "mpls label {label} -> no entry"),
            Step::Vnid { vni, nh: Some(nh) } => write!(f, "vxlan vnid {vni} -> nh {nh}"),
            Step::Vnid { vni, nh: None } => write!(f, "vxlan vnid {vni} -> no entry"),
            Step::VrfTranslate { nh, vrf } => write!(f, "nh {nh} Vrf_Translate -> vrf {vrf}"),
            Step::Ttl { from, to } => write!(f, "ttl {from} -> {to}"),
            Step::Ecmp {
                nh,
                index,
                member,
                why,
            } => write!(f, "ecmp nh {nh} member {index} -> nh {member} ({why})"),
            Step::Nexthop { nh, kind } => write!(f, "nh {nh} {kind}"),
            Step::Rewrite { dst, src } => write!(f, "rewrite ether {src} > {dst}"),
            Step::Push {
                encap,
                label,
                sip,
                dip,
            } => {
                let what = if *encap == TunnelEncap::Vxlan {
                    "vnid"
                } else {
                    "label"
                };
                write!(f, "push {} {what} {label} {sip} > {dip}", encap.name())
            }
            Step::ArpProxy { target, mac } => write!(f, "arp proxy {target} is-at {mac}"),
            Step::NeighborProxy { target, mac } => {
                write!(f, "neighbour proxy {target} is-at {mac}")
            }
            Step::PushUdp {
                sip,
                dip,
                sport,
                dport,
            } => write!(f, "push UDP {sip}:{sport} > {dip}:{dport}, routed on"),
            Step::Tx { vif, bytes } => write!(f, "tx vif0/{vif} ({bytes} bytes)"),
            Step::Trap { reason } => write!(f, "trap to agent: {}", reason.describe()),
            Step::CopyToAgent { reason } => {
                write!(f, "copy trapped to agent: {}", reason.describe())
            }
            Step::Flow {
                index: Some(index),
                key,
                outcome,
            } => match outcome {
                FlowOutcome::Hit(action) => write!(
                    f,
                    "flow {index} hit: {}, action {}",
                    FlowKeyText(key),
                    action.letter()
                ),
                _ => write!(
                    f,
                    "flow {index} miss: {}, new flow in hold",
                    FlowKeyText(key)
                ),
            },
            Step::Flow {
                index: None, key, ..
            } => write!(
                f,
                "flow miss: {}, forwarded without a flow (nexthop has RelaxedPolicy or FlowLookup)",
                FlowKeyText(key)
            ),
            Step::FlowHeld { index, queued } => {
                write!(
                    f,
                    "flow {index} queues the packet ({queued} of {})",
                    crate::flow::MAX_QUEUED
                )
            }
            Step::FlowRpf {
                index,
                src,
                nh,
                expect,
                pass,
            } => {
                write!(f, "rpf flow {index} source {src} S(nh) {nh}: ")?;
                write_expect(f, expect)?;
                f.write_str(if *pass { ", pass" } else { ", fail" })
            }
            Step::FlowNat {
                index,
                src,
                sport,
                dst,
                dport,
            } => write!(f, "nat flow {index}: now {src}:{sport} > {dst}:{dport}"),
            Step::Held { flow } => write!(f, "held in flow {flow} until the agent decides"),
            Step::ToHost { vif } => write!(f, "to host via vif0/{vif}"),
            Step::Drop { reason } => write!(f, "drop: {reason}"),
        }
    }
}

fn write_expect(f: &mut fmt::Formatter<'_>, expect: &RpfExpect) -> fmt::Result {
    match expect {
        RpfExpect::Vif(v) => write!(f, "expects ingress vif0/{v}"),
        RpfExpect::TunnelEndpoint(ip) => write!(f, "expects outer source {ip}"),
        RpfExpect::AnyEcmpMember => write!(f, "expects any ecmp member"),
        RpfExpect::NoCheck => write!(f, "no check for this nexthop type"),
    }
}

/// A flow key as traces show it: `proto src:sport > dst:dport K(nh) n`,
/// an IPv6 address in brackets (`icmpv6 [2001:db8::1]:24301 > …`, RFC 5952 §6).
#[derive(Debug)]
pub struct FlowKeyText<'k>(pub &'k FlowKey);

impl fmt::Display for FlowKeyText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.0;
        match k.proto {
            1 => f.write_str("icmp")?,
            6 => f.write_str("tcp")?,
            17 => f.write_str("udp")?,
            58 => f.write_str("icmpv6")?,
            p => write!(f, "proto {p}")?,
        }
        let src = std::net::SocketAddr::new(k.src, k.sport);
        let dst = std::net::SocketAddr::new(k.dst, k.dport);
        write!(f, " {src} > {dst} K(nh) {}", k.nh)
    }
}

impl fmt::Display for Trace {
    /// One step a line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}
