//! The VM side and the common forwarding core: `vr_virtual_input`, proxy
//! ARP, `vr_forward` (inet lookup and TTL), RPF, and `nh_output`.

use std::net::IpAddr;

use ipnet::IpNet;
use vrsim_wire::arp::{ArpOperation, ArpRepr, ArpView};
use vrsim_wire::ethernet::{EthernetRepr, EthernetView, HEADER_LEN as ETH_LEN};
use vrsim_wire::ipv4::Ipv4View;
use vrsim_wire::{EtherType, IpProtocol, MacAddr};

use crate::decap::{matched_prefix, traced_prefix};
use crate::drop::DropReason;
use crate::ids::NhId;
use crate::nexthop::{NhFamily, NhFlags, NhKind};
use crate::packet::PacketBuf;
use crate::pipeline::{Disposition, Fmd, MAX_NH_CHAIN};
use crate::route::{BridgeEntry, RouteFlags};
use crate::trace::{RpfExpect, Step, Tracer, TrapReason};
use crate::vif::VifFlags;
use crate::vrouter::VRouter;

impl VRouter {
    /// `vr_virtual_input`: a frame from a VM's tap.
    pub(crate) fn virtual_input<T: Tracer>(
        &self,
        fmd: Fmd,
        buf: &mut PacketBuf,
        trace: &mut T,
    ) -> Disposition {
        let Ok(eth) = EthernetView::new_checked(buf.frame()) else {
            return Disposition::Drop(DropReason::InterfaceDrop);
        };
        if eth.ethertype() == EtherType::Arp {
            return self.arp_from_vm(fmd, buf, trace);
        }
        self.bridge_input(fmd, buf, trace)
    }

