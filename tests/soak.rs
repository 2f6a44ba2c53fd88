//! A soak (issue 18 part 5): `shelftalk run` in a tmux pane on a demo data dir with the real
//! model and a real SQLite file, driven by simulated shoppers for a set time, sampled at
//! intervals, failed on growth beyond the bounds below or on any panic.
//!
//! Shoppers: one after another, each a visit of the demo data: most scan a loyalty code of the
//! demo log (typed through tmux's paste buffer, never on a command line; every code is forbidden
//! on screen and checked on every capture), one in ten scans a product first (anonymous). They
//! wait for their picks and read the first pick's copy, move to the next pick and vote, open the
//! why panel and close it, scan a product and read its copy, then leave with `d` — or, one in
//! seven, walk away and let the session time out.
//!
//! The fast clock, as far as the code allows: the daemon has no injectable clock, so time is
//! compressed through its configuration — shoppers come back to back (a busy store's day of
//! [`VISITS_PER_DAY`] visits is the unit of database growth), the session timeout is its minimum
//! plus a little (8 s, not 45 s), the till is polled every second (not 30 s), sync runs every
//! 10 s (its minimum, not 900 s) against an HQ that is away (so recorded feedback stays on the
//! kiosk, the worst case for its disk), and cached copy lives 300 s (not a week), so cache
//! entries expire, are written again and the cache churns.
//!
//! Sampled every interval (and written to `target/soak/<name>-<unix time>.csv`): the daemon's
//! resident memory (`VmRSS` of `/proc/PID/status`), its open file descriptors (`/proc/PID/fd`),
//! the database's size (main file, WAL and shared memory), the copy worker's latency (the
//! console's p50/p99 over its latest jobs, request to answer) and the visits done.
//!
//! Bounds (the test fails beyond any of them):
//! - Resident memory: at most [`RSS_GROWTH_MIB`] MiB above the baseline, the first sample after
//!   the first visit (model loaded and mapped, first prompt prefixes decoded).
//! - Open file descriptors: at most [`FD_GROWTH`] above the baseline at any sample.
//! - Database: its main file grows at most [`DB_MIB_PER_DAY`] MiB per simulated day (HQ away),
//!   plus [`DB_SLACK_MIB`] once for coarse page allocation; its write-ahead log (and shared
//!   memory) stays under [`WAL_MIB`] MiB (checkpointed every 1000 pages, reused, not shrunk).
//! - Copy on screen: every read copy is complete within the sum of the engine's budget, the
//!   screen's grace, one tick and [`SLACK`] of its picks appearing (part 6: a stalled copy is
//!   replaced by its template at once); the worker's p99 latency stays within the budget plus
//!   [`SLACK`].
//! - No panic: the daemon's standard error (where a panic's message goes; the screen owns
//!   standard output) holds no `panicked`, the daemon is alive at every sample, and it exits 0
//!   on SIGTERM at the end.
//!
//! `soak_short` is the CI version (about 75 s of shoppers plus the model's load, under 2 minutes
//! on an idle 2-core machine); `soak_long` is ignored by default and runs `SOAK_SECS` (default
//! 1200) — `scripts/soak.sh` runs it and keeps its CSV.
//!
//! Skipped with a note when the model is missing, unless `SHELFTALK_REQUIRE_MODEL=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;
#[path = "common/tmux.rs"]
mod tmux;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shelftalk::ui::kiosk::COPY_GRACE;
use tmux::{cards, Card, Kiosk};

/// A busy store's shopper visits at one kiosk in a day: the unit of database growth.
pub const VISITS_PER_DAY: f64 = 250.0;
/// Resident memory may grow this much above its baseline.
pub const RSS_GROWTH_MIB: f64 = 32.0;
/// Open file descriptors may grow this much above their baseline.
pub const FD_GROWTH: i64 = 4;
/// Growth of the database's main file per simulated day (HQ away), plus [`DB_SLACK_MIB`] once.
pub const DB_MIB_PER_DAY: f64 = 4.0;
/// Page allocation is coarse (a table or index takes a new page at a time): a short run may see
/// a few new pages that say nothing about a day.
pub const DB_SLACK_MIB: f64 = 1.0;
/// The write-ahead log keeps its high-water mark (SQLite checkpoints it every 1000 pages, about
/// 4 MiB, and reuses the file without shrinking it): it stays under this.
pub const WAL_MIB: f64 = 16.0;
/// Room for the test's capture loop and a machine busy with other builds.
pub const SLACK: Duration = Duration::from_secs(3);
/// The engine's budget the soak runs with (the default).
const BUDGET: Duration = Duration::from_millis(4000);
/// One screen tick.
const TICK: Duration = Duration::from_millis(250);
/// Bound for screens that do not wait for copy.
const SCREEN_BOUND: Duration = Duration::from_secs(60);
/// Session timeout of the soak (the walk-away shopper waits for it).
const SESSION_TIMEOUT: &str = "8";

