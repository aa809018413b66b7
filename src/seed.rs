//! The frames of scenario A (`seed-bgpaas`): a Docker VM running Calico behind
//! compute01's vRouter, reached from the test PC `earth` through the gateway
//! gw-01's MPLSoGRE tunnel.
//!
//! Addresses follow the project's address plan: fabric 10.0.0.0/24 (gw-01
//! 10.0.0.1, compute01 10.0.0.21), the `public` network 172.16.10.0/24 (the
//! Docker VM 172.16.10.3), the container 192.168.100.1 in the Calico block
//! 192.168.100.0/26, the test PC 203.0.113.10. MPLS label 35 leads to the
//! VM's nexthop (nh 90) on compute01; label 16 leads back into the gateway's
//! `contrail-public` VRF; VXLAN VNID 4 is the network's.
//!
//! The plan names no fabric MAC addresses; vrsim uses addresses from the range
//! RFC 7042 reserves for documentation: [`GW_FABRIC_MAC`] and [`COMPUTE01_FABRIC_MAC`].
//!
//! ```
//! let frames = vrsim::seed::frames();
//! assert_eq!(frames.len(), 5);
//! for f in &frames {
//!     let d = vrsim::wire::dissect(&f.bytes);
//!     assert!(d.error.is_none(), "{}: {d}", f.name);
//! }
//! ```

use std::io::Write;
use std::net::Ipv4Addr;
use std::time::Duration;

use ipnet::Ipv4Net;
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use vrsim_dataplane::nexthop::{NexthopConfig, NhFamily, NhFlags, NhKind, TunnelEncap};
use vrsim_dataplane::route::{BridgeEntry, Route, RouteFlags};
use vrsim_dataplane::vif::{VifConfig, VifFlags, VifType};
use vrsim_dataplane::{ConfigError, NhId, VRouter, VifId, VrfId};
use vrsim_wire::{Frame, MacAddr, MplsLabel, UDP_PORT_MPLS, UDP_PORT_VXLAN, Vni};

/// gw-01's fabric interface (RFC 7042 documentation range).
pub const GW_FABRIC_MAC: MacAddr = MacAddr(0x00, 0x00, 0x5e, 0x00, 0x53, 0x01);
/// compute01's fabric interface, vif0/0 (RFC 7042 documentation range).
pub const COMPUTE01_FABRIC_MAC: MacAddr = MacAddr(0x00, 0x00, 0x5e, 0x00, 0x53, 0x15);
/// The vRouter's MAC, answered for every gateway address on every tap.
pub const VROUTER_MAC: MacAddr = MacAddr(0x00, 0x00, 0x5e, 0x00, 0x01, 0x00);
/// The Docker VM's eth0 (its tap is vif0/37 `tapc7807e22-f2`).
pub const DOCKERHOST_MAC: MacAddr = MacAddr(0x02, 0xc7, 0x80, 0x7e, 0x22, 0xf2);

/// gw-01's fabric address.
pub const GW_FABRIC_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// compute01's vhost0 address.
pub const COMPUTE01_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 21);
/// The Docker VM's address in the `public` network.
pub const DOCKERHOST_IP: Ipv4Addr = Ipv4Addr::new(172, 16, 10, 3);
/// The container `centos-ssh`.
pub const CONTAINER_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 1);
/// The test PC `earth`.
pub const EARTH_IP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
/// The `public` network's gateway address on the vRouter (also a BGPaaS peering address).
pub const VN_GATEWAY_IP: Ipv4Addr = Ipv4Addr::new(172, 16, 10, 1);
/// The `public` network's DNS address on the vRouter.
pub const VN_DNS_IP: Ipv4Addr = Ipv4Addr::new(172, 16, 10, 2);
/// The Calico block the Docker VM advertises over BGPaaS.
pub const CALICO_BLOCK: Ipv4Net = match Ipv4Net::new(Ipv4Addr::new(192, 168, 100, 0), 26) {
    Ok(n) => n,
    Err(_) => panic!("a /26 is a valid prefix"),
};

