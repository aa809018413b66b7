//! The seam between the fabric and its devices. The fabric carries a frame
//! across a link and hands it to the device at the far end ([`Device::receive`]);
//! the device says what became of it as an [`Action`] and records its own
//! steps. Each kind of device forwards in its own file: Linux hosts
//! ([`crate::host`]), the gateway ([`crate::gateway`]), compute nodes
//! ([`crate::compute`]) and the underlay switch ([`crate::underlay`]).

use std::net::IpAddr;

use vrsim_wire::MacAddr;

use crate::trace::{DropCause, HopStep};

/// What a device did with a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Delivered to one of the device's own addresses.
    Deliver(IpAddr),
    /// Sent out of `port`.
    Out {
        /// The port.
        port: String,
        /// The frame as it leaves.
        frame: Vec<u8>,
        /// The neighbour to resolve first, whose MAC the fabric writes into
        /// the frame (Linux hosts and the gateway route to an address; the
        /// vRouter and the underlay have written their MACs already).
        resolve: Option<Resolve>,
    },
    /// Dropped.
    Drop(DropCause),
}

/// A neighbour to resolve before a frame leaves: with ARP (IPv4) or a
/// neighbour solicitation (IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resolve {
    /// The address to resolve.
    pub(crate) target: IpAddr,
    /// The asking port's MAC (and the frame's source MAC).
    pub(crate) src_mac: MacAddr,
    /// The asking port's address.
    pub(crate) src_ip: IpAddr,
}

/// An ARP or neighbour advertisement answer: the MAC, and who gave it
/// (`compute01:vif0/37, vRouter proxy ARP`).
pub(crate) type ArpAnswer = (MacAddr, String);

/// A device of the fabric.
pub(crate) trait Device {
    /// Receive `frame` on `port` (`None`: the device created it), record
    /// the device's steps, and say what became of it.
    fn receive(&mut self, port: Option<&str>, frame: &[u8], steps: &mut Vec<HopStep>) -> Action;

    /// Answer an ARP request (IPv4) or a neighbour solicitation (IPv6) for
    /// `target` arriving on `port` from `asker` (its MAC and address), if
    /// the device answers it.
    fn answer_arp(
        &mut self,
        port: &str,
        asker: (MacAddr, IpAddr),
        target: IpAddr,
    ) -> Option<ArpAnswer>;

    /// Whether the device has a port of this name (links may only join ports that exist).
    fn has_port(&self, port: &str) -> bool;
}

/// One end of a link: a device and one of its ports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRef {
    /// The device.
    pub device: String,
    /// The port (`eth0`, `ge-0/0/1`, `vif0/37`).
    pub port: String,
}

impl PortRef {
    /// A port reference.
    pub fn new(device: &str, port: &str) -> Self {
        PortRef {
            device: device.to_owned(),
            port: port.to_owned(),
        }
    }
}

impl core::fmt::Display for PortRef {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}", self.device, self.port)
    }
}
