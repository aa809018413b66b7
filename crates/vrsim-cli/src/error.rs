//! What can go wrong in a `vrsim` command, as one type: the library's own
//! errors, passed through, and the command line's (options that do not
//! parse, objects the scenario does not have, files and sockets). `main`
//! prints it after `vrsim: ` and exits with status 2.

use std::path::PathBuf;

use vrsim::dataplane::DataplaneError;
use vrsim::fabric::FabricError;
use vrsim::fabric::topology::TopologyError;
use vrsim_bgp::live::LiveError;

/// A command that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum CliError {
    /// The scenario cannot be loaded.
    #[error(transparent)]
    Scenario {
        /// Its error.
        #[from]
        source: TopologyError,
    },
    /// A conformance case path cannot be read.
    #[error(transparent)]
    Case {
        /// Its error.
        #[from]
        source: vrsim::conformance::CaseError,
    },
    /// A scenario the generator cannot write.
    #[error(transparent)]
    Generate {
        /// Its error.
        #[from]
        source: vrsim::fabric::topology::generate::ScaleError,
    },
    /// The fabric refused a request (an unknown host, a flow it cannot send).
    #[error(transparent)]
    Fabric {
        /// Its error.
        #[from]
        source: FabricError,
    },
    /// A what-if option the fabric refused.
    #[error("{option}: {source}")]
    WhatIf {
        /// The option and its value (`--bgpaas-down dockerhost`).
        option: String,
        /// Why.
        source: FabricError,
    },
    /// An option value that does not parse.
    #[error("{option} {value}: {problem}")]
    BadValue {
        /// The option.
        option: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A number outside its id's range.
    #[error("{what} {value} out of range")]
    OutOfRange {
        /// The kind of id (`vif`, `nh`, `mpls label`, `vnid`).
        what: &'static str,
        /// The number given.
        value: u32,
    },
    /// A `--hex` byte that is not two hex digits.
    #[error("--hex: {byte:?} is not a hex byte")]
    BadHex {
        /// The two characters.
        byte: String,
    },
    /// A command given the wrong options, or none it needs.
    #[error("{message}")]
    Usage {
        /// What the command needs.
        message: &'static str,
    },
    /// The scenario has no object of a kind a command needs.
    #[error("the scenario has no {what}")]
    NoneInScenario {
        /// The kind (`gateway`, `compute node`).
        what: &'static str,
    },
    /// No gateway of this name.
    #[error("no gateway {name}")]
    NoGateway {
        /// The name asked for.
        name: String,
    },
    /// No compute node of this name.
    #[error("no compute node {node} in {scenario}")]
    NoComputeNode {
        /// The name asked for.
        node: String,
        /// The scenario.
        scenario: String,
    },
    /// No scenario frame of this name.
    #[error("no scenario frame {name:?} (see `vrsim frames`)")]
    NoFrame {
        /// The name asked for.
        name: String,
    },
    /// A file an option names cannot be read or written.
    #[error("{option} {}: {source}", path.display())]
    File {
        /// The option (`--pcap`, `--flows`, `--control`).
        option: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The capture cannot be written.
    #[error("--pcap {}: {source}", path.display())]
    Capture {
        /// The file.
        path: PathBuf,
        /// Why.
        source: pcap_file::PcapError,
    },
    /// A capture that cannot be read.
    #[error("{}: {source}", path.display())]
    ReadCapture {
        /// The file.
        path: PathBuf,
        /// Why.
        source: pcap_file::PcapError,
    },
    /// JSON output failed.
    #[error(transparent)]
    Json {
        /// Its error.
        #[from]
        source: serde_json::Error,
    },
    /// A dump of an object the vRouter does not have.
    #[error(transparent)]
    Dump {
        /// Its error.
        #[from]
        source: DataplaneError,
    },
    /// The live BGP runner refused to start.
    #[error(transparent)]
    Live {
        /// Its error.
        #[from]
        source: LiveError,
    },
    /// Another `vrsim serve` answers on the control socket.
    #[error("--control {}: another vrsim serve is answering there", path.display())]
    ControlBusy {
        /// The socket.
        path: PathBuf,
    },
    /// No `vrsim serve` answers on the control socket.
    #[error("--control {}: {source} (is vrsim serve running there?)", path.display())]
    NoServer {
        /// The socket.
        path: PathBuf,
        /// Why the connection failed.
        source: std::io::Error,
    },
    /// A control command word that the line protocol cannot carry.
    #[error("{word:?}: the control socket takes words without line breaks")]
    SpacedWord {
        /// The word.
        word: String,
    },
    /// Talking to `vrsim serve` failed midway.
    #[error(transparent)]
    Control {
        /// Why.
        source: std::io::Error,
    },
    /// Standard output cannot be written.
    #[error("cannot write the output: {source}")]
    Output {
        /// Why.
        source: std::io::Error,
    },
    /// `vrsim serve` answered something that is not a status line.
    #[error("vrsim serve answered {status:?}")]
    BadAnswer {
        /// What came instead.
        status: String,
    },
}
