//! [`Ipv6Table`]: the IPv6 longest-prefix-match table.

use std::fmt;
use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use crate::trie::Trie;
use crate::walk::Walk;

/// An IPv6 longest-prefix-match table mapping prefixes to values of type `V`.
///
/// See the [crate documentation](crate) for the design. Every method is
/// deterministic; lookups allocate nothing.
///
/// ```
/// use std::net::Ipv6Addr;
/// use vrsim_lpm::Ipv6Table;
///
/// let mut table = Ipv6Table::new();
/// table.insert("2001:db8::/32".parse().unwrap(), "doc");
/// table.insert("2001:db8:1:2::9/48".parse().unwrap(), "site"); // stored as 2001:db8:1::/48
/// let (prefix, value) = table.longest_match("2001:db8:1:ff::1".parse().unwrap()).unwrap();
/// assert_eq!((prefix.to_string(), *value), ("2001:db8:1::/48".to_owned(), "site"));
/// assert_eq!(table.longest_match("2001:db9::1".parse().unwrap()), None);
/// ```
#[derive(Clone)]
pub struct Ipv6Table<V> {
    pub(crate) trie: Trie<V>,
}

/// An iterator over the prefixes of an [`Ipv6Table`] and their values, in address
/// order, then length order (`2001:db8::/32` before `2001:db8::/48` before `2001:db8:1::/48`).
#[derive(Clone, Debug)]
pub struct Iter<'a, V> {
    walk: Walk<'a, V>,
}

/// The left-aligned core key of an IPv6 address.
pub(crate) fn key(addr: Ipv6Addr) -> u128 {
    u128::from(addr)
}

/// The prefix of length `len` containing the left-aligned `key`.
pub(crate) fn net(key: u128, len: u32) -> Ipv6Net {
    let addr = Ipv6Addr::from(key);
    // `len <= 128` always holds for prefixes of an IPv6 trie, so this never falls
    // back; the fallback keeps the function total.
    Ipv6Net::new(addr, len as u8).map_or_else(|_| Ipv6Net::default(), |n| n.trunc())
}

impl<V> Ipv6Table<V> {
    /// An empty table.
    pub fn new() -> Self {
        Ipv6Table {
            trie: Trie::new(128),
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
        self.trie = Trie::new(128);
    }

    /// Inserts `value` for `prefix`, ignoring host bits beyond the prefix length
    /// (`2001:db8::1/32` is `2001:db8::/32`). Returns the value it replaced, if any.
    pub fn insert(&mut self, prefix: Ipv6Net, value: V) -> Option<V> {
        self.trie
            .insert(key(prefix.addr()), u32::from(prefix.prefix_len()), value)
    }

    /// Removes `prefix` (host bits ignored) and returns its value, if it was present.
    pub fn remove(&mut self, prefix: &Ipv6Net) -> Option<V> {
        self.trie
            .remove(key(prefix.addr()), u32::from(prefix.prefix_len()))
    }

    /// The value stored for exactly `prefix` (host bits ignored).
    pub fn get(&self, prefix: &Ipv6Net) -> Option<&V> {
        let len = u32::from(prefix.prefix_len());
        self.trie
            .get(crate::trie::mask(key(prefix.addr()), len), len)
    }

    /// The longest prefix containing `addr`, and its value.
    #[inline]
    pub fn longest_match(&self, addr: Ipv6Addr) -> Option<(Ipv6Net, &V)> {
        let a = u128::from(addr);
        let (len, value) = self.trie.lookup(a)?;
        Some((net(crate::trie::mask(a, len), len), value))
    }

    /// As [`longest_match`](Self::longest_match), with the matched prefix's
    /// length instead of the prefix: the same lookup without building an
    /// [`Ipv6Net`], for callers on a fast path that rarely need the prefix.
    #[inline]
    pub fn longest_match_len(&self, addr: Ipv6Addr) -> Option<(u8, &V)> {
        let (len, value) = self.trie.lookup(u128::from(addr))?;
        // A prefix length of an IPv6 trie is at most 128.
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
    pub fn from_pairs(pairs: Vec<(Ipv6Net, V)>) -> Self {
        let items = pairs
            .into_iter()
            .map(|(p, v)| (key(p.addr()), u32::from(p.prefix_len()), v))
            .collect();
        Ipv6Table {
            trie: Trie::bulk(128, items),
        }
    }
}

impl<V> Default for Ipv6Table<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V: fmt::Debug> fmt::Debug for Ipv6Table<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V> Extend<(Ipv6Net, V)> for Ipv6Table<V> {
    /// Inserts every pair in order (a later pair for the same prefix wins).
    /// Into an empty table this is a bulk build ([`from_pairs`](Self::from_pairs)):
    /// a vRouter's first programming adds all its routes at once.
    fn extend<I: IntoIterator<Item = (Ipv6Net, V)>>(&mut self, iter: I) {
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

impl<V> FromIterator<(Ipv6Net, V)> for Ipv6Table<V> {
    fn from_iter<I: IntoIterator<Item = (Ipv6Net, V)>>(iter: I) -> Self {
        Self::from_pairs(iter.into_iter().collect())
    }
}

impl<'a, V> IntoIterator for &'a Ipv6Table<V> {
    type Item = (Ipv6Net, &'a V);
    type IntoIter = Iter<'a, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (Ipv6Net, &'a V);

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

    fn p(s: &str) -> Ipv6Net {
        s.parse().unwrap()
    }

    #[test]
    fn edges() {
        let mut t = Ipv6Table::new();
        assert_eq!(t.insert(p("::/0"), 0), None);
        assert_eq!(t.insert(p("2001:db8::1/128"), 128), None);
        assert_eq!(t.insert(p("2001:db8::1/128"), 129), Some(128));
        assert_eq!(t.insert(p("2001:db8::ffff/48"), 48), None);
        assert_eq!(t.get(&p("2001:db8::/48")), Some(&48));
        let hit = |t: &Ipv6Table<u32>, a: &str| {
            t.longest_match(a.parse().unwrap())
                .map(|(n, v)| (n.to_string(), *v))
        };
        assert_eq!(
            hit(&t, "2001:db8::1"),
            Some(("2001:db8::1/128".into(), 129))
        );
        assert_eq!(hit(&t, "2001:db8::2"), Some(("2001:db8::/48".into(), 48)));
        assert_eq!(hit(&t, "::1"), Some(("::/0".into(), 0)));
        assert_eq!(t.remove(&p("2001:db8::/47")), None);
        assert_eq!(t.remove(&p("::/0")), Some(0));
        assert_eq!(hit(&t, "::1"), None);
        let mut out = [None; 2];
        t.lookup_batch(
            &["2001:db8::1".parse().unwrap(), "::".parse().unwrap()],
            &mut out,
        );
        assert_eq!(out, [Some(129), None]);
        t.clear();
        assert!(t.is_empty());
    }
}