/// The label gw-01 pushes towards the VM's nexthop on compute01.
pub const LABEL_TO_VM: u32 = 35;
/// The label compute01 pushes towards gw-01's `contrail-public` VRF.
pub const LABEL_TO_GATEWAY: u32 = 16;
/// The `public` network's VXLAN id.
pub const VNID_PUBLIC: u32 = 4;
/// The MPLSoUDP source port the vRouter uses by default.
pub const MPLSOUDP_SRC_PORT: u16 = 51000;
/// The VXLAN source port the vRouter uses.
pub const VXLAN_SRC_PORT: u16 = 52000;

/// The ICMP echo identifier and data of every seed ping (56 bytes, as `ping` sends).
pub const ECHO_IDENT: u16 = 0x5eed;
/// 56 bytes of echo data.
pub fn echo_data() -> Vec<u8> {
    (0u8..56).collect()
}

/// A named scenario frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedFrame {
    /// A short name (`mx-to-compute01`, …).
    pub name: &'static str,
    /// What the frame is and where it is seen.
    pub description: &'static str,
    /// The frame, from the Ethernet header on.
    pub bytes: Vec<u8>,
}

fn built(frame: Frame) -> Vec<u8> {
    // The headers above are fixed and well formed: building cannot fail.
    frame
        .build()
        .unwrap_or_else(|e| unreachable!("a seed frame failed to build: {e}"))
}

/// The inner echo request from the test PC, as the gateway forwards it (TTL 63).
fn echo_request() -> Frame {
    Frame::new()
        .ipv4(EARTH_IP, CONTAINER_IP)
        .ttl(63)
        .icmp_echo_request(ECHO_IDENT, 1, &echo_data())
}

/// Trace 1: gw-01's MPLSoGRE echo request to compute01, label 35, on the fabric link.
pub fn mx_to_compute01_gre() -> Vec<u8> {
    let outer = Frame::new()
        .ethernet(GW_FABRIC_MAC, COMPUTE01_FABRIC_MAC)
        .ipv4(GW_FABRIC_IP, COMPUTE01_IP)
        .gre()
        .mpls(LABEL_TO_VM)
        .ttl(63);
    built(outer.append(echo_request()))
}

/// Trace 1, MPLSoUDP variant (RFC 7510, UDP 6635).
pub fn mx_to_compute01_udp() -> Vec<u8> {
    let outer = Frame::new()
        .ethernet(GW_FABRIC_MAC, COMPUTE01_FABRIC_MAC)
        .ipv4(GW_FABRIC_IP, COMPUTE01_IP)
        .udp(MPLSOUDP_SRC_PORT, UDP_PORT_MPLS)
        .mpls(LABEL_TO_VM)
        .ttl(63);
    built(outer.append(echo_request()))
}

/// Trace 2: the container's echo reply as it leaves the Docker VM's eth0
/// towards vif0/37 (the Docker VM has routed it: TTL 63).
pub fn container_reply_from_vm() -> Vec<u8> {
    built(
        Frame::new()
            .ethernet(DOCKERHOST_MAC, VROUTER_MAC)
            .ipv4(CONTAINER_IP, EARTH_IP)
            .ttl(63)
            .icmp_echo_reply(ECHO_IDENT, 1, &echo_data()),
    )
}

/// Trace 2: compute01's MPLSoGRE echo reply to gw-01, label 16, on the fabric
/// link (the vRouter has routed it: TTL 62).
pub fn compute01_to_mx_gre() -> Vec<u8> {
    let outer = Frame::new()
        .ethernet(COMPUTE01_FABRIC_MAC, GW_FABRIC_MAC)
        .ipv4(COMPUTE01_IP, GW_FABRIC_IP)
        .gre()
        .mpls(LABEL_TO_GATEWAY)
        .ttl(62);
    let inner = Frame::new()
        .ipv4(CONTAINER_IP, EARTH_IP)
        .ttl(62)
        .icmp_echo_reply(ECHO_IDENT, 1, &echo_data());
    built(outer.append(inner))
}

