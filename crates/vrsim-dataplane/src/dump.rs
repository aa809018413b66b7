//! The vRouter's CLI dumps, rebuilt from its format strings (docs/vrouter-reference.md §1–4,
//! §6): `vif`, `nh`, `rt`, `mpls`, `vxlan` and `dropstats`.

use core::fmt::Write;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use vrsim_wire::{MacAddr, MplsLabel, Vni};

use crate::drop::DropReason;
use crate::error::{DataplaneError, ObjectKey};
use crate::ids::{NhId, VifId, VrfId};
use crate::nexthop::NhKind;
use crate::route::Route;
use crate::vif::{VIF_FLAG_LEGEND, Vif};
use crate::vrouter::{Nexthop, VRouter};

/// Which release's layout to print where the vRouter changed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// The 2017 layout the seed document shows: `Vrf:1 Flags:… MTU:9160 QOS:-1 Ref:5`,
    /// `IPaddr:0`, the shorter flag legends.
    #[default]
    Legacy,
    /// Today's tf-vrouter: `Vrf:1 Mcast Vrf:1 Flags:… QOS:-1 Ref:5`, `Drops:`.
    Current,
}

// ---- vif ----

fn vif_header(out: &mut String, layout: Layout) {
    out.push_str("Vrouter Interface Table\n\n");
    let legend: Vec<_> = match layout {
        // The 2017 release knew the flags up to Df, then Proxy.
        Layout::Legacy => VIF_FLAG_LEGEND[..19]
            .iter()
            .chain(&VIF_FLAG_LEGEND[20..21])
            .collect(),
        Layout::Current => VIF_FLAG_LEGEND.iter().collect(),
    };
    out.push_str("Flags: ");
    for (i, (_, letter, text)) in legend.iter().enumerate() {
        if i > 0 {
            out.push_str(if i % 4 == 0 { "\n       " } else { ", " });
        }
        let _ = write!(out, "{letter}={text}");
    }
    out.push_str("\n\n");
}

fn vif_block(out: &mut String, router: &VRouter, vif: &Vif, layout: Layout) {
    let c = &vif.config;
    let _ = write!(out, "{:<12}OS: {}", format!("vif0/{}", c.id), c.name);
    // The 2017 release the seed shows printed no NH; today's `vif` does.
    if let (Layout::Current, Some(nh)) = (layout, c.nh) {
        let _ = write!(out, " NH: {nh}");
    }
    let ip = match (layout, c.ip) {
        (Layout::Legacy, None) => "0".to_owned(),
        (_, ip) => ip.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string(),
    };
    let _ = write!(
        out,
        "\n            Type:{} HWaddr:{} IPaddr:{}\n",
        c.kind, c.mac, ip
    );
    if let (Layout::Current, Some(ip6)) = (layout, c.ip6) {
        let _ = writeln!(out, "            IP6addr:{ip6}");
    }
    let refs = 1 + router
        .nexthops()
        .filter(|n| n.config.kind.oif() == Some(c.id))
        .count();
    match layout {
        Layout::Legacy => {
            let _ = writeln!(
                out,
                "            Vrf:{} Flags:{} MTU:{} QOS:{} Ref:{refs}",
                c.vrf, c.flags, c.mtu, c.qos_map
            );
        }
        Layout::Current => {
            let _ = writeln!(
                out,
                "            Vrf:{} Mcast Vrf:{} Flags:{} QOS:{} Ref:{refs}",
                c.vrf,
                c.mcast_vrf.unwrap_or(c.vrf),
                c.flags,
                c.qos_map
            );
        }
    }
    let s = &vif.stats;
    let _ = writeln!(
        out,
        "            RX packets:{}  bytes:{} errors:{}",
        s.rx_packets, s.rx_bytes, s.rx_errors
    );
    let _ = writeln!(
        out,
        "            TX packets:{}  bytes:{} errors:{}",
        s.tx_packets, s.tx_bytes, s.tx_errors
    );
    if layout == Layout::Current {
        let _ = writeln!(out, "            Drops:{}", vif.drops.total());
    }
    out.push('\n');
}

/// `vif --list`.
pub fn vif_list(router: &VRouter, layout: Layout) -> String {
    let mut out = String::new();
    vif_header(&mut out, layout);
    for vif in router.vifs() {
        vif_block(&mut out, router, vif, layout);
    }
    out
}

/// `vif --get N`.
pub fn vif_get(router: &VRouter, id: VifId, layout: Layout) -> Result<String, DataplaneError> {
    let vif = router.vif(id).ok_or(DataplaneError::NotFound {
        object: ObjectKey::Vif(id),
    })?;
    let mut out = String::new();
    vif_header(&mut out, layout);
    vif_block(&mut out, router, vif, layout);
    Ok(out)
}

// ---- nh ----

fn hex_bytes(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "{b:02x} ");
    }
}

