//! The FIB's entries and how they are stored.
//!
//! An entry, in the direct table or among a node's runs, is read as a `u32`:
//!
//! ```text
//!  index << 9 | CHILD | length     CHILD set:   index names a node one level down
//!                                  CHILD clear: index names a leaf (a value and
//!                                               the matched length), length is
//!                                               that length
//! ```
//!
//! The direct table holds them so. A node's entries, the bulk of a FIB, are
//! stored 16 bits wide while the FIB has fewer than 32,767 distinct leaves
//! and nodes (a bit for CHILD and 15 for the index; a leaf's length is then
//! read from the leaves' lengths, a small array), as Poptrie's 16-bit leaves
//! are; and 32 bits wide, as above, from the change that would pass that
//! until the FIB is next built whole (a FIB that shrinks back stays wide).
//! On a full IPv4 table whose values are 256 next hops that halves the
//! entries, most of the FIB's memory.

use crate::arch::prefetch;

/// An entry naming a node rather than holding a leaf.
pub(crate) const CHILD: u32 = 1 << 8;
/// Where an entry's index starts.
const SHIFT: u32 = 9;
/// The most leaves, or nodes, an entry can index; the last index is
/// [`MISS`]'s.
pub(crate) const MAX_INDEX: usize = (1 << (32 - SHIFT)) - 1;
/// The leaf of a slot no prefix covers.
pub(crate) const MISS: u32 = (MAX_INDEX as u32) << SHIFT;

/// The most leaves, or nodes, a 16-bit entry can index; the last leaf
/// index is [`MISS`]'s.
const NARROW: usize = 0x7fff;
/// A 16-bit entry naming a node.
const NARROW_CHILD: u16 = 0x8000;

/// From how many leaves or nodes a FIB's entries are stored 32 bits wide.
/// Small in unit tests, so that the property tests cross it.
#[cfg(not(test))]
pub(crate) const NARROW_LIMIT: usize = NARROW;
#[cfg(test)]
pub(crate) const NARROW_LIMIT: usize = 64;

/// A leaf: leaf `index`, matched length `len`.
#[inline(always)]
pub(crate) fn leaf(index: u32, len: u8) -> u32 {
    (index << SHIFT) | u32::from(len)
}

/// The entry naming node `index`.
#[inline(always)]
pub(crate) fn child(index: u32) -> u32 {
    (index << SHIFT) | CHILD
}

/// The index an entry names (a leaf's or a node's).
#[inline(always)]
pub(crate) fn index(e: u32) -> usize {
    (e >> SHIFT) as usize
}

/// The matched length a leaf holds.
#[inline(always)]
pub(crate) fn length(e: u32) -> u8 {
    e as u8
}

/// Entries of one width, read as `u32` entries; `lens` holds each leaf
/// index's matched length.
pub(crate) trait Cells {
    /// An entry as stored.
    type Raw: Copy;
    /// Entry `i` as stored, if there is one.
    fn raw(&self, i: usize) -> Option<&Self::Raw>;
    /// The node a stored entry names, if it names one.
    fn node(raw: Self::Raw) -> Option<usize>;
    /// A stored entry as a `u32` one.
    fn decode(raw: Self::Raw, lens: &[u8]) -> u32;

    /// Entry `i`, or [`MISS`] past the end.
    #[inline(always)]
    fn entry(&self, i: usize, lens: &[u8]) -> u32 {
        self.raw(i).map_or(MISS, |&r| Self::decode(r, lens))
    }

    /// Ask for the cache line of entry `i`.
    #[inline(always)]
    fn fetch(&self, i: usize) {
        if let Some(e) = self.raw(i) {
            prefetch(e);
        }
    }
}

impl Cells for [u32] {
    type Raw = u32;

    #[inline(always)]
    fn raw(&self, i: usize) -> Option<&u32> {
        self.get(i)
    }

    #[inline(always)]
    fn node(raw: u32) -> Option<usize> {
        (raw & CHILD != 0).then_some(index(raw))
    }

    #[inline(always)]
    fn decode(raw: u32, _: &[u8]) -> u32 {
        raw
    }
}

impl Cells for [u16] {
    type Raw = u16;

