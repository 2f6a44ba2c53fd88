//! The OpenAPI document is the contract: schemathesis (PyPI, the version `scripts/install-deps.sh`
//! pins) generates requests from HQ's own `/openapi.json` — valid and invalid parameters and
//! bodies, missing and wrong credentials, unsupported methods — and checks every answer against
//! the document (status code, content type, headers, body schema; invalid input refused, valid
//! input not refused, no 5xx). It runs against the real HQ on 127.0.0.1, on both backends, once
//! with a valid analyst token and once without any credentials; any failure fails the test.
//!
//! schemathesis is found in `SHELFTALK_SCHEMATHESIS` (the `st` program), else in the virtualenv
//! install-deps makes (`${XDG_CACHE_HOME:-~/.cache}/shelftalk/schemathesis/bin/st`), else on
//! `PATH`. Without it the test says loudly that it skipped, unless
//! `SHELFTALK_REQUIRE_SCHEMATHESIS=1` (CI sets it), when it fails.
//!
//! The analyst token is given to schemathesis as the credential of the document's `bearer`
//! scheme (its config file, `[auth.openapi.bearer]`), not as a header on every request, so its
//! `ignored_auth` check can take it away and see the 401. No check is excluded (see [`config`]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stderr)]

#[macro_use]
mod sync_support;

use std::path::PathBuf;

use ring::signature::{Ed25519KeyPair, KeyPair};
use shelftalk::feedback::cells::{Counts, Ipw};
use shelftalk::hq::store::IngestBatch;
use sync_support::{Backend, Hq};

/// The pinned version lives in scripts/install-deps.sh; this test takes whichever `st` it finds
/// and prints its version with the run.
fn schemathesis() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SHELFTALK_SCHEMATHESIS") {
        return Some(PathBuf::from(path)).filter(|p| p.exists());
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    if let Some(st) = cache
        .map(|c| c.join("shelftalk/schemathesis/bin/st"))
        .filter(|p| p.exists())
    {
        return Some(st);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("st"))
            .find(|p| p.exists())
    })
}

fn required() -> bool {
    std::env::var("SHELFTALK_REQUIRE_SCHEMATHESIS").is_ok_and(|v| v == "1")
}

/// schemathesis's configuration: the bearer credential (from the environment, when there is one).
///
/// No check is excluded. (Until HQ verified a kiosk's signature over the raw body before decoding
/// it, `positive_data_acceptance` had to be off for the kiosk uploads: schemathesis writes some
/// integers as `6.0`, which serde refuses, and HQ answered such an unsigned body 422 where any
/// other unsigned body got 401. Now every unsigned body is a 401 whatever it holds.)
fn config(with_token: bool) -> String {
    if with_token {
        "[auth.openapi.bearer]\nbearer = \"${HQ_TOKEN}\"\n".into()
    } else {
        String::new()
    }
}

/// Test cases per operation and phase: enough for every parameter's valid and invalid forms to
/// come up, small enough that a run takes seconds.
const MAX_EXAMPLES: &str = "30";
const SEED: &str = "15";

fn device() -> Ed25519KeyPair {
    sync_support::device_key()
}

/// One enrolled kiosk with one stored batch, so reports, the fleet list and priors have rows
/// whose schemas get checked too.
fn seed(hq: &Hq) {
    let key = device();
    hq.store
        .enroll("k1", "store-7", key.public_key().as_ref(), 0)
        .unwrap();
    let counts = Counts {
        impressions: 10,
        taps: 2,
        conversions: 1,
        ..Counts::default()
    };
    let ipw = Ipw {
        impressions: 40.0,
        taps: 8.0,
        conversions: 4.0,
    };
    let doc = sync_support::one_cell_batch(("k1", "store-7"), 1, counts, ipw);
    let (bytes, signature) = doc.sign(&key).unwrap();
    hq.store
        .ingest(&IngestBatch {
            doc: &doc,
            bytes: &bytes,
            signature: &signature,
            backlog: 0,
            now: 0,
        })
        .unwrap();
}

/// Runs schemathesis against `hq` (with `token` as the bearer, or no credentials); returns
/// (success, output).
async fn run(st: &PathBuf, hq: &Hq, token: Option<&str>, dir: &std::path::Path) -> (bool, String) {
    let config = dir.join(if token.is_some() {
        "schemathesis-token.toml"
    } else {
        "schemathesis-anonymous.toml"
    });
    std::fs::write(&config, self::config(token.is_some())).unwrap();
    let mut cmd = tokio::process::Command::new(st);
    cmd.current_dir(dir)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{}/openapi.json", hq.url))
        // Every check runs (schemathesis's default; naming them here would override the
        // per-operation exclusion in the config file).
        .args(["--seed", SEED, "--generation-deterministic"])
        .args(["--max-examples", MAX_EXAMPLES])
        // A redirect (sign-in, sign-out) is an answer of its own, checked as documented.
        .args(["--max-redirects", "0"])
        .args(["--request-timeout", "10", "--max-failures", "20"])
        .args(["--no-color", "--workers", "2"])
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .kill_on_drop(true);
    if let Some(token) = token {
        cmd.env("HQ_TOKEN", token);
    }
    let out = cmd.output().await.expect("schemathesis runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn contract(backend: Backend) {
    let Some(st) = schemathesis() else {
        let why = "schemathesis not found (SHELFTALK_SCHEMATHESIS, the virtualenv \
                   scripts/install-deps.sh makes, PATH)";
        assert!(
            !required(),
            "{why}; SHELFTALK_REQUIRE_SCHEMATHESIS=1 requires it"
        );
        eprintln!("SKIPPED hq_contract ({backend:?}): {why}");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    seed(&hq);
    for (who, token) in [
        ("with a valid analyst token", Some(hq.token.as_str())),
        ("without credentials", None),
    ] {
        let started = std::time::Instant::now();
        let (ok, output) = run(&st, &hq, token, tmp.path()).await;
        eprintln!(
            "schemathesis {who} on {backend:?}: {} in {:.1} s",
            if ok { "no failure" } else { "FAILED" },
            started.elapsed().as_secs_f64()
        );
        assert!(
            ok,
            "schemathesis {who} on {backend:?} found failures:\n{output}"
        );
        // The run did test something: every operation, without errors of its own.
        assert!(output.contains("passed"), "{output}");
    }
    // What HQ stored is what the seed put there: nothing the generated requests sent was taken.
    assert_eq!(hq.rows(), (1, 1));
    hq.stop().await;
}

on_both_backends!(contract);
