//! `shelftalk demo`: a ready-to-try data dir from the project's own demo data.
//!
//! Invariants:
//! - A data dir is set up once: when `<data_dir>/kiosk.toml` exists, nothing is re-created or
//!   re-imported (importers are idempotent anyway), and keys are never overwritten.
//! - The demo's console PIN [`DEMO_PIN`] is for demo data dirs only; it is stored as a PBKDF2 hash
//!   in the demo's own config file, never in the shipped `firmware-config/kiosk.toml`.
//! - The loyalty codes offered are the invented ids of `demo/events.csv`, not real shoppers.
//! - Each locale has its own demo data ([`source_dir`]: `demo/` for `en`, `demo/zh-CN/` for
//!   `zh-CN`) and its own default data dir ([`default_data_dir`]); a data dir set up for one
//!   locale is refused for another ([`DaemonError::DemoLocale`]). A `zh-CN` demo's config file says
//!   so and prices in yuan ([`locale_settings`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::DaemonError;
use crate::config::Config;
use crate::crypto::keyfiles::KeyDir;
use crate::ingest::{CatalogFormat, EventFormat, Rules};
use crate::locale::Locale;
use crate::profile::Vault;

/// The technician PIN of demo data dirs.
pub const DEMO_PIN: &str = "246810";
/// The demo PIN before PINs had at least 6 digits: a demo dir still on it gets [`DEMO_PIN`].
const OLD_DEMO_PIN: &str = "2468";
/// Loyalty codes printed for newcomers.
const CODES_SHOWN: usize = 3;
/// Codes of the demo log with the most history that [`configure`] chooses the printed ones from.
const CODE_CANDIDATES: usize = 24;

/// What `prepare` did.
#[derive(Debug, Clone)]
pub struct DemoSetup {
    /// The data dir was set up by this call.
    pub created: bool,
    /// The demo's config file (pass it as `--config` to the console's `set-pin`).
    pub config_file: PathBuf,
    /// Loyalty codes with the most history in the demo log, most first: [`CODE_CANDIDATES`]
    /// from [`prepare`]; from [`configure`] the first [`CODES_SHOWN`] of them whose session is
    /// personal today ([`personal_today`]).
    pub loyalty_codes: Vec<String>,
}

/// The demo's config file in `data_dir`.
pub fn config_file(data_dir: &Path) -> PathBuf {
    data_dir.join("kiosk.toml")
}

/// Where the demo data (`catalog.csv`, `events.csv`) of `locale` is under the project's demo
/// directory: the directory itself for `en`, its `zh-CN/` for `zh-CN`.
pub fn source_dir(demo_dir: &Path, locale: Locale) -> PathBuf {
    match locale {
        Locale::En => demo_dir.to_path_buf(),
        other => demo_dir.join(other.as_str()),
    }
}

/// The data dir a locale's demo uses unless told otherwise: `.shelftalk` for `en`,
/// `.shelftalk-zh-CN` for `zh-CN` (one data dir holds one locale's catalog).
pub fn default_data_dir(locale: Locale) -> PathBuf {
    match locale {
        Locale::En => PathBuf::from(".shelftalk"),
        other => PathBuf::from(format!(".shelftalk-{}", other.as_str())),
    }
}

/// The config lines a demo of `locale` starts its config file with: none for `en` (the
/// defaults), the locale and the yuan for `zh-CN` (as `firmware-config/kiosk.toml` describes).
pub fn locale_settings(locale: Locale) -> &'static str {
    match locale {
        Locale::En => "",
        Locale::ZhCn => concat!(
            "locale = \"zh-CN\"\n",
            "\n",
            "[currency]\n",
            "code = \"CNY\"\n",
            "symbol = \"¥\"\n",
            "aliases = [\"元\", \"RMB\", \"人民币\"]\n",
        ),
    }
}

