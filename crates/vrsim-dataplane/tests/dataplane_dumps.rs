//! compute01's dumps: golden files of vrsim's exact output, and the lines the
//! seed document (000) shows, which they must reproduce. Values the scenario
//! plan calls the simulator's own (`Ref_cnt`, `Ref`, counters) are masked
//! when comparing with the document; trailing spaces (the vRouter prints
//! `Flags:Valid, Policy, `) are not in the document's capture.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use vrsim_dataplane::dump::{self, Layout};
use vrsim_dataplane::{DataplaneError, ObjectKey};
use vrsim_testkit::compute01;
use vrsim_testkit::golden::assert_golden;
use vrsim_testkit::ids::*;

/// Compare with `tests/golden/compute01/NAME`; `VRSIM_BLESS=1` rewrites it.
fn golden(name: &str, actual: &str) {
    assert_golden(&format!("compute01/{name}"), actual);
}

/// Mask the values the plan calls the simulator's own (each number after
/// `Ref_cnt:`, `Ref:`, `packets:` and `bytes:`, with the padding after it),
/// and trailing spaces.
fn normalized(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut rest = line.trim_end();
        'scan: while !rest.is_empty() {
            for key in ["Ref_cnt:", "Ref:", "packets:", "bytes:"] {
                if let Some(after) = rest.strip_prefix(key) {
                    let digits =
                        after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                    if digits > 0 {
                        out.push_str(key);
                        out.push('N');
                        rest = after[digits..].trim_start_matches(' ');
                        if !rest.is_empty() {
                            out.push(' ');
                        }
                        continue 'scan;
                    }
                }
            }
            let mut chars = rest.chars();
            out.extend(chars.next());
            rest = chars.as_str();
        }
        out.push('\n');
    }
    out
}

/// Whether `lines` appear in `text` in order (after normalising both).
fn shows(text: &str, lines: &str) {
    let have = normalized(text);
    let have: Vec<&str> = have.lines().collect();
    let want = normalized(lines);
    let mut at = 0;
    for w in want.lines() {
        match have[at..].iter().position(|h| *h == w) {
            Some(i) => at += i + 1,
            None => panic!("missing line {w:?} in:\n{text}"),
        }
    }
}

#[test]
fn nh_90_as_the_document_shows() {
    let text = dump::nh_get(&compute01(), nh(90)).unwrap();
    golden("nh-get-90.txt", &text);
    shows(
        &text,
        "Id:90         Type:Encap          Fmly: AF_INET  Rid:0  Ref_cnt:263        Vrf:1
              Flags:Valid, Policy,
              EncapFmly:0806 Oif:37 Len:14
              Encap Data: 02 c7 80 7e 22 f2 00 00 5e 00 01 00 08 00",
    );
}

#[test]
fn nh_14_as_the_document_shows() {
    let text = dump::nh_get(&compute01(), nh(14)).unwrap();
    golden("nh-get-14.txt", &text);
    // The document's Ref_cnt (2) is also what vrsim counts: VNID 4, plus the agent's hold.
    assert!(text.contains("Ref_cnt:2 "), "{text}");
    shows(
        &text,
        "Id:14         Type:Vrf_Translate  Fmly: AF_INET  Rid:0  Ref_cnt:2          Vrf:1
              Flags:Valid, Vxlan, Unicast Flood,
              Vrf:1",
    );
}

#[test]
fn vif_37_as_the_document_shows() {
    let text = dump::vif_get(&compute01(), vif(37), Layout::Legacy).unwrap();
    golden("vif-get-37.txt", &text);
    shows(
        &text,
        "Vrouter Interface Table
Flags: P=Policy, X=Cross Connect, S=Service Chain, Mr=Receive Mirror
       Mt=Transmit Mirror, Tc=Transmit Checksum Offload, L3=Layer 3, L2=Layer 2
       D=DHCP, Vp=Vhost Physical, Pr=Promiscuous, Vnt=Native Vlan Tagged
       Mnp=No MAC Proxy, Dpdk=DPDK PMD Interface, Rfl=Receive Filtering Offload, Mon=Interface is Monitored
       Uuf=Unknown Unicast Flood, Vof=VLAN insert/strip offload, Df=Drop New Flows, Proxy=MAC Requests Proxied Always
vif0/37     OS: tapc7807e22-f2
            Type:Virtual HWaddr:00:00:5e:00:01:00 IPaddr:0
            Vrf:1 Flags:PL3L2DUuf MTU:9160 QOS:-1 Ref:5
            RX packets:210872  bytes:15967444 errors:0
            TX packets:328042  bytes:568026520 errors:0",
    );
    let current = dump::vif_get(&compute01(), vif(37), Layout::Current).unwrap();
    golden("vif-get-37-current.txt", &current);
    assert!(
        current.contains("            Vrf:1 Mcast Vrf:1 Flags:PL3L2DUuf QOS:-1 Ref:3\n"),
        "{current}"
    );
    assert!(
        current.contains("IPaddr:0.0.0.0\n") && current.contains("            Drops:0\n"),
        "{current}"
    );
}

