//! The bad-input catalogue (docs/robustness.md), one test per row group:
//! malformed, truncated and unexpected frames on every path into scenario A's
//! compute01, and the disposition each gets. Row ids (T1, I2, G4, …) are the
//! catalogue's. Every frame is checked to move exactly one counter: the
//! transmitting vif's, or the drop reason's (globally and on its vif).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use vrsim_dataplane::drop::DropReason::{self, *};
use vrsim_dataplane::route::BridgeEntry;
use vrsim_dataplane::trace::Trace;
use vrsim_dataplane::{Disposition, VRouter, VifId};
use vrsim_testkit::compute01;
use vrsim_testkit::ids::*;
use vrsim_testkit::seed::{self, AGENT_VIF, FABRIC_VIF, TAP_VIF, VHOST_VIF};
use vrsim_wire::{Frame, MacAddr};

const TO_VM: Disposition = Disposition::Transmit { vif: TAP_VIF };
const TO_FABRIC: Disposition = Disposition::Transmit { vif: FABRIC_VIF };
const TO_VHOST: Disposition = Disposition::ToHost { vif: VHOST_VIF };
const TO_AGENT: Disposition = Disposition::ToHost { vif: AGENT_VIF };

fn dropped(reason: DropReason) -> Disposition {
    Disposition::Drop(reason)
}

/// Process one frame; check that exactly the counter its disposition names
/// moved; return the disposition and the output frame.
fn send(r: &mut VRouter, vif: VifId, frame: &[u8]) -> (Disposition, Vec<u8>) {
    let before = r.clone();
    let mut trace = Trace::default();
    // A new flow is held and answered by the agent, then sent on.
    let (d, out) = vrsim_testkit::process_with_agent(r, vif, frame, &mut trace);
    let tx = |r: &VRouter| -> u64 { r.vifs().map(|v| v.stats.tx_packets).sum() };
    let rx = |r: &VRouter| -> u64 { r.vifs().map(|v| v.stats.rx_packets).sum() };
    // Received on the ingress vif (a missing vif counts nowhere).
    let ingress = |r: &VRouter| r.vif(vif).map(|v| v.stats.rx_packets);
    assert_eq!(ingress(r), ingress(&before).map(|n| n + 1), "{trace}");
    assert_eq!(
        rx(r),
        rx(&before) + u64::from(before.vif(vif).is_some()),
        "{trace}"
    );
    match d {
        Disposition::Transmit { vif: out } | Disposition::ToHost { vif: out } => {
            assert_eq!(tx(r), tx(&before) + 1, "{trace}");
            let sent = |r: &VRouter| r.vif(out).map(|v| v.stats.tx_packets);
            assert_eq!(sent(r), sent(&before).map(|n| n + 1), "{trace}");
            assert_eq!(r.drops().total(), before.drops().total(), "{trace}");
        }
        Disposition::Held { flow } => {
            assert_eq!(tx(r), tx(&before), "{trace}");
            assert_eq!(r.drops().total(), before.drops().total(), "{trace}");
            assert!(r.flows().get(flow).is_some_and(|f| !f.held.is_empty()));
        }
        Disposition::Drop(reason) => {
            assert_eq!(tx(r), tx(&before), "{trace}");
            assert_eq!(r.drops().get(reason), before.drops().get(reason) + 1);
            assert_eq!(r.drops().total(), before.drops().total() + 1);
            if let (Some(a), Some(b)) = (r.vif(vif), before.vif(vif)) {
                assert_eq!(a.drops.get(reason), b.drops.get(reason) + 1, "per vif");
            }
        }
    }
    (d, out)
}

/// The disposition of `frame` on a fresh compute01.
fn on(vif: VifId, frame: &[u8]) -> Disposition {
    send(&mut compute01(), vif, frame).0
}

/// Set the outer IPv4 total length to fit a frame of `n` bytes.
fn ip_len(f: &mut [u8], n: usize) {
    f[16..18].copy_from_slice(&u16::try_from(n - 14).unwrap().to_be_bytes());
}

/// Set the outer UDP length to fit a frame of `n` bytes.
fn udp_len(f: &mut [u8], n: usize) {
    f[38..40].copy_from_slice(&u16::try_from(n - 34).unwrap().to_be_bytes());
}

