//! The copy desk: the copy service serving now (a loaded model, or templates until one loads)
//! with the copy-cache policy. Every caller that writes copy — the kiosk's copy worker, `copy`,
//! `copy warm`, `selftest`, `update`'s check and `bench copy` — writes it through
//! [`CopyDesk::write`], or for several orders at once (a session's picks, a warm-up plan) through
//! [`CopyDesk::write_together`], which takes the same two cache steps ([`cache::lookup`], then
//! [`cache::keep`]) around model writes run several at once; the cache is only touched on the
//! caller's thread.
//!
//! Invariants:
//! - Templates are always at hand ([`CopyDesk::template`]): the screen never waits for a model.
//! - Copy is cached only when a model serves and the cache is on (`copy_cache_ttl_secs > 0`), keyed
//!   by that model's sha256 through [`crate::copy::cache`]; a hit is re-checked against the
//!   product's current facts there.
//! - A model is switched in whole ([`CopyDesk::serve`]); a request runs start to end on the model
//!   it started with.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use rusqlite::Connection;

use crate::config::Config;
use crate::content::{self, Content};
use crate::copy::cache::{self, CacheError, Lookup, Policy, WarmReport};
use crate::copy::engine::EngineError;
use crate::copy::service::{CopyOrder, CopyOutcome, CopyProgress, Withdrawn};
use crate::copy::{self as copywriting, BrandList, CopyService, CopySource, EngineHandle};
use crate::store::catalog as products;

/// A language model loaded for copy, with the content it came from.
#[derive(Debug)]
pub struct LoadedModel {
    pub service: CopyService,
    pub name: String,
    pub sha256: String,
    /// The content generation ([`crate::content`]) it was loaded from.
    pub generation: u64,
}

impl LoadedModel {
    /// Verifies and loads `content`'s model with the config's engine, currency and guardrails.
    pub fn load(
        config: &Config,
        brands: BrandList,
        content: &Content,
    ) -> Result<Self, EngineError> {
        let engine = EngineHandle::start(
            &content.model_path,
            &content.manifest,
            engine_config(config),
        )?;
        let service = CopyService::new(
            Ok(engine),
            &content.pack,
            &config.currency,
            brands,
            config.guardrails.clone(),
        );
        Ok(Self {
            service,
            name: content.manifest.name.clone(),
            sha256: content.manifest.sha256.clone(),
            generation: content.generation,
        })
    }
}

/// Templates, the model serving now (if any), and the cache policy.
#[derive(Debug)]
pub struct CopyDesk {
    templates: CopyService,
    serving: Mutex<Option<Arc<LoadedModel>>>,
    /// Cache entry lifetime; `None`: the cache is off.
    ttl_secs: Option<i64>,
    /// Why the model given at construction did not load (one-shot desks only).
    load_error: Option<EngineError>,
}

impl CopyDesk {
    /// A desk serving templates until a model is switched in with [`CopyDesk::serve`] (the
    /// kiosk loads its model in the background).
    pub fn templates(config: &Config, content: &Content, brands: BrandList) -> Self {
        Self {
            templates: CopyService::new(
                Err(EngineError::Loading),
                &content.pack,
                &config.currency,
                brands,
                config.guardrails.clone(),
            ),
            serving: Mutex::new(None),
            ttl_secs: config.copy_cache_ttl(),
            load_error: None,
        }
    }

    /// A desk with `content`'s model loaded now, on the calling thread; when it does not load
    /// the desk serves templates and [`CopyDesk::load_error`] says why.
    pub fn load(config: &Config, content: &Content, brands: BrandList) -> Self {
        let mut desk = Self::templates(config, content, brands.clone());
        match LoadedModel::load(config, brands, content) {
            Ok(model) => desk.serve(Arc::new(model)),
            Err(e) => desk.load_error = Some(e),
        }
        desk
    }

    /// [`CopyDesk::load`] with the active content and this store's catalog brands (for the
    /// brand check).
    pub fn open(config: &Config, conn: &Connection) -> Result<Self, CopySetupError> {
        Self::open_with(config, conn, &content::active(config)?)
    }

