//! The scenario frames checked by a real dissector: Wireshark's `tshark`.
//!
//! `scripts/test.sh` (the README's test command) installs tshark when it is
//! missing. Without it this test fails with a message saying so; it never
//! skips silently.

use std::path::{Path, PathBuf};

use vrsim::seed::{self, SeedFrame};

use vrsim_testkit::tools::{bad_frames, tshark};

fn write(name: &str, frames: &[SeedFrame]) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let file = std::fs::File::create(&path).expect("create the pcap file");
    seed::write_pcap(file, frames).expect("write the pcap file");
    path
}

/// tshark's `-T fields` output for the capture at `path`: one line per
/// frame, the `names` fields separated by tabs.
fn fields(path: &Path, names: &[&str]) -> String {
    let mut args = vec!["-r", path.to_str().expect("a UTF-8 path"), "-T", "fields"];
    for n in names {
        args.extend(["-e", n]);
    }
    tshark(&args)
}

#[test]
fn seed_frames_dissect_as_expected() {
    let frames = seed::frames();
    let path = write("seed.pcap", &frames);
    let fields = fields(
        &path,
        &[
            "frame.protocols",
            "mpls.label",
            "vxlan.vni",
            "ip.src",
            "ip.dst",
        ],
    );
    let rows: Vec<Vec<&str>> = fields.lines().map(|l| l.split('\t').collect()).collect();
    let expected = [
        (
            "eth:ethertype:ip:gre:mpls:ip:icmp:data",
            "35",
            "",
            "10.0.0.1,203.0.113.10",
            "10.0.0.21,192.168.100.1",
        ),
        (
            "eth:ethertype:ip:icmp:data",
            "",
            "",
            "192.168.100.1",
            "203.0.113.10",
        ),
        (
            "eth:ethertype:ip:gre:mpls:ip:icmp:data",
            "16",
            "",
            "10.0.0.21,192.168.100.1",
            "10.0.0.1,203.0.113.10",
        ),
        (
            "eth:ethertype:ip:udp:mpls:ip:icmp:data",
            "35",
            "",
            "10.0.0.1,203.0.113.10",
            "10.0.0.21,192.168.100.1",
        ),
        (
            "eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp:data",
            "",
            "4",
            "10.0.0.1,203.0.113.10",
            "10.0.0.21,172.16.10.3",
        ),
    ];
    assert_eq!(rows.len(), expected.len(), "tshark output:\n{fields}");
    for (i, (row, want)) in rows.iter().zip(expected).enumerate() {
        let want = [want.0, want.1, want.2, want.3, want.4];
        assert_eq!(
            row.as_slice(),
            want.as_slice(),
            "frame {} ({})",
            i + 1,
            frames[i].name
        );
    }
    assert_eq!(
        bad_frames(&path),
        Vec::<String>::new(),
        "tshark flags frames as bad"
    );
}

/// The check above can fail: a frame with a broken IPv4 checksum, and one
/// cut short inside its inner header, are flagged.
#[test]
fn tshark_flags_broken_frames() {
    let mut bad_checksum = seed::mx_to_compute01_gre();
    bad_checksum[14 + 10] ^= 0x01; // outer IPv4 checksum
    let mut truncated = seed::mx_to_compute01_gre();
    truncated.truncate(14 + 20 + 4 + 4 + 10); // the inner IPv4 header is cut
    let frames = [
        SeedFrame {
            name: "bad-checksum",
            description: "",
            bytes: bad_checksum,
        },
        SeedFrame {
            name: "truncated",
            description: "",
            bytes: truncated,
        },
    ];
    let path = write("broken.pcap", &frames);
    assert_eq!(bad_frames(&path), vec!["1", "2"]);
}

/// IPv6 as vrsim writes it: an ICMPv6 echo from the builder, the same
/// echo after compute01 put it into MPLSoGRE towards the gateway, and the
/// neighbour advertisement compute01 answers a VM's solicitation with.
/// tshark decodes each with the expected protocol chain and flags none.
#[test]
fn ipv6_frames_dissect_as_expected() {
    use vrsim::dataplane::{PacketBuf, trace::NoTrace};
    use vrsim::wire::Frame;
    use vrsim_testkit::seed::{NH_TUNNEL_GW, NH_VM, TAP_VIF, VRF_PUBLIC, add_public_route6};
    let vm: std::net::Ipv6Addr = "fd80:24e2:f998:72d6::2".parse().unwrap();
    let far: std::net::Ipv6Addr = "2001:db8::10".parse().unwrap();
    let echo = Frame::new()
        .ethernet(seed::DOCKERHOST_MAC, seed::VROUTER_MAC)
        .ipv6(vm, far)
        .icmpv6_echo_request(7, 1, b"ping6")
        .build()
        .unwrap();
    let mut r = vrsim_testkit::compute01();
    add_public_route6(&mut r, "fd80:24e2:f998:72d6::2/128", NH_VM, None);
    add_public_route6(&mut r, "::/0", NH_TUNNEL_GW, Some(seed::LABEL_TO_GATEWAY));
    let mut trace = NoTrace;
    let (_, tunnelled) = vrsim_testkit::process_with_agent(&mut r, TAP_VIF, &echo, &mut trace);
    // The VM asks for its gateway's IPv6 address, whose route has P.
    let target: std::net::Ipv6Addr = "fd80:24e2:f998:72d6::1".parse().unwrap();
    let gw = vrsim::dataplane::route::Route {
        nh: NH_VM,
        label: None,
        flags: vrsim::dataplane::route::RouteFlags::ARP_PROXY,
        stitched_mac: None,
    };
    r.add_route6(
        VRF_PUBLIC,
        "fd80:24e2:f998:72d6::1/128".parse().unwrap(),
        gw,
    )
    .unwrap();
    let ns = solicitation(seed::DOCKERHOST_MAC, vm, target);
    let mut buf = PacketBuf::with_capacity(256);
    r.process(TAP_VIF, &ns, &mut buf, &mut NoTrace);
    let advert = buf.frame().to_vec();
    let frames = [
        SeedFrame {
            name: "echo6",
            description: "",
            bytes: echo,
        },
        SeedFrame {
            name: "echo6-mplsogre",
            description: "",
            bytes: tunnelled,
        },
        SeedFrame {
            name: "ns",
            description: "",
            bytes: ns,
        },
        SeedFrame {
            name: "na",
            description: "",
            bytes: advert,
        },
    ];
    let path = write("ipv6.pcap", &frames);
    let fields = fields(&path, &["frame.protocols", "icmpv6.type", "ipv6.dst"]);
    let rows: Vec<&str> = fields.lines().collect();
    assert_eq!(
        rows,
        [
            "eth:ethertype:ipv6:icmpv6:data\t128\t2001:db8::10",
            "eth:ethertype:ip:gre:mpls:ipv6:icmpv6:data\t128\t2001:db8::10",
            "eth:ethertype:ipv6:icmpv6\t135\tff02::1:ff00:1",
            "eth:ethertype:ipv6:icmpv6\t136\tfd80:24e2:f998:72d6::2",
        ],
        "tshark output:\n{fields}"
    );
    assert_eq!(
        bad_frames(&path),
        Vec::<String>::new(),
        "tshark flags frames as bad"
    );
}

/// A neighbour solicitation for `target` from `src` at `mac`, to the
/// solicited-node group, hop limit 255, as a host sends it.
fn solicitation(
    mac: vrsim::wire::MacAddr,
    src: std::net::Ipv6Addr,
    target: std::net::Ipv6Addr,
) -> Vec<u8> {
    vrsim::wire::icmpv6::solicitation_frame(mac, src, target)
}
