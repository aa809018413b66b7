//! Building a table from many prefixes at once.
//!
//! Inserting one prefix at a time reallocates a node's value slice on every
//! insertion. The bulk build sets every bit first, then allocates each node's
//! values once, in node order, so a node's values are written once and the
//! value slices of neighbouring nodes end up near each other in memory.

use crate::bits::heap_pos;
use crate::trie::{Trie, byte_at, locate, mask};

impl<V> Trie<V> {
    /// A table of `width`-bit keys holding `items` (`(key, length, value)`); a
    /// later item for the same prefix replaces an earlier one.
    pub(crate) fn bulk(width: u32, items: Vec<(u128, u32, V)>) -> Self {
        let mut t = Trie::new(width);
        let mut items: Vec<(u128, u32, V)> = items
            .into_iter()
            .map(|(k, len, v)| (mask(k, len.min(width)), len.min(width), v))
            .collect();
        // Stable, so duplicates stay in input order and the last one wins below.
        items.sort_by_key(|&(k, len, _)| (k, len));
        let mut placed: Vec<(u32, u32, V)> = Vec::with_capacity(items.len());
        let mut short = Vec::new();
        for (key, len, value) in items {
            let (depth, k) = locate(len);
            let Some(node) = t.walk(key, depth, true) else {
                continue;
            };
            let pos = heap_pos(k, byte_at(key, depth));
            let bits = &mut t.bits[node as usize];
            if bits.test(pos) {
                // The same prefix as the previous item: sorting made them adjacent.
                if let Some(last) = placed.last_mut() {
                    last.2 = value;
                }
                continue;
            }
            bits.set(pos);
            placed.push((node, pos as u32, value));
            if len <= 16 {
                short.push((len, key, node, pos));
            }
        }
        t.set_len(placed.len());
        placed.sort_unstable_by_key(|&(node, pos, _)| (node, pos));
        let mut placed = placed.into_iter().peekable();
        while let Some(&(node, _, _)) = placed.peek() {
            let n = node as usize;
            let count = t.bits[n].0.iter().map(|w| w.count_ones() as usize).sum();
            let mut values = Vec::with_capacity(count);
            while let Some((_, _, v)) = placed.next_if(|&(m, _, _)| m == node) {
                values.push(v);
            }
            t.aux[n].values = values.into_boxed_slice();
            t.aux[n].cum = t.bits[n].cum();
        }
        // Shorter prefixes first, so each slot ends with its longest cover.
        short.sort_unstable_by_key(|&(len, key, _, _)| (len, key));
        for (len, key, node, pos) in short {
            t.push_fallback(key, len, node, pos);
        }
        t.shrink_to_fit();
        t
    }
}