    /// [`CopyDesk::open`] with the given content (an update candidate under check).
    pub fn open_with(
        config: &Config,
        conn: &Connection,
        content: &Content,
    ) -> Result<Self, CopySetupError> {
        let brands = BrandList::new(products::brands(conn)?);
        Ok(Self::load(config, content, brands))
    }

    /// Same desk with the cache off (`--no-cache`).
    pub fn without_cache(mut self) -> Self {
        self.ttl_secs = None;
        self
    }

    /// Same desk caching for `ttl_secs` whatever the config says (the cache-hit benchmark).
    pub fn with_cache_ttl(mut self, ttl_secs: i64) -> Self {
        self.ttl_secs = Some(ttl_secs);
        self
    }

    /// Switches `model` in for every later request.
    pub fn serve(&self, model: Arc<LoadedModel>) {
        *lock(&self.serving) = Some(model);
    }

    /// The model serving now, if one is loaded.
    pub fn model(&self) -> Option<Arc<LoadedModel>> {
        lock(&self.serving).clone()
    }

    /// Why the model given to [`CopyDesk::load`] did not load.
    pub fn load_error(&self) -> Option<&EngineError> {
        self.load_error.as_ref()
    }

    /// This desk when its model serves, else why it does not (`copy warm`, `bench copy` and the
    /// health gate need the model, not templates).
    pub fn require_model(mut self) -> Result<Self, EngineError> {
        match self.load_error.take() {
            Some(e) => Err(e),
            None if self.model().is_some() => Ok(self),
            None => Err(EngineError::Loading),
        }
    }

    /// Whether a request written now could be served from or stored in the cache.
    pub fn caches(&self) -> bool {
        self.ttl_secs.is_some() && self.model().is_some()
    }

    /// Writes `order`'s copy with the model serving now (templates without one), through the
    /// copy cache in `cache` when the desk caches; model tokens stream through `on_progress`.
    /// `prefix_cache` forces the engine's prefix cache on or off (`--no-prefix-cache`).
    pub fn write(
        &self,
        cache: &Connection,
        order: &CopyOrder,
        prefix_cache: Option<bool>,
        now: i64,
        on_progress: &mut dyn FnMut(CopyProgress<'_>),
    ) -> Result<CopyOutcome, CacheError> {
        let model = self.model();
        let Some((model, policy)) = model
            .as_deref()
            .and_then(|m| Some((m, self.cache_policy(m, now)?)))
        else {
            return Ok(self.write_uncached(order, prefix_cache, on_progress));
        };
        cache::write_cached(
            cache,
            &model.service,
            &policy,
            &request(order, prefix_cache),
            on_progress,
        )
    }

    /// [`CopyDesk::write`] without the cache: what the model (or the template) writes now.
    pub fn write_uncached(
        &self,
        order: &CopyOrder,
        prefix_cache: Option<bool>,
        on_progress: &mut dyn FnMut(CopyProgress<'_>),
    ) -> CopyOutcome {
        let model = self.model();
        let service = model.as_ref().map_or(&self.templates, |m| &m.service);
        service.write_copy(&request(order, prefix_cache), on_progress)
    }

    /// The cache's policy for copy of `model` written at `now`; `None` when the cache is off.
    fn cache_policy<'m>(&self, model: &'m LoadedModel, now: i64) -> Option<Policy<'m>> {
        Some(Policy {
            model_sha256: Some(&model.sha256),
            ttl_secs: self.ttl_secs?,
            now,
        })
    }

    /// Template copy for `order` (generic and instant: the attract loop, fallbacks).
    pub fn template(&self, order: &CopyOrder) -> String {
        self.templates
            .write_copy(&order.request(), &mut |_| {})
            .text
    }

