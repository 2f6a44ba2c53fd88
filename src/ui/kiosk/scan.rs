//! Scanner input: the rule that tells a loyalty code from a product code, and the buffer that
//! collects a code as a scanner (or a person) types it, with its timing.
//!
//! Invariants:
//! - The code being typed lives only in the buffer's [`Secret`]: `Debug` shows its length, and
//!   [`ScanBuffer::take`] moves it out, leaving the buffer empty.
//! - The buffer never holds more than `MAX_CODE_CHARS` characters; a longer code marks it
//!   overflowed and is never handed on.
//! - A buffer whose last character is `scan_gap` old is stale: the state machine drops it on the
//!   next tick.
//! - [`ScanRule::card`] never takes a catalog SKU for a card (the catalog wins over every card
//!   scheme), tries the schemes in their configured order, and hands a card on only in its
//!   canonical number ([`LoyaltyNumber::parse_card`]'s form), the form imported customer ids
//!   have.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ui::Secret;
use crate::vocab::{CardScheme, LoyaltyNumber};

/// Longest code the scan buffer accepts (as `vocab::LoyaltyNumber`).
const MAX_CODE_CHARS: usize = crate::vocab::MAX_LOYALTY_CHARS;

/// How to tell a loyalty card from a product code: the configured card schemes, tried in order,
/// and the catalog's codes that a scheme would take for a card.
///
/// A scanned code is a card when it is a card of some scheme (see [`CardScheme`]) and is not
/// exactly the SKU of a product in the catalog: a known product always wins, so a store may add
/// a "bare number" scheme without losing products whose SKUs are numbers of the same length.
/// Among schemes, the first that matches gives the card's canonical number. Anything else is a
/// product code.
#[derive(Clone, PartialEq, Eq)]
pub struct ScanRule {
    schemes: Vec<CardScheme>,
    /// Catalog SKUs that some scheme matches (only those: the rest cannot be confused).
    products: Arc<BTreeSet<String>>,
}

impl Default for ScanRule {
    /// Today's rule: `LC` and 4-20 digits is a card, anything else a product.
    fn default() -> Self {
        Self::new(vec![CardScheme::default()])
    }
}

impl fmt::Debug for ScanRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanRule")
            .field("schemes", &self.schemes)
            .field("card_like_products", &self.products.len())
            .finish()
    }
}

impl ScanRule {
    /// A rule with these schemes (validated by the config) and no catalog yet.
    pub fn new(schemes: Vec<CardScheme>) -> Self {
        Self {
            schemes,
            products: Arc::default(),
        }
    }

    /// The rule knowing the catalog's SKUs, so that none of them is taken for a card.
    pub fn with_products<'a>(mut self, skus: impl IntoIterator<Item = &'a str>) -> Self {
        let card_like: BTreeSet<String> = skus
            .into_iter()
            .filter(|sku| self.scheme_card(sku).is_some())
            .map(str::to_owned)
            .collect();
        self.products = Arc::new(card_like);
        self
    }

    /// The card schemes, in the order they are tried.
    pub fn schemes(&self) -> &[CardScheme] {
        &self.schemes
    }

    fn scheme_card(&self, code: &str) -> Option<LoyaltyNumber> {
        let number = LoyaltyNumber::parse(code).ok()?;
        self.schemes.iter().find_map(|s| s.card(&number))
    }

    /// The canonical number of the card `code` is, or `None` for a product code.
    pub fn card(&self, code: &str) -> Option<LoyaltyNumber> {
        if self.products.contains(code) {
            return None;
        }
        self.scheme_card(code)
    }

    /// True when `code` is a loyalty card; anything else scanned is a product code (SKU).
    pub fn is_loyalty(&self, code: &str) -> bool {
        self.card(code).is_some()
    }
}

/// Characters typed so far by a scanner (or a person), and when the last one came.
#[derive(Debug, PartialEq)]
pub(super) struct ScanBuffer {
    code: Secret,
    pub(super) last_at: Instant,
    overflow: bool,
}

/// What [`ScanBuffer::push`] did with a character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pushed {
    /// Kept as the buffer's first character.
    First,
    /// Kept after others.
    More,
    /// The buffer was full: dropped, and the buffer marked overflowed.
    Overflow,
}

impl ScanBuffer {
    /// An empty buffer, last touched at `now`.
    pub(super) fn new(now: Instant) -> Self {
        Self {
            code: Secret::default(),
            last_at: now,
            overflow: false,
        }
    }

    /// Characters waiting.
    pub(super) fn len(&self) -> usize {
        self.code.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.code.is_empty()
    }

