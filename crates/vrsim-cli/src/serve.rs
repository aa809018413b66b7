//! `vrsim serve` and `vrsim ctl`: the scenario with live BGPaaS sessions, and
//! the control socket that answers commands while it runs.
//!
//! The control socket is a Unix stream socket. A client sends one request, a
//! line of words (a vrsim command line without the program name, or
//! `sessions`, `log`, `stop`; a word with spaces, quotes or backslashes in
//! double quotes, `\"` and `\\` escaped), and half-closes; the server answers
//! `exit N` on the first line, then what the command printed, then closes.
//! A command without what-if options runs on the live fabric itself, under
//! its lock: the packets it sends (`trace`, `inject`, `flow --after`) leave
//! their flows and counters in the vRouters, as packets do on a real node, so
//! `vrsim ctl flow -l` shows the flows earlier commands made, until a route
//! or policy change evicts them. A command with what-if options
//! (`--bgpaas-down`, `--withdraw`, `--rpf`, `--deny`) runs on a copy taken
//! when the request arrives, so they never change the live state, and `diff`
//! compares the live fabric with its what-if copy.

use std::io::{BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, Parser};
use vrsim_bgp::live::{Live, LiveConfig};

use crate::Cli;
use crate::error::CliError;

/// Options of `vrsim serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address the BGPaaS sessions listen on, with the first port of the
    /// BGPaaS port range: session i (BGPaaS objects in topology order, then
    /// their peer addresses) listens on PORT + i.
    #[arg(long, value_name = "ADDR:PORT")]
    bgp_listen: SocketAddr,
    /// The address a BGPaaS object's speaker connects from, as NAME=ADDR
    /// (repeatable; default: the VM's own address).
    #[arg(long, value_name = "NAME=ADDR")]
    bgp_remote: Vec<String>,
    /// The hold time we propose, in seconds (0, or 3 and more).
    #[arg(long, default_value_t = 90)]
    hold_time: u16,
    /// The control socket.
    #[arg(long, value_name = "PATH", default_value = "vrsim.sock")]
    control: PathBuf,
}

/// Options of `vrsim ctl`.
#[derive(Debug, Args)]
pub(crate) struct CtlArgs {
    /// The control socket of the running `vrsim serve`.
    #[arg(long, value_name = "PATH", default_value = "vrsim.sock")]
    control: PathBuf,
    /// The command: a vrsim command line (`rt --dump 1 --node compute01`,
    /// `trace --from earth --to 192.168.100.1`), or `sessions`, `log`, `stop`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    command: Vec<String>,
}

fn parse_remote(s: &str) -> Result<(String, IpAddr), CliError> {
    let bad = |problem: String| CliError::BadValue {
        option: "--bgp-remote",
        value: s.to_owned(),
        problem,
    };
    let (name, addr) = s
        .split_once('=')
        .ok_or_else(|| bad("expected NAME=ADDR".into()))?;
    let addr = addr
        .parse()
        .map_err(|_| bad(format!("{addr:?} is not an address")))?;
    Ok((name.to_owned(), addr))
}

/// Bind the control socket, replacing a stale socket file but never a live
/// server's.
fn bind(path: &Path) -> Result<UnixListener, CliError> {
    let file_error = |source| CliError::File {
        option: "--control",
        path: path.to_owned(),
        source,
    };
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(CliError::ControlBusy {
                path: path.to_owned(),
            });
        }
        std::fs::remove_file(path).map_err(file_error)?;
    }
    UnixListener::bind(path).map_err(file_error)
}

pub(crate) fn serve(cli: &Cli, a: &ServeArgs) -> Result<ExitCode, CliError> {
    let fabric = crate::what_if(cli, vrsim::scenarios::load(&cli.scenario)?)?;
    let mut cfg = LiveConfig::new(a.bgp_listen);
    cfg.hold_time = a.hold_time;
    for r in &a.bgp_remote {
        let (name, addr) = parse_remote(r)?;
        cfg.remotes.insert(name, addr);
    }
    let listener = bind(&a.control)?;
    let mut live = match Live::start(fabric, &cfg) {
        Ok(live) => live,
        Err(e) => {
            let _ = std::fs::remove_file(&a.control);
            return Err(e.into());
        }
    };
    eprintln!(
        "vrsim serve: {} with live BGPaaS; control socket {} (vrsim ctl --control {} sessions)",
        cli.scenario,
        a.control.display(),
        a.control.display()
    );
    eprint!("{}", live.describe_sessions());
    let done = AtomicBool::new(false);
    let seen = std::thread::scope(|scope| {
        // The log, as it grows, on stderr.
        let printer = scope.spawn(|| {
            let mut seen = 0;
            while !done.load(Ordering::Relaxed) {
                let (next, lines) = live.log_from(seen);
                for line in lines {
                    eprintln!("{line}");
                }
                seen = next;
                std::thread::sleep(Duration::from_millis(50));
            }
            seen
        });
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // One request at a time: a client that says nothing or reads
            // nothing must not hold the socket for the others.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
            let Some(request) = read_request(&stream) else {
                continue;
            };
            let Some(words) = split_words(&request) else {
                let _ = write!(stream, "exit 2\nvrsim: unbalanced quote in the request\n");
                continue;
            };
            let stop = words.first().is_some_and(|w| w == "stop");
            let (code, text) = answer(&live, &words);
            let _ = write!(stream, "exit {code}\n{text}");
            drop(stream);
            if stop {
                break;
            }
        }
        done.store(true, Ordering::Relaxed);
        printer.join().unwrap_or(0)
    });
    let _ = std::fs::remove_file(&a.control);
    live.stop();
    for line in live.log_from(seen).1 {
        eprintln!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// One request line: at most 4 KiB, within 5 seconds in all; `None` for a
/// client that sends nothing usable in time.
fn read_request(stream: &UnixStream) -> Option<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut reader = BufReader::new(stream).take(4096);
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\n") {
        if std::time::Instant::now() >= deadline {
            return None;
        }
        match reader.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => line.push(byte[0]),
            Err(_) => return None,
        }
    }
    String::from_utf8(line).ok()
}

