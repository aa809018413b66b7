//! End-to-end traces: every hop a packet makes across devices, each with its
//! device's own steps (the vRouter's dataplane steps inside compute nodes),
//! and one final [`Outcome`]. Rendered in full ([`fmt::Display`]) or in the
//! stable minimal form golden files use ([`FabricTrace::minimal`]).

use core::fmt;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use vrsim_control::FlowDecision;
use vrsim_dataplane::drop::DropReason;
use vrsim_dataplane::nexthop::TunnelEncap;
use vrsim_dataplane::trace::Step;
use vrsim_wire::{MacAddr, dissect};

/// One step a device took with the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HopStep {
    /// The packet was created here.
    Send {
        /// What it is (`ICMP echo request 203.0.113.10 > 192.168.100.1`).
        what: String,
    },
    /// A step of a vRouter's dataplane.
    VRouter(Step),
    /// The control plane's choice behind a route a vRouter or gateway matched.
    RouteOrigin {
        /// The prefix.
        prefix: IpNet,
        /// Where it came from and why it was chosen.
        why: String,
    },
    /// A route lookup on a Linux host or the gateway.
    Lookup {
        /// The table (`main`, `inet.0`, `contrail-public.inet.0`).
        table: String,
        /// The address looked up.
        key: IpAddr,
        /// The matched prefix, if any.
        matched: Option<IpNet>,
        /// What the route says (`dev calid0d7ccaeef3`, `via 172.16.10.1 dev eth0`).
        route: String,
    },
    /// Neighbour resolution: ARP for an IPv4 address, a neighbour
    /// solicitation (`nd`) for an IPv6 one.
    Arp {
        /// The address resolved.
        ip: IpAddr,
        /// The answer, if any.
        mac: Option<MacAddr>,
        /// Who answered (or was asked).
        by: String,
    },
    /// The IPv4 TTL (or the IPv6 hop limit) was decremented.
    Ttl {
        /// Before.
        from: u8,
        /// After.
        to: u8,
    },
    /// MPLS over GRE or over UDP was pushed (by the gateway).
    Push {
        /// MPLSoGRE or MPLSoUDP.
        encap: TunnelEncap,
        /// The label.
        label: u32,
        /// Outer source.
        sip: Ipv4Addr,
        /// Outer destination.
        dip: Ipv4Addr,
        /// The tunnel interface.
        via: String,
    },
    /// The gateway load-balanced over a multipath route's paths.
    Multipath {
        /// The flow hash of the packet's 5-tuple.
        hash: u32,
        /// The path taken (from 0).
        chosen: usize,
        /// How many paths there are.
        paths: usize,
        /// The compute node the path taken goes to.
        compute: String,
    },
    /// Which encapsulation a tunnel took, and the rule that chose it.
    Encap {
        /// The encapsulation priority's verdict.
        why: String,
    },
    /// MPLS over GRE or UDP was removed (by the gateway) and the label looked up.
    Pop {
        /// MPLSoGRE or MPLSoUDP.
        encap: TunnelEncap,
        /// The label.
        label: u32,
        /// Where it leads.
        table: String,
    },
    /// A compute node's agent answered a flow miss and installed a flow pair.
    Agent {
        /// What it decided.
        decision: FlowDecision,
    },
    /// The underlay switched the frame by destination MAC.
    Switch {
        /// The destination MAC.
        mac: MacAddr,
        /// The port it went to.
        to: String,
    },
}

/// One device's handling of the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The device.
    pub device: String,
    /// The port it arrived on (`None` where the packet was created).
    pub ingress: Option<String>,
    /// The frame as it arrived (or was created).
    pub frame: Vec<u8>,
    /// What the device did.
    pub steps: Vec<HopStep>,
    /// The port it left by, if it left.
    pub egress: Option<String>,
}

