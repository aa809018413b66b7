//! Scenario A's compute01, programmed by hand as the agent programs it: the
//! vRouter the dataplane's tests, benchmarks and fuzz targets run the seed
//! frames ([`vrsim::seed`]) through. The scenario plan pins vif 37, nh 90,
//! nh 14, VNID 4 and label 35; the other ids are vrsim's own (the constants
//! below).

use std::net::Ipv4Addr;

use ipnet::{Ipv4Net, Ipv6Net};
use vrsim::dataplane::nexthop::{
    NexthopConfig, NhFamily, NhFlags, NhKind, TunnelEncap, ipv4_rewrite,
};
use vrsim::dataplane::route::{BridgeEntry, Route, RouteFlags};
use vrsim::dataplane::vif::{VifConfig, VifFlags, VifType};
use vrsim::dataplane::{DataplaneError, NhId, VRouter, VifId, VrfId};
use vrsim::seed::*;
use vrsim::wire::{MacAddr, MplsLabel, Vni};

/// Build an id in a `const` item: an out-of-range value fails to compile.
macro_rules! const_id {
    ($ty:ty, $v:expr) => {
        match <$ty>::new($v) {
            Some(id) => id,
            None => panic!("id out of range"),
        }
    };
}

/// compute01's fabric vif (`eth1`).
pub const FABRIC_VIF: VifId = const_id!(VifId, 0);
/// compute01's vhost0.
pub const VHOST_VIF: VifId = const_id!(VifId, 1);
/// compute01's agent vif (`pkt0`).
pub const AGENT_VIF: VifId = const_id!(VifId, 2);
/// The Docker VM's tap, vif0/37 `tapc7807e22-f2`.
pub const TAP_VIF: VifId = const_id!(VifId, 37);
/// The Receive nexthop of vhost0's own address.
pub const NH_VHOST_RECEIVE: NhId = const_id!(NhId, 3);
/// The Receive nexthop of the network's gateway and DNS addresses.
pub const NH_GATEWAY_RECEIVE: NhId = const_id!(NhId, 4);
/// The VXLAN VNID 4 nexthop (Vrf_Translate to VRF 1).
pub const NH_VXLAN: NhId = const_id!(NhId, 14);
/// The MPLSoGRE tunnel to gw-01.
pub const NH_TUNNEL_GW: NhId = const_id!(NhId, 20);
/// The vRouter MAC's L2 Receive nexthop.
pub const NH_L2_RECEIVE: NhId = const_id!(NhId, 21);
/// The VM's L3 Encap nexthop (the seed document's nh 90).
pub const NH_VM: NhId = const_id!(NhId, 90);
/// The VM's L2 Encap nexthop.
pub const NH_VM_L2: NhId = const_id!(NhId, 91);
/// The Docker VM's layer-2 label, leading to [`NH_VM_L2`] (bridged traffic
/// from other nodes over MPLS): the agent labels every interface nexthop of
/// a VM port, and this is the first free label.
pub const LABEL_TO_VM_L2: u32 = 16;
/// The `public` network's VRF.
pub const VRF_PUBLIC: VrfId = VrfId::new(1).expect("in range");

fn route(nh: NhId, flags: RouteFlags) -> Route {
    Route {
        nh,
        label: None,
        flags,
        stitched_mac: None,
    }
}

