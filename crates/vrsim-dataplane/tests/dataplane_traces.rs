//! Scenario A's traces through compute01's vRouter: dispositions, output
//! frames (decoded by vrsim-wire), counters and drop reasons.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use vrsim_dataplane::drop::DropReason;
use vrsim_dataplane::trace::{NoTrace, RpfExpect, Step, Trace};
use vrsim_dataplane::{Disposition, NhId, PacketBuf, VRouter};
use vrsim_testkit::compute01;
use vrsim_testkit::ids::*;
use vrsim_testkit::seed::{self, FABRIC_VIF, TAP_VIF, VHOST_VIF};
use vrsim_wire::{Frame, Header, dissect};

fn run(
    r: &mut VRouter,
    vif: vrsim_dataplane::VifId,
    frame: &[u8],
) -> (Disposition, Vec<u8>, Trace) {
    let mut trace = Trace::default();
    // A new flow is held, answered by the agent and sent on (one trace).
    let (d, out) = vrsim_testkit::process_with_agent(r, vif, frame, &mut trace);
    (d, out, trace)
}

/// rx on every vif = tx + to-host + drops, globally.
fn assert_accounting(r: &VRouter, received: u64) {
    let rx: u64 = r.vifs().map(|v| v.stats.rx_packets).sum();
    let tx: u64 = r.vifs().map(|v| v.stats.tx_packets).sum();
    assert_eq!(rx, received);
    assert_eq!(
        tx + r.drops().total(),
        received,
        "every frame transmitted or dropped once"
    );
}

#[test]
fn trace1_gateway_to_container_over_mplsogre() {
    let mut r = compute01();
    let (d, out, trace) = run(&mut r, FABRIC_VIF, &seed::mx_to_compute01_gre());
    assert_eq!(d, Disposition::Transmit { vif: TAP_VIF }, "{trace}");
    let want = Frame::new()
        .ethernet(seed::VROUTER_MAC, seed::DOCKERHOST_MAC)
        .ipv4(seed::EARTH_IP, seed::CONTAINER_IP)
        .ttl(63)
        .icmp_echo_request(seed::ECHO_IDENT, 1, &seed::echo_data())
        .build()
        .unwrap();
    assert_eq!(dissect(&out).to_string(), dissect(&want).to_string());
    assert_eq!(out, want);
    assert!(
        trace.steps.contains(&Step::Label {
            label: label(35),
            nh: Some(nh(90))
        }),
        "{trace}"
    );
    let rpf = trace
        .steps
        .iter()
        .find(|s| matches!(s, Step::FlowRpf { .. }))
        .unwrap();
    assert!(
        matches!(rpf, Step::FlowRpf { expect: RpfExpect::TunnelEndpoint(ip), pass: true, .. } if *ip == seed::GW_FABRIC_IP)
    );
    let tap = r.vif(TAP_VIF).unwrap();
    assert_eq!(
        (tap.stats.tx_packets, tap.stats.tx_bytes),
        (1, want.len() as u64)
    );
    assert_accounting(&r, 1);
}

#[test]
fn trace1_over_mplsoudp() {
    let mut r = compute01();
    let (d, out, trace) = run(&mut r, FABRIC_VIF, &seed::mx_to_compute01_udp());
    assert_eq!(d, Disposition::Transmit { vif: TAP_VIF }, "{trace}");
    // The same frame reaches the VM whichever tunnel carried it.
    let (_, over_gre, _) = run(&mut r, FABRIC_VIF, &seed::mx_to_compute01_gre());
    assert_eq!(out, over_gre);
}

