//! The leaf-pushed structure behind [`Fib4`](crate::Fib4) and
//! [`Fib6`](crate::Fib6), generic over the key width: a direct table over the
//! key's first 8 or 16 bits, then nodes of 8-bit strides. The vRouter's
//! `mtrie` has 8-bit buckets at every level (`dp-core/vr_ip_mtrie.c`,
//! `mtrie_ip_bkt_info_init` with `IPBUCKET_LEVEL_BITS` 8: four levels for
//! IPv4, sixteen for IPv6); the 16-bit direct table of larger tables is
//! Poptrie's direct pointing, and each node's 256 slots are compressed into
//! runs as in Poptrie.
//!
//! Every entry, in the direct table or a node's runs, is a leaf or names a
//! node one level down (`cells.rs` has the encoding, and how node entries
//! are stored 16 or 32 bits wide). A leaf names one of the distinct (value,
//! matched length) pairs the FIB holds, each stored once. Slots no prefix
//! covers hold [`MISS`], a leaf whose index is out of range. A node keeps a
//! bitmap of where runs of equal slots start and one entry per run; a
//! popcount finds a slot's run.
//!
//! Changes are applied where they land: a prefix rewrites the slots it covers
//! at the level its length ends in (a prefix as long as a level's slots, or
//! shorter, replaces every leaf it is longer than or as long as; removing it
//! gives its leaves back to the longest prefix containing it), descending into
//! the nodes under those slots. Each node touched is expanded to its 256
//! slots, changed, and compressed again in place, so the structure after any
//! sequence of changes is the one a fresh build makes (up to where its nodes
//! and leaves sit in memory): a node whose slots became equal leaves is freed,
//! and its slot takes the leaf.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher, Hash};
use std::hint::select_unpredictable;
use std::marker::PhantomData;
use std::ops::Range;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::arch::prefetch;
use crate::cells::{
    CHILD, Cells, Entries, MAX_INDEX, MISS, NARROW_LIMIT, child, index, leaf, length,
};

/// At most this many entries can be added by one change: a new node per
/// level of the longest key, each with up to 256 leaves.
const HEADROOM: usize = 16;

/// The leaf index's hash: SipHash with fixed keys, so a FIB behaves the
/// same on every run (only updates hash).
type Hasher = BuildHasherDefault<DefaultHasher>;

/// A table with more distinct leaves, or more nodes, than an entry can
/// index: the FIB cannot hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge;

/// A key, its bits counted from the most significant.
pub(crate) trait Key: Copy + Ord {
    /// How many bits it has.
    const WIDTH: u8;
    /// The `width` bits starting at bit `at`; `at + width <= WIDTH`.
    fn bits(self, at: u8, width: u8) -> usize;
}

impl Key for u32 {
    const WIDTH: u8 = 32;
    #[inline(always)]
    fn bits(self, at: u8, width: u8) -> usize {
        (self.wrapping_shr(u32::from(Self::WIDTH - at - width)) & ((1 << width) - 1)) as usize
    }
}

impl Key for u128 {
    const WIDTH: u8 = 128;
    #[inline(always)]
    fn bits(self, at: u8, width: u8) -> usize {
        (self.wrapping_shr(u32::from(Self::WIDTH - at - width)) & ((1 << width) - 1)) as usize
    }
}

/// One node: where the runs of equal slots start among its 256 slots.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(64))]
struct Node {
    starts: [u64; 4],
    /// Per word of `starts`: the index of the entry before the first run
    /// starting in it (`base` plus the runs of the words before, minus one,
    /// wrapping), so that a slot's entry is this plus one popcount.
    first: [u32; 4],
    /// The index of the node's first entry.
    base: u32,
    /// How many entries, from `base`, the node owns.
    cap: u32,
}

/// The node [`Push::node_or_any`] reads when there is none: one run.
static EMPTY_NODE: Node = Node {
    starts: [1, 0, 0, 0],
    first: [u32::MAX, 0, 0, 0],
    base: 0,
    cap: 0,
};