/// compute01's vRouter as the agent programs it in scenario A, with the ids
/// the scenario plan pins (vif 37, nh 90, nh 14, VNID 4, label 35) and
/// vrsim's own for the rest (the constants above). `bgpaas` says whether the
/// Calico /26 (192.168.100.0/26 → nh 90) is installed.
pub fn compute01(bgpaas: bool) -> Result<VRouter, DataplaneError> {
    let mut r = VRouter::new();
    let l3l2 = VifFlags::L3 | VifFlags::L2;
    let vif = |id, kind, name: &str, mac, ip, vrf, mtu, flags| VifConfig {
        id,
        kind,
        name: name.into(),
        mac,
        ip,
        vrf,
        mtu,
        mcast_vrf: None,
        qos_map: -1,
        ip6: None,
        flags,
        nh: None,
    };
    r.add_vif(vif(
        FABRIC_VIF,
        VifType::Physical,
        "eth1",
        COMPUTE01_FABRIC_MAC,
        None,
        VrfId::FABRIC,
        1514,
        l3l2 | VifFlags::VHOST_PHYS,
    ))?;
    r.add_vif(vif(
        VHOST_VIF,
        VifType::Host,
        "vhost0",
        COMPUTE01_FABRIC_MAC,
        Some(COMPUTE01_IP),
        VrfId::FABRIC,
        1514,
        l3l2,
    ))?;
    r.add_vif(vif(
        AGENT_VIF,
        VifType::Agent,
        "pkt0",
        MacAddr::zero(),
        None,
        VrfId::INVALID,
        1514,
        VifFlags::L3,
    ))?;
    let tap_flags = VifFlags::POLICY | l3l2 | VifFlags::DHCP | VifFlags::UNKNOWN_UC_FLOOD;
    // The tap's flow-key nexthop (`vif_nh_id`) is its L3 Encap nexthop, as the agent programs it.
    r.add_vif(VifConfig {
        nh: Some(NH_VM),
        ..vif(
            TAP_VIF,
            VifType::Virtual,
            "tapc7807e22-f2",
            VROUTER_MAC,
            None,
            VRF_PUBLIC,
            9160,
            tap_flags,
        )
    })?;

    let nh = |id, kind, family, flags, vrf| NexthopConfig {
        id,
        kind,
        family,
        flags,
        vrf,
    };
    let valid = NhFlags::VALID;
    let to_vm = ipv4_rewrite(DOCKERHOST_MAC, VROUTER_MAC);
    r.add_nh(nh(
        NH_VHOST_RECEIVE,
        NhKind::Receive { oif: VHOST_VIF },
        NhFamily::Inet,
        valid,
        VrfId::FABRIC,
    ))?;
    r.add_nh(nh(
        NH_GATEWAY_RECEIVE,
        NhKind::Receive { oif: VHOST_VIF },
        NhFamily::Inet,
        valid | NhFlags::RELAXED_POLICY,
        VRF_PUBLIC,
    ))?;
    let encap = |encap_family| NhKind::Encap {
        oif: TAP_VIF,
        rewrite: to_vm,
        encap_family,
    };
    r.add_nh(nh(
        NH_VM,
        encap(0x0806),
        NhFamily::Inet,
        valid | NhFlags::POLICY,
        VRF_PUBLIC,
    ))?;
    r.add_nh(nh(
        NH_VM_L2,
        encap(0x0800),
        NhFamily::Bridge,
        valid | NhFlags::POLICY,
        VRF_PUBLIC,
    ))?;
    let translate = NhKind::VrfTranslate { vrf: VRF_PUBLIC };
    r.add_nh(nh(
        NH_VXLAN,
        translate,
        NhFamily::Inet,
        valid | NhFlags::TUNNEL_VXLAN | NhFlags::UNKNOWN_UC_FLOOD,
        VRF_PUBLIC,
    ))?;
    r.add_nh(nh(
        NH_L2_RECEIVE,
        NhKind::L2Receive,
        NhFamily::Bridge,
        valid,
        VRF_PUBLIC,
    ))?;
    let tunnel = NhKind::Tunnel {
        encap: TunnelEncap::MplsOverGre,
        oif: FABRIC_VIF,
        rewrite: ipv4_rewrite(GW_FABRIC_MAC, COMPUTE01_FABRIC_MAC),
        sip: COMPUTE01_IP,
        dip: GW_FABRIC_IP,
    };
    r.add_nh(nh(
        NH_TUNNEL_GW,
        tunnel,
        NhFamily::Inet,
        valid,
        VrfId::FABRIC,
    ))?;

    r.add_label(const_id!(MplsLabel, LABEL_TO_VM), NH_VM)?;
    r.add_label(const_id!(MplsLabel, LABEL_TO_VM_L2), NH_VM_L2)?;
    r.add_vnid(const_id!(Vni, VNID_PUBLIC), NH_VXLAN)?;

    let host = |a: Ipv4Addr| Ipv4Net::from(a);
    r.add_route4(
        VrfId::FABRIC,
        host(COMPUTE01_IP),
        route(NH_VHOST_RECEIVE, RouteFlags::empty()),
    )?;
    let vm = Route {
        stitched_mac: Some((DOCKERHOST_MAC, 231_688)),
        ..route(NH_VM, RouteFlags::ARP_PROXY)
    };
    r.add_route4(VRF_PUBLIC, host(DOCKERHOST_IP), vm)?;
    if bgpaas {
        r.add_route4(VRF_PUBLIC, CALICO_BLOCK, route(NH_VM, RouteFlags::empty()))?;
    }
    for gw in [VN_GATEWAY_IP, VN_DNS_IP] {
        r.add_route4(
            VRF_PUBLIC,
            host(gw),
            route(NH_GATEWAY_RECEIVE, RouteFlags::ARP_PROXY),
        )?;
    }
    let default = Route {
        label: Some(const_id!(MplsLabel, LABEL_TO_GATEWAY)),
        ..route(NH_TUNNEL_GW, RouteFlags::empty())
    };
    r.add_route4(VRF_PUBLIC, Ipv4Net::default(), default)?;
    r.add_bridge(
        VRF_PUBLIC,
        DOCKERHOST_MAC,
        BridgeEntry {
            nh: NH_VM_L2,
            label: None,
        },
    )?;
    r.add_bridge(
        VRF_PUBLIC,
        VROUTER_MAC,
        BridgeEntry {
            nh: NH_L2_RECEIVE,
            label: None,
        },
    )?;
    // Flooding (a multicast composite nexthop) is not modelled: the broadcast
    // entry, which gates broadcast ARP and unknown-unicast flooding, leads to
    // the discard nexthop.
    let broadcast = BridgeEntry {
        nh: NhId::DISCARD,
        label: None,
    };
    r.add_bridge(VRF_PUBLIC, MacAddr::broadcast(), broadcast)?;
    Ok(r)
}

