//! IPv6 batch lookups: interleaved state machines.
//!
//! An IPv6 lookup descends up to 14 nodes below the direct table, each step
//! depending on the previous one. A group of lookups advances one node per round,
//! each round touching one node per still-active lookup, so the group's node
//! fetches overlap instead of queueing behind each other.

use std::net::Ipv6Addr;

use crate::bits::level_of;
use crate::trie::{NONE, TAG, Trie, byte_at};
use crate::v6::Ipv6Table;

/// Addresses resolved together by `lookup_batch`.
const GROUP: usize = 16;

/// One lookup in flight.
#[derive(Clone, Copy, Default)]
struct State {
    /// The node to look at next, or [`NONE`] when the descent is over.
    node: u32,
    depth: u32,
    /// The first (depth-16) node, whose fallback applies when nothing matched.
    first: u32,
    best_node: u32,
    best_pos: u32,
    best_len: u32,
    /// A fallback code from the direct table when there is no depth-16 node.
    code: u32,
}

impl State {
    fn start(entry: u32) -> Self {
        if entry & TAG == 0 {
            State {
                node: NONE,
                code: entry,
                ..State::default()
            }
        } else {
            State {
                node: entry & !TAG,
                depth: 16,
                first: entry & !TAG,
                ..State::default()
            }
        }
    }

    /// Looks at one node; returns whether the descent continues.
    #[inline(always)]
    fn step<V>(&mut self, t: &Trie<V>, key: u128) -> bool {
        let n = self.node as usize;
        let b = byte_at(key, self.depth) as usize;
        let (Some(bits), Some(aux)) = (t.bits.get(n), t.aux.get(n)) else {
            self.node = NONE;
            return false;
        };
        let pos = bits.best(b);
        if pos != 0 {
            self.best_node = self.node;
            self.best_pos = pos as u32;
            self.best_len = self.depth + level_of(pos);
        }
        let next = if aux.kids == NONE || self.depth + 8 >= t.width() {
            None
        } else {
            t.kids.get(aux.kids as usize).and_then(|k| k.get(b))
        };
        match next {
            Some(c) => {
                self.node = c;
                self.depth += 8;
                true
            }
            None => {
                self.node = NONE;
                false
            }
        }
    }

    fn value<'a, V>(&self, t: &'a Trie<V>) -> Option<&'a V> {
        if self.best_pos != 0 {
            t.value_at(self.best_node as usize, self.best_pos as usize)
        } else if self.code != 0 {
            t.code_value(self.code).map(|(_, v)| v)
        } else {
            let first = t.aux.get(self.first as usize)?;
            t.code_value(first.fb).map(|(_, v)| v)
        }
    }
}

/// See [`Ipv6Table::lookup_batch`].
pub(crate) fn lookup_batch_v6<V: Copy>(
    table: &Ipv6Table<V>,
    addrs: &[Ipv6Addr],
    out: &mut [Option<V>],
) {
    let t = &table.trie;
    let n = addrs.len().min(out.len());
    for (a, o) in addrs[..n].chunks(GROUP).zip(out[..n].chunks_mut(GROUP)) {
        let mut keys = [0u128; GROUP];
        let mut states = [State::default(); GROUP];
        for ((k, s), addr) in keys.iter_mut().zip(states.iter_mut()).zip(a) {
            *k = u128::from(*addr);
            *s = State::start(t.direct[(*k >> 112) as usize & 0xffff]);
        }
        let mut active = true;
        while active {
            active = false;
            for (s, k) in states.iter_mut().zip(keys).take(a.len()) {
                if s.node != NONE {
                    active |= s.step(t, k);
                }
            }
        }
        for (slot, s) in o.iter_mut().zip(states) {
            *slot = s.value(t).copied();
        }
    }
}
