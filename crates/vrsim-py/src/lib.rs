//! `vrsim` for Python: one vRouter programmed object by object (the objects
//! and fields of vrsim's conformance case files), a whole fabric loaded from
//! a scenario, and the case runner, over the same Rust crates as the `vrsim`
//! command. Frames in and out are `bytes`, so scapy builds and parses them.
//!
//! Errors: a refused object, field or scenario raises [`ConfigError`] with
//! the message the Rust API gives (a field of the wrong kind, `id="one"`,
//! is the case parser's "invalid type" there); anything else vrsim refuses
//! raises [`VrsimError`]; a Python value that is no field value at all (an
//! object, a set) or a frame that is not bytes-like raises `TypeError`.
//! Field values nest at most eight deep, so no input recurses without
//! bound. A Rust panic would surface as `pyo3_runtime.PanicException`,
//! never as a crash of the interpreter; none is known.

use std::net::IpAddr;
use std::path::PathBuf;

use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use vrsim::dataplane::trace::{NoTrace, Trace};
use vrsim::dataplane::{Disposition, PacketBuf, VifId, VrfId};

mod dicts;
mod fabric;

pyo3::create_exception!(
    vrsim,
    VrsimError,
    PyException,
    "Something vrsim refuses: a missing object, a bad address, a failed what-if."
);
pyo3::create_exception!(
    vrsim,
    ConfigError,
    VrsimError,
    "An object, case file or scenario vrsim refuses, with the message the Rust API gives."
);

/// A `VrsimError` with `message`.
pub(crate) fn vrsim_error(message: impl ToString) -> PyErr {
    VrsimError::new_err(message.to_string())
}

/// A `ConfigError` with `message`.
pub(crate) fn config_error(message: impl ToString) -> PyErr {
    ConfigError::new_err(message.to_string())
}

/// How deeply field values may nest (the deepest field, `members`, is a
/// list of tables: three levels).
const MAX_DEPTH: usize = 8;

/// A Python value as TOML: bool, int, float, str, bytes (hex), list or
/// tuple, dict with str keys, at most [`MAX_DEPTH`] deep (a list that holds
/// itself is refused, not followed); anything else is a `TypeError` naming
/// `at`.
fn toml_value(value: &Bound<'_, PyAny>, at: &str, depth: usize) -> PyResult<toml::Value> {
    if depth > MAX_DEPTH {
        return Err(config_error(format!(
            "{at}: nested more than {MAX_DEPTH} deep"
        )));
    }
    if value.is_instance_of::<PyBool>() {
        return Ok(toml::Value::Boolean(value.extract()?));
    }
    if value.is_instance_of::<PyInt>() {
        let n: i64 = value
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("{at}: the integer does not fit 64 bits")))?;
        return Ok(toml::Value::Integer(n));
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(toml::Value::Float(value.extract()?));
    }
    if value.is_instance_of::<PyString>() {
        return Ok(toml::Value::String(value.extract()?));
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        let hex: String = b.as_bytes().iter().map(|x| format!("{x:02x}")).collect();
        return Ok(toml::Value::String(hex));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for (i, item) in value.try_iter()?.enumerate() {
            out.push(toml_value(&item?, &format!("{at}[{i}]"), depth + 1)?);
        }
        return Ok(toml::Value::Array(out));
    }
    if let Ok(d) = value.cast::<PyDict>() {
        return Ok(toml::Value::Table(toml_table(d, at, depth + 1)?));
    }
    let kind = value.get_type().name()?.to_string();
    Err(PyTypeError::new_err(format!(
        "{at}: a {kind} is not a field value (bool, int, float, str, bytes, list or dict)"
    )))
}

/// Keyword arguments (or a dict) as a TOML table.
fn toml_table(fields: &Bound<'_, PyDict>, at: &str, depth: usize) -> PyResult<toml::Table> {
    let mut t = toml::Table::new();
    for (k, v) in fields.iter() {
        let key: String = k
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("{at}: field names are strings")))?;
        let value = toml_value(&v, &format!("{at}.{key}"), depth)?;
        t.insert(key, value);
    }
    Ok(t)
}

