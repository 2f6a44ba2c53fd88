//! `sync`: send anonymised feedback batches to HQ, show the outbox, pull fleet priors.

use anyhow::Result;
use serde::Serialize;

use shelftalk::config::Config;
use shelftalk::feedback::cells::Counts;
use shelftalk::sync::{self, SyncContext, SyncReport, SyncStatus};

use super::args::SyncCmd;
use super::output::{emit, Render};
use super::{now, open_store, runtime};

impl Render for SyncStatus {
    fn human(&self) -> String {
        let c = |c: &Counts| {
            format!(
                "{} impressions, {} taps, {} conversions",
                c.impressions, c.taps, c.conversions
            )
        };
        let when = |t: Option<i64>| t.map_or("never".to_string(), |t| format!("{t} (unix)"));
        let s = self;
        format!(
            "kiosk {} (store {}) -> {}\n  recorded      {}\n  pending       {} (days not yet closed)\n  \
             withheld      {} (below k after roll-up; never sent)\n  outbox        {} batches, {} cells: {}\n  \
             acknowledged  {} batches: {}\n  dropped       {} batches: {}\n  next seq {}; last attempt {}; \
             last success {}{}\n  fleet priors: {}",
            s.kiosk_id,
            s.store_id,
            s.hq_url,
            c(&s.recorded),
            c(&s.pending),
            c(&s.withheld),
            s.outbox.batches,
            s.outbox.cells,
            c(&s.outbox.counts),
            s.acknowledged.batches,
            c(&s.acknowledged.counts),
            s.dropped.batches,
            c(&s.dropped.counts),
            s.next_seq,
            when(s.last_attempt),
            when(s.last_success),
            s.last_error
                .as_ref()
                .map(|e| format!("\n  last error: {e}"))
                .unwrap_or_default(),
            s.fleet_priors
        )
    }
}

impl Render for SyncReport {
    fn human(&self) -> String {
        let r = self;
        let audit = match &r.audit_head {
            Some(h) => format!(
                "; audit log head seq {} reported ({}{})",
                h.head_seq,
                h.verdict.as_str(),
                if h.chain_intact { "" } else { ", chain broken" }
            ),
            None => "; audit log head not reported".to_string(),
        };
        format!(
            "closed {} cells ({} impressions withheld by k-anonymity); wrote {} batches, \
             rolled up {}, dropped {}; sent {} batches ({} duplicates): {} impressions; \
             {} left in the outbox{audit}",
            r.prepared.closed_cells,
            r.prepared.withheld.impressions,
            r.prepared.batches_written,
            r.prepared.batches_rolled_up,
            r.prepared.batches_dropped,
            r.batches_sent,
            r.duplicates,
            r.sent.impressions,
            r.outbox_left
        )
    }
}

/// How many fleet priors `sync priors` stored.
#[derive(Serialize)]
struct Priors {
    priors: usize,
}

impl Render for Priors {
    fn human(&self) -> String {
        format!("{} fleet priors stored", self.priors)
    }
}

pub fn run(config: &Config, cmd: SyncCmd) -> Result<()> {
    match cmd {
        SyncCmd::Now(out) => {
            let ctx = SyncContext::from_config(config)?;
            let report = runtime()?.block_on(sync::run_once(&ctx, now()))?;
            emit(out.json, &report)
        }
        SyncCmd::Status(out) => {
            let store = open_store(config)?;
            emit(out.json, &sync::status(store.conn(), config)?)
        }
        SyncCmd::Priors(out) => {
            let ctx = SyncContext::from_config(config)?;
            let priors = runtime()?.block_on(sync::pull_priors(&ctx, now()))?;
            emit(out.json, &Priors { priors })
        }
    }
}
