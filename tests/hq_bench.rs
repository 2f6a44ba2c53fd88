//! `shelftalk bench hq` with tiny counts on both backends (SQLite and the bench's own throwaway
//! PostgreSQL cluster), so the benchmark cannot rot: every batch accepted, HQ's totals equal what
//! the kiosks were acknowledged (the bench itself fails otherwise), the reports cover exactly the
//! stores and days sent, and the text and JSON carry every figure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod sync_support;

use shelftalk::bench::hq::{run, HqBenchOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hq_bench_runs_on_both_backends() {
    if !shelftalk::hq::pg_cluster::installed() && !sync_support::postgres::required() {
        eprintln!(
            "\n!!! SKIPPED the_hq_bench_runs_on_both_backends: no PostgreSQL binaries. Set \
             SHELFTALK_REQUIRE_POSTGRES=1 to make this a failure.\n"
        );
        return;
    }
    let opts = HqBenchOptions {
        kiosks: 12,
        batches: 60,
        cells: 10,
        connections: 4,
        report_cells: 4_000,
        report_runs: 3,
        database_url: None,
        progress: false,
    };
    let report = run(&opts).await.unwrap();
    assert_eq!((report.kiosks, report.stores), (12, 2));
    let names: Vec<&str> = report.backends.iter().map(|b| b.backend).collect();
    assert_eq!(names, ["sqlite", "postgres"]);
    for b in &report.backends {
        assert_eq!((b.accepted_batches, b.failed_batches), (60, 0), "{b:?}");
        assert!(b.totals_match);
        assert_eq!(b.ingest_samples, 60);
        assert!(
            b.ingest_ms_p50 > 0.0 && b.ingest_ms_p99 >= b.ingest_ms_p50,
            "{b:?}"
        );
        // 5 batches per kiosk, one day each, in 2 stores.
        assert_eq!(b.report_rows, 2 * 5, "{b:?}");
        // 3,400 more cells: one load batch of kiosk 0 (store 0), 340 days of 10 cells.
        assert_eq!((b.loaded_cells, b.large_report_cells), (3_400, 4_000));
        assert_eq!(b.large_report_rows, 2 * 5 + 340, "{b:?}");
        assert!(b.large_query_ms_p50 > 0.0 && b.large_report_ms_p50 > 0.0);
    }
    assert!(report.postgres_over_sqlite_ingest > 0.0);
    // 5 batches per kiosk in 6 rounds: the first is empty, each other takes one sequence
    // number, and both backends took every round.
    assert_eq!(report.round_ratios.len(), 5, "{report:?}");
    assert!(report.round_ratios.iter().all(|r| *r > 0.0));
    for b in &report.backends {
        assert_eq!(b.round_batches_per_sec.len(), 5, "{b:?}");
    }
    let text = report.render();
    assert!(
        text.contains("12 kiosks in 2 stores, 60 signed batches of 10 cells"),
        "{text}"
    );
    assert!(text.contains("(n = 60)"), "{text}");
    assert!(
        text.contains("round by round, turns alternating: "),
        "{text}"
    );
    assert!(text.contains("report over 4000 cells"), "{text}");
    let json = serde_json::to_value(&report).unwrap();
    for key in [
        "accepted_batches_per_sec",
        "ingest_ms_p99",
        "large_report_ms_p50",
        "load_method",
    ] {
        assert!(json["backends"][1].get(key).is_some(), "{key}: {json}");
    }
}
