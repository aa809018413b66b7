//! Leaf-pushed forwarding tables (FIBs) kept in step with their tables, the
//! way the vRouter holds its routes: its `mtrie` (`dp-core/vr_ip_mtrie.c`)
//! pushes every prefix down to the slots it covers, so each slot names its
//! longest match, and a lookup answers both the value and the matched length
//! without the table (that is the `PPL` column of `rt --dump`: the length
//! of the prefix a slot's leaf came from).
//!
//! [`Fib4`] and [`Fib6`] own an [`Ipv4Table`] or [`Ipv6Table`] (the RIB:
//! keys, `get`, `remove`, `iter`) and a compiled FIB beside it. The FIB is
//! compiled at the first lookup (or by [`from_table`](Fib4::from_table)),
//! so a table that is filled but never looked up, as most VRFs of a large
//! fabric, costs no more than the table; from then on every
//! [`insert`](Fib4::insert) and [`remove`](Fib4::remove) changes both, and
//! the FIB's change touches only the slots the prefix covers and the nodes
//! below them, never the whole. A table with more distinct leaves or nodes
//! than a FIB can index (over eight million) is answered from the table.
//!
//! The FIB is a direct table over the first 8 bits, as the vRouter's
//! `mtrie` root bucket (`dp-core/vr_ip_mtrie.c`: 8-bit buckets at every
//! level), or over the first 16 once the table holds a few thousand prefixes
//! (Poptrie's direct pointing; [`Fib4::wide`] from the start), then nodes of
//! 8-bit strides. As in Poptrie (Asai & Ohara, "Poptrie: a
//! compressed trie with population count for fast and scalable software IP
//! routing table lookup", SIGCOMM 2015), a node does not expand its 256
//! slots: a bitmap marks where runs of equal slots start, one entry is kept
//! per run, and a popcount finds a slot's run. A leaf is a value and the
//! matched length; each distinct leaf is stored once (deduplicated, so FIB
//! values are `Copy + Eq + Hash`) and named by its index. While there are
//! fewer than 32,767 leaves and nodes, a node's entries are 16 bits wide, as
//! Poptrie's leaves are (half the memory: a full IPv4 table whose values are
//! 256 next hops takes 3.6 bytes per prefix), and 32 bits wide from the
//! change that passes that:
//!
//! ```text
//!  direct: [u32; 65536]   per /16: a leaf (index | length), or a node one level down
//!  node (one cache line): run starts over 256 slots, first entry, counts
//!  entries: [u16] or [u32] one per run: a leaf's index (| length), or a node
//!  leaves: [V], [u8]      each distinct (value, length) once
//! ```
//!
//! ```
//! use std::net::Ipv4Addr;
//! use vrsim_lpm::Fib4;
//!
//! let mut fib = Fib4::new();
//! fib.insert("10.0.0.0/8".parse().unwrap(), 'a');
//! fib.insert("10.1.2.0/26".parse().unwrap(), 'b');
//! // The matched length and the value, as `rt --dump` prints PPL and nexthop.
//! assert_eq!(fib.lookup(Ipv4Addr::new(10, 1, 2, 3)), Some((26, &'b')));
//! assert_eq!(fib.lookup(Ipv4Addr::new(10, 1, 2, 64)), Some((8, &'a')));
//! assert_eq!(fib.remove(&"10.1.2.0/26".parse().unwrap()), Some('b'));
//! assert_eq!(fib.lookup(Ipv4Addr::new(10, 1, 2, 3)), Some((8, &'a')));
//! assert_eq!(fib.table().len(), 1);
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

use std::sync::OnceLock;

use crate::cells::MISS;
use crate::push::{Push, TooLarge};
use crate::{Ipv4Table, Ipv6Table};

/// Tables with at least this many prefixes get a 16-bit direct table (256
/// KiB); smaller ones an 8-bit one (1 KiB), so the many small VRFs of a
/// large fabric do not each pay for 65,536 slots. Rebuilding at the switch
/// is rare: it waits for the count to double past, or halve under it.
const WIDE: usize = 4096;

/// How many addresses a batched lookup resolves together.
const BATCH: usize = 16;

/// What a FIB type holds beside its table: nothing yet (compiled at the
/// first lookup), the compiled FIB, or `None` once the table has more
/// distinct leaves or nodes than a FIB can index (lookups then answer from
/// the table).
type Slot<K, V> = OnceLock<Option<Box<Push<K, V>>>>;

