//! Readiness for systemd: the daemon reports `READY=1` only after the health gate — the same
//! checks as `shelftalk selftest` ([`health::run`]) — has passed, and ends the service when it
//! fails.
//!
//! Policy (see the README's appliance section):
//! - Only under a service manager (`NOTIFY_SOCKET` set): run from a shell, tmux or `demo`, the
//!   daemon has nobody to report to or restart it, so there is no gate and a missing model means
//!   template copy, as before. `shelftalk selftest` checks such a kiosk.
//! - The gate runs once at start, on its own thread, after the copy worker's model load finished
//!   (loaded or failed) — meanwhile the shopper screen already shows template copy; it loads its
//!   own model instance for the test generation and drops it after.
//! - Gate passed: `READY=1` and a `STATUS=` line; systemd's start job completes and the watchdog
//!   counts from here.
//! - Gate failed: `STATUS=health gate failed: …` naming each failed check, an error in the log,
//!   and the daemon shuts down in order and exits non-zero — `Restart=always` retries it after
//!   `RestartSec`. Staying up un-ready would only end the same way at `TimeoutStartSec`, later.
//! - A signal during the gate stops the daemon at once; the gate's thread is abandoned (it only
//!   reads, see [`health`]).
//! - Notification failures are logged, never fatal: without `READY=1` systemd restarts us anyway.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::health::{self, Report, Status};
use crate::notify::Notifier;

/// How often the gate looks whether the copy worker's model load has finished.
const SETTLE_POLL: Duration = Duration::from_millis(100);

/// Why the screen loop was asked to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT or SIGTERM.
    Signal,
    /// The health gate failed; the text names the failed checks.
    Unhealthy(String),
}

/// The failed checks of a report, `name: detail` joined by `; `.
pub fn failures(report: &Report) -> String {
    report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The status line after the gate passed: each check's name, warnings called out.
pub fn ready_status(report: &Report) -> String {
    let warned: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Warn)
        .map(|c| c.name)
        .collect();
    if warned.is_empty() {
        "serving; health gate passed".to_string()
    } else {
        format!(
            "serving; health gate passed (warnings: {})",
            warned.join(", ")
        )
    }
}

/// The service manager's notifier from the environment; a malformed environment is logged and
/// gives a notifier that sends nothing.
pub fn notifier() -> Notifier {
    Notifier::from_env().unwrap_or_else(|e| {
        tracing::error!(error = %e, "systemd notifications off");
        Notifier::disabled()
    })
}

fn send(result: Result<(), crate::notify::NotifyError>) {
    if let Err(e) = result {
        tracing::warn!(error = %e, "systemd notification not sent");
    }
}

/// Runs the health gate on its own thread once `settled()` says the copy worker's model load has
/// finished (so the gate's test generation does not compete with it for the cores and its time
/// budget); notifies `READY=1` when it passes. Returns the failures when it did not.
pub async fn gate(
    config: Config,
    notifier: Arc<Notifier>,
    settled: impl Fn() -> bool,
) -> Result<(), String> {
    send(notifier.status("starting: loading the model"));
    while !settled() {
        tokio::time::sleep(SETTLE_POLL).await;
    }
    send(notifier.status("starting: health gate running"));
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("health-gate".into())
        .spawn(move || {
            let _ = tx.send(health::run(&config));
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start the health gate: {e}"));
    }
    let Ok(report) = rx.await else {
        return Err("the health gate stopped without a report".into());
    };
    if report.healthy {
        let status = ready_status(&report);
        tracing::info!(%status, "health gate passed");
        send(notifier.ready(&status));
        Ok(())
    } else {
        let failed = failures(&report);
        tracing::error!(failed = %failed, "health gate failed; stopping so systemd restarts us");
        send(notifier.status(&format!("health gate failed: {failed}")));
        Err(failed)
    }
}

/// Resolves when `signal` resolves or the gate fails, whichever comes first; after the gate
/// passed only `signal` ends it. Without a service manager there is no gate.
pub async fn until_stop(
    config: Config,
    notifier: Arc<Notifier>,
    signal: impl Future<Output = ()>,
    settled: impl Fn() -> bool,
) -> Stop {
    if !notifier.is_enabled() {
        signal.await;
        return Stop::Signal;
    }
    let gate = gate(config, notifier, settled);
    tokio::pin!(gate, signal);
    tokio::select! {
        () = &mut signal => Stop::Signal,
        passed = &mut gate => match passed {
            Ok(()) => {
                signal.await;
                Stop::Signal
            }
            Err(failed) => Stop::Unhealthy(failed),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Check;

    fn report(checks: &[(&'static str, Status, &str)]) -> Report {
        Report {
            healthy: checks.iter().all(|c| c.1 != Status::Fail),
            checks: checks
                .iter()
                .map(|&(name, status, detail)| Check {
                    name,
                    status,
                    detail: detail.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn failures_name_each_failed_check() {
        let r = report(&[
            ("keys", Status::Ok, "loaded"),
            ("model", Status::Fail, "sha256 mismatch"),
            ("generation", Status::Fail, "skipped"),
            ("hq", Status::Warn, "unreachable"),
        ]);
        assert_eq!(failures(&r), "model: sha256 mismatch; generation: skipped");
    }

    #[test]
    fn ready_status_calls_out_warnings() {
        let ok = report(&[("keys", Status::Ok, "")]);
        assert_eq!(ready_status(&ok), "serving; health gate passed");
        let warn = report(&[("keys", Status::Ok, ""), ("hq", Status::Warn, "")]);
        assert_eq!(
            ready_status(&warn),
            "serving; health gate passed (warnings: hq)"
        );
    }
}
