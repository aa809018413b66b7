//! Scenario A both ways: the test PC `earth` pings the container behind the
//! Docker VM, through gw-01's MPLSoGRE tunnel and compute01's vRouter, and the
//! reply comes back. Prints both traces hop by hop.
//!
//! `cargo run --example mx_to_container`

// An example prints what it shows.
#![allow(clippy::print_stdout)]

use vrsim::fabric::packet::Probe;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut fabric = vrsim::scenarios::load("seed-bgpaas")?;
    let trip = fabric.probe("earth", "192.168.100.1".parse()?, Probe::Icmp)?;
    println!("{}\n", trip.forward);
    let reply = trip.reply.ok_or("the container did not answer")?;
    println!("{reply}");
    if !(trip.forward.delivered() && reply.delivered()) {
        return Err("the seed ping should go through both ways".into());
    }
    Ok(())
}
