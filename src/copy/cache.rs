//! The copy cache: generated copy kept in SQLite, keyed by everything that determines it.
//!
//! Invariants:
//! - The key is (model sha256, prompt pack id, style, sku, segment key). Changing the model or the
//!   pack makes old entries unreachable; [`purge`] deletes them once expired.
//! - Only model copy that passed the guardrails is stored (template copy is instant and
//!   deterministic). A hit is served with its stored verdict and `source = cache`.
//! - The segment key is the recommender's coarse segment (e.g. `footwear/mid`), never anything
//!   that identifies a shopper.

use rusqlite::{params, Connection, OptionalExtension};

use std::collections::BTreeMap;

use serde::Serialize;

use super::service::{CopyOrder, CopyOutcome, CopyProgress, CopyRequest, CopyService, CopySource};
use super::Verdict;
use crate::vocab::Style;

#[derive(Debug, thiserror::Error)]
#[error("copy cache (retryable: {retryable}): {source}")]
pub struct CacheError {
    pub retryable: bool,
    source: rusqlite::Error,
}

impl From<rusqlite::Error> for CacheError {
    fn from(source: rusqlite::Error) -> Self {
        let retryable = matches!(
            source.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        );
        Self { retryable, source }
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
               AND expires_at > ?6",
        )?
        .query_row(
            params![
                key.model,
                key.pack,
                key.style.as_str(),
                key.sku,
                key.segment,
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
        "INSERT INTO copy_cache (model, pack, style, sku, segment, text, verdict, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT DO UPDATE SET text = excluded.text, verdict = excluded.verdict,
            created_at = excluded.created_at, expires_at = excluded.expires_at",
    )?
    .execute(params![
        key.model,
        key.pack,
        key.style.as_str(),
        key.sku,
        key.segment,
        text,
        verdict,
        now,
        now.saturating_add(ttl_secs)
    ])?;
    Ok(())
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

/// Serves copy from the cache when it holds it for this key, otherwise writes it with the
/// service (streaming through `on_progress`) and caches passing model copy. Without a loaded
/// model nothing is cached: template copy is served directly.
pub fn write_cached(
    conn: &Connection,
    service: &CopyService,
    policy: &Policy<'_>,
    request: &CopyRequest<'_>,
    on_progress: &mut dyn FnMut(CopyProgress<'_>),
) -> Result<CopyOutcome, CacheError> {
    let Policy {
        model_sha256,
        ttl_secs,
        now,
    } = *policy;
    let started = std::time::Instant::now();
    let pack = service.prompts().pack_id().to_string();
    let segment_key = request.audience.cache_key();
    let key = model_sha256.map(|model| Key {
        model,
        pack: &pack,
        style: request.style,
        sku: &request.product.sku,
        segment: &segment_key,
    });
    if let Some(key) = &key {
        if let Some(hit) = get(conn, key, now)? {
            return Ok(CopyOutcome {
                text: hit.text,
                style: request.style,
                source: CopySource::Cache,
                verdict: Verdict::Pass,
                attempts: Vec::new(),
                timings: None,
                elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
                engine_error: None,
            });
        }
    }
    let outcome = service.write_copy(request, on_progress);
    if let (Some(key), CopySource::Model, true) = (&key, outcome.source, outcome.verdict.is_pass())
    {
        put(
            conn,
            key,
            &outcome.text,
            outcome.verdict.code(),
            now,
            ttl_secs,
        )?;
    }
    Ok(outcome)
}

/// What [`warm`] did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WarmReport {
    pub requests: usize,
    pub seconds: f64,
    pub blurbs_per_sec: f64,
    /// Served copy by source (`cache`, `model`, `template`).
    pub sources: BTreeMap<String, u64>,
}

/// Writes every order of a warm-up plan through the cache (hits are left as they are); `on_each`
/// is called after each order (progress bars).
pub fn warm(
    conn: &Connection,
    service: &CopyService,
    policy: &Policy<'_>,
    plan: &[CopyOrder],
    on_each: &mut dyn FnMut(),
) -> Result<WarmReport, CacheError> {
    let started = std::time::Instant::now();
    let mut sources = BTreeMap::<String, u64>::new();
    for order in plan {
        let outcome = write_cached(conn, service, policy, &order.request(), &mut |_| {})?;
        *sources
            .entry(outcome.source.as_str().to_string())
            .or_default() += 1;
        on_each();
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(WarmReport {
        requests: plan.len(),
        seconds,
        blurbs_per_sec: plan.len() as f64 / seconds.max(1e-9),
        sources,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn entries_expire_and_keys_separate() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("c.db")).unwrap();
        let conn = store.conn();
        let key = Key {
            model: "abc",
            pack: "default@1",
            style: Style::Concise,
            sku: "S1",
            segment: "footwear/mid",
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
        assert_eq!(purge(conn, 150).unwrap(), 1);
        assert_eq!(count(conn).unwrap(), 0);
    }
}
