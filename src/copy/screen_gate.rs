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
//! - Copy that fails as a whole may still end at its last whole clause
//!   ([`ScreenGate::end_at_whole_clause`]): the longest prefix that ends a clause, keeps at least
//!   half of the text, says more than the product's name and passes every guardrail on its own.
//!   A price sign with no amount after it (`…，省下￥`) or a phrase cut off mid-way is dropped
//!   with its clause; nothing is ever added, so every word served was generated and judged.
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

    /// Ends the copy at its last whole clause, for copy that failed as a whole (see the module
    /// doc): `None` when no clause end keeps half the text and passes. What the screen shows
    /// next is in [`ClauseEnd::show`]; afterwards the gate has released exactly the served text.
    pub fn end_at_whole_clause(&mut self) -> Option<ClauseEnd> {
        let whole = self.text.trim_end().chars().count();
        let cut = clause_ends(&self.text)
            .into_iter()
            .rev()
            .map(|end| {
                self.text[..end]
                    .trim_end_matches(is_clause_joint)
                    .trim_end()
            })
            .filter(|kept| kept.chars().count() * 2 >= whole)
            .filter(|kept| says_more_than(kept, &self.facts.name))
            .find(|kept| guardrails::check(kept, self.facts, self.brands, self.config).is_pass())?
            .len();
        let served = self.text[..cut].to_string();
        let show = if cut >= self.released {
            Show::More(self.text[self.released..cut].to_string())
        } else {
            Show::Again(served.clone())
        };
        self.released = cut;
        self.text.truncate(cut);
        Some(ClauseEnd { served, show })
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

/// Copy ended at its last whole clause ([`ScreenGate::end_at_whole_clause`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClauseEnd {
    /// The copy served: a prefix of the generated text that passed the guardrails.
    pub served: String,
    /// What the screen does to show exactly `served`.
    pub show: Show,
}

/// How the screen gets from what it shows to the served copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Show {
    /// Append this (the screen shows a prefix of the served copy).
    More(String),
    /// Discard what is shown, then show this (the screen shows more than is served).
    Again(String),
}

/// Byte offsets just after each clause end of `text` (not its very end): `.!?;:,` before
/// whitespace (so `5.99` is one number) and Chinese `，。！？；：、`; and just before a
/// parenthesis that opens after whitespace or a full-width one (`…now 78.99 (was`, `，290（原价`):
/// an aside ends the clause before it, so an aside the model left unfinished is dropped whole.
fn clause_ends(text: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut prev: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = i + c.len_utf8();
        let next_is_space = chars.peek().is_some_and(|(_, n)| n.is_whitespace());
        let ends_clause = is_cjk_clause_end(c)
            || (matches!(c, '.' | '!' | '?' | ';' | ':' | ',') && next_is_space);
        let opens_aside = c == '（' || (c == '(' && prev.is_some_and(char::is_whitespace));
        if opens_aside && !text[..i].trim().is_empty() && ends.last() != Some(&i) {
            ends.push(i);
        }
        if ends_clause && !text[end..].trim().is_empty() {
            ends.push(end);
        }
        prev = Some(c);
    }
    ends
}

/// Whether `kept` says something besides the product's name (and an article): a shelf talker
/// that only names the product is not copy worth serving in place of a retry.
fn says_more_than(kept: &str, name: &str) -> bool {
    let lower = kept.to_lowercase();
    let rest = lower.replacen(&name.to_lowercase(), " ", 1);
    let words = rest
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !matches!(*w, "a" | "an" | "the"))
        .map(|w| w.chars().count())
        .sum::<usize>();
    words >= 4
}

