//! HQ storage behind a trait; SQLite ([`SqliteHq`]) is the embedded default.
//!
//! Invariants:
//! - [`HqStore::ingest`] is atomic: a batch's row, its cells and the kiosk's sequence number are
//!   stored together or not at all, and the duplicate / replay / regression decision is taken
//!   inside the same transaction.
//! - A batch id is stored once; its cells are counted once.
//! - Bearer tokens are stored only as SHA-256 digests.

use std::path::Path;
use std::sync::Mutex;

use ring::digest;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::HqError;
use crate::feedback::cells::{Counts, Day, Ipw};
use crate::store::open_migrated;
use crate::wire::{BatchDocument, Dropped};

/// HQ's schema, one migration per entry.
const MIGRATIONS: &[&str] = &["
CREATE TABLE kiosks (
    kiosk_id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL,
    public_key BLOB NOT NULL CHECK (length(public_key) = 32),
    enabled INTEGER NOT NULL DEFAULT 1,
    enrolled_at INTEGER NOT NULL,
    last_seen INTEGER,
    last_seq INTEGER NOT NULL DEFAULT 0,
    backlog INTEGER NOT NULL DEFAULT 0,
    software TEXT,
    batches INTEGER NOT NULL DEFAULT 0,
    dropped TEXT
) STRICT;
CREATE TABLE batches (
    batch_id TEXT PRIMARY KEY,
    kiosk_id TEXT NOT NULL REFERENCES kiosks(kiosk_id),
    seq INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    sha256 BLOB NOT NULL,
    document BLOB NOT NULL,
    signature BLOB NOT NULL
) STRICT;
CREATE TABLE cells (
    batch_id TEXT NOT NULL REFERENCES batches(batch_id),
    kiosk_id TEXT NOT NULL,
    store_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    sku TEXT NOT NULL,
    style TEXT NOT NULL,
    segment TEXT NOT NULL,
    content_kind TEXT NOT NULL,
    sessions INTEGER NOT NULL,
    impressions INTEGER NOT NULL,
    taps INTEGER NOT NULL,
    thumbs_up INTEGER NOT NULL,
    thumbs_down INTEGER NOT NULL,
    whys INTEGER NOT NULL,
    opt_outs INTEGER NOT NULL,
    dwells INTEGER NOT NULL,
    dwell_ms INTEGER NOT NULL,
    conversions INTEGER NOT NULL,
    ipw_impressions REAL NOT NULL,
    ipw_taps REAL NOT NULL,
    ipw_conversions REAL NOT NULL
) STRICT;
CREATE INDEX cells_by_day ON cells(day);
CREATE TABLE tokens (
    hash BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
"];

/// An enrolled kiosk and its fleet status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KioskRecord {
    pub kiosk_id: String,
    pub store_id: String,
    #[serde(skip)]
    pub public_key: Vec<u8>,
    pub enabled: bool,
    pub enrolled_at: i64,
    pub last_seen: Option<i64>,
    pub last_seq: u64,
    /// Outbox size the kiosk reported with its last batch.
    pub backlog: u64,
    pub software: Option<String>,
    pub batches: u64,
    pub dropped: Dropped,
}

/// A verified batch, ready to store.
#[derive(Debug)]
pub struct IngestBatch<'a> {
    pub doc: &'a BatchDocument,
    pub bytes: &'a [u8],
    pub signature: &'a [u8],
    pub backlog: u64,
    pub now: i64,
}

/// How HQ answered a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    Accepted,
    /// The same batch again (a re-send after a lost acknowledgement): not counted twice.
    Duplicate,
    /// A batch id already received, older than the kiosk's last batch.
    Replay {
        last_seq: u64,
    },
    /// A new batch id whose sequence number is not above the kiosk's last one.
    Regression {
        last_seq: u64,
    },
    /// A batch id already received with different content.
    Conflict,
}