/// A change: the slots a prefix covers get leaf `to` wherever their leaf is
/// as long as the prefix or shorter. Inserting, that replaces the prefixes
/// it contains (and its own old value); removing, every such leaf is the
/// removed prefix's own (within it, nothing shorter can be longest), and
/// `to` is the leaf of the longest prefix containing it.
#[derive(Debug, Clone, Copy)]
struct Change {
    /// The changed prefix's length.
    len: u8,
    /// The leaf its slots get.
    to: u32,
}

impl Change {
    fn hits(&self, e: u32) -> bool {
        length(e) <= self.len
    }
}

/// The structure, over keys `K` with values `V`.
#[derive(Debug, Clone)]
pub(crate) struct Push<K, V> {
    /// How many leading bits the direct table indexes: 8 or 16.
    top: u8,
    /// Empty until the first prefix.
    direct: Vec<u32>,
    nodes: Vec<Node>,
    entries: Entries,
    /// The leaves: each distinct (value, matched length) pair once, the
    /// value in `values` and the length in `lens` at its index.
    values: Vec<V>,
    lens: Vec<u8>,
    /// How many prefixes hold each leaf; 0 for a free index.
    refs: Vec<u32>,
    /// The index of each leaf, hashed by its value and length (a `u32` per
    /// leaf rather than a copy of it).
    index: HashTable<u32>,
    free_nodes: Vec<u32>,
    /// Free runs of entries, by length (`free_entries[n]` holds bases of `n`
    /// entries); empty until the first is freed, so that the many empty
    /// FIBs of a large fabric's VRFs allocate nothing.
    free_entries: Vec<Vec<u32>>,
    free_values: Vec<u32>,
    key: PhantomData<K>,
}

/// A leaf's hash.
fn hash_leaf<V: Hash>(v: &V, len: u8) -> u64 {
    Hasher::default().hash_one((v, len))
}

/// Whether leaf index `i` holds value `v` at length `len`, for the leaf
/// index's lookups.
fn same_leaf<'a, V: PartialEq>(
    values: &'a [V],
    lens: &'a [u8],
    v: &'a V,
    len: u8,
) -> impl Fn(&u32) -> bool + 'a {
    move |&i| values.get(i as usize) == Some(v) && lens.get(i as usize) == Some(&len)
}

impl<K: Key, V> Default for Push<K, V> {
    fn default() -> Self {
        Push {
            top: 8,
            direct: Vec::new(),
            nodes: Vec::new(),
            entries: Entries::default(),
            values: Vec::new(),
            lens: Vec::new(),
            refs: Vec::new(),
            index: HashTable::new(),
            free_nodes: Vec::new(),
            free_entries: Vec::new(),
            free_values: Vec::new(),
            key: PhantomData,
        }
    }
}

/// The direct-table width for a table of `n` prefixes.
fn top_for(n: usize, wide_at: usize) -> u8 {
    if n >= wide_at { 16 } else { 8 }
}

impl<K: Key, V: Copy + Eq + Hash> Push<K, V> {
    /// Build from `(key, length, value)` triples, keys with their host bits
    /// clear and no (key, length) twice; the direct table 16 bits wide from
    /// `wide_at` prefixes.
    pub(crate) fn build(
        pfx: impl Iterator<Item = (K, u8, V)>,
        wide_at: usize,
    ) -> Result<Self, TooLarge> {
        let mut p = Push::default();
        let mut list = Vec::new();
        for (k, len, v) in pfx {
            let i = p.value_ref(v, len)?;
            list.push((k, len, leaf(i, len)));
        }
        p.top = top_for(list.len(), wide_at);
        if list.is_empty() {
            return Ok(p);
        }
        list.sort_unstable_by_key(|&(_, len, _)| len);
        let mut direct = vec![MISS; 1 << p.top];
        p.build_level(&mut direct, &mut list, 0, p.top)?;
        p.direct = direct;
        p.entries.shrink_to_fit();
        p.nodes.shrink_to_fit();
        p.values.shrink_to_fit();
        p.lens.shrink_to_fit();
        p.refs.shrink_to_fit();
        Ok(p)
    }