/// `shelftalk demo [--locale L]`: sets up `data_dir` from `locale`'s demo data under `demo_dir`
/// unless already done ([`prepare`]) and returns the demo's validated config with what was set
/// up, its loyalty codes those that get a personal session today.
pub fn configure(
    data_dir: &Path,
    demo_dir: &Path,
    locale: Locale,
) -> Result<(Config, DemoSetup), DaemonError> {
    let mut base = Config::load(None, std::env::vars())?;
    base.data_dir = data_dir.to_path_buf();
    base.locale = locale;
    base.validate()?;
    let mut setup = prepare(&base, &source_dir(demo_dir, locale))?;
    let mut config = Config::load(Some(&setup.config_file), std::env::vars())?;
    config.data_dir = data_dir.to_path_buf();
    config.validate()?;
    setup.loyalty_codes = personal_today(&config, &setup.loyalty_codes, super::now_unix())?;
    Ok((config, setup))
}

/// The first [`CODES_SHOWN`] of `codes` whose session at the kiosk is personal on the store day
/// of `now`: an enrolled shopper who allows personalisation and analytics (the experiment arm
/// of a shopper without analytics is drawn per session) and is not in that day's holdout, who
/// sees the store's popular picks ([`super::kiosk::arm_of`]). A demo that promises a personal
/// session keeps its word.
pub fn personal_today(
    config: &Config,
    codes: &[String],
    now: i64,
) -> Result<Vec<String>, DaemonError> {
    let vault = Vault::open(config)?;
    let keys = vault.keys();
    let personal = |code: &String| {
        let Ok(number) = crate::vocab::LoyaltyNumber::parse(code) else {
            return false;
        };
        let Ok(Some(shopper)) = vault.find(&number) else {
            return false;
        };
        let consent = shopper.record.consent;
        let tag = keys.pepper.attribution_tag(&shopper.record.id);
        super::mapping::personalised(Some(consent), false)
            && consent.analytics
            && !super::kiosk::arm_of(config, &keys.pepper, &tag.0, now).holdout
    };
    Ok(codes
        .iter()
        .filter(|code| personal(code))
        .take(CODES_SHOWN)
        .cloned()
        .collect())
}

/// Sets up `config.data_dir` from `demo_dir` (`catalog.csv`, `events.csv`: the data of
/// `config.locale`, see [`source_dir`]) unless already done.
pub fn prepare(config: &Config, demo_dir: &Path) -> Result<DemoSetup, DaemonError> {
    let data_dir = &config.data_dir;
    let file = config_file(data_dir);
    let events_csv = demo_dir.join("events.csv");
    let loyalty_codes = top_loyalty_codes(&events_csv, CODE_CANDIDATES)?;
    if file.exists() {
        let set_up_for = Config::load(Some(&file), Vec::<(String, String)>::new())?.locale;
        if set_up_for != config.locale {
            return Err(DaemonError::DemoLocale {
                data_dir: data_dir.clone(),
                set_up_for,
                asked: config.locale,
            });
        }
        renew_old_demo_pin(&file)?;
        return Ok(DemoSetup {
            created: false,
            config_file: file,
            loyalty_codes,
        });
    }
    std::fs::create_dir_all(data_dir).map_err(|source| DaemonError::Io {
        what: data_dir.display().to_string(),
        source,
    })?;
    let keys = KeyDir::new(config.key_dir());
    if keys.load().is_err() {
        keys.init(&crate::crypto::rng())?;
    }
    let mut vault = Vault::open(config)?;
    let now = super::now_unix();
    let rules = Rules {
        max_price: crate::catalog::Minor(
            config.max_price.saturating_mul(100).min(i64::MAX as u64) as i64
        ),
        now,
        ..Rules::default()
    };
    let hidden = indicatif::ProgressBar::hidden();
    let import_err = DaemonError::Import;
    crate::import::catalog(
        &mut vault,
        &demo_dir.join("catalog.csv"),
        CatalogFormat::Auto,
        &rules,
        now,
        &hidden,
    )
    .map_err(import_err)?;
    crate::import::events(
        &mut vault,
        &events_csv,
        EventFormat::Auto,
        &rules,
        now,
        &hidden,
    )
    .map_err(import_err)?;
    drop(vault);
    // Last: the config file marks the set-up as complete; it appears whole (by rename).
    let part = data_dir.join("kiosk.toml.part");
    let io = |source| DaemonError::Io {
        what: part.display().to_string(),
        source,
    };
    std::fs::write(&part, locale_settings(config.locale)).map_err(io)?;
    super::console::set_pin(&part, DEMO_PIN)?;
    std::fs::rename(&part, &file).map_err(io)?;
    Ok(DemoSetup {
        created: true,
        config_file: file,
        loyalty_codes,
    })
}

