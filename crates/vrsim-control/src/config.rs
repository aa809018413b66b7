//! The configuration the control plane works from: what the Contrail API
//! server would hold (virtual networks, VM ports, BGPaaS objects, compute
//! nodes, gateways), with the ids a scenario may pin.
//!
//! These are plain values; `vrsim-fabric` reads them from TOML files.
//! [`Config::validate`] checks every reference and pinned id.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use vrsim_wire::MacAddr;

use crate::error::ControlError;

/// The MAC the vRouter answers with for every gateway address on every tap
/// (`00:00:5e:00:01:00`, the agent's `vrrp_mac`).
pub const VROUTER_MAC: MacAddr = MacAddr(0x00, 0x00, 0x5e, 0x00, 0x01, 0x00);

/// Everything the control plane is configured with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// Contrail's own AS number (the control nodes' and, by default, the gateway's).
    pub asn: u32,
    /// The control nodes, in order; the first is the one gateways show as `from`.
    pub control_nodes: Vec<ControlNode>,
    /// Compute nodes, each running a vRouter.
    pub computes: Vec<ComputeConfig>,
    /// Gateways (the vMX role).
    pub gateways: Vec<GatewayConfig>,
    /// Virtual networks.
    pub networks: Vec<NetworkConfig>,
    /// VM ports (virtual machine interfaces).
    pub ports: Vec<PortConfig>,
    /// BGP-as-a-Service objects.
    pub bgpaas: Vec<BgpaasConfig>,
    /// Network policies, evaluated when the agent answers a flow miss.
    pub policies: Vec<crate::policy::PolicyConfig>,
}

/// A Contrail control node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlNode {
    /// Its name (`control`, `ntw01`).
    pub name: String,
    /// Its fabric address.
    pub ip: Ipv4Addr,
}

/// A compute node: its fabric identity and the nexthop ids a scenario pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputeConfig {
    /// Its name (`compute01`).
    pub name: String,
    /// vhost0's fabric address.
    pub ip: Ipv4Addr,
    /// The fabric interface's MAC.
    pub mac: MacAddr,
    /// The fabric interface's OS name (vif0/0), `eth1` by default.
    pub fabric_if: String,
    /// The Receive nexthop of vhost0's own address, when pinned.
    pub vhost_receive_nh: Option<u32>,
    /// Tunnel nexthop ids pinned per remote endpoint (a gateway's or compute's name).
    pub tunnel_nh: BTreeMap<String, u32>,
}

/// A gateway router (vMX): where it sits on the fabric and which networks it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Its name (`gw-01`).
    pub name: String,
    /// Its fabric address (the GRE tunnels' source).
    pub ip: Ipv4Addr,
    /// Its fabric MAC.
    pub mac: MacAddr,
    /// Its VRFs, each bound to one virtual network.
    pub vrfs: Vec<GatewayVrf>,
}

/// A gateway VRF (`contrail-public`) bound to a virtual network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayVrf {
    /// The routing instance name, without `.inet.0`.
    pub name: String,
    /// The virtual network.
    pub network: String,
    /// The label that leads into the VRF on the gateway (per-VRF label), pushed
    /// by compute nodes with the default route.
    pub label: u32,
    /// Whether the gateway advertises a default route into the network.
    pub default_route: bool,
}

/// A virtual network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    /// Its name (`public`).
    pub name: String,
    /// The VRF name `vrf --dump` shows (`default-domain:admin:public:public`).
    pub fq_name: String,
    /// Its subnet.
    pub subnet: Ipv4Net,
    /// Its VXLAN id.
    pub vxlan_id: u32,
    /// Reverse-path forwarding (the `rpf` network property; on by default).
    pub rpf: bool,
    /// Whether routes learned from VMs (BGPaaS) are advertised beyond the
    /// network, to the gateway. vrsim models the "allow transit" setting of
    /// document 000 as this switch; in Contrail the setting belongs to
    /// service chaining (docs/vrouter-reference.md §5).
    pub allow_transit: bool,
    /// The vRouter's gateway address (the subnet's first host by default).
    pub gateway_ip: Ipv4Addr,
    /// The vRouter's DNS address (the subnet's second host by default).
    pub dns_ip: Ipv4Addr,
    /// Pinned ids.
    pub pins: NetworkPins,
}

