//! The BGP message decoder and the session state machine on arbitrary bytes.
//!
//! - `decode` never panics; every error is a NOTIFICATION with an RFC 4271 §6
//!   error code (1 to 6; 7 is RFC 7313's ROUTE-REFRESH error) and sends as a
//!   well-formed NOTIFICATION that decodes back to itself.
//! - An Established session fed the bytes (in two pieces, to exercise framing)
//!   hands on only UPDATEs that decoded whole, with usable next hops, and
//!   stops at the first error: once it is down nothing follows, so a
//!   malformed UPDATE never reaches the route table.
#![no_main]

use std::net::Ipv4Addr;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use vrsim_bgp::message::{self, Message};
use vrsim_bgp::session::{Config, Output, Session};

fn established(four_octet: bool) -> Session {
    let config = Config {
        local_as: 64512,
        router_id: Ipv4Addr::new(10, 0, 0, 10),
        peer_as: 65000,
        hold_time: 90,
    };
    let (mut s, _) = Session::accept(config, Duration::ZERO);
    let open = if four_octet {
        message::encode_open(65000, 90, Ipv4Addr::new(172, 16, 10, 3))
    } else {
        // A 2-octet speaker: an OPEN without capabilities.
        let mut m = vec![0xff; 16];
        m.extend_from_slice(&29u16.to_be_bytes());
        m.extend_from_slice(&[1, 4, 0xfd, 0xe8, 0, 90, 172, 16, 10, 3, 0]);
        m
    };
    let _ = s.receive(&open, Duration::ZERO);
    let _ = s.receive(&message::encode_keepalive(), Duration::ZERO);
    s
}

fuzz_target!(|data: &[u8]| {
    for asn4 in [true, false] {
        match message::decode(data, asn4) {
            Ok(_) => {}
            Err(n) => {
                assert!((1..=7).contains(&n.code), "code {} for {data:?}", n.code);
                // A NOTIFICATION is never answered with one (§6.4).
                assert!(
                    data.len() < 19 || data[18] != 3 || n.code == 1,
                    "{n} for a NOTIFICATION"
                );
                let bytes = n.to_bytes();
                if bytes.len() <= message::MAX_LEN {
                    assert_eq!(
                        message::decode(&bytes, asn4),
                        Ok(Message::Notification(n.clone()))
                    );
                }
            }
        }
        let mut s = established(asn4);
        let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
        let mut outs = s.receive(&data[..split], Duration::from_secs(1));
        outs.extend(s.receive(&data[split..], Duration::from_secs(1)));
        let mut down = false;
        for o in &outs {
            assert!(!down, "output after the session went down: {o:?}");
            match o {
                Output::Update(u) => {
                    assert!(u.announced.iter().all(|(p, _)| *p == p.trunc()));
                    assert!(u.withdrawn.iter().all(|p| *p == p.trunc()));
                    // Next hops that could not be used were refused, and
                    // each is of its prefix's family.
                    assert!(u.announced.iter().all(|(p, a)| {
                        let nh = a.next_hop;
                        let usable = match nh {
                            std::net::IpAddr::V4(v4) => !v4.is_broadcast(),
                            std::net::IpAddr::V6(v6) => {
                                !(v6.is_loopback() || v6.is_unicast_link_local())
                            }
                        };
                        usable
                            && !(nh.is_unspecified() || nh.is_multicast())
                            && nh.is_ipv4() == p.addr().is_ipv4()
                    }));
                }
                Output::Down(_) => down = true,
                _ => {}
            }
        }
    }
});