/// One sample of the daemon.
#[derive(Debug, Clone)]
struct Sample {
    secs: f64,
    visits: usize,
    rss_kib: u64,
    fds: i64,
    /// The database's main file, and its write-ahead log with its shared memory.
    db_bytes: u64,
    wal_bytes: u64,
    copy_answered: u64,
    copy_samples: usize,
    copy_p50_ms: f64,
    copy_p99_ms: f64,
    fell_back: u64,
}

impl Sample {
    const HEADER: &'static str = "secs,visits,rss_kib,fds,db_bytes,wal_bytes,copy_answered,copy_samples,copy_p50_ms,copy_p99_ms,copy_fell_back";

    fn csv(&self) -> String {
        format!(
            "{:.0},{},{},{},{},{},{},{},{:.0},{:.0},{}",
            self.secs,
            self.visits,
            self.rss_kib,
            self.fds,
            self.db_bytes,
            self.wal_bytes,
            self.copy_answered,
            self.copy_samples,
            self.copy_p50_ms,
            self.copy_p99_ms,
            self.fell_back
        )
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("daemon {pid} gone: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

fn fds(pid: u32) -> i64 {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap_or_else(|e| panic!("daemon {pid} gone: {e}"))
        .count() as i64
}

/// Bytes of the files of `db` with these suffixes.
fn db_bytes(db: &Path, suffixes: &[&str]) -> u64 {
    suffixes
        .iter()
        .map(|s| {
            let mut p = db.as_os_str().to_owned();
            p.push(s);
            std::fs::metadata(PathBuf::from(p)).map_or(0, |m| m.len())
        })
        .sum()
}

fn sample(k: &mut Kiosk, started: Instant, visits: usize) -> Sample {
    let pid = k.pid();
    let status = k.status();
    let latency = status.copy_latency.unwrap_or_default();
    Sample {
        secs: started.elapsed().as_secs_f64(),
        visits,
        rss_kib: rss_kib(pid),
        fds: fds(pid),
        db_bytes: db_bytes(&k.config.db_path(), &[""]),
        wal_bytes: db_bytes(&k.config.db_path(), &["-wal", "-shm"]),
        copy_answered: latency.answered,
        copy_samples: latency.samples,
        copy_p50_ms: latency.p50_ms,
        copy_p99_ms: latency.p99_ms,
        fell_back: status.copy_fallbacks.iter().map(|(_, n)| n).sum(),
    }
}

/// The session's picks (cards titled 1-3) once at least one is on screen.
fn picks(screen: &str) -> Option<Vec<Card>> {
    let picks: Vec<Card> = cards(screen)
        .into_iter()
        .filter(|c| matches!(c.title.as_str(), "1" | "2" | "3"))
        .collect();
    (!picks.is_empty()).then_some(picks)
}

/// Column `n` of a demo CSV (no quoted commas before it in the demo files), unique, in order.
fn column(file: &str, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(common::root().join("demo").join(file)).unwrap();
    let mut out: Vec<String> = Vec::new();
    for line in text.lines().skip(1) {
        if let Some(v) = line.split(',').nth(n) {
            if !v.is_empty() && !out.iter().any(|o| o == v) {
                out.push(v.to_owned());
            }
        }
    }
    out
}

/// A small deterministic generator (the soak's choices are reproducible).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// How long copy may take to be complete on screen from its picks appearing.
fn copy_bound() -> Duration {
    BUDGET + COPY_GRACE + TICK + SLACK
}

/// Waits until the card chosen by `pick` has complete copy; returns how long it took. Fails when
/// it takes longer than [`copy_bound`]: copy never stays on screen half-written.
fn read_copy(k: &Kiosk, what: &str, pick: impl Fn(&str) -> Option<Card>) -> Duration {
    let seen = Instant::now();
    k.tmux
        .wait_for(what, copy_bound(), |s| pick(s).filter(Card::complete));
    seen.elapsed()
}

/// Scans `sku` and reads its copy (or the "don't know" notice, for a product the import
/// quarantined); returns how long the copy took.
fn scan_product(k: &Kiosk, sku: &str) -> Duration {
    k.scan(sku);
    let known = k.tmux.wait_for("scanned product", SCREEN_BOUND, |s| {
        if s.contains("Sorry, we don't know that code") {
            return Some(false);
        }
        cards(s)
            .iter()
            .any(|c| c.reason.contains("You scanned this"))
            .then_some(true)
    });
    if !known {
        return Duration::ZERO;
    }
    read_copy(k, "scanned product's copy", |s| {
        cards(s)
            .into_iter()
            .find(|c| c.reason.contains("You scanned this"))
    })
}

/// One simulated shopper. Returns the time their first pick's copy took to be complete.
fn visit(k: &Kiosk, n: usize, codes: &[String], skus: &[String], rng: &mut Lcg) -> Duration {
    let anonymous = n % 10 == 9;
    let first = if anonymous {
        scan_product(k, &skus[rng.below(skus.len())])
    } else {
        k.tmux.type_secret(&codes[rng.below(codes.len())]);
        k.tmux.press(&["Enter"]);
        k.tmux
            .wait_for("picks", SCREEN_BOUND, |s| picks(s).map(|_| ()));
        let took = read_copy(k, "first pick's copy", |s| {
            picks(s).and_then(|p| p.into_iter().next())
        });
        // Browse: the next pick and a vote, the why panel and back.
        k.tmux.press(&["Right"]);
        k.tmux.press(&["+"]);
        k.tmux.press(&["?"]);
        k.tmux.wait_for("why panel", SCREEN_BOUND, |s| {
            s.contains("Why am I seeing this?").then_some(())
        });
        k.tmux.press(&["Escape"]);
        k.tmux.wait_for("picks again", SCREEN_BOUND, |s| {
            (!s.contains("Why am I seeing this?"))
                .then(|| picks(s))
                .flatten()
        });
        // A product off the shelf.
        scan_product(k, &skus[rng.below(skus.len())]);
        took
    };
    if n % 7 == 6 {
        // Walks away: the session times out.
        k.tmux
            .wait_for("attract loop after the timeout", SCREEN_BOUND, |s| {
                s.contains("shelftalk · Welcome").then_some(())
            });
    } else {
        k.tmux.press(&["d"]);
        k.tmux.wait_for("attract loop", SCREEN_BOUND, |s| {
            s.contains("shelftalk · Welcome").then_some(())
        });
    }
    first
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

/// Runs the soak for `secs` of shoppers, sampling every `every`; writes the CSV and checks the
/// bounds.
fn soak(name: &str, secs: u64, every: Duration) {
    let Some(model) = common::model() else { return };
    let _one = common::one_model_at_a_time();
    let out_dir = common::root().join("target/soak");
    std::fs::create_dir_all(&out_dir).unwrap();
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stderr = out_dir.join(format!("{name}-{unix}.stderr"));
    let csv_path = out_dir.join(format!("{name}-{unix}.csv"));
    let mut k = Kiosk::start_with_stderr(
        &model,
        &[
            ("SHELFTALK_SESSION_TIMEOUT_SECS", SESSION_TIMEOUT),
            ("SHELFTALK_POS_POLL_SECS", "1"),
            ("SHELFTALK_SYNC_INTERVAL_SECS", "10"),
            ("SHELFTALK_COPY_CACHE_TTL_SECS", "300"),
        ],
        Some(&stderr),
    );
    let codes = column("events.csv", 7);
    let skus = column("catalog.csv", 0);
    for code in &codes {
        k.tmux.forbid(code);
        k.tmux
            .forbid(code.trim_start_matches(|c: char| c.is_ascii_alphabetic()));
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!(
        "soak {name}: {secs} s of shoppers, a sample every {every:?}; load average at start: {}",
        load.trim()
    );
    let mut csv = std::fs::File::create(&csv_path).unwrap();
    writeln!(csv, "{}", Sample::HEADER).unwrap();

    let started = Instant::now();
    let mut rng = Lcg(0x005e_ed18);
    let mut samples: Vec<Sample> = Vec::new();
    let mut first_copy: Vec<f64> = Vec::new();
    let mut visits = 0usize;
    let mut next_sample = Instant::now();
    let mut baseline: Option<Sample> = None;
    while started.elapsed() < Duration::from_secs(secs) {
        first_copy.push(visit(&k, visits, &codes, &skus, &mut rng).as_secs_f64() * 1e3);
        visits += 1;
        if baseline.is_none() || Instant::now() >= next_sample {
            let s = sample(&mut k, started, visits);
            eprintln!("{}", s.csv());
            writeln!(csv, "{}", s.csv()).unwrap();
            baseline.get_or_insert_with(|| s.clone());
            samples.push(s);
            next_sample = Instant::now() + every;
        }
    }
    let end = sample(&mut k, started, visits);
    writeln!(csv, "{}", end.csv()).unwrap();
    samples.push(end.clone());
    let baseline = baseline.expect("at least one visit");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    // The daemon stops cleanly and said nothing of a panic.
    k.terminate();
    let status = k.wait_exit(SCREEN_BOUND);
    let errors = std::fs::read_to_string(&stderr).unwrap_or_default();

    first_copy.sort_by(f64::total_cmp);
    let days = visits as f64 / VISITS_PER_DAY;
    let db_growth = end.db_bytes as f64 - baseline.db_bytes as f64;
    let db_mib_per_day = db_growth / (1024.0 * 1024.0) / days.max(f64::EPSILON);
    let rss_max = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let wal_max = samples.iter().map(|s| s.wal_bytes).max().unwrap_or(0) as f64 / 1048576.0;
    let fds_max = samples.iter().map(|s| s.fds).max().unwrap_or(0);
    let summary = format!(
        "SOAK {name}: {:.0} s, {visits} visits ({days:.2} simulated days at {VISITS_PER_DAY} visits/day); \
         RSS {:.1} MiB after the first visit -> {:.1} MiB at the end (max {:.1}); \
         fds {} -> {} (max {fds_max}); \
         database {:.2} MiB -> {:.2} MiB ({db_mib_per_day:.2} MiB per simulated day), WAL max {wal_max:.2} MiB; \
         copy worker latency p50 {:.0} ms, p99 {:.0} ms over its last {} of {} jobs; \
         first copy complete on screen p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms over {} visits; \
         copy fell back to template {} times; exit {status}; load average at end: {}",
        end.secs,
        baseline.rss_kib as f64 / 1024.0,
        end.rss_kib as f64 / 1024.0,
        rss_max as f64 / 1024.0,
        baseline.fds,
        end.fds,
        baseline.db_bytes as f64 / 1048576.0,
        end.db_bytes as f64 / 1048576.0,
        end.copy_p50_ms,
        end.copy_p99_ms,
        end.copy_samples,
        end.copy_answered,
        percentile(&first_copy, 0.5),
        percentile(&first_copy, 0.99),
        first_copy.last().copied().unwrap_or(0.0),
        first_copy.len(),
        end.fell_back,
        load.trim(),
    );
    eprintln!("{summary}\nCSV: {}", csv_path.display());
    writeln!(csv, "# {summary}").unwrap();

    assert!(!errors.contains("panicked"), "a panic:\n{errors}");
    assert_eq!(status, 0, "daemon exit status; standard error:\n{errors}");
    let rss_growth = (rss_max as f64 - baseline.rss_kib as f64) / 1024.0;
    assert!(
        rss_growth <= RSS_GROWTH_MIB,
        "resident memory grew {rss_growth:.1} MiB (bound {RSS_GROWTH_MIB})"
    );
    assert!(
        fds_max - baseline.fds <= FD_GROWTH,
        "open file descriptors grew from {} to {fds_max} (bound +{FD_GROWTH})",
        baseline.fds
    );
    let db_bound = DB_MIB_PER_DAY * days + DB_SLACK_MIB;
    assert!(
        db_growth / 1048576.0 <= db_bound,
        "database grew {:.2} MiB in {days:.2} simulated days ({db_mib_per_day:.2} MiB a day; bound {db_bound:.2} MiB)",
        db_growth / 1048576.0
    );
    assert!(
        wal_max <= WAL_MIB,
        "write-ahead log reached {wal_max:.2} MiB (bound {WAL_MIB})"
    );
    let p99_bound = (BUDGET + SLACK).as_secs_f64() * 1e3;
    assert!(
        end.copy_p99_ms <= p99_bound,
        "copy worker p99 {:.0} ms (bound {p99_bound:.0} ms)",
        end.copy_p99_ms
    );
}

/// The CI version: about 75 s of shoppers, a sample every 10 s.
#[test]
fn soak_short() {
    soak("short", 75, Duration::from_secs(10));
}

/// The long run: `SOAK_SECS` (default 1200) of shoppers, a sample every `SOAK_EVERY_SECS`
/// (default 60). `scripts/soak.sh` runs it.
#[test]
#[ignore = "long: run with scripts/soak.sh or --ignored"]
fn soak_long() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    soak(
        "long",
        env("SOAK_SECS", 1200),
        Duration::from_secs(env("SOAK_EVERY_SECS", 60)),
    );
}
