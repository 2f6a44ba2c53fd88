//! Fusion, filters, diversity and reasons: from inputs to a short list of explained picks.
//!
//! Invariants:
//! - Candidates are catalog products minus those just purchased and those handled this visit;
//!   candidates with a fused score of 0 (no evidence at all) are never picked.
//! - `score = Σ wᵢ·scoreᵢ` over [`Scorer::ALL`], weights from [`RecommendConfig::weights`] or,
//!   for shoppers without history, [`RecommendConfig::cold_start_weights`].
//! - Diversity: at most `max_per_leaf` picks per leaf category and `max_per_brand` per brand;
//!   when that leaves fewer than `n`, the best remaining candidates fill up. Picks come out in
//!   score order.
//! - Each pick's reasons come from the scorers with positive contribution, largest first; the
//!   display reason is the first. A reason is a code and what it names ([`Reason::subject`]); its
//!   words come from the message catalog ([`Reason::text_in`]). Reason texts name only the shopper's coarse preferences, store
//!   popularity or a product from this visit.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::scorers::{self, AffinityScorer, Anchor, CoOccurrenceScorer, Facet};
use super::{
    CatalogIndex, CoOccurrence, DiversityConfig, Features, JourneyPolicy, Popularity,
    RecommendConfig, Scorer, VisitAction,
};
use crate::catalog::Product;
use crate::i18n::{self, Messages};
use crate::locale::Locale;

/// Everything one ranking needs; all borrowed, nothing mutated.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub catalog: &'a CatalogIndex,
    pub features: &'a Features,
    pub popularity: &'a Popularity,
    pub co_occurrence: &'a CoOccurrence,
    /// The solved journey MDP, when one has been fitted.
    pub journey: Option<&'a JourneyPolicy>,
    pub config: &'a RecommendConfig,
}

/// One scorer's part in a pick's score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub scorer: Scorer,
    /// The scorer's value, `0..=1`.
    pub score: f64,
    pub weight: f64,
    /// `weight · score`.
    pub value: f64,
}

/// Why a product was picked, as a code for logs and aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    LikesBrand,
    LikesCategory,
    LikesTag,
    MatchesInterests,
    PopularInStore,
    GoesWithScanned,
    GoesWithFavourites,
    PriceRange,
    CompletesBasket,
    OnOffer,
    WorthALook,
}

/// A reason code with what it names, and its display line in English (for logs and the CLI; the
/// screen shows [`Reason::text_in`] the kiosk's locale).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: ReasonCode,
    pub text: String,
    /// The brand, category, tag or product the reason names, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl Reason {
    /// A reason naming `subject` (or nothing), its `text` in English.
    pub fn new(code: ReasonCode, subject: Option<String>) -> Self {
        let mut reason = Reason {
            code,
            text: String::new(),
            subject,
        };
        reason.text = reason.text_in(i18n::messages(Locale::En));
        reason
    }

    /// The reason in the words of a message catalog (`reason-…` ids).
    pub fn text_in(&self, messages: &Messages) -> String {
        let subject = self.subject.as_deref();
        let naming = |id: &str, arg: &str| match subject {
            Some(s) => messages.with(id, &[(arg, s.into())]),
            None => messages.get("reason-matches-interests"),
        };
        match self.code {
            ReasonCode::LikesBrand => naming("reason-likes-brand", "brand"),
            ReasonCode::LikesCategory => naming("reason-likes-category", "category"),
            ReasonCode::LikesTag => naming("reason-likes-tag", "tag"),
            ReasonCode::MatchesInterests => messages.get("reason-matches-interests"),
            ReasonCode::PopularInStore => messages.get("reason-popular-in-store"),
            ReasonCode::GoesWithScanned => match subject {
                Some(s) => messages.with("reason-goes-with-scanned", &[("product", s.into())]),
                None => messages.get("reason-goes-with-scanned-unknown"),
            },
            ReasonCode::GoesWithFavourites => messages.get("reason-goes-with-favourites"),
            ReasonCode::PriceRange => messages.get("reason-price-range"),
            ReasonCode::CompletesBasket => messages.get("reason-completes-basket"),
            ReasonCode::OnOffer => messages.get("reason-on-offer"),
            ReasonCode::WorthALook => messages.get("reason-worth-a-look"),
        }
    }
}

