//! The daemon's log in the systemd journal, so a technician can read yesterday's lines after a
//! restart: tracing events sent as native journal protocol datagrams to journald's socket.
//!
//! Detection follows systemd's documentation: the journal is used when `JOURNAL_STREAM` names
//! the device and inode of our stderr (`DEV:INODE`, as systemd sets it for a service whose
//! stderr goes to the journal), or when the journal socket exists and `INVOCATION_ID` is set
//! (we run as a systemd unit). The socket is [`DEFAULT_SOCKET`] unless [`SOCKET_ENV`] names
//! another (tests point it at a stand-in).
//!
//! Each event becomes one datagram of newline-separated `KEY=VALUE` fields; a value containing
//! a newline uses the binary form (`KEY`, newline, its length as a little-endian u64, the
//! value, newline). The fields:
//! - `MESSAGE`: the event's message; `PRIORITY`: ERROR 3, WARN 4, INFO 6, DEBUG and TRACE 7;
//! - `SYSLOG_IDENTIFIER=shelftalk`;
//! - `SHELFTALK_COMPONENT`: the tracing target with a leading `shelftalk::` removed
//!   (`daemon::kiosk`, `copy::engine`; another crate's target stays whole);
//! - `SHELFTALK_KIOSK`: the kiosk id from the config, when known;
//! - `CODE_FILE`, `CODE_LINE`: where the event was logged, when tracing knows it;
//! - `SHELFTALK_F_<NAME>`: the event's other fields, but only those named in [`ALLOWED_FIELDS`].
//!
//! Invariants:
//! - No shopper data reaches the journal. The journal outlives the shopper (erasure does not
//!   reach it), so event fields go there only by an allow-list of names whose values are
//!   operational — counts, durations, versions, states, error text, file paths — and never a
//!   shopper id, loyalty number, PIN, segment, SKU viewed, consent or copy text. A field not on
//!   [`ALLOWED_FIELDS`] is dropped, whatever its value; the in-memory ring for the PIN-protected
//!   console keeps the whole line as before. Span fields are never sent. A new field becomes
//!   journal-visible only by adding its name here, in review. `error` is allowed because the
//!   crate's errors name keys, paths and reasons, never a loyalty number or PIN (a bad loyalty
//!   number's error carries a fixed reason only); an error that would quote shopper data must
//!   not be logged under `error`. `MESSAGE` is the event's literal text: variable data goes in
//!   fields, where this rule filters it.
//! - Logging never stalls the daemon: the socket is non-blocking and a datagram journald cannot
//!   take at once (full queue, socket gone) is dropped and counted in [`JournalLayer::dropped`];
//!   the line is still in the ring. Values are cut at [`MAX_VALUE`] bytes.
//! - Field names sent are valid journal names: upper-case ASCII letters, digits and `_`, not
//!   starting with `_` or a digit, at most 64 bytes.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// journald's native protocol socket.
pub const DEFAULT_SOCKET: &str = "/run/systemd/journal/socket";
/// Environment variable that replaces [`DEFAULT_SOCKET`] (tests, unusual systems).
pub const SOCKET_ENV: &str = "SHELFTALK_JOURNAL_SOCKET";
/// `SYSLOG_IDENTIFIER` of every entry.
pub const IDENTIFIER: &str = "shelftalk";
/// Prefix of an allowed event field's journal name.
pub const FIELD_PREFIX: &str = "SHELFTALK_F_";
/// Longest value sent, in bytes; longer ones are cut at a character boundary.
pub const MAX_VALUE: usize = 16 * 1024;

/// Event field names whose values may go to the journal (see the module invariants). All are
/// operational: counts, durations, versions, states, error text and paths.
pub const ALLOWED_FIELDS: &[&str] = &[
    "action",
    "changed",
    "code",
    "delay",
    "entries",
    "erased",
    "error",
    "failed",
    "failures",
    "file",
    "for_secs",
    "generation",
    "head_seq",
    "kek",
    "left",
    "model",
    "ok",
    "pack",
    "path",
    "peer_uid",
    "products",
    "retryable",
    "rows",
    "secs",
    "sent",
    "seq",
    "status",
    "tries_left",
    "verdict",
    "version",
];

/// Whether this process's log belongs in the journal, by systemd's documented rules.
/// `env` reads a variable; `stderr_id` is stderr's `(device, inode)`; `socket_exists` is whether
/// the journal socket is present.
pub fn detected(
    env: impl Fn(&str) -> Option<String>,
    stderr_id: Option<(u64, u64)>,
    socket_exists: bool,
) -> bool {
    let stream_is_stderr = match (env("JOURNAL_STREAM"), stderr_id) {
        (Some(stream), Some(id)) => parse_stream(&stream) == Some(id),
        _ => false,
    };
    let invoked = env("INVOCATION_ID").is_some_and(|v| !v.is_empty());
    stream_is_stderr || (socket_exists && invoked)
}

