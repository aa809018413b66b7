//! The children of a node with several ([`Kids`]); how a node's link leads
//! to them is in `links.rs`.

use crate::slice::{boxed_insert, boxed_remove};

/// No node: the link of a node without children, and the end of a descent.
pub(crate) const NONE: u32 = u32::MAX;

/// The children of a node with several: one bit per next byte, child indices in
/// byte order, the first one inline.
#[derive(Clone, Debug)]
pub(crate) struct Kids {
    map: [u64; 4],
    first: u32,
    rest: Box<[u32]>,
}

impl Kids {
    pub(crate) fn new() -> Self {
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

    pub(crate) fn count(&self) -> u32 {
        self.map.iter().map(|m| m.count_ones()).sum()
    }

    /// Heap bytes held beyond the record itself.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.rest.len() * std::mem::size_of::<u32>()
    }

    pub(crate) fn add(&mut self, byte: u32, child: u32) {
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

    pub(crate) fn remove(&mut self, byte: u32) {
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
    pub(crate) fn only(&self) -> Option<(u32, u32)> {
        if self.count() != 1 {
            return None;
        }
        let (w, m) = self.map.iter().enumerate().find(|(_, m)| **m != 0)?;
        Some((w as u32 * 64 + m.trailing_zeros(), self.first))
    }
}
