//! Linux hosts: VMs behind a vRouter tap (the Docker VM, Kubernetes nodes,
//! route reflectors) and end hosts (the test PC, containers, pods). Each has
//! interfaces and a main routing table with Linux's route forms:
//! `PREFIX dev IF [scope link]`, `PREFIX via GW [dev IF]`, `blackhole PREFIX`
//! and `default …`; connected routes come from the interface addresses.
//! Calico's host-side veths (`cali…`) answer every ARP request (proxy ARP)
//! with `ee:ee:ee:ee:ee:ee`, as Calico configures them.

use core::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use vrsim_lpm::Ipv4Table;
use vrsim_wire::MacAddr;
use vrsim_wire::ethernet::{EthernetView, HEADER_LEN as ETH_LEN};

use crate::device::{Action, ArpAnswer, Device, Resolve};
use crate::error::FabricError;
use crate::packet;
use crate::trace::{DropCause, HopStep};

/// The MAC Calico gives every host-side veth.
pub const CALICO_VETH_MAC: MacAddr = MacAddr(0xee, 0xee, 0xee, 0xee, 0xee, 0xee);

/// A host interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    /// Its name (`eth0`, `calid0d7ccaeef3`).
    pub name: String,
    /// Its MAC.
    pub mac: MacAddr,
    /// Its address and prefix length, if any.
    pub addr: Option<Ipv4Net>,
    /// Whether it answers ARP for any address (Calico veths).
    pub proxy_arp: bool,
}

/// What a route does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKind {
    /// On-link through an interface.
    Dev(String),
    /// Through a gateway, on an interface (found from the connected routes when not given).
    Via(Ipv4Addr, Option<String>),
    /// Discard silently.
    Blackhole,
}

/// A route of the main table, with the text it was given as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinuxRoute {
    /// The destination.
    pub prefix: Ipv4Net,
    /// What it does.
    pub kind: RouteKind,
    /// The route as `ip route` prints it.
    pub text: String,
}

impl LinuxRoute {
    /// Parse `ip route` syntax: `192.168.100.1 dev calid0d7ccaeef3 scope link`,
    /// `blackhole 192.168.100.0/26`, `default via 172.16.10.1 dev eth0`,
    /// `10.233.64.0/26 via 172.16.20.22 dev eth0 proto bird`.
    pub fn parse(text: &str) -> Result<LinuxRoute, FabricError> {
        let err = |why| FabricError::Route {
            text: text.to_owned(),
            why,
        };
        let mut words = text.split_whitespace().peekable();
        let blackhole = words.peek() == Some(&"blackhole");
        if blackhole {
            words.next();
        }
        let dest = words.next().ok_or_else(|| err("no destination"))?;
        let prefix = match dest {
            "default" => Ipv4Net::default(),
            d if d.contains('/') => d
                .parse::<Ipv4Net>()
                .map_err(|_| err("bad destination prefix"))?
                .trunc(),
            d => Ipv4Net::from(
                d.parse::<Ipv4Addr>()
                    .map_err(|_| err("bad destination address"))?,
            ),
        };
        let (mut via, mut dev) = (None, None);
        while let Some(w) = words.next() {
            let value = words
                .next()
                .ok_or_else(|| err("a keyword without its value"))?;
            match w {
                "via" => {
                    via = Some(
                        value
                            .parse::<Ipv4Addr>()
                            .map_err(|_| err("bad gateway address"))?,
                    )
                }
                "dev" => dev = Some(value.to_owned()),
                "scope" | "proto" | "src" | "metric" => {}
                _ => {
                    return Err(err(
                        "unknown keyword (known: via, dev, scope, proto, src, metric)",
                    ));
                }
            }
        }
        let kind = match (blackhole, via, dev) {
            (true, None, None) => RouteKind::Blackhole,
            (true, _, _) => return Err(err("a blackhole route takes no via or dev")),
            (false, Some(gw), dev) => RouteKind::Via(gw, dev),
            (false, None, Some(dev)) => RouteKind::Dev(dev),
            (false, None, None) => return Err(err("needs via, dev or blackhole")),
        };
        Ok(LinuxRoute {
            prefix,
            kind,
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
        })
    }
}

/// Whether a host is a VM on a vRouter tap or an end host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// A VM (routes between its veths and its tap).
    Vm,
    /// An end host (test PC, container, pod).
    End,
}

/// A Linux host.
#[derive(Debug, Clone)]
pub struct Host {
    /// Its name.
    pub name: String,
    /// VM or end host.
    pub kind: HostKind,
    /// Its interfaces.
    pub ifaces: Vec<Iface>,
    /// The main table.
    pub routes: Ipv4Table<LinuxRoute>,
}

