//! The copy content the kiosk serves — which language model (with its manifest) and which prompt
//! pack — and how a technician updates it (`shelftalk update model|pack`).
//!
//! Layout under `<data_dir>/content/`:
//! - `active.toml`: the pointer — a generation number, the installed model's sha256 and the
//!   installed pack's file name (each absent = the built-in one);
//! - `models/<sha256>.gguf` beside `models/<sha256>.toml` (its manifest) and
//!   `models/<sha256>.toml.sig` (the manifest's release signature);
//! - `packs/<name>@<version>.toml` beside `packs/<name>@<version>.toml.sig`.
//!
//! Invariants:
//! - Without a pointer the kiosk serves the built-ins: `config.model_path` with the compiled-in
//!   manifest (`models/manifest.toml`) and the prompt pack of the config's `locale`
//!   (`prompt-packs/default.toml`, `prompt-packs/zh-CN.toml`). They are trusted as built in;
//!   everything else is release-signed ([`signed`]).
//! - An installed pack is served only when it is written for the config's `locale`
//!   ([`ContentError::Locale`]); a candidate of another locale fails its check and is not
//!   installed.
//! - A candidate's signature is verified under the config's `release_keys` before anything of it
//!   is parsed, copied or loaded: unsigned, wrongly signed, signed by an untrusted key or altered
//!   after signing, it is refused ([`ContentError::Refused`]) and nothing is written. No trusted
//!   key configured = every update refused.
//! - Installed content is verified again whenever it is resolved (the daemon's start and its
//!   switch, `selftest`, the install check): content whose signature no longer verifies under the
//!   configured keys is not served (the daemon keeps, or falls back to, what it can verify).
//! - A candidate is copied in beside the active content, verified (size, sha256) and checked by
//!   the caller's check (the model loads and a test generation passes the guardrails) before the
//!   pointer moves. A failed candidate's files are removed; the pointer and the active files are
//!   untouched, so the old content keeps serving.
//! - The pointer is replaced atomically (temp file, fsync, rename, directory fsync): a reader
//!   sees the old or the new pointer, never a mix. Each switch raises the generation by one; the
//!   daemon watches it and switches between sessions only.
//! - After a switch, installed files the new pointer does not name are deleted.

pub mod signed;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::copy::manifest::ManifestError;
use crate::copy::prompt::PromptError;
use crate::copy::{Manifest, PromptPack};
use crate::crypto::release::ReleasePublicKey;
use crate::locale::Locale;
use signed::{Kind, SignatureError};

/// What `active.toml` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pointer {
    /// Raised by one at every switch; 0 = the built-ins, never switched.
    pub generation: u64,
    /// sha256 of the installed model; `None` = the built-in model.
    pub model_sha256: Option<String>,
    /// File name of the installed pack under `packs/`; `None` = the built-in pack.
    pub pack: Option<String>,
}

/// The content resolved: what the copy engine loads.
#[derive(Debug, Clone)]
pub struct Content {
    pub generation: u64,
    pub manifest: Manifest,
    pub model_path: PathBuf,
    pub pack: PromptPack,
    /// The release key that signed the installed model's manifest; `None` = the built-in model.
    pub model_signed_by: Option<ReleasePublicKey>,
    /// The release key that signed the installed pack; `None` = the built-in pack.
    pub pack_signed_by: Option<ReleasePublicKey>,
}

/// What to install.
#[derive(Debug, Clone)]
pub enum Candidate {
    /// A GGUF file and the manifest describing it (its `file` field is ignored: the model is
    /// stored under its sha256).
    Model { gguf: PathBuf, manifest: PathBuf },
    /// A prompt pack file.
    Pack(PathBuf),
}

impl Candidate {
    /// What its release signature is for.
    pub fn kind(&self) -> Kind {
        match self {
            Candidate::Model { .. } => Kind::Model,
            Candidate::Pack(_) => Kind::Pack,
        }
    }

