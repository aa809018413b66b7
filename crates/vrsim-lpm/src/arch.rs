//! Software prefetch and CPU feature detection. With the call in `batch.rs`
//! that enters the POPCNT/LZCNT copy of the batch loop and the two in
//! `push.rs` that enter the POPCNT copies of the FIB's lookups, this is the
//! crate's only `unsafe` code.
//!
//! `lookup_batch` asks for the cache lines of addresses further down the batch
//! before it reads them, so their fetches from memory overlap.
//!
//! A lookup does one `count_ones` and two `leading_zeros`, which the x86_64
//! baseline compiles to a dozen instructions and three. `lookup_batch` detects
//! POPCNT and LZCNT once per call and then runs a copy of its loop compiled with
//! them (about 20 fewer instructions per address), so nobody needs
//! `-C target-cpu=native`. Single lookups stay on the baseline: a detection and
//! an out-of-line call per lookup cost more than they save (callgrind: 120
//! instructions per lookup with dispatch against 111 without).

#![allow(unsafe_code)]

/// Hints the CPU to bring the cache line holding `*p` into all cache levels.
/// Never faults and has no effect on the program's meaning.
#[inline(always)]
pub(crate) fn prefetch<T>(p: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` only requires SSE, which every x86_64 CPU has (it is
    // in the x86_64 baseline target features). A prefetch does not dereference
    // the pointer in the language sense and never faults; here it is moreover
    // derived from a valid reference.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(p).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Whether this CPU has the POPCNT instruction (cached by the standard
/// library: one load).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn has_popcnt() -> bool {
    std::arch::is_x86_feature_detected!("popcnt")
}

/// Whether this CPU has the POPCNT and LZCNT instructions. The standard
/// library detects them once and caches the answer, so this is two loads.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn has_bit_ops() -> bool {
    std::arch::is_x86_feature_detected!("popcnt") && std::arch::is_x86_feature_detected!("lzcnt")
}
