//! The fuzz targets' seed corpora hold the scenario frames. This test keeps
//! them equal to `vrsim::seed::frames()`; run it with `VRSIM_BLESS=1` to
//! rewrite them after a deliberate change.

use std::path::Path;

#[test]
fn wire_parse_corpus_holds_the_seed_frames() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/wire_parse");
    let bless = std::env::var_os("VRSIM_BLESS").is_some();
    if bless {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for f in vrsim::seed::frames() {
        let path = dir.join(format!("seed-{}", f.name));
        if bless {
            std::fs::write(&path, &f.bytes).unwrap();
        }
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run with VRSIM_BLESS=1 to write it)",
                path.display()
            )
        });
        assert_eq!(
            on_disk,
            f.bytes,
            "{} is stale (run with VRSIM_BLESS=1)",
            path.display()
        );
    }
}
