//! HQ's storage seam itself, on real databases: ingest is one transaction on both backends (a
//! failure in the middle stores nothing and leaves the kiosk's sequence where it was), and on
//! PostgreSQL several HQ processes (pools) share one database — migrating at once, ingesting the
//! same kiosk's batches concurrently — with each batch counted exactly once. Plus the database
//! choice on the command line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod sync_support;

use std::sync::Arc;

use shelftalk::feedback::cells::{Cell, Counts, Day, Ipw};
use shelftalk::hq::pg::{PgHq, PgOptions};
use shelftalk::hq::store::{HqStore, IngestBatch, IngestOutcome};
use shelftalk::hq::HqError;
use shelftalk::wire::{BatchDocument, Dropped, BATCH_VERSION};
use sync_support::postgres::PgCluster;
use sync_support::{Backend, Hq};

fn cell(sku: &str) -> Cell {
    Cell {
        day: Day(19_999),
        sku: sku.into(),
        style: "value".into(),
        segment: "all".into(),
        content_kind: "blurb".into(),
        arm: "personalised".into(),
        sessions: 6,
        counts: Counts {
            impressions: 10,
            taps: 2,
            ..Counts::default()
        },
        ipw: Ipw {
            impressions: 40.0,
            taps: 8.0,
            conversions: 0.0,
        },
    }
}

fn doc(seq: u64, skus: &[&str]) -> BatchDocument {
    BatchDocument {
        version: BATCH_VERSION,
        batch_id: uuid::Uuid::new_v4().to_string(),
        kiosk_id: "k1".into(),
        store_id: "s1".into(),
        seq,
        created_day: Day(20_000),
        software: "test".into(),
        k_anonymity: 5,
        noise_epsilon: 0.0,
        dropped: Dropped::default(),
        cells: skus.iter().map(|s| cell(s)).collect(),
    }
}

/// Stores `doc` (the store does not check signatures: the server does, before it).
fn ingest(store: &dyn HqStore, doc: &BatchDocument) -> Result<IngestOutcome, HqError> {
    let bytes = serde_json::to_vec(doc).unwrap();
    store.ingest(&IngestBatch {
        doc,
        bytes: &bytes,
        signature: &[0; 64],
        backlog: 0,
        now: 1_000,
    })
}

on_both_backends!(ingest_is_one_transaction);

async fn ingest_is_one_transaction(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, tmp.path(), "ingest_is_one_transaction").await else {
        return;
    };
    hq.store.enroll("k1", "s1", &[7; 32], 0).unwrap();
    assert_eq!(
        ingest(hq.store.as_ref(), &doc(1, &["A"])).unwrap(),
        IngestOutcome::Accepted
    );
    // The database refuses the batch's last kiosk-day row (byte order: "A" < "B" < "POISON"),
    // after its batch row and first rows went in.
    match &hq.pg {
        Some(pg) => {
            pg.psql("ALTER TABLE rollup_kiosk_day ADD CONSTRAINT poison CHECK (sku <> 'POISON')");
        }
        None => rusqlite::Connection::open(&hq.db)
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER poison BEFORE INSERT ON rollup_kiosk_day
                 WHEN NEW.sku = 'POISON' BEGIN SELECT RAISE(ABORT, 'poison'); END;",
            )
            .unwrap(),
    }
    let poisoned = doc(2, &["A", "B", "POISON"]);
    let err = ingest(hq.store.as_ref(), &poisoned).unwrap_err();
    assert!(!err.retryable(), "{err}");
    assert_eq!(hq.rows(), (1, 1), "nothing of the failed batch stored");
    let k = hq.store.kiosk("k1").unwrap().unwrap();
    assert_eq!((k.last_seq, k.batches), (1, 1), "sequence not advanced");
    // The same seq goes through once the database takes it again.
    match &hq.pg {
        Some(pg) => {
            pg.psql("ALTER TABLE rollup_kiosk_day DROP CONSTRAINT poison");
        }
        None => rusqlite::Connection::open(&hq.db)
            .unwrap()
            .execute_batch("DROP TRIGGER poison")
            .unwrap(),
    }
    assert_eq!(
        ingest(hq.store.as_ref(), &poisoned).unwrap(),
        IngestOutcome::Accepted
    );
    // Four cells in three kiosk-day rows: both batches' "A" cells share one.
    assert_eq!(hq.rows(), (2, 3));
    assert_eq!(hq.totals().impressions, 40);
    hq.stop().await;
}

