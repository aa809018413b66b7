//! From the file's tables to typed objects, steps and checks: every value is
//! checked here, so that a case that loads runs without parse errors.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use toml::Spanned;
use vrsim_dataplane::drop::DropReason;
use vrsim_dataplane::flow::{FlowAction, FlowDropReason, FlowFlags, FlowKey, FlowRequest};
use vrsim_dataplane::nexthop::{EcmpMember, NexthopConfig, NhFamily, NhFlags, NhKind, TunnelEncap};
use vrsim_dataplane::route::{BridgeEntry, Route, RouteFlags};
use vrsim_dataplane::vif::{VIF_FLAG_LEGEND, VifConfig, VifFlags, VifType};
use vrsim_dataplane::{NhId, VifId, VrfId};
use vrsim_wire::{MacAddr, MplsLabel, Vni};

use crate::spec::*;
use crate::{Case, CaseError, SCHEMA_VERSION, Source};

/// The most packets one send step may send.
const MAX_COUNT: u32 = 1_000_000;

/// One object of the vRouter.
#[derive(Debug, Clone)]
pub(crate) enum Object {
    Vif(VifConfig),
    Nh(NexthopConfig),
    Route {
        vrf: VrfId,
        prefix: IpNet,
        route: Route,
        /// On a delete: the covering route's length the request carries.
        replace_plen: Option<u8>,
    },
    Bridge {
        vrf: VrfId,
        mac: MacAddr,
        entry: BridgeEntry,
    },
    Mpls {
        label: MplsLabel,
        nh: NhId,
    },
    Vxlan {
        vni: Vni,
        nh: NhId,
    },
    Flow {
        req: FlowRequest,
        /// The 0-based position of its reverse flow among the file's flows.
        reverse: Option<usize>,
        /// The index the vRouter must give it.
        index: Option<u32>,
    },
}

/// A frame to compare with: each byte, or `None` for "any".
pub(crate) type Pattern = Vec<Option<u8>>;

/// What a send expects.
#[derive(Debug, Clone)]
pub(crate) enum Expect {
    Out {
        vif: VifId,
        frame: Option<Pattern>,
    },
    Drop(DropReason),
    /// Trapped to the agent (held on a new flow, or handed to the agent vif).
    Trap,
    /// Handed to the host through a vif, as the frame that left if given.
    Host(VifId, Option<Pattern>),
    Held,
}

/// One step.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    Send {
        vif: VifId,
        frame: Vec<u8>,
        count: u32,
        expect: Expect,
        note: Option<String>,
    },
    Add {
        object: Object,
        error: Option<String>,
        note: Option<String>,
    },
    Delete {
        object: Object,
        error: Option<String>,
        note: Option<String>,
    },
    Lookup {
        vrf: VrfId,
        addr: IpAddr,
        nh: Option<NhId>,
        prefix: Option<IpNet>,
        label: Option<u32>,
        note: Option<String>,
    },
}

/// One check.
#[derive(Debug, Clone)]
pub(crate) enum Check {
    Vif {
        vif: VifId,
        ipackets: Option<u64>,
        opackets: Option<u64>,
        drops: Option<u64>,
    },
    Dropstats(Vec<(DropReason, u64)>),
    Cli {
        command: String,
        contains: Vec<String>,
        lacks: Vec<String>,
        equals: Option<String>,
    },
    Flows(usize),
}

