//! `provision`: set this kiosk up; asks for the technician PIN only when the plan needs it.

use std::path::Path;

use anyhow::Result;

use shelftalk::crypto::release::ReleasePublicKey;
use shelftalk::provision::{self, Report, Request};

use super::args::Cli;
use super::input;
use super::output::{emit, Render};

impl Render for Report {
    fn human(&self) -> String {
        self.render()
    }
}

/// `shelftalk provision`: observe, plan, ask for the PIN only if the plan needs it, apply.
pub fn run(
    cli: &Cli,
    (store_id, kiosk_id): (&str, &str),
    pin_file: Option<&Path>,
    plain_keys: bool,
    hq_db: &str,
    (release_keys, hq_public_key): (&[String], Option<&str>),
    json: bool,
) -> Result<()> {
    let mut req = Request::resolve(
        cli.config.as_deref(),
        cli.data_dir.as_deref(),
        store_id,
        kiosk_id,
    )?;
    req.release_keys = release_keys
        .iter()
        .map(|arg| ReleasePublicKey::from_key_or_file(arg))
        .collect::<Result<_, _>>()?;
    req.hq_public_key = hq_public_key.map(|k| k.trim().to_string());
    req.seal_keys &= !plain_keys;
    let seen = provision::observe(&req)?;
    let file_pin = pin_file.map(input::pin_from_file).transpose()?;
    let plan = provision::plan(&req, &seen, file_pin.as_deref())?;
    let pin = match file_pin {
        None if plan.needs_pin() => Some(input::read_pin()?),
        other => other,
    };
    let report = provision::apply(&req, &plan, pin.as_deref(), hq_db)?;
    emit(json, &report)
}
