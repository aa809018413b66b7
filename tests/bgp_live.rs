//! The live BGPaaS runner against a hand-driven peer: the cases a real daemon
//! will not produce on demand (a malformed UPDATE, a peer at the wrong
//! address, a silent peer). The peer is a plain TCP client speaking through
//! `vrsim_bgp::message`; tests/bird.rs has the real BIRD.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use ipnet::Ipv4Net;
use vrsim::control::bgp::PathAttrs;
use vrsim::dataplane::VrfId;
use vrsim::fabric::Fabric;
use vrsim_bgp::live::{Live, LiveConfig};
use vrsim_bgp::message::{self, Message, Sender};
use vrsim_bgp::session::State;

const WAIT: Duration = Duration::from_secs(10);
const VM: Ipv4Addr = Ipv4Addr::new(172, 16, 10, 3);

fn start(port: u16, remote: Ipv4Addr, hold_time: u16) -> Live {
    let mut cfg = LiveConfig::new(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    cfg.remotes
        .insert("dockerhost".to_owned(), IpAddr::V4(remote));
    cfg.hold_time = hold_time;
    Live::start(
        vrsim::scenarios::load("seed-bgpaas").expect("scenario"),
        &cfg,
    )
    .expect("live sessions start")
}

/// Read one whole message.
fn read_message(sock: &mut TcpStream) -> Message {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if let Ok(Some(len)) = message::frame(&buf) {
            return message::decode(&buf[..len], true).expect("vrsim sends valid messages");
        }
        let n = sock.read(&mut byte).expect("read");
        assert!(n > 0, "connection closed after {buf:?}");
        buf.push(byte[0]);
    }
}

/// Connect as the Docker VM and reach Established.
fn establish(port: u16, hold: u16) -> TcpStream {
    let mut sock = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    sock.set_read_timeout(Some(WAIT)).expect("timeout");
    sock.write_all(&message::encode_open(65000, hold, VM))
        .expect("send OPEN");
    let Message::Open(open) = read_message(&mut sock) else {
        panic!("vrsim must answer with its OPEN")
    };
    assert_eq!((open.asn, open.four_octet), (64512, true));
    assert_eq!(read_message(&mut sock), Message::Keepalive);
    sock.write_all(&message::encode_keepalive())
        .expect("send KEEPALIVE");
    sock
}

fn block() -> Ipv4Net {
    "192.168.100.0/26".parse().expect("prefix")
}

fn has_block(f: &Fabric) -> bool {
    f.control()
        .vrouter("compute01")
        .and_then(|r| r.vrf(VrfId::from(1)))
        .is_some_and(|v| v.inet4.get(&block()).is_some())
}

fn state(live: &Live) -> State {
    live.sessions()[0].state
}

#[test]
fn a_malformed_update_resets_the_session_and_leaves_no_route() {
    let live = start(17_960, Ipv4Addr::LOCALHOST, 90);
    let before = live.snapshot();
    let mut sock = establish(17_960, 90);
    let vm_side = Sender {
        local_as: 65000,
        ebgp: true,
        asn4: true,
    };
    for m in message::encode_updates(
        vm_side,
        &[],
        &[(block().into(), PathAttrs::new(VM, vec![]))],
    ) {
        sock.write_all(&m).expect("send UPDATE");
    }
    assert!(live.wait_until(WAIT, |f, _| has_block(f)));

    // An UPDATE announcing 10.9.0.0/16 with ORIGIN and AS_PATH but no NEXT_HOP.
    let attrs = [0x40, 1, 1, 0, 0x40, 2, 0];
    let mut body = vec![0, 0, 0, attrs.len() as u8];
    body.extend_from_slice(&attrs);
    body.extend_from_slice(&[16, 10, 9]);
    let mut bad = vec![0xff; 16];
    bad.extend_from_slice(&((message::HEADER_LEN + body.len()) as u16).to_be_bytes());
    bad.push(2);
    bad.extend_from_slice(&body);
    sock.write_all(&bad).expect("send the malformed UPDATE");

    // vrsim answers UPDATE Message Error / Missing Well-known Attribute (NEXT_HOP).
    let mut got = read_message(&mut sock);
    while matches!(got, Message::Update(_) | Message::Keepalive) {
        got = read_message(&mut sock);
    }
    let Message::Notification(n) = got else {
        panic!("expected a NOTIFICATION, got {got:?}")
    };
    assert_eq!((n.code, n.subcode, n.data.as_slice()), (3, 3, &[3u8][..]));
    assert!(live.wait_until(WAIT, |_, s| s[0].state == State::Closed));

    // Nothing of the session is left: every vRouter is as before it came up.
    let after = live.snapshot();
    for c in &before.control().config().computes {
        assert_eq!(
            after.control().node_state(&c.name),
            before.control().node_state(&c.name),
            "{}",
            c.name
        );
    }
    assert!(!has_block(&after));
}

