//! A full disk under the kiosk's data dir and under HQ's database: a real small filesystem
//! (size-limited tmpfs, or a loop-mounted ext4 image), filled to the last block.
//!
//! The kiosk (the real daemon in-process: its vault, screen effects and control socket, on the
//! real SQLite file) keeps serving picks from what it has, holds the feedback it cannot write in
//! memory and says so on the console's Status and in `shelftalk selftest` (the real binary);
//! when space returns it writes everything by itself, nothing lost, nothing twice. HQ on a full
//! disk refuses a batch with a retryable 503 `storage_full`; the kiosk keeps it and it is stored
//! once when space returns.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod small_fs;
mod sync_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use shelftalk::control::{self, Client, Request, Response};
use shelftalk::daemon::kiosk::Effects;
use shelftalk::daemon::{socket_path, Daemon};
use shelftalk::feedback::spool::RETRY_EVERY;
use shelftalk::store::Store;
use shelftalk::sync::{self, SyncError};
use shelftalk::ui::console::StatusView;
use shelftalk::ui::kiosk::{Effect, Input, InteractionKind, PickView, SessionId, Slot, Target};
use small_fs::{truncate_wal, SmallFs};
use sync_support::{context, kiosk, simulate, status, Hq, NOW};

const PIN: &str = "246810";

async fn console(path: &std::path::Path) -> Client {
    // The socket is bound before `serve_control` is spawned's first poll; wait for the file.
    let mut client = loop {
        if let Ok(c) = Client::connect(path).await {
            break c;
        }
        tokio::task::yield_now().await;
    };
    match client
        .call(&Request::Pin { pin: PIN.into() })
        .await
        .unwrap()
    {
        Response::Ok { .. } => client,
        other => panic!("PIN refused: {other:?}"),
    }
}

async fn status_view(client: &mut Client) -> StatusView {
    match client.call(&Request::Status).await.unwrap() {
        Response::Ok { body } => serde_json::from_value(body).unwrap(),
        other => panic!("status: {other:?}"),
    }
}

fn picks(answers: Vec<Input>) -> Vec<PickView> {
    answers
        .into_iter()
        .find_map(|a| match a {
            Input::PicksReady { picks, .. } => Some(picks),
            _ => None,
        })
        .expect("picks for the session")
}

/// A session at the screen: picks shown (impressions) and the first one tapped.
fn visit(effects: &mut Effects, id: u64) -> usize {
    let session = SessionId(id);
    let shown = picks(effects.apply(Effect::StartSession {
        session,
        loyalty: None,
    }));
    assert!(!shown.is_empty(), "the kiosk serves picks");
    let target = |p: &PickView| Target {
        sku: p.sku.clone(),
        style: p.style.clone(),
        style_probability: p.style_probability,
    };
    for (i, p) in shown.iter().enumerate() {
        effects.apply(Effect::RecordImpression {
            session,
            slot: Slot::Pick(i),
            target: target(p),
        });
    }
    effects.apply(Effect::RecordInteraction {
        session,
        kind: InteractionKind::Select,
        target: Some(target(&shown[0])),
    });
    shown.len()
}

