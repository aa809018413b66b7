//! The slots of an ECMP composite (`vrsim::control::ecmp::Slots`) after any
//! sequence of member sets: exactly the members given, each member that
//! stays in the slot it had, and new slots only once every empty slot is
//! taken. These are what keep a flow on its member while others come and go.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use vrsim::control::ecmp::Slots;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn members_that_stay_keep_their_slots(
        steps in proptest::collection::vec(proptest::collection::vec(0u8..6, 0..6), 1..12)
    ) {
        let mut slots = Slots::new();
        for members in &steps {
            let before = slots.slots().to_vec();
            slots.update(members);
            let after = slots.slots();
            let given: BTreeSet<u8> = members.iter().copied().collect();
            let held: BTreeSet<u8> = slots.members().copied().collect();
            prop_assert_eq!(&held, &given);
            prop_assert_eq!(slots.members().count(), given.len(), "a member held twice");
            if given.len() >= 2 {
                for (i, m) in before.iter().enumerate() {
                    if let Some(m) = m.filter(|m| given.contains(m)) {
                        prop_assert_eq!(after.get(i), Some(&Some(m)), "member {} moved", m);
                    }
                }
                if after.len() > before.len() {
                    prop_assert!(after.iter().all(Option::is_some), "appended with a slot empty");
                }
            } else {
                prop_assert_eq!(after.len(), given.len());
            }
        }
    }
}

/// A fabric of `n` VNFs, each on its own compute node with the service
/// address behind it, all advertising the service block over BGPaaS with
/// equal attributes, and a client VM on a node of its own.
fn ha_fabric(n: usize) -> vrsim::fabric::Fabric {
    let mut toml = String::from(
        r#"version = 1
name = "ecmp-members"
[contrail]
asn = 64512
control_nodes = [{ name = "control", ip = "10.0.0.10" }]
[[network]]
name = "services"
subnet = "172.16.30.0/24"
vxlan_id = 6
allow_transit = true
[[compute]]
name = "compute0"
ip = "10.0.0.20"
mac = "00:00:5e:00:53:20"
[[vm]]
name = "client"
network = "services"
compute = "compute0"
ip = "172.16.30.200"
mac = "02:52:54:00:1e:c8"
routes = ["default via 172.16.30.1 dev eth0"]
"#,
    );
    for i in 1..=n {
        toml.push_str(&format!(
            r#"[[compute]]
name = "compute{i}"
ip = "10.0.0.{ip}"
mac = "00:00:5e:00:53:{ip:02x}"
[[vm]]
name = "vnf{i}"
network = "services"
compute = "compute{i}"
ip = "172.16.30.{ip}"
mac = "02:52:54:00:1e:{ip:02x}"
routes = ["192.0.2.10 dev svc0 scope link", "default via 172.16.30.1 dev eth0"]
[[bgpaas]]
name = "vnf{i}"
vm = "vnf{i}"
asn = 65100
peers = ["172.16.30.1"]
[[bgpaas.route]]
prefix = "192.0.2.0/28"
next_hop = "172.16.30.{ip}"
[[host]]
name = "svc{i}"
ip = "192.0.2.10/32"
mac = "02:42:c0:00:02:{ip:02x}"
link = "vnf{i}:svc0"
routes = ["169.254.1.1 dev eth0 scope link", "default via 169.254.1.1 dev eth0"]
"#,
            ip = 20 + i
        ));
    }
    vrsim::fabric::topology::load("ecmp-members.toml", &toml).expect("the fabric loads")
}

/// Which service container each flow (a TCP destination port from the
/// client) reaches.
fn landings(f: &mut vrsim::fabric::Fabric, ports: &[u16]) -> Vec<String> {
    use vrsim::fabric::trace::Outcome;
    let service = "192.0.2.10".parse().expect("an address");
    ports
        .iter()
        .map(|&port| {
            let probe = vrsim::fabric::packet::Probe::Tcp(port);
            let t = f.probe("client", service, probe).expect("it probes");
            match &t.forward.outcome {
                Outcome::Delivered { device, .. } => device.clone(),
                other => format!("{other}"),
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    /// One ECMP member's BGPaaS session goes down: the client's flows that
    /// went to it move to the others, and every other flow stays on its
    /// member (its slot is kept, the gone member's slot left empty). Then
    /// the member comes back into its old slot, and every flow is where it
    /// was at first.
    #[test]
    fn removing_one_member_moves_only_its_flows(
        n in 3usize..6,
        gone in 1usize..6,
        ports in proptest::collection::vec(1u16..u16::MAX, 1..16),
    ) {
        let gone = (gone - 1) % n + 1;
        let mut f = ha_fabric(n);
        let first = landings(&mut f, &ports);
        prop_assert!(first.iter().all(|h| h.starts_with("svc")), "{:?}", first);
        let vnf = format!("vnf{gone}");
        f.bgpaas_down(&vnf).expect("the session goes down");
        let slots = f.control().ecmp("services", "192.0.2.0/28".parse().expect("a prefix"));
        prop_assert_eq!(slots.and_then(|s| s.slots().get(gone - 1).cloned()), Some(None));
        let after = landings(&mut f, &ports);
        let gone_host = format!("svc{gone}");
        for ((port, before), now) in ports.iter().zip(&first).zip(&after) {
            if *before == gone_host {
                prop_assert!(now != &gone_host && now.starts_with("svc"), "tcp {}: {}", port, now);
            } else {
                prop_assert_eq!(now, before, "tcp {} moved", port);
            }
        }
        // Back up with its route: it refills its own (the first empty) slot.
        let (bgpaas, peer) = (vnf.clone(), "172.16.30.1".parse().expect("an address"));
        f.apply(vrsim::control::Event::SessionUp { bgpaas: bgpaas.clone(), peer }).expect("up");
        let attrs = vrsim::control::bgp::PathAttrs::new(
            format!("172.16.30.{}", 20 + gone).parse::<std::net::IpAddr>().expect("an address"),
            vec![65100],
        );
        let prefix = "192.0.2.0/28".parse().expect("a prefix");
        f.apply(vrsim::control::Event::Advertise { bgpaas, peer, prefix, attrs }).expect("advertised");
        prop_assert_eq!(landings(&mut f, &ports), first);
    }
}
