//! The appliance's display stack, headless: the `cage` Wayland kiosk compositor (headless
//! backend, pixman renderer, no input devices) runs `foot` with the appliance's own
//! `firmware-config/foot.ini` (a CJK font from `fonts-noto-cjk`),
//! which shows the zh-CN demo kiosk (`shelftalk run` on the zh-CN demo data, in a tmux pane the
//! test drives); a loyalty scan, then a `grim` screenshot.
//!
//! What it checks, honestly: the screen text (tmux's copy of what `foot` draws) shows three picks
//! with complete Chinese copy and the Chinese header; then the PNG `grim` took (the same twice in
//! a row: the screen had settled) is the output's size, not blank, has the filled header bar
//! across the top and at least six long horizontal rules (the top and bottom borders of the three
//! stacked pick cards). No OCR: that the glyphs are
//! the right Chinese characters is not read from the pixels (the screenshot is saved for a person
//! to look at: `docs/zh-CN-kiosk.png` is one).
//!
//! cage refuses to run as root; as root (CI, this machine) everything on the display side runs as
//! `nobody` ([`shelftalk::unprivileged`]), with `XDG_RUNTIME_DIR`, `HOME` and the tmux sockets in
//! a 0700 directory `nobody` owns. Readiness is polled: the Wayland socket, the terminal attached
//! to tmux, the picks on screen, a screenshot that passes the checks; nothing sleeps a fixed time.
//!
//! Skipped with a note when `cage`, `foot`, `grim`, `tmux` or the fonts (`fonts-noto-cjk`,
//! `fonts-noto-color-emoji`, seen by `fc-list`) are missing — unless
//! `SHELFTALK_REQUIRE_DISPLAY=1` (`.ci/run` sets it; `scripts/install-deps.sh` installs them),
//! then it fails. Needs the model like the other end-to-end tests (`SHELFTALK_REQUIRE_MODEL`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;
#[path = "common/screenshot.rs"]
mod screenshot;
#[path = "common/tmux.rs"]
mod tmux;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use screenshot::{missing_tools, Settle};
use shelftalk::locale::Locale;
use shelftalk::unprivileged::User;
use tmux::{cards, Card, Kiosk, RunAs, UNHURRIED};

/// Bound for each wait: the compositor, the terminal, copy, a good screenshot.
const BOUND: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(50);

/// The compositor with its terminal; killed (and reaped) on drop.
struct Compositor {
    child: Child,
}

impl Drop for Compositor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cmd` with the display environment of `dir`.
fn display_env(mut cmd: Command, dir: &Path) -> Command {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_RUNTIME_DIR", dir)
        .env("TMUX_TMPDIR", dir)
        .env("LANG", "C.UTF-8")
        .env("WLR_BACKENDS", "headless")
        .env("WLR_LIBINPUT_NO_DEVICES", "1")
        .env("WLR_RENDERER", "pixman")
        .env("WAYLAND_DISPLAY", "wayland-0");
    cmd
}

fn wait<T>(what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + BOUND;
    loop {
        if let Some(t) = ready() {
            return t;
        }
        assert!(Instant::now() < deadline, "no {what} within {BOUND:?}");
        std::thread::sleep(POLL);
    }
}

#[test]
fn cage_foot_and_the_zh_cn_kiosk_screenshot_shows_the_picks() {
    let missing = missing_tools(&["cage", "foot", "grim", "tmux"]);
    if !missing.is_empty() {
        assert!(
            std::env::var_os("SHELFTALK_REQUIRE_DISPLAY").is_none(),
            "SHELFTALK_REQUIRE_DISPLAY is set but {missing:?} missing (scripts/install-deps.sh)"
        );
        eprintln!(
            "\n*** SKIPPED: {missing:?} not installed (scripts/install-deps.sh installs them); \
             the display test did not run ***\n"
        );
        return;
    }
    let Some(model) = common::model() else { return };
    let _one = common::one_model_at_a_time();

    // The display side's user (`nobody` as root, else ours) and its 0700 runtime directory.
    let user = User::when_root().unwrap();
    let runtime = tempfile::Builder::new()
        .prefix("shelftalk-display-")
        .tempdir()
        .unwrap();
    let dir = runtime.path().to_path_buf();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    if let Some(u) = user {
        std::os::unix::fs::chown(&dir, Some(u.uid), Some(u.gid)).unwrap();
    }
    let run_as = RunAs {
        user,
        dir: dir.clone(),
    };
    let k = Kiosk::start_as(&model, UNHURRIED, None, Locale::ZhCn, Some(run_as));

    // cage -s -- foot <attach to the kiosk's tmux pane>; the pane alone fills the terminal.
    k.tmux.run(&["set", "-g", "status", "off"]);
    let mut cage = display_env(User::command(user, "cage"), &dir);
    let foot_ini = common::root().join("firmware-config/foot.ini");
    cage.args(["-s", "--", "foot", "--config"])
        .arg(&foot_ini)
        .args(k.tmux.attach_command())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("cage.log")).unwrap());
    let _compositor = Compositor {
        child: cage.spawn().expect("cage starts"),
    };
    wait("Wayland socket", || {
        dir.join("wayland-0").exists().then_some(())
    });
    wait("foot attached to the kiosk", || {
        (!k.tmux.run(&["list-clients"]).trim().is_empty()).then_some(())
    });

    // A loyalty scan (pasted, never on a command line); all three picks' copy complete.
    let loyalty = k.loyalty.clone();
    k.tmux.type_secret(&loyalty);
    k.tmux.press(&["Enter"]);
    let (screen, picks) = k.tmux.wait_for("three picks with copy", BOUND, |s| {
        let picks: Vec<Card> = cards(s)
            .into_iter()
            .filter(|c| matches!(c.title.as_str(), "1" | "2" | "3"))
            .collect();
        (picks.len() == 3 && picks.iter().all(Card::complete)).then(|| (s.to_owned(), picks))
    });
    assert!(screen.contains("shelftalk · 为你挑选"), "{screen}");
    assert!(picks.iter().all(|c| c
        .copy
        .chars()
        .any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch))));

    // Screenshots until one shows the picks drawn and the next is the same (foot draws a moment
    // after tmux has the text; a shot taken mid-redraw is not kept).
    let shot_file = dir.join("shot.png");
    let mut settle = Settle::default();
    let png = wait("a settled screenshot of the picks", || {
        let mut grim = display_env(User::command(user, "grim"), &dir);
        let ok = grim.arg(&shot_file).status().is_ok_and(|s| s.success());
        let shot = if ok {
            std::fs::read(&shot_file).map_err(|e| e.to_string())
        } else {
            Err("grim failed".to_owned())
        };
        settle.offer(shot)
    });
    let last = settle.last;
    eprintln!("screenshot checks passed (last rejected: {last:?})");
    let keep: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("zh-CN-kiosk.png");
    std::fs::write(&keep, &png).unwrap();
    eprintln!("screenshot: {}\n{screen}", keep.display());
}
