//! The IPv6 half of `benches/lpm.rs`: the synthetic table of
//! [`v6_table`](super::data::v6_table), the same peers and the same
//! measurements as for IPv4 (uniform addresses are drawn inside 2000::/3).
//! Poptrie's IPv6 tables are measured for lookups and builds only: its
//! inserts rebuild its arrays, which on this table is too slow to sample.

use std::hint::black_box;
use std::net::Ipv6Addr;

use criterion::{Criterion, Throughput};
use ip_network_table_deps_treebitmap::IpLookupTable;
use ipnet::Ipv6Net;
use iptrie::map::RTrieMap;
use poptrie::Poptrie;
use prefix_trie::PrefixMap;
use vrsim_lpm::{Fib6, Ipv6Table};

use super::data::{Rng, matching6, uniform6, v6_table};
use super::{ROUND, SET, print_memory, updates};

pub(crate) fn bench_v6(c: &mut Criterion) {
    let pfx = v6_table();
    let n = pfx.len();
    let vrsim: Ipv6Table<u32> = pfx.iter().copied().collect();
    let mut ptrie = PrefixMap::<Ipv6Net, u32>::new();
    let mut tbm = IpLookupTable::<Ipv6Addr, u32>::new();
    let mut rt = RTrieMap::<Ipv6Net, u32>::with_root(0);
    for &(p, v) in &pfx {
        ptrie.insert(p, v);
        tbm.insert(p.addr(), u32::from(p.prefix_len()), v);
        rt.insert(p, v);
    }
    let lc = rt.compress();
    let fib = Fib6::from_table(vrsim.clone());
    let pop: Poptrie<Ipv6Net, u32> = pfx.iter().copied().collect();
    eprintln!("IPv6 table: {n} prefixes");
    print_memory("vrsim-lpm", Some(vrsim.memory_usage()), n);
    print_memory("vrsim-fib", Some(fib.memory_usage()), n);
    print_memory("prefix-trie", Some(ptrie.mem_size()), n);
    let (nodes, results) = tbm.mem_usage();
    print_memory("treebitmap", Some(nodes + results), n);
    print_memory("iptrie-lc", None, n);
    print_memory("poptrie", None, n);

    let mut rng = Rng::new(2);
    let uniform = uniform6(&mut rng, SET);
    let matching = matching6(&pfx, &mut rng, SET);
    for (set, addrs) in [("uniform", &uniform), ("matching", &matching)] {
        let mut g = c.benchmark_group(format!("v6/{set}"));
        g.throughput(Throughput::Elements(addrs.len() as u64));
        let mut out = vec![None; addrs.len()];
        let mut out_fib = vec![None; addrs.len()];
        g.bench_function("single/vrsim-fib", |b| {
            b.iter(|| {
                addrs.iter().for_each(|&a| {
                    black_box(fib.lookup(black_box(a)));
                })
            })
        });
        g.bench_function("single/poptrie", |b| {
            b.iter(|| {
                addrs.iter().for_each(|&a| {
                    black_box(pop.lookup(black_box(a)));
                })
            })
        });
        g.bench_function("single/vrsim-lpm", |b| {
            b.iter(|| {
                addrs.iter().for_each(|&a| {
                    black_box(vrsim.longest_match(black_box(a)));
                })
            })
        });
        g.bench_function("single/prefix-trie", |b| {
            b.iter(|| {
                addrs.iter().for_each(|&a| {
                    black_box(ptrie.get_lpm(&Ipv6Net::from(black_box(a))));
                })
            })
        });
        g.bench_function("single/treebitmap", |b| {
            b.iter(|| {
                addrs.iter().for_each(|&a| {
                    black_box(tbm.longest_match(black_box(a)));
                })
            })
        });
        g.bench_function("single/iptrie-lc", |b| {
            b.iter(|| {
                addrs.iter().for_each(|&a| {
                    black_box(lc.lookup(&black_box(a)));
                })
            })
        });
        g.bench_function("batch/vrsim-fib", |b| {
            b.iter(|| fib.lookup_batch(black_box(addrs), black_box(&mut out_fib)))
        });
        g.bench_function("batch/vrsim-lpm", |b| {
            b.iter(|| vrsim.lookup_batch(black_box(addrs), black_box(&mut out)))
        });
        g.bench_function("batch/prefix-trie", |b| {
            b.iter(|| {
                for (o, &a) in out.iter_mut().zip(black_box(addrs)) {
                    *o = ptrie.get_lpm(&Ipv6Net::from(a)).map(|(_, v)| *v);
                }
                black_box(&mut out);
            })
        });
        g.bench_function("batch/treebitmap", |b| {
            b.iter(|| {
                for (o, &a) in out.iter_mut().zip(black_box(addrs)) {
                    *o = tbm.longest_match(a).map(|(_, _, v)| *v);
                }
                black_box(&mut out);
            })
        });
        g.bench_function("batch/iptrie-lc", |b| {
            b.iter(|| {
                for (o, &a) in out.iter_mut().zip(black_box(addrs)) {
                    *o = Some(*lc.lookup(&a).1);
                }
                black_box(&mut out);
            })
        });
        g.finish();
    }
    let mut g = c.benchmark_group("v6/build");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("vrsim-lpm", |b| {
        b.iter(|| black_box(pfx.iter().copied().collect::<Ipv6Table<u32>>()))
    });
    g.bench_function("vrsim-fib", |b| {
        b.iter(|| black_box(Fib6::from_table(pfx.iter().copied().collect())))
    });
    g.bench_function("prefix-trie", |b| {
        b.iter(|| black_box(pfx.iter().copied().collect::<PrefixMap<Ipv6Net, u32>>()))
    });
    g.bench_function("poptrie", |b| {
        b.iter(|| black_box(pfx.iter().copied().collect::<Poptrie<Ipv6Net, u32>>()))
    });
    g.bench_function("treebitmap", |b| {
        b.iter(|| {
            let mut m = IpLookupTable::<Ipv6Addr, u32>::new();
            for &(p, v) in &pfx {
                m.insert(p.addr(), u32::from(p.prefix_len()), v);
            }
            black_box(m)
        })
    });
    g.bench_function("iptrie-lc", |b| {
        b.iter(|| {
            let mut m = RTrieMap::<Ipv6Net, u32>::with_root(0);
            for &(p, v) in &pfx {
                m.insert(p, v);
            }
            black_box(m.compress())
        })
    });
    g.finish();

    let mut rng = Rng::new(8);
    let mut sample: Vec<_> = (0..ROUND).map(|_| pfx[rng.below(n)]).collect();
    sample.sort_by_key(|(p, _)| (u128::from(p.addr()), p.prefix_len()));
    sample.dedup_by_key(|(p, _)| *p);
    let mut vrsim = vrsim;
    let mut g = c.benchmark_group("v6/update");
    g.throughput(Throughput::Elements(1));
    updates(
        &mut g,
        "vrsim-lpm",
        &mut vrsim,
        &sample,
        |t, p, v| {
            t.insert(p, v);
        },
        |t, p| {
            t.remove(&p);
        },
    );
    let mut fib = fib;
    updates(
        &mut g,
        "vrsim-fib",
        &mut fib,
        &sample,
        |t, p, v| {
            t.insert(p, v);
        },
        |t, p| {
            t.remove(&p);
        },
    );
    updates(
        &mut g,
        "prefix-trie",
        &mut ptrie,
        &sample,
        |t, p, v| {
            t.insert(p, v);
        },
        |t, p| {
            t.remove(&p);
        },
    );
    g.finish();
}
