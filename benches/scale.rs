//! Data-center scale (issue 22): generated fabrics (`vrsim generate`: N
//! compute nodes, 10 VMs each on one network, every VM a BGPaaS peer
//! advertising its own /26) at 10 and 100 compute nodes:
//!
//! - `scale/load/N`: the scenario text loaded into a fabric (parse, the
//!   control plane's decisions, every vRouter, host and gateway table);
//! - `scale/event/N`: one BGPaaS withdraw or advertise of a /26 on the loaded
//!   fabric, gateways included (the two alternate, so every iteration changes
//!   routes on every node);
//! - `scale/controller_event/N`: the same event on the control plane alone;
//! - `scale/trace/N`: one traced round trip from earth to a container.
//!
//! `cargo bench --bench scale`; `VRSIM_SCALE_SIZES=10,100,1000` chooses the
//! sizes (1,000 nodes needs about 5 GB and a minute per load).

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ipnet::IpNet;
use vrsim::control::Event;
use vrsim::control::bgp::PathAttrs;
use vrsim::fabric::Fabric;
use vrsim::fabric::packet::Probe;
use vrsim::fabric::topology::{self, generate};

fn sizes() -> Vec<u32> {
    std::env::var("VRSIM_SCALE_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 100])
}

fn scenario(computes: u32) -> String {
    let spec = generate::ScaleSpec {
        computes,
        vms_per_compute: 10,
        networks: 1,
        bgpaas: true,
    };
    match generate::generate("scale", &spec) {
        Ok(text) => text,
        Err(e) => panic!("the generator refuses {computes} nodes: {e}"),
    }
}

fn load(text: &str) -> Fabric {
    match topology::load("scale.toml", text) {
        Ok(f) => f,
        Err(e) => panic!("a generated scenario does not load: {e}"),
    }
}

/// The withdraw and the advertise of vm2's /26, which alternate.
fn vm2_events(fabric: &Fabric) -> [Event; 2] {
    let ((bgpaas, peer), session) = fabric
        .control()
        .sessions()
        .find(|((b, _), s)| b == "vm2" && s.up)
        .unwrap_or_else(|| panic!("vm2 has no BGPaaS session up"));
    let (prefix, attrs): (&IpNet, &PathAttrs) = session
        .routes
        .iter()
        .next()
        .unwrap_or_else(|| panic!("vm2 advertises nothing"));
    [
        Event::Withdraw {
            bgpaas: bgpaas.clone(),
            peer: *peer,
            prefix: *prefix,
        },
        Event::Advertise {
            bgpaas: bgpaas.clone(),
            peer: *peer,
            prefix: *prefix,
            attrs: attrs.clone(),
        },
    ]
}

fn scale(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale");
    g.sample_size(10).warm_up_time(Duration::from_secs(1));
    for n in sizes() {
        let text = scenario(n);
        g.bench_function(format!("load/{n}"), |b| {
            b.iter_batched(|| (), |()| load(black_box(&text)), BatchSize::PerIteration);
        });
        let mut fabric = load(&text);
        let events = vm2_events(&fabric);
        let mut i = 0usize;
        g.bench_function(format!("event/{n}"), |b| {
            b.iter(|| {
                let e = events[i % 2].clone();
                i += 1;
                match fabric.apply(e) {
                    Ok(changes) => black_box(changes),
                    Err(e) => panic!("the event is refused: {e}"),
                }
            });
        });
        // Leave the route advertised.
        if i % 2 == 1 {
            let _ = fabric.apply(events[1].clone());
        }
        let mut control = fabric.control().clone();
        let mut j = 0usize;
        g.bench_function(format!("controller_event/{n}"), |b| {
            b.iter(|| {
                let e = events[j % 2].clone();
                j += 1;
                match control.apply(e) {
                    Ok(changes) => black_box(changes),
                    Err(e) => panic!("the event is refused: {e}"),
                }
            });
        });
        let container: IpAddr = [100, 64, 0, 1].into();
        g.bench_function(format!("trace/{n}"), |b| {
            b.iter(|| match fabric.probe("earth", container, Probe::Icmp) {
                Ok(trip) => black_box(trip),
                Err(e) => panic!("earth cannot send: {e}"),
            });
        });
    }
    g.finish();
}

criterion_group!(benches, scale);
criterion_main!(benches);
