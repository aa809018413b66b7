//! The control plane against the hand-programmed compute01, and its
//! incremental programming.

// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use vrsim::control::Event;
use vrsim::control::program::{Object, Op};
use vrsim::dataplane::VRouter;
use vrsim::dataplane::dump::{self, Layout};
use vrsim_testkit::seed;

/// Every object of a vRouter, as comparable data.
fn objects(r: &VRouter) -> String {
    let mut s = String::new();
    for v in r.vifs() {
        s.push_str(&format!("{:?}\n", v.config));
    }
    for n in r.nexthops() {
        s.push_str(&format!("{:?} refs {}\n", n.config, n.refs));
    }
    s.push_str(&format!(
        "{:?}\n{:?}\n",
        r.labels().collect::<Vec<_>>(),
        r.vnids()
    ));
    for vrf in 0..4u16 {
        if let Some(v) = r.vrf(vrf.into()) {
            s.push_str(&format!("vrf {vrf} rpf {}\n", v.rpf));
            for (p, route) in v.inet4.iter() {
                s.push_str(&format!("{p} {route:?}\n"));
            }
            for (p, route) in v.inet6.iter() {
                s.push_str(&format!("{p} {route:?}\n"));
            }
            let mut bridge: Vec<_> = v.bridge.iter().map(|(m, e)| (m.octets(), *e)).collect();
            bridge.sort_by_key(|(m, _)| *m);
            s.push_str(&format!("{bridge:?}\n"));
        }
    }
    s
}

#[test]
fn scenario_a_compute01_equals_the_hand_programmed_one() {
    let fabric = vrsim::scenarios::load("seed-bgpaas").unwrap();
    let built = fabric.control().vrouter("compute01").unwrap();
    let mut by_hand = seed::compute01(true).unwrap();
    seed::dual_stack(&mut by_hand);
    assert_eq!(objects(built), objects(&by_hand));
    // And the dumps agree, byte for byte.
    assert_eq!(dump::nh_list(built), dump::nh_list(&by_hand));
    assert_eq!(
        dump::rt_dump(built, seed::VRF_PUBLIC, Layout::Legacy).unwrap(),
        dump::rt_dump(&by_hand, seed::VRF_PUBLIC, Layout::Legacy).unwrap()
    );
    assert_eq!(
        dump::rt_dump6(built, seed::VRF_PUBLIC, Layout::Legacy).unwrap(),
        dump::rt_dump6(&by_hand, seed::VRF_PUBLIC, Layout::Legacy).unwrap()
    );
    assert_eq!(
        dump::vif_list(built, Layout::Legacy),
        dump::vif_list(&by_hand, Layout::Legacy)
    );

    // Without the BGPaaS session, it equals the hand-built node without
    // the /26 and the /122.
    let mut down = fabric.clone();
    down.bgpaas_down("dockerhost").unwrap();
    let built = down.control().vrouter("compute01").unwrap();
    let mut by_hand = seed::compute01(false).unwrap();
    seed::dual_stack(&mut by_hand);
    by_hand
        .delete_route6(seed::VRF_PUBLIC, seed::CALICO_BLOCK6)
        .unwrap();
    assert_eq!(objects(built), objects(&by_hand));
}

#[test]
fn a_withdraw_changes_only_what_it_must() {
    let mut fabric = vrsim::scenarios::load("seed-bgpaas").unwrap();
    let changes = fabric
        .withdraw("dockerhost", "192.168.100.0/26".parse().unwrap())
        .unwrap();
    let text: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(text, ["compute01: delete route 192.168.100.0/26 in vrf 1"]);
    assert!(
        fabric
            .gateway("gw-01")
            .unwrap()
            .show_route("192.168.100.0/26".parse().unwrap())
            .is_none()
    );

    // Advertising it again restores exactly the same state.
    let again = fabric
        .apply(Event::Advertise {
            bgpaas: "dockerhost".into(),
            peer: seed::VN_GATEWAY_IP,
            prefix: seed::CALICO_BLOCK.into(),
            attrs: vrsim::control::bgp::PathAttrs::new(seed::DOCKERHOST_IP, vec![65000]),
        })
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].op, again[0].object),
        (
            Op::Add,
            Object::Route(seed::VRF_PUBLIC, seed::CALICO_BLOCK.into())
        )
    );
    let fresh = vrsim::scenarios::load("seed-bgpaas").unwrap();
    assert_eq!(
        objects(fabric.control().vrouter("compute01").unwrap()),
        objects(fresh.control().vrouter("compute01").unwrap())
    );
}

