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
use crate::personalise::{self, CopySetupError};
use crate::profile::{ProfileError, Vault};
use crate::store::catalog::{self as products, Origin};
use crate::store::{Store, StoreError};
use crate::vocab::{SegmentKey, Style};

use super::{BenchError, Scratch};

#[derive(Debug, thiserror::Error)]
pub enum CopyBenchError {
    /// Nothing to measure, with the reason (no products, no model).
    #[error("{0}")]
    Unavailable(String),
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

/// `pairs` product × segment pairs drawn from `catalog` (any catalog format) or this kiosk's
/// catalog; then one entry written and read back 500 times through the serving path.
pub fn run(
    config: &Config,
    catalog: Option<&Path>,
    pairs: usize,
    now: i64,
) -> Result<CopyBench, CopyBenchError> {
    let scratch = Scratch::new("copy")?;
    let store = Store::open(&scratch.0.join("bench.db"))?;
    let list = match catalog {
        Some(path) => crate::ingest::read_catalog_file(path, &config.rules(now))?,
        None => products::all(Vault::open(config)?.store.conn())?,
    };
    let Some(first) = list.first().cloned() else {
        return Err(CopyBenchError::Unavailable(
            "no products to benchmark with; pass --catalog FILE or import a catalog first".into(),
        ));
    };
    for p in &list {
        products::upsert(store.conn(), p, Origin::Catalog, now)?;
    }
    let (service, sha) = personalise::start_copy(config, store.conn())?;
    let Some(sha) = sha else {
        return Err(CopyBenchError::Unavailable(format!(
            "the language model is not available: {}",
            service.engine_error().unwrap_or("unknown error")
        )));
    };
    let engine = copy::bench::run(
        &service,
        &list,
        &copy::bench::BenchOptions {
            pairs,
            ..Default::default()
        },
    )?;
    let order = CopyOrder {
        product: first,
        segment: SegmentKey::all(),
        brand_fan: false,
        style: Style::Concise,
        seed: 1,
    };
    let policy = copy::cache::Policy {
        model_sha256: Some(&sha),
        ttl_secs: 3600,
        now,
    };
    let hits = copy::bench::cache_hits(store.conn(), &service, &policy, &order, 500)?;
    Ok(CopyBench {
        engine,
        cache: copy::bench::CacheHitStats::from_sorted(&hits),
    })
}
