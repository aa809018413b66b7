//! [`VRouter`]: one compute node's forwarding state and the configuration API
//! that programs it, validating every reference (nothing is half-applied).

use hashbrown::HashMap;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use vrsim_wire::{MacAddr, MplsLabel, Vni};

use crate::drop::DropCounters;
use crate::error::DataplaneError;
use crate::flow::FlowTable;
use crate::ids::{NhId, VifId, VrfId};
use crate::nexthop::{NexthopConfig, NhKind, discard_nh};
use crate::route::{BridgeEntry, Route, RouteFlags, Vrf};
use crate::vif::{Vif, VifConfig, VifType};

/// The default size of the MPLS label table (`VR_DEF_LABELS`).
pub const DEFAULT_LABELS: u32 = 5120;

/// A nexthop and the number of objects that refer to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nexthop {
    /// Its configuration.
    pub config: NexthopConfig,
    /// Routes, labels, VNIDs, bridge entries and composites that name it.
    pub refs: u32,
}

impl Nexthop {
    /// The id.
    pub fn id(&self) -> NhId {
        self.config.id
    }

    /// The reference count `nh` prints: the references plus the one the
    /// agent holds while the nexthop exists. (The real vRouter counts mtrie
    /// slots; this count is vrsim's own.)
    pub fn ref_cnt(&self) -> u32 {
        self.refs + 1
    }
}

/// One vRouter: vifs, nexthops, the MPLS ILM, the VXLAN table, VRFs and the
/// global drop counters.
#[derive(Debug, Clone)]
pub struct VRouter {
    pub(crate) vifs: Vec<Option<Vif>>,
    pub(crate) nhs: Vec<Option<Nexthop>>,
    pub(crate) ilm: Vec<Option<NhId>>,
    pub(crate) vxlan: HashMap<Vni, NhId>,
    pub(crate) vrfs: Vec<Vrf>,
    pub(crate) drops: DropCounters,
    /// The outer IPv4 ID counter of UDP tunnels (`vr_generate_unique_ip_id`).
    pub(crate) ip_id: u16,
    /// The flow table (boxed, so that a packet's trip borrows it cheaply).
    pub(crate) flows: Option<Box<FlowTable>>,
    /// `vr_uncond_close_flow_on_tcp_rst`: close a flow on any TCP RST, not
    /// only one whose sequence number RFC 5961 §3.2 accepts (off by default).
    pub(crate) uncond_close_on_tcp_rst: bool,
    /// Whether IPv6 from the fabric is handled rather than cross-connected
    /// to vhost (`vr_ipv6_underlay_enabled`): set for good once a vhost vif
    /// is given an IPv6 address (`vr_interface_add`).
    pub(crate) ipv6_underlay: bool,
}

impl Default for VRouter {
    fn default() -> Self {
        VRouter::new()
    }
}

/// Add `items` to one family's table of a VRF, recording per route the
/// nexthop now referred to and the one no longer: an empty table is built
/// whole (a vRouter's first programming adds a route per VM of the fabric
/// at once), a full one takes them one by one.
macro_rules! upsert {
    ($table:expr, $items:expr, $refs:expr) => {
        if $table.is_empty() {
            let given: Vec<NhId> = $items.iter().map(|(_, r)| r.nh).collect();
            $table.insert_all($items);
            // A prefix given twice keeps its last route only.
            if $table.len() == given.len() {
                $refs.extend(given.into_iter().map(|nh| (nh, None)));
            } else {
                $refs.extend($table.iter().map(|(_, r)| (r.nh, None)));
            }
        } else {
            for (p, r) in $items {
                $refs.push((r.nh, $table.insert(p, r).map(|old| old.nh)));
            }
        }
    };
}

impl VRouter {
    /// A vRouter holding only nh 0 (discard) and the default label table size.
    pub fn new() -> Self {
        VRouter::with_label_table(DEFAULT_LABELS)
    }

