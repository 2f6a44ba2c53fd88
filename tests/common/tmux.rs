//! A real terminal for the end-to-end tests and the kiosk latency bench: a private tmux server
//! whose one pane runs a plain `sh`; `shelftalk run` is typed into that shell on a demo data dir
//! (set up as `shelftalk demo` does), and the daemon's control socket reports the model's load
//! state and the content log (which copy came from the model, a template or the cache).
//!
//! Include with `mod common;` plus `#[path = "common/tmux.rs"] mod tmux;` (benches: the same
//! files through `#[path]`); it uses `crate::common`.
//!
//! Invariants:
//! - Every tmux call names the private socket of its [`Tmux`]; the server is killed and its socket
//!   file removed when the guard drops, on success and on panic, which also ends the daemon in
//!   its pane.
//! - Every capture is checked against the forbidden strings ([`Tmux::forbid`], e.g. a loyalty
//!   code and its digits): a leak fails at the poll that sees it, not only at the end.
//! - Waits poll with a bound and panic with the last screen when it passes; nothing sleeps a
//!   fixed time hoping for readiness.
//! - Card parsing assumes the stacked layout (width below 120 columns, cards under 11 rows):
//!   name, price line (with `$` or `¥`), copy (with `▌` while streaming), reason line starting
//!   with `»`.
//! - The pane runs this build's `shelftalk`, or the one `SHELFTALK_BENCH_BINARY` names (a
//!   before/after run of a bench against another build).
//! - A [`Kiosk`] runs in one locale ([`Kiosk::start_in`]); it waits for that locale's words.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use shelftalk::config::Config;
use shelftalk::control::{Client, Request, Response};
use shelftalk::daemon::copier::ContentRecord;
use shelftalk::daemon::demo;
use shelftalk::locale::Locale;
use shelftalk::ui::console::StatusView;
use shelftalk::unprivileged::User;

/// The pane's size: stacked cards, as on a portrait kiosk screen.
pub const WIDTH: u16 = 100;
pub const HEIGHT: u16 = 30;
/// A generous generation budget for tests about what reaches the screen, not speed, on a machine
/// that may be busy with builds (over budget, the kiosk falls back to template copy); no session
/// timeout while a test waits for copy; the copy cache off, so every session's copy is generated
/// and streams in.
#[allow(dead_code)] // Not every binary that includes this module waits for model copy.
pub const UNHURRIED: &[(&str, &str)] = &[
    ("SHELFTALK_ENGINE_BUDGET_MS", "30000"),
    ("SHELFTALK_SESSION_TIMEOUT_SECS", "600"),
    ("SHELFTALK_COPY_CACHE_TTL_SECS", "0"),
];
/// Time between two captures.
const POLL: Duration = Duration::from_millis(10);
/// Bound for the daemon to start and for the model to load.
const START_BOUND: Duration = Duration::from_secs(120);

/// A private tmux server with one `sh` pane; killed on drop.
pub struct Tmux {
    socket: String,
    /// The socket file, known once the server runs.
    socket_file: Option<PathBuf>,
    forbidden: Vec<String>,
    /// Who the server (and so the pane's shell) runs as, and its home and socket directory; the
    /// current user with its own when `None`.
    run_as: Option<RunAs>,
}

/// Where a tmux server (and the daemon in its pane) runs: as `user` (`None`: this process's
/// user), with `HOME` and `TMUX_TMPDIR` in `dir`, which that user owns.
#[derive(Debug, Clone)]
pub struct RunAs {
    pub user: Option<User>,
    pub dir: PathBuf,
}

impl Tmux {
    /// Starts the server and a detached [`WIDTH`]×[`HEIGHT`] session running `sh` (prompt `$ `)
    /// in the repository root.
    #[allow(dead_code)] // Not every binary that includes this module starts a bare server.
    pub fn start() -> Self {
        Self::start_as(None)
    }