/// The GRE seed frame with `extra` inserted at `at` and the IP length fixed.
fn gre_with(at: usize, extra: &[u8]) -> Vec<u8> {
    let mut f = seed::mx_to_compute01_gre();
    f.splice(at..at, extra.iter().copied());
    let n = f.len();
    ip_len(&mut f, n);
    f
}

/// An MPLS label stack entry.
fn mpls(label: u32, bottom: bool, ttl: u8) -> [u8; 4] {
    ((label << 12) | (u32::from(bottom) << 8) | u32::from(ttl)).to_be_bytes()
}

/// The GRE seed frame with its label entry replaced by `stack`.
fn gre_stack(stack: &[[u8; 4]]) -> Vec<u8> {
    let mut f = seed::mx_to_compute01_gre();
    f.splice(38..42, stack.iter().flatten().copied());
    let n = f.len();
    ip_len(&mut f, n);
    f
}

/// The MPLSoUDP seed frame with its label entry replaced.
fn udp_label(entry: [u8; 4]) -> Vec<u8> {
    let mut f = seed::mx_to_compute01_udp();
    f[42..46].copy_from_slice(&entry);
    f
}

// ---- Truncation, every length of every header on every path ----

#[test]
fn t1_t3_ethernet_cut_is_if_drop_on_every_vif() {
    let gre = seed::mx_to_compute01_gre();
    for vif in [FABRIC_VIF, VHOST_VIF, AGENT_VIF, TAP_VIF] {
        let mut r = compute01();
        for n in 0..14 {
            assert_eq!(
                send(&mut r, vif, &gre[..n]).0,
                dropped(InterfaceDrop),
                "vif {vif} n {n}"
            );
        }
        // Each counted as an rx error on the vif.
        assert_eq!(r.vif(vif).unwrap().stats.rx_errors, 14, "vif {vif}");
    }
}

#[test]
fn t4_t5_outer_ipv4_cut_is_invalid_packet() {
    // Inside the header, or past it with the total length as sent.
    let gre = seed::mx_to_compute01_gre();
    for n in 14..gre.len() {
        assert_eq!(on(FABRIC_VIF, &gre[..n]), dropped(InvalidPacket), "n {n}");
    }
}

#[test]
fn t6_t9_mplsogre_cut_with_lengths_fixed() {
    // GRE at 34, the label at 38, the inner packet at 42.
    let gre = seed::mx_to_compute01_gre();
    for n in 34..gre.len() {
        let mut f = gre[..n].to_vec();
        ip_len(&mut f, n);
        let want = match n {
            34..42 => dropped(Pull),
            42 => dropped(InvalidProtocol),
            // Only the inner version nibble is read before the VM gets it.
            _ => TO_VM,
        };
        assert_eq!(on(FABRIC_VIF, &f), want, "n {n}");
    }
}

#[test]
fn t7_t10_t11_mplsoudp_cut() {
    // UDP at 34, the label at 42, the inner packet at 46.
    let udp = seed::mx_to_compute01_udp();
    for n in 34..udp.len() {
        let mut f = udp[..n].to_vec();
        ip_len(&mut f, n);
        // The UDP length as sent runs past the cut.
        assert_eq!(on(FABRIC_VIF, &f), dropped(Pull), "ip only, n {n}");
        if n >= 40 {
            udp_len(&mut f, n);
        }
        let want = match n {
            34..46 => dropped(Pull),
            46 => dropped(InvalidProtocol),
            _ => TO_VM,
        };
        assert_eq!(on(FABRIC_VIF, &f), want, "ip and udp, n {n}");
    }
}

#[test]
fn t12_t14_vxlan_cut() {
    // VXLAN at 42, the inner Ethernet at 50, the inner IPv4 at 64.
    let vx = seed::vxlan_vni4_to_vm();
    for n in 34..vx.len() {
        let mut f = vx[..n].to_vec();
        ip_len(&mut f, n);
        if n >= 40 {
            udp_len(&mut f, n);
        }
        let want = match n {
            34..50 => dropped(Pull),
            50..64 => dropped(InvalidPacket),
            // Bridged to the VM by its MAC: the inner IPv4 is not parsed.
            _ => TO_VM,
        };
        assert_eq!(on(FABRIC_VIF, &f), want, "n {n}");
    }
}

