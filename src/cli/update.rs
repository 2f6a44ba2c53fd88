//! `update`: install a new model or prompt pack, release-signed, after the health gate's checks.

use anyhow::Result;

use shelftalk::config::Config;
use shelftalk::content::{Candidate, Switched};

use super::args::UpdateCmd;
use super::output::{emit, Render};

impl Render for Switched {
    fn human(&self) -> String {
        format!(
            "switched to content generation {}: model {} (sha256 {}), prompt pack {}\n  signed by \
             release key {}\n  check: {}",
            self.generation,
            self.model,
            self.model_sha256.get(..12).unwrap_or(&self.model_sha256),
            self.pack,
            self.signed_by,
            self.check
        )
    }
}

pub fn run(config: &Config, cmd: UpdateCmd) -> Result<()> {
    let (candidate, sig, json) = match cmd {
        UpdateCmd::Model {
            gguf,
            manifest,
            sig,
            out,
        } => (Candidate::Model { gguf, manifest }, sig, out.json),
        UpdateCmd::Pack { file, sig, out } => (Candidate::Pack(file), sig, out.json),
    };
    let sig = sig.unwrap_or_else(|| candidate.default_signature());
    let switched = shelftalk::health::install_checked(config, &candidate, &sig)?;
    emit(json, &switched)
}
