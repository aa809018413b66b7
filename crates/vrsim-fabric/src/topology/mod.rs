//! Scenario files: TOML topologies (schema version 1), loaded into a
//! [`Fabric`]. Every error names the line and column of the offending value.
//!
//! The schema, table by table (the scenarios in the repository's `scenarios/` are full examples):
//!
//! | table | keys |
//! |---|---|
//! | top level | `version = 1`, `name`, `description` |
//! | `[contrail]` | `asn`, `control_nodes = [{ name, ip }]` |
//! | `[[gateway]]` | `name`, `fabric_ip`, `fabric_mac`, `fabric_port` (`ge-0/0/0`), `tunnel_unit_base` (32769); `[[gateway.port]]` `name`, `ip` (`A.B.C.D/L`), `ip6` (`X::Y/L`, optional), `mac`; `[[gateway.vrf]]` `name`, `network`, `label`, `default_route` (true, `::/0` too on a dual-stack network) |
//! | `[[compute]]` | `name`, `ip`, `mac`, `fabric_if` (`eth1`); `[compute.pin]` `vhost_receive_nh`, `tunnel_nh = { ENDPOINT = ID }` |
//! | `[[network]]` | `name`, `fq_name`, `subnet`, `vxlan_id`, `rpf` (true), `allow_transit` (false), `forwarding_mode` (`l2_l3` or `l3`), `gateway`, `dns` (.1, .2); dual-stack: `subnet6`, `gateway6`, `dns6` (`::1`, `::2`); `[network.pin]` `vrf`, `receive_nh`, `l2_receive_nh`, `vxlan_nh` |
//! | `[[vm]]` | `name`, `network`, `compute`, `ip`, `ip6` (on a dual-stack network), `mac`, `tap`, `mtu` (9160), `routes` (Linux `ip route` and `ip -6 route` lines); `[vm.pin]` `vif`, `nh`, `l2_nh`, `label`, `bridge_index` |
//! | `[[bgpaas]]` | `name`, `vm`, `asn`, `peers`, `up` (true); `[[bgpaas.route]]` `prefix` (IPv4 or IPv6, carried over the same session), `next_hop` (the VM's address of the prefix's family; `::ffff:` and its IPv4 address when it has no IPv6 one), `as_path` (`[asn]` for eBGP, `[]` for iBGP), `origin` (`igp`), `local_pref` (100), `med` (0) |
//! | `[[host]]` | end hosts: `name`, `ip` (`A.B.C.D/L`), `ip6` (`X::Y/L`, optional), `mac`, `link` (`DEVICE:PORT`), `routes` |
//!
//! A host linked to `VM:IFACE` gives the VM a Calico veth `IFACE` (MAC
//! `ee:ee:ee:ee:ee:ee`, proxy ARP, link-local `fe80::ecee:eeff:feee:eeee`); VMs are linked to their compute node's
//! tap, and compute nodes and gateways to the underlay, without links.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Range;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use toml::Spanned;
use vrsim_control::bgp::{Origin, PathAttrs};
use vrsim_control::config::*;
use vrsim_control::policy::{Endpoint, PolicyConfig, PolicyRule, RuleParseError};
use vrsim_control::{ControlError, Controller, Event};
use vrsim_dataplane::nexthop::TunnelEncap;
use vrsim_wire::MacAddr;

use crate::device::PortRef;
use crate::error::FabricError;
use crate::fabric::Fabric;
use crate::gateway::{Gateway, GwPort};
use crate::host::{CALICO_VETH_LL, CALICO_VETH_MAC, Host, HostKind, Iface, LinuxRoute};

/// The schema version this crate reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A scenario file that cannot be loaded. It prints as `file:line:column:
/// message`, or `file: message` when the error has no place in the file
/// (the file cannot be read; the control plane refuses the whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
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

impl TopologyError {
    fn render(&self) -> String {
        match self.line {
            0 => format!("{}: {}", self.file, self.message),
            line => format!("{}:{line}:{}: {}", self.file, self.column, self.message),
        }
    }
}

pub mod generate;
mod spec;