/// Where a host sends a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// To one of its own addresses.
    Local,
    /// Out of an interface towards a neighbour.
    Out {
        /// The interface.
        iface: String,
        /// The neighbour to resolve (the gateway, or the destination on-link).
        next_hop: Ipv4Addr,
        /// The route used.
        route: LinuxRoute,
    },
    /// A blackhole route.
    Blackhole(LinuxRoute),
    /// No route (`Network is unreachable`).
    NoRoute,
}

impl Host {
    /// A host with these interfaces; connected routes are added for their
    /// subnets (`proto kernel scope link`).
    pub fn new(name: &str, kind: HostKind, ifaces: Vec<Iface>) -> Self {
        let mut routes = Ipv4Table::new();
        for i in &ifaces {
            if let Some(a) = i.addr
                && a.prefix_len() < 32
            {
                let prefix = a.trunc();
                let text = format!(
                    "{prefix} dev {} proto kernel scope link src {}",
                    i.name,
                    a.addr()
                );
                routes.insert(
                    prefix,
                    LinuxRoute {
                        prefix,
                        kind: RouteKind::Dev(i.name.clone()),
                        text,
                    },
                );
            }
        }
        Host {
            name: name.to_owned(),
            kind,
            ifaces,
            routes,
        }
    }

    /// Add a route (replacing one for the same prefix).
    pub fn add_route(&mut self, route: LinuxRoute) {
        self.routes.insert(route.prefix, route);
    }

    /// The interface with this name.
    pub fn iface(&self, name: &str) -> Option<&Iface> {
        self.ifaces.iter().find(|i| i.name == name)
    }

    /// The first interface address: the host's own address.
    pub fn primary_ip(&self) -> Option<Ipv4Addr> {
        self.ifaces.iter().find_map(|i| i.addr.map(|a| a.addr()))
    }

    /// Whether `ip` is one of the host's addresses.
    pub fn owns(&self, ip: Ipv4Addr) -> bool {
        self.ifaces
            .iter()
            .any(|i| i.addr.is_some_and(|a| a.addr() == ip))
    }

    /// The MAC this host answers an ARP request for `ip` with, on `iface`.
    pub fn arp_answer(&self, iface: &str, ip: Ipv4Addr) -> Option<MacAddr> {
        let i = self.iface(iface)?;
        (i.addr.is_some_and(|a| a.addr() == ip) || i.proxy_arp).then_some(i.mac)
    }

    /// Route a packet to `dst` (Linux's `fib_lookup` on the main table).
    pub fn route(&self, dst: Ipv4Addr) -> (Decision, Option<Ipv4Net>) {
        if self.owns(dst) {
            return (Decision::Local, None);
        }
        let Some((prefix, r)) = self.routes.longest_match(dst) else {
            return (Decision::NoRoute, None);
        };
        let d = match &r.kind {
            RouteKind::Blackhole => Decision::Blackhole(r.clone()),
            RouteKind::Dev(i) => Decision::Out {
                iface: i.clone(),
                next_hop: dst,
                route: r.clone(),
            },
            RouteKind::Via(gw, dev) => {
                let iface = dev
                    .clone()
                    .or_else(|| match self.routes.longest_match(*gw) {
                        Some((
                            _,
                            LinuxRoute {
                                kind: RouteKind::Dev(i),
                                ..
                            },
                        )) => Some(i.clone()),
                        _ => None,
                    });
                match iface {
                    Some(iface) => Decision::Out {
                        iface,
                        next_hop: *gw,
                        route: r.clone(),
                    },
                    None => Decision::NoRoute,
                }
            }
        };
        (d, Some(prefix))
    }
}

