//! The failure document 002 explains: without the BGPaaS route, the
//! container's reply enters compute01's vif0/37 with a source that resolves
//! to the gateway's tunnel, not to the VM's tap, and RPF drops it. Turning
//! RPF off on the network lets it pass.
//!
//! `cargo run --example rpf_drop`

// An example prints what it shows.
#![allow(clippy::print_stdout)]

use vrsim::fabric::packet::Probe;
use vrsim::fabric::trace::Outcome;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut fabric = vrsim::scenarios::load("seed-bgpaas")?;
    for change in fabric.bgpaas_down("dockerhost")? {
        println!("control plane: {change}");
    }
    let earth = "203.0.113.10".parse()?;
    let trip = fabric.probe("centos-ssh", earth, Probe::Icmp)?;
    println!(
        "\nthe reply with the BGPaaS session down:\n{}",
        trip.forward
    );
    let Outcome::Dropped { device, cause } = &trip.forward.outcome else {
        return Err("the reply should be dropped".into());
    };
    println!(
        "\nwhy: {device} dropped it as {cause}: {}",
        cause.detail().as_deref().unwrap_or("?")
    );

    fabric.set_rpf("public", false)?;
    let trip = fabric.probe("centos-ssh", earth, Probe::Icmp)?;
    println!("\nwith RPF off on the network: {}", trip.forward.outcome);
    Ok(())
}