pub(crate) fn parse(src: &Source<'_>) -> Result<Case, CaseError> {
    let spec: FileSpec =
        toml::from_str(src.text).map_err(|e| src.at(e.span(), e.message().to_owned()))?;
    if *spec.schema.get_ref() != SCHEMA_VERSION {
        return Err(src.at(
            Some(spec.schema.span()),
            format!(
                "schema {} is not one this vrsim reads (it reads schema {SCHEMA_VERSION})",
                spec.schema.get_ref()
            ),
        ));
    }
    let p = Parser { src };
    let mut objects = Vec::new();
    for v in &spec.vif {
        objects.push((
            format!("vif {}", v.get_ref().id),
            p.vif(v.get_ref(), v.span())?,
        ));
    }
    for n in &spec.nh {
        objects.push((
            format!("nh {}", n.get_ref().id),
            p.nh(n.get_ref(), n.span())?,
        ));
    }
    for r in &spec.route {
        let o = p.route(r.get_ref(), r.span(), true)?;
        objects.push((format!("route {}", r.get_ref().prefix.get_ref()), o));
    }
    for b in &spec.bridge {
        let o = p.bridge(b.get_ref(), b.span(), true)?;
        objects.push((format!("bridge {}", b.get_ref().mac.get_ref()), o));
    }
    for m in &spec.mpls {
        objects.push((
            format!("mpls {}", m.get_ref().label),
            p.mpls(m.get_ref(), m.span(), true)?,
        ));
    }
    for x in &spec.vxlan {
        objects.push((
            format!("vxlan {}", x.get_ref().vnid),
            p.vxlan(x.get_ref(), x.span(), true)?,
        ));
    }
    let flows = spec.flow.len();
    for (i, f) in spec.flow.iter().enumerate() {
        let o = p.flow(f.get_ref(), f.span(), Some(flows))?;
        objects.push((format!("flow {}", i + 1), o));
    }
    let steps = spec
        .step
        .iter()
        .map(|s| p.step(s.get_ref(), s.span()))
        .collect::<Result<_, _>>()?;
    let checks = spec
        .check
        .iter()
        .map(|c| p.check(c.get_ref(), c.span()))
        .collect::<Result<_, _>>()?;
    Ok(Case {
        name: spec.name,
        source: spec.source,
        description: spec.description,
        file: src.file.to_owned(),
        flow_entries: spec.flow_entries,
        uncond_close_on_tcp_rst: spec.uncond_close_flow_on_tcp_rst,
        objects,
        steps,
        checks,
    })
}

struct Parser<'s, 'a> {
    src: &'s Source<'a>,
}

/// One object of an `add` or `delete` (the whole of `src`), checked as a
/// step's is.
pub(crate) fn object(
    src: &Source<'_>,
    spec: &ObjectSpec,
    adding: bool,
) -> Result<Object, CaseError> {
    Parser { src }.object(spec, 0..src.text.len(), adding)
}

type Span = std::ops::Range<usize>;

impl Parser<'_, '_> {
    fn err(&self, span: Span, message: impl Into<String>) -> CaseError {
        self.src.at(Some(span), message)
    }

    fn value<T: std::str::FromStr>(&self, s: &Spanned<String>, what: &str) -> Result<T, CaseError> {
        s.get_ref()
            .trim()
            .parse()
            .map_err(|_| self.err(s.span(), format!("{:?} is not {what}", s.get_ref())))
    }

    fn nh_id(&self, id: u32, span: &Span) -> Result<NhId, CaseError> {
        NhId::new(id).ok_or_else(|| self.err(span.clone(), format!("nh {id} is out of range")))
    }

    /// The nexthop an entry leads to: required to add it; a delete names
    /// the entry by its key and may leave it out (nh 0).
    fn object_nh(
        &self,
        nh: Option<u32>,
        adding: bool,
        span: &Span,
        what: &str,
    ) -> Result<NhId, CaseError> {
        match (nh, adding) {
            (Some(n), _) => self.nh_id(n, span),
            (None, false) => Ok(NhId::DISCARD),
            (None, true) => Err(self.err(span.clone(), format!("{what} needs nh"))),
        }
    }

    fn vif_id(&self, id: u16, span: &Span) -> Result<VifId, CaseError> {
        VifId::new(id).ok_or_else(|| self.err(span.clone(), format!("vif {id} is out of range")))
    }