impl Device for Host {
    /// Linux's receive and forward: a frame for the port's MAC is delivered
    /// when it is for one of the host's addresses; a VM routes the rest
    /// (`ip_forward`, TTL decremented), an end host drops it. A packet the
    /// host creates is routed without a TTL decrement.
    fn receive(&mut self, port: Option<&str>, frame: &[u8], steps: &mut Vec<HopStep>) -> Action {
        let Some(ip) = packet::ipv4(frame) else {
            return Action::Drop(DropCause::NotIpv4);
        };
        let dst = ip.dst();
        if let Some(p) = port {
            let ours = self.iface(p).map(|i| i.mac);
            let to = EthernetView::new_checked(frame).map(|e| e.dst()).ok();
            if ours.is_none() || ours != to {
                return Action::Drop(DropCause::NotOurMac { port: p.to_owned() });
            }
            if self.owns(dst) {
                return Action::Deliver(dst);
            }
            if self.kind == HostKind::End {
                return Action::Drop(DropCause::NotForwarding);
            }
        }
        let (decision, matched) = self.route(dst);
        let route_text = match &decision {
            Decision::Out { route, .. } | Decision::Blackhole(route) => route.text.clone(),
            _ => String::new(),
        };
        if decision != Decision::Local {
            steps.push(HopStep::Lookup {
                table: "main".into(),
                key: dst,
                matched,
                route: route_text.clone(),
            });
        }
        match decision {
            Decision::Local => Action::Deliver(dst),
            Decision::NoRoute => Action::Drop(DropCause::Unreachable {
                table: "main".into(),
                dst,
            }),
            Decision::Blackhole(r) => Action::Drop(DropCause::Blackhole { route: r.text }),
            Decision::Out {
                iface, next_hop, ..
            } => {
                let mut out = frame.to_vec();
                if port.is_some() {
                    match packet::decrement_ttl(out.get_mut(ETH_LEN..).unwrap_or_default()) {
                        Some((from, to)) => steps.push(HopStep::Ttl { from, to }),
                        None => return Action::Drop(DropCause::TtlExceeded),
                    }
                }
                let Some(i) = self.iface(&iface) else {
                    return Action::Drop(DropCause::NoSuchInterface {
                        iface,
                        route: route_text,
                    });
                };
                let src_ip = i
                    .addr
                    .map(|a| a.addr())
                    .or(self.primary_ip())
                    .unwrap_or(Ipv4Addr::UNSPECIFIED);
                Action::Out {
                    port: iface.clone(),
                    frame: out,
                    resolve: Some(Resolve {
                        target: next_hop,
                        src_mac: i.mac,
                        src_ip,
                    }),
                }
            }
        }
    }

    /// Linux answers for its own address on the port, and a proxy-ARP port
    /// (Calico's veths) for any address.
    fn answer_arp(
        &mut self,
        port: &str,
        _asker: (MacAddr, Ipv4Addr),
        target: Ipv4Addr,
    ) -> Option<ArpAnswer> {
        let mac = self.arp_answer(port, target)?;
        let how = if self.iface(port).is_some_and(|i| i.proxy_arp) {
            "proxy ARP"
        } else {
            "its address"
        };
        Some((mac, format!("{}:{port}, {how}", self.name)))
    }

    fn has_port(&self, port: &str) -> bool {
        self.iface(port).is_some()
    }
}

