//! Erasure that sticks, consent with its terms, and access requests, through the real CLI on a
//! real SQLite file: an erased shopper is not re-created by re-importing the same till log (also
//! a byte-different copy of it), is refused at enrolment unless they ask to join again, and
//! `shopper export` writes one shopper's data, decrypted, to a 0600 file — theirs and nothing of
//! anyone else's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

mod common;

fn run(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shelftalk"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
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

/// The demo log's customers with their product codes, most active first.
fn customers(log: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut by: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    let mut rows: std::collections::BTreeMap<String, usize> = Default::default();
    for line in log.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() > 7 && !f[7].is_empty() {
            by.entry(f[7].to_string())
                .or_default()
                .insert(f[2].to_string());
            *rows.entry(f[7].to_string()).or_default() += 1;
        }
    }
    let mut v: Vec<(String, BTreeSet<String>)> = by.into_iter().collect();
    v.sort_by_key(|(c, _)| std::cmp::Reverse(rows[c]));
    v
}

#[test]
fn erasure_sticks_and_export_holds_one_shopper() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let log_path = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/events.csv");
    let log = std::fs::read_to_string(log_path).unwrap();
    let people = customers(&log);
    let (alice, _) = people[0].clone();
    let (bob, bob_skus) = people[1].clone();

    ok(data, &["keys", "init"], "");
    ok(data, &["import", "catalog", "demo/catalog.csv"], "");
    let first = ok(data, &["import", "events", "demo/events.csv", "--json"], "");
    assert!(first["shoppers_new"].as_u64().unwrap() >= 2, "{first}");
    assert_eq!(first["suppressed"], 0);

    // Imported shoppers' consent is logged with the configured terms.
    let export_path = data.join("alice-before.json");
    ok(
        data,
        &["shopper", "export", "--out", export_path.to_str().unwrap()],
        &format!("{alice}\n"),
    );
    let before: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&export_path).unwrap()).unwrap();
    assert_eq!(before["consent_log"][0]["source"], "import", "{before}");
    assert_eq!(before["consent_log"][0]["terms"], "1");

    ok(data, &["shopper", "erase", "--json"], &format!("{alice}\n"));

    // The same file: recognised as imported already, nothing changes.
    let again = ok(data, &["import", "events", "demo/events.csv", "--json"], "");
    assert_eq!(again["already_imported"], true, "{again}");
    // A byte-different file with the same rows (reordered): the erased shopper's rows are
    // suppressed, nobody is created.
    let mut lines: Vec<&str> = log.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    let copy = data.join("events-reordered.csv");
    std::fs::write(&copy, format!("{header}\n{}\n", lines.join("\n"))).unwrap();
    let reimport = ok(
        data,
        &["import", "events", copy.to_str().unwrap(), "--json"],
        "",
    );
    assert_eq!(reimport["shoppers_new"], 0, "{reimport}");
    let alice_rows = log.lines().filter(|l| l.contains(&alice)).count() as u64;
    assert_eq!(
        reimport["suppressed"].as_u64().unwrap(),
        alice_rows,
        "{reimport}"
    );
    let show = run(data, &["shopper", "show"], &format!("{alice}\n"));
    assert!(!show.status.success(), "the erased shopper came back");

    // Enrolment is refused until the shopper asks to join again.
    let refused = run(data, &["shopper", "enroll"], &format!("{alice}\n"));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && err.contains("--rejoin"),
        "{err}"
    );
    let rejoined = ok(
        data,
        &["shopper", "enroll", "--rejoin", "--json"],
        &format!("{alice}\n"),
    );
    assert_eq!(rejoined["created"], true, "{rejoined}");

    // Access request: Bob's export has his events, decrypted, and nothing of anyone else's.
    let bob_file = data.join("bob.json");
    let written = ok(
        data,
        &[
            "shopper",
            "export",
            "--out",
            bob_file.to_str().unwrap(),
            "--json",
        ],
        &format!("{bob}\n"),
    );
    let mode = std::fs::metadata(&bob_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "export readable by others");
    let text = std::fs::read_to_string(&bob_file).unwrap();
    assert!(
        !text.contains(&bob) && !text.contains(&alice),
        "a loyalty number in the export"
    );
    let export: serde_json::Value = serde_json::from_str(&text).unwrap();
    let events = export["events"].as_array().unwrap();
    assert!(!events.is_empty());
    assert_eq!(written["events"].as_u64().unwrap(), events.len() as u64);
    for e in events {
        let sku = e["sku"].as_str().unwrap();
        assert!(bob_skus.contains(sku), "{sku} is not one of Bob's products");
    }
    assert!(events.len() <= log.lines().filter(|l| l.contains(&bob)).count());
    // An export never overwrites a file.
    let twice = run(
        data,
        &["shopper", "export", "--out", bob_file.to_str().unwrap()],
        &format!("{bob}\n"),
    );
    assert!(!twice.status.success());
}

/// Consent for imported shoppers comes from the feed where it has a column (the JSON-lines
/// `consent`), otherwise from the config's `[import_consent]`; both are logged as `import`.
#[test]
fn imported_consent_comes_from_the_feed_column_else_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    ok(data, &["keys", "init"], "");
    ok(data, &["import", "catalog", "demo/catalog.csv"], "");
    let feed = data.join("till.jsonl");
    std::fs::write(
        &feed,
        "{\"at\":\"2026-10-01T10:00:00Z\",\"kind\":\"view\",\"sku\":\"FW-RUN-0001\",\"customer\":\"LC7100\",\"consent\":{\"personalise\":false,\"analytics\":true}}\n\
         {\"at\":\"2026-10-01T10:05:00Z\",\"kind\":\"view\",\"sku\":\"FW-RUN-0001\",\"customer\":\"LC7200\"}\n\
         {\"at\":\"2026-10-01T10:06:00Z\",\"kind\":\"view\",\"sku\":\"FW-RUN-0001\",\"customer\":\"LC7300\",\"consent\":\"yes\"}\n",
    )
    .unwrap();
    let imported = ok(
        data,
        &["import", "events", feed.to_str().unwrap(), "--json"],
        "",
    );
    assert_eq!(imported["shoppers_new"], 2, "{imported}");
    assert_eq!(
        imported["report"]["quarantined"], 1,
        "a bad consent value is quarantined"
    );
    let from_feed = ok(data, &["shopper", "show", "--json"], "LC7100\n");
    assert_eq!(from_feed["consent"]["personalise"], false, "{from_feed}");
    assert_eq!(from_feed["consent"]["analytics"], true, "{from_feed}");
    let from_config = ok(data, &["shopper", "show", "--json"], "LC7200\n");
    assert_eq!(from_config["consent"]["personalise"], true, "{from_config}");
    let file = data.join("lc7100.json");
    ok(
        data,
        &["shopper", "export", "--out", file.to_str().unwrap()],
        "LC7100\n",
    );
    let export: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(export["consent_log"][0]["source"], "import");
    assert_eq!(export["consent_log"][0]["consent"]["personalise"], false);
}
