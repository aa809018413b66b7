//! Design study: what a leaf-pushed FIB would buy over `vrsim-lpm`'s tree bitmap.
//!
//! The project's targets for `vrsim-lpm` include both ≤ 8 bytes per prefix and
//! batched lookups ≥ 100 M/s. `vrsim-lpm` meets the first; its lookup (an 8-level search of a 511-bit
//! tree-bitmap node, then a rank) costs about 108 instructions single and 127
//! batched, and tops out near 60 M/s batched on uniform addresses here. This
//! benchmark measures the other side of the trade: a read-only, statically built
//! structure in the style of Poptrie (Asai & Ohara, SIGCOMM 2015) with 8-bit
//! strides, DIR-16-8-8 like the vRouter's `mtrie`. Its lookups cost 40
//! instructions as compiled here and 33 with POPCNT (callgrind, on a standalone
//! copy of this code). It is not part of the library: it has no updates, no
//! `get`, `remove` or `iter`, and no keys.
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
//! Before measuring, the study checks that the structure answers exactly as
//! `vrsim-lpm` does (the same matched prefix) at the first and last address of
//! every prefix and the address just past it, and on every benchmark address.
//! It then prints the structure's node and leaf counts, the number of prefixes
//! that no leaf names (longer prefixes cover all their addresses), and its
//! bytes per prefix beside `vrsim-lpm`'s.
//!
//! Run: `cargo bench --bench leafpush -- --warm-up-time 1 --measurement-time 3`.

// Setup code outside measured closures unwraps data that is part of the repository.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipnet::Ipv4Net;
use prefix_trie::PrefixMap;
use vrsim_lpm::Ipv4Table;

#[allow(dead_code)]
#[path = "lpm/data.rs"]
mod data;

use data::{Rng, load_v4, matching4};

/// A direct-table entry naming a node rather than holding a leaf.
const NODE: u32 = 1 << 31;
/// A leaf naming a child node (index above bit 7) rather than a value.
const CHILD: u32 = 1 << 6;
/// The leaf of a slot no prefix covers: its value index is out of range.
const MISS: u32 = !NODE & !CHILD;

/// One node: the starts of the runs among its 256 slots.
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct Node {
    starts: [u64; 4],
    /// Index of the node's first leaf.
    base: u32,
    /// Byte `i` (`0..3`): the number of runs starting in words `0..=i`.
    cum: u32,
}

/// The leaf-pushed table.
struct Fib {
    direct: Vec<u32>,
    nodes: Vec<Node>,
    leaves: Vec<u32>,
    values: Vec<u32>,
}

fn leaf(index: usize, len: u8) -> u32 {
    ((index as u32) << 7) | u32::from(len)
}

/// Fills `slots[lo..lo + 2^(stride_end - len)]` with `lf`: the slots a prefix of
/// length `len` covers at the level whose slots end at bit `stride_end`.
fn push(slots: &mut [u32], lo: usize, len: u8, stride_end: u8, lf: u32) {
    let n = 1usize << (stride_end - len);
    slots[lo..lo + n].fill(lf);
}

impl Fib {
    fn build(mut pfx: Vec<(Ipv4Net, u32)>) -> Fib {
        // Value and node indices must stay below the `NODE` bit and `MISS`.
        assert!(pfx.len() < 1 << 24, "too many prefixes for 24-bit indices");
        // Shorter prefixes first, so longer ones overwrite the slots they cover.
        pfx.sort_by_key(|(p, _)| (p.prefix_len(), u32::from(p.addr())));
        let values = pfx.iter().map(|p| p.1).collect();
        let mut direct = vec![MISS; 1 << 16];
        let mut level24: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        let mut level32: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (i, (p, _)) in pfx.iter().enumerate() {
            let (a, len) = (u32::from(p.addr()), p.prefix_len());
            let lf = leaf(i, len);
            if len <= 16 {
                push(&mut direct, (a >> 16) as usize, len, 16, lf);
            } else if len <= 24 {
                let d = direct[(a >> 16) as usize];
                let slots = level24.entry(a >> 16).or_insert_with(|| vec![d; 256]);
                push(slots, ((a >> 8) & 0xff) as usize, len, 24, lf);
            } else {
                let above = match level24.get(&(a >> 16)) {
                    Some(s) => s[((a >> 8) & 0xff) as usize],
                    None => direct[(a >> 16) as usize],
                };
                let slots = level32.entry(a >> 8).or_insert_with(|| vec![above; 256]);
                push(slots, (a & 0xff) as usize, len, 32, lf);
            }
        }
        for &top24 in level32.keys() {
            let d = direct[(top24 >> 8) as usize];
            level24.entry(top24 >> 8).or_insert_with(|| vec![d; 256]);
        }
        let mut fib = Fib {
            direct,
            nodes: Vec::new(),
            leaves: Vec::new(),
            values,
        };
        let mut children = BTreeMap::new();
        for (&top24, slots) in &level32 {
            children.insert(top24, fib.compress(slots));
        }
        for (&top16, slots) in &mut level24 {
            for (b, slot) in slots.iter_mut().enumerate() {
                if let Some(&child) = children.get(&((top16 << 8) | b as u32)) {
                    *slot = (child << 7) | CHILD;
                }
            }
            fib.direct[top16 as usize] = NODE | fib.compress(slots);
        }
        fib
    }

