//! The health gate: `shelftalk selftest`. Each check is run in turn and reported; the kiosk is
//! healthy only when none fails (an unreachable HQ is a warning: kiosks work offline).
//!
//! Invariants: checks only read (the test generation bypasses the copy cache and writes nothing);
//! a check that cannot run is a failure with the reason, never a panic.

use std::path::Path;

use serde::Serialize;

use crate::config::Config;
use crate::content;
use crate::copy::guardrails::{Reason, Verdict};
use crate::copy::service::{Attempt, CopyOrder, CopySource, Fallback};
use crate::crypto::keyfiles::{KeyDir, KeySource};
use crate::personalise::CopyDesk;
use crate::store::{catalog, Store};
use crate::vocab::{SegmentKey, Style};

/// Least wall-clock budget of the test generation.
pub const CHECK_BUDGET_MS: u64 = 30_000;

/// Free space below this on the data directory's filesystem fails the gate.
pub const DISK_FLOOR_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub healthy: bool,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let mark = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
            };
            out.push_str(&format!("{mark} {:<10} {}\n", c.name, c.detail));
        }
        out.push_str(if self.healthy {
            "healthy"
        } else {
            "NOT healthy"
        });
        out
    }
}

/// The warning for a key directory of plain files.
pub const PLAIN_KEYS_WARNING: &str = "keys are plain files beside the data: a copied card gives \
     them away; provision with systemd-creds";

/// Where the keys come from: sealed credentials pass, plain files warn (development).
pub fn key_protection(keys: &KeyDir) -> Check {
    match keys.source() {
        KeySource::PlainFiles => Check {
            name: "key protection",
            status: Status::Warn,
            detail: PLAIN_KEYS_WARNING.to_string(),
        },
        KeySource::Sealed {
            credential,
            credentials_dir,
        } => check(
            "key protection",
            match credentials_dir {
                Some(dir) => Ok(format!(
                    "keys sealed by {}, opened from the service credentials in {}",
                    credential.display(),
                    dir.display()
                )),
                None => Err(format!(
                    "keys sealed by {} but ${} holds no {}: run under the shelftalk unit with \
                     its credentials drop-in",
                    credential.display(),
                    crate::crypto::keyfiles::CREDENTIALS_ENV,
                    crate::crypto::keyfiles::SEALING_CREDENTIAL
                )),
            },
        ),
    }
}

fn check(name: &'static str, result: Result<String, String>) -> Check {
    match result {
        Ok(detail) => Check {
            name,
            status: Status::Ok,
            detail,
        },
        Err(detail) => Check {
            name,
            status: Status::Fail,
            detail,
        },
    }
}

/// Free space below this is a full disk: SQLite's next write that needs a page fails with
/// `SQLITE_FULL`.
pub const DISK_FULL_BYTES: u64 = 1024 * 1024;

/// What a full disk means for the kiosk, in the words selftest and the console use.
pub const DISK_FULL_MEANING: &str = "database writes fail (SQLITE_FULL); the kiosk keeps \
     serving from what is stored, keeps new feedback in memory and writes it when space returns";

/// The disk decision, apart from measuring. `dir` names the data directory in the answer.
pub fn disk_verdict(dir: &Path, free_bytes: u64, floor: u64) -> Result<String, String> {
    let mb = |b: u64| b / (1024 * 1024);
    if free_bytes < DISK_FULL_BYTES {
        return Err(format!(
            "disk full: the filesystem of {} has {} KB free; {DISK_FULL_MEANING}",
            dir.display(),
            free_bytes / 1024
        ));
    }
    if free_bytes >= floor {
        Ok(format!(
            "{} MB free (floor {} MB)",
            mb(free_bytes),
            mb(floor)
        ))
    } else {
        Err(format!(
            "only {} MB free, below the {} MB floor",
            mb(free_bytes),
            mb(floor)
        ))
    }
}

