//! HQ storage on PostgreSQL ([`PgHq`]): what a fleet runs (`hq serve --database-url postgres://…`).
//!
//! Invariants (the same as [`SqliteHq`](super::store::SqliteHq)'s, see [`super::store`]):
//! - [`HqStore::ingest`] is one call of the `hq_ingest` function, so one transaction and one
//!   round trip: the kiosk row is locked (`SELECT … FOR UPDATE`), the duplicate / replay /
//!   regression / conflict decision is taken under that lock, and the batch row, its roll-up
//!   rows (one `INSERT … SELECT FROM unnest(…)` per level) and the kiosk's new sequence number
//!   are committed together or not at all. Two HQ processes ingesting for the same kiosk serialise on
//!   its row; a batch id already taken (by another kiosk, concurrently) is answered `Conflict` and
//!   stores nothing.
//! - [`HqStore::record_audit_head`] locks the kiosk row the same way, so report-number checks and
//!   the new head are decided and stored in one transaction.
//! - The schema is versioned in `hq_schema_version`; [`MIGRATIONS`] are applied in order, each in
//!   the same transaction as its version row, under a transaction-level advisory lock, so any
//!   number of HQ processes may start at once against one database. A database migrated by a
//!   newer HQ is refused ([`HqError::SchemaTooNew`]).
//! - Text columns use the `"C"` collation, so reports and fleet lists order byte-wise exactly as
//!   on SQLite whatever the cluster's locale.
//! - Numbers HQ receives are at most `i64::MAX` (the wire validates that); they are stored as
//!   `BIGINT`. The roll-up's sums ([`super::rollup`]) are added as `BIGINT` (out of range is an
//!   error) and report sums are computed as `numeric` and cast back to `BIGINT`: a sum that does
//!   not fit is an error (as on SQLite), never a wrapped number.
//! - The roll-up is updated in the ingest transaction, after the kiosk row is locked; store-day
//!   rows shared by a store's kiosks are upserted in key order, so concurrent ingests cannot
//!   deadlock on them. The retention sweep skips batch rows another process holds
//!   (`FOR UPDATE SKIP LOCKED`).
//! - HQ processes keep no state besides the pool: everything lives in the database.
//!
//! The [`HqStore`] trait is synchronous (HQ's handlers call it on tokio's blocking pool). This
//! store keeps its own small tokio runtime for the pool's connections and blocks the calling
//! thread on each call ([`PgHq::run`]); it may be called from a plain thread, from a blocking task
//! or from inside an async task (where it steps off the worker first). Errors name the database
//! (host and name, never the password) and the step that failed; nothing logged here names a
//! kiosk or a store.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use ring::digest;
use tokio_postgres::config::Host;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

use super::rollup::{self, Level};
use super::store::{
    judge, AuditAlarm, AuditHeadOutcome, AuditHeadReport, Dim, GroupRow, HqStore, IngestBatch,
    IngestOutcome, KioskAudit, KioskCredentials, KioskRecord, RecordedHead, Swept, TokenInfo,
    CREDENTIALS_QUERY,
};
use super::HqError;
use crate::feedback::cells::{Counts, Day, Ipw};
use crate::wire::AuditVerdict;

