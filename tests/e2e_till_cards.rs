//! The till's customers are recognised at the kiosk (issue 12 item 2), end to end in a real
//! terminal: a data dir gets the real REES46 log and Online Retail lines imported (their customer
//! ids become shoppers; their products come from the events' product facts), the kiosk is
//! configured with a bare-number card scheme next to the default `LC` one, `shelftalk run` starts
//! in a private tmux server, and the test "scans" a customer's number like a scanner: the screen
//! must show that shopper's personal picks ("Picked for you", and for the REES46 shopper a pick
//! explained by their own history), not "we don't know that code" and not the popular picks of
//! an anonymous session. A numeric product code of the same shape still scans as the
//! product (a catalog SKU wins over a card scheme).
//!
//! Invariants:
//! - A customer number never appears on a command line (`ps`): it reaches the pane only through
//!   `tmux load-buffer -` on standard input ([`tmux::Tmux::type_secret`]), and it is forbidden on
//!   screen at every capture.
//! - Without the shared real data the test skips loudly (see `common::real_data`), unless
//!   `SHELFTALK_REQUIRE_REAL_DATA=1`.
//! - The language model is not loaded (its path points nowhere): copy comes from templates, so
//!   the test costs no model time; what it checks (which picks, for whom) does not depend on copy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;
#[allow(dead_code)] // Only the terminal part of the harness is used here.
#[path = "common/tmux.rs"]
mod tmux;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use indicatif::ProgressBar;
use shelftalk::catalog::Minor;
use shelftalk::config::{Config, ScanConfig};
use shelftalk::crypto::keyfiles::KeyDir;
use shelftalk::ingest::{EventFormat, Rules};
use shelftalk::profile::Vault;
use shelftalk::vocab::{CardScheme, LoyaltyNumber, TillNumber};

/// Bound for the daemon to start and for each screen to appear (the machine may be busy).
const BOUND: Duration = Duration::from_secs(120);
/// Reason lines the recommender gives only from a shopper's own history.
const PERSONAL_REASONS: [&str; 4] = [
    "Because you",
    "Matches your interests",
    "Goes well with things you like",
    "Matches your usual price range",
];

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The bare customer-number scheme a store whose till knows shoppers by number adds: 5-12 digits
/// (Online Retail's CustomerIDs have 5, REES46's user ids 9), no prefix, no check digit.
fn schemes() -> Vec<CardScheme> {
    vec![
        CardScheme::default(),
        CardScheme {
            name: "bare".into(),
            prefixes: Vec::new(),
            min_digits: 5,
            max_digits: 12,
            till_number: TillNumber::Digits,
            ..CardScheme::default()
        },
    ]
}

