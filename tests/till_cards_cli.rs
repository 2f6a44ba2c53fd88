//! One card, one number, whichever door it comes in by: with a card scheme whose till knows the
//! digits alone (`till_number = "digits"`, prefixes `LC` and `LY`), a till feed's customer ids
//! (`LY0042`, `0042.0`), a number typed at the CLI (`lc0042`) and the kiosk's scan rule all reach
//! the same shopper. The real binary and a real SQLite file; no model, no shared data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

mod common;

use shelftalk::config::Config;
use shelftalk::ui::kiosk::ScanRule;
use shelftalk::vocab::LoyaltyNumber;

const CONFIG: &str = "\
[[scan.cards]]
name = \"lc\"
prefixes = [\"LC\", \"LY\"]
min_digits = 4
max_digits = 12
till_number = \"digits\"
";

fn run(data: &Path, config: &Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shelftalk"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SHELFTALK_MODEL_PATH", data.join("no-model.gguf"))
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(args);
    common::run_with_stdin(cmd, stdin)
}

fn ok(data: &Path, config: &Path, args: &[&str], stdin: &str) -> serde_json::Value {
    let out = run(data, config, args, stdin);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

#[test]
fn till_ids_cli_numbers_and_scans_meet_in_one_form() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config_file = tmp.path().join("kiosk.toml");
    std::fs::write(&config_file, CONFIG).unwrap();
    let config = Config::load(Some(&config_file), Vec::new()).unwrap();
    ok(&data, &config_file, &["keys", "init"], "");
    ok(
        &data,
        &config_file,
        &["import", "catalog", "demo/catalog.csv"],
        "",
    );

    // The till knows the customer as LY0042 in one feed and 0042.0 in another: one shopper.
    let log = tmp.path().join("till.jsonl");
    std::fs::write(
        &log,
        "{\"at\":\"2026-10-01T10:00:00Z\",\"kind\":\"purchase\",\"sku\":\"FW-RUN-0001\",\"customer\":\"LY0042\"}\n\
         {\"at\":\"2026-10-02T10:00:00Z\",\"kind\":\"view\",\"sku\":\"FW-RUN-0002\",\"customer\":\"0042.0\"}\n",
    )
    .unwrap();
    let imported = ok(
        &data,
        &config_file,
        &["import", "events", log.to_str().unwrap(), "--json"],
        "",
    );
    assert_eq!(imported["shoppers_new"], 1, "{imported}");

    // The CLI reads a typed number as the scanner does.
    let shown = ok(
        &data,
        &config_file,
        &["shopper", "show", "--json"],
        " lc0042\n",
    );
    let again = ok(
        &data,
        &config_file,
        &["shopper", "show", "--json"],
        "0042\n",
    );
    assert_eq!(shown["shopper"], again["shopper"], "{shown} {again}");
    let other = run(
        &data,
        &config_file,
        &["shopper", "show", "--json"],
        "LC0043\n",
    );
    assert!(!other.status.success());

    // The kiosk's scan rule gives the scanned card the same number.
    let rule = ScanRule::new(config.scan.cards.clone());
    let scanned = rule.card("Lc0042").unwrap();
    let till = LoyaltyNumber::parse_card("LY0042", &config.scan.cards).unwrap();
    assert_eq!(scanned, till);
    assert_eq!(scanned.expose(), "0042");
    assert!(
        rule.card("0042").is_none(),
        "the LC scheme needs its prefix"
    );
}
