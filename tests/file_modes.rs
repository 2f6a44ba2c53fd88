//! Database files are 0600 whatever the umask: the kiosk's `shelftalk.db` with its `-wal` and
//! `-shm`, HQ's database, and the audit log — opened in this process and by the real binary,
//! both under umask 000 (this test binary holds this one test, so changing the process's umask
//! races with nothing; the child processes inherit it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use shelftalk::audit::AuditLog;
use shelftalk::hq::store::{HqStore, SqliteHq};
use shelftalk::store::{side_file, Store};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn assert_private(path: &Path) {
    assert_eq!(mode(path), 0o600, "{}", path.display());
}

fn shelftalk(cwd: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn database_files_are_private_under_a_permissive_umask() {
    // SAFETY: umask only sets this process's file-creation mask; no other test runs in it.
    let old = unsafe { libc::umask(0o000) };
    let tmp = tempfile::tempdir().unwrap();
    // A data dir anyone may enter, as a careless set-up would leave it.
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();

    // The kiosk database, held open with a write in the WAL: main file, -wal and -shm.
    let db = data.join("shelftalk.db");
    let store = Store::open(&db).unwrap();
    store.set_meta("probe", "1").unwrap();
    for file in [db.clone(), side_file(&db, "-wal"), side_file(&db, "-shm")] {
        assert_private(&file);
    }
    drop(store);

    // HQ's database, the same way.
    let hq_db = tmp.path().join("hq.db");
    let hq = SqliteHq::open(&hq_db).unwrap();
    hq.enroll("k1", "s1", &[7; 32], 0).unwrap();
    for file in [
        hq_db.clone(),
        side_file(&hq_db, "-wal"),
        side_file(&hq_db, "-shm"),
    ] {
        assert_private(&file);
    }
    drop(hq);

    // The audit log.
    let audit = AuditLog::in_dir(&data);
    audit.append(1, "cli", "probe", "umask test").unwrap();
    assert_private(audit.path());

    // The real binary creating both databases from nothing.
    let fresh = tmp.path().join("fresh");
    shelftalk(
        tmp.path(),
        &["--data-dir", fresh.to_str().unwrap(), "status", "--json"],
    );
    assert_private(&fresh.join("shelftalk.db"));
    let hq_fresh = tmp.path().join("hq-fresh.db");
    let key = "ab".repeat(32);
    shelftalk(
        tmp.path(),
        &[
            "hq",
            "enroll",
            "--db",
            hq_fresh.to_str().unwrap(),
            "--kiosk",
            "k2",
            "--store",
            "s1",
            "--pubkey",
            &key,
        ],
    );
    assert_private(&hq_fresh);

    unsafe { libc::umask(old) };
}
