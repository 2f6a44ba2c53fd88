//! The key directory: the files that hold the kiosk's secrets.
//!
//! Layout (every file mode 0600, the directory 0700):
//! - `kek.key`: the current key-encryption key: `"STKEK1" | id (u32 BE) | 32 key bytes`.
//! - `kek-next.key`: present only while a rotation is under way (same format, id + 1).
//! - `pepper.key`: 32 bytes, the HMAC pepper for lookup tokens and fingerprints.
//! - `device.pk8`: the Ed25519 device identity, PKCS#8 v2 (ring's format).
//!
//! Invariants:
//! - `init` never overwrites an existing key file; loading refuses any key file that group or
//!   others can read or write.
//! - Rotation is crash-safe: the new KEK is written and synced as `kek-next.key` *before* the store
//!   re-wraps data keys in one transaction, and promoted to `kek.key` by an atomic rename only
//!   after that transaction committed. While both files exist both keys are loaded, so every
//!   wrapped key opens whatever point a crash interrupted; [`KeyDir::finish_rotation`] settles it.
//! - Retiring a KEK overwrites its file with the new key (rename) — no copy of it is kept.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ring::rand::SecureRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use super::{hex, CryptoError, Kek, Pepper, KEY_LEN};

const KEK_FILE: &str = "kek.key";
const KEK_NEXT_FILE: &str = "kek-next.key";
const PEPPER_FILE: &str = "pepper.key";
const DEVICE_FILE: &str = "device.pk8";
const KEK_MAGIC: &[u8; 6] = b"STKEK1";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key directory {0} has no keys; run `shelftalk keys init` first")]
    Missing(PathBuf),
    #[error("refusing to overwrite existing key file {0}")]
    Exists(PathBuf),
    #[error(
        "key file {path} is accessible by group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("key file {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("key file {path} does not hold a usable key: {source}")]
    Unusable { path: PathBuf, source: CryptoError },
    #[error("key file {path} is not an Ed25519 PKCS#8 key: {source}")]
    NotDeviceKey {
        path: PathBuf,
        source: ring::error::KeyRejected,
    },
    #[error("key file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// All loaded secrets of a kiosk.
pub struct Keyring {
    /// The current KEK: new wraps use it.
    pub kek: Kek,
    /// The KEK of an interrupted rotation, if any: also tried when unwrapping.
    pub next_kek: Option<Kek>,
    pub pepper: Pepper,
    pub device: Ed25519KeyPair,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(***)")
    }
}

impl Keyring {
    /// The KEK with id `id`, if loaded.
    pub fn kek_by_id(&self, id: u32) -> Option<&Kek> {
        std::iter::once(&self.kek)
            .chain(self.next_kek.as_ref())
            .find(|k| k.id() == id)
    }

    /// The device public key as lower-case hex (64 characters), as HQ enrolment expects it.
    pub fn device_public_hex(&self) -> String {
        hex(self.device.public_key().as_ref())
    }
}

/// A key directory on disk.
#[derive(Debug, Clone)]
pub struct KeyDir {
    dir: PathBuf,
}

impl KeyDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// True when `init` has run here.
    pub fn exists(&self) -> bool {
        self.dir.join(KEK_FILE).exists()
    }

    /// Creates the KEK, pepper and device key. Refuses if any of them exists.
    pub fn init(&self, rng: &dyn SecureRandom) -> Result<Keyring, KeyError> {
        for name in [KEK_FILE, KEK_NEXT_FILE, PEPPER_FILE, DEVICE_FILE] {
            let path = self.dir.join(name);
            if path.exists() {
                return Err(KeyError::Exists(path));
            }
        }
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(io(&self.dir))?;
        let kek = Kek::generate(1, rng)?;
        let mut pepper = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill(pepper.as_mut()).map_err(|_| CryptoError::Random)?;
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(rng).map_err(|_| CryptoError::Random)?;
        write_new(&self.dir.join(PEPPER_FILE), pepper.as_ref())?;
        write_new(&self.dir.join(DEVICE_FILE), pkcs8.as_ref())?;
        write_new(&self.dir.join(KEK_FILE), &kek_file_bytes(&kek))?;
        sync_dir(&self.dir)?;
        self.load()
    }

    /// Loads every key, checking permissions first.
    pub fn load(&self) -> Result<Keyring, KeyError> {
        let kek_path = self.dir.join(KEK_FILE);
        if !kek_path.exists() {
            return Err(KeyError::Missing(self.dir.clone()));
        }
        let kek = read_kek(&kek_path)?;
        let next_path = self.dir.join(KEK_NEXT_FILE);
        let next_kek = if next_path.exists() {
            Some(read_kek(&next_path)?)
        } else {
            None
        };
        let pepper_path = self.dir.join(PEPPER_FILE);
        let pepper = Pepper::from_bytes(&read_secret(&pepper_path)?).map_err(|source| {
            KeyError::Unusable {
                path: pepper_path.clone(),
                source,
            }
        })?;
        let device_path = self.dir.join(DEVICE_FILE);
        let device = Ed25519KeyPair::from_pkcs8(&read_secret(&device_path)?).map_err(|source| {
            KeyError::NotDeviceKey {
                path: device_path.clone(),
                source,
            }
        })?;
        Ok(Keyring {
            kek,
            next_kek,
            pepper,
            device,
        })
    }

    /// Step 1 of a rotation: writes and syncs `kek-next.key` with id = current id + 1 and returns
    /// it. An existing `kek-next.key` (from an interrupted rotation) is reused.
    pub fn begin_rotation(&self, current: &Kek, rng: &dyn SecureRandom) -> Result<Kek, KeyError> {
        let next_path = self.dir.join(KEK_NEXT_FILE);
        if next_path.exists() {
            return read_kek(&next_path);
        }
        let next = Kek::generate(current.id().wrapping_add(1), rng)?;
        write_new(&next_path, &kek_file_bytes(&next))?;
        sync_dir(&self.dir)?;
        Ok(next)
    }

    /// Final step of a rotation, after the store committed the re-wrap: `kek-next.key` replaces
    /// `kek.key` atomically, destroying the old key.
    pub fn finish_rotation(&self) -> Result<(), KeyError> {
        let next_path = self.dir.join(KEK_NEXT_FILE);
        let kek_path = self.dir.join(KEK_FILE);
        fs::rename(&next_path, &kek_path).map_err(io(&next_path))?;
        sync_dir(&self.dir)
    }

    /// Undoes step 1 when the store still uses the current KEK only (crash before the commit).
    pub fn abandon_rotation(&self) -> Result<(), KeyError> {
        let next_path = self.dir.join(KEK_NEXT_FILE);
        if next_path.exists() {
            fs::remove_file(&next_path).map_err(io(&next_path))?;
            sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

fn kek_file_bytes(kek: &Kek) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(6 + 4 + KEY_LEN));
    out.extend_from_slice(KEK_MAGIC);
    out.extend_from_slice(&kek.id().to_be_bytes());
    out.extend_from_slice(kek.bytes());
    out
}

