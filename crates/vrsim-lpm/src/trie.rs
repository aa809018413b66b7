//! The family-independent core: nodes, their children, the `/16` direct table and
//! the updates that keep all three consistent. Keys are `u128`, left-aligned (an
//! IPv4 address is shifted up by 96 bits).

use crate::bits::{Bits, heap_pos, level_of, rank};
use crate::direct::Direct;
use crate::kids::Kids;
use crate::slice::{boxed_insert, boxed_remove};

pub(crate) use crate::kids::NONE;
/// A node that is always empty: `/16` slots without a depth-16 node name it, so
/// a lookup reads it instead of branching and falls through to the slot's
/// fallback code; the fallback code of a slot that no short prefix covers names
/// it too, and its empty value slice turns the lookup into a miss.
pub(crate) const EMPTY: usize = 0;
/// The root node, at depth 0: it holds the prefixes of lengths 0 to 8.
pub(crate) const ROOT: u32 = 1;
/// Set in the low half of a direct-table entry whose node has children.
pub(crate) const DEEP: u32 = 1 << 30;
/// The node index in the low half of a direct-table entry.
pub(crate) const NODE: u32 = DEEP - 1;
/// The fallback code of a slot that no prefix of length `<= 16` covers.
pub(crate) const NO_CODE: u32 = (EMPTY as u32) << 9;
/// A direct-table entry with no depth-16 node and no fallback.
const EMPTY_ENTRY: u64 = ((NO_CODE as u64) << 32) | EMPTY as u64;

/// What a lookup needs of a node besides its bitmap, kept in a parallel array
/// so the bitmap stays one aligned cache line.
#[derive(Clone)]
pub(crate) struct Aux<V> {
    /// The node's values, in bitmap order.
    pub(crate) values: Box<[V]>,
    /// Cached per-word popcounts of the bitmap (see [`Bits::cum`]).
    pub(crate) cum: u64,
}

/// The authoritative table and its lookup structure in one.
#[derive(Clone)]
pub(crate) struct Trie<V> {
    pub(crate) bits: Vec<Bits>,
    pub(crate) aux: Vec<Aux<V>>,
    /// Per node: index into `kids`, or [`NONE`].
    pub(crate) links: Vec<u32>,
    free: Vec<u32>,
    pub(crate) kids: Vec<Kids>,
    pub(crate) free_kids: Vec<u32>,
    /// Indexed by the top 16 bits. Low half: the depth-16 node (with [`DEEP`] if
    /// it has children), or [`EMPTY`]. High half: the fallback code (see
    /// [`Trie::code`]) of the longest prefix of length `<= 16` covering it.
    pub(crate) direct: Direct,
    width: u32,
    len: usize,
}

/// The byte of `key` just below depth `d`.
#[inline]
pub(crate) fn byte_at(key: u128, d: u32) -> u32 {
    ((key >> (120 - d)) & 0xff) as u32
}

/// `key` with every bit beyond `len` cleared.
pub(crate) fn mask(key: u128, len: u32) -> u128 {
    if len == 0 {
        0
    } else {
        key & (!0u128 << (128 - len))
    }
}

/// The depth of the node owning prefixes of length `len`, and their level in it.
pub(crate) fn locate(len: u32) -> (u32, u32) {
    if len == 0 {
        (0, 0)
    } else {
        let depth = (len - 1) / 8 * 8;
        (depth, len - depth)
    }
}

/// The direct-table slot of a key.
fn slot(key: u128) -> usize {
    (key >> 112) as usize & 0xffff
}

