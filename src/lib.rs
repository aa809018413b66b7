//! # vrsim
//!
//! A simulator of the Tungsten Fabric / Contrail vRouter forwarding plane.
//!
//! This facade re-exports the member crates:
//! - [`wire`]: packet headers with checked views and `Repr`s, a frame builder and a dissector;
//! - [`lpm`]: IPv4 and IPv6 longest-prefix-match tables;
//! - [`dataplane`]: one vRouter's state, drop counters and CLI dumps;
//!
//! and holds the scenario frames every test and example uses ([`seed`]).

pub use vrsim_dataplane as dataplane;
pub use vrsim_lpm as lpm;
pub use vrsim_wire as wire;

pub mod seed;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
