//! Feedback on the kiosk: impressions, interactions and conversions are recorded per session,
//! then closed into anonymised aggregate cells (see [`cells`]) that `sync` batches for HQ.
//!
//! Recording API for the kiosk UI: [`record_impression`], [`record_interaction`]; for POS feeds:
//! [`record_purchase`] / [`record_purchases`]. Fleet priors for the style bandit: [`priors`],
//! [`prior`], stored by [`store_priors`].
//!
//! Invariants:
//! - The session token never reaches the database: rows keep a 16-byte SHA-256 digest of it
//!   (domain-separated), only until the row's day is closed; then the rows are deleted and only
//!   cells with at least `k` distinct people remain (in the outbox): a known shopper counts once
//!   however many sessions they had that day (by their attribution tag), an anonymous session
//!   once. A shopper erased before the day closes counts per session again (their tag is gone).
//! - Interactions and conversions are stored on the impression they follow, so every cell counts
//!   taps and conversions of its own impressions (`taps, conversions <= impressions`).
//! - Days are the store's local calendar days (config `timezone`; timestamps stay UTC seconds on
//!   disk and on the wire). A day closes `conversion_window_secs` after its local end; a purchase is attributed to the
//!   latest unconverted impression of the same product at most that long before it — of the same
//!   shopper when the purchase names one (a till import of a loyalty customer's basket), of
//!   anyone otherwise. A purchase converts at most one impression per unit bought, and only
//!   once: the import de-duplicates rows before they get here.
//! - An impression may carry its shopper's attribution tag (a keyed digest, never the number
//!   or id) only while its day is open; closing the day deletes the row, erasure clears the tag.
//! - The ledger (`feedback_ledger`) counts every event recorded and where it went; without noise,
//!   recorded = pending + withheld + outbox + acknowledged + dropped (see [`crate::sync::status`]).
//! - Nothing here exposes a timestamp finer than a day outside the kiosk; `at` stays local.

pub mod cells;
pub mod simulate;
pub mod spool;

use ring::digest;
use ring::rand::SecureRandom;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use jiff::tz::TimeZone;

use crate::crypto::AttributionTag;
use crate::event::{Event, EventKind};
use crate::store::StoreError;
use crate::vocab::{SegmentKey, Style};
use cells::{Counts, Day};

#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("feedback field `{field}`: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("the catalog is empty; import a catalog before simulating shoppers")]
    EmptyCatalog,
}

impl FeedbackError {
    /// True when trying again later may succeed (database busy).
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Self::Store(StoreError::Sql {
                retryable: true,
                ..
            })
        )
    }
}

impl From<rusqlite::Error> for FeedbackError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(e.into())
    }
}

/// A random token per kiosk session. Never stored or sent: only its digest is kept, until the
/// session's day is closed. Prints as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken([u8; 16]);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

impl SessionToken {
    /// A fresh token from a secure random source (what the kiosk uses).
    pub fn random(rng: &dyn SecureRandom) -> Result<Self, FeedbackError> {
        let mut b = [0u8; 16];
        rng.fill(&mut b).map_err(|_| FeedbackError::Invalid {
            field: "session",
            reason: "the system random number generator failed".into(),
        })?;
        Ok(Self(b))
    }

    /// A token from given bytes (simulations and tests).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The digest stored in place of the token.
    pub fn digest(&self) -> [u8; 16] {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(b"shelftalk/session/v1\0");
        ctx.update(&self.0);
        let d = ctx.finish();
        let mut out = [0u8; 16];
        out.copy_from_slice(&d.as_ref()[..16]);
        out
    }
}

/// A pick shown to a shopper.
#[derive(Debug, Clone)]
pub struct Impression<'a> {
    /// Seconds since the Unix epoch (stays on the kiosk).
    pub at: i64,
    pub session: &'a SessionToken,
    pub sku: &'a str,
    pub style: Style,
    /// Probability with which the bandit chose `style` for this impression, in (0, 1].
    pub style_probability: f64,
    /// Coarse segment key, e.g. `footwear:mid` or `all`.
    pub segment: &'a str,
    /// What was shown, e.g. `blurb`, `template`, `reason`.
    pub content_kind: &'a str,
    /// The session's experiment arm ([`crate::experiment`]) and its probability, in (0, 1].
    pub arm: &'a str,
    pub arm_propensity: f64,
}

