//! The IPv4 lookup paths: one address at a time, and in overlapped groups.
//!
//! A lookup is three dependent memory accesses: the `/16` direct-table entry
//! (512 KiB, mostly cache-resident), the depth-16 node's bitmap and aux record
//! (independent of each other, fetched together), and the value. One lookup
//! leaves the core waiting on each in turn; `lookup_batch` runs each stage for a
//! group of addresses before the next stage, so the group's accesses to one level
//! are all in flight at once.
//!
//! Both paths count instructions as much as memory: on the real table a single
//! lookup is about 108 instructions and a batched one about 127 (callgrind),
//! and with 4,096 cache-resident addresses they run at 58 and 89 M/s.

use std::hint::select_unpredictable;
use std::net::Ipv4Addr;

use crate::arch::prefetch;
use crate::bits::{level_of, rank};
use crate::trie::{DEEP, EMPTY, NODE, ROOT};
use crate::v4::Ipv4Table;

impl<V: Copy> Ipv4Table<V> {
    /// Looks up every address of `addrs` and writes the value of its longest match
    /// (or `None`) to the same index of `out`. Only the first
    /// `addrs.len().min(out.len())` addresses are looked up.
    ///
    /// Independent lookups are processed in groups whose memory accesses overlap,
    /// so this is several times faster per address than a loop of
    /// [`longest_match`](Self::longest_match) on a large table.
    pub fn lookup_batch(&self, addrs: &[Ipv4Addr], out: &mut [Option<V>]) {
        lookup_batch_v4(self, addrs, out);
    }
}

/// Where a lookup's value lives: node and heap position (0: no match), and the
/// node's depth (so the matched length is `depth + level(pos)`).
#[derive(Clone, Copy, Default)]
struct Found {
    node: usize,
    pos: usize,
    depth: u32,
}

impl<V> Ipv4Table<V> {
    /// Resolves an address, given its direct-table entry, to the place of its
    /// value. Branch-free except for the rare nodes with depth-24 children.
    #[inline(always)]
    fn resolve(&self, entry: u64, a: u32) -> Found {
        let t = &self.trie;
        // Slots without a depth-16 node name the always-empty node.
        let n = (entry as u32 & NODE) as usize;
        let b = ((a >> 8) & 0xff) as usize;
        if entry as u32 & DEEP != 0 {
            let found = self.resolve_deep(n, b, a);
            if found.pos != 0 {
                return found;
            }
        }
        let pos = t.bits.get(n).map_or(0, |bits| bits.best(b));
        // Selects rather than `if`: a branch would mispredict on random
        // addresses (see `Bits::best`). A slot that no short prefix covers has
        // the code `NO_CODE`, which names the empty node: its value lookup fails
        // without a branch on the outcome.
        let code = (entry >> 32) as usize;
        let code_node = code >> 9;
        let hit = pos != 0;
        Found {
            node: select_unpredictable(hit, n, code_node),
            pos: select_unpredictable(hit, pos, code & 511),
            depth: select_unpredictable(
                hit,
                16,
                select_unpredictable(code_node == ROOT as usize, 0, 8),
            ),
        }
    }

    /// The match inside the depth-24 child for byte `b`; position 0 if there is
    /// none. Out of line: on an Internet table few slots have such children.
    #[inline(never)]
    fn resolve_deep(&self, node: usize, b: usize, a: u32) -> Found {
        let t = &self.trie;
        let child = t.links.get(node).and_then(|&link| t.via(link, b as u32));
        let c = child.map_or(EMPTY, |c| c as usize);
        Found {
            node: c,
            pos: t
                .bits
                .get(c)
                .map_or(0, |bits| bits.best((a & 0xff) as usize)),
            depth: 24,
        }
    }

    /// The found value.
    #[inline(always)]
    fn value_of(&self, f: Found) -> Option<&V> {
        let t = &self.trie;
        let (bits, aux) = (t.bits.get(f.node)?, t.aux.get(f.node)?);
        // A miss resolves to the empty node, which has no values.
        aux.values.get(rank(bits, aux.cum, f.pos))
    }

    /// The longest match for `a` as (prefix length, value).
    ///
    /// Compiled for the baseline target: detecting POPCNT and LZCNT at run time
    /// costs more per lookup than the instructions save (see `arch`), unlike in
    /// `lookup_batch`, which detects them once per batch.
    #[inline(always)]
    pub(crate) fn lookup(&self, a: u32) -> Option<(u32, &V)> {
        let entry = self.trie.direct.get((a >> 16) as usize);
        let f = self.resolve(entry, a);
        self.value_of(f).map(|v| (f.depth + level_of(f.pos), v))
    }
}

/// See [`Ipv4Table::lookup_batch`].
///
/// Groups of 32 addresses go through three stages: read the direct-table
/// entries and prefetch the nodes they name; resolve each address in its node
/// and prefetch its value; copy the values out. So a group's 32 node fetches,
/// then its 32 value fetches, are in flight together. (A rolling software
/// pipeline that kept 16 node and 8 value fetches in flight across group
/// boundaries cost 20 more instructions per address and was no faster.)
///
/// On x86_64 CPUs with POPCNT and LZCNT, detected once per call, the loop runs
/// in a copy compiled with them.
#[allow(unsafe_code)]
pub(crate) fn lookup_batch_v4<V: Copy>(
    table: &Ipv4Table<V>,
    addrs: &[Ipv4Addr],
    out: &mut [Option<V>],
) {
    #[cfg(target_arch = "x86_64")]
    if crate::arch::has_bit_ops() {
        // SAFETY: `batch_bit_ops` only requires the `popcnt` and `lzcnt` target
        // features, and `has_bit_ops` has just detected both on this CPU.
        return unsafe { batch_bit_ops(table, addrs, out) };
    }
    batch_portable(table, addrs, out);
}

/// [`batch_portable`] compiled with the POPCNT and LZCNT instructions, which the
/// x86_64 baseline lacks: `count_ones` and `leading_zeros` become one
/// instruction each instead of a dozen.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt,lzcnt")]
fn batch_bit_ops<V: Copy>(table: &Ipv4Table<V>, addrs: &[Ipv4Addr], out: &mut [Option<V>]) {
    batch_portable(table, addrs, out);
}

/// The software pipeline itself.
#[inline(always)]
fn batch_portable<V: Copy>(table: &Ipv4Table<V>, addrs: &[Ipv4Addr], out: &mut [Option<V>]) {
    const GROUP: usize = 32;
    let t = &table.trie;
    let n = addrs.len().min(out.len());
    for (addrs, out) in addrs[..n].chunks(GROUP).zip(out[..n].chunks_mut(GROUP)) {
        // Stage 1: direct-table entries; prefetch the nodes they name.
        let mut entries = [0u64; GROUP];
        for (e, addr) in entries.iter_mut().zip(addrs) {
            *e = t.direct.get((u32::from(*addr) >> 16) as usize);
            let node = (*e as u32 & NODE) as usize;
            if let (Some(bits), Some(aux)) = (t.bits.get(node), t.aux.get(node)) {
                prefetch(bits);
                prefetch(aux);
            }
        }
        // Stage 2: resolve each address in its node; prefetch the value.
        let mut values: [Option<&V>; GROUP] = [None; GROUP];
        for ((v, e), addr) in values.iter_mut().zip(entries).zip(addrs) {
            *v = table.value_of(table.resolve(e, u32::from(*addr)));
            if let Some(v) = v {
                prefetch(*v);
            }
        }
        // Stage 3: copy the values out.
        for (o, v) in out.iter_mut().zip(values) {
            *o = v.copied();
        }
    }
}
