//! From the fabric: `vr_fabric_input`, the outer lookup in the fabric VRF,
//! `vr_ip_rcv` with GRE and UDP input, `vr_mpls_input` and `vr_vxlan_input`.

use vrsim_wire::ethernet::HEADER_LEN as ETH_LEN;
use vrsim_wire::gre::GreView;
use vrsim_wire::ipv4::Ipv4View;
use vrsim_wire::mpls::{ENTRY_LEN, MplsEntry};
use vrsim_wire::udp::{HEADER_LEN as UDP_LEN, UdpView};
use vrsim_wire::vxlan::{FLAG_I, FLAG_ROUTER_ALERT, HEADER_LEN as VXLAN_LEN, VxlanView};
use vrsim_wire::{
    EtherType, IpProtocol, UDP_PORT_MPLS, UDP_PORT_MPLS_LEGACY, UDP_PORT_VXLAN, Vni, ip_version,
};

use super::lookup::forward_ttl;
use super::{Ctx, Disposition, Fmd};
use crate::drop::DropReason;
use crate::nexthop::{NhFamily, NhKind, TunnelEncap};
use crate::packet::PacketBuf;
use crate::trace::{Step, Tracer, TrapReason};
use crate::vrouter::VRouter;

/// The top label value the vRouter pops without looking it up when S is clear.
const TRANSPORT_LABEL_POP: u32 = 0xF_FFFF;

impl VRouter {
    /// `vr_fabric_input`: IPv4 to the outer lookup, IPv6 to
    /// [`fabric_ipv6`](Self::fabric_ipv6), everything else to the host.
    pub(super) fn fabric_input<T: Tracer>(
        &self,
        fmd: Fmd,
        ethertype: EtherType,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        match ethertype {
            EtherType::Ipv4 => {
                buf.pull(ETH_LEN);
                self.fabric_l3(fmd, buf, cx)
            }
            EtherType::Ipv6 => self.fabric_ipv6(fmd, buf, cx),
            _ => self.to_host(),
        }
    }

    /// `vr_l3_input` on the fabric: look the outer destination up in the
    /// fabric VRF; a Receive nexthop means the packet is for this node.
    fn fabric_l3<T: Tracer>(
        &self,
        mut fmd: Fmd,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        let Ok(ip) = Ipv4View::new_checked(buf.frame()) else {
            return Disposition::Drop(DropReason::InvalidPacket);
        };
        let (src, dst, proto, header_len, total_len, ttl) = (
            ip.src(),
            ip.dst(),
            ip.protocol(),
            ip.header_len(),
            ip.total_len(),
            ip.ttl(),
        );
        let (nh, _) = self.inet_lookup(fmd.vrf, dst, cx.trace);
        // `vr_forward` decrements the outer TTL in the fabric VRF too; a TTL
        // that reaches 0 is trapped to the agent before any decapsulation.
        let Some(ttl) = forward_ttl(buf.frame_mut(), ttl, cx.trace) else {
            return Disposition::Drop(DropReason::TtlExceeded);
        };
        if ttl == 0 {
            return self.trap_to_agent(TrapReason::ZeroTtl, cx.trace);
        }
        let Some(NhKind::Receive { .. }) = self.nh(nh).map(|n| &n.config.kind) else {
            // Not for this node: forward it in the fabric VRF.
            fmd.ttl = Some(ttl);
            return self.nh_output(fmd, nh, true, buf, cx);
        };
        buf.trim_to(total_len);
        let payload = &buf.frame()[header_len..];
        let encap = match proto {
            IpProtocol::Gre => match GreView::new_checked(payload) {
                // `vr_gre_input` handles the C and K options only, and protocol 0x8847.
                Ok(gre) if gre.sequence().is_none() && gre.protocol() == EtherType::Mpls => {
                    Some((TunnelEncap::MplsOverGre, gre.header_len()))
                }
                Ok(_) => None,
                Err(e) if matches!(e.kind, vrsim_wire::ErrorKind::Truncated { .. }) => {
                    return Disposition::Drop(DropReason::Pull);
                }
                Err(_) => None,
            },
            IpProtocol::Udp => match UdpView::new_checked(payload) {
                Ok(udp) => match udp.dst_port() {
                    UDP_PORT_MPLS | UDP_PORT_MPLS_LEGACY => {
                        Some((TunnelEncap::MplsOverUdp, UDP_LEN))
                    }
                    UDP_PORT_VXLAN => Some((TunnelEncap::Vxlan, UDP_LEN)),
                    _ => None,
                },
                Err(_) => return Disposition::Drop(DropReason::Pull),
            },
            _ => None,
        };
        // Packets `vr_ip_rcv` does not handle go to the host stack, Ethernet header and all.
        let Some((encap, tunnel_len)) = encap else {
            buf.push(ETH_LEN);
            return self.to_host();
        };
        cx.trace.step(Step::Decap {
            encap,
            outer_src: src,
            outer_dst: dst,
        });
        buf.pull(header_len + tunnel_len);
        fmd.outer_src = Some(src);
        match encap {
            TunnelEncap::Vxlan => self.vxlan_input(fmd, buf, cx),
            _ => self.mpls_input(fmd, buf, cx),
        }
    }

