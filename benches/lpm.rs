//! Longest-prefix-match benchmarks: `vrsim-lpm`'s table (`vrsim-lpm`) and its
//! leaf-pushed FIB (`vrsim-fib`, [`Fib4`] and [`Fib6`]) against `prefix-trie`
//! 0.10, `ip_network_table-deps-treebitmap` 0.5, `iptrie` 0.11 (LC-trie) and
//! `poptrie` 0.2, in one run.
//!
//! IPv4 uses the real 886,116-prefix Internet table in `benches/data/` (see its
//! README); IPv6 a synthetic table (see [`v6_table`] for its length mix). Values
//! are small `u32`s (the origin AS for IPv4). Every random choice comes from a
//! fixed-seed xorshift, so runs are repeatable.
//!
//! Address sets, looked up in a loop (Throughput: addresses per second):
//! - `uniform`: 65,536 uniformly random addresses (IPv6: inside 2000::/3);
//! - `matching`: 65,536 addresses inside randomly chosen prefixes of the table;
//! - `hot`: 4,096 addresses from `matching`, small enough to stay in cache.
//!
//! `single` calls `longest_match` per address (`lookup` for the FIB, which
//! answers the matched length and the value); `batch` calls `lookup_batch` for
//! vrsim-lpm and the FIB and a loop of single lookups writing to the same
//! output for the peers, which have no batch API. Memory per prefix is printed
//! once at start (criterion does not measure memory): the FIB's with the
//! origin AS as value (`vrsim-fib`), with it folded onto 256 next hops
//! (`fib-256`) and with a distinct value per prefix (`fib-unique`). So are the FIB's
//! update latencies: each of a churn of 100,000 removes and re-inserts on the
//! full table is timed alone, for the median and the 99th percentile.
//!
//! Quick run: `cargo bench --bench lpm -- --warm-up-time 1 --measurement-time 3`.

// Setup code outside measured closures unwraps data that is part of the repository.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use ip_network_table_deps_treebitmap::IpLookupTable;
use ipnet::Ipv4Net;
use iptrie::map::{LCTrieMap, RTrieMap};
use poptrie::Poptrie;
use prefix_trie::PrefixMap;
use vrsim_lpm::{Fib4, Ipv4Table};

#[path = "lpm/data.rs"]
mod data;
#[path = "lpm/v6.rs"]
mod v6;

use data::{Rng, churn4, load_v4, matching4};

/// Addresses per lookup set.
pub(crate) const SET: usize = 1 << 16;
/// Addresses in the hot set.
const HOT: usize = 4096;
/// Prefixes removed and re-inserted per round of the update benchmarks.
pub(crate) const ROUND: usize = 4096;

/// The IPv4 tables, built once.
struct V4 {
    pfx: Vec<(Ipv4Net, u32)>,
    vrsim: Ipv4Table<u32>,
    fib: Fib4<u32>,
    ptrie: PrefixMap<Ipv4Net, u32>,
    pop: Poptrie<Ipv4Net, u32>,
    tbm: IpLookupTable<Ipv4Addr, u32>,
    lc: LCTrieMap<Ipv4Net, u32>,
}

fn build_ptrie4(pfx: &[(Ipv4Net, u32)]) -> PrefixMap<Ipv4Net, u32> {
    let mut m = PrefixMap::new();
    for &(p, v) in pfx {
        m.insert(p, v);
    }
    m
}

fn build_tbm4(pfx: &[(Ipv4Net, u32)]) -> IpLookupTable<Ipv4Addr, u32> {
    let mut m = IpLookupTable::new();
    for &(p, v) in pfx {
        m.insert(p.addr(), u32::from(p.prefix_len()), v);
    }
    m
}

fn build_rtrie4(pfx: &[(Ipv4Net, u32)]) -> RTrieMap<Ipv4Net, u32> {
    let mut m = RTrieMap::with_root(0);
    for &(p, v) in pfx {
        m.insert(p, v);
    }
    m
}

pub(crate) fn print_memory(name: &str, bytes: Option<usize>, n: usize) {
    match bytes {
        Some(b) => eprintln!(
            "memory {name:<10} {:>7.2} MiB {:>6.2} bytes/prefix",
            b as f64 / 1048576.0,
            b as f64 / n as f64
        ),
        None => eprintln!("memory {name:<10} not reported by the crate"),
    }
}