/// `DEV:INODE` as systemd writes `JOURNAL_STREAM`.
fn parse_stream(s: &str) -> Option<(u64, u64)> {
    let (dev, ino) = s.trim().split_once(':')?;
    Some((dev.parse().ok()?, ino.parse().ok()?))
}

/// The `(device, inode)` of this process's stderr, if it has one.
pub fn stderr_id() -> Option<(u64, u64)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    Some((meta.dev(), meta.ino()))
}

/// The socket to write to: [`SOCKET_ENV`] or [`DEFAULT_SOCKET`].
pub fn socket_path(env: impl Fn(&str) -> Option<String>) -> PathBuf {
    env(SOCKET_ENV)
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_SOCKET), PathBuf::from)
}

/// journald's `PRIORITY` for a tracing level (syslog numbering).
pub fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// `SHELFTALK_COMPONENT` for a tracing target.
pub fn component(target: &str) -> &str {
    target.strip_prefix("shelftalk::").unwrap_or(target)
}

/// Appends one field in the native protocol: `KEY=VALUE\n`, or the length-prefixed form when
/// the value contains a newline. `key` must already be a valid journal name.
pub fn put_field(buf: &mut Vec<u8>, key: &str, value: &str) {
    let value = cut(value);
    buf.extend_from_slice(key.as_bytes());
    if value.contains('\n') {
        buf.push(b'\n');
        buf.extend_from_slice(&(value.len() as u64).to_le_bytes());
        buf.extend_from_slice(value.as_bytes());
    } else {
        buf.push(b'=');
        buf.extend_from_slice(value.as_bytes());
    }
    buf.push(b'\n');
}

fn cut(value: &str) -> &str {
    if value.len() <= MAX_VALUE {
        return value;
    }
    let mut end = MAX_VALUE;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// The journal name of an allowed event field, or `None` for a field that must not be sent.
pub fn field_name(name: &str) -> Option<String> {
    if !ALLOWED_FIELDS.contains(&name) {
        return None;
    }
    let key: String = FIELD_PREFIX
        .chars()
        .chain(name.chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        }))
        .take(64)
        .collect();
    Some(key)
}

/// Where and as whom to log to the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalTarget {
    pub socket: PathBuf,
    /// `SHELFTALK_KIOSK`; omitted when `None` (the config could not be read).
    pub kiosk_id: Option<String>,
}

/// A tracing layer that sends each event to the journal.
#[derive(Debug, Clone)]
pub struct JournalLayer {
    socket: Arc<UnixDatagram>,
    path: PathBuf,
    kiosk_id: Option<String>,
    dropped: Arc<AtomicU64>,
}

impl JournalLayer {
    /// An unbound, non-blocking datagram socket that sends to `target.socket`.
    pub fn new(target: &JournalTarget) -> std::io::Result<Self> {
        let socket = UnixDatagram::unbound()?;
        socket.set_nonblocking(true)?;
        Ok(Self {
            socket: Arc::new(socket),
            path: target.socket.clone(),
            kiosk_id: target.kiosk_id.clone(),
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The socket this layer writes to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Datagrams journald did not take.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The datagram for one event.
    pub fn encode(&self, event: &Event<'_>) -> Vec<u8> {
        let meta = event.metadata();
        let mut fields = JournalFields::default();
        event.record(&mut fields);
        let mut buf = Vec::with_capacity(256);
        put_field(&mut buf, "MESSAGE", &fields.message);
        put_field(&mut buf, "PRIORITY", &priority(meta.level()).to_string());
        put_field(&mut buf, "SYSLOG_IDENTIFIER", IDENTIFIER);
        put_field(&mut buf, "SHELFTALK_COMPONENT", component(meta.target()));
        if let Some(kiosk) = &self.kiosk_id {
            put_field(&mut buf, "SHELFTALK_KIOSK", kiosk);
        }
        if let Some(file) = meta.file() {
            put_field(&mut buf, "CODE_FILE", file);
        }
        if let Some(line) = meta.line() {
            put_field(&mut buf, "CODE_LINE", &line.to_string());
        }
        buf.extend_from_slice(&fields.rest);
        buf
    }
}

impl<S: Subscriber> Layer<S> for JournalLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let datagram = self.encode(event);
        if self.socket.send_to(&datagram, &self.path).is_err() {
            // Full queue or no journald: nowhere to report it without recursing into the log.
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Collects the message and the allowed fields, already encoded.
#[derive(Default)]
struct JournalFields {
    message: String,
    rest: Vec<u8>,
}

impl Visit for JournalFields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else if let Some(key) = field_name(field.name()) {
            put_field(&mut self.rest, &key, &format!("{value:?}"));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else if let Some(key) = field_name(field.name()) {
            put_field(&mut self.rest, &key, value);
        }
    }
}

/// Parses a datagram back into `(key, value)` pairs, in order; `None` when malformed. The
/// inverse of [`put_field`], for tests and diagnostics.
pub fn decode(mut data: &[u8]) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let nl = data.iter().position(|&b| b == b'\n')?;
        let line = &data[..nl];
        if let Some(eq) = line.iter().position(|&b| b == b'=') {
            let key = String::from_utf8(line[..eq].to_vec()).ok()?;
            let value = String::from_utf8(line[eq + 1..].to_vec()).ok()?;
            out.push((key, value));
            data = &data[nl + 1..];
        } else {
            let key = String::from_utf8(line.to_vec()).ok()?;
            let rest = &data[nl + 1..];
            let len_bytes: [u8; 8] = rest.get(..8)?.try_into().ok()?;
            let len = usize::try_from(u64::from_le_bytes(len_bytes)).ok()?;
            let value = rest.get(8..8 + len)?;
            if rest.get(8 + len) != Some(&b'\n') {
                return None;
            }
            out.push((key, String::from_utf8(value.to_vec()).ok()?));
            data = &rest[8 + len + 1..];
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_string())
        }
    }

