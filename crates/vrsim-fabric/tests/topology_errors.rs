//! Bad scenario files: each is a typed error naming the line, the column and
//! the offending name.

use vrsim_fabric::topology::{self, TopologyError};

const BASE: &str = r#"version = 1
name = "t"
[contrail]
asn = 64512
control_nodes = [{ name = "control", ip = "10.0.0.10" }]
[[gateway]]
name = "gw-01"
fabric_ip = "10.0.0.1"
fabric_mac = "00:00:5e:00:53:01"
[[gateway.port]]
name = "ge-0/0/1"
ip = "203.0.113.1/24"
mac = "00:00:5e:00:53:fe"
[[compute]]
name = "compute01"
ip = "10.0.0.21"
mac = "00:00:5e:00:53:15"
[[network]]
name = "public"
subnet = "172.16.10.0/24"
vxlan_id = 4
[[vm]]
name = "vm1"
network = "public"
compute = "compute01"
ip = "172.16.10.3"
mac = "02:00:00:00:00:03"
[vm.pin]
vif = 37
[[host]]
name = "earth"
ip = "203.0.113.10/24"
link = "gw-01:ge-0/0/1"
"#;

fn load(text: &str) -> Result<vrsim_fabric::Fabric, TopologyError> {
    topology::load("t.toml", text)
}

/// Replace `from` with `to` in the base file and expect an error at `line`
/// whose message contains `says`.
fn bad(from: &str, to: &str, line: usize, says: &str) {
    assert!(BASE.contains(from), "{from}");
    let e = load(&BASE.replacen(from, to, 1))
        .err()
        .unwrap_or_else(|| panic!("{to:?} loaded"));
    assert_eq!(e.line, line, "{e}");
    assert!(e.column > 0, "{e}");
    assert!(e.message.contains(says), "{e}");
    assert!(e.to_string().starts_with(&format!("t.toml:{line}:")), "{e}");
}

#[test]
fn the_base_file_loads() {
    let f = load(BASE).unwrap();
    assert_eq!(f.name(), "t");
}

#[test]
fn unknown_node_in_a_link() {
    bad(
        "link = \"gw-01:ge-0/0/1\"",
        "link = \"gw-02:ge-0/0/1\"",
        33,
        "gw-02, which does not exist",
    );
    bad(
        "link = \"gw-01:ge-0/0/1\"",
        "link = \"gw-01:ge-0/0/9\"",
        33,
        "gw-01 has no port ge-0/0/9",
    );
    bad(
        "link = \"gw-01:ge-0/0/1\"",
        "link = \"gw-01\"",
        33,
        "not DEVICE:PORT",
    );
}

#[test]
fn vm_port_on_a_missing_network_or_compute() {
    bad(
        "network = \"public\"",
        "network = \"private\"",
        24,
        "network private, which does not exist",
    );
    bad(
        "compute = \"compute01\"",
        "compute = \"compute09\"",
        25,
        "compute node compute09, which does not exist",
    );
}

#[test]
fn duplicate_pinned_ids_and_names() {
    let twice = BASE.replace(
        "[[host]]",
        "[[vm]]\nname = \"vm2\"\nnetwork = \"public\"\ncompute = \"compute01\"\nip = \"172.16.10.4\"\nmac = \"02:00:00:00:00:04\"\n[vm.pin]\nvif = 37\n[[host]]",
    );
    let e = load(&twice).err().unwrap();
    assert_eq!(e.line, 37, "{e}");
    assert!(
        e.message
            .contains("vif 37 on compute01 is pinned by both vm1 and vm2"),
        "{e}"
    );
    bad(
        "name = \"vm1\"",
        "name = \"earth\"",
        31,
        "host earth has the name of a VM",
    );
    for (kind, value) in [("nh", 95), ("label", 40)] {
        let twice = BASE.replace("vif = 37", &format!("vif = 37\n{kind} = {value}")).replace(
            "[[host]]",
            &format!(
                "[[vm]]\nname = \"vm2\"\nnetwork = \"public\"\ncompute = \"compute01\"\nip = \"172.16.10.4\"\nmac = \"02:00:00:00:00:04\"\n[vm.pin]\n{kind} = {value}\n[[host]]"
            ),
        );
        let e = load(&twice).err().unwrap();
        assert!(
            e.message.contains(&format!(
                "{kind} {value} on compute01 is pinned by both vm1 and vm2"
            )),
            "{e}"
        );
    }
}

