//! The JSON form of traces: a documented, versioned schema (`vrsim-trace/1`)
//! whose types are these structs. Field names are stable within a schema
//! version; a change that removes or renames a field bumps the version.
//! Arrays keep trace order; maps are never used, so the output is
//! deterministic.
//!
//! ```text
//! Document  { schema: "vrsim-trace/1", scenario, probe: Probe, forward: Trace, reply: Trace | null }
//! Probe     { from, to, protocol: "icmp" | "icmpv6" | "udp" | "tcp", port: u16 | null }
//! Trace     { hops: [Hop], outcome: Outcome }
//! Hop       { device, ingress: str | null, egress: str | null, frame: Frame, steps: [Step] }
//! Frame     { length, headers: "eth:ipv4:gre:mpls:ipv4:icmp", hex }
//! Step      { text: the line the text form prints, step: KIND, ...fields of KIND }
//! Outcome   { outcome: "delivered" | "dropped" | "looped" | "left_model", device, text, ...fields }
//! ```
//!
//! Step kinds and their fields (addresses, prefixes and MACs are strings):
//! `send {what}`, `rx {vif, bytes}`, `inet_lookup {vrf, key, matched, nh, label}`,
//! `bridge_lookup {vrf, mac, nh}`, `decap {encap, outer_src, outer_dst}`,
//! `label {label, nh}`, `vnid {vni, nh}`, `vrf_translate {nh, vrf}`,
//! `rpf {vrf, source, matched, nh, expect, pass}`, `ttl {from, to}`,
//! `ecmp {nh, index, member, why}`, `nexthop {nh, kind}`, `rewrite {dst, src}`,
//! `push {encap, label, sip, dip, via}`, `arp_proxy {target, mac}`,
//! `neighbor_proxy {target, mac}`,
//! `tx {vif, bytes}`, `trap {reason}`, `copy_to_agent {reason}`, `to_host {vif}`, `drop {reason}`,
//! `route_origin {prefix, why}`, `lookup {table, key, matched, route}`,
//! `arp {ip, mac, by}` (`nd {ip, mac, by}` for an IPv6 neighbour),
//! `encap {why}`, `multipath {hash, chosen, paths, compute}`, `pop {encap, label, table}`, `switch {mac, to}`, and
//! `other {}` for a step this schema version does not know.

use serde::{Deserialize, Serialize};
use vrsim_dataplane::trace::{FlowOutcome, RpfExpect, Step as DpStep, TrapReason};
use vrsim_wire::dissect;

use crate::packet::Probe as ProbeKind;
use crate::trace::{FabricTrace, Hop as FabricHop, HopStep, Outcome as FabricOutcome};

/// The schema identifier every document carries.
pub const SCHEMA: &str = "vrsim-trace/1";

/// A whole answer: a probe, its trace and the reply's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The scenario's name.
    pub scenario: String,
    /// What was sent.
    pub probe: Probe,
    /// The probe's trace.
    pub forward: Trace,
    /// The reply's trace, if the probe was delivered and answered.
    pub reply: Option<Trace>,
}

/// What was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// The sending host.
    pub from: String,
    /// The destination address.
    pub to: String,
    /// `icmp`, `udp` or `tcp`.
    pub protocol: String,
    /// The destination port (UDP and TCP).
    pub port: Option<u16>,
}

/// One direction's trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    /// The hops, in order.
    pub hops: Vec<Hop>,
    /// How it ended.
    pub outcome: Outcome,
}

/// One device's handling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hop {
    /// The device.
    pub device: String,
    /// The port it arrived on (`null` where it was created).
    pub ingress: Option<String>,
    /// The port it left by (`null` if it did not leave).
    pub egress: Option<String>,
    /// The frame as it arrived.
    pub frame: Frame,
    /// What the device did.
    pub steps: Vec<Step>,
}

/// A frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frame {
    /// Its length in bytes.
    pub length: usize,
    /// Its protocol chain, as `eth:ipv4:gre:mpls:ipv4:icmp`.
    pub headers: String,
    /// Its bytes in lowercase hex.
    pub hex: String,
}

/// One step: the text line and the typed fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The line the text form prints.
    pub text: String,
    /// The typed step.
    #[serde(flatten)]
    pub kind: StepKind,
}

