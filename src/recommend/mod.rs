//! Personalisation core: shopper features, scorers, fusion, diversity, reasons, the journey MDP
//! and the copy-style bandit. Pure logic, no I/O: callers hand in plaintext events, the catalog,
//! store-level statistics and a clock reading; nothing here reads files, the database or the
//! system clock (except [`mod@bench`], which measures itself).
//!
//! Invariants:
//! - Every scorer returns a value in `0..=1` per candidate; the fused score is
//!   `Σ wᵢ·scoreᵢ` with non-negative weights from [`RecommendConfig`] (defaults defined once, in
//!   the `Default` impls of the config structs).
//! - Ranking is deterministic: equal inputs give equal picks (ties broken by SKU).
//! - A pick is always a catalog product, never one the shopper just bought or has in hand this
//!   visit, and [`Pick::reasons`] name only the shopper's own coarse preferences (a brand, a
//!   department, an interest tag, a price band), store-level popularity, or a product scanned this
//!   visit — never another shopper, never a timestamp, never a line of the shopper's history.
//! - [`Features`] carry no loyalty number or raw event; the in-visit session is transient and is
//!   never serialised.

pub mod bandit;
pub mod bench;
pub mod cooccurrence;
pub mod eval;
pub mod features;
pub mod index;
pub mod mdp;
pub mod popularity;
pub mod rank;
pub mod scorers;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::Event;

pub use bandit::{BanditConfig, BanditError, StyleBandit, StyleChoice};
pub use cooccurrence::{CoOccurrence, CoOccurrenceConfig};
pub use features::{extract, FeatureConfig, Features};
pub use index::CatalogIndex;
pub use mdp::{JourneyModel, JourneyPolicy, MdpConfig, MdpError, VisitAction, VisitState};
pub use popularity::{Popularity, PopularityConfig, SkuStats};
pub use rank::{display_reason, recommend, Contribution, Inputs, Pick, Reason, ReasonCode};
pub use scorers::{AffinityMix, Scorer};

/// A configuration value outside its allowed range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("recommend config: `{field}` {problem}")]
pub struct ConfigError {
    pub field: &'static str,
    pub problem: &'static str,
}

pub(crate) fn check(
    ok: bool,
    field: &'static str,
    problem: &'static str,
) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError { field, problem })
    }
}

/// Fusion weights, one per [`Scorer`]. Non-negative; they need not sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    pub affinity: f64,
    pub popularity: f64,
    pub co_occurrence: f64,
    pub price_fit: f64,
    pub journey: f64,
}

impl Default for Weights {
    /// Weights for a shopper with history.
    fn default() -> Self {
        Self {
            affinity: 0.35,
            popularity: 0.2,
            co_occurrence: 0.25,
            price_fit: 0.1,
            journey: 0.1,
        }
    }
}

impl Weights {
    /// Weights for a shopper without history (new or anonymous): popularity plus what goes with
    /// what they scanned this visit.
    pub fn cold_start() -> Self {
        Self {
            affinity: 0.15,
            popularity: 0.4,
            co_occurrence: 0.35,
            price_fit: 0.0,
            journey: 0.1,
        }
    }

    /// Only store popularity: the baseline of [`eval`].
    pub fn popularity_only() -> Self {
        Self {
            affinity: 0.0,
            popularity: 1.0,
            co_occurrence: 0.0,
            price_fit: 0.0,
            journey: 0.0,
        }
    }

    pub fn get(&self, scorer: Scorer) -> f64 {
        match scorer {
            Scorer::Affinity => self.affinity,
            Scorer::Popularity => self.popularity,
            Scorer::CoOccurrence => self.co_occurrence,
            Scorer::PriceFit => self.price_fit,
            Scorer::Journey => self.journey,
        }
    }

    /// Checks every weight is finite and non-negative and not all are zero; errors name `field`.
    pub fn validate(&self, field: &'static str) -> Result<(), ConfigError> {
        let all = Scorer::ALL.map(|s| self.get(s));
        check(
            all.iter().all(|w| w.is_finite() && *w >= 0.0),
            field,
            "must be finite and >= 0",
        )?;
        check(all.iter().sum::<f64>() > 0.0, field, "must not all be zero")
    }
}

/// The diversity rule applied to the ranked list.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiversityConfig {
    /// At most this many picks per leaf category (empty categories are never limited).
    pub max_per_leaf: usize,
    /// At most this many picks per brand (missing brands are never limited).
    pub max_per_brand: usize,
}

impl Default for DiversityConfig {
    fn default() -> Self {
        Self {
            max_per_leaf: 1,
            max_per_brand: 1,
        }
    }
}

