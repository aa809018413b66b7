//! Pictures of a scenario and its traces, as text other tools draw:
//!
//! - [`dot`]: the topology as Graphviz DOT (devices with their addresses,
//!   links with their ports, the gateway's dynamic tunnels dashed), and, with
//!   a trace, the path the packet took in red, numbered hop by hop, and the
//!   device that dropped it;
//! - [`mermaid`]: the same as a Mermaid flowchart, which GitHub and GitLab
//!   render in markdown;
//! - [`ladder`]: a trace as a Mermaid sequence diagram, one lifeline per
//!   device and one arrow per link crossed, labelled with what the frame
//!   carried there (`GRE/MPLS 35`, `VXLAN 4`, `IPv4`).

use core::fmt::Write;
use std::collections::BTreeMap;

use vrsim_wire::{Header, dissect};

use crate::fabric::{Fabric, UNDERLAY};
use crate::trace::{FabricTrace, Outcome};

/// A device as drawn: its name and the lines under it.
struct Node {
    name: String,
    lines: Vec<String>,
}

/// The devices of a fabric, in a stable order: hosts, gateways, the
/// underlay, compute nodes.
fn nodes(fabric: &Fabric) -> Vec<Node> {
    let mut out = Vec::new();
    for h in fabric.hosts() {
        let lines = h
            .ifaces
            .iter()
            .filter_map(|i| i.addr.map(|a| format!("{} {a}", i.name)))
            .collect();
        out.push(Node {
            name: h.name.clone(),
            lines,
        });
    }
    for g in fabric.gateways() {
        let mut lines = vec![format!("{} {}", g.fabric_port, g.fabric_ip)];
        lines.extend(g.ports.iter().map(|p| format!("{} {}", p.name, p.addr)));
        out.push(Node {
            name: g.name.clone(),
            lines,
        });
    }
    out.push(Node {
        name: UNDERLAY.to_owned(),
        lines: vec!["underlay".to_owned()],
    });
    for c in &fabric.control().config().computes {
        out.push(Node {
            name: c.name.clone(),
            lines: vec![format!("vhost0 {}", c.ip)],
        });
    }
    out
}

/// The links a trace crossed, each with the number of its first crossing
/// and the device it was crossed from, and how the trace ended: the device
/// and the words to show there.
struct Path {
    crossed: BTreeMap<(String, String), (usize, String)>,
    end: Option<(String, String)>,
}

impl Path {
    fn of(trace: Option<&FabricTrace>) -> Path {
        let mut crossed = BTreeMap::new();
        let Some(t) = trace else {
            return Path { crossed, end: None };
        };
        for (i, pair) in t.hops.windows(2).enumerate() {
            let (from, to) = (&pair[0], &pair[1]);
            let key = link_key(&from.device, &to.device);
            crossed.entry(key).or_insert((i + 1, from.device.clone()));
        }
        let end = match &t.outcome {
            Outcome::Delivered { device, ip } => Some((device.clone(), format!("delivered {ip}"))),
            Outcome::Dropped { device, cause } => {
                Some((device.clone(), format!("dropped: {cause}")))
            }
            Outcome::Looped { device, .. } => Some((device.clone(), "looped".to_owned())),
            Outcome::LeftModel { device, port } => {
                Some((device.clone(), format!("left by {port}")))
            }
        };
        Path { crossed, end }
    }

    /// The number of the crossing of the link between `a` and `b`, and
    /// whether it went from `a` to `b`.
    fn hop(&self, a: &str, b: &str) -> Option<(usize, bool)> {
        self.crossed
            .get(&link_key(a, b))
            .map(|(i, from)| (*i, from == a))
    }

    fn end_at(&self, device: &str) -> Option<&str> {
        self.end
            .as_ref()
            .filter(|(d, _)| d == device)
            .map(|(_, s)| s.as_str())
    }
}

