//! The agent's answer to a flow miss (tf-controller
//! `src/vnsw/agent/pkt/pkt_flow_info.cc`, `flow_entry.cc`,
//! `vrouter/ksync/flowtable_ksync.cc`): for the Hold flow the vRouter
//! trapped, it routes both directions, evaluates the network's policy,
//! computes each direction's reverse-path nexthop, and programs the flow
//! pair; the vRouter then sends the held packets on.
//!
//! - No route for the source (or the destination): a short flow, action
//!   Drop, `NoSrcRt` (`NoDstRt`), both directions.
//! - A deny rule: both directions Drop, `Policy`.
//! - S(nh) is the nexthop of the route for the flow's source, in the
//!   flow's VRF (`FlowEntry::RpfInit`); with RPF off on the network it is
//!   nh 0, which the vRouter does not check (`flowtable_ksync.cc`).
//! - The reverse flow is keyed on the nexthop its packets will carry: the
//!   destination's vif nexthop when the destination is a local VM, else the
//!   forward flow's key nexthop (`vr_inet_flow_nexthop`).
//! - A composite destination pins the flow to the member the vRouter's
//!   hash of the key picks (`E:n`).

use core::fmt;

use std::net::IpAddr;

use ipnet::IpNet;
use vrsim_dataplane::flow::{FlowAction, FlowDropReason, FlowFlags, FlowRequest};
use vrsim_dataplane::nexthop::{EcmpMember, EcmpWhy, NhKind, ecmp_pick};
use vrsim_dataplane::route::Route;
use vrsim_dataplane::vif::VifType;
use vrsim_dataplane::{DataplaneError, NhId, VRouter, VrfId};

use crate::controller::Controller;
use crate::error::ControlError;
use crate::policy::{FlowTuple, PolicyAction, PolicyConfig, evaluate};

/// What the agent decided for a flow miss, and the flow pair it installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowDecision {
    /// The forward flow's index (the Hold flow the miss created).
    pub forward: u32,
    /// The reverse flow's index.
    pub reverse: u32,
    /// The pair's action.
    pub action: FlowAction,
    /// Why it drops, with [`FlowAction::Drop`].
    pub drop_reason: FlowDropReason,
    /// What decided it: the policy rule, or why it is a short flow.
    pub why: String,
    /// The forward flow's S(nh).
    pub src_nh: NhId,
    /// The reverse flow's S(nh).
    pub reverse_src_nh: NhId,
    /// The ECMP member the forward flow is pinned to.
    pub ecmp_index: Option<u8>,
    /// Why that member: the vRouter's hash of the flow key over the
    /// composite's slots.
    pub ecmp_why: Option<EcmpWhy>,
}

impl fmt::Display for FlowDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "agent: flow {}<=>{} action {}",
            self.forward,
            self.reverse,
            self.action.letter()
        )?;
        if self.action == FlowAction::Drop
            && let Some(name) = self.drop_reason.name()
        {
            write!(f, "({name})")?;
        }
        write!(
            f,
            " ({}), S(nh) {}, reverse S(nh) {}",
            self.why, self.src_nh, self.reverse_src_nh
        )?;
        if let Some(e) = self.ecmp_index {
            write!(f, ", E:{e}")?;
            if let Some(why) = self.ecmp_why {
                write!(f, " ({why})")?;
            }
        }
        Ok(())
    }
}

fn route(router: &VRouter, vrf: VrfId, addr: IpAddr) -> Option<(IpNet, Route)> {
    router.vrf(vrf).and_then(|v| match addr {
        IpAddr::V4(a) => v.inet4.longest_match(a).map(|(p, r)| (IpNet::V4(p), *r)),
        IpAddr::V6(a) => v.inet6.longest_match(a).map(|(p, r)| (IpNet::V6(p), *r)),
    })
}