/// Answer one control request: the exit code and the text.
fn answer(live: &Live, words: &[String]) -> (u8, String) {
    match words.first().map(String::as_str) {
        None => (2, "vrsim: empty request\n".into()),
        Some("sessions") => (0, live.describe_sessions()),
        Some("log") => (0, live.log_since(0).join("\n") + "\n"),
        Some("stop") => (
            0,
            "stopping: Cease / Administrative Shutdown to every peer\n".into(),
        ),
        Some(_) => {
            let argv = std::iter::once("vrsim".to_owned()).chain(words.iter().cloned());
            let cli = match Cli::try_parse_from(argv) {
                Ok(cli) => cli,
                Err(e) => return (2, e.render().to_string()),
            };
            let mut o = String::new();
            // Under the fabric's lock: sessions wait while a command runs.
            match live.with_fabric(|fabric| crate::run(&cli, fabric, &mut o)) {
                Ok(code) => (exit_number(code), o),
                Err(msg) => (2, format!("{o}vrsim: {msg}\n")),
            }
        }
    }
}

fn exit_number(code: ExitCode) -> u8 {
    if code == ExitCode::SUCCESS {
        0
    } else if code == ExitCode::from(1) {
        1
    } else {
        2
    }
}

pub(crate) fn ctl(a: &CtlArgs) -> Result<ExitCode, CliError> {
    let mut stream = UnixStream::connect(&a.control).map_err(|source| CliError::NoServer {
        path: a.control.clone(),
        source,
    })?;
    if let Some(word) = a.command.iter().find(|w| w.contains(['\n', '\r'])) {
        return Err(CliError::SpacedWord { word: word.clone() });
    }
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    writeln!(stream, "{}", join_words(&a.command))
        .map_err(|source| CliError::Control { source })?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .map_err(|source| CliError::Control { source })?;
    let (status, text) = reply.split_once('\n').unwrap_or((reply.as_str(), ""));
    let code: u8 = status
        .strip_prefix("exit ")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| CliError::BadAnswer {
            status: status.to_owned(),
        })?;
    crate::emit(text);
    Ok(ExitCode::from(code))
}

/// The request line for `words`: a word that is empty or holds whitespace,
/// a quote or a backslash goes in double quotes, with `"` and `\` escaped.
fn join_words(words: &[String]) -> String {
    let quoted = words.iter().map(|w| {
        if !w.is_empty() && !w.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\') {
            return w.clone();
        }
        let mut q = String::with_capacity(w.len() + 2);
        q.push('"');
        for c in w.chars() {
            if c == '"' || c == '\\' {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        q
    });
    quoted.collect::<Vec<_>>().join(" ")
}

/// The words of a request line, as [`join_words`] writes them; `None` for
/// a quote left open.
fn split_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(first) = chars.next() else {
            return Some(words);
        };
        let mut word = String::new();
        if first == '"' {
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => word.push(chars.next()?),
                    c => word.push(c),
                }
            }
        } else {
            word.push(first);
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_with_spaces_quotes_and_backslashes_cross_the_socket() {
        let words: Vec<String> = ["diff", "--deny", "icmp any <> 10.0.0.0/8", "", "a\"b\\c"]
            .map(str::to_owned)
            .to_vec();
        let line = join_words(&words);
        assert_eq!(line, r#"diff --deny "icmp any <> 10.0.0.0/8" "" "a\"b\\c""#);
        assert_eq!(split_words(&line), Some(words));
        assert_eq!(
            split_words("  flow   -l \n"),
            Some(vec!["flow".into(), "-l".into()])
        );
        assert_eq!(split_words(r#"trace "--from"#), None);
        assert_eq!(split_words(r#"x "a\"#), None);
    }
}
