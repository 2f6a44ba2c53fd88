//! Composition of the store and the pure recommender: loads the store-level models once
//! (catalog index, this week's popularity, co-occurrence and the journey MDP fitted from the
//! shoppers' sessions), computes one shopper's features from their sealed events, ranks, and maps
//! the recommender's segment to the copy engine's.
//!
//! Invariants:
//! - Store-level models are fitted in memory from opened events and hold no shopper identifier:
//!   sessions are grouped by an opaque per-load index, never by loyalty token or shopper id.
//! - A shopper without `personalise` consent gets an anonymous profile: only this visit's scans.

use std::collections::HashMap;

use crate::catalog::Product;
use crate::copy;
use crate::event::{Event, EventKind};
use crate::profile::{self, OpenShopper, ProfileError, Vault};
use crate::recommend::{
    self, CatalogIndex, CoOccurrence, Features, JourneyModel, JourneyPolicy, Pick, Popularity,
    RecommendConfig, SkuStats,
};
use crate::store::{catalog as products, shoppers};

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
        let mut stats: HashMap<String, SkuStats> = products::stats_since(conn, since_day)?
            .into_iter()
            .map(|(sku, s)| {
                (
                    sku,
                    SkuStats {
                        views: s.views,
                        carts: s.carts,
                        purchases: s.purchases,
                    },
                )
            })
            .collect();
        if stats.is_empty() {
            // Imported history older than a week: fall back to all time rather than nothing.
            stats = products::stats_since(conn, i64::MIN)?
                .into_iter()
                .map(|(sku, s)| {
                    (
                        sku,
                        SkuStats {
                            views: s.views,
                            carts: s.carts,
                            purchases: s.purchases,
                        },
                    )
                })
                .collect();
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
        if !scanned.is_empty() {
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
        Ok(features)
    }

    /// Up to `n` explained picks.
    pub fn recommend(&self, features: &Features, n: usize) -> Vec<Pick> {
        recommend::recommend(
            &recommend::Inputs {
                catalog: &self.catalog,
                features,
                popularity: &self.popularity,
                co_occurrence: &self.co_occurrence,
                journey: self.journey.as_ref(),
                config: &self.config,
            },
            n,
        )
    }

    pub fn product(&self, sku: &str) -> Option<&Product> {
        self.catalog.get(sku)
    }
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
        let key = profile::unwrap_key(&vault.keys, &record)?;
        let shopper = OpenShopper { record, key };
        out.push(profile::open_events(conn, &shopper)?);
    }
    Ok(out)
}

/// The copy engine's view of a recommender segment: only coarse interests, brands and band.
pub fn copy_segment(segment: &recommend::Segment) -> copy::Segment {
    copy::Segment {
        interests: segment.interests.clone(),
        preferred_brands: segment.brands.clone(),
        price_band: match segment.price_band {
            Some(recommend::PriceBand::Low) => copy::PriceBand::Low,
            Some(recommend::PriceBand::High) => copy::PriceBand::High,
            _ => copy::PriceBand::Mid,
        },
    }
}
