//! `copy` (one product's copy, streamed to the terminal) and `copy warm` (pre-generate the
//! cache), with a progress bar on an interactive stderr.

use std::io::IsTerminal;

use anyhow::{bail, Result};
use serde::Serialize;

use shelftalk::config::Config;
use shelftalk::copy::cache::WarmReport;
use shelftalk::copy::service::CopyProgress;
use shelftalk::copy::CopyOutcome;
use shelftalk::personalise::{self, CopyJob};
use shelftalk::vocab::SegmentKey;

use super::args::{CopyArgs, CopyCmd};
use super::now;
use super::output::{self, emit, Render, TokenStream};

#[derive(Serialize)]
struct Copy<'a> {
    sku: &'a str,
    segment: &'a SegmentKey,
    #[serde(flatten)]
    outcome: &'a CopyOutcome,
}

impl Render for Copy<'_> {
    fn human(&self) -> String {
        let o = self.outcome;
        let timing = match &o.timings {
            Some(t) => format!(
                "first token {:.0} ms, {:.1} tokens/s, {} prompt tokens ({} from the prefix cache)",
                t.ttft_ms, t.tokens_per_sec, t.prompt_tokens, t.cached_tokens
            ),
            None => format!("{:.1} ms", o.elapsed_ms),
        };
        format!(
            "{}\n  style {}, segment {}, source {}, verdict {}, {timing}",
            o.text,
            o.style.as_str(),
            self.segment,
            o.source.as_str(),
            o.verdict.code()
        )
    }
}

impl Render for WarmReport {
    fn human(&self) -> String {
        format!(
            "warmed {} product × segment × style entries in {:.1} s ({:.2} blurbs/s); sources {:?}",
            self.requests, self.seconds, self.blurbs_per_sec, self.sources
        )
    }
}

pub fn run(config: &Config, cmd: Option<CopyCmd>, args: CopyArgs) -> Result<()> {
    match cmd {
        Some(CopyCmd::Warm { top, segments, out }) => warm(config, top, segments, out.json),
        None => copy(config, args),
    }
}

fn copy(config: &Config, args: CopyArgs) -> Result<()> {
    let Some(sku) = args.sku else {
        bail!("--sku is required (or use `shelftalk copy warm`)");
    };
    let loyalty = args.loyalty.read(false, &config.scan.cards)?;
    if loyalty.is_some() && args.segment.is_some() {
        bail!("--segment and a shopper's loyalty number exclude each other: the shopper's segment is used");
    }
    let segment = args
        .segment
        .map(|key| key.parse::<SegmentKey>())
        .transpose()
        .map_err(|e| anyhow::anyhow!("--segment: {e}"))?;
    let style = args
        .style
        .map(|s| s.parse())
        .transpose()
        .map_err(|e| anyhow::anyhow!("--style: {e}"))?;
    let job = CopyJob {
        sku,
        loyalty,
        segment,
        style,
        seed: args.seed,
        prefix_cache: !args.no_prefix_cache,
        use_cache: !args.no_cache,
    };
    let prepared = personalise::prepare_copy(config, job, now())?;
    if let Some(err) = prepared.engine_error() {
        output::note(&format!("warning: {err}; serving template copy"));
    }
    let stream = TokenStream::new(args.out.json);
    let outcome = prepared.write(now(), &mut |p| match p {
        CopyProgress::Token(t) => stream.token(t),
        CopyProgress::Restart => stream.restart(),
    })?;
    stream.finish();
    let copy = Copy {
        sku: &prepared.order.product.sku,
        segment: &prepared.order.segment,
        outcome: &outcome,
    };
    emit(args.out.json, &copy)
}

fn warm(config: &Config, top: Option<usize>, segments: Option<usize>, json: bool) -> Result<()> {
    let job = personalise::warm_job(
        config,
        (top, segments),
        shelftalk::daemon::copier::WARM_SEED,
        now(),
    )?;
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(job.plan.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let report = job.run(now(), &mut || bar.inc(1))?;
    bar.finish_and_clear();
    emit(json, &report)
}
