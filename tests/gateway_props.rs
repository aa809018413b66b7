//! A gateway kept up to date event by event (`Gateway::update` with the
//! routes the control node changed at the event's prefixes) holds what a
//! gateway synced with the control node's whole list holds: the same learned
//! routes, and the same answer to every lookup, in every VRF and `inet.0`,
//! after any sequence of BGPaaS sessions going up and down, advertisements
//! (next hops of every port, prefixes where a VM port's own route or the
//! VRF's default lives) and withdrawals, on both built-in scenarios.

// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use vrsim::control::Event;
use vrsim::control::bgp::PathAttrs;
use vrsim::fabric::Fabric;

#[derive(Debug, Clone)]
enum Op {
    Up(usize),
    Down(usize),
    Advertise {
        session: usize,
        prefix: usize,
        next_hop: usize,
        pref: bool,
    },
    Withdraw {
        session: usize,
        prefix: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => any::<usize>().prop_map(Op::Up),
        1 => any::<usize>().prop_map(Op::Down),
        4 => (any::<usize>(), any::<usize>(), any::<usize>(), any::<bool>())
            .prop_map(|(session, prefix, next_hop, pref)| Op::Advertise { session, prefix, next_hop, pref }),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(session, prefix)| Op::Withdraw { session, prefix }),
    ]
}

/// The scenario's sessions, the next hops its ports offer, and prefixes:
/// the BGPaaS ones it advertises, every port's host routes, the defaults.
fn universe(f: &Fabric) -> (Vec<(String, Ipv4Addr)>, Vec<IpAddr>, Vec<IpNet>) {
    let config = f.control().config();
    let sessions = config
        .bgpaas
        .iter()
        .flat_map(|b| b.peers.iter().map(|p| (b.name.clone(), *p)))
        .collect();
    let next_hops: Vec<IpAddr> = config.ports.iter().flat_map(|p| p.addrs()).collect();
    let mut prefixes: Vec<IpNet> = f
        .control()
        .sessions()
        .flat_map(|(_, s)| s.routes.keys().copied())
        .collect();
    prefixes.extend(next_hops.iter().map(|a| IpNet::from(*a)));
    prefixes.push("0.0.0.0/0".parse().unwrap());
    prefixes.push("::/0".parse().unwrap());
    prefixes.push("10.99.0.0/16".parse().unwrap());
    prefixes.sort();
    prefixes.dedup();
    (sessions, next_hops, prefixes)
}

/// Every gateway's learned routes and its answers for the first and last
/// address of every prefix, in every VRF and in `inet.0`.
fn gateways(f: &Fabric, synced: bool, prefixes: &[IpNet]) -> String {
    let mut out = String::new();
    for g in f.gateways() {
        let mut g = g.clone();
        if synced {
            g.sync(f.control().gateway_routes(&g.name));
        }
        out.push_str(&format!("== {}\n{:?}\n", g.name, g.learned));
        let vrfs: Vec<Option<String>> = std::iter::once(None)
            .chain(g.vrf_labels.keys().cloned().map(Some))
            .collect();
        for p in prefixes.iter().chain(g.learned.keys().map(|(_, p)| p)) {
            for a in [p.network(), p.broadcast()] {
                for v in &vrfs {
                    out.push_str(&format!("{a} {v:?} {:?}\n", g.lookup(v.as_deref(), a)));
                }
            }
        }
    }
    out
}

fn run(name: &str, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut f = vrsim::scenarios::load(name).unwrap();
    let (sessions, next_hops, prefixes) = universe(&f);
    for op in ops {
        let session = |i: &usize| sessions[i % sessions.len()].clone();
        let event = match op {
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
                pref,
            } => {
                let (bgpaas, peer) = session(i);
                let prefix = prefixes[prefix % prefixes.len()];
                // A next hop of the prefix's family, so that most paths count.
                let family: Vec<&IpAddr> = next_hops
                    .iter()
                    .filter(|a| a.is_ipv4() == matches!(prefix, IpNet::V4(_)))
                    .collect();
                let mut attrs = PathAttrs::new(*family[next_hop % family.len()], vec![65000]);
                attrs.local_pref = if *pref { 200 } else { 100 };
                Event::Advertise {
                    bgpaas,
                    peer,
                    prefix,
                    attrs,
                }
            }
            Op::Withdraw { session: i, prefix } => {
                let (bgpaas, peer) = session(i);
                Event::Withdraw {
                    bgpaas,
                    peer,
                    prefix: prefixes[prefix % prefixes.len()],
                }
            }
        };
        if f.apply(event).is_err() {
            continue;
        }
        prop_assert_eq!(
            gateways(&f, false, &prefixes),
            gateways(&f, true, &prefixes)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn seed_bgpaas_gateway_updates_equal_a_sync(ops in proptest::collection::vec(op(), 1..20)) {
        run("seed-bgpaas", &ops)?;
    }

    #[test]
    fn k8s_rr_gateway_updates_equal_a_sync(ops in proptest::collection::vec(op(), 1..20)) {
        run("k8s-rr", &ops)?;
    }
}
