//! # vrsim-control
//!
//! What the Contrail control node and each compute node's agent do, as one
//! deterministic state machine ([`Controller`]): it takes configuration
//! ([`config::Config`]: virtual networks, VM ports, BGPaaS objects, compute
//! nodes, gateways) and BGP events ([`Event`]: session up and down, advertise,
//! withdraw), selects the best path per prefix ([`bgp`], RFC 4271 §9.1),
//! resolves BGPaaS next hops through the VM's own port (docs/vrouter-reference.md §9), and
//! programs every compute node's [`vrsim_dataplane::VRouter`] incrementally:
//! an event changes only the objects it must ([`program::Change`]).
//!
//! Ids (vifs, nexthops, labels, VRFs) depend only on the configuration, and
//! a Composite ECMP nexthop's id only on the selections and the ECMP slots
//! the control node keeps, so a node programmed event by event equals one
//! built from scratch with the same slots ([`Controller::with_events_and_slots`]).
//!
//! ```
//! use vrsim_control::{Controller, Event};
//! use vrsim_control::bgp::PathAttrs;
//! use vrsim_control::config::*;
//!
//! let mac = |last| vrsim_wire::MacAddr::new(2, 0, 0, 0, 0, last);
//! let mut config = Config { asn: 64512, ..Config::default() };
//! config.computes.push(ComputeConfig {
//!     name: "compute01".into(), ip: "10.0.0.21".parse()?, mac: mac(21),
//!     fabric_if: "eth1".into(), vhost_receive_nh: None, tunnel_nh: Default::default(),
//! });
//! config.networks.push(NetworkConfig::new("public", "172.16.10.0/24".parse()?, 4));
//! config.ports.push(PortConfig {
//!     name: "vm".into(), network: "public".into(), compute: "compute01".into(),
//!     ip: "172.16.10.3".parse()?, ip6: None, mac: mac(3), tap: PortConfig::default_tap(mac(3)),
//!     mtu: 9160, pins: PortPins::default(),
//! });
//! config.bgpaas.push(BgpaasConfig {
//!     name: "vm".into(), port: "vm".into(), asn: 65000, peers: vec!["172.16.10.1".parse()?],
//! });
//! let mut control = Controller::new(config)?;
//! let (bgpaas, peer) = ("vm".to_string(), "172.16.10.1".parse()?);
//! control.apply(Event::SessionUp { bgpaas: bgpaas.clone(), peer })?;
//! let attrs = PathAttrs::new("172.16.10.3".parse::<std::net::Ipv4Addr>()?, vec![65000]);
//! let prefix = "192.168.100.0/26".parse()?;
//! let changes = control.apply(Event::Advertise { bgpaas, peer, prefix, attrs })?;
//! // One route, sharing the VM's own nexthop.
//! assert_eq!(changes.len(), 1);
//! assert_eq!(changes[0].to_string(), "compute01: add route 192.168.100.0/26 in vrf 1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod agent;
pub mod bgp;
pub mod config;
mod controller;
pub mod ecmp;
pub mod encap;
mod error;
pub mod flows;
pub mod index;
pub mod policy;
pub mod program;

pub use controller::{
    Controller, Event, GatewayPath, GatewayRoute, GatewayRouteUpdate, RouteSource, Session,
};
pub use error::ControlError;
pub use flows::FlowDecision;
