//! What the pipeline's stages share: the inet and inet6 route lookups (value
//! only on the fast path, the matched prefix built only for traces) recorded
//! as trace steps, the flow hash, and the TTL decrement.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use vrsim_wire::MplsLabel;
use vrsim_wire::ethernet::HEADER_LEN as ETH_LEN;
use vrsim_wire::ipv4::{Ipv4View, Ipv4ViewMut};
use vrsim_wire::ipv6::Ipv6View;
use vrsim_wire::{IpProtocol, ip_version, transport_ports};

use crate::ids::{NhId, VrfId};
use crate::route::Route;
use crate::trace::{Step, Tracer};
use crate::vrouter::VRouter;

impl VRouter {
    /// The route for `dst` in `vrf`: nexthop (discard when none), the matched
    /// prefix's length, label. [`matched_prefix`] makes the prefix for traces.
    #[inline(always)]
    pub(crate) fn route4(
        &self,
        vrf: VrfId,
        dst: Ipv4Addr,
    ) -> (NhId, Option<u8>, Option<MplsLabel>) {
        match self.vrfs.get(vrf.index()).and_then(|v| v.inet4.lookup(dst)) {
            Some((len, r)) => (r.nh, Some(len), r.label),
            None => (NhId::DISCARD, None, None),
        }
    }

    /// [`route4`](Self::route4) for IPv6: nexthop, matched length, label.
    #[inline(always)]
    pub(crate) fn route6(
        &self,
        vrf: VrfId,
        dst: Ipv6Addr,
    ) -> (NhId, Option<u8>, Option<MplsLabel>) {
        match self.vrfs.get(vrf.index()).and_then(|v| v.inet6.lookup(dst)) {
            Some((len, r)) => (r.nh, Some(len), r.label),
            None => (NhId::DISCARD, None, None),
        }
    }

    /// [`route6`](Self::route6) recorded as an `InetLookup` step
    /// (`vr_inet_route_lookup` with `AF_INET6`): the nexthop and label.
    #[inline(always)]
    pub(super) fn inet6_lookup<T: Tracer>(
        &self,
        vrf: VrfId,
        dst: Ipv6Addr,
        trace: &mut T,
    ) -> (NhId, Option<MplsLabel>) {
        let (nh, matched, label) = self.route6(vrf, dst);
        trace.step(Step::InetLookup {
            vrf,
            key: IpAddr::V6(dst),
            matched: if T::ENABLED {
                matched
                    .and_then(|l| Ipv6Net::new(dst, l).ok())
                    .map(|n| IpNet::V6(n.trunc()))
            } else {
                None
            },
            nh,
            label,
        });
        (nh, label)
    }

    /// [`route4`](Self::route4) recorded as an `InetLookup` step (the
    /// vRouter's `vr_inet_route_lookup`): the nexthop and label it found.
    #[inline(always)]
    pub(super) fn inet_lookup<T: Tracer>(
        &self,
        vrf: VrfId,
        dst: Ipv4Addr,
        trace: &mut T,
    ) -> (NhId, Option<MplsLabel>) {
        let (nh, matched, label) = self.route4(vrf, dst);
        trace.step(Step::InetLookup {
            vrf,
            key: IpAddr::V4(dst),
            matched: traced_prefix::<T>(dst, matched),
            nh,
            label,
        });
        (nh, label)
    }

    /// The whole route for `dst` in `vrf` and its prefix, recorded as an
    /// `InetLookup` step: for the lookups that need more than the nexthop
    /// and label (proxy ARP reads the route's flags and stitched MAC).
    pub(super) fn inet_route<T: Tracer>(
        &self,
        vrf: VrfId,
        dst: Ipv4Addr,
        trace: &mut T,
    ) -> Option<(Ipv4Net, Route)> {
        let route = self
            .vrfs
            .get(vrf.index())
            .and_then(|v| v.inet4.longest_match(dst))
            .map(|(p, r)| (p, *r));
        record_route(
            trace,
            vrf,
            IpAddr::V4(dst),
            route.map(|(p, r)| (IpNet::V4(p), r)),
        );
        route
    }

    /// [`inet_lookup`](Self::inet_lookup) for an address of either family.
    pub(super) fn ip_lookup<T: Tracer>(
        &self,
        vrf: VrfId,
        dst: IpAddr,
        trace: &mut T,
    ) -> (NhId, Option<MplsLabel>) {
        match dst {
            IpAddr::V4(d) => self.inet_lookup(vrf, d, trace),
            IpAddr::V6(d) => self
                .inet6_route(vrf, d, trace)
                .map_or((NhId::DISCARD, None), |(_, r)| (r.nh, r.label)),
        }
    }

    /// The inet6 route for `dst` in `vrf` and its prefix, recorded as an
    /// `InetLookup` step (`vr_inet_route_lookup` with `AF_INET6`).
    pub(super) fn inet6_route<T: Tracer>(
        &self,
        vrf: VrfId,
        dst: Ipv6Addr,
        trace: &mut T,
    ) -> Option<(Ipv6Net, Route)> {
        let route = self
            .vrfs
            .get(vrf.index())
            .and_then(|v| v.inet6.longest_match(dst))
            .map(|(p, r)| (p, *r));
        record_route(
            trace,
            vrf,
            IpAddr::V6(dst),
            route.map(|(p, r)| (IpNet::V6(p), r)),
        );
        route
    }
}

/// The `InetLookup` step of a whole-route lookup: the key, the prefix it
/// matched and that route's nexthop and label (discard when none matched).
fn record_route<T: Tracer>(trace: &mut T, vrf: VrfId, key: IpAddr, found: Option<(IpNet, Route)>) {
    trace.step(Step::InetLookup {
        vrf,
        key,
        matched: found.map(|(p, _)| p),
        nh: found.map_or(NhId::DISCARD, |(_, r)| r.nh),
        label: found.and_then(|(_, r)| r.label),
    });
}

