//! Self-timing benchmark of the personalisation core on synthetic data: ranking one shopper over
//! a 10,000-product catalog, and recomputing one shopper's features from 1,000 events.
//!
//! Invariants:
//! - The synthetic world is a pure function of the seed; only the timings vary between runs.
//! - Model fitting (popularity, co-occurrence, journey MDP) happens once, outside the timings,
//!   as on the kiosk where models are refreshed in the background.

use std::fmt;
use std::time::Instant;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::{
    extract, group_sessions, recommend, CatalogIndex, CoOccurrence, Inputs, JourneyModel, MdpError,
    Popularity, RecommendConfig, SkuStats,
};
use crate::catalog::{Minor, Product};
use crate::event::{Event, EventKind};

pub const CATALOG_SIZE: usize = 10_000;
pub const SHOPPER_EVENTS: usize = 1_000;
const STORE_SESSIONS: usize = 5_000;
const DEPARTMENTS: usize = 20;
const LEAVES_PER_DEPARTMENT: usize = 10;
const BRANDS: usize = 200;
const DAY: i64 = 86_400;
const NOW: i64 = 1_700_000_000;

/// Percentiles of one timed operation, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub iterations: usize,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

impl Latency {
    fn of(mut samples_us: Vec<f64>) -> Self {
        samples_us.sort_by(f64::total_cmp);
        let at = |q: f64| {
            samples_us
                .get(((samples_us.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(0.0)
        };
        Self {
            iterations: samples_us.len(),
            p50_us: at(0.5),
            p99_us: at(0.99),
            max_us: at(1.0),
        }
    }
}

/// What [`run`] measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub catalog_size: usize,
    pub shopper_events: usize,
    /// `recommend` for 3 picks, one shopper with history and an item in hand.
    pub rank: Latency,
    /// `extract` + `observe_session` from 1,000 events.
    pub features: Latency,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = |f: &mut fmt::Formatter<'_>, name: &str, l: &Latency| {
            writeln!(
                f,
                "{name:<34} p50 {:>9.1} µs  p99 {:>9.1} µs  max {:>9.1} µs  ({} runs)",
                l.p50_us, l.p99_us, l.max_us, l.iterations
            )
        };
        line(
            f,
            &format!("rank 1 shopper / {} products", self.catalog_size),
            &self.rank,
        )?;
        line(
            f,
            &format!("features from {} events", self.shopper_events),
            &self.features,
        )
    }
}

/// Builds the synthetic world from `seed`, then times `iterations` rankings and feature
/// recomputations.
pub fn run(
    config: &RecommendConfig,
    iterations: usize,
    seed: u64,
) -> Result<BenchReport, MdpError> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let catalog = CatalogIndex::new((0..CATALOG_SIZE).map(|i| synthetic_product(i, &mut rng)));
    let store_events = synthetic_sessions(&catalog, &mut rng);
    let sessions = group_sessions(store_events.iter().map(|(u, e)| (u.as_str(), e)));
    let popularity = Popularity::from_stats(
        &SkuStats::tally(store_events.iter().map(|(_, e)| e)),
        &config.popularity,
    );
    let co_occurrence = CoOccurrence::fit(&sessions, &config.co_occurrence);
    let journey = JourneyModel::fit(&sessions, &config.mdp)?.solve();

    let history = shopper_history(&catalog, &mut rng);
    let in_hand = [Event {
        at: NOW,
        kind: EventKind::View,
        sku: history[0].sku.clone(),
        quantity: 1,
        price: None,
        session: Some("kiosk".into()),
    }];
    let features_of = || {
        let mut f = extract(&history, &catalog, NOW, &config.features);
        f.observe_session(&in_hand, &catalog, &config.features);
        f
    };
    let features = features_of();
    let inputs = Inputs {
        catalog: &catalog,
        features: &features,
        popularity: &popularity,
        co_occurrence: &co_occurrence,
        journey: Some(&journey),
        config,
    };

    let time = |f: &dyn Fn() -> usize| -> Latency {
        let samples = (0..iterations.max(1))
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(f());
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        Latency::of(samples)
    };
    let rank = time(&|| recommend(&inputs, 3).len());
    let feature_latency = time(&|| features_of().items.len());
    Ok(BenchReport {
        catalog_size: catalog.len(),
        shopper_events: history.len(),
        rank,
        features: feature_latency,
    })
}

