//! The flow table (`dp-core/vr_flow.c`, `dp-core/vr_htable.c`,
//! `include/vr_flow.h`): the per-flow state a vRouter keeps for every packet
//! of a policy-enabled vif, or through a nexthop with the Policy flag.
//!
//! A flow's index is deterministic, as in the vRouter: the key's hash
//! ([`FlowKey::hash`]) modulo the main table size, rounded down to a bucket
//! of four entries, takes the first free entry of the bucket; when all four
//! are taken it takes the head of the overflow table's free list and hangs
//! on the bucket's chain. The table is stored sparsely (only the entries in
//! use), so a vRouter with a 524,288-entry table and a handful of flows holds
//! a handful of entries.

mod key;
mod program;

use std::net::Ipv4Addr;

use hashbrown::HashMap;

pub use key::{AF_INET, AF_INET6, FlowKey, IPV4_KEY_LEN, IPV6_KEY_LEN, KeyBytes, vr_hash};
pub use program::FlowRequest;

use crate::ids::{NhId, VifId, VrfId};

/// The default number of main flow table entries (`VR_DEF_FLOW_ENTRIES`).
pub const DEFAULT_FLOW_ENTRIES: u32 = 512 * 1024;

/// Entries per hash bucket (`VR_HENTRIES_PER_BUCKET`).
pub const BUCKET_SIZE: u32 = 4;

/// Packets a Hold flow queues (`VR_MAX_FLOW_QUEUE_ENTRIES`).
pub const MAX_QUEUED: usize = 3;

/// The overflow table size the vRouter derives from the main table's
/// (`vr_compute_size_oflow_table`): a fifth, rounded up to a multiple of 1024.
pub const fn overflow_entries(entries: u32) -> u32 {
    ((entries / 5) + 1023) & !1023
}

/// `entries` rounded up to whole buckets, at least one (`__vr_htable_create`).
fn whole_buckets(entries: u32) -> u32 {
    entries
        .max(1)
        .div_ceil(BUCKET_SIZE)
        .min(u32::MAX / BUCKET_SIZE)
        * BUCKET_SIZE
}

/// What a flow does with its packets (`VR_FLOW_ACTION_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowAction {
    /// `D`: drop, counted as `Flow Action Drop`.
    Drop,
    /// `H`: queue until the agent decides.
    Hold,
    /// `F`: forward.
    Forward,
    /// `N`: rewrite addresses and ports from the reverse flow's key (the
    /// [`FlowFlags`] SNAT, SPAT, DNAT and DPAT say which), then forward.
    Nat,
}

impl FlowAction {
    /// The letter `flow -l` prints.
    pub const fn letter(self) -> char {
        match self {
            FlowAction::Drop => 'D',
            FlowAction::Hold => 'H',
            FlowAction::Forward => 'F',
            FlowAction::Nat => 'N',
        }
    }
}

/// Why the agent made a flow drop (`VR_FLOW_DR_*`), printed after `Action:D`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FlowDropReason(pub u8);

impl FlowDropReason {
    /// `Unknown`.
    pub const UNKNOWN: FlowDropReason = FlowDropReason(0x00);
    /// `NoSrcRt`: no route for the source address.
    pub const NO_SRC_ROUTE: FlowDropReason = FlowDropReason(0x04);
    /// `NoDstRt`: no route for the destination address.
    pub const NO_DST_ROUTE: FlowDropReason = FlowDropReason(0x05);
    /// `Policy`: a network-policy rule denies the flow.
    pub const POLICY: FlowDropReason = FlowDropReason(0x15);
    /// `OutPolicy`: the destination network's policy denies it.
    pub const OUT_POLICY: FlowDropReason = FlowDropReason(0x16);
    /// `SG`: a security group denies it.
    pub const SG: FlowDropReason = FlowDropReason(0x17);

