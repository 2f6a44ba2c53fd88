//! The config file (`shelftalk::config::Config::load`: TOML → defaults merged → environment →
//! `validate`) and its in-place editor (`set_strings`, `set_string_list`, what `provision` and
//! `console set-pin` use).
//!
//! Input: the config file's bytes, optionally followed by a NUL byte and environment lines
//! `KEY=value` (the harness prefixes `SHELFTALK_`).
//!
//! Invariants:
//! - loading never panics; a config that loads is valid, and its derived values (key dir, rules,
//!   zone, release keys, the redacted form) are consistent with it;
//! - written back as TOML, a loaded config loads again as the same config;
//! - an edit of one key either fails and leaves the file as it was, or the file loads with that
//!   key set and, when the file loaded before, every other key as it was.

use std::path::{Path, PathBuf};

use shelftalk::config::{self, Config};

pub struct Files {
    _dir: tempfile::TempDir,
    dir: PathBuf,
}

impl Files {
    pub fn new() -> Self {
        let dir = crate::import::scratch_dir();
        let path = dir.path().to_path_buf();
        Self {
            _dir: dir,
            dir: path,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Default for Files {
    fn default() -> Self {
        Self::new()
    }
}

/// A release public key (64 hex digits) for the list edit.
const RELEASE_KEY: &str = "df48df7b8d3f8df0e2c77b68e038fb3da9f0ab8568e476323464d2e423f3d213";

fn load(path: &Path, env: &[(String, String)]) -> Option<Config> {
    Config::load(Some(path), env.to_vec()).ok()
}

fn check_loaded(config: &Config) {
    config.validate().expect("a loaded config is valid");
    let redacted = config.redacted();
    assert!(redacted
        .console_pin_hash
        .as_deref()
        .is_none_or(|h| h == "***"));
    assert_eq!(
        Config {
            console_pin_hash: config.console_pin_hash.clone(),
            ..redacted
        },
        *config,
        "redaction changed more than the PIN hash"
    );
    assert_eq!(
        config.trusted_release_keys().len(),
        config.release_keys.len(),
        "a validated release key does not parse"
    );
    let rules = config.rules(crate::NOW);
    assert!(rules.max_price.0 > 0, "max_price gives no valid price");
    assert_eq!(rules.cards, config.scan.cards);
    let _ = config.store_zone();
    let _ = config.copy_cache_ttl();
    assert!(config.key_dir().starts_with(&config.data_dir) || config.key_dir.is_some());
}

/// The config target.
pub fn check_config(files: &Files, data: &[u8]) {
    let (file, env) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let env: Vec<(String, String)> = String::from_utf8_lossy(env)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (format!("{}{k}", config::ENV_PREFIX), v.to_string()))
        .collect();
    let path = files.path("kiosk.toml");
    std::fs::write(&path, file).expect("write");
    let loaded = load(&path, &env);
    if let Some(config) = &loaded {
        check_loaded(config);
        let text = toml::to_string(config).expect("a loaded config serialises");
        let again_path = files.path("again.toml");
        std::fs::write(&again_path, &text).expect("write");
        let again = Config::load(Some(&again_path), Vec::new())
            .unwrap_or_else(|e| panic!("a loaded config, written out, does not load: {e}\n{text}"));
        assert_eq!(&again, config, "a config written out loads differently");
    }
    // The editor works on the file alone (no environment).
    let before = if env.is_empty() {
        loaded
    } else {
        load(&path, &[])
    };
    check_edit(
        files,
        file,
        before.as_ref(),
        |p| config::set_strings(p, &[("kiosk_id", "kiosk-fuzz")]),
        |c| Config {
            kiosk_id: "kiosk-fuzz".into(),
            ..c.clone()
        },
    );
    check_edit(
        files,
        file,
        before.as_ref(),
        |p| config::set_string_list(p, "release_keys", &[RELEASE_KEY.to_string()]),
        |c| Config {
            release_keys: vec![RELEASE_KEY.to_string()],
            ..c.clone()
        },
    );
}

fn check_edit(
    files: &Files,
    file: &[u8],
    before: Option<&Config>,
    edit: impl Fn(&Path) -> Result<(), config::ConfigError>,
    expect: impl Fn(&Config) -> Config,
) {
    let path = files.path("edit.toml");
    let _ = std::fs::remove_file(path.with_extension("toml.tmp"));
    std::fs::write(&path, file).expect("write");
    match edit(&path) {
        Err(_) => {
            assert_eq!(
                std::fs::read(&path).expect("read"),
                file,
                "a failed edit changed the file"
            );
            assert!(
                !path.with_extension("toml.tmp").exists(),
                "a failed edit left its temp file"
            );
        }
        Ok(()) => {
            let after = Config::load(Some(&path), Vec::new())
                .unwrap_or_else(|e| panic!("an edited file does not load: {e}"));
            match before {
                Some(before) => assert_eq!(after, expect(before), "the edit changed other keys"),
                None => {
                    let want = expect(&after);
                    assert_eq!(after, want, "the edited key is not set");
                }
            }
        }
    }
}
