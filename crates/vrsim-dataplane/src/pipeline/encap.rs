//! Tunnel nexthop output: push MPLS/GRE, MPLS/UDP or VXLAN/UDP, the outer
//! IPv4 header and the nexthop's Ethernet rewrite (`nh_gre_tunnel`,
//! `nh_mpls_udp_tunnel`, `nh_vxlan_tunnel`).
//!
//! What the vRouter puts in the outer headers: IPv4 TTL 64, DF clear, TOS 0;
//! the IPv4 ID copied from the inner IPv4 packet for GRE, from a per-router
//! counter otherwise; GRE flags 0; UDP checksum 0 and a source port hashed
//! from the flow into 49152–65535; the label's TTL is the packet's TTL after
//! the vRouter's decrement (64 when there is none); the Ethernet rewrite is
//! copied as the nexthop holds it.

use std::net::Ipv4Addr;

use vrsim_wire::ethernet::{EthernetView, EthernetViewMut, HEADER_LEN as ETH_LEN};
use vrsim_wire::gre::GreRepr;
use vrsim_wire::ipv4::{Ipv4Repr, Ipv4ViewMut};
use vrsim_wire::mpls::{ENTRY_LEN, MplsEntry};
use vrsim_wire::udp::{HEADER_LEN as UDP_LEN, UdpRepr};
use vrsim_wire::vxlan::{HEADER_LEN as VXLAN_LEN, VxlanRepr};
use vrsim_wire::{EtherType, IpPair, IpProtocol, MplsLabel, UDP_PORT_MPLS, UDP_PORT_VXLAN, Vni};

use super::lookup::flow_hash;
use super::{Ctx, Disposition, Fmd};
use crate::drop::DropReason;
use crate::nexthop::{NhKind, TunnelEncap};
use crate::packet::PacketBuf;
use crate::trace::{Step, Tracer, TrapReason};
use crate::vrouter::VRouter;

/// The TTL of outer IPv4 headers, and of labels on packets without a TTL.
const TUNNEL_TTL: u8 = 64;
/// The length of the plain GRE header the vRouter pushes (`nh_gre_tunnel`).
const GRE_LEN: usize = 4;
/// The UDP source-port range the vRouter hashes flows into (49152–65535).
const SPORT_BASE: u16 = 49152;

impl VRouter {
    /// Push the tunnel of a Tunnel nexthop (`kind`).
    pub(super) fn tunnel_output<T: Tracer>(
        &self,
        fmd: &Fmd,
        kind: &NhKind,
        l3: bool,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        let NhKind::Tunnel {
            encap,
            oif,
            rewrite,
            sip,
            dip,
        } = kind
        else {
            return Disposition::Drop(DropReason::InvalidNh);
        };
        let Some(out_vif) = self.vif(*oif) else {
            return Disposition::Drop(DropReason::InvalidIf);
        };
        let Some(label) = fmd.label else {
            return Disposition::Drop(DropReason::InvalidLabel);
        };
        let inner = inner_ipv4(buf, l3);
        // `vr_ip_dont_fragment_set`: IPv4 with DF, and every IPv6 packet
        // (routers never fragment IPv6, RFC 8200 §5).
        let inner_df = match inner {
            Some((df, _)) => df,
            None => inner_is_ipv6(buf, l3),
        };
        let ident = match (encap, inner) {
            (TunnelEncap::MplsOverGre, Some((_, id))) => id,
            _ => next_ip_id(&mut cx.ip_id),
        };
        let inner_len = buf.len();
        let (tunnel_len, proto) = match encap {
            TunnelEncap::MplsOverGre => (GRE_LEN + ENTRY_LEN, IpProtocol::Gre),
            TunnelEncap::MplsOverUdp => (UDP_LEN + ENTRY_LEN, IpProtocol::Udp),
            // A routed packet goes into VXLAN as it is, with no inner
            // Ethernet header (`nh_vxlan_tunnel` without `NH_FLAG_L3_VXLAN`,
            // whose inner MAC rewrite vrsim does not model).
            TunnelEncap::Vxlan => (UDP_LEN + VXLAN_LEN, IpProtocol::Udp),
        };
        let outer = Ipv4Repr {
            ttl: TUNNEL_TTL,
            ident,
            ..Ipv4Repr::new(*sip, *dip, proto, tunnel_len + inner_len)
        };
        let head_len = ETH_LEN + outer.buffer_len() + tunnel_len;
        // Too big for the fabric vif's MTU (plus its Ethernet header) with DF
        // set: the vRouter traps the packet to the agent (`AGENT_TRAP_HANDLE_DF`);
        // without DF it is sent as it is.
        let mtu = usize::from(out_vif.config.mtu);
        if inner_df && head_len + inner_len > mtu.saturating_add(ETH_LEN) {
            return self.trap_to_agent(TrapReason::HandleDf, cx.trace);
        }
        let Some(head) = buf.push(head_len) else {
            return Disposition::Drop(DropReason::Push);
        };
        let Ok(mut eth) = EthernetViewMut::new_checked(head) else {
            return Disposition::Drop(DropReason::Push);
        };
        eth.set_header(rewrite);
        let frame = buf.frame_mut();
        let (ip_head, tunnel) = frame.split_at_mut(ETH_LEN + outer.buffer_len());
        // A fresh label takes the packet's TTL after the vRouter's decrement (64 without one).
        let label_ttl = fmd.ttl.filter(|t| *t != 0).unwrap_or(TUNNEL_TTL);
        let ends = (*sip, *dip);
        let pushed = push_tunnel(*encap, tunnel, tunnel_len, ends, label, label_ttl, l3);
        if !pushed || outer.emit(&mut ip_head[ETH_LEN..]).is_err() {
            return Disposition::Drop(DropReason::Push);
        }
        cx.trace.step(Step::Push {
            encap: *encap,
            label,
            sip: *sip,
            dip: *dip,
        });
        Disposition::Transmit { vif: *oif }
    }
}

