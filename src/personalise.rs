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
use crate::copy::service::CopyOrder;
use crate::event::{Event, EventKind};
use crate::feedback::Prior;
use crate::profile::{self, OpenShopper, ProfileError, Vault};
use crate::recommend::{
    self, BanditError, CatalogIndex, CoOccurrence, Features, JourneyModel, JourneyPolicy, Pick,
    Popularity, RecommendConfig, SkuStats, StyleBandit, StyleChoice,
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

/// One product the shelf shows a shopper: the recommender's pick, the style to write it in with
/// the probability that style was chosen, the shopper's coarse segment, and whether they buy the
/// product's brand.
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

/// The picking half of the shelf: the style bandit with the fleet's priors. The kiosk screen,
/// `recommend`, and the feedback simulator all pick through it.
#[derive(Debug, Clone)]
pub struct Picker {
    bandit: StyleBandit,
}

impl Picker {
    /// A bandit with `config`'s defaults and the fleet priors stored on this kiosk (unknown
    /// labels are skipped with a warning).
    pub fn new(config: &RecommendConfig, priors: &[Prior]) -> Result<Self, BanditError> {
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
        Ok(Self { bandit })
    }

    /// Up to `n` picks for a shopper with `features`, each with its style.
    pub fn picks<R: rand::Rng + ?Sized>(
        &self,
        model: &StoreModel,
        features: &Features,
        n: usize,
        rng: &mut R,
    ) -> Vec<ShelfPick> {
        let segment = feedback_segment(&features.segment());
        model
            .recommend(features, n)
            .into_iter()
            .map(|pick| {
                let brand = model.product(&pick.sku).and_then(|p| p.brand.as_deref());
                ShelfPick {
                    brand_fan: features.is_fan_of(brand),
                    choice: self.choose(&segment, rng),
                    segment: segment.clone(),
                    pick,
                }
            })
            .collect()
    }

    /// The style for one more product shown to `segment` (a scanned product).
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
/// shopper segments plus `all`, every style, written with `seed`; sorted so one style's prefix is
/// reused in a row.
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
        for segment in &keys {
            for product in skus.iter().filter_map(|sku| model.product(sku)) {
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

/// The kiosk's own picking code as a feedback-simulation source: simulated shoppers are drawn
/// from the imported shoppers' profiles (features only, in memory) and scan one product of their
/// category; the fused recommender picks and the style bandit (with the fleet priors pulled from
/// HQ) chooses each pick's style and records its probability.
pub struct KioskPicks {
    model: StoreModel,
    /// Imported shoppers' features by top department (`""` when unknown).
    profiles: HashMap<String, Vec<Features>>,
    picker: Picker,
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
        let picker = Picker::new(&model.config, &crate::feedback::priors(conn)?)?;
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
            picker,
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
        let picks = self
            .picker
            .picks(&self.model, &features, n, &mut self.rng)
            .into_iter()
            .map(|p| crate::feedback::simulate::Pick {
                sku: p.pick.sku,
                style: p.choice.style,
                style_probability: p.choice.propensity,
                segment: p.segment.to_string(),
                content_kind: "blurb".into(),
            })
            .collect();
        Ok(picks)
    }

    fn observe(&mut self, pick: &crate::feedback::simulate::Pick, tapped: bool) {
        let reward = if tapped { 1.0 } else { 0.0 };
        match pick.segment.parse::<SegmentKey>() {
            Ok(segment) => self.picker.observe(&segment, pick.style, reward),
            Err(e) => tracing::warn!(error = %e, "bandit update skipped"),
        }
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

/// Why a one-off request (`copy`, `recommend`, `copy warm`) cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("no product with sku {0:?} in the catalog")]
    NoProduct(String),
    #[error("no shopper is enrolled with that loyalty number")]
    NoShopper,
    /// Nothing to do, with the reason (cache off, no model, no products).
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Bandit(#[from] recommend::BanditError),
    #[error(transparent)]
    Feedback(#[from] crate::feedback::FeedbackError),
    #[error(transparent)]
    Picks(#[from] PicksError),
    #[error(transparent)]
    Setup(#[from] CopySetupError),
    #[error(transparent)]
    Cache(#[from] copy::cache::CacheError),
}

/// `shelftalk copy`: one product's copy, for a shopper's segment, a given segment or `all`.
#[derive(Debug, Clone)]
pub struct CopyJob {
    pub sku: String,
    /// Write for this shopper's segment (and brand, with `personalise` consent).
    pub loyalty: Option<crate::vocab::LoyaltyNumber>,
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

/// A [`CopyJob`] resolved to its order, with the copy service started.
pub struct PreparedCopy {
    pub order: CopyOrder,
    vault: Vault,
    service: copy::CopyService,
    model_sha: Option<String>,
    prefix_cache: bool,
    ttl: Option<i64>,
}

/// Resolves a [`CopyJob`] the way the kiosk would (segment, brand fan, bandit style) and starts
/// the copy service.
pub fn prepare_copy(config: &Config, job: CopyJob, now: i64) -> Result<PreparedCopy, ServeError> {
    let vault = Vault::open(config)?;
    let conn = vault.store.conn();
    let product =
        products::get(conn, &job.sku)?.ok_or_else(|| ServeError::NoProduct(job.sku.clone()))?;
    let (segment, brand_fan) = match (&job.loyalty, job.segment) {
        (Some(loyalty), _) => {
            let shopper = vault.find(loyalty)?.ok_or(ServeError::NoShopper)?;
            let model = StoreModel::load(&vault, config.recommend.clone(), now)?;
            let features = model.features(&vault, Some(&shopper), &[], now)?;
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
            let picker = Picker::new(&config.recommend, &crate::feedback::priors(conn)?)?;
            let mut rng =
                <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(u64::from(job.seed));
            picker.choose(&segment, &mut rng).style
        }
    };
    let (service, model_sha) = start_copy(config, conn)?;
    Ok(PreparedCopy {
        order: CopyOrder {
            product,
            segment,
            brand_fan,
            style,
            seed: job.seed,
        },
        vault,
        service,
        model_sha,
        prefix_cache: job.prefix_cache,
        ttl: config.copy_cache_ttl().filter(|_| job.use_cache),
    })
}

impl PreparedCopy {
    /// Why the service serves template copy only, if it does.
    pub fn engine_error(&self) -> Option<&str> {
        self.service.engine_error()
    }

    /// Writes the copy through the cache, streaming model tokens through `on_progress`.
    pub fn write(
        &self,
        now: i64,
        on_progress: &mut dyn FnMut(copy::service::CopyProgress<'_>),
    ) -> Result<copy::CopyOutcome, ServeError> {
        let mut request = self.order.request();
        if !self.prefix_cache {
            request = request.with_prefix_cache(false);
        }
        let policy = copy::cache::Policy {
            model_sha256: self.model_sha.as_deref().filter(|_| self.ttl.is_some()),
            ttl_secs: self.ttl.unwrap_or(0),
            now,
        };
        Ok(copy::cache::write_cached(
            self.vault.store.conn(),
            &self.service,
            &policy,
            &request,
            on_progress,
        )?)
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
    loyalty: Option<&crate::vocab::LoyaltyNumber>,
    scans: &[String],
    n: usize,
    now: i64,
) -> Result<Recommendation, ServeError> {
    let vault = Vault::open(config)?;
    let model = StoreModel::load(&vault, config.recommend.clone(), now)?;
    let picker = Picker::new(
        &config.recommend,
        &crate::feedback::priors(vault.store.conn())?,
    )?;
    let shopper = match loyalty {
        Some(l) => Some(vault.find(l)?.ok_or(ServeError::NoShopper)?),
        None => None,
    };
    let personalised = shopper
        .as_ref()
        .is_some_and(|s| s.record.consent.personalise);
    let features = model.features(&vault, shopper.as_ref(), scans, now)?;
    let mut rng = rand::make_rng::<rand::rngs::StdRng>();
    let picks = picker
        .picks(&model, &features, n, &mut rng)
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

/// `copy warm`: the plan ([`warm_plan`]) with the copy service started.
pub struct WarmJob {
    pub plan: Vec<CopyOrder>,
    vault: Vault,
    service: copy::CopyService,
    model_sha: String,
    ttl_secs: i64,
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
    let Some(ttl_secs) = config.copy_cache_ttl() else {
        return Err(ServeError::Unavailable(
            "the copy cache is off (copy_cache_ttl_secs = 0); nothing to warm".into(),
        ));
    };
    let top = top.unwrap_or(config.copy_warm_top as usize);
    let segments = segments.unwrap_or(config.copy_warm_segments as usize);
    let vault = Vault::open(config)?;
    let model = StoreModel::load(&vault, config.recommend.clone(), now)?;
    let plan = warm_plan(&vault, &model, (top, segments), seed, now)?;
    let (service, model_sha) = start_copy(config, vault.store.conn())?;
    let Some(model_sha) = model_sha else {
        return Err(ServeError::Unavailable(format!(
            "the language model is not available ({}); nothing to warm",
            service.engine_error().unwrap_or("unknown error")
        )));
    };
    Ok(WarmJob {
        plan,
        vault,
        service,
        model_sha,
        ttl_secs,
    })
}

impl WarmJob {
    /// Writes every planned order through the cache; `on_each` after each (progress bars).
    pub fn run(
        &self,
        now: i64,
        on_each: &mut dyn FnMut(),
    ) -> Result<copy::cache::WarmReport, ServeError> {
        let policy = copy::cache::Policy {
            model_sha256: Some(&self.model_sha),
            ttl_secs: self.ttl_secs,
            now,
        };
        Ok(copy::cache::warm(
            self.vault.store.conn(),
            &self.service,
            &policy,
            &self.plan,
            on_each,
        )?)
    }
}

/// `feedback simulate`: synthetic shoppers picked by the kiosk's own recommender and style
/// bandit, recorded through the kiosk's recording path.
pub fn simulate_feedback(
    config: &Config,
    conn: &mut rusqlite::Connection,
    opts: &crate::feedback::simulate::SimOptions,
) -> Result<crate::feedback::simulate::SimReport, ServeError> {
    let vault = Vault::open(config)?;
    let model = StoreModel::load(&vault, config.recommend.clone(), opts.now)?;
    let mut source = KioskPicks::new(model, &vault, opts.seed, opts.now)?;
    drop(vault);
    let categories = source.categories();
    Ok(crate::feedback::simulate::run(
        conn,
        &mut source,
        &categories,
        opts,
    )?)
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

    #[test]
    fn the_store_currency_symbol_stays_sampleable() {
        let mut config = Config::default();
        config.engine.suppressed_chars = "$€£₹".into();
        config.currency.symbol = "₹".into();
        assert_eq!(engine_config(&config).suppressed_chars, "$€£");
    }
}
