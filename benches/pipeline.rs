//! The vRouter pipeline on scenario A's compute01 (dual-stack): packets per
//! second on each path, IPv4 and IPv6, untraced and traced, each packet a flow hit (the agent answered the
//! first packet's miss before measuring); and flow setup: a new flow's miss,
//! the agent's answer, the pair installed and the held packet released.
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
        (
            "mplsogre_to_tap_v6",
            seed::FABRIC_VIF,
            seed::mx_to_compute01_gre_v6(),
            seed::TAP_VIF,
        ),
        (
            "tap_to_mplsogre_rpf_v6",
            seed::TAP_VIF,
            seed::container_reply_from_vm_v6(),
            seed::FABRIC_VIF,
        ),
    ]
}

fn pipeline(c: &mut Criterion) {
    let mut router = match seed::compute01(true) {
        Ok(r) => r,
        Err(e) => panic!("compute01 does not build: {e}"),
    };
    seed::dual_stack(&mut router);
    let mut buf = PacketBuf::with_capacity(1514);
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(1));
    for (name, vif, frame, out) in paths() {
        // The first packet makes the flow (the agent answers its miss); check
        // the path before measuring its hits.
        let (first, _) = vrsim_testkit::process_with_agent(&mut router, vif, &frame, &mut NoTrace);
        assert_eq!(first, Disposition::Transmit { vif: out });
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

/// A new flow from the container each time (UDP, the source port counting
/// up): the miss and Hold entry, the agent's pair, the release; then the
/// pair deleted, so that the table does not fill.
fn flow_setup(c: &mut Criterion) {
    let mut router = match seed::compute01(true) {
        Ok(r) => r,
        Err(e) => panic!("compute01 does not build: {e}"),
    };
    let frames: Vec<Vec<u8>> = (0..4096u16)
        .map(|port| {
            vrsim::wire::Frame::new()
                .ethernet(seed::DOCKERHOST_MAC, seed::VROUTER_MAC)
                .ipv4(seed::CONTAINER_IP, seed::EARTH_IP)
                .udp(10_000 + port, 53)
                .payload(b"flow")
                .build()
                .unwrap_or_default()
        })
        .collect();
    let policy = vrsim::control::flows::Policies::NONE;
    let mut buf = PacketBuf::with_capacity(1514);
    let mut group = c.benchmark_group("flows");
    group.throughput(Throughput::Elements(1));
    let mut next = 0usize;
    group.bench_function("setup_miss_agent_release", |b| {
        b.iter(|| {
            let frame = &frames[next % frames.len()];
            next += 1;
            let d = router.process(seed::TAP_VIF, black_box(frame), &mut buf, &mut NoTrace);
            let Disposition::Held { flow } = d else {
                panic!("a new flow is held, not {d:?}");
            };
            let pair = vrsim::control::flows::answer_flow_miss(&mut router, flow, &policy)
                .unwrap_or_else(|e| panic!("the agent: {e}"));
            let out = router.release(flow, &mut NoTrace);
            let _ = router.delete_flow(pair.reverse);
            let _ = router.delete_flow(flow);
            out
        })
    });
    group.finish();
}

criterion_group!(benches, pipeline, flow_setup);
criterion_main!(benches);
