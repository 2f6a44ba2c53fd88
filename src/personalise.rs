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
use crate::config::Config;
use crate::content;
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
        let key = profile::unwrap_key(&vault.keys, &record)?;
        let shopper = OpenShopper { record, key };
        out.push(profile::open_events(conn, &shopper)?);
    }
    Ok(out)
}

/// The copy engine's view of a coarse segment key (`"footwear/mid"`, `"all"`): the prompt is
/// built from the key alone, so cached copy depends on nothing finer than the key and never
/// carries one shopper's preferences to another.
pub fn copy_segment(key: &str) -> copy::Segment {
    let (dept, band) = key.split_once('/').unwrap_or((key, "any"));
    let interests = match dept {
        "" | "all" => Vec::new(),
        d => vec![d.replace(['-', '_'], " ")],
    };
    copy::Segment {
        interests,
        preferred_brands: Vec::new(),
        price_band: match band {
            "low" => copy::PriceBand::Low,
            "high" => copy::PriceBand::High,
            _ => copy::PriceBand::Mid,
        },
    }
}

/// What `copy warm` generates: the `top` most viewed products × the `segments` most common
/// shopper segments plus `all`, every style; sorted so one style's prefix is reused in a row.
pub fn warm_plan(
    vault: &Vault,
    model: &StoreModel,
    top: usize,
    segments: usize,
    now: i64,
) -> Result<Vec<(String, String, copy::Style)>, ProfileError> {
    let conn = vault.store.conn();
    let mut stats = products::stats_since(conn, i64::MIN)?;
    stats.sort_by(|a, b| b.1.views.cmp(&a.1.views).then_with(|| a.0.cmp(&b.0)));
    let skus: Vec<String> = stats
        .into_iter()
        .filter(|(sku, _)| model.product(sku).is_some())
        .take(top)
        .map(|(sku, _)| sku)
        .collect();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for history in all_histories(vault)? {
        let f = recommend::extract(&history, &model.catalog, now, &model.config.features);
        *counts.entry(f.segment().key().to_string()).or_default() += 1;
    }
    let mut common: Vec<(String, usize)> = counts.into_iter().filter(|(k, _)| k != "all").collect();
    common.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut keys: Vec<String> = common.into_iter().take(segments).map(|(k, _)| k).collect();
    keys.push("all".to_string());
    let mut plan = Vec::new();
    for style in copy::Style::ALL {
        for key in &keys {
            for sku in &skus {
                plan.push((sku.clone(), key.clone(), style));
            }
        }
    }
    Ok(plan)
}

/// The kiosk's own picking code as a feedback-simulation source: simulated shoppers are drawn
/// from the imported shoppers' profiles (features only, in memory) and scan one product of their
/// category; the fused recommender picks and the style bandit (with the fleet priors pulled from
/// HQ) chooses each pick's style and records its probability.
pub struct KioskPicks {
    model: StoreModel,
    /// Imported shoppers' features by top department (`""` when unknown).
    profiles: HashMap<String, Vec<Features>>,
    bandit: recommend::StyleBandit,
    rng: rand::rngs::StdRng,
    by_category: HashMap<String, Vec<String>>,
}

impl KioskPicks {
    pub fn new(model: StoreModel, vault: &Vault, seed: u64, now: i64) -> Result<Self, PicksError> {
        let conn = vault.store.conn();
        let mut profiles: HashMap<String, Vec<Features>> = HashMap::new();
        for history in all_histories(vault)? {
            let f = recommend::extract(&history, &model.catalog, now, &model.config.features);
            let dept = f
                .departments
                .iter()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(d, _)| d.clone())
                .unwrap_or_default();
            profiles.entry(dept).or_default().push(f);
        }
        let mut bandit = recommend::StyleBandit::new(model.config.bandit.clone())?;
        for p in crate::feedback::priors(conn)? {
            bandit.set_prior(&p.segment, &p.style, p.alpha, p.beta)?;
        }
        let mut by_category: HashMap<String, Vec<String>> = HashMap::new();
        for p in model.catalog.products() {
            by_category
                .entry(p.top_category().to_string())
                .or_default()
                .push(p.sku.clone());
        }
        Ok(Self {
            model,
            profiles,
            bandit,
            rng: rand::SeedableRng::seed_from_u64(seed),
            by_category,
        })
    }

    /// Top-level categories with their product counts (the simulation's shopper mix).
    pub fn categories(&self) -> Vec<(String, usize)> {
        let mut v: Vec<(String, usize)> = self
            .by_category
            .iter()
            .map(|(k, skus)| (k.clone(), skus.len()))
            .collect();
        v.sort();
        v
    }
}