use spec::*;

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

    /// A list of encapsulation names (`default` when absent): each one of
    /// `allowed` (spelled as Contrail does), none twice.
    fn encaps(
        &self,
        list: Option<&Spanned<Vec<String>>>,
        default: &[TunnelEncap],
        what: &str,
    ) -> Result<Vec<TunnelEncap>, TopologyError> {
        let Some(list) = list else {
            return Ok(default.to_vec());
        };
        let allowed: &[TunnelEncap] = if default.len() == 1 {
            &vrsim_control::encap::MPLS
        } else {
            &vrsim_control::encap::ALL
        };
        let mut out = Vec::new();
        for name in list.get_ref() {
            let e = vrsim_control::encap::parse(name)
                .filter(|e| allowed.contains(e))
                .ok_or_else(|| {
                    let names: Vec<&str> = allowed.iter().map(|e| e.name()).collect();
                    self.at(
                        Some(list.span()),
                        format!("{what}: {name:?} is not one of {}", names.join(", ")),
                    )
                })?;
            if out.contains(&e) {
                return Err(self.at(Some(list.span()), format!("{what}: {name} is given twice")));
            }
            out.push(e);
        }
        Ok(out)
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
///
/// The file is read table by table, each checked against what came before:
/// device names, networks, compute nodes, VM ports, BGPaaS sessions and
/// gateways make the control plane's configuration; the sessions marked up
/// are brought up with their routes; then the VMs and end hosts become Linux
/// hosts joined by links, and the fabric is built.
pub fn load(file: &str, text: &str) -> Result<Fabric, TopologyError> {
    let l = Loader { file, text };
    let spec: FileSpec =
        toml::from_str(text).map_err(|e| l.at(e.span(), e.message().to_owned()))?;
    l.version(&spec)?;
    let devices = l.device_names(&spec)?;
    let nets = l.network_specs(&spec)?;
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
        encap_priority: l.encaps(
            spec.contrail.encapsulation_priorities.as_ref(),
            &vrsim_control::encap::CONTRAIL_DEFAULT,
            "the encapsulation priority",
        )?,
        ..Config::default()
    };
    l.computes(&spec, &mut config)?;
    l.networks(&spec, &mut config)?;
    l.vm_ports(&spec, &nets, &mut config)?;
    l.bgpaas(&spec, &mut config)?;
    l.policies(&spec, &mut config)?;
    let gateways = l.gateways(&spec, &nets, &mut config)?;
    // The configuration's own errors come before the sessions' (the
    // controller validates the configuration before taking the events).
    let control = match l.session_events(&spec) {
        Ok(events) => Controller::with_events(config, events).map_err(|e| l.unplaced(e))?,
        Err(e) => {
            config.validate().map_err(|e| l.unplaced(e))?;
            return Err(e);
        }
    };
    let (mut hosts, mut links) = l.vm_hosts(&spec, &nets, &control)?;
    l.end_hosts(&spec, &devices, &mut hosts, &mut links)?;
    let mut fabric = Fabric::new(
        &spec.name,
        control,
        hosts.into_values().collect(),
        gateways,
        links,
    )
    .map_err(|e| match e {
        FabricError::Control { source } => l.unplaced(source),
        other => l.at(None, other.to_string()),
    })?;
    fabric.set_description(&spec.description);
    Ok(fabric)
}

/// The networks of a file by name.
type Networks<'s> = BTreeMap<String, &'s NetworkSpec>;
/// Hosts by name, and the links joining them to the devices.
type Hosts = (BTreeMap<String, Host>, Vec<(PortRef, PortRef)>);

impl<'s> Loader<'_> {
    /// A control-plane error, which has no place in the file.
    fn unplaced(&self, e: ControlError) -> TopologyError {
        self.at(None, e.to_string())
    }

    fn version(&self, spec: &FileSpec) -> Result<(), TopologyError> {
        if *spec.version.get_ref() == SCHEMA_VERSION {
            return Ok(());
        }
        Err(self.at(
            Some(spec.version.span()),
            format!(
                "schema version {} is not supported (this vrsim reads version {SCHEMA_VERSION})",
                spec.version.get_ref()
            ),
        ))
    }

