//! `shelftalk provision`: turns an empty data dir into this kiosk's — directories with the
//! appliance's modes, keys, the technician PIN, the kiosk's config file — and gives the command
//! HQ runs to enrol it.
//!
//! Shape: [`observe`] reads what is there, [`plan`] (pure) decides the steps, [`apply`] carries
//! them out and [`enrol_command`] (pure) renders the enrolment line.
//!
//! Invariants:
//! - Idempotent: on a provisioned dir with the same ids the plan is empty and nothing is written
//!   (no file's content or mtime changes); the report says so.
//! - Keys are never overwritten: existing keys are kept (and their public key reported); a partial
//!   key dir is refused by [`KeyDir::init`].
//! - A provisioned dir (keys present) whose config file names another store or kiosk is refused
//!   with an error naming the file, the key and both values. A dir without keys takes the ids
//!   asked for, whatever a template config file said.
//! - The PIN is set only when the config file has none; an existing PIN is never replaced here
//!   (`console set-pin` does that), and a `--pin-file` PIN that does not match it is refused.
//!   The PIN is neither logged nor printed; only its PBKDF2 hash is stored.
//! - Directory modes are [`DATA_DIR_MODE`] and [`KEY_DIR_MODE`], those of
//!   `firmware-config/shelftalk.tmpfiles.conf`.
//! - Keys are sealed when `systemd-creds` runs here ([`Request::seal_keys`]): the key directory's
//!   sealing key goes into `<key_dir>/creds/shelftalk-keys.cred` (`systemd-creds encrypt
//!   --with-key=auto`, the secret on stdin) and no plain key file is ever written; the unit
//!   drop-in that loads it (`LoadCredentialEncrypted=`) is written to
//!   `<data_dir>/shelftalk.service.d/credentials.conf` (never overwritten) for the technician to
//!   install. Without `systemd-creds` (or with `--plain-keys`) the keys are plain files, as in
//!   development, and `selftest` warns.
//! - Release keys asked for (`--release-key`) are added to the config's `release_keys`; keys
//!   already trusted stay, none is removed here.
//! - HQ's public key asked for (`--hq-public-key`) is written to `hq_public_key` (lower-case
//!   hex) when the file holds another or none; without the flag the file's is kept.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{Config, ConfigError};
use crate::control;
use crate::crypto::keyfiles::{KeyDir, KeyError};
use crate::crypto::release::ReleasePublicKey;

