//! A NAT flow's rewrite (`vr_inet_flow_nat`, `vr_inet6_flow_nat`): the new
//! addresses and ports are the reverse flow's key read backwards, and the
//! checksums are patched incrementally (`vr_incremental_diff`,
//! `vr_ip_update_csum`, `vr_ip6_update_csum`), as the vRouter does.

use std::net::IpAddr;

use vrsim_wire::ip_version;
use vrsim_wire::ipv4::Ipv4View;
use vrsim_wire::ipv6::{HEADER_LEN as IP6_LEN, Ipv6View};

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
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
}

/// Rewrite the IP packet `ip` (from its header on) for the NAT flow `fwd`
/// with `flags`, whose reverse flow has key `rev`: [`rewrite4`] or
/// [`rewrite6`] by the packet's version; anything else is left alone.
pub(super) fn rewrite(ip: &mut [u8], flags: FlowFlags, fwd: &FlowKey, rev: &FlowKey) -> Rewritten {
    let unchanged = Rewritten {
        src: fwd.src,
        dst: fwd.dst,
        sport: fwd.sport,
        dport: fwd.dport,
    };
    match (ip_version(ip), rev.src, rev.dst) {
        (Some(4), IpAddr::V4(_), IpAddr::V4(_)) => {
            rewrite4(ip, flags, fwd, rev).unwrap_or(unchanged)
        }
        (Some(6), IpAddr::V6(_), IpAddr::V6(_)) => {
            rewrite6(ip, flags, fwd, rev).unwrap_or(unchanged)
        }
        _ => unchanged,
    }
}

/// The 4 or 16 bytes of `a`.
fn octets(a: IpAddr) -> ([u8; 16], usize) {
    let mut b = [0u8; 16];
    match a {
        IpAddr::V4(v4) => {
            b[..4].copy_from_slice(&v4.octets());
            (b, 4)
        }
        IpAddr::V6(v6) => (v6.octets(), 16),
    }
}

