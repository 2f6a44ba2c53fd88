//! Store popularity from store-level counts (no shopper ids).
//!
//! Invariants:
//! - A SKU's raw popularity is `view·views + cart·carts + purchase·purchases`; its score is
//!   `ln(1 + raw) / ln(1 + max raw)`, so scores lie in `0..=1`, the most popular SKU scores 1 and
//!   unknown SKUs score 0. The log keeps one runaway bestseller from flattening everything else.
//! - The caller chooses the window (the reason text says "this week": feed the last 7 days).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{check, ConfigError};
use crate::event::{Event, EventKind};

/// Store-level counts for one SKU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuStats {
    pub views: u64,
    pub carts: u64,
    pub purchases: u64,
}

impl SkuStats {
    /// Counts events per SKU (returns are not counted).
    pub fn tally<'a>(events: impl IntoIterator<Item = &'a Event>) -> HashMap<String, SkuStats> {
        let mut stats: HashMap<String, SkuStats> = HashMap::new();
        for e in events {
            let s = stats.entry(e.sku.clone()).or_default();
            match e.kind {
                EventKind::View => s.views += 1,
                EventKind::Cart => s.carts += 1,
                EventKind::Purchase => s.purchases += 1,
                EventKind::Return => {}
            }
        }
        stats
    }
}

/// How much each kind of event counts towards popularity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PopularityConfig {
    pub view: f64,
    pub cart: f64,
    pub purchase: f64,
}

impl Default for PopularityConfig {
    fn default() -> Self {
        Self {
            view: 1.0,
            cart: 3.0,
            purchase: 5.0,
        }
    }
}

impl PopularityConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let all = [self.view, self.cart, self.purchase];
        check(
            all.iter().all(|w| w.is_finite() && *w >= 0.0),
            "popularity",
            "weights must be finite and >= 0",
        )
    }
}

/// Normalised popularity per SKU.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Popularity {
    scores: HashMap<String, f64>,
}

impl Popularity {
    pub fn from_stats(stats: &HashMap<String, SkuStats>, cfg: &PopularityConfig) -> Self {
        let raw = |s: &SkuStats| {
            cfg.view * s.views as f64
                + cfg.cart * s.carts as f64
                + cfg.purchase * s.purchases as f64
        };
        let max = stats.values().map(raw).fold(0.0, f64::max);
        if max <= 0.0 {
            return Self::default();
        }
        let denom = max.ln_1p();
        let scores = stats
            .iter()
            .map(|(sku, s)| (sku.clone(), raw(s).ln_1p() / denom))
            .filter(|(_, v)| *v > 0.0)
            .collect();
        Self { scores }
    }

    /// Score in `0..=1`.
    pub fn score(&self, sku: &str) -> f64 {
        self.scores.get(sku).copied().unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn log_normalised_scores() {
        let mut stats = HashMap::new();
        stats.insert(
            "hit".to_string(),
            SkuStats {
                views: 10,
                carts: 5,
                purchases: 2,
            },
        ); // raw 35
        stats.insert(
            "meh".to_string(),
            SkuStats {
                views: 2,
                carts: 0,
                purchases: 0,
            },
        ); // raw 2
        stats.insert("zero".to_string(), SkuStats::default());
        let p = Popularity::from_stats(&stats, &PopularityConfig::default());
        assert_eq!(p.score("hit"), 1.0);
        assert!((p.score("meh") - 3f64.ln() / 36f64.ln()).abs() < 1e-12);
        assert_eq!(p.score("zero"), 0.0);
        assert_eq!(p.score("unknown"), 0.0);
        assert_eq!(
            Popularity::from_stats(&HashMap::new(), &PopularityConfig::default()).score("x"),
            0.0
        );
    }

    #[test]
    fn tally_counts_kinds_and_skips_returns() {
        let ev = |kind, sku: &str| Event {
            at: 0,
            kind,
            sku: sku.into(),
            quantity: 1,
            price: None,
            session: None,
        };
        let events = [
            ev(EventKind::View, "a"),
            ev(EventKind::Cart, "a"),
            ev(EventKind::Purchase, "a"),
            ev(EventKind::Return, "a"),
        ];
        assert_eq!(
            SkuStats::tally(&events)["a"],
            SkuStats {
                views: 1,
                carts: 1,
                purchases: 1
            }
        );
    }
}
