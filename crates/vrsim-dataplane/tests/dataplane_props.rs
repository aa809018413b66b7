//! Properties of the pipeline:
//! - **RPF** (docs/vrouter-reference.md §5): on random tables and packets, a packet that
//!   reaches flow processing is dropped as `Invalid Source` exactly when RPF
//!   is on and its source's longest-match route leads elsewhere, and as
//!   `Flow Action Drop` exactly when RPF is on and there is no source route.
//!   The expectation comes from a naive oracle (a linear scan of the routes
//!   inserted), not from the crate's RPF.
//! - **Accounting**: after any sequence of seed, mutated and garbage frames
//!   on existing and missing vifs, every frame is transmitted, sent to the
//!   host or counted under exactly one drop reason, globally and on its vif.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use vrsim_dataplane::drop::{DropCounters, DropReason};
use vrsim_dataplane::nexthop::{EcmpMember, NexthopConfig, NhFamily, NhFlags, NhKind, TunnelEncap};
use vrsim_dataplane::route::{BridgeEntry, Route, RouteFlags};
use vrsim_dataplane::trace::{NoTrace, Step, Trace};
use vrsim_dataplane::vif::{VifConfig, VifFlags, VifType};
use vrsim_dataplane::{Disposition, NhId, PacketBuf, VRouter, VifId, VrfId};
use vrsim_testkit::ids::{label, nh, public, vif};
use vrsim_testkit::seed::{self, COMPUTE01_FABRIC_MAC, COMPUTE01_IP, GW_FABRIC_MAC, VROUTER_MAC};
use vrsim_testkit::strategies::dataplane::{
    FrameInput, Ingress, RpfCase, Target, frame_inputs, rpf_case,
};
use vrsim_wire::{Frame, MacAddr};

// ---- the RPF model: ids and the router built from a case ----

const VMS: VrfId = seed::VRF_PUBLIC;
const FABRIC: u16 = 0;
const VHOST: u16 = 1;
const NH_RECEIVE_FABRIC: u32 = 1;
const NH_RECEIVE_VN: u32 = 2;
const NH_L2_RECEIVE: u32 = 3;
const NH_ECMP: u32 = 30;
const ROUTE_LABEL: u32 = 300;

fn tap_vif(i: usize) -> VifId {
    vif(10 + i as u16)
}
fn encap_nh(i: usize) -> NhId {
    nh(10 + i as u32)
}
fn tunnel_nh(i: usize) -> NhId {
    nh(20 + i as u32)
}
/// The label the fabric sends to reach tap `i`'s Encap nexthop.
fn tap_label(i: usize) -> u32 {
    100 + i as u32
}
fn vm_mac(i: usize) -> MacAddr {
    MacAddr::new(0x02, 0, 0, 0, 0, 10 + i as u8)
}

fn target_nh(t: Target) -> NhId {
    match t {
        Target::Encap(i) => encap_nh(i),
        Target::Tunnel(i) => tunnel_nh(i),
        Target::Discard => NhId::DISCARD,
        Target::Receive => nh(NH_RECEIVE_VN),
        Target::Ecmp => nh(NH_ECMP),
    }
}

fn rewrite(dst: MacAddr, src: MacAddr) -> [u8; 14] {
    let mut r = [0u8; 14];
    r[..6].copy_from_slice(&dst.octets());
    r[6..12].copy_from_slice(&src.octets());
    r[12..].copy_from_slice(&0x0800u16.to_be_bytes());
    r
}

fn add_vif(r: &mut VRouter, id: VifId, kind: VifType, vrf: VrfId, flags: VifFlags) {
    r.add_vif(VifConfig {
        id,
        kind,
        name: format!("vif{id}"),
        mac: if kind.is_virtual() {
            VROUTER_MAC
        } else {
            COMPUTE01_FABRIC_MAC
        },
        ip: (kind == VifType::Host).then_some(COMPUTE01_IP),
        vrf,
        mtu: 9000,
        mcast_vrf: None,
        qos_map: -1,
        ip6: None,
        flags,
        nh: None,
    })
    .unwrap();
}

fn add_nh(r: &mut VRouter, id: NhId, kind: NhKind, family: NhFamily, flags: NhFlags, vrf: VrfId) {
    r.add_nh(NexthopConfig {
        id,
        kind,
        family,
        flags: NhFlags::VALID | flags,
        vrf,
    })
    .unwrap();
}

fn route_to(t: Target) -> Route {
    Route {
        nh: target_nh(t),
        label: matches!(t, Target::Tunnel(_) | Target::Ecmp).then(|| label(ROUTE_LABEL)),
        flags: RouteFlags::empty(),
        stitched_mac: None,
    }
}