    /// `vr_bridge_input`: look the destination MAC up in the VRF's bridge table.
    /// An entry whose nexthop is Discard counts as a miss. A multicast or
    /// broadcast miss uses the broadcast entry; a unicast miss floods through
    /// it when unknown-unicast flooding is on (the tap's `Uuf` flag for frames
    /// from a VM, the label or VNID nexthop's `Unicast Flood` flag for frames
    /// from the fabric), and is dropped as `No L2 Route` otherwise.
    fn bridge_input<T: Tracer>(&self, fmd: Fmd, buf: &mut PacketBuf, trace: &mut T) -> Disposition {
        let Ok(eth) = EthernetView::new_checked(buf.frame()) else {
            return Disposition::Drop(DropReason::InvalidPacket);
        };
        let mac = eth.dst();
        let found = self
            .bridge_entry(&fmd, mac, trace)
            .filter(|e| e.nh != NhId::DISCARD);
        let entry = match found {
            Some(e) => e,
            None if mac.is_multicast() || self.floods_unknown_unicast(&fmd) => {
                match self.bridge_entry(&fmd, MacAddr::broadcast(), trace) {
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
        if fmd.from_fabric && to_tunnel && !mac.is_multicast() {
            return Disposition::Drop(DropReason::InvalidSource);
        }
        let fmd = Fmd {
            label: entry.label,
            ..fmd
        };
        self.nh_output(fmd, entry.nh, false, buf, trace)
    }

    fn bridge_entry<T: Tracer>(
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
        if fmd.from_fabric {
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
    fn arp_from_vm<T: Tracer>(&self, fmd: Fmd, buf: &mut PacketBuf, trace: &mut T) -> Disposition {
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
            ArpOperation::Reply => return self.bridge_input(fmd, buf, trace),
            ArpOperation::Unknown(_) => return Disposition::Drop(DropReason::InvalidArp),
        }
        if arp.sender_ip == arp.target_ip {
            // Gratuitous ARP: flooded, except on a vif that proxies every MAC request.
            if vif_flags.contains(VifFlags::MAC_PROXY) {
                return Disposition::Drop(DropReason::InvalidArp);
            }
            return self.bridge_input(fmd, buf, trace);
        }
        if eth.dst().is_broadcast()
            && self
                .bridge_entry(&fmd, MacAddr::broadcast(), trace)
                .is_none()
        {
            return Disposition::Drop(DropReason::L2NoRoute);
        }
        let route = self
            .vrfs
            .get(fmd.vrf.index())
            .and_then(|v| v.inet4.longest_match(arp.target_ip));
        trace.step(Step::InetLookup {
            vrf: fmd.vrf,
            key: IpAddr::V4(arp.target_ip),
            matched: route.map(|(p, _)| IpNet::V4(p)),
            nh: route.map_or(NhId::DISCARD, |(_, r)| r.nh),
            label: route.and_then(|(_, r)| r.label),
        });
        let vif_mac = vif.map_or(MacAddr::zero(), |v| v.config.mac);
        let proxy = vif_flags.contains(VifFlags::MAC_PROXY)
            || route.is_some_and(|(_, r)| r.flags.contains(RouteFlags::ARP_PROXY));
        let answer = match route {
            Some((_, r)) if proxy => match r.stitched_mac {
                Some((mac, _)) => Some(mac),
                None if r.flags.contains(RouteFlags::ARP_FLOOD) => None,
                None => Some(vif_mac),
            },
            None if proxy => Some(vif_mac),
            _ => None,
        };
        let Some(mac) = answer else {
            return self.bridge_input(fmd, buf, trace);
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
        trace.step(Step::ArpProxy {
            target: arp.target_ip,
            mac,
        });
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
        Disposition::Transmit { vif: fmd.ingress }
    }

    /// `vr_forward`: look the destination up in the VRF, decrement the TTL
    /// unless `keep_ttl`, then `nh_output`. `buf` starts at the IP header.
    fn forward<T: Tracer>(
        &self,
        mut fmd: Fmd,
        keep_ttl: bool,
        buf: &mut PacketBuf,
        trace: &mut T,
    ) -> Disposition {
        let Ok(ip) = Ipv4View::new_checked(buf.frame()) else {
            return Disposition::Drop(DropReason::InvalidPacket);
        };
        let (dst, ttl, total_len) = (ip.dst(), ip.ttl(), ip.total_len());
        buf.trim_to(total_len);
        let (nh, matched, label) = self.route4(fmd.vrf, dst);
        trace.step(Step::InetLookup {
            vrf: fmd.vrf,
            key: IpAddr::V4(dst),
            matched: traced_prefix::<T>(dst, matched),
            nh,
            label,
        });
        if let Some(l) = label {
            fmd.label = Some(l.value());
        }
        let gateway_nh = matches!(
            self.nh(nh).map(|n| &n.config.kind),
            Some(NhKind::Encap { oif, .. }) if self.vif(*oif).is_some_and(|v| v.config.kind == crate::vif::VifType::Agent)
        );
        if !keep_ttl && !gateway_nh {
            if ttl == 0 {
                return Disposition::Drop(DropReason::TtlExceeded);
            }
            decrement_ttl(buf.frame_mut());
            trace.step(Step::Ttl {
                from: ttl,
                to: ttl - 1,
            });
            fmd.ttl = Some(ttl - 1);
        }
        self.nh_output(fmd, nh, true, buf, trace)
    }

    /// RPF on the packet's source (reference §5): `None` when it passes.
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

    /// The RPF rule of a source nexthop (reference §5). Composites recurse
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

    /// `nh_output`: `l3` says whether `buf` starts at the IP header (true) or
    /// at an Ethernet header (false).
    pub(crate) fn nh_output<T: Tracer>(
        &self,
        mut fmd: Fmd,
        id: NhId,
        l3: bool,
        buf: &mut PacketBuf,
        trace: &mut T,
    ) -> Disposition {
        fmd.hops += 1;
        if fmd.hops > MAX_NH_CHAIN {
            return Disposition::Drop(DropReason::PacketLoop);
        }
        let Some(nh) = self.nh(id) else {
            return Disposition::Drop(DropReason::InvalidNh);
        };
        let c = &nh.config;
        trace.step(Step::Nexthop {
            nh: id,
            kind: c.kind.type_name(),
        });
        // A TTL that reached 0 is the agent's to answer (`AGENT_TRAP_ZERO_TTL`).
        if fmd.ttl == Some(0) {
            return self.trap_to_agent(TrapReason::ZeroTtl, trace);
        }
        if !c.flags.contains(NhFlags::VALID) {
            return Disposition::Drop(DropReason::InvalidNh);
        }
        let policy = c.flags.contains(NhFlags::POLICY) || c.flags.contains(NhFlags::FLOW_LOOKUP);
        // Flow processing (and so RPF) for IPv4, routed or bridged
        // (`vr_flow_forward`), once per packet.
        let flow = !fmd.flow_done
            && (policy
                || self
                    .vif(fmd.ingress)
                    .is_some_and(|v| v.config.flags.contains(VifFlags::POLICY)));
        let ip_at = match (flow, l3) {
            (false, _) => None,
            (true, true) => Some(0),
            (true, false) => EthernetView::new_checked(buf.frame())
                .is_ok_and(|e| e.ethertype() == EtherType::Ipv4)
                .then_some(ETH_LEN),
        };
        if let Some(at) = ip_at {
            fmd.flow_done = true;
            let ip = buf.frame().get(at..).unwrap_or_default();
            // A packet that came by label skips routing: show the route its flow takes.
            if T::ENABLED
                && fmd.from_fabric
                && let Ok(v) = Ipv4View::new_checked(ip)
            {
                let (nh, matched, label) = self.route4(fmd.vrf, v.dst());
                let (key, matched) = (IpAddr::V4(v.dst()), matched_prefix(v.dst(), matched));
                trace.step(Step::InetLookup {
                    vrf: fmd.vrf,
                    key,
                    matched,
                    nh,
                    label,
                });
            }
            if let Some(reason) = self.rpf(&fmd, ip, trace) {
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
                self.forward(fmd, false, buf, trace)
            }
            NhKind::VrfTranslate { vrf } => {
                fmd.vrf = *vrf;
                trace.step(Step::VrfTranslate { nh: id, vrf: *vrf });
                // Today's vRouter decides by family alone; the 2017 release the
                // seed document shows bridged when the Vxlan flag (then
                // NH_FLAG_VNID) was set, as on its AF_INET VXLAN nexthops.
                let bridge =
                    c.family == NhFamily::Bridge || c.flags.contains(NhFlags::TUNNEL_VXLAN);
                match (bridge, l3) {
                    (true, false) => self.bridge_input(fmd, buf, trace),
                    (false, true) => self.forward(fmd, true, buf, trace),
                    // An Ethernet frame handed to the inet lookup, or an IP packet to the bridge.
                    _ => Disposition::Drop(DropReason::InvalidProtocol),
                }
            }
            NhKind::Encap { oif, rewrite, .. } => {
                if self.vif(*oif).is_none() {
                    return Disposition::Drop(DropReason::InvalidIf);
                }
                if l3 || c.family != NhFamily::Bridge {
                    if !l3 {
                        buf.pull(ETH_LEN);
                    }
                    let v6 = buf.frame().first().is_some_and(|b| b >> 4 == 6);
                    let Some(head) = buf.push(ETH_LEN) else {
                        return Disposition::Drop(DropReason::Push);
                    };
                    head.copy_from_slice(rewrite);
                    let ethertype = if v6 { EtherType::Ipv6 } else { EtherType::Ipv4 };
                    head[12..14].copy_from_slice(&ethertype.value().to_be_bytes());
                    trace.step(Step::Rewrite {
                        dst: mac_at(rewrite, 0),
                        src: mac_at(rewrite, 6),
                    });
                }
                // The vRouter checks no MTU towards a tap.
                Disposition::Transmit { vif: *oif }
            }
            kind @ NhKind::Tunnel { .. } => self.tunnel_output(&fmd, kind, l3, buf, trace),
            NhKind::Composite { members } => {
                let index = flow_hash(buf.frame(), l3) as usize % members.len().max(1);
                let Some(member) = members.get(index) else {
                    return Disposition::Drop(DropReason::InvalidNh);
                };
                trace.step(Step::Ecmp {
                    nh: id,
                    index,
                    member: member.nh,
                });
                if let Some(l) = member.label {
                    fmd.label = Some(l.value());
                }
                self.nh_output(fmd, member.nh, l3, buf, trace)
            }
        }
    }
}

fn mac_at(b: &[u8; 14], at: usize) -> MacAddr {
    MacAddr::new(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5])
}

/// Decrement an IPv4 TTL and patch the header checksum (RFC 1624).
pub(crate) fn decrement_ttl(ip: &mut [u8]) {
    if ip.len() < 12 {
        return;
    }
    ip[8] = ip[8].wrapping_sub(1);
    // TTL is the high byte of word 4: HC' = ~(~HC + ~m + m') with m' = m - 0x0100.
    let old = u16::from_be_bytes([ip[10], ip[11]]);
    let sum = u32::from(!old) + 0xfeff;
    let folded = (sum & 0xffff) + (sum >> 16);
    let new = !((folded & 0xffff) + (folded >> 16)) as u16;
    ip[10..12].copy_from_slice(&new.to_be_bytes());
}

/// A flow hash of the IPv4 5-tuple (FNV-1a over source, destination,
/// protocol and ports), stable per flow.
pub(crate) fn flow_hash(frame: &[u8], l3: bool) -> u32 {
    let ip = if l3 {
        frame
    } else {
        frame.get(ETH_LEN..).unwrap_or(&[])
    };
    let Ok(v) = Ipv4View::new_checked(ip) else {
        return 0;
    };
    let mut key = [0u8; 13];
    key[..4].copy_from_slice(&v.src().octets());
    key[4..8].copy_from_slice(&v.dst().octets());
    key[8] = v.protocol().value();
    if matches!(v.protocol(), IpProtocol::Tcp | IpProtocol::Udp)
        && !v.is_fragment()
        && let Some(ports) = v.payload().get(..4)
    {
        key[9..13].copy_from_slice(ports);
    }
    key.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}
