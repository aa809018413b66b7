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

#[test]
fn seed_frames_dissect_as_expected() {
    let frames = seed::frames();
    let path = write("seed.pcap", &frames);
    let fields = tshark(&[
        "-r",
        path.to_str().unwrap(),
        "-T",
        "fields",
        "-e",
        "frame.protocols",
        "-e",
        "mpls.label",
        "-e",
        "vxlan.vni",
        "-e",
        "ip.src",
        "-e",
        "ip.dst",
    ]);
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
