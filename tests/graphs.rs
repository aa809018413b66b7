//! Pictures of the scenarios (`vrsim_fabric::graph`): the topology as DOT
//! and Mermaid, with and without a trace's path, and traces as ladders,
//! compared with golden files in `tests/golden/<scenario>/`
//! (`VRSIM_BLESS=1 cargo test --test graphs` rewrites them).

use std::net::Ipv4Addr;

use vrsim::fabric::graph;
use vrsim::fabric::packet::Probe;
use vrsim_testkit::golden::assert_golden;

#[test]
fn the_seed_topology_and_its_ping_as_pictures() {
    let mut fabric = vrsim::scenarios::load("seed-bgpaas").expect("a built-in scenario");
    assert_golden("seed-bgpaas/graph.dot", &graph::dot(&fabric, None));
    let earth = Ipv4Addr::new(192, 168, 100, 1);
    let trip = fabric
        .probe("earth", earth.into(), Probe::Icmp)
        .expect("earth can send");
    let t = Some(&trip.forward);
    assert_golden("seed-bgpaas/graph-ping.dot", &graph::dot(&fabric, t));
    assert_golden("seed-bgpaas/graph-ping.mmd", &graph::mermaid(&fabric, t));
    let ladder = graph::ladder(&trip.forward);
    assert!(ladder.contains("GRE/MPLS 35 (ICMP)"), "{ladder}");
    assert_golden("seed-bgpaas/ladder-ping.mmd", &ladder);
    let reply = trip.reply.as_ref().expect("the container answers");
    assert_golden("seed-bgpaas/ladder-reply.mmd", &graph::ladder(reply));
}

#[test]
fn a_dropped_trace_marks_the_device_that_dropped_it() {
    let mut fabric = vrsim::scenarios::load("seed-bgpaas").expect("a built-in scenario");
    fabric
        .bgpaas_down("dockerhost")
        .expect("the VM has a session");
    let trip = fabric
        .probe(
            "centos-ssh",
            Ipv4Addr::new(203, 0, 113, 10).into(),
            Probe::Icmp,
        )
        .expect("the container can send");
    let dot = graph::dot(&fabric, Some(&trip.forward));
    assert!(dot.contains("xlabel=\"dropped: Invalid Source\""), "{dot}");
    assert_golden(
        "seed-bgpaas/ladder-rpf-drop.mmd",
        &graph::ladder(&trip.forward),
    );
}

#[test]
fn the_k8s_topology_as_a_mermaid_flowchart() {
    let fabric = vrsim::scenarios::load("k8s-rr").expect("a built-in scenario");
    assert_golden("k8s-rr/graph.mmd", &graph::mermaid(&fabric, None));
}

#[test]
fn the_svg_picture_renders_and_names_every_hop() {
    let mut fabric = vrsim::scenarios::load("seed-bgpaas").expect("a built-in scenario");
    let trip = fabric
        .probe("earth", Ipv4Addr::new(192, 168, 100, 1).into(), Probe::Icmp)
        .expect("earth can send");
    let svg = graph::svg(&fabric, Some(&trip.forward));
    for hop in &trip.forward.hops {
        assert!(
            svg.contains(&format!(">{}</text>", hop.device)),
            "{} missing",
            hop.device
        );
    }
    assert!(svg.contains(">delivered 192.168.100.1</text>"), "{svg}");
    assert_golden("seed-bgpaas/graph-ping.svg", &svg);
    // Render it to pixels with resvg: it parses, has a size, and draws the
    // red path on the white background.
    let tree = resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default())
        .expect("the SVG parses");
    let size = tree.size().to_int_size();
    assert!(size.width() > 400 && size.height() > 50, "{size:?}");
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).expect("a pixmap");
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    let pixels = pixmap.pixels();
    let red = pixels
        .iter()
        .filter(|p| p.red() > 200 && p.green() < 60 && p.blue() < 60)
        .count();
    let white = pixels
        .iter()
        .filter(|p| p.red() == 255 && p.green() == 255 && p.blue() == 255)
        .count();
    assert!(red > 500, "{red} red pixels");
    assert!(
        white > pixels.len() / 4 && white < pixels.len(),
        "{white} of {} white",
        pixels.len()
    );
}