/// How a trace ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered to a host's own address.
    Delivered {
        /// The host.
        device: String,
        /// The address.
        ip: IpAddr,
    },
    /// Dropped.
    Dropped {
        /// Where.
        device: String,
        /// Why.
        cause: DropCause,
    },
    /// The packet came back to a device and port it had been at, unchanged, or
    /// exceeded the hop bound.
    Looped {
        /// The device where the loop was found.
        device: String,
        /// Hops made.
        hops: usize,
    },
    /// It left through a port with nothing modelled behind it.
    LeftModel {
        /// The device.
        device: String,
        /// The port.
        port: String,
    },
}

/// Why a device dropped a packet. [`fmt::Display`] gives the reason in the
/// device's words (the vRouter's `dropstats` name, Linux's `Network is
/// unreachable`, …) and [`DropCause::detail`] the lookup or object behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropCause {
    /// A vRouter dropped it, counted under `reason`.
    VRouter {
        /// The `dropstats` counter.
        reason: DropReason,
        /// The last lookup it made before the drop (inet, RPF, label, VNID or bridge).
        lookup: Option<Step>,
    },
    /// A frame the device cannot read.
    Malformed {
        /// What the dissector found wrong, if anything.
        error: Option<vrsim_wire::Error>,
    },
    /// Neither an IPv4 nor an IPv6 packet.
    NotIpv4,
    /// The destination MAC is not the port's.
    NotOurMac {
        /// The port.
        port: String,
    },
    /// The destination MAC is not the gateway's fabric port's.
    NotFabricMac,
    /// An end host received a packet for another address (it does not forward).
    NotForwarding,
    /// A router received a packet for a link-local address not its own: it
    /// is not forwarded off its link (RFC 4291 §2.5.6).
    LinkLocal {
        /// The destination.
        dst: IpAddr,
    },
    /// A port the device does not have.
    NoPort {
        /// The port.
        port: String,
    },
    /// A device the fabric does not have.
    NoDevice {
        /// Its name.
        name: String,
    },
    /// The underlay has no port with the destination MAC.
    UnknownMac,
    /// A Linux host has no route (`Network is unreachable`).
    Unreachable {
        /// The table looked up.
        table: String,
        /// The destination.
        dst: IpAddr,
    },
    /// The gateway has no route, after looking up `lookup` (table, destination) if any.
    NoRoute {
        /// The last table looked up and the destination.
        lookup: Option<(String, IpAddr)>,
    },
    /// A blackhole route.
    Blackhole {
        /// The route, as `ip route` shows it.
        route: String,
    },
    /// A route names an interface the host does not have.
    NoSuchInterface {
        /// The interface.
        iface: String,
        /// The route.
        route: String,
    },
    /// The TTL ran out.
    TtlExceeded,
    /// The gateway's fabric port received something other than MPLSoGRE with IPv4 inside.
    NotMplsOverGre,
    /// An MPLSoGRE tunnel to another address.
    TunnelNotOurs {
        /// Its outer destination.
        dst: Ipv4Addr,
    },
    /// A label the gateway has no VRF for.
    UnknownLabel {
        /// The label.
        label: u32,
    },
    /// The gateway has no dynamic tunnel to the route's compute node.
    NoTunnel {
        /// The compute node.
        compute: String,
    },
    /// The gateway could not build the encapsulated frame.
    Encapsulation {
        /// What the frame builder refused.
        error: vrsim_wire::Error,
    },
    /// Nobody answered the ARP request (or neighbour solicitation) for the next hop.
    NoArpAnswer {
        /// The address asked for.
        target: IpAddr,
        /// The port it was asked on.
        port: String,
    },
}

