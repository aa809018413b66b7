//! A small vRouter for the stages' unit tests: one fabric vif, vhost0, the
//! agent vif and one VM's tap in VRF 1, with a label, a VNID, a tunnel to a
//! gateway and the VM's routes and bridge entries. (Scenario A's hand-
//! programmed compute01 lives in `vrsim-testkit`, above this crate.)

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use vrsim_wire::{Frame, MacAddr, MplsLabel, Vni};

use crate::ids::{NhId, VifId, VrfId};
use crate::nexthop::{NexthopConfig, NhFamily, NhFlags, NhKind, TunnelEncap, ipv4_rewrite};
use crate::route::{BridgeEntry, Route, RouteFlags};
use crate::trace::{Step, Trace};
use crate::vif::{VifConfig, VifFlags, VifType};
use crate::{Disposition, PacketBuf, VRouter};

pub(crate) const FABRIC: VifId = id_vif(0);
pub(crate) const VHOST: VifId = id_vif(1);
pub(crate) const AGENT: VifId = id_vif(2);
pub(crate) const TAP: VifId = id_vif(3);
pub(crate) const VRF: VrfId = match VrfId::new(1) {
    Some(v) => v,
    None => panic!("in range"),
};
pub(crate) const NODE_MAC: MacAddr = MacAddr(0x00, 0x00, 0x5e, 0x00, 0x53, 0x15);
pub(crate) const GW_MAC: MacAddr = MacAddr(0x00, 0x00, 0x5e, 0x00, 0x53, 0x01);
pub(crate) const VROUTER_MAC: MacAddr = MacAddr(0x00, 0x00, 0x5e, 0x00, 0x01, 0x00);
pub(crate) const VM_MAC: MacAddr = MacAddr(0x02, 0, 0, 0, 0, 0x03);
pub(crate) const NODE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 21);
pub(crate) const GW_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub(crate) const VM_IP: Ipv4Addr = Ipv4Addr::new(172, 16, 10, 3);
pub(crate) const REMOTE_IP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
pub(crate) const GATEWAY_IP: Ipv4Addr = Ipv4Addr::new(172, 16, 10, 1);
/// The label that leads to the VM, and the one pushed towards the gateway.
pub(crate) const LABEL_IN: u32 = 35;
pub(crate) const LABEL_OUT: u32 = 16;
pub(crate) const VNID: u32 = 4;

const fn id_vif(v: u16) -> VifId {
    match VifId::new(v) {
        Some(id) => id,
        None => panic!("in range"),
    }
}

pub(crate) fn nh(v: u32) -> NhId {
    NhId::new(v).expect("in range")
}

fn vif(
    id: VifId,
    kind: VifType,
    name: &str,
    mac: MacAddr,
    vrf: VrfId,
    flags: VifFlags,
) -> VifConfig {
    VifConfig {
        id,
        kind,
        name: name.into(),
        mac,
        ip: None,
        vrf,
        mtu: 1514,
        mcast_vrf: None,
        qos_map: -1,
        ip6: None,
        flags,
        nh: None,
    }
}

fn nexthop(id: u32, kind: NhKind, family: NhFamily, vrf: VrfId, flags: NhFlags) -> NexthopConfig {
    NexthopConfig {
        id: nh(id),
        kind,
        family,
        flags: NhFlags::VALID | flags,
        vrf,
    }
}

fn route(nh_id: u32, label: Option<u32>, flags: RouteFlags) -> Route {
    Route {
        nh: nh(nh_id),
        label: label.and_then(MplsLabel::new),
        flags,
        stitched_mac: None,
    }
}

fn host(ip: Ipv4Addr) -> Ipv4Net {
    Ipv4Net::new(ip, 32).expect("a /32")
}

