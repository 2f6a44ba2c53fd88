//! `shelftalk run` under a fake systemd: a real `NOTIFY_SOCKET` listener (a Unix datagram socket
//! in a temp dir), the real binary on a real terminal (a private tmux server), a provisioned data
//! dir and the real model. `READY=1` comes only after the health gate; a broken model never gets
//! it and the daemon exits non-zero saying why; watchdog pings follow `WATCHDOG_USEC`; SIGTERM
//! gives `STOPPING=1` and exit 0.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::model;

const BIN: &str = env!("CARGO_BIN_EXE_shelftalk");
/// Generous: the gate loads the model and writes one blurb on a shared, debug-built machine.
const GATE_WAIT: Duration = Duration::from_secs(180);

fn shelftalk(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap()
}

/// A provisioned data dir with the demo catalog; returns its config file.
fn provisioned(root: &Path) -> PathBuf {
    let data = root.join("data");
    let pin = root.join("pin");
    std::fs::write(&pin, "246810\n").unwrap();
    let d = data.to_str().unwrap();
    let out = shelftalk(&[
        "--data-dir",
        d,
        "provision",
        "--plain-keys",
        "--store",
        "s1",
        "--kiosk",
        "k1",
        "--pin-file",
        pin.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let config = data.join("kiosk.toml");
    let out = shelftalk(&[
        "--config",
        config.to_str().unwrap(),
        "import",
        "catalog",
        "demo/catalog.csv",
    ]);
    assert!(out.status.success(), "{out:?}");
    config
}

/// A private tmux server running one command under `sh`, which records the command's exit
/// status in `rc`; killed on drop.
struct Tmux {
    socket: String,
    rc: PathBuf,
}

impl Tmux {
    fn start(name: &str, dir: &Path, command: &str) -> Self {
        let socket = format!("shelftalk-notify-{name}-{}", std::process::id());
        let rc = dir.join("rc");
        let wrapped = format!("sh -c '{command}; echo $? > {}; sleep 600'", rc.display());
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "k",
            ])
            .args(["-x", "100", "-y", "30", &wrapped])
            .status()
            .unwrap();
        assert!(status.success());
        Self { socket, rc }
    }

    /// The daemon's pid: the child of the pane's shell.
    fn daemon_pid(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "display-message", "-p", "-t", "k"])
            .arg("#{pane_pid}")
            .output()
            .unwrap();
        let sh = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let children = std::fs::read_to_string(format!("/proc/{sh}/task/{sh}/children")).unwrap();
        let pids: Vec<&str> = children.split_whitespace().collect();
        assert_eq!(pids.len(), 1, "one daemon under the shell: {pids:?}");
        pids[0].to_string()
    }

    /// The exit status once the command has ended.
    fn exit_status(&self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(code) = std::fs::read_to_string(&self.rc) {
                if let Ok(code) = code.trim().parse() {
                    return code;
                }
            }
            assert!(Instant::now() < deadline, "the daemon did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The terminal, wrapped lines joined, with its scrollback.
    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-J", "-S", "-200"])
            .args(["-t", "k"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// The fake service manager's end.
struct Listener {
    socket: UnixDatagram,
    path: PathBuf,
}

impl Listener {
    fn bind(dir: &Path) -> Self {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        Self { socket, path }
    }

    /// The next datagram, or `None` after `wait`.
    fn next(&self, wait: Duration) -> Option<String> {
        self.socket.set_read_timeout(Some(wait)).unwrap();
        let mut buf = [0u8; 4096];
        match self.socket.recv(&mut buf) {
            Ok(n) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(_) => None,
        }
    }

    /// Datagrams until one contains `needle` (returned last), within `wait`.
    fn until(&self, needle: &str, wait: Duration) -> Vec<String> {
        let deadline = Instant::now() + wait;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(msg) = self.next(left.max(Duration::from_millis(1))) else {
                panic!("no {needle:?} within {wait:?}; got {seen:?}");
            };
            let done = msg.lines().any(|l| l == needle);
            seen.push(msg);
            if done {
                return seen;
            }
        }
    }
}

fn run_command(config: &Path, model: &Path, notify: &Path, extra_env: &str) -> String {
    format!(
        "env NOTIFY_SOCKET={} SHELFTALK_MODEL_PATH={} SHELFTALK_HQ_URL=http://127.0.0.1:9 {extra_env} {BIN} --config {} run",
        notify.display(),
        model.display(),
        config.display()
    )
}

#[test]
fn ready_after_the_gate_then_watchdog_pings_and_stopping() {
    let Some(model) = model() else { return };
    let _one = common::one_model_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let config = provisioned(tmp.path());
    let listener = Listener::bind(tmp.path());
    let started = Instant::now();
    let tmux = Tmux::start(
        "good",
        tmp.path(),
        &run_command(&config, &model, &listener.path, "WATCHDOG_USEC=1000000"),
    );
    let before = listener.until("READY=1", GATE_WAIT);
    let ready_after = started.elapsed();
    eprintln!("cold start to READY=1 (debug build): {ready_after:?}");
    let statuses: Vec<&String> = before.iter().filter(|m| *m != "WATCHDOG=1\n").collect();
    assert!(
        statuses.len() == 3
            && statuses[0] == "STATUS=starting: loading the model\n"
            && statuses[1] == "STATUS=starting: health gate running\n",
        "the gate runs before READY=1: {before:?}"
    );
    let ready = before.last().unwrap();
    assert!(
        // Plain key files (provisioned with --plain-keys) are a warning, as are an absent HQ and
        // HQ's key not provisioned (sync off).
        ready.contains(
            "STATUS=serving; health gate passed (warnings: key protection, hq, hq_trust)"
        ),
        "{ready}"
    );
    // The screen is up and shows no identifier.
    assert!(!tmux.screen().trim().is_empty());

    // Pings every half of WATCHDOG_USEC (0.5 s): at least three in the next two seconds, never
    // two closer than the half interval allows (minus scheduling slack).
    let window = Instant::now();
    let mut pings = Vec::new();
    while window.elapsed() < Duration::from_secs(2) {
        if let Some(m) = listener.next(Duration::from_millis(600)) {
            assert_eq!(m, "WATCHDOG=1\n");
            pings.push(Instant::now());
        }
    }
    assert!(pings.len() >= 3, "{} pings in 2 s", pings.len());
    for pair in pings.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(400),
            "pings {:?} apart",
            pair[1] - pair[0]
        );
    }

    let pid = tmux.daemon_pid();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    listener.until("STOPPING=1", Duration::from_secs(30));
    assert_eq!(tmux.exit_status(), 0);
}

#[test]
fn a_broken_model_never_gets_ready_and_exits_saying_why() {
    let Some(_) = model() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let config = provisioned(tmp.path());
    let fake = tmp.path().join("fake.gguf");
    std::fs::write(&fake, b"GGUF not really a model").unwrap();
    let listener = Listener::bind(tmp.path());
    let tmux = Tmux::start(
        "broken",
        tmp.path(),
        &run_command(&config, &fake, &listener.path, ""),
    );
    let mut seen = Vec::new();
    while let Some(m) = listener.next(Duration::from_secs(60)) {
        if m.contains("STOPPING=1") {
            break;
        }
        seen.push(m);
    }
    assert!(
        !seen.iter().any(|m| m.lines().any(|l| l == "READY=1")),
        "{seen:?}"
    );
    let failed = seen
        .iter()
        .find(|m| m.starts_with("STATUS=health gate failed:"))
        .unwrap_or_else(|| panic!("no failure status: {seen:?}"));
    assert!(failed.contains("model:"), "{failed}");
    assert_ne!(tmux.exit_status(), 0);
    assert!(
        tmux.screen().contains("error: health gate failed: model:"),
        "{}",
        tmux.screen()
    );
}
