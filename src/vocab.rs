//! The vocabulary the whole kiosk flow shares: a shopper's coarse [`SegmentKey`] and its
//! [`PriceBand`], a copy [`Style`], and a [`LoyaltyNumber`] as the scanner, the CLI and the
//! importers all read it, with the [`CardScheme`]s that say which codes are cards.
//!
//! This is a leaf module: it imports nothing from the crate, so every layer may use it.
//!
//! Invariants:
//! - A [`SegmentKey`] is valid by construction: its department is a non-empty slug of lower-case
//!   letters and digits (any script) joined by single hyphens, at most [`MAX_SLUG_CHARS`] long.
//!   Its text form (`"all"`, `"footwear/any"`, `"footwear/mid"`) is the one used in storage, on
//!   the wire and in cache keys; `parse(display(k)) == k` for every key.
//! - The segment is coarse on purpose: it never names a brand, a product or a shopper.
//! - [`Style`] has exactly the four styles every prompt pack defines; parsing an unknown name is
//!   an error, never a silent fallback.
//! - A [`LoyaltyNumber`] is normalised once, here, so the same card typed, scanned or imported is
//!   the same number: trimmed, ASCII upper-case, a float's `.0` dropped from an all-digit id
//!   ([`LoyaltyNumber::parse`]), then, where card schemes are configured, the canonical form of
//!   the first [`CardScheme`] it is a card of ([`LoyaltyNumber::parse_card`]). Both steps are
//!   idempotent, so normalising a normalised number changes nothing. Its `Debug` shows only its
//!   length and its text is wiped on drop.
//! - A [`CardScheme`] matches only ASCII: its prefixes are ASCII letters and digits compared
//!   ignoring case, its digits ASCII digits; matching never panics on any text.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// Longest department slug a [`SegmentKey`] carries.
pub const MAX_SLUG_CHARS: usize = 48;
/// Longest loyalty number accepted (after trimming).
pub const MAX_LOYALTY_CHARS: usize = 64;

/// Why a word of the vocabulary could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VocabError {
    #[error("unknown copy style `{0}` (expected concise, playful, premium or value)")]
    UnknownStyle(String),
    #[error("unknown price band `{0}` (expected low, mid or high)")]
    UnknownPriceBand(String),
    #[error("bad segment key `{0}` (expected `all` or `department/band`, band one of low, mid, high, any)")]
    BadSegment(String),
    #[error("bad loyalty number: {0}")]
    BadLoyalty(&'static str),
}

/// Where a shopper's usual price sits within the categories they shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceBand {
    Low,
    Mid,
    High,
}

impl PriceBand {
    pub const ALL: [PriceBand; 3] = [Self::Low, Self::Mid, Self::High];

    /// The band of a price percentile in `0..=1` (thirds).
    pub fn from_percentile(p: f64) -> Self {
        if p < 1.0 / 3.0 {
            Self::Low
        } else if p > 2.0 / 3.0 {
            Self::High
        } else {
            Self::Mid
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Mid => "mid",
            Self::High => "high",
        }
    }
}

impl fmt::Display for PriceBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PriceBand {
    type Err = VocabError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|b| b.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| VocabError::UnknownPriceBand(s.to_string()))
    }
}

/// A shopper's coarse segment: their strongest department (as a slug) and price band. It keys
/// copy caches, bandit buckets and feedback cells, and is all the prompt knows of the shopper.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentKey {
    department: Option<String>,
    band: Option<PriceBand>,
}

impl SegmentKey {
    /// The segment of a shopper the kiosk knows nothing about.
    pub fn all() -> Self {
        Self::default()
    }

    /// The segment of a shopper whose strongest department is `department` (any text: it is
    /// slugged; text with no letter or digit gives [`SegmentKey::all`]).
    pub fn new(department: &str, band: Option<PriceBand>) -> Self {
        let s = slug(department);
        if s.is_empty() {
            return Self::all();
        }
        Self {
            department: Some(s),
            band,
        }
    }

    pub fn is_all(&self) -> bool {
        self.department.is_none()
    }

    /// The department slug (`"home-kitchen"`), `None` for [`SegmentKey::all`].
    pub fn department(&self) -> Option<&str> {
        self.department.as_deref()
    }

    /// The department in words for prose (`"home kitchen"`).
    pub fn department_words(&self) -> Option<String> {
        self.department.as_ref().map(|d| d.replace('-', " "))
    }

