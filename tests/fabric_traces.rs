//! End-to-end traces of every trace the scenario plan lists, for scenarios A
//! (`seed-bgpaas`) and B (`k8s-rr`): outcomes and frames asserted here, and
//! the minimal text form compared with the golden files in
//! `tests/golden/<scenario>/` (`VRSIM_BLESS=1 cargo test --test fabric_traces`
//! rewrites them after a deliberate change; review the diff).

// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;

use vrsim::dataplane::drop::DropReason;
use vrsim::fabric::packet::Probe;
use vrsim::fabric::trace::{DropCause, FabricTrace, Outcome};
use vrsim::fabric::{Fabric, RoundTrip};
use vrsim::seed;
use vrsim_testkit::golden::assert_golden;

fn golden(scenario: &str, name: &str, text: &str) {
    assert_golden(&format!("{scenario}/{name}.txt"), text);
}

fn round_trip_text(t: &RoundTrip) -> String {
    let mut s = t.forward.minimal();
    if let Some(r) = &t.reply {
        s.push_str("\nreply:\n");
        s.push_str(&r.minimal());
    }
    s
}

fn load(name: &str) -> Fabric {
    vrsim::scenarios::load(name).unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn hop_frame<'a>(t: &'a FabricTrace, device: &str) -> &'a [u8] {
    &t.hops.iter().find(|h| h.device == device).unwrap().frame
}

fn assert_rpf_drop(t: &FabricTrace, device: &str) {
    match &t.outcome {
        Outcome::Dropped { device: d, cause } => {
            assert_eq!(
                (d.as_str(), cause.vrouter()),
                (device, Some(DropReason::InvalidSource)),
                "{t}"
            );
        }
        other => panic!("not an RPF drop: {other}\n{t}"),
    }
}

#[test]
fn a1_a2_test_pc_to_container_and_back() {
    let mut f = load("seed-bgpaas");
    let t = f
        .probe("earth", seed::CONTAINER_IP.into(), Probe::Icmp)
        .unwrap();
    assert_eq!(
        t.forward.path(),
        [
            "earth",
            "gw-01",
            "fabric",
            "compute01",
            "dockerhost",
            "centos-ssh"
        ]
    );
    assert!(t.forward.delivered(), "{}", t.forward);
    // The gateway's frame is exactly the seed's trace-1 frame (label 35).
    assert_eq!(
        hop_frame(&t.forward, "compute01"),
        seed::mx_to_compute01_gre()
    );
    let reply = t.reply.as_ref().unwrap();
    assert_eq!(
        reply.path(),
        [
            "centos-ssh",
            "dockerhost",
            "compute01",
            "fabric",
            "gw-01",
            "earth"
        ]
    );
    assert!(reply.delivered(), "{reply}");
    // What the Docker VM hands its tap is the seed's trace-2 input; compute01's
    // output is the seed's label-16 frame.
    assert_eq!(
        hop_frame(reply, "compute01"),
        seed::container_reply_from_vm()
    );
    assert_eq!(hop_frame(reply, "fabric"), seed::compute01_to_mx_gre());
    golden("seed-bgpaas", "a1-earth-to-container", &round_trip_text(&t));
}

#[test]
fn a1_a2_v6_test_pc_to_container_and_back_over_ipv6() {
    let mut f = load("seed-bgpaas");
    let t = f
        .probe("earth", seed::CONTAINER_IP6.into(), Probe::Icmp)
        .unwrap();
    let path = [
        "earth",
        "gw-01",
        "fabric",
        "compute01",
        "dockerhost",
        "centos-ssh",
    ];
    assert_eq!(t.forward.path(), path);
    assert!(t.forward.delivered(), "{}", t.forward);
    // gw-01 carries IPv6 in the same IPv4 GRE tunnel, label 35.
    assert_eq!(
        hop_frame(&t.forward, "compute01"),
        seed::mx_to_compute01_gre_v6()
    );
    let reply = t.reply.as_ref().unwrap();
    let mut back = path;
    back.reverse();
    assert_eq!(reply.path(), back);
    assert!(reply.delivered(), "{reply}");
    assert_eq!(
        hop_frame(reply, "compute01"),
        seed::container_reply_from_vm_v6()
    );
    // The container reaches its default gateway, the veth's link-local
    // address, and the Docker VM the vRouter's IPv6 gateway, by neighbour
    // discovery; the vRouter answers the second by proxy.
    let text = reply.to_string();
    assert!(
        text.contains("nd fe80::ecee:eeff:feee:eeee is-at ee:ee:ee:ee:ee:ee"),
        "{text}"
    );
    assert!(
        text.contains("nd fd00:172:16:10::1 is-at 00:00:5e:00:01:00 (compute01:vif0/37, vRouter proxy neighbour advertisement)"),
        "{text}"
    );
    golden(
        "seed-bgpaas",
        "a6-earth-to-container-v6",
        &round_trip_text(&t),
    );
}

