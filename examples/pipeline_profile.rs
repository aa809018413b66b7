//! Sends one scenario-A frame through compute01's vRouter N times, untraced,
//! for profilers. Under `valgrind --tool=callgrind` the instruction count
//! divided by N is the cost of one packet, a figure that does not move with
//! machine load (criterion's `benches/pipeline.rs` gives the speed):
//!
//! ```sh
//! cargo build --release --example pipeline_profile
//! valgrind --tool=callgrind target/release/examples/pipeline_profile tap 100000
//! ```
//!
//! PATH is `gre` (fabric MPLSoGRE → tap), `tap` (tap → MPLSoGRE, with RPF),
//! `vxlan` (fabric VXLAN → tap), or `gre6` and `tap6` (the first two with
//! IPv6 inside), each a flow hit; N defaults to 1,000,000.

// An example prints what it measured.
#![allow(clippy::print_stdout)]

use std::hint::black_box;

use vrsim::dataplane::trace::NoTrace;
use vrsim::dataplane::{Disposition, PacketBuf};
use vrsim_testkit::seed;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "tap".into());
    let n: u64 = args.next().map_or(Ok(1_000_000), |s| s.parse())?;
    let (vif, frame) = match path.as_str() {
        "gre" => (seed::FABRIC_VIF, seed::mx_to_compute01_gre()),
        "tap" => (seed::TAP_VIF, seed::container_reply_from_vm()),
        "vxlan" => (seed::FABRIC_VIF, seed::vxlan_vni4_to_vm()),
        "gre6" => (seed::FABRIC_VIF, seed::mx_to_compute01_gre_v6()),
        "tap6" => (seed::TAP_VIF, seed::container_reply_from_vm_v6()),
        other => {
            return Err(format!("unknown path {other:?} (gre, tap, vxlan, gre6 or tap6)").into());
        }
    };
    let mut router = seed::compute01(true)?;
    seed::dual_stack(&mut router);
    // The first packet's flow miss is answered by the agent: the N measured
    // packets hit the flow, as a flow's packets after its first do.
    vrsim_testkit::process_with_agent(&mut router, vif, &frame, &mut NoTrace);
    let mut buf = PacketBuf::with_capacity(1514);
    let start = std::time::Instant::now();
    let mut sent = 0u64;
    for _ in 0..n {
        let d = router.process(black_box(vif), black_box(&frame), &mut buf, &mut NoTrace);
        sent += u64::from(matches!(d, Disposition::Transmit { .. }));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{path}: {sent} of {n} transmitted, {:.2} M packets/s",
        n as f64 / secs / 1e6
    );
    Ok(())
}