    /// More than `MAX_CODE_CHARS` were typed: the code is not handed on.
    pub(super) fn overflowed(&self) -> bool {
        self.overflow
    }

    /// Adds a character typed at `now`.
    pub(super) fn push(&mut self, c: char, now: Instant) -> Pushed {
        if self.code.len() >= MAX_CODE_CHARS {
            self.overflow = true;
            return Pushed::Overflow;
        }
        let first = self.code.is_empty();
        self.code.push(c);
        self.last_at = now;
        if first {
            Pushed::First
        } else {
            Pushed::More
        }
    }

    /// Drops the last character.
    pub(super) fn pop(&mut self) {
        self.code.pop();
    }

    /// Moves the code out, leaving the buffer empty.
    pub(super) fn take(&mut self) -> Secret {
        self.code.take()
    }

    /// Empties the buffer.
    pub(super) fn clear(&mut self) {
        self.code = Secret::default();
        self.overflow = false;
    }

    /// Holds characters whose last came `gap` or longer before `now`.
    pub(super) fn is_stale(&self, now: Instant, gap: Duration) -> bool {
        !self.code.is_empty() && now >= self.last_at + gap
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::time::{Duration, Instant};

    use super::super::tests::{key, start, type_code};
    use super::super::{update, Input};
    use super::*;
    use crate::ui::Key;

    #[test]
    fn scan_rule() {
        let r = ScanRule::default();
        assert!(r.is_loyalty("LC1234"));
        assert!(r.is_loyalty("lc12345678901234567890"));
        assert!(!r.is_loyalty("LC123"));
        assert!(!r.is_loyalty("LC123456789012345678901"));
        assert!(!r.is_loyalty("LC12A4"));
        assert!(!r.is_loyalty("CRNEG7BKMFFYHQ8Z"));
        assert!(!r.is_loyalty("23084"));
        assert!(!r.is_loyalty("L"));
        assert!(!r.is_loyalty("é1234"));
        assert_eq!(r.card("lc0042").unwrap().expose(), "LC0042");
    }

    fn bare() -> CardScheme {
        CardScheme {
            name: "bare".into(),
            prefixes: Vec::new(),
            min_digits: 6,
            max_digits: 12,
            ..CardScheme::default()
        }
    }

    #[test]
    fn a_bare_number_scheme_keeps_cards_and_products_apart() {
        let r = ScanRule::new(vec![CardScheme::default(), bare()]).with_products([
            "1004856",
            "23084",
            "CRNEG7BKMFFYHQ8Z",
            "LC9999",
        ]);
        assert_eq!(r.card("543272936").unwrap().expose(), "543272936");
        assert_eq!(r.card("LC1234").unwrap().expose(), "LC1234");
        // Known products win over a scheme that would match them.
        assert!(!r.is_loyalty("1004856"));
        assert!(!r.is_loyalty("LC9999"));
        // Too short for the bare scheme, not card-like: products.
        assert!(!r.is_loyalty("23084"));
        assert!(!r.is_loyalty("CRNEG7BKMFFYHQ8Z"));
        // Only card-like SKUs are kept.
        assert!(format!("{r:?}").contains("card_like_products: 2"), "{r:?}");
        // An unknown code shaped like a product of the catalog is still a card.
        assert!(r.is_loyalty("1004857"));
    }

    #[test]
    fn the_scanned_card_reaches_the_session_in_canonical_form() {
        let t0 = Instant::now();
        let config = super::super::KioskConfig {
            scan_rule: ScanRule::new(vec![CardScheme {
                till_number: crate::vocab::TillNumber::Digits,
                ..CardScheme::default()
            }]),
            ..super::super::KioskConfig::default()
        };
        let mut s = super::super::State::new(config, t0);
        let fx = type_code(&mut s, "LC00123");
        let card = fx.iter().find_map(|e| match e {
            super::super::Effect::StartSession { loyalty, .. } => loyalty.as_ref(),
            _ => None,
        });
        assert_eq!(card.map(Secret::expose), Some("00123"));
    }

    #[test]
    fn unfinished_and_overlong_scans_are_dropped() {
        let t0 = Instant::now();
        let mut s = start(t0);
        key(&mut s, 'L');
        key(&mut s, 'C');
        assert_eq!(s.scan_len(), 2);
        update(&mut s, Input::Tick(t0 + Duration::from_secs(5)));
        assert_eq!(s.scan_len(), 0);
        let fx = type_code(&mut s, &"9".repeat(100));
        assert!(fx.is_empty());
        assert_eq!(s.scan_len(), 0);
        assert!(update(&mut s, Input::Key(Key::Enter)).is_empty());
    }
}
