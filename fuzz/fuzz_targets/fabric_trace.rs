//! Random small fabrics and random packets through them.
//!
//! The input (via `arbitrary`) describes a topology in the shape of the
//! scenarios (a gateway with a test PC, one to three compute nodes, one or
//! two networks, VMs with Calico-style containers, BGPaaS objects that may or
//! may not be up) and a list of packets: probes between hosts and addresses,
//! and raw frames handed to a device's port. The topology is written as a
//! schema-1 TOML file and loaded the way users load theirs. It asserts:
//! - nothing panics (a topology the loader refuses is a typed error);
//! - every trace has at least one hop, at most the loop bound, and one outcome;
//! - every vRouter's accounting holds: frames received on its vifs, plus
//!   frames handed to a vif it does not have (counted only globally, as
//!   `Invalid IF`), equal frames transmitted plus frames dropped, and the
//!   per-vif drop counters add up to the global ones less those;
//! - a trace a vRouter dropped moved that vRouter's counter for the reason
//!   during that packet;
//! - every generated topology loads.
#![no_main]

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vrsim::dataplane::VifId;
use vrsim::dataplane::drop::DropReason;
use vrsim::fabric::packet::Probe;
use vrsim::fabric::trace::{DropCause, FabricTrace, Outcome};
use vrsim::fabric::{Fabric, MAX_HOPS, topology};

#[derive(Debug, Arbitrary)]
struct Net {
    rpf: bool,
    transit: bool,
}

#[derive(Debug, Arbitrary)]
struct Vm {
    net: u8,
    compute: u8,
    container: bool,
    bgpaas: Option<Bgp>,
}

#[derive(Debug, Arbitrary)]
struct Bgp {
    ebgp: bool,
    up: bool,
    /// 16..=32; anything else is the /26 a Calico block is.
    len: u8,
}

#[derive(Debug, Arbitrary)]
enum Target {
    Host(u8),
    Gateway(u8),
    Any(u32),
    Host6(u8),
    Gateway6(u8),
    Any6(u128),
}

#[derive(Debug, Arbitrary)]
enum Packet {
    Probe {
        from: u8,
        to: Target,
        proto: u8,
        port: u16,
    },
    Raw {
        device: u8,
        port: u8,
        frame: Vec<u8>,
    },
}

#[derive(Debug, Arbitrary)]
struct Input {
    computes: u8,
    nets: Vec<Net>,
    vms: Vec<Vm>,
    packets: Vec<Packet>,
}

/// A host's name and its IPv4 and IPv6 addresses.
type Hosts = Vec<(String, Ipv4Addr, Ipv6Addr)>;

/// The IPv6 address `fd00:172:16:N::H` of host `H` on network `N` (the
/// IPv4 plan's 172.16.N.H).
fn vn6(n: usize, h: usize) -> Ipv6Addr {
    Ipv6Addr::new(0xfd00, 0x172, 0x16, 0x10 + n as u16, 0, 0, 0, h as u16)
}

