//! IPv6 from the fabric and neighbour discovery: the IPv6 branch of
//! `vr_fabric_input`, `vr_ipv6_nd_input` with `vr_neighbor_input`
//! (`eth_mac_request`, `vm_neighbor_request`, `vr_get_proxy_mac`),
//! `vr_neighbor_reply` and `vr_neighbor_proxy`, and `vr_ip6_input` with the
//! IPv6 half of `vr_forward`.

use std::net::Ipv6Addr;

use vrsim_wire::ethernet::{EthernetRepr, EthernetView, HEADER_LEN as ETH_LEN};
use vrsim_wire::icmpv6::{
    self, FLAG_ROUTER, FLAG_SOLICITED, Icmpv6View, NeighborRepr, TYPE_NEIGHBOR_ADVERT,
    TYPE_NEIGHBOR_SOLICIT,
};
use vrsim_wire::ipv6::{HEADER_LEN as IP6_LEN, Ipv6Repr, Ipv6View};

use vrsim_wire::{ErrorKind, EtherType, IpProtocol, MacAddr};

use super::{Ctx, Disposition, Fmd};
use crate::drop::DropReason;
use crate::ids::VrfId;
use crate::nexthop::NhFlags;
use crate::packet::PacketBuf;
use crate::route::{Route, RouteFlags};
use crate::trace::{Step, Tracer, TrapReason};
use crate::vif::{VifFlags, VifType};
use crate::vrouter::VRouter;

/// What `vr_get_proxy_mac` decided for a VM's neighbour solicitation.
enum VmMacResponse {
    /// Answer with an advertisement for `mac`; `router`: the vRouter's own
    /// MAC, so the Router flag is set (`MR_PROXY`).
    Proxy { mac: MacAddr, router: bool },
    /// Leave it to the bridge (`MR_FLOOD`).
    Flood,
    /// An `Invalid ARP` drop (`MR_DROP`).
    Drop,
}

/// What `eth_mac_request` decided for a neighbour solicitation from the fabric.
enum MacResponse {
    /// Answer with an advertisement for this MAC (`MR_PROXY`).
    Proxy {
        /// The MAC answered with.
        mac: MacAddr,
        /// Whether it is the vRouter's own (`FMD_FLAG_MAC_IS_MY_MAC`): the
        /// advertisement then has the Router flag.
        router: bool,
    },
    /// Hand the solicitation on to vhost (`MR_XCONNECT`, and what the fabric
    /// makes of `MR_FLOOD`, `MR_DROP` and `MR_NOT_ME` for the underlay).
    Xconnect,
}

impl VRouter {
    /// The IPv6 branch of `vr_fabric_input`. Until IPv6 underlay is on (a
    /// vhost vif with an IPv6 address) every IPv6 frame is cross-connected to
    /// vhost. After it, multicast other than neighbour discovery still is;
    /// solicitations and advertisements go to `vr_ipv6_nd_input`; router
    /// solicitations, advertisements and redirects, which it does not handle,
    /// are cross-connected; the rest is routed in the fabric VRF.
    pub(super) fn fabric_ipv6<T: Tracer>(
        &self,
        fmd: Fmd,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        if !self.ipv6_underlay {
            return self.to_host();
        }
        let Ok(eth) = EthernetView::new_checked(buf.frame()) else {
            return Disposition::Drop(DropReason::InterfaceDrop);
        };
        let dmac = eth.dst();
        let nd = nd_type(eth.payload());
        if nd.is_none() && dmac.is_multicast() {
            return self.to_host();
        }
        match nd {
            Some(TYPE_NEIGHBOR_SOLICIT) => self.neighbor_solicit(fmd, buf, cx),
            Some(TYPE_NEIGHBOR_ADVERT) => self.neighbor_reply(&fmd, cx),
            Some(_) => self.to_host(),
            None => {
                buf.pull(ETH_LEN);
                self.forward6(fmd, buf, cx)
            }
        }
    }

    /// `vr_neighbor_reply` on the fabric, for the underlay (no label, the
    /// fabric's own VRF): the advertisement is cross-connected to vhost and a
    /// copy trapped to the agent (`AGENT_TRAP_ARP`), which learns the
    /// neighbour from it.
    fn neighbor_reply<T: Tracer>(&self, fmd: &Fmd, cx: &mut Ctx<'_, T>) -> Disposition {
        // A vif in cross-connect mode only cross-connects (`vif_mode_xconnect`).
        let xconnect = self
            .vif(fmd.ingress)
            .is_some_and(|v| v.config.flags.contains(VifFlags::XCONNECT));
        if !xconnect {
            self.copy_to_agent(TrapReason::Arp, cx);
        }
        self.to_host()
    }

    /// `vr_neighbor_input` on the fabric: a solicitation shorter than its
    /// ICMPv6 header and target is an `Invalid Packet` drop; one the fabric
    /// answers by proxy gets an advertisement back out of the fabric; any
    /// other goes on to vhost.
    fn neighbor_solicit<T: Tracer>(
        &self,
        fmd: Fmd,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        let ip6 = buf.frame().get(ETH_LEN..).unwrap_or_default();
        let Some((ip, icmp, dad)) = solicitation(ip6) else {
            return Disposition::Drop(DropReason::InvalidPacket);
        };
        // Duplicate address detection is cross-connected before the target is read.
        if dad {
            return self.to_host();
        }
        // A target cut short: vrsim's drop (the vRouter reads past the packet).
        let Ok(ns) = NeighborRepr::parse(&icmp) else {
            return Disposition::Drop(DropReason::InvalidPacket);
        };
        match self.fabric_mac_request(&fmd, ns.target, cx.trace) {
            MacResponse::Xconnect => self.to_host(),
            MacResponse::Proxy { mac, router } => {
                let Some(asker) = ns.link_addr else {
                    // `vr_neighbor_proxy` answers to the source link-layer
                    // option; without one there is no address to answer.
                    return self.to_host();
                };
                self.neighbor_proxy(&fmd, ip, (ns.target, router), (asker, mac), buf, cx)
            }
        }
    }

