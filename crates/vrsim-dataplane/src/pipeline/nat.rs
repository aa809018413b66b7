//! A NAT flow's rewrite (`vr_inet_flow_nat`): the new addresses and ports
//! are the reverse flow's key read backwards, and the checksums are patched
//! incrementally (`vr_incremental_diff`, `vr_ip_update_csum`), as the
//! vRouter does.

use vrsim_wire::ipv4::Ipv4View;

use crate::flow::{FlowFlags, FlowKey};

/// Where the packet's header fields sit in an IPv4 header.
const SRC: usize = 12;
const DST: usize = 16;
const CSUM: usize = 10;

/// The one's-complement difference of changing 16-bit words, summed as
/// RFC 1624 eqn. 3 needs it (`~m + m'` per word).
#[derive(Debug, Default, Clone, Copy)]
struct Diff(u32);

impl Diff {
    fn word(&mut self, old: u16, new: u16) {
        self.0 += u32::from(!old) + u32::from(new);
    }

    fn bytes(&mut self, old: &[u8], new: &[u8]) {
        for (o, n) in old.chunks_exact(2).zip(new.chunks_exact(2)) {
            self.word(
                u16::from_be_bytes([o[0], o[1]]),
                u16::from_be_bytes([n[0], n[1]]),
            );
        }
    }

    /// Patch the checksum at `at` of `buf`: `HC' = ~(~HC + diff)`.
    fn apply(self, buf: &mut [u8], at: usize) {
        let Some(c) = buf.get_mut(at..at + 2) else {
            return;
        };
        let old = u16::from_be_bytes([c[0], c[1]]);
        let mut sum = u32::from(!old) + (self.0 & 0xffff) + (self.0 >> 16);
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        c.copy_from_slice(&(!(sum as u16)).to_be_bytes());
    }
}

/// The addresses and ports a NAT flow gave the packet, for the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rewritten {
    pub src: std::net::Ipv4Addr,
    pub dst: std::net::Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
}

/// Rewrite the IPv4 packet `ip` (from its header on) for the NAT flow
/// `fwd` with `flags`, whose reverse flow has key `rev` (`vr_inet_flow_nat`):
/// - SNAT: the source becomes the reverse key's destination, when the source
///   is still the flow's own;
/// - DNAT: the destination becomes the reverse key's source;
/// - SPAT / DPAT: the source port becomes the reverse key's destination port,
///   the destination port its source port, in a first fragment or whole packet;
/// - in an ICMP error, the quoted header is rewritten the other way round
///   (its checksum recomputed; the vRouter leaves the ICMP checksum as it was,
///   and so does vrsim).
///
/// The IP checksum is patched for the address changes, a TCP or UDP checksum
/// for addresses and ports; a UDP checksum of 0 stays 0.
pub(super) fn rewrite(ip: &mut [u8], flags: FlowFlags, fwd: &FlowKey, rev: &FlowKey) -> Rewritten {
    let Ok(view) = Ipv4View::new_checked(ip) else {
        return Rewritten {
            src: fwd.src,
            dst: fwd.dst,
            sport: fwd.sport,
            dport: fwd.dport,
        };
    };
    let (hl, proto, src, first) = (
        view.header_len(),
        view.protocol().value(),
        view.src(),
        view.fragment_offset() == 0,
    );
    if proto == 1 && first {
        quoted_header(ip, hl, flags, rev);
    }
    let mut ip_diff = Diff::default();
    if flags.contains(FlowFlags::SNAT) && src == fwd.src {
        let new = rev.dst.octets();
        ip_diff.bytes(&ip[SRC..SRC + 4], &new);
        ip[SRC..SRC + 4].copy_from_slice(&new);
    }
    if flags.contains(FlowFlags::DNAT) {
        let new = rev.src.octets();
        ip_diff.bytes(&ip[DST..DST + 4], &new);
        ip[DST..DST + 4].copy_from_slice(&new);
    }
    let mut l4_diff = ip_diff;
    if first && ip.len() >= hl + 4 {
        if flags.contains(FlowFlags::SPAT) {
            let new = rev.dport.to_be_bytes();
            l4_diff.bytes(&ip[hl..hl + 2], &new);
            ip[hl..hl + 2].copy_from_slice(&new);
        }
        if flags.contains(FlowFlags::DPAT) {
            let new = rev.sport.to_be_bytes();
            l4_diff.bytes(&ip[hl + 2..hl + 4], &new);
            ip[hl + 2..hl + 4].copy_from_slice(&new);
        }
    }
    if ip_diff.0 != 0 {
        ip_diff.apply(ip, CSUM);
    }
    if first {
        let csum_at = match proto {
            6 => Some(hl + 16),
            17 => Some(hl + 6).filter(|at| ip.get(*at..*at + 2).is_some_and(|c| c != [0, 0])),
            _ => None,
        };
        if let Some(at) = csum_at {
            l4_diff.apply(ip, at);
        }
    }
    let ports = ip
        .get(hl..hl + 4)
        .filter(|_| first && matches!(proto, 6 | 17 | 132));
    Rewritten {
        src: std::net::Ipv4Addr::from([ip[SRC], ip[SRC + 1], ip[SRC + 2], ip[SRC + 3]]),
        dst: std::net::Ipv4Addr::from([ip[DST], ip[DST + 1], ip[DST + 2], ip[DST + 3]]),
        sport: ports.map_or(0, |p| u16::from_be_bytes([p[0], p[1]])),
        dport: ports.map_or(0, |p| u16::from_be_bytes([p[2], p[3]])),
    }
}