/// Add the IPv6 route `prefix` to `nh` (with `label`, no flags) in the
/// public VRF of compute01, for the tests that make it dual-stack.
///
/// # Panics
/// If `prefix` is not an IPv6 prefix or the route is refused (a broken
/// fixture).
pub fn add_public_route6(r: &mut VRouter, prefix: &str, nh: NhId, label: Option<u32>) {
    let route = Route {
        label: label.and_then(MplsLabel::new),
        ..route(nh, RouteFlags::empty())
    };
    let p = prefix
        .parse()
        .unwrap_or_else(|e| panic!("{prefix:?} is not an IPv6 prefix: {e}"));
    r.add_route6(VRF_PUBLIC, p, route)
        .unwrap_or_else(|e| panic!("route {prefix} refused: {e}"));
}

/// compute01 dual-stack, as scenario A's IPv6 half programs it (the agent
/// of `vrsim-control` programs exactly this, tests/control.rs): the tap's
/// IPv6 address, the Docker VM's /128 on the VM's nexthop (P, with the
/// stitched MAC, like its /32), the container's /122 (BGPaaS), the
/// network's IPv6 gateway and DNS addresses with P to the receive nexthop,
/// the IPv6 default through gw-01's tunnel (label 16).
///
/// # Panics
/// If a route is refused (a broken fixture).
pub fn dual_stack(r: &mut VRouter) {
    if let Some(tap) = r.vif(TAP_VIF) {
        let tap = VifConfig {
            ip6: Some(DOCKERHOST_IP6),
            ..tap.config.clone()
        };
        r.change_vif(tap)
            .unwrap_or_else(|e| panic!("the tap refused its IPv6 address: {e}"));
    }
    add_public_route6(r, &CALICO_BLOCK6.to_string(), NH_VM, None);
    let vm = Route {
        stitched_mac: Some((DOCKERHOST_MAC, 231_688)),
        ..route(NH_VM, RouteFlags::ARP_PROXY)
    };
    r.add_route6(VRF_PUBLIC, Ipv6Net::from(DOCKERHOST_IP6), vm)
        .unwrap_or_else(|e| panic!("the VM's route refused: {e}"));
    add_public_route6(r, "::/0", NH_TUNNEL_GW, Some(LABEL_TO_GATEWAY));
    for gw in [VN_GATEWAY_IP6, VN_DNS_IP6] {
        let receive = route(NH_GATEWAY_RECEIVE, RouteFlags::ARP_PROXY);
        r.add_route6(VRF_PUBLIC, Ipv6Net::from(gw), receive)
            .unwrap_or_else(|e| panic!("gateway route refused: {e}"));
    }
}
