//! The kiosk's locale (`locale` in the config): the language copy is written in, and how amounts
//! and counts are shown.
//!
//! The locale selects the built-in prompt pack ([`crate::copy::PromptPack::builtin_for`]), the
//! template fallbacks ([`crate::copy::template`]), the guardrail rules (for `zh-CN`: length in
//! characters, Han letters accepted, bigram topic and repetition checks, the advertising-law
//! absolute-claim list on by default; see [`crate::copy::guardrails`]) and the formatting below.
//!
//! Invariants:
//! - Two locales, `en` (the default) and `zh-CN`, spelled so in config files and on the wire;
//!   parsing also accepts `zh_CN` and any case, and refuses everything else naming the choices.
//! - Formatting is pure and total: any amount, any count.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::catalog::Minor;

/// A kiosk locale.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Locale {
    /// English copy (the default).
    #[default]
    #[serde(rename = "en")]
    En,
    /// Simplified Chinese copy for mainland China.
    #[serde(rename = "zh-CN")]
    ZhCn,
}

/// A locale name that is not one of [`Locale::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown locale {0:?} (expected en or zh-CN)")]
pub struct UnknownLocale(pub String);

impl Locale {
    pub const ALL: [Locale; 2] = [Self::En, Self::ZhCn];

    /// `en`, `zh-CN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::ZhCn => "zh-CN",
        }
    }

    /// Whether copy in this locale is written without spaces between words (lengths are then
    /// counted in characters, topic and repetition in character bigrams).
    pub fn unspaced(self) -> bool {
        matches!(self, Self::ZhCn)
    }

    /// An amount as a price tag shows it: `¥459`, `$8.49` (symbol first in both locales).
    pub fn price(self, amount: Minor, symbol: &str) -> String {
        format!("{symbol}{}", amount.display())
    }

    /// An amount as a sentence says it: `459 元` for yuan in `zh-CN`, otherwise as
    /// [`Locale::price`].
    pub fn price_in_words(self, amount: Minor, symbol: &str, code: &str) -> String {
        match self {
            Self::ZhCn if code.eq_ignore_ascii_case("CNY") => format!("{} 元", amount.display()),
            _ => self.price(amount, symbol),
        }
    }

    /// A large count as a screen shows it: `12,345` in `en`; `1.2万` (ten thousands) and
    /// `3.4亿` (hundred millions) from 10 000 on in `zh-CN`, one decimal, a `.0` dropped.
    pub fn count(self, n: u64) -> String {
        match self {
            Self::En => grouped(n),
            Self::ZhCn => match n {
                0..=9_999 => n.to_string(),
                // 99 995 000 and up round to 10000万: shown as 亿.
                10_000..=99_994_999 => scaled(n, 10_000, "万"),
                _ => scaled(n, 100_000_000, "亿"),
            },
        }
    }
}

/// `n / unit` with one decimal (rounded half up), `.0` dropped, then the unit's character.
fn scaled(n: u64, unit: u64, sign: &str) -> String {
    let tenths = (u128::from(n) * 10 + u128::from(unit) / 2) / u128::from(unit);
    let (whole, frac) = (tenths / 10, tenths % 10);
    if frac == 0 {
        format!("{whole}{sign}")
    } else {
        format!("{whole}.{frac}{sign}")
    }
}

/// `12345` → `12,345`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Locale {
    type Err = UnknownLocale;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().replace('_', "-");
        Self::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| UnknownLocale(s.chars().take(40).collect()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_parse_and_serialise() {
        assert_eq!("zh-CN".parse::<Locale>().unwrap(), Locale::ZhCn);
        assert_eq!("zh_cn".parse::<Locale>().unwrap(), Locale::ZhCn);
        assert_eq!(" EN ".parse::<Locale>().unwrap(), Locale::En);
        let err = "fr".parse::<Locale>().unwrap_err().to_string();
        assert!(err.contains("en or zh-CN"), "{err}");
        assert_eq!(serde_json::to_string(&Locale::ZhCn).unwrap(), "\"zh-CN\"");
        assert_eq!(Locale::default(), Locale::En);
    }

    #[test]
    fn prices_and_counts() {
        let zh = Locale::ZhCn;
        assert_eq!(zh.price(Minor(45_900), "¥"), "¥459");
        assert_eq!(zh.price_in_words(Minor(45_900), "¥", "CNY"), "459 元");
        assert_eq!(zh.price_in_words(Minor(45_950), "¥", "CNY"), "459.50 元");
        assert_eq!(Locale::En.price_in_words(Minor(849), "$", "USD"), "$8.49");
        assert_eq!(zh.count(9_999), "9999");
        assert_eq!(zh.count(12_000), "1.2万");
        assert_eq!(zh.count(10_000), "1万");
        assert_eq!(zh.count(99_960_000), "9996万");
        assert_eq!(zh.count(99_999_999), "1亿");
        assert_eq!(zh.count(340_000_000), "3.4亿");
        assert_eq!(zh.count(u64::MAX), "184467440737.1亿");
        assert_eq!(Locale::En.count(1_234_567), "1,234,567");
        assert_eq!(Locale::En.count(12), "12");
    }
}