fn nh_block(out: &mut String, nh: &Nexthop) {
    const INDENT: &str = "\n              ";
    let c = &nh.config;
    let _ = write!(
        out,
        "Id:{:<9}  Type:{:<13}  Fmly:{:>8}  Rid:0  Ref_cnt:{:<10} Vrf:{}",
        c.id,
        c.kind.type_name(),
        c.family.name(),
        nh.ref_cnt(),
        c.vrf
    );
    let _ = write!(out, "{INDENT}Flags:{}", c.effective_flags());
    match &c.kind {
        NhKind::Discard | NhKind::L2Receive => {}
        NhKind::Receive { oif } => {
            let _ = write!(out, "{INDENT}Oif:{oif}");
        }
        NhKind::Encap {
            oif,
            rewrite,
            encap_family,
        } => {
            let _ = write!(
                out,
                "{INDENT}EncapFmly:{encap_family:04x} Oif:{oif} Len:{}",
                rewrite.len()
            );
            let _ = write!(out, "{INDENT}Encap Data: ");
            hex_bytes(out, rewrite);
        }
        NhKind::Tunnel {
            oif,
            rewrite,
            sip,
            dip,
            ..
        } => {
            let _ = write!(out, "{INDENT}Oif:{oif} Len:{} Data:", rewrite.len());
            hex_bytes(out, rewrite);
            let _ = write!(out, "{INDENT}Sip:{sip} Dip:{dip}");
        }
        NhKind::UdpTunnel { sip, dip, .. } => {
            let _ = write!(out, "{INDENT}Sip:{sip} Dip:{dip}");
        }
        NhKind::VrfTranslate { vrf } => {
            let _ = write!(out, "{INDENT}Vrf:{vrf}");
        }
        NhKind::Composite { members } => {
            let _ = write!(out, "{INDENT}Sub NH(label):");
            for m in members {
                match m.label {
                    Some(l) => {
                        let _ = write!(out, " {}({l})", m.id());
                    }
                    None => {
                        let _ = write!(out, " {}", m.id());
                    }
                }
            }
        }
    }
    out.push_str("\n\n");
}

/// `nh --list`.
pub fn nh_list(router: &VRouter) -> String {
    let mut out = String::new();
    for nh in router.nexthops() {
        nh_block(&mut out, nh);
    }
    out
}

/// `nh --get N` (for a composite, its members follow, as the CLI fetches them).
pub fn nh_get(router: &VRouter, id: NhId) -> Result<String, DataplaneError> {
    let nh = router.nh(id).ok_or(DataplaneError::NotFound {
        object: ObjectKey::Nh(id),
    })?;
    let mut out = String::new();
    nh_block(&mut out, nh);
    for member in nh.config.referenced_nhs() {
        if let Some(m) = router.nh(member) {
            nh_block(&mut out, m);
        }
    }
    Ok(out)
}

// ---- rt ----

const RT_LEGEND_LEGACY: &str = "Flags: L=Label Valid, P=Proxy ARP, T=Trap ARP, F=Flood ARP";
const RT_LEGEND_CURRENT: &str =
    "Flags: L=Label Valid, P=Proxy ARP, T=Trap ARP, F=Flood ARP, Ml=MAC-IP learnt route";
const RT_COLUMNS: &str =
    "Destination           PPL        Flags        Label         Nexthop    Stitched MAC(Index)";

fn rt_header(out: &mut String, vrf: VrfId, layout: Layout, family: char) {
    let legend = if layout == Layout::Legacy {
        RT_LEGEND_LEGACY
    } else {
        RT_LEGEND_CURRENT
    };
    let _ = write!(
        out,
        "{legend}\nvRouter inet{family} routing table 0/{vrf}/unicast\n{RT_COLUMNS}\n"
    );
}

/// glibc's `ether_ntoa`: no zero padding.
fn ether_ntoa(mac: MacAddr) -> String {
    let MacAddr(a, b, c, d, e, f) = mac;
    format!("{a:x}:{b:x}:{c:x}:{d:x}:{e:x}:{f:x}")
}

fn rt_row(out: &mut String, dest: IpAddr, len: u8, ppl: u8, route: Option<&Route>) {
    let _ = write!(out, "{:<21}{ppl:>4}", format!("{dest}/{len:<2}"));
    let (flags, label, nh, mac) = match route {
        Some(r) => (r.flags.to_string(), r.label, r.nh, r.stitched_mac),
        None => (String::new(), None, NhId::DISCARD, None),
    };
    let _ = write!(out, "        {flags:>5}      ");
    match label {
        Some(l) => {
            let _ = write!(out, "{:>5}", l.value());
        }
        None => out.push_str("    -"),
    }
    let _ = write!(out, "        {:>7}        ", nh.value());
    match mac {
        Some((mac, index)) => {
            let _ = writeln!(out, "{}({index})", ether_ntoa(mac));
        }
        None => out.push_str("-\n"),
    }
}

/// One family's table as the mtrie walk sees it: addresses as the high
/// bits of a `u128` (IPv4 in the top 32), `bits` wide.
struct RtTable<'a> {
    bits: u8,
    /// The longest match for an address: the route's length and the route.
    owner: &'a dyn Fn(u128) -> Option<(u8, Route)>,
    /// The address as printed.
    show: fn(u128) -> IpAddr,
}

fn v4_bits(a: Ipv4Addr) -> u128 {
    u128::from(u32::from(a)) << 96
}

fn v4_show(bits: u128) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from((bits >> 96) as u32))
}

