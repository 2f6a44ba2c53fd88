//! HQ's per-day roll-up (`hq::rollup`) and the raw-batch retention (`hq::retention`), on SQLite
//! and on a throwaway PostgreSQL cluster:
//! - after hundreds of random batches from several kiosks and stores — with re-sends, replays,
//!   sequence regressions, id conflicts and repeated keys inside a batch — both roll-up tables
//!   equal a recomputation (by the database's own `GROUP BY`) from the cells of the batch
//!   documents stored, read straight from the database;
//! - a database with cells from before the roll-up is back-filled by the migration (and its raw
//!   cells table dropped by a later one);
//! - the retention sweep (injected clock) empties old raw documents only: reports stay
//!   byte-identical, a re-sent batch is still a duplicate, an old one still a replay;
//! - a roll-up sum past `i64::MAX` fails its batch (nothing stored), it never wraps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod sync_support;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use shelftalk::feedback::cells::{Cell, Counts, Day, Ipw};
use shelftalk::hq::rollup::{Level, SUM_COLUMNS};
use shelftalk::hq::store::{Dim, HqStore, IngestBatch, IngestOutcome};
use shelftalk::hq::{report, retention};
use shelftalk::wire::{BatchDocument, Dropped, BATCH_VERSION};
use sync_support::{Backend, Hq};

const DAY: i64 = 86_400;

fn doc(kiosk: &str, store: &str, seq: u64, cells: Vec<Cell>) -> BatchDocument {
    BatchDocument {
        version: BATCH_VERSION,
        batch_id: uuid::Uuid::new_v4().to_string(),
        kiosk_id: kiosk.into(),
        store_id: store.into(),
        seq,
        created_day: Day(20_000),
        software: "test".into(),
        k_anonymity: 5,
        noise_epsilon: 0.0,
        dropped: Dropped::default(),
        cells,
    }
}

fn ingest(store: &dyn HqStore, doc: &BatchDocument, now: i64) -> IngestOutcome {
    let bytes = serde_json::to_vec(doc).unwrap();
    store
        .ingest(&IngestBatch {
            doc,
            bytes: &bytes,
            signature: &[1; 64],
            backlog: 0,
            now,
        })
        .unwrap()
}

/// A random cell from a small key space (so keys repeat across and within batches); the
/// inverse-propensity sums are quarters, so every sum is exact in any order.
fn random_cell(rng: &mut StdRng) -> Cell {
    let impressions = rng.random_range(0..1_000u64);
    Cell {
        day: Day(19_990 + rng.random_range(0..5)),
        sku: ["A", "b", "SKU-3", "_z"][rng.random_range(0..4)].into(),
        style: ["value", "concise", "premium"][rng.random_range(0..3)].into(),
        segment: ["all", "footwear:mid", "Loyal"][rng.random_range(0..3)].into(),
        content_kind: ["blurb", "why"][rng.random_range(0..2)].into(),
        arm: ["personalised", "holdout", "weights:b"][rng.random_range(0..3)].into(),
        sessions: rng.random_range(5..50),
        counts: Counts {
            impressions,
            taps: rng.random_range(0..=impressions),
            thumbs_up: rng.random_range(0..10),
            thumbs_down: rng.random_range(0..10),
            whys: rng.random_range(0..10),
            opt_outs: rng.random_range(0..3),
            dwells: rng.random_range(0..100),
            dwell_ms: rng.random_range(0..100_000),
            conversions: rng.random_range(0..=impressions / 10),
        },
        ipw: Ipw {
            impressions: f64::from(rng.random_range(0..4_000u32)) / 4.0,
            taps: f64::from(rng.random_range(0..400u32)) / 4.0,
            conversions: f64::from(rng.random_range(0..40u32)) / 4.0,
        },
    }
}