    pub fn band(&self) -> Option<PriceBand> {
        self.band
    }
}

/// `a-b c` → `a-b-c`: lower-case, runs of anything not a letter or digit become one hyphen,
/// capped at [`MAX_SLUG_CHARS`] (on a char boundary, no trailing hyphen).
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    let mut len = 0;
    let mut gap = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            let hyphen = gap && len > 0;
            if len + usize::from(hyphen) + 1 > MAX_SLUG_CHARS {
                break;
            }
            if hyphen {
                out.push('-');
                len += 1;
            }
            gap = false;
            out.push(c);
            len += 1;
        } else {
            gap = true;
        }
    }
    out
}

fn is_slug(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= MAX_SLUG_CHARS && slug(s) == s
}

impl fmt::Display for SegmentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.department {
            None => f.write_str("all"),
            Some(d) => write!(f, "{d}/{}", self.band.map_or("any", PriceBand::as_str)),
        }
    }
}

impl FromStr for SegmentKey {
    type Err = VocabError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || VocabError::BadSegment(s.chars().take(80).collect());
        if s == "all" {
            return Ok(Self::all());
        }
        let (dept, band) = s.split_once('/').ok_or_else(bad)?;
        if !is_slug(dept) {
            return Err(bad());
        }
        let band = match band {
            "any" => None,
            b => Some(
                PriceBand::ALL
                    .into_iter()
                    .find(|x| x.as_str() == b)
                    .ok_or_else(bad)?,
            ),
        };
        Ok(Self {
            department: Some(dept.to_string()),
            band,
        })
    }
}

impl Serialize for SegmentKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SegmentKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A copy style. Every pack defines all of them; the style bandit picks one per impression.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    Concise,
    Playful,
    Premium,
    Value,
}

impl Style {
    pub const ALL: [Style; 4] = [Self::Concise, Self::Playful, Self::Premium, Self::Value];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Concise => "concise",
            Self::Playful => "playful",
            Self::Premium => "premium",
            Self::Value => "value",
        }
    }
}

impl fmt::Display for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Style {
    type Err = VocabError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|style| style.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| VocabError::UnknownStyle(s.chars().take(40).collect()))
    }
}

/// A loyalty-card number (or an imported customer id, which the till treats as one), in its one
/// normal form: trimmed, ASCII upper-case, a float's `.0` dropped from an all-digit number
/// (`"14075.0"` → `"14075"`, as spreadsheets export ids). The text is wiped when the value is
/// dropped.
///
/// [`LoyaltyNumber::parse`] gives this base form; [`LoyaltyNumber::parse_card`] then applies the
/// first matching [`CardScheme`]'s canonical form, so a card's number is the same whether the till
/// exported it or the kiosk's scanner read it.
#[derive(Clone, PartialEq, Eq)]
pub struct LoyaltyNumber(Zeroizing<String>);

impl LoyaltyNumber {
    /// Normalises and checks a number as typed, scanned or imported (the base normal form).
    pub fn parse(raw: &str) -> Result<Self, VocabError> {
        let t = raw.trim();
        let t = match t.strip_suffix(".0") {
            Some(int) if !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) => int,
            _ => t,
        };
        if t.is_empty() {
            return Err(VocabError::BadLoyalty("empty"));
        }
        if t.chars().count() > MAX_LOYALTY_CHARS {
            return Err(VocabError::BadLoyalty("longer than 64 characters"));
        }
        if t.chars().any(char::is_control) {
            return Err(VocabError::BadLoyalty("contains control characters"));
        }
        Ok(Self(Zeroizing::new(t.to_ascii_uppercase())))
    }

    /// [`LoyaltyNumber::parse`], then the canonical form of the first scheme in `schemes` the
    /// number is a card of; a number that is no card of any scheme keeps its base form (the till
    /// may know customers by ids no card scheme describes).
    pub fn parse_card(raw: &str, schemes: &[CardScheme]) -> Result<Self, VocabError> {
        let base = Self::parse(raw)?;
        Ok(schemes.iter().find_map(|s| s.card(&base)).unwrap_or(base))
    }

    /// The normalised number. Only the lookup token may be derived from it; never log or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LoyaltyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LoyaltyNumber({} chars)", self.0.chars().count())
    }
}

