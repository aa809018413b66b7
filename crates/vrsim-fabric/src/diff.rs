//! What-if comparisons: the same flows traced in two fabrics (before and
//! after a change), reporting the flows whose outcome or path changed and the
//! first lookup that answered differently.

use core::fmt;
use core::str::FromStr;
use std::net::IpAddr;

use vrsim_dataplane::trace::Step;

use crate::error::FabricError;
use crate::fabric::Fabric;
use crate::packet::Probe;
use crate::trace::{FabricTrace, HopStep};

/// A flow to trace: a host, a destination and a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// The sending host.
    pub from: String,
    /// The destination.
    pub to: IpAddr,
    /// The probe.
    pub probe: Probe,
}

impl FromStr for Flow {
    type Err = FabricError;

    /// `earth 192.168.100.1`, `pod-a 10.233.64.5 udp 53`, `earth 192.168.100.1 tcp 22`.
    fn from_str(line: &str) -> Result<Flow, FabricError> {
        let err = |why| FabricError::Flow {
            line: line.to_owned(),
            why,
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        let port = |w: Option<&&str>| -> Result<u16, FabricError> {
            w.ok_or_else(|| err("udp and tcp need a port"))?
                .parse()
                .map_err(|_| err("bad port"))
        };
        let (from, to) = match words.as_slice() {
            [from, to, ..] => (
                *from,
                to.parse().map_err(|_| err("bad destination address"))?,
            ),
            _ => return Err(err("needs a host and a destination")),
        };
        let probe = match words.get(2).copied() {
            None | Some("icmp") => Probe::Icmp,
            Some("udp") => Probe::Udp(port(words.get(3))?),
            Some("tcp") => Probe::Tcp(port(words.get(3))?),
            Some(_) => return Err(err("unknown protocol")),
        };
        let expected = match probe {
            Probe::Icmp => 3,
            _ => 4,
        };
        if words.len() > expected {
            return Err(err("trailing words"));
        }
        Ok(Flow {
            from: from.to_owned(),
            to,
            probe,
        })
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.from, self.to)?;
        match self.probe {
            Probe::Icmp => f.write_str(" icmp"),
            Probe::Udp(p) => write!(f, " udp {p}"),
            Probe::Tcp(p) => write!(f, " tcp {p}"),
        }
    }
}

/// Read a flows file: one flow a line; blank lines and `#` comments skipped.
pub fn parse_flows(text: &str) -> Result<Vec<Flow>, FabricError> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::parse)
        .collect()
}

/// One direction of a flow whose outcome or path changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The flow.
    pub flow: Flow,
    /// `forward` or `reply`.
    pub direction: &'static str,
    /// The outcome and path before.
    pub before: String,
    /// The outcome and path after.
    pub after: String,
    /// The first lookup that answered differently, if one did.
    pub why: Option<String>,
}

impl fmt::Display for Changed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "flow {}: {} changed", self.flow, self.direction)?;
        writeln!(f, "  before: {}", self.before)?;
        write!(f, "  after:  {}", self.after)?;
        if let Some(w) = &self.why {
            write!(f, "\n  why:    {w}")?;
        }
        Ok(())
    }
}

fn summary(t: Option<&FabricTrace>) -> String {
    match t {
        Some(t) => format!("{} (path {})", t.outcome, t.path().join(" ")),
        None => "no reply".into(),
    }
}

/// Whether a step is a table lookup (what can explain a change).
fn is_lookup(s: &HopStep) -> bool {
    matches!(
        s,
        HopStep::Lookup { .. }
            | HopStep::RouteOrigin { .. }
            | HopStep::Arp { .. }
            | HopStep::Agent { .. }
            | HopStep::Multipath { .. }
            | HopStep::VRouter(
                Step::InetLookup { .. }
                    | Step::FlowRpf { .. }
                    | Step::Label { .. }
                    | Step::Vnid { .. }
                    | Step::BridgeLookup { .. }
                    | Step::Ecmp { .. }
            )
    )
}

/// The first lookup, hop by hop, that answered differently.
fn first_difference(before: &FabricTrace, after: &FabricTrace) -> Option<String> {
    for (b, a) in before.hops.iter().zip(&after.hops) {
        if b.device != a.device {
            return Some(format!(
                "the packet went to {} instead of {}",
                a.device, b.device
            ));
        }
        let lb = b.steps.iter().filter(|s| is_lookup(s));
        let mut la = a.steps.iter().filter(|s| is_lookup(s));
        for sb in lb {
            match la.next() {
                Some(sa) if sa == sb => continue,
                Some(sa) => {
                    return Some(format!(
                        "at {}: `{}` became `{}`",
                        b.device,
                        sb.to_string().trim_start(),
                        sa.to_string().trim_start()
                    ));
                }
                None => {
                    return Some(format!(
                        "at {}: `{}` no longer happens",
                        b.device,
                        sb.to_string().trim_start()
                    ));
                }
            }
        }
        if let Some(sa) = la.next() {
            return Some(format!(
                "at {}: `{}` is new",
                a.device,
                sa.to_string().trim_start()
            ));
        }
    }
    None
}

