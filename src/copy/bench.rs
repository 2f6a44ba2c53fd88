//! `shelftalk bench copy`: throughput, latency, prefix-cache effect, memory and guardrail pass
//! rate of the copy pipeline on the real model.
//!
//! Invariants:
//! - The bench only reads: it uses the service's engine and prompts, and touches no store.
//! - The decode limit is the engine's bare decode loop ([`EngineHandle::decode_widths`]: no
//!   sampling, no gate) on the same model, threads and context, run in the same bench; its width
//!   table shows what decoding several sequences together buys on this machine. Its context is the
//!   pairs' own prompt length (p50 of the uncached requests' prompts: prefix and suffix), so its
//!   steps attend over as many cells as the requests' first generated tokens do.
//! - Warm throughput is measured twice over the same pairs: one request at a time, and with
//!   `engine.parallel` requests in flight (decoded together by the worker).
//!
//! [`EngineHandle::decode_widths`]: crate::copy::engine::EngineHandle::decode_widths
//! - Peak RSS is the process's `VmHWM` (Linux), so it includes everything loaded before the bench.
//! - Products are a seeded random sample ([`sample`]: ordered by a hash of seed and sku), paired
//!   with the segments and all four styles in turn; the same seed gives the same pairs.
//! - The false price rate is judged by [`false_price`], written apart from the guardrails (its
//!   own amount finder and role words, English and Chinese, the catalog's raw prices), so a
//!   blind spot of the guardrails is not repeated here. It counts served copy (after the
//!   guardrails), model or template. Target: 0. It reads amounts in digits (full-width too) and
//!   English money words with no number before them (`a few dollars less`: its own list);
//!   Chinese numerals are left to the guardrails.
//! - Copy that sends the shopper elsewhere is judged by [`sends_elsewhere`], also written apart
//!   from the guardrails (another retailer's name from [`OTHER_RETAILERS`] as a word, a web
//!   address). It counts served copy. Target: 0.
//! - Copy that repeats its prompt is judged by [`repeats_the_prompt`], also written apart from
//!   the guardrails (the shopper's budget named, the words of a copywriting brief). It counts
//!   served copy. Target: 0.
//! - Copy that shows junk is judged by [`shows_junk`], also written apart from the guardrails
//!   (symbols and letters by their Unicode blocks, its own list of words that cannot end
//!   copy). It counts served copy. Target: 0.
//! - The pairs' segments are shopper archetypes in the service's locale ([`bench_segments`]).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::catalog::{Minor, Product};
use crate::copy::engine::{EngineError, GenerationRequest, Timings, WidthFigure};
use crate::copy::guardrails::{Verdict, OTHER_RETAILERS};
use crate::copy::prompt::{Audience, Currency};
use crate::copy::service::{CopyProgress, CopyRequest, CopyService, CopySource};
use crate::locale::Locale;
use crate::vocab::{PriceBand, SegmentKey, Style};

/// Errors of the bench.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("the copy service has no language model (it serves templates)")]
    EngineUnavailable,
    #[error("no products to benchmark with")]
    NoProducts,
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BenchOptions {
    /// Product × segment pairs for latency, throughput and pass rate.
    pub pairs: usize,
    /// Requests for the time-to-first-token comparison.
    pub ttft_samples: usize,
    /// Kiosk sessions of three picks timed grouped and one after another (24: the p50 of 12
    /// swung by 0.1-0.15x one fresh blurb between runs of the same pairs).
    pub sessions: usize,
    pub seed: u32,
    /// Keep every pair's served copy in the report ([`BenchReport::served`]).
    pub show_copy: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            pairs: 100,
            ttft_samples: 8,
            sessions: 24,
            seed: 7,
            show_copy: false,
        }
    }
}

/// Results. `Display` prints a short table; serde gives JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub model: String,
    pub threads: i32,
    pub n_ctx: u32,
    /// The CPU kernels llama.cpp was compiled with (`EngineInfo::kernels`).
    pub kernels: String,
    pub prompt_tokens_per_sec: f64,
    pub generation_tokens_per_sec: f64,
    /// The decode limit of the same steps: the tokens generated in the one-at-a-time run over
    /// the time `llama_decode` alone took for them ([`Timings::decode_ms`]).
    #[serde(default)]
    pub decode_limit_tokens_per_sec: f64,
    /// Tokens behind both generation rates.
    #[serde(default)]
    pub generated_tokens: u64,
    /// Over the whole run: draft tokens decoded beside a sampled one
    /// (`EngineConfig::draft_rows`), and of them those the model then sampled (steps saved).
    #[serde(default)]
    pub drafted_tokens: u64,
    #[serde(default)]
    pub accepted_drafts: u64,
    /// Over the whole run: the gate's dead ends (every token drawn for a step refused), taken
    /// back by a rewind or ending the copy there.
    #[serde(default)]
    pub rewinds: u64,
    #[serde(default)]
    pub dead_end_stops: u64,
    /// Over the whole run: lone spaces taken back because what the model reached for after
    /// one was refused (`EngineStats::space_rewinds`).
    #[serde(default)]
    pub space_rewinds: u64,
    /// Over the whole run: amounts in words taken back, the model having reached for the money
    /// word (`EngineStats::words_rewinds`).
    #[serde(default)]
    pub words_rewinds: u64,
    /// Step times by rows the engine measured at start, and the drafts it takes by them
    /// (`EngineInfo::draft_timing`).
    #[serde(default)]
    pub draft_timing: crate::copy::engine::DraftTiming,
    /// The bare decode loop (no sampling, no gate) by number of sequences decoded together,
    /// over a shared context of [`BenchReport::width_context`] tokens; width 1 is the limit
    /// generation is compared with.
    #[serde(default)]
    pub decode_widths: Vec<WidthFigure>,
    /// The bare loop's context: the p50 prompt (prefix and suffix) of the uncached requests.
    #[serde(default)]
    pub width_context: u32,
    /// The bare loop with one sequence again, right after the one-at-a-time pairs.
    #[serde(default)]
    pub bare_after: Option<WidthFigure>,
    /// Where the cached time to first token goes, p50s over the cached requests: suffix tokens
    /// decoded, the suffix's decode (admission included) and the first token's sampling and gate.
    #[serde(default)]
    pub suffix_tokens_p50: f64,
    #[serde(default)]
    pub suffix_ms_p50: f64,
    #[serde(default)]
    pub first_sample_ms_p50: f64,
    pub ttft_cached_ms_p50: f64,
    pub ttft_uncached_ms_p50: f64,
    /// Cached over uncached (target ≤ 0.25).
    pub ttft_ratio: f64,
    /// Requests behind each time-to-first-token p50.
    #[serde(default)]
    pub ttft_samples: usize,
    /// The fresh blurbs' first attempts (every pair, prefix cached, one request at a time
    /// through the copier): time to first token p50 (the queue included) and their suffix
    /// tokens p50.
    #[serde(default)]
    pub fresh_ttft_ms_p50: f64,
    #[serde(default)]
    pub fresh_suffix_tokens_p50: f64,
    /// The fresh blurbs: from the copier asked to the first visible words it streams (what the
    /// shopper's screen shows first; a number in progress is held back), p50 over every pair.
    #[serde(default)]
    pub first_words_ms_p50: f64,
    /// Tokens the fresh blurbs' first attempts generated: p50, p90, and the share that stopped
    /// at `max_tokens` (the rest ended on their own: a newline or the end of text).
    #[serde(default)]
    pub first_try_tokens_p50: f64,
    #[serde(default)]
    pub first_try_tokens_p90: f64,
    #[serde(default)]
    pub first_try_at_max_tokens: f64,
    pub pairs: usize,
    /// Fresh blurb (prompt + generation + guardrails + any retry), prefix cache warm.
    pub blurb_ms_p50: f64,
    pub blurb_ms_p99: f64,
    pub warm_blurbs_per_sec: f64,
    pub warm_mode: String,
    /// Requests the engine decodes together (`engine.parallel`).
    #[serde(default)]
    pub parallel: u32,
    /// The same pairs again with `parallel` blurbs in flight (as `copy warm` and the idle
    /// warm-up write them): blurbs per second, and the first-try pass rate of those blurbs.
    #[serde(default)]
    pub warm_grouped_blurbs_per_sec: f64,
    #[serde(default)]
    pub grouped_first_try_pass_rate: f64,
    /// A warm-up plan's shape ([`WARM_PLAN_PRODUCTS`] of the pairs' products × the first
    /// [`WARM_PLAN_SEGMENTS`] bench segments × every style) with `parallel` in flight: blurbs
    /// per second in `copy warm`'s order (style, product, segment), and the same blurbs in the
    /// order before it (style, segment, product).
    #[serde(default)]
    pub warm_plan_blurbs: usize,
    #[serde(default)]
    pub warm_plan_blurbs_per_sec: f64,
    #[serde(default)]
    pub warm_plan_mixed_blurbs_per_sec: f64,
    /// Kiosk sessions of three picks (`sessions` of them): time until all three copies are
    /// complete, written together as the screen asks for them, and one after another.
    #[serde(default)]
    pub sessions: usize,
    #[serde(default)]
    pub session_grouped_ms_p50: f64,
    #[serde(default)]
    pub session_sequential_ms_p50: f64,
    /// The three picks together with a fourth blurb in flight (a warm-up blurb filling the
    /// batch): time until the three picks are complete.
    #[serde(default)]
    pub session_with_fourth_ms_p50: f64,
    /// The sessions written together: tokens the longest of the three picks generated (every
    /// attempt of it), p50: what a session waits for, beside a fresh blurb's
    /// [`Self::first_try_tokens_p50`].
    #[serde(default)]
    pub session_longest_tokens_p50: f64,
    /// The sessions written together: when the first words of the first pick were streamed
    /// (from the session's start, p50), and of the last of the three to begin.
    #[serde(default)]
    pub session_first_words_ms_p50: f64,
    #[serde(default)]
    pub session_all_begun_ms_p50: f64,
    /// Each session written together over the mean time of its own three picks written one
    /// after another at the same moment, p50 of the sessions: the target's ratio (three picks
    /// against one blurb) on the same products, free of the drift between the parts of a run.
    #[serde(default)]
    pub session_to_own_picks_p50: f64,
    /// Share of pairs whose first model attempt passed the guardrails (target ≥ 0.9).
    pub first_try_pass_rate: f64,
    /// Share served from the model after the retry.
    pub model_served_rate: f64,
    pub first_try_failures: BTreeMap<String, u64>,
    /// The first [`FAILURE_EXAMPLES`] failing first attempts: `sku [verdict detail] text`, for
    /// whoever tunes the prompt pack.
    pub first_try_failed: Vec<String>,
    /// First attempts that passed only ended at their last whole clause, by the whole text's
    /// failure (counted in the pass rate: that copy is what the shopper is served).
    #[serde(default)]
    pub first_try_cuts: BTreeMap<String, u64>,
    /// The first [`FAILURE_EXAMPLES`] of them: `sku [reason] served | dropped`.
    #[serde(default)]
    pub first_try_cut: Vec<String>,
    /// Share of pairs whose served copy states a false price ([`false_price`]; target 0).
    #[serde(default)]
    pub false_price_rate: f64,
    /// The first [`FAILURE_EXAMPLES`] served texts with a false price: `sku [why] text`.
    #[serde(default)]
    pub false_prices: Vec<String>,
    /// Share of pairs whose served copy names another retailer or a web address
    /// ([`sends_elsewhere`]; target 0).
    #[serde(default)]
    pub elsewhere_rate: f64,
    /// The first [`FAILURE_EXAMPLES`] of them: `sku [what] text`.
    #[serde(default)]
    pub elsewhere: Vec<String>,
    /// Share of pairs whose served copy repeats its prompt ([`repeats_the_prompt`]; target 0).
    #[serde(default)]
    pub prompt_echo_rate: f64,
    /// The first [`FAILURE_EXAMPLES`] of them: `sku [what] text`.
    #[serde(default)]
    pub prompt_echoes: Vec<String>,
    /// Share of pairs whose served copy shows junk ([`shows_junk`]: a symbol or a foreign
    /// letter its facts lack, a last word that waits for more; target 0).
    #[serde(default)]
    pub junk_rate: f64,
    /// The first [`FAILURE_EXAMPLES`] of them: `sku [what] text`.
    #[serde(default)]
    pub junk: Vec<String>,
    pub peak_rss_mb: Option<f64>,
    /// With [`BenchOptions::show_copy`]: every pair's served copy, `sku [tokens of each attempt]
    /// text`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub served: Vec<String>,
}

