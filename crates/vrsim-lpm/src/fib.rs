//! A leaf-pushed forwarding table (FIB) compiled from an [`Ipv4Table`], the
//! way the vRouter's `mtrie` (`dp-core/vr_ip_mtrie.c`) holds its routes: every
//! prefix is pushed down to the slots it covers at the 16-, 24- and 32-bit
//! levels (DIR-16-8-8), so each slot names its longest match, and a lookup
//! answers both the value and the matched length without the table (that is
//! the `PPL` column of `rt --dump`).
//!
//! As in Poptrie (Asai & Ohara, "Poptrie: a compressed trie with population
//! count for fast and scalable software IP routing table lookup", SIGCOMM
//! 2015), a node does not expand its 256 slots: a bitmap marks where runs of
//! equal slots start, one leaf is kept per run, and a popcount finds a slot's
//! run. Values are stored once each (deduplicated), and a leaf names one by
//! index with the matched length:
//!
//! ```text
//!  direct: [u32; 65536]   a leaf, or NODE | node index         (the /16 level)
//!  node (one cache line): run starts over 256 slots, first leaf, counts
//!  leaves: [u32]          value index << 7 | CHILD? | length    (one per run)
//!  values: [V]            each distinct value once
//! ```
//!
//! A `/24` slot that holds longer prefixes names a child node (`CHILD`)
//! instead of a value. `benches/leafpush.rs` is the design study this comes
//! from.
//!
//! This is the first step of issue 18: the FIB is compiled whole from a
//! table ([`Fib4::from_table`]) and answers exactly as the table does; it is
//! not yet kept in step with the table's inserts and removes, so after a
//! change it must be compiled again.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::Ipv4Table;

/// A direct-table entry naming a node rather than holding a leaf.
const NODE: u32 = 1 << 31;
/// A leaf naming a child node (its index above bit 7) rather than a value.
const CHILD: u32 = 1 << 6;
/// The leaf of a slot no prefix covers: its value index is out of range.
const MISS: u32 = !NODE & !CHILD & !0x3f;
/// The most values, and nodes, a leaf can index (24 bits of it).
const MAX_INDEX: usize = (1 << 24) - 1;

/// Why a table cannot be compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FibError {
    /// More distinct values, or more nodes, than a leaf can index.
    TooLarge {
        /// What overflowed: `values` or `nodes`.
        what: &'static str,
        /// How many there were.
        count: usize,
    },
}

impl core::fmt::Display for FibError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FibError::TooLarge { what, count } => write!(
                f,
                "{count} {what} is more than a FIB leaf can index ({MAX_INDEX})"
            ),
        }
    }
}

impl std::error::Error for FibError {}

/// One node: where the runs of equal slots start among its 256 slots.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(64))]
struct Node {
    starts: [u64; 4],
    /// The index of the node's first leaf.
    base: u32,
    /// Byte `i` (`0..3`): the number of runs starting in words `0..=i`.
    cum: u32,
}

/// The leaf-pushed IPv4 FIB.
#[derive(Debug, Clone)]
pub struct Fib4<V> {
    direct: Vec<u32>,
    nodes: Vec<Node>,
    leaves: Vec<u32>,
    values: Vec<V>,
}

fn leaf(index: u32, len: u8) -> u32 {
    (index << 7) | u32::from(len)
}

/// Fill the slots a prefix of length `len` starting at slot `lo` covers at
/// the level whose slots end at bit `stride_end`.
fn push(slots: &mut [u32], lo: usize, len: u8, stride_end: u8, lf: u32) {
    let n = 1usize << (stride_end - len);
    if let Some(run) = slots.get_mut(lo..lo + n) {
        run.fill(lf);
    }
}

impl<V: Copy + Eq + Hash> Fib4<V> {
    /// Compile `table`.
    pub fn from_table(table: &Ipv4Table<V>) -> Result<Self, FibError> {
        let mut index: HashMap<V, u32> = HashMap::new();
        let mut values = Vec::new();
        let mut pfx: Vec<(Ipv4Net, u32)> = Vec::with_capacity(table.len());
        for (p, v) in table.iter() {
            let i = match index.get(v) {
                Some(i) => *i,
                None => {
                    if values.len() >= MAX_INDEX {
                        return Err(FibError::TooLarge {
                            what: "values",
                            count: values.len() + 1,
                        });
                    }
                    let i = values.len() as u32;
                    values.push(*v);
                    index.insert(*v, i);
                    i
                }
            };
            pfx.push((p, i));
        }
        let mut fib = Fib4 {
            direct: vec![MISS; 1 << 16],
            nodes: Vec::new(),
            leaves: Vec::new(),
            values,
        };
        fib.compile(pfx)?;
        Ok(fib)
    }

