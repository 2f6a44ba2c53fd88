//! The copy cache: generated copy kept in SQLite, keyed by everything that determines it.
//!
//! Invariants:
//! - The key is (model sha256, prompt pack id, style, sku, segment key, facts fingerprint).
//!   Changing the model, the pack or any product fact the prompt used ([`fingerprint`] of the
//!   [`ProductFacts`]: name, brand, category, price, list price, discount, details, currency)
//!   makes old entries unreachable; [`purge`] deletes them once expired, and the catalog import
//!   deletes a changed product's entries at once ([`forget_sku`], [`forget_changed`]).
//! - No stale price is ever served: a hit is checked by the guardrails against the product's
//!   CURRENT facts before it is served; a hit that fails is deleted and fresh copy written.
//! - Only model copy that passed the guardrails is stored (template copy is instant and
//!   deterministic). A hit is served with `source = cache`.
//! - The segment key is the recommender's coarse segment (e.g. `footwear/mid`), never anything
//!   that identifies a shopper.

use rusqlite::{params, Connection, OptionalExtension};

use std::collections::BTreeMap;

use serde::Serialize;

use super::prompt::ProductFacts;
use super::service::{CopyOutcome, CopyProgress, CopyRequest, CopyService, CopySource};
use super::Verdict;
use crate::vocab::Style;

/// Fingerprint of every product fact a prompt uses: hex SHA-256 (first 128 bits) over a
/// length-prefixed encoding of the [`ProductFacts`] fields, so two different fact sets never
/// encode alike. Stable across builds: it depends only on the facts.
pub fn fingerprint(facts: &ProductFacts) -> String {
    let mut fields: Vec<String> = vec![
        facts.name.clone(),
        facts
            .brand
            .clone()
            .map_or_else(|| "-".into(), |b| format!("+{b}")),
        facts.category.clone(),
        facts.price.0.to_string(),
        facts
            .list_price
            .map_or_else(|| "-".into(), |l| format!("+{}", l.0)),
        facts
            .discount_percent
            .map_or_else(|| "-".into(), |d| format!("+{d}")),
        facts.details.clone(),
        facts.currency.code.clone(),
        facts.currency.symbol.clone(),
    ];
    fields.extend(facts.currency.aliases.iter().cloned());
    let mut encoded = Vec::new();
    for field in &fields {
        encoded.extend_from_slice(&(field.len() as u64).to_be_bytes());
        encoded.extend_from_slice(field.as_bytes());
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, &encoded);
    digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, thiserror::Error)]
#[error("copy cache (retryable: {retryable}): {source}")]
pub struct CacheError {
    pub retryable: bool,
    source: rusqlite::Error,
}

impl From<rusqlite::Error> for CacheError {
    fn from(source: rusqlite::Error) -> Self {
        let retryable = crate::store::is_retryable(&source);
        Self { retryable, source }
    }
}

impl CacheError {
    /// The SQLite error underneath (for callers that report store errors).
    pub fn into_sql(self) -> rusqlite::Error {
        self.source
    }
}

/// What identifies one piece of cached copy.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    /// sha256 of the model file.
    pub model: &'a str,
    /// Prompt pack `name@version`.
    pub pack: &'a str,
    pub style: Style,
    pub sku: &'a str,
    /// The audience's cache key ([`crate::copy::Audience::cache_key`]): the coarse segment.
    pub segment: &'a str,
    /// [`fingerprint`] of the product facts the prompt used.
    pub facts: &'a str,
}

/// A cache hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    pub text: String,
    pub verdict: String,
    pub created_at: i64,
}

pub fn get(conn: &Connection, key: &Key<'_>, now: i64) -> Result<Option<Cached>, CacheError> {
    Ok(conn
        .prepare_cached(
            "SELECT text, verdict, created_at FROM copy_cache
             WHERE model = ?1 AND pack = ?2 AND style = ?3 AND sku = ?4 AND segment = ?5
               AND facts = ?6 AND expires_at > ?7",
        )?
        .query_row(
            params![
                key.model,
                key.pack,
                key.style.as_str(),
                key.sku,
                key.segment,
                key.facts,
                now
            ],
            |r| {
                Ok(Cached {
                    text: r.get(0)?,
                    verdict: r.get(1)?,
                    created_at: r.get(2)?,
                })
            },
        )
        .optional()?)
}

pub fn put(
    conn: &Connection,
    key: &Key<'_>,
    text: &str,
    verdict: &str,
    now: i64,
    ttl_secs: i64,
) -> Result<(), CacheError> {
    conn.prepare_cached(
        "INSERT INTO copy_cache (model, pack, style, sku, segment, facts, text, verdict,
                                 created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT DO UPDATE SET text = excluded.text, verdict = excluded.verdict,
            created_at = excluded.created_at, expires_at = excluded.expires_at",
    )?
    .execute(params![
        key.model,
        key.pack,
        key.style.as_str(),
        key.sku,
        key.segment,
        key.facts,
        text,
        verdict,
        now,
        now.saturating_add(ttl_secs)
    ])?;
    Ok(())
}

