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
        "--bgpaas-down",
        "dockerhost",
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
        "--bgpaas-down",
        "dockerhost",
        "--rpf",
        "off",
        "--network",
        "public",
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

#[test]
fn trace_shows_both_directions_and_what_ifs() {
    let out = stdout(&[
        "trace",
        "--scenario",
        "seed-bgpaas",
        "--from",
        "earth",
        "--to",
        "192.168.100.1",
    ]);
    assert!(
        out.contains("push MPLSoGRE label 35 10.0.0.1 > 10.0.0.21"),
        "{out}"
    );
    assert!(
        out.contains("=> delivered to centos-ssh (192.168.100.1)"),
        "{out}"
    );
    assert!(
        out.contains("=> delivered to earth (203.0.113.10)"),
        "{out}"
    );
    let out = stdout(&[
        "--bgpaas-down",
        "dockerhost",
        "trace",
        "--from",
        "centos-ssh",
        "--to",
        "203.0.113.10",
    ]);
    assert!(
        out.contains("=> dropped by compute01: Invalid Source"),
        "{out}"
    );
    let out = stdout(&[
        "--withdraw",
        "dockerhost:192.168.100.0/26",
        "--rpf",
        "off",
        "--network",
        "public",
        "trace",
        "--from",
        "centos-ssh",
        "--to",
        "203.0.113.10",
        "--proto",
        "udp",
        "--port",
        "53",
    ]);
    assert!(out.contains("UDP to port 53"), "{out}");
    assert!(
        out.contains("=> delivered to earth (203.0.113.10)"),
        "{out}"
    );
    let out = stdout(&[
        "--scenario",
        "k8s-rr",
        "--withdraw",
        "rtr01:10.233.64.0/26",
        "trace",
        "--from",
        "pod-a",
        "--to",
        "10.233.64.5",
    ]);
    assert!(out.contains("best of 1 path: BGPaaS rtr02"), "{out}");
    assert!(out.contains("=> delivered to pod-b (10.233.64.5)"), "{out}");
    let out = stdout(&["show-route", "192.168.100.0/26"]);
    assert!(out.contains("> via gr-0/0/10.32769, Push 35"), "{out}");
    assert!(stdout(&["scenarios"]).contains("k8s-rr"));
    assert!(
        stdout(&[
            "--scenario",
            "k8s-rr",
            "--node",
            "compute03",
            "vif",
            "--list"
        ])
        .contains("vif0/3")
    );
}

#[test]
fn bad_scenarios_and_what_ifs_fail() {
    for args in [
        &["--scenario", "nosuch.toml", "vif", "--list"][..],
        &["--bgpaas-down", "nosuchvm", "vif", "--list"],
        &["--withdraw", "dockerhost:10.9.9.0/24", "vif", "--list"],
        &["--withdraw", "dockerhost", "vif", "--list"],
        &["--rpf", "off", "--network", "nosuch", "vif", "--list"],
        &["--node", "compute09", "vif", "--list"],
        &["trace", "--from", "mars", "--to", "192.168.100.1"],
    ] {
        let out = vrsim(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("vrsim: "),
            "{args:?}"
        );
    }
}

#[test]
fn a_missing_scenario_file_is_named_with_the_os_error_and_no_position() {
    let out = vrsim(&["--scenario", "/nonexistent.toml", "scenarios"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("vrsim: /nonexistent.toml: No such file or directory"),
        "{err}"
    );
    assert!(!err.contains(":0:0"), "{err}");
}

#[test]
fn completions_and_the_man_page_need_no_scenario() {
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout(&["--scenario", "/nonexistent.toml", "completions", shell]);
        assert!(
            script.contains("vrsim") && script.contains("show-route"),
            "{shell}: {script}"
        );
    }
    let page = stdout(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains(".TH vrsim"),
        "{page}"
    );
    assert!(page.contains("trace"), "{page}");
}

