//! The key directory: the files that hold the kiosk's secrets.
//!
//! Layout (every file mode 0600, the directory 0700):
//! - `kek.key`: the current key-encryption key: `"STKEK1" | id (u32 BE) | 32 key bytes`.
//! - `kek-next.key`: present only while a rotation is under way (same format, id + 1).
//! - `pepper.key`: 32 bytes, the HMAC pepper for lookup tokens and fingerprints.
//! - `device.pk8`: the Ed25519 device identity, PKCS#8 v2 (ring's format).
//! - `keys.lock`: empty; the advisory lock (`flock`) every process takes on this directory.
//! - `creds/shelftalk-keys.cred`: present only in a *sealed* key directory (see below).
//!
//! Key sources ([`KeySource`]): a key directory is either
//! - *plain* (development): the key files above hold the secrets as they are, so a copy of the
//!   card gives them away (`selftest` warns); or
//! - *sealed* (a provisioned kiosk, `provision` with `systemd-creds`): `creds/shelftalk-keys.cred`
//!   exists — a 32-byte *sealing key* encrypted by `systemd-creds` to the TPM2 or the host key —
//!   and every key file is `"STSEAL01" | nonce (12) | ChaCha20-Poly1305(file bytes)` under it, with
//!   the file's role (`kek`, `pepper`, `device`) as associated data. The sealing key is read only
//!   from `$CREDENTIALS_DIRECTORY/shelftalk-keys`, where systemd puts it, decrypted, for the
//!   service that has `LoadCredentialEncrypted=shelftalk-keys:…` (or from a key handed to
//!   [`KeyDir::with_sealing_key`]). Without it a sealed directory opens nothing
//!   ([`KeyError::Sealed`]). The rotation protocol below is the same in both: a rotation writes
//!   its files sealed, so it needs no `systemd-creds` and works in the unprivileged daemon.
//!
//! Invariants:
//! - A directory is sealed exactly when its credential file exists; then every key file is read
//!   and written sealed (a plain key file there is refused as corrupt), in a plain one never.
//! - `init` never overwrites an existing key file; loading refuses any key file that group or
//!   others can read or write.
//! - One writer of keys at a time: every change of a key file (`init`, the three rotation steps)
//!   happens under the directory's exclusive lock ([`KeyDir::lock_exclusive`]); the functions that
//!   change files take the [`ExclusiveLock`] as an argument, so they cannot be called without it.
//!   Readers take the shared lock ([`KeyDir::load`] does), so nobody reads a rotation half done.
//!   Locks are `flock`s on `keys.lock`: per open file, released when the holder exits or crashes;
//!   a thread must not ask for the exclusive lock while it holds the shared one.
//! - KEK ids only grow: a rotation's new KEK has the id after the current one, and
//!   [`KeyDir::begin_rotation`] refuses ([`KeyError::DuplicateKekId`]) when the key files already
//!   hold that id or a later one — the mark of a writer working from a keyring loaded before
//!   another rotation. So one id never names two keys, and a loaded keyring is current exactly
//!   when its ids ([`Keyring::kek_ids`]) equal the files' ([`KeyDir::kek_ids`]).
//! - Rotation is crash-safe: the new KEK is written and synced as `kek-next.key` *before* the store
//!   re-wraps data keys in one transaction, and promoted to `kek.key` by an atomic rename only
//!   after that transaction committed. While both files exist both keys are loaded, so every
//!   wrapped key opens whatever point a crash interrupted; [`KeyDir::finish_rotation`] settles it.
//! - Retiring a KEK overwrites its file with the new key (rename) — no copy of it is kept.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ring::rand::SecureRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use super::{hex, CryptoError, Kek, Pepper, KEY_LEN};

