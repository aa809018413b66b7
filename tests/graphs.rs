//! Pictures of the scenarios (`vrsim_fabric::graph`): the topology as DOT
//! and Mermaid, with and without a trace's path, and traces as ladders,
//! compared with golden files in `tests/golden/<scenario>/`
//! (`VRSIM_BLESS=1 cargo test --test graphs` rewrites them).

use std::net::Ipv4Addr;

use vrsim::fabric::graph;
use vrsim::fabric::packet::Probe;
use vrsim_testkit::golden::assert_golden;

#[test]
fn the_seed_topology_and_its_ping_as_pictures() {
    let mut fabric = vrsim::scenarios::load("seed-bgpaas").expect("a built-in scenario");
    assert_golden("seed-bgpaas/graph.dot", &graph::dot(&fabric, None));
    let earth = Ipv4Addr::new(192, 168, 100, 1);
    let trip = fabric
        .probe("earth", earth, Probe::Icmp)
        .expect("earth can send");
    let t = Some(&trip.forward);
    assert_golden("seed-bgpaas/graph-ping.dot", &graph::dot(&fabric, t));
    assert_golden("seed-bgpaas/graph-ping.mmd", &graph::mermaid(&fabric, t));
    let ladder = graph::ladder(&trip.forward);
    assert!(ladder.contains("GRE/MPLS 35 (ICMP)"), "{ladder}");
    assert_golden("seed-bgpaas/ladder-ping.mmd", &ladder);
    let reply = trip.reply.as_ref().expect("the container answers");
    assert_golden("seed-bgpaas/ladder-reply.mmd", &graph::ladder(reply));
}

#[test]
fn a_dropped_trace_marks_the_device_that_dropped_it() {
    let mut fabric = vrsim::scenarios::load("seed-bgpaas").expect("a built-in scenario");
    fabric
        .bgpaas_down("dockerhost")
        .expect("the VM has a session");
    let trip = fabric
        .probe("centos-ssh", Ipv4Addr::new(203, 0, 113, 10), Probe::Icmp)
        .expect("the container can send");
    let dot = graph::dot(&fabric, Some(&trip.forward));
    assert!(dot.contains("xlabel=\"dropped: Invalid Source\""), "{dot}");
    assert_golden(
        "seed-bgpaas/ladder-rpf-drop.mmd",
        &graph::ladder(&trip.forward),
    );
}

#[test]
fn the_k8s_topology_as_a_mermaid_flowchart() {
    let fabric = vrsim::scenarios::load("k8s-rr").expect("a built-in scenario");
    assert_golden("k8s-rr/graph.mmd", &graph::mermaid(&fabric, None));
}
