//! A throwaway PostgreSQL cluster, for HQ's tests and `shelftalk bench hq`: `initdb` in a new
//! temporary directory, the server on a Unix socket in that directory only
//! (`listen_addresses=''`, so nothing listens on the network and clusters running side by side
//! never meet), stopped (`pg_ctl stop -m immediate`) and the directory removed on drop.
//!
//! PostgreSQL refuses to run as root: as root, the directory is handed to `nobody` and every
//! PostgreSQL program runs as `nobody` ([`crate::unprivileged`]); otherwise as the current user.
//! Readiness is `pg_ctl start -w` confirmed by polling `pg_isready`; no fixed sleep.
//!
//! The binaries are found in `SHELFTALK_PG_BINDIR`, else the newest `/usr/lib/postgresql/*/bin`
//! (Debian's `postgresql` package, installed by `scripts/install-deps.sh`), else `PATH`; without
//! them [`PgCluster::start`] answers [`ClusterError::NotInstalled`].
//!
//! Invariants: the cluster's files live only in its own temporary directory (mode 0700 as
//! `initdb` leaves its data directory); the database [`DB`] exists when `start` returns; nothing
//! here ever touches a system cluster.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::unprivileged::User;

/// The database each cluster gets.
pub const DB: &str = "shelftalk_hq";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL binaries not found (SHELFTALK_PG_BINDIR, else /usr/lib/postgresql/*/bin, \
         else PATH: no initdb); install Debian's `postgresql` (scripts/install-deps.sh)"
    )]
    NotInstalled,
    #[error("PostgreSQL cluster directory {path}: {source}")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no user `nobody` to run PostgreSQL as (it refuses to run as root)")]
    NoNobody,
    #[error("cannot run {program} from {bin}: {source}")]
    Spawn {
        program: String,
        bin: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A PostgreSQL program failed; `output` is its stdout and stderr (and the server log when
    /// the server did not start).
    #[error("{program} failed ({status}): {output}")]
    Failed {
        program: String,
        status: std::process::ExitStatus,
        output: String,
    },
    #[error("PostgreSQL in {0} not ready after 30 s")]
    NotReady(PathBuf),
}

/// How the server runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// `fsync=off`, `synchronous_commit=off`, `full_page_writes=off`: fastest, for tests (a
    /// crash of the machine may corrupt the cluster, which is thrown away anyway).
    #[default]
    Throwaway,
    /// fsync and full-page writes on, `synchronous_commit=off` (a crash loses the last
    /// transactions, never consistency: what SQLite's WAL with `synchronous=NORMAL`, HQ's SQLite
    /// setting, gives too). For benchmarks that compare the two.
    LikeSqlite,
}

/// A running throwaway cluster.
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    data: PathBuf,
    /// The user the programs run as, when this process is root.
    run_as: Option<User>,
    stopped: bool,
}

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

/// True when PostgreSQL's programs can be found.
pub fn installed() -> bool {
    bindir().is_some()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl PgCluster {
    /// Starts a cluster with an empty database [`DB`]; `tag` names its temporary directory (its
    /// first 16 letters: the server's socket path must stay under 108 bytes).
    pub fn start(tag: &str, durability: Durability) -> Result<PgCluster, ClusterError> {
        let bin = bindir().ok_or(ClusterError::NotInstalled)?;
        let dir = std::env::temp_dir().join(format!(
            "shelftalk-pg-{}-{}",
            tag.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(16)
                .collect::<String>(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ));
        let io = |source| ClusterError::Dir {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir(&dir).map_err(io)?;
        // From here on, dropping the cluster removes the directory.
        let mut cluster = PgCluster {
            data: dir.join("data"),
            dir: dir.clone(),
            bin,
            run_as: None,
            stopped: true,
        };
        if let Some(user) = User::when_root().map_err(|_| ClusterError::NoNobody)? {
            std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid)).map_err(io)?;
            cluster.run_as = Some(user);
        }
        let data = cluster.data.to_string_lossy().into_owned();
        cluster.must(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--no-instructions",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        )?;
        let log = dir.join("server.log");
        let settings = match durability {
            Durability::Throwaway => {
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            }
            Durability::LikeSqlite => "-c synchronous_commit=off",
        };
        let options = format!(
            "-k {} -c listen_addresses='' {settings}",
            cluster.dir.display()
        );
        let log_arg = log.to_string_lossy().into_owned();
        let started = cluster.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log_arg, "-o", &options, "-w", "-t", "60", "start",
            ],
        )?;
        if !started.status.success() {
            let server_log = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(ClusterError::Failed {
                program: "pg_ctl start".into(),
                status: started.status,
                output: format!("{}\nserver log:\n{server_log}", text(&started)),
            });
        }
        cluster.stopped = false;
        cluster.wait_ready()?;
        let socket = cluster.dir.to_string_lossy().into_owned();
        cluster.must("createdb", &["-h", &socket, "-U", "postgres", DB])?;
        Ok(cluster)
    }

    /// Polls `pg_isready` until the server accepts connections (30 s at most).
    fn wait_ready(&self) -> Result<(), ClusterError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let socket = self.dir.to_string_lossy().into_owned();
        loop {
            if self
                .run("pg_isready", &["-h", &socket, "-q"])?
                .status
                .success()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ClusterError::NotReady(self.data.clone()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The URL HQ connects with (the socket directory, user `postgres`, database [`DB`]).
    pub fn url(&self) -> String {
        format!("host={} user=postgres dbname={DB}", self.dir.display())
    }

    /// The cluster's temporary directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs SQL through `psql` (not through HQ's code) and returns its unaligned, tuples-only
    /// output; stops at the first error.
    pub fn psql(&self, sql: &str) -> Result<String, ClusterError> {
        let socket = self.dir.to_string_lossy().into_owned();
        let out = self.must(
            "psql",
            &[
                "-h",
                &socket,
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
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = User::command(self.run_as, self.bin.join(program));
        cmd.current_dir(&self.dir)
            .env_remove("PGHOST")
            .env_remove("PGPORT")
            .env_remove("PGDATABASE")
            .env_remove("PGUSER")
            .env("LC_ALL", "C.UTF-8");
        cmd
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<Output, ClusterError> {
        self.command(program)
            .args(args)
            .output()
            .map_err(|source| ClusterError::Spawn {
                program: program.into(),
                bin: self.bin.clone(),
                source,
            })
    }

    fn must(&self, program: &str, args: &[&str]) -> Result<Output, ClusterError> {
        let out = self.run(program, args)?;
        if !out.status.success() {
            return Err(ClusterError::Failed {
                program: program.into(),
                status: out.status,
                output: text(&out),
            });
        }
        Ok(out)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if !self.stopped {
            let data = self.data.to_string_lossy().into_owned();
            match self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]) {
                Ok(out) if out.status.success() => {}
                Ok(out) => tracing::warn!(
                    data = %self.data.display(),
                    output = %text(&out),
                    "pg_ctl stop failed"
                ),
                Err(e) => tracing::warn!(error = %e, "pg_ctl stop failed"),
            }
            self.stopped = true;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