/// Deletes one entry (a hit that no longer passes the guardrails); returns how many.
pub fn forget(conn: &Connection, key: &Key<'_>) -> Result<usize, CacheError> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM copy_cache
             WHERE model = ?1 AND pack = ?2 AND style = ?3 AND sku = ?4 AND segment = ?5
               AND facts = ?6",
        )?
        .execute(params![
            key.model,
            key.pack,
            key.style.as_str(),
            key.sku,
            key.segment,
            key.facts
        ])?)
}

/// Deletes every entry of a product (its catalog entry changed); returns how many.
pub fn forget_sku(conn: &Connection, sku: &str) -> Result<usize, CacheError> {
    Ok(conn
        .prepare_cached("DELETE FROM copy_cache WHERE sku = ?1")?
        .execute([sku])?)
}

/// Deletes a product's entries written from facts other than `fingerprint` (its current
/// facts, see [`fingerprint`]); returns how many.
pub fn forget_changed(
    conn: &Connection,
    sku: &str,
    fingerprint: &str,
) -> Result<usize, CacheError> {
    Ok(conn
        .prepare_cached("DELETE FROM copy_cache WHERE sku = ?1 AND facts != ?2")?
        .execute([sku, fingerprint])?)
}

/// Deletes expired entries; returns how many.
pub fn purge(conn: &Connection, now: i64) -> Result<usize, CacheError> {
    Ok(conn.execute("DELETE FROM copy_cache WHERE expires_at <= ?1", [now])?)
}

pub fn count(conn: &Connection) -> Result<u64, CacheError> {
    Ok(conn.query_row("SELECT count(*) FROM copy_cache", [], |r| r.get(0))?)
}

/// Where a request's copy may be cached and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// sha256 of the loaded model; `None` (templates only, or bypass) disables the cache.
    pub model_sha256: Option<&'a str>,
    pub ttl_secs: i64,
    pub now: i64,
}

/// A request's cache entry, its key's parts owned (they outlive the lookup: a warm-up writes
/// the copy on another thread and stores it afterwards).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    model: String,
    pack: String,
    style: Style,
    sku: String,
    segment: String,
    facts: String,
}

impl Entry {
    pub fn key(&self) -> Key<'_> {
        Key {
            model: &self.model,
            pack: &self.pack,
            style: self.style,
            sku: &self.sku,
            segment: &self.segment,
            facts: &self.facts,
        }
    }
}

/// What the cache holds for a request before any copy is written.
#[derive(Debug)]
pub enum Lookup {
    /// Served from the cache (it passed the guardrails against the current facts).
    Hit(CopyOutcome),
    /// Copy must be written; [`keep`] it under this entry afterwards (`None`: not cached, as
    /// without a loaded model).
    Miss(Option<Entry>),
}

/// The first half of [`write_cached`]: a hit that still passes the guardrails against the
/// product's current facts, or the entry fresh copy goes under (a failing hit is deleted).
pub fn lookup(
    conn: &Connection,
    service: &CopyService,
    policy: &Policy<'_>,
    request: &CopyRequest<'_>,
) -> Result<Lookup, CacheError> {
    let started = std::time::Instant::now();
    let Some(model) = policy.model_sha256 else {
        return Ok(Lookup::Miss(None));
    };
    let facts = service.facts(request.product);
    let entry = Entry {
        model: model.to_string(),
        pack: service.prompts().pack_id().to_string(),
        style: request.style,
        sku: request.product.sku.clone(),
        segment: request.audience.cache_key(),
        facts: fingerprint(&facts),
    };
    let key = entry.key();
    if let Some(hit) = get(conn, &key, policy.now)?.filter(|hit| {
        let verdict = service.check(&hit.text, &facts);
        if !verdict.is_pass() {
            tracing::warn!(
                sku = key.sku,
                code = verdict.code(),
                "cached copy fails the guardrails now; dropped"
            );
        }
        verdict.is_pass()
    }) {
        return Ok(Lookup::Hit(CopyOutcome {
            text: hit.text,
            style: request.style,
            source: CopySource::Cache,
            verdict: Verdict::Pass,
            attempts: Vec::new(),
            timings: None,
            elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
            engine_error: None,
            fallback: None,
        }));
    }
    // A failing hit (or nothing) is gone before fresh copy is written.
    forget(conn, &key)?;
    Ok(Lookup::Miss(Some(entry)))
}