fn v6_show(bits: u128) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(bits))
}

/// `rt --dump V` (`--family inet`): one row per leaf slot of the vRouter's
/// 8-bit-stride mtrie, the destination at the slot's level length and PPL
/// the length of the route that owns the slot (docs/vrouter-reference.md §4).
pub fn rt_dump(router: &VRouter, vrf: VrfId, layout: Layout) -> Result<String, DataplaneError> {
    let table = &router
        .vrf(vrf)
        .ok_or(DataplaneError::NotFound {
            object: ObjectKey::Vrf(vrf),
        })?
        .inet4;
    let prefixes = table
        .iter()
        .map(|(p, _)| (v4_bits(p.addr()), p.prefix_len()));
    let owner = |a: u128| {
        // The FIB's leaf for the slot: the owner's length is its PPL.
        table
            .lookup(Ipv4Addr::from((a >> 96) as u32))
            .map(|(l, r)| (l, *r))
    };
    let t = RtTable {
        bits: 32,
        owner: &owner,
        show: v4_show,
    };
    let mut out = String::new();
    rt_header(&mut out, vrf, layout, '4');
    mtrie_dump(&mut out, &t, prefixes);
    Ok(out)
}

/// `rt --dump V --family inet6`: as [`rt_dump`], over the inet6 mtrie's
/// sixteen 8-bit levels.
pub fn rt_dump6(router: &VRouter, vrf: VrfId, layout: Layout) -> Result<String, DataplaneError> {
    let table = &router
        .vrf(vrf)
        .ok_or(DataplaneError::NotFound {
            object: ObjectKey::Vrf(vrf),
        })?
        .inet6;
    let prefixes = table
        .iter()
        .map(|(p, _)| (p.addr().to_bits(), p.prefix_len()));
    let owner = |a: u128| table.lookup(Ipv6Addr::from(a)).map(|(l, r)| (l, *r));
    let t = RtTable {
        bits: 128,
        owner: &owner,
        show: v6_show,
    };
    let mut out = String::new();
    rt_header(&mut out, vrf, layout, '6');
    mtrie_dump(&mut out, &t, prefixes);
    Ok(out)
}

/// The rows of `mtrie_dump`: the slots of every bucket on the paths to
/// routes longer than a level, from the top.
fn mtrie_dump(out: &mut String, t: &RtTable<'_>, prefixes: impl Iterator<Item = (u128, u8)>) {
    // Slots that are buckets: a route more specific than the slot's level lies inside.
    let mut buckets = BTreeSet::new();
    for (addr, len) in prefixes {
        for level in (0..t.bits).step_by(8) {
            if len > level {
                buckets.insert((level, masked(addr, level)));
            }
        }
    }
    if buckets.contains(&(0, 0)) {
        rt_walk(out, t, &buckets, 0, 8);
    } else {
        let owner = (t.owner)(0);
        rt_row(
            out,
            (t.show)(0),
            0,
            owner.map_or(0, |(l, _)| l),
            owner.as_ref().map(|(_, r)| r),
        );
    }
}

/// `addr` with the bits beyond `len` cleared.
fn masked(addr: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        addr & (u128::MAX << (128 - u32::from(len)))
    }
}

/// Print the 256 slots of the bucket at `base`/`level - 8`, recursing into buckets.
fn rt_walk(
    out: &mut String,
    t: &RtTable<'_>,
    buckets: &BTreeSet<(u8, u128)>,
    base: u128,
    level: u8,
) {
    let shift = 128 - u32::from(level);
    for i in 0u128..256 {
        let addr = base | (i << shift);
        if buckets.contains(&(level, addr)) {
            rt_walk(out, t, buckets, addr, level + 8);
            continue;
        }
        let owner = (t.owner)(addr);
        let ppl = owner.map_or(0, |(l, _)| l);
        rt_row(
            out,
            (t.show)(addr),
            level,
            ppl,
            owner.as_ref().map(|(_, r)| r),
        );
    }
}

/// `rt --get A/L --vrf V`: the route that covers `A/L` (its true prefix) with PPL 0.
/// A VRF without routes answers as the vRouter's `mtrie_lookup` does for a
/// table it does not have: nh 0, the query's own prefix.
pub fn rt_get(
    router: &VRouter,
    vrf: VrfId,
    query: Ipv4Net,
    layout: Layout,
) -> Result<String, DataplaneError> {
    let vrf_table = router.vrf(vrf);
    let found = vrf_table.and_then(|v| {
        (0..=query.prefix_len()).rev().find_map(|len| {
            let p = Ipv4Net::new(query.addr(), len).ok()?.trunc();
            v.inet4.get(&p).map(|r| (IpNet::V4(p), *r))
        })
    });
    Ok(rt_get_text(
        vrf,
        IpNet::V4(query),
        layout,
        found,
        vrf_table.is_some(),
    ))
}

