//! From a VM's tap: `vr_virtual_input`, the bridge lookup of
//! `vr_bridge_input` (with unknown-unicast flooding), and proxy ARP
//! (`vr_arp_input`, `vm_arp_request`, `vr_get_proxy_mac`).

use std::net::Ipv4Addr;

use vrsim_wire::arp::{ArpOperation, ArpRepr, ArpView};
use vrsim_wire::ethernet::{EthernetRepr, EthernetView, HEADER_LEN as ETH_LEN};
use vrsim_wire::{EtherType, MacAddr};

use super::{Ctx, Disposition, Fmd};
use crate::drop::DropReason;
use crate::ids::{NhId, VifId, VrfId};
use crate::nexthop::{NhFlags, NhKind};
use crate::packet::PacketBuf;
use crate::route::{BridgeEntry, RouteFlags};
use crate::trace::{Step, Tracer};
use crate::vif::VifFlags;
use crate::vrouter::VRouter;

impl VRouter {
    /// `vr_virtual_input`: a frame from a VM's tap.
    pub(super) fn virtual_input<T: Tracer>(
        &self,
        mut fmd: Fmd,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        let Ok(eth) = EthernetView::new_checked(buf.frame()) else {
            return Disposition::Drop(DropReason::InterfaceDrop);
        };
        let ethertype = eth.ethertype();
        let unicast = !eth.dst().is_multicast();
        match ethertype {
            EtherType::Arp => return self.arp_from_vm(fmd, buf, cx),
            // A multicast solicitation, which the vRouter meets in its
            // multicast composite nexthop (`nh_handle_mcast_control_pkt`);
            // a unicast one is bridged, or reaches `nh_l2_rcv` when it is
            // to the vRouter's MAC. Solicitations get no flow
            // (`vr_inet6_proto_flow`).
            EtherType::Ipv6 if !unicast => {
                if let Some(d) = self.vm_neighbor_input(fmd, buf, cx) {
                    return d;
                }
            }
            _ => {}
        }
        // `vr_flow_forward` before `vr_bridge_input`: a unicast IP frame
        // from a tap with Policy meets the flow table before any lookup, so
        // a flow is made (and the agent asked) even when no route leads on.
        if matches!(ethertype, EtherType::Ipv4 | EtherType::Ipv6)
            && unicast
            && self.vm_flow_wanted(&fmd)
        {
            fmd.flow_done = true;
            let version = if ethertype == EtherType::Ipv4 { 4 } else { 6 };
            if let Some(d) = self.flow_stage(&mut fmd, false, (ETH_LEN, version), buf, cx) {
                return d;
            }
        }
        self.bridge_input(fmd, buf, cx)
    }

    /// `vr_bridge_input`: look the destination MAC up in the VRF's bridge table.
    /// An entry whose nexthop is Discard counts as a miss. A multicast or
    /// broadcast miss uses the broadcast entry; a unicast miss floods through
    /// it when unknown-unicast flooding is on (the tap's `Uuf` flag for frames
    /// from a VM, the label or VNID nexthop's `Unicast Flood` flag for frames
    /// from the fabric), and is dropped as `No L2 Route` otherwise.
    pub(super) fn bridge_input<T: Tracer>(
        &self,
        mut fmd: Fmd,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        let Ok(eth) = EthernetView::new_checked(buf.frame()) else {
            return Disposition::Drop(DropReason::InvalidPacket);
        };
        let mac = eth.dst();
        // Broadcast and multicast frames are bridged in the vif's multicast
        // VRF, unless it is 65535 (none).
        if mac.is_multicast()
            && let Some(m) = self.vif(fmd.ingress).and_then(|v| v.config.mcast_vrf)
            && m != VrfId::from(u16::MAX)
        {
            fmd.vrf = m;
        }
        let found = self
            .bridge_entry(&fmd, mac, cx.trace)
            .filter(|e| e.nh != NhId::DISCARD);
        let entry = match found {
            Some(e) => e,
            None if mac.is_multicast() || self.floods_unknown_unicast(&fmd) => {
                match self.bridge_entry(&fmd, MacAddr::broadcast(), cx.trace) {
                    Some(e) if !mac.is_broadcast() => e,
                    // The broadcast entry itself was the lookup: its Discard nexthop stands.
                    Some(e) => e,
                    None => return Disposition::Drop(DropReason::L2NoRoute),
                }
            }
            None => return Disposition::Drop(DropReason::L2NoRoute),
        };
        // Unicast from the fabric back into a tunnel is refused (`vr_bridge_input`).
        let to_tunnel = matches!(
            self.nh(entry.nh).map(|n| &n.config.kind),
            Some(NhKind::Tunnel { .. })
        );
        if fmd.on_fabric() && to_tunnel && !mac.is_multicast() {
            return Disposition::Drop(DropReason::InvalidSource);
        }
        let fmd = Fmd {
            label: entry.label,
            ..fmd
        };
        self.nh_output(fmd, entry.nh, false, buf, cx)
    }