fn v4() -> V4 {
    let pfx = load_v4();
    let vrsim: Ipv4Table<u32> = pfx.iter().copied().collect();
    let ptrie = build_ptrie4(&pfx);
    let tbm = build_tbm4(&pfx);
    let lc = build_rtrie4(&pfx).compress();
    let fib = Fib4::from_table(vrsim.clone());
    let pop: Poptrie<Ipv4Net, u32> = pfx.iter().copied().collect();
    let n = pfx.len();
    eprintln!("IPv4 table: {n} prefixes");
    print_memory("vrsim-lpm", Some(vrsim.memory_usage()), n);
    print_memory("vrsim-fib", Some(fib.memory_usage()), n);
    let folded: Ipv4Table<u32> = pfx.iter().map(|&(p, v)| (p, v % 256)).collect();
    let folded = Fib4::from_table(folded);
    print_memory("fib-256", Some(folded.memory_usage()), n);
    let distinct: Ipv4Table<u32> = (0..).zip(&pfx).map(|(i, &(p, _))| (p, i)).collect();
    let distinct = Fib4::from_table(distinct);
    print_memory("fib-unique", Some(distinct.memory_usage()), n);
    print_memory("prefix-trie", Some(ptrie.mem_size()), n);
    let (nodes, results) = tbm.mem_usage();
    print_memory("treebitmap", Some(nodes + results), n);
    print_memory("iptrie-lc", None, n);
    print_memory("poptrie", None, n);
    V4 {
        pfx,
        vrsim,
        fib,
        ptrie,
        pop,
        tbm,
        lc,
    }
}

/// Benchmarks the four tables on one IPv4 address set, single and batch.
fn lookups4(c: &mut Criterion, t: &V4, set: &str, addrs: &[Ipv4Addr]) {
    let mut g = c.benchmark_group(format!("v4/{set}"));
    g.throughput(Throughput::Elements(addrs.len() as u64));
    let mut out = vec![None; addrs.len()];
    let mut out_fib = vec![None; addrs.len()];
    g.bench_function("single/vrsim-fib", |b| {
        b.iter(|| {
            for &a in addrs {
                black_box(t.fib.lookup(black_box(a)));
            }
        })
    });
    g.bench_function("single/vrsim-lpm", |b| {
        b.iter(|| {
            for &a in addrs {
                black_box(t.vrsim.longest_match(black_box(a)));
            }
        })
    });
    g.bench_function("single/poptrie", |b| {
        b.iter(|| {
            for &a in addrs {
                black_box(t.pop.lookup(black_box(a)));
            }
        })
    });
    g.bench_function("single/prefix-trie", |b| {
        b.iter(|| {
            for &a in addrs {
                black_box(t.ptrie.get_lpm(&Ipv4Net::from(black_box(a))));
            }
        })
    });
    g.bench_function("single/treebitmap", |b| {
        b.iter(|| {
            for &a in addrs {
                black_box(t.tbm.longest_match(black_box(a)));
            }
        })
    });
    g.bench_function("single/iptrie-lc", |b| {
        b.iter(|| {
            for &a in addrs {
                black_box(t.lc.lookup(&black_box(a)));
            }
        })
    });
    g.bench_function("batch/vrsim-fib", |b| {
        b.iter(|| {
            t.fib
                .lookup_batch(black_box(addrs), black_box(&mut out_fib))
        })
    });
    g.bench_function("batch/vrsim-lpm", |b| {
        b.iter(|| t.vrsim.lookup_batch(black_box(addrs), black_box(&mut out)))
    });
    g.bench_function("batch/poptrie", |b| {
        b.iter(|| {
            for (o, &a) in out.iter_mut().zip(black_box(addrs)) {
                *o = t.pop.lookup(a).copied();
            }
            black_box(&mut out);
        })
    });
    g.bench_function("batch/prefix-trie", |b| {
        b.iter(|| {
            for (o, &a) in out.iter_mut().zip(black_box(addrs)) {
                *o = t.ptrie.get_lpm(&Ipv4Net::from(a)).map(|(_, v)| *v);
            }
            black_box(&mut out);
        })
    });
    g.bench_function("batch/treebitmap", |b| {
        b.iter(|| {
            for (o, &a) in out.iter_mut().zip(black_box(addrs)) {
                *o = t.tbm.longest_match(a).map(|(_, _, v)| *v);
            }
            black_box(&mut out);
        })
    });
    g.bench_function("batch/iptrie-lc", |b| {
        b.iter(|| {
            for (o, &a) in out.iter_mut().zip(black_box(addrs)) {
                *o = Some(*t.lc.lookup(&a).1);
            }
            black_box(&mut out);
        })
    });
    g.finish();
}

fn build4(c: &mut Criterion, t: &V4) {
    let mut g = c.benchmark_group("v4/build");
    g.sample_size(10);
    g.throughput(Throughput::Elements(t.pfx.len() as u64));
    let pfx = &t.pfx;
    g.bench_function("vrsim-lpm", |b| {
        b.iter(|| black_box(pfx.iter().copied().collect::<Ipv4Table<u32>>()))
    });
    // The table and its FIB, both.
    g.bench_function("vrsim-fib", |b| {
        b.iter(|| black_box(Fib4::from_table(pfx.iter().copied().collect())))
    });
    g.bench_function("prefix-trie", |b| b.iter(|| black_box(build_ptrie4(pfx))));
    g.bench_function("poptrie", |b| {
        b.iter(|| black_box(pfx.iter().copied().collect::<Poptrie<Ipv4Net, u32>>()))
    });
    g.bench_function("treebitmap", |b| b.iter(|| black_box(build_tbm4(pfx))));
    g.bench_function("iptrie-lc", |b| {
        b.iter(|| black_box(build_rtrie4(pfx).compress()))
    });
    g.finish();
}

