//! `recommend`, `mdp fit` and `eval recommend`: the recommender for a shopper and offline
//! against a behaviour log.

use anyhow::Result;

use shelftalk::config::Config;
use shelftalk::import;
use shelftalk::personalise::{self, Recommendation};
use shelftalk::recommend::eval::EvalReport;
use shelftalk::recommend::mdp::JourneyFit;
use shelftalk::recommend::{CatalogIndex, MdpConfig, RecommendConfig};

use super::args::{EvalCmd, LoyaltyInput, MdpCmd};
use super::now;
use super::output::{emit, Render};

impl Render for Recommendation {
    fn human(&self) -> String {
        let mut text = format!(
            "segment {} ({})",
            self.segment,
            if self.personalised {
                "personalised"
            } else {
                "not personalised"
            }
        );
        for (i, p) in self.picks.iter().enumerate() {
            text.push_str(&format!(
                "\n{}. {} — {} {} ({:.3})\n   {}",
                i + 1,
                p.sku,
                p.name.as_deref().unwrap_or("?"),
                p.price.as_deref().unwrap_or("?"),
                p.score,
                p.reason
            ));
        }
        text
    }
}

impl Render for JourneyFit {
    fn human(&self) -> String {
        format!(
            "{} sessions\n{}\n{}",
            self.sessions, self.model, self.policy
        )
    }
}

impl Render for EvalReport {
    fn human(&self) -> String {
        self.to_string()
    }
}

/// `shelftalk recommend`.
pub fn recommend(
    config: &Config,
    loyalty: &LoyaltyInput,
    scans: &[String],
    n: usize,
    json: bool,
) -> Result<()> {
    let loyalty = loyalty.read(false, &config.scan.cards)?;
    let shelf = personalise::recommend_for(config, loyalty.as_ref(), scans, n, now())?;
    emit(json, &shelf)
}

/// `shelftalk mdp fit`.
pub fn mdp(config: &Config, cmd: MdpCmd) -> Result<()> {
    let MdpCmd::Fit {
        events,
        format,
        out,
    } = cmd;
    let log = import::read_log(&events, format, &config.rules(now()))?;
    let fit = JourneyFit::from_events(&log.events, &MdpConfig::default())?;
    emit(out.json, &fit)
}

/// `shelftalk eval recommend`.
pub fn eval(config: &Config, cmd: EvalCmd) -> Result<()> {
    let EvalCmd::Recommend {
        events,
        format,
        out,
    } = cmd;
    let log = import::read_log(&events, format, &config.rules(now()))?;
    let report = shelftalk::recommend::eval::leave_last_out(
        &log.events,
        &CatalogIndex::new(log.products),
        &RecommendConfig::default(),
        3,
    )?;
    emit(out.json, &report)
}