impl Controller {
    /// Answer the flow miss of Hold flow `index` on compute node `node`:
    /// install the flow pair, with the network's policies. The held packets
    /// stay queued until the caller sends them on with [`VRouter::release`].
    pub fn answer_flow_miss(
        &mut self,
        node: &str,
        index: u32,
    ) -> Result<FlowDecision, ControlError> {
        let network = self.network_name(node, index);
        let (config, router) = self.config_and_vrouter_mut(node);
        let router = router.ok_or_else(|| ControlError::Unknown {
            kind: "compute node",
            name: node.to_owned(),
            by: format!("flow {index}"),
        })?;
        let in_network = |n: &str, a: IpAddr| {
            config.network(n).is_some_and(|n| match a {
                IpAddr::V4(a) => n.subnet.contains(&a),
                IpAddr::V6(a) => n.subnet6.is_some_and(|s| s.subnet.contains(&a)),
            })
        };
        let policy = Policies {
            network: network.as_deref(),
            policies: &config.policies,
            in_network: &in_network,
        };
        answer_flow_miss(router, index, &policy).map_err(|source| ControlError::Dataplane {
            node: node.to_owned(),
            source,
        })
    }

    fn network_name(&self, node: &str, index: u32) -> Option<String> {
        let vrf = self.vrouter(node)?.flows().get(index)?.vrf;
        self.network_of_vrf(node, vrf).map(|n| n.name.clone())
    }
}

/// The policies a flow miss is evaluated against.
pub struct Policies<'p> {
    /// The network of the flow's VRF, if it belongs to one.
    pub network: Option<&'p str>,
    /// Every policy (those attached to the network apply).
    pub policies: &'p [PolicyConfig],
    /// Whether an address is in a network's subnets (by name).
    pub in_network: &'p dyn Fn(&str, IpAddr) -> bool,
}

impl Policies<'static> {
    /// No network and no policies: every flow with its routes is allowed
    /// (for a vRouter programmed by hand).
    pub const NONE: Policies<'static> = Policies {
        network: None,
        policies: &[],
        in_network: &|_, _| false,
    };
}

impl fmt::Debug for Policies<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policies")
            .field("network", &self.network)
            .field("policies", &self.policies)
            .finish_non_exhaustive()
    }
}

/// Answer the flow miss of Hold flow `index` of `router` as the agent does
/// (see the module documentation), without a control plane: for a vRouter
/// programmed by hand. The held packets stay queued until
/// [`VRouter::release`].
pub fn answer_flow_miss(
    router: &mut VRouter,
    index: u32,
    policy: &Policies<'_>,
) -> Result<FlowDecision, DataplaneError> {
    let entry = router
        .flows()
        .get(index)
        .ok_or(DataplaneError::NoSuchFlow { index })?;
    let (key, vrf) = (entry.key, entry.vrf);
    let rpf = router.vrf(vrf).is_none_or(|v| v.rpf);
    let (src_rt, dst_rt) = (route(router, vrf, key.src), route(router, vrf, key.dst));
    let (action, drop_reason, why) = decide(&key, vrf, src_rt.is_some(), dst_rt.is_some(), policy);
    let rpf_nh = |r: Option<(IpNet, Route)>| match r {
        Some((_, r)) if rpf => r.nh,
        _ => NhId::DISCARD,
    };
    let (src_nh, reverse_src_nh) = (rpf_nh(src_rt), rpf_nh(dst_rt));
    let dst_nh = dst_rt
        .and_then(|(_, r)| router.nh(r.nh))
        .map(|n| n.config.kind.clone());
    let reverse_key_nh = match &dst_nh {
        Some(NhKind::Encap { oif, .. }) => {
            router.vif(*oif).and_then(|v| v.config.nh).unwrap_or(key.nh)
        }
        _ => key.nh,
    };
    let (ecmp_index, ecmp_why) = match &dst_nh {
        Some(NhKind::Composite { members }) if action != FlowAction::Drop => {
            match pick_member(router, members, key.hash(), from_fabric(router, index)) {
                Some((i, why)) => (u8::try_from(i).ok(), Some(why)),
                None => (None, None),
            }
        }
        _ => (None, None),
    };
    let rkey = key.reversed(reverse_key_nh);
    let base = |k, src_nh| FlowRequest {
        action,
        drop_reason,
        ..FlowRequest::forward(k, vrf, src_nh)
    };
    // The reverse flow first (added, or an existing Hold flow of the
    // other direction decided), linked to the forward flow...
    let reverse = router.set_flow(&FlowRequest {
        index: router.flows().find(&rkey),
        rflow: Some(index),
        ..base(rkey, reverse_src_nh)
    });
    let reverse = reverse?;
    // ...then the forward flow decided and linked back.
    router.set_flow(&FlowRequest {
        index: Some(index),
        rflow: Some(reverse),
        ecmp_index,
        flags: FlowFlags::empty(),
        ..base(key, src_nh)
    })?;
    Ok(FlowDecision {
        forward: index,
        reverse,
        action,
        drop_reason,
        why,
        src_nh,
        reverse_src_nh,
        ecmp_index,
        ecmp_why,
    })
}