    /// The name `flow -l` prints (`flow_get_drop_reason` in `utils/flow.c`),
    /// `None` for a code it has no name for.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "Unknown",
            0x01 => "IntfErr",
            0x02 => "Ipv4Dis",
            0x03 => "VrfErr",
            0x04 => "NoSrcRt",
            0x05 => "NoDstRt",
            0x06 => "Audit",
            0x07 => "VrfChange",
            0x08 => "NoRevFlow",
            0x09 => "RevFlowChng",
            0x0a => "NatChng",
            0x0b => "FlowLim",
            0x0c => "LinkSrcNatErr",
            0x0d => "VrouterInstallFail",
            0x0e => "InvalidL2Flow",
            0x0f => "TSNFlow",
            0x10 => "NoMirrorentry",
            0x11 => "SameFlowRflowKey",
            0x12 => "NoFipPortMap",
            0x13 => "NoSrcRtRpfNh",
            0x14 => "FatFlowNatConflict",
            0x15 => "Policy",
            0x16 => "OutPolicy",
            0x17 => "SG",
            0x18 => "OutSG",
            0x19 => "RevSG",
            0x1a => "RevOutSG",
            0x1b => "FwPolicy",
            0x1c => "OutFwPolicy",
            0x1d => "RevFwPolicy",
            0x1e => "RevOutFwPolicy",
            0x1f => "FWAASPolicy",
            0x20 => "OutFWAASPolicy",
            0x21 => "RevFWAASPolicy",
            0x22 => "RevOutFWAASPolicy",
            _ => return None,
        })
    }
}

macro_rules! bits16 {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $flag:ident = $v:expr,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub u16);

        impl $name {
            $($(#[$fm])* pub const $flag: $name = $name($v);)*

            /// No flags.
            pub const fn empty() -> Self {
                $name(0)
            }

            /// Whether every flag of `other` is set.
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// Set (or clear) the flags of `other`.
            pub fn set(&mut self, other: $name, on: bool) {
                if on {
                    self.0 |= other.0;
                } else {
                    self.0 &= !other.0;
                }
            }
        }

        impl core::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name {
                $name(self.0 | rhs.0)
            }
        }
    };
}

bits16! {
    /// A flow's flags (`fe_flags`, `VR_FLOW_FLAG_*`).
    FlowFlags {
        /// The entry is in use.
        ACTIVE = 0x0001,
        /// Source address rewrite.
        SNAT = 0x0002,
        /// Source port rewrite.
        SPAT = 0x0004,
        /// Destination address rewrite.
        DNAT = 0x0008,
        /// Destination port rewrite.
        DPAT = 0x0010,
        /// Being deleted.
        DELETE_MARKED = 0x0040,
        /// A BGP-as-a-service flow.
        BGP_SERVICE = 0x0080,
        /// Changed by the agent.
        MODIFIED = 0x0100,
        /// Created by the datapath and not yet seen by the agent (`N`).
        NEW_FLOW = 0x0200,
        /// About to be evicted (`Ec`).
        EVICT_CANDIDATE = 0x0400,
        /// Evicted (`E`).
        EVICTED = 0x0800,
        /// The reverse index is valid.
        RFLOW_VALID = 0x1000,
        /// Mirrored.
        MIRROR = 0x2000,
        /// VRF translation: packets continue in the flow's destination VRF.
        VRFT = 0x4000,
        /// A link-local service flow.
        LINK_LOCAL = 0x8000,
    }
}

bits16! {
    /// A TCP flow's state (`fe_tcp_flags`, `VR_FLOW_TCP_*`).
    TcpFlags {
        /// FIN seen in this direction.
        FIN = 0x0001,
        /// Half closed.
        HALF_CLOSE = 0x0002,
        /// FIN seen in the reverse direction.
        FIN_R = 0x0004,
        /// SYN seen in this direction.
        SYN = 0x0008,
        /// SYN seen in the reverse direction.
        SYN_R = 0x0010,
        /// Established.
        ESTABLISHED = 0x0020,
        /// Established, seen from the reverse direction.
        ESTABLISHED_R = 0x0040,
        /// Reset.
        RST = 0x0080,
        /// Dead: the flow pair is evicted after this packet.
        DEAD = 0x8000,
    }
}

impl TcpFlags {
    /// The letters `flow -l` prints after `TCP:`, in its order.
    pub fn letters(self) -> String {
        [
            (TcpFlags::SYN, "S"),
            (TcpFlags::SYN_R, "Sr"),
            (TcpFlags::ESTABLISHED, "E"),
            (TcpFlags::ESTABLISHED_R, "Er"),
            (TcpFlags::FIN, "F"),
            (TcpFlags::FIN_R, "Fr"),
            (TcpFlags::RST, "R"),
            (TcpFlags::HALF_CLOSE, "C"),
            (TcpFlags::DEAD, "D"),
        ]
        .iter()
        .filter(|(f, _)| self.contains(*f))
        .map(|(_, l)| *l)
        .collect()
    }
}

