//! The one-shot commands on the kiosk's shelf: `recommend`, `copy`, `copy warm` and
//! `feedback simulate`. Each opens a [`Shelf`] with the effective config and asks it what the
//! kiosk screen would: no command has a picking or writing path of its own.
//!
//! Invariants:
//! - A loyalty number is looked up through the vault (HMAC token); it never reaches a prompt, a
//!   copy order or an output.
//! - A shopper's history shapes picks and the brand-fan flag only with `personalise` consent.

use std::collections::HashMap;
use std::sync::Arc;

use super::{all_histories, warm_plan, CopyDesk, ServeError, Shelf, StoreModel};
use crate::config::Config;
use crate::copy::{self, service::CopyOrder};
use crate::profile::Vault;
use crate::recommend::{self, Features};
use crate::store::catalog as products;
use crate::vocab::{LoyaltyNumber, SegmentKey, Style};

/// `shelftalk copy`: one product's copy, for a shopper's segment, a given segment or `all`.
#[derive(Debug, Clone)]
pub struct CopyJob {
    pub sku: String,
    /// Write for this shopper's segment (and brand, with `personalise` consent).
    pub loyalty: Option<LoyaltyNumber>,
    /// Write for this segment (exclusive with `loyalty`); default `all`.
    pub segment: Option<SegmentKey>,
    /// Default: chosen by the style bandit, seeded with `seed`.
    pub style: Option<Style>,
    pub seed: u32,
    /// Reuse the style's cached prompt prefix.
    pub prefix_cache: bool,
    /// Read and write the copy cache.
    pub use_cache: bool,
}

/// A [`CopyJob`] resolved to its order on an open shelf.
pub struct PreparedCopy {
    pub order: CopyOrder,
    vault: Vault,
    shelf: Shelf,
    prefix_cache: bool,
}

/// Resolves a [`CopyJob`] the way the kiosk would (segment, brand fan, bandit style) and opens
/// the shelf with its copy desk.
pub fn prepare_copy(config: &Config, job: CopyJob, now: i64) -> Result<PreparedCopy, ServeError> {
    let vault = Vault::open(config)?;
    let conn = vault.store.conn();
    let product =
        products::get(conn, &job.sku)?.ok_or_else(|| ServeError::NoProduct(job.sku.clone()))?;
    let mut desk = CopyDesk::open(config, conn)?;
    if !job.use_cache {
        desk = desk.without_cache();
    }
    let shelf = Shelf::load(&vault, &config.recommend, now)?.with_desk(Arc::new(desk));
    let (segment, brand_fan) = match (&job.loyalty, job.segment) {
        (Some(loyalty), _) => {
            let shopper = vault.find(loyalty)?.ok_or(ServeError::NoShopper)?;
            let features = shelf.model().features(&vault, Some(&shopper), &[], now)?;
            let fan =
                shopper.record.consent.personalise && features.is_fan_of(product.brand.as_deref());
            (features.segment(), fan)
        }
        (None, Some(key)) => (key, false),
        (None, None) => (SegmentKey::all(), false),
    };
    let style = match job.style {
        Some(style) => style,
        None => {
            let mut rng =
                <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(u64::from(job.seed));
            shelf.choose(&segment, &mut rng).style
        }
    };
    Ok(PreparedCopy {
        order: CopyOrder {
            product,
            segment,
            brand_fan,
            style,
            seed: job.seed,
        },
        vault,
        shelf,
        prefix_cache: job.prefix_cache,
    })
}

impl PreparedCopy {
    /// Why the copy is template-only, if the model did not load.
    pub fn engine_error(&self) -> Option<&copy::engine::EngineError> {
        self.shelf.desk().and_then(|d| d.load_error())
    }

    /// Writes the copy through the shelf (and the copy cache), streaming model tokens through
    /// `on_progress`.
    pub fn write(
        &self,
        now: i64,
        on_progress: &mut dyn FnMut(copy::service::CopyProgress<'_>),
    ) -> Result<copy::CopyOutcome, ServeError> {
        let prefix_cache = (!self.prefix_cache).then_some(false);
        self.shelf.copy(
            Some(self.vault.store.conn()),
            &self.order,
            prefix_cache,
            now,
            on_progress,
        )
    }
}

/// `shelftalk recommend`: the shopper's (or an anonymous visitor's) shelf, as the kiosk picks it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Recommendation {
    pub segment: SegmentKey,
    pub personalised: bool,
    pub picks: Vec<PickView>,
}

/// One pick with its product's display facts, explanation and style.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PickView {
    pub sku: String,
    pub name: Option<String>,
    pub brand: Option<String>,
    pub price: Option<String>,
    pub score: f64,
    pub reason: String,
    pub reasons: Vec<recommend::Reason>,
    pub contributions: Vec<recommend::Contribution>,
    pub style: Style,
    pub style_probability: f64,
    pub brand_fan: bool,
}