/// What a shopper did with a pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    Tap,
    ThumbUp,
    ThumbDown,
    Why,
    OptOut,
    Dwell { ms: u32 },
}

/// A shopper's interaction with an impression of the same session, product and style.
#[derive(Debug, Clone)]
pub struct Interaction<'a> {
    pub at: i64,
    pub session: &'a SessionToken,
    pub sku: &'a str,
    pub style: Style,
    pub kind: InteractionKind,
}

fn check_label(field: &'static str, value: &str, allow_upper: bool) -> Result<(), FeedbackError> {
    let ok = (1..=64).contains(&value.len())
        && value != cells::ALL_PRODUCTS
        && value.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(b, b':' | b'_' | b'-' | b'.' | b'/')
                || (allow_upper && (b.is_ascii_uppercase() || b == b' ' || b == b'#'))
        });
    if ok {
        Ok(())
    } else {
        Err(FeedbackError::Invalid {
            field,
            reason: format!("{value:?} is not 1-64 characters of a-z 0-9 : _ - . /"),
        })
    }
}

/// Checks a cell label as HQ does: segment and content kind are lower-case keys, products are
/// SKUs (upper case, spaces and `#` allowed too).
pub fn check_cell_labels(
    sku: &str,
    segment: &str,
    content_kind: &str,
) -> Result<(), FeedbackError> {
    if sku != cells::ALL_PRODUCTS {
        check_label("sku", sku, true)?;
    }
    check_label("segment", segment, false)?;
    check_label("content_kind", content_kind, false)
}

/// Which ledger column an event increments.
#[derive(Clone, Copy)]
enum Column {
    Impressions,
    Taps,
    ThumbsUp,
    ThumbsDown,
    Whys,
    OptOuts,
    Dwells,
    Conversions,
}

impl Column {
    fn name(self) -> &'static str {
        match self {
            Self::Impressions => "impressions",
            Self::Taps => "taps",
            Self::ThumbsUp => "thumbs_up",
            Self::ThumbsDown => "thumbs_down",
            Self::Whys => "whys",
            Self::OptOuts => "opt_outs",
            Self::Dwells => "dwells",
            Self::Conversions => "conversions",
        }
    }
}

/// Ledger buckets: where recorded events went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Recorded,
    Withheld,
    Acknowledged,
    Dropped,
}

impl Bucket {
    fn name(self) -> &'static str {
        match self {
            Self::Recorded => "recorded",
            Self::Withheld => "withheld",
            Self::Acknowledged => "acknowledged",
            Self::Dropped => "dropped",
        }
    }
}

fn bump(conn: &Connection, column: Column, by: u64, dwell_ms: u64) -> Result<(), FeedbackError> {
    let c = column.name();
    conn.prepare_cached(&format!(
        "UPDATE feedback_ledger SET {c} = {c} + ?1, dwell_ms = dwell_ms + ?2
         WHERE bucket = 'recorded'"
    ))?
    .execute(params![by, dwell_ms])?;
    Ok(())
}

/// Runs `f` inside a savepoint: all of its statements are written or none (a full disk between
/// the row and its ledger count must not leave one without the other). Works inside and outside
/// a caller's transaction.
fn atomically<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, FeedbackError>,
) -> Result<T, FeedbackError> {
    let outermost = conn.is_autocommit();
    conn.execute_batch("SAVEPOINT feedback_record")?;
    match f(conn).and_then(|v| {
        conn.execute_batch("RELEASE feedback_record")?;
        Ok(v)
    }) {
        Ok(v) => Ok(v),
        Err(e) => {
            // SQLite may already have rolled the whole transaction back (SQLITE_FULL); then
            // there is nothing left to undo. A transaction this call began is ended here in any
            // case (a failed commit must not leave the connection inside it).
            if !conn.is_autocommit() {
                let undo = if outermost {
                    "ROLLBACK"
                } else {
                    "ROLLBACK TO feedback_record; RELEASE feedback_record"
                };
                let _ = conn.execute_batch(undo);
            }
            Err(e)
        }
    }
}