impl FromStr for LoyaltyNumber {
    type Err = VocabError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Longest prefix a [`CardScheme`] may name.
pub const MAX_CARD_PREFIX_CHARS: usize = 16;

/// How the last digit of a card number checks the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckDigit {
    /// No check digit (default).
    #[default]
    None,
    /// Luhn mod 10 (payment and many loyalty cards): from the right, every second digit doubled
    /// (minus 9 when over 9); the sum is a multiple of 10.
    Luhn,
    /// GS1 mod 10 (EAN-8/13, UPC-A, GTIN-14): from the right, excluding the check digit, weights
    /// 3, 1, 3, …; the check digit brings the sum to a multiple of 10.
    Gtin,
}

impl CheckDigit {
    /// True when the all-digit `digits` passes this check (always for [`CheckDigit::None`]).
    pub fn verify(self, digits: &str) -> bool {
        let mut values = digits
            .bytes()
            .rev()
            .map(|b| u32::from(b.wrapping_sub(b'0')));
        match self {
            Self::None => true,
            Self::Luhn => {
                let mut sum = 0;
                for (i, d) in values.enumerate() {
                    let d = if i % 2 == 1 { d * 2 } else { d };
                    sum += if d > 9 { d - 9 } else { d };
                }
                digits.len() >= 2 && sum % 10 == 0
            }
            Self::Gtin => {
                let Some(check) = values.next() else {
                    return false;
                };
                let sum: u32 = values
                    .enumerate()
                    .map(|(i, d)| if i % 2 == 0 { d * 3 } else { d })
                    .sum();
                digits.len() >= 2 && (10 - sum % 10) % 10 == check
            }
        }
    }
}

/// Which form of a card's number the till knows, and so the importers read and the kiosk looks
/// up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TillNumber {
    /// The scheme's first prefix, then the digits (`LC0012345`; other prefixes are aliases of the
    /// first). Default: the kiosk's loyalty cards have always been looked up this way.
    #[default]
    Prefixed,
    /// The digits alone (`0012345`): the till's customer id is the number printed after the
    /// prefix, or the card has no prefix.
    Digits,
}

/// A loyalty-card scheme: which scanned codes are cards of it, and the number the till knows the
/// card by.
///
/// A code is a card of the scheme when, in the base normal form of [`LoyaltyNumber`], it is one
/// of `prefixes` (compared ignoring ASCII case; none = no prefix) followed by `min_digits..=
/// max_digits` ASCII digits and nothing else, and the digits pass `check_digit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CardScheme {
    /// A name for messages (`lc`, `bare`).
    pub name: String,
    /// Accepted prefixes, ASCII letters and digits; empty = cards carry no prefix.
    pub prefixes: Vec<String>,
    /// Fewest digits after the prefix.
    pub min_digits: usize,
    /// Most digits after the prefix.
    pub max_digits: usize,
    /// The check digit the last digit is (`none`, `luhn`, `gtin`).
    pub check_digit: CheckDigit,
    /// The number the till knows: `prefixed` or `digits`.
    pub till_number: TillNumber,
}

impl Default for CardScheme {
    /// Today's loyalty card: `LC` and 4-20 digits, looked up with its prefix.
    fn default() -> Self {
        Self {
            name: "lc".into(),
            prefixes: vec!["LC".into()],
            min_digits: 4,
            max_digits: 20,
            check_digit: CheckDigit::None,
            till_number: TillNumber::Prefixed,
        }
    }
}

impl CardScheme {
    /// The canonical number of `number` when it is a card of this scheme.
    pub fn card(&self, number: &LoyaltyNumber) -> Option<LoyaltyNumber> {
        let code = number.expose();
        let no_prefix = [String::new()];
        let prefixes = if self.prefixes.is_empty() {
            &no_prefix[..]
        } else {
            &self.prefixes[..]
        };
        let digits = prefixes.iter().find_map(|p| {
            let rest = code.get(p.len()..)?;
            let head = code.get(..p.len())?;
            let ok = head.eq_ignore_ascii_case(p)
                && (self.min_digits..=self.max_digits).contains(&rest.len())
                && rest.bytes().all(|b| b.is_ascii_digit())
                && self.check_digit.verify(rest);
            ok.then_some(rest)
        })?;
        let mut out = Zeroizing::new(String::with_capacity(code.len()));
        if self.till_number == TillNumber::Prefixed {
            if let Some(first) = self.prefixes.first() {
                out.push_str(&first.to_ascii_uppercase());
            }
        }
        out.push_str(digits);
        Some(LoyaltyNumber(out))
    }