/// The typed steps (see the module docs for the field list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum StepKind {
    Send {
        what: String,
    },
    Rx {
        vif: u16,
        bytes: usize,
    },
    InetLookup {
        vrf: u16,
        key: String,
        matched: Option<String>,
        nh: u32,
        label: Option<u32>,
    },
    BridgeLookup {
        vrf: u16,
        mac: String,
        nh: Option<u32>,
    },
    Decap {
        encap: String,
        outer_src: String,
        outer_dst: String,
    },
    Label {
        label: u32,
        nh: Option<u32>,
    },
    Vnid {
        vni: u32,
        nh: Option<u32>,
    },
    VrfTranslate {
        nh: u32,
        vrf: u16,
    },
    Ttl {
        from: u8,
        to: u8,
    },
    Ecmp {
        nh: u32,
        index: usize,
        member: u32,
        #[serde(default)]
        why: String,
    },
    Nexthop {
        nh: u32,
        kind: String,
    },
    Rewrite {
        dst: String,
        src: String,
    },
    Push {
        encap: String,
        label: u32,
        sip: String,
        dip: String,
        via: Option<String>,
    },
    ArpProxy {
        target: String,
        mac: String,
    },
    NeighborProxy {
        target: String,
        mac: String,
    },
    Tx {
        vif: u16,
        bytes: usize,
    },
    Trap {
        reason: String,
    },
    CopyToAgent {
        reason: String,
    },
    ToHost {
        vif: u16,
    },
    Drop {
        reason: String,
    },
    Encap {
        why: String,
    },
    Multipath {
        hash: u32,
        chosen: usize,
        paths: usize,
        compute: String,
    },
    RouteOrigin {
        prefix: String,
        why: String,
    },
    Lookup {
        table: String,
        key: String,
        matched: Option<String>,
        route: String,
    },
    Arp {
        ip: String,
        mac: Option<String>,
        by: String,
    },
    Nd {
        ip: String,
        mac: Option<String>,
        by: String,
    },
    Pop {
        #[serde(default)]
        encap: String,
        label: u32,
        table: String,
    },
    Switch {
        mac: String,
        to: String,
    },
    Flow {
        index: Option<u32>,
        proto: u8,
        source: String,
        sport: u16,
        destination: String,
        dport: u16,
        key_nh: u32,
        outcome: String,
    },
    FlowHeld {
        index: u32,
        queued: u8,
    },
    FlowRpf {
        index: u32,
        source: String,
        nh: u32,
        expect: String,
        pass: bool,
    },
    FlowNat {
        index: u32,
        source: String,
        sport: u16,
        destination: String,
        dport: u16,
    },
    Held {
        flow: u32,
    },
    Agent {
        forward: u32,
        reverse: u32,
        action: String,
        drop_reason: Option<String>,
        why: String,
        src_nh: u32,
        reverse_src_nh: u32,
        ecmp_index: Option<u8>,
        #[serde(default)]
        ecmp_why: Option<String>,
    },
    Other {},
}

/// How a trace ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// `delivered`, `dropped`, `looped` or `left_model`.
    pub outcome: String,
    /// The device where it ended.
    pub device: String,
    /// The line the text form prints after `=>`.
    pub text: String,
    /// Delivered: the address.
    pub ip: Option<String>,
    /// Dropped: why, in the device's words.
    pub reason: Option<String>,
    /// Dropped by a vRouter: its `dropstats` counter name.
    pub dropstats: Option<String>,
    /// Dropped: the lookup that caused it.
    pub cause: Option<String>,
    /// Left the model: the port.
    pub port: Option<String>,
    /// Looped: the hops made.
    pub hops: Option<usize>,
}

/// A trap reason as JSON names it.
fn trap_name(reason: TrapReason) -> &'static str {
    match reason {
        TrapReason::ZeroTtl => "zero ttl",
        TrapReason::HandleDf => "handle df",
        TrapReason::RouterAlert => "router alert",
        TrapReason::FlowMiss => "flow miss",
        TrapReason::FlowActionHold => "flow action hold",
        TrapReason::Arp => "arp",
    }
}

fn s(x: impl ToString) -> String {
    x.to_string()
}

fn expect_text(expect: RpfExpect) -> String {
    match expect {
        RpfExpect::Vif(v) => format!("ingress vif0/{v}"),
        RpfExpect::TunnelEndpoint(ip) => format!("outer source {ip}"),
        RpfExpect::AnyEcmpMember => "any ecmp member".into(),
        RpfExpect::NoCheck => "no check".into(),
    }
}

fn opt<T: ToString>(x: Option<T>) -> Option<String> {
    x.map(|v| v.to_string())
}

fn encap(e: vrsim_dataplane::nexthop::TunnelEncap) -> String {
    e.name().into()
}