fn compare(
    flow: &Flow,
    direction: &'static str,
    b: Option<&FabricTrace>,
    a: Option<&FabricTrace>,
) -> Option<Changed> {
    let (before, after) = (summary(b), summary(a));
    if before == after {
        return None;
    }
    let why = match (b, a) {
        (Some(b), Some(a)) => first_difference(b, a),
        _ => None,
    };
    Some(Changed {
        flow: flow.clone(),
        direction,
        before,
        after,
        why,
    })
}

/// Trace every flow in copies of `before` and `after` and list what changed.
pub fn diff(before: &Fabric, after: &Fabric, flows: &[Flow]) -> Result<Vec<Changed>, FabricError> {
    diff_with_progress(before, after, flows, &|_| ())
}

/// [`diff`], calling `progress` with the number of flows each time some are
/// done (from any thread).
///
/// The flows are traced on every core (rayon). Each flow starts from the
/// fabrics as given. When they hold no flows (as after loading), each
/// worker traces its share in one copy of each fabric, deleting after each
/// flow the flows its packets made on the vRouters they crossed; otherwise
/// each flow is traced in copies of its own. What else carries over from
/// one flow to the next in a shared copy (counters, flow generations, the
/// vRouters' IP ID counter, which shows in tunnel frames) is not what a
/// diff compares: outcomes, paths and lookups.
pub fn diff_with_progress(
    before: &Fabric,
    after: &Fabric,
    flows: &[Flow],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<Changed>, FabricError> {
    use rayon::prelude::*;
    let reuse = before.has_no_flows() && after.has_no_flows();
    // A few chunks per thread balance the work; each costs two copies.
    let chunk = flows
        .len()
        .div_ceil(rayon::current_num_threads() * 4)
        .max(64);
    let parts: Vec<Result<Vec<Changed>, FabricError>> = flows
        .par_chunks(chunk)
        .map(|part| {
            let mut shared = None;
            let mut out = Vec::new();
            for (i, flow) in part.iter().enumerate() {
                let mut own;
                let (b, a) = if reuse {
                    shared.get_or_insert_with(|| (before.clone(), after.clone()))
                } else {
                    own = (before.clone(), after.clone());
                    &mut own
                };
                out.extend(diff_one(b, a, flow)?);
                if i % 64 == 63 {
                    progress(64);
                }
            }
            progress(part.len() % 64);
            Ok(out)
        })
        .collect();
    let mut out = Vec::new();
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

/// One flow in both fabrics, leaving neither with its flows.
fn diff_one(
    before: &mut Fabric,
    after: &mut Fabric,
    flow: &Flow,
) -> Result<Vec<Changed>, FabricError> {
    let b = before.probe(&flow.from, flow.to, flow.probe)?;
    before.forget_flows(&b);
    let a = after.probe(&flow.from, flow.to, flow.probe)?;
    after.forget_flows(&a);
    let mut out = Vec::new();
    out.extend(compare(flow, "forward", Some(&b.forward), Some(&a.forward)));
    if b.forward.delivered() && a.forward.delivered() {
        out.extend(compare(flow, "reply", b.reply.as_ref(), a.reply.as_ref()));
    }
    Ok(out)
}

/// Every flow between the fabric's hosts: from each host to each IPv4 and
/// IPv6 address of every other host (link-local ones aside), as ICMP echo
/// requests, in host and address order.
pub fn all_flows(fabric: &Fabric) -> Vec<Flow> {
    let addrs: Vec<(&str, IpAddr)> = fabric
        .hosts()
        .flat_map(|h| {
            h.ifaces.iter().flat_map(move |i| {
                let v4 = i.addr.map(|a| IpAddr::V4(a.addr()));
                let v6 = i.addr6.map(|a| IpAddr::V6(a.addr()));
                v4.into_iter()
                    .chain(v6)
                    .filter(|a| !a.is_loopback() && !is_link_local(*a))
                    .map(move |a| (h.name.as_str(), a))
            })
        })
        .collect();
    let mut flows = Vec::new();
    for from in fabric.hosts() {
        for (owner, to) in &addrs {
            if *owner != from.name && from.source_for(*to).is_some() {
                flows.push(Flow {
                    from: from.name.clone(),
                    to: *to,
                    probe: Probe::Icmp,
                });
            }
        }
    }
    flows
}

fn is_link_local(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(a) => a.is_link_local(),
        IpAddr::V6(a) => a.is_unicast_link_local(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_lines() {
        let f: Flow = "pod-a 10.233.64.5 udp 53".parse().unwrap();
        assert_eq!(f.probe, Probe::Udp(53));
        assert_eq!(f.to_string(), "pod-a 10.233.64.5 udp 53");
        assert_eq!(
            "earth 192.168.100.1".parse::<Flow>().unwrap().probe,
            Probe::Icmp
        );
        for bad in [
            "earth",
            "earth 1.2.3",
            "earth 1.2.3.4 udp",
            "earth 1.2.3.4 sctp 1",
            "earth 1.2.3.4 icmp 9",
        ] {
            assert!(bad.parse::<Flow>().is_err(), "{bad}");
        }
        let flows =
            parse_flows("# flows\nearth 192.168.100.1\n\n pod-a 10.0.0.1 tcp 22 # ssh\n").unwrap();
        assert_eq!(flows.len(), 2);
    }
}
