//! `shelftalk bench sync`: a week offline — `events` feedback events recorded on a real kiosk
//! store — aggregated and synced to a real HQ on loopback; then HQ ingest throughput alone.
//!
//! Invariants: works in a scratch directory deleted afterwards; the HQ is in-process on port 0;
//! the run fails unless HQ's totals equal what the kiosk sent.

use std::sync::Arc;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::bench::{step, BenchError, Scratch};
use crate::config::Config;
use crate::crypto::keyfiles::KeyDir;
use crate::feedback::cells::{Cell, Counts, Day, Ipw};
use crate::feedback::{
    record_impression, record_interaction, record_purchase, Impression, Interaction,
    InteractionKind, SessionToken,
};
use crate::hq::key::HqKey;
use crate::hq::store::{HqStore, SqliteHq};
use crate::hq::{self, ServeOptions};
use crate::store::Store;
use crate::sync::client::HqTrust;
use crate::sync::{run_once, status, SyncContext, SyncError};
use crate::vocab::Style;
use crate::wire::{BatchDocument, Dropped, BATCH_VERSION};

/// The figures of one run.
#[derive(Debug, Clone, Serialize)]
pub struct SyncBenchReport {
    pub events: u64,
    pub impressions: u64,
    pub record_secs: f64,
    pub record_events_per_sec: f64,
    /// Closing cells, signing batches and sending them to HQ until acknowledged.
    pub aggregate_and_sync_secs: f64,
    pub target_secs: f64,
    pub cells: usize,
    pub batches: u64,
    pub withheld_impressions: u64,
    pub hq_ingest_batches: u64,
    pub hq_ingest_cells_per_batch: usize,
    pub hq_ingest_batches_per_sec: f64,
    pub hq_ingest_cells_per_sec: f64,
}

impl SyncBenchReport {
    pub fn render(&self) -> String {
        format!(
            "shelftalk bench sync\n\
             record     {} events ({} impressions) in {:.2} s ({:.0} events/s)\n\
             aggregate + sync to HQ: {:.2} s for {} cells in {} batches (target < {:.0} s: {})\n\
             k-anonymity withheld {} impressions\n\
             HQ ingest  {} batches of {} cells from 4 kiosks: {:.0} batches/s ({:.0} cells/s)",
            self.events,
            self.impressions,
            self.record_secs,
            self.record_events_per_sec,
            self.aggregate_and_sync_secs,
            self.cells,
            self.batches,
            self.target_secs,
            if self.aggregate_and_sync_secs < self.target_secs {
                "ok"
            } else {
                "MISSED"
            },
            self.withheld_impressions,
            self.hq_ingest_batches,
            self.hq_ingest_cells_per_batch,
            self.hq_ingest_batches_per_sec,
            self.hq_ingest_cells_per_sec,
        )
    }
}

const SKUS: usize = 300;
const SEGMENTS: [&str; 6] = [
    "footwear:low",
    "footwear:mid",
    "footwear:high",
    "outdoor:mid",
    "outdoor:high",
    "all",
];

