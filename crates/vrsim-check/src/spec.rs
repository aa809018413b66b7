//! The case file's schema as serde reads it: one struct per TOML table,
//! unknown keys refused, positions kept (`Spanned`) where an error must point
//! at a value. [`crate::Case::parse`] checks the values and builds the case.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileSpec {
    pub(crate) schema: Spanned<u32>,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) source: String,
    /// Free text: what the case checks, what it leaves out.
    #[serde(default)]
    pub(crate) description: String,
    /// Main flow-table entries, when the case needs a small table (default:
    /// the vRouter's 524,288).
    #[serde(default)]
    pub(crate) flow_entries: Option<u32>,
    /// The vRouter's `--vr_uncond_close_flow_on_tcp_rst` (default off).
    #[serde(default)]
    pub(crate) uncond_close_flow_on_tcp_rst: bool,
    #[serde(default)]
    pub(crate) vif: Vec<Spanned<VifSpec>>,
    #[serde(default)]
    pub(crate) nh: Vec<Spanned<NhSpec>>,
    #[serde(default)]
    pub(crate) route: Vec<Spanned<RouteSpec>>,
    #[serde(default)]
    pub(crate) bridge: Vec<Spanned<BridgeSpec>>,
    #[serde(default)]
    pub(crate) mpls: Vec<Spanned<MplsSpec>>,
    #[serde(default)]
    pub(crate) vxlan: Vec<Spanned<VxlanSpec>>,
    #[serde(default)]
    pub(crate) flow: Vec<Spanned<FlowSpec>>,
    #[serde(default)]
    pub(crate) step: Vec<Spanned<StepSpec>>,
    #[serde(default)]
    pub(crate) check: Vec<Spanned<CheckSpec>>,
}

/// `[[vif]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VifSpec {
    pub(crate) id: u16,
    #[serde(rename = "type")]
    pub(crate) kind: Spanned<String>,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) mac: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) ip: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) ip6: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) vrf: u16,
    #[serde(default)]
    pub(crate) mcast_vrf: Option<u16>,
    /// `QOS:`; a bare request (the vRouter's own tests) leaves it 0.
    #[serde(default)]
    pub(crate) qos: i16,
    #[serde(default)]
    pub(crate) nh: Option<u32>,
    #[serde(default)]
    pub(crate) mtu: Option<u16>,
    #[serde(default)]
    pub(crate) flags: Vec<Spanned<String>>,
}

/// A composite member.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberSpec {
    /// The member nexthop, or -1 for an empty slot.
    pub(crate) nh: i64,
    #[serde(default)]
    pub(crate) label: Option<u32>,
}

/// `[[nh]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NhSpec {
    pub(crate) id: u32,
    #[serde(rename = "type")]
    pub(crate) kind: Spanned<String>,
    #[serde(default)]
    pub(crate) family: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) vrf: u16,
    #[serde(default)]
    pub(crate) oif: Option<u16>,
    #[serde(default)]
    pub(crate) encap: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) encap_family: Option<u16>,
    #[serde(default)]
    pub(crate) tunnel: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) sip: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) dip: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) sport: Option<u16>,
    #[serde(default)]
    pub(crate) dport: Option<u16>,
    #[serde(default)]
    pub(crate) members: Vec<MemberSpec>,
    #[serde(default)]
    pub(crate) translate_vrf: Option<u16>,
    #[serde(default)]
    pub(crate) flags: Vec<Spanned<String>>,
}

/// `[[route]]`, also the key of a route to delete.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteSpec {
    pub(crate) vrf: u16,
    pub(crate) prefix: Spanned<String>,
    #[serde(default)]
    pub(crate) nh: Option<u32>,
    #[serde(default)]
    pub(crate) label: Option<u32>,
    #[serde(default)]
    pub(crate) flags: Vec<Spanned<String>>,
    /// The stitched MAC (`rt -c -e MAC`).
    #[serde(default)]
    pub(crate) mac: Option<Spanned<String>>,
    /// On a delete: the covering route's length, which the vRouter's delete
    /// request carries (`rtr_replace_plen`).
    #[serde(default)]
    pub(crate) replace_plen: Option<u8>,
}

/// `[[bridge]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BridgeSpec {
    pub(crate) vrf: u16,
    pub(crate) mac: Spanned<String>,
    #[serde(default)]
    pub(crate) nh: Option<u32>,
    #[serde(default)]
    pub(crate) label: Option<u32>,
    #[serde(default)]
    pub(crate) flags: Vec<Spanned<String>>,
}

/// `[[mpls]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MplsSpec {
    pub(crate) label: u32,
    #[serde(default)]
    pub(crate) nh: Option<u32>,
}

