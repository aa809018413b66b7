//! The fabric's one error type. Scenario files have their own,
//! [`crate::topology::TopologyError`], which carries a line and column.

use ipnet::IpNet;
use vrsim_control::ControlError;

use crate::device::PortRef;

/// What the fabric refuses: building it, a what-if, a trace it cannot
/// start, or text (a flow, a Linux route) it cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FabricError {
    /// The control plane refused.
    #[error(transparent)]
    Control {
        /// Its error.
        #[from]
        source: ControlError,
    },
    /// No host of this name to send from.
    #[error("no host {host} to send from (hosts: {hosts})")]
    UnknownHost {
        /// The name asked for.
        host: String,
        /// The hosts there are, comma-separated.
        hosts: String,
    },
    /// A host without an address of the destination's family cannot send.
    #[error("host {host} has no {family} address to send from")]
    NoAddress {
        /// The host.
        host: String,
        /// `IPv4` or `IPv6`.
        family: &'static str,
    },
    /// A port joined by two links.
    #[error("port {port} is joined twice, to {first} and to {second}")]
    PortLinkedTwice {
        /// The port, as `device:port`.
        port: String,
        /// Its first peer.
        first: String,
        /// Its second peer.
        second: String,
    },
    /// A link naming an unknown device or port.
    #[error("link {port} names a device or port that does not exist")]
    BadLink {
        /// The end that does not exist.
        port: PortRef,
    },
    /// VM ports are fixed once the fabric is built (its hosts and links come
    /// from the topology, and the agent may renumber taps).
    #[error(
        "VM ports cannot be added to or removed from a built fabric: change the topology and load it again"
    )]
    PortsFixed,
    /// A what-if names a VM port that does not exist.
    #[error("there is no VM port {vm}")]
    NoVmPort {
        /// The name given.
        vm: String,
    },
    /// A what-if takes down the sessions of a VM that has none up.
    #[error("VM {vm} has no BGPaaS session up")]
    NoSessionUp {
        /// The VM.
        vm: String,
    },
    /// A what-if withdraws a prefix the VM does not advertise.
    #[error("VM {vm} does not advertise {prefix}")]
    NotAdvertised {
        /// The VM.
        vm: String,
        /// The prefix.
        prefix: IpNet,
    },
    /// A flow line that cannot be read.
    #[error("flow {line:?}: {why} (expected: FROM TO [icmp | udp PORT | tcp PORT])")]
    Flow {
        /// The line.
        line: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A Linux route that cannot be read.
    #[error("cannot parse route {text:?}: {why}")]
    Route {
        /// The text.
        text: String,
        /// What is wrong.
        why: &'static str,
    },
}
