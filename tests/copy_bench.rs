//! `copy::bench::run` on the real model: `make bench-copy` (both locales, profile `measure`), or
//! `cargo test --profile measure --test copy_bench -- --ignored --nocapture`.
//! Ignored by default (it takes minutes); the numbers are reported, not asserted, except that
//! every pair is served. `SHELFTALK_BENCH_PAIRS` sets the number of pairs (default 100);
//! `SHELFTALK_BENCH_SHOW_COPY=1` lists every pair's served copy after the report;
//! `SHELFTALK_MODEL` names a candidate model file (checked against its own size and sha256).
//! It needs the real model and the real catalog sample (`SHELFTALK_REAL_DATA`, default
//! `../shared/data`); when either is missing it prints "SKIPPED: ..." and passes, unless
//! `SHELFTALK_REQUIRE_MODEL=1` / `SHELFTALK_REQUIRE_REAL_DATA=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::path::Path;

use shelftalk::catalog::{Minor, Product};
use shelftalk::copy::bench::{self, BenchOptions};
use shelftalk::copy::engine::{FlashAttention, KvCache, KvLayout};
use shelftalk::copy::{
    BrandList, CopyService, Currency, EngineConfig, GuardrailConfig, PromptPack,
};

mod common;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn products(path: &Path) -> Vec<Product> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let minor = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .map(|v| Minor((v * 100.0).round() as i64))
    };
    reader
        .deserialize::<std::collections::HashMap<String, String>>()
        .filter_map(|r| {
            let r = r.ok()?;
            let list = minor(&r["retail_price"]);
            let price = minor(&r["discounted_price"]).or(list)?;
            let category: Vec<String> = r["product_category_tree"]
                .trim_matches(|c| matches!(c, '[' | ']' | '"'))
                .split(">>")
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
            Some(Product {
                sku: r["pid"].clone(),
                name: r["product_name"].trim().to_string(),
                brand: Some(r["brand"].trim().to_string()).filter(|b| !b.is_empty()),
                tags: category.iter().map(|c| c.to_lowercase()).collect(),
                category,
                price,
                list_price: list.filter(|l| *l > price),
                description: r["description"].clone(),
            })
        })
        .collect()
}

#[test]
#[ignore = "benchmark: minutes on the real model"]
fn bench_copy() {
    let Some(catalog) = common::real_data("flipkart_catalog_700.csv") else {
        return;
    };
    let Some(model) = common::model() else { return };
    let products = products(&catalog);
    let defaults = EngineConfig::default();
    let config = EngineConfig {
        temperature: env_or("SHELFTALK_TEMPERATURE", defaults.temperature),
        top_k: env_or("SHELFTALK_TOP_K", defaults.top_k),
        repeat_penalty: env_or("SHELFTALK_REPEAT_PENALTY", defaults.repeat_penalty),
        admit_per_step: env_or("SHELFTALK_BENCH_ADMIT_PER_STEP", defaults.admit_per_step),
        draft_rows: env_or("SHELFTALK_BENCH_DRAFT_ROWS", defaults.draft_rows),
        ..defaults
    };
    let service = CopyService::start(
        &model,
        &common::manifest_for(&model),
        config,
        &PromptPack::builtin().unwrap(),
        &Currency::default(),
        BrandList::from_products(&products),
        GuardrailConfig::default(),
    );
    let sample: Vec<Product> = products.iter().step_by(7).cloned().collect();
    let options = BenchOptions {
        pairs: env_or("SHELFTALK_BENCH_PAIRS", 100),
        seed: env_or("SHELFTALK_BENCH_SEED", BenchOptions::default().seed),
        show_copy: env_or("SHELFTALK_BENCH_SHOW_COPY", 0) == 1,
        ..BenchOptions::default()
    };
    let report = bench::run(&service, &sample, &options).unwrap();
    println!("{report}");
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(report.false_price_rate, 0.0, "{report}");
    assert_eq!(report.elsewhere_rate, 0.0, "{report}");
    assert_eq!(report.prompt_echo_rate, 0.0, "{report}");
}

/// One service per locale, built as the kiosk builds it: the locale's built-in pack, the store
/// currency, the catalog's brands, default guardrails (judged in the pack's locale).
fn service_for(
    model: &Path,
    locale: shelftalk::locale::Locale,
    currency: &Currency,
    products: &[Product],
) -> CopyService {
    let defaults = EngineConfig::default();
    let engine = EngineConfig {
        budget_ms: env_or("SHELFTALK_BUDGET_MS", defaults.budget_ms),
        temperature: env_or("SHELFTALK_TEMPERATURE", defaults.temperature),
        parallel: env_or("SHELFTALK_BENCH_PARALLEL", defaults.parallel),
        admit_per_step: env_or("SHELFTALK_BENCH_ADMIT_PER_STEP", defaults.admit_per_step),
        draft_rows: env_or("SHELFTALK_BENCH_DRAFT_ROWS", defaults.draft_rows),
        pad_outputs: env_or("SHELFTALK_BENCH_PAD_OUTPUTS", defaults.pad_outputs),
        n_ctx: env_or("SHELFTALK_BENCH_N_CTX", defaults.n_ctx),
        n_ubatch: env_or("SHELFTALK_BENCH_N_UBATCH", defaults.n_ubatch),
        flash_attention: match std::env::var("SHELFTALK_BENCH_FLASH_ATTENTION").as_deref() {
            Ok("on") => FlashAttention::On,
            Ok("off") => FlashAttention::Off,
            _ => defaults.flash_attention,
        },
        kv_layout: match std::env::var("SHELFTALK_BENCH_KV_LAYOUT").as_deref() {
            Ok("unified") => KvLayout::Unified,
            Ok("split") => KvLayout::Split,
            _ => defaults.kv_layout,
        },
        kv_cache: match std::env::var("SHELFTALK_BENCH_KV_CACHE").as_deref() {
            Ok("f16") => KvCache::F16,
            Ok("q8_0") => KvCache::Q8_0,
            _ => defaults.kv_cache,
        },
        ..defaults
    };
    CopyService::start(
        model,
        &common::manifest_for(model),
        engine,
        &PromptPack::builtin_for(locale).unwrap(),
        currency,
        BrandList::from_products(products),
        GuardrailConfig::default(),
    )
}

