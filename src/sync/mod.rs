//! The feedback outbox and its sender: closed feedback cells become signed batches in
//! `feedback_outbox`; [`run_once`] sends them to HQ in sequence order.
//!
//! Invariants:
//! - Closing cells, writing their batches and deleting the raw impressions happen in one
//!   transaction ([`prepare`]): a crash leaves either the raw rows or the batches, never both or
//!   neither.
//! - A batch gets a fresh UUID and the next per-kiosk sequence number when it is written; it is
//!   signed once and re-sent byte for byte until HQ acknowledges it (`accepted` or `duplicate`)
//!   with an acknowledgement signed by HQ's key (`hq_public_key`) that names this kiosk, this
//!   batch id and this seq. Only then is the row deleted, together with adding its totals to the `acknowledged` ledger,
//!   in one transaction. So a crash at any point re-sends at most an already received batch,
//!   which HQ acknowledges without counting it twice.
//! - Batches are sent strictly in sequence order and sending stops at the first failure.
//! - The crash test (`tests/sync_crash.rs`) kills the sender at the pause points
//!   `sync.aggregate`, `sync.upload` and `sync.acked` (`store::fault`) and checks each of the
//!   above: a kill in aggregation leaves the raw rows and the outbox as they were; a kill during
//!   upload leaves the batch in the outbox, marked as maybe delivered; a kill after HQ committed
//!   leaves it in the outbox too, and the re-send is acknowledged as a duplicate, counted once.
//! - The outbox holds at most `outbox_max_batches` data batches (plus one marker batch after a
//!   drop). Beyond that, batches that have never been handed to HQ (`maybe_delivered = 0`) are
//!   rolled up into coarser cells; only if that cannot make room is the oldest such batch dropped,
//!   its counts added to the `dropped` ledger, which every later batch reports to HQ. A batch
//!   that may have reached HQ is never rolled up or dropped.
//! - The bound on disk: at most `outbox_max_batches` + 1 batches of at most `batch_max_cells`
//!   cells, a cell at most [`MAX_CELL_BYTES`] on the wire (labels of 64 characters, every count
//!   at its largest), so the outbox's documents never exceed (`outbox_max_batches` + 1) ×
//!   `batch_max_cells` × [`MAX_CELL_BYTES`] bytes (defaults: 201 × 1000 × 900 B ≈ 172 MiB at
//!   worst; a week of HQ away at 1,500 sessions a day measured 170 KB, `tests/hq_away.rs`).
//!   Roll-up keeps totals exact and its coarsest cell is one per day, style and content kind,
//!   so nothing is dropped while fewer than `outbox_max_batches` × `batch_max_cells` /
//!   (styles × content kinds) days wait (defaults: 200,000 / (4 × 3) ≈ 16,000 days).
//! - Every sync that reaches HQ also reports the technician audit log's head ([`run_once`]): a
//!   fresh [`AuditHeadDocument`] with the next report number (taken before sending, so never
//!   used twice), signed with the device key. HQ compares it with the head it recorded before, so
//!   a log rewritten here (lines removed, edited, the file replaced) is seen there. While HQ is
//!   unreachable the report waits for the next sync; an HQ without the endpoint (404, older than
//!   the kiosk) is logged and the batches still count as sent.
//! - Nothing HQ answers is acted on unless HQ signed it ([`client`]): a forged, unsigned or
//!   mismatched acknowledgement leaves the batch in the outbox (marked maybe delivered, sent
//!   again next time) and forged priors never reach the bandit. Without `hq_public_key` a
//!   [`SyncContext`] cannot be made ([`SyncError::NoHqPublicKey`]).

pub mod client;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, RngExt};
use ring::signature::Ed25519KeyPair;
use rusqlite::{params, Connection};
use serde::Serialize;

use crate::audit::{AuditError, AuditLog};
use crate::config::Config;
use crate::crypto::keyfiles::Keyring;
use crate::feedback::cells::{self, Cell, Counts, Day};
use crate::feedback::{self, Bucket, FeedbackError};
use crate::store::{self, fault, Store, StoreError};
use crate::wire::{
    AuditHeadDocument, AuditVerdict, BatchDocument, Dropped, WireError, AUDIT_HEAD_VERSION,
    BATCH_VERSION,
};
use client::{Backoff, HqClient, HqTrust};

