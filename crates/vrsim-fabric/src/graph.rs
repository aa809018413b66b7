//! Pictures of a scenario and its traces, as text other tools draw:
//!
//! - [`dot`]: the topology as Graphviz DOT (devices with their addresses,
//!   links with their ports, the gateway's dynamic tunnels dashed), and, with
//!   a trace, the path the packet took in red, numbered hop by hop, and the
//!   device that dropped it;
//! - [`mermaid`]: the same as a Mermaid flowchart, which GitHub and GitLab
//!   render in markdown;
//! - [`svg`]: the topology as a standalone SVG, laid out here in layers
//!   (no system tool needed), with the trace's path in red;
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
        // Each interface's IPv4 and global IPv6 address (Calico veths'
        // link-local addresses are the same everywhere and left out).
        let lines = h
            .ifaces
            .iter()
            .flat_map(|i| {
                let v6 = i.addr6.filter(|a| !a.addr().is_unicast_link_local());
                let v4 = i.addr.map(|a| a.to_string());
                v4.into_iter()
                    .chain(v6.map(|a| a.to_string()))
                    .map(move |a| format!("{} {a}", i.name))
            })
            .collect();
        out.push(Node {
            name: h.name.clone(),
            lines,
        });
    }
    for g in fabric.gateways() {
        let mut lines = vec![format!("{} {}", g.fabric_port, g.fabric_ip)];
        for p in &g.ports {
            lines.push(format!("{} {}", p.name, p.addr));
            lines.extend(p.addr6.map(|a| format!("{} {a}", p.name)));
        }
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
            Header::Icmpv6(_) => Some("ICMPv6"),
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

/// Layers of the topology for drawing, left to right: breadth first over
/// the links from the first host (end hosts sort first), devices in a layer
/// by name; devices no link reaches come last.
fn layers(fabric: &Fabric, nodes: &[Node]) -> Vec<Vec<String>> {
    let mut adjacent: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in fabric.links() {
        adjacent.entry(&a.device).or_default().push(&b.device);
        adjacent.entry(&b.device).or_default().push(&a.device);
    }
    let root = fabric
        .hosts()
        .find(|h| {
            h.kind == crate::host::HostKind::End
                && adjacent
                    .get(h.name.as_str())
                    .is_some_and(|n| n.iter().any(|d| fabric.gateway(d).is_some()))
        })
        .map(|h| h.name.as_str())
        .or_else(|| nodes.first().map(|n| n.name.as_str()));
    let mut layer_of: BTreeMap<&str, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::new();
    if let Some(r) = root {
        layer_of.insert(r, 0);
        queue.push_back(r);
    }
    while let Some(d) = queue.pop_front() {
        let next = layer_of[d] + 1;
        for n in adjacent.get(d).into_iter().flatten() {
            if !layer_of.contains_key(n) {
                layer_of.insert(n, next);
                queue.push_back(n);
            }
        }
    }
    let last = layer_of.values().max().map_or(0, |m| m + 1);
    let mut out = vec![Vec::new(); last + 1];
    for n in nodes {
        let l = layer_of.get(n.name.as_str()).copied().unwrap_or(last);
        out[l].push(n.name.clone());
    }
    out.retain(|l| !l.is_empty());
    for l in &mut out {
        l.sort();
    }
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Box geometry of the SVG picture.
const BOX_W: usize = 200;
const LINE_H: usize = 16;
const COL_GAP: usize = 90;
const ROW_GAP: usize = 36;
const MARGIN: usize = 20;

/// Where each device's box is: x, y and height.
type Boxes = BTreeMap<String, (usize, usize, usize)>;

/// The lines a device's box holds: its name, its addresses, and where a
/// trace ended there.
fn box_lines(n: &Node, path: &Path) -> usize {
    n.lines.len() + 1 + usize::from(path.end_at(&n.name).is_some())
}

/// Lay the devices out in [`layers`], one column each; the picture's width
/// and height.
fn place(fabric: &Fabric, nodes: &[Node], path: &Path) -> (Boxes, usize, usize) {
    let by_name: BTreeMap<&str, &Node> = nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    let mut boxes = Boxes::new();
    let mut total_h = 0;
    for (col, layer) in layers(fabric, nodes).iter().enumerate() {
        let mut y = MARGIN;
        for name in layer {
            let lines = by_name.get(name.as_str()).map_or(1, |n| box_lines(n, path));
            let h = lines * LINE_H + 10;
            boxes.insert(name.clone(), (MARGIN + col * (BOX_W + COL_GAP), y, h));
            y += h + ROW_GAP;
        }
        total_h = total_h.max(y);
    }
    let total_w = boxes.values().map(|(x, _, _)| x + BOX_W).max().unwrap_or(0) + MARGIN;
    (boxes, total_w, total_h)
}

/// The topology as a standalone SVG (no system tool needed): devices in
/// layers left to right, links as lines, the trace's path in red and
/// numbered, the device where it ended marked.
pub fn svg(fabric: &Fabric, trace: Option<&FabricTrace>) -> String {
    let path = Path::of(trace);
    let nodes = nodes(fabric);
    let (boxes, w, h) = place(fabric, &nodes, &path);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"monospace\" font-size=\"12\">"
    );
    let _ = writeln!(out, "  <title>{}</title>", xml(fabric.name()));
    let _ = writeln!(out, "  <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>");
    draw_links(&mut out, fabric, &boxes, &path);
    draw_devices(&mut out, &nodes, &boxes, &path);
    out.push_str("</svg>\n");
    out
}

/// The links, from box centre to box centre; those the trace crossed in red
/// with their number.
fn draw_links(out: &mut String, fabric: &Fabric, boxes: &Boxes, path: &Path) {
    let centre = |name: &str| boxes.get(name).map(|(x, y, h)| (x + BOX_W / 2, y + h / 2));
    for (a, b) in fabric.links() {
        let (Some((x1, y1)), Some((x2, y2))) = (centre(&a.device), centre(&b.device)) else {
            continue;
        };
        let line = |stroke: &str, width: &str| {
            format!(
                "  <line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"{stroke}\" stroke-width=\"{width}\"/>\n"
            )
        };
        match path.hop(&a.device, &b.device) {
            Some((i, _)) => {
                out.push_str(&line("red", "3"));
                let (mx, my) = ((x1 + x2) / 2, (y1 + y2) / 2);
                let _ = writeln!(
                    out,
                    "  <circle cx=\"{mx}\" cy=\"{my}\" r=\"10\" fill=\"red\"/>"
                );
                let _ = writeln!(
                    out,
                    "  <text x=\"{mx}\" y=\"{}\" fill=\"white\" text-anchor=\"middle\">{i}</text>",
                    my + 4
                );
            }
            None => out.push_str(&line("#888", "1.5")),
        }
    }
}

/// Each device as a box with its name and addresses, the one where the
/// trace ended outlined in red with the outcome.
fn draw_devices(out: &mut String, nodes: &[Node], boxes: &Boxes, path: &Path) {
    for n in nodes {
        let Some(&(x, y, h)) = boxes.get(&n.name) else {
            continue;
        };
        let end = path.end_at(&n.name);
        let stroke = if end.is_some() { "red" } else { "#333" };
        let _ = writeln!(
            out,
            "  <rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{h}\" rx=\"6\" fill=\"#f4f6fb\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>"
        );
        let text = |k: usize, attrs: &str, s: &str| {
            format!(
                "  <text x=\"{}\" y=\"{}\"{attrs}>{}</text>\n",
                x + 8,
                y + LINE_H * (k + 1),
                xml(s)
            )
        };
        out.push_str(&text(0, " font-weight=\"bold\"", &n.name));
        for (k, line) in n.lines.iter().enumerate() {
            out.push_str(&text(k + 1, "", line));
        }
        if let Some(words) = end {
            out.push_str(&text(n.lines.len() + 1, " fill=\"red\"", words));
        }
    }
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
