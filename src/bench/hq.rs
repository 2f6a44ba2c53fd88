//! `shelftalk bench hq`: HQ at fleet scale, on SQLite and on PostgreSQL in one run, each figure
//! beside the other backend's measured in the same run.
//!
//! Per backend, on a fresh database (SQLite: a file in a scratch directory; PostgreSQL: the
//! database `--database-url` names, which must hold no kiosks, else a throwaway cluster started
//! for the run, fsync on and `synchronous_commit=off` like SQLite's WAL with
//! `synchronous=NORMAL`, see [`crate::hq::pg_cluster`]):
//! 1. Ingest: `kiosks` simulated kiosks, each with its own Ed25519 key, enrolled; a real HQ
//!    server on 127.0.0.1 port 0; `connections` concurrent senders (one HTTP connection each,
//!    through the kiosk's own [`HqClient`]) post `batches` signed batches of `cells` cells in
//!    all, each kiosk's in sequence order (one batch = one closed day of the kiosk). Both
//!    backends' HQ run from the start, and the ingest goes in [`ROUNDS`] rounds per backend
//!    (a share of every kiosk's sequence numbers each), the backends taking turns A B B A A B,
//!    so that a machine whose speed drifts during the run (shared hosts do, by tens of per cent
//!    within minutes) weighs on both alike. Figures: accepted batches/s over all rounds and
//!    round by round (signing on the kiosk side included: it shares the machine), p50/p99
//!    latency of one POST (n stated). Every batch must be answered `accepted`,
//!    and HQ's totals must equal the sum of what the kiosks were acknowledged: otherwise the run
//!    fails.
//! 2. The store × day report over HTTP (`/v1/reports/feedback?group_by=store,day`), p50 of
//!    `report_runs`.
//! 3. Scale: cells are added until the roll-up holds `report_cells` cells, through
//!    [`HqStore::ingest`] itself (batches of up to [`MAX_CELLS`] cells, two threads, received
//!    past the raw-batch retention; the retention sweep empties their documents as loading goes,
//!    as it does for a fleet's older months), the totals are checked again, then the store × day
//!    query ([`HqStore::grouped`]) and the whole report over HTTP are timed (p50 of
//!    `report_runs`; target < 1 s). On PostgreSQL the roll-up is vacuumed and analysed first
//!    ([`settle`]), as autovacuum keeps a database that grew over months.
//!
//! Invariants: scratch directories and throwaway clusters are removed afterwards; nothing is
//! written to a database that already holds kiosks; kiosk ids and keys are the bench's own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::Serialize;

use crate::bench::{step, BenchError, Scratch};
use crate::copy::bench::percentile;
use crate::feedback::cells::{Cell, Counts, Day, Ipw};
use crate::hq::key::HqKey;
use crate::hq::pg::{PgHq, PgOptions};
use crate::hq::pg_cluster::{Durability, PgCluster};
use crate::hq::store::{Dim, HqStore, IngestBatch, IngestOutcome, SqliteHq};
use crate::hq::{self, report, retention, ServeOptions};
use crate::sync::client::{Backoff, HqClient, HqTrust};
use crate::vocab::Style;
use crate::wire::{BatchDocument, Dropped, BATCH_VERSION, MAX_CELLS};

/// What to run.
#[derive(Debug, Clone)]
pub struct HqBenchOptions {
    pub kiosks: usize,
    /// Batches posted over HTTP in all (a fixed count, spread evenly over the kiosks).
    pub batches: u64,
    /// Cells per batch (and per kiosk-day).
    pub cells: usize,
    /// Concurrent HTTP connections.
    pub connections: usize,
    /// Cells the roll-up holds when the large report is timed.
    pub report_cells: u64,
    /// Runs of each report timing.
    pub report_runs: usize,
    /// PostgreSQL to use instead of a throwaway cluster (it must hold no kiosks).
    pub database_url: Option<String>,
    /// Show progress bars on stderr.
    pub progress: bool,
}

impl Default for HqBenchOptions {
    fn default() -> Self {
        Self {
            kiosks: 1_000,
            batches: 20_000,
            cells: 100,
            connections: 32,
            report_cells: 10_000_000,
            report_runs: 11,
            database_url: None,
            progress: false,
        }
    }
}

