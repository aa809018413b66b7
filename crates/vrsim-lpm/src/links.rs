//! The per-node link that finds a node's children, and the trie's methods
//! that follow and change it. `Trie::links[node]` is one of:
//! - [`NONE`]: no children;
//! - `SINGLE | byte << 23 | child`: exactly one child, below `byte`, stored
//!   inline (most nodes of a sparse IPv6 table), so a lookup reaches it with no
//!   further memory access;
//! - otherwise the index of a [`Kids`] record in `Trie::kids`.

use crate::kids::{Kids, NONE};
use crate::trie::Trie;

/// Marks a link holding its node's only child inline.
const SINGLE: u32 = 1 << 31;
/// The largest child index an inline link can hold (`NONE` stays distinct).
const SINGLE_MAX: u32 = (1 << 23) - 2;

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
