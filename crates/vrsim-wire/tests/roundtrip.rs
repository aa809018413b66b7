//! Round trips through vrsim-wire, as properties:
//! 1. every `Repr`: emit then parse gives it back; emit fills every header
//!    byte, leaves the payload and anything past it alone, and fails with
//!    `BufferTooSmall` (never a panic) on any shorter buffer;
//! 2. random valid header stacks build, dissect to the headers the builder
//!    filled in, and dissect → rebuild gives the same bytes;
//! 3. arbitrary and corrupted frames dissect without panicking, and their
//!    dissection rebuilds to bytes that dissect the same way;
//! 4. every prefix of a valid frame dissects to a prefix of its headers, with
//!    the error (if any) at the header the cut falls inside.

// Helpers outside `#[test]` functions unwrap values the properties have
// already checked.
#![allow(clippy::unwrap_used)]

use std::fmt::Debug;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use vrsim_testkit::strategies::wire as strategies;
use vrsim_testkit::strategies::wire::{Stack, extent, fill, frame, without_length};
use vrsim_wire::arp::ArpView;
use vrsim_wire::dissect::MAX_HEADERS;
use vrsim_wire::ethernet::{EthernetView, VlanView};
use vrsim_wire::gre::GreView;
use vrsim_wire::icmpv4::Icmpv4View;
use vrsim_wire::ipv4::Ipv4View;
use vrsim_wire::ipv6::{ExtHeader, Ipv6View};
use vrsim_wire::mpls::MplsView;
use vrsim_wire::tcp::TcpView;
use vrsim_wire::udp::UdpView;
use vrsim_wire::vxlan::VxlanView;
use vrsim_wire::{
    Dissection, Error, ErrorKind, Frame, Header, IpPair, Layer, Result as WireResult, dissect_from,
};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------- 1. reprs

/// How a header is emitted: whether `emit` needs the payload in place (its
/// checksum covers it) or only the header's own bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    Header,
    HeaderAndPayload,
}

/// Emit `repr` in front of `payload`, parse it back, and check the emit
/// buffer contract. `garbage` fills the header region and a tail past the
/// end beforehand: emit must overwrite the one and leave the other alone.
#[allow(clippy::too_many_arguments)]
fn check_repr<R: PartialEq + Debug>(
    repr: &R,
    header_len: usize,
    payload: &[u8],
    needs: Needs,
    layer: Layer,
    garbage: &[u8],
    emit: impl Fn(&R, &mut [u8]) -> WireResult<()>,
    parse: impl Fn(&[u8]) -> WireResult<R>,
) -> Result<(), TestCaseError> {
    let total = header_len + payload.len();
    let mut buf = vec![0u8; total];
    buf[header_len..].copy_from_slice(payload);
    prop_assert_eq!(emit(repr, &mut buf), Ok(()));
    prop_assert_eq!(&buf[header_len..], payload, "emit wrote into the payload");
    let parsed = parse(&buf);
    prop_assert_eq!(parsed.as_ref(), Ok(repr));

    // Whatever the buffer held before, emit writes the same header, and
    // nothing past header + payload.
    let filler = |i: usize| {
        garbage
            .get(i % garbage.len().max(1))
            .copied()
            .unwrap_or(0xa5)
    };
    let mut dirty: Vec<u8> = (0..header_len).map(filler).collect();
    dirty.extend_from_slice(payload);
    dirty.extend((0..garbage.len()).map(|i| filler(i + 7)));
    let tail = dirty[total..].to_vec();
    prop_assert_eq!(emit(repr, &mut dirty), Ok(()));
    prop_assert_eq!(&dirty[..total], &buf[..], "emit depends on old bytes");
    prop_assert_eq!(&dirty[total..], &tail[..], "emit wrote past its end");

    // Any shorter buffer is an error saying how much is needed.
    let needed = match needs {
        Needs::Header => header_len,
        Needs::HeaderAndPayload => total,
    };
    for n in 0..total {
        let mut short = buf[..n].to_vec();
        let result = emit(repr, &mut short);
        if n < needed {
            prop_assert_eq!(
                result,
                Err(Error::new(
                    layer,
                    ErrorKind::BufferTooSmall {
                        needed,
                        available: n
                    }
                )),
                "emit into {} bytes",
                n
            );
        } else {
            prop_assert_eq!(result, Ok(()), "emit into {} bytes", n);
            prop_assert_eq!(&short[..header_len], &buf[..header_len]);
        }
    }
    Ok(())
}

/// `(repr, payload)` with the repr's payload length set to the payload's.
fn with_payload<R: Debug + Clone>(
    repr: impl Strategy<Value = R>,
    set: fn(R, usize) -> R,
) -> impl Strategy<Value = (R, Vec<u8>)> {
    (repr, strategies::payload()).prop_map(move |(r, p)| (set(r, p.len()), p))
}