/// The prefix of length `len` holding `addr`, as traces show it.
pub(super) fn matched_prefix(addr: Ipv4Addr, len: Option<u8>) -> Option<IpNet> {
    len.and_then(|l| ipnet::Ipv4Net::new(addr, l).ok())
        .map(|n| IpNet::V4(n.trunc()))
}

/// [`matched_prefix`] when `T` records steps; nothing (and no work) on the
/// untraced fast path.
#[inline(always)]
pub(super) fn traced_prefix<T: Tracer>(addr: Ipv4Addr, len: Option<u8>) -> Option<IpNet> {
    if T::ENABLED {
        matched_prefix(addr, len)
    } else {
        None
    }
}

/// Decrement the TTL of the IPv4 header `ip` starts with, patching its
/// checksum (RFC 1624); nothing when there is no IPv4 header or the TTL is 0.
#[inline(always)]
fn decrement_ttl(ip: &mut [u8]) {
    if let Ok(mut v) = Ipv4ViewMut::new_checked(ip) {
        v.decrement_ttl();
    }
}

/// `vr_forward`'s TTL step on the IPv4 header `ip` starts with, whose TTL
/// is `ttl`: `None` when it is already 0 (a `TTL Exceeded` drop), else the
/// TTL decremented in place and recorded as a `Ttl` step.
#[inline(always)]
pub(super) fn forward_ttl<T: Tracer>(ip: &mut [u8], ttl: u8, trace: &mut T) -> Option<u8> {
    let to = ttl.checked_sub(1)?;
    decrement_ttl(ip);
    trace.step(Step::Ttl { from: ttl, to });
    Some(to)
}

/// A flow hash of the IP 5-tuple (FNV-1a over source, destination,
/// protocol and ports), stable per flow; 0 for anything but IPv4 and IPv6.
/// `l3` says whether `frame` starts at the IP header or at an Ethernet
/// header.
pub(super) fn flow_hash(frame: &[u8], l3: bool) -> u32 {
    let ip = if l3 {
        frame
    } else {
        frame.get(ETH_LEN..).unwrap_or(&[])
    };
    let mut key = [0u8; 37];
    let len = match ip_version(ip) {
        Some(4) => {
            let Ok(v) = Ipv4View::new_checked(ip) else {
                return 0;
            };
            key[..4].copy_from_slice(&v.src().octets());
            key[4..8].copy_from_slice(&v.dst().octets());
            let ports = (!v.is_fragment()).then(|| v.payload());
            tuple_tail(&mut key[8..], v.protocol(), ports) + 8
        }
        Some(6) => {
            let Ok(v) = Ipv6View::new_checked(ip) else {
                return 0;
            };
            key[..16].copy_from_slice(&v.src().octets());
            key[16..32].copy_from_slice(&v.dst().octets());
            tuple_tail(&mut key[32..], v.next_header(), Some(v.payload())) + 32
        }
        _ => return 0,
    };
    key[..len].iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// The protocol and, for TCP and UDP with a `transport` header, its ports,
/// written at the start of `out`: 5 bytes.
fn tuple_tail(out: &mut [u8], proto: IpProtocol, transport: Option<&[u8]>) -> usize {
    out[0] = proto.value();
    if matches!(proto, IpProtocol::Tcp | IpProtocol::Udp)
        && let Some(ports) = transport.and_then(transport_ports)
    {
        out[1..5].copy_from_slice(&ports);
    }
    5
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrsim_wire::Frame;

    fn udp_packet(sport: u16) -> Vec<u8> {
        Frame::new()
            .ipv4([10, 1, 1, 1], [10, 2, 2, 2])
            .udp(sport, 53)
            .payload(b"q")
            .build()
            .expect("a fixed packet builds")
    }

    #[test]
    fn decrement_ttl_keeps_the_checksum_right() {
        let mut ip = udp_packet(1000);
        decrement_ttl(&mut ip);
        let v = Ipv4View::new_checked(&ip).expect("still IPv4");
        assert_eq!(v.ttl(), 63);
        assert!(v.verify_checksum());
    }

    #[test]
    fn decrement_ttl_leaves_zero_and_non_ip_alone() {
        let mut ip = udp_packet(1000);
        ip[8] = 0;
        let before = ip.clone();
        decrement_ttl(&mut ip);
        assert_eq!(ip, before);
        let mut short = [0x45u8, 0, 0];
        decrement_ttl(&mut short);
        assert_eq!(short, [0x45, 0, 0]);
    }

    #[test]
    fn flow_hash_separates_ports_and_skips_non_ip() {
        let (a, b) = (udp_packet(1000), udp_packet(1001));
        assert_eq!(flow_hash(&a, true), flow_hash(&a, true));
        assert_ne!(flow_hash(&a, true), flow_hash(&b, true));
        assert_eq!(flow_hash(&[0u8; 10], true), 0);
        let mut framed = vec![0u8; ETH_LEN];
        framed.extend_from_slice(&a);
        assert_eq!(flow_hash(&framed, false), flow_hash(&a, true));
    }

    #[test]
    fn matched_prefix_truncates_and_is_absent_untraced() {
        let addr = Ipv4Addr::new(192, 168, 100, 1);
        assert_eq!(
            matched_prefix(addr, Some(26)),
            Some("192.168.100.0/26".parse().expect("a prefix"))
        );
        assert_eq!(matched_prefix(addr, None), None);
        assert_eq!(traced_prefix::<crate::trace::NoTrace>(addr, Some(26)), None);
    }
}
