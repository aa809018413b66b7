//! Differential test: `vrsim-lpm` agrees with `prefix-trie` on the real IPv4
//! Internet table (886,116 prefixes, `benches/data/`) and on the synthetic IPv6
//! table of the benchmark, for hundreds of thousands of addresses, after the
//! full load and again after removing a random third of the prefixes; and the
//! IPv4 FIB built from the real table agrees with its table, before and after
//! a churn of 100,000 changes.

// Helpers outside `#[test]` functions unwrap generated, always-valid prefixes.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;
use vrsim::lpm::{Fib4, Ipv4Table, Ipv6Table};

#[path = "../benches/lpm/data.rs"]
#[allow(dead_code)]
mod data;

use data::{Rng, churn4, load_v4, v6_table};

/// Uniform addresses and addresses inside random prefixes of `pfx`, half each.
fn addrs4(pfx: &[(Ipv4Net, u32)], rng: &mut Rng, n: usize) -> Vec<Ipv4Addr> {
    (0..n)
        .map(|i| {
            if i % 2 == 0 {
                Ipv4Addr::from(rng.next() as u32)
            } else {
                let p = pfx[rng.below(pfx.len())].0;
                let host = rng.next() as u32 & !u32::from(p.netmask());
                Ipv4Addr::from(u32::from(p.network()) | host)
            }
        })
        .collect()
}

fn agree4(table: &Ipv4Table<u32>, peer: &PrefixMap<Ipv4Net, u32>, addrs: &[Ipv4Addr]) {
    let mut batch = vec![None; addrs.len()];
    table.lookup_batch(addrs, &mut batch);
    for (&a, b) in addrs.iter().zip(&batch) {
        let want = peer.get_lpm(&Ipv4Net::from(a)).map(|(p, v)| (p, *v));
        let got = table.longest_match(a).map(|(p, v)| (p, *v));
        assert_eq!(got, want, "{a}");
        assert_eq!(*b, want.map(|w| w.1), "{a} (batch)");
    }
}

#[test]
fn ipv4_real_table_agrees_with_prefix_trie() {
    let pfx = load_v4();
    assert_eq!(pfx.len(), 886_116);
    let mut table: Ipv4Table<u32> = pfx.iter().copied().collect();
    let mut peer = PrefixMap::new();
    for &(p, v) in &pfx {
        peer.insert(p, v);
    }
    assert_eq!(table.len(), peer.len());
    let mut rng = Rng::new(42);
    agree4(&table, &peer, &addrs4(&pfx, &mut rng, 200_000));

    let mut kept = Vec::new();
    for &(p, v) in &pfx {
        if rng.below(3) == 0 {
            assert_eq!(table.remove(&p), Some(v));
            assert_eq!(peer.remove(&p), Some(v));
        } else {
            kept.push((p, v));
        }
    }
    assert_eq!(table.len(), kept.len());
    agree4(&table, &peer, &addrs4(&pfx, &mut rng, 200_000));

    kept.sort_by_key(|&(p, _)| (u32::from(p.addr()), p.prefix_len()));
    assert!(table.iter().map(|(p, v)| (p, *v)).eq(kept.iter().copied()));
    for &(p, v) in kept.iter().step_by(97) {
        assert_eq!(table.get(&p), Some(&v));
    }
}

/// The FIB answers as its table does at both ends of every prefix and just
/// past each, and at `addrs`; single and batched.
fn fib_agrees(fib: &Fib4<u32>, pfx: &[(Ipv4Net, u32)], addrs: &[Ipv4Addr]) {
    let ends = pfx.iter().flat_map(|(p, _)| {
        let last = u32::from(p.broadcast());
        [u32::from(p.network()), last, last.wrapping_add(1)].map(Ipv4Addr::from)
    });
    let probes: Vec<Ipv4Addr> = ends.chain(addrs.iter().copied()).collect();
    // Not a multiple of the batch width.
    let probes = &probes[..probes.len() - probes.len() % 16 + 7];
    let mut batch = vec![None; probes.len()];
    fib.lookup_batch(probes, &mut batch);
    for (&a, b) in probes.iter().zip(&batch) {
        let want = fib.table().longest_match_len(a);
        assert_eq!(fib.lookup(a), want, "{a}");
        assert_eq!(*b, want.map(|(l, v)| (l, *v)), "{a} (batch)");
    }
}

/// The FIB built from the real table answers as the table does (at both
/// ends of every prefix, just past each, and at a million addresses, half
/// uniform, half inside random prefixes), with a distinct value per prefix,
/// with the origin AS, and with the origin AS folded onto 256 next hops (a
/// router's fan-out, whose FIB has 16-bit entries); and again after a churn
/// of 100,000 random removes and re-inserts, which keep table and FIB in
/// step.
#[test]
fn ipv4_fib_agrees_with_its_table_on_the_real_table() {
    let pfx = load_v4();
    let mut rng = Rng::new(44);
    let addrs = addrs4(&pfx, &mut rng, 1_000_000);
    for values in ["distinct", "origin AS", "256"] {
        let pfx: Vec<_> = (0..)
            .zip(&pfx)
            .map(|(i, &(p, v))| match values {
                "distinct" => (p, i),
                "origin AS" => (p, v),
                _ => (p, v % 256),
            })
            .collect();
        let table: Ipv4Table<u32> = pfx.iter().copied().collect();
        let mut fib = Fib4::from_table(table);
        fib_agrees(&fib, &pfx, &addrs);
        if values != "256" {
            continue;
        }
        for (p, v, insert) in churn4(&pfx, &mut rng, 100_000) {
            if insert {
                assert_eq!(fib.insert(p, v), None, "{p}");
            } else {
                assert_eq!(fib.remove(&p), Some(v), "{p}");
            }
        }
        assert!(fib.len() < pfx.len());
        assert!(fib.is_compiled(), "the churn went through the FIB");
        fib_agrees(&fib, &pfx, &addrs);
    }
}

#[test]
fn ipv6_synthetic_table_agrees_with_prefix_trie() {
    let pfx = v6_table();
    let mut table: Ipv6Table<u32> = pfx.iter().copied().collect();
    let mut peer = PrefixMap::new();
    for &(p, v) in &pfx {
        peer.insert(p, v);
    }
    let mut rng = Rng::new(43);
    let mut check = |table: &Ipv6Table<u32>, peer: &PrefixMap<Ipv6Net, u32>| {
        let addrs: Vec<Ipv6Addr> = (0..100_000)
            .map(|i| {
                let p = pfx[rng.below(pfx.len())].0;
                let noise = rng.next128();
                let host = if i % 4 == 0 {
                    noise
                } else {
                    noise & !u128::from(p.netmask())
                };
                Ipv6Addr::from(u128::from(p.network()) | host)
            })
            .collect();
        let mut batch = vec![None; addrs.len()];
        table.lookup_batch(&addrs, &mut batch);
        for (&a, b) in addrs.iter().zip(&batch) {
            let want = peer.get_lpm(&Ipv6Net::from(a)).map(|(p, v)| (p, *v));
            assert_eq!(table.longest_match(a).map(|(p, v)| (p, *v)), want, "{a}");
            assert_eq!(*b, want.map(|w| w.1), "{a} (batch)");
        }
    };
    check(&table, &peer);
    for (i, &(p, v)) in pfx.iter().enumerate() {
        if i % 3 == 0 {
            assert_eq!(table.remove(&p), Some(v));
            assert_eq!(peer.remove(&p), Some(v));
        }
    }
    assert_eq!(table.len(), peer.len());
    check(&table, &peer);
}
