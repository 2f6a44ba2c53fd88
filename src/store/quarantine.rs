//! Repository of quarantined import rows and of completed imports.
//!
//! Invariants: a quarantined row is stored once per (file content, line, field, rule), so
//! re-importing a file adds nothing. Excerpts are redacted before they are stored (see
//! [`redact`]): a rejected row can still carry a loyalty number, e-mail or phone number.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::StoreError;
use crate::redact::redact;

/// One stored quarantine entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub file: String,
    pub line: u64,
    pub field: String,
    pub rule: String,
    pub reason: String,
    pub excerpt: String,
}

/// Stores `entry` for the file with content hash `file_sha256`; returns false if already there.
pub fn insert(
    conn: &Connection,
    file_sha256: &str,
    entry: &Entry,
    now: i64,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO quarantine (file, file_sha256, line, field, rule, reason, excerpt, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            entry.file,
            file_sha256,
            entry.line,
            entry.field,
            entry.rule,
            redact(&entry.reason),
            redact(&entry.excerpt),
            now
        ])?;
    Ok(n == 1)
}

/// Quarantined rows, newest import first, optionally for one rule; at most `limit`.
pub fn list(conn: &Connection, rule: Option<&str>, limit: u32) -> Result<Vec<Entry>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT file, line, field, rule, reason, excerpt FROM quarantine
         WHERE ?1 IS NULL OR rule = ?1 ORDER BY at DESC, file, line LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![rule, limit], |r| {
            Ok(Entry {
                file: r.get(0)?,
                line: r.get(1)?,
                field: r.get(2)?,
                rule: r.get(3)?,
                reason: r.get(4)?,
                excerpt: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn count(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM quarantine", [], |r| r.get(0))?)
}

/// The stored report of an earlier import of the same content, if any.
pub fn previous_import(
    conn: &Connection,
    sha256: &str,
    kind: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT report FROM imports WHERE sha256 = ?1 AND kind = ?2",
            [sha256, kind],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn record_import(
    conn: &Connection,
    sha256: &str,
    kind: &str,
    file: &str,
    report_json: &str,
    now: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO imports (sha256, kind, file, at, report) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT DO NOTHING",
        params![sha256, kind, file, now, report_json],
    )?;
    Ok(())
}
