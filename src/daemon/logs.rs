//! The daemon's log: tracing events captured into a bounded in-memory ring buffer that the
//! console's Logs tab tails over the control socket and, for `shelftalk run` under systemd, also
//! sent to the journal ([`journal`]) so the lines survive a restart. While the kiosk screen owns
//! the terminal nothing is written to stdout or stderr.
//!
//! Invariants:
//! - A line's time is formatted by [`stamp`] alone (`YYYY-MM-DD HH:MM:SS`, UTC for now), so the
//!   console shows dates and a time-zone change touches one function.
//! - One filter (`RUST_LOG`, else the default) decides for the ring and the journal alike.
//! - At most [`CAPACITY`] lines are kept; the oldest go first. Each line has a sequence number,
//!   increasing by one per captured event, so a reader asks for "everything after n".
//! - Only what the code logs is captured. The daemon never logs a loyalty number, a PIN or copy
//!   text; shoppers appear only as their random short id.

pub mod journal;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Lines kept.
pub const CAPACITY: usize = 1_000;

/// One captured event, as it travels to the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    pub seq: u64,
    /// When, as [`stamp`] formats it: `YYYY-MM-DD HH:MM:SS` (UTC).
    pub at: String,
    /// `ERROR`, `WARN`, `INFO`, `DEBUG`, `TRACE`.
    pub level: String,
    pub target: String,
    /// The message followed by the event's fields as `key=value`.
    pub message: String,
}

/// The ring buffer.
#[derive(Debug, Default)]
pub struct LogBuffer {
    inner: Mutex<(u64, VecDeque<LogRecord>)>,
}

impl LogBuffer {
    /// Appends a line, dropping the oldest beyond [`CAPACITY`].
    pub fn push(&self, at: String, level: &str, target: &str, message: String) {
        let mut g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g.0 += 1;
        let seq = g.0;
        g.1.push_back(LogRecord {
            seq,
            at,
            level: level.to_string(),
            target: target.to_string(),
            message,
        });
        while g.1.len() > CAPACITY {
            g.1.pop_front();
        }
    }

    /// Lines with a sequence number above `after`, oldest first, at most `limit`.
    pub fn after(&self, after: u64, limit: usize) -> Vec<LogRecord> {
        let g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g.1.iter()
            .filter(|r| r.seq > after)
            .take(limit)
            .cloned()
            .collect()
    }
}

/// The process-wide buffer the layer writes to.
pub fn buffer() -> &'static LogBuffer {
    static BUFFER: OnceLock<LogBuffer> = OnceLock::new();
    BUFFER.get_or_init(LogBuffer::default)
}

/// A tracing layer that captures events into [`buffer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RingLayer;

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let mut m = format!("{value:?}");
            if !self.0.is_empty() {
                m.push(' ');
                m.push_str(&self.0);
            }
            self.0 = m;
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            let _ = write!(self.0, "{}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for RingLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let at = stamp(time::OffsetDateTime::now_utc());
        let meta = event.metadata();
        buffer().push(at, meta.level().as_str(), meta.target(), fields.0);
    }
}

/// The store's time zone for console log times, set once when the daemon opens its config.
static ZONE: std::sync::OnceLock<jiff::tz::TimeZone> = std::sync::OnceLock::new();

/// Shows log times in the store's time zone from now on (the first call wins).
pub fn set_zone(tz: jiff::tz::TimeZone) {
    let _ = ZONE.set(tz);
}

/// A log line's time as the console shows it: `YYYY-MM-DD HH:MM:SS`, in the store's time zone
/// ([`set_zone`]; UTC before it is set). The one place that formats it.
pub fn stamp(at: time::OffsetDateTime) -> String {
    let offset = ZONE
        .get()
        .and_then(|tz| {
            let ts = jiff::Timestamp::from_second(at.unix_timestamp()).ok()?;
            time::UtcOffset::from_whole_seconds(tz.to_offset(ts).seconds()).ok()
        })
        .unwrap_or(time::UtcOffset::UTC);
    let at = at.to_offset(offset);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// How a screen-owning command logs: the filter, and the journal when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSetup {
    /// `RUST_LOG`-style directives.
    pub filter: String,
    /// Where the journal is, when events also go there.
    pub journal: Option<journal::JournalTarget>,
}

impl LogSetup {
    /// The ring only, with `RUST_LOG` or `default` as filter (`demo`, `console`).
    pub fn ring(default: &str) -> Self {
        Self {
            filter: filter_or(std::env::var("RUST_LOG").ok(), default),
            journal: None,
        }
    }

    /// What `shelftalk run` uses, from the process environment: see [`LogSetup::for_run_from`].
    pub fn for_run(verbose: u8, config_file: Option<&Path>) -> Self {
        let env: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let socket = journal::socket_path(|k| lookup(&env, k));
        let present = socket.exists();
        Self::for_run_from(verbose, config_file, &env, journal::stderr_id(), present)
    }

