//! The flow key and the vRouter's hash of it (`include/vr_flow.h`,
//! `include/vr_hash.h`).
//!
//! The key is hashed as the bytes the vRouter keeps in memory: the 20-byte
//! `struct vr_inet_flow` or the 44-byte `struct vr_inet6_flow` of a
//! little-endian (x86) host, so that the index a key gets here is the index
//! the real vRouter gives it.

use std::net::IpAddr;

use crate::ids::NhId;

/// `AF_INET` on Linux, the first byte of an IPv4 flow key.
pub const AF_INET: u8 = 2;

/// `AF_INET6` on Linux, the first byte of an IPv6 flow key.
pub const AF_INET6: u8 = 10;

/// The length of an IPv4 flow key (`VR_FLOW_IPV4_HASH_SIZE`).
pub const IPV4_KEY_LEN: usize = 20;

/// The length of an IPv6 flow key (`VR_FLOW_IPV6_HASH_SIZE`).
pub const IPV6_KEY_LEN: usize = 44;

/// A flow key (`struct vr_inet_flow`, `struct vr_inet6_flow`): protocol,
/// ports, the key nexthop and the two addresses, both of one family. The
/// VRF is not part of it.
///
/// The ports are the values `flow -l` prints (the key's 16-bit fields read in
/// network order): TCP, UDP and SCTP ports; for ICMP echo the identifier and
/// 0, for ICMPv6 echo the identifier and 129 (`vr_inet6_proto_flow` stores
/// `ntohs(VR_ICMP6_TYPE_ECHO_REPLY)`); for other ICMP and ICMPv6 messages 0
/// and the type, which the vRouter stores in host order, so that `flow -l`
/// prints type × 256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowKey {
    /// The IP protocol.
    pub proto: u8,
    /// The source port (see above).
    pub sport: u16,
    /// The destination port (see above).
    pub dport: u16,
    /// The key nexthop, `K(nh)`: the ingress vif's nexthop, or for fabric
    /// traffic the one its label or VNID leads to (`vr_inet_flow_nexthop`).
    pub nh: NhId,
    /// The source address.
    pub src: IpAddr,
    /// The destination address (of the source's family).
    pub dst: IpAddr,
}

impl core::hash::Hash for FlowKey {
    /// Two words, not six fields: the table's own lookups hash every packet's key.
    #[inline]
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        let ports = (u64::from(self.proto) << 48)
            | (u64::from(self.sport) << 32)
            | (u64::from(self.dport) << 16);
        state.write_u64(
            ports ^ (u64::from(self.nh.value()) << 56) ^ u64::from(self.nh.value() >> 8),
        );
        match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                state.write_u64((u64::from(u32::from(s)) << 32) | u64::from(u32::from(d)));
            }
            (s, d) => {
                state.write_u128(v6_bits(s));
                state.write_u128(v6_bits(d));
            }
        }
    }
}

/// An address as 128 bits (IPv4 mapped into IPv6).
fn v6_bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().to_bits(),
        IpAddr::V6(v6) => v6.to_bits(),
    }
}

/// A flow key's bytes as the vRouter holds them: 20 of an IPv4 key's, 44 of
/// an IPv6 key's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyBytes {
    bytes: [u8; IPV6_KEY_LEN],
    len: usize,
}

impl core::ops::Deref for KeyBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl FlowKey {
    /// Whether the key is an IPv6 one.
    #[inline]
    pub fn is_ipv6(&self) -> bool {
        self.src.is_ipv6()
    }

    /// The key as the vRouter holds it in memory: family, protocol, two
    /// unused bytes, the ports in network order, the nexthop id in host
    /// (little-endian) order, the addresses in network order.
    pub fn to_bytes(&self) -> KeyBytes {
        let mut b = [0u8; IPV6_KEY_LEN];
        b[1] = self.proto;
        b[4..6].copy_from_slice(&self.sport.to_be_bytes());
        b[6..8].copy_from_slice(&self.dport.to_be_bytes());
        b[8..12].copy_from_slice(&self.nh.value().to_le_bytes());
        let len = match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                b[0] = AF_INET;
                b[12..16].copy_from_slice(&s.octets());
                b[16..20].copy_from_slice(&d.octets());
                IPV4_KEY_LEN
            }
            (s, d) => {
                b[0] = AF_INET6;
                b[12..28].copy_from_slice(&v6_bits(s).to_be_bytes());
                b[28..44].copy_from_slice(&v6_bits(d).to_be_bytes());
                IPV6_KEY_LEN
            }
        };
        KeyBytes { bytes: b, len }
    }

    /// The key's hash (`vr_hash(key, 20 or 44, 0)`), from which its bucket
    /// and a composite's ECMP member are chosen.
    #[inline]
    pub fn hash(&self) -> u32 {
        vr_hash(&self.to_bytes(), 0)
    }

    /// The key of the other direction of this flow through nexthop `nh`:
    /// addresses swapped, and ports swapped except for ICMP and ICMPv6,
    /// whose key keeps the echo identifier (or type) where it is.
    pub fn reversed(&self, nh: NhId) -> FlowKey {
        let (sport, dport) = if self.proto == 1 || self.proto == 58 {
            (self.sport, self.dport)
        } else {
            (self.dport, self.sport)
        };
        FlowKey {
            proto: self.proto,
            sport,
            dport,
            nh,
            src: self.dst,
            dst: self.src,
        }
    }
}