/// Mode of the data directory (as the tmpfiles.d entry creates it).
pub const DATA_DIR_MODE: u32 = 0o700;
/// Mode of the key directory.
pub const KEY_DIR_MODE: u32 = 0o700;

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(
        "{file} is already provisioned with {key} = {existing:?}; refusing to change it to \
         {requested:?} (use a fresh data dir, or erase this one deliberately)"
    )]
    Conflict {
        file: PathBuf,
        key: &'static str,
        existing: String,
        requested: String,
    },
    #[error(
        "{0} already holds a different technician PIN; provision never replaces it \
         (use `shelftalk console set-pin`)"
    )]
    PinMismatch(PathBuf),
    #[error("a technician PIN is needed (prompted, or --pin-file FILE)")]
    PinRequired,
    #[error("config file {path}: {message}")]
    BadFile { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("{path} exists and differs from the drop-in this kiosk needs:\n{wanted}")]
    DropInConflict { path: PathBuf, wanted: String },

    #[error(transparent)]
    Control(#[from] control::ControlError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ProvisionError + '_ {
    move |source| ProvisionError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What the technician asked for.
#[derive(Debug, Clone)]
pub struct Request {
    pub store_id: String,
    pub kiosk_id: String,
    /// Absolute data directory.
    pub data_dir: PathBuf,
    pub key_dir: PathBuf,
    pub config_file: PathBuf,
    /// Release public keys to trust for updates (added to `release_keys`).
    pub release_keys: Vec<ReleasePublicKey>,
    /// HQ's public key to write to `hq_public_key` (checked by [`plan`]).
    pub hq_public_key: Option<String>,
    /// New keys are sealed with `systemd-creds` (see the module docs).
    pub seal_keys: bool,
}

impl Request {
    /// The request `provision` makes from its flags: the data dir from `--data-dir` (else the
    /// defaults'), made absolute; the config file from `--config` (else `<data-dir>/kiosk.toml`),
    /// which need not exist yet; the key dir as that file (or the defaults) sets it.
    pub fn resolve(
        config_flag: Option<&Path>,
        data_dir_flag: Option<&Path>,
        store_id: &str,
        kiosk_id: &str,
    ) -> Result<Self, ProvisionError> {
        let defaults = Config::load(None, std::env::vars())?;
        let data_dir = data_dir_flag.unwrap_or(&defaults.data_dir).to_path_buf();
        let data_dir = std::path::absolute(&data_dir).map_err(io(&data_dir))?;
        let config_file = config_flag
            .map(Path::to_path_buf)
            .unwrap_or_else(|| data_dir.join("kiosk.toml"));
        let mut base = if config_file.exists() {
            Config::load(Some(&config_file), std::env::vars())?
        } else {
            defaults
        };
        base.data_dir = data_dir.clone();
        Ok(Self {
            store_id: store_id.to_string(),
            kiosk_id: kiosk_id.to_string(),
            key_dir: base.key_dir(),
            data_dir,
            config_file,
            release_keys: Vec::new(),
            hq_public_key: None,
            seal_keys: crate::crypto::creds::available(),
        })
    }
}

/// What is on disk now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// Permission bits of the data dir, `None` when missing.
    pub data_dir_mode: Option<u32>,
    pub key_dir_mode: Option<u32>,
    /// `kek.key` exists.
    pub keys: bool,
    /// Top-level string keys the config file sets explicitly.
    pub store_id: Option<String>,
    pub kiosk_id: Option<String>,
    pub data_dir: Option<String>,
    pub pin_hash: Option<String>,
    pub hq_public_key: Option<String>,
    /// `release_keys` as the config file sets them.
    pub release_keys: Vec<String>,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    CreateDir {
        path: PathBuf,
        mode: u32,
    },
    SetMode {
        path: PathBuf,
        from: u32,
        to: u32,
    },
    InitKeys,
    /// Top-level config keys to write, with the PIN hash when `pin` is true.
    WriteConfig {
        set: Vec<(String, String)>,
        pin: bool,
    },
    /// `release_keys` to write: the keys trusted before, then the new ones.
    TrustReleaseKeys {
        release_keys: Vec<String>,
    },
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::CreateDir { path, mode } => {
                write!(f, "create {} (mode {mode:o})", path.display())
            }
            Step::SetMode { path, from, to } => {
                write!(f, "chmod {} {from:o} -> {to:o}", path.display())
            }
            Step::InitKeys => f.write_str("create keys"),
            Step::WriteConfig { set, pin } => {
                let mut keys: Vec<&str> = set.iter().map(|(k, _)| k.as_str()).collect();
                if *pin {
                    keys.push("console_pin_hash");
                }
                write!(f, "write {}", keys.join(", "))
            }
            Step::TrustReleaseKeys { release_keys } => {
                write!(f, "write release_keys ({})", release_keys.join(", "))
            }
        }
    }
}

/// The steps, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    /// True when applying the plan needs the technician PIN.
    pub fn needs_pin(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::WriteConfig { pin: true, .. }))
    }
}

