//! Loyalty numbers never on a command line: every command that takes one reads it from standard
//! input or a file, refuses it as an argument with an error that says how, and reads it in its
//! one normal form (a number typed in lower case finds its shopper). The real binary, a real
//! SQLite file; no model needed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

mod common;

const NUMBER: &str = "LC55501234";

fn run(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shelftalk"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        // No model is needed here: copy is not written by these commands.
        .env("SHELFTALK_MODEL_PATH", data.join("no-model.gguf"))
        .arg("--data-dir")
        .arg(data)
        .args(args);
    common::run_with_stdin(cmd, stdin)
}

fn ok(data: &Path, args: &[&str], stdin: &str) -> serde_json::Value {
    let out = run(data, args, stdin);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

#[test]
fn numbers_come_from_stdin_or_a_file_and_are_refused_as_arguments() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    ok(data, &["keys", "init"], "");
    ok(data, &["import", "catalog", "demo/catalog.csv"], "");

    // Enrol from standard input, look up in lower case, from a file, erase.
    let enrolled = ok(
        data,
        &["shopper", "enroll", "--json"],
        &format!("{NUMBER}\n"),
    );
    assert_eq!(enrolled["created"], true, "{enrolled}");
    let shown = ok(
        data,
        &["shopper", "show", "--json"],
        &format!("  {}\n", NUMBER.to_lowercase()),
    );
    assert_eq!(shown["shopper"], enrolled["shopper"], "{shown}");
    let file = data.join("number.txt");
    std::fs::write(&file, format!("{NUMBER}\n")).unwrap();
    let file_arg = file.to_str().unwrap();
    let picks = ok(
        data,
        &["recommend", "--loyalty-file", file_arg, "--json"],
        "",
    );
    assert!(
        picks["picks"].as_array().is_some_and(|p| !p.is_empty()),
        "{picks}"
    );
    let again = ok(
        data,
        &["shopper", "enroll", "--loyalty-file", file_arg, "--json"],
        "",
    );
    assert_eq!(again["created"], false, "the same card: {again}");

    // The number as an argument is refused by every command that takes one, saying how instead,
    // and never echoed back.
    for args in [
        &["shopper", "enroll", "--loyalty", NUMBER][..],
        &["shopper", "show", "--loyalty", NUMBER],
        &["shopper", "erase", "--loyalty", NUMBER],
        &["recommend", "--loyalty", NUMBER],
        &["copy", "--sku", "FW-RUN-0001", "--loyalty", NUMBER],
    ] {
        let out = run(data, args, "");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} accepted the number");
        assert!(
            err.contains("--loyalty-stdin") && err.contains("ps"),
            "{args:?}: {err}"
        );
        assert!(!err.contains(NUMBER), "{args:?} echoed the number: {err}");
    }
    // Still enrolled: nothing was changed by a refused command.
    ok(data, &["shopper", "show", "--loyalty-file", file_arg], "");

    // An empty line is a clear error naming where the number was read from.
    let out = run(data, &["shopper", "show"], "\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("standard input"), "{err}");

    let erased = ok(
        data,
        &["shopper", "erase", "--json"],
        &format!("{NUMBER}\n"),
    );
    assert!(erased["rows_deleted"].as_u64().is_some(), "{erased}");
    let out = run(data, &["shopper", "show"], &format!("{NUMBER}\n"));
    assert!(!out.status.success(), "erased shopper still found");
}

#[test]
fn the_documented_commands_never_take_a_number_as_an_argument() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (i, line) in readme.lines().enumerate() {
        assert!(
            !line.contains("--loyalty ")
                && !line.contains("--loyalty=")
                && !line.contains("--loyalty ID"),
            "README line {}: {line}",
            i + 1
        );
    }
    let help = Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .args(["shopper", "enroll", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--loyalty-stdin") && help.contains("--loyalty-file"),
        "{help}"
    );
    assert!(
        !help.contains("--loyalty <"),
        "the refused flag is not advertised: {help}"
    );
}