    /// The file the release signature covers: the model's manifest, or the pack.
    pub fn signed_file(&self) -> &Path {
        match self {
            Candidate::Model { manifest, .. } => manifest,
            Candidate::Pack(file) => file,
        }
    }

    /// The signature file used when none is named: [`Candidate::signed_file`] + `.sig`.
    pub fn default_signature(&self) -> PathBuf {
        signed::signature_path(self.signed_file())
    }
}

/// The result of a successful update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Switched {
    pub generation: u64,
    pub model: String,
    pub model_sha256: String,
    pub pack: String,
    /// The release public key (hex) that signed the candidate.
    pub signed_by: String,
    /// What the check reported.
    pub check: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("content pointer {path} is invalid: {reason}")]
    Pointer { path: PathBuf, reason: String },
    #[error("content pointer {path} is not valid TOML: {source}")]
    PointerToml {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("content pointer {path} cannot be written: {source}")]
    PointerWrite {
        path: PathBuf,
        source: toml::ser::Error,
    },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Pack(#[from] PromptError),
    #[error("{path} is not UTF-8 text: {source}")]
    Utf8 {
        path: PathBuf,
        source: std::string::FromUtf8Error,
    },
    /// Installed content whose release signature does not verify (any more).
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// A candidate whose release signature does not verify: nothing of it was written.
    #[error("update refused, the active content keeps serving: {0}")]
    Refused(#[source] SignatureError),
    #[error("update refused, the active content keeps serving: {0}")]
    CheckFailed(String),
    /// A prompt pack written for another locale than the kiosk's `locale`.
    #[error("prompt pack {path} is written for {pack}, this kiosk's locale is {kiosk}")]
    Locale {
        path: PathBuf,
        pack: Locale,
        kiosk: Locale,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ContentError + '_ {
    move |source| ContentError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `<data_dir>/content`.
pub fn dir(config: &Config) -> PathBuf {
    config.data_dir.join("content")
}

fn pointer_path(config: &Config) -> PathBuf {
    dir(config).join("active.toml")
}

/// A pack's file name: `name@version.toml`, with anything but `[A-Za-z0-9._-]` replaced.
pub fn pack_file_name(pack: &PromptPack) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}@{}.toml", clean(&pack.name), clean(&pack.version))
}

/// Checks a pointer's fields name files inside `content/` (no path tricks in a hand-edited file).
pub fn validate_pointer(pointer: &Pointer) -> Result<(), String> {
    if let Some(sha) = &pointer.model_sha256 {
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("model_sha256 must be 64 hex digits".into());
        }
    }
    if let Some(pack) = &pointer.pack {
        let ok = pack.ends_with(".toml")
            && !pack.starts_with('.')
            && pack
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
        if !ok {
            return Err(format!("pack {pack:?} is not a pack file name"));
        }
    }
    Ok(())
}

/// The pointer on disk; the default (built-ins, generation 0) when there is none.
pub fn pointer(config: &Config) -> Result<Pointer, ContentError> {
    let path = pointer_path(config);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Pointer::default()),
        Err(e) => return Err(io(&path)(e)),
    };
    let pointer: Pointer = toml::from_str(&text).map_err(|source| ContentError::PointerToml {
        path: path.clone(),
        source,
    })?;
    validate_pointer(&pointer).map_err(|reason| ContentError::Pointer { path, reason })?;
    Ok(pointer)
}

