//! Release keys: the publisher's Ed25519 key pair that signs model and prompt-pack updates, and
//! the public keys a kiosk trusts (`release_keys` in its config).
//!
//! Files written by [`ReleaseKey::generate`] into the publisher's directory:
//! - `release.pk8`: the private key, PKCS#8 v2 (ring's format, as the device key `device.pk8`),
//!   mode 0600, never overwritten;
//! - `release.pub`: the public key as 64 lower-case hex digits and a newline (the form
//!   `release_keys` and `provision --release-key` take).
//!
//! Invariants:
//! - The private key never leaves this module except as signatures; it prints as `***`.
//! - Loading refuses a private key file that group or others can access (as every key file).
//! - A [`ReleasePublicKey`] is exactly 32 bytes; its text form is hex, parsed in one place
//!   ([`ReleasePublicKey::parse`]).
//! - This module signs and verifies bytes only; what the bytes are (the domain separation, the
//!   artifact) is `content::signed`'s.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use ring::rand::SecureRandom;
use ring::signature::{self, Ed25519KeyPair, KeyPair};

use super::keyfiles::{read_secret, write_new, KeyError};
use super::{from_hex, hex, CryptoError};

/// File name of the private release key in `release keygen --out DIR`.
pub const PRIVATE_FILE: &str = "release.pk8";
/// File name of the public release key beside it.
pub const PUBLIC_FILE: &str = "release.pub";
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ReleaseKeyError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("{path} is not an Ed25519 PKCS#8 release key: {source}")]
    NotEd25519 {
        path: PathBuf,
        source: ring::error::KeyRejected,
    },
    #[error("release public key {value:?} is not valid: {reason}")]
    BadPublicKey { value: String, reason: &'static str },
    #[error(
        "release public key {arg:?} is neither 64 hex digits nor a readable key file: {source}"
    )]
    PublicKeyArg { arg: String, source: std::io::Error },
    #[error("release public key file {path}: {source}")]
    BadPublicKeyFile {
        path: PathBuf,
        source: Box<ReleaseKeyError>,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A release public key a kiosk may trust: 32 bytes, written as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReleasePublicKey([u8; 32]);

impl std::fmt::Debug for ReleasePublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReleasePublicKey({self})")
    }
}

impl std::fmt::Display for ReleasePublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl ReleasePublicKey {
    /// 64 hex digits (either case, surrounding white space ignored).
    pub fn parse(text: &str) -> Result<Self, ReleaseKeyError> {
        let bad = |reason| ReleaseKeyError::BadPublicKey {
            value: text.to_string(),
            reason,
        };
        let bytes = from_hex(text).ok_or_else(|| bad("expected 64 hex digits"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| bad("expected 64 hex digits (32 bytes)"))?;
        Ok(Self(key))
    }

    /// A key given on a command line: the hex key itself, or a file holding it (as
    /// `release keygen` writes `release.pub`).
    pub fn from_key_or_file(arg: &str) -> Result<Self, ReleaseKeyError> {
        if let Ok(key) = Self::parse(arg) {
            return Ok(key);
        }
        let path = Path::new(arg);
        let text = fs::read_to_string(path).map_err(|source| ReleaseKeyError::PublicKeyArg {
            arg: arg.to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|e| ReleaseKeyError::BadPublicKeyFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// True when `signature` is this key's Ed25519 signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.0)
            .verify(message, signature)
            .is_ok()
    }
}

/// The publisher's private release key.
pub struct ReleaseKey(Ed25519KeyPair);

impl std::fmt::Debug for ReleaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReleaseKey(public={}, ***)", self.public())
    }
}

/// What [`ReleaseKey::generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GeneratedKey {
    pub private_file: PathBuf,
    pub public_file: PathBuf,
    /// The public key, hex.
    pub public_key: String,
}

