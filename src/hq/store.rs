//! HQ storage behind one trait, [`HqStore`], with two backends: SQLite ([`SqliteHq`], the
//! embedded default, `hq serve --db FILE`) and PostgreSQL ([`PgHq`](super::pg::PgHq), what a
//! fleet runs, `hq serve --database-url postgres://…`). [`open`] picks one from [`HqDatabase`].
//! Both pass the same HQ test suite (`tests/hq_*.rs`, each test run once per backend).
//!
//! Invariants:
//! - [`HqStore::ingest`] is atomic: a batch's row (with its signed document), its roll-up sums
//!   and the kiosk's sequence number are stored together or not at all, and the duplicate /
//!   replay / regression decision is taken inside the same transaction.
//! - A batch id is stored once; its cells are counted once: they are added to the per-day
//!   roll-up ([`super::rollup`]) in the ingest transaction, and every report, the priors and the
//!   dashboard read only the roll-up ([`HqStore::grouped`]). Cells are not stored apart from
//!   the document they came in (schema version 7 dropped the raw `cells` table): the kiosk-day
//!   roll-up keeps every dimension of a cell.
//! - Raw batch documents are emptied after the retention ([`HqStore::sweep_raw`],
//!   [`super::retention`]); the batch row (id, kiosk, seq, digest) and the roll-up stay.
//! - Bearer tokens are stored only as SHA-256 digests.
//! - [`HqStore::record_audit_head`] is atomic too: the report-number check (duplicate / stale),
//!   the verdict against the head recorded before ([`judge`]) and the new head are decided and
//!   stored in one transaction. The kiosk row keeps the latest head; every report that moved the
//!   head or raised an alarm is kept in `audit_reports` with its signed bytes, as evidence.

use std::path::Path;
use std::sync::Mutex;

use ring::digest;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

use super::rollup::{self, Level};
use super::HqError;
use crate::feedback::cells::{Counts, Day, Ipw};
use crate::store::open_migrated;
use crate::wire::{AuditHeadDocument, AuditVerdict, BatchDocument, Dropped};

