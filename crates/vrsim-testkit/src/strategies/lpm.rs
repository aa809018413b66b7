//! Shared proptest strategies and the naive oracle for the table tests.
//!
//! Prefixes are drawn near a few random "base" addresses per case, so they
//! overlap and nest far more often than uniform ones would; lengths favour the
//! edges of the nodes (0, 1, 7-9, 15-17, 23-25, the full width).

use std::collections::BTreeMap;

use proptest::prelude::*;

/// One table operation on `width`-bit keys, left-aligned in a `u128`.
#[derive(Clone, Debug)]
pub enum Op {
    /// Insert `(key, len)` with a value.
    Insert(u128, u8, u32),
    /// Remove `(key, len)`.
    Remove(u128, u8),
    /// Exact get of `(key, len)`.
    Get(u128, u8),
    /// Longest match of an address.
    Lookup(u128),
}

/// Keys: a base from `bases` with a few random bits flipped.
fn near(bases: Vec<u128>, width: u32) -> impl Strategy<Value = u128> + Clone {
    let n = bases.len();
    (0..n, any::<u128>(), 0u32..4).prop_map(move |(i, noise, mode)| {
        let base = bases[i];
        let mask: u128 = match mode {
            0 => 0,
            1 => 0xff,
            2 => 0xffff_ffff,
            _ => !0,
        };
        // Flip bits only at the low end of the `width`-bit key.
        let flip = (noise & mask) << (128 - width);
        base ^ if mode == 3 { noise } else { flip }
    })
}

/// Prefix lengths up to `width`, biased to node boundaries.
fn len(width: u32) -> impl Strategy<Value = u8> {
    let w = width as u8;
    prop_oneof![
        3 => 0..=w,
        2 => prop::sample::select(vec![0u8, 1, 7, 8, 9, 15, 16, 17, 23, 24, 25, w - 1, w]),
        1 => (w.saturating_sub(8))..=w,
    ]
}

/// Sequences of operations over clustered, nested prefixes.
pub fn ops(width: u32, max: usize) -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(any::<u128>(), 1..5).prop_flat_map(move |bases| {
        let key = near(bases, width);
        let op = prop_oneof![
            4 => (key.clone(), len(width), any::<u32>()).prop_map(|(k, l, v)| Op::Insert(k, l, v)),
            2 => (key.clone(), len(width)).prop_map(|(k, l)| Op::Remove(k, l)),
            1 => (key.clone(), len(width)).prop_map(|(k, l)| Op::Get(k, l)),
            3 => key.prop_map(Op::Lookup),
        ];
        prop::collection::vec(op, 1..max)
    })
}

/// `key` with the bits beyond `len` cleared.
pub fn mask(key: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        key & (!0u128 << (128 - u32::from(len)))
    }
}

/// The naive table: an ordered map and a linear scan.
#[derive(Default, Debug)]
pub struct Oracle {
    /// `(masked key, len) -> value`, in address then length order.
    pub map: BTreeMap<(u128, u8), u32>,
}

impl Oracle {
    /// Inserts, returning the replaced value.
    pub fn insert(&mut self, key: u128, len: u8, v: u32) -> Option<u32> {
        self.map.insert((mask(key, len), len), v)
    }

    /// Removes, returning the value.
    pub fn remove(&mut self, key: u128, len: u8) -> Option<u32> {
        self.map.remove(&(mask(key, len), len))
    }

    /// Exact get.
    pub fn get(&self, key: u128, len: u8) -> Option<u32> {
        self.map.get(&(mask(key, len), len)).copied()
    }

    /// Longest match by linear scan: `(len, value)`.
    pub fn lookup(&self, addr: u128) -> Option<(u8, u32)> {
        self.map
            .iter()
            .filter(|((k, l), _)| mask(addr, *l) == *k)
            .max_by_key(|((_, l), _)| *l)
            .map(|((_, l), v)| (*l, *v))
    }
}