/// Punctuation that joins a clause to the next one: dropped where the copy ends.
fn is_clause_joint(c: char) -> bool {
    matches!(c, ',' | ';' | ':' | '，' | '；' | '：' | '、')
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
        let (f, b, c) = li_ning();
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

    fn li_ning() -> (ProductFacts, BrandList, GuardrailConfig) {
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
        let c = GuardrailConfig::default().for_locale(Locale::ZhCn);
        (f, BrandList::new(["李宁", "安踏"]), c)
    }

    /// Seen in `bench copy` (zh-CN demo, EL-CAS-0015): "电小满 晴川手机壳，现在价115，省下￥" for a
    /// product with no list price. The saving is refused, the clauses before it are true.
    #[test]
    fn a_dangling_saving_is_dropped_with_its_clause() {
        let (f, b, c) = li_ning();
        let mut gate = ScreenGate::new(&f, &b, &c);
        let mut shown = String::new();
        for piece in ["李宁超轻跑步鞋，", "现在只要459元，", "省下￥"] {
            shown.push_str(&gate.push(piece).unwrap());
        }
        assert_eq!(shown, "李宁超轻跑步鞋，现在只要459元，");
        assert!(!guardrails::check(gate.text(), &f, &b, &c).is_pass());
        let end = gate.end_at_whole_clause().unwrap();
        assert_eq!(end.served, "李宁超轻跑步鞋，现在只要459元");
        // The screen showed the clause's comma too: it shows the served copy again.
        assert_eq!(end.show, Show::Again(end.served.clone()));
        assert!(guardrails::check(&end.served, &f, &b, &c).is_pass());
    }

    #[test]
    fn copy_cut_off_mid_phrase_ends_at_its_last_sentence() {
        let (f, b, c) = (facts(), brands(), GuardrailConfig::default());
        let mut gate = ScreenGate::new(&f, &b, &c);
        for piece in [
            "Kestrel Trail Runner, now ₹1299.",
            " Light on the",
            " trail and",
        ] {
            gate.push(piece).unwrap();
        }
        assert_eq!(
            guardrails::check(gate.text(), &f, &b, &c),
            Verdict::Fail(Reason::Unfinished("and".into()))
        );
        let end = gate.end_at_whole_clause().unwrap();
        assert_eq!(end.served, "Kestrel Trail Runner, now ₹1299.");
        assert_eq!(gate.text(), end.served, "the gate holds what is served");
    }

    #[test]
    fn no_clause_end_that_keeps_less_than_half_or_fails_itself() {
        let (f, b, c) = (facts(), brands(), GuardrailConfig::default());
        // The only passing clause end keeps less than half of the text.
        let mut gate = ScreenGate::new(&f, &b, &c);
        gate.push("Kestrel Trail Runner, light and quick on every kind of trail with")
            .unwrap();
        assert_eq!(gate.end_at_whole_clause(), None);
        // The clause before the end holds a price that is not the product's.
        let mut gate = ScreenGate::new(&f, &b, &c);
        gate.text
            .push_str("Kestrel Trail Runner now only ₹999, light and");
        assert_eq!(gate.end_at_whole_clause(), None);
        // What is left names only the product.
        let mut gate = ScreenGate::new(&f, &b, &c);
        gate.text
            .push_str("The Kestrel Trail Runner, now ₹1299 instead of ₹99");
        assert_eq!(gate.end_at_whole_clause(), None);
        // A decimal point ends no clause.
        assert!(clause_ends("now ₹12.99 only").is_empty());
    }

    /// Seen in `bench copy` (en demo, seed 263, OU-SLE-0002 and FW-RUN-0006): "Kestrelle Fable
    /// sleeping bag now at 78.99 (was" for a product with no was-price. The aside is dropped
    /// whole, the clause before it is true.
    #[test]
    fn an_unfinished_aside_is_dropped_whole() {
        let (f, b, c) = (facts(), brands(), GuardrailConfig::default());
        let mut gate = ScreenGate::new(&f, &b, &c);
        gate.text
            .push_str("Kestrel Trail Runner, light on any trail, now ₹1299 (was");
        assert_eq!(
            guardrails::check(gate.text(), &f, &b, &c),
            Verdict::Fail(Reason::Unfinished("(".into()))
        );
        let end = gate.end_at_whole_clause().unwrap();
        assert_eq!(
            end.served,
            "Kestrel Trail Runner, light on any trail, now ₹1299"
        );
        // Chinese: a full-width parenthesis opens an aside without a space before it.
        let (f, b, c) = li_ning();
        let mut gate = ScreenGate::new(&f, &b, &c);
        gate.text
            .push_str("李宁超轻跑步鞋，轻盈透气，现在只要459元（原价");
        let end = gate.end_at_whole_clause().unwrap();
        assert_eq!(end.served, "李宁超轻跑步鞋，轻盈透气，现在只要459元");
        // A parenthesis inside a word opens no aside; one at the very start ends no clause.
        assert!(clause_ends("T-shirt(s) for all").is_empty());
        assert!(clause_ends("(new) Kestrel").is_empty());
        assert_eq!(clause_ends("now ₹1299 (was"), vec!["now ₹1299 ".len()]);
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

        #[test]
        fn a_clause_end_is_a_passing_prefix_and_shows_exactly_it(
            good in proptest::bool::ANY,
            tail in "[\\PC ]{0,40}",
        ) {
            // After a passing sentence the tail is often dropped; after nothing, rarely.
            let text = if good { format!("Kestrel Trail Runner, now ₹1299. {tail}") } else { tail };
            let (f, b, c) = (facts(), brands(), GuardrailConfig::default());
            let mut gate = ScreenGate::new(&f, &b, &c);
            let shown = gate.push(&text).unwrap_or_default();
            if let Some(end) = gate.end_at_whole_clause() {
                prop_assert!(text.starts_with(&end.served));
                prop_assert!(guardrails::check(&end.served, &f, &b, &c).is_pass());
                let screen = match end.show {
                    Show::More(more) => shown + &more,
                    Show::Again(all) => all,
                };
                prop_assert_eq!(screen, end.served);
            }
        }
    }
}