fn connect(url: &str) -> PgHq {
    PgHq::connect(
        url,
        &PgOptions {
            max_connections: 4,
            ..PgOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn postgres_hq_processes_share_one_database_and_count_each_batch_once() {
    let Some(pg) = PgCluster::start("postgres_hq_processes_share_one_database") else {
        return;
    };
    let url = pg.url();
    // Three HQ processes starting at once: the migration runs once, under its lock.
    let stores: Vec<Arc<PgHq>> = std::thread::scope(|s| {
        let started: Vec<_> = (0..3)
            .map(|_| s.spawn(|| Arc::new(connect(&url))))
            .collect();
        started.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let every_version: Vec<String> = (1..=shelftalk::hq::pg::MIGRATIONS.len())
        .map(|v| v.to_string())
        .collect();
    assert_eq!(
        pg.psql("SELECT string_agg(version::text, ',' ORDER BY version) FROM hq_schema_version")
            .trim(),
        every_version.join(",")
    );
    stores[0].enroll("k1", "s1", &[7; 32], 0).unwrap();

    // The same batch from eight threads over three pools: stored once, acknowledged to all.
    let same = doc(1, &["A", "B"]);
    let outcomes: Vec<IngestOutcome> = std::thread::scope(|s| {
        let sent: Vec<_> = (0..8)
            .map(|i| {
                let store = Arc::clone(&stores[i % stores.len()]);
                let same = &same;
                s.spawn(move || ingest(store.as_ref(), same).unwrap())
            })
            .collect();
        sent.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let accepted = outcomes
        .iter()
        .filter(|o| **o == IngestOutcome::Accepted)
        .count();
    assert_eq!(accepted, 1, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, IngestOutcome::Accepted | IngestOutcome::Duplicate)));

    // Sixteen new batches of one kiosk racing: each is accepted or refused as a regression,
    // never half-stored; the kiosk's count and sequence agree with what is stored.
    let racing: Vec<BatchDocument> = (2..18).map(|seq| doc(seq, &["C"])).collect();
    let outcomes: Vec<IngestOutcome> = std::thread::scope(|s| {
        let sent: Vec<_> = racing
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let store = Arc::clone(&stores[i % stores.len()]);
                s.spawn(move || ingest(store.as_ref(), d).unwrap())
            })
            .collect();
        sent.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won: Vec<u64> = racing
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| **o == IngestOutcome::Accepted)
        .map(|(d, _)| d.seq)
        .collect();
    assert!(outcomes.iter().all(|o| matches!(
        o,
        IngestOutcome::Accepted | IngestOutcome::Regression { .. }
    )));
    assert!(!won.is_empty());
    let k = stores[1].kiosk("k1").unwrap().unwrap();
    assert_eq!(k.batches, 1 + won.len() as u64);
    assert_eq!(k.last_seq, *won.iter().max().unwrap());
    let stored = pg.psql("SELECT count(*) FROM batches");
    assert_eq!(stored.trim(), (1 + won.len()).to_string());
    // Every accepted batch's cells counted once (10 impressions a cell).
    let counted = pg.psql("SELECT sum(impressions) FROM rollup_kiosk_day");
    assert_eq!(counted.trim(), (10 * (2 + won.len())).to_string());
    drop(stores);

    // A database migrated by a newer HQ is refused, naming the database.
    pg.psql("INSERT INTO hq_schema_version (version) VALUES (99)");
    let err = PgHq::connect(&url, &PgOptions::default())
        .err()
        .expect("a newer schema is refused");
    let text = err.to_string();
    assert!(
        matches!(err, HqError::SchemaTooNew { found: 99, .. }),
        "{text}"
    );
    assert!(text.contains("shelftalk_hq"), "{text}");
}

#[test]
fn an_unreachable_postgres_is_named_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    // A socket directory where no server is (percent-encoded, as URLs carry socket paths).
    let socket = dir.path().to_str().unwrap().replace('/', "%2F");
    let url = format!("postgres://hq:s3cret-pass@{socket}/fleet?connect_timeout=2");
    let err = PgHq::connect(&url, &PgOptions::default())
        .err()
        .expect("nothing listens there");
    let text = err.to_string();
    assert!(err.retryable(), "{text}");
    assert!(text.contains("\"fleet\""), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

#[test]
fn the_command_line_takes_exactly_one_database() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("hq.db");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_shelftalk"))
            .args(["hq", "token", "create"])
            .args(args)
            .env_remove("SHELFTALK_HQ_DATABASE_URL")
            .output()
            .unwrap()
    };
    let both = run(&[
        "--db",
        db.to_str().unwrap(),
        "--database-url",
        "postgres://localhost/hq",
    ]);
    assert!(!both.status.success());
    let said = String::from_utf8_lossy(&both.stderr);
    assert!(said.contains("both --db FILE and --database-url"), "{said}");
    let none = run(&[]);
    assert!(!none.status.success());
    let said = String::from_utf8_lossy(&none.stderr);
    assert!(said.contains("HQ needs a database"), "{said}");
    let sqlite = run(&["--db", db.to_str().unwrap()]);
    assert!(
        sqlite.status.success(),
        "{}",
        String::from_utf8_lossy(&sqlite.stderr)
    );
}

/// The same batches in both backends give the same reports, byte for byte (JSON and CSV), for
/// every single dimension, pairs and none, with and without day bounds; ids that sort
/// differently under a locale (case, punctuation, non-ASCII) order byte-wise on both.
#[test]
fn both_backends_report_the_same_bytes() {
    let Some(pg) = PgCluster::start("both_backends_report_the_same_bytes") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let sqlite = shelftalk::hq::store::SqliteHq::open(&tmp.path().join("hq.db")).unwrap();
    let postgres = connect(&pg.url());
    let stores: [&dyn HqStore; 2] = [&sqlite, &postgres];
    let kiosks = [("k-a", "Store-B"), ("K-b", "store-a"), ("k_c", "éstore")];
    for store in stores {
        for (k, s) in kiosks {
            store.enroll(k, s, &[7; 32], 0).unwrap();
        }
    }
    let skus = ["a", "B", "_x", "Ä", "b"];
    let styles = ["value", "Premium", "eco"];
    for (i, (k, s)) in kiosks.iter().enumerate() {
        for seq in 1..=4u64 {
            let mut d = doc(seq, &[]);
            d.batch_id = format!("{k}-{seq}");
            d.kiosk_id = (*k).into();
            d.store_id = (*s).into();
            for j in 0..6u64 {
                let mut c = cell(skus[(i + j as usize) % skus.len()]);
                c.day = Day(19_990 + ((seq + j) % 4) as i64);
                c.style = styles[(j as usize + seq as usize) % styles.len()].into();
                c.segment = if j % 2 == 0 { "all" } else { "Loyal" }.into();
                c.sessions = 5 + j + seq;
                c.counts.impressions = 10 * (j + 1) + seq;
                c.counts.taps = j + 1;
                c.counts.conversions = j % 2;
                c.counts.dwells = j;
                c.counts.dwell_ms = 1_000 * j;
                // Halves: sums are exact whatever the order they are added in.
                c.ipw.impressions = 0.5 * (j + seq) as f64;
                c.ipw.taps = 0.25 * j as f64;
                d.cells.push(c);
            }
            for store in stores {
                assert_eq!(ingest(store, &d).unwrap(), IngestOutcome::Accepted);
            }
        }
    }
    use shelftalk::hq::report;
    use shelftalk::hq::store::Dim;
    let mut groupings: Vec<Vec<Dim>> = vec![vec![]];
    groupings.extend(Dim::ALL.iter().map(|d| vec![*d]));
    groupings.push(vec![Dim::Store, Dim::Kiosk, Dim::Style]);
    groupings.push(vec![Dim::Segment, Dim::Sku, Dim::Day]);
    let bounds = [
        (None, None),
        (Some(Day(19_991)), Some(Day(19_992))),
        (Some(Day(30_000)), None),
    ];
    for dims in &groupings {
        for (from, to) in bounds {
            let [a, b] = stores.map(|s| report::build(s, from, to, dims).unwrap());
            let what = format!("{dims:?} {from:?}..{to:?}");
            assert_eq!(
                serde_json::to_string(&a.to_json()).unwrap(),
                serde_json::to_string(&b.to_json()).unwrap(),
                "{what}"
            );
            assert_eq!(a.to_csv().unwrap(), b.to_csv().unwrap(), "{what}");
        }
    }
    let [a, b] = stores.map(|s| report::priors(s, Day(19_995)).unwrap());
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    let [a, b] = stores.map(|s| s.kiosks().unwrap());
    assert_eq!(a, b);
}
