//! The per-candidate scorers fused by [`super::rank`]. Popularity lives in
//! [`super::popularity`], co-occurrence fitting in [`super::cooccurrence`].
//!
//! Invariants:
//! - Every scorer returns a value in `0..=1`; each also says *why* (a facet, an anchor, a content
//!   kind) so the pick can carry a reason from the scorer that contributed most.
//! - Content affinity normalises each facet by the shopper's strongest entry, so a shopper's
//!   favourite brand scores 1 whatever their history length.
//! - A co-occurrence anchor from this visit is named in the reason; an anchor from earlier visits
//!   never is (no line of history is revealed).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    check, CatalogIndex, CoOccurrence, CoOccurrenceConfig, ConfigError, Features, JourneyPolicy,
    VisitAction, VisitState,
};
use crate::catalog::Product;

/// The scorers fused into a pick's score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scorer {
    Affinity,
    Popularity,
    CoOccurrence,
    PriceFit,
    Journey,
}

impl Scorer {
    pub const ALL: [Scorer; 5] = [
        Self::Affinity,
        Self::Popularity,
        Self::CoOccurrence,
        Self::PriceFit,
        Self::Journey,
    ];
}

/// How content affinity mixes its facets (normalised by their sum).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AffinityMix {
    /// The very product engaged with before (viewed, carted) — retargeting.
    pub item: f64,
    pub brand: f64,
    /// Mean over the candidate's category path levels.
    pub category: f64,
    /// Best matching interest tag.
    pub tag: f64,
}

impl Default for AffinityMix {
    fn default() -> Self {
        Self {
            item: 0.2,
            brand: 0.3,
            category: 0.35,
            tag: 0.15,
        }
    }
}

impl AffinityMix {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let all = [self.item, self.brand, self.category, self.tag];
        check(
            all.iter().all(|w| w.is_finite() && *w >= 0.0),
            "affinity_mix",
            "must be finite and >= 0",
        )?;
        check(
            all.iter().sum::<f64>() > 0.0,
            "affinity_mix",
            "must not all be zero",
        )
    }
}