/// Trace 4: a VXLAN frame for VNID 4 arriving on compute01's fabric
/// interface, its inner frame addressed to the Docker VM's MAC.
pub fn vxlan_vni4_to_vm() -> Vec<u8> {
    let outer = Frame::new()
        .ethernet(GW_FABRIC_MAC, COMPUTE01_FABRIC_MAC)
        .ipv4(GW_FABRIC_IP, COMPUTE01_IP)
        .udp(VXLAN_SRC_PORT, UDP_PORT_VXLAN)
        .vxlan(VNID_PUBLIC);
    let inner = Frame::new()
        .ethernet(VROUTER_MAC, DOCKERHOST_MAC)
        .ipv4(EARTH_IP, DOCKERHOST_IP)
        .ttl(63)
        .icmp_echo_request(ECHO_IDENT, 1, &echo_data());
    built(outer.append(inner))
}

/// Every scenario frame, in the order the seed example writes them.
pub fn frames() -> Vec<SeedFrame> {
    vec![
        SeedFrame {
            name: "mx-to-compute01-gre",
            description: "gw-01 -> compute01: MPLSoGRE, label 35, ICMP echo request 203.0.113.10 -> 192.168.100.1",
            bytes: mx_to_compute01_gre(),
        },
        SeedFrame {
            name: "container-reply-from-vm",
            description: "Docker VM eth0 -> vif0/37: ICMP echo reply 192.168.100.1 -> 203.0.113.10",
            bytes: container_reply_from_vm(),
        },
        SeedFrame {
            name: "compute01-to-mx-gre",
            description: "compute01 -> gw-01: MPLSoGRE, label 16, ICMP echo reply 192.168.100.1 -> 203.0.113.10",
            bytes: compute01_to_mx_gre(),
        },
        SeedFrame {
            name: "mx-to-compute01-udp",
            description: "gw-01 -> compute01: MPLSoUDP (6635), label 35, ICMP echo request",
            bytes: mx_to_compute01_udp(),
        },
        SeedFrame {
            name: "vxlan-vni4-to-vm",
            description: "VXLAN VNID 4 -> compute01: inner frame to 02:c7:80:7e:22:f2, ICMP echo request to 172.16.10.3",
            bytes: vxlan_vni4_to_vm(),
        },
    ]
}

/// Write `frames` as a classic pcap file (link type Ethernet), one packet a
/// millisecond apart from the epoch, so the output is byte-for-byte repeatable.
pub fn write_pcap<W: Write>(out: W, frames: &[SeedFrame]) -> Result<W, pcap_file::PcapError> {
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        ..PcapHeader::default()
    };
    let mut writer = PcapWriter::with_header(out, header)?;
    for (i, f) in (0u64..).zip(frames) {
        let len = u32::try_from(f.bytes.len()).unwrap_or(u32::MAX);
        writer.write_packet(&PcapPacket::new(Duration::from_millis(i), len, &f.bytes))?;
    }
    Ok(writer.into_writer())
}

// ---- compute01's vRouter ----

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
/// The `public` network's VRF.
pub const VRF_PUBLIC: VrfId = VrfId::new(1).expect("in range");

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

/// compute01's vRouter as the agent programs it in scenario A, with the ids
/// the scenario plan pins (vif 37, nh 90, nh 14, VNID 4, label 35) and
/// vrsim's own for the rest (the constants above). `bgpaas` says whether the
/// Calico /26 (192.168.100.0/26 → nh 90) is installed.
pub fn compute01(bgpaas: bool) -> Result<VRouter, ConfigError> {
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
    r.add_vif(vif(
        TAP_VIF,
        VifType::Virtual,
        "tapc7807e22-f2",
        VROUTER_MAC,
        None,
        VRF_PUBLIC,
        9160,
        tap_flags,
    ))?;

    let nh = |id, kind, family, flags, vrf| NexthopConfig {
        id,
        kind,
        family,
        flags,
        vrf,
    };
    let valid = NhFlags::VALID;
    let to_vm = rewrite(DOCKERHOST_MAC, VROUTER_MAC, 0x0800);
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
        rewrite: rewrite(GW_FABRIC_MAC, COMPUTE01_FABRIC_MAC, 0x0800),
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