impl<V> Trie<V> {
    /// An empty table for addresses of `width` bits (32 or 128).
    pub(crate) fn new(width: u32) -> Self {
        let mut t = Trie {
            bits: Vec::new(),
            aux: Vec::new(),
            links: Vec::new(),
            free: Vec::new(),
            kids: Vec::new(),
            free_kids: Vec::new(),
            direct: Direct::new(EMPTY_ENTRY),
            width,
            len: 0,
        };
        // Node 0 is `EMPTY`, node 1 the `ROOT`; neither is ever freed.
        t.alloc_node();
        t.alloc_node();
        t
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn width(&self) -> u32 {
        self.width
    }

    /// The fallback code naming the prefix at `pos` of `node`; position 0 means
    /// none ([`NO_CODE`]). Only prefixes of length `<= 16` get codes; they live in
    /// the root and in depth-8 nodes.
    fn code(node: u32, pos: usize) -> u32 {
        if pos == 0 {
            NO_CODE
        } else {
            (node << 9) | pos as u32
        }
    }

    /// The prefix length a fallback code stands for, or `None` for [`NO_CODE`].
    fn code_len(code: u32) -> Option<u32> {
        let pos = (code & 511) as usize;
        if pos == 0 {
            return None;
        }
        let depth = if code >> 9 == ROOT { 0 } else { 8 };
        Some(depth + level_of(pos))
    }

    /// The value and prefix length named by a fallback code.
    #[inline]
    pub(crate) fn code_value(&self, code: u32) -> Option<(u32, &V)> {
        let node = (code >> 9) as usize;
        let pos = (code & 511) as usize;
        let len = Self::code_len(code)?;
        self.value_at(node, pos).map(|v| (len, v))
    }

    /// The value of the (present) prefix at `pos` of `node`.
    #[inline(always)]
    pub(crate) fn value_at(&self, node: usize, pos: usize) -> Option<&V> {
        let bits = self.bits.get(node)?;
        let aux = self.aux.get(node)?;
        aux.values.get(rank(bits, aux.cum, pos))
    }

    fn alloc_node(&mut self) -> u32 {
        let aux = Aux {
            values: Box::default(),
            cum: 0,
        };
        if let Some(n) = self.free.pop() {
            self.bits[n as usize] = Bits::default();
            self.aux[n as usize] = aux;
            self.links[n as usize] = NONE;
            n
        } else {
            self.bits.push(Bits::default());
            self.aux.push(aux);
            self.links.push(NONE);
            (self.bits.len() - 1) as u32
        }
    }

    /// The node at `depth` on the path of `key`, created if `create`.
    pub(crate) fn walk(&mut self, key: u128, depth: u32, create: bool) -> Option<u32> {
        let mut node = ROOT;
        let mut d = 0;
        while d < depth {
            let b = byte_at(key, d);
            node = match self.child(node, b) {
                Some(c) => c,
                None if create => {
                    let c = self.alloc_node();
                    self.add_child(node, b, c);
                    let s = slot(key);
                    if d == 8 {
                        let e = self.direct.entry_mut(s);
                        *e = (*e & !0xffff_ffff) | u64::from(c);
                    } else if d == 16 {
                        *self.direct.entry_mut(s) |= u64::from(DEEP);
                    }
                    c
                }
                None => return None,
            };
            d += 8;
        }
        Some(node)
    }

    pub(crate) fn get(&self, key: u128, len: u32) -> Option<&V> {
        let (depth, k) = locate(len);
        let mut node = ROOT;
        let mut d = 0;
        while d < depth {
            node = self.child(node, byte_at(key, d))?;
            d += 8;
        }
        let pos = heap_pos(k, byte_at(key, depth));
        let n = node as usize;
        if self.bits[n].test(pos) {
            self.value_at(n, pos)
        } else {
            None
        }
    }

    pub(crate) fn insert(&mut self, key: u128, len: u32, value: V) -> Option<V> {
        let key = mask(key, len);
        let (depth, k) = locate(len);
        let node = self.walk(key, depth, true)?;
        let n = node as usize;
        let pos = heap_pos(k, byte_at(key, depth));
        let at = rank(&self.bits[n], self.aux[n].cum, pos);
        if self.bits[n].test(pos) {
            let slot_ref = self.aux[n].values.get_mut(at)?;
            return Some(std::mem::replace(slot_ref, value));
        }
        self.bits[n].set(pos);
        self.aux[n].cum = self.bits[n].cum();
        boxed_insert(&mut self.aux[n].values, at, value);
        self.len += 1;
        if len <= 16 {
            self.push_fallback(key, len, node, pos);
        }
        None
    }

    /// Makes the new prefix `key/len` (`len <= 16`) at `pos` of `node` the
    /// fallback of the `/16` slots it covers better than their current one.
    pub(crate) fn push_fallback(&mut self, key: u128, len: u32, node: u32, pos: usize) {
        let code = Self::code(node, pos);
        self.for_each_fallback(key, len, |fb| {
            if Self::code_len(*fb).is_none_or(|l| l < len) {
                *fb = code;
            }
        });
    }

    pub(crate) fn set_len(&mut self, len: usize) {
        self.len = len;
    }

    pub(crate) fn remove(&mut self, key: u128, len: u32) -> Option<V> {
        let key = mask(key, len);
        let (depth, k) = locate(len);
        let mut path = [ROOT; 17];
        let mut d = 0;
        while d < depth {
            path[(d / 8 + 1) as usize] = self.child(path[(d / 8) as usize], byte_at(key, d))?;
            d += 8;
        }
        let node = path[(depth / 8) as usize];
        let n = node as usize;
        let pos = heap_pos(k, byte_at(key, depth));
        if !self.bits[n].test(pos) {
            return None;
        }
        let at = rank(&self.bits[n], self.aux[n].cum, pos);
        let old = boxed_remove(&mut self.aux[n].values, at)?;
        self.bits[n].clear(pos);
        self.aux[n].cum = self.bits[n].cum();
        self.len -= 1;
        if len <= 16 {
            let code = Self::code(node, pos);
            let replacement = self.best_short(key, len.saturating_sub(1), len > 0);
            self.for_each_fallback(key, len, |fb| {
                if *fb == code {
                    *fb = replacement;
                }
            });
        }
        self.prune(key, &path, depth);
        Some(old)
    }

    /// Frees the now-empty nodes at the bottom of `path`, deepest first.
    fn prune(&mut self, key: u128, path: &[u32; 17], depth: u32) {
        let mut d = depth;
        while d > 0 {
            let node = path[(d / 8) as usize];
            let n = node as usize;
            if self.bits[n] != Bits::default() || self.links[n] != NONE {
                return;
            }
            self.aux[n].values = Box::default();
            self.free.push(node);
            d -= 8;
            let parent = path[(d / 8) as usize];
            self.remove_child(parent, byte_at(key, d));
            let s = slot(key);
            if d == 8 {
                let e = self.direct.entry_mut(s);
                *e = (*e & !0xffff_ffff) | EMPTY as u64;
            } else if d == 16 && self.links[parent as usize] == NONE {
                *self.direct.entry_mut(s) &= !u64::from(DEEP);
            }
        }
    }

    /// The fallback code of the longest prefix of length `<= max_len` (and `<= 16`)
    /// covering `key`; `any` false means none may match.
    fn best_short(&self, key: u128, max_len: u32, any: bool) -> u32 {
        if !any {
            return NO_CODE;
        }
        let b0 = byte_at(key, 0);
        if max_len > 8
            && let Some(c) = self.child(ROOT, b0)
        {
            let pos = self.bits[c as usize].best_up_to(byte_at(key, 8), max_len - 8);
            if pos != 0 {
                return Self::code(c, pos);
            }
        }
        let pos = self.bits[ROOT as usize].best_up_to(b0, max_len.min(8));
        Self::code(ROOT, pos)
    }

    /// Applies `f` to the fallback code of every `/16` slot under `key/len`.
    fn for_each_fallback(&mut self, key: u128, len: u32, mut f: impl FnMut(&mut u32)) {
        let first = slot(key);
        let count = 1usize << (16 - len.min(16));
        self.direct.update(first, count, |e| {
            let mut code = (*e >> 32) as u32;
            f(&mut code);
            *e = (*e & 0xffff_ffff) | (u64::from(code) << 32);
        });
    }

    /// The longest match for `key` as (prefix length, value). Portable slow path
    /// used by IPv6 lookups and as a reference.
    #[inline]
    pub(crate) fn lookup(&self, key: u128) -> Option<(u32, &V)> {
        let e = self.direct.get(slot(key));
        let (low, code) = (e as u32, (e >> 32) as u32);
        if (low & NODE) as usize == EMPTY {
            return self.code_value(code);
        }
        let mut node = (low & NODE) as usize;
        let mut d = 16;
        let mut best = (0, 0, 0);
        loop {
            let b = byte_at(key, d) as usize;
            let pos = self.bits.get(node)?.best(b);
            if pos != 0 {
                best = (node, pos, d);
            }
            let link = *self.links.get(node)?;
            if d + 8 >= self.width {
                break;
            }
            match self.via(link, b as u32) {
                Some(c) => node = c as usize,
                None => break,
            }
            d += 8;
        }
        let (node, pos, d) = best;
        if pos == 0 {
            return self.code_value(code);
        }
        self.value_at(node, pos).map(|v| (d + level_of(pos), v))
    }

    /// Heap bytes held: the capacity of every vector and boxed slice.
    pub(crate) fn memory_usage(&self) -> usize {
        use std::mem::size_of;
        let values: usize = self.aux.iter().map(|a| a.values.len()).sum();
        let kid_heap: usize = self.kids.iter().map(Kids::heap_bytes).sum();
        size_of::<Self>()
            + self.bits.capacity() * size_of::<Bits>()
            + self.aux.capacity() * size_of::<Aux<V>>()
            + values * size_of::<V>()
            + (self.links.capacity() + self.free.capacity() + self.free_kids.capacity())
                * size_of::<u32>()
            + self.kids.capacity() * size_of::<Kids>()
            + kid_heap
            + self.direct.memory_usage()
    }

    /// Returns the spare capacity of the node arrays to the allocator.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.bits.shrink_to_fit();
        self.aux.shrink_to_fit();
        self.links.shrink_to_fit();
        self.kids.shrink_to_fit();
        self.free.shrink_to_fit();
        self.free_kids.shrink_to_fit();
        self.direct.shrink_to_fit();
    }
}
