//! Lift at HQ against a simulated fleet with a known truth (`sync_support::fleet`), on SQLite and
//! on a throwaway PostgreSQL cluster: with personalisation converting at a known higher rate,
//! the reported intervals of the absolute and relative lift contain the true lift (and say
//! `better`); with no true difference they contain 0; grouped by store and by day there is one
//! comparison per group; `GET /v1/reports/lift` serves the same document as `hq::lift::build`,
//! and its CSV. The intervals' coverage over many replicates is `hq::lift`'s unit test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod sync_support;

use shelftalk::feedback::cells::Day;
use shelftalk::hq::lift::{self, LiftBy, Verdict};
use sync_support::fleet::{self, FleetSpec};
use sync_support::{Backend, Hq};

fn last_day() -> Day {
    Day(20_400)
}

on_both_backends!(the_interval_contains_the_true_lift_and_zero_without_one);

async fn the_interval_contains_the_true_lift_and_zero_without_one(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    let spec = FleetSpec::with_lift(last_day());
    let cells = fleet::seed(hq.store.as_ref(), &spec);
    let doc = lift::build(hq.store.as_ref(), None, None, LiftBy::Fleet).unwrap();
    assert_eq!(doc.comparisons.len(), 1, "{doc:?}");
    let c = &doc.comparisons[0];
    assert_eq!(c.name, "personalisation");
    let sum = |arm: &str| -> u64 {
        cells
            .iter()
            .filter(|(_, c)| c.arm == arm)
            .map(|(_, c)| c.counts.impressions)
            .sum()
    };
    assert_eq!(c.treatment.impressions, sum("personalised"));
    assert_eq!(c.control.impressions, sum("holdout"));
    let (p, h) = (spec.personalised, spec.holdout);
    for (metric, m, truth_p, truth_h) in [("ctr", &c.ctr, p.0, h.0), ("cvr", &c.cvr, p.1, h.1)] {
        assert!(
            m.absolute.contains(truth_p - truth_h),
            "{metric}: {:?} misses {}",
            m.absolute,
            truth_p - truth_h
        );
        let relative = m.relative.unwrap();
        assert!(
            relative.contains(truth_p / truth_h - 1.0),
            "{metric}: {relative:?} misses {}",
            truth_p / truth_h - 1.0
        );
        assert_eq!(m.verdict, Verdict::Better, "{metric}");
    }

    let by_store = lift::build(hq.store.as_ref(), None, None, LiftBy::Store).unwrap();
    let stores: Vec<_> = by_store
        .comparisons
        .iter()
        .map(|c| c.store.clone().unwrap())
        .collect();
    assert_eq!(stores, ["store-1", "store-2", "store-3"]);
    let by_day = lift::build(hq.store.as_ref(), None, None, LiftBy::Day).unwrap();
    assert_eq!(by_day.comparisons.len(), spec.days as usize);
    // A range narrows every comparison to its days.
    let last_week = lift::build(
        hq.store.as_ref(),
        Some(Day(last_day().0 - 6)),
        Some(last_day()),
        LiftBy::Fleet,
    )
    .unwrap();
    assert!(last_week.comparisons[0].treatment.impressions < c.treatment.impressions);

    // The API serves the same document, and its CSV.
    shelftalk::crypto::install_tls_provider();
    let http = reqwest::Client::new();
    let api: serde_json::Value = http
        .get(format!("{}/v1/reports/lift?by=store", hq.url))
        .bearer_auth(&hq.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api, serde_json::to_value(&by_store).unwrap());
    let csv = http
        .get(format!("{}/v1/reports/lift?format=csv", hq.url))
        .bearer_auth(&hq.token)
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("personalisation,,,ctr,"), "{text}");
    let refused = http
        .get(format!("{}/v1/reports/lift?by=week", hq.url))
        .bearer_auth(&hq.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    hq.stop().await;

    // No true difference: the intervals contain 0.
    let tmp = tempfile::tempdir().unwrap();
    let hq = Hq::start_on(backend, tmp.path(), module_path!())
        .await
        .unwrap();
    fleet::seed(hq.store.as_ref(), &FleetSpec::without_lift(last_day()));
    let doc = lift::build(hq.store.as_ref(), None, None, LiftBy::Fleet).unwrap();
    let c = &doc.comparisons[0];
    for m in [&c.ctr, &c.cvr] {
        assert!(m.absolute.contains(0.0), "{:?}", m.absolute);
        assert!(m.relative.unwrap().contains(0.0), "{:?}", m.relative);
        assert_eq!(m.verdict, Verdict::NoDetectableDifference);
    }
    hq.stop().await;
}

/// `hq report --lift` prints the same document as the API, as JSON and as CSV, from an HQ
/// database file; a range narrows it, and `--lift` with `--group-by` is refused.
#[test]
fn hq_report_lift_prints_the_apis_document() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("hq.db");
    let store = shelftalk::hq::store::SqliteHq::open(&db).unwrap();
    fleet::seed(&store, &FleetSpec::with_lift(last_day()));
    let report = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_shelftalk"))
            .args(["hq", "report", "--db"])
            .arg(&db)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (ok, json, err) = report(&["--lift", "store", "--format", "json"]);
    assert!(ok, "{err}");
    let printed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let built = lift::build(&store, None, None, LiftBy::Store).unwrap();
    assert_eq!(printed, serde_json::to_value(&built).unwrap());
    let (ok, csv, err) = report(&["--lift", "--from", "2025-11-04"]);
    assert!(ok, "{err}");
    assert!(csv.starts_with("comparison,store,day,metric,"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "fleet: one comparison, two metrics");
    let (ok, _, err) = report(&["--lift", "--group-by", "store"]);
    assert!(!ok, "--lift and --group-by together are refused");
    assert!(err.contains("--group-by"), "{err}");
}