#[test]
fn route_reflectors_one_withdrawn_keeps_the_route_both_remove_it() {
    let mut fabric = vrsim::scenarios::load("k8s-rr").unwrap();
    let block = "10.233.64.0/26".parse().unwrap();
    let sel = fabric.control().selection("k8s", block).unwrap();
    assert_eq!(sel.paths.len(), 2);
    assert_eq!(sel.best().source.bgpaas, "rtr01");
    assert_eq!(sel.reasons, [Some(vrsim::control::bgp::Decision::RouterId)]);

    // RTR01 withdraws: RTR02's path takes over; the forwarding state is the
    // same (both paths resolve through node02), so nothing is reprogrammed.
    let changes = fabric.withdraw("rtr01", block).unwrap();
    assert_eq!(changes, []);
    assert_eq!(
        fabric
            .control()
            .selection("k8s", block)
            .unwrap()
            .best()
            .source
            .bgpaas,
        "rtr02"
    );

    // RTR02 withdraws too: the route leaves every compute node.
    let changes = fabric.withdraw("rtr02", block).unwrap();
    let mut nodes: Vec<_> = changes
        .iter()
        .map(|c| (c.node.as_str(), c.op, c.object))
        .collect();
    nodes.sort_by_key(|(n, _, _)| n.to_string());
    let vrf = 2u16.into();
    assert_eq!(
        nodes,
        [
            ("compute01", Op::Delete, Object::Route(vrf, block)),
            ("compute02", Op::Delete, Object::Route(vrf, block)),
            ("compute03", Op::Delete, Object::Route(vrf, block)),
        ]
    );
    assert!(fabric.control().selection("k8s", block).is_none());
}

#[test]
fn scenario_b_nexthops_local_and_tunnelled() {
    let fabric = vrsim::scenarios::load("k8s-rr").unwrap();
    let c = fabric.control();
    let block: ipnet::Ipv4Net = "10.233.64.0/26".parse().unwrap();
    let node02 = c.node_ids("compute03").unwrap().ports["node02"];
    // On compute03 the /26 shares node02's own nexthop...
    let r3 = c.vrouter("compute03").unwrap().vrf(2u16.into()).unwrap();
    assert_eq!(r3.inet4.get(&block).unwrap().nh, node02.nh);
    // ...elsewhere it is a tunnel to compute03 carrying node02's label.
    for other in ["compute01", "compute02"] {
        let r = c.vrouter(other).unwrap();
        let route = *r.vrf(2u16.into()).unwrap().inet4.get(&block).unwrap();
        assert_eq!(route.label, Some(node02.label), "{other}");
        let nh = &r.nh(route.nh).unwrap().config.kind;
        assert!(
            matches!(nh, vrsim::dataplane::nexthop::NhKind::Tunnel { dip, .. } if *dip == std::net::Ipv4Addr::new(10, 0, 0, 23)),
            "{other}: {nh:?}"
        );
    }
}