#[test]
fn t15_routed_ipv4_from_the_vm_cut_is_invalid_packet() {
    let reply = seed::container_reply_from_vm();
    for n in 14..reply.len() {
        assert_eq!(on(TAP_VIF, &reply[..n]), dropped(InvalidPacket), "n {n}");
    }
}

fn arp_request(target: std::net::Ipv4Addr) -> Vec<u8> {
    Frame::new()
        .ethernet(seed::DOCKERHOST_MAC, MacAddr::broadcast())
        .arp_request(seed::DOCKERHOST_MAC, seed::DOCKERHOST_IP, target)
        .build()
        .unwrap()
}

#[test]
fn t17_t18_arp_cut() {
    let ask = arp_request(seed::VN_GATEWAY_IP);
    for n in 14..42 {
        assert_eq!(on(TAP_VIF, &ask[..n]), dropped(InvalidArp), "tap, n {n}");
        // ARP on the fabric goes to the host unparsed.
        assert_eq!(on(FABRIC_VIF, &ask[..n]), TO_VHOST, "fabric, n {n}");
    }
}

#[test]
fn t19_l4_header_cut_is_forwarded() {
    // ICMP, UDP and TCP from the container, cut inside the L4 header with the
    // IP length consistent: forwarded (L4 is read only for the ECMP hash).
    let icmp = seed::container_reply_from_vm();
    let from_vm = || {
        Frame::new()
            .ethernet(seed::DOCKERHOST_MAC, seed::VROUTER_MAC)
            .ipv4(seed::CONTAINER_IP, seed::EARTH_IP)
    };
    let udp = from_vm().udp(1000, 53).payload(&[0; 8]).build().unwrap();
    let tcp = from_vm().tcp(1000, 22, 0x02).build().unwrap();
    for (what, frame) in [("icmp", icmp), ("udp", udp), ("tcp", tcp)] {
        for n in [35, 37, 38] {
            let mut f = frame[..n].to_vec();
            ip_len(&mut f, n);
            assert_eq!(on(TAP_VIF, &f), TO_FABRIC, "{what} cut at {n}");
        }
    }
}

// ---- IPv4 header fields, options, fragments ----

#[test]
fn i1_checksums_are_not_verified() {
    let mut gre = seed::mx_to_compute01_gre();
    gre[24] ^= 0xff;
    assert_eq!(on(FABRIC_VIF, &gre), TO_VM);
    let mut reply = seed::container_reply_from_vm();
    reply[24] ^= 0xff;
    let (d, out) = send(&mut compute01(), TAP_VIF, &reply);
    assert_eq!(d, TO_FABRIC);
    // The TTL decrement patches the checksum incrementally: still wrong.
    let inner = vrsim_wire::ipv4::Ipv4View::new_checked(&out[42..]).unwrap();
    assert!(vrsim_wire::ipv4::Ipv4Repr::parse(&inner).is_err());
}

#[test]
fn i2_i6_bad_ipv4_fields_are_invalid_packet() {
    for (frame, vif) in [
        (seed::mx_to_compute01_gre(), FABRIC_VIF),
        (seed::container_reply_from_vm(), TAP_VIF),
    ] {
        for (what, byte, value) in [("version 6", 14, 0x65u8), ("IHL 4", 14, 0x44)] {
            let mut f = frame.clone();
            f[byte] = value;
            assert_eq!(on(vif, &f), dropped(InvalidPacket), "{what} on vif {vif}");
        }
        let mut f = frame.clone();
        f[16..18].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(on(vif, &f), dropped(InvalidPacket), "total length 19");
        // IHL 15 (60 bytes) in a 40-byte packet.
        let mut f = frame[..54].to_vec();
        ip_len(&mut f, 54);
        f[14] = 0x4f;
        assert_eq!(on(vif, &f), dropped(InvalidPacket), "IHL beyond the packet");
    }
}

#[test]
fn i7_trailing_bytes_are_trimmed() {
    let (_, normal) = send(&mut compute01(), FABRIC_VIF, &seed::mx_to_compute01_gre());
    let mut f = seed::mx_to_compute01_gre();
    f.extend_from_slice(&[0xee; 6]);
    let (d, out) = send(&mut compute01(), FABRIC_VIF, &f);
    assert_eq!((d, out), (TO_VM, normal));
}

