//! Software prefetch: the crate's only `unsafe` code.
//!
//! `lookup_batch` asks for the cache lines of addresses further down the batch
//! before it reads them, so their fetches from memory overlap.
//!
//! The lookups need no special instructions: each does one `count_ones` and one
//! `leading_zeros`, which the x86_64 baseline compiles to short sequences.
//! Variants compiled with `popcnt`, `lzcnt` and BMI2 and chosen at run time
//! made no measurable difference here (the lookups wait on memory, not on
//! arithmetic), so nobody needs `-C target-cpu=native` and there is no
//! dispatch.

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
