//! [`Ipv4Table`]: the IPv4 longest-prefix-match table.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::trie::Trie;
use crate::walk::Walk;

/// An IPv4 longest-prefix-match table mapping prefixes to values of type `V`.
///
/// See the [crate documentation](crate) for the design. Every method is
/// deterministic; lookups allocate nothing.
///
/// ```
/// use std::net::Ipv4Addr;
/// use vrsim_lpm::Ipv4Table;
///
/// let mut table = Ipv4Table::new();
/// table.insert("10.0.0.0/8".parse().unwrap(), "ten");
/// table.insert("10.1.2.3/24".parse().unwrap(), "ten-one-two"); // stored as 10.1.2.0/24
/// let (prefix, value) = table.longest_match(Ipv4Addr::new(10, 1, 2, 200)).unwrap();
/// assert_eq!((prefix.to_string(), *value), ("10.1.2.0/24".to_owned(), "ten-one-two"));
/// assert_eq!(table.longest_match(Ipv4Addr::new(11, 0, 0, 1)), None);
/// ```
#[derive(Clone)]
pub struct Ipv4Table<V> {
    pub(crate) trie: Trie<V>,
}

/// An iterator over the prefixes of an [`Ipv4Table`] and their values, in address
/// order, then length order (`10.0.0.0/8` before `10.0.0.0/16` before `10.0.1.0/24`).
#[derive(Clone, Debug)]
pub struct Iter<'a, V> {
    walk: Walk<'a, V>,
}

/// The left-aligned core key of an IPv4 address.
pub(crate) fn key(addr: Ipv4Addr) -> u128 {
    u128::from(u32::from(addr)) << 96
}

/// The prefix of length `len` containing the left-aligned `key`.
pub(crate) fn net(key: u128, len: u32) -> Ipv4Net {
    net32((key >> 96) as u32, len)
}

/// The prefix of length `len` containing `addr`. Cheaper than
/// `Ipv4Net::new(..).trunc()`, which recomputes the mask through checked shifts.
#[inline(always)]
fn net32(addr: u32, len: u32) -> Ipv4Net {
    // `len <= 32` always holds for prefixes of an IPv4 trie, so the shift is at
    // most 32 bits of a 64-bit value (a /0 masks everything) and the fallback
    // below is never taken; it keeps the function total.
    let mask = (u64::from(u32::MAX) << (32 - len.min(32))) as u32;
    Ipv4Net::new(Ipv4Addr::from(addr & mask), len as u8).unwrap_or_default()
}

impl<V> Ipv4Table<V> {
    /// An empty table.
    pub fn new() -> Self {
        Ipv4Table {
            trie: Trie::new(32),
        }
    }

    /// The number of prefixes in the table.
    pub fn len(&self) -> usize {
        self.trie.len()
    }

    /// Whether the table holds no prefix.
    pub fn is_empty(&self) -> bool {
        self.trie.len() == 0
    }

    /// Removes every prefix and returns the memory to the allocator.
    pub fn clear(&mut self) {
        self.trie = Trie::new(32);
    }

    /// Inserts `value` for `prefix`, ignoring host bits beyond the prefix length
    /// (`10.1.2.3/24` is `10.1.2.0/24`). Returns the value it replaced, if any.
    pub fn insert(&mut self, prefix: Ipv4Net, value: V) -> Option<V> {
        self.trie
            .insert(key(prefix.addr()), u32::from(prefix.prefix_len()), value)
    }

    /// Removes `prefix` (host bits ignored) and returns its value, if it was present.
    pub fn remove(&mut self, prefix: &Ipv4Net) -> Option<V> {
        self.trie
            .remove(key(prefix.addr()), u32::from(prefix.prefix_len()))
    }

    /// The value stored for exactly `prefix` (host bits ignored).
    pub fn get(&self, prefix: &Ipv4Net) -> Option<&V> {
        let len = u32::from(prefix.prefix_len());
        self.trie
            .get(crate::trie::mask(key(prefix.addr()), len), len)
    }

