//! Protocol numbers and bounded values shared by several headers.

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An Ethernet type (the 16-bit protocol field of Ethernet II, 802.1Q and GRE).
/// Unknown values are kept and displayed in hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EtherType {
    /// 0x0800.
    Ipv4,
    /// 0x0806.
    Arp,
    /// 0x8100, an IEEE 802.1Q VLAN tag follows.
    Vlan,
    /// 0x88a8, an IEEE 802.1ad service tag follows.
    QinQ,
    /// 0x86dd.
    Ipv6,
    /// 0x8847, MPLS unicast (RFC 3032); GRE's protocol for MPLSoGRE (RFC 4023).
    Mpls,
    /// 0x6558, transparent Ethernet bridging (Ethernet inside GRE).
    TransparentEthernet,
    /// Any other value.
    Unknown(u16),
}

impl EtherType {
    /// The numeric value.
    #[inline]
    pub const fn value(self) -> u16 {
        match self {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Vlan => 0x8100,
            EtherType::QinQ => 0x88a8,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Mpls => 0x8847,
            EtherType::TransparentEthernet => 0x6558,
            EtherType::Unknown(v) => v,
        }
    }
}

impl From<u16> for EtherType {
    fn from(v: u16) -> Self {
        match v {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x8100 => EtherType::Vlan,
            0x88a8 => EtherType::QinQ,
            0x86dd => EtherType::Ipv6,
            0x8847 => EtherType::Mpls,
            0x6558 => EtherType::TransparentEthernet,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(t: EtherType) -> u16 {
        t.value()
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EtherType::Ipv4 => f.write_str("ipv4"),
            EtherType::Arp => f.write_str("arp"),
            EtherType::Vlan => f.write_str("802.1q"),
            EtherType::QinQ => f.write_str("802.1ad"),
            EtherType::Ipv6 => f.write_str("ipv6"),
            EtherType::Mpls => f.write_str("mpls"),
            EtherType::TransparentEthernet => f.write_str("teb"),
            EtherType::Unknown(v) => write!(f, "0x{v:04x}"),
        }
    }
}

/// An IP protocol number (IPv4 protocol, IPv6 next header). Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpProtocol {
    /// 0: IPv6 hop-by-hop options.
    HopByHop,
    /// 1: ICMP.
    Icmp,
    /// 6: TCP.
    Tcp,
    /// 17: UDP.
    Udp,
    /// 43: IPv6 routing header.
    Ipv6Route,
    /// 44: IPv6 fragment header.
    Ipv6Frag,
    /// 47: GRE.
    Gre,
    /// 50: IPsec ESP.
    Esp,
    /// 51: IPsec AH.
    Ah,
    /// 58: ICMPv6.
    Icmpv6,
    /// 59: no next header.
    Ipv6NoNext,
    /// 60: IPv6 destination options.
    Ipv6Opts,
    /// 137: MPLS in IP (RFC 4023).
    MplsInIp,
    /// Any other value.
    Unknown(u8),
}

impl IpProtocol {
    /// The numeric value.
    #[inline]
    pub const fn value(self) -> u8 {
        match self {
            IpProtocol::HopByHop => 0,
            IpProtocol::Icmp => 1,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Ipv6Route => 43,
            IpProtocol::Ipv6Frag => 44,
            IpProtocol::Gre => 47,
            IpProtocol::Esp => 50,
            IpProtocol::Ah => 51,
            IpProtocol::Icmpv6 => 58,
            IpProtocol::Ipv6NoNext => 59,
            IpProtocol::Ipv6Opts => 60,
            IpProtocol::MplsInIp => 137,
            IpProtocol::Unknown(v) => v,
        }
    }
}

