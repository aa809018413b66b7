//! The vRouter pipeline on scenario A's compute01: packets per second on each
//! path, untraced and traced.
//!
//! `cargo bench --bench pipeline` (add `-- --warm-up-time 1 --measurement-time 3` for a short run).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vrsim::dataplane::trace::{NoTrace, Trace};
use vrsim::dataplane::{Disposition, PacketBuf, VifId};
use vrsim_testkit::seed;

fn paths() -> Vec<(&'static str, VifId, Vec<u8>, VifId)> {
    vec![
        (
            "mplsogre_to_tap",
            seed::FABRIC_VIF,
            seed::mx_to_compute01_gre(),
            seed::TAP_VIF,
        ),
        (
            "tap_to_mplsogre_rpf",
            seed::TAP_VIF,
            seed::container_reply_from_vm(),
            seed::FABRIC_VIF,
        ),
        (
            "vxlan_to_tap",
            seed::FABRIC_VIF,
            seed::vxlan_vni4_to_vm(),
            seed::TAP_VIF,
        ),
    ]
}

fn pipeline(c: &mut Criterion) {
    let mut router = match seed::compute01(true) {
        Ok(r) => r,
        Err(e) => panic!("compute01 does not build: {e}"),
    };
    let mut buf = PacketBuf::with_capacity(1514);
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(1));
    for (name, vif, frame, out) in paths() {
        // Check the path before measuring it.
        assert_eq!(
            router.process(vif, &frame, &mut buf, &mut NoTrace),
            Disposition::Transmit { vif: out }
        );
        group.bench_function(format!("{name}/untraced"), |b| {
            b.iter(|| router.process(black_box(vif), black_box(&frame), &mut buf, &mut NoTrace))
        });
        let mut trace = Trace::default();
        group.bench_function(format!("{name}/traced"), |b| {
            b.iter(|| {
                trace.steps.clear();
                router.process(black_box(vif), black_box(&frame), &mut buf, &mut trace)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
