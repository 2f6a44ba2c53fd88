//! The project's own demo data (`demo/`, and the zh-CN demo's `demo/zh-CN/`): it parses cleanly,
//! has the intended structure, the generator reproduces it byte for byte, and the zh-CN demo's
//! loyalty codes are shoppers with personal picks once `shelftalk demo --locale zh-CN` set it up.
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
use shelftalk::daemon::demo;
use shelftalk::event::{EventKind, ImportedEvent};
use shelftalk::i18n;
use shelftalk::ingest::{
    open_source, read_catalog, read_events, CatalogFormat, EventFormat, Row, Rules,
};
use shelftalk::locale::Locale;
use shelftalk::personalise::StoreModel;
use shelftalk::profile::Vault;
use shelftalk::recommend::display_reason;
use shelftalk::vocab::LoyaltyNumber;

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
    catalog_in(&demo())
}

fn catalog_in(dir: &Path) -> Vec<Product> {
    let src = open_source(&dir.join("catalog.csv")).unwrap();
    let rows = read_catalog(src.reader, "catalog.csv", CatalogFormat::Csv, &rules()).unwrap();
    all_accepted(rows)
}

fn events() -> Vec<ImportedEvent> {
    events_in(&demo())
}

fn events_in(dir: &Path) -> Vec<ImportedEvent> {
    let src = open_source(&dir.join("events.csv")).unwrap();
    let rows = read_events(src.reader, "events.csv", EventFormat::Rees46, &rules()).unwrap();
    all_accepted(rows)
}

fn zh_demo() -> PathBuf {
    demo::source_dir(&demo(), Locale::ZhCn)
}

fn han(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
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
    for file in [
        "catalog.csv",
        "events.csv",
        "zh-CN/catalog.csv",
        "zh-CN/events.csv",
    ] {
        let fresh = std::fs::read(out.path().join(file)).unwrap();
        let committed = std::fs::read(demo().join(file)).unwrap();
        assert!(
            fresh == committed,
            "demo/{file} differs from a fresh `python3 demo/generate.py`"
        );
    }
}

#[test]
fn zh_demo_catalog_and_events_are_clean_chinese_and_in_yuan() {
    let products = catalog_in(&zh_demo());
    assert_eq!(products.len(), 360);
    let brands: BTreeSet<&str> = products.iter().filter_map(|p| p.brand.as_deref()).collect();
    assert_eq!(brands.len(), 18, "{brands:?}");
    assert!(brands.iter().all(|b| han(b)));
    for p in &products {
        assert!(han(&p.name) && han(&p.description) && p.category.iter().all(|c| han(c)));
        // Whole yuan, ending in 9 or 5, as Chinese shelves price.
        assert_eq!(p.price.0 % 100, 0, "{p:?}");
        assert!(matches!(p.price.0 / 100 % 10, 9 | 5), "{p:?}");
        // No absolute claim China's advertising law forbids in the data the copy is written from.
        for claim in ["最", "第一", "顶级", "极品", "国家级", "绝对"] {
            assert!(
                !p.name.contains(claim) && !p.description.contains(claim),
                "{p:?}"
            );
        }
    }
    let by_sku: HashMap<&str, &Product> = products.iter().map(|p| (p.sku.as_str(), p)).collect();
    let events = events_in(&zh_demo());
    assert!(events.len() > 5_000, "{}", events.len());
    let mut shoppers = BTreeSet::new();
    for e in &events {
        let p = by_sku[e.event.sku.as_str()];
        assert_eq!(e.event.price, Some(p.price));
        assert_eq!(e.hint.brand, p.brand);
        shoppers.insert(e.customer.as_deref().unwrap());
    }
    assert_eq!(shoppers.len(), 400);
}

/// `shelftalk demo --locale zh-CN`'s set-up: the zh catalog and log import with nothing
/// quarantined, the config says zh-CN and yuan, and each loyalty code the demo prints is an
/// enrolled shopper with three personal picks whose reasons read in Chinese.
#[test]
fn zh_demo_sets_up_and_its_loyalty_codes_get_personal_picks() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let (config, setup) = demo::configure(&data_dir, &demo(), Locale::ZhCn).unwrap();
    assert!(setup.created);
    assert_eq!(config.locale, Locale::ZhCn);
    assert_eq!(config.currency.code, "CNY");
    assert_eq!(setup.loyalty_codes.len(), 3);
    let vault = Vault::open(&config).unwrap();
    let quarantined: i64 = vault
        .store
        .conn()
        .query_row("SELECT COUNT(*) FROM quarantine", [], |r| r.get(0))
        .unwrap();
    assert_eq!(quarantined, 0);
    let model = StoreModel::load(&vault, config.recommend.clone(), NOW).unwrap();
    assert_eq!(model.catalog.len(), 360);
    let zh = i18n::messages(Locale::ZhCn);
    for code in &setup.loyalty_codes {
        let shopper = vault
            .find(&LoyaltyNumber::parse(code).unwrap())
            .unwrap()
            .unwrap_or_else(|| panic!("{code} is no shopper"));
        let features = model.features(&vault, Some(&shopper), &[], NOW).unwrap();
        assert!(features.has_history());
        let picks = model.recommend(&features, 3);
        assert_eq!(picks.len(), 3);
        for pick in &picks {
            let line = display_reason(&pick.reasons, zh);
            assert!(han(&line), "{line}");
        }
    }
    // The data dir is the zh demo's: set up again it stays; the en demo is refused there.
    let (_, again) = demo::configure(&data_dir, &demo(), Locale::ZhCn).unwrap();
    assert!(!again.created);
    let refused = demo::configure(&data_dir, &demo(), Locale::En).unwrap_err();
    assert!(refused.to_string().contains("zh-CN"), "{refused}");
}

/// The loyalty codes the demo prints get a personal session on the day they are printed: none is
/// in that day's holdout (which sees the store's popular picks), and none is skipped that is not.
#[test]
fn the_demo_prints_codes_outside_the_days_holdout() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let (mut config, setup) = demo::configure(&data_dir, &demo(), Locale::En).unwrap();
    assert!(setup.loyalty_codes.len() <= 3);
    let candidates = demo::top_loyalty_codes(&demo().join("events.csv"), 24).unwrap();
    let vault = Vault::open(&config).unwrap();
    let keys = vault.keys();
    let in_holdout = |config: &shelftalk::config::Config, code: &str| {
        let shopper = vault
            .find(&LoyaltyNumber::parse(code).unwrap())
            .unwrap()
            .unwrap_or_else(|| panic!("{code} is no shopper"));
        let tag = keys.pepper.attribution_tag(&shopper.record.id);
        shelftalk::daemon::kiosk::arm_of(config, &keys.pepper, &tag.0, NOW).holdout
    };

    config.experiment.holdout_share = 0.5;
    let shown = demo::personal_today(&config, &candidates, NOW).unwrap();
    assert_eq!(shown.len(), 3, "{shown:?}");
    let last = candidates
        .iter()
        .position(|c| Some(c) == shown.last())
        .unwrap();
    for code in &candidates[..=last] {
        assert_eq!(shown.contains(code), !in_holdout(&config, code), "{code}");
    }

    config.experiment.holdout_share = 0.0;
    assert_eq!(
        demo::personal_today(&config, &candidates, NOW).unwrap(),
        candidates[..3]
    );
    config.experiment.holdout_share = 1.0;
    assert!(demo::personal_today(&config, &candidates, NOW)
        .unwrap()
        .is_empty());
}