#[test]
fn i8_m7_inner_packet_under_an_l3_label() {
    // Only the version nibble is read: 4 goes to the VM, 5 is refused.
    let mut f = seed::mx_to_compute01_gre();
    f[42] = 0x44;
    assert_eq!(on(FABRIC_VIF, &f), TO_VM);
    f[42] = 0x55;
    assert_eq!(on(FABRIC_VIF, &f), dropped(InvalidProtocol));
}

#[test]
fn o1_outer_options_are_skipped() {
    // IHL 6 with a 4-byte router-alert option; GRE follows at 38.
    let mut f = gre_with(34, &[0x94, 0x04, 0x00, 0x00]);
    f[14] = 0x46;
    assert_eq!(on(FABRIC_VIF, &f), TO_VM);
}

#[test]
fn f1_fragments_are_not_reassembled() {
    // A first fragment (MF) over GRE is decapsulated as it is.
    let mut f = seed::mx_to_compute01_gre();
    f[20] |= 0x20;
    assert_eq!(on(FABRIC_VIF, &f), TO_VM);
    // From the VM, MF set: forwarded.
    let mut reply = seed::container_reply_from_vm();
    reply[20] |= 0x20;
    assert_eq!(on(TAP_VIF, &reply), TO_FABRIC);
}

// ---- GRE ----

#[test]
fn g1_g6_gre_flags_and_protocols() {
    // C and K each add a word the vRouter skips; S, R, a version, reserved
    // bits or another protocol are not for the vRouter: to the host.
    let with_word = |flags: u16| {
        let mut f = gre_with(38, &[0, 0, 0, 0]);
        f[34..36].copy_from_slice(&flags.to_be_bytes());
        f
    };
    assert_eq!(on(FABRIC_VIF, &with_word(0x8000)), TO_VM, "C");
    assert_eq!(on(FABRIC_VIF, &with_word(0x2000)), TO_VM, "K");
    let mut ck = gre_with(38, &[0; 8]);
    ck[34..36].copy_from_slice(&0xa000u16.to_be_bytes());
    assert_eq!(on(FABRIC_VIF, &ck), TO_VM, "C+K");
    assert_eq!(on(FABRIC_VIF, &with_word(0x1000)), TO_VHOST, "S");
    for (what, flags) in [
        ("R", 0x4000u16),
        ("version 1", 0x0001),
        ("reserved", 0x0100),
    ] {
        let mut f = seed::mx_to_compute01_gre();
        f[34..36].copy_from_slice(&flags.to_be_bytes());
        assert_eq!(on(FABRIC_VIF, &f), TO_VHOST, "{what}");
    }
    for proto in [0x0800u16, 0x6558, 0x8848] {
        let mut f = seed::mx_to_compute01_gre();
        f[36..38].copy_from_slice(&proto.to_be_bytes());
        assert_eq!(on(FABRIC_VIF, &f), TO_VHOST, "protocol {proto:#06x}");
    }
}

// ---- MPLS ----

#[test]
fn m1_m2_stacks_without_bottom_of_stack() {
    let stack = [mpls(36, false, 64), mpls(35, true, 64)];
    assert_eq!(on(FABRIC_VIF, &gre_stack(&stack)), dropped(InvalidProtocol));
    let deep: Vec<[u8; 4]> = (0..9).map(|_| mpls(35, false, 64)).collect();
    assert_eq!(on(FABRIC_VIF, &gre_stack(&deep)), dropped(InvalidProtocol));
    assert_eq!(
        on(FABRIC_VIF, &udp_label(mpls(35, false, 64))),
        dropped(InvalidProtocol)
    );
}

#[test]
fn m3_label_0xfffff() {
    let popped = [mpls(0xfffff, false, 64), mpls(35, true, 64)];
    assert_eq!(on(FABRIC_VIF, &gre_stack(&popped)), TO_VM);
    assert_eq!(
        on(FABRIC_VIF, &gre_stack(&[mpls(0xfffff, true, 64)])),
        dropped(InvalidLabel)
    );
}