/// The header an ICMP error quotes, rewritten the other way round: for SNAT
/// its destination, for DNAT its source, then its ports.
fn quoted_header(ip: &mut [u8], hl: usize, flags: FlowFlags, rev: &FlowKey) {
    let Some(icmp) = ip.get_mut(hl..) else {
        return;
    };
    if !matches!(icmp.first(), Some(3 | 11)) {
        return;
    }
    let Some(inner) = icmp.get_mut(8..) else {
        return;
    };
    let Ok(view) = Ipv4View::new_quoted(inner) else {
        return;
    };
    let ihl = view.header_len();
    let mut changed = false;
    if flags.contains(FlowFlags::SNAT) {
        inner[DST..DST + 4].copy_from_slice(&rev.dst.octets());
        changed = true;
    }
    if flags.contains(FlowFlags::DNAT) {
        inner[SRC..SRC + 4].copy_from_slice(&rev.src.octets());
        changed = true;
    }
    if changed && let Ok(v) = Ipv4View::new_quoted(inner) {
        let sum = v.compute_checksum();
        inner[CSUM..CSUM + 2].copy_from_slice(&sum.to_be_bytes());
    }
    if let Some(p) = inner.get_mut(ihl..ihl + 4) {
        if flags.contains(FlowFlags::SPAT) {
            p[2..4].copy_from_slice(&rev.dport.to_be_bytes());
        }
        if flags.contains(FlowFlags::DPAT) {
            p[0..2].copy_from_slice(&rev.sport.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::NhId;
    use std::net::Ipv4Addr;
    use vrsim_wire::IpPair;
    use vrsim_wire::builder::Frame;
    use vrsim_wire::tcp::TcpView;
    use vrsim_wire::udp::UdpView;

    fn key(proto: u8, src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> FlowKey {
        FlowKey {
            proto,
            sport,
            dport,
            nh: NhId::new(1).unwrap(),
            src: Ipv4Addr::from(src),
            dst: Ipv4Addr::from(dst),
        }
    }

    fn ip_packet(frame: Frame) -> Vec<u8> {
        frame.build().unwrap()
    }

    fn pair(ip: &[u8]) -> IpPair {
        let v = Ipv4View::new_checked(ip).unwrap();
        IpPair::V4 {
            src: v.src(),
            dst: v.dst(),
        }
    }

    #[test]
    fn dnat_and_dpat_rewrite_and_keep_both_checksums_right() {
        let mut ip = ip_packet(
            Frame::new()
                .ipv4([10, 1, 1, 5], [192, 0, 2, 10])
                .udp(40000, 80)
                .payload(b"hello"),
        );
        let fwd = key(17, [10, 1, 1, 5], 40000, [192, 0, 2, 10], 80);
        // The reverse flow comes back from the real server 10.2.2.7:8080.
        let rev = key(17, [10, 2, 2, 7], 8080, [10, 1, 1, 5], 40000);
        let out = rewrite(&mut ip, FlowFlags::DNAT | FlowFlags::DPAT, &fwd, &rev);
        assert_eq!(
            (out.src, out.dst, out.sport, out.dport),
            (
                Ipv4Addr::new(10, 1, 1, 5),
                Ipv4Addr::new(10, 2, 2, 7),
                40000,
                8080
            )
        );
        let v = Ipv4View::new_checked(&ip).unwrap();
        assert!(v.verify_checksum());
        let udp = UdpView::new_checked(v.payload()).unwrap();
        assert_eq!(udp.checksum(), udp.compute_checksum(&pair(&ip)));
    }

    #[test]
    fn snat_and_spat_patch_a_tcp_checksum() {
        let mut ip = ip_packet(
            Frame::new()
                .ipv4([10, 1, 1, 5], [198, 51, 100, 1])
                .tcp(33000, 443, 0x02)
                .payload(b"syn"),
        );
        let fwd = key(6, [10, 1, 1, 5], 33000, [198, 51, 100, 1], 443);
        let rev = key(6, [198, 51, 100, 1], 443, [203, 0, 113, 9], 61000);
        let out = rewrite(&mut ip, FlowFlags::SNAT | FlowFlags::SPAT, &fwd, &rev);
        assert_eq!((out.src, out.sport), (Ipv4Addr::new(203, 0, 113, 9), 61000));
        let v = Ipv4View::new_checked(&ip).unwrap();
        assert!(v.verify_checksum());
        let tcp = TcpView::new_checked(v.payload()).unwrap();
        assert_eq!(tcp.checksum(), tcp.compute_checksum(&pair(&ip)));
    }

    #[test]
    fn snat_leaves_a_source_that_is_not_the_flows_own() {
        let mut ip = ip_packet(Frame::new().ipv4([10, 9, 9, 9], [192, 0, 2, 10]).udp(1, 2));
        let fwd = key(17, [10, 1, 1, 5], 1, [192, 0, 2, 10], 2);
        let rev = key(17, [192, 0, 2, 10], 2, [203, 0, 113, 1], 1);
        let out = rewrite(&mut ip, FlowFlags::SNAT, &fwd, &rev);
        assert_eq!(out.src, Ipv4Addr::new(10, 9, 9, 9));
    }

    #[test]
    fn a_short_or_foreign_packet_is_left_alone() {
        let fwd = key(17, [10, 1, 1, 5], 1, [192, 0, 2, 10], 2);
        for mut ip in [vec![], vec![0x45; 10], vec![0x60; 40]] {
            let before = ip.clone();
            rewrite(&mut ip, FlowFlags::DNAT, &fwd, &fwd);
            assert_eq!(ip, before);
        }
    }
}
