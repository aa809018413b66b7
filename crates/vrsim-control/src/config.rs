//! The configuration the control plane works from: what the Contrail API
//! server would hold (virtual networks, VM ports, BGPaaS objects, compute
//! nodes, gateways), with the ids a scenario may pin.
//!
//! These are plain values; `vrsim-fabric` reads them from TOML files.
//! [`Config::validate`] checks every reference and pinned id.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
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
    /// The global encapsulation priority (`encapsulation_priorities`): which
    /// tunnel the vRouters take ([`crate::encap`]). Empty, the fixed order
    /// MPLSoGRE, MPLSoUDP, VXLAN decides, as Contrail's default list does.
    pub encap_priority: Vec<vrsim_dataplane::nexthop::TunnelEncap>,
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
    /// The encapsulations its dynamic tunnels support (MPLSoGRE, and
    /// MPLSoUDP where configured); empty means MPLSoGRE.
    pub encaps: Vec<vrsim_dataplane::nexthop::TunnelEncap>,
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
    /// Its IPv6 subnet, when the network is dual-stack, with the vRouter's
    /// IPv6 gateway and DNS addresses in it ([`NetworkConfig::with_subnet6`]).
    pub subnet6: Option<Subnet6>,
    /// Pinned ids.
    pub pins: NetworkPins,
    /// What the network forwards: routed and bridged (`l2_l3`, Contrail's
    /// default) or routed only (`l3`).
    pub forwarding_mode: ForwardingMode,
}

/// A network's forwarding mode (`virtual_network_properties.forwarding_mode`).
/// Contrail's third, `l2` (bridged only), needs flooding, which vrsim does
/// not model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardingMode {
    /// Routed and bridged: every node's bridge tables hold the network's VMs
    /// on other nodes, and the vRouter answers ARP for them with their MACs,
    /// so traffic within a subnet is bridged.
    #[default]
    L2L3,
    /// Routed only: no remote VM in the bridge tables, ARP answered with the
    /// vRouter's MAC, so traffic within a subnet is routed (MPLS, never VXLAN).
    L3,
}

/// A network's IPv6 subnet and the vRouter's addresses in it. Contrail's
/// IPAM gives an IPv6 subnet a gateway and a DNS address as it gives an
/// IPv4 one: by default the subnet's first and second addresses after the
/// network address (`::1`, `::2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet6 {
    /// The subnet.
    pub subnet: Ipv6Net,
    /// The vRouter's IPv6 gateway address.
    pub gateway_ip: Ipv6Addr,
    /// The vRouter's IPv6 DNS address.
    pub dns_ip: Ipv6Addr,
}

impl Subnet6 {
    /// A subnet with the default gateway (`::1`) and DNS (`::2`) addresses.
    pub fn new(subnet: Ipv6Net) -> Self {
        let subnet = subnet.trunc();
        let base = u128::from(subnet.network());
        Subnet6 {
            subnet,
            gateway_ip: Ipv6Addr::from(base.wrapping_add(1)),
            dns_ip: Ipv6Addr::from(base.wrapping_add(2)),
        }
    }
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
    /// The port's IPv6 address, on a dual-stack network.
    pub ip6: Option<Ipv6Addr>,
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
            subnet6: None,
            pins: NetworkPins::default(),
            forwarding_mode: ForwardingMode::L2L3,
        }
    }

    /// The same network, dual-stack with `subnet` and its default IPv6
    /// gateway and DNS addresses.
    pub fn with_subnet6(self, subnet: Ipv6Net) -> Self {
        NetworkConfig {
            subnet6: Some(Subnet6::new(subnet)),
            ..self
        }
    }

    /// The vRouter's IPv4 and IPv6 gateway and DNS addresses in the network.
    pub fn vrouter_addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let v6 = self
            .subnet6
            .iter()
            .flat_map(|s| [IpAddr::V6(s.gateway_ip), IpAddr::V6(s.dns_ip)]);
        [IpAddr::V4(self.gateway_ip), IpAddr::V4(self.dns_ip)]
            .into_iter()
            .chain(v6)
    }
}

