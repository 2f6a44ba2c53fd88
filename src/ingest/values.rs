//! Value parsing: decimal amounts into exact minor units, timestamps into UTC seconds, and the
//! price rule shared by every format.
//!
//! Invariants:
//! - Amounts are parsed from the decimal text, never through floats; the third decimal rounds
//!   half up and later ones are ignored; overflow is `None`, not a wrap or a panic.
//! - Times without an offset are UTC.
//! - A price passing [`check_price`] is strictly positive and at most [`Rules::max_price`];
//!   a failure carries a stable rule code from [`rule`].

use super::{rule, Rules};
use crate::catalog::Minor;

/// Parses a decimal amount (`"35.79"`, `"1899.0"`, `"12"`) into exact minor units.
pub fn parse_minor(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let units: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut cents = 0i64;
    for (i, b) in frac.bytes().enumerate() {
        let d = i64::from(b - b'0');
        match i {
            0 => cents += d * 10,
            1 => cents += d,
            // Round half up on the third decimal, ignore the rest.
            2 => cents += i64::from(d >= 5),
            _ => {}
        }
    }
    let v = units.checked_mul(100)?.checked_add(cents)?;
    Some(if neg { -v } else { v })
}

/// Parses `YYYY-MM-DD HH:MM:SS` with an optional ` UTC` suffix, or RFC 3339, as UTC seconds.
pub fn parse_time(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let t = text.trim();
    let t = t.strip_suffix(" UTC").unwrap_or(t);
    if let Ok(dt) = time::OffsetDateTime::parse(t, &Rfc3339) {
        return Some(dt.unix_timestamp());
    }
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    if let Ok(dt) = time::PrimitiveDateTime::parse(t, fmt) {
        return Some(dt.assume_utc().unix_timestamp());
    }
    let short = format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::PrimitiveDateTime::parse(t, short)
        .ok()
        .map(|dt| dt.assume_utc().unix_timestamp())
}

/// Validates a price text against the rules.
pub(super) fn check_price(text: &str, rules: &Rules) -> Result<Minor, (&'static str, String)> {
    let v = parse_minor(text).ok_or((
        rule::BAD_NUMBER,
        format!("{text:?} is not a decimal amount"),
    ))?;
    if v <= 0 {
        return Err((rule::ABSURD_PRICE, format!("price {text} is not positive")));
    }
    if v > rules.max_price.0 {
        return Err((
            rule::ABSURD_PRICE,
            format!(
                "price {text} is above the maximum {}",
                rules.max_price.display()
            ),
        ));
    }
    Ok(Minor(v))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn minor_units_are_exact() {
        assert_eq!(parse_minor("35.79"), Some(3579));
        assert_eq!(parse_minor("1899.0"), Some(189_900));
        assert_eq!(parse_minor("12"), Some(1200));
        assert_eq!(parse_minor("0.085"), Some(9));
        assert_eq!(parse_minor("-2.5"), Some(-250));
        assert_eq!(parse_minor(".5"), Some(50));
        assert_eq!(parse_minor("1e3"), None);
        assert_eq!(parse_minor(""), None);
        assert_eq!(parse_minor("99999999999999999999"), None);
    }

    #[test]
    fn times_parse_as_utc() {
        assert_eq!(parse_time("2019-10-01 00:00:00 UTC"), Some(1_569_888_000));
        assert_eq!(parse_time("2011-12-05 08:38:00"), Some(1_323_074_280));
        assert_eq!(parse_time("2026-11-01T10:00:00Z"), Some(1_793_527_200));
        assert_eq!(parse_time("yesterday"), None);
    }
}