/// The most one cell takes in a batch document (see the module docs' bound on disk).
pub const MAX_CELL_BYTES: u64 = 900;

const META_NEXT_SEQ: &str = "feedback_next_seq";
const META_LAST_ATTEMPT: &str = "sync_last_attempt";
const META_LAST_SUCCESS: &str = "sync_last_success";
const META_LAST_ERROR: &str = "sync_last_error";
const META_PRIORS_PULLED: &str = "sync_priors_pulled";
const META_AUDIT_REPORT_SEQ: &str = "audit_head_report_seq";

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Feedback(#[from] FeedbackError),
    #[error(transparent)]
    Keys(#[from] crate::crypto::keyfiles::KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("HQ at {url} is unreachable (retryable): {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
        maybe_delivered: bool,
    },
    /// `message` is HQ's own text from the answer body (free text from outside).
    #[error("HQ answered {status} (retryable): {message}")]
    Server { status: u16, message: String },
    /// `code` and `message` are HQ's own texts from the answer body (free text from outside).
    #[error("HQ refused the request with {status} {code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// A success answer whose body does not parse as `what`.
    #[error("HQ answered with something unexpected: {what}: {source}")]
    Answer {
        what: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// A signed answer that does not parse as `what`.
    #[error("HQ answered with something unexpected: {what}: {source}")]
    BadAnswer {
        what: &'static str,
        #[source]
        source: WireError,
    },
    /// An answer without a valid signature by `hq_public_key`: an impostor, or an HQ serving
    /// with another key. Nothing of it was acted on.
    #[error(
        "HQ's {what} is refused: {reason} under hq_public_key (an impostor, or HQ serving with \
         another key); nothing of it was used"
    )]
    Forged {
        what: &'static str,
        reason: &'static str,
    },
    /// HQ acknowledged something else than the batch sent (as HQ's ack and the outbox hold
    /// them: status, kiosk, batch id, seq).
    #[error("HQ answered with something unexpected: HQ acknowledged {acked} for {sent}")]
    WrongAck { acked: String, sent: String },
    #[error(
        "sync needs HQ's public key: set hq_public_key in the kiosk config (`shelftalk \
         provision --hq-public-key HEX` with the key `shelftalk hq keys show-public` prints at \
         HQ)"
    )]
    NoHqPublicKey,
    /// `reason` (from [`crate::config::check_hq_url`]) names the URL.
    #[error("config key `hq_url`: {reason}")]
    HqUrl { reason: String },
    #[error(
        "hq_url {url} is https:// but hq_ca_file is not set: the kiosk trusts only the CA \
         certificate it is provisioned with (hq_ca_file = \"/path/to/hq-ca.pem\")"
    )]
    NoHqCa { url: String },
    #[error("hq_ca_file {path}: {reason}")]
    HqCa { path: PathBuf, reason: String },
    #[error(
        "HQ answered with something unexpected: HQ acknowledged audit head report {acked} for \
         {sent}"
    )]
    WrongAuditAck { acked: u64, sent: u64 },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("outbox row {seq} is corrupt: {source}")]
    CorruptTotals {
        seq: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error("outbox row {seq} is corrupt: {source}")]
    CorruptDocument {
        seq: u64,
        #[source]
        source: WireError,
    },
    #[error("background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl SyncError {
    /// True when the same request may succeed later.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Server { .. } => true,
            Self::Feedback(e) => e.retryable(),
            Self::Store(StoreError::Sql { retryable, .. }) => *retryable,
            _ => false,
        }
    }

    /// True unless the request certainly never reached HQ.
    pub fn maybe_delivered(&self) -> bool {
        match self {
            Self::Unreachable {
                maybe_delivered, ..
            } => *maybe_delivered,
            Self::Server { .. }
            | Self::Refused { .. }
            | Self::Answer { .. }
            | Self::BadAnswer { .. }
            | Self::Forged { .. }
            | Self::WrongAck { .. }
            | Self::WrongAuditAck { .. } => true,
            _ => false,
        }
    }

    fn with_maybe_delivered(self, maybe: bool) -> Self {
        match self {
            Self::Unreachable { url, source, .. } => Self::Unreachable {
                url,
                source,
                maybe_delivered: maybe,
            },
            other => other,
        }
    }
}