/// Kiosks per store.
const KIOSKS_PER_STORE: usize = 10;
/// The large report's target.
const TARGET_REPORT_MS: f64 = 1_000.0;
/// Loading threads of the scale phase.
const LOADERS: usize = 2;
/// Ingest rounds per backend (the kiosks' sequence numbers split evenly), taken in turns.
const ROUNDS: u64 = 6;

/// The figures of one backend.
#[derive(Debug, Clone, Serialize)]
pub struct BackendFigures {
    pub backend: &'static str,
    /// Where the data went.
    pub database: String,
    pub accepted_batches: u64,
    pub failed_batches: u64,
    pub ingest_secs: f64,
    pub accepted_batches_per_sec: f64,
    /// Accepted batches/s of each ingest round, in round order.
    pub round_batches_per_sec: Vec<f64>,
    pub ingest_cells_per_sec: f64,
    pub ingest_ms_p50: f64,
    pub ingest_ms_p99: f64,
    /// Latency samples (one per POST).
    pub ingest_samples: usize,
    /// HQ's totals equal the sum of what the kiosks were acknowledged (checked; the run fails
    /// otherwise).
    pub totals_match: bool,
    /// Store × day report over HTTP after the ingest phase.
    pub report_ms_p50: f64,
    pub report_rows: usize,
    pub report_runs: usize,
    /// Cells added by the scale phase, how, and how fast.
    pub loaded_cells: u64,
    pub load_method: &'static str,
    pub load_secs: f64,
    pub load_cells_per_sec: f64,
    /// Cells the roll-up holds for the large report.
    pub large_report_cells: u64,
    /// The store × day query alone ([`HqStore::grouped`]), and the whole report over HTTP (with
    /// the 95 % intervals: four Beta quantiles per row, the same work whatever the cells).
    pub large_query_ms_p50: f64,
    pub large_report_ms_p50: f64,
    pub large_report_rows: usize,
    pub target_report_ms: f64,
}

/// The figures of one run.
#[derive(Debug, Clone, Serialize)]
pub struct HqBenchReport {
    pub kiosks: usize,
    pub stores: usize,
    pub batches: u64,
    pub cells_per_batch: usize,
    pub connections: usize,
    pub backends: Vec<BackendFigures>,
    /// PostgreSQL's accepted batches/s over SQLite's, this run, over all rounds (target >= 1).
    pub postgres_over_sqlite_ingest: f64,
    /// The same ratio round by round (each pair of turns taken back to back).
    pub round_ratios: Vec<f64>,
}

impl HqBenchReport {
    pub fn render(&self) -> String {
        let mut out = format!(
            "shelftalk bench hq: {} kiosks in {} stores, {} signed batches of {} cells over {} \
             HTTP connections on loopback",
            self.kiosks, self.stores, self.batches, self.cells_per_batch, self.connections
        );
        for b in &self.backends {
            out.push_str(&format!(
                "\n{} ({})\n  ingest          {:.0} batches/s ({:.0} cells/s), p50 {:.1} ms, \
                 p99 {:.1} ms (n = {}); {} accepted, {} failed, HQ totals = acknowledged: {}\n  \
                 report store×day {:.1} ms p50 ({} rows, n = {})\n  \
                 scale           {} cells loaded in {:.1} s ({:.0} cells/s; {})\n  \
                 report over {} cells ({} rows, n = {}): store×day query {:.1} ms p50, \
                 whole report over HTTP with its intervals {:.1} ms p50; target < {:.0} ms: \
                 query {}, whole report {}",
                b.backend,
                b.database,
                b.accepted_batches_per_sec,
                b.ingest_cells_per_sec,
                b.ingest_ms_p50,
                b.ingest_ms_p99,
                b.ingest_samples,
                b.accepted_batches,
                b.failed_batches,
                if b.totals_match { "yes" } else { "NO" },
                b.report_ms_p50,
                b.report_rows,
                b.report_runs,
                b.loaded_cells,
                b.load_secs,
                b.load_cells_per_sec,
                b.load_method,
                b.large_report_cells,
                b.large_report_rows,
                b.report_runs,
                b.large_query_ms_p50,
                b.large_report_ms_p50,
                b.target_report_ms,
                verdict(b.large_query_ms_p50 < b.target_report_ms),
                verdict(b.large_report_ms_p50 < b.target_report_ms),
            ));
        }
        let rounds: Vec<String> = self
            .round_ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect();
        out.push_str(&format!(
            "\nPostgreSQL / SQLite accepted batches/s: {:.2} (target >= 1: {}); round by round, \
             turns alternating: {}",
            self.postgres_over_sqlite_ingest,
            verdict(self.postgres_over_sqlite_ingest >= 1.0),
            rounds.join(", ")
        ));
        out
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "ok"
    } else {
        "MISSED"
    }
}

