//! Contrail network policies: ordered rules (pass or deny, a protocol, a
//! source and destination network or prefix with port ranges, one way or
//! both ways), attached to virtual networks. The agent evaluates them when
//! it answers a flow miss (tf-controller `src/vnsw/agent/filter/acl.cc`,
//! `pkt/pkt_flow_info.cc`): the first rule that matches decides, and a flow
//! no rule matches is allowed (vrsim's VRFs only hold the routes the
//! network may reach; Contrail leaks inter-network routes by policy).

use core::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// What a rule does with the flows it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyAction {
    /// `pass`.
    Pass,
    /// `deny`: the flow pair is installed with action Drop (`Policy`).
    Deny,
}

/// One side of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// Any address.
    Any,
    /// The addresses of a virtual network (its IPv4 subnet and, on a
    /// dual-stack network, its IPv6 one).
    Network(String),
    /// A prefix, IPv4 or IPv6.
    Prefix(IpNet),
}

/// An inclusive port range; `0-65535` is any port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// The first port.
    pub start: u16,
    /// The last port.
    pub end: u16,
}

impl PortRange {
    /// Every port.
    pub const ANY: PortRange = PortRange {
        start: 0,
        end: u16::MAX,
    };

    fn contains(self, port: u16) -> bool {
        (self.start..=self.end).contains(&port)
    }
}

/// A rule of a network policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyRule {
    /// Pass or deny.
    pub action: PolicyAction,
    /// The IP protocol; `None` for any.
    pub protocol: Option<u8>,
    /// The source.
    pub src: Endpoint,
    /// The source ports (TCP, UDP, SCTP).
    pub src_ports: PortRange,
    /// The destination.
    pub dst: Endpoint,
    /// The destination ports.
    pub dst_ports: PortRange,
    /// `<>`: the rule also matches the other direction; `>`: one way.
    pub both_ways: bool,
}

/// A network policy: named rules, attached to networks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyConfig {
    /// The name.
    pub name: String,
    /// The networks it is attached to.
    pub networks: Vec<String>,
    /// The rules, in order.
    pub rules: Vec<PolicyRule>,
}

/// What a flow looks like to a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowTuple {
    /// The IP protocol.
    pub proto: u8,
    /// The source address.
    pub src: IpAddr,
    /// The source port (0 when the protocol has none).
    pub sport: u16,
    /// The destination address.
    pub dst: IpAddr,
    /// The destination port.
    pub dport: u16,
}

/// The rule that decided a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    /// The policy's name.
    pub policy: String,
    /// The rule's position, from 1.
    pub rule: usize,
    /// Its action.
    pub action: PolicyAction,
}

impl fmt::Display for RuleMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.action {
            PolicyAction::Pass => "passes",
            PolicyAction::Deny => "denies",
        };
        write!(f, "policy {} rule {} {what}", self.policy, self.rule)
    }
}

impl PolicyRule {
    /// Whether the rule matches `t`, in its direction (or either, `<>`).
    /// `in_network` says whether an address is in a network's subnets (by name).
    pub fn matches(&self, t: &FlowTuple, in_network: &dyn Fn(&str, IpAddr) -> bool) -> bool {
        if self.protocol.is_some_and(|p| p != t.proto) {
            return false;
        }
        let ports = matches!(t.proto, 6 | 17 | 132);
        let side = |e: &Endpoint, addr: IpAddr, range: PortRange, port: u16| {
            let addr_ok = match (e, addr) {
                (Endpoint::Any, _) => true,
                (Endpoint::Network(n), a) => in_network(n, a),
                (Endpoint::Prefix(p), a) => p.contains(&a),
            };
            addr_ok && (!ports || range.contains(port))
        };
        let forward = side(&self.src, t.src, self.src_ports, t.sport)
            && side(&self.dst, t.dst, self.dst_ports, t.dport);
        let backward = self.both_ways
            && side(&self.src, t.dst, self.src_ports, t.dport)
            && side(&self.dst, t.src, self.dst_ports, t.sport);
        forward || backward
    }
}

