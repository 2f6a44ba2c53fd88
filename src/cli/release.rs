//! `release keygen` / `release sign`: the publisher's side of signed content (no kiosk config
//! needed).

use anyhow::{Context, Result};

use shelftalk::content::signed::{self, Signed};
use shelftalk::content::Candidate;
use shelftalk::crypto::release::{GeneratedKey, ReleaseKey};

use super::args::ReleaseCmd;
use super::output::{emit, Render};

impl Render for GeneratedKey {
    fn human(&self) -> String {
        format!(
            "release key created: {} (private, mode 0600: keep it off the kiosks and backed up)\n\
             public key (also in {}):\n{}\n\
             kiosks trust it with `release_keys = [\"{}\"]` in their config, or \
             `shelftalk provision ... --release-key {}`",
            self.private_file.display(),
            self.public_file.display(),
            self.public_key,
            self.public_key,
            self.public_file.display()
        )
    }
}

impl Render for Signed {
    fn human(&self) -> String {
        format!(
            "signed {} {} ({}) with release key {}\nsignature: {}",
            self.kind,
            self.file.display(),
            self.content,
            self.key,
            self.signature_file.display()
        )
    }
}

pub fn run(cmd: &ReleaseCmd) -> Result<()> {
    match cmd {
        ReleaseCmd::Keygen { out, json } => {
            let made = ReleaseKey::generate(out, &shelftalk::crypto::rng())?;
            emit(json.json, &made)
        }
        ReleaseCmd::Sign {
            key,
            gguf,
            manifest,
            pack,
            out,
            json,
        } => {
            let candidate = match (gguf, manifest, pack) {
                (Some(gguf), Some(manifest), None) => Candidate::Model {
                    gguf: gguf.clone(),
                    manifest: manifest.clone(),
                },
                (None, None, Some(pack)) => Candidate::Pack(pack.clone()),
                _ => anyhow::bail!("give --gguf FILE --manifest FILE, or --pack FILE"),
            };
            let signed = signed::sign_candidate(key, &candidate, out.as_deref())
                .with_context(|| format!("signing {}", candidate.signed_file().display()))?;
            emit(json.json, &signed)
        }
    }
}
