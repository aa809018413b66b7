//! The control plane's errors: each names the object and what it refers to.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use vrsim_dataplane::DataplaneError;

/// A configuration or event the control plane refuses. Nothing is applied
/// when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// Two objects of one kind share a name.
    #[error("{kind} {name} is defined twice")]
    Duplicate {
        /// The kind of object.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A compute node and a gateway share a name: each node's agent keeps
    /// its tunnels by the far end's name, so the two would share one.
    #[error(
        "compute node {name} and gateway {name} share a name (a node's tunnels are kept by the far end's name)"
    )]
    SharedEndpointName {
        /// The name.
        name: String,
    },
    /// An object names another that does not exist.
    #[error("{by} names {kind} {name}, which does not exist")]
    Unknown {
        /// The kind of the missing object.
        kind: &'static str,
        /// Its name.
        name: String,
        /// The object that names it.
        by: String,
    },
    /// An address outside the subnet it must be in.
    #[error("{what} {ip} is outside {subnet}")]
    OutsideSubnet {
        /// Whose address.
        what: String,
        /// The address.
        ip: IpAddr,
        /// The subnet.
        subnet: IpNet,
    },
    /// Two ports of one network with the same address.
    #[error("VM ports {first} and {second} both have address {ip}")]
    AddressInUse {
        /// The address.
        ip: IpAddr,
        /// The first port.
        first: String,
        /// The second port.
        second: String,
    },
    /// Two objects pin the same id.
    #[error("{what} is pinned by both {first} and {second}")]
    DuplicatePin {
        /// The id.
        what: String,
        /// The first object pinning it.
        first: String,
        /// The second.
        second: String,
    },
    /// An id that does not fit its table.
    #[error("{what} is out of range")]
    OutOfRange {
        /// The id and whose it is.
        what: String,
    },
    /// A BGPaaS peer address that is not the network's gateway or DNS address.
    #[error(
        "BGPaaS {bgpaas} peers with {peer}, which is neither its network's gateway nor its DNS address"
    )]
    BadPeer {
        /// The BGPaaS object.
        bgpaas: String,
        /// The address.
        peer: Ipv4Addr,
    },
    /// An update on a BGP session that is not established.
    #[error("BGPaaS {bgpaas}'s session with {peer} is not established")]
    SessionDown {
        /// The BGPaaS object.
        bgpaas: String,
        /// The peer address.
        peer: Ipv4Addr,
    },
    /// A withdraw of a prefix the session did not advertise.
    #[error("BGPaaS {bgpaas} has not advertised {prefix} on its session with {peer}")]
    NotAdvertised {
        /// The BGPaaS object.
        bgpaas: String,
        /// The peer address.
        peer: Ipv4Addr,
        /// The prefix.
        prefix: IpNet,
    },
    /// An IPv6 address on a network without an IPv6 subnet.
    #[error("{what} {ip} is IPv6, but network {network} has no IPv6 subnet (subnet6)")]
    NotDualStack {
        /// Whose address.
        what: String,
        /// The address.
        ip: IpAddr,
        /// The network.
        network: String,
    },
    /// Ids ran out while allocating.
    #[error("no free {what} left on {node}")]
    Exhausted {
        /// The kind of id.
        what: &'static str,
        /// The compute node.
        node: String,
    },
    /// The vRouter refused a programming call (a bug in the agent model if it happens).
    #[error("programming {node}: {source}")]
    Dataplane {
        /// The compute node.
        node: String,
        /// The vRouter's error.
        source: DataplaneError,
    },
}
