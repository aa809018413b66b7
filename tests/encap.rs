//! The encapsulation priority (`[contrail] encapsulation_priorities`) and a
//! gateway's supported encapsulations (`[[gateway]] encapsulations`) choose
//! the tunnels, as Contrail's `TunnelType::ComputeType` does: every
//! ordering of MPLSoGRE, MPLSoUDP and VXLAN on scenario B, pod to pod
//! across compute nodes and from the test PC through the gateway, with a
//! GRE-only gateway and one that supports MPLSoUDP too. Goldens in
//! `tests/golden/encap/` (`VRSIM_BLESS=1 cargo test --test encap`).

// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use vrsim::dataplane::nexthop::TunnelEncap::{self, MplsOverGre, MplsOverUdp, Vxlan};
use vrsim::fabric::packet::Probe;
use vrsim::fabric::trace::{FabricTrace, HopStep};
use vrsim::fabric::{Fabric, RoundTrip};
use vrsim_testkit::golden::assert_golden;

/// Scenario B with an encapsulation priority and the gateway's encapsulations.
fn k8s(priority: &[TunnelEncap], gateway: &[TunnelEncap]) -> Fabric {
    let names = |l: &[TunnelEncap]| {
        let n: Vec<String> = l.iter().map(|e| format!("{:?}", e.name())).collect();
        n.join(", ")
    };
    let text = vrsim::scenarios::builtin("k8s-rr").unwrap();
    let text = text
        .replacen(
            "[contrail]\nasn = 64512\n",
            &format!(
                "[contrail]\nasn = 64512\nencapsulation_priorities = [{}]\n",
                names(priority)
            ),
            1,
        )
        .replacen(
            "fabric_mac = \"00:00:5e:00:53:01\"\n",
            &format!(
                "fabric_mac = \"00:00:5e:00:53:01\"\nencapsulations = [{}]\n",
                names(gateway)
            ),
            1,
        );
    vrsim::fabric::topology::load("k8s-encap.toml", &text).unwrap()
}

/// The encapsulations pushed along a trace, by device.
fn pushed(t: &FabricTrace) -> Vec<(String, TunnelEncap)> {
    let mut out = Vec::new();
    for h in &t.hops {
        for s in &h.steps {
            match s {
                HopStep::Push { encap, .. } => out.push((h.device.clone(), *encap)),
                HopStep::VRouter(vrsim::dataplane::trace::Step::Push { encap, .. }) => {
                    out.push((h.device.clone(), *encap))
                }
                _ => {}
            }
        }
    }
    out
}

fn delivered_both_ways(t: &RoundTrip) {
    assert!(t.forward.delivered(), "{}", t.forward);
    assert!(
        t.reply.as_ref().is_some_and(FabricTrace::delivered),
        "{t:?}"
    );
}

#[test]
fn every_ordering_chooses_the_tunnels() {
    let orders = [
        [MplsOverGre, MplsOverUdp, Vxlan],
        [MplsOverGre, Vxlan, MplsOverUdp],
        [MplsOverUdp, MplsOverGre, Vxlan],
        [MplsOverUdp, Vxlan, MplsOverGre],
        [Vxlan, MplsOverGre, MplsOverUdp],
        [Vxlan, MplsOverUdp, MplsOverGre],
    ];
    let pod_b = "10.233.64.5".parse().unwrap();
    for order in orders {
        // Layer 3 between compute nodes never takes VXLAN: the first MPLS
        // encapsulation of the list.
        let mpls = *order.iter().find(|e| **e != Vxlan).unwrap();
        for gateway in [&[MplsOverGre][..], &[MplsOverGre, MplsOverUdp]] {
            let mut f = k8s(&order, gateway);
            // node01 sends to node02's address, on its subnet: bridged,
            // so the first of the list, whichever it is.
            let t = f.probe("pod-a", pod_b, Probe::Icmp).unwrap();
            delivered_both_ways(&t);
            assert_eq!(
                pushed(&t.forward),
                [("compute02".to_owned(), order[0])],
                "{order:?}"
            );
            // rtr01 routes through the vRouter (its default route): layer 3.
            let t = f.probe("rtr01", pod_b, Probe::Icmp).unwrap();
            delivered_both_ways(&t);
            assert_eq!(
                pushed(&t.forward),
                [("compute01".to_owned(), mpls)],
                "{order:?}"
            );
            // Through the gateway: what both support, both ways.
            let via_gateway = if gateway.contains(&mpls) {
                mpls
            } else {
                MplsOverGre
            };
            let t = f.probe("earth", pod_b, Probe::Icmp).unwrap();
            delivered_both_ways(&t);
            assert_eq!(pushed(&t.forward), [("gw-01".to_owned(), via_gateway)]);
            let reply = t.reply.as_ref().unwrap();
            assert_eq!(pushed(reply), [("compute03".to_owned(), via_gateway)]);
        }
    }
}

