//! Programming a vRouter incrementally: the difference between the state it
//! holds and the state it must hold, applied in an order the vRouter accepts
//! (what is referred to before what refers to it; deletions the other way).

use core::fmt;
use std::collections::BTreeMap;

use ipnet::Ipv4Net;
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
    /// An IPv4 route.
    Route(VrfId, Ipv4Net),
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
pub fn apply(
    node: &str,
    router: &mut VRouter,
    from: &NodeState,
    to: &NodeState,
) -> Result<Vec<Change>, DataplaneError> {
    let mut out = Vec::new();
    let mut log = |op, object| {
        out.push(Change {
            node: node.to_owned(),
            op,
            object,
        });
    };

    let (vif_add, vif_change, vif_del) = diff(&from.vifs, &to.vifs);
    for (id, v) in vif_add {
        router.add_vif(v.clone())?;
        log(Op::Add, Object::Vif(id));
    }
    for (id, v) in vif_change {
        router.change_vif(v.clone())?;
        log(Op::Change, Object::Vif(id));
    }
    let (nh_add, nh_change, nh_del) = diff(&from.nhs, &to.nhs);
    for (op, list) in [(Op::Add, nh_add), (Op::Change, nh_change)] {
        for (id, n) in list {
            router.add_nh(n.clone())?;
            log(op, Object::Nh(id));
        }
    }
    let (label_add, label_change, label_del) = diff(&from.labels, &to.labels);
    for (l, nh) in label_change.iter().chain(&label_add) {
        if from.labels.contains_key(l) {
            router.delete_label(*l)?;
        }
        router.add_label(*l, **nh)?;
    }
    label_add
        .iter()
        .for_each(|(l, _)| log(Op::Add, Object::Label(*l)));
    label_change
        .iter()
        .for_each(|(l, _)| log(Op::Change, Object::Label(*l)));
    let (vnid_add, vnid_change, vnid_del) = diff(&from.vnids, &to.vnids);
    for (v, nh) in vnid_change.iter().chain(&vnid_add) {
        if from.vnids.contains_key(v) {
            router.delete_vnid(vni(*v)?)?;
        }
        router.add_vnid(vni(*v)?, **nh)?;
    }
    vnid_add
        .iter()
        .for_each(|(v, _)| log(Op::Add, Object::Vnid(*v)));
    vnid_change
        .iter()
        .for_each(|(v, _)| log(Op::Change, Object::Vnid(*v)));
    let (route_add, route_change, route_del) = diff(&from.routes, &to.routes);
    for (op, list) in [(Op::Add, route_add), (Op::Change, route_change)] {
        for ((vrf, prefix), r) in list {
            router.add_route4(vrf, prefix, *r)?;
            log(op, Object::Route(vrf, prefix));
        }
    }
    let (br_add, br_change, br_del) = diff(&from.bridge, &to.bridge);
    for (op, list) in [(Op::Add, br_add), (Op::Change, br_change)] {
        for ((vrf, m), e) in list {
            router.add_bridge(vrf, mac(m), *e)?;
            log(op, Object::Bridge(vrf, mac(m)));
        }
    }
    for (vrf, on) in &to.rpf {
        if from.rpf.get(vrf) != Some(on) {
            router.set_rpf(*vrf, *on);
            log(Op::Change, Object::Rpf(*vrf, *on));
        }
    }

    for (vrf, prefix) in route_del {
        router.delete_route4(vrf, prefix)?;
        log(Op::Delete, Object::Route(vrf, prefix));
    }
    for (vrf, m) in br_del {
        router.delete_bridge(vrf, mac(m))?;
        log(Op::Delete, Object::Bridge(vrf, mac(m)));
    }
    for l in label_del {
        router.delete_label(l)?;
        log(Op::Delete, Object::Label(l));
    }
    for v in vnid_del {
        router.delete_vnid(vni(v)?)?;
        log(Op::Delete, Object::Vnid(v));
    }
    for id in nh_del {
        router.delete_nh(id)?;
        log(Op::Delete, Object::Nh(id));
    }
    for id in vif_del {
        router.delete_vif(id)?;
        log(Op::Delete, Object::Vif(id));
    }
    Ok(out)
}