/// The content a pointer names; installed files only when their release signature verifies.
pub fn resolve(config: &Config, pointer: &Pointer) -> Result<Content, ContentError> {
    let dir = dir(config);
    let trusted = config.trusted_release_keys();
    let (manifest, model_path, model_signed_by) = match &pointer.model_sha256 {
        None => (Manifest::builtin()?, config.model_path.clone(), None),
        Some(sha) => {
            let path = dir.join("models").join(format!("{sha}.toml"));
            let (text, verified) =
                read_signed(&trusted, Kind::Model, &path, &signed::signature_path(&path))?;
            (
                Manifest::parse(&text, &path)?,
                dir.join("models").join(format!("{sha}.gguf")),
                Some(verified.key),
            )
        }
    };
    let (pack, pack_signed_by) = match &pointer.pack {
        None => (PromptPack::builtin_for(config.locale)?, None),
        Some(file) => {
            let path = dir.join("packs").join(file);
            let (text, verified) =
                read_signed(&trusted, Kind::Pack, &path, &signed::signature_path(&path))?;
            let pack = PromptPack::parse(&text, &path)?;
            if pack.locale != config.locale {
                return Err(ContentError::Locale {
                    path,
                    pack: pack.locale,
                    kiosk: config.locale,
                });
            }
            (pack, Some(verified.key))
        }
    };
    Ok(Content {
        generation: pointer.generation,
        manifest,
        model_path,
        pack,
        model_signed_by,
        pack_signed_by,
    })
}

/// The content the kiosk serves now.
pub fn active(config: &Config) -> Result<Content, ContentError> {
    resolve(config, &pointer(config)?)
}

/// Reads `file` once and verifies that its bytes carry a release signature (in `signature`) by
/// a trusted key; only then are they returned as text, for the caller to parse.
fn read_signed(
    trusted: &[ReleasePublicKey],
    kind: Kind,
    file: &Path,
    signature: &Path,
) -> Result<(String, signed::Verified), ContentError> {
    let bytes = std::fs::read(file).map_err(io(file))?;
    let verified = signed::verify(trusted, kind, file, &bytes, signature)?;
    let text = String::from_utf8(bytes).map_err(|source| ContentError::Utf8 {
        path: file.to_path_buf(),
        source,
    })?;
    Ok((text, verified))
}

/// Installs `candidate` beside the active content — only when its release signature (the file
/// `signature`) verifies under the config's `release_keys` —, runs `check` on the resulting
/// content and switches the pointer only when it passes.
pub fn install(
    config: &Config,
    candidate: &Candidate,
    signature: &Path,
    check: impl FnOnce(&Content) -> Result<String, String>,
) -> Result<Switched, ContentError> {
    let file = candidate.signed_file();
    let (text, verified) = read_signed(
        &config.trusted_release_keys(),
        candidate.kind(),
        file,
        signature,
    )
    .map_err(|e| match e {
        ContentError::Signature(e) => ContentError::Refused(e),
        other => other,
    })?;
    let dir = dir(config);
    let current = pointer(config)?;
    let mut next = current.clone();
    next.generation = current.generation + 1;
    let mut placed = Vec::new();
    match candidate {
        Candidate::Model { gguf, manifest } => {
            let parsed = Manifest::parse(&text, manifest)?;
            let models = dir.join("models");
            std::fs::create_dir_all(&models).map_err(io(&models))?;
            let target = models.join(format!("{}.gguf", parsed.sha256));
            if !target.exists() {
                copy_verified(gguf, &target, &parsed)?;
                placed.push(target);
            }
            let active = current.model_sha256.as_deref() == Some(parsed.sha256.as_str());
            let described = models.join(format!("{}.toml", parsed.sha256));
            place_signed(&described, &text, &verified, active, &mut placed)?;
            next.model_sha256 = Some(parsed.sha256);
        }
        Candidate::Pack(file) => {
            let pack = PromptPack::parse(&text, file)?;
            let packs = dir.join("packs");
            std::fs::create_dir_all(&packs).map_err(io(&packs))?;
            let name = pack_file_name(&pack);
            let active = current.pack.as_deref() == Some(name.as_str());
            place_signed(&packs.join(&name), &text, &verified, active, &mut placed)?;
            next.pack = Some(name);
        }
    }
    let verdict = resolve(config, &next)
        .map_err(|e| e.to_string())
        .and_then(|content| check(&content).map(|ok| (content, ok)));
    let (content, check) = match verdict {
        Ok(v) => v,
        Err(reason) => {
            for file in placed {
                let _ = std::fs::remove_file(file);
            }
            return Err(ContentError::CheckFailed(reason));
        }
    };
    let text = toml::to_string(&next).map_err(|source| ContentError::PointerWrite {
        path: pointer_path(config),
        source,
    })?;
    write_atomically(&pointer_path(config), text.as_bytes())?;
    prune(&dir, &next);
    Ok(Switched {
        generation: next.generation,
        model: content.manifest.name,
        model_sha256: content.manifest.sha256,
        pack: content.pack.id(),
        signed_by: verified.key.to_string(),
        check,
    })
}

