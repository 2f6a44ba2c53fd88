//! The model manifest (`models/manifest.toml`) and verification of the model file against it.
//!
//! Invariants:
//! - A model file is handed to llama.cpp only after [`Manifest::verify`] succeeded: right size and
//!   right sha256, computed by streaming the file (never read whole into memory).
//! - Every failure is a typed [`ManifestError`] naming the path; none panics.
//! - Both hashes a manifest may carry (the file's and, with `[source.published]`, the published
//!   file's that `models/fetch.sh` trims) are 64 hex digits, or it does not parse.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How prompts are written for this model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptFormat {
    /// Base model: few-shot completion prompts from the prompt pack, one line of copy per answer.
    Completion,
    /// Instruction-tuned model: the prompt is rendered with the GGUF's own chat template.
    Chat,
}

/// One chunk of the model as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePart {
    /// Registry package holding the chunk.
    pub package: String,
    /// Path of the chunk inside the package archive.
    pub path: String,
}

/// The model file as published, which the parts concatenate to (`[source.published]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub file: String,
    pub size: u64,
    /// Lower-case hex sha256 of the published file.
    pub sha256: String,
}

/// How the published file becomes the one the manifest names (`[source.trim]`): a script run
/// with exact package versions, so it writes the same bytes every time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trim {
    /// Path of the script, relative to the source tree (`models/derive.py`).
    pub script: String,
    /// `name==version` of every package the script runs with.
    pub packages: Vec<String>,
}

/// Where `models/fetch.sh` gets the model from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// Only `pypi-chunks` is understood by the fetch script.
    pub kind: String,
    pub version: String,
    /// Chunks in concatenation order.
    pub parts: Vec<SourcePart>,
    /// The file the parts make; absent when it is the manifest's own file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Published>,
    /// What turns the published file into the manifest's; absent when nothing does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trim: Option<Trim>,
}

/// The parsed `models/manifest.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    /// File name, relative to the manifest's directory.
    pub file: String,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex sha256 of the whole file.
    pub sha256: String,
    /// Context length the model was trained with.
    pub context_size: u32,
    pub prompt_format: PromptFormat,
    pub licence: String,
    pub source: Source,
}

/// Errors of reading the manifest or verifying a model file.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read model manifest {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid model manifest {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid model manifest {path}: field `sha256` (and `source.published.sha256`) must be 64 hex digits")]
    BadHash { path: PathBuf },
    #[error("model file {path} is missing (run models/fetch.sh)")]
    Missing { path: PathBuf },
    #[error("cannot read model file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("model file {path} has {actual} bytes, the manifest says {expected} (truncated or wrong file; run models/fetch.sh)")]
    WrongSize {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("model file {path} has sha256 {actual}, the manifest says {expected} (corrupt or wrong file; run models/fetch.sh)")]
    WrongHash {
        path: PathBuf,
        expected: String,
        actual: String,
    },
}

impl Manifest {
    /// The manifest that ships with the source tree (`models/manifest.toml`), compiled in.
    pub fn builtin() -> Result<Self, ManifestError> {
        Self::parse(
            include_str!("../../models/manifest.toml"),
            Path::new("models/manifest.toml"),
        )
    }

    /// Read and parse a manifest file.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parse manifest text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ManifestError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| ManifestError::Parse {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        let hex64 = |h: &str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
        let published = manifest.source.published.as_ref();
        if !hex64(&manifest.sha256) || published.is_some_and(|p| !hex64(&p.sha256)) {
            return Err(ManifestError::BadHash {
                path: path.to_path_buf(),
            });
        }
        Ok(manifest)
    }

    /// Check that `path` is this manifest's model: present, right size, right sha256.
    pub fn verify(&self, path: &Path) -> Result<(), ManifestError> {
        let io = |source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ManifestError::Missing {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => return Err(io(e)),
        };
        let actual = file.metadata().map_err(io)?.len();
        if actual != self.size {
            return Err(ManifestError::WrongSize {
                path: path.to_path_buf(),
                expected: self.size,
                actual,
            });
        }
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            ctx.update(&buf[..n]);
        }
        let actual = hex(ctx.finish().as_ref());
        if !actual.eq_ignore_ascii_case(&self.sha256) {
            return Err(ManifestError::WrongHash {
                path: path.to_path_buf(),
                expected: self.sha256.clone(),
                actual,
            });
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Write;

    fn manifest_for(content: &[u8]) -> Manifest {
        let mut m = Manifest::builtin().unwrap();
        m.size = content.len() as u64;
        m.sha256 = hex(ring::digest::digest(&ring::digest::SHA256, content).as_ref());
        m
    }

    #[test]
    fn builtin_manifest_parses() {
        let m = Manifest::builtin().unwrap();
        assert_eq!(m.file, "gemma-3-270m-q4_k_m-en-zh.gguf");
        assert_eq!(m.size, 147_094_816);
        assert_eq!(m.prompt_format, PromptFormat::Completion);
        assert_eq!(m.source.parts.len(), 4);
        let published = m.source.published.unwrap();
        assert_eq!(published.file, "gemma-3-270m-q4_k_m.gguf");
        assert_eq!(published.size, 253_113_024);
        let trim = m.source.trim.unwrap();
        assert_eq!(trim.script, "models/derive.py");
        assert!(trim.packages.iter().all(|p| p.contains("==")));
    }

    /// A manifest of a file published as it is loaded (an update's, or one written before the
    /// trim) has neither table and still parses.
    #[test]
    fn manifest_without_trim_parses() {
        let text = include_str!("../../models/manifest.toml");
        let start = text.find("# What the parts concatenate to").unwrap();
        let end = text.find("[[source.parts]]").unwrap();
        let plain = format!("{}{}", &text[..start], &text[end..]);
        let m = Manifest::parse(&plain, Path::new("x.toml")).unwrap();
        assert_eq!(m.source.published, None);
        assert_eq!(m.source.trim, None);
        assert_eq!(m.source.parts.len(), 4);
    }

    #[test]
    fn verify_accepts_right_file_and_names_each_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        let m = manifest_for(b"hello model");
        assert!(matches!(
            m.verify(&path),
            Err(ManifestError::Missing { .. })
        ));

        std::fs::File::create(&path)
            .unwrap()
            .write_all(b"hello model")
            .unwrap();
        m.verify(&path).unwrap();

        std::fs::write(&path, b"hello").unwrap();
        assert!(matches!(
            m.verify(&path),
            Err(ManifestError::WrongSize {
                expected: 11,
                actual: 5,
                ..
            })
        ));

        std::fs::write(&path, b"hello MODEL").unwrap();
        let err = m.verify(&path).unwrap_err();
        assert!(matches!(err, ManifestError::WrongHash { .. }));
        assert!(err.to_string().contains("fetch.sh"));
    }

    #[test]
    fn bad_manifest_is_a_clear_error() {
        let err = Manifest::parse("name = 1", Path::new("x.toml")).unwrap_err();
        assert!(err.to_string().contains("x.toml"));
        // The file's hash and the published file's, each cut short.
        let shipped = Manifest::builtin().unwrap();
        let published = shipped.source.published.unwrap().sha256;
        for hash in [&shipped.sha256, &published] {
            let text = include_str!("../../models/manifest.toml").replace(hash, &hash[..4]);
            assert!(
                matches!(
                    Manifest::parse(&text, Path::new("x.toml")),
                    Err(ManifestError::BadHash { .. })
                ),
                "{hash}"
            );
        }
    }
}