impl DropCause {
    /// The vRouter's drop reason, when a vRouter dropped the packet.
    pub fn vrouter(&self) -> Option<DropReason> {
        match self {
            DropCause::VRouter { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    /// The lookup or object behind the drop, rendered (`route lookup main 10.1.1.1`,
    /// a vRouter's last lookup step), if there is one.
    pub fn detail(&self) -> Option<String> {
        match self {
            DropCause::VRouter { lookup, .. } => lookup.map(|s| s.to_string()),
            DropCause::Malformed { error } => error.as_ref().map(ToString::to_string),
            DropCause::Unreachable { table, dst } => Some(format!("route lookup {table} {dst}")),
            DropCause::NoRoute { lookup } => lookup
                .as_ref()
                .map(|(table, dst)| format!("route lookup {table} {dst}")),
            DropCause::Blackhole { route } | DropCause::NoSuchInterface { route, .. } => {
                Some(route.clone())
            }
            DropCause::UnknownLabel { label } => Some(format!("label {label}")),
            DropCause::NoTunnel { compute } => Some(compute.clone()),
            DropCause::Encapsulation { error } => Some(error.to_string()),
            DropCause::NoArpAnswer { target, port } => {
                Some(format!("{} {target} on {port}", resolver(*target)))
            }
            _ => None,
        }
    }
}

impl fmt::Display for DropCause {
    /// The reason in the device's words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropCause::VRouter { reason, .. } => reason.fmt(f),
            DropCause::Malformed { .. } => f.write_str("malformed frame"),
            DropCause::NotIpv4 => f.write_str("not an IP packet"),
            DropCause::NotOurMac { port } => write!(f, "not addressed to {port}'s MAC"),
            DropCause::NotFabricMac => f.write_str("not addressed to the fabric port's MAC"),
            DropCause::NotForwarding => f.write_str("not for this host (it does not forward)"),
            DropCause::LinkLocal { dst } => {
                write!(f, "link-local destination {dst} is not forwarded")
            }
            DropCause::NoPort { port } => write!(f, "no port {port}"),
            DropCause::NoDevice { name } => write!(f, "no device {name}"),
            DropCause::UnknownMac => f.write_str("no fabric port has the destination MAC"),
            DropCause::Unreachable { .. } => f.write_str("no route (Network is unreachable)"),
            DropCause::NoRoute { .. } => f.write_str("no route"),
            DropCause::Blackhole { .. } => f.write_str("blackhole route"),
            DropCause::NoSuchInterface { iface, .. } => {
                write!(f, "route names interface {iface}, which does not exist")
            }
            DropCause::TtlExceeded => f.write_str("ttl exceeded"),
            DropCause::NotMplsOverGre => f.write_str("not MPLSoGRE carrying IP"),
            DropCause::TunnelNotOurs { dst } => write!(f, "tunnel to {dst}, not this gateway"),
            DropCause::UnknownLabel { .. } => f.write_str("unknown MPLS label"),
            DropCause::NoTunnel { .. } => f.write_str("no tunnel to the route's compute node"),
            DropCause::Encapsulation { .. } => f.write_str("cannot encapsulate"),
            DropCause::NoArpAnswer { target, .. } => match target {
                IpAddr::V4(_) => f.write_str("neighbour unreachable (no ARP answer)"),
                IpAddr::V6(_) => f.write_str("neighbour unreachable (no neighbour advertisement)"),
            },
        }
    }
}

/// A packet's path through the fabric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FabricTrace {
    /// The hops, in order.
    pub hops: Vec<Hop>,
    /// How it ended.
    pub outcome: Outcome,
}

impl FabricTrace {
    /// Whether the packet was delivered.
    pub fn delivered(&self) -> bool {
        matches!(self.outcome, Outcome::Delivered { .. })
    }

    /// The devices visited, in order.
    pub fn path(&self) -> Vec<&str> {
        self.hops.iter().map(|h| h.device.as_str()).collect()
    }

    /// The stable minimal form: one line per hop with the ports, the frame's
    /// headers as they arrived, what changed the packet, and the outcome.
    pub fn minimal(&self) -> String {
        let mut out = String::new();
        for h in &self.hops {
            let d = dissect(&h.frame);
            out.push_str(&format!(
                "{} {} -> {} [{}]\n",
                h.device,
                h.ingress.as_deref().unwrap_or("(origin)"),
                h.egress.as_deref().unwrap_or("-"),
                d.chain()
            ));
            for s in &h.steps {
                let line = match s {
                    HopStep::Push {
                        encap,
                        label,
                        sip,
                        dip,
                        ..
                    } => Some(format!(
                        "push mpls {label} {} {sip} > {dip}",
                        carrier(*encap)
                    )),
                    HopStep::Pop { label, table, .. } => {
                        Some(format!("pop mpls {label} -> {table}"))
                    }
                    HopStep::VRouter(
                        st @ (Step::Push { .. }
                        | Step::Rewrite { .. }
                        | Step::Decap { .. }
                        | Step::Label { .. }
                        | Step::Flow { .. }
                        | Step::FlowRpf { .. }),
                    ) => Some(st.to_string()),
                    HopStep::Agent { decision } => Some(decision.to_string()),
                    _ => None,
                };
                if let Some(l) = line {
                    out.push_str("  ");
                    out.push_str(&l);
                    out.push('\n');
                }
            }
        }
        out.push_str(&format!("=> {}\n", self.outcome));
        out
    }
}

