//! The daemon's two screen loops run whole on a `TestBackend`, without tmux: the kiosk loop
//! (`daemon::kiosk::run_screen_on`) over a real daemon on a demo data dir, and the console loop
//! (`daemon::console::run_on`) against that daemon's real control socket. Keys go in through a
//! channel, the way the crossterm reader thread hands them over.
//!
//! No model: the model path names a missing file, so the copy worker serves template copy (as the
//! kiosk does until a model is loaded). Every wait is for a condition on the screen, woken by each
//! draw and bounded by a deadline; nothing sleeps hoping for readiness.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use shelftalk::config::Config;
use shelftalk::control::Client;
use shelftalk::daemon::{console, demo, kiosk, socket_path, Daemon};
use shelftalk::locale::Locale;
use shelftalk::ui::term::{TermEvent, TerminalGuard};
use shelftalk::ui::Key;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

/// The kiosk's size: stacked cards, as on a portrait kiosk screen.
const WIDTH: u16 = 100;
const HEIGHT: u16 = 30;
/// Bound for one thing to reach the screen (the machine may be busy with builds).
const BOUND: Duration = Duration::from_secs(60);

/// A `TestBackend` the test reads while a loop draws on it; every flush (the end of a draw) bumps
/// a counter that wakes [`Screen::wait_for`].
#[derive(Clone)]
struct Screen {
    backend: Arc<Mutex<TestBackend>>,
    draws: Arc<watch::Sender<u64>>,
}

