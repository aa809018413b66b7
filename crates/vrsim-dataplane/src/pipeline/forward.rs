//! The common forwarding core: `vr_forward` (the inet lookup and the TTL),
//! the call into flow processing (in [`super::flow`]), and `nh_output`, which
//! walks the nexthop chain: Receive, L2 Receive, Vrf_Translate, Encap,
//! Composite ECMP, and Tunnel (in [`super::encap`]).

use vrsim_wire::ethernet::{EthernetView, EthernetViewMut, HEADER_LEN as ETH_LEN};
use vrsim_wire::ipv4::Ipv4View;
use vrsim_wire::ipv6::Ipv6View;
use vrsim_wire::{EtherType, ip_version};

use super::lookup::forward_ttl;
use super::{Ctx, Disposition, Fmd, MAX_NH_CHAIN};
use crate::drop::DropReason;
use crate::flow::vr_hash;
use crate::ids::{NhId, VifId};
use crate::nexthop::{EcmpMember, EcmpWhy, NexthopConfig, NhFamily, NhFlags, NhKind, ecmp_choice};
use crate::packet::PacketBuf;
use crate::trace::{RpfExpect, Step, Tracer, TrapReason};
use crate::vif::VifType;
use crate::vrouter::VRouter;

impl VRouter {
    /// `vr_forward` on an IP packet without an Ethernet header to type it
    /// (from a label, or a VRF translation): IPv4 to
    /// [`forward4`](Self::forward4), IPv6 to [`forward6`](Self::forward6)
    /// by the version; anything else is an `Invalid Protocol` drop.
    pub(super) fn forward<T: Tracer>(
        &self,
        fmd: Fmd,
        keep_ttl: bool,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        match ip_version(buf.frame()) {
            Some(4) => self.forward4(fmd, keep_ttl, buf, cx),
            Some(6) => self.forward6(fmd, buf, cx),
            _ => Disposition::Drop(DropReason::InvalidProtocol),
        }
    }

    /// `vr_forward` for IPv4: look the destination up in the VRF, decrement
    /// the TTL unless `keep_ttl`, then `nh_output`. `buf` starts at the IP
    /// header.
    pub(super) fn forward4<T: Tracer>(
        &self,
        mut fmd: Fmd,
        keep_ttl: bool,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        let Ok(ip) = Ipv4View::new_checked(buf.frame()) else {
            return Disposition::Drop(DropReason::InvalidPacket);
        };
        let (dst, ttl, total_len) = (ip.dst(), ip.ttl(), ip.total_len());
        buf.trim_to(total_len);
        let (nh, label) = self.inet_lookup(fmd.vrf, dst, cx.trace);
        if let Some(l) = label {
            fmd.label = Some(l.value());
        }
        let gateway_nh = self.encap_oif_kind(nh) == Some(VifType::Agent);
        if !keep_ttl && !gateway_nh {
            let Some(ttl) = forward_ttl(buf.frame_mut(), ttl, cx.trace) else {
                return Disposition::Drop(DropReason::TtlExceeded);
            };
            fmd.ttl = Some(ttl);
        }
        self.nh_output(fmd, nh, true, buf, cx)
    }

    /// The type of the vif an Encap nexthop sends to (`None` for any other
    /// nexthop): the agent's for a gateway nexthop (`vr_gateway_nexthop`),
    /// a VM's for a hosted one (`vr_hosted_nexthop`).
    #[inline]
    pub(super) fn encap_oif_kind(&self, nh: NhId) -> Option<VifType> {
        match self.nh(nh)?.config.kind {
            NhKind::Encap { oif, .. } => self.vif(oif).map(|v| v.config.kind),
            _ => None,
        }
    }

