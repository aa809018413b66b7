//! Programming a vRouter incrementally: the difference between the state it
//! holds and the state it must hold, applied in an order the vRouter accepts
//! (what is referred to before what refers to it; deletions the other way).

use core::fmt;
use std::collections::BTreeMap;

use ipnet::IpNet;
use vrsim_dataplane::nexthop::{NexthopConfig, NhKind};
use vrsim_dataplane::route::{BridgeEntry, Route};
use vrsim_dataplane::vif::VifConfig;
use vrsim_dataplane::{DataplaneError, NhId, VRouter, VifId, VrfId};
use vrsim_wire::{MacAddr, MplsLabel, Vni};

use crate::agent::NodeState;

/// What a programming call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Added.
    Add,
    /// Changed in place.
    Change,
    /// Deleted.
    Delete,
}

/// The object a programming call touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Object {
    /// A vif.
    Vif(VifId),
    /// A nexthop.
    Nh(NhId),
    /// An MPLS label.
    Label(MplsLabel),
    /// A VXLAN VNID.
    Vnid(u32),
    /// An IPv4 or IPv6 route.
    Route(VrfId, IpNet),
    /// A bridge entry.
    Bridge(VrfId, MacAddr),
    /// A VRF's RPF setting.
    Rpf(VrfId, bool),
}

/// One programming call on one compute node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Change {
    /// The compute node.
    pub node: String,
    /// What was done.
    pub op: Op,
    /// To what.
    pub object: Object,
}

impl fmt::Display for Change {
    /// `compute01: delete route 192.168.100.0/26 in vrf 1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            Op::Add => "add",
            Op::Change => "change",
            Op::Delete => "delete",
        };
        write!(f, "{}: {op} ", self.node)?;
        match self.object {
            Object::Vif(v) => write!(f, "vif {v}"),
            Object::Nh(n) => write!(f, "nh {n}"),
            Object::Label(l) => write!(f, "label {l}"),
            Object::Vnid(v) => write!(f, "vnid {v}"),
            Object::Route(vrf, p) => write!(f, "route {p} in vrf {vrf}"),
            Object::Bridge(vrf, m) => write!(f, "bridge entry {m} in vrf {vrf}"),
            Object::Rpf(vrf, on) => write!(f, "rpf {} in vrf {vrf}", if on { "on" } else { "off" }),
        }
    }
}

/// Entries to add or change, with their new values.
type Upserts<'a, K, V> = Vec<(K, &'a V)>;

/// Added, changed and deleted keys between two maps, in key order.
fn diff<'a, K: Ord + Copy, V: PartialEq>(
    from: &'a BTreeMap<K, V>,
    to: &'a BTreeMap<K, V>,
) -> (Upserts<'a, K, V>, Upserts<'a, K, V>, Vec<K>) {
    let added = to
        .iter()
        .filter(|(k, _)| !from.contains_key(k))
        .map(|(k, v)| (*k, v))
        .collect();
    let changed = to
        .iter()
        .filter(|(k, v)| from.get(k).is_some_and(|old| old != *v))
        .map(|(k, v)| (*k, v))
        .collect();
    let deleted = from
        .keys()
        .filter(|k| !to.contains_key(k))
        .copied()
        .collect();
    (added, changed, deleted)
}

fn mac(octets: [u8; 6]) -> MacAddr {
    let [a, b, c, d, e, f] = octets;
    MacAddr::new(a, b, c, d, e, f)
}

fn vni(v: u32) -> Result<Vni, DataplaneError> {
    // The agent only programs VNIDs from validated network configuration.
    Vni::new(v).ok_or(DataplaneError::NoSuchVnid { vni: Vni::MAX })
}

/// Take `router` from `from` to `to`, returning the calls made. `from` must be
/// what the router holds (as left by an earlier call, or empty for a new one).
///
/// Objects are added and changed first, those others depend on before them
/// (vifs, nexthops, labels, VNIDs, routes, bridge entries, RPF); then what
/// is gone is deleted, users before what they use (routes, bridge entries,
/// labels, VNIDs, then nexthops, then vifs), so that no call names a
/// missing object.
pub fn apply(
    node: &str,
    router: &mut VRouter,
    from: &NodeState,
    to: &NodeState,
) -> Result<Vec<Change>, DataplaneError> {
    let mut p = Programmer {
        node,
        router,
        out: Some(Vec::new()),
        made: 0,
    };
    p.run(from, to)?;
    Ok(p.out.unwrap_or_default())
}