/// A simulated kiosk.
struct SimKiosk {
    id: String,
    store: String,
    key: Ed25519KeyPair,
    /// Batches it posts over HTTP.
    batches: u64,
}

const SEGMENTS: [&str; 6] = [
    "footwear:low",
    "footwear:mid",
    "footwear:high",
    "outdoor:mid",
    "outdoor:high",
    "all",
];

/// Cell `i` of kiosk `k` on `day`: 4 styles × 6 segments × 2 content kinds, so a store-day has
/// up to 48 roll-up rows; counts vary with the kiosk, day and cell.
fn cell(k: usize, day: Day, i: usize) -> Cell {
    let v = (k as u64)
        .wrapping_mul(31)
        .wrapping_add(day.0.unsigned_abs().wrapping_mul(7))
        .wrapping_add(i as u64 * 13);
    let impressions = 10 + v % 40;
    let taps = impressions / 5;
    Cell {
        day,
        sku: format!("SKU{:05}", i % 1_000),
        style: Style::ALL[i % 4].as_str().into(),
        segment: SEGMENTS[(i / 4) % 6].into(),
        content_kind: ["blurb", "why"][(i / 24) % 2].into(),
        // One cell in ten from the holdout, as with the default `experiment.holdout_share`.
        arm: if i % 10 == 9 {
            crate::experiment::HOLDOUT
        } else {
            crate::experiment::PERSONALISED
        }
        .into(),
        sessions: 5 + v % 7,
        counts: Counts {
            impressions,
            taps,
            thumbs_up: v % 3,
            thumbs_down: v % 2,
            whys: v % 4,
            opt_outs: u64::from(v % 50 == 0),
            dwells: impressions / 2,
            dwell_ms: impressions / 2 * 1_500,
            conversions: taps / 4,
        },
        ipw: Ipw {
            impressions: impressions as f64 * 4.0,
            taps: taps as f64 * 4.0,
            conversions: (taps / 4) as f64 * 4.0,
        },
    }
}

fn batch(kiosk: &SimKiosk, seq: u64, cells: Vec<Cell>, today: Day) -> BatchDocument {
    BatchDocument {
        version: BATCH_VERSION,
        batch_id: uuid::Uuid::new_v4().to_string(),
        kiosk_id: kiosk.id.clone(),
        store_id: kiosk.store.clone(),
        seq,
        created_day: today,
        software: env!("CARGO_PKG_VERSION").into(),
        k_anonymity: 5,
        noise_epsilon: 0.0,
        dropped: Dropped::default(),
        cells,
    }
}

fn sum_cells(cells: &[Cell]) -> Counts {
    let mut c = Counts::default();
    for cell in cells {
        c += cell.counts;
    }
    c
}

