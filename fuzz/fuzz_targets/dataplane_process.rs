//! Feed arbitrary frames to scenario A's compute01 on every vif (and on one it
//! does not have), with the flow table in play, and check after each frame
//! that it never panics and that every frame was transmitted, sent to the
//! host, is held on a flow, or was counted under exactly one drop reason,
//! globally and on its vif.
//!
//! Input: a sequence of records `[vif selector][length: u16 big-endian][frame]`;
//! the selector picks vif 0, 1, 2, 37 or the missing 36 (modulo 5); when its
//! top bit is set and the frame was held on a new flow, the agent answers the
//! miss (`vrsim_control::flows`) and the held packets are sent on. A record
//! whose frame runs past the end takes what is left.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vrsim::dataplane::drop::DropReason;
use vrsim::dataplane::trace::NoTrace;
use vrsim::dataplane::{Disposition, PacketBuf, VRouter, VifId};

/// compute01's vifs, and vif 36, which it does not have.
const VIFS: [u16; 5] = [0, 1, 2, 37, 36];

/// The records of an input: (selector, vif, frame).
fn records(mut data: &[u8]) -> impl Iterator<Item = (u8, u16, &[u8])> {
    std::iter::from_fn(move || {
        let (&sel, rest) = data.split_first()?;
        let (len, rest) = match rest {
            [hi, lo, rest @ ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), rest),
            _ => (rest.len(), &[][..]),
        };
        let (frame, rest) = rest.split_at(len.min(rest.len()));
        data = rest;
        Some((sel, VIFS[usize::from(sel & 0x7f) % VIFS.len()], frame))
    })
}

/// compute01 with the BGPaaS route, dual-stack, built once and cloned for
/// each input.
fn compute01() -> VRouter {
    static ROUTER: OnceLock<VRouter> = OnceLock::new();
    ROUTER
        .get_or_init(|| match vrsim_testkit::seed::compute01(true) {
            Ok(mut r) => {
                vrsim_testkit::seed::dual_stack(&mut r);
                r
            }
            Err(e) => panic!("compute01 builds: {e}"),
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let mut r = compute01();
    let mut buf = PacketBuf::default();
    let (mut sent, mut missing) = (0u64, 0u64);
    for (sel, vif, frame) in records(data) {
        let Some(id) = VifId::new(vif) else {
            panic!("vif {vif} is in range");
        };
        let exists = r.vif(id).is_some();
        let d = r.process(id, frame, &mut buf, &mut NoTrace);
        sent += 1;
        if let (Disposition::Held { flow }, true) = (d, sel & 0x80 != 0) {
            let policy = vrsim::control::flows::Policies::NONE;
            if vrsim::control::flows::answer_flow_miss(&mut r, flow, &policy).is_ok() {
                r.release(flow, &mut NoTrace);
            }
        }
        if !exists {
            missing += 1;
            assert_eq!(d, Disposition::Drop(DropReason::InvalidIf));
        }
        let rx: u64 = r.vifs().map(|v| v.stats.rx_packets).sum();
        let tx: u64 = r.vifs().map(|v| v.stats.tx_packets).sum();
        let per_vif: u64 = r.vifs().map(|v| v.drops.total()).sum();
        let drops = r.drops().total();
        let held: u64 = r.flows().iter().map(|(_, f)| f.held.len() as u64).sum();
        assert_eq!(
            rx,
            sent - missing,
            "rx counts every frame to an existing vif"
        );
        assert_eq!(
            tx + drops + held,
            sent,
            "every frame out, held or dropped once: {d:?}"
        );
        assert_eq!(per_vif, drops - missing, "each drop counted on its vif");
    }
});