    fn vif(&self, v: &VifSpec, span: Span) -> Result<Object, CaseError> {
        let kind = match v.kind.get_ref().as_str() {
            "physical" => VifType::Physical,
            "host" => VifType::Host,
            "agent" => VifType::Agent,
            "virtual" => VifType::Virtual,
            "virtual-vlan" => VifType::VirtualVlan,
            other => {
                return Err(self.err(
                    v.kind.span(),
                    format!("vif type {other:?}: expected physical, host, agent, virtual or virtual-vlan"),
                ));
            }
        };
        let mut flags = VifFlags::empty();
        for f in &v.flags {
            let bit = VIF_FLAG_LEGEND
                .iter()
                .find(|(_, letter, _)| letter == f.get_ref())
                .ok_or_else(|| {
                    self.err(
                        f.span(),
                        format!("{:?} is not a vif flag letter", f.get_ref()),
                    )
                })?
                .0;
            flags = flags | VifFlags::from_bits(bit);
        }
        Ok(Object::Vif(VifConfig {
            id: self.vif_id(v.id, &span)?,
            kind,
            name: v.name.clone(),
            mac: match &v.mac {
                Some(m) => self.value(m, "a MAC address")?,
                None => MacAddr::zero(),
            },
            ip: v
                .ip
                .as_ref()
                .map(|ip| self.value::<Ipv4Addr>(ip, "an IPv4 address"))
                .transpose()?,
            vrf: VrfId::from(v.vrf),
            mtu: v.mtu.unwrap_or(1514),
            mcast_vrf: v.mcast_vrf.map(VrfId::from),
            qos_map: v.qos,
            ip6: v
                .ip6
                .as_ref()
                .map(|ip| self.value::<std::net::Ipv6Addr>(ip, "an IPv6 address"))
                .transpose()?,
            flags,
            nh: v.nh.map(|n| self.nh_id(n, &span)).transpose()?,
        }))
    }

    fn rewrite(&self, encap: &Option<Spanned<String>>, span: &Span) -> Result<[u8; 14], CaseError> {
        let Some(e) = encap else {
            return Err(self.err(span.clone(), "this nexthop needs encap (14 bytes of hex)"));
        };
        let bytes = hex(e.get_ref()).map_err(|m| self.err(e.span(), m))?;
        <[u8; 14]>::try_from(bytes.as_slice()).map_err(|_| {
            self.err(
                e.span(),
                format!(
                    "encap has {} bytes; vrsim models the 14-byte Ethernet rewrite",
                    bytes.len()
                ),
            )
        })
    }

    fn nh(&self, n: &NhSpec, span: Span) -> Result<Object, CaseError> {
        let kind = self.nh_kind(n, &span)?;
        let family = match n.family.as_ref().map(|f| (f.get_ref().as_str(), f.span())) {
            None | Some(("inet", _)) => NhFamily::Inet,
            Some(("inet6", _)) => NhFamily::Inet6,
            Some(("bridge", _)) => NhFamily::Bridge,
            Some((other, s)) => {
                return Err(self.err(
                    s,
                    format!("family {other:?}: expected inet, inet6 or bridge"),
                ));
            }
        };
        // The agent sets Valid on every nexthop it adds; a case names the others.
        let mut flags = NhFlags::VALID;
        for f in &n.flags {
            flags = flags
                | NhFlags::from_label(f.get_ref()).ok_or_else(|| {
                    self.err(
                        f.span(),
                        format!(
                            "{:?} is not a nexthop flag as nh --get prints it",
                            f.get_ref()
                        ),
                    )
                })?;
        }
        Ok(Object::Nh(NexthopConfig {
            id: self.nh_id(n.id, &span)?,
            kind,
            family,
            flags,
            vrf: VrfId::from(n.vrf),
        }))
    }

