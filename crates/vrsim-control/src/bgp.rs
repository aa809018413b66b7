//! BGP paths as the control node holds them, and the decision process that
//! picks the best of several paths for one prefix (RFC 4271 §9.1.2.2, in
//! the order Contrail's `BgpPath::PathCompare` applies it).

use core::cmp::Ordering;
use core::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// The ORIGIN attribute (RFC 4271 §5.1.1); lower is preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Origin {
    /// IGP (`I`).
    #[default]
    Igp,
    /// EGP (`E`).
    Egp,
    /// Incomplete (`?`).
    Incomplete,
}

impl Origin {
    /// The letter Junos and BIRD print after the AS path.
    pub const fn letter(self) -> &'static str {
        match self {
            Origin::Igp => "I",
            Origin::Egp => "E",
            Origin::Incomplete => "?",
        }
    }
}

/// The attributes a BGP speaker sends with a prefix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathAttrs {
    /// NEXT_HOP (IPv4 routes) or MP_REACH_NLRI's global next hop (IPv6
    /// routes, RFC 2545): the address the control node resolves (usually
    /// the VM's own).
    pub next_hop: IpAddr,
    /// AS_PATH as a sequence, nearest AS first.
    pub as_path: Vec<u32>,
    /// ORIGIN.
    pub origin: Origin,
    /// LOCAL_PREF (100 when the peer sends none).
    pub local_pref: u32,
    /// MULTI_EXIT_DISC (0 when absent).
    pub med: u32,
}

impl PathAttrs {
    /// Attributes with the defaults: origin IGP, local preference 100, MED 0.
    pub fn new(next_hop: impl Into<IpAddr>, as_path: Vec<u32>) -> Self {
        PathAttrs {
            next_hop: next_hop.into(),
            as_path,
            origin: Origin::Igp,
            local_pref: 100,
            med: 0,
        }
    }

    /// `65000 I`, as `show route` prints the AS path and origin.
    pub fn as_path_text(&self) -> String {
        let mut s = String::new();
        for asn in &self.as_path {
            s.push_str(&asn.to_string());
            s.push(' ');
        }
        s.push_str(self.origin.letter());
        s
    }
}

/// Where a path came from: one BGPaaS session.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathSource {
    /// The BGPaaS object.
    pub bgpaas: String,
    /// The vRouter address the VM peers with (the network's gateway or DNS address).
    pub peer: Ipv4Addr,
    /// The speaker's router id (its VM port address).
    pub router_id: Ipv4Addr,
    /// Whether the session is eBGP (the VM's AS differs from Contrail's).
    pub ebgp: bool,
}

/// One path for a prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BgpPath {
    /// Who sent it.
    pub source: PathSource,
    /// What it says.
    pub attrs: PathAttrs,
}

/// The step of the decision process that separated two paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Higher LOCAL_PREF.
    LocalPref,
    /// Shorter AS_PATH.
    AsPathLength,
    /// Lower ORIGIN.
    Origin,
    /// Lower MED (compared between paths from the same neighbouring AS).
    Med,
    /// eBGP preferred over iBGP.
    Ebgp,
    /// Lower router id.
    RouterId,
    /// Lower peer address.
    PeerAddress,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Decision::LocalPref => "higher local preference",
            Decision::AsPathLength => "shorter AS path",
            Decision::Origin => "lower origin",
            Decision::Med => "lower MED",
            Decision::Ebgp => "eBGP over iBGP",
            Decision::RouterId => "lower router id",
            Decision::PeerAddress => "lower peer address",
        })
    }
}