/// The second half of [`write_cached`]: stores `outcome` under `entry` when it is model copy
/// that passed the guardrails.
pub fn keep(
    conn: &Connection,
    entry: Option<&Entry>,
    outcome: &CopyOutcome,
    policy: &Policy<'_>,
) -> Result<(), CacheError> {
    if let (Some(entry), CopySource::Model, true) =
        (entry, outcome.source, outcome.verdict.is_pass())
    {
        put(
            conn,
            &entry.key(),
            &outcome.text,
            outcome.verdict.code(),
            policy.now,
            policy.ttl_secs,
        )?;
    }
    Ok(())
}

/// Serves copy from the cache when it holds it for this key (product facts included) and it
/// still passes the guardrails against the product's current facts; otherwise writes it with
/// the service (streaming through `on_progress`) and caches passing model copy. A hit that fails
/// is deleted. Without a loaded model nothing is cached: template copy is served directly.
pub fn write_cached(
    conn: &Connection,
    service: &CopyService,
    policy: &Policy<'_>,
    request: &CopyRequest<'_>,
    on_progress: &mut dyn FnMut(CopyProgress<'_>),
) -> Result<CopyOutcome, CacheError> {
    match lookup(conn, service, policy, request)? {
        Lookup::Hit(outcome) => Ok(outcome),
        Lookup::Miss(entry) => {
            let outcome = service.write_copy(request, on_progress);
            keep(conn, entry.as_ref(), &outcome, policy)?;
            Ok(outcome)
        }
    }
}

/// What a cache warm-up (`personalise::CopyDesk::warm`) did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WarmReport {
    pub requests: usize,
    pub seconds: f64,
    pub blurbs_per_sec: f64,
    /// Served copy by source (`cache`, `model`, `template`).
    pub sources: BTreeMap<String, u64>,
}

