//! The vocabulary the whole kiosk flow shares: a shopper's coarse [`SegmentKey`] and its
//! [`PriceBand`], a copy [`Style`], and a [`LoyaltyNumber`] as the scanner, the CLI and the
//! importers all read it.
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
//! - A [`LoyaltyNumber`] is normalised once, here (trimmed, ASCII upper-case), so the same card
//!   typed, scanned or imported is the same number; its `Debug` shows only its length and its
//!   text is wiped on drop.

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
/// normal form: trimmed, ASCII upper-case. The text is wiped when the value is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct LoyaltyNumber(Zeroizing<String>);

impl LoyaltyNumber {
    /// Normalises and checks a number as typed, scanned or imported.
    pub fn parse(raw: &str) -> Result<Self, VocabError> {
        let t = raw.trim();
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

    proptest! {
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