macro_rules! fib {
    ($(#[$doc:meta])* $name:ident, $table:ident, $iter:ident, $net:ident, $addr:ident, $key:ty, $family:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name<V> {
            table: $table<V>,
            fib: Slot<$key, V>,
            /// From how many prefixes the direct table is 16 bits wide.
            wide_at: usize,
        }

        impl<V> Default for $name<V> {
            fn default() -> Self {
                $name {
                    table: $table::new(),
                    fib: OnceLock::new(),
                    wide_at: WIDE,
                }
            }
        }

        impl<V: Copy + Eq + std::hash::Hash> $name<V> {
            /// An empty table and FIB. The FIB's direct table is 8 bits wide
            /// (1 KiB, as the vRouter's `mtrie` root bucket) while the table
            /// holds fewer than 4,096 prefixes, and 16 bits (256 KiB) from
            /// then on.
            pub fn new() -> Self {
                Self::default()
            }

            /// An empty table whose FIB always has the 16-bit direct table
            /// (256 KiB once compiled): a level fewer than [`new`](Self::new)'s
            /// under small tables, for callers with few tables that look up
            /// often, as a vRouter's VRFs.
            pub fn wide() -> Self {
                $name {
                    wide_at: 0,
                    ..Self::default()
                }
            }

            /// Take `table` and compile its FIB now.
            pub fn from_table(table: $table<V>) -> Self {
                let fib = $name {
                    table,
                    fib: OnceLock::new(),
                    wide_at: WIDE,
                };
                fib.compiled();
                fib
            }

            fn compile(table: &$table<V>, wide_at: usize) -> Result<Push<$key, V>, TooLarge> {
                Push::build(
                    table
                        .iter()
                        .map(|(p, v)| (<$key>::from(p.addr()), p.prefix_len(), *v)),
                    wide_at,
                )
            }

            /// The FIB, compiled now if it was not yet; `None` if the table
            /// is more than a FIB can index.
            #[inline(always)]
            fn compiled(&self) -> Option<&Push<$key, V>> {
                self.fib
                    .get_or_init(|| Self::compile(&self.table, self.wide_at).ok().map(Box::new))
                    .as_deref()
            }

            /// Whether the FIB is compiled (lookups have begun, or it was
            /// built by [`from_table`](Self::from_table)) and answers lookups.
            pub fn is_compiled(&self) -> bool {
                self.built().is_some()
            }

            /// Insert `value` for `prefix` (host bits ignored) into the table
            /// and, once compiled, the FIB; the value it replaced, if any.
            pub fn insert(&mut self, prefix: $net, value: V) -> Option<V> {
                let prefix = prefix.trunc();
                let old = self.table.insert(prefix, value);
                if let Some(slot) = self.fib.get_mut() {
                    let key = <$key>::from(prefix.addr());
                    if let Some(fib) = slot
                        && fib.insert(key, prefix.prefix_len(), value, old).is_err()
                    {
                        // More than a FIB can index: answer from the table.
                        *slot = None;
                    }
                }
                self.fit();
                old
            }

            /// Insert every pair (host bits ignored; a later pair for a prefix
            /// replaces an earlier one). Into an empty table they are built
            /// whole, several times faster than pair by pair, and the FIB is
            /// compiled at the first lookup.
            pub fn insert_all(&mut self, pairs: impl IntoIterator<Item = ($net, V)>) {
                if self.is_empty() {
                    self.table = pairs.into_iter().collect();
                    self.fib = OnceLock::new();
                    return;
                }
                for (p, v) in pairs {
                    self.insert(p, v);
                }
            }

            /// Remove `prefix` (host bits ignored) from the table and the FIB;
            /// its value, if it was there.
            pub fn remove(&mut self, prefix: &$net) -> Option<V> {
                let prefix = prefix.trunc();
                let old = self.table.remove(&prefix)?;
                let parent = if self.is_compiled() { self.parent(&prefix) } else { None };
                match self.fib.get_mut() {
                    Some(Some(fib)) => {
                        let key = <$key>::from(prefix.addr());
                        fib.remove(key, prefix.prefix_len(), old, parent);
                    }
                    // The table shrank: the FIB may fit again.
                    Some(None) => self.fib = OnceLock::new(),
                    None => {}
                }
                self.fit();
                Some(old)
            }

            /// The longest prefix of the table strictly containing `prefix`.
            fn parent(&self, prefix: &$net) -> Option<(u8, V)> {
                let len = prefix.prefix_len();
                // Usually the longest match of the first address is it.
                match self.table.longest_match_len(prefix.addr()) {
                    Some((l, v)) if l < len => return Some((l, *v)),
                    None => return None,
                    Some(_) => {}
                }
                let key = crate::$family::key(prefix.addr());
                (0..len).rev().find_map(|l| {
                    let p = crate::$family::net(key, u32::from(l));
                    self.table.get(&p).map(|v| (l, *v))
                })
            }

            /// Build the FIB again when the table has grown or shrunk past
            /// the direct table's width.
            fn fit(&mut self) {
                if let Some(fib) = self.built()
                    && fib.wants_rebuild(self.table.len(), self.wide_at)
                {
                    let fib = Self::compile(&self.table, self.wide_at).ok().map(Box::new);
                    self.fib = OnceLock::from(fib);
                }
            }

            /// The longest match for `addr`: the matched prefix's length and
            /// its value, read from the FIB alone (compiled now if this is
            /// the first lookup).
            #[inline]
            pub fn lookup(&self, addr: $addr) -> Option<(u8, &V)> {
                match self.compiled() {
                    Some(fib) => fib.value(fib.find_fast(<$key>::from(addr))),
                    None => self.table.longest_match_len(addr),
                }
            }

            /// The longest prefix containing `addr`, and its value.
            #[inline]
            pub fn longest_match(&self, addr: $addr) -> Option<($net, &V)> {
                let (len, v) = self.lookup(addr)?;
                Some((crate::$family::net(crate::$family::key(addr), u32::from(len)), v))
            }

            /// Look up every address of `addrs`, writing the answer of
            /// [`lookup`](Self::lookup) to the same index of `out`. Only the
            /// first `addrs.len().min(out.len())` are looked up. The addresses
            /// are resolved 16 at a time, each level's memory fetched for all
            /// 16 before any is read, so their cache misses overlap.
            pub fn lookup_batch(&self, addrs: &[$addr], out: &mut [Option<(u8, V)>]) {
                let Some(fib) = self.compiled() else {
                    for (o, &a) in out.iter_mut().zip(addrs) {
                        *o = self.lookup(a).map(|(l, v)| (l, *v));
                    }
                    return;
                };
                let mut keys = [0 as $key; BATCH];
                let mut leaves = [MISS; BATCH];
                for (a, o) in addrs.chunks(BATCH).zip(out.chunks_mut(BATCH)) {
                    for (k, a) in keys.iter_mut().zip(a) {
                        *k = <$key>::from(*a);
                    }
                    fib.find_batch_fast(&keys, &mut leaves);
                    for (o, &e) in o.iter_mut().zip(&leaves[..a.len()]) {
                        *o = fib.value(e).map(|(l, v)| (l, *v));
                    }
                }
            }
        }

        #[cfg(test)]
        impl<V: Copy + Eq + std::hash::Hash> $name<V> {
            /// [`lookup`](Self::lookup), the value copied.
            fn look(&self, addr: $addr) -> Option<(u8, V)> {
                self.lookup(addr).map(|(l, v)| (l, *v))
            }

            /// The compiled FIB.
            fn push(&self) -> &Push<$key, V> {
                self.compiled().expect("a FIB that fits")
            }
        }

        impl<V> $name<V> {
            /// The FIB, if it is compiled and holds the table.
            fn built(&self) -> Option<&Push<$key, V>> {
                self.fib.get().and_then(|fib| fib.as_deref())
            }

            /// The table (the RIB): exact `get`, `iter`, `memory_usage`.
            pub fn table(&self) -> &$table<V> {
                &self.table
            }

            /// The table, without its FIB.
            pub fn into_table(self) -> $table<V> {
                self.table
            }

            /// The value stored for exactly `prefix` (host bits ignored).
            pub fn get(&self, prefix: &$net) -> Option<&V> {
                self.table.get(prefix)
            }

            /// The prefixes and their values, in the table's order
            /// (address, then length).
            pub fn iter(&self) -> crate::$iter<'_, V> {
                self.table.iter()
            }

            /// The number of prefixes.
            pub fn len(&self) -> usize {
                self.table.len()
            }

            /// Whether there is no prefix.
            pub fn is_empty(&self) -> bool {
                self.table.is_empty()
            }
        }

        impl<V: Copy> $name<V> {
            /// The bytes the FIB holds beside the table (whose own are
            /// [`table().memory_usage()`]($table::memory_usage)): its direct
            /// table, nodes, entries and values, and what updates keep
            /// (reference counts, the leaf index, free lists); 0 until it is
            /// compiled.
            pub fn memory_usage(&self) -> usize {
                self.built().map_or(0, Push::memory_usage)
            }

            /// How many distinct leaves, (value, matched length) pairs, the
            /// compiled FIB holds: each is stored once.
            pub fn leaves(&self) -> usize {
                self.built().map_or(0, Push::leaves)
            }
        }
    };
}