/// Write the tunnel header and its label or VNID at the start of `tunnel`,
/// whose bytes after the first `tunnel_len` hold the inner packet (from the
/// IP header when `l3`). `false` when the label does not fit its field.
impl VRouter {
    /// A plain UDP tunnel (`nh_udp_tunnel`): UDP (source port the packet's
    /// flow hash, or the nexthop's without a key; its checksum completed, as
    /// the partial checksum the vRouter leaves is) and IPv4 (the counter's
    /// ID, TTL 64) pushed in front of the packet, which `vr_forward` then
    /// routes on the outer destination in the same VRF.
    pub(super) fn udp_tunnel_output<T: Tracer>(
        &self,
        fmd: Fmd,
        (sip, dip): (Ipv4Addr, Ipv4Addr),
        (nh_sport, dport): (u16, u16),
        l3: bool,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        let hash = flow_hash(buf.frame(), l3);
        let sport = if hash == 0 { nh_sport } else { sport(hash) };
        let inner_len = buf.len();
        let outer = Ipv4Repr {
            ttl: TUNNEL_TTL,
            ident: next_ip_id(&mut cx.ip_id),
            ..Ipv4Repr::new(sip, dip, IpProtocol::Udp, UDP_LEN + inner_len)
        };
        let head_len = outer.buffer_len() + UDP_LEN;
        if buf.push(head_len).is_none() {
            return Disposition::Drop(DropReason::Push);
        }
        let (ip_head, rest) = buf.frame_mut().split_at_mut(outer.buffer_len());
        let udp = UdpRepr::new(sport, dport, inner_len);
        let ends = IpPair::V4 { src: sip, dst: dip };
        if outer.emit(ip_head).is_err() || udp.emit(rest, &ends).is_err() {
            return Disposition::Drop(DropReason::Push);
        }
        cx.trace.step(Step::PushUdp {
            sip,
            dip,
            sport,
            dport,
        });
        let fmd = Fmd {
            flow_done: true,
            ..fmd
        };
        self.forward(fmd, false, buf, cx)
    }
}

