//! Software prefetch, the crate's only `unsafe` code.
//!
//! `lookup_batch` asks for the cache lines of the next stage of a whole group of
//! lookups before it reads any of them, so their fetches from memory overlap.

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