impl From<u8> for IpProtocol {
    fn from(v: u8) -> Self {
        match v {
            0 => IpProtocol::HopByHop,
            1 => IpProtocol::Icmp,
            6 => IpProtocol::Tcp,
            17 => IpProtocol::Udp,
            43 => IpProtocol::Ipv6Route,
            44 => IpProtocol::Ipv6Frag,
            47 => IpProtocol::Gre,
            50 => IpProtocol::Esp,
            51 => IpProtocol::Ah,
            58 => IpProtocol::Icmpv6,
            59 => IpProtocol::Ipv6NoNext,
            60 => IpProtocol::Ipv6Opts,
            137 => IpProtocol::MplsInIp,
            other => IpProtocol::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(p: IpProtocol) -> u8 {
        p.value()
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            IpProtocol::HopByHop => "hop-by-hop",
            IpProtocol::Icmp => "icmp",
            IpProtocol::Tcp => "tcp",
            IpProtocol::Udp => "udp",
            IpProtocol::Ipv6Route => "routing",
            IpProtocol::Ipv6Frag => "fragment",
            IpProtocol::Gre => "gre",
            IpProtocol::Esp => "esp",
            IpProtocol::Ah => "ah",
            IpProtocol::Icmpv6 => "icmp6",
            IpProtocol::Ipv6NoNext => "no-next-header",
            IpProtocol::Ipv6Opts => "destination-options",
            IpProtocol::MplsInIp => "mpls-in-ip",
            IpProtocol::Unknown(v) => return write!(f, "proto {v}"),
        };
        f.write_str(name)
    }
}

/// The error of a bounded newtype's `TryFrom`: the value is above `MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value} out of range (maximum {max})")]
pub struct OutOfRange {
    /// The kind of value ("mpls label", "vni").
    pub what: &'static str,
    /// The value given.
    pub value: u32,
    /// The largest valid value.
    pub max: u32,
}

macro_rules! bounded_u32 {
    ($(#[$doc:meta])* $name:ident, $bits:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(u32);

        impl $name {
            /// The largest value.
            pub const MAX: $name = $name((1 << $bits) - 1);

            /// The value, or `None` when it does not fit the field.
            pub const fn new(value: u32) -> Option<Self> {
                if value <= Self::MAX.0 { Some($name(value)) } else { None }
            }

            /// Keep the low bits of `value` that fit the field (for values
            /// read from a wire field of exactly that width).
            pub(crate) const fn from_bits_truncate(value: u32) -> Self {
                $name(value & Self::MAX.0)
            }

            /// The numeric value.
            pub const fn value(self) -> u32 {
                self.0
            }
        }

        impl TryFrom<u32> for $name {
            type Error = OutOfRange;
            fn try_from(value: u32) -> Result<Self, OutOfRange> {
                Self::new(value).ok_or(OutOfRange { what: $what, value, max: Self::MAX.0 })
            }
        }

        impl From<$name> for u32 {
            fn from(v: $name) -> u32 {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

bounded_u32!(
    /// An MPLS label: 20 bits (RFC 3032). Values 0–15 are reserved.
    ///
    /// ```
    /// use vrsim_wire::MplsLabel;
    /// assert_eq!(MplsLabel::try_from(35).unwrap().value(), 35);
    /// assert!(MplsLabel::try_from(1 << 20).is_err());
    /// ```
    MplsLabel,
    20,
    "mpls label"
);

bounded_u32!(
    /// A VXLAN network identifier: 24 bits (RFC 7348).
    ///
    /// ```
    /// use vrsim_wire::Vni;
    /// assert_eq!(Vni::try_from(4).unwrap().to_string(), "4");
    /// assert!(Vni::try_from(0x100_0000).is_err());
    /// ```
    Vni,
    24,
    "vni"
);

impl MplsLabel {
    /// The IPv4 explicit null label (RFC 3032).
    pub const IPV4_EXPLICIT_NULL: MplsLabel = MplsLabel(0);
    /// The first label that is not reserved (RFC 3032: 0–15 are reserved).
    pub const FIRST_UNRESERVED: MplsLabel = MplsLabel(16);

    /// Whether this is one of the reserved values 0–15.
    #[inline]
    pub const fn is_reserved(self) -> bool {
        self.0 < 16
    }
}

/// The version an IP header states (its first four bits: 4, 6, or another
/// value), as a router reads it before it knows which header follows an MPLS
/// label or which EtherType to write; `None` for no bytes.
#[inline]
pub fn ip_version(packet: &[u8]) -> Option<u8> {
    packet.first().map(|b| b >> 4)
}

/// The source and destination ports at the start of a TCP or UDP header
/// (the same four bytes in both), as they are on the wire; `None` when
/// fewer than four bytes are there.
#[inline]
pub fn transport_ports(segment: &[u8]) -> Option<[u8; 4]> {
    segment.first_chunk::<4>().copied()
}

/// UDP destination port of MPLS over UDP (RFC 7510).
pub const UDP_PORT_MPLS: u16 = 6635;
/// The MPLS-over-UDP port older vRouters use; accepted on receive.
pub const UDP_PORT_MPLS_LEGACY: u16 = 51234;
/// UDP destination port of VXLAN (RFC 7348).
pub const UDP_PORT_VXLAN: u16 = 4789;

/// The addresses of an IP header, for the UDP and TCP pseudo-header checksums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpPair {
    /// IPv4 source and destination.
    V4 {
        /// Source address.
        src: Ipv4Addr,
        /// Destination address.
        dst: Ipv4Addr,
    },
    /// IPv6 source and destination.
    V6 {
        /// Source address.
        src: Ipv6Addr,
        /// Destination address.
        dst: Ipv6Addr,
    },
}

impl IpPair {
    /// The checksum of `data` (a UDP or TCP segment) with this pseudo-header,
    /// treating the 16-bit word at index `skipword` (the checksum field) as zero.
    #[inline]
    pub(crate) fn transport_checksum(
        &self,
        data: &[u8],
        skipword: usize,
        proto: IpProtocol,
    ) -> u16 {
        use pnet_packet::ip::IpNextHeaderProtocol;
        let proto = IpNextHeaderProtocol(proto.value());
        match self {
            IpPair::V4 { src, dst } => {
                pnet_packet::util::ipv4_checksum(data, skipword, &[], src, dst, proto)
            }
            IpPair::V6 { src, dst } => {
                pnet_packet::util::ipv6_checksum(data, skipword, &[], src, dst, proto)
            }
        }
    }
}

/// Up to 40 bytes of raw IPv4 or TCP options, kept so that parse and emit
/// round-trip exactly.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Options {
    len: u8,
    bytes: [u8; Options::MAX_LEN],
}

impl Options {
    /// The most option bytes an IPv4 or TCP header carries.
    pub const MAX_LEN: usize = 40;

    /// No options.
    #[inline]
    pub const fn none() -> Self {
        Options {
            len: 0,
            bytes: [0; Self::MAX_LEN],
        }
    }

    /// Options from raw bytes; `None` when longer than [`Options::MAX_LEN`] or
    /// not a multiple of 4 bytes (both headers count their length in 32-bit words).
    #[inline]
    pub fn from_bytes(raw: &[u8]) -> Option<Self> {
        if raw.len() > Self::MAX_LEN || !raw.len().is_multiple_of(4) {
            return None;
        }
        let mut bytes = [0; Self::MAX_LEN];
        bytes[..raw.len()].copy_from_slice(raw);
        // The length is at most 40, so it fits a u8.
        Some(Options {
            len: raw.len() as u8,
            bytes,
        })
    }

    /// The option bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The number of option bytes.
    #[inline]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether there are no options.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::none()
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Options(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// The one's-complement checksum of `data` with the 16-bit word at index
/// `skipword` taken as zero (RFC 1071), as used by IPv4, ICMP and GRE.
///
/// Sums 32-bit big-endian words into a 64-bit accumulator and folds once at
/// the end (RFC 1071 §2: the sum is independent of byte order and word
/// grouping). `pnet_packet::util::checksum` computes the same value about six
/// times slower word by word; a 20-byte IPv4 header was 117 of the ~2,000
/// instructions the vRouter spends on a packet it tunnels.
#[inline]
pub(crate) fn internet_checksum(data: &[u8], skipword: usize) -> u16 {
    let mut sum: u64 = 0;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        sum += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let mut tail = [0u8; 4];
    let rest = words.remainder();
    tail[..rest.len()].copy_from_slice(rest);
    sum += u64::from(u32::from_be_bytes(tail));
    // Take the skipped word back out: it sits in the high half of its 32-bit
    // group when its offset is a multiple of 4, else in the low half.
    // (A final odd byte is the high byte of a word of its own.)
    let at = skipword.saturating_mul(2);
    if let Some(&hi) = data.get(at) {
        let lo = data.get(at + 1).copied().unwrap_or(0);
        let shift = if at.is_multiple_of(4) { 16 } else { 0 };
        sum -= u64::from(u16::from_be_bytes([hi, lo])) << shift;
    }
    let mut folded = (sum & 0xffff_ffff) + (sum >> 32);
    folded = (folded & 0xffff_ffff) + (folded >> 32);
    folded = (folded & 0xffff) + (folded >> 16);
    folded = (folded & 0xffff) + (folded >> 16);
    !(folded as u16)
}

/// Read a big-endian u16 at `at`; the caller has checked the length.
#[inline]
pub(crate) fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

/// Read a big-endian u32 at `at`; the caller has checked the length.
#[inline]
pub(crate) fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::internet_checksum;

    proptest! {
        /// The same sums as pnet's word-by-word implementation, for every
        /// length (odd ones included) and skipped word. (pnet answers 0 for
        /// no data at all; the sum of nothing is 0, whose checksum is ffff.)
        #[test]
        fn checksum_agrees_with_pnet(data in proptest::collection::vec(any::<u8>(), 1..200), skip in 0usize..110) {
            prop_assert_eq!(internet_checksum(&data, skip), pnet_packet::util::checksum(&data, skip));
        }
    }

    #[test]
    fn rfc_1071_example_and_all_ones() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
        assert_eq!(
            internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 99),
            !0xddf2
        );
        assert_eq!(internet_checksum(&[0xff; 64], 99), 0);
    }
}
