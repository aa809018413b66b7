//! proptest strategies for the dataplane properties: random RPF tables and
//! packets ([`rpf_case`]), and random frame sequences of seed, mutated and
//! garbage frames on existing and missing vifs ([`frame_inputs`]).
//!
//! The strategies produce plain descriptions; the tests build the `VRouter`
//! and compute their expectations from them.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// What a random route (or an ECMP member) points at, by position in the case's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The Encap nexthop of tap `i`.
    Encap(usize),
    /// Tunnel nexthop `i` (MPLSoGRE to `RpfCase::tunnel_dips[i]`).
    Tunnel(usize),
    /// nh 0, the discard nexthop.
    Discard,
    /// The Receive nexthop to vhost.
    Receive,
    /// The ECMP composite (only generated when the case has one).
    Ecmp,
}

/// Where the packet enters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingress {
    /// From tap `i`, addressed to the vRouter MAC.
    Tap(usize),
    /// From the fabric as MPLSoGRE with outer source `outer_src`, its label
    /// leading to the Encap nexthop of tap `to_tap`.
    Fabric {
        /// The outer source address of the tunnel it came through.
        outer_src: Ipv4Addr,
        /// The tap whose Encap nexthop its label leads to.
        to_tap: usize,
    },
}

/// One RPF test case: tables and a packet.
#[derive(Debug, Clone)]
pub struct RpfCase {
    /// Whether each tap's Encap nexthop has the Policy flag (2 or 3 taps).
    pub encap_policy: Vec<bool>,
    /// The tunnels' destinations (1 to 3).
    pub tunnel_dips: Vec<Ipv4Addr>,
    /// The ECMP composite's members, if there is one.
    pub ecmp: Option<Vec<Target>>,
    /// Routes in the VMs' VRF, in insertion order (a later equal prefix replaces).
    pub routes: Vec<(Ipv4Net, Target)>,
    /// The default route's target, if any.
    pub default: Option<Target>,
    /// RPF on the VMs' VRF.
    pub rpf: bool,
    /// The packet's source.
    pub src: Ipv4Addr,
    /// The packet's destination.
    pub dst: Ipv4Addr,
    /// Where it enters.
    pub ingress: Ingress,
}

/// Tunnel endpoints come from a small pool, so that outer sources often match one.
const ENDPOINTS: [Ipv4Addr; 4] = [
    Ipv4Addr::new(10, 0, 0, 1),
    Ipv4Addr::new(10, 0, 0, 22),
    Ipv4Addr::new(10, 0, 0, 23),
    Ipv4Addr::new(10, 0, 0, 99),
];

fn endpoint() -> impl Strategy<Value = Ipv4Addr> {
    prop::sample::select(&ENDPOINTS[..])
}

/// A route target among `taps` Encap and `tunnels` Tunnel nexthops, plus
/// Discard, Receive and (with `ecmp`) the composite.
fn target(taps: usize, tunnels: usize, ecmp: bool) -> BoxedStrategy<Target> {
    let mut choices = vec![
        (3, (0..taps).prop_map(Target::Encap).boxed()),
        (3, (0..tunnels).prop_map(Target::Tunnel).boxed()),
        (1, Just(Target::Discard).boxed()),
        (1, Just(Target::Receive).boxed()),
    ];
    if ecmp {
        choices.push((2, Just(Target::Ecmp).boxed()));
    }
    prop::strategy::Union::new_weighted(choices).boxed()
}

/// A prefix near `src`: `src` with some bits below `flip_from` flipped, of a
/// random length, so that it covers `src` about half the time and prefixes nest.
fn prefix_near(src: Ipv4Addr) -> impl Strategy<Value = Ipv4Net> {
    (0u32..=32, any::<u32>(), 0u8..=32).prop_map(move |(flip_from, bits, len)| {
        let mask = u32::MAX.checked_shr(flip_from).unwrap_or(0);
        let addr = Ipv4Addr::from(u32::from(src) ^ (bits & mask));
        Ipv4Net::new(addr, len).expect("len is at most 32").trunc()
    })
}

fn prefix_anywhere() -> impl Strategy<Value = Ipv4Net> {
    (any::<u32>(), 0u8..=32).prop_map(|(a, len)| {
        Ipv4Net::new(Ipv4Addr::from(a), len)
            .expect("len is at most 32")
            .trunc()
    })
}