fn toml(input: &Input) -> (String, Hosts) {
    let computes = usize::from(input.computes % 3) + 1;
    let nets = input.nets.len().clamp(1, 2);
    let earth6 = Ipv6Addr::new(0x2001, 0xdb8, 0x113, 0, 0, 0, 0, 0x10);
    let mut hosts = vec![("earth".to_owned(), Ipv4Addr::new(203, 0, 113, 10), earth6)];
    let mut t = String::from(
        "version = 1\nname = \"fuzz\"\n[contrail]\nasn = 64512\n\
         control_nodes = [{ name = \"control\", ip = \"10.0.0.10\" }]\n\
         [[gateway]]\nname = \"gw-01\"\nfabric_ip = \"10.0.0.1\"\n\
         fabric_mac = \"00:00:5e:00:53:01\"\n\
         [[gateway.port]]\nname = \"ge-0/0/1\"\nip = \"203.0.113.1/24\"\nip6 = \"2001:db8:113::1/64\"\n\
         mac = \"00:00:5e:00:53:fe\"\n",
    );
    for n in 0..nets {
        let _ = write!(
            t,
            "[[gateway.vrf]]\nname = \"vrf{n}\"\nnetwork = \"net{n}\"\nlabel = {}\n",
            16 + n
        );
    }
    for c in 0..computes {
        let _ = write!(
            t,
            "[[compute]]\nname = \"compute{c}\"\nip = \"10.0.0.{}\"\nmac = \"00:00:5e:00:53:{:02x}\"\n",
            21 + c,
            0x15 + c
        );
    }
    for n in 0..nets {
        let spec = input.nets.get(n);
        let _ = write!(
            t,
            "[[network]]\nname = \"net{n}\"\nsubnet = \"172.16.{}.0/24\"\nsubnet6 = \"{}/64\"\n\
             vxlan_id = {}\nrpf = {}\nallow_transit = {}\n",
            10 + n,
            vn6(n, 0),
            4 + n,
            spec.is_none_or(|s| s.rpf),
            spec.is_some_and(|s| s.transit)
        );
    }
    let mut bgpaas = String::new();
    for (i, vm) in input.vms.iter().take(4).enumerate() {
        let n = usize::from(vm.net) % nets;
        let c = usize::from(vm.compute) % computes;
        let ip = Ipv4Addr::new(172, 16, 10 + n as u8, 3 + i as u8);
        let gw = Ipv4Addr::new(172, 16, 10 + n as u8, 1);
        let block = Ipv4Addr::new(192, 168, 100 + i as u8, 0);
        let (ip6, gw6) = (vn6(n, 3 + i), vn6(n, 1));
        let block6 = Ipv6Addr::new(0xfd80, i as u16, 0, 0, 0, 0, 0, 0);
        let mut routes = vec![
            format!("\"default via {gw} dev eth0\""),
            format!("\"default via {gw6} dev eth0\""),
        ];
        if vm.container {
            routes.push(format!("\"192.168.{}.1 dev cali{i} scope link\"", 100 + i));
            routes.push(format!("\"blackhole {block}/26\""));
            routes.push(format!("\"fd80:{i:x}::1 dev cali{i}\""));
            routes.push(format!("\"blackhole {block6}/122\""));
        }
        let _ = write!(
            t,
            "[[vm]]\nname = \"vm{i}\"\nnetwork = \"net{n}\"\ncompute = \"compute{c}\"\nip = \"{ip}\"\n\
             ip6 = \"{ip6}\"\nmac = \"02:00:00:00:{n:02x}:{i:02x}\"\nroutes = [{}]\n",
            routes.join(", ")
        );
        hosts.push((format!("vm{i}"), ip, ip6));
        if let Some(b) = &vm.bgpaas {
            let len = if (16..=32).contains(&b.len) {
                b.len
            } else {
                26
            };
            let asn = if b.ebgp { 65000 + i as u32 } else { 64512 };
            let _ = write!(
                bgpaas,
                "[[bgpaas]]\nname = \"bgp{i}\"\nvm = \"vm{i}\"\nasn = {asn}\npeers = [\"{gw}\"]\nup = {}\n\
                 [[bgpaas.route]]\nprefix = \"{block}/{len}\"\nnext_hop = \"{ip}\"\n\
                 [[bgpaas.route]]\nprefix = \"{block6}/{}\"\nnext_hop = \"{ip6}\"\n",
                b.up,
                len + 96
            );
        }
        if vm.container {
            let cip = Ipv4Addr::new(192, 168, 100 + i as u8, 1);
            let cip6 = Ipv6Addr::new(0xfd80, i as u16, 0, 0, 0, 0, 0, 1);
            let _ = write!(
                bgpaas,
                "[[host]]\nname = \"c{i}\"\nip = \"{cip}/32\"\nip6 = \"{cip6}/128\"\n\
                 mac = \"02:42:c0:a8:{:02x}:01\"\nlink = \"vm{i}:cali{i}\"\n\
                 routes = [\"169.254.1.1 dev eth0 scope link\", \"default via 169.254.1.1 dev eth0\", \
                 \"default via fe80::ecee:eeff:feee:eeee dev eth0\"]\n",
                100 + i
            );
            hosts.push((format!("c{i}"), cip, cip6));
        }
    }
    t.push_str(&bgpaas);
    t.push_str(
        "[[host]]\nname = \"earth\"\nip = \"203.0.113.10/24\"\nip6 = \"2001:db8:113::10/64\"\n\
         mac = \"00:00:5e:00:53:0a\"\nlink = \"gw-01:ge-0/0/1\"\n\
         routes = [\"default via 203.0.113.1 dev eth0\", \"default via 2001:db8:113::1 dev eth0\"]\n",
    );
    (t, hosts)
}

fn check(t: &FabricTrace) {
    assert!(!t.hops.is_empty(), "{t}");
    assert!(t.hops.len() <= MAX_HOPS, "{t}");
}

