//! The shelf: the one service that decides what a shopper is shown and how it is written. It owns
//! the store models ([`StoreModel`]), the style bandit with the fleet's priors, and the copy
//! desk ([`CopyDesk`]). It answers [`Shelf::picks`] (products, each with its style, the style's
//! propensity, the shopper's coarse segment and the reasons) and [`Shelf::copy`] (a pick's copy,
//! streamed). The kiosk daemon, `recommend`, `copy`, `copy warm`, `feedback simulate`, the health
//! gate and `bench copy` all go through it, with the effective `[recommend]` config.
//!
//! Invariants:
//! - A pick becomes a copy order in one place ([`ShelfPick::order`]); the order carries only the
//!   coarse segment and the brand-fan flag, never anything that identifies the shopper.
//! - The segment a pick carries is one HQ accepts as a feedback label ([`feedback_segment`]), so
//!   the bandit learns and reports under the same key.
//! - A refit ([`Shelf::set_model`]) replaces the store models and keeps what the bandit learnt.
//! - A shelf opened for picks only (`recommend`, `feedback simulate`) has no desk;
//!   [`Shelf::copy`] then says so instead of writing anything.

use std::sync::Arc;

use rusqlite::Connection;

use super::{feedback_segment, CopyDesk, ServeError, StoreModel};
use crate::catalog::Product;
use crate::copy::service::{CopyOrder, CopyOutcome, CopyProgress};
use crate::feedback::Prior;
use crate::profile::Vault;
use crate::recommend::{BanditError, Features, Pick, RecommendConfig, StyleBandit, StyleChoice};
use crate::vocab::{SegmentKey, Style};

/// One product the shelf shows a shopper: the recommender's pick (with its reasons), the style
/// to write it in with the probability that style was chosen, the shopper's coarse segment, and
/// whether they buy the product's brand.
#[derive(Debug, Clone, PartialEq)]
pub struct ShelfPick {
    pub pick: Pick,
    pub choice: StyleChoice,
    pub segment: SegmentKey,
    pub brand_fan: bool,
}

impl ShelfPick {
    /// The copy order for this pick (the one place a pick becomes a copy request).
    pub fn order(&self, product: &Product, seed: u32) -> CopyOrder {
        CopyOrder {
            product: product.clone(),
            segment: self.segment.clone(),
            brand_fan: self.brand_fan,
            style: self.choice.style,
            seed,
        }
    }
}

/// The store models, the style bandit with its priors, and the copy desk.
#[derive(Debug)]
pub struct Shelf {
    model: Arc<StoreModel>,
    bandit: StyleBandit,
    desk: Option<Arc<CopyDesk>>,
}

impl Shelf {
    /// A shelf over `model` with a bandit on the model's config and the fleet `priors` (unknown
    /// labels are skipped with a warning); picks only until [`Shelf::with_desk`].
    pub fn new(model: Arc<StoreModel>, priors: &[Prior]) -> Result<Self, BanditError> {
        let bandit = bandit(&model.config, priors)?;
        Ok(Self {
            model,
            bandit,
            desk: None,
        })
    }

    /// Loads the store models with `config` and the fleet priors stored on this kiosk.
    pub fn load(vault: &Vault, config: &RecommendConfig, now: i64) -> Result<Self, ServeError> {
        let model = StoreModel::load(vault, config.clone(), now)?;
        let priors = crate::feedback::priors(vault.store.conn())?;
        Ok(Self::new(Arc::new(model), &priors)?)
    }

    /// The same shelf writing copy at `desk`.
    pub fn with_desk(mut self, desk: Arc<CopyDesk>) -> Self {
        self.desk = Some(desk);
        self
    }

    /// The store models in use.
    pub fn model(&self) -> &Arc<StoreModel> {
        &self.model
    }

    /// Replaces the store models (a refit after an import); the bandit keeps what it learnt.
    pub fn set_model(&mut self, model: Arc<StoreModel>) {
        self.model = model;
    }

    /// The copy desk, if this shelf writes copy.
    pub fn desk(&self) -> Option<&Arc<CopyDesk>> {
        self.desk.as_ref()
    }

    /// Up to `n` picks for a shopper with `features`, each with its style.
    pub fn picks<R: rand::Rng + ?Sized>(
        &self,
        features: &Features,
        n: usize,
        rng: &mut R,
    ) -> Vec<ShelfPick> {
        self.picks_with(features, n, &self.model.config, rng)
    }

    /// [`Shelf::picks`] ranked with `config` instead of the store model's own (an experiment
    /// arm's weights, the holdout's popularity: `experiment::ExperimentConfig::recommend_config`).
    pub fn picks_with<R: rand::Rng + ?Sized>(
        &self,
        features: &Features,
        n: usize,
        config: &RecommendConfig,
        rng: &mut R,
    ) -> Vec<ShelfPick> {
        let segment = feedback_segment(&features.segment());
        self.model
            .recommend_with(features, n, config)
            .into_iter()
            .map(|pick| {
                let brand = self
                    .model
                    .product(&pick.sku)
                    .and_then(|p| p.brand.as_deref());
                ShelfPick {
                    brand_fan: features.is_fan_of(brand),
                    choice: self.choose(&segment, rng),
                    segment: segment.clone(),
                    pick,
                }
            })
            .collect()
    }

    /// The style for one more product shown to `segment` (a scanned product, `copy`).
    pub fn choose<R: rand::Rng + ?Sized>(&self, segment: &SegmentKey, rng: &mut R) -> StyleChoice {
        self.bandit.select(segment, rng).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "bandit failed; concise style");
            StyleChoice {
                style: Style::Concise,
                propensity: 1.0,
            }
        })
    }

    /// Feeds the outcome of a shown style back (reward 1 for a tap, 0 for none).
    pub fn observe(&mut self, segment: &SegmentKey, style: Style, reward: f64) {
        if let Err(e) = self.bandit.update(segment, style, reward) {
            tracing::warn!(error = %e, "bandit update skipped");
        }
    }

    /// The copy order for `pick`, if its product is in the catalog.
    pub fn order(&self, pick: &ShelfPick, seed: u32) -> Option<CopyOrder> {
        Some(pick.order(self.model.product(&pick.pick.sku)?, seed))
    }

    /// Writes `order`'s copy at the desk (through the copy cache in `cache` when the desk
    /// caches), streaming model tokens through `on_progress`. `prefix_cache` forces the
    /// engine's prefix cache on or off.
    pub fn copy(
        &self,
        cache: Option<&Connection>,
        order: &CopyOrder,
        prefix_cache: Option<bool>,
        now: i64,
        on_progress: &mut dyn FnMut(CopyProgress<'_>),
    ) -> Result<CopyOutcome, ServeError> {
        let desk = self.desk.as_ref().ok_or(ServeError::NoDesk)?;
        Ok(match cache {
            Some(conn) => desk.write(conn, order, prefix_cache, now, on_progress)?,
            None => desk.write_uncached(order, prefix_cache, on_progress),
        })
    }
}

/// A bandit with `config`'s defaults and the fleet priors (unknown labels skipped).
fn bandit(config: &RecommendConfig, priors: &[Prior]) -> Result<StyleBandit, BanditError> {
    let mut bandit = StyleBandit::new(config.bandit.clone())?;
    for p in priors {
        let Some((segment, style)) = p.typed() else {
            tracing::warn!(segment = %p.segment, style = %p.style, "fleet prior skipped: unknown label");
            continue;
        };
        if let Err(e) = bandit.set_prior(&segment, style, p.alpha, p.beta) {
            tracing::warn!(error = %e, "fleet prior skipped");
        }
    }
    Ok(bandit)
}