    /// Fill `slots`, the `width`-bit level from bit `at`, from `group`:
    /// prefixes no shorter than `at`, sorted by length. Those that end
    /// within the level fill the slots they cover, shorter before longer;
    /// the longer ones go into nodes built under their slots.
    fn build_level(
        &mut self,
        slots: &mut [u32],
        group: &mut [(K, u8, u32)],
        at: u8,
        width: u8,
    ) -> Result<(), TooLarge> {
        let end = at + width;
        let split = group.partition_point(|&(_, len, _)| len <= end);
        for &(k, len, lf) in &group[..split] {
            if let Some(run) = slots.get_mut(covered(k, at, width, len)) {
                run.fill(lf);
            }
        }
        let long = &mut group[split..];
        long.sort_by_key(|&(k, len, _)| (k.bits(at, width), len));
        let mut i = 0;
        while i < long.len() {
            let s = long[i].0.bits(at, width);
            let n = long[i..].partition_point(|&(k, _, _)| k.bits(at, width) == s);
            slots[s] = self.build_node(slots[s], &mut long[i..i + n], end)?;
            i += n;
        }
        Ok(())
    }

    /// The entry for a slot whose leaf is `base` and which holds `group`,
    /// prefixes longer than `at` sorted by length: a node built from them.
    fn build_node(
        &mut self,
        base: u32,
        group: &mut [(K, u8, u32)],
        at: u8,
    ) -> Result<u32, TooLarge> {
        self.room()?;
        let mut slots = [base; 256];
        self.build_level(&mut slots, group, at, 8)?;
        Ok(self.store(None, &slots))
    }

    /// The index of leaf `v`/`len`, if the FIB holds it.
    fn find_value(&self, v: &V, len: u8) -> Option<u32> {
        let is = same_leaf(&self.values, &self.lens, v, len);
        self.index.find(hash_leaf(v, len), is).copied()
    }

    /// The index of leaf `v`/`len`, taking a reference to it. The leaf that
    /// would pass what 16-bit entries can name stores them 32 bits wide.
    fn value_ref(&mut self, v: V, len: u8) -> Result<u32, TooLarge> {
        let is = same_leaf(&self.values, &self.lens, &v, len);
        let rehash = |&i: &u32| hash_leaf(&self.values[i as usize], self.lens[i as usize]);
        let vacant = match self.index.entry(hash_leaf(&v, len), is, rehash) {
            Entry::Occupied(e) => {
                self.refs[*e.get() as usize] += 1;
                return Ok(*e.get());
            }
            Entry::Vacant(e) => e,
        };
        let i = match self.free_values.pop() {
            Some(i) => {
                self.values[i as usize] = v;
                self.lens[i as usize] = len;
                self.refs[i as usize] = 1;
                i
            }
            None if self.values.len() >= MAX_INDEX => return Err(TooLarge),
            None => {
                if self.values.len() >= NARROW_LIMIT {
                    self.entries.widen(&self.lens);
                }
                self.values.push(v);
                self.lens.push(len);
                self.refs.push(1);
                (self.values.len() - 1) as u32
            }
        };
        vacant.insert(i);
        Ok(i)
    }

    /// Drop a reference to leaf `v`/`len`, freeing its index with the last.
    fn value_unref(&mut self, v: &V, len: u8) {
        let is = same_leaf(&self.values, &self.lens, v, len);
        if let Ok(e) = self.index.find_entry(hash_leaf(v, len), is) {
            let i = *e.get();
            self.refs[i as usize] -= 1;
            if self.refs[i as usize] == 0 {
                e.remove();
                self.free_values.push(i);
            }
        }
    }

