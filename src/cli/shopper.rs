//! `shopper`: enrol, inspect and erase shoppers; the retention sweep.

use std::path::PathBuf;

use anyhow::{bail, Result};
use serde::Serialize;

use shelftalk::audit::AuditLog;
use shelftalk::config::Config;
use shelftalk::control::Action;
use shelftalk::daemon::shell;
use shelftalk::profile::{self, EraseReport, Summary, SweepReport, Vault};
use shelftalk::store::shoppers::Consent;

use super::args::ShopperCmd;
use super::output::{emit, DoneBy, Render};
use super::{now, runtime};

#[derive(Serialize)]
struct Enrolled {
    shopper: String,
    created: bool,
    consent: Consent,
}

impl Render for Enrolled {
    fn human(&self) -> String {
        format!(
            "{} shopper {} (personalise: {}, analytics: {})",
            if self.created { "enrolled" } else { "updated" },
            self.shopper,
            self.consent.personalise,
            self.consent.analytics
        )
    }
}

impl Render for Summary {
    fn human(&self) -> String {
        let list = |v: &[String]| {
            if v.is_empty() {
                "-".to_string()
            } else {
                v.join(", ")
            }
        };
        format!(
            "shopper {}\n  consent: personalise {}, analytics {}\n  enrolled {}, last seen {}\n  \
             events: {} views, {} carts, {} purchases, {} returns over {} visits\n  \
             segment {} (price band {}), interests: {}, brands: {}",
            self.shopper,
            self.consent.personalise,
            self.consent.analytics,
            self.created_day,
            self.last_seen_day,
            self.events.views,
            self.events.carts,
            self.events.purchases,
            self.events.returns,
            self.visits,
            self.segment,
            self.price_band.as_deref().unwrap_or("unknown"),
            list(&self.interests),
            list(&self.preferred_brands)
        )
    }
}

impl Render for EraseReport {
    fn human(&self) -> String {
        let rotation = match (&self.rotation, self.rotation_deferred) {
            (Some(rot), _) => format!(
                "key-encryption key rotated {} -> {}",
                rot.from_kek, rot.to_kek
            ),
            (None, true) => "key rotation deferred to the daily sweep".to_string(),
            (None, false) => "no key rotation".to_string(),
        };
        format!(
            "erased shopper {} ({} rows); {rotation}",
            self.shopper, self.rows_deleted
        )
    }
}

/// Where `shopper export` wrote a shopper's data (the data itself is never printed).
#[derive(Serialize)]
struct Exported {
    shopper: String,
    events: usize,
    file: PathBuf,
}

impl Render for Exported {
    fn human(&self) -> String {
        format!(
            "exported shopper {} ({} events) to {} (mode 0600)",
            self.shopper,
            self.events,
            self.file.display()
        )
    }
}

/// A sweep's report with the retention it applied (for the text only).
#[derive(Serialize)]
struct Swept {
    #[serde(flatten)]
    report: SweepReport,
    #[serde(skip)]
    retention_days: u32,
}

impl Render for Swept {
    fn human(&self) -> String {
        format!(
            "retention sweep: {} shoppers erased (unseen for {} days){}",
            self.report.erased,
            self.retention_days,
            self.report
                .rotation
                .as_ref()
                .map(|x| format!("; key rotated {} -> {}", x.from_kek, x.to_kek))
                .unwrap_or_default()
        )
    }
}

pub fn run(config: &Config, cmd: ShopperCmd) -> Result<()> {
    let open = || Vault::open(config);
    match cmd {
        ShopperCmd::Enroll {
            loyalty,
            consent,
            rejoin,
            out,
        } => {
            let mut vault = open()?;
            let consent = profile::parse_consent(&consent)?;
            let loyalty = loyalty.required(&config.scan.cards)?;
            let (id, created) = vault.enroll(&loyalty, consent, rejoin, now())?;
            let enrolled = Enrolled {
                shopper: id.short(),
                created,
                consent,
            };
            emit(out.json, &enrolled)
        }
        ShopperCmd::Show { loyalty, out } => {
            let vault = open()?;
            let Some(shopper) = vault.find(&loyalty.required(&config.scan.cards)?)? else {
                bail!("no shopper is enrolled with that loyalty number");
            };
            let summary = vault.summary(&shopper, now(), &config.recommend.features)?;
            emit(out.json, &summary)
        }
        ShopperCmd::Export { loyalty, out, json } => {
            let vault = open()?;
            let Some(shopper) = vault.find(&loyalty.required(&config.scan.cards)?)? else {
                bail!("no shopper is enrolled with that loyalty number");
            };
            let export = vault.export(&shopper, now(), &config.recommend.features)?;
            profile::write_export(&out, &export)?;
            let written = Exported {
                shopper: export.shopper,
                events: export.events.len(),
                file: out,
            };
            emit(json.json, &written)
        }
        ShopperCmd::Erase { loyalty, out } => {
            // A running daemon erases (and rotates, and audits) itself: the number goes to it
            // over the control socket, as the console's erase sends it; else this command
            // erases, under the same exclusive key lock for the rotation.
            let number = loyalty.required(&config.scan.cards)?;
            let action = Action::EraseShopper {
                loyalty: number.expose().to_string(),
            };
            if let Some(done) = runtime()?.block_on(shell::act(config, action))? {
                let r: EraseReport = shell::report(&done)?;
                return emit(out.json, &DoneBy::daemon(r));
            }
            let audit = AuditLog::in_dir(&config.data_dir);
            let r = open()?.erase_audited(&number, &audit, "cli", now())?;
            emit(out.json, &DoneBy::here(r))
        }
        ShopperCmd::Sweep(out) => {
            let report = open()?.sweep(now(), config.retention_days)?;
            let swept = Swept {
                report,
                retention_days: config.retention_days,
            };
            emit(out.json, &swept)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_keeps_its_json_fields_and_says_the_retention_in_text() {
        let swept = Swept {
            report: SweepReport {
                erased: 2,
                rotation: None,
            },
            retention_days: 30,
        };
        let json = serde_json::to_value(&swept).ok();
        assert_eq!(
            json,
            Some(serde_json::json!({ "erased": 2, "rotation": null }))
        );
        assert_eq!(
            swept.human(),
            "retention sweep: 2 shoppers erased (unseen for 30 days)"
        );
    }
}
