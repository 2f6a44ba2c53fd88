//! `TestBackend` snapshots of every screen at 80×24 and 160×48, and rendering properties:
//! hostile text, tiny terminals, no loyalty number or PIN on screen.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tracing::Level;

use super::console::{self, ConfigLine, ContentItem, LogLine, StatusView};
use super::kiosk::tests::{
    copy_request, lookup_request, pick, start, type_code, with_picks, LOYALTY,
};
use super::kiosk::{self, Input, Slot};
use super::{draw_console, draw_kiosk, Key};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn kiosk_terminal(state: &kiosk::State, (w, h): (u16, u16)) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw_kiosk(f, state)).unwrap();
    t
}

fn console_terminal(state: &console::State, (w, h): (u16, u16)) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw_console(f, state)).unwrap();
    t
}

fn kiosk_screen(state: &kiosk::State, size: (u16, u16)) -> String {
    kiosk_terminal(state, size).backend().to_string()
}

fn console_screen(state: &console::State, size: (u16, u16)) -> String {
    console_terminal(state, size).backend().to_string()
}

/// Every cell's symbol, at any size (`TestBackend`'s `Display` needs a non-zero width).
fn symbols(t: &Terminal<TestBackend>) -> String {
    t.backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect()
}

fn snap_kiosk(name: &str, state: &kiosk::State) {
    for size in SIZES {
        let screen = kiosk_screen(state, size);
        assert!(!screen.contains(LOYALTY) && !screen.contains("90417733"));
        insta::assert_snapshot!(format!("kiosk_{name}_{}x{}", size.0, size.1), screen);
    }
}

fn snap_console(name: &str, state: &console::State) {
    for size in SIZES {
        let screen = console_screen(state, size);
        assert!(!screen.contains(console::tests::PIN));
        insta::assert_snapshot!(format!("console_{name}_{}x{}", size.0, size.1), screen);
    }
}

fn featured() -> Vec<kiosk::PickView> {
    vec![
        kiosk::PickView {
            reason_line: String::new(),
            reasons: Vec::new(),
            ..pick(
                "F-1",
                "Elegance Polyester Multicolor Abstract Eyelet Door Curtain",
                "Bright, easy-care colour for any doorway, ready to hang with steel eyelets.",
            )
        },
        pick("F-2", "Rabbit Night Light", "A soft glow for small rooms."),
    ]
}

#[test]
fn kiosk_attract() {
    let mut s = start(Instant::now());
    snap_kiosk("attract_empty", &s);
    kiosk::update(&mut s, Input::Featured(featured()));
    snap_kiosk("attract", &s);
}

/// A session with picks: pick 2 streaming, pick 1 voted up, pick 2 selected, a scan being read.
fn session() -> kiosk::State {
    let t0 = Instant::now();
    let (mut s, _) = with_picks(t0);
    kiosk::update(&mut s, Input::Key(Key::Char('+')));
    kiosk::update(&mut s, Input::Key(Key::Right));
    let request = copy_request(&s, Slot::Pick(1));
    kiosk::update(
        &mut s,
        Input::CopyToken {
            request,
            text: "Packs small, keeps you dry on".into(),
        },
    );
    s
}

#[test]
fn kiosk_session_with_picks() {
    let mut s = session();
    snap_kiosk("session", &s);
    kiosk::update(&mut s, Input::Key(Key::Char('L')));
    snap_kiosk("session_reading_code", &s);
}

#[test]
fn kiosk_session_loading() {
    let mut s = start(Instant::now());
    type_code(&mut s, LOYALTY);
    snap_kiosk("session_loading", &s);
}

#[test]
fn kiosk_why_panel() {
    let mut s = session();
    kiosk::update(&mut s, Input::Key(Key::Char('?')));
    snap_kiosk("why", &s);
}

#[test]
fn kiosk_opt_out_confirmation() {
    let mut s = session();
    kiosk::update(&mut s, Input::Key(Key::Char('o')));
    snap_kiosk("opted_out", &s);
    kiosk::update(&mut s, Input::Key(Key::Right));
    snap_kiosk("opted_out_dismissed", &s);
}