impl Screen {
    fn new() -> Self {
        Self {
            backend: Arc::new(Mutex::new(TestBackend::new(WIDTH, HEIGHT))),
            draws: Arc::new(watch::Sender::new(0)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, TestBackend> {
        self.backend.lock().unwrap()
    }

    /// The screen as text, one line per row.
    fn text(&self) -> String {
        let backend = self.lock();
        let buffer = backend.buffer();
        let area = buffer.area;
        (area.top()..area.bottom())
            .map(|y| {
                (area.left()..area.right())
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits until `probe` finds what it looks for on the screen, checking after every draw;
    /// `check` runs on every screen seen (a leak fails at the draw that shows it).
    async fn wait_for<T>(
        &self,
        what: &str,
        check: impl Fn(&str),
        probe: impl Fn(&str) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + BOUND;
        let mut draws = self.draws.subscribe();
        loop {
            draws.borrow_and_update();
            let text = self.text();
            check(&text);
            if let Some(found) = probe(&text) {
                return found;
            }
            let changed = tokio::time::timeout_at(deadline, draws.changed()).await;
            assert!(
                matches!(changed, Ok(Ok(()))),
                "{what}: not on screen within {BOUND:?}; the screen:\n{text}"
            );
        }
    }
}

impl Backend for Screen {
    type Error = Infallible;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Infallible>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.lock().draw(content)
    }

    fn append_lines(&mut self, n: u16) -> Result<(), Infallible> {
        self.lock().append_lines(n)
    }

    fn hide_cursor(&mut self) -> Result<(), Infallible> {
        self.lock().hide_cursor()
    }

    fn show_cursor(&mut self) -> Result<(), Infallible> {
        self.lock().show_cursor()
    }

    fn get_cursor_position(&mut self) -> Result<Position, Infallible> {
        self.lock().get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Infallible> {
        self.lock().set_cursor_position(position)
    }

    fn clear(&mut self) -> Result<(), Infallible> {
        self.lock().clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Infallible> {
        self.lock().clear_region(clear_type)
    }

    fn size(&self) -> Result<Size, Infallible> {
        self.lock().size()
    }

    fn window_size(&mut self) -> Result<WindowSize, Infallible> {
        self.lock().window_size()
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        self.lock().flush()?;
        self.draws.send_modify(|n| *n += 1);
        Ok(())
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A demo data dir as `shelftalk demo` sets it up, and the config the daemon runs with: the
/// demo's config file (with the demo PIN), no model, a session that outlasts any wait here.
fn demo_dir(data: &Path) -> (Config, demo::DemoSetup) {
    let base = Config {
        data_dir: data.to_path_buf(),
        ..Config::default()
    };
    let setup = demo::prepare(&base, &root().join("demo")).unwrap();
    assert!(setup.created);
    let mut config = Config::load(Some(&setup.config_file), Vec::new()).unwrap();
    // These tests check the personalised path: no holdout.
    config.experiment = shelftalk::experiment::ExperimentConfig::off();
    config.data_dir = data.to_path_buf();
    config.model_path = data.join("no-model.gguf");
    config.session_timeout_secs = 600;
    (config, setup)
}

/// A daemon on `config` and its kiosk loop on a `TestBackend`: the daemon, the screen, the key
/// sender, the stop signal and the loop's future (to be awaited beside the shopper's). A tuple,
/// not a struct: the future is an unnamed type the caller awaits by value.
#[allow(clippy::type_complexity)]
fn kiosk_loop(
    config: Config,
    config_file: &Path,
) -> (
    Arc<Daemon>,
    Screen,
    mpsc::UnboundedSender<TermEvent>,
    oneshot::Sender<()>,
    impl std::future::Future<Output = Result<(), shelftalk::daemon::DaemonError>>,
) {
    let (answers_tx, answers_rx) = mpsc::unbounded_channel();
    let daemon = Daemon::open(config, Some(config_file.to_path_buf()), answers_tx).unwrap();
    let screen = Screen::new();
    let guard = TerminalGuard::headless(screen.clone()).unwrap();
    let (keys, keys_rx) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let screen_loop = kiosk::run_screen_on(
        guard,
        keys_rx,
        Arc::clone(&daemon),
        answers_rx,
        async move {
            let _ = stopped.await;
        },
        |_| {},
    );
    (daemon, screen, keys, stop, screen_loop)
}

fn type_text(keys: &mpsc::UnboundedSender<TermEvent>, text: &str) {
    for c in text.chars() {
        keys.send(TermEvent::Key(Key::Char(c))).unwrap();
    }
}

fn press(keys: &mpsc::UnboundedSender<TermEvent>, key: Key) {
    keys.send(TermEvent::Key(key)).unwrap();
}

/// Product cards on screen: (border title, first line inside: the product's name).
fn cards(screen: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = screen.lines().map(str::trim).collect();
    lines
        .iter()
        .zip(lines.iter().skip(1))
        .filter(|(top, _)| top.starts_with(['┌', '┏']))
        .map(|(top, first)| {
            let title = top.trim_matches(|c| matches!(c, '─' | '━' | '┌' | '┏' | '┐' | '┓' | ' '));
            let name = first.trim_matches(|c| matches!(c, '│' | '┃' | ' '));
            (title.to_owned(), name.to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_loop_shows_a_shoppers_picks_and_stops_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let (config, setup) = demo_dir(dir.path());
    let code = setup.loyalty_codes.first().cloned().unwrap();
    let digits = code.trim_start_matches("LC").to_owned();
    let catalog = std::fs::read_to_string(root().join("demo/catalog.csv")).unwrap();

    let (answers_tx, answers_rx) = mpsc::unbounded_channel();
    let daemon = Daemon::open(config, Some(setup.config_file.clone()), answers_tx).unwrap();
    let screen = Screen::new();
    let guard = TerminalGuard::headless(screen.clone()).unwrap();
    let (keys, keys_rx) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let beats = Arc::new(AtomicUsize::new(0));
    let heartbeat = {
        let beats = Arc::clone(&beats);
        move |_| {
            beats.fetch_add(1, Ordering::SeqCst);
        }
    };
    let screen_loop = kiosk::run_screen_on(
        guard,
        keys_rx,
        Arc::clone(&daemon),
        answers_rx,
        shutdown,
        heartbeat,
    );

    let shopper = async {
        // The code is typed like a scanner and is never on screen, whole or its digits.
        let no_code = |s: &str| {
            assert!(!s.contains(&code), "loyalty code on screen:\n{s}");
            assert!(!s.contains(&digits), "loyalty digits on screen:\n{s}");
        };
        screen
            .wait_for("the attract loop", no_code, |s| {
                s.contains("Welcome").then_some(())
            })
            .await;
        type_text(&keys, &code);
        press(&keys, Key::Enter);
        let picks = screen
            .wait_for("the shopper's picks with their copy", no_code, |s| {
                let picks = cards(s);
                let complete = s.contains("Picked for you")
                    && !picks.is_empty()
                    && picks
                        .iter()
                        .all(|(title, _)| ["1", "2", "3"].contains(&title.as_str()))
                    && !s.contains('▌');
                complete.then_some(picks)
            })
            .await;
        for (title, name) in &picks {
            assert!(
                !name.is_empty() && catalog.contains(name.as_str()),
                "card {title} names no demo product: {name:?}"
            );
        }
        // Done: the goodbye screen, nothing of the shopper left on it.
        type_text(&keys, "d");
        let goodbye = screen
            .wait_for("the goodbye screen", no_code, |s| {
                s.contains("Thank you for visiting!").then(|| s.to_owned())
            })
            .await;
        for (_, name) in &picks {
            assert!(!goodbye.contains(name.as_str()), "{name} left on screen");
        }
        stop.send(()).unwrap();
    };
    let (result, ()) = tokio::join!(screen_loop, shopper);
    result.unwrap();
    assert!(
        beats.load(Ordering::SeqCst) > 0,
        "the loop ticks the watchdog"
    );
    // The loop is over: its key source is dropped, so sending fails.
    assert!(keys.send(TermEvent::Key(Key::Enter)).is_err());
    let stopper = Arc::clone(&daemon);
    tokio::task::spawn_blocking(move || stopper.stop())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_loop_locks_unlocks_with_the_demo_pin_and_quits() {
    let dir = tempfile::tempdir().unwrap();
    let (config, setup) = demo_dir(dir.path());
    let (answers, _screen_answers) = mpsc::unbounded_channel();
    let daemon = Daemon::open(config, Some(setup.config_file.clone()), answers).unwrap();
    let (stop_server, server_stopped) = watch::channel(false);
    let server = {
        let d = Arc::clone(&daemon);
        tokio::spawn(async move { d.serve_control(server_stopped).await })
    };
    let sock = socket_path(dir.path());
    let connect = || async {
        let deadline = Instant::now() + BOUND;
        loop {
            match Client::connect(&sock).await {
                Ok(client) => return client,
                Err(e) => assert!(
                    Instant::now() < deadline,
                    "control socket not up within {BOUND:?}: {e}"
                ),
            }
            // The socket appears once the server task has bound it; try again shortly.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };

    // 1. The lock screen; the technician walks away (the key source ends): the loop ends.
    let screen = Screen::new();
    let (keys, keys_rx) = mpsc::unbounded_channel();
    let console_loop = console::run_on(
        connect().await,
        TerminalGuard::headless(screen.clone()).unwrap(),
        keys_rx,
        Locale::En,
    );
    let technician = async {
        screen
            .wait_for(
                "the lock screen",
                |_| {},
                |s| {
                    (s.contains("Technician PIN") && s.contains("Enter the technician PIN."))
                        .then_some(())
                },
            )
            .await;
        drop(keys);
    };
    let (result, ()) = tokio::join!(console_loop, technician);
    result.unwrap();

    // 2. The demo PIN (masked while typed) unlocks the status tab, fed by the daemon; `q` quits.
    let screen = Screen::new();
    let (keys, keys_rx) = mpsc::unbounded_channel();
    let console_loop = console::run_on(
        connect().await,
        TerminalGuard::headless(screen.clone()).unwrap(),
        keys_rx,
        Locale::En,
    );
    let technician = async {
        screen
            .wait_for(
                "the lock screen",
                |_| {},
                |s| s.contains("Technician PIN").then_some(()),
            )
            .await;
        type_text(&keys, demo::DEMO_PIN);
        let masked = "*".repeat(demo::DEMO_PIN.len());
        let no_pin = |s: &str| assert!(!s.contains(demo::DEMO_PIN), "PIN on screen:\n{s}");
        screen
            .wait_for("the masked PIN", no_pin, |s| {
                s.contains(&format!("PIN: {masked}")).then_some(())
            })
            .await;
        press(&keys, Key::Enter);
        screen
            .wait_for(
                "the daemon's status",
                |_| {},
                |s| {
                    (s.contains("1 Status")
                        && s.contains("Database rows")
                        && s.contains("shoppers"))
                    .then_some(())
                },
            )
            .await;
        type_text(&keys, "q");
        keys
    };
    let (result, keys) = tokio::join!(console_loop, technician);
    result.unwrap();
    assert!(
        keys.send(TermEvent::Key(Key::Enter)).is_err(),
        "q ended the loop"
    );

    let _ = stop_server.send(true);
    server.await.unwrap().unwrap();
    let stopper = Arc::clone(&daemon);
    tokio::task::spawn_blocking(move || stopper.stop())
        .await
        .unwrap();
}

/// `shelftalk recommend` for a shopper, with the same config as the daemon.
fn recommend_names(
    data: &Path,
    config_file: &Path,
    env: &[(&str, &str)],
    code: &str,
) -> Vec<String> {
    let number = data.join("number.txt");
    std::fs::write(&number, format!("{code}\n")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .current_dir(root())
        .envs(env.iter().copied())
        .arg("--config")
        .arg(config_file)
        .arg("--data-dir")
        .arg(data)
        .args(["recommend", "--loyalty-file"])
        .arg(&number)
        .args(["-n", "3", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["picks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

/// `shelftalk recommend` and the kiosk give the same picks for the same shopper and config —
/// also a config whose `[recommend]` weights differ from the defaults (the CLI once ranked with
/// the defaults whatever the config said).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recommend_and_the_kiosk_pick_the_same_for_the_same_config() {
    let dir = tempfile::tempdir().unwrap();
    let (_, setup) = demo_dir(dir.path());
    let code = setup.loyalty_codes.first().cloned().unwrap();
    // Popularity only: a ranking the default weights do not give this shopper.
    let env = [
        ("SHELFTALK_RECOMMEND_WEIGHTS_AFFINITY", "0"),
        ("SHELFTALK_RECOMMEND_WEIGHTS_POPULARITY", "1"),
        ("SHELFTALK_RECOMMEND_WEIGHTS_CO_OCCURRENCE", "0"),
        ("SHELFTALK_RECOMMEND_WEIGHTS_PRICE_FIT", "0"),
        ("SHELFTALK_RECOMMEND_WEIGHTS_JOURNEY", "0"),
    ];
    let cli = recommend_names(dir.path(), &setup.config_file, &env, &code);
    let cli_default = recommend_names(dir.path(), &setup.config_file, &[], &code);
    assert_eq!(cli.len(), 3, "{cli:?}");
    assert_ne!(cli, cli_default, "the config's weights change the picks");

    let mut config = Config::load(
        Some(&setup.config_file),
        env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
    )
    .unwrap();
    config.data_dir = dir.path().to_path_buf();
    config.model_path = dir.path().join("no-model.gguf");
    config.session_timeout_secs = 600;
    // The personalised path (the CLI has no session, so no arm).
    config.experiment = shelftalk::experiment::ExperimentConfig::off();
    assert_eq!(config.recommend.weights.popularity, 1.0);
    let (daemon, screen, keys, stop, screen_loop) = kiosk_loop(config, &setup.config_file);
    let shopper = async {
        screen
            .wait_for(
                "the attract loop",
                |_| {},
                |s| s.contains("Welcome").then_some(()),
            )
            .await;
        type_text(&keys, &code);
        press(&keys, Key::Enter);
        let names = screen
            .wait_for(
                "the shopper's picks",
                |_| {},
                |s| {
                    let picks = cards(s);
                    (s.contains("Picked for you") && picks.len() == 3)
                        .then(|| picks.into_iter().map(|(_, name)| name).collect::<Vec<_>>())
                },
            )
            .await;
        stop.send(()).unwrap();
        names
    };
    let (result, on_screen) = tokio::join!(screen_loop, shopper);
    result.unwrap();
    // Card lines are cut to the card's width: compare each name's start.
    for (shown, listed) in on_screen.iter().zip(&cli) {
        assert!(
            !shown.is_empty() && listed.starts_with(shown.trim_end_matches('…')),
            "kiosk {on_screen:?} vs recommend {cli:?}"
        );
    }
    let stopper = Arc::clone(&daemon);
    tokio::task::spawn_blocking(move || stopper.stop())
        .await
        .unwrap();
}

/// A session in the holdout (here every session: `holdout_share = 1`) gets the store's popular
/// picks with template copy at once, the screen does not call them personal, and its impressions
/// are recorded in the holdout arm with its probability and as template copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holdout_session_shows_popular_picks_with_template_copy_and_records_its_arm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, setup) = demo_dir(dir.path());
    config.experiment.holdout_share = 1.0;
    let code = setup.loyalty_codes.first().cloned().unwrap();
    let db = config.db_path();
    let (daemon, screen, keys, stop, screen_loop) = kiosk_loop(config, &setup.config_file);
    let shopper = async {
        screen
            .wait_for(
                "the attract loop",
                |_| {},
                |s| s.contains("Welcome").then_some(()),
            )
            .await;
        type_text(&keys, &code);
        press(&keys, Key::Enter);
        screen
            .wait_for(
                "the holdout's popular picks with their copy",
                |s| {
                    assert!(
                        !s.contains("Picked for you"),
                        "holdout called personal:\n{s}"
                    )
                },
                |s| {
                    (s.contains("Popular picks") && cards(s).len() == 3 && !s.contains('▌'))
                        .then_some(())
                },
            )
            .await;
        type_text(&keys, "d");
        screen
            .wait_for(
                "the goodbye screen",
                |_| {},
                |s| s.contains("Thank you for visiting!").then_some(()),
            )
            .await;
        stop.send(()).unwrap();
    };
    let ((), result) = tokio::join!(shopper, screen_loop);
    result.unwrap();
    let stopper = Arc::clone(&daemon);
    tokio::task::spawn_blocking(move || stopper.stop())
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let rows: Vec<(String, f64, String, String)> = conn
        .prepare("SELECT arm, arm_propensity, content_kind, segment FROM feedback_impressions")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    for row in rows {
        assert_eq!(
            row,
            ("holdout".into(), 1.0, "template".into(), "all".into()),
            "the holdout reads nothing of the shopper"
        );
    }
}