#[test]
fn address_outside_its_subnet() {
    bad(
        "ip = \"172.16.10.3\"",
        "ip = \"172.16.11.3\"",
        26,
        "172.16.11.3 is outside 172.16.10.0/24",
    );
}

#[test]
fn syntax_types_and_unknown_keys() {
    bad("vxlan_id = 4", "vxlan_id = \"four\"", 21, "invalid type");
    bad(
        "vxlan_id = 4",
        "vxlan_id = 4\ncolour = \"blue\"",
        22,
        "unknown field `colour`",
    );
    bad(
        "mac = \"02:00:00:00:00:03\"",
        "mac = \"02:00:00:00:00\"",
        27,
        "is not a MAC address",
    );
    bad(
        "version = 1",
        "version = 2",
        1,
        "schema version 2 is not supported",
    );
    bad("ip = \"10.0.0.21\"", "ip = \"10.0.0.256\"", 16, "");
}

#[test]
fn bad_routes_are_placed() {
    let text = BASE.replace(
        "vxlan_id = 4\n[[vm]]\nname = \"vm1\"",
        "vxlan_id = 4\n[[vm]]\nname = \"vm1\"\nroutes = [\"default vai 172.16.10.1\"]",
    );
    let e = load(&text).err().unwrap();
    assert_eq!(e.line, 24, "{e}");
    assert!(e.message.contains("unknown keyword"), "{e}");
}

#[test]
fn garbage_never_panics() {
    for text in [
        "",
        "[[",
        "version = 1",
        "version = 1\nname = 3",
        &BASE[..BASE.len() / 2],
    ] {
        assert!(load(text).is_err(), "{text:?}");
    }
}

/// Errors found by the control plane's validation: no place in the file
/// (line 0), but the message names the objects.
fn refused(from: &str, to: &str, says: &str) {
    assert!(BASE.contains(from), "{from}");
    let e = load(&BASE.replacen(from, to, 1))
        .err()
        .unwrap_or_else(|| panic!("{to:?} loaded"));
    assert!(e.message.contains(says), "{e}");
    assert_eq!(e.line, 0, "{e}");
    assert!(
        e.to_string().starts_with("t.toml: "),
        "no invented position: {e}"
    );
}

#[test]
fn the_control_plane_refuses_reserved_and_clashing_values() {
    refused(
        "ip = \"172.16.10.3\"",
        "ip = \"172.16.10.1\"",
        "VM port vm1's address 172.16.10.1: it is the network's gateway address",
    );
    refused(
        "ip = \"172.16.10.3\"",
        "ip = \"172.16.10.255\"",
        "it is the broadcast address",
    );
    refused(
        "vxlan_id = 4",
        "vxlan_id = 16777216",
        "network public's vxlan id 16777216",
    );
    refused(
        "vif = 37",
        "vif = 37\nlabel = 3",
        "VM port vm1's label 3 (0 to 15 are reserved",
    );
    refused(
        "vif = 37",
        "vif = 37\nnh = 0",
        "VM port vm1's nh: nh 0 is the discard nexthop",
    );
    refused(
        "vxlan_id = 4",
        "vxlan_id = 4\n[network.pin]\nvrf = 0",
        "network public's vrf 0",
    );
    let twice = BASE.replace(
        "[[vm]]",
        "[[network]]\nname = \"other\"\nsubnet = \"172.16.11.0/24\"\nvxlan_id = 4\n[[vm]]",
    );
    let e = load(&twice).err().unwrap();
    assert!(
        e.message
            .contains("vxlan id 4 is pinned by both network public and network other"),
        "{e}"
    );
}

