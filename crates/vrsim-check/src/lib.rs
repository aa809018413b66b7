//! Conformance case files for one vRouter.
//!
//! A case file (TOML, schema 1) programs one vRouter object by object, as
//! tf-vrouter's own tests program the real one (vifs, nexthops, routes,
//! bridge entries, MPLS labels, VXLAN VNIDs, flows), then runs steps in order
//! (send a frame and expect where it went and what it looked like; add or
//! delete an object; look an address up), then checks counters and the
//! vRouter CLI's dumps. The format is in `docs/conformance.md`; the corpus of
//! tf-vrouter's tests is `tests/conformance/`.
//!
//! ```no_run
//! let result = vrsim_check::run_file("tests/conformance/vm_to_vm_intra_vn.toml")
//!     .expect("a well-formed case");
//! assert!(result.passed(), "{result}");
//! ```

mod cli;
pub mod objects;
mod program;
mod run;
mod spec;

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

pub use run::{CaseResult, Failure};

/// Run one of the vRouter's commands on `router` and give its output in the
/// vRouter's layout: `vif --list`, `vif --get N`, `nh --list`, `nh --get N`,
/// `rt --dump VRF [--family inet6]`, `rt --get P --vrf V`, `mpls --dump`,
/// `vxlan --dump`, `flow -l`, `dropstats`, … (the commands a case's `cli`
/// check takes).
pub fn cli(router: &vrsim_dataplane::VRouter, command: &str) -> Result<String, String> {
    cli::cli(router, command)
}

use program::{Check, Object, Step};

/// The schema version this crate reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A case file that cannot be loaded. It prints as `file:line:column:
/// message`, or `file: message` when the error has no place in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct CaseError {
    /// The file.
    pub file: String,
    /// 1-based line, 0 when the error has no place.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl CaseError {
    fn render(&self) -> String {
        match self.line {
            0 => format!("{}: {}", self.file, self.message),
            line => format!("{}:{line}:{}: {}", self.file, self.column, self.message),
        }
    }
}

/// Where errors of one file point.
pub(crate) struct Source<'a> {
    file: &'a str,
    text: &'a str,
}

impl Source<'_> {
    pub(crate) fn at(&self, span: Option<Range<usize>>, message: impl Into<String>) -> CaseError {
        let (line, column) = match span {
            Some(s) => {
                let before = &self.text[..s.start.min(self.text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                (line, column)
            }
            None => (0, 0),
        };
        CaseError {
            file: self.file.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// A case, checked and ready to run.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its name.
    pub name: String,
    /// Where its facts come from.
    pub source: String,
    /// What it checks and what it leaves out.
    pub description: String,
    /// The file it was read from.
    pub file: String,
    flow_entries: Option<u32>,
    uncond_close_on_tcp_rst: bool,
    objects: Vec<(String, Object)>,
    steps: Vec<Step>,
    checks: Vec<Check>,
}

impl Case {
    /// Read a case from TOML text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Case, CaseError> {
        program::parse(&Source { file, text })
    }

    /// Program a fresh vRouter, run the steps and the checks.
    pub fn run(&self) -> CaseResult {
        run::run(self)
    }
}

/// Read and run one case file.
pub fn run_file(path: impl AsRef<Path>) -> Result<CaseResult, CaseError> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| CaseError {
        file: file.clone(),
        line: 0,
        column: 0,
        message: e.to_string(),
    })?;
    Ok(Case::parse(&file, &text)?.run())
}

/// The case files `paths` name: files as given, directories' `*.toml`
/// files (not recursing), sorted by name within each directory.
pub fn case_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CaseError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let read = std::fs::read_dir(p).map_err(|e| CaseError {
                file: p.display().to_string(),
                line: 0,
                column: 0,
                message: e.to_string(),
            })?;
            let mut files: Vec<PathBuf> = read
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// What `vrsim check` prints for a set of cases, and whether all passed.
#[derive(Debug, Default)]
pub struct Report {
    /// One entry per file: its result, or why it could not be loaded.
    pub results: Vec<Result<CaseResult, CaseError>>,
}

impl Report {
    /// Run every case file of `paths` (see [`case_files`]).
    pub fn run(paths: &[PathBuf]) -> Result<Report, CaseError> {
        let results = case_files(paths)?.iter().map(run_file).collect();
        Ok(Report { results })
    }

    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.as_ref().is_ok_and(CaseResult::passed))
            .count()
    }

    /// Cases that failed or could not be loaded.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }
}

impl fmt::Display for Report {
    /// One line per case (`ok NAME`, or `FAIL NAME` with what differs and
    /// the failing packet's trace), then `N passed, M failed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.results {
            match r {
                Ok(result) => writeln!(f, "{result}")?,
                Err(e) => writeln!(f, "FAIL {e}")?,
            }
        }
        write!(f, "{} passed, {} failed", self.passed(), self.failed())
    }
}
