//! The flow table against tf-vrouter's own test scenarios: the flows of
//! `tests/topo_base/vm_to_vm_intra_vn.py`, programmed as that test programs
//! them, land at the indices its docstring shows and `flow -l` prints them
//! in the vRouter's layout; Hold, queue limits, table full, eviction.

use vrsim_dataplane::drop::DropReason;
use vrsim_dataplane::dump;
use vrsim_dataplane::flow::{FlowAction, FlowKey, FlowRequest, FlowTable};
use vrsim_dataplane::nexthop::{NexthopConfig, NhFamily, NhFlags, NhKind};
use vrsim_dataplane::route::BridgeEntry;
use vrsim_dataplane::trace::NoTrace;
use vrsim_dataplane::vif::{VifConfig, VifFlags, VifType};
use vrsim_dataplane::{Disposition, NhId, PacketBuf, VRouter, VifId, VrfId};
use vrsim_testkit::golden::assert_golden;
use vrsim_wire::{Frame, MacAddr};

const VROUTER_MAC: MacAddr = MacAddr(0x00, 0x00, 0x5e, 0x00, 0x01, 0x00);
const VM3_MAC: MacAddr = MacAddr(0x02, 0x88, 0x67, 0x0c, 0x2e, 0x11);
const VM4_MAC: MacAddr = MacAddr(0x02, 0xe7, 0x03, 0xea, 0x67, 0xf1);

fn nh(id: u32) -> NhId {
    NhId::new(id).expect("in range")
}

fn vif(id: u16) -> VifId {
    VifId::new(id).expect("in range")
}

/// The vRouter `vm_to_vm_intra_vn.py` programs: two VMs in VRF 2, an inet
/// and a bridge Encap nexthop each (Policy), bridge routes to both MACs.
fn vm_to_vm_intra_vn() -> VRouter {
    let mut r = VRouter::new();
    let vrf = VrfId::from(2);
    for (id, name, nh_id) in [(3, "tap88670c2e-11", 23), (4, "tape703ea67-f1", 28)] {
        r.add_vif(VifConfig {
            id: vif(id),
            kind: VifType::Virtual,
            name: name.into(),
            mac: VROUTER_MAC,
            ip: None,
            vrf,
            mtu: 1514,
            mcast_vrf: None,
            qos_map: -1,
            ip6: None,
            // `VirtualVif`'s default flags: Policy and DHCP.
            flags: VifFlags::POLICY | VifFlags::DHCP,
            nh: Some(nh(nh_id)),
        })
        .expect("vif");
    }
    let encap = |oif: u16, mac: MacAddr| NhKind::Encap {
        oif: vif(oif),
        rewrite: vrsim_dataplane::nexthop::ipv4_rewrite(mac, VROUTER_MAC),
        encap_family: 0,
    };
    for (id, oif, mac, family) in [
        (23, 3, VM3_MAC, NhFamily::Inet),
        (28, 4, VM4_MAC, NhFamily::Inet),
        (27, 3, VM3_MAC, NhFamily::Bridge),
        (32, 4, VM4_MAC, NhFamily::Bridge),
    ] {
        r.add_nh(NexthopConfig {
            id: nh(id),
            kind: encap(oif, mac),
            family,
            flags: NhFlags::VALID | NhFlags::POLICY,
            vrf,
        })
        .expect("nh");
    }
    for (mac, id) in [(VM4_MAC, 32), (VM3_MAC, 27)] {
        let entry = BridgeEntry {
            nh: nh(id),
            label: None,
        };
        r.add_bridge(vrf, mac, entry).expect("bridge route");
    }
    r
}

fn icmp_key(nh_id: u32, src: [u8; 4], dst: [u8; 4]) -> FlowKey {
    FlowKey {
        proto: 1,
        sport: 1136,
        dport: 0,
        nh: nh(nh_id),
        src: src.into(),
        dst: dst.into(),
    }
}

/// `InetFlow(…)` and `sync_and_link_flow`: the forward flow added, the
/// reverse added pointing at it, the forward changed to point back.
fn add_flow_pair(r: &mut VRouter) -> (u32, u32) {
    let vrf = VrfId::from(2);
    let mut fwd = FlowRequest::forward(icmp_key(23, [1, 1, 1, 4], [1, 1, 1, 5]), vrf, nh(23));
    fwd.udp_sport = 59275;
    let f = r.set_flow(&fwd).expect("forward flow");
    let mut rev = FlowRequest::forward(icmp_key(28, [1, 1, 1, 5], [1, 1, 1, 4]), vrf, nh(28));
    rev.udp_sport = 51988;
    rev.rflow = Some(f);
    let b = r.set_flow(&rev).expect("reverse flow");
    fwd.index = Some(f);
    fwd.rflow = Some(b);
    r.set_flow(&fwd).expect("linked");
    (f, b)
}

