//! The trace outputs of issue 6: JSON (round trip through serde, schema
//! check, same content as the text form), pcapng per hop checked by tshark,
//! and what-if diffs.

// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use vrsim::fabric::capture;
use vrsim::fabric::diff::{Flow, diff};
use vrsim::fabric::json::{self, Document, SCHEMA};
use vrsim::fabric::packet::Probe;
use vrsim::seed;

use vrsim_testkit::tools::{bad_frames, bad_frames_decoded, tshark};

fn seed_document() -> (String, vrsim::fabric::RoundTrip) {
    document_to(seed::CONTAINER_IP.into())
}

/// The JSON document of earth's ping to `to` in scenario A, and the trip.
fn document_to(to: std::net::IpAddr) -> (String, vrsim::fabric::RoundTrip) {
    let mut f = vrsim::scenarios::load("seed-bgpaas").unwrap();
    let trip = f.probe("earth", to, Probe::Icmp).unwrap();
    let doc = json::document(
        f.name(),
        "earth",
        to,
        Probe::Icmp,
        &trip.forward,
        trip.reply.as_ref(),
    );
    (serde_json::to_string_pretty(&doc).unwrap(), trip)
}

#[test]
fn ipv6_json_names_icmpv6_and_neighbour_discovery() {
    let (text, _) = document_to(seed::CONTAINER_IP6.into());
    let doc: Document = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_string_pretty(&doc).unwrap(), text);
    assert_eq!(
        (doc.probe.protocol.as_str(), doc.probe.to.as_str()),
        ("icmpv6", "fd80:24e2:f998:72d6::1")
    );
    assert_eq!(
        doc.reply.as_ref().unwrap().outcome.ip.as_deref(),
        Some("2001:db8:113::10")
    );
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut kinds = Vec::new();
    for dir in ["forward", "reply"] {
        for hop in value[dir]["hops"].as_array().unwrap() {
            for step in hop["steps"].as_array().unwrap() {
                kinds.push(step["step"].as_str().unwrap().to_owned());
            }
        }
    }
    assert!(kinds.iter().any(|k| k == "nd"), "{kinds:?}");
    assert!(!kinds.iter().any(|k| k == "arp"), "{kinds:?}");
}

#[test]
fn json_round_trips_and_matches_the_schema() {
    let (text, trip) = seed_document();
    // Deterministic: the same run gives the same bytes.
    assert_eq!(text, seed_document().0);
    // Round trip through serde into the typed schema (unknown fields refused).
    let doc: Document = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_string_pretty(&doc).unwrap(), text);
    assert_eq!(doc.schema, SCHEMA);
    assert_eq!(doc.probe.protocol, "icmp");
    assert_eq!(doc.forward.outcome.outcome, "delivered");
    assert_eq!(doc.forward.outcome.device, "centos-ssh");
    assert_eq!(
        doc.reply.as_ref().unwrap().outcome.ip.as_deref(),
        Some("203.0.113.10")
    );

    // Schema check on the raw JSON: every step has its text and kind, every
    // frame its length, headers and hex, and the step kinds are documented ones.
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let kinds = [
        "send",
        "rx",
        "inet_lookup",
        "bridge_lookup",
        "decap",
        "label",
        "vnid",
        "vrf_translate",
        "ttl",
        "ecmp",
        "nexthop",
        "rewrite",
        "push",
        "arp_proxy",
        "tx",
        "trap",
        "to_host",
        "drop",
        "route_origin",
        "encap",
        "multipath",
        "lookup",
        "arp",
        "pop",
        "switch",
        "flow",
        "flow_held",
        "flow_rpf",
        "held",
        "agent",
    ];
    for dir in ["forward", "reply"] {
        for hop in value[dir]["hops"].as_array().unwrap() {
            assert!(hop["device"].is_string());
            let frame = &hop["frame"];
            assert_eq!(
                frame["length"].as_u64().unwrap() as usize * 2,
                frame["hex"].as_str().unwrap().len()
            );
            for step in hop["steps"].as_array().unwrap() {
                assert!(step["text"].is_string(), "{step}");
                assert!(kinds.contains(&step["step"].as_str().unwrap()), "{step}");
            }
        }
    }
    // The same content as the text form: every step line of the text trace is a JSON step text.
    let texts: Vec<&str> = doc
        .forward
        .hops
        .iter()
        .flat_map(|h| h.steps.iter().map(|s| s.text.as_str()))
        .collect();
    for line in trip
        .forward
        .to_string()
        .lines()
        .filter(|l| l.starts_with("      "))
    {
        assert!(texts.contains(&line.trim()), "{line}");
    }
    // A dropped trace carries the dropstats name and the cause.
    let mut f = vrsim::scenarios::load("seed-bgpaas").unwrap();
    f.bgpaas_down("dockerhost").unwrap();
    let t = f
        .probe("centos-ssh", "203.0.113.10".parse().unwrap(), Probe::Icmp)
        .unwrap();
    let o = json::trace(&t.forward).outcome;
    assert_eq!(
        (o.outcome.as_str(), o.dropstats.as_deref()),
        ("dropped", Some("Invalid Source"))
    );
    assert!(
        o.cause
            .unwrap()
            .starts_with("rpf flow 87820 source 192.168.100.1")
    );
}

