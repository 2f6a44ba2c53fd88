//! `shelftalk bench copy`: the copy engine benchmark ([`crate::copy::bench::run`]) on the
//! configured model, as the kiosk starts it, plus cache-hit latency through the serving path.
//!
//! Invariants: works in a fresh scratch store it deletes afterwards, never the kiosk's database;
//! the products come from a catalog file or are read from the kiosk's catalog.

use std::path::Path;

use serde::Serialize;

use crate::config::Config;
use crate::copy;
use crate::copy::service::CopyOrder;
use crate::personalise::{CopyDesk, CopySetupError};
use crate::profile::{ProfileError, Vault};
use crate::store::catalog::{self as products, Origin};
use crate::store::{Store, StoreError};
use crate::vocab::{SegmentKey, Style};

use super::{BenchError, Scratch};

#[derive(Debug, thiserror::Error)]
pub enum CopyBenchError {
    #[error("no products to benchmark with; pass --catalog FILE or import a catalog first")]
    NoProducts,
    #[error("the language model is not available: {0}")]
    Model(#[source] copy::engine::EngineError),
    #[error(transparent)]
    Scratch(#[from] BenchError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    #[error(transparent)]
    Setup(#[from] CopySetupError),
    #[error(transparent)]
    Engine(#[from] copy::bench::BenchError),
    #[error(transparent)]
    Cache(#[from] copy::cache::CacheError),
}

/// The engine benchmark and the cache-hit latencies.
#[derive(Debug, Clone, Serialize)]
pub struct CopyBench {
    pub engine: copy::bench::BenchReport,
    #[serde(flatten)]
    pub cache: copy::bench::CacheHitStats,
}

/// The engine benchmark of `options` (its pairs drawn with its seed) on `catalog` (any catalog
/// format) or this kiosk's catalog; then one entry written and read back 500 times through the
/// serving path.
pub fn run(
    config: &Config,
    catalog: Option<&Path>,
    options: &copy::bench::BenchOptions,
    now: i64,
) -> Result<CopyBench, CopyBenchError> {
    let scratch = Scratch::new("copy")?;
    let store = Store::open(&scratch.0.join("bench.db"))?;
    let list = match catalog {
        Some(path) => crate::ingest::read_catalog_file(path, &config.rules(now))?,
        None => products::all(Vault::open(config)?.store.conn())?,
    };
    let Some(first) = list.first().cloned() else {
        return Err(CopyBenchError::NoProducts);
    };
    for p in &list {
        products::upsert(store.conn(), p, Origin::Catalog, now)?;
    }
    let desk = CopyDesk::open(config, store.conn())?
        .require_model()
        .map_err(CopyBenchError::Model)?
        .with_cache_ttl(3600);
    let Some(model) = desk.model() else {
        return Err(CopyBenchError::Model(copy::engine::EngineError::Loading));
    };
    let service = &model.service;
    let engine = copy::bench::run(service, &list, options)?;
    let order = CopyOrder {
        product: first,
        segment: SegmentKey::all(),
        brand_fan: false,
        style: Style::Concise,
        seed: 1,
    };
    let hits = desk.cache_hits(store.conn(), &order, 500, now)?;
    Ok(CopyBench {
        engine,
        cache: copy::bench::CacheHitStats::from_sorted(&hits),
    })
}