    fn nh_kind(&self, n: &NhSpec, span: &Span) -> Result<NhKind, CaseError> {
        let oif = || {
            n.oif
                .ok_or_else(|| self.err(span.clone(), "this nexthop needs oif"))
                .and_then(|o| self.vif_id(o, span))
        };
        Ok(match n.kind.get_ref().as_str() {
            "discard" => NhKind::Discard,
            "receive" => NhKind::Receive { oif: oif()? },
            "l2-receive" => NhKind::L2Receive,
            "encap" => NhKind::Encap {
                oif: oif()?,
                rewrite: self.rewrite(&n.encap, span)?,
                encap_family: n.encap_family.unwrap_or(0),
            },
            "tunnel" => self.tunnel(n, span, oif()?)?,
            "vrf-translate" => NhKind::VrfTranslate {
                vrf: VrfId::from(n.translate_vrf.ok_or_else(|| {
                    self.err(span.clone(), "a vrf-translate nexthop needs translate_vrf")
                })?),
            },
            "composite" => {
                let mut members: Vec<EcmpMember> = Vec::new();
                for m in &n.members {
                    // -1: an empty slot, as the vRouter's request lists it.
                    let nh = match u32::try_from(m.nh) {
                        Ok(id) => Some(self.nh_id(id, span)?),
                        Err(_) if m.nh == -1 => None,
                        Err(_) => {
                            let what = format!("nh {} is out of range (-1 is an empty slot)", m.nh);
                            return Err(self.err(span.clone(), what));
                        }
                    };
                    members.push(EcmpMember {
                        nh,
                        label: m.label.map(|l| self.label(l, span)).transpose()?,
                    });
                }
                NhKind::Composite {
                    members: members.into_iter().collect(),
                }
            }
            other => {
                return Err(self.err(
                    n.kind.span(),
                    format!(
                        "nh type {other:?}: expected discard, receive, l2-receive, encap, tunnel, vrf-translate or composite"
                    ),
                ));
            }
        })
    }

    fn label(&self, l: u32, span: &Span) -> Result<MplsLabel, CaseError> {
        MplsLabel::new(l)
            .ok_or_else(|| self.err(span.clone(), format!("label {l} is out of range")))
    }

    fn tunnel(&self, n: &NhSpec, span: &Span, oif: VifId) -> Result<NhKind, CaseError> {
        let addr = |a: &Option<Spanned<String>>, what: &str| -> Result<Ipv4Addr, CaseError> {
            match a {
                Some(a) => self.value(a, "an IPv4 address"),
                None => Err(self.err(span.clone(), format!("a tunnel nexthop needs {what}"))),
            }
        };
        if n.tunnel.as_ref().is_some_and(|t| t.get_ref() == "udp") {
            // `NH_FLAG_TUNNEL_UDP`: the vRouter keeps the ports and drops the
            // oif and rewrite (the packet is routed again on `dip`).
            return Ok(NhKind::UdpTunnel {
                sip: addr(&n.sip, "sip")?,
                dip: addr(&n.dip, "dip")?,
                sport: n.sport.unwrap_or(0),
                dport: n.dport.unwrap_or(0),
            });
        }
        let encap = match n.tunnel.as_ref().map(|t| (t.get_ref().as_str(), t.span())) {
            Some(("mplsogre", _)) => TunnelEncap::MplsOverGre,
            Some(("mplsoudp", _)) => TunnelEncap::MplsOverUdp,
            Some(("vxlan", _)) => TunnelEncap::Vxlan,
            Some((other, s)) => {
                return Err(self.err(
                    s,
                    format!("tunnel {other:?}: expected mplsogre, mplsoudp, vxlan or udp"),
                ));
            }
            None => {
                return Err(self.err(
                    span.clone(),
                    "a tunnel nexthop needs tunnel = mplsogre | mplsoudp | vxlan | udp",
                ));
            }
        };
        if n.sport.is_some() || n.dport.is_some() {
            return Err(self.err(
                span.clone(),
                "tunnel sport/dport: the vRouter keeps ports only for tunnel = \"udp\"",
            ));
        }
        Ok(NhKind::Tunnel {
            encap,
            oif,
            rewrite: self.rewrite(&n.encap, span)?,
            sip: addr(&n.sip, "sip")?,
            dip: addr(&n.dip, "dip")?,
        })
    }