/// Reads the state of the dirs, keys and config file of `req`.
pub fn observe(req: &Request) -> Result<Observed, ProvisionError> {
    let mode = |p: &Path| -> Result<Option<u32>, ProvisionError> {
        match std::fs::metadata(p) {
            Ok(m) => Ok(Some(m.permissions().mode() & 0o7777)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(p)(e)),
        }
    };
    let mut seen = Observed {
        data_dir_mode: mode(&req.data_dir)?,
        key_dir_mode: mode(&req.key_dir)?,
        keys: KeyDir::new(&req.key_dir).exists(),
        ..Observed::default()
    };
    let text = match std::fs::read_to_string(&req.config_file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(seen),
        Err(e) => return Err(io(&req.config_file)(e)),
    };
    let table: toml::Table =
        text.parse()
            .map_err(|e: toml::de::Error| ProvisionError::BadFile {
                path: req.config_file.clone(),
                message: e.to_string(),
            })?;
    let get = |key: &str| table.get(key).and_then(|v| v.as_str()).map(str::to_string);
    seen.store_id = get("store_id");
    seen.kiosk_id = get("kiosk_id");
    seen.data_dir = get("data_dir");
    seen.pin_hash = get("console_pin_hash");
    seen.hq_public_key = get("hq_public_key");
    seen.release_keys = table
        .get("release_keys")
        .and_then(|v| v.as_array())
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(seen)
}

/// Decides the steps. `pin` is a PIN given up front (`--pin-file`): with a PIN already set it
/// must match it.
pub fn plan(req: &Request, seen: &Observed, pin: Option<&str>) -> Result<Plan, ProvisionError> {
    Config {
        store_id: req.store_id.clone(),
        kiosk_id: req.kiosk_id.clone(),
        data_dir: req.data_dir.clone(),
        hq_public_key: req.hq_public_key.clone(),
        ..Config::default()
    }
    .validate()?;
    // One spelling in the file: lower-case hex (validated just above).
    let hq_public_key = req.hq_public_key.as_deref().map(str::to_ascii_lowercase);
    let data_dir = req.data_dir.to_string_lossy().into_owned();
    let wanted = [
        ("store_id", req.store_id.as_str()),
        ("kiosk_id", req.kiosk_id.as_str()),
        ("data_dir", data_dir.as_str()),
    ];
    let existing = |key: &str| match key {
        "store_id" => seen.store_id.as_deref(),
        "kiosk_id" => seen.kiosk_id.as_deref(),
        _ => seen.data_dir.as_deref(),
    };
    if seen.keys {
        for (key, value) in wanted {
            if let Some(have) = existing(key).filter(|have| *have != value) {
                return Err(ProvisionError::Conflict {
                    file: req.config_file.clone(),
                    key,
                    existing: have.to_string(),
                    requested: value.to_string(),
                });
            }
        }
    }
    if let (Some(hash), Some(pin)) = (&seen.pin_hash, pin) {
        if !control::verify_pin(hash, pin.trim())? {
            return Err(ProvisionError::PinMismatch(req.config_file.clone()));
        }
    }
    let mut steps = Vec::new();
    for (path, mode, have) in [
        (&req.data_dir, DATA_DIR_MODE, seen.data_dir_mode),
        (&req.key_dir, KEY_DIR_MODE, seen.key_dir_mode),
    ] {
        match have {
            None => steps.push(Step::CreateDir {
                path: path.clone(),
                mode,
            }),
            Some(from) if from != mode => steps.push(Step::SetMode {
                path: path.clone(),
                from,
                to: mode,
            }),
            Some(_) => {}
        }
    }
    if !seen.keys {
        steps.push(Step::InitKeys);
    }
    let mut set: Vec<(String, String)> = wanted
        .iter()
        .filter(|(key, value)| existing(key) != Some(*value))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some(key) = hq_public_key.filter(|k| seen.hq_public_key.as_ref() != Some(k)) {
        set.push(("hq_public_key".into(), key));
    }
    let pin_step = seen.pin_hash.is_none();
    if !set.is_empty() || pin_step {
        steps.push(Step::WriteConfig { set, pin: pin_step });
    }
    let trusted: Vec<ReleasePublicKey> = seen
        .release_keys
        .iter()
        .filter_map(|k| ReleasePublicKey::parse(k).ok())
        .collect();
    let mut release_keys = seen.release_keys.clone();
    for key in &req.release_keys {
        let hex = key.to_string();
        if !trusted.contains(key) && !release_keys.contains(&hex) {
            release_keys.push(hex);
        }
    }
    if release_keys.len() > seen.release_keys.len() {
        steps.push(Step::TrustReleaseKeys { release_keys });
    }
    Ok(Plan { steps })
}

