//! Load arbitrary text as a scenario file and check that it never panics:
//! bad files are typed errors with a place. When a file loads, probe from
//! every host to every other host's address and check that each trace ends
//! in exactly one outcome within the hop bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vrsim::fabric::packet::Probe;
use vrsim::fabric::{MAX_HOPS, topology};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut fabric = match topology::load("fuzz.toml", text) {
        Ok(f) => f,
        Err(e) => {
            assert!(!e.message.is_empty());
            return;
        }
    };
    // Every host's IPv4 and IPv6 address (a scenario may be dual-stack).
    let v4 = std::net::IpAddr::from([0u8; 4]);
    let v6 = std::net::IpAddr::from([0u8; 16]);
    let hosts: Vec<(String, Vec<std::net::IpAddr>)> = fabric
        .hosts()
        .map(|h| {
            let addrs = [v4, v6].iter().filter_map(|f| h.primary_of(*f)).collect();
            (h.name.clone(), addrs)
        })
        .take(6)
        .collect();
    for (from, _) in &hosts {
        for to in hosts.iter().flat_map(|(_, addrs)| addrs) {
            if let Ok(trip) = fabric.probe(from, *to, Probe::Icmp) {
                for t in std::iter::once(&trip.forward).chain(trip.reply.as_ref()) {
                    assert!(t.hops.len() <= MAX_HOPS, "{t}");
                    assert!(!t.hops.is_empty(), "{t}");
                }
            }
        }
    }
});