/// Times `iters` single updates on a full table, `ROUND` distinct prefixes at a
/// time. For "remove", each round removes `ROUND` present prefixes (timed) and
/// re-inserts them (not timed); for "insert", the reverse. The table never
/// differs from the full one by more than `ROUND` (0.5%) prefixes, and no clone
/// of it is needed. Criterion reports the time per update.
pub(crate) fn updates<T, P: Copy>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    table: &mut T,
    sample: &[(P, u32)],
    ins: fn(&mut T, P, u32),
    rem: fn(&mut T, P),
) {
    g.bench_function(format!("remove/{name}"), |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let round = &sample[..left.min(sample.len())];
                let start = Instant::now();
                for &(p, _) in round {
                    rem(table, black_box(p));
                }
                spent += start.elapsed();
                for &(p, v) in round {
                    ins(table, p, v);
                }
                left -= round.len();
            }
            spent
        })
    });
    g.bench_function(format!("insert/{name}"), |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let round = &sample[..left.min(sample.len())];
                for &(p, _) in round {
                    rem(table, p);
                }
                let start = Instant::now();
                for &(p, v) in round {
                    ins(table, black_box(p), v);
                }
                spent += start.elapsed();
                left -= round.len();
            }
            spent
        })
    });
}

fn updates4(c: &mut Criterion, t: &mut V4) {
    let mut rng = Rng::new(7);
    let sample: Vec<_> = (0..ROUND).map(|_| t.pfx[rng.below(t.pfx.len())]).collect();
    let mut sample = sample;
    sample.sort_by_key(|(p, _)| (u32::from(p.addr()), p.prefix_len()));
    sample.dedup_by_key(|(p, _)| *p);
    let mut rt = build_rtrie4(&t.pfx);
    let mut g = c.benchmark_group("v4/update");
    g.throughput(Throughput::Elements(1));
    updates(
        &mut g,
        "vrsim-lpm",
        &mut t.vrsim,
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
        "vrsim-fib",
        &mut t.fib,
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
        &mut t.ptrie,
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
        "treebitmap",
        &mut t.tbm,
        &sample,
        |t, p, v| {
            t.insert(p.addr(), u32::from(p.prefix_len()), v);
        },
        |t, p| {
            t.remove(p.addr(), u32::from(p.prefix_len()));
        },
    );
    // The LC-trie is static: iptrie updates go to its radix trie.
    updates(
        &mut g,
        "iptrie-radix",
        &mut rt,
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

/// The median, 99th percentile and largest of `spent`, in microseconds.
pub(crate) fn percentiles(spent: &mut [Duration]) -> String {
    spent.sort_unstable();
    let at = |q: f64| spent[((spent.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    format!(
        "median {:.2} µs, 99th percentile {:.2} µs, 99.9th {:.2} µs, largest {:.2} µs",
        at(0.5),
        at(0.99),
        at(0.999),
        at(1.0)
    )
}

/// Times each change of a churn of 100,000 removes and re-inserts on the
/// full table, for the FIB (table and FIB both changed) and the table alone.
fn latency4(t: &V4) {
    let churn = churn4(&t.pfx, &mut Rng::new(9), 100_000);
    let mut fib = t.fib.clone();
    let mut spent = Vec::with_capacity(churn.len());
    for &(p, v, insert) in &churn {
        let start = Instant::now();
        if insert {
            black_box(fib.insert(black_box(p), v));
        } else {
            black_box(fib.remove(black_box(&p)));
        }
        spent.push(start.elapsed());
    }
    eprintln!("update vrsim-fib: {}", percentiles(&mut spent));
    let mut table = t.vrsim.clone();
    spent.clear();
    for &(p, v, insert) in &churn {
        let start = Instant::now();
        if insert {
            black_box(table.insert(black_box(p), v));
        } else {
            black_box(table.remove(black_box(&p)));
        }
        spent.push(start.elapsed());
    }
    eprintln!("update vrsim-lpm: {}", percentiles(&mut spent));
}

fn bench_v4(c: &mut Criterion) {
    let mut t = v4();
    latency4(&t);
    let mut rng = Rng::new(1);
    let uniform: Vec<_> = (0..SET)
        .map(|_| Ipv4Addr::from(rng.next() as u32))
        .collect();
    let matching = matching4(&t.pfx, &mut rng, SET);
    let hot = matching[..HOT].to_vec();
    lookups4(c, &t, "uniform", &uniform);
    lookups4(c, &t, "matching", &matching);
    lookups4(c, &t, "hot", &hot);
    build4(c, &t);
    updates4(c, &mut t);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_v4, v6::bench_v6
}
criterion_main!(benches);
