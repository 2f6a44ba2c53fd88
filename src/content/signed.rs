//! Signed content: what a release signature binds, its file format, signing (the publisher's
//! `shelftalk release sign`) and verification (the kiosk's `update` and every resolve of
//! installed content).
//!
//! Whoever can write an update's files can write its manifest too, so a manifest's sha256 alone
//! proves nothing. An update is accepted only with an Ed25519 signature by a release key the
//! kiosk trusts (`release_keys` in its config).
//!
//! The signed message (version 1):
//!
//! ```text
//! "shelftalk-release-v1" 0x00 kind 0x00 bytes
//! ```
//!
//! - `kind` is `model` or `pack` (ASCII), so a pack's signature is never a model's;
//! - `bytes` are the signed file exactly as published, no normalisation: for a model its
//!   manifest (which binds the GGUF through `size` and `sha256`, checked before the GGUF is
//!   used), for a prompt pack the pack file.
//!
//! File names are not bound: the kiosk stores a model under its sha256 and a pack under its
//! `name@version`, both taken from the signed bytes, so renaming a file in transit changes
//! nothing that is used.
//!
//! The detached signature file (`<file>.sig` by default) is TOML:
//!
//! ```toml
//! format = "shelftalk-release-v1"
//! kind = "pack"
//! key = "<the signing release public key, 64 hex digits>"
//! signature = "<the Ed25519 signature of the message, 128 hex digits>"
//! ```
//!
//! Invariants:
//! - The bytes verified are the bytes then parsed and installed: callers read a file once and
//!   hand the same buffer to [`verify`] and to the parser.
//! - `key` only says which trusted key to try; trust comes from the kiosk's configuration alone.
//! - Every refusal is a typed [`SignatureError`] naming the file; none panics.
//! - The format is pinned by a golden test (Ed25519 is deterministic); a change is a new version.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Candidate;
use crate::copy::manifest::ManifestError;
use crate::copy::prompt::PromptError;
use crate::copy::{Manifest, PromptPack};
use crate::crypto::release::{ReleaseKey, ReleaseKeyError, ReleasePublicKey, SIGNATURE_LEN};
use crate::crypto::{from_hex, hex};

/// The format name: first field of the message and of the signature file.
pub const FORMAT: &str = "shelftalk-release-v1";
/// Largest signature file read (a real one is about 300 bytes).
const MAX_SIGNATURE_FILE: u64 = 4096;

/// What a signature is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A model manifest (binding its GGUF by size and sha256).
    Model,
    /// A prompt pack.
    Pack,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Model => "model",
            Kind::Pack => "pack",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Model => "model manifest",
            Kind::Pack => "prompt pack",
        })
    }
}

/// The message a release key signs for `bytes` of `kind`.
pub fn message(kind: Kind, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FORMAT.len() + 8 + bytes.len());
    out.extend_from_slice(FORMAT.as_bytes());
    out.push(0);
    out.extend_from_slice(kind.as_str().as_bytes());
    out.push(0);
    out.extend_from_slice(bytes);
    out
}

/// The default signature file of `file`: the same path with `.sig` appended.
pub fn signature_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(".sig");
    PathBuf::from(name)
}

/// A detached signature file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    pub format: String,
    pub kind: Kind,
    /// The signing release public key, hex.
    pub key: String,
    /// The Ed25519 signature, hex.
    pub signature: String,
}

impl SignatureFile {
    /// The file's text.
    pub fn render(&self) -> String {
        format!(
            "# shelftalk release signature (`shelftalk release sign`); see the README, \"Signed content\".\n\
             format = \"{}\"\nkind = \"{}\"\nkey = \"{}\"\nsignature = \"{}\"\n",
            self.format,
            self.kind.as_str(),
            self.key,
            self.signature
        )
    }
}

