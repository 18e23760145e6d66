//! Reading a fuzz target's corpus for a replay in `cargo test`; included with `#[path]` by the
//! replay tests of `crates/protocol` and `crates/qris` (both two levels below the workspace).

use std::fs;
use std::path::{Path, PathBuf};

/// Every file of `fuzz/corpus/<target>`, sorted; panics if the directory is missing or empty
/// so the replay cannot pass vacuously.
pub(crate) fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let entries = fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot read fuzz corpus {}: {err}", dir.display()));
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|entry| entry.expect("corpus directory entry").path())
        .filter(|path| path.is_file())
        .map(|path| {
            let bytes = fs::read(&path)
                .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
            (path, bytes)
        })
        .collect();
    assert!(!inputs.is_empty(), "fuzz corpus {} is empty", dir.display());
    inputs.sort();
    inputs
}

/// Runs `check` on every input of `target`'s corpus, naming the file that fails.
pub(crate) fn replay(target: &str, check: fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(outcome.is_ok(), "corpus input {} fails", path.display());
    }
}