/// Ids a scenario pins for a network (the same on every compute node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetworkPins {
    /// The VRF id.
    pub vrf: Option<u16>,
    /// The Receive nexthop of the gateway and DNS addresses.
    pub receive_nh: Option<u32>,
    /// The L2 Receive nexthop of the vRouter MAC.
    pub l2_receive_nh: Option<u32>,
    /// The VXLAN Vrf_Translate nexthop.
    pub vxlan_nh: Option<u32>,
}

/// A VM port: a VM's interface in a network, on a compute node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// The VM's name (`dockerhost`).
    pub name: String,
    /// The network.
    pub network: String,
    /// The compute node hosting the VM.
    pub compute: String,
    /// The port's address.
    pub ip: Ipv4Addr,
    /// The port's MAC.
    pub mac: MacAddr,
    /// The tap's OS name; by default `tap` and the MAC's last five octets
    /// (`02:c7:80:7e:22:f2` gives `tapc7807e22-f2`, as Contrail's port UUIDs do).
    pub tap: String,
    /// The tap's MTU.
    pub mtu: u16,
    /// Pinned ids.
    pub pins: PortPins,
}

/// Ids a scenario pins for a VM port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortPins {
    /// The tap's vif index.
    pub vif: Option<u16>,
    /// The L3 Encap nexthop.
    pub nh: Option<u32>,
    /// The L2 Encap nexthop.
    pub l2_nh: Option<u32>,
    /// The MPLS label.
    pub label: Option<u32>,
    /// The bridge-table index shown with the stitched MAC.
    pub bridge_index: Option<u32>,
}

/// A BGP-as-a-Service object: a VM port's BGP speaker peering with the
/// vRouter's gateway and/or DNS addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpaasConfig {
    /// Its name (usually the VM's).
    pub name: String,
    /// The VM port that speaks BGP.
    pub port: String,
    /// The VM's AS number.
    pub asn: u32,
    /// The addresses it peers with: the network's gateway and/or DNS addresses.
    pub peers: Vec<Ipv4Addr>,
}

impl PortConfig {
    /// The default tap name for a MAC: `tap` and the last five octets.
    pub fn default_tap(mac: MacAddr) -> String {
        let o = mac.octets();
        format!(
            "tap{:02x}{:02x}{:02x}{:02x}-{:02x}",
            o[1], o[2], o[3], o[4], o[5]
        )
    }
}

impl NetworkConfig {
    /// A network with the default gateway (.1) and DNS (.2) addresses, RPF on,
    /// transit off and nothing pinned.
    pub fn new(name: &str, subnet: Ipv4Net, vxlan_id: u32) -> Self {
        let base = u32::from(subnet.network());
        NetworkConfig {
            name: name.to_owned(),
            fq_name: format!("default-domain:admin:{name}:{name}"),
            subnet,
            vxlan_id,
            rpf: true,
            allow_transit: false,
            gateway_ip: Ipv4Addr::from(base.wrapping_add(1)),
            dns_ip: Ipv4Addr::from(base.wrapping_add(2)),
            pins: NetworkPins::default(),
        }
    }
}

impl Config {
    /// The network with this name.
    pub fn network(&self, name: &str) -> Option<&NetworkConfig> {
        self.networks.iter().find(|n| n.name == name)
    }

    /// The port with this name.
    pub fn port(&self, name: &str) -> Option<&PortConfig> {
        self.ports.iter().find(|p| p.name == name)
    }

    /// The compute node with this name.
    pub fn compute(&self, name: &str) -> Option<&ComputeConfig> {
        self.computes.iter().find(|c| c.name == name)
    }

    /// The BGPaaS object with this name.
    pub fn bgpaas(&self, name: &str) -> Option<&BgpaasConfig> {
        self.bgpaas.iter().find(|b| b.name == name)
    }

