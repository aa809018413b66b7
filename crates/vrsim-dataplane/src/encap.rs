//! Tunnel nexthop output: push MPLS/GRE, MPLS/UDP or VXLAN/UDP, the outer
//! IPv4 header and the Ethernet rewrite (`nh_gre_tunnel`,
//! `nh_mpls_udp_tunnel`, `nh_vxlan_tunnel`).

use vrsim_wire::ethernet::{EthernetRepr, HEADER_LEN as ETH_LEN};
use vrsim_wire::gre::GreRepr;
use vrsim_wire::ipv4::Ipv4Repr;
use vrsim_wire::mpls::{MplsEntry, MplsRepr};
use vrsim_wire::udp::UdpRepr;
use vrsim_wire::vxlan::VxlanRepr;
use vrsim_wire::{
    EtherType, IpPair, IpProtocol, MacAddr, MplsLabel, UDP_PORT_MPLS, UDP_PORT_VXLAN, Vni,
};

use crate::drop::DropReason;
use crate::forward::flow_hash;
use crate::ids::NhId;
use crate::nexthop::{NhKind, TunnelEncap};
use crate::packet::PacketBuf;
use crate::pipeline::{Disposition, Fmd};
use crate::trace::{Step, Tracer};
use crate::vrouter::VRouter;

/// The TTL of outer IPv4 headers and of labels pushed on frames without one.
const TUNNEL_TTL: u8 = 64;
/// The UDP source-port range the vRouter hashes flows into (49152–65535).
const SPORT_BASE: u16 = 49152;

impl VRouter {
    /// Push the tunnel of nexthop `id` (which the caller found to be a Tunnel).
    pub(crate) fn tunnel_output<T: Tracer>(
        &self,
        fmd: &Fmd,
        id: NhId,
        l3: bool,
        buf: &mut PacketBuf,
        trace: &mut T,
    ) -> Disposition {
        let Some(NhKind::Tunnel {
            encap,
            oif,
            rewrite,
            sip,
            dip,
        }) = self.nh(id).map(|n| &n.config.kind)
        else {
            return Disposition::Drop(DropReason::InvalidNh);
        };
        if self.vif(*oif).is_none() {
            return Disposition::Drop(DropReason::InvalidIf);
        }
        let Some(label) = fmd.label else {
            return Disposition::Drop(DropReason::InvalidLabel);
        };
        let hash = flow_hash(buf.frame(), l3);
        // The label's TTL is the packet's IPv4 TTL (64 for frames without one).
        let ttl = if l3 {
            buf.frame()
                .get(8)
                .copied()
                .filter(|t| *t != 0)
                .unwrap_or(TUNNEL_TTL)
        } else {
            TUNNEL_TTL
        };
        let inner_len = buf.len();
        let (tunnel_len, proto) = match encap {
            TunnelEncap::MplsOverGre => (4 + 4, IpProtocol::Gre),
            TunnelEncap::MplsOverUdp => (8 + 4, IpProtocol::Udp),
            TunnelEncap::Vxlan => {
                if l3 {
                    // Layer-3 VXLAN (an inner Ethernet header to make up) is not modelled.
                    return Disposition::Drop(DropReason::InvalidNh);
                }
                (8 + 8, IpProtocol::Udp)
            }
        };
        let outer = Ipv4Repr {
            ttl: TUNNEL_TTL,
            ..Ipv4Repr::new(*sip, *dip, proto, tunnel_len + inner_len)
        };
        let eth = EthernetRepr {
            dst: mac(rewrite, 0),
            src: mac(rewrite, 6),
            ethertype: EtherType::Ipv4,
        };
        let total_head = ETH_LEN + outer.buffer_len() + tunnel_len;
        if buf.push(total_head).is_none() {
            return Disposition::Drop(DropReason::Push);
        }
        let frame = buf.frame_mut();
        let at = ETH_LEN + outer.buffer_len();
        let pushed = match encap {
            TunnelEncap::MplsOverGre => {
                let mpls = mpls_entry(label, ttl);
                GreRepr::new(EtherType::Mpls, 4 + inner_len)
                    .emit(&mut frame[at..])
                    .is_ok()
                    && mpls.is_some_and(|m| m.emit(&mut frame[at + 4..]).is_ok())
            }
            TunnelEncap::MplsOverUdp => {
                let mpls = mpls_entry(label, ttl);
                let udp = UdpRepr {
                    zero_checksum: true,
                    ..UdpRepr::new(sport(hash), UDP_PORT_MPLS, 4 + inner_len)
                };
                udp.emit(
                    &mut frame[at..],
                    &IpPair::V4 {
                        src: *sip,
                        dst: *dip,
                    },
                )
                .is_ok()
                    && mpls.is_some_and(|m| m.emit(&mut frame[at + 8..]).is_ok())
            }
            TunnelEncap::Vxlan => {
                let vxlan = Vni::new(label).map(|vni| VxlanRepr { vni });
                let udp = UdpRepr {
                    zero_checksum: true,
                    ..UdpRepr::new(sport(hash), UDP_PORT_VXLAN, 8 + inner_len)
                };
                udp.emit(
                    &mut frame[at..],
                    &IpPair::V4 {
                        src: *sip,
                        dst: *dip,
                    },
                )
                .is_ok()
                    && vxlan.is_some_and(|v| v.emit(&mut frame[at + 8..]).is_ok())
            }
        };
        if !pushed || outer.emit(&mut frame[ETH_LEN..]).is_err() || eth.emit(frame).is_err() {
            return Disposition::Drop(DropReason::Push);
        }
        trace.step(Step::Push {
            encap: *encap,
            label,
            sip: *sip,
            dip: *dip,
        });
        self.check_mtu(*oif, buf)
            .unwrap_or(Disposition::Transmit { vif: *oif })
    }
}

fn mpls_entry(label: u32, ttl: u8) -> Option<MplsRepr> {
    MplsLabel::new(label).map(|l| MplsRepr::single(MplsEntry::new(l, ttl)))
}

/// A UDP source port from the flow hash, in 49152–65535.
fn sport(hash: u32) -> u16 {
    SPORT_BASE + (hash % u32::from(u16::MAX - SPORT_BASE + 1)) as u16
}

fn mac(b: &[u8; 14], at: usize) -> MacAddr {
    MacAddr::new(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5])
}
