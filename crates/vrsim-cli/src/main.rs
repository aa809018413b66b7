//! `vrsim`: the vRouter's own CLI views (`vif`, `nh`, `rt`, `mpls`, `vxlan`,
//! `dropstats`) of a simulated compute node, and `inject` to trace a frame
//! through it. For now the node is scenario A's compute01, programmed through
//! the dataplane API exactly as the control plane will program it.

// A command line prints its results.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::Ipv4Net;
use vrsim::dataplane::dump::{self, Layout};
use vrsim::dataplane::trace::Trace;
use vrsim::dataplane::{Disposition, NhId, PacketBuf, VRouter, VifId, VrfId};
use vrsim::seed;
use vrsim::wire::{MplsLabel, Vni, dissect};

/// Simulate the Tungsten Fabric vRouter: scenario A's compute01.
#[derive(Debug, Parser)]
#[command(name = "vrsim", version, about)]
struct Cli {
    /// Leave out the BGPaaS route 192.168.100.0/26 (the Calico session is down).
    #[arg(long, global = true)]
    without_bgpaas: bool,
    /// Turn RPF off on the `public` network.
    #[arg(long, global = true)]
    rpf_off: bool,
    /// The output layout of `vif` and `rt`: the seed document's (2017) or today's.
    #[arg(long, global = true, value_enum, default_value_t = LayoutArg::Legacy)]
    layout: LayoutArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LayoutArg {
    Legacy,
    Current,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Interfaces: `vif --list`, `vif --get N`.
    Vif(ListOrGet),
    /// Nexthops: `nh --list`, `nh --get N`.
    Nh(ListOrGet),
    /// Routes: `rt --dump VRF`, `rt --get A.B.C.D/L --vrf VRF`.
    Rt(RtArgs),
    /// The MPLS label table: `mpls --dump`, `mpls --get L`.
    Mpls(DumpOrGet),
    /// The VXLAN table: `vxlan --dump`, `vxlan --get VNID`.
    Vxlan(DumpOrGet),
    /// Drop counters.
    Dropstats,
    /// Send a frame into the vRouter and print its trace, disposition and the counters it changed.
    Inject(InjectArgs),
    /// List the scenario frames `inject --frame` knows.
    Frames,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct ListOrGet {
    /// List all.
    #[arg(long)]
    list: bool,
    /// Show one.
    #[arg(long, value_name = "ID")]
    get: Option<u32>,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct DumpOrGet {
    /// Dump the table.
    #[arg(long)]
    dump: bool,
    /// Show one entry.
    #[arg(long, value_name = "KEY")]
    get: Option<u32>,
}

#[derive(Debug, Args)]
struct RtArgs {
    /// Dump a VRF's inet table.
    #[arg(long, value_name = "VRF", conflicts_with = "get")]
    dump: Option<u16>,
    /// Look up A.B.C.D/L (with --vrf).
    #[arg(long, value_name = "PREFIX", requires = "vrf")]
    get: Option<Ipv4Net>,
    /// The VRF of --get.
    #[arg(long)]
    vrf: Option<u16>,
}

#[derive(Debug, Args)]
struct InjectArgs {
    /// The vif the frame arrives on.
    #[arg(long)]
    vif: u16,
    /// A scenario frame by name (see `vrsim frames`).
    #[arg(long, conflicts_with = "hex", required_unless_present = "hex")]
    frame: Option<String>,
    /// The frame as hex bytes (spaces and colons allowed).
    #[arg(long)]
    hex: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("vrsim: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<ExitCode, String> {
    let mut router =
        seed::compute01(!cli.without_bgpaas).map_err(|e| format!("building compute01: {e}"))?;
    if cli.rpf_off {
        router.set_rpf(seed::VRF_PUBLIC, false);
    }
    let layout = match cli.layout {
        LayoutArg::Legacy => Layout::Legacy,
        LayoutArg::Current => Layout::Current,
    };
    let text = match &cli.command {
        Command::Vif(a) => match a.get {
            Some(id) => dump::vif_get(&router, vif_id(id)?, layout).map_err(response)?,
            None => dump::vif_list(&router, layout),
        },
        Command::Nh(a) => match a.get {
            Some(id) => dump::nh_get(&router, nh_id(id)?).map_err(response)?,
            None => dump::nh_list(&router),
        },
        Command::Rt(a) => match (a.dump, a.get, a.vrf) {
            (Some(vrf), _, _) => {
                dump::rt_dump(&router, VrfId::from(vrf), layout).map_err(response)?
            }
            (None, Some(prefix), Some(vrf)) => {
                dump::rt_get(&router, VrfId::from(vrf), prefix, layout).map_err(response)?
            }
            _ => return Err("rt needs --dump VRF, or --get PREFIX --vrf VRF".into()),
        },
        Command::Mpls(a) => match a.get {
            Some(l) => {
                let label =
                    MplsLabel::new(l).ok_or_else(|| format!("mpls label {l} out of range"))?;
                dump::mpls_get(&router, label).map_err(response)?
            }
            None => dump::mpls_dump(&router),
        },
        Command::Vxlan(a) => match a.get {
            Some(v) => {
                let vni = Vni::new(v).ok_or_else(|| format!("vnid {v} out of range"))?;
                dump::vxlan_get(&router, vni).map_err(response)?
            }
            None => dump::vxlan_dump(&router),
        },
        Command::Dropstats => dump::dropstats(&router),
        Command::Frames => seed::frames()
            .iter()
            .map(|f| format!("{:<26}{}\n", f.name, f.description))
            .collect(),
        Command::Inject(a) => return inject(&mut router, a),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Print the vRouter CLI's response line for a failed get, and return our own message.
fn response(e: dump::DumpError) -> String {
    println!("{}", e.vrouter_response());
    e.to_string()
}

fn vif_id(n: u32) -> Result<VifId, String> {
    u16::try_from(n)
        .ok()
        .and_then(VifId::new)
        .ok_or_else(|| format!("vif {n} out of range"))
}

fn nh_id(n: u32) -> Result<NhId, String> {
    NhId::new(n).ok_or_else(|| format!("nh {n} out of range"))
}

fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| !matches!(b, b' ' | b':' | b'\n' | b'\t'))
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err("--hex needs an even number of hex digits".into());
    }
    digits
        .chunks(2)
        .map(|pair| {
            if !pair.iter().all(u8::is_ascii_hexdigit) {
                return Err(format!(
                    "--hex: {:?} is not a hex byte",
                    String::from_utf8_lossy(pair)
                ));
            }
            let text = std::str::from_utf8(pair).map_err(|_| "--hex: not hex".to_string())?;
            u8::from_str_radix(text, 16).map_err(|_| format!("--hex: {text:?} is not a hex byte"))
        })
        .collect()
}

/// The counters a frame changed: per vif and global drops.
fn counter_lines(before: &VRouter, after: &VRouter) -> Vec<String> {
    let mut lines = Vec::new();
    for v in after.vifs() {
        let old = before.vif(v.id()).map(|o| o.stats).unwrap_or_default();
        let new = v.stats;
        for (name, o, n) in [
            ("rx packets", old.rx_packets, new.rx_packets),
            ("rx bytes", old.rx_bytes, new.rx_bytes),
            ("rx errors", old.rx_errors, new.rx_errors),
            ("tx packets", old.tx_packets, new.tx_packets),
            ("tx bytes", old.tx_bytes, new.tx_bytes),
            ("tx errors", old.tx_errors, new.tx_errors),
        ] {
            if o != n {
                lines.push(format!("vif0/{} {name}: {o} -> {n}", v.id()));
            }
        }
    }
    for v in after.vifs() {
        for (reason, n) in v.drops.non_zero() {
            let o = before.vif(v.id()).map_or(0, |b| b.drops.get(reason));
            if o != n {
                lines.push(format!("vif0/{} drops {reason}: {o} -> {n}", v.id()));
            }
        }
    }
    for (reason, n) in after.drops().non_zero() {
        let o = before.drops().get(reason);
        if o != n {
            lines.push(format!("dropstats {reason}: {o} -> {n}"));
        }
    }
    lines
}

fn inject(router: &mut VRouter, a: &InjectArgs) -> Result<ExitCode, String> {
    let frame = match (&a.frame, &a.hex) {
        (Some(name), _) => seed::frames()
            .into_iter()
            .find(|f| f.name == name.as_str())
            .map(|f| f.bytes)
            .ok_or_else(|| format!("no scenario frame {name:?} (see `vrsim frames`)"))?,
        (None, Some(hex)) => parse_hex(hex)?,
        (None, None) => return Err("inject needs --frame NAME or --hex BYTES".into()),
    };
    let vif = VifId::new(a.vif).ok_or_else(|| format!("vif {} out of range", a.vif))?;
    let before = router.clone();
    let mut buf = PacketBuf::with_capacity(9216);
    let mut trace = Trace::default();
    println!("input ({} bytes):\n{}\n", frame.len(), dissect(&frame));
    let outcome = router.process(vif, &frame, &mut buf, &mut trace);
    println!("trace:\n{trace}\n");
    match outcome {
        Disposition::Transmit { vif } => {
            println!(
                "disposition: transmitted on vif0/{vif} ({} bytes)\n{}\n",
                buf.len(),
                dissect(buf.frame())
            )
        }
        Disposition::ToHost { vif } => println!("disposition: to the host via vif0/{vif}\n"),
        Disposition::Drop(reason) => println!("disposition: dropped ({reason})\n"),
    }
    println!("counters:");
    for line in counter_lines(&before, router) {
        println!("  {line}");
    }
    Ok(ExitCode::SUCCESS)
}
