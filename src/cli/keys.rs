//! `keys`: create, show and rotate the kiosk's keys.

use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use shelftalk::audit::AuditLog;
use shelftalk::config::Config;
use shelftalk::control::Action;
use shelftalk::crypto::keyfiles::KeyDir;
use shelftalk::daemon::shell;
use shelftalk::profile::{RotationReport, Vault};

use super::args::KeysCmd;
use super::output::{emit, DoneBy, Render};
use super::{now, runtime};

#[derive(Serialize)]
struct Init {
    key_dir: PathBuf,
    kek_id: u32,
    device_public_key: String,
}

impl Render for Init {
    fn human(&self) -> String {
        format!(
            "keys created in {}\ndevice public key: {}",
            self.key_dir.display(),
            self.device_public_key
        )
    }
}

#[derive(Serialize)]
struct PublicKey<'a> {
    kiosk_id: &'a str,
    store_id: &'a str,
    public_key: String,
}

impl Render for PublicKey<'_> {
    fn human(&self) -> String {
        self.public_key.clone()
    }
}

impl Render for RotationReport {
    fn human(&self) -> String {
        format!(
            "key-encryption key rotated: {} -> {}; {} data keys re-wrapped; old key destroyed",
            self.from_kek, self.to_kek, self.rewrapped
        )
    }
}

pub fn run(config: &Config, cmd: KeysCmd) -> Result<()> {
    let dir = KeyDir::new(config.key_dir());
    match cmd {
        KeysCmd::Init(out) => {
            let ring = dir.init(&shelftalk::crypto::rng())?;
            let init = Init {
                key_dir: dir.path().to_path_buf(),
                kek_id: ring.kek.id(),
                device_public_key: ring.device_public_hex(),
            };
            emit(out.json, &init)
        }
        KeysCmd::ShowPublic(out) => {
            let ring = dir.load()?;
            let key = PublicKey {
                kiosk_id: &config.kiosk_id,
                store_id: &config.store_id,
                public_key: ring.device_public_hex(),
            };
            emit(out.json, &key)
        }
        KeysCmd::Rotate(out) => {
            // A running daemon rotates with its own vault (and audits it); else this command
            // does, under the same exclusive key lock, and a daemon started meanwhile reloads.
            if let Some(done) = runtime()?.block_on(shell::act(config, Action::RotateKeys))? {
                let r: RotationReport = shell::report(&done)?;
                return emit(out.json, &DoneBy::daemon(r));
            }
            let mut vault = Vault::open(config)?;
            let audit = AuditLog::in_dir(&config.data_dir);
            let r = vault.rotate_audited(&audit, "cli", now())?;
            emit(out.json, &DoneBy::here(r))
        }
    }
}
