//! The POS inbox: till files dropped into `pos_inbox` are imported as behaviour events by the
//! running daemon, so the day's purchases convert the kiosk's impressions while the day is open.
//!
//! Invariants:
//! - Only finished files are taken: regular files whose name does not start with `.` and does
//!   not end in `.tmp` or `.part` (writers drop files by rename), oldest name first.
//! - A file is imported at most once and never lost: after its import it is moved into `done/`;
//!   a file that cannot be imported is moved into `failed/` with `NAME.error.txt` saying why.
//!   The import itself de-duplicates rows, so a file dropped twice counts its purchases once.
//! - Imports run only while no shopper session is on screen (they hold the vault's lock).
//! - Nothing of a file's content is logged: only its name and the import's counts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{now_unix, Daemon};
use crate::import;
use crate::ingest::EventFormat;

/// The files of `dir` ready for import, by name.
pub fn ready_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_finished_name)
        })
        .collect();
    files.sort();
    Ok(files)
}

/// A name a writer has finished with (see the module invariants).
fn is_finished_name(name: &str) -> bool {
    !name.starts_with('.') && !name.ends_with(".tmp") && !name.ends_with(".part")
}

/// What one pass over the inbox did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    pub imported: usize,
    pub failed: usize,
    pub conversions: u64,
}

/// Imports every ready file of `dir` once, moving each into `done/` or `failed/`.
pub fn process(daemon: &Daemon, dir: &Path) -> std::io::Result<Pass> {
    let mut pass = Pass::default();
    for file in ready_files(dir)? {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let config = daemon.config();
        let now = now_unix();
        let result = {
            let mut vault = daemon.vault();
            import::events(
                &mut vault,
                &file,
                EventFormat::Auto,
                &config.rules(now),
                now,
                &indicatif::ProgressBar::hidden(),
            )
        };
        match result {
            Ok(o) => {
                tracing::info!(
                    file = %name,
                    events = o.events_new,
                    conversions = o.conversions,
                    suppressed = o.suppressed,
                    quarantined = o.report.quarantined,
                    "POS file imported"
                );
                pass.imported += 1;
                pass.conversions += o.conversions;
                move_into(dir, "done", &file, &name)?;
            }
            Err(e) => {
                tracing::error!(file = %name, error = %e, "POS file not imported; moved to failed/");
                pass.failed += 1;
                let failed = move_into(dir, "failed", &file, &name)?;
                std::fs::write(
                    failed.with_file_name(format!("{name}.error.txt")),
                    format!("{e}\n"),
                )?;
            }
        }
    }
    Ok(pass)
}

/// Moves `file` into `dir/sub/` (created 0700 when missing), never overwriting: a name taken
/// there gets a numeric suffix.
fn move_into(dir: &Path, sub: &str, file: &Path, name: &str) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let target_dir = dir.join(sub);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&target_dir)?;
    let mut target = target_dir.join(name);
    let mut n = 1;
    while target.exists() {
        target = target_dir.join(format!("{name}.{n}"));
        n += 1;
    }
    std::fs::rename(file, &target)?;
    Ok(target)
}

/// Watches the inbox every `every` for as long as the daemon runs.
pub async fn watch(daemon: Arc<Daemon>, dir: PathBuf, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if !daemon.copier().idle() {
            continue;
        }
        let (d, inbox) = (Arc::clone(&daemon), dir.clone());
        match tokio::task::spawn_blocking(move || process(&d, &inbox)).await {
            Ok(Ok(p)) if p.imported + p.failed > 0 => {
                tracing::info!(
                    imported = p.imported,
                    failed = p.failed,
                    conversions = p.conversions,
                    "POS inbox"
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, inbox = %dir.display(), "POS inbox unreadable")
            }
            Err(e) => tracing::warn!(error = %e, "POS inbox task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_finished_files_are_taken_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.csv", "a.csv", ".hidden.csv", "c.csv.tmp", "d.part"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        std::fs::create_dir(dir.path().join("done")).unwrap();
        let names: Vec<String> = ready_files(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.csv", "b.csv"]);
    }

    #[test]
    fn moving_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..2 {
            let f = dir.path().join("x.csv");
            std::fs::write(&f, "x").unwrap();
            move_into(dir.path(), "done", &f, "x.csv").unwrap();
        }
        assert!(dir.path().join("done/x.csv").exists());
        assert!(dir.path().join("done/x.csv.1").exists());
    }
}