/// `__vr_hash_mix`: mix three 32-bit values reversibly.
#[inline(always)]
fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

/// `__vr_hash_final`: the final mixing of three values into `c`.
#[inline(always)]
fn final_mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

/// The vRouter's hash of a byte string (`vr_hash` in `include/vr_hash.h`,
/// Bob Jenkins' lookup3 with the initial value 0xdeadbeef), reading words
/// little-endian as the vRouter does on x86.
pub fn vr_hash(key: &[u8], initval: u32) -> u32 {
    let len = key.len() as u32;
    let init = 0xdead_beef_u32.wrapping_add(len).wrapping_add(initval);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut k = key;
    while k.len() > 12 {
        a = a.wrapping_add(word(&k[0..4]));
        b = b.wrapping_add(word(&k[4..8]));
        c = c.wrapping_add(word(&k[8..12]));
        mix(&mut a, &mut b, &mut c);
        k = &k[12..];
    }
    if k.is_empty() {
        return c;
    }
    // The last 1 to 12 bytes, zero-padded, as the tail switch adds them.
    let mut tail = [0u8; 12];
    tail[..k.len()].copy_from_slice(k);
    a = a.wrapping_add(word(&tail[0..4]));
    b = b.wrapping_add(word(&tail[4..8]));
    c = c.wrapping_add(word(&tail[8..12]));
    final_mix(&mut a, &mut b, &mut c);
    c
}

#[inline(always)]
fn word(b: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(b);
    u32::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(proto: u8, sport: u16, dport: u16, nh: u32, src: [u8; 4], dst: [u8; 4]) -> FlowKey {
        FlowKey {
            proto,
            sport,
            dport,
            nh: NhId::new(nh).expect("in range"),
            src: src.into(),
            dst: dst.into(),
        }
    }

    #[test]
    fn the_key_bytes_follow_struct_vr_inet_flow() {
        let k = key(1, 1136, 0, 23, [1, 1, 1, 4], [1, 1, 1, 5]);
        assert_eq!(
            *k.to_bytes(),
            [
                2, 1, 0, 0, 0x04, 0x70, 0, 0, 23, 0, 0, 0, 1, 1, 1, 4, 1, 1, 1, 5
            ]
        );
    }

    #[test]
    fn an_ipv6_key_follows_struct_vr_inet6_flow() {
        let k = FlowKey {
            proto: 58,
            sport: 0x1234,
            dport: 129,
            nh: NhId::new(0x0102).expect("in range"),
            src: "fd00::1".parse().expect("v6"),
            dst: "fd00::2".parse().expect("v6"),
        };
        let b = k.to_bytes();
        assert_eq!(b.len(), IPV6_KEY_LEN);
        assert_eq!(&b[..12], &[10, 58, 0, 0, 0x12, 0x34, 0, 129, 2, 1, 0, 0]);
        assert_eq!((b[12], b[13], b[27]), (0xfd, 0, 1));
        assert_eq!((b[28], b[43]), (0xfd, 2));
        assert_eq!(k.hash(), vr_hash(&b, 0));
        assert!(k.is_ipv6());
        let r = k.reversed(k.nh);
        assert_eq!((r.sport, r.dport, r.src), (0x1234, 129, k.dst));
    }

    #[test]
    fn lookup3_reference_values() {
        // Bob Jenkins' lookup3.c driver: hashlittle("", 0) = 0xdeadbeef,
        // hashlittle("Four score and seven years ago", 0) = 0x17770551.
        assert_eq!(vr_hash(b"", 0), 0xdead_beef);
        assert_eq!(vr_hash(b"Four score and seven years ago", 0), 0x1777_0551);
        assert_eq!(vr_hash(b"Four score and seven years ago", 1), 0xcd62_8161);
    }

    #[test]
    fn reversing_swaps_ports_except_for_icmp() {
        let udp = key(17, 1000, 53, 5, [10, 0, 0, 1], [10, 0, 0, 2]);
        let r = udp.reversed(NhId::new(7).expect("in range"));
        assert_eq!(
            (r.sport, r.dport, r.src, r.dst),
            (53, 1000, udp.dst, udp.src)
        );
        let icmp = key(1, 1136, 0, 5, [10, 0, 0, 1], [10, 0, 0, 2]);
        let r = icmp.reversed(icmp.nh);
        assert_eq!((r.sport, r.dport), (1136, 0));
    }
}
