//! Structured operation sequences on `Ipv4Table` and `Ipv6Table`, and on the
//! FIBs `Fib4` and `Fib6` beside them, each operation checked against a naive
//! oracle (an ordered map and a linear scan), and the final contents checked
//! in iteration order. A FIB is compiled at its first lookup, so operations
//! before it reach only its table and those after it both.

#![no_main]

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use arbitrary::Arbitrary;
use ipnet::{Ipv4Net, Ipv6Net};
use libfuzzer_sys::fuzz_target;
use vrsim_lpm::{Fib4, Fib6, Ipv4Table, Ipv6Table};

/// An address: a fresh one, or the previous one with some low bits flipped, so
/// prefixes nest and overlap.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Addr {
    Fresh(u128),
    Near(u8, u32),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Insert(Addr, u8, u16),
    Remove(Addr, u8),
    Get(Addr, u8),
    Lookup(Addr),
    Batch(Vec<Addr>),
    Rebuild,
}

/// `key` (left-aligned) with the bits beyond `len` cleared.
fn mask(key: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        key & (!0u128 << (128 - u32::from(len)))
    }
}

/// The model: prefixes of `width` bits as left-aligned keys.
struct Oracle {
    width: u8,
    map: BTreeMap<(u128, u8), u16>,
    last: u128,
}

impl Oracle {
    fn key(&mut self, a: Addr) -> u128 {
        let k = match a {
            Addr::Fresh(k) => k,
            // Flip up to 32 bits at the low end of the `width`-bit address.
            Addr::Near(bits, noise) => {
                let flip = u128::from(noise) & ((1u128 << (bits % 33)) - 1);
                self.last ^ (flip << (128 - u32::from(self.width)))
            }
        };
        self.last = mask(k, self.width);
        self.last
    }

    fn lookup(&self, key: u128) -> Option<(u8, u16)> {
        self.map
            .iter()
            .filter(|((k, l), _)| mask(key, *l) == *k)
            .max_by_key(|((_, l), _)| *l)
            .map(|((_, l), v)| (*l, *v))
    }
}

/// The operations the tables and FIBs support, on left-aligned keys.
trait Table {
    type Net: Copy + PartialEq + std::fmt::Debug;
    fn rebuild(entries: Vec<(Self::Net, u16)>) -> Self;
    fn net(key: u128, len: u8) -> Self::Net;
    fn insert(&mut self, key: u128, len: u8, v: u16) -> Option<u16>;
    fn remove(&mut self, key: u128, len: u8) -> Option<u16>;
    fn get(&self, key: u128, len: u8) -> Option<u16>;
    fn lookup(&self, key: u128) -> Option<(u8, u16)>;
    fn batch(&self, keys: &[u128]) -> Vec<Option<u16>>;
    fn entries(&self) -> Vec<(Self::Net, u16)>;
    fn size(&self) -> usize;
}

impl Table for Ipv4Table<u16> {
    type Net = Ipv4Net;
    fn rebuild(entries: Vec<(Ipv4Net, u16)>) -> Self {
        entries.into_iter().collect()
    }
    fn net(key: u128, len: u8) -> Ipv4Net {
        Ipv4Net::new(Ipv4Addr::from((key >> 96) as u32), len).expect("len <= 32")
    }
    fn insert(&mut self, key: u128, len: u8, v: u16) -> Option<u16> {
        Ipv4Table::insert(self, Self::net(key, len), v)
    }
    fn remove(&mut self, key: u128, len: u8) -> Option<u16> {
        Ipv4Table::remove(self, &Self::net(key, len))
    }
    fn get(&self, key: u128, len: u8) -> Option<u16> {
        Ipv4Table::get(self, &Self::net(key, len)).copied()
    }
    fn lookup(&self, key: u128) -> Option<(u8, u16)> {
        let (p, v) = self.longest_match(Ipv4Addr::from((key >> 96) as u32))?;
        assert_eq!(p, Self::net(key, p.prefix_len()).trunc());
        Some((p.prefix_len(), *v))
    }
    fn batch(&self, keys: &[u128]) -> Vec<Option<u16>> {
        let addrs: Vec<_> = keys
            .iter()
            .map(|k| Ipv4Addr::from((k >> 96) as u32))
            .collect();
        let mut out = vec![None; addrs.len()];
        self.lookup_batch(&addrs, &mut out);
        out
    }
    fn entries(&self) -> Vec<(Ipv4Net, u16)> {
        self.iter().map(|(p, v)| (p, *v)).collect()
    }
    fn size(&self) -> usize {
        self.len()
    }
}