/// Compare two paths: `Less` when `a` is better. The decision step is the
/// one that told them apart (`None`: equal in every step). Pairwise, so not
/// transitive across neighbouring ASes (see [`Selection::rank`]).
pub fn compare(a: &BgpPath, b: &BgpPath) -> (Ordering, Option<Decision>) {
    let (x, y) = (&a.attrs, &b.attrs);
    let neighbour_as = |p: &BgpPath| p.attrs.as_path.first().copied();
    let steps = [
        (y.local_pref.cmp(&x.local_pref), Decision::LocalPref),
        (
            x.as_path.len().cmp(&y.as_path.len()),
            Decision::AsPathLength,
        ),
        (x.origin.cmp(&y.origin), Decision::Origin),
        (
            if neighbour_as(a) == neighbour_as(b) {
                x.med.cmp(&y.med)
            } else {
                Ordering::Equal
            },
            Decision::Med,
        ),
        (b.source.ebgp.cmp(&a.source.ebgp), Decision::Ebgp),
        (
            a.source.router_id.cmp(&b.source.router_id),
            Decision::RouterId,
        ),
        (a.source.peer.cmp(&b.source.peer), Decision::PeerAddress),
    ];
    steps
        .into_iter()
        .find(|(o, _)| o.is_ne())
        .map_or((Ordering::Equal, None), |(o, d)| (o, Some(d)))
}

/// The outcome of the decision process for one prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selection {
    /// Every path: the best first, then the others in the order given.
    pub paths: Vec<BgpPath>,
    /// For each path after the first, the step that removed it (`None`:
    /// equal to the best in every step; the first given won).
    pub reasons: Vec<Option<Decision>>,
}

impl Selection {
    /// Run the decision process (RFC 4271 §9.1.2.2) over `paths`: each step
    /// keeps only the paths that are best in it, in order. Elimination rather
    /// than sorting, because comparing MED only between paths from the same
    /// neighbouring AS is not transitive: a pairwise order can cycle, while
    /// elimination gives the same winner whatever the order of the paths
    /// (only exact ties fall back on it). `None` without paths.
    pub fn rank(paths: Vec<BgpPath>) -> Option<Selection> {
        if paths.is_empty() {
            return None;
        }
        // For each path: still in (`None`), or the step that removed it.
        let mut removed: Vec<Option<Option<Decision>>> = vec![None; paths.len()];
        let r = &mut removed;
        keep_lowest(&paths, r, Decision::LocalPref, |p| {
            u64::from(u32::MAX - p.attrs.local_pref)
        });
        keep_lowest(&paths, r, Decision::AsPathLength, |p| {
            p.attrs.as_path.len() as u64
        });
        keep_lowest(&paths, r, Decision::Origin, |p| p.attrs.origin as u64);
        // MED: a path goes when another surviving path from the same
        // neighbouring AS has a lower MED.
        let neighbour = |p: &BgpPath| p.attrs.as_path.first().copied();
        let meds: Vec<(usize, Option<u32>, u32)> = (0..paths.len())
            .filter(|i| r[*i].is_none())
            .map(|i| (i, neighbour(&paths[i]), paths[i].attrs.med))
            .collect();
        for &(i, asn, med) in &meds {
            if meds.iter().any(|&(_, a, m)| a == asn && m < med) {
                r[i] = Some(Some(Decision::Med));
            }
        }
        keep_lowest(&paths, r, Decision::Ebgp, |p| u64::from(!p.source.ebgp));
        keep_lowest(&paths, r, Decision::RouterId, |p| {
            u64::from(u32::from(p.source.router_id))
        });
        keep_lowest(&paths, r, Decision::PeerAddress, |p| {
            u64::from(u32::from(p.source.peer))
        });
        let winner = removed.iter().position(Option::is_none).unwrap_or(0);
        let mut reasons = Vec::with_capacity(paths.len() - 1);
        let mut ordered = Vec::with_capacity(paths.len());
        let mut rest = Vec::with_capacity(paths.len() - 1);
        for (i, p) in paths.into_iter().enumerate() {
            if i == winner {
                ordered.push(p);
            } else {
                reasons.push(removed[i].flatten());
                rest.push(p);
            }
        }
        ordered.extend(rest);
        Some(Selection {
            paths: ordered,
            reasons,
        })
    }

    /// The best path.
    pub fn best(&self) -> &BgpPath {
        &self.paths[0]
    }

