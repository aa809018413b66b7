//! Scenario files: TOML topologies (schema version 1), loaded into a
//! [`Fabric`]. Every error names the line and column of the offending value.
//!
//! The schema, table by table (see `scenarios/README.md` for a full example):
//!
//! | table | keys |
//! |---|---|
//! | top level | `version = 1`, `name`, `description` |
//! | `[contrail]` | `asn`, `control_nodes = [{ name, ip }]` |
//! | `[[gateway]]` | `name`, `fabric_ip`, `fabric_mac`, `fabric_port` (`ge-0/0/0`), `tunnel_unit_base` (32769); `[[gateway.port]]` `name`, `ip` (`A.B.C.D/L`), `mac`; `[[gateway.vrf]]` `name`, `network`, `label`, `default_route` (true) |
//! | `[[compute]]` | `name`, `ip`, `mac`, `fabric_if` (`eth1`); `[compute.pin]` `vhost_receive_nh`, `tunnel_nh = { ENDPOINT = ID }` |
//! | `[[network]]` | `name`, `fq_name`, `subnet`, `vxlan_id`, `rpf` (true), `allow_transit` (false), `gateway`, `dns` (.1, .2); `[network.pin]` `vrf`, `receive_nh`, `l2_receive_nh`, `vxlan_nh` |
//! | `[[vm]]` | `name`, `network`, `compute`, `ip`, `mac`, `tap`, `mtu` (9160), `routes` (Linux `ip route` lines); `[vm.pin]` `vif`, `nh`, `l2_nh`, `label`, `bridge_index` |
//! | `[[bgpaas]]` | `name`, `vm`, `asn`, `peers`, `up` (true); `[[bgpaas.route]]` `prefix`, `next_hop` (the VM's address), `as_path` (`[asn]` for eBGP, `[]` for iBGP), `origin` (`igp`), `local_pref` (100), `med` (0) |
//! | `[[host]]` | end hosts: `name`, `ip` (`A.B.C.D/L`), `mac`, `link` (`DEVICE:PORT`), `routes` |
//!
//! A host linked to `VM:IFACE` gives the VM a Calico veth `IFACE` (MAC
//! `ee:ee:ee:ee:ee:ee`, proxy ARP); VMs are linked to their compute node's
//! tap, and compute nodes and gateways to the underlay, without links.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::ops::Range;

use ipnet::Ipv4Net;
use serde::Deserialize;
use toml::Spanned;
use vrsim_control::bgp::{Origin, PathAttrs};
use vrsim_control::config::*;
use vrsim_control::{ControlError, Controller, Event};
use vrsim_wire::MacAddr;

use crate::fabric::{Fabric, FabricError, PortRef};
use crate::gateway::{Gateway, GwPort};
use crate::host::{CALICO_VETH_MAC, Host, HostKind, Iface, LinuxRoute};

