//! Feedback events the kiosk could not write yet (a full disk, a busy or failing database), kept
//! in memory in the order they happened and written as soon as the database takes writes again.
//!
//! Invariants:
//! - Nothing recorded is lost silently: an event is either written, waiting here, or counted in
//!   [`SpoolCounts::dropped`] (the spool was full: at most [`SPOOL_CAPACITY`] events wait) or in
//!   [`SpoolCounts::refused`] (the event itself was invalid; retrying cannot help). The console
//!   shows all three.
//! - Events are written strictly in order: while anything waits, a new event joins the queue's
//!   end, so an interaction is never tried before the impression it belongs to.
//! - A failed write stops the flush; the failed event stays at the head. Each event is written
//!   atomically ([`super::record_impression_tagged`], [`super::record_interaction`]), so a retry
//!   never counts it twice.
//! - Waiting events hold the session token and an attribution tag in memory only, as the session
//!   itself does; nothing here is logged (counts and the error's text only).
//! - Retries without new events are paced by [`Spool::retry_due`] (every [`RETRY_EVERY`]), so a
//!   full disk is not hammered by the screen's 4 Hz tick.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::{
    record_impression_tagged, record_interaction, FeedbackError, Impression, Interaction,
    InteractionKind, SessionToken,
};
use crate::crypto::AttributionTag;
use crate::vocab::Style;

/// Most events kept in memory (about 200 bytes each: a few MB at most).
pub const SPOOL_CAPACITY: usize = 20_000;
/// Least time between retries when no new event arrives.
pub const RETRY_EVERY: Duration = Duration::from_secs(5);

/// One feedback event, owned, as the kiosk recorded it.
#[derive(Debug, Clone)]
pub enum Event {
    Impression {
        at: i64,
        session: SessionToken,
        sku: String,
        style: Style,
        style_probability: f64,
        segment: String,
        content_kind: String,
        /// The session's experiment arm and its probability.
        arm: String,
        arm_propensity: f64,
        tag: Option<AttributionTag>,
    },
    Interaction {
        at: i64,
        session: SessionToken,
        sku: String,
        style: Style,
        kind: InteractionKind,
    },
}

impl Event {
    /// Writes the event to the kiosk database (one atomic step).
    pub fn write(&self, conn: &Connection) -> Result<(), FeedbackError> {
        match self {
            Self::Impression {
                at,
                session,
                sku,
                style,
                style_probability,
                segment,
                content_kind,
                arm,
                arm_propensity,
                tag,
            } => record_impression_tagged(
                conn,
                &Impression {
                    at: *at,
                    session,
                    sku,
                    style: *style,
                    style_probability: *style_probability,
                    segment,
                    content_kind,
                    arm,
                    arm_propensity: *arm_propensity,
                },
                tag.as_ref(),
            )
            .map(|_| ()),
            Self::Interaction {
                at,
                session,
                sku,
                style,
                kind,
            } => record_interaction(
                conn,
                &Interaction {
                    at: *at,
                    session,
                    sku,
                    style: *style,
                    kind: *kind,
                },
            )
            .map(|_| ()),
        }
    }
}

/// What the spool holds and has given up, for the console.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoolCounts {
    /// Events in memory, waiting for the database.
    pub waiting: u64,
    /// Events written late (after waiting here) since the daemon started.
    pub written_late: u64,
    /// Events dropped because the spool was full.
    pub dropped: u64,
    /// Invalid events refused by the recording API (not retried).
    pub refused: u64,
    /// The last write error, while events wait (its text names the database and the cause).
    pub last_error: Option<String>,
    /// Whether that error was SQLite's `SQLITE_FULL`.
    pub disk_full: bool,
}

/// What one [`Spool::record`] or [`Spool::flush`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    pub written: usize,
    pub failed: bool,
}

/// The in-memory queue of unwritten feedback (see the module docs).
#[derive(Debug)]
pub struct Spool {
    queue: VecDeque<Event>,
    capacity: usize,
    counts: SpoolCounts,
    last_try: Option<Instant>,
}

impl Default for Spool {
    fn default() -> Self {
        Self::with_capacity(SPOOL_CAPACITY)
    }
}

/// True when an error is the database's, so the same write may succeed later; false for an
/// event the recording API refuses.
fn worth_retrying(e: &FeedbackError) -> bool {
    matches!(e, FeedbackError::Store(_))
}