/// Why a file's signature is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "{file} cannot be verified: this kiosk trusts no release key; add the publisher's public \
         key (printed by `shelftalk release keygen`) to `release_keys` in the config file, or \
         run `shelftalk provision ... --release-key FILE|KEY`"
    )]
    NoTrustedKeys { file: PathBuf },
    #[error(
        "{file} is not signed: there is no signature file {signature} (the publisher makes it \
         with `shelftalk release sign`; `--sig FILE` names another)"
    )]
    Unsigned { file: PathBuf, signature: PathBuf },
    #[error("cannot read signature file {signature}: {source}")]
    Read {
        signature: PathBuf,
        source: std::io::Error,
    },
    #[error("signature file {signature} is not a shelftalk release signature: {source}")]
    Toml {
        signature: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("signature file {signature} is not a shelftalk release signature: {reason}")]
    Malformed {
        signature: PathBuf,
        reason: &'static str,
    },
    #[error("signature file {signature} names no valid release key: {source}")]
    BadKey {
        signature: PathBuf,
        source: ReleaseKeyError,
    },
    #[error("signature file {signature} signs a {found}, but {file} is a {expected}")]
    WrongKind {
        file: PathBuf,
        signature: PathBuf,
        expected: Kind,
        found: Kind,
    },
    #[error(
        "{file} is signed by release key {key}, which this kiosk does not trust (`release_keys`)"
    )]
    UnknownKey {
        file: PathBuf,
        key: ReleasePublicKey,
    },
    #[error(
        "{file} does not match its signature {signature} by release key {key}: the file was \
         altered after signing, or the signature is another file's"
    )]
    BadSignature {
        file: PathBuf,
        signature: PathBuf,
        key: ReleasePublicKey,
    },
}

/// A verified file: who signed it and the signature file's text (kept beside installed content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub key: ReleasePublicKey,
    pub signature_text: String,
}

/// Checks that `bytes` (the content of `file`, of `kind`) carry a valid signature in the file
/// `signature` by one of the `trusted` keys.
pub fn verify(
    trusted: &[ReleasePublicKey],
    kind: Kind,
    file: &Path,
    bytes: &[u8],
    signature: &Path,
) -> Result<Verified, SignatureError> {
    if trusted.is_empty() {
        return Err(SignatureError::NoTrustedKeys {
            file: file.to_path_buf(),
        });
    }
    let text = read_signature(file, signature)?;
    let malformed = |reason| SignatureError::Malformed {
        signature: signature.to_path_buf(),
        reason,
    };
    let sig: SignatureFile = toml::from_str(&text).map_err(|e| SignatureError::Toml {
        signature: signature.to_path_buf(),
        source: Box::new(e),
    })?;
    if sig.format != FORMAT {
        return Err(malformed("`format` must be \"shelftalk-release-v1\""));
    }
    if sig.kind != kind {
        return Err(SignatureError::WrongKind {
            file: file.to_path_buf(),
            signature: signature.to_path_buf(),
            expected: kind,
            found: sig.kind,
        });
    }
    let key = ReleasePublicKey::parse(&sig.key).map_err(|source| SignatureError::BadKey {
        signature: signature.to_path_buf(),
        source,
    })?;
    let sig_bytes = from_hex(&sig.signature)
        .filter(|b| b.len() == SIGNATURE_LEN)
        .ok_or_else(|| malformed("`signature` must be 128 hex digits"))?;
    if !trusted.contains(&key) {
        return Err(SignatureError::UnknownKey {
            file: file.to_path_buf(),
            key,
        });
    }
    if !key.verifies(&message(kind, bytes), &sig_bytes) {
        return Err(SignatureError::BadSignature {
            file: file.to_path_buf(),
            signature: signature.to_path_buf(),
            key,
        });
    }
    Ok(Verified {
        key,
        signature_text: text,
    })
}

fn read_signature(file: &Path, signature: &Path) -> Result<String, SignatureError> {
    use std::io::Read;
    let read = |source| SignatureError::Read {
        signature: signature.to_path_buf(),
        source,
    };
    let handle = match std::fs::File::open(signature) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SignatureError::Unsigned {
                file: file.to_path_buf(),
                signature: signature.to_path_buf(),
            })
        }
        Err(e) => return Err(read(e)),
    };
    let mut text = String::new();
    handle
        .take(MAX_SIGNATURE_FILE)
        .read_to_string(&mut text)
        .map_err(read)?;
    Ok(text)
}

