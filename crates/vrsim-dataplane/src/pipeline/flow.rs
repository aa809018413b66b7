//! Flow processing, as `vr_flow_forward` does it: the key
//! (`vr_inet_flow_lookup`, `vr_inet_proto_flow`, `vr_inet_flow_nexthop`;
//! for IPv6 `vr_inet6_flow_lookup`, `vr_inet6_proto_flow`),
//! the lookup and the Hold entry a miss creates (`vr_flow_lookup`,
//! `vr_flow_new_hold_flow`), the queue and the trap to the agent
//! (`vr_enqueue_flow`, `vr_trap_flow`), and on a decided flow the
//! reverse-path check against S(nh), the action and the TCP state
//! (`vr_flow_action`, `vr_flow_action_default`, `vr_flow_tcp_digest`).

use std::net::IpAddr;

use vrsim_wire::icmpv4::Icmpv4View;
use vrsim_wire::icmpv6;
use vrsim_wire::ipv4::{Ipv4View, Ipv4ViewMut};
use vrsim_wire::ipv6::Ipv6View;
use vrsim_wire::tcp::{TcpView, flags as tcp};
use vrsim_wire::{IpProtocol, ip_version, transport_ports};

use super::{Ctx, Disposition, Fmd};
use crate::drop::DropReason;
use crate::flow::{
    FlowAction, FlowEntry, FlowFlags, FlowKey, FlowTable, HeldPacket, MAX_QUEUED, TcpFlags,
};
use crate::ids::NhId;
use crate::nexthop::{NexthopConfig, NhFlags, NhKind};
use crate::trace::{FlowOutcome, RpfExpect, Step, Tracer, TrapReason};
use crate::vif::{VifFlags, VifType};
use crate::vrouter::VRouter;

/// The UDP ports that carry MPLS (`vr_mpls_udp_port`) or VXLAN.
const TUNNEL_UDP_PORTS: [u16; 3] = [6635, 51234, 4789];

/// Whether an ICMP type is an error the vRouter keys on its quoted header
/// (`vr_icmp_error`: destination unreachable, time exceeded).
fn icmp_error(kind: u8) -> bool {
    matches!(kind, 3 | 11)
}