/// HQ's PostgreSQL schema, one migration per entry (version = index + 1). Mirrors the SQLite
/// migrations in [`super::store`], with PostgreSQL types.
pub const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE kiosks (
    kiosk_id TEXT COLLATE "C" PRIMARY KEY,
    store_id TEXT COLLATE "C" NOT NULL,
    public_key BYTEA NOT NULL CHECK (octet_length(public_key) = 32),
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    enrolled_at BIGINT NOT NULL,
    last_seen BIGINT,
    last_seq BIGINT NOT NULL DEFAULT 0,
    backlog BIGINT NOT NULL DEFAULT 0,
    software TEXT,
    batches BIGINT NOT NULL DEFAULT 0,
    dropped TEXT
);
CREATE TABLE batches (
    batch_id TEXT COLLATE "C" PRIMARY KEY,
    kiosk_id TEXT COLLATE "C" NOT NULL REFERENCES kiosks(kiosk_id),
    seq BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    sha256 BYTEA NOT NULL,
    document BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    arrival BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
);
CREATE TABLE cells (
    batch_id TEXT COLLATE "C" NOT NULL REFERENCES batches(batch_id),
    kiosk_id TEXT COLLATE "C" NOT NULL,
    store_id TEXT COLLATE "C" NOT NULL,
    day BIGINT NOT NULL,
    sku TEXT COLLATE "C" NOT NULL,
    style TEXT COLLATE "C" NOT NULL,
    segment TEXT COLLATE "C" NOT NULL,
    content_kind TEXT COLLATE "C" NOT NULL,
    sessions BIGINT NOT NULL,
    impressions BIGINT NOT NULL,
    taps BIGINT NOT NULL,
    thumbs_up BIGINT NOT NULL,
    thumbs_down BIGINT NOT NULL,
    whys BIGINT NOT NULL,
    opt_outs BIGINT NOT NULL,
    dwells BIGINT NOT NULL,
    dwell_ms BIGINT NOT NULL,
    conversions BIGINT NOT NULL,
    ipw_impressions DOUBLE PRECISION NOT NULL,
    ipw_taps DOUBLE PRECISION NOT NULL,
    ipw_conversions DOUBLE PRECISION NOT NULL
);
CREATE INDEX cells_by_day ON cells(day);
CREATE INDEX cells_by_batch ON cells(batch_id);
CREATE TABLE tokens (
    hash BYTEA PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
"#,
    // v2: the kiosks' signed audit-log heads.
    r#"
ALTER TABLE kiosks ADD COLUMN audit_report_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kiosks ADD COLUMN audit_report_sha BYTEA;
ALTER TABLE kiosks ADD COLUMN audit_head_seq BIGINT;
ALTER TABLE kiosks ADD COLUMN audit_head_hash TEXT;
ALTER TABLE kiosks ADD COLUMN audit_chain_intact BOOLEAN;
ALTER TABLE kiosks ADD COLUMN audit_verdict TEXT;
ALTER TABLE kiosks ADD COLUMN audit_received_at BIGINT;
CREATE TABLE audit_reports (
    kiosk_id TEXT COLLATE "C" NOT NULL REFERENCES kiosks(kiosk_id),
    report_seq BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    head_seq BIGINT NOT NULL,
    head_hash TEXT NOT NULL,
    chain_intact BOOLEAN NOT NULL,
    verdict TEXT NOT NULL,
    previous_seq BIGINT,
    previous_hash TEXT,
    acknowledged_at BIGINT,
    sha256 BYTEA NOT NULL,
    document BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    PRIMARY KEY (kiosk_id, report_seq)
);
"#,
    // v3: analyst tokens expire and can be revoked; dashboard sessions. Tokens made before this
    // version expire DEFAULT_TOKEN_DAYS (90) after the upgrade.
    r#"
ALTER TABLE tokens ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
UPDATE tokens SET expires_at = extract(epoch FROM now())::bigint + 90 * 86400;
ALTER TABLE tokens ALTER COLUMN expires_at DROP DEFAULT;
ALTER TABLE tokens ADD COLUMN revoked_at BIGINT;
ALTER TABLE tokens ADD COLUMN last_used_at BIGINT;
CREATE INDEX tokens_by_name ON tokens(name);
CREATE TABLE sessions (
    hash BYTEA PRIMARY KEY,
    token_hash BYTEA NOT NULL REFERENCES tokens(hash),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
"#,
    // v4: the per-day roll-up reports read (`super::rollup`), filled from the cells stored so
    // far; raw batch documents can be swept after the retention (`super::retention`).
    r#"
CREATE TABLE rollup_kiosk_day (
    day BIGINT NOT NULL,
    store_id TEXT COLLATE "C" NOT NULL,
    kiosk_id TEXT COLLATE "C" NOT NULL,
    sku TEXT COLLATE "C" NOT NULL,
    style TEXT COLLATE "C" NOT NULL,
    segment TEXT COLLATE "C" NOT NULL,
    content_kind TEXT COLLATE "C" NOT NULL,
    sessions BIGINT NOT NULL,
    impressions BIGINT NOT NULL,
    taps BIGINT NOT NULL,
    thumbs_up BIGINT NOT NULL,
    thumbs_down BIGINT NOT NULL,
    whys BIGINT NOT NULL,
    opt_outs BIGINT NOT NULL,
    dwells BIGINT NOT NULL,
    dwell_ms BIGINT NOT NULL,
    conversions BIGINT NOT NULL,
    ipw_impressions DOUBLE PRECISION NOT NULL,
    ipw_taps DOUBLE PRECISION NOT NULL,
    ipw_conversions DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (day, store_id, kiosk_id, sku, style, segment, content_kind)
);
CREATE TABLE rollup_store_day (
    day BIGINT NOT NULL,
    store_id TEXT COLLATE "C" NOT NULL,
    style TEXT COLLATE "C" NOT NULL,
    segment TEXT COLLATE "C" NOT NULL,
    content_kind TEXT COLLATE "C" NOT NULL,
    sessions BIGINT NOT NULL,
    impressions BIGINT NOT NULL,
    taps BIGINT NOT NULL,
    thumbs_up BIGINT NOT NULL,
    thumbs_down BIGINT NOT NULL,
    whys BIGINT NOT NULL,
    opt_outs BIGINT NOT NULL,
    dwells BIGINT NOT NULL,
    dwell_ms BIGINT NOT NULL,
    conversions BIGINT NOT NULL,
    ipw_impressions DOUBLE PRECISION NOT NULL,
    ipw_taps DOUBLE PRECISION NOT NULL,
    ipw_conversions DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (day, store_id, style, segment, content_kind)
);
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
ALTER TABLE batches ADD COLUMN raw_swept_at BIGINT;
CREATE INDEX batches_raw_by_received ON batches(received_at) WHERE raw_swept_at IS NULL;
"#,
    // v5: the experiment arm is a dimension of cells and both roll-ups (`crate::experiment`);
    // everything stored before was personalised.
    r#"
ALTER TABLE cells ADD COLUMN arm TEXT COLLATE "C" NOT NULL DEFAULT 'personalised';
ALTER TABLE rollup_kiosk_day ADD COLUMN arm TEXT COLLATE "C" NOT NULL DEFAULT 'personalised';
ALTER TABLE rollup_kiosk_day DROP CONSTRAINT rollup_kiosk_day_pkey,
    ADD PRIMARY KEY (day, store_id, kiosk_id, sku, style, segment, content_kind, arm);
ALTER TABLE rollup_store_day ADD COLUMN arm TEXT COLLATE "C" NOT NULL DEFAULT 'personalised';
ALTER TABLE rollup_store_day DROP CONSTRAINT rollup_store_day_pkey,
    ADD PRIMARY KEY (day, store_id, style, segment, content_kind, arm);
"#,
    // v6: ingest does less per cell. Reports read the roll-up, so nothing reads cells by day;
    // the cells' foreign key to their batch cost a trigger query per cell on PostgreSQL (SQLite
    // never enforced it), and ingest inserts a batch's cells only with their batch, in one call
    // (`hq_ingest`). Batch documents are stored uncompressed: compressing each one cost more
    // than the disk it saved, and the retention sweep empties them after a few months.
    r#"
DROP INDEX cells_by_day;
ALTER TABLE cells DROP CONSTRAINT IF EXISTS cells_batch_id_fkey;
ALTER TABLE batches ALTER COLUMN document SET STORAGE EXTERNAL;
"#,
    // v7: no raw cells table. Nothing read it: reports read the roll-up, whose kiosk-day level
    // keeps every dimension of a cell, and the signed batch document is the raw evidence (kept
    // for the retention). Ingest adds a batch's rows, summed by HQ ([`rollup::Level::batch_rows`]),
    // to the roll-up instead of writing each cell twice. The ingest function's arguments change
    // with it, so the old one goes (it is created anew after the migrations).
    r#"
DROP FUNCTION IF EXISTS hq_ingest;
DROP TABLE cells;
"#,
];

/// The ingest function ([`HqStore::ingest`] in one round trip): locks the kiosk row, takes the
/// duplicate / replay / regression / conflict decision under the lock, then stores the batch row,
/// adds the batch's roll-up rows ([`rollup::Level::batch_rows`], summed by HQ and passed as one
/// array per column, in key order) to both levels (`INSERT … SELECT FROM unnest(…) ON CONFLICT
/// DO UPDATE`, taking the rows in array order) and records the kiosk's new sequence. Called as
/// one statement, it is one transaction: all or nothing. Each statement inside takes a fresh
/// snapshot (PL/pgSQL under READ COMMITTED), so the batch look-up after the lock sees a batch
/// committed while this call waited for it — as the transaction it replaces did.
///
/// It is code, not schema: [`PgHq::migrate`] (re)creates it after the migrations, under their
/// lock, from the roll-up's one definition. Parameters are `p_`-prefixed and results `o_`-prefixed
/// so that none shadows a column; a level's arrays are `p_<level>_<column>`
/// ([`level_params`]). Returns the outcome (`unknown_kiosk`, `conflict`, `replay`,
/// `duplicate`, `regression`, `accepted`) and the kiosk's last seq before this batch.
static INGEST_FUNCTION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut params = Vec::new();
    let mut adds = Vec::new();
    for level in Level::ALL {
        let cols = level_params(level);
        params.extend(cols.iter().map(|(name, ty)| format!("{name} {ty}[]")));
        let short: Vec<&str> = level.batch_key().chain(rollup::SUM_COLUMNS).collect();
        let select: Vec<String> = level
            .key()
            .iter()
            .map(|c| match *c {
                "store_id" => "p_store_id".to_string(),
                "kiosk_id" => "p_kiosk_id".to_string(),
                c => format!("u.{c}"),
            })
            .chain(rollup::SUM_COLUMNS.iter().map(|c| format!("u.{c}")))
            .collect();
        adds.push(format!(
            "INSERT INTO {table} AS r ({key}, {sums})
    SELECT {select} FROM unnest({arrays}) AS u({short})
    {add};",
            table = level.table(),
            key = level.key().join(", "),
            sums = rollup::SUM_COLUMNS.join(", "),
            select = select.join(", "),
            arrays = cols
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            short = short.join(", "),
            add = level.on_conflict_add(),
        ));
    }
    format!(
        r#"CREATE OR REPLACE FUNCTION hq_ingest(
    p_batch_id text, p_kiosk_id text, p_store_id text, p_seq bigint, p_now bigint,
    p_sha256 bytea, p_document bytea, p_signature bytea, p_backlog bigint, p_software text,
    p_dropped text, {params},
    OUT o_outcome text, OUT o_last_seq bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_sha bytea;
    v_seq bigint;
BEGIN
    SELECT k.last_seq INTO o_last_seq FROM kiosks k WHERE k.kiosk_id = p_kiosk_id FOR UPDATE;
    IF NOT FOUND THEN
        o_outcome := 'unknown_kiosk';
        RETURN;
    END IF;
    SELECT b.sha256, b.seq INTO v_sha, v_seq FROM batches b WHERE b.batch_id = p_batch_id;
    IF FOUND THEN
        o_outcome := CASE WHEN v_sha <> p_sha256 THEN 'conflict'
                          WHEN v_seq < o_last_seq THEN 'replay'
                          ELSE 'duplicate' END;
        RETURN;
    END IF;
    IF p_seq <= o_last_seq THEN
        o_outcome := 'regression';
        RETURN;
    END IF;
    INSERT INTO batches (batch_id, kiosk_id, seq, received_at, sha256, document, signature)
    VALUES (p_batch_id, p_kiosk_id, p_seq, p_now, p_sha256, p_document, p_signature)
    ON CONFLICT (batch_id) DO NOTHING;
    IF NOT FOUND THEN
        -- Taken since the look-up by a batch of another kiosk (ours is locked).
        o_outcome := 'conflict';
        RETURN;
    END IF;
    {adds}
    UPDATE kiosks SET last_seq = p_seq, last_seen = p_now, backlog = p_backlog,
        software = p_software, batches = batches + 1, dropped = p_dropped
    WHERE kiosk_id = p_kiosk_id;
    o_outcome := 'accepted';
END
$fn$"#,
        params = params.join(", "),
        adds = adds.join("\n    "),
    )
});