    /// The reverse-path rule of a flow's source nexthop (`nh_validate_src`:
    /// `nh_encap_validate_src`, `nh_gre_tunnel_validate_src`,
    /// `nh_composite_ecmp_validate_src`). Composites recurse into their
    /// members, as deep as the nexthop chain may go.
    pub(super) fn rpf_rule(&self, fmd: &Fmd, kind: &NhKind, depth: u8) -> (RpfExpect, bool) {
        match kind {
            NhKind::Encap { oif, .. } => (
                RpfExpect::Vif(*oif),
                fmd.ingress == *oif && !fmd.on_fabric(),
            ),
            NhKind::Tunnel { dip, .. } | NhKind::UdpTunnel { dip, .. } => {
                (RpfExpect::TunnelEndpoint(*dip), fmd.outer_src == Some(*dip))
            }
            NhKind::Composite { members } => {
                let any = depth < MAX_NH_CHAIN
                    && members.iter().filter_map(|m| m.nh).any(|m| {
                        self.nh(m)
                            .is_some_and(|n| self.rpf_rule(fmd, &n.config.kind, depth + 1).1)
                    });
                (RpfExpect::AnyEcmpMember, any)
            }
            _ => (RpfExpect::NoCheck, true),
        }
    }

    /// `nh_output`: follow nexthop `id`. `l3` says whether `buf` starts at
    /// the IP header (true) or at an Ethernet header (false).
    pub(super) fn nh_output<T: Tracer>(
        &self,
        mut fmd: Fmd,
        id: NhId,
        l3: bool,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        fmd.hops += 1;
        if fmd.hops > MAX_NH_CHAIN {
            return Disposition::Drop(DropReason::PacketLoop);
        }
        let Some(nh) = self.nh(id) else {
            return Disposition::Drop(DropReason::InvalidNh);
        };
        let c = &nh.config;
        cx.trace.step(Step::Nexthop {
            nh: id,
            kind: c.kind.type_name(),
        });
        // A TTL that reached 0 is the agent's to answer (`AGENT_TRAP_ZERO_TTL`).
        if fmd.ttl == Some(0) {
            return self.trap_to_agent(TrapReason::ZeroTtl, cx.trace);
        }
        if !c.flags.contains(NhFlags::VALID) {
            return Disposition::Drop(DropReason::InvalidNh);
        }
        if let Some(d) = self.flow_gate(&mut fmd, c, l3, buf, cx) {
            return d;
        }
        match &c.kind {
            NhKind::Discard => Disposition::Drop(DropReason::Discard),
            NhKind::Receive { oif } => Disposition::ToHost { vif: *oif },
            NhKind::L2Receive => self.l2_receive(fmd, l3, buf, cx),
            NhKind::VrfTranslate { vrf } => {
                fmd.vrf = *vrf;
                cx.trace.step(Step::VrfTranslate { nh: id, vrf: *vrf });
                // Today's vRouter decides by family alone; the 2017 release the
                // seed document shows bridged when the Vxlan flag (then
                // NH_FLAG_VNID) was set, as on its AF_INET VXLAN nexthops.
                let bridge =
                    c.family == NhFamily::Bridge || c.flags.contains(NhFlags::TUNNEL_VXLAN);
                match (bridge, l3) {
                    (true, false) => self.bridge_input(fmd, buf, cx),
                    (false, true) => self.forward(fmd, true, buf, cx),
                    // An Ethernet frame handed to the inet lookup, or an IP packet to the bridge.
                    _ => Disposition::Drop(DropReason::InvalidProtocol),
                }
            }
            NhKind::Encap { oif, rewrite, .. } => {
                self.encap_output(*oif, rewrite, c.family, l3, buf, cx.trace)
            }
            kind @ NhKind::Tunnel { .. } => self.tunnel_output(&fmd, kind, l3, buf, cx),
            NhKind::UdpTunnel {
                sip,
                dip,
                sport,
                dport,
            } => self.udp_tunnel_output(fmd, (*sip, *dip), (*sport, *dport), l3, buf, cx),
            NhKind::Composite { members } => {
                let Some(member) = self.ecmp_member(&fmd, id, members, l3, buf.frame(), cx) else {
                    return Disposition::Drop(DropReason::InvalidNh);
                };
                let Some(nh) = member.nh else {
                    return Disposition::Drop(DropReason::InvalidNh);
                };
                if let Some(l) = member.label {
                    fmd.label = Some(l.value());
                }
                self.nh_output(fmd, nh, l3, buf, cx)
            }
        }
    }