/// The node, with RPF on in VRF 1.
pub(crate) fn node() -> VRouter {
    let mut r = VRouter::new();
    let l3l2 = VifFlags::L3 | VifFlags::L2;
    for config in [
        vif(
            FABRIC,
            VifType::Physical,
            "eth0",
            NODE_MAC,
            VrfId::FABRIC,
            l3l2,
        ),
        vif(
            VHOST,
            VifType::Host,
            "vhost0",
            NODE_MAC,
            VrfId::FABRIC,
            l3l2,
        ),
        vif(
            AGENT,
            VifType::Agent,
            "pkt0",
            MacAddr::zero(),
            VrfId::INVALID,
            VifFlags::L3,
        ),
        vif(
            TAP,
            VifType::Virtual,
            "tap0",
            VROUTER_MAC,
            VRF,
            VifFlags::POLICY | l3l2,
        ),
    ] {
        r.add_vif(config).expect("a new vif");
    }
    let tunnel = NhKind::Tunnel {
        encap: TunnelEncap::MplsOverGre,
        oif: FABRIC,
        rewrite: ipv4_rewrite(GW_MAC, NODE_MAC),
        sip: NODE_IP,
        dip: GW_IP,
    };
    let to_vm = NhKind::Encap {
        oif: TAP,
        rewrite: ipv4_rewrite(VM_MAC, VROUTER_MAC),
        encap_family: 0x0806,
    };
    let fabric = VrfId::FABRIC;
    for config in [
        nexthop(
            1,
            NhKind::Receive { oif: VHOST },
            NhFamily::Inet,
            fabric,
            NhFlags::empty(),
        ),
        nexthop(
            2,
            NhKind::Receive { oif: VHOST },
            NhFamily::Inet,
            VRF,
            NhFlags::empty(),
        ),
        nexthop(10, to_vm.clone(), NhFamily::Inet, VRF, NhFlags::POLICY),
        nexthop(11, to_vm, NhFamily::Bridge, VRF, NhFlags::empty()),
        nexthop(
            12,
            NhKind::L2Receive,
            NhFamily::Bridge,
            VRF,
            NhFlags::empty(),
        ),
        nexthop(
            14,
            NhKind::VrfTranslate { vrf: VRF },
            NhFamily::Bridge,
            VRF,
            NhFlags::TUNNEL_VXLAN,
        ),
        nexthop(20, tunnel, NhFamily::Inet, fabric, NhFlags::empty()),
    ] {
        r.add_nh(config).expect("a new nexthop");
    }
    r.add_label(MplsLabel::new(LABEL_IN).expect("in range"), nh(10))
        .expect("label");
    r.add_vnid(Vni::new(VNID).expect("in range"), nh(14))
        .expect("vnid");
    r.add_route4(fabric, host(NODE_IP), route(1, None, RouteFlags::empty()))
        .expect("route");
    r.add_route4(VRF, host(VM_IP), route(10, None, RouteFlags::empty()))
        .expect("route");
    r.add_route4(VRF, host(GATEWAY_IP), route(2, None, RouteFlags::ARP_PROXY))
        .expect("route");
    r.add_route4(
        VRF,
        Ipv4Net::default(),
        route(20, Some(LABEL_OUT), RouteFlags::empty()),
    )
    .expect("route");
    let entry = |n| BridgeEntry {
        nh: nh(n),
        label: None,
    };
    r.add_bridge(VRF, VM_MAC, entry(11)).expect("bridge");
    r.add_bridge(VRF, VROUTER_MAC, entry(12)).expect("bridge");
    r.set_rpf(VRF, true);
    r
}

/// An echo request from `src` to `dst` with `ttl`, as IP (no Ethernet header).
pub(crate) fn echo(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8) -> Frame {
    Frame::new()
        .ipv4(src, dst)
        .ttl(ttl)
        .icmp_echo_request(1, 1, b"ping")
}

/// The gateway's MPLSoGRE frame to the node carrying `inner` under `label`.
pub(crate) fn from_gateway(label: u32, outer_ttl: u8, inner: Frame) -> Vec<u8> {
    Frame::new()
        .ethernet(GW_MAC, NODE_MAC)
        .ipv4(GW_IP, NODE_IP)
        .ttl(outer_ttl)
        .gre()
        .mpls(label)
        .ttl(63)
        .append(inner)
        .build()
        .expect("a fixed frame builds")
}

/// The VM's frame to the vRouter's MAC carrying `inner`.
pub(crate) fn from_vm(inner: Frame) -> Vec<u8> {
    Frame::new()
        .ethernet(VM_MAC, VROUTER_MAC)
        .append(inner)
        .build()
        .expect("a fixed frame builds")
}

/// Process `frame` on `vif`, traced: the outcome, the frame that left and the steps.
pub(crate) fn run(r: &mut VRouter, vif: VifId, frame: &[u8]) -> (Disposition, Vec<u8>, Vec<Step>) {
    let mut buf = PacketBuf::with_capacity(1514);
    let mut trace = Trace::default();
    let d = r.process(vif, frame, &mut buf, &mut trace);
    (d, buf.frame().to_vec(), trace.steps)
}

/// [`run`], with flow misses answered the way the agent answers them in
/// the simplest case (vrsim-control has the real agent): the Hold flow
/// forwards, S(nh) is the nexthop of the route for its source in its VRF
/// (nh 0 with RPF off), and the held packet is sent on. Its steps follow.
pub(crate) fn run_with_agent(
    r: &mut VRouter,
    vif: VifId,
    frame: &[u8],
) -> (Disposition, Vec<u8>, Vec<Step>) {
    let (d, out, mut steps) = run(r, vif, frame);
    let Disposition::Held { flow } = d else {
        return (d, out, steps);
    };
    let e = r.flows().get(flow).expect("the held flow").clone();
    let vrf = r.vrf(e.vrf).expect("the flow's vrf");
    let route = match e.key.src {
        std::net::IpAddr::V4(a) => vrf.inet4.lookup(a).map(|(_, r)| *r),
        std::net::IpAddr::V6(a) => vrf.inet6.lookup(a).map(|(_, r)| *r),
    };
    let src_nh = match route {
        Some(route) if vrf.rpf => route.nh,
        _ => NhId::DISCARD,
    };
    let req = crate::flow::FlowRequest {
        index: Some(flow),
        ..crate::flow::FlowRequest::forward(e.key, e.vrf, src_nh)
    };
    r.set_flow(&req).expect("the agent's flow");
    let mut trace = Trace::default();
    let (d, out) = r.release(flow, &mut trace).pop().expect("one held packet");
    steps.extend(trace.steps);
    (d, out, steps)
}
