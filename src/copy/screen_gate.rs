//! The screen gate: model copy reaches the shopper's screen only after the guardrails have
//! judged it, while it streams.
//!
//! Generated text is released in pieces: up to the end of the last finished word, or — when the
//! unreleased text holds a digit or a currency sign, whose role a later word may decide ("₹1299,
//! was ₹1999") — up to the end of the last finished clause. Chinese text (no spaces) is released
//! clause by clause, at `，。！？；：、`. Before a piece is released, the whole
//! text up to its end goes through [`guardrails::check`]; the reasons that only the finished
//! copy can have (too short, off topic, an empty or letter-poor start) wait for the end, every
//! other reason stops the attempt at once.
//!
//! Invariants:
//! - Released text is always a prefix of the generated text, and every released prefix passed
//!   the guardrails (apart from the end-only reasons), so a competitor's name, a URL, a contact
//!   number, a banned phrase, a foreign currency or a number not in the facts never reaches the
//!   screen, not even for a moment.
//! - The rest is released by [`ScreenGate::finish`] only when the final verdict passes.
//! - Pure: no I/O, no clock; it never panics on any input.

use crate::copy::guardrails::{self, BrandList, GuardrailConfig, Reason, Verdict};
use crate::copy::prompt::ProductFacts;

/// Judges a stream of generated pieces before they are shown.
#[derive(Debug)]
pub struct ScreenGate<'a> {
    facts: &'a ProductFacts,
    brands: &'a BrandList,
    config: &'a GuardrailConfig,
    text: String,
    released: usize,
}

impl<'a> ScreenGate<'a> {
    pub fn new(
        facts: &'a ProductFacts,
        brands: &'a BrandList,
        config: &'a GuardrailConfig,
    ) -> Self {
        Self {
            facts,
            brands,
            config,
            text: String::new(),
            released: 0,
        }
    }

    /// Adds a generated piece. Returns the text that may now be shown (possibly empty), or the
    /// reason the copy already fails: the attempt must stop, nothing more is shown.
    pub fn push(&mut self, piece: &str) -> Result<String, Reason> {
        self.text.push_str(piece);
        let end = self.release_point();
        if end <= self.released {
            return Ok(String::new());
        }
        if let Verdict::Fail(reason) =
            guardrails::check(&self.text[..end], self.facts, self.brands, self.config)
        {
            if !waits_for_the_end(&reason) {
                return Err(reason);
            }
        }
        let out = self.text[self.released..end].to_string();
        self.released = end;
        Ok(out)
    }

    /// Everything generated so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The unreleased rest, when the finished copy's `verdict` passes; nothing otherwise.
    pub fn finish(&mut self, verdict: &Verdict) -> String {
        if !verdict.is_pass() {
            return String::new();
        }
        let out = self.text.get(self.released..).unwrap_or("").to_string();
        self.released = self.text.len();
        out
    }

    /// Where the next release may end (a char boundary, never before `released`).
    fn release_point(&self) -> usize {
        let pending = &self.text[self.released..];
        let holds_amount = pending
            .chars()
            .any(|c| c.is_ascii_digit() || c.is_numeric() || is_currency_sign(c));
        let mut best = self.released;
        let mut prev: Option<char> = None;
        for (i, c) in pending.char_indices() {
            if c.is_whitespace() {
                let ends_clause =
                    prev.is_some_and(|p| matches!(p, '.' | '!' | '?' | ';' | ',' | ':'));
                if !holds_amount || ends_clause {
                    best = self.released + i + c.len_utf8();
                }
            } else if is_cjk_clause_end(c) {
                // Chinese copy has no spaces: its clauses end at `，。！？；：、`.
                best = self.released + i + c.len_utf8();
            }
            prev = Some(c);
        }
        best
    }
}

/// Full-width clause punctuation of Chinese text.
fn is_cjk_clause_end(c: char) -> bool {
    matches!(c, '，' | '。' | '！' | '？' | '；' | '：' | '、')
}

fn is_currency_sign(c: char) -> bool {
    matches!(c, '$' | '€' | '£' | '¥' | '₹' | '元' | '%')
}

