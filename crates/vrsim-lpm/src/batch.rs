//! The IPv4 lookup paths: one address at a time, and in overlapped groups.
//!
//! A lookup is three dependent memory accesses: the `/16` direct-table entry
//! (256 KiB, mostly cache-resident), the depth-16 node's bitmap and aux record
//! (independent of each other, fetched together), and the value. One lookup
//! leaves the core waiting on each in turn; `lookup_batch` runs each stage for a
//! group of addresses before the next stage, so the group's accesses to one level
//! are all in flight at once.

use std::net::Ipv4Addr;

use crate::bits::{level_of, rank};
use crate::trie::{NONE, TAG};
use crate::v4::Ipv4Table;

/// Addresses resolved together by `lookup_batch`.
const GROUP: usize = 16;

/// Where a lookup's value lives: node, index in its values, matched length.
#[derive(Clone, Copy, Default)]
struct Found {
    node: u32,
    index: u32,
    len: u32,
    hit: bool,
}

impl<V> Ipv4Table<V> {
    /// Resolves a direct-table entry and an address to the matched value's place.
    #[inline(always)]
    fn resolve(&self, entry: u32, a: u32) -> Found {
        let t = &self.trie;
        if entry & TAG == 0 {
            return self.resolve_code(entry);
        }
        let n = (entry & !TAG) as usize;
        let (Some(bits), Some(aux)) = (t.bits.get(n), t.aux.get(n)) else {
            return Found::default();
        };
        let b = ((a >> 8) & 0xff) as usize;
        if aux.kids != NONE
            && let Some(found) = self.resolve_deep(aux.kids, b, a)
        {
            return found;
        }
        let pos = bits.best(b);
        if pos == 0 {
            return self.resolve_code(aux.fb);
        }
        Found {
            node: n as u32,
            index: rank(bits, aux.cum, pos) as u32,
            len: 16 + level_of(pos),
            hit: true,
        }
    }

    /// The match inside the depth-24 child for byte `b`, if there is one.
    #[inline(never)]
    fn resolve_deep(&self, kids: u32, b: usize, a: u32) -> Option<Found> {
        let t = &self.trie;
        let c = t.kids.get(kids as usize)?.get(b)? as usize;
        let bits = t.bits.get(c)?;
        let pos = bits.best((a & 0xff) as usize);
        if pos == 0 {
            return None;
        }
        Some(Found {
            node: c as u32,
            index: rank(bits, t.aux.get(c)?.cum, pos) as u32,
            len: 24 + level_of(pos),
            hit: true,
        })
    }

    /// Resolves a fallback code (a prefix of length `<= 16`, or none).
    #[inline]
    fn resolve_code(&self, code: u32) -> Found {
        let t = &self.trie;
        let pos = (code & 511) as usize;
        let n = (code >> 9) as usize;
        match (pos, t.bits.get(n), t.aux.get(n)) {
            (1.., Some(bits), Some(aux)) => Found {
                node: n as u32,
                index: rank(bits, aux.cum, pos) as u32,
                len: if n == 0 { 0 } else { 8 } + level_of(pos),
                hit: true,
            },
            _ => Found::default(),
        }
    }

    #[inline(always)]
    fn value(&self, f: Found) -> Option<&V> {
        if !f.hit {
            return None;
        }
        self.trie
            .aux
            .get(f.node as usize)?
            .values
            .get(f.index as usize)
    }

    /// The longest match for `a` as (prefix length, value).
    #[inline]
    pub(crate) fn lookup(&self, a: u32) -> Option<(u32, &V)> {
        let entry = self.trie.direct[(a >> 16) as usize];
        let f = self.resolve(entry, a);
        self.value(f).map(|v| (f.len, v))
    }
}

/// See [`Ipv4Table::lookup_batch`].
pub(crate) fn lookup_batch_v4<V: Copy>(
    table: &Ipv4Table<V>,
    addrs: &[Ipv4Addr],
    out: &mut [Option<V>],
) {
    let n = addrs.len().min(out.len());
    for (a, o) in addrs[..n].chunks(GROUP).zip(out[..n].chunks_mut(GROUP)) {
        let mut entries = [0u32; GROUP];
        for (e, addr) in entries.iter_mut().zip(a) {
            *e = table.trie.direct[(u32::from(*addr) >> 16) as usize];
        }
        let mut found = [Found::default(); GROUP];
        for ((f, e), addr) in found.iter_mut().zip(entries).zip(a) {
            *f = table.resolve(e, u32::from(*addr));
        }
        for (slot, f) in o.iter_mut().zip(found) {
            *slot = table.value(f).copied();
        }
    }
}
