//! The daemon's control socket, the technician PIN and the console's wire protocol.
//!
//! Protocol: JSON lines over a Unix socket in the data dir. A connection authenticates first —
//! the console with [`Request::Pin`], a shell command with [`Request::Challenge`] then
//! [`Request::KeyProof`] — and until it has, every other request is refused. Each request gets
//! exactly one [`Response`] line. The daemon audits each action under the [`Actor`] the
//! connection authenticated as.
//!
//! Invariants:
//! - The socket file is mode 0600 and a connection is accepted only from the user that owns it
//!   (the daemon's user) or root: the peer's uid is read with `SO_PEERCRED` and compared with the
//!   socket file's owner — file permissions alone are not trusted.
//! - The PIN is [`PIN_DIGITS`] digits, stored only as a PBKDF2-HMAC-SHA256 hash
//!   (`pbkdf2-sha256$iterations$salt$hash`). A PIN of another form is refused unchecked and
//!   uncounted (a shorter PIN set before the 6-digit rule must be set again).
//! - After [`MAX_FAILURES`] wrong PINs in a row the console is locked for [`LOCKOUT_BASE_SECS`];
//!   every further wrong PIN (one try after each lockout) doubles it, up to [`LOCKOUT_MAX_SECS`];
//!   the right PIN resets the count. The lock holds for every connection (the guard is shared)
//!   and survives a restart: every checked attempt is appended to the audit log (`pin_accepted`,
//!   `pin_wrong`, `pin_lockout`; never the PIN) before it is answered, and [`PinGate::open`]
//!   rebuilds the guard by replaying those entries. The audit log is hash-chained and its head is
//!   reported to HQ, so removing the failures to lift a lock is a detectable rewrite.
//! - Loyalty numbers typed into the console (or read by `shopper erase` from its standard input
//!   or file) travel only over this socket, are never logged and never echoed back.
//! - Why a shell command needs no PIN: whoever passes the peer check is the daemon's user or
//!   root, who can read the key directory and the database, which is all `keys rotate` needs
//!   when no daemon runs. The PIN guards the console, a screen a technician (or whoever stands
//!   at the kiosk) types into; a shell command instead proves what its authority rests on, that
//!   it holds *this kiosk's* keys: it answers a fresh random 32-byte challenge with
//!   HMAC-SHA256(pepper, "control-cli\0" ‖ challenge) ([`key_proof`]). Nothing secret crosses
//!   the socket, a proof is good for one challenge only, and a peer without the key files still
//!   needs the PIN.

use std::num::NonZeroU32;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ring::rand::SecureRandom;
use ring::{digest, pbkdf2};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::audit::{AuditError, AuditLog, Entry};

/// How many digits a technician PIN has (the console keypad accepts digits only).
pub const PIN_DIGITS: std::ops::RangeInclusive<usize> = 6..=12;
/// Wrong PINs in a row before the console locks.
pub const MAX_FAILURES: u32 = 5;
/// The first lockout; each further wrong PIN in a row doubles it.
pub const LOCKOUT_BASE_SECS: i64 = 300;
/// The longest lockout.
pub const LOCKOUT_MAX_SECS: i64 = 3600;
/// Audit actions of PIN attempts (actor `console`); the guard is rebuilt from them.
pub const AUDIT_PIN_ACCEPTED: &str = "pin_accepted";
pub const AUDIT_PIN_WRONG: &str = "pin_wrong";
pub const AUDIT_PIN_LOCKOUT: &str = "pin_lockout";
const PBKDF2_ITERATIONS: u32 = 100_000;
/// Longest request line accepted.
const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control socket {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot reach the daemon at {path}: {source} (is `shelftalk run` running with this data dir?)")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the daemon closed the connection")]
    Closed,
    #[error("malformed message: {0}")]
    Protocol(#[source] serde_json::Error),
    #[error("PIN hash in config is malformed; set it again with `shelftalk console set-pin`")]
    BadPinHash,
    #[error("the system random number generator failed")]
    Random,
    #[error("the PIN must be 6-12 digits (the console keypad accepts digits only)")]
    PinForm,
}

/// Checks a technician PIN's form: [`PIN_DIGITS`] digits (the console keypad accepts digits
/// only). Returns it without surrounding whitespace.
pub fn check_pin_form(pin: &str) -> Result<&str, ControlError> {
    let pin = pin.trim();
    if !PIN_DIGITS.contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ControlError::PinForm);
    }
    Ok(pin)
}