/// Records about `events` events over the 7 closed days before `now`; returns (events,
/// impressions).
fn record_week(
    store: &mut Store,
    events: u64,
    now: i64,
    window: u64,
) -> Result<(u64, u64), BenchError> {
    let mut rng = StdRng::seed_from_u64(42);
    let last = crate::feedback::first_open_day(now, window, &jiff::tz::TimeZone::UTC).0 - 1;
    let tx = store.conn_mut().transaction()?;
    let (mut n, mut impressions) = (0u64, 0u64);
    let skus: Vec<String> = (0..SKUS).map(|i| format!("SKU{i:05}")).collect();
    while n < events {
        let session = SessionToken::from_bytes(rng.random());
        let day = last - rng.random_range(0..7);
        let at = Day(day).start() + rng.random_range(8 * 3600..20 * 3600);
        let segment = SEGMENTS[rng.random_range(0..SEGMENTS.len())];
        for _ in 0..3 {
            let sku = &skus[rng.random_range(0..SKUS)];
            let style = Style::ALL[rng.random_range(0..4)];
            record_impression(
                &tx,
                &Impression {
                    at,
                    session: &session,
                    sku,
                    style,
                    style_probability: 0.25,
                    segment,
                    content_kind: "blurb",
                    arm: crate::experiment::PERSONALISED,
                    arm_propensity: 1.0,
                },
            )
            .map_err(step)?;
            n += 1;
            impressions += 1;
            let it = |kind| Interaction {
                at: at + 5,
                session: &session,
                sku,
                style,
                kind,
            };
            record_interaction(&tx, &it(InteractionKind::Dwell { ms: 2000 })).map_err(step)?;
            n += 1;
            if rng.random_bool(0.1) {
                record_interaction(&tx, &it(InteractionKind::Tap)).map_err(step)?;
                n += 1;
                if rng.random_bool(0.2)
                    && record_purchase(&tx, at + 600, sku, window).map_err(step)?
                {
                    n += 1;
                }
            }
        }
    }
    tx.commit()?;
    Ok((n, impressions))
}