/// The vRouter a case describes: a fabric vif, vhost, Policy taps with their
/// Encap nexthops (reached from the fabric by label), MPLSoGRE tunnels, a
/// Receive nexthop, maybe a composite, and the case's routes in VRF 1.
fn build(case: &RpfCase) -> VRouter {
    let mut r = VRouter::new();
    let l3l2 = VifFlags::L3 | VifFlags::L2;
    add_vif(&mut r, vif(FABRIC), VifType::Physical, VrfId::FABRIC, l3l2);
    add_vif(&mut r, vif(VHOST), VifType::Host, VrfId::FABRIC, l3l2);
    let none = NhFlags::empty();
    let recv = NhKind::Receive { oif: vif(VHOST) };
    add_nh(
        &mut r,
        nh(NH_RECEIVE_FABRIC),
        recv.clone(),
        NhFamily::Inet,
        none,
        VrfId::FABRIC,
    );
    add_nh(&mut r, nh(NH_RECEIVE_VN), recv, NhFamily::Inet, none, VMS);
    add_nh(
        &mut r,
        nh(NH_L2_RECEIVE),
        NhKind::L2Receive,
        NhFamily::Bridge,
        none,
        VMS,
    );
    for (i, policy) in case.encap_policy.iter().enumerate() {
        add_vif(
            &mut r,
            tap_vif(i),
            VifType::Virtual,
            VMS,
            l3l2 | VifFlags::POLICY,
        );
        let kind = NhKind::Encap {
            oif: tap_vif(i),
            rewrite: rewrite(vm_mac(i), VROUTER_MAC),
            encap_family: 0x0806,
        };
        let flags = if *policy { NhFlags::POLICY } else { none };
        add_nh(&mut r, encap_nh(i), kind, NhFamily::Inet, flags, VMS);
        r.add_label(label(tap_label(i)), encap_nh(i)).unwrap();
    }
    for (i, dip) in case.tunnel_dips.iter().enumerate() {
        let kind = NhKind::Tunnel {
            encap: TunnelEncap::MplsOverGre,
            oif: vif(FABRIC),
            rewrite: rewrite(GW_FABRIC_MAC, COMPUTE01_FABRIC_MAC),
            sip: COMPUTE01_IP,
            dip: *dip,
        };
        add_nh(
            &mut r,
            tunnel_nh(i),
            kind,
            NhFamily::Inet,
            none,
            VrfId::FABRIC,
        );
    }
    if let Some(m) = &case.ecmp {
        let m = m
            .iter()
            .map(|t| EcmpMember {
                nh: Some(target_nh(*t)),
                label: matches!(t, Target::Tunnel(_)).then(|| label(ROUTE_LABEL)),
            })
            .collect();
        let kind = NhKind::Composite { members: m };
        add_nh(&mut r, nh(NH_ECMP), kind, NhFamily::Inet, none, VMS);
    }
    let vhost_route = route_to(Target::Discard);
    let vhost_route = Route {
        nh: nh(NH_RECEIVE_FABRIC),
        ..vhost_route
    };
    r.add_route4(VrfId::FABRIC, COMPUTE01_IP.into(), vhost_route)
        .unwrap();
    let bridge = BridgeEntry {
        nh: nh(NH_L2_RECEIVE),
        label: None,
    };
    r.add_bridge(VMS, VROUTER_MAC, bridge).unwrap();
    for (prefix, t) in all_routes(case) {
        r.add_route4(VMS, prefix, route_to(t)).unwrap();
    }
    r.set_rpf(VMS, case.rpf);
    r
}

/// The case's routes in insertion order: the random ones, then the default.
fn all_routes(case: &RpfCase) -> impl Iterator<Item = (Ipv4Net, Target)> + '_ {
    let default = case.default.map(|t| (Ipv4Net::default(), t));
    case.routes.iter().copied().chain(default)
}

/// The packet a case sends, and the vif it enters on.
fn packet(case: &RpfCase) -> (VifId, Vec<u8>) {
    let inner = Frame::new()
        .ipv4(case.src, case.dst)
        .udp(40000, 80)
        .payload(b"rpf?");
    match case.ingress {
        Ingress::Tap(i) => {
            let f = Frame::new().ethernet(vm_mac(i), VROUTER_MAC).append(inner);
            (tap_vif(i), f.build().unwrap())
        }
        Ingress::Fabric { outer_src, to_tap } => {
            let f = Frame::new()
                .ethernet(GW_FABRIC_MAC, COMPUTE01_FABRIC_MAC)
                .ipv4(outer_src, COMPUTE01_IP)
                .gre()
                .mpls(tap_label(to_tap))
                .ttl(64)
                .append(inner);
            (vif(FABRIC), f.build().unwrap())
        }
    }
}

// ---- the oracle ----

