//! Programming flows as the agent does (`vr_flow_req`, `vr_flow_set`,
//! `vr_flow_delete`): add a flow, decide a Hold flow, link a reverse flow,
//! delete.

use crate::error::DataplaneError;
use crate::ids::{NhId, VrfId};
use crate::vrouter::VRouter;

use super::{FlowAction, FlowDropReason, FlowEntry, FlowFlags, FlowKey, FlowTable};

/// A flow as the agent programs it (the fields of `vr_flow_req`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowRequest {
    /// The entry to change (`fr_index`); `None` adds a flow, whose index
    /// the key's hash decides.
    pub index: Option<u32>,
    /// The key.
    pub key: FlowKey,
    /// The action. A NAT flow rewrites from its reverse flow's key: the
    /// source with [`FlowFlags::SNAT`], the destination with
    /// [`FlowFlags::DNAT`], the ports with `SPAT`/`DPAT`.
    pub action: FlowAction,
    /// Why it drops, with [`FlowAction::Drop`].
    pub drop_reason: FlowDropReason,
    /// Flags to set besides Active and the reverse-valid flag (VRFT, BGP service, …).
    pub flags: FlowFlags,
    /// The VRF.
    pub vrf: VrfId,
    /// The destination VRF, with [`FlowFlags::VRFT`].
    pub dvrf: VrfId,
    /// The reverse flow's index; sets the reverse-valid flag.
    pub rflow: Option<u32>,
    /// The reverse-path nexthop, S(nh) (nh 0: no check).
    pub src_nh: NhId,
    /// The ECMP member to pin the flow to.
    pub ecmp_index: Option<u8>,
    /// The fabric vif of an Underlay ECMP tunnel (`fr_underlay_ecmp_index`).
    pub underlay_ecmp_index: Option<u8>,
    /// The UDP source port for tunnels.
    pub udp_sport: u16,
    /// A TTL to rewrite packets to (0: none).
    pub ttl: u8,
}

impl FlowRequest {
    /// A request to add a flow with `key` that forwards, in `vrf`, with
    /// S(nh) `src_nh`; the other fields empty.
    pub fn forward(key: FlowKey, vrf: VrfId, src_nh: NhId) -> Self {
        FlowRequest {
            index: None,
            key,
            action: FlowAction::Forward,
            drop_reason: FlowDropReason::UNKNOWN,
            flags: FlowFlags::empty(),
            vrf,
            dvrf: vrf,
            rflow: None,
            src_nh,
            ecmp_index: None,
            underlay_ecmp_index: None,
            udp_sport: 0,
            ttl: 0,
        }
    }
}

impl VRouter {
    /// The flow table.
    pub fn flows(&self) -> &FlowTable {
        static EMPTY: std::sync::LazyLock<FlowTable> =
            std::sync::LazyLock::new(|| FlowTable::with_overflow(0, 0));
        // The table is out of its slot only while a packet is processed,
        // when nothing else can ask for it.
        self.flows.as_deref().unwrap_or(&EMPTY)
    }

    /// The flow table, to change.
    pub(crate) fn flows_mut(&mut self) -> &mut FlowTable {
        self.flows.get_or_insert_with(Box::default)
    }

    /// Replace the flow table with an empty one of `entries` main entries
    /// (the `vr_flow_entries` module parameter); the flows are lost.
    pub fn set_flow_table(&mut self, table: FlowTable) {
        self.flows = Some(Box::new(table));
    }

    /// Add or change a flow (`vr_flow_set`), returning its index. A change
    /// must name a flow with the same key; the nexthop and reverse flow it
    /// names must exist. Deciding a Hold flow does not send its packets:
    /// [`VRouter::release`] does.
    pub fn set_flow(&mut self, req: &FlowRequest) -> Result<u32, DataplaneError> {
        self.nh(req.src_nh)
            .ok_or(DataplaneError::NoSuchNh { nh: req.src_nh })?;
        if let Some(r) = req.rflow {
            self.flows_mut()
                .get(r)
                .ok_or(DataplaneError::NoSuchFlow { index: r })?;
        }
        let index = match req.index {
            Some(index) => {
                let e = self
                    .flows()
                    .get(index)
                    .ok_or(DataplaneError::NoSuchFlow { index })?;
                if e.key != req.key {
                    return Err(DataplaneError::FlowKeyMismatch { index });
                }
                let decided = e.action == FlowAction::Hold && req.action != FlowAction::Hold;
                let stats = self.flows_mut().stats_mut();
                if decided {
                    stats.processed += 1;
                } else {
                    stats.changed += 1;
                }
                index
            }
            None => {
                if let Some(index) = self.flows().find(&req.key) {
                    return Err(DataplaneError::FlowExists { index });
                }
                let bucket = self.flows().bucket_of(&req.key);
                let index = self
                    .flows_mut()
                    .insert(req.key)
                    .ok_or(DataplaneError::FlowTableFull { bucket })?;
                self.flows_mut().stats_mut().added += 1;
                index
            }
        };
        if let Some(e) = self.flows_mut().get_mut(index) {
            apply(e, req);
        }
        Ok(index)
    }

    /// Close flows on any TCP RST (`--vr_uncond_close_flow_on_tcp_rst 1`),
    /// or only on one RFC 5961 §3.2 accepts (the default): a RST whose
    /// sequence number is the last one the other side acknowledged, or, in
    /// answer to a SYN, whose ACK acknowledges it.
    pub fn set_uncond_close_on_tcp_rst(&mut self, on: bool) {
        self.uncond_close_on_tcp_rst = on;
    }

    /// Delete the flow at `index` (`vr_flow_delete`); its held packets are dropped.
    pub fn delete_flow(&mut self, index: u32) -> Result<FlowEntry, DataplaneError> {
        let e = self
            .flows_mut()
            .remove(index)
            .ok_or(DataplaneError::NoSuchFlow { index })?;
        for _ in &e.held {
            self.drops.count(crate::drop::DropReason::FlowUnusable);
        }
        Ok(e)
    }

    /// Delete every flow (`flow -F`); held packets are dropped.
    pub fn flush_flows(&mut self) {
        if self.flows().is_empty() {
            return;
        }
        let indices: Vec<u32> = self.flows().iter().map(|(i, _)| i).collect();
        for i in indices {
            let _ = self.delete_flow(i);
        }
    }
}

fn apply(e: &mut FlowEntry, req: &FlowRequest) {
    e.action = req.action;
    e.drop_reason = req.drop_reason;
    let keep = e.flags.0 & FlowFlags::NEW_FLOW.0;
    e.flags = FlowFlags(FlowFlags::ACTIVE.0 | req.flags.0 | keep);
    e.flags.set(FlowFlags::RFLOW_VALID, req.rflow.is_some());
    e.vrf = req.vrf;
    e.dvrf = req.dvrf;
    e.rflow = req.rflow;
    e.src_nh = req.src_nh;
    e.ecmp_index = req.ecmp_index;
    e.underlay_ecmp_index = req.underlay_ecmp_index;
    e.udp_sport = req.udp_sport;
    e.ttl = req.ttl;
}