const KEK_FILE: &str = "kek.key";
const KEK_NEXT_FILE: &str = "kek-next.key";
const PEPPER_FILE: &str = "pepper.key";
const DEVICE_FILE: &str = "device.pk8";
const LOCK_FILE: &str = "keys.lock";
/// Subdirectory of a sealed key directory that holds the encrypted credential.
pub const CREDS_DIR: &str = "creds";
/// The credential's name (`LoadCredentialEncrypted=` and the file name in
/// `$CREDENTIALS_DIRECTORY`).
pub const SEALING_CREDENTIAL: &str = "shelftalk-keys";
/// The environment variable systemd sets to the directory of the service's decrypted credentials.
pub const CREDENTIALS_ENV: &str = "CREDENTIALS_DIRECTORY";
const SEALED_MAGIC: &[u8; 8] = b"STSEAL01";
const KEK_MAGIC: &[u8; 6] = b"STKEK1";
/// Magic and id: what [`KeyDir::kek_ids`] reads of a KEK file.
const KEK_HEADER_LEN: usize = 6 + 4;

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
    #[error("key directory {path}: cannot take its lock: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "refusing to create key-encryption key {id}: the key directory already holds key {existing} \
         (ids only grow; this keyring was loaded before another rotation)"
    )]
    DuplicateKekId { id: u32, existing: u32 },
    #[error("key-encryption key ids are exhausted (the current one is {0})")]
    KekIdsExhausted(u32),
    #[error(
        "key directory {dir} is sealed to this kiosk ({credential}) and the sealing key is not \
         available: {reason}; sealed keys open only in the shelftalk service \
         (LoadCredentialEncrypted={SEALING_CREDENTIAL}:…), not from a copy of the card"
    )]
    Sealed {
        dir: PathBuf,
        credential: PathBuf,
        reason: String,
    },
    #[error("key file {path} does not open with this kiosk's sealing key (wrong key or tampered)")]
    SealBroken { path: PathBuf },
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

    /// The ids of the loaded KEKs: equal to [`KeyDir::kek_ids`] exactly when this keyring is
    /// current (ids only grow).
    pub fn kek_ids(&self) -> KekIds {
        KekIds {
            current: self.kek.id(),
            next: self.next_kek.as_ref().map(Kek::id),
        }
    }
}

/// The ids of the KEKs in a key directory or a keyring: the current one and, while a rotation is
/// under way (or was interrupted), the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KekIds {
    pub current: u32,
    pub next: Option<u32>,
}

impl KekIds {
    fn highest(self) -> u32 {
        self.next.map_or(self.current, |n| n.max(self.current))
    }
}

/// The key directory's shared lock: while it is held no key file changes. Released on drop.
#[derive(Debug)]
pub struct SharedLock {
    _file: File,
}

/// The key directory's exclusive lock: its holder is the one writer of key files. Released on
/// drop.
#[derive(Debug)]
pub struct ExclusiveLock {
    _file: File,
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::SharedLock {}
    impl Sealed for super::ExclusiveLock {}
}

/// Proof that the caller holds the key directory's lock, shared or exclusive.
pub trait HeldLock: sealed::Sealed {}
impl HeldLock for SharedLock {}
impl HeldLock for ExclusiveLock {}

/// The 32-byte key that seals the key files of a sealed key directory. Zeroised on drop.
#[derive(Clone)]
pub struct SealingKey(Zeroizing<[u8; KEY_LEN]>);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(***)")
    }
}

impl SealingKey {
    /// A fresh random key.
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, CryptoError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill(key.as_mut()).map_err(|_| CryptoError::Random)?;
        Ok(Self(key))
    }

    /// From the credential's bytes (exactly 32).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let key: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| CryptoError::BadKey("sealing key length"))?;
        Ok(Self(Zeroizing::new(key)))
    }

    /// The secret, to hand to `systemd-creds encrypt` (on its stdin, never argv).
    pub fn bytes(&self) -> &[u8] {
        self.0.as_ref()
    }

    fn seal(&self, role: &str, plain: &[u8], rng: &dyn SecureRandom) -> Result<Vec<u8>, KeyError> {
        use ring::aead::{Aad, Nonce, NONCE_LEN};
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce).map_err(|_| CryptoError::Random)?;
        let mut out = Vec::with_capacity(SEALED_MAGIC.len() + NONCE_LEN + plain.len() + 16);
        out.extend_from_slice(SEALED_MAGIC);
        out.extend_from_slice(&nonce);
        let mut body = Zeroizing::new(plain.to_vec());
        let tag = super::aead_key(self.bytes())?
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(role.as_bytes()),
                body.as_mut_slice(),
            )
            .map_err(|_| CryptoError::Open)?;
        out.extend_from_slice(&body);
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    fn open(&self, path: &Path, role: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        use ring::aead::{Aad, Nonce, NONCE_LEN};
        let head = SEALED_MAGIC.len() + NONCE_LEN;
        if sealed.len() < head + 16 || &sealed[..SEALED_MAGIC.len()] != SEALED_MAGIC {
            return Err(KeyError::Corrupt {
                path: path.to_path_buf(),
                reason: "a plain key file in a sealed key directory (bad magic or length)".into(),
            });
        }
        let nonce: [u8; NONCE_LEN] = sealed[SEALED_MAGIC.len()..head]
            .try_into()
            .map_err(|_| CryptoError::Malformed("nonce"))?;
        let mut body = Zeroizing::new(sealed[head..].to_vec());
        let len = super::aead_key(self.bytes())?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(role.as_bytes()),
                body.as_mut_slice(),
            )
            .map_err(|_| KeyError::SealBroken {
                path: path.to_path_buf(),
            })?
            .len();
        body.truncate(len);
        Ok(body)
    }
}