impl VRouter {
    /// The flow stage on the IP packet at offset `at` of `buf`, of IP
    /// `version` (4 or 6). `bypass` says a miss makes no flow (the nexthop
    /// relaxes policy). `None`: forward on; otherwise the packet is held or
    /// dropped.
    pub(super) fn flow_stage<T: Tracer>(
        &self,
        fmd: &mut Fmd,
        bypass: bool,
        (at, version): (usize, u8),
        buf: &mut super::PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Option<Disposition> {
        let frame_len = buf.len() - at + vrsim_wire::ethernet::HEADER_LEN;
        let ip = buf.frame().get(at..).unwrap_or_default();
        // The packet's own source, for the trace only (an ICMP error's key
        // holds the quoted header's addresses).
        let src = if T::ENABLED {
            packet_src(ip, version)
        } else {
            None
        };
        let key = match self.packet_flow_key(fmd, ip, version) {
            Ok(Some(key)) => key,
            Ok(None) => return None,
            Err(reason) => return Some(Disposition::Drop(reason)),
        };
        // A hit is one probe of the table; a miss makes the Hold entry, then
        // meets it as a hit does.
        let seen = (fmd.source_info(), frame_len as u32, cx.reinjected);
        let met = match cx.flows.find_mut(&key) {
            Some((index, e)) => meet(index, e, seen),
            None => {
                if bypass {
                    cx.trace.step(Step::Flow {
                        index: None,
                        key,
                        outcome: FlowOutcome::Bypass,
                    });
                    return None;
                }
                if let Err(reason) = self.new_hold_flow(fmd, key, cx.flows) {
                    return Some(Disposition::Drop(reason));
                }
                match cx.flows.find_mut(&key) {
                    Some((index, e)) => meet(index, e, seen),
                    None => return Some(Disposition::Drop(DropReason::FlowUnusable)),
                }
            }
        };
        self.flow_hit(fmd, met, (at, src.unwrap_or(key.src)), buf, cx)
    }

    /// The key of `ip` read as an IP packet of `version`
    /// (`vr_inet_flow_lookup`, `vr_inet6_flow_lookup`): `Ok(None)` when it
    /// gets no flow (not a valid header of that version, a broadcast or
    /// multicast destination, neighbour discovery, fabric traffic still in
    /// its tunnel), an error when it cannot be keyed.
    pub(super) fn packet_flow_key(
        &self,
        fmd: &Fmd,
        ip: &[u8],
        version: u8,
    ) -> Result<Option<FlowKey>, DropReason> {
        if version == 4 {
            let Ok(v) = Ipv4View::new_checked(ip) else {
                return Ok(None);
            };
            // No flows for broadcast or multicast destinations.
            if v.dst().is_broadcast() || v.dst().is_multicast() {
                return Ok(None);
            }
            return self.flow_key(fmd, &v);
        }
        // `vr_inet6_flow_lookup` has no multicast test: only a multicast MAC
        // spares a frame the flow table (`vr_flow_forward`).
        match Ipv6View::new_checked(ip) {
            Ok(v) if version == 6 => self.flow_key6(fmd, &v),
            _ => Ok(None),
        }
    }

    /// The key of the packet `ip` (`vr_inet_proto_flow`): `Ok(None)` for
    /// fabric traffic still in its tunnel, which flows do not see.
    pub(super) fn flow_key(
        &self,
        fmd: &Fmd,
        ip: &Ipv4View<'_>,
    ) -> Result<Option<FlowKey>, DropReason> {
        // Without a fragment table, a fragment other than the first cannot be keyed.
        if ip.fragment_offset() != 0 {
            return Err(DropReason::NoFragEntry);
        }
        let proto = ip.protocol().value();
        // A transport header cut short keys with ports 0 (docs/robustness.md, T19).
        let (src, dst, sport, dport) = if ip.protocol() == IpProtocol::Icmp {
            match Icmpv4View::new_checked(ip.payload()) {
                Ok(icmp) if icmp_error(icmp.kind()) => {
                    return self.icmp_error_key(fmd, icmp.payload()).map(Some);
                }
                Ok(icmp) => {
                    let (sport, dport) = icmp_ports(&icmp);
                    (ip.src(), ip.dst(), sport, dport)
                }
                Err(_) => (ip.src(), ip.dst(), 0, 0),
            }
        } else {
            let (sport, dport) = ports(ip);
            (ip.src(), ip.dst(), sport, dport)
        };
        if fmd.on_fabric()
            && fmd.outer_src.is_none()
            && (ip.protocol() == IpProtocol::Gre
                || (ip.protocol() == IpProtocol::Udp && TUNNEL_UDP_PORTS.contains(&dport)))
        {
            return Ok(None);
        }
        Ok(Some(FlowKey {
            proto,
            sport,
            dport,
            nh: self.flow_key_nh(fmd),
            src: src.into(),
            dst: dst.into(),
        }))
    }

    /// The key of the IPv6 packet `ip` (`vr_inet6_proto_flow`): the header
    /// after a fragment header when the fragment is the first (a later one
    /// needs the fragment table: `No Fragment Entry`); ICMPv6 echo keyed on
    /// its identifier and 129, other ICMPv6 on 0 and the type; errors
    /// (types below 128) on the header they quote; neighbour solicitations
    /// and advertisements, and errors quoting them, get no flow.
    pub(super) fn flow_key6(
        &self,
        fmd: &Fmd,
        ip: &Ipv6View<'_>,
    ) -> Result<Option<FlowKey>, DropReason> {
        let (mut proto, mut t) = (ip.next_header().value(), ip.payload());
        if proto == FRAGMENT_HEADER {
            let frag = t.get(..8).ok_or(DropReason::InvalidPacket)?;
            if u16::from_be_bytes([frag[2], frag[3]]) >> 3 != 0 {
                return Err(DropReason::NoFragEntry);
            }
            proto = frag[0];
            t = &t[8..];
        }
        let (sport, dport) = match ports6(proto, t) {
            Ports6::Ports(s, d) => (s, d),
            Ports6::NoFlow => return Ok(None),
            Ports6::Error => return self.icmp6_error_key(fmd, t.get(8..).unwrap_or_default()),
        };
        Ok(Some(FlowKey {
            proto,
            sport,
            dport,
            nh: self.flow_key_nh(fmd),
            src: ip.src().into(),
            dst: ip.dst().into(),
        }))
    }

    /// An ICMPv6 error's key: the IPv6 header it quotes, keyed as a packet
    /// of the other direction (`vr_inet6_form_flow` with `forward` false:
    /// addresses and ports swapped, for every protocol); an error quoting an
    /// error is dropped (`ICMP errors`).
    fn icmp6_error_key(&self, fmd: &Fmd, quoted: &[u8]) -> Result<Option<FlowKey>, DropReason> {
        let inner = Ipv6View::new_quoted(quoted).map_err(|_| DropReason::InvalidPacket)?;
        let t = inner.payload();
        let proto = inner.next_header().value();
        let (sport, dport) = match ports6(proto, t) {
            Ports6::Ports(s, d) => (s, d),
            // A quoted solicitation or advertisement: no flow, as for one.
            Ports6::NoFlow => return Ok(None),
            Ports6::Error => return Err(DropReason::IcmpError),
        };
        Ok(Some(FlowKey {
            proto,
            sport: dport,
            dport: sport,
            nh: self.flow_key_nh(fmd),
            src: inner.dst().into(),
            dst: inner.src().into(),
        }))
    }

    /// An ICMP error's key: the header it quotes, reversed; an error quoting
    /// an ICMP error is dropped (`ICMP errors`).
    fn icmp_error_key(&self, fmd: &Fmd, quoted: &[u8]) -> Result<FlowKey, DropReason> {
        let inner = Ipv4View::new_quoted(quoted).map_err(|_| DropReason::InvalidPacket)?;
        let (sport, dport) = if inner.protocol() == IpProtocol::Icmp {
            let icmp =
                Icmpv4View::new_checked(inner.payload()).map_err(|_| DropReason::InvalidPacket)?;
            if icmp_error(icmp.kind()) {
                return Err(DropReason::IcmpError);
            }
            icmp_ports(&icmp)
        } else {
            let (s, d) = ports(&inner);
            (d, s)
        };
        Ok(FlowKey {
            proto: inner.protocol().value(),
            sport,
            dport,
            nh: self.flow_key_nh(fmd),
            src: inner.dst().into(),
            dst: inner.src().into(),
        })
    }

    /// The key nexthop (`vr_inet_flow_nexthop`): for fabric traffic the
    /// label's nexthop, or when that is an Encap or Receive nexthop the
    /// nexthop of the vif it leads to; otherwise the ingress vif's nexthop.
    fn flow_key_nh(&self, fmd: &Fmd) -> NhId {
        if fmd.on_fabric()
            && let Some(n) = fmd.key_nh.and_then(|id| self.nh(id))
        {
            return match n.config.kind {
                NhKind::Encap { oif, .. } | NhKind::Receive { oif } => self
                    .vif(oif)
                    .and_then(|v| v.config.nh)
                    .unwrap_or(NhId::DISCARD),
                _ => n.id(),
            };
        }
        self.vif(fmd.ingress)
            .and_then(|v| v.config.nh)
            .unwrap_or(NhId::DISCARD)
    }

    /// A miss (`vr_flow_new_hold_flow`): refused on a vif dropping new
    /// flows (`New Flow Drops`), else a Hold entry, or `Flow Table Full`.
    /// (A fragment other than the first never gets here: it has no key
    /// without a fragment table.)
    fn new_hold_flow(
        &self,
        fmd: &Fmd,
        key: FlowKey,
        flows: &mut FlowTable,
    ) -> Result<u32, DropReason> {
        let vif = if fmd.on_fabric() {
            fmd.key_nh
                .and_then(|id| self.nh(id))
                .and_then(|n| n.config.kind.oif())
        } else {
            Some(fmd.ingress)
        };
        if vif
            .and_then(|v| self.vif(v))
            .is_some_and(|v| v.config.flags.contains(VifFlags::DROP_NEW_FLOWS))
        {
            return Err(DropReason::NewFlows);
        }
        let index = flows.insert(key).ok_or(DropReason::FlowTableFull)?;
        flows.count_created();
        if let Some(e) = flows.get_mut(index) {
            e.vrf = fmd.vrf;
            e.flags.set(FlowFlags::NEW_FLOW, true);
        }
        Ok(index)
    }

    /// The flow the packet met (`vr_flow_lookup` on): Hold, the
    /// reverse-path check, the action.
    fn flow_hit<T: Tracer>(
        &self,
        fmd: &mut Fmd,
        met: Met,
        (at, src): (usize, IpAddr),
        buf: &mut super::PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Option<Disposition> {
        let index = met.index;
        let tcp = met.key.proto == 6;
        cx.trace.step(Step::Flow {
            index: Some(index),
            key: met.key,
            outcome: if met.new {
                FlowOutcome::Miss
            } else {
                FlowOutcome::Hit(met.action)
            },
        });
        if met.flags.contains(FlowFlags::EVICT_CANDIDATE) {
            return Some(Disposition::Drop(DropReason::FlowEvict));
        }
        fmd.flow_index = Some(index);
        // `vr_flow_tcp_digest` comes before the action, Hold included (a
        // held packet sent on again was digested when it arrived).
        let dead = tcp
            && !cx.reinjected
            && tcp_digest(
                cx.flows,
                index,
                buf.frame().get(at..).unwrap_or_default(),
                self.uncond_close_on_tcp_rst,
            );
        if met.action == FlowAction::Hold {
            return Some(self.hold(fmd, index, cx));
        }
        let Met {
            src_nh,
            action,
            ttl,
            dvrf,
            flags,
            rflow,
            ..
        } = met;
        let (vrft, fwd_key) = (flags.contains(FlowFlags::VRFT), met.key);
        // `vr_flow_action`: a dead pair is evicted whatever the outcome.
        if let Some(d) = self.flow_rpf(fmd, index, src, src_nh, cx.trace) {
            if dead {
                cx.flows.evict_if_dead(index);
            }
            return Some(d);
        }
        let verdict = match action {
            FlowAction::Drop => Some(Disposition::Drop(DropReason::FlowActionDrop)),
            FlowAction::Forward => None,
            FlowAction::Nat => self.flow_nat(fmd, index, (flags, fwd_key, rflow), at, buf, cx),
            FlowAction::Hold => Some(Disposition::Drop(DropReason::FlowActionInvalid)),
        };
        if verdict.is_none() {
            if vrft {
                fmd.vrf = dvrf;
            }
            if ttl != 0
                && let Some(Ok(mut v)) = buf.frame_mut().get_mut(at..).map(Ipv4ViewMut::new_checked)
            {
                v.set_ttl(ttl);
            }
        }
        if dead {
            cx.flows.evict_if_dead(index);
        }
        verdict
    }

    /// A NAT flow's action (`vr_inet_flow_nat`): without a reverse flow the
    /// packet is a `Flow NAT no rflow` drop; otherwise its addresses and ports
    /// are rewritten from the reverse key and, with VRF translation, the new
    /// destination is looked up in the destination VRF.
    fn flow_nat<T: Tracer>(
        &self,
        fmd: &mut Fmd,
        index: u32,
        (flags, fwd, rflow): (FlowFlags, FlowKey, Option<u32>),
        at: usize,
        buf: &mut super::PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Option<Disposition> {
        let Some(rev) = rflow.and_then(|r| cx.flows.get(r)).map(|r| r.key) else {
            return Some(Disposition::Drop(DropReason::FlowNatNoRflow));
        };
        let ip = buf.frame_mut().get_mut(at..).unwrap_or_default();
        let out = super::nat::rewrite(ip, flags, &fwd, &rev);
        cx.trace.step(Step::FlowNat {
            index,
            src: out.src,
            sport: out.sport,
            dst: out.dst,
            dport: out.dport,
        });
        if flags.contains(FlowFlags::VRFT) {
            fmd.nat_dst = Some(out.dst);
        }
        None
    }

    /// Queue the packet on its Hold flow (`vr_enqueue_flow`); the first is
    /// trapped to the agent as a flow miss (`vr_trap_flow`).
    fn hold<T: Tracer>(&self, fmd: &Fmd, index: u32, cx: &mut Ctx<'_, T>) -> Disposition {
        let Some(e) = cx.flows.get_mut(index) else {
            return Disposition::Drop(DropReason::FlowUnusable);
        };
        if e.held.len() >= MAX_QUEUED {
            return Disposition::Drop(DropReason::FlowQueueLimitExceeded);
        }
        e.held.push(HeldPacket {
            ingress: fmd.ingress,
            frame: cx.frame.to_vec(),
        });
        let queued = e.held.len();
        cx.trace.step(Step::FlowHeld {
            index,
            queued: queued as u8,
        });
        if queued == 1 {
            let reason = if e.flags.contains(FlowFlags::NEW_FLOW) {
                e.flags.set(FlowFlags::NEW_FLOW, false);
                TrapReason::FlowMiss
            } else {
                TrapReason::FlowActionHold
            };
            cx.trace.step(Step::Trap { reason });
        }
        Disposition::Held { flow: index }
    }

    /// The reverse-path check against the flow's S(nh) (`nh_validate_src`):
    /// nh 0 (or any nexthop without a check) lets everything through.
    fn flow_rpf<T: Tracer>(
        &self,
        fmd: &Fmd,
        index: u32,
        src: IpAddr,
        src_nh: NhId,
        trace: &mut T,
    ) -> Option<Disposition> {
        let Some(nh) = self.nh(src_nh) else {
            return Some(Disposition::Drop(DropReason::InvalidNh));
        };
        let (expect, pass) = self.rpf_rule(fmd, &nh.config.kind, 0);
        trace.step(Step::FlowRpf {
            index,
            src,
            nh: src_nh,
            expect,
            pass,
        });
        (!pass && expect != RpfExpect::NoCheck)
            .then_some(Disposition::Drop(DropReason::InvalidSource))
    }

    /// Whether a frame from a tap meets the flow table in
    /// `vr_virtual_input` (`vr_flow_forward`, `vr_inet_flow_lookup`): the
    /// tap has Policy, and is not a VLAN sub-interface unless it is a
    /// service interface.
    pub(super) fn vm_flow_wanted(&self, fmd: &Fmd) -> bool {
        self.vif(fmd.ingress).is_some_and(|v| {
            let f = v.config.flags;
            f.contains(VifFlags::POLICY)
                && (v.config.kind == VifType::Virtual
                    || (v.config.kind == VifType::VirtualVlan && f.contains(VifFlags::SERVICE_IF)))
        })
    }

    /// Whether flow processing applies at `nh_output`: the nexthop has
    /// Policy or FlowLookup, or the packet entered on a vif with Policy other
    /// than a tap (whose frames met the flow table on entry) or vhost
    /// (`vr_inet_flow_lookup`). `Some(true)` when the nexthop asked.
    pub(super) fn flow_wanted(&self, fmd: &Fmd, c: &NexthopConfig) -> Option<bool> {
        let forced = c.flags.contains(NhFlags::POLICY) || c.flags.contains(NhFlags::FLOW_LOOKUP);
        let vif_policy = || {
            self.vif(fmd.ingress).is_some_and(|v| {
                v.config.flags.contains(VifFlags::POLICY)
                    && !matches!(
                        v.config.kind,
                        VifType::Host | VifType::Virtual | VifType::VirtualVlan
                    )
            })
        };
        if forced {
            Some(true)
        } else if vif_policy() {
            Some(false)
        } else {
            None
        }
    }
}

/// What the datapath reads of a flow once it has met a packet.
#[derive(Debug, Clone, Copy)]
struct Met {
    index: u32,
    key: FlowKey,
    /// A Hold flow this very packet made.
    new: bool,
    action: FlowAction,
    flags: FlowFlags,
    src_nh: NhId,
    ttl: u8,
    dvrf: crate::ids::VrfId,
    rflow: Option<u32>,
}

/// A flow meets a packet: where it came from (`Sinfo`) and, unless it is a
/// held packet sent on again or the flow is about to be evicted, its
/// statistics; what the rest of the flow stage needs is copied out, so the
/// table is free again.
#[inline(always)]
fn meet(
    index: u32,
    e: &mut FlowEntry,
    (src_info, len, reinjected): (Option<u32>, u32, bool),
) -> Met {
    let new =
        e.flags.contains(FlowFlags::NEW_FLOW) && e.action == FlowAction::Hold && e.held.is_empty();
    if !e.flags.contains(FlowFlags::EVICT_CANDIDATE) {
        if let Some(info) = src_info {
            e.src_info = info;
        }
        if !reinjected {
            e.packets = e.packets.wrapping_add(1);
            e.bytes = e.bytes.wrapping_add(len);
        }
    }
    Met {
        index,
        key: e.key,
        new,
        action: e.action,
        flags: e.flags,
        src_nh: e.src_nh,
        ttl: e.ttl,
        dvrf: e.dvrf,
        rflow: e.rflow,
    }
}

/// The ports of an ICMP message's key: an echo's identifier and 0, else 0
/// and the type as the vRouter stores it (host order, printed × 256).
#[inline(always)]
fn icmp_ports(icmp: &Icmpv4View<'_>) -> (u16, u16) {
    if matches!(icmp.kind(), 0 | 8) {
        ((icmp.rest_of_header() >> 16) as u16, 0)
    } else {
        (0, u16::from(icmp.kind()) << 8)
    }
}

/// TCP, UDP and SCTP ports; 0 and 0 for other protocols or a header cut short.
fn ports(ip: &Ipv4View<'_>) -> (u16, u16) {
    match ip.protocol().value() {
        6 | 17 | 132 => port_pair(ip.payload()),
        _ => (0, 0),
    }
}

/// The source address of `ip` read as an IP packet of `version` (its
/// header was checked when the key was made).
#[inline(always)]
fn packet_src(ip: &[u8], version: u8) -> Option<IpAddr> {
    match version {
        4 => Ipv4View::new_checked(ip).ok().map(|v| v.src().into()),
        _ => Ipv6View::new_checked(ip).ok().map(|v| v.src().into()),
    }
}

/// The two ports a transport header starts with; 0 and 0 when cut short.
fn port_pair(t: &[u8]) -> (u16, u16) {
    transport_ports(t).map_or((0, 0), |p| {
        (
            u16::from_be_bytes([p[0], p[1]]),
            u16::from_be_bytes([p[2], p[3]]),
        )
    })
}

/// What `vr_inet6_proto_flow` makes of the header after an IPv6 header of
/// next header `proto`, whose bytes are `t`.
enum Ports6 {
    /// The key's ports.
    Ports(u16, u16),
    /// Neighbour discovery: no flow.
    NoFlow,
    /// An ICMPv6 error (type below 128): keyed on what it quotes.
    Error,
}

#[inline(always)]
fn ports6(proto: u8, t: &[u8]) -> Ports6 {
    match (proto, t.first().copied()) {
        (58, Some(kind)) if kind < 128 => Ports6::Error,
        (58, Some(icmpv6::TYPE_NEIGHBOR_SOLICIT | icmpv6::TYPE_NEIGHBOR_ADVERT)) => Ports6::NoFlow,
        (58, Some(kind)) => {
            let (s, d) = icmp6_ports(kind, t);
            Ports6::Ports(s, d)
        }
        (6 | 17 | 132, _) => {
            let (s, d) = port_pair(t);
            Ports6::Ports(s, d)
        }
        _ => Ports6::Ports(0, 0),
    }
}

/// The ports of an ICMPv6 message's key (`vr_inet6_proto_flow`): an echo's
/// identifier and 129 (`ntohs(VR_ICMP6_TYPE_ECHO_REPLY)` stored), else 0
/// and the type in host order (printed × 256).
fn icmp6_ports(kind: u8, t: &[u8]) -> (u16, u16) {
    if matches!(kind, icmpv6::TYPE_ECHO_REQUEST | icmpv6::TYPE_ECHO_REPLY) {
        let ident = t.get(4..6).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
        (ident, u16::from(icmpv6::TYPE_ECHO_REPLY))
    } else {
        (0, u16::from(kind) << 8)
    }
}

/// IPv6's fragment header (`VR_IP6_PROTO_FRAG`).
const FRAGMENT_HEADER: u8 = 44;

/// The TCP header of the IP packet `ip` and the data it carries: IPv4 not
/// a later fragment, IPv6 with TCP right after its fixed header.
fn tcp_segment(ip: &[u8]) -> Option<(TcpView<'_>, usize)> {
    match ip_version(ip) {
        Some(4) => {
            let v = Ipv4View::new_checked(ip).ok()?;
            if v.protocol() != IpProtocol::Tcp || v.fragment_offset() != 0 {
                return None;
            }
            let t = TcpView::new_checked(v.payload()).ok()?;
            let data = v
                .total_len()
                .saturating_sub(v.header_len() + t.header_len());
            Some((t, data))
        }
        Some(6) => {
            let v = Ipv6View::new_checked(ip).ok()?;
            if v.next_header() != IpProtocol::Tcp {
                return None;
            }
            let t = TcpView::new_checked(v.payload()).ok()?;
            let data = v.payload().len().saturating_sub(t.header_len());
            Some((t, data))
        }
        _ => None,
    }
}

/// TCP state (`vr_flow_tcp_digest`): the last ACK; a RST (checked against
/// the other side's last ACK, or in answer to a SYN against its sequence
/// number, unless `uncond` closes on any RST) makes the pair dead; SYN and
/// the ACK that establishes; FIN both ways and the ACKs of both FINs make
/// the pair half-closed, then dead. Returns whether the flow is dead, to
/// be evicted after this packet.
fn tcp_digest(flows: &mut FlowTable, index: u32, ip: &[u8], uncond: bool) -> bool {
    let Some((t, data)) = tcp_segment(ip) else {
        return false;
    };
    let (f, seq, ack) = (t.flags(), t.seq(), t.ack());
    let Some(e) = flows.get_mut(index) else {
        return false;
    };
    if f & tcp::ACK != 0 {
        e.tcp_ack = ack;
    }
    let rflow = e.rflow.filter(|_| e.flags.contains(FlowFlags::RFLOW_VALID));
    let reverse = |flows: &FlowTable| {
        rflow
            .and_then(|r| flows.get(r))
            .map(|r| (r.tcp, r.tcp_seq, r.tcp_ack))
    };
    if f & tcp::RST != 0 {
        return tcp_rst(flows, index, rflow, (f, seq, ack), uncond);
    }
    if f & tcp::SYN != 0 {
        let mine = flows.get_mut(index).map_or(TcpFlags::empty(), |e| {
            e.tcp_seq = seq;
            e.tcp = e.tcp | TcpFlags::SYN;
            e.tcp
        });
        or_tcp(flows, rflow, TcpFlags::SYN_R);
        if let Some((_, r_seq, _)) = reverse(flows)
            && mine.contains(TcpFlags::SYN_R)
            && f & tcp::ACK != 0
            && ack == r_seq.wrapping_add(1)
        {
            or_tcp(flows, rflow, TcpFlags::ESTABLISHED);
            or_tcp(flows, Some(index), TcpFlags::ESTABLISHED_R);
        }
    } else if f & tcp::FIN != 0 {
        if let Some(e) = flows.get_mut(index) {
            e.tcp_seq = seq.wrapping_add(data as u32);
            e.tcp = e.tcp | TcpFlags::FIN;
        }
        or_tcp(flows, rflow, TcpFlags::FIN_R);
    }
    let mine = flows.get(index).map_or(TcpFlags::empty(), |e| e.tcp);
    let acking = mine.contains(TcpFlags::FIN_R)
        || (!mine.contains(TcpFlags::ESTABLISHED_R) && mine.contains(TcpFlags::SYN_R));
    if acking
        && f & tcp::ACK != 0
        && let Some((_, r_seq, _)) = reverse(flows)
    {
        if ack == r_seq.wrapping_add(1) && mine.contains(TcpFlags::FIN_R) {
            or_tcp(flows, rflow, TcpFlags::HALF_CLOSE);
            if mine.contains(TcpFlags::HALF_CLOSE) {
                or_tcp(flows, Some(index), TcpFlags::DEAD);
                let r = flows.get(index).and_then(|e| e.rflow);
                or_tcp(flows, r, TcpFlags::DEAD);
            }
        } else if ack != r_seq && !mine.contains(TcpFlags::ESTABLISHED_R) {
            or_tcp(flows, rflow, TcpFlags::ESTABLISHED);
            or_tcp(flows, Some(index), TcpFlags::ESTABLISHED_R);
        }
    }
    flows
        .get(index)
        .is_some_and(|e| e.tcp.contains(TcpFlags::DEAD))
}

/// A RST (`vr_flow_tcp_digest`): unless `uncond`, accepted only as RFC 5961
/// §3.2 says (in answer to a SYN, its ACK acknowledges the SYN; otherwise
/// its sequence number is the last the other side acknowledged); an
/// accepted RST makes the pair dead (`vr_flow_init_close`).
fn tcp_rst(
    flows: &mut FlowTable,
    index: u32,
    rflow: Option<u32>,
    (f, seq, ack): (u16, u32, u32),
    uncond: bool,
) -> bool {
    let reverse = rflow
        .and_then(|r| flows.get(r))
        .map(|r| (r.tcp, r.tcp_seq, r.tcp_ack));
    if !uncond && let Some((r_tcp, r_seq, r_ack)) = reverse {
        let accepted = if f & tcp::ACK != 0 && r_tcp.contains(TcpFlags::SYN) {
            ack == r_seq.wrapping_add(1)
        } else {
            seq == r_ack
        };
        if !accepted {
            return false;
        }
    }
    or_tcp(flows, Some(index), TcpFlags::RST | TcpFlags::DEAD);
    or_tcp(flows, rflow, TcpFlags::RST);
    // `vr_flow_init_close` marks the reverse flow dead by `fe_rflow`.
    let r = flows.get(index).and_then(|e| e.rflow);
    or_tcp(flows, r, TcpFlags::DEAD);
    true
}

/// Set TCP state bits on the flow at `index`, if there is one.
fn or_tcp(flows: &mut FlowTable, index: Option<u32>, bits: TcpFlags) {
    if let Some(e) = index.and_then(|i| flows.get_mut(i)) {
        e.tcp = e.tcp | bits;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use std::net::Ipv6Addr;
    use vrsim_wire::ipv6::{HEADER_LEN as IP6_LEN, Ipv6Repr};

    const A: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 3);
    const B: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9);

    /// An IPv6 packet from `src` to `dst` whose payload is `body` after
    /// next header `next`.
    fn ip6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, body: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; IP6_LEN + body.len()];
        Ipv6Repr::new(src, dst, IpProtocol::from(next), body.len())
            .emit(&mut p)
            .expect("header");
        p[IP6_LEN..].copy_from_slice(body);
        p
    }

