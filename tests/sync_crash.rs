//! Crash safety of the feedback sender: a child `shelftalk sync now` is killed with SIGKILL 100
//! times while it syncs a growing backlog to the real HQ, each time at a point it announced
//! itself (`SHELFTALK_FAULT_PAUSE`, `store::fault`): during aggregation (cells written into the
//! outbox, not committed), during upload (a batch marked as handed to HQ, its request not yet
//! sent) and after HQ committed a batch but before the kiosk deleted it. After every kill the
//! state is checked against what that phase must leave; a final clean sync then leaves HQ's
//! totals exact: nothing lost, nothing counted twice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod crash_support;
mod sync_support;

use std::process::Command;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use shelftalk::feedback::cells::Counts;
use sync_support::{kiosk, simulate, status, Hq};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Aggregate,
    Upload,
    Committed,
}

impl Phase {
    fn point(self) -> &'static str {
        match self {
            Phase::Aggregate => "sync.aggregate",
            Phase::Upload => "sync.upload",
            Phase::Committed => "sync.acked",
        }
    }
}

const KILLS: [(Phase, usize); 3] = [
    (Phase::Aggregate, 34),
    (Phase::Upload, 33),
    (Phase::Committed, 33),
];

/// Raw impressions not yet closed into cells, and the oldest outbox row's (maybe delivered,
/// impressions).
fn kiosk_rows(db: &std::path::Path) -> (u64, Option<(bool, u64)>) {
    let c = rusqlite::Connection::open(db).unwrap();
    let raw = c
        .query_row("SELECT count(*) FROM feedback_impressions", [], |r| {
            r.get(0)
        })
        .unwrap();
    let oldest = c
        .query_row(
            "SELECT maybe_delivered, totals FROM feedback_outbox ORDER BY seq LIMIT 1",
            [],
            |r| Ok((r.get::<_, bool>(0)?, r.get::<_, String>(1)?)),
        )
        .ok()
        .map(|(maybe, totals)| {
            let totals: Counts = serde_json::from_str(&totals).unwrap();
            (maybe, totals.impressions)
        });
    (raw, oldest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_every_phase_loses_nothing_and_counts_nothing_twice() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    // Hundreds of one-cell batches at once: HQ's per-kiosk rate limit is not what this tests.
    let opts = shelftalk::hq::ServeOptions {
        kiosk_rate: None,
        ..shelftalk::hq::ServeOptions::default()
    };
    let hq = Hq::start_with(tmp.path(), opts).await;
    let (config, keys) = kiosk(tmp.path(), "kiosk-crash", &hq.url);
    hq.enroll(&config, &keys);
    // The child uses the real clock, so the simulated days are closed before the real now.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    simulate(&config, 600, 3, now, 3);
    let cfg = tmp.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "store_id = \"{}\"\nkiosk_id = \"{}\"\ndata_dir = \"{}\"\nhq_url = \"{}\"\n\
             hq_public_key = \"{}\"\nbatch_max_cells = 1\noutbox_max_batches = 100000\n\
             k_anonymity = 5\n",
            config.store_id,
            config.kiosk_id,
            config.data_dir.display(),
            hq.url,
            hq.public_key
        ),
    )
    .unwrap();
    let sync_now = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_shelftalk"));
        c.args(["--config", cfg.to_str().unwrap(), "sync", "now", "--json"])
            .env_remove("RUST_LOG");
        c
    };
    let db = config.db_path();

    // The schedule: every phase its share, in a seeded random order.
    let mut rng = StdRng::seed_from_u64(20);
    let mut schedule: Vec<Phase> = KILLS
        .iter()
        .flat_map(|(p, n)| std::iter::repeat_n(*p, *n))
        .collect();
    for i in (1..schedule.len()).rev() {
        schedule.swap(i, rng.random_range(0..=i));
    }
    let mut killed = [0usize; 3];
    let mut hq_had_unacknowledged = 0usize;

    for (round, phase) in schedule.iter().copied().enumerate() {
        // Fresh feedback every round, so every round has cells to close into new batches.
        simulate(&config, 40, 1000 + round as u64, now, 3);
        let nth = rng.random_range(1..=3u64);
        let before = status(&config);
        let (raw_before, _) = kiosk_rows(&db);
        let hq_batches_before = hq.rows().0;
        assert!(raw_before > 0, "round {round}: nothing to aggregate");

        let cmd = sync_now();
        let point = phase.point();
        tokio::task::spawn_blocking(move || crash_support::must_kill_at(cmd, point, nth))
            .await
            .unwrap();
        killed[phase as usize] += 1;

        let s = status(&config);
        let at_hq = hq.totals();
        let (raw, oldest) = kiosk_rows(&db);
        let hq_batches = hq.rows().0;
        match phase {
            Phase::Aggregate => {
                // Rolled back: the raw rows, the outbox, the sequence and HQ as they were.
                assert_eq!(raw, raw_before, "round {round}: raw rows");
                assert_eq!(s.outbox.batches, before.outbox.batches, "round {round}");
                assert_eq!(s.next_seq, before.next_seq, "round {round}");
                assert_eq!(s.acknowledged.counts, before.acknowledged.counts);
                assert_eq!(hq_batches, hq_batches_before, "round {round}");
            }
            Phase::Upload | Phase::Committed => {
                // Aggregation committed and nth − 1 batches acknowledged. Killed during upload,
                // the nth batch is marked as handed over but HQ has no new batch (only the one a
                // kill after HQ's commit left behind, when that is the batch re-sent now); killed
                // after HQ committed, HQ holds the nth batch, which the kiosk still holds too.
                assert_eq!(raw, 0, "round {round}: aggregation committed");
                assert_eq!(
                    s.acknowledged.batches,
                    before.acknowledged.batches + nth - 1,
                    "round {round}"
                );
                let unacked_before = hq_batches_before - before.acknowledged.batches;
                let unacked = hq_batches - s.acknowledged.batches;
                let expected = match phase {
                    Phase::Upload if nth == 1 => unacked_before,
                    Phase::Upload => 0,
                    _ => 1,
                };
                assert_eq!(unacked, expected, "round {round}: {phase:?}");
                let (maybe, impressions) = oldest.unwrap();
                assert!(maybe, "round {round}: marked as handed to HQ");
                assert_eq!(
                    at_hq.impressions,
                    s.acknowledged.counts.impressions + unacked * impressions,
                    "round {round}: HQ holds what the kiosk acknowledged (+ the killed batch)"
                );
                if phase == Phase::Committed {
                    hq_had_unacknowledged += usize::from(impressions > 0);
                }
            }
        }
        // Whatever HQ holds, the kiosk has either acknowledged or still holds in its outbox.
        assert!(at_hq.impressions >= s.acknowledged.counts.impressions);
        assert!(
            at_hq.impressions <= s.acknowledged.counts.impressions + s.outbox.counts.impressions
        );
    }

    let out = sync_now().output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = status(&config);
    assert_eq!(s.outbox.batches, 0);
    assert_eq!(s.pending, Counts::default());
    assert_eq!(s.dropped.batches, 0);
    let (raw, _) = kiosk_rows(&db);
    assert_eq!(raw, 0);
    let at_hq = hq.totals();
    assert_eq!(at_hq, s.acknowledged.counts, "nothing lost, nothing twice");
    // Every acknowledged batch is stored once at HQ, however often it was sent.
    assert_eq!(hq.rows().0, s.acknowledged.batches);
    let mut expected = s.withheld;
    expected += s.acknowledged.counts;
    assert_eq!(s.recorded, expected, "recorded = withheld + acknowledged");
    hq.stop().await;

    let lost = s.recorded.impressions - s.withheld.impressions - s.acknowledged.counts.impressions;
    let duplicated = at_hq.impressions - s.acknowledged.counts.impressions;
    eprintln!(
        "sync crash test: {} SIGKILLs of `shelftalk sync now`",
        schedule.len()
    );
    eprintln!("| phase (pause point) | kills | state checked after each kill |");
    eprintln!("|---|---|---|");
    eprintln!(
        "| aggregation (`sync.aggregate`) | {} | raw rows, outbox and sequence unchanged; HQ unchanged |",
        killed[0]
    );
    eprintln!(
        "| upload (`sync.upload`) | {} | batch in the outbox, marked maybe delivered; HQ = acknowledged |",
        killed[1]
    );
    eprintln!(
        "| HQ committed, outbox row not deleted (`sync.acked`) | {} | HQ = acknowledged + the killed batch |",
        killed[2]
    );
    eprintln!(
        "recorded {} impressions: withheld {}, acknowledged {} in {} batches, at HQ {}; lost {lost}, duplicated {duplicated}; {:.1} s",
        s.recorded.impressions,
        s.withheld.impressions,
        s.acknowledged.counts.impressions,
        s.acknowledged.batches,
        at_hq.impressions,
        started.elapsed().as_secs_f64()
    );
    for (i, (phase, n)) in KILLS.iter().enumerate() {
        assert_eq!(killed[i], *n, "{phase:?}");
        assert!(*n >= 30, "{phase:?} gets a real share");
    }
    assert_eq!(hq_had_unacknowledged, KILLS[2].1);
    assert_eq!(lost, 0);
    assert_eq!(duplicated, 0);
}