#[test]
fn a7_v6_without_bgpaas_rpf_drops_the_reply_as_for_ipv4() {
    let mut f = load("seed-bgpaas");
    f.bgpaas_down("dockerhost").unwrap();
    let reply = f
        .probe("centos-ssh", seed::EARTH_IP6.into(), Probe::Icmp)
        .unwrap();
    assert_rpf_drop(&reply.forward, "compute01");
    let fwd = f
        .probe("earth", seed::CONTAINER_IP6.into(), Probe::Icmp)
        .unwrap();
    assert!(
        matches!(&fwd.forward.outcome, Outcome::Dropped { device, cause: DropCause::NoRoute { lookup: Some((table, _)) } } if device == "gw-01" && table == "inet6.0"),
        "{}",
        fwd.forward
    );
    let mut text = round_trip_text(&reply);
    text.push('\n');
    text.push_str(&round_trip_text(&fwd));
    golden("seed-bgpaas", "a7-bgpaas-down-v6", &text);
    // RPF off on the network: the reply passes.
    f.set_rpf("public", false).unwrap();
    let t = f
        .probe("centos-ssh", seed::EARTH_IP6.into(), Probe::Icmp)
        .unwrap();
    assert!(t.forward.delivered(), "{}", t.forward);
}

#[test]
fn a8_ipv6_withdrawn_alone_leaves_ipv4_working() {
    let mut f = load("seed-bgpaas");
    let changes = f
        .withdraw("dockerhost", seed::CALICO_BLOCK6.into())
        .unwrap();
    let text: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        ["compute01: delete route fd80:24e2:f998:72d6::/122 in vrf 1"]
    );
    let v6 = f
        .probe("centos-ssh", seed::EARTH_IP6.into(), Probe::Icmp)
        .unwrap();
    assert_rpf_drop(&v6.forward, "compute01");
    let v4 = f
        .probe("centos-ssh", seed::EARTH_IP.into(), Probe::Icmp)
        .unwrap();
    assert!(v4.forward.delivered(), "{}", v4.forward);
}

#[test]
fn a3_without_bgpaas_rpf_drops_the_reply_and_the_gateway_has_no_route() {
    let mut f = load("seed-bgpaas");
    f.bgpaas_down("dockerhost").unwrap();
    let reply = f
        .probe("centos-ssh", ip("203.0.113.10").into(), Probe::Icmp)
        .unwrap();
    assert_rpf_drop(&reply.forward, "compute01");
    let fwd = f
        .probe("earth", seed::CONTAINER_IP.into(), Probe::Icmp)
        .unwrap();
    assert!(
        matches!(&fwd.forward.outcome, Outcome::Dropped { device, cause: DropCause::NoRoute { .. } } if device == "gw-01"),
        "{}",
        fwd.forward
    );
    let mut text = round_trip_text(&reply);
    text.push('\n');
    text.push_str(&round_trip_text(&fwd));
    golden("seed-bgpaas", "a3-bgpaas-down", &text);

    // RPF off on the network: the reply passes.
    f.set_rpf("public", false).unwrap();
    let t = f
        .probe("centos-ssh", ip("203.0.113.10").into(), Probe::Icmp)
        .unwrap();
    assert!(t.forward.delivered(), "{}", t.forward);
    golden(
        "seed-bgpaas",
        "a3-bgpaas-down-rpf-off",
        &t.forward.minimal(),
    );
}