/// A console request. A shell command authenticates with `Challenge` (answered with
/// `{"challenge": hex}`) and then `KeyProof`, its [`key_proof`] of that challenge as hex.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Pin { pin: String },
    Challenge,
    KeyProof { proof: String },
    Status,
    Logs { after: u64 },
    Content,
    Config,
    Action { action: Action },
}

/// A technician action; every one is confirmed in the console and audited by the daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    SelfTest,
    WarmCache,
    RotateKeys,
    EraseShopper { loyalty: String },
    ReloadConfig,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Self::SelfTest => "self_test",
            Self::WarmCache => "warm_cache",
            Self::RotateKeys => "rotate_keys",
            Self::EraseShopper { .. } => "erase_shopper",
            Self::ReloadConfig => "reload_config",
        }
    }
}

/// Who an authenticated connection speaks for, as the audit log names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The technician console, after the PIN.
    Console,
    /// A shell command (`keys rotate`, `shopper erase`), after its key proof.
    Cli,
}

impl Actor {
    pub fn name(self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::Cli => "cli",
        }
    }
}

/// A shell command's answer to `challenge`: HMAC-SHA256(pepper, "control-cli\0" ‖ challenge),
/// as hex.
pub fn key_proof(pepper: &crate::crypto::Pepper, challenge: &[u8]) -> String {
    crate::crypto::hex(&pepper.control_proof(challenge))
}

/// Whether `proof` (hex) answers `challenge` under `pepper` (constant time).
pub fn key_proof_ok(pepper: &crate::crypto::Pepper, challenge: &[u8], proof: &str) -> bool {
    crate::crypto::from_hex(proof).is_some_and(|p| pepper.verify_control_proof(challenge, &p))
}

/// The daemon's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Response {
    Ok {
        body: serde_json::Value,
    },
    Denied {
        reason: String,
        locked_for_secs: Option<i64>,
    },
    Error {
        message: String,
    },
}

/// Hashes a PIN for the config file.
pub fn hash_pin(pin: &str, rng: &dyn SecureRandom) -> Result<String, ControlError> {
    let mut salt = [0u8; 16];
    rng.fill(&mut salt).map_err(|_| ControlError::Random)?;
    let mut out = [0u8; digest::SHA256_OUTPUT_LEN];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations(PBKDF2_ITERATIONS),
        &salt,
        pin.as_bytes(),
        &mut out,
    );
    Ok(format!(
        "pbkdf2-sha256${PBKDF2_ITERATIONS}${}${}",
        crate::crypto::hex(&salt),
        crate::crypto::hex(&out)
    ))
}

fn iterations(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks `pin` against a hash made by [`hash_pin`] (constant time).
pub fn verify_pin(hash: &str, pin: &str) -> Result<bool, ControlError> {
    let parts: Vec<&str> = hash.split('$').collect();
    let [scheme, iters, salt, expected] = parts.as_slice() else {
        return Err(ControlError::BadPinHash);
    };
    if *scheme != "pbkdf2-sha256" {
        return Err(ControlError::BadPinHash);
    }
    let iters: u32 = iters.parse().map_err(|_| ControlError::BadPinHash)?;
    let salt = unhex(salt).ok_or(ControlError::BadPinHash)?;
    let expected = unhex(expected).ok_or(ControlError::BadPinHash)?;
    Ok(pbkdf2::verify(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations(iters),
        &salt,
        pin.as_bytes(),
        &expected,
    )
    .is_ok())
}

/// How long the console locks after `failures` wrong PINs in a row: nothing below
/// [`MAX_FAILURES`], then [`LOCKOUT_BASE_SECS`] doubled for every further one, at most
/// [`LOCKOUT_MAX_SECS`].
pub fn lockout_secs(failures: u32) -> Option<i64> {
    let over = failures.checked_sub(MAX_FAILURES)?;
    let factor = 1i64.checked_shl(over.min(62)).unwrap_or(i64::MAX);
    Some(
        LOCKOUT_BASE_SECS
            .saturating_mul(factor)
            .min(LOCKOUT_MAX_SECS),
    )
}

/// Counts wrong PINs in a row and locks the console after [`MAX_FAILURES`], with exponential
/// back-off ([`lockout_secs`]). Pure: the caller passes time; [`PinGate`] persists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinGuard {
    /// Wrong PINs since the last right one.
    failures: u32,
    locked_until: Option<i64>,
}