/// Where a key directory's secrets come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// Plain key files (development): a copy of the card gives them away.
    PlainFiles,
    /// Key files sealed under the credential `credential`; the sealing key comes from
    /// `credentials_dir` (`$CREDENTIALS_DIRECTORY`), `None` when it is not available.
    Sealed {
        credential: PathBuf,
        credentials_dir: Option<PathBuf>,
    },
}

impl KeySource {
    /// The source for `key_dir`: sealed when its credential file exists; `credentials_dir` counts
    /// only when it holds [`SEALING_CREDENTIAL`].
    pub fn select(key_dir: &Path, credentials_dir: Option<&Path>) -> Self {
        let credential = key_dir
            .join(CREDS_DIR)
            .join(format!("{SEALING_CREDENTIAL}.cred"));
        if !credential.exists() {
            return Self::PlainFiles;
        }
        Self::Sealed {
            credential,
            credentials_dir: credentials_dir
                .filter(|d| d.join(SEALING_CREDENTIAL).is_file())
                .map(Path::to_path_buf),
        }
    }
}

/// A key directory on disk.
#[derive(Debug, Clone)]
pub struct KeyDir {
    dir: PathBuf,
    /// `$CREDENTIALS_DIRECTORY` when this value was made.
    credentials_dir: Option<PathBuf>,
    /// A sealing key given directly (provisioning, tests); wins over `credentials_dir`.
    sealing_key: Option<SealingKey>,
}