    /// The longest prefix containing `addr`, and its value.
    #[inline]
    pub fn longest_match(&self, addr: Ipv4Addr) -> Option<(Ipv4Net, &V)> {
        let a = u32::from(addr);
        let (len, value) = self.lookup(a)?;
        Some((net32(a, len), value))
    }

    /// As [`longest_match`](Self::longest_match), with the matched prefix's
    /// length instead of the prefix: the same lookup without building an
    /// [`Ipv4Net`], for callers on a fast path that rarely need the prefix.
    #[inline]
    pub fn longest_match_len(&self, addr: Ipv4Addr) -> Option<(u8, &V)> {
        let (len, value) = self.lookup(u32::from(addr))?;
        // A prefix length of an IPv4 trie is at most 32.
        Some((len as u8, value))
    }

    /// The prefixes and their values in address order, then length order.
    pub fn iter(&self) -> Iter<'_, V> {
        Iter {
            walk: Walk::new(&self.trie),
        }
    }

    /// The bytes this table holds on the heap and inline: the capacity of every
    /// internal vector and boxed slice (nodes, values, child lists, the `/16`
    /// direct table). Heap memory owned by the values themselves is not counted;
    /// neither is the allocator's own overhead.
    pub fn memory_usage(&self) -> usize {
        self.trie.memory_usage()
    }

    /// Builds a table from `(prefix, value)` pairs (host bits ignored); a later
    /// pair for the same prefix replaces an earlier one. Several times faster
    /// than inserting them one by one, and the result is more compact in memory.
    pub fn from_pairs(pairs: Vec<(Ipv4Net, V)>) -> Self {
        let items = pairs
            .into_iter()
            .map(|(p, v)| (key(p.addr()), u32::from(p.prefix_len()), v))
            .collect();
        Ipv4Table {
            trie: Trie::bulk(32, items),
        }
    }
}

impl<V> Default for Ipv4Table<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V: fmt::Debug> fmt::Debug for Ipv4Table<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V> Extend<(Ipv4Net, V)> for Ipv4Table<V> {
    /// Inserts every pair in order (a later pair for the same prefix wins).
    /// Into an empty table this is a bulk build ([`from_pairs`](Self::from_pairs)):
    /// a vRouter's first programming adds all its routes at once.
    fn extend<I: IntoIterator<Item = (Ipv4Net, V)>>(&mut self, iter: I) {
        if self.is_empty() {
            let pairs: Vec<_> = iter.into_iter().collect();
            if !pairs.is_empty() {
                *self = Self::from_pairs(pairs);
            }
            return;
        }
        for (prefix, value) in iter {
            self.insert(prefix, value);
        }
    }
}

impl<V> FromIterator<(Ipv4Net, V)> for Ipv4Table<V> {
    fn from_iter<I: IntoIterator<Item = (Ipv4Net, V)>>(iter: I) -> Self {
        Self::from_pairs(iter.into_iter().collect())
    }
}

impl<'a, V> IntoIterator for &'a Ipv4Table<V> {
    type Item = (Ipv4Net, &'a V);
    type IntoIter = Iter<'a, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (Ipv4Net, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        self.walk.next().map(|(k, len, v)| (net(k, len), v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.walk.size_hint()
    }
}

