//! Lookups in the real Internet table, for callgrind's instruction counts
//! (noise on a shared VM hides changes of a few percent from criterion):
//!
//! ```text
//! cargo build --release --example lpm_profile
//! valgrind --tool=callgrind target/release/examples/lpm_profile {single|batch} N
//! ```
//!
//! Run it at two values of N and divide the difference of the totals by the
//! difference of N: what is left is the cost of one lookup, without the load.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::process::ExitCode;

use vrsim_lpm::Ipv4Table;

#[path = "../benches/lpm/data.rs"]
#[allow(dead_code)]
mod data;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (mode, n) = match (args.get(1).map(String::as_str), args.get(2)) {
        (Some(m @ ("single" | "batch")), Some(n)) => match n.parse::<usize>() {
            Ok(n) => (m.to_owned(), n),
            Err(e) => {
                eprintln!("lpm_profile: N: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => {
            eprintln!("usage: lpm_profile single|batch N");
            return ExitCode::FAILURE;
        }
    };
    let table: Ipv4Table<u32> = data::load_v4().into_iter().collect();
    let mut rng = data::Rng::new(7);
    let addrs: Vec<Ipv4Addr> = (0..n).map(|_| Ipv4Addr::from(rng.next() as u32)).collect();
    let mut hits = 0usize;
    if mode == "single" {
        for a in &addrs {
            hits += usize::from(table.longest_match(*a).is_some());
        }
    } else {
        let mut out = vec![None; addrs.len()];
        table.lookup_batch(&addrs, &mut out);
        hits = out.iter().filter(|o| o.is_some()).count();
    }
    println!("{}", black_box(hits));
    ExitCode::SUCCESS
}