#[test]
fn m4_reserved_labels_are_looked_up_like_any() {
    let f = gre_stack(&[mpls(3, true, 64)]);
    let mut r = compute01();
    assert_eq!(send(&mut r, FABRIC_VIF, &f).0, dropped(InvalidLabel));
    r.add_label(label(3), nh(90)).unwrap();
    assert_eq!(send(&mut r, FABRIC_VIF, &f).0, TO_VM);
}

#[test]
fn m5_m6_x3_x4_labels_and_mpls_ttl_over_gre_and_udp() {
    for (what, entry, want) in [
        (
            "beyond the table",
            mpls(6000, true, 64),
            dropped(InvalidLabel),
        ),
        ("unmapped", mpls(36, true, 64), dropped(InvalidLabel)),
        ("ttl 1", mpls(35, true, 1), dropped(TtlExceeded)),
        ("ttl 0", mpls(35, true, 0), dropped(TtlExceeded)),
        ("unmapped, ttl 1", mpls(36, true, 1), dropped(TtlExceeded)),
    ] {
        assert_eq!(on(FABRIC_VIF, &gre_stack(&[entry])), want, "gre {what}");
        assert_eq!(on(FABRIC_VIF, &udp_label(entry)), want, "udp {what}");
    }
}

// ---- VXLAN and UDP ----

#[test]
fn v1_v3_vxlan_flags() {
    let mut f = seed::vxlan_vni4_to_vm();
    f[42] = 0x00;
    assert_eq!(on(FABRIC_VIF, &f), dropped(InvalidVnid), "I clear");
    f[42] = 0x09;
    assert_eq!(on(FABRIC_VIF, &f), TO_AGENT, "router alert");
    let mut unknown = seed::vxlan_vni4_to_vm();
    unknown[48] = 9;
    assert_eq!(on(FABRIC_VIF, &unknown), dropped(InvalidVnid), "VNID 9");
}

#[test]
fn u1_u5_udp_lengths_and_checksums() {
    for frame in [seed::mx_to_compute01_udp(), seed::vxlan_vni4_to_vm()] {
        let payload = frame.len() - 34;
        for (what, len) in [("below 8", 7usize), ("past the packet", payload + 1)] {
            let mut f = frame.clone();
            f[38..40].copy_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
            assert_eq!(on(FABRIC_VIF, &f), dropped(Pull), "{what}");
        }
        // Shorter than the packet: the tunnel payload still runs to the IP length.
        let mut f = frame.clone();
        f[38..40].copy_from_slice(&12u16.to_be_bytes());
        assert_eq!(on(FABRIC_VIF, &f), TO_VM, "short UDP length");
        let mut f = frame.clone();
        f[40..42].copy_from_slice(&0x1234u16.to_be_bytes());
        assert_eq!(on(FABRIC_VIF, &f), TO_VM, "wrong UDP checksum");
    }
    // UDP to another port of vhost0: to the host, unless its header is bad.
    let dns = |udp_length: Option<u16>| {
        let mut f = Frame::new()
            .ethernet(seed::GW_FABRIC_MAC, seed::COMPUTE01_FABRIC_MAC)
            .ipv4(seed::GW_FABRIC_IP, seed::COMPUTE01_IP)
            .udp(5353, 53)
            .payload(&[0; 12])
            .build()
            .unwrap();
        if let Some(l) = udp_length {
            f[38..40].copy_from_slice(&l.to_be_bytes());
        }
        f
    };
    assert_eq!(on(FABRIC_VIF, &dns(None)), TO_VHOST);
    assert_eq!(on(FABRIC_VIF, &dns(Some(7))), dropped(Pull));
}

// ---- TTL at every hop ----

fn outer_ttl(mut f: Vec<u8>, ttl: u8) -> Vec<u8> {
    f[22] = ttl;
    f
}

#[test]
fn x1_x2_outer_ttl() {
    for frame in [seed::mx_to_compute01_gre(), seed::vxlan_vni4_to_vm()] {
        assert_eq!(
            on(FABRIC_VIF, &outer_ttl(frame.clone(), 0)),
            dropped(TtlExceeded)
        );
        assert_eq!(on(FABRIC_VIF, &outer_ttl(frame.clone(), 1)), TO_AGENT);
        let mut r = compute01();
        r.delete_vif(AGENT_VIF).unwrap();
        assert_eq!(
            send(&mut r, FABRIC_VIF, &outer_ttl(frame, 1)).0,
            dropped(TrapNoIf)
        );
    }
}

