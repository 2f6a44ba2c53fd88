//! Leave-last-out replay of the fused recommender against the popularity baseline on the real
//! behaviour logs in `SHELFTALK_REAL_DATA` (default `../shared/data` from the repo root). Without
//! them the tests print "SKIPPED: real data file ... not found" and pass, unless
//! `SHELFTALK_REQUIRE_REAL_DATA=1` (see `common::real_data`).
//!
//! The files are read with the importer's own readers (`import::read_log`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    clippy::panic
)]

use shelftalk::catalog::Product;
use shelftalk::event::Event;
use shelftalk::import::read_log;
use shelftalk::ingest::{EventFormat, Rules};
use shelftalk::recommend::eval::{leave_last_out, EvalReport};
use shelftalk::recommend::{CatalogIndex, RecommendConfig};

mod common;

/// The file read by the product's own importer: identified customers' events and a catalog made
/// from the rows' product facts.
fn read(path: &std::path::Path) -> (Vec<Product>, Vec<(String, Event)>) {
    let rules = Rules {
        now: i64::MAX / 4,
        ..Rules::default()
    };
    let log = read_log(path, EventFormat::Auto, &rules).unwrap();
    (log.products, log.events)
}

fn evaluate(
    name: &str,
    (mut products, events): (Vec<Product>, Vec<(String, Event)>),
) -> EvalReport {
    products.sort_by(|a, b| a.sku.cmp(&b.sku));
    let catalog = CatalogIndex::new(products);
    let report = leave_last_out(&events, &catalog, &RecommendConfig::default(), 3).unwrap();
    eprintln!(
        "{name}: {} products, {} events\n{report}",
        catalog.len(),
        events.len()
    );
    assert!(report.users > 50, "{name}: too few shoppers evaluated");
    assert!(
        report.fused.hit_rate >= report.popularity.hit_rate,
        "{name}: fused hit-rate@3 {} < popularity {}",
        report.fused.hit_rate,
        report.popularity.hit_rate
    );
    report
}

#[test]
fn fused_beats_popularity_on_rees46() {
    let Some(path) = common::real_data("rees46_events_10k.csv") else {
        return;
    };
    evaluate("rees46", read(&path));
}

#[test]
fn fused_beats_popularity_on_online_retail() {
    let Some(path) = common::real_data("online_retail_2011-12-05.csv") else {
        return;
    };
    evaluate("online retail", read(&path));
}