#[test]
fn kiosk_product_view() {
    let mut s = session();
    type_code(&mut s, "CRNEG7BKMFFYHQ8Z");
    snap_kiosk("product_looking", &s);
    let request = lookup_request(&s);
    kiosk::update(
        &mut s,
        Input::ProductReady {
            request,
            product: kiosk::PickView {
                brand: None,
                ..pick(
                    "CRNEG7BKMFFYHQ8Z",
                    "Elegance Polyester Multicolor Abstract Eyelet Door Curtain",
                    "A splash of colour for the doorway you walk through every day.",
                )
            },
        },
    );
    snap_kiosk("product", &s);
    type_code(&mut s, "NOSUCHCODE");
    let request = lookup_request(&s);
    kiosk::update(&mut s, Input::ProductUnknown { request });
    snap_kiosk("product_unknown", &s);
}

#[test]
fn kiosk_goodbye_after_timeout() {
    let t0 = Instant::now();
    let (mut s, _) = with_picks(t0);
    kiosk::update(&mut s, Input::Tick(t0 + Duration::from_secs(45)));
    snap_kiosk("goodbye", &s);
}

#[test]
fn hostile_text_and_tiny_terminals_do_not_panic() {
    let t0 = Instant::now();
    let mut s = start(t0);
    type_code(&mut s, "SKU1");
    let id = s.session_id().unwrap();
    let long = format!(
        "{}\x1b[2J\x07\u{202E}evil\r\n{}",
        "W".repeat(5_000),
        "é".repeat(300)
    );
    let hostile = kiosk::PickView {
        brand: Some(long.clone()),
        price_text: long.clone(),
        reason_line: long.clone(),
        reasons: vec![long.clone(); 50],
        ..pick("SKU1", &long, &long)
    };
    kiosk::update(
        &mut s,
        Input::PicksReady {
            session: id,
            picks: vec![hostile.clone(); 3],
            personal: true,
        },
    );
    let request = lookup_request(&s);
    kiosk::update(
        &mut s,
        Input::ProductReady {
            request,
            product: hostile,
        },
    );
    let mut shown = Vec::new();
    for key in [Key::Esc, Key::Char('?'), Key::Esc, Key::Char('o')] {
        kiosk::update(&mut s, Input::Key(key));
        for size in [(80, 24), (160, 48), (20, 5), (1, 1), (0, 0), (300, 2)] {
            shown.push(symbols(&kiosk_terminal(&s, size)));
        }
    }
    for screen in &shown {
        assert!(
            !screen.contains('\x1b') && !screen.contains('\x07') && !screen.contains('\u{202E}')
        );
    }
    let mut c = console::tests::unlocked(t0);
    feed_console(&mut c, &long);
    console::update(
        &mut c,
        console::Input::Status(StatusView {
            model_name: long.clone(),
            model_hash: long.clone(),
            model_state: long.clone(),
            ..status()
        }),
    );
    console::update(
        &mut c,
        console::Input::Config(vec![ConfigLine {
            key: long.clone(),
            value: long.clone(),
        }]),
    );
    for tab in "12345".chars() {
        console::tests::keys(&mut c, &tab.to_string());
        for size in [(80, 24), (160, 48), (20, 5), (1, 1), (0, 0)] {
            let screen = symbols(&console_terminal(&c, size));
            assert!(!screen.contains('\x1b') && !screen.contains('\u{202E}'));
        }
    }
}

fn status() -> StatusView {
    StatusView {
        model_name: "gemma-3-270m-q4_k_m".into(),
        model_hash: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818".into(),
        model_state: "ready".into(),
        tokens_per_sec: Some(44.25),
        cache_hit_rate: Some(0.875),
        verdicts: vec![
            ("pass".into(), 120),
            ("retried".into(), 7),
            ("template".into(), 2),
        ],
        db_bytes: 12_900_000,
        db_counts: vec![
            ("shoppers".into(), 42),
            ("events".into(), 10_000),
            ("outbox".into(), 3),
        ],
        sync_backlog: Some(3),
        disk_free_bytes: Some(5_400_000_000),
        storage_alarm: None,
        feedback_waiting: 0,
        feedback_dropped: 0,
        uptime: Duration::from_secs(93_784),
        cpu_temp_celsius: None,
        copy_fallbacks: vec![("budget".into(), 3), ("deadline".into(), 1)],
        copy_latency: Some(console::CopyLatency {
            answered: 1_204,
            samples: 1_000,
            p50_ms: 1_840.0,
            p99_ms: 4_020.0,
            max_ms: 4_480.0,
        }),
    }
}