fn write_capture(name: &str, trip: &vrsim::fabric::RoundTrip) -> PathBuf {
    let frames = capture::link_frames([
        ("forward", &trip.forward),
        ("reply", trip.reply.as_ref().unwrap()),
    ]);
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    capture::write_pcapng(std::fs::File::create(&path).unwrap(), &frames).unwrap();
    path
}

#[test]
fn pcapng_per_hop_dissects_in_tshark() {
    let (_, trip) = seed_document();
    let plain = "eth:ethertype:ip:icmp:data";
    let gre = "eth:ethertype:ip:gre:mpls:ip:icmp:data";
    dissects_per_hop("seed-trace.pcapng", &trip, plain, gre);
}

#[test]
fn ipv6_pcapng_per_hop_dissects_in_tshark() {
    let (_, trip) = document_to(seed::CONTAINER_IP6.into());
    let plain = "eth:ethertype:ipv6:icmpv6:data";
    let gre = "eth:ethertype:ip:gre:mpls:ipv6:icmpv6:data";
    dissects_per_hop("seed-trace-v6.pcapng", &trip, plain, gre);
}

/// The scenario A round trip's capture, one frame per link crossed, has
/// the `plain` protocol chain outside the tunnel and `gre` inside it, the
/// labels 35 and 16, a hop comment on every frame, and nothing tshark flags.
fn dissects_per_hop(name: &str, trip: &vrsim::fabric::RoundTrip, plain: &str, gre: &str) {
    let path = write_capture(name, trip);
    let p = path.to_str().unwrap();
    let out = tshark(&[
        "-r",
        p,
        "-T",
        "fields",
        "-e",
        "frame.interface_name",
        "-e",
        "frame.protocols",
        "-e",
        "mpls.label",
        "-e",
        "frame.comment",
    ]);
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    let want = [
        ("earth:eth0 <-> gw-01:ge-0/0/1", plain, ""),
        ("fabric:gw-01 <-> gw-01:ge-0/0/0", gre, "35"),
        ("compute01:vif0/0 <-> fabric:compute01", gre, "35"),
        ("compute01:vif0/37 <-> dockerhost:eth0", plain, ""),
        ("centos-ssh:eth0 <-> dockerhost:calid0d7ccaeef3", plain, ""),
        ("centos-ssh:eth0 <-> dockerhost:calid0d7ccaeef3", plain, ""),
        ("compute01:vif0/37 <-> dockerhost:eth0", plain, ""),
        ("compute01:vif0/0 <-> fabric:compute01", gre, "16"),
        ("fabric:gw-01 <-> gw-01:ge-0/0/0", gre, "16"),
        ("earth:eth0 <-> gw-01:ge-0/0/1", plain, ""),
    ];
    assert_eq!(rows.len(), want.len(), "{out}");
    for (i, (row, (link, chain, label))) in rows.iter().zip(want).enumerate() {
        assert_eq!(
            (row[0], row[1], row[2]),
            (link, chain, label),
            "frame {}: {out}",
            i + 1
        );
        assert!(
            row[3].contains(" hop "),
            "frame {} has no hop comment: {out}",
            i + 1
        );
    }
    let bad = bad_frames(&path);
    assert!(bad.is_empty(), "tshark flags frames {bad:?}");
}