/// Writes a verified file's `text` to `target` and its signature beside it, adding both to
/// `placed` (removed again should the check fail). The active files (`active`: the pointer names
/// `target` now) are never rewritten; only a missing or other signature of the same bytes is
/// replaced there, which is valid for them either way.
fn place_signed(
    target: &Path,
    text: &str,
    verified: &signed::Verified,
    active: bool,
    placed: &mut Vec<PathBuf>,
) -> Result<(), ContentError> {
    let signature = signed::signature_path(target);
    if active {
        let same = std::fs::read(target).is_ok_and(|b| b == text.as_bytes());
        let sig_same =
            std::fs::read(&signature).is_ok_and(|b| b == verified.signature_text.as_bytes());
        if same && !sig_same {
            write_atomically(&signature, verified.signature_text.as_bytes())?;
        }
        return Ok(());
    }
    write_atomically(target, text.as_bytes())?;
    placed.push(target.to_path_buf());
    write_atomically(&signature, verified.signature_text.as_bytes())?;
    placed.push(signature);
    Ok(())
}

/// Copies `from` to `to` through a temp file, verifies it against `manifest`, then renames.
fn copy_verified(from: &Path, to: &Path, manifest: &Manifest) -> Result<(), ContentError> {
    let tmp = to.with_extension("gguf.part");
    std::fs::copy(from, &tmp).map_err(io(from))?;
    let synced = std::fs::File::open(&tmp).and_then(|f| f.sync_all());
    if let Err(e) = synced.map_err(io(&tmp)).and_then(|()| {
        manifest.verify(&tmp)?;
        Ok(())
    }) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, to).map_err(io(to))
}

/// Writes `bytes` to `path` so that readers see the old file or the whole new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ContentError> {
    replace_file(path, bytes).map_err(io(path))
}

