//! Live BGP for vrsim: the Contrail side of BGPaaS sessions with real speakers
//! such as BIRD.
//!
//! - [`message`]: BGP-4 messages (RFC 4271, 4-octet AS numbers of RFC 6793,
//!   IPv4 and IPv6 unicast NLRI of RFC 4760) on top of the `netgauze-bgp-pkt` codec, with every
//!   error mapped to the NOTIFICATION of RFC 4271 §6.
//! - [`session`]: one session's state machine, without I/O or clocks, so it is
//!   deterministic and tested on a virtual clock.
//! - [`live`] (feature `live`, on by default): a tokio runner that listens for
//!   the BGPaaS sessions of a [`vrsim_fabric::Fabric`], turns what the peers
//!   send into the control plane's events (session up and down, advertise,
//!   withdraw) and sends each peer the routes Contrail would. The fabric and
//!   the control plane stay synchronous: the runner feeds them events under a
//!   lock, exactly as a scripted scenario does.

pub mod message;
pub mod session;

#[cfg(feature = "live")]
pub mod live;