    fn key6(r: &VRouter, packet: &[u8]) -> Option<Result<FlowKey, DropReason>> {
        let fmd = Fmd {
            ingress: TAP,
            ingress_kind: crate::vif::VifType::Virtual,
            outer_src: None,
            label: None,
            key_nh: None,
            vrf: VRF,
            flow_done: false,
            flow_index: None,
            ttl: None,
            hops: 0,
            nat_dst: None,
        };
        r.packet_flow_key(&fmd, packet, 6).transpose()
    }

    #[test]
    fn icmpv6_keys_follow_vr_inet6_proto_flow() {
        let r = node();
        // Echo: the identifier and 129, in both directions.
        let echo = ip6(A, B, 58, &[128, 0, 0, 0, 0x12, 0x34, 0, 1]);
        let k = key6(&r, &echo).expect("keyed").expect("a key");
        assert_eq!((k.proto, k.sport, k.dport), (58, 0x1234, 129));
        let reply = ip6(B, A, 58, &[129, 0, 0, 0, 0x12, 0x34, 0, 1]);
        let rk = key6(&r, &reply).expect("keyed").expect("a key");
        assert_eq!(rk, k.reversed(k.nh));
        // Other messages: 0 and the type in host order.
        let mld = ip6(A, B, 58, &[130, 0, 0, 0, 0, 0, 0, 0]);
        let k = key6(&r, &mld).expect("keyed").expect("a key");
        assert_eq!((k.sport, k.dport), (0, 130 << 8));
        // Neighbour solicitations get no flow, nor do errors quoting one; a
        // multicast destination does (`vr_inet6_flow_lookup` does not test it).
        let ns = ip6(A, B, 58, &[135, 0, 0, 0, 0, 0, 0, 0]);
        assert!(key6(&r, &ns).is_none());
        let mut err = vec![1, 3, 0, 0, 0, 0, 0, 0];
        err.extend_from_slice(&ns);
        assert!(key6(&r, &ip6(B, A, 58, &err)).is_none());
        let group = "ff02::1".parse().expect("v6");
        let mcast = ip6(A, group, 17, &[0, 1, 0, 2, 0, 8, 0, 0]);
        assert!(matches!(key6(&r, &mcast), Some(Ok(_))));
    }

