//! `bench`: benchmarks that print each figure beside a baseline measured in the same run.

use std::io::IsTerminal;

use anyhow::Result;

use shelftalk::bench::copy::CopyBench;
use shelftalk::config::Config;

use super::args::BenchCmd;
use super::output::{emit, Render};
use super::{now, runtime};

impl Render for CopyBench {
    fn human(&self) -> String {
        format!(
            "{}\ncache hit: p50 {:.3} ms, p99 {:.3} ms over {} hits (target p99 < 20 ms)",
            self.engine,
            self.cache.cache_hit_ms_p50,
            self.cache.cache_hit_ms_p99,
            self.cache.cache_hits
        )
    }
}

impl Render for shelftalk::recommend::bench::BenchReport {
    fn human(&self) -> String {
        self.to_string()
    }
}

impl Render for shelftalk::bench::StoreReport {
    fn human(&self) -> String {
        self.render()
    }
}

impl Render for shelftalk::bench::hq::HqBenchReport {
    fn human(&self) -> String {
        self.render()
    }
}

impl Render for shelftalk::bench::sync::SyncBenchReport {
    fn human(&self) -> String {
        self.render()
    }
}

pub fn run(config: &Config, cmd: BenchCmd) -> Result<()> {
    match cmd {
        BenchCmd::Copy {
            catalog,
            pairs,
            seed,
            show_copy,
            out,
        } => {
            let options = shelftalk::copy::bench::BenchOptions {
                pairs,
                seed,
                show_copy,
                ..Default::default()
            };
            let report = shelftalk::bench::copy::run(config, catalog.as_deref(), &options, now())?;
            emit(out.json, &report)
        }
        BenchCmd::Recommend { iterations, out } => {
            let report = shelftalk::recommend::bench::run(&config.recommend, iterations, 7)?;
            emit(out.json, &report)
        }
        BenchCmd::Store { shoppers, out } => emit(out.json, &shelftalk::bench::store(shoppers)?),
        BenchCmd::Sync { events, out } => {
            let report = runtime()?.block_on(shelftalk::bench::sync::run(events))?;
            emit(out.json, &report)
        }
        BenchCmd::Hq {
            kiosks,
            batches,
            cells,
            connections,
            report_cells,
            report_runs,
            database_url,
            out,
        } => {
            let opts = shelftalk::bench::hq::HqBenchOptions {
                kiosks,
                batches,
                cells,
                connections,
                report_cells,
                report_runs,
                database_url,
                progress: !out.json && std::io::stderr().is_terminal(),
            };
            let report = runtime()?.block_on(shelftalk::bench::hq::run(&opts))?;
            emit(out.json, &report)
        }
    }
}