#[test]
fn a4_vxlan_known_and_unknown_vnid() {
    let mut f = load("seed-bgpaas");
    let t = f.walk("compute01", Some("vif0/0".into()), seed::vxlan_vni4_to_vm());
    assert_eq!(
        t.outcome,
        Outcome::Delivered {
            device: "dockerhost".into(),
            ip: seed::DOCKERHOST_IP.into()
        },
        "{t}"
    );
    let mut text = t.minimal();
    let mut unknown = seed::vxlan_vni4_to_vm();
    // The VNID is the 3 bytes after the VXLAN flags: 14 + 20 + 8 + 4.
    unknown[46..49].copy_from_slice(&[0, 0, 9]);
    // UDP checksum 0: "not computed", valid over IPv4 (RFC 768, RFC 7348 §5).
    unknown[40..42].copy_from_slice(&[0, 0]);
    let t = f.walk("compute01", Some("vif0/0".into()), unknown);
    assert!(
        matches!(
            &t.outcome,
            Outcome::Dropped {
                cause: DropCause::VRouter {
                    reason: DropReason::InvalidVnid,
                    ..
                },
                ..
            }
        ),
        "{t}"
    );
    text.push('\n');
    text.push_str(&t.minimal());
    golden("seed-bgpaas", "a4-vxlan", &text);
}

#[test]
fn a5_the_bgpaas_address_is_received_by_the_host() {
    let mut f = load("seed-bgpaas");
    let t = f
        .probe("dockerhost", seed::VN_GATEWAY_IP.into(), Probe::Tcp(179))
        .unwrap();
    assert_eq!(
        t.forward.outcome,
        Outcome::Delivered {
            device: "compute01".into(),
            ip: seed::VN_GATEWAY_IP.into()
        },
        "{}",
        t.forward
    );
    golden(
        "seed-bgpaas",
        "a5-bgpaas-session-to-receive",
        &t.forward.minimal(),
    );
}

#[test]
fn b_pod_to_pod_across_compute_nodes() {
    let mut f = load("k8s-rr");
    let t = f
        .probe("pod-a", ip("10.233.64.5").into(), Probe::Icmp)
        .unwrap();
    assert_eq!(
        t.forward.path(),
        [
            "pod-a",
            "node01",
            "compute02",
            "fabric",
            "compute03",
            "node02",
            "pod-b"
        ]
    );
    assert!(t.forward.delivered() && t.reply.as_ref().unwrap().delivered());
    // node01 sends to node02's address on their subnet: compute02 answers
    // its ARP with node02's MAC (stitched to node02's route) and bridges
    // the frame, pushing node02's layer-2 label (allocated on compute03).
    let label = f.control().node_ids("compute03").unwrap().ports["node02"].l2_label;
    let text = t.forward.minimal();
    assert!(text.contains("[eth:ipv4:gre:mpls:eth:ipv4:icmp]"), "{text}");
    let full = t.forward.to_string();
    assert!(
        full.contains(
            "arp 172.16.20.22 is-at 02:52:54:00:14:16 (compute02:vif0/4, vRouter proxy ARP)"
        ) && full.contains("bridge lookup vrf 2 02:52:54:00:14:16"),
        "{full}"
    );
    assert!(
        text.contains(&format!(
            "push MPLSoGRE label {label} 10.0.0.22 > 10.0.0.23"
        )),
        "{text}"
    );
    golden("k8s-rr", "b1-pod-a-to-pod-b", &round_trip_text(&t));
}

#[test]
fn b_gateway_to_pod() {
    let mut f = load("k8s-rr");
    let t = f
        .probe("earth", ip("10.233.64.5").into(), Probe::Icmp)
        .unwrap();
    assert!(
        t.forward.delivered() && t.reply.as_ref().unwrap().delivered(),
        "{}",
        t.forward
    );
    golden("k8s-rr", "b2-earth-to-pod-b", &round_trip_text(&t));
}

