//! The slots of an ECMP composite nexthop, kept as Contrail's agent keeps
//! them so that flows do not move: a member keeps its position for as long
//! as it stays, a member that goes leaves its slot empty, and a new member
//! takes the first empty slot. The vRouter hashes over every slot and sends
//! an empty slot's share over the members present
//! ([`vrsim_dataplane::nexthop::ecmp_slot`]), so only the flows of a member
//! that went move.
//!
//! The rule is tf-controller's (`src/vnsw/agent/oper/nexthop.cc`):
//! `CompositeNHKey::Reorder` keeps the previous positions,
//! `DeleteComponentNHKey` leaves an empty slot, `AddComponentNHKey` fills
//! the first empty slot or appends.

use std::collections::BTreeMap;

use ipnet::IpNet;

/// Per (network, prefix) selected, the VM ports (by name) its ECMP paths
/// lead to, by slot: what the control node keeps from event to event.
pub type EcmpSlots = BTreeMap<(String, IpNet), Slots<String>>;

/// A composite's members by slot; `None` is an empty slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slots<T> {
    slots: Vec<Option<T>>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots { slots: Vec::new() }
    }
}

impl<T: Eq + Clone> Slots<T> {
    /// No members.
    pub fn new() -> Self {
        Self::default()
    }

    /// The slots in order.
    pub fn slots(&self) -> &[Option<T>] {
        &self.slots
    }

    /// Whether there are two members or more: a composite nexthop (with one
    /// member or none, the route names the member's nexthop, or goes).
    pub fn is_ecmp(&self) -> bool {
        self.members().nth(1).is_some()
    }

    /// The members present, in slot order.
    pub fn members(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten()
    }

    /// Hold exactly `members` (a member given twice counts once), keeping
    /// each member that stays in its slot: a member that goes leaves its
    /// slot empty; a new one takes the first empty slot, else a new slot at
    /// the end, in the order given. With one member or none there is no
    /// composite (the route names the member's nexthop itself, or goes), so
    /// the slots start again from that member. A route that becomes ECMP
    /// takes the members in the order given, its old nexthop swapped with
    /// the first, as `Reorder` swaps them (erase both, insert the old, then
    /// the first), so that its flows stay.
    pub fn update(&mut self, members: &[T]) {
        let mut wanted: Vec<&T> = Vec::with_capacity(members.len());
        for m in members {
            if !wanted.contains(&m) {
                wanted.push(m);
            }
        }
        let mut present = self.slots.iter().flatten();
        let old = match (present.next(), present.next()) {
            (old, None) => Some(old),
            _ => None,
        };
        if let Some(old) = old.filter(|_| wanted.len() >= 2) {
            let at = old.and_then(|o| wanted.iter().position(|m| *m == o));
            let mut slots: Vec<Option<T>> = wanted.into_iter().cloned().map(Some).collect();
            if let Some(at) = at {
                slots.swap(0, at);
            }
            self.slots = slots;
            return;
        }
        if wanted.len() <= 1 {
            self.slots = wanted.into_iter().cloned().map(Some).collect();
            return;
        }
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|m| !wanted.contains(&m)) {
                *slot = None;
            }
        }
        for m in wanted {
            if self.slots.iter().flatten().any(|held| held == m) {
                continue;
            }
            match self.slots.iter_mut().find(|s| s.is_none()) {
                Some(empty) => *empty = Some(m.clone()),
                None => self.slots.push(Some(m.clone())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(steps: &[&[char]]) -> Vec<Option<char>> {
        let mut s = Slots::new();
        for step in steps {
            s.update(step);
        }
        s.slots().to_vec()
    }

    /// The examples of `CompositeNHKey::Reorder`'s comment.
    #[test]
    fn members_keep_their_slots() {
        let abc = ['a', 'b', 'c'];
        assert_eq!(
            after(&[&abc, &['b', 'a', 'c']]),
            [Some('a'), Some('b'), Some('c')]
        );
        assert_eq!(after(&[&abc, &['c', 'a']]), [Some('a'), None, Some('c')]);
        assert_eq!(
            after(&[&abc, &['d', 'a', 'b', 'c']]),
            [Some('a'), Some('b'), Some('c'), Some('d')]
        );
        // A new member fills the first empty slot.
        assert_eq!(
            after(&[&abc, &['c', 'a'], &['a', 'c', 'e']]),
            [Some('a'), Some('e'), Some('c')]
        );
        // A route that becomes ECMP keeps its nexthop first, swapped with
        // the first given.
        assert_eq!(after(&[&['b'], &['a', 'b']]), [Some('b'), Some('a')]);
        assert_eq!(
            after(&[&['c'], &['a', 'b', 'c']]),
            [Some('c'), Some('b'), Some('a')]
        );
        assert_eq!(
            after(&[&['d'], &['a', 'b', 'c']]),
            [Some('a'), Some('b'), Some('c')]
        );
        // Down to one member, or none: no composite.
        assert_eq!(after(&[&abc, &['c']]), [Some('c')]);
        assert_eq!(after(&[&abc, &[]]), []);
        assert_eq!(after(&[&['a', 'a', 'b']]), [Some('a'), Some('b')]);
    }
}