impl ReleaseKey {
    /// Creates `dir` (mode 0700) if missing and writes a new key pair into it: [`PRIVATE_FILE`]
    /// (0600) and [`PUBLIC_FILE`] (0644). Refuses, writing nothing, when either file exists.
    pub fn generate(dir: &Path, rng: &dyn SecureRandom) -> Result<GeneratedKey, ReleaseKeyError> {
        let private_file = dir.join(PRIVATE_FILE);
        let public_file = dir.join(PUBLIC_FILE);
        for path in [&private_file, &public_file] {
            if path.exists() {
                return Err(KeyError::Exists(path.clone()).into());
            }
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ReleaseKeyError::Io { path, source }
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(rng)
            .map_err(|_| KeyError::Crypto(CryptoError::Random))?;
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|source| {
            ReleaseKeyError::NotEd25519 {
                path: private_file.clone(),
                source,
            }
        })?;
        let public_key = hex(pair.public_key().as_ref());
        write_new(&private_file, pkcs8.as_ref())?;
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&public_file)
            .and_then(|mut f| {
                f.write_all(format!("{public_key}\n").as_bytes())?;
                f.sync_all()
            })
            .map_err(io(&public_file))?;
        Ok(GeneratedKey {
            private_file,
            public_file,
            public_key,
        })
    }

    /// Loads a private key file (permissions checked first).
    pub fn load(path: &Path) -> Result<Self, ReleaseKeyError> {
        let bytes = read_secret(path)?;
        Ed25519KeyPair::from_pkcs8(&bytes)
            .map(Self)
            .map_err(|source| ReleaseKeyError::NotEd25519 {
                path: path.to_path_buf(),
                source,
            })
    }

    /// A key from a fixed seed, for golden tests.
    #[cfg(test)]
    #[allow(clippy::expect_used)]
    pub(crate) fn from_seed(seed: &[u8; 32]) -> Self {
        Self(Ed25519KeyPair::from_seed_unchecked(seed).expect("a 32-byte seed is a key"))
    }

    pub fn public(&self) -> ReleasePublicKey {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.0.public_key().as_ref());
        ReleasePublicKey(key)
    }

    /// The Ed25519 signature of `message` (deterministic: the same key and message give the same
    /// bytes).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.0.sign(message).as_ref().to_vec()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generate_writes_private_0600_and_never_overwrites() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("release");
        let made = ReleaseKey::generate(&dir, &crate::crypto::rng()).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&made.private_file), 0o600);
        assert_eq!(mode(&made.public_file), 0o644);
        assert_eq!(mode(&dir), 0o700);
        let key = ReleaseKey::load(&made.private_file).unwrap();
        assert_eq!(key.public().to_string(), made.public_key);
        let public = ReleasePublicKey::from_key_or_file(made.public_file.to_str().unwrap());
        assert_eq!(public.unwrap(), key.public());

        let before = fs::read(&made.private_file).unwrap();
        let again = ReleaseKey::generate(&dir, &crate::crypto::rng()).unwrap_err();
        assert!(matches!(again, ReleaseKeyError::Key(KeyError::Exists(_))));
        assert_eq!(fs::read(&made.private_file).unwrap(), before);

        fs::set_permissions(&made.private_file, fs::Permissions::from_mode(0o644)).unwrap();
        let err = ReleaseKey::load(&made.private_file).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn signatures_verify_only_under_their_key_and_message() {
        let a = ReleaseKey::from_seed(&[1; 32]);
        let b = ReleaseKey::from_seed(&[2; 32]);
        let sig = a.sign(b"pack bytes");
        assert_eq!(sig.len(), SIGNATURE_LEN);
        assert!(a.public().verifies(b"pack bytes", &sig));
        assert!(!a.public().verifies(b"pack bytez", &sig));
        assert!(!b.public().verifies(b"pack bytes", &sig));
        assert!(!a.public().verifies(b"pack bytes", &sig[..10]));
        assert_eq!(
            format!("{a:?}"),
            format!("ReleaseKey(public={}, ***)", a.public())
        );
    }

    #[test]
    fn public_keys_parse_from_hex_or_a_file_and_name_bad_input() {
        let key = ReleaseKey::from_seed(&[3; 32]).public();
        let text = key.to_string();
        assert_eq!(ReleasePublicKey::parse(&text.to_uppercase()).unwrap(), key);
        assert_eq!(ReleasePublicKey::parse(&format!(" {text}\n")).unwrap(), key);
        for bad in [
            "",
            "abc",
            &text[..62],
            &format!("{text}00"),
            &"zz".repeat(32),
        ] {
            assert!(ReleasePublicKey::parse(bad).is_err(), "{bad:?}");
        }
        let err = ReleasePublicKey::from_key_or_file("/no/such/release.pub").unwrap_err();
        assert!(err.to_string().contains("/no/such/release.pub"), "{err}");
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("bad.pub");
        fs::write(&file, "not a key\n").unwrap();
        let err = ReleasePublicKey::from_key_or_file(file.to_str().unwrap()).unwrap_err();
        assert!(err.to_string().contains("bad.pub"), "{err}");
    }
}