#[test]
fn x5_inner_ttl_under_a_label_is_not_checked() {
    // Inner IPv4 TTL at 42 + 8.
    for ttl in [0u8, 1] {
        let mut f = seed::mx_to_compute01_gre();
        f[50] = ttl;
        let (d, out) = send(&mut compute01(), FABRIC_VIF, &f);
        assert_eq!(d, TO_VM);
        assert_eq!(out[22], ttl, "delivered unchanged");
    }
}

#[test]
fn x6_vxlan_inner_ttl() {
    // Inner IPv4 at 64, its TTL at 72; the inner destination MAC at 50.
    for (ttl, to_vm, to_router) in [(0u8, TO_VM, dropped(TtlExceeded)), (1, TO_VM, TO_AGENT)] {
        let mut f = seed::vxlan_vni4_to_vm();
        f[72] = ttl;
        assert_eq!(on(FABRIC_VIF, &f), to_vm, "ttl {ttl} to the VM's MAC");
        f[50..56].copy_from_slice(&seed::VROUTER_MAC.octets());
        assert_eq!(
            on(FABRIC_VIF, &f),
            to_router,
            "ttl {ttl} to the vRouter's MAC"
        );
    }
}

#[test]
fn x7_x8_ttl_from_the_vm() {
    let ping = |dst, mac, ttl| {
        Frame::new()
            .ethernet(seed::DOCKERHOST_MAC, mac)
            .ipv4(seed::DOCKERHOST_IP, dst)
            .ttl(ttl)
            .icmp_echo_request(1, 1, &[0; 8])
            .build()
            .unwrap()
    };
    let earth = seed::EARTH_IP;
    assert_eq!(
        on(TAP_VIF, &ping(earth, seed::VROUTER_MAC, 0)),
        dropped(TtlExceeded)
    );
    assert_eq!(on(TAP_VIF, &ping(earth, seed::VROUTER_MAC, 1)), TO_AGENT);
    // TTL 1 to the network's gateway address traps too (before the Receive nh).
    let gw = seed::VN_GATEWAY_IP;
    assert_eq!(on(TAP_VIF, &ping(gw, seed::VROUTER_MAC, 1)), TO_AGENT);
    // Bridged (to a MAC in the bridge table): no TTL check.
    assert_eq!(on(TAP_VIF, &ping(earth, seed::DOCKERHOST_MAC, 0)), TO_VM);
}

// ---- MTU ----

#[test]
fn mt2_mt3_mt5_frames_over_an_mtu() {
    // Too big for the fabric without DF: sent oversize (no fragmentation).
    let big = Frame::new()
        .ethernet(seed::DOCKERHOST_MAC, seed::VROUTER_MAC)
        .ipv4(seed::CONTAINER_IP, seed::EARTH_IP)
        .udp(1, 2)
        .payload(&[0u8; 1480])
        .build()
        .unwrap();
    let (d, out) = send(&mut compute01(), TAP_VIF, &big);
    assert_eq!(d, TO_FABRIC);
    assert!(out.len() > 1514 + 14, "{} bytes", out.len());
    // Over the tap's MTU from the fabric: delivered (no check on that side).
    let jumbo = Frame::new()
        .ethernet(seed::GW_FABRIC_MAC, seed::COMPUTE01_FABRIC_MAC)
        .ipv4(seed::GW_FABRIC_IP, seed::COMPUTE01_IP)
        .gre()
        .mpls(35)
        .append(
            Frame::new()
                .ipv4(seed::EARTH_IP, seed::CONTAINER_IP)
                .udp(1, 2)
                .payload(&[0u8; 9200]),
        )
        .build()
        .unwrap();
    assert_eq!(on(FABRIC_VIF, &jumbo), TO_VM);
}

// ---- ARP, unknown MACs, missing vifs ----

