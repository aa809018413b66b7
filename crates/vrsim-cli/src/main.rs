//! `vrsim`: end-to-end traces through a scenario's fabric (`trace`), the
//! gateway's `show route`, and the vRouter's own CLI views (`vif`, `nh`,
//! `rt`, `mpls`, `vxlan`, `dropstats`) of one compute node, with `inject` to
//! trace a single frame through it. What-if options change the scenario
//! before the command runs.

// A command line prints its results.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::IpAddr;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;
use std::io::Write;
use vrsim::dataplane::dump::{self, Layout};
use vrsim::dataplane::trace::Trace;
use vrsim::dataplane::{DataplaneError, Disposition, NhId, PacketBuf, VRouter, VifId, VrfId};

use vrsim::fabric::packet::Probe;
use vrsim::fabric::{Fabric, capture, json};
use vrsim::seed;
use vrsim::wire::{MplsLabel, Vni, dissect};

mod capture_file;
mod error;
mod serve;

use error::CliError;

/// Simulate the Tungsten Fabric vRouter: trace packets through a scenario's
/// fabric and show a compute node's vRouter tables.
#[derive(Debug, Parser)]
#[command(name = "vrsim", version, about)]
struct Cli {
    /// The scenario: a built-in name (seed-bgpaas, k8s-rr, bgpaas-ha) or a TOML file.
    #[arg(long, global = true, default_value = "seed-bgpaas")]
    scenario: String,
    /// The compute node the vRouter commands show (default: the scenario's first).
    #[arg(long, global = true)]
    node: Option<String>,
    /// What-if: every BGPaaS session of this VM goes down (repeatable).
    #[arg(long, global = true, value_name = "VM")]
    bgpaas_down: Vec<String>,
    /// What-if: the VM withdraws a prefix, as VM:PREFIX (repeatable).
    #[arg(long, global = true, value_name = "VM:PREFIX")]
    withdraw: Vec<String>,
    /// What-if: turn RPF on or off on the network given with --network.
    #[arg(long, global = true, value_enum, requires = "network")]
    rpf: Option<OnOff>,
    /// What-if: a network-policy rule denying flows, put first among the
    /// rules of the network given with --network (repeatable):
    /// `PROTOCOL SOURCE > DESTINATION` or `<>` for both ways, such as
    /// `icmp any <> 203.0.113.0/24` or `tcp any > 10.1.0.0/16:80`.
    #[arg(long, global = true, value_name = "RULE", requires = "network")]
    deny: Vec<String>,
    /// The network of --rpf and --deny.
    #[arg(long, global = true)]
    network: Option<String>,
    /// The output layout of `vif` and `rt`: the seed document's (2017) or today's.
    #[arg(long, global = true, value_enum, default_value_t = LayoutArg::Legacy)]
    layout: LayoutArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OnOff {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProtoArg {
    Icmp,
    Udp,
    Tcp,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    /// Hop by hop, every lookup.
    Text,
    /// What changes the packet, and the outcome (the golden files' form).
    Minimal,
    /// The `vrsim-trace/1` JSON document (see `vrsim_fabric::json`).
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LayoutArg {
    Legacy,
    Current,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Trace a probe from a host to an address, and the reply.
    Trace(TraceArgs),
    /// Trace flows without and with the what-if options; exit 0 when nothing
    /// changed, 1 when a flow's outcome or path changed, 2 on error.
    Diff(DiffArgs),
    /// The gateway's `show route PREFIX` (and `show dynamic-tunnels database`).
    ShowRoute(ShowRouteArgs),
    /// Dissect every frame of a pcap or pcapng file with vrsim's own dissector.
    Dissect {
        /// The capture (`vrsim trace --pcap`, `seed_frames`, or any Ethernet capture).
        file: std::path::PathBuf,
    },
    /// Run conformance case files (`tests/conformance/`, or your own): one
    /// line per case, then `N passed, M failed`; exit 0 only if all pass.
    Check {
        /// Case files, or directories of `*.toml` case files.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
    },
    /// Write a generated scenario file of any size to standard output (`vrsim
    /// generate --computes 100 --vms-per-compute 10 > big.toml`, then `vrsim
    /// --scenario big.toml trace --from earth --to 100.64.0.1`).
    Generate(GenerateArgs),
    /// Draw the scenario's topology, with a trace's path (`--trace HOST:ADDRESS`).
    Graph(GraphArgs),
    /// List the built-in scenarios.
    Scenarios,
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
    /// Shell completions for bash, zsh, fish, elvish or PowerShell, on
    /// standard output (`vrsim completions bash > ~/.local/share/bash-completion/completions/vrsim`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// The man page, in roff, on standard output (`vrsim man > vrsim.1; man ./vrsim.1`).
    Man,
    /// The flow table: `flow -l`, after the pings given with `--after`
    /// (each a round trip, whose flows the node's agent installs).
    Flow(FlowArgs),
    /// Drop counters.
    Dropstats,
    /// Send a frame into the vRouter and print its trace, disposition and the counters it changed.
    Inject(InjectArgs),
    /// List the scenario frames `inject --frame` knows.
    Frames,
    /// Run the scenario with live BGPaaS sessions (real BGP peers such as
    /// BIRD) and answer commands sent with `vrsim ctl` while it runs.
    Serve(serve::ServeArgs),
    /// Send a command to a running `vrsim serve`: any vrsim command (with its
    /// what-if options, applied to a copy of the live fabric), or `sessions`,
    /// `log`, `stop`.
    Ctl(serve::CtlArgs),
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
struct FlowArgs {
    /// List the flows (`flow -l`; the default).
    #[arg(short = 'l', long)]
    list: bool,
    /// Show one flow in full (`flow --get N`): its expected source, the
    /// routes its addresses match, its state and the drop totals.
    #[arg(long, value_name = "INDEX", conflicts_with = "list")]
    get: Option<u32>,
    /// First trace a ping from HOST to ADDRESS and its reply (repeatable;
    /// in order), so that the table holds the flows they made.
    #[arg(long, value_name = "HOST:ADDRESS")]
    after: Vec<String>,
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
    /// Dump a VRF's inet (or --family inet6) table.
    #[arg(long, value_name = "VRF", conflicts_with = "get")]
    dump: Option<u16>,
    /// Look up A.B.C.D/L or an IPv6 prefix (with --vrf).
    #[arg(long, value_name = "PREFIX", requires = "vrf")]
    get: Option<IpNet>,
    /// The VRF of --get.
    #[arg(long)]
    vrf: Option<u16>,
    /// The table: inet (IPv4, the default) or inet6.
    #[arg(long, value_enum, default_value_t = RtFamily::Inet)]
    family: RtFamily,
}

/// `rt --family`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum RtFamily {
    /// The IPv4 table.
    Inet,
    /// The IPv6 table.
    Inet6,
}

#[derive(Debug, Args)]
struct GraphArgs {
    /// Draw the path of a probe from HOST to ADDRESS (`earth:192.168.100.1`).
    #[arg(long, value_name = "HOST:ADDRESS")]
    trace: Option<String>,
    /// The probe's protocol.
    #[arg(long, value_enum, default_value_t = ProtoArg::Icmp)]
    proto: ProtoArg,
    /// The destination port of UDP and TCP probes.
    #[arg(long, default_value_t = 7)]
    port: u16,
    /// The picture: the topology as Graphviz DOT or a Mermaid flowchart, or
    /// the trace as a Mermaid sequence diagram (ladder).
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    format: GraphFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum GraphFormat {
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (renders in GitHub and GitLab markdown).
    Mermaid,
    /// A standalone SVG picture.
    Svg,
    /// The trace as a Mermaid sequence diagram, one arrow per link crossed.
    Ladder,
}

#[derive(Debug, Args)]
struct TraceArgs {
    /// The host that sends (`earth`, `centos-ssh`, `pod-a`, …).
    #[arg(long)]
    from: String,
    /// The destination address (IPv4 or IPv6).
    #[arg(long)]
    to: IpAddr,
    /// The probe's protocol.
    #[arg(long, value_enum, default_value_t = ProtoArg::Icmp)]
    proto: ProtoArg,
    /// The destination port of UDP and TCP probes.
    #[arg(long, default_value_t = 7)]
    port: u16,
    /// The output form.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,
    /// Also write the frames as they crossed each link to this pcapng file.
    #[arg(long, value_name = "FILE")]
    pcap: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false, id = "flows_or_from")]
struct DiffFlows {
    /// A file of flows, one a line: `FROM TO [icmp | udp PORT | tcp PORT]`.
    #[arg(long, value_name = "FILE", group = "flows_or_from")]
    flows: Option<std::path::PathBuf>,
    /// One flow's sending host (with --to).
    #[arg(long, requires = "to", group = "flows_or_from")]
    from: Option<String>,
    /// Every flow between the fabric's hosts: from each host to each address
    /// of every other host (ICMP), traced on every core.
    #[arg(long, group = "flows_or_from")]
    all: bool,
}

#[derive(Debug, Args)]
struct DiffArgs {
    #[command(flatten)]
    which: DiffFlows,
    /// One flow's destination (with --from; IPv4 or IPv6).
    #[arg(long)]
    to: Option<IpAddr>,
    /// One flow's protocol.
    #[arg(long, value_enum, default_value_t = ProtoArg::Icmp)]
    proto: ProtoArg,
    /// One flow's destination port (UDP, TCP).
    #[arg(long, default_value_t = 7)]
    port: u16,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// Compute nodes.
    #[arg(long, default_value_t = 10)]
    computes: u32,
    /// VMs on each compute node.
    #[arg(long, default_value_t = 10)]
    vms_per_compute: u32,
    /// Virtual networks the VMs are spread over.
    #[arg(long, default_value_t = 1)]
    networks: u32,
    /// No BGPaaS sessions (by default every VM advertises its own /26).
    #[arg(long)]
    no_bgpaas: bool,
    /// The scenario's name.
    #[arg(long, default_value = "generated")]
    name: String,
}

#[derive(Debug, Args)]
struct ShowRouteArgs {
    /// The prefix (IPv4 or IPv6).
    prefix: IpNet,
    /// The gateway (default: the scenario's first).
    #[arg(long)]
    gateway: Option<String>,
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

/// `write!` into a `String` (formatting into a string cannot fail).
macro_rules! say {
    ($o:expr, $($t:tt)*) => { $o.push_str(&format!($($t)*)) };
}

/// `writeln!` into a `String`.
macro_rules! sayln {
    ($o:expr) => { $o.push('\n') };
    ($o:expr, $($t:tt)*) => {{ $o.push_str(&format!($($t)*)); $o.push('\n'); }};
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut o = String::new();
    let result = match &cli.command {
        Command::Serve(a) => serve::serve(&cli, a),
        Command::Ctl(a) => serve::ctl(a),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "vrsim", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => man(),
        Command::Dissect { file } => capture_file::dissect(file, &mut o),
        Command::Check { paths } => check(paths, &mut o),
        Command::Generate(a) => generate(a, &mut o),
        _ => vrsim::scenarios::load(&cli.scenario)
            .map_err(CliError::from)
            .and_then(|mut fabric| run(&cli, &mut fabric, &mut o)),
    };
    emit(&o);
    match result {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("vrsim: {msg}");
            ExitCode::from(2)
        }
    }
}

/// Write the man page to standard output.
fn man() -> Result<ExitCode, CliError> {
    let page = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
    let mut out = std::io::stdout().lock();
    page.render(&mut out)
        .map_err(|source| CliError::Output { source })?;
    Ok(ExitCode::SUCCESS)
}

/// Apply the what-if options to a fabric, in the order given by kind:
/// sessions down, withdrawals, RPF, policy rules.
fn what_if(cli: &Cli, mut fabric: Fabric) -> Result<Fabric, CliError> {
    for vm in &cli.bgpaas_down {
        fabric.bgpaas_down(vm).map_err(|source| CliError::WhatIf {
            option: format!("--bgpaas-down {vm}"),
            source,
        })?;
    }
    for w in &cli.withdraw {
        let (vm, prefix) = w.split_once(':').ok_or_else(|| CliError::BadValue {
            option: "--withdraw",
            value: w.clone(),
            problem: "expected VM:PREFIX".into(),
        })?;
        let prefix: IpNet = prefix.parse().map_err(|_| CliError::BadValue {
            option: "--withdraw",
            value: w.clone(),
            problem: format!("{prefix:?} is not a prefix"),
        })?;
        fabric
            .withdraw(vm, prefix)
            .map_err(|source| CliError::WhatIf {
                option: format!("--withdraw {w}"),
                source,
            })?;
    }
    if let (Some(on), Some(network)) = (cli.rpf, &cli.network) {
        fabric
            .set_rpf(network, matches!(on, OnOff::On))
            .map_err(|source| CliError::WhatIf {
                option: "--rpf".into(),
                source,
            })?;
    }
    for d in &cli.deny {
        let rule: vrsim::control::policy::PolicyRule =
            format!("deny {d}")
                .parse()
                .map_err(
                    |e: vrsim::control::policy::RuleParseError| CliError::BadValue {
                        option: "--deny",
                        value: d.clone(),
                        problem: e.problem,
                    },
                )?;
        let network = cli.network.as_deref().unwrap_or_default();
        fabric
            .add_policy_rule(network, rule)
            .map_err(|source| CliError::WhatIf {
                option: format!("--deny {d}"),
                source,
            })?;
    }
    Ok(fabric)
}

fn probe_of(proto: ProtoArg, port: u16) -> Probe {
    match proto {
        ProtoArg::Icmp => Probe::Icmp,
        ProtoArg::Udp => Probe::Udp(port),
        ProtoArg::Tcp => Probe::Tcp(port),
    }
}

fn trace(fabric: &mut Fabric, a: &TraceArgs, o: &mut String) -> Result<ExitCode, CliError> {
    let probe = probe_of(a.proto, a.port);
    let trip = fabric.probe(&a.from, a.to, probe)?;
    if let Some(path) = &a.pcap {
        let mut traces = vec![("forward", &trip.forward)];
        traces.extend(trip.reply.as_ref().map(|r| ("reply", r)));
        let frames = capture::link_frames(traces);
        let file_error = |source| CliError::File {
            option: "--pcap",
            path: path.clone(),
            source,
        };
        let file = std::fs::File::create(path).map_err(file_error)?;
        capture::write_pcapng(std::io::BufWriter::new(file), &frames)
            .map_err(|source| CliError::Capture {
                path: path.clone(),
                source,
            })?
            .flush()
            .map_err(file_error)?;
    }
    let render = |t: &vrsim::fabric::trace::FabricTrace| match a.format {
        FormatArg::Minimal => t.minimal(),
        _ => format!("{t}\n"),
    };
    if let FormatArg::Json = a.format {
        let doc = json::document(
            fabric.name(),
            &a.from,
            a.to,
            probe,
            &trip.forward,
            trip.reply.as_ref(),
        );
        let text = serde_json::to_string_pretty(&doc)?;
        sayln!(o, "{text}");
        return Ok(ExitCode::SUCCESS);
    }
    sayln!(
        o,
        "{probe} from {} to {} ({}):\n",
        a.from,
        a.to,
        fabric.name()
    );
    say!(o, "{}", render(&trip.forward));
    if let Some(reply) = &trip.reply {
        sayln!(o, "\nreply:\n");
        say!(o, "{}", render(reply));
    }
    Ok(ExitCode::SUCCESS)
}

fn diff(
    before: &Fabric,
    after: &Fabric,
    a: &DiffArgs,
    o: &mut String,
) -> Result<ExitCode, CliError> {
    let flows = match (&a.which.flows, &a.which.from, a.to) {
        _ if a.which.all => vrsim::fabric::diff::all_flows(before),
        (Some(path), _, _) => {
            let text = std::fs::read_to_string(path).map_err(|source| CliError::File {
                option: "--flows",
                path: path.clone(),
                source,
            })?;
            vrsim::fabric::diff::parse_flows(&text)?
        }
        (None, Some(from), Some(to)) => vec![vrsim::fabric::diff::Flow {
            from: from.clone(),
            to,
            probe: probe_of(a.proto, a.port),
        }],
        _ => {
            return Err(CliError::Usage {
                message: "diff needs --flows FILE, --from HOST --to ADDRESS, or --all",
            });
        }
    };
    let changed = diff_flows(before, after, &flows)?;
    for c in &changed {
        sayln!(o, "{c}");
    }
    let n = changed
        .iter()
        .map(|c| &c.flow)
        .fold(Vec::new(), |mut v, f| {
            if !v.contains(&f) {
                v.push(f);
            }
            v
        })
        .len();
    sayln!(o, "{n} of {} flows changed", flows.len());
    Ok(if n == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Trace the flows in both fabrics; a progress bar on a terminal when
/// there are many.
fn diff_flows(
    before: &Fabric,
    after: &Fabric,
    flows: &[vrsim::fabric::diff::Flow],
) -> Result<Vec<vrsim::fabric::diff::Changed>, CliError> {
    use std::io::IsTerminal;
    let bar = (flows.len() >= 1000 && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(flows.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} flows, {per_sec}, {eta} left",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = |n: usize| {
        if let Some(b) = &bar {
            b.inc(n as u64);
        }
    };
    let changed = vrsim::fabric::diff::diff_with_progress(before, after, flows, &progress)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(changed)
}

/// Whether any what-if option is given.
fn has_what_if(cli: &Cli) -> bool {
    !cli.bgpaas_down.is_empty()
        || !cli.withdraw.is_empty()
        || (cli.rpf.is_some() && cli.network.is_some())
        || !cli.deny.is_empty()
}

/// Run a command on `base`, writing what it prints to `o`. Without what-if
/// options the command runs on `base` itself, so that the packets it sends
/// leave their flows and counters there (`vrsim serve` keeps them from one
/// command to the next); with them, on a copy changed by them, and `base`
/// stays as it was.
fn run(cli: &Cli, base: &mut Fabric, o: &mut String) -> Result<ExitCode, CliError> {
    if let Command::Diff(a) = &cli.command {
        let fabric = what_if(cli, base.clone())?;
        return diff(base, &fabric, a, o);
    }
    let mut copy;
    let fabric = if has_what_if(cli) {
        copy = what_if(cli, base.clone())?;
        &mut copy
    } else {
        base
    };
    match &cli.command {
        Command::Trace(a) => trace(fabric, a, o),
        Command::Diff(_) => unreachable!("answered above"),
        Command::Serve(_)
        | Command::Ctl(_)
        | Command::Completions { .. }
        | Command::Man
        | Command::Dissect { .. }
        | Command::Check { .. }
        | Command::Generate(_) => Err(CliError::Usage {
            message: "serve, ctl, completions, man, dissect, check and generate cannot run inside a running vrsim serve",
        }),
        Command::Scenarios => {
            for (name, _) in vrsim::scenarios::BUILTIN {
                let scenario = vrsim::scenarios::load(name)?;
                sayln!(o, "{name:<14}{}", scenario.description());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::ShowRoute(a) => show_route(fabric, a, o),
        Command::Graph(a) => graph(fabric, a, o),
        Command::Frames => {
            for f in seed::frames() {
                sayln!(o, "{:<26}{}", f.name, f.description);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Flow(a) => {
            for spec in &a.after {
                let (from, to) = host_address("--after", spec)?;
                fabric.probe(from, to, Probe::Icmp)?;
            }
            let router = compute_node(cli, fabric)?;
            match a.get {
                None => say!(o, "{}", dump::flow_list(router)),
                Some(index) => {
                    let text = dump::flow_get(router, index).map_err(|e| {
                        // `fill_flow_req`'s answer for an entry not in use.
                        sayln!(o, "Flow index {index} is not active");
                        CliError::Dump { source: e }
                    })?;
                    say!(o, "{text}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Vif(_)
        | Command::Nh(_)
        | Command::Rt(_)
        | Command::Mpls(_)
        | Command::Vxlan(_)
        | Command::Dropstats
        | Command::Inject(_) => {
            if let Command::Inject(a) = &cli.command {
                let node = node_name(cli, fabric)?;
                return inject(fabric, &node, a, o);
            }
            let router = compute_node(cli, fabric)?;
            let text = vrouter_dump(cli, router, o)?;
            say!(o, "{text}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `vrsim check`: run the case files and print the report.
/// `vrsim generate`: a scenario file of any size (see
/// `vrsim::fabric::topology::generate` for its address plan).
fn generate(a: &GenerateArgs, o: &mut String) -> Result<ExitCode, CliError> {
    use vrsim::fabric::topology::generate::{ScaleSpec, generate};
    let spec = ScaleSpec {
        computes: a.computes,
        vms_per_compute: a.vms_per_compute,
        networks: a.networks,
        bgpaas: !a.no_bgpaas,
    };
    o.push_str(&generate(&a.name, &spec)?);
    Ok(ExitCode::SUCCESS)
}

fn check(paths: &[std::path::PathBuf], o: &mut String) -> Result<ExitCode, CliError> {
    let report = vrsim::conformance::Report::run(paths)?;
    sayln!(o, "{report}");
    Ok(if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `HOST:ADDRESS`, as `option` takes it.
fn host_address<'s>(option: &'static str, spec: &'s str) -> Result<(&'s str, IpAddr), CliError> {
    let bad = |problem: String| CliError::BadValue {
        option,
        value: spec.to_owned(),
        problem,
    };
    let (from, to) = spec
        .split_once(':')
        .ok_or_else(|| bad("expected HOST:ADDRESS".into()))?;
    let to: IpAddr = to
        .parse()
        .map_err(|_| bad(format!("{to:?} is not an address")))?;
    Ok((from, to))
}

/// A picture of the scenario, with a trace's path when one is asked for.
fn graph(fabric: &mut Fabric, a: &GraphArgs, o: &mut String) -> Result<ExitCode, CliError> {
    let trip = match &a.trace {
        Some(t) => {
            let (from, to) = host_address("--trace", t)?;
            Some(fabric.probe(from, to, probe_of(a.proto, a.port))?)
        }
        None => None,
    };
    let trace = trip.as_ref().map(|t| &t.forward);
    let text = match a.format {
        GraphFormat::Dot => vrsim::fabric::graph::dot(fabric, trace),
        GraphFormat::Mermaid => vrsim::fabric::graph::mermaid(fabric, trace),
        GraphFormat::Svg => vrsim::fabric::graph::svg(fabric, trace),
        GraphFormat::Ladder => match trace {
            Some(t) => vrsim::fabric::graph::ladder(t),
            None => {
                return Err(CliError::Usage {
                    message: "a ladder draws a trace: give --trace HOST:ADDRESS",
                });
            }
        },
    };
    say!(o, "{text}");
    Ok(ExitCode::SUCCESS)
}

/// The gateway's `show route` for a prefix, and its dynamic tunnels.
fn show_route(fabric: &Fabric, a: &ShowRouteArgs, o: &mut String) -> Result<ExitCode, CliError> {
    let name = match &a.gateway {
        Some(g) => g.clone(),
        None => fabric
            .control()
            .config()
            .gateways
            .first()
            .map(|g| g.name.clone())
            .ok_or(CliError::NoneInScenario { what: "gateway" })?,
    };
    let g = fabric
        .gateway(&name)
        .ok_or_else(|| CliError::NoGateway { name: name.clone() })?;
    match g.show_route(a.prefix.trunc()) {
        Some(text) => say!(o, "{text}"),
        None => {
            sayln!(o, "(no route {} in any VRF of {name})", a.prefix.trunc());
            return Ok(ExitCode::FAILURE);
        }
    }
    sayln!(o, "\n{}", g.show_dynamic_tunnels());
    Ok(ExitCode::SUCCESS)
}

/// The compute node `--node` names (the first one by default).
fn node_name(cli: &Cli, fabric: &Fabric) -> Result<String, CliError> {
    let node = match &cli.node {
        Some(n) => n.clone(),
        None => fabric
            .control()
            .config()
            .computes
            .first()
            .map(|c| c.name.clone())
            .ok_or(CliError::NoneInScenario {
                what: "compute node",
            })?,
    };
    if fabric.control().vrouter(&node).is_none() {
        return Err(CliError::NoComputeNode {
            node,
            scenario: fabric.name().to_owned(),
        });
    }
    Ok(node)
}

/// Compute node `node`'s vRouter, to send packets into.
fn vrouter_of<'f>(fabric: &'f mut Fabric, node: &str) -> Result<&'f mut VRouter, CliError> {
    fabric.vrouter_mut(node).ok_or(CliError::NoneInScenario {
        what: "compute node",
    })
}

/// The vRouter of `--node` (the first compute node by default).
fn compute_node<'f>(cli: &Cli, fabric: &'f Fabric) -> Result<&'f VRouter, CliError> {
    let node = node_name(cli, fabric)?;
    fabric
        .control()
        .vrouter(&node)
        .ok_or(CliError::NoneInScenario {
            what: "compute node",
        })
}

/// One of the vRouter CLI's dumps (`vif`, `nh`, `rt`, `mpls`, `vxlan`,
/// `dropstats`); a failed get prints the vRouter's own response line first.
fn vrouter_dump(cli: &Cli, router: &VRouter, o: &mut String) -> Result<String, CliError> {
    let layout = match cli.layout {
        LayoutArg::Legacy => Layout::Legacy,
        LayoutArg::Current => Layout::Current,
    };
    Ok(match &cli.command {
        Command::Vif(a) => match a.get {
            Some(id) => dump::vif_get(router, vif_id(id)?, layout).map_err(|e| response(e, o))?,
            None => dump::vif_list(router, layout),
        },
        Command::Nh(a) => match a.get {
            Some(id) => dump::nh_get(router, nh_id(id)?).map_err(|e| response(e, o))?,
            None => dump::nh_list(router),
        },
        Command::Rt(a) => match (a.dump, a.get, a.vrf, a.family) {
            (Some(vrf), _, _, RtFamily::Inet) => {
                dump::rt_dump(router, VrfId::from(vrf), layout).map_err(|e| response(e, o))?
            }
            (Some(vrf), _, _, RtFamily::Inet6) => {
                dump::rt_dump6(router, VrfId::from(vrf), layout).map_err(|e| response(e, o))?
            }
            (None, Some(IpNet::V4(prefix)), Some(vrf), RtFamily::Inet) => {
                dump::rt_get(router, VrfId::from(vrf), prefix, layout)
                    .map_err(|e| response(e, o))?
            }
            (None, Some(IpNet::V6(prefix)), Some(vrf), RtFamily::Inet6) => {
                dump::rt_get6(router, VrfId::from(vrf), prefix, layout)
                    .map_err(|e| response(e, o))?
            }
            (None, Some(_), Some(_), _) => {
                return Err(CliError::Usage {
                    message: "rt --get: an IPv4 prefix needs --family inet, an IPv6 one --family inet6",
                });
            }
            _ => {
                return Err(CliError::Usage {
                    message: "rt needs --dump VRF, or --get PREFIX --vrf VRF",
                });
            }
        },
        Command::Mpls(a) => match a.get {
            Some(l) => {
                let label = MplsLabel::new(l).ok_or(CliError::OutOfRange {
                    what: "mpls label",
                    value: l,
                })?;
                dump::mpls_get(router, label).map_err(|e| response(e, o))?
            }
            None => dump::mpls_dump(router),
        },
        Command::Vxlan(a) => match a.get {
            Some(v) => {
                let vni = Vni::new(v).ok_or(CliError::OutOfRange {
                    what: "vnid",
                    value: v,
                })?;
                dump::vxlan_get(router, vni).map_err(|e| response(e, o))?
            }
            None => dump::vxlan_dump(router),
        },
        Command::Dropstats => dump::dropstats(router),
        Command::Trace(_)
        | Command::Generate(_)
        | Command::Diff(_)
        | Command::Scenarios
        | Command::ShowRoute(_)
        | Command::Graph(_)
        | Command::Frames
        | Command::Inject(_)
        | Command::Serve(_)
        | Command::Ctl(_)
        | Command::Completions { .. }
        | Command::Man
        | Command::Dissect { .. }
        | Command::Check { .. }
        | Command::Flow(_) => String::new(),
    })
}

/// Print the vRouter CLI's response line for a failed get, and return our own error.
fn response(e: DataplaneError, o: &mut String) -> CliError {
    sayln!(o, "{}", e.vrouter_response());
    CliError::Dump { source: e }
}

fn vif_id(n: u32) -> Result<VifId, CliError> {
    u16::try_from(n)
        .ok()
        .and_then(VifId::new)
        .ok_or(CliError::OutOfRange {
            what: "vif",
            value: n,
        })
}

fn nh_id(n: u32) -> Result<NhId, CliError> {
    NhId::new(n).ok_or(CliError::OutOfRange {
        what: "nh",
        value: n,
    })
}

fn parse_hex(s: &str) -> Result<Vec<u8>, CliError> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| !matches!(b, b' ' | b':' | b'\n' | b'\t'))
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err(CliError::Usage {
            message: "--hex needs an even number of hex digits",
        });
    }
    digits
        .chunks(2)
        .map(|pair| {
            let byte = String::from_utf8_lossy(pair);
            if !pair.iter().all(u8::is_ascii_hexdigit) {
                return Err(CliError::BadHex { byte: byte.into() });
            }
            u8::from_str_radix(&byte, 16).map_err(|_| CliError::BadHex { byte: byte.into() })
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

fn inject(
    fabric: &mut Fabric,
    node: &str,
    a: &InjectArgs,
    o: &mut String,
) -> Result<ExitCode, CliError> {
    let frame = match (&a.frame, &a.hex) {
        (Some(name), _) => seed::frames()
            .into_iter()
            .find(|f| f.name == name.as_str())
            .map(|f| f.bytes)
            .ok_or_else(|| CliError::NoFrame { name: name.clone() })?,
        (None, Some(hex)) => parse_hex(hex)?,
        (None, None) => {
            return Err(CliError::Usage {
                message: "inject needs --frame NAME or --hex BYTES",
            });
        }
    };
    let vif = VifId::new(a.vif).ok_or(CliError::OutOfRange {
        what: "vif",
        value: u32::from(a.vif),
    })?;
    let before = vrouter_of(fabric, node)?.clone();
    let mut buf = PacketBuf::with_capacity(9216);
    let mut trace = Trace::default();
    sayln!(o, "input ({} bytes):\n{}\n", frame.len(), dissect(&frame));
    let mut outcome = vrouter_of(fabric, node)?.process(vif, &frame, &mut buf, &mut trace);
    let mut sent = buf.frame().to_vec();
    sayln!(o, "trace:\n{trace}\n");
    if let Disposition::Held { flow } = outcome {
        // The node's agent answers the flow miss (with its networks'
        // policies), and the vRouter sends the packet on.
        let decision = fabric.answer_flow_miss(node, flow)?;
        sayln!(o, "{decision}\n");
        let mut trace = Trace::default();
        if let Some((d, out)) = vrouter_of(fabric, node)?
            .release(flow, &mut trace)
            .into_iter()
            .next()
        {
            sent = out;
            outcome = d;
        }
        sayln!(o, "released:\n{trace}\n");
    }
    match outcome {
        Disposition::Transmit { vif } => {
            sayln!(
                o,
                "disposition: transmitted on vif0/{vif} ({} bytes)\n{}\n",
                sent.len(),
                dissect(&sent)
            )
        }
        Disposition::ToHost { vif } => sayln!(o, "disposition: to the host via vif0/{vif}\n"),
        Disposition::Held { flow } => sayln!(o, "disposition: held in flow {flow}\n"),
        Disposition::Drop(reason) => sayln!(o, "disposition: dropped ({reason})\n"),
    }
    sayln!(o, "counters:");
    for line in counter_lines(&before, vrouter_of(fabric, node)?) {
        sayln!(o, "  {line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Write `text` to standard output. A reader that went away (`vrsim … |
/// head`) is not an error worth a panic: what it did not read is dropped,
/// as other command-line tools do.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