/// The line under a pick: its first reason, or a plain "picked for you", in `messages`' words.
pub fn display_reason(reasons: &[Reason], messages: &Messages) -> String {
    reasons.first().map_or_else(
        || messages.get("reason-picked-for-you"),
        |r| r.text_in(messages),
    )
}

/// One recommended product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pick {
    pub sku: String,
    pub score: f64,
    /// One entry per scorer, in [`Scorer::ALL`] order.
    pub contributions: Vec<Contribution>,
    /// Largest contribution first.
    pub reasons: Vec<Reason>,
    pub display_reason: String,
}

/// A scored candidate with what explains each score.
struct Scored<'a> {
    product: &'a Product,
    total: f64,
    scores: [f64; 5],
    facet: Option<Facet<'a>>,
    anchor: Option<Anchor<'a>>,
    kind: VisitAction,
}

/// Ranks the catalog for one shopper and returns up to `n` diverse, explained picks.
pub fn recommend(inputs: &Inputs<'_>, n: usize) -> Vec<Pick> {
    let Inputs {
        catalog,
        features,
        popularity,
        co_occurrence,
        journey,
        config,
    } = *inputs;
    if n == 0 {
        return Vec::new();
    }
    let weights = if features.has_history() {
        config.weights
    } else {
        config.cold_start_weights
    };
    let w = Scorer::ALL.map(|s| weights.get(s));
    let affinity = AffinityScorer::new(features, &config.affinity_mix, catalog);
    let cooc = CoOccurrenceScorer::new(features, co_occurrence, &config.co_occurrence, catalog);
    let mut excluded = vec![false; catalog.len()];
    for sku in features.just_purchased.iter().chain(&features.session) {
        if let Some(i) = catalog.position(sku) {
            excluded[i] = true;
        }
    }
    let journey_by_kind =
        VisitAction::ALL.map(|a| scorers::journey(journey, features.visit_state, a));

    let mut scored: Vec<Scored<'_>> = catalog
        .products()
        .iter()
        .enumerate()
        .filter(|(pos, _)| !excluded[*pos])
        .map(|(pos, p)| {
            let (aff, facet) = affinity.score(pos);
            let (co, anchor) = cooc.score(pos);
            let kind = scorers::content_kind(p, anchor);
            let scores = [
                aff,
                popularity.score(&p.sku),
                co,
                scorers::price_fit(features.price_position, catalog.price_percentile_at(pos)),
                journey_by_kind[kind.index()],
            ];
            let total = scores.iter().zip(&w).map(|(s, w)| s * w).sum();
            Scored {
                product: p,
                total,
                scores,
                facet,
                anchor,
                kind,
            }
        })
        .filter(|s| s.total > 0.0)
        .collect();

    let by_rank = |a: &Scored<'_>, b: &Scored<'_>| -> Ordering {
        b.total
            .total_cmp(&a.total)
            .then_with(|| a.product.sku.cmp(&b.product.sku))
    };
    let shortlist = (n * 20).max(50);
    if scored.len() > shortlist {
        scored.select_nth_unstable_by(shortlist, by_rank);
        scored.truncate(shortlist);
    }
    scored.sort_by(by_rank);

    let keys: Vec<(&str, Option<&str>)> = scored
        .iter()
        .map(|s| (s.product.leaf_category(), s.product.brand.as_deref()))
        .collect();
    diversify(&keys, n, &config.diversity)
        .into_iter()
        .map(|i| pick(&scored[i], &w, catalog))
        .collect()
}

