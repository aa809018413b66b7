//! The IPv4 lookup paths: one address at a time, and in overlapped groups.
//!
//! A lookup is three dependent memory accesses: the `/16` direct-table entry
//! (256 KiB, mostly cache-resident), the depth-16 node's bitmap and aux record
//! (independent of each other, fetched together), and the value. One lookup
//! leaves the core waiting on each in turn; `lookup_batch` runs each stage for a
//! group of addresses before the next stage, so the group's accesses to one level
//! are all in flight at once.

use std::hint::select_unpredictable;
use std::net::Ipv4Addr;

use crate::arch::prefetch;
use crate::bits::{level_of, rank};
use crate::trie::{DEEP, EMPTY, NODE};
use crate::v4::Ipv4Table;

/// Where a lookup's value lives: node and heap position (0: no match), and the
/// node's depth (so the matched length is `depth + level(pos)`).
#[derive(Clone, Copy, Default)]
struct Found {
    node: usize,
    pos: usize,
    depth: u32,
}

impl<V> Ipv4Table<V> {
    /// The depth-16 node of a direct-table entry, or the always-empty node.
    #[inline(always)]
    fn node_of(entry: u64) -> usize {
        let low = entry as u32;
        let m = (low >> 31).wrapping_neg();
        ((low & NODE & m) | (EMPTY as u32 & !m)) as usize
    }

    /// Resolves an address, given its direct-table entry, to the place of its
    /// value. Branch-free except for the rare nodes with depth-24 children.
    #[inline(always)]
    fn resolve(&self, entry: u64, a: u32) -> Found {
        let t = &self.trie;
        let n = Self::node_of(entry);
        let b = ((a >> 8) & 0xff) as usize;
        if entry as u32 & DEEP != 0
            && let Some(found) = self.resolve_deep(n, b, a)
        {
            return found;
        }
        let pos = t.bits.get(n).map_or(0, |bits| bits.best(b));
        // Selects rather than `if`: a branch would mispredict on random
        // addresses (see `Bits::best`).
        // Code 0 (no prefix covers the slot) becomes the empty node, whose value
        // lookup fails without a branch on the outcome.
        let code = (entry >> 32) as usize;
        let code_node = select_unpredictable(code == 0, EMPTY, code >> 9);
        let code_pos = code & 511;
        let code_depth = select_unpredictable(code >> 9 != 0, 8, 0);
        let hit = pos != 0;
        Found {
            node: select_unpredictable(hit, n, code_node),
            pos: select_unpredictable(hit, pos, code_pos),
            depth: select_unpredictable(hit, 16, code_depth),
        }
    }

    /// The match inside the depth-24 child for byte `b`, if there is one.
    #[inline(never)]
    fn resolve_deep(&self, node: usize, b: usize, a: u32) -> Option<Found> {
        let t = &self.trie;
        let c = t.via(*t.links.get(node)?, b as u32)? as usize;
        let pos = t.bits.get(c)?.best((a & 0xff) as usize);
        (pos != 0).then_some(Found {
            node: c,
            pos,
            depth: 24,
        })
    }

    /// The index of the found value in its node's values.
    #[inline(always)]
    fn index(&self, f: Found) -> usize {
        let t = &self.trie;
        match (t.bits.get(f.node), t.aux.get(f.node)) {
            (Some(bits), Some(aux)) => rank(bits, aux.cum, f.pos),
            _ => 0,
        }
    }

    /// The longest match for `a` as (prefix length, value).
    #[inline]
    pub(crate) fn lookup(&self, a: u32) -> Option<(u32, &V)> {
        let entry = self.trie.direct[(a >> 16) as usize];
        let f = self.resolve(entry, a);
        // A miss resolves to the empty node, which has no values.
        let value = self.trie.aux.get(f.node)?.values.get(self.index(f));
        value.map(|v| (f.depth + level_of(f.pos), v))
    }
}

/// See [`Ipv4Table::lookup_batch`].
///
/// A software pipeline over the addresses. At step `i` it reads the direct-table
/// entry of address `i` (a cache-resident table) and prefetches the node it
/// names; resolves address `i - NODE_AHEAD + VALUE_AHEAD`, whose node has had
/// time to arrive, and prefetches its value; and copies out the value of
/// address `i - NODE_AHEAD`. So about `NODE_AHEAD` node fetches and
/// `VALUE_AHEAD` value fetches are in flight at any time.
pub(crate) fn lookup_batch_v4<V: Copy>(
    table: &Ipv4Table<V>,
    addrs: &[Ipv4Addr],
    out: &mut [Option<V>],
) {
    const NODE_AHEAD: usize = 16;
    const VALUE_AHEAD: usize = 8;
    const RING: usize = 32;
    let t = &table.trie;
    let n = addrs.len().min(out.len());
    let mut entries = [0u64; RING];
    let mut places = [(0usize, 0usize); RING];
    for i in 0..n + NODE_AHEAD {
        if let Some(addr) = addrs.get(i) {
            let e = t.direct[(u32::from(*addr) >> 16) as usize];
            entries[i % RING] = e;
            let node = Ipv4Table::<V>::node_of(e);
            if let (Some(bits), Some(aux)) = (t.bits.get(node), t.aux.get(node)) {
                prefetch(bits);
                prefetch(aux);
            }
        }
        if let Some(k) = (i + VALUE_AHEAD).checked_sub(NODE_AHEAD).filter(|&k| k < n) {
            let f = table.resolve(entries[k % RING], u32::from(addrs[k]));
            let index = table.index(f);
            if let Some(v) = t.aux.get(f.node).and_then(|x| x.values.get(index)) {
                prefetch(v);
            }
            places[k % RING] = (f.node, index);
        }
        if let Some(m) = i.checked_sub(NODE_AHEAD) {
            let (node, index) = places[m % RING];
            if let Some(slot) = out.get_mut(m) {
                *slot = t.aux.get(node).and_then(|x| x.values.get(index)).copied();
            }
        }
    }
}