/// Rows of one text column, read straight from the database (SQLite file or `psql`).
fn lines(hq: &Hq, sql: &str) -> Vec<String> {
    if let Some(pg) = &hq.pg {
        return pg
            .psql(sql)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
    }
    let c = rusqlite::Connection::open(&hq.db).unwrap();
    let mut stmt = c.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// One roll-up table, row by row, as text.
fn stored(hq: &Hq, level: Level) -> Vec<String> {
    let key = level.key();
    let all: Vec<&str> = key.iter().chain(&SUM_COLUMNS).copied().collect();
    lines(
        hq,
        &format!(
            "SELECT {} FROM {} ORDER BY {}",
            all.join(" || '|' || "),
            level.table(),
            key.join(", ")
        ),
    )
}

/// The same table recomputed by the database from the cells of every batch document stored
/// (decoded here and written to a scratch table `recount`), grouped by SQL, not by HQ's code.
fn recomputed(hq: &Hq, level: Level) -> Vec<String> {
    let text = if hq.pg.is_some() {
        "TEXT COLLATE \"C\""
    } else {
        "TEXT"
    };
    let create = format!(
        "DROP TABLE IF EXISTS recount;
         CREATE TABLE recount (day BIGINT, store_id {text}, kiosk_id {text}, sku {text},
             style {text}, segment {text}, content_kind {text}, arm {text}, sessions BIGINT,
             impressions BIGINT, taps BIGINT, thumbs_up BIGINT, thumbs_down BIGINT, whys BIGINT,
             opt_outs BIGINT, dwells BIGINT, dwell_ms BIGINT, conversions BIGINT,
             ipw_impressions DOUBLE PRECISION, ipw_taps DOUBLE PRECISION,
             ipw_conversions DOUBLE PRECISION);"
    );
    let mut rows = Vec::new();
    for bytes in hq.wire_documents().iter().filter(|d| !d.is_empty()) {
        let d: BatchDocument = serde_json::from_slice(bytes).unwrap();
        for c in &d.cells {
            let n = c.numbers();
            rows.push(format!(
                "({}, '{}', '{}', '{}', '{}', '{}', '{}', '{}', {}, {}, {}, {})",
                c.day.0,
                d.store_id,
                d.kiosk_id,
                c.sku,
                c.style,
                c.segment,
                c.content_kind,
                c.arm,
                n.map(|v| v.to_string()).join(", "),
                c.ipw.impressions,
                c.ipw.taps,
                c.ipw.conversions,
            ));
        }
    }
    // In statements of 200 rows: psql takes its SQL as one argument, which has a size limit.
    let mut statements = vec![create];
    for chunk in rows.chunks(200) {
        statements.push(format!("INSERT INTO recount VALUES {};", chunk.join(", ")));
    }
    for sql in statements {
        match &hq.pg {
            Some(pg) => {
                pg.psql(&sql);
            }
            None => rusqlite::Connection::open(&hq.db)
                .unwrap()
                .execute_batch(&sql)
                .unwrap(),
        }
    }
    let key = level.key();
    let sums: Vec<String> = SUM_COLUMNS.iter().map(|c| format!("sum({c})")).collect();
    let all: Vec<String> = key.iter().map(|k| k.to_string()).chain(sums).collect();
    lines(
        hq,
        &format!(
            "SELECT {} FROM recount GROUP BY {1} ORDER BY {1}",
            all.join(" || '|' || "),
            key.join(", ")
        ),
    )
}

const KIOSKS: [(&str, &str); 5] = [
    ("k-1", "store-a"),
    ("k-2", "store-a"),
    ("K-3", "Store-B"),
    ("k_4", "Store-B"),
    ("k-5", "store-c"),
];

on_both_backends!(the_roll_up_equals_a_recomputation_from_the_stored_documents);

async fn the_roll_up_equals_a_recomputation_from_the_stored_documents(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    let store = hq.store.as_ref();
    for (k, s) in KIOSKS {
        store.enroll(k, s, &[7; 32], 0).unwrap();
    }
    let mut rng = StdRng::seed_from_u64(15);
    let mut sent: Vec<Vec<BatchDocument>> = vec![Vec::new(); KIOSKS.len()];
    let mut seen = std::collections::BTreeMap::<&str, u32>::new();
    let mut note = |o: IngestOutcome| {
        let name = match o {
            IngestOutcome::Accepted => "accepted",
            IngestOutcome::Duplicate => "duplicate",
            IngestOutcome::Replay { .. } => "replay",
            IngestOutcome::Regression { .. } => "regression",
            IngestOutcome::Conflict => "conflict",
        };
        *seen.entry(name).or_default() += 1;
    };
    for round in 0..300u64 {
        let i = rng.random_range(0..KIOSKS.len());
        let (k, s) = KIOSKS[i];
        let seq = sent[i].len() as u64 + 1;
        let n = rng.random_range(1..12);
        let d = doc(k, s, seq, (0..n).map(|_| random_cell(&mut rng)).collect());
        let now = 1_000 + round as i64;
        assert_eq!(ingest(store, &d, now), IngestOutcome::Accepted);
        note(IngestOutcome::Accepted);
        sent[i].push(d.clone());
        match rng.random_range(0..10) {
            // The acknowledgement was lost: the same batch again.
            0..=2 => {
                let o = ingest(store, &d, now);
                assert_eq!(o, IngestOutcome::Duplicate);
                note(o);
            }
            // An old batch played back.
            3 if seq > 1 => {
                let old = &sent[i][rng.random_range(0..seq as usize - 1)];
                let o = ingest(store, old, now);
                assert!(matches!(o, IngestOutcome::Replay { .. }), "{o:?}");
                note(o);
            }
            // A new id with a used seq.
            4 => {
                let again = doc(k, s, seq, vec![random_cell(&mut rng)]);
                let o = ingest(store, &again, now);
                assert!(matches!(o, IngestOutcome::Regression { .. }), "{o:?}");
                note(o);
            }
            // A known id with other content.
            5 => {
                let mut other = d.clone();
                other.cells.push(random_cell(&mut rng));
                other.seq += 1;
                let o = ingest(store, &other, now);
                assert_eq!(o, IngestOutcome::Conflict);
                note(o);
            }
            _ => {}
        }
    }
    assert_eq!(seen.len(), 5, "every outcome exercised: {seen:?}");
    for level in Level::ALL {
        let rows = stored(&hq, level);
        assert!(rows.len() > 50, "{level:?}: {} rows", rows.len());
        assert_eq!(rows, recomputed(&hq, level), "{level:?}");
    }
    // The two levels agree where both answer: by style from the store-day table, and by
    // kiosk × style from the kiosk-day table folded over kiosks.
    let by_style = store.grouped(None, None, &[Dim::Style]).unwrap();
    let by_kiosk_style = store
        .grouped(None, None, &[Dim::Kiosk, Dim::Style])
        .unwrap();
    for row in &by_style {
        let (mut impressions, mut taps, mut ipw) = (0, 0, 0.0);
        for r in by_kiosk_style.iter().filter(|r| r.dims[1] == row.dims[0]) {
            impressions += r.counts.impressions;
            taps += r.counts.taps;
            ipw += r.ipw.impressions;
        }
        assert_eq!(
            (row.counts.impressions, row.counts.taps, row.ipw.impressions),
            (impressions, taps, ipw)
        );
    }
    hq.stop().await;
}

/// An HQ database at schema version 2 (before the roll-up) with one kiosk, one batch and three
/// cells, two of them with the same key; `blob` writes a byte-string literal.
fn version_2_rows(blob: fn(&str) -> String) -> String {
    let mut sql = format!(
        "INSERT INTO kiosks (kiosk_id, store_id, public_key, enrolled_at) VALUES ('k-1', 's-1', {}, 0);
         INSERT INTO batches (batch_id, kiosk_id, seq, received_at, sha256, document, signature)
         VALUES ('b-1', 'k-1', 1, 100, {}, {}, {});",
        blob(&"07".repeat(32)),
        blob("00"),
        blob("7b7d"),
        blob("00"),
    );
    for (sku, impressions) in [("A", 10), ("A", 5), ("B", 7)] {
        sql.push_str(&format!(
            "INSERT INTO cells VALUES ('b-1', 'k-1', 's-1', 19990, '{sku}', 'value', 'all',
             'blurb', 6, {impressions}, 1, 0, 0, 0, 0, 0, 0, 0, 2.5, 0.25, 0);"
        ));
    }
    sql
}