#[test]
fn trace2_container_reply_to_gateway() {
    let mut r = compute01();
    let (d, out, trace) = run(&mut r, TAP_VIF, &seed::container_reply_from_vm());
    assert_eq!(d, Disposition::Transmit { vif: FABRIC_VIF }, "{trace}");
    assert_eq!(
        dissect(&out).to_string(),
        dissect(&seed::compute01_to_mx_gre()).to_string()
    );
    assert_eq!(out, seed::compute01_to_mx_gre());
    let rpf = trace
        .steps
        .iter()
        .find(|s| matches!(s, Step::FlowRpf { .. }))
        .unwrap();
    assert!(
        matches!(rpf, Step::FlowRpf { expect: RpfExpect::Vif(v), pass: true, nh: n, .. } if *v == TAP_VIF && *n == nh(90)),
        "{trace}"
    );
    assert_accounting(&r, 1);
}

#[test]
fn trace3_without_the_bgpaas_route_rpf_drops_the_reply() {
    let mut r = seed::compute01(false).unwrap();
    let (d, _, trace) = run(&mut r, TAP_VIF, &seed::container_reply_from_vm());
    assert_eq!(d, Disposition::Drop(DropReason::InvalidSource), "{trace}");
    let rpf = trace
        .steps
        .iter()
        .find(|s| matches!(s, Step::FlowRpf { .. }))
        .unwrap();
    assert!(
        matches!(rpf, Step::FlowRpf { expect: RpfExpect::TunnelEndpoint(ip), pass: false, .. } if *ip == seed::GW_FABRIC_IP),
        "{trace}"
    );
    assert_eq!(r.drops().get(DropReason::InvalidSource), 1);
    assert_eq!(
        r.vif(TAP_VIF).unwrap().drops.get(DropReason::InvalidSource),
        1
    );
    assert_accounting(&r, 1);

    // With RPF off on the network (the agent re-evaluates the flows: here
    // they are flushed and made anew) the reply passes: S(nh) is nh 0.
    r.set_rpf(public(), false);
    r.flush_flows();
    let (d, _, trace) = run(&mut r, TAP_VIF, &seed::container_reply_from_vm());
    assert_eq!(d, Disposition::Transmit { vif: FABRIC_VIF }, "{trace}");
    assert!(trace.steps.iter().any(|s| matches!(
        s,
        Step::FlowRpf { nh, expect: RpfExpect::NoCheck, pass: true, .. } if *nh == NhId::DISCARD
    )));
}

#[test]
fn trace4_vxlan_known_and_unknown_vnid() {
    let mut r = compute01();
    let frame = seed::vxlan_vni4_to_vm();
    let (d, out, trace) = run(&mut r, FABRIC_VIF, &frame);
    assert_eq!(d, Disposition::Transmit { vif: TAP_VIF }, "{trace}");
    assert_eq!(out, frame[50..], "the inner frame leaves unchanged");
    assert!(trace.steps.contains(&Step::Vnid {
        vni: vni(4),
        nh: Some(nh(14))
    }));
    assert!(trace.steps.contains(&Step::BridgeLookup {
        vrf: public(),
        mac: seed::DOCKERHOST_MAC,
        nh: Some(nh(91))
    }));

    let mut unknown = frame.clone();
    unknown[42 + 6] = 5; // VNID 5
    let (d, _, _) = run(&mut r, FABRIC_VIF, &unknown);
    assert_eq!(d, Disposition::Drop(DropReason::InvalidVnid));
    assert_eq!(r.drops().get(DropReason::InvalidVnid), 1);
    assert_accounting(&r, 2);
}

#[test]
fn trace5_to_the_vrouter_gateway_address_goes_to_the_host() {
    let mut r = compute01();
    let ping = Frame::new()
        .ethernet(seed::DOCKERHOST_MAC, seed::VROUTER_MAC)
        .ipv4(seed::DOCKERHOST_IP, seed::VN_GATEWAY_IP)
        .icmp_echo_request(1, 1, b"bgp?")
        .build()
        .unwrap();
    let (d, _, trace) = run(&mut r, TAP_VIF, &ping);
    assert_eq!(d, Disposition::ToHost { vif: VHOST_VIF }, "{trace}");
    assert_accounting(&r, 1);
}

