//! The vRouter's tables as Python dicts (what `vif`, `nh`, `rt` and
//! `flow -l` print, with the same names), and serde values as Python objects.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use vrsim::dataplane::VrfId;
use vrsim::dataplane::flow::FlowAction;
use vrsim::dataplane::route::Route;

/// A serde value (a JSON document, a step) as Python dicts and lists,
/// through the standard library's `json` module.
pub(crate) fn json_to_py<T: serde::Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    let text = serde_json::to_string(value).map_err(crate::vrsim_error)?;
    Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
}

/// Every vif: `id`, `name`, `type`, `mac`, `ip`, `ip6`, `vrf`, `mtu`,
/// `flags` (the letters `vif --get` prints), `nh`, and its counters.
pub(crate) fn vifs(py: Python<'_>, r: &vrsim::dataplane::VRouter) -> PyResult<Py<PyList>> {
    let out = PyList::empty(py);
    for v in r.vifs() {
        let c = &v.config;
        let d = PyDict::new(py);
        d.set_item("id", c.id.value())?;
        d.set_item("name", &c.name)?;
        d.set_item("type", c.kind.to_string())?;
        d.set_item("mac", c.mac.to_string())?;
        d.set_item("ip", c.ip.map(|a| a.to_string()))?;
        d.set_item("ip6", c.ip6.map(|a| a.to_string()))?;
        d.set_item("vrf", c.vrf.value())?;
        d.set_item("mtu", c.mtu)?;
        d.set_item("flags", c.flags.to_string())?;
        d.set_item("nh", c.nh.map(|n| n.value()))?;
        let s = &v.stats;
        d.set_item("rx_packets", s.rx_packets)?;
        d.set_item("rx_bytes", s.rx_bytes)?;
        d.set_item("rx_errors", s.rx_errors)?;
        d.set_item("tx_packets", s.tx_packets)?;
        d.set_item("tx_bytes", s.tx_bytes)?;
        d.set_item("tx_errors", s.tx_errors)?;
        d.set_item("drops", v.drops.total())?;
        out.append(d)?;
    }
    Ok(out.unbind())
}

/// Every nexthop: `id`, `type` (as `nh` prints it), `family`, `vrf`,
/// `flags`, `oif`, `refs`.
pub(crate) fn nexthops(py: Python<'_>, r: &vrsim::dataplane::VRouter) -> PyResult<Py<PyList>> {
    let out = PyList::empty(py);
    for n in r.nexthops() {
        let c = &n.config;
        let d = PyDict::new(py);
        d.set_item("id", c.id.value())?;
        d.set_item("type", c.kind.type_name())?;
        d.set_item("family", c.family.name())?;
        d.set_item("vrf", c.vrf.value())?;
        d.set_item("flags", c.flags.to_string())?;
        d.set_item("oif", c.kind.oif().map(|v| v.value()))?;
        d.set_item("refs", n.refs)?;
        out.append(d)?;
    }
    Ok(out.unbind())
}

fn route_dict<'py>(py: Python<'py>, prefix: String, r: &Route) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("prefix", prefix)?;
    d.set_item("nh", r.nh.value())?;
    d.set_item("label", r.label.map(|l| l.value()))?;
    d.set_item("flags", r.flags.to_string())?;
    d.set_item(
        "stitched_mac",
        r.stitched_mac.map(|(m, i)| (m.to_string(), i)),
    )?;
    Ok(d)
}

/// The routes of one VRF and family as the table holds them (not
/// expanded as `rt --dump` prints the mtrie).
pub(crate) fn routes(
    py: Python<'_>,
    r: &vrsim::dataplane::VRouter,
    vrf: VrfId,
    family: &str,
) -> PyResult<Py<PyList>> {
    let out = PyList::empty(py);
    let Some(v) = r.vrf(vrf) else {
        return Ok(out.unbind());
    };
    match family {
        "inet" => {
            for (p, route) in v.inet4.iter() {
                out.append(route_dict(py, p.to_string(), route)?)?;
            }
        }
        "inet6" => {
            for (p, route) in v.inet6.iter() {
                out.append(route_dict(py, p.to_string(), route)?)?;
            }
        }
        other => {
            return Err(crate::vrsim_error(format!(
                "family {other:?} is neither inet nor inet6"
            )));
        }
    }
    Ok(out.unbind())
}

/// Every flow: `index`, the key (`proto`, `src`, `sport`, `dst`, `dport`,
/// `nh`), `action` (the letter `flow -l` prints), `drop_reason`, `src_nh`,
/// `rflow`, `vrf`, `dvrf`, `ecmp_index`, `packets`, `bytes`.
pub(crate) fn flows(py: Python<'_>, r: &vrsim::dataplane::VRouter) -> PyResult<Py<PyList>> {
    let out = PyList::empty(py);
    for (index, e) in r.flows().iter() {
        let d = PyDict::new(py);
        d.set_item("index", index)?;
        d.set_item("proto", e.key.proto)?;
        d.set_item("src", e.key.src.to_string())?;
        d.set_item("sport", e.key.sport)?;
        d.set_item("dst", e.key.dst.to_string())?;
        d.set_item("dport", e.key.dport)?;
        d.set_item("nh", e.key.nh.value())?;
        d.set_item("action", e.action.letter().to_string())?;
        let dropped = e.action == FlowAction::Drop;
        d.set_item(
            "drop_reason",
            dropped.then(|| format!("{:?}", e.drop_reason)),
        )?;
        d.set_item("src_nh", e.src_nh.value())?;
        d.set_item("rflow", e.rflow)?;
        d.set_item("vrf", e.vrf.value())?;
        d.set_item("dvrf", e.dvrf.value())?;
        d.set_item("ecmp_index", e.ecmp_index)?;
        d.set_item("packets", e.packets)?;
        d.set_item("bytes", e.bytes)?;
        out.append(d)?;
    }
    Ok(out.unbind())
}