#[test]
fn vxlan_4_as_the_document_shows() {
    let text = dump::vxlan_get(&compute01(), vni(4)).unwrap();
    golden("vxlan-get-4.txt", &text);
    assert_eq!(
        text,
        "VXLAN Table\n\n VNID    NextHop\n----------------\n      4    14\n"
    );
}

#[test]
fn rt_dump_1_rows_as_the_document_shows() {
    let text = dump::rt_dump(&compute01(), public(), Layout::Legacy).unwrap();
    golden("rt-dump-1.txt", &text);
    shows(
        &text,
        "Flags: L=Label Valid, P=Proxy ARP, T=Trap ARP, F=Flood ARP
vRouter inet4 routing table 0/1/unicast
Destination           PPL        Flags        Label         Nexthop    Stitched MAC(Index)
172.16.10.3/32         32            P          -             90        2:c7:80:7e:22:f2(231688)
192.168.100.0/32       26                       -             90        -",
    );
    // The /26 is 64 rows of /32 with PPL 26; the rest of its /24 is the default route's.
    let rows26: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("192.168.100."))
        .collect();
    assert_eq!(rows26.len(), 256);
    assert_eq!(rows26.iter().filter(|l| l.contains("  26  ")).count(), 64);
    assert_eq!(
        rows26[64],
        "192.168.100.64/32       0            L         16             20        -"
    );
    assert!(
        text.contains(
            "\n1.0.0.0/8               0            L         16             20        -\n"
        ),
        "{text}"
    );
}

#[test]
fn rt_get_shows_the_true_prefix_with_ppl_0() {
    let text = dump::rt_get(
        &compute01(),
        public(),
        "192.168.100.1/32".parse().unwrap(),
        Layout::Legacy,
    )
    .unwrap();
    golden("rt-get-192.168.100.1.txt", &text);
    assert!(
        text.starts_with("Match 192.168.100.1/32 in vRouter inet4 table 0/1/unicast\n\n"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "\n192.168.100.0/26        0                       -             90        -\n"
        ),
        "{text}"
    );
}

#[test]
fn mpls_and_lists() {
    let r = compute01();
    golden("mpls-dump.txt", &dump::mpls_dump(&r));
    assert!(dump::mpls_dump(&r).ends_with("      35        90\n"));
    golden("nh-list.txt", &dump::nh_list(&r));
    golden("vif-list.txt", &dump::vif_list(&r, Layout::Legacy));
    golden("vxlan-dump.txt", &dump::vxlan_dump(&r));
    assert_eq!(dump::dropstats(&r), "");
}

#[test]
fn unknown_ids_are_errors() {
    let r = compute01();
    assert_eq!(
        dump::nh_get(&r, nh(999)).unwrap_err(),
        DataplaneError::NotFound {
            object: ObjectKey::Nh(nh(999))
        }
    );
    assert_eq!(
        dump::vif_get(&r, vif(99), Layout::Legacy)
            .unwrap_err()
            .to_string(),
        "vif 99: no such interface"
    );
    assert!(dump::mpls_get(&r, label(36)).is_err());
    assert!(dump::vxlan_get(&r, vni(5)).is_err());
    assert!(dump::rt_dump(&r, vrsim_dataplane::VrfId::from(9), Layout::Legacy).is_err());
}

/// compute01 with an inet6 table in the public VRF: the default through the
/// gateway's tunnel, fd00::/8 and fd01::/16 to the VM.
fn compute01_inet6() -> vrsim_dataplane::VRouter {
    use vrsim_testkit::seed::{NH_TUNNEL_GW, NH_VM, add_public_route6};
    let mut r = compute01();
    add_public_route6(&mut r, "::/0", NH_TUNNEL_GW, Some(16));
    add_public_route6(&mut r, "fd00::/8", NH_VM, None);
    add_public_route6(&mut r, "fd01::/16", NH_VM, None);
    r
}

#[test]
fn rt_dump_inet6_walks_the_sixteen_level_mtrie() {
    let text = dump::rt_dump6(&compute01_inet6(), public(), Layout::Current).unwrap();
    golden("rt-dump-1-inet6.txt", &text);
    assert!(text.contains("vRouter inet6 routing table 0/1/unicast\n"));
    // Level 0 has 255 slots besides fd::/8's bucket; that bucket has 256.
    assert_eq!(text.lines().count(), 3 + 255 + 256);
    shows(
        &text,
        "::/8                    0            L         16             20        -
100::/8                 0            L         16             20        -",
    );
    assert!(
        text.contains(
            "\nfd00::/16               8                       -             90        -\n"
        )
    );
    assert!(
        text.contains(
            "\nfd01::/16              16                       -             90        -\n"
        )
    );
    let get = dump::rt_get6(
        &compute01_inet6(),
        public(),
        "fd01:1::/64".parse().unwrap(),
        Layout::Current,
    )
    .unwrap();
    assert!(get.starts_with("Match fd01:1::/64 in vRouter inet6 table 0/1/unicast\n\n"));
    assert!(
        get.ends_with(
            "fd01::/16               0                       -             90        -\n"
        ),
        "{get}"
    );
}