    /// The leaf of `v` at length `len`, if the FIB holds it.
    fn leaf_of(&self, len: u8, v: &V) -> u32 {
        self.find_value(v, len).map_or(MISS, |i| leaf(i, len))
    }

    /// Whether one more change has room: an error rather than a change left
    /// half done.
    fn room(&self) -> Result<(), TooLarge> {
        let nodes = self.nodes.len() + HEADROOM - self.free_nodes.len().min(HEADROOM);
        if nodes >= MAX_INDEX || self.entries.len() >= u32::MAX as usize - 256 * HEADROOM {
            return Err(TooLarge);
        }
        Ok(())
    }

    /// Whether a table of `n` prefixes wants the other direct-table width
    /// (16 bits from `wide_at` prefixes): then the caller builds again.
    pub(crate) fn wants_rebuild(&self, n: usize, wide_at: usize) -> bool {
        (self.top == 8 && n >= 2 * wide_at) || (self.top == 16 && n < wide_at / 2)
    }

    /// Set `key/len` to `v`, replacing the value it had, `old`.
    pub(crate) fn insert(&mut self, key: K, len: u8, v: V, old: Option<V>) -> Result<(), TooLarge> {
        self.room()?;
        let i = self.value_ref(v, len)?;
        self.apply(
            key,
            Change {
                len,
                to: leaf(i, len),
            },
        );
        if let Some(old) = old {
            self.value_unref(&old, len);
        }
        Ok(())
    }

    /// Remove `key/len`, which held `old`; `parent` is the longest prefix
    /// containing it (length and value), whose leaves its slots get back.
    pub(crate) fn remove(&mut self, key: K, len: u8, old: V, parent: Option<(u8, V)>) {
        let to = parent.map_or(MISS, |(l, v)| self.leaf_of(l, &v));
        self.apply(key, Change { len, to });
        self.value_unref(&old, len);
    }

    /// Apply a change to the direct slots it covers.
    fn apply(&mut self, key: K, c: Change) {
        if self.direct.is_empty() {
            self.direct = vec![MISS; 1 << self.top];
        }
        for s in covered(key, 0, self.top, c.len) {
            let e = self.direct[s];
            self.direct[s] = self.apply_slot(e, key, self.top, c);
        }
    }

    /// The new entry of a slot of prefix length `end` holding `e`, after
    /// the change.
    fn apply_slot(&mut self, e: u32, key: K, end: u8, c: Change) -> u32 {
        if e & CHILD == 0 {
            if c.len <= end {
                return if c.hits(e) { c.to } else { e };
            }
            // Longer prefixes may live under a leaf: those that covered a
            // node's slots all alike, so that it was stored as this leaf.
            let mut slots = [e; 256];
            self.apply_below(&mut slots, key, end, c);
            return self.store(None, &slots);
        }
        let node = index(e);
        let mut slots = self.expand(node);
        if c.len <= end {
            for s in &mut slots {
                *s = self.apply_slot(*s, key, end + 8, c);
            }
        } else {
            self.apply_below(&mut slots, key, end, c);
        }
        self.store(Some(node), &slots)
    }

    /// Apply a change longer than `end` to the 256 slots below a slot of
    /// length `end`.
    fn apply_below(&mut self, slots: &mut [u32; 256], key: K, end: u8, c: Change) {
        if let Some(run) = slots.get_mut(covered(key, end, 8, c.len)) {
            for s in run {
                *s = self.apply_slot(*s, key, end + 8, c);
            }
        }
    }

    /// The 256 slots of node `node`.
    fn expand(&self, node: usize) -> [u32; 256] {
        let mut slots = [MISS; 256];
        let Some(n) = self.nodes.get(node) else {
            return slots;
        };
        let mut at = n.base as usize;
        let mut cur = MISS;
        for (b, s) in slots.iter_mut().enumerate() {
            if n.starts[b >> 6] >> (b & 63) & 1 != 0 {
                cur = self.entries.get(at, &self.lens);
                at += 1;
            }
            *s = cur;
        }
        slots
    }

