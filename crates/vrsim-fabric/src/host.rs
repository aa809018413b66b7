//! Linux hosts: VMs behind a vRouter tap (the Docker VM, Kubernetes nodes,
//! route reflectors) and end hosts (the test PC, containers, pods). Each has
//! interfaces and a main routing table with Linux's route forms:
//! `PREFIX dev IF [scope link]`, `PREFIX via GW [dev IF]`, `blackhole PREFIX`
//! and `default …`, for IPv4 and IPv6 (`ip route` and `ip -6 route`, one
//! table per family); connected routes come from the interface addresses.
//! Calico's host-side veths (`cali…`) answer every ARP request (proxy ARP)
//! with `ee:ee:ee:ee:ee:ee`, and carry the link-local address
//! `fe80::ecee:eeff:feee:eeee` that Calico's IPv6 workloads route through,
//! as Calico configures them.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use vrsim_wire::MacAddr;
use vrsim_wire::ethernet::{EthernetView, HEADER_LEN as ETH_LEN};

use crate::device::{Action, ArpAnswer, Device, Resolve};
use crate::error::FabricError;
use crate::packet;
use crate::tables::DualTable;
use crate::trace::{DropCause, HopStep};

/// The MAC Calico gives every host-side veth.
pub const CALICO_VETH_MAC: MacAddr = MacAddr(0xee, 0xee, 0xee, 0xee, 0xee, 0xee);

/// The link-local address of every Calico host-side veth (the IPv6
/// workloads' default gateway), from its MAC by modified EUI-64.
pub const CALICO_VETH_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0xecee, 0xeeff, 0xfeee, 0xeeee);

/// A host interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    /// Its name (`eth0`, `calid0d7ccaeef3`).
    pub name: String,
    /// Its MAC.
    pub mac: MacAddr,
    /// Its IPv4 address and prefix length, if any.
    pub addr: Option<Ipv4Net>,
    /// Its IPv6 address and prefix length, if any.
    pub addr6: Option<Ipv6Net>,
    /// Whether it answers ARP for any address (Calico veths).
    pub proxy_arp: bool,
}

impl Iface {
    /// An interface with an IPv4 address (or none) and no IPv6 address.
    pub fn new(name: &str, mac: MacAddr, addr: Option<Ipv4Net>) -> Self {
        Iface {
            name: name.to_owned(),
            mac,
            addr,
            addr6: None,
            proxy_arp: false,
        }
    }

    /// Its address of `family`'s kind (`family` is any address of it).
    pub fn addr_of(&self, family: IpAddr) -> Option<IpAddr> {
        match family {
            IpAddr::V4(_) => self.addr.map(|a| a.addr().into()),
            IpAddr::V6(_) => self.addr6.map(|a| a.addr().into()),
        }
    }
}

/// What a route does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKind {
    /// On-link through an interface.
    Dev(String),
    /// Through a gateway, on an interface (found from the connected routes when not given).
    Via(IpAddr, Option<String>),
    /// Discard silently.
    Blackhole,
}

/// A route of the main table, with the text it was given as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinuxRoute {
    /// The destination.
    pub prefix: IpNet,
    /// What it does.
    pub kind: RouteKind,
    /// The route as `ip route` prints it.
    pub text: String,
}

