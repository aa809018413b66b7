//! Test and benchmark data for the LPM tables: the real IPv4 table, a synthetic
//! IPv6 table and a fixed-seed random number generator. Shared by
//! `benches/lpm.rs` and `tests/lpm_differential.rs`.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// xorshift64*: tiny, fast and repeatable.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A random index below `n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// 128 random bits.
    pub(crate) fn next128(&mut self) -> u128 {
        (u128::from(self.next()) << 64) | u128::from(self.next())
    }
}

/// The real IPv4 table of `benches/data/dfz-ipv4.csv.gz`: distinct prefixes with
/// host bits masked, in file order, each with its origin AS as value. The bogus
/// `0.0.0.0/1` row is skipped.
pub(crate) fn load_v4() -> Vec<(Ipv4Net, u32)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/dfz-ipv4.csv.gz");
    let file = std::fs::File::open(path).expect("benches/data/dfz-ipv4.csv.gz");
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(900_000);
    for line in reader.lines() {
        let line = line.expect("readable gzip data");
        let mut cols = line.trim_start_matches('\u{feff}').split(',');
        let (Some(net), Some(len), Some(asn)) = (cols.next(), cols.next(), cols.next()) else {
            continue;
        };
        let (Ok(net), Ok(len), Ok(asn)) = (net.parse::<Ipv4Addr>(), len.parse(), asn.parse())
        else {
            continue; // the header
        };
        let Ok(p) = Ipv4Net::new(net, len) else {
            continue;
        };
        let p = p.trunc();
        if p == Ipv4Net::new(Ipv4Addr::UNSPECIFIED, 1).expect("valid") {
            continue;
        }
        if seen.insert(p) {
            out.push((p, asn));
        }
    }
    out
}

/// Addresses inside prefixes drawn uniformly from `pfx`.
pub(crate) fn matching4(pfx: &[(Ipv4Net, u32)], rng: &mut Rng, n: usize) -> Vec<Ipv4Addr> {
    (0..n)
        .map(|_| {
            let p = pfx[rng.below(pfx.len())].0;
            let host = rng.next() as u32 & !u32::from(p.netmask());
            Ipv4Addr::from(u32::from(p.network()) | host)
        })
        .collect()
}

/// Prefix lengths of the synthetic IPv6 table, per mille, modelled on the
/// IPv6 default-free zone: /48 48%, /32 13%, /44 8%, /40 7%, /36 4%, /29 3%,
/// /46 3%, /47, /42, /45 2% each, and 1% or less each of /28, /30, /31, /33,
/// /34, /35, /37, /38, /39, /41 and /43.
pub(crate) const V6_MIX: [(u8, u32); 21] = [
    (48, 480),
    (32, 130),
    (44, 80),
    (40, 70),
    (36, 40),
    (29, 30),
    (46, 30),
    (47, 20),
    (42, 20),
    (45, 20),
    (28, 10),
    (30, 10),
    (31, 5),
    (33, 10),
    (34, 10),
    (35, 10),
    (37, 5),
    (38, 5),
    (39, 5),
    (41, 5),
    (43, 5),
];

/// Prefixes in the synthetic IPv6 table (before removing duplicates).
pub(crate) const V6_SIZE: usize = 200_000;

/// The synthetic IPv6 table: allocations of length 32 or less in seven
/// RIR-like /12 blocks, and longer prefixes nested inside random allocations, with
/// the [`V6_MIX`] length mix; values are their index. Deterministic.
pub(crate) fn v6_table() -> Vec<(Ipv6Net, u32)> {
    let blocks: [u128; 7] = [0x2000, 0x2400, 0x2600, 0x2800, 0x2a00, 0x2a10, 0x2c00];
    let mut rng = Rng::new(6);
    let mut lens = Vec::with_capacity(V6_SIZE);
    for &(len, permille) in &V6_MIX {
        lens.extend(std::iter::repeat_n(len, V6_SIZE * permille as usize / 1000));
    }
    lens.sort_unstable();
    let mut allocs: Vec<(u128, u8)> = Vec::new();
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(V6_SIZE);
    for len in lens {
        let addr = if len <= 32 {
            // Anywhere in the block's /12.
            let block = (blocks[rng.below(blocks.len())] & 0xfff0) << 112;
            let a = block | (rng.next128() >> 12);
            allocs.push((a, len));
            a
        } else {
            let (base, blen) = allocs[rng.below(allocs.len())];
            let below = rng.next128() >> blen;
            (base & (!0u128 << (128 - u32::from(blen)))) | below
        };
        let p = Ipv6Net::new(Ipv6Addr::from(addr), len)
            .expect("len <= 128")
            .trunc();
        if seen.insert(p) {
            out.push((p, out.len() as u32));
        }
    }
    // Present the prefixes in a random order, as a real feed would.
    for i in (1..out.len()).rev() {
        out.swap(i, rng.below(i + 1));
    }
    out
}

/// `n` random addresses inside 2000::/3.
pub(crate) fn uniform6(rng: &mut Rng, n: usize) -> Vec<Ipv6Addr> {
    (0..n)
        .map(|_| Ipv6Addr::from(rng.next128() >> 3 | 1 << 125))
        .collect()
}

/// `n` addresses inside prefixes drawn uniformly from `pfx`.
pub(crate) fn matching6(pfx: &[(Ipv6Net, u32)], rng: &mut Rng, n: usize) -> Vec<Ipv6Addr> {
    (0..n)
        .map(|_| {
            let p = pfx[rng.below(pfx.len())].0;
            let host = rng.next128() & !u128::from(p.netmask());
            Ipv6Addr::from(u128::from(p.network()) | host)
        })
        .collect()
}

/// A churn of `n` changes to a table holding every prefix of `pfx`: each
/// takes a random prefix of `pfx` and removes it if the table holds it or
/// inserts it again (with its own value) if not. Returns `(prefix, value,
/// insert?)` in order; deterministic for a seed.
pub(crate) fn churn4(pfx: &[(Ipv4Net, u32)], rng: &mut Rng, n: usize) -> Vec<(Ipv4Net, u32, bool)> {
    let mut gone = vec![false; pfx.len()];
    (0..n)
        .map(|_| {
            let i = rng.below(pfx.len());
            gone[i] = !gone[i];
            (pfx[i].0, pfx[i].1, !gone[i])
        })
        .collect()
}
