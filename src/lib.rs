//! # vrsim
//!
//! A simulator of the Tungsten Fabric / Contrail vRouter forwarding plane.
//!
//! This facade re-exports the member crates:
//! - [`wire`]: packet headers with checked views and `Repr`s, a frame builder and a dissector;
//! - [`lpm`]: IPv4 and IPv6 longest-prefix-match tables;
//! - [`dataplane`]: one vRouter's state, pipeline, drop counters and CLI dumps;
//! - [`control`]: the control node and agents: BGPaaS route selection and vRouter programming;
//! - [`fabric`]: gateways, Linux hosts, links and end-to-end traces;
//! - [`bgp`]: BGP-4 for BGPaaS peers: messages, the session state machine,
//!   and (feature `live`, on by default) live sessions with real speakers
//!   such as BIRD;
//!
//! and holds the two seed scenarios ([`scenarios`]) and scenario A's frames ([`seed`]).
//!
//! A test harness in a few lines:
//!
//! ```
//! use vrsim::fabric::packet::Probe;
//!
//! let mut fabric = vrsim::scenarios::load("seed-bgpaas")?;
//! let trip = fabric.probe("earth", "192.168.100.1".parse()?, Probe::Icmp)?;
//! assert!(trip.forward.delivered());
//! assert!(trip.reply.as_ref().is_some_and(|r| r.delivered()));
//!
//! fabric.bgpaas_down("dockerhost")?;
//! let trip = fabric.probe("centos-ssh", "203.0.113.10".parse()?, Probe::Icmp)?;
//! assert_eq!(trip.forward.outcome.to_string(),
//!     "dropped by compute01: Invalid Source (rpf flow 87820 source 192.168.100.1 S(nh) 20: expects outer source 10.0.0.1, fail)");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use vrsim_bgp as bgp;
pub use vrsim_check as conformance;
pub use vrsim_control as control;
pub use vrsim_dataplane as dataplane;
pub use vrsim_fabric as fabric;
pub use vrsim_lpm as lpm;
pub use vrsim_wire as wire;

pub mod scenarios;
pub mod seed;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
