//! The technician audit log: append-only JSON lines, each carrying the SHA-256 of the previous
//! line, so removing, reordering or editing any line breaks the chain.
//!
//! Invariants:
//! - Lines are only ever appended (the file is opened in append mode, each line written with one
//!   `write` and synced), never rewritten.
//! - One appender at a time: [`AuditLog::append`] holds an exclusive `flock` on the file from
//!   reading the last entry until its own line is synced, so appenders in several threads or
//!   processes (the daemon's console and shell actions, a CLI) never fork the chain.
//! - `hash = SHA-256(prev ‖ "\n" ‖ canonical JSON of the entry without its hash)`, hex; the first
//!   entry's `prev` is 64 zeros. [`AuditLog::verify`] recomputes every link.
//! - Entries name shoppers only by their short random id, never by loyalty number, and never
//!   carry a PIN (PIN attempts are logged as `pin_accepted`, `pin_wrong`, `pin_lockout`).
//! - The [`Head`] (last seq and hash, and whether the chain verifies) is what the kiosk signs and
//!   reports to HQ with every sync: HQ keeps the heads it was shown, so a log rewritten here (lines
//!   removed, edited, or the file replaced) shows up there as a head that went backwards or
//!   changed at the same seq.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ring::digest;
use serde::{Deserialize, Serialize};

/// Waits for the exclusive `flock` on `file` (released when it is closed).
fn lock_exclusive(file: &File) -> std::io::Result<()> {
    loop {
        match rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The `prev` of the first entry, and the head of an empty log.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit entry {line} cannot be encoded: {source}")]
    Encode {
        line: u64,
        source: serde_json::Error,
    },
    #[error("audit log {path} line {line}: {reason}")]
    Broken {
        path: PathBuf,
        line: u64,
        reason: String,
    },
}

/// One technician action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    /// Unix seconds.
    pub at: i64,
    /// Who acted: `console`, `cli`, `daemon`.
    pub actor: String,
    /// What was done: `erase_shopper`, `rotate_keys`, `self_test`, ...
    pub action: String,
    /// Outcome and parameters, free text without personal data.
    pub detail: String,
    pub prev: String,
    pub hash: String,
}

#[derive(Serialize)]
struct Unhashed<'a> {
    seq: u64,
    at: i64,
    actor: &'a str,
    action: &'a str,
    detail: &'a str,
    prev: &'a str,
}

fn link_hash(e: &Unhashed<'_>) -> String {
    let body = serde_json::to_string(e).unwrap_or_default();
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(e.prev.as_bytes());
    ctx.update(b"\n");
    ctx.update(body.as_bytes());
    crate::crypto::hex(ctx.finish().as_ref())
}

/// The audit log file of a data directory.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

/// Where the log ends, as [`AuditLog::head`] reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    /// The last entry's sequence number; 0 for an empty log.
    pub seq: u64,
    /// The last entry's hash (hex); [`GENESIS`] for an empty log.
    pub hash: String,
    /// Whether every link of the chain verifies.
    pub intact: bool,
}

/// What [`verify`](AuditLog::verify) found.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub entries: u64,
    pub head: String,
}

