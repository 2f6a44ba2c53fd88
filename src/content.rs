//! The copy content the kiosk serves — which language model (with its manifest) and which prompt
//! pack — and how a technician updates it (`shelftalk update model|pack`).
//!
//! Layout under `<data_dir>/content/`:
//! - `active.toml`: the pointer — a generation number, the installed model's sha256 and the
//!   installed pack's file name (each absent = the built-in one);
//! - `models/<sha256>.gguf` beside `models/<sha256>.toml` (its manifest);
//! - `packs/<name>@<version>.toml`.
//!
//! Invariants:
//! - Without a pointer the kiosk serves the built-ins: `config.model_path` with the compiled-in
//!   manifest (`models/manifest.toml`) and prompt pack (`prompt-packs/default.toml`).
//! - A candidate is copied in beside the active content, verified (size, sha256) and checked by
//!   the caller's check (the model loads and a test generation passes the guardrails) before the
//!   pointer moves. A failed candidate's files are removed; the pointer and the active files are
//!   untouched, so the old content keeps serving.
//! - The pointer is replaced atomically (temp file, fsync, rename, directory fsync): a reader
//!   sees the old or the new pointer, never a mix. Each switch raises the generation by one; the
//!   daemon watches it and switches between sessions only.
//! - After a switch, installed files the new pointer does not name are deleted.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::copy::manifest::ManifestError;
use crate::copy::prompt::PromptError;
use crate::copy::{Manifest, PromptPack};

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

/// The result of a successful update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Switched {
    pub generation: u64,
    pub model: String,
    pub model_sha256: String,
    pub pack: String,
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
    #[error("update refused, the active content keeps serving: {0}")]
    CheckFailed(String),
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

/// The content a pointer names.
pub fn resolve(config: &Config, pointer: &Pointer) -> Result<Content, ContentError> {
    let dir = dir(config);
    let (manifest, model_path) = match &pointer.model_sha256 {
        None => (Manifest::builtin()?, config.model_path.clone()),
        Some(sha) => (
            Manifest::load(&dir.join("models").join(format!("{sha}.toml")))?,
            dir.join("models").join(format!("{sha}.gguf")),
        ),
    };
    let pack = match &pointer.pack {
        None => PromptPack::builtin()?,
        Some(file) => PromptPack::load(&dir.join("packs").join(file))?,
    };
    Ok(Content {
        generation: pointer.generation,
        manifest,
        model_path,
        pack,
    })
}

/// The content the kiosk serves now.
pub fn active(config: &Config) -> Result<Content, ContentError> {
    resolve(config, &pointer(config)?)
}

/// Installs `candidate` beside the active content, runs `check` on the resulting content and
/// switches the pointer only when it passes.
pub fn install(
    config: &Config,
    candidate: &Candidate,
    check: impl FnOnce(&Content) -> Result<String, String>,
) -> Result<Switched, ContentError> {
    let dir = dir(config);
    let current = pointer(config)?;
    let mut next = current.clone();
    next.generation = current.generation + 1;
    let placed = match candidate {
        Candidate::Model { gguf, manifest } => {
            let manifest_text = std::fs::read_to_string(manifest).map_err(io(manifest))?;
            let parsed = Manifest::parse(&manifest_text, manifest)?;
            let models = dir.join("models");
            std::fs::create_dir_all(&models).map_err(io(&models))?;
            let target = models.join(format!("{}.gguf", parsed.sha256));
            let described = models.join(format!("{}.toml", parsed.sha256));
            let mut placed = Vec::new();
            if !target.exists() {
                copy_verified(gguf, &target, &parsed)?;
                placed.push(target);
            }
            if !described.exists() {
                write_atomically(&described, manifest_text.as_bytes())?;
                placed.push(described);
            }
            next.model_sha256 = Some(parsed.sha256);
            placed
        }
        Candidate::Pack(file) => {
            let text = std::fs::read_to_string(file).map_err(io(file))?;
            let pack = PromptPack::parse(&text, file)?;
            let packs = dir.join("packs");
            std::fs::create_dir_all(&packs).map_err(io(&packs))?;
            let name = pack_file_name(&pack);
            let target = packs.join(&name);
            let mut placed = Vec::new();
            if !target.exists() {
                write_atomically(&target, text.as_bytes())?;
                placed.push(target);
            }
            next.pack = Some(name);
            placed
        }
    };
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
        check,
    })
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
    let parent = path.parent().unwrap_or(Path::new("."));
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    let tmp = parent.join(name);
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path)(e));
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
    stale("packs", &|name| name == keep_pack);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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

    #[test]
    fn a_failed_check_changes_nothing_and_a_passing_one_switches() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let mut pack = PromptPack::builtin().unwrap();
        pack.version = "9.9.9".into();
        let file = dir.path().join("new-pack.toml");
        std::fs::write(&file, toml::to_string(&pack).unwrap()).unwrap();
        let candidate = Candidate::Pack(file);

        let err = install(&config, &candidate, |_| {
            Err("copy failed the guardrails".into())
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("copy failed the guardrails"),
            "{err}"
        );
        assert_eq!(pointer(&config).unwrap(), Pointer::default());
        assert_eq!(
            std::fs::read_dir(dir.path().join("content/packs"))
                .unwrap()
                .count(),
            0
        );

        let switched = install(&config, &candidate, |c| {
            assert_eq!(c.pack.version, "9.9.9", "the check sees the candidate");
            Ok("passed".into())
        })
        .unwrap();
        assert_eq!(switched.generation, 1);
        let active = active(&config).unwrap();
        assert_eq!(
            (active.generation, active.pack.version.as_str()),
            (1, "9.9.9")
        );
        assert_eq!(active.model_path, config.model_path, "model unchanged");

        // Back to the built-in pack by installing it: the 9.9.9 file is pruned.
        let builtin = dir.path().join("builtin.toml");
        std::fs::write(
            &builtin,
            toml::to_string(&PromptPack::builtin().unwrap()).unwrap(),
        )
        .unwrap();
        install(&config, &Candidate::Pack(builtin), |_| Ok("passed".into())).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path().join("content/packs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 1);
        assert!(!names[0].contains("9.9.9"));
        assert_eq!(pointer(&config).unwrap().generation, 2);
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