impl From<rusqlite::Error> for SyncError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(e.into())
    }
}

/// What [`prepare`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Prepared {
    pub closed_cells: usize,
    pub withheld: Counts,
    pub batches_written: u64,
    pub batches_rolled_up: u64,
    pub batches_dropped: u64,
}

fn next_seq(conn: &Connection) -> Result<u64, SyncError> {
    Ok(store::meta_get(conn, META_NEXT_SEQ)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(1))
}

fn write_batch(
    conn: &Connection,
    config: &Config,
    device: &Ed25519KeyPair,
    cells: Vec<Cell>,
    now: i64,
) -> Result<(), SyncError> {
    let seq = next_seq(conn)?;
    let (dropped_batches, dropped_counts) = feedback::ledger(conn, Bucket::Dropped)?;
    let totals = cells::total(&cells);
    let doc = BatchDocument {
        version: BATCH_VERSION,
        batch_id: uuid::Uuid::new_v4().to_string(),
        kiosk_id: config.kiosk_id.clone(),
        store_id: config.store_id.clone(),
        seq,
        created_day: Day::of_in(now, &config.store_zone()),
        software: env!("CARGO_PKG_VERSION").into(),
        k_anonymity: config.k_anonymity,
        noise_epsilon: config.feedback_noise_epsilon,
        dropped: Dropped {
            batches: dropped_batches,
            counts: dropped_counts,
        },
        cells,
    };
    let (bytes, signature) = doc.sign(device)?;
    let totals_json = serde_json::to_string(&totals).map_err(WireError::Encode)?;
    conn.prepare_cached(
        "INSERT INTO feedback_outbox (seq, batch_id, created_at, document, signature, cells, totals)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        seq,
        doc.batch_id,
        now,
        bytes,
        &signature[..],
        doc.cells.len() as u64,
        totals_json
    ])?;
    store::meta_set(conn, META_NEXT_SEQ, &(seq + 1).to_string())?;
    Ok(())
}

/// One outbox row.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub seq: u64,
    pub batch_id: String,
    pub document: Vec<u8>,
    pub signature: Vec<u8>,
    pub totals: Counts,
    pub maybe_delivered: bool,
}

/// Outbox rows in sequence order: all, or only those never handed to HQ; at most `limit`.
fn outbox_rows(
    conn: &Connection,
    only_rollable: bool,
    limit: u32,
) -> Result<Vec<OutboxRow>, SyncError> {
    let filter = if only_rollable {
        "WHERE maybe_delivered = 0"
    } else {
        ""
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT seq, batch_id, document, signature, totals, maybe_delivered FROM feedback_outbox
         {filter} ORDER BY seq LIMIT {limit}"
    ))?;
    let raw = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, u64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, bool>(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter()
        .map(
            |(seq, batch_id, document, signature, totals, maybe_delivered)| {
                let totals = serde_json::from_str(&totals)
                    .map_err(|source| SyncError::CorruptTotals { seq, source })?;
                Ok(OutboxRow {
                    seq,
                    batch_id,
                    document,
                    signature,
                    totals,
                    maybe_delivered,
                })
            },
        )
        .collect()
}

fn outbox_len(conn: &Connection) -> Result<u64, SyncError> {
    Ok(conn.query_row("SELECT count(*) FROM feedback_outbox", [], |r| r.get(0))?)
}