impl KeyDir {
    /// The key directory `dir`, with the credentials systemd passes the service
    /// (`$CREDENTIALS_DIRECTORY`), if any.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self::with_credentials(dir, std::env::var_os(CREDENTIALS_ENV).map(PathBuf::from))
    }

    /// The key directory `dir` with the credentials directory `credentials_dir` (not the
    /// environment's).
    pub fn with_credentials(dir: impl Into<PathBuf>, credentials_dir: Option<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            credentials_dir,
            sealing_key: None,
        }
    }

    /// This key directory opened with `key` as its sealing key (what `provision` decrypted with
    /// `systemd-creds`).
    pub fn with_sealing_key(mut self, key: SealingKey) -> Self {
        self.sealing_key = Some(key);
        self
    }

    /// Where the secrets come from.
    pub fn source(&self) -> KeySource {
        KeySource::select(&self.dir, self.credentials_dir.as_deref())
    }

    /// The path of the sealing credential (whether or not it exists).
    pub fn credential_path(&self) -> PathBuf {
        self.dir
            .join(CREDS_DIR)
            .join(format!("{SEALING_CREDENTIAL}.cred"))
    }

    /// The sealing key of a sealed directory; `None` for a plain one.
    fn sealer(&self) -> Result<Option<SealingKey>, KeyError> {
        match self.source() {
            KeySource::PlainFiles => Ok(None),
            KeySource::Sealed { .. } if self.sealing_key.is_some() => Ok(self.sealing_key.clone()),
            KeySource::Sealed {
                credential,
                credentials_dir,
            } => {
                let sealed = |reason: String| KeyError::Sealed {
                    dir: self.dir.clone(),
                    credential: credential.clone(),
                    reason,
                };
                let Some(creds) = credentials_dir else {
                    return Err(sealed(match &self.credentials_dir {
                        None => format!("${CREDENTIALS_ENV} is not set"),
                        Some(d) => format!("{} holds no {SEALING_CREDENTIAL}", d.display()),
                    }));
                };
                let bytes = read_secret(&creds.join(SEALING_CREDENTIAL))?;
                SealingKey::from_bytes(&bytes)
                    .map(Some)
                    .map_err(|e| sealed(e.to_string()))
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// True when `init` has run here.
    pub fn exists(&self) -> bool {
        self.dir.join(KEK_FILE).exists()
    }

    /// Takes the shared lock (waits while a writer holds the exclusive one).
    pub fn lock_shared(&self) -> Result<SharedLock, KeyError> {
        let file = self.lock_file()?;
        flock(&file, &self.dir, rustix::fs::FlockOperation::LockShared)?;
        Ok(SharedLock { _file: file })
    }

    /// Takes the exclusive lock (waits while anyone holds the lock): the one writer of keys.
    pub fn lock_exclusive(&self) -> Result<ExclusiveLock, KeyError> {
        let file = self.lock_file()?;
        flock(&file, &self.dir, rustix::fs::FlockOperation::LockExclusive)?;
        Ok(ExclusiveLock { _file: file })
    }

    /// Opens (creating it 0600 if needed) the lock file. A lock file another user created (root
    /// running a key command) is handed to the directory's owner, so the daemon can still lock.
    fn lock_file(&self) -> Result<File, KeyError> {
        use std::os::unix::fs::MetadataExt;
        let dir_meta = match fs::metadata(&self.dir) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::Missing(self.dir.clone()))
            }
            Err(source) => return Err(io(&self.dir)(source)),
        };
        let path = self.dir.join(LOCK_FILE);
        let file = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => file,
            // A key dir this process may read but not write (a read-only mount): an existing lock
            // file still locks when opened for reading.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
                ) =>
            {
                File::open(&path).map_err(|_| io(&path)(e))?
            }
            Err(e) => return Err(io(&path)(e)),
        };
        let meta = file.metadata().map_err(io(&path))?;
        if meta.uid() != dir_meta.uid() {
            if let Err(e) =
                std::os::unix::fs::fchown(&file, Some(dir_meta.uid()), Some(dir_meta.gid()))
            {
                tracing::debug!(error = %e, "key lock file left with its creator");
            }
        }
        Ok(file)
    }

    /// Creates the KEK, pepper and device key, under the exclusive lock. Refuses if any of them
    /// exists.
    pub fn init(&self, rng: &dyn SecureRandom) -> Result<Keyring, KeyError> {
        self.init_with(rng, None)
    }

    /// Creates a *sealed* key directory: a fresh sealing key, handed to `write_credential`
    /// (which must write it, encrypted, to the path it is given: `systemd-creds encrypt`), then
    /// the KEK, pepper and device key sealed under it — all under the exclusive lock. Refuses if
    /// any key file or the credential exists. Returns the keyring and the sealing key.
    pub fn init_sealed(
        &self,
        rng: &dyn SecureRandom,
        write_credential: &dyn Fn(&SealingKey, &Path) -> Result<(), KeyError>,
    ) -> Result<(Keyring, SealingKey), KeyError> {
        let key = SealingKey::generate(rng)?;
        let ring = self.init_with(rng, Some((&key, write_credential)))?;
        Ok((ring, key))
    }

    #[allow(clippy::type_complexity)]
    fn init_with(
        &self,
        rng: &dyn SecureRandom,
        sealed: Option<(
            &SealingKey,
            &dyn Fn(&SealingKey, &Path) -> Result<(), KeyError>,
        )>,
    ) -> Result<Keyring, KeyError> {
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let lock = self.lock_exclusive()?;
        let credential = self.credential_path();
        for path in [KEK_FILE, KEK_NEXT_FILE, PEPPER_FILE, DEVICE_FILE]
            .map(|name| self.dir.join(name))
            .into_iter()
            .chain(sealed.is_some().then(|| credential.clone()))
        {
            if path.exists() {
                return Err(KeyError::Exists(path));
            }
        }
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(io(&self.dir))?;
        let mut sealer = self.sealer()?;
        if let Some((key, write_credential)) = sealed {
            let creds = self.dir.join(CREDS_DIR);
            fs::DirBuilder::new()
                .mode(0o700)
                .recursive(true)
                .create(&creds)
                .map_err(io(&creds))?;
            write_credential(key, &credential)?;
            if !credential.is_file() {
                return Err(KeyError::Io {
                    path: credential,
                    source: std::io::Error::other("the credential was not written"),
                });
            }
            sync_dir(&creds)?;
            sealer = Some(key.clone());
        }
        let kek = Kek::generate(1, rng)?;
        let mut pepper = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill(pepper.as_mut()).map_err(|_| CryptoError::Random)?;
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(rng).map_err(|_| CryptoError::Random)?;
        let s = sealer.as_ref();
        write_key(
            &self.dir.join(PEPPER_FILE),
            ROLE_PEPPER,
            pepper.as_ref(),
            s,
            rng,
        )?;
        write_key(
            &self.dir.join(DEVICE_FILE),
            ROLE_DEVICE,
            pkcs8.as_ref(),
            s,
            rng,
        )?;
        write_key(
            &self.dir.join(KEK_FILE),
            ROLE_KEK,
            &kek_file_bytes(&kek),
            s,
            rng,
        )?;
        sync_dir(&self.dir)?;
        self.load_sealed(&lock, s)
    }

    /// Loads every key under the shared lock, checking permissions first.
    pub fn load(&self) -> Result<Keyring, KeyError> {
        if !self.exists() {
            return Err(KeyError::Missing(self.dir.clone()));
        }
        let lock = self.lock_shared()?;
        self.load_locked(&lock)
    }

    /// Loads every key while the caller holds the lock (shared or exclusive).
    pub fn load_locked(&self, held: &impl HeldLock) -> Result<Keyring, KeyError> {
        if !self.exists() {
            return Err(KeyError::Missing(self.dir.clone()));
        }
        let sealer = self.sealer()?;
        self.load_sealed(held, sealer.as_ref())
    }

    fn load_sealed(
        &self,
        _held: &impl HeldLock,
        sealer: Option<&SealingKey>,
    ) -> Result<Keyring, KeyError> {
        let kek_path = self.dir.join(KEK_FILE);
        if !kek_path.exists() {
            return Err(KeyError::Missing(self.dir.clone()));
        }
        let kek = read_kek(&kek_path, sealer)?;
        let next_path = self.dir.join(KEK_NEXT_FILE);
        let next_kek = if next_path.exists() {
            Some(read_kek(&next_path, sealer)?)
        } else {
            None
        };
        let pepper_path = self.dir.join(PEPPER_FILE);
        let pepper = Pepper::from_bytes(&read_key(&pepper_path, ROLE_PEPPER, sealer)?).map_err(
            |source| KeyError::Unusable {
                path: pepper_path.clone(),
                source,
            },
        )?;
        let device_path = self.dir.join(DEVICE_FILE);
        let device =
            ed25519_from_pkcs8(&device_path, &read_key(&device_path, ROLE_DEVICE, sealer)?)?;
        Ok(Keyring {
            kek,
            next_kek,
            pepper,
            device,
        })
    }

    /// The ids of the KEK files, read from their headers only (the key bytes stay on disk): the
    /// cheap check whether a loaded keyring is still current. Call under the lock.
    pub fn kek_ids(&self, _held: &impl HeldLock) -> Result<KekIds, KeyError> {
        let kek_path = self.dir.join(KEK_FILE);
        if !kek_path.exists() {
            return Err(KeyError::Missing(self.dir.clone()));
        }
        let next_path = self.dir.join(KEK_NEXT_FILE);
        // A sealed file's id is inside the seal: the whole key is opened (and dropped).
        let sealer = self.sealer()?;
        let id = |path: &Path| match &sealer {
            None => read_kek_id(path),
            Some(key) => read_kek(path, Some(key)).map(|k| k.id()),
        };
        Ok(KekIds {
            current: id(&kek_path)?,
            next: if next_path.exists() {
                Some(id(&next_path)?)
            } else {
                None
            },
        })
    }

    /// Step 1 of a rotation: writes and syncs `kek-next.key` with id = current id + 1 and returns
    /// it. An existing `kek-next.key` with that id beside `current` (an interrupted rotation) is
    /// reused. Refused with [`KeyError::DuplicateKekId`] when the files already hold that id or a
    /// later one: `current` is not the current KEK on disk.
    pub fn begin_rotation(
        &self,
        lock: &ExclusiveLock,
        current: &Kek,
        rng: &dyn SecureRandom,
    ) -> Result<Kek, KeyError> {
        let id = current
            .id()
            .checked_add(1)
            .ok_or(KeyError::KekIdsExhausted(current.id()))?;
        let on_disk = self.kek_ids(lock)?;
        let next_path = self.dir.join(KEK_NEXT_FILE);
        let sealer = self.sealer()?;
        if on_disk.current == current.id() && on_disk.next == Some(id) {
            return read_kek(&next_path, sealer.as_ref());
        }
        if on_disk.highest() >= id {
            return Err(KeyError::DuplicateKekId {
                id,
                existing: on_disk.highest(),
            });
        }
        let next = Kek::generate(id, rng)?;
        write_key(
            &next_path,
            ROLE_KEK,
            &kek_file_bytes(&next),
            sealer.as_ref(),
            rng,
        )?;
        sync_dir(&self.dir)?;
        Ok(next)
    }

    /// Final step of a rotation, after the store committed the re-wrap: `kek-next.key` replaces
    /// `kek.key` atomically, destroying the old key.
    pub fn finish_rotation(&self, _lock: &ExclusiveLock) -> Result<(), KeyError> {
        let next_path = self.dir.join(KEK_NEXT_FILE);
        let kek_path = self.dir.join(KEK_FILE);
        fs::rename(&next_path, &kek_path).map_err(io(&next_path))?;
        sync_dir(&self.dir)
    }

    /// Undoes step 1 when the store still uses the current KEK only (crash before the commit).
    pub fn abandon_rotation(&self, _lock: &ExclusiveLock) -> Result<(), KeyError> {
        let next_path = self.dir.join(KEK_NEXT_FILE);
        if next_path.exists() {
            fs::remove_file(&next_path).map_err(io(&next_path))?;
            sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

/// Takes `op` on `file`, retrying when a signal interrupts the wait.
fn flock(file: &File, dir: &Path, op: rustix::fs::FlockOperation) -> Result<(), KeyError> {
    loop {
        match rustix::fs::flock(file, op) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                return Err(KeyError::Lock {
                    path: dir.to_path_buf(),
                    source: e.into(),
                })
            }
        }
    }
}