#[test]
fn b_one_reflector_withdrawn_still_delivers_both_drop() {
    let mut f = load("k8s-rr");
    let block = "10.233.64.0/26".parse().unwrap();
    f.withdraw("rtr01", block).unwrap();
    let t = f
        .probe("pod-a", ip("10.233.64.5").into(), Probe::Icmp)
        .unwrap();
    assert!(
        t.forward.delivered() && t.reply.as_ref().unwrap().delivered(),
        "{}",
        t.forward
    );
    golden("k8s-rr", "b3-rtr01-withdrawn", &round_trip_text(&t));

    f.withdraw("rtr02", block).unwrap();
    let reply = f
        .probe("pod-b", ip("203.0.113.10").into(), Probe::Icmp)
        .unwrap();
    assert_rpf_drop(&reply.forward, "compute03");
    let fwd = f
        .probe("earth", ip("10.233.64.5").into(), Probe::Icmp)
        .unwrap();
    assert!(!fwd.forward.delivered(), "{}", fwd.forward);
    let mut text = round_trip_text(&reply);
    text.push('\n');
    text.push_str(&round_trip_text(&fwd));
    golden("k8s-rr", "b4-both-withdrawn", &text);
}

#[test]
fn full_text_names_every_lookup() {
    let mut f = load("k8s-rr");
    let t = f
        .probe("earth", ip("10.233.64.5").into(), Probe::Icmp)
        .unwrap();
    let text = t.forward.to_string();
    for want in [
        "route lookup inet.0 10.233.64.5 -> 10.233.64.0/26 BGP from 10.0.0.11, AS path I, via gr-0/0/10.32771",
        "route 10.233.64.0/26: best of 2 paths: BGPaaS rtr01 (router id 172.16.20.11, AS path I) over rtr02: lower router id",
        "switch 00:00:5e:00:53:17 -> compute03",
        "arp 10.233.64.5 is-at",
    ] {
        assert!(text.contains(want), "{want}\n{text}");
    }
}

/// Scenario B over IPv6: the reflectors pass the Calico nodes' IPv6 blocks
/// on over the same sessions; pod to pod across two compute nodes, and the
/// gateway to a pod; one reflector's withdrawal changes nothing, both
/// withdrawals make the reply fail RPF, as for IPv4.
#[test]
fn b_v6_reflected_ipv6_blocks_carry_pod_traffic() {
    let mut f = load("k8s-rr");
    let pod_b: std::net::IpAddr = "fd10:233:0:64::5".parse().unwrap();
    let t = f.probe("pod-a", pod_b, Probe::Icmp).unwrap();
    assert_eq!(
        t.forward.path(),
        [
            "pod-a",
            "node01",
            "compute02",
            "fabric",
            "compute03",
            "node02",
            "pod-b"
        ]
    );
    assert!(
        t.reply.as_ref().is_some_and(FabricTrace::delivered),
        "{t:?}"
    );
    golden("k8s-rr", "b5-pod-a-to-pod-b-v6", &round_trip_text(&t));
    let t = f.probe("earth", pod_b, Probe::Icmp).unwrap();
    assert!(
        t.reply.as_ref().is_some_and(FabricTrace::delivered),
        "{t:?}"
    );

    let block: ipnet::IpNet = "fd10:233:0:64::/122".parse().unwrap();
    f.withdraw("rtr01", block).unwrap();
    let t = f.probe("pod-a", pod_b, Probe::Icmp).unwrap();
    assert!(t.forward.delivered(), "{}", t.forward);
    f.withdraw("rtr02", block).unwrap();
    let earth6: std::net::IpAddr = "2001:db8:113::10".parse().unwrap();
    let reply = f.probe("pod-b", earth6, Probe::Icmp).unwrap();
    assert_rpf_drop(&reply.forward, "compute03");
    // IPv4 is untouched by the IPv6 withdrawals.
    let t = f
        .probe("pod-b", ip("203.0.113.10").into(), Probe::Icmp)
        .unwrap();
    assert!(t.forward.delivered(), "{}", t.forward);
}
