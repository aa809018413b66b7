//! A generated fabric of 100 compute nodes and 1,000 VMs, every VM a BGPaaS
//! peer with its own /26 (`vrsim generate --computes 100`), loads and
//! traces: the scale the control plane must keep (issue 22). Timings are
//! benchmarks' business, not this test's.

use vrsim::fabric::packet::Probe;
use vrsim::fabric::topology::{self, generate};

/// A generated fabric with every VM a BGPaaS peer, loaded.
fn generated(
    name: &str,
    computes: u32,
    vms_per_compute: u32,
    networks: u32,
) -> vrsim::fabric::Fabric {
    let spec = generate::ScaleSpec {
        computes,
        vms_per_compute,
        networks,
        bgpaas: true,
    };
    let text = generate::generate(name, &spec).expect("a valid spec");
    topology::load(&format!("{name}.toml"), &text).expect("it loads")
}

#[test]
fn a_generated_100_node_fabric_loads_and_traces() {
    let mut fabric = generated("scale-100", 100, 10, 2);
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

/// The controller's index answers every name and address lookup as the
/// configuration's own scans do, on a generated fabric with two networks.
#[test]
fn the_config_index_answers_as_the_configuration_does() {
    use std::net::IpAddr;
    use vrsim::control::index::ConfigIndex;
    let spec = generate::ScaleSpec {
        computes: 4,
        vms_per_compute: 3,
        networks: 2,
        bgpaas: true,
    };
    let text = generate::generate("index", &spec).expect("a valid spec");
    let fabric = topology::load("index.toml", &text).expect("it loads");
    let config = fabric.control().config();
    let index = ConfigIndex::new(config);
    for p in &config.ports {
        assert_eq!(index.port(config, &p.name), config.port(&p.name));
        let v4 = Some(IpAddr::V4(p.ip));
        assert_eq!(index.port_by_addr(config, &p.network, v4, None), Some(p));
        let mapped = Some(IpAddr::V6(p.ip.to_ipv6_mapped()));
        assert_eq!(index.port_by_addr(config, &p.network, None, mapped), None);
        let scanned: Vec<_> = config
            .ports
            .iter()
            .filter(|q| q.network == p.network)
            .collect();
        let indexed: Vec<_> = index.network_ports(config, &p.network).collect();
        assert_eq!(indexed, scanned);
        let other = config.networks.iter().find(|n| n.name != p.network);
        let other = other.expect("two networks");
        assert_eq!(index.port_by_addr(config, &other.name, v4, None), None);
    }
    for c in &config.computes {
        assert_eq!(index.compute(config, &c.name), Some(c));
    }
    for b in &config.bgpaas {
        assert_eq!(index.bgpaas(config, &b.name), Some(b));
    }
    // An index built from the configuration alone (no labels yet) still
    // gives the agent what the controller's gives, on a fabric without
    // sessions: remote ports' labels come from the ids then.
    let quiet = generate::generate(
        "index",
        &generate::ScaleSpec {
            bgpaas: false,
            ..spec
        },
    )
    .expect("a valid spec");
    let quiet = topology::load("index.toml", &quiet).expect("it loads");
    let control = quiet.control();
    let ids: std::collections::BTreeMap<_, _> = control
        .config()
        .computes
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                control.node_ids(&c.name).expect("ids").clone(),
            )
        })
        .collect();
    let selections = std::collections::BTreeMap::new();
    let bare = ConfigIndex::new(control.config());
    let inputs = vrsim::control::agent::Inputs {
        config: control.config(),
        ids: &ids,
        selections: &selections,
        ecmp: &Default::default(),
        index: &bare,
    };
    for c in &control.config().computes {
        assert_eq!(
            Some(inputs.node_state(&c.name).expect("a state")),
            control.node_state(&c.name)
        );
    }
    assert_eq!(index.port(config, "no-such-port"), None);
    assert_eq!(index.compute(config, "no-such-node"), None);
    assert_eq!(index.bgpaas(config, "no-such-bgpaas"), None);
}