    #[inline(always)]
    fn raw(&self, i: usize) -> Option<&u16> {
        self.get(i)
    }

    #[inline(always)]
    fn node(raw: u16) -> Option<usize> {
        (raw & NARROW_CHILD != 0).then_some(usize::from(raw & !NARROW_CHILD))
    }

    #[inline(always)]
    fn decode(raw: u16, lens: &[u8]) -> u32 {
        decode(raw, lens)
    }
}

/// A 16-bit entry as a `u32` one.
#[inline(always)]
fn decode(x: u16, lens: &[u8]) -> u32 {
    if x & NARROW_CHILD != 0 {
        return child(u32::from(x & !NARROW_CHILD));
    }
    // The narrow miss, index NARROW, is past every leaf's length.
    lens.get(usize::from(x))
        .map_or(MISS, |&l| leaf(u32::from(x), l))
}

/// A `u32` entry as a 16-bit one; its index is below [`NARROW`], or it is
/// [`MISS`].
#[inline(always)]
fn encode(e: u32) -> u16 {
    debug_assert!(index(e) < NARROW || e == MISS);
    let i = index(e).min(NARROW) as u16;
    if e & CHILD != 0 { NARROW_CHILD | i } else { i }
}

/// A FIB's node entries.
#[derive(Debug, Clone)]
pub(crate) enum Entries {
    /// 16 bits wide, while fewer than [`NARROW_LIMIT`] leaves and nodes.
    Narrow(Vec<u16>),
    /// 32 bits wide.
    Wide(Vec<u32>),
}

impl Default for Entries {
    fn default() -> Self {
        Entries::Narrow(Vec::new())
    }
}

impl Entries {
    /// Entry `i`, or [`MISS`] past the end.
    pub(crate) fn get(&self, i: usize, lens: &[u8]) -> u32 {
        match self {
            Entries::Narrow(c) => c.entry(i, lens),
            Entries::Wide(c) => c.entry(i, lens),
        }
    }

    /// Set entry `i`, which exists, to `e`.
    pub(crate) fn set(&mut self, i: usize, e: u32) {
        match self {
            Entries::Narrow(c) => c[i] = encode(e),
            Entries::Wide(c) => c[i] = e,
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Entries::Narrow(c) => c.len(),
            Entries::Wide(c) => c.len(),
        }
    }

    /// Add `n` entries at the end; the index of the first.
    pub(crate) fn grow(&mut self, n: usize) -> usize {
        let at = self.len();
        match self {
            Entries::Narrow(c) => c.resize(at + n, encode(MISS)),
            Entries::Wide(c) => c.resize(at + n, MISS),
        }
        at
    }

    #[cfg(test)]
    pub(crate) fn is_narrow(&self) -> bool {
        matches!(self, Entries::Narrow(_))
    }

    /// Store them 32 bits wide from now on.
    pub(crate) fn widen(&mut self, lens: &[u8]) {
        if let Entries::Narrow(c) = self {
            *self = Entries::Wide(c.iter().map(|&x| decode(x, lens)).collect());
        }
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        match self {
            Entries::Narrow(c) => c.shrink_to_fit(),
            Entries::Wide(c) => c.shrink_to_fit(),
        }
    }

    /// The bytes they take.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Entries::Narrow(c) => 2 * c.capacity(),
            Entries::Wide(c) => 4 * c.capacity(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_entries_read_back_as_written() {
        let lens = [24u8, 0, 32];
        for e in [
            leaf(0, 24),
            leaf(1, 0),
            leaf(2, 32),
            child(0),
            child(7),
            MISS,
        ] {
            assert_eq!(decode(encode(e), &lens), e, "{e:x}");
        }
        // Widening keeps every entry.
        let mut entries = Entries::default();
        let at = entries.grow(3);
        entries.set(at, child(5));
        entries.set(at + 1, leaf(2, 32));
        let before: Vec<u32> = (0..4).map(|i| entries.get(i, &lens)).collect();
        entries.widen(&lens);
        assert!(!entries.is_narrow());
        let after: Vec<u32> = (0..4).map(|i| entries.get(i, &lens)).collect();
        assert_eq!(before, after);
        assert_eq!(after, [child(5), leaf(2, 32), MISS, MISS]);
    }
}