    /// A vRouter whose label table holds `labels` labels (the `vr_mpls_labels` parameter).
    pub fn with_label_table(labels: u32) -> Self {
        let ilm_len = usize::try_from(labels).unwrap_or(usize::MAX).min(1 << 20);
        VRouter {
            vifs: Vec::new(),
            nhs: vec![Some(Nexthop {
                config: discard_nh(),
                refs: 0,
            })],
            ilm: vec![None; ilm_len],
            vxlan: HashMap::new(),
            vrfs: Vec::new(),
            drops: DropCounters::default(),
            ip_id: 0,
            flows: Some(Box::default()),
            uncond_close_on_tcp_rst: false,
            ipv6_underlay: false,
        }
    }

    // ---- vifs ----

    /// Add a vif.
    pub fn add_vif(&mut self, config: VifConfig) -> Result<(), DataplaneError> {
        let id = config.id;
        if self.vif(id).is_some() {
            return Err(DataplaneError::VifExists { vif: id });
        }
        self.ipv6_underlay |= enables_ipv6_underlay(&config);
        set(&mut self.vifs, id.index(), Vif::new(config));
        Ok(())
    }

    /// Whether IPv6 from the fabric is routed and its neighbour discovery
    /// handled, rather than cross-connected to vhost: once a vhost vif has
    /// had an IPv6 address, as in the vRouter.
    pub fn ipv6_underlay_enabled(&self) -> bool {
        self.ipv6_underlay
    }

    /// Change an existing vif's configuration (`vif --add` on an existing
    /// index), keeping its counters.
    pub fn change_vif(&mut self, config: VifConfig) -> Result<(), DataplaneError> {
        let id = config.id;
        let vif = self
            .vif_mut(id)
            .ok_or(DataplaneError::NoSuchVif { vif: id })?;
        let stats = vif.stats;
        let drops = vif.drops;
        let v6 = enables_ipv6_underlay(&config);
        *vif = Vif::new(config);
        vif.stats = stats;
        vif.drops = drops;
        self.ipv6_underlay |= v6;
        Ok(())
    }

    /// Delete a vif no nexthop sends out of.
    pub fn delete_vif(&mut self, id: VifId) -> Result<Vif, DataplaneError> {
        self.vif(id).ok_or(DataplaneError::NoSuchVif { vif: id })?;
        if let Some(nh) = self.nexthops().find(|n| n.config.kind.oif() == Some(id)) {
            return Err(DataplaneError::VifInUse {
                vif: id,
                nh: nh.id(),
            });
        }
        self.vifs[id.index()]
            .take()
            .ok_or(DataplaneError::NoSuchVif { vif: id })
    }

    /// The vif with this index.
    #[inline]
    pub fn vif(&self, id: VifId) -> Option<&Vif> {
        self.vifs.get(id.index()).and_then(Option::as_ref)
    }

    #[inline]
    pub(crate) fn vif_mut(&mut self, id: VifId) -> Option<&mut Vif> {
        self.vifs.get_mut(id.index()).and_then(Option::as_mut)
    }

    /// Every vif, in index order.
    pub fn vifs(&self) -> impl Iterator<Item = &Vif> {
        self.vifs.iter().flatten()
    }

    // ---- nexthops ----

    /// Add a nexthop, or replace one (`nh --create` on an existing id). Its
    /// outgoing vif and members must exist.
    pub fn add_nh(&mut self, config: NexthopConfig) -> Result<(), DataplaneError> {
        let id = config.id;
        if id == NhId::DISCARD {
            return Err(DataplaneError::DiscardNhFixed);
        }
        if let Some(vif) = config.kind.oif()
            && self.vif(vif).is_none()
        {
            return Err(DataplaneError::NhOifMissing { nh: id, vif });
        }
        if let NhKind::Composite { members } = &config.kind
            && members.is_empty()
        {
            return Err(DataplaneError::EmptyComposite { nh: id });
        }
        for member in config.referenced_nhs() {
            if member == id || self.nh(member).is_none() {
                return Err(DataplaneError::NhMemberMissing { nh: id, member });
            }
        }
        if let Some(via) = config.referenced_nhs().find(|&m| self.reaches(m, id)) {
            return Err(DataplaneError::NhLoop { nh: id, via });
        }
        let refs = match self.nh_slot(id).take() {
            Some(old) => {
                old.config.referenced_nhs().for_each(|m| self.unref(m));
                old.refs
            }
            None => 0,
        };
        config.referenced_nhs().for_each(|m| self.add_ref(m));
        set(&mut self.nhs, id.index(), Nexthop { config, refs });
        Ok(())
    }

