//! The `/16` direct table, stored as 256 blocks of 256 entries (one block per
//! top address byte) that slots with equal contents share, copy on write.
//!
//! A new table's 65,536 entries are all empty, so its 256 top slots name one
//! shared block: 3 KiB instead of 512 KiB. A prefix of length `<= 8` rewrites
//! whole blocks, and top slots that shared a block before the update share its
//! rewritten copy after it, so a default route costs one block, not 65,536
//! writes. A write below a top byte (a prefix of length 9 to 16, or the
//! depth-16 node of a longer one) gives that top byte a private block first.
//! A full Internet table ends up with about as many blocks as top bytes in use,
//! the 512 KiB of a flat array; a VRF with a handful of routes holds a few KiB.
//!
//! A lookup reads the top slot, then the entry: the 1 KiB top array stays in
//! L1, so the extra dependent access costs a few cycles.

/// Entries per block, and blocks per table.
const BLOCK: usize = 256;

/// One top byte's 256 entries.
type Block = [u64; BLOCK];

/// See the module documentation.
#[derive(Clone)]
pub(crate) struct Direct {
    /// The block of each top byte.
    top: Box<[u32; BLOCK]>,
    blocks: Vec<Block>,
    /// How many top slots name each block; 0 for a free one.
    refs: Vec<u32>,
    free: Vec<u32>,
}

impl Direct {
    /// A table whose every entry is `empty`.
    pub(crate) fn new(empty: u64) -> Self {
        Direct {
            top: Box::new([0; BLOCK]),
            blocks: vec![[empty; BLOCK]],
            refs: vec![BLOCK as u32],
            free: Vec::new(),
        }
    }

    /// The entry of `slot` (the top 16 bits of an address).
    #[inline(always)]
    pub(crate) fn get(&self, slot: usize) -> u64 {
        let b = self.top[(slot >> 8) & 0xff] as usize;
        // Every top slot names a live block (the invariant `new`, `own` and
        // `update_blocks` keep), so the fallback is never taken. Skipping the
        // bounds check with `get_unchecked` saved 2-3 instructions of ~130
        // per lookup (callgrind, `examples/lpm_profile.rs`): not worth `unsafe`.
        self.blocks.get(b).map_or(0, |block| block[slot & 0xff])
    }

    /// A block holding `block`, taken from the free list if it can be.
    fn alloc(&mut self, block: Block) -> u32 {
        match self.free.pop() {
            Some(b) => {
                self.blocks[b as usize] = block;
                b
            }
            None => {
                self.blocks.push(block);
                self.refs.push(0);
                (self.blocks.len() - 1) as u32
            }
        }
    }

    /// One top slot stops naming block `b`.
    fn release(&mut self, b: u32) {
        let r = &mut self.refs[b as usize];
        *r -= 1;
        if *r == 0 {
            self.free.push(b);
        }
    }

    /// Gives top slot `t` a block of its own, copying a shared one, and
    /// returns its index.
    fn own(&mut self, t: usize) -> usize {
        let b = self.top[t];
        if self.refs[b as usize] == 1 {
            return b as usize;
        }
        let copy = self.blocks[b as usize];
        let nb = self.alloc(copy);
        self.release(b);
        self.refs[nb as usize] = 1;
        self.top[t] = nb;
        nb as usize
    }

    /// The entry of `slot`, to change.
    pub(crate) fn entry_mut(&mut self, slot: usize) -> &mut u64 {
        let b = self.own((slot >> 8) & 0xff);
        &mut self.blocks[b][slot & 0xff]
    }

    /// Applies `f` to the `count` entries from `first` (`count` a power of
    /// two, the range aligned to it, as a prefix's slots are).
    pub(crate) fn update(&mut self, first: usize, count: usize, mut f: impl FnMut(&mut u64)) {
        if count < BLOCK {
            let b = self.own((first >> 8) & 0xff);
            let at = first & 0xff;
            self.blocks[b][at..at + count].iter_mut().for_each(f);
            return;
        }
        let top_first = first >> 8;
        self.update_blocks(top_first..top_first + count / BLOCK, &mut f);
    }