    /// Check names, references, addresses and pinned ids.
    pub fn validate(&self) -> Result<(), ControlError> {
        self.check_names()?;
        self.check_compute_pins()?;
        let mut vrfs = BTreeMap::new();
        let mut vnis = BTreeMap::new();
        for n in &self.networks {
            self.check_network(n, &mut vrfs, &mut vnis)?;
        }
        for p in &self.ports {
            self.check_port(p)?;
        }
        self.check_bgpaas()?;
        self.check_gateways()?;
        self.check_tunnel_endpoints()
    }

    /// Names are unique within each kind of object.
    fn check_names(&self) -> Result<(), ControlError> {
        let mut names = BTreeMap::new();
        let all = self
            .computes
            .iter()
            .map(|c| ("compute node", &c.name))
            .chain(self.gateways.iter().map(|g| ("gateway", &g.name)))
            .chain(self.networks.iter().map(|n| ("network", &n.name)))
            .chain(self.ports.iter().map(|p| ("VM port", &p.name)))
            .chain(self.bgpaas.iter().map(|b| ("BGPaaS object", &b.name)));
        for (kind, name) in all {
            if let Some(first) = names.insert((kind, name.as_str()), kind) {
                return Err(ControlError::Duplicate {
                    kind: first,
                    name: name.clone(),
                });
            }
        }
        Ok(())
    }

    /// A compute node's pinned nexthops are not the discard nexthop.
    fn check_compute_pins(&self) -> Result<(), ControlError> {
        for c in &self.computes {
            zero_nh(
                format!("compute node {}'s vhost receive nh", c.name),
                c.vhost_receive_nh,
            )?;
            for (remote, nh) in &c.tunnel_nh {
                zero_nh(
                    format!("compute node {}'s tunnel to {remote}", c.name),
                    Some(*nh),
                )?;
            }
        }
        Ok(())
    }