/// The first rule of the policies attached to `network` that matches `t`.
pub fn evaluate(
    policies: &[PolicyConfig],
    network: &str,
    t: &FlowTuple,
    in_network: &dyn Fn(&str, IpAddr) -> bool,
) -> Option<RuleMatch> {
    policies
        .iter()
        .filter(|p| p.networks.iter().any(|n| n == network))
        .find_map(|p| {
            p.rules
                .iter()
                .position(|r| r.matches(t, in_network))
                .map(|i| RuleMatch {
                    policy: p.name.clone(),
                    rule: i + 1,
                    action: p.rules[i].action,
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web_deny() -> PolicyConfig {
        PolicyConfig {
            name: "no-web".into(),
            networks: vec!["blue".into()],
            rules: vec![PolicyRule {
                action: PolicyAction::Deny,
                protocol: Some(6),
                src: Endpoint::Any,
                src_ports: PortRange::ANY,
                dst: Endpoint::Prefix("10.1.0.0/16".parse().expect("prefix")),
                dst_ports: PortRange { start: 80, end: 80 },
                both_ways: true,
            }],
        }
    }

    fn tuple(proto: u8, dst: [u8; 4], dport: u16) -> FlowTuple {
        FlowTuple {
            proto,
            src: std::net::Ipv4Addr::new(172, 16, 0, 3).into(),
            sport: 40000,
            dst: dst.into(),
            dport,
        }
    }

    #[test]
    fn the_first_matching_rule_decides_both_ways() {
        let p = [web_deny()];
        let none = |_: &str, _: IpAddr| false;
        let m = evaluate(&p, "blue", &tuple(6, [10, 1, 2, 3], 80), &none).expect("matches");
        assert_eq!(m.to_string(), "policy no-web rule 1 denies");
        // The reply direction matches a both-ways rule too.
        let back = FlowTuple {
            proto: 6,
            src: std::net::Ipv4Addr::new(10, 1, 2, 3).into(),
            sport: 80,
            dst: std::net::Ipv4Addr::new(172, 16, 0, 3).into(),
            dport: 40000,
        };
        assert!(evaluate(&p, "blue", &back, &none).is_some());
        assert!(evaluate(&p, "blue", &tuple(6, [10, 1, 2, 3], 443), &none).is_none());
        assert!(evaluate(&p, "blue", &tuple(1, [10, 1, 2, 3], 0), &none).is_none());
        assert!(evaluate(&p, "red", &tuple(6, [10, 1, 2, 3], 80), &none).is_none());
    }
}

/// A policy rule that does not parse: the text and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy rule {rule:?}: {problem}")]
pub struct RuleParseError {
    /// The rule's text.
    pub rule: String,
    /// What is wrong.
    pub problem: String,
}

impl core::str::FromStr for PolicyRule {
    type Err = RuleParseError;

    /// `ACTION PROTOCOL SOURCE DIRECTION DESTINATION`, Contrail's rule in
    /// one line: `pass` or `deny`; `any`, `icmp`, `icmp6`, `tcp`, `udp` or a number;
    /// an endpoint is `any`, a prefix, an address or a network name, with
    /// `:PORT` or `:FIRST-LAST` for TCP and UDP; `>` one way, `<>` both.
    /// `deny tcp any <> 10.1.0.0/16:80`, `pass icmp blue > red`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |problem: String| RuleParseError {
            rule: s.to_owned(),
            problem,
        };
        let words: Vec<&str> = s.split_whitespace().collect();
        let [action, proto, src, dir, dst] = words[..] else {
            return Err(err(
                "expected ACTION PROTOCOL SOURCE > DESTINATION (or <>), five words".into(),
            ));
        };
        let action = match action {
            "pass" => PolicyAction::Pass,
            "deny" => PolicyAction::Deny,
            other => return Err(err(format!("action {other:?} is neither pass nor deny"))),
        };
        let protocol = match proto {
            "any" => None,
            "icmp" => Some(1),
            // Contrail's name for ICMPv6 in policy rules.
            "icmp6" | "icmpv6" => Some(58),
            "tcp" => Some(6),
            "udp" => Some(17),
            n => Some(n.parse::<u8>().map_err(|_| {
                err(format!(
                    "protocol {n:?} is not any, icmp, icmp6, tcp, udp or a number"
                ))
            })?),
        };
        let both_ways = match dir {
            "<>" => true,
            ">" => false,
            other => return Err(err(format!("direction {other:?} is neither > nor <>"))),
        };
        let (src, src_ports) = endpoint(src).map_err(err)?;
        let (dst, dst_ports) = endpoint(dst).map_err(err)?;
        Ok(PolicyRule {
            action,
            protocol,
            src,
            src_ports,
            dst,
            dst_ports,
            both_ways,
        })
    }
}

/// `ENDPOINT[:PORTS]`; an IPv6 endpoint with ports in brackets
/// (`[2001:db8::/32]:80`), without ports bare or in brackets.
fn endpoint(s: &str) -> Result<(Endpoint, PortRange), String> {
    let (addr, ports) = if let Some(rest) = s.strip_prefix('[') {
        match rest.split_once(']') {
            Some((a, "")) => (a, None),
            Some((a, p)) => match p.strip_prefix(':') {
                Some(p) => (a, Some(p)),
                None => return Err(format!("{s:?}: after \"]\" comes \":PORTS\" or nothing")),
            },
            None => return Err(format!("{s:?} has \"[\" without \"]\"")),
        }
    } else if s.matches(':').count() > 1 {
        (s, None)
    } else {
        match s.split_once(':') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        }
    };
    let e = if addr == "any" {
        Endpoint::Any
    } else if let Ok(p) = addr.parse::<IpNet>() {
        Endpoint::Prefix(p.trunc())
    } else if let Ok(a) = addr.parse::<IpAddr>() {
        Endpoint::Prefix(IpNet::from(a))
    } else if !addr.is_empty()
        && addr
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        Endpoint::Network(addr.to_owned())
    } else {
        return Err(format!(
            "{addr:?} is not any, a prefix, an address or a network name"
        ));
    };
    let range = match ports {
        None => PortRange::ANY,
        Some(p) => {
            let bad = || format!("ports {p:?} are not PORT or FIRST-LAST");
            let (a, b) = p.split_once('-').unwrap_or((p, p));
            let (start, end) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
            if start > end {
                return Err(bad());
            }
            PortRange { start, end }
        }
    };
    Ok((e, range))
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn rules_parse_and_bad_ones_say_why() {
        let r: PolicyRule = "deny tcp any <> 10.1.0.0/16:80".parse().expect("a rule");
        assert_eq!(r.action, PolicyAction::Deny);
        assert_eq!(r.protocol, Some(6));
        assert!(r.both_ways);
        assert_eq!(r.dst_ports, PortRange { start: 80, end: 80 });
        let r: PolicyRule = "deny icmp6 any <> 2001:db8::/32".parse().expect("a rule");
        assert_eq!(r.protocol, Some(58));
        let r: PolicyRule = "pass icmp blue > 203.0.113.10".parse().expect("a rule");
        assert_eq!(r.src, Endpoint::Network("blue".into()));
        assert_eq!(
            r.dst,
            Endpoint::Prefix("203.0.113.10/32".parse().expect("prefix"))
        );
        for (bad, why) in [
            ("deny tcp any", "five words"),
            ("drop tcp any > any", "neither pass nor deny"),
            ("deny gre any > any", "not any, icmp"),
            ("deny tcp any >> any", "neither > nor <>"),
            ("deny tcp any > any:90-80", "not PORT or FIRST-LAST"),
            ("deny tcp a/b > any", "not any, a prefix"),
        ] {
            let e = bad.parse::<PolicyRule>().expect_err(bad);
            assert!(e.to_string().contains(why), "{e}");
        }
    }
}