impl Table for Ipv6Table<u16> {
    type Net = Ipv6Net;
    fn rebuild(entries: Vec<(Ipv6Net, u16)>) -> Self {
        entries.into_iter().collect()
    }
    fn net(key: u128, len: u8) -> Ipv6Net {
        Ipv6Net::new(Ipv6Addr::from(key), len).expect("len <= 128")
    }
    fn insert(&mut self, key: u128, len: u8, v: u16) -> Option<u16> {
        Ipv6Table::insert(self, Self::net(key, len), v)
    }
    fn remove(&mut self, key: u128, len: u8) -> Option<u16> {
        Ipv6Table::remove(self, &Self::net(key, len))
    }
    fn get(&self, key: u128, len: u8) -> Option<u16> {
        Ipv6Table::get(self, &Self::net(key, len)).copied()
    }
    fn lookup(&self, key: u128) -> Option<(u8, u16)> {
        let (p, v) = self.longest_match(Ipv6Addr::from(key))?;
        assert_eq!(p, Self::net(key, p.prefix_len()).trunc());
        Some((p.prefix_len(), *v))
    }
    fn batch(&self, keys: &[u128]) -> Vec<Option<u16>> {
        let addrs: Vec<_> = keys.iter().map(|&k| Ipv6Addr::from(k)).collect();
        let mut out = vec![None; addrs.len()];
        self.lookup_batch(&addrs, &mut out);
        out
    }
    fn entries(&self) -> Vec<(Ipv6Net, u16)> {
        self.iter().map(|(p, v)| (p, *v)).collect()
    }
    fn size(&self) -> usize {
        self.len()
    }
}

/// A FIB type on left-aligned keys: `$addr` from a key, `$table` its table.
macro_rules! fib_table {
    ($fib:ident, $table:ident, $net:ident, $addr:expr) => {
        impl Table for $fib<u16> {
            type Net = $net;
            fn rebuild(entries: Vec<($net, u16)>) -> Self {
                // Compiled now: the FIB takes every change that follows.
                $fib::from_table(entries.into_iter().collect::<$table<u16>>())
            }
            fn net(key: u128, len: u8) -> $net {
                $net::new($addr(key), len).expect("len within the width")
            }
            fn insert(&mut self, key: u128, len: u8, v: u16) -> Option<u16> {
                $fib::insert(self, Self::net(key, len), v)
            }
            fn remove(&mut self, key: u128, len: u8) -> Option<u16> {
                $fib::remove(self, &Self::net(key, len))
            }
            fn get(&self, key: u128, len: u8) -> Option<u16> {
                $fib::get(self, &Self::net(key, len)).copied()
            }
            fn lookup(&self, key: u128) -> Option<(u8, u16)> {
                let got = $fib::lookup(self, $addr(key)).map(|(l, v)| (l, *v));
                assert!(self.is_compiled(), "a lookup compiles the FIB");
                let found = self.longest_match($addr(key));
                assert_eq!(got, found.map(|(p, v)| (p.prefix_len(), *v)));
                if let Some((p, _)) = found {
                    assert_eq!(p, Self::net(key, p.prefix_len()).trunc());
                }
                got
            }
            fn batch(&self, keys: &[u128]) -> Vec<Option<u16>> {
                let addrs: Vec<_> = keys.iter().map(|&k| $addr(k)).collect();
                let mut out = vec![None; addrs.len()];
                self.lookup_batch(&addrs, &mut out);
                out.into_iter().map(|o| o.map(|(_, v)| v)).collect()
            }
            fn entries(&self) -> Vec<($net, u16)> {
                self.iter().map(|(p, v)| (p, *v)).collect()
            }
            fn size(&self) -> usize {
                self.len()
            }
        }
    };
}

fib_table!(Fib4, Ipv4Table, Ipv4Net, |k: u128| Ipv4Addr::from(
    (k >> 96) as u32
));
fib_table!(Fib6, Ipv6Table, Ipv6Net, Ipv6Addr::from);

fn run<T: Table>(mut table: T, width: u8, ops: &[Op]) {
    let mut o = Oracle {
        width,
        map: BTreeMap::new(),
        last: 0,
    };
    let len = |l: u8| l % (width + 1);
    for op in ops.iter().take(300) {
        match op {
            Op::Insert(a, l, v) => {
                let (k, l) = (o.key(*a), len(*l));
                assert_eq!(table.insert(k, l, *v), o.map.insert((mask(k, l), l), *v));
            }
            Op::Remove(a, l) => {
                let (k, l) = (o.key(*a), len(*l));
                assert_eq!(table.remove(k, l), o.map.remove(&(mask(k, l), l)));
            }
            Op::Get(a, l) => {
                let (k, l) = (o.key(*a), len(*l));
                assert_eq!(table.get(k, l), o.map.get(&(mask(k, l), l)).copied());
            }
            Op::Lookup(a) => {
                let k = o.key(*a);
                assert_eq!(table.lookup(k), o.lookup(k));
            }
            Op::Batch(addrs) => {
                let keys: Vec<u128> = addrs.iter().take(64).map(|a| o.key(*a)).collect();
                let want: Vec<_> = keys.iter().map(|&k| o.lookup(k).map(|w| w.1)).collect();
                assert_eq!(table.batch(&keys), want);
            }
            Op::Rebuild => table = T::rebuild(table.entries()),
        }
        assert_eq!(table.size(), o.map.len());
    }
    let want: Vec<_> = o
        .map
        .iter()
        .map(|(&(k, l), &v)| (T::net(k, l), v))
        .collect();
    assert_eq!(table.entries(), want);
}

fuzz_target!(|input: (bool, bool, Vec<Op>)| {
    let (v6, fib, ops) = input;
    match (v6, fib) {
        (false, false) => run(Ipv4Table::<u16>::new(), 32, &ops),
        (true, false) => run(Ipv6Table::<u16>::new(), 128, &ops),
        (false, true) => run(Fib4::<u16>::new(), 32, &ops),
        (true, true) => run(Fib6::<u16>::new(), 128, &ops),
    }
});
