//! `Ipv4Table` agrees with the naive oracle at every step of random operation
//! sequences over clustered, nested prefixes of every length.

// Test helpers outside `#[test]` functions build prefixes from generated,
// always-valid lengths.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use vrsim_lpm::Ipv4Table;
use vrsim_testkit::strategies::lpm::{Op, Oracle, ops};

fn addr(key: u128) -> Ipv4Addr {
    Ipv4Addr::from((key >> 96) as u32)
}

fn net(key: u128, len: u8) -> Ipv4Net {
    Ipv4Net::new(addr(key), len).unwrap()
}

fn check(ops: &[Op]) {
    let mut table = Ipv4Table::new();
    let mut oracle = Oracle::default();
    for op in ops {
        match *op {
            Op::Insert(k, l, v) => assert_eq!(table.insert(net(k, l), v), oracle.insert(k, l, v)),
            Op::Remove(k, l) => assert_eq!(table.remove(&net(k, l)), oracle.remove(k, l)),
            Op::Get(k, l) => assert_eq!(table.get(&net(k, l)).copied(), oracle.get(k, l)),
            Op::Lookup(k) => {
                let want = oracle.lookup(k);
                let got = table.longest_match(addr(k));
                assert_eq!(got.map(|(p, v)| (p.prefix_len(), *v)), want, "{}", addr(k));
                if let Some((p, _)) = got {
                    assert_eq!(p, net(k, p.prefix_len()).trunc());
                }
                let mut out = [None; 3];
                table.lookup_batch(&[addr(k), addr(!k), addr(k)], &mut out);
                assert_eq!(out[0], want.map(|w| w.1));
                assert_eq!(out[1], oracle.lookup(!k).map(|w| w.1));
            }
        }
        assert_eq!(table.len(), oracle.map.len());
    }
    let got: Vec<_> = table.iter().map(|(p, v)| (p, *v)).collect();
    let want: Vec<_> = oracle
        .map
        .iter()
        .map(|(&(k, l), &v)| (net(k, l), v))
        .collect();
    assert_eq!(got, want);
    let rebuilt: Ipv4Table<u32> = want.iter().copied().collect();
    assert_eq!(
        rebuilt.iter().map(|(p, v)| (p, *v)).collect::<Vec<_>>(),
        want
    );
    assert!(table.memory_usage() > 0);
    for op in ops {
        if let Op::Lookup(k) = *op {
            let got = rebuilt.longest_match(addr(k)).map(|(p, v)| (p, *v));
            assert_eq!(got, table.longest_match(addr(k)).map(|(p, v)| (p, *v)));
        }
    }
    // A bulk build with duplicates: the last value for a prefix wins.
    let mut last = Oracle::default();
    let inserts: Vec<_> = ops
        .iter()
        .filter_map(|op| match *op {
            Op::Insert(k, l, v) => {
                last.insert(k, l, v);
                Some((net(k, l), v))
            }
            _ => None,
        })
        .collect();
    // Extending in two halves: a bulk build into the empty table, then
    // inserts into the full one; the same table as inserting in order.
    let mut grown = Ipv4Table::new();
    let (first, second) = inserts.split_at(inserts.len() / 2);
    grown.extend(first.iter().copied());
    grown.extend(second.iter().copied());
    let bulk: Ipv4Table<u32> = inserts.into_iter().collect();
    assert_eq!(
        grown.iter().map(|(p, v)| (p, *v)).collect::<Vec<_>>(),
        bulk.iter().map(|(p, v)| (p, *v)).collect::<Vec<_>>()
    );
    let want: Vec<_> = last
        .map
        .iter()
        .map(|(&(k, l), &v)| (net(k, l), v))
        .collect();
    assert_eq!(bulk.iter().map(|(p, v)| (p, *v)).collect::<Vec<_>>(), want);
    for op in ops {
        if let Op::Lookup(k) = *op {
            let got = bulk
                .longest_match(addr(k))
                .map(|(p, v)| (p.prefix_len(), *v));
            assert_eq!(got, last.lookup(k));
            let grown = grown
                .longest_match(addr(k))
                .map(|(p, v)| (p.prefix_len(), *v));
            assert_eq!(grown, last.lookup(k));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn agrees_with_oracle(ops in ops(32, 200)) {
        check(&ops);
    }
}