    fn route(&self, r: &RouteSpec, span: Span, adding: bool) -> Result<Object, CaseError> {
        let prefix: IpNet = self.value(&r.prefix, "a prefix (address/length)")?;
        let mut flags = RouteFlags::empty();
        for f in &r.flags {
            flags = flags
                | match f.get_ref().as_str() {
                    "L" => RouteFlags::LABEL_VALID,
                    "P" => RouteFlags::ARP_PROXY,
                    "T" => RouteFlags::ARP_TRAP,
                    "F" => RouteFlags::ARP_FLOOD,
                    other => {
                        return Err(self.err(
                            f.span(),
                            format!("route flag {other:?}: expected L, P, T or F"),
                        ));
                    }
                };
        }
        let nh = self.object_nh(r.nh, adding, &span, "a route")?;
        // Without the label-valid flag the vRouter keeps no label (it stores
        // 0xffffff, printed "-"): `mtrie_add`.
        let label = r
            .label
            .filter(|_| flags.contains(RouteFlags::LABEL_VALID) || !adding)
            .map(|l| {
                MplsLabel::new(l)
                    .ok_or_else(|| self.err(span.clone(), format!("label {l} is out of range")))
            })
            .transpose()?;
        let stitched_mac = r
            .mac
            .as_ref()
            .map(|m| self.value::<MacAddr>(m, "a MAC address"))
            .transpose()?
            .map(|m| (m, 0));
        if adding && let Some(p) = r.replace_plen {
            return Err(self.err(
                span,
                format!("replace_plen {p}: only a route delete carries the covering route"),
            ));
        }
        Ok(Object::Route {
            vrf: VrfId::from(r.vrf),
            prefix,
            route: Route {
                nh,
                label,
                flags,
                stitched_mac,
            },
            replace_plen: r.replace_plen,
        })
    }

    fn bridge(&self, b: &BridgeSpec, span: Span, adding: bool) -> Result<Object, CaseError> {
        if let Some(f) = b.flags.first() {
            return Err(self.err(f.span(), "bridge entry flags are not modelled yet"));
        }
        let nh = self.object_nh(b.nh, adding, &span, "a bridge entry")?;
        Ok(Object::Bridge {
            vrf: VrfId::from(b.vrf),
            mac: self.value(&b.mac, "a MAC address")?,
            entry: BridgeEntry { nh, label: b.label },
        })
    }

    fn mpls(&self, m: &MplsSpec, span: Span, adding: bool) -> Result<Object, CaseError> {
        let nh = self.object_nh(m.nh, adding, &span, "an mpls entry")?;
        Ok(Object::Mpls {
            label: MplsLabel::new(m.label)
                .ok_or_else(|| self.err(span, format!("label {} is out of range", m.label)))?,
            nh,
        })
    }

    fn vxlan(&self, x: &VxlanSpec, span: Span, adding: bool) -> Result<Object, CaseError> {
        let nh = self.object_nh(x.nh, adding, &span, "a vxlan entry")?;
        Ok(Object::Vxlan {
            vni: Vni::new(x.vnid)
                .ok_or_else(|| self.err(span, format!("vnid {} is out of range", x.vnid)))?,
            nh,
        })
    }