    /// `vr_mpls_input`: pop the label (a transport label 0xFFFFF without
    /// bottom of stack first), check its TTL, and follow its nexthop.
    fn mpls_input<T: Tracer>(
        &self,
        mut fmd: Fmd,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        let Ok((mut entry, mut bottom)) = MplsEntry::read(buf.frame()) else {
            return Disposition::Drop(DropReason::Pull);
        };
        if entry.label.value() == TRANSPORT_LABEL_POP && !bottom {
            buf.pull(ENTRY_LEN);
            let Ok(next) = MplsEntry::read(buf.frame()) else {
                return Disposition::Drop(DropReason::Pull);
            };
            (entry, bottom) = next;
        }
        let Some(label) = self.label_in_table(entry.label.value()) else {
            return Disposition::Drop(DropReason::InvalidLabel);
        };
        if entry.ttl <= 1 {
            return Disposition::Drop(DropReason::TtlExceeded);
        }
        fmd.ttl = Some(entry.ttl - 1);
        // A label without bottom of stack would be output unpopped, which only
        // an MPLS pop nexthop (not modelled) handles: vrsim drops it.
        if !bottom {
            return Disposition::Drop(DropReason::InvalidProtocol);
        }
        buf.pull(ENTRY_LEN);
        let nh_id = self.label(label);
        cx.trace.step(Step::Label { label, nh: nh_id });
        let Some(nh_id) = nh_id else {
            return Disposition::Drop(DropReason::InvalidLabel);
        };
        let Some(nh) = self.nh(nh_id) else {
            return Disposition::Drop(DropReason::InvalidLabel);
        };
        match nh.config.family {
            NhFamily::Inet | NhFamily::Inet6 => {
                if !matches!(ip_version(buf.frame()), Some(4 | 6)) {
                    return Disposition::Drop(DropReason::InvalidProtocol);
                }
            }
            NhFamily::Bridge => {}
        }
        fmd.vrf = nh.config.vrf;
        fmd.key_nh = Some(nh_id);
        let l3 = nh.config.family != NhFamily::Bridge;
        self.nh_output(fmd, nh_id, l3, buf, cx)
    }

