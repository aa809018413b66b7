//! # vrsim-fabric
//!
//! The devices around the vRouters and the packet's whole path through them:
//! the gateway ([`gateway::Gateway`], the vMX role: MPLSoGRE to the compute
//! nodes with the labels the control node advertises), Linux hosts
//! ([`host::Host`]: the Docker VM with Calico's routes and veths, Kubernetes
//! nodes, end hosts), the underlay switch, and links joining device ports.
//! [`Fabric::probe`] sends a packet from a host and returns every hop
//! ([`trace::FabricTrace`]), each with its device's own steps (inside compute
//! nodes, the vRouter's dataplane trace), ending in one [`trace::Outcome`];
//! then it traces the reply.
//!
//! Traces render as text, in a stable minimal form, as JSON ([`json`], schema
//! `vrsim-trace/1`) and as pcapng captures with a frame per link crossed
//! ([`capture`]); [`diff`] compares flows before and after a what-if.
//! Scenarios are TOML files ([`topology`]); the two seed scenarios ship with
//! the `vrsim` crate.
//!
//! ```
//! use vrsim_fabric::{topology, packet::Probe};
//!
//! let text = r#"
//! version = 1
//! name = "tiny"
//! [contrail]
//! asn = 64512
//! control_nodes = [{ name = "control", ip = "10.0.0.10" }]
//! [[compute]]
//! name = "compute01"
//! ip = "10.0.0.21"
//! mac = "00:00:5e:00:53:15"
//! [[network]]
//! name = "blue"
//! subnet = "172.16.30.0/24"
//! vxlan_id = 7
//! [[vm]]
//! name = "vm1"
//! network = "blue"
//! compute = "compute01"
//! ip = "172.16.30.3"
//! mac = "02:00:00:00:00:03"
//! routes = ["default via 172.16.30.1 dev eth0"]
//! [[vm]]
//! name = "vm2"
//! network = "blue"
//! compute = "compute01"
//! ip = "172.16.30.4"
//! mac = "02:00:00:00:00:04"
//! routes = ["default via 172.16.30.1 dev eth0"]
//! "#;
//! let mut fabric = topology::load("tiny.toml", text)?;
//! let trip = fabric.probe("vm1", "172.16.30.4".parse()?, Probe::Icmp)?;
//! assert!(trip.forward.delivered(), "{}", trip.forward);
//! assert_eq!(trip.forward.path(), ["vm1", "compute01", "vm2"]);
//! assert!(trip.reply.unwrap().delivered());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod capture;
mod compute;
mod device;
pub mod diff;
mod error;
mod fabric;
pub mod gateway;
pub mod graph;
pub mod host;
pub mod json;
pub mod packet;
pub mod tables;
pub mod topology;
pub mod trace;
mod underlay;

pub use device::PortRef;
pub use error::FabricError;
pub use fabric::{Fabric, MAX_HOPS, RoundTrip, UNDERLAY};