/// Closes every closed day into anonymised cells and batches them, then keeps the outbox within
/// its bound; all in one transaction.
pub fn prepare<R: Rng + ?Sized>(
    conn: &mut Connection,
    config: &Config,
    device: &Ed25519KeyPair,
    now: i64,
    noise: &mut R,
) -> Result<Prepared, SyncError> {
    let tx = conn.transaction()?;
    let tz = config.store_zone();
    let open = feedback::first_open_day(now, config.conversion_window_secs, &tz);
    let mut new_cells = Vec::new();
    let mut withheld = Counts::default();
    feedback::for_each_closed_day(&tx, open, &tz, |_, rows| {
        let a = cells::anonymise(&rows, config.k_anonymity);
        withheld += a.withheld;
        new_cells.extend(a.cells);
        Ok(())
    })?;
    feedback::delete_closed(&tx, open, &tz)?;
    feedback::ledger_add(&tx, Bucket::Withheld, 0, &withheld)?;
    if config.feedback_noise_epsilon > 0.0 {
        for c in &mut new_cells {
            cells::add_noise(c, config.feedback_noise_epsilon, noise);
        }
    }
    let mut report = Prepared {
        closed_cells: new_cells.len(),
        withheld,
        ..Prepared::default()
    };
    let per_batch = config.batch_max_cells.max(1) as usize;
    let mut chunks = Vec::new();
    let mut rest = new_cells;
    while !rest.is_empty() {
        let tail = rest.split_off(per_batch.min(rest.len()));
        chunks.push(std::mem::replace(&mut rest, tail));
    }
    for chunk in chunks {
        write_batch(&tx, config, device, chunk, now)?;
        report.batches_written += 1;
        fault::point("sync.aggregate");
    }
    enforce_bound(&tx, config, device, now, &mut report)?;
    tx.commit()?;
    Ok(report)
}

fn enforce_bound(
    conn: &Connection,
    config: &Config,
    device: &Ed25519KeyPair,
    now: i64,
    report: &mut Prepared,
) -> Result<(), SyncError> {
    let max = u64::from(config.outbox_max_batches);
    let per_batch = config.batch_max_cells.max(1) as usize;
    let mut dropped_any = false;
    while outbox_len(conn)? > max {
        let rollable = outbox_rows(conn, true, u32::MAX)?;
        if rollable.len() >= 2 {
            let mut all = Vec::new();
            for row in &rollable {
                let doc = BatchDocument::parse(&row.document).map_err(|source| {
                    SyncError::CorruptDocument {
                        seq: row.seq,
                        source,
                    }
                })?;
                all.extend(doc.cells);
            }
            let coarse = cells::coarsen(all);
            let needed = coarse.len().div_ceil(per_batch).max(1);
            if needed < rollable.len() {
                for row in &rollable {
                    conn.execute("DELETE FROM feedback_outbox WHERE seq = ?1", [row.seq])?;
                }
                for chunk in coarse.chunks(per_batch) {
                    write_batch(conn, config, device, chunk.to_vec(), now)?;
                }
                report.batches_rolled_up += rollable.len() as u64;
                continue;
            }
        }
        let Some(oldest) = rollable.first() else {
            // Everything left may already be at HQ: keep it, over the bound, until acknowledged.
            break;
        };
        conn.execute("DELETE FROM feedback_outbox WHERE seq = ?1", [oldest.seq])?;
        feedback::ledger_add(conn, Bucket::Dropped, 1, &oldest.totals)?;
        report.batches_dropped += 1;
        dropped_any = true;
        tracing::warn!(
            seq = oldest.seq,
            "feedback outbox full: dropped the oldest batch"
        );
    }
    if dropped_any {
        // An empty batch that tells HQ the new cumulative dropped counts.
        write_batch(conn, config, device, Vec::new(), now)?;
        report.batches_written += 1;
    }
    Ok(())
}

/// The outbox part of [`SyncStatus`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct OutboxStatus {
    pub batches: u64,
    pub cells: u64,
    pub counts: Counts,
    pub oldest_seq: Option<u64>,
    pub last_error: Option<String>,
}

/// A ledger bucket in [`SyncStatus`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct BucketStatus {
    pub batches: u64,
    pub counts: Counts,
}