fn kek_file_bytes(kek: &Kek) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(6 + 4 + KEY_LEN));
    out.extend_from_slice(KEK_MAGIC);
    out.extend_from_slice(&kek.id().to_be_bytes());
    out.extend_from_slice(kek.bytes());
    out
}

/// Associated data of a sealed key file: its role (both KEK files are `kek`, so a rotation's
/// rename keeps the seal valid).
const ROLE_KEK: &str = "shelftalk/key/kek";
const ROLE_PEPPER: &str = "shelftalk/key/pepper";
const ROLE_DEVICE: &str = "shelftalk/key/device";

/// Reads a key file, opening its seal when the directory is sealed.
fn read_key(
    path: &Path,
    role: &str,
    sealer: Option<&SealingKey>,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let bytes = read_secret(path)?;
    match sealer {
        None => Ok(bytes),
        Some(key) => key.open(path, role, &bytes),
    }
}

/// Creates a key file (see [`write_new`]), sealed when the directory is.
fn write_key(
    path: &Path,
    role: &str,
    plain: &[u8],
    sealer: Option<&SealingKey>,
    rng: &dyn SecureRandom,
) -> Result<(), KeyError> {
    match sealer {
        None => write_new(path, plain),
        Some(key) => write_new(path, &key.seal(role, plain, rng)?),
    }
}