/// The rest of the catalogue's scenario-file rows (docs/robustness.md).
#[test]
fn names_networks_bgpaas_gateway_vrfs_and_links() {
    bad(
        "name = \"compute01\"",
        "name = \"fabric\"",
        15,
        "\"fabric\" is the underlay's name",
    );
    let twice = BASE.replace(
        "[[vm]]",
        "[[network]]\nname = \"public\"\nsubnet = \"172.16.11.0/24\"\nvxlan_id = 5\n[[vm]]",
    );
    let e = load(&twice).err().unwrap();
    assert!(e.message.contains("network public is defined twice"), "{e}");
    bad(
        "vxlan_id = 4",
        "vxlan_id = 4\ngateway = \"172.16.11.1\"",
        22,
        "172.16.11.1 is outside 172.16.10.0/24",
    );
    bad(
        "vxlan_id = 4",
        "vxlan_id = 4\ndns = \"172.16.12.2\"",
        22,
        "172.16.12.2 is outside 172.16.10.0/24",
    );
    let with = |extra: &str| BASE.replace("[[host]]", &format!("{extra}\n[[host]]"));
    let e = load(&with(
        "[[bgpaas]]\nname = \"b\"\nvm = \"nosuch\"\nasn = 65000\npeers = [\"172.16.10.1\"]",
    ))
    .err()
    .unwrap();
    assert!(
        e.message
            .contains("BGPaaS b names VM nosuch, which does not exist"),
        "{e}"
    );
    let e = load(&with(
        "[[bgpaas]]\nname = \"b\"\nvm = \"vm1\"\nasn = 65000\npeers = [\"172.16.10.9\"]",
    ))
    .err()
    .unwrap();
    assert!(e.message.contains("BGPaaS b peers with 172.16.10.9"), "{e}");
    let vrf = |network: &str, label: u32| {
        BASE.replace(
            "[[compute]]",
            &format!(
                "[[gateway.vrf]]\nname = \"v\"\nnetwork = \"{network}\"\nlabel = {label}\n[[compute]]"
            ),
        )
    };
    let e = load(&vrf("nosuch", 16)).err().unwrap();
    assert!(
        e.message
            .contains("gateway VRF v is bound to network nosuch, which does not exist"),
        "{e}"
    );
    let e = load(&vrf("public", 3)).err().unwrap();
    assert!(e.message.contains("label 3 is outside 16..1048575"), "{e}");
    // A gateway's routes are kept by VRF name: two VRFs of one name refused.
    let twice = vrf("public", 16).replace(
        "[[compute]]",
        "[[gateway.vrf]]\nname = \"v\"\nnetwork = \"public\"\nlabel = 17\n[[compute]]",
    );
    let e = load(&twice).err().unwrap();
    assert!(e.message.contains("v on gateway gw-01"), "{e}");
    bad(
        "link = \"gw-01:ge-0/0/1\"",
        "link = \"compute01:eth1\"",
        33,
        "host earth cannot link to compute node compute01",
    );
    let two = BASE
        .replace(
            "mac = \"02:00:00:00:00:03\"",
            "mac = \"02:00:00:00:00:03\"\nroutes = [\"192.168.1.1 dev cali0 scope link\"]",
        )
        .replace(
            "[[host]]",
            "[[host]]\nname = \"c1\"\nip = \"192.168.1.1/32\"\nlink = \"vm1:cali0\"\n[[host]]\nname = \"c2\"\nip = \"192.168.1.2/32\"\nlink = \"vm1:cali0\"\n[[host]]",
        );
    let e = load(&two).err().unwrap();
    assert!(e.message.contains("vm1:cali0 is already in use"), "{e}");
}