/// The kiosk's own configuration and path: the same picks as the screen for this shopper (or
/// an anonymous visitor who scanned `scans`).
pub fn recommend_for(
    config: &Config,
    loyalty: Option<&LoyaltyNumber>,
    scans: &[String],
    n: usize,
    now: i64,
) -> Result<Recommendation, ServeError> {
    let vault = Vault::open(config)?;
    let shelf = Shelf::load(&vault, &config.recommend, now)?;
    let shopper = match loyalty {
        Some(l) => Some(vault.find(l)?.ok_or(ServeError::NoShopper)?),
        None => None,
    };
    let personalised = shopper
        .as_ref()
        .is_some_and(|s| s.record.consent.personalise);
    let model = shelf.model();
    let features = model.features(&vault, shopper.as_ref(), scans, now)?;
    let mut rng = rand::make_rng::<rand::rngs::StdRng>();
    let picks = shelf
        .picks(&features, n, &mut rng)
        .into_iter()
        .map(|s| {
            let product = model.product(&s.pick.sku);
            PickView {
                name: product.map(|p| p.name.clone()),
                brand: product.and_then(|p| p.brand.clone()),
                price: product.map(|p| p.price.display()),
                sku: s.pick.sku,
                score: s.pick.score,
                reason: s.pick.display_reason,
                reasons: s.pick.reasons,
                contributions: s.pick.contributions,
                style: s.choice.style,
                style_probability: s.choice.propensity,
                brand_fan: s.brand_fan,
            }
        })
        .collect();
    Ok(Recommendation {
        segment: features.segment(),
        personalised,
        picks,
    })
}

/// `copy warm`: the plan ([`warm_plan`]) on a desk whose model loaded.
pub struct WarmJob {
    pub plan: Vec<CopyOrder>,
    vault: Vault,
    desk: CopyDesk,
}

/// Plans a cache warm-up of the `top` most viewed products × the `segments` most common
/// segments (config defaults when `None`), written with `seed`; refuses when the cache is off or
/// no model loads.
pub fn warm_job(
    config: &Config,
    (top, segments): (Option<usize>, Option<usize>),
    seed: u32,
    now: i64,
) -> Result<WarmJob, ServeError> {
    if config.copy_cache_ttl().is_none() {
        return Err(ServeError::CacheOff);
    }
    let top = top.unwrap_or(config.copy_warm_top as usize);
    let segments = segments.unwrap_or(config.copy_warm_segments as usize);
    let vault = Vault::open(config)?;
    let model = StoreModel::load(&vault, config.recommend.clone(), now)?;
    let plan = warm_plan(&vault, &model, (top, segments), seed, now)?;
    // The warm-up's own engine: `engine.warm_parallel` blurbs decoded together.
    let mut warm_config = config.clone();
    warm_config.engine = config.engine.for_warm_up();
    let desk = CopyDesk::open(&warm_config, vault.store.conn())?
        .require_model()
        .map_err(ServeError::Model)?;
    Ok(WarmJob { plan, vault, desk })
}

impl WarmJob {
    /// Writes every planned order through the cache; `on_each` after each (progress bars).
    pub fn run(
        &self,
        now: i64,
        on_each: &mut dyn FnMut(),
    ) -> Result<copy::cache::WarmReport, ServeError> {
        Ok(self
            .desk
            .warm(self.vault.store.conn(), &self.plan, now, on_each)?)
    }
}

/// The kiosk's own shelf as a feedback-simulation source: simulated shoppers are drawn from the
/// imported shoppers' profiles (features only, in memory) and scan one product of their
/// category; the shelf picks and its style bandit (with the fleet priors pulled from HQ) chooses
/// each pick's style and records its probability.
pub struct KioskPicks {
    shelf: Shelf,
    /// Imported shoppers' features by top department (`""` when unknown).
    profiles: HashMap<String, Vec<Features>>,
    rng: rand::rngs::StdRng,
    by_category: HashMap<String, Vec<String>>,
}

impl KioskPicks {
    /// Picks from `shelf`, with simulated shoppers drawn from the vault's imported shoppers.
    pub fn new(shelf: Shelf, vault: &Vault, seed: u64, now: i64) -> Result<Self, ServeError> {
        let model = Arc::clone(shelf.model());
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
        let mut by_category: HashMap<String, Vec<String>> = HashMap::new();
        for p in model.catalog.products() {
            by_category
                .entry(p.top_category().to_string())
                .or_default()
                .push(p.sku.clone());
        }
        Ok(Self {
            shelf,
            profiles,
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
        let model = self.shelf.model();
        let features = match profile {
            // The holdout: the store's favourites, nothing of the shopper.
            _ if ctx.holdout => Features::default(),
            Some(mut f) => {
                model.observe_scans(&mut f, &scanned, ctx.at);
                f
            }
            None => model.visit_features(&scanned, ctx.at),
        };
        let picks = self
            .shelf
            .picks(&features, n, &mut self.rng)
            .into_iter()
            .map(|p| crate::feedback::simulate::Pick {
                sku: p.pick.sku,
                style: p.choice.style,
                style_probability: p.choice.propensity,
                segment: p.segment.to_string(),
                content_kind: crate::feedback::simulate::content_kind(ctx).into(),
            })
            .collect();
        Ok(picks)
    }

    fn observe(&mut self, pick: &crate::feedback::simulate::Pick, tapped: bool) {
        let reward = if tapped { 1.0 } else { 0.0 };
        match pick.segment.parse::<SegmentKey>() {
            Ok(segment) => self.shelf.observe(&segment, pick.style, reward),
            Err(e) => tracing::warn!(error = %e, "bandit update skipped"),
        }
    }
}

/// `feedback simulate`: synthetic shoppers picked by the kiosk's own shelf, recorded through the
/// kiosk's recording path.
pub fn simulate_feedback(
    config: &Config,
    conn: &mut rusqlite::Connection,
    opts: &crate::feedback::simulate::SimOptions,
) -> Result<crate::feedback::simulate::SimReport, ServeError> {
    let vault = Vault::open(config)?;
    let shelf = Shelf::load(&vault, &config.recommend, opts.now)?;
    let mut source = KioskPicks::new(shelf, &vault, opts.seed, opts.now)?;
    drop(vault);
    let categories = source.categories();
    Ok(crate::feedback::simulate::run(
        conn,
        &mut source,
        &categories,
        opts,
    )?)
}
