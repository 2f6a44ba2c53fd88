//! Personalisation as the kiosk runs it: the [`Shelf`] (store models, style bandit, copy desk)
//! and what it is built from. This module loads the store-level models once (catalog index, this
//! week's popularity, co-occurrence and the journey MDP fitted from the shoppers' sessions),
//! computes one shopper's features from their sealed events, and plans the copy-cache warm-up;
//! [`desk`] writes copy, [`shelf`] picks, [`jobs`] are the one-shot commands built on the shelf.
//!
//! Invariants:
//! - Store-level models are fitted in memory from opened events and hold no shopper identifier:
//!   sessions are grouped by an opaque per-load index, never by loyalty token or shopper id.
//! - A shopper without `personalise` consent gets an anonymous profile: only this visit's scans.

pub mod desk;
pub mod jobs;
pub mod shelf;

pub use desk::{engine_config, CopyDesk, CopySetupError, LoadedModel};
pub use jobs::{
    prepare_copy, recommend_for, simulate_feedback, warm_job, CopyJob, KioskPicks, PickView,
    PreparedCopy, Recommendation, WarmJob,
};
pub use shelf::{Shelf, ShelfPick};

use std::collections::HashMap;

use crate::catalog::Product;
use crate::copy::service::CopyOrder;
use crate::event::{Event, EventKind};
use crate::profile::{self, OpenShopper, ProfileError, Vault};
use crate::recommend::{
    self, CatalogIndex, CoOccurrence, Features, JourneyModel, JourneyPolicy, Pick, Popularity,
    RecommendConfig, SkuStats,
};
use crate::store::{catalog as products, shoppers};
use crate::vocab::{SegmentKey, Style};

/// Days of store statistics behind "popular in this store this week".
pub const POPULARITY_DAYS: i64 = 7;

/// Everything the recommender needs that is the same for every shopper.
#[derive(Debug)]
pub struct StoreModel {
    pub catalog: CatalogIndex,
    pub popularity: Popularity,
    pub co_occurrence: CoOccurrence,
    pub journey: Option<JourneyPolicy>,
    pub config: RecommendConfig,
}

impl StoreModel {
    /// Loads the catalog and statistics and fits the session models from every shopper's
    /// events. `now` picks the popularity window.
    pub fn load(vault: &Vault, config: RecommendConfig, now: i64) -> Result<Self, ProfileError> {
        let conn = vault.store.conn();
        let catalog = CatalogIndex::new(products::all(conn)?);
        let since_day = now.div_euclid(86_400) - POPULARITY_DAYS;
        let mut stats = sku_stats(conn, since_day)?;
        if stats.is_empty() {
            // Imported history older than a week: fall back to all time rather than nothing.
            stats = sku_stats(conn, i64::MIN)?;
        }
        let popularity = Popularity::from_stats(&stats, &config.popularity);
        let histories = all_histories(vault)?;
        let keyed: Vec<(String, &Event)> = histories
            .iter()
            .enumerate()
            .flat_map(|(i, evs)| evs.iter().map(move |e| (i.to_string(), e)))
            .collect();
        let sessions = recommend::group_sessions(keyed.iter().map(|(k, e)| (k.as_str(), *e)));
        let co_occurrence = CoOccurrence::fit(&sessions, &config.co_occurrence);
        let journey = JourneyModel::fit(&sessions, &config.mdp)
            .ok()
            .map(|m| m.solve());
        Ok(Self {
            catalog,
            popularity,
            co_occurrence,
            journey,
            config,
        })
    }

    /// A shopper's features (their history unless they opted out) plus this visit's scans.
    pub fn features(
        &self,
        vault: &Vault,
        shopper: Option<&OpenShopper>,
        scanned: &[String],
        now: i64,
    ) -> Result<Features, ProfileError> {
        let history = match shopper {
            Some(s) if s.record.consent.personalise => profile::open_events(vault.store.conn(), s)?,
            _ => Vec::new(),
        };
        let mut features = recommend::extract(&history, &self.catalog, now, &self.config.features);
        self.observe_scans(&mut features, scanned, now);
        Ok(features)
    }

    /// Features of an anonymous visitor who scanned `scanned` (no history).
    pub fn visit_features(&self, scanned: &[String], now: i64) -> Features {
        let mut features = recommend::extract(&[], &self.catalog, now, &self.config.features);
        self.observe_scans(&mut features, scanned, now);
        features
    }

    fn observe_scans(&self, features: &mut Features, scanned: &[String], now: i64) {
        if scanned.is_empty() {
            return;
        }
        let visit: Vec<Event> = scanned
            .iter()
            .map(|sku| Event {
                at: now,
                kind: EventKind::View,
                sku: sku.clone(),
                quantity: 1,
                price: None,
                session: None,
            })
            .collect();
        features.observe_session(&visit, &self.catalog, &self.config.features);
    }

    /// Up to `n` explained picks.
    pub fn recommend(&self, features: &Features, n: usize) -> Vec<Pick> {
        self.recommend_with(features, n, &self.config)
    }

