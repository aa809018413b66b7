//! A whole fabric from Python: a built-in scenario or a TOML file, probes
//! traced end to end (as dicts of the JSON schema `vrsim-trace/1`), what-ifs
//! on copies, `diff` between two fabrics, pcapng of a round trip.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use vrsim::fabric::diff::Flow;
use vrsim::fabric::packet::Probe;
use vrsim::fabric::trace::FabricTrace;

use crate::{address, config_error, dicts, vrsim_error};

/// The probe a protocol name and port make.
fn probe_of(proto: &str, port: u16) -> PyResult<Probe> {
    match proto {
        "icmp" | "icmpv6" | "icmp6" => Ok(Probe::Icmp),
        "udp" => Ok(Probe::Udp(port)),
        "tcp" => Ok(Probe::Tcp(port)),
        other => Err(vrsim_error(format!(
            "protocol {other:?} is not icmp, udp or tcp"
        ))),
    }
}

/// A scenario: its control plane with every compute node's vRouter, the
/// gateways, Linux hosts and links. What-ifs change it in place; `copy()`
/// first to compare with `diff`.
#[pyclass(module = "vrsim", skip_from_py_object)]
#[derive(Clone)]
pub struct Fabric {
    pub(crate) inner: vrsim::fabric::Fabric,
}

/// A probe's trace and the reply's: `delivered`, `document` (the
/// `vrsim-trace/1` dict), `text` (the trace as `vrsim trace` prints it),
/// `write_pcap(path)` (one frame per link crossed, pcapng).
#[pyclass(module = "vrsim", frozen)]
pub struct RoundTrip {
    trip: vrsim::fabric::RoundTrip,
    scenario: String,
    from: String,
    to: std::net::IpAddr,
    probe: Probe,
}

fn text_of(t: &FabricTrace) -> String {
    t.to_string()
}

#[pymethods]
impl RoundTrip {
    /// Whether the probe was delivered.
    #[getter]
    fn delivered(&self) -> bool {
        self.trip.forward.delivered()
    }

    /// Whether the reply came back.
    #[getter]
    fn reply_delivered(&self) -> bool {
        self.trip.reply.as_ref().is_some_and(FabricTrace::delivered)
    }

    /// The devices the probe visited, in order.
    #[getter]
    fn path(&self) -> Vec<String> {
        self.trip
            .forward
            .path()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// How the probe ended (`delivered to centos-ssh (192.168.100.1)`).
    #[getter]
    fn outcome(&self) -> String {
        self.trip.forward.outcome.to_string()
    }

    /// How the reply ended, if there was one.
    #[getter]
    fn reply_outcome(&self) -> Option<String> {
        self.trip.reply.as_ref().map(|r| r.outcome.to_string())
    }

    /// The trace (and the reply's) as `vrsim trace` prints them.
    #[getter]
    fn text(&self) -> String {
        let mut s = text_of(&self.trip.forward);
        if let Some(r) = &self.trip.reply {
            s.push_str("\n\nreply:\n\n");
            s.push_str(&text_of(r));
        }
        s
    }

    /// The stable minimal form golden files use.
    #[getter]
    fn minimal(&self) -> String {
        let mut s = self.trip.forward.minimal();
        if let Some(r) = &self.trip.reply {
            s.push_str("\nreply:\n");
            s.push_str(&r.minimal());
        }
        s
    }

    /// The `vrsim-trace/1` document as a dict.
    fn document(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let doc = vrsim::fabric::json::document(
            &self.scenario,
            &self.from,
            self.to,
            self.probe,
            &self.trip.forward,
            self.trip.reply.as_ref(),
        );
        dicts::json_to_py(py, &doc)
    }

    /// The frames as they crossed each link, forward then reply, as pcapng
    /// (one interface per link, each frame commented with its hop).
    fn write_pcap(&self, path: PathBuf) -> PyResult<()> {
        let mut traces = vec![("forward", &self.trip.forward)];
        traces.extend(self.trip.reply.as_ref().map(|r| ("reply", r)));
        let frames = vrsim::fabric::capture::link_frames(traces);
        let file = std::fs::File::create(&path)
            .map_err(|e| vrsim_error(format!("{}: {e}", path.display())))?;
        vrsim::fabric::capture::write_pcapng(file, &frames)
            .map(|_| ())
            .map_err(|e| vrsim_error(format!("{}: {e}", path.display())))
    }

    fn __repr__(&self) -> String {
        format!(
            "<RoundTrip {} -> {}: {}>",
            self.from,
            self.to,
            self.outcome()
        )
    }
}

#[pymethods]
impl Fabric {
    /// Load a built-in scenario by name (`seed-bgpaas`, `k8s-rr`, `bgpaas-ha`) or a TOML
    /// scenario file; a bad file raises `ConfigError` with its line and
    /// column.
    #[staticmethod]
    fn load(scenario: &Bound<'_, PyAny>) -> PyResult<Fabric> {
        let os = scenario.py().import("os")?;
        let scenario: String = os.call_method1("fspath", (scenario,))?.extract()?;
        vrsim::scenarios::load(&scenario)
            .map(|inner| Fabric { inner })
            .map_err(config_error)
    }