fn garbage() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 1..16)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn ethernet_round_trips(r in strategies::ethernet_repr(), p in strategies::payload(), g in garbage()) {
        check_repr(&r, 14, &p, Needs::Header, Layer::Ethernet, &g,
            |r, b| r.emit(b),
            |b| vrsim_wire::ethernet::EthernetRepr::parse(&EthernetView::new_checked(b)?))?;
    }

    #[test]
    fn vlan_round_trips(r in strategies::vlan_repr(), p in strategies::payload(), g in garbage()) {
        check_repr(&r, 4, &p, Needs::Header, Layer::Vlan, &g,
            |r, b| r.emit(b),
            |b| vrsim_wire::ethernet::VlanRepr::parse(&VlanView::new_checked(b)?))?;
    }

    #[test]
    fn arp_round_trips(r in strategies::arp_repr(), p in strategies::payload(), g in garbage()) {
        check_repr(&r, 28, &p, Needs::Header, Layer::Arp, &g,
            |r, b| r.emit(b),
            |b| vrsim_wire::arp::ArpRepr::parse(&ArpView::new_checked(b)?))?;
    }

    #[test]
    fn ipv4_round_trips(
        (r, p) in with_payload(strategies::ipv4_repr(), |r, n| vrsim_wire::ipv4::Ipv4Repr { payload_len: n, ..r }),
        g in garbage(),
    ) {
        prop_assert_eq!(r.buffer_len(), 20 + r.options.len());
        check_repr(&r, r.buffer_len(), &p, Needs::Header, Layer::Ipv4, &g,
            |r, b| r.emit(b),
            |b| vrsim_wire::ipv4::Ipv4Repr::parse(&Ipv4View::new_checked(b)?))?;
    }

    #[test]
    fn ipv6_round_trips(
        (r, p) in with_payload(strategies::ipv6_repr(), |r, n| vrsim_wire::ipv6::Ipv6Repr { payload_len: n, ..r }),
        g in garbage(),
    ) {
        check_repr(&r, 40, &p, Needs::Header, Layer::Ipv6, &g,
            |r, b| r.emit(b),
            |b| vrsim_wire::ipv6::Ipv6Repr::parse(&Ipv6View::new_checked(b)?))?;
    }

    #[test]
    fn ipv6_extension_header_round_trips(r in strategies::ext_header(), p in strategies::payload(), g in garbage()) {
        check_repr(&r, r.len, &p, Needs::Header, Layer::Ipv6Ext, &g,
            |r, b| r.emit(b),
            |b| ExtHeader::parse(r.kind, b))?;
    }

    #[test]
    fn icmpv4_round_trips(
        (r, p) in with_payload(strategies::icmpv4_repr(), |r, n| vrsim_wire::icmpv4::Icmpv4Repr { payload_len: n, ..r }),
        g in garbage(),
    ) {
        check_repr(&r, 8, &p, Needs::HeaderAndPayload, Layer::Icmpv4, &g,
            |r, b| r.emit(b),
            |b| vrsim_wire::icmpv4::Icmpv4Repr::parse(&Icmpv4View::new_checked(b)?))?;
    }

    #[test]
    fn udp_round_trips(
        (r, p) in with_payload(strategies::udp_repr(), |r, n| vrsim_wire::udp::UdpRepr { payload_len: n, ..r }),
        ip in strategies::ip_pair(),
        zero in any::<bool>(),
        g in garbage(),
    ) {
        // A zero ("not computed") checksum is valid over IPv4 only.
        let r = vrsim_wire::udp::UdpRepr { zero_checksum: zero && matches!(ip, IpPair::V4 { .. }), ..r };
        check_repr(&r, 8, &p, Needs::HeaderAndPayload, Layer::Udp, &g,
            |r, b| r.emit(b, &ip),
            |b| vrsim_wire::udp::UdpRepr::parse(&UdpView::new_checked(b)?, &ip))?;
    }

    #[test]
    fn tcp_round_trips(
        (r, p) in with_payload(strategies::tcp_repr(), |r, n| vrsim_wire::tcp::TcpRepr { payload_len: n, ..r }),
        ip in strategies::ip_pair(),
        g in garbage(),
    ) {
        check_repr(&r, r.buffer_len(), &p, Needs::HeaderAndPayload, Layer::Tcp, &g,
            |r, b| r.emit(b, &ip),
            |b| vrsim_wire::tcp::TcpRepr::parse(&TcpView::new_checked(b)?, &ip))?;
    }

    #[test]
    fn gre_round_trips(
        (r, p) in with_payload(strategies::gre_repr(), |r, n| vrsim_wire::gre::GreRepr { payload_len: n, ..r }),
        g in garbage(),
    ) {
        let needs = if r.checksum { Needs::HeaderAndPayload } else { Needs::Header };
        check_repr(&r, r.buffer_len(), &p, needs, Layer::Gre, &g,
            |r, b| r.emit(b),
            |b| vrsim_wire::gre::GreRepr::parse(&GreView::new_checked(b)?))?;
    }

    #[test]
    fn mpls_round_trips(r in strategies::mpls_repr(), p in strategies::payload(), g in garbage()) {
        check_repr(&r, 4 * r.entries().len(), &p, Needs::Header, Layer::Mpls, &g,
            |r, b| r.emit(b),
            |b| vrsim_wire::mpls::MplsRepr::parse(&MplsView::new_checked(b)?))?;
    }

    #[test]
    fn vxlan_round_trips(r in strategies::vxlan_repr(), p in strategies::payload(), g in garbage()) {
        check_repr(&r, 8, &p, Needs::Header, Layer::Vxlan, &g,
            |r, b| r.emit(b),
            |b| vrsim_wire::vxlan::VxlanRepr::parse(&VxlanView::new_checked(b)?))?;
    }
}

