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

use std::sync::atomic::Ordering;

use vrsim_wire::ethernet::HEADER_LEN as ETH_LEN;
use vrsim_wire::ipv4::Ipv4Repr;
use vrsim_wire::mpls::MplsEntry;
use vrsim_wire::udp::UdpRepr;
use vrsim_wire::vxlan::VxlanRepr;
use vrsim_wire::{IpPair, IpProtocol, MplsLabel, UDP_PORT_MPLS, UDP_PORT_VXLAN, Vni};

use crate::drop::DropReason;
use crate::forward::flow_hash;
use crate::nexthop::{NhKind, TunnelEncap};
use crate::packet::PacketBuf;
use crate::pipeline::{Disposition, Fmd};
use crate::trace::{Step, Tracer, TrapReason};
use crate::vrouter::VRouter;

/// The TTL of outer IPv4 headers, and of labels on packets without a TTL.
const TUNNEL_TTL: u8 = 64;
/// The GRE header the vRouter pushes before a label (`nh_gre_tunnel`).
const GRE_MPLS: [u8; 4] = [0, 0, 0x88, 0x47];
/// The UDP source-port range the vRouter hashes flows into (49152–65535).
const SPORT_BASE: u16 = 49152;

impl VRouter {
    /// Push the tunnel of a Tunnel nexthop (`kind`).
    pub(crate) fn tunnel_output<T: Tracer>(
        &self,
        fmd: &Fmd,
        kind: &NhKind,
        l3: bool,
        buf: &mut PacketBuf,
        trace: &mut T,
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
        // The inner IPv4 header's flags and ID (the pipeline checked it before routing).
        let inner = match buf.frame() {
            [v, _, _, _, id0, id1, flags, ..] if l3 && v >> 4 == 4 => Some((*flags, [*id0, *id1])),
            _ => None,
        };
        let inner_df = inner.is_some_and(|(flags, _)| flags & 0x40 != 0);
        let label_ttl = fmd.ttl.filter(|t| *t != 0).unwrap_or(TUNNEL_TTL);
        let ident = match (encap, inner) {
            (TunnelEncap::MplsOverGre, Some((_, id))) => u16::from_be_bytes(id),
            _ => self.next_ip_id(),
        };
        let inner_len = buf.len();
        let (tunnel_len, proto) = match encap {
            TunnelEncap::MplsOverGre => (4 + 4, IpProtocol::Gre),
            TunnelEncap::MplsOverUdp => (8 + 4, IpProtocol::Udp),
            // Layer-3 VXLAN (an inner Ethernet header to make up) is not modelled.
            TunnelEncap::Vxlan if l3 => return Disposition::Drop(DropReason::InvalidNh),
            TunnelEncap::Vxlan => (8 + 8, IpProtocol::Udp),
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
            return self.trap_to_agent(TrapReason::HandleDf, trace);
        }
        let Some(head) = buf.push(head_len) else {
            return Disposition::Drop(DropReason::Push);
        };
        head[..ETH_LEN].copy_from_slice(rewrite);
        let frame = buf.frame_mut();
        let at = ETH_LEN + outer.buffer_len();
        let ip = IpPair::V4 {
            src: *sip,
            dst: *dip,
        };
        let pushed = match encap {
            // The plain GRE header (RFC 2784: no checksum, key or sequence
            // number) is constant: flags 0, protocol MPLS unicast.
            TunnelEncap::MplsOverGre => match frame.get_mut(at..at + 4) {
                Some(gre) => {
                    gre.copy_from_slice(&GRE_MPLS);
                    push_label(&mut frame[at + 4..], label, label_ttl)
                }
                None => false,
            },
            TunnelEncap::MplsOverUdp => {
                let udp = UdpRepr {
                    zero_checksum: true,
                    ..UdpRepr::new(
                        sport(flow_hash(&frame[at + tunnel_len..], l3)),
                        UDP_PORT_MPLS,
                        4 + inner_len,
                    )
                };
                udp.emit(&mut frame[at..], &ip).is_ok()
                    && push_label(&mut frame[at + 8..], label, label_ttl)
            }
            TunnelEncap::Vxlan => {
                let udp = UdpRepr {
                    zero_checksum: true,
                    ..UdpRepr::new(
                        sport(flow_hash(&frame[at + tunnel_len..], l3)),
                        UDP_PORT_VXLAN,
                        8 + inner_len,
                    )
                };
                udp.emit(&mut frame[at..], &ip).is_ok()
                    && Vni::new(label)
                        .is_some_and(|vni| VxlanRepr { vni }.emit(&mut frame[at + 8..]).is_ok())
            }
        };
        if !pushed || outer.emit(&mut frame[ETH_LEN..]).is_err() {
            return Disposition::Drop(DropReason::Push);
        }
        trace.step(Step::Push {
            encap: *encap,
            label,
            sip: *sip,
            dip: *dip,
        });
        Disposition::Transmit { vif: *oif }
    }

    /// The next outer IPv4 ID of this vRouter (never 0).
    fn next_ip_id(&self) -> u16 {
        loop {
            let id = self.ip_id.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            if id != 0 {
                return id;
            }
        }
    }
}

/// Write one label stack entry, bottom of stack, at the start of `buf`
/// (RFC 3032 §2.1); `false` if the label is out of range or `buf` too short.
fn push_label(buf: &mut [u8], label: u32, ttl: u8) -> bool {
    match (MplsLabel::new(label), buf.get_mut(..4)) {
        (Some(l), Some(out)) => {
            out.copy_from_slice(&MplsEntry::new(l, ttl).to_word(true).to_be_bytes());
            true
        }
        _ => false,
    }
}

/// A UDP source port from the flow hash, in 49152–65535.
fn sport(hash: u32) -> u16 {
    let span = u32::from(u16::MAX - SPORT_BASE) + 1;
    // The remainder is below 16384, so it fits a u16.
    SPORT_BASE + (hash % span) as u16
}