    /// Whether following composite members from `from` leads to `target`.
    fn reaches(&self, from: NhId, target: NhId) -> bool {
        let mut stack = vec![from];
        let mut seen = Vec::new();
        while let Some(n) = stack.pop() {
            if n == target {
                return true;
            }
            if seen.contains(&n) {
                continue;
            }
            seen.push(n);
            if let Some(nh) = self.nh(n) {
                stack.extend(nh.config.referenced_nhs());
            }
        }
        false
    }

    /// Delete a nexthop nothing refers to.
    pub fn delete_nh(&mut self, id: NhId) -> Result<NexthopConfig, DataplaneError> {
        if id == NhId::DISCARD {
            return Err(DataplaneError::DiscardNhFixed);
        }
        let nh = self.nh(id).ok_or(DataplaneError::NoSuchNh { nh: id })?;
        if nh.refs > 0 {
            return Err(DataplaneError::NhInUse {
                nh: id,
                refs: nh.refs,
            });
        }
        let old = self
            .nh_slot(id)
            .take()
            .ok_or(DataplaneError::NoSuchNh { nh: id })?;
        old.config.referenced_nhs().for_each(|m| self.unref(m));
        Ok(old.config)
    }

    /// The nexthop with this id.
    #[inline]
    pub fn nh(&self, id: NhId) -> Option<&Nexthop> {
        self.nhs.get(id.index()).and_then(Option::as_ref)
    }

    /// Every nexthop, in id order.
    pub fn nexthops(&self) -> impl Iterator<Item = &Nexthop> {
        self.nhs.iter().flatten()
    }

    fn nh_slot(&mut self, id: NhId) -> &mut Option<Nexthop> {
        if self.nhs.len() <= id.index() {
            self.nhs.resize_with(id.index() + 1, || None);
        }
        &mut self.nhs[id.index()]
    }

    fn add_ref(&mut self, id: NhId) {
        if let Some(Some(nh)) = self.nhs.get_mut(id.index()) {
            nh.refs += 1;
        }
    }

    fn unref(&mut self, id: NhId) {
        if let Some(Some(nh)) = self.nhs.get_mut(id.index()) {
            nh.refs = nh.refs.saturating_sub(1);
        }
    }

    fn require_nh(
        &self,
        id: NhId,
        missing: impl FnOnce() -> DataplaneError,
    ) -> Result<&Nexthop, DataplaneError> {
        self.nh(id).ok_or_else(missing)
    }

    // ---- MPLS ILM ----

    /// Map a label to a nexthop (`mpls --create`).
    pub fn add_label(&mut self, label: MplsLabel, nh: NhId) -> Result<(), DataplaneError> {
        let size = u32::try_from(self.ilm.len()).unwrap_or(u32::MAX);
        let slot = usize::try_from(label.value()).unwrap_or(usize::MAX);
        match self.ilm.get(slot) {
            None => return Err(DataplaneError::LabelOutOfRange { label, size }),
            Some(Some(old)) => return Err(DataplaneError::LabelExists { label, nh: *old }),
            Some(None) => {}
        }
        self.require_nh(nh, || DataplaneError::LabelNhMissing { label, nh })?;
        self.ilm[slot] = Some(nh);
        self.add_ref(nh);
        Ok(())
    }

    /// Remove a label.
    pub fn delete_label(&mut self, label: MplsLabel) -> Result<NhId, DataplaneError> {
        let slot = usize::try_from(label.value()).unwrap_or(usize::MAX);
        let nh = self
            .ilm
            .get_mut(slot)
            .and_then(Option::take)
            .ok_or(DataplaneError::NoSuchLabel { label })?;
        self.unref(nh);
        Ok(nh)
    }