/// Adds `batches` and `counts` to a ledger bucket.
pub fn ledger_add(
    conn: &Connection,
    bucket: Bucket,
    batches: u64,
    counts: &Counts,
) -> Result<(), FeedbackError> {
    conn.prepare_cached(
        "UPDATE feedback_ledger SET batches = batches + ?2, impressions = impressions + ?3,
            taps = taps + ?4, thumbs_up = thumbs_up + ?5, thumbs_down = thumbs_down + ?6,
            whys = whys + ?7, opt_outs = opt_outs + ?8, dwells = dwells + ?9,
            dwell_ms = dwell_ms + ?10, conversions = conversions + ?11
         WHERE bucket = ?1",
    )?
    .execute(params![
        bucket.name(),
        batches,
        counts.impressions,
        counts.taps,
        counts.thumbs_up,
        counts.thumbs_down,
        counts.whys,
        counts.opt_outs,
        counts.dwells,
        counts.dwell_ms,
        counts.conversions
    ])?;
    Ok(())
}

/// A ledger bucket: (batches, counts).
pub fn ledger(conn: &Connection, bucket: Bucket) -> Result<(u64, Counts), FeedbackError> {
    Ok(conn
        .prepare_cached(
            "SELECT batches, impressions, taps, thumbs_up, thumbs_down, whys, opt_outs, dwells,
                    dwell_ms, conversions FROM feedback_ledger WHERE bucket = ?1",
        )?
        .query_row([bucket.name()], |r| {
            Ok((
                r.get(0)?,
                Counts {
                    impressions: r.get(1)?,
                    taps: r.get(2)?,
                    thumbs_up: r.get(3)?,
                    thumbs_down: r.get(4)?,
                    whys: r.get(5)?,
                    opt_outs: r.get(6)?,
                    dwells: r.get(7)?,
                    dwell_ms: r.get(8)?,
                    conversions: r.get(9)?,
                },
            ))
        })?)
}

/// Records a pick shown to a shopper; returns the impression's local id.
pub fn record_impression(conn: &Connection, imp: &Impression<'_>) -> Result<i64, FeedbackError> {
    record_impression_tagged(conn, imp, None)
}

/// [`record_impression`] and, for a known shopper who allows analytics, [`tag_impression`] in
/// one step: both are written or neither.
pub fn record_impression_tagged(
    conn: &Connection,
    imp: &Impression<'_>,
    tag: Option<&AttributionTag>,
) -> Result<i64, FeedbackError> {
    check_label("sku", imp.sku, true)?;
    check_cell_labels(imp.sku, imp.segment, imp.content_kind)?;
    if !crate::experiment::is_arm_label(imp.arm) {
        return Err(FeedbackError::Invalid {
            field: "arm",
            reason: format!("{:?} is not an arm label", imp.arm),
        });
    }
    let p = imp.style_probability;
    for (field, p) in [
        ("style_probability", p),
        ("arm_propensity", imp.arm_propensity),
    ] {
        if !(p > 0.0 && p <= 1.0) {
            return Err(FeedbackError::Invalid {
                field,
                reason: format!("{p} is not in (0, 1]"),
            });
        }
    }
    atomically(conn, |conn| {
        conn.prepare_cached(
            "INSERT INTO feedback_impressions
                (at, session, sku, style, propensity, segment, content_kind, arm, arm_propensity)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            imp.at,
            &imp.session.digest()[..],
            imp.sku,
            imp.style.as_str(),
            p,
            imp.segment,
            imp.content_kind,
            imp.arm,
            imp.arm_propensity
        ])?;
        let id = conn.last_insert_rowid();
        bump(conn, Column::Impressions, 1, 0)?;
        if let Some(tag) = tag {
            tag_impression(conn, id, tag)?;
        }
        Ok(id)
    })
}

/// Marks an impression as shown to the shopper with `tag` (a known shopper who allows analytics),
/// so their till purchases convert it ([`record_purchase_by`]).
pub fn tag_impression(
    conn: &Connection,
    id: i64,
    tag: &AttributionTag,
) -> Result<(), FeedbackError> {
    conn.prepare_cached("UPDATE feedback_impressions SET shopper = ?2 WHERE id = ?1")?
        .execute(params![id, &tag.0[..]])?;
    Ok(())
}