/// Whether the packet that missed flow `index` came in from the fabric
/// (the agent's `!ingress`): its first held packet arrived on a physical vif.
fn from_fabric(router: &VRouter, index: u32) -> bool {
    let held = router.flows().get(index).and_then(|e| e.held.first());
    held.and_then(|p| router.vif(p.ingress))
        .is_some_and(|v| v.config.kind == VifType::Physical)
}

/// The member of an ECMP composite the agent pins a new flow to, as
/// tf-controller's `CompositeNH::PickMember` (`src/vnsw/agent/oper/nexthop.cc`)
/// picks it ([`ecmp_pick`]): a slot qualifies when it holds a member that,
/// for a packet from the fabric (which must not be sent back into it), is
/// not a tunnel. For a packet from a VM this is the vRouter's own choice
/// ([`vrsim_dataplane::nexthop::ecmp_choice`]). The agent hashes the
/// 5-tuple with its own function; vrsim uses the vRouter's hash of the flow
/// key for both.
fn pick_member(
    router: &VRouter,
    members: &[EcmpMember],
    hash: u32,
    from_fabric: bool,
) -> Option<(usize, EcmpWhy)> {
    let tunnel = |m: &EcmpMember| {
        m.nh.and_then(|nh| router.nh(nh)).is_some_and(|n| {
            matches!(
                n.config.kind,
                NhKind::Tunnel { .. } | NhKind::UdpTunnel { .. }
            )
        })
    };
    let qualifies = |m: &EcmpMember| m.nh.is_some() && !(from_fabric && tunnel(m));
    let (slot, fallback) = ecmp_pick(members, hash, qualifies)?;
    let why = match fallback {
        None => EcmpWhy::Hash {
            hash,
            slots: members.len(),
        },
        Some((at, n)) if !from_fabric => EcmpWhy::EmptySlot {
            hash,
            empty: at,
            present: n,
        },
        Some((at, n)) => EcmpWhy::FromFabric {
            hash,
            slot: at,
            empty: members.get(at).is_none_or(|m| m.nh.is_none()),
            local: n,
        },
    };
    Some((slot, why))
}

/// The pair's action (`PktFlowInfo`): a short flow without a source or
/// destination route, else the first policy rule that matches, else allowed.
fn decide(
    key: &vrsim_dataplane::flow::FlowKey,
    vrf: VrfId,
    src: bool,
    dst: bool,
    policy: &Policies<'_>,
) -> (FlowAction, FlowDropReason, String) {
    let tuple = FlowTuple {
        proto: key.proto,
        src: key.src,
        sport: key.sport,
        dst: key.dst,
        dport: key.dport,
    };
    match (src, dst) {
        (false, _) => (
            FlowAction::Drop,
            FlowDropReason::NO_SRC_ROUTE,
            format!("no route for source {} in vrf {vrf}: short flow", key.src),
        ),
        (_, false) => (
            FlowAction::Drop,
            FlowDropReason::NO_DST_ROUTE,
            format!(
                "no route for destination {} in vrf {vrf}: short flow",
                key.dst
            ),
        ),
        _ => match policy
            .network
            .and_then(|n| evaluate(policy.policies, n, &tuple, policy.in_network))
        {
            Some(m) if m.action == PolicyAction::Deny => {
                (FlowAction::Drop, FlowDropReason::POLICY, m.to_string())
            }
            Some(m) => (FlowAction::Forward, FlowDropReason::UNKNOWN, m.to_string()),
            None => (
                FlowAction::Forward,
                FlowDropReason::UNKNOWN,
                match policy.network {
                    Some(n) => format!("no policy rule of network {n} matches: allowed"),
                    None => "no network policy: allowed".to_owned(),
                },
            ),
        },
    }
}