    /// `vr_neighbor_input` for a frame from a VM (its tap, or the vRouter's
    /// MAC by `nh_l2_rcv`): `None` when it is not a neighbour solicitation
    /// or `vm_neighbor_request` leaves it to the bridge (`MR_FLOOD`,
    /// `MR_NOT_ME`: duplicate address detection, no proxy asked); a
    /// solicitation cut short is an `Invalid Packet` drop. vrsim answers the
    /// multicast solicitations the vRouter meets in its multicast composite
    /// nexthop (`nh_handle_mcast_control_pkt`) here too, as it does ARP.
    #[inline(always)]
    pub(super) fn vm_neighbor_input<T: Tracer>(
        &self,
        fmd: Fmd,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Option<Disposition> {
        // The next header and the ICMPv6 type first: most IPv6 is not ND.
        let ip6 = buf.frame().get(ETH_LEN..).unwrap_or_default();
        let (next, kind) = (ip6.get(6).copied(), ip6.get(IP6_LEN).copied());
        if next != Some(IpProtocol::Icmpv6.value()) || kind != Some(TYPE_NEIGHBOR_SOLICIT) {
            return None;
        }
        self.vm_neighbor_solicit(fmd, buf, cx)
    }

    /// [`vm_neighbor_input`](Self::vm_neighbor_input) on what looks like a
    /// solicitation.
    #[inline(never)]
    fn vm_neighbor_solicit<T: Tracer>(
        &self,
        fmd: Fmd,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Option<Disposition> {
        let ip6 = buf.frame().get(ETH_LEN..).unwrap_or_default();
        if nd_type(ip6) != Some(TYPE_NEIGHBOR_SOLICIT) {
            return None;
        }
        let Some((ip, icmp, dad)) = solicitation(ip6) else {
            return Some(Disposition::Drop(DropReason::InvalidPacket));
        };
        // Duplicate address detection is bridged (`MR_NOT_ME`).
        if dad {
            return None;
        }
        // A target cut short: vrsim's drop (the vRouter reads past the packet).
        let Ok(ns) = NeighborRepr::parse(&icmp) else {
            return Some(Disposition::Drop(DropReason::InvalidPacket));
        };
        let route = self
            .inet6_route(fmd.vrf, ns.target, cx.trace)
            .map(|(_, r)| r);
        let vif = self.vif(fmd.ingress);
        let flags = vif.map_or(VifFlags::empty(), |v| v.config.flags);
        let proxy = flags.contains(VifFlags::MAC_PROXY)
            || route.is_some_and(|r| r.flags.contains(RouteFlags::ARP_PROXY));
        if !proxy {
            return None;
        }
        let vif_mac = vif.map_or(MacAddr::zero(), |v| v.config.mac);
        let (mac, router) = match self.vm_proxy_mac(&fmd, flags, vif_mac, route) {
            VmMacResponse::Proxy { mac, router } => (mac, router),
            VmMacResponse::Flood => return None,
            VmMacResponse::Drop => return Some(Disposition::Drop(DropReason::InvalidArp)),
        };
        // `vr_neighbor_proxy` answers to the source link-layer option; a
        // solicitation without one is left to the bridge.
        let asker = ns.link_addr?;
        Some(self.neighbor_proxy(&fmd, ip, (ns.target, router), (asker, mac), buf, cx))
    }

    /// The route's stitched MAC, when the VRF's bridge table holds it
    /// (`vr_bridge_lookup` on the route's bridge index succeeds).
    fn stitched_mac(&self, fmd: &Fmd, route: Option<Route>) -> Option<MacAddr> {
        route
            .and_then(|r| r.stitched_mac)
            .map(|(m, _)| m)
            .filter(|m| {
                self.vrfs
                    .get(fmd.vrf.index())
                    .is_some_and(|v| v.bridge.contains_key(m))
            })
    }

    /// `vr_get_proxy_mac` for a VM (not from the fabric): a vif with MAC
    /// Proxy answers with its own MAC; No ARP Proxy answers only for the
    /// gateway (`MR_DROP` otherwise); a route with F and no stitched MAC
    /// floods; else the stitched MAC, or the vif's with the Router flag
    /// (`FMD_FLAG_MAC_IS_MY_MAC`).
    fn vm_proxy_mac(
        &self,
        fmd: &Fmd,
        flags: VifFlags,
        vif_mac: MacAddr,
        route: Option<Route>,
    ) -> VmMacResponse {
        if flags.contains(VifFlags::MAC_PROXY) {
            return VmMacResponse::Proxy {
                mac: vif_mac,
                router: true,
            };
        }
        let to_gateway = route.and_then(|r| self.encap_oif_kind(r.nh)) == Some(VifType::Agent);
        if flags.contains(VifFlags::NO_ARP_PROXY) && !to_gateway {
            return VmMacResponse::Drop;
        }
        let stitched = self.stitched_mac(fmd, route);
        let flood = route.is_some_and(|r| r.flags.contains(RouteFlags::ARP_FLOOD));
        match stitched {
            None if flood => VmMacResponse::Flood,
            Some(mac) => VmMacResponse::Proxy { mac, router: false },
            None => VmMacResponse::Proxy {
                mac: vif_mac,
                router: true,
            },
        }
    }

    /// `eth_mac_request` for a solicitation from the fabric's underlay (not
    /// duplicate address detection, cross-connected before):
    /// `vm_neighbor_request` (the target's inet6 route is looked up; the vif's MAC Proxy flag or
    /// the route's P flag asks `vr_get_proxy_mac`), and whatever is neither a
    /// proxy answer nor a cross-connect becomes a cross-connect.
    fn fabric_mac_request<T: Tracer>(
        &self,
        fmd: &Fmd,
        target: Ipv6Addr,
        trace: &mut T,
    ) -> MacResponse {
        let vif = self.vif(fmd.ingress);
        let flags = vif.map_or(VifFlags::empty(), |v| v.config.flags);
        if flags.contains(VifFlags::XCONNECT) {
            return MacResponse::Xconnect;
        }
        let route = self.inet6_route(fmd.vrf, target, trace);
        let route = route.map(|(_, r)| r);
        let proxy = flags.contains(VifFlags::MAC_PROXY)
            || route.is_some_and(|r| r.flags.contains(RouteFlags::ARP_PROXY));
        if !proxy {
            return MacResponse::Xconnect;
        }
        let vif_mac = vif.map_or(MacAddr::zero(), |v| v.config.mac);
        // `proxy_selected`: the vif's own MAC, so the Router flag.
        if flags.contains(VifFlags::MAC_PROXY) {
            return MacResponse::Proxy {
                mac: vif_mac,
                router: true,
            };
        }
        self.fabric_proxy_mac(fmd, flags, vif_mac, route)
    }

    /// `vr_get_proxy_mac` for the fabric's underlay (no label, its own VRF,
    /// so not an overlay request): a flood route without a stitched MAC, a
    /// route to the agent's gateway, a vif that proxies nothing but the
    /// gateway, or a target this node does not host are cross-connected; a
    /// target hosted here (an Encap nexthop to a VM) is answered with the
    /// stitched MAC, else the fabric's own.
    fn fabric_proxy_mac(
        &self,
        fmd: &Fmd,
        flags: VifFlags,
        vif_mac: MacAddr,
        route: Option<Route>,
    ) -> MacResponse {
        let nh_oif = route.and_then(|r| self.encap_oif_kind(r.nh));
        let to_gateway = nh_oif == Some(VifType::Agent);
        let hosted = nh_oif.is_some_and(VifType::is_virtual);
        let stitched = self.stitched_mac(fmd, route);
        let flood = route.is_some_and(|r| r.flags.contains(RouteFlags::ARP_FLOOD));
        // vr_get_proxy_mac's fabric rules, folded: a route to the gateway
        // (the agent vif), NO_ARP_PROXY on the vif, a flood route without a
        // stitched MAC, or an address not hosted here: cross-connect.
        if to_gateway
            || flags.contains(VifFlags::NO_ARP_PROXY)
            || (flood && stitched.is_none())
            || !hosted
        {
            return MacResponse::Xconnect;
        }
        MacResponse::Proxy {
            mac: stitched.unwrap_or(vif_mac),
            router: false,
        }
    }

    /// `vr_neighbor_proxy` then `vr_mac_reply_send`: the solicitation turned
    /// into a solicited advertisement of `target` at `mac` (with the Router
    /// flag when `router`), from the asker's own IPv6 header `asked` with the
    /// addresses swapped, to the asker's link-layer address, and sent as
    /// [`mac_reply_send`](Self::mac_reply_send) says. (The vRouter rewrites
    /// in place and keeps any options after the first; vrsim's advertisement
    /// ends after its one option.)
    fn neighbor_proxy<T: Tracer>(
        &self,
        fmd: &Fmd,
        asked: Ipv6Repr,
        (target, router): (Ipv6Addr, bool),
        (asker, mac): (MacAddr, MacAddr),
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        cx.trace.step(Step::NeighborProxy { target, mac });
        let mut header = Ipv6Repr {
            src: target,
            dst: asked.src,
            ..asked
        };
        let na = NeighborRepr {
            kind: TYPE_NEIGHBOR_ADVERT,
            flags: if router {
                FLAG_SOLICITED | FLAG_ROUTER
            } else {
                FLAG_SOLICITED
            },
            target,
            link_addr: Some(mac),
        };
        header.payload_len = na.buffer_len();
        let eth = EthernetRepr {
            dst: asker,
            src: mac,
            ethertype: EtherType::Ipv6,
        };
        let total = ETH_LEN + IP6_LEN + na.buffer_len();
        buf.trim_to(total);
        let frame = buf.frame_mut();
        let written = frame.len() == total
            && eth.emit(frame).is_ok()
            && header.emit(&mut frame[ETH_LEN..]).is_ok()
            && na
                .emit(&mut frame[ETH_LEN + IP6_LEN..], header.src, header.dst)
                .is_ok();
        if !written {
            return Disposition::Drop(DropReason::Push);
        }
        self.mac_reply_send(fmd, asker, buf, cx)
    }

    /// `vr_mac_reply_send`: a proxy answer goes straight back out of vhost,
    /// of the fabric in VRF 0, or of a vif with No ARP Proxy or MAC Proxy;
    /// otherwise the asker's MAC is looked up in the bridge table (no valid
    /// entry: an `Invalid NH` drop) and the answer leaves on a VM's tap, or
    /// by the entry's nexthop from the fabric. The answer makes no flow.
    pub(super) fn mac_reply_send<T: Tracer>(
        &self,
        fmd: &Fmd,
        asker: MacAddr,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        let vif = self.vif(fmd.ingress);
        let flags = vif.map_or(VifFlags::empty(), |v| v.config.flags);
        let kind = vif.map(|v| v.config.kind);
        if kind == Some(VifType::Host)
            || (kind == Some(VifType::Physical) && fmd.vrf == VrfId::FABRIC)
            || flags.intersects(VifFlags::NO_ARP_PROXY | VifFlags::MAC_PROXY)
        {
            return Disposition::Transmit { vif: fmd.ingress };
        }
        let entry = self.bridge_entry(fmd, asker, cx.trace);
        let valid = entry
            .and_then(|e| self.nh(e.nh))
            .is_some_and(|n| n.config.flags.contains(NhFlags::VALID));
        match entry {
            // A VM's answer leaves on its tap whatever the entry leads to
            // (`vif_is_virtual(vif)`: sent on the vif, or by a nexthop of it).
            Some(_) if valid && kind.is_some_and(VifType::is_virtual) => {
                Disposition::Transmit { vif: fmd.ingress }
            }
            // A fresh forwarding context (`fmd_new`): the VRF and the entry's label.
            Some(e) if valid => {
                let fresh = Fmd {
                    flow_done: true,
                    label: e.label,
                    ttl: None,
                    hops: 0,
                    ..*fmd
                };
                self.nh_output(fresh, e.nh, false, buf, cx)
            }
            _ => Disposition::Drop(DropReason::InvalidNh),
        }
    }

    /// `vr_ip6_input` then `vr_forward` for IPv6: the destination's inet6
    /// route in the VRF, then its nexthop. The vRouter never decrements the
    /// hop limit (`vr_forward` has it commented out); it carries it as the
    /// packet's TTL, so a hop limit of 0 is trapped to the agent as a zero
    /// TTL by `nh_output`.
    pub(super) fn forward6<T: Tracer>(
        &self,
        mut fmd: Fmd,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        // `vr_ip6_input` pulls the fixed header (`Pull` when short);
        // `vr_forward` refuses another version (`Invalid Protocol`); nothing
        // checks the payload length against the packet.
        let ip = match Ipv6View::new_checked(buf.frame()) {
            Ok(v) => v,
            Err(e) => match e.kind {
                ErrorKind::Version { .. } => return Disposition::Drop(DropReason::InvalidProtocol),
                ErrorKind::LengthExceedsBuffer { .. } => match Ipv6View::new_quoted(buf.frame()) {
                    Ok(v) => v,
                    Err(_) => return Disposition::Drop(DropReason::Pull),
                },
                _ => return Disposition::Drop(DropReason::Pull),
            },
        };
        let (dst, len) = (ip.dst(), IP6_LEN + ip.payload().len());
        fmd.ttl = Some(ip.hop_limit());
        buf.trim_to(len);
        let (nh, label) = self.inet6_lookup(fmd.vrf, dst, cx.trace);
        if let Some(l) = label {
            fmd.label = Some(l.value());
        }
        self.nh_output(fmd, nh, true, buf, cx)
    }
}

/// A neighbour solicitation's IPv6 header and ICMPv6 message, and whether
/// it is duplicate address detection (`vr_icmp6_pkt_dad`: an unspecified
/// source and no more ICMPv6 than the header and a target); `None` (an
/// `Invalid Packet` drop, as `vr_neighbor_input` has it) when the ICMPv6
/// header is not all there.
fn solicitation(ip6: &[u8]) -> Option<(Ipv6Repr, Icmpv6View<'_>, bool)> {
    let view = Ipv6View::new_checked(ip6).ok()?;
    let ip = Ipv6Repr::parse(&view).ok()?;
    let icmp = Icmpv6View::new_checked(view.payload()).ok()?;
    let dad = ip.src.is_unspecified() && icmp.payload().len() <= 16;
    Some((ip, icmp, dad))
}

/// The ICMPv6 type of an IPv6 packet whose next header is ICMPv6 and whose
/// type is neighbour discovery's (`vr_is_ipv6_nd_packet`: the header right
/// after the fixed one, extension headers not followed).
fn nd_type(ip6: &[u8]) -> Option<u8> {
    let ip = Ipv6View::new_checked(ip6).ok()?;
    if ip.next_header() != IpProtocol::Icmpv6 {
        return None;
    }
    let kind = *ip.payload().first()?;
    icmpv6::is_neighbor_discovery(kind).then_some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nexthop::{NexthopConfig, NhKind};
    use crate::route::BridgeEntry;
    use crate::testing::*;
    use crate::vif::VifConfig;
    use ipnet::Ipv6Net;
    use std::net::IpAddr;
    use vrsim_wire::MplsLabel;
    use vrsim_wire::icmpv6::TYPE_ROUTER_ADVERT;

    const VHOST6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x21);
    const PEER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x1);
    const VM6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x3);

    /// The test node with vhost0 given an IPv6 address (IPv6 underlay on).
    fn v6_node() -> VRouter {
        let mut r = node();
        let vhost = r.vif(VHOST).expect("vhost0").config.clone();
        r.change_vif(VifConfig {
            ip6: Some(VHOST6),
            ..vhost
        })
        .expect("vhost0");
        assert!(r.ipv6_underlay_enabled());
        r
    }

    /// An ND message from `src` (link address `smac`) to `dst` at `dmac`.
    fn nd_frame(
        smac: MacAddr,
        dmac: MacAddr,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        nd: NeighborRepr,
    ) -> Vec<u8> {
        let mut f = vec![0u8; ETH_LEN + IP6_LEN + nd.buffer_len()];
        let eth = EthernetRepr {
            dst: dmac,
            src: smac,
            ethertype: EtherType::Ipv6,
        };
        let mut ip = Ipv6Repr::new(src, dst, IpProtocol::Icmpv6, nd.buffer_len());
        ip.hop_limit = 255;
        eth.emit(&mut f).expect("eth");
        ip.emit(&mut f[ETH_LEN..]).expect("ipv6");
        nd.emit(&mut f[ETH_LEN + IP6_LEN..], src, dst).expect("nd");
        f
    }

    /// A solicitation for `target` from `src` at `smac`, to the
    /// solicited-node group of `target`.
    fn solicit_from(smac: MacAddr, src: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
        vrsim_wire::icmpv6::solicitation_frame(smac, src, target)
    }

    fn solicit(target: Ipv6Addr) -> Vec<u8> {
        solicit_from(GW_MAC, PEER6, target)
    }

    fn advert() -> Vec<u8> {
        let na = NeighborRepr {
            kind: TYPE_NEIGHBOR_ADVERT,
            flags: FLAG_SOLICITED,
            target: PEER6,
            link_addr: Some(GW_MAC),
        };
        nd_frame(GW_MAC, NODE_MAC, PEER6, VHOST6, na)
    }

    fn add6(r: &mut VRouter, addr: Ipv6Addr, nh_id: u32, flags: RouteFlags) {
        // A route through the tunnel nexthop needs the label the peer gave.
        let label = (nh_id == 20).then(|| MplsLabel::new(LABEL_OUT)).flatten();
        let route = Route {
            nh: nh(nh_id),
            label,
            flags,
            stitched_mac: None,
        };
        r.add_route6(VrfId::FABRIC, Ipv6Net::new(addr, 128).expect("/128"), route)
            .expect("route");
    }

    #[test]
    fn without_ipv6_underlay_everything_ipv6_is_cross_connected() {
        let mut r = node();
        let (d, out, steps) = run(&mut r, FABRIC, &advert());
        assert_eq!(d, Disposition::ToHost { vif: VHOST });
        assert_eq!(out, advert());
        assert!(!steps.iter().any(|s| matches!(s, Step::CopyToAgent { .. })));
        assert_eq!(r.vif(AGENT).expect("agent").stats.tx_packets, 0);
    }

    #[test]
    fn an_advertisement_goes_to_vhost_with_a_copy_to_the_agent() {
        let mut r = v6_node();
        let (d, out, steps) = run(&mut r, FABRIC, &advert());
        assert_eq!(d, Disposition::ToHost { vif: VHOST });
        assert_eq!(out, advert(), "cross-connected unchanged");
        assert!(steps.contains(&Step::CopyToAgent {
            reason: TrapReason::Arp
        }));
        assert_eq!(r.vif(AGENT).expect("agent").stats.tx_packets, 1);
        assert_eq!(r.vif(VHOST).expect("vhost").stats.tx_packets, 1);
    }

    #[test]
    fn without_an_agent_vif_the_copy_is_a_trap_no_if_drop() {
        let mut r = v6_node();
        r.delete_vif(AGENT).expect("no nexthop uses it");
        let (d, _, _) = run(&mut r, FABRIC, &advert());
        assert_eq!(d, Disposition::ToHost { vif: VHOST });
        assert_eq!(r.drops.get(DropReason::TrapNoIf), 1);
    }

    #[test]
    fn a_solicitation_for_a_hosted_address_with_p_is_answered_by_proxy() {
        let mut r = v6_node();
        add6(&mut r, VM6, 10, RouteFlags::ARP_PROXY);
        let (d, out, steps) = run(&mut r, FABRIC, &solicit(VM6));
        assert_eq!(d, Disposition::Transmit { vif: FABRIC });
        assert!(steps.contains(&Step::NeighborProxy {
            target: VM6,
            mac: NODE_MAC
        }));
        let eth = EthernetView::new_checked(&out).expect("eth");
        assert_eq!((eth.dst(), eth.src()), (GW_MAC, NODE_MAC));
        let ip = Ipv6View::new_checked(eth.payload()).expect("ipv6");
        assert_eq!((ip.src(), ip.dst(), ip.hop_limit()), (VM6, PEER6, 255));
        let icmp = Icmpv6View::new_checked(ip.payload()).expect("icmp6");
        assert_eq!(icmp.checksum(), icmp.compute_checksum(VM6, PEER6));
        let na = NeighborRepr::parse(&icmp).expect("an advertisement");
        assert_eq!(
            na,
            NeighborRepr {
                kind: TYPE_NEIGHBOR_ADVERT,
                flags: FLAG_SOLICITED,
                target: VM6,
                link_addr: Some(NODE_MAC),
            }
        );
    }

    #[test]
    fn solicitations_the_fabric_does_not_answer_go_to_vhost() {
        let mut r = v6_node();
        // No route; a P route through a tunnel (not hosted here); DAD.
        add6(&mut r, PEER6, 20, RouteFlags::ARP_PROXY);
        for target in [VHOST6, PEER6] {
            let (d, out, _) = run(&mut r, FABRIC, &solicit(target));
            assert_eq!(d, Disposition::ToHost { vif: VHOST }, "{target}");
            assert_eq!(out, solicit(target));
        }
        let mut dad = solicit(VM6);
        dad[ETH_LEN + 8..ETH_LEN + 24].fill(0);
        dad.truncate(ETH_LEN + IP6_LEN + 24);
        dad[ETH_LEN + 5] = 24;
        add6(&mut r, VM6, 10, RouteFlags::ARP_PROXY);
        let (d, _, steps) = run(&mut r, FABRIC, &dad);
        assert_eq!(d, Disposition::ToHost { vif: VHOST });
        assert!(!steps.iter().any(|s| matches!(s, Step::InetLookup { .. })));
    }

    #[test]
    fn router_discovery_and_truncated_solicitations() {
        let mut r = v6_node();
        let mut ra = advert();
        ra[ETH_LEN + IP6_LEN] = TYPE_ROUTER_ADVERT;
        let (d, _, _) = run(&mut r, FABRIC, &ra);
        assert_eq!(d, Disposition::ToHost { vif: VHOST });
        let mut short = solicit(VM6);
        short.truncate(ETH_LEN + IP6_LEN + 12);
        short[ETH_LEN + 5] = 12;
        let (d, _, _) = run(&mut r, FABRIC, &short);
        assert_eq!(d, Disposition::Drop(DropReason::InvalidPacket));
    }

    #[test]
    fn ipv6_unicast_is_routed_in_the_fabric_vrf() {
        let mut r = v6_node();
        add6(&mut r, VHOST6, 1, RouteFlags::empty());
        let frame = vrsim_wire::Frame::new()
            .ethernet(GW_MAC, NODE_MAC)
            .ipv6(PEER6, VHOST6)
            .udp(40000, 22)
            .payload(b"ssh")
            .build()
            .expect("builds");
        let (d, _, steps) = run(&mut r, FABRIC, &frame);
        assert_eq!(d, Disposition::ToHost { vif: VHOST });
        assert!(steps.iter().any(|s| matches!(
            s,
            Step::InetLookup { key: IpAddr::V6(a), nh: n, .. } if *a == VHOST6 && *n == nh(1)
        )));
        let other = vrsim_wire::Frame::new()
            .ethernet(GW_MAC, NODE_MAC)
            .ipv6(PEER6, VM6)
            .udp(40000, 22)
            .build()
            .expect("builds");
        let (d, _, _) = run(&mut r, FABRIC, &other);
        assert_eq!(d, Disposition::Drop(DropReason::Discard));
    }

    // ---- From a VM ----

    const VM_ADDR6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 3);
    const GW6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
    const FAR6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 9);

    /// The test node with IPv6 routes in the VM's VRF: the VM's /128 to
    /// its Encap nexthop (Policy), the gateway address with P to the
    /// receive nexthop, the rest through the tunnel.
    fn vm6_node() -> VRouter {
        let mut r = node();
        let mut add = |addr: Ipv6Addr, len: u8, nh_id: u32, label: Option<u32>, flags| {
            let route = Route {
                nh: nh(nh_id),
                label: label.and_then(MplsLabel::new),
                flags,
                stitched_mac: None,
            };
            r.add_route6(VRF, Ipv6Net::new(addr, len).expect("prefix"), route)
                .expect("route");
        };
        add(VM_ADDR6, 128, 10, None, RouteFlags::empty());
        add(GW6, 128, 2, None, RouteFlags::ARP_PROXY);
        add(
            Ipv6Addr::UNSPECIFIED,
            0,
            20,
            Some(LABEL_OUT),
            RouteFlags::empty(),
        );
        r
    }

    fn vm_solicit(target: Ipv6Addr) -> Vec<u8> {
        solicit_from(VM_MAC, VM_ADDR6, target)
    }

    fn vm_udp6(dst: Ipv6Addr, hop_limit: u8) -> Vec<u8> {
        vrsim_wire::Frame::new()
            .ethernet(VM_MAC, VROUTER_MAC)
            .ipv6(VM_ADDR6, dst)
            .ttl(hop_limit)
            .udp(5000, 53)
            .payload(b"q6")
            .build()
            .expect("builds")
    }

    #[test]
    fn a_vms_solicitation_for_the_gateway_is_answered_with_the_vif_mac_as_a_router() {
        let mut r = vm6_node();
        let (d, out, steps) = run(&mut r, TAP, &vm_solicit(GW6));
        // Bridged back to the asker through its bridge entry.
        assert_eq!(d, Disposition::Transmit { vif: TAP }, "{steps:?}");
        assert!(steps.contains(&Step::NeighborProxy {
            target: GW6,
            mac: VROUTER_MAC
        }));
        assert!(
            !steps.iter().any(|s| matches!(s, Step::Flow { .. })),
            "no flow"
        );
        let eth = EthernetView::new_checked(&out).expect("eth");
        assert_eq!((eth.dst(), eth.src()), (VM_MAC, VROUTER_MAC));
        let ip = Ipv6View::new_checked(eth.payload()).expect("ipv6");
        assert_eq!((ip.src(), ip.dst()), (GW6, VM_ADDR6));
        let icmp = Icmpv6View::new_checked(ip.payload()).expect("icmp6");
        assert_eq!(icmp.checksum(), icmp.compute_checksum(GW6, VM_ADDR6));
        let na = NeighborRepr::parse(&icmp).expect("an advertisement");
        assert_eq!(na.flags, FLAG_SOLICITED | FLAG_ROUTER);
        assert_eq!(na.link_addr, Some(VROUTER_MAC));
    }

    #[test]
    fn a_stitched_mac_answers_without_the_router_flag_and_f_floods() {
        let mut r = vm6_node();
        let peer_mac = MacAddr::new(2, 0, 0, 0, 0, 0x44);
        let peer = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x44);
        r.add_bridge(
            VRF,
            peer_mac,
            BridgeEntry {
                nh: nh(20),
                label: None,
            },
        )
        .expect("bridge");
        let stitched = Route {
            nh: nh(20),
            label: MplsLabel::new(LABEL_OUT),
            flags: RouteFlags::ARP_PROXY,
            stitched_mac: Some((peer_mac, 7)),
        };
        r.add_route6(VRF, Ipv6Net::new(peer, 128).expect("/128"), stitched)
            .expect("route");
        let (_, out, _) = run(&mut r, TAP, &vm_solicit(peer));
        let eth = EthernetView::new_checked(&out).expect("eth");
        let ip = Ipv6View::new_checked(eth.payload()).expect("ipv6");
        let na = NeighborRepr::parse(&Icmpv6View::new_checked(ip.payload()).expect("icmp6"))
            .expect("na");
        assert_eq!((na.flags, na.link_addr), (FLAG_SOLICITED, Some(peer_mac)));
        // With F and no stitched MAC the solicitation is bridged (flooded).
        let flood = Route {
            stitched_mac: None,
            flags: RouteFlags::ARP_PROXY | RouteFlags::ARP_FLOOD,
            ..stitched
        };
        r.add_route6(VRF, Ipv6Net::new(peer, 128).expect("/128"), flood)
            .expect("route");
        let (d, _, steps) = run(&mut r, TAP, &vm_solicit(peer));
        assert!(
            !steps
                .iter()
                .any(|s| matches!(s, Step::NeighborProxy { .. }))
        );
        assert_eq!(
            d,
            Disposition::Drop(DropReason::L2NoRoute),
            "no broadcast entry"
        );
    }

    #[test]
    fn dad_and_unproxied_solicitations_are_bridged_and_no_arp_proxy_drops() {
        let mut r = vm6_node();
        // No P on the default route: left to the bridge.
        let (_, _, steps) = run(&mut r, TAP, &vm_solicit(FAR6));
        assert!(
            !steps
                .iter()
                .any(|s| matches!(s, Step::NeighborProxy { .. }))
        );
        let mut dad = vm_solicit(GW6);
        dad[ETH_LEN + 8..ETH_LEN + 24].fill(0);
        dad.truncate(ETH_LEN + IP6_LEN + 24);
        dad[ETH_LEN + 5] = 24;
        let (_, _, steps) = run(&mut r, TAP, &dad);
        assert!(!steps.iter().any(|s| matches!(s, Step::InetLookup { .. })));
        // A vcp port (No ARP Proxy) is answered only for the gateway.
        let tap = r.vif(TAP).expect("tap").config.clone();
        r.change_vif(VifConfig {
            flags: tap.flags | VifFlags::NO_ARP_PROXY,
            ..tap
        })
        .expect("tap");
        let (d, _, _) = run(&mut r, TAP, &vm_solicit(GW6));
        assert_eq!(d, Disposition::Drop(DropReason::InvalidArp));
    }

    #[test]
    fn a_proxy_answer_without_a_bridge_entry_for_the_asker_is_invalid_nh() {
        let mut r = vm6_node();
        r.delete_bridge(VRF, VM_MAC).expect("bridge");
        let (d, _, _) = run(&mut r, TAP, &vm_solicit(GW6));
        assert_eq!(d, Disposition::Drop(DropReason::InvalidNh));
    }

    #[test]
    fn routed_ipv6_from_a_vm_meets_its_flow_and_keeps_its_hop_limit() {
        let mut r = vm6_node();
        let (d, out, steps) = run_with_agent(&mut r, TAP, &vm_udp6(FAR6, 64));
        assert_eq!(d, Disposition::Transmit { vif: FABRIC }, "{steps:?}");
        let flow = steps.iter().find_map(|s| match s {
            Step::Flow { key, .. } => Some(*key),
            _ => None,
        });
        let key = flow.expect("a flow");
        assert_eq!(key.to_bytes().len(), crate::flow::IPV6_KEY_LEN);
        assert_eq!((key.src, key.dst), (IpAddr::V6(VM_ADDR6), IpAddr::V6(FAR6)));
        let d = vrsim_wire::dissect(&out);
        assert_eq!(d.chain().as_str(), "eth:ipv4:gre:mpls:ipv6:udp", "{d}");
        let inner = out.len() - (IP6_LEN + 8 + 2);
        let ip = Ipv6View::new_checked(&out[inner..]).expect("inner ipv6");
        assert_eq!(ip.hop_limit(), 64, "vr_forward leaves the hop limit");
        assert!(!steps.iter().any(|s| matches!(s, Step::Ttl { .. })));
        assert!(r.flows().iter().any(|(_, e)| e.key.is_ipv6()));
    }

    #[test]
    fn a_hop_limit_of_zero_is_trapped_as_a_zero_ttl() {
        let mut r = vm6_node();
        let (d, _, steps) = run_with_agent(&mut r, TAP, &vm_udp6(FAR6, 0));
        assert!(
            steps.contains(&Step::Trap {
                reason: TrapReason::ZeroTtl
            }),
            "{d:?} {steps:?}"
        );
    }

    #[test]
    fn ipv6_from_the_gateway_reaches_the_vm_by_label() {
        let mut r = vm6_node();
        let inner = vrsim_wire::Frame::new()
            .ipv6(FAR6, VM_ADDR6)
            .udp(53, 5000)
            .payload(b"a6");
        let (d, out, steps) = run_with_agent(&mut r, FABRIC, &from_gateway(LABEL_IN, 64, inner));
        assert_eq!(d, Disposition::Transmit { vif: TAP }, "{steps:?}");
        let d = vrsim_wire::dissect(&out);
        assert_eq!(d.chain().as_str(), "eth:ipv6:udp", "{d}");
        assert!(
            steps
                .iter()
                .any(|s| matches!(s, Step::FlowRpf { pass: true, .. }))
        );
    }

    #[test]
    fn ipv6_rides_mplsoudp_out_and_vxlan_in() {
        let mut r = vm6_node();
        let udp_tunnel = NexthopConfig {
            id: nh(30),
            kind: NhKind::Tunnel {
                encap: crate::nexthop::TunnelEncap::MplsOverUdp,
                oif: FABRIC,
                rewrite: crate::nexthop::ipv4_rewrite(GW_MAC, NODE_MAC),
                sip: NODE_IP,
                dip: GW_IP,
            },
            family: crate::nexthop::NhFamily::Inet,
            flags: NhFlags::VALID,
            vrf: VrfId::FABRIC,
        };
        r.add_nh(udp_tunnel).expect("nh");
        let via_udp = Route {
            nh: nh(30),
            label: MplsLabel::new(LABEL_OUT),
            flags: RouteFlags::empty(),
            stitched_mac: None,
        };
        r.add_route6(VRF, Ipv6Net::new(FAR6, 128).expect("/128"), via_udp)
            .expect("route");
        let (d, out, steps) = run_with_agent(&mut r, TAP, &vm_udp6(FAR6, 64));
        assert_eq!(d, Disposition::Transmit { vif: FABRIC }, "{steps:?}");
        let dissected = vrsim_wire::dissect(&out);
        assert_eq!(
            dissected.chain().as_str(),
            "eth:ipv4:udp:mpls:ipv6:udp",
            "{dissected}"
        );
        // VXLAN in: the inner frame is bridged to the VM through its bridge
        // nexthop, given Policy here so that the IPv6 flow is made.
        let mut l2 = r.nh(nh(11)).expect("bridge nh").config.clone();
        l2.flags = l2.flags | NhFlags::POLICY;
        r.add_nh(l2).expect("changed");
        let inner = vrsim_wire::Frame::new()
            .ethernet(GW_MAC, VM_MAC)
            .ipv6(FAR6, VM_ADDR6)
            .icmpv6_echo_request(9, 1, b"v6");
        let frame = vrsim_wire::Frame::new()
            .ethernet(GW_MAC, NODE_MAC)
            .ipv4(GW_IP, NODE_IP)
            .udp(52000, vrsim_wire::UDP_PORT_VXLAN)
            .vxlan(VNID)
            .append(inner)
            .build()
            .expect("builds");
        let (d, out, steps) = run_with_agent(&mut r, FABRIC, &frame);
        assert_eq!(d, Disposition::Transmit { vif: TAP }, "{steps:?}");
        assert_eq!(
            vrsim_wire::dissect(&out).chain().as_str(),
            "eth:ipv6:icmpv6"
        );
        let key = steps.iter().find_map(|s| match s {
            Step::Flow { key, .. } => Some(*key),
            _ => None,
        });
        assert_eq!(key.map(|k| (k.proto, k.sport, k.dport)), Some((58, 9, 129)));
    }

    #[test]
    fn a_unicast_solicitation_to_another_vms_mac_is_bridged_to_it() {
        let mut r = vm6_node();
        let peer_mac = MacAddr::new(2, 0, 0, 0, 0, 0x44);
        let entry = BridgeEntry {
            nh: nh(11),
            label: None,
        };
        r.add_bridge(VRF, peer_mac, entry).expect("bridge");
        let mut ns = vm_solicit(GW6);
        ns[..6].copy_from_slice(&peer_mac.octets());
        let (d, _, steps) = run(&mut r, TAP, &ns);
        let proxied = |steps: &[Step]| {
            steps
                .iter()
                .filter(|s| matches!(s, Step::NeighborProxy { .. }))
                .count()
        };
        assert_eq!(proxied(&steps), 0, "{steps:?}");
        assert_eq!(d, Disposition::Transmit { vif: TAP });
        // To the vRouter's MAC it reaches `nh_l2_rcv` and is answered, once.
        ns[..6].copy_from_slice(&VROUTER_MAC.octets());
        let (d, _, steps) = run(&mut r, TAP, &ns);
        assert_eq!(d, Disposition::Transmit { vif: TAP });
        assert_eq!(proxied(&steps), 1, "{steps:?}");
    }

    #[test]
    fn a_vms_answer_leaves_on_its_tap_whatever_its_entry_leads_to() {
        let mut r = vm6_node();
        // The asker's bridge entry points at the tunnel (a stale entry).
        let stale = BridgeEntry {
            nh: nh(20),
            label: Some(LABEL_OUT),
        };
        r.add_bridge(VRF, VM_MAC, stale).expect("bridge");
        let (d, _, _) = run(&mut r, TAP, &vm_solicit(GW6));
        assert_eq!(d, Disposition::Transmit { vif: TAP });
    }

    #[test]
    fn cross_connect_mode_and_mac_proxy_on_the_fabric() {
        let mut r = v6_node();
        let fabric = r.vif(FABRIC).expect("fabric").config.clone();
        r.change_vif(VifConfig {
            flags: fabric.flags | VifFlags::XCONNECT,
            ..fabric.clone()
        })
        .expect("fabric");
        let (d, _, steps) = run(&mut r, FABRIC, &advert());
        assert_eq!(d, Disposition::ToHost { vif: VHOST });
        let copies = steps
            .iter()
            .filter(|s| matches!(s, Step::CopyToAgent { .. }));
        assert_eq!(copies.count(), 0, "cross-connect mode: no copy");
        r.change_vif(VifConfig {
            flags: fabric.flags | VifFlags::MAC_PROXY,
            ..fabric
        })
        .expect("fabric");
        let (d, out, _) = run(&mut r, FABRIC, &solicit(PEER6));
        assert_eq!(d, Disposition::Transmit { vif: FABRIC });
        let eth = EthernetView::new_checked(&out).expect("eth");
        let ip = Ipv6View::new_checked(eth.payload()).expect("ipv6");
        let icmp = Icmpv6View::new_checked(ip.payload()).expect("icmp6");
        let na = NeighborRepr::parse(&icmp).expect("na");
        let want = (FLAG_SOLICITED | FLAG_ROUTER, Some(NODE_MAC));
        assert_eq!((na.flags, na.link_addr), want);
    }

    #[test]
    fn routed_ipv6_header_faults_are_pull_or_invalid_protocol() {
        let mut r = vm6_node();
        let good = vm_udp6(FAR6, 64);
        // Cut inside the fixed header: Pull.
        let (d, _, _) = run(&mut r, TAP, &good[..ETH_LEN + 30]);
        assert_eq!(d, Disposition::Drop(DropReason::Pull));
        // Version 5 in an IPv6 frame: Invalid Protocol.
        let mut v5 = good.clone();
        v5[ETH_LEN] = 0x50 | (v5[ETH_LEN] & 0x0f);
        let (d, _, _) = run(&mut r, TAP, &v5);
        assert_eq!(d, Disposition::Drop(DropReason::InvalidProtocol));
        // A payload length past the packet is not checked: it goes on.
        let mut long = good.clone();
        long[ETH_LEN + 4..ETH_LEN + 6].copy_from_slice(&2000u16.to_be_bytes());
        let (d, _, steps) = run_with_agent(&mut r, TAP, &long);
        assert_eq!(d, Disposition::Transmit { vif: FABRIC }, "{steps:?}");
    }
}