/// VM to VM across compute nodes with each encapsulation first in the
/// list: routed (rtr01 to pod-b, through its default route; layer 3 never
/// takes VXLAN) and bridged (pod-a to pod-b, node01 sending to node02 on
/// their subnet), with the rule in the full trace.
#[test]
fn vm_to_vm_across_compute_nodes_for_each_encapsulation() {
    let pod_b = "10.233.64.5".parse().unwrap();
    for first in [MplsOverGre, MplsOverUdp, Vxlan] {
        let mut order = vec![first];
        order.extend(
            [MplsOverGre, MplsOverUdp, Vxlan]
                .into_iter()
                .filter(|e| *e != first),
        );
        let mut f = k8s(&order, &[MplsOverGre]);
        let mut text = String::new();
        for from in ["rtr01", "pod-a"] {
            let t = f.probe(from, pod_b, Probe::Icmp).unwrap();
            delivered_both_ways(&t);
            text.push_str(&t.forward.minimal());
            text.push_str("\nreply:\n");
            text.push_str(&t.reply.as_ref().unwrap().minimal());
            text.push('\n');
            let full = t.forward.to_string();
            let rule = full
                .lines()
                .find(|l| l.trim().starts_with("encap "))
                .unwrap();
            text.push_str(rule.trim());
            text.push_str("\n\n");
        }
        assert_golden(
            &format!("encap/vm-to-vm-{}.txt", first.name().to_lowercase()),
            &text,
        );
    }
    // A gateway offered only MPLSoGRE, against a list without it: the
    // fixed order decides.
    let mut f = k8s(&[MplsOverUdp], &[MplsOverGre]);
    let t = f.probe("earth", pod_b, Probe::Icmp).unwrap();
    delivered_both_ways(&t);
    assert!(
        t.forward
            .to_string()
            .contains("so the first it offers (MPLSoGRE)"),
        "{}",
        t.forward
    );
}

#[test]
fn bad_encapsulation_lists_are_refused_where_they_are() {
    let text = vrsim::scenarios::builtin("k8s-rr").unwrap();
    let bad = text.replacen(
        "[contrail]\nasn = 64512\n",
        "[contrail]\nasn = 64512\nencapsulation_priorities = [\"MPLSoGRE\", \"GRE\"]\n",
        1,
    );
    let e = vrsim::fabric::topology::load("bad.toml", &bad).unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad.toml:22:28: the encapsulation priority: \"GRE\" is not one of MPLSoGRE, MPLSoUDP, VXLAN"
    );
    let twice = text.replacen(
        "[contrail]\nasn = 64512\n",
        "[contrail]\nasn = 64512\nencapsulation_priorities = [\"VXLAN\", \"VXLAN\"]\n",
        1,
    );
    let e = vrsim::fabric::topology::load("bad.toml", &twice).unwrap_err();
    assert!(e.to_string().ends_with("VXLAN is given twice"), "{e}");
    let vxlan_gateway = text.replacen(
        "fabric_mac = \"00:00:5e:00:53:01\"\n",
        "fabric_mac = \"00:00:5e:00:53:01\"\nencapsulations = [\"VXLAN\"]\n",
        1,
    );
    let e = vrsim::fabric::topology::load("bad.toml", &vxlan_gateway).unwrap_err();
    assert!(
        e.to_string()
            .contains("a gateway's encapsulations: \"VXLAN\" is not one of MPLSoGRE, MPLSoUDP"),
        "{e}"
    );
}

/// A network that routes only (`forwarding_mode = "l3"`): no remote VM in
/// the bridge tables, ARP answered with the vRouter's MAC, so pod to pod
/// across compute nodes is routed (with node02's layer-3 label), and VXLAN
/// first in the list changes nothing, since layer 3 never takes it. `l2`
/// (bridged only) is refused: it needs flooding.
#[test]
fn a_network_that_routes_only_never_bridges() {
    let text = vrsim::scenarios::builtin("k8s-rr")
        .unwrap()
        .replacen(
            "[contrail]\nasn = 64512\n",
            "[contrail]\nasn = 64512\nencapsulation_priorities = [\"VXLAN\", \"MPLSoGRE\", \"MPLSoUDP\"]\n",
            1,
        );
    let l3 = text.replacen(
        "allow_transit = true\n",
        "allow_transit = true\nforwarding_mode = \"l3\"\n",
        1,
    );
    let mut f = vrsim::fabric::topology::load("l3.toml", &l3).unwrap();
    let t = f
        .probe("pod-a", "10.233.64.5".parse().unwrap(), Probe::Icmp)
        .unwrap();
    delivered_both_ways(&t);
    assert_eq!(pushed(&t.forward), [("compute02".to_owned(), MplsOverGre)]);
    let full = t.forward.to_string();
    assert!(
        full.contains("arp 172.16.20.22 is-at 00:00:5e:00:01:00"),
        "{full}"
    );
    let label = f.control().node_ids("compute03").unwrap().ports["node02"].label;
    assert!(
        full.contains(&format!("push MPLSoGRE label {label} ")),
        "{full}"
    );
    let r = f.control().vrouter("compute02").unwrap();
    let node02 = vrsim::wire::MacAddr::new(0x02, 0x52, 0x54, 0x00, 0x14, 0x16);
    assert!(r.vrf(2u16.into()).unwrap().bridge.get(&node02).is_none());

    for (mode, message) in [
        ("l2", "forwarding mode l2 (bridged only) needs flooding"),
        ("l2-l3", "forwarding mode \"l2-l3\" is not one of l2_l3, l3"),
    ] {
        let bad = text.replacen(
            "allow_transit = true\n",
            &format!("allow_transit = true\nforwarding_mode = \"{mode}\"\n"),
            1,
        );
        let e = vrsim::fabric::topology::load("bad.toml", &bad).unwrap_err();
        assert!(e.to_string().contains(message), "{e}");
    }
}
