//! `shelftalk provision` end to end on real directories: modes, keys, PIN, config file, the HQ
//! enrolment line (run against a real HQ database), idempotence (no file content or mtime
//! changes), the refusals, and `selftest` passing on the result.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_shelftalk");

fn shelftalk(args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SHELFTALK_HQ_URL", "http://127.0.0.1:9")
        // Plain key files here; tests/sealed_keys.rs provisions with systemd-creds.
        .env("SHELFTALK_NO_SYSTEMD_CREDS", "1")
        .args(args);
    common::run_with_stdin(cmd, stdin)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn provision(data: &Path, store: &str, kiosk: &str, extra: &[&str], stdin: &str) -> Output {
    let mut args = vec![
        "--data-dir",
        data.to_str().unwrap(),
        "provision",
        "--store",
        store,
        "--kiosk",
        kiosk,
    ];
    args.extend_from_slice(extra);
    shelftalk(&args, stdin)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Every file under `dir`: content and mtime.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p.clone());
                out.insert(p.clone(), (Vec::new(), meta.modified().unwrap(), mode(&p)));
            } else {
                let content = std::fs::read(&p).unwrap();
                out.insert(p.clone(), (content, meta.modified().unwrap(), mode(&p)));
            }
        }
    }
    out
}

#[test]
fn provision_sets_up_once_enrols_at_hq_and_then_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let pin = tmp.path().join("pin");
    std::fs::write(&pin, "975310\n").unwrap();
    let pin_arg = ["--pin-file", pin.to_str().unwrap()];

    let out = provision(
        &data,
        "store-7",
        "kiosk-3",
        &[pin_arg[0], pin_arg[1], "--json"],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["changed"], true);

    // Modes: dirs 0700 as the tmpfiles entry has them, key files 0600, config 0640.
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("keys")), 0o700);
    for f in ["kek.key", "pepper.key", "device.pk8"] {
        assert_eq!(mode(&data.join("keys").join(f)), 0o600, "{f}");
    }
    let config = data.join("kiosk.toml");
    assert_eq!(mode(&config), 0o640);
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(written.contains("store_id = \"store-7\""), "{written}");
    assert!(written.contains("kiosk_id = \"kiosk-3\""), "{written}");
    assert!(
        written.contains(&format!("data_dir = \"{}\"", data.display())),
        "{written}"
    );
    assert!(
        written.contains("console_pin_hash = \"pbkdf2-sha256$"),
        "{written}"
    );

    // The enrolment line is the HQ command, with this kiosk's public key.
    let public = shelftalk(
        &["--config", config.to_str().unwrap(), "keys", "show-public"],
        "",
    );
    let public = text(&public.stdout).trim().to_string();
    assert_eq!(public.len(), 64);
    let enrol = report["enrol"].as_str().unwrap();
    assert_eq!(
        enrol,
        format!("shelftalk hq enroll --db hq.db --kiosk kiosk-3 --store store-7 --pubkey {public}")
    );
    let hq_db = tmp.path().join("hq.db");
    let args: Vec<String> = enrol
        .split_whitespace()
        .skip(1)
        .map(|a| {
            if a == "hq.db" {
                hq_db.to_str().unwrap().to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let enrolled = shelftalk(&args, "");
    assert!(enrolled.status.success(), "{}", text(&enrolled.stderr));

    // Again, with and without the PIN file: nothing changes and it says so.
    let before = snapshot(&data);
    let again = provision(&data, "store-7", "kiosk-3", &pin_arg, "");
    assert!(again.status.success(), "{}", text(&again.stderr));
    let human = text(&again.stdout);
    assert!(
        human.starts_with("already provisioned: nothing changed"),
        "{human}"
    );
    assert!(human.contains(enrol), "{human}");
    let again = provision(&data, "store-7", "kiosk-3", &["--json"], "");
    assert!(again.status.success(), "{}", text(&again.stderr));
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(v["changed"], false);
    assert_eq!(v["steps"].as_array().unwrap().len(), 0);
    assert_eq!(snapshot(&data), before);

    // Refusals, each leaving everything as it was.
    let other = provision(&data, "store-7", "kiosk-4", &pin_arg, "");
    assert!(!other.status.success());
    let err = text(&other.stderr);
    assert!(
        err.contains("kiosk_id") && err.contains("\"kiosk-3\"") && err.contains("\"kiosk-4\""),
        "{err}"
    );
    let other = provision(&data, "store-8", "kiosk-3", &pin_arg, "");
    assert!(text(&other.stderr).contains("store_id"), "{other:?}");
    std::fs::write(&pin, "111111\n").unwrap();
    let wrong_pin = provision(&data, "store-7", "kiosk-3", &pin_arg, "");
    assert!(!wrong_pin.status.success());
    assert!(
        text(&wrong_pin.stderr).contains("different technician PIN"),
        "{wrong_pin:?}"
    );
    assert_eq!(snapshot(&data), before);

    // Never a PIN, loyalty number or secret on stdout.
    assert!(!human.contains("975310"));
}

#[test]
fn existing_keys_are_kept_and_partial_ones_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // Keys made earlier (`keys init`) are adopted, not replaced.
    let data = tmp.path().join("adopt");
    let init = shelftalk(
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "keys",
            "init",
            "--json",
        ],
        "",
    );
    assert!(init.status.success(), "{}", text(&init.stderr));
    let init: serde_json::Value = serde_json::from_slice(&init.stdout).unwrap();
    let kek = std::fs::read(data.join("keys/kek.key")).unwrap();
    // The PIN from stdin when it is not a terminal.
    let out = provision(&data, "s1", "k1", &["--json"], "246810\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["public_key"], init["device_public_key"]);
    assert_eq!(std::fs::read(data.join("keys/kek.key")).unwrap(), kek);
    assert!(!v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["step"] == "init_keys"));

    // A key dir holding some key files but no KEK is not overwritten.
    let partial = tmp.path().join("partial");
    std::fs::create_dir_all(partial.join("keys")).unwrap();
    std::fs::write(partial.join("keys/pepper.key"), [7u8; 32]).unwrap();
    let out = provision(&partial, "s1", "k1", &[], "246810\n");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("refusing to overwrite existing key file"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read(partial.join("keys/pepper.key")).unwrap(),
        [7u8; 32]
    );

    // A bad PIN or id is refused before anything is created.
    let fresh = tmp.path().join("fresh");
    let out = provision(&fresh, "s1", "k1", &[], "2468\n");
    assert!(text(&out.stderr).contains("6-12 digits"), "{out:?}");
    let out = provision(&fresh, "s 1", "k1", &[], "246810\n");
    assert!(text(&out.stderr).contains("store_id"), "{out:?}");
    assert!(!fresh.exists());
}

#[test]
fn selftest_passes_on_a_provisioned_dir() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/gemma-3-270m-q4_k_m-en-zh.gguf");
    if !model.exists() {
        assert_ne!(
            std::env::var("SHELFTALK_REQUIRE_MODEL").as_deref(),
            Ok("1"),
            "model required but missing at {}",
            model.display()
        );
        eprintln!("SKIPPED: model not found at {}", model.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = provision(&data, "s1", "k1", &[], "246810\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let config = data.join("kiosk.toml");
    let c = config.to_str().unwrap();
    let m = format!("{}", model.display());
    let with_model = |args: &[&str]| {
        Command::new(BIN)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("SHELFTALK_MODEL_PATH", &m)
            .env("SHELFTALK_HQ_URL", "http://127.0.0.1:9")
            .args(args)
            .output()
            .unwrap()
    };
    let import = with_model(&["--config", c, "import", "catalog", "demo/catalog.csv"]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    let selftest = with_model(&["--config", c, "selftest"]);
    assert!(
        selftest.status.success(),
        "{}\n{}",
        text(&selftest.stdout),
        text(&selftest.stderr)
    );
}