/// Steps timed per width of the bare decode loop.
pub const WIDTH_STEPS: u32 = 24;

/// Failing first attempts kept in the report.
pub const FAILURE_EXAMPLES: usize = 20;

/// The segments paired with each product: fixed shopper archetypes, in the copy's locale.
pub fn bench_segments(locale: Locale) -> Vec<SegmentKey> {
    let departments = match locale {
        Locale::En => ["home decor", "fitness", "fashion", "gadgets"],
        Locale::ZhCn => ["家居", "运动健身", "时尚", "数码"],
    };
    let bands = [
        PriceBand::Mid,
        PriceBand::Low,
        PriceBand::High,
        PriceBand::Mid,
    ];
    departments
        .into_iter()
        .zip(bands)
        .map(|(d, b)| SegmentKey::new(d, Some(b)))
        .collect()
}

fn audience(segment: &SegmentKey) -> Audience<'_> {
    Audience {
        segment,
        brand_fan: false,
    }
}

/// Products and segments of the warm-plan figure ([`BenchReport::warm_plan_blurbs_per_sec`]).
pub const WARM_PLAN_PRODUCTS: usize = 6;
pub const WARM_PLAN_SEGMENTS: usize = 3;

/// One blurb to write: product, segment, style and seed.
type Order<'a> = (&'a Product, &'a SegmentKey, Style, u32);

/// The warm-plan sample in `copy warm`'s order (style, product, segment): the first
/// [`WARM_PLAN_PRODUCTS`] distinct products of `pairs` × the first [`WARM_PLAN_SEGMENTS`]
/// `segments` × every style, each with its own seed.
fn warm_plan_sample<'a>(
    pairs: &[(&'a Product, &'a SegmentKey, Style)],
    segments: &'a [SegmentKey],
    seed: u32,
) -> Vec<Order<'a>> {
    let mut products: Vec<&Product> = Vec::new();
    for (p, _, _) in pairs {
        if products.len() < WARM_PLAN_PRODUCTS && !products.iter().any(|q| q.sku == p.sku) {
            products.push(p);
        }
    }
    let mut plan = Vec::new();
    for style in Style::ALL {
        for product in &products {
            for segment in segments.iter().take(WARM_PLAN_SEGMENTS) {
                let i = plan.len() as u32;
                plan.push((*product, segment, style, seed.wrapping_add(9000 + i)));
            }
        }
    }
    plan
}

fn style_rank(style: Style) -> usize {
    Style::ALL.iter().position(|s| *s == style).unwrap_or(0)
}

