//! In-order traversal of the core trie: address order, then length order.
//!
//! Within a node the prefixes are visited by their last covered byte `x`
//! (`0..256`); for each `x`, the levels `k` whose prefix starts exactly at `x`
//! (the low `8 - k` bits of `x` are zero) in increasing `k`, then the child
//! below `x`, whose prefixes are all longer and start at the same address.

use crate::bits::heap_pos;
use crate::trie::Trie;

/// A position in one node.
#[derive(Clone, Debug)]
struct Frame {
    node: u32,
    depth: u32,
    base: u128,
    x: u32,
    k: u32,
}

/// An iterator over `(left-aligned key, length, value)` in address then length order.
#[derive(Clone)]
pub(crate) struct Walk<'a, V> {
    trie: &'a Trie<V>,
    stack: Vec<Frame>,
    remaining: usize,
}

impl<V> std::fmt::Debug for Walk<'_, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walk")
            .field("stack", &self.stack)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

/// The first level whose prefix starts exactly at byte `x`.
fn first_level(x: u32) -> u32 {
    if x == 0 {
        0
    } else {
        8 - x.trailing_zeros().min(8)
    }
}

impl<'a, V> Walk<'a, V> {
    pub(crate) fn new(trie: &'a Trie<V>) -> Self {
        let root = Frame {
            node: crate::trie::ROOT,
            depth: 0,
            base: 0,
            x: 0,
            k: 0,
        };
        Walk {
            trie,
            stack: vec![root],
            remaining: trie.len(),
        }
    }
}

impl<'a, V> Iterator for Walk<'a, V> {
    type Item = (u128, u32, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        let trie = self.trie;
        loop {
            let f = self.stack.last_mut()?;
            if f.x >= 256 {
                self.stack.pop();
                continue;
            }
            let n = f.node as usize;
            if f.k <= 8 {
                let k = f.k;
                f.k += 1;
                let pos = heap_pos(k, f.x);
                if trie.bits.get(n).is_some_and(|b| b.test(pos)) {
                    let key = f.base | (u128::from(f.x) << (120 - f.depth));
                    let value = trie.value_at(n, pos)?;
                    self.remaining = self.remaining.saturating_sub(1);
                    return Some((key, f.depth + k, value));
                }
                continue;
            }
            let x = f.x;
            f.x += 1;
            f.k = first_level(f.x);
            let (depth, base) = (f.depth, f.base);
            if depth + 8 < trie.width()
                && let Some(child) = trie.child(f.node, x)
            {
                self.stack.push(Frame {
                    node: child,
                    depth: depth + 8,
                    base: base | (u128::from(x) << (120 - depth)),
                    x: 0,
                    k: 0,
                });
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}