fn by_sku(store: &dyn HqStore) -> Vec<(String, u64, f64)> {
    store
        .grouped(None, None, &[Dim::Sku])
        .unwrap()
        .into_iter()
        .map(|r| (r.dims[0].clone(), r.counts.impressions, r.ipw.impressions))
        .collect()
}

#[test]
fn the_migration_fills_the_roll_up_from_cells_stored_before_it() {
    let expected = vec![("A".to_string(), 15, 5.0), ("B".to_string(), 7, 2.5)];
    // SQLite.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("hq.db");
    {
        let conn =
            shelftalk::store::open_migrated(&path, &shelftalk::hq::store::MIGRATIONS[..2]).unwrap();
        conn.execute_batch(&version_2_rows(|hex| format!("x'{hex}'")))
            .unwrap();
    }
    let sqlite = shelftalk::hq::store::SqliteHq::open(&path).unwrap();
    assert_eq!(by_sku(&sqlite), expected);
    let totals = report::build(&sqlite, None, None, &[]).unwrap().totals;
    assert_eq!(totals.impressions, 22);

    // PostgreSQL.
    let Some(pg) = sync_support::postgres::PgCluster::start("the_migration_fills_the_roll_up")
    else {
        return;
    };
    let mut sql = String::from(
        "CREATE TABLE hq_schema_version (version BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
         INSERT INTO hq_schema_version (version) VALUES (1), (2);",
    );
    for m in &shelftalk::hq::pg::MIGRATIONS[..2] {
        sql.push_str(m);
    }
    sql.push_str(&version_2_rows(|hex| format!("decode('{hex}', 'hex')")));
    pg.psql(&format!("BEGIN; {sql} COMMIT;"));
    let postgres =
        shelftalk::hq::pg::PgHq::connect(&pg.url(), &shelftalk::hq::pg::PgOptions::default())
            .unwrap();
    assert_eq!(by_sku(&postgres), expected);
}

