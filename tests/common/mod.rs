//! Helpers shared by the integration tests and benches (`mod common;`, or `#[path]` from a bench).
//!
//! Invariant: a test that needs the real model calls [`model`] and returns early on `None`; it
//! never silently passes when `SHELFTALK_REQUIRE_MODEL=1`. Tests in one binary that run the model
//! in a process or daemon of their own hold [`one_model_at_a_time`] while they do.
//!
//! Invariant: the shared real data (`SHELFTALK_REAL_DATA`, default `../shared/data`) is optional —
//! a fresh clone has none. A test that needs it gets the file from [`real_data`] and returns early
//! on `None` (after a loud "SKIPPED" note), or runs on the project's own `demo/` data instead; it
//! never reads the shared data unconditionally, and never silently passes when
//! `SHELFTALK_REQUIRE_REAL_DATA=1`.
#![allow(clippy::panic, clippy::print_stderr)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};

/// Runs `cmd` with `stdin` written to its standard input — the way loyalty numbers and PINs
/// reach the CLI, never as arguments — and returns its output.
#[allow(clippy::unwrap_used, dead_code)] // Not every binary that includes this module runs the CLI.
pub fn run_with_stdin(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real model: `SHELFTALK_MODEL` or `models/gemma-3-270m-q4_k_m-en-zh.gguf`. When it is missing,
/// prints "SKIPPED: model not found" and returns `None` — unless `SHELFTALK_REQUIRE_MODEL=1`,
/// then it panics.
#[allow(dead_code)] // Not every binary that includes this module runs the model.
pub fn model() -> Option<PathBuf> {
    let path = std::env::var_os("SHELFTALK_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("models/gemma-3-270m-q4_k_m-en-zh.gguf"));
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

/// The manifest to load `model` with: the shipped one when `model` is the file it names, else the
/// shipped one with `model`'s own size and sha256 (a candidate file named by `SHELFTALK_MODEL`:
/// another quantisation or trim, which a bench judges against the shipped file).
#[allow(dead_code, clippy::unwrap_used)] // Not every binary that includes this module runs the model.
pub fn manifest_for(model: &std::path::Path) -> shelftalk::copy::Manifest {
    let shipped = shelftalk::copy::Manifest::builtin().unwrap();
    if model.file_name() == Some(std::ffi::OsStr::new(&shipped.file)) {
        return shipped;
    }
    let bytes = std::fs::read(model).unwrap();
    let sha256 = ring::digest::digest(&ring::digest::SHA256, &bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    shelftalk::copy::Manifest {
        size: bytes.len() as u64,
        sha256,
        ..shipped
    }
}

/// The shared real data directory: `SHELFTALK_REAL_DATA`, or `../shared/data` from the
/// repository root.
#[allow(dead_code)] // Not every binary that includes this module reads the real data.
pub fn real_data_dir() -> PathBuf {
    std::env::var_os("SHELFTALK_REAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data"))
}

/// `file` in [`real_data_dir`]. When it is missing, prints "SKIPPED: real data file ... not found"
/// and returns `None` — unless `SHELFTALK_REQUIRE_REAL_DATA=1`, then it panics.
#[allow(dead_code)] // Not every binary that includes this module reads the real data.
pub fn real_data(file: &str) -> Option<PathBuf> {
    let path = real_data_dir().join(file);
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("SHELFTALK_REQUIRE_REAL_DATA").as_deref() == Ok("1") {
        panic!(
            "real data file {} not found and SHELFTALK_REQUIRE_REAL_DATA=1",
            path.display()
        );
    }
    eprintln!(
        "\n*** SKIPPED: real data file {} not found (set SHELFTALK_REAL_DATA) ***\n",
        path.display()
    );
    None
}

/// Serialises the model-heavy tests of one test binary (the harness runs tests in parallel;
/// binaries run one after another). Two llama.cpp runs on a 2-core machine spin-wait against each
/// other and slow down by far more than 2x, which turns generous test deadlines into flaky ones.
/// A test that panicked while holding the lock does not block the others.
#[allow(dead_code)] // Not every binary that includes this module runs a model of its own.
pub fn one_model_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
