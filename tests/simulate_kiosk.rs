//! `feedback simulate` runs the kiosk's own picking code: the fused recommender and the style
//! bandit, on a real store with the project's demo data.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use indicatif::ProgressBar;
use shelftalk::config::Config;
use shelftalk::crypto::keyfiles::KeyDir;
use shelftalk::feedback::simulate::{self, SimOptions};
use shelftalk::import;
use shelftalk::ingest::{CatalogFormat, EventFormat, Rules};
use shelftalk::personalise::{KioskPicks, Shelf};
use shelftalk::profile::Vault;

const NOW: i64 = 1_795_824_000; // 2026-11-28

#[test]
fn simulated_sessions_use_the_recommender_and_the_bandit() {
    let tmp = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: tmp.path().to_path_buf(),
        ..Config::default()
    };
    KeyDir::new(config.key_dir())
        .init(&shelftalk::crypto::rng())
        .unwrap();
    let mut vault = Vault::open(&config).unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo");
    let rules = Rules {
        now: NOW,
        ..Rules::default()
    };
    let bar = ProgressBar::hidden();
    import::catalog(
        &mut vault,
        &demo.join("catalog.csv"),
        CatalogFormat::Csv,
        &rules,
        NOW,
        &bar,
    )
    .unwrap();
    import::events(
        &mut vault,
        &demo.join("events.csv"),
        EventFormat::Rees46,
        &rules,
        NOW,
        &bar,
    )
    .unwrap();

    let shelf = Shelf::load(&vault, &config.recommend, NOW).unwrap();
    let catalog: std::collections::HashSet<String> = shelf
        .model()
        .catalog
        .products()
        .iter()
        .map(|p| p.sku.clone())
        .collect();
    let mut source = KioskPicks::new(shelf, &vault, 9, NOW).unwrap();
    let categories = source.categories();
    assert_eq!(categories.len(), 8);
    let opts = SimOptions {
        sessions: 200,
        seed: 9,
        now: NOW,
        days: 5,
        window_secs: 3600,
        picks_per_session: 3,
        holdout_share: 0.1,
    };
    let report = simulate::run(vault.store.conn_mut(), &mut source, &categories, &opts).unwrap();
    assert_eq!(report.impressions, 600);

    let conn = vault.store.conn();
    let mut stmt = conn
        .prepare(
            "SELECT sku, style, propensity, segment, arm, arm_propensity, content_kind
             FROM feedback_impressions",
        )
        .unwrap();
    type Row = (String, String, f64, String, String, f64, String);
    let rows: Vec<Row> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 600);
    let styles: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert!(styles.len() >= 2, "the bandit explores: {styles:?}");
    let holdout = rows.iter().filter(|r| r.4 == "holdout").count();
    // 10 % of 200 sessions, three picks each: 60 expected; binomial sd about 13.
    assert!(
        (20..=110).contains(&holdout),
        "{holdout} holdout impressions"
    );
    for (sku, _, p, segment, arm, arm_p, kind) in &rows {
        assert!(catalog.contains(sku));
        assert!(*p > 0.0 && *p <= 1.0);
        if arm == "holdout" {
            // The holdout reads nothing of the shopper: store popularity, template copy.
            assert_eq!(
                (segment.as_str(), *arm_p, kind.as_str()),
                ("all", 0.1, "template")
            );
        } else {
            assert_eq!((arm.as_str(), kind.as_str()), ("personalised", "blurb"));
            assert!((arm_p - 0.9).abs() < 1e-12);
            // Recommender segment keys: department/band.
            assert!(segment.contains('/'), "{segment}");
        }
    }
}
