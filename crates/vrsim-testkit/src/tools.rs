//! The external programs tests check vrsim's output with. `scripts/test.sh`
//! installs them when they are missing; without one the calling test fails
//! saying how to install it, never skips.

/// Run tshark and return what it printed. `scripts/test.sh` installs it when
/// it is missing; without it the calling test fails saying so, never skips.
pub fn tshark(args: &[&str]) -> String {
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
pub fn bad_frames(path: &std::path::Path) -> Vec<String> {
    bad_frames_decoded(path, &[])
}

/// [`bad_frames`], with tshark's `-d` "decode as" rules (`mpls.label==17,pwethnocw`).
pub fn bad_frames_decoded(path: &std::path::Path, decode_as: &[&str]) -> Vec<String> {
    let path = path.to_str().expect("the capture's path is UTF-8");
    let filter = "_ws.malformed || _ws.expert.severity == error || ip.checksum.status == 0 \
                  || udp.checksum.status == 0 || icmp.checksum.status == 0";
    let mut args = vec![
        "-r",
        path,
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
    ];
    for d in decode_as {
        args.extend(["-d", d]);
    }
    args.extend(["-Y", filter, "-T", "fields", "-e", "frame.number"]);
    tshark(&args).lines().map(str::to_owned).collect()
}
