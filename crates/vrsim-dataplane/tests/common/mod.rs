//! Scenario A's compute01, programmed through the configuration API with the
//! ids the scenario plan pins (vif 37, nh 90, nh 14, VNID 4, label 35).

#![allow(dead_code, clippy::unwrap_used)] // shared by several test files; a failed unwrap is a failed test

use std::net::Ipv4Addr;

use vrsim_dataplane::nexthop::{NexthopConfig, NhFamily, NhFlags, NhKind, TunnelEncap};
use vrsim_dataplane::route::{BridgeEntry, Route, RouteFlags};
use vrsim_dataplane::vif::{VifConfig, VifFlags, VifType};
use vrsim_dataplane::{NhId, VRouter, VifId, VrfId};
use vrsim_wire::{MacAddr, MplsLabel, Vni};

pub(crate) const VROUTER_MAC: MacAddr = MacAddr(0x00, 0x00, 0x5e, 0x00, 0x01, 0x00);
pub(crate) const DOCKERHOST_MAC: MacAddr = MacAddr(0x02, 0xc7, 0x80, 0x7e, 0x22, 0xf2);
pub(crate) const COMPUTE01_FABRIC_MAC: MacAddr = MacAddr(0x00, 0x00, 0x5e, 0x00, 0x53, 0x15);
pub(crate) const GW_FABRIC_MAC: MacAddr = MacAddr(0x00, 0x00, 0x5e, 0x00, 0x53, 0x01);

pub(crate) fn vif(n: u16) -> VifId {
    VifId::new(n).unwrap()
}
pub(crate) fn nh(n: u32) -> NhId {
    NhId::new(n).unwrap()
}
pub(crate) fn label(n: u32) -> MplsLabel {
    MplsLabel::new(n).unwrap()
}
pub(crate) fn vni(n: u32) -> Vni {
    Vni::new(n).unwrap()
}
pub(crate) const FABRIC: VrfId = VrfId::FABRIC;
pub(crate) fn public() -> VrfId {
    VrfId::from(1)
}

fn rewrite(dst: MacAddr, src: MacAddr, ethertype: u16) -> [u8; 14] {
    let mut r = [0u8; 14];
    r[..6].copy_from_slice(&dst.octets());
    r[6..12].copy_from_slice(&src.octets());
    r[12..].copy_from_slice(&ethertype.to_be_bytes());
    r
}

fn route(nh: NhId, flags: RouteFlags) -> Route {
    Route {
        nh,
        label: None,
        flags,
        stitched_mac: None,
    }
}