fn bar(progress: bool, len: u64, what: &str) -> indicatif::ProgressBar {
    if !progress {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:32} [{bar:30}] {pos}/{len} ({per_sec}, {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Runs the benchmark: both backends' HQ up, the ingest rounds in turns, then SQLite's report
/// and scale phases, then PostgreSQL's.
pub async fn run(opts: &HqBenchOptions) -> Result<HqBenchReport, BenchError> {
    if opts.kiosks == 0 || opts.cells == 0 || opts.connections == 0 || opts.report_runs == 0 {
        return Err(BenchError::Check(
            "kiosks, cells, connections and report runs must be at least 1".into(),
        ));
    }
    if opts.cells > MAX_CELLS {
        return Err(BenchError::Check(format!(
            "at most {MAX_CELLS} cells per batch (HQ's limit)"
        )));
    }
    let rng = crate::crypto::rng();
    let per_kiosk = opts.batches / opts.kiosks as u64;
    let extra = opts.batches % opts.kiosks as u64;
    let mut kiosks = Vec::with_capacity(opts.kiosks);
    for k in 0..opts.kiosks {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| BenchError::Failed("generating a kiosk key"))?;
        let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
            .map_err(|_| BenchError::Failed("reading a kiosk key"))?;
        kiosks.push(SimKiosk {
            id: format!("bench-kiosk-{k:04}"),
            store: format!("bench-store-{:03}", k / KIOSKS_PER_STORE),
            key,
            batches: per_kiosk + u64::from((k as u64) < extra),
        });
    }
    let kiosks = Arc::new(kiosks);
    let scratch = Scratch::new("hq")?;

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let today = Day::of(now);
    let sqlite: Arc<dyn HqStore> =
        Arc::new(SqliteHq::open(&scratch.0.join("hq.db")).map_err(step)?);
    let sqlite = Side::start(
        ("sqlite", "a temporary SQLite file".into(), None),
        sqlite,
        &kiosks,
        opts,
        now,
    )
    .await?;

    let (cluster, url, database) = match &opts.database_url {
        Some(url) => (
            None,
            url.clone(),
            "the database --database-url names".into(),
        ),
        None => {
            let cluster = tokio::task::spawn_blocking(|| {
                PgCluster::start("bench_hq", Durability::LikeSqlite)
            })
            .await
            .map_err(step)?
            .map_err(step)?;
            let url = cluster.url();
            (
                Some(cluster),
                url,
                "a throwaway cluster on a Unix socket, fsync on, synchronous_commit off".into(),
            )
        }
    };
    let vacuum_url = url.clone();
    let pg = tokio::task::spawn_blocking(move || PgHq::connect(&url, &PgOptions::default()))
        .await
        .map_err(step)?
        .map_err(step)?;
    let pg: Arc<dyn HqStore> = Arc::new(pg);
    let found = Arc::clone(&pg);
    if !tokio::task::spawn_blocking(move || found.kiosks())
        .await
        .map_err(step)?
        .map_err(step)?
        .is_empty()
    {
        return Err(BenchError::Check(
            "the PostgreSQL database already holds HQ kiosks; give the bench an empty scratch \
             database (it writes millions of cells)"
                .into(),
        ));
    }
    let postgres = Side::start(
        ("postgres", database, Some(vacuum_url)),
        Arc::clone(&pg),
        &kiosks,
        opts,
        now,
    )
    .await?;

    // 1. Ingest in rounds, the backends' turns alternating A B B A A B …, so that a machine
    // whose speed drifts during the run weighs on both alike.
    let mut sides = [sqlite, postgres];
    let most = kiosks.iter().map(|k| k.batches).max().unwrap_or(0);
    for r in 0..ROUNDS {
        let seqs = round_seqs(r, most);
        if seqs.is_empty() {
            continue;
        }
        let order = if r % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            sides[i].ingest(&kiosks, opts, seqs.clone(), today).await?;
        }
    }
    let [sqlite, postgres] = sides;
    let mut backends = vec![sqlite.finish(&kiosks, opts, now).await?];
    // Its connection is closed: the file's gigabytes go before PostgreSQL's arrive.
    for side in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(scratch.0.join(format!("hq.db{side}")));
    }
    backends.push(postgres.finish(&kiosks, opts, now).await?);
    // The store's connections go before the cluster they connect to.
    drop(pg);
    drop(cluster);

    let ratio = backends[1].accepted_batches_per_sec / backends[0].accepted_batches_per_sec;
    let round_ratios = backends[1]
        .round_batches_per_sec
        .iter()
        .zip(&backends[0].round_batches_per_sec)
        .map(|(p, s)| p / s)
        .collect();
    Ok(HqBenchReport {
        kiosks: opts.kiosks,
        stores: opts.kiosks.div_ceil(KIOSKS_PER_STORE),
        batches: opts.batches,
        cells_per_batch: opts.cells,
        connections: opts.connections,
        backends,
        postgres_over_sqlite_ingest: ratio,
        round_ratios,
    })
}