/// The signature file for `bytes` of `kind` by `key`.
pub fn sign(key: &ReleaseKey, kind: Kind, bytes: &[u8]) -> SignatureFile {
    SignatureFile {
        format: FORMAT.to_string(),
        kind,
        key: key.public().to_string(),
        signature: hex(&key.sign(&message(kind, bytes))),
    }
}

/// Why `release sign` did not sign.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Key(#[from] ReleaseKeyError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not UTF-8 text: {source}")]
    Utf8 {
        path: PathBuf,
        source: std::string::FromUtf8Error,
    },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Pack(#[from] PromptError),
    #[error("cannot write signature file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What `release sign` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signed {
    pub kind: Kind,
    /// The signed file (a model's manifest, or the pack).
    pub file: PathBuf,
    /// What the file describes: the model's or the pack's name and version.
    pub content: String,
    pub signature_file: PathBuf,
    /// The release public key that signed, hex.
    pub key: String,
}

/// The publisher's side: checks `candidate` the way the kiosk will (a model's manifest must
/// describe its GGUF — size and sha256 —, a pack must parse), then writes the signature of the
/// signed file to `out` (default [`signature_path`] of it), replacing an older signature there.
pub fn sign_candidate(
    key_file: &Path,
    candidate: &Candidate,
    out: Option<&Path>,
) -> Result<Signed, SignError> {
    let key = ReleaseKey::load(key_file)?;
    let file = candidate.signed_file();
    let bytes = std::fs::read(file).map_err(|source| SignError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|source| SignError::Utf8 {
        path: file.to_path_buf(),
        source,
    })?;
    let content = match candidate {
        Candidate::Model { gguf, manifest } => {
            let parsed = Manifest::parse(&text, manifest)?;
            parsed.verify(gguf)?;
            format!("{} (sha256 {})", parsed.name, parsed.sha256)
        }
        Candidate::Pack(pack) => PromptPack::parse(&text, pack)?.id(),
    };
    let signature = sign(&key, candidate.kind(), text.as_bytes());
    let signature_file = out.map_or_else(|| signature_path(file), Path::to_path_buf);
    super::replace_file(&signature_file, signature.render().as_bytes()).map_err(|source| {
        SignError::Write {
            path: signature_file.clone(),
            source,
        }
    })?;
    Ok(Signed {
        kind: candidate.kind(),
        file: file.to_path_buf(),
        content,
        signature_file,
        key: signature.key,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SEED: [u8; 32] = [0x5e; 32];
    const PACK: &[u8] = b"name = \"golden\"\nversion = \"1\"\n";

    fn escaped(bytes: &[u8]) -> String {
        bytes.escape_ascii().to_string()
    }

    /// The message and the signature file for a fixed key and pack, pinned: changing them makes
    /// every signed release in the field unverifiable.
    #[test]
    fn release_signature_format_is_pinned() {
        let key = ReleaseKey::from_seed(&SEED);
        let file = sign(&key, Kind::Pack, PACK);
        let golden = format!(
            "message: {}\npublic key: {}\n{}",
            escaped(&message(Kind::Pack, PACK)),
            key.public(),
            file.render()
        );
        insta::assert_snapshot!(golden);
        let model = message(Kind::Model, b"m");
        assert_eq!(model, b"shelftalk-release-v1\0model\0m");
    }

    fn setup(text: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pack.toml");
        std::fs::write(&file, PACK).unwrap();
        let sig = signature_path(&file);
        std::fs::write(&sig, text).unwrap();
        (dir, file, sig)
    }

    #[test]
    fn a_good_signature_verifies_and_every_bad_one_is_named() {
        let key = ReleaseKey::from_seed(&SEED);
        let other = ReleaseKey::from_seed(&[1; 32]);
        let trusted = [other.public(), key.public()];
        let good = sign(&key, Kind::Pack, PACK).render();
        let (_dir, file, sig) = setup(&good);
        assert_eq!(sig.file_name().unwrap(), "pack.toml.sig");
        let ok = verify(&trusted, Kind::Pack, &file, PACK, &sig).unwrap();
        assert_eq!((ok.key, ok.signature_text.as_str()), (key.public(), &*good));

        let check = |trusted: &[ReleasePublicKey], kind, bytes: &[u8], text: &str| {
            std::fs::write(&sig, text).unwrap();
            let err = verify(trusted, kind, &file, bytes, &sig).unwrap_err();
            (err.to_string(), err)
        };
        let (msg, err) = check(&[], Kind::Pack, PACK, &good);
        assert!(matches!(err, SignatureError::NoTrustedKeys { .. }));
        assert!(
            msg.contains("release_keys") && msg.contains("pack.toml"),
            "{msg}"
        );
        let (msg, err) = check(&trusted, Kind::Pack, b"name = \"evil\"\n", &good);
        assert!(matches!(err, SignatureError::BadSignature { .. }), "{msg}");
        assert!(msg.contains("altered after signing"), "{msg}");
        let by_other = sign(&other, Kind::Pack, PACK).render();
        let (msg, err) = check(&[key.public()], Kind::Pack, PACK, &by_other);
        assert!(matches!(err, SignatureError::UnknownKey { .. }), "{msg}");
        assert!(msg.contains(&other.public().to_string()), "{msg}");
        let (_, err) = check(&trusted, Kind::Model, PACK, &good);
        assert!(matches!(err, SignatureError::WrongKind { .. }));
        // The kind is bound by the message too, not only by the file's field.
        let relabelled = good.replace("kind = \"pack\"", "kind = \"model\"");
        let (_, err) = check(&trusted, Kind::Model, PACK, &relabelled);
        assert!(matches!(err, SignatureError::BadSignature { .. }));
        // A trusted key named over another key's signature does not verify.
        let forged = by_other.replace(&other.public().to_string(), &key.public().to_string());
        let (_, err) = check(&trusted, Kind::Pack, PACK, &forged);
        assert!(matches!(err, SignatureError::BadSignature { .. }));
        for bad in [
            "garbage",
            &good.replace(FORMAT, "shelftalk-release-v2"),
            &good.replace("signature = \"", "signature = \"00"),
            &good.replace("key = \"", "key = \"zz"),
            &format!("{good}extra = 1\n"),
        ] {
            let (msg, _) = check(&trusted, Kind::Pack, PACK, bad);
            assert!(msg.contains("pack.toml.sig"), "{msg}");
        }
        std::fs::remove_file(&sig).unwrap();
        let err = verify(&trusted, Kind::Pack, &file, PACK, &sig).unwrap_err();
        assert!(matches!(err, SignatureError::Unsigned { .. }), "{err}");
        assert!(err.to_string().contains("release sign"), "{err}");
    }

    /// The golden pair made by an independent Ed25519 (Python `cryptography` 48: the private key
    /// from the 32-byte seed, `sign` of the message above): our signer gives the same bytes and
    /// our verifier accepts them.
    #[test]
    fn the_golden_signature_matches_an_independent_implementation() {
        const PUBLIC: &str = "8146640f02493af4fbc54fe33388e75dc2c937ae0b7727cc2b2afb1b75199a3e";
        const SIGNATURE: &str = "4e1a3534850a8e257d7935682cb578914ffea241b21287f892aa09735da2acb7924cc873903210798d19cfeea959d75a9d36ba473b9ab7b0f207d9538e03d30d";
        let key = ReleaseKey::from_seed(&SEED);
        assert_eq!(key.public().to_string(), PUBLIC);
        assert_eq!(sign(&key, Kind::Pack, PACK).signature, SIGNATURE);
        let text = SignatureFile {
            format: FORMAT.into(),
            kind: Kind::Pack,
            key: PUBLIC.into(),
            signature: SIGNATURE.into(),
        }
        .render();
        let (_dir, file, sig) = setup(&text);
        let trusted = [ReleasePublicKey::parse(PUBLIC).unwrap()];
        assert!(verify(&trusted, Kind::Pack, &file, PACK, &sig).is_ok());
    }
}