/// HQ's schema, one migration per entry.
pub const MIGRATIONS: &[&str] = &[
    "
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
",
    // v2: the kiosks' signed audit-log heads.
    "
ALTER TABLE kiosks ADD COLUMN audit_report_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE kiosks ADD COLUMN audit_report_sha BLOB;
ALTER TABLE kiosks ADD COLUMN audit_head_seq INTEGER;
ALTER TABLE kiosks ADD COLUMN audit_head_hash TEXT;
ALTER TABLE kiosks ADD COLUMN audit_chain_intact INTEGER;
ALTER TABLE kiosks ADD COLUMN audit_verdict TEXT;
ALTER TABLE kiosks ADD COLUMN audit_received_at INTEGER;
CREATE TABLE audit_reports (
    kiosk_id TEXT NOT NULL REFERENCES kiosks(kiosk_id),
    report_seq INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    head_seq INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    chain_intact INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    previous_seq INTEGER,
    previous_hash TEXT,
    acknowledged_at INTEGER,
    sha256 BLOB NOT NULL,
    document BLOB NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (kiosk_id, report_seq)
) STRICT;
",
    // v3: analyst tokens expire and can be revoked; dashboard sessions. Tokens made before this
    // version expire DEFAULT_TOKEN_DAYS (90) after the upgrade.
    "
ALTER TABLE tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
UPDATE tokens SET expires_at = CAST(strftime('%s', 'now') AS INTEGER) + 90 * 86400;
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;
ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;
CREATE INDEX tokens_by_name ON tokens(name);
CREATE TABLE sessions (
    hash BLOB PRIMARY KEY,
    token_hash BLOB NOT NULL REFERENCES tokens(hash),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
",
    // v4: the per-day roll-up reports read (`super::rollup`), filled from the cells stored so
    // far; raw batch documents can be swept after the retention (`super::retention`), keeping
    // the batch row (id, kiosk, seq, digest) so a replay is still refused.
    "
CREATE TABLE rollup_kiosk_day (
    day INTEGER NOT NULL,
    store_id TEXT NOT NULL,
    kiosk_id TEXT NOT NULL,
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
    ipw_conversions REAL NOT NULL,
    PRIMARY KEY (day, store_id, kiosk_id, sku, style, segment, content_kind)
) STRICT, WITHOUT ROWID;
CREATE TABLE rollup_store_day (
    day INTEGER NOT NULL,
    store_id TEXT NOT NULL,
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
    ipw_conversions REAL NOT NULL,
    PRIMARY KEY (day, store_id, style, segment, content_kind)
) STRICT, WITHOUT ROWID;
INSERT INTO rollup_kiosk_day
SELECT day, store_id, kiosk_id, sku, style, segment, content_kind, sum(sessions),
    sum(impressions), sum(taps), sum(thumbs_up), sum(thumbs_down), sum(whys), sum(opt_outs),
    sum(dwells), sum(dwell_ms), sum(conversions), sum(ipw_impressions), sum(ipw_taps),
    sum(ipw_conversions)
FROM cells GROUP BY day, store_id, kiosk_id, sku, style, segment, content_kind;
INSERT INTO rollup_store_day
SELECT day, store_id, style, segment, content_kind, sum(sessions), sum(impressions), sum(taps),
    sum(thumbs_up), sum(thumbs_down), sum(whys), sum(opt_outs), sum(dwells), sum(dwell_ms),
    sum(conversions), sum(ipw_impressions), sum(ipw_taps), sum(ipw_conversions)
FROM cells GROUP BY day, store_id, style, segment, content_kind;
CREATE INDEX cells_by_batch ON cells(batch_id);
ALTER TABLE batches ADD COLUMN raw_swept_at INTEGER;
CREATE INDEX batches_raw_by_received ON batches(received_at) WHERE raw_swept_at IS NULL;
",
    // v5: the experiment arm is a dimension of cells and both roll-ups (`crate::experiment`);
    // everything stored before was personalised. SQLite cannot change a primary key in place, so
    // the roll-ups are rebuilt with the arm in theirs.
    "
ALTER TABLE cells ADD COLUMN arm TEXT NOT NULL DEFAULT 'personalised';
CREATE TABLE rollup_kiosk_day_v5 (
    day INTEGER NOT NULL,
    store_id TEXT NOT NULL,
    kiosk_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    style TEXT NOT NULL,
    segment TEXT NOT NULL,
    content_kind TEXT NOT NULL,
    arm TEXT NOT NULL,
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
    ipw_conversions REAL NOT NULL,
    PRIMARY KEY (day, store_id, kiosk_id, sku, style, segment, content_kind, arm)
) STRICT, WITHOUT ROWID;
INSERT INTO rollup_kiosk_day_v5
SELECT day, store_id, kiosk_id, sku, style, segment, content_kind, 'personalised',
    sessions, impressions, taps, thumbs_up, thumbs_down, whys, opt_outs, dwells, dwell_ms,
    conversions, ipw_impressions, ipw_taps, ipw_conversions
FROM rollup_kiosk_day;
DROP TABLE rollup_kiosk_day;
ALTER TABLE rollup_kiosk_day_v5 RENAME TO rollup_kiosk_day;
CREATE TABLE rollup_store_day_v5 (
    day INTEGER NOT NULL,
    store_id TEXT NOT NULL,
    style TEXT NOT NULL,
    segment TEXT NOT NULL,
    content_kind TEXT NOT NULL,
    arm TEXT NOT NULL,
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
    ipw_conversions REAL NOT NULL,
    PRIMARY KEY (day, store_id, style, segment, content_kind, arm)
) STRICT, WITHOUT ROWID;
INSERT INTO rollup_store_day_v5
SELECT day, store_id, style, segment, content_kind, 'personalised',
    sessions, impressions, taps, thumbs_up, thumbs_down, whys, opt_outs, dwells, dwell_ms,
    conversions, ipw_impressions, ipw_taps, ipw_conversions
FROM rollup_store_day;
DROP TABLE rollup_store_day;
ALTER TABLE rollup_store_day_v5 RENAME TO rollup_store_day;
",
    // v6: reports read the roll-up, so nothing reads cells by day.
    "DROP INDEX cells_by_day;",
    // v7: no raw cells table. Nothing read it: reports read the roll-up, whose kiosk-day level
    // keeps every dimension of a cell, and the signed batch document is the raw evidence (kept
    // for the retention). Ingest adds a batch's rows, summed by HQ (`rollup::Level::batch_rows`),
    // to the roll-up instead of writing each cell twice.
    "DROP TABLE cells;",
];

/// How long an analyst token lives unless `hq token create --expires-in-days` says otherwise.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;
/// How long a dashboard session lives at most (never past its token's expiry).
pub const SESSION_SECS: i64 = 12 * 3600;

/// An analyst token as `hq token list` shows it: never the token or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub name: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// The last request it (or a dashboard session opened with it) authenticated.
    pub last_used_at: Option<i64>,
}

/// An enrolled kiosk and its fleet status.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
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
    /// The kiosk's audit-log head as last reported; `None` until it reports one (kiosks older
    /// than the audit head never do).
    pub audit: Option<KioskAudit>,
}

/// What HQ checks a kiosk's signed request against: its key, whether it may send, and the store
/// it is enrolled for. The part of [`KioskRecord`] authentication needs, read on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskCredentials {
    pub kiosk_id: String,
    pub store_id: String,
    pub public_key: Vec<u8>,
    pub enabled: bool,
}

