//! CPU-specific code, and the crate's only `unsafe` code: software prefetch, and
//! running `lookup_batch` with the `popcnt` instruction when the CPU has it.
//!
//! The x86_64 baseline has no `popcnt`, so `count_ones` compiles to a dozen
//! instructions; the batch path is compiled twice and the variant with the
//! instruction is chosen at run time. Nobody needs `-C target-cpu=native`.

#![allow(unsafe_code)]

use std::net::Ipv4Addr;

use crate::v4::Ipv4Table;

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

/// Runs `lookup_batch` with `popcnt` if the CPU has it (checked once per call;
/// the standard library caches the answer).
pub(crate) fn lookup_batch_v4<V: Copy>(
    table: &Ipv4Table<V>,
    addrs: &[Ipv4Addr],
    out: &mut [Option<V>],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: `with_popcnt` only requires the `popcnt` target feature, and
        // the CPU we run on has it: we just checked.
        unsafe { with_popcnt(table, addrs, out) };
        return;
    }
    crate::batch::pipeline_v4(table, addrs, out);
}

/// [`crate::batch::pipeline_v4`], inlined and compiled with `popcnt`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn with_popcnt<V: Copy>(table: &Ipv4Table<V>, addrs: &[Ipv4Addr], out: &mut [Option<V>]) {
    crate::batch::pipeline_v4(table, addrs, out);
}