impl AuditLog {
    pub fn in_dir(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join("audit.log"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
        |source| AuditError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends an entry after verifying the chain so far (a broken chain is reported, and the
    /// new entry is still appended after the last line so nothing is lost).
    pub fn append(
        &self,
        at: i64,
        actor: &str,
        action: &str,
        detail: &str,
    ) -> Result<Entry, AuditError> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(self.io())?;
        lock_exclusive(&file).map_err(self.io())?;
        let (seq, prev) = match self.last()? {
            Some(last) => (last.seq + 1, last.hash),
            None => (1, GENESIS.to_string()),
        };
        let unhashed = Unhashed {
            seq,
            at,
            actor,
            action,
            detail,
            prev: &prev,
        };
        let hash = link_hash(&unhashed);
        let entry = Entry {
            seq,
            at,
            actor: actor.into(),
            action: action.into(),
            detail: detail.into(),
            prev,
            hash,
        };
        let mut line = serde_json::to_string(&entry)
            .map_err(|source| AuditError::Encode { line: seq, source })?;
        line.push('\n');
        file.write_all(line.as_bytes()).map_err(self.io())?;
        file.sync_data().map_err(self.io())?;
        Ok(entry)
    }

    /// Calls `f` with every line that parses as an entry, in file order (lines that do not are
    /// skipped: [`verify`](Self::verify) reports them).
    fn for_each(&self, mut f: impl FnMut(Entry)) -> Result<(), AuditError> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(self.io()(e)),
        };
        for line in BufReader::new(file).lines() {
            let line = line.map_err(self.io())?;
            if let Ok(e) = serde_json::from_str::<Entry>(&line) {
                f(e);
            }
        }
        Ok(())
    }

    /// The last entry (appends call it with the append lock held).
    fn last(&self) -> Result<Option<Entry>, AuditError> {
        let mut last = None;
        self.for_each(|e| last = Some(e))?;
        Ok(last)
    }

    /// Every entry, in file order (lines that are not entries are skipped).
    pub fn entries(&self) -> Result<Vec<Entry>, AuditError> {
        let mut all = Vec::new();
        self.for_each(|e| all.push(e))?;
        Ok(all)
    }

    /// The log's head: the last entry's seq and hash ([`GENESIS`] and 0 for an empty log), and
    /// whether the whole chain verifies.
    pub fn head(&self) -> Result<Head, AuditError> {
        let last = self.last()?;
        let intact = match self.verify() {
            Ok(_) => true,
            Err(AuditError::Broken { .. }) => false,
            Err(e) => return Err(e),
        };
        Ok(match last {
            Some(e) => Head {
                seq: e.seq,
                hash: e.hash,
                intact,
            },
            None => Head {
                seq: 0,
                hash: GENESIS.into(),
                intact,
            },
        })
    }

    /// Whether the log still holds `head` — a head HQ recorded from this kiosk, as `/v1/kiosks`
    /// shows it: its entry `seq` has hash `hash` (seq 0 is the empty log's [`GENESIS`]). A log
    /// rewritten after HQ saw the head no longer holds it, even when it has grown past it since.
    /// Checks only that entry: run [`verify`](Self::verify) for the chain.
    pub fn holds(&self, seq: u64, hash: &str) -> Result<bool, AuditError> {
        if seq == 0 {
            return Ok(hash == GENESIS);
        }
        let mut found = false;
        self.for_each(|e| found |= e.seq == seq && e.hash == hash)?;
        Ok(found)
    }