impl LinuxRoute {
    /// Parse `ip route` syntax: `192.168.100.1 dev calid0d7ccaeef3 scope link`,
    /// `blackhole 192.168.100.0/26`, `default via 172.16.10.1 dev eth0`,
    /// `10.233.64.0/26 via 172.16.20.22 dev eth0 proto bird`, and the
    /// IPv6 forms `ip -6 route` prints (`default via fe80::ecee:eeff:feee:eeee
    /// dev eth0`, `blackhole fd80:24e2:f998:72d6::/122`). The family is the
    /// destination's, or for `default` the gateway's (IPv4 without one).
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
        let (mut via, mut dev, mut v6_only) = (None, None, false);
        while let Some(w) = words.next() {
            // Flags `ip route` prints without a value.
            if matches!(w, "onlink" | "linkdown" | "dead") {
                continue;
            }
            let value = words
                .next()
                .ok_or_else(|| err("a keyword without its value"))?;
            match w {
                "via" => {
                    via = Some(
                        value
                            .parse::<IpAddr>()
                            .map_err(|_| err("bad gateway address"))?,
                    )
                }
                "dev" => dev = Some(value.to_owned()),
                "scope" | "proto" | "src" | "metric" | "mtu" | "table" => {}
                // Only IPv6 routes carry a router preference or an expiry
                // (routes learned from router advertisements).
                "pref" | "expires" | "hoplimit" => v6_only = true,
                _ => {
                    return Err(err(
                        "unknown keyword (known: via, dev, scope, proto, src, metric, mtu, \
                         table, pref, expires, hoplimit, onlink, linkdown, dead)",
                    ));
                }
            }
        }
        let prefix = match dest {
            "default" => match via {
                Some(IpAddr::V6(_)) => IpNet::V6(Ipv6Net::default()),
                None if v6_only => IpNet::V6(Ipv6Net::default()),
                _ => IpNet::V4(Ipv4Net::default()),
            },
            d if d.contains('/') => d
                .parse::<IpNet>()
                .map_err(|_| err("bad destination prefix"))?
                .trunc(),
            d => IpNet::from(
                d.parse::<IpAddr>()
                    .map_err(|_| err("bad destination address"))?,
            ),
        };
        if via.is_some_and(|g| g.is_ipv4() != prefix.addr().is_ipv4()) {
            return Err(err("the gateway is not of the destination's family"));
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

/// Whether `a` is an IPv6 link-local address (fe80::/10).
fn is_link_local(a: IpAddr) -> bool {
    matches!(a, IpAddr::V6(v6) if v6.is_unicast_link_local())
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
    /// The main tables (`ip route`, `ip -6 route`).
    pub routes: DualTable<LinuxRoute>,
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
        next_hop: IpAddr,
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
    /// subnets (`proto kernel`). Link-local addresses get none: every
    /// IPv6 interface has its own `fe80::/64` route in Linux, which one
    /// table keyed by prefix cannot hold; link-local destinations are
    /// reached through routes naming a device instead ([`Host::route`]).
    pub fn new(name: &str, kind: HostKind, ifaces: Vec<Iface>) -> Self {
        let mut h = Host {
            name: name.to_owned(),
            kind,
            ifaces: Vec::new(),
            routes: DualTable::default(),
        };
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
                h.add_connected(IpNet::V4(prefix), &i.name, text);
            }
            if let Some(a) = i.addr6
                && a.prefix_len() < 128
                && !a.addr().is_unicast_link_local()
            {
                let prefix = a.trunc();
                let text = format!("{prefix} dev {} proto kernel metric 256", i.name);
                h.add_connected(IpNet::V6(prefix), &i.name, text);
            }
        }
        h.ifaces = ifaces;
        h
    }

    fn add_connected(&mut self, prefix: IpNet, iface: &str, text: String) {
        self.add_route(LinuxRoute {
            prefix,
            kind: RouteKind::Dev(iface.to_owned()),
            text,
        });
    }

    /// Add a route (replacing one for the same prefix).
    pub fn add_route(&mut self, route: LinuxRoute) {
        self.routes.insert(route.prefix, route);
    }

    /// The interface with this name.
    pub fn iface(&self, name: &str) -> Option<&Iface> {
        self.ifaces.iter().find(|i| i.name == name)
    }

    /// The first interface address: the host's own IPv4 address.
    pub fn primary_ip(&self) -> Option<Ipv4Addr> {
        self.ifaces.iter().find_map(|i| i.addr.map(|a| a.addr()))
    }

    /// The host's first global address of `family`'s kind (IPv6 link-local
    /// addresses left out).
    pub fn primary_of(&self, family: IpAddr) -> Option<IpAddr> {
        self.ifaces
            .iter()
            .filter_map(|i| i.addr_of(family))
            .find(|a| !is_link_local(*a))
    }

    /// The source address of a packet to `dst`: the address of `dst`'s
    /// family on the interface the route leaves by, else the host's first.
    pub fn source_for(&self, dst: IpAddr) -> Option<IpAddr> {
        let via = match self.route(dst).0 {
            Decision::Out { iface, .. } => self
                .iface(&iface)
                .and_then(|i| i.addr_of(dst))
                .filter(|a| !is_link_local(*a)),
            _ => None,
        };
        via.or_else(|| self.primary_of(dst))
    }

    /// Whether `ip` is one of the host's addresses.
    pub fn owns(&self, ip: IpAddr) -> bool {
        self.ifaces.iter().any(|i| i.addr_of(ip) == Some(ip))
    }