    /// Checks the scheme; the error names the field (`min_digits`) and says why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let name_ok = (1..=32).contains(&self.name.len())
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return Err((
                "name",
                "must be 1-32 characters of A-Z, a-z, 0-9, '-' or '_'".into(),
            ));
        }
        for (i, p) in self.prefixes.iter().enumerate() {
            if p.is_empty()
                || p.len() > MAX_CARD_PREFIX_CHARS
                || !p.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err((
                    "prefixes",
                    format!("prefix {:?} must be 1-16 ASCII letters or digits", p),
                ));
            }
            if self.prefixes[..i].iter().any(|q| q.eq_ignore_ascii_case(p)) {
                return Err(("prefixes", format!("prefix {p:?} is listed twice")));
            }
        }
        if self.min_digits == 0 {
            return Err(("min_digits", "must be at least 1".into()));
        }
        if self.max_digits < self.min_digits {
            return Err(("max_digits", "must be at least min_digits".into()));
        }
        let longest = self.prefixes.iter().map(String::len).max().unwrap_or(0);
        if longest + self.max_digits > MAX_LOYALTY_CHARS {
            return Err((
                "max_digits",
                format!(
                    "the longest prefix and max_digits must fit in {MAX_LOYALTY_CHARS} characters"
                ),
            ));
        }
        if self.check_digit != CheckDigit::None && self.min_digits < 2 {
            return Err(("min_digits", "must be at least 2 with a check digit".into()));
        }
        Ok(())
    }
}

