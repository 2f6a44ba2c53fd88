//! `TestBackend` snapshots of every screen at 80×24 and 160×48, in every locale (`en` snapshots
//! are named `kiosk_…`/`console_…`, `zh-CN` ones `kiosk_zh_…`/`console_zh_…`), and rendering
//! properties: hostile text, tiny terminals, no loyalty number or PIN on screen, box borders
//! closed with wide (CJK) characters inside, taps hit the pick drawn where they land.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::Terminal;
use tracing::Level;

use super::console::{self, ConfigLine, ContentItem, LogLine, StatusView};
use super::kiosk::tests::{copy_request, lookup_request, pick, start, type_code, LOYALTY};
use super::kiosk::{self, Input, KioskConfig, Slot};
use super::{draw_console, draw_kiosk, pick_at, Key};
use crate::locale::Locale;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// A product as fixtures name it: SKU, name, copy.
type Item = (&'static str, &'static str, &'static str);

/// The words of one locale's fixtures.
struct Lang {
    locale: Locale,
    /// Put in snapshot names after `kiosk_`/`console_` (`""` for en, so its names stay).
    tag: &'static str,
    pick: fn(&str, &str, &str) -> kiosk::PickView,
    picks: [Item; 3],
    /// Streamed into pick 2.
    token: &'static str,
    featured: [Item; 2],
    scanned: Item,
    /// Log and copy text of the console fixtures.
    console_text: &'static str,
    outcome: &'static str,
}

const EN: Lang = Lang {
    locale: Locale::En,
    tag: "",
    pick,
    picks: [
        ("SKU-1", "Trail Runner", "Light on the trail."),
        ("SKU-2", "Rain Shell", ""),
        ("SKU-3", "Wool Socks", ""),
    ],
    token: "Packs small, keeps you dry on",
    featured: [
        (
            "F-1",
            "Elegance Polyester Multicolor Abstract Eyelet Door Curtain",
            "Bright, easy-care colour for any doorway, ready to hang with steel eyelets.",
        ),
        ("F-2", "Rabbit Night Light", "A soft glow for small rooms."),
    ],
    scanned: (
        "CRNEG7BKMFFYHQ8Z",
        "Elegance Polyester Multicolor Abstract Eyelet Door Curtain",
        "A splash of colour for the doorway you walk through every day.",
    ),
    console_text: "Warmed 12 blurbs for style benefit",
    outcome: "shopper erased; key-encryption key rotated",
};

const ZH: Lang = Lang {
    locale: Locale::ZhCn,
    tag: "zh_",
    pick: zh_pick,
    picks: [
        (
            "ZH-RUN-0001",
            "山岚 轻羽跑步鞋",
            "轻到几乎感觉不到，晨跑更轻松。",
        ),
        ("ZH-RAIN-0002", "云栖 三合一防水冲锋衣", ""),
        ("ZH-SOCK-0003", "暖禾 美利奴羊毛袜", ""),
    ],
    token: "轻便好收纳，雨天也能保持干爽，",
    featured: [
        (
            "ZH-F-1",
            "云栖 超轻防泼水户外双肩背包 二十八升大容量多隔层 通勤旅行两用",
            "背着不累，雨天出门也安心，通勤旅行都合适。",
        ),
        ("ZH-F-2", "萤光 兔子小夜灯", "柔和的光，陪孩子安心入睡。"),
    ],
    scanned: (
        "ZH-HOME-0042",
        "暖禾 纯棉刺绣门帘 北欧风抽象图案 免打孔安装",
        "给每天经过的门口添一抹颜色，现在只要 89 元。",
    ),
    console_text: "为 benefit 风格预热了 12 条文案",
    outcome: "已删除顾客；密钥已轮换",
};

const LANGS: [&Lang; 2] = [&EN, &ZH];

/// A zh-CN pick as the daemon would map it (prices in yuan, reasons from the zh catalog).
fn zh_pick(sku: &str, name: &str, copy: &str) -> kiosk::PickView {
    kiosk::PickView {
        brand: name.split_whitespace().next().map(str::to_owned),
        price_text: "¥459（原价 ¥599）".into(),
        template: format!("{name}，现在只要 459 元，值得一看。"),
        reason_line: "因为你喜欢山岚".into(),
        reasons: vec!["因为你喜欢山岚".into(), "本周店内热卖".into()],
        ..pick(sku, name, copy)
    }
}

fn start_in(lang: &Lang, t0: Instant) -> kiosk::State {
    kiosk::State::new(
        KioskConfig {
            locale: lang.locale,
            ..KioskConfig::default()
        },
        t0,
    )
}

/// A personal session with three picks, the first with copy, the others streaming.
fn with_picks_in(lang: &Lang, t0: Instant) -> kiosk::State {
    let mut s = start_in(lang, t0);
    type_code(&mut s, LOYALTY);
    let session = s.session_id().unwrap();
    let picks = lang
        .picks
        .iter()
        .map(|(sku, name, copy)| (lang.pick)(sku, name, copy));
    kiosk::update(
        &mut s,
        Input::PicksReady {
            session,
            picks: picks.collect(),
            personal: true,
        },
    );
    s
}

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

fn cell(buffer: &Buffer, x: u16, y: u16) -> &str {
    buffer.cell((x, y)).map_or("", |c| c.symbol())
}

/// Every box drawn is closed: from each top-left corner, its top edge reaches a top-right corner
/// on the same row, and every row below has a vertical border in both the corner columns down to
/// the bottom corners. A wide character that spilled over a border, or a label padded by
/// characters instead of columns, breaks one of these. Screens with a popup over other boxes are
/// checked by [`popup_closed`] instead (the popup cuts the boxes under it).
fn boxes_closed(buffer: &Buffer, name: &str) {
    let area = buffer.area;
    for y in 0..area.height {
        for x in 0..area.width {
            if !matches!(cell(buffer, x, y), "┌" | "┏") {
                continue;
            }
            box_closed(buffer, x, y, name);
        }
    }
}

fn box_closed(buffer: &Buffer, x: u16, y: u16, name: &str) {
    if let Some(problem) = box_problem(buffer, x, y) {
        panic!("{name}: box at {x},{y}: {problem}");
    }
}

/// What is wrong with the box whose top-left corner is at `x`, `y`, if anything.
fn box_problem(buffer: &Buffer, x: u16, y: u16) -> Option<String> {
    let area = buffer.area;
    let Some(right) = (x + 1..area.width).find(|&r| matches!(cell(buffer, r, y), "┐" | "┓"))
    else {
        return Some("no top-right corner".into());
    };
    for row in y + 1..area.height {
        let (l, r) = (cell(buffer, x, row), cell(buffer, right, row));
        if matches!(l, "└" | "┗") {
            return (!matches!(r, "┘" | "┛")).then(|| format!("bottom right is {r:?}"));
        }
        if !(matches!(l, "│" | "┃") && matches!(r, "│" | "┃")) {
            return Some(format!("row {row}: borders {l:?} {r:?}"));
        }
    }
    Some("no bottom".into())
}

/// The popup is closed: of the thick boxes (the popup, and a selected card it may cover), one is
/// closed all round.
fn popup_closed(buffer: &Buffer, name: &str) {
    let area = buffer.area;
    let closed = (0..area.height)
        .flat_map(|y| (0..area.width).map(move |x| (x, y)))
        .filter(|&(x, y)| cell(buffer, x, y) == "┏")
        .any(|(x, y)| box_problem(buffer, x, y).is_none());
    assert!(closed, "{name}: no closed popup");
}

fn check_borders(t: &Terminal<TestBackend>, name: &str) {
    let overlaid =
        name.contains("why") || name.contains("opted_out") && !name.contains("dismissed");
    let name = &format!("{name}\n{}", t.backend());
    if overlaid {
        popup_closed(t.backend().buffer(), name);
    } else {
        boxes_closed(t.backend().buffer(), name);
    }
}

fn snap_kiosk(lang: &Lang, name: &str, state: &kiosk::State) {
    assert_eq!(state.locale(), lang.locale);
    for size in SIZES {
        let t = kiosk_terminal(state, size);
        let screen = t.backend().to_string();
        assert!(!screen.contains(LOYALTY) && !screen.contains("90417733"));
        let name = format!("kiosk_{}{name}_{}x{}", lang.tag, size.0, size.1);
        check_borders(&t, &name);
        insta::assert_snapshot!(name, screen);
    }
}

fn snap_console(lang: &Lang, name: &str, state: &console::State) {
    for size in SIZES {
        let t = console_terminal(state, size);
        let screen = t.backend().to_string();
        assert!(!screen.contains(console::tests::PIN));
        let name = format!("console_{}{name}_{}x{}", lang.tag, size.0, size.1);
        check_borders(&t, &name);
        insta::assert_snapshot!(name, screen);
    }
}

fn featured(lang: &Lang) -> Vec<kiosk::PickView> {
    let [(sku, name, copy), second] = lang.featured;
    vec![
        kiosk::PickView {
            reason_line: String::new(),
            reasons: Vec::new(),
            ..(lang.pick)(sku, name, copy)
        },
        (lang.pick)(second.0, second.1, second.2),
    ]
}

#[test]
fn kiosk_attract() {
    for lang in LANGS {
        let mut s = start_in(lang, Instant::now());
        snap_kiosk(lang, "attract_empty", &s);
        kiosk::update(&mut s, Input::Featured(featured(lang)));
        snap_kiosk(lang, "attract", &s);
    }
}

/// A session with picks: pick 2 streaming, pick 1 voted up, pick 2 selected, a scan being read.
fn session(lang: &Lang) -> kiosk::State {
    let mut s = with_picks_in(lang, Instant::now());
    kiosk::update(&mut s, Input::Key(Key::Char('+')));
    kiosk::update(&mut s, Input::Key(Key::Right));
    let request = copy_request(&s, Slot::Pick(1));
    kiosk::update(
        &mut s,
        Input::CopyToken {
            request,
            text: lang.token.into(),
        },
    );
    s
}

#[test]
fn kiosk_session_with_picks() {
    for lang in LANGS {
        let mut s = session(lang);
        snap_kiosk(lang, "session", &s);
        kiosk::update(&mut s, Input::Key(Key::Char('L')));
        snap_kiosk(lang, "session_reading_code", &s);
    }
}

#[test]
fn kiosk_session_loading() {
    for lang in LANGS {
        let mut s = start_in(lang, Instant::now());
        type_code(&mut s, LOYALTY);
        snap_kiosk(lang, "session_loading", &s);
    }
}

#[test]
fn kiosk_why_panel() {
    for lang in LANGS {
        let mut s = session(lang);
        kiosk::update(&mut s, Input::Key(Key::Char('?')));
        snap_kiosk(lang, "why", &s);
    }
}

#[test]
fn kiosk_opt_out_confirmation() {
    for lang in LANGS {
        let mut s = session(lang);
        kiosk::update(&mut s, Input::Key(Key::Char('o')));
        snap_kiosk(lang, "opted_out", &s);
        kiosk::update(&mut s, Input::Key(Key::Right));
        snap_kiosk(lang, "opted_out_dismissed", &s);
    }
}

#[test]
fn kiosk_product_view() {
    for lang in LANGS {
        let mut s = session(lang);
        let (sku, name, copy) = lang.scanned;
        type_code(&mut s, "CRNEG7BKMFFYHQ8Z");
        snap_kiosk(lang, "product_looking", &s);
        let request = lookup_request(&s);
        kiosk::update(
            &mut s,
            Input::ProductReady {
                request,
                product: kiosk::PickView {
                    brand: None,
                    ..(lang.pick)(sku, name, copy)
                },
            },
        );
        snap_kiosk(lang, "product", &s);
        type_code(&mut s, "NOSUCHCODE");
        let request = lookup_request(&s);
        kiosk::update(&mut s, Input::ProductUnknown { request });
        snap_kiosk(lang, "product_unknown", &s);
    }
}

#[test]
fn kiosk_goodbye_after_timeout() {
    for lang in LANGS {
        let t0 = Instant::now();
        let mut s = with_picks_in(lang, t0);
        kiosk::update(&mut s, Input::Tick(t0 + Duration::from_secs(45)));
        snap_kiosk(lang, "goodbye", &s);
    }
}

/// The cell where `text` starts on the screen, if shown: each row read as its characters with
/// the column each starts at (a wide character's second cell is skipped).
fn find(buffer: &Buffer, text: &str) -> Option<(u16, u16)> {
    let area = buffer.area;
    (0..area.height).find_map(|y| {
        let mut row = String::new();
        let mut columns = Vec::new();
        let mut x = 0;
        while x < area.width {
            let symbol = cell(buffer, x, y);
            row.push_str(symbol);
            columns.extend(symbol.chars().map(|_| x));
            x += u16::try_from(crate::ui::text::width(symbol).max(1)).unwrap_or(1);
        }
        let at = row.find(text)?;
        let index = row[..at].chars().count();
        columns.get(index).map(|&column| (column, y))
    })
}

#[test]
fn a_tap_on_a_pick_is_that_pick_and_selects_it() {
    for lang in LANGS {
        for size in SIZES {
            let mut s = with_picks_in(lang, Instant::now());
            let screen = Rect::new(0, 0, size.0, size.1);
            let t = kiosk_terminal(&s, size);
            for (i, (_, name, _)) in lang.picks.iter().enumerate() {
                let (x, y) = find(t.backend().buffer(), name)
                    .unwrap_or_else(|| panic!("{name} not on the {size:?} screen"));
                assert_eq!(pick_at(&s, screen, x, y), Some(i), "{name} at {size:?}");
            }
            // Header, footer and outside the screen choose nothing.
            assert_eq!(pick_at(&s, screen, 0, 0), None);
            assert_eq!(pick_at(&s, screen, 2, size.1 - 1), None);
            assert_eq!(pick_at(&s, screen, size.0 + 5, 3), None);
            // A tap selects and is recorded as a selection.
            let (x, y) = find(t.backend().buffer(), lang.picks[2].1).unwrap();
            let tapped = pick_at(&s, screen, x, y).unwrap();
            let effects = kiosk::update(&mut s, Input::TapPick(tapped));
            assert!(
                effects.iter().any(|e| matches!(
                    e,
                    kiosk::Effect::RecordInteraction {
                        kind: kiosk::InteractionKind::Select,
                        target: Some(t),
                        ..
                    } if t.sku == lang.picks[2].0
                )),
                "{effects:?}"
            );
            let after = kiosk_screen(&s, size);
            assert_ne!(after, t.backend().to_string(), "the selection moved");
            // Under the why panel the picks are covered: a tap there chooses nothing.
            kiosk::update(&mut s, Input::Key(Key::Char('?')));
            assert_eq!(pick_at(&s, screen, x, y), None);
            // An out-of-range tap (a stale hit test) is ignored.
            kiosk::update(&mut s, Input::Key(Key::Esc));
            assert!(kiosk::update(&mut s, Input::TapPick(7)).is_empty());
        }
    }
    // No session: nothing to tap.
    let s = start(Instant::now());
    assert_eq!(pick_at(&s, Rect::new(0, 0, 80, 24), 40, 12), None);
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

fn console_in(lang: &Lang, t0: Instant) -> console::State {
    console::State::new(t0).with_locale(lang.locale)
}

fn unlocked_in(lang: &Lang) -> console::State {
    console::tests::unlocked(Instant::now()).with_locale(lang.locale)
}

#[test]
fn console_pin_screens() {
    for lang in LANGS {
        let mut c = console_in(lang, Instant::now());
        console::tests::keys(&mut c, "48");
        snap_console(lang, "pin_entry", &c);
        console::tests::keys(&mut c, "2913");
        console::tests::press(&mut c, Key::Enter);
        console::update(
            &mut c,
            console::Input::PinResult {
                ok: false,
                locked_until: None,
            },
        );
        snap_console(lang, "pin_wrong", &c);
    }
}

#[test]
fn console_lockout_after_five_wrong_tries_is_displayed() {
    for (lang, locked) in [(&EN, "Locked for 4m 59s"), (&ZH, "已锁定 4分59秒")] {
        let t0 = Instant::now();
        let mut c = console_in(lang, t0);
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
        assert!(screen.contains(locked), "{screen}");
        snap_console(lang, "pin_locked", &c);
    }
}

#[test]
fn console_tabs() {
    for lang in LANGS {
        let mut c = unlocked_in(lang);
        snap_console(lang, "status_waiting", &c);
        feed_console(&mut c, lang.console_text);
        for (key, name) in [
            ('1', "status"),
            ('2', "logs"),
            ('3', "content"),
            ('5', "config"),
        ] {
            console::tests::keys(&mut c, &key.to_string());
            snap_console(lang, name, &c);
        }
        console::tests::keys(&mut c, "2l");
        snap_console(lang, "logs_warn", &c);
    }
}

#[test]
fn console_actions() {
    for lang in LANGS {
        let mut c = unlocked_in(lang);
        console::tests::keys(&mut c, "4");
        snap_console(lang, "actions", &c);
        console::tests::press(&mut c, Key::Up);
        console::tests::press(&mut c, Key::Up);
        console::tests::press(&mut c, Key::Enter);
        console::tests::keys(&mut c, LOYALTY);
        snap_console(lang, "actions_erase_entry", &c);
        console::tests::press(&mut c, Key::Enter);
        snap_console(lang, "actions_erase_confirm", &c);
        console::tests::keys(&mut c, "y");
        console::update(
            &mut c,
            console::Input::ActionDone {
                kind: console::ActionKind::EraseShopper,
                ok: true,
                message: lang.outcome.into(),
            },
        );
        snap_console(lang, "actions_done", &c);
        for size in SIZES {
            assert!(!console_screen(&c, size).contains(LOYALTY));
        }
    }
}