/// The facet of the shopper's own taste that explains an affinity score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet<'a> {
    Brand(&'a str),
    Category(&'a str),
    Tag(&'a str),
    /// Only the item itself matched; never named in a reason.
    Item,
}

/// Content affinity of candidates for one shopper, dense over the catalog's facet ids.
#[derive(Debug)]
pub struct AffinityScorer<'c> {
    catalog: &'c CatalogIndex,
    brands: Vec<f64>,
    categories: Vec<f64>,
    tags: Vec<f64>,
    items: Vec<f64>,
    mix: AffinityMix,
}

/// Affinities divided by the shopper's strongest entry, with their keys.
fn normalised(map: &BTreeMap<String, f64>) -> impl Iterator<Item = (&str, f64)> {
    let max = map.values().copied().fold(0.0, f64::max);
    map.iter()
        .filter(move |_| max > 0.0)
        .map(move |(k, v)| (k.as_str(), v / max))
}

/// Dense normalised affinities indexed by `id`; keys without an id are dropped.
fn dense(map: &BTreeMap<String, f64>, len: usize, id: impl Fn(&str) -> Option<usize>) -> Vec<f64> {
    let mut out = vec![0.0; len];
    for (k, v) in normalised(map) {
        if let Some(i) = id(k) {
            out[i] = v;
        }
    }
    out
}

impl<'c> AffinityScorer<'c> {
    pub fn new(features: &Features, mix: &AffinityMix, catalog: &'c CatalogIndex) -> Self {
        let id = |v: &'c super::index::Vocabulary| move |k: &str| v.id(k).map(|i| i as usize);
        Self {
            catalog,
            brands: dense(&features.brands, catalog.brands.len(), id(&catalog.brands)),
            categories: dense(
                &features.categories,
                catalog.categories.len(),
                id(&catalog.categories),
            ),
            tags: dense(&features.tags, catalog.tags.len(), id(&catalog.tags)),
            items: dense(&features.items, catalog.len(), |k| catalog.position(k)),
            mix: *mix,
        }
    }

    /// Score in `0..=1` of the product at catalog `position` and the facet that explains it
    /// best (a named facet whenever one matched), or `None` when nothing matched.
    pub fn score(&self, position: usize) -> (f64, Option<Facet<'c>>) {
        let Some(p) = self.catalog.products().get(position) else {
            return (0.0, None);
        };
        let ids = self.catalog.facets_at(position);
        let get = |v: &[f64], id: u32| v.get(id as usize).copied().unwrap_or(0.0);
        let brand = ids
            .brand
            .zip(p.brand.as_deref())
            .map(|(id, b)| (get(&self.brands, id), b));
        let level = |(id, name): (&u32, &'c String)| (get(&self.categories, *id), name.as_str());
        let best_category = ids
            .categories
            .iter()
            .zip(&p.category)
            .map(level)
            .fold(None, best);
        let category_mean = if ids.categories.is_empty() {
            0.0
        } else {
            ids.categories
                .iter()
                .map(|id| get(&self.categories, *id))
                .sum::<f64>()
                / ids.categories.len() as f64
        };
        let tag = ids
            .tags
            .iter()
            .zip(&p.tags)
            .map(|(id, t)| (get(&self.tags, *id), t.as_str()))
            .fold(None, best);
        let item = self.items.get(position).copied().unwrap_or(0.0);

        let brand_part = self.mix.brand * brand.map_or(0.0, |b| b.0);
        let category_part = self.mix.category * category_mean;
        let tag_part = self.mix.tag * tag.map_or(0.0, |t| t.0);
        let item_part = self.mix.item * item;
        let total = self.mix.item + self.mix.brand + self.mix.category + self.mix.tag;
        let value = ((brand_part + category_part + tag_part + item_part) / total).clamp(0.0, 1.0);

        let named = [
            (brand_part, brand.map(|b| Facet::Brand(b.1))),
            (category_part, best_category.map(|c| Facet::Category(c.1))),
            (tag_part, tag.map(|t| Facet::Tag(t.1))),
        ];
        let facet = named
            .into_iter()
            .filter_map(|(v, f)| Some((v, f?)))
            .filter(|(v, _)| *v > 0.0)
            .fold(None, best)
            .map(|(_, f)| f)
            .or((item_part > 0.0).then_some(Facet::Item));
        (value, facet)
    }
}

/// Keeps the first of the largest values (so the coarser category level, and brand over
/// category over tag, win ties).
fn best<T>(acc: Option<(f64, T)>, x: (f64, T)) -> Option<(f64, T)> {
    match acc {
        Some(a) if a.0 >= x.0 => Some(a),
        _ => Some(x),
    }
}

/// How close a candidate's price percentile is to the shopper's usual one:
/// `1 - |candidate - shopper|`, or 0 when the shopper's price position is unknown.
pub fn price_fit(shopper: Option<f64>, candidate: f64) -> f64 {
    shopper.map_or(0.0, |s| (1.0 - (candidate - s).abs()).clamp(0.0, 1.0))
}

/// What a co-occurrence score is anchored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor<'a> {
    /// A SKU from this visit (nameable: the shopper is holding it).
    Session(&'a str),
    /// Something from earlier visits (never named).
    History,
}

/// Co-occurrence of candidates with this visit's SKUs and the shopper's strongest past items,
/// dense over catalog positions.
#[derive(Debug)]
pub struct CoOccurrenceScorer<'a> {
    best: Vec<Option<(f64, Anchor<'a>)>>,
}

impl<'a> CoOccurrenceScorer<'a> {
    pub fn new(
        features: &'a Features,
        model: &CoOccurrence,
        cfg: &CoOccurrenceConfig,
        catalog: &CatalogIndex,
    ) -> Self {
        let mut history: Vec<(&str, f64)> = normalised(&features.items)
            .filter(|(sku, _)| !features.session.iter().any(|s| s == sku))
            .collect();
        history.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        history.truncate(cfg.max_history_anchors);
        let anchors = features
            .session
            .iter()
            .map(|s| (s.as_str(), 1.0, Anchor::Session(s.as_str())))
            .chain(
                history
                    .into_iter()
                    .map(|(sku, w)| (sku, w * cfg.history_anchor_weight, Anchor::History)),
            );
        let mut best: Vec<Option<(f64, Anchor<'a>)>> = vec![None; catalog.len()];
        for (sku, weight, anchor) in anchors {
            for (neighbour, sim) in model.neighbours(sku) {
                let value = weight * sim;
                if let Some(slot) = catalog.position(neighbour).and_then(|i| best.get_mut(i)) {
                    if value > 0.0 && slot.is_none_or(|(v, _)| value > v) {
                        *slot = Some((value, anchor));
                    }
                }
            }
        }
        Self { best }
    }

    /// Score in `0..=1` of the product at catalog `position` and its anchor, or `(0, None)`.
    pub fn score(&self, position: usize) -> (f64, Option<Anchor<'a>>) {
        self.best
            .get(position)
            .copied()
            .flatten()
            .map_or((0.0, None), |(v, a)| (v.clamp(0.0, 1.0), Some(a)))
    }
}

/// The kind of content a candidate would be shown as: a bundle when it goes with something in
/// hand this visit, an offer when it is discounted, else a plain product pick.
pub fn content_kind(p: &Product, anchor: Option<Anchor<'_>>) -> VisitAction {
    if matches!(anchor, Some(Anchor::Session(_))) {
        VisitAction::Bundle
    } else if p.discount_percent().is_some_and(|d| d > 0) {
        VisitAction::Offer
    } else {
        VisitAction::ProductPick
    }
}

/// The journey policy's propensity (`0..=1`) for showing content of `kind` in `state`; 0 when no
/// policy has been fitted.
pub fn journey(policy: Option<&JourneyPolicy>, state: VisitState, kind: VisitAction) -> f64 {
    policy.map_or(0.0, |p| p.propensity(state, kind))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::catalog::Minor;
    use crate::event::{Event, EventKind};
    use crate::recommend::index::tests::product;
    use crate::recommend::mdp::N_STATES;
    use crate::recommend::Session;

    fn features() -> Features {
        let mut f = Features::default();
        f.brands.insert("Salomon".into(), 4.0);
        f.brands.insert("Falke".into(), 1.0);
        f.categories.insert("Footwear".into(), 5.0);
        f.categories.insert("Trail".into(), 4.0);
        f.tags.insert("trail".into(), 2.0);
        f.items.insert("old".into(), 2.0);
        f
    }

    #[test]
    fn affinity_scores_and_names_the_strongest_facet() {
        let f = features();
        let catalog = CatalogIndex::new([
            product("x", "Salomon", "Footwear/Trail", 100),
            product("y", "Salomon", "Tents", 100),
            product("z", "", "Tents", 100),
            product("old", "", "", 100),
        ]);
        let s = AffinityScorer::new(&f, &AffinityMix::default(), &catalog);
        let (v, facet) = s.score(0);
        // brand 1.0·0.3, category mean (1 + 0.8)/2·0.35 = 0.315, tag "trail" 1.0·0.15 (tags are
        // lower-cased categories: "footwear" 0, "trail" 1) → 0.765 over total 1.0.
        assert!((v - 0.765).abs() < 1e-12, "{v}");
        assert_eq!(facet, Some(Facet::Category("Footwear")));
        let (v, facet) = s.score(1);
        assert!((v - 0.3).abs() < 1e-12);
        assert_eq!(facet, Some(Facet::Brand("Salomon")));
        assert_eq!(s.score(2), (0.0, None));
        let (v, facet) = s.score(3);
        assert!((v - 0.2).abs() < 1e-12);
        assert_eq!(
            facet,
            Some(Facet::Item),
            "an item-only match is never named"
        );
        assert_eq!(s.score(99), (0.0, None));
        let empty = Features::default();
        assert_eq!(
            AffinityScorer::new(&empty, &AffinityMix::default(), &catalog).score(0),
            (0.0, None)
        );
    }

    #[test]
    fn price_fit_is_closeness() {
        assert_eq!(price_fit(None, 0.3), 0.0);
        assert!((price_fit(Some(0.8), 0.3) - 0.5).abs() < 1e-12);
        assert_eq!(price_fit(Some(0.5), 0.5), 1.0);
    }

    #[test]
    fn co_occurrence_prefers_session_anchors_and_weights_history() {
        let ev = |s: &str| Event {
            at: 0,
            kind: EventKind::Purchase,
            sku: s.into(),
            quantity: 1,
            price: None,
            session: None,
        };
        let baskets = [
            vec![ev("tent"), ev("mat")],
            vec![ev("old"), ev("lamp")],
            vec![ev("tent"), ev("lamp")],
        ];
        let sessions: Vec<Session<'_>> = baskets.iter().map(|b| b.iter().collect()).collect();
        let model = CoOccurrence::fit(&sessions, &CoOccurrenceConfig::default());
        let mut f = features();
        f.session = vec!["tent".into()];
        let catalog = CatalogIndex::new(
            ["tent", "mat", "old", "lamp", "nothing"].map(|s| product(s, "", "", 100)),
        );
        let s = CoOccurrenceScorer::new(&f, &model, &CoOccurrenceConfig::default(), &catalog);
        let (mat, anchor) = s.score(1);
        assert!((mat - model.similarity("tent", "mat")).abs() < 1e-12);
        assert_eq!(anchor, Some(Anchor::Session("tent")));
        // lamp: via tent (session, 1·sim) vs via old (history, 0.5·1.0·sim): session wins.
        let (lamp, anchor) = s.score(3);
        assert!((lamp - model.similarity("tent", "lamp")).abs() < 1e-12);
        assert_eq!(anchor, Some(Anchor::Session("tent")));
        f.session.clear();
        let s = CoOccurrenceScorer::new(&f, &model, &CoOccurrenceConfig::default(), &catalog);
        let (lamp, anchor) = s.score(3);
        assert!((lamp - 0.5 * model.similarity("old", "lamp")).abs() < 1e-12);
        assert_eq!(anchor, Some(Anchor::History));
        assert_eq!(s.score(4), (0.0, None));
    }

    #[test]
    fn content_kind_and_journey() {
        let mut p = product("a", "", "", 100);
        assert_eq!(
            content_kind(&p, Some(Anchor::Session("x"))),
            VisitAction::Bundle
        );
        assert_eq!(
            content_kind(&p, Some(Anchor::History)),
            VisitAction::ProductPick
        );
        p.list_price = Some(Minor(200));
        assert_eq!(content_kind(&p, None), VisitAction::Offer);
        let policy = JourneyPolicy {
            values: [0.0; N_STATES],
            q: [[0.0, 1.0, 0.5]; N_STATES],
            policy: [VisitAction::Bundle; N_STATES],
        };
        assert_eq!(
            journey(Some(&policy), VisitState::Engaged, VisitAction::Offer),
            0.5
        );
        assert_eq!(journey(None, VisitState::Engaged, VisitAction::Offer), 0.0);
    }
}