/// The inner IPv4 header's DF flag and ID, if the packet is IPv4. The
/// pipeline checked the header before routing it; the fixed header's view is
/// enough here (the full `Ipv4View` check would cost 1.3% more per packet).
/// A bridged frame carrying IPv4 is still of IP type to the vRouter
/// (`vr_pkt_type`), so GRE copies its ID too.
fn inner_ipv4(buf: &mut PacketBuf, l3: bool) -> Option<(bool, u16)> {
    let at = if l3 {
        0
    } else {
        EthernetView::new_checked(buf.frame())
            .ok()
            .filter(|e| e.ethertype() == EtherType::Ipv4)
            .map(|_| ETH_LEN)?
    };
    Ipv4ViewMut::new_checked(buf.frame_mut().get_mut(at..)?)
        .ok()
        .map(|v| (v.dont_fragment(), v.ident()))
}

/// Whether the packet inside is IPv6 (after the Ethernet header of a
/// bridged frame, at the start of a routed one).
fn inner_is_ipv6(buf: &PacketBuf, l3: bool) -> bool {
    if l3 {
        return buf.frame().first().is_some_and(|b| b >> 4 == 6);
    }
    EthernetView::new_checked(buf.frame()).is_ok_and(|e| e.ethertype() == EtherType::Ipv6)
}

fn push_tunnel(
    encap: TunnelEncap,
    tunnel: &mut [u8],
    tunnel_len: usize,
    (sip, dip): (Ipv4Addr, Ipv4Addr),
    label: u32,
    label_ttl: u8,
    l3: bool,
) -> bool {
    let inner_len = tunnel.len().saturating_sub(tunnel_len);
    let entry = MplsLabel::new(label).map(|l| MplsEntry::new(l, label_ttl));
    let udp = |dst_port, len| UdpRepr {
        zero_checksum: true,
        ..UdpRepr::new(sport(flow_hash(&tunnel[tunnel_len..], l3)), dst_port, len)
    };
    let ip = IpPair::V4 { src: sip, dst: dip };
    match encap {
        // The plain GRE header (RFC 2784: no checksum, key or sequence
        // number): flags 0, protocol MPLS unicast.
        TunnelEncap::MplsOverGre => {
            let gre = GreRepr::new(EtherType::Mpls, ENTRY_LEN + inner_len);
            gre.emit(tunnel).is_ok()
                && entry.is_some_and(|e| e.write(true, &mut tunnel[GRE_LEN..]).is_ok())
        }
        TunnelEncap::MplsOverUdp => {
            let udp = udp(UDP_PORT_MPLS, ENTRY_LEN + inner_len);
            udp.emit(tunnel, &ip).is_ok()
                && entry.is_some_and(|e| e.write(true, &mut tunnel[UDP_LEN..]).is_ok())
        }
        TunnelEncap::Vxlan => {
            let udp = udp(UDP_PORT_VXLAN, VXLAN_LEN + inner_len);
            udp.emit(tunnel, &ip).is_ok()
                && Vni::new(label)
                    .is_some_and(|vni| VxlanRepr { vni }.emit(&mut tunnel[UDP_LEN..]).is_ok())
        }
    }
}

/// The next outer IPv4 ID of this vRouter (never 0), as
/// `vr_generate_unique_ip_id` hands them out.
fn next_ip_id(counter: &mut u16) -> u16 {
    *counter = counter.wrapping_add(1);
    if *counter == 0 {
        *counter = 1;
    }
    *counter
}

