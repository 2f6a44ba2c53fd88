//! HQ away for a week: a busy store's simulated feedback, day by day, synced against a dead HQ
//! stays bounded on disk (older unsent batches rolled up into coarser cells, nothing dropped) and
//! arrives whole at the real HQ on loopback when it returns; an HQ that answers 500 or never
//! answers gets a bounded, jittered number of attempts (counted at a real HTTP listener), never a
//! tight loop. Simulated event timestamps stand in for the week: no real waiting.
//!
//! Figures for the README are printed as `FIGURE …` lines:
//! `cargo test --test hq_away -- --nocapture 2>&1 | grep FIGURE`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod sync_support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use shelftalk::config::Config;
use shelftalk::feedback::cells::Counts;
use shelftalk::store::Store;
use shelftalk::sync::client::Backoff;
use shelftalk::sync::{self, SyncContext, SyncError};
use sync_support::{kiosk, simulate, status, Hq, NOW};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A busy store: shopper sessions per day at one kiosk (3 picks each, with dwell, taps, votes and
/// some purchases: about 8 recorded events per session).
const SESSIONS_PER_DAY: usize = 1_500;
const DAYS: i64 = 7;
/// Syncs the daemon tries per simulated day while HQ is away (the real schedule is at most
/// about 26 a day, see `sync::next_sync_wait`; more tries only roll up more often).
const SYNCS_PER_DAY: i64 = 3;

fn sum(parts: &[&Counts]) -> Counts {
    let mut t = Counts::default();
    for p in parts {
        t += **p;
    }
    t
}

fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

/// (outbox batches, outbox document bytes, database bytes with its WAL).
fn on_disk(config: &Config) -> (u64, u64, u64) {
    let store = Store::open(&config.db_path()).unwrap();
    let (batches, bytes): (u64, u64) = store
        .conn()
        .query_row(
            "SELECT count(*), coalesce(sum(length(document)), 0) FROM feedback_outbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    (batches, bytes, store.summary().unwrap().db_bytes)
}

fn ctx(
    config: &Config,
    keys: &Arc<shelftalk::crypto::keyfiles::Keyring>,
    b: Backoff,
) -> SyncContext {
    SyncContext::with_backoff(config.clone(), Arc::clone(keys), b).unwrap()
}

/// A week offline at a busy store's rate, with the outbox bound at `max_batches` × `max_cells`;
/// returns the largest outbox seen (batches, document bytes, database bytes).
async fn week_offline(
    tmp: &std::path::Path,
    id: &str,
    max_batches: u32,
    max_cells: u32,
) -> (u64, u64, u64) {
    let (mut config, keys) = kiosk(tmp, id, &dead_url());
    config.outbox_max_batches = max_batches;
    config.batch_max_cells = max_cells;
    let quick = Backoff {
        attempts: 2,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
    };
    let offline = ctx(&config, &keys, quick);
    let mut largest = (0, 0, 0);
    let mut rolled = 0;
    for day in 1..=DAYS {
        let now = NOW + day * 86_400;
        simulate(&config, SESSIONS_PER_DAY, day as u64, now, 1);
        for s in 0..SYNCS_PER_DAY {
            let err = sync::run_once(&offline, now + s * 3_600).await.unwrap_err();
            assert!(matches!(err, SyncError::Unreachable { .. }), "{err}");
        }
        let st = status(&config);
        assert_eq!(st.dropped.batches, 0, "day {day}: nothing dropped");
        assert_eq!(
            st.recorded,
            sum(&[&st.pending, &st.withheld, &st.outbox.counts])
        );
        let seen = on_disk(&config);
        assert!(
            seen.0 <= u64::from(max_batches) + 1,
            "day {day}: {} batches over the bound {max_batches}",
            seen.0
        );
        largest = (
            largest.0.max(seen.0),
            largest.1.max(seen.1),
            largest.2.max(seen.2),
        );
        let store = Store::open(&config.db_path()).unwrap();
        rolled = store
            .conn()
            .query_row(
                "SELECT count(*) FROM feedback_outbox
                 WHERE instr(CAST(document AS TEXT), '\"sku\":\"*\"') > 0",
                [],
                |r| r.get::<_, u64>(0),
            )
            .unwrap();
    }
    let away = status(&config);
    eprintln!(
        "FIGURE hq_away {id}: a week offline at {SESSIONS_PER_DAY} sessions/day on a \
         6-product catalog ({} impressions, {} events recorded/day): outbox at most {} batches, {} KB of \
         documents, database {} KB; {} rolled-up batches; bound {max_batches}+1 batches x \
         {max_cells} cells",
        away.recorded.impressions / DAYS as u64,
        (away.recorded.impressions
            + away.recorded.taps
            + away.recorded.thumbs_up
            + away.recorded.thumbs_down
            + away.recorded.whys
            + away.recorded.opt_outs
            + away.recorded.dwells
            + away.recorded.conversions)
            / DAYS as u64,
        largest.0,
        largest.1 / 1024,
        largest.2 / 1024,
        rolled
    );

    // HQ returns: the whole week arrives, totals equal, nothing dropped, nothing twice.
    let hq_dir = tmp.join(format!("hq-{id}"));
    std::fs::create_dir_all(&hq_dir).unwrap();
    let hq = Hq::start(&hq_dir).await;
    hq.enroll(&config, &keys);
    config.hq_url = hq.url.clone();
    let back = ctx(&config, &keys, quick);
    let started = Instant::now();
    let r = sync::run_once(&back, NOW + (DAYS + 1) * 86_400)
        .await
        .unwrap();
    let drained = started.elapsed();
    assert_eq!(r.outbox_left, 0);
    assert_eq!(r.duplicates, 0);
    let s = status(&config);
    assert_eq!(s.dropped.counts, Counts::default());
    assert_eq!(hq.totals(), s.acknowledged.counts);
    assert_eq!(s.recorded, sum(&[&s.withheld, &s.acknowledged.counts]));
    let (batches, _) = hq.rows();
    assert_eq!(batches, s.acknowledged.batches);
    eprintln!(
        "FIGURE hq_away {id}: HQ back: {} batches ({} impressions) delivered in {} ms, totals \
         equal, dropped 0",
        r.batches_sent,
        r.sent.impressions,
        drained.as_millis()
    );
    hq.stop().await;
    largest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_without_hq_stays_bounded_and_arrives_whole() {
    let tmp = tempfile::tempdir().unwrap();
    // A tight bound: the week only fits rolled up (product "*", segment "all").
    let (batches, bytes, _) = week_offline(tmp.path(), "kiosk-tight", 4, 40).await;
    assert!(batches <= 5);
    // A rolled-up cell is a few hundred bytes; the bound is (4 + 1) x 40 cells.
    assert!(bytes <= 5 * 40 * 800, "{bytes} bytes");
    // The shipped defaults: the same week needs no roll-up and stays far below the bound.
    let defaults = Config::default();
    let (batches, bytes, _) = week_offline(
        tmp.path(),
        "kiosk-defaults",
        defaults.outbox_max_batches,
        defaults.batch_max_cells,
    )
    .await;
    assert!(batches <= u64::from(defaults.outbox_max_batches) + 1);
    assert!(
        bytes
            <= (u64::from(defaults.outbox_max_batches) + 1)
                * u64::from(defaults.batch_max_cells)
                * 800
    );
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Fail500,
    Hang,
}

/// An HQ-like HTTP listener on loopback that reads each request whole and answers 500, or never
/// answers; it counts requests and notes when each arrived.
struct BadHq {
    url: String,
    requests: Arc<AtomicU64>,
    arrivals: Arc<Mutex<Vec<Instant>>>,
    task: tokio::task::JoinHandle<()>,
}

impl BadHq {
    async fn start(mode: Mode) -> BadHq {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicU64::new(0));
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let (n, at) = (Arc::clone(&requests), Arc::clone(&arrivals));
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (n, at) = (Arc::clone(&n), Arc::clone(&at));
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        // Head, then as much body as Content-Length says.
                        let Ok(k) = sock.read(&mut chunk).await else {
                            return;
                        };
                        if k == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..k]);
                        let text = String::from_utf8_lossy(&buf).to_string();
                        let Some(head_end) = text.find("\r\n\r\n") else {
                            continue;
                        };
                        let len = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() < head_end + 4 + len {
                            continue;
                        }
                        n.fetch_add(1, Ordering::SeqCst);
                        at.lock().unwrap().push(Instant::now());
                        if mode == Mode::Hang {
                            // Hold the connection open without a word.
                            std::future::pending::<()>().await;
                        }
                        let body = r#"{"error":{"code":"internal","message":"boom"}}"#;
                        let answer = format!(
                            "HTTP/1.1 500 Internal Server Error\r\ncontent-type: \
                             application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = sock.write_all(answer.as_bytes()).await;
                        let _ = sock.shutdown().await;
                        return;
                    }
                });
            }
        });
        BadHq {
            url,
            requests,
            arrivals,
            task,
        }
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for BadHq {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_or_hanging_hq_gets_jittered_backoff_not_a_tight_loop() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut config, keys) = kiosk(tmp.path(), "kiosk-flaky", &dead_url());
    simulate(&config, 300, 4, NOW, 3);
    let backoff = Backoff {
        attempts: 4,
        base: Duration::from_millis(100),
        cap: Duration::from_millis(400),
    };

    // HQ answers 500: each sync makes exactly `attempts` tries, spaced by jittered delays.
    let bad = BadHq::start(Mode::Fail500).await;
    config.hq_url = bad.url.clone();
    let syncs = 3;
    let mut gaps = Vec::new();
    for s in 0..syncs {
        let before = bad.requests();
        let err = sync::run_once(&ctx(&config, &keys, backoff), NOW + s)
            .await
            .unwrap_err();
        assert!(
            matches!(err, SyncError::Server { status: 500, .. }),
            "{err}"
        );
        assert!(err.retryable());
        assert_eq!(bad.requests() - before, u64::from(backoff.attempts));
        let at = bad.arrivals.lock().unwrap().clone();
        let run = &at[at.len() - backoff.attempts as usize..];
        for (i, w) in run.windows(2).enumerate() {
            let gap = w[1] - w[0];
            let ceiling = (backoff.base * 2u32.pow(i as u32)).min(backoff.cap);
            assert!(
                gap <= ceiling + Duration::from_millis(250),
                "retry {i}: {gap:?} over {ceiling:?}"
            );
            gaps.push(gap);
        }
    }
    assert_eq!(bad.requests(), syncs as u64 * u64::from(backoff.attempts));
    let total: Duration = gaps.iter().sum();
    assert!(
        total >= Duration::from_millis(50),
        "retries wait: {gaps:?} (no tight loop)"
    );
    let distinct: std::collections::HashSet<_> = gaps.iter().map(|g| g.as_millis()).collect();
    assert!(distinct.len() >= gaps.len() / 2, "jittered: {gaps:?}");
    let outbox = status(&config).outbox;
    assert!(outbox.batches >= 1, "the batches stay in the outbox");
    drop(bad);

    // HQ accepts the connection and never answers: each try ends at the timeout.
    let hang = BadHq::start(Mode::Hang).await;
    config.hq_url = hang.url.clone();
    config.hq_timeout_secs = 1;
    let two = Backoff {
        attempts: 2,
        ..backoff
    };
    let started = Instant::now();
    let err = sync::run_once(&ctx(&config, &keys, two), NOW + 10)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(err, SyncError::Unreachable { .. }) && err.maybe_delivered(),
        "{err}"
    );
    assert_eq!(hang.requests(), 2);
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    drop(hang);

    // The real HQ returns: everything arrives once.
    let hq = Hq::start(tmp.path()).await;
    hq.enroll(&config, &keys);
    config.hq_url = hq.url.clone();
    let r = sync::run_once(&ctx(&config, &keys, backoff), NOW + 20)
        .await
        .unwrap();
    assert_eq!(r.outbox_left, 0);
    let s = status(&config);
    assert_eq!(hq.totals(), s.acknowledged.counts);
    assert_eq!(s.acknowledged.counts, outbox.counts);
    assert_eq!(s.recorded, sum(&[&s.withheld, &s.acknowledged.counts]));
    hq.stop().await;

    // The daemon's schedule over a week without HQ (default interval and retry policy).
    let mut rng = rand::rngs::StdRng::seed_from_u64(18);
    let defaults = Config::default();
    let per_sync = u64::from(Backoff::default().attempts);
    let (mut t, mut n, mut failures) = (0.0, 0u64, 0u32);
    loop {
        t += sync::next_sync_wait(defaults.sync_interval_secs, failures, &mut rng).as_secs_f64();
        if t > 7.0 * 86_400.0 {
            break;
        }
        n += 1;
        failures += 1;
    }
    assert!(n * per_sync < 1_000);
    let worst_recovery = defaults.sync_interval_secs as f64 * 4.0 * 1.1 / 60.0;
    eprintln!(
        "FIGURE hq_away schedule: a week without HQ at sync_interval_secs = {}: {n} syncs, at \
         most {} batch attempts (HQ answering 500 or timing out: {} per sync, jittered \
         exponential backoff); the outbox reaches a returning HQ within {worst_recovery:.0} min",
        defaults.sync_interval_secs,
        n * per_sync,
        per_sync
    );
}
