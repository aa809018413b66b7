//! Control-plane invariants, on both seed scenarios:
//! - incremental programming equals a fresh build: after any sequence of
//!   BGPaaS session changes, advertisements, withdrawals, RPF changes and VM
//!   ports added and removed (a removed one may come back), every
//!   vRouter holds what a controller built from scratch for the final
//!   configuration and sessions holds (state, nexthop reference counts, dumps);
//! - a refused event changes nothing;
//! - route-reflector convergence: the same advertisements from RTR01 and RTR02
//!   in any order end in the same best paths and the same programmed state;
//! - incremental agent decisions equal fresh ones: with probes sent between
//!   the events (so flows are decided, and evicted when what the agent
//!   programmed changes), every flow left in a vRouter is the flow the agent
//!   would install for its key in a fabric that saw the same events and no
//!   traffic, and the probes end the same way in both.

// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use vrsim::control::bgp::{Origin, PathAttrs};
use vrsim::control::config::PortConfig;
use vrsim::control::program::{self, Change, Object};
use vrsim::control::{Controller, Event};
use vrsim::dataplane::dump::{self, Layout};

/// Each scenario's BGPaaS sessions, the VM addresses usable as next hops, and
/// a few prefixes (overlapping ones included).
struct Scenario {
    name: &'static str,
    sessions: Vec<(&'static str, Ipv4Addr)>,
    next_hops: Vec<IpAddr>,
    prefixes: Vec<IpNet>,
    network: &'static str,
}

fn scenarios() -> [Scenario; 3] {
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let nh = |s: &str| s.parse::<IpAddr>().unwrap();
    let net = |s: &str| s.parse::<IpNet>().unwrap();
    [
        Scenario {
            name: "seed-bgpaas",
            sessions: vec![("dockerhost", ip("172.16.10.1"))],
            // IPv6 next hops: the VM's own, its IPv4 address mapped, and
            // one no port has.
            next_hops: vec![
                nh("172.16.10.3"),
                nh("172.16.10.9"),
                nh("fd00:172:16:10::3"),
                nh("::ffff:172.16.10.3"),
                nh("fd00:172:16:10::9"),
            ],
            prefixes: vec![
                net("192.168.100.0/26"),
                net("192.168.100.0/24"),
                net("192.168.100.1/32"),
                net("10.99.0.0/16"),
                net("fd80:24e2:f998:72d6::/122"),
                net("fd80:24e2:f998:72d6::/64"),
                net("2001:db8:99::/48"),
                // Where the node has a route of its own, which wins: the
                // Docker VM's port, the gateway address, the default routes.
                net("172.16.10.3/32"),
                net("172.16.10.1/32"),
                net("0.0.0.0/0"),
                net("::/0"),
            ],
            network: "public",
        },
        Scenario {
            name: "k8s-rr",
            sessions: vec![("rtr01", ip("172.16.20.1")), ("rtr02", ip("172.16.20.2"))],
            next_hops: vec![
                nh("172.16.20.21"),
                nh("172.16.20.22"),
                nh("172.16.20.20"),
                nh("172.16.20.99"),
                nh("fd00:172:16:20::21"),
                nh("fd00:172:16:20::22"),
            ],
            prefixes: vec![
                net("10.233.64.0/26"),
                net("10.233.65.0/26"),
                net("10.233.64.0/18"),
                net("10.233.64.5/32"),
                net("fd10:233:0:64::/122"),
                net("fd10:233:0:65::/122"),
                net("fd10:233::/48"),
                net("172.16.20.21/32"),
                net("0.0.0.0/0"),
            ],
            network: "k8s",
        },
        // Two VNFs giving one block with equal attributes: a composite on
        // every node from the start, which the events grow, shrink and end.
        Scenario {
            name: "bgpaas-ha",
            sessions: vec![("vnf-a", ip("172.16.30.1")), ("vnf-b", ip("172.16.30.1"))],
            next_hops: vec![
                nh("172.16.30.11"),
                nh("172.16.30.12"),
                nh("172.16.30.20"),
                nh("172.16.30.99"),
            ],
            prefixes: vec![
                net("192.0.2.0/28"),
                net("192.0.2.0/24"),
                net("198.51.100.0/24"),
                net("172.16.30.11/32"),
                net("0.0.0.0/0"),
            ],
            network: "services",
        },
    ]
}

/// An event drawn by index into a scenario's sessions, next hops and prefixes.
#[derive(Debug, Clone)]
enum Op {
    Up(usize),
    Down(usize),
    Advertise {
        session: usize,
        prefix: usize,
        next_hop: usize,
        local_pref: u32,
        as_path: u8,
        origin: u8,
        med: u32,
    },
    Withdraw {
        session: usize,
        prefix: usize,
    },
    Rpf(bool),
    AddPort(usize),
    RemovePort(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => any::<usize>().prop_map(Op::Up),
        1 => any::<usize>().prop_map(Op::Down),
        4 => (any::<usize>(), any::<usize>(), any::<usize>(), prop_oneof![Just(100u32), Just(200)], 0u8..3, 0u8..3, 0u32..3)
            .prop_map(|(session, prefix, next_hop, local_pref, as_path, origin, med)| Op::Advertise {
                session, prefix, next_hop, local_pref, as_path, origin, med,
            }),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(session, prefix)| Op::Withdraw { session, prefix }),
        1 => any::<bool>().prop_map(Op::Rpf),
        1 => any::<usize>().prop_map(Op::AddPort),
        1 => any::<usize>().prop_map(Op::RemovePort),
    ]
}

