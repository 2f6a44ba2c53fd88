//! Helpers shared by the integration tests and benches (`mod common;`, or `#[path]` from a bench).
//!
//! Invariant: a test that needs the real model calls [`model`] and returns early on `None`; it
//! never silently passes when `SHELFTALK_REQUIRE_MODEL=1`.
#![allow(clippy::panic, clippy::print_stderr)]

use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real model: `SHELFTALK_MODEL` or `models/gemma-3-270m-q4_k_m.gguf`. When it is missing,
/// prints "SKIPPED: model not found" and returns `None` — unless `SHELFTALK_REQUIRE_MODEL=1`,
/// then it panics.
pub fn model() -> Option<PathBuf> {
    let path = std::env::var_os("SHELFTALK_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("models/gemma-3-270m-q4_k_m.gguf"));
    if path.exists() {
        return Some(path);
    }
    if std::env::var("SHELFTALK_REQUIRE_MODEL").as_deref() == Ok("1") {
        panic!(
            "model not found at {} and SHELFTALK_REQUIRE_MODEL=1",
            path.display()
        );
    }
    eprintln!(
        "\n*** SKIPPED: model not found at {} (run models/fetch.sh) ***\n",
        path.display()
    );
    None
}