/// Reasons only the finished copy can be judged on: a prefix may be short, not yet on topic,
/// start with a symbol, or stop where the phrase goes on.
fn waits_for_the_end(reason: &Reason) -> bool {
    matches!(
        reason,
        Reason::Empty
            | Reason::Charset
            | Reason::TooShort
            | Reason::OffTopic
            | Reason::Unfinished(_)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::catalog::{Minor, Product};
    use crate::copy::prompt::Currency;
    use proptest::prelude::*;

    fn facts() -> ProductFacts {
        ProductFacts::new(
            &Product {
                sku: "FW-1".into(),
                name: "Kestrel Trail Runner".into(),
                brand: Some("Kestrel".into()),
                category: vec!["Footwear".into(), "Running".into()],
                price: Minor(129_900),
                list_price: Some(Minor(199_900)),
                description: "Light trail shoe".into(),
                tags: vec![],
            },
            &Currency::default(),
        )
    }

    fn brands() -> BrandList {
        BrandList::new(["Kestrel", "Northloom", "Trekkle"])
    }

    /// Feeds `pieces` like the engine would; returns what reached the screen and the stop reason.
    fn stream(pieces: &[&str]) -> (String, Option<Reason>) {
        let (f, b, c) = (facts(), brands(), GuardrailConfig::default());
        let mut gate = ScreenGate::new(&f, &b, &c);
        let mut shown = String::new();
        for p in pieces {
            match gate.push(p) {
                Ok(s) => shown.push_str(&s),
                Err(r) => return (shown, Some(r)),
            }
        }
        let verdict = guardrails::check(&gate.text, &f, &b, &c);
        shown.push_str(&gate.finish(&verdict));
        (shown, verdict_reason(verdict))
    }

    fn verdict_reason(v: Verdict) -> Option<Reason> {
        match v {
            Verdict::Pass => None,
            Verdict::Fail(r) => Some(r),
        }
    }

    #[test]
    fn clean_copy_streams_word_by_word_and_all_of_it_is_shown() {
        let pieces = [
            "Light", " trail", " runs", " with", " the", " Kestrel", " Trail", " Runner,", " now",
            " ₹", "1299", ".", "",
        ];
        let (shown, reason) = stream(&pieces);
        assert_eq!(reason, None, "{shown}");
        assert_eq!(shown, pieces.concat());
    }

    #[test]
    fn hostile_streams_stop_before_the_bad_word_is_shown() {
        for (pieces, code, banned) in [
            (
                &[
                    "Better",
                    " than",
                    " the",
                    " Northloom",
                    " one,",
                    " the",
                    " Kestrel",
                ][..],
                "foreign_brand",
                "Northloom",
            ),
            (
                &["Kestrel", " runner:", " see", " www.deals.example", " now"],
                "url",
                "deals",
            ),
            (
                &["Call", " 555", "-0199", "-2233", " for", " Kestrel"],
                "phone",
                "0199",
            ),
            (
                &[
                    "A",
                    " guaranteed",
                    " miracle",
                    " for",
                    " Kestrel",
                    " runners",
                ],
                "banned_phrase",
                "guaranteed",
            ),
            (
                &["Kestrel", " runner", " for", " $", "1299", " today."],
                "foreign_currency",
                "$",
            ),
            (
                &["Kestrel", " runner,", " now", " ₹", "999", " only."],
                "unknown_number",
                "999",
            ),
        ] {
            let (shown, reason) = stream(pieces);
            let reason = reason.unwrap_or_else(|| panic!("{pieces:?} passed"));
            assert_eq!(reason.code(), code, "{pieces:?}: {reason:?}");
            assert!(
                !shown.contains(banned),
                "{banned} reached the screen: {shown:?}"
            );
            assert!(pieces.concat().starts_with(&shown));
        }
    }

    #[test]
    fn an_amount_waits_for_the_end_of_its_clause() {
        let (f, b, c) = (facts(), brands(), GuardrailConfig::default());
        let mut gate = ScreenGate::new(&f, &b, &c);
        assert_eq!(gate.push("Kestrel trail").unwrap(), "Kestrel ");
        assert_eq!(gate.push(" shoe ").unwrap(), "trail shoe ");
        assert_eq!(
            gate.push("now ₹1299 ").unwrap(),
            "",
            "held until the clause ends"
        );
        assert_eq!(
            gate.push("(was ₹1999), ").unwrap(),
            "now ₹1299 (was ₹1999), "
        );
    }

    #[test]
    fn chinese_copy_streams_clause_by_clause_and_stops_before_another_brand() {
        use crate::locale::Locale;
        let f = ProductFacts::localised(
            &Product {
                sku: "ZH".into(),
                name: "李宁 超轻跑步鞋".into(),
                brand: Some("李宁".into()),
                category: vec!["跑步鞋".into()],
                price: Minor(45_900),
                list_price: None,
                description: String::new(),
                tags: vec![],
            },
            &Currency::cny(),
            Locale::ZhCn,
        );
        let b = BrandList::new(["李宁", "安踏"]);
        let c = GuardrailConfig::default().for_locale(Locale::ZhCn);
        let mut gate = ScreenGate::new(&f, &b, &c);
        assert_eq!(gate.push("李宁超轻").unwrap(), "");
        assert_eq!(gate.push("跑步鞋，比").unwrap(), "李宁超轻跑步鞋，");
        assert!(gate.push("安踏更轻，").is_err(), "another brand");
        let mut gate = ScreenGate::new(&f, &b, &c);
        assert_eq!(
            gate.push("李宁跑步鞋，现在只要459元").unwrap(),
            "李宁跑步鞋，"
        );
        assert!(gate.push("，原价599元。").is_err(), "no list price");
    }

    #[test]
    fn a_failing_finish_releases_nothing_more() {
        let (f, b, c) = (facts(), brands(), GuardrailConfig::default());
        let mut gate = ScreenGate::new(&f, &b, &c);
        gate.push("Kestrel").unwrap();
        assert_eq!(gate.finish(&Verdict::Fail(Reason::TooShort)), "");
    }

    proptest! {
        #[test]
        fn released_text_is_a_prefix_and_nothing_panics(pieces in proptest::collection::vec("\\PC{0,12}", 0..20)) {
            let (f, b, c) = (facts(), brands(), GuardrailConfig::default());
            let mut gate = ScreenGate::new(&f, &b, &c);
            let mut shown = String::new();
            for p in &pieces {
                match gate.push(p) {
                    Ok(s) => shown.push_str(&s),
                    Err(_) => break,
                }
            }
            prop_assert!(pieces.concat().starts_with(&shown));
        }
    }
}