    /// `run`'s set-up: `RUST_LOG` or info (debug with `-vv`); the journal when
    /// [`journal::detected`] says so, at [`journal::socket_path`], with the kiosk id read from
    /// the config (`config_file` and `SHELFTALK_*` in `env`; none when it does not load — `run`
    /// reports that error itself).
    pub fn for_run_from(
        verbose: u8,
        config_file: Option<&Path>,
        env: &[(String, String)],
        stderr_id: Option<(u64, u64)>,
        socket_exists: bool,
    ) -> Self {
        let default = if verbose > 1 { "debug" } else { "info" };
        let filter = filter_or(lookup(env, "RUST_LOG"), default);
        let get = |k: &str| lookup(env, k);
        let journal = journal::detected(get, stderr_id, socket_exists).then(|| {
            let kiosk_id = crate::config::Config::load(config_file, env.iter().cloned())
                .ok()
                .map(|c| c.kiosk_id);
            journal::JournalTarget {
                socket: journal::socket_path(get),
                kiosk_id,
            }
        });
        Self { filter, journal }
    }

    /// The subscriber: filter, ring, and the journal layer when set up and its socket opens.
    pub fn subscriber(&self) -> impl Subscriber + Send + Sync + 'static {
        let filter = tracing_subscriber::EnvFilter::try_new(&self.filter)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let journal = self
            .journal
            .as_ref()
            .and_then(|t| journal::JournalLayer::new(t).ok());
        tracing_subscriber::registry()
            .with(filter)
            .with(RingLayer)
            .with(journal)
    }

    /// Installs [`LogSetup::subscriber`] for the process. False when one was already installed.
    pub fn install(&self) -> bool {
        let ok = self.subscriber().try_init().is_ok();
        if ok {
            if let Some(t) = &self.journal {
                tracing::info!(path = %t.socket.display(), "logging to the journal too");
            }
        }
        ok
    }
}

/// `rust_log` when it parses as a filter, else `default`.
fn filter_or(rust_log: Option<String>, default: &str) -> String {
    rust_log
        .filter(|f| tracing_subscriber::EnvFilter::try_new(f).is_ok())
        .unwrap_or_else(|| default.to_string())
}

fn lookup(env: &[(String, String)], key: &str) -> Option<String> {
    env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// Installs the subscriber of a command that owns the terminal: for `run` (`run` true) the
/// ring and, under systemd, the journal ([`LogSetup::for_run`]); for `demo` and `console` the
/// ring only. Returns false when a subscriber was already installed.
pub fn install_screen(run: bool, verbose: u8, config_file: Option<&Path>) -> bool {
    let default = if verbose > 1 { "debug" } else { "info" };
    let setup = if run {
        LogSetup::for_run(verbose, config_file)
    } else {
        LogSetup::ring(default)
    };
    setup.install()
}

/// Installs the daemon's subscriber: `RUST_LOG` or `default` as filter, events into the ring
/// buffer only. Returns false when a subscriber was already installed.
pub fn install(default: &str) -> bool {
    LogSetup::ring(default).install()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_newest_and_reads_after_a_sequence() {
        let b = LogBuffer::default();
        for i in 0..(CAPACITY + 5) {
            b.push(
                "2026-01-01 00:00:00".into(),
                "INFO",
                "t",
                format!("line {i}"),
            );
        }
        let all = b.after(0, usize::MAX);
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all[0].seq, 6);
        assert_eq!(all[0].message, "line 5");
        let tail = b.after(all[CAPACITY - 2].seq, 10);
        assert_eq!(tail.len(), 1);
        assert_eq!(tail[0].message, format!("line {}", CAPACITY + 4));
    }

    #[test]
    fn stamp_has_the_date_and_is_utc() {
        let at = time::macros::datetime!(2026-11-29 23:05:09 +02:00);
        assert_eq!(stamp(at), "2026-11-29 21:05:09");
        let at = time::macros::datetime!(2026-01-02 00:00:00 UTC);
        assert_eq!(stamp(at), "2026-01-02 00:00:00");
    }

    #[test]
    fn layer_captures_message_and_fields() {
        let subscriber = tracing_subscriber::registry().with(RingLayer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(shopper = "ab12", rows = 3, "shopper erased by test");
        });
        let found = buffer()
            .after(0, usize::MAX)
            .into_iter()
            .find(|r| r.message.starts_with("shopper erased by test"));
        let r = found.map(|r| (r.level, r.message));
        assert_eq!(
            r,
            Some((
                "WARN".to_string(),
                "shopper erased by test shopper=ab12 rows=3".to_string()
            ))
        );
    }
}