fn read_kek(path: &Path, sealer: Option<&SealingKey>) -> Result<Kek, KeyError> {
    let bytes = read_key(path, ROLE_KEK, sealer)?;
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

/// The id in a KEK file's header (magic checked; the key bytes are not read).
fn read_kek_id(path: &Path) -> Result<u32, KeyError> {
    use std::io::Read;
    check_private(path)?;
    let mut header = [0u8; KEK_HEADER_LEN];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map_err(io(path))?;
    if &header[..6] != KEK_MAGIC {
        return Err(KeyError::Corrupt {
            path: path.to_path_buf(),
            reason: "not a shelftalk key-encryption key (bad magic)".into(),
        });
    }
    Ok(u32::from_be_bytes([
        header[6], header[7], header[8], header[9],
    ]))
}

/// Reads a key file after checking that only its owner can access it.
pub(crate) fn read_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    check_private(path)?;
    fs::read(path).map(Zeroizing::new).map_err(io(path))
}

/// Refuses anything but a regular file only its owner can access.
fn check_private(path: &Path) -> Result<(), KeyError> {
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
    Ok(())
}

/// Creates a new Ed25519 key file at `path` — PKCS#8 v2 (ring's format, as `device.pk8`), mode
/// 0600, written only if nothing is there ([`KeyError::Exists`] otherwise) — and returns the key.
pub(crate) fn create_ed25519(
    path: &Path,
    rng: &dyn SecureRandom,
) -> Result<Ed25519KeyPair, KeyError> {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(rng).map_err(|_| CryptoError::Random)?;
    let pair = ed25519_from_pkcs8(path, pkcs8.as_ref())?;
    write_new(path, pkcs8.as_ref())?;
    Ok(pair)
}