fn rate_per_sec(n: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// Writes `orders` with `parallel` in flight, each thread taking the next: the wall time in
/// seconds and how many passed the guardrails on their first try.
fn write_grouped(service: &CopyService, orders: &[Order<'_>], parallel: u32) -> (f64, usize) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let passed = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..parallel.max(1) {
            scope.spawn(|| {
                while let Some(&(product, segment, style, seed)) =
                    orders.get(next.fetch_add(1, Ordering::Relaxed))
                {
                    let outcome = service.write_copy(
                        &CopyRequest::new(product, audience(segment), style, seed),
                        &mut |_| {},
                    );
                    let pass = outcome
                        .attempts
                        .first()
                        .and_then(|a| a.verdict.as_ref())
                        .is_some_and(|v| v.code() == "pass");
                    if pass {
                        passed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    (started.elapsed().as_secs_f64(), passed.into_inner())
}

/// Run the bench over `products` (the lead passes the catalog).
pub fn run(
    service: &CopyService,
    products: &[Product],
    options: &BenchOptions,
) -> Result<BenchReport, BenchError> {
    let engine = service.engine().ok_or(BenchError::EngineUnavailable)?;
    if products.is_empty() {
        return Err(BenchError::NoProducts);
    }
    let segments = bench_segments(service.prompts().locale());
    let pairs = draw_pairs(products, &segments, options);
    let stats_before = engine.stats();
    // Time to first token, without and with the prefix cache (prefix warm).
    let (mut uncached, mut cached) = (Vec::new(), Vec::new());
    for (i, (product, segment, style)) in pairs.iter().take(options.ttft_samples.max(1)).enumerate()
    {
        let prompt = service.prompt_for(product, audience(segment), *style);
        let request = |cache: bool, seed: u32| GenerationRequest {
            max_tokens: Some(2),
            prefix_cache: Some(cache),
            ..GenerationRequest::new(prompt.prefix.clone(), prompt.suffix.clone(), seed)
        };
        let seed = options.seed.wrapping_add(i as u32);
        uncached.push(
            engine
                .generate(request(false, seed))?
                .finish(|_| {})?
                .timings,
        );
        engine.generate(request(true, seed))?.finish(|_| {})?;
        cached.push(
            engine
                .generate(request(true, seed))?
                .finish(|_| {})?
                .timings,
        );
    }
    let p50 = |t: &[Timings], f: fn(&Timings) -> f64| percentile(t.iter().map(f).collect(), 0.5);
    let ttft_uncached = p50(&uncached, |t| t.ttft_ms);
    let ttft_samples = uncached.len();
    let ttft_cached = p50(&cached, |t| t.ttft_ms);
    let suffix_tokens_p50 = p50(&cached, |t| f64::from(t.prompt_tokens));
    let suffix_ms_p50 = p50(&cached, |t| t.prompt_ms);
    let first_sample_ms_p50 = p50(&cached, |t| t.ttft_ms - t.prompt_ms);
    let prompt_tokens: f64 = uncached.iter().map(|t| f64::from(t.prompt_tokens)).sum();
    let prompt_ms: f64 = uncached.iter().map(|t| t.prompt_ms).sum();

    // The bare decode loop at the pairs' own prompt length.
    let width_context = p50(&uncached, |t| f64::from(t.prompt_tokens)).round() as u32;
    let max_width = engine.info().config.sequences().min(8);
    let widths: Vec<u32> = (1..=max_width).collect();
    let decode_widths = engine.decode_widths(&widths, WIDTH_STEPS, width_context)?;

    // Fresh blurbs, prefix cache warm for all styles.
    let warm_prefixes = || -> Result<(), EngineError> {
        for style in Style::ALL {
            let prompt = service.prompt_for(pairs[0].0, audience(pairs[0].1), style);
            engine
                .generate(GenerationRequest {
                    max_tokens: Some(1),
                    prefix_cache: Some(true),
                    ..GenerationRequest::new(prompt.prefix, prompt.suffix, options.seed)
                })?
                .finish(|_| {})?;
        }
        Ok(())
    };
    warm_prefixes()?;
    let mut latencies = Vec::new();
    let (mut fresh_ttft, mut fresh_suffix, mut first_words) = (Vec::new(), Vec::new(), Vec::new());
    let mut first_tokens = Vec::new();
    let mut served = Vec::new();
    let (mut first_pass, mut from_model) = (0usize, 0usize);
    let (mut gen_tokens, mut gen_ms, mut decode_ms) = (0.0, 0.0, 0.0);
    let mut failures = BTreeMap::new();
    let mut failed = Vec::new();
    let mut cuts = BTreeMap::new();
    let mut cut_examples = Vec::new();
    let (mut false_prices, mut elsewhere) = (Tally::default(), Tally::default());
    let (mut echoes, mut junk) = (Tally::default(), Tally::default());
    let currency = service.prompts().currency().clone();
    let started = Instant::now();
    for (i, (product, segment, style)) in pairs.iter().enumerate() {
        let asked = Instant::now();
        let mut shown = None;
        let outcome = service.write_copy(
            &CopyRequest::new(
                product,
                audience(segment),
                *style,
                options.seed.wrapping_add(1000 + i as u32),
            ),
            &mut |progress| {
                if let CopyProgress::Token(piece) = progress {
                    if shown.is_none() && !piece.trim().is_empty() {
                        shown = Some(asked.elapsed().as_secs_f64() * 1000.0);
                    }
                }
            },
        );
        latencies.push(outcome.elapsed_ms);
        if options.show_copy {
            let tokens = outcome.attempts.iter().filter_map(|a| a.timings);
            let tokens: Vec<String> = tokens.map(|t| t.generated_tokens.to_string()).collect();
            served.push(format!(
                "{} [{} tokens] {:?}",
                product.sku,
                tokens.join("+"),
                outcome.text
            ));
        }
        first_words.extend(shown);
        if let Some(t) = outcome.attempts.first().and_then(|a| a.timings) {
            fresh_ttft.push(t.queue_ms + t.ttft_ms);
            fresh_suffix.push(f64::from(t.prompt_tokens));
            first_tokens.push(f64::from(t.generated_tokens));
        }
        let text = &outcome.text;
        false_prices.count(product, text, false_price(text, product, &currency));
        elsewhere.count(product, text, sends_elsewhere(text, product));
        echoes.count(product, text, repeats_the_prompt(text, product));
        junk.count(product, text, shows_junk(text, product));
        from_model += usize::from(outcome.source == CopySource::Model);
        if let Some(first) = outcome.attempts.first() {
            let code = first.verdict.as_ref().map_or("engine_error", Verdict::code);
            if let Some(cut) = &first.cut {
                *cuts.entry(cut.reason.code().to_string()).or_insert(0) += 1;
                if cut_examples.len() < FAILURE_EXAMPLES {
                    cut_examples.push(format!(
                        "{} [{}] {:?} | {:?}",
                        product.sku, cut.reason, first.text, cut.dropped
                    ));
                }
            }
            if code == "pass" {
                first_pass += 1;
            } else {
                *failures.entry(code.to_string()).or_insert(0) += 1;
                if failed.len() < FAILURE_EXAMPLES {
                    let why = first.verdict.as_ref().map_or_else(
                        || first.error.clone().unwrap_or_default(),
                        |v| format!("{v:?}"),
                    );
                    failed.push(format!("{} [{why}] {:?}", product.sku, first.text));
                }
            }
        }
        for t in outcome.attempts.iter().filter_map(|a| a.timings) {
            gen_tokens += f64::from(t.generated_tokens);
            gen_ms += t.total_ms - t.prompt_ms;
            decode_ms += t.decode_ms;
        }
    }
    let wall = started.elapsed().as_secs_f64();
    // The bare loop again right after the pairs: the limit is the mean of the two, so a machine
    // whose speed drifts during the run moves both sides of the ratio alike.
    let bare_after = engine.decode_widths(&[1], WIDTH_STEPS, width_context)?;
    // The loop emptied the cache: the prefixes again, outside the timings that follow.
    warm_prefixes()?;
    let n = pairs.len().max(1) as f64;
    let info = engine.info();
    let cap = f64::from(info.config.max_tokens);
    let at_cap = first_tokens.iter().filter(|&&t| t >= cap).count() as f64;
    let parallel = info.config.parallel.max(1);

    // The same pairs with `parallel` blurbs in flight.
    let seeded: Vec<_> = pairs
        .iter()
        .enumerate()
        .map(|(i, &(p, g, s))| (p, g, s, options.seed.wrapping_add(1000 + i as u32)))
        .collect();
    let (grouped_wall, grouped_pass) = write_grouped(service, &seeded, parallel);

    // A warm-up plan's shape: a few of the pairs' products for the first segments in every
    // style, each blurb with its own seed; written as `copy warm` orders them (style, product,
    // segment: one product's record in flight for its segments) and, the same blurbs, in the
    // order before (style, segment, product).
    let plan = warm_plan_sample(&pairs, &segments, options.seed);
    let mut mixed = plan.clone();
    mixed.sort_by_key(|&(p, g, s, _)| {
        (
            style_rank(s),
            segments.iter().position(|x| x == g),
            p.sku.clone(),
        )
    });
    let (mixed_wall, _) = write_grouped(service, &mixed, parallel);
    let (plan_wall, _) = write_grouped(service, &plan, parallel);

    // Kiosk sessions: three picks (consecutive pairs, so three styles) written together and
    // one after another, alternating which goes first.
    let (mut grouped, mut sequential, mut with_fourth) = (Vec::new(), Vec::new(), Vec::new());
    let (mut longest, mut first_begun, mut all_begun) = (Vec::new(), Vec::new(), Vec::new());
    let mut to_own_picks = Vec::new();
    for s in 0..options.sessions {
        let picks: Vec<_> = (0..3).map(|j| pairs[(3 * s + j) % pairs.len()]).collect();
        let fourth = pairs[(3 * s + 3) % pairs.len()];
        // A pick's tokens, every attempt of it, and when its first words were streamed (ms
        // after `since`).
        let write = |j: usize,
                     (product, segment, style): (&Product, &SegmentKey, Style),
                     since: Instant| {
            let mut first = None;
            let outcome = service.write_copy(
                &CopyRequest::new(
                    product,
                    audience(segment),
                    style,
                    options.seed.wrapping_add(5000 + (3 * s + j) as u32),
                ),
                &mut |p| {
                    if matches!(p, CopyProgress::Token(_)) && first.is_none() {
                        first = Some(since.elapsed().as_secs_f64() * 1e3);
                    }
                },
            );
            let tokens = outcome
                .attempts
                .iter()
                .filter_map(|a| a.timings)
                .map(|t| t.generated_tokens)
                .sum::<u32>();
            (tokens, first)
        };
        let together = || {
            let t = Instant::now();
            let written: Vec<(u32, Option<f64>)> = std::thread::scope(|scope| {
                let picks: Vec<_> = picks
                    .iter()
                    .enumerate()
                    .map(|(j, pick)| scope.spawn(move || write(j, *pick, t)))
                    .collect();
                picks.into_iter().filter_map(|p| p.join().ok()).collect()
            });
            (t.elapsed().as_secs_f64() * 1e3, written)
        };
        let in_turn = || {
            let t = Instant::now();
            for (j, pick) in picks.iter().enumerate() {
                write(j, *pick, t);
            }
            t.elapsed().as_secs_f64() * 1e3
        };
        let together_with_fourth = || {
            let t = Instant::now();
            std::thread::scope(|scope| {
                let filler = scope.spawn(move || write(3, fourth, t));
                let picks: Vec<_> = picks
                    .iter()
                    .enumerate()
                    .map(|(j, pick)| scope.spawn(move || write(j, *pick, t)))
                    .collect();
                for p in picks {
                    let _ = p.join();
                }
                let done = t.elapsed().as_secs_f64() * 1e3;
                let _ = filler.join();
                done
            })
        };
        // The grouped time and, beside it, the session's longest pick and when the screen had
        // the first words of its first pick and of all three.
        let mut time_together = || {
            let (ms, written) = together();
            let most = written.iter().map(|w| w.0).max().unwrap_or(0);
            longest.push(f64::from(most));
            let begun: Vec<f64> = written.iter().filter_map(|w| w.1).collect();
            if let Some(first) = begun.iter().copied().reduce(f64::min) {
                first_begun.push(first);
            }
            if begun.len() == written.len() {
                all_begun.extend(begun.iter().copied().reduce(f64::max));
            }
            grouped.push(ms);
        };
        if s % 2 == 0 {
            time_together();
            sequential.push(in_turn());
            with_fourth.push(together_with_fourth());
        } else {
            with_fourth.push(together_with_fourth());
            sequential.push(in_turn());
            time_together();
        }
        // The session against its own three picks written alone a moment before or after (the
        // mean of the three): the same products at the same moment, free of the machine's drift
        // between the parts of a run that the fresh blurbs' p50 is measured in.
        if let (Some(&together), Some(&alone)) = (grouped.last(), sequential.last()) {
            if alone > 0.0 {
                to_own_picks.push(together / (alone / 3.0));
            }
        }
    }
    let stats_after = engine.stats();
    Ok(BenchReport {
        drafted_tokens: stats_after.drafted_tokens - stats_before.drafted_tokens,
        accepted_drafts: stats_after.accepted_drafts - stats_before.accepted_drafts,
        rewinds: stats_after.rewinds - stats_before.rewinds,
        dead_end_stops: stats_after.dead_end_stops - stats_before.dead_end_stops,
        space_rewinds: stats_after.space_rewinds - stats_before.space_rewinds,
        words_rewinds: stats_after.words_rewinds - stats_before.words_rewinds,
        model: info.model.clone(),
        threads: info.config.threads,
        n_ctx: info.n_ctx,
        kernels: info.kernels.clone(),
        draft_timing: info.draft_timing.clone(),
        prompt_tokens_per_sec: rate(prompt_tokens, prompt_ms),
        generation_tokens_per_sec: rate(gen_tokens, gen_ms),
        decode_limit_tokens_per_sec: rate(gen_tokens, decode_ms),
        generated_tokens: gen_tokens as u64,
        decode_widths,
        width_context,
        bare_after: bare_after.first().copied(),
        suffix_tokens_p50,
        suffix_ms_p50,
        first_sample_ms_p50,
        ttft_cached_ms_p50: ttft_cached,
        ttft_uncached_ms_p50: ttft_uncached,
        ttft_ratio: if ttft_uncached > 0.0 {
            ttft_cached / ttft_uncached
        } else {
            0.0
        },
        ttft_samples,
        fresh_ttft_ms_p50: percentile(fresh_ttft, 0.5),
        fresh_suffix_tokens_p50: percentile(fresh_suffix, 0.5),
        first_words_ms_p50: percentile(first_words, 0.5),
        first_try_tokens_p50: percentile(first_tokens.clone(), 0.5),
        first_try_tokens_p90: percentile(first_tokens, 0.9),
        first_try_at_max_tokens: at_cap / n,
        pairs: pairs.len(),
        blurb_ms_p50: percentile(latencies.clone(), 0.5),
        blurb_ms_p99: percentile(latencies, 0.99),
        warm_blurbs_per_sec: if wall > 0.0 { n / wall } else { 0.0 },
        warm_mode: "sequential".into(),
        parallel,
        warm_grouped_blurbs_per_sec: if grouped_wall > 0.0 {
            n / grouped_wall
        } else {
            0.0
        },
        grouped_first_try_pass_rate: grouped_pass as f64 / n,
        warm_plan_blurbs: plan.len(),
        warm_plan_blurbs_per_sec: rate_per_sec(plan.len(), plan_wall),
        warm_plan_mixed_blurbs_per_sec: rate_per_sec(plan.len(), mixed_wall),
        sessions: options.sessions,
        session_grouped_ms_p50: percentile(grouped, 0.5),
        session_sequential_ms_p50: percentile(sequential, 0.5),
        session_with_fourth_ms_p50: percentile(with_fourth, 0.5),
        session_longest_tokens_p50: percentile(longest, 0.5),
        session_first_words_ms_p50: percentile(first_begun, 0.5),
        session_all_begun_ms_p50: percentile(all_begun, 0.5),
        session_to_own_picks_p50: percentile(to_own_picks, 0.5),
        first_try_pass_rate: first_pass as f64 / n,
        model_served_rate: from_model as f64 / n,
        first_try_failures: failures,
        first_try_failed: failed,
        first_try_cuts: cuts,
        first_try_cut: cut_examples,
        false_price_rate: false_prices.share(n),
        false_prices: false_prices.examples,
        elsewhere_rate: elsewhere.share(n),
        elsewhere: elsewhere.examples,
        prompt_echo_rate: echoes.share(n),
        prompt_echoes: echoes.examples,
        junk_rate: junk.share(n),
        junk: junk.examples,
        peak_rss_mb: peak_rss_mb(),
        served,
    })
}

/// Served copy one independent check found something in: how many, and the first
/// [`FAILURE_EXAMPLES`] as `sku [what] text`.
#[derive(Default)]
struct Tally {
    found: usize,
    examples: Vec<String>,
}

impl Tally {
    fn count(&mut self, product: &Product, text: &str, found: Option<String>) {
        let Some(what) = found else { return };
        self.found += 1;
        if self.examples.len() < FAILURE_EXAMPLES {
            self.examples
                .push(format!("{} [{what}] {text:?}", product.sku));
        }
    }

    fn share(&self, n: f64) -> f64 {
        self.found as f64 / n
    }
}

/// The bench's requests: `options.pairs` of (product, segment, style), the products in
/// [`sample`] order (each once before any repeats), each paired with a segment and a style drawn
/// by the seed ([`mixed_hash`] of the seed, the pair's number and what is drawn), so every segment ×
/// style combination can occur and none follows from the pair's number.
pub fn draw_pairs<'a>(
    products: &'a [Product],
    segments: &'a [SegmentKey],
    options: &BenchOptions,
) -> Vec<(&'a Product, &'a SegmentKey, Style)> {
    let sampled = sample(products, options.seed);
    let draw = |i: usize, what: &str, n: usize| {
        let h = mixed_hash(&[
            &options.seed.to_le_bytes(),
            &(i as u64).to_le_bytes(),
            what.as_bytes(),
        ]);
        (h % n.max(1) as u64) as usize
    };
    (0..options.pairs)
        .map(|i| {
            (
                sampled[i % sampled.len()],
                &segments[draw(i, "segment", segments.len())],
                Style::ALL[draw(i, "style", Style::ALL.len())],
            )
        })
        .collect()
}

/// FNV-1a over the parts in order, then the splitmix64 finaliser (both reproducible outside
/// Rust). FNV-1a alone is no random order: a byte near the end of the input reaches only a
/// few bits of the hash (bits 0–17 and 40–48 through one multiplication), never the top ones,
/// so hashes sorted whole kept SKUs of one prefix together (`OU-TEN-0001` … `OU-TEN-0015`, then
/// `OU-SLE-…`: 48 draws from the demo catalog met 4 of its 24 categories), and its low bits
/// follow the input's low bits alone (two draws of one pair would be tied under `%`). The
/// finaliser spreads every input bit over every output bit.
fn mixed_hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in parts.iter().flat_map(|p| p.iter()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The products in a seeded random order: sorted by [`mixed_hash`] of the seed and the sku
/// (reproducible outside Rust, so another build can be run on the same sample).
pub fn sample(products: &[Product], seed: u32) -> Vec<&Product> {
    let hash = |sku: &str| mixed_hash(&[&seed.to_le_bytes(), sku.as_bytes()]);
    let mut out: Vec<&Product> = products.iter().collect();
    out.sort_by_cached_key(|p| (hash(&p.sku), p.sku.clone()));
    out
}

/// The role of an amount in copy, for [`false_price`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Said {
    Pays,
    Was,
    Saves,
    /// An amount the price is said to be above (`just over ₹599`): none of the catalog's.
    Exceeds,
}

/// Role words, by role. Kept apart from the guardrails' lists on purpose.
const SAID: [(&str, Said); 32] = [
    ("now", Said::Pays),
    ("just", Said::Pays),
    ("only", Said::Pays),
    ("for", Said::Pays),
    ("at", Said::Pays),
    ("costs", Said::Pays),
    ("cost", Said::Pays),
    ("price", Said::Pays),
    ("priced", Said::Pays),
    ("pay", Said::Pays),
    ("yours", Said::Pays),
    ("was", Said::Was),
    ("instead", Said::Was),
    ("from", Said::Was),
    ("reduced", Said::Was),
    ("originally", Said::Was),
    ("original", Said::Was),
    ("mrp", Said::Was),
    ("usually", Said::Was),
    ("before", Said::Was),
    // "less than ₹2550", "lower than ₹2550": the amount is what the price is compared with.
    ("than", Said::Was),
    // "for under ₹450" (the list price; the Flipkart sample, seed 239), as zh-CN's 不到.
    ("under", Said::Was),
    ("below", Said::Was),
    ("over", Said::Exceeds),
    ("above", Said::Exceeds),
    ("save", Said::Saves),
    ("saves", Said::Saves),
    ("saving", Said::Saves),
    ("savings", Said::Saves),
    ("off", Said::Saves),
    ("less", Said::Saves),
    ("discount", Said::Saves),
];

/// Chinese role words, by role, found as written (no spaces in Chinese). Kept apart from the
/// guardrails' lists on purpose.
const SAID_ZH: [(&str, Said); 26] = [
    ("现价", Said::Pays),
    ("只要", Said::Pays),
    ("只需", Said::Pays),
    ("仅需", Said::Pays),
    ("仅售", Said::Pays),
    ("售价", Said::Pays),
    ("到手", Said::Pays),
    ("特价", Said::Pays),
    ("优惠价", Said::Pays),
    ("现在", Said::Pays),
    ("才", Said::Pays),
    ("原价", Said::Was),
    ("原钱", Said::Was),
    ("原", Said::Was),
    ("原来", Said::Was),
    ("之前", Said::Was),
    ("以前", Said::Was),
    ("平时", Said::Was),
    ("吊牌价", Said::Was),
    ("市场价", Said::Was),
    ("不到", Said::Was),
    ("省", Said::Saves),
    ("立减", Said::Saves),
    ("直降", Said::Saves),
    ("便宜", Said::Saves),
    ("优惠", Said::Saves),
];

/// Words of a price coming down that make the "from" after them the price before (`down from
/// ₹330`). Any other "from" is where the price starts, what the shopper pays: `now from ₹323`
/// (Flipkart sample, seed 241), `Sports Analog Watch from ₹695` (seed 271).
const FROM_AFTER_WAS: [&str; 10] = [
    "down", "reduced", "cut", "marked", "slashed", "dropped", "drops", "fallen", "fell", "lowered",
];

/// Role words that are prepositions: each speaks of the amount after it ([`nearest_role`]).
const PREPOSITIONS: [&str; 8] = [
    "for", "at", "from", "under", "below", "than", "over", "above",
];

/// Words that make the "price" after them a comparison price.
const PRICE_BEFORE_WAS: [&str; 6] = ["original", "regular", "list", "usual", "old", "retail"];

/// Whether served copy sends the shopper to another shop, and where: an independent check for
/// the bench. Words are runs of ASCII letters, digits, `.`, `'`, `:` and `/`, lower-cased (a CJK
/// retailer is found anywhere in the text). The words of a retailer of [`OTHER_RETAILERS`] in
/// a row (`amazon`, `amazon's`, `amazon.in`; not `amazonite`) that the product's name and brand
/// do not have, a word with `www.` or `://`, or a word with a letter before its last `.` and a
/// common top-level domain after it (`flipkart.com`, `jd.com`; not `109.49`) counts, and so does
/// a shop the product's own text lacks named after a phrase that says where it is sold
/// ([`shop_named`]: `available at Jetstar`).
pub fn sends_elsewhere(text: &str, product: &Product) -> Option<String> {
    let lower = text.to_lowercase();
    let own = format!(
        "{} {}",
        product.name.to_lowercase(),
        product.brand.as_deref().unwrap_or("").to_lowercase()
    );
    let words: Vec<&str> = lower
        .split(|c: char| {
            !(c.is_ascii_alphanumeric() || c == '.' || c == '\'' || c == ':' || c == '/')
        })
        .map(|w| w.trim_matches(|c: char| matches!(c, '.' | '\'' | ':' | '/')))
        .filter(|w| !w.is_empty())
        .collect();
    for retailer in OTHER_RETAILERS {
        let r = retailer.to_lowercase();
        if own.contains(&r) {
            continue;
        }
        let named = if COMMON_WORD_NAMES.contains(&retailer) {
            named_mid_sentence(text, retailer)
        } else if r.is_ascii() {
            // Word by word; the last may carry `'s` or a domain (`amazon's`, `amazon.in`).
            let parts: Vec<&str> = r.split(' ').collect();
            words.windows(parts.len()).any(|window| {
                window.iter().zip(&parts).enumerate().all(|(i, (w, part))| {
                    *w == *part
                        || (i + 1 == parts.len()
                            && w.strip_prefix(part)
                                .is_some_and(|rest| rest.starts_with(['\'', '.'])))
                })
            })
        } else {
            lower.contains(&r)
        };
        if named {
            return Some(retailer.to_string());
        }
    }
    const TLDS: [&str; 7] = ["com", "cn", "in", "net", "org", "co", "shop"];
    words
        .iter()
        .find(|w| {
            w.contains("www.")
                || w.contains("://")
                || w.rsplit_once('.').is_some_and(|(name, tld)| {
                    TLDS.contains(&tld) && name.chars().any(|c| c.is_ascii_alphabetic())
                })
        })
        .map(|w| w.to_string())
        .or_else(|| shop_named(text, product))
}

/// Phrases that say where a product is sold: a capitalised word right after one is a shop.
const WHERE_SOLD: [&str; 16] = [
    "available at",
    "available on",
    "available from",
    "only at",
    "only on",
    "now at",
    "now on",
    "exclusively at",
    "sold at",
    "sold on",
    "sale at",
    "find it at",
    "shop at",
    "buy it at",
    "get it at",
    "here at",
];

/// A shop the product's name, brand, category and description lack, named right after a phrase
/// of [`WHERE_SOLD`] (`available at Jetstar`); a word in capitals only (`MRP`, `INR`) or a day
/// is none.
fn shop_named(text: &str, product: &Product) -> Option<String> {
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let facts = format!(
        "{} {} {} {}",
        product.name,
        product.brand.as_deref().unwrap_or(""),
        product.category.join(" "),
        product.description
    )
    .to_lowercase();
    let lower = text.to_lowercase();
    WHERE_SOLD.iter().find_map(|phrase| {
        lower.match_indices(phrase).find_map(|(at, _)| {
            let starts_word = lower[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric());
            let next: String = text
                .get(at + phrase.len()..)?
                .strip_prefix(' ')?
                .chars()
                .take_while(|c| c.is_alphanumeric())
                .collect();
            let named = starts_word
                && next.starts_with(|c: char| c.is_uppercase())
                && !next.chars().all(|c| c.is_uppercase())
                && !DAYS.contains(&next.as_str())
                && !facts
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|w| w == next.to_lowercase());
            named.then_some(next)
        })
    })
}

/// Retailers whose names are common words too: counted only with their capitals, after another
/// word of the sentence ("available at Target", not "Target the cold" or "your target").
const COMMON_WORD_NAMES: [&str; 3] = ["Target", "Best Buy", "Home Goods"];

/// Whether `name` is in `text` as written, not inside a longer word, and not first in its
/// sentence (the text before it, spaces dropped, is not empty and does not end a sentence).
fn named_mid_sentence(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].trim_end();
        let glued_before = text[..at]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        let glued_after = text[at + name.len()..]
            .chars()
            .next()
            .is_some_and(char::is_alphanumeric);
        !glued_before
            && !glued_after
            && before
                .chars()
                .next_back()
                .is_some_and(|c| !matches!(c, '.' | '!' | '?' | ':' | '"' | '“'))
    })
}

/// Words before `budget` that make it the shopper's (`low budget`, `your budget`).
const BUDGET_OF: [&str; 11] = [
    "low", "mid", "medium", "high", "tight", "small", "big", "limited", "modest", "your", "any",
];

/// Words of a copywriting brief, which copy on a shelf never says (English lower case).
const BRIEF_WORDS: [&str; 10] = [
    "shelf talker",
    "store copy",
    "short sentence",
    "one line of",
    "shopper described",
    "quote prices",
    "文案",
    "短句",
    "货架",
    "顾客写",
];

/// Whether served copy repeats what the prompt told the model, and what: an independent check
/// for the bench. The shopper's budget named (`budget` after one of [`BUDGET_OF`] as whole
/// words, lower-cased; in Chinese `预算` anywhere), which tells the shopper what the kiosk made
/// of them, or a word of the brief ([`BRIEF_WORDS`]). Not when the product's name or
/// description has it.
pub fn repeats_the_prompt(text: &str, product: &Product) -> Option<String> {
    let lower = text.to_lowercase();
    let own = format!("{} {}", product.name, product.description).to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if let Some(pair) = words
        .windows(2)
        .find(|w| w[1] == "budget" && BUDGET_OF.contains(&w[0]))
        .map(|w| format!("{} {}", w[0], w[1]))
        .filter(|pair| !own.contains(pair.as_str()))
    {
        return Some(pair);
    }
    if lower.contains("预算") && !own.contains("预算") {
        return Some("预算".into());
    }
    BRIEF_WORDS
        .iter()
        .find(|w| lower.contains(*w) && !own.contains(*w))
        .map(|w| w.to_string())
}

/// Unicode blocks of symbols and pictographs ([`shows_junk`]): the broken bar, ©, ®, ™,
/// arrows, technical symbols, geometric shapes, miscellaneous symbols and dingbats, the
/// supplemental arrows and symbols (`⭐`), private use, and the emoji planes.
const JUNK_SYMBOLS: [(char, char); 10] = [
    ('\u{a6}', '\u{a6}'),
    ('\u{a9}', '\u{a9}'),
    ('\u{ae}', '\u{ae}'),
    ('\u{2122}', '\u{2122}'),
    ('\u{2190}', '\u{21ff}'),
    ('\u{2300}', '\u{23ff}'),
    ('\u{25a0}', '\u{27bf}'),
    ('\u{2b00}', '\u{2bff}'),
    ('\u{e000}', '\u{f8ff}'),
    ('\u{1f000}', '\u{1faff}'),
];

/// ASCII characters of code and markup ([`shows_junk`]): an escape's backslash written out
/// (`…now at only \\uFE35.99`, served by the demo, en, seed 607), the backtick, underscore,
/// braces, caret, bar, asterisk and angle brackets.
const JUNK_MARKUP: &str = "\\`_{}^|*<>";

/// English words that leave copy waiting for more when they end it (lower case; `only` not
/// after an amount, `to` only after `up`: `₹349 only` and `the one to look forward to` end;
/// `for` always, though `the boot you came for` ends: the screen errs towards counting).
const WAITING_WORDS: [&str; 14] = [
    "for", "under", "just", "than", "at", "of", "the", "a", "an", "and", "or", "with", "from",
    "over",
];

/// Whether served copy shows junk for `product`, and what: an independent check for the bench.
/// A character of a symbol block ([`JUNK_SYMBOLS`]: `🎁`, `¦`, `★`) or of markup
/// ([`JUNK_MARKUP`]: `\\`) that the product's name,
/// brand, category and description do not have; in copy with no Chinese character, a letter
/// past Latin-1 (`Ħ`, `ā`, `Ω`; `é` is English enough) they do not have; and in such copy a last
/// word that waits for more ([`WAITING_WORDS`], `only` not after an amount, `up to`), read past
/// trailing punctuation and symbols.
pub fn shows_junk(text: &str, product: &Product) -> Option<String> {
    let own: String = [
        product.name.as_str(),
        product.brand.as_deref().unwrap_or(""),
        &product.category.join(" "),
        product.description.as_str(),
    ]
    .join(" ");
    let chinese = text.chars().any(crate::numbers::is_cjk);
    if let Some(c) = text.chars().find(|&c| {
        let symbol =
            JUNK_SYMBOLS.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) || JUNK_MARKUP.contains(c);
        let foreign = !chinese && c.is_alphabetic() && c > '\u{ff}' && !crate::numbers::is_cjk(c);
        (symbol || foreign) && !own.contains(c)
    }) {
        return Some(format!("{c} ({:04X})", u32::from(c)));
    }
    if chinese {
        return None;
    }
    // The copy's words (as written, bare and lower-cased), those with a letter or digit only.
    let words: Vec<(&str, String)> = text
        .split_whitespace()
        .map(|w| {
            (
                w,
                w.trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase(),
            )
        })
        .filter(|(_, bare)| !bare.is_empty())
        .collect();
    let (last, before, raw_before) = match words.as_slice() {
        [.., (raw, before), (_, last)] => (last.as_str(), before.as_str(), *raw),
        [(_, last)] => (last.as_str(), "", ""),
        [] => return None,
    };
    let waits = WAITING_WORDS.contains(&last)
        || (last == "only" && !raw_before.ends_with(|c: char| c.is_ascii_digit()))
        || (last == "to" && before == "up");
    waits.then(|| format!("ends on {last:?}"))
}