/// What the flow stage should do with a case's packet, its flow made by
/// the agent (`vrsim_control::flows`): S(nh) from the source route, nh 0
/// with RPF off; short flows for a missing source or destination route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// No flow processing: no check at all.
    NotChecked,
    /// RPF off: S(nh) is nh 0, which the vRouter does not check.
    RpfOff,
    Pass,
    /// The source route leads elsewhere: `Invalid Source`.
    Fail,
    /// No source route: the agent's `NoSrcRt` flow, `Flow Action Drop`.
    NoSourceRoute,
    /// No destination route: the agent's `NoDstRt` flow, `Flow Action Drop`.
    NoDestRoute,
}

/// The longest prefix among the inserted routes that covers `a` (the last
/// inserted wins for equal prefixes, as a replace does), by linear scan.
fn longest_match(routes: impl Iterator<Item = (Ipv4Net, Target)>, a: Ipv4Addr) -> Option<Target> {
    let mut best: Option<(u8, Target)> = None;
    for (p, t) in routes {
        if p.contains(&a) && best.is_none_or(|(len, _)| p.prefix_len() >= len) {
            best = Some((p.prefix_len(), t));
        }
    }
    best.map(|(_, t)| t)
}

/// Whether a source route's target leads back to where the packet came from.
fn leads_back(case: &RpfCase, t: Target) -> bool {
    match (t, case.ingress) {
        (Target::Encap(i), Ingress::Tap(j)) => i == j,
        (Target::Encap(_), Ingress::Fabric { .. }) => false,
        (Target::Tunnel(i), Ingress::Fabric { outer_src, .. }) => case.tunnel_dips[i] == outer_src,
        (Target::Tunnel(_), Ingress::Tap(_)) => false,
        (Target::Discard | Target::Receive, _) => true,
        (Target::Ecmp, _) => case.ecmp.iter().flatten().any(|m| leads_back(case, *m)),
    }
}

fn verdict(case: &RpfCase) -> Verdict {
    let flow = match case.ingress {
        Ingress::Tap(_) => true,
        Ingress::Fabric { to_tap, .. } => case.encap_policy[to_tap],
    };
    // No flows for multicast or broadcast destinations (`vr_inet_flow_lookup`).
    if !flow || case.dst.is_multicast() || case.dst.is_broadcast() {
        return Verdict::NotChecked;
    }
    // The vRouter checks S(nh) before it applies the action (`vr_flow_action`).
    match longest_match(all_routes(case), case.src) {
        None => Verdict::NoSourceRoute,
        Some(t) if case.rpf && !leads_back(case, t) => Verdict::Fail,
        Some(_) if longest_match(all_routes(case), case.dst).is_none() => Verdict::NoDestRoute,
        Some(_) if !case.rpf => Verdict::RpfOff,
        Some(_) => Verdict::Pass,
    }
}

fn check_rpf(case: &RpfCase) -> Result<(), TestCaseError> {
    let mut r = build(case);
    let (ingress, frame) = packet(case);
    let mut trace = Trace::default();
    let (d, _) = vrsim_testkit::process_with_agent(&mut r, ingress, &frame, &mut trace);
    let want = verdict(case);
    let invalid_source = d == Disposition::Drop(DropReason::InvalidSource);
    let no_src_route = d == Disposition::Drop(DropReason::FlowActionDrop);
    prop_assert_eq!(
        invalid_source,
        want == Verdict::Fail,
        "{:?}: {}",
        want,
        trace
    );
    prop_assert_eq!(
        no_src_route,
        matches!(want, Verdict::NoSourceRoute | Verdict::NoDestRoute),
        "{:?}: {}",
        want,
        trace
    );
    // The wording, spelled out: never with RPF off, never for a
    // Discard or Receive source route.
    let src_route = longest_match(all_routes(case), case.src);
    if !case.rpf || matches!(src_route, Some(Target::Discard | Target::Receive)) {
        prop_assert!(!invalid_source, "{}", trace);
    }
    // The check ran exactly when the oracle says, with the oracle's verdict.
    let rpf_steps: Vec<bool> = trace
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::FlowRpf { pass, .. } => Some(*pass),
            _ => None,
        })
        .collect();
    let want_steps: &[bool] = match want {
        Verdict::NotChecked => &[],
        Verdict::Fail => &[false],
        _ => &[true],
    };
    prop_assert_eq!(&rpf_steps[..], want_steps, "{}", trace);
    // Counted once, globally and on the ingress vif.
    for reason in [DropReason::InvalidSource, DropReason::FlowActionDrop] {
        let n = u64::from(d == Disposition::Drop(reason));
        prop_assert_eq!(r.drops().get(reason), n);
        prop_assert_eq!(r.vif(ingress).unwrap().drops.get(reason), n);
    }
    Ok(())
}

// ---- accounting ----