/// `[[vxlan]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VxlanSpec {
    pub(crate) vnid: u32,
    #[serde(default)]
    pub(crate) nh: Option<u32>,
}

/// A number or a name (a protocol).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum NumberOrName {
    Number(u8),
    Name(String),
}

/// `[[flow]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlowSpec {
    pub(crate) sip: Spanned<String>,
    pub(crate) dip: Spanned<String>,
    #[serde(default)]
    pub(crate) sport: u16,
    #[serde(default)]
    pub(crate) dport: u16,
    pub(crate) proto: Spanned<NumberOrName>,
    pub(crate) nh: u32,
    #[serde(default)]
    pub(crate) src_nh: u32,
    #[serde(default)]
    pub(crate) vrf: u16,
    #[serde(default)]
    pub(crate) dvrf: Option<u16>,
    #[serde(default)]
    pub(crate) action: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) drop_reason: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) flags: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) reverse: Option<Spanned<usize>>,
    /// The vRouter index of its reverse flow, for a flow added on its own
    /// (`vrsim_check::objects`, the Python API); a case file links pairs
    /// with `reverse`.
    #[serde(default)]
    pub(crate) rflow: Option<Spanned<u32>>,
    #[serde(default)]
    pub(crate) ecmp_index: Option<u8>,
    #[serde(default)]
    pub(crate) underlay_ecmp_index: Option<u8>,
    #[serde(default)]
    pub(crate) udp_sport: u16,
    #[serde(default)]
    pub(crate) ttl: u8,
    /// The index the vRouter must give it (checked when the flow is added).
    #[serde(default)]
    pub(crate) index: Option<u32>,
}

/// `send = { vif, frame }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendSpec {
    pub(crate) vif: u16,
    pub(crate) frame: Spanned<String>,
    /// Send it this many times (default 1); the expectation is the last one's.
    #[serde(default)]
    pub(crate) count: Option<u32>,
}

/// One object to add or delete.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ObjectSpec {
    #[serde(default)]
    pub(crate) vif: Option<VifSpec>,
    #[serde(default)]
    pub(crate) nh: Option<NhSpec>,
    #[serde(default)]
    pub(crate) route: Option<RouteSpec>,
    #[serde(default)]
    pub(crate) bridge: Option<BridgeSpec>,
    #[serde(default)]
    pub(crate) mpls: Option<MplsSpec>,
    #[serde(default)]
    pub(crate) vxlan: Option<VxlanSpec>,
    #[serde(default)]
    pub(crate) flow: Option<FlowSpec>,
}

/// `lookup = { vrf, addr }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LookupSpec {
    pub(crate) vrf: u16,
    pub(crate) addr: Spanned<String>,
}

/// What a step expects.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectSpec {
    #[serde(default)]
    pub(crate) out: Option<u16>,
    #[serde(default)]
    pub(crate) frame: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) drop: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) trap: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) host: Option<u16>,
    #[serde(default)]
    pub(crate) held: Option<bool>,
    #[serde(default)]
    pub(crate) nh: Option<u32>,
    #[serde(default)]
    pub(crate) prefix: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) label: Option<u32>,
    /// On an add: the error the vRouter answers (`"exists"`, ...).
    #[serde(default)]
    pub(crate) error: Option<String>,
}

/// `[[step]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StepSpec {
    #[serde(default)]
    pub(crate) send: Option<SendSpec>,
    #[serde(default)]
    pub(crate) add: Option<ObjectSpec>,
    #[serde(default)]
    pub(crate) delete: Option<ObjectSpec>,
    #[serde(default)]
    pub(crate) lookup: Option<LookupSpec>,
    #[serde(default)]
    pub(crate) expect: Option<ExpectSpec>,
    /// Free text shown when the step fails.
    #[serde(default)]
    pub(crate) note: Option<String>,
}

/// `[[check]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckSpec {
    #[serde(default)]
    pub(crate) vif: Option<u16>,
    #[serde(default)]
    pub(crate) ipackets: Option<u64>,
    #[serde(default)]
    pub(crate) opackets: Option<u64>,
    #[serde(default)]
    pub(crate) drops: Option<u64>,
    #[serde(default)]
    pub(crate) dropstats: Option<BTreeMap<String, u64>>,
    #[serde(default)]
    pub(crate) cli: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) contains: Vec<String>,
    /// Strings the output must not contain.
    #[serde(default)]
    pub(crate) lacks: Vec<String>,
    /// The whole output, compared exactly (a golden text).
    #[serde(default)]
    pub(crate) equals: Option<String>,
    /// Flows in use.
    #[serde(default)]
    pub(crate) flows: Option<usize>,
}
