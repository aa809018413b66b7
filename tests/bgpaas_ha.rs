//! The `bgpaas-ha` scenario: two VNFs on two compute nodes advertise one
//! service block over BGPaaS with equal attributes. The control node keeps
//! both paths (ECMP); the gateway load-balances the test PC's flows over
//! one path per compute node, and compute03's vRouter spreads its VM's
//! flows over a Composite ECMP nexthop. When vnf-a's session goes down,
//! every flow goes to vnf-b; with both down, the gateway has no route.
//! Goldens in `tests/golden/bgpaas-ha/` (`VRSIM_BLESS=1 cargo test --test
//! bgpaas_ha` rewrites them after a deliberate change; review the diff).

// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;

use vrsim::dataplane::nexthop::NhKind;
use vrsim::fabric::diff::{self, Flow};
use vrsim::fabric::packet::Probe;
use vrsim::fabric::trace::Outcome;
use vrsim::fabric::{Fabric, RoundTrip};
use vrsim_testkit::golden::assert_golden;

const SERVICE: &str = "192.0.2.10";

fn load() -> Fabric {
    vrsim::scenarios::load("bgpaas-ha").unwrap()
}

fn flows() -> Vec<Flow> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/bgpaas-ha.flows"
    ))
    .unwrap();
    diff::parse_flows(&text).unwrap()
}

/// Where a round trip's forward packet was delivered (the service
/// container, `svc-a` or `svc-b`), and through which compute node.
fn landed(t: &RoundTrip) -> (String, String) {
    let Outcome::Delivered { device: host, .. } = &t.forward.outcome else {
        panic!("not delivered: {}", t.forward);
    };
    let compute = t
        .forward
        .path()
        .into_iter()
        .rfind(|d| d.starts_with("compute"))
        .unwrap()
        .to_owned();
    (host.clone(), compute)
}

/// One line per flow: where it went, and the gateway's or the vRouter's
/// reason.
fn spread(f: &mut Fabric) -> String {
    let mut out = String::new();
    for flow in flows() {
        let t = f.probe(&flow.from, flow.to, flow.probe).unwrap();
        assert!(
            t.reply.as_ref().is_some_and(|r| r.delivered()),
            "{flow}: {t:?}"
        );
        let (host, compute) = landed(&t);
        let text = t.forward.to_string();
        let why = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("multipath:") || l.starts_with("ecmp nh"))
            .unwrap_or("one path");
        out.push_str(&format!("{flow}: {host} on {compute} ({why})\n"));
        f.forget_flows(&t);
    }
    out
}

#[test]
fn the_flows_spread_over_both_vnfs() {
    let mut f = load();
    let text = spread(&mut f);
    for host in ["svc-a", "svc-b"] {
        assert!(
            text.lines().filter(|l| l.contains(host)).count() >= 2,
            "{host}:\n{text}"
        );
    }
    assert_golden("bgpaas-ha/h1-flows-spread.txt", &text);
}

