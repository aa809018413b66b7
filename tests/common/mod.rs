//! Helpers shared by the integration tests.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses some; a failed unwrap is a failed test

pub(crate) mod strategies;

use vrsim::dataplane::{NhId, VRouter, VifId, VrfId};
use vrsim::wire::{MplsLabel, Vni};

pub(crate) fn vif(n: u16) -> VifId {
    VifId::new(n).unwrap()
}
pub(crate) fn nh(n: u32) -> NhId {
    NhId::new(n).unwrap()
}
pub(crate) fn label(n: u32) -> MplsLabel {
    MplsLabel::new(n).unwrap()
}
pub(crate) fn vni(n: u32) -> Vni {
    Vni::new(n).unwrap()
}
pub(crate) fn public() -> VrfId {
    vrsim::seed::VRF_PUBLIC
}
/// Scenario A's compute01 with the BGPaaS /26 installed.
pub(crate) fn compute01() -> VRouter {
    vrsim::seed::compute01(true).unwrap()
}

/// Run tshark and return what it printed. `scripts/test.sh` installs it when
/// it is missing; without it the calling test fails saying so, never skips.
pub(crate) fn tshark(args: &[&str]) -> String {
    let out = std::process::Command::new("tshark").args(args).output().unwrap_or_else(|e| {
        panic!("cannot run tshark ({e}); install it with scripts/install-test-deps.sh (Debian package tshark)")
    });
    assert!(
        out.status.success(),
        "tshark {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tshark prints UTF-8")
}

/// The frames of a capture tshark reports as malformed or with a bad IP,
/// UDP or ICMP checksum (checksum validation on).
pub(crate) fn bad_frames(path: &std::path::Path) -> Vec<String> {
    let path = path.to_str().expect("the capture's path is UTF-8");
    let filter = "_ws.malformed || _ws.expert.severity == error || ip.checksum.status == 0 \
                  || udp.checksum.status == 0 || icmp.checksum.status == 0";
    tshark(&[
        "-r",
        path,
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
        "-Y",
        filter,
        "-T",
        "fields",
        "-e",
        "frame.number",
    ])
    .lines()
    .map(str::to_owned)
    .collect()
}
