//! `run`, `demo` and `console`: the kiosk daemon and the technician console.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use shelftalk::config::Config;
use shelftalk::daemon::demo;
use shelftalk::locale::Locale;

use super::args::ConsoleCmd;
use super::{input, output, runtime};

/// `shelftalk run`.
pub fn run(config: Config, file_in_use: Option<PathBuf>) -> Result<()> {
    Ok(runtime()?.block_on(shelftalk::daemon::run(config, file_in_use))?)
}

/// `shelftalk console [set-pin]`.
pub fn console(
    config: &Config,
    file_in_use: Option<PathBuf>,
    cmd: Option<ConsoleCmd>,
) -> Result<()> {
    match cmd {
        None => Ok(runtime()?.block_on(shelftalk::daemon::console::run(
            &config.data_dir,
            config.locale,
        ))?),
        Some(ConsoleCmd::SetPin { pin_file }) => {
            let Some(file) = file_in_use else {
                bail!(
                    "no config file in use; pass --config FILE to choose where the PIN hash goes"
                );
            };
            let pin = match pin_file {
                Some(p) => input::pin_from_file(&p)?,
                None => input::read_pin()?,
            };
            shelftalk::daemon::console::set_pin(&file, &pin)?;
            output::line(&format!("console PIN set in {}", file.display()))
        }
    }
}

/// `shelftalk demo`: set up the demo data dir, say what to type, run the kiosk.
pub fn demo(data_dir: Option<&Path>, demo_dir: &Path, locale: Locale) -> Result<()> {
    let default = demo::default_data_dir(locale);
    let data_dir = data_dir.unwrap_or(&default);
    let (config, setup) = demo::configure(data_dir, demo_dir, locale)
        .with_context(|| format!("setting up the demo in {}", data_dir.display()))?;
    let mut text = format!(
        "shelftalk demo ({locale}) in {} ({})\n\
         Type one of these loyalty codes and Enter at the kiosk for a personal session:",
        config.data_dir.display(),
        if setup.created { "new" } else { "existing" }
    );
    for code in &setup.loyalty_codes {
        text.push_str(&format!("\n  {code}"));
    }
    let holdout = config.experiment.holdout_share;
    if setup.loyalty_codes.is_empty() {
        text.push_str(
            "\n  (none today: no shopper of the demo log gets a personal session; the day's \
             holdout or their consent)",
        );
    } else if holdout > 0.0 {
        text.push_str(&format!(
            "\n(Each store day about {:.0} % of shoppers are in the holdout and see the store's \
             popular picks, so HQ can measure what personalisation adds; these codes are not, \
             today.)",
            holdout * 100.0
        ));
    }
    text.push_str(&format!(
        "\nOr type a product code such as FW-RUN-0001. Keys: ←/→ or a tap choose, + / - vote, ? \
         why, o opt out, d done.\n\
         Technician console, from another terminal: shelftalk --config {} --data-dir {} console  \
         (demo PIN {})\n\
         Stop the kiosk with SIGTERM or Ctrl+\\ from another terminal: kill $(pgrep -n shelftalk)",
        setup.config_file.display(),
        config.data_dir.display(),
        demo::DEMO_PIN
    ));
    output::line(&text)?;
    if std::io::stdin().is_terminal() {
        output::line("Press Enter to start the kiosk…")?;
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
    }
    run(config, Some(setup.config_file))
}
