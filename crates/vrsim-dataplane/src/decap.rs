//! The fabric side: the outer lookup, `vr_ip_rcv`, GRE and UDP input,
//! `vr_mpls_input` and `vr_vxlan_input` (reference §3).

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use vrsim_wire::gre::GreView;
use vrsim_wire::ipv4::Ipv4View;
use vrsim_wire::udp::UdpView;
use vrsim_wire::vxlan::{FLAG_I, FLAG_ROUTER_ALERT, VxlanView};
use vrsim_wire::{EtherType, IpProtocol, UDP_PORT_MPLS, UDP_PORT_MPLS_LEGACY, UDP_PORT_VXLAN, Vni};

use crate::drop::DropReason;
use crate::ids::NhId;
use crate::nexthop::{NhFamily, NhKind, TunnelEncap};
use crate::packet::PacketBuf;
use crate::pipeline::{Disposition, Fmd};
use crate::trace::{Step, Tracer, TrapReason};
use crate::vrouter::VRouter;

/// The top label value the vRouter pops without looking it up when S is clear.
const TRANSPORT_LABEL_POP: u32 = 0xF_FFFF;

impl VRouter {
    /// `vr_l3_input` on the fabric: look the outer destination up in the
    /// fabric VRF; a Receive nexthop means the packet is for this node.
    pub(crate) fn fabric_l3<T: Tracer>(
        &self,
        mut fmd: Fmd,
        buf: &mut PacketBuf,
        trace: &mut T,
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
        let (nh, matched, label) = self.route4(fmd.vrf, dst);
        trace.step(Step::InetLookup {
            vrf: fmd.vrf,
            key: IpAddr::V4(dst),
            matched: traced_prefix::<T>(dst, matched),
            nh,
            label,
        });
        // `vr_forward` decrements the outer TTL in the fabric VRF too; a TTL
        // that reaches 0 is trapped to the agent before any decapsulation.
        if ttl == 0 {
            return Disposition::Drop(DropReason::TtlExceeded);
        }
        crate::forward::decrement_ttl(buf.frame_mut());
        trace.step(Step::Ttl {
            from: ttl,
            to: ttl - 1,
        });
        if ttl == 1 {
            return self.trap_to_agent(TrapReason::ZeroTtl, trace);
        }
        let Some(NhKind::Receive { .. }) = self.nh(nh).map(|n| &n.config.kind) else {
            // Not for this node: forward it in the fabric VRF.
            fmd.ttl = Some(ttl - 1);
            return self.nh_output(fmd, nh, true, buf, trace);
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
                    UDP_PORT_MPLS | UDP_PORT_MPLS_LEGACY => Some((TunnelEncap::MplsOverUdp, 8)),
                    UDP_PORT_VXLAN => Some((TunnelEncap::Vxlan, 8)),
                    _ => None,
                },
                Err(_) => return Disposition::Drop(DropReason::Pull),
            },
            _ => None,
        };
        // Packets `vr_ip_rcv` does not handle go to the host stack, Ethernet header and all.
        let Some((encap, tunnel_len)) = encap else {
            buf.push(vrsim_wire::ethernet::HEADER_LEN);
            return self.to_host();
        };
        trace.step(Step::Decap {
            encap,
            outer_src: src,
            outer_dst: dst,
        });
        buf.pull(header_len + tunnel_len);
        fmd.outer_src = Some(src);
        match encap {
            TunnelEncap::Vxlan => self.vxlan_input(fmd, buf, trace),
            _ => self.mpls_input(fmd, buf, trace),
        }
    }

    /// `vr_mpls_input`.
    fn mpls_input<T: Tracer>(
        &self,
        mut fmd: Fmd,
        buf: &mut PacketBuf,
        trace: &mut T,
    ) -> Disposition {
        let mut word = match read_u32(buf.frame()) {
            Some(w) => w,
            None => return Disposition::Drop(DropReason::Pull),
        };
        if word >> 12 == TRANSPORT_LABEL_POP && word & 0x100 == 0 {
            buf.pull(4);
            word = match read_u32(buf.frame()) {
                Some(w) => w,
                None => return Disposition::Drop(DropReason::Pull),
            };
        }
        let (raw_label, ttl) = (word >> 12, (word & 0xff) as u8);
        let Some(label) = self.label_in_table(raw_label) else {
            return Disposition::Drop(DropReason::InvalidLabel);
        };
        if ttl <= 1 {
            return Disposition::Drop(DropReason::TtlExceeded);
        }
        fmd.ttl = Some(ttl - 1);
        // A label without bottom of stack would be output unpopped, which only
        // an MPLS pop nexthop (not modelled) handles: vrsim drops it.
        if word & 0x100 == 0 {
            return Disposition::Drop(DropReason::InvalidProtocol);
        }
        buf.pull(4);
        let nh_id = self.label(label);
        trace.step(Step::Label { label, nh: nh_id });
        let Some(nh_id) = nh_id else {
            return Disposition::Drop(DropReason::InvalidLabel);
        };
        let Some(nh) = self.nh(nh_id) else {
            return Disposition::Drop(DropReason::InvalidLabel);
        };
        match nh.config.family {
            NhFamily::Inet | NhFamily::Inet6 => {
                if !matches!(buf.frame().first().map(|b| b >> 4), Some(4 | 6)) {
                    return Disposition::Drop(DropReason::InvalidProtocol);
                }
            }
            NhFamily::Bridge => {}
        }
        fmd.vrf = nh.config.vrf;
        fmd.key_nh = Some(nh_id);
        let l3 = nh.config.family != NhFamily::Bridge;
        self.nh_output(fmd, nh_id, l3, buf, trace)
    }

    /// `vr_vxlan_input`. The router-alert bit traps to the agent (reference §3).
    fn vxlan_input<T: Tracer>(
        &self,
        mut fmd: Fmd,
        buf: &mut PacketBuf,
        trace: &mut T,
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
        trace.step(Step::Vnid { vni, nh });
        let Some(nh) = nh else {
            return Disposition::Drop(DropReason::InvalidVnid);
        };
        buf.pull(8);
        if buf.len() < vrsim_wire::ethernet::HEADER_LEN {
            return Disposition::Drop(DropReason::InvalidPacket);
        }
        fmd.label = Some(vni.value());
        fmd.key_nh = Some(nh);
        if let Some(n) = self.nh(nh) {
            fmd.vrf = n.config.vrf;
        }
        // Reference §3 step 6: the router-alert bit traps to the agent.
        if flags & FLAG_ROUTER_ALERT != 0 {
            return self.trap_to_agent(TrapReason::RouterAlert, trace);
        }
        self.nh_output(fmd, nh, false, buf, trace)
    }

    /// The route for `dst` in `vrf`: nexthop (discard when none), the matched
    /// prefix's length, label. [`matched_prefix`] makes the prefix for traces.
    #[inline(always)]
    pub(crate) fn route4(
        &self,
        vrf: crate::ids::VrfId,
        dst: Ipv4Addr,
    ) -> (NhId, Option<u8>, Option<vrsim_wire::MplsLabel>) {
        match self
            .vrfs
            .get(vrf.index())
            .and_then(|v| v.inet4.longest_match_len(dst))
        {
            Some((len, r)) => (r.nh, Some(len), r.label),
            None => (NhId::DISCARD, None, None),
        }
    }
}

/// The prefix of length `len` holding `addr`, as traces show it.
pub(crate) fn matched_prefix(addr: Ipv4Addr, len: Option<u8>) -> Option<IpNet> {
    len.and_then(|l| ipnet::Ipv4Net::new(addr, l).ok())
        .map(|n| IpNet::V4(n.trunc()))
}

/// [`matched_prefix`] when `T` records steps; nothing (and no work) on the
/// untraced fast path.
#[inline(always)]
pub(crate) fn traced_prefix<T: Tracer>(addr: Ipv4Addr, len: Option<u8>) -> Option<IpNet> {
    if T::ENABLED {
        matched_prefix(addr, len)
    } else {
        None
    }
}

fn read_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}
