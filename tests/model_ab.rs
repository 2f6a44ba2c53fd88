//! Two or more model files of the same model, A/B, through the engine's own paths: how long a
//! request's suffix takes to decode with the style's prefix cached (the whole time to first token,
//! `bench copy`), and the bare decode step at one and three sequences (`decode_widths`).
//!
//! `SHELFTALK_AB_MODELS=a.gguf,b.gguf cargo test --test model_ab -- --ignored --nocapture`
//! (`SHELFTALK_AB_ROUNDS`, default 3). For a candidate file made from the kiosk's (another
//! quantisation, a trim): it measures speed only; the copy's quality is `bench copy`'s to judge, on
//! 200 pairs per locale.
//!
//! Invariants:
//! - Each file is verified like the kiosk's (size and sha256, computed here) before it loads.
//! - Files take turns, a fresh engine each round (a, b, a, b…), so the machine's drift during the
//!   run falls on all of them; one engine at a time.
//! - The same prompts for every file: 8 products of each demo catalog (zh-CN and en), the
//!   bench's segments, all four styles; the prefix is decoded before any suffix is timed.
//! - The bare loop's context is the prompts' p50 length (prefix and suffix), as in `bench copy`.
//! - The figures are medians with their sample sizes; nothing is asserted (a speed figure).
#![cfg(feature = "llama")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::path::PathBuf;

use shelftalk::copy::bench::bench_segments;
use shelftalk::copy::engine::GenerationRequest;
use shelftalk::copy::{Audience, Currency, EngineConfig, EngineHandle, PromptBuilder, PromptPack};
use shelftalk::ingest::{read_catalog_file, Rules};
use shelftalk::locale::Locale;
use shelftalk::vocab::Style;

mod common;

/// Steps per width of the bare loop, per round.
const STEPS: u32 = 24;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

#[derive(Default)]
struct Figures {
    /// Suffix decode time per token, one per request.
    suffix_ms_per_token: Vec<f64>,
    suffix_tokens: Vec<f64>,
    /// Prefix and suffix tokens, one per request.
    prompt_tokens: Vec<f64>,
    /// Bare decode step at one and at three sequences, one per round.
    step_1: Vec<f64>,
    step_3: Vec<f64>,
}

#[test]
#[ignore = "benchmark: minutes on the real model"]
fn suffix_and_step_by_model_file() {
    let Ok(list) = std::env::var("SHELFTALK_AB_MODELS") else {
        eprintln!("SKIPPED: set SHELFTALK_AB_MODELS=a.gguf,b.gguf");
        return;
    };
    let files: Vec<PathBuf> = list.split(',').map(PathBuf::from).collect();
    let rounds: usize = std::env::var("SHELFTALK_AB_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let usd = Currency {
        code: "USD".into(),
        symbol: "$".into(),
        aliases: vec!["USD".into()],
    };
    let mut prompts = Vec::new();
    for (locale, catalog, currency) in [
        (Locale::ZhCn, "demo/zh-CN/catalog.csv", Currency::cny()),
        (Locale::En, "demo/catalog.csv", usd),
    ] {
        let products = read_catalog_file(&common::root().join(catalog), &Rules::default()).unwrap();
        let builder = PromptBuilder::new(&PromptPack::builtin_for(locale).unwrap(), &currency);
        let segments = bench_segments(locale);
        for (i, product) in products.iter().skip(5).step_by(37).take(8).enumerate() {
            let audience = Audience {
                segment: &segments[i % segments.len()],
                brand_fan: false,
            };
            let style = Style::ALL[i % Style::ALL.len()];
            prompts.push(builder.prompt(&builder.facts(product), audience, style));
        }
    }
    let mut figures: Vec<Figures> = files.iter().map(|_| Figures::default()).collect();
    for _ in 0..rounds {
        for (file, figures) in files.iter().zip(&mut figures) {
            let manifest = common::manifest_for(file);
            let engine = EngineHandle::start(file, &manifest, EngineConfig::default()).unwrap();
            let request = |prompt: &shelftalk::copy::prompt::Prompt| GenerationRequest {
                max_tokens: Some(1),
                prefix_cache: Some(true),
                ..GenerationRequest::new(prompt.prefix.clone(), prompt.suffix.clone(), 1)
            };
            for prompt in &prompts {
                // The prefix first (cached), then the suffix alone is decoded and timed.
                engine
                    .generate(request(prompt))
                    .unwrap()
                    .finish(|_| {})
                    .unwrap();
                let t = engine
                    .generate(request(prompt))
                    .unwrap()
                    .finish(|_| {})
                    .unwrap()
                    .timings;
                let tokens = f64::from(t.prompt_tokens.max(1));
                figures.suffix_ms_per_token.push(t.prompt_ms / tokens);
                figures.suffix_tokens.push(tokens);
                figures
                    .prompt_tokens
                    .push(f64::from(t.prompt_tokens + t.cached_tokens));
            }
            let context = median(figures.prompt_tokens.clone()).round() as u32;
            let widths = engine.decode_widths(&[1, 3], STEPS, context).unwrap();
            figures.step_1.push(widths[0].step_ms);
            figures.step_3.push(widths[1].step_ms);
        }
    }
    for (file, f) in files.iter().zip(figures) {
        println!(
            "{}: suffix {:.2} ms a token (p50 of {} requests, {:.0} tokens p50); bare step {:.1} ms at one sequence, {:.1} at three (p50 of {} rounds, {STEPS} steps each)",
            file.display(),
            median(f.suffix_ms_per_token.clone()),
            f.suffix_ms_per_token.len(),
            median(f.suffix_tokens),
            median(f.step_1.clone()),
            median(f.step_3.clone()),
            f.step_1.len(),
        );
    }
}
