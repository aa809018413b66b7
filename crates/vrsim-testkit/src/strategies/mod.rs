//! proptest strategies, one module per crate under test. Each produces plain
//! descriptions (operations, headers, routes); the tests build the objects
//! and compute their expectations from them.

#[cfg(feature = "scenario")]
pub mod dataplane;
pub mod lpm;
pub mod wire;