/// A packet a Hold flow queues until the agent decides (`struct
/// vr_packet_node`): the frame as it arrived and its vif.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldPacket {
    /// The vif it arrived on.
    pub ingress: VifId,
    /// The frame as it arrived.
    pub frame: Vec<u8>,
}

/// One flow (`struct vr_flow_entry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowEntry {
    /// The key.
    pub key: FlowKey,
    /// The action.
    pub action: FlowAction,
    /// Why it drops, for [`FlowAction::Drop`].
    pub drop_reason: FlowDropReason,
    /// Flags.
    pub flags: FlowFlags,
    /// TCP state.
    pub tcp: TcpFlags,
    /// The VRF.
    pub vrf: VrfId,
    /// The destination VRF, used with [`FlowFlags::VRFT`].
    pub dvrf: VrfId,
    /// The reverse flow's index (`fe_rflow`).
    pub rflow: Option<u32>,
    /// The reverse-path nexthop, `S(nh)`: the packet's source must be
    /// valid for it (`nh_validate_src`); nh 0 turns the check off.
    pub src_nh: NhId,
    /// The ECMP member the flow is pinned to (`E:n`).
    pub ecmp_index: Option<u8>,
    /// The fabric vif the agent pins the flow's tunnel to when the tunnel
    /// nexthop has Underlay ECMP (`fe_underlay_ecmp_index`). Kept and
    /// printed; vrsim models one fabric vif, so it changes no forwarding.
    pub underlay_ecmp_index: Option<u8>,
    /// Packets counted.
    pub packets: u32,
    /// Bytes counted.
    pub bytes: u32,
    /// The generation: how many times the entry's slot has been taken.
    pub generation: u8,
    /// The UDP source port of tunnels the flow's packets take (`SPort`).
    pub udp_sport: u16,
    /// A TTL the flow rewrites its packets to (0: none).
    pub ttl: u8,
    /// Where the last packet came from (`Sinfo`): the outer source address
    /// for fabric packets, the vif index for a VM's.
    pub src_info: u32,
    /// The last TCP sequence number of a SYN, and the last ACK.
    pub(crate) tcp_seq: u32,
    pub(crate) tcp_ack: u32,
    /// Packets held while the action is Hold.
    pub held: Vec<HeldPacket>,
    /// Where it sits in the table.
    pub(crate) index: u32,
}

impl FlowEntry {
    fn new(key: FlowKey, generation: u8) -> Self {
        FlowEntry {
            key,
            action: FlowAction::Hold,
            drop_reason: FlowDropReason::UNKNOWN,
            flags: FlowFlags::ACTIVE,
            tcp: TcpFlags::empty(),
            vrf: VrfId::from(0),
            dvrf: VrfId::from(0),
            rflow: None,
            src_nh: NhId::DISCARD,
            ecmp_index: None,
            underlay_ecmp_index: None,
            packets: 0,
            bytes: 0,
            generation,
            udp_sport: 0,
            ttl: 0,
            src_info: 0,
            tcp_seq: 0,
            tcp_ack: 0,
            held: Vec::new(),
            index: 0,
        }
    }

    /// `Sinfo` as `flow -l` prints it: the 32-bit value read as an IPv4
    /// address in memory order (a vif index 3 prints as `3.0.0.0`).
    pub fn src_info_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.src_info.to_le_bytes())
    }
}

/// The flow table's counters (`vr_flow_table_info`), as `flow -l` heads
/// its listing with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowTableStats {
    /// Hold flows the datapath created on a miss.
    pub created: u64,
    /// Flows the agent added.
    pub added: u64,
    /// Flows deleted (by the agent, or evicted).
    pub deleted: u64,
    /// Changes to flows other than a Hold flow's first decision.
    pub changed: u64,
    /// Hold flows the agent decided.
    pub processed: u64,
}

/// The flow table: main buckets and the overflow table.
#[derive(Debug, Clone)]
pub struct FlowTable {
    hentries: u32,
    oentries: u32,
    /// The flows by key: a hit is one probe (`vr_find_flow`).
    entries: HashMap<FlowKey, FlowEntry>,
    /// Each index in use, with its flow's key.
    by_index: HashMap<u32, FlowKey>,
    /// Each slot's generation, kept after its flow is deleted.
    gens: HashMap<u32, u8>,
    /// Overflow entries freed, reused last-freed first; then the ones never used.
    oflow_free: Vec<u32>,
    oflow_unused: u32,
    /// Overflow entries hung on the last entry of a bucket, newest first.
    chains: HashMap<u32, Vec<u32>>,
    /// Entries the datapath evicted (`vr_flow_evict_flow`): out of the hash
    /// table, so no packet finds them and their slot can be taken again, but
    /// still Active and Evicted until then, as `flow --get` shows them.
    evicted: HashMap<u32, FlowEntry>,
    /// Held packets evicted flows dropped, not yet counted.
    unusable: u64,
    stats: FlowTableStats,
}