/// One vRouter: vifs, nexthops, routes, bridge entries, labels, VNIDs and
/// flows, added and deleted with the fields of a case file's `[[vif]]`,
/// `[[nh]]`, … tables (`docs/conformance.md`), and packets sent through it.
#[pyclass(module = "vrsim")]
pub struct VRouter {
    router: vrsim::dataplane::VRouter,
    buf: PacketBuf,
}

/// What became of a frame: `disposition` is `"transmit"`, `"to_host"`,
/// `"held"` or `"drop"`; `vif` the vif it left by (or was handed to the host
/// or agent through); `frame` the bytes that left; `drop_reason` the
/// `dropstats` counter; `flow` the flow a held packet waits in; `trace` one
/// step a line; `steps` the steps as dicts (the kinds of the JSON schema
/// `vrsim-trace/1`).
#[pyclass(module = "vrsim", name = "Result", frozen)]
pub struct ProcessResult {
    disposition: &'static str,
    vif: Option<u16>,
    frame: Py<PyBytes>,
    drop_reason: Option<String>,
    flow: Option<u32>,
    /// The steps, rendered only when asked for (`trace`, `steps`).
    trace: Option<Trace>,
}

#[pymethods]
impl ProcessResult {
    /// `"transmit"`, `"to_host"`, `"held"` or `"drop"`.
    #[getter]
    fn disposition(&self) -> &'static str {
        self.disposition
    }

    /// The vif the frame left by, or was handed to the host or agent through.
    #[getter]
    fn vif(&self) -> Option<u16> {
        self.vif
    }

    /// The frame as it left (empty when dropped or held).
    #[getter]
    fn frame(&self, py: Python<'_>) -> Py<PyBytes> {
        self.frame.clone_ref(py)
    }

    /// The `dropstats` counter that counted the drop.
    #[getter]
    fn drop_reason(&self) -> Option<String> {
        self.drop_reason.clone()
    }

    /// The flow a held packet waits in.
    #[getter]
    fn flow(&self) -> Option<u32> {
        self.flow
    }

    /// The vRouter's steps, one a line (empty when traced with `trace=False`).
    #[getter]
    fn trace(&self) -> String {
        self.trace
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The steps as dicts: `text`, `step` (the kind, as in the JSON schema
    /// `vrsim-trace/1`) and the step's fields.
    #[getter]
    fn steps(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        let steps = PyList::empty(py);
        for s in self.trace.iter().flat_map(|t| &t.steps) {
            steps.append(dicts::json_to_py(
                py,
                &vrsim::fabric::json::vrouter_step(s),
            )?)?;
        }
        Ok(steps.unbind())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let len = self.frame.bind(py).as_bytes().len();
        match (self.disposition, self.vif, &self.drop_reason, self.flow) {
            ("drop", _, Some(r), _) => format!("<Result drop: {r}>"),
            ("held", _, _, Some(f)) => format!("<Result held in flow {f}>"),
            (d, Some(v), _, _) => format!("<Result {d} vif {v}, {len} bytes>"),
            (d, ..) => format!("<Result {d}>"),
        }
    }

    /// Whether the frame left by a vif.
    #[getter]
    fn transmitted(&self) -> bool {
        self.disposition == "transmit"
    }
}

fn vif_id(v: u16) -> PyResult<VifId> {
    VifId::new(v).ok_or_else(|| vrsim_error(format!("vif {v} is out of range")))
}

impl VRouter {
    fn add_or_delete(
        &mut self,
        kind: &str,
        fields: Option<&Bound<'_, PyDict>>,
        add: bool,
    ) -> PyResult<Option<u32>> {
        let table = match fields {
            Some(f) => toml_table(f, kind, 0)?,
            None => toml::Table::new(),
        };
        let done = if add {
            vrsim::conformance::objects::add(&mut self.router, kind, table)
        } else {
            vrsim::conformance::objects::delete(&mut self.router, kind, table).map(|()| None)
        };
        done.map_err(config_error)
    }

    fn result(
        &self,
        py: Python<'_>,
        d: Disposition,
        frame: &[u8],
        trace: Option<Trace>,
    ) -> ProcessResult {
        let (disposition, vif, drop_reason, flow) = match d {
            Disposition::Transmit { vif } => ("transmit", Some(vif.value()), None, None),
            Disposition::ToHost { vif } => ("to_host", Some(vif.value()), None, None),
            Disposition::Held { flow } => ("held", None, None, Some(flow)),
            Disposition::Drop(r) => ("drop", None, Some(r.to_string()), None),
        };
        let frame = match d {
            Disposition::Transmit { .. } | Disposition::ToHost { .. } => frame,
            _ => &[],
        };
        ProcessResult {
            disposition,
            vif,
            frame: PyBytes::new(py, frame).unbind(),
            drop_reason,
            flow,
            trace,
        }
    }
}

#[pymethods]
impl VRouter {
    /// Add (or, for a vif, change) a `vif` with the fields of a case
    /// file's `[[vif]]` table.
    #[pyo3(signature = (**fields))]
    fn add_vif(&mut self, fields: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.add_or_delete("vif", fields, true).map(|_| ())
    }

    /// Delete a `vif`, named by the fields that key it.
    #[pyo3(signature = (**fields))]
    fn delete_vif(&mut self, fields: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.add_or_delete("vif", fields, false).map(|_| ())
    }

    /// Add (or, for a vif, change) a `nh` with the fields of a case
    /// file's `[[nh]]` table.
    #[pyo3(signature = (**fields))]
    fn add_nh(&mut self, fields: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.add_or_delete("nh", fields, true).map(|_| ())
    }

    /// Delete a `nh`, named by the fields that key it.
    #[pyo3(signature = (**fields))]
    fn delete_nh(&mut self, fields: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.add_or_delete("nh", fields, false).map(|_| ())
    }

    /// Add (or, for a vif, change) a `route` with the fields of a case
    /// file's `[[route]]` table.
    #[pyo3(signature = (**fields))]
    fn add_route(&mut self, fields: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.add_or_delete("route", fields, true).map(|_| ())
    }

    /// Delete a `route`, named by the fields that key it.
    #[pyo3(signature = (**fields))]
    fn delete_route(&mut self, fields: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.add_or_delete("route", fields, false).map(|_| ())
    }

    /// Add (or, for a vif, change) a `bridge` with the fields of a case
    /// file's `[[bridge]]` table.
    #[pyo3(signature = (**fields))]
    fn add_bridge(&mut self, fields: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.add_or_delete("bridge", fields, true).map(|_| ())
    }

    /// Delete a `bridge`, named by the fields that key it.
    #[pyo3(signature = (**fields))]
    fn delete_bridge(&mut self, fields: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.add_or_delete("bridge", fields, false).map(|_| ())
    }

    /// Add (or, for a vif, change) a `mpls` with the fields of a case
    /// file's `[[mpls]]` table.
    #[pyo3(signature = (**fields))]
    fn add_mpls(&mut self, fields: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.add_or_delete("mpls", fields, true).map(|_| ())
    }

    /// Delete a `mpls`, named by the fields that key it.
    #[pyo3(signature = (**fields))]
    fn delete_mpls(&mut self, fields: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.add_or_delete("mpls", fields, false).map(|_| ())
    }

    /// Add (or, for a vif, change) a `vxlan` with the fields of a case
    /// file's `[[vxlan]]` table.
    #[pyo3(signature = (**fields))]
    fn add_vxlan(&mut self, fields: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.add_or_delete("vxlan", fields, true).map(|_| ())
    }

    /// Delete a `vxlan`, named by the fields that key it.
    #[pyo3(signature = (**fields))]
    fn delete_vxlan(&mut self, fields: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.add_or_delete("vxlan", fields, false).map(|_| ())
    }

    /// Add a `flow` with the fields of a case file's `[[flow]]` table
    /// (`rflow=N` links it to the flow at index N, where a case file says
    /// `reverse`); returns the flow's index.
    #[pyo3(signature = (**fields))]
    fn add_flow(&mut self, fields: Option<&Bound<'_, PyDict>>) -> PyResult<Option<u32>> {
        self.add_or_delete("flow", fields, true)
    }

    /// Delete a `flow`, named by the fields that key it.
    #[pyo3(signature = (**fields))]
    fn delete_flow(&mut self, fields: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.add_or_delete("flow", fields, false).map(|_| ())
    }

    /// An empty vRouter. `flow_entries`: the main flow table's size (the
    /// vRouter's 524,288 by default); `uncond_close_flow_on_tcp_rst`: the
    /// vRouter's option of that name.
    #[new]
    #[pyo3(signature = (*, flow_entries = None, uncond_close_flow_on_tcp_rst = false))]
    fn new(flow_entries: Option<u32>, uncond_close_flow_on_tcp_rst: bool) -> PyResult<Self> {
        let mut router = vrsim::dataplane::VRouter::new();
        if let Some(n) = flow_entries {
            if n == 0 {
                return Err(config_error(
                    "flow_entries: the flow table needs at least one entry",
                ));
            }
            router.set_flow_table(vrsim::dataplane::flow::FlowTable::new(n));
        }
        router.set_uncond_close_on_tcp_rst(uncond_close_flow_on_tcp_rst);
        Ok(VRouter {
            router,
            buf: PacketBuf::with_capacity(2048),
        })
    }

    /// Send `frame` into vif `vif`. With `agent=True` a packet held on a new
    /// flow is decided as the agent decides it without policies (the flow
    /// pair from the routes) and sent on, as tf-vrouter's tests expect;
    /// `trace=False` skips the trace (faster).
    #[pyo3(signature = (vif, frame, *, trace = true, agent = false))]
    fn process(
        &mut self,
        py: Python<'_>,
        vif: u16,
        frame: pyo3::pybacked::PyBackedBytes,
        trace: bool,
        agent: bool,
    ) -> PyResult<ProcessResult> {
        let frame: &[u8] = &frame;
        let vif = vif_id(vif)?;
        let (router, buf) = (&mut self.router, &mut self.buf);
        // The GIL stays held: releasing it around the pipeline costs more
        // than the pipeline itself (2.3 M packets/s held, 1.5–1.9 released,
        // bench/process_rate.py), and one vRouter serves one thread anyway.
        let (d, out, t) = if trace {
            let mut t = Trace::default();
            let (d, out) = run(router, buf, vif, frame, &mut t, agent).map_err(vrsim_error)?;
            (d, out, Some(t))
        } else {
            let (d, out) =
                run(router, buf, vif, frame, &mut NoTrace, agent).map_err(vrsim_error)?;
            (d, out, None)
        };
        let frame = out.as_deref().unwrap_or(self.buf.frame());
        Ok(self.result(py, d, frame, t))
    }

    /// The agent decides flow `flow` (held on a miss) as it does without
    /// policies; returns the decision as text.
    fn answer_flow_miss(&mut self, flow: u32) -> PyResult<String> {
        let policy = vrsim::control::flows::Policies::NONE;
        vrsim::control::flows::answer_flow_miss(&mut self.router, flow, &policy)
            .map(|d| d.to_string())
            .map_err(vrsim_error)
    }

    /// Send on the packets held in flow `flow` once it is decided; one
    /// result each, all with the trace of the whole release (the vRouter
    /// sends them on in one go, `vr_flow_flush_pnode`).
    fn release(&mut self, py: Python<'_>, flow: u32) -> Vec<ProcessResult> {
        let mut t = Trace::default();
        let released = self.router.release(flow, &mut t);
        released
            .into_iter()
            .map(|(d, frame)| self.result(py, d, &frame, Some(t.clone())))
            .collect()
    }

    /// Any of the vRouter's commands, as text in its layout: `vif --list`,
    /// `vif --get 5`, `nh --list`, `rt --dump 1`, `rt --dump 1 --family
    /// inet6`, `mpls --dump`, `vxlan --dump`, `flow -l`, `dropstats`, ….
    fn dump(&self, command: &str) -> PyResult<String> {
        vrsim::conformance::cli(&self.router, command).map_err(vrsim_error)
    }

    /// Every vif as a dict, with its counters.
    fn vifs(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        dicts::vifs(py, &self.router)
    }

    /// Every nexthop as a dict.
    fn nexthops(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        dicts::nexthops(py, &self.router)
    }

    /// The routes of VRF `vrf` (`family`: `"inet"` or `"inet6"`) as dicts.
    #[pyo3(signature = (vrf, family = "inet"))]
    fn routes(&self, py: Python<'_>, vrf: u16, family: &str) -> PyResult<Py<PyList>> {
        dicts::routes(py, &self.router, VrfId::from(vrf), family)
    }

    /// The MPLS label table: label → nexthop.
    fn labels(&self) -> std::collections::BTreeMap<u32, u32> {
        self.router
            .labels()
            .map(|(l, nh)| (l, nh.value()))
            .collect()
    }

    /// The VXLAN table: VNID → nexthop.
    fn vnids(&self) -> std::collections::BTreeMap<u32, u32> {
        self.router
            .vnids()
            .into_iter()
            .map(|(v, nh)| (v.value(), nh.value()))
            .collect()
    }

    /// Every flow as a dict (index, key, action, S(nh), reverse flow, …).
    fn flows(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        dicts::flows(py, &self.router)
    }

    /// The non-zero drop counters, by their `dropstats` names.
    fn dropstats(&self) -> std::collections::BTreeMap<String, u64> {
        self.router
            .drops()
            .non_zero()
            .map(|(r, n)| (r.to_string(), n))
            .collect()
    }
}

/// One packet through the pipeline, its held packet decided and released
/// when `agent` says so. `None` for the frame: it is in `buf`. Packets held
/// earlier in the same flow (sent without `agent`) are sent on too; the
/// result is this packet's, the last released. `Err`: the agent could not
/// install the flow pair.
fn run<T: vrsim::dataplane::trace::Tracer>(
    router: &mut vrsim::dataplane::VRouter,
    buf: &mut PacketBuf,
    vif: VifId,
    frame: &[u8],
    trace: &mut T,
    agent: bool,
) -> Result<(Disposition, Option<Vec<u8>>), String> {
    let d = router.process(vif, frame, buf, trace);
    let Disposition::Held { flow } = d else {
        return Ok((d, None));
    };
    if !agent {
        return Ok((d, None));
    }
    let policy = vrsim::control::flows::Policies::NONE;
    vrsim::control::flows::answer_flow_miss(router, flow, &policy)
        .map_err(|e| format!("the agent could not decide flow {flow}: {e}"))?;
    Ok(match router.release(flow, trace).pop() {
        Some((d, out)) => (d, Some(out)),
        None => (d, Some(Vec::new())),
    })
}

/// One conformance case's result: its name, file, whether it passed, and
/// the failure (the step or check, what was expected, what happened).
#[pyclass(module = "vrsim", frozen, get_all)]
pub struct CaseResult {
    name: String,
    file: String,
    passed: bool,
    failure: Option<String>,
}

#[pymethods]
impl CaseResult {
    fn __repr__(&self) -> String {
        match &self.failure {
            None => format!("<CaseResult {}: passed>", self.name),
            Some(f) => format!("<CaseResult {}: failed: {f}>", self.name),
        }
    }

    fn __bool__(&self) -> bool {
        self.passed
    }
}

/// Run the conformance case files at `path` (a file, or a directory's
/// `*.toml`), one result each. A file that does not load raises
/// `ConfigError` with its line and column.
#[pyfunction]
fn check(path: PathBuf) -> PyResult<Vec<CaseResult>> {
    let report = vrsim::conformance::Report::run(&[path]).map_err(config_error)?;
    let mut out = Vec::new();
    for r in report.results {
        let r = r.map_err(config_error)?;
        out.push(CaseResult {
            passed: r.passed(),
            failure: r.failure.is_some().then(|| r.to_string()),
            name: r.name,
            file: r.file,
        });
    }
    Ok(out)
}

/// Parse an address (for the stubs' `str | ipaddress` arguments).
pub(crate) fn address(a: &Bound<'_, PyAny>) -> PyResult<IpAddr> {
    let text = a.str()?.to_string();
    text.parse()
        .map_err(|_| vrsim_error(format!("{text:?} is not an IPv4 or IPv6 address")))
}

#[pymodule]
fn _vrsim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("VrsimError", py.get_type::<VrsimError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add_class::<VRouter>()?;
    m.add_class::<ProcessResult>()?;
    m.add_class::<CaseResult>()?;
    m.add_class::<fabric::Fabric>()?;
    m.add_class::<fabric::RoundTrip>()?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add("SCHEMA", vrsim::fabric::json::SCHEMA)?;
    Ok(())
}