/// A UDP source port from the flow hash, in 49152–65535.
fn sport(hash: u32) -> u16 {
    let span = u32::from(u16::MAX - SPORT_BASE) + 1;
    // The remainder is below 16384, so it fits a u16.
    SPORT_BASE + (hash % span) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nexthop::{NexthopConfig, NhFamily, NhFlags};
    use crate::route::{Route, RouteFlags};
    use crate::testing::*;
    use vrsim_wire::ipv4::Ipv4View;
    use vrsim_wire::{Header, dissect};

    #[test]
    fn mplsogre_carries_the_route_label_and_the_inner_ip_id() {
        let mut r = node();
        let (d, out, steps) = run_with_agent(&mut r, TAP, &from_vm(echo(VM_IP, REMOTE_IP, 64)));
        assert_eq!(d, Disposition::Transmit { vif: FABRIC });
        let d = dissect(&out);
        assert_eq!(d.chain(), "eth:ipv4:gre:mpls:ipv4:icmp", "{d}");
        let hs: Vec<_> = d.iter().collect();
        let (Header::Ipv4(outer), Header::Mpls(stack), Header::Ipv4(inner)) = (hs[1], hs[3], hs[4])
        else {
            panic!("{d}")
        };
        assert_eq!(
            (outer.src, outer.dst, outer.ttl),
            (NODE_IP, GW_IP, TUNNEL_TTL)
        );
        assert_eq!(outer.ident, inner.ident);
        assert_eq!(
            (stack.top().label.value(), stack.top().ttl),
            (LABEL_OUT, 63)
        );
        assert!(steps.iter().any(|s| matches!(
            s,
            Step::Push {
                label: LABEL_OUT,
                ..
            }
        )));
    }

    #[test]
    fn mplsoudp_takes_ids_from_the_router_counter_and_a_hashed_source_port() {
        let mut r = node();
        let udp = NhKind::Tunnel {
            encap: TunnelEncap::MplsOverUdp,
            oif: FABRIC,
            rewrite: crate::nexthop::ipv4_rewrite(GW_MAC, NODE_MAC),
            sip: NODE_IP,
            dip: GW_IP,
        };
        r.add_nh(NexthopConfig {
            id: nh(21),
            kind: udp,
            family: NhFamily::Inet,
            flags: NhFlags::VALID,
            vrf: crate::ids::VrfId::FABRIC,
        })
        .expect("tunnel");
        let route = Route {
            nh: nh(21),
            label: MplsLabel::new(LABEL_OUT),
            flags: RouteFlags::empty(),
            stitched_mac: None,
        };
        r.add_route4(VRF, ipnet::Ipv4Net::default(), route)
            .expect("route");
        let mut ids = Vec::new();
        for _ in 0..2 {
            let (_, out, _) = run_with_agent(&mut r, TAP, &from_vm(echo(VM_IP, REMOTE_IP, 64)));
            let d = dissect(&out);
            let hs: Vec<_> = d.iter().collect();
            let (Header::Ipv4(outer), Header::Udp(u)) = (hs[1], hs[2]) else {
                panic!("{d}")
            };
            assert_eq!(u.dst_port, UDP_PORT_MPLS);
            assert!(u.src_port >= SPORT_BASE);
            ids.push(outer.ident);
        }
        assert_eq!(ids, [1, 2]);
        // A clone carries the counter on.
        let mut copy = r.clone();
        let (_, out, _) = run_with_agent(&mut copy, TAP, &from_vm(echo(VM_IP, REMOTE_IP, 64)));
        let Some(Header::Ipv4(outer)) = dissect(&out).iter().nth(1).copied() else {
            panic!()
        };
        assert_eq!(outer.ident, 3);
    }

    #[test]
    fn ip_ids_skip_zero_when_they_wrap() {
        let mut counter = u16::MAX - 1;
        assert_eq!(next_ip_id(&mut counter), u16::MAX);
        assert_eq!(next_ip_id(&mut counter), 1);
    }

    #[test]
    fn source_ports_stay_in_the_dynamic_range() {
        for h in [0, 1, 16383, 16384, u32::MAX] {
            assert!(sport(h) >= SPORT_BASE);
        }
        assert_eq!(sport(16384), SPORT_BASE);
    }

    #[test]
    fn too_big_with_df_is_trapped_to_the_agent() {
        let mut r = node();
        let mut frame = from_vm(echo(VM_IP, REMOTE_IP, 64).payload(&[0u8; 1480]));
        // Set DF on the inner header and fix its checksum.
        frame[14 + 6] |= 0x40;
        frame[14 + 10..14 + 12].copy_from_slice(&[0, 0]);
        let sum = Ipv4View::new_checked(&frame[14..])
            .expect("ipv4")
            .compute_checksum();
        frame[14 + 10..14 + 12].copy_from_slice(&sum.to_be_bytes());
        let (d, _, steps) = run_with_agent(&mut r, TAP, &frame);
        assert_eq!(d, Disposition::ToHost { vif: AGENT });
        assert!(steps.iter().any(|s| matches!(
            s,
            Step::Trap {
                reason: TrapReason::HandleDf
            }
        )));
    }
}