    /// Writes every order of a warm-up plan through the cache (fresh entries are left as they
    /// are); `on_each` after each order (progress bars). With a model and the cache on, the
    /// orders the cache lacks are written `engine.parallel` at a time (the engine decodes them
    /// together) and stored on this thread as they complete ([`CopyDesk::write_together`]).
    pub fn warm(
        &self,
        conn: &Connection,
        plan: &[CopyOrder],
        now: i64,
        on_each: &mut dyn FnMut(),
    ) -> Result<WarmReport, CacheError> {
        let started = std::time::Instant::now();
        let mut sources = std::collections::BTreeMap::<String, u64>::new();
        let orders: Vec<(&CopyOrder, Option<Instant>)> = plan.iter().map(|o| (o, None)).collect();
        let wanted = |_: usize| false;
        let progress = |_: usize, _: CopyProgress<'_>| {};
        self.write_together(
            Some(conn),
            &orders,
            now,
            &wanted,
            &progress,
            &mut |_, outcome| {
                *sources
                    .entry(outcome.source.as_str().to_string())
                    .or_default() += 1;
                on_each();
            },
        )?;
        Ok(WarmReport::new(plan.len(), started.elapsed(), sources))
    }

    /// Writes several orders at once, each due by its own deadline (model copy not complete by
    /// then is replaced by the template at once, [`crate::copy::service::Fallback::Budget`]): a
    /// kiosk session's picks, or a warm-up plan.
    ///
    /// With `cache` (and a model serving, the cache on) every order is looked up first, on this
    /// thread; the hits are answered at once. The rest are written by up to `engine.parallel`
    /// threads, each taking the next order as it finishes one (the engine decodes the orders in
    /// flight in one batch), and each is stored and answered on this thread as it completes.
    /// `withdrawn(i)` says order `i` is no longer wanted (its session left the screen): it is
    /// not begun, or is cancelled at its next token, and answered with template copy flagged
    /// [`crate::copy::service::Fallback::Withdrawn`] (never stored).
    /// `on_progress(i, p)` streams order `i`'s tokens from the writing threads; `on_done(i,
    /// outcome)` answers order `i`, exactly once each, in completion order.
    ///
    /// Errors: a failed lookup is returned before any order is answered or written; a failed
    /// store does not stop the others (its copy is still answered) and the first is returned
    /// once every order is answered.
    pub fn write_together(
        &self,
        cache: Option<&Connection>,
        orders: &[(&CopyOrder, Option<Instant>)],
        now: i64,
        withdrawn: &(dyn Fn(usize) -> bool + Sync),
        on_progress: &(dyn Fn(usize, CopyProgress<'_>) + Sync),
        on_done: &mut dyn FnMut(usize, CopyOutcome),
    ) -> Result<(), CacheError> {
        let model = self.model();
        let service = model.as_ref().map_or(&self.templates, |m| &m.service);
        let policy = cache.zip(model.as_deref().and_then(|m| self.cache_policy(m, now)));
        let checks: Vec<_> = (0..orders.len()).map(|i| move || withdrawn(i)).collect();
        let requests: Vec<_> = orders
            .iter()
            .zip(&checks)
            .map(|((order, deadline), check)| {
                request(order, None)
                    .with_deadline(*deadline)
                    .with_withdrawn(Withdrawn(check))
            })
            .collect();
        let mut hits = Vec::new();
        let mut misses = Vec::new();
        for (i, request) in requests.iter().enumerate() {
            match &policy {
                Some((conn, policy)) => match cache::lookup(conn, service, policy, request)? {
                    Lookup::Hit(outcome) => hits.push((i, outcome)),
                    Lookup::Miss(entry) => misses.push((i, entry)),
                },
                None => misses.push((i, None)),
            }
        }
        for (i, outcome) in hits {
            on_done(i, outcome);
        }
        let in_flight = service
            .engine()
            .map_or(1, |e| e.info().config.parallel as usize);
        let next = AtomicUsize::new(0);
        let (done, written) = mpsc::channel();
        let mut first_error = None;
        std::thread::scope(|scope| {
            for _ in 0..in_flight.min(misses.len()) {
                let done = done.clone();
                let (next, misses, requests) = (&next, &misses, &requests);
                scope.spawn(move || loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    let Some((i, _)) = misses.get(j) else { break };
                    let outcome = service.write_copy(&requests[*i], &mut |p| on_progress(*i, p));
                    if done.send((j, outcome)).is_err() {
                        break;
                    }
                });
            }
            drop(done);
            for (j, outcome) in written {
                let (i, entry) = &misses[j];
                if let Some((conn, policy)) = &policy {
                    if let Err(e) = cache::keep(conn, entry.as_ref(), &outcome, policy) {
                        first_error.get_or_insert(e);
                    }
                }
                on_done(*i, outcome);
            }
        });
        first_error.map_or(Ok(()), Err)
    }

    /// `n` cache hits of `order` through [`CopyDesk::write`], after one write that stores it:
    /// their latencies in milliseconds, sorted (the cache-hit benchmark).
    pub fn cache_hits(
        &self,
        conn: &Connection,
        order: &CopyOrder,
        n: usize,
        now: i64,
    ) -> Result<Vec<f64>, CacheError> {
        self.write(conn, order, None, now, &mut |_| {})?;
        let mut hits = Vec::with_capacity(n);
        for _ in 0..n {
            let t = std::time::Instant::now();
            let outcome = self.write(conn, order, None, now, &mut |_| {})?;
            if outcome.source == CopySource::Cache {
                hits.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        hits.sort_by(f64::total_cmp);
        Ok(hits)
    }

    /// Verdict and serving counts of the templates and the serving model (since it was loaded).
    pub fn counts(&self) -> std::collections::BTreeMap<String, u64> {
        let mut counts = self.templates.counts();
        if let Some(m) = self.model() {
            for (k, v) in m.service.counts() {
                *counts.entry(k).or_insert(0) += v;
            }
        }
        counts
    }
}

/// `order`'s request, with the engine's prefix cache forced when `prefix_cache` says so.
fn request(order: &CopyOrder, prefix_cache: Option<bool>) -> crate::copy::service::CopyRequest<'_> {
    let request = order.request();
    match prefix_cache {
        Some(on) => request.with_prefix_cache(on),
        None => request,
    }
}

/// The config's engine settings, except that the store's own currency symbol stays sampleable
/// (the engine suppresses currency symbols the guardrails would reject anyway).
pub fn engine_config(config: &Config) -> copywriting::EngineConfig {
    let mut engine = config.engine.clone();
    engine
        .suppressed_chars
        .retain(|c| !config.currency.symbol.contains(c));
    engine
}

/// Why a copy desk could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CopySetupError {
    #[error(transparent)]
    Content(#[from] content::ContentError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_store_currency_symbol_stays_sampleable() {
        let mut config = Config::default();
        config.engine.suppressed_chars = "$€£₹".into();
        config.currency.symbol = "₹".into();
        assert_eq!(engine_config(&config).suppressed_chars, "$€£");
    }

    #[test]
    fn a_desk_whose_model_does_not_load_serves_templates_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            model_path: dir.path().join("no-model.gguf"),
            ..Config::default()
        };
        let content = content::resolve(&config, &content::Pointer::default()).unwrap();
        let desk = CopyDesk::load(&config, &content, BrandList::new(Vec::<String>::new()));
        assert!(desk.model().is_none());
        assert!(!desk.caches(), "no model, no cache");
        let reason = desk.load_error().unwrap().to_string();
        assert!(reason.contains("no-model.gguf"), "{reason}");
        let product = crate::catalog::Product {
            sku: "FW-RUN-0001".into(),
            name: "Northpine Kite Running Shoe".into(),
            brand: Some("Northpine".into()),
            category: vec!["Footwear".into()],
            price: crate::catalog::Minor(4599),
            list_price: None,
            description: String::new(),
            tags: vec![],
        };
        let order = CopyOrder {
            product,
            segment: crate::vocab::SegmentKey::all(),
            brand_fan: false,
            style: crate::vocab::Style::Concise,
            seed: 1,
        };
        let outcome = desk.write_uncached(&order, None, &mut |_| {});
        assert_eq!(outcome.source, CopySource::Template);
        assert_eq!(outcome.text, desk.template(&order));
        let err = desk.require_model().unwrap_err().to_string();
        assert!(err.contains("no-model.gguf"), "{err}");
    }
}