/// The VM ports the port events draw from: the scenario's own (so a removed
/// one can come back) and two more on the scenario's network.
fn port_pool(s: &Scenario) -> Vec<PortConfig> {
    let config = control(s.name).config().clone();
    let mut pool = config.ports.clone();
    let network = config.network(s.network).unwrap();
    let base = u32::from(network.subnet.network());
    let base6 = network.subnet6.map(|s6| u128::from(s6.subnet.network()));
    for (i, compute) in config.computes.iter().take(2).enumerate() {
        let i = i as u8;
        let mac = vrsim::wire::MacAddr(0x02, 0xee, 0, 0, 0, i);
        pool.push(PortConfig {
            name: format!("extra{i}"),
            network: s.network.to_owned(),
            compute: compute.name.clone(),
            ip: Ipv4Addr::from(base + 50 + u32::from(i)),
            ip6: base6.map(|b| (b + 50 + u128::from(i)).into()),
            mac,
            tap: PortConfig::default_tap(mac),
            mtu: 1500,
            pins: Default::default(),
        });
    }
    pool
}

fn event(s: &Scenario, pool: &[PortConfig], op: &Op) -> Event {
    let session = |i: usize| {
        let (b, p) = s.sessions[i % s.sessions.len()];
        (b.to_owned(), p)
    };
    match *op {
        Op::Up(i) => {
            let (bgpaas, peer) = session(i);
            Event::SessionUp { bgpaas, peer }
        }
        Op::Down(i) => {
            let (bgpaas, peer) = session(i);
            Event::SessionDown { bgpaas, peer }
        }
        Op::Advertise {
            session: i,
            prefix,
            next_hop,
            local_pref,
            as_path,
            origin,
            med,
        } => {
            let (bgpaas, peer) = session(i);
            let mut attrs = PathAttrs::new(
                s.next_hops[next_hop % s.next_hops.len()],
                vec![65000; usize::from(as_path)],
            );
            attrs.local_pref = local_pref;
            attrs.origin = [Origin::Igp, Origin::Egp, Origin::Incomplete][usize::from(origin)];
            attrs.med = med;
            Event::Advertise {
                bgpaas,
                peer,
                prefix: s.prefixes[prefix % s.prefixes.len()],
                attrs,
            }
        }
        Op::Withdraw { session: i, prefix } => {
            let (bgpaas, peer) = session(i);
            Event::Withdraw {
                bgpaas,
                peer,
                prefix: s.prefixes[prefix % s.prefixes.len()],
            }
        }
        Op::Rpf(on) => Event::SetRpf {
            network: s.network.to_owned(),
            on,
        },
        Op::AddPort(i) => Event::AddPort(pool[i % pool.len()].clone()),
        Op::RemovePort(i) => Event::RemovePort {
            name: pool[i % pool.len()].name.clone(),
        },
    }
}

