//! The common forwarding core: `vr_forward` (the inet lookup and the TTL),
//! flow processing with RPF (`vr_flow_forward`: vrsim applies RPF as the
//! agent's flows would, without a flow table yet), and `nh_output`, which
//! walks the nexthop chain: Receive, L2 Receive, Vrf_Translate, Encap,
//! Composite ECMP, and Tunnel (in [`super::encap`]).

use std::net::IpAddr;

use vrsim_wire::ethernet::{EthernetView, EthernetViewMut, HEADER_LEN as ETH_LEN};
use vrsim_wire::ipv4::Ipv4View;
use vrsim_wire::{EtherType, ip_version};

use super::lookup::{flow_hash, forward_ttl, traced_prefix};
use super::{Ctx, Disposition, Fmd, MAX_NH_CHAIN};
use crate::drop::DropReason;
use crate::ids::{NhId, VifId};
use crate::nexthop::{EcmpMember, NexthopConfig, NhFamily, NhFlags, NhKind};
use crate::packet::PacketBuf;
use crate::trace::{RpfExpect, Step, Tracer, TrapReason};
use crate::vif::{VifFlags, VifType};
use crate::vrouter::VRouter;

impl VRouter {
    /// `vr_forward`: look the destination up in the VRF, decrement the TTL
    /// unless `keep_ttl`, then `nh_output`. `buf` starts at the IP header.
    fn forward<T: Tracer>(
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
        let gateway_nh = matches!(
            self.nh(nh).map(|n| &n.config.kind),
            Some(NhKind::Encap { oif, .. }) if self.vif(*oif).is_some_and(|v| v.config.kind == VifType::Agent)
        );
        if !keep_ttl && !gateway_nh {
            let Some(ttl) = forward_ttl(buf.frame_mut(), ttl, cx.trace) else {
                return Disposition::Drop(DropReason::TtlExceeded);
            };
            fmd.ttl = Some(ttl);
        }
        self.nh_output(fmd, nh, true, buf, cx)
    }

    /// RPF on the packet's source (the agent's reverse-path flows, `vr_flow_forward`): `None` when it passes.
    fn rpf<T: Tracer>(&self, fmd: &Fmd, ip: &[u8], trace: &mut T) -> Option<DropReason> {
        if !self.vrfs.get(fmd.vrf.index()).is_none_or(|v| v.rpf) {
            return None;
        }
        let src = Ipv4View::new_checked(ip).ok()?.src();
        let (nh, matched, _) = self.route4(fmd.vrf, src);
        let (expect, pass) = match (matched, self.nh(nh).map(|n| &n.config.kind)) {
            (None, _) => (RpfExpect::NoSourceRoute, false),
            (Some(_), Some(kind)) => self.rpf_rule(fmd, kind, 0),
            (Some(_), None) => (RpfExpect::NoCheck, true),
        };
        trace.step(Step::Rpf {
            vrf: fmd.vrf,
            src: IpAddr::V4(src),
            matched: traced_prefix::<T>(src, matched),
            nh,
            expect,
            pass,
        });
        match (pass, expect) {
            (true, _) => None,
            // The agent makes a short flow (`NoSrcRt`): the vRouter drops by flow action.
            (false, RpfExpect::NoSourceRoute) => Some(DropReason::FlowActionDrop),
            (false, _) => Some(DropReason::InvalidSource),
        }
    }