impl fmt::Display for HopStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HopStep::Send { what } => write!(f, "send {what}"),
            HopStep::VRouter(s) => write!(f, "{s}"),
            HopStep::RouteOrigin { prefix, why } => write!(f, "  route {prefix}: {why}"),
            HopStep::Lookup {
                table,
                key,
                matched: Some(p),
                route,
            } => write!(f, "route lookup {table} {key} -> {p} {route}"),
            HopStep::Lookup { table, key, .. } => {
                write!(f, "route lookup {table} {key} -> no route")
            }
            HopStep::Arp {
                ip,
                mac: Some(m),
                by,
            } => write!(f, "{} {ip} is-at {m} ({by})", resolver(*ip)),
            HopStep::Arp { ip, mac: None, by } => {
                write!(f, "{} {ip}: no answer ({by})", resolver(*ip))
            }
            HopStep::Ttl { from, to } => write!(f, "ttl {from} -> {to}"),
            HopStep::Push {
                encap,
                label,
                sip,
                dip,
                via,
            } => write!(
                f,
                "push {} label {label} {sip} > {dip} via {via}",
                encap.name()
            ),
            HopStep::Encap { why } => write!(f, "  encap {why}"),
            HopStep::Multipath {
                hash,
                chosen,
                paths,
                compute,
            } => write!(
                f,
                "multipath: hash {hash:#010x} % {paths} paths -> path {chosen}, to {compute}"
            ),
            HopStep::Pop {
                encap,
                label,
                table,
            } => write!(f, "pop {} label {label} -> {table}", encap.name()),
            HopStep::Switch { mac, to } => write!(f, "switch {mac} -> {to}"),
            HopStep::Agent { decision } => write!(f, "{decision}"),
        }
    }
}

/// How a neighbour is resolved: `arp` (IPv4), `nd` (IPv6 neighbour discovery).
pub fn resolver(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "arp",
        IpAddr::V6(_) => "nd",
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Delivered { device, ip } => write!(f, "delivered to {device} ({ip})"),
            Outcome::Dropped { device, cause } => {
                write!(f, "dropped by {device}: {cause}")?;
                match cause.detail() {
                    Some(d) => write!(f, " ({d})"),
                    None => Ok(()),
                }
            }
            Outcome::Looped { device, hops } => write!(f, "looped at {device} after {hops} hops"),
            Outcome::LeftModel { device, port } => write!(f, "left the model at {device} {port}"),
        }
    }
}

impl fmt::Display for FabricTrace {
    /// Hop by hop: the device and its ports, the frame's headers, every step.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, h) in self.hops.iter().enumerate() {
            let d = dissect(&h.frame);
            writeln!(
                f,
                "{:>2}. {} (in {}, out {}) [{}]",
                i + 1,
                h.device,
                h.ingress.as_deref().unwrap_or("-"),
                h.egress.as_deref().unwrap_or("-"),
                d.chain()
            )?;
            for s in &h.steps {
                writeln!(f, "      {s}")?;
            }
        }
        write!(f, "=> {}", self.outcome)
    }
}

/// How the minimal form names what carries MPLS: `gre`, `udp`.
fn carrier(encap: TunnelEncap) -> &'static str {
    match encap {
        TunnelEncap::MplsOverUdp => "udp",
        TunnelEncap::Vxlan => "vxlan",
        TunnelEncap::MplsOverGre => "gre",
    }
}