fib!(
    /// An IPv4 table with its leaf-pushed FIB kept in step (see the
    /// [module documentation](self)).
    Fib4, Ipv4Table, Ipv4Iter, Ipv4Net, Ipv4Addr, u32, v4
);

fib!(
    /// An IPv6 table with its leaf-pushed FIB kept in step: a direct table,
    /// then up to fifteen levels of 8-bit nodes, as the vRouter's inet6
    /// `mtrie`'s sixteen 8-bit levels (see the [module documentation](self)).
    Fib6, Ipv6Table, Ipv6Iter, Ipv6Net, Ipv6Addr, u128, v6
);

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().expect("a prefix")
    }

    fn addr(s: &str) -> Ipv4Addr {
        s.parse().expect("an address")
    }

    const PROBES: [&str; 11] = [
        "9.255.255.255",
        "10.0.0.1",
        "10.1.0.1",
        "10.1.16.1",
        "10.1.17.1",
        "10.1.17.16",
        "10.1.17.17",
        "10.1.17.31",
        "10.1.17.32",
        "10.1.18.0",
        "10.2.0.0",
    ];

    fn agrees(fib: &Fib4<u32>) {
        for a in PROBES.map(addr) {
            let want = fib.table().longest_match_len(a).map(|(l, v)| (l, *v));
            assert_eq!(fib.look(a), want, "{a}");
            let mut out = [None];
            fib.lookup_batch(&[a], &mut out);
            assert_eq!(out[0], want, "{a} batched");
        }
        let fresh = Fib4::compile(fib.table(), fib.wide_at).expect("it compiles");
        // The same shape as a fresh build: changes leave nothing behind.
        assert_eq!(fresh.leaves(), fib.push().leaves());
        assert_eq!(fresh.nodes_in_use(), fib.push().nodes_in_use());
    }

    const ROUTES: [(&str, u32); 7] = [
        ("0.0.0.0/0", 1),
        ("10.0.0.0/8", 2),
        ("10.1.0.0/16", 3),
        ("10.1.16.0/20", 4),
        ("10.1.17.0/24", 5),
        ("10.1.17.16/28", 6),
        ("10.1.17.17/32", 2),
    ];

    /// Every level: a default, a /8 and /16 on the direct table, a /20 and
    /// /24 in a node, a /28 and /32 in a child; built whole, built prefix by
    /// prefix in either order, and taken apart again.
    #[test]
    fn answers_as_the_table_does_on_every_level() {
        let t: Ipv4Table<u32> = ROUTES.iter().map(|&(p, v)| (net(p), v)).collect();
        let fib = Fib4::from_table(t);
        agrees(&fib);
        // A leaf per (value, length): value 2 at /8 and at /32 is two.
        assert_eq!(fib.leaves(), 7);
        // Another /16 with value 3 shares the leaf of 10.1.0.0/16.
        let mut shared = fib.clone();
        shared.insert(net("10.2.0.0/16"), 3);
        assert_eq!(shared.leaves(), 7);
        assert_eq!(shared.look(addr("10.2.0.1")), Some((16, 3)));
        // Built whole by `insert_all` into an empty FIB, then pair by pair
        // into a full one (a later pair replacing an earlier).
        let mut all = Fib4::new();
        all.insert_all(ROUTES.iter().map(|&(p, v)| (net(p), v)));
        agrees(&all);
        all.insert_all([(net("10.1.17.16/28"), 9), (net("10.1.17.16/28"), 8)]);
        assert_eq!(all.look(addr("10.1.17.20")), Some((28, 8)));
        assert_eq!(all.iter().count(), ROUTES.len());
        agrees(&all);
        for order in [ROUTES.to_vec(), ROUTES.iter().rev().copied().collect()] {
            let mut fib = Fib4::new();
            for &(p, v) in &order {
                assert_eq!(fib.insert(net(p), v), None);
                agrees(&fib);
            }
            assert_eq!(fib.leaves(), 7);
            for &(p, v) in &order {
                assert_eq!(fib.remove(&net(p)), Some(v));
                agrees(&fib);
            }
            assert!(fib.is_empty());
            assert_eq!(fib.leaves(), 0);
            assert_eq!(fib.look(addr("10.1.17.17")), None);
        }
    }

    /// Filled but never looked up, a FIB costs nothing; the first lookup
    /// compiles it, and from then on it follows every change.
    #[test]
    fn compiled_at_the_first_lookup_then_kept_in_step() {
        let mut fib = Fib4::new();
        fib.insert_all(ROUTES.iter().map(|&(p, v)| (net(p), v)));
        fib.insert(net("10.9.0.0/16"), 9);
        assert!(!fib.is_compiled());
        assert_eq!(fib.memory_usage(), 0);
        assert_eq!(fib.look(addr("10.9.1.1")), Some((16, 9)));
        assert!(fib.is_compiled());
        assert!(fib.memory_usage() > 0);
        assert_eq!(fib.remove(&net("10.9.0.0/16")), Some(9));
        assert_eq!(fib.look(addr("10.9.1.1")), Some((8, 2)));
        agrees(&fib);
    }

    /// Removing the last prefix below a slot gives the slot its leaf back
    /// and frees the nodes; replacing a value frees the old one.
    #[test]
    fn nodes_and_values_are_freed() {
        let mut fib = Fib4::new();
        fib.insert(net("10.0.0.0/8"), 1);
        let leaf_only = (fib.push().nodes_in_use(), fib.leaves());
        fib.insert(net("10.1.17.17/32"), 2);
        // A small table's direct table is 8 bits wide: a /32 needs a node
        // for each of the other three bytes.
        assert_eq!(fib.push().nodes_in_use(), 3);
        assert_eq!(fib.insert(net("10.1.17.17/32"), 3), Some(2));
        assert_eq!(fib.leaves(), 2);
        assert_eq!(fib.look(addr("10.1.17.17")), Some((32, 3)));
        fib.remove(&net("10.1.17.17/32"));
        assert_eq!((fib.push().nodes_in_use(), fib.leaves()), leaf_only);
        assert_eq!(fib.look(addr("10.1.17.17")), Some((8, 1)));
    }

    /// Prefixes that cover a slot whole, all with one value, store it as a
    /// leaf longer than the slot: a removal under it must still be seen.
    #[test]
    fn a_slot_covered_whole_by_longer_prefixes() {
        for wide in [false, true] {
            let mut fib = if wide { Fib4::wide() } else { Fib4::new() };
            // Compiled before the changes, which it then follows.
            fib.compiled();
            fib.insert(net("10.0.0.0/8"), 7);
            for i in 0..16u32 {
                let p = Ipv4Net::new(Ipv4Addr::from(0x0a01_0000 | i << 12), 20).expect("a /20");
                fib.insert(p, 1);
            }
            assert_eq!(fib.look(addr("10.1.48.1")), Some((20, 1)));
            fib.remove(&net("10.1.48.0/20"));
            assert_eq!(fib.look(addr("10.1.48.1")), Some((8, 7)));
            assert_eq!(fib.look(addr("10.1.64.1")), Some((20, 1)));
            fib.insert(net("10.1.0.0/18"), 1);
            assert_eq!(fib.look(addr("10.1.48.1")), Some((18, 1)));
            agrees(&fib);
        }
    }

    /// Growing past the small direct table's width builds the wide one, and
    /// shrinking builds the small one again; lookups agree throughout.
    #[test]
    fn the_direct_table_follows_the_table_size() {
        let mut fib = Fib4::new();
        fib.compiled();
        let p = |i: u32| Ipv4Net::new(Ipv4Addr::from(i << 12), 20).expect("a /20");
        for i in 0..9000 {
            fib.insert(p(i), i % 7);
        }
        assert_eq!(fib.push().top(), 16);
        for i in 0..8000 {
            fib.remove(&p(i));
        }
        assert_eq!(fib.push().top(), 8);
        for i in (7990..8010).map(|i| i << 12) {
            let a = Ipv4Addr::from(i);
            let want = fib.table().longest_match_len(a).map(|(l, v)| (l, *v));
            assert_eq!(fib.look(a), want, "{a}");
        }
    }

    /// Node entries are 16 bits wide until the FIB has more leaves, or more
    /// nodes, than they can name (a limit of 64 in unit tests), then 32;
    /// lookups agree before and after, and a fresh build of a small table
    /// is narrow again.
    #[test]
    fn entries_widen_past_what_16_bits_name() {
        let limit = crate::cells::NARROW_LIMIT as u32;
        let p = |i: u32, len: u8| Ipv4Net::new(Ipv4Addr::from(i), len).expect("a prefix");
        // Leaves: /24s of distinct values, all in one node.
        let mut leaves = Fib4::wide();
        leaves.compiled();
        // Nodes: /32s of one value, each in a /24 of its own under 10.0/16.
        let mut nodes = Fib4::wide();
        nodes.compiled();
        for i in 0..limit + 8 {
            leaves.insert(p(0x0a00_0000 | i << 8, 24), i);
            nodes.insert(p(0x0a00_0001 | i << 8, 32), 1);
            // i + 1 leaves; i + 2 nodes, with the one under 10.0/16.
            assert_eq!(leaves.push().is_narrow(), i < limit, "leaf {i}");
            assert_eq!(nodes.push().is_narrow(), i + 1 < limit, "node {i}");
            for f in [&leaves, &nodes] {
                for a in
                    [i << 8, i << 8 | 1, i << 8 | 2, 0].map(|a| Ipv4Addr::from(0x0a00_0000 | a))
                {
                    let want = f.table().longest_match_len(a).map(|(l, v)| (l, *v));
                    assert_eq!(f.look(a), want, "{a} after {i}");
                }
            }
        }
        agrees(&leaves);
        agrees(&nodes);
        let small: Ipv4Table<u32> = leaves.iter().take(3).map(|(p, v)| (p, *v)).collect();
        assert!(Fib4::from_table(small).push().is_narrow());
    }

    #[test]
    fn ipv6_answers_as_the_table_does() {
        let mut fib = Fib6::new();
        let routes = [("::/0", 1), ("2001:db8::/32", 2), ("2001:db8::1/128", 3)];
        for (p, v) in routes {
            fib.insert(p.parse().expect("a prefix"), v);
        }
        let probes: [Ipv6Addr; 3] =
            ["2001:db8::1", "2001:db8::2", "2001:db9::"].map(|a| a.parse().expect("an address"));
        let mut out = [None; 3];
        fib.lookup_batch(&probes, &mut out);
        assert_eq!(out, [Some((128, 3)), Some((32, 2)), Some((0, 1))]);
        fib.remove(&"2001:db8::1/128".parse().expect("a prefix"));
        assert_eq!(fib.look(probes[0]), Some((32, 2)));
    }
}