    fn flow_key(&self, f: &FlowSpec, span: &Span) -> Result<FlowKey, CaseError> {
        let proto = match f.proto.get_ref() {
            NumberOrName::Number(n) => *n,
            NumberOrName::Name(n) => match n.to_ascii_lowercase().as_str() {
                "icmp" => 1,
                "tcp" => 6,
                "udp" => 17,
                "sctp" => 132,
                "icmp6" | "icmpv6" => 58,
                _ => {
                    return Err(self.err(
                        f.proto.span(),
                        format!("protocol {n:?}: a number, or icmp, tcp, udp, sctp"),
                    ));
                }
            },
        };
        let src: std::net::IpAddr = self.value(&f.sip, "an IPv4 or IPv6 address")?;
        let dst: std::net::IpAddr = self.value(&f.dip, "an IPv4 or IPv6 address")?;
        if src.is_ipv4() != dst.is_ipv4() {
            return Err(self.err(
                f.dip.span(),
                format!("dip {dst} is not of the family of sip {src}"),
            ));
        }
        Ok(FlowKey {
            proto,
            sport: f.sport,
            dport: f.dport,
            nh: self.nh_id(f.nh, span)?,
            src,
            dst,
        })
    }

    fn flow_action(&self, f: &FlowSpec) -> Result<(FlowAction, FlowFlags), CaseError> {
        let action = match f.action.as_ref().map(|a| (a.get_ref().as_str(), a.span())) {
            None | Some(("forward", _)) => FlowAction::Forward,
            Some(("drop", _)) => FlowAction::Drop,
            Some(("nat", _)) => FlowAction::Nat,
            Some(("hold", _)) => FlowAction::Hold,
            Some((other, s)) => {
                return Err(self.err(
                    s,
                    format!("flow action {other:?}: expected forward, drop, nat or hold"),
                ));
            }
        };
        let mut flags = FlowFlags::empty();
        for fl in &f.flags {
            flags = flags
                | match fl.get_ref().as_str() {
                    "SNAT" => FlowFlags::SNAT,
                    "DNAT" => FlowFlags::DNAT,
                    "SPAT" => FlowFlags::SPAT,
                    "DPAT" => FlowFlags::DPAT,
                    "VRFT" => FlowFlags::VRFT,
                    "Mirror" => FlowFlags::MIRROR,
                    "LinkLocal" => FlowFlags::LINK_LOCAL,
                    "BgpService" => FlowFlags::BGP_SERVICE,
                    other => {
                        return Err(self.err(
                            fl.span(),
                            format!("flow flag {other:?}: expected SNAT, DNAT, SPAT, DPAT, VRFT, Mirror, LinkLocal or BgpService"),
                        ));
                    }
                };
        }
        Ok((action, flags))
    }

    fn flow(&self, f: &FlowSpec, span: Span, flows: Option<usize>) -> Result<Object, CaseError> {
        let key = self.flow_key(f, &span)?;
        let (action, mut flags) = self.flow_action(f)?;
        if f.dvrf.is_some() && !flags.contains(FlowFlags::VRFT) {
            flags = flags | FlowFlags::VRFT;
        }
        let drop_reason = match &f.drop_reason {
            None => FlowDropReason::UNKNOWN,
            Some(d) => (0..=u8::MAX)
                .map(FlowDropReason)
                .find(|r| r.name() == Some(d.get_ref().as_str()))
                .ok_or_else(|| {
                    self.err(
                        d.span(),
                        format!(
                            "{:?} is not a flow drop reason as flow -l prints it",
                            d.get_ref()
                        ),
                    )
                })?,
        };
        let reverse = match (&f.reverse, flows) {
            (None, _) => None,
            (Some(r), Some(n)) if (1..=n).contains(r.get_ref()) => Some(r.get_ref() - 1),
            (Some(r), Some(n)) => {
                return Err(self.err(
                    r.span(),
                    format!("reverse {}: this file has flows 1 to {n}", r.get_ref()),
                ));
            }
            (Some(r), None) => {
                return Err(self.err(
                    r.span(),
                    "reverse names a [[flow]] of the file; use it there",
                ));
            }
        };
        if let (Some(_), Some(r)) = (&f.reverse, &f.rflow) {
            return Err(self.err(r.span(), "a flow has reverse or rflow, not both"));
        }
        let vrf = VrfId::from(f.vrf);
        Ok(Object::Flow {
            req: FlowRequest {
                index: None,
                key,
                action,
                drop_reason,
                flags,
                vrf,
                dvrf: f.dvrf.map_or(vrf, VrfId::from),
                rflow: f.rflow.as_ref().map(|r| *r.get_ref()),
                src_nh: self.nh_id(f.src_nh, &span)?,
                ecmp_index: f.ecmp_index,
                underlay_ecmp_index: f.underlay_ecmp_index,
                udp_sport: f.udp_sport,
                ttl: f.ttl,
            },
            reverse,
            index: f.index,
        })
    }