#[test]
fn a1_a4_arp_requests_the_vrouter_cannot_answer() {
    // No route for the target (the default route removed), tap without Mp:
    // flooded through the broadcast entry, whose nh is Discard.
    let mut r = compute01();
    r.delete_route4(public(), "0.0.0.0/0".parse().unwrap())
        .unwrap();
    let ask = arp_request("10.9.9.9".parse().unwrap());
    assert_eq!(send(&mut r, TAP_VIF, &ask).0, dropped(Discard));
    // The asker's MAC missing from the bridge table: Invalid NH.
    let mut r = compute01();
    r.delete_bridge(public(), seed::DOCKERHOST_MAC).unwrap();
    let ask = arp_request(seed::VN_GATEWAY_IP);
    assert_eq!(send(&mut r, TAP_VIF, &ask).0, dropped(InvalidNh));
    // No broadcast entry in the VRF: No L2 Route.
    let mut r = compute01();
    r.delete_bridge(public(), MacAddr::broadcast()).unwrap();
    assert_eq!(send(&mut r, TAP_VIF, &ask).0, dropped(L2NoRoute));
}

#[test]
fn a5_a6_malformed_arp_from_the_vm() {
    let ask = arp_request(seed::VN_GATEWAY_IP);
    for (what, at, bytes) in [
        ("ptype 0x8600", 16, [0x86u8, 0x00]),
        ("htype 6", 14, [0x00, 0x06]),
        ("opcode 3", 20, [0x00, 0x03]),
    ] {
        let mut f = ask.clone();
        f[at..at + 2].copy_from_slice(&bytes);
        assert_eq!(on(TAP_VIF, &f), dropped(InvalidArp), "{what}");
    }
}

#[test]
fn a8_arp_on_the_fabric_goes_to_the_host() {
    let ask = arp_request(seed::COMPUTE01_IP);
    assert_eq!(on(FABRIC_VIF, &ask), TO_VHOST);
}

fn frame_to(dst: MacAddr) -> Vec<u8> {
    Frame::new()
        .ethernet(seed::DOCKERHOST_MAC, dst)
        .ipv4(seed::DOCKERHOST_IP, seed::EARTH_IP)
        .udp(1, 2)
        .payload(&[0; 8])
        .build()
        .unwrap()
}

#[test]
fn l1_l3_unknown_and_multicast_macs() {
    let stray = MacAddr(0x02, 0, 0, 0, 0, 0x99);
    // The tap floods unknown unicast (Uuf): through the broadcast entry, Discard.
    assert_eq!(on(TAP_VIF, &frame_to(stray)), dropped(Discard));
    // Without a broadcast entry: No L2 Route, unicast or multicast.
    let mut r = compute01();
    r.delete_bridge(public(), MacAddr::broadcast()).unwrap();
    assert_eq!(
        send(&mut r, TAP_VIF, &frame_to(stray)).0,
        dropped(L2NoRoute)
    );
    let mcast = MacAddr(0x01, 0x00, 0x5e, 0, 0, 1);
    assert_eq!(
        send(&mut r, TAP_VIF, &frame_to(mcast)).0,
        dropped(L2NoRoute)
    );
}

#[test]
fn l4_l5_vxlan_inner_macs() {
    // An unknown inner MAC floods (the VNID nh has Uuf): Discard.
    let mut f = seed::vxlan_vni4_to_vm();
    f[50..56].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x09]);
    assert_eq!(on(FABRIC_VIF, &f), dropped(Discard));
    // An inner MAC bridged to a tunnel: fabric to fabric is Invalid Source.
    let mut r = compute01();
    let remote = MacAddr(0x02, 0, 0, 0, 0, 0x0a);
    r.add_bridge(
        public(),
        remote,
        BridgeEntry {
            nh: seed::NH_TUNNEL_GW,
            label: Some(16),
        },
    )
    .unwrap();
    f[50..56].copy_from_slice(&remote.octets());
    assert_eq!(send(&mut r, FABRIC_VIF, &f).0, dropped(InvalidSource));
}

#[test]
fn l6_outer_mac_is_not_checked() {
    let mut f = seed::mx_to_compute01_gre();
    f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x77]);
    assert_eq!(on(FABRIC_VIF, &f), TO_VM);
}

#[test]
fn n1_n2_missing_and_agent_vifs() {
    let gre = seed::mx_to_compute01_gre();
    let mut r = compute01();
    let (d, _) = send(&mut r, vif(36), &gre);
    assert_eq!(d, dropped(InvalidIf));
    assert!(r.vif(vif(36)).is_none());
    // Frames entering the agent's vif are not forwarded.
    assert_eq!(on(AGENT_VIF, &gre), dropped(InvalidPacket));
}
