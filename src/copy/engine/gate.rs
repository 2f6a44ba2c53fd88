//! The number gate: which numbers (and, beside them, which other text the guardrails would
//! refuse) generation may write, when finished text may be streamed, where the copy ends and
//! when a number must be taken back. Pure, model-free code over text: the worker asks it about
//! token pieces and applies its answers to the sampler and the KV cache.
//!
//! The gate's answers:
//! - **allow / mask** ([`judge`]): a candidate token is allowed when every finished number in
//!   the copy plus the token is listed and a number still being written can still become a
//!   listed one, and every money amount can still be true in the role its words give it
//!   ([`MoneyRoles::admits`]: after `now ₹` only the price, after `was ₹` only the list price;
//!   a bare number that is the price, list price or saving is judged so once finished), and
//!   the token writes no other currency's sign, leaves no sign of the store's without an
//!   amount that can still follow, and completes no phrase the guardrails refuse
//!   (banned phrases, absolute claims, the record's field labels: nor may the copy open with
//!   a label's word or its plural as a label, the model starting the next record), names no
//!   shop the facts lack where the copy says where the product is sold (`…available at
//!   Sephara`), nor a place it comes from (`…, from the Himalayas`: [`PlaceNames`]), makes no
//!   claim in words the facts do not back (`…for up to an hour`, `the best … ever`, `the lowest
//!   possible price`: [`WordClaims`]), closes no clause on a word that waits for more
//!   (`…now at just under.`: [`closes_a_clause_waiting`], the guardrails' unfinished rule inside
//!   the copy), writes no second space in a row,
//!   opens the copy with no lowercase letter (but for the product's own `iPhone`), repeats
//!   nothing the guardrails' repetition rule refuses ([`Repeats`]: twice in a row, `fresh,
//!   fresh`, `绿茶 绿茶`, `积木积木`, `* *`, `✨✨`; a phrase again, `懒人 1265 懒人`; a word too
//!   often), begins no web address (`www.`, `http:`: [`begins_a_web_address`]), no mojibake
//!   (`â‚` of `â‚¬`) nor a mark with nothing to modify
//!   ([`orphan_mark`]: a lone `\u{fe0f}`) and, once the copy is long enough to end or before
//!   its first letter has a third symbol, takes it under no share of letters the guardrails'
//!   charset rule needs ([`thins_letters`]: a run of emoji after the copy, `🎁 🌟 🎁` before it),
//!   nor makes a run of symbols longer than it lets ([`LetterShare::runs_long`]: `🛒🛍️🛒🛍️`);
//!   otherwise it is masked and the sampling chain re-applied.
//! - **may end** ([`may_end`]): the end of text or a newline only once the copy has the
//!   guardrails' minimum length, names the product (their on-topic rule) and does not end on a
//!   connective (their unfinished rule). A newline, or a space after `。！？`, ends the copy
//!   ([`copy_ends_at`]).
//! - **bytes** ([`bytes_may_follow`]): a token's bytes after a character begun in byte tokens
//!   keep the copy valid UTF-8 and finish only characters the kiosk may write.
//! - **wait** ([`held_from`]): text from the token where an amount in progress begins (its
//!   currency sign, or its first digit, or a lone space token before it) is held back until the
//!   amount is finished, so nothing unlisted, and no sign without its amount, is ever streamed;
//!   a lone space token the copy ends on waits for what follows it, and so do words that lead
//!   into an amount in words.
//! - **rewind / stop** ([`NumberGate::dead_end`]): when no token can continue an amount, the copy
//!   goes back to the token where the amount began, sign and all, with a lone space token before
//!   it (at most [`MAX_REWINDS`] times per request), and continues in words
//!   ([`NumberGate::words_only`]) until a letter is written; when no amount is in progress but
//!   the copy ends on words that lead into one (`…retails for just over a`), those go back and
//!   none of them may come next; otherwise the copy ends there.
//! - **take back an amount in words** ([`NumberGate::words_rewind`]): English copy writes no
//!   amount in words no figure backs (`a few dollars`, `a third of the price`:
//!   [`AmountWords`], one rule with the guardrails). The words that lead into one
//!   ([`guardrails::AMOUNT_LEADS`]: `a few`, `just over a`) are held from the screen while
//!   they end the copy; when the model reaches for the money word after them, they go back with
//!   it (at most [`MAX_WORDS_REWINDS`] times per request) and none of them may open the next
//!   word ([`Rules::leads_barred`]): the model writes the amount in figures, which the gate
//!   judges in its role (`…now at only 95.99.`), or no amount. Where nothing can go back, the
//!   money word is masked like any refused token.
//! - **take back a lone space** ([`NumberGate::space_rewind`]): when what the model draws after
//!   a space token alone is refused or glues a word to it ([`glues_a_word`]), the space goes
//!   back (at most [`MAX_SPACE_REWINDS`] times per request) and the copy continues in words,
//!   each with its own space, never a fragment (`Only $30.49, ight off`).
//!
//! Invariants:
//! - The copy is folded as the guardrails fold it ([`crate::numbers::fold`]: full-width digits
//!   are digits) and scanned by the shared scanner ([`crate::numbers::scan`]): numbers are runs
//!   of ASCII digits with `,` (thousands separators, dropped) and `.` between them, compared as
//!   the guardrails normalise them ([`normalise_number`]: `1,299.00` is `1299`, but `259` is not
//!   `2590`), and Chinese numerals where they are an amount (`四百五十九元`, `八折`). A number
//!   followed by `%` or the word "percent" ([`crate::numbers::percent_follows`], the guardrails'
//!   own rule) must be listed with its `%`, one followed by `折` with its `折` (`8折`: the
//!   catalog's discount, see [`crate::copy::guardrails::allowed_numbers`]). Money amounts
//!   marked after them (`599元`) are judged in their role once the mark is written.
//! - Chinese numerals are judged once finished (the token after them): a wrong `元` amount or
//!   `折` in numerals is masked at its mark; rewinds take back digit numbers and numerals after
//!   their sign (`￥ 零`, which no word may follow: the zh-CN demo, seed 499), no other numerals.
//! - Every function here is total: any string, any byte sequence and any list are valid input;
//!   nothing panics, and byte offsets returned are `char` boundaries of the text given.
//! - No llama.cpp type appears here; token steps are known only by where their text starts.

use unicode_segmentation::UnicodeSegmentation;

use crate::copy::guardrails::{
    self, AmountWords, LetterShare, PlaceNames, Repeats, StrayChars, WordClaims,
};
use crate::copy::prompt::{has_web_marker, FIELD_LABELS};
use crate::numbers::{
    fold, foreign_symbol, has_mojibake, is_modifying_mark, normalise_number, orphan_mark, scan,
    MoneyRoles, CURRENCY_SYMBOLS,
};

/// Dead ends (see [`amount_in_progress`]) taken back per request; after that the copy ends there.
pub(super) const MAX_REWINDS: u32 = 2;

/// Lone spaces taken back per request ([`NumberGate::space_rewind`]); after that the copy goes on
/// after the space with what the gate allows.
pub(super) const MAX_SPACE_REWINDS: u32 = 3;

/// Amounts in words taken back per request ([`NumberGate::words_rewind`]); after that the word
/// that would make one is masked like any refused token.
pub(super) const MAX_WORDS_REWINDS: u32 = 2;

/// What a candidate token would add to the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next<'a> {
    /// The token's text.
    Piece(&'a str),
    /// End of text: it finishes a number still being written, which must then be complete.
    EndOfText,
}

/// The gate's word on a candidate token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Candidate {
    /// Every number stays listed or on its way to a listed one.
    Allow,
    /// The token would start or finish an unlisted number: mask it and sample again.
    Mask,
}

/// What one request's generation must respect: the numbers it may write, the money roles, the
/// phrases it may not write, and the length before which it may not end.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rules<'a> {
    pub allowed: &'a [String],
    pub money: Option<&'a MoneyRoles>,
    /// Phrases the guardrails refuse (banned phrases, absolute claims): never completed.
    pub barred: &'a [String],
    /// The product's content words, sorted: the copy may not end before it has one.
    pub topic: &'a [String],
    /// The copy may not end before it has this many characters and words.
    pub min_length: (usize, usize),
    /// The words the copy may open with in lowercase ([`opens_lowercase`]).
    pub openers: &'a [String],
    /// The repetition rule for the product's copy: no token that would break it is written.
    pub repeats: &'a Repeats,
    /// Characters the copy may not have: the worker samples no token that writes one
    /// ([`bytes_may_follow`]'s `may_write`).
    pub stray: &'a StrayChars,
    /// The guardrails' share of letters: once the copy is long enough to end, no symbol takes
    /// it under the share ([`thins_letters`]).
    pub letters: LetterShare,
    /// The guardrails' rule on amounts in words: no token completes one (`a few dollars`).
    pub amounts: &'a AmountWords,
    /// The guardrails' rule on places: no token writes a shop the facts lack after `available
    /// at`, nor an origin after `crafted in` ([`PlaceNames`]).
    pub places: &'a PlaceNames,
    /// The guardrails' rule on claims in words: no token makes one the facts do not back
    /// ([`WordClaims`]: `up to an hour`, `the best … ever`).
    pub claims: &'a WordClaims,
    /// No word of [`guardrails::AMOUNT_LEADS`] may be written next: the copy was just taken back from one
    /// to before the amount in words it led into ([`NumberGate::leads_barred`]).
    pub leads_barred: bool,
}

/// Allow or mask a candidate token after the copy `text`: every number must be among
/// `rules.allowed` (or on its way to one); with `rules.money`, every money amount must be true in
/// the role its words give and no discount the product cannot claim may be written; and no
/// phrase of `rules.barred` may be completed, nor two spaces written in a row
/// ([`doubles_a_space`]), nor the copy opened with a lowercase letter ([`opens_lowercase`]), nor
/// anything repeated ([`repeats`]), nor mojibake begun ([`has_mojibake`], as the guardrails' charset rule
/// finds it, here also cut off by the end). Phrases are found as the guardrails find them
/// ([`guardrails::says_phrase`]: whole words, any case but the pronoun `I`'s and a name-only
/// retailer's; Chinese as written).
pub(super) fn judge(text: &str, next: Next<'_>, rules: &Rules<'_>) -> Candidate {
    // The end of text is judged as a space after the copy: what it leaves unfinished.
    let (piece, ends) = match next {
        Next::Piece(piece) => (piece, false),
        Next::EndOfText => (" ", true),
    };
    let written = format!("{text}{piece}");
    let copy = fold(&written).text;
    let says = |phrases: &[String]| phrases.iter().any(|c| guardrails::says_phrase(&copy, c));
    if !starts_a_record(&copy)
        && folded_numbers_allowed(&copy, rules.allowed)
        && rules.money.is_none_or(|m| {
            m.admits(&copy, ends || piece.contains('\n'))
                && !says(&m.forbidden_claims)
                && foreign_symbol(&copy, |s| m.is_own_mark(s)).is_none()
                && !sign_left_without_amount(&copy, m, ends)
        })
        && !says(rules.barred)
        && !names_a_place(text, &copy, rules.places, ends)
        && !makes_a_claim(text, &copy, rules.claims)
        && (ends
            || !(doubles_a_space(text, piece)
                || opens_lowercase(text, &written, rules.openers)
                || has_mojibake(&written, true)
                || (piece.contains(is_modifying_mark)
                    && orphan_mark(&written).is_some()
                    && orphan_mark(text).is_none())
                || (begins_a_web_address(&written) && !begins_a_web_address(text))
                || repeats(text, &written, rules.repeats)
                || says_an_amount_in_words(text, &copy, rules.amounts)
                || (rules.leads_barred && opens_a_lead(text, piece))
                || closes_a_clause_waiting(text, &written)
                || thins_letters(text, &written, piece, rules)
                || (piece.contains(guardrails::is_symbol)
                    && rules.letters.runs_long(&written)
                    && !rules.letters.runs_long(text))))
    {
        Candidate::Allow
    } else {
        Candidate::Mask
    }
}

/// Whether the candidate after `text` (giving `written`) leaves a clause waiting as the
/// guardrails' unfinished rule reads one inside the copy ([`guardrails::unfinished_clause`]): it
/// closes a clause (`,;.!?`) on a word that waits for more (`…now at just under. The price drops…`,
/// `…for just under... over...`, the demo, en, seed 701, three of its twelve first-try failures),
/// or writes the space after such a mark. Masked at the mark, the copy ends on the words that
/// led into an amount, which a dead end takes back ([`trailing_leads`]). A currency's code before
/// its full stop (`Rs.`) waits for its amount, which may still follow it.
fn closes_a_clause_waiting(text: &str, written: &str) -> bool {
    let closes = written.ends_with([',', ';', '.', '!', '?']);
    let before_mark = written.trim_end_matches([',', ';', '.', '!', '?']);
    let last_word = before_mark
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or_default();
    if closes && guardrails::is_currency_code(last_word) {
        return false;
    }
    // The candidate is judged as if a space followed it; the text before, as written (a clause
    // it left waiting was let through before: this token is not the one to refuse).
    guardrails::unfinished_clause(&format!("{written} ")).is_some()
        && guardrails::unfinished_clause(text).is_none()
}

/// Where the copy ends within `piece`, written after `text`: at a newline, or at whitespace
/// after a full-width sentence end (`。！？`), which Chinese text never spaces: the model has
/// finished and starts something else (`登山靴，现在只需739。 更多 更多 更多…`, three of the zh-CN
/// demo's eight first-try failures on seed 281). `None` while it goes on.
pub(super) fn copy_ends_at(text: &str, piece: &str) -> Option<usize> {
    let mut before = text.chars().next_back();
    for (at, c) in piece.char_indices() {
        if c == '\n' || (c.is_whitespace() && matches!(before, Some('。' | '！' | '？'))) {
            return Some(at);
        }
        before = Some(c);
    }
    None
}

