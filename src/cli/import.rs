//! `import`: catalogs and behaviour events, with a byte progress bar on an interactive stderr.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Result;

use shelftalk::config::Config;
use shelftalk::import::{self, Outcome};
use shelftalk::profile::Vault;

use super::args::ImportCmd;
use super::now;
use super::output::{emit, Render};

impl Render for Outcome {
    fn human(&self) -> String {
        let head = if self.already_imported {
            format!(
                "{}: already imported (same content); nothing changed. Earlier report:",
                self.file
            )
        } else {
            format!(
                "{}: {} products written, {} new events, {} new shoppers, {} rows of erased \
                 shoppers suppressed, {} kiosk impressions converted by purchases",
                self.file,
                self.products_written,
                self.events_new,
                self.shoppers_new,
                self.suppressed,
                self.conversions
            )
        };
        format!("{head}\ndata quality: {}", self.report.render())
    }
}

/// A byte progress bar on an interactive stderr, nothing when piped.
fn progress_bar(path: &Path) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(path.display().to_string());
    bar
}

pub fn run(config: &Config, cmd: ImportCmd) -> Result<()> {
    let mut vault = Vault::open(config)?;
    let rules = config.rules(now());
    let (outcome, json) = match cmd {
        ImportCmd::Catalog { file, format, out } => {
            let bar = progress_bar(&file);
            (
                import::catalog(&mut vault, &file, format, &rules, now(), &bar)?,
                out.json,
            )
        }
        ImportCmd::Events { file, format, out } => {
            let bar = progress_bar(&file);
            (
                import::events(&mut vault, &file, format, &rules, now(), &bar)?,
                out.json,
            )
        }
    };
    emit(json, &outcome)
}