/// Everything the personalisation core can be tuned with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecommendConfig {
    /// Fusion weights for shoppers with history.
    pub weights: Weights,
    /// Fusion weights for new and anonymous shoppers.
    pub cold_start_weights: Weights,
    /// How the content-affinity scorer mixes its facets.
    pub affinity_mix: AffinityMix,
    pub features: FeatureConfig,
    pub popularity: PopularityConfig,
    pub co_occurrence: CoOccurrenceConfig,
    pub diversity: DiversityConfig,
    pub mdp: MdpConfig,
    pub bandit: BanditConfig,
}

impl Default for RecommendConfig {
    fn default() -> Self {
        Self {
            weights: Weights::default(),
            cold_start_weights: Weights::cold_start(),
            affinity_mix: AffinityMix::default(),
            features: FeatureConfig::default(),
            popularity: PopularityConfig::default(),
            co_occurrence: CoOccurrenceConfig::default(),
            diversity: DiversityConfig::default(),
            mdp: MdpConfig::default(),
            bandit: BanditConfig::default(),
        }
    }
}

impl RecommendConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.weights.validate("weights")?;
        self.cold_start_weights.validate("cold_start_weights")?;
        self.affinity_mix.validate()?;
        self.features.validate()?;
        self.popularity.validate()?;
        self.co_occurrence.validate()?;
        self.mdp.validate()?;
        self.bandit.validate()
    }

    /// The same configuration ranking by store popularity alone (the evaluation baseline).
    pub fn popularity_only(&self) -> Self {
        Self {
            weights: Weights::popularity_only(),
            cold_start_weights: Weights::popularity_only(),
            ..self.clone()
        }
    }
}

/// One visit or basket: events of one shopper sharing a session id, in time order.
pub type Session<'a> = Vec<&'a Event>;

/// Groups `(shopper key, event)` pairs into sessions: by the event's session id, or by UTC day
/// when it has none. Each session is sorted by time (stable); sessions come out ordered by
/// shopper key, then session key, so the result is deterministic. Returns are kept; consumers
/// decide what they mean.
pub fn group_sessions<'a, I>(events: I) -> Vec<Session<'a>>
where
    I: IntoIterator<Item = (&'a str, &'a Event)>,
{
    let mut by_key: BTreeMap<(&'a str, String), Session<'a>> = BTreeMap::new();
    for (user, event) in events {
        by_key
            .entry((user, session_key(event)))
            .or_default()
            .push(event);
    }
    by_key
        .into_values()
        .map(|mut s| {
            s.sort_by_key(|e| e.at);
            s
        })
        .collect()
}

/// The visit an event belongs to: its session id, or its UTC day.
pub fn session_key(event: &Event) -> String {
    match &event.session {
        Some(s) => format!("s:{s}"),
        None => format!("d:{}", event.at.div_euclid(86_400)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::event::EventKind;

    fn ev(at: i64, sku: &str, session: Option<&str>) -> Event {
        Event {
            at,
            kind: EventKind::View,
            sku: sku.into(),
            quantity: 1,
            price: None,
            session: session.map(Into::into),
        }
    }

    #[test]
    fn default_config_is_valid_and_round_trips() {
        let cfg = RecommendConfig::default();
        cfg.validate().unwrap();
        let text = toml::to_string(&cfg).unwrap();
        let back: RecommendConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, cfg);
        let partial: RecommendConfig = toml::from_str("[weights]\naffinity = 0.5\n").unwrap();
        assert_eq!(partial.weights.affinity, 0.5);
        assert_eq!(partial.weights.popularity, Weights::default().popularity);
    }

    #[test]
    fn negative_or_all_zero_weights_are_rejected() {
        let mut cfg = RecommendConfig::default();
        cfg.weights.popularity = -0.1;
        assert_eq!(cfg.validate().unwrap_err().field, "weights");
        let zero = Weights {
            popularity: 0.0,
            ..Weights::popularity_only()
        };
        let cfg = RecommendConfig {
            cold_start_weights: zero,
            ..RecommendConfig::default()
        };
        assert_eq!(cfg.validate().unwrap_err().field, "cold_start_weights");
    }

    #[test]
    fn sessions_group_by_id_or_day_and_sort_by_time() {
        let a2 = ev(20, "b", Some("x"));
        let a1 = ev(10, "a", Some("x"));
        let other_user = ev(15, "c", Some("x"));
        let no_id_day0 = ev(100, "d", None);
        let no_id_day1 = ev(86_400 + 5, "e", None);
        let input = [
            ("u1", &a2),
            ("u1", &a1),
            ("u2", &other_user),
            ("u1", &no_id_day0),
            ("u1", &no_id_day1),
        ];
        let sessions = group_sessions(input);
        let skus: Vec<Vec<&str>> = sessions
            .iter()
            .map(|s| s.iter().map(|e| e.sku.as_str()).collect())
            .collect();
        assert_eq!(skus, vec![vec!["d"], vec!["e"], vec!["a", "b"], vec!["c"]]);
    }
}