/// Whether `copy` (`text` and the candidate piece after it) opens with a lowercase letter (`camping in the USA!…`,
/// `a price tag on the…`: the demo, en, seed 281, served at a whole clause) other than in a word
/// of `openers` (the product's own `iPhone`, `realme`), or on its way to one (`i` of `iPhone`).
/// Judged until the copy's first word is finished; a script without case never opens so.
fn opens_lowercase(text: &str, copy: &str, openers: &[String]) -> bool {
    let first_word = |t: &str| -> (bool, usize) {
        let head = t.trim_start();
        let word = head
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or("");
        (!head.is_empty() && head.len() > word.len(), word.len())
    };
    if first_word(text).0 {
        return false;
    }
    let head = copy.trim_start();
    if !head.chars().next().is_some_and(char::is_lowercase) {
        return false;
    }
    let (finished, len) = first_word(copy);
    let word = &head[..len];
    !openers
        .iter()
        .any(|o| o == word || (!finished && o.starts_with(word)))
}

/// Whether `copy` has a web address's scheme or `www.` ([`has_web_marker`], which the
/// guardrails refuse as `url` and the product's facts never have) or ends in a word that can
/// only begin one (`www`, `htt…`): `Buy it here: www.rythmx.` (the Flipkart sample, seed 479),
/// `Buy from: http:www.samsung.com/…` (seed 499), `Buy now at: www.mysquire.co.in` (seed 491).
fn begins_a_web_address(copy: &str) -> bool {
    let last = copy
        .rsplit(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default();
    has_web_marker(copy)
        || ["www", "htt"].iter().any(|m| {
            last.get(..3)
                .is_some_and(|head| head.eq_ignore_ascii_case(m))
        })
}

/// Whether `piece` after `text` writes two spaces in a row (`$30.49,  essential water bottle`,
/// from the demo: a token of two spaces). Whitespace before the copy's first visible character
/// does not count (it is skipped), nor does a newline (it ends the copy).
fn doubles_a_space(text: &str, piece: &str) -> bool {
    let spaced = |c: char| c.is_whitespace() && c != '\n';
    let (last, piece) = if text.trim().is_empty() {
        (None, piece.trim_start())
    } else {
        (text.chars().next_back(), piece)
    };
    let mut before = last.is_some_and(spaced);
    for c in piece.chars() {
        if before && spaced(c) {
            return true;
        }
        before = spaced(c);
    }
    false
}

/// Whether `copy` (`text` and the candidate piece after it) repeats something where `text` did
/// not, by the guardrails' rule ([`Repeats`]): a word as soon as it is written again right after
/// itself (`Watch, watch`), a Chinese bigram or a symbol in a row (`积木积木`, `* *`, `✨✨`), a
/// phrase said again (`懒人 1265 懒人`), a word said too often. The gate's side of the rule; text
/// that already repeats something is never held against a token.
fn repeats(text: &str, copy: &str, rule: &Repeats) -> bool {
    rule.first_in(copy).is_some() && rule.first_in(text).is_none()
}

/// Whether `copy` (`text` and the candidate piece after it, folded) names a place the facts lack
/// ([`PlaceNames`]: `…available at Sephara`, `…, from the Himalayas`) where `text` did not; the word the copy ends on is
/// still being written unless the end of text (`ends`) finishes it.
fn names_a_place(text: &str, copy: &str, rule: &PlaceNames, ends: bool) -> bool {
    rule.first_in(copy, !ends).is_some() && rule.first_in(&fold(text).text, true).is_none()
}

/// Whether `copy` (`text` and the candidate piece after it, folded) makes a claim in words the
/// facts do not back ([`WordClaims`]: `…keeps your water icy for up to an hour`, `the best water
/// bottle ever`) where `text` did not. A claim the end of `copy` may still turn into other words
/// counts as made (` week` after `up to a` is masked, though ` weekend` was possible).
fn makes_a_claim(text: &str, copy: &str, rule: &WordClaims) -> bool {
    rule.first_in(copy).is_some() && rule.first_in(&fold(text).text).is_none()
}

/// Whether `piece` after `text` completes an amount in words ([`AmountWords`]) `text` did not
/// say: the worker takes the phrase back ([`NumberGate::words_rewind`]) rather than drawing
/// again after it.
pub(super) fn completes_an_amount_in_words(text: &str, piece: &str, rules: &Rules<'_>) -> bool {
    rules.amounts.applies()
        && says_an_amount_in_words(text, &fold(&format!("{text}{piece}")).text, rules.amounts)
}

/// Whether `copy` (`text` and the candidate piece after it, folded) says an amount in words
/// ([`AmountWords`]: `a few dollars`, `a third of the price`) where `text` did not: the gate's
/// side of the guardrails' rule. A word the piece ends on counts as finished (`cent` is not
/// waited on to become `century`: the model has a token for that word whole).
fn says_an_amount_in_words(text: &str, copy: &str, rule: &AmountWords) -> bool {
    rule.first_in(copy).is_some() && rule.first_in(&fold(text).text).is_none()
}

/// Whether `piece`, after `text`, writes a word of [`guardrails::AMOUNT_LEADS`] whole as its first word (` a`,
/// ` few`; not the `a` of ` affordable`, nor a piece that goes on with a word `text` ends in).
fn opens_a_lead(text: &str, piece: &str) -> bool {
    if text.ends_with(char::is_alphanumeric) && piece.starts_with(char::is_alphanumeric) {
        return false;
    }
    let head = piece.trim_start();
    let word = head
        .split(|c: char| !c.is_alphabetic())
        .next()
        .unwrap_or("");
    !word.is_empty() && guardrails::is_amount_lead(word)
}

/// Where a run of [`guardrails::AMOUNT_LEADS`] words that ends at byte `end` of `text` begins (words
/// separated by spaces only: a comma ends the run); `end` when the word before it is none.
fn leads_from(text: &str, end: usize) -> usize {
    let mut start = end;
    loop {
        let head = text[..start].trim_end_matches(' ');
        let word_at = head
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphabetic())
            .last()
            .map_or(head.len(), |(at, _)| at);
        let word = &head[word_at..];
        if word.is_empty() || !guardrails::is_amount_lead(word) {
            return start;
        }
        start = word_at;
    }
}

/// With the amount-in-words rule on, the step from which a run of [`guardrails::AMOUNT_LEADS`] the copy
/// ends on is held ([`leads_from`]): `…now from only a few` shows `…now from only` until the
/// next word, which may be the money word the run is taken back with.
fn trailing_leads(text: &str, starts: &[usize], amounts: &AmountWords) -> Option<usize> {
    if !amounts.applies() || text.ends_with(' ') {
        return None;
    }
    let start = leads_from(text, text.len());
    if start == text.len() {
        return None;
    }
    starts.iter().rposition(|&at| at <= start)
}

/// Whether `copy` has the store's currency sign (`money.marks`' first) with no amount after it
/// that can no longer get one (`Only ₹ ⅈ340`, `💰 ₹` at the end: the guardrails' `a price sign
/// without an amount`, seen on the Flipkart sample). A sign at the very end or before one space
/// may still be followed by its digits, unless the copy `ends` there.
fn sign_left_without_amount(copy: &str, money: &MoneyRoles, ends: bool) -> bool {
    let Some(symbol) = money.marks.first() else {
        return false;
    };
    let marks: Vec<&str> = money.marks.iter().map(String::as_str).collect();
    guardrails::unpriced_sign(copy, symbol, &marks)
        .is_some_and(|at| ends || !matches!(&copy[at + symbol.len()..], "" | " "))
}

/// Whether `copy` writes a field label of the prompt's record (`Shopper:`, which the guardrails
/// refuse as a prompt leak), opens with a label's word (`Shopper`, `Brand`) or with its plural
/// as a label (`Shoppers: want to stay fit; low price. The bed sheets…`, the Flipkart sample,
/// seed 479, refused off topic; `Shoppers love it` may open copy): the model
/// starting the next record instead of the copy, which a masked colon alone would leave
/// derailed (`Shopper likes tea…`). Labels are matched as the record writes them, in their case.
fn starts_a_record(copy: &str) -> bool {
    let head = copy.trim_start();
    FIELD_LABELS.iter().any(|label| {
        let word = label.strip_suffix(':').unwrap_or(label);
        copy.contains(label)
            || word == head.trim_end()
            || head
                .strip_prefix(word)
                .is_some_and(|rest| rest.starts_with("s:"))
    })
}

/// Whether the copy may end after `text` (end of text, or a newline after it): only once it has
/// `rules.min_length`'s characters (grapheme clusters) and words, counted as the guardrails count
/// them, names the product (one of `rules.topic`, the guardrails' on-topic rule) and does not
/// stop mid-phrase on a connective (`…instead of`, `…light and`: the guardrails'
/// `unfinished` rule for English) or with a clause or bracket open (`…20% off,`, `…(was $136.99`:
/// `guardrails::open_ending`), so generation does not stop short of what the guardrails pass.
pub(super) fn may_end(text: &str, rules: &Rules<'_>) -> bool {
    long_enough(text, rules.min_length)
        && guardrails::on_topic(&fold(text).text, rules.topic)
        && guardrails::unfinished_ending(text).is_none()
        && guardrails::open_ending(text).is_none()
}

/// Whether `text` has `min_length`'s characters (grapheme clusters) and words, counted as the
/// guardrails count them.
fn long_enough(text: &str, (min_chars, min_words): (usize, usize)) -> bool {
    text.trim().graphemes(true).count() >= min_chars && text.split_whitespace().count() >= min_words
}

/// Symbols (see [`guardrails::is_symbol`]) copy may open with before its first letter.
const OPENING_SYMBOLS: usize = 2;

/// Whether `piece`, after `text` (making `written`), takes the copy under the guardrails' share
/// of letters ([`LetterShare`], their charset rule) where letters may no longer come: a symbol
/// or an emoji once the copy could end there (`…now only ₹2115. 💤🛌😴💤🛌💤`, the Flipkart
/// sample, seed 443), or a third symbol before the copy's first letter (`🎁 🌟 🎁 🌟 🎁…`, seed
/// 479: the model's openings that never reach a word). Otherwise letters are still to come; a
/// piece with no counted non-letter never lowers the share, and with no share to keep (the
/// default rule) nothing thins it.
fn thins_letters(text: &str, written: &str, piece: &str, rules: &Rules<'_>) -> bool {
    rules.letters.lowered_by(piece)
        && !rules.letters.holds(written)
        && (long_enough(text, rules.min_length) || opening_symbols(written) > OPENING_SYMBOLS)
}

/// How many symbols ([`guardrails::is_symbol`], counted by grapheme: `❤️` is one) `text` has before its first
/// letter.
fn opening_symbols(text: &str) -> usize {
    text.graphemes(true)
        .take_while(|g| !g.chars().any(char::is_alphabetic))
        .filter(|g| g.chars().next().is_some_and(guardrails::is_symbol))
        .count()
}

/// Where streaming must wait: the start of the step (`starts`: where each generated token's text
/// begins in `text`, ascending) in which a number still in progress at the end of `text` begins,
/// or of the lone space before it ([`amount_step`]), or of a lone space `text` ends on
/// ([`trailing_lone_space`]), or of a run of words that may lead into an amount in words
/// ([`trailing_leads`]); `text.len()` when there is none.
pub(super) fn held_from(
    text: &str,
    starts: &[usize],
    money: Option<&MoneyRoles>,
    amounts: &AmountWords,
) -> usize {
    amount_step(text, starts, money)
        .or_else(|| trailing_lone_space(text, starts))
        .or_else(|| trailing_leads(text, starts, amounts))
        .map_or(text.len(), |step| starts[step])
}

/// The step from which an amount still in progress at the end of `text` ([`amount_in_progress`])
/// is held and taken back: the one where it begins, or the lone space before it
/// ([`wrote_a_lone_space`]).
fn amount_step(text: &str, starts: &[usize], money: Option<&MoneyRoles>) -> Option<usize> {
    let start = amount_in_progress(text, money)?;
    let step = starts.iter().rposition(|&at| at <= start)?;
    Some(match step.checked_sub(1) {
        Some(space) if wrote_a_lone_space(text, starts[space], starts[step]) => space,
        _ => step,
    })
}

/// The last step, when it wrote a lone space ([`wrote_a_lone_space`]).
fn trailing_lone_space(text: &str, starts: &[usize]) -> Option<usize> {
    let last = starts.len().checked_sub(1)?;
    wrote_a_lone_space(text, starts[last], text.len()).then_some(last)
}

/// Whether the step whose text is `text[at..end]` wrote only a space, after visible text: the
/// model's token for a space before a word it has no token for with its space (a digit, most
/// emoji, `ight`). Such a space is shown only with what follows it ([`held_from`]), and taken
/// back with a number after it or when what the model reached for after it is refused
/// ([`NumberGate::space_rewind`]): a word token written after it would double it, so the copy
/// could only go on in a word glued to nothing (`Only $30.49, ight off`, `for irst aid`).
fn wrote_a_lone_space(text: &str, at: usize, end: usize) -> bool {
    text.get(at..end) == Some(" ")
        && text
            .get(..at)
            .and_then(|head| head.chars().next_back())
            .is_some_and(|c| !c.is_whitespace())
}

/// Whether `piece`, a token's text after a lone space ([`wrote_a_lone_space`]), glues a word to
/// it: it opens with an ASCII letter. The model's vocabulary has a token for a space and each
/// ASCII letter together, so text never spells a word so; the model draws one only where what
/// it reached for after the space was left out (a digit, an emoji: `for ight some time now`).
pub(super) fn glues_a_word(piece: &str) -> bool {
    piece.starts_with(|c: char| c.is_ascii_alphabetic())
}

