//! Named pause points in the write sequences of the store's users (the feedback sender, imports,
//! key rotation), for the crash tests: a test stops the real binary at a point it chose and kills
//! it there, instead of guessing with a sleep.
//!
//! `SHELFTALK_FAULT_PAUSE=<point>[@<n>]` (test-only; not a configuration key, see `config`) makes
//! the process stop the `n`th time (default: the first) it reaches `<point>`: it writes one line
//! `shelftalk: fault pause at <point> #<n>` to standard error and blocks the calling thread for
//! good. The test reads that line, then sends SIGKILL. The points:
//!
//! | point | where |
//! |---|---|
//! | `sync.aggregate` | `sync::prepare`: after each batch is written, before the transaction commits |
//! | `sync.upload` | the sender: a batch is marked as handed to HQ (committed), its request not yet sent |
//! | `sync.acked` | the sender: HQ acknowledged a batch (HQ committed it), the outbox row not yet deleted |
//! | `import.row` | catalog and event imports: after each row is applied, inside the import's transaction |
//! | `import.commit` | imports: every row and the import record written, before the commit |
//! | `import.committed` | imports: just after the commit |
//! | `rotate.begun` | key rotation: `kek-next.key` written, the re-wrap not begun |
//! | `rotate.rewrapped` | key rotation: every data key re-wrapped, before the commit |
//! | `rotate.committed` | key rotation: re-wrap committed, `kek-next.key` not yet renamed over `kek.key` |
//!
//! Invariants:
//! - Off unless the variable is set (read once per process): unset, a point costs a disabled
//!   trace event and one load. A process whose variable names a point never continues past that
//!   point's `n`th pass; every other point, and other passes, go on as usual.
//! - Every point, paused or not, is a `tracing` trace event `fault point` with the point's name
//!   (trace, not debug: `import.row` is reached once per row).
//! - The announcement names the point and the count only: no data, no identifiers.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The environment variable naming the pause point (test-only).
pub const FAULT_PAUSE_ENV: &str = "SHELFTALK_FAULT_PAUSE";

/// The first words of the announcement line on standard error.
pub const ANNOUNCEMENT: &str = "shelftalk: fault pause at ";

struct Pause {
    point: String,
    nth: u64,
    hits: AtomicU64,
}

/// `<point>[@<n>]` as (point, n); `None` when `n` is not a positive integer or the point is empty.
fn parse(spec: &str) -> Option<(String, u64)> {
    let (point, nth) = match spec.split_once('@') {
        Some((p, n)) => (p, n.trim().parse().ok().filter(|n| *n > 0)?),
        None => (spec, 1),
    };
    let point = point.trim();
    (!point.is_empty()).then(|| (point.to_string(), nth))
}

fn configured() -> Option<&'static Pause> {
    static PAUSE: OnceLock<Option<Pause>> = OnceLock::new();
    PAUSE
        .get_or_init(|| {
            let spec = std::env::var(FAULT_PAUSE_ENV).ok()?;
            let Some((point, nth)) = parse(&spec) else {
                tracing::warn!(
                    variable = FAULT_PAUSE_ENV,
                    "not <point>[@<n>] with n >= 1: no fault pause"
                );
                return None;
            };
            Some(Pause {
                point,
                nth,
                hits: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Marks `point`; pauses the process there for good when `SHELFTALK_FAULT_PAUSE` asks for it
/// (see the module docs).
pub fn point(point: &'static str) {
    tracing::trace!(point, "fault point");
    let Some(pause) = configured() else {
        return;
    };
    if pause.point != point {
        return;
    }
    let hit = pause.hits.fetch_add(1, Ordering::SeqCst) + 1;
    if hit != pause.nth {
        return;
    }
    let mut err = std::io::stderr().lock();
    // Ignored: with no stderr the test sees no line and fails; the pause holds either way.
    let _ = writeln!(err, "{ANNOUNCEMENT}{point} #{hit}");
    let _ = err.flush();
    drop(err);
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_names_a_point_and_which_time_it_is_reached() {
        assert_eq!(parse("sync.acked"), Some(("sync.acked".into(), 1)));
        assert_eq!(parse("import.row@250"), Some(("import.row".into(), 250)));
        assert_eq!(
            parse(" rotate.begun @ 2 "),
            Some(("rotate.begun".into(), 2))
        );
        for bad in ["", "@3", "sync.upload@0", "sync.upload@-1", "sync.upload@x"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unset_a_point_returns_at_once() {
        // The test process has no SHELFTALK_FAULT_PAUSE (cargo does not set it).
        if std::env::var_os(FAULT_PAUSE_ENV).is_none() {
            point("sync.acked");
        }
    }
}