    fn object(&self, o: &ObjectSpec, span: Span, adding: bool) -> Result<Object, CaseError> {
        let mut found = Vec::new();
        if let Some(v) = &o.vif {
            found.push(self.vif(v, span.clone())?);
        }
        if let Some(n) = &o.nh {
            found.push(self.nh(n, span.clone())?);
        }
        if let Some(r) = &o.route {
            found.push(self.route(r, span.clone(), adding)?);
        }
        if let Some(b) = &o.bridge {
            found.push(self.bridge(b, span.clone(), adding)?);
        }
        if let Some(m) = &o.mpls {
            found.push(self.mpls(m, span.clone(), adding)?);
        }
        if let Some(x) = &o.vxlan {
            found.push(self.vxlan(x, span.clone(), adding)?);
        }
        if let Some(f) = &o.flow {
            found.push(self.flow(f, span.clone(), None)?);
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            n => Err(self.err(
                span,
                format!("an add or delete names exactly one object; this one names {n}"),
            )),
        }
    }

    fn step(&self, s: &StepSpec, span: Span) -> Result<Step, CaseError> {
        let note = s.note.clone();
        let kinds = [
            s.send.is_some(),
            s.add.is_some(),
            s.delete.is_some(),
            s.lookup.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(self.err(span, "a step has exactly one of send, add, delete, lookup"));
        }
        let error = s.expect.as_ref().and_then(|e| e.error.clone());
        if let Some(send) = &s.send {
            let frame = hex(send.frame.get_ref()).map_err(|m| self.err(send.frame.span(), m))?;
            let expect = s
                .expect
                .as_ref()
                .ok_or_else(|| self.err(span.clone(), "a send step needs expect"))?;
            return Ok(Step::Send {
                vif: self.vif_id(send.vif, &span)?,
                frame,
                count: match send.count.unwrap_or(1) {
                    n @ 1..=MAX_COUNT => n,
                    n => {
                        return Err(self.err(
                            span,
                            format!("count {n}: a step sends 1 to {MAX_COUNT} packets"),
                        ));
                    }
                },
                expect: self.expect(expect, span)?,
                note,
            });
        }
        if let Some(o) = &s.add {
            return Ok(Step::Add {
                object: self.object(o, span, true)?,
                error,
                note,
            });
        }
        if let Some(o) = &s.delete {
            return Ok(Step::Delete {
                object: self.object(o, span, false)?,
                error,
                note,
            });
        }
        let l = s
            .lookup
            .as_ref()
            .ok_or_else(|| self.err(span.clone(), "a step needs an action"))?;
        let e = s.expect.as_ref();
        Ok(Step::Lookup {
            vrf: VrfId::from(l.vrf),
            addr: self.value(&l.addr, "an address")?,
            nh: e
                .and_then(|e| e.nh)
                .map(|n| self.nh_id(n, &span))
                .transpose()?,
            prefix: e
                .and_then(|e| e.prefix.as_ref())
                .map(|p| self.value(p, "a prefix"))
                .transpose()?,
            label: e.and_then(|e| e.label),
            note,
        })
    }