/// `rt --get A/L --vrf V --family inet6`: as [`rt_get`] in the inet6 table.
pub fn rt_get6(
    router: &VRouter,
    vrf: VrfId,
    query: Ipv6Net,
    layout: Layout,
) -> Result<String, DataplaneError> {
    let vrf_table = router.vrf(vrf);
    let found = vrf_table.and_then(|v| {
        (0..=query.prefix_len()).rev().find_map(|len| {
            let p = Ipv6Net::new(query.addr(), len).ok()?.trunc();
            v.inet6.get(&p).map(|r| (IpNet::V6(p), *r))
        })
    });
    Ok(rt_get_text(
        vrf,
        IpNet::V6(query),
        layout,
        found,
        vrf_table.is_some(),
    ))
}

fn rt_get_text(
    vrf: VrfId,
    query: IpNet,
    layout: Layout,
    found: Option<(IpNet, Route)>,
    has_vrf: bool,
) -> String {
    let family = if query.addr().is_ipv4() { '4' } else { '6' };
    let mut out = String::new();
    let _ = write!(
        out,
        "Match {query} in vRouter inet{family} table 0/{vrf}/unicast\n\n"
    );
    rt_header(&mut out, vrf, layout, family);
    match found {
        Some((p, r)) => rt_row(&mut out, p.addr(), p.prefix_len(), 0, Some(&r)),
        None if !has_vrf => rt_row(&mut out, query.addr(), query.prefix_len(), 0, None),
        None => {
            let zero = match query {
                IpNet::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpNet::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            };
            rt_row(&mut out, zero, 0, 0, None);
        }
    }
    out
}

// ---- mpls, vxlan, dropstats ----

const MPLS_HEADER: &str = "MPLS Input Label Map\n\n   Label    NextHop\n-------------------\n";
const VXLAN_HEADER: &str = "VXLAN Table\n\n VNID    NextHop\n----------------\n";

/// `mpls --dump`.
pub fn mpls_dump(router: &VRouter) -> String {
    let mut out = MPLS_HEADER.to_owned();
    for (label, nh) in router.labels() {
        let _ = writeln!(out, "{label:>8}    {:>6}", nh.value());
    }
    out
}

/// `mpls --get L`.
pub fn mpls_get(router: &VRouter, label: MplsLabel) -> Result<String, DataplaneError> {
    let nh = router.label(label).ok_or(DataplaneError::NotFound {
        object: ObjectKey::Label(label),
    })?;
    Ok(format!(
        "{MPLS_HEADER}{:>8}    {:>6}\n",
        label.value(),
        nh.value()
    ))
}

/// `vxlan --dump`.
pub fn vxlan_dump(router: &VRouter) -> String {
    let mut out = VXLAN_HEADER.to_owned();
    for (vni, nh) in router.vnids() {
        let _ = writeln!(out, "{:>7}    {}", vni.value(), nh);
    }
    out
}

/// `vxlan --get V`.
pub fn vxlan_get(router: &VRouter, vni: Vni) -> Result<String, DataplaneError> {
    let nh = router.vnid(vni).ok_or(DataplaneError::NotFound {
        object: ObjectKey::Vnid(vni),
    })?;
    Ok(format!("{VXLAN_HEADER}{:>7}    {}\n", vni.value(), nh))
}

/// `dropstats`, today's format: the non-zero counters, label padded to 28.
pub fn dropstats(router: &VRouter) -> String {
    let mut out = String::new();
    for (reason, n) in router.drops().non_zero() {
        let _ = writeln!(out, "{:<28}  {n}", reason.label());
    }
    out
}

// ---- flow ----

/// The bytes of one flow entry in the table `flow -l` maps
/// (`sizeof(struct vr_flow_entry)` on today's vRouter: 161218560 bytes for
/// 629760 entries in tf-vrouter's test docstrings).
const FLOW_ENTRY_SIZE: u64 = 256;

/// `flow -l` (`flow_dump_table` in `utils/flow.c`): the table's counters,
/// the legend, then every active flow in index order, two lines of key and
/// one or more of state, wrapped where `flow` wraps them at 70 columns.
/// vrsim runs on one CPU, so `Created Flows/CPU` has one number.
pub fn flow_list(router: &VRouter) -> String {
    let t = router.flows();
    let s = t.stats();
    let entries = t.main_entries() + t.overflow_entries();
    let mut out = String::new();
    let _ = write!(
        out,
        "Flow table(size {}, entries {entries})\n\n",
        u64::from(entries) * FLOW_ENTRY_SIZE
    );
    let _ = writeln!(
        out,
        "Entries: Created {} Added {} Deleted {} Changed {}Processed {} Used Overflow entries {}",
        s.created,
        s.added,
        s.deleted,
        s.changed,
        s.processed,
        t.used_overflow()
    );
    let _ = write!(out, "(Created Flows/CPU: {})(oflows 0)\n\n", s.created);
    out.push_str(
        "Action:F=Forward, D=Drop N=NAT(S=SNAT, D=DNAT, Ps=SPAT, Pd=DPAT, L=Link Local Port)\n",
    );
    out.push_str(" Other:K(nh)=Key_Nexthop, S(nh)=RPF_Nexthop\n");
    out.push_str(" Flags:E=Evicted, Ec=Evict Candidate, N=New Flow, M=Modified Dm=Delete Marked\n");
    out.push_str("TCP(r=reverse):S=SYN, F=FIN, R=RST, C=HalfClose, E=Established, D=Dead\n\n");
    let _ = writeln!(
        out,
        "    Index            {:4}Source:Port/Destination:Port                  {:4}Proto(V)",
        "", ""
    );
    out.push_str(
        "-----------------------------------------------------------------------------------\n",
    );
    // Every entry that is active or heads an overflow chain, in index order.
    let mut indices: BTreeSet<u32> = t.iter().map(|(i, _)| i).collect();
    indices.extend(
        (0..t.main_entries())
            .step_by(4)
            .map(|b| b + 3)
            .filter(|i| !t.overflow_chain(*i).is_empty()),
    );
    for i in indices {
        let active = t.get(i);
        if let Some(e) = active {
            flow_entry(&mut out, i, e);
        }
        let chain = t.overflow_chain(i);
        if !chain.is_empty() {
            if active.is_none() {
                let _ = write!(out, "{i:6}");
            }
            out.push_str("\n     Oflow entries:\n\t");
            let mut j = 0;
            for o in chain {
                let piece = format!(" {o}");
                j += piece.len();
                out.push_str(&piece);
                if j > 65 {
                    out.push_str("\n     ");
                    j = 0;
                }
            }
        }
        out.push_str("\n\n");
    }
    out
}

