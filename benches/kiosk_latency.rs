//! The kiosk's latency figures (README, issues 5 and 13): time from Enter on a loyalty code to the
//! first pick's copy fully on screen, and to all three picks' copy complete, p50 over [`RUNS`]
//! sessions, fresh generation and cache hit in the same run, measured in a real terminal through
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

/// One session: Enter to the first pick's copy complete, Enter to every pick's copy complete,
/// and where the first pick's copy came from.
fn session(k: &mut Kiosk) -> (Duration, Duration, Option<String>) {
    let code = k.loyalty.clone();
    let enter = k.scan(&code);
    let first = k.tmux.wait_for("first pick's copy", BOUND, |s| {
        let first = cards(s).into_iter().find(|c| c.title == "1")?;
        first.complete().then_some(first)
    });
    let latency = enter.elapsed();
    k.tmux.wait_for("every pick's copy", BOUND, |s| {
        let picks = cards(s);
        (!picks.is_empty() && picks.iter().all(Card::complete)).then_some(())
    });
    let all = enter.elapsed();
    k.tmux.press(&["d"]);
    // The session is over at its goodbye, or at the attract loop once the goodbye's 3 s are up (a
    // capture can miss the goodbye when the machine is busy: a run was lost so).
    k.tmux.wait_for("goodbye or the attract loop", BOUND, |s| {
        (s.contains("Thank you for visiting") || s.contains("shelftalk · Welcome")).then_some(())
    });
    (latency, all, k.copy_source(&first.copy))
}

/// Runs sessions on a fresh daemon until `runs` have their first copy from `source`, at most
/// `max` sessions: the counted sessions' first-pick and all-picks latencies.
fn measure(
    model: &std::path::Path,
    env: &[(&str, &str)],
    source: &str,
    (runs, max): (usize, usize),
) -> (Vec<Duration>, Vec<Duration>) {
    let mut k = Kiosk::start(model, env);
    println!("  daemon on {} with {env:?}", k.config.model_path.display());
    let (mut counted, mut all) = (Vec::new(), Vec::new());
    let mut sessions = 0;
    while counted.len() < runs && sessions < max {
        let (latency, every, from) = session(&mut k);
        sessions += 1;
        if from.as_deref() == Some(source) {
            counted.push(latency);
            all.push(every);
        }
    }
    println!(
        "  {source}: {} of {sessions} sessions had the first pick's copy from the {source}",
        counted.len()
    );
    k.terminate();
    assert_eq!(k.wait_exit(BOUND), 0);
    (counted, all)
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
    let figures = |(first, all): (Vec<Duration>, Vec<Duration>)| (p50(first), p50(all));
    let (fresh, fresh_all) = if only("fresh") {
        figures(measure(&model, &cache_off, "model", (runs, 2 * runs)))
    } else {
        (None, None)
    };
    // Priming: up to three sessions per counted hit (styles are the bandit's choice).
    let (hit, hit_all) = if bench && only("hit") {
        figures(measure(&model, &[], "cache", (runs, 4 * runs)))
    } else {
        (None, None)
    };
    println!(
        "  p50 fresh generation: {} first pick, {} all three picks",
        ms(fresh),
        ms(fresh_all)
    );
    println!(
        "  p50 cache hit:        {} first pick, {} all three picks",
        ms(hit),
        ms(hit_all)
    );
    if let (Some(f), Some(h)) = (fresh, hit) {
        println!(
            "  fresh / hit:          {:.1}x",
            f.as_secs_f64() / h.as_secs_f64()
        );
    }
}