/// Replaces the 4-digit PIN of a demo dir set up before PINs had at least 6 digits (the daemon
/// refuses a PIN that short) with [`DEMO_PIN`]; any other PIN is left alone.
fn renew_old_demo_pin(file: &Path) -> Result<(), DaemonError> {
    let config = Config::load(Some(file), Vec::<(String, String)>::new())?;
    let old = config
        .console_pin_hash
        .as_deref()
        .is_some_and(|hash| crate::control::verify_pin(hash, OLD_DEMO_PIN).unwrap_or(false));
    if old {
        super::console::set_pin(file, DEMO_PIN)?;
        tracing::info!("demo console PIN renewed: PINs have at least 6 digits now");
    }
    Ok(())
}

/// The `n` loyalty codes (`user_id` column) with the most events in a demo log.
pub fn top_loyalty_codes(events_csv: &Path, n: usize) -> Result<Vec<String>, DaemonError> {
    let text = std::fs::read_to_string(events_csv).map_err(|source| DaemonError::Io {
        what: events_csv.display().to_string(),
        source,
    })?;
    Ok(rank_codes(&text, n))
}

fn rank_codes(csv_text: &str, n: usize) -> Vec<String> {
    let mut lines = csv_text.lines();
    let Some(column) = lines
        .next()
        .and_then(|h| h.split(',').position(|c| c.trim() == "user_id"))
    else {
        return Vec::new();
    };
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for line in lines {
        if let Some(id) = line.split(',').nth(column).map(str::trim) {
            if id.starts_with("LC") {
                *counts.entry(id).or_default() += 1;
            }
        }
    }
    let mut v: Vec<(&str, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    v.into_iter()
        .take(n)
        .map(|(id, _)| id.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_demo_dir_on_the_old_short_pin_gets_the_new_one_and_no_other_pin_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kiosk.toml");
        let hash = |pin: &str| crate::control::hash_pin(pin, &crate::crypto::rng()).unwrap();
        let stored = || {
            Config::load(Some(&file), Vec::<(String, String)>::new())
                .unwrap()
                .console_pin_hash
                .unwrap()
        };
        std::fs::write(
            &file,
            format!("console_pin_hash = \"{}\"\n", hash(OLD_DEMO_PIN)),
        )
        .unwrap();
        renew_old_demo_pin(&file).unwrap();
        assert!(crate::control::verify_pin(&stored(), DEMO_PIN).unwrap());

        let own = format!("console_pin_hash = \"{}\"\n", hash("97531086"));
        std::fs::write(&file, &own).unwrap();
        renew_old_demo_pin(&file).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), own);
        assert!(crate::control::check_pin_form(DEMO_PIN).is_ok());
    }

    #[test]
    fn each_locale_has_its_data_dir_and_settings() {
        assert_eq!(source_dir(Path::new("demo"), Locale::En), Path::new("demo"));
        assert_eq!(
            source_dir(Path::new("demo"), Locale::ZhCn),
            Path::new("demo/zh-CN")
        );
        assert_ne!(default_data_dir(Locale::En), default_data_dir(Locale::ZhCn));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kiosk.toml");
        for locale in Locale::ALL {
            std::fs::write(&file, locale_settings(locale)).unwrap();
            super::super::console::set_pin(&file, DEMO_PIN).unwrap();
            let config = Config::load(Some(&file), Vec::<(String, String)>::new()).unwrap();
            config.validate().unwrap();
            assert_eq!(config.locale, locale);
            assert!(config.console_pin_hash.is_some());
        }
        let zh = Config::load(Some(&file), Vec::<(String, String)>::new()).unwrap();
        assert_eq!(
            (zh.currency.code.as_str(), zh.currency.symbol.as_str()),
            ("CNY", "¥")
        );
        assert_eq!(zh.currency.aliases, ["元", "RMB", "人民币"]);
    }

    #[test]
    fn codes_are_ranked_by_history() {
        let csv = "event_time,user_id,x\nt,LC2,a\nt,LC1,b\nt,LC2,c\nt,,d\nt,LC3,e\n";
        assert_eq!(rank_codes(csv, 2), vec!["LC2", "LC1"]);
        assert!(rank_codes("a,b\n1,2\n", 2).is_empty());
    }
}