fn dp_step(st: &DpStep) -> StepKind {
    match *st {
        DpStep::Rx { vif, bytes } => StepKind::Rx {
            vif: vif.value(),
            bytes,
        },
        DpStep::InetLookup {
            vrf,
            key,
            matched,
            nh,
            label,
        } => StepKind::InetLookup {
            vrf: vrf.value(),
            key: s(key),
            matched: opt(matched),
            nh: nh.value(),
            label: label.map(|l| l.value()),
        },
        DpStep::BridgeLookup { vrf, mac, nh } => StepKind::BridgeLookup {
            vrf: vrf.value(),
            mac: s(mac),
            nh: nh.map(|n| n.value()),
        },
        DpStep::Decap {
            encap: e,
            outer_src,
            outer_dst,
        } => StepKind::Decap {
            encap: encap(e),
            outer_src: s(outer_src),
            outer_dst: s(outer_dst),
        },
        DpStep::Label { label, nh } => StepKind::Label {
            label: label.value(),
            nh: nh.map(|n| n.value()),
        },
        DpStep::Vnid { vni, nh } => StepKind::Vnid {
            vni: vni.value(),
            nh: nh.map(|n| n.value()),
        },
        DpStep::VrfTranslate { nh, vrf } => StepKind::VrfTranslate {
            nh: nh.value(),
            vrf: vrf.value(),
        },
        DpStep::Ttl { from, to } => StepKind::Ttl { from, to },
        DpStep::Ecmp {
            nh,
            index,
            member,
            why,
        } => StepKind::Ecmp {
            nh: nh.value(),
            index,
            member: member.value(),
            why: why.to_string(),
        },
        DpStep::Nexthop { nh, kind } => StepKind::Nexthop {
            nh: nh.value(),
            kind: kind.into(),
        },
        DpStep::Rewrite { dst, src } => StepKind::Rewrite {
            dst: s(dst),
            src: s(src),
        },
        DpStep::Push {
            encap: e,
            label,
            sip,
            dip,
        } => StepKind::Push {
            encap: encap(e),
            label,
            sip: s(sip),
            dip: s(dip),
            via: None,
        },
        DpStep::ArpProxy { target, mac } => StepKind::ArpProxy {
            target: s(target),
            mac: s(mac),
        },
        DpStep::NeighborProxy { target, mac } => StepKind::NeighborProxy {
            target: s(target),
            mac: s(mac),
        },
        DpStep::Tx { vif, bytes } => StepKind::Tx {
            vif: vif.value(),
            bytes,
        },
        DpStep::Trap { reason } => StepKind::Trap {
            reason: trap_name(reason).into(),
        },
        DpStep::CopyToAgent { reason } => StepKind::CopyToAgent {
            reason: trap_name(reason).into(),
        },
        DpStep::Flow {
            index,
            key,
            outcome,
        } => StepKind::Flow {
            index,
            proto: key.proto,
            source: s(key.src),
            sport: key.sport,
            destination: s(key.dst),
            dport: key.dport,
            key_nh: key.nh.value(),
            outcome: match outcome {
                FlowOutcome::Hit(a) => format!("hit {}", a.letter()),
                FlowOutcome::Miss => "miss".into(),
                FlowOutcome::Bypass => "no flow".into(),
            },
        },
        DpStep::FlowHeld { index, queued } => StepKind::FlowHeld { index, queued },
        DpStep::FlowRpf {
            index,
            src,
            nh,
            expect,
            pass,
        } => StepKind::FlowRpf {
            index,
            source: s(src),
            nh: nh.value(),
            expect: expect_text(expect),
            pass,
        },
        DpStep::FlowNat {
            index,
            src,
            sport,
            dst,
            dport,
        } => StepKind::FlowNat {
            index,
            source: s(src),
            sport,
            destination: s(dst),
            dport,
        },
        DpStep::Held { flow } => StepKind::Held { flow },
        DpStep::ToHost { vif } => StepKind::ToHost { vif: vif.value() },
        DpStep::Drop { reason } => StepKind::Drop { reason: s(reason) },
        _ => StepKind::Other {},
    }
}

fn agent_step(d: &vrsim_control::FlowDecision) -> StepKind {
    StepKind::Agent {
        forward: d.forward,
        reverse: d.reverse,
        action: d.action.letter().to_string(),
        drop_reason: (d.action == vrsim_dataplane::flow::FlowAction::Drop)
            .then(|| d.drop_reason.name().map(str::to_owned))
            .flatten(),
        why: d.why.clone(),
        src_nh: d.src_nh.value(),
        reverse_src_nh: d.reverse_src_nh.value(),
        ecmp_index: d.ecmp_index,
        ecmp_why: d.ecmp_why.map(|w| w.to_string()),
    }
}

