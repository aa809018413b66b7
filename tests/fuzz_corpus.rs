//! The fuzz targets' seed corpora hold the scenario frames (and, for
//! `bgp_decode`, scenario A's BGP session). This test keeps
//! them equal to `vrsim::seed::frames()`; run it with `VRSIM_BLESS=1` to
//! rewrite them after a deliberate change.

// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::Path;

/// Check (or with `VRSIM_BLESS=1` write) `fuzz/corpus/<target>/seed-<name>` for each file.
fn check_corpus(target: &str, files: &[(String, Vec<u8>)]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let bless = std::env::var_os("VRSIM_BLESS").is_some();
    if bless {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (name, bytes) in files {
        let path = dir.join(format!("seed-{name}"));
        if bless {
            std::fs::write(&path, bytes).unwrap();
        }
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run with VRSIM_BLESS=1 to write it)",
                path.display()
            )
        });
        assert_eq!(
            &on_disk,
            bytes,
            "{} is stale (run with VRSIM_BLESS=1)",
            path.display()
        );
    }
}

#[test]
fn wire_parse_corpus_holds_the_seed_frames() {
    let files: Vec<_> = vrsim::seed::frames()
        .into_iter()
        .chain(vrsim::seed::ipv6_frames())
        .map(|f| (f.name.to_owned(), f.bytes))
        .collect();
    check_corpus("wire_parse", &files);
}

/// `dataplane_process` reads records `[vif selector][length: u16 BE][frame]`;
/// selectors 0..5 pick vif 0, 1, 2, 37 and the missing 36.
fn record(selector: u8, frame: &[u8]) -> Vec<u8> {
    let len = u16::try_from(frame.len()).unwrap();
    let mut r = vec![selector];
    r.extend_from_slice(&len.to_be_bytes());
    r.extend_from_slice(frame);
    r
}

#[test]
fn dataplane_process_corpus_holds_the_seed_frames() {
    const TAP: u8 = 3;
    let mut frames = vrsim::seed::frames();
    frames.extend(vrsim::seed::ipv6_frames());
    // Each frame alone on the vif it arrives on at compute01 (the fabric's
    // for all but the VM's reply), then every frame on every vif.
    let mut files: Vec<_> = frames
        .iter()
        .map(|f| {
            let on = if f.name.starts_with("container-reply-from-vm") {
                TAP
            } else {
                0
            };
            (f.name.to_owned(), record(on, &f.bytes))
        })
        .collect();
    let every: Vec<u8> = (0..5)
        .flat_map(|sel| frames.iter().flat_map(move |f| record(sel, &f.bytes)))
        .collect();
    files.push(("every-frame-on-every-vif".to_owned(), every));
    check_corpus("dataplane_process", &files);
}

#[test]
fn topology_load_corpus_holds_the_scenarios() {
    let files: Vec<_> = vrsim::scenarios::BUILTIN
        .iter()
        .map(|(name, text)| ((*name).to_owned(), text.as_bytes().to_vec()))
        .collect();
    check_corpus("topology_load", &files);
}

/// `bgp_decode` starts from the messages of scenario A's session, as the
/// Docker VM sends them: its OPEN (AS 65000, 4-octet capable), the UPDATE for
/// the container block, its withdrawal, a KEEPALIVE and a Cease.
#[test]
fn bgp_decode_corpus_holds_the_seed_session() {
    use std::net::Ipv4Addr;
    use vrsim::control::bgp::PathAttrs;
    use vrsim_bgp::message::{self, Notification, Sender};
    let vm = Ipv4Addr::new(172, 16, 10, 3);
    let block: ipnet::Ipv4Net = "192.168.100.0/26".parse().unwrap();
    let vm_side = Sender {
        local_as: 65000,
        ebgp: true,
        asn4: true,
    };
    let announce =
        message::encode_updates(vm_side, &[], &[(block.into(), PathAttrs::new(vm, vec![]))]);
    let withdraw = message::encode_updates(vm_side, &[block.into()], &[]);
    let keepalive = message::encode_keepalive();
    let mut update_then_keepalive = announce[0].clone();
    update_then_keepalive.extend_from_slice(&keepalive);
    let files = vec![
        ("open".to_owned(), message::encode_open(65000, 90, vm)),
        ("update".to_owned(), announce[0].clone()),
        ("withdraw".to_owned(), withdraw[0].clone()),
        ("keepalive".to_owned(), keepalive),
        ("update-then-keepalive".to_owned(), update_then_keepalive),
        (
            "cease".to_owned(),
            Notification::admin_shutdown().to_bytes(),
        ),
    ];
    check_corpus("bgp_decode", &files);
}