/// Forgets a shopper's tag on every open impression (erasure): the impressions stay, anonymous.
pub fn forget_shopper(conn: &Connection, tag: &AttributionTag) -> Result<(), FeedbackError> {
    conn.execute(
        "UPDATE feedback_impressions SET shopper = NULL WHERE shopper = ?1",
        [&tag.0[..]],
    )?;
    Ok(())
}

/// Records an interaction on the latest impression of the same session, product and style at or
/// before `at`. Returns `false` (and records nothing) when there is no such impression — the
/// session never saw that pick, or its day has already been closed.
pub fn record_interaction(conn: &Connection, it: &Interaction<'_>) -> Result<bool, FeedbackError> {
    atomically(conn, |conn| record_interaction_in(conn, it))
}

fn record_interaction_in(conn: &Connection, it: &Interaction<'_>) -> Result<bool, FeedbackError> {
    let id: Option<i64> = conn
        .prepare_cached(
            "SELECT id FROM feedback_impressions
             WHERE session = ?1 AND sku = ?2 AND style = ?3 AND at <= ?4
             ORDER BY at DESC, id DESC LIMIT 1",
        )?
        .query_row(
            params![&it.session.digest()[..], it.sku, it.style.as_str(), it.at],
            |r| r.get(0),
        )
        .optional()?;
    let Some(id) = id else {
        return Ok(false);
    };
    let (column, sql) = match it.kind {
        InteractionKind::Tap => (
            Column::Taps,
            "UPDATE feedback_impressions SET tapped = 1 WHERE id = ?1 AND tapped = 0",
        ),
        InteractionKind::ThumbUp => (
            Column::ThumbsUp,
            "UPDATE feedback_impressions SET thumbs_up = thumbs_up + 1 WHERE id = ?1",
        ),
        InteractionKind::ThumbDown => (
            Column::ThumbsDown,
            "UPDATE feedback_impressions SET thumbs_down = thumbs_down + 1 WHERE id = ?1",
        ),
        InteractionKind::Why => (
            Column::Whys,
            "UPDATE feedback_impressions SET whys = whys + 1 WHERE id = ?1",
        ),
        InteractionKind::OptOut => (
            Column::OptOuts,
            "UPDATE feedback_impressions SET opt_outs = opt_outs + 1 WHERE id = ?1",
        ),
        InteractionKind::Dwell { .. } => (
            Column::Dwells,
            "UPDATE feedback_impressions SET dwells = dwells + 1, dwell_ms = dwell_ms + ?2
             WHERE id = ?1",
        ),
    };
    let (changed, ms) = match it.kind {
        InteractionKind::Dwell { ms } => (
            conn.prepare_cached(sql)?.execute(params![id, ms])?,
            u64::from(ms),
        ),
        _ => (conn.prepare_cached(sql)?.execute([id])?, 0),
    };
    if changed > 0 {
        bump(conn, column, 1, ms)?;
    }
    Ok(true)
}

/// Records a POS purchase of `sku` at `at`: a conversion of the latest unconverted impression of
/// that product at most `window_secs` earlier. Returns whether an impression converted.
pub fn record_purchase(
    conn: &Connection,
    at: i64,
    sku: &str,
    window_secs: u64,
) -> Result<bool, FeedbackError> {
    record_purchase_by(conn, at, sku, None, window_secs)
}

/// [`record_purchase`] for a purchase that names its shopper: only an impression shown to that
/// shopper converts (a known shopper's purchase never converts someone else's impression).
pub fn record_purchase_by(
    conn: &Connection,
    at: i64,
    sku: &str,
    shopper: Option<&AttributionTag>,
    window_secs: u64,
) -> Result<bool, FeedbackError> {
    atomically(conn, |conn| {
        record_purchase_in(conn, at, sku, shopper, window_secs)
    })
}