    /// The RPF rule of a source nexthop (the agent's reverse-path flows, `vr_flow_forward`). Composites recurse
    /// into their members, as deep as the nexthop chain may go.
    fn rpf_rule(&self, fmd: &Fmd, kind: &NhKind, depth: u8) -> (RpfExpect, bool) {
        match kind {
            NhKind::Encap { oif, .. } => (
                RpfExpect::Vif(*oif),
                fmd.ingress == *oif && !fmd.from_fabric,
            ),
            NhKind::Tunnel { dip, .. } => {
                (RpfExpect::TunnelEndpoint(*dip), fmd.outer_src == Some(*dip))
            }
            NhKind::Composite { members } => {
                let any = depth < MAX_NH_CHAIN
                    && members.iter().any(|m| {
                        self.nh(m.nh)
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
        // Flow processing (and so RPF) for IPv4, routed or bridged
        // (`vr_flow_forward`), once per packet.
        if !fmd.flow_done
            && let Some(at) = self.flow_ip_offset(&fmd, c, l3, buf.frame())
        {
            fmd.flow_done = true;
            let ip = buf.frame().get(at..).unwrap_or_default();
            if let Some(reason) = self.flow_rpf(&fmd, ip, cx.trace) {
                return Disposition::Drop(reason);
            }
        }
        match &c.kind {
            NhKind::Discard => Disposition::Drop(DropReason::Discard),
            NhKind::Receive { oif } => Disposition::ToHost { vif: *oif },
            NhKind::L2Receive => {
                if !l3 {
                    let is_ip = EthernetView::new_checked(buf.frame())
                        .is_ok_and(|e| e.ethertype() == EtherType::Ipv4);
                    if !is_ip {
                        return self.to_host();
                    }
                    buf.pull(ETH_LEN);
                }
                self.forward(fmd, false, buf, cx)
            }
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
            NhKind::Composite { members } => {
                let Some(member) = ecmp_member(id, members, l3, buf.frame(), cx.trace) else {
                    return Disposition::Drop(DropReason::InvalidNh);
                };
                if let Some(l) = member.label {
                    fmd.label = Some(l.value());
                }
                self.nh_output(fmd, member.nh, l3, buf, cx)
            }
        }
    }

    /// Whether the packet goes through flow processing, and where its IPv4
    /// header is if so: when the nexthop has the Policy or FlowLookup flag or
    /// the packet entered on a vif with Policy, and it is IPv4 (`frame`
    /// starts where `l3` says).
    #[inline(always)]
    fn flow_ip_offset(
        &self,
        fmd: &Fmd,
        c: &NexthopConfig,
        l3: bool,
        frame: &[u8],
    ) -> Option<usize> {
        let policy = c.flags.contains(NhFlags::POLICY) || c.flags.contains(NhFlags::FLOW_LOOKUP);
        let flow = policy
            || self
                .vif(fmd.ingress)
                .is_some_and(|v| v.config.flags.contains(VifFlags::POLICY));
        match (flow, l3) {
            (false, _) => None,
            (true, true) => Some(0),
            (true, false) => EthernetView::new_checked(frame)
                .is_ok_and(|e| e.ethertype() == EtherType::Ipv4)
                .then_some(ETH_LEN),
        }
    }

    /// The flow stage's checks on an IPv4 packet (`ip`): RPF, the drop reason if it fails.
    #[inline(always)]
    fn flow_rpf<T: Tracer>(&self, fmd: &Fmd, ip: &[u8], trace: &mut T) -> Option<DropReason> {
        // A packet that came by label skips routing: show the route its flow takes.
        if T::ENABLED
            && fmd.from_fabric
            && let Ok(v) = Ipv4View::new_checked(ip)
        {
            self.inet_lookup(fmd.vrf, v.dst(), trace);
        }
        self.rpf(fmd, ip, trace)
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

/// A Composite ECMP nexthop's member for this packet: the one its flow hash
/// picks (`nh_composite_ecmp`), recorded as an `Ecmp` step.
fn ecmp_member<'m, T: Tracer>(
    id: NhId,
    members: &'m [EcmpMember],
    l3: bool,
    frame: &[u8],
    trace: &mut T,
) -> Option<&'m EcmpMember> {
    let index = flow_hash(frame, l3) as usize % members.len().max(1);
    let member = members.get(index)?;
    trace.step(Step::Ecmp {
        nh: id,
        index,
        member: member.nh,
    });
    Some(member)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nexthop::{NhFamily, NhFlags};
    use crate::testing::*;
    use smallvec::smallvec;
    use vrsim_wire::MplsLabel;

    #[test]
    fn a_vm_packet_is_routed_with_its_ttl_decremented_and_rpf_passing() {
        let mut r = node();
        let (d, _, steps) = run(&mut r, TAP, &from_vm(echo(VM_IP, REMOTE_IP, 64)));
        assert_eq!(d, Disposition::Transmit { vif: FABRIC });
        assert!(
            steps
                .iter()
                .any(|s| matches!(s, Step::Ttl { from: 64, to: 63 }))
        );
        assert!(steps.iter().any(
            |s| matches!(s, Step::Rpf { pass: true, expect: RpfExpect::Vif(v), .. } if *v == TAP)
        ));
    }

    #[test]
    fn a_spoofed_source_fails_rpf_as_invalid_source() {
        let mut r = node();
        let spoofed = std::net::Ipv4Addr::new(198, 51, 100, 7);
        let (d, _, steps) = run(&mut r, TAP, &from_vm(echo(spoofed, REMOTE_IP, 64)));
        assert_eq!(d, Disposition::Drop(DropReason::InvalidSource));
        assert!(
            steps
                .iter()
                .any(|s| matches!(s, Step::Rpf { pass: false, .. }))
        );
    }

    #[test]
    fn with_rpf_off_the_spoofed_source_passes() {
        let mut r = node();
        r.set_rpf(VRF, false);
        let spoofed = std::net::Ipv4Addr::new(198, 51, 100, 7);
        let (d, _, _) = run(&mut r, TAP, &from_vm(echo(spoofed, REMOTE_IP, 64)));
        assert_eq!(d, Disposition::Transmit { vif: FABRIC });
    }

    #[test]
    fn a_ttl_that_reaches_zero_is_trapped_to_the_agent() {
        let mut r = node();
        let (d, _, steps) = run(&mut r, TAP, &from_vm(echo(VM_IP, REMOTE_IP, 1)));
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
        let (d, _, _) = run(&mut r, TAP, &from_vm(echo(VM_IP, REMOTE_IP, 0)));
        assert_eq!(d, Disposition::Drop(DropReason::TtlExceeded));
    }

    #[test]
    fn the_encap_rewrite_keeps_the_packet_ethertype() {
        let mut r = node();
        let frame = from_gateway(LABEL_IN, 64, echo(REMOTE_IP, VM_IP, 63));
        let (_, out, steps) = run(&mut r, FABRIC, &frame);
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

    #[test]
    fn a_composite_keeps_each_flow_on_one_member() {
        let mut r = node();
        let members = smallvec![
            crate::nexthop::EcmpMember {
                nh: nh(20),
                label: MplsLabel::new(16)
            },
            crate::nexthop::EcmpMember {
                nh: nh(20),
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
        let (_, first, steps) = run(&mut r, TAP, &from_vm(echo(VM_IP, dst, 64)));
        let (_, again, _) = run(&mut r, TAP, &from_vm(echo(VM_IP, dst, 64)));
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
        let (d, _, _) = run(&mut r, TAP, &from_vm(echo(VM_IP, dst, 64)));
        assert_eq!(d, Disposition::Drop(DropReason::PacketLoop));
    }
}