    /// The VRF's bridge entry for `mac`, recorded as a `BridgeLookup` step.
    pub(super) fn bridge_entry<T: Tracer>(
        &self,
        fmd: &Fmd,
        mac: MacAddr,
        trace: &mut T,
    ) -> Option<BridgeEntry> {
        let entry = self
            .vrfs
            .get(fmd.vrf.index())
            .and_then(|v| v.bridge.get(&mac))
            .copied();
        trace.step(Step::BridgeLookup {
            vrf: fmd.vrf,
            mac,
            nh: entry.map(|e| e.nh),
        });
        entry
    }

    fn floods_unknown_unicast(&self, fmd: &Fmd) -> bool {
        if fmd.on_fabric() {
            fmd.key_nh
                .and_then(|n| self.nh(n))
                .is_some_and(|n| n.config.flags.contains(NhFlags::UNKNOWN_UC_FLOOD))
        } else {
            self.vif(fmd.ingress)
                .is_some_and(|v| v.config.flags.contains(VifFlags::UNKNOWN_UC_FLOOD))
        }
    }

    /// ARP from a VM (`vr_arp_input`, `vm_arp_request`, `vr_get_proxy_mac`).
    /// Replies and gratuitous ARP are bridged like any frame. A request is
    /// answered by proxy when the vif proxies MAC requests or the target's
    /// route has the P flag: with the route's stitched MAC, else flooded when
    /// the route has F, else with the vif's MAC. Anything else is bridged
    /// (flooded when broadcast).
    fn arp_from_vm<T: Tracer>(
        &self,
        fmd: Fmd,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        let Ok(eth) = EthernetView::new_checked(buf.frame()) else {
            return Disposition::Drop(DropReason::InterfaceDrop);
        };
        let Ok(arp) = ArpView::new_checked(eth.payload()).and_then(|v| ArpRepr::parse(&v)) else {
            return Disposition::Drop(DropReason::InvalidArp);
        };
        let vif = self.vif(fmd.ingress);
        let vif_flags = vif.map_or(VifFlags::empty(), |v| v.config.flags);
        match arp.operation {
            ArpOperation::Request => {}
            ArpOperation::Reply => return self.bridge_input(fmd, buf, cx),
            ArpOperation::Unknown(_) => return Disposition::Drop(DropReason::InvalidArp),
        }
        if arp.sender_ip == arp.target_ip {
            // Gratuitous ARP: flooded, except on a vif that proxies every MAC request.
            if vif_flags.contains(VifFlags::MAC_PROXY) {
                return Disposition::Drop(DropReason::InvalidArp);
            }
            return self.bridge_input(fmd, buf, cx);
        }
        if eth.dst().is_broadcast()
            && self
                .bridge_entry(&fmd, MacAddr::broadcast(), cx.trace)
                .is_none()
        {
            return Disposition::Drop(DropReason::L2NoRoute);
        }
        let vif_mac = vif.map_or(MacAddr::zero(), |v| v.config.mac);
        let Some(mac) = self.proxy_mac(&fmd, arp.target_ip, vif_flags, vif_mac, cx.trace) else {
            return self.bridge_input(fmd, buf, cx);
        };
        // The reply goes back out of the tap, which needs a bridge entry for the
        // asker unless the vif proxies MAC requests itself.
        let proxies =
            vif_flags.contains(VifFlags::NO_ARP_PROXY) || vif_flags.contains(VifFlags::MAC_PROXY);
        let known = self
            .vrfs
            .get(fmd.vrf.index())
            .is_some_and(|v| v.bridge.contains_key(&arp.sender_mac));
        if !proxies && !known {
            return Disposition::Drop(DropReason::InvalidNh);
        }
        cx.trace.step(Step::ArpProxy {
            target: arp.target_ip,
            mac,
        });
        arp_reply(&arp, mac, buf, fmd.ingress)
    }