/// What the guard decided about one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinDecision {
    Accepted,
    Wrong {
        tries_left: u32,
    },
    /// This wrong PIN (the `failures`-th in a row) locked the console for `for_secs`.
    LockedOut {
        failures: u32,
        for_secs: i64,
    },
    /// Locked by earlier wrong PINs: this PIN was not checked.
    Locked {
        for_secs: i64,
    },
}

impl PinGuard {
    /// Wrong PINs since the last right one.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether the console is locked at `now`, and for how long (never more than
    /// [`LOCKOUT_MAX_SECS`], even when the clock was set back since the lock began).
    pub fn locked_for(&self, now: i64) -> Option<i64> {
        self.locked_until
            .filter(|&t| t > now)
            .map(|t| (t - now).min(LOCKOUT_MAX_SECS))
    }

    /// Records an attempt whose correctness is `correct`. While locked nothing is checked.
    pub fn attempt(&mut self, now: i64, correct: impl FnOnce() -> bool) -> PinDecision {
        if let Some(for_secs) = self.locked_for(now) {
            // A clock set back must not stretch the lock beyond the longest lockout.
            self.locked_until = Some(now + for_secs);
            return PinDecision::Locked { for_secs };
        }
        self.record(now, correct())
    }

    /// Records a checked attempt at `now` (no lock check: [`attempt`](Self::attempt) does that).
    fn record(&mut self, now: i64, correct: bool) -> PinDecision {
        if correct {
            *self = Self::default();
            return PinDecision::Accepted;
        }
        self.failures = self.failures.saturating_add(1);
        match lockout_secs(self.failures) {
            Some(for_secs) => {
                self.locked_until = Some(now.saturating_add(for_secs));
                PinDecision::LockedOut {
                    failures: self.failures,
                    for_secs,
                }
            }
            None => PinDecision::Wrong {
                tries_left: MAX_FAILURES - self.failures,
            },
        }
    }

    /// The guard as the PIN entries of an audit log left it: every `pin_wrong` and
    /// `pin_lockout` entry is a wrong PIN at its time, every `pin_accepted` a right one.
    pub fn replay<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Self {
        let mut guard = Self::default();
        for e in entries {
            match e.action.as_str() {
                AUDIT_PIN_ACCEPTED => {
                    guard.record(e.at, true);
                }
                AUDIT_PIN_WRONG | AUDIT_PIN_LOCKOUT => {
                    guard.record(e.at, false);
                }
                _ => {}
            }
        }
        guard
    }
}

/// The [`PinGuard`] with its memory in the audit log: each checked attempt is appended (without
/// the PIN) before it is answered, and [`open`](Self::open) replays the log, so a restart does not
/// lift a lock or reset the count.
#[derive(Debug)]
pub struct PinGate {
    guard: PinGuard,
    audit: AuditLog,
}

impl PinGate {
    /// Rebuilds the guard from `audit`'s PIN entries.
    pub fn open(audit: AuditLog) -> Result<Self, AuditError> {
        let guard = PinGuard::replay(&audit.entries()?);
        Ok(Self { guard, audit })
    }

    pub fn guard(&self) -> &PinGuard {
        &self.guard
    }

    /// [`PinGuard::attempt`], with the outcome of a checked attempt appended to the audit log.
    /// A failed append is logged; the decision stands (held in memory until a restart).
    pub fn attempt(&mut self, now: i64, correct: impl FnOnce() -> bool) -> PinDecision {
        let decision = self.guard.attempt(now, correct);
        let (action, detail) = match decision {
            PinDecision::Accepted => (AUDIT_PIN_ACCEPTED, "console unlocked".to_string()),
            PinDecision::Wrong { tries_left } => (
                AUDIT_PIN_WRONG,
                format!(
                    "wrong PIN, {} in a row; {tries_left} more before the console locks",
                    self.guard.failures
                ),
            ),
            PinDecision::LockedOut { failures, for_secs } => (
                AUDIT_PIN_LOCKOUT,
                format!("wrong PIN, {failures} in a row; console locked for {for_secs} s"),
            ),
            PinDecision::Locked { .. } => return decision,
        };
        if let Err(e) = self.audit.append(now, "console", action, &detail) {
            tracing::error!(error = %e, action, "PIN attempt not written to the audit log");
        }
        decision
    }
}

