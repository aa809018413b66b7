//! BGP paths as the control node holds them, and the decision process that
//! picks the best of several paths for one prefix (RFC 4271 §9.1.2.2, in
//! the order Contrail's `BgpPath::PathCompare` applies it).

use core::cmp::Ordering;
use core::fmt;
use std::net::Ipv4Addr;

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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathAttrs {
    /// NEXT_HOP: the address the control node resolves (usually the VM's own).
    pub next_hop: Ipv4Addr,
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
    pub fn new(next_hop: Ipv4Addr, as_path: Vec<u32>) -> Self {
        PathAttrs {
            next_hop,
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
/// one that told them apart (`None`: equal in every step).
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
    /// Every path, best first.
    pub paths: Vec<BgpPath>,
    /// For each path after the first, why the one before it won.
    pub reasons: Vec<Option<Decision>>,
}

impl Selection {
    /// Rank `paths` (at least one); ties keep the order given.
    pub fn rank(mut paths: Vec<BgpPath>) -> Option<Selection> {
        if paths.is_empty() {
            return None;
        }
        paths.sort_by(|a, b| compare(a, b).0);
        let reasons = paths.windows(2).map(|w| compare(&w[0], &w[1]).1).collect();
        Some(Selection { paths, reasons })
    }

    /// The best path.
    pub fn best(&self) -> &BgpPath {
        &self.paths[0]
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
                None => write!(f, " over {}: equal, first received", second.source.bgpaas)?,
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