/// [`apply`] without a record of the calls, returning how many were made:
/// loading a large fabric makes tens of millions that nobody reads.
pub(crate) fn apply_unrecorded(
    router: &mut VRouter,
    from: &NodeState,
    to: &NodeState,
) -> Result<usize, DataplaneError> {
    let mut p = Programmer {
        node: "",
        router,
        out: None,
        made: 0,
    };
    p.run(from, to)?;
    Ok(p.made)
}

impl Programmer<'_> {
    fn run(&mut self, from: &NodeState, to: &NodeState) -> Result<(), DataplaneError> {
        let gone = Gone {
            vifs: self.vifs(&from.vifs, &to.vifs)?,
            nhs: self.nhs(&from.nhs, &to.nhs)?,
            labels: self.labels(&from.labels, &to.labels)?,
            vnids: self.vnids(&from.vnids, &to.vnids)?,
            routes: self.routes(&from.routes, &to.routes)?,
            bridge: self.bridge(&from.bridge, &to.bridge)?,
        };
        self.rpf(&from.rpf, &to.rpf);
        self.delete(gone)
    }
}

/// The objects to delete once the additions and changes are made.
struct Gone {
    vifs: Vec<VifId>,
    nhs: Vec<NhId>,
    labels: Vec<MplsLabel>,
    vnids: Vec<u32>,
    routes: Vec<(VrfId, IpNet)>,
    bridge: Vec<(VrfId, [u8; 6])>,
}

/// One node's programming session: the router and the calls made so far
/// (recorded, or only counted).
struct Programmer<'a> {
    node: &'a str,
    router: &'a mut VRouter,
    out: Option<Vec<Change>>,
    made: usize,
}