    /// The nexthop a label maps to.
    #[inline]
    pub fn label(&self, label: MplsLabel) -> Option<NhId> {
        let slot = usize::try_from(label.value()).ok()?;
        self.ilm.get(slot).copied().flatten()
    }

    /// Every mapped label with its nexthop, in label order.
    pub fn labels(&self) -> impl Iterator<Item = (u32, NhId)> + '_ {
        (0u32..)
            .zip(&self.ilm)
            .filter_map(|(l, nh)| nh.map(|nh| (l, nh)))
    }

    // ---- VXLAN ----

    /// Map a VNID to a nexthop (`vxlan --create`).
    pub fn add_vnid(&mut self, vni: Vni, nh: NhId) -> Result<(), DataplaneError> {
        if let Some(old) = self.vxlan.get(&vni) {
            return Err(DataplaneError::VnidExists { vni, nh: *old });
        }
        self.require_nh(nh, || DataplaneError::VnidNhMissing { vni, nh })?;
        self.vxlan.insert(vni, nh);
        self.add_ref(nh);
        Ok(())
    }

    /// Remove a VNID.
    pub fn delete_vnid(&mut self, vni: Vni) -> Result<NhId, DataplaneError> {
        let nh = self
            .vxlan
            .remove(&vni)
            .ok_or(DataplaneError::NoSuchVnid { vni })?;
        self.unref(nh);
        Ok(nh)
    }

    /// The nexthop a VNID maps to.
    #[inline]
    pub fn vnid(&self, vni: Vni) -> Option<NhId> {
        self.vxlan.get(&vni).copied()
    }

    /// Every VNID with its nexthop, in VNID order.
    pub fn vnids(&self) -> Vec<(Vni, NhId)> {
        let mut all: Vec<_> = self.vxlan.iter().map(|(v, n)| (*v, *n)).collect();
        all.sort_unstable();
        all
    }

    // ---- routes ----

    /// The VRF with this id, if it holds anything.
    pub fn vrf(&self, id: VrfId) -> Option<&Vrf> {
        self.vrfs.get(id.index()).filter(|v| !v.is_empty())
    }

    /// The route held for exactly `prefix` in `vrf` (host bits ignored), as
    /// `rt --get` answers it: no longest match.
    pub fn route(&self, vrf: VrfId, prefix: IpNet) -> Option<&Route> {
        let v = self.vrfs.get(vrf.index())?;
        match prefix {
            IpNet::V4(p) => v.inet4.get(&p),
            IpNet::V6(p) => v.inet6.get(&p),
        }
    }

    /// Every route, VRF by VRF, IPv4 before IPv6 and each family in the
    /// table's order (address, then length), as `rt --dump` walks them.
    pub fn routes(&self) -> impl Iterator<Item = (VrfId, IpNet, &Route)> {
        self.vrfs.iter().enumerate().flat_map(|(i, v)| {
            // `vrfs` is indexed by VRF id, a `u16`.
            let id = VrfId::from(u16::try_from(i).unwrap_or(u16::MAX));
            let v4 = v.inet4.iter().map(move |(p, r)| (id, IpNet::V4(p), r));
            let v6 = v.inet6.iter().map(move |(p, r)| (id, IpNet::V6(p), r));
            v4.chain(v6)
        })
    }

    /// Every bridge entry, VRF by VRF, in no particular order within a VRF.
    pub fn bridge_entries(&self) -> impl Iterator<Item = (VrfId, MacAddr, &BridgeEntry)> {
        self.vrfs.iter().enumerate().flat_map(|(i, v)| {
            let id = VrfId::from(u16::try_from(i).unwrap_or(u16::MAX));
            v.bridge.iter().map(move |(m, e)| (id, *m, e))
        })
    }

    fn vrf_mut(&mut self, id: VrfId) -> &mut Vrf {
        if self.vrfs.len() <= id.index() {
            self.vrfs.resize_with(id.index() + 1, Vrf::default);
        }
        &mut self.vrfs[id.index()]
    }

    fn check_route(&self, vrf: VrfId, prefix: IpNet, route: &Route) -> Result<(), DataplaneError> {
        let nh = self.require_nh(route.nh, || DataplaneError::RouteNhMissing {
            vrf,
            prefix,
            nh: route.nh,
        })?;
        if matches!(nh.config.kind, NhKind::Tunnel { .. }) && route.label.is_none() {
            return Err(DataplaneError::TunnelRouteWithoutLabel {
                vrf,
                prefix,
                nh: route.nh,
            });
        }
        Ok(())
    }

    /// Add or replace an IPv4 route (`rt -c`). Host bits are cleared; the L flag
    /// follows the label.
    pub fn add_route4(
        &mut self,
        vrf: VrfId,
        prefix: Ipv4Net,
        mut route: Route,
    ) -> Result<Option<Route>, DataplaneError> {
        let prefix = prefix.trunc();
        self.check_route(vrf, IpNet::V4(prefix), &route)?;
        route.flags = label_flag(route);
        let old = self.vrf_mut(vrf).inet4.insert(prefix, route);
        self.swap_refs(old.map(|r| r.nh), route.nh);
        Ok(old)
    }

    /// Add or replace an IPv6 route.
    pub fn add_route6(
        &mut self,
        vrf: VrfId,
        prefix: Ipv6Net,
        mut route: Route,
    ) -> Result<Option<Route>, DataplaneError> {
        let prefix = prefix.trunc();
        self.check_route(vrf, IpNet::V6(prefix), &route)?;
        route.flags = label_flag(route);
        let old = self.vrf_mut(vrf).inet6.insert(prefix, route);
        self.swap_refs(old.map(|r| r.nh), route.nh);
        Ok(old)
    }

    /// Add or replace many routes of one VRF, as [`add_route4`] and
    /// [`add_route6`] would one by one; every route is checked before any
    /// is added. A family whose table is empty is bulk-built (a vRouter's
    /// first programming adds a route per VM of the fabric at once).
    ///
    /// [`add_route4`]: Self::add_route4
    /// [`add_route6`]: Self::add_route6
    pub fn add_routes(
        &mut self,
        vrf: VrfId,
        routes: Vec<(IpNet, Route)>,
    ) -> Result<(), DataplaneError> {
        for (prefix, route) in &routes {
            self.check_route(vrf, prefix.trunc(), route)?;
        }
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for (prefix, mut route) in routes {
            route.flags = label_flag(route);
            match prefix.trunc() {
                IpNet::V4(p) => v4.push((p, route)),
                IpNet::V6(p) => v6.push((p, route)),
            }
        }
        // (the nexthop now referred to, the one no longer), per route.
        let mut refs: Vec<(NhId, Option<NhId>)> = Vec::new();
        let v = self.vrf_mut(vrf);
        upsert!(v.inet4, v4, refs);
        upsert!(v.inet6, v6, refs);
        for (new, old) in refs {
            self.swap_refs(old, new);
        }
        Ok(())
    }

    /// Delete an IPv4 route.
    pub fn delete_route4(&mut self, vrf: VrfId, prefix: Ipv4Net) -> Result<Route, DataplaneError> {
        let prefix = prefix.trunc();
        let old = self
            .vrfs
            .get_mut(vrf.index())
            .and_then(|v| v.inet4.remove(&prefix))
            .ok_or(DataplaneError::NoSuchRoute {
                vrf,
                prefix: IpNet::V4(prefix),
            })?;
        self.unref(old.nh);
        Ok(old)
    }

    /// Delete an IPv6 route.
    pub fn delete_route6(&mut self, vrf: VrfId, prefix: Ipv6Net) -> Result<Route, DataplaneError> {
        let prefix = prefix.trunc();
        let old = self
            .vrfs
            .get_mut(vrf.index())
            .and_then(|v| v.inet6.remove(&prefix))
            .ok_or(DataplaneError::NoSuchRoute {
                vrf,
                prefix: IpNet::V6(prefix),
            })?;
        self.unref(old.nh);
        Ok(old)
    }

    /// Add or replace a bridge entry.
    pub fn add_bridge(
        &mut self,
        vrf: VrfId,
        mac: MacAddr,
        entry: BridgeEntry,
    ) -> Result<Option<BridgeEntry>, DataplaneError> {
        self.require_nh(entry.nh, || DataplaneError::BridgeNhMissing {
            vrf,
            mac: mac.to_string(),
            nh: entry.nh,
        })?;
        let old = self.vrf_mut(vrf).bridge.insert(mac, entry);
        self.swap_refs(old.map(|e| e.nh), entry.nh);
        Ok(old)
    }

    /// Delete a bridge entry.
    pub fn delete_bridge(
        &mut self,
        vrf: VrfId,
        mac: MacAddr,
    ) -> Result<BridgeEntry, DataplaneError> {
        let old = self
            .vrfs
            .get_mut(vrf.index())
            .and_then(|v| v.bridge.remove(&mac))
            .ok_or_else(|| DataplaneError::NoSuchBridgeEntry {
                vrf,
                mac: mac.to_string(),
            })?;
        self.unref(old.nh);
        Ok(old)
    }

    fn swap_refs(&mut self, old: Option<NhId>, new: NhId) {
        self.add_ref(new);
        if let Some(old) = old {
            self.unref(old);
        }
    }

    /// Turn RPF on or off for a VRF (its virtual network's setting).
    pub fn set_rpf(&mut self, vrf: VrfId, on: bool) {
        self.vrf_mut(vrf).rpf = on;
    }

    // ---- counters ----

    /// The global drop counters.
    pub fn drops(&self) -> &DropCounters {
        &self.drops
    }
}

