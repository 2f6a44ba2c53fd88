//! `shelftalk bench copy`: throughput, latency, prefix-cache effect, memory and guardrail pass
//! rate of the copy pipeline on the real model.
//!
//! Invariants:
//! - The bench only reads: it uses the service's engine and prompts, and touches no store.
//! - Warm throughput is measured sequentially (one request at a time through the single worker);
//!   batched parallel sequences are not implemented.
//! - Peak RSS is the process's `VmHWM` (Linux), so it includes everything loaded before the bench.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::catalog::Product;
use crate::copy::engine::{EngineError, GenerationRequest, Timings};
use crate::copy::guardrails::Verdict;
use crate::copy::prompt::Audience;
use crate::copy::service::{CopyRequest, CopyService, CopySource};
use crate::vocab::{PriceBand, SegmentKey, Style};

/// Errors of the bench.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("the language model is unavailable: {0}")]
    EngineUnavailable(String),
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
    pub seed: u32,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            pairs: 100,
            ttft_samples: 8,
            seed: 7,
        }
    }
}

/// Results. `Display` prints a short table; serde gives JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub model: String,
    pub threads: i32,
    pub n_ctx: u32,
    pub prompt_tokens_per_sec: f64,
    pub generation_tokens_per_sec: f64,
    pub ttft_cached_ms_p50: f64,
    pub ttft_uncached_ms_p50: f64,
    /// Cached over uncached (target ≤ 0.25).
    pub ttft_ratio: f64,
    pub pairs: usize,
    /// Fresh blurb (prompt + generation + guardrails + any retry), prefix cache warm.
    pub blurb_ms_p50: f64,
    pub blurb_ms_p99: f64,
    pub warm_blurbs_per_sec: f64,
    pub warm_mode: String,
    /// Share of pairs whose first model attempt passed the guardrails (target ≥ 0.9).
    pub first_try_pass_rate: f64,
    /// Share served from the model after the retry.
    pub model_served_rate: f64,
    /// Share served at all (model or template; always 1.0).
    pub served_rate: f64,
    pub first_try_failures: BTreeMap<String, u64>,
    /// The first [`FAILURE_EXAMPLES`] failing first attempts: `sku [verdict detail] text`, for
    /// whoever tunes the prompt pack.
    pub first_try_failed: Vec<String>,
    pub peak_rss_mb: Option<f64>,
}

/// Failing first attempts kept in the report.
pub const FAILURE_EXAMPLES: usize = 20;

/// The segments paired with each product: fixed shopper archetypes.
pub fn bench_segments() -> Vec<SegmentKey> {
    vec![
        SegmentKey::new("home decor", Some(PriceBand::Mid)),
        SegmentKey::new("fitness", Some(PriceBand::Low)),
        SegmentKey::new("fashion", Some(PriceBand::High)),
        SegmentKey::new("gadgets", Some(PriceBand::Mid)),
    ]
}

fn audience(segment: &SegmentKey) -> Audience<'_> {
    Audience {
        segment,
        brand_fan: false,
    }
}

