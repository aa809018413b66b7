//! [`DualTable`]: one longest-prefix-match table per address family, as a
//! Linux host's main table (`ip route`, `ip -6 route`) and each Junos table
//! pair (`inet.0`/`inet6.0`) hold them.

use std::net::IpAddr;

use ipnet::IpNet;
use vrsim_lpm::{Ipv4Table, Ipv6Table};

/// An IPv4 and an IPv6 table, addressed by [`IpNet`] and [`IpAddr`].
#[derive(Debug, Clone)]
pub struct DualTable<V> {
    /// The IPv4 routes.
    pub v4: Ipv4Table<V>,
    /// The IPv6 routes.
    pub v6: Ipv6Table<V>,
}

impl<V> Default for DualTable<V> {
    fn default() -> Self {
        DualTable {
            v4: Ipv4Table::new(),
            v6: Ipv6Table::new(),
        }
    }
}

impl<V> DualTable<V> {
    /// Add or replace the route for `prefix`; the value it replaced.
    pub fn insert(&mut self, prefix: IpNet, value: V) -> Option<V> {
        match prefix {
            IpNet::V4(p) => self.v4.insert(p, value),
            IpNet::V6(p) => self.v6.insert(p, value),
        }
    }

    /// Remove the route for exactly `prefix`; the value it held.
    pub fn remove(&mut self, prefix: &IpNet) -> Option<V> {
        match prefix {
            IpNet::V4(p) => self.v4.remove(p),
            IpNet::V6(p) => self.v6.remove(p),
        }
    }

    /// The route for exactly `prefix`.
    pub fn get(&self, prefix: &IpNet) -> Option<&V> {
        match prefix {
            IpNet::V4(p) => self.v4.get(p),
            IpNet::V6(p) => self.v6.get(p),
        }
    }

    /// The longest match for `dst` in its family's table.
    pub fn longest_match(&self, dst: IpAddr) -> Option<(IpNet, &V)> {
        match dst {
            IpAddr::V4(a) => self.v4.longest_match(a).map(|(p, v)| (p.into(), v)),
            IpAddr::V6(a) => self.v6.longest_match(a).map(|(p, v)| (p.into(), v)),
        }
    }

    /// The number of routes of `family`'s kind.
    pub fn len_of(&self, family: IpAddr) -> usize {
        match family {
            IpAddr::V4(_) => self.v4.len(),
            IpAddr::V6(_) => self.v6.len(),
        }
    }
}