/// Whether served copy states a false price for `product`, and why: an independent check for
/// the bench. Every amount in the store currency (symbol, code or alias before the digits, or
/// code or alias after, or none with two decimals: `Only 85.99`; Chinese numerals read as
/// digits) takes the role of the nearest role word in its sentence (a word before
/// wins a tie, but `off` right after the amount makes it the saving: `now ₹100 off`; none: what
/// the shopper pays) and is compared with the catalog in minor units:
/// what the shopper pays is the price, a comparison is the list price (above the price), a
/// saving is list − price. An amount written as a percentage (`₹70%`) is false.
pub fn false_price(text: &str, product: &Product, currency: &Currency) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    // Full-width digits and signs as ASCII (standard NFKC of the whole text), Chinese numerals
    // as digits.
    let text = numerals_as_digits(&text.nfkc().collect::<String>());
    let text = text.as_str();
    let list = product.list_price.filter(|l| *l > product.price);
    // The product's own words: their numbers and money words are facts.
    let own = format!("{} {}", product.name, product.description);
    if let Some(said) = money_in_words(text, &own) {
        return Some(format!("an amount in words {said:?}"));
    }
    if let Some(run) = unread_numerals(text) {
        return Some(format!("unreadable amount {run}"));
    }
    for (start, end, amount, percent) in currency_amounts(text, currency, &own) {
        let written = &text[start..end];
        if percent {
            return Some(format!("percentage as money {written}%"));
        }
        let Some(amount) = amount else {
            return Some(format!("unreadable amount {written}"));
        };
        let role = nearest_role(text, start, end).unwrap_or(Said::Pays);
        let truth = match role {
            Said::Pays => Some(product.price),
            Said::Was => list,
            Said::Saves => list.map(|l| Minor(l.0 - product.price.0)),
            // True of an amount under the price only (the gate writes none: no catalog figure
            // is one).
            Said::Exceeds if amount.0 < product.price.0 => continue,
            Said::Exceeds => {
                return Some(format!("{role:?} {written}: the price is not above it"));
            }
        };
        match truth {
            Some(t) if t == amount => {}
            Some(t) => {
                return Some(format!(
                    "{role:?} {written}, catalog says {}",
                    currency.format(t)
                ))
            }
            None => return Some(format!("{role:?} {written} without a list price")),
        }
    }
    None
}

