//! A throwaway PostgreSQL cluster for one test: `initdb` in a temporary directory, the server on a
//! Unix socket in that directory only (`listen_addresses=''`, so nothing listens on the network
//! and clusters of tests running side by side never meet), stopped and removed on drop.
//!
//! PostgreSQL refuses to run as root: as root, the directory is handed to `nobody` and every
//! PostgreSQL program runs as `nobody` (through `setpriv`); otherwise as the current user.
//! Readiness is `pg_ctl start -w` confirmed by polling `pg_isready`; no fixed sleep.
//!
//! The binaries are found in `SHELFTALK_PG_BINDIR`, else the newest `/usr/lib/postgresql/*/bin`
//! (Debian's `postgresql` package, installed by `scripts/install-deps.sh`), else `PATH`. Without
//! them [`PgCluster::start`] says loudly on stderr that the PostgreSQL run is skipped and returns
//! `None` — unless `SHELFTALK_REQUIRE_POSTGRES=1`, when it fails the test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stderr)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct PgCluster {
    /// Removed on drop (after the server is stopped).
    dir: tempfile::TempDir,
    bin: PathBuf,
    data: PathBuf,
    socket: PathBuf,
    /// (uid, gid) the programs run as, when the tests run as root.
    run_as: Option<(u32, u32)>,
    stopped: bool,
}

/// The database each test gets.
pub const DB: &str = "shelftalk_hq";

fn bindir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SHELFTALK_PG_BINDIR") {
        return Some(PathBuf::from(dir)).filter(|d| d.join("initdb").exists());
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
    })
}

fn required() -> bool {
    std::env::var("SHELFTALK_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// `nobody`'s uid and gid.
fn nobody() -> (u32, u32) {
    let name = c"nobody";
    // SAFETY: getpwnam with a valid C string; the record is read at once, before any other call.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(!pw.is_null(), "no user `nobody` to run PostgreSQL as");
    // SAFETY: checked non-null above.
    unsafe { ((*pw).pw_uid, (*pw).pw_gid) }
}

impl PgCluster {
    /// Starts a cluster with an empty database [`DB`], or `None` (said on stderr) when PostgreSQL
    /// is not installed and not required.
    pub fn start(test: &str) -> Option<PgCluster> {
        let Some(bin) = bindir() else {
            let why = "PostgreSQL binaries not found (SHELFTALK_PG_BINDIR, else \
                       /usr/lib/postgresql/*/bin, else PATH: no initdb); install Debian's \
                       `postgresql` (scripts/install-deps.sh)";
            if required() {
                panic!("{test}: SHELFTALK_REQUIRE_POSTGRES=1 but {why}");
            }
            // Straight to stderr, past the test harness's capture (which hides a passing test's
            // output): a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "\n!!! SKIPPED {test} on PostgreSQL: {why}. Set SHELFTALK_REQUIRE_POSTGRES=1 to \
                 make this a failure.\n"
            );
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("shelftalk-pg-")
            .tempdir()
            .unwrap();
        // SAFETY: geteuid has no preconditions.
        let run_as = (unsafe { libc::geteuid() } == 0).then(nobody);
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let data = dir.path().join("data");
        let socket = dir.path().to_path_buf();
        let mut cluster = PgCluster {
            dir,
            bin,
            data,
            socket,
            run_as,
            stopped: true,
        };
        cluster.must(
            "initdb",
            &[
                "-D",
                cluster.data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--no-instructions",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        );
        let log = cluster.dir.path().join("server.log");
        let options = format!(
            "-k {} -c listen_addresses='' -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off",
            cluster.socket.display()
        );
        let started = cluster.run(
            "pg_ctl",
            &[
                "-D",
                cluster.data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        if !started.status.success() {
            let server_log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!(
                "pg_ctl start failed ({}): {}{}\nserver log:\n{server_log}",
                started.status,
                String::from_utf8_lossy(&started.stdout),
                String::from_utf8_lossy(&started.stderr)
            );
        }
        cluster.stopped = false;
        cluster.wait_ready();
        cluster.must(
            "createdb",
            &["-h", cluster.socket.to_str().unwrap(), "-U", "postgres", DB],
        );
        Some(cluster)
    }

    /// Polls `pg_isready` until the server accepts connections (30 s at most).
    fn wait_ready(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let out = self.run("pg_isready", &["-h", self.socket.to_str().unwrap(), "-q"]);
            if out.status.success() {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "PostgreSQL in {} not ready after 30 s (pg_isready: {})",
                self.data.display(),
                out.status
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// The URL HQ connects with.
    pub fn url(&self) -> String {
        format!("host={} user=postgres dbname={DB}", self.socket.display())
    }

    /// Runs one SQL statement through `psql` (not through HQ's code) and returns its unaligned,
    /// tuples-only output.
    pub fn psql(&self, sql: &str) -> String {
        let out = self.must(
            "psql",
            &[
                "-h",
                self.socket.to_str().unwrap(),
                "-U",
                "postgres",
                "-d",
                DB,
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut cmd = match self.run_as {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg("--")
                    .arg(path);
                c
            }
            None => Command::new(path),
        };
        cmd.current_dir(self.dir.path())
            .env_remove("PGHOST")
            .env_remove("PGPORT")
            .env_remove("PGDATABASE")
            .env_remove("PGUSER")
            .env("LC_ALL", "C.UTF-8");
        cmd
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program} from {}: {e}", self.bin.display()))
    }

    fn must(&self, program: &str, args: &[&str]) -> Output {
        let out = self.run(program, args);
        assert!(
            out.status.success(),
            "{program} {args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if !self.stopped {
            let out = self.run(
                "pg_ctl",
                &[
                    "-D",
                    self.data.to_str().unwrap(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            );
            if !out.status.success() {
                eprintln!(
                    "pg_ctl stop failed for {}: {}",
                    self.data.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            self.stopped = true;
        }
        // The TempDir removes the cluster's files when it drops, right after this.
    }
}
