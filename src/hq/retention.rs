//! Retention of raw batch documents: `hq serve --raw-retention-days N` (default
//! [`DEFAULT_RAW_RETENTION_DAYS`]). A batch's signed document is kept for `N` days after HQ
//! received it, as evidence of what the kiosk sent; then a sweep empties it.
//!
//! Invariants:
//! - What a sweep keeps: the per-day roll-up (every report, the priors and the dashboard read only
//!   it, so they do not change), and each batch's row with its id, kiosk, seq and SHA-256 (so a
//!   re-sent batch is still answered `duplicate`, a played-back one still refused as a replay, and
//!   a different document under a known id still a conflict).
//! - What it deletes: the document and signature bytes of batches received more
//!   than `N` days before the sweep's clock, oldest first, [`CHUNK`] batches per transaction (so
//!   ingest waits for one chunk at most, never for a whole sweep).
//! - [`run`] sweeps once at start and then every [`SWEEP_EVERY`], on the injected clock; a failed
//!   sweep is logged (no identifiers) and tried again at the next tick. On PostgreSQL, HQ
//!   processes sweeping at once skip each other's rows.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::store::{HqStore, Swept};
use super::{Clock, HqError};

/// Days raw batch documents are kept by default.
pub const DEFAULT_RAW_RETENTION_DAYS: u32 = 90;

/// The longest retention accepted (a century).
pub const MAX_RAW_RETENTION_DAYS: u32 = 36_500;

/// Time between two sweeps of a running HQ.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// Batches swept per transaction.
pub const CHUNK: u32 = 500;

/// Empties the raw documents of every batch received more than `days` days before
/// `now`, in transactions of [`CHUNK`] batches; returns what went.
pub fn sweep(store: &dyn HqStore, days: u32, now: i64) -> Result<Swept, HqError> {
    let before = now.saturating_sub(i64::from(days) * 86_400);
    let mut total = Swept::default();
    loop {
        let swept = store.sweep_raw(before, now, CHUNK)?;
        total.batches += swept.batches;
        if swept.batches < u64::from(CHUNK) {
            return Ok(total);
        }
    }
}

/// Sweeps at once and then every `every` (on `clock`'s time) until `shutdown` completes (a
/// `shutdown` that is ready from the start makes it sweep exactly once).
pub async fn run(
    store: Arc<dyn HqStore>,
    days: u32,
    clock: Clock,
    every: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        let now = clock();
        let swept = Arc::clone(&store);
        match tokio::task::spawn_blocking(move || sweep(swept.as_ref(), days, now)).await {
            Ok(Ok(s)) if s.batches > 0 => tracing::info!(
                batches = s.batches,
                days,
                "raw batch documents past the retention deleted"
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "raw batch retention sweep failed"),
            Err(e) => tracing::error!(error = %e, "raw batch retention sweep task failed"),
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = ticks.tick() => {}
        }
    }
}