/// [`write_atomically`] with the plain I/O error (temp file, fsync, rename, directory fsync).
fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    let tmp = parent.join(name);
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Ok(d) = std::fs::File::open(parent) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Deletes installed files the pointer does not name (best effort: a leftover file is harmless).
fn prune(dir: &Path, pointer: &Pointer) {
    let keep_model = pointer.model_sha256.as_deref().unwrap_or("");
    let keep_pack = pointer.pack.as_deref().unwrap_or("");
    let stale = |sub: &str, keep: &dyn Fn(&str) -> bool| {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !keep(&name) {
                if let Err(e) = std::fs::remove_file(entry.path()) {
                    tracing::warn!(error = %e, file = %name, "stale content not removed");
                }
            }
        }
    };
    stale("models", &|name| {
        !keep_model.is_empty() && name.split('.').next() == Some(keep_model)
    });
    stale("packs", &|name| {
        !keep_pack.is_empty() && name.strip_suffix(".sig").unwrap_or(name) == keep_pack
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::crypto::release::ReleaseKey;

    #[test]
    fn pointer_fields_must_name_content_files() {
        assert!(validate_pointer(&Pointer::default()).is_ok());
        let good = Pointer {
            generation: 2,
            model_sha256: Some("a".repeat(64)),
            pack: Some("default@2026.11.1.toml".into()),
        };
        assert!(validate_pointer(&good).is_ok());
        for pack in ["../x.toml", ".hidden.toml", "a/b.toml", "x.txt"] {
            let bad = Pointer {
                pack: Some(pack.into()),
                ..good.clone()
            };
            assert!(validate_pointer(&bad).is_err(), "{pack}");
        }
        let bad = Pointer {
            model_sha256: Some("../../etc".into()),
            ..good
        };
        assert!(validate_pointer(&bad).is_err());
    }

    #[test]
    fn pack_names_are_file_safe() {
        let mut pack = PromptPack::builtin().unwrap();
        pack.name = "summer/sale".into();
        pack.version = "2026.12 beta".into();
        let name = pack_file_name(&pack);
        assert_eq!(name, "summer_sale@2026.12_beta.toml");
        assert!(validate_pointer(&Pointer {
            pack: Some(name),
            ..Pointer::default()
        })
        .is_ok());
    }

    fn publisher() -> ReleaseKey {
        ReleaseKey::from_seed(&[0x42; 32])
    }

    /// A config for `dir` trusting [`publisher`].
    fn kiosk(dir: &Path) -> Config {
        Config {
            data_dir: dir.to_path_buf(),
            release_keys: vec![publisher().public().to_string()],
            ..Config::default()
        }
    }

    /// Writes a pack of `version` to `dir/name` with its signature by `key` beside it.
    fn signed_pack(dir: &Path, name: &str, version: &str, key: &ReleaseKey) -> Candidate {
        let mut pack = PromptPack::builtin().unwrap();
        pack.version = version.into();
        let file = dir.join(name);
        let text = toml::to_string(&pack).unwrap();
        std::fs::write(&file, &text).unwrap();
        let sig = signed::sign(key, Kind::Pack, text.as_bytes()).render();
        std::fs::write(signed::signature_path(&file), sig).unwrap();
        Candidate::Pack(file)
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().into_string().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn a_failed_check_changes_nothing_and_a_passing_one_switches() {
        let dir = tempfile::tempdir().unwrap();
        let config = kiosk(dir.path());
        let candidate = signed_pack(dir.path(), "new-pack.toml", "9.9.9", &publisher());
        let sig = candidate.default_signature();

        let err = install(&config, &candidate, &sig, |_| {
            Err("copy failed the guardrails".into())
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("copy failed the guardrails"),
            "{err}"
        );
        assert_eq!(pointer(&config).unwrap(), Pointer::default());
        assert!(files(&dir.path().join("content/packs")).is_empty());

        let switched = install(&config, &candidate, &sig, |c| {
            assert_eq!(c.pack.version, "9.9.9", "the check sees the candidate");
            Ok("passed".into())
        })
        .unwrap();
        assert_eq!(switched.generation, 1);
        assert_eq!(switched.signed_by, publisher().public().to_string());
        assert_eq!(
            files(&dir.path().join("content/packs")),
            ["default@9.9.9.toml", "default@9.9.9.toml.sig"]
        );
        let active = active(&config).unwrap();
        assert_eq!(
            (active.generation, active.pack.version.as_str()),
            (1, "9.9.9")
        );
        assert_eq!(active.model_path, config.model_path, "model unchanged");
        assert_eq!(active.pack_signed_by, Some(publisher().public()));
        assert_eq!(active.model_signed_by, None, "the built-in model");

        // Back to the built-in pack by installing it: the 9.9.9 files are pruned.
        let builtin = signed_pack(dir.path(), "builtin.toml", "2026.11.2", &publisher());
        let sig = builtin.default_signature();
        install(&config, &builtin, &sig, |_| Ok("passed".into())).unwrap();
        let names = files(&dir.path().join("content/packs"));
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().all(|n| !n.contains("9.9.9")), "{names:?}");
        assert_eq!(pointer(&config).unwrap().generation, 2);
    }

    #[test]
    fn unsigned_and_wrongly_signed_candidates_are_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let config = kiosk(dir.path());
        let never = |_: &Content| -> Result<String, String> { unreachable!("not checked") };
        let refused = |candidate: &Candidate, sig: &Path, config: &Config| {
            let err = install(config, candidate, sig, never).unwrap_err();
            assert!(matches!(err, ContentError::Refused(_)), "{err}");
            assert!(!dir.path().join("content").exists(), "nothing written");
            err.to_string()
        };

        let other = ReleaseKey::from_seed(&[7; 32]);
        let by_other = signed_pack(dir.path(), "other.toml", "1.0.0", &other);
        let msg = refused(&by_other, &by_other.default_signature(), &config);
        assert!(
            msg.contains("does not trust") && msg.contains("other.toml"),
            "{msg}"
        );

        let good = signed_pack(dir.path(), "good.toml", "1.0.0", &publisher());
        let sig = good.default_signature();
        let msg = refused(&good, &dir.path().join("missing.sig"), &config);
        assert!(msg.contains("is not signed"), "{msg}");
        let untrusting = Config {
            release_keys: Vec::new(),
            ..config.clone()
        };
        let msg = refused(&good, &sig, &untrusting);
        assert!(msg.contains("trusts no release key"), "{msg}");

        let file = good.signed_file().to_path_buf();
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, text.replace("Style: concise", "Style: shouty")).unwrap();
        let msg = refused(&good, &sig, &config);
        assert!(msg.contains("altered after signing"), "{msg}");
        assert!(
            msg.starts_with("update refused, the active content keeps serving"),
            "{msg}"
        );
        assert_eq!(pointer(&config).unwrap(), Pointer::default());
    }

    #[test]
    fn installed_content_is_served_only_while_its_signature_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let config = kiosk(dir.path());
        let candidate = signed_pack(dir.path(), "p.toml", "3.0.0", &publisher());
        let sig = candidate.default_signature();
        install(&config, &candidate, &sig, |_| Ok("passed".into())).unwrap();
        assert_eq!(active(&config).unwrap().pack.version, "3.0.0");

        // The publisher's key is no longer trusted: the installed pack is not served.
        let rotated = Config {
            release_keys: vec![ReleaseKey::from_seed(&[9; 32]).public().to_string()],
            ..config.clone()
        };
        let err = active(&rotated).unwrap_err();
        assert!(matches!(err, ContentError::Signature(_)), "{err}");

        // The installed file altered in place: not served either.
        let installed = dir.path().join("content/packs/default@3.0.0.toml");
        let text = std::fs::read_to_string(&installed).unwrap();
        std::fs::write(&installed, text.replace("concise", "verbose")).unwrap();
        let err = active(&config).unwrap_err().to_string();
        assert!(
            err.contains("default@3.0.0.toml") && err.contains("altered"),
            "{err}"
        );
        std::fs::write(&installed, &text).unwrap();
        std::fs::remove_file(signed::signature_path(&installed)).unwrap();
        let err = active(&config).unwrap_err().to_string();
        assert!(err.contains("is not signed"), "{err}");

        // Re-installing the same signed pack restores its signature beside the active file.
        install(&config, &candidate, &sig, |_| Ok("passed".into())).unwrap();
        assert_eq!(active(&config).unwrap().pack.version, "3.0.0");
    }

    #[test]
    fn the_pack_follows_the_kiosk_locale() {
        let dir = tempfile::tempdir().unwrap();
        let zh = Config {
            locale: Locale::ZhCn,
            ..kiosk(dir.path())
        };
        assert_eq!(active(&zh).unwrap().pack.locale, Locale::ZhCn);
        assert_eq!(active(&kiosk(dir.path())).unwrap().pack.locale, Locale::En);
        // An English pack is refused on a zh-CN kiosk: the built-in zh pack keeps serving.
        let candidate = signed_pack(dir.path(), "en.toml", "9.0.0", &publisher());
        let sig = candidate.default_signature();
        let err = install(&zh, &candidate, &sig, |_| Ok("passed".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("written for en") && err.contains("zh-CN"),
            "{err}"
        );
        assert_eq!(pointer(&zh).unwrap(), Pointer::default());
        assert_eq!(active(&zh).unwrap().pack.locale, Locale::ZhCn);
    }

    #[test]
    fn a_corrupt_pointer_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        std::fs::create_dir_all(dir.path().join("content")).unwrap();
        std::fs::write(dir.path().join("content/active.toml"), "generation = \"x\"").unwrap();
        let err = active(&config).unwrap_err().to_string();
        assert!(err.contains("active.toml"), "{err}");
    }
}
