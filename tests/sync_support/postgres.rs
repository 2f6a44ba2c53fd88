//! A throwaway PostgreSQL cluster for one test: the crate's own
//! [`shelftalk::hq::pg_cluster::PgCluster`] (the one definition, which `shelftalk bench hq` uses
//! too; see its docs: `initdb` in a temporary directory, a Unix socket there only, as `nobody`
//! when root, ready when `pg_isready` says so, stopped and removed on drop), plus the tests'
//! rule for a missing PostgreSQL: [`PgCluster::start`] says loudly on stderr that the PostgreSQL
//! run is skipped and returns `None` — unless `SHELFTALK_REQUIRE_POSTGRES=1`, when it fails the
//! test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stderr)]

use std::io::Write;
use std::path::Path;

use shelftalk::hq::pg_cluster::{self, ClusterError, Durability};

pub struct PgCluster(pg_cluster::PgCluster);

/// True when `SHELFTALK_REQUIRE_POSTGRES=1`: a missing PostgreSQL fails the test.
pub fn required() -> bool {
    std::env::var("SHELFTALK_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

impl PgCluster {
    /// Starts a cluster with an empty database (`shelftalk_hq`), or `None` (said on stderr) when PostgreSQL
    /// is not installed and not required.
    pub fn start(test: &str) -> Option<PgCluster> {
        match pg_cluster::PgCluster::start(test, Durability::Throwaway) {
            Ok(c) => Some(PgCluster(c)),
            Err(ClusterError::NotInstalled) if !required() => {
                // Straight to stderr, past the test harness's capture (which hides a passing
                // test's output): a skip must be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!! SKIPPED {test} on PostgreSQL: {}. Set SHELFTALK_REQUIRE_POSTGRES=1 to \
                     make this a failure.\n",
                    ClusterError::NotInstalled
                );
                None
            }
            Err(e) => panic!("{test}: cannot start a throwaway PostgreSQL cluster: {e}"),
        }
    }

    /// The URL HQ connects with.
    pub fn url(&self) -> String {
        self.0.url()
    }

    /// Runs SQL through `psql` (not through HQ's code) and returns its unaligned, tuples-only
    /// output.
    pub fn psql(&self, sql: &str) -> String {
        self.0.psql(sql).unwrap()
    }

    pub fn dir(&self) -> &Path {
        self.0.dir()
    }
}