/// The counters a frame may move: per vif (tx packets, drops) and global drops.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Counters {
    vifs: Vec<(VifId, u64, DropCounters)>,
    drops: DropCounters,
}

impl Counters {
    fn of(r: &VRouter) -> Self {
        Counters {
            vifs: r
                .vifs()
                .map(|v| (v.id(), v.stats.tx_packets, v.drops))
                .collect(),
            drops: *r.drops(),
        }
    }

    fn tx(&self, vif: VifId) -> u64 {
        self.vifs.iter().find(|v| v.0 == vif).unwrap().1
    }

    fn vif_drops(&self, vif: VifId) -> &DropCounters {
        &self.vifs.iter().find(|v| v.0 == vif).unwrap().2
    }
}

fn check_accounting(bgpaas: bool, rpf: bool, inputs: &[FrameInput]) -> Result<(), TestCaseError> {
    let mut r = seed::compute01(bgpaas).unwrap();
    r.set_rpf(public(), rpf);
    // Small, so that it grows on the way.
    let mut buf = PacketBuf::with_capacity(16);
    let (mut sent, mut missing, mut held) = (0u64, 0u64, 0u64);
    for (n, input) in inputs.iter().enumerate() {
        let id = vif(input.vif);
        let exists = r.vif(id).is_some();
        let before = Counters::of(&r);
        let d = if n % 2 == 0 {
            r.process(id, &input.bytes, &mut buf, &mut NoTrace)
        } else {
            let mut trace = Trace::default();
            let d = r.process(id, &input.bytes, &mut buf, &mut trace);
            let _ = trace.to_string();
            d
        };
        let after = Counters::of(&r);
        sent += 1;
        if !exists {
            missing += 1;
            prop_assert_eq!(d, Disposition::Drop(DropReason::InvalidIf));
        }
        // This frame moved exactly one counter, the one its disposition names.
        match d {
            Disposition::Transmit { vif } | Disposition::ToHost { vif } => {
                prop_assert_eq!(after.tx(vif), before.tx(vif) + 1);
                prop_assert_eq!(after.drops, before.drops);
            }
            // Queued on a Hold flow: no counter moves until the agent decides.
            Disposition::Held { flow } => {
                held += 1;
                prop_assert_eq!(&after.drops, &before.drops);
                prop_assert!(r.flows().get(flow).is_some_and(|f| !f.held.is_empty()));
            }
            Disposition::Drop(reason) => {
                prop_assert_eq!(after.drops.get(reason), before.drops.get(reason) + 1);
                prop_assert_eq!(after.drops.total(), before.drops.total() + 1);
                if exists {
                    let (a, b) = (after.vif_drops(id), before.vif_drops(id));
                    prop_assert_eq!(a.get(reason), b.get(reason) + 1);
                }
            }
        }
        // The identities, after every frame.
        let rx: u64 = r.vifs().map(|v| v.stats.rx_packets).sum();
        let tx: u64 = r.vifs().map(|v| v.stats.tx_packets).sum();
        prop_assert_eq!(
            rx,
            sent - missing,
            "rx counts every frame to an existing vif"
        );
        prop_assert_eq!(
            tx + r.drops().total() + held,
            sent,
            "every frame out, held or dropped once"
        );
        let per_vif: u64 = r.vifs().map(|v| v.drops.total()).sum();
        prop_assert_eq!(per_vif, r.drops().total() - missing);
        prop_assert!(r.drops().get(DropReason::InvalidIf) >= missing);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn rpf_drops_iff_the_source_route_leads_elsewhere(case in rpf_case()) {
        check_rpf(&case)?;
    }

    #[test]
    fn every_frame_is_counted_exactly_once(
        bgpaas in any::<bool>(),
        rpf in any::<bool>(),
        inputs in frame_inputs(),
    ) {
        check_accounting(bgpaas, rpf, &inputs)?;
    }
}

/// The oracle's own sanity: scenario A's trace 3 (no /26, the source falls
/// to the default route's tunnel) is a `Fail`, and with the /26 a `Pass`.
#[test]
fn oracle_agrees_with_trace_3() {
    let mut case = RpfCase {
        encap_policy: vec![true, true],
        tunnel_dips: vec![seed::GW_FABRIC_IP],
        ecmp: None,
        routes: vec![],
        default: Some(Target::Tunnel(0)),
        rpf: true,
        src: seed::CONTAINER_IP,
        dst: seed::EARTH_IP,
        ingress: Ingress::Tap(0),
    };
    assert_eq!(verdict(&case), Verdict::Fail);
    check_rpf(&case).unwrap();
    case.routes.push((seed::CALICO_BLOCK, Target::Encap(0)));
    assert_eq!(verdict(&case), Verdict::Pass);
    check_rpf(&case).unwrap();
}
