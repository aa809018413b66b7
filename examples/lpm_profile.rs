//! Lookups in the real Internet table, for callgrind's instruction and
//! cache-miss counts (noise on a shared VM hides changes of a few percent
//! from criterion). Only the lookups are counted, not the table's load:
//!
//! ```text
//! cargo build --release --example lpm_profile
//! valgrind --tool=callgrind --cache-sim=yes --toggle-collect='lpm_profile::measure*' \
//!     target/release/examples/lpm_profile WHAT SET N
//! ```
//!
//! WHAT is `single` or `batch` (`vrsim-lpm`'s table), `fib` or `fib-batch`
//! (its FIB, [`vrsim_lpm::Fib4`], values the origin AS), `fib-256` or
//! `fib-256-batch` (the FIB with the origin AS hashed to 256 next hops, so
//! its node entries are 16 bits wide), or `prefix-trie`; or, on the
//! benchmarks' synthetic IPv6 table, `fib6`, `fib6-batch` or
//! `prefix-trie6`. SET is `uniform` (random addresses) or `matching` (inside
//! random prefixes of the table).
//! The totals divided by N are the cost of one lookup: instructions (Ir),
//! reads (Dr), and first-level and last-level read misses of the simulated
//! caches (D1mr, DLmr).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;

use ipnet::{Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;
use vrsim_lpm::{Fib4, Fib6, Ipv4Table};

#[path = "../benches/lpm/data.rs"]
#[allow(dead_code)]
mod data;

/// The structures a run can measure.
enum Under {
    Table(Ipv4Table<u32>, bool),
    Fib(Fib4<u32>, bool),
    PrefixTrie(PrefixMap<Ipv4Net, u32>),
}

/// The IPv6 structures a run can measure.
enum Under6 {
    Fib(Fib6<u32>, bool),
    PrefixTrie(PrefixMap<Ipv6Net, u32>),
}

/// [`measure`], for IPv6.
#[inline(never)]
fn measure6(under: &Under6, addrs: &[Ipv6Addr]) -> usize {
    match under {
        Under6::Fib(f, false) => addrs.iter().filter(|&&a| f.lookup(a).is_some()).count(),
        Under6::Fib(f, true) => {
            let mut out = vec![None; addrs.len()];
            f.lookup_batch(addrs, &mut out);
            out.iter().filter(|o| o.is_some()).count()
        }
        Under6::PrefixTrie(p) => addrs
            .iter()
            .filter(|&&a| p.get_lpm(&Ipv6Net::from(a)).is_some())
            .count(),
    }
}

/// The IPv6 runs: WHAT, SET and N as for IPv4.
fn main6(what: &str, set: &str, n: usize) -> Option<usize> {
    let pfx = data::v6_table();
    let under = match what {
        "fib6" | "fib6-batch" => Under6::Fib(
            Fib6::from_table(pfx.iter().copied().collect()),
            what == "fib6-batch",
        ),
        "prefix-trie6" => Under6::PrefixTrie(pfx.iter().copied().collect()),
        _ => return None,
    };
    let mut rng = data::Rng::new(7);
    let addrs = match set {
        "uniform" => data::uniform6(&mut rng, n),
        "matching" => data::matching6(&pfx, &mut rng, n),
        _ => return None,
    };
    Some(measure6(&under, &addrs))
}

/// The lookups alone (callgrind collects inside this function only): how
/// many addresses matched.
#[inline(never)]
fn measure(under: &Under, addrs: &[Ipv4Addr]) -> usize {
    match under {
        Under::Table(t, false) => addrs
            .iter()
            .filter(|&&a| t.longest_match(a).is_some())
            .count(),
        Under::Table(t, true) => {
            let mut out = vec![None; addrs.len()];
            t.lookup_batch(addrs, &mut out);
            out.iter().filter(|o| o.is_some()).count()
        }
        Under::Fib(f, false) => addrs.iter().filter(|&&a| f.lookup(a).is_some()).count(),
        Under::Fib(f, true) => {
            let mut out = vec![None; addrs.len()];
            f.lookup_batch(addrs, &mut out);
            out.iter().filter(|o| o.is_some()).count()
        }
        Under::PrefixTrie(p) => addrs
            .iter()
            .filter(|&&a| p.get_lpm(&Ipv4Net::from(a)).is_some())
            .count(),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: lpm_profile single|batch|fib|fib-batch|fib-256|fib-256-batch|prefix-trie\
                 |fib6|fib6-batch|prefix-trie6 uniform|matching N";
    let (Some(what), Some(set), Some(n)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("{usage}");
        return ExitCode::FAILURE;
    };
    let n: usize = match n.parse() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("lpm_profile: N: {e}");
            return ExitCode::FAILURE;
        }
    };
    if matches!(what.as_str(), "fib6" | "fib6-batch" | "prefix-trie6") {
        let Some(found) = main6(what, set, n) else {
            eprintln!("{usage}");
            return ExitCode::FAILURE;
        };
        println!("{}", black_box(found));
        return ExitCode::SUCCESS;
    }
    let pfx = data::load_v4();
    let table: Ipv4Table<u32> = pfx.iter().copied().collect();
    let under = match what.as_str() {
        "single" | "batch" => Under::Table(table, what == "batch"),
        "fib" | "fib-batch" => Under::Fib(Fib4::from_table(table), what == "fib-batch"),
        "fib-256" | "fib-256-batch" => {
            let folded = pfx.iter().map(|&(p, v)| (p, v % 256)).collect();
            Under::Fib(Fib4::from_table(folded), what == "fib-256-batch")
        }
        "prefix-trie" => Under::PrefixTrie(pfx.iter().copied().collect()),
        _ => {
            eprintln!("{usage}");
            return ExitCode::FAILURE;
        }
    };
    let mut rng = data::Rng::new(7);
    let addrs: Vec<Ipv4Addr> = match set.as_str() {
        "uniform" => (0..n).map(|_| Ipv4Addr::from(rng.next() as u32)).collect(),
        "matching" => data::matching4(&pfx, &mut rng, n),
        _ => {
            eprintln!("{usage}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", black_box(measure(&under, &addrs)));
    ExitCode::SUCCESS
}