#[test]
fn arp_for_the_gateway_is_answered_with_the_vrouter_mac() {
    let mut r = compute01();
    let ask = Frame::new()
        .ethernet(seed::DOCKERHOST_MAC, vrsim_wire::MacAddr::broadcast())
        .arp_request(
            seed::DOCKERHOST_MAC,
            seed::DOCKERHOST_IP,
            seed::VN_GATEWAY_IP,
        )
        .build()
        .unwrap();
    let (d, out, trace) = run(&mut r, TAP_VIF, &ask);
    assert_eq!(d, Disposition::Transmit { vif: TAP_VIF }, "{trace}");
    let Some(Header::Arp(reply)) = dissect(&out).iter().nth(1).copied() else {
        panic!("{}", dissect(&out))
    };
    assert_eq!(
        (reply.sender_ip, reply.sender_mac),
        (seed::VN_GATEWAY_IP, seed::VROUTER_MAC)
    );
    assert_eq!(
        (reply.target_ip, reply.target_mac),
        (seed::DOCKERHOST_IP, seed::DOCKERHOST_MAC)
    );
}

#[test]
fn untraced_path_gives_the_same_disposition() {
    let mut r = compute01();
    let mut buf = PacketBuf::with_capacity(1514);
    for (vif, frame) in [
        (FABRIC_VIF, seed::mx_to_compute01_gre()),
        (TAP_VIF, seed::container_reply_from_vm()),
        (FABRIC_VIF, seed::vxlan_vni4_to_vm()),
    ] {
        // The first packet makes the flow; the next two hit it.
        run(&mut r, vif, &frame);
        let untraced = r.process(vif, &frame, &mut buf, &mut NoTrace);
        let untraced_out = buf.frame().to_vec();
        let (traced, traced_out, _) = run(&mut r, vif, &frame);
        assert_eq!((untraced, untraced_out), (traced, traced_out));
    }
    assert_accounting(&r, 9);
}

/// The container's echo reply with the given inner TTL, as the VM sends it.
fn reply_with_ttl(ttl: u8) -> Vec<u8> {
    Frame::new()
        .ethernet(seed::DOCKERHOST_MAC, seed::VROUTER_MAC)
        .ipv4(seed::CONTAINER_IP, seed::EARTH_IP)
        .ttl(ttl)
        .icmp_echo_reply(seed::ECHO_IDENT, 1, &seed::echo_data())
        .build()
        .unwrap()
}

#[test]
fn ttl_at_the_vrouter() {
    let mut r = compute01();
    // TTL 0 on arrival: dropped. TTL 1 reaches 0 and is the agent's (trapped via pkt0).
    let (d, _, _) = run(&mut r, TAP_VIF, &reply_with_ttl(0));
    assert_eq!(d, Disposition::Drop(DropReason::TtlExceeded));
    let (d, _, trace) = run(&mut r, TAP_VIF, &reply_with_ttl(1));
    assert_eq!(
        d,
        Disposition::ToHost {
            vif: seed::AGENT_VIF
        },
        "{trace}"
    );
    let (d, out, _) = run(&mut r, TAP_VIF, &reply_with_ttl(2));
    assert_eq!(d, Disposition::Transmit { vif: FABRIC_VIF });
    let Some(Header::Mpls(stack)) = dissect(&out).iter().nth(3).copied() else {
        panic!()
    };
    assert_eq!(stack.top().ttl, 1, "the label carries the decremented TTL");
    assert_accounting(&r, 3);
}