fn step(st: &HopStep) -> Step {
    let kind = match st {
        HopStep::Send { what } => StepKind::Send { what: what.clone() },
        HopStep::Agent { decision } => agent_step(decision),
        HopStep::VRouter(d) => dp_step(d),
        HopStep::RouteOrigin { prefix, why } => StepKind::RouteOrigin {
            prefix: s(prefix),
            why: why.clone(),
        },
        HopStep::Lookup {
            table,
            key,
            matched,
            route,
        } => StepKind::Lookup {
            table: table.clone(),
            key: s(key),
            matched: opt(*matched),
            route: route.clone(),
        },
        HopStep::Arp { ip, mac, by } if ip.is_ipv6() => StepKind::Nd {
            ip: s(ip),
            mac: opt(*mac),
            by: by.clone(),
        },
        HopStep::Arp { ip, mac, by } => StepKind::Arp {
            ip: s(ip),
            mac: opt(*mac),
            by: by.clone(),
        },
        HopStep::Ttl { from, to } => StepKind::Ttl {
            from: *from,
            to: *to,
        },
        HopStep::Push {
            encap,
            label,
            sip,
            dip,
            via,
        } => StepKind::Push {
            encap: encap.name().into(),
            label: *label,
            sip: s(sip),
            dip: s(dip),
            via: Some(via.clone()),
        },
        HopStep::Multipath {
            hash,
            chosen,
            paths,
            compute,
        } => StepKind::Multipath {
            hash: *hash,
            chosen: *chosen,
            paths: *paths,
            compute: compute.clone(),
        },
        HopStep::Encap { why } => StepKind::Encap { why: why.clone() },
        HopStep::Pop {
            encap,
            label,
            table,
        } => StepKind::Pop {
            encap: encap.name().into(),
            label: *label,
            table: table.clone(),
        },
        HopStep::Switch { mac, to } => StepKind::Switch {
            mac: s(mac),
            to: to.clone(),
        },
    };
    Step {
        text: st.to_string().trim_start().to_owned(),
        kind,
    }
}

fn hop(h: &FabricHop) -> Hop {
    Hop {
        device: h.device.clone(),
        ingress: h.ingress.clone(),
        egress: h.egress.clone(),
        frame: Frame {
            length: h.frame.len(),
            headers: dissect(&h.frame).chain(),
            hex: h.frame.iter().map(|b| format!("{b:02x}")).collect(),
        },
        steps: h.steps.iter().map(step).collect(),
    }
}

fn outcome(o: &FabricOutcome) -> Outcome {
    let mut out = Outcome {
        outcome: String::new(),
        device: String::new(),
        text: o.to_string(),
        ip: None,
        reason: None,
        dropstats: None,
        cause: None,
        port: None,
        hops: None,
    };
    match o {
        FabricOutcome::Delivered { device, ip } => {
            out.outcome = "delivered".into();
            out.device = device.clone();
            out.ip = Some(s(ip));
        }
        FabricOutcome::Dropped { device, cause } => {
            out.outcome = "dropped".into();
            out.device = device.clone();
            out.reason = Some(cause.to_string());
            out.dropstats = opt(cause.vrouter());
            out.cause = cause.detail();
        }
        FabricOutcome::Looped { device, hops } => {
            out.outcome = "looped".into();
            out.device = device.clone();
            out.hops = Some(*hops);
        }
        FabricOutcome::LeftModel { device, port } => {
            out.outcome = "left_model".into();
            out.device = device.clone();
            out.port = Some(port.clone());
        }
    }
    out
}

/// The JSON form of one vRouter step (as the steps of a hop on a compute
/// node appear in a [`Document`]).
pub fn vrouter_step(st: &DpStep) -> Step {
    step(&HopStep::VRouter(*st))
}

/// The JSON form of one direction's trace.
pub fn trace(t: &FabricTrace) -> Trace {
    Trace {
        hops: t.hops.iter().map(hop).collect(),
        outcome: outcome(&t.outcome),
    }
}

/// The JSON document of a probe and its reply.
pub fn document(
    scenario: &str,
    from: &str,
    to: std::net::IpAddr,
    probe: ProbeKind,
    forward: &FabricTrace,
    reply: Option<&FabricTrace>,
) -> Document {
    let (protocol, port) = match probe {
        ProbeKind::Icmp if to.is_ipv6() => ("icmpv6", None),
        ProbeKind::Icmp => ("icmp", None),
        ProbeKind::Udp(p) => ("udp", Some(p)),
        ProbeKind::Tcp(p) => ("tcp", Some(p)),
    };
    Document {
        schema: SCHEMA.into(),
        scenario: scenario.into(),
        probe: Probe {
            from: from.into(),
            to: s(to),
            protocol: protocol.into(),
            port,
        },
        forward: trace(forward),
        reply: reply.map(trace),
    }
}