/// Local feedback and sync totals (what `feedback status` and `sync status` print).
#[derive(Debug, Clone, Serialize)]
pub struct SyncStatus {
    pub kiosk_id: String,
    pub store_id: String,
    pub hq_url: String,
    /// Every event recorded since installation.
    pub recorded: Counts,
    /// Recorded on days not yet closed (waiting for the day and the conversion window to end).
    pub pending: Counts,
    /// Closed, but in cells below k even after roll-up: never sent.
    pub withheld: Counts,
    pub outbox: OutboxStatus,
    /// Acknowledged by HQ.
    pub acknowledged: BucketStatus,
    /// Dropped from a full outbox (and reported to HQ as counts).
    pub dropped: BucketStatus,
    pub next_seq: u64,
    pub last_attempt: Option<i64>,
    pub last_success: Option<i64>,
    pub last_error: Option<String>,
    pub fleet_priors: usize,
    pub priors_pulled: Option<i64>,
}

/// Reads the local totals.
pub fn status(conn: &Connection, config: &Config) -> Result<SyncStatus, SyncError> {
    let rows = outbox_rows(conn, false, u32::MAX)?;
    let mut outbox = OutboxStatus {
        batches: rows.len() as u64,
        oldest_seq: rows.first().map(|r| r.seq),
        ..OutboxStatus::default()
    };
    for r in &rows {
        outbox.counts += r.totals;
    }
    let (cells_n, last_error): (u64, Option<String>) = conn.query_row(
        "SELECT coalesce(sum(cells), 0),
                (SELECT last_error FROM feedback_outbox ORDER BY seq LIMIT 1)
         FROM feedback_outbox",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    outbox.cells = cells_n;
    outbox.last_error = last_error;
    let bucket = |b| -> Result<BucketStatus, SyncError> {
        let (batches, counts) = feedback::ledger(conn, b)?;
        Ok(BucketStatus { batches, counts })
    };
    let meta_i64 = |k| -> Result<Option<i64>, SyncError> {
        Ok(store::meta_get(conn, k)?.and_then(|v| v.parse().ok()))
    };
    Ok(SyncStatus {
        kiosk_id: config.kiosk_id.clone(),
        store_id: config.store_id.clone(),
        hq_url: config.hq_url.clone(),
        recorded: feedback::ledger(conn, Bucket::Recorded)?.1,
        pending: feedback::pending(conn)?,
        withheld: feedback::ledger(conn, Bucket::Withheld)?.1,
        outbox,
        acknowledged: bucket(Bucket::Acknowledged)?,
        dropped: bucket(Bucket::Dropped)?,
        next_seq: next_seq(conn)?,
        last_attempt: meta_i64(META_LAST_ATTEMPT)?,
        last_success: meta_i64(META_LAST_SUCCESS)?,
        last_error: store::meta_get(conn, META_LAST_ERROR)?,
        fleet_priors: feedback::priors(conn)?.len(),
        priors_pulled: meta_i64(META_PRIORS_PULLED)?,
    })
}

/// What the kiosk needs to sync: its config, its keys and an HQ client.
pub struct SyncContext {
    pub config: Config,
    pub keys: Arc<Keyring>,
    pub client: HqClient,
}

impl SyncContext {
    /// A context for `config` with the device keys from its key dir.
    pub fn from_config(config: &Config) -> Result<Self, SyncError> {
        let keys = crate::crypto::keyfiles::KeyDir::new(config.key_dir()).load()?;
        Self::new(config.clone(), Arc::new(keys))
    }

    /// A context with the default retry policy and the config's HQ URL and timeout.
    pub fn new(config: Config, keys: Arc<Keyring>) -> Result<Self, SyncError> {
        Self::with_backoff(config, keys, Backoff::default())
    }

    /// Refuses without `hq_public_key`, and for an HQ URL or CA file the client refuses
    /// ([`HqClient::new`]).
    pub fn with_backoff(
        config: Config,
        keys: Arc<Keyring>,
        backoff: Backoff,
    ) -> Result<Self, SyncError> {
        let client = HqClient::new(
            &HqTrust::from_config(&config)?,
            Duration::from_secs(config.hq_timeout_secs),
            backoff,
        )?;
        Ok(Self {
            config,
            keys,
            client,
        })
    }
}

/// What one [`run_once`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    pub prepared: Prepared,
    pub batches_sent: u64,
    pub duplicates: u64,
    pub sent: Counts,
    pub outbox_left: u64,
    /// The audit head reported to HQ; `None` when it was not (HQ unreachable, or without the
    /// endpoint).
    pub audit_head: Option<AuditHeadSent>,
}