/// What serves authenticated console requests (the daemon).
pub trait Handler: Send + Sync + 'static {
    /// The configured PIN hash, if a PIN is set.
    fn pin_hash(&self) -> Option<String>;
    /// Whether `proof` answers `challenge` with this kiosk's keys ([`key_proof_ok`]). May block
    /// briefly. Without keys nothing is proven.
    fn key_proof_ok(&self, _challenge: &[u8], _proof: &str) -> bool {
        false
    }
    /// Answers an authenticated request (never `Pin`, `Challenge` or `KeyProof`) for `actor`.
    /// May block briefly (SQLite).
    fn handle(&self, actor: Actor, request: Request) -> Response;
}

/// Binds the control socket at `path` (replacing a stale one) with mode 0600.
pub fn bind(path: &Path) -> Result<UnixListener, ControlError> {
    let io = |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.exists() {
        std::fs::remove_file(path).map_err(io)?;
    }
    let listener = UnixListener::bind(path).map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(listener)
}

/// Whether a peer with `peer_uid` may use the socket at `path`.
pub fn peer_allowed(path: &Path, peer_uid: u32) -> bool {
    match std::fs::metadata(path) {
        Ok(meta) => peer_uid == 0 || peer_uid == meta.uid(),
        Err(_) => false,
    }
}

/// Accepts connections until `shutdown` turns true.
pub async fn serve(
    listener: UnixListener,
    path: PathBuf,
    handler: Arc<dyn Handler>,
    guard: Arc<Mutex<PinGate>>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let uid = stream.peer_cred().map(|c| c.uid()).ok();
                if !uid.is_some_and(|u| peer_allowed(&path, u)) {
                    tracing::warn!(peer_uid = ?uid, "control socket: refused a connection from another user");
                    continue;
                }
                tokio::spawn(connection(stream, handler.clone(), guard.clone()));
            }
        }
    }
}

