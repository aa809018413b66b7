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
//! compute01's vRouter as the agent programs it, by hand, is a test fixture:
//! it lives in the unpublished `vrsim-testkit` crate.
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
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ipnet::{Ipv4Net, Ipv6Net};
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use vrsim_wire::{Frame, MacAddr, UDP_PORT_MPLS, UDP_PORT_VXLAN};

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

/// The dual-stack address plan (scenario A's IPv6 half; the container's
/// block is a /122 of the Calico node's IPv6 pool `fd80:24e2:f998:72d6::/64`).
/// The test PC `earth`'s IPv6 address.
pub const EARTH_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x113, 0, 0, 0, 0, 0x10);
/// The container `centos-ssh`'s IPv6 address.
pub const CONTAINER_IP6: Ipv6Addr = Ipv6Addr::new(0xfd80, 0x24e2, 0xf998, 0x72d6, 0, 0, 0, 1);
/// The Docker VM's IPv6 address in the `public` network.
pub const DOCKERHOST_IP6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x172, 0x16, 0x10, 0, 0, 0, 3);
/// The `public` network's IPv6 gateway address on the vRouter.
pub const VN_GATEWAY_IP6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x172, 0x16, 0x10, 0, 0, 0, 1);
/// The `public` network's IPv6 DNS address on the vRouter.
pub const VN_DNS_IP6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x172, 0x16, 0x10, 0, 0, 0, 2);
/// The Calico IPv6 block the Docker VM advertises over BGPaaS: a /122 of the pool.
pub const CALICO_BLOCK6: Ipv6Net = match Ipv6Net::new(CONTAINER_IP6, 122) {
    Ok(n) => n,
    Err(_) => panic!("a /122 is a valid prefix"),
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
    built(mx_to_compute01_gre_outer().append(echo_request()))
}

/// gw-01's MPLSoGRE headers towards compute01, label 35 (TTL 63).
fn mx_to_compute01_gre_outer() -> Frame {
    Frame::new()
        .ethernet(GW_FABRIC_MAC, COMPUTE01_FABRIC_MAC)
        .ipv4(GW_FABRIC_IP, COMPUTE01_IP)
        .gre()
        .mpls(LABEL_TO_VM)
        .ttl(63)
}

/// Trace 1 for IPv6: `earth`'s ICMPv6 echo request to the container, in
/// gw-01's MPLSoGRE tunnel to compute01 (gw-01 has routed it: hop limit 63).
pub fn mx_to_compute01_gre_v6() -> Vec<u8> {
    let inner = Frame::new()
        .ipv6(EARTH_IP6, CONTAINER_IP6)
        .ttl(63)
        .icmpv6_echo_request(ECHO_IDENT, 1, &echo_data());
    built(mx_to_compute01_gre_outer().append(inner))
}

/// Trace 2 for IPv6: the container's ICMPv6 echo reply as it leaves the
/// Docker VM towards vif0/37 (hop limit 63: the Docker VM routed it).
pub fn container_reply_from_vm_v6() -> Vec<u8> {
    built(
        Frame::new()
            .ethernet(DOCKERHOST_MAC, VROUTER_MAC)
            .ipv6(CONTAINER_IP6, EARTH_IP6)
            .ttl(63)
            .icmpv6_echo_reply(ECHO_IDENT, 1, &echo_data()),
    )
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

/// The IPv6 half of the seed's frames (the dual-stack traces 1 and 2).
pub fn ipv6_frames() -> Vec<SeedFrame> {
    vec![
        SeedFrame {
            name: "mx-to-compute01-gre-v6",
            description: "gw-01 -> compute01: MPLSoGRE, label 35, ICMPv6 echo request 2001:db8:113::10 -> fd80:24e2:f998:72d6::1",
            bytes: mx_to_compute01_gre_v6(),
        },
        SeedFrame {
            name: "container-reply-from-vm-v6",
            description: "Docker VM eth0 -> vif0/37: ICMPv6 echo reply fd80:24e2:f998:72d6::1 -> 2001:db8:113::10",
            bytes: container_reply_from_vm_v6(),
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