/// Money words the bench reads as an amount where no digits come right before them (its own list,
/// apart from the guardrails': `pound` and `grand` are left out, being weights and adjectives).
const MONEY_WORDS: [&str; 8] = [
    "dollar", "dollars", "buck", "bucks", "cents", "rupee", "rupees", "quid",
];

/// A money word ([`MONEY_WORDS`]) with no number right before it (`…for just a few dollars
/// less`, `…for under a dollar`): an amount no figure of the catalog backs. `every` before it is
/// an idiom (`worth every cent`), a word of `own` (the product's name and description) a fact.
/// The word before and the money word.
fn money_in_words(text: &str, own: &str) -> Option<String> {
    let own = own.to_lowercase();
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == ','))
        .map(|w| w.trim_matches(|c| c == '.' || c == ','))
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().enumerate().find_map(|(i, word)| {
        let lower = word.to_lowercase();
        if !MONEY_WORDS.contains(&lower.as_str()) || own.split_whitespace().any(|w| w == lower) {
            return None;
        }
        let before = i.checked_sub(1).map(|b| words[b].to_lowercase());
        let counted = before.as_deref().is_some_and(|b| {
            b == "every"
                || b.chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        });
        (!counted).then(|| format!("{} {word}", before.unwrap_or_default()))
    })
}

/// `text` with every run of Chinese numerals written in ASCII digits (`五千五百零五钱` →
/// `5505钱`, `十二点五元` → `12.5元`, `二九九` → `299`), so an amount in numerals is read as one in
/// digits (the zh-CN demo, seed 601, served `原装价格为一斤五千五百零五钱`). The numerals are read by
/// [`crate::numbers::parse_hanzi`] (reading them is no judgement; what they claim is judged
/// here, apart from the guardrails); a run that is no number (`五五百`) stays as written, and a
/// number with no mark after it is no amount ([`currency_amounts`]): `一起` read as `1起` changes
/// nothing.
fn numerals_as_digits(text: &str) -> String {
    use crate::numbers::{is_hanzi_numeral, parse_hanzi};
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if !is_hanzi_numeral(c) || c == '点' {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let end = rest.find(|c| !is_hanzi_numeral(c)).unwrap_or(rest.len());
        let (run, after) = rest.split_at(end);
        out.push_str(parse_hanzi(run).as_deref().unwrap_or(run));
        rest = after;
    }
    out
}

/// Chinese words after which a bare number is an amount ([`currency_amounts`]): a price word
/// (`价`, which ends `现价`, `原价`, `售价`…) or the words that say what the shopper pays.
const ZH_PRICE_WORDS: [&str; 10] = [
    "价", "价格", "价钱", "只要", "只需", "仅需", "仅售", "仅", "现在", "才",
];

/// Chinese numerals right after a price word ([`ZH_PRICE_WORDS`]; `:`, `为`, `是` between) that
/// [`numerals_as_digits`] could not read: an amount no figure can back (`…原版价三五六九八十日`,
/// the zh-CN demo, seed 613). Two numerals or more, a trailing `点` aside (`只要一点点` is "just
/// a little").
fn unread_numerals(text: &str) -> Option<&str> {
    use crate::numbers::is_hanzi_numeral;
    ZH_PRICE_WORDS.iter().find_map(|word| {
        text.match_indices(word).find_map(|(i, _)| {
            let rest = text[i + word.len()..].trim_start_matches([' ', ':', '为', '是']);
            let end = rest.find(|c| !is_hanzi_numeral(c)).unwrap_or(rest.len());
            let run = rest[..end].trim_end_matches('点');
            run.chars().nth(1).is_some().then_some(run)
        })
    })
}

/// Units after a bare number with two decimals that make it a measure, not an amount.
const MEASURES: [&str; 12] = [
    "m", "cm", "mm", "km", "kg", "g", "l", "ml", "in", "inch", "inches", "ft",
];

/// Colloquial marks of a yuan amount (`五百块`, `29块钱`, `五千五百零五钱`), read after the digits
/// in a CNY store where no Chinese character follows them (`一块蛋糕` is a piece of cake).
const SPOKEN_YUAN: [&str; 3] = ["块钱", "块", "钱"];

/// Amounts in the store currency: (start, end, value in minor units, written as a percentage);
/// the span has the amount's mark, before or after its digits. A number with two decimals and
/// no mark is an amount too, unless a unit follows it ([`MEASURES`]) or `own` (the product's
/// name and description) has it.
fn currency_amounts(
    text: &str,
    currency: &Currency,
    own: &str,
) -> Vec<(usize, usize, Option<Minor>, bool)> {
    let mut marks: Vec<&str> = vec![currency.symbol.as_str(), currency.code.as_str()];
    marks.extend(currency.aliases.iter().map(String::as_str));
    marks.retain(|m| !m.is_empty());
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        // A `,` joins thousands only (three digits after it): Chinese copy writes `¥459,12小时`
        // (its `，` folded) with no space.
        let thousands = |at: usize| {
            bytes
                .get(at + 1..at + 4)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
                && !bytes.get(at + 4).is_some_and(u8::is_ascii_digit)
        };
        while i < bytes.len()
            && (bytes[i].is_ascii_digit()
                || (bytes[i] == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
                || (bytes[i] == b',' && thousands(i)))
        {
            i += 1;
        }
        let digits = &text[start..i];
        let before = text[..start].trim_end();
        let before = before.strip_suffix('.').unwrap_or(before).trim_end();
        let after = text[i..].trim_start();
        // A Latin mark is a word of its own; a Chinese one (`元`, `人民币`) needs no space.
        let latin = |m: &str| m.chars().all(|c| c.is_ascii_alphanumeric());
        let mark_before = marks.iter().find(|m| {
            before.len() >= m.len()
                && before.is_char_boundary(before.len() - m.len())
                && before[before.len() - m.len()..].eq_ignore_ascii_case(m)
                && !before[..before.len() - m.len()]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() && latin(m))
        });
        let spoken: &[&str] = if currency.code == "CNY" {
            &SPOKEN_YUAN
        } else {
            &[]
        };
        let mark_after = marks
            .iter()
            .copied()
            .find(|m| {
                m.chars().all(char::is_alphabetic)
                    && after.len() >= m.len()
                    && after.is_char_boundary(m.len())
                    && after[..m.len()].eq_ignore_ascii_case(m)
                    && !(latin(m) && after[m.len()..].starts_with(char::is_alphanumeric))
            })
            .or_else(|| {
                spoken.iter().copied().find(|m| {
                    after
                        .strip_prefix(m)
                        .is_some_and(|rest| !rest.starts_with(crate::numbers::is_cjk))
                })
            });
        let span_start = match mark_before {
            Some(m) => text[..start].rfind(m).unwrap_or(start),
            None => start,
        };
        // The span takes a mark after the digits in (`130 rupees`), so the word after the
        // amount is the one after its mark.
        let span_end = mark_after.map_or(i, |m| text.len() - after.len() + m.len());
        // A bare amount with cents (`Only 85.99`, as the demo's English copy writes prices) is
        // money too, but not a measure (`1.47m`, `8.89 cm`: the Flipkart sample, seed 607) nor
        // a number of the product's own words.
        let measure = text[i..].starts_with(char::is_alphabetic)
            || after
                .split(|c: char| !c.is_alphabetic())
                .next()
                .is_some_and(|w| MEASURES.contains(&w.to_lowercase().as_str()));
        let cents = digits
            .rsplit_once('.')
            .is_some_and(|(_, c)| c.len() == 2 && !after.starts_with('%'))
            && !measure
            && !own.contains(digits);
        // In Chinese copy a bare number right after a price word is an amount too (`价格79`,
        // `现在只要659`, `原价2949`; `只要五三`, its numerals read as digits), but not one that a
        // Chinese letter, `%` or `折` follows (`才3天`: a count).
        let cued = ZH_PRICE_WORDS
            .iter()
            .any(|w| before.trim_end_matches([':', '为', '是']).ends_with(w))
            && !text[i..].starts_with(|c: char| {
                c == '%' || (crate::numbers::is_cjk(c) && c.is_alphabetic())
            });
        if mark_before.is_some() || mark_after.is_some() || cents || cued {
            out.push((
                span_start,
                span_end,
                parse_minor(digits),
                after.starts_with('%'),
            ));
        }
    }
    out
}