/// Fills every tab of the console; `text` goes into log lines and copy.
fn feed_console(c: &mut console::State, text: &str) {
    let levels = [
        Level::INFO,
        Level::DEBUG,
        Level::WARN,
        Level::ERROR,
        Level::INFO,
    ];
    for (i, level) in levels.into_iter().enumerate() {
        console::update(
            c,
            console::Input::Log(LogLine {
                at: format!("2026-11-29 12:00:0{i}"),
                level,
                target: "shelftalk::copy".into(),
                message: format!("{text} #{i}"),
            }),
        );
    }
    for (i, (source, verdict)) in [("model", "pass"), ("template", "price mismatch")]
        .into_iter()
        .enumerate()
    {
        console::update(
            c,
            console::Input::Content(ContentItem {
                at: format!("12:01:0{i}"),
                sku: format!("SKU-{i}"),
                style: "benefit".into(),
                source: source.into(),
                verdict: verdict.into(),
                text: text.into(),
            }),
        );
    }
    console::update(
        c,
        console::Input::Config(vec![
            ConfigLine {
                key: "kiosk_id".into(),
                value: "kiosk-01".into(),
            },
            ConfigLine {
                key: "hq_url".into(),
                value: "http://127.0.0.1:8787".into(),
            },
            ConfigLine {
                key: "console_pin_hash".into(),
                value: "<redacted>".into(),
            },
        ]),
    );
    console::update(c, console::Input::Status(status()));
}

#[test]
fn console_pin_screens() {
    let t0 = Instant::now();
    let mut c = console::State::new(t0);
    console::tests::keys(&mut c, "48");
    snap_console("pin_entry", &c);
    console::tests::keys(&mut c, "2913");
    console::tests::press(&mut c, Key::Enter);
    console::update(
        &mut c,
        console::Input::PinResult {
            ok: false,
            locked_until: None,
        },
    );
    snap_console("pin_wrong", &c);
}

#[test]
fn console_lockout_after_five_wrong_tries_is_displayed() {
    let t0 = Instant::now();
    let mut c = console::State::new(t0);
    for attempt in 1..=5 {
        console::tests::keys(&mut c, "000000");
        console::tests::press(&mut c, Key::Enter);
        console::update(
            &mut c,
            console::Input::PinResult {
                ok: false,
                locked_until: (attempt == 5).then(|| t0 + Duration::from_secs(300)),
            },
        );
    }
    console::update(&mut c, console::Input::Tick(t0 + Duration::from_secs(1)));
    let screen = console_screen(&c, (80, 24));
    assert!(screen.contains("Locked for 4m 59s"), "{screen}");
    snap_console("pin_locked", &c);
}

#[test]
fn console_tabs() {
    let mut c = console::tests::unlocked(Instant::now());
    snap_console("status_waiting", &c);
    feed_console(&mut c, "Warmed 12 blurbs for style benefit");
    for (key, name) in [
        ('1', "status"),
        ('2', "logs"),
        ('3', "content"),
        ('5', "config"),
    ] {
        console::tests::keys(&mut c, &key.to_string());
        snap_console(name, &c);
    }
    console::tests::keys(&mut c, "2l");
    snap_console("logs_warn", &c);
}

#[test]
fn console_actions() {
    let mut c = console::tests::unlocked(Instant::now());
    console::tests::keys(&mut c, "4");
    snap_console("actions", &c);
    console::tests::press(&mut c, Key::Up);
    console::tests::press(&mut c, Key::Up);
    console::tests::press(&mut c, Key::Enter);
    console::tests::keys(&mut c, LOYALTY);
    snap_console("actions_erase_entry", &c);
    console::tests::press(&mut c, Key::Enter);
    snap_console("actions_erase_confirm", &c);
    console::tests::keys(&mut c, "y");
    console::update(
        &mut c,
        console::Input::ActionDone {
            kind: console::ActionKind::EraseShopper,
            ok: true,
            message: "shopper erased; key-encryption key rotated".into(),
        },
    );
    snap_console("actions_done", &c);
    for size in SIZES {
        assert!(!console_screen(&c, size).contains(LOYALTY));
    }
}