/// The FIB against the naive oracle at every step of random insert, remove
/// and lookup sequences (the table's own property test drives the same
/// operations, and inserts siblings alike), with the direct table 8 and 16
/// bits wide, values distinct and folded onto three (so values are shared
/// and freed); then at both ends
/// of every prefix and just past each, single and batched on every length,
/// and its shape against a fresh build of the same table.
#[cfg(test)]
mod props {
    use proptest::prelude::*;
    use proptest::test_runner::FileFailurePersistence;
    use vrsim_testkit::strategies::lpm::{Op, Oracle, ops};

    use super::*;

    trait Under: Sized {
        const WIDTH: u32;
        fn make(wide: bool) -> Self;
        fn ins(&mut self, k: u128, l: u8, v: u32) -> Option<u32>;
        fn rem(&mut self, k: u128, l: u8) -> Option<u32>;
        fn look(&self, k: u128) -> Option<(u8, u32)>;
        fn batch(&self, ks: &[u128]) -> Vec<Option<(u8, u32)>>;
        /// (distinct leaves, nodes in use, direct-table width) of this FIB
        /// and of a fresh build of its table.
        fn shapes(&self) -> [(usize, usize, u8); 2];
    }

    macro_rules! under {
        ($fib:ident, $net:ident, $addr:ident, $width:literal, $conv:expr) => {
            impl Under for $fib<u32> {
                const WIDTH: u32 = $width;
                fn make(wide: bool) -> Self {
                    let f = if wide { $fib::wide() } else { $fib::new() };
                    // Compiled before the operations, which it then follows.
                    f.compiled();
                    f
                }
                fn ins(&mut self, k: u128, l: u8, v: u32) -> Option<u32> {
                    let p = $net::new($conv(k), l).expect("a valid length");
                    self.insert(p, v)
                }
                fn rem(&mut self, k: u128, l: u8) -> Option<u32> {
                    self.remove(&$net::new($conv(k), l).expect("a valid length"))
                }
                fn look(&self, k: u128) -> Option<(u8, u32)> {
                    let got = self.look($conv(k));
                    let prefix = self.longest_match($conv(k)).map(|(p, _)| p);
                    let want = got.and_then(|(l, _)| $net::new($conv(k), l).ok());
                    assert_eq!(prefix, want.map(|p| p.trunc()));
                    got
                }
                fn batch(&self, ks: &[u128]) -> Vec<Option<(u8, u32)>> {
                    let addrs: Vec<$addr> = ks.iter().map(|&k| $conv(k)).collect();
                    let mut out = vec![Some((255, 0)); ks.len()];
                    self.lookup_batch(&addrs, &mut out);
                    out
                }
                fn shapes(&self) -> [(usize, usize, u8); 2] {
                    let fresh = Self::compile(&self.table, self.wide_at).expect("it compiles");
                    [self.push(), &fresh].map(|f| (f.leaves(), f.nodes_in_use(), f.top()))
                }
            }
        };
    }

