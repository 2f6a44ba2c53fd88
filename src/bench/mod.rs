//! `shelftalk bench store`: throughput of the encrypted shopper store against the same work on
//! plaintext rows, measured in the same run on one thread.
//!
//! Invariants: the benchmark works in a fresh scratch directory it deletes afterwards, never in
//! the kiosk's data dir; every figure is paired with its baseline from the same run, so the ratio
//! holds when the machine's speed drifts.

use std::path::PathBuf;
use std::time::Instant;

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use rusqlite::params;
use serde::Serialize;

use crate::crypto::keyfiles::KeyDir;
use crate::crypto::{self, RowKind};
use crate::ingest::{self, EventFormat, Rules};
use crate::profile::{self, ProfileError, Vault};
use crate::store::shoppers::{self, Consent};
use crate::store::{Store, StoreError};
use crate::vocab::LoyaltyNumber;

pub mod copy;
pub mod hq;
pub mod sync;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("scratch directory {path}: {source}")]
    Scratch {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A step failed with another module's error (the benchmarks drive many modules; the source
    /// is kept, boxed, so `source()` reaches it).
    #[error("benchmark step failed: {0}")]
    Step(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A step failed without an underlying error (a row that should exist, ring's opaque
    /// failure).
    #[error("benchmark step failed: {0}")]
    Failed(&'static str),
    /// A measured result disagrees with what the benchmark set up; the text shows both sides.
    #[error("benchmark step failed: {0}")]
    Check(String),
}

/// Wraps another module's error as a failed [`BenchError::Step`].
pub(crate) fn step(e: impl std::error::Error + Send + Sync + 'static) -> BenchError {
    BenchError::Step(Box::new(e))
}

impl From<rusqlite::Error> for BenchError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(e.into())
    }
}

/// One measured operation with its plaintext baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Paired {
    pub name: &'static str,
    pub ops_per_sec: f64,
    pub baseline_ops_per_sec: f64,
    /// `ops_per_sec / baseline_ops_per_sec`.
    pub ratio: f64,
    pub target_ops_per_sec: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoreReport {
    pub shoppers: usize,
    pub profile_read_open: Paired,
    pub profile_write_seal: Paired,
    /// Validated, sealed event import against validation alone (parsing without the store).
    pub event_import: Paired,
    /// Seal throughput of 256-byte rows: ChaCha20-Poly1305 (used) against AES-256-GCM.
    pub aead_chacha20_per_sec: f64,
    pub aead_aes256gcm_per_sec: f64,
}

impl StoreReport {
    pub fn render(&self) -> String {
        let line = |p: &Paired| {
            format!(
                "{:<28} {:>10.0}/s   baseline {:>10.0}/s   ratio {:.2}   target >= {:.0}/s {}",
                p.name,
                p.ops_per_sec,
                p.baseline_ops_per_sec,
                p.ratio,
                p.target_ops_per_sec,
                if p.ops_per_sec >= p.target_ops_per_sec {
                    "ok"
                } else {
                    "MISSED"
                }
            )
        };
        format!(
            "shelftalk bench store ({} shoppers, one thread)\n{}\n{}\n{}\n{:<28} chacha20-poly1305 {:.0}/s, aes-256-gcm {:.0}/s (ratio {:.2})",
            self.shoppers,
            line(&self.profile_read_open),
            line(&self.profile_write_seal),
            line(&self.event_import),
            "AEAD seal, 256 B",
            self.aead_chacha20_per_sec,
            self.aead_aes256gcm_per_sec,
            self.aead_chacha20_per_sec / self.aead_aes256gcm_per_sec
        )
    }
}

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Result<Self, BenchError> {
        let path =
            std::env::temp_dir().join(format!("shelftalk-bench-{tag}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).map_err(|source| BenchError::Scratch {
            path: path.clone(),
            source,
        })?;
        Ok(Self(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A realistic features row (~250 bytes of JSON).
fn features_json(i: usize) -> Vec<u8> {
    format!(
        r#"{{"brands":{{"acme":0.81,"northwind":0.33}},"categories":{{"footwear":0.92,"outdoor":0.41}},"tags":["trail","running","waterproof"],"price_band":"mid","recency_days":{},"frequency":{},"segment":"footwear:mid"}}"#,
        i % 90,
        i % 17
    )
    .into_bytes()
}

fn rate(n: usize, start: Instant) -> f64 {
    n as f64 / start.elapsed().as_secs_f64().max(1e-9)
}

/// Runs the store benchmark with `n` shoppers.
pub fn store(n: usize) -> Result<StoreReport, BenchError> {
    let scratch = Scratch::new("store")?;
    let keys = KeyDir::new(scratch.0.join("keys"))
        .init(&crypto::rng())
        .map_err(ProfileError::from)?;
    let rng = crypto::rng();
    let mut store = Store::open(&scratch.0.join("bench.db"))?;
    store.conn().execute_batch(
        "CREATE TABLE plain_profiles (loyalty TEXT PRIMARY KEY, features BLOB NOT NULL);",
    )?;
    let consent = Consent {
        personalise: true,
        analytics: true,
    };
    let number = |i: usize| format!("LC{i:010}");
    let loyalty = |i: usize| LoyaltyNumber::parse(&number(i)).map_err(step);

    // Enrol everyone once (not measured).
    {
        let tx = store.conn_mut().transaction()?;
        for i in 0..n {
            let token = keys.pepper.loyalty_token(&loyalty(i)?);
            profile::get_or_create(&tx, &keys, &rng, &token, consent, 0)?;
        }
        tx.commit()?;
    }

    // Write + seal, one transaction per write: the write path of one sealed row, as the kiosk
    // takes it when a consenting shopper's scan or choice goes into their profile (an event row
    // there, a features row here: the same seal and insert).
    let start = Instant::now();
    for i in 0..n {
        let token = keys.pepper.loyalty_token(&loyalty(i)?);
        let record = shoppers::find(store.conn(), &token)?
            .ok_or_else(|| BenchError::Failed("enrolled shopper missing"))?;
        let key = profile::unwrap_key(&keys, &record)?;
        let sealed = crypto::seal(&key, &record.id, RowKind::Features, &features_json(i), &rng)
            .map_err(ProfileError::from)?;
        let tx = store.conn_mut().transaction()?;
        shoppers::replace_row(&tx, &record.id, RowKind::Features, &sealed)?;
        tx.commit()?;
    }
    let write = rate(n, start);
    let start = Instant::now();
    for i in 0..n {
        let tx = store.conn_mut().transaction()?;
        tx.prepare_cached(
            "INSERT OR REPLACE INTO plain_profiles (loyalty, features) VALUES (?1, ?2)",
        )?
        .execute(params![number(i), features_json(i)])?;
        tx.commit()?;
    }
    let write_base = rate(n, start);

    // Read + open: lookup by token, unwrap the data key, open the features row, parse it.
    let start = Instant::now();
    for i in 0..n {
        let token = keys.pepper.loyalty_token(&loyalty(i)?);
        let record = shoppers::find(store.conn(), &token)?
            .ok_or_else(|| BenchError::Failed("enrolled shopper missing"))?;
        let key = profile::unwrap_key(&keys, &record)?;
        let rows = shoppers::rows(store.conn(), &record.id, RowKind::Features)?;
        let blob = rows
            .first()
            .ok_or_else(|| BenchError::Failed("features row missing"))?;
        let plain =
            crypto::open(&key, &record.id, RowKind::Features, blob).map_err(ProfileError::from)?;
        let _: serde_json::Value = serde_json::from_slice(&plain).map_err(step)?;
    }
    let read = rate(n, start);
    let start = Instant::now();
    for i in 0..n {
        let bytes: Vec<u8> = store
            .conn()
            .prepare_cached("SELECT features FROM plain_profiles WHERE loyalty = ?1")?
            .query_row([number(i)], |r| r.get(0))?;
        let _: serde_json::Value = serde_json::from_slice(&bytes).map_err(step)?;
    }
    let read_base = rate(n, start);

    let (import_rate, parse_rate) =
        import_rates(&scratch, &mut store_for_import(&scratch)?, 200_000)?;
    let (chacha, aes) = aead_rates(200_000)?;
    let pair = |name, ops: f64, base: f64, target| Paired {
        name,
        ops_per_sec: ops,
        baseline_ops_per_sec: base,
        ratio: ops / base,
        target_ops_per_sec: target,
    };
    Ok(StoreReport {
        shoppers: n,
        profile_read_open: pair("profile read+open", read, read_base, 5_000.0),
        profile_write_seal: pair("profile write+seal", write, write_base, 1_000.0),
        event_import: pair(
            "event import (vs parse only)",
            import_rate,
            parse_rate,
            50_000.0,
        ),
        aead_chacha20_per_sec: chacha,
        aead_aes256gcm_per_sec: aes,
    })
}

fn store_for_import(scratch: &Scratch) -> Result<Vault, BenchError> {
    let config = crate::config::Config {
        data_dir: scratch.0.join("import"),
        ..crate::config::Config::default()
    };
    KeyDir::new(config.key_dir())
        .init(&crypto::rng())
        .map_err(ProfileError::from)?;
    Ok(Vault::open(&config)?)
}

/// Writes a synthetic behaviour log of `n` events (REES46 format: 5,000 customers, 2,000
/// products), then measures (full validated + sealed import, validation alone) in events/s.
fn import_rates(scratch: &Scratch, vault: &mut Vault, n: usize) -> Result<(f64, f64), BenchError> {
    use std::io::Write;
    let path = scratch.0.join("events.csv");
    let io = |source| BenchError::Scratch {
        path: path.clone(),
        source,
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
    writeln!(out, "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session").map_err(io)?;
    let kinds = ["view", "view", "view", "cart", "purchase"];
    for i in 0..n {
        let (sec, min, hour, day) = (
            i % 60,
            (i / 60) % 60,
            (i / 3600) % 24,
            1 + (i / 86_400) % 28,
        );
        writeln!(
            out,
            "2026-10-{day:02} {hour:02}:{min:02}:{sec:02} UTC,{},{},2053,electronics.audio.headphone,brand{},{}.99,{},s{}",
            kinds[i % 5],
            1000 + (i * 7919) % 2000,
            i % 40,
            10 + i % 300,
            500_000 + (i * 104_729) % 5000,
            i / 8
        )
        .map_err(io)?;
    }
    out.flush().map_err(io)?;
    drop(out);
    let rules = Rules {
        now: i64::MAX / 4,
        ..Rules::default()
    };
    let start = Instant::now();
    let source = ingest::open_source(&path).map_err(step)?;
    let accepted = ingest::read_events(source.reader, "bench", EventFormat::Rees46, &rules)
        .map_err(step)?
        .filter(|r| matches!(r, ingest::Row::Accepted { .. }))
        .count();
    let parse = rate(accepted, start);
    let start = Instant::now();
    let outcome = crate::import::events(
        vault,
        &path,
        EventFormat::Rees46,
        &rules,
        0,
        &indicatif::ProgressBar::hidden(),
    )
    .map_err(step)?;
    let full = rate(outcome.events_new as usize, start);
    if outcome.events_new as usize != n {
        return Err(BenchError::Check(format!(
            "imported {} of {n} events",
            outcome.events_new
        )));
    }
    Ok((full, parse))
}

/// Seals per second of a 256-byte row with each AEAD.
fn aead_rates(n: usize) -> Result<(f64, f64), BenchError> {
    let run = |alg: &'static aead::Algorithm| -> Result<f64, BenchError> {
        let key = LessSafeKey::new(
            UnboundKey::new(alg, &[7u8; 32]).map_err(|_| BenchError::Failed("aead key"))?,
        );
        let mut buf = vec![0u8; 256];
        let start = Instant::now();
        for i in 0..n {
            let mut nonce = [0u8; 12];
            nonce[..8].copy_from_slice(&(i as u64).to_le_bytes());
            buf.truncate(256);
            key.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&[1u8; 36]),
                &mut buf,
            )
            .map_err(|_| BenchError::Failed("seal"))?;
        }
        Ok(rate(n, start))
    };
    Ok((run(&aead::CHACHA20_POLY1305)?, run(&aead::AES_256_GCM)?))
}