fn synthetic_product(i: usize, rng: &mut Xoshiro256PlusPlus) -> Product {
    let dept = i % DEPARTMENTS;
    let leaf = (i / DEPARTMENTS) % LEAVES_PER_DEPARTMENT;
    let price = (500.0 * (1.0 + 4.0 * rng.random::<f64>()).powi(3)) as i64;
    let discounted = rng.random::<f64>() < 0.1;
    Product {
        sku: format!("SKU{i:05}"),
        name: format!("Product {i}"),
        brand: Some(format!("Brand{}", rng.random_range(0..BRANDS))),
        category: vec![format!("Dept{dept}"), format!("Dept{dept} Leaf{leaf}")],
        price: Minor(price),
        list_price: discounted.then_some(Minor(price * 5 / 4)),
        description: String::new(),
        tags: vec![
            format!("dept{dept}"),
            format!("leaf{leaf}"),
            format!("style{}", i % 7),
        ],
    }
}

/// Store-wide visits with category locality: most items come from one department.
fn synthetic_sessions(
    catalog: &CatalogIndex,
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<(String, Event)> {
    let kinds = [
        EventKind::View,
        EventKind::View,
        EventKind::View,
        EventKind::Cart,
        EventKind::Purchase,
    ];
    let mut out = Vec::new();
    for s in 0..STORE_SESSIONS {
        let dept = rng.random_range(0..DEPARTMENTS);
        for step in 0..rng.random_range(2..9) {
            let pos = if rng.random::<f64>() < 0.8 {
                dept + DEPARTMENTS * rng.random_range(0..catalog.len() / DEPARTMENTS)
            } else {
                rng.random_range(0..catalog.len())
            };
            let event = Event {
                at: NOW - DAY + step,
                kind: kinds[rng.random_range(0..kinds.len())],
                sku: catalog.products()[pos].sku.clone(),
                quantity: 1,
                price: None,
                session: Some(format!("v{s}")),
            };
            out.push((format!("shopper{}", s % 1_000), event));
        }
    }
    out
}

/// One loyal shopper's 1,000 events over half a year.
fn shopper_history(catalog: &CatalogIndex, rng: &mut Xoshiro256PlusPlus) -> Vec<Event> {
    let kinds = [
        EventKind::View,
        EventKind::View,
        EventKind::Cart,
        EventKind::Purchase,
        EventKind::Return,
    ];
    (0..SHOPPER_EVENTS)
        .map(|i| {
            let pos = rng.random_range(0..catalog.len());
            Event {
                at: NOW - rng.random_range(0..180 * DAY),
                kind: kinds[rng.random_range(0..kinds.len())],
                sku: catalog.products()[pos].sku.clone(),
                quantity: 1,
                price: None,
                session: Some(format!("h{}", i / 5)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn runs_and_reports() {
        let report = run(&RecommendConfig::default(), 3, 1).unwrap();
        assert_eq!(report.catalog_size, CATALOG_SIZE);
        assert_eq!(report.shopper_events, SHOPPER_EVENTS);
        assert_eq!(report.rank.iterations, 3);
        assert!(report.rank.p50_us > 0.0 && report.rank.p50_us <= report.rank.p99_us);
        assert!(format!("{report}").contains("rank 1 shopper / 10000 products"));
    }

    #[test]
    fn percentiles() {
        let l = Latency::of((1..=100).map(f64::from).collect());
        assert_eq!((l.p50_us, l.p99_us, l.max_us), (51.0, 99.0, 100.0));
    }
}