#[test]
fn mpls_ttl_label_and_stack_checks() {
    let mut r = compute01();
    let with = |label: u32, ttl: u8| {
        Frame::new()
            .ethernet(seed::GW_FABRIC_MAC, seed::COMPUTE01_FABRIC_MAC)
            .ipv4(seed::GW_FABRIC_IP, seed::COMPUTE01_IP)
            .gre()
            .mpls(label)
            .ttl(ttl)
            .ipv4(seed::EARTH_IP, seed::CONTAINER_IP)
            .icmp_echo_request(1, 1, b"x")
            .build()
            .unwrap()
    };
    assert_eq!(
        run(&mut r, FABRIC_VIF, &with(35, 1)).0,
        Disposition::Drop(DropReason::TtlExceeded)
    );
    assert_eq!(
        run(&mut r, FABRIC_VIF, &with(36, 64)).0,
        Disposition::Drop(DropReason::InvalidLabel)
    );
    assert_eq!(
        run(&mut r, FABRIC_VIF, &with(6000, 64)).0,
        Disposition::Drop(DropReason::InvalidLabel)
    );
    let two_labels = Frame::new()
        .ethernet(seed::GW_FABRIC_MAC, seed::COMPUTE01_FABRIC_MAC)
        .ipv4(seed::GW_FABRIC_IP, seed::COMPUTE01_IP)
        .gre()
        .mpls(35)
        .mpls(35)
        .ipv4(seed::EARTH_IP, seed::CONTAINER_IP)
        .icmp_echo_request(1, 1, b"x")
        .build()
        .unwrap();
    assert_eq!(
        run(&mut r, FABRIC_VIF, &two_labels).0,
        Disposition::Drop(DropReason::InvalidProtocol)
    );
    assert_accounting(&r, 4);
}

#[test]
fn malformed_and_misdirected_frames_are_counted_once() {
    let mut r = compute01();
    let good = seed::mx_to_compute01_gre();
    assert_eq!(
        run(&mut r, FABRIC_VIF, &good[..10]).0,
        Disposition::Drop(DropReason::InterfaceDrop)
    );
    assert_eq!(r.vif(FABRIC_VIF).unwrap().stats.rx_errors, 1);
    assert_eq!(
        run(&mut r, vif(99), &good).0,
        Disposition::Drop(DropReason::InvalidIf)
    );
    // Cut inside the GRE header: the pull fails.
    let mut cut = good[..14 + 20 + 2].to_vec();
    cut[16..18].copy_from_slice(&22u16.to_be_bytes()); // IPv4 total length 22
    cut[24..26].copy_from_slice(&[0, 0]);
    let sum = {
        let mut h = [0u8; 20];
        h.copy_from_slice(&cut[14..34]);
        let words: u32 = h
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum();
        let folded = (words & 0xffff) + (words >> 16);
        !(((folded & 0xffff) + (folded >> 16)) as u16)
    };
    cut[24..26].copy_from_slice(&sum.to_be_bytes());
    assert_eq!(
        run(&mut r, FABRIC_VIF, &cut).0,
        Disposition::Drop(DropReason::Pull)
    );
    // Plain traffic to vhost0's address goes to the host.
    let ping = Frame::new()
        .ethernet(seed::GW_FABRIC_MAC, seed::COMPUTE01_FABRIC_MAC)
        .ipv4(seed::GW_FABRIC_IP, seed::COMPUTE01_IP)
        .icmp_echo_request(1, 1, b"x")
        .build()
        .unwrap();
    assert_eq!(
        run(&mut r, FABRIC_VIF, &ping).0,
        Disposition::ToHost { vif: VHOST_VIF }
    );
    // Unknown unicast from the VM: the tap floods (Uuf) through the broadcast entry,
    // which vrsim's compute01 points at the discard nexthop.
    let stray = Frame::new()
        .ethernet(
            seed::DOCKERHOST_MAC,
            vrsim_wire::MacAddr::new(2, 0, 0, 0, 0, 9),
        )
        .ipv4(seed::DOCKERHOST_IP, [172, 16, 10, 9])
        .icmp_echo_request(1, 1, b"x")
        .build()
        .unwrap();
    assert_eq!(
        run(&mut r, TAP_VIF, &stray).0,
        Disposition::Drop(DropReason::Discard)
    );
    let rx: u64 = r.vifs().map(|v| v.stats.rx_packets).sum();
    assert_eq!(rx, 4, "the frame to a missing vif is counted globally only");
    assert_eq!(
        r.drops().total() + r.vifs().map(|v| v.stats.tx_packets).sum::<u64>(),
        5
    );
}

