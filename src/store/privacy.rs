//! Repository of the suppression list and the consent log.
//!
//! Invariants:
//! - The suppression list holds the lookup tokens (HMAC) of erased shoppers and the day they
//!   were erased, never a loyalty number; a token on it is never made into a shopper again by
//!   an import or an enrolment (`profile` checks it before creating one).
//! - The consent log holds, per shopper, every consent given or changed: when, under which
//!   terms version, what, and from where. Its rows go with the shopper (`ON DELETE CASCADE`).

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::shoppers::Consent;
use super::StoreError;
use crate::crypto::{LookupToken, ShopperId};

/// Where a consent was given or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentSource {
    /// Assumed from the loyalty programme's sign-up for a shopper created by a till import.
    Import,
    /// `shopper enroll` at the counter.
    Enrol,
    /// The shopper at the kiosk screen (opting out or back in).
    Kiosk,
}

impl ConsentSource {
    fn as_str(self) -> &'static str {
        match self {
            Self::Import => "import",
            Self::Enrol => "enrol",
            Self::Kiosk => "kiosk",
        }
    }
}

/// One entry of the consent log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentEntry {
    /// Unix seconds.
    pub at: i64,
    pub terms: String,
    pub consent: Consent,
    pub source: String,
}

/// Puts an erased shopper's token on the suppression list (idempotent).
pub fn suppress(conn: &Connection, token: &LookupToken, now: i64) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR IGNORE INTO suppressed (lookup, day) VALUES (?1, ?2)")?
        .execute(params![&token.0[..], now.div_euclid(86_400)])?;
    Ok(())
}

/// Whether a token is on the suppression list.
pub fn is_suppressed(conn: &Connection, token: &LookupToken) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM suppressed WHERE lookup = ?1")?
        .query_row([&token.0[..]], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Takes a token off the suppression list: the shopper asked to join again (an explicit new
/// consent). Returns whether it was on it.
pub fn lift(conn: &Connection, token: &LookupToken) -> Result<bool, StoreError> {
    Ok(conn.execute("DELETE FROM suppressed WHERE lookup = ?1", [&token.0[..]])? > 0)
}

/// How many tokens are suppressed.
pub fn suppressed_count(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM suppressed", [], |r| r.get(0))?)
}

/// Records a consent given or changed.
pub fn log_consent(
    conn: &Connection,
    id: &ShopperId,
    consent: Consent,
    terms: &str,
    source: ConsentSource,
    now: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO consent_log (shopper_id, at, terms, personalise, analytics, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        &id.0[..],
        now,
        terms,
        consent.personalise,
        consent.analytics,
        source.as_str()
    ])?;
    Ok(())
}

/// A shopper's consent log, oldest first.
pub fn consent_log(conn: &Connection, id: &ShopperId) -> Result<Vec<ConsentEntry>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, terms, personalise, analytics, source FROM consent_log
         WHERE shopper_id = ?1 ORDER BY at, id",
    )?;
    let rows = stmt
        .query_map([&id.0[..]], |r| {
            Ok(ConsentEntry {
                at: r.get(0)?,
                terms: r.get(1)?,
                consent: Consent {
                    personalise: r.get(2)?,
                    analytics: r.get(3)?,
                },
                source: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn suppression_is_idempotent_and_liftable() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("p.db")).unwrap();
        let c = store.conn();
        let t = LookupToken([7; 32]);
        assert!(!is_suppressed(c, &t).unwrap());
        suppress(c, &t, 86_400 * 3).unwrap();
        suppress(c, &t, 86_400 * 4).unwrap();
        assert!(is_suppressed(c, &t).unwrap());
        assert_eq!(suppressed_count(c).unwrap(), 1);
        assert!(lift(c, &t).unwrap());
        assert!(!lift(c, &t).unwrap());
        assert!(!is_suppressed(c, &t).unwrap());
    }
}