/// The command HQ runs to enrol this kiosk.
pub fn enrol_command(hq_db: &str, kiosk_id: &str, store_id: &str, public_key: &str) -> String {
    format!("shelftalk hq enroll --db {hq_db} --kiosk {kiosk_id} --store {store_id} --pubkey {public_key}")
}

/// What `provision` did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub changed: bool,
    pub steps: Vec<Step>,
    pub store_id: String,
    pub kiosk_id: String,
    pub data_dir: PathBuf,
    pub key_dir: PathBuf,
    pub config_file: PathBuf,
    /// `sealed` (systemd credentials) or `plain` (key files, development).
    pub key_source: &'static str,
    /// The unit drop-in to install, for sealed keys.
    pub drop_in: Option<PathBuf>,
    pub public_key: String,
    /// The command to run at HQ.
    pub enrol: String,
}

impl Report {
    pub fn render(&self) -> String {
        let mut out = if self.changed {
            let mut s = format!(
                "provisioned kiosk {} of store {}:\n",
                self.kiosk_id, self.store_id
            );
            for step in &self.steps {
                s.push_str(&format!("  {step}\n"));
            }
            s
        } else {
            "already provisioned: nothing changed\n".to_string()
        };
        let keys = match &self.drop_in {
            Some(drop_in) => format!(
                "keys sealed with systemd-creds; install {} as \
                 /etc/systemd/system/shelftalk.service.d/credentials.conf\n",
                drop_in.display()
            ),
            None => "keys are plain files (no systemd-creds): a copied card gives them away\n"
                .to_string(),
        };
        out.push_str(&keys);
        out.push_str(&format!(
            "data dir {}, keys {}, config {}\ndevice public key: {}\nenrol at HQ with:\n{}",
            self.data_dir.display(),
            self.key_dir.display(),
            self.config_file.display(),
            self.public_key,
            self.enrol
        ));
        out
    }
}

/// Carries out `plan`; `pin` is needed when [`Plan::needs_pin`].
pub fn apply(
    req: &Request,
    plan: &Plan,
    pin: Option<&str>,
    hq_db: &str,
) -> Result<Report, ProvisionError> {
    // The PIN is checked before anything is written (the ids were, by `plan`).
    let pin = if plan.needs_pin() {
        Some(crate::control::check_pin_form(
            pin.ok_or(ProvisionError::PinRequired)?,
        )?)
    } else {
        None
    };
    let mut created = None;
    for step in &plan.steps {
        match step {
            Step::CreateDir { path, mode } => std::fs::DirBuilder::new()
                .recursive(true)
                .mode(*mode)
                .create(path)
                .and_then(|()| {
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode))
                })
                .map_err(io(path))?,
            Step::SetMode { path, to, .. } => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(*to))
                    .map_err(io(path))?
            }
            Step::InitKeys if req.seal_keys => {
                let (ring, _) = KeyDir::new(&req.key_dir)
                    .init_sealed(&crate::crypto::rng(), &crate::crypto::creds::encrypt)?;
                created = Some(ring);
            }
            Step::InitKeys => {
                created = Some(KeyDir::new(&req.key_dir).init(&crate::crypto::rng())?);
            }
            Step::WriteConfig { set, pin: with_pin } => {
                let mut pairs: Vec<(&str, String)> =
                    set.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                if let (true, Some(pin)) = (*with_pin, pin) {
                    pairs.push((
                        "console_pin_hash",
                        control::hash_pin(pin, &crate::crypto::rng())?,
                    ));
                }
                let pairs: Vec<(&str, &str)> =
                    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                crate::config::set_strings(&req.config_file, &pairs)?;
            }
            Step::TrustReleaseKeys { release_keys } => {
                crate::config::set_string_list(&req.config_file, "release_keys", release_keys)?;
            }
        }
    }
    let keys = KeyDir::new(&req.key_dir);
    let sealed = keys.credential_path().exists();
    let public_key = match created {
        Some(ring) => ring.device_public_hex(),
        None => match keys.load() {
            Ok(ring) => ring.device_public_hex(),
            // Run outside the service: read the sealing key back as systemd would.
            Err(KeyError::Sealed { credential, .. }) => keys
                .with_sealing_key(crate::crypto::creds::decrypt(&credential)?)
                .load()?
                .device_public_hex(),
            Err(e) => return Err(e.into()),
        },
    };
    let drop_in = if sealed {
        Some(write_drop_in(req)?)
    } else {
        None
    };
    tracing::info!(changed = !plan.steps.is_empty(), "provisioned");
    Ok(Report {
        changed: !plan.steps.is_empty(),
        steps: plan.steps.clone(),
        enrol: enrol_command(hq_db, &req.kiosk_id, &req.store_id, &public_key),
        store_id: req.store_id.clone(),
        kiosk_id: req.kiosk_id.clone(),
        data_dir: req.data_dir.clone(),
        key_dir: req.key_dir.clone(),
        config_file: req.config_file.clone(),
        key_source: if sealed { "sealed" } else { "plain" },
        drop_in,
        public_key,
    })
}

