//! # vrsim
//!
//! A simulator of the Tungsten Fabric / Contrail vRouter forwarding plane.
//!
//! This facade re-exports the member crates:
//! - [`wire`]: packet headers with checked views and `Repr`s, a frame builder and a dissector;
//! - [`lpm`]: IPv4 and IPv6 longest-prefix-match tables.

pub use vrsim_lpm as lpm;
pub use vrsim_wire as wire;
