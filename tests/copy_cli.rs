//! `shelftalk copy` end to end with the real model: fresh copy from the model, then the same
//! request served from the SQLite copy cache; the prompt never sees the loyalty number.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::path::Path;
use std::process::Command;

mod common;
use common::model;

fn shelftalk(data: &Path, model: &Path, args: &[&str]) -> serde_json::Value {
    shelftalk_with_stdin(data, model, args, "")
}

/// Runs the CLI with `stdin` piped in (loyalty numbers never go on the command line).
fn shelftalk_with_stdin(
    data: &Path,
    model: &Path,
    args: &[&str],
    stdin: &str,
) -> serde_json::Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shelftalk"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SHELFTALK_MODEL_PATH", model)
        // What is served is under test, not speed: no budget stop on a loaded machine.
        .env("SHELFTALK_ENGINE_BUDGET_MS", "30000")
        .arg("--data-dir")
        .arg(data)
        .args(args);
    let out = common::run_with_stdin(cmd, stdin);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if args.contains(&"--json") {
        serde_json::from_slice(&out.stdout).unwrap()
    } else {
        serde_json::Value::Null
    }
}

/// A data dir with keys and the demo catalog and behaviour log imported.
fn demo_data_dir(model: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    shelftalk(data, model, &["keys", "init"]);
    shelftalk(data, model, &["import", "catalog", "demo/catalog.csv"]);
    shelftalk(data, model, &["import", "events", "demo/events.csv"]);
    tmp
}

#[test]
fn copy_comes_from_the_model_then_from_the_cache() {
    let Some(model) = model() else { return };
    let _one = common::one_model_at_a_time();
    let tmp = demo_data_dir(&model);
    let data = tmp.path();

    let args = [
        "copy",
        "--sku",
        "FW-RUN-0001",
        "--loyalty-stdin",
        "--style",
        "concise",
        "--json",
    ];
    // Typed in lower case, as a clerk might: the same card.
    let first = shelftalk_with_stdin(data, &model, &args, "lc86441431\n");
    assert_eq!(first["source"], "model", "{first}");
    assert_eq!(first["verdict"]["verdict"], "pass");
    assert!(!first["text"].as_str().unwrap().is_empty());
    assert!(first["timings"]["ttft_ms"].as_f64().unwrap() > 0.0);
    let segment = first["segment"].as_str().unwrap().to_string();
    assert!(!segment.contains("LC86441431"));

    let second = shelftalk_with_stdin(data, &model, &args, "LC86441431\n");
    assert_eq!(second["source"], "cache", "{second}");
    assert_eq!(second["text"], first["text"]);

    // Another segment of the same product is not served from that cache entry.
    let other = shelftalk(
        data,
        &model,
        &[
            "copy",
            "--sku",
            "FW-RUN-0001",
            "--segment",
            "kitchen/low",
            "--style",
            "concise",
            "--json",
        ],
    );
    assert_eq!(other["source"], "model");

    let missing = Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SHELFTALK_MODEL_PATH", tmp.path().join("nope.gguf"))
        .arg("--data-dir")
        .arg(data)
        .args(["copy", "--sku", "FW-RUN-0001", "--style", "value", "--json"])
        .output()
        .unwrap();
    assert!(missing.status.success());
    let v: serde_json::Value = serde_json::from_slice(&missing.stdout).unwrap();
    assert_eq!(v["source"], "template");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("warning"));
}

/// `copy warm` writes the plan's copy several at a time (the engine decodes them together) and
/// stores what passed; a second run serves every stored entry from the cache and writes only
/// what the first could not store.
#[test]
fn copy_warm_fills_the_cache_then_serves_from_it() {
    let Some(model) = model() else { return };
    let _one = common::one_model_at_a_time();
    let tmp = demo_data_dir(&model);
    let data = tmp.path();
    let warm = ["copy", "warm", "--top", "2", "--segments", "1", "--json"];
    let first = shelftalk(data, &model, &warm);
    // Two products × (the top segment and `all`) × four styles.
    assert_eq!(first["requests"], 16, "{first}");
    let count =
        |report: &serde_json::Value, source: &str| report["sources"][source].as_u64().unwrap_or(0);
    let from_model = count(&first, "model");
    assert!(from_model >= 12, "most copy comes from the model: {first}");
    assert_eq!(from_model + count(&first, "template"), 16, "{first}");
    assert_eq!(count(&first, "cache"), 0, "{first}");
    let second = shelftalk(data, &model, &warm);
    assert_eq!(second["requests"], 16, "{second}");
    assert_eq!(count(&second, "cache"), from_model, "{second}");
}
