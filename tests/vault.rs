//! Erasure, key rotation and the retention sweep against a real SQLite file and real key files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use shelftalk::config::{Config, EraseRotation};
use shelftalk::crypto::keyfiles::KeyDir;
use shelftalk::event::{Event, EventKind};
use shelftalk::profile::{self, ProfileError, Vault};
use shelftalk::store::shoppers::{self, Consent};
use shelftalk::store::Store;
use shelftalk::vocab::LoyaltyNumber;

const NOW: i64 = 1_790_000_000;
const ALL: Consent = Consent {
    personalise: true,
    analytics: true,
};

fn setup(dir: &Path, rotation: EraseRotation) -> (Config, Vault) {
    let config = Config {
        data_dir: dir.join("data"),
        erase_rotation: rotation,
        ..Config::default()
    };
    KeyDir::new(config.key_dir())
        .init(&shelftalk::crypto::rng())
        .unwrap();
    let vault = Vault::open(&config).unwrap();
    (config, vault)
}

/// A loyalty number as the scanner reads it.
fn num(text: &str) -> LoyaltyNumber {
    LoyaltyNumber::parse(text).unwrap()
}

fn add_events(vault: &mut Vault, loyalty: &str, n: usize) {
    vault.enroll(&num(loyalty), ALL, false, NOW).unwrap();
    let shopper = vault.find(&num(loyalty)).unwrap().unwrap();
    for i in 0..n {
        let e = Event {
            at: NOW - i as i64,
            kind: EventKind::View,
            sku: format!("SKU{i}"),
            quantity: 1,
            price: None,
            session: None,
        };
        profile::store_event(vault.store.conn(), &shopper, &e, None, vault.rng()).unwrap();
    }
}

fn copy_db(config: &Config, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let from = format!("{}{suffix}", config.db_path().display());
        if Path::new(&from).exists() {
            fs::copy(&from, to.join(format!("shelftalk.db{suffix}"))).unwrap();
        }
    }
}

fn copy_keys(config: &Config, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(config.key_dir()).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn erasure_shreds_the_shopper_and_old_copies_become_useless() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, mut vault) = setup(tmp.path(), EraseRotation::Immediate);
    add_events(&mut vault, "LC-ALICE-1", 5);
    add_events(&mut vault, "LC-BOB-2", 3);
    vault.store.checkpoint().unwrap();
    let before = tmp.path().join("before");
    copy_db(&config, &before);

    let report = vault.erase(&num("LC-ALICE-1"), NOW).unwrap();
    assert_eq!(report.rows_deleted, 5);
    assert!(report.rotation.is_some());
    assert!(vault.find(&num("LC-ALICE-1")).unwrap().is_none());
    let bob = vault.find(&num("LC-BOB-2")).unwrap().unwrap();
    assert_eq!(
        profile::open_events(vault.store.conn(), &bob)
            .unwrap()
            .len(),
        3
    );
    let (shopper_count, rows) = shoppers::counts(vault.store.conn()).unwrap();
    assert_eq!((shopper_count, rows), (1, 3));

    // The copy taken before erasure still holds Alice's wrapped key and rows, but the key files
    // that remain cannot open them.
    let old = Store::open(&before.join("shelftalk.db")).unwrap();
    let token = vault.token(&num("LC-ALICE-1"));
    let record = shoppers::find(old.conn(), &token)
        .unwrap()
        .expect("copy still has the row");
    let err = profile::unwrap_key(&vault.keys(), &record).unwrap_err();
    assert!(matches!(err, ProfileError::Crypto(_)), "{err}");
    assert!(
        vault.erase(&num("LC-ALICE-1"), NOW).is_err(),
        "second erase reports unknown shopper"
    );
}

