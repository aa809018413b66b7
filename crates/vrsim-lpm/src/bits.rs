//! The 512-bit prefix bitmap of one node and the arithmetic on it.
//!
//! A node at depth `D` covers the prefixes of lengths `D + 1 ..= D + 8` under one
//! `D`-bit prefix (the root also holds `/0`). They form a complete binary tree of
//! depth 8, stored as a heap: the prefix at relative level `k` (`0..=8`) whose `k`
//! bits below `D` are `x` sits at bit `(1 << k) | x`. Bit 0 is never used.
//!
//! ```text
//!  bit:   1 | 2  3 | 4 .. 7 | 8 .. 15 | 16 .. 31 | 32 .. 63 | 64 .. 127 | 128 .. 255 | 256 .. 511
//!  level: 0 |  1   |   2    |    3    |    4     |    5     |     6     |     7      |     8
//!         '------------------- word 0 -------------------'   word 1     words 2-3    words 4-7
//! ```
//!
//! The node's values are stored in bit order, so the value of the prefix at bit `p`
//! is at index `rank(p)`: the number of set bits below `p`. `cum` caches the number
//! of set bits before each word (7 fields of 9 bits) so a rank costs one popcount.

use std::hint::select_unpredictable;

/// The prefix bitmap of one node; one cache line.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(64))]
pub(crate) struct Bits(pub(crate) [u64; 8]);

/// For the top 5 bits of a byte, the bits of word 0 on its path (levels 0 to 5).
pub(crate) const PATH0: [u64; 32] = path0();

const fn path0() -> [u64; 32] {
    let mut table = [0u64; 32];
    let mut top = 0;
    while top < 32 {
        let byte = top << 3;
        let mut mask = 0u64;
        let mut k = 0;
        while k <= 5 {
            mask |= 1 << ((1 << k) | (byte >> (8 - k)));
            k += 1;
        }
        table[top] = mask;
        top += 1;
    }
    table
}

/// The heap position of the prefix at relative level `k` (`0..=8`) whose bits are
/// the top `k` bits of `byte`.
#[inline]
pub(crate) fn heap_pos(k: u32, byte: u32) -> usize {
    ((1u32 << k) | (byte >> (8 - k))) as usize
}

/// The relative level (`0..=8`) of a heap position (`1..=511`).
#[inline]
pub(crate) fn level_of(pos: usize) -> u32 {
    usize::BITS - 1 - pos.leading_zeros()
}

impl Bits {
    /// Whether the prefix at `pos` is present.
    #[inline]
    pub(crate) fn test(&self, pos: usize) -> bool {
        (self.0[(pos >> 6) & 7] >> (pos & 63)) & 1 != 0
    }

    /// Marks the prefix at `pos` present.
    pub(crate) fn set(&mut self, pos: usize) {
        self.0[(pos >> 6) & 7] |= 1 << (pos & 63);
    }

    /// Marks the prefix at `pos` absent.
    pub(crate) fn clear(&mut self, pos: usize) {
        self.0[(pos >> 6) & 7] &= !(1 << (pos & 63));
    }

    /// Number of prefixes in the node.
    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The packed per-word prefix counts: field `i` (9 bits at `9 * i`, `i` in
    /// `0..7`) is the number of set bits in words `0..=i`.
    pub(crate) fn cum(&self) -> u64 {
        let mut acc = 0u64;
        let mut packed = 0u64;
        for (i, w) in self.0.iter().take(7).enumerate() {
            acc += u64::from(w.count_ones());
            packed |= acc << (9 * i);
        }
        packed
    }

    /// The heap position of the longest prefix present on the path of `byte`,
    /// or 0 when none is.
    #[inline(always)]
    pub(crate) fn best(&self, byte: usize) -> usize {
        let b = byte & 0xff;
        let w = &self.0;
        let p8 = 256 | b;
        let p7 = 128 | (b >> 1);
        let p6 = 64 | (b >> 2);
        // Bit 0 is never set, so `| 1` turns "nothing on the path" into position 0.
        let m0 = (w[0] & PATH0[b >> 3]) | 1;
        let low = 63 - m0.leading_zeros() as usize;
        // Selects without branches: a lookup's outcome is data the CPU cannot
        // predict, and a mispredicted branch would discard the work of the
        // following independent lookups.
        let t8 = (w[4 | (b >> 6)] >> (b & 63)) & 1 != 0;
        let t7 = (w[2 | (b >> 7)] >> ((b >> 1) & 63)) & 1 != 0;
        let t6 = (w[1] >> (b >> 2)) & 1 != 0;
        let p = select_unpredictable(t6, p6, low);
        let p = select_unpredictable(t7, p7, p);
        select_unpredictable(t8, p8, p)
    }

    /// The heap position of the longest prefix present on the path of `byte` at a
    /// relative level of at most `max_k`, or 0. Slow path for updates.
    pub(crate) fn best_up_to(&self, byte: u32, max_k: u32) -> usize {
        (0..=max_k.min(8))
            .rev()
            .map(|k| heap_pos(k, byte))
            .find(|&p| self.test(p))
            .unwrap_or(0)
    }
}

/// The index of the value of the prefix at `pos` among the node's values.
#[inline(always)]
pub(crate) fn rank(bits: &Bits, cum: u64, pos: usize) -> usize {
    let word = (pos >> 6) & 7;
    // Field `word - 1` of `cum`, or 0 for word 0, without a branch: for word 0
    // the shift wraps to 55 and the select clears the result.
    let field = (cum >> ((9 * word + 55) & 63)) & 511;
    let before = select_unpredictable(word == 0, 0, field);
    let below = bits.0[word] & ((1u64 << (pos & 63)) - 1);
    before as usize + below.count_ones() as usize
}

impl std::fmt::Debug for Bits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bits(")?;
        for w in self.0.iter().rev() {
            write!(f, "{w:016x}")?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_finds_longest_on_path() {
        let mut b = Bits::default();
        assert_eq!(b.best(0x12), 0);
        b.set(1);
        assert_eq!(b.best(0x12), 1);
        b.set(heap_pos(3, 0x12));
        b.set(heap_pos(6, 0x12));
        assert_eq!(b.best(0x12), heap_pos(6, 0x12));
        assert_eq!(b.best(0x13), heap_pos(6, 0x12));
        assert_eq!(b.best(0x1f), heap_pos(3, 0x12));
        b.set(heap_pos(8, 0x12));
        assert_eq!(b.best(0x12), 256 | 0x12);
        b.set(heap_pos(7, 0xff));
        assert_eq!(b.best(0xfe), heap_pos(7, 0xff));
    }

    #[test]
    fn best_matches_slow_path_for_every_byte() {
        let mut b = Bits::default();
        for pos in [1, 3, 9, 40, 77, 130, 200, 300, 511] {
            b.set(pos);
        }
        for byte in 0..256u32 {
            assert_eq!(b.best(byte as usize), b.best_up_to(byte, 8), "{byte}");
        }
    }

    #[test]
    fn rank_counts_bits_below() {
        let mut b = Bits::default();
        let set = [1, 2, 63, 64, 127, 128, 300, 511];
        for p in set {
            b.set(p);
        }
        let cum = b.cum();
        for (i, p) in set.iter().enumerate() {
            assert_eq!(rank(&b, cum, *p), i);
        }
        assert_eq!(b.count(), set.len());
        b.clear(64);
        assert!(!b.test(64));
        assert_eq!(level_of(511), 8);
        assert_eq!(level_of(1), 0);
    }
}