/// Everything a controller programmed, as comparable text.
fn programmed(c: &Controller) -> String {
    let mut out = String::new();
    for compute in &c.config().computes {
        let r = c.vrouter(&compute.name).unwrap();
        out.push_str(&format!(
            "== {}\n{:?}\n",
            compute.name,
            c.node_state(&compute.name).unwrap()
        ));
        out.push_str(&dump::nh_list(r));
        out.push_str(&dump::mpls_dump(r));
        out.push_str(&dump::vxlan_dump(r));
        for vrf in 0..4u16 {
            if let Ok(t) = dump::rt_dump(r, vrf.into(), Layout::Legacy) {
                out.push_str(&t);
            }
            if let Ok(t) = dump::rt_dump6(r, vrf.into(), Layout::Legacy) {
                out.push_str(&t);
            }
        }
    }
    out
}

/// A controller built from scratch for `c`'s configuration and sessions, in
/// one batch: the rebuild path, which computes every node's state anew, where
/// `apply` takes one route event at a time in place.
fn fresh(c: &Controller) -> Controller {
    let mut f = Controller::new(c.config().clone()).unwrap();
    let mut events = Vec::new();
    for ((bgpaas, peer), s) in c.sessions() {
        if !s.up {
            continue;
        }
        events.push(Event::SessionUp {
            bgpaas: bgpaas.clone(),
            peer: *peer,
        });
        for (prefix, attrs) in &s.routes {
            events.push(Event::Advertise {
                bgpaas: bgpaas.clone(),
                peer: *peer,
                prefix: *prefix,
                attrs: attrs.clone(),
            });
        }
    }
    let once = Controller::with_events(c.config().clone(), events.clone()).unwrap();
    f.apply_all(events.clone()).unwrap();
    // Loading a scenario programs the sessions with the configuration, once.
    assert_eq!(programmed(&once), programmed(&f));
    // The ECMP slots are control-node state that depends on history (a
    // member that went leaves its slot empty): the fresh controller starts
    // from `c`'s, as it starts from its sessions.
    Controller::with_events_and_slots(c.config().clone(), events, c.ecmp_slots().clone()).unwrap()
}

fn control(name: &str) -> Controller {
    vrsim::scenarios::load(name).unwrap().control().clone()
}

/// The probes the flow property sends: host and destination, both ways
/// through a compute node.
fn probes(s: &Scenario) -> Vec<(&'static str, IpAddr)> {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    match s.name {
        "seed-bgpaas" => vec![
            ("earth", ip("192.168.100.1")),
            ("centos-ssh", ip("203.0.113.10")),
            ("earth", ip("172.16.10.3")),
            ("earth", ip("fd80:24e2:f998:72d6::1")),
            ("centos-ssh", ip("2001:db8:113::10")),
        ],
        "bgpaas-ha" => vec![
            ("earth", ip("192.0.2.10")),
            ("client", ip("192.0.2.10")),
            ("svc-a", ip("203.0.113.10")),
            ("client", ip("172.16.30.11")),
            ("svc-b", ip("172.16.30.20")),
        ],
        _ => vec![
            ("earth", ip("10.233.65.7")),
            ("earth", ip("10.233.64.5")),
            ("pod-a", ip("10.233.64.5")),
            ("pod-b", ip("203.0.113.10")),
            ("earth", ip("fd10:233:0:65::7")),
            ("pod-b", ip("2001:db8:113::10")),
        ],
    }
}

/// One step of the flow property: an event, a probe, or a deny rule.
#[derive(Debug, Clone)]
enum FlowOp {
    Event(Op),
    Probe(usize),
    Deny(usize),
}

fn flow_op() -> impl Strategy<Value = FlowOp> {
    prop_oneof![
        3 => op().prop_map(FlowOp::Event),
        3 => any::<usize>().prop_map(FlowOp::Probe),
        1 => any::<usize>().prop_map(FlowOp::Deny),
    ]
}