/// How much of `text` is served when the copy ends there, whatever ended it (the token budget
/// or the time budget spent, a dead end with no rewind left, the end of text): all of it when
/// the gate would let it end ([`judge`] of the end of text: every amount finished and listed and
/// true in its role) and it does not end on a currency sign, else up to the amount still held
/// ([`held_from`]): an amount the end cut off (`₹7` of `₹7495`, served when the budget ran out
/// mid-number) is never served. Never less than what no amount holds back.
pub(super) fn served_to(text: &str, starts: &[usize], rules: &Rules<'_>) -> usize {
    let on_a_sign = trailing_sign(&fold(text).text).is_some();
    if !on_a_sign && judge(text, Next::EndOfText, rules) == Candidate::Allow {
        text.len()
    } else {
        held_from(text, starts, rules.money, rules.amounts)
    }
}

/// What to do when no token can continue the copy (every candidate was masked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DeadEnd {
    /// Take back the steps from this index on (the step where the number in progress begins,
    /// or with `leads` the run of words that lead into an amount the copy ends on) and continue
    /// in words from there (with `leads`, in anything but those words).
    Rewind { step: usize, leads: bool },
    /// End the copy here: no number to take back, or the rewinds are spent.
    Stop,
}

/// The gate's state over one request: rewinds taken and whether digits are barred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct NumberGate {
    rewinds: u32,
    space_rewinds: u32,
    words_only: bool,
    words_rewinds: u32,
    leads_barred: bool,
}

impl NumberGate {
    /// Whether the copy must go on in words: no token with a digit or a currency sign, nor a
    /// bare space, may be sampled (after a rewind, until a letter is written).
    pub(super) fn words_only(&self) -> bool {
        self.words_only
    }

    /// Rewind or stop at a dead end after `text`, whose steps start at `starts` (ascending): the
    /// rewind takes back the amount from its first step and a lone space before it
    /// ([`wrote_a_lone_space`]), or else the run of words leading into an amount the copy ends
    /// on ([`trailing_leads`]: `…now retails for just over a`, where every word the model drew
    /// next made an amount in words).
    pub(super) fn dead_end(
        &self,
        text: &str,
        starts: &[usize],
        money: Option<&MoneyRoles>,
        amounts: &AmountWords,
    ) -> DeadEnd {
        if self.rewinds >= MAX_REWINDS {
            return DeadEnd::Stop;
        }
        if let Some(step) = amount_step(text, starts, money) {
            return DeadEnd::Rewind { step, leads: false };
        }
        trailing_leads(text, starts, amounts)
            .map_or(DeadEnd::Stop, |step| DeadEnd::Rewind { step, leads: true })
    }

    /// Record a rewind that was carried out: the copy goes on in words until a letter is
    /// written; after words that led into an amount (`leads`), in any but those words.
    pub(super) fn rewound(&mut self, leads: bool) {
        self.rewinds += 1;
        if leads {
            self.leads_barred = true;
        } else {
            self.words_only = true;
        }
    }

    /// The last step of `text` (steps start at `starts`, ascending) to take back when the gate
    /// refused what the model reached for after it: a lone space ([`wrote_a_lone_space`]), at
    /// most [`MAX_SPACE_REWINDS`] times per request. After it, in words ([`Self::rewound_space`]),
    /// the model writes the word with its own space where it would have written the space alone.
    pub(super) fn space_rewind(&self, text: &str, starts: &[usize]) -> Option<usize> {
        trailing_lone_space(text, starts).filter(|_| self.space_rewinds < MAX_SPACE_REWINDS)
    }

    /// Record a lone space taken back: the copy goes on in words until a letter is written.
    pub(super) fn rewound_space(&mut self) {
        self.space_rewinds += 1;
        self.words_only = true;
    }

    /// Whether the copy was taken back to before an amount in words and no word of
    /// [`guardrails::AMOUNT_LEADS`] may come next ([`Rules::leads_barred`]).
    pub(super) fn leads_barred(&self) -> bool {
        self.leads_barred
    }

    /// Whether an amount in words may still be taken back (at most [`MAX_WORDS_REWINDS`] per
    /// request).
    pub(super) fn may_take_back_words(&self) -> bool {
        self.words_rewinds < MAX_WORDS_REWINDS
    }

    /// The step of `text` (steps start at `starts`, ascending) to take back when `piece` after
    /// it would complete an amount in words ([`AmountWords`]): the one where the amount's phrase
    /// begins, with the run of [`guardrails::AMOUNT_LEADS`] before it (`only| a few dollars`, `now|
    /// just over a third of the price`), or else where the run of them `text` ends on begins
    /// (`retails for| just over a third`). `None` when the phrase begins in `piece` itself or
    /// both begin in text already streamed (`streamed`: nothing shown is taken back), or the
    /// rewinds are spent.
    pub(super) fn words_rewind(
        &self,
        (text, piece): (&str, &str),
        starts: &[usize],
        streamed: usize,
        amounts: &AmountWords,
    ) -> Option<usize> {
        if !self.may_take_back_words() {
            return None;
        }
        let written = fold(&format!("{text}{piece}"));
        let (at, _) = amounts.first_with_start(&written.text)?;
        let at = written.original(at);
        if at >= text.len() {
            return None;
        }
        // The phrase with the words that led into it, or else the run of them the copy ends on
        // (held from the screen): `retails for| just over a third`.
        [leads_from(text, at), leads_from(text, text.len())]
            .into_iter()
            .filter(|&start| start < text.len())
            .filter_map(|start| starts.iter().rposition(|&s| s <= start))
            .find(|&step| starts[step] >= streamed)
    }

    /// Record an amount in words taken back: no word of [`guardrails::AMOUNT_LEADS`] may open the next word.
    pub(super) fn rewound_words(&mut self) {
        self.words_rewinds += 1;
        self.leads_barred = true;
    }

    /// Record a piece written to the copy: a letter lifts the bar on digits and on the words that
    /// lead into an amount.
    pub(super) fn wrote(&mut self, piece: &str) {
        let letter = piece.chars().any(char::is_alphabetic);
        self.words_only &= !letter;
        self.leads_barred &= !letter;
    }
}

/// Where an amount still open at the end of `text` starts: its currency sign when it has one
/// before it, else its first digit (the text ends in a run of digits, `,` and `.` that holds a
/// digit; or in Chinese numerals after their sign, `￥四百`), or a currency sign ([`CURRENCY_SYMBOLS`]) the text ends on, alone or before one
/// space, whose digits are still to come; or else, with the product's money roles, an amount
/// that waits for the word that makes it a saving ([`MoneyRoles::saving_pending`]: `for ₹1100 `,
/// which the guardrails read as the price unless `off` follows). Such an amount is not shown
/// until it is finished and is taken back, sign and all, when it cannot end as a listed one (or
/// as a saving): a rewind that left `now ₹` would leave a sign without an amount, which the copy
/// may not keep. The text is folded once for all of them.
fn amount_in_progress(text: &str, money: Option<&MoneyRoles>) -> Option<usize> {
    let folded = fold(text);
    scan(&folded.text)
        .last()
        .filter(|n| {
            n.open && (!n.hanzi || n.currency.as_ref().is_some_and(|c| c.end <= n.span.start))
        })
        .map(|n| n.start_with_marker())
        .or_else(|| trailing_sign(&folded.text))
        .or_else(|| money.and_then(|m| m.saving_pending(&folded.text)))
        .map(|at| folded.original(at))
}

/// [`amount_in_progress`] without money roles: a number or sign still being written.
#[cfg(test)]
pub(super) fn number_in_progress(text: &str) -> Option<usize> {
    amount_in_progress(text, None)
}

/// Where `text` ends on a currency sign, alone or before one space.
fn trailing_sign(text: &str) -> Option<usize> {
    let head = text.strip_suffix(' ').unwrap_or(text);
    head.char_indices()
        .next_back()
        .filter(|(_, c)| CURRENCY_SYMBOLS.contains(*c))
        .map(|(at, _)| at)
}

/// [`folded_numbers_allowed`] of `text` folded (the tests' way in).
#[cfg(test)]
pub(super) fn numbers_allowed(text: &str, allowed: &[String]) -> bool {
    folded_numbers_allowed(&fold(text).text, allowed)
}

/// Whether every finished number in `text` (already folded) is in `allowed` and a number still
/// being written at the end can still become one. Numbers are those of [`scan`] (digit runs with
/// `,` dropped and `.` separators), compared as the guardrails normalise them (`1299.00` is
/// `1299`, but `259` is not `2590`). A number followed by `%` must be listed with its `%`
/// (`"53%"`): a price's digits do not make a discount. A number in progress may end in `.` only
/// as a listed number ending a sentence (`₹899.`) or on its way to a listed decimal (`9.` of
/// `9.84`), so a full stop cannot hide an unfinished number.
fn folded_numbers_allowed(text: &str, allowed: &[String]) -> bool {
    scan(text).iter().all(|n| {
        if n.open && n.hanzi {
            // `¥四百` may still become `¥四百五十九`.
            true
        } else if n.open {
            allowed.iter().any(|a| a.starts_with(n.run_digits.as_str()))
                || allowed.contains(&normalise_number(&n.run_digits))
        } else {
            allowed.contains(&n.listed())
        }
    })
}

/// Whether a token's bytes `piece` may follow `pending`, the bytes of a character the copy has
/// begun and not finished (byte tokens spell a character the vocabulary has no token for):
/// together they are valid UTF-8, perhaps ending inside a character that can still be finished
/// as one `may_write` accepts, and every character they finish passes `may_write`. So a lead
/// byte followed by a whole token (`…price of �\u{fe0e}`, a served copy's charset failure on the
/// demo catalog, seed 5) and a private-use glyph spelled in bytes (the Flipkart sample, seed
/// 251) are never sampled. A token that is whole text after nothing pending is judged by its
/// characters only.
pub(super) fn bytes_may_follow(
    pending: &[u8],
    piece: &[u8],
    may_write: impl Fn(char) -> bool,
) -> bool {
    let joined: std::borrow::Cow<'_, [u8]> = if pending.is_empty() {
        piece.into()
    } else {
        [pending, piece].concat().into()
    };
    let (finished, open) = match std::str::from_utf8(&joined) {
        Ok(s) => (s, &[][..]),
        Err(e) if e.error_len().is_none() => {
            let (head, tail) = joined.split_at(e.valid_up_to());
            match std::str::from_utf8(head) {
                Ok(s) => (s, tail),
                Err(_) => return false,
            }
        }
        Err(_) => return false,
    };
    finished.chars().all(&may_write) && (open.is_empty() || may_finish(open, &may_write))
}

/// Whether the unfinished character `open` (a lead byte and perhaps continuation bytes) can be
/// finished as a character `may_write` accepts: tried with the lowest and the highest
/// continuation bytes (`EE …` is private use either way; `E0 80 …` is not UTF-8, `E0 BF BF` is).
fn may_finish(open: &[u8], may_write: impl Fn(char) -> bool) -> bool {
    let width = match open.first() {
        Some(0xC2..=0xDF) => 2,
        Some(0xE0..=0xEF) => 3,
        Some(0xF0..=0xF4) => 4,
        _ => return false,
    };
    [0x80u8, 0xBF].iter().any(|&fill| {
        let mut bytes = open.to_vec();
        bytes.resize(width.max(open.len()), fill);
        std::str::from_utf8(&bytes).is_ok_and(|s| s.chars().all(&may_write))
    })
}