/// The route's flags with L set exactly when it carries a label.
fn label_flag(route: Route) -> RouteFlags {
    let without =
        RouteFlags::from_bits_retain(route.flags.bits() & !RouteFlags::LABEL_VALID.bits());
    if route.label.is_some() {
        without | RouteFlags::LABEL_VALID
    } else {
        without
    }
}

fn set<T>(v: &mut Vec<Option<T>>, index: usize, value: T) {
    if v.len() <= index {
        v.resize_with(index + 1, || None);
    }
    v[index] = Some(value);
}

/// `vr_interface_add`: a vhost vif with an IPv6 address turns IPv6 underlay
/// on (`vr_set_ipv6_underlay_enabled`); nothing turns it off.
fn enables_ipv6_underlay(config: &VifConfig) -> bool {
    config.kind == VifType::Host && config.ip6.is_some_and(|a| !a.is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nexthop::{NhFamily, NhFlags};
    use crate::testing::{self, TAP, VRF, node};

    fn encap_to(oif: VifId, id: u32) -> NexthopConfig {
        NexthopConfig {
            id: testing::nh(id),
            kind: NhKind::Encap {
                oif,
                rewrite: [0; 14],
                encap_family: 0x0800,
            },
            family: NhFamily::Inet,
            flags: NhFlags::VALID,
            vrf: VRF,
        }
    }

    #[test]
    fn a_nexthop_naming_a_missing_vif_is_refused_and_nothing_changes() {
        let mut r = node();
        let before = r.nexthops().count();
        let missing = VifId::new(9).expect("in range");
        let err = r.add_nh(encap_to(missing, 50)).expect_err("no vif 9");
        assert_eq!(err.to_string(), "nh 50 names vif 9, which does not exist");
        assert_eq!(r.nexthops().count(), before);
    }

    #[test]
    fn a_nexthop_in_use_cannot_be_deleted_until_its_route_goes() {
        let mut r = node();
        r.add_nh(encap_to(TAP, 50)).expect("a new nexthop");
        let prefix: Ipv4Net = "198.18.0.0/15".parse().expect("prefix");
        let route = Route {
            nh: testing::nh(50),
            label: None,
            flags: RouteFlags::empty(),
            stitched_mac: None,
        };
        r.add_route4(VRF, prefix, route).expect("route");
        assert_eq!(r.nh(testing::nh(50)).map(Nexthop::ref_cnt), Some(2));
        let err = r.delete_nh(testing::nh(50)).expect_err("in use");
        assert_eq!(err.to_string(), "nh 50 is still referenced 1 times");
        r.delete_route4(VRF, prefix).expect("the route");
        assert!(r.delete_nh(testing::nh(50)).is_ok());
    }

    /// `add_routes` leaves the tables and reference counts that adding the
    /// same routes one by one leaves: into an empty VRF (the bulk build,
    /// with a prefix given twice) and into a full one (replacing routes).
    #[test]
    fn adding_routes_at_once_equals_adding_them_one_by_one() {
        let other = VrfId::from(42);
        let route = |nh: u32| Route {
            nh: testing::nh(nh),
            label: None,
            flags: RouteFlags::empty(),
            stitched_mac: None,
        };
        let p = |s: &str| s.parse::<IpNet>().expect("prefix");
        let first = vec![
            (p("198.18.0.0/15"), route(50)),
            (p("198.18.0.1/32"), route(51)),
            (p("198.18.0.0/15"), route(51)),
            (p("2001:db8::/64"), route(50)),
        ];
        let second = vec![
            (p("198.18.0.1/32"), route(50)),
            (p("10.9.0.0/16"), route(51)),
        ];
        let (mut one, mut all) = (node(), node());
        for r in [&mut one, &mut all] {
            r.add_nh(encap_to(TAP, 50)).expect("nh 50");
            r.add_nh(encap_to(TAP, 51)).expect("nh 51");
        }
        for (prefix, route) in first.iter().chain(&second) {
            match prefix {
                IpNet::V4(p) => one.add_route4(other, *p, *route).map(|_| ()),
                IpNet::V6(p) => one.add_route6(other, *p, *route).map(|_| ()),
            }
            .expect("a route");
        }
        all.add_routes(other, first).expect("routes");
        all.add_routes(other, second).expect("routes");
        let held = |r: &VRouter| {
            r.routes()
                .filter(|&(v, _, _)| v == other)
                .map(|(_, p, r)| (p, *r))
                .collect::<Vec<_>>()
        };
        assert_eq!(held(&all), held(&one));
        assert_eq!(held(&all).len(), 4);
        for nh in [50, 51] {
            let refs = |r: &VRouter| r.nh(testing::nh(nh)).map(Nexthop::ref_cnt);
            assert_eq!(refs(&all), refs(&one), "nh {nh}");
        }
        // A route naming a missing nexthop refuses the whole batch.
        let bad = vec![
            (p("10.10.0.0/16"), route(50)),
            (p("10.11.0.0/16"), route(99)),
        ];
        let err = all.add_routes(other, bad).expect_err("nh 99 is missing");
        assert!(
            matches!(err, DataplaneError::RouteNhMissing { .. }),
            "{err}"
        );
        assert_eq!(held(&all), held(&one));
    }

    #[test]
    fn the_discard_nexthop_is_fixed() {
        let mut r = node();
        assert_eq!(
            r.delete_nh(NhId::DISCARD),
            Err(DataplaneError::DiscardNhFixed)
        );
    }

    #[test]
    fn a_vif_cannot_go_while_a_nexthop_sends_out_of_it() {
        let mut r = node();
        let err = r.delete_vif(TAP).expect_err("nh 10 sends out of it");
        assert!(
            matches!(err, DataplaneError::VifInUse { vif, .. } if vif == TAP),
            "{err}"
        );
    }

    #[test]
    fn labels_beyond_the_table_are_refused() {
        let mut r = VRouter::with_label_table(16);
        let label = MplsLabel::new(16).expect("in range");
        let err = r
            .add_label(label, NhId::DISCARD)
            .expect_err("beyond 16 labels");
        assert_eq!(
            err.to_string(),
            "label 16 is beyond the label table (16 labels)"
        );
    }

    #[test]
    fn changing_a_vif_keeps_its_counters() {
        let mut r = node();
        let frame = testing::from_vm(testing::echo(testing::VM_IP, testing::REMOTE_IP, 64));
        testing::run(&mut r, TAP, &frame);
        let mut config = r.vif(TAP).expect("the tap").config.clone();
        config.mtu = 9000;
        r.change_vif(config).expect("change");
        let tap = r.vif(TAP).expect("the tap");
        assert_eq!((tap.config.mtu, tap.stats.rx_packets), (9000, 1));
    }
}