/// Chooses up to `n` positions of `ranked` (best first) under the diversity rule, then fills
/// up with the best remaining when the rule leaves fewer than `n`. Returns positions ascending.
pub fn diversify(ranked: &[(&str, Option<&str>)], n: usize, cfg: &DiversityConfig) -> Vec<usize> {
    let mut leaves: HashMap<&str, usize> = HashMap::new();
    let mut brands: HashMap<&str, usize> = HashMap::new();
    let mut chosen: Vec<usize> = Vec::with_capacity(n);
    for (i, &(leaf, brand)) in ranked.iter().enumerate() {
        if chosen.len() == n {
            break;
        }
        let leaf_ok = leaf.is_empty() || leaves.get(leaf).copied().unwrap_or(0) < cfg.max_per_leaf;
        let brand_ok =
            brand.is_none_or(|b| brands.get(b).copied().unwrap_or(0) < cfg.max_per_brand);
        if leaf_ok && brand_ok {
            *leaves.entry(leaf).or_default() += 1;
            if let Some(b) = brand {
                *brands.entry(b).or_default() += 1;
            }
            chosen.push(i);
        }
    }
    for i in 0..ranked.len() {
        if chosen.len() >= n {
            break;
        }
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    chosen
}

fn pick(s: &Scored<'_>, w: &[f64; 5], catalog: &CatalogIndex) -> Pick {
    let contributions: Vec<Contribution> = Scorer::ALL
        .iter()
        .enumerate()
        .map(|(i, &scorer)| Contribution {
            scorer,
            score: s.scores[i],
            weight: w[i],
            value: s.scores[i] * w[i],
        })
        .collect();
    let mut ranked: Vec<&Contribution> = contributions.iter().filter(|c| c.value > 0.0).collect();
    ranked.sort_by(|a, b| b.value.total_cmp(&a.value));
    let reasons: Vec<Reason> = ranked
        .iter()
        .filter_map(|c| reason(c.scorer, s, catalog))
        .collect();
    let display_reason = display_reason(&reasons, i18n::messages(Locale::En));
    Pick {
        sku: s.product.sku.clone(),
        score: s.total,
        contributions,
        reasons,
        display_reason,
    }
}

/// The reason a scorer gives for a candidate (see module invariants on what may be named).
fn reason(scorer: Scorer, s: &Scored<'_>, catalog: &CatalogIndex) -> Option<Reason> {
    let (code, subject) = match scorer {
        Scorer::Affinity => match s.facet? {
            Facet::Brand(b) => (ReasonCode::LikesBrand, Some(b.to_string())),
            Facet::Category(c) => (ReasonCode::LikesCategory, Some(c.to_lowercase())),
            Facet::Tag(t) => (ReasonCode::LikesTag, Some(t.to_string())),
            Facet::Item => (ReasonCode::MatchesInterests, None),
        },
        Scorer::Popularity => (ReasonCode::PopularInStore, None),
        Scorer::CoOccurrence => match s.anchor? {
            Anchor::Session(sku) => (
                ReasonCode::GoesWithScanned,
                catalog.get(sku).map(|p| p.name.clone()),
            ),
            Anchor::History => (ReasonCode::GoesWithFavourites, None),
        },
        Scorer::PriceFit => (ReasonCode::PriceRange, None),
        Scorer::Journey => match s.kind {
            VisitAction::Bundle => (ReasonCode::CompletesBasket, None),
            VisitAction::Offer => (ReasonCode::OnOffer, None),
            VisitAction::ProductPick => (ReasonCode::WorthALook, None),
        },
    };
    Some(Reason::new(code, subject))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::event::{Event, EventKind};
    use crate::recommend::index::tests::product;
    use crate::recommend::{Session, SkuStats, Weights};

    struct World {
        catalog: CatalogIndex,
        popularity: Popularity,
        cooc: CoOccurrence,
        config: RecommendConfig,
    }

    fn ev(sku: &str, kind: EventKind) -> Event {
        Event {
            at: 0,
            kind,
            sku: sku.into(),
            quantity: 1,
            price: None,
            session: None,
        }
    }

    fn world() -> World {
        let catalog = CatalogIndex::new([
            product("shoe1", "Salomon", "Footwear/Trail", 12_000),
            product("shoe2", "Salomon", "Footwear/Trail", 13_000),
            product("shoe3", "Hoka", "Footwear/Trail", 14_000),
            product("boot", "Salomon", "Footwear/Boots", 20_000),
            product("sock", "Falke", "Footwear/Socks", 1_500),
            product("tent", "MSR", "Camping/Tents", 40_000),
            product("mug", "", "Kitchen/Mugs", 900),
        ]);
        let mut stats = std::collections::HashMap::new();
        stats.insert(
            "tent".to_string(),
            SkuStats {
                views: 50,
                carts: 5,
                purchases: 3,
            },
        );
        stats.insert(
            "mug".to_string(),
            SkuStats {
                views: 20,
                carts: 0,
                purchases: 1,
            },
        );
        let popularity = Popularity::from_stats(&stats, &Default::default());
        let baskets = [vec![
            ev("shoe1", EventKind::Purchase),
            ev("sock", EventKind::Purchase),
        ]];
        let sessions: Vec<Session<'_>> = baskets.iter().map(|b| b.iter().collect()).collect();
        let cooc = CoOccurrence::fit(&sessions, &Default::default());
        World {
            catalog,
            popularity,
            cooc,
            config: RecommendConfig::default(),
        }
    }

    fn run(w: &World, f: &Features, n: usize) -> Vec<Pick> {
        let inputs = Inputs {
            catalog: &w.catalog,
            features: f,
            popularity: &w.popularity,
            co_occurrence: &w.cooc,
            journey: None,
            config: &w.config,
        };
        recommend(&inputs, n)
    }

    fn salomon_fan() -> Features {
        let mut f = Features {
            events: 3,
            ..Features::default()
        };
        f.brands.insert("Salomon".into(), 3.0);
        f.categories.insert("Footwear".into(), 3.0);
        f.categories.insert("Trail".into(), 3.0);
        f
    }

    #[test]
    fn fusion_is_the_weighted_sum_of_contributions() {
        let w = world();
        let picks = run(&w, &salomon_fan(), 3);
        assert!(!picks.is_empty());
        for p in &picks {
            let sum: f64 = p.contributions.iter().map(|c| c.value).sum();
            assert!((p.score - sum).abs() < 1e-12);
            for c in &p.contributions {
                assert!((0.0..=1.0).contains(&c.score));
                assert_eq!(
                    c.weight,
                    w.config.weights.get(c.scorer),
                    "history uses the main weights"
                );
                assert!((c.value - c.weight * c.score).abs() < 1e-15);
            }
        }
        assert!(picks.windows(2).all(|p| p[0].score >= p[1].score));
        assert_eq!(
            picks[0].sku, "shoe1",
            "brand + category, ties broken by SKU"
        );
        assert_eq!(picks[0].display_reason, "Because you like footwear");
    }

    #[test]
    fn diversity_keeps_one_per_leaf_and_brand() {
        let w = world();
        let picks = run(&w, &salomon_fan(), 3);
        let skus: Vec<&str> = picks.iter().map(|p| p.sku.as_str()).collect();
        // shoe2 (same leaf and brand as shoe1) and boot (Salomon) give way to sock / tent.
        assert_eq!(skus.len(), 3);
        assert!(skus.contains(&"shoe1"));
        assert!(!skus.contains(&"shoe2") && !skus.contains(&"boot") && !skus.contains(&"shoe3"));
    }

    #[test]
    fn diversify_rule_and_fill() {
        let ranked = [
            ("Trail", Some("Salomon")),
            ("Trail", Some("Hoka")),
            ("Boots", Some("Salomon")),
            ("", None),
            ("", None),
            ("Socks", Some("Falke")),
        ];
        let cfg = DiversityConfig::default();
        assert_eq!(diversify(&ranked, 3, &cfg), vec![0, 3, 4]);
        assert_eq!(diversify(&ranked, 4, &cfg), vec![0, 3, 4, 5]);
        // Not enough diverse candidates: fill with the best remaining.
        assert_eq!(diversify(&ranked[..3], 3, &cfg), vec![0, 1, 2]);
        let loose = DiversityConfig {
            max_per_leaf: 2,
            max_per_brand: 2,
        };
        assert_eq!(diversify(&ranked, 2, &loose), vec![0, 1]);
        assert!(diversify(&ranked, 0, &cfg).is_empty());
    }

    #[test]
    fn filters_purchased_in_hand_and_evidence_free() {
        let w = world();
        let mut f = salomon_fan();
        f.just_purchased.insert("shoe1".into());
        f.session = vec!["shoe3".into()];
        let skus: Vec<String> = run(&w, &f, 10).into_iter().map(|p| p.sku).collect();
        assert!(!skus.contains(&"shoe1".to_string()) && !skus.contains(&"shoe3".to_string()));
        // No history, no visit, no popularity for anything: nothing to say.
        let empty = World {
            popularity: Popularity::default(),
            ..world()
        };
        assert!(run(&empty, &Features::default(), 3).is_empty());
    }

    #[test]
    fn cold_start_uses_popularity_and_what_is_in_hand() {
        let w = world();
        let mut f = Features::default();
        f.observe_session(
            &[ev("shoe1", EventKind::View)],
            &w.catalog,
            &w.config.features,
        );
        let picks = run(&w, &f, 3);
        let sock = picks
            .iter()
            .find(|p| p.sku == "sock")
            .expect("complement of the scanned shoe");
        assert_eq!(sock.reasons[0].code, ReasonCode::GoesWithScanned);
        assert_eq!(sock.display_reason, "Goes well with Product shoe1");
        let tent = picks
            .iter()
            .find(|p| p.sku == "tent")
            .expect("most popular");
        assert_eq!(tent.display_reason, "Popular in this store this week");
        for p in &picks {
            for c in &p.contributions {
                assert_eq!(c.weight, Weights::cold_start().get(c.scorer));
            }
        }
    }

    #[test]
    fn reasons_reveal_only_coarse_preferences() {
        let w = world();
        let mut f = salomon_fan();
        f.items.insert("shoe2".into(), 10.0);
        f.price_position = Some(0.5);
        let picks = run(&w, &f, 7);
        let texts: Vec<&str> = picks
            .iter()
            .flat_map(|p| p.reasons.iter().map(|r| r.text.as_str()))
            .collect();
        assert!(
            texts
                .iter()
                .all(|t| !t.contains("shoe2") && !t.chars().any(|c| c.is_ascii_digit())),
            "{texts:?}"
        );
        assert!(
            texts.contains(&"Goes well with things you like")
                || texts.contains(&"Matches your usual price range")
        );
        for p in &picks {
            let top = p
                .contributions
                .iter()
                .filter(|c| c.value > 0.0)
                .map(|c| c.value)
                .fold(0.0, f64::max);
            let first = p.contributions.iter().find(|c| c.value == top).unwrap();
            let expected = reason(first.scorer, &scored_for(&w, &f, &p.sku), &w.catalog).unwrap();
            assert_eq!(p.display_reason, expected.text);
        }
    }

    /// Re-scores one SKU the way [`recommend`] does (test helper for reason checks).
    fn scored_for<'a>(w: &'a World, f: &'a Features, sku: &str) -> Scored<'a> {
        let pos = w.catalog.position(sku).unwrap();
        let product = &w.catalog.products()[pos];
        let (_, facet) = AffinityScorer::new(f, &w.config.affinity_mix, &w.catalog).score(pos);
        let (_, anchor) =
            CoOccurrenceScorer::new(f, &w.cooc, &w.config.co_occurrence, &w.catalog).score(pos);
        let kind = scorers::content_kind(product, anchor);
        Scored {
            product,
            total: 0.0,
            scores: [0.0; 5],
            facet,
            anchor,
            kind,
        }
    }

    #[test]
    fn journey_reason_texts() {
        let w = world();
        let product = w.catalog.get("mug").unwrap();
        let mk = |kind| Scored {
            product,
            total: 0.0,
            scores: [0.0; 5],
            facet: None,
            anchor: None,
            kind,
        };
        assert_eq!(
            reason(Scorer::Journey, &mk(VisitAction::Offer), &w.catalog)
                .unwrap()
                .code,
            ReasonCode::OnOffer
        );
        assert_eq!(
            reason(Scorer::Journey, &mk(VisitAction::Bundle), &w.catalog)
                .unwrap()
                .text,
            "Completes your basket"
        );
        assert_eq!(
            reason(Scorer::Affinity, &mk(VisitAction::Bundle), &w.catalog),
            None
        );
    }
}
