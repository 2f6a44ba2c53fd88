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

use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use crate::ui::Secret;

/// Longest code the scan buffer accepts (as `vocab::LoyaltyNumber`).
const MAX_CODE_CHARS: usize = crate::vocab::MAX_LOYALTY_CHARS;

/// How to tell a loyalty code from a product code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRule {
    /// Loyalty codes start with this (compared ignoring ASCII case).
    pub loyalty_prefix: String,
    /// ...followed by this many ASCII digits and nothing else.
    pub loyalty_digits: RangeInclusive<usize>,
}

impl Default for ScanRule {
    fn default() -> Self {
        Self {
            loyalty_prefix: "LC".into(),
            loyalty_digits: 4..=20,
        }
    }
}

impl ScanRule {
    /// True when `code` is a loyalty code; anything else scanned is a product code (SKU).
    pub fn is_loyalty(&self, code: &str) -> bool {
        let n = self.loyalty_prefix.len();
        let (Some(prefix), Some(rest)) = (code.get(..n), code.get(n..)) else {
            return false;
        };
        prefix.eq_ignore_ascii_case(&self.loyalty_prefix)
            && self.loyalty_digits.contains(&rest.len())
            && rest.bytes().all(|b| b.is_ascii_digit())
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
