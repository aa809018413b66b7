//! `vrsim dissect FILE`: every frame of a pcap or pcapng capture, listed by
//! vrsim's own dissector (`vrsim_wire::dissect`), so that a trace's capture
//! can be read without Wireshark.

use std::path::Path;
use std::process::ExitCode;

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::PcapNgReader;
use pcap_file::pcapng::blocks::Block;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use vrsim::wire::dissect as dissect_frame;

use crate::error::CliError;

/// The pcapng magic (a section header block's type), as the file starts.
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Print every frame of `path`: its number, length, the interface it was
/// captured on (pcapng), and its headers.
pub(crate) fn dissect(path: &Path, o: &mut String) -> Result<ExitCode, CliError> {
    let bytes = std::fs::read(path).map_err(|source| CliError::File {
        option: "dissect",
        path: path.to_owned(),
        source,
    })?;
    let bad = |source| CliError::ReadCapture {
        path: path.to_owned(),
        source,
    };
    let frames = if bytes.starts_with(&PCAPNG_MAGIC) {
        pcapng_frames(&bytes).map_err(bad)?
    } else {
        pcap_frames(&bytes).map_err(bad)?
    };
    for (i, (iface, frame)) in frames.iter().enumerate() {
        let on = iface
            .as_deref()
            .map_or(String::new(), |n| format!(" on {n}"));
        o.push_str(&format!(
            "frame {} ({} bytes{on}):\n{}\n",
            i + 1,
            frame.len(),
            dissect_frame(frame)
        ));
    }
    Ok(ExitCode::SUCCESS)
}

type Frames = Vec<(Option<String>, Vec<u8>)>;

fn pcap_frames(bytes: &[u8]) -> Result<Frames, pcap_file::PcapError> {
    let mut reader = PcapReader::new(bytes)?;
    let mut out = Vec::new();
    while let Some(packet) = reader.next_packet() {
        out.push((None, packet?.data.into_owned()));
    }
    Ok(out)
}

fn pcapng_frames(bytes: &[u8]) -> Result<Frames, pcap_file::PcapError> {
    let mut reader = PcapNgReader::new(bytes)?;
    let mut names: Vec<Option<String>> = Vec::new();
    let mut out = Vec::new();
    while let Some(block) = reader.next_block() {
        match block? {
            Block::InterfaceDescription(d) => names.push(d.options.iter().find_map(|o| match o {
                InterfaceDescriptionOption::IfName(n) => Some(n.to_string()),
                _ => None,
            })),
            Block::EnhancedPacket(p) => {
                let name = usize::try_from(p.interface_id)
                    .ok()
                    .and_then(|i| names.get(i).cloned().flatten());
                out.push((name, p.data.into_owned()));
            }
            Block::SimplePacket(p) => out.push((None, p.data.into_owned())),
            _ => {}
        }
    }
    Ok(out)
}