/// Take the longest valid UTF-8 prefix of `pending`, leaving an incomplete trailing character
/// for the next token. Invalid bytes become U+FFFD (which the guardrails reject).
pub(super) fn take_utf8(pending: &mut Vec<u8>) -> String {
    match std::str::from_utf8(pending) {
        Ok(s) => {
            let s = s.to_string();
            pending.clear();
            s
        }
        Err(e) if e.error_len().is_none() => {
            let valid = e.valid_up_to();
            let s = String::from_utf8_lossy(&pending[..valid]).into_owned();
            pending.drain(..valid);
            s
        }
        Err(_) => {
            let s = String::from_utf8_lossy(pending).into_owned();
            pending.clear();
            s
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    static NO_FACTS: std::sync::LazyLock<Repeats> = std::sync::LazyLock::new(Repeats::default);
    static NO_STRAYS: StrayChars = StrayChars::none();
    static NO_AMOUNTS: std::sync::LazyLock<AmountWords> =
        std::sync::LazyLock::new(AmountWords::default);
    static NO_PLACES: std::sync::LazyLock<PlaceNames> =
        std::sync::LazyLock::new(PlaceNames::default);
    static NO_CLAIMS: std::sync::LazyLock<WordClaims> =
        std::sync::LazyLock::new(WordClaims::default);

    fn rules<'a>(allowed: &'a [String], money: Option<&'a MoneyRoles>) -> Rules<'a> {
        Rules {
            allowed,
            money,
            barred: &[],
            topic: &[],
            min_length: (0, 0),
            openers: &[],
            repeats: &NO_FACTS,
            stray: &NO_STRAYS,
            letters: LetterShare::default(),
            amounts: &NO_AMOUNTS,
            places: &NO_PLACES,
            claims: &NO_CLAIMS,
            leads_barred: false,
        }
    }

    /// The demo (en, seed 653) served `…keeps your water icy for up to an hour` for socks and
    /// `the best water bottle ever`, refused by the guardrails after the whole copy was written:
    /// the gate writes no token that makes such a claim, but one the facts back, and the words
    /// round it.
    #[test]
    fn no_claim_in_words_the_facts_lack_is_written() {
        let config = guardrails::GuardrailConfig::default();
        let listed = list(&["8.99", "30"]);
        let socks = WordClaims::beside("Brasswren Zenith Sock Pack. Soft cotton.", &config);
        let charger = WordClaims::beside("Halvane Nova Charger. A 30-hour battery.", &config);
        let allows = |claims: &WordClaims, text: &str, piece: &str| {
            let rules = Rules {
                claims,
                ..rules(&listed, None)
            };
            judge(text, Next::Piece(piece), &rules) == Candidate::Allow
        };
        assert!(!allows(
            &socks,
            "Socks that keep feet dry for up to an",
            " hour"
        ));
        assert!(!allows(
            &socks,
            "Socks that keep feet dry for up to a",
            " week"
        ));
        assert!(!allows(&socks, "Socks, 8.99 per", " night"));
        assert!(!allows(&socks, "The best socks", " ever"));
        assert!(!allows(&socks, "Socks at the lowest", " possible"));
        assert!(!allows(&socks, "Socks at the lowest", " rate"));
        assert!(!allows(&socks, "Socks, 8.99, at the", " best"));
        assert!(allows(&socks, "Socks for up to a", " marathon"));
        assert!(allows(&socks, "The best socks for", " every"));
        assert!(allows(&charger, "A charger that lasts up to 30", " hours"));
        // A claim the text before made is not held against the next token.
        assert!(allows(&socks, "The best socks ever", "!"));
        let zh = WordClaims::beside(
            "李宁赤兔6跑步鞋",
            &config.for_locale(crate::locale::Locale::ZhCn),
        );
        assert!(allows(&zh, "The best socks", " ever"));
    }

    /// The demo (en, seed 701) wrote `…now at just under. The price drops…` and `…for just
    /// under... over...`, refused as unfinished: the gate closes no clause on a word that waits
    /// for more, nor writes the space after one, as the guardrails read a clause; a currency's
    /// code may take its full stop before its amount.
    #[test]
    fn no_clause_is_closed_on_a_word_that_waits_for_more() {
        let listed = list(&["40.99", "399"]);
        let allows = |text: &str, piece: &str| {
            judge(text, Next::Piece(piece), &rules(&listed, None)) == Candidate::Allow
        };
        assert!(!allows("Lightweight jacket, now at just under", "."));
        assert!(!allows("Lightweight jacket, now at just under", ","));
        assert!(!allows("Conditioner, now on sale for just", " under."));
        assert!(!allows("Conditioner, now on sale for just under", "..."));
        assert!(!allows("A bottle for only Rs.", " The"));
        assert!(allows("A bottle for only Rs", "."));
        assert!(allows("A bottle for only Rs.", " 399"));
        assert!(allows("A soft", ","));
        assert!(allows("A jacket to wear all day long", "."));
        assert!(allows("Lightweight jacket, now 40.99", "."));
        // A clause left waiting before is not held against the next token.
        assert!(allows(
            "Lightweight jacket, now at just under. The",
            " price"
        ));
    }

    /// Served on the Flipkart sample (bench seed 443) and refused by the guardrails' charset
    /// rule: a run of emoji after the copy. Once the copy may end, the gate writes no symbol
    /// that takes it under the share of letters; before that, and letters, always.
    #[test]
    fn no_symbol_takes_copy_that_may_end_under_the_share_of_letters() {
        let config = guardrails::GuardrailConfig::default();
        let allowed = list(&["49.99", "354"]);
        let share = Rules {
            letters: LetterShare::new(&config),
            min_length: config.min_length(),
            ..rules(&allowed, None)
        };
        // The served text less its price (no number is listed here).
        let mut text = String::from("Bed to bed, sleep well.");
        // Emoji all different (the repetition rule refuses one again), each after a dash (three
        // in a row are the most a run may have).
        let emoji = [
            "-💤", "-🛌", "-😴", "-🌙", "-⭐", "-🛏", "-🧸", "-🌛", "-💫", "-🌟", "-🎁", "-🛒",
        ];
        let mut written = 0;
        while written < emoji.len()
            && judge(&text, Next::Piece(emoji[written]), &share) == Candidate::Allow
        {
            text.push_str(emoji[written]);
            written += 1;
        }
        assert!(written > 0 && written < emoji.len(), "{written}: {text}");
        assert!(LetterShare::new(&config).holds(&text), "{text}");
        assert!(!LetterShare::new(&config).holds(&format!("{text}{}", emoji[written])));
        assert_eq!(
            judge(&text, Next::Piece(" Sleep"), &share),
            Candidate::Allow
        );
        assert_eq!(judge(&text, Next::Piece("\n"), &share), Candidate::Allow);
        // Too short to end: two symbols may open it, letters are still to come; not a third
        // (the Flipkart sample, seed 479: `🎁 🌟 🎁 🌟 🎁 🌟 🎁…`, never a word).
        assert_eq!(judge("", Next::Piece("✨"), &share), Candidate::Allow);
        assert_eq!(judge("✨", Next::Piece("🛍"), &share), Candidate::Allow);
        assert_eq!(judge("🎁 🌟", Next::Piece(" 🎁"), &share), Candidate::Mask);
        assert_eq!(
            judge("🎁 🌟", Next::Piece(" Gift"), &share),
            Candidate::Allow
        );
        assert_eq!(
            judge("❤️ ✨", Next::Piece(" Love"), &share),
            Candidate::Allow
        );
        assert_eq!(judge("❤️", Next::Piece(" ✨"), &share), Candidate::Allow);
        // Punctuation, digits and the price's sign are no symbols: `$49.99 (was…` opens copy.
        assert_eq!(judge("$49.99", Next::Piece(" ("), &share), Candidate::Allow);
        assert_eq!(
            judge("— ₹354 —", Next::Piece(" …"), &share),
            Candidate::Allow
        );
        // A run of symbols stops at three, spaces between them aside (the Flipkart sample, seed
        // 491: `…now only ₹1350. 🛒🛍️🛒🛍️🛒🛍️🛒🛍️🛒SHOP NOW!…`).
        let deal = "The best bag in Bali, now only ₹354.";
        assert_eq!(judge(deal, Next::Piece(" 🛒🛍️"), &share), Candidate::Allow);
        let run = format!("{deal} 🛒🛍️ 🛒");
        assert_eq!(judge(&run, Next::Piece("🛍️"), &share), Candidate::Mask);
        assert_eq!(judge(&run, Next::Piece(" 🛍️"), &share), Candidate::Mask);
        assert_eq!(judge(&run, Next::Piece(" Shop"), &share), Candidate::Allow);
        assert_eq!(
            judge(&format!("{run} Shop"), Next::Piece(" 🛍️"), &share),
            Candidate::Allow
        );
        // After the first letter, until the copy may end, symbols wait for the share's check.
        assert_eq!(
            judge("🎁 Gift 🌟", Next::Piece(" 🎁"), &share),
            Candidate::Allow
        );
        // Without the rule (the default), anything.
        assert_eq!(
            judge(&text, Next::Piece(emoji[written]), &rules(&[], None)),
            Candidate::Allow
        );
    }

    /// Served on the Flipkart sample (bench seed 479), refused by the charset rule: a variation
    /// selector after a space, over and over. No mark with nothing to modify is written; one on
    /// its character is.
    #[test]
    fn no_mark_is_written_with_nothing_to_modify() {
        let rules = rules(&[], None);
        let allows =
            |text: &str, piece: &str| judge(text, Next::Piece(piece), &rules) == Candidate::Allow;
        assert!(allows("Only now, ", "so"));
        assert!(!allows("Only now, ", "\u{fe0f}"));
        assert!(!allows("Only now,", " \u{fe0f}"));
        assert!(!allows("", "\u{fe0f}"));
        assert!(allows("Love it \u{2764}", "\u{fe0f}"));
        assert!(allows("Love it", " \u{2764}\u{fe0f}"));
        // Copy that has one already is not held against the next token.
        assert!(allows("\u{fe0f} Only", " today"));
    }

    /// Served by the zh-CN demo (seed 491) at a whole clause: `现价￥405，405`, which the bench's
    /// independent check read as ¥405,405. A full-width comma before a group of three digits is
    /// the thousands separator a shopper may take it for ([`fold`]): the price again after it is
    /// masked at its last digit.
    #[test]
    fn a_full_width_comma_before_three_digits_joins_them() {
        let allowed = list(&["405"]);
        let rules = rules(&allowed, None);
        let allows =
            |text: &str, piece: &str| judge(text, Next::Piece(piece), &rules) == Candidate::Allow;
        let text = "步云疾风跑步鞋，海蓝现价￥405，40";
        assert!(allows("步云疾风跑步鞋，海蓝现价￥405，", "原价"));
        assert!(allows("步云疾风跑步鞋，海蓝现价￥405，4", "0"));
        assert!(!allows(text, "5"));
        assert!(!allows(text, "5。"));
    }

    /// Written by the Flipkart sample and refused as `url` (seeds 479, 491, 499): no scheme or
    /// `www.` is begun; words that only share letters with one are written.
    #[test]
    fn no_web_address_is_begun() {
        let rules = rules(&[], None);
        let allows =
            |text: &str, piece: &str| judge(text, Next::Piece(piece), &rules) == Candidate::Allow;
        assert!(!allows("Buy it here: ", "www"));
        assert!(!allows("Buy it here: ww", "w"));
        assert!(!allows("Buy from: ", "http"));
        assert!(!allows("Buy from: H", "ttps"));
        assert!(!allows("Buy now at ", "WWW"));
        for (text, piece) in [
            ("Buy it here", ","),
            ("Shop the ", "hottest"),
            ("A ", "whistle"),
            ("Wow", ", what a deal"),
        ] {
            assert!(allows(text, piece), "{text}{piece}");
        }
    }

    fn at_least(min_length: (usize, usize)) -> Rules<'static> {
        Rules {
            min_length,
            ..rules(&[], None)
        }
    }

    fn list(numbers: &[&str]) -> Vec<String> {
        numbers.iter().map(|n| (*n).to_string()).collect()
    }

    fn allows(text: &str, piece: &str, allowed: &[String]) -> bool {
        judge(text, Next::Piece(piece), &rules(allowed, None)) == Candidate::Allow
    }

    /// Feed `pieces` through the gate as the worker does: each piece judged after the text so
    /// far and appended when allowed. Returns the first masked piece's index, if any.
    fn first_masked(pieces: &[&str], rules: &Rules<'_>) -> Option<usize> {
        let mut text = String::new();
        for (i, piece) in pieces.iter().enumerate() {
            if judge(&text, Next::Piece(piece), rules) == Candidate::Mask {
                return Some(i);
            }
            text.push_str(piece);
        }
        None
    }

    #[test]
    fn utf8_pieces_are_reassembled() {
        let rupee = "₹".as_bytes();
        let mut pending = rupee[..1].to_vec();
        assert_eq!(take_utf8(&mut pending), "");
        pending.extend_from_slice(&rupee[1..]);
        pending.extend_from_slice(b"99");
        assert_eq!(take_utf8(&mut pending), "₹99");
        assert!(pending.is_empty());
        let mut bad = vec![0xff, b'a'];
        assert_eq!(take_utf8(&mut bad), "\u{fffd}a");
    }

    #[test]
    fn utf8_keeps_an_incomplete_tail_after_valid_text() {
        let mut pending = b"ab".to_vec();
        pending.extend_from_slice(&"€".as_bytes()[..2]);
        assert_eq!(take_utf8(&mut pending), "ab");
        assert_eq!(pending, "€".as_bytes()[..2].to_vec());
        pending.push("€".as_bytes()[2]);
        assert_eq!(take_utf8(&mut pending), "€");
        assert_eq!(take_utf8(&mut Vec::new()), "");
    }

    /// What the kiosk may write in these tests: no private-use glyph, no dollar sign.
    fn writable(c: char) -> bool {
        !crate::numbers::is_private_use(c) && c != '$'
    }

    #[test]
    fn byte_tokens_keep_the_copy_valid_utf8() {
        let star = "⭐".as_bytes();
        // A character begun in bytes is finished by its own continuation bytes ...
        assert!(bytes_may_follow(&[], &star[..1], writable));
        assert!(bytes_may_follow(&star[..1], &star[1..2], writable));
        assert!(bytes_may_follow(&star[..2], &star[2..], writable));
        // ... never by a whole token (the served `…price of �\u{fe0e}`), nor by an ASCII word.
        assert!(!bytes_may_follow(
            &star[..2],
            "\u{fe0e}".as_bytes(),
            writable
        ));
        assert!(!bytes_may_follow(&star[..1], b" great", writable));
        // A continuation byte with nothing begun, and a byte no UTF-8 has.
        assert!(!bytes_may_follow(&[], &[0x80], writable));
        assert!(!bytes_may_follow(&[], &[0xff], writable));
        // Whole text after nothing pending: judged by its characters.
        assert!(bytes_may_follow(&[], "Only ₹299".as_bytes(), writable));
        assert!(!bytes_may_follow(&[], b"$5", writable));
    }

    /// English copy's stray characters ([`StrayChars`]) as the worker asks: neither whole nor
    /// spelled in bytes (`Â` is C3 82).
    #[test]
    fn english_copy_writes_no_stray_character() {
        let facts = crate::copy::prompt::ProductFacts::localised(
            &crate::catalog::Product {
                sku: String::new(),
                name: "Quillby Ember Sandal".into(),
                brand: None,
                category: vec!["Sandals".into()],
                price: crate::catalog::Minor(2799),
                list_price: None,
                description: String::new(),
                tags: Vec::new(),
            },
            &crate::copy::prompt::Currency::default(),
            crate::locale::Locale::En,
        );
        let stray = StrayChars::new(&facts, &guardrails::GuardrailConfig::default());
        let may_write = |c: char| writable(c) && !stray.refuses(c);
        let a_circumflex = "Â".as_bytes();
        assert!(!bytes_may_follow(&[], b" \xC3\x82", may_write));
        assert!(!bytes_may_follow(&[], a_circumflex, may_write));
        assert!(!bytes_may_follow(
            &a_circumflex[..1],
            &a_circumflex[1..],
            may_write
        ));
        assert!(!bytes_may_follow(&[], " 拢".as_bytes(), may_write));
        assert!(bytes_may_follow(&[], " under 27.99".as_bytes(), may_write));
        // C3 begins `é` too: allowed until finished.
        assert!(bytes_may_follow(&[], &a_circumflex[..1], may_write));
        assert!(bytes_may_follow(
            &a_circumflex[..1],
            &"é".as_bytes()[1..],
            may_write
        ));
    }

    #[test]
    fn byte_tokens_spell_no_character_the_kiosk_may_not_write() {
        let glyph = "\u{e000}".as_bytes();
        // A private-use glyph spelled in bytes (the Flipkart sample, seed 251): its lead byte
        // EE begins only private-use characters, so it is refused at once.
        assert!(!bytes_may_follow(&[], &glyph[..1], writable));
        assert!(!bytes_may_follow(&glyph[..2], &glyph[2..], writable));
        // EF begins both (U+F000 private use, U+FE0E not): allowed until finished.
        let selector = "\u{fe0e}".as_bytes();
        assert!(bytes_may_follow(&[], &selector[..1], writable));
        assert!(bytes_may_follow(&selector[..1], &selector[1..], writable));
        assert!(!bytes_may_follow(
            &"\u{f000}".as_bytes()[..2],
            &[0x80],
            writable
        ));
        // A Chinese character the vocabulary lacks is spelled in bytes as before.
        let rare = "龘".as_bytes();
        assert!(bytes_may_follow(&[], &rare[..1], writable));
        assert!(bytes_may_follow(&rare[..1], &rare[1..], writable));
    }

    #[test]
    fn the_copy_ends_at_a_newline_or_a_space_after_a_full_width_sentence_end() {
        assert_eq!(copy_ends_at("Great mug", " for tea\nShopper"), Some(8));
        // Seen on the zh-CN demo (seed 281): the sentence ends, a space, then a loop.
        assert_eq!(copy_ends_at("登山靴，现在只需739。", " 更多"), Some(0));
        assert_eq!(copy_ends_at("登山靴，现在只需739", "。 更多"), Some(3));
        assert_eq!(copy_ends_at("好用！", "\u{3000}再来"), Some(0));
        // Going on: no space after the sentence end, or an ASCII full stop (English spaces it).
        assert_eq!(copy_ends_at("登山靴。", "轻便耐穿"), None);
        assert_eq!(copy_ends_at("A great mug.", " Only 11.99"), None);
        assert_eq!(copy_ends_at("", " 登山靴"), None);
    }

    #[test]
    fn the_copy_opens_with_a_capital_but_for_the_products_own_lowercase_words() {
        let listed = list(&["69.99"]);
        // Served by the demo at a whole clause (en, seed 281).
        assert!(!allows("", " a", &listed));
        assert!(!allows("", "camping", &listed));
        assert!(allows("", " A", &listed));
        assert!(allows("", " 暖禾", &listed));
        assert!(allows("", "\"Light", &listed));
        // Past the first word nothing is judged.
        assert!(allows("Quillby Atlas Jacket", " a", &listed));
        // The product's own lowercase word, and on its way to it.
        let openers = vec!["iPhone".to_string(), "realme".to_string()];
        let own = Rules {
            openers: &openers,
            ..rules(&listed, None)
        };
        for pieces in [&[" i", "Phone", " case"][..], &["realme", " Narzo"]] {
            assert_eq!(first_masked(pieces, &own), None, "{pieces:?}");
        }
        assert_eq!(first_masked(&[" i", " love"], &own), Some(1));
        assert_eq!(first_masked(&[" real", "ly"], &own), Some(1));
    }

    #[test]
    fn mojibake_is_never_begun() {
        let listed = list(&["10.99"]);
        // The demo's `â‚¬` (en, seed 281): its second character is masked.
        assert!(allows("Charcoal, ", "â", &listed));
        assert!(!allows("Charcoal, â", "‚", &listed));
        assert!(!allows("Charcoal, ", "â‚", &listed));
        assert!(allows("Crème brûlée", " for", &listed));
        // The cost: an ellipsis right after an accented letter waits for another token.
        assert!(!allows("Café", "…", &listed));
        assert!(allows("Café", "!", &listed));
    }

    /// The degenerate loops of the demo's first tries (seed 283) and the Flipkart sample's (seed
    /// 293): each is masked at the token that says something a second time; what the product's
    /// own facts say twice stays writable.
    #[test]
    fn nothing_is_written_twice_in_a_row_but_what_the_facts_say_so() {
        let listed = list(&["429", "8.99"]);
        let plain = rules(&listed, None);
        for (pieces, masked) in [
            (&["Fresh", ",", " fresh", " coffee"][..], 2),
            (&["Watch", ",", " watch", " you"], 2),
            (&["绿茶", " ", "绿", "茶"], 3),
            (&["暖禾", " 暖禾", " 垫脚"], 1),
            (&["积木", "积木", "套装"], 1),
            (&["乐园", " 梦里", " 梦里"], 2),
            (&["马尾辫", "，", "马尾辫"], 2),
            (&["*", " *", " *"], 1),
            (&["🌟", "✨", "✨"], 2),
            (&["Watch", ", ⭐\u{fe0f}", "⭐\u{fe0f}"], 2),
            (&["Great", "!", "!"], 2),
            (&["(Was", " Â", " Â"], 2),
        ] {
            assert_eq!(first_masked(pieces, &plain), Some(masked), "{pieces:?}");
        }
        for pieces in [
            &["Wait", "...", " it", "'s", " here"][..],
            &["好", "物", "——", "积木", "套装"],
            &["Watch", "es", " to", " watch"],
            &["A", " fresh", " blend", ",", " fresh", "ly", " roasted"],
        ] {
            assert_eq!(first_masked(pieces, &plain), None, "{pieces:?}");
        }
        let lamp = crate::catalog::Product {
            sku: "L1".into(),
            name: "Bora Bora Lamp".into(),
            brand: None,
            category: Vec::new(),
            price: crate::catalog::Minor(2999),
            list_price: None,
            description: String::new(),
            tags: Vec::new(),
        };
        let bora = Repeats::new(
            &crate::copy::ProductFacts::new(&lamp, &crate::copy::Currency::default()),
            &guardrails::GuardrailConfig::default(),
        );
        let named = Rules {
            repeats: &bora,
            ..plain
        };
        assert_eq!(first_masked(&["Bora", " Bora", " lamp"], &named), None);
        assert_eq!(first_masked(&["Bora", " Bora", " lamp"], &plain), Some(1));
        // Text already written is never held against the next token.
        assert!(allows("Times Times", " Square", &listed));
    }

    /// Loops that are not in a row: the guardrails' whole repetition rule is the gate's.
    #[test]
    fn a_phrase_is_not_said_again_nor_a_word_too_often() {
        let listed = list(&["1265", "29.99"]);
        let plain = rules(&listed, None);
        // A phrase of three words, said a second time: masked as its last word comes.
        assert_eq!(
            first_masked(
                &["A", " warm", " glow", ",", " a", " warm", " glow"],
                &plain
            ),
            Some(6)
        );
        // A word of four letters or more, a fourth time.
        assert_eq!(
            first_masked(
                &[
                    "Light", " shoes", ",", " light", " laces", ",", " light", " soles", ",",
                    " light"
                ],
                &plain
            ),
            Some(9)
        );
        // zh-CN, seed 307: `懒人 1265 懒人 1265…` (failed off topic, served only on a retry).
        let zh = Repeats::beside(
            "步云懒人靴 1265",
            &guardrails::GuardrailConfig::default().for_locale(crate::locale::Locale::ZhCn),
        );
        let looping = Rules {
            repeats: &zh,
            ..plain
        };
        assert_eq!(
            first_masked(
                &["懒人", " ", "1265", " ", "懒人", " ", "1265", " ", "懒人"],
                &looping
            ),
            Some(5),
            "the second `懒人` is closed, a run the facts do not have twice"
        );
        assert_eq!(
            first_masked(&["懒人靴", "，", "现价", "1265", "元"], &looping),
            None
        );
    }

    #[test]
    fn two_spaces_in_a_row_are_never_written() {
        let listed = list(&["30.49"]);
        // The demo's `$30.49,  essential water bottle`: a token of two spaces.
        assert!(!allows("A bottle for 30.49,", "  essential", &listed));
        assert!(!allows("A bottle for 30.49, ", " essential", &listed));
        assert!(!allows("A bottle ", "\u{2009}for", &listed));
        assert!(allows("A bottle for 30.49,", " essential", &listed));
        // Before the first visible character whitespace is skipped; a newline ends the copy.
        assert!(allows("", "  A bottle", &listed));
        assert!(allows("A bottle ", "\n", &listed));
        assert!(judge("A bottle ", Next::EndOfText, &rules(&listed, None)) == Candidate::Allow);
    }

    #[test]
    fn a_number_in_progress_is_found_at_the_end_only() {
        assert_eq!(
            number_in_progress("Only ₹680, 21"),
            Some("Only ₹680, ".len())
        );
        // With its sign: taken back, the amount leaves no sign without one.
        assert_eq!(number_in_progress("was ₹1,0"), Some("was ".len()));
        assert_eq!(number_in_progress("a real 9."), Some("a real ".len()));
        assert_eq!(number_in_progress("now ₹680."), Some("now ".len()));
        assert_eq!(number_in_progress("现价¥45"), Some("现价".len()));
        assert_eq!(number_in_progress("now ₹680 off"), None);
        // A sign whose digits are still to come.
        assert_eq!(number_in_progress("Only ₹"), Some("Only ".len()));
        assert_eq!(number_in_progress("Only ₹ "), Some("Only ".len()));
        assert_eq!(number_in_progress("Only ₹ a"), None);
        assert_eq!(number_in_progress("Only ₹680 ₹"), Some("Only ₹680 ".len()));
        assert_eq!(number_in_progress("the end..."), None);
        assert_eq!(number_in_progress(""), None);
        assert_eq!(
            number_in_progress(",.,5"),
            Some(3),
            "separators before a digit"
        );
        assert_eq!(
            number_in_progress("٣"),
            None,
            "only ASCII digits make numbers"
        );
    }

    #[test]
    fn number_constraint() {
        let allowed = list(&["899", "1899", "9.84", "53", "53%"]);
        assert!(numbers_allowed("Now ₹8", &allowed));
        assert!(numbers_allowed("53 %", &allowed));
        assert!(
            !numbers_allowed("Now 899% better", &allowed),
            "a price is no percentage"
        );
        assert!(!numbers_allowed("9.84%", &allowed));
        assert!(numbers_allowed("Now ₹899", &allowed));
        assert!(numbers_allowed("Now ₹899.", &allowed));
        assert!(numbers_allowed("Now ₹1,899, 53% off", &allowed));
        assert!(numbers_allowed("a 9.84 inch lid", &allowed));
        assert!(!numbers_allowed("Now ₹45 ", &allowed));
        assert!(!numbers_allowed("a 98 inch lid", &allowed));
        assert!(!numbers_allowed("Now ₹7", &allowed));
        assert!(!numbers_allowed("Now ₹89 ", &allowed));
        assert!(
            numbers_allowed("Now ₹1899.0", &allowed),
            "on its way to 1899.00"
        );
        assert!(numbers_allowed("Now ₹1899.00 flat", &allowed));
        assert!(numbers_allowed("a 9.", &allowed), "on its way to 9.84");
        assert!(
            numbers_allowed("Now only 9.84.", &allowed),
            "a listed decimal ending a sentence"
        );
        assert!(!numbers_allowed("Now only 9.8.", &allowed));
        assert!(
            !numbers_allowed("It is a real 8.", &allowed),
            "8 ends no listed number"
        );
        let list_price = list(&["2590"]);
        assert!(numbers_allowed("was ₹259", &list_price));
        assert!(
            !numbers_allowed("was ₹259.", &list_price),
            "259 is not 2590"
        );
        assert!(!numbers_allowed("was ₹259 ", &list_price));
        let watts = list(&["25"]);
        assert!(numbers_allowed("25 W of light", &watts));
        assert!(
            !numbers_allowed("25 percent off", &watts),
            "the word makes a percentage, as in the guardrails"
        );
    }

    #[test]
    fn digits_split_across_tokens_are_judged_as_one_number() {
        let allowed = list(&["1899"]);
        assert_eq!(
            first_masked(&["Now ₹", "1", "8", "99", " only"], &rules(&allowed, None)),
            None
        );
        assert_eq!(
            first_masked(&["Now ₹", "18", "9", "8"], &rules(&allowed, None)),
            Some(3)
        );
        assert_eq!(
            first_masked(&["Now ₹", "1", ",", "899", "!"], &rules(&allowed, None)),
            None,
            "a thousands separator inside the run"
        );
        assert_eq!(
            first_masked(&["Now ₹", "189", " off"], &rules(&allowed, None)),
            Some(2),
            "a prefix of a listed number cannot end there"
        );
        assert_eq!(
            first_masked(&["Now ₹", "7"], &rules(&allowed, None)),
            Some(1)
        );
    }

    #[test]
    fn percent_after_a_number_needs_a_listed_percentage() {
        let allowed = list(&["40", "40%", "1299"]);
        assert!(allows("Save 40", "%", &allowed));
        assert!(allows("Save 40", " percent", &allowed));
        assert!(allows("Save 40", " PERCENT", &allowed));
        assert!(
            !allows("Save 1299", "%", &allowed),
            "a price is no percentage"
        );
        assert!(!allows("Save 1,299", " %", &allowed));
        let no_percent = list(&["40"]);
        assert!(!allows("Save 40", "%", &no_percent));
        assert!(allows("Save 40", " pieces", &no_percent));
        assert!(
            allows("Save 40", " per pack", &no_percent),
            "'per' is not 'percent'"
        );
    }

    #[test]
    fn end_of_text_finishes_the_number_in_progress() {
        let allowed = list(&["2590", "899"]);
        assert_eq!(
            judge("was ₹259", Next::EndOfText, &rules(&allowed, None)),
            Candidate::Mask
        );
        assert_eq!(
            judge("was ₹2590", Next::EndOfText, &rules(&allowed, None)),
            Candidate::Allow
        );
        assert_eq!(
            judge("was ₹2,590", Next::EndOfText, &rules(&allowed, None)),
            Candidate::Allow
        );
        assert_eq!(
            judge("now ₹899.", Next::EndOfText, &rules(&allowed, None)),
            Candidate::Allow
        );
        assert_eq!(
            judge("no numbers", Next::EndOfText, &rules(&allowed, None)),
            Candidate::Allow
        );
        assert_eq!(
            judge("", Next::EndOfText, &rules(&[], None)),
            Candidate::Allow
        );
    }

    /// A rupee product at ₹1367, was ₹2550 (a saving of ₹1183).
    fn rupee_money() -> MoneyRoles {
        MoneyRoles {
            marks: vec!["₹".into(), "INR".into(), "Rs".into()],
            price: "1367".into(),
            comparison: Some("2550".into()),
            saving: Some("1183".into()),
            ..MoneyRoles::default()
        }
    }

    #[test]
    fn a_money_amount_must_be_true_in_its_role_while_it_is_written() {
        let allowed = list(&["1367", "2550", "1183", "46"]);
        let money = rupee_money();
        let judge_with = |text: &str, piece: &str| {
            judge(text, Next::Piece(piece), &rules(&allowed, Some(&money)))
        };
        // The list price is listed, but not as what the shopper pays now.
        assert_eq!(judge_with("Now only ₹", "25"), Candidate::Mask);
        assert_eq!(judge_with("Now only ₹", "13"), Candidate::Allow);
        assert_eq!(judge_with("Now only ₹13", "67"), Candidate::Allow);
        assert_eq!(judge_with("Was ₹", "13"), Candidate::Mask);
        assert_eq!(judge_with("Was ₹", "25"), Candidate::Allow);
        // Without roles the gate only asks whether the number is listed.
        assert_eq!(
            judge("Now only ₹", Next::Piece("25"), &rules(&allowed, None)),
            Candidate::Allow
        );
    }

    #[test]
    fn a_price_sign_is_followed_by_its_amount() {
        let allowed = list(&["1367", "2550", "1183"]);
        let money = rupee_money();
        let rules = rules(&allowed, Some(&money));
        let judge_with = |text: &str, piece: &str| judge(text, Next::Piece(piece), &rules);
        // Seen on the Flipkart sample: `Only ₹ ⅈ340,`, `Fitness tracker, 💰 ₹` (then the end).
        assert_eq!(judge_with("Only ₹ ", "ⅈ"), Candidate::Mask);
        assert_eq!(judge_with("Only", " ₹"), Candidate::Allow);
        assert_eq!(judge_with("Only ₹", " "), Candidate::Allow);
        assert_eq!(judge_with("Only ₹ ", "13"), Candidate::Allow);
        assert_eq!(judge_with("Only ₹", "13"), Candidate::Allow);
        assert_eq!(judge_with("Only ₹", ","), Candidate::Mask);
        assert_eq!(judge_with("Only ₹", "\n"), Candidate::Mask);
        assert_eq!(
            judge("Fitness tracker, ₹", Next::EndOfText, &rules),
            Candidate::Mask
        );
        assert_eq!(
            judge("Fitness tracker, ₹1367", Next::EndOfText, &rules),
            Candidate::Allow
        );
        // The guardrails' own reading of the sign, shared.
        assert_eq!(
            guardrails::unpriced_sign("Only ₹1367, was ₹", "₹", &["₹"]),
            Some("Only ₹1367, was ".len())
        );
    }

    /// The English demo's commonest first-try failure on seed 593 (`…only a few dollars less`,
    /// four of seven amounts in words): the gate never writes the word that makes an amount in
    /// words; money words after an amount's digits, `worth every penny` and the facts' own words
    /// stay, and Chinese copy has no such rule.
    #[test]
    fn an_amount_in_words_is_never_completed() {
        let config = guardrails::GuardrailConfig::default();
        let listed = list(&["109.49"]);
        let amounts = AmountWords::beside("Kestrelle Sable Sleeping Bag", &config);
        let priced = Rules {
            amounts: &amounts,
            ..rules(&listed, None)
        };
        let allows =
            |text: &str, piece: &str| judge(text, Next::Piece(piece), &priced) == Candidate::Allow;
        assert!(!allows("Sable sleeping bag, only a few", " dollars"));
        assert!(!allows("Sable sleeping bag, only a few", " Bucks!"));
        assert!(!allows("Sable sleeping bag for just over a", " grand"));
        assert!(!allows("Sable sleeping bag, a third of the", " price"));
        // A measured part of a whole, whatever follows (the demo, seed 617: `…is just over a
        // quarter of its asking`, the price word barred).
        assert!(!allows("Sable sleeping bag is just over a", " quarter"));
        assert!(allows("Sable sleeping bag is a", " quarter"));
        assert!(allows("Sable sleeping bag, only a few", " more"));
        assert!(allows("Sable sleeping bag, 109.49", " dollars"));
        assert!(allows("Sable sleeping bag, worth every", " penny"));
        assert!(allows("Sable sleeping bag, a third of the", " weight"));
        // What the text already says is not held against the next token.
        assert!(allows("Sable sleeping bag, a dollar", " less"));
        let own = AmountWords::beside("Penny Lane Tote", &config);
        let named = Rules {
            amounts: &own,
            ..rules(&listed, None)
        };
        assert_eq!(
            judge("The", Next::Piece(" penny"), &named),
            Candidate::Allow,
            "the facts' own word"
        );
        let zh = AmountWords::beside(
            "李宁赤兔6跑步鞋",
            &guardrails::GuardrailConfig::default().for_locale(crate::locale::Locale::ZhCn),
        );
        assert_eq!(zh.first_in("a few dollars"), None);
    }

    /// The demo (en, seed 613) served `…available at Sephara` and `…only available at Best
    /// Prices`, and `make run` `…now at Shopaholics for only $30.49`: after a shop's cue the gate
    /// writes no capitalised word the facts lack, but lets one on its way to the facts' own
    /// (`Moss` of `Mossgate`), a day, lowercase words and the price.
    #[test]
    fn no_place_the_facts_lack_is_written_after_available_at_or_from() {
        let config = guardrails::GuardrailConfig::default();
        let listed = list(&["30.49"]);
        let shops = PlaceNames::beside("Mossgate Orbit Water Bottle Mossgate", &config);
        let named = Rules {
            places: &shops,
            ..rules(&listed, None)
        };
        let allows =
            |text: &str, piece: &str| judge(text, Next::Piece(piece), &named) == Candidate::Allow;
        assert!(!allows("Orbit water bottle, now at", " Shop"));
        assert!(!allows("Orbit water bottle, available at", " Sephara"));
        assert!(!allows("Orbit water bottle, only available at", " Best"));
        assert!(!allows("Orbit water bottle, available at Mo", "zart"));
        assert!(allows("Orbit water bottle, available at", " Moss"));
        assert!(allows("Orbit water bottle, available at Moss", "gate"));
        assert!(allows("Orbit water bottle, now at", " only"));
        assert!(allows("Orbit water bottle, now at", " 30.49"));
        assert!(allows("Orbit water bottle, on sale on", " Monday"));
        // An origin the facts lack, after a clause's `from` or an origin's cue (seed 617).
        assert!(!allows("Orbit water bottle, from the", " Himalayas"));
        assert!(!allows("Orbit water bottle, crafted in", " Tuscany"));
        assert!(!allows("Orbit water bottle, available at the", " Mall"));
        assert!(allows("Orbit water bottle, from the", " Moss"));
        assert!(allows("Orbit water bottle, from the", " first"));
        assert!(
            allows("Orbit water bottle for hikes at", " Yosemite"),
            "no cue"
        );
        assert_eq!(
            judge(
                "Orbit water bottle, available at Moss",
                Next::EndOfText,
                &named
            ),
            Candidate::Mask,
            "a word the end finishes is judged whole"
        );
        assert_eq!(
            judge(
                "Orbit water bottle, now at Moss",
                Next::Piece(" for"),
                &named
            ),
            Candidate::Mask
        );
        // What the text already says is not held against the next token; no rule, no mask.
        assert!(allows("Orbit water bottle, available at Jetstar", " for"));
        assert_eq!(
            judge(
                "Orbit water bottle, now at",
                Next::Piece(" Shop"),
                &rules(&listed, None)
            ),
            Candidate::Allow
        );
    }

    /// The English demo on seed 599 reached for `dollars` after `…now from only a few`: masked,
    /// it served `…now from only a few` and `…a few extra pounds`. The words that led into the
    /// amount are held from the screen, go back with it, and none of them may come next.
    #[test]
    fn an_amount_in_words_goes_back_to_the_words_that_led_into_it() {
        let config = guardrails::GuardrailConfig::default();
        let amounts = AmountWords::beside("Rivetta Haven Puzzle Slate", &config);
        // Steps: "A Rivetta Haven Puzzle" 0, ", now" 22, " from" 27, " only" 32, " a" 37,
        // " few" 39.
        let text = "A Rivetta Haven Puzzle, now from only a few";
        let starts = [0, 22, 27, 32, 37, 39];
        assert_eq!(held_from(text, &starts, None, &amounts), 37);
        assert_eq!(
            held_from(text, &starts, None, &NO_AMOUNTS),
            text.len(),
            "no rule, nothing held"
        );
        let gate = NumberGate::default();
        assert_eq!(
            gate.words_rewind((text, " dollars"), &starts, 37, &amounts),
            Some(4)
        );
        assert_eq!(
            gate.words_rewind((text, " dollars"), &starts, 38, &amounts),
            None,
            "nothing shown is taken back"
        );
        assert_eq!(
            gate.words_rewind((text, " puzzles"), &starts, 37, &amounts),
            None
        );
        let parts = "A Rivetta Haven Puzzle, now just over a third of the";
        let starts = [0, 22, 27, 32, 37, 39, 45, 48];
        assert_eq!(
            gate.words_rewind((parts, " price"), &starts, 0, &amounts),
            Some(2),
            "back to `just over a`"
        );
        let cued = "A Rivetta Haven Puzzle, now retails for just over a";
        // Steps: ... " retails" 27, " for" 35, " just" 39, " over" 44, " a" 49.
        let starts = [0, 22, 27, 35, 39, 44, 49];
        assert_eq!(
            gate.words_rewind((cued, " third"), &starts, 39, &amounts),
            Some(4),
            "`for` was shown: back to the run held after it"
        );
        let mut gate = gate;
        gate.rewound_words();
        assert!(gate.leads_barred());
        let barred = Rules {
            amounts: &amounts,
            leads_barred: true,
            ..rules(&[], None)
        };
        let allows =
            |text: &str, piece: &str| judge(text, Next::Piece(piece), &barred) == Candidate::Allow;
        assert!(!allows("Puzzle, now from only", " a"));
        assert!(!allows("Puzzle, now from only", " Just"));
        assert!(allows("Puzzle, now from only", " affordable"));
        assert!(allows("Puzzle, now from only", " $"));
        gate.wrote(" $");
        assert!(gate.leads_barred(), "no letter yet");
        gate.wrote(" affordable");
        assert!(!gate.leads_barred());
        gate.rewound_words();
        assert!(!gate.may_take_back_words(), "at most {MAX_WORDS_REWINDS}");
        assert!(completes_an_amount_in_words(
            "Puzzle, a few",
            " bucks",
            &Rules {
                amounts: &amounts,
                ..rules(&[], None)
            }
        ));
    }

    /// Seed 599: `…now retails for just over a`, where every word the model drew next made an
    /// amount in words, ended the copy there. A dead end with no number in progress takes the
    /// leading words back, and the copy goes on in anything but them (digits allowed).
    #[test]
    fn a_dead_end_after_words_that_lead_into_an_amount_takes_them_back() {
        let config = guardrails::GuardrailConfig::default();
        let amounts = AmountWords::beside("Mossgate Orbit Mug", &config);
        let text = "A Rivetta Haven Puzzle, now retails for just over a";
        let starts = [0, 22, 27, 35, 39, 44, 49];
        let mut gate = NumberGate::default();
        assert_eq!(
            gate.dead_end(text, &starts, None, &amounts),
            DeadEnd::Rewind {
                step: 4,
                leads: true
            }
        );
        assert_eq!(
            gate.dead_end(text, &starts, None, &NO_AMOUNTS),
            DeadEnd::Stop,
            "without the rule there is nothing to take back"
        );
        gate.rewound(true);
        assert!(gate.leads_barred() && !gate.words_only());
    }

    /// Rules with no numbers listed and `barred` barred.
    fn barring(barred: &[String]) -> Rules<'_> {
        Rules {
            barred,
            ..rules(&[], None)
        }
    }

    #[test]
    fn a_barred_phrase_is_never_completed() {
        let barred = list(&["lowest price", "最低价"]);
        let rules = barring(&barred);
        let allows =
            |text: &str, piece: &str| judge(text, Next::Piece(piece), &rules) == Candidate::Allow;
        // Seen in held-out copy: `17% off, now at the lowest price ever`.
        assert!(!allows("now at the lowest", " price"));
        assert!(!allows("now at the Lowest", " PRICE!"), "any case");
        assert!(
            allows("now at the lowest", " prices"),
            "whole words, as the guardrails read them"
        );
        assert!(allows("the low", " price"));
        assert!(!allows("这款耳机", "最低价"), "Chinese as written");
        assert_eq!(
            judge("at the lowest price", Next::EndOfText, &rules),
            Candidate::Mask
        );
    }

    /// What the guardrails bar beside the banned phrases: a price set beside another thing's and
    /// a well-known brand the facts lack (as written: the fruit stays). Seen in the demo's first
    /// tries (en, seed 601): `…for less than the price of an iPhone X`, `Apple Watch`.
    #[test]
    fn no_price_comparison_or_well_known_brand_is_completed() {
        let barred = list(&["price of an", "price of a", "Apple", "iPhone"]);
        let rules = barring(&barred);
        let allows =
            |text: &str, piece: &str| judge(text, Next::Piece(piece), &rules) == Candidate::Allow;
        assert!(!allows("Now for less than the price of", " an"));
        assert!(allows("Now for less than the price of", " any"));
        assert!(!allows("", "Apple"));
        assert!(!allows("Fits every new", " iPhone"));
        assert!(allows("Crisp as an", " apple"), "the fruit");
        assert!(
            allows("Fits every new", " iPhones"),
            "whole words, as the guardrails read them"
        );
    }

    #[test]
    fn the_copy_may_not_end_on_a_connective() {
        let rules = at_least((0, 0));
        // Seen in first tries of random pairs (seeds 107, 109, en).
        assert!(!may_end(
            "Copperlake Lark Mug, now only 13.99 instead of",
            &rules
        ));
        assert!(!may_end("a T-shirt that is lightweight and", &rules));
        assert!(!may_end("The Rivetta Atlas Charger with", &rules));
        assert!(may_end("a T-shirt that is lightweight and soft.", &rules));
        assert!(
            may_end("slip it on", &rules),
            "finished phrases end as they may"
        );
    }

    #[test]
    fn the_copy_neither_opens_with_nor_writes_a_field_label() {
        let rules = rules(&[], None);
        let allows =
            |text: &str, piece: &str| judge(text, Next::Piece(piece), &rules) == Candidate::Allow;
        // Seen in first tries of random pairs (seed 103, en): `Shopper: likes`, `Brand: Bram`,
        // `Product: Copper` — the model starting the next record.
        for word in [
            " Shopper",
            " Brand",
            " Product",
            "Price",
            " Details",
            " Category",
            " Copy",
        ] {
            assert!(!allows("", word), "{word:?} opens a record");
        }
        assert!(!allows(" Sh", "opper"), "a label's word in two pieces");
        assert!(!allows("Great tea, Shopper", ":"));
        assert!(!allows("Great tea", "\nPrice:"));
        // The words themselves are copy anywhere else, and a longer word may open it.
        assert!(allows("", " Shoppers"));
        assert!(allows(" Shoppers", " love"));
        assert!(allows("", " Pricey"));
        // But not the plural as a label (the Flipkart sample, seed 479: `Shoppers: want to stay
        // fit; low price. The bed sheets…`, off topic).
        assert!(!allows(" Shoppers", ":"));
        assert!(!allows("", "Products:"));
        assert!(allows("A fair", " price"));
        assert!(allows("Our best", " Brand"));
        assert!(allows("price:", " just"), "the labels in their case only");
    }

    #[test]
    fn a_bare_money_amount_is_judged_in_its_role_once_finished() {
        let allowed = list(&["40.99", "54.99", "14", "2"]);
        let money = MoneyRoles {
            marks: vec!["$".into()],
            price: "40.99".into(),
            comparison: Some("54.99".into()),
            saving: Some("14".into()),
            text_numbers: vec!["2".into()],
            ..MoneyRoles::default()
        };
        // After the copy's opening word (the pieces below start mid-copy), as index of `pieces`.
        let masked = |pieces: &[&str]| {
            first_masked(
                &[&["Deal: "][..], pieces].concat(),
                &rules(&allowed, Some(&money)),
            )
            .map(|i| i - 1)
        };
        // Seen in held-out copy: `A coffee maker for under 40.99, now`.
        assert_eq!(
            masked(&["for under ", "40", ".", "99", ", now"]),
            Some(4),
            "the price as the comparison is masked where it is finished"
        );
        assert_eq!(
            masked(&["now ", "40", ".", "99", ", was ", "54.99", "."]),
            None
        );
        assert_eq!(masked(&["Save ", "14", " today"]), None);
        assert_eq!(masked(&["Save ", "54.99", ":"]), Some(2));
        assert_eq!(
            masked(&["A ", "2", "-pack, now ", "40.99"]),
            None,
            "a number of the product's own text is a fact"
        );
        assert_eq!(
            judge("Only ", Next::Piece("₱"), &rules(&allowed, Some(&money))),
            Candidate::Mask,
            "another currency's sign (seen held out: `Only ₱`)"
        );
        assert_eq!(
            judge("Only ", Next::Piece("$"), &rules(&allowed, Some(&money))),
            Candidate::Allow
        );
        assert_eq!(
            judge(
                "for under 40.99",
                Next::EndOfText,
                &rules(&allowed, Some(&money))
            ),
            Candidate::Mask,
            "the end of the text finishes it too"
        );
    }

    #[test]
    fn the_copy_may_not_end_short_of_the_minimum_length() {
        assert!(
            !may_end("Ceramic mug, ₹199.", &at_least((20, 3))),
            "18 characters"
        );
        assert!(
            !may_end("A ceramic mug for tea", &at_least((20, 6))),
            "5 words"
        );
        assert!(may_end("A ceramic mug for tea, ₹199.", &at_least((20, 3))));
        assert!(may_end("", &at_least((0, 0))));
        assert!(!may_end("   ", &at_least((1, 0))));
    }

    #[test]
    fn the_copy_may_not_end_before_it_names_the_product() {
        // Seen in held-out copy: `The best of both worlds!` for a snack mix.
        let topic = list(&["breeze", "fennimore", "mix", "snack"]);
        let rules = Rules {
            topic: &topic,
            ..at_least((0, 0))
        };
        assert!(!may_end("The best of both worlds!", &rules));
        assert!(may_end(
            "The best of both worlds: a Fennimore snack",
            &rules
        ));
        assert!(
            may_end("SNACK time", &rules),
            "as the guardrails count words"
        );
        let mut zh = list(&["跑步", "步鞋", "李宁"]);
        zh.sort();
        let rules = Rules {
            topic: &zh,
            ..at_least((0, 0))
        };
        assert!(!may_end("冬天来了，快来看看", &rules));
        assert!(may_end("李宁新款，快来看看", &rules));
    }

    #[test]
    fn trailing_zeros_and_decimals_are_normalised() {
        let allowed = list(&["2590", "1299", "9.5"]);
        assert!(allows("was ₹259", "0 ", &allowed));
        assert!(!allows("was ₹259", " ", &allowed), "259 is not 2590");
        assert!(
            !allows("was ₹259", ".", &allowed),
            "nor is 259. on its way anywhere"
        );
        assert!(allows("now ₹1299", ".00 ", &allowed), "1299.00 is 1299");
        assert!(
            allows("now ₹1,299", ".0", &allowed),
            "on its way to 1299.00"
        );
        assert!(allows("a 9", ".50 m cable", &allowed), "9.50 is 9.5");
        assert!(
            allows("a 09", ".5 m cable", &allowed),
            "leading zeros do not count"
        );
        assert!(!allows("a 9", ".55 m", &allowed));
        assert!(allows("a 9", ".", &allowed), "on its way to 9.5");
        assert!(!allows("a 9.", " ", &allowed), "9 is not listed");
    }

    #[test]
    fn unlisted_numbers_and_any_number_with_an_empty_list_are_masked() {
        assert!(!allows("Only ", "5", &[]));
        assert!(allows("Only ", "five", &[]));
        assert!(allows("", "", &[]));
        let allowed = list(&["899"]);
        assert!(!allows("Only ₹899 and ", "1", &allowed));
        assert!(
            allows("Only ₹899 and ", "899", &allowed),
            "a number may repeat"
        );
        assert!(
            !allows("Only ₹8", "98", &allowed),
            "898 can only end unlisted"
        );
    }

    #[test]
    fn streaming_waits_at_the_step_where_a_number_begins() {
        // Steps: "Now" at 0, " ₹" at 3, "1" at 7, "8" at 8 ("₹" is three bytes). The amount's
        // sign is held with it.
        let text = "Now ₹18";
        let starts = [0, 3, 7, 8];
        assert_eq!(held_from(text, &starts, None, &NO_AMOUNTS), 3);
        assert_eq!(held_from("Now ₹", &[0, 3], None, &NO_AMOUNTS), 3);
        // A piece holding both words and digits is held as a whole.
        assert_eq!(held_from("Now ₹18", &[0, 3], None, &NO_AMOUNTS), 3);
        assert_eq!(
            held_from("Now ₹18 off", &starts, None, &NO_AMOUNTS),
            "Now ₹18 off".len()
        );
        assert_eq!(held_from("", &[], None, &NO_AMOUNTS), 0);
        assert_eq!(
            held_from("12", &[], None, &NO_AMOUNTS),
            2,
            "no step: nothing held"
        );
    }

    #[test]
    fn an_amount_the_end_cut_off_is_not_served() {
        // Served by the engine when its 40 tokens ran out mid-price (CI, 2026-12-05): `₹7` of
        // `₹7495`. Steps: the words at 0, " ₹" at 47, "7" at 51.
        let allowed = list(&["1500", "17%", "18", "7495", "8995"]);
        let money = rupee_money();
        let plain = rules(&allowed, None);
        let text = "WQ18 Qibla, a watch with 18K gold: Alfajr wq18, ₹7";
        let starts = [0, 47, 51];
        assert_eq!(&text[47..], " ₹7");
        assert_eq!(served_to(text, &starts, &plain), 47);
        // A sign the end left without its amount goes too, in either form.
        assert_eq!(served_to("Alfajr wq18, ₹", &[0, 12], &plain), 12);
        assert_eq!(served_to("Alfajr wq18, ₹ ", &[0, 12], &plain), 12);
        // A finished listed amount is served, ended by the budget or not.
        let whole = "Alfajr wq18, ₹7495";
        assert_eq!(served_to(whole, &[0, 12, 16], &plain), whole.len());
        let whole = "Alfajr wq18, now ₹7495.";
        assert_eq!(served_to(whole, &[0, 12, 20], &plain), whole.len());
        // A listed amount in a role it is false in is not served either (₹2550 is the list
        // price, not what it costs now).
        let money_rules = rules(&allowed, Some(&money));
        let false_price = "Alfajr wq18, now ₹2550";
        assert_eq!(served_to(false_price, &[0, 12, 16, 20], &money_rules), 16);
        // Text with no amount at its end is served whole whatever else the end would refuse.
        assert_eq!(served_to("Alfajr", &[0], &plain), 6);
    }

    #[test]
    fn the_savings_figure_waits_for_its_saving_word_and_is_taken_back_without_it() {
        // The Flipkart sample (bench seed 443): `Watch with uralite, 50mm (in white)` for a
        // watch whose saving is 50, refused by the guardrails as a price of 50. Here with the
        // rupee product's saving, ₹1183. Steps: the words at 0, " 1183" at 24, " " at 29.
        let allowed = list(&["1367", "2550", "1183"]);
        let money = rupee_money();
        let rules = rules(&allowed, Some(&money));
        let text = "Watch with uralite, dial";
        assert_eq!(judge(text, Next::Piece(" 1183"), &rules), Candidate::Allow);
        let text = "Watch with uralite, dial 1183";
        // The word after it settles it: a unit or a count makes it the price, `off` a saving.
        for refused in ["mm", "-day", ", and", ". ", " in", "\n"] {
            assert_eq!(
                judge(text, Next::Piece(refused), &rules),
                Candidate::Mask,
                "{refused:?}"
            );
        }
        assert_eq!(judge(text, Next::EndOfText, &rules), Candidate::Mask);
        for waits in [" ", " o", "-", " less"] {
            assert_eq!(
                judge(text, Next::Piece(waits), &rules),
                Candidate::Allow,
                "{waits:?}"
            );
        }
        // While it waits it is held back with the step it began in, and a dead end (every
        // candidate after `1183 ` masked) takes it back, as a number still being written is.
        let waiting = "Watch with uralite, dial 1183 ";
        let starts = [0, 24, 29];
        assert_eq!(held_from(waiting, &starts, Some(&money), &NO_AMOUNTS), 24);
        assert_eq!(
            held_from(waiting, &starts, None, &NO_AMOUNTS),
            waiting.len() - 1,
            "without the money roles nothing says it is money: only the lone space waits"
        );
        assert_eq!(
            NumberGate::default().dead_end(waiting, &starts, Some(&money), &NO_AMOUNTS),
            DeadEnd::Rewind {
                step: 1,
                leads: false
            }
        );
        // The end cuts it off: not served.
        assert_eq!(served_to(waiting, &starts, &rules), 24);
        // Settled by `off`, it is streamed and served.
        let saved = "Watch with uralite, dial 1183 off";
        let starts = [0, 24, 29];
        assert_eq!(
            held_from(saved, &starts, Some(&money), &NO_AMOUNTS),
            saved.len()
        );
        assert_eq!(served_to(saved, &starts, &rules), saved.len());
    }

    #[test]
    fn a_dead_end_rewinds_to_the_number_then_stops_when_spent() {
        let mut gate = NumberGate::default();
        assert!(!gate.words_only());
        let starts = [0, 3, 7, 8];
        assert_eq!(
            gate.dead_end("Now ₹18", &starts, None, &NO_AMOUNTS),
            DeadEnd::Rewind {
                step: 1,
                leads: false
            },
            "the amount's sign goes with it"
        );
        assert_eq!(
            gate.dead_end("Now ₹", &[0, 3], None, &NO_AMOUNTS),
            DeadEnd::Rewind {
                step: 1,
                leads: false
            },
            "a sign no digit can follow"
        );
        assert_eq!(
            gate.dead_end("Now it", &starts, None, &NO_AMOUNTS),
            DeadEnd::Stop,
            "no number to take back"
        );
        gate.rewound(false);
        assert!(gate.words_only());
        gate.wrote(" 12 ");
        assert!(gate.words_only(), "digits and spaces keep the bar");
        gate.wrote("just");
        assert!(!gate.words_only(), "a letter lifts it");
        gate.rewound(false);
        assert_eq!(
            gate.dead_end("Now ₹18", &starts, None, &NO_AMOUNTS),
            DeadEnd::Stop,
            "at most MAX_REWINDS per request"
        );
    }

    /// A lone space token before what the gate refuses (`Only $30.49, ight off`, `make run` on
    /// the demo: the model wrote a space alone to write `20% off` after it) is held from the
    /// screen, taken back with the amount at a dead end, and taken back when the model's pick
    /// after it is refused, at most [`MAX_SPACE_REWINDS`] times; then the copy goes on in words.
    #[test]
    fn a_lone_space_before_a_refused_pick_is_taken_back() {
        let text = "Only $30.49, ";
        let starts = [0, 4, 6, 8, 9, 10, 11, 12];
        assert!(wrote_a_lone_space(text, 12, 13));
        assert_eq!(held_from(text, &starts, None, &NO_AMOUNTS), 12);
        let shown = "Only $30.49, now";
        assert_eq!(held_from(shown, &starts, None, &NO_AMOUNTS), shown.len());
        let mut gate = NumberGate::default();
        for _ in 0..MAX_SPACE_REWINDS {
            assert_eq!(gate.space_rewind(text, &starts), Some(7));
            gate.rewound_space();
            assert!(gate.words_only());
            gate.wrote(" a");
            assert!(!gate.words_only());
        }
        assert_eq!(gate.space_rewind(text, &starts), None, "spent");
        // A space that is part of a word's token, a second space and the copy's first are not lone.
        let fresh = NumberGate::default();
        assert_eq!(fresh.space_rewind("Only $30.49, now", &[0, 4, 12]), None);
        assert_eq!(fresh.space_rewind("Only  ", &[0, 4, 5]), None);
        assert_eq!(fresh.space_rewind(" ", &[0]), None);
        assert!(!wrote_a_lone_space("Only x", 4, 6));
        // After a lone space a token that opens with an ASCII letter glues a word to it.
        for glued in ["ight", "irst aid", "Free"] {
            assert!(glues_a_word(glued), "{glued}");
        }
        for fine in ["2", "₹", "(", "\"", "跑鞋", "é", ""] {
            assert!(!glues_a_word(fine), "{fine}");
        }
        // At a dead end the space before the amount goes with it: `Only ` then `3`, `0`, `.`.
        let cut = "Sleeping bag, only 30.";
        let starts = [0, 8, 12, 13, 18, 19, 20, 21];
        assert!(wrote_a_lone_space(cut, 18, 19));
        assert_eq!(
            NumberGate::default().dead_end(cut, &starts, None, &NO_AMOUNTS),
            DeadEnd::Rewind {
                step: 4,
                leads: false
            }
        );
        assert_eq!(held_from(cut, &starts, None, &NO_AMOUNTS), 18);
    }

    /// A product without a list price: the token that would complete a discount claim is masked
    /// while it is written (the guardrails would refuse the copy as `fake_discount`).
    #[test]
    fn a_discount_claim_without_a_list_price_is_masked_as_it_is_written() {
        let money = MoneyRoles {
            marks: vec!["¥".into(), "元".into()],
            price: "459".into(),
            comparison: None,
            saving: None,
            forbidden_claims: vec!["原价".into(), "on sale".into()],
            ..MoneyRoles::default()
        };
        let allowed = list(&["459"]);
        let judge_with = |text: &str, piece: &str| {
            judge(text, Next::Piece(piece), &rules(&allowed, Some(&money)))
        };
        assert_eq!(judge_with("超轻跑步鞋，原", "价"), Candidate::Mask);
        assert_eq!(judge_with("超轻跑步鞋，", "原价"), Candidate::Mask);
        assert_eq!(judge_with("超轻跑步鞋，原 ", "价"), Candidate::Mask);
        assert_eq!(judge_with("超轻跑步鞋，原", " 价"), Candidate::Mask);
        assert_eq!(judge_with("超轻跑步鞋，", "现价"), Candidate::Allow);
        assert_eq!(judge_with("超轻跑步鞋，现价", "459元"), Candidate::Allow);
        assert_eq!(judge_with("Light shoes now on", " sale"), Candidate::Mask);
        assert_eq!(
            judge_with("Light shoes now on", " the shelf"),
            Candidate::Allow
        );
    }

    /// Served by the zh-CN demo (seed 499) once a dead end looked past the chain's draws:
    /// `…，原版价格￥ 零` for a product without a list price. Numerals after a sign in a role the
    /// product has no amount for are refused as digits are; numerals after a sign that can still
    /// be the price are an amount in progress, held back and taken back with their sign.
    #[test]
    fn numerals_after_a_sign_are_an_amount_in_progress() {
        let money = MoneyRoles {
            comparison: None,
            saving: None,
            price: "165".into(),
            ..cny_money()
        };
        let allowed = list(&["165"]);
        let rules = rules(&allowed, Some(&money));
        let allows =
            |text: &str, piece: &str| judge(text, Next::Piece(piece), &rules) == Candidate::Allow;
        let was = "童趣岛 流云桌游现在￥165，原￥";
        assert!(!allows(was, " 零"));
        assert!(!allows(was, "一"));
        assert!(!allows(was, " 1"));
        assert!(allows("童趣岛 流云桌游现在￥", "一百"));
        let text = "童趣岛 流云桌游现在￥ 零";
        assert_eq!(
            held_from(
                text,
                &[0, "童趣岛 流云桌游现在".len()],
                Some(&money),
                &NO_AMOUNTS
            ),
            "童趣岛 流云桌游现在".len()
        );
        assert_eq!(
            NumberGate::default().dead_end(
                text,
                &[0, "童趣岛 流云桌游现在".len()],
                Some(&money),
                &NO_AMOUNTS
            ),
            DeadEnd::Rewind {
                step: 1,
                leads: false
            }
        );
        // Numerals with no sign before them are no amount in progress (`一款`, `三星`).
        assert_eq!(number_in_progress("一款三"), None);
    }

    fn cny_money() -> MoneyRoles {
        MoneyRoles {
            marks: vec!["¥".into(), "CNY".into(), "元".into(), "人民币".into()],
            price: "459".into(),
            comparison: Some("599".into()),
            saving: Some("140".into()),
            ..MoneyRoles::default()
        }
    }

    /// The numbers `allowed_numbers` lists for ¥459, was ¥599 (23 %: 7.7折).
    fn cny_allowed() -> Vec<String> {
        list(&["459", "599", "140", "23", "23%", "7.7折", "77折"])
    }

    #[test]
    fn chinese_prices_are_gated_as_they_are_written() {
        let (allowed, money) = (cny_allowed(), cny_money());
        let judge_zh = |text: &str, piece: &str| {
            judge(text, Next::Piece(piece), &rules(&allowed, Some(&money)))
        };
        // A wrong 元 price is masked when its 元 is written, in its role.
        assert_eq!(judge_zh("现在只要399", "元"), Candidate::Mask, "unlisted");
        assert_eq!(
            judge_zh("现在只要599", "元"),
            Candidate::Mask,
            "the list price as the price"
        );
        assert_eq!(judge_zh("现在只要459", "元"), Candidate::Allow);
        assert_eq!(judge_zh("原价599", "元"), Candidate::Allow);
        assert_eq!(judge_zh("原价459", "元"), Candidate::Mask);
        // After ¥ the digits are gated as they come, full-width too.
        assert_eq!(judge_zh("现在只要¥", "59"), Candidate::Mask);
        assert_eq!(judge_zh("现在只要￥", "４５"), Candidate::Allow);
        assert_eq!(judge_zh("现在只要￥", "５９"), Candidate::Mask);
        // 折: the catalog's discount only.
        assert_eq!(judge_zh("现在", "8折"), Candidate::Mask);
        assert_eq!(judge_zh("现在8", "折"), Candidate::Mask);
        assert_eq!(judge_zh("现在7.7", "折"), Candidate::Allow);
        assert_eq!(judge_zh("现在77", "折"), Candidate::Allow);
        assert_eq!(judge_zh("全场八", "折"), Candidate::Mask);
        assert_eq!(judge_zh("全场七七", "折"), Candidate::Allow);
        // Chinese numerals: judged at their mark.
        assert_eq!(judge_zh("现在只要四百五十九", "元"), Candidate::Allow);
        assert_eq!(judge_zh("现在只要三百九十九", "元"), Candidate::Mask);
        assert_eq!(judge_zh("现在只要五百九十九", "元"), Candidate::Mask);
        assert_eq!(
            judge_zh("现在只要¥", "四百"),
            Candidate::Allow,
            "not finished"
        );
        // Words are not numbers.
        assert_eq!(judge_zh("一款三星", "的"), Candidate::Allow);
    }

    #[test]
    fn a_full_width_number_in_progress_maps_back_to_the_raw_text() {
        let text = "现在只要￥４５";
        assert_eq!(number_in_progress(text), Some("现在只要".len()));
        assert_eq!(
            number_in_progress("现在只要¥四百"),
            Some("现在只要".len()),
            "numerals after their sign are rewound with it"
        );
        assert!(may_end("李宁超轻跑步鞋只要459元", &at_least((8, 0))));
        assert!(!may_end("跑鞋459元", &at_least((8, 0))));
    }

    proptest! {
        #[test]
        fn chinese_text_never_panics_in_the_gate(
            text in "[0-9０-９.,%¥￥元折点零一二三四五六七八九十百千万现价原省只要 ，]{0,24}",
            piece in "[0-9０-９元折四百 ]{0,3}",
            starts in proptest::collection::vec(0usize..64, 0..8),
        ) {
            let mut starts = starts;
            starts.sort_unstable();
            let _ = judge(&text, Next::Piece(&piece), &rules(&cny_allowed(), Some(&cny_money())));
            if let Some(start) = number_in_progress(&text) {
                prop_assert!(text.is_char_boundary(start));
            }
            prop_assert!(held_from(&text, &starts, None, &NO_AMOUNTS) <= text.len());
            let money = cny_money();
            if let Some(start) = amount_in_progress(&text, Some(&money)) {
                prop_assert!(text.is_char_boundary(start));
            }
            prop_assert!(held_from(&text, &starts, Some(&money), &NO_AMOUNTS) <= text.len());
            let _ = NumberGate::default().dead_end(&text, &starts, Some(&money), &NO_AMOUNTS);
            let allowed = cny_allowed();
            let served = served_to(&text, &starts, &rules(&allowed, Some(&money)));
            prop_assert!(served <= text.len());
        }

        #[test]
        fn random_text_never_panics(
            text in any::<String>(),
            piece in any::<String>(),
            allowed in proptest::collection::vec("[0-9.,%]{0,6}|\\PC{0,4}", 0..5),
            starts in proptest::collection::vec(0usize..64, 0..8),
            rewinds in 0u32..4,
        ) {
            let mut starts = starts;
            starts.sort_unstable();
            let _ = judge(&text, Next::Piece(&piece), &rules(&allowed, None));
            let _ = judge(&text, Next::EndOfText, &rules(&allowed, None));
            let held = held_from(&text, &starts, None, &NO_AMOUNTS);
            prop_assert!(held <= text.len());
            let served = served_to(&text, &starts, &rules(&allowed, None));
            prop_assert!(served == text.len() || served == held);
            // With money roles the amount waiting for its saving word is held too.
            let money = rupee_money();
            let _ = judge(&text, Next::Piece(&piece), &rules(&allowed, Some(&money)));
            let held = held_from(&text, &starts, Some(&money), &NO_AMOUNTS);
            prop_assert!(held <= text.len());
            let served = served_to(&text, &starts, &rules(&allowed, Some(&money)));
            prop_assert!(served == text.len() || served == held);
            if let Some(start) = amount_in_progress(&text, Some(&money)) {
                prop_assert!(text.is_char_boundary(start));
            }
            if let Some(start) = number_in_progress(&text) {
                prop_assert!(text.is_char_boundary(start));
                // An amount: a digit as folded (`²`, `４` are digits) after its marker, or a sign
                // the text ends on.
                let amount = fold(&text[start..]).text;
                prop_assert!(
                    amount.contains(|c: char| c.is_ascii_digit())
                        || trailing_sign(&amount) == Some(0),
                    "{amount:?}"
                );
            }
            let mut gate = NumberGate::default();
            for _ in 0..rewinds {
                gate.rewound(false);
            }
            gate.wrote(&piece);
            match gate.dead_end(&text, &starts, None, &NO_AMOUNTS) {
                DeadEnd::Rewind { step, .. } => prop_assert!(step < starts.len()),
                DeadEnd::Stop => {}
            }
        }

        #[test]
        fn numeric_text_never_panics(
            text in "[0-9.,% a-z₹€]{0,24}",
            allowed in proptest::collection::vec("[0-9]{1,4}(\\.[0-9]{1,2})?%?", 0..4),
        ) {
            let _ = numbers_allowed(&text, &allowed);
            if let Some(start) = number_in_progress(&text) {
                prop_assert!(text.is_char_boundary(start));
            }
        }

        /// Writable text split into byte pieces anywhere is accepted piece by piece, as the
        /// worker feeds pending bytes: the byte check refuses nothing a font draws.
        #[test]
        fn writable_text_split_anywhere_passes_the_byte_check(text in any::<String>(), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6)) {
            let text: String = text.chars().filter(|c| writable(*c)).collect();
            let bytes = text.as_bytes();
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut pending = Vec::new();
            let mut from = 0;
            for cut in cuts.into_iter().chain([bytes.len()]) {
                let piece = &bytes[from..cut];
                prop_assert!(bytes_may_follow(&pending, piece, writable), "{:?} after {:?}", piece, pending);
                pending.extend_from_slice(piece);
                let _ = take_utf8(&mut pending);
                from = cut;
            }
        }

        #[test]
        fn any_bytes_never_panic_the_byte_check(pending in proptest::collection::vec(any::<u8>(), 0..5), piece in proptest::collection::vec(any::<u8>(), 0..8)) {
            let _ = bytes_may_follow(&pending, &piece, writable);
        }

        #[test]
        fn utf8_split_anywhere_is_reassembled(text in any::<String>(), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6)) {
            let bytes = text.as_bytes();
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut pending = Vec::new();
            let mut out = String::new();
            let mut from = 0;
            for cut in cuts.into_iter().chain([bytes.len()]) {
                pending.extend_from_slice(&bytes[from..cut]);
                out.push_str(&take_utf8(&mut pending));
                from = cut;
            }
            prop_assert!(pending.is_empty());
            prop_assert_eq!(out, text);
        }

        #[test]
        fn random_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8), 0..8)) {
            let mut pending = Vec::new();
            for chunk in chunks {
                pending.extend_from_slice(&chunk);
                let _ = take_utf8(&mut pending);
                prop_assert!(pending.len() < 4, "only an incomplete character is kept");
            }
        }
    }
}