    fn expect(&self, e: &ExpectSpec, span: Span) -> Result<Expect, CaseError> {
        let given = [
            e.out.is_some(),
            e.drop.is_some(),
            e.trap.is_some(),
            e.host.is_some(),
            e.held == Some(true),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(self.err(
                span,
                "a send expects exactly one of out, drop, trap, host, held",
            ));
        }
        let frame = e
            .frame
            .as_ref()
            .map(|f| pattern(f.get_ref()).map_err(|m| self.err(f.span(), m)))
            .transpose()?;
        if let (Some(f), None, None) = (&e.frame, e.out, e.host) {
            return Err(self.err(
                f.span(),
                "frame: only a send that expects out or host leaves a frame to compare",
            ));
        }
        if let Some(out) = e.out {
            return Ok(Expect::Out {
                vif: self.vif_id(out, &span)?,
                frame,
            });
        }
        if let Some(d) = &e.drop {
            let reason = DropReason::ALL
                .iter()
                .find(|r| r.label() == d.get_ref())
                .ok_or_else(|| {
                    self.err(
                        d.span(),
                        format!(
                            "{:?} is not a drop reason as dropstats prints it",
                            d.get_ref()
                        ),
                    )
                })?;
            return Ok(Expect::Drop(*reason));
        }
        if let Some(t) = &e.trap {
            if t.get_ref() != "agent" {
                return Err(self.err(t.span(), "trap: the only trap target is \"agent\""));
            }
            return Ok(Expect::Trap);
        }
        if let Some(h) = e.host {
            return Ok(Expect::Host(self.vif_id(h, &span)?, frame));
        }
        Ok(Expect::Held)
    }

    fn check(&self, c: &CheckSpec, span: Span) -> Result<Check, CaseError> {
        let kinds = [
            c.vif.is_some(),
            c.dropstats.is_some(),
            c.cli.is_some(),
            c.flows.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(self.err(
                span,
                "a check has exactly one of vif, dropstats, cli, flows",
            ));
        }
        if let Some(v) = c.vif {
            return Ok(Check::Vif {
                vif: self.vif_id(v, &span)?,
                ipackets: c.ipackets,
                opackets: c.opackets,
                drops: c.drops,
            });
        }
        if let Some(d) = &c.dropstats {
            let mut out = Vec::new();
            for (name, n) in d {
                let reason = DropReason::ALL
                    .iter()
                    .find(|r| r.label() == name)
                    .ok_or_else(|| {
                        self.err(
                            span.clone(),
                            format!("{name:?} is not a drop reason as dropstats prints it"),
                        )
                    })?;
                out.push((*reason, *n));
            }
            return Ok(Check::Dropstats(out));
        }
        if let Some(cli) = &c.cli {
            crate::cli::cli_words(cli.get_ref()).map_err(|m| self.err(cli.span(), m))?;
            return Ok(Check::Cli {
                command: cli.get_ref().clone(),
                contains: c.contains.clone(),
                lacks: c.lacks.clone(),
                equals: c.equals.clone(),
            });
        }
        Ok(Check::Flows(c.flows.unwrap_or(0)))
    }
}

/// Hex bytes, spaces (and line breaks) allowed.
pub(crate) fn hex(text: &str) -> Result<Vec<u8>, String> {
    pattern(text)?
        .into_iter()
        .enumerate()
        .map(|(i, b)| b.ok_or_else(|| format!("byte {i} is \"..\": a frame sent is all hex")))
        .collect()
}

/// A frame pattern: hex, `..` for a byte that may be anything.
pub(crate) fn pattern(text: &str) -> Result<Pattern, String> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(c) = digits.chars().find(|c| !c.is_ascii()) {
        return Err(format!("{c:?} is neither hex nor .."));
    }
    if !digits.len().is_multiple_of(2) {
        return Err(format!("{} hex digits: bytes take two each", digits.len()));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| match &digits[i..i + 2] {
            ".." => Ok(None),
            d => u8::from_str_radix(d, 16)
                .map(Some)
                .map_err(|_| format!("{d:?} at byte {} is not hex", i / 2)),
        })
        .collect()
}