/// The ingest function's array parameters for one roll-up level, in the order
/// [`RowColumns::params`] binds them: the level's batch key ([`rollup::Level::batch_key`]),
/// then [`rollup::SUM_COLUMNS`]; each with its element type.
fn level_params(level: Level) -> Vec<(String, &'static str)> {
    let prefix = match level {
        Level::KioskDay => "kd",
        Level::StoreDay => "sd",
    };
    level
        .batch_key()
        .map(|c| (c, if c == "day" { "bigint" } else { "text" }))
        .chain(rollup::SUM_COLUMNS.iter().enumerate().map(|(i, c)| {
            (
                *c,
                if i < rollup::WHOLE_COLUMNS {
                    "bigint"
                } else {
                    "float8"
                },
            )
        }))
        .map(|(c, ty)| (format!("p_{prefix}_{c}"), ty))
        .collect()
}

/// The call of [`INGEST_FUNCTION`]: its 11 scalar parameters, then every level's arrays.
static INGEST_CALL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let n = 11
        + Level::ALL
            .iter()
            .map(|l| level_params(*l).len())
            .sum::<usize>();
    let params: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    format!(
        "SELECT o_outcome, o_last_seq FROM hq_ingest({})",
        params.join(", ")
    )
});

/// Key of the advisory lock held while migrating (any constant unique to HQ's schema).
const MIGRATION_LOCK: i64 = 0x5348_454c_4654_4851; // "SHELFTHQ"

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Most connections this process holds.
    pub max_connections: usize,
    /// How long a request waits for a connection (and for one to be opened) before it is
    /// answered 503.
    pub connect_timeout: Duration,
    /// `work_mem` of HQ's connections, unless the URL's `options` set it: what one sort or hash
    /// of a report may use before spilling to disk. At PostgreSQL's default (4 MB) the store ×
    /// day report over 480,000 store-day rows sorted through 30 MB of temporary files; with 64 MB
    /// it sums in memory, in half the time.
    pub work_mem: &'static str,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            connect_timeout: Duration::from_secs(10),
            work_mem: "64MB",
        }
    }
}