impl Spool {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            queue: VecDeque::new(),
            capacity: capacity.max(1),
            counts: SpoolCounts::default(),
            last_try: None,
        }
    }

    pub fn counts(&self) -> SpoolCounts {
        SpoolCounts {
            waiting: self.queue.len() as u64,
            ..self.counts.clone()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Records `event` through `write`, after whatever waits; keeps it if the database fails.
    pub fn record(
        &mut self,
        event: Event,
        now: Instant,
        write: impl FnMut(&Event) -> Result<(), FeedbackError>,
    ) -> Flushed {
        if self.queue.len() >= self.capacity {
            // Try to make room first; if the database still fails, the new event is dropped
            // and counted.
            let flushed = self.flush(now, write);
            if self.queue.len() >= self.capacity {
                self.counts.dropped += 1;
                tracing::error!(
                    dropped = self.counts.dropped,
                    waiting = self.queue.len(),
                    "feedback event dropped: the database takes no writes and the memory spool \
                     is full"
                );
            } else {
                self.queue.push_back(event);
            }
            return flushed;
        }
        self.queue.push_back(event);
        self.flush(now, write)
    }

    /// Whether a retry without a new event is due at `now` (something waits and the last try
    /// was at least [`RETRY_EVERY`] ago).
    pub fn retry_due(&self, now: Instant) -> bool {
        !self.queue.is_empty()
            && self
                .last_try
                .is_none_or(|t| now.saturating_duration_since(t) >= RETRY_EVERY)
    }

    /// Writes waiting events in order until one fails (it stays at the head).
    pub fn flush(
        &mut self,
        now: Instant,
        mut write: impl FnMut(&Event) -> Result<(), FeedbackError>,
    ) -> Flushed {
        self.last_try = Some(now);
        let mut out = Flushed::default();
        let was_failing = self.counts.last_error.is_some();
        while let Some(event) = self.queue.front() {
            match write(event) {
                Ok(()) => {
                    self.queue.pop_front();
                    out.written += 1;
                    if was_failing {
                        self.counts.written_late += 1;
                    }
                }
                Err(e) if worth_retrying(&e) => {
                    let full = matches!(&e, FeedbackError::Store(s) if s.is_disk_full());
                    if self.counts.last_error.is_none() {
                        tracing::warn!(
                            error = %e,
                            disk_full = full,
                            "feedback not written; kept in memory and retried"
                        );
                    }
                    self.counts.last_error = Some(e.to_string());
                    self.counts.disk_full = full;
                    out.failed = true;
                    return out;
                }
                Err(e) => {
                    self.queue.pop_front();
                    self.counts.refused += 1;
                    tracing::warn!(error = %e, "feedback event refused");
                }
            }
        }
        if was_failing {
            tracing::info!(
                written_late = self.counts.written_late,
                "the database takes writes again: feedback kept in memory is written"
            );
        }
        self.counts.last_error = None;
        self.counts.disk_full = false;
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::StoreError;

    fn full() -> FeedbackError {
        FeedbackError::Store(StoreError::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        )))
    }

    fn ev(at: i64) -> Event {
        Event::Interaction {
            at,
            session: SessionToken::from_bytes([1; 16]),
            sku: "A".into(),
            style: Style::Concise,
            kind: InteractionKind::Tap,
        }
    }

    fn at(e: &Event) -> i64 {
        match e {
            Event::Impression { at, .. } | Event::Interaction { at, .. } => *at,
        }
    }

    #[test]
    fn a_full_disk_keeps_events_in_order_and_writes_them_once_space_returns() {
        let mut spool = Spool::default();
        let t0 = Instant::now();
        let mut written = Vec::new();
        let f = spool.record(ev(1), t0, |e| {
            written.push(at(e));
            Ok(())
        });
        assert_eq!(f.written, 1);
        for i in 2..=4 {
            let f = spool.record(ev(i), t0, |_| Err(full()));
            assert!(f.failed);
        }
        let c = spool.counts();
        assert_eq!((c.waiting, c.dropped), (3, 0));
        assert!(c.disk_full);
        assert!(c.last_error.unwrap().contains("full"));
        assert!(!spool.retry_due(t0));
        assert!(spool.retry_due(t0 + RETRY_EVERY));
        // Space returns: the next event goes after the waiting ones.
        spool.record(ev(5), t0, |e| {
            written.push(at(e));
            Ok(())
        });
        assert_eq!(written, vec![1, 2, 3, 4, 5]);
        let c = spool.counts();
        assert_eq!((c.waiting, c.written_late, c.dropped), (0, 4, 0));
        assert!(c.last_error.is_none() && !c.disk_full);
        assert!(!spool.retry_due(t0 + RETRY_EVERY));
    }

    #[test]
    fn a_failure_stops_the_flush_at_the_failed_event() {
        let mut spool = Spool::default();
        let t0 = Instant::now();
        for i in 1..=3 {
            spool.record(ev(i), t0, |_| Err(full()));
        }
        let mut written = Vec::new();
        let f = spool.flush(t0, |e| {
            if at(e) == 2 {
                return Err(full());
            }
            written.push(at(e));
            Ok(())
        });
        assert_eq!((f.written, f.failed), (1, true));
        assert_eq!(written, vec![1]);
        assert_eq!(spool.counts().waiting, 2);
    }

    #[test]
    fn a_full_spool_counts_what_it_drops_and_invalid_events_are_refused_not_retried() {
        let mut spool = Spool::with_capacity(2);
        let t0 = Instant::now();
        for i in 1..=5 {
            spool.record(ev(i), t0, |_| Err(full()));
        }
        let c = spool.counts();
        assert_eq!((c.waiting, c.dropped), (2, 3));
        let mut tries = 0;
        spool.flush(t0, |_| {
            tries += 1;
            Err(FeedbackError::Invalid {
                field: "sku",
                reason: "bad".into(),
            })
        });
        assert_eq!(tries, 2);
        let c = spool.counts();
        assert_eq!((c.waiting, c.refused, c.dropped), (0, 2, 3));
    }
}