    under!(Fib4, Ipv4Net, Ipv4Addr, 32, |k: u128| Ipv4Addr::from(
        (k >> 96) as u32
    ));
    under!(Fib6, Ipv6Net, Ipv6Addr, 128, Ipv6Addr::from);

    fn check<F: Under>(ops: &[Op], wide: bool, fold: u32) {
        let mut f = F::make(wide);
        let mut o = Oracle::default();
        let mut probes = Vec::new();
        for op in ops {
            match *op {
                Op::Insert(k, l, v) => {
                    assert_eq!(f.ins(k, l, v % fold), o.insert(k, l, v % fold));
                    // Half the time its sibling too, with the same value: the
                    // two cover their parent's slots alike, which the FIB
                    // stores as one leaf longer than the slot above.
                    if l > 0 && v % 2 == 0 {
                        let k = k ^ (1u128 << (128 - u32::from(l)));
                        assert_eq!(f.ins(k, l, v % fold), o.insert(k, l, v % fold));
                    }
                }
                Op::Remove(k, l) => assert_eq!(f.rem(k, l), o.remove(k, l)),
                Op::Get(..) => {}
                Op::Lookup(k) => {
                    assert_eq!(f.look(k), o.lookup(k), "{k:x}");
                    probes.push(k);
                }
            }
        }
        let unit = 1u128 << (128 - F::WIDTH);
        for &(k, l) in o.map.keys() {
            let last = k | ((!0u128).checked_shr(u32::from(l)).unwrap_or(0) & !(unit - 1));
            probes.extend([k, last, last.wrapping_add(unit)]);
        }
        let singles: Vec<_> = probes.iter().map(|&k| f.look(k)).collect();
        for (&k, got) in probes.iter().zip(&singles) {
            assert_eq!(*got, o.lookup(k), "{k:x}");
        }
        let n = probes.len();
        for len in [n, n.saturating_sub(1), 17, 16, 15, 1, 0] {
            let len = len.min(n);
            assert_eq!(f.batch(&probes[..len]), singles[..len], "a batch of {len}");
        }
        let [now, fresh] = f.shapes();
        assert_eq!(now, fresh, "(values, nodes, width) against a fresh build");
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 512,
            failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
            ..ProptestConfig::default()
        })]

        #[test]
        fn fib4_agrees_with_oracle(ops in ops(32, 200), wide: bool, fold in prop_oneof![Just(3u32), Just(u32::MAX)]) {
            check::<Fib4<u32>>(&ops, wide, fold);
        }

        #[test]
        fn fib6_agrees_with_oracle(ops in ops(128, 200), wide: bool, fold in prop_oneof![Just(3u32), Just(u32::MAX)]) {
            check::<Fib6<u32>>(&ops, wide, fold);
        }
    }
}