    #[test]
    fn an_icmpv6_error_is_keyed_on_what_it_quotes_reversed() {
        let r = node();
        let quoted = ip6(A, B, 17, &[0x13, 0x88, 0, 53, 0, 8, 0, 0]);
        let mut body = vec![1, 4, 0, 0, 0, 0, 0, 0];
        body.extend_from_slice(&quoted[..IP6_LEN + 4]);
        let err = ip6(B, A, 58, &body);
        let k = key6(&r, &err).expect("keyed").expect("a key");
        assert_eq!(
            (k.proto, k.src, k.sport, k.dst, k.dport),
            (17, IpAddr::V6(B), 53, IpAddr::V6(A), 5000)
        );
        // An error quoting an error is an ICMP Error drop.
        let mut inner_err = vec![3, 0, 0, 0, 0, 0, 0, 0];
        inner_err.extend_from_slice(&ip6(A, B, 58, &[1, 0, 0, 0, 0, 0, 0, 0]));
        let err = ip6(B, A, 58, &inner_err);
        assert_eq!(key6(&r, &err), Some(Err(DropReason::IcmpError)));
    }

    #[test]
    fn ipv6_fragments_key_the_first_and_need_the_table_for_the_rest() {
        let r = node();
        let first = ip6(A, B, 44, &[17, 0, 0, 1, 0, 0, 0, 7, 0x13, 0x88, 0, 53]);
        let k = key6(&r, &first).expect("keyed").expect("a key");
        assert_eq!((k.proto, k.sport, k.dport), (17, 5000, 53));
        let later = ip6(A, B, 44, &[17, 0, 0, 0x11, 0, 0, 0, 7, 1, 2, 3, 4]);
        assert_eq!(key6(&r, &later), Some(Err(DropReason::NoFragEntry)));
        let cut = ip6(A, B, 44, &[17, 0, 0]);
        assert_eq!(key6(&r, &cut), Some(Err(DropReason::InvalidPacket)));
    }
}