/// Every vRouter's counters balance; `missing` counts, per node, the frames
/// handed to a vif it does not have.
fn accounting(fabric: &Fabric, missing: &BTreeMap<String, u64>) {
    for c in &fabric.control().config().computes {
        let Some(r) = fabric.control().vrouter(&c.name) else {
            continue;
        };
        let m = missing.get(&c.name).copied().unwrap_or(0);
        let rx: u64 = r.vifs().map(|v| v.stats.rx_packets).sum();
        let tx: u64 = r.vifs().map(|v| v.stats.tx_packets).sum();
        assert_eq!(
            rx + m,
            tx + r.drops().total(),
            "{}: rx = tx + drops",
            c.name
        );
        let per_vif: u64 = r.vifs().map(|v| v.drops.total()).sum();
        assert_eq!(per_vif + m, r.drops().total(), "{}: per-vif drops", c.name);
        assert!(r.drops().get(DropReason::InvalidIf) >= m);
    }
}

/// Every node's drop counters, by (node, reason).
fn drops_by_node(fabric: &Fabric) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    for c in &fabric.control().config().computes {
        if let Some(r) = fabric.control().vrouter(&c.name) {
            for (reason, n) in r.drops().non_zero() {
                out.insert((c.name.clone(), reason.to_string()), n);
            }
        }
    }
    out
}

/// Whether `port` of `device` is a vif number the device's vRouter lacks.
fn missing_vif(fabric: &Fabric, device: &str, port: &str) -> bool {
    let Some(r) = fabric.control().vrouter(device) else {
        return false;
    };
    port.strip_prefix("vif0/")
        .and_then(|n| n.parse::<u16>().ok())
        .and_then(VifId::new)
        .is_some_and(|id| r.vif(id).is_none())
}

fuzz_target!(|input: Input| {
    let (text, hosts) = toml(&input);
    // Generated files always load: a refusal is a generator or loader bug.
    let mut fabric = topology::load("fuzz.toml", &text)
        .unwrap_or_else(|e| panic!("the generated topology does not load: {e}\n{text}"));
    let devices: Vec<String> = fabric
        .control()
        .config()
        .computes
        .iter()
        .map(|c| c.name.clone())
        .chain(["gw-01".to_owned()])
        .chain(hosts.iter().map(|(h, ..)| h.clone()))
        .collect();
    let ports = [
        "vif0/0", "vif0/1", "vif0/2", "vif0/3", "vif0/4", "eth0", "ge-0/0/0", "ge-0/0/1", "cali0",
    ];
    let mut missing = BTreeMap::new();
    for p in input.packets.iter().take(8) {
        let before = drops_by_node(&fabric);
        let traces: Vec<FabricTrace> = match p {
            Packet::Probe {
                from,
                to,
                proto,
                port,
            } => {
                let from = &hosts[usize::from(*from) % hosts.len()].0;
                let to: IpAddr = match to {
                    Target::Host(h) => hosts[usize::from(*h) % hosts.len()].1.into(),
                    Target::Gateway(n) => Ipv4Addr::new(172, 16, 10 + n % 2, 1).into(),
                    Target::Any(a) => Ipv4Addr::from(*a).into(),
                    Target::Host6(h) => hosts[usize::from(*h) % hosts.len()].2.into(),
                    Target::Gateway6(n) => vn6(usize::from(n % 2), 1).into(),
                    Target::Any6(a) => Ipv6Addr::from(*a).into(),
                };
                let probe = match proto % 3 {
                    0 => Probe::Icmp,
                    1 => Probe::Udp(*port),
                    _ => Probe::Tcp(*port),
                };
                match fabric.probe(from, to, probe) {
                    Ok(trip) => std::iter::once(trip.forward).chain(trip.reply).collect(),
                    Err(e) => {
                        assert!(!e.to_string().is_empty());
                        Vec::new()
                    }
                }
            }
            Packet::Raw {
                device,
                port,
                frame,
            } => {
                let device = &devices[usize::from(*device) % devices.len()];
                let port = ports[usize::from(*port) % ports.len()];
                if missing_vif(&fabric, device, port) {
                    *missing.entry(device.clone()).or_insert(0) += 1;
                }
                vec![fabric.walk(device, Some(port.to_owned()), frame.clone())]
            }
        };
        for t in &traces {
            check(t);
            if let Outcome::Dropped {
                device,
                cause: DropCause::VRouter { reason, .. },
            } = &t.outcome
            {
                let r = fabric
                    .control()
                    .vrouter(device)
                    .unwrap_or_else(|| panic!("{device} dropped as a vRouter but is none\n{t}"));
                let was = before
                    .get(&(device.clone(), reason.to_string()))
                    .copied()
                    .unwrap_or(0);
                assert!(
                    r.drops().get(*reason) > was,
                    "{device}: {reason} not counted\n{t}"
                );
            }
        }
        accounting(&fabric, &missing);
    }
});