/// A kiosk's audit-log head as HQ last recorded it, with the alarms raised so far.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct KioskAudit {
    pub report_seq: u64,
    pub head_seq: u64,
    pub head_hash: String,
    pub chain_intact: bool,
    /// What HQ made of the last report.
    pub verdict: AuditVerdict,
    pub received_at: i64,
    /// Reports that showed the log rewritten (regressed, forked, broken), ever.
    pub alarms: u64,
    /// Of those, the ones nobody has acknowledged yet (`hq audit-ack`): the kiosk's health is
    /// `audit_alarm` while there are any.
    pub open_alarms: u64,
    pub last_alarm: Option<AuditAlarm>,
}

/// One report that showed a kiosk's audit log rewritten.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditAlarm {
    pub verdict: AuditVerdict,
    pub received_at: i64,
    pub report_seq: u64,
    pub head_seq: u64,
    pub head_hash: String,
    /// The head recorded before it.
    pub previous_seq: Option<u64>,
    pub previous_hash: Option<String>,
    /// When it was acknowledged (`hq audit-ack`), if it was.
    pub acknowledged_at: Option<i64>,
}

/// A verified audit head report, ready to record.
#[derive(Debug)]
pub struct AuditHeadReport<'a> {
    pub doc: &'a AuditHeadDocument,
    pub bytes: &'a [u8],
    pub signature: &'a [u8],
    pub now: i64,
}

/// How HQ answered an audit head report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditHeadOutcome {
    /// Recorded as the kiosk's latest head; `previous` is the head recorded before it.
    Recorded {
        verdict: AuditVerdict,
        previous: Option<(u64, String)>,
    },
    /// The same report again (a re-send after a lost answer): nothing changes.
    Duplicate { verdict: AuditVerdict },
    /// A report number not above the last recorded one (a played-back report): refused.
    Stale { last_report_seq: u64 },
}

/// The head HQ recorded last for a kiosk, as [`judge`] compares against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedHead {
    pub seq: u64,
    pub hash: String,
    pub chain_intact: bool,
}

/// What a reported head says about the kiosk's audit log, given the head recorded before it:
/// a lower seq is [`Regressed`](AuditVerdict::Regressed), the same seq with another hash
/// [`Forked`](AuditVerdict::Forked); otherwise a chain the kiosk itself finds broken is
/// [`Broken`](AuditVerdict::Broken) when it was intact before (while it stays broken, the head's
/// relation is reported and `chain_intact` stays false in the record).
pub fn judge(previous: Option<&RecordedHead>, doc: &AuditHeadDocument) -> AuditVerdict {
    let relation = match previous {
        None => AuditVerdict::Advanced,
        Some(p) if doc.head_seq < p.seq => AuditVerdict::Regressed,
        Some(p) if doc.head_seq == p.seq && doc.head_hash != p.hash => AuditVerdict::Forked,
        Some(p) if doc.head_seq == p.seq => AuditVerdict::Unchanged,
        Some(_) => AuditVerdict::Advanced,
    };
    let newly_broken = !doc.chain_intact && previous.is_none_or(|p| p.chain_intact);
    if newly_broken && !relation.is_alarm() {
        AuditVerdict::Broken
    } else {
        relation
    }
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

/// A report dimension (`group_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    Store,
    Kiosk,
    Sku,
    Style,
    Segment,
    ContentKind,
    Day,
    /// The experiment arm (`holdout`, `personalised`, `experiment:arm`).
    Arm,
}