/// One entry of `flow -l`.
fn flow_entry(out: &mut String, i: u32, e: &crate::flow::FlowEntry) {
    use crate::flow::{FlowAction, FlowFlags};
    let _ = write!(out, "{i:9}");
    match e.rflow {
        Some(r) => {
            let _ = write!(out, "<=>{r:<9}");
        }
        None => out.push_str(&" ".repeat(12)),
    }
    out.push_str("    ");
    // `flow_list`: an IPv6 entry's address lines end in four more spaces.
    let tail = if e.key.is_ipv6() { "    " } else { "" };
    let src = format!("{}:{:<5}{tail}", e.key.src, e.key.sport);
    let _ = write!(out, "{src:<46}    {:3} ({}", e.key.proto, e.vrf);
    if e.flags.contains(FlowFlags::VRFT) {
        let _ = write!(out, "->{}", e.dvrf);
    }
    let _ = writeln!(out, ")\n{:25}{}:{:<5}{tail}", "", e.key.dst, e.key.dport);
    let mut line = format!(
        "(Gen: {}, K(nh):{}, Action:{}",
        e.generation,
        e.key.nh,
        e.action.letter()
    );
    if e.action == FlowAction::Nat {
        line.push('(');
        line.push_str(&nat_letters(e.flags));
        line.push(')');
    }
    if e.action == FlowAction::Drop {
        match e.drop_reason.name() {
            Some(n) => line.push_str(&format!("({n})")),
            None => line.push_str(&format!("({})", e.drop_reason.0)),
        }
    }
    line.push_str(", Flags:");
    for (f, l) in [
        (FlowFlags::EVICTED, "E"),
        (FlowFlags::EVICT_CANDIDATE, "Ec"),
        (FlowFlags::NEW_FLOW, "N"),
        (FlowFlags::MODIFIED, "M"),
        (FlowFlags::DELETE_MARKED, "Dm"),
    ] {
        if e.flags.contains(f) {
            line.push_str(l);
        }
    }
    line.push_str(", ");
    if e.key.proto == 6 {
        line.push_str(&format!("TCP:{}, ", e.tcp.letters()));
    }
    if let Some(x) = e.ecmp_index {
        line.push_str(&format!("E:{x}, "));
    }
    line.push_str(&format!("QOS:-1, S(nh):{}, ", e.src_nh));
    // `print_new_line_if_required(printed, 70)` after S(nh), Stats and SPort;
    // the TTL is printed without being counted, as `flow` does.
    let mut printed = wrap(out, &line, 0);
    printed = wrap(out, &format!(" Stats:{}/{}, ", e.packets, e.bytes), printed);
    printed = wrap(out, &format!(" SPort {},", e.udp_sport), printed);
    out.push_str(&format!(" TTL {},", e.ttl));
    if printed >= 70 {
        out.push('\n');
    }
    if let Some(u) = e.underlay_ecmp_index {
        out.push_str(&format!(" UnderlayEcmpIdx:{u},"));
    }
    let _ = write!(out, " Sinfo {})", e.src_info_addr());
}

/// A NAT flow's rewrites as `flow -l` letters them, in flag-bit order.
fn nat_letters(flags: crate::flow::FlowFlags) -> String {
    use crate::flow::FlowFlags;
    [
        (FlowFlags::SNAT, "S"),
        (FlowFlags::SPAT, "Ps"),
        (FlowFlags::DNAT, "D"),
        (FlowFlags::DPAT, "Pd"),
        (FlowFlags::LINK_LOCAL, "L"),
    ]
    .iter()
    .filter(|(f, _)| flags.contains(*f))
    .map(|(_, l)| *l)
    .collect()
}

/// Print `piece` after `printed` columns, then break the line when 70 are
/// reached; the columns printed on the current line.
fn wrap(out: &mut String, piece: &str, printed: usize) -> usize {
    out.push_str(piece);
    let printed = printed + piece.len();
    if printed >= 70 {
        out.push('\n');
        0
    } else {
        printed
    }
}

// ---- flow --get ----