/// The PostgreSQL implementation.
pub struct PgHq {
    pool: Pool,
    /// Runs the pool's connections; `None` only while dropping.
    rt: Option<tokio::runtime::Runtime>,
    /// Host and database name, for errors (no credentials).
    target: String,
}

impl Drop for PgHq {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which tokio forbids inside async code; nothing is pending
        // here that needs waiting for (every call completed before it returned).
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// True when a PostgreSQL error may go away on its own (connection lost, serialisation failure,
/// deadlock, server shutting down or out of resources): answered 503, and the kiosk retries.
pub fn retryable(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        Some(code) => {
            let c = code.code();
            c.starts_with("08") // connection exception
                || c.starts_with("53") // insufficient resources
                || c.starts_with("57P") // operator intervention (shutdown)
                || *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED
        }
        None => {
            e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
        }
    }
}

/// "database NAME on HOST:PORT": where, without user or password.
fn describe(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let port = config
                .get_ports()
                .get(i)
                .or(config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            match h {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(dir) => format!("{}/.s.PGSQL.{port}", dir.display()),
            }
        })
        .collect();
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("(default)");
    let on = if hosts.is_empty() {
        "the default host".to_string()
    } else {
        hosts.join(",")
    };
    format!("{db:?} on {on}")
}

fn int(what: &'static str, v: u64) -> Result<i64, HqError> {
    i64::try_from(v).map_err(|_| HqError::Number {
        what,
        value: v.to_string(),
    })
}

fn uint(what: &'static str, v: i64) -> Result<u64, HqError> {
    u64::try_from(v).map_err(|_| HqError::Number {
        what,
        value: v.to_string(),
    })
}

const KIOSK_COLUMNS: &str = "kiosk_id, store_id, public_key, enabled, enrolled_at, last_seen, \
                             last_seq, backlog, software, batches, dropped, audit_report_seq, \
                             audit_head_seq, audit_head_hash, audit_chain_intact, audit_verdict, \
                             audit_received_at";