impl Dim {
    pub const ALL: [Dim; 8] = [
        Self::Store,
        Self::Kiosk,
        Self::Sku,
        Self::Style,
        Self::Segment,
        Self::ContentKind,
        Self::Day,
        Self::Arm,
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
            Self::Arm => "arm",
        }
    }

    pub(crate) fn column(self) -> &'static str {
        match self {
            Self::Store => "store_id",
            Self::Kiosk => "kiosk_id",
            Self::Sku => "sku",
            Self::Style => "style",
            Self::Segment => "segment",
            Self::ContentKind => "content_kind",
            Self::Day => "day",
            Self::Arm => "arm",
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
                    "unknown group_by {part:?}; expected store, kiosk, sku, style, segment, content_kind, day, arm"
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
    /// What a signed kiosk request is checked against (one row, nothing else read): every kiosk
    /// request asks for it before its body is decoded.
    fn credentials(&self, kiosk: &str) -> Result<Option<KioskCredentials>, HqError>;
    fn kiosks(&self) -> Result<Vec<KioskRecord>, HqError>;
    fn ingest(&self, batch: &IngestBatch<'_>) -> Result<IngestOutcome, HqError>;
    /// Sums cells with `from <= day <= to`, grouped by `dims`, from the per-day roll-up.
    fn grouped(
        &self,
        from: Option<Day>,
        to: Option<Day>,
        dims: &[Dim],
    ) -> Result<Vec<GroupRow>, HqError>;
    /// Stores an analyst token's digest under `name`, valid until `expires_at`; refused
    /// ([`HqError::TokenNameTaken`]) while a live (unrevoked, unexpired) token has that name.
    fn add_token(
        &self,
        name: &str,
        digest: &[u8; 32],
        now: i64,
        expires_at: i64,
    ) -> Result<(), HqError>;
    /// True when the token is known, not revoked and not expired at `now`; records `now` as its
    /// last use.
    fn token_valid(&self, digest: &[u8; 32], now: i64) -> Result<bool, HqError>;
    /// Every token ever made (revoked and expired ones too), by name then creation.
    fn tokens(&self) -> Result<Vec<TokenInfo>, HqError>;
    /// Revokes the live tokens named `name` (their sessions end with them); returns how many.
    fn revoke_token(&self, name: &str, now: i64) -> Result<u64, HqError>;
    /// Opens a dashboard session (its digest) for a valid token, until `expires_at` or the
    /// token's expiry, whichever comes first; false (nothing stored) when the token is not valid.
    /// Sessions expired by `now` are removed.
    fn start_session(
        &self,
        session: &[u8; 32],
        token: &[u8; 32],
        now: i64,
        expires_at: i64,
    ) -> Result<bool, HqError>;
    /// True when the session is known and unexpired and its token still valid (records `now` as
    /// the token's last use).
    fn session_valid(&self, session: &[u8; 32], now: i64) -> Result<bool, HqError>;
    /// Ends a session (logout); an unknown one is no error.
    fn end_session(&self, session: &[u8; 32]) -> Result<(), HqError>;
    /// Records a kiosk's verified audit head report (see [`AuditHeadOutcome`]).
    fn record_audit_head(&self, report: &AuditHeadReport<'_>) -> Result<AuditHeadOutcome, HqError>;
    /// Marks a kiosk's open audit alarms as looked into (they stay on record); returns how many.
    /// An unknown kiosk is an error.
    fn acknowledge_audit_alarms(&self, kiosk: &str, now: i64) -> Result<u64, HqError>;
    /// Empties the signed document of at most `limit` batches received
    /// before `before` (oldest first), in one transaction; `now` is recorded as when. The batch
    /// rows stay (id, kiosk, seq, digest: a replay is still refused, a re-send still recognised)
    /// and so does the roll-up (reports do not change). See [`super::retention`].
    fn sweep_raw(&self, before: i64, now: i64, limit: u32) -> Result<Swept, HqError>;
}

/// What one [`HqStore::sweep_raw`] call removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Swept {
    /// Batches whose signed document was emptied.
    pub batches: u64,
}

/// Which database HQ keeps its data in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HqDatabase {
    /// An SQLite file (created if missing).
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL URL (`postgres://USER:PASSWORD@HOST:PORT/DB`, or `host=… dbname=…`).
    Postgres(String),
}

/// Opens (and migrates) HQ's database.
pub fn open(db: &HqDatabase) -> Result<std::sync::Arc<dyn HqStore>, HqError> {
    Ok(match db {
        HqDatabase::Sqlite(path) => std::sync::Arc::new(SqliteHq::open(path)?),
        HqDatabase::Postgres(url) => std::sync::Arc::new(super::pg::PgHq::connect(
            url,
            &super::pg::PgOptions::default(),
        )?),
    })
}

/// SHA-256 of a bearer token (what is stored).
pub fn token_digest(token: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

// The token and session statements (the PostgreSQL store has its own, with typed parameters).
/// Adds a token unless a live one has its name (no row inserted then).
const SQL_ADD_TOKEN: &str = "INSERT INTO tokens (hash, name, created_at, expires_at)
     SELECT ?1, ?2, ?3, ?4
     WHERE NOT EXISTS (SELECT 1 FROM tokens
                       WHERE name = ?2 AND revoked_at IS NULL AND expires_at > ?3)";
/// Marks a live token used: one row when it is valid.
const SQL_USE_TOKEN: &str = "UPDATE tokens SET last_used_at = ?2
     WHERE hash = ?1 AND revoked_at IS NULL AND expires_at > ?2";
const SQL_TOKENS: &str = "SELECT name, created_at, expires_at, revoked_at, last_used_at FROM tokens
     ORDER BY name, created_at";
const SQL_REVOKE_TOKEN: &str = "UPDATE tokens SET revoked_at = ?2
     WHERE name = ?1 AND revoked_at IS NULL AND expires_at > ?2";
const SQL_PURGE_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= ?1";
/// Opens a session for a live token: one row when the token is valid.
const SQL_START_SESSION: &str = "INSERT INTO sessions (hash, token_hash, created_at, expires_at)
     SELECT ?1, hash, ?3, CASE WHEN expires_at < ?4 THEN expires_at ELSE ?4 END FROM tokens
     WHERE hash = ?2 AND revoked_at IS NULL AND expires_at > ?3";
/// Marks the token of a live session used: one row when the session (and its token) is valid.
const SQL_USE_SESSION: &str = "UPDATE tokens SET last_used_at = ?2
     WHERE hash = (SELECT token_hash FROM sessions WHERE hash = ?1 AND expires_at > ?2)
       AND revoked_at IS NULL AND expires_at > ?2";
const SQL_END_SESSION: &str = "DELETE FROM sessions WHERE hash = ?1";

/// The SQLite implementation.
pub struct SqliteHq {
    conn: Mutex<Connection>,
    path: std::path::PathBuf,
}

impl SqliteHq {
    pub fn open(path: &Path) -> Result<Self, HqError> {
        Ok(Self {
            conn: Mutex::new(open_migrated(path, MIGRATIONS)?),
            path: path.to_path_buf(),
        })
    }

    /// Runs `f` on the connection. A full disk (`SQLITE_FULL`: the transaction was rolled back,
    /// nothing of it stored) becomes [`HqError::StorageFull`] naming this database.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, HqError>) -> Result<T, HqError> {
        let mut guard = self.conn.lock().map_err(|_| HqError::Poisoned)?;
        f(&mut guard).map_err(|e| match e {
            HqError::Store(s) if s.is_disk_full() => HqError::StorageFull {
                path: self.path.clone(),
                source: s,
            },
            other => other,
        })
    }
}