/// The test PC's flow in full: the gateway's multipath choice, and on the
/// VNF's node the agent pinning the flow to the local member (a packet from
/// the fabric is never sent back into it).
#[test]
fn the_gateway_load_balances_and_the_agent_pins_to_the_local_member() {
    let mut f = load();
    let service: IpAddr = SERVICE.parse().unwrap();
    let t = f.probe("earth", service, Probe::Tcp(80)).unwrap();
    let text = format!("{}\nreply:\n{}", t.forward, t.reply.as_ref().unwrap());
    assert!(text.contains("multipath: hash"), "{text}");
    assert_golden("bgpaas-ha/h2-earth-to-service.txt", &text);
    let t = f.probe("client", service, Probe::Tcp(443)).unwrap();
    let text = format!("{}\nreply:\n{}", t.forward, t.reply.as_ref().unwrap());
    assert!(text.contains("(pinned by the flow)"), "{text}");
    // The JSON form carries the member and why, in the agent's step too.
    let json = serde_json::to_string(&vrsim::fabric::json::trace(&t.forward)).unwrap();
    assert!(
        json.contains(r#""ecmp_index":0,"ecmp_why":"hash 0x"#)
            && json.contains(r#""why":"pinned by the flow""#),
        "{json}"
    );
    assert_golden("bgpaas-ha/h3-client-to-service.txt", &text);
}

/// Every compute node holds a composite over vnf-a then vnf-b; the gateway
/// a route with a path to each of their nodes.
#[test]
fn every_node_holds_the_composite_and_the_gateway_both_paths() {
    let f = load();
    let c = f.control();
    let block = "192.0.2.0/28".parse().unwrap();
    for node in ["compute01", "compute02", "compute03"] {
        let r = c.vrouter(node).unwrap();
        let route = *r.vrf(1u16.into()).unwrap().inet4.get(&block).unwrap();
        let NhKind::Composite { members } = &r.nh(route.nh).unwrap().config.kind else {
            panic!("{node}: not a composite");
        };
        // vnf-a then vnf-b: each its Encap nexthop on its own node, the
        // tunnel to its node elsewhere, with its label.
        let ids = c.node_ids(node).unwrap();
        let want: Vec<_> = [("vnf-a", "compute01"), ("vnf-b", "compute02")]
            .into_iter()
            .map(|(vm, at)| {
                let own = c.node_ids(at).unwrap().ports[vm];
                let nh = ids.ports.get(vm).map_or_else(|| ids.tunnels[at], |p| p.nh);
                (Some(nh), Some(own.label))
            })
            .collect();
        let got: Vec<_> = members.iter().map(|m| (m.nh, m.label)).collect();
        assert_eq!(got, want, "{node}");
    }
    let g = f.gateway("gw-01").unwrap();
    let text = g.show_route("192.0.2.0/28".parse().unwrap()).unwrap();
    assert!(text.contains("> via gr-0/0/10.32769"), "{text}");
    assert_golden("bgpaas-ha/show-route.txt", &text);
}

/// vnf-a's session goes down: every flow goes to vnf-b, and the diff says
/// so; with vnf-b's down too, the gateway has no route and the flows drop.
#[test]
fn a_vnf_down_moves_every_flow_to_the_other_and_both_down_drop() {
    let before = load();
    let mut after = before.clone();
    after.bgpaas_down("vnf-a").unwrap();
    let changed = diff::diff(&before, &after, &flows()).unwrap();
    let mut text = String::new();
    for c in &changed {
        text.push_str(&format!("{c}\n"));
    }
    let mut moved: Vec<&Flow> = changed.iter().map(|c| &c.flow).collect();
    moved.dedup();
    // As `vrsim diff` prints it (the CLI's tests compare it with this file).
    text.push_str(&format!(
        "{} of {} flows changed\n",
        moved.len(),
        flows().len()
    ));
    assert_golden("bgpaas-ha/diff-vnf-a-down.txt", &text);
    let mut moved = after.clone();
    for flow in flows() {
        let t = moved.probe(&flow.from, flow.to, flow.probe).unwrap();
        assert_eq!(landed(&t).0, "svc-b", "{flow}");
    }

    after.bgpaas_down("vnf-b").unwrap();
    let g = after.gateway("gw-01").unwrap();
    assert_eq!(g.show_route("192.0.2.0/28".parse().unwrap()), None);
    let t = after
        .probe("earth", SERVICE.parse().unwrap(), Probe::Icmp)
        .unwrap();
    assert!(!t.forward.delivered(), "{}", t.forward);
    assert_golden("bgpaas-ha/both-down.txt", &t.forward.minimal());
}

/// Removing a VNF's port while its prefix spreads over a composite: the
/// composite goes before its members (a vRouter refuses to delete a
/// nexthop in use), and the route becomes a plain one to the other VNF.
#[test]
fn removing_a_member_port_programs_cleanly() {
    // A scenario's ports are fixed (hosts are linked to them): the
    // controller alone takes the removal.
    let mut c = load().control().clone();
    let changes = c
        .apply(vrsim::control::Event::RemovePort {
            name: "vnf-a".into(),
        })
        .unwrap();
    assert!(!changes.is_empty());
    let c = &c;
    let block = "192.0.2.0/28".parse().unwrap();
    for node in ["compute01", "compute02", "compute03"] {
        let r = c.vrouter(node).unwrap();
        // compute01 had only vnf-a: it no longer holds the network.
        let Some(route) = r.vrf(1u16.into()).and_then(|v| v.inet4.get(&block)) else {
            assert_eq!(node, "compute01");
            continue;
        };
        assert!(
            !matches!(
                r.nh(route.nh).unwrap().config.kind,
                NhKind::Composite { .. }
            ),
            "{node}"
        );
    }
    assert_eq!(
        c.ecmp("services", block.into()).map(|s| s.slots().to_vec()),
        Some(vec![Some("vnf-b".to_owned())])
    );
}