    #[test]
    fn detection_follows_systemd_rules() {
        // JOURNAL_STREAM must name our stderr.
        assert!(detected(
            env(&[("JOURNAL_STREAM", "8:1234")]),
            Some((8, 1234)),
            false
        ));
        assert!(!detected(
            env(&[("JOURNAL_STREAM", "8:1234")]),
            Some((8, 99)),
            true
        ));
        assert!(!detected(
            env(&[("JOURNAL_STREAM", "junk")]),
            Some((8, 1234)),
            false
        ));
        assert!(!detected(env(&[("JOURNAL_STREAM", "8:1234")]), None, false));
        // Or: the socket is there and we are a unit.
        assert!(detected(env(&[("INVOCATION_ID", "abc")]), None, true));
        assert!(!detected(env(&[("INVOCATION_ID", "abc")]), None, false));
        assert!(!detected(env(&[("INVOCATION_ID", "")]), None, true));
        assert!(!detected(env(&[]), Some((1, 2)), true));
    }

    #[test]
    fn socket_path_defaults_and_overrides() {
        assert_eq!(socket_path(env(&[])), PathBuf::from(DEFAULT_SOCKET));
        assert_eq!(
            socket_path(env(&[(SOCKET_ENV, "/tmp/j.sock")])),
            PathBuf::from("/tmp/j.sock")
        );
    }

    #[test]
    fn simple_and_binary_fields_round_trip() {
        let mut buf = Vec::new();
        put_field(&mut buf, "MESSAGE", "one line");
        put_field(&mut buf, "SHELFTALK_F_ERROR", "two\nlines");
        assert!(buf.starts_with(b"MESSAGE=one line\nSHELFTALK_F_ERROR\n"));
        let len = &buf[b"MESSAGE=one line\nSHELFTALK_F_ERROR\n".len()..][..8];
        assert_eq!(u64::from_le_bytes(len.try_into().unwrap()), 9);
        assert_eq!(
            decode(&buf).unwrap(),
            vec![
                ("MESSAGE".to_string(), "one line".to_string()),
                ("SHELFTALK_F_ERROR".to_string(), "two\nlines".to_string()),
            ]
        );
    }

    #[test]
    fn long_values_are_cut_on_a_char_boundary() {
        let long = "é".repeat(MAX_VALUE);
        let mut buf = Vec::new();
        put_field(&mut buf, "MESSAGE", &long);
        let fields = decode(&buf).unwrap();
        assert!(fields[0].1.len() <= MAX_VALUE);
        assert!(fields[0].1.len() > MAX_VALUE - 2);
    }

    #[test]
    fn only_allowed_fields_get_names_and_names_are_valid() {
        for banned in [
            "shopper", "loyalty", "pin", "segment", "sku", "text", "known",
        ] {
            assert_eq!(field_name(banned), None, "{banned}");
        }
        assert_eq!(field_name("rows").as_deref(), Some("SHELFTALK_F_ROWS"));
        for name in ALLOWED_FIELDS {
            let key = field_name(name).unwrap();
            assert!(key.len() <= 64);
            assert!(key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'));
        }
    }

    #[test]
    fn priorities_and_components() {
        assert_eq!(priority(&Level::ERROR), 3);
        assert_eq!(priority(&Level::WARN), 4);
        assert_eq!(priority(&Level::INFO), 6);
        assert_eq!(priority(&Level::DEBUG), 7);
        assert_eq!(priority(&Level::TRACE), 7);
        assert_eq!(component("shelftalk::daemon::kiosk"), "daemon::kiosk");
        assert_eq!(component("llama-cpp-2"), "llama-cpp-2");
    }
}