// ------------------------------------------------------------- 2. frames

fn build(stack: &Stack) -> WireResult<Vec<u8>> {
    stack
        .headers
        .iter()
        .fold(Frame::new(), |f, h| f.header(*h))
        .payload(&stack.payload)
        .build()
}

/// The offset of each header of a stack.
fn offsets(headers: &[Header]) -> Vec<usize> {
    headers
        .iter()
        .scan(0, |at, h| {
            let here = *at;
            *at += h.buffer_len();
            Some(here)
        })
        .collect()
}

/// `(offset, header)` pairs of a dissection, for comparing with a list.
fn listed(d: &Dissection<'_>) -> Vec<(usize, Header)> {
    d.headers.to_vec()
}

/// What `dissect` must make of the frame built from `stack`.
fn check_frame(stack: &Stack, bytes: &[u8]) -> Result<(), TestCaseError> {
    let filled = fill(&stack.headers, stack.payload.len());
    let at = offsets(&filled);
    let want: Vec<(usize, Header)> = at.iter().copied().zip(filled.iter().copied()).collect();
    prop_assert_eq!(
        bytes.len(),
        filled.iter().map(Header::buffer_len).sum::<usize>() + stack.payload.len()
    );
    let d = vrsim_wire::dissect(bytes);
    let _ = d.to_string();
    if filled.len() <= MAX_HEADERS {
        prop_assert_eq!(d.error, None);
        prop_assert_eq!(listed(&d), want);
        prop_assert_eq!(d.payload, &stack.payload[..]);
        prop_assert_eq!(d.payload_offset, bytes.len() - stack.payload.len());
    } else {
        // Deeper than the dissector goes: the first MAX_HEADERS headers, then
        // an error at the next one.
        prop_assert_eq!(listed(&d), &want[..MAX_HEADERS]);
        let (offset, next) = want[MAX_HEADERS];
        prop_assert_eq!(
            d.error,
            Some(
                Error::new(
                    next.layer(),
                    ErrorKind::TooManyHeaders { bound: MAX_HEADERS }
                )
                .at(offset)
            )
        );
        prop_assert_eq!(d.payload, &bytes[offset..]);
    }

    // dissect → rebuild is the identity, and so dissects the same.
    let rebuilt = d.to_builder().build();
    prop_assert_eq!(rebuilt.as_deref(), Ok(bytes));
    let rebuilt = rebuilt.unwrap();
    prop_assert_eq!(vrsim_wire::dissect(&rebuilt), d);
    Ok(())
}

/// Dissect `bytes` from `first`, rebuild the dissection and dissect that:
/// the rebuild succeeds, keeps every header (up to the lengths, which are
/// recomputed from what follows, or kept where a header states more, as
/// around a tunnel's inner packet), the payload and the error, and is a
/// fixed point.
fn check_rebuild(bytes: &[u8], first: Layer) -> Result<(), TestCaseError> {
    let d1 = dissect_from(bytes, first);
    let _ = d1.to_string();
    let _ = d1.chain();
    let b2 = d1.to_builder().build();
    prop_assert!(b2.is_ok(), "a dissection does not build: {:?}\n{}", b2, d1);
    let b2 = b2.unwrap();
    prop_assert!(b2.len() <= bytes.len());
    let d2 = dissect_from(&b2, first);
    prop_assert_eq!(d2.error, d1.error, "\n{}\n--- rebuilt:\n{}", d1, d2);
    prop_assert_eq!(d2.payload, d1.payload);
    prop_assert_eq!(d2.payload_offset, d1.payload_offset);
    // The dissected protocol fields are what the builder would choose ...
    let headers1: Vec<Header> = d1.iter().copied().collect();
    let refilled = fill(&headers1, d1.payload.len());
    prop_assert_eq!(
        refilled.iter().map(without_length).collect::<Vec<_>>(),
        headers1.iter().map(without_length).collect::<Vec<_>>()
    );
    // ... and the rebuilt frame holds exactly what the builder filled in.
    let headers2: Vec<Header> = d2.iter().copied().collect();
    prop_assert_eq!(&headers2, &refilled, "\n{}\n--- rebuilt:\n{}", d1, d2);
    let offsets1: Vec<usize> = d1.headers.iter().map(|(o, _)| *o).collect();
    let offsets2: Vec<usize> = d2.headers.iter().map(|(o, _)| *o).collect();
    prop_assert_eq!(offsets2, offsets1);
    // A second round changes nothing.
    let b3 = d2.to_builder().build();
    prop_assert_eq!(b3.as_deref(), Ok(&b2[..]));
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn frames_build_dissect_and_rebuild(stack in frame()) {
        let bytes = build(&stack);
        prop_assert!(bytes.is_ok(), "{:?}", bytes);
        check_frame(&stack, &bytes.unwrap())?;
    }
}

