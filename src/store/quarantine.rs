//! Repository of quarantined import rows and of completed imports.
//!
//! Invariants: a quarantined row is stored once per (file content, line, field, rule), so
//! re-importing a file adds nothing. Excerpts are redacted before they are stored (see
//! [`redact`]): a rejected row can still carry a loyalty number, e-mail or phone number.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::StoreError;

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

/// Masks what could identify a person in free text: e-mail addresses, and runs of 6 or more
/// digits (loyalty numbers, phone numbers, card numbers) possibly broken by spaces or dashes.
pub fn redact(text: &str) -> String {
    let words: Vec<String> = text
        .split(' ')
        .map(|w| {
            if w.contains('@') && w.contains('.') {
                "[email]".to_string()
            } else {
                w.to_string()
            }
        })
        .collect();
    let joined = words.join(" ");
    let chars: Vec<char> = joined.chars().collect();
    let mut out = String::with_capacity(joined.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            let mut digits = 0;
            let mut end = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || matches!(chars[i], ' ' | '-' | '(' | ')' | '+' | '.'))
            {
                if chars[i].is_ascii_digit() {
                    digits += 1;
                    end = i + 1;
                }
                i += 1;
            }
            if digits >= 6 {
                out.push_str("[number]");
            } else {
                out.extend(&chars[start..end]);
            }
            out.extend(&chars[end..i]);
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn redact_masks_contact_data_and_keeps_small_numbers() {
        assert_eq!(redact("mail jane.doe@example.com now"), "mail [email] now");
        assert_eq!(redact("card 4485 1234 5678 9012 ok"), "card [number] ok");
        assert_eq!(redact("call +44 20-7946-0958."), "call [number].");
        assert_eq!(redact("LC20261234,view"), "LC[number],view");
        assert_eq!(redact("price 12.50 qty 3"), "price 12.50 qty 3");
    }
}