/// The catalogue's control-plane rows (docs/robustness.md): configurations and
/// events the control plane refuses, with their messages; a refused event
/// changes nothing.
#[test]
fn refused_configurations_and_events() {
    use std::net::Ipv4Addr;
    use vrsim::control::Controller;
    use vrsim::control::bgp::PathAttrs;
    use vrsim::control::config::Config;
    let base = || -> Config {
        vrsim::scenarios::load("seed-bgpaas")
            .unwrap()
            .control()
            .config()
            .clone()
    };
    let refused = |c: Config| Controller::new(c).unwrap_err().to_string();

    let mut c = base();
    let b = c.bgpaas[0].clone();
    c.bgpaas.push(b);
    assert_eq!(refused(c), "BGPaaS object dockerhost is defined twice");

    let mut c = base();
    c.gateways[0].name = c.computes[0].name.clone();
    assert_eq!(
        refused(c),
        "compute node compute01 and gateway compute01 share a name (a node's tunnels are kept by the far end's name)"
    );

    let mut c = base();
    let mut p = c.ports[0].clone();
    p.name = "twin".into();
    p.mac = vrsim::wire::MacAddr(0x02, 0, 0, 0, 0, 0x77);
    p.tap = "taptwin".into();
    p.pins = Default::default();
    c.ports.push(p);
    let e = refused(c);
    assert!(
        e.contains("VM ports twin and dockerhost both have address 172.16.10.3"),
        "{e}"
    );

    let mut c = base();
    c.ports[0].pins.vif = Some(1);
    assert!(refused(c).contains("by both the agent and VM port dockerhost"));

    let mut c = base();
    c.networks[0].vxlan_id = 0;
    assert!(refused(c).contains("network public's vxlan id 0 (1 to 16777215) is out of range"));

    let mut c = base();
    c.networks[0].pins.vrf = Some(65535);
    assert!(refused(c).contains("network public's vrf 65535"));

    for (ip, what) in [
        ("172.16.10.2", "the network's DNS address"),
        ("172.16.10.0", "the network address"),
    ] {
        let mut c = base();
        c.ports[0].ip = ip.parse().unwrap();
        let e = refused(c);
        assert!(e.contains(what), "{e}");
    }

    let mut c = base();
    c.ports[0].pins.label = Some(1 << 20);
    assert!(refused(c).contains("VM port dockerhost's label 1048576"));

    // Events on a running controller: refused, nothing changes.
    let mut ctl = Controller::new(base()).unwrap();
    let gw: Ipv4Addr = "172.16.10.1".parse().unwrap();
    ctl.apply(Event::SessionUp {
        bgpaas: "dockerhost".into(),
        peer: gw,
    })
    .unwrap();
    let before = ctl.node_state("compute01");
    let sessions = |c: &Controller| format!("{:?}", c.sessions().collect::<Vec<_>>());
    let sessions_before = sessions(&ctl);
    let errors = [
        ctl.apply(Event::SessionUp {
            bgpaas: "dockerhost".into(),
            peer: "172.16.10.9".parse().unwrap(),
        }),
        ctl.apply(Event::Withdraw {
            bgpaas: "dockerhost".into(),
            peer: gw,
            prefix: "10.9.0.0/16".parse().unwrap(),
        }),
        ctl.apply(Event::SetRpf {
            network: "nosuch".into(),
            on: false,
        }),
        ctl.apply(Event::RemovePort {
            name: "nosuch".into(),
        }),
    ]
    .map(|r| r.unwrap_err().to_string());
    assert_eq!(
        errors[0],
        "BGPaaS dockerhost peers with 172.16.10.9, which is neither its network's gateway nor its DNS address"
    );
    assert_eq!(
        errors[1],
        "BGPaaS dockerhost has not advertised 10.9.0.0/16 on its session with 172.16.10.1"
    );
    assert!(
        errors[2].contains("names network nosuch, which does not exist"),
        "{}",
        errors[2]
    );
    assert!(
        errors[3].contains("nosuch, which does not exist"),
        "{}",
        errors[3]
    );
    // Refused events changed nothing.
    assert_eq!(ctl.node_state("compute01"), before);
    assert_eq!(sessions(&ctl), sessions_before);
    ctl.apply(Event::SessionDown {
        bgpaas: "dockerhost".into(),
        peer: gw,
    })
    .unwrap();
    let down = ctl.node_state("compute01");
    let e = ctl
        .apply(Event::Advertise {
            bgpaas: "dockerhost".into(),
            peer: gw,
            prefix: "10.9.0.0/16".parse().unwrap(),
            attrs: PathAttrs::new(std::net::Ipv4Addr::new(172, 16, 10, 3), vec![65000]),
        })
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "BGPaaS dockerhost's session with 172.16.10.1 is not established"
    );
    assert_eq!(ctl.node_state("compute01"), down);
}