fn record_purchase_in(
    conn: &Connection,
    at: i64,
    sku: &str,
    shopper: Option<&AttributionTag>,
    window_secs: u64,
) -> Result<bool, FeedbackError> {
    let changed = conn
        .prepare_cached(
            "UPDATE feedback_impressions SET converted = 1 WHERE id = (
                SELECT id FROM feedback_impressions
                WHERE sku = ?1 AND at <= ?2 AND at >= ?2 - ?3 AND converted = 0
                  AND (?4 IS NULL OR shopper = ?4)
                ORDER BY at DESC, id DESC LIMIT 1)",
        )?
        .execute(params![
            sku,
            at,
            window_secs as i64,
            shopper.map(|t| t.0.to_vec())
        ])?;
    if changed > 0 {
        bump(conn, Column::Conversions, 1, 0)?;
    }
    Ok(changed > 0)
}

/// Scans imported POS events and records every purchase (one per unit of quantity); returns the
/// number of conversions.
pub fn record_purchases(
    conn: &Connection,
    events: &[Event],
    window_secs: u64,
) -> Result<u64, FeedbackError> {
    let mut n = 0;
    for e in events.iter().filter(|e| e.kind == EventKind::Purchase) {
        for _ in 0..e.quantity.max(1) {
            if record_purchase(conn, e.at, &e.sku, window_secs)? {
                n += 1;
            } else {
                break;
            }
        }
    }
    Ok(n)
}

/// The first store day that is still open at `now`: days before it are closed (their
/// conversion window has passed). Days are the store's local days in `tz`.
pub fn first_open_day(now: i64, window_secs: u64, tz: &TimeZone) -> Day {
    Day::of_in(now - window_secs as i64, tz)
}

