//! The daemon's control-socket protocol through the real server (`shelftalk::control::bind` and
//! `serve` on a Unix socket, with a real `PinGate` over an audit log): the input is what a
//! console or shell command writes on one connection.
//!
//! The handler stands in for the daemon: its PIN hash (PBKDF2 with one iteration, so a PIN
//! check costs nothing) is of [`PIN`]; it takes the key proof [`PROOF`] for any challenge (the
//! real one is an HMAC of the challenge; here the protocol around it is checked), and answers
//! every request it is given with `{"handled": <the request>, "actor": <who>}`.
//!
//! Invariants (the answers are predicted from the request lines and compared):
//! - one answer line per request line, up to the first line that is not UTF-8, where the
//!   connection ends; every answer is a well-formed [`Response`];
//! - a line that is no request is answered with an error and changes nothing;
//! - nothing is handled before the connection authenticated: with the right PIN (as console),
//!   or with a key proof answering a challenge asked on this connection, once (as shell
//!   command); a wrong PIN or proof ends the authentication;
//! - a PIN not of 6-12 digits is refused unchecked and uncounted; `MAX_FAILURES` wrong PINs
//!   lock the console, and then even the right PIN is refused; the audit log replays to the same
//!   count of wrong PINs in a row;
//! - after authenticating, every request reaches the handler unchanged, under its actor.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use shelftalk::audit::AuditLog;
use shelftalk::control::{
    self, check_pin_form, Actor, Handler, PinDecision, PinGate, PinGuard, Request, Response,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The technician PIN of the harness.
pub const PIN: &str = "246813";
/// The key proof the stub takes.
pub const PROOF: &str = "c0ffee";
/// Longest request line the server reads at once (`control::MAX_LINE`).
const MAX_LINE: usize = 64 * 1024;

struct Stub {
    hash: String,
}

impl Handler for Stub {
    fn pin_hash(&self) -> Option<String> {
        Some(self.hash.clone())
    }

    fn key_proof_ok(&self, _challenge: &[u8], proof: &str) -> bool {
        proof == PROOF
    }

    fn handle(&self, actor: Actor, request: Request) -> Response {
        Response::Ok {
            body: serde_json::json!({ "handled": request, "actor": actor.name() }),
        }
    }
}

/// PBKDF2-HMAC-SHA256 with one iteration, in the stored format `control::verify_pin` reads.
fn cheap_hash(pin: &str) -> String {
    let salt = [7u8; 16];
    let mut out = [0u8; 32];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::MIN,
        &salt,
        pin.as_bytes(),
        &mut out,
    );
    format!(
        "pbkdf2-sha256$1${}${}",
        shelftalk::crypto::hex(&salt),
        shelftalk::crypto::hex(&out)
    )
}

pub struct Control {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    socket: PathBuf,
    handler: Arc<Stub>,
    runtime: tokio::runtime::Runtime,
}

impl Control {
    pub fn new() -> Self {
        let dir = crate::import::scratch_dir();
        let path = dir.path().to_path_buf();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Self {
            socket: path.join("control.sock"),
            dir: path,
            _dir: dir,
            handler: Arc::new(Stub {
                hash: cheap_hash(PIN),
            }),
            runtime,
        }
    }
}

impl Default for Control {
    fn default() -> Self {
        Self::new()
    }
}

/// An answer as predicted: exact, or of a kind whose text or numbers the harness cannot know.
#[derive(Debug)]
enum Want {
    Exact(Response),
    /// `Error` with a message (serde's text).
    Error,
    /// `Denied`, with `locked_for_secs` set (the seconds depend on the clock) or not.
    Denied {
        locked: bool,
    },
    /// `Ok` with a fresh challenge (64 hex digits).
    Challenge,
}

fn authenticated() -> Response {
    Response::Ok {
        body: serde_json::json!({ "authenticated": true }),
    }
}