/// The test's packet: an ICMP echo as scapy's `Ether()/IP()/ICMP()` builds it (42 bytes).
fn echo(src_mac: MacAddr, dst_mac: MacAddr, src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    Frame::new()
        .ethernet(src_mac, dst_mac)
        .ipv4(src, dst)
        .icmp_echo_request(1136, 0, &[])
        .build()
        .expect("a fixed frame builds")
}

#[test]
fn vm_to_vm_intra_vn_flows_sit_where_the_real_vrouter_put_them() {
    let mut r = vm_to_vm_intra_vn();
    assert_eq!(add_flow_pair(&mut r), (147_464, 239_712));
    let mut buf = PacketBuf::with_capacity(256);
    let there = echo(VM3_MAC, VM4_MAC, [1, 1, 1, 4], [1, 1, 1, 5]);
    let d = r.process(vif(3), &there, &mut buf, &mut NoTrace);
    assert_eq!(d, Disposition::Transmit { vif: vif(4) });
    let back = echo(VM4_MAC, VM3_MAC, [1, 1, 1, 5], [1, 1, 1, 4]);
    let d = r.process(vif(4), &back, &mut buf, &mut NoTrace);
    assert_eq!(d, Disposition::Transmit { vif: vif(3) });
    assert_golden("flows/vm-to-vm-intra-vn-flow-l.txt", &dump::flow_list(&r));
}

#[test]
fn a_miss_holds_three_packets_then_counts_the_queue_limit() {
    let mut r = vm_to_vm_intra_vn();
    let mut buf = PacketBuf::with_capacity(256);
    let there = echo(VM3_MAC, VM4_MAC, [1, 1, 1, 4], [1, 1, 1, 5]);
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(r.process(vif(3), &there, &mut buf, &mut NoTrace));
    }
    let index = r
        .flows()
        .find(&icmp_key(23, [1, 1, 1, 4], [1, 1, 1, 5]))
        .expect("a hold flow");
    assert_eq!(held[..3], [Disposition::Held { flow: index }; 3]);
    assert_eq!(
        held[3],
        Disposition::Drop(DropReason::FlowQueueLimitExceeded)
    );
    let e = r.flows().get(index).expect("the flow");
    assert_eq!((e.action, e.held.len()), (FlowAction::Hold, 3));
    // The agent decides; the three held packets go out.
    let mut req = FlowRequest::forward(e.key, VrfId::from(2), nh(23));
    req.index = Some(index);
    r.set_flow(&req).expect("decided");
    let out = r.release(index, &mut NoTrace);
    assert_eq!(out.len(), 3);
    assert!(
        out.iter()
            .all(|(d, _)| *d == Disposition::Transmit { vif: vif(4) })
    );
    assert_eq!(r.flows().get(index).map(|e| e.packets), Some(4));
}

#[test]
fn drop_new_flows_and_a_full_table_are_counted() {
    let mut r = vm_to_vm_intra_vn();
    let mut buf = PacketBuf::with_capacity(256);
    let there = |id: u8| echo(VM3_MAC, VM4_MAC, [1, 1, 1, id], [1, 1, 1, 5]);
    // A one-bucket table without overflow: four flows, then Flow Table Full.
    r.set_flow_table(FlowTable::with_overflow(4, 0));
    let got: Vec<Disposition> = (10..15)
        .map(|i| r.process(vif(3), &there(i), &mut buf, &mut NoTrace))
        .collect();
    assert!(
        got[..4]
            .iter()
            .all(|d| matches!(d, Disposition::Held { .. }))
    );
    assert_eq!(got[4], Disposition::Drop(DropReason::FlowTableFull));
    // Df on the vif: no new flows at all.
    let mut config = r.vif(vif(3)).expect("vif 3").config.clone();
    config.flags = config.flags | VifFlags::DROP_NEW_FLOWS;
    r.change_vif(config).expect("change");
    r.set_flow_table(FlowTable::default());
    let d = r.process(vif(3), &there(20), &mut buf, &mut NoTrace);
    assert_eq!(d, Disposition::Drop(DropReason::NewFlows));
}