/// Write address `a` at `at` of `buf`, adding the change to `diff`.
fn set_addr(buf: &mut [u8], at: usize, a: IpAddr, diff: &mut Diff) {
    let (new, len) = octets(a);
    if let Some(old) = buf.get_mut(at..at + len) {
        diff.bytes(old, &new[..len]);
        old.copy_from_slice(&new[..len]);
    }
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
fn rewrite4(ip: &mut [u8], flags: FlowFlags, fwd: &FlowKey, rev: &FlowKey) -> Option<Rewritten> {
    let view = Ipv4View::new_checked(ip).ok()?;
    let (hl, proto, src, first) = (
        view.header_len(),
        view.protocol().value(),
        IpAddr::V4(view.src()),
        view.fragment_offset() == 0,
    );
    if proto == 1 && first {
        quoted_header(ip, hl, flags, rev);
    }
    let mut ip_diff = Diff::default();
    if flags.contains(FlowFlags::SNAT) && src == fwd.src {
        set_addr(ip, SRC, rev.dst, &mut ip_diff);
    }
    if flags.contains(FlowFlags::DNAT) {
        set_addr(ip, DST, rev.src, &mut ip_diff);
    }
    let mut l4_diff = ip_diff;
    if first {
        rewrite_ports(ip, hl, flags, rev, &mut l4_diff);
    }
    if ip_diff.0 != 0 {
        ip_diff.apply(ip, CSUM);
    }
    if first {
        transport_checksum(ip, hl, proto, l4_diff);
    }
    let v = Ipv4View::new_checked(ip).ok()?;
    let (src, dst) = (IpAddr::V4(v.src()), IpAddr::V4(v.dst()));
    Some(rewritten(ip, hl, proto, first, src, dst))
}

/// Rewrite the IPv6 packet `ip` for the NAT flow `fwd` with `flags`, whose
/// reverse flow has key `rev` (`vr_inet6_flow_nat`): the addresses as for
/// IPv4 (SNAT only when the source is the flow's own); the 4 bytes after
/// the fixed header as ports unless the packet is a fragment after the
/// first (`vr_ip6_transport_header_valid`); the TCP or UDP checksum patched
/// for both (a UDP checksum of 0 stays 0). An error
/// whose ICMPv6 type is 3 or 11 has its quoted header rewritten the other
/// way round, as the vRouter's `vr_icmp_error` test (written for ICMPv4's
/// types) picks them; no ICMPv6 checksum is patched, as in the vRouter.
fn rewrite6(ip: &mut [u8], flags: FlowFlags, fwd: &FlowKey, rev: &FlowKey) -> Option<Rewritten> {
    const SRC6: usize = 8;
    const DST6: usize = 24;
    let view = Ipv6View::new_checked(ip).ok()?;
    let (proto, src) = (view.next_header().value(), IpAddr::V6(view.src()));
    // `vr_ip6_transport_header_valid`: anything but a fragment after the
    // first; the ports are the 4 bytes after the fixed header, whatever
    // comes there (as the vRouter rewrites them).
    let transport = proto != 44
        || ip
            .get(IP6_LEN + 2..IP6_LEN + 4)
            .is_some_and(|b| u16::from_be_bytes([b[0], b[1]]) >> 3 == 0);
    if proto == 58 && matches!(ip.get(IP6_LEN), Some(3 | 11)) {
        let quoted = IP6_LEN + 8;
        if flags.contains(FlowFlags::SNAT) {
            set_addr(ip, quoted + DST6, rev.dst, &mut Diff::default());
        }
        if flags.contains(FlowFlags::DNAT) {
            set_addr(ip, quoted + SRC6, rev.src, &mut Diff::default());
        }
        let at = quoted + IP6_LEN;
        if let Some(p) = ip.get_mut(at..at + 4) {
            if flags.contains(FlowFlags::SPAT) {
                p[2..4].copy_from_slice(&rev.dport.to_be_bytes());
            }
            if flags.contains(FlowFlags::DPAT) {
                p[0..2].copy_from_slice(&rev.sport.to_be_bytes());
            }
        }
    }
    let mut diff = Diff::default();
    if flags.contains(FlowFlags::SNAT) && src == fwd.src {
        set_addr(ip, SRC6, rev.dst, &mut diff);
    }
    if flags.contains(FlowFlags::DNAT) {
        set_addr(ip, DST6, rev.src, &mut diff);
    }
    if transport {
        rewrite_ports(ip, IP6_LEN, flags, rev, &mut diff);
        transport_checksum(ip, IP6_LEN, proto, diff);
    }
    let v = Ipv6View::new_checked(ip).ok()?;
    let (src, dst) = (IpAddr::V6(v.src()), IpAddr::V6(v.dst()));
    Some(rewritten(ip, IP6_LEN, proto, transport, src, dst))
}

/// SPAT / DPAT on the transport header at `at`, its change added to `diff`.
fn rewrite_ports(ip: &mut [u8], at: usize, flags: FlowFlags, rev: &FlowKey, diff: &mut Diff) {
    let Some(p) = ip.get_mut(at..at + 4) else {
        return;
    };
    if flags.contains(FlowFlags::SPAT) {
        let new = rev.dport.to_be_bytes();
        diff.bytes(&p[0..2], &new);
        p[0..2].copy_from_slice(&new);
    }
    if flags.contains(FlowFlags::DPAT) {
        let new = rev.sport.to_be_bytes();
        diff.bytes(&p[2..4], &new);
        p[2..4].copy_from_slice(&new);
    }
}

/// Patch the TCP or UDP checksum of the transport header at `at` by
/// `diff`; a UDP checksum of 0 (none) stays 0.
fn transport_checksum(ip: &mut [u8], at: usize, proto: u8, diff: Diff) {
    let csum_at = match proto {
        6 => Some(at + 16),
        17 => Some(at + 6).filter(|c| ip.get(*c..*c + 2).is_some_and(|c| c != [0, 0])),
        _ => None,
    };
    if let Some(c) = csum_at
        && diff.0 != 0
    {
        diff.apply(ip, c);
    }
}

/// What the packet carries after the rewrite, for the trace.
fn rewritten(ip: &[u8], at: usize, proto: u8, ports: bool, src: IpAddr, dst: IpAddr) -> Rewritten {
    let p = ip
        .get(at..at + 4)
        .filter(|_| ports && matches!(proto, 6 | 17 | 132));
    Rewritten {
        src,
        dst,
        sport: p.map_or(0, |p| u16::from_be_bytes([p[0], p[1]])),
        dport: p.map_or(0, |p| u16::from_be_bytes([p[2], p[3]])),
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
        set_addr(inner, DST, rev.dst, &mut Diff::default());
        changed = true;
    }
    if flags.contains(FlowFlags::DNAT) {
        set_addr(inner, SRC, rev.src, &mut Diff::default());
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
            src: Ipv4Addr::from(src).into(),
            dst: Ipv4Addr::from(dst).into(),
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
                Ipv4Addr::new(10, 1, 1, 5).into(),
                Ipv4Addr::new(10, 2, 2, 7).into(),
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
        assert_eq!(
            (out.src, out.sport),
            (Ipv4Addr::new(203, 0, 113, 9).into(), 61000)
        );
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
        assert_eq!(out.src, IpAddr::from(Ipv4Addr::new(10, 9, 9, 9)));
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

    fn key6(proto: u8, src: &str, sport: u16, dst: &str, dport: u16) -> FlowKey {
        FlowKey {
            proto,
            sport,
            dport,
            nh: NhId::new(1).unwrap(),
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
        }
    }

    #[test]
    fn ipv6_dnat_and_dpat_patch_the_udp_checksum() {
        let (a, b) = ("fd00::5", "2001:db8::10");
        let mut ip = ip_packet(
            Frame::new()
                .ipv6(
                    a.parse::<std::net::Ipv6Addr>().unwrap(),
                    b.parse::<std::net::Ipv6Addr>().unwrap(),
                )
                .udp(40000, 80)
                .payload(b"hello"),
        );
        let fwd = key6(17, a, 40000, b, 80);
        let rev = key6(17, "fd00::77", 8080, a, 40000);
        let out = rewrite(&mut ip, FlowFlags::DNAT | FlowFlags::DPAT, &fwd, &rev);
        assert_eq!(
            (out.dst, out.dport),
            ("fd00::77".parse::<IpAddr>().unwrap(), 8080)
        );
        let v = Ipv6View::new_checked(&ip).unwrap();
        let pair = IpPair::V6 {
            src: v.src(),
            dst: v.dst(),
        };
        let udp = UdpView::new_checked(v.payload()).unwrap();
        assert_eq!(udp.checksum(), udp.compute_checksum(&pair));
        // SNAT of a packet whose source is not the flow's leaves it.
        let mut other = ip_packet(
            Frame::new()
                .ipv6(
                    "fd00::9".parse::<std::net::Ipv6Addr>().unwrap(),
                    b.parse::<std::net::Ipv6Addr>().unwrap(),
                )
                .tcp(1, 2, 0x10),
        );
        let before = other.clone();
        rewrite(&mut other, FlowFlags::SNAT, &fwd, &rev);
        assert_eq!(other, before);
    }

    #[test]
    fn ipv6_snat_patches_tcp_and_rewrites_an_errors_quoted_header() {
        let (vm, far, public) = ("fd00::5", "2001:db8::10", "2001:db8:f::5");
        let a6 = |s: &str| s.parse::<std::net::Ipv6Addr>().unwrap();
        let fwd = key6(6, vm, 33000, far, 443);
        // The reverse flow comes back to the public address and port.
        let rev = key6(6, far, 443, public, 61000);
        let mut tcp = ip_packet(Frame::new().ipv6(a6(vm), a6(far)).tcp(33000, 443, 0x02));
        let out = rewrite(&mut tcp, FlowFlags::SNAT | FlowFlags::SPAT, &fwd, &rev);
        assert_eq!(
            (out.src, out.sport),
            (public.parse::<IpAddr>().unwrap(), 61000)
        );
        let v = Ipv6View::new_checked(&tcp).unwrap();
        let pair = IpPair::V6 {
            src: v.src(),
            dst: v.dst(),
        };
        let t = TcpView::new_checked(v.payload()).unwrap();
        assert_eq!(t.checksum(), t.compute_checksum(&pair));
        // A time exceeded (type 3) from a router, quoting the packet as it
        // left: the reverse flow's DNAT writes the quoted source back.
        let quoted = ip_packet(Frame::new().ipv6(a6(public), a6(far)).tcp(61000, 443, 0x02));
        let mut body = vec![3, 0, 0, 0, 0, 0, 0, 0];
        body.extend_from_slice(&quoted[..48]);
        let mut err = ip_packet(
            Frame::new()
                .ipv6(a6("2001:db8::1"), a6(public))
                .icmpv6(vrsim_wire::icmpv6::Icmpv6Repr {
                    kind: 3,
                    code: 0,
                    rest: 0,
                    payload_len: 0,
                })
                .payload(&body[8..]),
        );
        let back = key6(58, "2001:db8::1", 0, public, 3 << 8);
        let back_rev = key6(6, vm, 33000, far, 443);
        rewrite(
            &mut err,
            FlowFlags::DNAT | FlowFlags::DPAT,
            &back,
            &back_rev,
        );
        let inner = &err[40 + 8..];
        assert_eq!(&inner[8..24], &a6(vm).octets(), "quoted source");
        assert_eq!(
            &inner[40..42],
            &33000u16.to_be_bytes(),
            "quoted source port"
        );
    }
}
