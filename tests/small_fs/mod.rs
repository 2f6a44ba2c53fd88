//! A small filesystem for the full-disk tests: a size-limited tmpfs mounted in a temp dir, or a
//! loop-mounted ext4 image when tmpfs cannot be mounted; both need root (CI runs as root).
//! Without either the test prints a loud "SKIPPED" with the reason and returns early — unless
//! `SHELFTALK_REQUIRE_SMALL_FS=1`, then it fails.
#![allow(dead_code, clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct SmallFs {
    pub dir: PathBuf,
    /// How it was made: "tmpfs" or "loop ext4".
    pub kind: &'static str,
    image: Option<PathBuf>,
    fillers: Vec<PathBuf>,
    _tmp: tempfile::TempDir,
}

fn run(cmd: &mut Command) -> Result<(), String> {
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "{:?}: {}",
            cmd,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("{cmd:?}: {e}")),
    }
}

impl SmallFs {
    /// A filesystem of `mb` MiB, or `None` (after printing why) when none can be mounted here.
    pub fn mount(mb: u64) -> Option<SmallFs> {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("mnt");
        std::fs::create_dir(&dir).unwrap();
        let tmpfs = run(Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={mb}m,mode=0700"))
            .arg("tmpfs")
            .arg(&dir));
        let tmpfs_err = match tmpfs {
            Ok(()) => {
                return Some(SmallFs {
                    dir,
                    kind: "tmpfs",
                    image: None,
                    fillers: Vec::new(),
                    _tmp: tmp,
                })
            }
            Err(e) => e,
        };
        let image = tmp.path().join("disk.img");
        let looped = std::fs::File::create(&image)
            .and_then(|f| f.set_len(mb * 1024 * 1024))
            .map_err(|e| e.to_string())
            .and_then(|()| {
                run(Command::new("mkfs.ext4")
                    .args(["-q", "-F", "-m", "0"])
                    .arg(&image))
            })
            .and_then(|()| {
                run(Command::new("mount")
                    .args(["-o", "loop"])
                    .arg(&image)
                    .arg(&dir))
            });
        match looped {
            Ok(()) => Some(SmallFs {
                dir,
                kind: "loop ext4",
                image: Some(image),
                fillers: Vec::new(),
                _tmp: tmp,
            }),
            Err(loop_err) => {
                let reason = format!(
                    "cannot mount a small filesystem (tmpfs: {tmpfs_err}; loop image: {loop_err}); \
                     run as root"
                );
                if std::env::var("SHELFTALK_REQUIRE_SMALL_FS").as_deref() == Ok("1") {
                    panic!("{reason} and SHELFTALK_REQUIRE_SMALL_FS=1");
                }
                eprintln!("\n*** SKIPPED: {reason} ***\n");
                None
            }
        }
    }

    /// Bytes free on the filesystem.
    pub fn free(&self) -> u64 {
        shelftalk::health::free_bytes(&self.dir).unwrap()
    }

    /// Fills the filesystem to the last block with filler files.
    pub fn fill(&mut self) {
        for chunk in [1 << 20, 64 << 10, 4 << 10, 512, 1] {
            let path = self.dir.join(format!("filler-{}", self.fillers.len()));
            let Ok(mut f) = std::fs::File::create(&path) else {
                break;
            };
            self.fillers.push(path);
            let buf = vec![0xA5u8; chunk];
            while f.write_all(&buf).and_then(|()| f.sync_data()).is_ok() {}
        }
        assert!(self.free() < 64 * 1024, "{} bytes still free", self.free());
    }

    /// Removes the filler files: space returns.
    pub fn make_room(&mut self) {
        for f in self.fillers.drain(..) {
            std::fs::remove_file(f).unwrap();
        }
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        if let Some(image) = &self.image {
            let _ = std::fs::remove_file(image);
        }
    }
}

/// Truncates a database's WAL (its earlier frames are checkpointed into the main file), so the
/// next write must take new space from the filesystem rather than reuse WAL space.
pub fn truncate_wal(db: &Path) {
    let c = rusqlite::Connection::open(db).unwrap();
    let (busy, _, _): (i64, i64, i64) = c
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(busy, 0, "checkpoint of {} blocked", db.display());
}
