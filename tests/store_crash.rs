//! Crash safety of the store: the real binary is killed with SIGKILL during catalog and event
//! imports and during `keys rotate`, each time at a point it announced itself
//! (`SHELFTALK_FAULT_PAUSE`, `store::fault`). After every kill the database opens and passes
//! `PRAGMA integrity_check`; it holds the whole import or none of it (every table's row count
//! equals the state before the import or after a clean import of the same file elsewhere); and
//! after a killed rotation the key files on disk open every shopper's data key — all wrapped
//! under one KEK, no key lost — and every profile opens with all its events.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod crash_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use shelftalk::config::Config;
use shelftalk::crypto::keyfiles::{KeyDir, Keyring};
use shelftalk::profile::{self, OpenShopper, Vault};
use shelftalk::store::shoppers::{self, ShopperRecord};
use shelftalk::store::Store;

use crash_support::{integrity, must_kill_at};

fn demo(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("demo")
        .join(file)
}

/// The CLI on `data`, run outside the repository (no `firmware-config/kiosk.toml` picked up).
fn cli(data: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shelftalk"));
    c.current_dir(data.parent().unwrap())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("RUST_LOG");
    c
}

fn ok(mut cmd: Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn config(data: &Path) -> Config {
    Config {
        data_dir: data.to_path_buf(),
        ..Config::default()
    }
}

/// A kiosk data dir with keys and an empty, migrated database.
fn fresh(data: &Path) -> Config {
    ok(cli(data, &["keys", "init"]));
    let config = config(data);
    drop(Store::open(&config.db_path()).unwrap());
    config
}

/// Row count of every table: what an import changes.
fn snapshot(db: &Path) -> BTreeMap<String, u64> {
    let c = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|t| {
            let n = c
                .query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))
                .unwrap();
            (t, n)
        })
        .collect()
}

/// The database opens (the product's own open path, migrations and all) and is sound.
fn sound(config: &Config) {
    assert_eq!(integrity(&config.db_path()), "ok");
    drop(Store::open(&config.db_path()).unwrap());
}

/// Opens every shopper's data key with `keys` and every event row with it; returns
/// (shoppers, events, the KEK ids the data keys are wrapped under).
fn open_all(conn: &rusqlite::Connection, keys: &Keyring) -> (usize, usize, Vec<u32>) {
    let mut events = 0;
    let mut keks = Vec::new();
    let wrapped = shoppers::wrapped_keys(conn).unwrap();
    for (id, key) in &wrapped {
        let kek_id = key.kek_id().unwrap();
        if !keks.contains(&kek_id) {
            keks.push(kek_id);
        }
        let kek = keys
            .kek_by_id(kek_id)
            .unwrap_or_else(|| panic!("no key file holds KEK {kek_id}: a key is lost"));
        let shopper = OpenShopper {
            record: ShopperRecord {
                id: *id,
                wrapped_key: key.clone(),
                consent: Default::default(),
                created_at: 0,
                last_seen: 0,
            },
            key: kek.unwrap_key(id, key).unwrap(),
        };
        events += profile::open_events(conn, &shopper).unwrap().len();
    }
    (wrapped.len(), events, keks)
}

#[derive(Clone, Copy)]
enum Kind {
    Catalog,
    Events,
}