/// compute01 with IPv6 routes in the public VRF: 2001:db8::2 on the VM,
/// the rest through the gateway's tunnel.
fn dual_stack_compute01() -> VRouter {
    let mut r = compute01();
    seed::add_public_route6(&mut r, "2001:db8::2/128", seed::NH_VM, None);
    seed::add_public_route6(
        &mut r,
        "::/0",
        seed::NH_TUNNEL_GW,
        Some(seed::LABEL_TO_GATEWAY),
    );
    r
}

#[test]
fn ipv6_inside_mplsogre_keeps_its_ethertype() {
    // Through the flow the agent makes for it: both addresses have routes.
    let mut r = dual_stack_compute01();
    let frame = Frame::new()
        .ethernet(seed::GW_FABRIC_MAC, seed::COMPUTE01_FABRIC_MAC)
        .ipv4(seed::GW_FABRIC_IP, seed::COMPUTE01_IP)
        .gre()
        .mpls(35)
        .ipv6(
            "2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap(),
            "2001:db8::2".parse::<std::net::Ipv6Addr>().unwrap(),
        )
        .udp(1000, 2000)
        .payload(b"v6")
        .build()
        .unwrap();
    let (d, out, trace) = run(&mut r, FABRIC_VIF, &frame);
    assert_eq!(d, Disposition::Transmit { vif: TAP_VIF }, "{trace}");
    let d = dissect(&out);
    assert_eq!((d.chain().as_str(), d.error), ("eth:ipv6:udp", None), "{d}");
}

#[test]
fn arp_replies_and_gratuitous_arp_are_bridged() {
    let mut r = compute01();
    let arp = |op: vrsim_wire::arp::ArpOperation, target: std::net::Ipv4Addr, dst| {
        let repr = vrsim_wire::arp::ArpRepr {
            operation: op,
            sender_mac: seed::DOCKERHOST_MAC,
            sender_ip: seed::DOCKERHOST_IP,
            target_mac: vrsim_wire::MacAddr::zero(),
            target_ip: target,
        };
        Frame::new()
            .ethernet(seed::DOCKERHOST_MAC, dst)
            .header(Header::Arp(repr))
            .build()
            .unwrap()
    };
    use vrsim_wire::arp::ArpOperation::{Reply, Request};
    // A reply to another VM's MAC is bridged; with no entry for it and Uuf set, it floods
    // through the broadcast entry (the discard nexthop in vrsim's compute01).
    let other = vrsim_wire::MacAddr::new(2, 0, 0, 0, 0, 7);
    assert_eq!(
        run(&mut r, TAP_VIF, &arp(Reply, [172, 16, 10, 7].into(), other)).0,
        Disposition::Drop(DropReason::Discard)
    );
    // Gratuitous ARP (sender = target) is flooded, never answered.
    let (d, _, trace) = run(
        &mut r,
        TAP_VIF,
        &arp(
            Request,
            seed::DOCKERHOST_IP,
            vrsim_wire::MacAddr::broadcast(),
        ),
    );
    assert_eq!(d, Disposition::Drop(DropReason::Discard), "{trace}");
    assert!(
        !trace
            .steps
            .iter()
            .any(|s| matches!(s, Step::ArpProxy { .. }))
    );
    // A request for an address without a route is flooded too.
    let (d, _, trace) = run(
        &mut r,
        TAP_VIF,
        &arp(
            Request,
            [10, 9, 9, 9].into(),
            vrsim_wire::MacAddr::broadcast(),
        ),
    );
    assert!(
        !trace
            .steps
            .iter()
            .any(|s| matches!(s, Step::ArpProxy { .. })),
        "{trace}"
    );
    assert_eq!(d, Disposition::Drop(DropReason::Discard));
    assert_accounting(&r, 3);
}