    /// `nh_l2_rcv`: a frame to the vRouter's MAC goes to `vr_l3_input` as
    /// its EtherType types it (IPv6 after `vr_neighbor_input`); anything
    /// else goes to the host.
    fn l2_receive<T: Tracer>(
        &self,
        fmd: Fmd,
        l3: bool,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        if l3 {
            return self.forward(fmd, false, buf, cx);
        }
        match EthernetView::new_checked(buf.frame()).map(|e| e.ethertype()) {
            Ok(EtherType::Ipv4) => {
                buf.pull(ETH_LEN);
                self.forward4(fmd, false, buf, cx)
            }
            Ok(EtherType::Ipv6) => {
                // A VM's unicast solicitation to the vRouter's MAC. (From
                // the fabric, `vr_get_proxy_mac`'s overlay rules would
                // apply; vrsim routes such a frame.)
                if fmd.ingress_kind.is_virtual()
                    && let Some(d) = self.vm_neighbor_input(fmd, buf, cx)
                {
                    return d;
                }
                buf.pull(ETH_LEN);
                self.forward6(fmd, buf, cx)
            }
            _ => self.to_host(),
        }
    }

    /// Flow processing for IP, routed or bridged (`vr_flow_forward`), once
    /// per packet: `Some` when the packet is held or dropped there.
    #[inline(always)]
    fn flow_gate<T: Tracer>(
        &self,
        fmd: &mut Fmd,
        c: &NexthopConfig,
        l3: bool,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Option<Disposition> {
        if fmd.flow_done {
            return None;
        }
        let forced = self.flow_wanted(fmd, c)?;
        fmd.flow_done = true;
        let (at, version) = ip_offset(l3, buf.frame())?;
        // A packet that came by label skips routing: show the route its flow takes.
        if T::ENABLED
            && fmd.on_fabric()
            && let Some(dst) = ip_dst(buf.frame().get(at..).unwrap_or_default(), version)
        {
            self.ip_lookup(fmd.vrf, dst, cx.trace);
        }
        let bypass = forced
            && (c.flags.contains(NhFlags::RELAXED_POLICY)
                || c.flags.contains(NhFlags::FLOW_LOOKUP));
        if let Some(d) = self.flow_stage(fmd, bypass, (at, version), buf, cx) {
            return Some(d);
        }
        // After a NAT flow with VRF translation, a nexthop of another VRF is
        // left for the new destination's route in the destination VRF
        // (`vr_inet_flow_nat`, then `nh_output`: `if (nh != pkt->vp_nh)`).
        let dst = fmd.nat_dst.take()?;
        // A bridged frame keeps its nexthop: an inet lookup would need the
        // IP header, which it is not at.
        if c.vrf == fmd.vrf || !l3 {
            return None;
        }
        let (nh, label) = self.ip_lookup(fmd.vrf, dst, cx.trace);
        if nh == c.id {
            return None;
        }
        fmd.label = label.map(|l| l.value());
        Some(self.nh_output(*fmd, nh, l3, buf, cx))
    }

    /// An Encap nexthop (`nh_encap_l3_unicast`, `nh_encap_l2_unicast`): an
    /// IP packet (or a frame through an inet nexthop) gets the nexthop's
    /// Ethernet rewrite with the packet's own EtherType; a bridged frame
    /// leaves as it is. The vRouter checks no MTU towards a tap.
    #[inline(always)]
    fn encap_output<T: Tracer>(
        &self,
        oif: VifId,
        rewrite: &[u8; ETH_LEN],
        family: NhFamily,
        l3: bool,
        buf: &mut PacketBuf,
        trace: &mut T,
    ) -> Disposition {
        if self.vif(oif).is_none() {
            return Disposition::Drop(DropReason::InvalidIf);
        }
        if l3 || family != NhFamily::Bridge {
            if !l3 {
                buf.pull(ETH_LEN);
            }
            let v6 = ip_version(buf.frame()) == Some(6);
            let Some(Ok(mut eth)) = buf.push(ETH_LEN).map(EthernetViewMut::new_checked) else {
                return Disposition::Drop(DropReason::Push);
            };
            eth.set_header(rewrite);
            eth.set_ethertype(if v6 { EtherType::Ipv6 } else { EtherType::Ipv4 });
            if T::ENABLED
                && let Ok(r) = EthernetView::new_checked(rewrite)
            {
                trace.step(Step::Rewrite {
                    dst: r.dst(),
                    src: r.src(),
                });
            }
        }
        Disposition::Transmit { vif: oif }
    }
}

/// Where the IP header of `frame` starts and the IP version it is handled
/// as (`l3`: at 0, by its version; else after an Ethernet header, by the
/// EtherType, as `vr_pkt_type` types a frame); `None` for anything else.
fn ip_offset(l3: bool, frame: &[u8]) -> Option<(usize, u8)> {
    if l3 {
        return ip_version(frame)
            .filter(|v| matches!(v, 4 | 6))
            .map(|v| (0, v));
    }
    match EthernetView::new_checked(frame).ok()?.ethertype() {
        EtherType::Ipv4 => Some((ETH_LEN, 4)),
        EtherType::Ipv6 => Some((ETH_LEN, 6)),
        _ => None,
    }
}

/// The destination address of `ip`, read as an IP packet of `version`.
fn ip_dst(ip: &[u8], version: u8) -> Option<std::net::IpAddr> {
    match Some(version) {
        Some(4) => Ipv4View::new_checked(ip).ok().map(|v| v.dst().into()),
        Some(6) => Ipv6View::new_checked(ip).ok().map(|v| v.dst().into()),
        _ => None,
    }
}

impl VRouter {
    /// A Composite ECMP nexthop's member for this packet
    /// (`nh_composite_ecmp`, `nh_composite_ecmp_select_nh`): the one its
    /// flow is pinned to while that slot holds a member, else the slot the
    /// vRouter's hash of the flow key picks ([`ecmp_slot`]), pinned in the
    /// flow when there is one; recorded as an `Ecmp` step. Without a flow
    /// the key is built from the packet as the flow's would be; a frame
    /// that is not IPv4 hashes its Ethernet header. `None` when no slot
    /// holds a member.
    fn ecmp_member<'m, T: Tracer>(
        &self,
        fmd: &Fmd,
        id: NhId,
        members: &'m [EcmpMember],
        l3: bool,
        frame: &[u8],
        cx: &mut Ctx<'_, T>,
    ) -> Option<&'m EcmpMember> {
        let present = |i: usize| members.get(i).is_some_and(|m| m.nh.is_some());
        let flow = fmd.flow_index.and_then(|i| cx.flows.get_mut(i));
        let (index, why) = match flow {
            Some(e) => match e.ecmp_index.map(usize::from) {
                Some(i) if present(i) => (i, EcmpWhy::Pinned),
                _ => {
                    let (i, why) = ecmp_choice(members, e.key.hash())?;
                    e.ecmp_index = u8::try_from(i).ok();
                    (i, why)
                }
            },
            None => {
                let key = ip_offset(l3, frame)
                    .and_then(|(at, v)| self.packet_flow_key(fmd, frame.get(at..)?, v).ok()?);
                let hash = match key {
                    Some(k) => k.hash(),
                    None => vr_hash(frame.get(..ETH_LEN).unwrap_or(frame), 0),
                };
                ecmp_choice(members, hash)?
            }
        };
        let member = members.get(index)?;
        cx.trace.step(Step::Ecmp {
            nh: id,
            index,
            member: member.nh?,
            why,
        });
        Some(member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nexthop::{NexthopConfig, NhFamily, NhFlags};
    use crate::testing::*;
    use smallvec::smallvec;
    use vrsim_wire::MplsLabel;

    #[test]
    fn a_vm_packet_is_routed_with_its_ttl_decremented_and_rpf_passing() {
        let mut r = node();
        let (d, _, steps) = run_with_agent(&mut r, TAP, &from_vm(echo(VM_IP, REMOTE_IP, 64)));
        assert_eq!(d, Disposition::Transmit { vif: FABRIC });
        assert!(
            steps
                .iter()
                .any(|s| matches!(s, Step::Ttl { from: 64, to: 63 }))
        );
        assert!(steps.iter().any(
            |s| matches!(s, Step::FlowRpf { pass: true, expect: RpfExpect::Vif(v), .. } if *v == TAP)
        ));
    }

    #[test]
    fn a_spoofed_source_fails_rpf_as_invalid_source() {
        let mut r = node();
        let spoofed = std::net::Ipv4Addr::new(198, 51, 100, 7);
        let (d, _, steps) = run_with_agent(&mut r, TAP, &from_vm(echo(spoofed, REMOTE_IP, 64)));
        assert_eq!(d, Disposition::Drop(DropReason::InvalidSource));
        assert!(
            steps
                .iter()
                .any(|s| matches!(s, Step::FlowRpf { pass: false, .. }))
        );
    }

    #[test]
    fn with_rpf_off_the_spoofed_source_passes() {
        let mut r = node();
        r.set_rpf(VRF, false);
        let spoofed = std::net::Ipv4Addr::new(198, 51, 100, 7);
        let (d, _, _) = run_with_agent(&mut r, TAP, &from_vm(echo(spoofed, REMOTE_IP, 64)));
        assert_eq!(d, Disposition::Transmit { vif: FABRIC });
    }

    #[test]
    fn a_ttl_that_reaches_zero_is_trapped_to_the_agent() {
        let mut r = node();
        let (d, _, steps) = run_with_agent(&mut r, TAP, &from_vm(echo(VM_IP, REMOTE_IP, 1)));
        assert_eq!(d, Disposition::ToHost { vif: AGENT });
        assert!(steps.iter().any(|s| matches!(
            s,
            Step::Trap {
                reason: TrapReason::ZeroTtl
            }
        )));
    }

    #[test]
    fn a_ttl_of_zero_is_a_ttl_exceeded_drop() {
        let mut r = node();
        let (d, _, _) = run_with_agent(&mut r, TAP, &from_vm(echo(VM_IP, REMOTE_IP, 0)));
        assert_eq!(d, Disposition::Drop(DropReason::TtlExceeded));
    }

    #[test]
    fn the_encap_rewrite_keeps_the_packet_ethertype() {
        let mut r = node();
        let frame = from_gateway(LABEL_IN, 64, echo(REMOTE_IP, VM_IP, 63));
        let (_, out, steps) = run_with_agent(&mut r, FABRIC, &frame);
        let eth = EthernetView::new_checked(&out).expect("ethernet");
        assert_eq!(
            (eth.dst(), eth.src(), eth.ethertype()),
            (VM_MAC, VROUTER_MAC, EtherType::Ipv4)
        );
        assert!(
            steps
                .iter()
                .any(|s| matches!(s, Step::Rewrite { dst, .. } if *dst == VM_MAC))
        );
    }

    /// Route 198.18.0.0/15 in the VM's VRF through nh `id`; an address in it.
    fn route_via(r: &mut crate::VRouter, id: u32) -> std::net::Ipv4Addr {
        let route = crate::route::Route {
            nh: nh(id),
            label: None,
            flags: crate::route::RouteFlags::empty(),
            stitched_mac: None,
        };
        r.add_route4(VRF, "198.18.0.0/15".parse().expect("prefix"), route)
            .expect("route");
        std::net::Ipv4Addr::new(198, 18, 0, 1)
    }

    /// An empty slot takes no traffic: each flow's packets go to a member
    /// present, `nh --get` prints the slot as -1, and with no member present
    /// the packet is dropped as Invalid NH (`nh_composite_ecmp`).
    #[test]
    fn a_composite_skips_its_empty_slots() {
        let mut r = node();
        let slot = |id: Option<u32>| crate::nexthop::EcmpMember {
            nh: id.map(nh),
            label: MplsLabel::new(16),
        };
        let composite = |members| NexthopConfig {
            id: nh(30),
            kind: NhKind::Composite { members },
            family: NhFamily::Inet,
            flags: NhFlags::VALID,
            vrf: VRF,
        };
        r.add_nh(composite(smallvec![slot(None), slot(Some(20)), slot(None)]))
            .expect("composite");
        let dump = crate::dump::nh_get(&r, nh(30)).expect("nh 30");
        assert!(
            dump.contains("Sub NH(label): -1(16) 20(16) -1(16)"),
            "{dump}"
        );
        let dst = route_via(&mut r, 30);
        for port in 0..8u8 {
            let frame = from_vm(echo(VM_IP, dst, 64 + port));
            let (d, _, steps) = run_with_agent(&mut r, TAP, &frame);
            assert!(!matches!(d, Disposition::Drop(_)), "{d:?}");
            let took = steps.iter().find_map(|s| match s {
                Step::Ecmp { index, member, .. } => Some((*index, *member)),
                _ => None,
            });
            assert_eq!(took, Some((1, nh(20))));
        }
        r.add_nh(composite(smallvec![slot(None), slot(None)]))
            .expect("composite");
        let (d, _, _) = run_with_agent(&mut r, TAP, &from_vm(echo(VM_IP, dst, 99)));
        assert_eq!(d, Disposition::Drop(DropReason::InvalidNh));
    }

    #[test]
    fn a_composite_keeps_each_flow_on_one_member() {
        let mut r = node();
        let members = smallvec![
            crate::nexthop::EcmpMember {
                nh: Some(nh(20)),
                label: MplsLabel::new(16)
            },
            crate::nexthop::EcmpMember {
                nh: Some(nh(20)),
                label: MplsLabel::new(17)
            },
        ];
        r.add_nh(NexthopConfig {
            id: nh(30),
            kind: NhKind::Composite { members },
            family: NhFamily::Inet,
            flags: NhFlags::VALID,
            vrf: VRF,
        })
        .expect("composite");
        let dst = route_via(&mut r, 30);
        let (_, first, steps) = run_with_agent(&mut r, TAP, &from_vm(echo(VM_IP, dst, 64)));
        let (_, again, _) = run_with_agent(&mut r, TAP, &from_vm(echo(VM_IP, dst, 64)));
        assert!(steps.iter().any(|s| matches!(s, Step::Ecmp { .. })));
        // The same flow takes the same member, so the same label (the IP IDs differ only per packet).
        let label_at = 14 + 20 + 4;
        assert_eq!(first[label_at..label_at + 3], again[label_at..label_at + 3]);
    }

    #[test]
    fn a_nexthop_chain_that_loops_is_a_packet_loop_drop() {
        let mut r = node();
        r.add_nh(NexthopConfig {
            id: nh(40),
            kind: NhKind::VrfTranslate { vrf: VRF },
            family: NhFamily::Inet,
            flags: NhFlags::VALID,
            vrf: VRF,
        })
        .expect("translate");
        let dst = route_via(&mut r, 40);
        let (d, _, _) = run_with_agent(&mut r, TAP, &from_vm(echo(VM_IP, dst, 64)));
        assert_eq!(d, Disposition::Drop(DropReason::PacketLoop));
    }
}