#[test]
fn policies_load_and_bad_ones_name_the_rule() {
    let policy = |rule: &str, net: &str| {
        format!("{BASE}[[policy]]\nname = \"p\"\nnetworks = [\"{net}\"]\nrules = [\"{rule}\"]\n")
    };
    let f = load(&policy("deny icmp any <> 203.0.113.0/24", "public")).expect("a policy");
    assert_eq!(f.control().config().policies[0].rules.len(), 1);
    let line_of =
        |text: &str, key: &str| 1 + text.lines().position(|l| l.starts_with(key)).unwrap_or(0);
    for (text, key, says) in [
        (policy("deny icmp any", "public"), "rules", "five words"),
        (
            policy("deny icmp red > any", "public"),
            "rules",
            "names network red",
        ),
        (
            policy("deny icmp any > any", "red"),
            "networks",
            "attached to network red",
        ),
    ] {
        let e = load(&text).err().unwrap_or_else(|| panic!("{text} loaded"));
        assert_eq!(e.line, line_of(&text, key), "{e}");
        assert!(e.message.contains(says), "{e}");
    }
}

/// IPv6 addresses, subnets and routes: each refusal placed and named.
#[test]
fn ipv6_addresses_outside_missing_or_reserved() {
    // An IPv6 address on a network without subnet6.
    bad(
        "ip = \"172.16.10.3\"",
        "ip = \"172.16.10.3\"\nip6 = \"fd00::3\"",
        27,
        "VM vm1's IPv6 address fd00::3: network public has no subnet6",
    );
    let dual = BASE.replace("vxlan_id = 4", "vxlan_id = 4\nsubnet6 = \"fd00:1::/64\"");
    let bad6 = |from: &str, to: &str, says: &str| {
        let e = load(&dual.replacen(from, to, 1))
            .err()
            .unwrap_or_else(|| panic!("{to:?} loaded"));
        assert!(e.message.contains(says), "{e}");
    };
    bad6(
        "ip = \"172.16.10.3\"",
        "ip = \"172.16.10.3\"\nip6 = \"fd00:2::3\"",
        "VM vm1's IPv6 address fd00:2::3: it is outside fd00:1::/64",
    );
    bad6(
        "ip = \"172.16.10.3\"",
        "ip = \"172.16.10.3\"\nip6 = \"fd00:1::1\"",
        "VM port vm1's address fd00:1::1: it is the network's gateway address",
    );
    bad6(
        "subnet6 = \"fd00:1::/64\"",
        "subnet6 = \"fd00:1::/64\"\ndns6 = \"fd00:9::2\"",
        "IPv6 DNS address fd00:9::2 is outside fd00:1::/64",
    );
    bad(
        "vxlan_id = 4",
        "vxlan_id = 4\ngateway6 = \"fd00::1\"",
        22,
        "network public has an IPv6 gateway or DNS address but no subnet6",
    );
    bad(
        "ip = \"172.16.10.3\"",
        "ip = \"172.16.10.3\"\nip6 = \"172.16.10.4\"",
        27,
        "invalid IPv6 address",
    );
    // An IPv6 route whose gateway is IPv4, on the host that names it.
    let text = BASE.replace(
        "link = \"gw-01:ge-0/0/1\"",
        "link = \"gw-01:ge-0/0/1\"\nroutes = [\"2001:db8::/32 via 203.0.113.1\"]",
    );
    let e = load(&text).err().unwrap();
    assert!(
        e.message
            .contains("the gateway is not of the destination's family"),
        "{e}"
    );
    // A dual-stack file loads, and the VM has its IPv6 address.
    let ok = dual.replace(
        "ip = \"172.16.10.3\"",
        "ip = \"172.16.10.3\"\nip6 = \"fd00:1::3\"",
    );
    let f = load(&ok).unwrap();
    let vm = f.host("vm1").unwrap();
    assert_eq!(
        vm.iface("eth0")
            .and_then(|i| i.addr6)
            .map(|a| a.to_string()),
        Some("fd00:1::3/64".to_owned())
    );
}