/// Run the bench over `products` (the lead passes the catalog).
pub fn run(
    service: &CopyService,
    products: &[Product],
    options: &BenchOptions,
) -> Result<BenchReport, BenchError> {
    let engine = service.engine().ok_or_else(|| {
        BenchError::EngineUnavailable(service.engine_error().unwrap_or("").into())
    })?;
    if products.is_empty() {
        return Err(BenchError::NoProducts);
    }
    let segments = bench_segments();
    let pairs: Vec<(&Product, &SegmentKey, Style)> = (0..options.pairs)
        .map(|i| {
            (
                &products[i % products.len()],
                &segments[i % segments.len()],
                Style::ALL[i % Style::ALL.len()],
            )
        })
        .collect();

    // Time to first token, without and with the prefix cache (prefix warm).
    let (mut uncached, mut cached) = (Vec::new(), Vec::new());
    for (i, (product, segment, style)) in pairs.iter().take(options.ttft_samples.max(1)).enumerate()
    {
        let prompt = service.prompt_for(product, audience(segment), *style);
        let request = |cache: bool, seed: u32| GenerationRequest {
            prefix: prompt.prefix.clone(),
            suffix: prompt.suffix.clone(),
            seed,
            max_tokens: Some(2),
            prefix_cache: Some(cache),
            temperature: None,
            allowed_numbers: None,
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
    let ttft_cached = p50(&cached, |t| t.ttft_ms);
    let prompt_tokens: f64 = uncached.iter().map(|t| f64::from(t.prompt_tokens)).sum();
    let prompt_ms: f64 = uncached.iter().map(|t| t.prompt_ms).sum();

    // Fresh blurbs, prefix cache warm for all styles.
    for style in Style::ALL {
        let prompt = service.prompt_for(pairs[0].0, audience(pairs[0].1), style);
        engine
            .generate(GenerationRequest {
                prefix: prompt.prefix,
                suffix: prompt.suffix,
                seed: options.seed,
                max_tokens: Some(1),
                prefix_cache: Some(true),
                temperature: None,
                allowed_numbers: None,
            })?
            .finish(|_| {})?;
    }
    let mut latencies = Vec::new();
    let (mut first_pass, mut from_model, mut served) = (0usize, 0usize, 0usize);
    let (mut gen_tokens, mut gen_ms) = (0.0, 0.0);
    let mut failures = BTreeMap::new();
    let mut failed = Vec::new();
    let started = Instant::now();
    for (i, (product, segment, style)) in pairs.iter().enumerate() {
        let outcome = service.write_copy(
            &CopyRequest::new(
                product,
                audience(segment),
                *style,
                options.seed.wrapping_add(1000 + i as u32),
            ),
            &mut |_| {},
        );
        latencies.push(outcome.elapsed_ms);
        served += usize::from(!outcome.text.is_empty());
        from_model += usize::from(outcome.source == CopySource::Model);
        if let Some(first) = outcome.attempts.first() {
            let code = first.verdict.as_ref().map_or("engine_error", Verdict::code);
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
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let n = pairs.len().max(1) as f64;
    let info = engine.info();
    Ok(BenchReport {
        model: info.model.clone(),
        threads: info.config.threads,
        n_ctx: info.n_ctx,
        prompt_tokens_per_sec: rate(prompt_tokens, prompt_ms),
        generation_tokens_per_sec: rate(gen_tokens, gen_ms),
        ttft_cached_ms_p50: ttft_cached,
        ttft_uncached_ms_p50: ttft_uncached,
        ttft_ratio: if ttft_uncached > 0.0 {
            ttft_cached / ttft_uncached
        } else {
            0.0
        },
        pairs: pairs.len(),
        blurb_ms_p50: percentile(latencies.clone(), 0.5),
        blurb_ms_p99: percentile(latencies, 0.99),
        warm_blurbs_per_sec: if wall > 0.0 { n / wall } else { 0.0 },
        warm_mode: "sequential".into(),
        first_try_pass_rate: first_pass as f64 / n,
        model_served_rate: from_model as f64 / n,
        served_rate: served as f64 / n,
        first_try_failures: failures,
        first_try_failed: failed,
        peak_rss_mb: peak_rss_mb(),
    })
}

fn rate(amount: f64, ms: f64) -> f64 {
    if ms > 0.0 {
        amount * 1000.0 / ms
    } else {
        0.0
    }
}

/// Nearest-rank percentile; 0 for no samples.
fn percentile(mut values: Vec<f64>, q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// Cache hits through the serving path: one entry written for `order`, then read back `n`
/// times. Returns the latencies in ms of the reads that were hits, sorted.
pub fn cache_hits(
    conn: &rusqlite::Connection,
    service: &CopyService,
    policy: &crate::copy::cache::Policy<'_>,
    order: &crate::copy::service::CopyOrder,
    n: usize,
) -> Result<Vec<f64>, crate::copy::cache::CacheError> {
    use crate::copy::cache::write_cached;
    write_cached(conn, service, policy, &order.request(), &mut |_| {})?;
    let mut hits: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            let r = write_cached(conn, service, policy, &order.request(), &mut |_| {});
            (t.elapsed().as_secs_f64() * 1e3, r)
        })
        .filter(|(_, r)| matches!(r, Ok(o) if o.source == CopySource::Cache))
        .map(|(ms, _)| ms)
        .collect();
    hits.sort_by(f64::total_cmp);
    Ok(hits)
}

/// Cache-hit latency percentiles from [`cache_hits`]' sorted latencies.
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

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rss = self
            .peak_rss_mb
            .map_or("n/a".to_string(), |m| format!("{m:.0} MB"));
        writeln!(
            f,
            "model {} ({} threads, n_ctx {})",
            self.model, self.threads, self.n_ctx
        )?;
        writeln!(
            f,
            "prompt            {:>8.1} tok/s",
            self.prompt_tokens_per_sec
        )?;
        writeln!(
            f,
            "generation        {:>8.1} tok/s",
            self.generation_tokens_per_sec
        )?;
        writeln!(
            f,
            "TTFT cached       {:>8.1} ms   uncached {:.1} ms   ratio {:.3} (target <= 0.25)",
            self.ttft_cached_ms_p50, self.ttft_uncached_ms_p50, self.ttft_ratio
        )?;
        writeln!(
            f,
            "fresh blurb       p50 {:.0} ms   p99 {:.0} ms over {} pairs (target p50 < 2000)",
            self.blurb_ms_p50, self.blurb_ms_p99, self.pairs
        )?;
        writeln!(
            f,
            "warm throughput   {:>8.2} blurbs/s ({})",
            self.warm_blurbs_per_sec, self.warm_mode
        )?;
        writeln!(
            f,
            "guardrails        first try {:.1}% (target >= 90%), model {:.1}%, served {:.1}%",
            self.first_try_pass_rate * 100.0,
            self.model_served_rate * 100.0,
            self.served_rate * 100.0
        )?;
        if !self.first_try_failures.is_empty() {
            writeln!(f, "first-try failures {:?}", self.first_try_failures)?;
        }
        for example in &self.first_try_failed {
            writeln!(f, "  failed first: {example}")?;
        }
        write!(f, "peak RSS          {rss}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