/// The width of `flow --get`'s field names (`FLOW_GET_FIELD_LENGTH`).
const FIELD: usize = 30;

fn field(out: &mut String, name: &str) {
    let _ = write!(out, "{:<FIELD$}", format!("{name}:"));
}

fn spaces(out: &mut String) {
    out.push_str(&" ".repeat(FIELD));
}

/// `vr_nexthop_type_string`.
fn nh_type_string(kind: &NhKind) -> &'static str {
    match kind {
        NhKind::Receive { .. } => "RECEIVE",
        NhKind::Encap { .. } => "ENCAP",
        NhKind::Tunnel { .. } | NhKind::UdpTunnel { .. } => "TUNNEL",
        NhKind::Discard => "DISCARD",
        NhKind::Composite { .. } => "COMPOSITE",
        NhKind::VrfTranslate { .. } => "VRF_TRANSLATE",
        NhKind::L2Receive => "L2_RECEIVE",
    }
}

/// `vr_proto_string`.
fn proto_string(proto: u8) -> &'static str {
    match proto {
        6 => "TCP",
        17 => "UDP",
        1 => "ICMP",
        132 => "SCTP",
        58 => "ICMPv6",
        _ => "UNKNOWN",
    }
}

/// `flow_print_vif`.
fn get_vif(out: &mut String, router: &VRouter, vif: Option<VifId>, ingress: bool) {
    let Some(v) = vif.and_then(|v| router.vif(v)) else {
        return;
    };
    spaces(out);
    let _ = writeln!(
        out,
        "{} Interface(Index, VRF, OS): vif0/{}, {}, {}",
        if ingress { "Ingress" } else { "Egress" },
        v.id(),
        v.config.vrf,
        v.config.name
    );
    spaces(out);
    let _ = writeln!(
        out,
        "Interface Statistics(Out, In, Errors): {}, {}, {}",
        v.stats.tx_packets,
        v.stats.rx_packets,
        v.stats.rx_errors.saturating_add(v.stats.tx_errors)
    );
}

/// `flow_dump_nexthop` and the functions it calls per type; `ecmp` is the
/// member a composite marks with `*` (the reverse flow's ECMP index).
fn get_nexthop(out: &mut String, router: &VRouter, nh: &Nexthop, ingress: bool, ecmp: Option<u8>) {
    let c = &nh.config;
    let header = |out: &mut String| {
        let _ = writeln!(
            out,
            "NextHop(Index, VRF, Type): {}, {}, {}",
            c.id,
            c.vrf,
            nh_type_string(&c.kind)
        );
    };
    match &c.kind {
        NhKind::Encap { oif, .. } | NhKind::Receive { oif } => {
            header(out);
            get_vif(out, router, Some(*oif), ingress);
        }
        NhKind::Tunnel { oif, dip, .. } => {
            header(out);
            spaces(out);
            let _ = writeln!(out, "Tunnel Source: {dip}");
            get_vif(out, router, Some(*oif), ingress);
        }
        NhKind::UdpTunnel { dip, .. } => {
            header(out);
            spaces(out);
            let _ = writeln!(out, "Tunnel Source: {dip}");
        }
        NhKind::Composite { members } => {
            header(out);
            spaces(out);
            out.push_str("ECMP\n");
            spaces(out);
            for (i, m) in members.iter().enumerate() {
                let star = if ecmp.map(usize::from) == Some(i) {
                    "*"
                } else {
                    ""
                };
                let _ = write!(out, "{}{star}, ", m.id());
            }
            out.push('\n');
            spaces(out);
            if let Some(member) = ecmp
                .and_then(|i| members.get(usize::from(i)))
                .and_then(|m| router.nh(m.nh?))
            {
                get_nexthop(out, router, member, ingress, None);
            }
        }
        _ => {}
    }
}

/// `flow_get_route` and the lines `flow_dump_entry` prints for it: the
/// route the address matches (without one, the address as a /32 and nh 0,
/// whose Discard type prints nothing, not even the line's end), its
/// nexthop, and with a stitched MAC the bridge entry of that MAC.
fn get_route(
    out: &mut String,
    router: &VRouter,
    (title, mac_label): (&str, &str),
    vrf: VrfId,
    addr: IpAddr,
    (ingress, ecmp): (bool, Option<u8>),
) {
    let tables = router.vrf(vrf);
    let found = tables.and_then(|t| match addr {
        IpAddr::V4(a) => t.inet4.longest_match(a).map(|(p, r)| (IpNet::V4(p), *r)),
        IpAddr::V6(a) => t.inet6.longest_match(a).map(|(p, r)| (IpNet::V6(p), *r)),
    });
    let (prefix, route) = match found {
        Some((p, r)) => (p, Some(r)),
        // `mtrie_lookup` answers the default nexthop (nh 0) and leaves the
        // request's /32 (or /128) as it was.
        None => (IpNet::from(addr), None),
    };
    field(out, title);
    let _ = writeln!(out, "VRF: {vrf}");
    spaces(out);
    out.push_str("Layer 3 Route Information\n");
    spaces(out);
    let _ = writeln!(
        out,
        "Matching Route: {}/{:<2}",
        prefix.addr(),
        prefix.prefix_len()
    );
    let nh = route.map_or(NhId::DISCARD, |r| r.nh);
    if let Some(n) = router.nh(nh) {
        spaces(out);
        get_nexthop(out, router, n, ingress, ecmp);
    }
    if let Some((mac, _)) = route.and_then(|r| r.stitched_mac) {
        out.push('\n');
        spaces(out);
        out.push_str("Layer 2 Route Information\n");
        spaces(out);
        let _ = writeln!(out, "{mac_label}: {}", ether_ntoa(mac));
        if let Some(n) = tables
            .and_then(|t| t.bridge.get(&mac))
            .and_then(|b| router.nh(b.nh))
        {
            spaces(out);
            get_nexthop(out, router, n, ingress, ecmp);
        }
    }
}