#[test]
fn rotation_rewraps_every_key_and_retires_the_old_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, mut vault) = setup(tmp.path(), EraseRotation::Immediate);
    for i in 0..20 {
        add_events(&mut vault, &format!("LC{i:08}"), 2);
    }
    let sealed_before: Vec<Vec<u8>> = vault
        .store
        .conn()
        .prepare("SELECT sealed FROM shopper_rows ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let old_keys = tmp.path().join("old-keys");
    copy_keys(&config, &old_keys);

    let r = vault.rotate().unwrap();
    assert_eq!((r.from_kek, r.to_kek, r.rewrapped), (1, 2, 20));
    for i in 0..20 {
        let s = vault.find(&num(&format!("LC{i:08}"))).unwrap().unwrap();
        assert_eq!(
            profile::open_events(vault.store.conn(), &s).unwrap().len(),
            2
        );
    }
    let sealed_after: Vec<Vec<u8>> = vault
        .store
        .conn()
        .prepare("SELECT sealed FROM shopper_rows ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(sealed_before, sealed_after, "sealed rows are not rewritten");

    let old = KeyDir::new(&old_keys).load().unwrap();
    for (id, wrapped) in shoppers::wrapped_keys(vault.store.conn()).unwrap() {
        assert!(old.kek.unwrap_key(&id, &wrapped).is_err());
    }
    assert!(!config.key_dir().join("kek-next.key").exists());
}

#[test]
fn interrupted_rotation_leaves_the_store_readable() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, mut vault) = setup(tmp.path(), EraseRotation::Immediate);
    add_events(&mut vault, "LC1", 1);
    add_events(&mut vault, "LC2", 1);
    let key_dir = KeyDir::new(config.key_dir());

    // Crash after writing kek-next.key, before the re-wrap transaction.
    let lock = key_dir.lock_exclusive().unwrap();
    key_dir
        .begin_rotation(&lock, &vault.keys().kek, vault.rng())
        .unwrap();
    drop((lock, vault));
    let vault = Vault::open(&config).unwrap();
    assert!(vault.find(&num("LC1")).unwrap().is_some());
    assert!(vault.keys().next_kek.is_none(), "abandoned on open");
    assert_eq!(vault.keys().kek.id(), 1);

    // Crash after the re-wrap committed, before kek-next.key replaced kek.key.
    let lock = key_dir.lock_exclusive().unwrap();
    let next = key_dir
        .begin_rotation(&lock, &vault.keys().kek, vault.rng())
        .unwrap();
    let mut vault = vault;
    {
        let rng = shelftalk::crypto::rng();
        let keys = vault.keys();
        let tx = vault.store.conn_mut().transaction().unwrap();
        profile::rewrap_all(&tx, &keys, &next, &rng).unwrap();
        tx.commit().unwrap();
    }
    drop((lock, vault));
    let vault = Vault::open(&config).unwrap();
    assert_eq!(vault.keys().kek.id(), 2, "completed on open");
    assert!(vault.find(&num("LC1")).unwrap().is_some());
    assert!(vault.find(&num("LC2")).unwrap().is_some());
}

#[test]
fn daily_rotation_rotates_once_a_day() {
    let tmp = tempfile::tempdir().unwrap();
    let (_config, mut vault) = setup(tmp.path(), EraseRotation::Daily);
    add_events(&mut vault, "LC1", 1);
    add_events(&mut vault, "LC2", 1);
    let first = vault.erase(&num("LC1"), NOW).unwrap();
    assert!(first.rotation.is_some());
    let second = vault.erase(&num("LC2"), NOW + 60).unwrap();
    assert!(second.rotation.is_none() && second.rotation_deferred);
    // The next day's sweep performs the deferred rotation.
    let sweep = vault.sweep(NOW + 86_400, 90).unwrap();
    assert_eq!(sweep.rotation.unwrap().to_kek, 3);
}

#[test]
fn sweep_erases_shoppers_unseen_for_the_retention_period() {
    let tmp = tempfile::tempdir().unwrap();
    let (_config, mut vault) = setup(tmp.path(), EraseRotation::Immediate);
    vault
        .enroll(&num("LC-OLD"), ALL, false, NOW - 100 * 86_400)
        .unwrap();
    vault
        .enroll(&num("LC-NEW"), ALL, false, NOW - 10 * 86_400)
        .unwrap();
    let r = vault.sweep(NOW, 90).unwrap();
    assert_eq!(r.erased, 1);
    assert!(vault.find(&num("LC-OLD")).unwrap().is_none());
    assert!(vault.find(&num("LC-NEW")).unwrap().is_some());
    let again = vault.sweep(NOW, 90).unwrap();
    assert_eq!(again.erased, 0);
    assert!(again.rotation.is_none());
}

#[test]
fn a_loyalty_code_typed_in_lower_case_finds_its_shopper() {
    let tmp = tempfile::tempdir().unwrap();
    let (_config, mut vault) = setup(tmp.path(), EraseRotation::Immediate);
    vault.enroll(&num("LC24888766"), ALL, false, NOW).unwrap();
    let typed = vault.find(&num("  lc24888766\n")).unwrap();
    assert!(
        typed.is_some(),
        "lower case and spaces around find the shopper"
    );
    assert!(vault.find(&num("LC24888767")).unwrap().is_none());
}