/// The schema version this crate reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A scenario file that cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct TopologyError {
    /// The file (or scenario name).
    pub file: String,
    /// 1-based line, 0 when the error has no place.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    version: Spanned<u32>,
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    contrail: ContrailSpec,
    #[serde(default)]
    gateway: Vec<GatewaySpec>,
    #[serde(default)]
    compute: Vec<ComputeSpec>,
    #[serde(default)]
    network: Vec<NetworkSpec>,
    #[serde(default)]
    vm: Vec<VmSpec>,
    #[serde(default)]
    bgpaas: Vec<BgpaasSpec>,
    #[serde(default)]
    host: Vec<HostSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContrailSpec {
    asn: u32,
    control_nodes: Vec<ControlSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlSpec {
    name: String,
    ip: Ipv4Addr,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GatewaySpec {
    name: Spanned<String>,
    fabric_ip: Ipv4Addr,
    fabric_mac: Spanned<String>,
    #[serde(default = "default_fabric_port")]
    fabric_port: String,
    #[serde(default = "default_unit_base")]
    tunnel_unit_base: u32,
    #[serde(default)]
    port: Vec<GwPortSpec>,
    #[serde(default)]
    vrf: Vec<GwVrfSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GwPortSpec {
    name: String,
    ip: Spanned<Ipv4Net>,
    mac: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GwVrfSpec {
    name: String,
    network: Spanned<String>,
    label: Spanned<u32>,
    #[serde(default = "yes")]
    default_route: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComputeSpec {
    name: Spanned<String>,
    ip: Ipv4Addr,
    mac: Spanned<String>,
    #[serde(default = "default_fabric_if")]
    fabric_if: String,
    #[serde(default)]
    pin: ComputePinSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComputePinSpec {
    vhost_receive_nh: Option<u32>,
    #[serde(default)]
    tunnel_nh: BTreeMap<String, u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkSpec {
    name: Spanned<String>,
    fq_name: Option<String>,
    subnet: Spanned<Ipv4Net>,
    vxlan_id: u32,
    #[serde(default = "yes")]
    rpf: bool,
    #[serde(default)]
    allow_transit: bool,
    gateway: Option<Spanned<Ipv4Addr>>,
    dns: Option<Spanned<Ipv4Addr>>,
    #[serde(default)]
    pin: NetworkPinSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkPinSpec {
    vrf: Option<u16>,
    receive_nh: Option<u32>,
    l2_receive_nh: Option<u32>,
    vxlan_nh: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VmSpec {
    name: Spanned<String>,
    network: Spanned<String>,
    compute: Spanned<String>,
    ip: Spanned<Ipv4Addr>,
    mac: Spanned<String>,
    tap: Option<String>,
    #[serde(default = "default_mtu")]
    mtu: u16,
    #[serde(default)]
    routes: Vec<Spanned<String>>,
    #[serde(default)]
    pin: PortPinSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortPinSpec {
    vif: Option<Spanned<u16>>,
    nh: Option<Spanned<u32>>,
    l2_nh: Option<Spanned<u32>>,
    label: Option<Spanned<u32>>,
    bridge_index: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BgpaasSpec {
    name: Spanned<String>,
    vm: Spanned<String>,
    asn: u32,
    peers: Vec<Spanned<Ipv4Addr>>,
    #[serde(default = "yes")]
    up: bool,
    #[serde(default)]
    route: Vec<BgpRouteSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BgpRouteSpec {
    prefix: Ipv4Net,
    next_hop: Option<Ipv4Addr>,
    as_path: Option<Vec<u32>>,
    #[serde(default)]
    origin: OriginSpec,
    local_pref: Option<u32>,
    med: Option<u32>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum OriginSpec {
    #[default]
    Igp,
    Egp,
    Incomplete,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostSpec {
    name: Spanned<String>,
    ip: Spanned<Ipv4Net>,
    mac: Option<Spanned<String>>,
    link: Spanned<String>,
    #[serde(default)]
    routes: Vec<Spanned<String>>,
}

fn yes() -> bool {
    true
}
fn default_fabric_port() -> String {
    "ge-0/0/0".into()
}
fn default_unit_base() -> u32 {
    32769
}
fn default_fabric_if() -> String {
    "eth1".into()
}
fn default_mtu() -> u16 {
    9160
}

struct Loader<'a> {
    file: &'a str,
    text: &'a str,
}

impl Loader<'_> {
    fn at(&self, span: Option<Range<usize>>, message: impl Into<String>) -> TopologyError {
        let (line, column) = match span {
            Some(s) => {
                let before = &self.text[..s.start.min(self.text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                (line, column)
            }
            None => (0, 0),
        };
        TopologyError {
            file: self.file.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    fn mac(&self, s: &Spanned<String>) -> Result<MacAddr, TopologyError> {
        s.get_ref().parse::<MacAddr>().map_err(|_| {
            self.at(
                Some(s.span()),
                format!("{:?} is not a MAC address", s.get_ref()),
            )
        })
    }

    fn routes(&self, routes: &[Spanned<String>]) -> Result<Vec<LinuxRoute>, TopologyError> {
        routes
            .iter()
            .map(|r| {
                LinuxRoute::parse(r.get_ref()).map_err(|e| self.at(Some(r.span()), e.to_string()))
            })
            .collect()
    }
}

/// Load a scenario from TOML text. `file` names it in errors.
pub fn load(file: &str, text: &str) -> Result<Fabric, TopologyError> {
    let l = Loader { file, text };
    let spec: FileSpec =
        toml::from_str(text).map_err(|e| l.at(e.span(), e.message().to_owned()))?;
    if *spec.version.get_ref() != SCHEMA_VERSION {
        return Err(l.at(
            Some(spec.version.span()),
            format!(
                "schema version {} is not supported (this vrsim reads version {SCHEMA_VERSION})",
                spec.version.get_ref()
            ),
        ));
    }

    // Names are unique across devices (they name link ends).
    let mut devices: BTreeMap<String, &'static str> = BTreeMap::new();
    let named = spec
        .gateway
        .iter()
        .map(|g| (&g.name, "gateway"))
        .chain(spec.compute.iter().map(|c| (&c.name, "compute node")))
        .chain(spec.vm.iter().map(|v| (&v.name, "VM")))
        .chain(spec.host.iter().map(|h| (&h.name, "host")));
    for (name, kind) in named {
        if name.get_ref() == crate::fabric::UNDERLAY {
            return Err(l.at(
                Some(name.span()),
                format!("{:?} is the underlay's name", name.get_ref()),
            ));
        }
        if let Some(first) = devices.insert(name.get_ref().clone(), kind) {
            return Err(l.at(
                Some(name.span()),
                format!("{kind} {} has the name of a {first}", name.get_ref()),
            ));
        }
    }
    let mut nets = BTreeMap::new();
    for n in &spec.network {
        if nets.insert(n.name.get_ref().clone(), n).is_some() {
            return Err(l.at(
                Some(n.name.span()),
                format!("network {} is defined twice", n.name.get_ref()),
            ));
        }
    }
    let computes: Vec<&str> = spec
        .compute
        .iter()
        .map(|c| c.name.get_ref().as_str())
        .collect();

    let mut config = Config {
        asn: spec.contrail.asn,
        control_nodes: spec
            .contrail
            .control_nodes
            .iter()
            .map(|c| ControlNode {
                name: c.name.clone(),
                ip: c.ip,
            })
            .collect(),
        ..Config::default()
    };
    for c in &spec.compute {
        config.computes.push(ComputeConfig {
            name: c.name.get_ref().clone(),
            ip: c.ip,
            mac: l.mac(&c.mac)?,
            fabric_if: c.fabric_if.clone(),
            vhost_receive_nh: c.pin.vhost_receive_nh,
            tunnel_nh: c.pin.tunnel_nh.clone(),
        });
    }
    for n in &spec.network {
        let subnet = n.subnet.get_ref().trunc();
        let mut net = NetworkConfig::new(n.name.get_ref(), subnet, n.vxlan_id);
        if let Some(f) = &n.fq_name {
            net.fq_name = f.clone();
        }
        net.rpf = n.rpf;
        net.allow_transit = n.allow_transit;
        for (slot, given, what) in [
            (&mut net.gateway_ip, &n.gateway, "gateway"),
            (&mut net.dns_ip, &n.dns, "DNS"),
        ] {
            if let Some(ip) = given {
                if !subnet.contains(ip.get_ref()) {
                    return Err(l.at(
                        Some(ip.span()),
                        format!("{what} address {} is outside {subnet}", ip.get_ref()),
                    ));
                }
                *slot = *ip.get_ref();
            }
        }
        net.pins = NetworkPins {
            vrf: n.pin.vrf,
            receive_nh: n.pin.receive_nh,
            l2_receive_nh: n.pin.l2_receive_nh,
            vxlan_nh: n.pin.vxlan_nh,
        };
        config.networks.push(net);
    }
    let mut pinned: BTreeMap<(String, &str, u32), String> = BTreeMap::new();
    for v in &spec.vm {
        let Some(net) = nets.get(v.network.get_ref()) else {
            return Err(l.at(
                Some(v.network.span()),
                format!(
                    "VM {} is on network {}, which does not exist",
                    v.name.get_ref(),
                    v.network.get_ref()
                ),
            ));
        };
        if !computes.contains(&v.compute.get_ref().as_str()) {
            return Err(l.at(
                Some(v.compute.span()),
                format!(
                    "VM {} is on compute node {}, which does not exist",
                    v.name.get_ref(),
                    v.compute.get_ref()
                ),
            ));
        }
        let subnet = net.subnet.get_ref().trunc();
        if !subnet.contains(v.ip.get_ref()) {
            return Err(l.at(
                Some(v.ip.span()),
                format!(
                    "VM {}'s address {} is outside {subnet}",
                    v.name.get_ref(),
                    v.ip.get_ref()
                ),
            ));
        }
        let pins = [
            (
                "vif",
                v.pin
                    .vif
                    .as_ref()
                    .map(|p| (u32::from(*p.get_ref()), p.span())),
            ),
            ("nh", v.pin.nh.as_ref().map(|p| (*p.get_ref(), p.span()))),
            ("nh", v.pin.l2_nh.as_ref().map(|p| (*p.get_ref(), p.span()))),
            (
                "label",
                v.pin.label.as_ref().map(|p| (*p.get_ref(), p.span())),
            ),
        ];
        for (kind, pin) in pins {
            let Some((id, span)) = pin else { continue };
            if let Some(first) = pinned.insert(
                (v.compute.get_ref().clone(), kind, id),
                v.name.get_ref().clone(),
            ) {
                return Err(l.at(
                    Some(span),
                    format!(
                        "{kind} {id} on {} is pinned by both {first} and {}",
                        v.compute.get_ref(),
                        v.name.get_ref()
                    ),
                ));
            }
        }
        let mac = l.mac(&v.mac)?;
        config.ports.push(PortConfig {
            name: v.name.get_ref().clone(),
            network: v.network.get_ref().clone(),
            compute: v.compute.get_ref().clone(),
            ip: *v.ip.get_ref(),
            mac,
            tap: v
                .tap
                .clone()
                .unwrap_or_else(|| PortConfig::default_tap(mac)),
            mtu: v.mtu,
            pins: PortPins {
                vif: v.pin.vif.as_ref().map(|p| *p.get_ref()),
                nh: v.pin.nh.as_ref().map(|p| *p.get_ref()),
                l2_nh: v.pin.l2_nh.as_ref().map(|p| *p.get_ref()),
                label: v.pin.label.as_ref().map(|p| *p.get_ref()),
                bridge_index: v.pin.bridge_index,
            },
        });
    }
    for b in &spec.bgpaas {
        let Some(vm) = spec.vm.iter().find(|v| v.name.get_ref() == b.vm.get_ref()) else {
            return Err(l.at(
                Some(b.vm.span()),
                format!(
                    "BGPaaS {} names VM {}, which does not exist",
                    b.name.get_ref(),
                    b.vm.get_ref()
                ),
            ));
        };
        let net = config.network(vm.network.get_ref());
        for p in &b.peers {
            if net.is_some_and(|n| *p.get_ref() != n.gateway_ip && *p.get_ref() != n.dns_ip) {
                return Err(l.at(Some(p.span()), format!("BGPaaS {} peers with {}, which is neither its network's gateway nor DNS address", b.name.get_ref(), p.get_ref())));
            }
        }
        config.bgpaas.push(BgpaasConfig {
            name: b.name.get_ref().clone(),
            port: b.vm.get_ref().clone(),
            asn: b.asn,
            peers: b.peers.iter().map(|p| *p.get_ref()).collect(),
        });
    }
    let mut gateways = Vec::new();
    for g in &spec.gateway {
        let mut vrfs = Vec::new();
        let mut labels = BTreeMap::new();
        for v in &g.vrf {
            if !nets.contains_key(v.network.get_ref()) {
                return Err(l.at(
                    Some(v.network.span()),
                    format!(
                        "gateway VRF {} is bound to network {}, which does not exist",
                        v.name,
                        v.network.get_ref()
                    ),
                ));
            }
            if !(16..1 << 20).contains(v.label.get_ref()) {
                return Err(l.at(
                    Some(v.label.span()),
                    format!("label {} is outside 16..1048575", v.label.get_ref()),
                ));
            }
            vrfs.push(GatewayVrf {
                name: v.name.clone(),
                network: v.network.get_ref().clone(),
                label: *v.label.get_ref(),
                default_route: v.default_route,
            });
            labels.insert(v.name.clone(), *v.label.get_ref());
        }
        let fabric_mac = l.mac(&g.fabric_mac)?;
        config.gateways.push(GatewayConfig {
            name: g.name.get_ref().clone(),
            ip: g.fabric_ip,
            mac: fabric_mac,
            vrfs,
        });
        let mut ports = Vec::new();
        for p in &g.port {
            ports.push(GwPort {
                name: p.name.clone(),
                addr: *p.ip.get_ref(),
                mac: l.mac(&p.mac)?,
            });
        }
        let mut tunnels = BTreeMap::new();
        for (i, c) in config.computes.iter().enumerate() {
            let unit = format!("gr-0/0/10.{}", g.tunnel_unit_base.saturating_add(i as u32));
            tunnels.insert(c.name.clone(), (unit, c.mac));
        }
        gateways.push(Gateway::new(
            g.name.get_ref(),
            (g.fabric_port.clone(), g.fabric_ip, fabric_mac),
            ports,
            labels,
            tunnels,
        ));
    }

    let unplaced = |e: ControlError| l.at(None, e.to_string());
    let mut control = Controller::new(config).map_err(unplaced)?;
    for b in spec.bgpaas.iter().filter(|b| b.up) {
        let vm_ip = spec
            .vm
            .iter()
            .find(|v| v.name.get_ref() == b.vm.get_ref())
            .map(|v| *v.ip.get_ref());
        for peer in &b.peers {
            let (bgpaas, peer) = (b.name.get_ref().clone(), *peer.get_ref());
            control
                .apply(Event::SessionUp {
                    bgpaas: bgpaas.clone(),
                    peer,
                })
                .map_err(unplaced)?;
            for r in &b.route {
                let next_hop = r.next_hop.or(vm_ip).unwrap_or(Ipv4Addr::UNSPECIFIED);
                let ebgp = b.asn != spec.contrail.asn;
                let mut attrs = PathAttrs::new(
                    next_hop,
                    r.as_path
                        .clone()
                        .unwrap_or_else(|| if ebgp { vec![b.asn] } else { Vec::new() }),
                );
                attrs.origin = match r.origin {
                    OriginSpec::Igp => Origin::Igp,
                    OriginSpec::Egp => Origin::Egp,
                    OriginSpec::Incomplete => Origin::Incomplete,
                };
                attrs.local_pref = r.local_pref.unwrap_or(100);
                attrs.med = r.med.unwrap_or(0);
                control
                    .apply(Event::Advertise {
                        bgpaas: bgpaas.clone(),
                        peer,
                        prefix: r.prefix,
                        attrs,
                    })
                    .map_err(unplaced)?;
            }
        }
    }

    // Hosts: the VMs behind their taps, then the end hosts and their links.
    let mut hosts = BTreeMap::new();
    let mut links = Vec::new();
    for v in &spec.vm {
        let net = &nets[v.network.get_ref()];
        let addr = Ipv4Net::new(*v.ip.get_ref(), net.subnet.get_ref().prefix_len())
            .map_err(|e| l.at(Some(v.ip.span()), e.to_string()))?;
        let eth0 = Iface {
            name: "eth0".into(),
            mac: l.mac(&v.mac)?,
            addr: Some(addr),
            proxy_arp: false,
        };
        let mut h = Host::new(v.name.get_ref(), HostKind::Vm, vec![eth0]);
        for r in l.routes(&v.routes)? {
            h.add_route(r);
        }
        let vif = control
            .node_ids(v.compute.get_ref())
            .and_then(|ids| ids.ports.get(v.name.get_ref()))
            .map(|p| p.vif)
            .ok_or_else(|| l.at(Some(v.name.span()), "the agent gave this VM no tap"))?;
        links.push((
            PortRef::new(v.name.get_ref(), "eth0"),
            PortRef::new(v.compute.get_ref(), &format!("vif0/{vif}")),
        ));
        hosts.insert(v.name.get_ref().clone(), h);
    }
    for h in &spec.host {
        let (dev, port) = h.link.get_ref().split_once(':').ok_or_else(|| {
            l.at(
                Some(h.link.span()),
                format!("link {:?} is not DEVICE:PORT", h.link.get_ref()),
            )
        })?;
        match devices.get(dev).copied() {
            None => {
                return Err(l.at(
                    Some(h.link.span()),
                    format!(
                        "host {} links to {dev}, which does not exist",
                        h.name.get_ref()
                    ),
                ));
            }
            Some("VM") => {
                let vm = hosts
                    .get_mut(dev)
                    .ok_or_else(|| l.at(Some(h.link.span()), "VM without a host"))?;
                if vm.iface(port).is_some() {
                    return Err(l.at(
                        Some(h.link.span()),
                        format!("{dev}:{port} is already in use"),
                    ));
                }
                vm.ifaces.push(Iface {
                    name: port.to_owned(),
                    mac: CALICO_VETH_MAC,
                    addr: None,
                    proxy_arp: true,
                });
            }
            Some("gateway") => {
                let g = spec.gateway.iter().find(|g| g.name.get_ref() == dev);
                if g.is_none_or(|g| !g.port.iter().any(|p| p.name == port)) {
                    return Err(l.at(
                        Some(h.link.span()),
                        format!("gateway {dev} has no port {port}"),
                    ));
                }
            }
            Some(kind) => {
                return Err(l.at(
                    Some(h.link.span()),
                    format!("host {} cannot link to {kind} {dev}", h.name.get_ref()),
                ));
            }
        }
        let ip = *h.ip.get_ref();
        let mac = match &h.mac {
            Some(m) => l.mac(m)?,
            None => {
                let o = ip.addr().octets();
                MacAddr::new(0x02, 0x42, o[0], o[1], o[2], o[3])
            }
        };
        let eth0 = Iface {
            name: "eth0".into(),
            mac,
            addr: Some(ip),
            proxy_arp: false,
        };
        let mut host = Host::new(h.name.get_ref(), HostKind::End, vec![eth0]);
        for r in l.routes(&h.routes)? {
            host.add_route(r);
        }
        links.push((
            PortRef::new(h.name.get_ref(), "eth0"),
            PortRef::new(dev, port),
        ));
        hosts.insert(h.name.get_ref().clone(), host);
    }
    Fabric::new(
        &spec.name,
        control,
        hosts.into_values().collect(),
        gateways,
        links,
    )
    .map_err(|e| match e {
        FabricError::Control(c) => unplaced(c),
        other => l.at(None, other.to_string()),
    })
}