    /// The MAC this host answers an ARP request (or neighbour solicitation)
    /// for `ip` with, on `iface`: its own address there, or any IPv4 address
    /// on a proxy-ARP interface.
    pub fn arp_answer(&self, iface: &str, ip: IpAddr) -> Option<MacAddr> {
        let i = self.iface(iface)?;
        (i.addr_of(ip) == Some(ip) || (i.proxy_arp && ip.is_ipv4())).then_some(i.mac)
    }

    /// Route a packet to `dst` (Linux's `fib_lookup` on the main table of
    /// its family).
    pub fn route(&self, dst: IpAddr) -> (Decision, Option<IpNet>) {
        if self.owns(dst) {
            return (Decision::Local, None);
        }
        let Some((prefix, r)) = self.lookup(dst) else {
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
                let iface = dev.clone().or_else(|| match self.lookup(*gw) {
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

    /// The longest match for `dst` in its family's table. A link-local
    /// destination is on a link, never behind a gateway: only a route
    /// inside fe80::/10 (`fe80::/64 dev eth0`) leads to it, not the default.
    fn lookup(&self, dst: IpAddr) -> Option<(IpNet, &LinuxRoute)> {
        self.routes
            .longest_match(dst)
            .filter(|(p, _)| !is_link_local(dst) || p.prefix_len() >= 10)
    }
}

impl Device for Host {
    /// Linux's receive and forward: a frame for the port's MAC is delivered
    /// when it is for one of the host's addresses; a VM routes the rest
    /// (`ip_forward`, TTL or hop limit decremented), an end host drops it. A
    /// packet the host creates is routed without a decrement.
    fn receive(&mut self, port: Option<&str>, frame: &[u8], steps: &mut Vec<HopStep>) -> Action {
        let Some((_, dst)) = packet::ip_addrs(frame) else {
            return Action::Drop(DropCause::NotIpv4);
        };
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
            if is_link_local(dst) {
                return Action::Drop(DropCause::LinkLocal { dst });
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
            } => self.send_out(port.is_some(), frame, iface, next_hop, route_text, steps),
        }
    }

    /// Linux answers for its own address on the port, and a proxy-ARP port
    /// (Calico's veths) for any IPv4 address.
    fn answer_arp(
        &mut self,
        port: &str,
        _asker: (MacAddr, IpAddr),
        target: IpAddr,
    ) -> Option<ArpAnswer> {
        let mac = self.arp_answer(port, target)?;
        let proxy = self.iface(port).is_some_and(|i| i.proxy_arp) && !self.owns(target);
        let how = if proxy { "proxy ARP" } else { "its address" };
        Some((mac, format!("{}:{port}, {how}", self.name)))
    }

    fn has_port(&self, port: &str) -> bool {
        self.iface(port).is_some()
    }
}

impl Host {
    /// Send `frame` out of `iface` towards `next_hop` (decrementing the TTL
    /// or hop limit of a forwarded packet), asking the fabric to resolve it.
    fn send_out(
        &self,
        forwarded: bool,
        frame: &[u8],
        iface: String,
        next_hop: IpAddr,
        route: String,
        steps: &mut Vec<HopStep>,
    ) -> Action {
        let mut out = frame.to_vec();
        if forwarded {
            match packet::decrement_ttl(out.get_mut(ETH_LEN..).unwrap_or_default()) {
                Some((from, to)) => steps.push(HopStep::Ttl { from, to }),
                None => return Action::Drop(DropCause::TtlExceeded),
            }
        }
        let Some(i) = self.iface(&iface) else {
            return Action::Drop(DropCause::NoSuchInterface { iface, route });
        };
        let unspecified = match next_hop {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        let src_ip = i
            .addr_of(next_hop)
            .or(self.primary_of(next_hop))
            .unwrap_or(unspecified);
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
        assert_eq!(d.prefix, IpNet::V4(Ipv4Net::default()));
        assert_eq!(
            d.kind,
            RouteKind::Via(Ipv4Addr::new(172, 16, 10, 1).into(), Some("eth0".into()))
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
            addr6: None,
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
        let v4 = |o: [u8; 4]| IpAddr::from(o);
        let (d, _) = h.route(v4([192, 168, 100, 1]));
        assert!(matches!(d, Decision::Out { ref iface, .. } if iface == "calid0d7ccaeef3"));
        assert!(matches!(
            h.route(v4([192, 168, 100, 2])).0,
            Decision::Blackhole(_)
        ));
        let (d, m) = h.route(v4([203, 0, 113, 10]));
        assert!(matches!(d, Decision::Out { next_hop, .. } if next_hop == v4([172, 16, 10, 1])));
        assert_eq!(m, Some(IpNet::V4(Ipv4Net::default())));
        assert_eq!(h.route(v4([172, 16, 10, 3])).0, Decision::Local);
        assert_eq!(
            h.arp_answer("eth0", v4([172, 16, 10, 3])),
            Some(h.ifaces[0].mac)
        );
        assert_eq!(h.arp_answer("eth0", v4([172, 16, 10, 9])), None);
    }

    const ETH0: MacAddr = MacAddr(2, 0, 0, 0, 0, 3);

    fn host(kind: HostKind) -> Host {
        let eth0 = Iface {
            name: "eth0".into(),
            mac: ETH0,
            addr: Some("172.16.10.3/24".parse().expect("a prefix")),
            addr6: None,
            proxy_arp: false,
        };
        let veth = Iface {
            name: "cali0".into(),
            mac: CALICO_VETH_MAC,
            addr: None,
            addr6: None,
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
            Some(IpAddr::from([192, 168, 100, 1]))
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
            Action::Deliver(own.into())
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
            IpAddr::from([192, 168, 100, 1]),
        );
        let any = IpAddr::from([169, 254, 1, 1]);
        assert_eq!(
            h.answer_arp("cali0", asker, any),
            Some((CALICO_VETH_MAC, "vm:cali0, proxy ARP".into()))
        );
        assert_eq!(h.answer_arp("eth0", asker, any), None);
        assert!(h.has_port("cali0") && !h.has_port("eth1"));
    }

    #[test]
    fn ipv6_routes_parse_and_route_in_their_own_table() {
        let d = LinuxRoute::parse("default via fe80::ecee:eeff:feee:eeee dev eth0").unwrap();
        assert_eq!(d.prefix, IpNet::V6(Ipv6Net::default()));
        let b = LinuxRoute::parse("blackhole fd80:24e2:f998:72d6::/122").unwrap();
        assert_eq!(b.kind, RouteKind::Blackhole);
        assert!(LinuxRoute::parse("2001:db8::/32 via 10.0.0.1").is_err());
        assert!(LinuxRoute::parse("10.0.0.0/8 via fe80::1 dev eth0").is_err());
        // `default` without a gateway is IPv4, as `ip route` without -6.
        let v4 = LinuxRoute::parse("default dev eth0").unwrap();
        assert_eq!(v4.prefix, IpNet::V4(Ipv4Net::default()));

        let eth0 = Iface {
            addr6: "fd00:172:16:10::3/64".parse().ok(),
            ..Iface::new("eth0", ETH0, "172.16.10.3/24".parse().ok())
        };
        let veth = Iface {
            addr6: Ipv6Net::new(CALICO_VETH_LL, 64).ok(),
            proxy_arp: true,
            ..Iface::new("cali0", CALICO_VETH_MAC, None)
        };
        let mut h = Host::new("vm", HostKind::Vm, vec![eth0, veth]);
        for r in [
            "fd80:24e2:f998:72d6::1 dev cali0 metric 1024",
            "blackhole fd80:24e2:f998:72d6::/122",
            "default via fd00:172:16:10::1 dev eth0",
        ] {
            h.add_route(LinuxRoute::parse(r).unwrap());
        }
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        // The connected /64 of eth0; none for the veth's link-local address.
        let (d, m) = h.route(v6("fd00:172:16:10::9"));
        assert!(matches!(d, Decision::Out { ref iface, .. } if iface == "eth0"));
        assert_eq!(
            m.map(|p| p.to_string()).as_deref(),
            Some("fd00:172:16:10::/64")
        );
        assert_eq!(h.routes.v6.len(), 4);
        assert!(matches!(
            h.route(v6("fd80:24e2:f998:72d6::2")).0,
            Decision::Blackhole(_)
        ));
        let (d, _) = h.route(v6("2001:db8:113::10"));
        assert!(matches!(d, Decision::Out { next_hop, .. } if next_hop == v6("fd00:172:16:10::1")));
        assert_eq!(
            h.source_for(v6("2001:db8:113::10")),
            Some(v6("fd00:172:16:10::3"))
        );
        assert_eq!(h.source_for(v6("203.0.113.10")), Some(v6("172.16.10.3")));
        assert_eq!(h.route(v6(&CALICO_VETH_LL.to_string())).0, Decision::Local);
        // Neighbour discovery: own addresses only, the veth's link-local
        // included; proxy ARP does not extend to IPv6.
        assert_eq!(
            h.arp_answer("cali0", CALICO_VETH_LL.into()),
            Some(CALICO_VETH_MAC)
        );
        assert_eq!(h.arp_answer("cali0", v6("fd80:24e2:f998:72d6::5")), None);
        assert_eq!(h.arp_answer("eth0", v6("fd00:172:16:10::3")), Some(ETH0));
    }

    #[test]
    fn a_vm_forwards_ipv6_with_the_hop_limit_decremented() {
        let eth0 = Iface {
            addr6: "fd00:172:16:10::3/64".parse().ok(),
            ..Iface::new("eth0", ETH0, None)
        };
        let mut h = Host::new("vm", HostKind::Vm, vec![eth0]);
        h.add_route(LinuxRoute::parse("default via fd00:172:16:10::1 dev eth0").unwrap());
        let frame = |hop_limit| {
            Frame::new()
                .ethernet(MacAddr::new(2, 0, 0, 0, 0, 9), ETH0)
                .ipv6(
                    "fd80:24e2:f998:72d6::1".parse::<Ipv6Addr>().unwrap(),
                    "2001:db8:113::10".parse::<Ipv6Addr>().unwrap(),
                )
                .ttl(hop_limit)
                .icmpv6_echo_reply(1, 1, b"ping")
                .build()
                .unwrap()
        };
        let mut steps = Vec::new();
        let Action::Out {
            frame: out,
            resolve,
            ..
        } = h.receive(Some("eth0"), &frame(64), &mut steps)
        else {
            panic!("not forwarded: {steps:?}")
        };
        assert_eq!(out[ETH_LEN + 7], 63);
        assert_eq!(
            resolve.map(|r| r.src_ip.to_string()).as_deref(),
            Some("fd00:172:16:10::3")
        );
        assert!(steps.contains(&HopStep::Ttl { from: 64, to: 63 }));
        assert_eq!(
            h.receive(Some("eth0"), &frame(1), &mut steps),
            Action::Drop(DropCause::TtlExceeded)
        );
    }

    #[test]
    fn ra_learned_routes_parse_and_link_local_is_never_routed_off_link() {
        let r =
            LinuxRoute::parse("default dev eth0 proto ra metric 1024 expires 297sec pref medium")
                .unwrap();
        assert_eq!(r.prefix, IpNet::V6(Ipv6Net::default()));
        let r = LinuxRoute::parse(
            "default via fe80::1 dev eth0 proto ra metric 1024 hoplimit 64 pref medium onlink",
        )
        .unwrap();
        assert_eq!(
            r.kind,
            RouteKind::Via("fe80::1".parse().unwrap(), Some("eth0".into()))
        );
        let eth0 = Iface {
            addr6: "fd00:172:16:10::3/64".parse().ok(),
            ..Iface::new("eth0", ETH0, None)
        };
        let mut h = Host::new("vm", HostKind::Vm, vec![eth0]);
        h.add_route(LinuxRoute::parse("default via fd00:172:16:10::1 dev eth0").unwrap());
        let ll = "fe80::99".parse::<IpAddr>().unwrap();
        // Not through the default route...
        assert_eq!(h.route(ll), (Decision::NoRoute, None));
        // ...only through a route on the link.
        h.add_route(LinuxRoute::parse("fe80::/64 dev eth0 proto kernel metric 256").unwrap());
        assert!(matches!(h.route(ll).0, Decision::Out { ref iface, .. } if iface == "eth0"));
        // A router does not forward it off the link.
        let frame = Frame::new()
            .ethernet(MacAddr::new(2, 0, 0, 0, 0, 9), ETH0)
            .ipv6(
                "fd00:172:16:10::9".parse::<Ipv6Addr>().unwrap(),
                "fe80::99".parse::<Ipv6Addr>().unwrap(),
            )
            .icmpv6_echo_request(1, 1, b"ping")
            .build()
            .unwrap();
        let mut steps = Vec::new();
        assert_eq!(
            h.receive(Some("eth0"), &frame, &mut steps),
            Action::Drop(DropCause::LinkLocal { dst: ll })
        );
    }
}