fn read_kek(path: &Path) -> Result<Kek, KeyError> {
    let bytes = read_secret(path)?;
    let corrupt = |reason: &str| KeyError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    };
    if bytes.len() != 6 + 4 + KEY_LEN || &bytes[..6] != KEK_MAGIC {
        return Err(corrupt(
            "not a shelftalk key-encryption key (bad length or magic)",
        ));
    }
    let id = u32::from_be_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]);
    Kek::from_bytes(id, &bytes[10..]).map_err(|source| KeyError::Unusable {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a key file after checking that only its owner can access it.
pub(crate) fn read_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let meta = fs::metadata(path).map_err(io(path))?;
    if !meta.is_file() {
        return Err(KeyError::Corrupt {
            path: path.to_path_buf(),
            reason: "not a regular file".into(),
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    fs::read(path).map(Zeroizing::new).map_err(io(path))
}

/// Creates `path` with mode 0600, failing if it exists; writes and fsyncs.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => KeyError::Exists(path.to_path_buf()),
            _ => KeyError::Io {
                path: path.to_path_buf(),
                source: e,
            },
        })?;
    file.write_all(bytes).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

fn sync_dir(dir: &Path) -> Result<(), KeyError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::crypto::{rng, DataKey, ShopperId};

    #[test]
    fn init_creates_private_files_and_refuses_to_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = KeyDir::new(tmp.path().join("keys"));
        let ring = dir.init(&rng()).unwrap();
        assert_eq!(ring.kek.id(), 1);
        assert_eq!(ring.device_public_hex().len(), 64);
        for name in [KEK_FILE, PEPPER_FILE, DEVICE_FILE] {
            let mode = fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        assert!(matches!(dir.init(&rng()), Err(KeyError::Exists(_))));
        let again = dir.load().unwrap();
        assert_eq!(again.device_public_hex(), ring.device_public_hex());
    }

    #[test]
    fn load_refuses_group_readable_keys() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = KeyDir::new(tmp.path());
        dir.init(&rng()).unwrap();
        let pepper = tmp.path().join(PEPPER_FILE);
        fs::set_permissions(&pepper, fs::Permissions::from_mode(0o640)).unwrap();
        let err = dir.load().unwrap_err();
        assert!(
            matches!(err, KeyError::Permissions { mode: 0o640, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("pepper.key"));
    }

    #[test]
    fn missing_and_corrupt_keys_are_clear_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = KeyDir::new(tmp.path());
        assert!(matches!(dir.load(), Err(KeyError::Missing(_))));
        dir.init(&rng()).unwrap();
        let kek = tmp.path().join(KEK_FILE);
        fs::write(&kek, b"garbage").unwrap();
        assert!(matches!(dir.load(), Err(KeyError::Corrupt { .. })));
    }

    #[test]
    fn rotation_files_promote_and_abandon() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = KeyDir::new(tmp.path());
        let ring = dir.init(&rng()).unwrap();
        let owner = ShopperId([3; 16]);
        let wrapped_old = ring
            .kek
            .wrap(&owner, &DataKey::generate(&rng()).unwrap(), &rng())
            .unwrap();
        let next = dir.begin_rotation(&ring.kek, &rng()).unwrap();
        assert_eq!(next.id(), 2);
        let during = dir.load().unwrap();
        assert!(during.kek_by_id(1).is_some() && during.kek_by_id(2).is_some());
        dir.abandon_rotation().unwrap();
        assert!(dir.load().unwrap().next_kek.is_none());
        dir.begin_rotation(&ring.kek, &rng()).unwrap();
        dir.finish_rotation().unwrap();
        let after = dir.load().unwrap();
        assert_eq!(after.kek.id(), 2);
        assert!(after.next_kek.is_none());
        assert!(after.kek_by_id(1).is_none());
        assert!(after.kek.unwrap_key(&owner, &wrapped_old).is_err());
    }
}
