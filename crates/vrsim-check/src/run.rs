//! Running a case: program a fresh vRouter, run the steps in order, then
//! the checks; the first difference ends the case.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use vrsim_dataplane::dump;
use vrsim_dataplane::flow::FlowTable;
use vrsim_dataplane::trace::Trace;
use vrsim_dataplane::{Disposition, NhId, PacketBuf, VRouter, VifId, VrfId};
use vrsim_wire::MplsLabel;

use crate::Case;
use crate::cli::cli;
use crate::program::{Check, Expect, Object, Pattern, Step};

/// What running a case gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// The first difference, if any.
    pub failure: Option<Failure>,
}

impl CaseResult {
    /// Whether every step and check went as the case expects.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Where a case first differed from what it expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `setup (nh 38)`, `step 3`, `check 2`.
    pub at: String,
    /// What the case expects.
    pub expected: String,
    /// What vrsim did.
    pub actual: String,
    /// The trace of the packet, for a send step.
    pub trace: Option<String>,
}

impl fmt::Display for CaseResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            None => write!(f, "ok   {} ({})", self.name, self.file),
            Some(x) => {
                write!(f, "FAIL {} ({}): {}", self.name, self.file, x.at)?;
                write!(f, "\n  expected: {}\n  actual:   {}", x.expected, x.actual)?;
                if let Some(t) = &x.trace {
                    write!(f, "\n  trace:")?;
                    for line in t.lines() {
                        write!(f, "\n    {line}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

fn failure(
    at: impl Into<String>,
    expected: impl Into<String>,
    actual: impl Into<String>,
) -> Failure {
    Failure {
        at: at.into(),
        expected: expected.into(),
        actual: actual.into(),
        trace: None,
    }
}

pub(crate) fn run(case: &Case) -> CaseResult {
    let result = |failure| CaseResult {
        name: case.name.clone(),
        file: case.file.clone(),
        failure,
    };
    let mut r = VRouter::new();
    if let Some(n) = case.flow_entries {
        r.set_flow_table(FlowTable::new(n));
    }
    r.set_uncond_close_on_tcp_rst(case.uncond_close_on_tcp_rst);
    let mut runner = Runner {
        r,
        flows: Vec::new(),
    };
    if let Err(f) = runner.setup(&case.objects) {
        return result(Some(f));
    }
    for (i, step) in case.steps.iter().enumerate() {
        if let Err(mut f) = runner.step(step) {
            f.at = format!("step {}{}", i + 1, f.at);
            return result(Some(f));
        }
    }
    for (i, check) in case.checks.iter().enumerate() {
        if let Err(mut f) = runner.check(check) {
            f.at = format!("check {}{}", i + 1, f.at);
            return result(Some(f));
        }
    }
    result(None)
}

struct Runner {
    r: VRouter,
    /// The index of each `[[flow]]` of the file, once added.
    flows: Vec<u32>,
}

impl Runner {
    /// Program the file's objects in order; the flows as tf-vrouter's
    /// `sync_and_link_flow` does: a flow added after its reverse points at
    /// it at once, the earlier one is changed to point back.
    fn setup(&mut self, objects: &[(String, Object)]) -> Result<(), Failure> {
        let mut later = Vec::new();
        for (what, o) in objects {
            if let Object::Flow {
                req,
                reverse,
                index,
            } = o
            {
                let mut req = *req;
                let position = self.flows.len();
                req.rflow = reverse.and_then(|r| self.flows.get(r).copied());
                let got = self.r.set_flow(&req).map_err(|e| {
                    failure(format!("setup ({what})"), "the flow added", e.to_string())
                })?;
                if let Some(want) = index
                    && got != *want
                {
                    return Err(failure(
                        format!("setup ({what})"),
                        format!("index {want}"),
                        format!("index {got}"),
                    ));
                }
                self.flows.push(got);
                if let Some(r) = reverse
                    && *r > position
                {
                    later.push((got, req, *r));
                }
                continue;
            }
            add(&mut self.r, o)
                .map_err(|e| failure(format!("setup ({what})"), "the object added", e))?;
        }
        for (index, mut req, r) in later {
            req.index = Some(index);
            req.rflow = self.flows.get(r).copied();
            self.r.set_flow(&req).map_err(|e| {
                failure(
                    "setup (linking flows)",
                    "the reverse flow linked",
                    e.to_string(),
                )
            })?;
        }
        Ok(())
    }

    fn step(&mut self, step: &Step) -> Result<(), Failure> {
        let with_note = |mut f: Failure, note: &Option<String>| {
            if let Some(n) = note {
                f.at = format!("{} ({n})", f.at);
            }
            f
        };
        match step {
            Step::Send {
                vif,
                frame,
                count,
                expect,
                note,
            } => self
                .send(*vif, frame, *count, expect)
                .map_err(|f| with_note(f, note)),
            Step::Add {
                object,
                error,
                note,
            } => outcome(add(&mut self.r, object), error).map_err(|f| with_note(f, note)),
            Step::Delete {
                object,
                error,
                note,
            } => outcome(delete(&mut self.r, object), error).map_err(|f| with_note(f, note)),
            Step::Lookup {
                vrf,
                addr,
                nh,
                prefix,
                label,
                note,
            } => {
                let (got_nh, got_prefix, got_label) = lookup(&self.r, *vrf, *addr);
                let want = format!(
                    "nh {}{}{}",
                    nh.map_or("any".into(), |n| n.to_string()),
                    prefix.map_or(String::new(), |p| format!(" prefix {p}")),
                    label.map_or(String::new(), |l| format!(" label {l}")),
                );
                let got = format!(
                    "nh {got_nh} prefix {got_prefix}{}",
                    got_label.map_or(String::new(), |l| format!(" label {l}"))
                );
                let ok = nh.is_none_or(|n| n == got_nh)
                    && prefix.is_none_or(|p| p == got_prefix)
                    && label.is_none_or(|l| Some(l) == got_label);
                if ok {
                    Ok(())
                } else {
                    Err(with_note(
                        failure(format!(": lookup {addr} in vrf {vrf}"), want, got),
                        note,
                    ))
                }
            }
        }
    }

    fn send(
        &mut self,
        vif: VifId,
        frame: &[u8],
        count: u32,
        expect: &Expect,
    ) -> Result<(), Failure> {
        let mut buf = PacketBuf::with_capacity(frame.len() + 256);
        let mut trace = Trace::default();
        let mut got = Disposition::Drop(vrsim_dataplane::drop::DropReason::Misc);
        for _ in 0..count {
            trace = Trace::default();
            got = self.r.process(vif, frame, &mut buf, &mut trace);
        }
        let trace_text = trace.to_string();
        let fail = |expected: String, actual: String| Failure {
            at: format!(": send on vif0/{vif}"),
            expected,
            actual,
            trace: Some(trace_text.clone()),
        };
        let agent = self
            .r
            .vifs()
            .find(|v| v.config.kind == vrsim_dataplane::vif::VifType::Agent)
            .map(|v| v.id());
        let shown = show(&got, buf.frame());
        match (expect, got) {
            (
                Expect::Out {
                    vif: want,
                    frame: pattern,
                },
                Disposition::Transmit { vif: out },
            ) if *want == out => {
                if let Some(p) = pattern
                    && !matches(p, buf.frame())
                {
                    return Err(fail(
                        format!("out on vif0/{want}: {}", show_pattern(p)),
                        format!("out on vif0/{out}: {}", hex_bytes(buf.frame())),
                    ));
                }
                Ok(())
            }
            (Expect::Drop(want), Disposition::Drop(reason)) if *want == reason => Ok(()),
            (Expect::Trap, Disposition::Held { .. }) => Ok(()),
            (Expect::Trap, Disposition::ToHost { vif }) if Some(vif) == agent => Ok(()),
            (Expect::Host(want, pattern), Disposition::ToHost { vif }) if *want == vif => {
                if let Some(p) = pattern
                    && !matches(p, buf.frame())
                {
                    return Err(fail(
                        format!("to the host via vif0/{want}: {}", show_pattern(p)),
                        format!("to the host via vif0/{vif}: {}", hex_bytes(buf.frame())),
                    ));
                }
                Ok(())
            }
            (Expect::Held, Disposition::Held { .. }) => Ok(()),
            (e, _) => Err(fail(describe(e), shown)),
        }
    }

    fn check(&self, check: &Check) -> Result<(), Failure> {
        match check {
            Check::Vif {
                vif,
                ipackets,
                opackets,
                drops,
            } => {
                let Some(v) = self.r.vif(*vif) else {
                    return Err(failure(format!(": vif {vif}"), "the vif", "no such vif"));
                };
                let got = [
                    ("ipackets", v.stats.rx_packets, ipackets),
                    ("opackets", v.stats.tx_packets, opackets),
                    ("drops", v.drops.total(), drops),
                ];
                for (name, have, want) in got {
                    if let Some(w) = want
                        && *w != have
                    {
                        return Err(failure(
                            format!(": vif {vif} {name}"),
                            w.to_string(),
                            have.to_string(),
                        ));
                    }
                }
                Ok(())
            }
            Check::Dropstats(want) => {
                for (reason, n) in want {
                    let have = self.r.drops().get(*reason);
                    if have != *n {
                        return Err(failure(
                            format!(": dropstats {}", reason.label()),
                            n.to_string(),
                            format!("{have}\n{}", dump::dropstats(&self.r)),
                        ));
                    }
                }
                Ok(())
            }
            Check::Cli {
                command,
                contains,
                lacks,
                equals,
            } => {
                let out = cli(&self.r, command)
                    .map_err(|e| failure(format!(": {command}"), "its output", e))?;
                if let Some(missing) = contains.iter().find(|c| !out.contains(c.as_str())) {
                    return Err(failure(
                        format!(": {command}"),
                        format!("output containing {missing:?}"),
                        out,
                    ));
                }
                if let Some(there) = lacks.iter().find(|c| out.contains(c.as_str())) {
                    return Err(failure(
                        format!(": {command}"),
                        format!("output without {there:?}"),
                        out,
                    ));
                }
                if let Some(e) = equals
                    && *e != out
                {
                    return Err(failure(format!(": {command}"), e.clone(), out));
                }
                Ok(())
            }
            Check::Flows(n) => {
                let have = self.r.flows().len();
                if have == *n {
                    Ok(())
                } else {
                    Err(failure(
                        ": flows in use",
                        n.to_string(),
                        format!("{have}\n{}", dump::flow_list(&self.r)),
                    ))
                }
            }
        }
    }
}

/// An add or delete against what the case expects of it.
fn outcome(done: Result<(), String>, error: &Option<String>) -> Result<(), Failure> {
    match (done, error) {
        (Ok(()), None) => Ok(()),
        (Err(e), Some(want)) if e.contains(want.as_str()) => Ok(()),
        (Err(e), None) => Err(failure("", "accepted", e)),
        (Ok(()), Some(want)) => Err(failure("", format!("refused ({want})"), "accepted")),
        (Err(e), Some(want)) => Err(failure("", format!("refused ({want})"), e)),
    }
}

pub(crate) fn add(r: &mut VRouter, o: &Object) -> Result<(), String> {
    let e = |e: vrsim_dataplane::DataplaneError| e.to_string();
    match o {
        Object::Vif(v) => {
            if r.vif(v.id).is_some() {
                r.change_vif(v.clone()).map_err(e)
            } else {
                r.add_vif(v.clone()).map_err(e)
            }
        }
        Object::Nh(n) => r.add_nh(n.clone()).map_err(e),
        Object::Route {
            vrf, prefix, route, ..
        } => match prefix {
            IpNet::V4(p) => r.add_route4(*vrf, *p, *route).map(|_| ()).map_err(e),
            IpNet::V6(p) => r.add_route6(*vrf, *p, *route).map(|_| ()).map_err(e),
        },
        Object::Bridge { vrf, mac, entry } => {
            r.add_bridge(*vrf, *mac, *entry).map(|_| ()).map_err(e)
        }
        Object::Mpls { label, nh } => r.add_label(*label, *nh).map_err(e),
        Object::Vxlan { vni, nh } => r.add_vnid(*vni, *nh).map_err(e),
        Object::Flow { req, .. } => r.set_flow(req).map(|_| ()).map_err(e),
    }
}

pub(crate) fn delete(r: &mut VRouter, o: &Object) -> Result<(), String> {
    let e = |e: vrsim_dataplane::DataplaneError| e.to_string();
    match o {
        Object::Vif(v) => r.delete_vif(v.id).map(|_| ()).map_err(e),
        Object::Nh(n) => r.delete_nh(n.id).map(|_| ()).map_err(e),
        Object::Route {
            vrf,
            prefix,
            route,
            replace_plen,
        } => {
            match prefix {
                IpNet::V4(p) => r.delete_route4(*vrf, *p).map(|_| ()).map_err(e)?,
                IpNet::V6(p) => r.delete_route6(*vrf, *p).map(|_| ()).map_err(e)?,
            }
            // The vRouter's delete writes the covering route the request
            // carries into the freed slots (`mtrie_delete`); the agent sends
            // the covering route it holds, which is what vrsim's table then
            // answers with. A request naming another one is refused.
            let Some(plen) = replace_plen else {
                return Ok(());
            };
            let (nh, covering, _) = lookup(r, *vrf, prefix.addr());
            let holds = if nh == NhId::DISCARD && covering.prefix_len() == prefix.max_prefix_len() {
                (0, NhId::DISCARD)
            } else {
                (covering.prefix_len(), nh)
            };
            if holds == (*plen, route.nh) {
                Ok(())
            } else {
                Err(format!(
                    "the delete carries the covering route /{plen} nh {}, but vrsim's table holds /{} nh {}",
                    route.nh, holds.0, holds.1
                ))
            }
        }
        Object::Bridge { vrf, mac, .. } => r.delete_bridge(*vrf, *mac).map(|_| ()).map_err(e),
        Object::Mpls { label, .. } => r.delete_label(*label).map(|_| ()).map_err(e),
        Object::Vxlan { vni, .. } => r.delete_vnid(*vni).map(|_| ()).map_err(e),
        Object::Flow { req, .. } => {
            let index = r
                .flows()
                .find(&req.key)
                .ok_or_else(|| format!("no flow with key {:?}", req.key))?;
            r.delete_flow(index).map(|_| ()).map_err(e)
        }
    }
}

/// The route lookup of the vRouter's `rt --get`: the nexthop, the prefix it
/// came from and the label; without a matching route, nh 0 (the VRF's
/// default, as `mtrie_lookup` answers) and the address's host prefix (the
/// vRouter answers the request's own length then; cases check only the nh).
fn lookup(r: &VRouter, vrf: VrfId, addr: IpAddr) -> (NhId, IpNet, Option<u32>) {
    let tables = r.vrf(vrf);
    let found = match addr {
        IpAddr::V4(a) => tables
            .and_then(|t| t.inet4.longest_match(a))
            .map(|(p, route)| (IpNet::V4(p), *route)),
        IpAddr::V6(a) => tables
            .and_then(|t| t.inet6.longest_match(a))
            .map(|(p, route)| (IpNet::V6(p), *route)),
    };
    match found {
        Some((p, route)) => (route.nh, p, route.label.map(MplsLabel::value)),
        None => (NhId::DISCARD, IpNet::from(addr), None),
    }
}

fn matches(p: &Pattern, frame: &[u8]) -> bool {
    p.len() == frame.len()
        && p.iter()
            .zip(frame)
            .all(|(want, have)| want.is_none_or(|w| w == *have))
}

fn hex_bytes(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn show_pattern(p: &Pattern) -> String {
    p.iter()
        .map(|x| x.map_or("..".to_owned(), |b| format!("{b:02x}")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn describe(e: &Expect) -> String {
    match e {
        Expect::Out { vif, .. } => format!("out on vif0/{vif}"),
        Expect::Drop(r) => format!("drop ({})", r.label()),
        Expect::Trap => "trapped to the agent".into(),
        Expect::Host(v, _) => format!("to the host via vif0/{v}"),
        Expect::Held => "held on its flow".into(),
    }
}

fn show(d: &Disposition, frame: &[u8]) -> String {
    match d {
        Disposition::Transmit { vif } => format!("out on vif0/{vif}: {}", hex_bytes(frame)),
        Disposition::ToHost { vif } => format!("to the host via vif0/{vif}: {}", hex_bytes(frame)),
        Disposition::Held { flow } => format!("held on flow {flow}"),
        Disposition::Drop(r) => format!("drop ({})", r.label()),
    }
}
