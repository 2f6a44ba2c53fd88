//! The invariants the fuzz targets check, one module per parser family; each `src/bin/*.rs` target
//! is a one-line `afl::fuzz!` around one of the `check` functions here.
//!
//! A check panics (`assert!`) when an invariant does not hold: under AFL a panic aborts the
//! process, which AFL records as a crash. Every invariant is stronger than "does not panic":
//! - readers (`ingest`): every row is accepted or quarantined, in file order, with a physical line
//!   inside the input, a known rule code and a reason; accepted values are clean, capped and in
//!   range (the `shelftalk::ingest` module docs);
//! - imports (`import`): against a real SQLite store, an import of readable input never fails,
//!   every row read is stored or quarantined with a reason (counts add up; stored rows read back
//!   as read);
//! - HQ (`hq`): a signed batch or audit head posted to the real router is stored whole or
//!   nothing changes, a refusal is a 4xx, never a 5xx, and a good document is not refused;
//! - control socket (`control`): one answer per request line, as a model of the protocol
//!   predicts: nothing served before the right PIN or key proof, lockout, audit replay;
//! - config (`config`), prompt pack and model manifest (`content`): a file that loads is valid and
//!   loads the same again after being written out; an in-place edit changes only its key; a
//!   prompt pack cannot change a prompt's shape; a release signature file verifies only when it
//!   is the one valid signature.
//!
//! Harness code: panicking is its purpose, so `assert!`, `expect` and `unwrap` are used freely.

pub mod config;
pub mod content;
pub mod control;
pub mod hq;
pub mod import;
pub mod ingest;

use shelftalk::catalog::Minor;
use shelftalk::ingest::Rules;
use shelftalk::vocab::{CardScheme, CheckDigit, TillNumber};

/// The fixed "now" of every target (2026-11-18), so runs are reproducible.
pub const NOW: i64 = 1_795_000_000;

/// Validation rules of the targets: the defaults with a fixed clock, and two card schemes (the
/// default `LC` card and a bare-digits Luhn card, as a till-card kiosk has), so customer ids are
/// normalised through more than one scheme.
pub fn rules() -> Rules {
    Rules {
        max_price: Minor(100_000_000),
        now: NOW,
        cards: vec![
            CardScheme::default(),
            CardScheme {
                name: "bare".into(),
                prefixes: Vec::new(),
                min_digits: 6,
                max_digits: 12,
                check_digit: CheckDigit::Luhn,
                till_number: TillNumber::Digits,
            },
        ],
        ..Rules::default()
    }
}

/// Text as `shelftalk::ingest::clean_text` leaves it: cleaning it again changes nothing (single
/// line, no control or bidi characters, whitespace collapsed and trimmed), at most `max` chars.
pub fn assert_clean(what: &str, text: &str, max: usize) {
    assert!(
        text.chars().count() <= max,
        "{what}: {} chars, more than {max}: {text:?}",
        text.chars().count()
    );
    assert_eq!(
        shelftalk::ingest::clean_text(text, max),
        text,
        "{what}: not clean text"
    );
}

/// Physical lines of `data`: newline count + 1.
pub fn physical_lines(data: &[u8]) -> u64 {
    data.iter().filter(|&&b| b == b'\n').count() as u64 + 1
}