/// Why the kiosk's pick source could not be built or used.
#[derive(Debug, thiserror::Error)]
pub enum PicksError {
    #[error(transparent)]
    Bandit(#[from] recommend::BanditError),
    #[error(transparent)]
    Feedback(#[from] crate::feedback::FeedbackError),
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

impl crate::feedback::simulate::PickSource for KioskPicks {
    fn picks(
        &mut self,
        _conn: &rusqlite::Connection,
        ctx: &crate::feedback::simulate::PickContext<'_>,
        n: usize,
    ) -> Result<Vec<crate::feedback::simulate::Pick>, crate::feedback::FeedbackError> {
        use rand::seq::IndexedRandom;
        let scanned: Vec<String> = ctx
            .category
            .and_then(|c| self.by_category.get(c))
            .and_then(|skus| skus.choose(&mut self.rng))
            .cloned()
            .into_iter()
            .collect();
        // An imported shopper of this category when there is one, else an anonymous visitor.
        let profile = ctx
            .category
            .and_then(|c| {
                self.profiles
                    .get(&c.to_lowercase())
                    .or_else(|| self.profiles.get(c))
            })
            .and_then(|v| v.choose(&mut self.rng))
            .cloned();
        let features = match profile {
            Some(mut f) => {
                self.model.observe_scans(&mut f, &scanned, ctx.at);
                f
            }
            None => self.model.visit_features(&scanned, ctx.at),
        };
        let segment = features.segment().key().to_string();
        let mut out = Vec::new();
        for pick in self.model.recommend(&features, n) {
            let choice = self
                .bandit
                .select(&segment, &mut self.rng)
                .map_err(|e| invalid(e.to_string()))?;
            let style = choice
                .style
                .parse()
                .map_err(|e: copy::prompt::PromptError| invalid(e.to_string()))?;
            out.push(crate::feedback::simulate::Pick {
                sku: pick.sku,
                style,
                style_probability: choice.propensity,
                segment: segment.clone(),
                content_kind: "blurb".into(),
            });
        }
        Ok(out)
    }

    fn observe(&mut self, pick: &crate::feedback::simulate::Pick, tapped: bool) {
        let reward = if tapped { 1.0 } else { 0.0 };
        if let Err(e) = self
            .bandit
            .update(&pick.segment, pick.style.as_str(), reward)
        {
            tracing::warn!(error = %e, "bandit update skipped");
        }
    }
}

fn invalid(reason: String) -> crate::feedback::FeedbackError {
    crate::feedback::FeedbackError::Invalid {
        field: "pick",
        reason,
    }
}

/// Starts the copy service the way the kiosk runs it: the active content (model, manifest and
/// prompt pack, [`crate::content`]), the config's engine, currency and guardrails, and the
/// catalog's brands for the brand check. Returns the service and the sha256 of the model it
/// loaded (the copy cache's key), `None` when it serves templates only.
pub fn start_copy(
    config: &Config,
    conn: &rusqlite::Connection,
) -> Result<(copy::CopyService, Option<String>), CopySetupError> {
    start_copy_with(config, conn, &content::active(config)?)
}

/// [`start_copy`] with the given content (an update candidate under check).
pub fn start_copy_with(
    config: &Config,
    conn: &rusqlite::Connection,
    content: &content::Content,
) -> Result<(copy::CopyService, Option<String>), CopySetupError> {
    let brands = copy::BrandList::new(products::brands(conn)?);
    let service = copy::CopyService::start(
        &content.model_path,
        &content.manifest,
        engine_config(config),
        &content.pack,
        &config.currency,
        brands,
        config.guardrails.clone(),
    );
    let sha = service.engine().map(|_| content.manifest.sha256.clone());
    Ok((service, sha))
}

/// The config's engine settings, except that the store's own currency symbol stays sampleable
/// (the engine suppresses currency symbols the guardrails would reject anyway).
pub fn engine_config(config: &Config) -> copy::EngineConfig {
    let mut engine = config.engine.clone();
    engine
        .suppressed_chars
        .retain(|c| !config.currency.symbol.contains(c));
    engine
}

#[derive(Debug, thiserror::Error)]
pub enum CopySetupError {
    #[error(transparent)]
    Content(#[from] content::ContentError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_segment_comes_from_the_key_only() {
        let s = copy_segment("home-kitchen/high");
        assert_eq!(s.interests, vec!["home kitchen"]);
        assert!(s.preferred_brands.is_empty());
        assert_eq!(s.price_band, copy::PriceBand::High);
        let all = copy_segment("all");
        assert!(all.interests.is_empty());
        assert_eq!(all.price_band, copy::PriceBand::Mid);
    }

    #[test]
    fn the_store_currency_symbol_stays_sampleable() {
        let mut config = Config::default();
        config.engine.suppressed_chars = "$€£₹".into();
        config.currency.symbol = "₹".into();
        assert_eq!(engine_config(&config).suppressed_chars, "$€£");
    }
}