#[test]
fn ipv6_next_hops_resolve_to_the_port_by_either_address() {
    use vrsim::control::Event;
    use vrsim::control::bgp::PathAttrs;
    let mut fabric = vrsim::scenarios::load("seed-bgpaas").unwrap();
    let advertise = |prefix: &str, next_hop: &str| Event::Advertise {
        bgpaas: "dockerhost".into(),
        peer: seed::VN_GATEWAY_IP,
        prefix: prefix.parse().unwrap(),
        attrs: PathAttrs::new(next_hop.parse::<std::net::IpAddr>().unwrap(), vec![65000]),
    };
    // The VM's IPv4 address mapped into IPv6 names the VM's port.
    let changes = fabric
        .apply(advertise("2001:db8:77::/48", "::ffff:172.16.10.3"))
        .unwrap();
    let text: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(text, ["compute01: add route 2001:db8:77::/48 in vrf 1"]);
    let r = fabric.control().vrouter("compute01").unwrap();
    let route = r
        .vrf(seed::VRF_PUBLIC)
        .unwrap()
        .inet6
        .get(&"2001:db8:77::/48".parse().unwrap());
    assert_eq!(route.map(|r| r.nh), Some(seed::NH_VM));
    // An IPv6 next hop no port has is left out of the decision.
    let changes = fabric
        .apply(advertise("2001:db8:78::/48", "fd00:172:16:10::9"))
        .unwrap();
    assert!(changes.is_empty(), "{changes:?}");
    assert!(
        fabric
            .control()
            .selection("public", "2001:db8:78::/48".parse().unwrap())
            .is_none()
    );
    // The gateway learns the IPv6 route in its VRF's inet6.0.
    let shown = fabric
        .gateway("gw-01")
        .unwrap()
        .show_route("2001:db8:77::/48".parse().unwrap())
        .unwrap();
    assert!(shown.starts_with("contrail-public.inet6.0: "), "{shown}");
}

#[test]
fn an_ipv6_port_on_an_ipv4_only_network_is_refused() {
    use vrsim::control::Controller;
    let mut config = vrsim::scenarios::load("k8s-rr")
        .unwrap()
        .control()
        .config()
        .clone();
    config.networks[0].subnet6 = None;
    let e = Controller::new(config).unwrap_err().to_string();
    assert_eq!(
        e,
        "VM port rtr01's address fd00:172:16:20::11 is IPv6, but network k8s has no IPv6 subnet (subnet6)"
    );
}

#[test]
fn a_network_policy_matches_the_networks_ipv6_subnet() {
    use vrsim::fabric::packet::Probe;
    let mut fabric = vrsim::scenarios::load("seed-bgpaas").unwrap();
    // Traffic from the network's own IPv6 subnet to earth is denied; the
    // container's block is not in the network's subnet, the Docker VM is.
    fabric
        .add_policy_rule("public", "deny any public > any".parse().unwrap())
        .unwrap();
    let vm = fabric
        .probe("dockerhost", seed::EARTH_IP6.into(), Probe::Icmp)
        .unwrap();
    let text = vm.forward.to_string();
    assert!(
        text.contains("action D") && text.contains("policy what-if rule 1 denies"),
        "{text}"
    );
    let container = fabric
        .probe("centos-ssh", seed::EARTH_IP6.into(), Probe::Icmp)
        .unwrap();
    assert!(container.forward.delivered(), "{}", container.forward);
}

