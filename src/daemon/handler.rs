//! The daemon's answers to the technician console ([`crate::control::Handler`]): Status, Logs,
//! Content, Config and the audited actions.
//!
//! Invariants:
//! - Every action, successful or not, is appended to the audit log as
//!   `(now, actor, action, detail)` — actor `console` after the PIN, `cli` for a shell command
//!   that proved it holds the kiosk's keys (`keys rotate`, `shopper erase` while the daemon
//!   runs); the detail never contains a loyalty number (an erased shopper is named by its random
//!   short id).
//! - Key changes asked over the socket are made by the daemon's own vault, under the key
//!   directory's exclusive lock like every key change (`profile`), so the daemon's keyring is
//!   current the moment the change is done.
//! - The PIN hash is read from the config file in use at every attempt (so `console set-pin`
//!   takes effect at once) and never leaves the daemon; Config shows `Config::redacted`.
//! - Bodies are the serde types below; the console maps them to its view types.

use serde::{Deserialize, Serialize};

use super::copier::ContentRecord;
use super::logs::{self, LogRecord};
use super::mapping::parse_thermal;
use super::{now_unix, Daemon};
use crate::config::Config;
use crate::control::{self, Action, Actor, Handler, Request, Response};
use crate::copy::service::CopyOrder;
use crate::recommend::Features;
use crate::ui::console::StatusView;
use crate::vocab::{LoyaltyNumber, SegmentKey, Style};

/// Most log lines in one answer.
const LOG_BATCH: usize = 500;

/// An action's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionBody {
    pub ok: bool,
    pub message: String,
    /// The action's report for a shell command to print (`RotationReport`, `EraseReport`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<serde_json::Value>,
}

/// What [`Daemon::act`] did: success, the console's message, the audit detail, the report.
struct Outcome {
    ok: bool,
    message: String,
    detail: String,
    report: Option<serde_json::Value>,
}

impl Outcome {
    fn done(message: String) -> Self {
        Self {
            ok: true,
            detail: message.clone(),
            message,
            report: None,
        }
    }

    fn failed(message: String, detail: String) -> Self {
        Self {
            ok: false,
            message,
            detail,
            report: None,
        }
    }

    fn with_report(mut self, report: &impl Serialize) -> Self {
        self.report = serde_json::to_value(report).ok();
        self
    }
}

fn ok<T: Serialize>(body: &T) -> Response {
    match serde_json::to_value(body) {
        Ok(body) => Response::Ok { body },
        Err(e) => Response::Error {
            message: e.to_string(),
        },
    }
}

/// `(key, value)` lines of a config, nested tables as `table.key`.
pub fn config_lines(config: &Config) -> Vec<(String, String)> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut Vec<(String, String)>) {
        for (k, v) in table {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(t) => walk(&key, t, out),
                toml::Value::String(s) => out.push((key, s.clone())),
                other => out.push((key, other.to_string())),
            }
        }
    }
    let mut out = Vec::new();
    if let Ok(toml::Value::Table(t)) = toml::Value::try_from(config.redacted()) {
        walk("", &t, &mut out);
    }
    out
}

impl Daemon {
    fn status(&self) -> Result<StatusView, String> {
        let config = self.config();
        let vault = self.vault();
        let summary = vault.store.summary().map_err(|e| e.to_string())?;
        let backlog = crate::sync::status(vault.store.conn(), &config)
            .ok()
            .map(|s| s.outbox.batches);
        drop(vault);
        let verdicts = self
            .copier
            .counts()
            .into_iter()
            .filter(|(k, _)| k.starts_with("attempt.") || k.starts_with("served."))
            .collect();
        let disk = crate::health::free_bytes(&config.data_dir).ok();
        let spool = self.feedback_counts();
        let storage_alarm = crate::health::storage_alarm(&config.data_dir, disk, &spool);
        let temp = std::fs::read_to_string("/sys/class/thermal/thermal_zone0/temp")
            .ok()
            .and_then(|t| parse_thermal(&t));
        let (model_name, model_hash, _) = self.copier.model();
        Ok(StatusView {
            model_name,
            model_hash,
            model_state: self.copier.load_state().describe(),
            tokens_per_sec: self.copier.tokens_per_sec(),
            cache_hit_rate: self.copier.cache_hit_rate(),
            verdicts,
            db_bytes: summary.db_bytes,
            db_counts: vec![
                ("products".into(), summary.products),
                ("shoppers".into(), summary.shoppers),
                ("sealed rows".into(), summary.sealed_rows),
                ("quarantined".into(), summary.quarantined_rows),
            ],
            sync_backlog: backlog,
            disk_free_bytes: disk,
            storage_alarm,
            feedback_waiting: spool.waiting,
            feedback_dropped: spool.dropped,
            uptime: std::time::Duration::from_secs(self.started.elapsed().as_secs()),
            cpu_temp_celsius: temp,
            copy_fallbacks: self.copier.fallbacks(),
            copy_latency: self.copier.latency(),
        })
    }

