//! `vrsim serve` and `vrsim ctl` end to end: a route arrives over a live
//! session and the trace the control socket answers changes with it. The peer
//! is a plain TCP client speaking through `vrsim_bgp::message` (the BIRD tests
//! at the workspace root use the real daemon).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use vrsim::control::bgp::PathAttrs;
use vrsim_bgp::message::{self, Message, Sender};

const PORT: u16 = 17_990;

struct Server {
    child: Child,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ctl(sock: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vrsim"))
        .arg("ctl")
        .arg("--control")
        .arg(sock)
        .args(args)
        .output()
        .expect("run vrsim ctl")
}

fn ctl_ok(sock: &Path, args: &[&str]) -> String {
    let out = ctl(sock, args);
    assert!(
        out.status.success(),
        "vrsim ctl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn read_message(sock: &mut TcpStream) -> Message {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if let Ok(Some(len)) = message::frame(&buf) {
            return message::decode(&buf[..len], true).expect("valid message");
        }
        assert_eq!(sock.read(&mut byte).expect("read"), 1, "closed");
        buf.push(byte[0]);
    }
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_answers_while_a_route_arrives() {
    let dir = std::env::temp_dir().join(format!("vrsim-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let sock = dir.join("vrsim.sock");
    let child = Command::new(env!("CARGO_BIN_EXE_vrsim"))
        .args(["serve", "--bgp-listen", &format!("127.0.0.1:{PORT}")])
        .args(["--bgp-remote", "dockerhost=127.0.0.1", "--control"])
        .arg(&sock)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start vrsim serve");
    let server = Server { child, dir };
    wait_for("the control socket", || sock.exists());

    // Before the session: down, and the container unreachable.
    let sessions = ctl_ok(&sock, &["sessions"]);
    assert!(sessions.contains("dockerhost   172.16.10.1"), "{sessions}");
    assert!(sessions.contains(" Idle "), "{sessions}");
    let trace = [
        "trace",
        "--from",
        "earth",
        "--to",
        "192.168.100.1",
        "--format",
        "minimal",
    ];
    assert!(ctl_ok(&sock, &trace).contains("dropped by gw-01: no route"));

    // The VM's session comes up and sends the /26.
    let mut peer = TcpStream::connect((Ipv4Addr::LOCALHOST, PORT)).expect("connect");
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let vm = Ipv4Addr::new(172, 16, 10, 3);
    peer.write_all(&message::encode_open(65000, 90, vm))
        .expect("OPEN");
    assert!(matches!(read_message(&mut peer), Message::Open(_)));
    assert_eq!(read_message(&mut peer), Message::Keepalive);
    peer.write_all(&message::encode_keepalive())
        .expect("KEEPALIVE");
    let vm_side = Sender {
        local_as: 65000,
        ebgp: true,
        asn4: true,
    };
    let block = "192.168.100.0/26".parse().expect("prefix");
    for m in message::encode_updates(vm_side, &[], &[(block, PathAttrs::new(vm, vec![]))]) {
        peer.write_all(&m).expect("UPDATE");
    }
    wait_for("the route", || {
        ctl_ok(&sock, &["rt", "--get", "192.168.100.1/32", "--vrf", "1"])
            .contains("192.168.100.0/26")
    });
    assert!(ctl_ok(&sock, &trace).contains("=> delivered to centos-ssh"));
    assert!(ctl_ok(&sock, &["sessions"]).contains("Established"));
    // What-if options apply to a copy: the live route stays.
    let what_if = ctl_ok(
        &sock,
        &[
            "trace",
            "--from",
            "earth",
            "--to",
            "192.168.100.1",
            "--bgpaas-down",
            "dockerhost",
        ],
    );
    assert!(what_if.contains("no route"), "{what_if}");
    assert!(ctl_ok(&sock, &trace).contains("=> delivered to centos-ssh"));
    // The live traces left their flow pair in compute01's table; the
    // what-if trace ran on a copy and left nothing.
    let flows = ctl_ok(&sock, &["flow", "-l"]);
    assert!(flows.contains("<=>"), "{flows}");
    assert!(flows.contains("203.0.113.10:"), "{flows}");
    assert!(flows.contains("Action:F"), "{flows}");
    let what_if_flows = ctl_ok(
        &sock,
        &[
            "flow",
            "-l",
            "--deny",
            "icmp any <> any",
            "--network",
            "public",
        ],
    );
    assert!(!what_if_flows.contains("<=>"), "{what_if_flows}");
    assert_eq!(ctl_ok(&sock, &["flow", "-l"]), flows);
    // The route withdrawn: the agent evicts the flows it decided.
    for m in message::encode_updates(vm_side, &[block], &[]) {
        peer.write_all(&m).expect("UPDATE");
    }
    wait_for("the flows to go", || {
        !ctl_ok(&sock, &["flow", "-l"]).contains("<=>")
    });
    let log = ctl_ok(&sock, &["log"]);
    assert!(
        log.contains("compute01: add route 192.168.100.0/26 in vrf 1"),
        "{log}"
    );
    // Errors come back with exit 2.
    let bad = ctl(&sock, &["nh", "--get", "4242"]);
    assert_eq!(bad.status.code(), Some(2));

    // stop: the peer gets Cease / Administrative Shutdown and serve exits.
    ctl_ok(&sock, &["stop"]);
    let mut got = read_message(&mut peer);
    while matches!(got, Message::Update(_) | Message::Keepalive) {
        got = read_message(&mut peer);
    }
    assert!(
        matches!(&got, Message::Notification(n) if (n.code, n.subcode) == (6, 2)),
        "{got:?}"
    );
    let mut server = server;
    wait_for("serve to exit", || {
        server.child.try_wait().ok().flatten().is_some()
    });
    assert!(!sock.exists(), "the control socket is removed");
}
