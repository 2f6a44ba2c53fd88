//! The project's own demo data (`demo/`): it parses cleanly, has the intended structure, and the
//! generator reproduces it byte for byte.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use shelftalk::catalog::Product;
use shelftalk::event::{EventKind, ImportedEvent};
use shelftalk::ingest::{
    open_source, read_catalog, read_events, CatalogFormat, EventFormat, Row, Rules,
};

/// 2026-11-28 00:00:00 UTC: every demo event lies before it.
const NOW: i64 = 1_795_824_000;
/// 2026-10-01 00:00:00 UTC.
const OCT_1: i64 = 1_790_812_800;

fn rules() -> Rules {
    Rules {
        now: NOW,
        ..Rules::default()
    }
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo")
}

fn all_accepted<T: std::fmt::Debug>(rows: impl Iterator<Item = Row<T>>) -> Vec<T> {
    rows.map(|row| match row {
        Row::Accepted { record, .. } => record,
        Row::Quarantined(q) => panic!("demo row quarantined: {q:?}"),
    })
    .collect()
}

fn catalog() -> Vec<Product> {
    let src = open_source(&demo().join("catalog.csv")).unwrap();
    let rows = read_catalog(src.reader, "catalog.csv", CatalogFormat::Csv, &rules()).unwrap();
    all_accepted(rows)
}

fn events() -> Vec<ImportedEvent> {
    let src = open_source(&demo().join("events.csv")).unwrap();
    let rows = read_events(src.reader, "events.csv", EventFormat::Rees46, &rules()).unwrap();
    all_accepted(rows)
}

#[test]
fn demo_catalog_is_clean_and_varied() {
    let products = catalog();
    assert_eq!(products.len(), 360);
    let tops: BTreeSet<&str> = products.iter().map(Product::top_category).collect();
    assert_eq!(tops.len(), 8, "{tops:?}");
    let brands: BTreeSet<&str> = products.iter().filter_map(|p| p.brand.as_deref()).collect();
    assert_eq!(brands.len(), 30);
    assert!(products
        .iter()
        .all(|p| p.category.len() == 2 && !p.description.is_empty() && !p.tags.is_empty()));
    let discounted = products.iter().filter(|p| p.list_price.is_some()).count();
    assert!((60..=160).contains(&discounted), "{discounted}");
}

#[test]
fn demo_events_are_clean_and_structured() {
    let products = catalog();
    let by_sku: HashMap<&str, &Product> = products.iter().map(|p| (p.sku.as_str(), p)).collect();
    let events = events();
    assert_eq!(events.len(), 8842);
    let mut shoppers: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    let mut baskets: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in &events {
        let p = by_sku
            .get(e.event.sku.as_str())
            .expect("every event names a demo product");
        assert!((OCT_1..NOW).contains(&e.event.at));
        assert_eq!(e.event.price, Some(p.price));
        assert_eq!(e.hint.brand, p.brand);
        let card = e.customer.as_deref().unwrap();
        assert!(
            card.len() == 10
                && card.starts_with("LC")
                && card[2..].bytes().all(|b| b.is_ascii_digit())
        );
        *shoppers
            .entry(card)
            .or_default()
            .entry(p.brand.as_deref().unwrap())
            .or_default() += 1;
        if e.event.kind == EventKind::Purchase {
            baskets
                .entry(e.event.session.as_deref().unwrap())
                .or_default()
                .insert(p.leaf_category());
        }
    }
    assert_eq!(shoppers.len(), 400);
    // Brand loyalty: on average a shopper's favourite brand has well over the 1/30 share chance gives.
    let share: f64 = shoppers
        .values()
        .map(|b| *b.values().max().unwrap() as f64 / b.values().sum::<usize>() as f64)
        .sum::<f64>()
        / shoppers.len() as f64;
    assert!(share > 0.3, "{share}");
    // Co-purchases: running shoes come home with socks far more often than socks alone sell.
    let with = |a: &str, b: &str| {
        baskets
            .values()
            .filter(|s| s.contains(a) && s.contains(b))
            .count()
    };
    let shoe_baskets = baskets
        .values()
        .filter(|s| s.contains("Running Shoes"))
        .count();
    let sock_share =
        baskets.values().filter(|s| s.contains("Socks")).count() as f64 / baskets.len() as f64;
    assert!(with("Running Shoes", "Socks") as f64 / shoe_baskets as f64 > 3.0 * sock_share);
}

#[test]
fn generator_reproduces_the_committed_files() {
    let python = ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(python) = python else {
        eprintln!(
            "\n*** SKIPPED: python3 not found; demo/generate.py reproducibility not checked ***\n"
        );
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(python)
        .arg(demo().join("generate.py"))
        .arg("--out")
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());
    for file in ["catalog.csv", "events.csv"] {
        let fresh = std::fs::read(out.path().join(file)).unwrap();
        let committed = std::fs::read(demo().join(file)).unwrap();
        assert!(
            fresh == committed,
            "demo/{file} differs from a fresh `python3 demo/generate.py`"
        );
    }
}