fn link_key(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

/// The gateway's dynamic tunnels: (gateway, compute node, tunnel unit).
fn tunnels(fabric: &Fabric) -> Vec<(String, String, String)> {
    fabric
        .gateways()
        .flat_map(|g| {
            g.tunnels
                .iter()
                .map(move |(c, (unit, _))| (g.name.clone(), c.clone(), unit.clone()))
        })
        .collect()
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The topology as Graphviz DOT, with the trace's path when one is given.
pub fn dot(fabric: &Fabric, trace: Option<&FabricTrace>) -> String {
    let path = Path::of(trace);
    let mut out = String::new();
    let _ = writeln!(out, "graph \"{}\" {{", quote(fabric.name()));
    let _ = writeln!(out, "  rankdir=LR;");
    let _ = writeln!(out, "  node [shape=box, fontname=\"monospace\"];");
    for n in nodes(fabric) {
        let mut label = vec![n.name.clone()];
        label.extend(n.lines);
        let mut attrs = format!("label=\"{}\"", quote(&label.join("\n")));
        if let Some(end) = path.end_at(&n.name) {
            let _ = write!(attrs, ", color=red, xlabel=\"{}\"", quote(end));
        }
        let _ = writeln!(out, "  \"{}\" [{attrs}];", quote(&n.name));
    }
    for (a, b) in fabric.links() {
        let mut attrs = format!(
            "taillabel=\"{}\", headlabel=\"{}\"",
            quote(&a.port),
            quote(&b.port)
        );
        if let Some((i, forward)) = path.hop(&a.device, &b.device) {
            let dir = if forward { "forward" } else { "back" };
            let _ = write!(attrs, ", color=red, penwidth=2, dir={dir}, label=\"{i}\"");
        }
        let _ = writeln!(
            out,
            "  \"{}\" -- \"{}\" [{attrs}];",
            quote(&a.device),
            quote(&b.device)
        );
    }
    for (g, c, unit) in tunnels(fabric) {
        let _ = writeln!(
            out,
            "  \"{}\" -- \"{}\" [style=dashed, label=\"GRE {}\"];",
            quote(&g),
            quote(&c),
            quote(&unit)
        );
    }
    out.push_str("}\n");
    out
}

/// The topology as a Mermaid flowchart, with the trace's path when one is
/// given (its links drawn thick and numbered).
pub fn mermaid(fabric: &Fabric, trace: Option<&FabricTrace>) -> String {
    let path = Path::of(trace);
    let ids: BTreeMap<String, String> = nodes(fabric)
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.clone(), format!("n{i}")))
        .collect();
    let id = |name: &str| ids.get(name).cloned().unwrap_or_else(|| name.to_owned());
    let mut out = String::from("flowchart LR\n");
    for n in nodes(fabric) {
        let mut label = vec![n.name.clone()];
        label.extend(n.lines);
        if let Some(end) = path.end_at(&n.name) {
            label.push(format!("⚑ {end}"));
        }
        let text = label.join("<br/>").replace('"', "#quot;");
        let _ = writeln!(out, "  {}[\"{text}\"]", id(&n.name));
    }
    for (a, b) in fabric.links() {
        let ports = format!("{} — {}", a.port, b.port).replace('"', "#quot;");
        match path.hop(&a.device, &b.device) {
            Some((i, forward)) => {
                let (from, to) = if forward { (a, b) } else { (b, a) };
                let ports = format!("{} — {}", from.port, to.port).replace('"', "#quot;");
                let (from, to) = (id(&from.device), id(&to.device));
                let _ = writeln!(out, "  {from} ==>|\"{i}: {ports}\"| {to}");
            }
            None => {
                let _ = writeln!(
                    out,
                    "  {} ---|\"{ports}\"| {}",
                    id(&a.device),
                    id(&b.device)
                );
            }
        }
    }
    for (g, c, unit) in tunnels(fabric) {
        let _ = writeln!(out, "  {} -.-|\"GRE {unit}\"| {}", id(&g), id(&c));
    }
    out
}

