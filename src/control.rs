//! The daemon's control socket, the technician PIN and the console's wire protocol.
//!
//! Protocol: JSON lines over a Unix socket in the data dir. The first request of a connection
//! must be [`Request::Pin`]; until it succeeds every other request is refused. Each request gets
//! exactly one [`Response`] line.
//!
//! Invariants:
//! - The socket file is mode 0600 and a connection is accepted only from the user that owns it
//!   (the daemon's user) or root: the peer's uid is read with `SO_PEERCRED` and compared with the
//!   socket file's owner — file permissions alone are not trusted.
//! - The PIN is stored only as a PBKDF2-HMAC-SHA256 hash (`pbkdf2-sha256$iterations$salt$hash`);
//!   after [`MAX_FAILURES`] wrong PINs in a row the console is locked for [`LOCKOUT_SECS`], for
//!   every connection (the guard is shared).
//! - Loyalty numbers typed into the console travel only over this socket, are never logged and
//!   never echoed back.

use std::num::NonZeroU32;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ring::rand::SecureRandom;
use ring::{digest, pbkdf2};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// Wrong PINs in a row before the console locks.
pub const MAX_FAILURES: u32 = 5;
/// How long the console stays locked.
pub const LOCKOUT_SECS: i64 = 300;
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
    #[error("the PIN must be 4-12 digits (the console keypad accepts digits only)")]
    PinForm,
}

/// Checks a technician PIN's form: 4-12 digits (the console keypad accepts digits only).
/// Returns it without surrounding whitespace.
pub fn check_pin_form(pin: &str) -> Result<&str, ControlError> {
    let pin = pin.trim();
    if !(4..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ControlError::PinForm);
    }
    Ok(pin)
}

/// A console request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Pin { pin: String },
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

/// Counts wrong PINs and locks the console after [`MAX_FAILURES`]. Pure: the caller passes time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinGuard {
    failures: u32,
    locked_until: Option<i64>,
}

/// What the guard decided about one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinDecision {
    Accepted,
    Wrong { tries_left: u32 },
    Locked { for_secs: i64 },
}

impl PinGuard {
    /// Whether the console is locked at `now`, and for how long.
    pub fn locked_for(&self, now: i64) -> Option<i64> {
        self.locked_until.filter(|&t| t > now).map(|t| t - now)
    }

    /// Records an attempt whose correctness is `correct`. While locked nothing is checked.
    pub fn attempt(&mut self, now: i64, correct: impl FnOnce() -> bool) -> PinDecision {
        if let Some(for_secs) = self.locked_for(now) {
            return PinDecision::Locked { for_secs };
        }
        if correct() {
            *self = Self::default();
            return PinDecision::Accepted;
        }
        self.failures += 1;
        if self.failures >= MAX_FAILURES {
            self.failures = 0;
            self.locked_until = Some(now + LOCKOUT_SECS);
            return PinDecision::Locked {
                for_secs: LOCKOUT_SECS,
            };
        }
        PinDecision::Wrong {
            tries_left: MAX_FAILURES - self.failures,
        }
    }
}

/// What serves authenticated console requests (the daemon).
pub trait Handler: Send + Sync + 'static {
    /// The configured PIN hash, if a PIN is set.
    fn pin_hash(&self) -> Option<String>;
    /// Answers an authenticated request (never `Pin`). May block briefly (SQLite).
    fn handle(&self, request: Request) -> Response;
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
    guard: Arc<Mutex<PinGuard>>,
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

async fn connection(stream: UnixStream, handler: Arc<dyn Handler>, guard: Arc<Mutex<PinGuard>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut authenticated = false;
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
                let (r, ok) = check_pin(&*handler, &guard, &pin);
                authenticated = ok;
                r
            }
            Ok(_) if !authenticated => Response::Denied {
                reason: "enter the technician PIN first".into(),
                locked_for_secs: None,
            },
            Ok(request) => {
                let h = handler.clone();
                tokio::task::spawn_blocking(move || h.handle(request))
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

fn check_pin(handler: &dyn Handler, guard: &Mutex<PinGuard>, pin: &str) -> (Response, bool) {
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
    let decision = match guard.lock() {
        Ok(mut g) => g.attempt(now, || verify_pin(&hash, pin).unwrap_or(false)),
        Err(_) => PinDecision::Locked {
            for_secs: LOCKOUT_SECS,
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
        PinDecision::Locked { for_secs } => {
            tracing::warn!(for_secs, "console: locked after repeated wrong PINs");
            (
                Response::Denied {
                    reason: format!(
                        "console locked for {for_secs} s after {MAX_FAILURES} wrong PINs"
                    ),
                    locked_for_secs: Some(for_secs),
                },
                false,
            )
        }
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
        let hash = hash_pin("2468", &crate::crypto::rng()).unwrap();
        assert!(hash.starts_with("pbkdf2-sha256$100000$"));
        // The PIN is no field of the stored form (its digits may occur in the hex by chance).
        assert!(hash.split('$').all(|field| field != "2468"));
        assert!(verify_pin(&hash, "2468").unwrap());
        assert!(!verify_pin(&hash, "2469").unwrap());
        assert!(matches!(
            verify_pin("nonsense", "1"),
            Err(ControlError::BadPinHash)
        ));
    }

    #[test]
    fn five_wrong_pins_lock_the_console() {
        let mut g = PinGuard::default();
        for left in (1..MAX_FAILURES).rev() {
            assert_eq!(
                g.attempt(100, || false),
                PinDecision::Wrong { tries_left: left }
            );
        }
        assert_eq!(
            g.attempt(100, || false),
            PinDecision::Locked {
                for_secs: LOCKOUT_SECS
            }
        );
        // While locked even the right PIN is refused, without being checked.
        assert_eq!(
            g.attempt(160, || unreachable!()),
            PinDecision::Locked {
                for_secs: LOCKOUT_SECS - 60
            }
        );
        assert_eq!(
            g.attempt(100 + LOCKOUT_SECS, || true),
            PinDecision::Accepted
        );
        assert_eq!(
            g.attempt(100 + LOCKOUT_SECS, || false),
            PinDecision::Wrong { tries_left: 4 }
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