#[test]
fn a_drop_flow_drops_and_a_deleted_flow_misses_again() {
    let mut r = vm_to_vm_intra_vn();
    let (f, _) = add_flow_pair(&mut r);
    let mut req = FlowRequest::forward(
        icmp_key(23, [1, 1, 1, 4], [1, 1, 1, 5]),
        VrfId::from(2),
        nh(23),
    );
    req.index = Some(f);
    req.action = FlowAction::Drop;
    req.drop_reason = vrsim_dataplane::flow::FlowDropReason::POLICY;
    r.set_flow(&req).expect("drop");
    let mut buf = PacketBuf::with_capacity(256);
    let there = echo(VM3_MAC, VM4_MAC, [1, 1, 1, 4], [1, 1, 1, 5]);
    let d = r.process(vif(3), &there, &mut buf, &mut NoTrace);
    assert_eq!(d, Disposition::Drop(DropReason::FlowActionDrop));
    assert!(dump::flow_list(&r).contains("Action:D(Policy)"));
    r.delete_flow(f).expect("delete");
    let d = r.process(vif(3), &there, &mut buf, &mut NoTrace);
    assert!(matches!(d, Disposition::Held { flow } if flow == f));
    // The slot was taken again: generation 2.
    assert_eq!(r.flows().get(f).map(|e| e.generation), Some(2));
}