    /// Push every prefix into the slots it covers (shorter ones first, so
    /// longer ones overwrite them), then compress the `/24` and `/32`
    /// levels into nodes.
    fn compile(&mut self, mut pfx: Vec<(Ipv4Net, u32)>) -> Result<(), FibError> {
        pfx.sort_by_key(|(p, _)| (p.prefix_len(), u32::from(p.addr())));
        let mut level24: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        let mut level32: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (p, i) in &pfx {
            let (a, len) = (u32::from(p.addr()), p.prefix_len());
            let lf = leaf(*i, len);
            let top16 = (a >> 16) as usize;
            if len <= 16 {
                push(&mut self.direct, top16, len, 16, lf);
            } else if len <= 24 {
                let d = self.direct[top16];
                let slots = level24.entry(a >> 16).or_insert_with(|| vec![d; 256]);
                push(slots, ((a >> 8) & 0xff) as usize, len, 24, lf);
            } else {
                let above = match level24.get(&(a >> 16)) {
                    Some(s) => s[((a >> 8) & 0xff) as usize],
                    None => self.direct[top16],
                };
                let slots = level32.entry(a >> 8).or_insert_with(|| vec![above; 256]);
                push(slots, (a & 0xff) as usize, len, 32, lf);
            }
        }
        for &top24 in level32.keys() {
            let d = self.direct[(top24 >> 8) as usize];
            level24.entry(top24 >> 8).or_insert_with(|| vec![d; 256]);
        }
        let mut children = BTreeMap::new();
        for (&top24, slots) in &level32 {
            children.insert(top24, self.compress(slots)?);
        }
        for (&top16, slots) in &mut level24 {
            for (b, slot) in slots.iter_mut().enumerate() {
                if let Some(&child) = children.get(&((top16 << 8) | b as u32)) {
                    *slot = (child << 7) | CHILD;
                }
            }
            self.direct[top16 as usize] = NODE | self.compress(slots)?;
        }
        Ok(())
    }

    /// Append a node for 256 slots and one leaf per run; its index.
    fn compress(&mut self, slots: &[u32]) -> Result<u32, FibError> {
        if self.nodes.len() >= MAX_INDEX || self.leaves.len() > u32::MAX as usize - 256 {
            return Err(FibError::TooLarge {
                what: "nodes",
                count: self.nodes.len() + 1,
            });
        }
        let mut node = Node {
            base: self.leaves.len() as u32,
            ..Node::default()
        };
        for (i, &lf) in slots.iter().enumerate() {
            if i == 0 || slots[i - 1] != lf {
                node.starts[i >> 6] |= 1 << (i & 63);
                self.leaves.push(lf);
            }
        }
        let mut acc = 0;
        for (i, w) in node.starts[..3].iter().enumerate() {
            acc += w.count_ones();
            node.cum |= acc << (8 * i);
        }
        self.nodes.push(node);
        Ok((self.nodes.len() - 1) as u32)
    }
}

impl<V: Copy> Fib4<V> {
    /// The index of the leaf of slot `b` of `n`: the run holding it.
    #[inline(always)]
    fn leaf_index(n: &Node, b: u32) -> usize {
        let w = (b >> 6) as usize & 3;
        let before = (u64::from(n.cum) << 8 >> (8 * w)) & 0xff;
        let upto = n.starts[w] & (u64::MAX >> (63 - (b & 63)));
        (n.base as usize + before as usize + upto.count_ones() as usize).wrapping_sub(1)
    }

    #[inline(always)]
    fn in_node(&self, node: usize, b: u32) -> u32 {
        self.nodes
            .get(node)
            .and_then(|n| self.leaves.get(Self::leaf_index(n, b)))
            .copied()
            .unwrap_or(MISS)
    }

    /// The longest match for `addr`: its prefix length and value, as
    /// [`Ipv4Table::longest_match_len`] answers.
    #[inline]
    pub fn lookup(&self, addr: Ipv4Addr) -> Option<(u8, V)> {
        let a = u32::from(addr);
        let e = self.direct[(a >> 16) as usize];
        let mut lf = e;
        if e & NODE != 0 {
            lf = self.in_node((e & !NODE) as usize, (a >> 8) & 0xff);
            if lf & CHILD != 0 {
                lf = self.in_node((lf >> 7) as usize, a & 0xff);
            }
        }
        self.values
            .get((lf >> 7) as usize)
            .map(|v| ((lf & 0x3f) as u8, *v))
    }

    /// The bytes the FIB holds: its direct table, nodes, leaves and values.
    pub fn memory_usage(&self) -> usize {
        4 * (self.direct.capacity() + self.leaves.capacity())
            + core::mem::size_of::<Node>() * self.nodes.capacity()
            + core::mem::size_of::<V>() * self.values.capacity()
    }

    /// How many distinct values it holds.
    pub fn values(&self) -> usize {
        self.values.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().expect("a prefix")
    }

    /// Every level: a default, a /8 and /16 on the direct table, a /20 and
    /// /24 in a node, a /28 and /32 in a child, and an address no prefix
    /// covers once the default is gone.
    #[test]
    fn answers_as_the_table_does_on_every_level() {
        let mut t: Ipv4Table<u32> = [
            (net("0.0.0.0/0"), 1),
            (net("10.0.0.0/8"), 2),
            (net("10.1.0.0/16"), 3),
            (net("10.1.16.0/20"), 4),
            (net("10.1.17.0/24"), 5),
            (net("10.1.17.16/28"), 6),
            (net("10.1.17.17/32"), 2),
        ]
        .into_iter()
        .collect();
        let probe = |t: &Ipv4Table<u32>| {
            let fib = Fib4::from_table(t).expect("it compiles");
            for a in [
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
            ] {
                let a: Ipv4Addr = a.parse().expect("an address");
                let want = t.longest_match_len(a).map(|(l, v)| (l, *v));
                assert_eq!(fib.lookup(a), want, "{a}");
            }
            fib
        };
        let fib = probe(&t);
        // Value 2 is stored once for two prefixes.
        assert_eq!(fib.values(), 6);
        t.remove(&net("0.0.0.0/0"));
        let fib = probe(&t);
        assert_eq!(fib.lookup("9.0.0.1".parse().expect("an address")), None);
        let empty = Fib4::from_table(&Ipv4Table::<u32>::default()).expect("it compiles");
        assert_eq!(empty.lookup(Ipv4Addr::BROADCAST), None);
    }
}