/// A report dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    Store,
    Kiosk,
    Sku,
    Style,
    Segment,
    ContentKind,
    Day,
}

impl Dim {
    pub const ALL: [Dim; 7] = [
        Self::Store,
        Self::Kiosk,
        Self::Sku,
        Self::Style,
        Self::Segment,
        Self::ContentKind,
        Self::Day,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Store => "store",
            Self::Kiosk => "kiosk",
            Self::Sku => "sku",
            Self::Style => "style",
            Self::Segment => "segment",
            Self::ContentKind => "content_kind",
            Self::Day => "day",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Self::Store => "store_id",
            Self::Kiosk => "kiosk_id",
            Self::Sku => "sku",
            Self::Style => "style",
            Self::Segment => "segment",
            Self::ContentKind => "content_kind",
            Self::Day => "day",
        }
    }

    /// Parses a comma-separated list (`store,style`); an empty list groups everything.
    pub fn parse_list(text: &str) -> Result<Vec<Dim>, HqError> {
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let d = Self::ALL
                .into_iter()
                .find(|d| d.name() == part)
                .ok_or_else(|| HqError::BadQuery(format!(
                    "unknown group_by {part:?}; expected store, kiosk, sku, style, segment, content_kind, day"
                )))?;
            if !out.contains(&d) {
                out.push(d);
            }
        }
        Ok(out)
    }
}

/// Sums of one group of cells.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    /// Values of the grouped dimensions, in `group_by` order (days as `YYYY-MM-DD`).
    pub dims: Vec<String>,
    pub sessions: u64,
    pub counts: Counts,
    pub ipw: Ipw,
}