/// The console's storage alarm: `None` while the disk has room and feedback is written; else
/// what is wrong and what the kiosk does about it. `spool` is the daemon's memory spool.
pub fn storage_alarm(
    dir: &Path,
    free: Option<u64>,
    spool: &crate::feedback::spool::SpoolCounts,
) -> Option<String> {
    let full = free.is_some_and(|f| f < DISK_FULL_BYTES) || spool.disk_full;
    let mut parts = Vec::new();
    if full {
        parts.push(format!(
            "disk full at {}: serving from what is stored",
            dir.display()
        ));
    }
    if spool.waiting > 0 {
        parts.push(format!(
            "{} feedback events held in memory, written when the database takes writes again",
            spool.waiting
        ));
        if let Some(e) = &spool.last_error {
            parts.push(format!("last write error: {e}"));
        }
    }
    if spool.dropped > 0 {
        parts.push(format!(
            "{} feedback events dropped (memory spool full)",
            spool.dropped
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Free bytes for unprivileged users on the filesystem holding `path`.
pub fn free_bytes(path: &Path) -> Result<u64, String> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(format!(
            "statvfs {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    // The field types differ between targets (u32 on some 32-bit ARM libcs).
    #[allow(clippy::useless_conversion)]
    let free = u64::from(st.f_bavail).saturating_mul(u64::from(st.f_frsize));
    Ok(free)
}

/// Runs every check against `config`.
pub fn run(config: &Config) -> Report {
    let mut checks = Vec::new();
    checks.push(check(
        "keys",
        KeyDir::new(config.key_dir())
            .load()
            .map(|k| {
                format!(
                    "loaded from {} (KEK {})",
                    config.key_dir().display(),
                    k.kek.id()
                )
            })
            .map_err(|e| e.to_string()),
    ));
    checks.push(key_protection(&KeyDir::new(config.key_dir())));
    let store = Store::open(&config.db_path()).map_err(|e| e.to_string());
    checks.push(check(
        "database",
        store.as_ref().map_err(Clone::clone).and_then(|s| {
            let verdict: String = s
                .conn()
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .map_err(|e| e.to_string())?;
            if verdict == "ok" {
                Ok(format!("{} passes integrity_check", s.path().display()))
            } else {
                Err(format!("integrity_check: {verdict}"))
            }
        }),
    ));
    let content = content::active(config).map_err(|e| e.to_string());
    let model = content.and_then(|c| model_check(&c).map(|detail| (c, detail)));
    checks.push(check(
        "model",
        model
            .as_ref()
            .map(|(_, detail)| detail.clone())
            .map_err(Clone::clone),
    ));
    checks.push(check(
        "generation",
        match (&store, &model) {
            (Ok(store), Ok((content, _))) => test_generation(config, store, content),
            _ => Err("skipped: needs the database and the model".into()),
        },
    ));
    checks.push(check(
        "disk",
        free_bytes(&config.data_dir)
            .and_then(|f| disk_verdict(&config.data_dir, f, DISK_FLOOR_BYTES)),
    ));
    for mut c in [
        check("hq", hq_reachable(&config.hq_url)),
        check("hq_trust", hq_trust(config)),
    ] {
        // Both only stop feedback sync; the kiosk serves shoppers without HQ.
        if c.status == Status::Fail {
            c.status = Status::Warn;
        }
        checks.push(c);
    }
    Report {
        healthy: checks.iter().all(|c| c.status != Status::Fail),
        checks,
    }
}

/// The content's model file is there with the manifest's size and sha256.
/// Why `shelftalk update` did not switch content.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Content(#[from] content::ContentError),
}

/// Installs `candidate` beside the active content ([`content::install`]: only with a valid
/// release signature in `signature`) after the gate's model check and a test generation through
/// the guardrails with it.
pub fn install_checked(
    config: &Config,
    candidate: &content::Candidate,
    signature: &Path,
) -> Result<content::Switched, InstallError> {
    let store = Store::open(&config.db_path())?;
    Ok(content::install(config, candidate, signature, |c| {
        let model = model_check(c)?;
        let generation = test_generation(config, &store, c)?;
        Ok(format!("{model}; {generation}"))
    })?)
}

pub fn model_check(content: &content::Content) -> Result<String, String> {
    content
        .manifest
        .verify(&content.model_path)
        .map(|()| {
            format!(
                "{} ({}) sha256 {}, prompt pack {}",
                content.manifest.name,
                content.model_path.display(),
                &content.manifest.sha256[..12],
                content.pack.id()
            )
        })
        .map_err(|e| e.to_string())
}

/// One uncached generation with `content` that must come from the model and pass the guardrails.
/// It runs with at least [`CHECK_BUDGET_MS`] of wall-clock budget: the check is whether the model
/// works, and a busy board (a build, the screen's own generation) must not fail the gate and send
/// a healthy kiosk into a restart loop. Speed is what the benchmarks measure: copy the budget cut
/// short (never served) passes when what was written is clean, if too short.
pub fn test_generation(
    config: &Config,
    store: &Store,
    content: &content::Content,
) -> Result<String, String> {
    let mut config = config.clone();
    config.engine.budget_ms = config.engine.budget_ms.max(CHECK_BUDGET_MS);
    let config = &config;
    let product = catalog::all(store.conn())
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .ok_or("the catalog is empty; import one first")?;
    let desk = CopyDesk::open_with(config, store.conn(), content)
        .map_err(|e| e.to_string())?
        .require_model()
        .map_err(|e| e.to_string())?;
    let order = CopyOrder {
        product,
        segment: SegmentKey::all(),
        brand_fan: false,
        style: Style::Concise,
        seed: 1,
    };
    let outcome = desk.write_uncached(&order, None, &mut |_| {});
    let product = order.product;
    // A board too busy to finish the copy within the budget is not a broken model: the copy it
    // wrote before the budget ran out (never served) must be clean, if short.
    let slow_but_clean = outcome.fallback == Some(Fallback::Budget)
        && desk.model().is_some_and(|m| {
            let facts = m.service.facts(&product);
            outcome.attempts.iter().any(|a| {
                a.out_of_time
                    && !a.text.is_empty()
                    && matches!(
                        m.service.check(&a.text, &facts),
                        Verdict::Pass | Verdict::Fail(Reason::TooShort)
                    )
            })
        });
    match (outcome.source, outcome.verdict.is_pass()) {
        (CopySource::Model, true) => Ok(format!(
            "model copy for {} passed the guardrails in {:.0} ms{}",
            product.sku,
            outcome.elapsed_ms,
            outcome
                .attempts
                .last()
                .and_then(|a| a.timings.as_ref())
                .map_or(String::new(), |t| format!(
                    " ({} tokens at {:.1} tok/s)",
                    t.generated_tokens, t.tokens_per_sec
                ))
        )),
        _ if slow_but_clean => Ok(format!(
            "model copy for {} was clean but not finished within the {} ms budget (a busy \
             board; the screen serves templates meanwhile)",
            product.sku, config.engine.budget_ms
        )),
        _ => {
            let currency = outcome
                .attempts
                .iter()
                .any(|a| matches!(&a.verdict, Some(Verdict::Fail(Reason::ForeignCurrency(_)))));
            Err(format!(
                "model copy for {} did not pass the guardrails ({}){}",
                product.sku,
                attempts_said(&outcome.attempts),
                if currency {
                    "; does the catalog's currency match [currency] code, symbol and aliases in the \
                     config?"
                } else {
                    ""
                }
            ))
        }
    }
}

/// Each model attempt's outcome in a few words: `attempt 1: foreign_currency "Rs"; attempt 2: …`.
fn attempts_said(attempts: &[Attempt]) -> String {
    if attempts.is_empty() {
        return "no model attempt was made".into();
    }
    attempts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let outcome = match (&a.verdict, &a.error) {
                (Some(Verdict::Fail(reason)), _) => reason.to_string(),
                (Some(Verdict::Pass), _) => "pass".into(),
                (None, Some(error)) => error.clone(),
                (None, None) => "no copy".into(),
            };
            format!("attempt {}: {outcome}", i + 1)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether the kiosk can trust HQ's answers: its public key provisioned, and for `https://` the
/// pinned CA or certificate (`hq_ca_file`). Without them sync is off.
fn hq_trust(config: &Config) -> Result<String, String> {
    if config.hq_public_key().is_none() {
        return Err(
            "hq_public_key is not set: feedback sync is off until the kiosk is provisioned with \
             HQ's key (provision --hq-public-key HEX, from hq keys show-public)"
                .into(),
        );
    }
    if config.hq_url.starts_with("https://") && config.hq_ca_file.is_none() {
        return Err(
            "hq_url is https:// but hq_ca_file is not set: sync refuses an HQ it cannot pin".into(),
        );
    }
    Ok("HQ's key provisioned; its answers are verified".into())
}

/// Whether a TCP connection to the HQ URL's host and port opens within 2 s.
fn hq_reachable(url: &str) -> Result<String, String> {
    use std::net::ToSocketAddrs;
    let rest = url
        .strip_prefix("http://")
        .map(|r| (r, 80))
        .or_else(|| url.strip_prefix("https://").map(|r| (r, 443)));
    let Some((rest, default_port)) = rest else {
        return Err(format!("{url} is not an http(s) URL"));
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let target = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:{default_port}")
    };
    let addr = target
        .to_socket_addrs()
        .map_err(|e| format!("{target}: {e}"))?
        .next()
        .ok_or_else(|| format!("{target}: no address"))?;
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2))
        .map(|_| format!("{url} reachable"))
        .map_err(|e| format!("{url} unreachable: {e} (kiosk keeps working offline)"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn plain_keys_warn_and_sealed_keys_without_their_credential_fail() {
        let tmp = tempfile::tempdir().unwrap();
        let keys = tmp.path().join("keys");
        KeyDir::with_credentials(&keys, None)
            .init(&crate::crypto::rng())
            .unwrap();
        let plain = key_protection(&KeyDir::with_credentials(&keys, None));
        assert_eq!(plain.status, Status::Warn);
        assert_eq!(plain.detail, PLAIN_KEYS_WARNING);
        let sealed = tmp.path().join("sealed");
        let creds = tmp.path().join("creds");
        std::fs::create_dir_all(&creds).unwrap();
        KeyDir::with_credentials(&sealed, None)
            .init_sealed(&crate::crypto::rng(), &|key, out| {
                std::fs::write(out, b"encrypted elsewhere").unwrap();
                std::fs::write(creds.join("shelftalk-keys"), key.bytes()).unwrap();
                Ok(())
            })
            .unwrap();
        let missing = key_protection(&KeyDir::with_credentials(&sealed, None));
        assert_eq!(missing.status, Status::Fail);
        assert!(missing.detail.contains("CREDENTIALS_DIRECTORY"));
        let ok = key_protection(&KeyDir::with_credentials(&sealed, Some(creds)));
        assert_eq!(ok.status, Status::Ok, "{}", ok.detail);
    }

    #[test]
    fn failed_attempts_are_said_with_their_reasons() {
        let attempt = |verdict, error: Option<&str>| Attempt {
            seed: 1,
            text: String::new(),
            verdict,
            timings: None,
            error: error.map(str::to_string),
            out_of_time: false,
            cut: None,
            stop: None,
        };
        let said = attempts_said(&[
            attempt(
                Some(Verdict::Fail(Reason::ForeignCurrency("Rs".into()))),
                None,
            ),
            attempt(Some(Verdict::Fail(Reason::TooShort)), None),
            attempt(None, Some("the wall-clock budget was spent")),
        ]);
        assert_eq!(
            said,
            "attempt 1: foreign_currency \"Rs\"; attempt 2: too_short; \
             attempt 3: the wall-clock budget was spent"
        );
        assert_eq!(attempts_said(&[]), "no model attempt was made");
    }

    #[test]
    fn disk_floor_decides() {
        let dir = Path::new("/var/lib/shelftalk");
        assert!(disk_verdict(dir, 300 * 1024 * 1024, DISK_FLOOR_BYTES).is_ok());
        let err = disk_verdict(dir, 10 * 1024 * 1024, DISK_FLOOR_BYTES).unwrap_err();
        assert!(err.contains("10 MB") && err.contains("256 MB"), "{err}");
        assert!(!err.contains("full"), "{err}");
        let err = disk_verdict(dir, 12 * 1024, DISK_FLOOR_BYTES).unwrap_err();
        assert!(err.starts_with("disk full"), "{err}");
        assert!(
            err.contains("/var/lib/shelftalk") && err.contains("12 KB"),
            "{err}"
        );
        assert!(err.contains("SQLITE_FULL"), "{err}");
    }

    #[test]
    fn the_storage_alarm_says_what_waits_and_what_was_dropped() {
        use crate::feedback::spool::SpoolCounts;
        let dir = Path::new("/data");
        let fine = SpoolCounts::default();
        assert_eq!(storage_alarm(dir, Some(500 << 20), &fine), None);
        assert_eq!(storage_alarm(dir, None, &fine), None);
        let full = storage_alarm(dir, Some(0), &fine).unwrap();
        assert!(full.starts_with("disk full at /data"), "{full}");
        let waiting = SpoolCounts {
            waiting: 12,
            dropped: 3,
            disk_full: true,
            last_error: Some("database or disk is full".into()),
            ..SpoolCounts::default()
        };
        let text = storage_alarm(dir, Some(500 << 20), &waiting).unwrap();
        assert!(text.contains("disk full at /data"), "{text}");
        assert!(text.contains("12 feedback events held in memory"), "{text}");
        assert!(text.contains("3 feedback events dropped"), "{text}");
    }

    #[test]
    fn an_unprovisioned_hq_key_or_unpinned_https_is_reported() {
        let mut config = Config::default();
        assert!(hq_trust(&config).unwrap_err().contains("hq_public_key"));
        config.hq_public_key = Some("ab".repeat(32));
        assert!(hq_trust(&config).is_ok());
        config.hq_url = "https://hq.example:8443".into();
        assert!(hq_trust(&config).unwrap_err().contains("hq_ca_file"));
        config.hq_ca_file = Some("/etc/shelftalk/hq-ca.pem".into());
        assert!(hq_trust(&config).is_ok());
    }

    #[test]
    fn unreachable_hq_is_reported() {
        // Port 9 on loopback: nothing listens there.
        assert!(hq_reachable("http://127.0.0.1:9").is_err());
        assert!(hq_reachable("ftp://x").is_err());
    }
}