    /// The paths the control node spreads traffic over (ECMP): the best,
    /// then each other path equal to it in local preference, AS path
    /// length, origin and MED, in the order given. This is the control
    /// node's multipath rule: tf-controller's `BgpPath::PathCompare`
    /// (`src/bgp/bgp_path.cc`) with `allow_ecmp` returns "equal" once MED
    /// is compared, before eBGP over iBGP, router ids and peer addresses.
    pub fn ecmp(&self) -> impl Iterator<Item = &BgpPath> {
        let reasons = std::iter::once(&None).chain(&self.reasons);
        self.paths
            .iter()
            .zip(reasons)
            .filter(|(_, removed_by)| {
                !matches!(
                    removed_by,
                    Some(
                        Decision::LocalPref
                            | Decision::AsPathLength
                            | Decision::Origin
                            | Decision::Med
                    )
                )
            })
            .map(|(p, _)| p)
    }
}

/// One elimination step: of the paths still in, remove those whose `key` is
/// above the lowest, marking them with `step`.
fn keep_lowest(
    paths: &[BgpPath],
    removed: &mut [Option<Option<Decision>>],
    step: Decision,
    key: impl Fn(&BgpPath) -> u64,
) {
    let lowest = paths
        .iter()
        .zip(removed.iter())
        .filter(|(_, r)| r.is_none())
        .map(|(p, _)| key(p))
        .min();
    let Some(lowest) = lowest else { return };
    for (p, r) in paths.iter().zip(removed.iter_mut()) {
        if r.is_none() && key(p) > lowest {
            *r = Some(Some(step));
        }
    }
}

