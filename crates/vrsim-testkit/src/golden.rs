//! Golden files: every text layout vrsim prints, kept under one root,
//! `tests/golden/` at the top of the workspace (`compute01/` for the
//! vRouter's dumps, one folder per scenario for its traces). A test compares
//! its output with the file; `VRSIM_BLESS=1` rewrites the file instead, after
//! a deliberate change whose diff is then reviewed.

use std::path::PathBuf;

/// The root of the golden files.
pub fn root() -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "..", "..", "tests", "golden"]
        .iter()
        .collect()
}

/// Compare `actual` with the golden file `name` (a path under [`root`], as
/// `compute01/nh-list.txt`), or write it when `VRSIM_BLESS` is set.
///
/// # Panics
/// When the file differs or cannot be read: the message names the file and
/// how to rewrite it.
pub fn assert_golden(name: &str, actual: &str) {
    let path = root().join(name);
    if std::env::var_os("VRSIM_BLESS").is_some() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        std::fs::write(&path, actual).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (VRSIM_BLESS=1 writes it)", path.display()));
    assert_eq!(
        actual,
        want,
        "{} differs (VRSIM_BLESS=1 rewrites it; review the diff)",
        path.display()
    );
}