impl Default for FlowTable {
    fn default() -> Self {
        FlowTable::new(DEFAULT_FLOW_ENTRIES)
    }
}

impl FlowTable {
    /// A table of `entries` main entries (rounded up to whole buckets, at
    /// least one) and the overflow table the vRouter sizes from them.
    pub fn new(entries: u32) -> Self {
        let hentries = whole_buckets(entries);
        FlowTable::with_overflow(hentries, overflow_entries(hentries))
    }

    /// A table of `entries` main entries and exactly `oentries` overflow
    /// entries (the `vr_oflow_entries` parameter; 0 for none).
    pub fn with_overflow(entries: u32, oentries: u32) -> Self {
        let hentries = whole_buckets(entries);
        FlowTable {
            hentries,
            oentries: oentries.min(u32::MAX - hentries),
            entries: HashMap::new(),
            by_index: HashMap::new(),
            gens: HashMap::new(),
            oflow_free: Vec::new(),
            oflow_unused: 0,
            chains: HashMap::new(),
            evicted: HashMap::new(),
            unusable: 0,
            stats: FlowTableStats::default(),
        }
    }

    /// Main entries.
    pub fn main_entries(&self) -> u32 {
        self.hentries
    }

    /// Overflow entries.
    pub fn overflow_entries(&self) -> u32 {
        self.oentries
    }

    /// Flows in use.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no flow is in use.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Overflow entries in use.
    pub fn used_overflow(&self) -> usize {
        self.by_index
            .keys()
            .filter(|&&i| i >= self.hentries)
            .count()
    }

    /// The counters.
    pub fn stats(&self) -> FlowTableStats {
        self.stats
    }

    /// Count a Hold flow the datapath created on a miss.
    pub(crate) fn count_created(&mut self) {
        self.stats.created += 1;
    }

    /// Evict the flow at `index` and its reverse flow when TCP made the
    /// pair dead (`vr_flow_mark_evict`, `vr_flow_evict_flow`): the reverse
    /// flow goes too when it is dead, points back (or nowhere) and is not
    /// in Hold. An evicted entry leaves the hash table, keeps Active and
    /// gains Evicted, and is reset as `__vr_flow_reset_entry` resets it.
    pub(crate) fn evict_if_dead(&mut self, index: u32) {
        let Some(e) = self.get(index) else {
            return;
        };
        if !e.tcp.contains(TcpFlags::DEAD) {
            return;
        }
        // With a reverse flow, the forward flow goes only if the reverse does.
        let Some(r) = e.rflow.filter(|r| self.get(*r).is_some()) else {
            self.evict(index);
            return;
        };
        let both = self.get(r).is_some_and(|r| {
            r.tcp.contains(TcpFlags::DEAD)
                && r.rflow.is_none_or(|back| back == index)
                && r.action != FlowAction::Hold
        });
        if both {
            self.evict(r);
            self.evict(index);
        }
    }

    /// Packets an eviction dropped from Hold queues, to be counted as
    /// `Flow Unusable` by the router: taken, so each is counted once.
    pub(crate) fn take_unusable(&mut self) -> u64 {
        core::mem::take(&mut self.unusable)
    }

    fn evict(&mut self, index: u32) {
        let Some(mut e) = self.remove(index) else {
            return;
        };
        let keep = FlowFlags::ACTIVE.0
            | FlowFlags::EVICTED.0
            | FlowFlags::NEW_FLOW.0
            | FlowFlags::DELETE_MARKED.0;
        e.flags = FlowFlags((e.flags.0 | FlowFlags::EVICTED.0) & keep);
        e.action = FlowAction::Drop;
        e.rflow = None;
        e.src_nh = NhId::DISCARD;
        e.ecmp_index = None;
        e.underlay_ecmp_index = None;
        e.udp_sport = 0;
        e.tcp = TcpFlags::empty();
        e.ttl = 0;
        e.src_info = 0;
        self.unusable += e.held.len() as u64;
        e.held.clear();
        self.evicted.insert(index, e);
    }

