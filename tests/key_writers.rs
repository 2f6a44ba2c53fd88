//! One writer of keys at a time (issue 17): rotations from threads, from processes and from the
//! CLI while a daemon runs, on real key files and a real SQLite file. No key is lost (every data
//! key still opens, also those wrapped while others rotated), no KEK id is made twice (ids
//! unique and consecutive; a writer with a stale keyring is refused), and the running daemon
//! keeps opening a known shopper — personal picks, not popular ones — without a restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use shelftalk::audit::AuditLog;
use shelftalk::config::Config;
use shelftalk::control::{Request, Response};
use shelftalk::crypto::keyfiles::{KeyDir, KeyError};
use shelftalk::daemon::kiosk::Effects;
use shelftalk::daemon::{demo, socket_path, Daemon};
use shelftalk::event::{Event, EventKind};
use shelftalk::profile::{self, ProfileError, RotationReport, Vault};
use shelftalk::store::shoppers::{self, Consent};
use shelftalk::ui::kiosk::{Effect, Input, SessionId};
use shelftalk::ui::Secret;
use shelftalk::vocab::LoyaltyNumber;

mod common;

const NOW: i64 = 1_790_000_000;
const ALL: Consent = Consent {
    personalise: true,
    analytics: true,
};

fn num(text: &str) -> LoyaltyNumber {
    LoyaltyNumber::parse(text).unwrap()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real CLI on `data` (with `config` when given), no model.
fn cli(data: &Path, config: Option<&Path>, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shelftalk"));
    cmd.current_dir(root())
        .env("SHELFTALK_MODEL_PATH", data.join("no-model.gguf"));
    if let Some(file) = config {
        cmd.arg("--config").arg(file);
    }
    cmd.arg("--data-dir").arg(data).args(args);
    cmd
}

fn json(out: &Output, what: &str) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A `keys rotate --json` answer as (done_by, report).
fn rotation(out: &Output) -> (String, RotationReport) {
    let v = json(out, "keys rotate");
    let by = v["done_by"].as_str().unwrap().to_string();
    (by, serde_json::from_value(v).unwrap())
}

/// Every report moved the KEK one step, and together they made the ids `first..=last` once each.
fn assert_consecutive(reports: &[RotationReport], first: u32, last: u32) {
    for r in reports {
        assert_eq!(r.to_kek, r.from_kek + 1, "{r:?}");
    }
    let mut made: Vec<u32> = reports.iter().map(|r| r.to_kek).collect();
    made.sort_unstable();
    assert_eq!(
        made,
        (first..=last).collect::<Vec<_>>(),
        "ids made: {made:?}"
    );
}

/// Every stored data key is wrapped under `kek` and opens with the key files on disk, and each
/// of `loyalty` finds its shopper with `events` events each.
fn assert_every_key_opens(config: &Config, kek: u32, loyalty: &[(String, usize)]) {
    let keys = KeyDir::new(config.key_dir()).load().unwrap();
    assert_eq!(keys.kek_ids().current, kek);
    assert!(keys.next_kek.is_none(), "no rotation left half done");
    let vault = Vault::open(config).unwrap();
    let wrapped = shoppers::wrapped_keys(vault.store.conn()).unwrap();
    assert_eq!(
        shoppers::count_by_kek(vault.store.conn(), kek).unwrap(),
        wrapped.len() as u64
    );
    for (id, key) in &wrapped {
        keys.kek.unwrap_key(id, key).unwrap();
    }
    for (code, events) in loyalty {
        let shopper = vault.find(&num(code)).unwrap().expect(code);
        let opened = profile::open_events(vault.store.conn(), &shopper).unwrap();
        assert_eq!(opened.len(), *events, "{code}");
    }
}

fn setup(dir: &Path, shoppers: usize) -> (Config, Vec<(String, usize)>) {
    let config = Config {
        data_dir: dir.join("data"),
        experiment: shelftalk::experiment::ExperimentConfig::off(),
        ..Config::default()
    };
    KeyDir::new(config.key_dir())
        .init(&shelftalk::crypto::rng())
        .unwrap();
    let mut vault = Vault::open(&config).unwrap();
    let mut loyalty = Vec::new();
    for i in 0..shoppers {
        let code = format!("LC{i:08}");
        vault.enroll(&num(&code), ALL, false, NOW).unwrap();
        let shopper = vault.find(&num(&code)).unwrap().unwrap();
        for j in 0..2 {
            let e = Event {
                at: NOW - j,
                kind: EventKind::View,
                sku: format!("SKU{j}"),
                quantity: 1,
                price: None,
                session: None,
            };
            profile::store_event(vault.store.conn(), &shopper, &e, None, vault.rng()).unwrap();
        }
        loyalty.push((code, 2));
    }
    (config, loyalty)
}

#[test]
fn concurrent_rotations_in_threads_and_processes_lose_no_key_and_repeat_no_id() {
    const THREADS: usize = 4;
    const EACH: usize = 3;
    const PROCESSES: usize = 4;
    const NEWCOMERS: usize = 8;
    let tmp = tempfile::tempdir().unwrap();
    let (config, mut loyalty) = setup(tmp.path(), 12);

    // Every vault is opened before anyone rotates: all but the first writer start stale. One
    // more vault enrols shoppers meanwhile, wrapping new data keys while the KEK changes.
    let start = Arc::new(Barrier::new(THREADS + 1));
    let rotators: Vec<_> = (0..THREADS)
        .map(|_| {
            let (config, start) = (config.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                let mut vault = Vault::open(&config).unwrap();
                start.wait();
                (0..EACH)
                    .map(|_| vault.rotate().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let enroller = {
        let (config, start) = (config.clone(), Arc::clone(&start));
        std::thread::spawn(move || {
            let mut vault = Vault::open(&config).unwrap();
            start.wait();
            for i in 0..NEWCOMERS {
                let code = format!("LC9{i:07}");
                vault.enroll(&num(&code), ALL, false, NOW).unwrap();
            }
        })
    };
    let mut reports: Vec<RotationReport> = rotators
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    enroller.join().unwrap();
    loyalty.extend((0..NEWCOMERS).map(|i| (format!("LC9{i:07}"), 0)));
    let after_threads = 1 + (THREADS * EACH) as u32;
    assert_consecutive(&reports, 2, after_threads);
    assert_every_key_opens(&config, after_threads, &loyalty);

    // The same from processes: `keys rotate` started at once, no daemon (each rotates itself).
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            cli(&config.data_dir, None, &["keys", "rotate", "--json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let (by, report) = rotation(&child.wait_with_output().unwrap());
        assert_eq!(by, "cli", "no daemon runs: the command rotates itself");
        reports.push(report);
    }
    let last = after_threads + PROCESSES as u32;
    assert_consecutive(&reports, 2, last);
    assert_every_key_opens(&config, last, &loyalty);
}

#[test]
fn a_second_writer_works_on_the_first_ones_result_and_a_duplicate_id_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, loyalty) = setup(tmp.path(), 3);
    let key_dir = KeyDir::new(config.key_dir());
    let stale = key_dir.load().unwrap();
    let (mut first, mut second) = (Vault::open(&config).unwrap(), Vault::open(&config).unwrap());

    let r = first.rotate().unwrap();
    assert_eq!((r.from_kek, r.to_kek), (1, 2));
    let at_two = tmp.path().join("kek-at-2.key");
    std::fs::copy(config.key_dir().join("kek.key"), &at_two).unwrap();
    // `second` loaded KEK 1; under the lock it re-reads the files and goes on from 2.
    let r = second.rotate().unwrap();
    assert_eq!((r.from_kek, r.to_kek), (2, 3));
    // And it opens shoppers whose keys the other vault re-wrapped, and the reverse.
    assert!(first.find(&num("LC00000000")).unwrap().is_some());
    assert!(second.find(&num("LC00000001")).unwrap().is_some());

    // A writer holding a keyring from before would make a second KEK 2: refused, nothing written.
    let lock = key_dir.lock_exclusive().unwrap();
    let err = key_dir
        .begin_rotation(&lock, &stale.kek, &shelftalk::crypto::rng())
        .unwrap_err();
    assert!(
        matches!(err, KeyError::DuplicateKekId { id: 2, existing: 3 }),
        "{err}"
    );
    assert!(!config.key_dir().join("kek-next.key").exists());
    drop(lock);

    // Key files restored from an older copy (KEK 2) under a store already at KEK 3: the next
    // rotation would make a second KEK 3. Refused, and the files are left as they were.
    let current = tmp.path().join("kek-at-3.key");
    std::fs::copy(config.key_dir().join("kek.key"), &current).unwrap();
    std::fs::copy(&at_two, config.key_dir().join("kek.key")).unwrap();
    let mut restored = Vault::open(&config).unwrap();
    let err = restored.rotate().unwrap_err();
    assert!(
        matches!(err, ProfileError::DuplicateKekId { id: 3 }),
        "{err}"
    );
    assert!(!config.key_dir().join("kek-next.key").exists());
    assert_eq!(key_dir.load().unwrap().kek.id(), 2);
    std::fs::copy(&current, config.key_dir().join("kek.key")).unwrap();
    assert_every_key_opens(&config, 3, &loyalty);
}

/// The picks the daemon's screen gets for a session opened with `code`: personal or popular.
fn session_is_personal(effects: &mut Effects, session: u64, code: &str) -> bool {
    let answers = effects.apply(Effect::StartSession {
        session: SessionId(session),
        loyalty: Some(Secret::new(code.to_string())),
    });
    answers
        .iter()
        .find_map(|a| match a {
            Input::PicksReady { personal, .. } => Some(*personal),
            _ => None,
        })
        .expect("the session got picks")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_daemon_keeps_serving_shoppers_through_cli_and_concurrent_rotations() {
    const CLI_ROTATIONS: usize = 3;
    // The daemon's log, shown when the test fails.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_ansi(false)
        .with_env_filter("info")
        .try_init();
    const DIRECT_ROTATIONS: usize = 2;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("kiosk");
    let base = Config {
        data_dir: data.clone(),
        ..Config::default()
    };
    let setup = demo::prepare(&base, &root().join("demo")).unwrap();
    let config_file = setup.config_file.clone();
    let mut config = Config::load(Some(&config_file), Vec::new()).unwrap();
    // These tests check the personalised path: no holdout.
    config.experiment = shelftalk::experiment::ExperimentConfig::off();
    config.data_dir = data.clone();
    config.model_path = data.join("no-model.gguf");
    let code = setup.loyalty_codes[0].clone();

    let (answers, _screen) = tokio::sync::mpsc::unbounded_channel();
    let daemon = Daemon::open(config.clone(), Some(config_file.clone()), answers).unwrap();
    let mut effects = Effects::new(Arc::clone(&daemon)).unwrap();
    let mut session = 0u64;
    let mut personal = |effects: &mut Effects| {
        session += 1;
        session_is_personal(effects, session, &code)
    };
    assert!(
        personal(&mut effects),
        "a known shopper gets personal picks"
    );

    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let server = {
        let d = Arc::clone(&daemon);
        tokio::spawn(async move { d.serve_control(stop_rx).await })
    };
    let sock = socket_path(&data);
    let deadline = Instant::now() + Duration::from_secs(30);
    while shelftalk::control::Client::connect(&sock).await.is_err() {
        assert!(Instant::now() < deadline, "control socket never answered");
        tokio::task::yield_now().await;
    }

    // `keys rotate` from a shell: the daemon does it, and keeps opening the shopper.
    let run = |args: &'static [&'static str]| {
        let (data, file) = (data.clone(), config_file.clone());
        tokio::task::spawn_blocking(move || cli(&data, Some(&file), args).output().unwrap())
    };
    let (by, r) = rotation(&run(&["keys", "rotate", "--json"]).await.unwrap());
    assert_eq!((by.as_str(), r.from_kek, r.to_kek), ("daemon", 1, 2));
    let text = run(&["keys", "rotate"]).await.unwrap();
    assert!(text.status.success());
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("done by the running daemon"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    assert!(
        personal(&mut effects),
        "personal picks after a CLI rotation"
    );

    // A writer that does not go through the daemon (another process's vault): the daemon finds
    // its keyring stale at the next shopper and reloads it — the issue's "Popular picks".
    Vault::open(&config).unwrap().rotate().unwrap();
    assert!(
        personal(&mut effects),
        "personal picks after an outside rotation"
    );

    // Rotations at once, through the daemon and beside it, while shoppers keep scanning.
    let mut cli_rotations: Vec<_> = (0..CLI_ROTATIONS)
        .map(|_| run(&["keys", "rotate", "--json"]))
        .collect();
    let direct = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            let mut vault = Vault::open(&config).unwrap();
            (0..DIRECT_ROTATIONS)
                .map(|_| vault.rotate().unwrap())
                .collect::<Vec<_>>()
        })
    };
    let mut sessions = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !(direct.is_finished() && cli_rotations.iter().all(|c| c.is_finished())) {
        assert!(Instant::now() < deadline, "rotations did not finish");
        assert!(personal(&mut effects), "personal picks during rotations");
        sessions += 1;
        // Pacing (a shopper every few ms), not readiness: the rotations need the vault too.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut reports = direct.await.unwrap();
    for c in cli_rotations.drain(..) {
        let (by, r) = rotation(&c.await.unwrap());
        assert_eq!(by, "daemon");
        reports.push(r);
    }
    // KEK 4 so far: two rotations by the CLI through the daemon, one beside it.
    let last = 4 + (CLI_ROTATIONS + DIRECT_ROTATIONS) as u32;
    assert_consecutive(&reports, 5, last);
    assert!(personal(&mut effects), "personal picks after the rotations");
    assert!(
        sessions > 0,
        "no shopper was served while the rotations ran"
    );

    // A long-lived vault (as the daemon's) that enrols a shopper after an outside rotation wraps
    // the new data key under the current KEK, not the retired one it had loaded: a fresh vault
    // (a restarted daemon) opens them.
    let mut long_lived = Vault::open(&config).unwrap();
    Vault::open(&config).unwrap().rotate().unwrap();
    let newcomer = "LC777000111";
    long_lived.enroll(&num(newcomer), ALL, false, NOW).unwrap();
    drop(long_lived);
    let wrapped = Vault::open(&config).unwrap();
    let every: Vec<_> = shoppers::wrapped_keys(wrapped.store.conn()).unwrap();
    let keys = KeyDir::new(config.key_dir()).load().unwrap();
    assert_eq!(keys.kek.id(), last + 1);
    for (id, key) in &every {
        keys.kek.unwrap_key(id, key).unwrap();
    }
    assert!(wrapped.find(&num(newcomer)).unwrap().is_some());
    drop(wrapped);

    // `shopper erase` from a shell: the number goes to the daemon on standard input and the
    // socket, the daemon erases (and rotates), and the shopper is anonymous from then on.
    let cmd = cli(&data, Some(&config_file), &["shopper", "erase", "--json"]);
    let c = code.clone();
    let out = tokio::task::spawn_blocking(move || common::run_with_stdin(cmd, &format!("{c}\n")))
        .await
        .unwrap();
    let erased = json(&out, "shopper erase");
    assert_eq!(erased["done_by"], "daemon");
    assert!(erased["rows_deleted"].as_u64().unwrap() > 0, "{erased}");
    assert!(!personal(&mut effects), "an erased shopper is a stranger");
    let twice = tokio::task::spawn_blocking({
        let cmd = cli(&data, Some(&config_file), &["shopper", "erase"]);
        let c = code.clone();
        move || common::run_with_stdin(cmd, &format!("{c}\n"))
    })
    .await
    .unwrap();
    assert!(!twice.status.success());
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("no shopper is enrolled"),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );

    // A shell without this kiosk's keys (another key dir) is refused, and does not fall back to
    // rotating by itself: nothing changes.
    let before = KeyDir::new(config.key_dir()).load().unwrap().kek_ids();
    let other = tmp.path().join("other-keys");
    KeyDir::new(&other).init(&shelftalk::crypto::rng()).unwrap();
    let out = tokio::task::spawn_blocking({
        let mut cmd = cli(&data, Some(&config_file), &["keys", "rotate"]);
        cmd.env("SHELFTALK_KEY_DIR", &other);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not match this kiosk's keys"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        KeyDir::new(config.key_dir()).load().unwrap().kek_ids(),
        before
    );
    assert_eq!(KeyDir::new(&other).load().unwrap().kek.id(), 1);

    // The console still needs its PIN; a key proof without a challenge proves nothing.
    let mut console = shelftalk::control::Client::connect(&sock).await.unwrap();
    let denied = |r: Response| matches!(r, Response::Denied { .. });
    assert!(denied(console.call(&Request::Status).await.unwrap()));
    let proof = Request::KeyProof {
        proof: "00".repeat(32),
    };
    assert!(denied(console.call(&proof).await.unwrap()));
    assert!(denied(console.call(&Request::Status).await.unwrap()));
    let pin = Request::Pin {
        pin: demo::DEMO_PIN.into(),
    };
    assert!(matches!(
        console.call(&pin).await.unwrap(),
        Response::Ok { .. }
    ));
    assert!(matches!(
        console.call(&Request::Status).await.unwrap(),
        Response::Ok { .. }
    ));
    drop(console);

    // The daemon audited every change as the shell's, the chain holds, no number in it.
    let audit = AuditLog::in_dir(&data);
    audit.verify().unwrap();
    let log = std::fs::read_to_string(audit.path()).unwrap();
    let by_cli = |action: &str| {
        log.lines()
            .filter(|l| l.contains(r#""actor":"cli""#) && l.contains(action))
            .count()
    };
    assert_eq!(by_cli(r#""action":"rotate_keys""#), 2 + CLI_ROTATIONS);
    assert_eq!(by_cli(r#""action":"erase_shopper""#), 2);
    assert!(
        !log.contains(&code),
        "the loyalty number is in the audit log"
    );

    let _ = stop.send(true);
    server.await.unwrap().unwrap();
    let stopper = Arc::clone(&daemon);
    tokio::task::spawn_blocking(move || stopper.stop())
        .await
        .unwrap();
}