/// An all-flows diff traces its flows in one copy of each fabric per worker,
/// deleting each flow's flows after it: the answers are those of each flow
/// traced alone in fresh copies, on a generated fabric and on both scenarios.
#[test]
fn an_all_flows_diff_equals_flows_traced_alone() {
    use vrsim::fabric::diff;
    let generated = generated("diff", 3, 3, 1);
    let withdrawn = |f: &vrsim::fabric::Fabric| {
        let mut after = f.clone();
        after
            .withdraw("vm1", "100.64.0.0/26".parse().expect("a prefix"))
            .expect("vm1 advertises it");
        after
    };
    let down = |vms: &'static [&'static str]| {
        move |f: &vrsim::fabric::Fabric| {
            let mut after = f.clone();
            for vm in vms {
                after.bgpaas_down(vm).expect("the VM has a session up");
            }
            after
        }
    };
    let seed = vrsim::scenarios::load("seed-bgpaas").expect("it loads");
    let k8s = vrsim::scenarios::load("k8s-rr").expect("it loads");
    let cases: Vec<(vrsim::fabric::Fabric, vrsim::fabric::Fabric)> = vec![
        (generated.clone(), withdrawn(&generated)),
        (seed.clone(), down(&["dockerhost"])(&seed)),
        // Both route reflectors: with one down, the other still reflects.
        (k8s.clone(), down(&["rtr01", "rtr02"])(&k8s)),
    ];
    for (before, after) in cases {
        let flows = diff::all_flows(&before);
        assert!(flows.len() > 10);
        let all = diff::diff(&before, &after, &flows).expect("it traces");
        let alone: Vec<_> = flows
            .iter()
            .flat_map(|f| diff::diff(&before, &after, std::slice::from_ref(f)).expect("it traces"))
            .collect();
        assert_eq!(all, alone);
        assert!(!all.is_empty(), "the withdraw changes some flows");
        assert!(before.has_no_flows() && after.has_no_flows());
    }
}

/// A route event reports its calls as a rebuild does, node by node in
/// configuration order and each node's additions, then changes, then
/// deletions: vm1's session going down deletes its /26 everywhere and moves
/// a prefix it shares with vm2 over to vm2 (a change, reported first though
/// its prefix sorts last).
#[test]
fn a_route_event_reports_its_calls_as_a_rebuild_does() {
    use vrsim::control::Event;
    use vrsim::control::bgp::PathAttrs;
    use vrsim::control::program::Op;
    let mut fabric = generated("order", 3, 1, 1);
    let session = |vm: &str| {
        let ((b, peer), _) = fabric
            .control()
            .sessions()
            .find(|((b, _), s)| b == vm && s.up)
            .unwrap_or_else(|| panic!("{vm} has a session up"));
        (b.clone(), *peer)
    };
    let shared: ipnet::IpNet = "198.51.100.0/24".parse().expect("a prefix");
    let (vm1, vm2) = (session("vm1"), session("vm2"));
    // vm2's path is the longer (equal ones would spread over a composite,
    // whose end takes the rebuild rather than the route event).
    for (bgpaas, peer, as_path) in [(vm1.0.clone(), vm1.1, 1), (vm2.0, vm2.1, 2)] {
        let port = fabric.control().config().port(&bgpaas).expect("a port");
        let attrs = PathAttrs::new(port.ip, vec![65000; as_path]);
        let event = Event::Advertise {
            bgpaas,
            peer,
            prefix: shared,
            attrs,
        };
        fabric.apply(event).expect("advertised");
    }
    let (bgpaas, peer) = vm1;
    let changes = fabric
        .apply(Event::SessionDown { bgpaas, peer })
        .expect("the session goes down");
    let calls: Vec<String> = changes.iter().map(ToString::to_string).collect();
    let computes: Vec<&str> = fabric
        .control()
        .config()
        .computes
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let mut want = Vec::new();
    for c in &computes {
        // vm2's own node reaches the shared prefix through its Encap
        // nexthop, the others through the tunnel to it: a change on all.
        want.push(format!("{c}: change route {shared} in vrf 1"));
        want.push(format!("{c}: delete route 100.64.0.0/26 in vrf 1"));
    }
    assert_eq!(calls, want);
    assert!(changes.iter().all(|c| c.op != Op::Add));
}
