//! The slots of an ECMP composite (`vrsim::control::ecmp::Slots`) after any
//! sequence of member sets: exactly the members given, each member that
//! stays in the slot it had, and new slots only once every empty slot is
//! taken. These are what keep a flow on its member while others come and go.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use vrsim::control::ecmp::Slots;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn members_that_stay_keep_their_slots(
        steps in proptest::collection::vec(proptest::collection::vec(0u8..6, 0..6), 1..12)
    ) {
        let mut slots = Slots::new();
        for members in &steps {
            let before = slots.slots().to_vec();
            slots.update(members);
            let after = slots.slots();
            let given: BTreeSet<u8> = members.iter().copied().collect();
            let held: BTreeSet<u8> = slots.members().copied().collect();
            prop_assert_eq!(&held, &given);
            prop_assert_eq!(slots.members().count(), given.len(), "a member held twice");
            if given.len() >= 2 {
                for (i, m) in before.iter().enumerate() {
                    if let Some(m) = m.filter(|m| given.contains(m)) {
                        prop_assert_eq!(after.get(i), Some(&Some(m)), "member {} moved", m);
                    }
                }
                if after.len() > before.len() {
                    prop_assert!(after.iter().all(Option::is_some), "appended with a slot empty");
                }
            } else {
                prop_assert_eq!(after.len(), given.len());
            }
        }
    }
}
