//! `shelftalk selftest` passes on a healthy data dir and fails, naming the part, for each broken one.
#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::model;

fn run(data: &Path, model: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SHELFTALK_MODEL_PATH", model)
        .env("SHELFTALK_HQ_URL", "http://127.0.0.1:9")
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

fn selftest(data: &Path, model: &Path) -> (bool, String) {
    let out = run(data, model, &["selftest"]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn selftest_passes_healthy_and_names_each_broken_part() {
    let Some(model) = model() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    assert!(run(&data, &model, &["keys", "init"]).status.success());
    assert!(
        run(&data, &model, &["import", "catalog", "demo/catalog.csv"])
            .status
            .success()
    );

    let (ok, text) = selftest(&data, &model);
    assert!(ok, "{text}");
    assert!(
        text.contains("WARN hq"),
        "an unreachable HQ only warns: {text}"
    );

    // Wrong model hash.
    let fake = tmp.path().join("fake.gguf");
    std::fs::write(&fake, b"GGUF not really").unwrap();
    let (ok, text) = selftest(&data, &fake);
    assert!(!ok);
    assert!(text.lines().any(|l| l.starts_with("FAIL model")), "{text}");

    // World-readable key file.
    let pepper = data.join("keys/pepper.key");
    std::fs::set_permissions(&pepper, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, text) = selftest(&data, &model);
    assert!(!ok);
    assert!(
        text.contains("FAIL keys") && text.contains("chmod 600"),
        "{text}"
    );
    std::fs::set_permissions(&pepper, std::fs::Permissions::from_mode(0o600)).unwrap();

    // Corrupted database: overwrite pages in the middle of the file.
    let db = data.join("shelftalk.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 8192] {
        *b = 0xA5;
    }
    std::fs::write(&db, bytes).unwrap();
    let (ok, text) = selftest(&data, &model);
    assert!(!ok);
    assert!(text.contains("FAIL database"), "{text}");
}
