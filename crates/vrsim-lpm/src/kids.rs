//! The children of a node, and the per-node link that finds them.
//!
//! `Trie::links[node]` is one of:
//! - [`NONE`]: no children;
//! - `SINGLE | byte << 23 | child`: exactly one child, below `byte`, stored
//!   inline (most nodes of a sparse IPv6 table), so a lookup reaches it with no
//!   further memory access;
//! - otherwise the index of a [`Kids`] record in `Trie::kids`.

use crate::slice::{boxed_insert, boxed_remove};
use crate::trie::{NONE, Trie};

/// Marks a link holding its node's only child inline.
const SINGLE: u32 = 1 << 31;
/// The largest child index an inline link can hold (`NONE` stays distinct).
const SINGLE_MAX: u32 = (1 << 23) - 2;

/// The children of a node with several: one bit per next byte, child indices in
/// byte order, the first one inline.
#[derive(Clone, Debug)]
pub(crate) struct Kids {
    map: [u64; 4],
    first: u32,
    rest: Box<[u32]>,
}

impl Kids {
    fn new() -> Self {
        Kids {
            map: [0; 4],
            first: NONE,
            rest: Box::default(),
        }
    }

    /// The child for `byte`, if any.
    #[inline]
    pub(crate) fn get(&self, byte: usize) -> Option<u32> {
        let b = byte & 0xff;
        if (self.map[b >> 6] >> (b & 63)) & 1 == 0 {
            return None;
        }
        match self.rank(b) {
            0 => Some(self.first),
            r => self.rest.get(r - 1).copied(),
        }
    }

    fn rank(&self, b: usize) -> usize {
        let w = (b >> 6) & 3;
        let before: u32 = self.map[..w].iter().map(|m| m.count_ones()).sum();
        (before + (self.map[w] & ((1u64 << (b & 63)) - 1)).count_ones()) as usize
    }

    fn count(&self) -> u32 {
        self.map.iter().map(|m| m.count_ones()).sum()
    }

    /// Heap bytes held beyond the record itself.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.rest.len() * std::mem::size_of::<u32>()
    }

    fn add(&mut self, byte: u32, child: u32) {
        let b = (byte & 0xff) as usize;
        let at = self.rank(b);
        if self.count() == 0 {
            self.first = child;
        } else if at == 0 {
            boxed_insert(&mut self.rest, 0, self.first);
            self.first = child;
        } else {
            boxed_insert(&mut self.rest, at - 1, child);
        }
        self.map[b >> 6] |= 1 << (b & 63);
    }

    fn remove(&mut self, byte: u32) {
        let b = (byte & 0xff) as usize;
        if (self.map[b >> 6] >> (b & 63)) & 1 == 0 {
            return;
        }
        let at = self.rank(b);
        if at > 0 {
            boxed_remove(&mut self.rest, at - 1);
        } else {
            self.first = boxed_remove(&mut self.rest, 0).unwrap_or(NONE);
        }
        self.map[b >> 6] &= !(1 << (b & 63));
    }

    /// The byte and index of the only child, if there is exactly one.
    fn only(&self) -> Option<(u32, u32)> {
        if self.count() != 1 {
            return None;
        }
        let (w, m) = self.map.iter().enumerate().find(|(_, m)| **m != 0)?;
        Some((w as u32 * 64 + m.trailing_zeros(), self.first))
    }
}

impl<V> Trie<V> {
    /// The child below `byte` of the node whose link is `link`.
    #[inline]
    pub(crate) fn via(&self, link: u32, byte: u32) -> Option<u32> {
        if link == NONE {
            None
        } else if link & SINGLE != 0 {
            ((link >> 23) & 0xff == byte & 0xff).then_some(link & 0x7f_ffff)
        } else {
            self.kids.get(link as usize)?.get(byte as usize)
        }
    }

    /// The child of `node` below `byte`.
    pub(crate) fn child(&self, node: u32, byte: u32) -> Option<u32> {
        self.via(*self.links.get(node as usize)?, byte)
    }

    fn new_kids(&mut self, kids: Kids) -> u32 {
        match self.free_kids.pop() {
            Some(f) => {
                self.kids[f as usize] = kids;
                f
            }
            None => {
                self.kids.push(kids);
                (self.kids.len() - 1) as u32
            }
        }
    }

    pub(crate) fn add_child(&mut self, node: u32, byte: u32, child: u32) {
        let n = node as usize;
        let link = self.links[n];
        if link == NONE && child <= SINGLE_MAX {
            self.links[n] = SINGLE | (byte & 0xff) << 23 | child;
            return;
        }
        let k = if link == NONE {
            self.new_kids(Kids::new())
        } else if link & SINGLE != 0 {
            let mut kids = Kids::new();
            kids.add((link >> 23) & 0xff, link & 0x7f_ffff);
            self.new_kids(kids)
        } else {
            link
        };
        self.links[n] = k;
        self.kids[k as usize].add(byte, child);
    }

    pub(crate) fn remove_child(&mut self, node: u32, byte: u32) {
        let n = node as usize;
        let link = self.links[n];
        if link == NONE {
            return;
        }
        if link & SINGLE != 0 {
            if (link >> 23) & 0xff == byte & 0xff {
                self.links[n] = NONE;
            }
            return;
        }
        let Some(kids) = self.kids.get_mut(link as usize) else {
            return;
        };
        kids.remove(byte);
        let only = kids.only();
        if kids.count() == 0 {
            self.links[n] = NONE;
        } else if let Some((b, c)) = only.filter(|&(_, c)| c <= SINGLE_MAX) {
            self.links[n] = SINGLE | b << 23 | c;
        } else {
            return;
        }
        self.kids[link as usize] = Kids::new();
        self.free_kids.push(link);
    }
}