impl PortConfig {
    /// The port's addresses: its IPv4 address, then its IPv6 one if any.
    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        core::iter::once(IpAddr::V4(self.ip)).chain(self.ip6.map(IpAddr::V6))
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
        if let Some(g) = self
            .gateways
            .iter()
            .find(|g| names.contains_key(&("compute node", g.name.as_str())))
        {
            return Err(ControlError::SharedEndpointName {
                name: g.name.clone(),
            });
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
        let mut addrs = vec![
            ("gateway", IpAddr::V4(n.gateway_ip), IpNet::V4(n.subnet)),
            ("DNS", IpAddr::V4(n.dns_ip), IpNet::V4(n.subnet)),
        ];
        if let Some(s6) = n.subnet6 {
            addrs.push(("IPv6 gateway", s6.gateway_ip.into(), s6.subnet.into()));
            addrs.push(("IPv6 DNS", s6.dns_ip.into(), s6.subnet.into()));
        }
        for (what, ip, subnet) in addrs {
            if !subnet.contains(&ip) {
                return Err(ControlError::OutsideSubnet {
                    what: format!("network {}'s {what} address", n.name),
                    ip,
                    subnet,
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
        check_port_addr(p, IpAddr::V4(p.ip), net)?;
        if let Some(ip6) = p.ip6 {
            check_port_addr(p, IpAddr::V6(ip6), net)?;
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
        for ip in p.addrs() {
            if let Some(q) = self
                .ports
                .iter()
                .find(|q| q.network == p.network && q.name != p.name && q.addrs().any(|a| a == ip))
            {
                return Err(ControlError::AddressInUse {
                    ip,
                    first: q.name.clone(),
                    second: p.name.clone(),
                });
            }
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
            let mut names = std::collections::BTreeSet::new();
            for v in &g.vrfs {
                // A gateway's routes are kept by VRF name.
                if !names.insert(v.name.as_str()) {
                    return Err(ControlError::Duplicate {
                        kind: "gateway VRF",
                        name: format!("{} on gateway {}", v.name, g.name),
                    });
                }
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

/// A port's address (IPv4 or IPv6) is an ordinary address of its network's
/// subnet of that family: not the network or broadcast address (IPv4), not
/// the subnet-router anycast address (IPv6, RFC 4291 §2.6.1), not the
/// vRouter's gateway or DNS address.
fn check_port_addr(p: &PortConfig, ip: IpAddr, net: &NetworkConfig) -> Result<(), ControlError> {
    let subnet = match ip {
        IpAddr::V4(_) => IpNet::V4(net.subnet),
        IpAddr::V6(_) => match net.subnet6 {
            Some(s6) => IpNet::V6(s6.subnet),
            None => {
                return Err(ControlError::NotDualStack {
                    what: format!("VM port {}'s address", p.name),
                    ip,
                    network: net.name.clone(),
                });
            }
        },
    };
    if !subnet.contains(&ip) {
        return Err(ControlError::OutsideSubnet {
            what: format!("VM port {}'s address", p.name),
            ip,
            subnet,
        });
    }
    let mut reserved = vec![(subnet.network(), "the network address")];
    if let IpNet::V4(s) = subnet {
        reserved.push((s.broadcast().into(), "the broadcast address"));
    }
    for (i, a) in net.vrouter_addrs().enumerate() {
        let what = ["the network's gateway address", "the network's DNS address"];
        reserved.push((a, what[i % 2]));
    }
    if let Some((_, what)) = reserved.iter().find(|(r, _)| *r == ip) {
        return Err(ControlError::OutOfRange {
            what: format!("VM port {}'s address {ip}: it is {what}", p.name),
        });
    }
    Ok(())
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