    /// Runs one action.
    fn act(&self, action: &Action) -> Outcome {
        match action {
            Action::SelfTest => {
                let first = self
                    .model()
                    .recommend(&Features::default(), 1)
                    .first()
                    .and_then(|p| self.model().product(&p.sku).cloned())
                    .or_else(|| self.model().catalog.products().first().cloned());
                let integrity: Result<String, _> =
                    self.vault()
                        .store
                        .conn()
                        .query_row("PRAGMA integrity_check", [], |r| r.get(0));
                let integrity = integrity.unwrap_or_else(|e| e.to_string());
                let copy = first.map(|product| {
                    self.copier.write_now(&CopyOrder {
                        product,
                        segment: SegmentKey::all(),
                        brand_fan: false,
                        style: Style::Concise,
                        seed: 7,
                    })
                });
                let copy_ok = copy.as_ref().is_some_and(|c| c.verdict.is_pass());
                let copy_text = match &copy {
                    Some(c) => format!(
                        "copy {} from {:?} in {:.0} ms",
                        c.verdict.code(),
                        c.source,
                        c.elapsed_ms
                    ),
                    None => "no product to write copy for".into(),
                };
                let msg = format!("database integrity: {integrity}; {copy_text}");
                if integrity == "ok" && copy_ok {
                    Outcome::done(msg)
                } else {
                    Outcome::failed(msg.clone(), msg)
                }
            }
            Action::WarmCache => match self.copier.warm_again() {
                Some(entries) => Outcome::done(format!(
                    "cache warm-up restarted: {entries} entries, written while no shopper is at \
                     the screen"
                )),
                None => {
                    let msg = "the copy cache is off (copy_cache_ttl_secs = 0)".to_string();
                    Outcome::failed(msg.clone(), msg)
                }
            },
            Action::RotateKeys => match self.vault().rotate() {
                Ok(r) => Outcome::done(format!(
                    "kek {} -> {}, {} data keys re-wrapped",
                    r.from_kek, r.to_kek, r.rewrapped
                ))
                .with_report(&r),
                Err(e) => Outcome::failed(e.to_string(), format!("failed: {e}")),
            },
            Action::EraseShopper { loyalty } => match self
                .card_number(loyalty)
                .map_err(|e| e.to_string())
                .and_then(|n| {
                    self.vault()
                        .erase(&n, now_unix())
                        .map_err(|e| e.to_string())
                }) {
                Ok(r) => Outcome::done(format!(
                    "shopper {} erased, {} rows",
                    r.shopper, r.rows_deleted
                ))
                .with_report(&r),
                Err(e) => Outcome::failed(e.to_string(), format!("failed: {e}")),
            },
            Action::ReloadConfig => match self.reload() {
                Ok(()) => Outcome {
                    detail: "config reloaded".into(),
                    ..Outcome::done(
                        "config reloaded (screen timings and recommender apply at restart)".into(),
                    )
                },
                Err(e) => Outcome::failed(e, "failed".into()),
            },
        }
    }

    /// The config file in use, loaded as at start (data dir and key dir kept: they cannot move
    /// under a running daemon).
    fn load_file_config(&self) -> Result<Config, String> {
        let current = self.config();
        let mut fresh = Config::load(self.config_file.as_deref(), std::env::vars())
            .map_err(|e| e.to_string())?;
        fresh.data_dir = current.data_dir;
        fresh.key_dir = current.key_dir;
        fresh.validate().map_err(|e| e.to_string())?;
        Ok(fresh)
    }

    /// A number typed at the console, read as the scanner and the importers read it (the
    /// configured card schemes), so erasing it reaches the same shopper.
    fn card_number(&self, raw: &str) -> Result<LoyaltyNumber, crate::vocab::VocabError> {
        LoyaltyNumber::parse_card(raw, &self.config().scan.cards)
    }

    fn reload(&self) -> Result<(), String> {
        let fresh = self.load_file_config()?;
        *self
            .config
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        Ok(())
    }
}

impl Handler for Daemon {
    fn pin_hash(&self) -> Option<String> {
        match self.load_file_config() {
            Ok(c) if c.console_pin_hash.is_some() => c.console_pin_hash,
            _ => self.config().console_pin_hash,
        }
    }

    fn key_proof_ok(&self, challenge: &[u8], proof: &str) -> bool {
        control::key_proof_ok(&self.vault().keys().pepper, challenge, proof)
    }

    fn handle(&self, actor: Actor, request: Request) -> Response {
        match request {
            Request::Pin { .. } | Request::Challenge | Request::KeyProof { .. } => {
                Response::Error {
                    message: "already authenticated".into(),
                }
            }
            Request::Status => match self.status() {
                Ok(s) => ok(&s),
                Err(message) => Response::Error { message },
            },
            Request::Logs { after } => {
                let lines: Vec<LogRecord> = logs::buffer().after(after, LOG_BATCH);
                ok(&lines)
            }
            Request::Content => {
                let items: Vec<ContentRecord> = self.copier.content();
                ok(&items)
            }
            Request::Config => ok(&config_lines(&self.config())),
            Request::Action { action } => {
                let done = self.act(&action);
                tracing::info!(
                    action = action.name(),
                    actor = actor.name(),
                    ok = done.ok,
                    "control action"
                );
                if let Err(e) =
                    self.audit
                        .append(now_unix(), actor.name(), action.name(), &done.detail)
                {
                    tracing::error!(error = %e, "audit log append failed");
                    return Response::Error {
                        message: format!("{}; but the audit log failed: {e}", done.message),
                    };
                }
                ok(&ActionBody {
                    ok: done.ok,
                    message: done.message,
                    report: done.report,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn config_lines_redact_the_pin_hash() {
        let config = Config {
            console_pin_hash: Some("pbkdf2-sha256$100000$aa$bb".into()),
            ..Config::default()
        };
        let lines = config_lines(&config);
        let pin = lines.iter().find(|(k, _)| k == "console_pin_hash").unwrap();
        assert_eq!(pin.1, "***");
        assert!(lines.iter().all(|(_, v)| !v.contains("pbkdf2")));
        assert!(lines
            .iter()
            .any(|(k, v)| k == "kiosk_id" && v == "kiosk-01"));
    }
}