impl Programmer<'_> {
    fn log(&mut self, op: Op, object: Object) {
        self.made += 1;
        if let Some(out) = &mut self.out {
            out.push(Change {
                node: self.node.to_owned(),
                op,
                object,
            });
        }
    }

    fn vifs(
        &mut self,
        from: &BTreeMap<VifId, VifConfig>,
        to: &BTreeMap<VifId, VifConfig>,
    ) -> Result<Vec<VifId>, DataplaneError> {
        let (add, change, del) = diff(from, to);
        for (id, v) in add {
            self.router.add_vif(v.clone())?;
            self.log(Op::Add, Object::Vif(id));
        }
        for (id, v) in change {
            self.router.change_vif(v.clone())?;
            self.log(Op::Change, Object::Vif(id));
        }
        Ok(del)
    }

    fn nhs(
        &mut self,
        from: &BTreeMap<NhId, NexthopConfig>,
        to: &BTreeMap<NhId, NexthopConfig>,
    ) -> Result<Vec<NhId>, DataplaneError> {
        let (add, change, mut del) = diff(from, to);
        for (op, list) in [(Op::Add, add), (Op::Change, change)] {
            for (id, n) in list {
                self.router.add_nh(n.clone())?;
                self.log(op, Object::Nh(id));
            }
        }
        // Users before what they use among nexthops too: a composite
        // before its members (stable, so each group stays in id order).
        del.sort_by_key(|id| {
            !from
                .get(id)
                .is_some_and(|n| matches!(n.kind, NhKind::Composite { .. }))
        });
        Ok(del)
    }

    /// Labels are replaced by deleting the old mapping first.
    fn labels(
        &mut self,
        from: &BTreeMap<MplsLabel, NhId>,
        to: &BTreeMap<MplsLabel, NhId>,
    ) -> Result<Vec<MplsLabel>, DataplaneError> {
        let (add, change, del) = diff(from, to);
        for (l, nh) in change.iter().chain(&add) {
            if from.contains_key(l) {
                self.router.delete_label(*l)?;
            }
            self.router.add_label(*l, **nh)?;
        }
        add.iter()
            .for_each(|(l, _)| self.log(Op::Add, Object::Label(*l)));
        change
            .iter()
            .for_each(|(l, _)| self.log(Op::Change, Object::Label(*l)));
        Ok(del)
    }

    /// VNIDs are replaced by deleting the old mapping first.
    fn vnids(
        &mut self,
        from: &BTreeMap<u32, NhId>,
        to: &BTreeMap<u32, NhId>,
    ) -> Result<Vec<u32>, DataplaneError> {
        let (add, change, del) = diff(from, to);
        for (v, nh) in change.iter().chain(&add) {
            if from.contains_key(v) {
                self.router.delete_vnid(vni(*v)?)?;
            }
            self.router.add_vnid(vni(*v)?, **nh)?;
        }
        add.iter()
            .for_each(|(v, _)| self.log(Op::Add, Object::Vnid(*v)));
        change
            .iter()
            .for_each(|(v, _)| self.log(Op::Change, Object::Vnid(*v)));
        Ok(del)
    }

    fn routes(
        &mut self,
        from: &BTreeMap<(VrfId, IpNet), Route>,
        to: &BTreeMap<(VrfId, IpNet), Route>,
    ) -> Result<Vec<(VrfId, IpNet)>, DataplaneError> {
        let (add, change, del) = diff(from, to);
        // Additions, then changes, each list (in key order) handed to the
        // vRouter a VRF at a time: a new node's tables are bulk-built.
        for (op, list) in [(Op::Add, add), (Op::Change, change)] {
            for batch in list.chunk_by(|a, b| a.0.0 == b.0.0) {
                let Some(&((vrf, _), _)) = batch.first() else {
                    continue;
                };
                let routes = batch.iter().map(|&((_, p), r)| (p, *r)).collect();
                self.router.add_routes(vrf, routes)?;
                for &((vrf, prefix), _) in batch {
                    self.log(op, Object::Route(vrf, prefix));
                }
            }
        }
        Ok(del)
    }

    fn bridge(
        &mut self,
        from: &BTreeMap<(VrfId, [u8; 6]), BridgeEntry>,
        to: &BTreeMap<(VrfId, [u8; 6]), BridgeEntry>,
    ) -> Result<Vec<(VrfId, [u8; 6])>, DataplaneError> {
        let (add, change, del) = diff(from, to);
        for (op, list) in [(Op::Add, add), (Op::Change, change)] {
            for ((vrf, m), e) in list {
                self.router.add_bridge(vrf, mac(m), *e)?;
                self.log(op, Object::Bridge(vrf, mac(m)));
            }
        }
        Ok(del)
    }

    fn rpf(&mut self, from: &BTreeMap<VrfId, bool>, to: &BTreeMap<VrfId, bool>) {
        for (vrf, on) in to {
            if from.get(vrf) != Some(on) {
                self.router.set_rpf(*vrf, *on);
                self.log(Op::Change, Object::Rpf(*vrf, *on));
            }
        }
    }

    /// Delete what is gone, users before what they use.
    fn delete(&mut self, gone: Gone) -> Result<(), DataplaneError> {
        for (vrf, prefix) in gone.routes {
            match prefix {
                IpNet::V4(p) => self.router.delete_route4(vrf, p)?,
                IpNet::V6(p) => self.router.delete_route6(vrf, p)?,
            };
            self.log(Op::Delete, Object::Route(vrf, prefix));
        }
        for (vrf, m) in gone.bridge {
            self.router.delete_bridge(vrf, mac(m))?;
            self.log(Op::Delete, Object::Bridge(vrf, mac(m)));
        }
        for l in gone.labels {
            self.router.delete_label(l)?;
            self.log(Op::Delete, Object::Label(l));
        }
        for v in gone.vnids {
            self.router.delete_vnid(vni(v)?)?;
            self.log(Op::Delete, Object::Vnid(v));
        }
        for id in gone.nhs {
            self.router.delete_nh(id)?;
            self.log(Op::Delete, Object::Nh(id));
        }
        for id in gone.vifs {
            self.router.delete_vif(id)?;
            self.log(Op::Delete, Object::Vif(id));
        }
        Ok(())
    }
}