/// zh-CN on the zh fixture catalog (`tests/fixtures/zh_catalog.csv`, CNY) and en on the demo
/// catalog (`demo/catalog.csv`, USD), in the same run, one after the other:
/// `cargo test --test copy_bench -- --ignored --nocapture bench_copy_zh_and_en`
/// (`SHELFTALK_BENCH_PAIRS`, default 100 per locale; `SHELFTALK_BENCH_SEED`, default 7;
/// `SHELFTALK_BENCH_LOCALES`, default `zh-CN,en`; `SHELFTALK_BENCH_PARALLEL`, the engine's
/// `parallel`, default the engine's; `SHELFTALK_BENCH_PAD_OUTPUTS`, the engine's `pad_outputs`
/// (1: no padding), default the engine's; `SHELFTALK_BENCH_N_CTX`, the engine's `n_ctx`;
/// `SHELFTALK_BENCH_N_UBATCH`, the engine's `n_ubatch`; `SHELFTALK_BENCH_KV_CACHE`, the engine's
/// `kv_cache` (`f16` or `q8_0`); `SHELFTALK_BENCH_KV_LAYOUT`, the engine's `kv_layout` (`split` or
/// `unified`); `SHELFTALK_BENCH_FLASH_ATTENTION`, the engine's `flash_attention` (`on`, `off`);
/// `SHELFTALK_TEMPERATURE`, the engine's first-try temperature; `SHELFTALK_BUDGET_MS`, the engine's
/// budget
/// per blurb, default the engine's: raise it on a loaded machine to measure the guardrails
/// rather than the CPU).
#[test]
#[ignore = "benchmark: minutes on the real model"]
fn bench_copy_zh_and_en() {
    use shelftalk::ingest::{read_catalog_file, Rules};
    use shelftalk::locale::Locale;
    let Some(model) = common::model() else { return };
    let options = BenchOptions {
        pairs: env_or("SHELFTALK_BENCH_PAIRS", 100),
        seed: env_or("SHELFTALK_BENCH_SEED", 7),
        show_copy: env_or("SHELFTALK_BENCH_SHOW_COPY", 0) == 1,
        ..BenchOptions::default()
    };
    let usd = Currency {
        code: "USD".into(),
        symbol: "$".into(),
        aliases: vec!["USD".into(), "dollar".into(), "dollars".into()],
    };
    // Each locale on its demo catalog; the zh pack was tuned on the zh fixture catalog
    // (`SHELFTALK_BENCH_ZH_CATALOG=tests/fixtures/zh_catalog.csv`).
    let zh_catalog: String = env_or(
        "SHELFTALK_BENCH_ZH_CATALOG",
        "demo/zh-CN/catalog.csv".to_string(),
    );
    let runs = [
        (Locale::ZhCn, zh_catalog.as_str(), Currency::cny()),
        (Locale::En, "demo/catalog.csv", usd),
    ];
    let wanted: String = env_or("SHELFTALK_BENCH_LOCALES", "zh-CN,en".to_string());
    let wanted: Vec<Locale> = wanted.split(',').filter_map(|l| l.parse().ok()).collect();
    let mut summary = Vec::new();
    for (locale, catalog, currency) in runs {
        if !wanted.contains(&locale) {
            continue;
        }
        let products = read_catalog_file(&common::root().join(catalog), &Rules::default()).unwrap();
        let service = service_for(&model, locale, &currency, &products);
        let report = bench::run(&service, &products, &options).unwrap();
        println!(
            "== {locale} on {catalog} ({} products)\n{report}\n",
            products.len()
        );
        assert_eq!(report.false_price_rate, 0.0, "{report}");
        assert_eq!(report.elsewhere_rate, 0.0, "{report}");
        assert_eq!(report.prompt_echo_rate, 0.0, "{report}");
        summary.push(format!(
            "{locale}: first try {:.1} %, from the model {:.1} %, false prices {:.1} %, fresh blurb p50 {:.0} ms ({} pairs, seed {})",
            report.first_try_pass_rate * 100.0,
            report.model_served_rate * 100.0,
            report.false_price_rate * 100.0,
            report.blurb_ms_p50,
            report.pairs,
            options.seed,
        ));
    }
    for line in summary {
        println!("{line}");
    }
}