    /// Store 256 slots as node `node` (a new one if `None`) and return the
    /// entry naming it; or, if they are all one leaf, free the node and
    /// return that leaf.
    fn store(&mut self, node: Option<usize>, slots: &[u32; 256]) -> u32 {
        if slots[0] & CHILD == 0 && slots.iter().all(|&s| s == slots[0]) {
            if let Some(i) = node {
                self.free_node(i);
            }
            return slots[0];
        }
        let mut n = Node::default();
        let mut runs = 0u32;
        for (b, &s) in slots.iter().enumerate() {
            if b == 0 || slots[b - 1] != s {
                n.starts[b >> 6] |= 1 << (b & 63);
                runs += 1;
            }
        }
        let (i, base, cap) = self.place(node, runs);
        n.base = base;
        let mut before = base.wrapping_sub(1);
        for (f, w) in n.first.iter_mut().zip(n.starts) {
            *f = before;
            before = before.wrapping_add(w.count_ones());
        }
        n.cap = cap;
        let mut at = base as usize;
        for (b, &s) in slots.iter().enumerate() {
            if b == 0 || slots[b - 1] != s {
                self.entries.set(at, s);
                at += 1;
            }
        }
        self.nodes[i] = n;
        child(i as u32)
    }

    /// Where a node of `runs` entries goes: its index, entries' base and
    /// capacity. A node keeps its entries while they fit, and otherwise
    /// takes a free run of the right length or new ones at the end.
    fn place(&mut self, node: Option<usize>, runs: u32) -> (usize, u32, u32) {
        if let Some(i) = node {
            let n = self.nodes[i];
            if runs <= n.cap {
                return (i, n.base, n.cap);
            }
            self.free_run(n);
        }
        let i = match node {
            Some(i) => i,
            None => match self.free_nodes.pop() {
                Some(i) => i as usize,
                None => {
                    if self.nodes.len() >= NARROW_LIMIT {
                        self.entries.widen(&self.lens);
                    }
                    self.nodes.push(Node::default());
                    self.nodes.len() - 1
                }
            },
        };
        let base = match self.free_entries.get_mut(runs as usize).and_then(Vec::pop) {
            Some(b) => b,
            None => self.entries.grow(runs as usize) as u32,
        };
        (i, base, runs)
    }

    /// Put the entries of node `n` on the free list.
    fn free_run(&mut self, n: Node) {
        if self.free_entries.is_empty() {
            self.free_entries.resize_with(257, Vec::new);
        }
        if let Some(list) = self.free_entries.get_mut(n.cap as usize) {
            list.push(n.base);
        }
    }

    fn free_node(&mut self, i: usize) {
        let n = self.nodes[i];
        self.free_run(n);
        self.nodes[i] = Node::default();
        self.free_nodes.push(i as u32);
    }
}

/// How many buckets a hash table with room for `capacity` items has:
/// hashbrown keeps them at most 7/8 full, in a power of two.
fn buckets(capacity: usize) -> usize {
    if capacity == 0 {
        0
    } else {
        (capacity * 8 / 7).next_power_of_two()
    }
}

/// The slots of the `width`-bit level from bit `at` that the prefix
/// `key`/`len` covers (`len >= at`): all those under it if it ends within
/// the level, else the one slot it lies below.
fn covered<K: Key>(key: K, at: u8, width: u8, len: u8) -> Range<usize> {
    let first = key.bits(at, width);
    let end = at + width;
    first..first + if len <= end { 1 << (end - len) } else { 1 }
}

