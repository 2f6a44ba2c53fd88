//! The daemon's log: tracing events captured into a bounded in-memory ring buffer that the
//! console's Logs tab tails over the control socket. While the kiosk screen owns the terminal
//! nothing is written to stdout or stderr.
//!
//! Invariants:
//! - At most [`CAPACITY`] lines are kept; the oldest go first. Each line has a sequence number,
//!   increasing by one per captured event, so a reader asks for "everything after n".
//! - Only what the code logs is captured. The daemon never logs a loyalty number, a PIN or copy
//!   text; shoppers appear only as their random short id.

use std::collections::VecDeque;
use std::fmt::Write as _;
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
    /// UTC, `HH:MM:SS`.
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
        let now = time::OffsetDateTime::now_utc();
        let at = format!("{:02}:{:02}:{:02}", now.hour(), now.minute(), now.second());
        let meta = event.metadata();
        buffer().push(at, meta.level().as_str(), meta.target(), fields.0);
    }
}

/// Installs the daemon's subscriber: `RUST_LOG` or `default` as filter, events into the ring
/// buffer only. Returns false when a subscriber was already installed.
pub fn install(default: &str) -> bool {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::registry()
        .with(filter)
        .with(RingLayer)
        .try_init()
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_newest_and_reads_after_a_sequence() {
        let b = LogBuffer::default();
        for i in 0..(CAPACITY + 5) {
            b.push("00:00:00".into(), "INFO", "t", format!("line {i}"));
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
