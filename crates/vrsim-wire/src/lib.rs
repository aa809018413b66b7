//! # vrsim-wire
//!
//! The packet formats of vrsim: every header the Tungsten Fabric vRouter reads
//! or writes on its fabric and tap interfaces, parsed from untrusted bytes and
//! emitted into buffers, plus a [`Frame`] builder that composes whole frames
//! and a [`dissect()`] function that lists the headers of any frame.
//!
//! | layer | module | standard |
//! |---|---|---|
//! | Ethernet II, 802.1Q | [`ethernet`] | IEEE 802.3, 802.1Q |
//! | ARP (IPv4 over Ethernet) | [`arp`] | RFC 826 |
//! | IPv4 | [`ipv4`] | RFC 791 |
//! | IPv6 and extension headers | [`ipv6`] | RFC 8200 |
//! | ICMPv4 | [`icmpv4`] | RFC 792, RFC 1191 |
//! | ICMPv6, neighbour discovery | [`icmpv6`] | RFC 4443, RFC 4861 |
//! | UDP | [`udp`] | RFC 768 |
//! | TCP (header only) | [`tcp`] | RFC 9293 |
//! | GRE | [`gre`] | RFC 2784, RFC 2890 |
//! | MPLS label stack | [`mpls`] | RFC 3032 |
//! | VXLAN | [`vxlan`] | RFC 7348 |
//! | MPLS over GRE / UDP | [`dissect()`] | RFC 4023, RFC 7510 |
//!
//! ## The contract
//! Each header has a checked **view** (`XView::new_checked(&[u8])`) and a small
//! `Copy` **representation** (`XRepr`) with `parse(&view)`, `buffer_len()` and
//! `emit(&mut [u8])`:
//! - `new_checked` checks every length the header states against the bytes
//!   there are, once; after it, no accessor panics.
//! - `parse` checks the values (checksums, versions, flags) and returns a
//!   [`Error`] naming the layer and what is wrong; callers that parse an
//!   inner header shift its offset with [`Error::at`].
//! - `emit` never panics: a buffer shorter than the header is an error.
//!   Headers whose checksum covers their payload (ICMP, UDP, TCP, GRE with the
//!   C bit) expect the payload in place after the header.
//! - Unknown protocol numbers are kept ([`EtherType::Unknown`],
//!   [`IpProtocol::Unknown`]) and shown in hex or decimal, never a panic.
//!
//! [`pnet_packet`] supplies the field accessors where it has the protocol; MPLS
//! (which it lacks) and GRE (whose pnet parser panics on the routing bit) are
//! written here.
//!
//! ## A tour
//! ```
//! use vrsim_wire::{dissect, Frame, Header, MacAddr, Layer};
//!
//! // Build the gateway's MPLSoGRE echo request towards compute01 ...
//! let frame = Frame::new()
//!     .ethernet(MacAddr::new(2, 0, 0, 0, 0, 1), MacAddr::new(2, 0, 0, 0, 0, 21))
//!     .ipv4([10, 0, 0, 1], [10, 0, 0, 21])
//!     .gre()
//!     .mpls(35)
//!     .ipv4([203, 0, 113, 10], [192, 168, 100, 1])
//!     .icmp_echo_request(1, 1, b"ping")
//!     .build()?;
//!
//! // ... and take it apart again.
//! let d = dissect(&frame);
//! assert_eq!(d.chain(), "eth:ipv4:gre:mpls:ipv4:icmp");
//! let Some(Header::Mpls(stack)) = d.iter().nth(3) else { panic!("no mpls") };
//! assert_eq!(stack.top().label.value(), 35);
//! println!("{d}");
//! //    0  ether 02:00:00:00:00:01 > 02:00:00:00:00:15, type ipv4
//! //   14  ipv4 10.0.0.1 > 10.0.0.21: gre, ttl 64, id 0, len 60
//! //   34  gre proto mpls
//! //   38  mpls label 35 tc 0 ttl 64 [S]
//! //   42  ipv4 203.0.113.10 > 192.168.100.1: icmp, ttl 64, id 0, len 32
//! //   62  icmp echo request, id 1, seq 1, length 4
//!
//! // A truncated frame is an error that says where, never a panic.
//! let d = dissect(&frame[..40]);
//! let e = d.error.unwrap();
//! assert_eq!((e.layer, e.offset), (Layer::Ipv4, 14));
//! # Ok::<(), vrsim_wire::Error>(())
//! ```

pub mod arp;
pub mod builder;
pub mod dissect;
mod error;
pub mod ethernet;
pub mod gre;
mod header;
pub mod icmpv4;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod mpls;
pub mod tcp;
mod types;
pub mod udp;
pub mod vxlan;

pub use builder::Frame;
pub use dissect::{Dissection, dissect, dissect_from};
pub use error::{Error, ErrorKind, Layer, Result};
pub use header::Header;
pub use pnet_base::MacAddr;
pub use types::{
    EtherType, IpPair, IpProtocol, MplsLabel, Options, OutOfRange, UDP_PORT_MPLS,
    UDP_PORT_MPLS_LEGACY, UDP_PORT_VXLAN, Vni, ip_version, transport_ports,
};