    /// The built-in scenarios' names.
    #[staticmethod]
    fn scenarios() -> Vec<&'static str> {
        vrsim::scenarios::BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    /// The scenario's name.
    #[getter]
    fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    /// A copy to change with what-ifs and compare with `diff`.
    fn copy(&self) -> Fabric {
        self.clone()
    }

    fn __copy__(&self) -> Fabric {
        self.clone()
    }

    fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> Fabric {
        self.clone()
    }

    /// A copy for what-ifs, as a context manager: `with fabric.what_if()
    /// as after: after.bgpaas_down("dockerhost"); fabric.diff(after, flows)`.
    /// The fabric itself is never changed.
    fn what_if(&self) -> Fabric {
        self.clone()
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __exit__(
        &self,
        _kind: &Bound<'_, PyAny>,
        _value: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> bool {
        false
    }

    /// The hosts' names.
    fn hosts(&self) -> Vec<String> {
        self.inner.hosts().map(|h| h.name.clone()).collect()
    }

    /// Send a probe from host `src` to `dst` (IPv4 or IPv6): `proto` is
    /// `icmp`, `udp` or `tcp`, `port` the UDP or TCP destination port.
    #[pyo3(signature = (src, dst, proto = "icmp", port = 7))]
    fn probe(
        &mut self,
        src: &str,
        dst: &Bound<'_, PyAny>,
        proto: &str,
        port: u16,
    ) -> PyResult<RoundTrip> {
        let to = address(dst)?;
        let probe = probe_of(proto, port)?;
        let trip = self.inner.probe(src, to, probe).map_err(vrsim_error)?;
        Ok(RoundTrip {
            trip,
            scenario: self.inner.name().to_owned(),
            from: src.to_owned(),
            to,
            probe,
        })
    }

    /// What-if: every BGPaaS session of VM `vm` goes down. Returns the
    /// programming calls it caused, as text.
    fn bgpaas_down(&mut self, vm: &str) -> PyResult<Vec<String>> {
        changes(self.inner.bgpaas_down(vm))
    }

    /// What-if: VM `vm` withdraws `prefix` on every session carrying it.
    fn withdraw(&mut self, vm: &str, prefix: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
        let text = prefix.str()?.to_string();
        let p: ipnet::IpNet = text
            .parse()
            .map_err(|_| vrsim_error(format!("{text:?} is not a prefix")))?;
        changes(self.inner.withdraw(vm, p))
    }

    /// What-if: RPF on or off in network `network`.
    fn set_rpf(&mut self, network: &str, on: bool) -> PyResult<Vec<String>> {
        changes(self.inner.set_rpf(network, on))
    }

    /// What-if: a policy rule (`deny tcp any <> 10.1.0.0/16:80`, `pass
    /// icmp6 public > any`) put first among `network`'s rules; every flow is
    /// decided anew.
    fn add_policy_rule(&mut self, network: &str, rule: &str) -> PyResult<()> {
        let rule = rule.parse().map_err(config_error)?;
        self.inner
            .add_policy_rule(network, rule)
            .map_err(vrsim_error)
    }

    /// A compute node's vRouter command, as text (`rt --dump 1`, `flow -l`, …).
    fn dump(&self, node: &str, command: &str) -> PyResult<String> {
        let r = self
            .inner
            .control()
            .vrouter(node)
            .ok_or_else(|| vrsim_error(format!("no compute node {node}")))?;
        vrsim::conformance::cli(r, command).map_err(vrsim_error)
    }

    /// The gateway's `show route PREFIX` (the scenario's first gateway by
    /// default); `None` when no VRF holds the prefix.
    #[pyo3(signature = (prefix, gateway = None))]
    fn show_route(
        &self,
        prefix: &Bound<'_, PyAny>,
        gateway: Option<&str>,
    ) -> PyResult<Option<String>> {
        let text = prefix.str()?.to_string();
        let p: ipnet::IpNet = text
            .parse()
            .map_err(|_| vrsim_error(format!("{text:?} is not a prefix")))?;
        let g = match gateway {
            Some(name) => self.inner.gateway(name),
            None => self.inner.gateways().next(),
        }
        .ok_or_else(|| vrsim_error("no such gateway"))?;
        Ok(g.show_route(p))
    }

    /// Trace `flows` (each `(src, dst)` or `(src, dst, proto, port)`, or
    /// the line `vrsim diff --flows` reads: `earth 192.168.100.1 tcp 22`;
    /// `None`: every flow between the fabric's hosts, as `vrsim diff --all`)
    /// in this fabric and in `after`, and list every flow whose outcome or
    /// path changed, with the first lookup that answered differently.
    #[pyo3(signature = (after, flows=None))]
    fn diff(
        &self,
        py: Python<'_>,
        after: &Fabric,
        flows: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyList>> {
        let parsed = match flows {
            None => vrsim::fabric::diff::all_flows(&self.inner),
            Some(flows) => {
                let mut parsed = Vec::new();
                for f in sequence(flows, "flows")? {
                    parsed.push(flow_of(&f)?);
                }
                parsed
            }
        };
        let changed =
            vrsim::fabric::diff::diff(&self.inner, &after.inner, &parsed).map_err(vrsim_error)?;
        let out = PyList::empty(py);
        for c in changed {
            let d = PyDict::new(py);
            d.set_item("src", &c.flow.from)?;
            d.set_item("dst", c.flow.to.to_string())?;
            d.set_item("probe", c.flow.probe.to_string())?;
            d.set_item("direction", c.direction)?;
            d.set_item("before", &c.before)?;
            d.set_item("after", &c.after)?;
            d.set_item("why", &c.why)?;
            d.set_item("text", c.to_string())?;
            out.append(d)?;
        }
        Ok(out.unbind())
    }

    fn __repr__(&self) -> String {
        format!("<Fabric {}>", self.inner.name())
    }
}

/// The items of a list or tuple (not of any iterable: an endless one would
/// never end).
fn sequence<'py>(v: &Bound<'py, PyAny>, what: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if let Ok(l) = v.cast::<PyList>() {
        return Ok(l.iter().collect());
    }
    if let Ok(t) = v.cast::<pyo3::types::PyTuple>() {
        return Ok(t.iter().collect());
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "{what}: a list or tuple"
    )))
}

/// A flow of `diff`: a string line or a tuple.
fn flow_of(f: &Bound<'_, PyAny>) -> PyResult<Flow> {
    if let Ok(line) = f.extract::<String>() {
        return line.parse().map_err(vrsim_error);
    }
    let parts = sequence(f, "a flow")?;
    let (from, to) = match (parts.first(), parts.get(1)) {
        (Some(a), Some(b)) => (a.extract::<String>()?, address(b)?),
        _ => return Err(vrsim_error("a flow is (src, dst[, proto[, port]])")),
    };
    let proto: String = parts
        .get(2)
        .map(|p| p.extract())
        .transpose()?
        .unwrap_or_else(|| "icmp".into());
    let port: u16 = parts.get(3).map(|p| p.extract()).transpose()?.unwrap_or(7);
    Ok(Flow {
        from,
        to,
        probe: probe_of(&proto, port)?,
    })
}

fn changes(
    done: Result<Vec<vrsim::control::program::Change>, vrsim::fabric::FabricError>,
) -> PyResult<Vec<String>> {
    done.map(|c| c.iter().map(ToString::to_string).collect())
        .map_err(vrsim_error)
}