/// The audit head a sync reported to HQ, and what HQ made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditHeadSent {
    pub report_seq: u64,
    pub head_seq: u64,
    pub chain_intact: bool,
    pub verdict: AuditVerdict,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SyncError> + Send + 'static,
) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(f).await?
}

/// Closes cells into batches, then sends the outbox to HQ in order until it is empty or a send
/// fails (the error is returned; what was acknowledged stays acknowledged).
pub async fn run_once(ctx: &SyncContext, now: i64) -> Result<SyncReport, SyncError> {
    let config = ctx.config.clone();
    let keys = Arc::clone(&ctx.keys);
    let (store, prepared) = blocking(move || {
        let mut store = Store::open(&config.db_path())?;
        store::meta_set(store.conn(), META_LAST_ATTEMPT, &now.to_string())?;
        let mut rng = rand::make_rng::<StdRng>();
        let prepared = prepare(store.conn_mut(), &config, &keys.device, now, &mut rng)?;
        Ok((store, prepared))
    })
    .await?;
    let mut store = store;
    let mut report = SyncReport {
        prepared,
        ..SyncReport::default()
    };
    let sent = send_all(ctx, &mut store, &mut report).await;
    // The audit head goes with every sync that reached HQ; while HQ is unreachable or failing
    // it waits for the next. The batches' error, if any, is the one returned.
    let result = match sent {
        Err(e) if e.retryable() => Err(e),
        sent => match send_audit_head(ctx, &mut store).await {
            Ok(head) => {
                report.audit_head = head;
                sent
            }
            Err(e) => sent.and(Err(e)),
        },
    };
    let conn = store.conn();
    match &result {
        Ok(()) => {
            store::meta_set(conn, META_LAST_SUCCESS, &now.to_string())?;
            conn.execute("DELETE FROM meta WHERE key = ?1", [META_LAST_ERROR])?;
        }
        Err(e) => store::meta_set(conn, META_LAST_ERROR, &e.to_string())?,
    }
    report.outbox_left = outbox_len(conn)?;
    result.map(|()| report)
}

async fn send_all(
    ctx: &SyncContext,
    store: &mut Store,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    loop {
        let Some(row) = outbox_rows(store.conn(), false, 1)?.into_iter().next() else {
            return Ok(());
        };
        store.conn().execute(
            "UPDATE feedback_outbox SET maybe_delivered = 1, attempts = attempts + 1
             WHERE seq = ?1",
            [row.seq],
        )?;
        let backlog = outbox_len(store.conn())?;
        fault::point("sync.upload");
        match ctx
            .client
            .post_batch(&ctx.config.kiosk_id, &row.document, &row.signature, backlog)
            .await
        {
            Ok(ack) if !ack.acknowledges(&ctx.config.kiosk_id, &row.batch_id, row.seq) => {
                let e = SyncError::WrongAck {
                    acked: format!(
                        "{} of batch {} seq {} of kiosk {:?}",
                        ack.status, ack.batch_id, ack.seq, ack.kiosk_id
                    ),
                    sent: format!("batch {} seq {}", row.batch_id, row.seq),
                };
                store.conn().execute(
                    "UPDATE feedback_outbox SET last_error = ?2 WHERE seq = ?1",
                    params![row.seq, e.to_string()],
                )?;
                return Err(e);
            }
            Ok(ack) => {
                fault::point("sync.acked");
                let tx = store.conn_mut().transaction()?;
                tx.execute("DELETE FROM feedback_outbox WHERE seq = ?1", [row.seq])?;
                feedback::ledger_add(&tx, Bucket::Acknowledged, 1, &row.totals)?;
                tx.commit()?;
                report.batches_sent += 1;
                report.sent += row.totals;
                if ack.status == "duplicate" {
                    report.duplicates += 1;
                }
            }
            Err(e) => {
                let maybe = row.maybe_delivered || e.maybe_delivered();
                store.conn().execute(
                    "UPDATE feedback_outbox SET maybe_delivered = ?2, last_error = ?3
                     WHERE seq = ?1",
                    params![row.seq, maybe, e.to_string()],
                )?;
                return Err(e);
            }
        }
    }
}

