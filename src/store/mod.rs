//! The kiosk's SQLite database.
//!
//! Invariants:
//! - One file, opened with WAL, foreign keys on, a busy timeout and `secure_delete` (deleted
//!   content is overwritten, not left in free pages).
//! - The schema is versioned by `PRAGMA user_version`; [`Store::open`] applies the missing
//!   migrations in one transaction each and refuses a database written by a newer shelftalk.
//! - Shopper tables hold only random ids, HMAC tokens, wrapped keys, consent flags, day-level
//!   timestamps and [`SealedBlob`](crate::crypto::SealedBlob)s: the repository functions in
//!   [`shoppers`] accept nothing else. Catalog, store statistics and quarantine are plain.
//! - Repository functions take a `&Connection` so callers can group them in one transaction.
//! - Database files are mode 0600 whatever the umask ([`open_migrated`], for the kiosk's and HQ's
//!   databases): the file is created 0600 before SQLite opens it (SQLite gives `-wal` and `-shm`
//!   the main file's mode), and a file or side file found with other modes is set to 0600.
//! - [`fault`]: named pause points in the write sequences of the store's users, off unless the
//!   test-only `SHELFTALK_FAULT_PAUSE` names one (the crash tests kill the binary there).

pub mod catalog;
pub mod fault;
pub mod privacy;
pub mod quarantine;
pub mod schema;
pub mod shoppers;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create data directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make database file {path} private (mode 0600): {source}")]
    Mode {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "database {path} has schema version {found}, newer than this shelftalk knows ({known}); \
         upgrade shelftalk instead of opening it with an older one"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database error (retryable: {retryable}): {source}")]
    Sql {
        retryable: bool,
        source: rusqlite::Error,
    },
    /// A stored value that cannot be what was written (no underlying error to chain).
    #[error("stored value is corrupt: {0}")]
    Corrupt(&'static str),
    /// A stored wrapped key or sealed blob that does not parse.
    #[error("stored value is corrupt: {what}: {source}")]
    Sealed {
        what: &'static str,
        #[source]
        source: crate::crypto::CryptoError,
    },
    /// A value that cannot be encoded for storage.
    #[error("cannot encode {what} for storage: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// True when the same SQLite call may succeed later: the database was busy or locked (another
/// connection held it past the busy timeout), or the disk was full (space may come back). The
/// one place that classifies rusqlite errors.
pub fn is_retryable(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(
            rusqlite::ErrorCode::DatabaseBusy
                | rusqlite::ErrorCode::DatabaseLocked
                | rusqlite::ErrorCode::DiskFull
        )
    )
}

/// True when SQLite failed because the disk (or the database's size limit) is full
/// (`SQLITE_FULL`).
pub fn is_disk_full(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
}

impl StoreError {
    /// True when this is SQLite's `SQLITE_FULL`: nothing of the failed statement was written.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Self::Sql { source, .. } | Self::Open { source, .. } if is_disk_full(source))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(source: rusqlite::Error) -> Self {
        Self::Sql {
            retryable: is_retryable(&source),
            source,
        }
    }
}

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = schema::MIGRATIONS.len() as i64;

/// An open kiosk database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            conn: open_migrated(path, schema::MIGRATIONS)?,
            path: path.to_path_buf(),
        })
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves every WAL frame into the main file and truncates the WAL, so erased content does not
    /// linger in `-wal`.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// A value from the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        meta_get(&self.conn, key)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        meta_set(&self.conn, key, value)
    }

    pub fn delete_meta(&self, key: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM meta WHERE key = ?1", [key])?;
        Ok(())
    }
}

/// Counts and sizes for `shelftalk status` and the console.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub schema_version: i64,
    pub products: u64,
    pub products_from_events: u64,
    pub shoppers: u64,
    pub sealed_rows: u64,
    pub quarantined_rows: u64,
    pub imports: u64,
    pub db_bytes: u64,
}

impl Store {
    pub fn summary(&self) -> Result<Summary, StoreError> {
        let count = |sql: &str| -> Result<u64, StoreError> {
            Ok(self.conn.query_row(sql, [], |r| r.get(0))?)
        };
        let (shoppers, sealed_rows) = shoppers::counts(&self.conn)?;
        let db_bytes = ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| {
                std::fs::metadata(side_file(&self.path, suffix))
                    .ok()
                    .map(|m| m.len())
            })
            .sum();
        Ok(Summary {
            schema_version: self
                .conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))?,
            products: catalog::count(&self.conn)?,
            products_from_events: count("SELECT count(*) FROM products WHERE origin = 'event'")?,
            shoppers,
            sealed_rows,
            quarantined_rows: quarantine::count(&self.conn)?,
            imports: count("SELECT count(*) FROM imports")?,
            db_bytes,
        })
    }
}

/// Opens (creating if needed) a SQLite file with the kiosk's pragmas (WAL, foreign keys,
/// `secure_delete`) and applies `migrations` (index `i` moves version `i` to `i + 1`). Used for the
/// kiosk database and for HQ's own database.
pub fn open_migrated(path: &Path, migrations: &[&str]) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    make_private(path)?;
    let mut conn = Connection::open(path).map_err(open_err)?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(open_err)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = ON;
         PRAGMA cache_size = -32768;",
    )
    .map_err(open_err)?;
    migrate(&mut conn, path, migrations)?;
    // The WAL and shared-memory files exist now; SQLite created them with the main file's mode.
    make_private(path)?;
    Ok(conn)
}