/// Runs the benchmark with about `events` recorded events.
pub async fn run(events: u64) -> Result<SyncBenchReport, BenchError> {
    let scratch = Scratch::new("sync")?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let hq_store: Arc<dyn HqStore> =
        Arc::new(SqliteHq::open(&scratch.0.join("hq.db")).map_err(step)?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(step)?;
    let addr = listener.local_addr().map_err(step)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // HQ's answer key lives only as long as this run.
    let answer_key = HqKey::ephemeral(&crate::crypto::rng()).map_err(step)?;
    let hq_trust = HqTrust {
        url: format!("http://{addr}"),
        ca_file: None,
        public_key: answer_key.public_key(),
    };
    let server = tokio::spawn(hq::serve(
        listener,
        Arc::clone(&hq_store),
        // HQ's own ingest throughput is measured: four kiosks sending as fast as they can would
        // otherwise be held to the per-kiosk rate limit.
        ServeOptions {
            kiosk_rate: None,
            answer_key: Some(Arc::new(answer_key)),
            ..ServeOptions::default()
        },
        async {
            let _ = stopped.await;
        },
    ));

    let config = Config {
        data_dir: scratch.0.join("kiosk"),
        kiosk_id: "bench-kiosk".into(),
        store_id: "bench-store".into(),
        hq_url: hq_trust.url.clone(),
        hq_public_key: Some(crate::crypto::hex(&hq_trust.public_key)),
        outbox_max_batches: 100_000,
        ..Config::default()
    };
    let keys = KeyDir::new(config.key_dir())
        .init(&crate::crypto::rng())
        .map_err(step)?;
    hq_store
        .enroll(
            &config.kiosk_id,
            &config.store_id,
            ring::signature::KeyPair::public_key(&keys.device).as_ref(),
            now,
        )
        .map_err(step)?;
    let mut store = Store::open(&config.db_path())?;
    let start = Instant::now();
    let (recorded, impressions) =
        record_week(&mut store, events, now, config.conversion_window_secs)?;
    let record_secs = start.elapsed().as_secs_f64();
    drop(store);

    let ctx = SyncContext::new(config.clone(), Arc::new(keys)).map_err(step)?;
    let start = Instant::now();
    let report = run_once(&ctx, now).await.map_err(step)?;
    let sync_secs = start.elapsed().as_secs_f64();
    let store = Store::open(&config.db_path())?;
    let local = status(store.conn(), &config).map_err(step)?;
    let at_hq = crate::hq::report::build(hq_store.as_ref(), None, None, &[])
        .map_err(step)?
        .totals;
    if at_hq != local.acknowledged.counts || local.outbox.batches != 0 {
        return Err(BenchError::Check(format!(
            "HQ totals {at_hq:?} differ from the kiosk's acknowledged {:?}",
            local.acknowledged.counts
        )));
    }

    let (batches, per_batch, ingest_secs) =
        ingest_throughput(&hq_store, &scratch, &hq_trust, now).await?;
    let _ = stop.send(());
    let _ = server.await;
    Ok(SyncBenchReport {
        events: recorded,
        impressions,
        record_secs,
        record_events_per_sec: recorded as f64 / record_secs.max(1e-9),
        aggregate_and_sync_secs: sync_secs,
        target_secs: 30.0,
        cells: report.prepared.closed_cells,
        batches: report.batches_sent,
        withheld_impressions: local.withheld.impressions,
        hq_ingest_batches: batches,
        hq_ingest_cells_per_batch: per_batch,
        hq_ingest_batches_per_sec: batches as f64 / ingest_secs.max(1e-9),
        hq_ingest_cells_per_sec: (batches as usize * per_batch) as f64 / ingest_secs.max(1e-9),
    })
}

/// Posts pre-signed batches from 4 kiosks concurrently; returns (batches, cells per batch, secs).
async fn ingest_throughput(
    hq_store: &Arc<dyn HqStore>,
    scratch: &Scratch,
    hq: &HqTrust,
    now: i64,
) -> Result<(u64, usize, f64), BenchError> {
    const KIOSKS: usize = 4;
    const PER_KIOSK: u64 = 250;
    const CELLS: usize = 100;
    let mut prepared = Vec::new();
    for k in 0..KIOSKS {
        let dir = KeyDir::new(scratch.0.join(format!("ingest-keys-{k}")));
        let keys = dir.init(&crate::crypto::rng()).map_err(step)?;
        let kiosk = format!("ingest-{k}");
        hq_store
            .enroll(
                &kiosk,
                "bench-store",
                ring::signature::KeyPair::public_key(&keys.device).as_ref(),
                now,
            )
            .map_err(step)?;
        let mut batches = Vec::new();
        for seq in 1..=PER_KIOSK {
            let cells = (0..CELLS)
                .map(|i| Cell {
                    day: Day::of(now),
                    sku: format!("SKU{i:05}"),
                    style: Style::ALL[i % 4].as_str().into(),
                    segment: "footwear:mid".into(),
                    content_kind: "blurb".into(),
                    arm: crate::experiment::PERSONALISED.into(),
                    sessions: 5,
                    counts: Counts {
                        impressions: 10,
                        taps: 1,
                        ..Counts::default()
                    },
                    ipw: Ipw {
                        impressions: 40.0,
                        taps: 4.0,
                        conversions: 0.0,
                    },
                })
                .collect();
            let doc = BatchDocument {
                version: BATCH_VERSION,
                batch_id: uuid::Uuid::new_v4().to_string(),
                kiosk_id: kiosk.clone(),
                store_id: "bench-store".into(),
                seq,
                created_day: Day::of(now),
                software: env!("CARGO_PKG_VERSION").into(),
                k_anonymity: 5,
                noise_epsilon: 0.0,
                dropped: Dropped::default(),
                cells,
            };
            batches.push(doc.sign(&keys.device).map_err(step)?);
        }
        prepared.push((kiosk, batches));
    }
    let client = crate::sync::client::HqClient::new(
        hq,
        std::time::Duration::from_secs(30),
        crate::sync::client::Backoff::default(),
    )
    .map_err(step)?;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (kiosk, batches) in prepared {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for (doc, sig) in batches {
                client.post_batch_once(&kiosk, &doc, &sig, 0).await?;
            }
            Ok::<(), SyncError>(())
        }));
    }
    for t in tasks {
        t.await.map_err(step)?.map_err(step)?;
    }
    Ok((
        KIOSKS as u64 * PER_KIOSK,
        CELLS,
        start.elapsed().as_secs_f64(),
    ))
}