async fn connection(stream: UnixStream, handler: Arc<dyn Handler>, guard: Arc<Mutex<PinGate>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut actor: Option<Actor> = None;
    let mut challenge: Option<[u8; 32]> = None;
    let mut buf = String::new();
    loop {
        buf.clear();
        match (&mut lines).take(MAX_LINE as u64).read_line(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let response = match serde_json::from_str::<Request>(buf.trim_end()) {
            Err(e) => Response::Error {
                message: format!("malformed request: {e}"),
            },
            Ok(Request::Pin { pin }) => {
                // PBKDF2 and the audit log's fsync block: off the async workers.
                let (h, g) = (handler.clone(), guard.clone());
                let (r, ok) = tokio::task::spawn_blocking(move || check_pin(&*h, &g, &pin))
                    .await
                    .unwrap_or_else(|e| {
                        let message = format!("PIN check failed: {e}");
                        (Response::Error { message }, false)
                    });
                actor = ok.then_some(Actor::Console);
                r
            }
            Ok(Request::Challenge) => {
                challenge = new_challenge();
                match &challenge {
                    Some(c) => Response::Ok {
                        body: serde_json::json!({ "challenge": crate::crypto::hex(c) }),
                    },
                    None => Response::Error {
                        message: "the system random number generator failed".into(),
                    },
                }
            }
            Ok(Request::KeyProof { proof }) => {
                let (h, asked) = (handler.clone(), challenge.take());
                let proven = match asked {
                    Some(c) => tokio::task::spawn_blocking(move || h.key_proof_ok(&c, &proof))
                        .await
                        .unwrap_or(false),
                    None => false,
                };
                actor = proven.then_some(Actor::Cli);
                key_proof_response(proven)
            }
            Ok(_) if actor.is_none() => Response::Denied {
                reason: "enter the technician PIN first".into(),
                locked_for_secs: None,
            },
            Ok(request) => {
                let (h, a) = (handler.clone(), actor.unwrap_or(Actor::Console));
                tokio::task::spawn_blocking(move || h.handle(a, request))
                    .await
                    .unwrap_or_else(|e| Response::Error {
                        message: format!("request failed: {e}"),
                    })
            }
        };
        let Ok(mut line) = serde_json::to_string(&response) else {
            return;
        };
        line.push('\n');
        if write.write_all(line.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A fresh random challenge for [`Request::Challenge`]; `None` if the generator failed.
fn new_challenge() -> Option<[u8; 32]> {
    let mut c = [0u8; 32];
    crate::crypto::rng().fill(&mut c).ok().map(|()| c)
}

fn key_proof_response(proven: bool) -> Response {
    if proven {
        return Response::Ok {
            body: serde_json::json!({ "authenticated": true }),
        };
    }
    tracing::warn!("control socket: a key proof did not match this kiosk's keys");
    Response::Denied {
        reason: "the key proof does not match this kiosk's keys (or no challenge was asked)".into(),
        locked_for_secs: None,
    }
}

fn check_pin(handler: &dyn Handler, gate: &Mutex<PinGate>, pin: &str) -> (Response, bool) {
    let Some(hash) = handler.pin_hash() else {
        return (
            Response::Denied {
                reason: "no technician PIN is set; run `shelftalk console set-pin`".into(),
                locked_for_secs: None,
            },
            false,
        );
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let decision = match gate.lock() {
        Ok(mut g) => {
            let form = check_pin_form(pin);
            if g.guard().locked_for(now).is_none() && form.is_err() {
                // Not checked, so not counted: it tells nothing about the PIN.
                tracing::warn!("console: a PIN of the wrong form was refused");
                return (
                    Response::Denied {
                        reason: format!(
                            "{}; a shorter PIN set earlier must be set again with `shelftalk \
                             console set-pin`",
                            ControlError::PinForm
                        ),
                        locked_for_secs: None,
                    },
                    false,
                );
            }
            // Checked as `set-pin` stored it: without surrounding whitespace.
            let pin = form.unwrap_or(pin);
            g.attempt(now, || verify_pin(&hash, pin).unwrap_or(false))
        }
        Err(_) => PinDecision::Locked {
            for_secs: LOCKOUT_BASE_SECS,
        },
    };
    match decision {
        PinDecision::Accepted => (
            Response::Ok {
                body: serde_json::json!({ "authenticated": true }),
            },
            true,
        ),
        PinDecision::Wrong { tries_left } => {
            tracing::warn!(tries_left, "console: wrong PIN");
            (
                Response::Denied {
                    reason: format!("wrong PIN ({tries_left} tries left)"),
                    locked_for_secs: None,
                },
                false,
            )
        }
        PinDecision::LockedOut { failures, for_secs } => {
            tracing::warn!(
                failures,
                for_secs,
                "console: locked after repeated wrong PINs"
            );
            (
                Response::Denied {
                    reason: format!(
                        "console locked for {for_secs} s after {failures} wrong PINs in a row"
                    ),
                    locked_for_secs: Some(for_secs),
                },
                false,
            )
        }
        PinDecision::Locked { for_secs } => (
            Response::Denied {
                reason: format!("console locked for {for_secs} s after repeated wrong PINs"),
                locked_for_secs: Some(for_secs),
            },
            false,
        ),
    }
}

/// A console's connection to the daemon.
pub struct Client {
    lines: BufReader<tokio::net::unix::OwnedReadHalf>,
    write: tokio::net::unix::OwnedWriteHalf,
}

impl Client {
    pub async fn connect(path: &Path) -> Result<Self, ControlError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|source| ControlError::Connect {
                path: path.to_path_buf(),
                source,
            })?;
        let (read, write) = stream.into_split();
        Ok(Self {
            lines: BufReader::new(read),
            write,
        })
    }

    /// Sends one request and waits for its response.
    pub async fn call(&mut self, request: &Request) -> Result<Response, ControlError> {
        let mut line = serde_json::to_string(request).map_err(ControlError::Protocol)?;
        line.push('\n');
        self.write
            .write_all(line.as_bytes())
            .await
            .map_err(|_| ControlError::Closed)?;
        let mut buf = String::new();
        let n = self
            .lines
            .read_line(&mut buf)
            .await
            .map_err(|_| ControlError::Closed)?;
        if n == 0 {
            return Err(ControlError::Closed);
        }
        serde_json::from_str(buf.trim_end()).map_err(ControlError::Protocol)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pin_hash_round_trip() {
        let hash = hash_pin("246810", &crate::crypto::rng()).unwrap();
        assert!(hash.starts_with("pbkdf2-sha256$100000$"));
        // The PIN is no field of the stored form (its digits may occur in the hex by chance).
        assert!(hash.split('$').all(|field| field != "246810"));
        assert!(verify_pin(&hash, "246810").unwrap());
        assert!(!verify_pin(&hash, "246811").unwrap());
        assert!(matches!(
            verify_pin("nonsense", "1"),
            Err(ControlError::BadPinHash)
        ));
    }

    #[test]
    fn a_pin_has_six_to_twelve_digits() {
        assert_eq!(check_pin_form(" 123456\n").unwrap(), "123456");
        assert!(check_pin_form("123456789012").is_ok());
        for bad in [
            "",
            "2468",
            "12345",
            "1234567890123",
            "12345a",
            "123 456",
            "１２３４５６",
        ] {
            assert!(
                matches!(check_pin_form(bad), Err(ControlError::PinForm)),
                "{bad:?}"
            );
        }
        let text = ControlError::PinForm.to_string();
        let range = format!("{}-{} digits", PIN_DIGITS.start(), PIN_DIGITS.end());
        assert!(text.contains(&range), "{text}");
    }

    #[test]
    fn lockouts_double_from_the_fifth_wrong_pin_up_to_the_cap() {
        assert_eq!(lockout_secs(0), None);
        assert_eq!(lockout_secs(MAX_FAILURES - 1), None);
        assert_eq!(lockout_secs(MAX_FAILURES), Some(LOCKOUT_BASE_SECS));
        assert_eq!(lockout_secs(MAX_FAILURES + 1), Some(2 * LOCKOUT_BASE_SECS));
        assert_eq!(lockout_secs(MAX_FAILURES + 2), Some(4 * LOCKOUT_BASE_SECS));
        assert_eq!(lockout_secs(MAX_FAILURES + 4), Some(LOCKOUT_MAX_SECS));
        assert_eq!(lockout_secs(u32::MAX), Some(LOCKOUT_MAX_SECS));
    }

    #[test]
    fn five_wrong_pins_lock_the_console_and_each_further_one_doubles_the_lock() {
        let mut g = PinGuard::default();
        for left in (1..MAX_FAILURES).rev() {
            assert_eq!(
                g.attempt(100, || false),
                PinDecision::Wrong { tries_left: left }
            );
        }
        assert_eq!(
            g.attempt(100, || false),
            PinDecision::LockedOut {
                failures: MAX_FAILURES,
                for_secs: LOCKOUT_BASE_SECS
            }
        );
        // While locked even the right PIN is refused, without being checked.
        assert_eq!(
            g.attempt(160, || unreachable!()),
            PinDecision::Locked {
                for_secs: LOCKOUT_BASE_SECS - 60
            }
        );
        // After the lock: one try, and a wrong one locks twice as long.
        let t = 100 + LOCKOUT_BASE_SECS;
        assert_eq!(
            g.attempt(t, || false),
            PinDecision::LockedOut {
                failures: MAX_FAILURES + 1,
                for_secs: 2 * LOCKOUT_BASE_SECS
            }
        );
        let t = t + 2 * LOCKOUT_BASE_SECS;
        assert_eq!(
            g.attempt(t, || false),
            PinDecision::LockedOut {
                failures: MAX_FAILURES + 2,
                for_secs: 4 * LOCKOUT_BASE_SECS
            }
        );
        // The right PIN after the lock resets everything.
        let t = t + 4 * LOCKOUT_BASE_SECS;
        assert_eq!(g.attempt(t, || true), PinDecision::Accepted);
        assert_eq!(g, PinGuard::default());
        assert_eq!(
            g.attempt(t, || false),
            PinDecision::Wrong {
                tries_left: MAX_FAILURES - 1
            }
        );
    }

    #[test]
    fn a_clock_set_back_does_not_stretch_a_lock() {
        let mut g = PinGuard::default();
        for _ in 0..MAX_FAILURES {
            g.attempt(1_000_000, || false);
        }
        // The clock jumps a day back: still locked, but for no more than the longest lockout,
        // and that bound then runs down.
        let back = 1_000_000 - 86_400;
        assert_eq!(
            g.attempt(back, || unreachable!()),
            PinDecision::Locked {
                for_secs: LOCKOUT_MAX_SECS
            }
        );
        assert_eq!(g.locked_for(back + LOCKOUT_MAX_SECS), None);
    }

    fn entry(at: i64, action: &str) -> Entry {
        Entry {
            seq: 0,
            at,
            actor: "console".into(),
            action: action.into(),
            detail: String::new(),
            prev: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn replaying_the_audit_entries_rebuilds_the_guard() {
        let mut live = PinGuard::default();
        let mut entries = Vec::new();
        let mut t = 1_000;
        let outcomes = [false, true, false, false, false, false, false, false];
        for ok in outcomes {
            let action = match live.attempt(t, || ok) {
                PinDecision::Accepted => AUDIT_PIN_ACCEPTED,
                PinDecision::Wrong { .. } => AUDIT_PIN_WRONG,
                PinDecision::LockedOut { .. } => AUDIT_PIN_LOCKOUT,
                PinDecision::Locked { .. } => unreachable!("attempts are spaced past locks"),
            };
            entries.push(entry(t, action));
            entries.push(entry(t, "rotate_keys"));
            t += live.locked_for(t).unwrap_or(0) + 1;
        }
        assert_eq!(live.failures(), 6);
        assert_eq!(PinGuard::replay(&entries), live);
        assert_eq!(PinGuard::replay(&[]), PinGuard::default());
    }

    #[test]
    fn the_gate_audits_attempts_without_the_pin_and_a_reopened_gate_is_still_locked() {
        let dir = tempfile::tempdir().unwrap();
        let audit = AuditLog::in_dir(dir.path());
        let mut gate = PinGate::open(audit.clone()).unwrap();
        assert_eq!(gate.attempt(50, || true), PinDecision::Accepted);
        for _ in 0..MAX_FAILURES {
            gate.attempt(100, || false);
        }
        assert_eq!(gate.guard().locked_for(100), Some(LOCKOUT_BASE_SECS));
        // Attempts while locked are not checked and not written.
        assert!(matches!(
            gate.attempt(101, || unreachable!()),
            PinDecision::Locked { .. }
        ));
        let v = audit.verify().unwrap();
        assert_eq!(v.entries, 1 + u64::from(MAX_FAILURES));
        let text = std::fs::read_to_string(audit.path()).unwrap();
        assert_eq!(text.matches(AUDIT_PIN_WRONG).count(), 4);
        assert_eq!(text.matches(AUDIT_PIN_LOCKOUT).count(), 1);
        assert!(text.contains("console locked for 300 s"), "{text}");

        // A restart: the gate read back from the log is just as locked.
        let reopened = PinGate::open(audit.clone()).unwrap();
        assert_eq!(reopened.guard(), gate.guard());
        assert_eq!(
            reopened.guard().locked_for(160),
            Some(LOCKOUT_BASE_SECS - 60)
        );
    }

    #[test]
    fn a_key_proof_answers_one_challenge_under_one_pepper() {
        let pepper = crate::crypto::Pepper::from_bytes(&[7; 32]).unwrap();
        let other = crate::crypto::Pepper::from_bytes(&[8; 32]).unwrap();
        let (challenge, second) = ([1u8; 32], [2u8; 32]);
        let proof = key_proof(&pepper, &challenge);
        assert_eq!(proof.len(), 64);
        assert!(key_proof_ok(&pepper, &challenge, &proof));
        assert!(!key_proof_ok(&pepper, &second, &proof), "another challenge");
        assert!(
            !key_proof_ok(&other, &challenge, &proof),
            "another kiosk's keys"
        );
        assert!(!key_proof_ok(&pepper, &challenge, "not hex"));
        assert!(!key_proof_ok(&pepper, &challenge, &proof[..62]));
        assert_eq!(
            serde_json::to_string(&Request::KeyProof { proof: "ab".into() }).unwrap(),
            r#"{"op":"key_proof","proof":"ab"}"#
        );
        assert_eq!(
            serde_json::to_string(&Request::Challenge).unwrap(),
            r#"{"op":"challenge"}"#
        );
    }

    #[test]
    fn protocol_lines_are_stable() {
        let r = Request::Action {
            action: Action::EraseShopper {
                loyalty: "LC1".into(),
            },
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"op":"action","action":{"kind":"erase_shopper","loyalty":"LC1"}}"#
        );
        assert_eq!(
            serde_json::to_string(&Request::Status).unwrap(),
            r#"{"op":"status"}"#
        );
    }
}
