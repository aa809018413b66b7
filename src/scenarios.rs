//! The scenarios that ship with vrsim, as TOML topology files in
//! `scenarios/` (schema: [`vrsim_fabric::topology`]):
//!
//! - `seed-bgpaas` (scenario A, document 000): a Docker VM running Calico
//!   behind compute01's vRouter; its container block learned over BGPaaS;
//! - `k8s-rr` (scenario B, document 002): Kubernetes with Calico on three
//!   compute nodes, two BIRD route reflectors peering with Contrail;
//! - `bgpaas-ha`: two VNF VMs on two compute nodes advertise one service
//!   block over BGPaaS with equal attributes: control-plane ECMP, the
//!   gateway's multipath, flows pinned to members, and what happens when a
//!   VNF's session goes down.

use vrsim_fabric::Fabric;
use vrsim_fabric::topology::{self, TopologyError};

/// The built-in scenarios: name and TOML text.
pub const BUILTIN: [(&str, &str); 3] = [
    ("seed-bgpaas", include_str!("../scenarios/seed-bgpaas.toml")),
    ("k8s-rr", include_str!("../scenarios/k8s-rr.toml")),
    ("bgpaas-ha", include_str!("../scenarios/bgpaas-ha.toml")),
];

/// The TOML text of a built-in scenario.
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Load a built-in scenario by name, or a TOML file by path.
pub fn load(name_or_path: &str) -> Result<Fabric, TopologyError> {
    if let Some(text) = builtin(name_or_path) {
        return topology::load(&format!("scenarios/{name_or_path}.toml"), text);
    }
    let text = std::fs::read_to_string(name_or_path).map_err(|e| TopologyError {
        file: name_or_path.to_owned(),
        line: 0,
        column: 0,
        message: format!(
            "{e} (built-in scenarios: {})",
            BUILTIN.map(|(n, _)| n).join(", ")
        ),
    })?;
    topology::load(name_or_path, &text)
}