/// What the senders measured.
#[derive(Default)]
struct Sent {
    latencies_ms: Vec<f64>,
    accepted: u64,
    failed: u64,
    first_failure: Option<String>,
    acknowledged: Counts,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BenchError> + Send + 'static,
) -> Result<T, BenchError> {
    tokio::task::spawn_blocking(f).await.map_err(step)?
}

/// HQ's totals (from the roll-up) against what the kiosks were acknowledged.
async fn check_totals(
    store: &Arc<dyn HqStore>,
    expected: Counts,
    when: &str,
) -> Result<(), BenchError> {
    let store = Arc::clone(store);
    let at_hq = blocking(move || {
        Ok(report::build(store.as_ref(), None, None, &[])
            .map_err(step)?
            .totals)
    })
    .await?;
    if at_hq != expected {
        return Err(BenchError::Check(format!(
            "{when}: HQ totals {at_hq:?} differ from what the kiosks were acknowledged \
             {expected:?}"
        )));
    }
    Ok(())
}

/// p50 in ms of `runs` GETs of the store × day report; and its row count.
async fn time_report(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    runs: usize,
) -> Result<(f64, usize), BenchError> {
    let mut times = Vec::with_capacity(runs);
    let mut rows = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let resp = http
            .get(format!("{url}/v1/reports/feedback?group_by=store,day"))
            .bearer_auth(token)
            .send()
            .await
            .map_err(step)?;
        if !resp.status().is_success() {
            return Err(BenchError::Check(format!(
                "the report answered {}",
                resp.status()
            )));
        }
        let body: serde_json::Value = resp.json().await.map_err(step)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        rows = body["rows"].as_array().map_or(0, Vec::len);
    }
    Ok((percentile(times, 0.5), rows))
}

/// One backend while the bench runs: its store, its HQ server and what its senders measured.
struct Side {
    name: &'static str,
    database: String,
    vacuum_url: Option<String>,
    store: Arc<dyn HqStore>,
    url: String,
    token: String,
    client: HqClient,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), crate::hq::HqError>>,
    progress: indicatif::ProgressBar,
    sent: Sent,
    ingest_secs: f64,
    /// Accepted batches/s of each ingest round.
    rounds: Vec<f64>,
}