impl WarmReport {
    /// The report of `requests` orders written in `elapsed`, by source.
    pub fn new(
        requests: usize,
        elapsed: std::time::Duration,
        sources: BTreeMap<String, u64>,
    ) -> Self {
        let seconds = elapsed.as_secs_f64();
        Self {
            requests,
            seconds,
            blurbs_per_sec: requests as f64 / seconds.max(1e-9),
            sources,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::catalog::{Minor, Product};
    use crate::copy::engine::EngineError;
    use crate::copy::prompt::{Audience, Currency, PromptPack};
    use crate::copy::{BrandList, GuardrailConfig};
    use crate::vocab::SegmentKey;

    fn migrated() -> (tempfile::TempDir, crate::store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("c.db")).unwrap();
        (dir, store)
    }

    fn product(price: i64, list: Option<i64>) -> Product {
        Product {
            sku: "FW-RUN-0001".into(),
            name: "Northpine Kite Running Shoe Sand".into(),
            brand: Some("Northpine".into()),
            category: vec!["Footwear".into(), "Running Shoes".into()],
            price: Minor(price),
            list_price: list.map(Minor),
            description: "Essential running shoe with reflective heel tabs".into(),
            tags: vec![],
        }
    }

    fn usd() -> Currency {
        Currency {
            code: "USD".into(),
            symbol: "$".into(),
            aliases: vec!["dollars".into()],
        }
    }

    #[test]
    fn entries_expire_and_keys_separate() {
        let (_dir, store) = migrated();
        let conn = store.conn();
        let key = Key {
            model: "abc",
            pack: "default@1",
            style: Style::Concise,
            sku: "S1",
            segment: "footwear/mid",
            facts: "f1",
        };
        put(conn, &key, "Light and quick.", "pass", 100, 50).unwrap();
        assert_eq!(
            get(conn, &key, 120).unwrap().unwrap().text,
            "Light and quick."
        );
        assert!(get(conn, &key, 150).unwrap().is_none(), "expired");
        let other = Key {
            segment: "all",
            ..key
        };
        assert!(get(conn, &other, 120).unwrap().is_none());
        let other_model = Key {
            model: "def",
            ..key
        };
        assert!(get(conn, &other_model, 120).unwrap().is_none());
        let other_facts = Key { facts: "f2", ..key };
        assert!(get(conn, &other_facts, 120).unwrap().is_none());
        assert_eq!(purge(conn, 150).unwrap(), 1);
        assert_eq!(count(conn).unwrap(), 0);
    }

    #[test]
    fn the_fingerprint_covers_every_fact() {
        let base = ProductFacts::new(&product(15299, None), &usd());
        let fp = fingerprint(&base);
        assert_eq!(fp, fingerprint(&base.clone()), "stable");
        assert_eq!(fp.len(), 32);
        let variants: Vec<ProductFacts> = vec![
            ProductFacts::new(&product(14999, None), &usd()),
            ProductFacts::new(&product(15299, Some(19999)), &usd()),
            ProductFacts::new(&product(15299, None), &Currency::default()),
            ProductFacts {
                name: "Northpine Kite Running Shoe".into(),
                ..base.clone()
            },
            ProductFacts {
                brand: None,
                ..base.clone()
            },
            ProductFacts {
                category: "Shoes".into(),
                ..base.clone()
            },
            ProductFacts {
                details: String::new(),
                ..base.clone()
            },
            ProductFacts {
                discount_percent: Some(5),
                ..base.clone()
            },
        ];
        for v in &variants {
            assert_ne!(fingerprint(v), fp, "{v:?}");
        }
        // Length-prefixed: moving text between fields changes the fingerprint.
        let a = ProductFacts {
            name: "ab".into(),
            category: "c".into(),
            ..base.clone()
        };
        let b = ProductFacts {
            name: "a".into(),
            category: "bc".into(),
            ..base
        };
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn a_product_s_changed_entries_are_forgotten() {
        let (_dir, store) = migrated();
        let conn = store.conn();
        let key = |sku, facts| Key {
            model: "m",
            pack: "p",
            style: Style::Value,
            sku,
            segment: "all",
            facts,
        };
        put(conn, &key("A", "old"), "copy", "pass", 0, 100).unwrap();
        put(conn, &key("A", "new"), "copy", "pass", 0, 100).unwrap();
        put(conn, &key("B", "old"), "copy", "pass", 0, 100).unwrap();
        assert_eq!(forget_changed(conn, "A", "new").unwrap(), 1);
        assert!(get(conn, &key("A", "new"), 1).unwrap().is_some());
        assert!(get(conn, &key("B", "old"), 1).unwrap().is_some());
        assert_eq!(forget_sku(conn, "A").unwrap(), 1);
        assert_eq!(forget(conn, &key("B", "old")).unwrap(), 1);
        assert_eq!(count(conn).unwrap(), 0);
    }

    fn template_service(currency: &Currency) -> CopyService {
        CopyService::new(
            Err(EngineError::WorkerGone),
            &PromptPack::builtin().unwrap(),
            currency,
            BrandList::new(["Northpine", "Velmora"]),
            GuardrailConfig::default(),
        )
    }

    /// A hit is judged against the current facts: copy that states a price the product no
    /// longer has is dropped and fresh copy written, whatever the key says.
    #[test]
    fn a_hit_that_fails_the_guardrails_now_is_dropped() {
        let (_dir, store) = migrated();
        let conn = store.conn();
        let service = template_service(&usd());
        let segment = SegmentKey::all();
        let audience = Audience {
            segment: &segment,
            brand_fan: false,
        };
        let now_product = product(14999, None);
        let request = CopyRequest::new(&now_product, audience, Style::Concise, 1);
        let facts = service.facts(&now_product);
        let fp = fingerprint(&facts);
        let pack = service.prompts().pack_id().to_string();
        let key = Key {
            model: "m",
            pack: &pack,
            style: Style::Concise,
            sku: "FW-RUN-0001",
            segment: "all",
            facts: &fp,
        };
        let policy = Policy {
            model_sha256: Some("m"),
            ttl_secs: 100,
            now: 10,
        };
        // Good copy under the current facts is served from the cache.
        let good = "Northpine Kite running shoe, now $149.99.";
        put(conn, &key, good, "pass", 0, 100).unwrap();
        let hit = write_cached(conn, &service, &policy, &request, &mut |_| {}).unwrap();
        assert_eq!((hit.source, hit.text.as_str()), (CopySource::Cache, good));
        // Stale price (or any failing copy) under the same key: dropped, fresh copy served.
        for stale in [
            "Northpine Kite running shoe, now $152.99.",
            "Northpine Kite running shoe, now $149.99 instead of $152.99",
        ] {
            put(conn, &key, stale, "pass", 0, 100).unwrap();
            let out = write_cached(conn, &service, &policy, &request, &mut |_| {}).unwrap();
            assert_eq!(out.source, CopySource::Template, "{stale}");
            assert!(out.text.contains("$149.99") && !out.text.contains("152.99"));
            assert!(get(conn, &key, 10).unwrap().is_none(), "dropped: {stale}");
        }
        // Copy written for the old facts is not even looked up.
        let old_fp = fingerprint(&service.facts(&product(15299, None)));
        let old_key = Key {
            facts: &old_fp,
            ..key
        };
        put(
            conn,
            &old_key,
            "Northpine Kite running shoe, now $152.99.",
            "pass",
            0,
            100,
        )
        .unwrap();
        let out = write_cached(conn, &service, &policy, &request, &mut |_| {}).unwrap();
        assert_eq!(out.source, CopySource::Template);
    }
}