impl fmt::Display for Selection {
    /// `best of 2 paths: rtr01 (router id 172.16.20.11) over rtr02: lower router id`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let best = self.best();
        let n = self.paths.len();
        write!(
            f,
            "best of {n} path{}: BGPaaS {} (router id {}, AS path {})",
            if n == 1 { "" } else { "s" },
            best.source.bgpaas,
            best.source.router_id,
            best.attrs.as_path_text()
        )?;
        if let (Some(second), Some(reason)) = (self.paths.get(1), self.reasons.first()) {
            match reason {
                Some(d) => write!(f, " over {}: {d}", second.source.bgpaas)?,
                None => write!(
                    f,
                    " over {}: equal in every step, first in session order",
                    second.source.bgpaas
                )?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(name: &str, router_id: [u8; 4], f: impl FnOnce(&mut PathAttrs)) -> BgpPath {
        let mut attrs = PathAttrs::new(Ipv4Addr::new(172, 16, 20, 22), vec![]);
        f(&mut attrs);
        BgpPath {
            source: PathSource {
                bgpaas: name.into(),
                peer: Ipv4Addr::new(172, 16, 20, 1),
                router_id: router_id.into(),
                ebgp: false,
            },
            attrs,
        }
    }

    /// Paths equal to the best up to MED share the traffic, whatever their
    /// router ids, peer addresses or eBGP against iBGP; a path that lost in
    /// an earlier step does not.
    #[test]
    fn ecmp_paths_are_those_equal_to_the_best_up_to_med() {
        let names = |s: &Selection| {
            s.ecmp()
                .map(|p| p.source.bgpaas.clone())
                .collect::<Vec<_>>()
        };
        let ebgp = |mut p: BgpPath| {
            p.source.ebgp = true;
            p
        };
        let all = Selection::rank(vec![
            path("c", [172, 16, 20, 13], |_| {}),
            ebgp(path("a", [172, 16, 20, 11], |_| {})),
            path("b", [172, 16, 20, 12], |_| {}),
            path("long", [172, 16, 20, 10], |x| x.as_path = vec![65000]),
            path("egp", [172, 16, 20, 10], |x| x.origin = Origin::Egp),
            path("low", [172, 16, 20, 10], |x| x.local_pref = 50),
        ])
        .expect("paths");
        assert_eq!(all.best().source.bgpaas, "a");
        assert_eq!(names(&all), ["a", "c", "b"]);
        // MED between paths of one neighbouring AS removes the higher.
        let med = Selection::rank(vec![
            path("a", [172, 16, 20, 11], |x| {
                x.as_path = vec![65001];
                x.med = 10;
            }),
            path("b", [172, 16, 20, 12], |x| x.as_path = vec![65001]),
        ])
        .expect("paths");
        assert_eq!(names(&med), ["b"]);
        let one = Selection::rank(vec![path("a", [1, 1, 1, 1], |_| {})]).expect("a path");
        assert_eq!(names(&one), ["a"]);
    }

    #[test]
    fn each_step_decides_in_order() {
        let base = |n, id| path(n, id, |_| {});
        let (a, b) = (
            base("rtr01", [172, 16, 20, 11]),
            base("rtr02", [172, 16, 20, 12]),
        );
        assert_eq!(compare(&a, &b), (Ordering::Less, Some(Decision::RouterId)));
        let lp = path("rtr02", [172, 16, 20, 12], |x| x.local_pref = 200);
        assert_eq!(
            compare(&a, &lp),
            (Ordering::Greater, Some(Decision::LocalPref))
        );
        let long = path("rtr01", [172, 16, 20, 11], |x| x.as_path = vec![65000]);
        assert_eq!(
            compare(&long, &b),
            (Ordering::Greater, Some(Decision::AsPathLength))
        );
        let egp = path("rtr01", [172, 16, 20, 11], |x| x.origin = Origin::Egp);
        assert_eq!(
            compare(&egp, &b),
            (Ordering::Greater, Some(Decision::Origin))
        );
        let med = path("rtr01", [172, 16, 20, 11], |x| x.med = 10);
        assert_eq!(compare(&med, &b), (Ordering::Greater, Some(Decision::Med)));
        let mut ebgp = base("rtr02", [172, 16, 20, 12]);
        ebgp.source.ebgp = true;
        assert_eq!(
            compare(&a, &ebgp),
            (Ordering::Greater, Some(Decision::Ebgp))
        );
        assert_eq!(compare(&a, &a.clone()), (Ordering::Equal, None));
    }

    #[test]
    fn med_only_between_paths_from_the_same_neighbour_as() {
        let a = path("a", [1, 1, 1, 1], |x| {
            x.as_path = vec![65001];
            x.med = 50;
        });
        let b = path("b", [2, 2, 2, 2], |x| {
            x.as_path = vec![65002];
            x.med = 0;
        });
        assert_eq!(compare(&a, &b), (Ordering::Less, Some(Decision::RouterId)));
    }

    #[test]
    fn the_winner_does_not_depend_on_the_order_of_the_paths() {
        // A beats B on MED (same neighbour AS), B beats C on router id, C beats
        // A on router id: a pairwise order cycles. Elimination removes B by MED
        // first, then A (router id .13) loses to C (.12), in any order.
        let with = |name: &str, id: u8, asn: u32, med: u32| {
            path(name, [172, 16, 20, id], |x| {
                x.as_path = vec![asn];
                x.med = med;
            })
        };
        let (a, b, c) = (
            with("a", 13, 65001, 10),
            with("b", 11, 65001, 20),
            with("c", 12, 65002, 0),
        );
        for order in [[&a, &b, &c], [&c, &a, &b], [&b, &c, &a], [&c, &b, &a]] {
            let s = Selection::rank(order.iter().map(|p| (*p).clone()).collect()).unwrap();
            assert_eq!(s.best().source.bgpaas, "c");
        }
        let s = Selection::rank(vec![a, b, c]).unwrap();
        assert_eq!(s.reasons, [Some(Decision::RouterId), Some(Decision::Med)]);
    }

    #[test]
    fn selection_explains_the_winner() {
        let s = Selection::rank(vec![
            path("rtr02", [172, 16, 20, 12], |_| {}),
            path("rtr01", [172, 16, 20, 11], |_| {}),
        ])
        .unwrap();
        assert_eq!(s.best().source.bgpaas, "rtr01");
        assert_eq!(
            s.to_string(),
            "best of 2 paths: BGPaaS rtr01 (router id 172.16.20.11, AS path I) over rtr02: lower router id"
        );
        assert!(Selection::rank(vec![]).is_none());
    }
}