#[test]
fn a_peer_at_another_address_is_rejected() {
    let live = start(17_970, Ipv4Addr::new(127, 0, 0, 9), 90);
    let mut sock = TcpStream::connect((Ipv4Addr::LOCALHOST, 17_970)).expect("connect");
    sock.set_read_timeout(Some(WAIT)).expect("timeout");
    let Message::Notification(n) = read_message(&mut sock) else {
        panic!("expected a NOTIFICATION")
    };
    assert_eq!((n.code, n.subcode), (6, 5), "Cease / Connection Rejected");
    assert_eq!(state(&live), State::Closed);
    assert!(
        live.log_since(0)
            .iter()
            .any(|l| l.contains("refused a connection from 127.0.0.1"))
    );
}

#[test]
fn a_silent_peer_expires_the_hold_timer() {
    let live = start(17_980, Ipv4Addr::LOCALHOST, 3);
    let mut sock = establish(17_980, 3);
    assert!(live.wait_until(WAIT, |_, s| s[0].state == State::Established));
    // Say nothing: within 3 s vrsim sends Hold Timer Expired and goes down
    // (its own KEEPALIVEs may come first).
    let mut got = read_message(&mut sock);
    while matches!(got, Message::Keepalive | Message::Update(_)) {
        got = read_message(&mut sock);
    }
    assert!(
        matches!(&got, Message::Notification(n) if n.code == 4),
        "{got:?}"
    );
    assert!(live.wait_until(WAIT, |_, s| s[0].state == State::Closed));
    assert!(
        live.sessions()[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("Hold Timer Expired"))
    );
}

#[test]
fn a_new_connection_replaces_one_not_yet_established() {
    let live = start(17_985, Ipv4Addr::LOCALHOST, 90);
    // A first connection that never sends its OPEN (a VM that rebooted).
    let mut stale = TcpStream::connect((Ipv4Addr::LOCALHOST, 17_985)).expect("connect");
    stale.set_read_timeout(Some(WAIT)).expect("timeout");
    assert!(matches!(read_message(&mut stale), Message::Open(_)));
    // The second gets the session; the first gets Cease / Connection Collision Resolution.
    let _fresh = establish(17_985, 90);
    let got = read_message(&mut stale);
    assert!(
        matches!(&got, Message::Notification(n) if (n.code, n.subcode) == (6, 7)),
        "{got:?}"
    );
    assert!(live.wait_until(WAIT, |_, s| s[0].state == State::Established));
    // While Established, a third is refused with Cease / Connection Rejected.
    let mut third = TcpStream::connect((Ipv4Addr::LOCALHOST, 17_985)).expect("connect");
    third.set_read_timeout(Some(WAIT)).expect("timeout");
    let got = read_message(&mut third);
    assert!(
        matches!(&got, Message::Notification(n) if (n.code, n.subcode) == (6, 5)),
        "{got:?}"
    );
    assert_eq!(state(&live), State::Established);
}

#[test]
fn routes_out_are_the_networks_with_next_hop_rewritten() {
    // Scenario A, eBGP: the network's VM /32 and /128 with NEXT_HOP the
    // gateway address of the route's family; not the VM's own /26 and /122.
    let a = vrsim::scenarios::load("seed-bgpaas").expect("scenario");
    let out = a
        .control()
        .bgpaas_routes_out("dockerhost", Ipv4Addr::new(172, 16, 10, 1));
    let routes: Vec<String> = out
        .iter()
        .map(|(p, a)| format!("{p} via {}", a.next_hop))
        .collect();
    assert_eq!(
        routes,
        [
            "172.16.10.3/32 via 172.16.10.1",
            "fd00:172:16:10::3/128 via fd00:172:16:10::1"
        ]
    );
    // Scenario B, iBGP reflectors: each gets the VM /32s but not the blocks
    // the other reflector sent (no reflection between iBGP peers).
    let b = vrsim::scenarios::load("k8s-rr").expect("scenario");
    let out = b
        .control()
        .bgpaas_routes_out("rtr01", Ipv4Addr::new(172, 16, 20, 1));
    assert!(!out.is_empty());
    // IPv4 host routes via the gateway address, IPv6 ones via the network's
    // IPv6 gateway address.
    assert!(out.iter().all(|(p, a)| match p {
        ipnet::IpNet::V4(p) => p.prefix_len() == 32 && a.next_hop == Ipv4Addr::new(172, 16, 20, 1),
        ipnet::IpNet::V6(p) => {
            p.prefix_len() == 128 && a.next_hop.to_string() == "fd00:172:16:20::1"
        }
    }));
    assert_eq!(out.len(), 10, "{out:?}");
    // RTR02 peers with the DNS address: its IPv6 routes come from the IPv6
    // DNS address.
    let out = b
        .control()
        .bgpaas_routes_out("rtr02", Ipv4Addr::new(172, 16, 20, 2));
    assert!(
        out.iter()
            .filter(|(p, _)| p.addr().is_ipv6())
            .all(|(_, a)| a.next_hop.to_string() == "fd00:172:16:20::2"),
        "{out:?}"
    );
    // An unknown session gets nothing.
    assert!(
        b.control()
            .bgpaas_routes_out("rtr01", Ipv4Addr::new(172, 16, 20, 2))
            .is_empty()
    );
}
