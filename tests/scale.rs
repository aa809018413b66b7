//! A generated fabric of 100 compute nodes and 1,000 VMs, every VM a BGPaaS
//! peer with its own /26 (`vrsim generate --computes 100`), loads and
//! traces: the scale the control plane must keep (issue 22). Timings are
//! benchmarks' business, not this test's.

use vrsim::fabric::packet::Probe;
use vrsim::fabric::topology::{self, generate};

#[test]
fn a_generated_100_node_fabric_loads_and_traces() {
    let spec = generate::ScaleSpec {
        computes: 100,
        vms_per_compute: 10,
        networks: 2,
        bgpaas: true,
    };
    let text = generate::generate("scale-100", &spec).expect("a valid spec");
    let mut fabric = topology::load("scale-100.toml", &text).expect("it loads");
    let config = fabric.control().config();
    assert_eq!((config.computes.len(), config.ports.len()), (100, 1000));
    // The gateway learned every VM's /32 and every /26 (transit is allowed).
    let learned = fabric.gateway("gw-01").expect("gw-01").learned.len();
    assert_eq!(learned, 2000);
    // earth reaches the container behind the first VM and back, and the
    // last VM's /26 (the 1,000th: 100.64.249.192/26) is routed to the last
    // compute node.
    let trip = fabric
        .probe(
            "earth",
            "100.64.0.1".parse().expect("an address"),
            Probe::Icmp,
        )
        .expect("earth sends");
    assert!(trip.forward.delivered(), "{}", trip.forward);
    assert!(trip.reply.is_some_and(|r| r.delivered()));
    let last = fabric
        .probe(
            "earth",
            "100.64.249.193".parse().expect("an address"),
            Probe::Icmp,
        )
        .expect("earth sends");
    assert!(
        last.forward.path().contains(&"compute100"),
        "{}",
        last.forward
    );
}