/// The customer id (as written in the file's `column`) with the most rows.
fn busiest_customer(csv: &Path, column: &str) -> String {
    let mut reader = csv::Reader::from_path(csv).unwrap();
    let at = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == column)
        .unwrap();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for row in reader.records() {
        let row = row.unwrap();
        let id = row.get(at).unwrap_or("").trim();
        if !id.is_empty() {
            *counts.entry(id.to_owned()).or_default() += 1;
        }
    }
    let mut v: Vec<(String, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let (id, n) = v.into_iter().next().unwrap();
    assert!(n >= 5, "the busiest customer has only {n} rows");
    id
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The session view of a known shopper who shares their history: the title the screen gives
/// only to a recognised, consenting shopper ("Picked for you"; an anonymous session says "Popular
/// picks"), over the session's pick cards.
fn personal_view(screen: &str) -> bool {
    screen.contains("Picked for you") && tmux::cards(screen).iter().any(|c| c.title == "1")
}

/// ... and at least one pick explained by the shopper's own history.
fn personal_picks(screen: &str) -> bool {
    personal_view(screen)
        && tmux::cards(screen)
            .iter()
            .any(|c| PERSONAL_REASONS.iter().any(|p| c.reason.contains(p)))
}

#[test]
fn till_customers_get_personal_picks_by_their_bare_number() {
    let Some(rees46) = common::real_data("rees46_events_10k.csv") else {
        return;
    };
    let Some(retail) = common::real_data("online_retail_2011-12-05.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().join("data"),
        model_path: dir.path().join("no-model.gguf"),
        hq_url: "http://127.0.0.1:9".into(),
        session_timeout_secs: 600,
        scan: ScanConfig { cards: schemes() },
        experiment: shelftalk::experiment::ExperimentConfig::off(),
        ..Config::default()
    };
    // The logs are years old (REES46 2019, Online Retail 2011): with the default 30-day half-life
    // their history weighs nothing today and every pick would be explained by popularity alone.
    // A century's half-life keeps it, so personal reasons show that the history reached the card.
    config.recommend.features.half_life_days = 36_500.0;
    config.validate().unwrap();
    std::fs::create_dir_all(&config.data_dir).unwrap();
    KeyDir::new(config.key_dir())
        .init(&shelftalk::crypto::rng())
        .unwrap();
    let config_file = dir.path().join("kiosk.toml");
    std::fs::write(&config_file, toml::to_string(&config).unwrap()).unwrap();

    // The till's logs, read with the kiosk's card schemes.
    let rules = Rules {
        max_price: Minor(100_000_000),
        now: now(),
        cards: config.scan.cards.clone(),
        ..Rules::default()
    };
    let mut vault = Vault::open(&config).unwrap();
    for log in [&rees46, &retail] {
        let outcome = shelftalk::import::events(
            &mut vault,
            log,
            EventFormat::Auto,
            &rules,
            now(),
            &ProgressBar::hidden(),
        )
        .unwrap();
        assert!(outcome.shoppers_new > 0, "{}", log.display());
    }
    let rees46_customer = busiest_customer(&rees46, "user_id");
    let retail_customer = busiest_customer(&retail, "CustomerID");
    assert!(retail_customer.ends_with(".0"), "{retail_customer}");
    let retail_number = LoyaltyNumber::parse(&retail_customer).unwrap();
    assert_eq!(retail_number.expose().len(), 5);
    for id in [&rees46_customer, &retail_customer] {
        let number = LoyaltyNumber::parse_card(id, &config.scan.cards).unwrap();
        assert!(
            vault.find(&number).unwrap().is_some(),
            "customer not enrolled"
        );
    }
    // A numeric stock code of a customer number's shape: a product, since the catalog knows it.
    let product = shelftalk::store::catalog::get(vault.store.conn(), "23084")
        .unwrap()
        .expect("Online Retail stock code 23084 imported");
    drop(vault);

    let mut t = tmux::Tmux::start();
    t.forbid(&rees46_customer);
    t.forbid(retail_number.expose());
    let line = format!(
        "env SHELFTALK_MODEL_PATH={} {} --config {} --data-dir {} run; echo EXIT=$?",
        quote(config.model_path.to_str().unwrap()),
        quote(env!("CARGO_BIN_EXE_shelftalk")),
        quote(config_file.to_str().unwrap()),
        quote(config.data_dir.to_str().unwrap()),
    );
    t.wait_for("shell prompt", BOUND, |s| s.contains('$').then_some(()));
    t.type_text(&line);
    t.press(&["Enter"]);
    t.wait_for("attract loop", BOUND, |s| {
        let exited = s.lines().any(|l| {
            l.trim()
                .strip_prefix("EXIT=")
                .is_some_and(|n| n.parse::<i32>().is_ok())
        });
        assert!(!exited, "the daemon did not start:\n{s}");
        s.contains("shelftalk · Welcome").then_some(())
    });

    // 1. The REES46 shopper scans the bare number the till knows them by.
    t.type_secret(&rees46_customer);
    t.press(&["Enter"]);
    let screen = t.wait_for("REES46 shopper's personal picks", BOUND, |s| {
        assert!(!s.contains("we don't know that code"), "{s}");
        personal_picks(s).then(|| s.to_owned())
    });
    assert!(!screen.contains("Popular picks"), "{screen}");
    eprintln!("REES46 customer's session:\n{screen}");

    // 2. A known numeric SKU is still a product, inside the session.
    t.type_text("23084");
    t.press(&["Enter"]);
    t.wait_for("scanned product", BOUND, |s| {
        assert!(!s.contains("we don't know that code"), "{s}");
        s.contains(product.name.as_str()).then_some(())
    });
    t.press(&["d"]);
    t.wait_for("goodbye", BOUND, |s| {
        s.contains("Thank you for visiting").then_some(())
    });

    // 3. The Online Retail shopper (CustomerID `NNNNN.0` in the file) scans `NNNNN`.
    t.type_secret(retail_number.expose());
    t.press(&["Enter"]);
    // Their point-of-sale lines carry no categories, so the picks may all be explained by
    // popularity; the view is still the recognised shopper's.
    let screen = t.wait_for("Online Retail shopper's personal view", BOUND, |s| {
        assert!(!s.contains("we don't know that code"), "{s}");
        personal_view(s).then(|| s.to_owned())
    });
    assert!(!screen.contains("Popular picks"), "{screen}");
    eprintln!("Online Retail customer's session:\n{screen}");
    t.press(&["d"]);
    t.wait_for("goodbye", BOUND, |s| {
        s.contains("Thank you for visiting").then_some(())
    });
}
