//! The crate's error type: what went wrong, in which layer, at which byte offset.

use core::fmt;

/// The protocol layer an [`Error`] or a dissected header belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layer {
    /// Ethernet II.
    Ethernet,
    /// An IEEE 802.1Q (or 802.1ad) VLAN tag.
    Vlan,
    /// ARP for IPv4 over Ethernet.
    Arp,
    /// IPv4.
    Ipv4,
    /// The IPv6 fixed header.
    Ipv6,
    /// An IPv6 extension header.
    Ipv6Ext,
    /// ICMP for IPv4.
    Icmpv4,
    /// ICMP for IPv6, neighbour discovery included.
    Icmpv6,
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// GRE.
    Gre,
    /// One MPLS label stack entry, or the stack.
    Mpls,
    /// VXLAN.
    Vxlan,
}

impl Layer {
    /// The lowercase name used in messages and traces (`"ipv4"`, `"mpls"`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Layer::Ethernet => "ethernet",
            Layer::Vlan => "vlan",
            Layer::Arp => "arp",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv6 => "ipv6",
            Layer::Ipv6Ext => "ipv6 extension header",
            Layer::Icmpv4 => "icmp",
            Layer::Icmpv6 => "icmp6",
            Layer::Udp => "udp",
            Layer::Tcp => "tcp",
            Layer::Gre => "gre",
            Layer::Mpls => "mpls",
            Layer::Vxlan => "vxlan",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with a header. Lengths are in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Fewer bytes remain than the fixed part of the header needs.
    #[error("header needs {needed} bytes, {available} remaining")]
    Truncated {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes that remain.
        available: usize,
    },
    /// A header-length field (IPv4 IHL, TCP data offset, an IPv6 extension
    /// header's length) points past the end of the buffer.
    #[error("header length {stated} exceeds {available} remaining bytes")]
    HeaderLength {
        /// The header length the field states.
        stated: usize,
        /// Bytes that remain.
        available: usize,
    },
    /// A header-length field is below the header's minimum.
    #[error("header length {stated} is below the minimum of {minimum}")]
    HeaderTooShort {
        /// The header length the field states.
        stated: usize,
        /// The smallest valid header length.
        minimum: usize,
    },
    /// A total-length field (IPv4 total length, IPv6 payload length, UDP
    /// length) exceeds the bytes that remain.
    #[error("length field {stated} exceeds {available} remaining bytes")]
    LengthExceedsBuffer {
        /// The length the field states.
        stated: usize,
        /// Bytes that remain.
        available: usize,
    },
    /// A total-length field is smaller than the header it includes.
    #[error("length field {stated} is smaller than the header length {header}")]
    LengthBelowHeader {
        /// The length the field states.
        stated: usize,
        /// The header's own length.
        header: usize,
    },
    /// The version field holds an unexpected value.
    #[error("version {found}, expected {expected}")]
    Version {
        /// The version found.
        found: u8,
        /// The version this parser handles.
        expected: u8,
    },
    /// A checksum does not verify.
    #[error("bad checksum 0x{found:04x}, expected 0x{expected:04x}")]
    Checksum {
        /// The checksum in the packet.
        found: u16,
        /// The checksum computed over the bytes.
        expected: u16,
    },
    /// ARP for something other than IPv4 over Ethernet.
    #[error(
        "unsupported arp hardware type {hardware}, protocol 0x{protocol:04x}, lengths {hardware_len}/{protocol_len}"
    )]
    ArpFormat {
        /// Hardware type (1 is Ethernet).
        hardware: u16,
        /// Protocol type (0x0800 is IPv4).
        protocol: u16,
        /// Hardware address length (6 for Ethernet).
        hardware_len: u8,
        /// Protocol address length (4 for IPv4).
        protocol_len: u8,
    },
    /// GRE with the routing-present bit set (RFC 1701 source routing; RFC 2784
    /// deprecates it and the vRouter does not handle it).
    #[error("routing-present bit set (flags 0x{flags:04x})")]
    GreRouting {
        /// The 16-bit flags-and-version word.
        flags: u16,
    },
    /// GRE with reserved flag bits set (strict source route, recursion control
    /// or the reserved bits of RFC 2784/2890).
    #[error("reserved flag bits set (flags 0x{flags:04x})")]
    GreReserved {
        /// The 16-bit flags-and-version word.
        flags: u16,
    },
    /// An MPLS stack deeper than [`crate::mpls::MAX_STACK_DEPTH`] entries
    /// without a bottom-of-stack bit.
    #[error("label stack deeper than {bound} entries")]
    MplsStackTooDeep {
        /// The bound.
        bound: usize,
    },
    /// A VXLAN header without the I flag (RFC 7348: the VNI is not valid).
    #[error("I flag clear (flags 0x{flags:02x}): the VNI is not valid")]
    VxlanNoVni {
        /// The flags byte.
        flags: u8,
    },
    /// An ICMPv6 message read as neighbour discovery that is not a
    /// solicitation or an advertisement.
    #[error("icmp6 type {found} is not a neighbour solicitation or advertisement")]
    NotNeighborDiscovery {
        /// The type found.
        found: u8,
    },
    /// More IPv6 extension headers than [`crate::ipv6::MAX_EXTENSION_HEADERS`].
    #[error("more than {bound} extension headers")]
    TooManyExtensionHeaders {
        /// The bound.
        bound: usize,
    },
    /// More VLAN tags than [`crate::ethernet::MAX_VLAN_TAGS`].
    #[error("more than {bound} vlan tags")]
    TooManyVlanTags {
        /// The bound.
        bound: usize,
    },
    /// Encapsulations nested deeper than [`crate::dissect::MAX_HEADERS`] headers.
    #[error("more than {bound} nested headers")]
    TooManyHeaders {
        /// The bound.
        bound: usize,
    },
    /// A frame builder was asked for a header that cannot follow the one before
    /// it (UDP with no IP header before it, IPv4 after ARP, …).
    #[error("{header} cannot follow {after}")]
    BadLayering {
        /// The header that does not fit.
        header: Layer,
        /// What comes before it: a layer name, or "the start of the frame".
        after: &'static str,
    },
    /// A value does not fit the field it is emitted into (a payload too long
    /// for a 16-bit length field, options longer than the header allows).
    #[error("{what} {value} does not fit the field (maximum {max})")]
    FieldOverflow {
        /// What overflowed.
        what: &'static str,
        /// The value.
        value: usize,
        /// The largest value the field holds.
        max: usize,
    },
    /// An emit buffer is smaller than the header (and payload) to write.
    #[error("emit buffer of {available} bytes, {needed} needed")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        available: usize,
    },
}