/// Session rows of closed days (before `open_day`), grouped by cell and session, one store day
/// (local in `tz`) at a time in `f`; the rows are deleted by [`delete_closed`] in the caller's
/// transaction.
pub fn for_each_closed_day(
    conn: &Connection,
    open_day: Day,
    tz: &TimeZone,
    mut f: impl FnMut(Day, Vec<cells::SessionRow>) -> Result<(), FeedbackError>,
) -> Result<(), FeedbackError> {
    let first: Option<i64> = conn.query_row(
        "SELECT min(at) FROM feedback_impressions WHERE at < ?1",
        [open_day.start_in(tz)],
        |r| r.get(0),
    )?;
    let days: Vec<i64> = match first {
        Some(at) => (Day::of_in(at, tz).0..open_day.0).collect(),
        None => Vec::new(),
    };
    let mut stmt = conn.prepare(
        // The contributor k counts: a known shopper's attribution tag (every shopper whose
        // impressions are recorded at all has one: feedback is recorded only with analytics
        // consent), else the session. Both are 16-byte keyed digests of different domains.
        "SELECT sku, style, segment, content_kind, coalesce(shopper, session) AS person,
                count(*), sum(tapped),
                sum(thumbs_up), sum(thumbs_down), sum(whys), sum(opt_outs), sum(dwells),
                sum(dwell_ms), sum(converted), sum(1.0 / propensity),
                sum(tapped / propensity), sum(converted / propensity), arm
         FROM feedback_impressions WHERE at >= ?1 AND at < ?2
         GROUP BY sku, style, segment, content_kind, arm, person",
    )?;
    for d in days {
        let day = Day(d);
        let rows = stmt
            .query_map([day.start_in(tz), Day(d + 1).start_in(tz)], |r| {
                let person: Vec<u8> = r.get(4)?;
                let mut p = [0u8; 16];
                if person.len() == 16 {
                    p.copy_from_slice(&person);
                }
                Ok(cells::SessionRow {
                    key: cells::CellKey {
                        day,
                        sku: r.get(0)?,
                        style: r.get(1)?,
                        segment: r.get(2)?,
                        content_kind: r.get(3)?,
                        arm: r.get(17)?,
                    },
                    person: p,
                    counts: Counts {
                        impressions: r.get(5)?,
                        taps: r.get(6)?,
                        thumbs_up: r.get(7)?,
                        thumbs_down: r.get(8)?,
                        whys: r.get(9)?,
                        opt_outs: r.get(10)?,
                        dwells: r.get(11)?,
                        dwell_ms: r.get(12)?,
                        conversions: r.get(13)?,
                    },
                    ipw: cells::Ipw {
                        impressions: r.get(14)?,
                        taps: r.get(15)?,
                        conversions: r.get(16)?,
                    },
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        if !rows.is_empty() {
            f(day, rows)?;
        }
    }
    Ok(())
}

/// Deletes the impressions of closed days (before `open_day`, local in `tz`).
pub fn delete_closed(
    conn: &Connection,
    open_day: Day,
    tz: &TimeZone,
) -> Result<u64, FeedbackError> {
    Ok(conn.execute(
        "DELETE FROM feedback_impressions WHERE at < ?1",
        [open_day.start_in(tz)],
    )? as u64)
}

/// Counts of impressions not yet closed into cells.
pub fn pending(conn: &Connection) -> Result<Counts, FeedbackError> {
    Ok(conn.query_row(
        "SELECT count(*), coalesce(sum(tapped), 0), coalesce(sum(thumbs_up), 0),
                coalesce(sum(thumbs_down), 0), coalesce(sum(whys), 0), coalesce(sum(opt_outs), 0),
                coalesce(sum(dwells), 0), coalesce(sum(dwell_ms), 0), coalesce(sum(converted), 0)
         FROM feedback_impressions",
        [],
        |r| {
            Ok(Counts {
                impressions: r.get(0)?,
                taps: r.get(1)?,
                thumbs_up: r.get(2)?,
                thumbs_down: r.get(3)?,
                whys: r.get(4)?,
                opt_outs: r.get(5)?,
                dwells: r.get(6)?,
                dwell_ms: r.get(7)?,
                conversions: r.get(8)?,
            })
        },
    )?)
}

/// A Beta prior of one style in one segment, as HQ computes it from fleet data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prior {
    pub segment: String,
    pub style: String,
    pub alpha: f64,
    pub beta: f64,
}

impl Prior {
    /// The prior's segment and style in the kiosk's vocabulary; `None` for labels this kiosk
    /// does not know (a newer HQ's style, a segment it would not form).
    pub fn typed(&self) -> Option<(SegmentKey, Style)> {
        Some((self.segment.parse().ok()?, self.style.parse().ok()?))
    }
}

/// Replaces the stored fleet priors with `priors` (invalid entries are skipped); returns how many
/// were stored.
pub fn store_priors(conn: &Connection, priors: &[Prior], now: i64) -> Result<usize, FeedbackError> {
    conn.execute("DELETE FROM feedback_priors", [])?;
    let mut stmt = conn.prepare_cached(
        "INSERT OR REPLACE INTO feedback_priors (segment, style, alpha, beta, pulled_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut n = 0;
    for p in priors {
        let ok = p.alpha.is_finite()
            && p.beta.is_finite()
            && p.alpha > 0.0
            && p.beta > 0.0
            && Style::ALL.iter().any(|s| s.as_str() == p.style)
            && check_label("segment", &p.segment, false).is_ok();
        if ok {
            stmt.execute(params![p.segment, p.style, p.alpha, p.beta, now])?;
            n += 1;
        }
    }
    Ok(n)
}

/// Every stored fleet prior.
pub fn priors(conn: &Connection) -> Result<Vec<Prior>, FeedbackError> {
    let mut stmt = conn.prepare_cached(
        "SELECT segment, style, alpha, beta FROM feedback_priors ORDER BY segment, style",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Prior {
                segment: r.get(0)?,
                style: r.get(1)?,
                alpha: r.get(2)?,
                beta: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The bandit's prior (alpha, beta) for `style` in `segment`: the fleet prior of the segment,
/// else of segment "all", else the uniform Beta(1, 1).
pub fn prior(conn: &Connection, segment: &str, style: Style) -> Result<(f64, f64), FeedbackError> {
    let mut stmt = conn.prepare_cached(
        "SELECT alpha, beta FROM feedback_priors WHERE segment = ?1 AND style = ?2",
    )?;
    for seg in [segment, cells::ALL_SEGMENTS] {
        if let Some(p) = stmt
            .query_row(params![seg, style.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
        {
            return Ok(p);
        }
    }
    Ok((1.0, 1.0))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::Store;

    const T: i64 = 1_790_000_000;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db")).unwrap();
        (dir, s)
    }

    fn imp<'a>(session: &'a SessionToken, at: i64, sku: &'a str) -> Impression<'a> {
        Impression {
            at,
            session,
            sku,
            style: Style::Playful,
            style_probability: 0.25,
            segment: "footwear:mid",
            content_kind: "blurb",
            arm: crate::experiment::PERSONALISED,
            arm_propensity: 0.9,
        }
    }

    /// `2026-11-29T17:30:00Z` and friends as Unix seconds.
    fn utc(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_second()
    }

    /// The store days the closed rows fall into, with their impression counts.
    fn closed_days(c: &Connection, now: i64, tz: &TimeZone) -> Vec<(String, u64)> {
        let open = first_open_day(now, 3600, tz);
        let mut out = Vec::new();
        for_each_closed_day(c, open, tz, |day, rows| {
            out.push((
                day.to_string(),
                rows.iter().map(|r| r.counts.impressions).sum(),
            ));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn a_shanghai_store_day_runs_from_local_midnight() {
        let (_d, s) = store();
        let c = s.conn();
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        let a = SessionToken::from_bytes([1; 16]);
        // 01:30 on 30 November in Shanghai is still 29 November in UTC.
        record_impression(c, &imp(&a, utc("2026-11-29T17:30:00Z"), "SKU1")).unwrap();
        record_impression(c, &imp(&a, utc("2026-11-29T15:30:00Z"), "SKU1")).unwrap();
        // At 00:30 on 1 December local (+ the 1 h window not yet over) 30 November is open.
        assert!(closed_days(c, utc("2026-11-30T16:30:00Z"), &tz)
            .iter()
            .all(|(d, _)| d != "2026-11-30"));
        // At 01:30 local it has closed: the late row is labelled 30 November, the early one 29.
        let days = closed_days(c, utc("2026-11-30T17:30:00Z"), &tz);
        assert_eq!(
            days,
            [("2026-11-29".to_string(), 1), ("2026-11-30".to_string(), 1)]
        );
        // The same rows in a UTC store both fall on 29 November.
        assert_eq!(
            closed_days(c, utc("2026-12-01T02:00:00Z"), &TimeZone::UTC),
            [("2026-11-29".to_string(), 2)]
        );
        delete_closed(
            c,
            first_open_day(utc("2026-11-30T17:30:00Z"), 3600, &tz),
            &tz,
        )
        .unwrap();
        assert_eq!(pending(c).unwrap().impressions, 0);
    }

    #[test]
    fn the_day_daylight_saving_ends_has_25_hours() {
        let (_d, s) = store();
        let c = s.conn();
        let tz = TimeZone::get("America/New_York").unwrap();
        let day = Day::of_in(utc("2026-11-01T12:00:00Z"), &tz);
        assert_eq!(day.to_string(), "2026-11-01");
        assert_eq!(Day(day.0 + 1).start_in(&tz) - day.start_in(&tz), 25 * 3600);
        assert_eq!(day.start_in(&tz), utc("2026-11-01T04:00:00Z"));
        let spring = Day::of_in(utc("2026-03-08T12:00:00Z"), &tz);
        assert_eq!(
            Day(spring.0 + 1).start_in(&tz) - spring.start_in(&tz),
            23 * 3600
        );
        let a = SessionToken::from_bytes([3; 16]);
        // 23:30 EST on 1 November (the 25th hour of the day) and 00:30 on 2 November.
        record_impression(c, &imp(&a, utc("2026-11-02T04:30:00Z"), "SKU1")).unwrap();
        record_impression(c, &imp(&a, utc("2026-11-02T05:30:00Z"), "SKU1")).unwrap();
        let days = closed_days(c, utc("2026-11-04T00:00:00Z"), &tz);
        assert_eq!(
            days,
            [("2026-11-01".to_string(), 1), ("2026-11-02".to_string(), 1)]
        );
    }

    #[test]
    fn interactions_and_purchases_attach_to_impressions() {
        let (_d, s) = store();
        let c = s.conn();
        let a = SessionToken::from_bytes([1; 16]);
        let b = SessionToken::from_bytes([2; 16]);
        record_impression(c, &imp(&a, T, "SKU1")).unwrap();
        let tap = |session, at| Interaction {
            at,
            session,
            sku: "SKU1",
            style: Style::Playful,
            kind: InteractionKind::Tap,
        };
        assert!(record_interaction(c, &tap(&a, T + 5)).unwrap());
        assert!(
            record_interaction(c, &tap(&a, T + 6)).unwrap(),
            "second tap matches"
        );
        assert!(
            !record_interaction(c, &tap(&b, T + 5)).unwrap(),
            "other session"
        );
        assert!(
            !record_interaction(c, &tap(&a, T - 5)).unwrap(),
            "before the impression"
        );
        let dwell = Interaction {
            kind: InteractionKind::Dwell { ms: 1500 },
            ..tap(&a, T + 7)
        };
        assert!(record_interaction(c, &dwell).unwrap());
        assert!(record_purchase(c, T + 600, "SKU1", 3600).unwrap());
        assert!(
            !record_purchase(c, T + 700, "SKU1", 3600).unwrap(),
            "already converted"
        );
        assert!(!record_purchase(c, T + 9000, "SKU2", 3600).unwrap());
        let p = pending(c).unwrap();
        assert_eq!(
            (p.impressions, p.taps, p.dwells, p.dwell_ms, p.conversions),
            (1, 1, 1, 1500, 1)
        );
        assert_eq!(ledger(c, Bucket::Recorded).unwrap().1, p);
    }

    #[test]
    fn purchases_outside_the_window_do_not_convert() {
        let (_d, s) = store();
        let a = SessionToken::from_bytes([1; 16]);
        record_impression(s.conn(), &imp(&a, T, "SKU1")).unwrap();
        assert!(!record_purchase(s.conn(), T + 3601, "SKU1", 3600).unwrap());
        assert!(!record_purchase(s.conn(), T - 1, "SKU1", 3600).unwrap());
        let events = vec![Event {
            at: T + 10,
            kind: EventKind::Purchase,
            sku: "SKU1".into(),
            quantity: 3,
            price: None,
            session: None,
        }];
        assert_eq!(record_purchases(s.conn(), &events, 3600).unwrap(), 1);
    }

    #[test]
    fn the_session_token_is_not_stored() {
        let (_d, s) = store();
        let a = SessionToken::from_bytes([0xAB; 16]);
        record_impression(s.conn(), &imp(&a, T, "SKU1")).unwrap();
        let stored: Vec<u8> = s
            .conn()
            .query_row("SELECT session FROM feedback_impressions", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, vec![0xAB; 16]);
        assert_eq!(stored, a.digest().to_vec());
        assert_eq!(format!("{a:?}"), "SessionToken(***)");
    }

    #[test]
    fn bad_input_is_refused_with_the_field() {
        let (_d, s) = store();
        let a = SessionToken::from_bytes([1; 16]);
        let mut i = imp(&a, T, "SKU1");
        i.style_probability = 0.0;
        let e = record_impression(s.conn(), &i).unwrap_err();
        assert!(e.to_string().contains("style_probability"), "{e}");
        let mut i = imp(&a, T, "SKU1");
        i.segment = "Footwear Mid";
        let e = record_impression(s.conn(), &i).unwrap_err();
        assert!(e.to_string().contains("segment"), "{e}");
        let i = imp(&a, T, "*");
        assert!(record_impression(s.conn(), &i).is_err());
    }

    #[test]
    fn priors_fall_back_to_all_then_uniform() {
        let (_d, s) = store();
        let c = s.conn();
        assert_eq!(prior(c, "x", Style::Value).unwrap(), (1.0, 1.0));
        let n = store_priors(
            c,
            &[
                Prior {
                    segment: "all".into(),
                    style: "value".into(),
                    alpha: 3.0,
                    beta: 30.0,
                },
                Prior {
                    segment: "x".into(),
                    style: "value".into(),
                    alpha: 5.0,
                    beta: 10.0,
                },
                Prior {
                    segment: "x".into(),
                    style: "bogus".into(),
                    alpha: 5.0,
                    beta: 10.0,
                },
            ],
            T,
        )
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(prior(c, "x", Style::Value).unwrap(), (5.0, 10.0));
        assert_eq!(prior(c, "y", Style::Value).unwrap(), (3.0, 30.0));
        assert_eq!(prior(c, "y", Style::Concise).unwrap(), (1.0, 1.0));
    }
}
