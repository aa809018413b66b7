//! Bounded identifiers of vRouter objects.

use core::fmt;

macro_rules! bounded_id {
    ($(#[$doc:meta])* $name:ident($repr:ty), max = $max:expr, what = $what:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name($repr);

        impl $name {
            /// The largest identifier.
            pub const MAX: $name = $name($max);

            /// The identifier, or `None` above [`MAX`](Self::MAX).
            #[allow(unused_comparisons, clippy::absurd_extreme_comparisons)]
            pub const fn new(value: $repr) -> Option<Self> {
                if value <= $max { Some($name(value)) } else { None }
            }

            /// The numeric value.
            pub const fn value(self) -> $repr {
                self.0
            }

            /// The value as an index.
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl $name {
            /// What the vRouter's messages call this kind of identifier.
            pub const KIND: &'static str = $what;

            /// The identifier, or `None` above [`MAX`](Self::MAX) (the
            /// conversion behind `TryFrom<u64>`, whose error is a
            /// [`crate::DataplaneError`]).
            pub fn from_u64(value: u64) -> Option<Self> {
                <$repr>::try_from(value).ok().and_then(Self::new)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

bounded_id!(
    /// A vif (interface) index: below `VR_MAX_INTERFACES` = 256 + 4096 + 3.
    VifId(u16), max = 4354, what = "vif"
);
bounded_id!(
    /// A nexthop id: the vRouter's table holds 524288 entries; nh 0 is the discard nexthop.
    NhId(u32), max = 524_287, what = "nh"
);
bounded_id!(
    /// A VRF id: at most 65536 VRFs; 65535 marks "no VRF" on the agent vif.
    VrfId(u16), max = 65_535, what = "vrf"
);

impl NhId {
    /// The discard nexthop every vRouter has.
    pub const DISCARD: NhId = NhId(0);
}

impl VrfId {
    /// The fabric VRF.
    pub const FABRIC: VrfId = VrfId(0);
    /// "No VRF", as the agent vif shows it.
    pub const INVALID: VrfId = VrfId(65_535);
}

impl From<u16> for VrfId {
    fn from(v: u16) -> Self {
        VrfId(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(VifId::try_from(37u64).unwrap().to_string(), "37");
        assert_eq!(
            VifId::try_from(4355u64).unwrap_err().to_string(),
            "vif 4355 out of range (maximum 4354)"
        );
        assert!(NhId::try_from(524_288u64).is_err());
        assert!(NhId::try_from(u64::MAX).is_err());
        assert_eq!(VrfId::try_from(65_535u64).unwrap(), VrfId::INVALID);
        assert!(VrfId::try_from(65_536u64).is_err());
    }
}