impl fmt::Display for LinuxRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrsim_wire::Frame;
    use vrsim_wire::ipv4::Ipv4View;

    #[test]
    fn parses_the_seed_routes() {
        let r = LinuxRoute::parse("192.168.100.1 dev calid0d7ccaeef3 scope link").unwrap();
        assert_eq!(r.prefix.to_string(), "192.168.100.1/32");
        assert_eq!(r.kind, RouteKind::Dev("calid0d7ccaeef3".into()));
        let b = LinuxRoute::parse("blackhole 192.168.100.0/26").unwrap();
        assert_eq!(b.kind, RouteKind::Blackhole);
        let d = LinuxRoute::parse("default via 172.16.10.1 dev eth0").unwrap();
        assert_eq!(d.prefix, Ipv4Net::default());
        assert_eq!(
            d.kind,
            RouteKind::Via([172, 16, 10, 1].into(), Some("eth0".into()))
        );
        for bad in [
            "",
            "default",
            "10.0.0.0/33 dev eth0",
            "blackhole 10.0.0.0/8 dev eth0",
            "10.0.0.0/8 via",
            "10.0.0.0/8 foo bar",
        ] {
            assert!(LinuxRoute::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn docker_vm_routes_like_linux() {
        let eth0 = Iface {
            name: "eth0".into(),
            mac: MacAddr::new(2, 0xc7, 0x80, 0x7e, 0x22, 0xf2),
            addr: Some("172.16.10.3/24".parse().unwrap()),
            proxy_arp: false,
        };
        let mut h = Host::new("dockerhost", HostKind::Vm, vec![eth0]);
        for r in [
            "192.168.100.1 dev calid0d7ccaeef3 scope link",
            "blackhole 192.168.100.0/26",
            "default via 172.16.10.1 dev eth0",
        ] {
            h.add_route(LinuxRoute::parse(r).unwrap());
        }
        let (d, _) = h.route([192, 168, 100, 1].into());
        assert!(matches!(d, Decision::Out { ref iface, .. } if iface == "calid0d7ccaeef3"));
        assert!(matches!(
            h.route([192, 168, 100, 2].into()).0,
            Decision::Blackhole(_)
        ));
        let (d, m) = h.route([203, 0, 113, 10].into());
        assert!(
            matches!(d, Decision::Out { next_hop, .. } if next_hop == Ipv4Addr::new(172, 16, 10, 1))
        );
        assert_eq!(m, Some(Ipv4Net::default()));
        assert_eq!(h.route([172, 16, 10, 3].into()).0, Decision::Local);
        assert_eq!(
            h.arp_answer("eth0", [172, 16, 10, 3].into()),
            Some(h.ifaces[0].mac)
        );
        assert_eq!(h.arp_answer("eth0", [172, 16, 10, 9].into()), None);
    }

    const ETH0: MacAddr = MacAddr(2, 0, 0, 0, 0, 3);

    fn host(kind: HostKind) -> Host {
        let eth0 = Iface {
            name: "eth0".into(),
            mac: ETH0,
            addr: Some("172.16.10.3/24".parse().expect("a prefix")),
            proxy_arp: false,
        };
        let veth = Iface {
            name: "cali0".into(),
            mac: CALICO_VETH_MAC,
            addr: None,
            proxy_arp: true,
        };
        let mut h = Host::new("vm", kind, vec![eth0, veth]);
        for r in [
            "default via 172.16.10.1 dev eth0",
            "192.168.100.1 dev cali0 scope link",
            "blackhole 10.9.0.0/16",
        ] {
            h.add_route(LinuxRoute::parse(r).expect("a route"));
        }
        h
    }

    fn packet(dst_mac: MacAddr, dst: [u8; 4], ttl: u8) -> Vec<u8> {
        Frame::new()
            .ethernet(MacAddr::new(2, 0, 0, 0, 0, 9), dst_mac)
            .ipv4([203, 0, 113, 10], dst)
            .ttl(ttl)
            .icmp_echo_request(1, 1, b"ping")
            .build()
            .expect("a fixed frame builds")
    }

    #[test]
    fn a_vm_routes_to_its_container_with_the_ttl_decremented() {
        let mut h = host(HostKind::Vm);
        let mut steps = Vec::new();
        let Action::Out {
            port,
            frame,
            resolve,
        } = h.receive(
            Some("eth0"),
            &packet(ETH0, [192, 168, 100, 1], 63),
            &mut steps,
        )
        else {
            panic!("not forwarded: {steps:?}")
        };
        assert_eq!(port, "cali0");
        assert_eq!(
            resolve.map(|r| r.target),
            Some(Ipv4Addr::new(192, 168, 100, 1))
        );
        let ip = Ipv4View::new_checked(&frame[14..]).expect("ipv4");
        assert_eq!(ip.ttl(), 62);
        assert!(ip.verify_checksum());
        assert!(steps.contains(&HopStep::Ttl { from: 63, to: 62 }));
    }

    #[test]
    fn a_host_delivers_its_own_address_and_refuses_other_macs() {
        let mut h = host(HostKind::End);
        let mut steps = Vec::new();
        let own = Ipv4Addr::new(172, 16, 10, 3);
        assert_eq!(
            h.receive(Some("eth0"), &packet(ETH0, own.octets(), 64), &mut steps),
            Action::Deliver(own)
        );
        let other = MacAddr::new(2, 0, 0, 0, 0, 0x77);
        assert_eq!(
            h.receive(Some("eth0"), &packet(other, own.octets(), 64), &mut steps),
            Action::Drop(DropCause::NotOurMac {
                port: "eth0".into()
            })
        );
        assert_eq!(
            h.receive(Some("eth0"), &packet(ETH0, [10, 1, 1, 1], 64), &mut steps),
            Action::Drop(DropCause::NotForwarding)
        );
    }

    #[test]
    fn blackholes_expired_ttls_and_missing_routes_are_drops() {
        let mut h = host(HostKind::Vm);
        let mut steps = Vec::new();
        let drop = |a: Action| match a {
            Action::Drop(c) => c.to_string(),
            other => panic!("not dropped: {other:?}"),
        };
        assert_eq!(
            drop(h.receive(Some("eth0"), &packet(ETH0, [10, 9, 1, 1], 64), &mut steps)),
            "blackhole route"
        );
        assert_eq!(
            drop(h.receive(
                Some("eth0"),
                &packet(ETH0, [192, 168, 100, 1], 1),
                &mut steps
            )),
            "ttl exceeded"
        );
        let mut lonely = Host::new("lonely", HostKind::Vm, Vec::new());
        assert_eq!(
            drop(lonely.receive(None, &packet(ETH0, [10, 1, 1, 1], 64), &mut steps)),
            "no route (Network is unreachable)"
        );
    }

    #[test]
    fn calico_veths_answer_every_arp_request() {
        let mut h = host(HostKind::Vm);
        let asker = (
            MacAddr::new(2, 0, 0, 0, 0, 1),
            Ipv4Addr::new(192, 168, 100, 1),
        );
        let any = Ipv4Addr::new(169, 254, 1, 1);
        assert_eq!(
            h.answer_arp("cali0", asker, any),
            Some((CALICO_VETH_MAC, "vm:cali0, proxy ARP".into()))
        );
        assert_eq!(h.answer_arp("eth0", asker, any), None);
        assert!(h.has_port("cali0") && !h.has_port("eth1"));
    }
}