on_both_backends!(the_retention_sweep_keeps_reports_and_refuses_replays);

async fn the_retention_sweep_keeps_reports_and_refuses_replays(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    let store = hq.store.as_ref();
    store.enroll("k-1", "store-a", &[7; 32], 0).unwrap();
    let mut rng = StdRng::seed_from_u64(90);
    let t0 = 1_790_000_000;
    // Seven batches received 100 days ago, five 10 days ago (day of receipt = seq order).
    let batches: Vec<BatchDocument> = (1..=12u64)
        .map(|seq| {
            doc(
                "k-1",
                "store-a",
                seq,
                (0..4).map(|_| random_cell(&mut rng)).collect(),
            )
        })
        .collect();
    let received = |seq: u64| {
        if seq <= 7 {
            t0 - 100 * DAY
        } else {
            t0 - 10 * DAY
        }
    };
    for d in &batches {
        assert_eq!(ingest(store, d, received(d.seq)), IngestOutcome::Accepted);
    }
    let reports = |store: &dyn HqStore| -> Vec<String> {
        let mut out = Vec::new();
        let mut groupings = vec![
            vec![],
            vec![Dim::Store, Dim::Day],
            vec![Dim::Segment, Dim::Style],
            vec![Dim::Arm, Dim::Day],
        ];
        groupings.push(vec![Dim::Kiosk, Dim::Sku, Dim::Day]);
        for dims in groupings {
            let r = report::build(store, None, None, &dims).unwrap();
            out.push(serde_json::to_string(&r.to_json()).unwrap());
            out.push(r.to_csv().unwrap());
        }
        out.push(serde_json::to_string(&report::priors(store, Day(20_000)).unwrap()).unwrap());
        out
    };
    let before = reports(store);
    let emptied = "SELECT CAST(count(*) AS TEXT) FROM batches
                   WHERE length(document) = 0 AND length(signature) = 0";
    assert_eq!(lines(&hq, emptied), ["0"]);

    // Nothing is 90 days old at 80 days after the first batches.
    let nothing = retention::sweep(store, 90, t0 - 20 * DAY).unwrap();
    assert_eq!(nothing.batches, 0);
    // The running sweeper sweeps once at start (its shutdown is ready at once) on its clock.
    let clock: shelftalk::hq::Clock = std::sync::Arc::new(move || t0);
    retention::run(
        std::sync::Arc::clone(&hq.store),
        90,
        clock,
        retention::SWEEP_EVERY,
        std::future::ready(()),
    )
    .await;
    assert_eq!(hq.rows().0, 12, "batch rows stay");
    assert_eq!(
        lines(&hq, emptied),
        ["7"],
        "the 7 old batches' documents emptied"
    );
    let docs = hq.wire_documents();
    let last = serde_json::to_vec(&batches[11]).unwrap();
    assert_eq!(docs.last(), Some(&last), "recent documents kept");
    // A second sweep at the same time finds nothing more.
    let again = retention::sweep(store, 90, t0).unwrap();
    assert_eq!(again.batches, 0);

    assert_eq!(reports(store), before, "reports, CSV and priors unchanged");
    // The swept batches are still known: played back, they are replays; the last batch re-sent
    // is a duplicate; a known id with other content a conflict.
    assert!(matches!(
        ingest(store, &batches[6], t0),
        IngestOutcome::Replay { last_seq: 12 }
    ));
    assert!(matches!(
        ingest(store, &batches[0], t0),
        IngestOutcome::Replay { last_seq: 12 }
    ));
    assert_eq!(ingest(store, &batches[11], t0), IngestOutcome::Duplicate);
    let mut forged = batches[0].clone();
    forged.cells.push(random_cell(&mut rng));
    assert_eq!(ingest(store, &forged, t0), IngestOutcome::Conflict);
    assert_eq!(reports(store), before);
    // All batches past the retention later on: every raw cell goes, the reports stay.
    let all = retention::sweep(store, 1, t0).unwrap();
    assert_eq!(all.batches, 5);
    assert_eq!(hq.rows().0, 12);
    assert_eq!(lines(&hq, emptied), ["12"]);
    assert_eq!(reports(store), before);
    // And ingest goes on after a sweep.
    let next = doc("k-1", "store-a", 13, vec![random_cell(&mut rng)]);
    assert_eq!(ingest(store, &next, t0), IngestOutcome::Accepted);
    assert_ne!(reports(store), before);
    hq.stop().await;
}

