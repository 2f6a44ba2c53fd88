//! The kiosk's latency figures (README, issues 5 and 13): time from Enter on a loyalty code to
//! every pick's copy begun (some of it on screen), to the first pick's copy fully on screen, and
//! to all three picks' copy complete, p50 over [`RUNS`] sessions, fresh generation and cache hit in the same run, measured in a real terminal through
//! the end-to-end tests' tmux harness.
//!
//! - Fresh: a daemon with the copy cache off (`SHELFTALK_COPY_CACHE_TTL_SECS=0`); a run counts
//!   when the first pick's copy on screen came from the model (per the daemon's content log).
//! - Hit: a daemon with the cache on, the same shopper again and again. The style of each pick
//!   is the bandit's choice, so the first sessions prime the cache; a run counts when the first
//!   pick's copy came from the cache, until [`RUNS`] count or [`MAX_HIT_SESSIONS`] ran.
//!
//! Each run waits for every pick's copy before pressing `d`, so no generation of the previous
//! session is running when the next Enter is timed. `cargo bench --bench kiosk_latency [-- fresh|hit]`.
//! Without cargo bench's `--bench` argument (`cargo test --all-targets`) it is a smoke run: one
//! fresh session.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/tmux.rs"]
mod tmux;

use std::time::Duration;

use tmux::{cards, Card, Kiosk};

/// Counted runs per figure.
const RUNS: usize = 20;
/// Bound for one session's copy.
const BOUND: Duration = Duration::from_secs(60);

/// What one session's copy took from Enter: every pick's copy begun (text on screen), the first
/// pick's copy complete, every pick's copy complete; and where the first pick's copy came from.
struct Session {
    begun: Duration,
    first: Duration,
    all: Duration,
    source: Option<String>,
}

/// One session, timed on the same captures: each moment is the first capture that shows it.
fn session(k: &mut Kiosk) -> Session {
    let code = k.loyalty.clone();
    let enter = k.scan(&code);
    let (mut begun, mut first) = (None, None);
    let (all, first_copy) = k.tmux.wait_for("every pick's copy", BOUND, |s| {
        let picks: Vec<Card> = cards(s)
            .into_iter()
            .filter(|c| c.title.len() == 1)
            .collect();
        if picks.is_empty() {
            return None;
        }
        if begun.is_none() && picks.iter().all(|c| !c.copy.is_empty()) {
            begun = Some(enter.elapsed());
        }
        if first.is_none() && picks[0].complete() {
            first = Some((enter.elapsed(), picks[0].copy.clone()));
        }
        picks
            .iter()
            .all(Card::complete)
            .then(|| (enter.elapsed(), picks[0].copy.clone()))
    });
    let (first, first_copy) = first.unwrap_or((all, first_copy));
    k.tmux.press(&["d"]);
    // The session is over at its goodbye, or at the attract loop once the goodbye's 3 s are up (a
    // capture can miss the goodbye when the machine is busy: a run was lost so).
    k.tmux.wait_for("goodbye or the attract loop", BOUND, |s| {
        (s.contains("Thank you for visiting") || s.contains("shelftalk · Welcome")).then_some(())
    });
    Session {
        begun: begun.unwrap_or(first),
        first,
        all,
        source: k.copy_source(&first_copy),
    }
}

/// The counted sessions' moments, each as its own list.
#[derive(Default)]
struct Moments {
    begun: Vec<Duration>,
    first: Vec<Duration>,
    all: Vec<Duration>,
}

/// Runs sessions on a fresh daemon until `runs` have their first copy from `source`, at most
/// `max` sessions.
fn measure(
    model: &std::path::Path,
    env: &[(&str, &str)],
    source: &str,
    (runs, max): (usize, usize),
) -> Moments {
    let mut k = Kiosk::start(model, env);
    println!("  daemon on {} with {env:?}", k.config.model_path.display());
    let mut counted = Moments::default();
    let mut sessions = 0;
    while counted.first.len() < runs && sessions < max {
        let s = session(&mut k);
        sessions += 1;
        if s.source.as_deref() == Some(source) {
            counted.begun.push(s.begun);
            counted.first.push(s.first);
            counted.all.push(s.all);
        }
    }
    println!(
        "  {source}: {} of {sessions} sessions had the first pick's copy from the {source}",
        counted.first.len()
    );
    k.terminate();
    assert_eq!(k.wait_exit(BOUND), 0);
    counted
}

fn p50(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort();
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2),
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("n/a".into(), |d| format!("{:.0} ms", d.as_secs_f64() * 1e3))
}

fn main() {
    let Some(model) = common::model() else { return };
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let only = |what: &str| {
        !args.iter().any(|a| a == "fresh" || a == "hit") || args.iter().any(|a| a == what)
    };
    let runs = if bench { RUNS } else { 1 };
    println!(
        "kiosk latency: Enter on a loyalty code -> first pick's copy fully on screen, and all three ({}x{} tmux, p50 of {runs})",
        tmux::WIDTH,
        tmux::HEIGHT
    );
    let cache_off = [("SHELFTALK_COPY_CACHE_TTL_SECS", "0")];
    let report = |what: &str, m: &Moments| {
        println!(
            "  p50 {what}: {} every pick's copy begun, {} first pick, {} all three picks",
            ms(p50(m.begun.clone())),
            ms(p50(m.first.clone())),
            ms(p50(m.all.clone()))
        );
        p50(m.first.clone())
    };
    let fresh = if only("fresh") {
        report(
            "fresh generation",
            &measure(&model, &cache_off, "model", (runs, 2 * runs)),
        )
    } else {
        None
    };
    // Priming: up to three sessions per counted hit (styles are the bandit's choice).
    let hit = if bench && only("hit") {
        report(
            "cache hit       ",
            &measure(&model, &[], "cache", (runs, 4 * runs)),
        )
    } else {
        None
    };
    if let (Some(f), Some(h)) = (fresh, hit) {
        println!(
            "  fresh / hit:          {:.1}x",
            f.as_secs_f64() / h.as_secs_f64()
        );
    }
}
