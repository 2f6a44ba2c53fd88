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
//! - The PIN is stored only as a PBKDF2-HMAC-SHA256 hash (`pbkdf2-sha256$iterations$salt$hash`);
//!   after [`MAX_FAILURES`] wrong PINs in a row the console is locked for [`LOCKOUT_SECS`], for
//!   every connection (the guard is shared).
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
                let (r, ok) = check_pin(&*handler, &guard, &pin);
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