/// Two route reflectors giving one prefix through different nodes, equal up
/// to MED: every compute node gets a Composite ECMP nexthop over node01 and
/// node02 (the local port's Encap nexthop where it is local, the tunnel to
/// its node elsewhere, each with the port's label). When RTR01 gives the
/// master instead of node01, node01's slot goes to the master and node02
/// keeps its own; when RTR02's path loses on MED, one member is left and
/// the route is a plain tunnel again.
#[test]
fn equal_paths_through_different_ports_make_a_composite_on_every_node() {
    use vrsim::control::bgp::PathAttrs;
    use vrsim::dataplane::nexthop::NhKind;
    let mut fabric = vrsim::scenarios::load("k8s-rr").unwrap();
    let prefix: ipnet::IpNet = "10.99.0.0/24".parse().unwrap();
    let advertise = |fabric: &mut vrsim::fabric::Fabric, rtr: &str, peer: &str, nh: &str| {
        let attrs = PathAttrs::new(nh.parse::<std::net::IpAddr>().unwrap(), vec![64600]);
        let event = Event::Advertise {
            bgpaas: rtr.into(),
            peer: peer.parse().unwrap(),
            prefix,
            attrs,
        };
        fabric.apply(event).unwrap()
    };
    advertise(&mut fabric, "rtr01", "172.16.20.1", "172.16.20.21");
    let slots =
        |f: &vrsim::fabric::Fabric| f.control().ecmp("k8s", prefix).unwrap().slots().to_vec();
    assert_eq!(slots(&fabric), [Some("node01".to_owned())]);
    advertise(&mut fabric, "rtr02", "172.16.20.2", "172.16.20.22");
    assert_eq!(
        slots(&fabric),
        [Some("node01".to_owned()), Some("node02".to_owned())]
    );
    let c = fabric.control();
    let label = |node: &str, port: &str| c.node_ids(node).unwrap().ports[port].label;
    let (node01, node02) = (label("compute02", "node01"), label("compute03", "node02"));
    for node in ["compute01", "compute02", "compute03"] {
        let r = c.vrouter(node).unwrap();
        let route = *r.route(2u16.into(), prefix).unwrap();
        let NhKind::Composite { members } = &r.nh(route.nh).unwrap().config.kind else {
            panic!("{node}: not a composite");
        };
        let ids = c.node_ids(node).unwrap();
        let want = |port: &str, compute: &str| match ids.ports.get(port) {
            Some(p) => p.nh,
            None => ids.tunnels[compute],
        };
        let got: Vec<_> = members.iter().map(|m| (m.nh, m.label)).collect();
        assert_eq!(
            got,
            [
                (Some(want("node01", "compute02")), Some(node01)),
                (Some(want("node02", "compute03")), Some(node02)),
            ],
            "{node}"
        );
        // The composite follows the node's own ids.
        assert_eq!(
            route.nh.value(),
            ids.nh_ids().map(|i| i.value()).max().unwrap() + 1
        );
    }
    // A third member: the master's port, through RTR01 again (RTR01 now
    // gives the master), so node01's slot empties and the master fills it.
    advertise(&mut fabric, "rtr01", "172.16.20.1", "172.16.20.20");
    assert_eq!(
        slots(&fabric),
        [Some("master".to_owned()), Some("node02".to_owned())]
    );
    // RTR02's path loses on MED: one member left, a plain route.
    let mut attrs = PathAttrs::new(
        "172.16.20.22".parse::<std::net::IpAddr>().unwrap(),
        vec![64600],
    );
    attrs.med = 10;
    fabric
        .apply(Event::Advertise {
            bgpaas: "rtr02".into(),
            peer: "172.16.20.2".parse().unwrap(),
            prefix,
            attrs,
        })
        .unwrap();
    assert_eq!(slots(&fabric), [Some("master".to_owned())]);
    let r = fabric.control().vrouter("compute02").unwrap();
    let route = *r.route(2u16.into(), prefix).unwrap();
    assert!(matches!(
        r.nh(route.nh).unwrap().config.kind,
        NhKind::Tunnel { .. }
    ));
}
