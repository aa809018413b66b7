//! Parse arbitrary bytes as an Ethernet frame (and as bare IPv4, IPv6 and
//! MPLS), rebuild what parsed, and check the rebuilt frame parses to the same
//! headers, payload and error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vrsim_wire::{Layer, dissect_from};

fuzz_target!(|data: &[u8]| {
    for first in [Layer::Ethernet, Layer::Ipv4, Layer::Ipv6, Layer::Mpls] {
        let d = dissect_from(data, first);
        // Rendering never panics either.
        let _ = d.to_string();
        let rebuilt = match d.to_builder().build() {
            Ok(bytes) => bytes,
            Err(e) => panic!("a dissected frame must rebuild: {e}\n{d}"),
        };
        let again = dissect_from(&rebuilt, first);
        assert_eq!(
            again.headers, d.headers,
            "headers differ after rebuild\n{d}\n--\n{again}"
        );
        assert_eq!(again.payload, d.payload, "payload differs after rebuild");
        assert_eq!(again.error, d.error, "error differs after rebuild");
    }
});