#[test]
fn bridged_ip_from_the_fabric_is_rpf_checked() {
    let mut r = compute01();
    // VXLAN VNID 4 carrying a packet that claims to come from the Docker VM's own address.
    let outer = Frame::new()
        .ethernet(seed::GW_FABRIC_MAC, seed::COMPUTE01_FABRIC_MAC)
        .ipv4(seed::GW_FABRIC_IP, seed::COMPUTE01_IP)
        .udp(52000, vrsim_wire::UDP_PORT_VXLAN)
        .vxlan(4);
    let spoof = Frame::new()
        .ethernet(seed::VROUTER_MAC, seed::DOCKERHOST_MAC)
        .ipv4(seed::DOCKERHOST_IP, [172, 16, 10, 3])
        .icmp_echo_request(1, 1, b"x");
    let frame = outer.append(spoof).build().unwrap();
    let (d, _, trace) = run(&mut r, FABRIC_VIF, &frame);
    assert_eq!(d, Disposition::Drop(DropReason::InvalidSource), "{trace}");
}

#[test]
fn too_big_with_df_is_trapped_before_encapsulation() {
    let mut r = compute01();
    let mut ip = vrsim_wire::ipv4::Ipv4Repr::new(
        seed::CONTAINER_IP,
        seed::EARTH_IP,
        vrsim_wire::IpProtocol::Udp,
        0,
    );
    ip.dont_frag = true;
    let big = Frame::new()
        .ethernet(seed::DOCKERHOST_MAC, seed::VROUTER_MAC)
        .header(Header::Ipv4(ip))
        .udp(1, 2)
        .payload(&[0u8; 1480])
        .build()
        .unwrap();
    let (d, out, trace) = run(&mut r, TAP_VIF, &big);
    assert_eq!(
        d,
        Disposition::ToHost {
            vif: seed::AGENT_VIF
        },
        "{trace}"
    );
    assert!(trace.steps.contains(&Step::Trap {
        reason: vrsim_dataplane::trace::TrapReason::HandleDf
    }));
    assert_eq!(
        out.len(),
        big.len() - 14,
        "the agent gets the packet, not the tunnel frame"
    );
}

#[test]
fn ipv6_too_big_for_the_tunnel_is_trapped_as_with_df() {
    // `vr_ip_dont_fragment_set` is true for every IPv6 packet: one too big
    // for the fabric once encapsulated goes to the agent (which answers the
    // sender with ICMPv6 Packet Too Big), never out fragmented or whole.
    let mut r = compute01();
    seed::dual_stack(&mut r);
    let big = |len: usize| {
        Frame::new()
            .ethernet(seed::DOCKERHOST_MAC, seed::VROUTER_MAC)
            .ipv6(seed::CONTAINER_IP6, seed::EARTH_IP6)
            .udp(1, 2)
            .payload(&vec![0u8; len])
            .build()
            .unwrap()
    };
    // 40 + 8 + 1452 = 1500 bytes of IPv6: 1542 with the tunnel's headers.
    let (d, _, trace) = run(&mut r, TAP_VIF, &big(1452));
    assert_eq!(
        d,
        Disposition::ToHost {
            vif: seed::AGENT_VIF
        },
        "{trace}"
    );
    assert!(trace.steps.contains(&Step::Trap {
        reason: vrsim_dataplane::trace::TrapReason::HandleDf
    }));
    // Small enough: encapsulated and sent.
    let (d, _, trace) = run(&mut r, TAP_VIF, &big(1400));
    assert_eq!(d, Disposition::Transmit { vif: FABRIC_VIF }, "{trace}");
}