/// Rules for both directions: a flow's decision then does not depend on
/// which end sent first (with a one-way rule, the reverse flow of an allowed
/// ping rightly lets the other end's ping with the same key through, which a
/// fabric that saw no traffic would deny).
const DENY_RULES: [&str; 4] = [
    "icmp any <> 203.0.113.10",
    "icmp any <> 10.233.64.0/26",
    "icmp6 any <> 2001:db8:113::10",
    "icmp6 any <> fd10:233:0:64::/122",
];

/// A flow's decision, and the ECMP member it is pinned to.
type Decided = (String, Option<u8>);

/// Whether two flows of a key were decided alike. A flow made as the
/// reverse of a pair has no ECMP member until a packet takes the composite
/// (Contrail's `FlowEntry::InitRevFlow` leaves `component_nh_idx` invalid),
/// while the same key's flow made as a forward flow has one: the member is
/// compared only when both have one.
fn alike(a: &Decided, b: &Decided) -> bool {
    a.0 == b.0 && (a.1.is_none() || b.1.is_none() || a.1 == b.1)
}

/// Every decided flow of every vRouter, by node and key: what the agent
/// decided (action, drop reason, S(nh), ECMP member, VRF translation) and
/// the key of its reverse flow.
fn decisions(f: &vrsim::fabric::Fabric) -> std::collections::BTreeMap<String, Decided> {
    use vrsim::dataplane::flow::FlowAction;
    let mut out = std::collections::BTreeMap::new();
    for compute in &f.control().config().computes {
        let t = f.control().vrouter(&compute.name).unwrap().flows();
        for (_, e) in t.iter().filter(|(_, e)| e.action != FlowAction::Hold) {
            let reverse = e.rflow.and_then(|r| t.get(r)).map(|r| r.key);
            out.insert(
                format!("{} {:?}", compute.name, e.key),
                (
                    format!(
                        "{:?} {:?} S(nh) {} vrf {} dvrf {} flags {:#x} reverse {reverse:?}",
                        e.action, e.drop_reason, e.src_nh, e.vrf, e.dvrf, e.flags.0
                    ),
                    e.ecmp_index,
                ),
            );
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn incremental_agent_decisions_equal_fresh_ones(which in 0usize..3, ops in proptest::collection::vec(flow_op(), 0..24)) {
        let s = &scenarios()[which];
        let pool = port_pool(s);
        let probes = probes(s);
        let mut live = vrsim::scenarios::load(s.name).unwrap();
        let mut fresh = live.clone();
        for op in &ops {
            match op {
                FlowOp::Event(e) => {
                    let _ = live.apply(event(s, &pool, e));
                    let _ = fresh.apply(event(s, &pool, e));
                }
                FlowOp::Probe(i) => {
                    let (from, to) = probes[i % probes.len()];
                    live.probe(from, to, vrsim::fabric::packet::Probe::Icmp).unwrap();
                }
                FlowOp::Deny(i) => {
                    let rule = format!("deny {}", DENY_RULES[i % DENY_RULES.len()]);
                    live.add_policy_rule(s.network, rule.parse().unwrap()).unwrap();
                    fresh.add_policy_rule(s.network, rule.parse().unwrap()).unwrap();
                }
            }
        }
        // Where both hold a flow for a key, they decided it alike.
        let before = decisions(&live);
        for (from, to) in &probes {
            let a = live.probe(from, *to, vrsim::fabric::packet::Probe::Icmp).unwrap();
            let b = fresh.probe(from, *to, vrsim::fabric::packet::Probe::Icmp).unwrap();
            prop_assert_eq!(format!("{:?}", a.forward.outcome), format!("{:?}", b.forward.outcome), "{} -> {}", from, to);
            prop_assert_eq!(
                a.reply.as_ref().map(|r| format!("{:?}", r.outcome)),
                b.reply.as_ref().map(|r| format!("{:?}", r.outcome)),
                "reply of {} -> {}", from, to
            );
        }
        let (after, made) = (decisions(&live), decisions(&fresh));
        for (key, decided) in &before {
            if let Some(fresh_decision) = made.get(key) {
                prop_assert!(alike(decided, fresh_decision), "stale flow at {}: {:?} against {:?}", key, decided, fresh_decision);
            }
        }
        for (key, decided) in &made {
            let held = after.get(key);
            prop_assert!(held.is_some_and(|h| alike(h, decided)), "flow at {}: {:?} against {:?}", key, held, decided);
        }
    }
}

/// Whether the calls of an event are reported as a rebuild reports them,
/// whichever way it was applied: node by node in configuration order, and
/// each node's route calls additions first, then changes, then deletions.
fn reported_in_order(c: &Controller, changes: &[Change]) -> bool {
    let node = |ch: &Change| c.config().computes.iter().position(|n| n.name == ch.node);
    let op = |ch: &Change| match ch.op {
        program::Op::Add => 0,
        program::Op::Change => 1,
        program::Op::Delete => 2,
    };
    let routes: Vec<(Option<usize>, u8)> = changes
        .iter()
        .filter(|ch| matches!(ch.object, Object::Route(..)))
        .map(|ch| (node(ch), op(ch)))
        .collect();
    changes.windows(2).all(|w| node(&w[0]) <= node(&w[1])) && routes.is_sorted()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn incremental_programming_equals_a_fresh_build(which in 0usize..3, ops in proptest::collection::vec(op(), 0..24)) {
        let s = &scenarios()[which];
        let pool = port_pool(s);
        let mut c = control(s.name);
        for op in &ops {
            let before = programmed(&c);
            match c.apply(event(s, &pool, op)) {
                Ok(changes) => prop_assert!(
                    reported_in_order(&c, &changes),
                    "calls out of order: {:?}",
                    changes.iter().map(ToString::to_string).collect::<Vec<_>>()
                ),
                Err(_) => prop_assert_eq!(programmed(&c), before, "a refused event changed the state"),
            }
        }
        prop_assert_eq!(programmed(&c), programmed(&fresh(&c)));
    }

    #[test]
    fn reflectors_converge_whatever_the_order(order in Just((0..4usize).collect::<Vec<_>>()).prop_shuffle()) {
        let s = &scenarios()[1];
        let block = |i: usize| s.prefixes[i % 2];
        // RTR01 and RTR02 each advertise both blocks; RTR02 with a longer AS
        // path for the second, so the decision has two steps to make.
        let updates: Vec<Event> = (0..4)
            .map(|i| {
                let (bgpaas, peer) = s.sessions[i / 2];
                let next_hop = if i % 2 == 0 { s.next_hops[1] } else { s.next_hops[0] };
                let path = if i == 3 { vec![64513] } else { vec![] };
                Event::Advertise { bgpaas: bgpaas.into(), peer, prefix: block(i), attrs: PathAttrs::new(next_hop, path) }
            })
            .collect();
        let mut a = control(s.name);
        let mut b = control(s.name);
        for i in &order {
            a.apply(updates[*i].clone()).unwrap();
        }
        for u in &updates {
            b.apply(u.clone()).unwrap();
        }
        for p in [block(0), block(1)] {
            prop_assert_eq!(a.selection(s.network, p), b.selection(s.network, p));
        }
        prop_assert_eq!(a.selection(s.network, block(1)).unwrap().best().source.bgpaas.as_str(), "rtr01");
        prop_assert_eq!(programmed(&a), programmed(&b));
    }
}

/// The port events the property draws are real changes, not refusals: each
/// scenario accepts adding its extra ports and removing and re-adding its own.
#[test]
fn port_events_are_accepted() {
    for s in &scenarios() {
        let pool = port_pool(s);
        let mut c = control(s.name);
        let own = c.config().ports.len();
        for p in &pool[own..] {
            assert!(!c.apply(Event::AddPort(p.clone())).unwrap().is_empty());
        }
        let first = pool[0].clone();
        c.apply(Event::RemovePort {
            name: first.name.clone(),
        })
        .unwrap();
        c.apply(Event::AddPort(first)).unwrap();
        assert_eq!(programmed(&c), programmed(&fresh(&c)));
    }
}
