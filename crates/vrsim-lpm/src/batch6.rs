//! IPv6 batch lookups: interleaved state machines.
//!
//! An IPv6 lookup descends up to 14 nodes below the direct table, each step
//! depending on the previous one. A group of lookups advances one node per round,
//! each round touching one node per still-active lookup, so the group's node
//! fetches overlap instead of queueing behind each other.

use std::net::Ipv6Addr;

use crate::bits::level_of;
use crate::trie::{EMPTY, NODE, NONE, Trie, byte_at};
use crate::v6::Ipv6Table;

impl<V: Copy> Ipv6Table<V> {
    /// Looks up every address of `addrs` and writes the value of its longest match
    /// (or `None`) to the same index of `out`. Only the first
    /// `addrs.len().min(out.len())` addresses are looked up.
    ///
    /// Independent lookups are processed in groups whose memory accesses overlap.
    pub fn lookup_batch(&self, addrs: &[Ipv6Addr], out: &mut [Option<V>]) {
        lookup_batch_v6(self, addrs, out);
    }
}

/// Addresses resolved together by `lookup_batch`.
const GROUP: usize = 16;

/// One lookup in flight.
#[derive(Clone, Copy, Default)]
struct State {
    /// The node to look at next, or [`NONE`] when the descent is over.
    node: u32,
    depth: u32,
    best_node: u32,
    best_pos: u32,
    best_len: u32,
    /// The fallback code from the direct table, for when nothing else matched.
    code: u32,
}

impl State {
    fn start(entry: u64) -> Self {
        let low = entry as u32;
        State {
            node: if (low & NODE) as usize == EMPTY {
                NONE
            } else {
                low & NODE
            },
            depth: 16,
            code: (entry >> 32) as u32,
            ..State::default()
        }
    }

    /// Looks at one node; returns whether the descent continues.
    #[inline(always)]
    fn step<V>(&mut self, t: &Trie<V>, key: u128) -> bool {
        let n = self.node as usize;
        let b = byte_at(key, self.depth) as usize;
        let Some(bits) = t.bits.get(n) else {
            self.node = NONE;
            return false;
        };
        let pos = bits.best(b);
        if pos != 0 {
            self.best_node = self.node;
            self.best_pos = pos as u32;
            self.best_len = self.depth + level_of(pos);
        }
        let link = t.links.get(n).copied().unwrap_or(NONE);
        let next = if self.depth + 8 >= t.width() {
            None
        } else {
            t.via(link, b as u32)
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
        } else {
            t.code_value(self.code).map(|(_, v)| v)
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
            *s = State::start(t.direct.get((*k >> 112) as usize & 0xffff));
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
