//! How the tables work (documentation only).
//!
//! # The problem
//!
//! A real IPv4 table holds about 886,000 prefixes, 58% of them `/24`. A lookup
//! for a random address must finish in tens of nanoseconds, and a dependent
//! memory access costs 22–25 ns while the working set fits the 2 MiB L2 cache and
//! 150–290 ns beyond a few MiB. So the structure must be a few MiB, resolve most
//! lookups in two or three dependent accesses, and still keep every prefix
//! exactly once so that `get`, `remove` and `iter` need no second copy.
//!
//! # The structure
//!
//! One trie serves as both the authoritative table (RIB) and the lookup
//! structure (FIB). It is a multibit trie with 8-bit strides, as in the
//! vRouter's own `mtrie` (`dp-core/vr_ip_mtrie.c`), whose nodes are
//! tree bitmaps (Eatherton, Varghese & Dittia, "Tree bitmap: hardware/software
//! IP lookups with incremental updates", CCR 2004) instead of 256 expanded
//! slots, plus a direct-pointing table over the top 16 bits as in Poptrie
//! (Asai & Ohara, "Poptrie: a compressed trie with population count for fast and
//! scalable software IP routing table lookup", SIGCOMM 2015) and DXR (Zec, Rizzo
//! & Mikuc, "DXR: towards a billion routing lookups per second in software",
//! CCR 2012).
//!
//! ```text
//!  direct: 65,536 u64 entries, indexed by the top 16 address bits
//!  +-----------------------------+-------------------------------+
//!  | fallback code (node, bit):  | 0 | deep | depth-16 node     |   (or the empty
//!  | longest prefix <= /16       |   | flag | index             |    node, 0)
//!  +-----------------------------+-------------------------------+
//!                                                |
//!     bits[node]: 64 bytes, one cache line       |     aux[node]: 24 bytes
//!  +--------------------------------------+<-----+---->+-------------------------------+
//!  | 511-bit heap of prefixes /17 .. /24  |            | values: Box<[V]>  (bit order) |
//!  |  bit (1 << k) | x  = the /(16+k)     |            | cum: popcounts before words   |
//!  |  whose k bits below /16 are x        |            +-------------------------------+
//!  +--------------------------------------+
//!        links[node] -> kids (cold; rare in IPv4)
//!        +---------------------------------------+
//!        | map: 256 bits, one per next byte      |
//!        | nodes: Box<[u32]>, depth-24 children  |
//!        +---------------------------------------+
//! ```
//!
//! Every node at depth `D` holds the prefixes of lengths `D+1 ..= D+8` below
//! one `D`-bit prefix in a 511-bit heap (the root also holds `/0`). Its values
//! are stored once, in bit order, in an exactly-sized boxed slice: the value of
//! the prefix at bit `p` is at index `rank(p)`, one popcount away thanks to the
//! cached per-word counts. The keys are implicit in the bits, so the table needs
//! no key storage at all: about 7.9 bytes per prefix with `u32` values on the
//! real table, of which 4 are the values themselves.
//!
//! Nodes at depth 0 and 8 hold the prefixes of length `<= 16`. The direct table
//! leaf-pushes them: each `/16` slot holds a code (node, bit) for the longest
//! such prefix covering it. This is the controlled prefix expansion of the vRouter's `mtrie`
//! applied to one level only, so an update of a short prefix rewrites at most
//! `2^(16 - len)` slots, while an update of a prefix longer than 16 touches one
//! node and its value slice.
//!
//! # A lookup
//!
//! 1. `e = direct[addr >> 16]` (up to 512 KiB, mostly cache-resident).
//! 2. Load the depth-16 node's bitmap and aux record (independent accesses);
//!    slots without a node read a permanently empty node instead of branching.
//!    Only if the deep flag is set, look for a match in the depth-24 child first.
//! 3. Find the longest prefix on the path of the third byte: bit tests for the
//!    levels 8, 7 and 6 and one masked `leading_zeros` for levels 0 to 5.
//! 4. If there is none, the fallback code names the answer instead. Its value
//!    is `values[rank]`. A slot no short prefix covers has code 0, naming the
//!    empty node, whose empty value slice makes the lookup a miss.
//!
//! The direct table is stored as 256 blocks of 256 entries, one per top
//! address byte, which top bytes with equal entries share (copy on write,
//! `direct.rs`): a new table is one shared 2 KiB block, a default route
//! rewrites that block once instead of 65,536 entries, and a VRF with a few
//! routes holds a few KiB where a flat array took 512 KiB. A compute node's
//! tables went from megabytes to kilobytes this way (a generated 100-node
//! fabric: 809 MB peak to 71 MB). The price is one more dependent load, from
//! the 1 KiB top array that stays in L1: 6 more instructions of about 124 per
//! lookup (callgrind, `examples/lpm_profile.rs`).
//!
//! Steps 3 and 4 use `select_unpredictable` instead of branches: whether a
//! random address matches at level 8 is a coin toss, and a mispredicted branch
//! would throw away the work the CPU had started on the following lookups.
//! `lookup_batch` works on groups of 32 addresses in stages (direct entries and
//! node prefetches; resolution and value prefetches; copies), so the group's
//! memory accesses of one stage overlap.
//!
//! IPv6 uses the same nodes below the same `/16` direct table and walks down
//! child lists byte by byte, remembering the best match as tree bitmap does.
//!
//! # Updates
//!
//! Inserting or removing a prefix longer than 16 bits walks at most four nodes
//! (IPv4), flips one bit, recomputes the node's cached counts and reallocates its
//! value slice; a node that becomes empty is freed and recycled. There is no
//! rebuild and no amortised compaction, so the cost of one update is a few
//! hundred nanoseconds whatever the table size.
//!
//! # Measured (`cargo bench --bench lpm`, 2-core VM, one thread)
//!
//! Real IPv4 table: 7.8 bytes per prefix with `u32` values (prefix-trie 14.2,
//! treebitmap 11.4); build 0.15 s; one insert 0.16 µs and one remove 0.24 µs
//! into the full table. Uniform random addresses: 39–45 M single lookups/s
//! (1.5–1.6× prefix-trie in the same run) and 57–60 M/s with `lookup_batch`
//! (2.2–3.5× prefix-trie); addresses inside the table's prefixes: 48–71 M/s
//! batched (8–17× prefix-trie). A lookup costs about 108 instructions single and
//! 127 batched (callgrind), so with 4,096 cache-resident addresses the batch
//! runs at 89 M/s: instructions, not only cache misses, bound it. What cut them
//! (162 → 108 single, 188 → 127 batched): building the returned `Ipv4Net` with
//! one mask instead of `Ipv4Net::trunc`, direct-table entries that name the
//! empty node instead of carrying a tag to test, a staged batch loop instead of
//! a rolling pipeline, and POPCNT/LZCNT in the batch.
//!
//! For speed the tables have a leaf-pushed FIB beside them ([`Fib4`] and
//! [`Fib6`], the [`fib`](crate::fib) module): every prefix expanded to the
//! slots it covers, runs found by one popcount, as Poptrie and the vRouter's
//! `mtrie` do. This table stays the RIB: it keeps the keys implicit in its
//! bitmaps within 8 bytes per prefix, and gives the FIB what it needs on a
//! removal (the longest prefix containing the removed one).
//!
//! [`Fib4`]: crate::Fib4
//! [`Fib6`]: crate::Fib6
//!
//! IPv6 nodes are sparse: 119 bytes per prefix on the synthetic table, and deep
//! lookups walk up to four nodes below the direct table.
//!
//! # Correctness
//!
//! - `tests/oracle_v4.rs` and `tests/oracle_v6.rs`: proptest sequences of
//!   insert, remove, get and lookup (single and batch) over clustered, nested
//!   prefixes of every length, checked against a `BTreeMap` and a linear scan at
//!   every step, then the iteration order, a rebuild and a bulk build with
//!   duplicates. Failures persist in `tests/*.regressions`.
//! - The workspace's `tests/lpm_differential.rs`: the real 886,116-prefix table
//!   against `prefix-trie`, 200,000 addresses after the full load and after
//!   removing a random third; the same for the synthetic IPv6 table.
//! - The cargo-fuzz target `lpm_ops` in the workspace's `fuzz/`.
//! - Under Miri (`cargo +nightly miri test -p vrsim-lpm --lib`, about two and
//!   a half minutes): all unit tests, including `lookup_batch`, whose prefetches
//!   and CPU-feature dispatch are the crate's only `unsafe` code. The proptests are too slow under Miri (four
//!   cases did not finish in 15 minutes, when every table zeroed a 512 KiB
//!   direct table); they, the differential test and the fuzz target run with debug
//!   assertions and overflow checks (the workspace's dev profile) or in release.
