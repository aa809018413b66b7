//! The scenario file's schema as serde reads it: one struct per TOML table,
//! unknown keys refused, positions kept (`Spanned`) where an error must
//! point at a value. [`super::load`] turns it into a [`crate::Fabric`].

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSpec {
    pub(super) version: Spanned<u32>,
    pub(super) name: String,
    #[serde(default)]
    pub(super) description: String,
    pub(super) contrail: ContrailSpec,
    #[serde(default)]
    pub(super) gateway: Vec<GatewaySpec>,
    #[serde(default)]
    pub(super) compute: Vec<ComputeSpec>,
    #[serde(default)]
    pub(super) network: Vec<NetworkSpec>,
    #[serde(default)]
    pub(super) vm: Vec<VmSpec>,
    #[serde(default)]
    pub(super) bgpaas: Vec<BgpaasSpec>,
    #[serde(default)]
    pub(super) host: Vec<HostSpec>,
    #[serde(default)]
    pub(super) policy: Vec<PolicySpec>,
}

/// `[[policy]]`: a network policy, its rules in order (each one line in the
/// syntax of `vrsim_control::policy::PolicyRule`), and the networks it is
/// attached to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicySpec {
    pub(super) name: Spanned<String>,
    pub(super) networks: Vec<Spanned<String>>,
    pub(super) rules: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ContrailSpec {
    pub(super) asn: u32,
    pub(super) control_nodes: Vec<ControlSpec>,
    /// The global encapsulation priority, Contrail's spelling
    /// (`["MPLSoGRE", "MPLSoUDP", "VXLAN"]`, its default).
    pub(super) encapsulation_priorities: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ControlSpec {
    pub(super) name: String,
    pub(super) ip: Ipv4Addr,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GatewaySpec {
    pub(super) name: Spanned<String>,
    pub(super) fabric_ip: Ipv4Addr,
    pub(super) fabric_mac: Spanned<String>,
    #[serde(default = "default_fabric_port")]
    pub(super) fabric_port: String,
    #[serde(default = "default_unit_base")]
    pub(super) tunnel_unit_base: u32,
    #[serde(default)]
    pub(super) port: Vec<GwPortSpec>,
    #[serde(default)]
    pub(super) vrf: Vec<GwVrfSpec>,
    /// The encapsulations its dynamic tunnels support (`["MPLSoGRE"]`
    /// unless given; MPLSoUDP may be added).
    pub(super) encapsulations: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GwPortSpec {
    pub(super) name: String,
    pub(super) ip: Spanned<Ipv4Net>,
    pub(super) ip6: Option<Spanned<Ipv6Net>>,
    pub(super) mac: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GwVrfSpec {
    pub(super) name: String,
    pub(super) network: Spanned<String>,
    pub(super) label: Spanned<u32>,
    #[serde(default = "yes")]
    pub(super) default_route: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ComputeSpec {
    pub(super) name: Spanned<String>,
    pub(super) ip: Ipv4Addr,
    pub(super) mac: Spanned<String>,
    #[serde(default = "default_fabric_if")]
    pub(super) fabric_if: String,
    #[serde(default)]
    pub(super) pin: ComputePinSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ComputePinSpec {
    pub(super) vhost_receive_nh: Option<u32>,
    #[serde(default)]
    pub(super) tunnel_nh: BTreeMap<String, u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NetworkSpec {
    pub(super) name: Spanned<String>,
    pub(super) fq_name: Option<String>,
    pub(super) subnet: Spanned<Ipv4Net>,
    pub(super) vxlan_id: u32,
    #[serde(default = "yes")]
    pub(super) rpf: bool,
    #[serde(default)]
    pub(super) allow_transit: bool,
    /// `l2_l3` (the default) or `l3`.
    pub(super) forwarding_mode: Option<Spanned<String>>,
    pub(super) gateway: Option<Spanned<Ipv4Addr>>,
    pub(super) dns: Option<Spanned<Ipv4Addr>>,
    pub(super) subnet6: Option<Spanned<Ipv6Net>>,
    pub(super) gateway6: Option<Spanned<Ipv6Addr>>,
    pub(super) dns6: Option<Spanned<Ipv6Addr>>,
    #[serde(default)]
    pub(super) pin: NetworkPinSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NetworkPinSpec {
    pub(super) vrf: Option<u16>,
    pub(super) receive_nh: Option<u32>,
    pub(super) l2_receive_nh: Option<u32>,
    pub(super) vxlan_nh: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VmSpec {
    pub(super) name: Spanned<String>,
    pub(super) network: Spanned<String>,
    pub(super) compute: Spanned<String>,
    pub(super) ip: Spanned<Ipv4Addr>,
    pub(super) ip6: Option<Spanned<Ipv6Addr>>,
    pub(super) mac: Spanned<String>,
    pub(super) tap: Option<String>,
    #[serde(default = "default_mtu")]
    pub(super) mtu: u16,
    #[serde(default)]
    pub(super) routes: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) pin: PortPinSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PortPinSpec {
    pub(super) vif: Option<Spanned<u16>>,
    pub(super) nh: Option<Spanned<u32>>,
    pub(super) l2_nh: Option<Spanned<u32>>,
    pub(super) label: Option<Spanned<u32>>,
    pub(super) bridge_index: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BgpaasSpec {
    pub(super) name: Spanned<String>,
    pub(super) vm: Spanned<String>,
    pub(super) asn: u32,
    pub(super) peers: Vec<Spanned<Ipv4Addr>>,
    #[serde(default = "yes")]
    pub(super) up: bool,
    #[serde(default)]
    pub(super) route: Vec<BgpRouteSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BgpRouteSpec {
    pub(super) prefix: IpNet,
    pub(super) next_hop: Option<Spanned<IpAddr>>,
    pub(super) as_path: Option<Vec<u32>>,
    #[serde(default)]
    pub(super) origin: OriginSpec,
    pub(super) local_pref: Option<u32>,
    pub(super) med: Option<u32>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum OriginSpec {
    #[default]
    Igp,
    Egp,
    Incomplete,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HostSpec {
    pub(super) name: Spanned<String>,
    pub(super) ip: Spanned<Ipv4Net>,
    pub(super) ip6: Option<Spanned<Ipv6Net>>,
    pub(super) mac: Option<Spanned<String>>,
    pub(super) link: Spanned<String>,
    #[serde(default)]
    pub(super) routes: Vec<Spanned<String>>,
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
