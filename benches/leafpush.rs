//! What the leaf-pushed FIB (`vrsim_lpm::Fib4`, issue 18) buys over `vrsim-lpm`'s tree
//! bitmap. This began as a design study with its own copy of the structure; the
//! structure now lives in the library, and this benchmark measures it.
//!
//! The project's targets for `vrsim-lpm` include both ≤ 8 bytes per prefix and
//! batched lookups ≥ 100 M/s. `vrsim-lpm` meets the first; its lookup (an 8-level search of a 511-bit
//! tree-bitmap node, then a rank) costs about 108 instructions single and 127
//! batched, and tops out near 60 M/s batched on uniform addresses here. This
//! benchmark measures the other side of the trade: a read-only, statically built
//! structure in the style of Poptrie (Asai & Ohara, SIGCOMM 2015) with 8-bit
//! strides, DIR-16-8-8 like the vRouter's `mtrie`. Its lookups cost 40
//! instructions as compiled here and 33 with POPCNT (callgrind, on a standalone
//! copy of this code). It is compiled from a table and has no updates of its
//! own yet, no `get`, `remove` or `iter`, and no keys.
//!
//! ```text
//!  direct: [u32; 65536]    a leaf, or NODE | node index
//!  node (one cache line):  run-start bitmap over 256 slots, leaf base, per-word counts
//!  leaves: [u32]           one per run of equal slots: value index << 7 | CHILD | length
//!  values: [u32]           the prefixes' values, each stored once
//! ```
//!
//! Every prefix is pushed down to the `/16`, `/24` or `/32` slots it covers, so
//! each slot names its longest match; a node stores only where runs of equal
//! slots start (a popcount finds the run) and one leaf per run. A leaf names the
//! value and the length, so the lookup returns both, as `longest_match_len` does.
//! A `/24` slot holding longer prefixes names a child node instead.
//!
//! Only single lookups are compared. A batch needs software prefetch to
//! overlap its fetches, and so `unsafe`, which this study does not add to the
//! repository. Two batches were timed on a standalone copy, not reproducible
//! from here: a staged one without prefetch ran slower than single lookups
//! (20–61 M/s), and one with `_mm_prefetch` and a fourth stage for the leaves
//! reached 78–97 M/s where `vrsim-lpm`'s `lookup_batch` did 58–68 M/s.
//!
//! Before measuring, the benchmark checks that the FIB answers exactly as
//! `vrsim-lpm` does (the same matched length and value) on every benchmark
//! address; `tests/lpm_differential.rs` checks both ends of every prefix. It
//! then prints the FIB's distinct values and its bytes per prefix beside
//! `vrsim-lpm`'s.
//!
//! Run: `cargo bench --bench leafpush -- --warm-up-time 1 --measurement-time 3`.

// Setup code outside measured closures unwraps data that is part of the repository.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipnet::Ipv4Net;
use prefix_trie::PrefixMap;
use vrsim_lpm::{Fib4, Ipv4Table};

#[allow(dead_code)]
#[path = "lpm/data.rs"]
mod data;

use data::{Rng, load_v4, matching4};

fn bench(c: &mut Criterion) {
    let pfx = load_v4();
    let n = pfx.len();
    let vrsim: Ipv4Table<u32> = pfx.iter().copied().collect();
    let mut ptrie = PrefixMap::<Ipv4Net, u32>::new();
    for &(p, v) in &pfx {
        ptrie.insert(p, v);
    }
    let fib = Fib4::from_table(vrsim.clone()).unwrap();
    eprintln!(
        "leaf-pushed FIB: {} distinct values, {:.2} bytes/prefix; vrsim-lpm {:.2}",
        fib.values(),
        fib.memory_usage() as f64 / n as f64,
        vrsim.memory_usage() as f64 / n as f64,
    );
    let mut rng = Rng::new(0x5eed_1eaf);
    let uniform: Vec<Ipv4Addr> = (0..1 << 16)
        .map(|_| Ipv4Addr::from(rng.next() as u32))
        .collect();
    let matching = matching4(&pfx, &mut rng, 1 << 16);
    for (set, addrs) in [("uniform", &uniform), ("matching", &matching)] {
        // Only worth measuring if it answers as the table does.
        for &a in addrs.iter() {
            let want = vrsim.longest_match_len(a).map(|(l, v)| (l, *v));
            assert_eq!(fib.lookup(a), want, "{a}");
        }
        let mut g = c.benchmark_group(format!("leafpush/{set}"));
        g.throughput(Throughput::Elements(addrs.len() as u64));
        g.bench_function("single/leafpush", |b| {
            b.iter(|| {
                for &a in addrs.iter() {
                    black_box(fib.lookup(black_box(a)));
                }
            })
        });
        g.bench_function("single/vrsim-lpm", |b| {
            b.iter(|| {
                for &a in addrs.iter() {
                    black_box(vrsim.longest_match_len(black_box(a)));
                }
            })
        });
        g.bench_function("single/prefix-trie", |b| {
            b.iter(|| {
                for &a in addrs.iter() {
                    black_box(ptrie.get_lpm(&Ipv4Net::from(black_box(a))));
                }
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