    /// The evicted entry at `index`, while its slot is not taken again.
    pub fn evicted(&self, index: u32) -> Option<&FlowEntry> {
        self.evicted.get(&index)
    }

    pub(crate) fn stats_mut(&mut self) -> &mut FlowTableStats {
        &mut self.stats
    }

    /// The first entry of the bucket `key` hashes to (`vr_htable_find_free_hentry`).
    pub fn bucket_of(&self, key: &FlowKey) -> u32 {
        let h = key.hash() % self.hentries;
        h & !(BUCKET_SIZE - 1)
    }

    /// The index of the flow with this key (`vr_find_flow`).
    #[inline]
    pub fn find(&self, key: &FlowKey) -> Option<u32> {
        self.entries.get(key).map(|e| e.index)
    }

    /// The flow with this key and its index, to change: one probe, for
    /// the datapath's hits.
    #[inline]
    pub(crate) fn find_mut(&mut self, key: &FlowKey) -> Option<(u32, &mut FlowEntry)> {
        self.entries.get_mut(key).map(|e| (e.index, e))
    }

    /// The flow at `index`.
    #[inline]
    pub fn get(&self, index: u32) -> Option<&FlowEntry> {
        self.by_index.get(&index).and_then(|k| self.entries.get(k))
    }

    /// The flow at `index`, to change (not its key: the table is keyed by it).
    #[inline]
    pub(crate) fn get_mut(&mut self, index: u32) -> Option<&mut FlowEntry> {
        let key = self.by_index.get(&index)?;
        self.entries.get_mut(key)
    }

    /// Take an entry for `key` (`vr_flow_table_get_free_entry`): the first
    /// free entry of its bucket, else the head of the overflow free list;
    /// `None` when both are full (`Flow Table Full`). The key must not be
    /// in the table. The new entry is Active, in Hold, generation bumped.
    pub fn insert(&mut self, key: FlowKey) -> Option<u32> {
        debug_assert!(self.find(&key).is_none());
        let bucket = self.bucket_of(&key);
        let index = match (bucket..bucket + BUCKET_SIZE).find(|i| !self.by_index.contains_key(i)) {
            Some(i) => i,
            None => {
                let o = self.take_overflow()?;
                let i = self.hentries + o;
                self.chains
                    .entry(bucket + BUCKET_SIZE - 1)
                    .or_default()
                    .insert(0, i);
                i
            }
        };
        let generation = self.gens.entry(index).or_insert(0);
        *generation = generation.wrapping_add(1);
        let mut entry = FlowEntry::new(key, *generation);
        entry.index = index;
        self.evicted.remove(&index);
        self.entries.insert(key, entry);
        self.by_index.insert(index, key);
        Some(index)
    }

    fn take_overflow(&mut self) -> Option<u32> {
        if let Some(o) = self.oflow_free.pop() {
            return Some(o);
        }
        (self.oflow_unused < self.oentries).then(|| {
            self.oflow_unused += 1;
            self.oflow_unused - 1
        })
    }

    /// Free the entry at `index` (its slot keeps its generation). The
    /// reverse flow, if any, is left alone; its link goes stale as in the
    /// vRouter, which is why the reverse-valid flag is checked before use.
    pub fn remove(&mut self, index: u32) -> Option<FlowEntry> {
        let key = self.by_index.remove(&index)?;
        let entry = self.entries.remove(&key)?;
        if index >= self.hentries {
            self.oflow_free.push(index - self.hentries);
            // The chain it hangs on is its key's bucket's.
            let head = self.bucket_of(&entry.key) + BUCKET_SIZE - 1;
            if let Some(chain) = self.chains.get_mut(&head) {
                chain.retain(|&i| i != index);
                if chain.is_empty() {
                    self.chains.remove(&head);
                }
            }
        }
        self.stats.deleted += 1;
        Some(entry)
    }

    /// Every flow in index order (main table, then overflow).
    pub fn iter(&self) -> impl Iterator<Item = (u32, &FlowEntry)> {
        let mut indices: Vec<u32> = self.by_index.keys().copied().collect();
        indices.sort_unstable();
        indices
            .into_iter()
            .filter_map(move |i| self.get(i).map(|e| (i, e)))
    }