#[test]
fn tcp_rst_evicts_the_pair() {
    let mut r = vm_to_vm_intra_vn();
    let vrf = VrfId::from(2);
    let key = |nh_id, src: [u8; 4], dst: [u8; 4], sport, dport| FlowKey {
        proto: 6,
        sport,
        dport,
        nh: nh(nh_id),
        src: src.into(),
        dst: dst.into(),
    };
    let f = r
        .set_flow(&FlowRequest::forward(
            key(23, [1, 1, 1, 4], [1, 1, 1, 5], 40000, 80),
            vrf,
            nh(23),
        ))
        .expect("forward");
    let mut rev = FlowRequest::forward(key(28, [1, 1, 1, 5], [1, 1, 1, 4], 80, 40000), vrf, nh(28));
    rev.rflow = Some(f);
    let b = r.set_flow(&rev).expect("reverse");
    let mut fwd = FlowRequest::forward(key(23, [1, 1, 1, 4], [1, 1, 1, 5], 40000, 80), vrf, nh(23));
    fwd.index = Some(f);
    fwd.rflow = Some(b);
    r.set_flow(&fwd).expect("linked");
    let rst = Frame::new()
        .ethernet(VM3_MAC, VM4_MAC)
        .ipv4([1, 1, 1, 4], [1, 1, 1, 5])
        .tcp(40000, 80, vrsim_wire::tcp::flags::RST)
        .build()
        .expect("rst");
    let mut buf = PacketBuf::with_capacity(256);
    let d = r.process(vif(3), &rst, &mut buf, &mut NoTrace);
    assert_eq!(d, Disposition::Transmit { vif: vif(4) });
    assert!(r.flows().get(f).is_none() && r.flows().get(b).is_none());
    assert_eq!(r.flows().stats().deleted, 2);
    // Evicted, not gone: `flow --get` says so until the slot is taken again.
    assert!(r.flows().evicted(f).is_some() && r.flows().evicted(b).is_some());
    assert_eq!(
        dump::flow_get(&r, f).expect("an evicted entry"),
        format!("Flow at index {f} is EVICTED. Use --show-evicted\n")
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use vrsim_dataplane::flow::FlowFlags;
    use vrsim_testkit::seed;

    /// A UDP packet from the container to `dst`, from source port `sport`.
    fn udp(sport: u16, dst: [u8; 4]) -> Vec<u8> {
        Frame::new()
            .ethernet(seed::DOCKERHOST_MAC, seed::VROUTER_MAC)
            .ipv4(seed::CONTAINER_IP, dst)
            .udp(sport, 53)
            .payload(b"q")
            .build()
            .expect("a fixed frame builds")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Packets from the container, their misses answered by the agent,
        /// into a small table that fills: never a panic, Flow Table Full
        /// once it is full, every packet out, held or dropped once, and every
        /// reverse link mutual.
        #[test]
        fn a_small_table_fills_without_panic_and_links_stay_mutual(
            packets in proptest::collection::vec((0u16..64, 0u8..3), 1..120),
        ) {
            let mut r = vrsim_testkit::compute01();
            r.set_flow_table(FlowTable::with_overflow(16, 8));
            let dsts = [[203, 0, 113, 10], [10, 0, 0, 1], [192, 168, 100, 1]];
            let mut full = 0u64;
            for (sport, d) in &packets {
                let frame = udp(1000 + sport, dsts[usize::from(*d)]);
                let (d, _) = vrsim_testkit::process_with_agent(&mut r, seed::TAP_VIF, &frame, &mut NoTrace);
                full += u64::from(d == Disposition::Drop(DropReason::FlowTableFull));
            }
            prop_assert_eq!(r.drops().get(DropReason::FlowTableFull), full);
            prop_assert!(r.flows().len() <= 24);
            let tx: u64 = r.vifs().map(|v| v.stats.tx_packets).sum();
            let held: u64 = r.flows().iter().map(|(_, f)| f.held.len() as u64).sum();
            prop_assert_eq!(tx + r.drops().total() + held, packets.len() as u64);
            for (i, f) in r.flows().iter() {
                if let Some(rf) = f.rflow.filter(|_| f.flags.contains(FlowFlags::RFLOW_VALID)) {
                    let back = r.flows().get(rf).and_then(|e| e.rflow);
                    prop_assert_eq!(back, Some(i), "flow {} -> {} does not link back", i, rf);
                }
            }
        }
    }
}

/// A destination NAT pair, as the agent programs one for a virtual address:
/// VM3 (1.1.1.4) talks to 1.1.1.100, which is VM4 (1.1.1.5). The forward
/// flow rewrites the destination from the reverse flow's key; the reverse
/// flow rewrites VM4's source back to 1.1.1.100.
fn add_nat_pair(r: &mut VRouter) -> (u32, u32) {
    use vrsim_dataplane::flow::FlowFlags;
    let vrf = VrfId::from(2);
    let mut fwd = FlowRequest::forward(icmp_key(23, [1, 1, 1, 4], [1, 1, 1, 100]), vrf, nh(23));
    fwd.action = FlowAction::Nat;
    fwd.flags = FlowFlags::DNAT;
    let f = r.set_flow(&fwd).expect("forward flow");
    let mut rev = FlowRequest::forward(icmp_key(28, [1, 1, 1, 5], [1, 1, 1, 4]), vrf, nh(28));
    rev.action = FlowAction::Nat;
    rev.flags = FlowFlags::SNAT;
    rev.rflow = Some(f);
    let b = r.set_flow(&rev).expect("reverse flow");
    fwd.index = Some(f);
    fwd.rflow = Some(b);
    r.set_flow(&fwd).expect("linked");
    (f, b)
}

#[test]
fn a_nat_pair_rewrites_both_ways_with_checksums_right() {
    use vrsim_wire::ipv4::Ipv4View;
    let mut r = vm_to_vm_intra_vn();
    let (f, b) = add_nat_pair(&mut r);
    let mut buf = PacketBuf::with_capacity(256);
    let there = echo(VM3_MAC, VM4_MAC, [1, 1, 1, 4], [1, 1, 1, 100]);
    let mut trace = vrsim_dataplane::trace::Trace::default();
    let d = r.process(vif(3), &there, &mut buf, &mut trace);
    assert_eq!(d, Disposition::Transmit { vif: vif(4) });
    let ip = Ipv4View::new_checked(&buf.frame()[14..]).expect("ip");
    assert_eq!(
        (ip.src(), ip.dst()),
        ([1, 1, 1, 4].into(), [1, 1, 1, 5].into())
    );
    assert!(ip.verify_checksum());
    assert!(
        trace
            .steps
            .iter()
            .any(|s| s.to_string() == format!("nat flow {f}: now 1.1.1.4:0 > 1.1.1.5:0")),
        "{:?}",
        trace.steps
    );
    let back = echo(VM4_MAC, VM3_MAC, [1, 1, 1, 5], [1, 1, 1, 4]);
    let d = r.process(vif(4), &back, &mut buf, &mut NoTrace);
    assert_eq!(d, Disposition::Transmit { vif: vif(3) });
    let ip = Ipv4View::new_checked(&buf.frame()[14..]).expect("ip");
    assert_eq!(
        (ip.src(), ip.dst()),
        ([1, 1, 1, 100].into(), [1, 1, 1, 4].into())
    );
    assert!(ip.verify_checksum());
    assert_golden("flows/nat-pair-flow-l.txt", &dump::flow_list(&r));
    assert_golden(
        "flows/nat-forward-flow-get.txt",
        &dump::flow_get(&r, f).expect("active"),
    );
    assert_golden(
        "flows/nat-reverse-flow-get.txt",
        &dump::flow_get(&r, b).expect("active"),
    );
}

#[test]
fn a_nat_flow_without_its_reverse_flow_is_a_nat_no_rflow_drop() {
    use vrsim_dataplane::flow::FlowFlags;
    let mut r = vm_to_vm_intra_vn();
    let mut req = FlowRequest::forward(
        icmp_key(23, [1, 1, 1, 4], [1, 1, 1, 100]),
        VrfId::from(2),
        nh(23),
    );
    req.action = FlowAction::Nat;
    req.flags = FlowFlags::DNAT;
    r.set_flow(&req)
        .expect("a NAT flow alone is accepted, as vr_flow_set does");
    let mut buf = PacketBuf::with_capacity(256);
    let there = echo(VM3_MAC, VM4_MAC, [1, 1, 1, 4], [1, 1, 1, 100]);
    let d = r.process(vif(3), &there, &mut buf, &mut NoTrace);
    assert_eq!(d, Disposition::Drop(DropReason::FlowNatNoRflow));
}

#[test]
fn flow_get_prints_one_flow_in_the_vrouter_layout() {
    let mut r = vm_to_vm_intra_vn();
    let (f, _) = add_flow_pair(&mut r);
    let mut buf = PacketBuf::with_capacity(256);
    let there = echo(VM3_MAC, VM4_MAC, [1, 1, 1, 4], [1, 1, 1, 5]);
    r.process(vif(3), &there, &mut buf, &mut NoTrace);
    assert_golden(
        "flows/vm-to-vm-intra-vn-flow-get.txt",
        &dump::flow_get(&r, f).expect("active"),
    );
    assert!(matches!(
        dump::flow_get(&r, 7),
        Err(vrsim_dataplane::DataplaneError::NoSuchFlow { index: 7 })
    ));
}

/// An ICMP error quotes the header and 8 bytes of a datagram that was
/// longer (RFC 792): its key is still the quoted header reversed, with the
/// quoted UDP ports swapped.
#[test]
fn an_icmp_error_quoting_part_of_a_long_datagram_is_keyed_on_it() {
    use vrsim_wire::ipv4::Ipv4View;
    let mut r = vm_to_vm_intra_vn();
    // The datagram quoted: IPv4 1.1.1.5 > 1.1.1.4, UDP 5000 > 53, 1500 bytes long.
    let long = Frame::new()
        .ipv4([1, 1, 1, 5], [1, 1, 1, 4])
        .udp(5000, 53)
        .payload(&[0u8; 1472])
        .build()
        .expect("builds");
    assert_eq!(
        Ipv4View::new_checked(&long).expect("whole").total_len(),
        1500
    );
    let error = Frame::new()
        .ethernet(VM3_MAC, VM4_MAC)
        .ipv4([1, 1, 1, 4], [1, 1, 1, 5])
        .icmp(vrsim_wire::icmpv4::Icmpv4Message::DestinationUnreachable {
            code: 3,
            next_hop_mtu: 0,
        })
        .payload(&long[..28])
        .build()
        .expect("builds");
    let mut buf = PacketBuf::with_capacity(256);
    let d = r.process(vif(3), &error, &mut buf, &mut NoTrace);
    assert!(matches!(d, Disposition::Held { .. }), "{d:?}");
    let key = FlowKey {
        proto: 17,
        sport: 53,
        dport: 5000,
        nh: nh(23),
        src: [1, 1, 1, 4].into(),
        dst: [1, 1, 1, 5].into(),
    };
    assert!(r.flows().find(&key).is_some());
}

/// An IPv6 pair (VM3 fd00::4 to VM4 fd00::5, TCP 33000 > 22): the 44-byte
/// keys land at the indices the vRouter's hash of `struct vr_inet6_flow`
/// gives, and `flow -l` prints them with the wider IPv6 layout.
#[test]
fn an_ipv6_flow_pair_in_flow_l() {
    let mut r = vm_to_vm_intra_vn();
    let vrf = VrfId::from(2);
    let key = FlowKey {
        proto: 6,
        sport: 33000,
        dport: 22,
        nh: nh(23),
        src: "fd00::4".parse().expect("v6"),
        dst: "fd00::5".parse().expect("v6"),
    };
    let f = r
        .set_flow(&FlowRequest::forward(key, vrf, nh(23)))
        .expect("forward flow");
    assert_eq!(f, r.flows().bucket_of(&key) + (f % 4), "in its bucket");
    let mut rev = FlowRequest::forward(key.reversed(nh(28)), vrf, nh(28));
    rev.rflow = Some(f);
    let b = r.set_flow(&rev).expect("reverse flow");
    let mut fwd = FlowRequest::forward(key, vrf, nh(23));
    fwd.index = Some(f);
    fwd.rflow = Some(b);
    r.set_flow(&fwd).expect("linked");
    assert_golden("flows/ipv6-pair-flow-l.txt", &dump::flow_list(&r));
}
