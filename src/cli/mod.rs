//! The command line's layers below `main`: argument types ([`args`]), the one output path
//! ([`output`]), reading secrets ([`input`]) and one module per command family, each turning
//! arguments into library calls and the results into [`output::Render`] values.

pub mod args;
pub mod bench;
pub mod copy;
pub mod daemon;
pub mod feedback;
pub mod hq;
pub mod import;
pub mod input;
pub mod inspect;
pub mod keys;
pub mod output;
pub mod provision;
pub mod recommend;
pub mod release;
pub mod shopper;
pub mod sync;
pub mod update;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use shelftalk::config::Config;
use shelftalk::store::Store;

use args::Cli;

/// The config file in use: `--config`, else `firmware-config/kiosk.toml` when present.
pub fn config_file(cli: &Cli) -> Option<PathBuf> {
    let default = Path::new("firmware-config/kiosk.toml");
    match &cli.config {
        Some(path) => Some(path.clone()),
        None if default.exists() => Some(default.to_path_buf()),
        None => None,
    }
}

/// The effective configuration: file, environment, then `--data-dir`.
pub fn load_config(cli: &Cli) -> Result<Config> {
    let file = config_file(cli);
    let mut config = Config::load(file.as_deref(), std::env::vars())?;
    if let Some(dir) = &cli.data_dir {
        config.data_dir = dir.clone();
    }
    config.validate()?;
    Ok(config)
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub fn open_store(config: &Config) -> Result<Store> {
    Store::open(&config.db_path())
        .with_context(|| format!("opening {}", config.db_path().display()))
}