impl<V> ExactSizeIterator for Iter<'_, V> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn default_route_and_host_routes() {
        let mut t = Ipv4Table::new();
        assert_eq!(t.longest_match(Ipv4Addr::new(1, 2, 3, 4)), None);
        assert_eq!(t.insert(p("0.0.0.0/0"), 0), None);
        assert_eq!(t.insert(p("1.2.3.4/32"), 32), None);
        assert_eq!(t.insert(p("255.255.255.255/32"), 99), None);
        let hit = |a| t.longest_match(a).map(|(n, v)| (n.to_string(), *v));
        assert_eq!(
            hit(Ipv4Addr::new(1, 2, 3, 4)),
            Some(("1.2.3.4/32".into(), 32))
        );
        assert_eq!(
            hit(Ipv4Addr::new(1, 2, 3, 5)),
            Some(("0.0.0.0/0".into(), 0))
        );
        assert_eq!(
            hit(Ipv4Addr::BROADCAST),
            Some(("255.255.255.255/32".into(), 99))
        );
        assert_eq!(t.remove(&p("0.0.0.0/0")), Some(0));
        assert_eq!(t.longest_match(Ipv4Addr::new(1, 2, 3, 5)), None);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn replace_returns_old_value_and_host_bits_are_masked() {
        let mut t = Ipv4Table::new();
        assert_eq!(t.insert(p("10.1.2.3/24"), "a"), None);
        assert_eq!(t.insert(p("10.1.2.0/24"), "b"), Some("a"));
        assert_eq!(t.get(&p("10.1.2.77/24")), Some(&"b"));
        assert_eq!(t.iter().next().map(|(n, _)| n), Some(p("10.1.2.0/24")));
        assert_eq!(t.len(), 1);
        assert_eq!(t.remove(&p("10.1.2.9/24")), Some("b"));
        assert!(t.is_empty());
    }

    #[test]
    fn remove_absent_and_clear() {
        let mut t: Ipv4Table<String> = Ipv4Table::new();
        assert_eq!(t.remove(&p("10.0.0.0/8")), None);
        t.insert(p("10.0.0.0/8"), "ten".to_owned());
        t.insert(p("10.0.0.0/9"), "nine".to_owned());
        assert_eq!(t.remove(&p("10.0.0.0/16")), None);
        assert_eq!(t.remove(&p("10.128.0.0/9")), None);
        assert_eq!(t.len(), 2);
        let empty = t.memory_usage();
        t.clear();
        assert!(t.is_empty());
        assert!(t.memory_usage() <= empty);
        assert_eq!(t.longest_match(Ipv4Addr::new(10, 0, 0, 1)), None);
        assert_eq!(format!("{t:?}"), "{}");
    }

    #[test]
    fn lookup_batch_agrees_and_tolerates_mismatched_lengths() {
        let mut t = Ipv4Table::new();
        for (i, s) in ["0.0.0.0/1", "10.0.0.0/8", "10.1.2.0/24", "10.1.2.128/25"]
            .iter()
            .enumerate()
        {
            t.insert(p(s), i);
        }
        let addrs: Vec<Ipv4Addr> = (0..40u32)
            .map(|i| Ipv4Addr::from(0x0a01_0200 ^ i.wrapping_mul(0x9e37_79b9)))
            .collect();
        let mut out = vec![Some(99); addrs.len() + 3];
        t.lookup_batch(&addrs, &mut out);
        for (a, o) in addrs.iter().zip(&out) {
            assert_eq!(*o, t.longest_match(*a).map(|(_, v)| *v), "{a}");
        }
        assert_eq!(&out[addrs.len()..], [Some(99); 3]);
        let mut short = [None; 2];
        t.lookup_batch(&addrs, &mut short);
        assert_eq!(short[1], t.longest_match(addrs[1]).map(|(_, v)| *v));
    }

    #[test]
    fn short_prefix_fallback_survives_node_churn() {
        let mut t = Ipv4Table::new();
        t.insert(p("10.0.0.0/8"), 8);
        t.insert(p("10.1.0.0/16"), 16);
        t.insert(p("10.1.2.0/24"), 24);
        t.insert(p("10.1.2.128/25"), 25);
        let v = |t: &Ipv4Table<u32>, a| t.longest_match(a).map(|(_, v)| *v);
        assert_eq!(v(&t, Ipv4Addr::new(10, 1, 2, 200)), Some(25));
        assert_eq!(v(&t, Ipv4Addr::new(10, 1, 3, 1)), Some(16));
        t.remove(&p("10.1.0.0/16"));
        assert_eq!(v(&t, Ipv4Addr::new(10, 1, 3, 1)), Some(8));
        t.remove(&p("10.1.2.0/24"));
        t.remove(&p("10.1.2.128/25"));
        assert_eq!(v(&t, Ipv4Addr::new(10, 1, 2, 200)), Some(8));
        t.insert(p("10.0.0.0/7"), 7);
        t.remove(&p("10.0.0.0/8"));
        assert_eq!(v(&t, Ipv4Addr::new(11, 1, 2, 200)), Some(7));
        assert_eq!(t.iter().collect::<Vec<_>>(), vec![(p("10.0.0.0/7"), &7)]);
    }
}