/// compute01 as the agent programs it in scenario A.
pub(crate) fn compute01() -> VRouter {
    let mut r = VRouter::new();
    let add_vif = |r: &mut VRouter, id, kind, name: &str, mac, ip, vrf, mtu, flags| {
        r.add_vif(VifConfig {
            id: vif(id),
            kind,
            name: name.into(),
            mac,
            ip,
            vrf,
            mtu,
            flags,
            nh: None,
        })
        .unwrap();
    };
    let l3l2 = VifFlags::L3 | VifFlags::L2;
    add_vif(
        &mut r,
        0,
        VifType::Physical,
        "eth1",
        COMPUTE01_FABRIC_MAC,
        None,
        FABRIC,
        1514,
        l3l2 | VifFlags::VHOST_PHYS,
    );
    add_vif(
        &mut r,
        1,
        VifType::Host,
        "vhost0",
        COMPUTE01_FABRIC_MAC,
        Some(Ipv4Addr::new(10, 0, 0, 21)),
        FABRIC,
        1514,
        l3l2,
    );
    add_vif(
        &mut r,
        2,
        VifType::Agent,
        "pkt0",
        MacAddr::zero(),
        None,
        VrfId::INVALID,
        1514,
        VifFlags::L3,
    );
    let tap_flags = VifFlags::POLICY | l3l2 | VifFlags::DHCP | VifFlags::UNKNOWN_UC_FLOOD;
    add_vif(
        &mut r,
        37,
        VifType::Virtual,
        "tapc7807e22-f2",
        VROUTER_MAC,
        None,
        public(),
        9160,
        tap_flags,
    );

    let add_nh = |r: &mut VRouter, id, kind, family, flags, vrf| {
        r.add_nh(NexthopConfig {
            id: nh(id),
            kind,
            family,
            flags,
            vrf,
        })
        .unwrap();
    };
    let valid = NhFlags::VALID;
    // Receive: vhost0's own address in the fabric VRF, and the gateway / DNS
    // addresses of the `public` network.
    add_nh(
        &mut r,
        3,
        NhKind::Receive { oif: vif(1) },
        NhFamily::Inet,
        valid,
        FABRIC,
    );
    add_nh(
        &mut r,
        4,
        NhKind::Receive { oif: vif(1) },
        NhFamily::Inet,
        valid | NhFlags::RELAXED_POLICY,
        public(),
    );
    // The VM's L3 interface nexthop (the seed document's nh 90) and its L2 twin.
    let to_vm = rewrite(DOCKERHOST_MAC, VROUTER_MAC, 0x0800);
    add_nh(
        &mut r,
        90,
        NhKind::Encap {
            oif: vif(37),
            rewrite: to_vm,
            encap_family: 0x0806,
        },
        NhFamily::Inet,
        valid | NhFlags::POLICY,
        public(),
    );
    add_nh(
        &mut r,
        91,
        NhKind::Encap {
            oif: vif(37),
            rewrite: to_vm,
            encap_family: 0x0800,
        },
        NhFamily::Bridge,
        valid | NhFlags::POLICY,
        public(),
    );
    // VNID 4 -> VRF 1 (the seed document's nh 14).
    add_nh(
        &mut r,
        14,
        NhKind::VrfTranslate { vrf: public() },
        NhFamily::Inet,
        valid | NhFlags::TUNNEL_VXLAN | NhFlags::UNKNOWN_UC_FLOOD,
        public(),
    );
    // The vRouter MAC in VRF 1 leads to layer 3.
    add_nh(
        &mut r,
        21,
        NhKind::L2Receive,
        NhFamily::Bridge,
        valid,
        public(),
    );
    // MPLSoGRE to gw-01.
    let tunnel = NhKind::Tunnel {
        encap: TunnelEncap::MplsOverGre,
        oif: vif(0),
        rewrite: rewrite(GW_FABRIC_MAC, COMPUTE01_FABRIC_MAC, 0x0800),
        sip: Ipv4Addr::new(10, 0, 0, 21),
        dip: Ipv4Addr::new(10, 0, 0, 1),
    };
    add_nh(&mut r, 20, tunnel, NhFamily::Inet, valid, FABRIC);

    r.add_label(label(35), nh(90)).unwrap();
    r.add_vnid(vni(4), nh(14)).unwrap();

    r.add_route4(
        FABRIC,
        "10.0.0.21/32".parse().unwrap(),
        route(nh(3), RouteFlags::empty()),
    )
    .unwrap();
    let vm = Route {
        nh: nh(90),
        label: None,
        flags: RouteFlags::ARP_PROXY,
        stitched_mac: Some((DOCKERHOST_MAC, 231_688)),
    };
    r.add_route4(public(), "172.16.10.3/32".parse().unwrap(), vm)
        .unwrap();
    r.add_route4(
        public(),
        "192.168.100.0/26".parse().unwrap(),
        route(nh(90), RouteFlags::empty()),
    )
    .unwrap();
    for gw in ["172.16.10.1/32", "172.16.10.2/32"] {
        r.add_route4(
            public(),
            gw.parse().unwrap(),
            route(nh(4), RouteFlags::ARP_PROXY),
        )
        .unwrap();
    }
    let default = Route {
        nh: nh(20),
        label: Some(label(16)),
        flags: RouteFlags::empty(),
        stitched_mac: None,
    };
    r.add_route4(public(), "0.0.0.0/0".parse().unwrap(), default)
        .unwrap();
    r.add_bridge(
        public(),
        DOCKERHOST_MAC,
        BridgeEntry {
            nh: nh(91),
            label: None,
        },
    )
    .unwrap();
    r.add_bridge(
        public(),
        VROUTER_MAC,
        BridgeEntry {
            nh: nh(21),
            label: None,
        },
    )
    .unwrap();
    r
}
