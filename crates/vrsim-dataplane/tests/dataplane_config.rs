//! Configuration errors name the object and what it refers to, and nothing is
//! applied when one is returned.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;

use vrsim_dataplane::DataplaneError;
use vrsim_dataplane::NhId;
use vrsim_dataplane::dump::{self, Layout};
use vrsim_dataplane::nexthop::{NexthopConfig, NhFamily, NhFlags, NhKind};
use vrsim_dataplane::route::{Route, RouteFlags};
use vrsim_testkit::compute01;
use vrsim_testkit::ids::*;

fn route(nh: NhId) -> Route {
    Route {
        nh,
        label: None,
        flags: RouteFlags::empty(),
        stitched_mac: None,
    }
}

/// Every dump, to check that a refused change left no trace.
fn snapshot(r: &vrsim_dataplane::VRouter) -> String {
    [
        dump::vif_list(r, Layout::Current),
        dump::nh_list(r),
        dump::rt_dump(r, public(), Layout::Current).unwrap(),
        dump::mpls_dump(r),
        dump::vxlan_dump(r),
    ]
    .concat()
}

#[test]
fn dangling_references_are_refused_and_change_nothing() {
    let mut r = compute01();
    let before = snapshot(&r);
    let encap = |oif| NhKind::Encap {
        oif,
        rewrite: [0; 14],
        encap_family: 0x0800,
    };
    let bad_nh = NexthopConfig {
        id: nh(95),
        kind: encap(vif(38)),
        family: NhFamily::Inet,
        flags: NhFlags::VALID,
        vrf: public(),
    };
    assert_eq!(
        r.add_nh(bad_nh).unwrap_err().to_string(),
        "nh 95 names vif 38, which does not exist"
    );
    assert_eq!(
        r.add_route4(public(), "10.9.9.0/24".parse().unwrap(), route(nh(96)))
            .unwrap_err()
            .to_string(),
        "route 10.9.9.0/24 in vrf 1 names nh 96, which does not exist"
    );
    assert_eq!(
        r.add_route4(public(), "10.9.9.0/24".parse().unwrap(), route(nh(20)))
            .unwrap_err(),
        DataplaneError::TunnelRouteWithoutLabel {
            vrf: public(),
            prefix: "10.9.9.0/24".parse().unwrap(),
            nh: nh(20)
        }
    );
    assert_eq!(
        r.add_label(label(35), nh(14)).unwrap_err().to_string(),
        "label 35 is already mapped to nh 90"
    );
    assert_eq!(
        r.add_label(label(36), nh(97)).unwrap_err().to_string(),
        "label 36 names nh 97, which does not exist"
    );
    assert_eq!(
        r.add_label(label(5120), nh(90)).unwrap_err().to_string(),
        "label 5120 is beyond the label table (5120 labels)"
    );
    assert_eq!(
        r.add_vnid(vni(4), nh(90)).unwrap_err().to_string(),
        "vnid 4 is already mapped to nh 14"
    );
    assert_eq!(
        r.add_vnid(vni(5), nh(98)).unwrap_err().to_string(),
        "vnid 5 names nh 98, which does not exist"
    );
    assert_eq!(
        r.delete_nh(nh(90)).unwrap_err().to_string(),
        "nh 90 is still referenced 3 times"
    );
    assert_eq!(
        r.delete_nh(NhId::DISCARD).unwrap_err(),
        DataplaneError::DiscardNhFixed
    );
    assert_eq!(
        r.delete_vif(vif(37)).unwrap_err().to_string(),
        "vif 37 is still the outgoing interface of nh 90"
    );
    assert_eq!(
        r.delete_route4(public(), "10.1.0.0/16".parse().unwrap())
            .unwrap_err()
            .to_string(),
        "no route 10.1.0.0/16 in vrf 1"
    );
    let ecmp = NhKind::Composite {
        members: [vrsim_dataplane::nexthop::EcmpMember {
            nh: Some(nh(99)),
            label: None,
        }]
        .into_iter()
        .collect(),
    };
    let bad = NexthopConfig {
        id: nh(100),
        kind: ecmp,
        family: NhFamily::Inet,
        flags: NhFlags::VALID,
        vrf: public(),
    };
    assert_eq!(
        r.add_nh(bad).unwrap_err().to_string(),
        "nh 100 names member nh 99, which does not exist"
    );
    assert_eq!(snapshot(&r), before, "a refused change left a trace");
}

#[test]
fn references_are_counted_and_released() {
    let mut r = compute01();
    let refs = |r: &vrsim_dataplane::VRouter, id| r.nh(nh(id)).unwrap().refs;
    assert_eq!(refs(&r, 90), 3); // two routes and label 35
    r.delete_route4(public(), "192.168.100.0/26".parse().unwrap())
        .unwrap();
    assert_eq!(refs(&r, 90), 2);
    // Host bits are ignored: 192.168.100.7/26 is 192.168.100.0/26.
    r.add_route4(public(), "192.168.100.7/26".parse().unwrap(), route(nh(90)))
        .unwrap();
    assert!(
        dump::rt_get(
            &r,
            public(),
            "192.168.100.9/32".parse().unwrap(),
            Layout::Legacy
        )
        .unwrap()
        .contains("192.168.100.0/26")
    );
    r.delete_label(label(35)).unwrap();
    r.delete_route4(public(), "192.168.100.0/26".parse().unwrap())
        .unwrap();
    r.delete_route4(public(), "172.16.10.3/32".parse().unwrap())
        .unwrap();
    assert_eq!(r.delete_nh(nh(90)).unwrap().id, nh(90));
    assert!(r.nh(nh(90)).is_none());
    // A tunnel route with a label is accepted and gets the L flag.
    let with_label = Route {
        label: Some(label(40)),
        ..route(nh(20))
    };
    r.add_route4(public(), "10.9.9.0/24".parse().unwrap(), with_label)
        .unwrap();
    let table = &r.vrf(public()).unwrap().inet4;
    let (_, got) = table.longest_match(Ipv4Addr::new(10, 9, 9, 1)).unwrap();
    assert!(got.flags.contains(RouteFlags::LABEL_VALID));
}