// ------------------------------------------------------------- 3. arbitrary bytes

/// A way to corrupt a frame: bytes XORed with non-zero masks, then
/// optionally a truncation.
#[derive(Debug, Clone)]
struct Corruption {
    flips: Vec<(Index, u8)>,
    cut: Option<Index>,
}

fn corruption() -> impl Strategy<Value = Corruption> {
    (
        vec((any::<Index>(), 1u8..=255), 0..4),
        proptest::option::of(any::<Index>()),
    )
        .prop_map(|(flips, cut)| Corruption { flips, cut })
}

fn corrupt(mut bytes: Vec<u8>, c: &Corruption) -> Vec<u8> {
    if !bytes.is_empty() {
        for (at, mask) in &c.flips {
            *at.get_mut(&mut bytes) ^= mask;
        }
    }
    if let Some(cut) = &c.cut {
        bytes.truncate(cut.index(bytes.len() + 1));
    }
    bytes
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_bytes_dissect_and_rebuild(
        bytes in vec(any::<u8>(), 0..300),
        first in prop::sample::select(vec![Layer::Ethernet, Layer::Ipv4, Layer::Ipv6, Layer::Mpls]),
    ) {
        check_rebuild(&bytes, first)?;
    }

    #[test]
    fn corrupted_frames_dissect_and_rebuild(stack in frame(), c in corruption()) {
        let bytes = corrupt(build(&stack).unwrap(), &c);
        check_rebuild(&bytes, Layer::Ethernet)?;
    }
}

// ------------------------------------------------------------- 4. truncation

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn every_prefix_stops_where_it_is_cut(stack in frame()) {
        let bytes = build(&stack).unwrap();
        let filled = fill(&stack.headers, stack.payload.len());
        let at = offsets(&filled);
        let full = vrsim_wire::dissect(&bytes);
        for n in 0..=bytes.len() {
            let d = vrsim_wire::dissect(&bytes[..n]);
            let _ = d.to_string();
            // What was dissected is a prefix of the whole frame's headers.
            let k = d.headers.len();
            prop_assert!(k <= full.headers.len(), "cut at {}", n);
            prop_assert_eq!(&d.headers[..], &full.headers[..k], "cut at {}", n);
            prop_assert!(d.payload_offset <= n);
            match d.error {
                Some(e) => {
                    // The error names the next header of the frame, at its
                    // offset, and the cut falls inside what that header claims.
                    prop_assert!(e.offset <= n, "cut at {}: {}", n, e);
                    prop_assert_eq!(e.offset, d.payload_offset, "cut at {}: {}", n, e);
                    prop_assert!(k < filled.len(), "cut at {}: {}", n, e);
                    prop_assert_eq!((e.offset, e.layer), (at[k], filled[k].layer()), "cut at {}", n);
                    if k == MAX_HEADERS {
                        prop_assert_eq!(e.kind, ErrorKind::TooManyHeaders { bound: MAX_HEADERS });
                    } else {
                        prop_assert!(
                            matches!(
                                e.kind,
                                ErrorKind::Truncated { .. }
                                    | ErrorKind::HeaderLength { .. }
                                    | ErrorKind::LengthExceedsBuffer { .. }
                            ),
                            "cut at {}: {}", n, e
                        );
                        prop_assert!(n < at[k] + extent(&filled[k]), "cut at {}: {}", n, e);
                    }
                    prop_assert_eq!(d.payload, &bytes[e.offset..n]);
                }
                None => {
                    // Nothing dissected claims bytes past the cut.
                    for (i, (offset, h)) in d.headers.iter().enumerate() {
                        prop_assert!(offset + extent(h) <= n, "cut at {}: header {} {}", n, i, h);
                    }
                    prop_assert_eq!(d.payload, &bytes[d.payload_offset..n]);
                }
            }
        }
    }
}