#[test]
fn sigkill_during_imports_and_key_rotation_leaves_a_sound_store() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(18);
    // The demo events four times over, each copy in sessions of its own (so every row is new):
    // over 35,000 rows, more than the 25,000 after which an import used to commit a first chunk.
    let events = tmp.path().join("events.csv");
    let demo_events = std::fs::read_to_string(demo("events.csv")).unwrap();
    let mut lines = demo_events.lines();
    let mut big = format!("{}\n", lines.next().unwrap());
    let body: Vec<&str> = lines.collect();
    for copy in 0..4 {
        for line in &body {
            // The last column is the session.
            big.push_str(&format!("{line}c{copy}\n"));
        }
    }
    std::fs::write(&events, big).unwrap();
    let files = [
        (Kind::Catalog, "catalog", demo("catalog.csv")),
        (Kind::Events, "events", events),
    ];
    let rows = |path: &Path| std::fs::read_to_string(path).unwrap().lines().count() as u64 - 1;

    // The whole imports, done cleanly elsewhere: what "all of it" means.
    let reference = fresh(&tmp.path().join("reference"));
    let mut whole = Vec::new();
    for (_, kind, path) in &files {
        ok(cli(
            &reference.data_dir,
            &["import", kind, path.to_str().unwrap()],
        ));
        whole.push(snapshot(&reference.db_path()));
    }

    let config = fresh(&tmp.path().join("kiosk"));
    let data = config.data_dir.clone();
    let db = config.db_path();
    let mut table: Vec<(String, usize, String)> = Vec::new();
    for (i, (which, kind, path)) in files.iter().enumerate() {
        let none = snapshot(&db);
        assert_ne!(none, whole[i]);
        let import = || cli(&data, &["import", kind, path.to_str().unwrap()]);
        // Killed half-way (at a random row) and just before the commit: none of it.
        let n_rows = rows(path);
        let mut kills = 0;
        for round in 0..10 {
            let (point, nth) = if round < 4 {
                ("import.row", rng.random_range(1..=n_rows))
            } else if round < 8 {
                // Past the first 25,000 rows where the file has them (see above).
                ("import.row", rng.random_range(n_rows.min(25_001)..=n_rows))
            } else {
                ("import.commit", 1)
            };
            must_kill_at(import(), point, nth);
            kills += 1;
            sound(&config);
            assert_eq!(snapshot(&db), none, "{kind} killed at {point} #{nth}");
        }
        table.push((
            format!("{kind} import, during rows / before commit (`import.row`, `import.commit`)"),
            kills,
            "none of it".into(),
        ));
        // Killed just after the commit: all of it.
        must_kill_at(import(), "import.committed", 1);
        sound(&config);
        assert_eq!(snapshot(&db), whole[i], "{kind} killed after its commit");
        table.push((
            format!("{kind} import, after commit (`import.committed`)"),
            1,
            "all of it".into(),
        ));
        // Importing it again changes nothing.
        ok(import());
        assert_eq!(snapshot(&db), whole[i], "{kind} imported again");
        if let Kind::Events = which {
            assert!(whole[i]["shoppers"] > 0);
        }
    }

    // Key rotation, killed at each of its steps.
    let before = {
        let vault = Vault::open(&config).unwrap();
        open_all(vault.store.conn(), &vault.keys())
    };
    assert!(before.0 > 0 && before.1 > 0);
    let rotate = || cli(&data, &["keys", "rotate", "--json"]);
    for point in ["rotate.begun", "rotate.rewrapped", "rotate.committed"] {
        let kills = 4;
        for _ in 0..kills {
            must_kill_at(rotate(), point, 1);
            sound(&config);
            // As the files on disk stand, before anything settles the rotation: every data key
            // opens, and all are wrapped under one KEK (the re-wrap is whole or none).
            let on_disk = KeyDir::new(config.key_dir()).load().unwrap();
            assert!(on_disk.next_kek.is_some(), "{point}: kek-next.key present");
            let conn = rusqlite::Connection::open(&db).unwrap();
            let (n, events, keks) = open_all(&conn, &on_disk);
            assert_eq!((n, events), (before.0, before.1), "{point}");
            assert_eq!(keks.len(), 1, "{point}: one KEK for all data keys");
            // The product's open settles it, and every profile opens with what it left.
            let vault = Vault::open(&config).unwrap();
            let keys = vault.keys();
            assert!(keys.next_kek.is_none(), "{point}: settled");
            let (n, events, keks) = open_all(vault.store.conn(), &keys);
            assert_eq!((n, events), (before.0, before.1), "{point}");
            assert_eq!(keks, vec![keys.kek.id()], "{point}");
        }
        table.push((
            format!("`keys rotate` at `{point}`"),
            kills,
            "every profile opens".into(),
        ));
    }
    ok(rotate());
    let vault = Vault::open(&config).unwrap();
    let (n, events, _) = open_all(vault.store.conn(), &vault.keys());
    assert_eq!((n, events), (before.0, before.1));
    sound(&config);

    eprintln!("store crash test: SIGKILLs of the real binary");
    eprintln!("| killed | kills | after the kill (integrity_check ok every time) |");
    eprintln!("|---|---|---|");
    for (what, kills, outcome) in &table {
        eprintln!("| {what} | {kills} | {outcome} |");
    }
    eprintln!(
        "{} kills; {} shoppers, {} sealed events opened after each rotation kill; {:.1} s",
        table.iter().map(|t| t.1).sum::<usize>(),
        before.0,
        before.1,
        started.elapsed().as_secs_f64()
    );
}