/// A parse or emit error: the layer, the byte offset of the layer's first byte
/// within the buffer handed to the outermost call, and what is wrong.
///
/// ```
/// use vrsim_wire::{Error, ErrorKind, Layer};
/// let e = Error::new(Layer::Ipv4, ErrorKind::HeaderLength { stated: 60, available: 40 }).at(18);
/// assert_eq!(e.to_string(), "ipv4 at offset 18: header length 60 exceeds 40 remaining bytes");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    /// The layer whose header is at fault.
    pub layer: Layer,
    /// Byte offset of that header's first byte.
    pub offset: usize,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl Error {
    /// An error at offset 0 of the buffer a header parser was given.
    pub const fn new(layer: Layer, kind: ErrorKind) -> Self {
        Error {
            layer,
            offset: 0,
            kind,
        }
    }

    /// Shift the offset by `base`: a caller that parsed an inner header from
    /// `&frame[base..]` uses this to report the offset within `frame`.
    #[must_use]
    pub const fn at(mut self, base: usize) -> Self {
        self.offset += base;
        self
    }

    pub(crate) const fn truncated(layer: Layer, needed: usize, available: usize) -> Self {
        Error::new(layer, ErrorKind::Truncated { needed, available })
    }

    pub(crate) const fn buffer_too_small(layer: Layer, needed: usize, available: usize) -> Self {
        Error::new(layer, ErrorKind::BufferTooSmall { needed, available })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}: {}", self.layer, self.offset, self.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}

/// The result type of this crate.
pub type Result<T> = core::result::Result<T, Error>;

/// Fail with [`ErrorKind::Truncated`] unless `bytes` holds at least `needed` bytes.
pub(crate) fn need(layer: Layer, bytes: &[u8], needed: usize) -> Result<()> {
    if bytes.len() < needed {
        Err(Error::truncated(layer, needed, bytes.len()))
    } else {
        Ok(())
    }
}