    /// Rewrites every entry of the top slots in `range`. Top slots that
    /// shared a block before share its rewritten copy after.
    fn update_blocks(&mut self, range: std::ops::Range<usize>, f: &mut impl FnMut(&mut u64)) {
        // (old block, its rewritten copy) for the shared blocks seen so far.
        let mut done: Vec<(u32, u32)> = Vec::new();
        for t in range {
            let b = self.top[t];
            if let Some(&(_, nb)) = done.iter().find(|(old, _)| *old == b) {
                self.refs[nb as usize] += 1;
                self.release(b);
                self.top[t] = nb;
                continue;
            }
            let mut block = self.blocks[b as usize];
            block.iter_mut().for_each(&mut *f);
            if block == self.blocks[b as usize] {
                // Unchanged: whoever shares it keeps sharing it.
                done.push((b, b));
                continue;
            }
            if self.refs[b as usize] == 1 {
                self.blocks[b as usize] = block;
                continue;
            }
            let nb = self.alloc(block);
            self.refs[nb as usize] = 1;
            self.release(b);
            self.top[t] = nb;
            done.push((b, nb));
        }
    }

    /// Heap bytes held.
    pub(crate) fn memory_usage(&self) -> usize {
        use std::mem::size_of;
        size_of::<[u32; BLOCK]>()
            + self.blocks.capacity() * size_of::<Block>()
            + (self.refs.capacity() + self.free.capacity()) * size_of::<u32>()
    }

    /// Blocks in use (for tests).
    #[cfg(test)]
    pub(crate) fn live_blocks(&self) -> usize {
        self.refs.iter().filter(|r| **r > 0).count()
    }

    /// Returns spare capacity to the allocator.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.free.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat reference table beside the blocked one.
    fn check(d: &Direct, flat: &[u64]) {
        for (s, e) in flat.iter().enumerate() {
            assert_eq!(d.get(s), *e, "slot {s:#06x}");
        }
        let refs: u32 = d.refs.iter().sum();
        assert_eq!(refs as usize, BLOCK, "every top slot names one block");
    }

    #[test]
    fn a_new_table_is_one_shared_block() {
        let d = Direct::new(7);
        check(&d, &[7; 1 << 16]);
        assert_eq!(d.live_blocks(), 1);
        assert!(d.memory_usage() < 4 * 1024);
    }

    #[test]
    fn whole_table_updates_stay_shared_and_partial_ones_copy() {
        let mut d = Direct::new(0);
        let mut flat = vec![0u64; 1 << 16];
        // A default route: every slot, one block.
        d.update(0, 1 << 16, |e| *e += 1);
        flat.iter_mut().for_each(|e| *e += 1);
        check(&d, &flat);
        assert_eq!(d.live_blocks(), 1);
        // A /8: one top slot of its own.
        d.update(10 << 8, 256, |e| *e = 5);
        flat[10 << 8..11 << 8].iter_mut().for_each(|e| *e = 5);
        check(&d, &flat);
        assert_eq!(d.live_blocks(), 2);
        // A /12 inside it and a single slot elsewhere.
        d.update(0x0a10, 16, |e| *e = 9);
        flat[0x0a10..0x0a20].iter_mut().for_each(|e| *e = 9);
        *d.entry_mut(0xc0a8) = 3;
        flat[0xc0a8] = 3;
        check(&d, &flat);
        assert_eq!(d.live_blocks(), 3);
        // A /1 over all of it: the shared rest stays one block.
        d.update(0, 1 << 15, |e| *e *= 2);
        flat[..1 << 15].iter_mut().for_each(|e| *e *= 2);
        check(&d, &flat);
        assert_eq!(d.live_blocks(), 4);
        // Undoing it frees nothing needed and keeps the answers.
        d.update(0, 1 << 15, |e| *e /= 2);
        flat[..1 << 15].iter_mut().for_each(|e| *e /= 2);
        check(&d, &flat);
        let copy = d.clone();
        check(&copy, &flat);
    }

    #[test]
    fn freed_blocks_are_reused() {
        let mut d = Direct::new(0);
        for t in 0..BLOCK {
            *d.entry_mut(t << 8) = t as u64 + 1;
        }
        assert_eq!(d.live_blocks(), BLOCK);
        // Every block rewritten to the same contents: each stays private, so
        // none is freed, and the table holds no more than 256 blocks.
        d.update(0, 1 << 16, |e| *e = 0);
        assert_eq!(d.live_blocks(), BLOCK);
        assert!(d.blocks.len() <= BLOCK + 1);
        check(&d, &[0; 1 << 16]);
    }
}