#[test]
fn a_trace_capture_dissects_with_vrsims_own_dissector() {
    let dir = std::env::temp_dir().join(format!("vrsim-dissect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let capture = dir.join("trace.pcapng");
    let path = capture.to_str().expect("a UTF-8 path");
    stdout(&[
        "trace",
        "--from",
        "earth",
        "--to",
        "192.168.100.1",
        "--pcap",
        path,
    ]);
    let text = stdout(&["dissect", path]);
    assert!(text.starts_with("frame 1 ("), "{text}");
    assert!(
        text.contains(" on earth:eth0 <-> gw-01:ge-0/0/1):"),
        "{text}"
    );
    assert!(text.contains("mpls label 35 tc 0 ttl 63 [S]"), "{text}");
    let out = vrsim(&["dissect", "/nonexistent.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `diff --all`: every flow between scenario A's hosts, before and after
/// the Docker VM's BGPaaS session goes down, in a golden file.
#[test]
fn diff_all_flows() {
    let out = vrsim(&["--bgpaas-down", "dockerhost", "diff", "--all"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    vrsim_testkit::golden::assert_golden("seed-bgpaas/diff-all-bgpaas-down.txt", &text);
    let same = vrsim(&["diff", "--all"]);
    assert_eq!(same.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&same.stdout).contains("0 of 12 flows changed"));
    let both = vrsim(&["diff", "--all", "--from", "earth", "--to", "192.168.100.1"]);
    assert_eq!(both.status.code(), Some(2));
}

/// `diff --flows` over the `bgpaas-ha` scenario's flows file: with vnf-a's
/// session down every flow that went to vnf-a goes to vnf-b.
#[test]
fn diff_flows_file_of_the_ha_scenario() {
    let flows = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/bgpaas-ha.flows"
    );
    let args = [
        "--scenario",
        "bgpaas-ha",
        "--bgpaas-down",
        "vnf-a",
        "diff",
        "--flows",
        flows,
    ];
    let out = vrsim(&args);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    vrsim_testkit::golden::assert_golden("bgpaas-ha/diff-vnf-a-down.txt", &text);
}

#[test]
fn diff_exit_codes() {
    let same = vrsim(&["diff", "--from", "earth", "--to", "192.168.100.1"]);
    assert_eq!(same.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&same.stdout).contains("0 of 1 flows changed"));
    let changed = vrsim(&[
        "--bgpaas-down",
        "dockerhost",
        "diff",
        "--from",
        "centos-ssh",
        "--to",
        "203.0.113.10",
    ]);
    assert_eq!(changed.status.code(), Some(1));
    let out = String::from_utf8_lossy(&changed.stdout);
    assert!(
        out.contains("flow centos-ssh 203.0.113.10 icmp: forward changed"),
        "{out}"
    );
    assert!(out.contains("1 of 1 flows changed"), "{out}");
    let flows = std::env::temp_dir().join(format!("vrsim-flows-{}.txt", std::process::id()));
    std::fs::write(
        &flows,
        "# two flows\nearth 192.168.100.1\ncentos-ssh 203.0.113.10 udp 53\n",
    )
    .unwrap();
    let out = vrsim(&[
        "--rpf",
        "off",
        "--network",
        "public",
        "diff",
        "--flows",
        flows.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::write(&flows, "earth 192.168.100.1 sctp 9\n").unwrap();
    assert_eq!(
        vrsim(&["diff", "--flows", flows.to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
    std::fs::remove_file(&flows).unwrap();
    assert_eq!(
        vrsim(&["diff", "--flows", "/nonexistent/flows"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn trace_json_and_pcap() {
    let out = stdout(&[
        "trace",
        "--from",
        "earth",
        "--to",
        "192.168.100.1",
        "--format",
        "json",
    ]);
    assert!(
        out.starts_with('{') && out.contains("\"schema\": \"vrsim-trace/1\""),
        "{out}"
    );
    let pcap = std::env::temp_dir().join(format!("vrsim-{}.pcapng", std::process::id()));
    stdout(&[
        "trace",
        "--from",
        "earth",
        "--to",
        "192.168.100.1",
        "--pcap",
        pcap.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&pcap).unwrap();
    // A pcapng section header block.
    assert_eq!(&bytes[..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
    std::fs::remove_file(&pcap).unwrap();
}

/// `vrsim flow -l` after the seed ping: the pair the agent installed, in
/// the vRouter's layout; with the BGPaaS session down, the container's
/// flow gets the default route's tunnel as S(nh), so its packets fail RPF.
#[test]
fn flow_list_after_the_seed_ping() {
    let out = stdout(&["flow", "-l", "--after", "earth:192.168.100.1"]);
    vrsim_testkit::golden::assert_golden("seed-bgpaas/flow-l-after-ping.txt", &out);
    let out = stdout(&[
        "--bgpaas-down",
        "dockerhost",
        "flow",
        "-l",
        "--after",
        "centos-ssh:203.0.113.10",
    ]);
    vrsim_testkit::golden::assert_golden("seed-bgpaas/flow-l-bgpaas-down.txt", &out);
    let bad = vrsim(&["flow", "-l", "--after", "earth"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected HOST:ADDRESS"));
}

/// `vrsim flow --get N` after the seed ping: the container's reply flow in
/// full, with the routes its addresses match; an index not in use is refused
/// as `flow` refuses it.
#[test]
fn flow_get_after_the_seed_ping() {
    let out = stdout(&["flow", "--get", "87820", "--after", "earth:192.168.100.1"]);
    vrsim_testkit::golden::assert_golden("seed-bgpaas/flow-get-after-ping.txt", &out);
    let bad = vrsim(&["flow", "--get", "5", "--after", "earth:192.168.100.1"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stdout).contains("Flow index 5 is not active"));
}

/// A deny rule as a what-if: `vrsim diff` shows the flow it cuts, and why.
#[test]
fn a_deny_rule_shows_in_diff() {
    let deny = ["--network", "public", "--deny", "icmp any <> 203.0.113.10"];
    let mut args = vec!["diff", "--from", "earth", "--to", "192.168.100.1"];
    args.extend(deny);
    let out = vrsim(&args);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("dropped by compute01: Flow Action Drop"),
        "{text}"
    );
    assert!(
        text.contains("action D(Policy) (policy what-if rule 1 denies)"),
        "{text}"
    );
    let bad = vrsim(&[
        "--network",
        "public",
        "--deny",
        "icmp any",
        "trace",
        "--from",
        "earth",
        "--to",
        "192.168.100.1",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--deny icmp any: expected"));
    let bad = vrsim(&[
        "--network",
        "red",
        "--deny",
        "icmp any > any",
        "trace",
        "--from",
        "earth",
        "--to",
        "192.168.100.1",
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("network red"));
}

#[test]
fn ipv6_trace_what_ifs_and_gateway_routes() {
    let to_container = ["trace", "--from", "earth", "--to", "fd80:24e2:f998:72d6::1"];
    let out = stdout(&to_container);
    assert!(
        out.contains("route lookup inet6.0 fd80:24e2:f998:72d6::1 -> fd80:24e2:f998:72d6::/122"),
        "{out}"
    );
    assert!(
        out.contains("=> delivered to centos-ssh (fd80:24e2:f998:72d6::1)"),
        "{out}"
    );
    assert!(
        out.contains("=> delivered to earth (2001:db8:113::10)"),
        "{out}"
    );
    let reply = [
        "--bgpaas-down",
        "dockerhost",
        "trace",
        "--from",
        "centos-ssh",
        "--to",
        "2001:db8:113::10",
    ];
    let out = stdout(&reply);
    assert!(
        out.contains("=> dropped by compute01: Invalid Source"),
        "{out}"
    );
    let out = stdout(&[
        "--withdraw",
        "dockerhost:fd80:24e2:f998:72d6::/122",
        "trace",
        "--from",
        "earth",
        "--to",
        "fd80:24e2:f998:72d6::1",
    ]);
    assert!(
        out.contains("route lookup inet6.0 fd80:24e2:f998:72d6::1 -> no route"),
        "{out}"
    );
    let out = stdout(&["show-route", "fd80:24e2:f998:72d6::/122"]);
    assert!(
        out.starts_with("contrail-public.inet6.0: 2 destinations"),
        "{out}"
    );
    let out = stdout(&["diff", "--from", "earth", "--to", "fd80:24e2:f998:72d6::1"]);
    assert!(out.contains("0 of 1 flows changed"), "{out}");
}

#[test]
fn a_reader_that_goes_away_is_no_panic() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_vrsim"))
        .args(["rt", "--dump", "1", "--family", "inet6"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vrsim");
    // Read one byte and hang up, as `| head -c 1` does.
    let mut first = [0u8; 1];
    let mut out = child.stdout.take().expect("stdout");
    out.read_exact(&mut first).expect("some output");
    drop(out);
    let done = child.wait_with_output().expect("vrsim ends");
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(done.status.code(), Some(101), "{stderr}");
}

#[test]
fn a_generated_scenario_loads_and_traces() {
    let text = stdout(&[
        "generate",
        "--computes",
        "3",
        "--vms-per-compute",
        "2",
        "--networks",
        "2",
    ]);
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated-3.toml");
    std::fs::write(&path, &text).expect("write the scenario");
    let out = stdout(&[
        "--scenario",
        path.to_str().expect("a UTF-8 path"),
        "trace",
        "--from",
        "earth",
        "--to",
        "100.64.0.1",
        "--format",
        "minimal",
    ]);
    assert!(
        out.contains("=> delivered to container (100.64.0.1)"),
        "{out}"
    );
    assert!(
        out.contains("=> delivered to earth (203.0.113.10)"),
        "{out}"
    );
    let bad = vrsim(&["generate", "--computes", "0"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("0 compute nodes (1 to 65535)"),
        "{bad:?}"
    );
}