    /// `vr_vxlan_input`: the VNID's nexthop; the router-alert bit traps to the agent.
    fn vxlan_input<T: Tracer>(
        &self,
        mut fmd: Fmd,
        buf: &mut PacketBuf,
        cx: &mut Ctx<'_, T>,
    ) -> Disposition {
        let Ok(vx) = VxlanView::new_checked(buf.frame()) else {
            return Disposition::Drop(DropReason::Pull);
        };
        let flags = vx.flags();
        if flags & FLAG_I == 0 {
            return Disposition::Drop(DropReason::InvalidVnid);
        }
        let vni: Vni = vx.vni();
        let nh = self.vnid(vni);
        cx.trace.step(Step::Vnid { vni, nh });
        let Some(nh) = nh else {
            return Disposition::Drop(DropReason::InvalidVnid);
        };
        buf.pull(VXLAN_LEN);
        if buf.len() < ETH_LEN {
            return Disposition::Drop(DropReason::InvalidPacket);
        }
        fmd.label = Some(vni.value());
        fmd.key_nh = Some(nh);
        if let Some(n) = self.nh(nh) {
            fmd.vrf = n.config.vrf;
        }
        // `vr_vxlan_input`: the router-alert bit traps to the agent.
        if flags & FLAG_ROUTER_ALERT != 0 {
            return self.trap_to_agent(TrapReason::RouterAlert, cx.trace);
        }
        self.nh_output(fmd, nh, false, buf, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use crate::trace::TrapReason;
    use vrsim_wire::{Frame, Header, dissect};

    #[test]
    fn mplsogre_is_decapsulated_and_its_label_leads_to_the_vm() {
        let mut r = node();
        let frame = from_gateway(LABEL_IN, 64, echo(REMOTE_IP, VM_IP, 63));
        let (d, out, steps) = run_with_agent(&mut r, FABRIC, &frame);
        assert_eq!(d, Disposition::Transmit { vif: TAP });
        assert!(steps.iter().any(|s| matches!(
            s,
            Step::Decap {
                encap: TunnelEncap::MplsOverGre,
                ..
            }
        )));
        assert!(
            steps
                .iter()
                .any(|s| matches!(s, Step::Label { nh: Some(n), .. } if *n == nh(10)))
        );
        // The outer TTL went 64 -> 63; the inner packet is routed by label, TTL kept.
        assert!(
            steps
                .iter()
                .any(|s| matches!(s, Step::Ttl { from: 64, to: 63 }))
        );
        let d = dissect(&out);
        assert_eq!(d.chain(), "eth:ipv4:icmp");
        let Some(Header::Ipv4(ip)) = d.iter().nth(1) else {
            panic!("no ipv4: {d}")
        };
        assert_eq!((ip.dst, ip.ttl), (VM_IP, 63));
    }

    #[test]
    fn an_unknown_label_is_an_invalid_label_drop() {
        let mut r = node();
        let frame = from_gateway(99, 64, echo(REMOTE_IP, VM_IP, 63));
        let (d, _, _) = run_with_agent(&mut r, FABRIC, &frame);
        assert_eq!(d, Disposition::Drop(DropReason::InvalidLabel));
    }

    #[test]
    fn an_outer_ttl_of_one_is_trapped_to_the_agent_before_decapsulation() {
        let mut r = node();
        let frame = from_gateway(LABEL_IN, 1, echo(REMOTE_IP, VM_IP, 63));
        let (d, _, steps) = run_with_agent(&mut r, FABRIC, &frame);
        assert_eq!(d, Disposition::ToHost { vif: AGENT });
        assert!(steps.iter().any(|s| matches!(
            s,
            Step::Trap {
                reason: TrapReason::ZeroTtl
            }
        )));
        assert!(!steps.iter().any(|s| matches!(s, Step::Decap { .. })));
    }

    #[test]
    fn a_truncated_label_is_a_pull_drop() {
        let mut r = node();
        let mut frame = from_gateway(LABEL_IN, 64, echo(REMOTE_IP, VM_IP, 63));
        // Cut inside the label, and make the outer lengths say so.
        let cut = 14 + 20 + 4 + 2;
        frame.truncate(cut);
        let total = (cut - 14) as u16;
        frame[16..18].copy_from_slice(&total.to_be_bytes());
        frame[24..26].copy_from_slice(&[0, 0]);
        let sum = vrsim_wire::ipv4::Ipv4View::new_checked(&frame[14..])
            .expect("ipv4")
            .compute_checksum();
        frame[24..26].copy_from_slice(&sum.to_be_bytes());
        let (d, _, _) = run_with_agent(&mut r, FABRIC, &frame);
        assert_eq!(d, Disposition::Drop(DropReason::Pull));
    }

    #[test]
    fn ip_to_vhost_that_is_not_a_tunnel_goes_to_the_host() {
        let mut r = node();
        let frame = Frame::new()
            .ethernet(GW_MAC, NODE_MAC)
            .ipv4(GW_IP, NODE_IP)
            .udp(40000, 22)
            .payload(b"ssh")
            .build()
            .expect("builds");
        let (d, out, _) = run_with_agent(&mut r, FABRIC, &frame);
        assert_eq!(d, Disposition::ToHost { vif: VHOST });
        assert_eq!(out.len(), frame.len(), "handed up with its Ethernet header");
    }

    #[test]
    fn vxlan_leads_through_the_vnid_to_the_bridge_table() {
        let mut r = node();
        let inner = Frame::new()
            .ethernet(GW_MAC, VM_MAC)
            .append(echo(REMOTE_IP, VM_IP, 63));
        let frame = Frame::new()
            .ethernet(GW_MAC, NODE_MAC)
            .ipv4(GW_IP, NODE_IP)
            .udp(52000, vrsim_wire::UDP_PORT_VXLAN)
            .vxlan(VNID)
            .append(inner)
            .build()
            .expect("builds");
        let (d, _, steps) = run_with_agent(&mut r, FABRIC, &frame);
        assert_eq!(d, Disposition::Transmit { vif: TAP });
        assert!(
            steps
                .iter()
                .any(|s| matches!(s, Step::Vnid { nh: Some(n), .. } if *n == nh(14)))
        );
        assert!(
            steps
                .iter()
                .any(|s| matches!(s, Step::BridgeLookup { mac, .. } if *mac == VM_MAC))
        );
    }

    #[test]
    fn an_unknown_vnid_is_an_invalid_vnid_drop() {
        let mut r = node();
        let frame = Frame::new()
            .ethernet(GW_MAC, NODE_MAC)
            .ipv4(GW_IP, NODE_IP)
            .udp(52000, vrsim_wire::UDP_PORT_VXLAN)
            .vxlan(77)
            .append(
                Frame::new()
                    .ethernet(GW_MAC, VM_MAC)
                    .append(echo(REMOTE_IP, VM_IP, 63)),
            )
            .build()
            .expect("builds");
        let (d, _, _) = run_with_agent(&mut r, FABRIC, &frame);
        assert_eq!(d, Disposition::Drop(DropReason::InvalidVnid));
    }
}
