//! # vrsim-dataplane
//!
//! One compute node's vRouter forwarding state, as the Tungsten Fabric
//! vRouter holds it: vifs ([`vif`]), nexthops ([`nexthop`]), the MPLS label
//! table, the VXLAN table, VRFs with IPv4/IPv6 route tables on `vrsim-lpm`
//! and bridge tables ([`route`]), and drop counters named as `dropstats`
//! names them ([`mod@drop`]). [`VRouter`] validates every configuration change:
//! a nexthop naming a missing vif, a route or label naming a missing nexthop,
//! a tunnel route without a label, deleting a nexthop still in use are all
//! [`DataplaneError`]s, and nothing is half-applied. [`dump`] prints the state
//! in the vRouter CLI's own layouts (`vif`, `nh`, `rt`, `mpls`, `vxlan`,
//! `dropstats`).
//!
//! ```
//! use vrsim_dataplane::{VRouter, NhId, VifId, VrfId, DataplaneError};
//! use vrsim_dataplane::route::{Route, RouteFlags};
//!
//! let mut router = VRouter::new();
//! let route = Route { nh: NhId::new(90).unwrap(), label: None, flags: RouteFlags::empty(), stitched_mac: None };
//! let err = router.add_route4(VrfId::from(1), "192.168.100.0/26".parse().unwrap(), route).unwrap_err();
//! assert_eq!(err.to_string(), "route 192.168.100.0/26 in vrf 1 names nh 90, which does not exist");
//! ```
//!
//! [`VRouter::process`] forwards a frame as the vRouter does and returns its
//! [`Disposition`]; every frame is transmitted, handed to the host (or the
//! agent), or counted under exactly one drop reason, globally and on its vif.
//! A [`trace::Trace`] records every lookup; [`trace::NoTrace`] records nothing
//! and, with a reused [`PacketBuf`], the fast path allocates nothing.
//!
//! ```
//! use vrsim_dataplane::{Disposition, PacketBuf, VRouter, VifId};
//! use vrsim_dataplane::drop::DropReason;
//! use vrsim_dataplane::trace::Trace;
//!
//! // A vRouter with no vif 3: the frame is counted as an `Invalid IF` drop.
//! let mut router = VRouter::new();
//! let mut buf = PacketBuf::with_capacity(1514);
//! let mut trace = Trace::default();
//! let vif = VifId::new(3).unwrap();
//! assert_eq!(router.process(vif, &[0u8; 60], &mut buf, &mut trace), Disposition::Drop(DropReason::InvalidIf));
//! assert_eq!(router.drops().get(DropReason::InvalidIf), 1);
//! println!("{trace}");
//! ```

pub mod drop;
pub mod dump;
mod error;
pub mod flow;
mod ids;
pub mod nexthop;
mod packet;
mod pipeline;
pub mod route;
#[cfg(test)]
mod testing;
pub mod trace;
pub mod vif;
mod vrouter;

pub use error::{DataplaneError, ObjectKey};
pub use ids::{NhId, VifId, VrfId};
pub use packet::{HEADROOM, PacketBuf};
pub use pipeline::Disposition;
pub use vrouter::{DEFAULT_LABELS, Nexthop, VRouter};