fn selftest_disk_line(data: &std::path::Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SHELFTALK_MODEL_PATH", data.join("no-model.gguf"))
        .env("SHELFTALK_HQ_URL", "http://127.0.0.1:9")
        .arg("--data-dir")
        .arg(data)
        .arg("selftest")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find(|l| l.contains(" disk "))
        .unwrap_or_else(|| panic!("no disk check in selftest: {text}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_keeps_the_kiosk_serving_holds_feedback_and_recovers_by_itself() {
    let Some(mut fs) = SmallFs::mount(8) else {
        return;
    };
    let hq_dir = tempfile::tempdir().unwrap();
    let hq = Hq::start(hq_dir.path()).await;
    let (mut config, keys) = kiosk(&fs.dir, "kiosk-full", &hq.url);
    hq.enroll(&config, &keys);
    // No model: template copy (the test is about storage, not generation); no warm-up.
    config.model_path = fs.dir.join("no-model.gguf");
    config.copy_warm_top = 0;
    config.console_pin_hash = Some(control::hash_pin(PIN, &shelftalk::crypto::rng()).unwrap());

    let (answers, _screen) = tokio::sync::mpsc::unbounded_channel();
    let daemon = Daemon::open(config.clone(), None, answers).unwrap();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let server = {
        let d = Arc::clone(&daemon);
        tokio::spawn(async move { d.serve_control(stop_rx).await })
    };
    let mut client = console(&socket_path(&config.data_dir)).await;
    let mut effects = Effects::new(Arc::clone(&daemon)).unwrap();

    // Before the disk fills: two visits are recorded.
    let mut shown = 0;
    for id in 1..=2 {
        shown += visit(&mut effects, id);
    }
    let before = status(&config).recorded;
    assert_eq!(before.impressions, shown as u64);
    assert_eq!(before.taps, 2);
    let fine = status_view(&mut client).await;
    assert_eq!(fine.storage_alarm, None);

    // The disk fills.
    truncate_wal(&config.db_path());
    fs.fill();
    eprintln!("{} filled: {} bytes free", fs.kind, fs.free());

    // The kiosk keeps serving: three more visits get picks; their feedback waits in memory.
    let mut held = 0;
    for id in 3..=5 {
        held += visit(&mut effects, id) + 1;
    }
    let counts = daemon.feedback_counts();
    assert_eq!(counts.waiting, held as u64, "{counts:?}");
    assert!(counts.disk_full, "{counts:?}");
    assert_eq!(counts.dropped, 0);

    // ... and says so on the console and in selftest.
    let full = status_view(&mut client).await;
    let alarm = full.storage_alarm.clone().expect("a storage alarm");
    assert!(alarm.contains("disk full at"), "{alarm}");
    assert!(
        alarm.contains(&format!("{held} feedback events held in memory")),
        "{alarm}"
    );
    assert!(alarm.contains("full"), "{alarm}");
    assert_eq!(full.feedback_waiting, held as u64);
    let line = selftest_disk_line(&config.data_dir);
    assert!(line.starts_with("FAIL disk"), "{line}");
    assert!(line.contains("disk full"), "{line}");
    assert!(line.contains("SQLITE_FULL"), "{line}");
    assert!(
        line.contains(&config.data_dir.display().to_string()),
        "{line}"
    );

    // A sync on the full disk fails retryably and loses nothing.
    let err = sync::run_once(&context(&config, &keys), NOW)
        .await
        .unwrap_err();
    assert!(err.retryable(), "{err}");
    assert!(err.to_string().contains("full"), "{err}");

    // What was recorded before the disk filled is intact.
    assert_eq!(status(&config).recorded, before);

    // Space returns; the screen's next tick (a retry is due after RETRY_EVERY) writes it all.
    fs.make_room();
    daemon.retry_feedback(Instant::now() + RETRY_EVERY + Duration::from_millis(1));
    let counts = daemon.feedback_counts();
    assert_eq!(counts.waiting, 0, "{counts:?}");
    assert_eq!(counts.written_late, held as u64);
    assert!(!counts.disk_full && counts.last_error.is_none());
    let after = status(&config).recorded;
    assert_eq!(after.impressions, before.impressions + (held - 3) as u64);
    assert_eq!(after.taps, before.taps + 3);
    let recovered = status_view(&mut client).await;
    assert_eq!(recovered.storage_alarm, None);
    assert_eq!(recovered.feedback_waiting, 0);
    let line = selftest_disk_line(&config.data_dir);
    assert!(!line.contains("disk full"), "{line}");

    // Everything reaches HQ once its day is closed: nothing lost, nothing twice.
    let later = time::OffsetDateTime::now_utc().unix_timestamp() + 2 * 86_400;
    sync::run_once(&context(&config, &keys), later)
        .await
        .unwrap();
    let s = status(&config);
    assert_eq!(s.outbox.batches, 0);
    assert_eq!(s.pending, Default::default());
    assert_eq!(hq.totals(), s.acknowledged.counts);
    let mut sum = s.acknowledged.counts;
    sum += s.withheld;
    assert_eq!(sum, s.recorded);
    let integrity: String = Store::open(&config.db_path())
        .unwrap()
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");

    stop.send(true).unwrap();
    server.await.unwrap().unwrap();
    drop(effects);
    daemon.stop();
    hq.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hq_on_a_full_disk_refuses_retryably_and_stores_the_batch_once_space_returns() {
    let Some(mut fs) = SmallFs::mount(8) else {
        return;
    };
    let hq = Hq::start(&fs.dir).await;
    let kiosk_dir = tempfile::tempdir().unwrap();
    let (config, keys) = kiosk(kiosk_dir.path(), "kiosk-hq-full", &hq.url);
    hq.enroll(&config, &keys);
    simulate(&config, 300, 3, NOW, 3);
    let ctx = context(&config, &keys);

    truncate_wal(&hq.db);
    fs.fill();
    let err = sync::run_once(&ctx, NOW).await.unwrap_err();
    match &err {
        SyncError::Server { status, message } => {
            assert_eq!(*status, 503, "{err}");
            assert!(message.starts_with("storage_full"), "{message}");
        }
        other => panic!("expected HQ's retryable refusal, got {other}"),
    }
    assert!(err.retryable());
    let waiting = status(&config);
    assert!(waiting.outbox.batches >= 1, "the batch stays in the outbox");
    assert!(waiting.last_error.unwrap().contains("storage_full"));
    assert_eq!(hq.rows(), (0, 0), "HQ stored nothing");

    fs.make_room();
    let r = sync::run_once(&ctx, NOW + 60).await.unwrap();
    assert_eq!(r.outbox_left, 0);
    assert_eq!(r.duplicates, 0);
    let s = status(&config);
    assert_eq!(hq.totals(), s.acknowledged.counts);
    assert_eq!(s.acknowledged.counts, waiting.outbox.counts);
    let (batches, _) = hq.rows();
    assert_eq!(batches, s.acknowledged.batches, "each batch stored once");
    hq.stop().await;
}