    /// `vr_get_proxy_mac`: the MAC a request for `target` is answered with,
    /// when the vif proxies MAC requests or the target's route has the P
    /// flag: the route's stitched MAC, else none when the route has F (the
    /// request is flooded), else the vif's MAC. The route lookup is traced.
    fn proxy_mac<T: Tracer>(
        &self,
        fmd: &Fmd,
        target: Ipv4Addr,
        vif_flags: VifFlags,
        vif_mac: MacAddr,
        trace: &mut T,
    ) -> Option<MacAddr> {
        let route = self.inet_route(fmd.vrf, target, trace);
        let proxy = vif_flags.contains(VifFlags::MAC_PROXY)
            || route.is_some_and(|(_, r)| r.flags.contains(RouteFlags::ARP_PROXY));
        match route {
            Some((_, r)) if proxy => match r.stitched_mac {
                Some((mac, _)) => Some(mac),
                None if r.flags.contains(RouteFlags::ARP_FLOOD) => None,
                None => Some(vif_mac),
            },
            None if proxy => Some(vif_mac),
            _ => None,
        }
    }
}

/// The ARP reply to `arp` from `mac`, written over the request in `buf` and
/// sent back out of the vif it came in on.
fn arp_reply(arp: &ArpRepr, mac: MacAddr, buf: &mut PacketBuf, ingress: VifId) -> Disposition {
    let reply = ArpRepr {
        operation: ArpOperation::Reply,
        sender_mac: mac,
        sender_ip: arp.target_ip,
        target_mac: arp.sender_mac,
        target_ip: arp.sender_ip,
    };
    let eth = EthernetRepr {
        dst: arp.sender_mac,
        src: mac,
        ethertype: EtherType::Arp,
    };
    buf.trim_to(ETH_LEN + reply.buffer_len());
    let frame = buf.frame_mut();
    if eth.emit(frame).is_err() || reply.emit(&mut frame[ETH_LEN..]).is_err() {
        return Disposition::Drop(DropReason::Push);
    }
    Disposition::Transmit { vif: ingress }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use vrsim_wire::{Frame, Header, dissect};

    fn arp_request(target: std::net::Ipv4Addr) -> Vec<u8> {
        Frame::new()
            .ethernet(VM_MAC, MacAddr::broadcast())
            .arp_request(VM_MAC, VM_IP, target)
            .build()
            .expect("builds")
    }

    #[test]
    fn arp_for_the_gateway_is_answered_by_proxy_with_the_vif_mac() {
        let mut r = node();
        // The broadcast entry the request needs before it is answered.
        r.add_bridge(
            VRF,
            MacAddr::broadcast(),
            BridgeEntry {
                nh: NhId::DISCARD,
                label: None,
            },
        )
        .expect("bridge");
        let (d, out, steps) = run_with_agent(&mut r, TAP, &arp_request(GATEWAY_IP));
        assert_eq!(d, Disposition::Transmit { vif: TAP });
        assert!(
            steps
                .iter()
                .any(|s| matches!(s, Step::ArpProxy { mac, .. } if *mac == VROUTER_MAC))
        );
        let d = dissect(&out);
        let Some(Header::Arp(reply)) = d.iter().nth(1) else {
            panic!("no arp: {d}")
        };
        assert_eq!(
            (reply.sender_mac, reply.sender_ip, reply.target_ip),
            (VROUTER_MAC, GATEWAY_IP, VM_IP)
        );
    }

    #[test]
    fn a_broadcast_arp_without_a_broadcast_entry_has_no_l2_route() {
        let mut r = node();
        let (d, _, _) = run_with_agent(&mut r, TAP, &arp_request(GATEWAY_IP));
        assert_eq!(d, Disposition::Drop(DropReason::L2NoRoute));
    }

    #[test]
    fn unknown_unicast_without_flooding_has_no_l2_route() {
        let mut r = node();
        let frame = Frame::new()
            .ethernet(VM_MAC, MacAddr::new(2, 0, 0, 0, 0, 0x99))
            .append(echo(VM_IP, REMOTE_IP, 64))
            .build()
            .expect("builds");
        let (d, _, steps) = run_with_agent(&mut r, TAP, &frame);
        assert_eq!(d, Disposition::Drop(DropReason::L2NoRoute));
        // The tap has Policy: the frame meets its flow first, then the bridge table.
        let flow = steps.iter().position(|s| matches!(s, Step::Flow { .. }));
        let bridge = steps
            .iter()
            .position(|s| matches!(s, Step::BridgeLookup { nh: None, .. }));
        assert!(flow.is_some() && flow < bridge, "{steps:?}");
    }

    #[test]
    fn a_frame_to_the_vrouter_mac_is_routed_at_layer_3() {
        let mut r = node();
        let (d, _, steps) = run_with_agent(&mut r, TAP, &from_vm(echo(VM_IP, REMOTE_IP, 64)));
        assert_eq!(d, Disposition::Transmit { vif: FABRIC });
        assert!(steps.iter().any(|s| matches!(
            s,
            Step::Nexthop {
                kind: "L2 Receive",
                ..
            }
        )));
    }
}