#[test]
fn diff_reports_what_changed_and_why() {
    let before = vrsim::scenarios::load("seed-bgpaas").unwrap();
    let mut after = before.clone();
    let flows = vec![
        Flow {
            from: "earth".into(),
            to: seed::CONTAINER_IP.into(),
            probe: Probe::Icmp,
        },
        Flow {
            from: "centos-ssh".into(),
            to: "203.0.113.10".parse().unwrap(),
            probe: Probe::Icmp,
        },
        Flow {
            from: "dockerhost".into(),
            to: seed::VN_GATEWAY_IP.into(),
            probe: Probe::Tcp(179),
        },
    ];
    assert_eq!(diff(&before, &after, &flows).unwrap(), []);
    after.bgpaas_down("dockerhost").unwrap();
    let changed = diff(&before, &after, &flows).unwrap();
    let text: Vec<String> = changed.iter().map(ToString::to_string).collect();
    assert_eq!(changed.len(), 2, "{text:#?}");
    assert_eq!(changed[0].flow.from, "earth");
    assert!(
        changed[0].after.starts_with("dropped by gw-01: no route"),
        "{}",
        text[0]
    );
    assert!(
        text[0]
            .contains("why:    at gw-01: `route lookup inet.0 192.168.100.1 -> 192.168.100.0/26"),
        "{}",
        text[0]
    );
    assert_eq!(changed[1].flow.from, "centos-ssh");
    assert!(
        text[1].contains("S(nh) 90, reverse S(nh) 20` became `agent: flow 87820<=>512228 action F (no policy rule of network public matches: allowed), S(nh) 20, reverse S(nh) 20`"),
        "{}",
        text[1]
    );
}

#[test]
fn diff_covers_ipv6_flows_as_ipv4_ones() {
    let before = vrsim::scenarios::load("seed-bgpaas").unwrap();
    let mut after = before.clone();
    let flows = vec![
        Flow {
            from: "earth".into(),
            to: seed::CONTAINER_IP6.into(),
            probe: Probe::Icmp,
        },
        Flow {
            from: "centos-ssh".into(),
            to: seed::EARTH_IP6.into(),
            probe: Probe::Tcp(22),
        },
    ];
    assert_eq!(diff(&before, &after, &flows).unwrap(), []);
    after.bgpaas_down("dockerhost").unwrap();
    let changed = diff(&before, &after, &flows).unwrap();
    let text: Vec<String> = changed.iter().map(ToString::to_string).collect();
    assert_eq!(changed.len(), 2, "{text:#?}");
    assert!(
        text[0].contains("why:    at gw-01: `route lookup inet6.0 fd80:24e2:f998:72d6::1 -> fd80:24e2:f998:72d6::/122"),
        "{}",
        text[0]
    );
    assert!(
        changed[1]
            .after
            .starts_with("dropped by compute01: Invalid Source"),
        "{}",
        text[1]
    );
}

/// Bridged traffic between compute nodes (scenario B, pod to pod): the
/// Ethernet frame right after the label, without a control word, as the
/// vRouter sends it when the agent sets no `NH_FLAG_L2_CONTROL_DATA`.
/// tshark's own heuristic takes a payload starting with the nibble 0 for a
/// control word, so it is told the labels carry Ethernet without one
/// (`-d mpls.label==N,pwethnocw`); then it reads what vrsim reads.
#[test]
fn bridged_mpls_frames_dissect_in_tshark_as_ethernet_without_control_word() {
    let mut f = vrsim::scenarios::load("k8s-rr").unwrap();
    let trip = f
        .probe("pod-a", "10.233.64.5".parse().unwrap(), Probe::Icmp)
        .unwrap();
    let path = write_capture("bridged.pcapng", &trip);
    let c = f.control();
    let labels = [("compute03", "node02"), ("compute02", "node01")]
        .map(|(node, port)| c.node_ids(node).unwrap().ports[port].l2_label.value());
    let decode: Vec<String> = labels
        .iter()
        .map(|l| format!("mpls.label=={l},pwethnocw"))
        .collect();
    let p = path.to_str().unwrap();
    let mut args = vec!["-r", p];
    for d in &decode {
        args.extend(["-d", d.as_str()]);
    }
    args.extend(["-T", "fields", "-e", "frame.protocols"]);
    let out = tshark(&args);
    let bridged = "eth:ethertype:ip:gre:mpls:eth:ethertype:ip:icmp:data";
    assert_eq!(out.lines().filter(|l| *l == bridged).count(), 4, "{out}");
    assert!(
        out.lines()
            .all(|l| l == bridged || l == "eth:ethertype:ip:icmp:data"),
        "{out}"
    );
    for frame in capture::link_frames([("forward", &trip.forward)]) {
        let ours = vrsim::wire::dissect(&frame.bytes).chain();
        assert!(
            ours == "eth:ipv4:gre:mpls:eth:ipv4:icmp" || ours == "eth:ipv4:icmp",
            "{ours}"
        );
    }
    let rules: Vec<&str> = decode.iter().map(String::as_str).collect();
    assert_eq!(bad_frames_decoded(&path, &rules), Vec::<String>::new());
}