/// The counters `flow_sum_drops_stats` adds up: the flow drops.
const FLOW_BLOCK_DROPS: [DropReason; 9] = [
    DropReason::FlowQueueLimitExceeded,
    DropReason::FlowNoMemory,
    DropReason::FlowInvalidProtocol,
    DropReason::FlowNatNoRflow,
    DropReason::FlowActionDrop,
    DropReason::FlowActionInvalid,
    DropReason::FlowUnusable,
    DropReason::FlowTableFull,
    DropReason::NewFlows,
];

/// The counters `vr_sum_drop_stats` leaves out of `System Wide Packet
/// Drops` (newer than it, or not drops).
const NOT_SYSTEM_WIDE: [DropReason; 7] = [
    DropReason::FlowEvict,
    DropReason::LeafToLeaf,
    DropReason::BmacIsidMismatch,
    DropReason::InvalidHbsPacket,
    DropReason::NoFragEntry,
    DropReason::IcmpError,
    DropReason::CloneFail,
];

/// `flow --get N` (`flow_dump_entry` in `utils/flow.c`): one flow in full,
/// its expected source, the routes its source and destination match, its
/// state and the router's drop totals. An evicted entry is the line `flow`
/// prints for it; an index whose entry is not active is an error, as `flow`
/// says `Flow index N is not active`.
pub fn flow_get(router: &VRouter, index: u32) -> Result<String, DataplaneError> {
    use crate::flow::FlowFlags;
    let t = router.flows();
    if t.get(index).is_none() && t.evicted(index).is_some() {
        // `fill_flow_req` without `--show-evicted`.
        return Ok(format!(
            "Flow at index {index} is EVICTED. Use --show-evicted\n"
        ));
    }
    let e = t.get(index).ok_or(DataplaneError::NoSuchFlow { index })?;
    let rfe = e
        .rflow
        .filter(|_| e.flags.contains(FlowFlags::RFLOW_VALID))
        .and_then(|r| t.get(r).map(|x| (r, x)));
    let mut out = String::new();
    field(&mut out, "Flow Index");
    let _ = writeln!(out, "{index}");
    field(&mut out, "Flow Generation ID");
    let _ = writeln!(out, "{}", e.generation);
    field(&mut out, "Reverse Flow Index");
    match e.rflow.filter(|_| e.flags.contains(FlowFlags::RFLOW_VALID)) {
        Some(r) => {
            let _ = writeln!(out, "{r}");
        }
        None => out.push_str("-1\n"),
    }
    field(&mut out, "VRF");
    let _ = writeln!(out, "{}", e.vrf);
    let dvrf = if e.flags.contains(FlowFlags::VRFT) {
        e.dvrf
    } else {
        e.vrf
    };
    field(&mut out, "Destination VRF");
    let _ = writeln!(out, "{dvrf}");
    field(&mut out, "Flow Source");
    let _ = writeln!(out, "[{}]:{:<5}", e.key.src, e.key.sport);
    field(&mut out, "Flow Destination");
    let _ = writeln!(out, "[{}]:{:<5}", e.key.dst, e.key.dport);
    field(&mut out, "Flow Protocol");
    let _ = writeln!(out, "{}", proto_string(e.key.proto));
    if let Some(u) = e.underlay_ecmp_index {
        field(&mut out, "Flow Underlay ECMP Index");
        let _ = writeln!(out, "{u}");
    }
    flow_get_action(&mut out, e, rfe);
    flow_get_sources(&mut out, router, e, rfe, dvrf);
    flow_get_state(&mut out, router, e);
    Ok(out)
}