impl<K: Key, V: Copy> Push<K, V> {
    /// The entry of slot `b` of node `node`, as stored among `cells`, the
    /// node entries: the run holding it.
    #[inline(always)]
    fn in_node<C: Cells + ?Sized>(&self, cells: &C, node: usize, b: usize) -> Option<C::Raw> {
        cells
            .raw(Self::entry_index(self.nodes.get(node)?, b))
            .copied()
    }

    #[inline(always)]
    fn entry_index(n: &Node, b: usize) -> usize {
        let w = (b >> 6) & 3;
        let upto = n.starts[w] & (u64::MAX >> (63 - (b & 63)));
        n.first[w].wrapping_add(upto.count_ones()) as usize
    }

    /// The node an entry names, or, for a leaf, node 0 (or an empty node):
    /// so that the first level below the direct table is read without a
    /// branch on whether there is one, and the answer chosen after.
    #[inline(always)]
    fn node_or_any(&self, e: u32) -> &Node {
        let n = select_unpredictable(e & CHILD != 0, index(e), 0);
        self.nodes.get(n).unwrap_or(&EMPTY_NODE)
    }

    /// The leaf of `key`'s longest match.
    #[inline(always)]
    pub(crate) fn find(&self, key: K) -> u32 {
        match &self.entries {
            Entries::Narrow(c) => self.find_in(c.as_slice(), key),
            Entries::Wide(c) => self.find_in(c.as_slice(), key),
        }
    }

    /// [`find`](Self::find), the node entries being `cells`.
    #[inline(always)]
    fn find_in<C: Cells + ?Sized>(&self, cells: &C, key: K) -> u32 {
        match self.direct.get(key.bits(0, self.top)) {
            Some(&e) => self.descend(cells, e, key, self.top),
            None => MISS,
        }
    }

    /// Follow entry `e`, of the level that ends at bit `at`, down the nodes
    /// below it to `key`'s leaf. Node entries are read as stored, and only
    /// the leaf decoded.
    #[inline(always)]
    fn descend<C: Cells + ?Sized>(&self, cells: &C, e: u32, key: K, mut at: u8) -> u32 {
        if e & CHILD == 0 {
            return e;
        }
        let mut node = index(e);
        while at < K::WIDTH {
            let Some(raw) = self.in_node(cells, node, key.bits(at, 8)) else {
                break;
            };
            match C::node(raw) {
                Some(n) => node = n,
                None => return C::decode(raw, &self.lens),
            }
            at += 8;
        }
        MISS
    }