impl PgHq {
    /// Connects to `url` (`postgres://user:pass@host:port/db?…` or `host=… dbname=…`), opens the
    /// pool and migrates the schema.
    pub fn connect(url: &str, opts: &PgOptions) -> Result<Self, HqError> {
        let mut config = tokio_postgres::Config::from_str(url).map_err(|e| {
            // The parser's message may quote the URL; keep it out (it can hold a password).
            HqError::PostgresConfig(format!(
                "cannot parse the database URL (postgres://USER:PASSWORD@HOST:PORT/DB): {}",
                e.to_string().split(':').next().unwrap_or("invalid")
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(opts.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("shelftalk-hq");
        }
        let options = config.get_options().unwrap_or_default();
        if !options.contains("work_mem") {
            let with = format!("{options} -c work_mem={}", opts.work_mem);
            config.options(with.trim());
        }
        let target = describe(&config);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hq-postgres")
            .enable_all()
            .build()?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(opts.max_connections.max(1))
            .wait_timeout(Some(opts.connect_timeout))
            .create_timeout(Some(opts.connect_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| HqError::PostgresConfig(format!("cannot build the pool: {e}")))?;
        let store = Self {
            pool,
            rt: Some(rt),
            target,
        };
        store.run(store.migrate())?;
        Ok(store)
    }

    /// Where this store's database is (host and name), as errors name it.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Runs `fut` to completion on this store's runtime, blocking the calling thread. Inside a
    /// multi-threaded tokio runtime the worker is handed off first (`block_in_place`); inside a
    /// current-thread runtime the wait happens on a scoped thread.
    fn run<T: Send>(
        &self,
        fut: impl Future<Output = Result<T, HqError>> + Send,
    ) -> Result<T, HqError> {
        let Some(rt) = self.rt.as_ref() else {
            return Err(HqError::PostgresConfig("the store is shutting down".into()));
        };
        match tokio::runtime::Handle::try_current() {
            Err(_) => rt.block_on(fut),
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| rt.block_on(fut))
            }
            Ok(_) => std::thread::scope(|s| {
                s.spawn(|| rt.block_on(fut)).join().unwrap_or_else(|_| {
                    Err(HqError::PostgresConfig("a query thread panicked".into()))
                })
            }),
        }
    }

    fn err(&self, what: &'static str) -> impl Fn(tokio_postgres::Error) -> HqError + '_ {
        move |source| HqError::Postgres {
            target: self.target.clone(),
            what,
            source,
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, HqError> {
        self.pool
            .get()
            .await
            .map_err(|source| HqError::PostgresPool {
                target: self.target.clone(),
                source,
            })
    }

    async fn migrate(&self) -> Result<(), HqError> {
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(self.err("starting the migration"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(self.err("taking the migration lock"))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS hq_schema_version (
                version BIGINT PRIMARY KEY,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )",
        )
        .await
        .map_err(self.err("creating the schema version table"))?;
        let found: i64 = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM hq_schema_version",
                &[],
            )
            .await
            .map_err(self.err("reading the schema version"))?
            .get(0);
        let known = MIGRATIONS.len() as i64;
        if found > known {
            return Err(HqError::SchemaTooNew {
                target: self.target.clone(),
                found,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
            let version = i as i64 + 1;
            tx.batch_execute(sql)
                .await
                .map_err(self.err("applying a schema migration"))?;
            tx.execute(
                "INSERT INTO hq_schema_version (version) VALUES ($1)",
                &[&version],
            )
            .await
            .map_err(self.err("recording the schema version"))?;
            tracing::info!(version, "HQ PostgreSQL schema migrated");
        }
        tx.batch_execute(&INGEST_FUNCTION)
            .await
            .map_err(self.err("creating the ingest function"))?;
        tx.commit()
            .await
            .map_err(self.err("committing the migration"))?;
        Ok(())
    }

    fn kiosk_row(r: &Row) -> Result<KioskRecord, HqError> {
        let dropped: Option<String> = r.get(10);
        let audit = match (
            r.get::<_, Option<i64>>(12),
            r.get::<_, Option<String>>(13),
            r.get::<_, Option<bool>>(14),
            r.get::<_, Option<String>>(15),
            r.get::<_, Option<i64>>(16),
        ) {
            (Some(head_seq), Some(head_hash), Some(chain_intact), Some(verdict), Some(at)) => {
                Some(KioskAudit {
                    report_seq: uint("audit report seq", r.get(11))?,
                    head_seq: uint("audit head seq", head_seq)?,
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
            kiosk_id: r.get(0),
            store_id: r.get(1),
            public_key: r.get(2),
            enabled: r.get(3),
            enrolled_at: r.get(4),
            last_seen: r.get(5),
            last_seq: uint("last seq", r.get(6))?,
            backlog: uint("backlog", r.get(7))?,
            software: r.get(8),
            batches: uint("batch count", r.get(9))?,
            dropped: dropped
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or_default(),
            audit,
        })
    }

    /// The alarm counts and latest alarm of every kiosk that has one (of `kiosk` only, if
    /// given), added to `kiosks`.
    async fn with_alarms(
        &self,
        c: &deadpool_postgres::Client,
        kiosk: Option<&str>,
        mut kiosks: Vec<KioskRecord>,
    ) -> Result<Vec<KioskRecord>, HqError> {
        let stmt = c
            .prepare_cached(
                "SELECT kiosk_id, verdict, received_at, report_seq, head_seq, head_hash,
                    previous_seq, previous_hash, acknowledged_at
                 FROM audit_reports
                 WHERE verdict IN ('regressed', 'forked', 'broken')
                   AND ($1::text IS NULL OR kiosk_id = $1)
                 ORDER BY kiosk_id, report_seq",
            )
            .await
            .map_err(self.err("preparing the audit alarm query"))?;
        let rows = c
            .query(&stmt, &[&kiosk])
            .await
            .map_err(self.err("reading audit alarms"))?;
        let mut found: std::collections::HashMap<String, (u64, u64, AuditAlarm)> =
            Default::default();
        for r in rows {
            let verdict: String = r.get(1);
            let kiosk: String = r.get(0);
            let alarm = AuditAlarm {
                verdict: AuditVerdict::parse(&verdict).unwrap_or(AuditVerdict::Broken),
                received_at: r.get(2),
                report_seq: uint("audit report seq", r.get(3))?,
                head_seq: uint("audit head seq", r.get(4))?,
                head_hash: r.get(5),
                previous_seq: r
                    .get::<_, Option<i64>>(6)
                    .map(|v| uint("previous head seq", v))
                    .transpose()?,
                previous_hash: r.get(7),
                acknowledged_at: r.get(8),
            };
            let (n, open) = found.get(&kiosk).map_or((0, 0), |(n, open, _)| (*n, *open));
            let open = open + u64::from(alarm.acknowledged_at.is_none());
            found.insert(kiosk, (n + 1, open, alarm));
        }
        for k in &mut kiosks {
            if let (Some(audit), Some((n, open, last))) =
                (k.audit.as_mut(), found.remove(&k.kiosk_id))
            {
                audit.alarms = n;
                audit.open_alarms = open;
                audit.last_alarm = Some(last);
            }
        }
        Ok(kiosks)
    }
}

/// One roll-up level's rows of a batch as column arrays, bound to the ingest function's
/// `p_<level>_<column>` parameters ([`level_params`]).
#[derive(Default)]
struct RowColumns<'a> {
    day: Vec<i64>,
    /// One array per text column of the level's batch key, in its order.
    text: Vec<Vec<&'a str>>,
    whole: [Vec<i64>; rollup::WHOLE_COLUMNS],
    ipw: [Vec<f64>; 3],
}

impl<'a> RowColumns<'a> {
    fn of(level: Level, cells: &'a [crate::feedback::cells::Cell]) -> Result<Self, HqError> {
        let texts: Vec<&str> = level.batch_key().filter(|c| *c != "day").collect();
        let mut c = Self {
            text: vec![Vec::new(); texts.len()],
            ..Self::default()
        };
        for (key, sums) in level.batch_rows(cells)? {
            c.day.push(key.day);
            for (col, name) in c.text.iter_mut().zip(&texts) {
                col.push(key.text(name));
            }
            for (col, v) in c.whole.iter_mut().zip(sums.whole) {
                col.push(v);
            }
            for (col, v) in c.ipw.iter_mut().zip(sums.ipw) {
                col.push(v);
            }
        }
        Ok(c)
    }

    /// The parameters, in [`level_params`] order.
    fn params(&self) -> impl Iterator<Item = &(dyn tokio_postgres::types::ToSql + Sync)> {
        std::iter::once(&self.day as &(dyn tokio_postgres::types::ToSql + Sync))
            .chain(self.text.iter().map(|v| v as _))
            .chain(self.whole.iter().map(|v| v as _))
            .chain(self.ipw.iter().map(|v| v as _))
    }
}

impl HqStore for PgHq {
    fn enroll(&self, kiosk: &str, store: &str, public_key: &[u8], now: i64) -> Result<(), HqError> {
        self.run(async {
            let c = self.client().await?;
            c.execute(
                "INSERT INTO kiosks (kiosk_id, store_id, public_key, enrolled_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (kiosk_id) DO UPDATE SET store_id = excluded.store_id,
                    public_key = excluded.public_key, enabled = TRUE",
                &[&kiosk, &store, &public_key, &now],
            )
            .await
            .map_err(self.err("enrolling a kiosk"))?;
            Ok(())
        })
    }

    fn set_enabled(&self, kiosk: &str, enabled: bool) -> Result<(), HqError> {
        self.run(async {
            let c = self.client().await?;
            let n = c
                .execute(
                    "UPDATE kiosks SET enabled = $2 WHERE kiosk_id = $1",
                    &[&kiosk, &enabled],
                )
                .await
                .map_err(self.err("enabling or disabling a kiosk"))?;
            if n == 0 {
                return Err(HqError::UnknownKiosk(kiosk.to_string()));
            }
            Ok(())
        })
    }

    fn kiosk(&self, kiosk: &str) -> Result<Option<KioskRecord>, HqError> {
        self.run(async {
            let c = self.client().await?;
            let stmt = c
                .prepare_cached(&format!(
                    "SELECT {KIOSK_COLUMNS} FROM kiosks WHERE kiosk_id = $1"
                ))
                .await
                .map_err(self.err("preparing the kiosk query"))?;
            let row = c
                .query_opt(&stmt, &[&kiosk])
                .await
                .map_err(self.err("reading a kiosk"))?;
            let record = row.as_ref().map(Self::kiosk_row).transpose()?;
            Ok(self
                .with_alarms(&c, Some(kiosk), record.into_iter().collect())
                .await?
                .pop())
        })
    }

    fn credentials(&self, kiosk: &str) -> Result<Option<KioskCredentials>, HqError> {
        self.run(async {
            let c = self.client().await?;
            let stmt = c
                .prepare_cached(CREDENTIALS_QUERY)
                .await
                .map_err(self.err("preparing the credentials query"))?;
            let row = c
                .query_opt(&stmt, &[&kiosk])
                .await
                .map_err(self.err("reading a kiosk's credentials"))?;
            Ok(row.map(|r| KioskCredentials {
                kiosk_id: r.get(0),
                store_id: r.get(1),
                public_key: r.get(2),
                enabled: r.get(3),
            }))
        })
    }

    fn kiosks(&self) -> Result<Vec<KioskRecord>, HqError> {
        self.run(async {
            let c = self.client().await?;
            let rows = c
                .query(
                    &format!("SELECT {KIOSK_COLUMNS} FROM kiosks ORDER BY store_id, kiosk_id"),
                    &[],
                )
                .await
                .map_err(self.err("listing kiosks"))?;
            let list = rows
                .iter()
                .map(Self::kiosk_row)
                .collect::<Result<Vec<_>, _>>()?;
            self.with_alarms(&c, None, list).await
        })
    }

    fn ingest(&self, b: &IngestBatch<'_>) -> Result<IngestOutcome, HqError> {
        let doc = b.doc;
        let sha = digest::digest(&digest::SHA256, b.bytes);
        let seq = int("batch seq", doc.seq)?;
        let backlog = int("backlog", b.backlog)?;
        let levels = [
            RowColumns::of(Level::KioskDay, &doc.cells)?,
            RowColumns::of(Level::StoreDay, &doc.cells)?,
        ];
        let dropped = serde_json::to_string(&doc.dropped).map_err(|source| HqError::Encode {
            what: "dropped counts",
            source,
        })?;
        let sha = sha.as_ref();
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
            &doc.batch_id,
            &doc.kiosk_id,
            &doc.store_id,
            &seq,
            &b.now,
            &sha,
            &b.bytes,
            &b.signature,
            &backlog,
            &doc.software,
            &dropped,
        ];
        for level in &levels {
            params.extend(level.params());
        }
        let row = self.run(async {
            let c = self.client().await?;
            let stmt = c
                .prepare_cached(&INGEST_CALL)
                .await
                .map_err(self.err("preparing the ingest call"))?;
            c.query_one(&stmt, &params)
                .await
                .map_err(self.err("storing the batch and its roll-up sums"))
        })?;
        let outcome: &str = row.get(0);
        let last_seq: Option<i64> = row.get(1);
        let last = || uint("last seq", last_seq.unwrap_or(0));
        Ok(match outcome {
            "accepted" => IngestOutcome::Accepted,
            "duplicate" => IngestOutcome::Duplicate,
            "conflict" => IngestOutcome::Conflict,
            "replay" => IngestOutcome::Replay { last_seq: last()? },
            "regression" => IngestOutcome::Regression { last_seq: last()? },
            "unknown_kiosk" => return Err(HqError::UnknownKiosk(doc.kiosk_id.clone())),
            other => {
                return Err(HqError::PostgresConfig(format!(
                    "the ingest function answered {other:?}, which this HQ does not know"
                )))
            }
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
        let from = from.map_or(i64::MIN, |d| d.0);
        let to = to.map_or(i64::MAX, |d| d.0);
        let rows = self.run(async {
            let c = self.client().await?;
            let stmt = c
                .prepare_cached(&sql)
                .await
                .map_err(self.err("preparing a report query"))?;
            c.query(&stmt, &[&from, &to])
                .await
                .map_err(self.err("summing the roll-up for a report"))
        })?;
        let count = |r: &Row, i: usize| uint("a report sum", r.get(i));
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut values = Vec::with_capacity(n);
            for (i, d) in dims.iter().enumerate() {
                values.push(match d {
                    Dim::Day => Day(r.get(i)).to_string(),
                    _ => r.get(i),
                });
            }
            out.push(GroupRow {
                dims: values,
                sessions: count(r, n)?,
                counts: Counts {
                    impressions: count(r, n + 1)?,
                    taps: count(r, n + 2)?,
                    thumbs_up: count(r, n + 3)?,
                    thumbs_down: count(r, n + 4)?,
                    whys: count(r, n + 5)?,
                    opt_outs: count(r, n + 6)?,
                    dwells: count(r, n + 7)?,
                    dwell_ms: count(r, n + 8)?,
                    conversions: count(r, n + 9)?,
                },
                ipw: Ipw {
                    impressions: r.get(n + 10),
                    taps: r.get(n + 11),
                    conversions: r.get(n + 12),
                },
            });
        }
        // Without GROUP BY an empty table still yields one all-zero row; keep it only when it
        // counts something (as on SQLite).
        Ok(out
            .into_iter()
            .filter(|r| !dims.is_empty() || r.counts != Counts::default())
            .collect())
    }

    fn add_token(
        &self,
        name: &str,
        digest: &[u8; 32],
        now: i64,
        expires_at: i64,
    ) -> Result<(), HqError> {
        let added = self.run(async {
            let c = self.client().await?;
            c.execute(
                "INSERT INTO tokens (hash, name, created_at, expires_at)
                 SELECT $1::bytea, $2::text, $3::bigint, $4::bigint
                 WHERE NOT EXISTS (SELECT 1 FROM tokens
                                   WHERE name = $2 AND revoked_at IS NULL AND expires_at > $3)",
                &[&&digest[..], &name, &now, &expires_at],
            )
            .await
            .map_err(self.err("storing a token"))
        })?;
        if added == 0 {
            return Err(HqError::TokenNameTaken(name.to_string()));
        }
        Ok(())
    }

    fn token_valid(&self, digest: &[u8; 32], now: i64) -> Result<bool, HqError> {
        self.run(async {
            let c = self.client().await?;
            let stmt = c
                .prepare_cached(
                    "UPDATE tokens SET last_used_at = $2
                     WHERE hash = $1 AND revoked_at IS NULL AND expires_at > $2",
                )
                .await
                .map_err(self.err("preparing the token query"))?;
            Ok(c.execute(&stmt, &[&&digest[..], &now])
                .await
                .map_err(self.err("checking a token"))?
                == 1)
        })
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>, HqError> {
        let rows = self.run(async {
            let c = self.client().await?;
            c.query(
                "SELECT name, created_at, expires_at, revoked_at, last_used_at FROM tokens
                 ORDER BY name COLLATE \"C\", created_at",
                &[],
            )
            .await
            .map_err(self.err("listing tokens"))
        })?;
        Ok(rows
            .iter()
            .map(|r| TokenInfo {
                name: r.get(0),
                created_at: r.get(1),
                expires_at: r.get(2),
                revoked_at: r.get(3),
                last_used_at: r.get(4),
            })
            .collect())
    }

    fn revoke_token(&self, name: &str, now: i64) -> Result<u64, HqError> {
        self.run(async {
            let c = self.client().await?;
            c.execute(
                "UPDATE tokens SET revoked_at = $2
                 WHERE name = $1 AND revoked_at IS NULL AND expires_at > $2",
                &[&name, &now],
            )
            .await
            .map_err(self.err("revoking a token"))
        })
    }

    fn start_session(
        &self,
        session: &[u8; 32],
        token: &[u8; 32],
        now: i64,
        expires_at: i64,
    ) -> Result<bool, HqError> {
        self.run(async {
            let mut c = self.client().await?;
            let tx = c
                .transaction()
                .await
                .map_err(self.err("starting the session transaction"))?;
            tx.execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now])
                .await
                .map_err(self.err("removing expired sessions"))?;
            let n = tx
                .execute(
                    "INSERT INTO sessions (hash, token_hash, created_at, expires_at)
                     SELECT $1::bytea, hash, $3::bigint, LEAST($4::bigint, expires_at)
                     FROM tokens
                     WHERE hash = $2 AND revoked_at IS NULL AND expires_at > $3",
                    &[&&session[..], &&token[..], &now, &expires_at],
                )
                .await
                .map_err(self.err("storing a session"))?;
            tx.commit()
                .await
                .map_err(self.err("committing the session"))?;
            Ok(n == 1)
        })
    }

    fn session_valid(&self, session: &[u8; 32], now: i64) -> Result<bool, HqError> {
        self.run(async {
            let c = self.client().await?;
            let stmt = c
                .prepare_cached(
                    "UPDATE tokens SET last_used_at = $2
                     WHERE hash = (SELECT token_hash FROM sessions
                                   WHERE hash = $1 AND expires_at > $2)
                       AND revoked_at IS NULL AND expires_at > $2",
                )
                .await
                .map_err(self.err("preparing the session query"))?;
            Ok(c.execute(&stmt, &[&&session[..], &now])
                .await
                .map_err(self.err("checking a session"))?
                == 1)
        })
    }

    fn end_session(&self, session: &[u8; 32]) -> Result<(), HqError> {
        self.run(async {
            let c = self.client().await?;
            c.execute("DELETE FROM sessions WHERE hash = $1", &[&&session[..]])
                .await
                .map_err(self.err("ending a session"))?;
            Ok(())
        })
    }

    fn record_audit_head(&self, report: &AuditHeadReport<'_>) -> Result<AuditHeadOutcome, HqError> {
        let doc = report.doc;
        let sha = digest::digest(&digest::SHA256, report.bytes);
        let report_seq = int("audit report seq", doc.report_seq)?;
        let head_seq = int("audit head seq", doc.head_seq)?;
        self.run(async {
            let mut c = self.client().await?;
            let tx = c
                .transaction()
                .await
                .map_err(self.err("starting the audit head transaction"))?;
            let row = tx
                .query_opt(
                    "SELECT audit_report_seq, audit_report_sha, audit_head_seq, audit_head_hash,
                        audit_chain_intact, audit_verdict
                     FROM kiosks WHERE kiosk_id = $1 FOR UPDATE",
                    &[&doc.kiosk_id],
                )
                .await
                .map_err(self.err("locking the kiosk row"))?
                .ok_or_else(|| HqError::UnknownKiosk(doc.kiosk_id.clone()))?;
            let last_report_seq = uint("audit report seq", row.get(0))?;
            let last_sha: Option<Vec<u8>> = row.get(1);
            let last_head: Option<i64> = row.get(2);
            let head_hash: Option<String> = row.get(3);
            let intact: Option<bool> = row.get(4);
            let verdict: Option<String> = row.get(5);
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
            let previous = match (last_head, head_hash, intact) {
                (Some(seq), Some(hash), Some(chain_intact)) => Some(RecordedHead {
                    seq: uint("audit head seq", seq)?,
                    hash,
                    chain_intact,
                }),
                _ => None,
            };
            let verdict = judge(previous.as_ref(), doc);
            let previous = previous.map(|p| (p.seq, p.hash));
            if verdict != AuditVerdict::Unchanged {
                let previous_seq = previous
                    .as_ref()
                    .map(|p| int("previous head seq", p.0))
                    .transpose()?;
                tx.execute(
                    "INSERT INTO audit_reports (kiosk_id, report_seq, received_at, head_seq,
                        head_hash, chain_intact, verdict, previous_seq, previous_hash, sha256,
                        document, signature)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    &[
                        &doc.kiosk_id,
                        &report_seq,
                        &report.now,
                        &head_seq,
                        &doc.head_hash,
                        &doc.chain_intact,
                        &verdict.as_str(),
                        &previous_seq,
                        &previous.as_ref().map(|p| p.1.as_str()),
                        &sha.as_ref(),
                        &report.bytes,
                        &report.signature,
                    ],
                )
                .await
                .map_err(self.err("storing the audit report"))?;
            }
            tx.execute(
                "UPDATE kiosks SET audit_report_seq = $2, audit_report_sha = $3,
                    audit_head_seq = $4, audit_head_hash = $5, audit_chain_intact = $6,
                    audit_verdict = $7, audit_received_at = $8
                 WHERE kiosk_id = $1",
                &[
                    &doc.kiosk_id,
                    &report_seq,
                    &sha.as_ref(),
                    &head_seq,
                    &doc.head_hash,
                    &doc.chain_intact,
                    &verdict.as_str(),
                    &report.now,
                ],
            )
            .await
            .map_err(self.err("recording the audit head"))?;
            tx.commit()
                .await
                .map_err(self.err("committing the audit head"))?;
            Ok(AuditHeadOutcome::Recorded { verdict, previous })
        })
    }

    fn acknowledge_audit_alarms(&self, kiosk: &str, now: i64) -> Result<u64, HqError> {
        self.run(async {
            let mut c = self.client().await?;
            let tx = c
                .transaction()
                .await
                .map_err(self.err("starting the acknowledgement"))?;
            let known = tx
                .query_opt("SELECT 1 FROM kiosks WHERE kiosk_id = $1", &[&kiosk])
                .await
                .map_err(self.err("looking up the kiosk"))?
                .is_some();
            if !known {
                return Err(HqError::UnknownKiosk(kiosk.to_string()));
            }
            let n = tx
                .execute(
                    "UPDATE audit_reports SET acknowledged_at = $2
                     WHERE kiosk_id = $1 AND acknowledged_at IS NULL
                       AND verdict IN ('regressed', 'forked', 'broken')",
                    &[&kiosk, &now],
                )
                .await
                .map_err(self.err("acknowledging audit alarms"))?;
            tx.commit()
                .await
                .map_err(self.err("committing the acknowledgement"))?;
            Ok(n)
        })
    }

    fn sweep_raw(&self, before: i64, now: i64, limit: u32) -> Result<Swept, HqError> {
        let limit = i64::from(limit);
        self.run(async {
            let mut c = self.client().await?;
            let tx = c
                .transaction()
                .await
                .map_err(self.err("starting the retention sweep"))?;
            // Rows another HQ process is sweeping right now are skipped, not waited for.
            let ids: Vec<String> = tx
                .query(
                    "SELECT batch_id FROM batches
                     WHERE raw_swept_at IS NULL AND received_at < $1
                     ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED",
                    &[&before, &limit],
                )
                .await
                .map_err(self.err("finding batches past the retention"))?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let batches = tx
                .execute(
                    "UPDATE batches SET document = ''::bytea, signature = ''::bytea,
                        raw_swept_at = $2
                     WHERE batch_id = ANY($1)",
                    &[&ids, &now],
                )
                .await
                .map_err(self.err("emptying batch documents past the retention"))?;
            tx.commit()
                .await
                .map_err(self.err("committing the retention sweep"))?;
            Ok(Swept { batches })
        })
    }
}