/// [`HqStore::credentials`]'s query, the same text on both backends (`$1`).
pub(crate) const CREDENTIALS_QUERY: &str =
    "SELECT kiosk_id, store_id, public_key, enabled FROM kiosks WHERE kiosk_id = $1";

const KIOSK_COLUMNS: &str = "kiosk_id, store_id, public_key, enabled, enrolled_at, last_seen, \
                             last_seq, backlog, software, batches, dropped, audit_report_seq, \
                             audit_head_seq, audit_head_hash, audit_chain_intact, audit_verdict, \
                             audit_received_at";

fn kiosk_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KioskRecord> {
    let dropped: Option<String> = r.get(10)?;
    let audit = match (
        r.get::<_, Option<u64>>(12)?,
        r.get::<_, Option<String>>(13)?,
        r.get::<_, Option<bool>>(14)?,
        r.get::<_, Option<String>>(15)?,
        r.get::<_, Option<i64>>(16)?,
    ) {
        (Some(head_seq), Some(head_hash), Some(chain_intact), Some(verdict), Some(at)) => {
            Some(KioskAudit {
                report_seq: r.get(11)?,
                head_seq,
                head_hash,
                chain_intact,
                verdict: AuditVerdict::parse(&verdict).unwrap_or(AuditVerdict::Broken),
                received_at: at,
                alarms: 0,
                open_alarms: 0,
                last_alarm: None,
            })
        }
        _ => None,
    };
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
        audit,
    })
}

/// What [`alarms`] finds per kiosk: (alarms, open alarms, the latest alarm).
type AlarmSummary = (u64, u64, AuditAlarm);

/// The alarm counts and the latest alarm of every kiosk that has one (of `kiosk` only, if given).
fn alarms(
    c: &Connection,
    kiosk: Option<&str>,
) -> Result<std::collections::HashMap<String, AlarmSummary>, HqError> {
    let mut stmt = c.prepare_cached(
        "SELECT kiosk_id, verdict, received_at, report_seq, head_seq, head_hash, previous_seq,
                previous_hash, acknowledged_at
         FROM audit_reports
         WHERE verdict IN ('regressed', 'forked', 'broken') AND (?1 IS NULL OR kiosk_id = ?1)
         ORDER BY kiosk_id, report_seq",
    )?;
    let rows = stmt.query_map([kiosk], |r| {
        let verdict: String = r.get(1)?;
        Ok((
            r.get::<_, String>(0)?,
            AuditAlarm {
                verdict: AuditVerdict::parse(&verdict).unwrap_or(AuditVerdict::Broken),
                received_at: r.get(2)?,
                report_seq: r.get(3)?,
                head_seq: r.get(4)?,
                head_hash: r.get(5)?,
                previous_seq: r.get(6)?,
                previous_hash: r.get(7)?,
                acknowledged_at: r.get(8)?,
            },
        ))
    })?;
    let mut out: std::collections::HashMap<String, AlarmSummary> = Default::default();
    for row in rows {
        let (kiosk, alarm) = row?;
        let (n, open) = out.get(&kiosk).map_or((0, 0), |(n, open, _)| (*n, *open));
        let open = open + u64::from(alarm.acknowledged_at.is_none());
        out.insert(kiosk, (n + 1, open, alarm));
    }
    Ok(out)
}