    /// [`StoreModel::recommend`] with another `[recommend]` config (weights of an experiment arm;
    /// the fitted statistics stay the model's).
    pub fn recommend_with(
        &self,
        features: &Features,
        n: usize,
        config: &RecommendConfig,
    ) -> Vec<Pick> {
        recommend::recommend(
            &recommend::Inputs {
                catalog: &self.catalog,
                features,
                popularity: &self.popularity,
                co_occurrence: &self.co_occurrence,
                journey: self.journey.as_ref(),
                config,
            },
            n,
        )
    }

    pub fn product(&self, sku: &str) -> Option<&Product> {
        self.catalog.get(sku)
    }
}

/// Store-level statistics since `since_day` in the recommender's shape.
fn sku_stats(
    conn: &rusqlite::Connection,
    since_day: i64,
) -> Result<HashMap<String, SkuStats>, ProfileError> {
    Ok(products::stats_since(conn, since_day)?
        .into_iter()
        .map(|(sku, s)| {
            let stats = SkuStats {
                views: s.views,
                carts: s.carts,
                purchases: s.purchases,
            };
            (sku, stats)
        })
        .collect())
}

/// Every enrolled shopper's opened events (in memory only, for fitting store-level models).
fn all_histories(vault: &Vault) -> Result<Vec<Vec<Event>>, ProfileError> {
    let conn = vault.store.conn();
    let mut out = Vec::new();
    for (id, wrapped) in shoppers::wrapped_keys(conn)? {
        let record = shoppers::ShopperRecord {
            id,
            wrapped_key: wrapped,
            consent: shoppers::Consent::default(),
            created_at: 0,
            last_seen: 0,
        };
        let key = vault.unwrap_key(&record)?;
        let shopper = OpenShopper { record, key };
        out.push(profile::open_events(conn, &shopper)?);
    }
    Ok(out)
}

/// The segment feedback and the bandit use: the recommender's when HQ would accept it as a
/// label, else [`SegmentKey::all`] (an impression is never lost to its label).
pub fn feedback_segment(segment: &SegmentKey) -> SegmentKey {
    if crate::feedback::check_cell_labels("SKU", &segment.to_string(), "blurb").is_ok() {
        segment.clone()
    } else {
        SegmentKey::all()
    }
}

/// What `copy warm` generates: the `top` most viewed products × the `segments` most common
/// shopper segments plus `all`, every style, written with `seed`; sorted by style, then product,
/// then segment, so one style's prefix is reused in a row and one product's orders (the same
/// record for every segment) are in flight together: the engine decodes their common tokens
/// once.
pub fn warm_plan(
    vault: &Vault,
    model: &StoreModel,
    (top, segments): (usize, usize),
    seed: u32,
    now: i64,
) -> Result<Vec<CopyOrder>, ProfileError> {
    let conn = vault.store.conn();
    let mut stats = products::stats_since(conn, i64::MIN)?;
    stats.sort_by(|a, b| b.1.views.cmp(&a.1.views).then_with(|| a.0.cmp(&b.0)));
    let skus: Vec<String> = stats
        .into_iter()
        .filter(|(sku, _)| model.product(sku).is_some())
        .take(top)
        .map(|(sku, _)| sku)
        .collect();
    let mut counts: HashMap<SegmentKey, usize> = HashMap::new();
    for history in all_histories(vault)? {
        let f = recommend::extract(&history, &model.catalog, now, &model.config.features);
        *counts.entry(f.segment()).or_default() += 1;
    }
    let mut common: Vec<(SegmentKey, usize)> =
        counts.into_iter().filter(|(k, _)| !k.is_all()).collect();
    common.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut keys: Vec<SegmentKey> = common.into_iter().take(segments).map(|(k, _)| k).collect();
    keys.push(SegmentKey::all());
    let mut plan = Vec::new();
    for style in Style::ALL {
        for product in skus.iter().filter_map(|sku| model.product(sku)) {
            for segment in &keys {
                plan.push(CopyOrder {
                    product: product.clone(),
                    segment: segment.clone(),
                    brand_fan: false,
                    style,
                    seed,
                });
            }
        }
    }
    Ok(plan)
}

/// Why the shelf cannot serve a request.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("no product with sku {0:?} in the catalog")]
    NoProduct(String),
    #[error("no shopper is enrolled with that loyalty number")]
    NoShopper,
    #[error("the copy cache is off (copy_cache_ttl_secs = 0); nothing to warm")]
    CacheOff,
    #[error("no products to write copy for")]
    NoProducts,
    #[error("this shelf was opened for picks only; it has no copy desk")]
    NoDesk,
    #[error("the language model is not available: {0}")]
    Model(#[source] crate::copy::engine::EngineError),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Bandit(#[from] recommend::BanditError),
    #[error(transparent)]
    Feedback(#[from] crate::feedback::FeedbackError),
    #[error(transparent)]
    Setup(#[from] CopySetupError),
    #[error(transparent)]
    Cache(#[from] crate::copy::cache::CacheError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_segment_keeps_valid_keys() {
        let k = SegmentKey::new("home kitchen", Some(crate::vocab::PriceBand::High));
        assert_eq!(feedback_segment(&k), k);
        assert_eq!(feedback_segment(&SegmentKey::all()), SegmentKey::all());
    }
}