impl Side {
    /// Enrols the kiosks and starts HQ on the store.
    async fn start(
        (name, database, vacuum_url): (&'static str, String, Option<String>),
        store: Arc<dyn HqStore>,
        kiosks: &Arc<Vec<SimKiosk>>,
        opts: &HqBenchOptions,
        now: i64,
    ) -> Result<Self, BenchError> {
        {
            let (store, kiosks) = (Arc::clone(&store), Arc::clone(kiosks));
            blocking(move || {
                for k in kiosks.iter() {
                    store
                        .enroll(&k.id, &k.store, k.key.public_key().as_ref(), now)
                        .map_err(step)?;
                }
                Ok(())
            })
            .await?;
        }
        let token = {
            let store = Arc::clone(&store);
            blocking(move || hq::create_token(store.as_ref(), "bench", now, 1).map_err(step))
                .await?
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(step)?;
        let url = format!("http://{}", listener.local_addr().map_err(step)?);
        let answer_key = HqKey::ephemeral(&crate::crypto::rng()).map_err(step)?;
        let trust = HqTrust {
            url: url.clone(),
            ca_file: None,
            public_key: answer_key.public_key(),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        // HQ as it serves a fleet: signed answers (each verified by the sending kiosk's client)
        // and the default per-kiosk rate limit, which a kiosk's share of the batches stays
        // within.
        let server = tokio::spawn(hq::serve(
            listener,
            Arc::clone(&store),
            ServeOptions {
                answer_key: Some(Arc::new(answer_key)),
                ..ServeOptions::default()
            },
            async {
                let _ = stopped.await;
            },
        ));
        let client = HqClient::new(
            &trust,
            std::time::Duration::from_secs(60),
            Backoff::default(),
        )
        .map_err(step)?;
        Ok(Self {
            name,
            database,
            vacuum_url,
            store,
            url,
            token,
            client,
            stop,
            server,
            progress: bar(
                opts.progress,
                opts.batches,
                &format!("{name}: ingest over HTTP"),
            ),
            sent: Sent::default(),
            ingest_secs: 0.0,
            rounds: Vec::new(),
        })
    }

    /// One ingest round over HTTP: sender w of W posts the batches with a sequence number in
    /// `seqs` for kiosks w, w + W, …, each kiosk's in sequence order, one day per batch ending
    /// yesterday.
    async fn ingest(
        &mut self,
        kiosks: &Arc<Vec<SimKiosk>>,
        opts: &HqBenchOptions,
        seqs: std::ops::RangeInclusive<u64>,
        today: Day,
    ) -> Result<(), BenchError> {
        let senders = opts.connections.min(kiosks.len());
        let most = kiosks.iter().map(|k| k.batches).max().unwrap_or(0);
        let start = Instant::now();
        let mut tasks = Vec::with_capacity(senders);
        for w in 0..senders {
            let (client, kiosks, progress) = (
                self.client.clone(),
                Arc::clone(kiosks),
                self.progress.clone(),
            );
            let (cells, seqs) = (opts.cells, seqs.clone());
            tasks.push(tokio::spawn(async move {
                let mut mine = Sent::default();
                for seq in seqs {
                    let day = Day(today.0 - 1 - (most - seq) as i64);
                    for (k, kiosk) in kiosks.iter().enumerate().skip(w).step_by(senders) {
                        if seq > kiosk.batches {
                            continue;
                        }
                        let doc = batch(
                            kiosk,
                            seq,
                            (0..cells).map(|i| cell(k, day, i)).collect(),
                            today,
                        );
                        let (bytes, signature) = doc.sign(&kiosk.key).map_err(step)?;
                        let posted = Instant::now();
                        let answer = client
                            .post_batch_once(&kiosk.id, &bytes, &signature, 0)
                            .await;
                        mine.latencies_ms.push(posted.elapsed().as_secs_f64() * 1e3);
                        match answer {
                            Ok(ack) if ack.status == "accepted" && ack.batch_id == doc.batch_id => {
                                mine.accepted += 1;
                                mine.acknowledged += sum_cells(&doc.cells);
                            }
                            Ok(ack) => {
                                mine.failed += 1;
                                mine.first_failure
                                    .get_or_insert(format!("answered {:?}", ack.status));
                            }
                            Err(e) => {
                                mine.failed += 1;
                                mine.first_failure.get_or_insert(e.to_string());
                            }
                        }
                        progress.inc(1);
                    }
                }
                Ok::<Sent, BenchError>(mine)
            }));
        }
        let mut accepted = 0;
        for t in tasks {
            let mine = t.await.map_err(step)??;
            self.sent.latencies_ms.extend(mine.latencies_ms);
            accepted += mine.accepted;
            self.sent.accepted += mine.accepted;
            self.sent.failed += mine.failed;
            self.sent.acknowledged += mine.acknowledged;
            if self.sent.first_failure.is_none() {
                self.sent.first_failure = mine.first_failure;
            }
        }
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        self.ingest_secs += secs;
        self.rounds.push(accepted as f64 / secs);
        Ok(())
    }

    /// After the ingest rounds: the checks, the store × day report, the scale phase and the
    /// large report; stops HQ.
    async fn finish(
        self,
        kiosks: &Arc<Vec<SimKiosk>>,
        opts: &HqBenchOptions,
        now: i64,
    ) -> Result<BackendFigures, BenchError> {
        let Side {
            name,
            database,
            vacuum_url,
            store,
            url,
            token,
            stop,
            server,
            progress,
            sent,
            ingest_secs,
            rounds,
            ..
        } = self;
        progress.finish_and_clear();
        if sent.failed > 0 || sent.accepted != opts.batches {
            return Err(BenchError::Check(format!(
                "{name}: {} of {} batches failed (first: {})",
                sent.failed,
                opts.batches,
                sent.first_failure.as_deref().unwrap_or("none")
            )));
        }
        check_totals(&store, sent.acknowledged, name).await?;
        let stored_batches = {
            let store = Arc::clone(&store);
            blocking(move || {
                Ok(store
                    .kiosks()
                    .map_err(step)?
                    .iter()
                    .map(|k| k.batches)
                    .sum::<u64>())
            })
            .await?
        };
        if stored_batches != sent.accepted {
            return Err(BenchError::Check(format!(
                "{name}: HQ counts {stored_batches} batches, the kiosks were acknowledged {}",
                sent.accepted
            )));
        }

        // 2. The store × day report over what was ingested.
        let http = reqwest::Client::new();
        let (report_ms_p50, report_rows) =
            time_report(&http, &url, &token, opts.report_runs).await?;

        // 3. Scale: the roll-up grows to `report_cells` cells through the store's own ingest.
        let ingested = opts.batches * opts.cells as u64;
        let to_load = opts.report_cells.saturating_sub(ingested);
        let (loaded, load_secs) = load(&store, kiosks, opts, to_load, now, name).await?;
        let mut expected = sent.acknowledged;
        expected += loaded;
        check_totals(&store, expected, name).await?;
        if let Some(url) = vacuum_url {
            settle(&url).await?;
        }
        let large_query_ms_p50 = {
            let (store, runs) = (Arc::clone(&store), opts.report_runs);
            blocking(move || {
                let mut times = Vec::with_capacity(runs);
                for _ in 0..runs {
                    let start = Instant::now();
                    store
                        .grouped(None, None, &[Dim::Store, Dim::Day])
                        .map_err(step)?;
                    times.push(start.elapsed().as_secs_f64() * 1e3);
                }
                Ok(percentile(times, 0.5))
            })
            .await?
        };
        let (large_report_ms_p50, large_report_rows) =
            time_report(&http, &url, &token, opts.report_runs).await?;
        let _ = stop.send(());
        server.await.map_err(step)?.map_err(step)?;
        let ingest_secs = ingest_secs.max(1e-9);
        Ok(BackendFigures {
            backend: name,
            database,
            accepted_batches: sent.accepted,
            failed_batches: sent.failed,
            ingest_secs,
            accepted_batches_per_sec: sent.accepted as f64 / ingest_secs,
            round_batches_per_sec: rounds,
            ingest_cells_per_sec: ingested as f64 / ingest_secs,
            ingest_ms_p50: percentile(sent.latencies_ms.clone(), 0.5),
            ingest_ms_p99: percentile(sent.latencies_ms.clone(), 0.99),
            ingest_samples: sent.latencies_ms.len(),
            totals_match: true,
            report_ms_p50,
            report_rows,
            report_runs: opts.report_runs,
            loaded_cells: to_load,
            load_method: "HqStore::ingest, batches of up to 10,000 cells on 2 threads, received \
                          past the retention; the retention sweep emptied their documents as \
                          loading went",
            load_secs,
            load_cells_per_sec: to_load as f64 / load_secs.max(1e-9),
            large_report_cells: ingested + to_load,
            large_query_ms_p50,
            large_report_ms_p50,
            large_report_rows,
            target_report_ms: TARGET_REPORT_MS,
        })
    }
}

/// The sequence numbers of ingest round `r` of [`ROUNDS`] when each kiosk sends at most `most`
/// batches (empty for a round with none).
fn round_seqs(r: u64, most: u64) -> std::ops::RangeInclusive<u64> {
    (r * most / ROUNDS + 1)..=((r + 1) * most / ROUNDS)
}

/// Adds `cells` cells through [`HqStore::ingest`] (see the module docs); returns their counts
/// and the seconds it took.
/// Vacuums and analyses the roll-up before the large report is timed: the bulk load put months
/// of a fleet's cells there in two minutes, and autovacuum, which keeps a database that grew
/// over months vacuumed and its statistics current, would otherwise be timed with the report
/// (it runs when it likes, on the same two cores: the query took 284–879 ms between runs).
/// SQLite has no such step to wait for.
async fn settle(url: &str) -> Result<(), BenchError> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(step)?;
    let connection = tokio::spawn(connection);
    client
        .batch_execute("VACUUM (ANALYZE) rollup_store_day, rollup_kiosk_day")
        .await
        .map_err(step)?;
    drop(client);
    let _ = connection.await;
    Ok(())
}

async fn load(
    store: &Arc<dyn HqStore>,
    kiosks: &Arc<Vec<SimKiosk>>,
    opts: &HqBenchOptions,
    cells: u64,
    now: i64,
    name: &str,
) -> Result<(Counts, f64), BenchError> {
    // Each load batch is `days` whole kiosk-days before the ingest phase's, one kiosk's.
    let days = (MAX_CELLS / opts.cells).max(1);
    let per_batch = (days * opts.cells) as u64;
    let batches = cells.div_ceil(per_batch);
    let first_day = Day::of(now).0 - 1 - (opts.batches / opts.kiosks as u64 + 1) as i64;
    let received = now - (i64::from(retention::DEFAULT_RAW_RETENTION_DAYS) + 10) * 86_400;
    let progress = bar(opts.progress, cells, &format!("{name}: load the roll-up"));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let (store, kiosks, opts_cells) = (Arc::clone(store), Arc::clone(kiosks), opts.cells);
    let counted = Arc::clone(&done);
    let totals = blocking(move || {
        let kiosk_count = kiosks.len() as u64;
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..LOADERS as u64)
                .map(|w| {
                    let (store, kiosks, progress, done) = (&store, &kiosks, &progress, &counted);
                    s.spawn(move || -> Result<Counts, BenchError> {
                        let mut counts = Counts::default();
                        let mut since_sweep = 0;
                        // Batch b is kiosk b % K's (b / K)-th block: each kiosk is one worker's.
                        for b in (0..batches).filter(|b| (b % kiosk_count) % LOADERS as u64 == w) {
                            let k = (b % kiosk_count) as usize;
                            let block = b / kiosk_count;
                            let kiosk = &kiosks[k];
                            let n = per_batch.min(cells - b * per_batch) as usize;
                            let list: Vec<Cell> = (0..n)
                                .map(|j| {
                                    let d = (j / opts_cells) as i64;
                                    let day = Day(first_day - block as i64 * days as i64 - d);
                                    cell(k, day, j % opts_cells)
                                })
                                .collect();
                            let doc = batch(kiosk, kiosk.batches + 1 + block, list, Day::of(now));
                            let (bytes, signature) = doc.sign(&kiosk.key).map_err(step)?;
                            let outcome = store
                                .ingest(&IngestBatch {
                                    doc: &doc,
                                    bytes: &bytes,
                                    signature: &signature,
                                    backlog: 0,
                                    now: received,
                                })
                                .map_err(step)?;
                            if outcome != IngestOutcome::Accepted {
                                return Err(BenchError::Check(format!(
                                    "loading: a batch was answered {outcome:?}"
                                )));
                            }
                            counts += sum_cells(&doc.cells);
                            progress.inc(n as u64);
                            done.fetch_add(n as u64, Ordering::Relaxed);
                            since_sweep += n;
                            if since_sweep >= 1_000_000 {
                                retention::sweep(
                                    store.as_ref(),
                                    retention::DEFAULT_RAW_RETENTION_DAYS,
                                    now,
                                )
                                .map_err(step)?;
                                since_sweep = 0;
                            }
                        }
                        Ok(counts)
                    })
                })
                .collect();
            let mut total = Counts::default();
            for w in workers {
                total += w
                    .join()
                    .map_err(|_| BenchError::Failed("a loading thread panicked"))??;
            }
            retention::sweep(store.as_ref(), retention::DEFAULT_RAW_RETENTION_DAYS, now)
                .map_err(step)?;
            progress.finish_and_clear();
            Ok(total)
        })
    })
    .await?;
    if done.load(Ordering::Relaxed) != cells {
        return Err(BenchError::Check(format!(
            "loaded {} of {cells} cells",
            done.load(Ordering::Relaxed)
        )));
    }
    Ok((totals, start.elapsed().as_secs_f64()))
}