/// Adds the alarm counts and latest alarms to kiosk records.
fn with_alarms(
    mut kiosks: Vec<KioskRecord>,
    mut found: std::collections::HashMap<String, AlarmSummary>,
) -> Vec<KioskRecord> {
    for k in &mut kiosks {
        if let (Some(audit), Some((n, open, last))) = (k.audit.as_mut(), found.remove(&k.kiosk_id))
        {
            audit.alarms = n;
            audit.open_alarms = open;
            audit.last_alarm = Some(last);
        }
    }
    kiosks
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
            let record = c
                .prepare_cached(&format!(
                    "SELECT {KIOSK_COLUMNS} FROM kiosks WHERE kiosk_id = ?1"
                ))?
                .query_row([kiosk], kiosk_row)
                .optional()?;
            let found = alarms(c, Some(kiosk))?;
            Ok(with_alarms(record.into_iter().collect(), found).pop())
        })
    }

    fn credentials(&self, kiosk: &str) -> Result<Option<KioskCredentials>, HqError> {
        self.with(|c| {
            Ok(c.prepare_cached(CREDENTIALS_QUERY)?
                .query_row([kiosk], |r| {
                    Ok(KioskCredentials {
                        kiosk_id: r.get(0)?,
                        store_id: r.get(1)?,
                        public_key: r.get(2)?,
                        enabled: r.get(3)?,
                    })
                })
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
            Ok(with_alarms(rows, alarms(c, None)?))
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
            for level in Level::ALL {
                let mut stmt = tx.prepare_cached(level.upsert_sql())?;
                for (key, sums) in level.batch_rows(&doc.cells)? {
                    let texts: Vec<&str> = level
                        .key()
                        .iter()
                        .map(|c| match *c {
                            "store_id" => doc.store_id.as_str(),
                            "kiosk_id" => doc.kiosk_id.as_str(),
                            c => key.text(c),
                        })
                        .collect();
                    let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(21);
                    for (column, text) in level.key().iter().zip(&texts) {
                        values.push(if *column == "day" { &key.day } else { text });
                    }
                    values.extend(sums.whole.iter().map(|v| v as &dyn rusqlite::ToSql));
                    values.extend(sums.ipw.iter().map(|v| v as &dyn rusqlite::ToSql));
                    stmt.execute(values.as_slice())?;
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
        let sql = rollup::grouped_sql(dims);
        let n = dims.len();
        self.with(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
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

    fn add_token(
        &self,
        name: &str,
        digest: &[u8; 32],
        now: i64,
        expires_at: i64,
    ) -> Result<(), HqError> {
        let added = self
            .with(|c| Ok(c.execute(SQL_ADD_TOKEN, params![&digest[..], name, now, expires_at])?))?;
        if added == 0 {
            return Err(HqError::TokenNameTaken(name.to_string()));
        }
        Ok(())
    }

    fn token_valid(&self, digest: &[u8; 32], now: i64) -> Result<bool, HqError> {
        self.with(|c| {
            Ok(c.prepare_cached(SQL_USE_TOKEN)?
                .execute(params![&digest[..], now])?
                == 1)
        })
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>, HqError> {
        self.with(|c| {
            let mut stmt = c.prepare(SQL_TOKENS)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(TokenInfo {
                        name: r.get(0)?,
                        created_at: r.get(1)?,
                        expires_at: r.get(2)?,
                        revoked_at: r.get(3)?,
                        last_used_at: r.get(4)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn revoke_token(&self, name: &str, now: i64) -> Result<u64, HqError> {
        self.with(|c| Ok(c.execute(SQL_REVOKE_TOKEN, params![name, now])? as u64))
    }

    fn start_session(
        &self,
        session: &[u8; 32],
        token: &[u8; 32],
        now: i64,
        expires_at: i64,
    ) -> Result<bool, HqError> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(SQL_PURGE_SESSIONS, [now])?;
            let n = tx.execute(
                SQL_START_SESSION,
                params![&session[..], &token[..], now, expires_at],
            )?;
            tx.commit()?;
            Ok(n == 1)
        })
    }

    fn session_valid(&self, session: &[u8; 32], now: i64) -> Result<bool, HqError> {
        self.with(|c| {
            Ok(c.prepare_cached(SQL_USE_SESSION)?
                .execute(params![&session[..], now])?
                == 1)
        })
    }

    fn end_session(&self, session: &[u8; 32]) -> Result<(), HqError> {
        self.with(|c| {
            c.execute(SQL_END_SESSION, [&session[..]])?;
            Ok(())
        })
    }

    fn record_audit_head(&self, report: &AuditHeadReport<'_>) -> Result<AuditHeadOutcome, HqError> {
        let doc = report.doc;
        let sha = digest::digest(&digest::SHA256, report.bytes);
        self.with(|c| {
            let tx = c.transaction()?;
            type Last = (
                u64,
                Option<Vec<u8>>,
                Option<u64>,
                Option<String>,
                Option<bool>,
                Option<String>,
            );
            let last: Last = tx
                .query_row(
                    "SELECT audit_report_seq, audit_report_sha, audit_head_seq, audit_head_hash,
                        audit_chain_intact, audit_verdict
                     FROM kiosks WHERE kiosk_id = ?1",
                    [&doc.kiosk_id],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                        ))
                    },
                )
                .optional()?
                .ok_or_else(|| HqError::UnknownKiosk(doc.kiosk_id.clone()))?;
            let (last_report_seq, last_sha, head_seq, head_hash, intact, verdict) = last;
            if doc.report_seq <= last_report_seq {
                if doc.report_seq == last_report_seq && last_sha.as_deref() == Some(sha.as_ref()) {
                    let verdict = verdict
                        .as_deref()
                        .and_then(AuditVerdict::parse)
                        .unwrap_or(AuditVerdict::Unchanged);
                    return Ok(AuditHeadOutcome::Duplicate { verdict });
                }
                return Ok(AuditHeadOutcome::Stale { last_report_seq });
            }
            let previous = match (head_seq, head_hash, intact) {
                (Some(seq), Some(hash), Some(chain_intact)) => Some(RecordedHead {
                    seq,
                    hash,
                    chain_intact,
                }),
                _ => None,
            };
            let verdict = judge(previous.as_ref(), doc);
            let previous = previous.map(|p| (p.seq, p.hash));
            if verdict != AuditVerdict::Unchanged {
                tx.execute(
                    "INSERT INTO audit_reports (kiosk_id, report_seq, received_at, head_seq,
                        head_hash, chain_intact, verdict, previous_seq, previous_hash, sha256,
                        document, signature)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        doc.kiosk_id,
                        doc.report_seq,
                        report.now,
                        doc.head_seq,
                        doc.head_hash,
                        doc.chain_intact,
                        verdict.as_str(),
                        previous.as_ref().map(|p| p.0),
                        previous.as_ref().map(|p| p.1.as_str()),
                        sha.as_ref(),
                        report.bytes,
                        report.signature
                    ],
                )?;
            }
            tx.execute(
                "UPDATE kiosks SET audit_report_seq = ?2, audit_report_sha = ?3,
                    audit_head_seq = ?4, audit_head_hash = ?5, audit_chain_intact = ?6,
                    audit_verdict = ?7, audit_received_at = ?8
                 WHERE kiosk_id = ?1",
                params![
                    doc.kiosk_id,
                    doc.report_seq,
                    sha.as_ref(),
                    doc.head_seq,
                    doc.head_hash,
                    doc.chain_intact,
                    verdict.as_str(),
                    report.now
                ],
            )?;
            tx.commit()?;
            Ok(AuditHeadOutcome::Recorded { verdict, previous })
        })
    }

    fn acknowledge_audit_alarms(&self, kiosk: &str, now: i64) -> Result<u64, HqError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let known = tx
                .prepare_cached("SELECT 1 FROM kiosks WHERE kiosk_id = ?1")?
                .exists([kiosk])?;
            if !known {
                return Err(HqError::UnknownKiosk(kiosk.to_string()));
            }
            let n = tx.execute(
                "UPDATE audit_reports SET acknowledged_at = ?2
                 WHERE kiosk_id = ?1 AND acknowledged_at IS NULL
                   AND verdict IN ('regressed', 'forked', 'broken')",
                params![kiosk, now],
            )?;
            tx.commit()?;
            Ok(n as u64)
        })
    }

    fn sweep_raw(&self, before: i64, now: i64, limit: u32) -> Result<Swept, HqError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let ids: Vec<String> = tx
                .prepare_cached(
                    "SELECT batch_id FROM batches
                     WHERE raw_swept_at IS NULL AND received_at < ?1
                     ORDER BY received_at LIMIT ?2",
                )?
                .query_map(params![before, limit], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut swept = Swept::default();
            for id in &ids {
                swept.batches += tx
                    .prepare_cached(
                        "UPDATE batches SET document = x'', signature = x'', raw_swept_at = ?2
                         WHERE batch_id = ?1",
                    )?
                    .execute(params![id, now])? as u64;
            }
            tx.commit()?;
            Ok(swept)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn doc(report_seq: u64, head_seq: u64, hash: char, chain_intact: bool) -> AuditHeadDocument {
        AuditHeadDocument {
            version: crate::wire::AUDIT_HEAD_VERSION,
            kiosk_id: "k1".into(),
            store_id: "s1".into(),
            report_seq,
            head_seq,
            head_hash: hash.to_string().repeat(64),
            chain_intact,
        }
    }

    fn head(seq: u64, hash: char, chain_intact: bool) -> RecordedHead {
        RecordedHead {
            seq,
            hash: hash.to_string().repeat(64),
            chain_intact,
        }
    }

    #[test]
    fn judge_reads_the_head_against_the_one_before() {
        use AuditVerdict::*;
        let before = head(5, 'a', true);
        assert_eq!(judge(None, &doc(1, 0, '0', true)), Advanced);
        assert_eq!(judge(Some(&before), &doc(2, 6, 'b', true)), Advanced);
        assert_eq!(judge(Some(&before), &doc(2, 5, 'a', true)), Unchanged);
        assert_eq!(judge(Some(&before), &doc(2, 4, 'c', true)), Regressed);
        assert_eq!(judge(Some(&before), &doc(2, 5, 'c', true)), Forked);
        // A chain the kiosk finds broken: an alarm when it breaks, not at every report after.
        assert_eq!(judge(Some(&before), &doc(2, 5, 'a', false)), Broken);
        assert_eq!(judge(None, &doc(1, 5, 'a', false)), Broken);
        let broken = head(5, 'a', false);
        assert_eq!(judge(Some(&broken), &doc(3, 5, 'a', false)), Unchanged);
        assert_eq!(judge(Some(&broken), &doc(3, 6, 'b', false)), Advanced);
        // Going backwards outranks a broken chain.
        assert_eq!(judge(Some(&before), &doc(2, 3, 'c', false)), Regressed);
    }

    fn report(store: &SqliteHq, d: &AuditHeadDocument, now: i64) -> AuditHeadOutcome {
        let bytes = serde_json::to_vec(d).unwrap();
        store
            .record_audit_head(&AuditHeadReport {
                doc: d,
                bytes: &bytes,
                signature: &[0; 64],
                now,
            })
            .unwrap()
    }

    #[test]
    fn heads_are_recorded_replays_refused_and_alarms_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteHq::open(&dir.path().join("hq.db")).unwrap();
        store.enroll("k1", "s1", &[7; 32], 0).unwrap();
        assert_eq!(store.kiosk("k1").unwrap().unwrap().audit, None);

        let first = doc(1, 3, 'a', true);
        assert_eq!(
            report(&store, &first, 10),
            AuditHeadOutcome::Recorded {
                verdict: AuditVerdict::Advanced,
                previous: None
            }
        );
        // The same report again is a duplicate; another one with its number is stale.
        assert_eq!(
            report(&store, &first, 11),
            AuditHeadOutcome::Duplicate {
                verdict: AuditVerdict::Advanced
            }
        );
        assert_eq!(
            report(&store, &doc(1, 9, 'b', true), 11),
            AuditHeadOutcome::Stale { last_report_seq: 1 }
        );
        assert!(matches!(
            report(&store, &doc(2, 3, 'a', true), 12),
            AuditHeadOutcome::Recorded {
                verdict: AuditVerdict::Unchanged,
                ..
            }
        ));
        assert_eq!(
            report(&store, &doc(3, 2, 'c', true), 13),
            AuditHeadOutcome::Recorded {
                verdict: AuditVerdict::Regressed,
                previous: Some((3, "a".repeat(64)))
            }
        );
        assert!(matches!(
            report(&store, &doc(4, 2, 'd', true), 14),
            AuditHeadOutcome::Recorded {
                verdict: AuditVerdict::Forked,
                ..
            }
        ));
        let k = store.kiosk("k1").unwrap().unwrap();
        let audit = k.audit.unwrap();
        assert_eq!((audit.report_seq, audit.head_seq), (4, 2));
        assert_eq!(audit.head_hash, "d".repeat(64));
        assert_eq!(audit.verdict, AuditVerdict::Forked);
        assert_eq!((audit.alarms, audit.open_alarms), (2, 2));
        let last = audit.last_alarm.unwrap();
        assert_eq!((last.verdict, last.report_seq), (AuditVerdict::Forked, 4));
        assert_eq!(last.previous_seq, Some(2));
        assert_eq!(store.kiosks().unwrap()[0].audit.as_ref().unwrap().alarms, 2);
        // Acknowledged: on record still, no longer open; a later alarm is open again.
        assert_eq!(store.acknowledge_audit_alarms("k1", 20).unwrap(), 2);
        assert_eq!(store.acknowledge_audit_alarms("k1", 21).unwrap(), 0);
        assert!(matches!(
            store.acknowledge_audit_alarms("nobody", 21),
            Err(HqError::UnknownKiosk(_))
        ));
        let audit = store.kiosk("k1").unwrap().unwrap().audit.unwrap();
        assert_eq!((audit.alarms, audit.open_alarms), (2, 0));
        assert_eq!(audit.last_alarm.unwrap().acknowledged_at, Some(20));
        report(&store, &doc(5, 1, 'e', true), 22);
        let audit = store.kiosk("k1").unwrap().unwrap().audit.unwrap();
        assert_eq!((audit.alarms, audit.open_alarms), (3, 1));
        // Evidence: every report but the unchanged one, with its signed bytes.
        let conn = Connection::open(dir.path().join("hq.db")).unwrap();
        let kept: u64 = conn
            .query_row("SELECT count(*) FROM audit_reports", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 4);
    }
}
