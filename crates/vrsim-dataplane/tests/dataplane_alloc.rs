//! The untraced fast path allocates nothing per packet: a counting global
//! allocator (this file is its own test binary, so it affects nothing else)
//! counts the allocations `process` makes with `NoTrace` and a reused
//! `PacketBuf`, after one warm-up packet, on every forwarding path of
//! compute01 and on drop paths.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]
// A `GlobalAlloc` is an `unsafe impl`; it only forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use vrsim_dataplane::drop::DropReason;
use vrsim_dataplane::trace::NoTrace;
use vrsim_dataplane::{Disposition, PacketBuf, VRouter, VifId};
use vrsim_testkit::compute01;
use vrsim_testkit::ids::public;
use vrsim_testkit::seed::{self, FABRIC_VIF, TAP_VIF, VHOST_VIF};

/// Forwards to `System`, counting allocations and reallocations made by a
/// thread while its `COUNTING` flag is set.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the thread-locals may be gone while a thread exits.
    let on = COUNTING.try_with(Cell::get).unwrap_or(false);
    if on {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every method forwards its arguments unchanged to `System`, which
// upholds the `GlobalAlloc` contract; counting touches only const-initialised
// thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's guarantees on `layout` are passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: `ptr` was allocated by `System` with `layout` (all allocations go through it).
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `realloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get)
}

const PACKETS: usize = 1000;

/// Send `frame` once to warm up (its flow miss answered by the agent, so
/// that the packets after it hit the flow), check it comes out as `want`,
/// then count the allocations of `PACKETS` more.
fn assert_no_allocation(r: &mut VRouter, vif: VifId, frame: &[u8], want: Disposition) {
    let mut buf = PacketBuf::default();
    let (first, _) = vrsim_testkit::process_with_agent(r, vif, frame, &mut NoTrace);
    assert_eq!(first, want);
    // A flow hit, which also grows `buf` to the frame size.
    assert_eq!(r.process(vif, frame, &mut buf, &mut NoTrace), want);
    let mut last = want;
    let n = allocations(|| {
        for _ in 0..PACKETS {
            last = r.process(vif, frame, &mut buf, &mut NoTrace);
        }
    });
    assert_eq!(last, want);
    assert_eq!(n, 0, "{n} allocations for {PACKETS} packets ({want:?})");
}

#[test]
fn the_counter_counts() {
    let n = allocations(|| drop(std::hint::black_box(vec![1u8; 64])));
    assert_eq!(n, 1);
    // And a trace, which records steps in a `Vec`, allocates.
    let mut r = compute01();
    let mut buf = PacketBuf::with_capacity(1514);
    let frame = seed::mx_to_compute01_gre();
    let n = allocations(|| {
        let mut trace = vrsim_dataplane::trace::Trace::default();
        r.process(FABRIC_VIF, &frame, &mut buf, &mut trace);
    });
    assert!(n > 0);
}

#[test]
fn fabric_mplsogre_to_tap() {
    let tap = Disposition::Transmit { vif: TAP_VIF };
    assert_no_allocation(
        &mut compute01(),
        FABRIC_VIF,
        &seed::mx_to_compute01_gre(),
        tap,
    );
}

#[test]
fn fabric_mplsoudp_to_tap() {
    let tap = Disposition::Transmit { vif: TAP_VIF };
    assert_no_allocation(
        &mut compute01(),
        FABRIC_VIF,
        &seed::mx_to_compute01_udp(),
        tap,
    );
}

#[test]
fn fabric_vxlan_to_tap() {
    let tap = Disposition::Transmit { vif: TAP_VIF };
    assert_no_allocation(&mut compute01(), FABRIC_VIF, &seed::vxlan_vni4_to_vm(), tap);
}

#[test]
fn tap_to_mplsogre_with_rpf() {
    let mut r = compute01();
    r.set_rpf(public(), true);
    let fabric = Disposition::Transmit { vif: FABRIC_VIF };
    assert_no_allocation(&mut r, TAP_VIF, &seed::container_reply_from_vm(), fabric);
}

#[test]
fn to_host() {
    let ping = vrsim_wire::Frame::new()
        .ethernet(seed::DOCKERHOST_MAC, seed::VROUTER_MAC)
        .ipv4(seed::DOCKERHOST_IP, seed::VN_GATEWAY_IP)
        .icmp_echo_request(1, 1, b"gw?")
        .build()
        .unwrap();
    let host = Disposition::ToHost { vif: VHOST_VIF };
    assert_no_allocation(&mut compute01(), TAP_VIF, &ping, host);
}

#[test]
fn drop_paths() {
    let drop = |r| Disposition::Drop(r);
    // Trace 3: RPF fails without the /26.
    let mut r = seed::compute01(false).unwrap();
    let reply = seed::container_reply_from_vm();
    assert_no_allocation(&mut r, TAP_VIF, &reply, drop(DropReason::InvalidSource));
    // An unknown VNID.
    let mut unknown = seed::vxlan_vni4_to_vm();
    unknown[42 + 6] = 5;
    let mut r = compute01();
    assert_no_allocation(&mut r, FABRIC_VIF, &unknown, drop(DropReason::InvalidVnid));
    // A missing vif, and a runt frame.
    let missing = VifId::new(36).unwrap();
    assert_no_allocation(&mut r, missing, &reply, drop(DropReason::InvalidIf));
    assert_no_allocation(
        &mut r,
        TAP_VIF,
        &reply[..10],
        drop(DropReason::InterfaceDrop),
    );
}
