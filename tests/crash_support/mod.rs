//! Shared by the crash tests: run the real binary with `SHELFTALK_FAULT_PAUSE` set, wait for its
//! announcement that it stopped at the chosen point (`store::fault`), then SIGKILL it there.
//! The kill point is an observable signal from the process, never a sleep.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use shelftalk::store::fault::{ANNOUNCEMENT, FAULT_PAUSE_ENV};

/// How long a child may take to reach its point before the test fails (a guard against a hang,
/// not a readiness wait: the kill follows the child's own announcement).
const REACH_LIMIT: Duration = Duration::from_secs(120);

/// What became of a child run with a pause point.
#[derive(Debug)]
pub enum Outcome {
    /// It announced the pause at the point and was killed there with SIGKILL.
    Killed,
    /// It finished without reaching the point (exit status, standard error).
    Finished(std::process::ExitStatus, String),
}

/// Spawns `cmd` with `SHELFTALK_FAULT_PAUSE=<point>@<nth>`, waits for it to announce that pause
/// and kills it there (SIGKILL). Standard output is discarded.
pub fn kill_at(mut cmd: Command, point: &str, nth: u64) -> Outcome {
    let mut child = cmd
        .env(FAULT_PAUSE_ENV, format!("{point}@{nth}"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wanted = format!("{ANNOUNCEMENT}{point} #{nth}");
    let mut seen = Vec::new();
    let outcome = loop {
        match rx.recv_timeout(REACH_LIMIT) {
            Ok(line) if line == wanted => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                break Outcome::Killed;
            }
            Ok(line) => seen.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().unwrap();
                break Outcome::Finished(status, seen.join("\n"));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!(
                    "the child neither reached {point} #{nth} nor ended within {REACH_LIMIT:?}:\n{}",
                    seen.join("\n")
                );
            }
        }
    };
    reader.join().unwrap();
    outcome
}

/// [`kill_at`], failing the test when the child did not reach the point.
pub fn must_kill_at(cmd: Command, point: &str, nth: u64) {
    match kill_at(cmd, point, nth) {
        Outcome::Killed => {}
        Outcome::Finished(status, stderr) => {
            panic!("the child ended ({status}) before {point} #{nth}:\n{stderr}")
        }
    }
}

/// `PRAGMA integrity_check` of the database at `path`: `"ok"` when sound.
pub fn integrity(path: &std::path::Path) -> String {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}