/// The least `k` of k-anonymity: every feedback cell that leaves a kiosk must come from at least
/// this many distinct people. The kiosk's config refuses less and HQ refuses cells below it.
pub const MIN_K_ANONYMITY: u32 = 5;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn segment_keys_read_and_write_the_stored_form() {
        let k = SegmentKey::new("Home & Kitchen", Some(PriceBand::High));
        assert_eq!(k.to_string(), "home-kitchen/high");
        assert_eq!(k.department_words().as_deref(), Some("home kitchen"));
        assert_eq!("home-kitchen/high".parse::<SegmentKey>().unwrap(), k);
        assert_eq!(SegmentKey::new("Shoes", None).to_string(), "shoes/any");
        assert_eq!("all".parse::<SegmentKey>().unwrap(), SegmentKey::all());
        assert_eq!(
            SegmentKey::new(" -- ", Some(PriceBand::Low)),
            SegmentKey::all()
        );
        for bad in [
            "",
            "ALL",
            "shoes",
            "Shoes/mid",
            "shoes/MID2",
            "a//mid",
            "a-/mid",
            "x/y/z",
        ] {
            assert!(bad.parse::<SegmentKey>().is_err(), "{bad}");
        }
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(json, "\"home-kitchen/high\"");
        assert_eq!(serde_json::from_str::<SegmentKey>(&json).unwrap(), k);
        assert!(serde_json::from_str::<SegmentKey>("\"nope\"").is_err());
    }

    #[test]
    fn styles_parse_strictly() {
        for s in Style::ALL {
            assert_eq!(s.as_str().parse::<Style>().unwrap(), s);
            assert_eq!(s.as_str().to_uppercase().parse::<Style>().unwrap(), s);
        }
        assert!("loud".parse::<Style>().is_err());
        assert!("".parse::<Style>().is_err());
    }

    #[test]
    fn price_bands_by_thirds() {
        assert_eq!(PriceBand::from_percentile(0.1), PriceBand::Low);
        assert_eq!(PriceBand::from_percentile(0.5), PriceBand::Mid);
        assert_eq!(PriceBand::from_percentile(0.9), PriceBand::High);
        assert_eq!("mid".parse::<PriceBand>().unwrap(), PriceBand::Mid);
    }

    #[test]
    fn loyalty_numbers_have_one_normal_form() {
        let a = LoyaltyNumber::parse("  lc24888766\n").unwrap();
        assert_eq!(a.expose(), "LC24888766");
        assert_eq!(a, LoyaltyNumber::parse("LC24888766").unwrap());
        assert_eq!(format!("{a:?}"), "LoyaltyNumber(10 chars)");
        assert!(LoyaltyNumber::parse("").is_err());
        assert!(LoyaltyNumber::parse("  ").is_err());
        assert!(LoyaltyNumber::parse("a\u{7}b").is_err());
        assert!(LoyaltyNumber::parse(&"9".repeat(65)).is_err());
        assert!(LoyaltyNumber::parse(&"9".repeat(64)).is_ok());
    }

    fn scheme(
        prefixes: &[&str],
        digits: (usize, usize),
        check: CheckDigit,
        till: TillNumber,
    ) -> CardScheme {
        CardScheme {
            name: "t".into(),
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            min_digits: digits.0,
            max_digits: digits.1,
            check_digit: check,
            till_number: till,
        }
    }

    fn card(s: &CardScheme, raw: &str) -> Option<String> {
        s.card(&LoyaltyNumber::parse(raw).ok()?)
            .map(|n| n.expose().to_string())
    }

    #[test]
    fn customer_ids_lose_a_float_tail() {
        let n = |s: &str| LoyaltyNumber::parse(s).unwrap().expose().to_string();
        assert_eq!(n("14075.0"), "14075");
        assert_eq!(n(" 14075.0 "), "14075");
        assert_eq!(n("543272936"), "543272936");
        // Only an all-digit number is a float's text; anything else keeps its dot.
        assert_eq!(n("AB.0"), "AB.0");
        assert_eq!(n("14075.5"), "14075.5");
        assert_eq!(n("14075.00"), "14075.00");
        assert!(LoyaltyNumber::parse(".0").is_ok());
        assert_eq!(n(".0"), ".0");
        // Idempotent.
        for raw in ["14075.0", " lc12 ", "x.0", "0.0"] {
            let once = n(raw);
            assert_eq!(n(&once), once, "{raw}");
        }
    }

    #[test]
    fn the_default_scheme_is_todays_lc_card() {
        let s = CardScheme::default();
        assert!(s.validate().is_ok());
        assert_eq!(card(&s, "LC1234").as_deref(), Some("LC1234"));
        assert_eq!(
            card(&s, " lc12345678901234567890").as_deref(),
            Some("LC12345678901234567890")
        );
        assert_eq!(card(&s, "LC123"), None);
        assert_eq!(card(&s, "LC123456789012345678901"), None);
        assert_eq!(card(&s, "LC12A4"), None);
        assert_eq!(card(&s, "23084"), None);
        assert_eq!(card(&s, "CRNEG7BKMFFYHQ8Z"), None);
    }

    #[test]
    fn prefixes_are_stripped_or_kept_consistently() {
        let kept = scheme(
            &["LC", "Ly"],
            (4, 8),
            CheckDigit::None,
            TillNumber::Prefixed,
        );
        assert_eq!(card(&kept, "ly0012").as_deref(), Some("LC0012"));
        assert_eq!(card(&kept, "Lc0012").as_deref(), Some("LC0012"));
        let digits = TillNumber::Digits;
        let stripped = scheme(&["LC", "LY"], (4, 8), CheckDigit::None, digits);
        assert_eq!(card(&stripped, "LY0012").as_deref(), Some("0012"));
        assert_eq!(
            card(&stripped, "0012"),
            None,
            "a prefix is required when listed"
        );
        let bare = scheme(&[], (6, 12), CheckDigit::None, TillNumber::Prefixed);
        assert_eq!(card(&bare, "543272936").as_deref(), Some("543272936"));
        assert_eq!(card(&bare, "14075.0"), None, "5 digits");
        assert_eq!(card(&bare, "12345"), None);
        assert_eq!(card(&bare, "1234567890123"), None);
        assert_eq!(card(&bare, "LC543272936"), None);
        // The till's id and the scanned card meet in one form.
        let schemes = [CardScheme::default(), bare];
        let till = LoyaltyNumber::parse_card("543272936.0", &schemes).unwrap();
        let kiosk = LoyaltyNumber::parse_card("543272936", &schemes).unwrap();
        assert_eq!(till, kiosk);
        let other = LoyaltyNumber::parse_card("AB-7", &schemes).unwrap();
        assert_eq!(other.expose(), "AB-7", "no scheme: the base form");
    }

    #[test]
    fn luhn_check_digits() {
        let s = scheme(&[], (2, 19), CheckDigit::Luhn, TillNumber::Digits);
        for ok in ["79927398713", "4111111111111111", "18", "0000000000"] {
            assert!(card(&s, ok).is_some(), "{ok}");
        }
        for bad in ["79927398710", "79927398714", "4111111111111112", "19"] {
            assert!(card(&s, bad).is_none(), "{bad}");
        }
        assert!(!CheckDigit::Luhn.verify("0"));
        assert!(!CheckDigit::Luhn.verify(""));
    }

    #[test]
    fn gtin_check_digits() {
        let s = scheme(&["LC"], (8, 14), CheckDigit::Gtin, TillNumber::Digits);
        // EAN-13, EAN-8, UPC-A, GTIN-14.
        for ok in [
            "4006381333931",
            "96385074",
            "036000291452",
            "10614141000415",
        ] {
            assert_eq!(card(&s, &format!("lc{ok}")).as_deref(), Some(ok), "{ok}");
        }
        for bad in ["4006381333932", "96385075", "036000291453"] {
            assert!(card(&s, &format!("LC{bad}")).is_none(), "{bad}");
        }
        assert!(CheckDigit::Gtin.verify("00"));
        assert!(!CheckDigit::Gtin.verify("0"));
        assert!(!CheckDigit::Gtin.verify(""));
        assert!(CheckDigit::None.verify(""));
    }

    #[test]
    fn schemes_are_validated_by_field() {
        let field = |s: CardScheme| s.validate().unwrap_err().0;
        let base = CardScheme::default;
        assert_eq!(
            field(CardScheme {
                name: String::new(),
                ..base()
            }),
            "name"
        );
        assert_eq!(
            field(CardScheme {
                prefixes: vec!["L-C".into()],
                ..base()
            }),
            "prefixes"
        );
        assert_eq!(
            field(CardScheme {
                prefixes: vec!["É".into()],
                ..base()
            }),
            "prefixes"
        );
        assert_eq!(
            field(CardScheme {
                prefixes: vec!["LC".into(), "lc".into()],
                ..base()
            }),
            "prefixes"
        );
        assert_eq!(
            field(CardScheme {
                min_digits: 0,
                ..base()
            }),
            "min_digits"
        );
        assert_eq!(
            field(CardScheme {
                max_digits: 3,
                ..base()
            }),
            "max_digits"
        );
        assert_eq!(
            field(CardScheme {
                max_digits: 63,
                ..base()
            }),
            "max_digits"
        );
        let one = CardScheme {
            min_digits: 1,
            max_digits: 4,
            check_digit: CheckDigit::Luhn,
            ..base()
        };
        assert_eq!(field(one), "min_digits");
        assert!(CardScheme {
            prefixes: vec![],
            max_digits: 64,
            ..base()
        }
        .validate()
        .is_ok());
    }

    proptest! {
        #[test]
        fn cards_never_panic_and_are_cards(s in "\\PC{0,70}", min in 1usize..10, extra in 0usize..12, check in 0usize..3, till in 0usize..2, prefix in "[A-Za-z0-9]{0,3}") {
            let scheme = CardScheme {
                name: "p".into(),
                prefixes: if prefix.is_empty() { vec![] } else { vec![prefix] },
                min_digits: min.max(2),
                max_digits: min.max(2) + extra,
                check_digit: [CheckDigit::None, CheckDigit::Luhn, CheckDigit::Gtin][check],
                till_number: [TillNumber::Prefixed, TillNumber::Digits][till],
            };
            let _ = CheckDigit::Luhn.verify(&s);
            let _ = CheckDigit::Gtin.verify(&s);
            if let Ok(n) = LoyaltyNumber::parse(&s) {
                prop_assert_eq!(LoyaltyNumber::parse(n.expose()).unwrap(), n.clone());
                if let Some(c) = scheme.card(&n) {
                    // A canonical number is a well-formed number, and a prefixed one is again a card.
                    prop_assert_eq!(LoyaltyNumber::parse(c.expose()).unwrap(), c.clone());
                    if scheme.till_number == TillNumber::Prefixed {
                        prop_assert_eq!(scheme.card(&c), Some(c.clone()));
                    }
                }
            }
            let _ = LoyaltyNumber::parse_card(&s, &[scheme, CardScheme::default()]);
        }

        #[test]
        fn segment_text_round_trips(dept in "\\PC{0,60}", band in 0usize..4) {
            let band = PriceBand::ALL.get(band).copied();
            let k = SegmentKey::new(&dept, band);
            prop_assert_eq!(k.to_string().parse::<SegmentKey>().unwrap(), k);
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,80}") {
            let _ = s.parse::<SegmentKey>();
            let _ = s.parse::<Style>();
            let _ = LoyaltyNumber::parse(&s);
        }
    }
}