/// Where HQ keeps kiosks, batches, cells and tokens.
pub trait HqStore: Send + Sync {
    fn enroll(&self, kiosk: &str, store: &str, public_key: &[u8], now: i64) -> Result<(), HqError>;
    /// Enables or disables a kiosk; an unknown kiosk is an error.
    fn set_enabled(&self, kiosk: &str, enabled: bool) -> Result<(), HqError>;
    fn kiosk(&self, kiosk: &str) -> Result<Option<KioskRecord>, HqError>;
    fn kiosks(&self) -> Result<Vec<KioskRecord>, HqError>;
    fn ingest(&self, batch: &IngestBatch<'_>) -> Result<IngestOutcome, HqError>;
    /// Sums cells with `from <= day <= to`, grouped by `dims`.
    fn grouped(
        &self,
        from: Option<Day>,
        to: Option<Day>,
        dims: &[Dim],
    ) -> Result<Vec<GroupRow>, HqError>;
    fn add_token(&self, name: &str, digest: &[u8; 32], now: i64) -> Result<(), HqError>;
    fn token_valid(&self, digest: &[u8; 32]) -> Result<bool, HqError>;
}

/// SHA-256 of a bearer token (what is stored).
pub fn token_digest(token: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The SQLite implementation.
pub struct SqliteHq {
    conn: Mutex<Connection>,
}

impl SqliteHq {
    pub fn open(path: &Path) -> Result<Self, HqError> {
        Ok(Self {
            conn: Mutex::new(open_migrated(path, MIGRATIONS)?),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, HqError>) -> Result<T, HqError> {
        let mut guard = self.conn.lock().map_err(|_| HqError::Poisoned)?;
        f(&mut guard)
    }
}

const KIOSK_COLUMNS: &str = "kiosk_id, store_id, public_key, enabled, enrolled_at, last_seen, \
                             last_seq, backlog, software, batches, dropped";

fn kiosk_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KioskRecord> {
    let dropped: Option<String> = r.get(10)?;
    Ok(KioskRecord {
        kiosk_id: r.get(0)?,
        store_id: r.get(1)?,
        public_key: r.get(2)?,
        enabled: r.get(3)?,
        enrolled_at: r.get(4)?,
        last_seen: r.get(5)?,
        last_seq: r.get(6)?,
        backlog: r.get(7)?,
        software: r.get(8)?,
        batches: r.get(9)?,
        dropped: dropped
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or_default(),
    })
}

impl HqStore for SqliteHq {
    fn enroll(&self, kiosk: &str, store: &str, public_key: &[u8], now: i64) -> Result<(), HqError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO kiosks (kiosk_id, store_id, public_key, enrolled_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(kiosk_id) DO UPDATE SET store_id = excluded.store_id,
                    public_key = excluded.public_key, enabled = 1",
                params![kiosk, store, public_key, now],
            )?;
            Ok(())
        })
    }

    fn set_enabled(&self, kiosk: &str, enabled: bool) -> Result<(), HqError> {
        self.with(|c| {
            let n = c.execute(
                "UPDATE kiosks SET enabled = ?2 WHERE kiosk_id = ?1",
                params![kiosk, enabled],
            )?;
            if n == 0 {
                return Err(HqError::UnknownKiosk(kiosk.to_string()));
            }
            Ok(())
        })
    }

    fn kiosk(&self, kiosk: &str) -> Result<Option<KioskRecord>, HqError> {
        self.with(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {KIOSK_COLUMNS} FROM kiosks WHERE kiosk_id = ?1"
            ))?
            .query_row([kiosk], kiosk_row)
            .optional()?)
        })
    }

    fn kiosks(&self) -> Result<Vec<KioskRecord>, HqError> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {KIOSK_COLUMNS} FROM kiosks ORDER BY store_id, kiosk_id"
            ))?;
            let rows = stmt
                .query_map([], kiosk_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn ingest(&self, b: &IngestBatch<'_>) -> Result<IngestOutcome, HqError> {
        let doc = b.doc;
        let sha = digest::digest(&digest::SHA256, b.bytes);
        self.with(|c| {
            let tx = c.transaction()?;
            let last_seq: u64 = tx
                .query_row(
                    "SELECT last_seq FROM kiosks WHERE kiosk_id = ?1",
                    [&doc.kiosk_id],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| HqError::UnknownKiosk(doc.kiosk_id.clone()))?;
            let known: Option<(Vec<u8>, u64)> = tx
                .query_row(
                    "SELECT sha256, seq FROM batches WHERE batch_id = ?1",
                    [&doc.batch_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((stored_sha, seq)) = known {
                return Ok(if stored_sha != sha.as_ref() {
                    IngestOutcome::Conflict
                } else if seq < last_seq {
                    IngestOutcome::Replay { last_seq }
                } else {
                    IngestOutcome::Duplicate
                });
            }
            if doc.seq <= last_seq {
                return Ok(IngestOutcome::Regression { last_seq });
            }
            tx.execute(
                "INSERT INTO batches (batch_id, kiosk_id, seq, received_at, sha256, document, signature)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![doc.batch_id, doc.kiosk_id, doc.seq, b.now, sha.as_ref(), b.bytes, b.signature],
            )?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO cells (batch_id, kiosk_id, store_id, day, sku, style, segment,
                        content_kind, sessions, impressions, taps, thumbs_up, thumbs_down, whys,
                        opt_outs, dwells, dwell_ms, conversions, ipw_impressions, ipw_taps,
                        ipw_conversions)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                        ?17, ?18, ?19, ?20, ?21)",
                )?;
                for cell in &doc.cells {
                    let n = &cell.counts;
                    stmt.execute(params![
                        doc.batch_id,
                        doc.kiosk_id,
                        doc.store_id,
                        cell.day.0,
                        cell.sku,
                        cell.style,
                        cell.segment,
                        cell.content_kind,
                        cell.sessions,
                        n.impressions,
                        n.taps,
                        n.thumbs_up,
                        n.thumbs_down,
                        n.whys,
                        n.opt_outs,
                        n.dwells,
                        n.dwell_ms,
                        n.conversions,
                        cell.ipw.impressions,
                        cell.ipw.taps,
                        cell.ipw.conversions
                    ])?;
                }
            }
            let dropped = serde_json::to_string(&doc.dropped)
                .map_err(|source| HqError::Encode {
                    what: "dropped counts",
                    source,
                })?;
            tx.execute(
                "UPDATE kiosks SET last_seq = ?2, last_seen = ?3, backlog = ?4, software = ?5,
                    batches = batches + 1, dropped = ?6
                 WHERE kiosk_id = ?1",
                params![doc.kiosk_id, doc.seq, b.now, b.backlog, doc.software, dropped],
            )?;
            tx.commit()?;
            Ok(IngestOutcome::Accepted)
        })
    }

    fn grouped(
        &self,
        from: Option<Day>,
        to: Option<Day>,
        dims: &[Dim],
    ) -> Result<Vec<GroupRow>, HqError> {
        let cols: Vec<&str> = dims.iter().map(|d| d.column()).collect();
        let select = if cols.is_empty() {
            String::new()
        } else {
            format!("{}, ", cols.join(", "))
        };
        let group = if cols.is_empty() {
            String::new()
        } else {
            format!("GROUP BY {0} ORDER BY {0}", cols.join(", "))
        };
        let sql = format!(
            "SELECT {select} coalesce(sum(sessions), 0), coalesce(sum(impressions), 0),
                coalesce(sum(taps), 0), coalesce(sum(thumbs_up), 0), coalesce(sum(thumbs_down), 0),
                coalesce(sum(whys), 0), coalesce(sum(opt_outs), 0), coalesce(sum(dwells), 0),
                coalesce(sum(dwell_ms), 0), coalesce(sum(conversions), 0),
                coalesce(sum(ipw_impressions), 0.0), coalesce(sum(ipw_taps), 0.0),
                coalesce(sum(ipw_conversions), 0.0)
             FROM cells WHERE day >= ?1 AND day <= ?2 {group}"
        );
        let n = dims.len();
        self.with(|c| {
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt
                .query_map(
                    params![from.map_or(i64::MIN, |d| d.0), to.map_or(i64::MAX, |d| d.0)],
                    |r| {
                        let mut values = Vec::with_capacity(n);
                        for (i, d) in dims.iter().enumerate() {
                            values.push(match d {
                                Dim::Day => Day(r.get(i)?).to_string(),
                                _ => r.get(i)?,
                            });
                        }
                        Ok(GroupRow {
                            dims: values,
                            sessions: r.get(n)?,
                            counts: Counts {
                                impressions: r.get(n + 1)?,
                                taps: r.get(n + 2)?,
                                thumbs_up: r.get(n + 3)?,
                                thumbs_down: r.get(n + 4)?,
                                whys: r.get(n + 5)?,
                                opt_outs: r.get(n + 6)?,
                                dwells: r.get(n + 7)?,
                                dwell_ms: r.get(n + 8)?,
                                conversions: r.get(n + 9)?,
                            },
                            ipw: Ipw {
                                impressions: r.get(n + 10)?,
                                taps: r.get(n + 11)?,
                                conversions: r.get(n + 12)?,
                            },
                        })
                    },
                )?
                .collect::<Result<Vec<_>, _>>()?;
            // An empty table still yields one all-zero row without GROUP BY; keep it only when
            // it counts something.
            Ok(rows
                .into_iter()
                .filter(|r| !dims.is_empty() || r.counts != Counts::default())
                .collect())
        })
    }

    fn add_token(&self, name: &str, digest: &[u8; 32], now: i64) -> Result<(), HqError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO tokens (hash, name, created_at) VALUES (?1, ?2, ?3)",
                params![&digest[..], name, now],
            )?;
            Ok(())
        })
    }

    fn token_valid(&self, digest: &[u8; 32]) -> Result<bool, HqError> {
        self.with(|c| {
            Ok(c.prepare_cached("SELECT 1 FROM tokens WHERE hash = ?1")?
                .exists([&digest[..]])?)
        })
    }
}
