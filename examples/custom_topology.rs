//! Build a fabric in code: two compute nodes, one network, a VM on each, and
//! a BGPaaS route advertised by one of them; then trace VM to VM and VM to
//! the advertised prefix across the compute nodes.
//!
//! `cargo run --example custom_topology`

// An example prints what it shows.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;

use vrsim::control::bgp::PathAttrs;
use vrsim::control::config::{
    BgpaasConfig, ComputeConfig, Config, ControlNode, NetworkConfig, PortConfig, PortPins,
};
use vrsim::control::{Controller, Event};
use vrsim::fabric::host::{Host, HostKind, Iface, LinuxRoute};
use vrsim::fabric::packet::Probe;
use vrsim::fabric::{Fabric, PortRef};
use vrsim::wire::MacAddr;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mac = |a, b| MacAddr::new(0x02, 0, 0, 0, a, b);
    let compute = |name: &str, last| ComputeConfig {
        name: name.into(),
        ip: std::net::Ipv4Addr::new(10, 0, 0, last),
        mac: mac(0, last),
        fabric_if: "eth1".into(),
        vhost_receive_nh: None,
        tunnel_nh: BTreeMap::new(),
    };
    let port = |name: &str, node: &str, last| PortConfig {
        name: name.into(),
        network: "blue".into(),
        compute: node.into(),
        ip: std::net::Ipv4Addr::new(172, 16, 30, last),
        ip6: None,
        mac: mac(1, last),
        tap: PortConfig::default_tap(mac(1, last)),
        mtu: 9160,
        pins: PortPins::default(),
    };
    let config = Config {
        asn: 64512,
        control_nodes: vec![ControlNode {
            name: "control".into(),
            ip: "10.0.0.10".parse()?,
        }],
        computes: vec![compute("cn1", 31), compute("cn2", 32)],
        networks: vec![NetworkConfig::new("blue", "172.16.30.0/24".parse()?, 7)],
        ports: vec![port("vm1", "cn1", 3), port("vm2", "cn2", 4)],
        bgpaas: vec![BgpaasConfig {
            name: "vm2-bgp".into(),
            port: "vm2".into(),
            asn: 65001,
            peers: vec!["172.16.30.1".parse()?],
        }],
        gateways: Vec::new(),
        policies: Vec::new(),
        // Contrail's default: MPLSoGRE between the compute nodes.
        encap_priority: vrsim::control::encap::CONTRAIL_DEFAULT.to_vec(),
    };
    let mut control = Controller::new(config)?;
    let (bgpaas, peer) = ("vm2-bgp".to_string(), "172.16.30.1".parse()?);
    control.apply(Event::SessionUp {
        bgpaas: bgpaas.clone(),
        peer,
    })?;
    let attrs = PathAttrs::new("172.16.30.4".parse::<std::net::Ipv4Addr>()?, vec![65001]);
    let prefix = "10.99.0.0/24".parse()?;
    for change in control.apply(Event::Advertise {
        bgpaas,
        peer,
        prefix,
        attrs,
    })? {
        println!("control plane: {change}");
    }

    // The two VMs as Linux hosts; vm2 owns 10.99.0.1 on a loopback-like veth.
    let vm = |name: &str, last, extra: Option<&str>| -> Result<Host, Box<dyn std::error::Error>> {
        let eth0 = Iface::new(
            "eth0",
            mac(1, last),
            Some(format!("172.16.30.{last}/24").parse()?),
        );
        let mut ifaces = vec![eth0];
        if let Some(addr) = extra {
            ifaces.push(Iface::new("lo1", mac(9, last), Some(addr.parse()?)));
        }
        let mut h = Host::new(name, HostKind::Vm, ifaces);
        h.add_route(LinuxRoute::parse("default via 172.16.30.1 dev eth0")?);
        Ok(h)
    };
    let tap = |node: &str, vm: &str| -> Result<PortRef, Box<dyn std::error::Error>> {
        let vif = control
            .node_ids(node)
            .and_then(|ids| ids.ports.get(vm))
            .ok_or("no tap")?
            .vif;
        Ok(PortRef::new(node, &format!("vif0/{vif}")))
    };
    let links = vec![
        (PortRef::new("vm1", "eth0"), tap("cn1", "vm1")?),
        (PortRef::new("vm2", "eth0"), tap("cn2", "vm2")?),
    ];
    let hosts = vec![vm("vm1", 3, None)?, vm("vm2", 4, Some("10.99.0.1/24"))?];
    let mut fabric = Fabric::new("custom", control, hosts, Vec::new(), links)?;

    for to in ["172.16.30.4", "10.99.0.1"] {
        let trip = fabric.probe("vm1", to.parse()?, Probe::Icmp)?;
        println!("\nvm1 -> {to}:\n{}", trip.forward.minimal());
        if !trip.forward.delivered() {
            return Err(format!("vm1 -> {to} should be delivered").into());
        }
    }
    Ok(())
}