on_both_backends!(a_roll_up_sum_that_would_overflow_fails_the_batch_and_stores_nothing);

/// The store takes any count the wire allows (up to `i64::MAX`; HQ's ingest validation caps cells
/// far lower before they reach it): a sum past `i64::MAX` is refused by the database, never
/// wrapped, and the batch is stored not at all.
async fn a_roll_up_sum_that_would_overflow_fails_the_batch_and_stores_nothing(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    let store = hq.store.as_ref();
    store.enroll("k-1", "store-a", &[7; 32], 0).unwrap();
    let mut rng = StdRng::seed_from_u64(1);
    let mut huge = random_cell(&mut rng);
    huge.counts.impressions = i64::MAX as u64;
    let mut one = huge.clone();
    one.counts.impressions = 1;
    let first = doc("k-1", "store-a", 1, vec![huge]);
    assert_eq!(ingest(store, &first, 1), IngestOutcome::Accepted);
    let before = report::build(store, None, None, &[Dim::Store, Dim::Day]).unwrap();
    let second = doc("k-1", "store-a", 2, vec![one]);
    let bytes = serde_json::to_vec(&second).unwrap();
    let refused = store.ingest(&IngestBatch {
        doc: &second,
        bytes: &bytes,
        signature: &[1; 64],
        backlog: 0,
        now: 2,
    });
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(hq.rows(), (1, 1), "nothing of the refused batch stored");
    assert_eq!(store.kiosk("k-1").unwrap().unwrap().last_seq, 1);
    let after = report::build(store, None, None, &[Dim::Store, Dim::Day]).unwrap();
    assert_eq!(after, before);
    assert_eq!(after.totals.impressions, i64::MAX as u64);
    for level in Level::ALL {
        assert_eq!(stored(&hq, level), recomputed(&hq, level), "{level:?}");
    }
    hq.stop().await;
}
