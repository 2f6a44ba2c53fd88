//! The loop closed by real sales: impressions shown at the kiosk, then the till's purchases
//! imported from a POS file; only purchases inside the conversion window convert, a named
//! customer's purchase converts only their own impression, a purchase counts once however often
//! its file is imported, and HQ's report shows exactly the conversions the kiosk attributed.
//! Real kiosk store, the real CLI for the import, the real HQ on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sync_support;

use std::process::Command;

use shelftalk::feedback::cells::Day;
use shelftalk::feedback::{self, Impression, SessionToken};
use shelftalk::profile::Vault;
use shelftalk::store::shoppers::Consent;
use shelftalk::store::Store;
use shelftalk::sync;
use shelftalk::vocab::{LoyaltyNumber, Style};
use sync_support::{context, kiosk, Hq, NOW};

fn rees46_time(at: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(at).unwrap();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn import(data: &std::path::Path, file: &std::path::Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("--data-dir")
        .arg(data)
        .args(["import", "events"])
        .arg(file)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn till_purchases_convert_impressions_once_and_reach_hq() {
    let tmp = tempfile::tempdir().unwrap();
    let hq = Hq::start(tmp.path()).await;
    let (config, keys) = kiosk(tmp.path(), "kiosk-c", &hq.url);
    hq.enroll(&config, &keys);
    let k = config.k_anonymity as usize;
    let window = config.conversion_window_secs as i64;

    // A loyalty customer the till knows, enrolled at the kiosk.
    let number = LoyaltyNumber::parse("LC7001").unwrap();
    let both = Consent {
        personalise: true,
        analytics: true,
    };
    let shopper = {
        let mut vault = Vault::open(&config).unwrap();
        vault
            .enroll(&number, both, false, NOW - 5 * 86_400)
            .unwrap()
            .0
    };
    let tag = keys.pepper.attribution_tag(&shopper);

    // Day d: k sessions see SKU-0 (the first one is our customer's), k see SKU-2, k see SKU-4.
    let d = Day::of(NOW).0 - 3;
    let shown = Day(d).start() + 10 * 3600;
    let store = Store::open(&config.db_path()).unwrap();
    for (n, sku) in ["SKU-0", "SKU-2", "SKU-4"].iter().enumerate() {
        for s in 0..k {
            let token = SessionToken::from_bytes([(n * 50 + s) as u8; 16]);
            let id = feedback::record_impression(
                store.conn(),
                &Impression {
                    at: shown + s as i64,
                    session: &token,
                    sku,
                    style: Style::Concise,
                    style_probability: 0.5,
                    segment: "all",
                    content_kind: "blurb",
                    arm: "personalised",
                    arm_propensity: 0.9,
                },
            )
            .unwrap();
            if *sku == "SKU-0" && s == 0 {
                feedback::tag_impression(store.conn(), id, &tag).unwrap();
            }
        }
    }
    drop(store);

    // The till's file: our customer buys SKU-0 ten minutes later (converts their impression);
    // an anonymous basket buys SKU-2 two hours later (outside the window: no conversion); our
    // customer buys SKU-4, which only other shoppers were shown (no conversion).
    let header = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session";
    let rows = [
        (shown + 600, "SKU-0", "LC7001"),
        (shown + 2 * window, "SKU-2", ""),
        (shown + 900, "SKU-4", "lc7001"),
    ];
    let mut text = String::from(header);
    for (at, sku, customer) in rows {
        text.push_str(&format!(
            "\n{},purchase,{sku},1,kitchen.misc,Acme,49.99,{customer},basket-1",
            rees46_time(at)
        ));
    }
    let pos = tmp.path().join("pos-day.csv");
    std::fs::write(&pos, format!("{text}\n")).unwrap();
    let first = import(&config.data_dir, &pos);
    assert_eq!(first["conversions"], 1, "{first}");
    // The same purchases in a byte-different file (reordered) count once.
    let mut lines: Vec<&str> = text.lines().skip(1).collect();
    lines.reverse();
    let again = tmp.path().join("pos-day-again.csv");
    std::fs::write(&again, format!("{header}\n{}\n", lines.join("\n"))).unwrap();
    let second = import(&config.data_dir, &again);
    assert_eq!(second["conversions"], 0, "{second}");

    // Sync closes the day and sends the cells: HQ's report shows exactly one conversion.
    sync::run_once(&context(&config, &keys), NOW).await.unwrap();
    let totals = hq.totals();
    assert_eq!(totals.impressions, 3 * k as u64);
    assert_eq!(totals.conversions, 1, "{totals:?}");
    hq.stop().await;
}

/// The running daemon's POS inbox: a dropped till file is imported between sessions (its
/// purchase converts the kiosk's impression) and moved to `done/`; a file that is not a till
/// file is moved to `failed/` with the reason beside it; a file still being written is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_imports_dropped_till_files() {
    use shelftalk::config::Config;
    use shelftalk::daemon::{demo, inbox, Daemon};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("kiosk");
    let base = Config {
        data_dir: data.clone(),
        ..Config::default()
    };
    let setup = demo::prepare(
        &base,
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo"),
    )
    .unwrap();
    let mut config = Config::load(Some(&setup.config_file), Vec::new()).unwrap();
    // These tests check the personalised path: no holdout.
    config.experiment = shelftalk::experiment::ExperimentConfig::off();
    config.data_dir = data.clone();
    config.model_path = data.join("no-model.gguf");
    let dir = tmp.path().join("pos-inbox");
    std::fs::create_dir(&dir).unwrap();
    config.pos_inbox = Some(dir.clone());
    let (answers, _rx) = tokio::sync::mpsc::unbounded_channel();
    let daemon = Daemon::open(config, Some(setup.config_file.clone()), answers).unwrap();

    let shown = NOW - 2 * 86_400;
    {
        let store = Store::open(&daemon.config().db_path()).unwrap();
        feedback::record_impression(
            store.conn(),
            &Impression {
                at: shown,
                session: &SessionToken::from_bytes([9; 16]),
                sku: "FW-RUN-0001",
                style: Style::Playful,
                style_probability: 0.25,
                segment: "all",
                content_kind: "blurb",
                arm: "personalised",
                arm_propensity: 0.9,
            },
        )
        .unwrap();
    }
    let header = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session";
    std::fs::write(
        dir.join("till-0001.csv"),
        format!(
            "{header}\n{},purchase,FW-RUN-0001,1,footwear.running,Northpine,152.99,,b-77\n",
            rees46_time(shown + 300)
        ),
    )
    .unwrap();
    std::fs::write(dir.join("notes.csv"), "this is not a till file\n").unwrap();
    std::fs::write(dir.join("till-0002.csv.tmp"), "half written").unwrap();

    let d = std::sync::Arc::clone(&daemon);
    let (inbox_dir, pass) = tokio::task::spawn_blocking(move || {
        let p = inbox::process(&d, &dir).unwrap();
        (dir, p)
    })
    .await
    .unwrap();
    assert_eq!(
        (pass.imported, pass.failed, pass.conversions),
        (1, 1, 1),
        "{pass:?}"
    );
    assert!(inbox_dir.join("done/till-0001.csv").exists());
    assert!(inbox_dir.join("failed/notes.csv").exists());
    let why = std::fs::read_to_string(inbox_dir.join("failed/notes.csv.error.txt")).unwrap();
    assert!(!why.trim().is_empty());
    assert!(
        inbox_dir.join("till-0002.csv.tmp").exists(),
        "a file being written is left alone"
    );
    let stopper = std::sync::Arc::clone(&daemon);
    tokio::task::spawn_blocking(move || stopper.stop())
        .await
        .unwrap();
}
