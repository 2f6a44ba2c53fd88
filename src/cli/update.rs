//! `update`: install a new model or prompt pack after the health gate's checks.

use anyhow::Result;

use shelftalk::config::Config;
use shelftalk::content::{Candidate, Switched};

use super::args::UpdateCmd;
use super::output::{emit, Render};

impl Render for Switched {
    fn human(&self) -> String {
        format!(
            "switched to content generation {}: model {} (sha256 {}), prompt pack {}\n  check: {}",
            self.generation,
            self.model,
            self.model_sha256.get(..12).unwrap_or(&self.model_sha256),
            self.pack,
            self.check
        )
    }
}

pub fn run(config: &Config, cmd: UpdateCmd) -> Result<()> {
    let (candidate, json) = match cmd {
        UpdateCmd::Model {
            gguf,
            manifest,
            out,
        } => (Candidate::Model { gguf, manifest }, out.json),
        UpdateCmd::Pack { file, out } => (Candidate::Pack(file), out.json),
    };
    let switched = shelftalk::health::install_checked(config, &candidate)?;
    emit(json, &switched)
}