    /// The overflow entries hung on main entry `index`, newest first.
    pub fn overflow_chain(&self, index: u32) -> &[u32] {
        self.chains.get(&index).map_or(&[], Vec::as_slice)
    }

    /// Remove every flow.
    pub fn clear(&mut self) {
        let n = self.entries.len() as u64;
        self.entries.clear();
        self.by_index.clear();
        self.evicted.clear();
        self.chains.clear();
        self.oflow_free.clear();
        self.oflow_unused = 0;
        self.stats.deleted += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn icmp(nh: u32, src: [u8; 4], dst: [u8; 4], id: u16) -> FlowKey {
        FlowKey {
            proto: 1,
            sport: id,
            dport: 0,
            nh: NhId::new(nh).expect("in range"),
            src: src.into(),
            dst: dst.into(),
        }
    }

    #[test]
    fn the_overflow_table_is_sized_as_the_vrouter_sizes_it() {
        // `flow -l` on a default vRouter: "entries 629760" = 524288 + 105472.
        let t = FlowTable::default();
        assert_eq!(t.main_entries() + t.overflow_entries(), 629_760);
    }

    /// tf-vrouter `tests/test_cem_17211.py`: an ICMP error sent by vif 3
    /// (nh 23) quoting an echo from 2.1.1.4 to 1.1.1.7 with id 1136 is keyed
    /// on the quoted header reversed, and lands at index 338668.
    #[test]
    fn the_cem_17211_icmp_error_key_lands_at_338668() {
        let mut t = FlowTable::default();
        let key = icmp(23, [1, 1, 1, 7], [2, 1, 1, 4], 1136);
        assert_eq!(t.insert(key), Some(338_668));
    }

    /// The indices in the `flow -l` output of tf-vrouter's
    /// `tests/topo_base/*.py` docstrings (flows the tests add through the
    /// agent's interface, each into an empty table).
    #[test]
    fn the_topo_base_flows_land_where_the_real_vrouter_put_them() {
        for (key, index) in [
            (icmp(23, [1, 1, 1, 4], [1, 1, 1, 5], 1136), 147_464),
            (icmp(28, [1, 1, 1, 5], [1, 1, 1, 4], 1136), 239_712),
            (icmp(38, [1, 1, 1, 3], [1, 1, 1, 5], 4145), 255_616),
            (icmp(38, [1, 1, 1, 5], [1, 1, 1, 3], 4145), 410_748),
            (icmp(38, [1, 0, 0, 3], [1, 0, 0, 5], 4145), 55_764),
            (icmp(38, [1, 0, 0, 5], [1, 0, 0, 3], 4145), 385_300),
        ] {
            let mut t = FlowTable::default();
            assert_eq!(t.insert(key), Some(index), "{key:?}");
        }
    }

    #[test]
    fn a_full_bucket_spills_into_the_overflow_table_then_the_table_is_full() {
        let mut t = FlowTable::with_overflow(4, 2);
        let keys: Vec<FlowKey> = (0..7)
            .map(|i| icmp(5, [10, 0, 0, 1], [10, 0, 0, 2], i))
            .collect();
        let got: Vec<Option<u32>> = keys.iter().map(|k| t.insert(*k)).collect();
        assert_eq!(
            got,
            [Some(0), Some(1), Some(2), Some(3), Some(4), Some(5), None]
        );
        assert_eq!(t.overflow_chain(3), &[5, 4]);
        assert_eq!(t.used_overflow(), 2);
        // A freed overflow entry is the next one taken; its generation goes on.
        t.remove(4).expect("in use");
        assert_eq!(t.overflow_chain(3), &[5]);
        assert_eq!(t.insert(keys[6]), Some(4));
        assert_eq!(t.get(4).map(|e| e.generation), Some(2));
        assert_eq!(t.find(&keys[6]), Some(4));
        assert_eq!(t.find(&keys[4]), None);
    }

    #[test]
    fn sinfo_prints_a_vif_index_as_the_vrouter_does() {
        let mut e = FlowEntry::new(icmp(5, [1, 1, 1, 1], [2, 2, 2, 2], 1), 1);
        e.src_info = 3;
        assert_eq!(e.src_info_addr(), Ipv4Addr::new(3, 0, 0, 0));
    }

    #[test]
    fn tcp_letters_follow_flow_l() {
        let t = TcpFlags::SYN | TcpFlags::SYN_R | TcpFlags::ESTABLISHED | TcpFlags::DEAD;
        assert_eq!(t.letters(), "SSrED");
    }
}
