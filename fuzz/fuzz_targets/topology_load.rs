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
    let hosts: Vec<(String, Option<std::net::Ipv4Addr>)> = fabric
        .hosts()
        .map(|h| (h.name.clone(), h.primary_ip()))
        .take(6)
        .collect();
    for (from, _) in &hosts {
        for (_, to) in &hosts {
            let Some(to) = to else { continue };
            if let Ok(trip) = fabric.probe(from, *to, Probe::Icmp) {
                for t in std::iter::once(&trip.forward).chain(trip.reply.as_ref()) {
                    assert!(t.hops.len() <= MAX_HOPS, "{t}");
                    assert!(!t.hops.is_empty(), "{t}");
                }
            }
        }
    }
});