#[test]
fn composite_loops_are_refused() {
    use vrsim_dataplane::nexthop::EcmpMember;
    let mut r = compute01();
    let ecmp = |id: u32, member: u32| NexthopConfig {
        id: nh(id),
        kind: NhKind::Composite {
            members: [EcmpMember {
                nh: Some(nh(member)),
                label: None,
            }]
            .into_iter()
            .collect(),
        },
        family: NhFamily::Inet,
        flags: NhFlags::VALID,
        vrf: public(),
    };
    r.add_nh(ecmp(40, 90)).unwrap();
    r.add_nh(ecmp(41, 40)).unwrap();
    assert_eq!(
        r.add_nh(ecmp(40, 41)).unwrap_err(),
        DataplaneError::NhLoop {
            nh: nh(40),
            via: nh(41)
        }
    );
    assert_eq!(
        r.nh(nh(40)).unwrap().config,
        ecmp(40, 90),
        "the refused change left nh 40 as it was"
    );
}

/// The rest of the catalogue's dataplane rows (docs/robustness.md): each
/// refused call says what is wrong and changes nothing.
#[test]
fn missing_objects_and_fixed_ones_are_refused() {
    use vrsim_dataplane::nexthop::EcmpMember;
    use vrsim_dataplane::route::BridgeEntry;
    use vrsim_wire::MacAddr;
    let mut r = compute01();
    let before = snapshot(&r);
    let tap = r.vif(vif(37)).unwrap().config.clone();
    assert_eq!(
        r.add_vif(tap).unwrap_err().to_string(),
        "vif 37 already exists"
    );
    assert_eq!(
        r.delete_vif(vif(38)).unwrap_err().to_string(),
        "vif 38 does not exist"
    );
    let mut missing = r.vif(vif(37)).unwrap().config.clone();
    missing.id = vif(38);
    assert_eq!(
        r.change_vif(missing).unwrap_err().to_string(),
        "vif 38 does not exist"
    );
    let composite = |id: u32, members: Vec<EcmpMember>| NexthopConfig {
        id: nh(id),
        kind: NhKind::Composite {
            members: members.into_iter().collect(),
        },
        family: NhFamily::Inet,
        flags: NhFlags::VALID,
        vrf: public(),
    };
    assert_eq!(
        r.add_nh(composite(95, vec![])).unwrap_err().to_string(),
        "composite nh 95 has no members"
    );
    let member = |n: u32| EcmpMember {
        nh: Some(nh(n)),
        label: None,
    };
    assert_eq!(
        r.add_nh(composite(95, vec![member(95)]))
            .unwrap_err()
            .to_string(),
        "nh 95 names member nh 95, which does not exist"
    );
    assert_eq!(
        r.delete_nh(nh(99)).unwrap_err().to_string(),
        "nh 99 does not exist"
    );
    let mut discard = r.nh(nh(90)).unwrap().config.clone();
    discard.id = NhId::DISCARD;
    assert_eq!(
        r.add_nh(discard).unwrap_err().to_string(),
        "nh 0 is the discard nexthop and cannot be changed"
    );
    let v6: ipnet::Ipv6Net = "2001:db8::/64".parse().unwrap();
    assert_eq!(
        r.add_route6(public(), v6, route(nh(96)))
            .unwrap_err()
            .to_string(),
        "route 2001:db8::/64 in vrf 1 names nh 96, which does not exist"
    );
    assert_eq!(
        r.delete_route6(public(), v6).unwrap_err().to_string(),
        "no route 2001:db8::/64 in vrf 1"
    );
    let mac = MacAddr(0x02, 0, 0, 0, 0, 0x42);
    assert_eq!(
        r.add_bridge(
            public(),
            mac,
            BridgeEntry {
                nh: nh(96),
                label: None
            }
        )
        .unwrap_err()
        .to_string(),
        "bridge entry 02:00:00:00:00:42 in vrf 1 names nh 96, which does not exist"
    );
    assert_eq!(
        r.delete_bridge(public(), mac).unwrap_err().to_string(),
        "no bridge entry 02:00:00:00:00:42 in vrf 1"
    );
    assert_eq!(
        r.delete_label(label(36)).unwrap_err().to_string(),
        "label 36 is not mapped"
    );
    assert_eq!(
        r.delete_vnid(vni(5)).unwrap_err().to_string(),
        "vnid 5 is not mapped"
    );
    assert_eq!(snapshot(&r), before);
}