/// `1,299.5` → 129950 minor units.
fn parse_minor(digits: &str) -> Option<Minor> {
    let digits: String = digits.chars().filter(|c| *c != ',').collect();
    let (units, cents) = digits.split_once('.').unwrap_or((&digits, ""));
    if cents.len() > 2 {
        return None;
    }
    let units: i64 = units.parse().ok()?;
    let cents: i64 = format!("{cents:0<2}").parse().ok()?;
    units.checked_mul(100)?.checked_add(cents).map(Minor)
}

/// The role of the nearest role word within the clause around `start..end` (clauses end at
/// `. ! ? ; : , ( )`, a decimal point excepted).
fn nearest_role(text: &str, start: usize, end: usize) -> Option<Said> {
    let is_boundary = |i: usize, c: char| {
        matches!(c, '!' | '?' | ';' | ':' | ',' | '(' | ')' | '。' | '、')
            || (c == '.' && !text[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
    };
    let sentence_start = text[..start]
        .char_indices()
        .rev()
        .find(|(i, c)| is_boundary(*i, *c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let sentence_end = text[end..]
        .char_indices()
        .find(|(i, c)| is_boundary(end + i, *c))
        .map_or(text.len(), |(i, _)| end + i);
    let clause = &text[sentence_start..sentence_end];
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut word_start = None;
    for (i, c) in clause.char_indices() {
        match (c.is_alphabetic(), word_start) {
            (true, None) => word_start = Some(i),
            (false, Some(w)) => {
                words.push((sentence_start + w, sentence_start + i));
                word_start = None;
            }
            _ => {}
        }
    }
    if let Some(w) = word_start {
        words.push((sentence_start + w, sentence_end));
    }
    let mut best: Option<(usize, u8, Said)> = None;
    // A role word speaks of the number next to it: one with another number between it and the
    // amount is that number's (`₹299 54% off`: the 54 % is off, ₹299 is paid).
    let number_between =
        |from: usize, to: usize| text[from..to].chars().any(|c| c.is_ascii_digit());
    let mut consider = |ws: usize, we: usize, role: Said| {
        let (distance, side) = if we <= start {
            (start - we, 0)
        } else if ws >= end {
            (ws - end, 1)
        } else {
            return;
        };
        if (side == 0 && number_between(we, start)) || (side == 1 && number_between(end, ws)) {
            return;
        }
        if best.is_none_or(|(d, s, _)| (distance, side) < (d, s)) {
            best = Some((distance, side, role));
        }
    };
    // Chinese role words, found as written; of overlapping ones the longer (`优惠价` is what
    // the shopper pays, `优惠` alone a saving).
    let mut zh: Vec<(usize, usize, Said)> = Vec::new();
    for (cue, role) in SAID_ZH {
        for (i, _) in clause.match_indices(cue) {
            zh.push((sentence_start + i, sentence_start + i + cue.len(), role));
        }
    }
    for &(ws, we, role) in &zh {
        let covered = zh
            .iter()
            .any(|&(s2, e2, _)| s2 <= ws && we <= e2 && e2 - s2 > we - ws);
        if !covered {
            consider(ws, we, role);
        }
    }
    let mut previous = String::new();
    for (ws, we) in words {
        let lower = text[ws..we].to_lowercase();
        let qualified = std::mem::replace(&mut previous, lower.clone());
        let Some((_, mut role)) = SAID.iter().find(|(w, _)| *w == lower).copied() else {
            continue;
        };
        // "the original price of ₹1800" names the list price, not what the shopper pays.
        if lower == "price" && PRICE_BEFORE_WAS.contains(&qualified.as_str()) {
            role = Said::Was;
        }
        // "down from ₹330" is the price before; "now from ₹323", "Watch from ₹695": where the
        // price starts, what the shopper pays.
        if lower == "from" && !FROM_AFTER_WAS.contains(&qualified.as_str()) {
            role = Said::Pays;
        }
        // `now ₹100 off`, `now 130 rupees less than…`: the amount `off` or `less` follows is the
        // one taken off, whatever word comes before it (a shopper reads a discount; by distance
        // alone the tie went to `now`: the Flipkart sample, seed 577, for `less`).
        if matches!(lower.as_str(), "off" | "less") && ws >= end && text[end..ws].trim().is_empty()
        {
            return Some(Said::Saves);
        }
        // `for less` is cheaper, said of the amount before it, no saving of its own (`Swift
        // tent, 243.99 for less`: the demo, en, seed 613, read as a saving by distance).
        if lower == "less" && qualified == "for" {
            continue;
        }
        // A preposition speaks of the amount after it, never of one before it: in `(was also
        // ₹3999 for 58% off)` the `for` introduces the discount (the Flipkart sample, seed 521;
        // by distance alone it made the list price a price paid).
        if ws >= end && PREPOSITIONS.contains(&lower.as_str()) {
            continue;
        }
        consider(ws, we, role);
    }
    best.map(|(_, _, role)| role)
}

fn rate(amount: f64, ms: f64) -> f64 {
    if ms > 0.0 {
        amount * 1000.0 / ms
    } else {
        0.0
    }
}

/// Nearest-rank percentile; 0 for no samples.
pub fn percentile(mut values: Vec<f64>, q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// Cache-hit latency percentiles from sorted latencies (`personalise::CopyDesk::cache_hits`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheHitStats {
    pub cache_hit_ms_p50: f64,
    pub cache_hit_ms_p99: f64,
    pub cache_hits: usize,
}

impl CacheHitStats {
    /// `hits` sorted ascending; NaN percentiles when there were none.
    pub fn from_sorted(hits: &[f64]) -> Self {
        let pct = |q: f64| {
            hits.get(((hits.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        Self {
            cache_hit_ms_p50: pct(0.5),
            cache_hit_ms_p99: pct(0.99),
            cache_hits: hits.len(),
        }
    }
}

/// Peak resident set size of this process (`VmHWM`), in MB; `None` off Linux.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

impl BenchReport {
    /// Tokens per second of the bare decode loop with one sequence: the mean of its runs
    /// before and after the one-at-a-time pairs (0 when not measured).
    pub fn bare_decode_tokens_per_sec(&self) -> f64 {
        let runs: Vec<f64> = self
            .decode_widths
            .iter()
            .find(|w| w.width == 1)
            .into_iter()
            .chain(self.bare_after.as_ref())
            .map(|w| w.tokens_per_sec)
            .collect();
        if runs.is_empty() {
            0.0
        } else {
            runs.iter().sum::<f64>() / runs.len() as f64
        }
    }
}

/// How many times a step of `width` sequences takes a step of one in the bare decode loop
/// (`None` unless both were measured). For three it is about the least a session's three picks
/// written together can take over one fresh blurb: every step decodes one token of each, the
/// longest of the three ends the session, and the three suffixes cost about three times one
/// (admitted one a step, `EngineConfig::admit_per_step`, the picks before the last are a token
/// or two ahead when it starts, which the longest pick gains when it is one of them).
pub fn step_ratio(widths: &[WidthFigure], width: u32) -> Option<f64> {
    let step = |n: u32| widths.iter().find(|w| w.width == n).map(|w| w.step_ms);
    let (one, many) = (step(1)?, step(width)?);
    (one > 0.0).then(|| many / one)
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rss = self
            .peak_rss_mb
            .map_or("n/a".to_string(), |m| format!("{m:.0} MB"));
        writeln!(
            f,
            "model {} ({} threads, n_ctx {}, llama.cpp kernels {})",
            self.model, self.threads, self.n_ctx, self.kernels
        )?;
        writeln!(
            f,
            "prompt            {:>8.1} tok/s",
            self.prompt_tokens_per_sec
        )?;
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let bare = self.bare_decode_tokens_per_sec();
        writeln!(
            f,
            "generation        {:>8.1} tok/s over {} tokens = {:.2}x the bare decode loop ({:.1} tok/s, one sequence, mean of runs before and after; target >= 0.97x); {:.2}x the time in llama_decode within the requests ({:.1} tok/s)",
            self.generation_tokens_per_sec,
            self.generated_tokens,
            ratio(self.generation_tokens_per_sec, bare),
            bare,
            ratio(self.generation_tokens_per_sec, self.decode_limit_tokens_per_sec),
            self.decode_limit_tokens_per_sec,
        )?;
        writeln!(
            f,
            "drafts            {} tokens drafted beside a sampled one, {} of them sampled ({:.0}%): {} steps saved over the run",
            self.drafted_tokens,
            self.accepted_drafts,
            100.0 * ratio(self.accepted_drafts as f64, self.drafted_tokens as f64),
            self.accepted_drafts,
        )?;
        writeln!(
            f,
            "dead ends         {} taken back by a rewind, {} ended the copy (every token drawn for a step refused by the gate)",
            self.rewinds, self.dead_end_stops,
        )?;
        writeln!(
            f,
            "lone spaces       {} taken back (the gate refused what the model reached for after a space token alone)",
            self.space_rewinds,
        )?;
        writeln!(
            f,
            "amounts in words  {} taken back (the model reached for a money word no figure backs: `only a few` before `dollars`)",
            self.words_rewinds,
        )?;
        if !self.draft_timing.step_ms.is_empty() {
            let list = |v: Vec<String>| v.join(" / ");
            writeln!(
                f,
                "draft plan        a step of 1, 2, ... rows took {} ms when the engine started: a step of that many sampled tokens takes {} drafts",
                list(self.draft_timing.step_ms.iter().map(|m| format!("{m:.1}")).collect()),
                list(self.draft_timing.drafts_by_rows.iter().map(|d| d.to_string()).collect()),
            )?;
        }
        if !self.decode_widths.is_empty() {
            let widths: Vec<String> = self
                .decode_widths
                .iter()
                .map(|w| {
                    format!(
                        "{}: {:.1} ms ({:.0} tok/s)",
                        w.width, w.step_ms, w.tokens_per_sec
                    )
                })
                .collect();
            writeln!(
                f,
                "bare decode loop  by sequences decoded together, p50 step over {} steps, context {} (the pairs' p50 prompt): {}",
                self.decode_widths[0].steps,
                self.width_context,
                widths.join(", ")
            )?;
        }
        writeln!(
            f,
            "TTFT cached       {:>8.1} ms   uncached {:.1} ms   ratio {:.3} (target <= 0.25; p50s of {} requests each)",
            self.ttft_cached_ms_p50, self.ttft_uncached_ms_p50, self.ttft_ratio, self.ttft_samples
        )?;
        writeln!(
            f,
            "TTFT cached, where p50 suffix {:.0} tokens decoded in {:.1} ms, first token's sampling and gate {:.2} ms",
            self.suffix_tokens_p50, self.suffix_ms_p50, self.first_sample_ms_p50
        )?;
        writeln!(
            f,
            "TTFT cached, fresh p50 {:.1} ms over the {} pairs' first tries through the copier (p50 suffix {:.0} tokens); first words on screen p50 {:.1} ms",
            self.fresh_ttft_ms_p50, self.pairs, self.fresh_suffix_tokens_p50, self.first_words_ms_p50
        )?;
        writeln!(
            f,
            "fresh blurb       p50 {:.0} ms   p99 {:.0} ms over {} pairs (target p50 < 2000); first tries wrote p50 {:.0} tokens, p90 {:.0}, {:.1}% stopped at max_tokens",
            self.blurb_ms_p50,
            self.blurb_ms_p99,
            self.pairs,
            self.first_try_tokens_p50,
            self.first_try_tokens_p90,
            self.first_try_at_max_tokens * 100.0
        )?;
        writeln!(
            f,
            "warm throughput   {:>8.2} blurbs/s ({}); {:.2} blurbs/s with {} in flight (first try {:.1}%)",
            self.warm_blurbs_per_sec,
            self.warm_mode,
            self.warm_grouped_blurbs_per_sec,
            self.parallel,
            self.grouped_first_try_pass_rate * 100.0
        )?;
        writeln!(
            f,
            "warm plan         {:>8.2} blurbs/s in copy warm's order (style, product, segment), {:.2} in the order before (style, segment, product) ({} blurbs, {} in flight)",
            self.warm_plan_blurbs_per_sec,
            self.warm_plan_mixed_blurbs_per_sec,
            self.warm_plan_blurbs,
            self.parallel
        )?;
        writeln!(
            f,
            "session of 3     p50 {:.0} ms together, {:.0} ms with a 4th in flight, {:.0} ms one after another ({} sessions, the longest pick together p50 {:.0} tokens, first words of the first pick p50 {:.0} ms, of all three {:.0} ms; together {:.2}x one fresh blurb, {:.2}x one of its own picks written alone{})",
            self.session_grouped_ms_p50,
            self.session_with_fourth_ms_p50,
            self.session_sequential_ms_p50,
            self.sessions,
            self.session_longest_tokens_p50,
            self.session_first_words_ms_p50,
            self.session_all_begun_ms_p50,
            if self.blurb_ms_p50 > 0.0 {
                self.session_grouped_ms_p50 / self.blurb_ms_p50
            } else {
                0.0
            },
            self.session_to_own_picks_p50,
            step_ratio(&self.decode_widths, 3).map_or(String::new(), |r| format!(
                "; the bare loop steps 3 sequences in {r:.2}x one's time"
            ))
        )?;
        writeln!(
            f,
            "guardrails        first try {:.1}% (target >= 90%), from the model {:.1}% (n = {})",
            self.first_try_pass_rate * 100.0,
            self.model_served_rate * 100.0,
            self.pairs
        )?;
        if !self.first_try_failures.is_empty() {
            writeln!(f, "first-try failures {:?}", self.first_try_failures)?;
        }
        for example in &self.first_try_failed {
            writeln!(f, "  failed first: {example}")?;
        }
        if !self.first_try_cuts.is_empty() {
            writeln!(
                f,
                "first tries ended at a whole clause {:?}",
                self.first_try_cuts
            )?;
        }
        for example in &self.first_try_cut {
            writeln!(f, "  ended at a clause: {example}")?;
        }
        writeln!(
            f,
            "false prices      {:.1}% of served copy (target 0%, independent check)",
            self.false_price_rate * 100.0
        )?;
        for example in &self.false_prices {
            writeln!(f, "  false price: {example}")?;
        }
        writeln!(
            f,
            "sends elsewhere   {:.1}% of served copy (another retailer or a web address; target 0%, independent check)",
            self.elsewhere_rate * 100.0
        )?;
        for example in &self.elsewhere {
            writeln!(f, "  sends elsewhere: {example}")?;
        }
        writeln!(
            f,
            "repeats prompt    {:.1}% of served copy (the shopper's budget, the brief's words; target 0%, independent check)",
            self.prompt_echo_rate * 100.0
        )?;
        for example in &self.prompt_echoes {
            writeln!(f, "  repeats prompt: {example}")?;
        }
        writeln!(
            f,
            "junk              {:.1}% of served copy (a symbol or foreign letter the facts lack, a last word that waits for more; target 0%, independent check)",
            self.junk_rate * 100.0
        )?;
        for example in &self.junk {
            writeln!(f, "  junk: {example}")?;
        }
        write!(f, "peak RSS          {rss}")?;
        for copy in &self.served {
            write!(f, "\n  served: {copy}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// What the demo served on seeds 563 and 569 that the guardrails let through, and copy
    /// that is fine.
    #[test]
    fn junk_is_a_symbol_or_letter_the_facts_lack_or_a_waiting_last_word() {
        let charger = product(4749, None);
        for (text, what) in [
            ("The charger has a 🎁 of just over 🎁", "🎁 (1F381)"),
            ("Boot Charcoal, ¦", "¦ (00A6)"),
            (
                "Shampoo for the money! Now on sale at Ħaġaradatta",
                "Ħ (0126)",
            ),
            ("They keep it cold for ☕\u{fe0f} hours!", "☕ (2615)"),
            ("…selling face cream for over", "ends on \"over\""),
            ("…a coffee bean pod that lasts for up to", "ends on \"to\""),
            (
                "The trail phone case is now 24.49, only",
                "ends on \"only\"",
            ),
            (
                "Only 11.99, not a lot for the money: Haven Mug at only",
                "ends on \"only\"",
            ),
            ("A charcoal boot for under ⭐\u{fe0f}", "⭐ (2B50)"),
            (
                "Beach day playlist sorted: the king of the sandals, now at only \\uFE35.99",
                "\\ (005C)",
            ),
            ("Charger, **only 47.49**", "* (002A)"),
        ] {
            assert_eq!(shows_junk(text, &charger).as_deref(), Some(what), "{text}");
        }
        for fine in [
            "Padded sleeve, ₹349 only",
            "Only 24.99, Halvane Orbit phone case for less.",
            "Café-style coffee at home, 47.49.",
            "步云疾风跑步鞋，海蓝现价￥405。",
        ] {
            assert_eq!(shows_junk(fine, &charger), None, "{fine}");
        }
        let mut flask = product(1599, None);
        flask.description = "Keeps 4°C for 24 hours ★ rated".into();
        assert_eq!(shows_junk("4°C for 24 hours ★, 15.99.", &flask), None);
        let mut watch = product(599, None);
        watch.name = "Times_51 Party-Wedding Analog Watch".into();
        assert_eq!(shows_junk("The Times_51 watch, 5.99.", &watch), None);
        assert!(shows_junk("步云疾风跑步鞋🎁，现价￥405。", &flask).is_some());
    }

    #[test]
    fn a_step_ratio_needs_both_widths() {
        let width = |width, step_ms| WidthFigure {
            width,
            steps: 24,
            step_ms,
            tokens_per_sec: f64::from(width) * 1000.0 / step_ms,
        };
        let widths = [width(1, 13.3), width(2, 22.2), width(3, 27.8)];
        let three = step_ratio(&widths, 3).unwrap();
        assert!((three - 27.8 / 13.3).abs() < 1e-9, "{three}");
        assert_eq!(step_ratio(&widths, 4), None);
        assert_eq!(step_ratio(&widths[1..], 3), None, "no step of one");
        assert_eq!(step_ratio(&[width(1, 0.0), width(3, 27.8)], 3), None);
    }

    fn product(price: i64, list: Option<i64>) -> Product {
        Product {
            sku: "P1".into(),
            name: "Zephyrin Trail Runner".into(),
            brand: Some("Zephyrin".into()),
            category: vec!["Footwear".into()],
            price: Minor(price),
            list_price: list.map(Minor),
            description: String::new(),
            tags: vec![],
        }
    }

    fn usd() -> Currency {
        Currency {
            code: "USD".into(),
            symbol: "$".into(),
            aliases: vec!["dollars".into()],
        }
    }

    #[test]
    fn copy_sending_the_shopper_elsewhere_is_found_independently() {
        let p = product(10949, Some(13699));
        for (text, what) in [
            (
                "$109.49, 20% off: a sleeping bag at the lowest prices on Amazon.",
                "Amazon",
            ),
            ("A sleeping bag, as on Amazon's own shelves.", "Amazon"),
            ("A sleeping bag for less than at Best Buy.", "Best Buy"),
            ("Buy it at Flipkart.com: $109.49.", "Flipkart"),
            (
                "A sleeping bag, see deals.example.com today.",
                "deals.example.com",
            ),
            (
                "A sleeping bag, see www.deals.example today.",
                "www.deals.example",
            ),
            ("睡袋，比淘宝还便宜。", "淘宝"),
            ("A sleeping bag for $109.49, available at Target.", "Target"),
            ("A sleeping bag, as low as at Target's.", "Target"),
            // The demo, en, seed 613, served.
            ("A sleeping bag, available at Nordstrom Rack.", "Nordstrom"),
            ("A sleeping bag, now on sale at Sephora.", "Sephora"),
            ("A sleeping bag, only available at Bestbuy", "Bestbuy"),
            ("A sleeping bag, the same price at Home Goods", "Home Goods"),
            // A shop no list has, after a phrase that says where it is sold (seed 613).
            ("A sleeping bag, available at Sephara.", "Sephara"),
            ("A sleeping bag, only available at Best Prices", "Best"),
            (
                "A sleeping bag, now at Shopaholics for only $109.49",
                "Shopaholics",
            ),
        ] {
            assert_eq!(sends_elsewhere(text, &p).as_deref(), Some(what), "{text}");
        }
        for text in [
            "$109.49 (was $136.99): an amazonite-grey sleeping bag, e.g. for camping.",
            "The best buys of the season: a sleeping bag for $109.49.",
            "The best buy of the season: a sleeping bag for $109.49.",
            "Hit your target pace in a sleeping bag for $109.49.",
            "Target the cold: a sleeping bag for $109.49. Targets met.",
            "A sleeping bag for home goods lovers, $109.49.",
            "A sleeping bag, now at only $109.49, now at Zephyrin's own price.",
            "A sleeping bag, now at MRP $109.49, on sale on Friday.",
            "",
        ] {
            assert_eq!(sends_elsewhere(text, &p), None, "{text}");
        }
        let kindle = Product {
            name: "Amazon Kindle Paperwhite".into(),
            ..p
        };
        assert_eq!(
            sends_elsewhere("The Amazon Kindle reads like paper.", &kindle),
            None
        );
    }

    #[test]
    fn copy_repeating_its_prompt_is_found_independently() {
        let p = product(10949, Some(13699));
        for (text, what) in [
            ("Shampoo for the low budget! Mint", "low budget"),
            ("A sleeping bag on your budget: $109.49.", "your budget"),
            ("Shelf talkers: one line of store copy per", "shelf talker"),
            ("禾匠咖啡豆石板灰，一到两个短句", "短句"),
            ("青柚 远山面霜 莓红，价格便宜；预算适中。", "预算"),
        ] {
            assert_eq!(
                repeats_the_prompt(text, &p).as_deref(),
                Some(what),
                "{text}"
            );
        }
        for text in [
            "A budget-friendly sleeping bag: $109.49 (was $136.99).",
            "Budget tip: $109.49 for a sleeping bag.",
            "",
        ] {
            assert_eq!(repeats_the_prompt(text, &p), None, "{text}");
        }
        let planner = Product {
            name: "Low Budget Meal Planner".into(),
            ..p
        };
        assert_eq!(
            repeats_the_prompt("The Low Budget Meal Planner, $109.49.", &planner),
            None
        );
    }

    #[test]
    fn false_prices_are_found_independently() {
        let rupee = Currency::default();
        let usd = usd();
        let cases: [(&str, Product, &Currency); 16] = [
            (
                "Northpine Kite Running Shoe Sand, now $152.99 instead of $152.99",
                product(15299, None),
                &usd,
            ),
            (
                "Zephyrin is now $11.99, 29% off",
                product(849, Some(1199)),
                &usd,
            ),
            (
                "Road shoe, now only ₹1399",
                product(69900, Some(139900)),
                &rupee,
            ),
            (
                "Road shoe for just ₹190",
                product(120900, Some(139900)),
                &rupee,
            ),
            (
                "Road shoe, now ₹299 (was ₹70% off)",
                product(29900, Some(99900)),
                &rupee,
            ),
            ("Road shoe, now Rs. 350", product(34900, None), &rupee),
            (
                "A dress for less than ₹1800.",
                product(180000, None),
                &rupee,
            ),
            (
                "LED bulb for under ₹259",
                product(25900, Some(45000)),
                &rupee,
            ),
            (
                "Sunblock, down from ₹323",
                product(32300, Some(33000)),
                &rupee,
            ),
            // The role word next to the amount: a saving of ₹299 where ₹351 is saved.
            ("Mug, ₹299 off", product(29900, Some(65000)), &rupee),
            // A price come down from one that never was.
            ("Watch, cut from ₹795 to ₹695", product(69500, None), &rupee),
            // A preposition after the amount does not make it the price: ₹1699 is said as the
            // list price here, and the list price is ₹3999.
            (
                "Battery (was ₹1699 for 58% off)",
                product(169900, Some(399900)),
                &rupee,
            ),
            // `off` right after it: the saving, and ₹850 is the price, not the saving.
            (
                "Only ₹100, now ₹850 off",
                product(85000, Some(95000)),
                &rupee,
            ),
            // The price said to be above itself (the demo, seed 599, served).
            (
                "Only 85.99, a Zephyrin running shoe for just over 85.99",
                product(8599, None),
                &usd,
            ),
            // Amounts in words (the demo, seed 601, before the gate kept them out).
            (
                "Zephyrin Trail Runner, now on sale for only a few dollars less",
                product(2599, None),
                &usd,
            ),
            (
                "Only 1.99, Zephyrin for just a few bucks less",
                product(199, None),
                &usd,
            ),
        ];
        for (text, p, cur) in cases {
            assert!(false_price(text, &p, cur).is_some(), "{text}");
        }
        let fine: [(&str, Product, &Currency); 16] = [
            // The demo, en, seed 613: `for less` is no saving.
            ("Swift tent, 243.99 for less", product(24399, None), &usd),
            (
                "Tenda A6, 22% off. The price is lower than the original price of ₹1800.",
                product(139900, Some(180000)),
                &rupee,
            ),
            (
                "Tenda A6 for less than ₹1,800: just ₹1399.",
                product(139900, Some(180000)),
                &rupee,
            ),
            (
                "Zephyrin, now $8.49, was $11.99 (29% off).",
                product(849, Some(1199)),
                &usd,
            ),
            (
                "Zephyrin for just $8.49 instead of $11.99: save $3.50.",
                product(849, Some(1199)),
                &usd,
            ),
            (
                "Road shoe, ₹190 off, just Rs. 1209 (was ₹1,399).",
                product(120900, Some(139900)),
                &rupee,
            ),
            ("Road shoe for 1209 rupees.", product(120900, None), &rupee),
            (
                "Pack of 2, 750 ml, 24 hours cold, ₹599.",
                product(59900, None),
                &rupee,
            ),
            ("No price at all", product(59900, None), &rupee),
            (
                "LED bulb for under ₹450",
                product(25900, Some(45000)),
                &rupee,
            ),
            (
                "Sunblock for just ₹323, now from ₹323.",
                product(32300, Some(33000)),
                &rupee,
            ),
            // Flipkart sample, seed 271: a price that starts at ₹695.
            (
                "Sports Analog Watch from ₹695.",
                product(69500, None),
                &rupee,
            ),
            // Flipkart sample, seed 271: the 54 % is off, ₹299 is the price.
            (
                "₹299 54% off: a printland coffee mug that keeps your drinks cold.",
                product(29900, Some(65000)),
                &rupee,
            ),
            // Flipkart sample, seed 443: ₹100 is taken off now (a watch at ₹850 saving ₹100).
            (
                "Only 850, now ₹100 off on the Hourglass HG 6 Analog watch.",
                product(85000, Some(95000)),
                &rupee,
            ),
            // Flipkart sample, seed 521: `for` introduces the discount, ₹3999 is the list price.
            (
                "Battery, ₹1699. (was also ₹3999 for 58% off)",
                product(169900, Some(399900)),
                &rupee,
            ),
            // Flipkart sample, seed 577: 130 rupees is the saving (₹399 − ₹269).
            (
                "Clean! The Vacuum Cleaner now 130 rupees less than the original price of ₹399",
                product(26900, Some(39900)),
                &rupee,
            ),
        ];
        // Measures and the product's own numbers are no amounts (the Flipkart sample, seed 607).
        let mut pool = product(249900, None);
        pool.name = "Bestway 1.47m x 1.47m x 1.22m Play Pool".into();
        for text in [
            "Pool party, now 1.47m x 1.47m x 1.22m",
            "Showpiece - 8.89 cm, ₹2499",
            "Bestway 1.47 x 1.47 pool, ₹2499.",
        ] {
            assert_eq!(false_price(text, &pool, &rupee), None, "{text}");
        }
        let less = "The Vacuum Cleaner now 100 rupees less than the original price of ₹399";
        assert!(false_price(less, &product(26900, Some(39900)), &rupee).is_some());
        for (text, p, cur) in fine {
            assert_eq!(false_price(text, &p, cur), None, "{text}");
        }
        for fine in [
            "Zephyrin Trail Runner, 25.99 dollars, worth every cent",
            "Zephyrin Trail Runner: worth every cent, 25.99",
        ] {
            assert_eq!(
                false_price(fine, &product(2599, None), &usd),
                None,
                "{fine}"
            );
        }
    }

    #[test]
    fn false_chinese_prices_are_found_independently() {
        let cny = Currency::cny();
        let shoe = || product(45900, Some(59900));
        for text in [
            "跑鞋现在只要599元",
            "跑鞋原价459元，现在更便宜",
            "跑鞋只要￥３９９",
            "跑鞋立省100元",
            "跑鞋现价人民币599",
            "跑鞋现价￥459，原￥459",
            "跑鞋现价￥459，原 价￥459",
            // In numerals (the zh-CN demo, seed 601: served for a snack at ¥29).
            "跑鞋原装价格为一斤五千五百零五钱",
            "跑鞋现在只要五百九十九元",
            "跑鞋只要三百块",
            "跑鞋现价四百五十九元，原价四百五十九元",
            "跑鞋只要四五九点五元",
            // A bare number after a price word (the zh-CN demo, seed 607, served `…只要五三`
            // for a sandal at ¥359).
            "跑鞋只要五三",
            "跑鞋，价格599。",
            "跑鞋现在只要649",
            "跑鞋原价459，现价459",
            "跑鞋现在价459，原版价三五六九八十日。",
            "跑鞋现在仅需五钱。",
        ] {
            assert!(false_price(text, &shoe(), &cny).is_some(), "{text}");
        }
        for text in [
            "跑鞋现在只要459元，原价599元，立省140元。",
            "跑鞋现价￥４５９，12小时发货",
            "跑鞋优惠价¥459，7.7折",
            "跑鞋，¥459",
            "跑鞋现价￥459，原￥599",
            "跑鞋现在只要四百五十九元，原价五百九十九元，立省一百四十元。",
            "跑鞋只要四五九块钱！",
            "跑鞋万能百搭，一块布料做成，两双更划算，十分实惠，¥459",
            "跑鞋，价格459。",
            "跑鞋现价459，原价599，立省140元",
            "跑鞋现在30小时发货，才3天到，仅需14%的运费，¥459",
            "跑鞋只要一点点心思，价格十分实惠，¥459",
        ] {
            assert_eq!(false_price(text, &shoe(), &cny), None, "{text}");
        }
        for (numerals, digits) in [
            ("五千五百零五钱", "5505钱"),
            ("十二点五元", "12.5元"),
            ("十五", "15"),
            ("三万五千", "35000"),
            ("一万零五十", "10050"),
            ("二九九元", "299元"),
            ("五五百", "五五百"),
            ("五点", "五点"),
        ] {
            assert_eq!(numerals_as_digits(numerals), digits, "{numerals}");
        }
        let segments = bench_segments(Locale::ZhCn);
        assert_eq!(segments.len(), 4);
        assert_eq!(segments[0].department_words().as_deref(), Some("家居"));
    }

    #[test]
    fn template_copy_states_no_false_price() {
        use crate::copy::prompt::ProductFacts;
        use crate::copy::template;
        for cur in [Currency::default(), usd()] {
            for (price, list) in [
                (849, Some(1199)),
                (15299, None),
                (120900, Some(139900)),
                (5, Some(7)),
            ] {
                let p = product(price, list);
                let facts = ProductFacts::new(&p, &cur);
                let zh = ProductFacts::localised(&p, &Currency::cny(), Locale::ZhCn);
                for style in Style::ALL {
                    let text = template::render(&facts, style);
                    assert_eq!(false_price(&text, &p, &cur), None, "{text}");
                    let text = template::render(&zh, style);
                    assert_eq!(false_price(&text, &p, &Currency::cny()), None, "{text}");
                }
            }
        }
    }

    /// `n` products S0, S1, … at $1.00.
    fn numbered(n: usize) -> Vec<Product> {
        (0..n)
            .map(|i| Product {
                sku: format!("S{i}"),
                ..product(100, None)
            })
            .collect()
    }

    #[test]
    fn the_sample_is_seeded_and_complete() {
        let products = numbered(50);
        let a: Vec<&str> = sample(&products, 7)
            .iter()
            .map(|p| p.sku.as_str())
            .collect();
        let b: Vec<&str> = sample(&products, 7)
            .iter()
            .map(|p| p.sku.as_str())
            .collect();
        let c: Vec<&str> = sample(&products, 8)
            .iter()
            .map(|p| p.sku.as_str())
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 50);
    }

    #[test]
    fn the_sample_does_not_keep_a_prefix_together() {
        // SKUs as the demo catalogs write them: 24 categories of 15 products, one prefix each.
        let products: Vec<Product> = (0..24)
            .flat_map(|c| {
                (1..=15).map(move |i| Product {
                    sku: format!(
                        "{}{}-ITM-{i:04}",
                        (b'A' + c / 5) as char,
                        (b'A' + c % 5) as char
                    ),
                    ..product(100, None)
                })
            })
            .collect();
        for seed in [7, 83, 101, 2026] {
            let first: std::collections::BTreeSet<&str> = sample(&products, seed)
                .iter()
                .take(48)
                .map(|p| p.sku.get(..2).unwrap_or_default())
                .collect();
            // 48 draws of 360 meet about 21 of the 24 categories at random; with the plain
            // FNV-1a order they met 4.
            assert!(
                first.len() >= 16,
                "seed {seed}: the first 48 products come from {} categories",
                first.len()
            );
        }
    }

    #[test]
    fn pairs_cover_every_segment_and_style_at_random() {
        let products = numbered(400);
        let segments = bench_segments(Locale::En);
        let options = BenchOptions {
            pairs: 400,
            ..BenchOptions::default()
        };
        let pairs = draw_pairs(&products, &segments, &options);
        assert_eq!(pairs.len(), 400);
        let combos: std::collections::BTreeSet<(String, Style)> = pairs
            .iter()
            .map(|(_, seg, style)| (format!("{seg:?}"), *style))
            .collect();
        assert_eq!(combos.len(), segments.len() * Style::ALL.len());
        // Not a cycle: the style does not follow from the pair's number.
        let cyclic = pairs
            .iter()
            .enumerate()
            .filter(|(i, (_, _, style))| *style == Style::ALL[i % Style::ALL.len()])
            .count();
        assert!(cyclic < 200, "{cyclic} of 400 pairs follow i % 4");
        let again = draw_pairs(&products, &segments, &options);
        assert!(pairs
            .iter()
            .zip(&again)
            .all(|(a, b)| a.0.sku == b.0.sku && a.2 == b.2));
    }

    proptest! {
        #[test]
        fn the_false_price_check_never_panics(text in any::<String>(), price in 0i64..1_000_000, list in proptest::option::of(0i64..1_000_000)) {
            let _ = false_price(&text, &product(price, list), &Currency::default());
            let _ = sends_elsewhere(&text, &product(price, list));
            let _ = false_price(&text, &product(price, list), &usd());
        }

        #[test]
        fn price_like_text_never_panics(text in "[0-9.,%₹$Rs a-z]{0,40}") {
            let _ = false_price(&text, &product(100, Some(200)), &Currency::default());
        }
    }

    #[test]
    fn percentiles() {
        assert_eq!(percentile(vec![], 0.5), 0.0);
        assert_eq!(percentile(vec![3.0, 1.0, 2.0], 0.5), 2.0);
        assert_eq!(percentile((1..=100).map(f64::from).collect(), 0.99), 99.0);
    }

    #[test]
    fn rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_mb().is_some_and(|m| m > 0.0));
        }
    }
}