/// A random RPF case.
pub fn rpf_case() -> impl Strategy<Value = RpfCase> {
    // Mostly Policy nexthops and RPF on, so that most cases are checked.
    let shape = (
        vec(prop::bool::weighted(0.8), 2..=3),
        vec(endpoint(), 1..=3),
        any::<bool>(),
        any::<Ipv4Addr>(),
    );
    shape.prop_flat_map(|(encap_policy, tunnel_dips, has_ecmp, src)| {
        let (taps, tunnels) = (encap_policy.len(), tunnel_dips.len());
        let members = vec(
            prop_oneof![
                (0..taps).prop_map(Target::Encap),
                (0..tunnels).prop_map(Target::Tunnel)
            ],
            1..=4,
        );
        let ecmp = if has_ecmp {
            members.prop_map(Some).boxed()
        } else {
            Just(None).boxed()
        };
        let route = (
            prop_oneof![3 => prefix_near(src), 1 => prefix_anywhere()],
            target(taps, tunnels, has_ecmp),
        );
        let ingress = prop_oneof![
            (0..taps).prop_map(Ingress::Tap),
            (
                prop_oneof![3 => endpoint(), 1 => any::<Ipv4Addr>()],
                0..taps
            )
                .prop_map(|(outer_src, to_tap)| Ingress::Fabric { outer_src, to_tap }),
        ];
        (
            Just(encap_policy),
            Just(tunnel_dips),
            ecmp,
            vec(route, 0..8),
            option::of(target(taps, tunnels, has_ecmp)),
            prop::bool::weighted(0.8),
            Just(src),
            any::<Ipv4Addr>(),
            ingress,
        )
            .prop_map(
                |(encap_policy, tunnel_dips, ecmp, routes, default, rpf, src, dst, ingress)| {
                    RpfCase {
                        encap_policy,
                        tunnel_dips,
                        ecmp,
                        routes,
                        default,
                        rpf,
                        src,
                        dst,
                        ingress,
                    }
                },
            )
    })
}

/// A frame and the vif it is sent on.
#[derive(Debug, Clone)]
pub struct FrameInput {
    /// The vif index (some do not exist on compute01).
    pub vif: u16,
    /// The frame.
    pub bytes: Vec<u8>,
}

/// compute01's vifs (0, 1, 2, 37) and indices it does not have.
const VIF_CHOICES: [u16; 7] = [0, 1, 2, 37, 3, 36, 4354];

/// The scenario frames plus the ARP and ping a VM sends to its gateway, each
/// with the vif it arrives on at compute01.
pub fn valid_frames() -> Vec<(u16, Vec<u8>)> {
    use crate::seed;
    use vrsim::wire::{Frame, MacAddr};
    let from_vm = ["container-reply-from-vm"];
    let mut frames: Vec<(u16, Vec<u8>)> = seed::frames()
        .into_iter()
        .map(|f| {
            let vif = if from_vm.contains(&f.name) { 37 } else { 0 };
            (vif, f.bytes)
        })
        .collect();
    let arp = Frame::new()
        .ethernet(seed::DOCKERHOST_MAC, MacAddr::broadcast())
        .arp_request(
            seed::DOCKERHOST_MAC,
            seed::DOCKERHOST_IP,
            seed::VN_GATEWAY_IP,
        );
    let ping = Frame::new()
        .ethernet(seed::DOCKERHOST_MAC, seed::VROUTER_MAC)
        .ipv4(seed::DOCKERHOST_IP, seed::VN_GATEWAY_IP)
        .icmp_echo_request(1, 1, b"gw?");
    frames.push((37, arp.build().expect("a fixed frame builds")));
    frames.push((37, ping.build().expect("a fixed frame builds")));
    frames
}

/// `f` with a few bytes flipped, then maybe truncated.
fn mutate(f: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    (
        vec((any::<prop::sample::Index>(), 1u8..), 0..4),
        option::of(any::<prop::sample::Index>()),
    )
        .prop_map(move |(flips, cut)| {
            let mut f = f.clone();
            for (at, x) in flips {
                let i = at.index(f.len());
                f[i] ^= x;
            }
            if let Some(cut) = cut {
                f.truncate(cut.index(f.len() + 1));
            }
            f
        })
}

/// One frame on one vif: a valid frame, a mutated one (byte flips and
/// truncations) or garbage; valid and mutated frames mostly on the vif they
/// belong to, otherwise on any vif, missing ones included.
pub fn frame_input() -> impl Strategy<Value = FrameInput> {
    let any_vif = || prop::sample::select(&VIF_CHOICES[..]);
    let seed = prop::sample::select(valid_frames());
    let frame = prop_oneof![
        2 => seed.clone(),
        4 => seed.prop_flat_map(|(vif, f)| (Just(vif), mutate(f))),
        1 => (any_vif(), vec(any::<u8>(), 0..200)),
    ];
    (frame, any::<bool>(), any_vif()).prop_map(|((natural, bytes), keep, other)| FrameInput {
        vif: if keep { natural } else { other },
        bytes,
    })
}
/// A sequence of frames.
pub fn frame_inputs() -> impl Strategy<Value = Vec<FrameInput>> {
    vec(frame_input(), 1..40)
}
