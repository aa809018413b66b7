//! Accounting across the fabric, on both seed scenarios: for any sequence of
//! probes (between hosts, to gateway and unknown addresses, ICMP, UDP, TCP)
//! interleaved with what-if changes (a VM's BGPaaS sessions down, a
//! withdrawal, RPF off),
//! - every packet injected ends in exactly one outcome (delivered, dropped by
//!   a device for a reason, looped, left the model), tallied by kind;
//! - the vRouters' counters agree with the traces: for every (node, reason),
//!   the node's drop counter is at least the number of traces it dropped for
//!   that reason, each such trace moved it, and during a probe the nodes'
//!   drops grew by at least the traces they dropped and by no more than the
//!   frames they received (the probe's and the ARP requests the fabric
//!   resolved through them);
//! - every vRouter's counters balance: frames received = transmitted + dropped.

// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use vrsim::fabric::packet::Probe;
use vrsim::fabric::trace::{FabricTrace, Outcome};
use vrsim::fabric::{Fabric, MAX_HOPS};

#[derive(Debug, Clone)]
enum Step {
    Probe { from: usize, to: usize, proto: u8 },
    SessionsDown { vm: usize },
    Withdraw { vm: usize },
    RpfOff { network: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (any::<usize>(), any::<usize>(), 0u8..3)
            .prop_map(|(from, to, proto)| Step::Probe { from, to, proto }),
        1 => any::<usize>().prop_map(|vm| Step::SessionsDown { vm }),
        1 => any::<usize>().prop_map(|vm| Step::Withdraw { vm }),
        1 => any::<usize>().prop_map(|network| Step::RpfOff { network }),
    ]
}

/// Drops per (compute node, reason), and frames received, transmitted, dropped.
fn counters(f: &Fabric) -> (BTreeMap<(String, String), u64>, u64, u64, u64) {
    let mut drops = BTreeMap::new();
    let (mut rx, mut tx, mut dropped) = (0, 0, 0);
    for c in &f.control().config().computes {
        let r = f.control().vrouter(&c.name).unwrap();
        for (reason, n) in r.drops().non_zero() {
            drops.insert((c.name.clone(), reason.to_string()), n);
        }
        let node_rx: u64 = r.vifs().map(|v| v.stats.rx_packets).sum();
        let node_tx: u64 = r.vifs().map(|v| v.stats.tx_packets).sum();
        assert_eq!(
            node_rx,
            node_tx + r.drops().total(),
            "{}: frames received = transmitted + dropped",
            c.name
        );
        rx += node_rx;
        tx += node_tx;
        dropped += r.drops().total();
    }
    (drops, rx, tx, dropped)
}

fn run(name: &str, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut f = vrsim::scenarios::load(name).unwrap();
    let hosts: Vec<(String, Ipv4Addr)> = f
        .hosts()
        .filter_map(|h| h.primary_ip().map(|ip| (h.name.clone(), ip)))
        .collect();
    // Both families: the scenarios are dual-stack.
    let v6 = std::net::IpAddr::from(std::net::Ipv6Addr::UNSPECIFIED);
    let mut targets: Vec<std::net::IpAddr> = hosts.iter().map(|(_, ip)| (*ip).into()).collect();
    targets.extend(f.hosts().filter_map(|h| h.primary_of(v6)));
    for n in &f.control().config().networks {
        targets.extend(n.vrouter_addrs());
    }
    targets.push(Ipv4Addr::new(198, 51, 100, 7).into());
    targets.push("2001:db8:51::7".parse().unwrap());
    let vms: Vec<String> = f
        .control()
        .config()
        .bgpaas
        .iter()
        .map(|b| b.port.clone())
        .collect();
    let networks: Vec<String> = f
        .control()
        .config()
        .networks
        .iter()
        .map(|n| n.name.clone())
        .collect();

    let mut injected = 0u64;
    let mut tally: BTreeMap<String, u64> = BTreeMap::new();
    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    for s in steps {
        match s {
            Step::Probe { from, to, proto } => {
                let (from, _) = &hosts[from % hosts.len()];
                let to = targets[to % targets.len()];
                let probe = [Probe::Icmp, Probe::Udp(53), Probe::Tcp(22)][usize::from(*proto)];
                let (before, rx_before, ..) = counters(&f);
                let trip = f.probe(from, to, probe).unwrap();
                let traces: Vec<&FabricTrace> = std::iter::once(&trip.forward)
                    .chain(trip.reply.as_ref())
                    .collect();
                let (after, rx_after, ..) = counters(&f);
                let mut by_vrouter = 0;
                for t in &traces {
                    injected += 1;
                    prop_assert!(!t.hops.is_empty() && t.hops.len() <= MAX_HOPS, "{}", t);
                    let kind = match &t.outcome {
                        Outcome::Delivered { .. } => "delivered".to_owned(),
                        Outcome::Dropped { device, cause } => {
                            let reason = cause.to_string();
                            if let Some(r) = cause.vrouter() {
                                by_vrouter += 1;
                                *expected.entry((device.clone(), r.to_string())).or_default() += 1;
                                let key = (device.clone(), r.to_string());
                                prop_assert!(
                                    after.get(&key).copied().unwrap_or(0)
                                        > before.get(&key).copied().unwrap_or(0),
                                    "{device} dropped as {r} without counting it\n{}",
                                    t
                                );
                            }
                            format!("dropped by {device}: {reason}")
                        }
                        Outcome::Looped { .. } => "looped".to_owned(),
                        Outcome::LeftModel { .. } => "left the model".to_owned(),
                    };
                    *tally.entry(kind).or_default() += 1;
                }
                let grew: u64 = after.values().sum::<u64>() - before.values().sum::<u64>();
                prop_assert!(
                    grew >= by_vrouter,
                    "{grew} drops counted for {by_vrouter} traces"
                );
                prop_assert!(
                    grew <= rx_after - rx_before,
                    "{grew} drops for {} frames received",
                    rx_after - rx_before
                );
            }
            Step::SessionsDown { vm } if !vms.is_empty() => {
                let _ = f.bgpaas_down(&vms[vm % vms.len()]);
            }
            Step::Withdraw { vm } if !vms.is_empty() => {
                let vm = &vms[vm % vms.len()];
                let routes: Vec<_> = f
                    .control()
                    .sessions()
                    .filter(|((b, _), s)| {
                        s.up && f
                            .control()
                            .config()
                            .bgpaas(b)
                            .is_some_and(|b| &b.port == vm)
                    })
                    .flat_map(|(_, s)| s.routes.keys().copied().collect::<Vec<_>>())
                    .collect();
                if let Some(p) = routes.first() {
                    let _ = f.withdraw(vm, *p);
                }
            }
            Step::RpfOff { network } => {
                f.set_rpf(&networks[network % networks.len()], false)
                    .unwrap();
            }
            _ => {}
        }
    }
    // Every trace the vRouters dropped is in their counters.
    let (drops, ..) = counters(&f);
    for (key, n) in &expected {
        let counted = drops.get(key).copied().unwrap_or(0);
        prop_assert!(
            counted >= *n,
            "{key:?}: {n} traces of {injected}, {counted} counted; {tally:?}"
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
    fn seed_bgpaas_accounting(steps in proptest::collection::vec(step(), 1..24)) {
        run("seed-bgpaas", &steps)?;
    }

    #[test]
    fn k8s_rr_accounting(steps in proptest::collection::vec(step(), 1..24)) {
        run("k8s-rr", &steps)?;
    }
}