    /// Every device name, with its kind: names are unique across devices
    /// (they name link ends) and none is the underlay's.
    fn device_names(
        &self,
        spec: &FileSpec,
    ) -> Result<BTreeMap<String, &'static str>, TopologyError> {
        let mut devices = BTreeMap::new();
        let named = spec
            .gateway
            .iter()
            .map(|g| (&g.name, "gateway"))
            .chain(spec.compute.iter().map(|c| (&c.name, "compute node")))
            .chain(spec.vm.iter().map(|v| (&v.name, "VM")))
            .chain(spec.host.iter().map(|h| (&h.name, "host")));
        for (name, kind) in named {
            if name.get_ref() == crate::fabric::UNDERLAY {
                return Err(self.at(
                    Some(name.span()),
                    format!("{:?} is the underlay's name", name.get_ref()),
                ));
            }
            if let Some(first) = devices.insert(name.get_ref().clone(), kind) {
                return Err(self.at(
                    Some(name.span()),
                    format!("{kind} {} has the name of a {first}", name.get_ref()),
                ));
            }
        }
        Ok(devices)
    }

    /// The `[[network]]` tables by name, each defined once.
    fn network_specs(&self, spec: &'s FileSpec) -> Result<Networks<'s>, TopologyError> {
        let mut nets = BTreeMap::new();
        for n in &spec.network {
            if nets.insert(n.name.get_ref().clone(), n).is_some() {
                return Err(self.at(
                    Some(n.name.span()),
                    format!("network {} is defined twice", n.name.get_ref()),
                ));
            }
        }
        Ok(nets)
    }

    /// `[[compute]]`: the compute nodes.
    fn computes(&self, spec: &FileSpec, config: &mut Config) -> Result<(), TopologyError> {
        for c in &spec.compute {
            config.computes.push(ComputeConfig {
                name: c.name.get_ref().clone(),
                ip: c.ip,
                mac: self.mac(&c.mac)?,
                fabric_if: c.fabric_if.clone(),
                vhost_receive_nh: c.pin.vhost_receive_nh,
                tunnel_nh: c.pin.tunnel_nh.clone(),
            });
        }
        Ok(())
    }

    /// `[[network]]`: the virtual networks, their gateway and DNS addresses inside the subnet.
    fn networks(&self, spec: &FileSpec, config: &mut Config) -> Result<(), TopologyError> {
        for n in &spec.network {
            let subnet = n.subnet.get_ref().trunc();
            let mut net = NetworkConfig::new(n.name.get_ref(), subnet, n.vxlan_id);
            if let Some(f) = &n.fq_name {
                net.fq_name = f.clone();
            }
            net.rpf = n.rpf;
            net.allow_transit = n.allow_transit;
            if let Some(mode) = &n.forwarding_mode {
                net.forwarding_mode = match mode.get_ref().as_str() {
                    "l2_l3" => ForwardingMode::L2L3,
                    "l3" => ForwardingMode::L3,
                    "l2" => {
                        return Err(self.at(
                            Some(mode.span()),
                            "forwarding mode l2 (bridged only) needs flooding, which vrsim does not model; use l2_l3 or l3",
                        ));
                    }
                    other => {
                        return Err(self.at(
                            Some(mode.span()),
                            format!("forwarding mode {other:?} is not one of l2_l3, l3"),
                        ));
                    }
                };
            }
            for (slot, given, what) in [
                (&mut net.gateway_ip, &n.gateway, "gateway"),
                (&mut net.dns_ip, &n.dns, "DNS"),
            ] {
                if let Some(ip) = given {
                    if !subnet.contains(ip.get_ref()) {
                        return Err(self.at(
                            Some(ip.span()),
                            format!("{what} address {} is outside {subnet}", ip.get_ref()),
                        ));
                    }
                    *slot = *ip.get_ref();
                }
            }
            net.subnet6 = self.subnet6(n)?;
            net.pins = NetworkPins {
                vrf: n.pin.vrf,
                receive_nh: n.pin.receive_nh,
                l2_receive_nh: n.pin.l2_receive_nh,
                vxlan_nh: n.pin.vxlan_nh,
            };
            config.networks.push(net);
        }
        Ok(())
    }

    /// A network's IPv6 subnet with its gateway and DNS addresses (`::1`,
    /// `::2` unless given, inside the subnet); `gateway6` or `dns6` without
    /// `subnet6` is an error.
    fn subnet6(&self, n: &NetworkSpec) -> Result<Option<Subnet6>, TopologyError> {
        let Some(subnet) = &n.subnet6 else {
            if let Some(given) = n.gateway6.as_ref().or(n.dns6.as_ref()) {
                return Err(self.at(
                    Some(given.span()),
                    format!(
                        "network {} has an IPv6 gateway or DNS address but no subnet6",
                        n.name.get_ref()
                    ),
                ));
            }
            return Ok(None);
        };
        let mut s6 = Subnet6::new(*subnet.get_ref());
        for (slot, given, what) in [
            (&mut s6.gateway_ip, &n.gateway6, "IPv6 gateway"),
            (&mut s6.dns_ip, &n.dns6, "IPv6 DNS"),
        ] {
            if let Some(ip) = given {
                if !s6.subnet.contains(ip.get_ref()) {
                    return Err(self.at(
                        Some(ip.span()),
                        format!("{what} address {} is outside {}", ip.get_ref(), s6.subnet),
                    ));
                }
                *slot = *ip.get_ref();
            }
        }
        Ok(Some(s6))
    }

    /// `[[vm]]`: the VM ports, on existing networks and compute nodes, with
    /// addresses inside their subnets and ids pinned by one VM at most.
    fn vm_ports(
        &self,
        spec: &FileSpec,
        nets: &Networks<'_>,
        config: &mut Config,
    ) -> Result<(), TopologyError> {
        let mut pinned: BTreeMap<(String, &str, u32), String> = BTreeMap::new();
        for v in &spec.vm {
            self.vm_place(spec, nets, v)?;
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
                    return Err(self.at(
                        Some(span),
                        format!(
                            "{kind} {id} on {} is pinned by both {first} and {}",
                            v.compute.get_ref(),
                            v.name.get_ref()
                        ),
                    ));
                }
            }
            let mac = self.mac(&v.mac)?;
            config.ports.push(PortConfig {
                name: v.name.get_ref().clone(),
                network: v.network.get_ref().clone(),
                compute: v.compute.get_ref().clone(),
                ip: *v.ip.get_ref(),
                ip6: v.ip6.as_ref().map(|a| *a.get_ref()),
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
        Ok(())
    }

    /// A VM's network and compute node exist, and its address is in the network's subnet.
    fn vm_place(
        &self,
        spec: &FileSpec,
        nets: &Networks<'_>,
        v: &VmSpec,
    ) -> Result<(), TopologyError> {
        let Some(net) = nets.get(v.network.get_ref()) else {
            return Err(self.at(
                Some(v.network.span()),
                format!(
                    "VM {} is on network {}, which does not exist",
                    v.name.get_ref(),
                    v.network.get_ref()
                ),
            ));
        };
        if !spec
            .compute
            .iter()
            .any(|c| c.name.get_ref() == v.compute.get_ref())
        {
            return Err(self.at(
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
            return Err(self.at(
                Some(v.ip.span()),
                format!(
                    "VM {}'s address {} is outside {subnet}",
                    v.name.get_ref(),
                    v.ip.get_ref()
                ),
            ));
        }
        if let Some(ip6) = &v.ip6 {
            let inside = net.subnet6.as_ref().map(|s| s.get_ref().trunc());
            let why = match inside {
                None => format!("network {} has no subnet6", v.network.get_ref()),
                Some(s6) if !s6.contains(ip6.get_ref()) => format!("it is outside {s6}"),
                Some(_) => return Ok(()),
            };
            return Err(self.at(
                Some(ip6.span()),
                format!(
                    "VM {}'s IPv6 address {}: {why}",
                    v.name.get_ref(),
                    ip6.get_ref()
                ),
            ));
        }
        Ok(())
    }

    /// `[[bgpaas]]`: sessions of existing VMs with their network's gateway or DNS address.
    fn bgpaas(&self, spec: &FileSpec, config: &mut Config) -> Result<(), TopologyError> {
        for b in &spec.bgpaas {
            let Some(vm) = spec.vm.iter().find(|v| v.name.get_ref() == b.vm.get_ref()) else {
                return Err(self.at(
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
                    return Err(self.at(
                        Some(p.span()),
                        format!(
                            "BGPaaS {} peers with {}, which is neither its network's gateway nor DNS address",
                            b.name.get_ref(),
                            p.get_ref()
                        ),
                    ));
                }
            }
            config.bgpaas.push(BgpaasConfig {
                name: b.name.get_ref().clone(),
                port: b.vm.get_ref().clone(),
                asn: b.asn,
                peers: b.peers.iter().map(|p| *p.get_ref()).collect(),
            });
        }
        Ok(())
    }

    /// `[[policy]]`: each rule parsed, every network it names known.
    fn policies(&self, spec: &FileSpec, config: &mut Config) -> Result<(), TopologyError> {
        for p in &spec.policy {
            let name = p.name.get_ref();
            let known = |n: &str| config.network(n).is_some();
            let mut rules = Vec::new();
            for r in &p.rules {
                let rule: PolicyRule = r.get_ref().parse().map_err(|e: RuleParseError| {
                    self.at(Some(r.span()), format!("policy {name}: {e}"))
                })?;
                for e in [&rule.src, &rule.dst] {
                    if let Endpoint::Network(n) = e
                        && !known(n)
                    {
                        return Err(self.at(
                            Some(r.span()),
                            format!("policy {name} names network {n}, which does not exist"),
                        ));
                    }
                }
                rules.push(rule);
            }
            for n in &p.networks {
                if !known(n.get_ref()) {
                    return Err(self.at(
                        Some(n.span()),
                        format!(
                            "policy {name} is attached to network {}, which does not exist",
                            n.get_ref()
                        ),
                    ));
                }
            }
            config.policies.push(PolicyConfig {
                name: name.clone(),
                networks: p.networks.iter().map(|n| n.get_ref().clone()).collect(),
                rules,
            });
        }
        Ok(())
    }

    /// `[[gateway]]`: each gateway's configuration for the control node,
    /// and the gateway device with its ports, VRF labels and one dynamic
    /// tunnel unit per compute node.
    fn gateways(
        &self,
        spec: &FileSpec,
        nets: &Networks<'_>,
        config: &mut Config,
    ) -> Result<Vec<Gateway>, TopologyError> {
        let mut gateways = Vec::new();
        for g in &spec.gateway {
            let (vrfs, labels) = self.gateway_vrfs(g, nets)?;
            let fabric_mac = self.mac(&g.fabric_mac)?;
            config.gateways.push(GatewayConfig {
                name: g.name.get_ref().clone(),
                ip: g.fabric_ip,
                mac: fabric_mac,
                vrfs,
                encaps: self.encaps(
                    g.encapsulations.as_ref(),
                    &vrsim_control::encap::MPLS[..1],
                    "a gateway's encapsulations",
                )?,
            });
            let mut ports = Vec::new();
            for p in &g.port {
                ports.push(GwPort {
                    name: p.name.clone(),
                    addr: *p.ip.get_ref(),
                    addr6: p.ip6.as_ref().map(|a| *a.get_ref()),
                    mac: self.mac(&p.mac)?,
                });
            }
            let mut tunnels = BTreeMap::new();
            for (i, c) in config.computes.iter().enumerate() {
                let unit = format!("gr-0/0/10.{}", g.tunnel_unit_base.saturating_add(i as u32));
                tunnels.insert(c.name.clone(), (unit, c.mac));
            }
            let mut gateway = Gateway::new(
                g.name.get_ref(),
                (g.fabric_port.clone(), g.fabric_ip, fabric_mac),
                ports,
                labels,
                tunnels,
            );
            // Its tunnels take what the encapsulation priority chooses
            // among those it supports, both ways.
            if let Some(choice) = vrsim_control::encap::layer3(config, g.name.get_ref()) {
                gateway.encap = choice.encap;
                gateway.encap_why = Some(choice.to_string());
            }
            if let Some(gc) = config.gateways.last() {
                gateway.encaps = vrsim_control::encap::gateway_offers(gc);
            }
            gateways.push(gateway);
        }
        Ok(gateways)
    }

    /// `[[gateway.vrf]]`: VRFs bound to existing networks, with labels in the MPLS range.
    fn gateway_vrfs(
        &self,
        g: &GatewaySpec,
        nets: &Networks<'_>,
    ) -> Result<(Vec<GatewayVrf>, BTreeMap<String, u32>), TopologyError> {
        let mut vrfs = Vec::new();
        let mut labels = BTreeMap::new();
        for v in &g.vrf {
            if !nets.contains_key(v.network.get_ref()) {
                return Err(self.at(
                    Some(v.network.span()),
                    format!(
                        "gateway VRF {} is bound to network {}, which does not exist",
                        v.name,
                        v.network.get_ref()
                    ),
                ));
            }
            if !(16..1 << 20).contains(v.label.get_ref()) {
                return Err(self.at(
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
        Ok((vrfs, labels))
    }

    /// The events that bring up the BGPaaS sessions marked up, each
    /// advertising its routes: one batch, so that the vRouters are
    /// programmed once, for the result.
    fn session_events(&self, spec: &FileSpec) -> Result<Vec<Event>, TopologyError> {
        let vms: std::collections::HashMap<&String, &VmSpec> = spec
            .vm
            .iter()
            .rev()
            .map(|v| (v.name.get_ref(), v))
            .collect();
        let mut events = Vec::new();
        for b in spec.bgpaas.iter().filter(|b| b.up) {
            let vm = vms.get(b.vm.get_ref()).copied();
            for peer in &b.peers {
                let (bgpaas, peer) = (b.name.get_ref().clone(), *peer.get_ref());
                events.push(Event::SessionUp {
                    bgpaas: bgpaas.clone(),
                    peer,
                });
                for r in &b.route {
                    let next_hop = self.route_next_hop(r, vm, b)?;
                    events.push(Event::Advertise {
                        bgpaas: bgpaas.clone(),
                        peer,
                        prefix: r.prefix,
                        attrs: path_attrs(r, next_hop, b.asn, spec.contrail.asn),
                    });
                }
            }
        }
        Ok(events)
    }

    /// A BGPaaS route's next hop: the one given, of the prefix's family (an
    /// IPv4 address for an IPv6 prefix is taken mapped into IPv6, as RFC
    /// 4798 writes an IPv4 speaker's address; an IPv6 one for an IPv4
    /// prefix would need RFC 8950 and is refused), else the VM's own.
    fn route_next_hop(
        &self,
        r: &BgpRouteSpec,
        vm: Option<&VmSpec>,
        b: &BgpaasSpec,
    ) -> Result<IpAddr, TopologyError> {
        let Some(given) = &r.next_hop else {
            return vm.map(|v| default_next_hop(v, r.prefix)).ok_or_else(|| {
                self.at(
                    Some(b.vm.span()),
                    "a BGPaaS route without a VM to come from",
                )
            });
        };
        match (r.prefix, *given.get_ref()) {
            (IpNet::V6(_), IpAddr::V4(a)) => Ok(a.to_ipv6_mapped().into()),
            (IpNet::V4(p), IpAddr::V6(a)) => Err(self.at(
                Some(given.span()),
                format!(
                    "BGPaaS {}'s route {p} has the IPv6 next hop {a}: an IPv4 route needs an IPv4 next hop",
                    b.name.get_ref()
                ),
            )),
            (_, a) => Ok(a),
        }
    }

    /// The VMs as Linux hosts, each linked to its tap on its compute node.
    fn vm_hosts(
        &self,
        spec: &FileSpec,
        nets: &Networks<'_>,
        control: &Controller,
    ) -> Result<Hosts, TopologyError> {
        let mut hosts = BTreeMap::new();
        let mut links = Vec::new();
        for v in &spec.vm {
            let net = &nets[v.network.get_ref()];
            let addr = Ipv4Net::new(*v.ip.get_ref(), net.subnet.get_ref().prefix_len())
                .map_err(|e| self.at(Some(v.ip.span()), e.to_string()))?;
            let addr6 = match (&v.ip6, &net.subnet6) {
                (Some(a), Some(s6)) => Some(
                    Ipv6Net::new(*a.get_ref(), s6.get_ref().prefix_len())
                        .map_err(|e| self.at(Some(a.span()), e.to_string()))?,
                ),
                _ => None,
            };
            let eth0 = Iface {
                addr6,
                ..Iface::new("eth0", self.mac(&v.mac)?, Some(addr))
            };
            let mut h = Host::new(v.name.get_ref(), HostKind::Vm, vec![eth0]);
            for r in self.routes(&v.routes)? {
                h.add_route(r);
            }
            let vif = control
                .node_ids(v.compute.get_ref())
                .and_then(|ids| ids.ports.get(v.name.get_ref()))
                .map(|p| p.vif)
                .ok_or_else(|| self.at(Some(v.name.span()), "the agent gave this VM no tap"))?;
            links.push((
                PortRef::new(v.name.get_ref(), "eth0"),
                PortRef::new(v.compute.get_ref(), &format!("vif0/{vif}")),
            ));
            hosts.insert(v.name.get_ref().clone(), h);
        }
        Ok((hosts, links))
    }

    /// `[[host]]`: end hosts, each linked to a gateway port or to a VM (which
    /// gets a Calico veth for it).
    fn end_hosts(
        &self,
        spec: &FileSpec,
        devices: &BTreeMap<String, &'static str>,
        hosts: &mut BTreeMap<String, Host>,
        links: &mut Vec<(PortRef, PortRef)>,
    ) -> Result<(), TopologyError> {
        for h in &spec.host {
            let (dev, port) = h.link.get_ref().split_once(':').ok_or_else(|| {
                self.at(
                    Some(h.link.span()),
                    format!("link {:?} is not DEVICE:PORT", h.link.get_ref()),
                )
            })?;
            self.host_link(spec, devices, hosts, h, dev, port)?;
            let ip = *h.ip.get_ref();
            let mac = match &h.mac {
                Some(m) => self.mac(m)?,
                None => {
                    let o = ip.addr().octets();
                    MacAddr::new(0x02, 0x42, o[0], o[1], o[2], o[3])
                }
            };
            let eth0 = Iface {
                addr6: h.ip6.as_ref().map(|a| *a.get_ref()),
                ..Iface::new("eth0", mac, Some(ip))
            };
            let mut host = Host::new(h.name.get_ref(), HostKind::End, vec![eth0]);
            for r in self.routes(&h.routes)? {
                host.add_route(r);
            }
            links.push((
                PortRef::new(h.name.get_ref(), "eth0"),
                PortRef::new(dev, port),
            ));
            hosts.insert(h.name.get_ref().clone(), host);
        }
        Ok(())
    }

    /// Check the far end `dev:port` of end host `h`'s link, and give a VM
    /// the Calico veth the link needs.
    fn host_link(
        &self,
        spec: &FileSpec,
        devices: &BTreeMap<String, &'static str>,
        hosts: &mut BTreeMap<String, Host>,
        h: &HostSpec,
        dev: &str,
        port: &str,
    ) -> Result<(), TopologyError> {
        let here = Some(h.link.span());
        match devices.get(dev).copied() {
            None => Err(self.at(
                here,
                format!(
                    "host {} links to {dev}, which does not exist",
                    h.name.get_ref()
                ),
            )),
            Some("VM") => {
                let vm = hosts
                    .get_mut(dev)
                    .ok_or_else(|| self.at(here.clone(), "VM without a host"))?;
                if vm.iface(port).is_some() {
                    return Err(self.at(here, format!("{dev}:{port} is already in use")));
                }
                vm.ifaces.push(Iface {
                    addr6: Ipv6Net::new(CALICO_VETH_LL, 64).ok(),
                    proxy_arp: true,
                    ..Iface::new(port, CALICO_VETH_MAC, None)
                });
                Ok(())
            }
            Some("gateway") => {
                let g = spec.gateway.iter().find(|g| g.name.get_ref() == dev);
                if g.is_none_or(|g| !g.port.iter().any(|p| p.name == port)) {
                    return Err(self.at(here, format!("gateway {dev} has no port {port}")));
                }
                Ok(())
            }
            Some(kind) => Err(self.at(
                here,
                format!("host {} cannot link to {kind} {dev}", h.name.get_ref()),
            )),
        }
    }
}

/// A BGPaaS route's next hop when the file gives none: the VM's address of
/// the prefix's family, or for an IPv6 prefix from a VM without an IPv6
/// address its IPv4 address mapped into IPv6 (`::ffff:172.16.10.3`).
fn default_next_hop(vm: &VmSpec, prefix: IpNet) -> IpAddr {
    let v4 = *vm.ip.get_ref();
    match prefix {
        IpNet::V4(_) => v4.into(),
        IpNet::V6(_) => vm
            .ip6
            .as_ref()
            .map_or_else(|| v4.to_ipv6_mapped(), |a| *a.get_ref())
            .into(),
    }
}

/// The path attributes of a BGPaaS route: its AS path (the session's AS for
/// eBGP, empty for iBGP, unless given), origin, local preference and MED.
fn path_attrs(r: &BgpRouteSpec, next_hop: IpAddr, asn: u32, contrail_asn: u32) -> PathAttrs {
    let ebgp = asn != contrail_asn;
    let mut attrs = PathAttrs::new(
        next_hop,
        r.as_path
            .clone()
            .unwrap_or_else(|| if ebgp { vec![asn] } else { Vec::new() }),
    );
    attrs.origin = match r.origin {
        OriginSpec::Igp => Origin::Igp,
        OriginSpec::Egp => Origin::Egp,
        OriginSpec::Incomplete => Origin::Incomplete,
    };
    attrs.local_pref = r.local_pref.unwrap_or(100);
    attrs.med = r.med.unwrap_or(0);
    attrs
}