    /// Appends a node for 256 slots and the leaves of its runs; its index.
    fn compress(&mut self, slots: &[u32]) -> u32 {
        let mut node = Node {
            base: self.leaves.len() as u32,
            ..Node::default()
        };
        for (i, &lf) in slots.iter().enumerate() {
            if i == 0 || slots[i - 1] != lf {
                node.starts[i >> 6] |= 1 << (i & 63);
                self.leaves.push(lf);
            }
        }
        let mut acc = 0;
        for (i, w) in node.starts[..3].iter().enumerate() {
            acc += w.count_ones();
            node.cum |= acc << (8 * i);
        }
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    /// The number of prefixes no leaf names: longer prefixes cover all their
    /// addresses, so a leaf-pushed table would have to keep them elsewhere.
    fn unnamed(&self) -> usize {
        let mut named = vec![false; self.values.len()];
        let direct_leaves = self.direct.iter().filter(|&&e| e & NODE == 0);
        for &lf in direct_leaves.chain(&self.leaves) {
            if lf & CHILD == 0
                && let Some(n) = named.get_mut((lf >> 7) as usize)
            {
                *n = true;
            }
        }
        named.iter().filter(|&&n| !n).count()
    }

    fn memory(&self) -> usize {
        4 * (self.direct.len() + self.leaves.len() + self.values.len())
            + std::mem::size_of::<Node>() * self.nodes.len()
    }

    /// The index of the leaf of slot `b` of `n`: the run containing it.
    #[inline(always)]
    fn leaf_index(n: &Node, b: u32) -> usize {
        let w = (b >> 6) as usize & 3;
        let before = (u64::from(n.cum) << 8 >> (8 * w)) & 0xff;
        let upto = n.starts[w] & (u64::MAX >> (63 - (b & 63)));
        (n.base as usize + before as usize + upto.count_ones() as usize).wrapping_sub(1)
    }

    #[inline(always)]
    fn in_node(&self, node: usize, b: u32) -> u32 {
        self.nodes
            .get(node)
            .and_then(|n| self.leaves.get(Self::leaf_index(n, b)))
            .copied()
            .unwrap_or(MISS)
    }

    /// The longest match's length and value.
    #[inline(always)]
    fn lookup(&self, a: u32) -> Option<(u32, &u32)> {
        let e = self.direct[(a >> 16) as usize];
        let mut lf = e;
        if e & NODE != 0 {
            lf = self.in_node((e & !NODE) as usize, (a >> 8) & 0xff);
            if lf & CHILD != 0 {
                lf = self.in_node((lf >> 7) as usize, a & 0xff);
            }
        }
        self.values.get((lf >> 7) as usize).map(|v| (lf & 63, v))
    }
}

/// The design is only worth measuring if it answers correctly: with each
/// prefix's index as its value, the structure must find the same prefix as
/// `vrsim-lpm` at both ends of every prefix and just past its end.
fn check(pfx: &[(Ipv4Net, u32)]) {
    let ids: Vec<(Ipv4Net, u32)> = (0..).zip(pfx).map(|(i, &(p, _))| (p, i)).collect();
    let table: Ipv4Table<u32> = ids.iter().copied().collect();
    let fib = Fib::build(ids);
    for (p, _) in pfx {
        let last = u32::from(p.broadcast());
        for a in [u32::from(p.network()), last, last.wrapping_add(1)] {
            let want = table.longest_match_len(Ipv4Addr::from(a));
            assert_eq!(
                want.map(|(l, v)| (u32::from(l), v)),
                fib.lookup(a),
                "{}",
                Ipv4Addr::from(a)
            );
        }
    }
}

fn bench(c: &mut Criterion) {
    let pfx = load_v4();
    let n = pfx.len();
    let vrsim: Ipv4Table<u32> = pfx.iter().copied().collect();
    let mut ptrie = PrefixMap::<Ipv4Net, u32>::new();
    for &(p, v) in &pfx {
        ptrie.insert(p, v);
    }
    let fib = Fib::build(pfx.clone());
    check(&pfx);
    eprintln!(
        "leaf-pushed FIB: {} nodes, {} leaves ({:.2} per prefix), {} prefixes in no leaf, \
         {:.2} bytes/prefix; vrsim-lpm {:.2}",
        fib.nodes.len(),
        fib.leaves.len(),
        fib.leaves.len() as f64 / n as f64,
        fib.unnamed(),
        fib.memory() as f64 / n as f64,
        vrsim.memory_usage() as f64 / n as f64,
    );
    let mut rng = Rng::new(0x5eed_1eaf);
    let uniform: Vec<Ipv4Addr> = (0..1 << 16)
        .map(|_| Ipv4Addr::from(rng.next() as u32))
        .collect();
    let matching = matching4(&pfx, &mut rng, 1 << 16);
    for (set, addrs) in [("uniform", &uniform), ("matching", &matching)] {
        for &a in addrs.iter() {
            let want = vrsim.longest_match_len(a);
            let got = fib.lookup(u32::from(a));
            assert_eq!(want.map(|(l, v)| (u32::from(l), v)), got, "{a}");
        }
        let mut g = c.benchmark_group(format!("leafpush/{set}"));
        g.throughput(Throughput::Elements(addrs.len() as u64));
        g.bench_function("single/leafpush", |b| {
            b.iter(|| {
                for &a in addrs.iter() {
                    black_box(fib.lookup(u32::from(black_box(a))));
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