/// Writes the unit drop-in for the sealed keys of `req` unless it is there already; a different
/// file there is refused, never overwritten.
fn write_drop_in(req: &Request) -> Result<PathBuf, ProvisionError> {
    let cred = KeyDir::new(&req.key_dir).credential_path();
    let wanted = crate::crypto::creds::unit_drop_in(&cred);
    let path = crate::crypto::creds::drop_in_path(&req.data_dir);
    match std::fs::read_to_string(&path) {
        Ok(have) if have == wanted => return Ok(path),
        Ok(_) => return Err(ProvisionError::DropInConflict { path, wanted }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&path)(e)),
    }
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DATA_DIR_MODE)
            .create(dir)
            .map_err(io(dir))?;
    }
    std::fs::write(&path, wanted).map_err(io(&path))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn req() -> Request {
        Request {
            store_id: "s1".into(),
            kiosk_id: "k1".into(),
            data_dir: PathBuf::from("/d"),
            key_dir: PathBuf::from("/d/keys"),
            config_file: PathBuf::from("/d/kiosk.toml"),
            release_keys: Vec::new(),
            hq_public_key: None,
            seal_keys: false,
        }
    }

    fn provisioned() -> Observed {
        Observed {
            data_dir_mode: Some(0o700),
            key_dir_mode: Some(0o700),
            keys: true,
            store_id: Some("s1".into()),
            kiosk_id: Some("k1".into()),
            data_dir: Some("/d".into()),
            pin_hash: Some(control::hash_pin("246810", &crate::crypto::rng()).unwrap()),
            hq_public_key: None,
            release_keys: Vec::new(),
        }
    }

    #[test]
    fn empty_dir_gets_everything_in_order() {
        let p = plan(&req(), &Observed::default(), None).unwrap();
        assert_eq!(
            p.steps,
            vec![
                Step::CreateDir {
                    path: "/d".into(),
                    mode: 0o700
                },
                Step::CreateDir {
                    path: "/d/keys".into(),
                    mode: 0o700
                },
                Step::InitKeys,
                Step::WriteConfig {
                    set: vec![
                        ("store_id".into(), "s1".into()),
                        ("kiosk_id".into(), "k1".into()),
                        ("data_dir".into(), "/d".into()),
                    ],
                    pin: true
                },
            ]
        );
        assert!(p.needs_pin());
    }

    #[test]
    fn provisioned_dir_plans_nothing() {
        let p = plan(&req(), &provisioned(), None).unwrap();
        assert!(p.steps.is_empty());
        assert!(!p.needs_pin());
        // The same PIN from a file is accepted and still changes nothing.
        assert!(plan(&req(), &provisioned(), Some("246810\n"))
            .unwrap()
            .steps
            .is_empty());
    }

    #[test]
    fn other_ids_on_a_provisioned_dir_are_refused() {
        let mut r = req();
        r.kiosk_id = "k2".into();
        let err = plan(&r, &provisioned(), None).unwrap_err().to_string();
        assert!(
            err.contains("kiosk_id") && err.contains("\"k1\"") && err.contains("\"k2\""),
            "{err}"
        );
        // Without keys the dir is not provisioned: a template's ids are replaced.
        let template = Observed {
            keys: false,
            ..provisioned()
        };
        let p = plan(&r, &template, None).unwrap();
        assert!(p.steps.contains(&Step::InitKeys));
        assert!(p.steps.contains(&Step::WriteConfig {
            set: vec![("kiosk_id".into(), "k2".into())],
            pin: false
        }));
    }

    #[test]
    fn a_different_pin_is_refused_and_modes_are_repaired() {
        assert!(matches!(
            plan(&req(), &provisioned(), Some("135790")),
            Err(ProvisionError::PinMismatch(_))
        ));
        let loose = Observed {
            data_dir_mode: Some(0o755),
            ..provisioned()
        };
        assert_eq!(
            plan(&req(), &loose, None).unwrap().steps,
            vec![Step::SetMode {
                path: "/d".into(),
                from: 0o755,
                to: 0o700
            }]
        );
    }

    #[test]
    fn release_keys_are_added_once() {
        let a = ReleasePublicKey::parse(&"ab".repeat(32)).unwrap();
        let b = ReleasePublicKey::parse(&"cd".repeat(32)).unwrap();
        let r = Request {
            release_keys: vec![a, b, a],
            ..req()
        };
        let mut seen = Observed {
            release_keys: vec!["AB".repeat(32)],
            ..provisioned()
        };
        let p = plan(&r, &seen, None).unwrap();
        assert_eq!(
            p.steps,
            vec![Step::TrustReleaseKeys {
                release_keys: vec!["AB".repeat(32), "cd".repeat(32)]
            }]
        );
        assert!(!p.needs_pin());
        seen.release_keys.push("cd".repeat(32));
        assert!(plan(&r, &seen, None).unwrap().steps.is_empty());
    }

    #[test]
    fn hq_public_key_is_written_lower_case_when_new_or_different_and_checked() {
        let r = Request {
            hq_public_key: Some("AB".repeat(32)),
            ..req()
        };
        let write = |key: String| {
            vec![Step::WriteConfig {
                set: vec![("hq_public_key".into(), key)],
                pin: false,
            }]
        };
        assert_eq!(
            plan(&r, &provisioned(), None).unwrap().steps,
            write("ab".repeat(32))
        );
        let mut seen = Observed {
            hq_public_key: Some("cd".repeat(32)),
            ..provisioned()
        };
        assert_eq!(plan(&r, &seen, None).unwrap().steps, write("ab".repeat(32)));
        seen.hq_public_key = Some("ab".repeat(32));
        assert!(plan(&r, &seen, None).unwrap().steps.is_empty());
        // Without the flag the file's key stays.
        assert!(plan(&req(), &seen, None).unwrap().steps.is_empty());
        let bad = Request {
            hq_public_key: Some("abc".into()),
            ..req()
        };
        let err = plan(&bad, &provisioned(), None).unwrap_err().to_string();
        assert!(err.contains("hq_public_key"), "{err}");
    }

    #[test]
    fn modes_match_the_tmpfiles_entry() {
        let text = include_str!("../firmware-config/shelftalk.tmpfiles.conf");
        let modes: Vec<u32> = text
            .lines()
            .filter(|l| l.starts_with("d "))
            .map(|l| u32::from_str_radix(l.split_whitespace().nth(2).unwrap(), 8).unwrap())
            .collect();
        assert_eq!(modes, vec![DATA_DIR_MODE, KEY_DIR_MODE]);
    }

    #[test]
    fn enrol_line_is_the_hq_command() {
        assert_eq!(
            enrol_command("hq.db", "k1", "s1", "ab12"),
            "shelftalk hq enroll --db hq.db --kiosk k1 --store s1 --pubkey ab12"
        );
    }
}
