//! The `vrsim` binary end to end.

use std::process::{Command, Output};

fn vrsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vrsim"))
        .args(args)
        .output()
        .expect("run vrsim")
}

fn stdout(args: &[&str]) -> String {
    let out = vrsim(args);
    assert!(
        out.status.success(),
        "vrsim {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn dumps() {
    assert!(stdout(&["vif", "--get", "37"]).contains("vif0/37     OS: tapc7807e22-f2\n"));
    assert!(stdout(&["vif", "--list"]).contains("vif0/1      OS: vhost0\n"));
    assert!(stdout(&["nh", "--get", "90"]).contains("EncapFmly:0806 Oif:37 Len:14"));
    assert!(stdout(&["nh", "--list"]).contains("Id:14         Type:Vrf_Translate"));
    let rt = stdout(&["rt", "--dump", "1"]);
    assert_eq!(
        rt.lines()
            .filter(|l| l.split_whitespace().nth(1) == Some("26"))
            .count(),
        64,
        "{rt}"
    );
    assert!(
        stdout(&["rt", "--get", "192.168.100.1/32", "--vrf", "1"]).contains("\n192.168.100.0/26 ")
    );
    assert!(stdout(&["mpls", "--dump"]).ends_with("      35        90\n"));
    assert!(stdout(&["vxlan", "--get", "4"]).ends_with("      4    14\n"));
    assert_eq!(stdout(&["dropstats"]), "");
    assert!(stdout(&["--layout", "current", "vif", "--get", "37"]).contains("Mcast Vrf:1"));
}

#[test]
fn inject_traces_and_counts() {
    let out = stdout(&["inject", "--vif", "0", "--frame", "mx-to-compute01-gre"]);
    assert!(out.contains("mpls label 35 -> nh 90\n"), "{out}");
    assert!(
        out.contains("disposition: transmitted on vif0/37 (98 bytes)"),
        "{out}"
    );
    assert!(out.contains("vif0/37 tx packets: 0 -> 1"), "{out}");
    let out = stdout(&[
        "--without-bgpaas",
        "inject",
        "--vif",
        "37",
        "--frame",
        "container-reply-from-vm",
    ]);
    assert!(
        out.contains("disposition: dropped (Invalid Source)"),
        "{out}"
    );
    assert!(out.contains("dropstats Invalid Source: 0 -> 1"), "{out}");
    assert!(
        out.contains("vif0/37 drops Invalid Source: 0 -> 1"),
        "{out}"
    );
    let out = stdout(&[
        "--without-bgpaas",
        "--rpf-off",
        "inject",
        "--vif",
        "37",
        "--frame",
        "container-reply-from-vm",
    ]);
    assert!(out.contains("disposition: transmitted on vif0/0"), "{out}");
    let out = stdout(&["inject", "--vif", "0", "--hex", "00 11 22"]);
    assert!(out.contains("disposition: dropped (IF Drop)"), "{out}");
}

#[test]
fn unknown_ids_fail() {
    for args in [
        &["nh", "--get", "999"][..],
        &["vif", "--get", "99"],
        &["mpls", "--get", "36"],
        &["vxlan", "--get", "5"],
        &["rt", "--dump", "7"],
        &["inject", "--vif", "0", "--frame", "nope"],
        &["inject", "--vif", "0", "--hex", "abc"],
    ] {
        let out = vrsim(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("vrsim: "),
            "{args:?}"
        );
    }
    assert!(
        String::from_utf8_lossy(&vrsim(&["nh", "--get", "999"]).stderr)
            .contains("nh 999: no such nexthop")
    );
}