/// What SQLite keeps beside a database file.
pub const SIDE_FILES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// A database file's side file (`-wal`, `-shm`, `-journal`).
pub fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_os_string();
    p.push(suffix);
    PathBuf::from(p)
}

/// Creates the database file with mode 0600 if it is missing (so neither the umask nor SQLite's
/// default 0644 decides), and sets the file and its side files to 0600 where they are not.
fn make_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mode_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Mode { path, source }
    };
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(mode_err(path)(e)),
    }
    let files = std::iter::once(path.to_path_buf())
        .chain(SIDE_FILES.iter().map(|suffix| side_file(path, suffix)));
    for file in files {
        let meta = match std::fs::metadata(&file) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(mode_err(&file)(e)),
        };
        if meta.permissions().mode() & 0o777 != 0o600 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                .map_err(mode_err(&file))?;
        }
    }
    Ok(())
}

/// A value from the `meta` table of the kiosk database.
pub fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Sets a value in the `meta` table of the kiosk database.
pub fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

fn migrate(conn: &mut Connection, path: &Path, migrations: &[&str]) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = migrations.len() as i64;
    if found > known {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    for (from, sql) in migrations.iter().enumerate().skip(found.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", from as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = from + 1, "database migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn open_sets_pragmas_and_migrates_idempotently() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/shelftalk.db");
        let store = Store::open(&path).unwrap();
        let mode: String = store
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .conn()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        let sd: i64 = store
            .conn()
            .query_row("PRAGMA secure_delete", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sd, 1);
        drop(store);
        let store = Store::open(&path).unwrap();
        let v: i64 = store
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_found_with_loose_modes_are_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        drop(Store::open(&path).unwrap());
        // As an older shelftalk (or a copy) may have left them.
        let wal = side_file(&path, "-wal");
        std::fs::write(&wal, b"").unwrap();
        for p in [&path, &wal] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let store = Store::open(&path).unwrap();
        store.set_meta("k", "v").unwrap();
        assert_eq!(mode(&path), 0o600);
        for suffix in ["-wal", "-shm"] {
            assert_eq!(mode(&side_file(&path, suffix)), 0o600, "{suffix}");
        }
    }

    #[test]
    fn refuses_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        Store::open(&path)
            .unwrap()
            .conn()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
        assert!(err.to_string().contains("newer"));
    }

    fn sqlite_failure(code: std::os::raw::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn busy_locked_and_full_are_retryable_other_errors_are_not() {
        assert!(is_retryable(&sqlite_failure(rusqlite::ffi::SQLITE_BUSY)));
        assert!(is_retryable(&sqlite_failure(rusqlite::ffi::SQLITE_LOCKED)));
        assert!(is_retryable(&sqlite_failure(rusqlite::ffi::SQLITE_FULL)));
        assert!(is_disk_full(&sqlite_failure(rusqlite::ffi::SQLITE_FULL)));
        assert!(StoreError::from(sqlite_failure(rusqlite::ffi::SQLITE_FULL)).is_disk_full());
        assert!(!is_disk_full(&sqlite_failure(rusqlite::ffi::SQLITE_BUSY)));
        assert!(!is_retryable(&sqlite_failure(
            rusqlite::ffi::SQLITE_CONSTRAINT
        )));
        assert!(!is_retryable(&sqlite_failure(
            rusqlite::ffi::SQLITE_CORRUPT
        )));
        assert!(!is_retryable(&rusqlite::Error::QueryReturnedNoRows));
    }

    #[test]
    fn sql_errors_keep_their_source_and_classification() {
        use std::error::Error as _;
        let err = StoreError::from(sqlite_failure(rusqlite::ffi::SQLITE_BUSY));
        assert!(
            matches!(
                err,
                StoreError::Sql {
                    retryable: true,
                    ..
                }
            ),
            "{err}"
        );
        let source = err.source().unwrap();
        let sql = source.downcast_ref::<rusqlite::Error>().unwrap();
        assert_eq!(
            sql.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy)
        );
        let err = StoreError::from(rusqlite::Error::QueryReturnedNoRows);
        assert!(
            matches!(
                err,
                StoreError::Sql {
                    retryable: false,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_real_lock_conflict_is_retryable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = Store::open(&path).unwrap();
        store.conn().execute_batch("BEGIN IMMEDIATE").unwrap();
        let other = Connection::open(&path).unwrap();
        other.busy_timeout(Duration::ZERO).unwrap();
        let err = other.execute_batch("BEGIN IMMEDIATE; COMMIT;").unwrap_err();
        assert!(is_retryable(&err), "{err}");
        assert!(matches!(
            StoreError::from(err),
            StoreError::Sql {
                retryable: true,
                ..
            }
        ));
    }

    #[test]
    fn meta_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        assert_eq!(store.meta("x").unwrap(), None);
        store.set_meta("x", "1").unwrap();
        store.set_meta("x", "2").unwrap();
        assert_eq!(store.meta("x").unwrap().as_deref(), Some("2"));
        store.delete_meta("x").unwrap();
        assert_eq!(store.meta("x").unwrap(), None);
    }
}