/// Loads an Ed25519 PKCS#8 key file written by [`create_ed25519`] (permissions checked first).
pub(crate) fn load_ed25519(path: &Path) -> Result<Ed25519KeyPair, KeyError> {
    ed25519_from_pkcs8(path, &read_secret(path)?)
}

fn ed25519_from_pkcs8(path: &Path, pkcs8: &[u8]) -> Result<Ed25519KeyPair, KeyError> {
    Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|source| KeyError::NotDeviceKey {
        path: path.to_path_buf(),
        source,
    })
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
        let lock = dir.lock_exclusive().unwrap();
        let next = dir.begin_rotation(&lock, &ring.kek, &rng()).unwrap();
        assert_eq!(next.id(), 2);
        let during = dir.load_locked(&lock).unwrap();
        assert!(during.kek_by_id(1).is_some() && during.kek_by_id(2).is_some());
        assert_eq!(
            dir.kek_ids(&lock).unwrap(),
            KekIds {
                current: 1,
                next: Some(2)
            }
        );
        assert_eq!(during.kek_ids(), dir.kek_ids(&lock).unwrap());
        // Resuming the interrupted rotation reuses its key.
        let again = dir.begin_rotation(&lock, &ring.kek, &rng()).unwrap();
        assert_eq!(again.bytes(), next.bytes());
        dir.abandon_rotation(&lock).unwrap();
        assert!(dir.load_locked(&lock).unwrap().next_kek.is_none());
        dir.begin_rotation(&lock, &ring.kek, &rng()).unwrap();
        dir.finish_rotation(&lock).unwrap();
        drop(lock);
        let after = dir.load().unwrap();
        assert_eq!(after.kek.id(), 2);
        assert!(after.next_kek.is_none());
        assert!(after.kek_by_id(1).is_none());
        assert!(after.kek.unwrap_key(&owner, &wrapped_old).is_err());
    }

    #[test]
    fn a_stale_keyring_cannot_make_a_second_key_with_one_id() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = KeyDir::new(tmp.path());
        let stale = dir.init(&rng()).unwrap();
        let lock = dir.lock_exclusive().unwrap();
        dir.begin_rotation(&lock, &stale.kek, &rng()).unwrap();
        dir.finish_rotation(&lock).unwrap();
        let err = dir.begin_rotation(&lock, &stale.kek, &rng()).unwrap_err();
        assert!(
            matches!(err, KeyError::DuplicateKekId { id: 2, existing: 2 }),
            "{err}"
        );
        assert!(!tmp.path().join(KEK_NEXT_FILE).exists());
        assert_ne!(stale.kek_ids(), dir.kek_ids(&lock).unwrap());
    }

    #[test]
    fn the_lock_file_is_private_and_a_missing_dir_is_missing_keys() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = KeyDir::new(tmp.path().join("none"));
        assert!(matches!(missing.lock_shared(), Err(KeyError::Missing(_))));
        let dir = KeyDir::new(tmp.path().join("keys"));
        dir.init(&rng()).unwrap();
        let mode = fs::metadata(dir.path().join(LOCK_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // Shared locks coexist, in one process as across processes.
        let (a, b) = (dir.lock_shared().unwrap(), dir.lock_shared().unwrap());
        drop((a, b));
        drop(dir.lock_exclusive().unwrap());
    }

    #[test]
    fn the_source_is_sealed_exactly_when_the_credential_exists() {
        let tmp = tempfile::tempdir().unwrap();
        let keys = tmp.path().join("keys");
        let creds = tmp.path().join("creds");
        fs::create_dir_all(&creds).unwrap();
        assert_eq!(
            KeySource::select(&keys, Some(&creds)),
            KeySource::PlainFiles
        );
        let cred = keys.join(CREDS_DIR).join("shelftalk-keys.cred");
        fs::create_dir_all(cred.parent().unwrap()).unwrap();
        fs::write(&cred, b"sealed").unwrap();
        let sealed = |dir: Option<&Path>| KeySource::Sealed {
            credential: cred.clone(),
            credentials_dir: dir.map(Path::to_path_buf),
        };
        assert_eq!(KeySource::select(&keys, None), sealed(None));
        // A credentials dir counts only when it holds the credential.
        assert_eq!(KeySource::select(&keys, Some(&creds)), sealed(None));
        fs::write(creds.join(SEALING_CREDENTIAL), [7u8; KEY_LEN]).unwrap();
        assert_eq!(KeySource::select(&keys, Some(&creds)), sealed(Some(&creds)));
    }

    #[test]
    fn a_sealed_dir_opens_only_with_its_sealing_key_and_rotates() {
        let tmp = tempfile::tempdir().unwrap();
        let creds = tmp.path().join("creds");
        fs::create_dir_all(&creds).unwrap();
        let dir = KeyDir::with_credentials(tmp.path().join("keys"), None);
        // A stand-in for `systemd-creds encrypt`: the test keeps the key where systemd would
        // put it once decrypted.
        let (ring, key) = dir
            .init_sealed(&rng(), &|key, out| {
                fs::write(out, b"encrypted elsewhere").unwrap();
                write_new(&creds.join(SEALING_CREDENTIAL), key.bytes())
            })
            .unwrap();
        // No key file holds its key in the clear.
        let plain_kek = kek_file_bytes(&ring.kek);
        for name in [KEK_FILE, PEPPER_FILE, DEVICE_FILE] {
            let bytes = fs::read(dir.path().join(name)).unwrap();
            assert!(bytes.starts_with(SEALED_MAGIC), "{name}");
            assert!(!bytes.windows(KEY_LEN).any(|w| w == &plain_kek[10..]));
        }
        // Without the credential: sealed, nothing opens.
        let err = dir.load().unwrap_err();
        assert!(matches!(err, KeyError::Sealed { .. }), "{err}");
        assert!(err.to_string().contains("CREDENTIALS_DIRECTORY"), "{err}");
        // With a wrong key: refused.
        let wrong = KeyDir::with_credentials(dir.path(), None)
            .with_sealing_key(SealingKey::from_bytes(&[1; KEY_LEN]).unwrap());
        assert!(matches!(wrong.load(), Err(KeyError::SealBroken { .. })));
        // With the credentials directory systemd provides: the same keys.
        let service = KeyDir::with_credentials(dir.path(), Some(creds.clone()));
        let opened = service.load().unwrap();
        assert_eq!(opened.device_public_hex(), ring.device_public_hex());
        assert_eq!(opened.kek.bytes(), ring.kek.bytes());
        let by_key = KeyDir::with_credentials(dir.path(), None).with_sealing_key(key);
        assert_eq!(by_key.load().unwrap().kek.bytes(), ring.kek.bytes());
        // Rotation works sealed, with no systemd-creds.
        let lock = service.lock_exclusive().unwrap();
        let next = service.begin_rotation(&lock, &opened.kek, &rng()).unwrap();
        assert!(fs::read(dir.path().join(KEK_NEXT_FILE))
            .unwrap()
            .starts_with(SEALED_MAGIC));
        assert_eq!(
            service.kek_ids(&lock).unwrap(),
            KekIds {
                current: 1,
                next: Some(2)
            }
        );
        service.finish_rotation(&lock).unwrap();
        drop(lock);
        assert_eq!(service.load().unwrap().kek.bytes(), next.bytes());
        assert!(matches!(dir.load(), Err(KeyError::Sealed { .. })));
    }
}
