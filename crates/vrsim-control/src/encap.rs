//! Which encapsulation a tunnel between two endpoints takes: the global
//! encapsulation priority (Contrail's `encapsulation_priorities`, an ordered
//! list of MPLSoGRE, MPLSoUDP and VXLAN) against what the route's path
//! offers, as tf-controller's `TunnelType::ComputeType`
//! (`src/vnsw/agent/oper/nexthop.cc`) chooses: the first of the priority
//! list the path offers; when it offers none of them, the first it offers
//! in the fixed order MPLSoGRE, MPLSoUDP, VXLAN.
//!
//! What a path offers: a VM's layer-3 route the MPLS encapsulations
//! (`TunnelType::MplsType`, so layer-3 traffic never takes VXLAN); a VM's
//! layer-2 (bridge) route all three; a gateway's routes the encapsulations
//! its dynamic tunnels support (MPLSoGRE unless its configuration says
//! more).

use core::fmt;

use vrsim_dataplane::nexthop::TunnelEncap;

use crate::config::{Config, GatewayConfig};

/// Contrail's default priority (the global vRouter configuration's
/// `encapsulation_priorities` when nobody set it).
pub const CONTRAIL_DEFAULT: [TunnelEncap; 3] = [
    TunnelEncap::MplsOverGre,
    TunnelEncap::MplsOverUdp,
    TunnelEncap::Vxlan,
];

/// What a VM's layer-3 route offers (`TunnelType::MplsType`).
pub const MPLS: [TunnelEncap; 2] = [TunnelEncap::MplsOverGre, TunnelEncap::MplsOverUdp];

/// What a VM's layer-2 route offers.
pub const ALL: [TunnelEncap; 3] = CONTRAIL_DEFAULT;

/// The order `ComputeType` falls back to when the path offers nothing of
/// the priority list.
const FALLBACK: [TunnelEncap; 3] = CONTRAIL_DEFAULT;

/// An encapsulation chosen, and the rule that chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncapChoice {
    /// The encapsulation.
    pub encap: TunnelEncap,
    /// The priority list it was chosen from.
    pub priority: Vec<TunnelEncap>,
    /// What the path offered.
    pub offered: Vec<TunnelEncap>,
    /// Whether it came from the fallback order (nothing of the priority
    /// list was offered).
    pub fallback: bool,
}

/// Choose as `TunnelType::ComputeType` does; `None` when the path offers
/// nothing.
pub fn choose(priority: &[TunnelEncap], offered: &[TunnelEncap]) -> Option<EncapChoice> {
    let (encap, fallback) = match priority.iter().find(|e| offered.contains(e)) {
        Some(e) => (*e, false),
        None => (*FALLBACK.iter().find(|e| offered.contains(e))?, true),
    };
    Some(EncapChoice {
        encap,
        priority: priority.to_vec(),
        offered: offered.to_vec(),
        fallback,
    })
}

fn names(list: &[TunnelEncap]) -> String {
    let names: Vec<&str> = list.iter().map(|e| e.name()).collect();
    match names.is_empty() {
        true => "none".into(),
        false => names.join(", "),
    }
}

impl fmt::Display for EncapChoice {
    /// `MPLSoUDP: the first of the encapsulation priority (MPLSoUDP,
    /// MPLSoGRE, VXLAN) the path offers (MPLSoGRE, MPLSoUDP)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (encap, priority, offered) = (
            self.encap.name(),
            names(&self.priority),
            names(&self.offered),
        );
        if self.fallback {
            write!(
                f,
                "{encap}: the path offers nothing of the encapsulation priority ({priority}), so the first it offers ({offered}) in the order MPLSoGRE, MPLSoUDP, VXLAN"
            )
        } else {
            write!(
                f,
                "{encap}: the first of the encapsulation priority ({priority}) the path offers ({offered})"
            )
        }
    }
}

/// What a gateway's routes offer: its dynamic tunnels' encapsulations
/// (MPLSoGRE when its configuration names none), MPLS ones only.
pub fn gateway_offers(gateway: &GatewayConfig) -> Vec<TunnelEncap> {
    if gateway.encaps.is_empty() {
        return vec![TunnelEncap::MplsOverGre];
    }
    gateway
        .encaps
        .iter()
        .copied()
        .filter(|e| MPLS.contains(e))
        .collect()
}

/// The encapsulation of a compute node's layer-3 tunnel to `remote` (a
/// gateway or another compute node), and why.
pub fn layer3(config: &Config, remote: &str) -> Option<EncapChoice> {
    match config.gateways.iter().find(|g| g.name == remote) {
        Some(g) => choose(&config.encap_priority, &gateway_offers(g)),
        None => choose(&config.encap_priority, &MPLS),
    }
}

/// The encapsulation of a compute node's layer-2 (bridge) tunnel to
/// another compute node, and why.
pub fn layer2(config: &Config) -> Option<EncapChoice> {
    choose(&config.encap_priority, &ALL)
}

/// Read an encapsulation's name as Contrail's configuration spells it.
pub fn parse(name: &str) -> Option<TunnelEncap> {
    [
        TunnelEncap::MplsOverGre,
        TunnelEncap::MplsOverUdp,
        TunnelEncap::Vxlan,
    ]
    .into_iter()
    .find(|e| e.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use TunnelEncap::{MplsOverGre as Gre, MplsOverUdp as Udp, Vxlan};

    /// Every ordering of the three, against what a layer-3 route, a
    /// layer-2 route and a GRE-only gateway offer.
    #[test]
    fn every_priority_ordering_chooses_the_first_the_path_offers() {
        let orders: [[TunnelEncap; 3]; 6] = [
            [Gre, Udp, Vxlan],
            [Gre, Vxlan, Udp],
            [Udp, Gre, Vxlan],
            [Udp, Vxlan, Gre],
            [Vxlan, Gre, Udp],
            [Vxlan, Udp, Gre],
        ];
        for order in orders {
            let first_of = |offered: &[TunnelEncap]| {
                *order.iter().find(|e| offered.contains(e)).unwrap_or(&Gre)
            };
            let l3 = choose(&order, &MPLS).map(|c| c.encap);
            assert_eq!(l3, Some(first_of(&MPLS)), "{order:?}");
            assert_ne!(l3, Some(Vxlan), "layer 3 never takes VXLAN");
            assert_eq!(choose(&order, &ALL).map(|c| c.encap), Some(order[0]));
            assert_eq!(choose(&order, &[Gre]).map(|c| c.encap), Some(Gre));
        }
        // Nothing of the list offered: the fixed order.
        let c = choose(&[Vxlan], &MPLS).unwrap();
        assert_eq!((c.encap, c.fallback), (Gre, true));
        assert_eq!(choose(&[], &[Udp, Vxlan]).map(|c| c.encap), Some(Udp));
        assert_eq!(choose(&CONTRAIL_DEFAULT, &[]), None);
        assert_eq!(
            choose(&[Udp, Gre, Vxlan], &MPLS).unwrap().to_string(),
            "MPLSoUDP: the first of the encapsulation priority (MPLSoUDP, MPLSoGRE, VXLAN) the path offers (MPLSoGRE, MPLSoUDP)"
        );
        assert_eq!(parse("MPLSoUDP"), Some(Udp));
        assert_eq!(parse("mplsoudp"), None);
    }
}