    /// A network's VXLAN id and VRF are in range and its own, its pinned
    /// nexthops are not the discard nexthop, and its gateway and DNS
    /// addresses are in its subnet.
    fn check_network<'c>(
        &self,
        n: &'c NetworkConfig,
        vrfs: &mut BTreeMap<u16, &'c String>,
        vnis: &mut BTreeMap<u32, &'c String>,
    ) -> Result<(), ControlError> {
        if n.vxlan_id == 0 || n.vxlan_id > 0x00ff_ffff {
            return Err(ControlError::OutOfRange {
                what: format!(
                    "network {}'s vxlan id {} (1 to 16777215)",
                    n.name, n.vxlan_id
                ),
            });
        }
        if let Some(other) = vnis.insert(n.vxlan_id, &n.name) {
            return Err(ControlError::DuplicatePin {
                what: format!("vxlan id {}", n.vxlan_id),
                first: format!("network {other}"),
                second: format!("network {}", n.name),
            });
        }
        if let Some(v) = n.pins.vrf
            && !(1..=65534).contains(&v)
        {
            return Err(ControlError::OutOfRange {
                what: format!(
                    "network {}'s vrf {v} (0 is the fabric's, 65535 means none: 1 to 65534)",
                    n.name
                ),
            });
        }
        for (what, pin) in [
            ("receive", n.pins.receive_nh),
            ("l2 receive", n.pins.l2_receive_nh),
            ("vxlan", n.pins.vxlan_nh),
        ] {
            zero_nh(format!("network {}'s {what} nh", n.name), pin)?;
        }
        for (what, ip) in [("gateway", n.gateway_ip), ("DNS", n.dns_ip)] {
            if !n.subnet.contains(&ip) {
                return Err(ControlError::OutsideSubnet {
                    what: format!("network {}'s {what} address", n.name),
                    ip,
                    subnet: n.subnet,
                });
            }
        }
        if let Some(v) = n.pins.vrf
            && let Some(other) = vrfs.insert(v, &n.name)
        {
            return Err(ControlError::DuplicatePin {
                what: format!("vrf {v}"),
                first: format!("network {other}"),
                second: format!("network {}", n.name),
            });
        }
        Ok(())
    }

    /// A VM port is on an existing network and compute node, at a free,
    /// ordinary address of the subnet, with pins in range.
    fn check_port(&self, p: &PortConfig) -> Result<(), ControlError> {
        let net = self
            .network(&p.network)
            .ok_or_else(|| ControlError::Unknown {
                kind: "network",
                name: p.network.clone(),
                by: format!("VM port {}", p.name),
            })?;
        self.compute(&p.compute)
            .ok_or_else(|| ControlError::Unknown {
                kind: "compute node",
                name: p.compute.clone(),
                by: format!("VM port {}", p.name),
            })?;
        if !net.subnet.contains(&p.ip) {
            return Err(ControlError::OutsideSubnet {
                what: format!("VM port {}'s address", p.name),
                ip: p.ip,
                subnet: net.subnet,
            });
        }
        let reserved = [
            (net.gateway_ip, "the network's gateway address"),
            (net.dns_ip, "the network's DNS address"),
            (net.subnet.network(), "the network address"),
            (net.subnet.broadcast(), "the broadcast address"),
        ];
        if let Some((_, what)) = reserved.iter().find(|(ip, _)| *ip == p.ip) {
            return Err(ControlError::OutOfRange {
                what: format!("VM port {}'s address {}: it is {what}", p.name, p.ip),
            });
        }
        zero_nh(format!("VM port {}'s nh", p.name), p.pins.nh)?;
        zero_nh(format!("VM port {}'s l2 nh", p.name), p.pins.l2_nh)?;
        if let Some(l) = p.pins.label
            && !(16..1 << 20).contains(&l)
        {
            return Err(ControlError::OutOfRange {
                what: format!(
                    "VM port {}'s label {l} (0 to 15 are reserved: 16 to 1048575)",
                    p.name
                ),
            });
        }
        if let Some(q) = self
            .ports
            .iter()
            .find(|q| q.network == p.network && q.ip == p.ip && q.name != p.name)
        {
            return Err(ControlError::AddressInUse {
                ip: p.ip,
                first: q.name.clone(),
                second: p.name.clone(),
            });
        }
        Ok(())
    }

    /// A BGPaaS object names an existing VM port and peers with its
    /// network's gateway or DNS address.
    fn check_bgpaas(&self) -> Result<(), ControlError> {
        for b in &self.bgpaas {
            let port = self.port(&b.port).ok_or_else(|| ControlError::Unknown {
                kind: "VM port",
                name: b.port.clone(),
                by: format!("BGPaaS {}", b.name),
            })?;
            let net = self.network(&port.network);
            for peer in &b.peers {
                if net.is_none_or(|n| *peer != n.gateway_ip && *peer != n.dns_ip) {
                    return Err(ControlError::BadPeer {
                        bgpaas: b.name.clone(),
                        peer: *peer,
                    });
                }
            }
        }
        Ok(())
    }

    /// A gateway's VRFs are bound to existing networks.
    fn check_gateways(&self) -> Result<(), ControlError> {
        for g in &self.gateways {
            for v in &g.vrfs {
                self.network(&v.network)
                    .ok_or_else(|| ControlError::Unknown {
                        kind: "network",
                        name: v.network.clone(),
                        by: format!("gateway {} vrf {}", g.name, v.name),
                    })?;
            }
        }
        Ok(())
    }

    /// A compute node pins tunnels only to gateways and other compute nodes.
    fn check_tunnel_endpoints(&self) -> Result<(), ControlError> {
        for c in &self.computes {
            for remote in c.tunnel_nh.keys() {
                let known = self.gateways.iter().any(|g| &g.name == remote)
                    || self
                        .computes
                        .iter()
                        .any(|o| &o.name == remote && o.name != c.name);
                if !known {
                    return Err(ControlError::Unknown {
                        kind: "tunnel endpoint",
                        name: remote.clone(),
                        by: format!("compute node {}", c.name),
                    });
                }
            }
        }
        Ok(())
    }
}

/// A pinned nexthop that is nh 0, the discard nexthop, is refused.
fn zero_nh(what: String, pin: Option<u32>) -> Result<(), ControlError> {
    match pin {
        Some(0) => Err(ControlError::OutOfRange {
            what: format!("{what}: nh 0 is the discard nexthop"),
        }),
        _ => Ok(()),
    }
}
