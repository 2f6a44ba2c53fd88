//! Issue 17 part 2: a provisioned kiosk's data dir, copied without its credentials, opens no
//! profile. Provisions with the real `systemd-creds` (skipped, saying so, where it cannot run),
//! enrols a shopper with the credential decrypted as systemd would hand it to the service, then
//! copies the whole data dir (keys, sealed credential, database) elsewhere: without
//! `$CREDENTIALS_DIRECTORY` nothing opens; with it, the shopper does.
//!
//! One test in this binary: it sets `CREDENTIALS_DIRECTORY` in its own process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use shelftalk::config::Config;
use shelftalk::crypto::creds;
use shelftalk::crypto::keyfiles::{KeyDir, KeyError, CREDENTIALS_ENV, SEALING_CREDENTIAL};
use shelftalk::profile::{ProfileError, Vault};
use shelftalk::provision::{self, Request};
use shelftalk::store::shoppers::Consent;
use shelftalk::vocab::LoyaltyNumber;

const NOW: i64 = 1_790_000_000;
const PIN: &str = "246810";

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// What systemd does for `LoadCredentialEncrypted=`: decrypts the credential into a private
/// directory, read-only for the service.
fn service_credentials(cred: &Path, dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let out = dir.join(SEALING_CREDENTIAL);
    let status = Command::new("systemd-creds")
        .args(["decrypt", &format!("--name={SEALING_CREDENTIAL}")])
        .arg(cred)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "systemd-creds decrypt: {status}");
    fs::set_permissions(&out, fs::Permissions::from_mode(0o400)).unwrap();
    dir.to_path_buf()
}

/// The error opening the vault of `config`, which must fail.
fn open_error(config: &Config) -> ProfileError {
    match Vault::open(config) {
        Ok(_) => panic!("the vault of {} opened", config.data_dir.display()),
        Err(e) => e,
    }
}

fn is_sealed_error(err: &ProfileError) -> bool {
    err.to_string().contains("sealed to this kiosk")
}

#[test]
fn a_copied_data_dir_without_the_credentials_opens_no_profile() {
    if !creds::available() {
        eprintln!("SKIPPED: systemd-creds cannot run here (or SHELFTALK_NO_SYSTEMD_CREDS is set)");
        return;
    }
    std::env::remove_var(CREDENTIALS_ENV);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("kiosk/data");
    let req = Request {
        store_id: "s1".into(),
        kiosk_id: "k1".into(),
        data_dir: data.clone(),
        key_dir: data.join("keys"),
        config_file: data.join("kiosk.toml"),
        release_keys: Vec::new(),
        hq_public_key: None,
        seal_keys: true,
    };
    let seen = provision::observe(&req).unwrap();
    let plan = provision::plan(&req, &seen, Some(PIN)).unwrap();
    let report = provision::apply(&req, &plan, Some(PIN), "hq.db").unwrap();
    assert_eq!(report.key_source, "sealed");
    assert_eq!(report.public_key.len(), 64);

    // The card holds no key in the clear: every key file is sealed, the sealing key is a
    // systemd credential, and the drop-in loads it.
    let keys = KeyDir::new(&req.key_dir);
    let cred = keys.credential_path();
    assert!(cred.is_file());
    for name in ["kek.key", "pepper.key", "device.pk8"] {
        let bytes = fs::read(req.key_dir.join(name)).unwrap();
        assert!(bytes.starts_with(b"STSEAL01"), "{name} is not sealed");
    }
    let drop_in = fs::read_to_string(report.drop_in.as_ref().unwrap()).unwrap();
    assert!(
        drop_in.contains(&format!(
            "LoadCredentialEncrypted={SEALING_CREDENTIAL}:{}",
            cred.display()
        )),
        "{drop_in}"
    );
    // Provisioning again changes nothing and still reads the public key (as root, through
    // systemd-creds).
    let seen = provision::observe(&req).unwrap();
    let again = provision::plan(&req, &seen, None).unwrap();
    assert!(again.steps.is_empty(), "{:?}", again.steps);
    let again = provision::apply(&req, &again, None, "hq.db").unwrap();
    assert_eq!(again.public_key, report.public_key);

    // The kiosk under systemd: the credential decrypted into $CREDENTIALS_DIRECTORY.
    let svc = service_credentials(&cred, &tmp.path().join("run-credentials"));
    std::env::set_var(CREDENTIALS_ENV, &svc);
    let config = Config {
        data_dir: data.clone(),
        ..Config::default()
    };
    let loyalty = LoyaltyNumber::parse("4006381333931").unwrap();
    {
        let mut vault = Vault::open(&config).unwrap();
        vault
            .enroll(
                &loyalty,
                Consent {
                    personalise: true,
                    analytics: false,
                },
                false,
                NOW,
            )
            .unwrap();
        assert!(vault.find(&loyalty).unwrap().is_some());
    }

    // The stolen copy: the whole data dir (keys, credential file, database), no credentials.
    let stolen = tmp.path().join("thief/data");
    copy_tree(&data, &stolen);
    let stolen_config = Config {
        data_dir: stolen.clone(),
        ..Config::default()
    };
    std::env::remove_var(CREDENTIALS_ENV);
    let err = open_error(&stolen_config);
    assert!(is_sealed_error(&err), "{err}");
    assert!(matches!(
        KeyDir::new(stolen.join("keys")).load(),
        Err(KeyError::Sealed { .. })
    ));
    // A credentials directory without this kiosk's credential does not help either.
    let empty = tmp.path().join("empty-credentials");
    fs::create_dir_all(&empty).unwrap();
    std::env::set_var(CREDENTIALS_ENV, &empty);
    let err = open_error(&stolen_config);
    assert!(is_sealed_error(&err), "{err}");
    // Nor does the original kiosk's own database with the copy's keys missing the seal.
    std::env::remove_var(CREDENTIALS_ENV);
    assert!(Vault::open(&config).is_err());

    // With the credential systemd hands the service, the copy opens the shopper: the secret is
    // the credential, not anything on the data partition.
    std::env::set_var(CREDENTIALS_ENV, &svc);
    let vault = Vault::open(&stolen_config).unwrap();
    assert!(vault.find(&loyalty).unwrap().is_some());
    std::env::remove_var(CREDENTIALS_ENV);
}