    /// [`find`](Self::find), in a copy compiled with POPCNT where the CPU
    /// has it: a FIB lookup does a popcount per node level, which the
    /// x86_64 baseline spells as a dozen instructions. Worth a call that is
    /// not inlined: on a small table a `/32` is three node levels. A copy
    /// per entry width, each with only its own path.
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(crate) fn find_fast(&self, key: K) -> u32 {
        #[cfg(target_arch = "x86_64")]
        if crate::arch::has_popcnt() {
            // SAFETY: `find_popcnt` only requires the `popcnt` target
            // feature, which `has_popcnt` has just detected on this CPU.
            return unsafe {
                match &self.entries {
                    Entries::Narrow(c) => self.find_popcnt(c.as_slice(), key),
                    Entries::Wide(c) => self.find_popcnt(c.as_slice(), key),
                }
            };
        }
        self.find(key)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn find_popcnt<C: Cells + ?Sized>(&self, cells: &C, key: K) -> u32 {
        self.find_in(cells, key)
    }

    /// [`find_batch`](Self::find_batch), with POPCNT where the CPU has it.
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(crate) fn find_batch_fast<const W: usize>(&self, keys: &[K; W], out: &mut [u32; W]) {
        #[cfg(target_arch = "x86_64")]
        if crate::arch::has_popcnt() {
            // SAFETY: `find_batch_popcnt` only requires the `popcnt` target
            // feature, which `has_popcnt` has just detected on this CPU.
            return unsafe {
                match &self.entries {
                    Entries::Narrow(c) => self.find_batch_popcnt(c.as_slice(), keys, out),
                    Entries::Wide(c) => self.find_batch_popcnt(c.as_slice(), keys, out),
                }
            };
        }
        self.find_batch(keys, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn find_batch_popcnt<C: Cells + ?Sized, const W: usize>(
        &self,
        cells: &C,
        keys: &[K; W],
        out: &mut [u32; W],
    ) {
        self.find_batch_in(cells, keys, out);
    }

    /// The value a leaf names, with its length.
    #[inline(always)]
    pub(crate) fn value(&self, e: u32) -> Option<(u8, &V)> {
        self.values.get(index(e)).map(|v| (length(e), v))
    }

    /// [`find`](Self::find) for every key of `keys`, in stages over the
    /// whole group: each stage asks for the cache lines the next one reads
    /// (the node, then the entry) for every key before any is read, so their
    /// fetches overlap. Levels below the first node (prefixes longer than
    /// `/24` in IPv4) finish one key at a time.
    #[inline(always)]
    pub(crate) fn find_batch<const W: usize>(&self, keys: &[K; W], out: &mut [u32; W]) {
        match &self.entries {
            Entries::Narrow(c) => self.find_batch_in(c.as_slice(), keys, out),
            Entries::Wide(c) => self.find_batch_in(c.as_slice(), keys, out),
        }
    }

    #[inline(always)]
    fn find_batch_in<C: Cells + ?Sized, const W: usize>(
        &self,
        cells: &C,
        keys: &[K; W],
        out: &mut [u32; W],
    ) {
        let top = self.top;
        for (o, k) in out.iter_mut().zip(keys) {
            *o = self.direct.get(k.bits(0, top)).copied().unwrap_or(MISS);
            prefetch(self.node_or_any(*o));
        }
        let mut ix = [0usize; W];
        for ((i, o), k) in ix.iter_mut().zip(out.iter()).zip(keys) {
            *i = Self::entry_index(self.node_or_any(*o), k.bits(top, 8));
            cells.fetch(*i);
        }
        let mut deeper = false;
        for (o, &i) in out.iter_mut().zip(&ix) {
            let below = cells.entry(i, &self.lens);
            *o = select_unpredictable(*o & CHILD != 0, below, *o);
            deeper |= *o & CHILD != 0;
        }
        if deeper {
            for (o, &k) in out.iter_mut().zip(keys) {
                *o = self.descend(cells, *o, k, top + 8);
            }
        }
    }

    /// The bytes it holds: direct table, nodes, entries, values and the
    /// bookkeeping that updates need (reference counts, the leaf index,
    /// free lists).
    pub(crate) fn memory_usage(&self) -> usize {
        use core::mem::size_of;
        4 * (self.direct.capacity() + self.refs.capacity())
            + self.entries.bytes()
            + self.lens.capacity()
            + size_of::<Node>() * self.nodes.capacity()
            + size_of::<V>() * self.values.capacity()
            + (4 + 1) * buckets(self.index.capacity())
            + 4 * (self.free_nodes.capacity() + self.free_values.capacity())
            + self
                .free_entries
                .iter()
                .map(|f| 4 * f.capacity())
                .sum::<usize>()
    }

    /// How many nodes are in use.
    #[cfg(test)]
    pub(crate) fn nodes_in_use(&self) -> usize {
        self.nodes.len() - self.free_nodes.len()
    }

    /// How many leading bits the direct table indexes.
    #[cfg(test)]
    pub(crate) fn top(&self) -> u8 {
        self.top
    }

    /// Whether node entries are stored 16 bits wide.
    #[cfg(test)]
    pub(crate) fn is_narrow(&self) -> bool {
        self.entries.is_narrow()
    }

    /// How many distinct leaves, (value, length) pairs, it holds.
    pub(crate) fn leaves(&self) -> usize {
        self.values.len() - self.free_values.len()
    }
}