    /// [`Tmux::start`] with the server running as [`RunAs`] says: a terminal running as that
    /// user with the same `TMUX_TMPDIR` can attach.
    pub fn start_as(run_as: Option<RunAs>) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let mut tmux = Self {
            socket: format!(
                "shelftalk-e2e-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::SeqCst)
            ),
            socket_file: None,
            forbidden: Vec::new(),
            run_as,
        };
        let root = crate::common::root();
        let (w, h) = (WIDTH.to_string(), HEIGHT.to_string());
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "kiosk",
            "-x",
            &w,
            "-y",
            &h,
            "-c",
            root.to_str().unwrap(),
            "env",
            "PS1=$ ",
            "sh",
        ]);
        let file = tmux.run(&["display", "-p", "#{socket_path}"]);
        tmux.socket_file = Some(PathBuf::from(file.trim()));
        tmux
    }

    /// The command that attaches a terminal to this server's session (a `foot` window, say).
    #[allow(dead_code)] // Not every binary that includes this module shows the pane elsewhere.
    pub fn attach_command(&self) -> Vec<String> {
        [
            "tmux",
            "-L",
            &self.socket,
            "-f",
            "/dev/null",
            "attach",
            "-t",
            "kiosk",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// A tmux client of this server, as the server's user.
    fn client(&self) -> Command {
        let user = self.run_as.as_ref().and_then(|r| r.user);
        let mut cmd = User::command(user, "tmux");
        if let Some(RunAs { dir, .. }) = &self.run_as {
            cmd.env("HOME", dir).env("TMUX_TMPDIR", dir);
        }
        cmd.args(["-L", &self.socket, "-f", "/dev/null"]);
        cmd
    }

    /// Runs one tmux command on this server; panics when it fails.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self
            .client()
            .args(args)
            .output()
            .expect("tmux is installed");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// From now on no capture may contain `text`.
    pub fn forbid(&mut self, text: &str) {
        self.forbidden.push(text.to_owned());
    }

    /// What the pane shows now (the alternate screen while one is active).
    pub fn capture(&self) -> String {
        let screen = self.run(&["capture-pane", "-p", "-t", "kiosk"]);
        for f in &self.forbidden {
            assert!(!screen.contains(f.as_str()), "{f:?} on screen:\n{screen}");
        }
        screen
    }

    /// Types `text` literally (no key names), as a scanner or a person would.
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "kiosk", "-l", text]);
    }

    /// Types `text` literally like [`Tmux::type_text`], but never on a command line: it goes to
    /// tmux on standard input (`load-buffer -`) and is pasted into the pane (`paste-buffer -d`,
    /// which deletes the buffer), so no `ps` ever shows it. For loyalty numbers.
    #[allow(dead_code)] // Not every binary that includes this module types a secret.
    pub fn type_secret(&self, text: &str) {
        use std::io::Write;
        let mut child = self
            .client()
            .args(["load-buffer", "-b", "secret", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("tmux is installed");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "tmux load-buffer");
        self.run(&["paste-buffer", "-d", "-b", "secret", "-t", "kiosk"]);
    }

    /// Presses keys by tmux name (`Enter`, `Right`, `d`, …).
    pub fn press(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "kiosk"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Polls the screen until `found` returns `Some`, for at most `bound`; panics naming `what`
    /// with the last screen otherwise.
    pub fn wait_for<T>(
        &self,
        what: &str,
        bound: Duration,
        mut found: impl FnMut(&str) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + bound;
        loop {
            let screen = self.capture();
            if let Some(t) = found(&screen) {
                return t;
            }
            if Instant::now() >= deadline {
                let repainted = self.repainted();
                let verdict = if repainted == screen {
                    "unchanged"
                } else {
                    "changed (unless the screen was animating, the terminal had kept cells the \
                     app drew over)"
                };
                panic!(
                    "no {what} within {bound:?}; the screen:\n{screen}\n\
                     {verdict} by a full repaint (the window one column wider and back):\n\
                     {repainted}"
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// The screen after the app has drawn it whole again: the window is made one column wider
    /// and then its own width again, each a resize the app answers with a clear and a full
    /// draw. For a failure's report: a stale cell (one the terminal kept though the app drew
    /// over it) shows as a difference from the screen before.
    fn repainted(&self) -> String {
        let widest = |screen: &str| screen.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        let settle = |width: u16| {
            self.run(&["resize-window", "-t", "kiosk", "-x", &width.to_string()]);
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut last = String::new();
            loop {
                let screen = self.capture();
                let drawn = widest(&screen) == usize::from(width) && screen == last;
                if drawn || Instant::now() >= deadline {
                    return screen;
                }
                last = screen;
                std::thread::sleep(POLL);
            }
        };
        settle(WIDTH + 1);
        settle(WIDTH)
    }

    /// Like [`Tmux::wait_for`], but `found` must hold on two captures in a row that are the same
    /// screen: a whole frame, not one caught while the terminal was still drawing it (tmux can be
    /// captured between the chunks of one frame's output, showing a box without its bottom
    /// border). For assertions about everything on screen.
    #[allow(dead_code)] // Not every binary that includes this module needs a settled screen.
    pub fn wait_settled<T>(
        &self,
        what: &str,
        bound: Duration,
        mut found: impl FnMut(&str) -> Option<T>,
    ) -> (String, T) {
        let mut last = String::new();
        self.wait_for(what, bound, |screen| {
            let settled = screen == last;
            last = screen.to_owned();
            if settled {
                found(screen).map(|t| (screen.to_owned(), t))
            } else {
                None
            }
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.client().arg("kill-server").output();
        if let Some(file) = &self.socket_file {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// A product card read back from the screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// The border title: `1`-`3` for picks, `Featured` in the attract loop.
    pub title: String,
    /// The copy as shown, wrapped lines joined with single spaces, without the cursor.
    pub copy: String,
    /// Copy is still streaming in (the `▌` cursor is shown).
    pub streaming: bool,
    /// The reason line without its `»`.
    pub reason: String,
}

impl Card {
    /// Copy is fully on screen: some text and no cursor.
    pub fn complete(&self) -> bool {
        !self.streaming && !self.copy.is_empty()
    }
}

/// Collapses runs of whitespace into one space and drops zero-width characters (wrapped text
/// compares with its source).
pub fn squash(text: &str) -> String {
    // A terminal's capture has no zero-width characters: a variation selector after an emoji
    // (`🛍\u{fe0f}` in the content log, `🛍` on screen) or a joiner.
    let visible: String = text
        .chars()
        .filter(|c| !matches!(c, '\u{fe00}'..='\u{fe0f}' | '\u{200b}'..='\u{200d}' | '\u{2060}'))
        .collect();
    visible.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The product cards on a screen, top to bottom.
pub fn cards(screen: &str) -> Vec<Card> {
    let mut out = Vec::new();
    let mut open: Option<(String, Vec<String>)> = None;
    for line in screen.lines().map(str::trim) {
        let mut chars = line.chars();
        match chars.next() {
            Some('┌' | '┏') => {
                let title = chars
                    .as_str()
                    .trim_matches(|c| matches!(c, '─' | '━' | '┐' | '┓'))
                    .trim();
                open = Some((title.to_owned(), Vec::new()));
            }
            Some('└' | '┗') => {
                if let Some((title, lines)) = open.take() {
                    out.push(card(title, &lines));
                }
            }
            Some('│' | '┃') => {
                if let Some((_, lines)) = open.as_mut() {
                    let inner = chars.as_str().trim_end_matches(['│', '┃']).trim();
                    lines.push(inner.to_owned());
                }
            }
            _ => {}
        }
    }
    out
}

fn card(title: String, lines: &[String]) -> Card {
    // lines[0] is the product's name.
    let price = lines
        .iter()
        .skip(1)
        .position(|l| l.contains('$') || l.contains('¥'));
    let body_start = price.map_or(1, |i| i + 2);
    let reason_at = lines
        .iter()
        .position(|l| l.starts_with('»'))
        .unwrap_or(lines.len())
        .max(body_start);
    let body = lines
        .get(body_start..reason_at)
        .unwrap_or_default()
        .join(" ");
    let reason = lines.get(reason_at..).unwrap_or_default().join(" ");
    Card {
        title,
        streaming: body.contains('▌'),
        copy: squash(&body.replace('▌', " ")),
        reason: squash(reason.trim_start_matches('»')),
    }
}

/// The `shelftalk` the pane runs: this build's, or `SHELFTALK_BENCH_BINARY` (another build's,
/// for a before/after run of the same bench).
fn binary() -> PathBuf {
    std::env::var_os("SHELFTALK_BENCH_BINARY").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_shelftalk")),
        PathBuf::from,
    )
}

/// Hands `path` and everything under it to `user`.
fn chown_tree(path: &Path, user: User) {
    std::os::unix::fs::lchown(path, Some(user.uid), Some(user.gid)).unwrap();
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), user);
        }
    }
}

/// Quotes `s` for `sh`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `shelftalk run` in a tmux pane on a fresh demo data dir, with a console connection.
pub struct Kiosk {
    pub tmux: Tmux,
    /// The daemon's configuration (data dir, model) as the test sees it.
    #[allow(dead_code)] // Not every binary that includes this module reads the config.
    pub config: Config,
    /// A loyalty code of the demo log with the most history: a personal session.
    #[allow(dead_code)] // Not every binary that includes this module uses the demo's code.
    pub loyalty: String,
    console: Client,
    rt: tokio::runtime::Runtime,
    pid_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Kiosk {
    /// Sets up a demo data dir (keys, demo catalog and behaviour log, console PIN), types
    /// `shelftalk run` into the pane's shell with `env` as extra configuration, and waits for
    /// the attract loop and for the model to be ready. The loyalty code is forbidden on screen.
    #[allow(dead_code)] // Not every binary that includes this module keeps standard error.
    pub fn start(model: &Path, env: &[(&str, &str)]) -> Self {
        Self::start_with_stderr(model, env, None)
    }

    /// [`Kiosk::start`] with the daemon's standard error appended to `stderr` (a panic's message
    /// lands there; the screen owns standard output).
    pub fn start_with_stderr(model: &Path, env: &[(&str, &str)], stderr: Option<&Path>) -> Self {
        Self::start_in(model, env, stderr, Locale::En)
    }

    /// [`Kiosk::start_with_stderr`] on the demo data of `locale` (`shelftalk demo --locale`'s
    /// set-up: its catalog, log and config file with the locale and its currency).
    pub fn start_in(
        model: &Path,
        env: &[(&str, &str)],
        stderr: Option<&Path>,
        locale: Locale,
    ) -> Self {
        Self::start_as(model, env, stderr, locale, None)
    }

    /// [`Kiosk::start_in`] with the tmux server and the daemon running as [`RunAs`] says, the
    /// demo data dir handed to its user: a compositor and terminal running as that user can
    /// attach to the pane ([`Tmux::attach_command`]).
    pub fn start_as(
        model: &Path,
        env: &[(&str, &str)],
        stderr: Option<&Path>,
        locale: Locale,
        run_as: Option<RunAs>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().join("data"),
            model_path: model.to_path_buf(),
            locale,
            ..Config::default()
        };
        let demo_dir = demo::source_dir(&crate::common::root().join("demo"), locale);
        let setup = demo::prepare(&config, &demo_dir).unwrap();
        let loyalty = setup.loyalty_codes.first().cloned().expect("demo codes");
        if let Some(user) = run_as.as_ref().and_then(|r| r.user) {
            chown_tree(dir.path(), user);
        }
        let mut tmux = Tmux::start_as(run_as);
        tmux.forbid(&loyalty);
        tmux.forbid(loyalty.trim_start_matches(|c: char| c.is_ascii_alphabetic()));

        let pid_file = dir.path().join("daemon.pid");
        let mut line = format!(
            "sh -c 'echo $$ > \"$0\"; exec \"$@\"' {} env SHELFTALK_MODEL_PATH={} SHELFTALK_HQ_URL=http://127.0.0.1:9 SHELFTALK_EXPERIMENT_HOLDOUT_SHARE=0",
            quote(pid_file.to_str().unwrap()),
            quote(model.to_str().unwrap()),
        );
        for (k, v) in env {
            line.push_str(&format!(" {k}={}", quote(v)));
        }
        line.push_str(&format!(
            " {} --config {} --data-dir {} run",
            quote(binary().to_str().unwrap()),
            quote(setup.config_file.to_str().unwrap()),
            quote(config.data_dir.to_str().unwrap()),
        ));
        if let Some(file) = stderr {
            line.push_str(&format!(" 2>>{}", quote(file.to_str().unwrap())));
        }
        line.push_str("; echo EXIT=$?");
        tmux.wait_for("shell prompt", START_BOUND, |s| {
            s.contains('$').then_some(())
        });
        tmux.type_text(&line);
        tmux.press(&["Enter"]);
        let words = shelftalk::i18n::messages(locale);
        let welcome = words.with(
            "kiosk-header",
            &[("title", (&words.get("kiosk-title-attract")).into())],
        );
        tmux.wait_for("attract loop", START_BOUND, |s| {
            assert!(exit_status(s).is_none(), "the daemon did not start:\n{s}");
            s.contains(&welcome).then_some(())
        });

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let socket = shelftalk::daemon::socket_path(&config.data_dir);
        let mut console = rt.block_on(async {
            let deadline = Instant::now() + START_BOUND;
            loop {
                match Client::connect(&socket).await {
                    Ok(c) => break c,
                    Err(e) if Instant::now() >= deadline => panic!("control socket: {e}"),
                    Err(_) => tokio::time::sleep(POLL).await,
                }
            }
        });
        let pin = Request::Pin {
            pin: demo::DEMO_PIN.into(),
        };
        let answer = rt.block_on(console.call(&pin)).unwrap();
        assert!(matches!(answer, Response::Ok { .. }), "{answer:?}");
        let mut kiosk = Self {
            tmux,
            config,
            loyalty,
            console,
            rt,
            pid_file,
            _dir: dir,
        };
        kiosk.wait_model_ready();
        kiosk
    }

    fn call<T: serde::de::DeserializeOwned>(&mut self, request: &Request) -> T {
        match self.rt.block_on(self.console.call(request)).unwrap() {
            Response::Ok { body } => serde_json::from_value(body).unwrap(),
            other => panic!("{request:?}: {other:?}"),
        }
    }

    fn wait_model_ready(&mut self) {
        let deadline = Instant::now() + START_BOUND;
        loop {
            let status: StatusView = self.call(&Request::Status);
            match status.model_state.as_str() {
                "ready" => return,
                s if s.starts_with("failed") => panic!("model: {s}"),
                s if Instant::now() >= deadline => panic!("model still {s} after {START_BOUND:?}"),
                _ => std::thread::sleep(POLL),
            }
        }
    }

    /// The console's Status tab as data.
    #[allow(dead_code)] // Not every binary that includes this module reads the status.
    pub fn status(&mut self) -> StatusView {
        self.call(&Request::Status)
    }

    /// The daemon's process id.
    #[allow(dead_code)] // Not every binary that includes this module reads /proc.
    pub fn pid(&self) -> u32 {
        std::fs::read_to_string(&self.pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// Where the copy `shown` on screen came from (`model`, `template`, `cache`): the newest
    /// record of the daemon's content log (the console's Content tab) with that text.
    #[allow(dead_code)] // Not every binary that includes this module reads the content log.
    pub fn copy_source(&mut self, shown: &str) -> Option<String> {
        let content: Vec<ContentRecord> = self.call(&Request::Content);
        content
            .into_iter()
            .rev()
            .find(|r| squash(&r.text) == shown)
            .map(|r| r.source)
    }

    /// Types a code like a scanner: the characters, then Enter. Returns when Enter was sent.
    #[allow(dead_code)] // Not every binary that includes this module scans by typing.
    pub fn scan(&self, code: &str) -> Instant {
        self.tmux.type_text(code);
        let enter = Instant::now();
        self.tmux.press(&["Enter"]);
        enter
    }

    /// Sends SIGTERM to the daemon.
    #[allow(dead_code)] // Not every binary that includes this module stops the daemon.
    pub fn terminate(&self) {
        let pid = std::fs::read_to_string(&self.pid_file).unwrap();
        let status = Command::new("kill")
            .args(["-TERM", pid.trim()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the daemon to exit (the shell prints `EXIT=<status>`) and returns the status.
    #[allow(dead_code)] // Not every binary that includes this module stops the daemon.
    pub fn wait_exit(&self, bound: Duration) -> i32 {
        self.tmux.wait_for("daemon exit", bound, exit_status)
    }
}

/// The status the shell printed after the daemon exited: a line `EXIT=<number>` (the typed
/// command's own `EXIT=$?` may wrap onto a line of its own, so the number is required).
fn exit_status(screen: &str) -> Option<i32> {
    screen
        .lines()
        .find_map(|l| l.trim().strip_prefix("EXIT=")?.parse().ok())
}
