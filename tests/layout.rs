//! The codebase's shape, checked: no two files of a crate import each other,
//! and functions fit a screen. ARCHITECTURE.md describes the layout these
//! rules keep readable; a failure names the files or the function.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest function allowed outside tests, in lines, signature to
/// closing brace ("about 80": a screen).
const MAX_FN_LINES: usize = 85;

/// Functions that are tables, one short arm per case, and longer than a
/// screen because there are many cases: (file, function, why).
const TABLES: &[(&str, &str, &str)] = &[
    (
        "crates/vrsim-wire/src/header.rs",
        "fmt",
        "one line of text per header kind",
    ),
    (
        "crates/vrsim-dataplane/src/trace.rs",
        "fmt",
        "one line of text per pipeline step",
    ),
    (
        "crates/vrsim-fabric/src/json.rs",
        "dp_step",
        "one JSON object per pipeline step",
    ),
];

/// The Rust files under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The source without its `#[cfg(test)]` modules and items (which follow
/// the code, as the house style puts them).
fn without_tests(text: &str) -> &str {
    text.find("\n#[cfg(test)]").map_or(text, |i| &text[..i])
}

/// The module path of a file under `src`: `pipeline/mod.rs` is `pipeline`,
/// `lib.rs` the root.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The modules of the crate that `file` (module `here`) imports with
/// `use crate::…` or `use super::…`.
fn imports(text: &str, here: &[String], modules: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    for stmt in use_statements(text) {
        let Some(path) = ["use ", "pub(crate) use ", "pub(super) use ", "pub use "]
            .iter()
            .find_map(|p| stmt.strip_prefix(p))
        else {
            continue;
        };
        let mut segs = path.split("::").map(str::trim);
        let mut at: Vec<String> = match segs.next() {
            Some("crate") => Vec::new(),
            Some("super") => here[..here.len().saturating_sub(1)].to_vec(),
            _ => continue,
        };
        // `use super::Item` imports from the parent module itself. The crate
        // root, which re-exports, is left out.
        let mut best = (!at.is_empty() && modules.contains(&at)).then(|| at.clone());
        for s in segs {
            if s == "super" {
                at.pop();
                continue;
            }
            let name = s.trim_start_matches('{');
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                break;
            }
            at.push(name.to_owned());
            if modules.contains(&at) {
                best = Some(at.clone());
            }
        }
        if let Some(m) = best.filter(|m| m != here) {
            out.insert(m);
        }
    }
    // Paths written out in the code (`crate::batch::lookup_batch_v4(…)`) use
    // a module as much as a `use` does; links in doc comments do not.
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let mut at = Vec::new();
        let mut best = None;
        for seg in rest.split("::") {
            let name: String = seg
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                break;
            }
            let whole = name.len() == seg.len();
            at.push(name);
            if modules.contains(&at) {
                best = Some(at.clone());
            }
            if !whole {
                break;
            }
        }
        if let Some(m) = best.filter(|m| m.as_slice() != here) {
            out.insert(m);
        }
    }
    out
}

/// The `use` statements of a source, each joined onto one line.
fn use_statements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if current.is_none()
            && (t.starts_with("use ") || t.starts_with("pub") && t.contains(" use "))
        {
            current = Some(String::new());
        }
        if let Some(stmt) = current.as_mut() {
            stmt.push_str(t);
            stmt.push(' ');
            if t.ends_with(';') {
                out.push(stmt.trim_end().trim_end_matches(';').to_owned());
                current = None;
            }
        }
    }
    out
}

fn crates() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .flatten()
        .map(|e| e.path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    out.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    out.sort();
    out
}

#[test]
fn no_two_files_of_a_crate_import_each_other() {
    let mut circles = Vec::new();
    for src in crates() {
        let files = rust_files(&src);
        let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();
        let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
        for f in &files {
            let text =
                std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let here = module_of(&src, f);
            edges.insert(here.clone(), imports(without_tests(&text), &here, &modules));
        }
        for (a, targets) in &edges {
            for b in targets {
                if a < b && edges.get(b).is_some_and(|t| t.contains(a)) {
                    circles.push(format!(
                        "{}: {} <-> {}",
                        src.display(),
                        a.join("/"),
                        b.join("/")
                    ));
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "files that import each other:\n{}",
        circles.join("\n")
    );
}

#[test]
fn functions_fit_a_screen() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut long = Vec::new();
    for src in crates() {
        // Test support is test code.
        if src.ends_with("vrsim-testkit/src") {
            continue;
        }
        for f in rust_files(&src) {
            if f.ends_with("testing.rs") {
                continue;
            }
            let text =
                std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let rel = f
                .strip_prefix(root)
                .unwrap_or(&f)
                .to_string_lossy()
                .into_owned();
            let lines: Vec<&str> = without_tests(&text).lines().collect();
            let mut i = 0;
            while i < lines.len() {
                let line = lines[i];
                let trimmed = line.trim_start();
                let indent = &line[..line.len() - trimmed.len()];
                let is_fn = [
                    "fn ",
                    "pub fn ",
                    "pub(crate) fn ",
                    "pub(super) fn ",
                    "const fn ",
                    "pub const fn ",
                    "async fn ",
                    "pub(crate) async fn ",
                ]
                .iter()
                .any(|p| trimmed.starts_with(p));
                if !is_fn || trimmed.ends_with(';') {
                    i += 1;
                    continue;
                }
                let name: String = trimmed
                    .split("fn ")
                    .nth(1)
                    .unwrap_or("")
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let end = (i..lines.len())
                    .find(|&k| k > i && lines[k] == format!("{indent}}}"))
                    .or_else(|| {
                        (i..lines.len()).find(|&k| {
                            lines[k].ends_with('}') && lines[k].starts_with(&format!("{indent}fn"))
                        })
                    });
                let Some(end) = end else {
                    i += 1;
                    continue;
                };
                let n = end - i + 1;
                let table = TABLES
                    .iter()
                    .any(|(file, func, _)| rel == *file && name == *func);
                if n > MAX_FN_LINES && !table {
                    long.push(format!("{rel}:{} {name}: {n} lines", i + 1));
                }
                i = end + 1;
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions longer than {MAX_FN_LINES} lines:\n{}",
        long.join("\n")
    );
}
