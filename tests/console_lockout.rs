//! The technician PIN's lockout against the real daemon: the real control socket and handler on
//! a temp data dir with a real audit log (no model: the copy worker serves templates). Wrong PINs
//! lock the console, the lock and its back-off survive a restart of the daemon, every checked
//! attempt is in the audit log without the PIN, and `audit verify` (the real binary) passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use shelftalk::audit::AuditLog;
use shelftalk::config::Config;
use shelftalk::control::{
    self, Client, PinDecision, PinGate, Request, Response, LOCKOUT_BASE_SECS, MAX_FAILURES,
};
use shelftalk::crypto::keyfiles::KeyDir;
use shelftalk::daemon::{socket_path, Daemon};

const PIN: &str = "246810";
const WRONG: &str = "135790";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn kiosk(dir: &Path) -> Config {
    let config = Config {
        data_dir: dir.to_path_buf(),
        model_path: dir.join("no-model.gguf"),
        console_pin_hash: Some(control::hash_pin(PIN, &shelftalk::crypto::rng()).unwrap()),
        ..Config::default()
    };
    KeyDir::new(config.key_dir())
        .init(&shelftalk::crypto::rng())
        .unwrap();
    config
}

/// A running daemon's control socket.
struct Running {
    daemon: Arc<Daemon>,
    stop: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<Result<(), shelftalk::daemon::DaemonError>>,
    client: Client,
}

impl Running {
    async fn start(config: &Config) -> Running {
        let (answers, _screen) = tokio::sync::mpsc::unbounded_channel();
        let daemon = Daemon::open(config.clone(), None, answers).unwrap();
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let server = {
            let d = Arc::clone(&daemon);
            tokio::spawn(async move { d.serve_control(stop_rx).await })
        };
        let client = connect(&socket_path(&config.data_dir)).await;
        Running {
            daemon,
            stop,
            server,
            client,
        }
    }

    async fn pin(&mut self, pin: &str) -> Response {
        self.client
            .call(&Request::Pin { pin: pin.into() })
            .await
            .unwrap()
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        self.server.await.unwrap().unwrap();
        self.daemon.stop();
    }
}

/// Waits until the socket accepts a connection: bound before this, a stale file may remain from
/// the previous daemon until the new one replaces it.
async fn connect(path: &Path) -> Client {
    for _ in 0..400 {
        if let Ok(mut c) = Client::connect(path).await {
            // A connection to the new daemon answers; a stale socket file refuses the connect.
            if c.call(&Request::Status).await.is_ok() {
                return c;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("control socket never came up at {}", path.display());
}

fn locked_for(r: &Response) -> Option<i64> {
    match r {
        Response::Denied {
            locked_for_secs, ..
        } => *locked_for_secs,
        other => panic!("expected a denial, got {other:?}"),
    }
}

fn audit_text(dir: &Path) -> String {
    std::fs::read_to_string(AuditLog::in_dir(dir).path()).unwrap_or_default()
}

fn audit_verify(dir: &Path) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .arg("--data-dir")
        .arg(dir)
        .args(["audit", "verify"])
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lockout_survives_a_restart_of_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let config = kiosk(dir.path());
    let mut kiosk = Running::start(&config).await;

    // A PIN shorter than 6 digits is refused unchecked and not counted.
    let short = kiosk.pin("2468").await;
    assert!(
        matches!(&short, Response::Denied { reason, locked_for_secs: None } if reason.contains("6-12 digits")),
        "{short:?}"
    );
    assert_eq!(audit_text(dir.path()), "");

    for _ in 1..MAX_FAILURES {
        let r = kiosk.pin(WRONG).await;
        assert_eq!(locked_for(&r), None, "{r:?}");
    }
    let r = kiosk.pin(WRONG).await;
    assert_eq!(locked_for(&r), Some(LOCKOUT_BASE_SECS), "{r:?}");
    // Locked: the right PIN is refused too.
    let r = kiosk.pin(PIN).await;
    assert!(locked_for(&r).is_some(), "{r:?}");
    kiosk.stop().await;

    // The restarted daemon is still locked, for what is left of the lock.
    let mut again = Running::start(&config).await;
    let r = again.pin(PIN).await;
    let left = locked_for(&r).expect("still locked after the restart");
    assert!(
        (LOCKOUT_BASE_SECS - 60..=LOCKOUT_BASE_SECS).contains(&left),
        "{left}"
    );
    assert!(matches!(
        again.client.call(&Request::Status).await.unwrap(),
        Response::Denied { .. }
    ));
    again.stop().await;

    // Every checked attempt is audited, none while locked, and never the PIN.
    let audit = audit_text(dir.path());
    assert_eq!(
        audit.matches(control::AUDIT_PIN_WRONG).count(),
        MAX_FAILURES as usize - 1
    );
    assert_eq!(audit.matches(control::AUDIT_PIN_LOCKOUT).count(), 1);
    assert_eq!(audit.lines().count(), MAX_FAILURES as usize);
    // As a value of its own: a 4-digit string also turns up inside hashes and timestamps by
    // chance (about one run in a hundred), which says nothing about the PIN.
    let values: std::collections::HashSet<&str> =
        audit.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    for secret in [PIN, WRONG, "2468"] {
        assert!(!values.contains(secret), "{secret} in the audit log");
    }
    for secret in [PIN, WRONG] {
        assert!(!audit.contains(secret), "{secret} in the audit log");
    }
    audit_verify(dir.path());
}

/// A data dir whose earlier daemon saw `failures` wrong PINs two hours ago (its lock, if any,
/// has passed).
fn kiosk_with_old_failures(dir: &Path, failures: u32) -> Config {
    let config = kiosk(dir);
    let mut gate = PinGate::open(AuditLog::in_dir(dir)).unwrap();
    for _ in 0..failures {
        gate.attempt(now() - 7_200, || false);
    }
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_back_off_continues_after_a_restart_and_the_right_pin_resets_it() {
    // Five wrong PINs before the restart: the next one locks at once, for twice as long.
    let dir = tempfile::tempdir().unwrap();
    let config = kiosk_with_old_failures(dir.path(), MAX_FAILURES);
    let mut kiosk = Running::start(&config).await;
    let r = kiosk.pin(WRONG).await;
    assert_eq!(locked_for(&r), Some(2 * LOCKOUT_BASE_SECS), "{r:?}");
    kiosk.stop().await;
    audit_verify(dir.path());

    // Six before the restart, that lock passed: the right PIN opens the console and resets the
    // count, so the next wrong PIN has all its tries again.
    let dir = tempfile::tempdir().unwrap();
    let config = kiosk_with_old_failures(dir.path(), MAX_FAILURES + 1);
    let mut kiosk = Running::start(&config).await;
    assert!(matches!(kiosk.pin(PIN).await, Response::Ok { .. }));
    assert!(matches!(
        kiosk.client.call(&Request::Status).await.unwrap(),
        Response::Ok { .. }
    ));
    kiosk.stop().await;
    let mut gate = PinGate::open(AuditLog::in_dir(dir.path())).unwrap();
    assert_eq!(gate.guard().failures(), 0);
    assert_eq!(
        gate.attempt(now(), || false),
        PinDecision::Wrong {
            tries_left: MAX_FAILURES - 1
        }
    );
    assert!(audit_text(dir.path()).contains(control::AUDIT_PIN_ACCEPTED));
    audit_verify(dir.path());
}