/// What a frame carried on a link, as a ladder arrow says it: the tunnel
/// and its label or VNID if there is one, then the innermost protocol
/// (`GRE/MPLS 35 (ICMP)`, `VXLAN 4 (ICMP)`, `ICMP`, `ARP`).
pub fn carried(frame: &[u8]) -> String {
    let d = dissect(frame);
    let hs: Vec<&Header> = d.iter().collect();
    let mut tunnel = None;
    for (i, h) in hs.iter().enumerate() {
        match h {
            Header::Mpls(stack) => {
                let over = match i.checked_sub(1).and_then(|j| hs.get(j)) {
                    Some(Header::Gre(_)) => "GRE/",
                    Some(Header::Udp(_)) => "UDP/",
                    _ => "",
                };
                tunnel = Some(format!("{over}MPLS {}", stack.top().label.value()));
            }
            Header::Vxlan(v) => tunnel = Some(format!("VXLAN {}", v.vni.value())),
            _ => {}
        }
    }
    let inner = hs
        .iter()
        .rev()
        .find_map(|h| match h {
            Header::Icmpv4(_) => Some("ICMP"),
            Header::Tcp(_) => Some("TCP"),
            Header::Udp(_) => Some("UDP"),
            Header::Arp(_) => Some("ARP"),
            Header::Ipv4(_) => Some("IPv4"),
            Header::Ipv6(_) => Some("IPv6"),
            _ => None,
        })
        .unwrap_or("Ethernet");
    match tunnel {
        Some(t) => format!("{t} ({inner})"),
        None => inner.to_owned(),
    }
}

/// A trace as a Mermaid sequence diagram: one lifeline per device, one arrow
/// per link crossed, and a note where it ended.
pub fn ladder(trace: &FabricTrace) -> String {
    let mut order: Vec<&str> = Vec::new();
    for h in &trace.hops {
        if !order.contains(&h.device.as_str()) {
            order.push(&h.device);
        }
    }
    let id = |d: &str| {
        order
            .iter()
            .position(|o| *o == d)
            .map_or(String::new(), |i| format!("d{i}"))
    };
    let mut out = String::from("sequenceDiagram\n");
    for (i, d) in order.iter().enumerate() {
        let _ = writeln!(out, "  participant d{i} as {d}");
    }
    for pair in trace.hops.windows(2) {
        let (from, to) = (&pair[0], &pair[1]);
        let via = match (&from.egress, &to.ingress) {
            (Some(e), Some(i)) => format!(" ({e} → {i})"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {}->>{}: {}{via}",
            id(&from.device),
            id(&to.device),
            carried(&to.frame)
        );
    }
    let end = Path::of(Some(trace)).end;
    if let Some((device, words)) = end {
        let _ = writeln!(
            out,
            "  Note over {}: {}",
            id(&device),
            words.replace(';', ",")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrsim_wire::{Frame, MacAddr, UDP_PORT_MPLS, UDP_PORT_VXLAN};

    fn outer() -> Frame {
        Frame::new()
            .ethernet(
                MacAddr::new(2, 0, 0, 0, 0, 1),
                MacAddr::new(2, 0, 0, 0, 0, 2),
            )
            .ipv4([10, 0, 0, 1], [10, 0, 0, 21])
    }

    fn ping() -> Frame {
        Frame::new()
            .ipv4([203, 0, 113, 10], [192, 168, 100, 1])
            .icmp_echo_request(1, 1, b"ping")
    }

    #[test]
    fn carried_names_the_tunnel_its_label_and_what_is_inside() {
        let gre = outer()
            .gre()
            .mpls(35)
            .append(ping())
            .build()
            .expect("builds");
        assert_eq!(carried(&gre), "GRE/MPLS 35 (ICMP)");
        let udp = outer()
            .udp(51000, UDP_PORT_MPLS)
            .mpls(35)
            .append(ping())
            .build()
            .expect("builds");
        assert_eq!(carried(&udp), "UDP/MPLS 35 (ICMP)");
        let inner = Frame::new()
            .ethernet(
                MacAddr::new(2, 0, 0, 0, 0, 3),
                MacAddr::new(2, 0, 0, 0, 0, 4),
            )
            .append(ping());
        let vxlan = outer()
            .udp(52000, UDP_PORT_VXLAN)
            .vxlan(4)
            .append(inner)
            .build()
            .expect("builds");
        assert_eq!(carried(&vxlan), "VXLAN 4 (ICMP)");
        let plain = Frame::new()
            .ethernet(
                MacAddr::new(2, 0, 0, 0, 0, 3),
                MacAddr::new(2, 0, 0, 0, 0, 4),
            )
            .append(ping())
            .build()
            .expect("builds");
        assert_eq!(carried(&plain), "ICMP");
        assert_eq!(carried(&[0u8; 3]), "Ethernet");
    }
}
