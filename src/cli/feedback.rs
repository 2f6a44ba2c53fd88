//! `feedback`: simulate shoppers through the recording path; local totals.

use anyhow::Result;

use shelftalk::config::Config;
use shelftalk::feedback::simulate::{SimOptions, SimReport};
use shelftalk::personalise;
use shelftalk::sync;

use super::args::FeedbackCmd;
use super::output::{emit, Render};
use super::{now, open_store};

impl Render for SimReport {
    fn human(&self) -> String {
        format!(
            "simulated {} sessions on {}..{}: {} impressions, {} interactions, {} conversions",
            self.sessions,
            self.first_day,
            self.last_day,
            self.impressions,
            self.interactions,
            self.conversions
        )
    }
}

pub fn run(config: &Config, cmd: FeedbackCmd) -> Result<()> {
    let mut store = open_store(config)?;
    match cmd {
        FeedbackCmd::Simulate {
            sessions,
            seed,
            days,
            picks,
            out,
        } => {
            let opts = SimOptions {
                sessions,
                seed,
                now: now(),
                days,
                window_secs: config.conversion_window_secs,
                picks_per_session: picks,
                holdout_share: config.experiment.holdout_share,
            };
            let report = personalise::simulate_feedback(config, store.conn_mut(), &opts)?;
            emit(out.json, &report)
        }
        FeedbackCmd::Status(out) => emit(out.json, &sync::status(store.conn(), config)?),
    }
}
