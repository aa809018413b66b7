//! # vrsim-testkit
//!
//! What vrsim's tests, benchmarks, examples and fuzz targets share, in one
//! unpublished crate so that none of it ships in the published ones:
//!
//! - [`seed`]: scenario A's frames and address plan (from [`vrsim::seed`])
//!   with compute01's vRouter programmed by hand ([`seed::compute01`]);
//! - [`golden`]: golden files under one root, `tests/golden/`, rewritten with
//!   `VRSIM_BLESS=1`;
//! - [`strategies`]: the proptest strategies of the wire, LPM and dataplane
//!   properties;
//! - [`tools`]: the external programs tests compare against (tshark), which
//!   fail the test with the way to install them rather than skip;
//! - [`ids`]: bounded ids from literals.
//!
//! Integration tests of a crate depend on it as a dev-dependency (a cycle
//! cargo allows for integration tests, which link the crate once); unit
//! tests inside a crate cannot, and keep their fixtures beside them. The
//! feature `scenario` (on by default) brings what needs the whole of vrsim
//! ([`seed`], [`ids`], [`strategies::dataplane`]); the wire and LPM tests
//! turn it off and build only what they test.

pub mod golden;
#[cfg(feature = "scenario")]
pub mod ids;
pub mod strategies;
pub mod tools;

#[cfg(feature = "scenario")]
mod compute01;

/// Scenario A: its frames and address plan ([`vrsim::seed`]) and compute01's
/// hand-programmed vRouter.
#[cfg(feature = "scenario")]
pub mod seed {
    pub use crate::compute01::*;
    pub use vrsim::seed::*;
}

/// Scenario A's compute01 with the BGPaaS /26 installed, as most tests want it.
#[cfg(feature = "scenario")]
///
/// # Panics
/// If the hand-programmed configuration is refused (a broken fixture).
pub fn compute01() -> vrsim::dataplane::VRouter {
    seed::compute01(true).unwrap_or_else(|e| panic!("compute01's fixture is refused: {e}"))
}

/// Process `frame` on `router` as a compute node does with its agent: a
/// packet held on a new flow is answered by the agent's logic
/// (`vrsim::control::flows::answer_flow_miss`, no policies) and sent on.
/// The frame that left (if any) is returned with the disposition.
#[cfg(feature = "scenario")]
pub fn process_with_agent<T: vrsim::dataplane::trace::Tracer>(
    router: &mut vrsim::dataplane::VRouter,
    vif: vrsim::dataplane::VifId,
    frame: &[u8],
    trace: &mut T,
) -> (vrsim::dataplane::Disposition, Vec<u8>) {
    use vrsim::dataplane::{Disposition, PacketBuf};
    let mut buf = PacketBuf::with_capacity(frame.len() + 128);
    let d = router.process(vif, frame, &mut buf, trace);
    let Disposition::Held { flow } = d else {
        return (d, buf.frame().to_vec());
    };
    let policy = vrsim::control::flows::Policies::NONE;
    if vrsim::control::flows::answer_flow_miss(router, flow, &policy).is_err() {
        return (d, Vec::new());
    }
    router.release(flow, trace).pop().unwrap_or((d, Vec::new()))
}