/// `Flow Action` and, for NAT, the addresses and ports after it.
fn flow_get_action(
    out: &mut String,
    e: &crate::flow::FlowEntry,
    rfe: Option<(u32, &crate::flow::FlowEntry)>,
) {
    use crate::flow::{FlowAction, FlowFlags};
    field(out, "Flow Action");
    match e.action {
        FlowAction::Hold => out.push_str("HOLD"),
        FlowAction::Forward => out.push_str("FORWARD"),
        FlowAction::Drop => {
            out.push_str("DROP:");
            spaces(out);
            match e.drop_reason.name() {
                Some(n) => out.push_str(n),
                None => out.push_str("Unknown"),
            }
        }
        FlowAction::Nat => {
            out.push_str("NAT: ");
            for (f, name) in [
                (FlowFlags::SNAT, "SourceNAT, "),
                (FlowFlags::SPAT, "SourcePortNAT, "),
                (FlowFlags::DNAT, "DestinationNAT, "),
                (FlowFlags::DPAT, "DestinationPortNAT, "),
                (FlowFlags::LINK_LOCAL, "LinkLocalNAT, "),
            ] {
                if e.flags.contains(f) {
                    out.push_str(name);
                }
            }
        }
    }
    out.push('\n');
    if e.action == FlowAction::Nat {
        spaces(out);
        out.push_str("NAT(Source, Destination): ");
        if let Some((_, r)) = rfe {
            let has = |f| e.flags.contains(f);
            let src = if has(FlowFlags::SNAT) {
                r.key.dst
            } else {
                e.key.src
            };
            let sport = if has(FlowFlags::SPAT) {
                r.key.dport
            } else {
                e.key.sport
            };
            let dst = if has(FlowFlags::DNAT) {
                r.key.src
            } else {
                e.key.dst
            };
            let dport = if has(FlowFlags::DPAT) {
                r.key.sport
            } else {
                e.key.dport
            };
            let _ = write!(out, "[{src}]:{sport}, [{dst}]:{dport}");
        }
        out.push('\n');
    }
}

/// The expected source, then the routes the source and destination match.
fn flow_get_sources(
    out: &mut String,
    router: &VRouter,
    e: &crate::flow::FlowEntry,
    rfe: Option<(u32, &crate::flow::FlowEntry)>,
    dvrf: VrfId,
) {
    use crate::flow::{FlowAction, FlowFlags};
    // With a composite S(nh), the member the reverse flow took is marked
    // (`flow_get_source`).
    let ecmp = rfe.and_then(|(_, r)| r.ecmp_index).filter(|_| {
        router
            .nh(e.src_nh)
            .is_some_and(|n| matches!(n.config.kind, NhKind::Composite { .. }))
    });
    if let Some(src_nh) = router.nh(e.src_nh) {
        field(out, "Expected Source");
        get_nexthop(out, router, src_nh, true, ecmp);
    }
    // A NAT flow without its reverse flow shows no routes.
    if e.action != FlowAction::Nat || rfe.is_some() {
        get_route(
            out,
            router,
            ("Source Information", "SourceMAC"),
            e.vrf,
            e.key.src,
            (true, ecmp),
        );
        let dst = match rfe {
            Some((_, r)) if e.flags.contains(FlowFlags::DNAT) => r.key.src,
            _ => e.key.dst,
        };
        get_route(
            out,
            router,
            ("Destination Information", "DestinationMAC"),
            dvrf,
            dst,
            (false, ecmp),
        );
    }
}

/// Flags, TCP state, the UDP source port, statistics and the drop totals.
fn flow_get_state(out: &mut String, router: &VRouter, e: &crate::flow::FlowEntry) {
    use crate::flow::{FlowFlags, TcpFlags};
    out.push('\n');
    field(out, "Flow Flags");
    for (f, name) in [
        (FlowFlags::EVICTED, "EVICTED "),
        (FlowFlags::EVICT_CANDIDATE, "EVICT CANDIDATE "),
        (FlowFlags::NEW_FLOW, "NEW "),
        (FlowFlags::MODIFIED, "MODIFIED "),
        (FlowFlags::MIRROR, "MIRROR "),
    ] {
        if e.flags.contains(f) {
            out.push_str(name);
        }
    }
    out.push('\n');
    if e.key.proto == 6 {
        field(out, "TCP FLAGS");
        for (f, name) in [
            (TcpFlags::SYN, "SYN, "),
            (TcpFlags::SYN_R, "SYN(REVERSE), "),
            (TcpFlags::ESTABLISHED, "ESTABLISHED, "),
            (TcpFlags::ESTABLISHED_R, "ESTABLISHED(REVERSE), "),
            (TcpFlags::FIN, "FIN, "),
            (TcpFlags::FIN_R, "FIN(REVERSE), "),
            (TcpFlags::RST, "RESET, "),
            (TcpFlags::HALF_CLOSE, "HALFCLOSED, "),
            (TcpFlags::DEAD, "DEAD, "),
        ] {
            if e.tcp.contains(f) {
                out.push_str(name);
            }
        }
        out.push('\n');
    }
    field(out, "UDP Source Port");
    let _ = writeln!(out, "{}", e.udp_sport);
    out.push('\n');
    field(out, "Flow Statistics");
    let _ = writeln!(out, "{}/{}", e.packets, e.bytes);
    let drops = router.drops();
    let system_wide: u64 = drops
        .non_zero()
        .filter(|(r, _)| !NOT_SYSTEM_WIDE.contains(r))
        .map(|(_, n)| n)
        .sum();
    field(out, "System Wide Packet Drops");
    let _ = writeln!(out, "{system_wide}");
    spaces(out);
    let _ = writeln!(
        out,
        "Reverse Path Failures: {}",
        drops.get(DropReason::InvalidSource)
    );
    spaces(out);
    let _ = writeln!(
        out,
        "Flow Block Drops: {}",
        FLOW_BLOCK_DROPS.iter().map(|r| drops.get(*r)).sum::<u64>()
    );
}