/// The answers the server must give to `data`, written on one connection, and the wrong PINs
/// in a row it leaves.
fn expected(data: &[u8]) -> (Vec<Want>, u32) {
    let mut guard = PinGuard::default();
    let mut actor: Option<Actor> = None;
    let mut challenge = false;
    let mut out = Vec::new();
    for line in data.split_inclusive(|&b| b == b'\n') {
        let Ok(text) = std::str::from_utf8(line) else {
            break; // the connection ends here
        };
        let want = match serde_json::from_str::<Request>(text.trim_end()) {
            Err(_) => Want::Error,
            Ok(Request::Pin { pin }) => {
                let form = check_pin_form(&pin);
                if guard.locked_for(0).is_none() && form.is_err() {
                    actor = None;
                    Want::Denied { locked: false }
                } else {
                    let pin = form.unwrap_or(&pin);
                    let decision = guard.attempt(0, || pin == PIN);
                    actor = (decision == PinDecision::Accepted).then_some(Actor::Console);
                    match decision {
                        PinDecision::Accepted => Want::Exact(authenticated()),
                        PinDecision::Wrong { tries_left } => Want::Exact(Response::Denied {
                            reason: format!("wrong PIN ({tries_left} tries left)"),
                            locked_for_secs: None,
                        }),
                        PinDecision::LockedOut { .. } | PinDecision::Locked { .. } => {
                            Want::Denied { locked: true }
                        }
                    }
                }
            }
            Ok(Request::Challenge) => {
                challenge = true;
                Want::Challenge
            }
            Ok(Request::KeyProof { proof }) => {
                let proven = std::mem::take(&mut challenge) && proof == PROOF;
                actor = proven.then_some(Actor::Cli);
                if proven {
                    Want::Exact(authenticated())
                } else {
                    Want::Denied { locked: false }
                }
            }
            Ok(_) if actor.is_none() => Want::Exact(Response::Denied {
                reason: "enter the technician PIN first".into(),
                locked_for_secs: None,
            }),
            Ok(request) => {
                let name = actor.map_or("", Actor::name);
                Want::Exact(Response::Ok {
                    body: serde_json::json!({ "handled": request, "actor": name }),
                })
            }
        };
        out.push(want);
    }
    (out, guard.failures())
}

fn matches(want: &Want, got: &Response) -> bool {
    match (want, got) {
        (Want::Exact(w), g) => w == g,
        (Want::Error, Response::Error { message }) => !message.is_empty(),
        (
            Want::Denied { locked },
            Response::Denied {
                reason,
                locked_for_secs,
            },
        ) => !reason.is_empty() && locked_for_secs.is_some_and(|s| s > 0) == *locked,
        (Want::Challenge, Response::Ok { body }) => body["challenge"]
            .as_str()
            .is_some_and(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit())),
        _ => false,
    }
}

/// The control-socket target.
pub fn check_session(control: &Control, data: &[u8]) {
    // Lines longer than the server's read limit are split by it; keep inputs below it.
    if data.len() >= MAX_LINE {
        return;
    }
    let (want, failures) = expected(data);
    let audit = AuditLog::in_dir(&control.dir);
    let _ = std::fs::remove_file(audit.path());
    let gate = PinGate::open(audit).expect("pin gate");
    assert_eq!(
        gate.guard().failures(),
        0,
        "a fresh audit log counts no failures"
    );
    let answers = control.runtime.block_on(async {
        let listener = control::bind(&control.socket).expect("bind");
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(control::serve(
            listener,
            control.socket.clone(),
            control.handler.clone() as Arc<dyn Handler>,
            Arc::new(Mutex::new(gate)),
            shutdown,
        ));
        let mut stream = tokio::net::UnixStream::connect(&control.socket)
            .await
            .expect("connect");
        stream.write_all(data).await.expect("write");
        stream.shutdown().await.expect("shutdown write");
        let mut answers = Vec::new();
        stream.read_to_end(&mut answers).await.expect("read");
        let _ = stop.send(true);
        let _ = server.await;
        answers
    });
    assert!(
        answers.is_empty() || answers.ends_with(b"\n"),
        "an answer line without its newline"
    );
    let got: Vec<Response> = answers
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("every answer is a Response"))
        .collect();
    assert_eq!(
        got.len(),
        want.len(),
        "one answer per request line: got {got:?}, want {want:?}"
    );
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert!(matches(w, g), "answer {i}: got {g:?}, want {w:?}");
    }
    // Every checked PIN attempt was audited: the gate rebuilt from the log counts the same.
    let reopened = PinGate::open(AuditLog::in_dir(&control.dir)).expect("reopen gate");
    assert_eq!(
        reopened.guard().failures(),
        failures,
        "the audit log does not replay to the wrong PINs in a row"
    );
}