/// Signs the audit log's head with the next report number and posts it to HQ. `None` when HQ
/// has no audit head endpoint (an HQ older than the kiosk).
async fn send_audit_head(
    ctx: &SyncContext,
    store: &mut Store,
) -> Result<Option<AuditHeadSent>, SyncError> {
    let audit = AuditLog::in_dir(&ctx.config.data_dir);
    let head = blocking(move || Ok(audit.head()?)).await?;
    let conn = store.conn();
    let report_seq = store::meta_get(conn, META_AUDIT_REPORT_SEQ)?
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        + 1;
    // Taken before sending: a number is never used for two different reports.
    store::meta_set(conn, META_AUDIT_REPORT_SEQ, &report_seq.to_string())?;
    let doc = AuditHeadDocument {
        version: AUDIT_HEAD_VERSION,
        kiosk_id: ctx.config.kiosk_id.clone(),
        store_id: ctx.config.store_id.clone(),
        report_seq,
        head_seq: head.seq,
        head_hash: head.hash,
        chain_intact: head.intact,
    };
    let (bytes, signature) = doc.sign(&ctx.keys.device)?;
    let ack = match ctx
        .client
        .post_audit_head(&ctx.config.kiosk_id, &bytes, &signature)
        .await
    {
        Ok(ack) => ack,
        Err(SyncError::Refused { status: 404, .. }) => {
            tracing::warn!("HQ takes no audit heads (older than this kiosk): head not reported");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    if !ack.answers(&ctx.config.kiosk_id, report_seq) {
        return Err(SyncError::WrongAuditAck {
            acked: ack.report_seq,
            sent: report_seq,
        });
    }
    if ack.verdict.is_alarm() {
        tracing::warn!(
            verdict = ack.verdict.as_str(),
            head_seq = doc.head_seq,
            "HQ finds this kiosk's audit log rewritten"
        );
    }
    Ok(Some(AuditHeadSent {
        report_seq,
        head_seq: doc.head_seq,
        chain_intact: doc.chain_intact,
        verdict: ack.verdict,
    }))
}

/// Pulls the fleet priors from HQ into the kiosk's bandit priors; returns how many were stored.
pub async fn pull_priors(ctx: &SyncContext, now: i64) -> Result<usize, SyncError> {
    let doc = ctx
        .client
        .priors(&ctx.config.kiosk_id, &ctx.keys.device, now)
        .await?;
    let priors: Vec<_> = doc.priors.iter().map(|p| p.prior()).collect();
    let path = ctx.config.db_path();
    blocking(move || {
        let store = Store::open(&path)?;
        let n = feedback::store_priors(store.conn(), &priors, now)?;
        store::meta_set(store.conn(), META_PRIORS_PULLED, &now.to_string())?;
        Ok(n)
    })
    .await
}

/// The most a run of failed syncs stretches the sync interval (×2 per failure: 1, 2, 4).
pub const MAX_FAILURE_STRETCH: u64 = 4;

/// The wait before the next periodic sync after `failures` consecutive syncs that failed with a
/// retryable error (HQ away, answering 5xx or timing out): `sync_interval_secs` ×
/// min(2^failures, [`MAX_FAILURE_STRETCH`]), with ±10 % jitter so a fleet does not come back in
/// step. With the defaults (900 s, 5 attempts per batch) a week without HQ costs at most about
/// 7 × 24 × 1.1 syncs ≈ 185 syncs of ≤ 5 batch attempts each, and the outbox reaches HQ at most
/// 4 × 900 × 1.1 s ≈ 66 min after it returns.
pub fn next_sync_wait<R: Rng + ?Sized>(interval_secs: u64, failures: u32, rng: &mut R) -> Duration {
    let stretch = 1u64
        .checked_shl(failures.min(16))
        .unwrap_or(u64::MAX)
        .min(MAX_FAILURE_STRETCH);
    let base = interval_secs.max(1) as f64 * stretch as f64;
    Duration::from_secs_f64(base * rng.random_range(0.9..1.1))
}

/// The daemon's sync task: runs [`run_once`] and [`pull_priors`] after each
/// [`next_sync_wait`], logging failures, until `shutdown` completes. While HQ is away (a
/// retryable failure) the priors are not asked for and the wait stretches.
pub async fn run_periodic(
    ctx: Arc<SyncContext>,
    clock: impl Fn() -> i64,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut rng = rand::make_rng::<StdRng>();
    let mut failures = 0u32;
    loop {
        let wait = next_sync_wait(ctx.config.sync_interval_secs, failures, &mut rng);
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(wait) => {}
        }
        match run_once(&ctx, clock()).await {
            Ok(r) => {
                failures = 0;
                tracing::info!(
                    sent = r.batches_sent,
                    left = r.outbox_left,
                    "feedback synced"
                );
            }
            Err(e) => {
                let retryable = e.retryable();
                failures = if retryable {
                    failures.saturating_add(1)
                } else {
                    0
                };
                tracing::warn!(error = %e, retryable, failures, "feedback sync failed");
                if retryable {
                    continue;
                }
            }
        }
        if let Err(e) = pull_priors(&ctx, clock()).await {
            tracing::warn!(error = %e, "pulling fleet priors failed");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn failed_syncs_stretch_the_interval_with_jitter_up_to_a_cap() {
        let mut rng = StdRng::seed_from_u64(9);
        for (failures, stretch) in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 4.0), (40, 4.0)] {
            let waits: Vec<f64> = (0..500)
                .map(|_| next_sync_wait(900, failures, &mut rng).as_secs_f64())
                .collect();
            let (lo, hi) = (900.0 * stretch * 0.9, 900.0 * stretch * 1.1);
            assert!(waits.iter().all(|w| (lo..hi).contains(w)), "{failures}");
            let distinct: std::collections::HashSet<u64> =
                waits.iter().map(|w| w.to_bits()).collect();
            assert!(distinct.len() > 450, "jittered");
        }
        // A zero interval never makes a tight loop.
        assert!(next_sync_wait(0, 0, &mut rng) >= Duration::from_millis(900));
    }

    #[test]
    fn the_largest_cell_fits_max_cell_bytes() {
        let label = "x".repeat(64);
        let big = i64::MAX as u64;
        let cell = Cell {
            day: Day(20_000),
            sku: label.to_uppercase(),
            style: "concise".into(),
            segment: label.clone(),
            content_kind: label,
            arm: format!("{}:{}", "a".repeat(24), "b".repeat(24)),
            sessions: big,
            counts: Counts {
                impressions: big,
                taps: big,
                thumbs_up: big,
                thumbs_down: big,
                whys: big,
                opt_outs: big,
                dwells: big,
                dwell_ms: big,
                conversions: big,
            },
            ipw: cells::Ipw {
                impressions: -f64::MAX,
                taps: -f64::MAX,
                conversions: -f64::MAX,
            },
        };
        let one = serde_json::to_vec(&cell).unwrap().len() as u64;
        // Less than the bound: the comma between cells in the document's array fits too.
        assert!(one < MAX_CELL_BYTES, "{one} bytes");
    }

    /// The README's figure: a week without HQ, counted on the schedule the daemon uses.
    #[test]
    fn a_week_without_hq_costs_a_bounded_number_of_attempts() {
        let mut rng = StdRng::seed_from_u64(1);
        let week = 7.0 * 86_400.0;
        let per_sync = u64::from(Backoff::default().attempts);
        let (mut t, mut syncs, mut failures) = (0.0, 0u64, 0u32);
        loop {
            t += next_sync_wait(900, failures, &mut rng).as_secs_f64();
            if t > week {
                break;
            }
            syncs += 1;
            failures += 1;
        }
        let attempts = syncs * per_sync;
        assert!((150..=190).contains(&syncs), "{syncs} syncs");
        assert!(attempts <= 950, "{attempts} attempts");
    }
}