    /// Recomputes the whole chain; the error names the first broken line.
    pub fn verify(&self) -> Result<Verified, AuditError> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Verified {
                    entries: 0,
                    head: GENESIS.into(),
                })
            }
            Err(e) => return Err(self.io()(e)),
        };
        let mut prev = GENESIS.to_string();
        let mut n = 0u64;
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line_no = i as u64 + 1;
            let broken = |reason: String| AuditError::Broken {
                path: self.path.clone(),
                line: line_no,
                reason,
            };
            let line = line.map_err(self.io())?;
            let e: Entry = serde_json::from_str(&line)
                .map_err(|err| broken(format!("not an audit entry: {err}")))?;
            if e.seq != line_no {
                return Err(broken(format!(
                    "sequence {} where {line_no} was expected",
                    e.seq
                )));
            }
            if e.prev != prev {
                return Err(broken(
                    "does not follow the previous line (prev hash differs)".into(),
                ));
            }
            let expect = link_hash(&Unhashed {
                seq: e.seq,
                at: e.at,
                actor: &e.actor,
                action: &e.action,
                detail: &e.detail,
                prev: &e.prev,
            });
            if e.hash != expect {
                return Err(broken("content does not match its hash (edited)".into()));
            }
            prev = e.hash;
            n += 1;
        }
        Ok(Verified {
            entries: n,
            head: prev,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn log_with(n: usize) -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::in_dir(dir.path());
        for i in 0..n {
            log.append(
                1_000 + i as i64,
                "console",
                "rotate_keys",
                &format!("kek {i} -> {}", i + 1),
            )
            .unwrap();
        }
        (dir, log)
    }

    #[test]
    fn chain_verifies_and_links() {
        let (_d, log) = log_with(3);
        let v = log.verify().unwrap();
        assert_eq!(v.entries, 3);
        let text = std::fs::read_to_string(log.path()).unwrap();
        let entries: Vec<Entry> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(entries[0].prev, GENESIS);
        assert_eq!(entries[1].prev, entries[0].hash);
        assert_eq!(v.head, entries[2].hash);
    }

    #[test]
    fn any_edit_or_removal_breaks_the_chain() {
        let (_d, log) = log_with(4);
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<&str> = text.lines().collect();

        let edited = text.replacen("kek 1 -> 2", "kek 1 -> 9", 1);
        std::fs::write(log.path(), edited).unwrap();
        let err = log.verify().unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");

        let removed = [lines[0], lines[2], lines[3]].join("\n") + "\n";
        std::fs::write(log.path(), removed).unwrap();
        assert!(log.verify().is_err());

        let swapped = [lines[1], lines[0], lines[2], lines[3]].join("\n") + "\n";
        std::fs::write(log.path(), swapped).unwrap();
        assert!(log.verify().is_err());
    }

    #[test]
    fn the_head_is_the_last_entry_and_says_whether_the_chain_holds() {
        let dir = tempfile::tempdir().unwrap();
        let empty = AuditLog::in_dir(dir.path()).head().unwrap();
        assert_eq!(
            empty,
            Head {
                seq: 0,
                hash: GENESIS.into(),
                intact: true
            }
        );
        let (_d, log) = log_with(3);
        let head = log.head().unwrap();
        assert_eq!((head.seq, head.intact), (3, true));
        assert_eq!(head.hash, log.verify().unwrap().head);
        assert_eq!(log.entries().unwrap().len(), 3);

        let text = std::fs::read_to_string(log.path()).unwrap();
        std::fs::write(log.path(), text.replacen("kek 0 -> 1", "kek 0 -> 7", 1)).unwrap();
        let broken = log.head().unwrap();
        assert_eq!((broken.seq, broken.intact), (3, false));
    }

    #[test]
    fn a_log_holds_the_heads_it_had_unless_rewritten() {
        let (_d, log) = log_with(4);
        let entries = log.entries().unwrap();
        assert!(log.holds(0, GENESIS).unwrap());
        assert!(log.holds(2, &entries[1].hash).unwrap());
        assert!(log.holds(4, &entries[3].hash).unwrap());
        assert!(!log.holds(2, &entries[2].hash).unwrap());
        assert!(!log.holds(5, &entries[3].hash).unwrap());
        // Rewritten from line 2 on and grown past the head: the head is gone.
        let other = tempfile::tempdir().unwrap();
        let rewritten = AuditLog::in_dir(other.path());
        rewritten
            .append(1_000, "console", "rotate_keys", "kek 0 -> 1")
            .unwrap();
        for i in 0..5 {
            rewritten
                .append(2_000 + i, "cli", "self_test", "ok")
                .unwrap();
        }
        assert!(rewritten.holds(1, &entries[0].hash).unwrap());
        assert!(!rewritten.holds(2, &entries[1].hash).unwrap());
        assert!(rewritten.verify().is_ok());
    }

    #[test]
    fn empty_log_verifies() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(AuditLog::in_dir(dir.path()).verify().unwrap().entries, 0);
    }
}
