//! Traces as packet captures: one pcapng frame per hop as it crosses a link,
//! one interface per link (named `deviceA:port <-> deviceB:port`), and a
//! comment on each frame naming the hop. Opens in Wireshark and tshark.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};

use crate::trace::FabricTrace;

/// One frame on one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFrame {
    /// The link, as `gw-01:ge-0/0/0 <-> fabric:gw-01`.
    pub link: String,
    /// What the frame is: `forward hop 3: gw-01 ge-0/0/0 -> fabric gw-01`.
    pub comment: String,
    /// The frame.
    pub bytes: Vec<u8>,
}

/// The frames of `traces` (labelled, e.g. `forward` and `reply`) on the links
/// they crossed, in order. The frame a hop received crossed the link from the
/// previous hop's egress to its ingress.
pub fn link_frames<'a>(
    traces: impl IntoIterator<Item = (&'a str, &'a FabricTrace)>,
) -> Vec<LinkFrame> {
    let mut out = Vec::new();
    for (label, t) in traces {
        for (i, pair) in t.hops.windows(2).enumerate() {
            let (prev, hop) = (&pair[0], &pair[1]);
            let a = format!("{}:{}", prev.device, prev.egress.as_deref().unwrap_or("?"));
            let b = format!("{}:{}", hop.device, hop.ingress.as_deref().unwrap_or("?"));
            // One name per link, whichever way the frame crosses it.
            let link = if a <= b {
                format!("{a} <-> {b}")
            } else {
                format!("{b} <-> {a}")
            };
            out.push(LinkFrame {
                link,
                comment: format!("{label} hop {}: {a} -> {b}", i + 2),
                bytes: hop.frame.clone(),
            });
        }
    }
    out
}

/// Write `frames` as pcapng: an interface description per link (in the order
/// links are first crossed), frames a millisecond apart from the epoch, so
/// the output is byte-for-byte repeatable.
pub fn write_pcapng<W: Write>(out: W, frames: &[LinkFrame]) -> Result<W, pcap_file::PcapError> {
    let mut writer = PcapNgWriter::new(out)?;
    let mut links: BTreeMap<&str, u32> = BTreeMap::new();
    for (i, f) in (0u64..).zip(frames) {
        let id = match links.get(f.link.as_str()) {
            Some(id) => *id,
            None => {
                let id = u32::try_from(links.len()).unwrap_or(u32::MAX);
                writer.write_pcapng_block(InterfaceDescriptionBlock {
                    linktype: DataLink::ETHERNET,
                    snaplen: 65535,
                    options: vec![InterfaceDescriptionOption::IfName(Cow::Borrowed(&f.link))],
                })?;
                links.insert(&f.link, id);
                id
            }
        };
        let len = u32::try_from(f.bytes.len()).unwrap_or(u32::MAX);
        writer.write_pcapng_block(EnhancedPacketBlock {
            interface_id: id,
            timestamp: Duration::from_millis(i),
            original_len: len,
            data: Cow::Borrowed(&f.bytes),
            options: vec![EnhancedPacketOption::Comment(Cow::Borrowed(&f.comment))],
        })?;
    }
    Ok(writer.into_inner())
}
